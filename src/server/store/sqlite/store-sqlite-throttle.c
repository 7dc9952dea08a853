/*
 * store-sqlite-throttle.c: the auth_throttle table (migration 6): failed
 * sign-ins counted per key, shared by every node on the database.  The
 * policy (which keys, how many, how long) lives in throttle.c.
 */
#include <sqlite3.h>

#include "store-sqlite-private.h"

store_status_t store_throttle_get(store_t *st, const unsigned char key[32], int64_t now,
                                  int *failures, int64_t *window_start) {
  if (!store_lock(st)) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = stmt_get_locked(st, S_THROTTLE_GET);
  if (s) {
    sqlite3_bind_blob(s, 1, key, 32, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, now);
    status = step_row_locked(st, s, "throttle get");
    if (status == STORE_OK) {
      *failures = column_int(s, 0);
      *window_start = sqlite3_column_int64(s, 1);
    }
    stmt_reset(s);
  }
  store_unlock(st);
  return status;
}

store_status_t store_throttle_fail(store_t *st, const unsigned char key[32], const char *kind,
                                   int64_t now, int64_t window, int *failures,
                                   int64_t *window_start) {
  if (!store_lock(st)) return STORE_ERROR;
  store_status_t status = tx_begin_locked(st);
  if (status != STORE_OK) goto done;
  sqlite3_stmt *s = stmt_get_locked(st, S_THROTTLE_EXPIRE);
  if (!s) {
    status = STORE_ERROR;
    goto done;
  }
  sqlite3_bind_int64(s, 1, now);
  status = stmt_exec_locked(st, s, "throttle expire");
  if (status != STORE_OK) goto done;
  if (!(s = stmt_get_locked(st, S_THROTTLE_FAIL))) {
    status = STORE_ERROR;
    goto done;
  }
  sqlite3_bind_blob(s, 1, key, 32, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, now);
  sqlite3_bind_int64(s, 3, window);
  sqlite3_bind_text(s, 4, kind ? kind : "", -1, SQLITE_STATIC);
  status = step_row_locked(st, s, "throttle fail");
  if (status == STORE_OK) {
    *failures = column_int(s, 0);
    *window_start = sqlite3_column_int64(s, 1);
  } else if (status == STORE_NOT_FOUND) {
    status = STORE_ERROR; /* RETURNING always yields the row */
  }
  stmt_reset(s);
  if (status == STORE_OK) status = tx_commit_locked(st);
done:
  if (status != STORE_OK) tx_rollback_locked(st);
  store_unlock(st);
  return status;
}

store_status_t store_throttle_clear(store_t *st, const unsigned char key[32]) {
  if (!store_lock(st)) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = stmt_get_locked(st, S_THROTTLE_CLEAR);
  if (s) {
    sqlite3_bind_blob(s, 1, key, 32, SQLITE_STATIC);
    status = exec_changes_locked(st, s, "throttle clear");
  }
  store_unlock(st);
  return status;
}
