/*
 * api-tokens.c: /api/v1/tokens, bearer tokens for the API and IPP.
 *
 *   GET    /tokens        → {tokens:[{id, user, label, created_at,
 *                           expires_at, revoked, scope}]}: a user's own, or
 *                           all of the tenant for admins (scope null: full
 *                           access; "federation": issued by the OAuth
 *                           device grant, GET /whoami only)
 *   POST   /tokens        {label?, expires_in? (seconds), user? (admins)}
 *                         → 201 {id, token, user, label, created_at,
 *                           expires_at}: the only time the secret is shown
 *   GET    /tokens/{id}   → token (users: their own)
 *   DELETE /tokens/{id}   → 204, revoked (users: their own)
 *
 * Only the SHA-256 of a secret is stored (crypto_token_hash); the secret
 * is never logged, and the local copy is wiped after the response.
 */
#include <string.h>
#include <time.h>

#include "api-private.h"
#include "crypto.h"
#include "log.h"

#define API_TOKEN_MAX_LIFETIME (10LL * 366 * 24 * 3600) /* seconds */

/* Tokens a plain user may see: its own.  Admins: the tenant's (0). */
static nimbus_id_t token_owner_filter(const api_ctx_t *c) {
  return c->is_admin ? 0 : c->r->auth.user.id;
}

static bool token_list_cb(const nimbus_token_t *tk, void *ctx) {
  return api_list_append(ctx, api_token_json(tk));
}

void api_tokens_list(api_ctx_t *c) {
  api_list_t l = {c, json_array(), false};
  store_status_t s = l.arr ? store_token_list(c->srv->store, c->tenant.id, token_owner_filter(c),
                                              token_list_cb, &l)
                           : STORE_OK;
  api_list_respond(&l, s, "tokens", "token");
}

typedef struct {
  nimbus_id_t id;    /* the token wanted */
  nimbus_token_t tk; /* the token found */
  bool found;
} token_find_t;

static bool token_find_cb(const nimbus_token_t *tk, void *ctx) {
  token_find_t *f = ctx;
  if (tk->id != f->id) return true;
  f->tk = *tk;
  f->found = true;
  return false;
}

void api_token_get(api_ctx_t *c) {
  token_find_t f = {.id = c->id};
  store_status_t s =
      store_token_list(c->srv->store, c->tenant.id, token_owner_filter(c), token_find_cb, &f);
  if (s == STORE_OK && !f.found) s = STORE_NOT_FOUND;
  if (s != STORE_OK) {
    api_respond_store(c, s, "token", NULL);
    return;
  }
  api_respond(c, 200, api_token_json(&f.tk));
}

/* The user a new token is for: "user" (admins, or oneself), else the
 * caller.  False has responded. */
static bool token_user(api_ctx_t *c, nimbus_user_t *u) {
  const char *name;
  const nimbus_auth_t *a = &c->r->auth;
  if (!api_body_string(c, "user", false, 255, &name)) return false;
  bool own_tenant = c->tenant.id == a->tenant.id;
  if (!name) {
    if (!own_tenant) {
      api_problem(c->r, 400, "'user' is required when acting on another tenant");
      return false;
    }
    *u = a->user;
    return true;
  }
  if (!c->is_admin && strcmp(name, a->user.name) != 0) {
    api_problem(c->r, 403, "only admins may create tokens for other users");
    return false;
  }
  if (!api_name_valid(name)) {
    api_problem(c->r, 404, "no such user");
    return false;
  }
  store_status_t s = store_user_get_by_name(c->srv->store, c->tenant.id, name, u);
  explicit_bzero(u->password_hash, sizeof u->password_hash);
  if (s != STORE_OK) {
    api_respond_store(c, s, "user", name);
    return false;
  }
  return true;
}

void api_tokens_create(api_ctx_t *c) {
  static const char *const fields[] = {"label", "expires_in", "user", NULL};
  char secret[CRYPTO_TOKEN_STR_MAX];
  nimbus_token_t tk;
  nimbus_user_t u;
  const char *label;
  json_int_t expires_in = 0;
  bool present;
  memset(&tk, 0, sizeof tk);
  secret[0] = '\0';

  if (c->body && !api_body_only(c, fields)) goto done;
  if (!api_body_string(c, "label", false, NIMBUS_NAME_MAX - 1, &label)) goto done;
  if (label && !api_text_valid(label, NIMBUS_NAME_MAX - 1)) {
    api_problem(c->r, 400, "'label' must not contain control characters");
    goto done;
  }
  if (!api_body_integer(c, "expires_in", 1, API_TOKEN_MAX_LIFETIME, &expires_in, &present))
    goto done;
  if (!token_user(c, &u)) goto done;

  tk.tenant_id = c->tenant.id;
  tk.user_id = u.id;
  tk.user_role = u.role;
  snprintf(tk.user_name, sizeof tk.user_name, "%s", u.name);
  snprintf(tk.label, sizeof tk.label, "%s", label ? label : "");
  tk.expires_at = present ? (int64_t)time(NULL) + expires_in : 0;
  crypto_token_new(secret);
  crypto_token_hash(secret, tk.hash);

  api_audit_t au;
  const store_audit_t *audit = api_audit_of(c, &au, "token-created", "user=%s", tk.user_name);
  au.rec.id_key = "token"; /* "token=<its id> user=..." */
  store_status_t s = store_token_insert_audited(c->srv->store, &tk, audit);
  if (s != STORE_OK) {
    api_respond_store(c, s, "token", NULL);
    goto done;
  }
  log_event(LOG_INFO, c->r->id, "token created", "tenant", c->tenant.name, "token", LOG_INT(tk.id),
            "user", tk.user_name, "by", c->actor, (char *)NULL);
  api_respond(
      c, 201,
      json_pack("{s:I, s:s, s:o, s:o, s:o, s:o}", "id", (json_int_t)tk.id, "token", secret, "user",
                api_json_text(tk.user_name), "label", api_json_text(tk.label), "created_at",
                api_json_time(tk.created_at), "expires_at", api_json_time(tk.expires_at)));
done:
  explicit_bzero(secret, sizeof secret);
  explicit_bzero(tk.hash, sizeof tk.hash);
}

void api_token_delete(api_ctx_t *c) {
  api_audit_t au;
  store_status_t s = store_token_revoke_audited(
      c->srv->store, c->tenant.id, c->id, token_owner_filter(c),
      api_audit_of(c, &au, "token-revoked", "token=%lld", (long long)c->id));
  if (s != STORE_OK) {
    api_respond_store(c, s, "token", NULL);
    return;
  }
  log_event(LOG_INFO, c->r->id, "token revoked", "tenant", c->tenant.name, "token", LOG_INT(c->id),
            "by", c->actor, (char *)NULL);
  api_respond_no_content(c);
}
