/*
 * store-pg-money.c: money in the PostgreSQL backend (placeholder).
 */
#include "store-pg-private.h"
