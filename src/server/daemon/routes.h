/*
 * routes.h: which handler serves which path.
 *   /ipp/print/<tenant>/<queue>[/<job-id>]  IPP client operations (ipp-server.c)
 *   /api/v1/...                            REST API (api.c)
 *   /healthz, /metrics                     routes.c
 *   /.well-known/oauth-authorization-server, /oauth/..., /device
 *                                          OAuth device grant (oauth/oauth-http.c)
 */
#ifndef NIMBUS_ROUTES_H
#define NIMBUS_ROUTES_H

#include "http.h"

/* Never NULL: unknown paths get a 404 handler. */
const http_handler_t *routes_match(const char *method, const char *path);
/* Does h answer on the event thread (quick, never blocking: /healthz),
 * rather than on a worker? */
bool routes_on_event_thread(const http_handler_t *h);
/* The IPP status a request was answered with, or -1 when not IPP. */
int routes_ipp_status(const http_request_t *r);

#endif
