/*
 * store-sqlite-oauth.c: OAuth 2.0 device authorization grants (table
 * device_grants, migration 17) in the SQLite backend (store.h; the policy
 * is in oauth/oauth.c).
 */
#include <string.h>

#include "store-sqlite-private.h"

/* Columns of GRANT_COLS (store-sqlite.c) into *g. */
static void grant_from_row(sqlite3_stmt *s, nimbus_device_grant_t *g) {
  memset(g, 0, sizeof *g);
  g->id = sqlite3_column_int64(s, 0);
  const void *h = sqlite3_column_blob(s, 1);
  if (h && sqlite3_column_bytes(s, 1) == 32) memcpy(g->user_code_hash, h, 32);
  h = sqlite3_column_blob(s, 2);
  if (h && sqlite3_column_bytes(s, 2) == 32) memcpy(g->device_code_hash, h, 32);
  sqlite_copy_column(s, 3, g->client_id, sizeof g->client_id);
  sqlite_copy_column(s, 4, g->scope, sizeof g->scope);
  sqlite_copy_column(s, 5, g->status, sizeof g->status);
  g->tenant_id = sqlite3_column_int64(s, 6);
  g->user_id = sqlite3_column_int64(s, 7);
  g->created_at = sqlite3_column_int64(s, 8);
  g->expires_at = sqlite3_column_int64(s, 9);
  g->interval = sqlite3_column_int(s, 10);
  g->last_poll_at = sqlite3_column_int64(s, 11);
  g->token_id = sqlite3_column_int64(s, 12);
}

/* Prune grants expired a day ago, then insert unless max_pending are
 * pending (the INSERT … SELECT … WHERE count inserts no row then). */
store_status_t sqlite_device_grant_insert(store_t *base_, nimbus_device_grant_t *g,
                                          int max_pending) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_DGRANT_PRUNE);
  if (s) {
    sqlite3_bind_int64(s, 1, g->created_at);
    status = sqlite_stmt_exec_locked(st, s, "device grant prune");
  }
  s = status == STORE_OK ? sqlite_stmt_get_locked(st, S_DGRANT_INSERT) : NULL;
  if (s) {
    sqlite3_bind_blob(s, 1, g->user_code_hash, 32, SQLITE_STATIC);
    sqlite3_bind_blob(s, 2, g->device_code_hash, 32, SQLITE_STATIC);
    BIND_FIELD(s, 3, g->client_id);
    BIND_FIELD(s, 4, g->scope);
    sqlite3_bind_int64(s, 5, g->created_at);
    sqlite3_bind_int64(s, 6, g->expires_at);
    sqlite3_bind_int(s, 7, g->interval);
    sqlite3_bind_int(s, 8, max_pending);
    status = sqlite_stmt_exec_locked(st, s, "device grant insert");
    if (status == STORE_OK && sqlite3_changes(st->db) == 0) status = STORE_CONFLICT;
    if (status == STORE_OK) {
      g->id = sqlite3_last_insert_rowid(st->db);
      strcpy(g->status, "pending");
    }
  } else {
    status = STORE_ERROR;
  }
  sqlite_unlock(st);
  return status;
}

store_status_t sqlite_device_grant_get(store_t *base_, bool by_device, const unsigned char hash[32],
                                       nimbus_device_grant_t *out) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!(st = sqlite_read_lock(st))) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s =
      sqlite_stmt_get_locked(st, by_device ? S_DGRANT_GET_BY_DEVICE : S_DGRANT_GET_BY_USER);
  if (s) {
    sqlite3_bind_blob(s, 1, hash, 32, SQLITE_STATIC);
    status = sqlite_step_row_locked(st, s, "device grant get");
    if (status == STORE_OK) grant_from_row(s, out);
    sqlite_stmt_reset(s);
  }
  sqlite_read_unlock(st);
  return status;
}

store_status_t sqlite_device_grant_update(store_t *base_, const nimbus_device_grant_t *g,
                                          const char *expect_status, const store_audit_t *audit) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  store_status_t status = sqlite_audit_begin_locked(st, audit);
  if (status == STORE_OK) {
    sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_DGRANT_UPDATE);
    if (!s) {
      status = STORE_ERROR;
    } else {
      sqlite3_bind_int64(s, 1, g->id);
      BIND_FIELD(s, 2, g->status);
      sqlite3_bind_int64(s, 3, g->tenant_id);
      sqlite3_bind_int64(s, 4, g->user_id);
      sqlite3_bind_int(s, 5, g->interval);
      sqlite3_bind_int64(s, 6, g->last_poll_at);
      sqlite3_bind_int64(s, 7, g->token_id);
      sqlite3_bind_text(s, 8, expect_status, -1, SQLITE_STATIC);
      status = sqlite_exec_changes_locked(st, s, "device grant update");
    }
    status = sqlite_audit_end_locked(st, audit, status, g->id);
  }
  sqlite_unlock(st);
  return status;
}
