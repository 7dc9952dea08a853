/*
 * routes.c: the path table of nimbusd, and the small built-in handlers
 * (/healthz, /metrics, 404); / and /assets/ go to the web console's
 * files (console/console-static.c).
 *
 * /healthz is answered on the event thread (routes_on_event_thread()),
 * never through the worker queue, so it answers while every worker is busy
 * (for example hashing passwords); it therefore must not block: the store
 * is asked without waiting, and a busy store is a live one.
 */
#include "routes.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "console-static.h"
#include "diskspace.h"
#include "ipp-server.h"
#include "metrics.h"
#include "notify.h"
#include "oauth-http.h"

static void routes_health_finish(http_request_t *r) {
  if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
    http_response_header(r, "Allow", "GET, HEAD");
    http_respond_problem(r, 405, "Method Not Allowed", NULL);
    return;
  }
  static atomic_int last_version; /* what the store said last (a busy store is alive) */
  int version = store_schema_version_nowait(r->srv->store);
  if (version == 0) version = atomic_load(&last_version);
  if (version == 0) version = store_schema_version(r->srv->store); /* once, at the first probe */
  if (version > 0) atomic_store(&last_version, version);
  if (version <= 0) {
    http_respond_problem(r, 503, "Service Unavailable", "the store does not answer");
    return;
  }
  char reason[256];
  if (!disk_space_check(r->srv, reason, sizeof reason)) { /* uploads would fail */
    http_respond_problem(r, 503, "Service Unavailable", reason);
    return;
  }
  json_t *doc = json_pack("{s:s, s:i, s:s}", "status", "ok", "schema_version", version, "version",
                          NIMBUS_VERSION);
  http_respond_json(r, 200, doc);
}

static void routes_metrics_finish(http_request_t *r) {
  size_t len = 0;
  char *text = metrics_render(r->srv->metrics, r->srv->store,
                              r->srv->notify ? notify_parked_count(r->srv->notify) : 0, &len);
  if (!text) {
    http_respond_problem(r, 500, "Internal Server Error", "could not render metrics");
    return;
  }
  http_respond_owned(r, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
}

static void routes_not_found_finish(http_request_t *r) {
  http_respond_problem(r, 404, "Not Found", "no such resource");
}

static const http_handler_t routes_health = {"healthz", NULL, routes_health_finish, NULL};
static const http_handler_t routes_metrics = {"metrics", NULL, routes_metrics_finish, NULL};
static const http_handler_t routes_not_found = {"not-found", NULL, routes_not_found_finish, NULL};

const http_handler_t *routes_match(const char *method, const char *path) {
  (void)method;
  if (strncmp(path, "/ipp/print/", 11) == 0) return &ipp_handler;
  if (strcmp(path, "/api/v1") == 0 || strncmp(path, "/api/v1/", 8) == 0) return &api_handler;
  if (strcmp(path, "/ipp/system") == 0) return &ipp_handler;
  if (strcmp(path, "/healthz") == 0) return &routes_health;
  if (strcmp(path, "/metrics") == 0) return &routes_metrics;
  if (oauth_http_path(path)) return &oauth_http_handler; /* OAuth AS (docs/FEDERATION.md §2.1) */
  if (console_static_path(path)) return &console_static_handler;
  return &routes_not_found;
}

bool routes_on_event_thread(const http_handler_t *h) {
  return h == &routes_health;
}

int routes_ipp_status(const http_request_t *r) {
  if (r->handler != &ipp_handler) return -1;
  return ipp_server_status(r);
}
