/*
 * ippc.c: see ippc.h.  Waits are cut into one-second slices by libcups'
 * timeout callback, so SIGTERM and the request timeout are noticed even
 * while a Get-Notifications is held by the server.
 */
#include "ippc.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "log.h"

const char *ippc_result_name(ippc_result_t r) {
  static const char *const names[] = {"ok",        "deleted",    "transient",
                                      "ipp-error", "http-error", "stopped"};
  return (unsigned)r < 6 ? names[r] : "unknown";
}

/* libcups never prompts: the device credential is the only secret. */
const char *ippc_no_password(const char *prompt, http_t *http, const char *method,
                             const char *resource, void *data) {
  (void)prompt, (void)http, (void)method, (void)resource, (void)data;
  return NULL;
}

/* libcups calls this every second of waiting; 0 aborts the wait. */
static int ippc_timeout_cb(http_t *http, void *data) {
  (void)http;
  ippc_t *c = data;
  if (c->stopping && atomic_load(c->stopping)) return 0;
  return time(NULL) - c->request_start < c->timeout_s;
}

void ippc_resource(const char *uri, char *buf, size_t len) {
  char scheme[32], user[256], host[256];
  int port;
  if (httpSeparateURI(HTTP_URI_CODING_ALL, uri, scheme, sizeof scheme, user, sizeof user, host,
                      sizeof host, &port, buf, (int)len) < HTTP_URI_STATUS_OK ||
      !buf[0])
    snprintf(buf, len, "/");
}

bool ippc_init(ippc_t *c, const char *server, const char *uuid, const char *credential,
               const errpattern_t *pattern, int timeout_s, atomic_bool *allowed,
               const atomic_bool *stopping, char *err, size_t errlen) {
  memset(c, 0, sizeof *c);
  char scheme[32], user[256], resource[1024];
  if (httpSeparateURI(HTTP_URI_CODING_ALL, server, scheme, sizeof scheme, user, sizeof user,
                      c->host, sizeof c->host, &c->port, resource,
                      sizeof resource) < HTTP_URI_STATUS_OK) {
    snprintf(err, errlen, "bad server URL '%s'", server);
    return false;
  }
  bool tls = !strcmp(scheme, "https") || !strcmp(scheme, "ipps");
  if (!tls && strcmp(scheme, "http") && strcmp(scheme, "ipp")) {
    snprintf(err, errlen, "server URL must be http, https, ipp or ipps");
    return false;
  }
  c->encryption = tls ? HTTP_ENCRYPTION_ALWAYS : HTTP_ENCRYPTION_IF_REQUESTED;
  snprintf(c->uuid, sizeof c->uuid, "%s", uuid ? uuid : "");
  snprintf(c->credential, sizeof c->credential, "%s", credential ? credential : "");
  c->pattern = pattern;
  c->timeout_s = timeout_s;
  c->allowed = allowed;
  c->stopping = stopping;
  cupsSetPasswordCB2(ippc_no_password, NULL);
  return true;
}

ipp_t *ippc_request(const ippc_t *c, ipp_op_t op, const char *printer_uri) {
  ipp_t *req = ippNewRequest(op);
  ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_URI, "printer-uri", NULL, printer_uri);
  if (c->uuid[0])
    ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_URI, "output-device-uuid", NULL, c->uuid);
  return req;
}

void ippc_close(ippc_t *c) {
  if (c->http) httpClose(c->http);
  c->http = NULL;
  c->pending = false;
}

ippc_result_t ippc_classify(const errpattern_t *pattern, const ippc_status_t *st) {
  if (errpattern_match(pattern, st->http_status, st->ipp_status, st->message)) return IPPC_DELETED;
  if (st->http_status <= 0 || st->http_status >= 500) return IPPC_TRANSIENT;
  if (st->http_status != 200) return IPPC_HTTP_ERROR;
  if (st->ipp_status == IPP_STATUS_ERROR_SERVICE_UNAVAILABLE ||
      st->ipp_status == IPP_STATUS_ERROR_BUSY || st->ipp_status == IPP_STATUS_ERROR_TEMPORARY)
    return IPPC_TRANSIENT;
  return st->ipp_status < 0x0400 ? IPPC_OK : IPPC_IPP_ERROR;
}

static bool ippc_connect(ippc_t *c, ippc_status_t *st) {
  if (c->http) return true;
  c->http = httpConnect2(c->host, c->port, NULL, AF_UNSPEC, c->encryption, 1, 10000, NULL);
  if (!c->http) {
    snprintf(st->message, sizeof st->message, "cannot connect to %.64s:%d: %.128s", c->host,
             c->port, cupsLastErrorString());
    return false;
  }
  httpSetTimeout(c->http, 1.0, ippc_timeout_cb, c);
  if (c->credential[0]) httpSetAuthString(c->http, "Bearer", c->credential);
  return true;
}

/*
 * POST req with a Content-Length and no "Expect: 100-continue", so that
 * the request is complete on the wire when this returns and nothing but
 * the answer itself ever arrives on the connection (cupsSendRequest()
 * sends a chunked body whose last chunk waits for cupsGetResponse(), and
 * leaves part of the interim 100 answer buffered: neither suits a request
 * whose answer is awaited with poll()).
 */
static http_status_t ippc_post(ippc_t *c, ipp_t *req) {
  for (int attempt = 0; attempt < 2; attempt++) {
    const char *conn = httpGetField(c->http, HTTP_FIELD_CONNECTION);
    if (attempt > 0 || (conn && !strcasecmp(conn, "close"))) {
      httpClearFields(c->http);
      if (httpReconnect2(c->http, 10000, NULL)) return HTTP_STATUS_ERROR;
    } else if (httpGetState(c->http) != HTTP_STATE_WAITING) {
      httpFlush(c->http);
    }
    httpClearFields(c->http);
    httpSetField(c->http, HTTP_FIELD_CONTENT_TYPE, "application/ipp");
    httpSetLength(c->http, ippLength(req));
    if (c->credential[0]) {
      char auth[sizeof c->credential + 8];
      snprintf(auth, sizeof auth, "Bearer %s", c->credential);
      httpSetField(c->http, HTTP_FIELD_AUTHORIZATION, auth);
      memset(auth, 0, sizeof auth);
    }
    if (httpPost(c->http, c->resource)) continue; /* a dead keep-alive connection: once more */
    ippSetState(req, IPP_STATE_IDLE);
    ipp_state_t state;
    while ((state = ippWrite(c->http, req)) != IPP_STATE_DATA)
      if (state == IPP_STATE_ERROR) return HTTP_STATUS_ERROR;
    return httpFlushWrite(c->http) < 0 ? HTTP_STATUS_ERROR : HTTP_STATUS_CONTINUE;
  }
  return HTTP_STATUS_ERROR;
}

/* Send req; the answer is read by ippc_finish(). */
static ippc_result_t ippc_begin(ippc_t *c, ipp_t *req, const char *printer_uri, ippc_status_t *st,
                                bool whole) {
  memset(st, 0, sizeof *st);
  c->pending = false;
  if (!atomic_load(c->allowed)) {
    ippDelete(req);
    snprintf(st->message, sizeof st->message, "traffic to the server is stopped");
    return IPPC_STOPPED;
  }
  ippc_resource(printer_uri, c->resource, sizeof c->resource);
  log_event(LOG_DEBUG, NULL, "request", "op", ippOpString(ippGetOperation(req)), "resource",
            c->resource, (char *)NULL);
  c->request_start = time(NULL);
  if (!ippc_connect(c, st)) {
    ippDelete(req);
    return IPPC_TRANSIENT;
  }
  if (whole) {
    c->sent_status = (int)ippc_post(c, req);
  } else {
    /* libcups resets the Authorization field from the auth string per request */
    if (c->credential[0]) httpSetAuthString(c->http, "Bearer", c->credential);
    c->sent_status = (int)cupsSendRequest(c->http, req, c->resource, 0);
  }
  ippDelete(req);
  c->pending = true;
  return IPPC_OK;
}

ippc_result_t ippc_start(ippc_t *c, ipp_t *req, const char *printer_uri, ippc_status_t *st) {
  ippc_result_t r = ippc_begin(c, req, printer_uri, st, true);
  if (r == IPPC_OK && c->sent_status == HTTP_STATUS_ERROR) {
    /* not sent (the server closed the connection and a new one failed):
     * no answer will come, and a request left pending on a connection
     * without a socket would wait for the request timeout */
    snprintf(st->message, sizeof st->message, "cannot send the request: %.200s",
             cupsLastErrorString());
    c->pending = false;
    ippc_close(c);
    return IPPC_TRANSIENT;
  }
  return r;
}

ippc_result_t ippc_finish(ippc_t *c, ipp_t **resp, ippc_status_t *st, bool keep_body) {
  memset(st, 0, sizeof *st);
  *resp = NULL;
  bool pending = c->pending;
  c->pending = false;
  if (!pending || !c->http) {
    snprintf(st->message, sizeof st->message, "no request pending");
    ippc_close(c);
    return IPPC_TRANSIENT;
  }
  http_status_t hs = (http_status_t)c->sent_status;
  ipp_t *answer = NULL;
  if (hs == HTTP_STATUS_CONTINUE || hs == HTTP_STATUS_OK)
    answer = cupsGetResponse(c->http, c->resource);
  hs = httpGetStatus(c->http);
  st->http_status = hs == HTTP_STATUS_ERROR ? 0 : (int)hs;
  if (answer) {
    st->http_status = 200;
    st->ipp_status = (int)ippGetStatusCode(answer);
    ipp_attribute_t *m = ippFindAttribute(answer, "status-message", IPP_TAG_ZERO);
    if (m && ippGetString(m, 0, NULL))
      snprintf(st->message, sizeof st->message, "%s", ippGetString(m, 0, NULL));
  } else {
    if (st->http_status == 200) st->http_status = 0; /* the body was cut */
    snprintf(st->message, sizeof st->message, "%s", cupsLastErrorString());
  }
  ippc_result_t r = ippc_classify(c->pattern, st);
  if (r == IPPC_OK || (r == IPPC_IPP_ERROR && answer)) {
    *resp = answer;
    if (!keep_body || r != IPPC_OK) httpFlush(c->http);
  } else {
    ippDelete(answer);
    if (r == IPPC_TRANSIENT)
      ippc_close(c); /* never reuse a broken connection */
    else if (c->http)
      httpFlush(c->http);
  }
  return r;
}

ippc_result_t ippc_send(ippc_t *c, ipp_t *req, const char *printer_uri, ipp_t **resp,
                        ippc_status_t *st, bool keep_body) {
  *resp = NULL;
  ippc_result_t r = ippc_begin(c, req, printer_uri, st, false);
  if (r != IPPC_OK) return r;
  return ippc_finish(c, resp, st, keep_body);
}

bool ippc_ready(ippc_t *c) {
  /* no socket: nothing will arrive, ippc_finish() reports the failure */
  return !c->http || httpGetFd(c->http) < 0 || httpWait(c->http, 0);
}

int ippc_fd(const ippc_t *c) {
  return c->http ? httpGetFd(c->http) : -1;
}

ssize_t ippc_read(ippc_t *c, char *buf, size_t len) {
  if (!c->http) return -1;
  c->request_start = time(NULL);
  return httpRead2(c->http, buf, len);
}

void ippc_linger_close(ippc_t *c, int grace_s) {
  if (!c->http) return;
  int fd = httpGetFd(c->http);
  time_t end = time(NULL) + grace_s;
  bool closed = false;
  while (fd >= 0 && !closed && time(NULL) < end) {
    if (c->stopping && atomic_load(c->stopping)) break;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n = poll(&p, 1, 250);
    if (n < 0 && errno != EINTR) break;
    if (n > 0) {
      char b[512];
      ssize_t r = recv(fd, b, sizeof b, MSG_DONTWAIT);
      if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) closed = true;
    }
  }
  log_event(LOG_INFO, NULL, "connection to the server closed", "by",
            closed ? "server" : "connector", (char *)NULL);
  ippc_close(c);
}

ipp_t *ippc_engine_do(const char *engine_uri, ipp_t *req, int timeout_s, ippc_status_t *st) {
  memset(st, 0, sizeof *st);
  char scheme[32], user[256], host[256], resource[1024];
  int port;
  if (httpSeparateURI(HTTP_URI_CODING_ALL, engine_uri, scheme, sizeof scheme, user, sizeof user,
                      host, sizeof host, &port, resource, sizeof resource) < HTTP_URI_STATUS_OK ||
      (strcmp(scheme, "ipp") && strcmp(scheme, "ipps"))) {
    ippDelete(req);
    snprintf(st->message, sizeof st->message, "the printer is not an IPP printer");
    st->ipp_status = IPP_STATUS_ERROR_INTERNAL;
    return NULL;
  }
  http_t *http =
      httpConnect2(host, port, NULL, AF_UNSPEC,
                   strcmp(scheme, "ipps") ? HTTP_ENCRYPTION_IF_REQUESTED : HTTP_ENCRYPTION_ALWAYS,
                   1, timeout_s * 1000, NULL);
  if (!http) {
    ippDelete(req);
    snprintf(st->message, sizeof st->message, "cannot reach the printer");
    st->ipp_status = IPP_STATUS_ERROR_SERVICE_UNAVAILABLE;
    return NULL;
  }
  httpSetTimeout(http, timeout_s, NULL, NULL);
  ipp_t *resp = cupsDoRequest(http, req, resource[0] ? resource : "/");
  st->http_status = (int)httpGetStatus(http);
  st->ipp_status = (int)cupsLastError();
  snprintf(st->message, sizeof st->message, "%s", cupsLastErrorString());
  if (resp) {
    st->ipp_status = (int)ippGetStatusCode(resp);
    ipp_attribute_t *m = ippFindAttribute(resp, "status-message", IPP_TAG_TEXT);
    snprintf(st->message, sizeof st->message, "%s",
             m ? ippGetString(m, 0, NULL) : ippErrorString((ipp_status_t)st->ipp_status));
  }
  httpClose(http);
  return resp;
}
