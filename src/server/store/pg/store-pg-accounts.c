/*
 * store-pg-accounts.c: tenants, users, aliases, API tokens, queues, panel
 * sessions and the sign-in throttle in the PostgreSQL backend, with the
 * meanings store.h gives them and store/sqlite/store-sqlite-accounts.c
 * implements (the contract suite, tests/unit/test-store-accounts.c, runs
 * on both).  Helpers: store-pg-private.h.
 */
#include "store-pg-private.h"

/* Stored defaults for fields a caller left empty (the schema's CHECKs
 * accept only the documented words), as in the SQLite backend. */
#define TENANT_PANEL_LOGIN_DEFAULT "password"
#define TENANT_UNKNOWN_USER_NAMES_DEFAULT "refuse"
#define QUEUE_RELEASE_SCOPE_DEFAULT "this-printer"

static const char *or_default(const char *field, size_t cap, const char *def) {
  return strnlen(field, cap) ? field : def;
}
#define OR_DEFAULT(field, def) or_default((field), sizeof(field), (def))

/* ---- row readers (column orders of store-pg.c's *_COLS) ---- */

static void tenant_from_row(const PGresult *r, int i, nimbus_tenant_t *t) {
  memset(t, 0, sizeof *t);
  t->id = pg_get_int64(r, i, 0);
  PG_GET_FIELD(r, i, 1, t->name);
  PG_GET_FIELD(r, i, 2, t->display_name);
  t->max_document_size = pg_get_int64(r, i, 3);
  t->max_held_jobs_per_user = pg_get_int(r, i, 4);
  t->created_at = pg_get_int64(r, i, 5);
  t->retention_hours = pg_get_int(r, i, 6);
  PG_GET_FIELD(r, i, 7, t->panel_login);
  PG_GET_FIELD(r, i, 8, t->unknown_user_names);
  t->suspended = pg_get_bool(r, i, 9);
}

static void user_from_row(const PGresult *r, int i, nimbus_user_t *u) {
  memset(u, 0, sizeof *u);
  u->id = pg_get_int64(r, i, 0);
  u->tenant_id = pg_get_int64(r, i, 1);
  PG_GET_FIELD(r, i, 2, u->name);
  u->role = (nimbus_role_t)pg_get_int(r, i, 3);
  PG_GET_FIELD(r, i, 4, u->password_hash);
  u->created_at = pg_get_int64(r, i, 5);
  PG_GET_FIELD(r, i, 6, u->panel_pin_hash);
}

static void token_from_row(const PGresult *r, int i, nimbus_token_t *tk) {
  memset(tk, 0, sizeof *tk);
  tk->id = pg_get_int64(r, i, 0);
  tk->tenant_id = pg_get_int64(r, i, 1);
  tk->user_id = pg_get_int64(r, i, 2);
  PG_GET_FIELD(r, i, 3, tk->user_name);
  tk->user_role = (nimbus_role_t)pg_get_int(r, i, 4);
  PG_GET_FIELD(r, i, 5, tk->label);
  pg_get_bytes(r, i, 6, tk->hash, sizeof tk->hash);
  tk->created_at = pg_get_int64(r, i, 7);
  tk->expires_at = pg_get_int64(r, i, 8);
  tk->revoked = pg_get_bool(r, i, 9);
  PG_GET_FIELD(r, i, 10, tk->scope);
}

static void queue_from_row(const PGresult *r, int i, nimbus_queue_t *q) {
  memset(q, 0, sizeof *q);
  q->id = pg_get_int64(r, i, 0);
  q->tenant_id = pg_get_int64(r, i, 1);
  PG_GET_FIELD(r, i, 2, q->name);
  PG_GET_FIELD(r, i, 3, q->description);
  q->release_immediately = pg_get_bool(r, i, 4);
  q->allow_anonymous = pg_get_bool(r, i, 5);
  q->created_at = pg_get_int64(r, i, 6);
  PG_GET_FIELD(r, i, 7, q->release_scope);
  q->pricing.price_table_id = pg_get_int64(r, i, 8);
  PG_GET_FIELD(r, i, 9, q->pricing.payment);
}

/* ---- shapes shared by many operations ---- */

/* Run an INSERT … RETURNING id; *id receives it on STORE_OK. */
static store_status_t insert_returning_id(pg_store_t *st, pg_stmt_id_t id, const pg_params_t *p,
                                          nimbus_id_t *out_id, const char *what,
                                          const store_audit_t *audit) {
  pg_conn_t *c = pg_acquire(st, what);
  if (!c) return STORE_ERROR;
  PGresult *r;
  store_status_t status = pg_audit_begin(c, audit);
  if (status == STORE_OK) status = pg_exec(c, id, p, &r, what); /* NOT_FOUND: a foreign key */
  if (status == STORE_OK) {
    if (PQntuples(r) == 1)
      *out_id = pg_get_int64(r, 0, 0);
    else
      status = STORE_ERROR; /* RETURNING always yields the row */
    PQclear(r);
  }
  status = pg_audit_end(c, audit, status, status == STORE_OK ? *out_id : 0);
  pg_release(st, c);
  return status;
}

/* Run an UPDATE/DELETE: NOT_FOUND when it touched no row. */
static store_status_t exec_changes(pg_store_t *st, pg_stmt_id_t id, const pg_params_t *p,
                                   const char *what, const store_audit_t *audit) {
  pg_conn_t *c = pg_acquire(st, what);
  if (!c) return STORE_ERROR;
  store_status_t status = pg_audit_begin(c, audit);
  if (status == STORE_OK) status = pg_exec_changes(c, id, p, what);
  status = pg_audit_end(c, audit, status, 0);
  pg_release(st, c);
  return status;
}

/* Run a single-row SELECT; *res holds the row on STORE_OK (caller clears). */
static store_status_t query_row(pg_store_t *st, pg_stmt_id_t id, const pg_params_t *p,
                                PGresult **res, const char *what) {
  pg_conn_t *c = pg_acquire(st, what);
  if (!c) return STORE_ERROR;
  store_status_t status = pg_exec_row(c, id, p, res, what);
  pg_release(st, c);
  return status;
}

/* Run a SELECT and hand each row to `each` after the connection is back. */
static store_status_t query_list(pg_store_t *st, pg_stmt_id_t id, const pg_params_t *p,
                                 pg_row_fn each, pg_list_cb_t cb, void *ctx, const char *what) {
  pg_conn_t *c = pg_acquire(st, what);
  if (!c) return STORE_ERROR;
  PGresult *r;
  store_status_t status = pg_exec(c, id, p, &r, what);
  pg_release(st, c);
  if (status == STORE_OK) pg_each_row(st, r, each, cb, ctx);
  return status;
}

/* ---- tenants ---- */

store_status_t pg_tenant_insert(store_t *base, nimbus_tenant_t *t, const store_audit_t *audit) {
  int64_t now = (int64_t)time(NULL);
  pg_params_t p = {0};
  PG_PARAM_FIELD(&p, t->name);
  PG_PARAM_FIELD(&p, t->display_name);
  pg_param_int(&p, t->max_document_size);
  pg_param_int(&p, t->max_held_jobs_per_user);
  pg_param_int(&p, now);
  pg_param_int(&p, t->retention_hours);
  pg_param_text(&p, OR_DEFAULT(t->panel_login, TENANT_PANEL_LOGIN_DEFAULT), sizeof t->panel_login);
  pg_param_text(&p, OR_DEFAULT(t->unknown_user_names, TENANT_UNKNOWN_USER_NAMES_DEFAULT),
                sizeof t->unknown_user_names);
  pg_param_int(&p, t->suspended ? 1 : 0);
  nimbus_id_t id;
  store_status_t status =
      insert_returning_id(pg_of(base), PS_TENANT_INSERT, &p, &id, "tenant insert", audit);
  if (status == STORE_OK) {
    t->id = id;
    t->created_at = now;
    if (!t->panel_login[0])
      snprintf(t->panel_login, sizeof t->panel_login, "%s", TENANT_PANEL_LOGIN_DEFAULT);
    if (!t->unknown_user_names[0])
      snprintf(t->unknown_user_names, sizeof t->unknown_user_names, "%s",
               TENANT_UNKNOWN_USER_NAMES_DEFAULT);
  }
  return status;
}

static store_status_t tenant_get_by(pg_store_t *st, pg_stmt_id_t id, const pg_params_t *p,
                                    nimbus_tenant_t *out) {
  PGresult *r;
  store_status_t status = query_row(st, id, p, &r, "tenant get");
  if (status == STORE_OK) {
    tenant_from_row(r, 0, out);
    PQclear(r);
  }
  return status;
}

store_status_t pg_tenant_get(store_t *base, nimbus_id_t id, nimbus_tenant_t *out) {
  pg_params_t p = {0};
  pg_param_int(&p, id);
  return tenant_get_by(pg_of(base), PS_TENANT_GET, &p, out);
}

store_status_t pg_tenant_get_by_name(store_t *base, const char *name, nimbus_tenant_t *out) {
  pg_params_t p = {0};
  pg_param_text(&p, name, SIZE_MAX);
  return tenant_get_by(pg_of(base), PS_TENANT_GET_BY_NAME, &p, out);
}

store_status_t pg_tenant_update(store_t *base, const nimbus_tenant_t *t,
                                const store_audit_t *audit) {
  pg_params_t p = {0};
  pg_param_int(&p, t->id);
  PG_PARAM_FIELD(&p, t->display_name);
  pg_param_int(&p, t->max_document_size);
  pg_param_int(&p, t->max_held_jobs_per_user);
  pg_param_int(&p, t->retention_hours);
  pg_param_text(&p, OR_DEFAULT(t->panel_login, TENANT_PANEL_LOGIN_DEFAULT), sizeof t->panel_login);
  pg_param_text(&p, OR_DEFAULT(t->unknown_user_names, TENANT_UNKNOWN_USER_NAMES_DEFAULT),
                sizeof t->unknown_user_names);
  pg_param_int(&p, t->suspended ? 1 : 0);
  return exec_changes(pg_of(base), PS_TENANT_UPDATE, &p, "tenant update", audit);
}

/* Foreign keys cascade the delete to every table of the tenant. */
store_status_t pg_tenant_delete(store_t *base, nimbus_id_t id, const store_audit_t *audit) {
  pg_params_t p = {0};
  pg_param_int(&p, id);
  return exec_changes(pg_of(base), PS_TENANT_DELETE, &p, "tenant delete", audit);
}

static bool tenant_row(const PGresult *r, int i, pg_list_cb_t cb, void *ctx) {
  nimbus_tenant_t t;
  tenant_from_row(r, i, &t);
  return cb.tenant(&t, ctx);
}

store_status_t pg_tenant_list(store_t *base, store_tenant_cb cb, void *ctx) {
  return query_list(pg_of(base), PS_TENANT_LIST, NULL, tenant_row, (pg_list_cb_t){.tenant = cb},
                    ctx, "tenant list");
}

/* ---- users ---- */

store_status_t pg_user_insert(store_t *base, nimbus_user_t *u, const store_audit_t *audit) {
  int64_t now = (int64_t)time(NULL);
  pg_params_t p = {0};
  pg_param_int(&p, u->tenant_id);
  PG_PARAM_FIELD(&p, u->name);
  pg_param_int(&p, (int)u->role);
  PG_PARAM_FIELD(&p, u->password_hash);
  pg_param_int(&p, now);
  PG_PARAM_FIELD(&p, u->panel_pin_hash);
  nimbus_id_t id;
  store_status_t status =
      insert_returning_id(pg_of(base), PS_USER_INSERT, &p, &id, "user insert", audit);
  if (status == STORE_OK) {
    u->id = id;
    u->created_at = now;
  }
  return status;
}

static store_status_t user_get_by(pg_store_t *st, pg_stmt_id_t id, const pg_params_t *p,
                                  nimbus_user_t *out, const char *what) {
  PGresult *r;
  store_status_t status = query_row(st, id, p, &r, what);
  if (status == STORE_OK) {
    user_from_row(r, 0, out);
    PQclear(r);
  }
  return status;
}

store_status_t pg_user_get(store_t *base, nimbus_id_t tenant_id, nimbus_id_t id,
                           nimbus_user_t *out) {
  pg_params_t p = {0};
  pg_param_int(&p, id);
  pg_param_int(&p, tenant_id);
  return user_get_by(pg_of(base), PS_USER_GET, &p, out, "user get");
}

store_status_t pg_user_get_by_name(store_t *base, nimbus_id_t tenant_id, const char *name,
                                   nimbus_user_t *out) {
  pg_params_t p = {0};
  pg_param_int(&p, tenant_id);
  pg_param_text(&p, name, SIZE_MAX);
  return user_get_by(pg_of(base), PS_USER_GET_BY_NAME, &p, out, "user get by name");
}

store_status_t pg_user_update(store_t *base, const nimbus_user_t *u, const store_audit_t *audit) {
  pg_params_t p = {0};
  pg_param_int(&p, u->id);
  pg_param_int(&p, u->tenant_id);
  pg_param_int(&p, (int)u->role);
  PG_PARAM_FIELD(&p, u->password_hash);
  PG_PARAM_FIELD(&p, u->panel_pin_hash);
  return exec_changes(pg_of(base), PS_USER_UPDATE, &p, "user update", audit);
}

/* Tokens go by cascade; jobs keep owner_name and get owner_id NULL. */
store_status_t pg_user_delete(store_t *base, nimbus_id_t tenant_id, nimbus_id_t id,
                              const store_audit_t *audit) {
  pg_params_t p = {0};
  pg_param_int(&p, id);
  pg_param_int(&p, tenant_id);
  return exec_changes(pg_of(base), PS_USER_DELETE, &p, "user delete", audit);
}

static bool user_row(const PGresult *r, int i, pg_list_cb_t cb, void *ctx) {
  nimbus_user_t u;
  user_from_row(r, i, &u);
  return cb.user(&u, ctx);
}

/* Ordered by name (bytewise, as SQLite orders). */
store_status_t pg_user_list(store_t *base, nimbus_id_t tenant_id, store_user_cb cb, void *ctx) {
  pg_params_t p = {0};
  pg_param_int(&p, tenant_id);
  return query_list(pg_of(base), PS_USER_LIST, &p, user_row, (pg_list_cb_t){.user = cb}, ctx,
                    "user list");
}

/* ---- user aliases ---- */

store_status_t pg_user_get_by_alias(store_t *base, nimbus_id_t tenant_id, const char *key,
                                    nimbus_user_t *out) {
  pg_params_t p = {0};
  pg_param_int(&p, tenant_id);
  pg_param_text(&p, key, SIZE_MAX);
  return user_get_by(pg_of(base), PS_USER_GET_BY_ALIAS, &p, out, "user get by alias");
}

store_status_t pg_user_name_folds_to(store_t *base, nimbus_id_t tenant_id, const char *key,
                                     nimbus_id_t except_id, nimbus_id_t *other_id) {
  pg_params_t p = {0};
  pg_param_int(&p, tenant_id);
  pg_param_text(&p, key, SIZE_MAX);
  pg_param_int(&p, except_id);
  PGresult *r;
  store_status_t status = query_row(pg_of(base), PS_USER_NAME_FOLDS, &p, &r, "user name folds");
  if (status == STORE_OK) {
    if (other_id) *other_id = pg_get_int64(r, 0, 0);
    PQclear(r);
  }
  return status;
}

store_status_t pg_alias_insert(store_t *base, nimbus_alias_t *a, const char *key,
                               const store_audit_t *audit) {
  int64_t now = (int64_t)time(NULL);
  pg_params_t p = {0};
  pg_param_int(&p, a->tenant_id);
  pg_param_int(&p, a->user_id);
  PG_PARAM_FIELD(&p, a->alias);
  pg_param_text(&p, key, SIZE_MAX);
  pg_param_int(&p, now);
  nimbus_id_t id;
  store_status_t status =
      insert_returning_id(pg_of(base), PS_ALIAS_INSERT, &p, &id, "alias insert", audit);
  if (status == STORE_OK) {
    a->id = id;
    a->created_at = now;
  }
  return status;
}

store_status_t pg_alias_delete(store_t *base, nimbus_id_t tenant_id, nimbus_id_t user_id,
                               const char *key, const store_audit_t *audit) {
  pg_params_t p = {0};
  pg_param_int(&p, tenant_id);
  pg_param_int(&p, user_id);
  pg_param_text(&p, key, SIZE_MAX);
  return exec_changes(pg_of(base), PS_ALIAS_DELETE, &p, "alias delete", audit);
}

static bool alias_row(const PGresult *r, int i, pg_list_cb_t cb, void *ctx) {
  nimbus_alias_t a;
  memset(&a, 0, sizeof a);
  a.id = pg_get_int64(r, i, 0);
  a.tenant_id = pg_get_int64(r, i, 1);
  a.user_id = pg_get_int64(r, i, 2);
  PG_GET_FIELD(r, i, 3, a.user_name);
  PG_GET_FIELD(r, i, 4, a.alias);
  a.created_at = pg_get_int64(r, i, 5);
  return cb.alias(&a, ctx);
}

store_status_t pg_alias_list(store_t *base, nimbus_id_t tenant_id, nimbus_id_t user_id,
                             store_alias_cb cb, void *ctx) {
  pg_params_t p = {0};
  pg_param_int(&p, tenant_id);
  pg_param_int(&p, user_id);
  return query_list(pg_of(base), PS_ALIAS_LIST, &p, alias_row, (pg_list_cb_t){.alias = cb}, ctx,
                    "alias list");
}

/* ---- tokens ---- */

/* A user of another tenant fails the (tenant_id, user_id) foreign key:
 * STORE_NOT_FOUND.  The token is stored unrevoked. */
store_status_t pg_token_insert(store_t *base, nimbus_token_t *tk, const store_audit_t *audit) {
  int64_t now = (int64_t)time(NULL);
  pg_params_t p = {0};
  pg_param_int(&p, tk->tenant_id);
  pg_param_int(&p, tk->user_id);
  PG_PARAM_FIELD(&p, tk->label);
  pg_param_bytes(&p, tk->hash, sizeof tk->hash);
  pg_param_int(&p, now);
  pg_param_int(&p, tk->expires_at);
  PG_PARAM_FIELD(&p, tk->scope);
  nimbus_id_t id;
  store_status_t status =
      insert_returning_id(pg_of(base), PS_TOKEN_INSERT, &p, &id, "token insert", audit);
  if (status == STORE_OK) {
    tk->id = id;
    tk->created_at = now;
    tk->revoked = false;
  }
  return status;
}

store_status_t pg_token_lookup(store_t *base, const unsigned char hash[32], int64_t now,
                               nimbus_token_t *out) {
  pg_params_t p = {0};
  pg_param_bytes(&p, hash, 32);
  pg_param_int(&p, now);
  PGresult *r;
  store_status_t status = query_row(pg_of(base), PS_TOKEN_LOOKUP, &p, &r, "token lookup");
  if (status == STORE_OK) {
    token_from_row(r, 0, out);
    PQclear(r);
  }
  return status;
}

static bool token_row(const PGresult *r, int i, pg_list_cb_t cb, void *ctx) {
  nimbus_token_t tk;
  token_from_row(r, i, &tk);
  return cb.token(&tk, ctx);
}

/* Ordered by id; revoked and expired tokens are included. */
store_status_t pg_token_list(store_t *base, nimbus_id_t tenant_id, nimbus_id_t user_id,
                             store_token_cb cb, void *ctx) {
  pg_params_t p = {0};
  pg_param_int(&p, tenant_id);
  pg_param_int(&p, user_id);
  return query_list(pg_of(base), PS_TOKEN_LIST, &p, token_row, (pg_list_cb_t){.token = cb}, ctx,
                    "token list");
}

/* Revoking an already revoked token is STORE_OK. */
store_status_t pg_token_revoke(store_t *base, nimbus_id_t tenant_id, nimbus_id_t id,
                               nimbus_id_t user_id, const store_audit_t *audit) {
  pg_params_t p = {0};
  pg_param_int(&p, id);
  pg_param_int(&p, tenant_id);
  pg_param_int(&p, user_id);
  return exec_changes(pg_of(base), PS_TOKEN_REVOKE, &p, "token revoke", audit);
}

/* ---- queues ---- */

store_status_t pg_queue_insert(store_t *base, nimbus_queue_t *q) {
  int64_t now = (int64_t)time(NULL);
  pg_params_t p = {0};
  pg_param_int(&p, q->tenant_id);
  PG_PARAM_FIELD(&p, q->name);
  PG_PARAM_FIELD(&p, q->description);
  pg_param_int(&p, q->release_immediately ? 1 : 0);
  pg_param_int(&p, q->allow_anonymous ? 1 : 0);
  pg_param_int(&p, now);
  pg_param_text(&p, OR_DEFAULT(q->release_scope, QUEUE_RELEASE_SCOPE_DEFAULT),
                sizeof q->release_scope);
  nimbus_id_t id;
  store_status_t status =
      insert_returning_id(pg_of(base), PS_QUEUE_INSERT, &p, &id, "queue insert", NULL);
  if (status == STORE_OK) {
    q->id = id;
    q->created_at = now;
    if (!q->release_scope[0])
      snprintf(q->release_scope, sizeof q->release_scope, "%s", QUEUE_RELEASE_SCOPE_DEFAULT);
  }
  return status;
}

store_status_t pg_queue_get_by_name(store_t *base, nimbus_id_t tenant_id, const char *name,
                                    nimbus_queue_t *out) {
  pg_params_t p = {0};
  pg_param_int(&p, tenant_id);
  pg_param_text(&p, name, SIZE_MAX);
  PGresult *r;
  store_status_t status = query_row(pg_of(base), PS_QUEUE_GET_BY_NAME, &p, &r, "queue get by name");
  if (status == STORE_OK) {
    queue_from_row(r, 0, out);
    PQclear(r);
  }
  return status;
}

/* Updates description, release_immediately, allow_anonymous and
 * release_scope ("" = the default) of q->id; the name is not changed. */
store_status_t pg_queue_update(store_t *base, const nimbus_queue_t *q) {
  pg_params_t p = {0};
  pg_param_int(&p, q->id);
  pg_param_int(&p, q->tenant_id);
  PG_PARAM_FIELD(&p, q->description);
  pg_param_int(&p, q->release_immediately ? 1 : 0);
  pg_param_int(&p, q->allow_anonymous ? 1 : 0);
  pg_param_text(&p, OR_DEFAULT(q->release_scope, QUEUE_RELEASE_SCOPE_DEFAULT),
                sizeof q->release_scope);
  return exec_changes(pg_of(base), PS_QUEUE_UPDATE, &p, "queue update", NULL);
}

/* In one transaction: lock the queue row (NOT_FOUND if it is not the
 * tenant's), refuse while it has live jobs, delete; its terminal jobs
 * and their documents go by cascade, their blobs become orphans. */
store_status_t pg_queue_delete(store_t *base, nimbus_id_t tenant_id, nimbus_id_t id) {
  pg_store_t *st = pg_of(base);
  pg_conn_t *c = pg_acquire(st, "queue delete");
  if (!c) return STORE_ERROR;
  pg_params_t p = {0};
  pg_param_int(&p, id);
  pg_param_int(&p, tenant_id);
  pg_params_t live = {0};
  pg_param_int(&live, tenant_id);
  pg_param_int(&live, id);
  PGresult *r = NULL;
  store_status_t status = pg_tx_begin(c);
  if (status == STORE_OK) status = pg_exec_row(c, PS_QUEUE_LOCK, &p, &r, "queue delete");
  PQclear(r);
  r = NULL;
  if (status == STORE_OK)
    status = pg_exec_row(c, PS_QUEUE_HAS_LIVE_JOBS, &live, &r, "queue delete");
  if (status == STORE_OK && pg_get_bool(r, 0, 0)) status = STORE_CONFLICT;
  PQclear(r);
  if (status == STORE_OK) status = pg_exec_changes(c, PS_QUEUE_DELETE, &p, "queue delete");
  if (status == STORE_OK) status = pg_tx_commit(c);
  if (status != STORE_OK) pg_tx_rollback(c);
  pg_release(st, c);
  return status;
}

static bool queue_row(const PGresult *r, int i, pg_list_cb_t cb, void *ctx) {
  nimbus_queue_t q;
  queue_from_row(r, i, &q);
  return cb.queue(&q, ctx);
}

/* Ordered by name. */
store_status_t pg_queue_list(store_t *base, nimbus_id_t tenant_id, store_queue_cb cb, void *ctx) {
  pg_params_t p = {0};
  pg_param_int(&p, tenant_id);
  return query_list(pg_of(base), PS_QUEUE_LIST, &p, queue_row, (pg_list_cb_t){.queue = cb}, ctx,
                    "queue list");
}

/* ---- panel sessions ---- */

static store_status_t panel_session_expire(pg_conn_t *c, int64_t now) {
  pg_params_t p = {0};
  pg_param_int(&p, now);
  return pg_exec(c, PS_PANEL_SESSION_EXPIRE, &p, NULL, "panel session expire");
}

/* Expired sessions go in passing, in the same transaction.  A user or
 * device of another tenant fails a (tenant_id, id) foreign key:
 * STORE_NOT_FOUND. */
store_status_t pg_panel_session_insert(store_t *base, nimbus_panel_session_t *ps,
                                       const store_audit_t *audit) {
  pg_store_t *st = pg_of(base);
  pg_conn_t *c = pg_acquire(st, "panel session insert");
  if (!c) return STORE_ERROR;
  int64_t now = (int64_t)time(NULL);
  pg_params_t p = {0};
  pg_param_int(&p, ps->tenant_id);
  pg_param_int(&p, ps->device_id);
  pg_param_int(&p, ps->user_id);
  pg_param_bytes(&p, ps->hash, sizeof ps->hash);
  pg_param_int(&p, now);
  pg_param_int(&p, ps->expires_at);
  PGresult *r = NULL;
  store_status_t status = pg_tx_begin(c);
  if (status == STORE_OK) status = panel_session_expire(c, now);
  if (status == STORE_OK)
    status = pg_exec(c, PS_PANEL_SESSION_INSERT, &p, &r, "panel session insert");
  if (status == STORE_OK && PQntuples(r) != 1) status = STORE_ERROR; /* RETURNING yields it */
  nimbus_id_t id = status == STORE_OK ? pg_get_int64(r, 0, 0) : 0;
  PQclear(r);
  if (status == STORE_OK) status = pg_audit_insert(c, audit, id);
  if (status == STORE_OK) status = pg_tx_commit(c);
  if (status == STORE_OK) {
    ps->id = id;
    ps->created_at = now;
  } else {
    pg_tx_rollback(c);
  }
  pg_release(st, c);
  return status;
}

store_status_t pg_panel_session_get(store_t *base, const unsigned char hash[32], int64_t now,
                                    nimbus_panel_session_t *out) {
  pg_params_t p = {0};
  pg_param_bytes(&p, hash, 32);
  pg_param_int(&p, now);
  PGresult *r;
  store_status_t status = query_row(pg_of(base), PS_PANEL_SESSION_GET, &p, &r, "panel session get");
  if (status == STORE_OK) {
    memset(out, 0, sizeof *out);
    out->id = pg_get_int64(r, 0, 0);
    out->tenant_id = pg_get_int64(r, 0, 1);
    out->device_id = pg_get_int64(r, 0, 2);
    out->user_id = pg_get_int64(r, 0, 3);
    PG_GET_FIELD(r, 0, 4, out->user_name);
    pg_get_bytes(r, 0, 5, out->hash, sizeof out->hash);
    out->created_at = pg_get_int64(r, 0, 6);
    out->expires_at = pg_get_int64(r, 0, 7);
    PQclear(r);
  }
  return status;
}

store_status_t pg_panel_session_touch(store_t *base, nimbus_id_t id, int64_t expires_at) {
  pg_params_t p = {0};
  pg_param_int(&p, id);
  pg_param_int(&p, expires_at);
  return exec_changes(pg_of(base), PS_PANEL_SESSION_TOUCH, &p, "panel session touch", NULL);
}

/* STORE_NOT_FOUND when no session has this hash (expired ones included);
 * expired sessions go in passing either way. */
store_status_t pg_panel_session_delete(store_t *base, const unsigned char hash[32], int64_t now) {
  pg_store_t *st = pg_of(base);
  pg_conn_t *c = pg_acquire(st, "panel session delete");
  if (!c) return STORE_ERROR;
  pg_params_t p = {0};
  pg_param_bytes(&p, hash, 32);
  store_status_t status = pg_tx_begin(c);
  if (status == STORE_OK)
    status = pg_exec_changes(c, PS_PANEL_SESSION_DELETE, &p, "panel session delete");
  if ((status == STORE_OK || status == STORE_NOT_FOUND) && panel_session_expire(c, now) != STORE_OK)
    status = STORE_ERROR;
  if ((status == STORE_OK || status == STORE_NOT_FOUND) && pg_tx_commit(c) != STORE_OK)
    status = STORE_ERROR;
  if (status != STORE_OK && status != STORE_NOT_FOUND) pg_tx_rollback(c);
  pg_release(st, c);
  return status;
}

/* ---- sign-in throttle (throttle.c holds the policy) ---- */

store_status_t pg_throttle_get(store_t *base, const unsigned char key[32], int64_t now,
                               int *failures, int64_t *window_start) {
  pg_params_t p = {0};
  pg_param_bytes(&p, key, 32);
  pg_param_int(&p, now);
  PGresult *r;
  store_status_t status = query_row(pg_of(base), PS_THROTTLE_GET, &p, &r, "throttle get");
  if (status == STORE_OK) {
    *failures = pg_get_int(r, 0, 0);
    *window_start = pg_get_int64(r, 0, 1);
    PQclear(r);
  }
  return status;
}

typedef struct {
  const unsigned char *key;
  const char *kind;
  int64_t now, window;
  int failures;
  int64_t window_start;
} throttle_fail_t;

static store_status_t throttle_fail_tx(pg_conn_t *c, void *arg) {
  throttle_fail_t *t = arg;
  pg_params_t expire = {0};
  pg_param_int(&expire, t->now);
  pg_params_t p = {0};
  pg_param_bytes(&p, t->key, 32);
  pg_param_int(&p, t->now);
  pg_param_int(&p, t->window);
  pg_param_text(&p, t->kind, SIZE_MAX);
  PGresult *r = NULL;
  store_status_t status = pg_exec(c, PS_THROTTLE_EXPIRE, &expire, NULL, "throttle expire");
  if (status == STORE_OK) status = pg_exec(c, PS_THROTTLE_FAIL, &p, &r, "throttle fail");
  if (status == STORE_OK && PQntuples(r) != 1) status = STORE_ERROR; /* RETURNING yields it */
  if (status == STORE_OK) {
    t->failures = pg_get_int(r, 0, 0);
    t->window_start = pg_get_int64(r, 0, 1);
  }
  PQclear(r);
  return status;
}

/* Rows of ended windows go first, in the same transaction; the upsert
 * counts atomically even when nodes fail sign-ins on one key at once (a
 * deadlock between two nodes' expiry is run again: pg_transaction). */
store_status_t pg_throttle_fail(store_t *base, const unsigned char key[32], const char *kind,
                                int64_t now, int64_t window, int *failures, int64_t *window_start) {
  throttle_fail_t t = {.key = key, .kind = kind, .now = now, .window = window};
  store_status_t status = pg_transaction(pg_of(base), throttle_fail_tx, &t, "throttle fail");
  if (status == STORE_OK) {
    *failures = t.failures;
    *window_start = t.window_start;
  }
  return status;
}

store_status_t pg_throttle_clear(store_t *base, const unsigned char key[32]) {
  pg_params_t p = {0};
  pg_param_bytes(&p, key, 32);
  return exec_changes(pg_of(base), PS_THROTTLE_CLEAR, &p, "throttle clear", NULL);
}
