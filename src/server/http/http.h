/*
 * http.h: nimbusd's HTTP front (libmicrohttpd, epoll thread pool) and the
 * request context every handler works on.
 *
 * The life of a request:
 *   1. headers arrive: the router picks an http_handler_t by path; the
 *      request context copies what handlers need (headers, query, peer).
 *   2. body chunks arrive on the event thread: handler->body() consumes
 *      them without blocking (it may append to a blob writer).  It may call
 *      http_request_defer() to run a slow step (auth, database) on a worker
 *      while the connection is suspended; feeding resumes afterwards.
 *   3. the body is complete: handler->finish() runs on a worker thread and
 *      must set the response with one of the http_respond_*() calls.
 *   4. the response is sent; handler->cleanup() frees handler state, also
 *      when the client went away in the middle (abort partial files there).
 * Handlers never touch libmicrohttpd types.
 */
#ifndef NIMBUS_HTTP_H
#define NIMBUS_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "auth.h"
#include "server.h"

typedef struct http_request http_request_t;

typedef struct {
  const char *name; /* for logs and metrics, e.g. "ipp", "api" */
  /* Consume a body chunk (event thread).  Return false to stop reading
   * the body: the rest is discarded and finish() runs as usual. */
  bool (*body)(http_request_t *r, const char *data, size_t len);
  /* Produce the response (worker thread). */
  void (*finish)(http_request_t *r);
  /* Free handler state (any thread); r->handler_state may be NULL. */
  void (*cleanup)(http_request_t *r);
} http_handler_t;

#define HTTP_MAX_QUERY 32
/* Response headers a handler may add: enough for a console page's CSP,
 * nosniff, Referrer-Policy, X-Frame-Options, Cache-Control, ETag and
 * Set-Cookie, with room to spare. */
#define HTTP_MAX_RESP_HEADERS 12

struct http_request {
  nimbus_server_t *srv;
  char id[17]; /* request id: 16 hex chars */
  char method[16];
  char path[1024]; /* URL path, percent-decoded by libmicrohttpd */
  char content_type[128];
  char authorization[2048];
  char host[256];
  char peer[64]; /* client address as text */
  char user_agent[128];
  char session[128]; /* X-Nimbus-Session: a panel session token (api-device.c) */
  char signature[512]; /* Stripe-Signature: a payment webhook's (api-payments.c) */
  /* X-Nimbus-Sender, -Timestamp, -Signature: the contract webhook's
   * (api-contract-webhook.c); "" when absent or longer */
  char nimbus_sender[128];
  char nimbus_timestamp[32];
  char nimbus_signature[128];
  /* Cookie: only the nimbus_session value, when it is shaped like a
   * session secret (web-session.h); "" otherwise. */
  char cookie_session[64];
  char csrf_token[64];     /* X-CSRF-Token ("" when absent or longer) */
  char if_none_match[128]; /* If-None-Match ("" when absent or longer) */
  char range[64];          /* Range ("" when absent or longer): package downloads */
  bool console_client;     /* X-Nimbus-Console: 1 (the web console's own calls) */
  /* served over TLS, or through a trusted proxy (--trust-proxy) that says
   * X-Forwarded-Proto: https */
  bool tls;
  int64_t content_length; /* -1 when unknown (chunked) */
  int nquery;
  char *query_key[HTTP_MAX_QUERY];
  char *query_value[HTTP_MAX_QUERY];

  const http_handler_t *handler;
  void *handler_state;
  const char *op_name; /* operation label for metrics and logs */
  nimbus_auth_t auth;  /* filled by handlers that authenticate */

  /* response under construction (owned by http.c) */
  int status;
  char *resp_body;
  size_t resp_len;
  char resp_type[96];
  int nresp_headers;
  char resp_header_name[HTTP_MAX_RESP_HEADERS][64];
  char resp_header_value[HTTP_MAX_RESP_HEADERS][512];
  bool resp_close; /* close the connection after responding */
  /* internal */
  struct http_internal *in;
};

/* Ask that fn(r) runs on a worker before more body is fed (call from body()). */
void http_request_defer(http_request_t *r, void (*fn)(http_request_t *r));

/*
 * Long-polls.  finish() may call http_request_park() instead of setting a
 * response: the connection then stays suspended, costing memory but no
 * thread, until some thread calls http_request_wake(r, fn); fn(r) then runs
 * on a worker and sets the response.  The request stays valid until woken,
 * so whoever parks it must guarantee a wake (a timeout, shutdown).
 * Detached requests (the testing seam) cannot park.
 */
bool http_request_can_park(const http_request_t *r);
void http_request_park(http_request_t *r);
void http_request_wake(http_request_t *r, void (*fn)(http_request_t *r));

/*
 * Held long-polls (plain HTTP/1.1 keep-alive connections, not
 * libmicrohttpd's TLS).  Instead of parking, finish() may take the
 * connection out of the HTTP engine: http_request_hold() returns a handle
 * that costs about 150 bytes and no thread; finish() then sets no
 * response, the request context is freed as usual, and the handler's own
 * small record answers later, exactly once, with http_held_answer() from
 * any thread (body malloc'd, taken; close: close the connection after it;
 * ipp_status for metrics, -1 when none).  The connection then serves the
 * client's next request as usual.  NULL when the request cannot be held
 * (TLS, HTTP/1.0, Connection: close, draining, at --max-connections held,
 * the testing seam): park or answer instead.
 */
typedef struct http_held http_held_t;
http_held_t *http_request_hold(http_request_t *r);
void http_held_answer(http_held_t *held, int status, const char *content_type, char *body,
                      size_t len, bool close, int ipp_status);

/* Query argument by name; NULL when absent. */
const char *http_query(const http_request_t *r, const char *name);

/* Set the response: body is copied. */
void http_respond(http_request_t *r, int status, const char *content_type, const void *body,
                  size_t len);
/* Take ownership of a malloc'd body instead of copying it. */
void http_respond_owned(http_request_t *r, int status, const char *content_type, char *body,
                        size_t len);
/* Where a streamed response body comes from.  read copies up to len bytes
 * from offset into buf and returns how many (at least 1 before the end;
 * 0 or -1 ends the response with an error); close releases ctx.  Both run
 * on an event thread, so read must not block for long (local disk or a
 * bounded chunk). */
typedef struct {
  ssize_t (*read)(void *ctx, int64_t offset, void *buf, size_t len);
  void (*close)(void *ctx);
  void *ctx;
} http_body_source_t;
/* A response of prefix (malloc'd, owned) followed by len bytes of src
 * (owned: closed after sending, or when the response is dropped),
 * streamed in chunks without holding the body in memory. */
void http_respond_stream(http_request_t *r, int status, const char *content_type, char *prefix,
                         size_t prefix_len, const http_body_source_t *src, int64_t len);
/* RFC 9457 problem document; detail may be NULL. */
void http_respond_problem(http_request_t *r, int status, const char *title, const char *detail);
/* The same with a problem type URI instead of about:blank (a refusal a
 * client tells apart, e.g. "urn:nimbus:problem:account-closed"). */
void http_respond_problem_typed(http_request_t *r, int status, const char *type, const char *title,
                                const char *detail);
/* JSON body; takes the reference to `doc`. */
void http_respond_json(http_request_t *r, int status, json_t *doc);
/* Add a response header (at most HTTP_MAX_RESP_HEADERS; more are dropped). */
void http_response_header(http_request_t *r, const char *name, const char *value);

/*
 * Streaming multipart/form-data (and x-www-form-urlencoded) parsing with
 * libmicrohttpd's post processor.  cb receives each field's data in pieces
 * (off = offset within the field); return false to stop parsing.
 * Create it in body() on the first chunk; NULL when the request's
 * Content-Type is not a form.
 */
typedef struct http_form http_form_t;
typedef bool (*http_form_cb)(void *ctx, const char *field, const char *filename,
                             const char *content_type, const char *data, size_t len, uint64_t off);
http_form_t *http_form_new(http_request_t *r, http_form_cb cb, void *ctx);
/* Feed a body chunk; false on a malformed form or when cb stopped. */
bool http_form_feed(http_form_t *f, const char *data, size_t len);
/* Free the parser; NULL is ignored. */
void http_form_free(http_form_t *f);

/* Start serving; NULL + err on failure (port in use, bad TLS files...). */
typedef struct http_server http_server_t;
http_server_t *http_start(nimbus_server_t *srv, char *err, size_t errlen);
/* Stop accepting, let in-flight requests finish, free everything. */
void http_stop(http_server_t *h);
/* The port actually bound (useful with port 0). */
int http_port(const http_server_t *h);
/* The libmicrohttpd version in use (static text), for `nimbusd --version`. */
const char *http_library_version(void);

/* Testing seam (fuzzers, unit tests): run one request through the handler
 * for `path` without libmicrohttpd, synchronously on the calling thread:
 * body chunks of at most `chunk` bytes, deferred steps and finish() run
 * inline.  Returns the HTTP status (the response is discarded). */
int http_request_run_detached(nimbus_server_t *srv, const char *method, const char *path,
                              const char *content_type, const char *authorization, const void *body,
                              size_t len, size_t chunk);
/* The same, and `inspect` (when not NULL) sees the finished request (its
 * resp_type, resp_body, resp_len) before it is freed. */
typedef void (*http_detached_inspect_fn)(const http_request_t *r, void *arg);
int http_request_run_detached_inspect(nimbus_server_t *srv, const char *method, const char *path,
                                      const char *content_type, const char *authorization,
                                      const void *body, size_t len, size_t chunk,
                                      http_detached_inspect_fn inspect, void *arg);

#endif
