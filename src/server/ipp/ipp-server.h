/*
 * ipp-server.h: IPP client operations on the tenant queues
 * (/ipp/print/<tenant>/<queue>).  Requests are decoded and responses
 * encoded with libcups; the document part streams to the spool.
 */
#ifndef NIMBUS_IPP_SERVER_H
#define NIMBUS_IPP_SERVER_H

#include "http.h"

extern const http_handler_t ipp_handler;
/* The IPP status code the request was answered with (-1 if none yet). */
int ipp_server_status(const http_request_t *r);

#endif
