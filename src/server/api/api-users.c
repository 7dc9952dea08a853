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
 *   GET    /users/{name}/aliases          admins → {aliases:[{alias, user, created_at}]}
 *   POST   /users/{name}/aliases          admins, {alias} → 201 alias
 *   DELETE /users/{name}/aliases?alias=A  admins → 204
 *
 * Roles: "operator" exists only in tenant "system", and every user there
 * is an operator; so only operators create or promote operators, and a
 * tenant-admin can never reach tenant "system".  Passwords are hashed
 * with argon2id here (a worker thread), never logged or returned; after a
 * change or deletion the user's cached logins are forgotten.  The panel
 * PIN (4 to 12 digits; "" removes it) is how the user signs in at a
 * printer when the tenant's panel_login is "pin"; it is hashed like job
 * PINs (crypto_pin_hash) and shows only as has_panel_pin.
 *
 * Aliases are other names of a user (a PC's login name, user-names.h),
 * unique per tenant in their normal form: an alias that is already an
 * alias, or that is another user's name in any case, is 409; so is a new
 * user whose name is already an alias.
 */
#include <string.h>

#include "api-private.h"
#include "auth.h"
#include "crypto.h"
#include "log.h"
#include "user-names.h"

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

  char key[NIMBUS_NAME_MAX];
  nimbus_user_t owner;
  store_status_t s = STORE_NOT_FOUND;
  if (user_alias_normalise(u.name, key))
    s = store_user_get_by_alias(c->srv->store, c->tenant.id, key, &owner);
  explicit_bzero(owner.password_hash, sizeof owner.password_hash);
  explicit_bzero(owner.panel_pin_hash, sizeof owner.panel_pin_hash);
  if (s == STORE_OK) {
    api_problem(c->r, 409, "'%s' is an alias of user '%s'; remove the alias first", u.name,
                owner.name);
    goto done;
  }
  api_audit_t au;
  s = store_user_insert_audited(
      c->srv->store, &u,
      api_audit_of(c, &au, "user-created", "user=%s role=%s", u.name, api_role_name(u.role)));
  if (s == STORE_CONFLICT) {
    api_problem(c->r, 409, "a user named '%s' already exists", u.name);
    goto done;
  }
  if (s != STORE_OK) {
    api_respond_store(c, s, "user", NULL);
    goto done;
  }
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
  bool role_changed = role_given && role != u.role;
  u.role = role;
  if (!user_password_from_body(c, false, u.password_hash, &password_given)) goto done;
  if (!user_panel_pin_from_body(c, u.panel_pin_hash, &pin_given)) goto done;
  api_audit_t au;
  if ((s = store_user_update_audited(
           c->srv->store, &u,
           api_audit_of(c, &au, "user-updated", "user=%s role=%s%s%s", u.name,
                        api_role_name(u.role), password_given ? " password-changed" : "",
                        pin_given ? " panel-pin-changed" : ""))) != STORE_OK) {
    api_respond_store(c, s, "user", c->param);
    goto done;
  }
  auth_cache_forget_user(c->srv->auth_cache, u.id);
  if (password_given || role_changed)
    api_sessions_end_user(c, &u, password_given ? "password changed" : "role changed");
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
  api_audit_t au;
  if (s == STORE_OK)
    s = store_user_delete_audited(c->srv->store, c->tenant.id, u.id,
                                  api_audit_of(c, &au, "user-deleted", "user=%s", u.name));
  if (s != STORE_OK) {
    api_respond_store(c, s, "user", c->param);
    return;
  }
  auth_cache_forget_user(c->srv->auth_cache, u.id);
  api_sessions_end_user(c, &u, "user deleted"); /* the rows went with it (ON DELETE CASCADE) */
  log_event(LOG_INFO, c->r->id, "user deleted", "tenant", c->tenant.name, "user", u.name, "by",
            c->actor, (char *)NULL);
  api_respond_no_content(c);
}

/* ---- aliases ---- */

/* The user named by the path, without its secrets; false has responded. */
static bool alias_user(api_ctx_t *c, nimbus_user_t *u) {
  store_status_t s = store_user_get_by_name(c->srv->store, c->tenant.id, c->param, u);
  explicit_bzero(u->password_hash, sizeof u->password_hash);
  explicit_bzero(u->panel_pin_hash, sizeof u->panel_pin_hash);
  if (s != STORE_OK) api_respond_store(c, s, "user", c->param);
  return s == STORE_OK;
}

/* The normal form of a client-given alias; false has responded 400. */
static bool alias_key(api_ctx_t *c, const char *alias, char key[NIMBUS_NAME_MAX]) {
  if (user_alias_normalise(alias, key)) return true;
  api_problem(c->r, 400,
              "'alias' must be 1 to %d bytes, without control characters or a space at either "
              "end",
              USER_ALIAS_MAX);
  return false;
}

static bool alias_list_cb(const nimbus_alias_t *a, void *ctx) {
  return api_list_append(ctx, api_alias_json(a));
}

void api_user_aliases_list(api_ctx_t *c) {
  nimbus_user_t u;
  if (!alias_user(c, &u)) return;
  api_list_t l = {c, json_array(), false};
  store_status_t s =
      l.arr ? store_alias_list(c->srv->store, c->tenant.id, u.id, alias_list_cb, &l) : STORE_OK;
  api_list_respond(&l, s, "aliases", "alias");
}

void api_user_alias_add(api_ctx_t *c) {
  static const char *const fields[] = {"alias", NULL};
  const char *alias;
  char key[NIMBUS_NAME_MAX];
  nimbus_user_t u, other;
  nimbus_alias_t a;
  if (!api_body_only(c, fields) || !api_body_string(c, "alias", true, 255, &alias)) return;
  if (!alias_key(c, alias, key) || !alias_user(c, &u)) return;
  /* A name designates its user first (user_resolve_name): an alias that
   * another user's name folds to would be unreachable, or confusing. */
  nimbus_id_t other_id = 0;
  store_status_t s = store_user_name_folds_to(c->srv->store, c->tenant.id, key, u.id, &other_id);
  if (s == STORE_OK) {
    api_problem(c->r, 409, "'%s' is the name of another user", alias);
    return;
  }
  if (s != STORE_NOT_FOUND) {
    api_respond_store(c, s, "alias", NULL);
    return;
  }
  memset(&a, 0, sizeof a);
  a.tenant_id = c->tenant.id;
  a.user_id = u.id;
  snprintf(a.user_name, sizeof a.user_name, "%s", u.name);
  snprintf(a.alias, sizeof a.alias, "%s", alias);
  api_audit_t au;
  s = store_alias_insert_audited(
      c->srv->store, &a, key,
      api_audit_of(c, &au, "user-alias-added", "user=%s alias=%s", u.name, a.alias));
  if (s == STORE_CONFLICT) {
    s = store_user_get_by_alias(c->srv->store, c->tenant.id, key, &other);
    explicit_bzero(other.password_hash, sizeof other.password_hash);
    explicit_bzero(other.panel_pin_hash, sizeof other.panel_pin_hash);
    if (s == STORE_OK && other.id == u.id)
      api_problem(c->r, 409, "'%s' is already an alias of user '%s'", alias, u.name);
    else
      api_problem(c->r, 409, "'%s' is already an alias of another user", alias);
    return;
  }
  if (s != STORE_OK) {
    api_respond_store(c, s, "alias", NULL);
    return;
  }
  log_event(LOG_INFO, c->r->id, "user alias added", "tenant", c->tenant.name, "user", u.name,
            "alias", a.alias, "by", c->actor, (char *)NULL);
  api_respond(c, 201, api_alias_json(&a));
}

void api_user_alias_remove(api_ctx_t *c) {
  const char *alias = http_query(c->r, "alias");
  char key[NIMBUS_NAME_MAX];
  nimbus_user_t u;
  if (!alias) {
    api_problem(c->r, 400, "the query parameter 'alias' names the alias to remove");
    return;
  }
  if (!alias_key(c, alias, key) || !alias_user(c, &u)) return;
  api_audit_t au;
  store_status_t s = store_alias_delete_audited(
      c->srv->store, c->tenant.id, u.id, key,
      api_audit_of(c, &au, "user-alias-removed", "user=%s alias=%s", u.name, alias));
  if (s == STORE_NOT_FOUND) {
    api_problem(c->r, 404, "user '%s' has no alias '%s'", u.name, alias);
    return;
  }
  if (s != STORE_OK) {
    api_respond_store(c, s, "alias", NULL);
    return;
  }
  log_event(LOG_INFO, c->r->id, "user alias removed", "tenant", c->tenant.name, "user", u.name,
            "alias", alias, "by", c->actor, (char *)NULL);
  api_respond_no_content(c);
}
