/*
 * api-session.c: the web console's sign-in (docs/CONSOLE.md §1.3) and
 * how every /api/v1 request is authenticated:
 *   POST   /session   public, {user: "name@tenant", password} → 201 + cookie
 *   GET    /session   the cookie's session → 200, 401 otherwise
 *   DELETE /session   sign out → 204, the cookie cleared
 * An Authorization header wins over the cookie; a request authenticated
 * by the cookie with a method other than GET/HEAD needs X-CSRF-Token.
 * The secret and the password never reach a log or an audit entry.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api-private.h"
#include "auth.h"
#include "log.h"
#include "web-session.h"

#define SESSION_CHALLENGE "Session realm=\"Nimbus Print\""
#define SESSION_COOKIE_ATTRS "; Path=/; HttpOnly; SameSite=Strict"

void api_authenticate(http_request_t *r) {
  if (r->authorization[0] || !r->cookie_session[0]) {
    auth_check(r->srv->store, r->srv->auth_cache, r->authorization, NULL, r->peer, &r->auth);
    return;
  }
  web_session_check(r->srv->store, r->cookie_session, (int64_t)time(NULL), r->srv->cfg.session_idle,
                    &r->auth, NULL);
}

bool api_csrf_refused(const http_request_t *r) {
  if (r->auth.result != AUTH_OK || !r->auth.via_session) return false;
  if (strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0) return false;
  return !web_session_csrf_ok(r->cookie_session, r->csrf_token);
}

void api_respond_csrf(http_request_t *r) {
  http_respond_problem_typed(r, 403, "urn:nimbus:problem:csrf", "Forbidden",
                             "missing or wrong CSRF token");
}

bool api_session_challenge(const http_request_t *r) {
  return r->cookie_session[0] || r->console_client;
}

/* Set-Cookie: the secret, or an empty value that expires now (secret
 * NULL).  Secure when the request came over TLS (or a trusted proxy
 * says so). */
static void session_cookie(http_request_t *r, const char *secret) {
  char v[192];
  snprintf(v, sizeof v, "%s=%s%s%s%s", WEB_SESSION_COOKIE, secret ? secret : "",
           secret ? "" : "; Max-Age=0", SESSION_COOKIE_ATTRS, r->tls ? "; Secure" : "");
  http_response_header(r, "Set-Cookie", v);
  sodium_memzero(v, sizeof v);
}

/* 401 with the Session challenge (never Basic: no browser dialog). */
static void session_unauthorized(http_request_t *r, const char *detail) {
  http_response_header(r, "WWW-Authenticate", SESSION_CHALLENGE);
  http_response_header(r, "Cache-Control", "no-store");
  api_problem(r, 401, "%s", detail);
}

/* The session's JSON: who, the CSRF token, the limits. */
static void session_respond(api_ctx_t *c, int status, const nimbus_auth_t *a, const char *secret,
                            const nimbus_web_session_t *ws) {
  char csrf[WEB_SESSION_CSRF_MAX];
  if (!web_session_csrf(secret, csrf)) {
    api_problem(c->r, 500, "could not derive the CSRF token");
    return;
  }
  json_t *doc =
      json_pack("{s:s, s:s, s:s, s:s, s:i, s:o}", "user", a->user.name, "tenant", a->tenant.name,
                "role", api_role_name(a->user.role), "csrf_token", csrf, "idle_timeout",
                c->srv->cfg.session_idle, "expires_at", api_json_time(ws->expires_at));
  sodium_memzero(csrf, sizeof csrf);
  http_response_header(c->r, "Cache-Control", "no-store");
  api_respond(c, status, doc);
}

void api_session_create(api_ctx_t *c) {
  static const char *const fields[] = {"user", "password", NULL};
  const char *user = NULL, *password = NULL;
  http_request_t *r = c->r;
  if (!api_body_only(c, fields) || !api_body_string(c, "user", true, 2 * NIMBUS_NAME_MAX, &user) ||
      !api_body_string(c, "password", true, API_PASSWORD_MAX, &password))
    goto done;
  if (!strchr(user, '@') || strchr(user, ':')) {
    api_problem(r, 400, "'user' must be name@tenant");
    goto done;
  }
  /* The same check as HTTP Basic: argon2id, the throttle, the cache. */
  char pair[2 * NIMBUS_NAME_MAX + API_PASSWORD_MAX + 2];
  char header[sizeof "Basic " + sizeof pair * 4 / 3 + 8];
  int n = snprintf(pair, sizeof pair, "%s:%s", user, password);
  memcpy(header, "Basic ", 6);
  sodium_bin2base64(header + 6, sizeof header - 6, (const unsigned char *)pair, (size_t)n,
                    sodium_base64_VARIANT_ORIGINAL);
  nimbus_auth_t a;
  auth_check(c->srv->store, c->srv->auth_cache, header, NULL, r->peer, &a);
  sodium_memzero(pair, sizeof pair);
  sodium_memzero(header, sizeof header);
  if (a.result == AUTH_THROTTLED) {
    char secs[16];
    snprintf(secs, sizeof secs, "%d", a.retry_after);
    http_response_header(r, "Retry-After", secs);
    api_problem(r, 429,
                "too many failed sign-ins for this account or from this address; retry in %d "
                "seconds",
                a.retry_after);
    goto done;
  }
  if (a.result == AUTH_SUSPENDED) { /* the right password: its holder learns why */
    http_respond_problem_typed(r, 403, API_PROBLEM_SUSPENDED, "Forbidden", AUTH_SUSPENDED_MESSAGE);
    goto done;
  }
  if (a.result != AUTH_OK) {
    session_unauthorized(r, "wrong user name or password");
    goto done;
  }
  c->tenant = a.tenant;
  snprintf(c->actor, sizeof c->actor, "%s@%s", a.user.name, a.tenant.name);
  char secret[WEB_SESSION_SECRET_MAX];
  nimbus_web_session_t ws;
  api_audit_t au;
  store_status_t s = web_session_create(
      c->srv->store, &a, (int64_t)time(NULL), c->srv->cfg.session_max,
      api_audit_of(c, &au, "session-created", "user=%s from=%s", a.user.name, r->peer), secret,
      &ws);
  if (s != STORE_OK) {
    api_respond_store(c, s, "session", NULL);
    goto done;
  }
  log_event(LOG_INFO, r->id, "console session created", "tenant", a.tenant.name, "user",
            a.user.name, "session_id", LOG_INT(ws.id), (char *)NULL);
  session_cookie(r, secret);
  session_respond(c, 201, &a, secret, &ws);
  sodium_memzero(secret, sizeof secret);
done:
  api_body_wipe(c, "password");
}

void api_session_get(api_ctx_t *c) {
  http_request_t *r = c->r;
  nimbus_auth_t a;
  nimbus_web_session_t ws;
  if (!r->cookie_session[0] ||
      web_session_check(c->srv->store, r->cookie_session, (int64_t)time(NULL),
                        c->srv->cfg.session_idle, &a, &ws) != AUTH_OK) {
    if (r->cookie_session[0]) session_cookie(r, NULL); /* a dead session: forget it */
    session_unauthorized(r, "not signed in, or the session ended; sign in again");
    return;
  }
  session_respond(c, 200, &a, r->cookie_session, &ws);
}

void api_session_delete(api_ctx_t *c) {
  http_request_t *r = c->r;
  nimbus_auth_t a;
  nimbus_web_session_t ws;
  if (r->cookie_session[0] &&
      web_session_check(c->srv->store, r->cookie_session, (int64_t)time(NULL),
                        c->srv->cfg.session_idle, &a, &ws) == AUTH_OK) {
    if (!web_session_csrf_ok(r->cookie_session, r->csrf_token)) {
      api_respond_csrf(r);
      return;
    }
    c->tenant = a.tenant;
    snprintf(c->actor, sizeof c->actor, "%s@%s", a.user.name, a.tenant.name);
    api_audit_t au;
    store_status_t s =
        web_session_end(c->srv->store, r->cookie_session,
                        api_audit_of(c, &au, "session-ended", "user=%s signed out", a.user.name));
    if (s != STORE_OK && s != STORE_NOT_FOUND) {
      api_respond_store(c, s, "session", NULL);
      return;
    }
    log_event(LOG_INFO, r->id, "console session ended", "tenant", a.tenant.name, "user",
              a.user.name, "session_id", LOG_INT(ws.id), (char *)NULL);
  }
  /* Signed out already (or never): clearing the cookie is all there is. */
  session_cookie(r, NULL);
  http_response_header(r, "Cache-Control", "no-store");
  api_respond_no_content(c);
}

void api_sessions_end_user(api_ctx_t *c, const nimbus_user_t *u, const char *why) {
  if (store_web_session_delete_user(c->srv->store, u->tenant_id, u->id) != STORE_OK) {
    log_event(LOG_ERROR, c->r->id, "could not end the user's console sessions", "user", u->name,
              (char *)NULL);
    return;
  }
  api_audit(c, u->tenant_id, "session-ended", "user=%s sessions ended: %s", u->name, why);
}
