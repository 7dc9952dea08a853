/*
 * store-pg-leases.c: the sweep_leases table (PostgreSQL migration 2) in
 * the PostgreSQL backend, as store-sqlite-leases.c: which node runs each
 * periodic sweep.  The policy lives in housekeeping.c.
 */
#include "store-pg-private.h"

/* Longest lease name or holder (a node id is at most 64 characters). */
#define LEASE_TEXT_MAX 128

store_status_t pg_lease_take(store_t *base, const char *name, const char *holder, int64_t now,
                             int ttl, bool *held) {
  pg_store_t *st = pg_of(base);
  *held = false;
  pg_params_t p = {0};
  pg_param_text(&p, name, LEASE_TEXT_MAX);
  pg_param_text(&p, holder, LEASE_TEXT_MAX);
  pg_param_int(&p, now);
  pg_param_int(&p, ttl);
  pg_conn_t *c = pg_acquire(st, "lease take");
  if (!c) return STORE_ERROR;
  PGresult *r;
  store_status_t status = pg_exec(c, PS_LEASE_TAKE, &p, &r, "lease take");
  if (status == STORE_OK) {
    *held = PQntuples(r) == 1;
    PQclear(r);
  }
  pg_release(st, c);
  return status;
}
