/*
 * store-sqlite-sessions.c: web console sessions (table web_sessions,
 * migration 15) in the SQLite backend (store.h; the policy is in
 * accounts/web-session.c).
 */
#include "store-sqlite-private.h"

store_status_t sqlite_web_session_insert(store_t *base_, nimbus_web_session_t *ws,
                                         const store_audit_t *audit) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  store_status_t status = sqlite_audit_begin_locked(st, audit);
  nimbus_id_t id = 0;
  if (status == STORE_OK) {
    sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_WEB_SESSION_INSERT);
    if (!s) {
      status = STORE_ERROR;
    } else {
      sqlite3_bind_int64(s, 1, ws->tenant_id);
      sqlite3_bind_int64(s, 2, ws->user_id);
      sqlite3_bind_blob(s, 3, ws->hash, (int)sizeof ws->hash, SQLITE_STATIC);
      sqlite3_bind_int64(s, 4, ws->created_at);
      sqlite3_bind_int64(s, 5, ws->last_seen_at);
      sqlite3_bind_int64(s, 6, ws->expires_at);
      status = sqlite_stmt_exec_locked(st, s, "web session insert");
      if (status == STORE_OK) id = sqlite3_last_insert_rowid(st->db);
    }
    status = sqlite_audit_end_locked(st, audit, status, id);
  }
  if (status == STORE_OK) ws->id = id;
  sqlite_unlock(st);
  return status;
}

store_status_t sqlite_web_session_get(store_t *base_, const unsigned char hash[32], int64_t now,
                                      int64_t idle, nimbus_web_session_t *out) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!(st = sqlite_read_lock(st))) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_WEB_SESSION_GET);
  if (s) {
    sqlite3_bind_blob(s, 1, hash, 32, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, now);
    sqlite3_bind_int64(s, 3, idle);
    status = sqlite_step_row_locked(st, s, "web session get");
    if (status == STORE_OK) {
      memset(out, 0, sizeof *out);
      out->id = sqlite3_column_int64(s, 0);
      out->tenant_id = sqlite3_column_int64(s, 1);
      out->user_id = sqlite3_column_int64(s, 2);
      const void *h = sqlite3_column_blob(s, 3);
      if (h && sqlite3_column_bytes(s, 3) == (int)sizeof out->hash)
        memcpy(out->hash, h, sizeof out->hash);
      out->created_at = sqlite3_column_int64(s, 4);
      out->last_seen_at = sqlite3_column_int64(s, 5);
      out->expires_at = sqlite3_column_int64(s, 6);
    }
    sqlite_stmt_reset(s);
  }
  sqlite_read_unlock(st);
  return status;
}

/* One statement binding (id) or (a, b) and deleting or updating rows;
 * STORE_NOT_FOUND when none changed and `none_ok` is false. */
static store_status_t web_session_exec(sqlite_store_t *st, stmt_id_t id, int nargs, int64_t a,
                                       int64_t b, bool none_ok, int *changes, const char *what) {
  if (!sqlite_lock(st)) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, id);
  if (s) {
    sqlite3_bind_int64(s, 1, a);
    if (nargs > 1) sqlite3_bind_int64(s, 2, b);
    status = sqlite_stmt_exec_locked(st, s, what);
    int n = status == STORE_OK ? sqlite3_changes(st->db) : 0;
    if (changes) *changes = n;
    if (status == STORE_OK && n == 0 && !none_ok) status = STORE_NOT_FOUND;
  }
  sqlite_unlock(st);
  return status;
}

store_status_t sqlite_web_session_touch(store_t *base_, nimbus_id_t id, int64_t now) {
  return web_session_exec(sqlite_of(base_), S_WEB_SESSION_TOUCH, 2, id, now, true, NULL,
                          "web session touch");
}

store_status_t sqlite_web_session_delete(store_t *base_, const unsigned char hash[32],
                                         const store_audit_t *audit) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  store_status_t status = sqlite_audit_begin_locked(st, audit);
  if (status == STORE_OK) {
    sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_WEB_SESSION_DELETE);
    if (!s) {
      status = STORE_ERROR;
    } else {
      sqlite3_bind_blob(s, 1, hash, 32, SQLITE_STATIC);
      status = sqlite_exec_changes_locked(st, s, "web session delete");
    }
    status = sqlite_audit_end_locked(st, audit, status, 0);
  }
  sqlite_unlock(st);
  return status;
}

store_status_t sqlite_web_session_delete_user(store_t *base_, nimbus_id_t tenant_id,
                                              nimbus_id_t user_id) {
  return web_session_exec(sqlite_of(base_), S_WEB_SESSION_DELETE_USER, 2, tenant_id, user_id, true,
                          NULL, "web session delete user");
}

store_status_t sqlite_web_session_delete_tenant(store_t *base_, nimbus_id_t tenant_id) {
  return web_session_exec(sqlite_of(base_), S_WEB_SESSION_DELETE_TENANT, 1, tenant_id, 0, true,
                          NULL, "web session delete tenant");
}

store_status_t sqlite_web_session_sweep(store_t *base_, int64_t now, int64_t idle, int *n) {
  return web_session_exec(sqlite_of(base_), S_WEB_SESSION_SWEEP, 2, now, idle, true, n,
                          "web session sweep");
}
