/*
 * api-users.c: /api/v1/users of the tenant acted on (the caller's, or an
 * operator's ?tenant=).
 *
 *   GET    /users          admins → {users:[{name, role, created_at}]}
 *   POST   /users          admins, {name, password, role?, panel_pin?} → 201 user
 *   GET    /users/{name}   admins, or the user itself → user
 *   PATCH  /users/{name}   {password?, role?, panel_pin?}: admins; a user
 *                          may change its own password and panel PIN
 *                          (never its own role) → user
 *   DELETE /users/{name}   admins, not oneself → 204
 *
 * Roles: "operator" exists only in tenant "system", and every user there
 * is an operator; so only operators create or promote operators, and a
 * tenant-admin can never reach tenant "system".  Passwords are hashed
 * with argon2id here (a worker thread), never logged or returned; after a
 * change or deletion the user's cached logins are forgotten.  The panel
 * PIN (4 to 12 digits; "" removes it) is how the user signs in at a
 * printer when the tenant's panel_login is "pin"; it is hashed like job
 * PINs (crypto_pin_hash) and shows only as has_panel_pin.
 */
#include <string.h>

#include "api-private.h"
#include "auth.h"
#include "crypto.h"
#include "log.h"

static bool user_is_self(const api_ctx_t *c, const char *name) {
  return c->tenant.id == c->r->auth.tenant.id && strcmp(name, c->r->auth.user.name) == 0;
}

static bool user_list_cb(const nimbus_user_t *u, void *ctx) {
  return api_list_append(ctx, api_user_json(u));
}

void api_users_list(api_ctx_t *c) {
  api_list_t l = {c, json_array(), false};
  store_status_t s =
      l.arr ? store_user_list(c->srv->store, c->tenant.id, user_list_cb, &l) : STORE_OK;
  api_list_respond(&l, s, "users", "user");
}

/*
 * Read and check "role" for a user of c->tenant.  *role keeps its value
 * when the member is absent.  False has responded (400 or 403).
 */
static bool user_role_from_body(api_ctx_t *c, nimbus_role_t *role, bool *present) {
  const char *text;
  *present = false;
  if (!api_body_string(c, "role", false, 32, &text)) return false;
  if (!text) return true;
  if (!api_role_parse(text, role)) {
    api_problem(c->r, 400, "'role' must be \"user\", \"tenant-admin\" or \"operator\"");
    return false;
  }
  *present = true;
  if (*role == NIMBUS_ROLE_OPERATOR && !c->is_operator) {
    api_problem(c->r, 403, "only operators may create or promote operators");
    return false;
  }
  bool system = api_tenant_name_reserved(c->tenant.name);
  if (system && *role != NIMBUS_ROLE_OPERATOR) {
    api_problem(c->r, 400, "'role': users of tenant '%s' are always operators", API_SYSTEM_TENANT);
    return false;
  }
  if (!system && *role == NIMBUS_ROLE_OPERATOR) {
    api_problem(c->r, 400, "'role': operators exist only in tenant '%s'", API_SYSTEM_TENANT);
    return false;
  }
  return true;
}

/* Hash the "password" member into out; *present false when absent.
 * Wipes the plaintext from the parsed body afterwards. */
static bool user_password_from_body(api_ctx_t *c, bool required, char out[NIMBUS_HASH_STR_MAX],
                                    bool *present) {
  const char *password;
  bool ok = false;
  *present = false;
  if (!api_body_string(c, "password", required, API_PASSWORD_MAX, &password)) goto done;
  if (!password) {
    ok = true;
    goto done;
  }
  if (!*password) {
    api_problem(c->r, 400, "'password' must not be empty");
    goto done;
  }
  if (!crypto_password_hash(password, out)) {
    api_problem(c->r, 500, "could not hash the password");
    goto done;
  }
  *present = true;
  ok = true;
done:
  api_body_wipe(c, "password");
  return ok;
}

#define API_PANEL_PIN_MIN 4
#define API_PANEL_PIN_MAX 12

/* Hash the "panel_pin" member into out ("" when the member is ""); *present
 * false when absent.  Wipes the plaintext from the parsed body. */
static bool user_panel_pin_from_body(api_ctx_t *c, char out[NIMBUS_HASH_STR_MAX], bool *present) {
  const char *pin;
  bool ok = false;
  *present = false;
  if (!api_body_string(c, "panel_pin", false, API_PANEL_PIN_MAX, &pin)) goto done;
  if (!pin) {
    ok = true;
    goto done;
  }
  size_t len = strlen(pin);
  if (len == 0) {
    out[0] = '\0';
  } else if (len < API_PANEL_PIN_MIN || strspn(pin, "0123456789") != len) {
    api_problem(c->r, 400, "'panel_pin' must be %d to %d digits (or \"\" to remove it)",
                API_PANEL_PIN_MIN, API_PANEL_PIN_MAX);
    goto done;
  } else if (!crypto_pin_hash(pin, out)) {
    api_problem(c->r, 500, "could not hash the panel PIN");
    goto done;
  }
  *present = true;
  ok = true;
done:
  api_body_wipe(c, "panel_pin");
  return ok;
}

void api_users_create(api_ctx_t *c) {
  static const char *const fields[] = {"name", "password", "role", "panel_pin", NULL};
  nimbus_user_t u;
  const char *name;
  bool present;
  memset(&u, 0, sizeof u);
  if (!api_body_only(c, fields) || !api_body_string(c, "name", true, 255, &name)) goto done;
  if (!api_name_valid(name)) {
    api_problem(c->r, 400, "'name' must be 1 to 63 of A-Z a-z 0-9 . _ -, not starting with . or -");
    goto done;
  }
  if (api_tenant_name_reserved(c->tenant.name) && !c->is_operator) {
    api_problem(c->r, 403, "only operators may create users in tenant '%s'", API_SYSTEM_TENANT);
    goto done;
  }
  u.tenant_id = c->tenant.id;
  u.role = api_tenant_name_reserved(c->tenant.name) ? NIMBUS_ROLE_OPERATOR : NIMBUS_ROLE_USER;
  snprintf(u.name, sizeof u.name, "%s", name);
  if (!user_role_from_body(c, &u.role, &present)) goto done;
  if (!user_password_from_body(c, true, u.password_hash, &present)) goto done;
  if (!user_panel_pin_from_body(c, u.panel_pin_hash, &present)) goto done;

  store_status_t s = store_user_insert(c->srv->store, &u);
  if (s == STORE_CONFLICT) {
    api_problem(c->r, 409, "a user named '%s' already exists", u.name);
    goto done;
  }
  if (s != STORE_OK) {
    api_respond_store(c, s, "user", NULL);
    goto done;
  }
  api_audit(c, 0, "user-created", "user=%s role=%s", u.name, api_role_name(u.role));
  log_event(LOG_INFO, c->r->id, "user created", "tenant", c->tenant.name, "user", u.name, "role",
            api_role_name(u.role), "by", c->actor, (char *)NULL);
  api_respond(c, 201, api_user_json(&u));
done:
  explicit_bzero(u.password_hash, sizeof u.password_hash);
  explicit_bzero(u.panel_pin_hash, sizeof u.panel_pin_hash);
}

void api_user_get(api_ctx_t *c) {
  nimbus_user_t u;
  if (!c->is_admin && !user_is_self(c, c->param)) {
    api_problem(c->r, 403, "users may only read their own account");
    return;
  }
  store_status_t s = store_user_get_by_name(c->srv->store, c->tenant.id, c->param, &u);
  explicit_bzero(u.password_hash, sizeof u.password_hash);
  if (s != STORE_OK) {
    api_respond_store(c, s, "user", c->param);
    return;
  }
  api_respond(c, 200, api_user_json(&u));
}

void api_user_update(api_ctx_t *c) {
  static const char *const fields[] = {"password", "role", "panel_pin", NULL};
  nimbus_user_t u;
  bool self = user_is_self(c, c->param), role_given = false, password_given = false;
  bool pin_given = false;
  memset(&u, 0, sizeof u);
  if (!c->is_admin && !self) {
    api_problem(c->r, 403, "users may only change their own password and panel PIN");
    goto done;
  }
  if (!api_body_only(c, fields)) goto done;
  store_status_t s = store_user_get_by_name(c->srv->store, c->tenant.id, c->param, &u);
  if (s != STORE_OK) {
    api_respond_store(c, s, "user", c->param);
    goto done;
  }
  nimbus_role_t role = u.role;
  if (!user_role_from_body(c, &role, &role_given)) goto done;
  if (role_given && role != u.role && self) {
    api_problem(c->r, 403, "you cannot change your own role");
    goto done;
  }
  u.role = role;
  if (!user_password_from_body(c, false, u.password_hash, &password_given)) goto done;
  if (!user_panel_pin_from_body(c, u.panel_pin_hash, &pin_given)) goto done;
  if ((s = store_user_update(c->srv->store, &u)) != STORE_OK) {
    api_respond_store(c, s, "user", c->param);
    goto done;
  }
  auth_cache_forget_user(c->srv->auth_cache, u.id);
  api_audit(c, 0, "user-updated", "user=%s role=%s%s%s", u.name, api_role_name(u.role),
            password_given ? " password-changed" : "", pin_given ? " panel-pin-changed" : "");
  log_event(LOG_INFO, c->r->id, "user updated", "tenant", c->tenant.name, "user", u.name, "role",
            api_role_name(u.role), "password_changed", password_given ? "yes" : "no",
            "panel_pin_changed", pin_given ? "yes" : "no", "by", c->actor, (char *)NULL);
  api_respond(c, 200, api_user_json(&u));
done:
  explicit_bzero(u.password_hash, sizeof u.password_hash);
  explicit_bzero(u.panel_pin_hash, sizeof u.panel_pin_hash);
}

void api_user_delete(api_ctx_t *c) {
  nimbus_user_t u;
  if (user_is_self(c, c->param)) {
    api_problem(c->r, 409, "you cannot delete your own account");
    return;
  }
  store_status_t s = store_user_get_by_name(c->srv->store, c->tenant.id, c->param, &u);
  explicit_bzero(u.password_hash, sizeof u.password_hash);
  if (s == STORE_OK) s = store_user_delete(c->srv->store, c->tenant.id, u.id);
  if (s != STORE_OK) {
    api_respond_store(c, s, "user", c->param);
    return;
  }
  auth_cache_forget_user(c->srv->auth_cache, u.id);
  api_audit(c, 0, "user-deleted", "user=%s", u.name);
  log_event(LOG_INFO, c->r->id, "user deleted", "tenant", c->tenant.name, "user", u.name, "by",
            c->actor, (char *)NULL);
  api_respond_no_content(c);
}
