/*
 * api-packages.c: firmware and application packages (docs/PROVISIONING.md
 * §3, PROTOCOL.md §4.15):
 *   POST packages?kind=firmware|application&name=N&version=V  raw bytes
 *   GET packages    GET|DELETE packages/{id}
 * Operators and the admins of a dealer tenant only; a package belongs to
 * the caller's tenant (its owner).  The upload streams: body() [event
 * thread] keeps the first bytes while the caller is authenticated on a
 * worker (as api-jobs-upload.c), then hands every chunk to
 * provisioning/package.c, which writes the blob and hashes it; past
 * --max-package-size reading stops (413).  DELETE answers 409 while a
 * live contract names the package.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api-private.h"
#include "log.h"
#include "package.h"

#define PENDING_MAX ((size_t)256 * 1024) /* body kept while authenticating */

struct api_pkg_upload {
  http_request_t *r;
  bool auth_deferred, authenticated, refused;
  bool failed; /* out of memory, or the blob could not be written */
  char *pending;
  size_t pending_len;
  package_upload_t *up;
};

static bool count_one(nimbus_id_t customer, nimbus_id_t dealer, void *ctx) {
  (void)customer;
  (void)dealer;
  (*(int *)ctx)++;
  return false;
}

/* May the authenticated caller of r manage packages (operator, or an
 * admin of a tenant that is some customer's dealer)? */
static bool may_manage(http_request_t *r) {
  if (r->auth.user.role == NIMBUS_ROLE_OPERATOR && !strcmp(r->auth.tenant.name, API_SYSTEM_TENANT))
    return true;
  if (r->auth.user.role != NIMBUS_ROLE_TENANT_ADMIN) return false;
  int n = 0;
  return store_dealer_list(r->srv->store, r->auth.tenant.id, count_one, &n) == STORE_OK && n > 0;
}

static bool query_valid(http_request_t *r) {
  return package_kind_valid(http_query(r, "kind")) && package_text_valid(http_query(r, "name")) &&
         package_text_valid(http_query(r, "version"));
}

static bool feed(api_pkg_upload_t *u, const char *data, size_t len) {
  if (!u->up || u->failed) return false;
  if (!package_upload_write(u->up, data, len)) {
    if (!package_upload_too_large(u->up)) u->failed = true;
    return false;
  }
  return true;
}

static void drop_pending(api_pkg_upload_t *u) {
  free(u->pending);
  u->pending = NULL;
  u->pending_len = 0;
}

/* Deferred from body() [worker]: authenticate, check the role and the
 * query, then start the blob with the bytes kept so far. */
static void pkg_authenticate(http_request_t *r) {
  api_state_t *s = r->handler_state;
  api_pkg_upload_t *u = s->pkg;
  api_authenticate(r);
  u->authenticated = true;
  if (r->auth.result != AUTH_OK || api_csrf_refused(r) || r->auth.scope[0] || !may_manage(r) ||
      !query_valid(r)) {
    u->refused = true; /* finish() answers */
  } else if (!(u->up = package_upload_begin(r->srv->blobs, r->srv->cfg.max_package_size))) {
    u->failed = true;
  } else if (u->pending) {
    feed(u, u->pending, u->pending_len);
  }
  drop_pending(u);
}

api_pkg_upload_t *api_pkg_upload_new(http_request_t *r) {
  api_pkg_upload_t *u = calloc(1, sizeof *u);
  if (u) u->r = r;
  return u;
}

bool api_pkg_upload_body(http_request_t *r, api_pkg_upload_t *u, const char *data, size_t len) {
  if (u->refused || u->failed) return false;
  if (u->authenticated) return feed(u, data, len);
  if (len > PENDING_MAX - u->pending_len) {
    u->failed = true;
    return false;
  }
  char *grown = realloc(u->pending, u->pending_len + len + 1);
  if (!grown) {
    u->failed = true;
    return false;
  }
  memcpy(grown + u->pending_len, data, len);
  u->pending = grown;
  u->pending_len += len;
  if (!u->auth_deferred) {
    u->auth_deferred = true;
    http_request_defer(r, pkg_authenticate);
  }
  return true;
}

bool api_pkg_upload_authenticated(const api_pkg_upload_t *u) {
  return u->authenticated;
}

void api_pkg_upload_free(api_pkg_upload_t *u) {
  if (!u) return;
  package_upload_abort(u->up);
  drop_pending(u);
  free(u);
}

static json_t *package_json(const nimbus_package_t *p) {
  char created[32];
  api_time_format(p->created_at, created);
  return json_pack("{s:I, s:s, s:s, s:s, s:I, s:s, s:s}", "id", (json_int_t)p->id, "kind", p->kind,
                   "name", p->name, "version", p->version, "size", (json_int_t)p->size, "sha256",
                   p->sha256, "created_at", created);
}

/* 404 for callers who may not manage packages; false has responded. */
static bool check_role(api_ctx_t *c) {
  if (may_manage(c->r)) return true;
  api_problem(c->r, 404, "no such API resource");
  return false;
}

void api_packages_upload(api_ctx_t *c) {
  api_pkg_upload_t *u = c->state ? c->state->pkg : NULL;
  if (!check_role(c)) return;
  if (!package_kind_valid(http_query(c->r, "kind"))) {
    api_problem_with(c, 400, "Bad Request", "?kind= is firmware or application", "member",
                     json_string("kind"));
    return;
  }
  if (!package_text_valid(http_query(c->r, "name")) ||
      !package_text_valid(http_query(c->r, "version"))) {
    api_problem_with(
        c, 400, "Bad Request", "?name= and ?version= are 1 to 64 printable characters", "member",
        json_string(package_text_valid(http_query(c->r, "name")) ? "version" : "name"));
    return;
  }
  if (!u || !u->up) {
    if (u && u->failed)
      api_problem(c->r, 500, "the package could not be stored");
    else
      api_problem(c->r, 400, "the package's bytes are the request body (application/octet-stream)");
    return;
  }
  if (package_upload_too_large(u->up)) {
    api_problem(c->r, 413, "the package is larger than %lld bytes",
                (long long)c->srv->cfg.max_package_size);
    return;
  }
  if (u->failed) {
    api_problem(c->r, 500, "the package could not be stored");
    return;
  }
  if (package_upload_size(u->up) == 0) {
    api_problem(c->r, 400, "the package is empty");
    return;
  }
  nimbus_package_t p = {.owner_tenant_id = c->r->auth.tenant.id};
  snprintf(p.kind, sizeof p.kind, "%s", http_query(c->r, "kind"));
  snprintf(p.name, sizeof p.name, "%s", http_query(c->r, "name"));
  snprintf(p.version, sizeof p.version, "%s", http_query(c->r, "version"));
  package_upload_t *up = u->up;
  u->up = NULL;
  if (!package_upload_finish(up, &p)) { /* fsync, move into place */
    api_respond_disk_full(c);
    return;
  }
  api_audit_t au;
  const store_audit_t *a =
      api_audit_of(c, &au, "package.upload", "kind=%s name=%s version=%s size=%lld sha256=%s",
                   p.kind, p.name, p.version, (long long)p.size, p.sha256);
  au.rec.tenant_id = c->r->auth.tenant.id;
  au.rec.id_key = "id";
  store_status_t s = store_package_insert(c->srv->store, &p, a);
  if (s != STORE_OK) {
    blob_delete(c->srv->blobs, p.blob_key);
    api_respond_store(c, s, "package", NULL);
    return;
  }
  log_event(LOG_INFO, c->r->id, "package uploaded", "tenant", c->r->auth.tenant.name, "id",
            LOG_INT(p.id), "kind", p.kind, "name", p.name, "version", p.version, "size",
            LOG_INT(p.size), (char *)NULL);
  char location[64];
  snprintf(location, sizeof location, "/api/v1/packages/%lld", (long long)p.id);
  http_response_header(c->r, "Location", location);
  api_respond(c, 201, package_json(&p));
}

static bool list_one(const nimbus_package_t *p, void *ctx) {
  return api_list_append(ctx, package_json(p));
}

void api_packages_list(api_ctx_t *c) {
  if (!check_role(c)) return;
  api_list_t l = {.c = c, .arr = json_array()};
  store_status_t s =
      l.arr ? store_package_list(c->srv->store, c->r->auth.tenant.id, list_one, &l) : STORE_ERROR;
  api_list_respond(&l, s, "packages", "package");
}

/* The caller's package c->id into *p; false has responded (404). */
static bool load(api_ctx_t *c, nimbus_package_t *p) {
  if (!check_role(c)) return false;
  store_status_t s = store_package_get(c->srv->store, c->id, p);
  if (s == STORE_OK && p->owner_tenant_id != c->r->auth.tenant.id) s = STORE_NOT_FOUND;
  if (s != STORE_OK) {
    api_respond_store(c, s, "package", NULL);
    return false;
  }
  return true;
}

void api_package_get(api_ctx_t *c) {
  nimbus_package_t p;
  if (load(c, &p)) api_respond(c, 200, package_json(&p));
}

void api_package_delete(api_ctx_t *c) {
  nimbus_package_t p;
  if (!load(c, &p)) return;
  api_audit_t au;
  const store_audit_t *a = api_audit_of(c, &au, "package.delete", "id=%lld name=%s version=%s",
                                        (long long)p.id, p.name, p.version);
  au.rec.tenant_id = p.owner_tenant_id;
  store_status_t s =
      store_package_delete(c->srv->store, p.owner_tenant_id, p.id, (int64_t)time(NULL), a);
  if (s == STORE_CONFLICT) {
    api_problem(c->r, 409, "a contract that is not canceled or ended names this package");
    return;
  }
  if (s != STORE_OK) {
    api_respond_store(c, s, "package", NULL);
    return;
  }
  blob_delete(c->srv->blobs, p.blob_key);
  api_respond_no_content(c);
}
