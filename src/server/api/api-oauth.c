/*
 * api-oauth.c: the signed-in user's side of the OAuth device grant
 * (docs/FEDERATION.md §2.1; the grant logic is oauth/oauth.c):
 *
 *   GET  /oauth/device?user_code=X     → {client_id, scope, expires_at, status}
 *   POST /oauth/device/approve {user_code} → {status: "approved"}
 *   POST /oauth/device/deny    {user_code} → {status: "denied"}
 *
 * Any authentication the API takes (the console's cookie with its CSRF
 * token, Basic, a full-access token).  Unknown, used and expired codes
 * are 404; more than OAUTH_WRONG_CODES unknown ones from one user in
 * OAUTH_WRONG_WINDOW seconds are 429.  The user code is never logged nor
 * put in an answer or an audit record.
 */
#include <stdio.h>
#include <string.h>

#include "api-private.h"
#include "log.h"
#include "oauth.h"

/* Find the pending grant of user_code for the caller; false has answered
 * (400 no code, 404, 429, 500). */
static bool api_oauth_find(api_ctx_t *c, const char *user_code, nimbus_device_grant_t *g) {
  if (!user_code || !user_code[0]) {
    api_problem(c->r, 400, "'user_code' is required");
    return false;
  }
  int retry_after = 0;
  const nimbus_auth_t *a = &c->r->auth;
  switch (oauth_grant_lookup(c->srv, a->tenant.id, a->user.id, user_code, g, &retry_after)) {
    case OAUTH_LOOKUP_OK:
      return true;
    case OAUTH_LOOKUP_NOT_FOUND:
      api_problem(c->r, 404, "no pending request has this code (it may have expired or been used)");
      return false;
    case OAUTH_LOOKUP_THROTTLED: {
      char secs[16];
      snprintf(secs, sizeof secs, "%d", retry_after);
      http_response_header(c->r, "Retry-After", secs);
      api_problem(c->r, 429, "too many wrong codes; retry in %d seconds", retry_after);
      return false;
    }
    case OAUTH_LOOKUP_ERROR:
    default:
      api_problem(c->r, 500, "storage error");
      return false;
  }
}

/* The grant as the user sees it (no codes). */
static json_t *api_oauth_grant_json(const nimbus_device_grant_t *g) {
  return json_pack("{s:o, s:s, s:o, s:s}", "client_id", api_json_text(g->client_id), "scope",
                   g->scope, "expires_at", api_json_time(g->expires_at), "status", g->status);
}

void api_oauth_device_get(api_ctx_t *c) {
  nimbus_device_grant_t g;
  if (!api_oauth_find(c, http_query(c->r, "user_code"), &g)) return;
  api_respond(c, 200, api_oauth_grant_json(&g));
}

/* Approve or deny the grant of the body's user_code, audited. */
static void api_oauth_decide(api_ctx_t *c, bool approve) {
  static const char *const fields[] = {"user_code", NULL};
  const char *user_code;
  nimbus_device_grant_t g;
  if (!api_body_only(c, fields)) return;
  if (!api_body_string(c, "user_code", true, 64, &user_code)) return;
  if (!api_oauth_find(c, user_code, &g)) return;
  const char *action = approve ? "oauth.device.approve" : "oauth.device.deny";
  api_audit_t au;
  const store_audit_t *audit = api_audit_of(c, &au, action, "grant=%lld client_id=%s scope=%s",
                                            (long long)g.id, g.client_id, g.scope);
  const nimbus_auth_t *a = &c->r->auth;
  store_status_t s = oauth_grant_decide(c->srv, &g, approve, a->tenant.id, a->user.id, audit);
  if (s == STORE_NOT_FOUND) {
    api_problem(c->r, 404, "no pending request has this code (it may have expired or been used)");
    return;
  }
  if (s != STORE_OK) {
    api_respond_store(c, s, "grant", NULL);
    return;
  }
  log_event(LOG_INFO, c->r->id, approve ? "oauth grant approved" : "oauth grant denied", "grant",
            LOG_INT(g.id), "client_id", g.client_id, "by", c->actor, (char *)NULL);
  api_respond(c, 200, json_pack("{s:s}", "status", g.status));
}

void api_oauth_device_approve(api_ctx_t *c) {
  api_oauth_decide(c, true);
}

void api_oauth_device_deny(api_ctx_t *c) {
  api_oauth_decide(c, false);
}
