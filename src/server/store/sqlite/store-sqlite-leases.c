/*
 * store-sqlite-leases.c: the sweep_leases table (migration 11): which node
 * runs each periodic sweep, shared by every node on the database.  The
 * policy (which sweeps, how long a lease lasts) lives in housekeeping.c.
 */
#include "store-sqlite-private.h"

store_status_t sqlite_lease_take(store_t *base_, const char *name, const char *holder, int64_t now,
                                 int ttl, bool *held) {
  sqlite_store_t *st = sqlite_of(base_);
  *held = false;
  if (!sqlite_lock(st)) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_LEASE_TAKE);
  if (s) {
    sqlite_bind_str(s, 1, name);
    sqlite_bind_str(s, 2, holder);
    sqlite3_bind_int64(s, 3, now);
    sqlite3_bind_int(s, 4, ttl);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
      *held = rc == SQLITE_ROW;
      status = STORE_OK;
    } else {
      status = sqlite_fail_locked(st, rc, "lease take");
    }
    sqlite_stmt_reset(s);
  }
  sqlite_unlock(st);
  return status;
}
