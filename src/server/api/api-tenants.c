/*
 * api-tenants.c: /api/v1/tenants (operators only; the route table in api.c
 * enforces it).  The tenant "system" holds the operators: it cannot be
 * created, renamed or deleted through the API.
 *
 *   GET    /tenants          → {tenants:[tenant...]}
 *   POST   /tenants          {name, display_name?, max_document_size?,
 *                             max_held_jobs_per_user?, retention_hours?,
 *                             panel_login?, unknown_user_names?,
 *                             suspended?} → 201 tenant
 *   GET    /tenants/{name}   → tenant
 *   PATCH  /tenants/{name}   {display_name?, max_document_size?,
 *                             max_held_jobs_per_user?, retention_hours?,
 *                             panel_login?, unknown_user_names?,
 *                             suspended?} → tenant
 *   DELETE /tenants/{name}   → 204; its users, queues, tokens and jobs go
 *                            with it, and its document blobs are swept.
 * Limits of 0 mean "the server default".  retention_hours: unreleased
 * jobs expire after this many hours (1..8760; 0 = --retention-hours);
 * panel_login: how users sign in at a printer's panel, "password" or
 * "pin" (their panel PIN, PROTOCOL.md §7.2); unknown_user_names: a job
 * for a name that is neither a user nor an alias is refused ("refuse",
 * the default) or held without an owner ("hold", PROTOCOL.md §7.1);
 * suspended: true refuses the tenant's users and printers everywhere
 * (auth.h, device.h) until set false again; "system" is never suspended
 * (400).  A PATCH that changes it is audited as tenant-suspended or
 * tenant-resumed (other changes as tenant-updated).
 */
#include <stdlib.h>
#include <string.h>

#include "api-private.h"
#include "auth.h"
#include "blob.h"
#include "log.h"

#define API_MAX_HELD_JOBS_LIMIT 1000000 /* as the max-held-jobs option */
#define API_RETENTION_HOURS_MAX 8760    /* one year */

static const char *const tenant_fields[] = {"name",
                                            "display_name",
                                            "max_document_size",
                                            "max_held_jobs_per_user",
                                            "retention_hours",
                                            "panel_login",
                                            "unknown_user_names",
                                            "suspended",
                                            NULL};

static bool tenant_list_cb(const nimbus_tenant_t *t, void *ctx) {
  return api_list_append(ctx, api_tenant_json(t));
}

void api_tenants_list(api_ctx_t *c) {
  api_list_t l = {c, json_array(), false};
  store_status_t s = l.arr ? store_tenant_list(c->srv->store, tenant_list_cb, &l) : STORE_OK;
  api_list_respond(&l, s, "tenants", "tenant");
}

/* Apply the optional members of the body to t; false has responded. */
static bool tenant_apply_body(api_ctx_t *c, nimbus_tenant_t *t) {
  const char *display_name;
  json_int_t v;
  bool present;
  if (!api_body_string(c, "display_name", false, NIMBUS_TEXT_MAX - 1, &display_name)) return false;
  if (display_name) {
    if (!api_text_valid(display_name, NIMBUS_TEXT_MAX - 1)) {
      api_problem(c->r, 400, "'display_name' must not contain control characters");
      return false;
    }
    snprintf(t->display_name, sizeof t->display_name, "%s", display_name);
  }
  if (!api_body_integer(c, "max_document_size", 0, INT64_MAX, &v, &present)) return false;
  if (present) t->max_document_size = (int64_t)v;
  if (!api_body_integer(c, "max_held_jobs_per_user", 0, API_MAX_HELD_JOBS_LIMIT, &v, &present))
    return false;
  if (present) t->max_held_jobs_per_user = (int)v;
  if (!api_body_integer(c, "retention_hours", 0, API_RETENTION_HOURS_MAX, &v, &present))
    return false;
  if (present) t->retention_hours = (int)v;
  const char *login;
  if (!api_body_string(c, "panel_login", false, 16, &login)) return false;
  if (login) {
    if (strcmp(login, "password") != 0 && strcmp(login, "pin") != 0) {
      api_problem(c->r, 400, "'panel_login' must be \"password\" or \"pin\"");
      return false;
    }
    snprintf(t->panel_login, sizeof t->panel_login, "%s", login);
  }
  const char *unknown;
  if (!api_body_string(c, "unknown_user_names", false, 16, &unknown)) return false;
  if (unknown) {
    if (strcmp(unknown, "refuse") != 0 && strcmp(unknown, "hold") != 0) {
      api_problem(c->r, 400, "'unknown_user_names' must be \"refuse\" or \"hold\"");
      return false;
    }
    snprintf(t->unknown_user_names, sizeof t->unknown_user_names, "%s", unknown);
  }
  bool suspended;
  if (!api_body_bool(c, "suspended", &suspended, &present)) return false;
  if (present) {
    if (suspended && api_tenant_name_reserved(t->name)) {
      api_problem(c->r, 400, "'suspended': the tenant '%s' cannot be suspended", API_SYSTEM_TENANT);
      return false;
    }
    t->suspended = suspended;
  }
  return true;
}

void api_tenants_create(api_ctx_t *c) {
  nimbus_tenant_t t;
  const char *name;
  memset(&t, 0, sizeof t);
  if (!api_body_only(c, tenant_fields) || !api_body_string(c, "name", true, 255, &name)) return;
  if (!api_name_valid(name)) {
    api_problem(c->r, 400, "'name' must be 1 to 63 of A-Z a-z 0-9 . _ -, not starting with . or -");
    return;
  }
  if (api_tenant_name_reserved(name)) {
    api_problem(c->r, 400, "'name': the tenant name '%s' is reserved", API_SYSTEM_TENANT);
    return;
  }
  snprintf(t.name, sizeof t.name, "%s", name);
  snprintf(t.display_name, sizeof t.display_name, "%s", name);
  snprintf(t.panel_login, sizeof t.panel_login, "password");
  snprintf(t.unknown_user_names, sizeof t.unknown_user_names, "refuse");
  if (!tenant_apply_body(c, &t)) return;

  api_audit_t au;
  store_status_t s = store_tenant_insert_audited(
      c->srv->store, &t, api_audit_of(c, &au, "tenant-created", "tenant=%s", t.name));
  if (s == STORE_CONFLICT) {
    api_problem(c->r, 409, "a tenant named '%s' already exists", t.name);
    return;
  }
  if (s != STORE_OK) {
    api_respond_store(c, s, "tenant", NULL);
    return;
  }
  log_event(LOG_INFO, c->r->id, "tenant created", "tenant", t.name, "by", c->actor, (char *)NULL);
  api_respond(c, 201, api_tenant_json(&t));
}

void api_tenant_get(api_ctx_t *c) {
  nimbus_tenant_t t;
  store_status_t s = store_tenant_get_by_name(c->srv->store, c->param, &t);
  if (s != STORE_OK) {
    api_respond_store(c, s, "tenant", c->param);
    return;
  }
  api_respond(c, 200, api_tenant_json(&t));
}

void api_tenant_update(api_ctx_t *c) {
  nimbus_tenant_t t;
  const char *name;
  if (!api_body_only(c, tenant_fields) || !api_body_string(c, "name", false, 255, &name)) return;
  store_status_t s = store_tenant_get_by_name(c->srv->store, c->param, &t);
  if (s != STORE_OK) {
    api_respond_store(c, s, "tenant", c->param);
    return;
  }
  if (name && strcmp(name, t.name) != 0) {
    api_problem(c->r, 400, "'name': a tenant cannot be renamed");
    return;
  }
  bool was_suspended = t.suspended;
  if (!tenant_apply_body(c, &t)) return;
  const char *action = t.suspended == was_suspended ? "tenant-updated"
                       : t.suspended                ? "tenant-suspended"
                                                    : "tenant-resumed";
  api_audit_t au;
  if ((s = store_tenant_update_audited(
           c->srv->store, &t, api_audit_of(c, &au, action, "tenant=%s", t.name))) != STORE_OK) {
    api_respond_store(c, s, "tenant", c->param);
    return;
  }
  /* a suspension ends the tenant's console sessions (docs/CONSOLE.md §1.3);
   * session checks refuse a suspended tenant anyway, so a failure here
   * leaves nothing open */
  if (t.suspended && !was_suspended &&
      store_web_session_delete_tenant(c->srv->store, t.id) != STORE_OK)
    log_event(LOG_ERROR, c->r->id, "ending the tenant's sessions failed", "tenant", t.name,
              (char *)NULL);
  if (t.suspended != was_suspended)
    log_event(LOG_INFO, c->r->id, t.suspended ? "tenant suspended" : "tenant resumed", "tenant",
              t.name, "by", c->actor, (char *)NULL);
  api_respond(c, 200, api_tenant_json(&t));
}

/* User ids of the tenant being deleted, to forget their cached logins. */
typedef struct {
  nimbus_id_t *ids;
  size_t n, cap;
  bool failed;
} tenant_user_ids_t;

static bool tenant_user_id_cb(const nimbus_user_t *u, void *ctx) {
  tenant_user_ids_t *l = ctx;
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 64;
    nimbus_id_t *grown = realloc(l->ids, cap * sizeof *grown);
    if (!grown) {
      l->failed = true;
      return false;
    }
    l->ids = grown;
    l->cap = cap;
  }
  l->ids[l->n++] = u->id;
  return true;
}

void api_tenant_delete(api_ctx_t *c) {
  nimbus_tenant_t t;
  tenant_user_ids_t users = {0};
  store_status_t s = store_tenant_get_by_name(c->srv->store, c->param, &t);
  if (s != STORE_OK) {
    api_respond_store(c, s, "tenant", c->param);
    goto done;
  }
  if (api_tenant_name_reserved(t.name)) {
    api_problem(c->r, 403, "the tenant '%s' cannot be deleted", API_SYSTEM_TENANT);
    goto done;
  }
  if ((s = store_user_list(c->srv->store, t.id, tenant_user_id_cb, &users)) != STORE_OK ||
      users.failed) {
    api_respond_store(c, users.failed ? STORE_ERROR : s, "tenant", c->param);
    goto done;
  }
  api_audit_t au;
  if ((s = store_tenant_delete_audited(
           c->srv->store, t.id, api_audit_of(c, &au, "tenant-deleted", "tenant=%s", t.name))) !=
      STORE_OK) {
    api_respond_store(c, s, "tenant", c->param);
    goto done;
  }
  for (size_t i = 0; i < users.n; i++) auth_cache_forget_user(c->srv->auth_cache, users.ids[i]);
  int removed = intake_sweep_orphans(c->srv, false);
  log_event(LOG_INFO, c->r->id, "tenant deleted", "tenant", t.name, "by", c->actor, "blobs_removed",
            LOG_INT(removed), (char *)NULL);
  api_respond_no_content(c);
done:
  free(users.ids);
}
