/*
 * api.h: the REST/JSON API under /api/v1 (tenants, users, queues, tokens,
 * jobs).  http.c routes every request whose path is "/api/v1" or starts
 * with "/api/v1/" to api_handler; the wire behaviour (paths, bodies,
 * status codes, problem documents) is described at the top of api.c.
 */
#ifndef NIMBUS_API_H
#define NIMBUS_API_H

#include "http.h"

extern const http_handler_t api_handler;

#endif
