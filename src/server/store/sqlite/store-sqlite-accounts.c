/*
 * store-sqlite-accounts.c: tenants, users, API tokens and queues in the
 * SQLite backend (store.h; shared parts in store-sqlite-private.h).
 */
#include "store-sqlite-private.h"

/* Stored defaults for fields a caller left empty (the schema's CHECKs
 * accept only the documented words). */
#define TENANT_PANEL_LOGIN_DEFAULT "password"
#define TENANT_UNKNOWN_USER_NAMES_DEFAULT "refuse"
#define QUEUE_RELEASE_SCOPE_DEFAULT "this-printer"

static const char *or_default(const char *field, const char *def) {
  return field[0] ? field : def;
}

/* ---- tenants ---- */

store_status_t sqlite_tenant_insert(store_t *base_, nimbus_tenant_t *t,
                                    const store_audit_t *audit) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  if (sqlite_audit_begin_locked(st, audit) != STORE_OK) {
    sqlite_unlock(st);
    return STORE_ERROR;
  }
  store_status_t status = STORE_ERROR;
  int64_t now = (int64_t)time(NULL);
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_TENANT_INSERT);
  if (s) {
    BIND_FIELD(s, 1, t->name);
    BIND_FIELD(s, 2, t->display_name);
    sqlite3_bind_int64(s, 3, t->max_document_size);
    sqlite3_bind_int(s, 4, t->max_held_jobs_per_user);
    sqlite3_bind_int64(s, 5, now);
    sqlite3_bind_int(s, 6, t->retention_hours);
    sqlite_bind_field(s, 7, or_default(t->panel_login, TENANT_PANEL_LOGIN_DEFAULT),
                      sizeof t->panel_login);
    sqlite_bind_field(s, 8, or_default(t->unknown_user_names, TENANT_UNKNOWN_USER_NAMES_DEFAULT),
                      sizeof t->unknown_user_names);
    sqlite3_bind_int(s, 9, t->suspended ? 1 : 0);
    status = sqlite_stmt_exec_locked(st, s, "tenant insert");
    if (status == STORE_OK) {
      t->id = sqlite3_last_insert_rowid(st->db);
      t->created_at = now;
      if (!t->panel_login[0])
        snprintf(t->panel_login, sizeof t->panel_login, "%s", TENANT_PANEL_LOGIN_DEFAULT);
      if (!t->unknown_user_names[0])
        snprintf(t->unknown_user_names, sizeof t->unknown_user_names, "%s",
                 TENANT_UNKNOWN_USER_NAMES_DEFAULT);
    }
  }
  status = sqlite_audit_end_locked(st, audit, status, t->id);
  sqlite_unlock(st);
  return status;
}

static store_status_t tenant_get_stmt(sqlite_store_t *st, stmt_id_t id, nimbus_id_t key_id,
                                      const char *key_name, nimbus_tenant_t *out) {
  if (!(st = sqlite_read_lock(st))) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, id);
  if (s) {
    if (key_name) {
      sqlite_bind_str(s, 1, key_name);
    } else {
      sqlite3_bind_int64(s, 1, key_id);
    }
    status = sqlite_step_row_locked(st, s, "tenant get");
    if (status == STORE_OK) sqlite_tenant_from_row(s, out);
    sqlite_stmt_reset(s);
  }
  sqlite_read_unlock(st);
  return status;
}

store_status_t sqlite_tenant_get(store_t *base_, nimbus_id_t id, nimbus_tenant_t *out) {
  sqlite_store_t *st = sqlite_of(base_);
  return tenant_get_stmt(st, S_TENANT_GET, id, NULL, out);
}

store_status_t sqlite_tenant_get_by_name(store_t *base_, const char *name, nimbus_tenant_t *out) {
  sqlite_store_t *st = sqlite_of(base_);
  return tenant_get_stmt(st, S_TENANT_GET_BY_NAME, 0, name, out);
}

store_status_t sqlite_tenant_update(store_t *base_, const nimbus_tenant_t *t,
                                    const store_audit_t *audit) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  if (sqlite_audit_begin_locked(st, audit) != STORE_OK) {
    sqlite_unlock(st);
    return STORE_ERROR;
  }
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_TENANT_UPDATE);
  if (s) {
    sqlite3_bind_int64(s, 1, t->id);
    BIND_FIELD(s, 2, t->display_name);
    sqlite3_bind_int64(s, 3, t->max_document_size);
    sqlite3_bind_int(s, 4, t->max_held_jobs_per_user);
    sqlite3_bind_int(s, 5, t->retention_hours);
    sqlite_bind_field(s, 6, or_default(t->panel_login, TENANT_PANEL_LOGIN_DEFAULT),
                      sizeof t->panel_login);
    sqlite_bind_field(s, 7, or_default(t->unknown_user_names, TENANT_UNKNOWN_USER_NAMES_DEFAULT),
                      sizeof t->unknown_user_names);
    sqlite3_bind_int(s, 8, t->suspended ? 1 : 0);
    status = sqlite_exec_changes_locked(st, s, "tenant update");
  }
  status = sqlite_audit_end_locked(st, audit, status, 0);
  sqlite_unlock(st);
  return status;
}

/* Foreign keys cascade the delete to every table of the tenant. */
store_status_t sqlite_tenant_delete(store_t *base_, nimbus_id_t id, const store_audit_t *audit) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  if (sqlite_audit_begin_locked(st, audit) != STORE_OK) {
    sqlite_unlock(st);
    return STORE_ERROR;
  }
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_TENANT_DELETE);
  if (s) {
    sqlite3_bind_int64(s, 1, id);
    status = sqlite_exec_changes_locked(st, s, "tenant delete");
  }
  status = sqlite_audit_end_locked(st, audit, status, 0);
  sqlite_unlock(st);
  return status;
}

static bool tenant_row(sqlite3_stmt *s, list_cb_t cb, void *ctx) {
  nimbus_tenant_t t;
  sqlite_tenant_from_row(s, &t);
  return cb.tenant(&t, ctx);
}

store_status_t sqlite_tenant_list(store_t *base_, store_tenant_cb cb, void *ctx) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!(st = sqlite_read_lock(st))) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_TENANT_LIST);
  if (s)
    status = sqlite_for_each_row_locked(st, s, "tenant list", tenant_row, (list_cb_t){.tenant = cb},
                                        ctx);
  sqlite_read_unlock(st);
  return status;
}

/* ---- users ---- */

store_status_t sqlite_user_insert(store_t *base_, nimbus_user_t *u, const store_audit_t *audit) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  if (sqlite_audit_begin_locked(st, audit) != STORE_OK) {
    sqlite_unlock(st);
    return STORE_ERROR;
  }
  store_status_t status = STORE_ERROR;
  int64_t now = (int64_t)time(NULL);
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_USER_INSERT);
  if (s) {
    sqlite3_bind_int64(s, 1, u->tenant_id);
    BIND_FIELD(s, 2, u->name);
    sqlite3_bind_int(s, 3, (int)u->role);
    BIND_FIELD(s, 4, u->password_hash);
    sqlite3_bind_int64(s, 5, now);
    BIND_FIELD(s, 6, u->panel_pin_hash);
    status = sqlite_stmt_exec_locked(st, s, "user insert");
    if (status == STORE_OK) {
      u->id = sqlite3_last_insert_rowid(st->db);
      u->created_at = now;
    }
  }
  status = sqlite_audit_end_locked(st, audit, status, u->id);
  sqlite_unlock(st);
  return status;
}

store_status_t sqlite_user_get(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id,
                               nimbus_user_t *out) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!(st = sqlite_read_lock(st))) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_USER_GET);
  if (s) {
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, tenant_id);
    status = sqlite_step_row_locked(st, s, "user get");
    if (status == STORE_OK) sqlite_user_from_row(s, out);
    sqlite_stmt_reset(s);
  }
  sqlite_read_unlock(st);
  return status;
}

store_status_t sqlite_user_get_by_name(store_t *base_, nimbus_id_t tenant_id, const char *name,
                                       nimbus_user_t *out) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!(st = sqlite_read_lock(st))) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_USER_GET_BY_NAME);
  if (s) {
    sqlite3_bind_int64(s, 1, tenant_id);
    sqlite_bind_str(s, 2, name);
    status = sqlite_step_row_locked(st, s, "user get by name");
    if (status == STORE_OK) sqlite_user_from_row(s, out);
    sqlite_stmt_reset(s);
  }
  sqlite_read_unlock(st);
  return status;
}

store_status_t sqlite_user_update(store_t *base_, const nimbus_user_t *u,
                                  const store_audit_t *audit) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  if (sqlite_audit_begin_locked(st, audit) != STORE_OK) {
    sqlite_unlock(st);
    return STORE_ERROR;
  }
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_USER_UPDATE);
  if (s) {
    sqlite3_bind_int64(s, 1, u->id);
    sqlite3_bind_int64(s, 2, u->tenant_id);
    sqlite3_bind_int(s, 3, (int)u->role);
    BIND_FIELD(s, 4, u->password_hash);
    BIND_FIELD(s, 5, u->panel_pin_hash);
    status = sqlite_exec_changes_locked(st, s, "user update");
  }
  status = sqlite_audit_end_locked(st, audit, status, 0);
  sqlite_unlock(st);
  return status;
}

/* Tokens go by cascade; jobs keep owner_name and get owner_id NULL. */
store_status_t sqlite_user_delete(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id,
                                  const store_audit_t *audit) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  if (sqlite_audit_begin_locked(st, audit) != STORE_OK) {
    sqlite_unlock(st);
    return STORE_ERROR;
  }
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_USER_DELETE);
  if (s) {
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, tenant_id);
    status = sqlite_exec_changes_locked(st, s, "user delete");
  }
  status = sqlite_audit_end_locked(st, audit, status, 0);
  sqlite_unlock(st);
  return status;
}

/* ---- user aliases ---- */

store_status_t sqlite_user_get_by_alias(store_t *base_, nimbus_id_t tenant_id, const char *key,
                                        nimbus_user_t *out) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!(st = sqlite_read_lock(st))) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_USER_GET_BY_ALIAS);
  if (s) {
    sqlite3_bind_int64(s, 1, tenant_id);
    sqlite_bind_str(s, 2, key);
    status = sqlite_step_row_locked(st, s, "user get by alias");
    if (status == STORE_OK) sqlite_user_from_row(s, out);
    sqlite_stmt_reset(s);
  }
  sqlite_read_unlock(st);
  return status;
}

store_status_t sqlite_user_name_folds_to(store_t *base_, nimbus_id_t tenant_id, const char *key,
                                         nimbus_id_t except_id, nimbus_id_t *other_id) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!(st = sqlite_read_lock(st))) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_USER_NAME_FOLDS);
  if (s) {
    sqlite3_bind_int64(s, 1, tenant_id);
    sqlite_bind_str(s, 2, key);
    sqlite3_bind_int64(s, 3, except_id);
    status = sqlite_step_row_locked(st, s, "user name folds");
    if (status == STORE_OK && other_id) *other_id = sqlite3_column_int64(s, 0);
    sqlite_stmt_reset(s);
  }
  sqlite_read_unlock(st);
  return status;
}

store_status_t sqlite_alias_insert(store_t *base_, nimbus_alias_t *a, const char *key,
                                   const store_audit_t *audit) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  if (sqlite_audit_begin_locked(st, audit) != STORE_OK) {
    sqlite_unlock(st);
    return STORE_ERROR;
  }
  store_status_t status = STORE_ERROR;
  int64_t now = (int64_t)time(NULL);
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_ALIAS_INSERT);
  if (s) {
    sqlite3_bind_int64(s, 1, a->tenant_id);
    sqlite3_bind_int64(s, 2, a->user_id);
    BIND_FIELD(s, 3, a->alias);
    sqlite_bind_str(s, 4, key);
    sqlite3_bind_int64(s, 5, now);
    status = sqlite_stmt_exec_locked(st, s, "alias insert");
    if (status == STORE_OK) {
      a->id = sqlite3_last_insert_rowid(st->db);
      a->created_at = now;
    }
  }
  status = sqlite_audit_end_locked(st, audit, status, a->id);
  sqlite_unlock(st);
  return status;
}

store_status_t sqlite_alias_delete(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                   const char *key, const store_audit_t *audit) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  if (sqlite_audit_begin_locked(st, audit) != STORE_OK) {
    sqlite_unlock(st);
    return STORE_ERROR;
  }
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_ALIAS_DELETE);
  if (s) {
    sqlite3_bind_int64(s, 1, tenant_id);
    sqlite3_bind_int64(s, 2, user_id);
    sqlite_bind_str(s, 3, key);
    status = sqlite_exec_changes_locked(st, s, "alias delete");
  }
  status = sqlite_audit_end_locked(st, audit, status, 0);
  sqlite_unlock(st);
  return status;
}

static bool alias_row(sqlite3_stmt *s, list_cb_t cb, void *ctx) {
  nimbus_alias_t a;
  memset(&a, 0, sizeof a);
  a.id = sqlite3_column_int64(s, 0);
  a.tenant_id = sqlite3_column_int64(s, 1);
  a.user_id = sqlite3_column_int64(s, 2);
  sqlite_copy_column(s, 3, a.user_name, sizeof a.user_name);
  sqlite_copy_column(s, 4, a.alias, sizeof a.alias);
  a.created_at = sqlite3_column_int64(s, 5);
  return cb.alias(&a, ctx);
}

store_status_t sqlite_alias_list(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                 store_alias_cb cb, void *ctx) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!(st = sqlite_read_lock(st))) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_ALIAS_LIST);
  if (s) {
    sqlite3_bind_int64(s, 1, tenant_id);
    sqlite3_bind_int64(s, 2, user_id);
    status =
        sqlite_for_each_row_locked(st, s, "alias list", alias_row, (list_cb_t){.alias = cb}, ctx);
  }
  sqlite_read_unlock(st);
  return status;
}

static bool user_row(sqlite3_stmt *s, list_cb_t cb, void *ctx) {
  nimbus_user_t u;
  sqlite_user_from_row(s, &u);
  return cb.user(&u, ctx);
}

/* Ordered by name. */
store_status_t sqlite_user_list(store_t *base_, nimbus_id_t tenant_id, store_user_cb cb,
                                void *ctx) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!(st = sqlite_read_lock(st))) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_USER_LIST);
  if (s) {
    sqlite3_bind_int64(s, 1, tenant_id);
    status = sqlite_for_each_row_locked(st, s, "user list", user_row, (list_cb_t){.user = cb}, ctx);
  }
  sqlite_read_unlock(st);
  return status;
}

/* ---- tokens ---- */

/* A user of another tenant fails the (tenant_id, user_id) foreign key:
 * STORE_NOT_FOUND.  The token is stored unrevoked. */
store_status_t sqlite_token_insert(store_t *base_, nimbus_token_t *tk, const store_audit_t *audit) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  if (sqlite_audit_begin_locked(st, audit) != STORE_OK) {
    sqlite_unlock(st);
    return STORE_ERROR;
  }
  store_status_t status = STORE_ERROR;
  int64_t now = (int64_t)time(NULL);
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_TOKEN_INSERT);
  if (s) {
    sqlite3_bind_int64(s, 1, tk->tenant_id);
    sqlite3_bind_int64(s, 2, tk->user_id);
    BIND_FIELD(s, 3, tk->label);
    sqlite3_bind_blob(s, 4, tk->hash, (int)sizeof tk->hash, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, now);
    sqlite3_bind_int64(s, 6, tk->expires_at);
    BIND_FIELD(s, 7, tk->scope);
    status = sqlite_stmt_exec_locked(st, s, "token insert");
    if (status == STORE_OK) {
      tk->id = sqlite3_last_insert_rowid(st->db);
      tk->created_at = now;
      tk->revoked = false;
    }
  }
  status = sqlite_audit_end_locked(st, audit, status, tk->id);
  sqlite_unlock(st);
  return status;
}

store_status_t sqlite_token_lookup(store_t *base_, const unsigned char hash[32], int64_t now,
                                   nimbus_token_t *out) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!(st = sqlite_read_lock(st))) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_TOKEN_LOOKUP);
  if (s) {
    sqlite3_bind_blob(s, 1, hash, 32, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, now);
    status = sqlite_step_row_locked(st, s, "token lookup");
    if (status == STORE_OK) sqlite_token_from_row(s, out);
    sqlite_stmt_reset(s);
  }
  sqlite_read_unlock(st);
  return status;
}

static bool token_row(sqlite3_stmt *s, list_cb_t cb, void *ctx) {
  nimbus_token_t tk;
  sqlite_token_from_row(s, &tk);
  return cb.token(&tk, ctx);
}

/* Ordered by id; revoked and expired tokens are included. */
store_status_t sqlite_token_list(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                 store_token_cb cb, void *ctx) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!(st = sqlite_read_lock(st))) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_TOKEN_LIST);
  if (s) {
    sqlite3_bind_int64(s, 1, tenant_id);
    sqlite3_bind_int64(s, 2, user_id);
    status =
        sqlite_for_each_row_locked(st, s, "token list", token_row, (list_cb_t){.token = cb}, ctx);
  }
  sqlite_read_unlock(st);
  return status;
}

/* Revoking an already revoked token is STORE_OK. */
store_status_t sqlite_token_revoke(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id,
                                   nimbus_id_t user_id, const store_audit_t *audit) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  if (sqlite_audit_begin_locked(st, audit) != STORE_OK) {
    sqlite_unlock(st);
    return STORE_ERROR;
  }
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_TOKEN_REVOKE);
  if (s) {
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, tenant_id);
    sqlite3_bind_int64(s, 3, user_id);
    status = sqlite_exec_changes_locked(st, s, "token revoke");
  }
  status = sqlite_audit_end_locked(st, audit, status, 0);
  sqlite_unlock(st);
  return status;
}

/* ---- queues ---- */

store_status_t sqlite_queue_insert(store_t *base_, nimbus_queue_t *q) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  int64_t now = (int64_t)time(NULL);
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_QUEUE_INSERT);
  if (s) {
    sqlite3_bind_int64(s, 1, q->tenant_id);
    BIND_FIELD(s, 2, q->name);
    BIND_FIELD(s, 3, q->description);
    sqlite3_bind_int(s, 4, q->release_immediately ? 1 : 0);
    sqlite3_bind_int(s, 5, q->allow_anonymous ? 1 : 0);
    sqlite3_bind_int64(s, 6, now);
    sqlite_bind_field(s, 7, or_default(q->release_scope, QUEUE_RELEASE_SCOPE_DEFAULT),
                      sizeof q->release_scope);
    status = sqlite_stmt_exec_locked(st, s, "queue insert");
    if (status == STORE_OK) {
      q->id = sqlite3_last_insert_rowid(st->db);
      q->created_at = now;
      if (!q->release_scope[0])
        snprintf(q->release_scope, sizeof q->release_scope, "%s", QUEUE_RELEASE_SCOPE_DEFAULT);
    }
  }
  sqlite_unlock(st);
  return status;
}

store_status_t sqlite_queue_get_by_name(store_t *base_, nimbus_id_t tenant_id, const char *name,
                                        nimbus_queue_t *out) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!(st = sqlite_read_lock(st))) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_QUEUE_GET_BY_NAME);
  if (s) {
    sqlite3_bind_int64(s, 1, tenant_id);
    sqlite_bind_str(s, 2, name);
    status = sqlite_step_row_locked(st, s, "queue get by name");
    if (status == STORE_OK) sqlite_queue_from_row(s, out);
    sqlite_stmt_reset(s);
  }
  sqlite_read_unlock(st);
  return status;
}

/* Updates description, release_immediately, allow_anonymous and
 * release_scope ("" = the default) of q->id;
 * the name (part of the queue's URL) is not changed. */
store_status_t sqlite_queue_update(store_t *base_, const nimbus_queue_t *q) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_QUEUE_UPDATE);
  if (s) {
    sqlite3_bind_int64(s, 1, q->id);
    sqlite3_bind_int64(s, 2, q->tenant_id);
    BIND_FIELD(s, 3, q->description);
    sqlite3_bind_int(s, 4, q->release_immediately ? 1 : 0);
    sqlite3_bind_int(s, 5, q->allow_anonymous ? 1 : 0);
    sqlite_bind_field(s, 6, or_default(q->release_scope, QUEUE_RELEASE_SCOPE_DEFAULT),
                      sizeof q->release_scope);
    status = sqlite_exec_changes_locked(st, s, "queue update");
  }
  sqlite_unlock(st);
  return status;
}

/* The queue's (terminal) jobs and their documents go by cascade; their
 * blobs become orphans for blob_sweep(). */
store_status_t sqlite_queue_delete(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  store_status_t status = sqlite_tx_begin_locked(st);
  if (status != STORE_OK) goto done;

  int64_t v = 0;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_QUEUE_EXISTS);
  if (!s) {
    status = STORE_ERROR;
    goto done;
  }
  sqlite3_bind_int64(s, 1, id);
  sqlite3_bind_int64(s, 2, tenant_id);
  status = sqlite_query_int64_locked(st, s, "queue delete", &v);
  if (status != STORE_OK) goto done;
  s = sqlite_stmt_get_locked(st, S_QUEUE_HAS_LIVE_JOBS);
  if (!s) {
    status = STORE_ERROR;
    goto done;
  }
  sqlite3_bind_int64(s, 1, tenant_id);
  sqlite3_bind_int64(s, 2, id);
  status = sqlite_query_int64_locked(st, s, "queue delete", &v);
  if (status != STORE_OK) goto done;
  if (v) {
    status = STORE_CONFLICT;
    goto done;
  }
  s = sqlite_stmt_get_locked(st, S_QUEUE_DELETE);
  if (!s) {
    status = STORE_ERROR;
    goto done;
  }
  sqlite3_bind_int64(s, 1, id);
  sqlite3_bind_int64(s, 2, tenant_id);
  status = sqlite_exec_changes_locked(st, s, "queue delete");
  if (status == STORE_OK) status = sqlite_tx_commit_locked(st);

done:
  if (status != STORE_OK) sqlite_tx_rollback_locked(st);
  sqlite_unlock(st);
  return status;
}

static bool queue_row(sqlite3_stmt *s, list_cb_t cb, void *ctx) {
  nimbus_queue_t q;
  sqlite_queue_from_row(s, &q);
  return cb.queue(&q, ctx);
}

/* Ordered by name. */
store_status_t sqlite_queue_list(store_t *base_, nimbus_id_t tenant_id, store_queue_cb cb,
                                 void *ctx) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!(st = sqlite_read_lock(st))) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_QUEUE_LIST);
  if (s) {
    sqlite3_bind_int64(s, 1, tenant_id);
    status =
        sqlite_for_each_row_locked(st, s, "queue list", queue_row, (list_cb_t){.queue = cb}, ctx);
  }
  sqlite_read_unlock(st);
  return status;
}

/* ---- panel sessions ---- */

/* Expired sessions go in passing, inside the caller's transaction. */
static store_status_t panel_session_expire_locked(sqlite_store_t *st, int64_t now) {
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_PANEL_SESSION_EXPIRE);
  if (!s) return STORE_ERROR;
  sqlite3_bind_int64(s, 1, now);
  return sqlite_stmt_exec_locked(st, s, "panel session expire");
}

/* A user or device of another tenant fails a (tenant_id, id) foreign
 * key: STORE_NOT_FOUND. */
store_status_t sqlite_panel_session_insert(store_t *base_, nimbus_panel_session_t *ps,
                                           const store_audit_t *audit) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  int64_t now = (int64_t)time(NULL);
  store_status_t status = sqlite_tx_begin_locked(st);
  if (status == STORE_OK) status = panel_session_expire_locked(st, now);
  if (status != STORE_OK) goto done;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_PANEL_SESSION_INSERT);
  if (!s) {
    status = STORE_ERROR;
    goto done;
  }
  sqlite3_bind_int64(s, 1, ps->tenant_id);
  sqlite3_bind_int64(s, 2, ps->device_id);
  sqlite3_bind_int64(s, 3, ps->user_id);
  sqlite3_bind_blob(s, 4, ps->hash, (int)sizeof ps->hash, SQLITE_STATIC);
  sqlite3_bind_int64(s, 5, now);
  sqlite3_bind_int64(s, 6, ps->expires_at);
  status = sqlite_stmt_exec_locked(st, s, "panel session insert");
  nimbus_id_t id = status == STORE_OK ? sqlite3_last_insert_rowid(st->db) : 0;
  if (status == STORE_OK) status = sqlite_audit_insert_locked(st, audit, id);
  if (status == STORE_OK) status = sqlite_tx_commit_locked(st);
  if (status == STORE_OK) {
    ps->id = id;
    ps->created_at = now;
  }
done:
  if (status != STORE_OK) sqlite_tx_rollback_locked(st);
  sqlite_unlock(st);
  return status;
}

store_status_t sqlite_panel_session_get(store_t *base_, const unsigned char hash[32], int64_t now,
                                        nimbus_panel_session_t *out) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!(st = sqlite_read_lock(st))) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_PANEL_SESSION_GET);
  if (s) {
    sqlite3_bind_blob(s, 1, hash, 32, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, now);
    status = sqlite_step_row_locked(st, s, "panel session get");
    if (status == STORE_OK) {
      memset(out, 0, sizeof *out);
      out->id = sqlite3_column_int64(s, 0);
      out->tenant_id = sqlite3_column_int64(s, 1);
      out->device_id = sqlite3_column_int64(s, 2);
      out->user_id = sqlite3_column_int64(s, 3);
      sqlite_copy_column(s, 4, out->user_name, sizeof out->user_name);
      const void *h = sqlite3_column_blob(s, 5);
      if (h && sqlite3_column_bytes(s, 5) == (int)sizeof out->hash)
        memcpy(out->hash, h, sizeof out->hash);
      out->created_at = sqlite3_column_int64(s, 6);
      out->expires_at = sqlite3_column_int64(s, 7);
    }
    sqlite_stmt_reset(s);
  }
  sqlite_read_unlock(st);
  return status;
}

store_status_t sqlite_panel_session_touch(store_t *base_, nimbus_id_t id, int64_t expires_at) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_PANEL_SESSION_TOUCH);
  if (s) {
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, expires_at);
    status = sqlite_exec_changes_locked(st, s, "panel session touch");
  }
  sqlite_unlock(st);
  return status;
}

/* STORE_NOT_FOUND when no session has this hash (expired ones included). */
store_status_t sqlite_panel_session_delete(store_t *base_, const unsigned char hash[32],
                                           int64_t now) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  store_status_t status = sqlite_tx_begin_locked(st);
  if (status != STORE_OK) goto done;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_PANEL_SESSION_DELETE);
  if (!s) {
    status = STORE_ERROR;
    goto done;
  }
  sqlite3_bind_blob(s, 1, hash, 32, SQLITE_STATIC);
  status = sqlite_exec_changes_locked(st, s, "panel session delete");
  store_status_t expired =
      status == STORE_ERROR ? STORE_ERROR : panel_session_expire_locked(st, now);
  if (expired != STORE_OK) status = STORE_ERROR;
  if (status == STORE_OK || status == STORE_NOT_FOUND) {
    if (sqlite_tx_commit_locked(st) != STORE_OK) status = STORE_ERROR;
  }
done:
  if (status != STORE_OK && status != STORE_NOT_FOUND) sqlite_tx_rollback_locked(st);
  sqlite_unlock(st);
  return status;
}
