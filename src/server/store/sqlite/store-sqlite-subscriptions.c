/*
 * store-sqlite-subscriptions.c: the subscriptions table (migration 12),
 * the devices' IPP event subscriptions that every node sharing the
 * database knows.  The policy (limits, leases, what an event reaches)
 * lives in notify/notify.c.
 */
#include <time.h>

#include "store-sqlite-private.h"

static void subscription_from_row(sqlite3_stmt *s, nimbus_subscription_t *out) {
  memset(out, 0, sizeof *out);
  out->id = sqlite_column_int(s, 0);
  out->tenant_id = sqlite3_column_int64(s, 1);
  out->queue_id = sqlite3_column_int64(s, 2);
  out->device_id = sqlite3_column_int64(s, 3);
  out->job_id = sqlite3_column_int64(s, 4);
  out->events = (unsigned)sqlite3_column_int64(s, 5);
  out->lease_seconds = sqlite_column_int(s, 6);
  out->created_at = sqlite3_column_int64(s, 7);
  out->expires_at = sqlite3_column_int64(s, 8);
}

store_status_t sqlite_subscription_insert(store_t *base_, nimbus_subscription_t *sub) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_SUB_INSERT);
  if (s) {
    int64_t now = (int64_t)time(NULL);
    sqlite3_bind_int64(s, 1, sub->tenant_id);
    sqlite3_bind_int64(s, 2, sub->queue_id);
    sqlite3_bind_int64(s, 3, sub->device_id);
    sqlite3_bind_int64(s, 4, sub->job_id);
    sqlite3_bind_int64(s, 5, sub->events);
    sqlite3_bind_int(s, 6, sub->lease_seconds);
    sqlite3_bind_int64(s, 7, now);
    sqlite3_bind_int64(s, 8, sub->expires_at);
    status = sqlite_stmt_exec_locked(st, s, "subscription insert");
    if (status == STORE_OK) {
      sqlite3_int64 id = sqlite3_last_insert_rowid(st->db);
      /* an IPP integer; AUTOINCREMENT gets there after 2^31 subscriptions */
      if (id > 0x7fffffff) {
        log_event(LOG_ERROR, NULL, "subscription ids are used up", (char *)NULL);
        status = STORE_ERROR;
      }
      sub->id = (int)id;
      sub->created_at = now;
    }
  }
  sqlite_unlock(st);
  return status;
}

store_status_t sqlite_subscription_get(store_t *base_, int id, int64_t now,
                                       nimbus_subscription_t *out) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!(st = sqlite_read_lock(st))) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_SUB_GET);
  if (s) {
    sqlite3_bind_int(s, 1, id);
    sqlite3_bind_int64(s, 2, now);
    status = sqlite_step_row_locked(st, s, "subscription get");
    if (status == STORE_OK) subscription_from_row(s, out);
    sqlite_stmt_reset(s);
  }
  sqlite_read_unlock(st);
  return status;
}

store_status_t sqlite_subscription_list(store_t *base_, nimbus_id_t device_id, int64_t now,
                                        nimbus_subscription_t *out, int max, int *count) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!(st = sqlite_read_lock(st))) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_SUB_LIST);
  if (s) {
    sqlite3_bind_int64(s, 1, device_id);
    sqlite3_bind_int64(s, 2, now);
    sqlite3_bind_int(s, 3, max);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && *count < max)
      subscription_from_row(s, &out[(*count)++]);
    status = rc == SQLITE_ROW || rc == SQLITE_DONE
                 ? STORE_OK
                 : sqlite_fail_locked(st, rc, "subscription list");
    sqlite_stmt_reset(s);
  }
  sqlite_read_unlock(st);
  return status;
}

/* One write statement with up to four integer parameters; NOT_FOUND when
 * it changed no row, else the number changed in *changes (may be NULL). */
static store_status_t subscription_write(sqlite_store_t *st, stmt_id_t which, int64_t a, int64_t b,
                                         int64_t c, int64_t d, const char *what, int *changes) {
  if (!sqlite_lock(st)) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, which);
  if (s) {
    int n = sqlite3_bind_parameter_count(s);
    const int64_t v[] = {a, b, c, d};
    for (int i = 0; i < n && i < 4; i++) sqlite3_bind_int64(s, i + 1, v[i]);
    status = sqlite_exec_changes_locked(st, s, what);
    if (status == STORE_OK && changes) *changes = sqlite3_changes(st->db);
  }
  sqlite_unlock(st);
  return status;
}

store_status_t sqlite_subscription_renew(store_t *base_, int id, nimbus_id_t device_id,
                                         int lease_seconds, int64_t expires_at) {
  return subscription_write(sqlite_of(base_), S_SUB_RENEW, id, device_id, lease_seconds, expires_at,
                            "subscription renew", NULL);
}

store_status_t sqlite_subscription_delete(store_t *base_, int id, nimbus_id_t device_id) {
  return subscription_write(sqlite_of(base_), S_SUB_DELETE, id, device_id, 0, 0,
                            "subscription delete", NULL);
}

store_status_t sqlite_subscription_sweep(store_t *base_, int64_t now, int *removed) {
  sqlite_store_t *st = sqlite_of(base_);
  store_status_t status =
      subscription_write(st, S_SUB_SWEEP, now, 0, 0, 0, "subscription sweep", removed);
  return status == STORE_NOT_FOUND ? STORE_OK : status; /* NOT_FOUND: nothing expired */
}
