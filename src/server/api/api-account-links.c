/*
 * api-account-links.c: REST for account links, a user's accounts on
 * other print services (docs/FEDERATION.md §2.2, PROTOCOL.md §4.13):
 *
 *   GET    /api/v1/me/account-links                  the user's links
 *   POST   /api/v1/me/account-links {"service_url"}  → 201 pending link
 *   GET    /api/v1/me/account-links/{id}
 *   DELETE /api/v1/me/account-links/{id}             → 204, token forgotten
 *   POST   /api/v1/me/account-links/{id}/relink      → 200 pending again
 *   GET    /api/v1/device/account-links              the panel session's user
 *   POST   /api/v1/device/account-links {"service_url"}
 *   POST   /api/v1/device/account-links/{id}/relink
 *
 * An admin of the tenant may add ?user=NAME to act on another user's
 * links.  The sealed token and device code never leave
 * federation/account-link.c; a record shows the user code, the
 * verification URIs and their QR code only while the link is pending.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account-link.h"
#include "api-private.h"
#include "qr-svg.h"

/* The record of l (docs/FEDERATION.md §2.2); NULL: no memory. */
static json_t *account_link_json(const nimbus_account_link_t *l) {
  json_t *o = json_pack(
      "{s:I, s:o, s:s, s:o, s:o, s:o, s:o}", "id", (json_int_t)l->id, "service_url",
      api_json_text(l->service_url), "status", account_link_status_name(l->status), "remote_user",
      l->remote_user[0] ? api_json_text(l->remote_user) : json_null(), "linked_at",
      api_json_time(l->linked_at), "last_checked_at", api_json_time(l->last_checked_at),
      "last_error", l->last_error[0] ? api_json_text(l->last_error) : json_null());
  if (!o || l->status != NIMBUS_LINK_PENDING || !l->user_code[0]) return o;
  const char *complete =
      l->verification_uri_complete[0] ? l->verification_uri_complete : l->verification_uri;
  char *svg = qr_svg(complete, NULL);
  bool ok = svg && json_object_set_new(o, "user_code", api_json_text(l->user_code)) == 0 &&
            json_object_set_new(o, "verification_uri", api_json_text(l->verification_uri)) == 0 &&
            json_object_set_new(o, "verification_uri_complete", api_json_text(complete)) == 0 &&
            json_object_set_new(o, "qr_svg", json_string(svg)) == 0 &&
            json_object_set_new(o, "expires_at", api_json_time(l->expires_at)) == 0;
  free(svg);
  if (!ok) {
    json_decref(o);
    return NULL;
  }
  return o;
}

/* The user acted on: the caller, or ?user= for an admin of c->tenant.
 * False has responded (400, 403, 404, 500). */
static bool target_user(api_ctx_t *c, nimbus_id_t *user_id, char *name, size_t namelen) {
  const char *q = http_query(c->r, "user");
  if (!q || !*q) {
    if (c->r->auth.tenant.id != c->tenant.id) {
      api_problem(c->r, 400, "?user= names whose links these are (another tenant's)");
      return false;
    }
    *user_id = c->r->auth.user.id;
    snprintf(name, namelen, "%s", c->r->auth.user.name);
    return true;
  }
  if (!c->is_admin) {
    api_problem(c->r, 403, "only an admin may act on another user's account links");
    return false;
  }
  nimbus_user_t u;
  store_status_t s = store_user_get_by_name(c->srv->store, c->tenant.id, q, &u);
  if (s != STORE_OK) {
    api_respond_store(c, s, "user", q);
    return false;
  }
  *user_id = u.id;
  snprintf(name, namelen, "%s", u.name);
  sodium_memzero(&u, sizeof u);
  return true;
}

/* Answer a failed account-link call. */
static void respond_result(api_ctx_t *c, alink_result_t r, const char *msg) {
  switch (r) {
    case ALINK_INVALID:
      api_problem(c->r, 400, "%s", msg);
      break;
    case ALINK_EXISTS:
      api_problem(c->r, 409, "%s", msg);
      break;
    case ALINK_NOT_FOUND:
      api_problem(c->r, 404, "no such account link");
      break;
    case ALINK_REMOTE:
      api_problem(c->r, 502, "the other service: %s", msg);
      break;
    default:
      api_problem(c->r, 500, "storage error");
      break;
  }
}

static bool link_list_add(const nimbus_account_link_t *l, void *ctx) {
  return api_list_append(ctx, account_link_json(l));
}

/* 200 {"account_links":[...]} of user_id. */
static void list_for(api_ctx_t *c, nimbus_id_t user_id) {
  api_list_t l = {c, json_array(), false};
  store_status_t s =
      store_account_link_list(c->srv->store, c->tenant.id, user_id, link_list_add, &l);
  api_list_respond(&l, s, "account_links", "account links");
}

/* Create a link for user_id from the body's service_url; 201 record.
 * fallback: the service used when the body names none (NULL: required). */
static void create_for(api_ctx_t *c, nimbus_id_t user_id, const char *fallback) {
  static const char *const fields[] = {"service_url", NULL};
  const char *url = NULL;
  if (c->body &&
      (!api_body_only(c, fields) || !api_body_string(c, "service_url", false, 448, &url)))
    return;
  if (!url) url = fallback;
  if (!url) {
    api_problem(c->r, 400, "'service_url' is required");
    return;
  }
  nimbus_account_link_t *l = calloc(1, sizeof *l);
  if (!l) {
    api_problem(c->r, 500, "out of memory");
    return;
  }
  char msg[ACCOUNT_LINK_MSG_MAX] = "";
  char actor[2 * NIMBUS_NAME_MAX + 16];
  snprintf(actor, sizeof actor, "%s", c->actor);
  alink_result_t r =
      account_link_create(c->srv, c->tenant.id, user_id, url, actor, l, msg, sizeof msg);
  if (r == ALINK_OK)
    api_respond(c, 201, account_link_json(l));
  else
    respond_result(c, r, msg);
  free(l);
}

void api_account_links_list(api_ctx_t *c) {
  nimbus_id_t uid;
  char name[NIMBUS_NAME_MAX];
  if (target_user(c, &uid, name, sizeof name)) list_for(c, uid);
}

void api_account_links_create(api_ctx_t *c) {
  nimbus_id_t uid;
  char name[NIMBUS_NAME_MAX];
  if (target_user(c, &uid, name, sizeof name)) create_for(c, uid, NULL);
}

void api_account_link_get(api_ctx_t *c) {
  nimbus_id_t uid;
  char name[NIMBUS_NAME_MAX];
  if (!target_user(c, &uid, name, sizeof name)) return;
  nimbus_account_link_t *l = calloc(1, sizeof *l);
  if (!l) {
    api_problem(c->r, 500, "out of memory");
    return;
  }
  alink_result_t r = account_link_get(c->srv, c->tenant.id, uid, c->id, l);
  if (r == ALINK_OK)
    api_respond(c, 200, account_link_json(l));
  else
    respond_result(c, r, "");
  free(l);
}

void api_account_link_delete(api_ctx_t *c) {
  nimbus_id_t uid;
  char name[NIMBUS_NAME_MAX];
  if (!target_user(c, &uid, name, sizeof name)) return;
  alink_result_t r = account_link_delete(c->srv, c->tenant.id, uid, c->id, c->actor);
  if (r == ALINK_OK)
    api_respond_no_content(c);
  else
    respond_result(c, r, "");
}

/* A new grant on link c->id of user uid; 200 the pending record. */
static void relink_for(api_ctx_t *c, nimbus_id_t uid) {
  nimbus_account_link_t *l = calloc(1, sizeof *l);
  if (!l) {
    api_problem(c->r, 500, "out of memory");
    return;
  }
  char msg[ACCOUNT_LINK_MSG_MAX] = "";
  alink_result_t r =
      account_link_relink(c->srv, c->tenant.id, uid, c->id, c->actor, l, msg, sizeof msg);
  if (r == ALINK_OK)
    api_respond(c, 200, account_link_json(l));
  else
    respond_result(c, r, msg);
  free(l);
}

void api_account_link_relink(api_ctx_t *c) {
  nimbus_id_t uid;
  char name[NIMBUS_NAME_MAX];
  if (target_user(c, &uid, name, sizeof name)) relink_for(c, uid);
}

void api_device_account_link_relink(api_ctx_t *c) {
  nimbus_panel_session_t ps;
  if (api_panel_session(c, &ps)) relink_for(c, ps.user_id);
}

void api_device_account_links_list(api_ctx_t *c) {
  nimbus_panel_session_t ps;
  if (api_panel_session(c, &ps)) list_for(c, ps.user_id);
}

/* Without service_url: the one service the tenant's remote printer links
 * reach (docs/FEDERATION.md §2.2); none or several: it is required. */
void api_device_account_links_create(api_ctx_t *c) {
  nimbus_panel_session_t ps;
  char fallback[NIMBUS_URL_MAX];
  if (!api_panel_session(c, &ps)) return;
  bool one = account_link_default_service(c->srv, c->tenant.id, fallback, sizeof fallback);
  create_for(c, ps.user_id, one ? fallback : NULL);
}
