/*
 * http.c: the libmicrohttpd front of nimbusd (see http.h for the life of a
 * request).
 *
 * Threads: libmicrohttpd runs `threads` event threads, each with its own
 * epoll set.  Handlers' body() runs there and never blocks.  Anything slow
 * runs on the worker pool while the connection is suspended; the worker
 * resumes it when done, and the event thread queues the response.
 *
 * Shutdown: http_stop() quiesces the listening socket (from then on every
 * answer closes its connection, so keep-alive clients go elsewhere), waits
 * until every in-flight request has completed (counted in
 * http_server.inflight), then refuses any new hand-off to a worker (503)
 * and waits for the suspended connections to be resumed, and only then
 * stops the daemon, so no request is cut in half and libmicrohttpd is
 * never stopped with a connection suspended.
 *
 * Held long-polls: a handler's finish() may take its connection out of
 * libmicrohttpd (http_request_hold) while it waits; held.c owns it until
 * the answer, then gives it back.  Over TLS (libmicrohttpd's own) this
 * cannot be done and a long-poll parks suspended instead
 * (http_request_park).
 */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "held.h"
#include "httpframing.h"
#include "log.h"
#include "metrics.h"
#include "routes.h"
#include "web-session.h"

/* Content-Security-Policy of every answer: no scripts, no framing; inline
 * styles only (the small printer information pages). */
#define HTTP_CSP                                                                     \
  "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; " \
  "form-action 'self'; frame-ancestors 'none'"

struct http_server {
  nimbus_server_t *srv;
  struct MHD_Daemon *daemon;
  int port;
  atomic_int inflight;
  atomic_int suspended; /* connections suspended by us (workers, parked long-polls) */
  atomic_bool draining; /* quiesced: every answer closes its connection */
  atomic_bool stopping; /* no more suspends: hand-offs are answered 503 */
  char *tls_cert_pem;
  char *tls_key_pem;
  held_loop_t *held; /* long-polls held outside libmicrohttpd */
};

typedef enum {
  HTTP_PHASE_BODY = 0,  /* receiving */
  HTTP_PHASE_DEFERRED,  /* suspended: a worker runs a deferred step */
  HTTP_PHASE_FINISHING, /* suspended: a worker runs finish() */
  HTTP_PHASE_READY      /* response set, to be queued */
} http_phase_t;

struct http_internal {
  http_server_t *h;
  struct MHD_Connection *conn;
  struct timespec start;
  atomic_int phase;                    /* http_phase_t; written by the worker before resuming */
  bool discarding;                     /* body() refused more data: drop the rest */
  void (*deferred)(http_request_t *r); /* set by body() via http_request_defer */
  void (*work)(http_request_t *r);     /* what the worker runs (NULL: finish) */
  bool queued;
  /* parking (long-polls): http_park_t, and the step wake() asked for */
  atomic_int park;
  void (*wake_fn)(http_request_t *r);
  /* streamed response body after resp_body (http_respond_stream);
   * stream.read NULL: none */
  http_body_source_t stream;
  int64_t stream_len;
  bool keep_alive;   /* HTTP/1.1 without Connection: close */
  int64_t body_seen; /* body bytes fed to the handler so far */
  held_conn_t *held; /* finish() held the connection (http_request_hold) */
};

/* A parked request stays suspended with no thread until
 * http_request_wake().  finish() may request parking; the wake may come
 * before finish() has returned, so the hand-over is a small CAS machine. */
typedef enum {
  HTTP_PARK_NONE = 0,
  HTTP_PARK_REQUESTED, /* finish() asked to park and has not returned yet */
  HTTP_PARK_PARKED,    /* suspended, waiting for a wake */
  HTTP_PARK_WOKEN      /* woken before finish() returned: run wake_fn then */
} http_park_t;

struct http_form {
  struct MHD_PostProcessor *pp;
  http_form_cb cb;
  void *ctx;
  bool stopped;
};

/* ---- responses ---- */

void http_respond_owned(http_request_t *r, int status, const char *content_type, char *body,
                        size_t len) {
  free(r->resp_body);
  r->status = status;
  r->resp_body = body;
  r->resp_len = len;
  snprintf(r->resp_type, sizeof r->resp_type, "%s", content_type ? content_type : "");
}

void http_respond(http_request_t *r, int status, const char *content_type, const void *body,
                  size_t len) {
  char *copy = malloc(len ? len : 1);
  if (!copy) {
    http_respond_owned(r, 500, "text/plain", NULL, 0);
    return;
  }
  if (len) memcpy(copy, body, len);
  http_respond_owned(r, status, content_type, copy, len);
}

void http_respond_json(http_request_t *r, int status, json_t *doc) {
  char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
  json_decref(doc);
  if (!text) {
    http_respond_problem(r, 500, "Internal Server Error", "could not encode the response");
    return;
  }
  size_t n = strlen(text);
  const char *type = status >= 400 ? "application/problem+json" : "application/json";
  http_respond_owned(r, status, type, text, n);
}

void http_respond_problem(http_request_t *r, int status, const char *title, const char *detail) {
  http_respond_problem_typed(r, status, "about:blank", title, detail);
}

void http_respond_problem_typed(http_request_t *r, int status, const char *type, const char *title,
                                const char *detail) {
  json_t *doc = json_pack("{s:s, s:s, s:i}", "type", type, "title", title, "status", status);
  if (doc && detail) json_object_set_new(doc, "detail", json_string(detail));
  if (doc) json_object_set_new(doc, "request_id", json_string(r->id));
  char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
  json_decref(doc);
  if (!text) {
    http_respond_owned(r, status, "text/plain", NULL, 0);
    return;
  }
  http_respond_owned(r, status, "application/problem+json", text, strlen(text));
}

void http_response_header(http_request_t *r, const char *name, const char *value) {
  if (r->nresp_headers >= HTTP_MAX_RESP_HEADERS) return;
  snprintf(r->resp_header_name[r->nresp_headers], sizeof r->resp_header_name[0], "%s", name);
  snprintf(r->resp_header_value[r->nresp_headers], sizeof r->resp_header_value[0], "%s", value);
  r->nresp_headers++;
}

/* Whether the handler added response header `name`. */
static bool http_resp_has_header(const http_request_t *r, const char *name) {
  for (int i = 0; i < r->nresp_headers; i++)
    if (strcasecmp(r->resp_header_name[i], name) == 0) return true;
  return false;
}

const char *http_query(const http_request_t *r, const char *name) {
  for (int i = 0; i < r->nquery; i++)
    if (strcmp(r->query_key[i], name) == 0) return r->query_value[i];
  return NULL;
}

/* ---- forms ---- */

static enum MHD_Result http_form_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *filename, const char *content_type,
                                      const char *transfer_encoding, const char *data, uint64_t off,
                                      size_t size) {
  (void)kind;
  (void)transfer_encoding;
  http_form_t *f = cls;
  if (!f->cb(f->ctx, key, filename, content_type, data, size, off)) {
    f->stopped = true;
    return MHD_NO;
  }
  return MHD_YES;
}

http_form_t *http_form_new(http_request_t *r, http_form_cb cb, void *ctx) {
  /* libmicrohttpd aborts on a NULL connection: detached requests (the
   * testing seam at the end of this file) have none, so no form. */
  if (!r->in->conn) return NULL;
  http_form_t *f = calloc(1, sizeof *f);
  if (!f) return NULL;
  f->cb = cb;
  f->ctx = ctx;
  f->pp = MHD_create_post_processor(r->in->conn, 64 * 1024, http_form_iter, f);
  if (!f->pp) {
    free(f);
    return NULL;
  }
  return f;
}

bool http_form_feed(http_form_t *f, const char *data, size_t len) {
  if (f->stopped) return false;
  return MHD_post_process(f->pp, data, len) == MHD_YES && !f->stopped;
}

void http_form_free(http_form_t *f) {
  if (!f) return;
  MHD_destroy_post_processor(f->pp);
  free(f);
}

/* ---- request context ---- */

static enum MHD_Result http_copy_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                       const char *value) {
  (void)kind;
  http_request_t *r = cls;
  if (r->nquery >= HTTP_MAX_QUERY) return MHD_NO;
  r->query_key[r->nquery] = strdup(key);
  r->query_value[r->nquery] = strdup(value ? value : "");
  if (!r->query_key[r->nquery] || !r->query_value[r->nquery]) {
    free(r->query_key[r->nquery]);
    free(r->query_value[r->nquery]);
    return MHD_NO;
  }
  r->nquery++;
  return MHD_YES;
}

static void http_copy_header(struct MHD_Connection *c, const char *name, char *dst, size_t n) {
  const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
  snprintf(dst, n, "%s", v ? v : "");
}

/* Copy header `name` only when it fits (a truncated token or ETag must
 * not match anything). */
static void http_copy_header_exact(struct MHD_Connection *c, const char *name, char *dst,
                                   size_t n) {
  const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
  dst[0] = '\0';
  if (v && strlen(v) < n) memcpy(dst, v, strlen(v) + 1);
}

/* MHD_get_connection_values iterator: the nimbus_session value of the
 * first Cookie line that has a well-formed one. */
static enum MHD_Result http_cookie_session(void *cls, enum MHD_ValueKind kind, const char *key,
                                           const char *value) {
  (void)kind;
  http_request_t *r = cls;
  if (key && value && strcasecmp(key, MHD_HTTP_HEADER_COOKIE) == 0 &&
      web_session_cookie_find(value, r->cookie_session, sizeof r->cookie_session))
    return MHD_NO;
  return MHD_YES;
}

/* MHD_get_connection_values iterator: keep the last X-Forwarded-For line. */
static enum MHD_Result http_last_xff(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value) {
  (void)kind;
  if (key && value && strcasecmp(key, "X-Forwarded-For") == 0) *(const char **)cls = value;
  return MHD_YES;
}

/*
 * Behind a trusted reverse proxy (--trust-proxy): the client address is
 * the last X-Forwarded-For entry, the one our proxy appended (earlier ones
 * are the client's own claims).  A proxy may append its entry as a header
 * line of its own after the client's (HAProxy's `option forwardfor`), so
 * the last entry of the last line counts.  Kept only when it is an IP
 * address.
 */
static void http_forwarded_for(struct MHD_Connection *c, char *peer, size_t len) {
  const char *xff = NULL;
  MHD_get_connection_values(c, MHD_HEADER_KIND, http_last_xff, &xff);
  if (!xff) return;
  const char *last = strrchr(xff, ',');
  last = last ? last + 1 : xff;
  while (*last == ' ' || *last == '\t') last++;
  char addr[INET6_ADDRSTRLEN];
  size_t n = strcspn(last, " \t");
  if (n == 0 || n >= sizeof addr) return;
  memcpy(addr, last, n);
  addr[n] = '\0';
  unsigned char bin[sizeof(struct in6_addr)];
  if (inet_pton(AF_INET, addr, bin) == 1 || inet_pton(AF_INET6, addr, bin) == 1)
    snprintf(peer, len, "%s", addr);
}

/* A fresh request context: start time, request id, method and path.
 * NULL when out of memory.  The caller fills headers and routes it. */
static http_request_t *http_request_alloc(nimbus_server_t *srv, const char *method,
                                          const char *path, size_t pathlen) {
  http_request_t *r = calloc(1, sizeof *r);
  struct http_internal *in = calloc(1, sizeof *in);
  if (!r || !in) {
    free(r);
    free(in);
    return NULL;
  }
  r->in = in;
  clock_gettime(CLOCK_MONOTONIC, &in->start);
  r->srv = srv;
  unsigned char rnd[8];
  randombytes_buf(rnd, sizeof rnd);
  sodium_bin2hex(r->id, sizeof r->id, rnd, sizeof rnd);
  snprintf(r->method, sizeof r->method, "%s", method);
  snprintf(r->path, sizeof r->path, "%.*s", (int)pathlen, path);
  return r;
}

/* Seconds since the request started. */
static double http_request_seconds(const http_request_t *r) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)(now.tv_sec - r->in->start.tv_sec) +
         (double)(now.tv_nsec - r->in->start.tv_nsec) / 1e9;
}

static http_request_t *http_request_new(http_server_t *h, struct MHD_Connection *c, const char *url,
                                        const char *method) {
  http_request_t *r = http_request_alloc(h->srv, method, url, strlen(url));
  if (!r) return NULL;
  r->in->h = h;
  r->in->conn = c;
  http_copy_header(c, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type, sizeof r->content_type);
  http_copy_header(c, MHD_HTTP_HEADER_AUTHORIZATION, r->authorization, sizeof r->authorization);
  http_copy_header(c, MHD_HTTP_HEADER_HOST, r->host, sizeof r->host);
  http_copy_header(c, MHD_HTTP_HEADER_USER_AGENT, r->user_agent, sizeof r->user_agent);
  http_copy_header(c, "X-Nimbus-Session", r->session, sizeof r->session);
  http_copy_header(c, "Stripe-Signature", r->signature, sizeof r->signature);
  /* the contract webhook's (docs/PROVISIONING.md §4) */
  http_copy_header_exact(c, "X-Nimbus-Sender", r->nimbus_sender, sizeof r->nimbus_sender);
  http_copy_header_exact(c, "X-Nimbus-Timestamp", r->nimbus_timestamp, sizeof r->nimbus_timestamp);
  http_copy_header_exact(c, "X-Nimbus-Signature", r->nimbus_signature, sizeof r->nimbus_signature);
  http_copy_header_exact(c, "X-CSRF-Token", r->csrf_token, sizeof r->csrf_token);
  http_copy_header_exact(c, MHD_HTTP_HEADER_IF_NONE_MATCH, r->if_none_match,
                         sizeof r->if_none_match);
  http_copy_header_exact(c, MHD_HTTP_HEADER_RANGE, r->range, sizeof r->range);
  const char *console = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Nimbus-Console");
  r->console_client = console && strcmp(console, "1") == 0;
  MHD_get_connection_values(c, MHD_HEADER_KIND, http_cookie_session, r);
  const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
  r->content_length = cl ? strtoll(cl, NULL, 10) : -1;
  const char *proto = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Forwarded-Proto");
  r->tls = h->srv->tls || (h->srv->cfg.trust_proxy && proto && strcasecmp(proto, "https") == 0);
  /* The Host header ends up in URIs we hand out (printer-uri-supported,
   * job-uri): accept only host[:port] characters. */
  if (!r->host[0] || strspn(r->host,
                            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                            "0123456789.-:[]") != strlen(r->host))
    snprintf(r->host, sizeof r->host, "localhost:%d", h->port);
  MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, http_copy_query, r);
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (ci && ci->client_addr) {
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
      inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, r->peer, sizeof r->peer);
    else if (sa->sa_family == AF_INET6)
      inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, r->peer, sizeof r->peer);
  }
  if (h->srv->cfg.trust_proxy) http_forwarded_for(c, r->peer, sizeof r->peer);
  r->handler = routes_match(r->method, r->path);
  r->op_name = r->handler->name;
  atomic_fetch_add(&h->inflight, 1);
  return r;
}

static void http_request_free(http_request_t *r) {
  if (r->handler && r->handler->cleanup) r->handler->cleanup(r);
  for (int i = 0; i < r->nquery; i++) {
    free(r->query_key[i]);
    free(r->query_value[i]);
  }
  free(r->resp_body);
  if (r->in->stream.read) r->in->stream.close(r->in->stream.ctx);
  sodium_memzero(r->authorization, sizeof r->authorization);
  sodium_memzero(r->session, sizeof r->session);
  sodium_memzero(r->cookie_session, sizeof r->cookie_session);
  sodium_memzero(r->csrf_token, sizeof r->csrf_token);
  free(r->in);
  free(r);
}

/* ---- worker hand-off ---- */

/* Every resume of a connection we suspended goes through here, so
 * http_stop() knows when none is left (libmicrohttpd aborts the process if
 * it is stopped with suspended connections). */
static void http_resume(struct http_internal *in) {
  http_server_t *h = in->h; /* `in` may be freed as soon as the connection resumes */
  MHD_resume_connection(in->conn);
  atomic_fetch_sub(&h->suspended, 1);
}

/* Has the handler been fed the whole body (Content-Length known)? */
static bool http_body_complete(const http_request_t *r) {
  return r->content_length >= 0 && r->in->body_seen >= r->content_length;
}

static void http_run_deferred(void *arg) {
  http_request_t *r = arg;
  struct http_internal *in = r->in;
  if (in->work) {
    in->work(r);
    in->work = NULL;
    if (http_body_complete(r) && !routes_on_event_thread(r->handler)) {
      /* The deferred step came with the last chunk (a small request in
       * one read): finish() here too, saving a resume and a hand-off. */
      atomic_store(&in->phase, HTTP_PHASE_FINISHING);
      http_run_deferred(r);
      return;
    }
    atomic_store(&in->phase, HTTP_PHASE_BODY);
  } else {
    r->handler->finish(r);
    if (in->held) { /* answered through held.c: libmicrohttpd lets go */
      atomic_store(&in->phase, HTTP_PHASE_READY);
      http_resume(in);
      return;
    }
    int expect = HTTP_PARK_REQUESTED;
    if (atomic_compare_exchange_strong(&in->park, &expect, HTTP_PARK_PARKED))
      return; /* parked: http_request_wake() resumes it */
    if (expect == HTTP_PARK_WOKEN) {
      atomic_store(&in->park, HTTP_PARK_NONE);
      in->wake_fn(r);
    }
    if (r->status == 0) http_respond_problem(r, 500, "Internal Server Error", NULL);
    atomic_store(&in->phase, HTTP_PHASE_READY);
  }
  http_resume(in);
}

bool http_request_can_park(const http_request_t *r) {
  return r->in->conn != NULL;
}

http_held_t *http_request_hold(http_request_t *r) {
  struct http_internal *in = r->in;
  http_server_t *h = in->h;
  /* Over libmicrohttpd's TLS the session lives in libmicrohttpd. */
  if (!in->conn || !h->held || h->srv->tls || !in->keep_alive || in->held ||
      atomic_load(&h->draining))
    return NULL;
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(in->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
  if (!ci) return NULL;
  held_info_t info = {.server = h, .op_name = r->op_name, .start = in->start};
  memcpy(info.id, r->id, sizeof info.id);
  snprintf(info.peer, sizeof info.peer, "%s", r->peer);
  in->held = held_new(h->held, ci->connect_fd, &info);
  return in->held;
}

void http_held_answer(http_held_t *held, int status, const char *content_type, char *body,
                      size_t len, bool close, int ipp_status) {
  held_conn_t *c = held;
  const held_info_t *info = held_info(c);
  http_server_t *h = info->server;
  close = close || atomic_load(&h->draining); /* closed after it: say so */
  char date[64];
  struct tm tm;
  time_t now = time(NULL);
  strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", gmtime_r(&now, &tm));
  const char *reason = MHD_get_reason_phrase_for((unsigned)status);
  char head[1024];
  int hn =
      snprintf(head, sizeof head,
               "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
               "X-Request-Id: %s\r\nX-Content-Type-Options: nosniff\r\n"
               "Referrer-Policy: no-referrer\r\nContent-Security-Policy: " HTTP_CSP "\r\n%s\r\n",
               status, reason && reason[0] ? reason : "Unknown", date, content_type, len, info->id,
               close ? "Connection: close\r\n" : "");
  char *out = hn > 0 && (size_t)hn < sizeof head ? malloc((size_t)hn + len) : NULL;
  if (out) {
    memcpy(out, head, (size_t)hn);
    if (len) memcpy(out + hn, body, len);
  }
  free(body);
  struct timespec end;
  clock_gettime(CLOCK_MONOTONIC, &end);
  double secs =
      (double)(end.tv_sec - info->start.tv_sec) + (double)(end.tv_nsec - info->start.tv_nsec) / 1e9;
  metrics_request(h->srv->metrics, info->op_name, status, ipp_status, secs);
  log_event(status >= 500 ? LOG_WARN : LOG_INFO, info->id, "request", "op", info->op_name, "status",
            LOG_INT(status), "ipp_status", ipp_status >= 0 ? LOG_INT(ipp_status) : NULL, "held",
            "true", "peer", info->peer, "ms", LOG_INT((long long)(secs * 1000)), (char *)NULL);
  held_answer(c, out, out ? (size_t)hn + len : 0, close || !out);
}


void http_request_park(http_request_t *r) {
  atomic_store(&r->in->park, HTTP_PARK_REQUESTED);
}

/* Worker step of a woken request: the handler's wake step, then respond. */
static void http_run_wake(void *arg) {
  http_request_t *r = arg;
  struct http_internal *in = r->in;
  in->wake_fn(r);
  if (r->status == 0) http_respond_problem(r, 500, "Internal Server Error", NULL);
  atomic_store(&in->phase, HTTP_PHASE_READY);
  http_resume(in);
}

void http_request_wake(http_request_t *r, void (*fn)(http_request_t *r)) {
  struct http_internal *in = r->in;
  in->wake_fn = fn;
  int expect = HTTP_PARK_PARKED;
  if (atomic_compare_exchange_strong(&in->park, &expect, HTTP_PARK_NONE)) {
    /* A full queue must not strand a parked request: run it here. */
    if (!workers_submit(r->srv->workers, http_run_wake, r)) http_run_wake(r);
    return;
  }
  expect = HTTP_PARK_REQUESTED;
  atomic_compare_exchange_strong(&in->park, &expect, HTTP_PARK_WOKEN);
}

void http_respond_stream(http_request_t *r, int status, const char *content_type, char *prefix,
                         size_t prefix_len, const http_body_source_t *src, int64_t len) {
  http_respond_owned(r, status, content_type, prefix, prefix_len);
  if (r->in->stream.read) r->in->stream.close(r->in->stream.ctx);
  r->in->stream = *src;
  r->in->stream_len = len;
}

void http_request_defer(http_request_t *r, void (*fn)(http_request_t *r)) {
  r->in->deferred = fn;
}

static enum MHD_Result http_queue(http_request_t *r);

/* Answer r 503 now (no worker took it): drop the rest of its body. */
static void http_refuse_busy(http_request_t *r, const char *detail) {
  struct http_internal *in = r->in;
  in->work = NULL;
  in->discarding = true;
  http_respond_problem(r, 503, "Service Unavailable", detail);
  http_response_header(r, "Retry-After", "1");
  atomic_store(&in->phase, HTTP_PHASE_READY);
}

/* Suspend the connection and run `work` (NULL: the handler's finish) on a
 * worker, entering `phase` until the worker resumes the connection.  When
 * the queue is full the request is answered 503 at once. */
static enum MHD_Result http_hand_off(http_request_t *r, http_phase_t phase,
                                     void (*work)(http_request_t *r)) {
  struct http_internal *in = r->in;
  in->work = work;
  in->deferred = NULL;
  atomic_store(&in->phase, phase);
  /* Count the suspension before looking at `stopping`; http_stop() sets
   * `stopping` before it reads the count (both sequentially consistent),
   * so either this sees the stop or the stop waits for this connection. */
  atomic_fetch_add(&in->h->suspended, 1);
  if (atomic_load(&in->h->stopping)) {
    atomic_fetch_sub(&in->h->suspended, 1);
    http_refuse_busy(r, "the server is shutting down; retry later");
    return http_queue(r); /* not suspended: answer from this event-thread call */
  }
  MHD_suspend_connection(in->conn);
  if (!workers_submit(r->srv->workers, http_run_deferred, r)) {
    http_refuse_busy(r, "the server is overloaded; retry later");
    http_resume(in);
  }
  return MHD_YES;
}

/* A streamed body: the prefix (already encoded), then len bytes of the
 * source.  Runs on the event thread; the source reads bounded chunks. */
typedef struct {
  char *prefix;
  size_t prefix_len;
  http_body_source_t src;
  int64_t len;
} http_stream_t;

static ssize_t http_stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
  http_stream_t *s = cls;
  if (pos < s->prefix_len) {
    size_t n = s->prefix_len - (size_t)pos;
    if (n > max) n = max;
    memcpy(buf, s->prefix + pos, n);
    return (ssize_t)n;
  }
  uint64_t off = pos - s->prefix_len;
  if ((int64_t)off >= s->len) return MHD_CONTENT_READER_END_OF_STREAM;
  if ((int64_t)(off + max) > s->len) max = (size_t)(s->len - (int64_t)off);
  ssize_t n = s->src.read(s->src.ctx, (int64_t)off, buf, max);
  return n > 0 ? n : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void http_stream_free(void *cls) {
  http_stream_t *s = cls;
  s->src.close(s->src.ctx);
  free(s->prefix);
  free(s);
}

static struct MHD_Response *http_stream_response(http_request_t *r) {
  http_stream_t *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->prefix = r->resp_body;
  s->prefix_len = r->resp_len;
  s->src = r->in->stream;
  s->len = r->in->stream_len;
  struct MHD_Response *resp = MHD_create_response_from_callback(
      (uint64_t)s->prefix_len + (uint64_t)s->len, 64 * 1024, http_stream_read, s, http_stream_free);
  if (!resp) {
    free(s);
    return NULL;
  }
  r->resp_body = NULL;
  r->in->stream.read = NULL; /* both now owned by the response */
  return resp;
}

static enum MHD_Result http_queue(http_request_t *r) {
  struct http_internal *in = r->in;
  struct MHD_Response *resp =
      in->stream.read
          ? http_stream_response(r)
          : MHD_create_response_from_buffer(r->resp_len, r->resp_body, MHD_RESPMEM_MUST_FREE);
  if (!resp) return MHD_NO;
  r->resp_body = NULL; /* now owned by the response */
  if (r->resp_type[0]) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->resp_type);
  for (int i = 0; i < r->nresp_headers; i++)
    MHD_add_response_header(resp, r->resp_header_name[i], r->resp_header_value[i]);
  MHD_add_response_header(resp, "X-Request-Id", r->id);
  /* Browsers get the narrowest policy unless the handler set its own (the
   * web console's files, console-static.c): two policies would both be
   * enforced. */
  if (!http_resp_has_header(r, "X-Content-Type-Options"))
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
  if (!http_resp_has_header(r, "Referrer-Policy"))
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
  if (!http_resp_has_header(r, "Content-Security-Policy"))
    MHD_add_response_header(resp, "Content-Security-Policy", HTTP_CSP);
  if (r->resp_close || atomic_load(&in->h->draining))
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
  enum MHD_Result ret = MHD_queue_response(in->conn, (unsigned)r->status, resp);
  MHD_destroy_response(resp);
  in->queued = ret == MHD_YES;
  return ret;
}

static enum MHD_Result http_access(void *cls, struct MHD_Connection *c, const char *url,
                                   const char *method, const char *version, const char *upload_data,
                                   size_t *upload_data_size, void **con_cls) {
  http_server_t *h = cls;
  http_request_t *r = *con_cls;
  if (!r) {
    r = http_request_new(h, c, url, method);
    if (!r) return MHD_NO;
    *con_cls = r;
    const char *conn_hdr =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONNECTION);
    r->in->keep_alive = version && strcmp(version, MHD_HTTP_VERSION_1_1) == 0 &&
                        !(conn_hdr && strcasestr(conn_hdr, "close"));
    const char *detail = NULL;
    int bad = http_framing_check_mhd(c, version, &detail);
    if (bad) { /* RFC 9112 section 6: answer now, read no body, close */
      http_respond_problem(r, bad, bad == 501 ? "Not Implemented" : "Bad Request", detail);
      r->resp_close = true;
      atomic_store(&r->in->phase, HTTP_PHASE_READY);
      return http_queue(r);
    }
    return MHD_YES;
  }
  struct http_internal *in = r->in;
  int phase = atomic_load(&in->phase);
  if (phase == HTTP_PHASE_DEFERRED || phase == HTTP_PHASE_FINISHING) {
    /* A worker owns the request: consume nothing now; libmicrohttpd
     * offers the same data again after the worker resumes us. */
    return MHD_YES;
  }
  if (in->held) return MHD_NO; /* held.c has the socket now: libmicrohttpd closes its copy */
  if (phase == HTTP_PHASE_READY) {
    /* A 503 before the body ended: libmicrohttpd queues a response only
     * once the body is in, so drop the rest and answer at the end. */
    if (*upload_data_size > 0) {
      *upload_data_size = 0;
      return MHD_YES;
    }
    return in->queued ? MHD_YES : http_queue(r);
  }
  if (*upload_data_size > 0) {
    in->body_seen += (int64_t)*upload_data_size;
    if (!in->discarding && r->handler->body && !r->handler->body(r, upload_data, *upload_data_size))
      in->discarding = true;
    *upload_data_size = 0;
    if (in->deferred) return http_hand_off(r, HTTP_PHASE_DEFERRED, in->deferred);
    return MHD_YES;
  }
  if (routes_on_event_thread(r->handler)) { /* /healthz: no worker needed */
    r->handler->finish(r);
    if (r->status == 0) http_respond_problem(r, 500, "Internal Server Error", NULL);
    atomic_store(&in->phase, HTTP_PHASE_READY);
    return http_queue(r);
  }
  return http_hand_off(r, HTTP_PHASE_FINISHING, NULL);
}

static void http_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                           enum MHD_RequestTerminationCode toe) {
  (void)c;
  http_server_t *h = cls;
  http_request_t *r = *con_cls;
  if (!r) return;
  double secs = http_request_seconds(r);
  int ipp_status = routes_ipp_status(r);
  if (r->in->held) {
    /* libmicrohttpd has let go (it closes only its descriptor): the held
     * thread takes the socket; the answer logs the request. */
    log_event(LOG_DEBUG, r->id, "request held", "method", r->method, "path", r->path, "op",
              r->op_name, "user", r->auth.result == AUTH_OK ? r->auth.user.name : NULL, "tenant",
              r->auth.result == AUTH_OK ? r->auth.tenant.name : NULL, "peer", r->peer,
              (char *)NULL);
    held_release(r->in->held);
  } else if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK || r->in->queued) {
    metrics_request(h->srv->metrics, r->op_name, r->status, ipp_status, secs);
    log_event(r->status >= 500 ? LOG_WARN : LOG_INFO, r->id, "request", "method", r->method, "path",
              r->path, "op", r->op_name, "status", LOG_INT(r->status), "ipp_status",
              ipp_status >= 0 ? LOG_INT(ipp_status) : NULL, "user",
              r->auth.result == AUTH_OK ? r->auth.user.name : NULL, "tenant",
              r->auth.result == AUTH_OK ? r->auth.tenant.name : NULL, "peer", r->peer, "ms",
              LOG_INT((long long)(secs * 1000)), (char *)NULL);
  } else {
    log_event(LOG_INFO, r->id, "request aborted", "method", r->method, "path", r->path, "reason",
              LOG_INT(toe), (char *)NULL);
  }
  http_request_free(r);
  *con_cls = NULL;
  atomic_fetch_sub(&h->inflight, 1);
}

static void http_mhd_log(void *cls, const char *fmt, va_list ap) {
  (void)cls;
  char msg[512];
  vsnprintf(msg, sizeof msg, fmt, ap);
  size_t n = strlen(msg);
  while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' ')) msg[--n] = '\0';
  log_event(LOG_DEBUG, NULL, "libmicrohttpd", "detail", msg, (char *)NULL);
}

/* Read a whole (small) PEM file; NULL on error. */
static char *http_read_pem(const char *path, char *err, size_t errlen) {
  FILE *f = fopen(path, "r");
  if (!f) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return NULL;
  }
  char *buf = calloc(1, 1024 * 1024);
  size_t n = buf ? fread(buf, 1, 1024 * 1024 - 1, f) : 0;
  fclose(f);
  if (!buf || n == 0) {
    snprintf(err, errlen, "%s: empty or unreadable", path);
    free(buf);
    return NULL;
  }
  return buf;
}

const char *http_library_version(void) {
  return MHD_get_version();
}

http_server_t *http_start(nimbus_server_t *srv, char *err, size_t errlen) {
  http_server_t *h = calloc(1, sizeof *h);
  if (!h) return NULL;
  h->srv = srv;
  h->port = srv->cfg.port;

  struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV,
                           .ai_socktype = SOCK_STREAM};
  struct addrinfo *ai = NULL;
  char port[16];
  snprintf(port, sizeof port, "%d", srv->cfg.port);
  int gai = getaddrinfo(srv->cfg.listen, port, &hints, &ai);
  if (gai != 0) {
    snprintf(err, errlen, "bad listen address '%s': %s", srv->cfg.listen, gai_strerror(gai));
    free(h);
    return NULL;
  }
  /* MHD_USE_TURBO: besides reading before polling, libmicrohttpd then
   * closes a connection without shutdown(2), which held.c relies on. */
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                   MHD_USE_ERROR_LOG | MHD_USE_ITC | MHD_USE_TURBO;
  if (ai->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
  if (srv->cfg.tls_cert[0]) {
    if (!srv->cfg.tls_key[0]) {
      snprintf(err, errlen, "--tls-cert needs --tls-key");
      goto fail;
    }
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
      snprintf(err, errlen, "this libmicrohttpd was built without TLS");
      goto fail;
    }
    h->tls_cert_pem = http_read_pem(srv->cfg.tls_cert, err, errlen);
    if (!h->tls_cert_pem) goto fail;
    h->tls_key_pem = http_read_pem(srv->cfg.tls_key, err, errlen);
    if (!h->tls_key_pem) goto fail;
    flags |= MHD_USE_TLS;
    srv->tls = true;
  }
  struct MHD_OptionItem tls_opts[] = {
      {h->tls_cert_pem ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, h->tls_cert_pem},
      {MHD_OPTION_HTTPS_MEM_KEY, 0, h->tls_key_pem},
      {MHD_OPTION_END, 0, NULL}};
  h->daemon = MHD_start_daemon(
      flags, (uint16_t)srv->cfg.port, NULL, NULL, http_access, h, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
      MHD_OPTION_THREAD_POOL_SIZE, (unsigned)srv->cfg.threads, MHD_OPTION_CONNECTION_LIMIT,
      (unsigned)srv->cfg.max_connections, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
      (size_t)srv->cfg.connection_memory, MHD_OPTION_CONNECTION_TIMEOUT,
      (unsigned)srv->cfg.connection_timeout, MHD_OPTION_NOTIFY_COMPLETED, http_completed, h,
      MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, NULL, MHD_OPTION_LISTEN_BACKLOG_SIZE,
      (unsigned)1024, MHD_OPTION_ARRAY, tls_opts, MHD_OPTION_END);
  if (!h->daemon) {
    snprintf(err, errlen, "cannot listen on %s port %d (in use or not permitted)", srv->cfg.listen,
             srv->cfg.port);
    goto fail;
  }
  const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
  if (di) h->port = di->port;
  if (!srv->tls) {
    h->held = held_loop_start(srv->cfg.max_connections, err, errlen);
    if (!h->held) {
      MHD_stop_daemon(h->daemon);
      goto fail;
    }
    held_loop_set_daemon(h->held, h->daemon);
  }
  freeaddrinfo(ai);
  return h;
fail:
  freeaddrinfo(ai);
  free(h->tls_cert_pem);
  free(h->tls_key_pem);
  free(h);
  return NULL;
}

int http_port(const http_server_t *h) {
  return h->port;
}

void http_stop(http_server_t *h) {
  if (!h) return;
  atomic_store(&h->draining, true);
  held_loop_drain(h->held); /* answered held connections close from now on */
  MHD_socket s = MHD_quiesce_daemon(h->daemon);
  if (s != MHD_INVALID_SOCKET) close(s);
  /* Let in-flight requests finish (bounded: 30 s); then cut the rest,
   * but never while a worker still owns one (its connection is
   * suspended): refuse new hand-offs (a keep-alive client may still send
   * one) and wait for those up to 30 s more. */
  for (int i = 0; i < 3000 && atomic_load(&h->inflight) > 0; i++) usleep(10000);
  atomic_store(&h->stopping, true);
  for (int i = 0; i < 3000 && atomic_load(&h->suspended) > 0; i++) {
    if (i == 0)
      log_event(LOG_INFO, NULL, "waiting for requests still being processed", "count",
                LOG_INT(atomic_load(&h->suspended)), (char *)NULL);
    usleep(10000);
  }
  if (atomic_load(&h->suspended) > 0) {
    /* A worker is stuck: stopping libmicrohttpd now would abort the
     * process; leave it to the exit. */
    log_event(LOG_ERROR, NULL, "requests still being processed at exit; not waiting longer",
              "count", LOG_INT(atomic_load(&h->suspended)), (char *)NULL);
    return;
  }
  MHD_stop_daemon(h->daemon);
  held_loop_stop(h->held);
  free(h->tls_cert_pem);
  free(h->tls_key_pem);
  free(h);
}

/* ---- testing seam ---- */

/* Copy "k=v&k2=v2" into r's query arguments (not percent-decoded: tests
 * pass plain values).  Stops quietly at HTTP_MAX_QUERY or out of memory. */
static void http_detached_query(http_request_t *r, const char *q) {
  while (*q && r->nquery < HTTP_MAX_QUERY) {
    size_t len = strcspn(q, "&");
    const char *eq = memchr(q, '=', len);
    size_t klen = eq ? (size_t)(eq - q) : len;
    char *key = strndup(q, klen);
    char *value = eq ? strndup(eq + 1, len - klen - 1) : strdup("");
    if (!key || !value) {
      free(key);
      free(value);
      return;
    }
    r->query_key[r->nquery] = key;
    r->query_value[r->nquery] = value;
    r->nquery++;
    q += len;
    if (*q == '&') q++;
  }
}

/*
 * The same steps as http_access() and http_run_deferred(), minus the
 * connection: no worker hand-off, no suspend/resume, no response queued.
 * Multipart forms cannot be parsed here (libmicrohttpd's post processor
 * needs a connection): http_form_new() returns NULL, which the job upload
 * answers with 415.  Returns -1 when the request cannot be allocated.
 */
int http_request_run_detached(nimbus_server_t *srv, const char *method, const char *path,
                              const char *content_type, const char *authorization, const void *body,
                              size_t len, size_t chunk) {
  return http_request_run_detached_inspect(srv, method, path, content_type, authorization, body,
                                           len, chunk, NULL, NULL);
}

int http_request_run_detached_inspect(nimbus_server_t *srv, const char *method, const char *path,
                                      const char *content_type, const char *authorization,
                                      const void *body, size_t len, size_t chunk,
                                      http_detached_inspect_fn inspect, void *arg) {
  size_t plen = strcspn(path, "?");
  http_request_t *r = http_request_alloc(srv, method, path, plen);
  if (!r) return -1;
  struct http_internal *in = r->in;
  if (path[plen] == '?') http_detached_query(r, path + plen + 1);
  snprintf(r->content_type, sizeof r->content_type, "%s", content_type ? content_type : "");
  snprintf(r->authorization, sizeof r->authorization, "%s", authorization ? authorization : "");
  snprintf(r->host, sizeof r->host, "localhost");
  snprintf(r->peer, sizeof r->peer, "127.0.0.1");
  r->content_length = (int64_t)len;
  r->tls = srv->tls;
  r->handler = routes_match(r->method, r->path);
  r->op_name = r->handler->name;

  if (chunk == 0) chunk = len ? len : 1;
  for (size_t off = 0; off < len;) {
    size_t n = len - off < chunk ? len - off : chunk;
    if (!in->discarding && r->handler->body && !r->handler->body(r, (const char *)body + off, n))
      in->discarding = true;
    off += n;
    if (in->deferred) {
      void (*fn)(http_request_t * r) = in->deferred;
      in->deferred = NULL;
      fn(r);
    }
  }
  r->handler->finish(r);
  if (r->status == 0) http_respond_problem(r, 500, "Internal Server Error", NULL);
  /* (handlers never park here: http_request_can_park() is false) */

  int status = r->status;
  if (srv->metrics)
    metrics_request(srv->metrics, r->op_name, r->status, routes_ipp_status(r),
                    http_request_seconds(r));
  if (inspect) inspect(r, arg);
  http_request_free(r);
  return status;
}
