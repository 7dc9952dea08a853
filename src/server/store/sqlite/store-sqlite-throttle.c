/*
 * store-sqlite-throttle.c: the auth_throttle table (migration 6): failed
 * sign-ins counted per key, shared by every node on the database.  The
 * policy (which keys, how many, how long) lives in throttle.c.
 */
#include <sqlite3.h>

#include "store-sqlite-private.h"

store_status_t sqlite_throttle_get(store_t *base_, const unsigned char key[32], int64_t now,
                                   int *failures, int64_t *window_start) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!(st = sqlite_read_lock(st))) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_THROTTLE_GET);
  if (s) {
    sqlite3_bind_blob(s, 1, key, 32, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, now);
    status = sqlite_step_row_locked(st, s, "throttle get");
    if (status == STORE_OK) {
      *failures = sqlite_column_int(s, 0);
      *window_start = sqlite3_column_int64(s, 1);
    }
    sqlite_stmt_reset(s);
  }
  sqlite_read_unlock(st);
  return status;
}

store_status_t sqlite_throttle_fail(store_t *base_, const unsigned char key[32], const char *kind,
                                    int64_t now, int64_t window, int *failures,
                                    int64_t *window_start) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  store_status_t status = sqlite_tx_begin_locked(st);
  if (status != STORE_OK) goto done;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_THROTTLE_EXPIRE);
  if (!s) {
    status = STORE_ERROR;
    goto done;
  }
  sqlite3_bind_int64(s, 1, now);
  status = sqlite_stmt_exec_locked(st, s, "throttle expire");
  if (status != STORE_OK) goto done;
  if (!(s = sqlite_stmt_get_locked(st, S_THROTTLE_FAIL))) {
    status = STORE_ERROR;
    goto done;
  }
  sqlite3_bind_blob(s, 1, key, 32, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, now);
  sqlite3_bind_int64(s, 3, window);
  sqlite3_bind_text(s, 4, kind ? kind : "", -1, SQLITE_STATIC);
  status = sqlite_step_row_locked(st, s, "throttle fail");
  if (status == STORE_OK) {
    *failures = sqlite_column_int(s, 0);
    *window_start = sqlite3_column_int64(s, 1);
  } else if (status == STORE_NOT_FOUND) {
    status = STORE_ERROR; /* RETURNING always yields the row */
  }
  sqlite_stmt_reset(s);
  if (status == STORE_OK) status = sqlite_tx_commit_locked(st);
done:
  if (status != STORE_OK) sqlite_tx_rollback_locked(st);
  sqlite_unlock(st);
  return status;
}

store_status_t sqlite_throttle_clear(store_t *base_, const unsigned char key[32]) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_THROTTLE_CLEAR);
  if (s) {
    sqlite3_bind_blob(s, 1, key, 32, SQLITE_STATIC);
    status = sqlite_exec_changes_locked(st, s, "throttle clear");
  }
  sqlite_unlock(st);
  return status;
}
