/*
 * ippc.h: the connector's IPP client for the device channel.  One
 * keep-alive connection to nimbusd (libcups), the device credential as
 * "Authorization: Bearer", and the one place where answers are sorted:
 *
 *   IPPC_OK         HTTP 200 and an IPP success status
 *   IPPC_DELETED    the answer matches the deregistration error pattern
 *   IPPC_TRANSIENT  no answer (refused, dropped, timed out), HTTP 5xx,
 *                   server-error-service-unavailable/-busy/-temporary-error
 *   IPPC_IPP_ERROR  any other IPP error status (the caller decides)
 *   IPPC_HTTP_ERROR any other HTTP status (401, 404, ...)
 *   IPPC_STOPPED    the traffic gate is closed: nothing was sent
 *
 * Every request passes ippc_send(), which checks the gate first, so once
 * the gate is closed (policy delete/stop) not a single byte goes out.
 */
#ifndef NIMBUS_CONNECTOR_IPPC_H
#define NIMBUS_CONNECTOR_IPPC_H

#include <cups/cups.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "errpattern.h"

typedef enum {
  IPPC_OK = 0,
  IPPC_DELETED,
  IPPC_TRANSIENT,
  IPPC_IPP_ERROR,
  IPPC_HTTP_ERROR,
  IPPC_STOPPED
} ippc_result_t;

typedef struct {
  int http_status; /* 0 when no HTTP answer arrived */
  int ipp_status;
  char message[256]; /* status-message, or a transport error text */
} ippc_status_t;

typedef struct {
  char host[256];
  int port;
  http_encryption_t encryption;
  http_t *http;
  char uuid[64];
  char credential[96];
  const errpattern_t *pattern;
  int timeout_s;
  atomic_bool *allowed;        /* the traffic gate */
  const atomic_bool *stopping; /* SIGTERM: abort waits */
  time_t request_start;
  /* a request sent with ippc_start() whose answer is not read yet */
  bool pending;
  int sent_status; /* http_status_t of cupsSendRequest() */
  char resource[1024];
} ippc_t;

/* Set up c for server URL (http/https/ipp/ipps); no connection yet. */
bool ippc_init(ippc_t *c, const char *server, const char *uuid, const char *credential,
               const errpattern_t *pattern, int timeout_s, atomic_bool *allowed,
               const atomic_bool *stopping, char *err, size_t errlen);
/* A new request with charset, language, printer-uri and output-device-uuid. */
ipp_t *ippc_request(const ippc_t *c, ipp_op_t op, const char *printer_uri);
/*
 * Send req (always freed) to the resource of printer_uri and read the IPP
 * answer into *resp (caller frees; NULL unless IPPC_OK or IPPC_IPP_ERROR).
 * With keep_body the connection is left positioned at the data that
 * follows the IPP message (Fetch-Document): read it with ippc_read().
 */
ippc_result_t ippc_send(ippc_t *c, ipp_t *req, const char *printer_uri, ipp_t **resp,
                        ippc_status_t *st, bool keep_body);
/*
 * The same in two halves, for answers that take a while (a held
 * Get-Notifications): ippc_start() sends req (always freed) and returns
 * IPPC_OK with the answer pending, or what stopped it (IPPC_STOPPED,
 * IPPC_TRANSIENT); ippc_finish() reads the answer as ippc_send() does.
 * Call ippc_finish() once ippc_ready() says the answer is arriving, or it
 * waits for it (up to the request timeout).
 */
ippc_result_t ippc_start(ippc_t *c, ipp_t *req, const char *printer_uri, ippc_status_t *st);
ippc_result_t ippc_finish(ippc_t *c, ipp_t **resp, ippc_status_t *st, bool keep_body);
/* Has the answer to a pending request begun to arrive (or the connection dropped)? */
bool ippc_ready(ippc_t *c);
/* The connection's socket for poll(), -1 when not connected. */
int ippc_fd(const ippc_t *c);
/* Read document bytes after a keep_body answer: >0 bytes, 0 end, <0 error. */
ssize_t ippc_read(ippc_t *c, char *buf, size_t len);
/* Drop the connection at once (after a failure or a partial body). */
void ippc_close(ippc_t *c);
/*
 * After a deregistration: wait up to grace_s seconds for the server to
 * close the connection, then close it ourselves.  Sends nothing.
 */
void ippc_linger_close(ippc_t *c, int grace_s);
/* Sorting of an answer; exposed for the unit tests. */
ippc_result_t ippc_classify(const errpattern_t *pattern, const ippc_status_t *st);
/* The resource (path) part of a URI into buf; "/" if none. */
void ippc_resource(const char *uri, char *buf, size_t len);
const char *ippc_result_name(ippc_result_t r);

/*
 * One request to the marking engine (an ipp:// or ipps:// printer, not
 * nimbusd: no credential) on a connection of its own, closed afterwards;
 * used by provisioning (Get-/Set-Printer-Attributes).  req is always
 * freed.  The answer (caller frees) or NULL with st->message set;
 * st->ipp_status holds the engine's status either way.
 */
ipp_t *ippc_engine_do(const char *engine_uri, ipp_t *req, int timeout_s, ippc_status_t *st);

/* libcups password callback (cupsSetPasswordCB2) that never prompts: the
 * device credential is the only secret, sent as a bearer token. */
const char *ippc_no_password(const char *prompt, http_t *http, const char *method,
                             const char *resource, void *data);

#endif
