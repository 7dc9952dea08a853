/*
 * store-sqlite-services.c: the smart services (docs/PROVISIONING.md §10,
 * §11; migration 22) in the SQLite backend: printer service
 * configurations, backup snapshots, supply levels and orders, part
 * counters and alerts, and their delivery state (store.h "smart services").
 * The policy (thresholds, schedules, retention, back-off) is in
 * src/server/services/.
 */
#include "store-sqlite-private.h"

#include <stdlib.h>
#include <time.h>

#define SVC_COLS "device_id, tenant_id, service, contract_id, settings_json, enabled, updated_at"
#define BACKUP_META "id, tenant_id, device_id, mode, base_id"
#define ORDER_COLS                                                                         \
  "id, tenant_id, device_id, contract_id, supply, type, episode, level, state, attempts, " \
  "next_at, created_at, sent_at"
#define ALERT_COLS                                                                              \
  "id, tenant_id, device_id, contract_id, part, cycle, impressions, state, attempts, next_at, " \
  "created_at, sent_at"
/* The full-snapshot ids a device keeps (?1 device, ?2 how many). */
#define KEPT_FULL \
  "SELECT id FROM backups WHERE device_id = ?1 AND mode = 1 ORDER BY id DESC LIMIT ?2"

static const char *const service_sql[S_COUNT - S_SERVICE_FIRST] = {
#define V(id) [(id)-S_SERVICE_FIRST]
    V(S_SVC_PUT) = "INSERT INTO printer_services (" SVC_COLS
                   ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
                   "ON CONFLICT (device_id, service) DO UPDATE SET tenant_id = excluded.tenant_id, "
                   "contract_id = excluded.contract_id, settings_json = excluded.settings_json, "
                   "enabled = excluded.enabled, updated_at = excluded.updated_at",
    V(S_SVC_GET) =
        "SELECT " SVC_COLS " FROM printer_services WHERE device_id = ?1 AND service = ?2",
    V(S_SVC_LIST) =
        "SELECT " SVC_COLS " FROM printer_services WHERE device_id = ?1 ORDER BY service",
    V(S_SVC_DISABLE) =
        "UPDATE printer_services SET enabled = 0, updated_at = ?3 "
        "WHERE tenant_id = ?1 AND contract_id = ?2 AND enabled = 1",
    V(S_BACKUP_INSERT) =
        "INSERT INTO backups (tenant_id, device_id, mode, base_id, json, size, "
        "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    V(S_BACKUP_GET) = "SELECT " BACKUP_META
                      ", json, size, created_at FROM backups WHERE id = ?1 AND tenant_id = ?2",
    V(S_BACKUP_LIST) = "SELECT " BACKUP_META
                       ", NULL, size, created_at FROM backups WHERE tenant_id = ?1 "
                       "AND device_id = ?2 ORDER BY id DESC",
    V(S_BACKUP_PRUNE) =
        "DELETE FROM backups WHERE device_id = ?1 AND ((mode = 1 AND id NOT IN "
        "(" KEPT_FULL
        ")) OR (mode = 2 AND (base_id IS NULL OR base_id NOT IN "
        "(" KEPT_FULL "))))",
    V(S_LEVEL_GET) = "SELECT episode, open FROM supply_levels WHERE device_id = ?1 AND supply = ?2",
    V(S_LEVEL_PUT) =
        "INSERT INTO supply_levels (device_id, tenant_id, supply, type, level, episode, "
        "open, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
        "ON CONFLICT (device_id, supply) DO UPDATE SET tenant_id = excluded.tenant_id, "
        "type = excluded.type, level = excluded.level, episode = excluded.episode, "
        "open = excluded.open, updated_at = excluded.updated_at",
    V(S_ORDER_INSERT) =
        "INSERT INTO supply_orders (tenant_id, device_id, contract_id, supply, "
        "type, episode, level, state, attempts, next_at, created_at, sent_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, 0, ?8, ?8, 0) "
        "ON CONFLICT (device_id, supply, episode) DO NOTHING",
    V(S_ORDER_LIST) = "SELECT " ORDER_COLS
                      " FROM supply_orders WHERE (?1 = 0 OR tenant_id = ?1) "
                      "AND (?2 = 0 OR (state = 1 AND next_at <= ?2)) ORDER BY id DESC LIMIT ?3",
    V(S_ORDER_MARK) =
        "UPDATE supply_orders SET state = ?2, attempts = ?3, next_at = ?4, "
        "sent_at = ?5 WHERE id = ?1",
    V(S_COUNTER_GET) =
        "SELECT device_id, part, replaced_at, cycle FROM part_counters "
        "WHERE device_id = ?1 AND part = ?2",
    V(S_COUNTER_REPLACED) =
        "INSERT INTO part_counters (device_id, tenant_id, part, replaced_at, cycle) "
        "VALUES (?1, ?2, ?3, ?4, 2) ON CONFLICT (device_id, part) DO UPDATE SET "
        "replaced_at = excluded.replaced_at, cycle = part_counters.cycle + 1",
    V(S_ALERT_INSERT) =
        "INSERT INTO part_alerts (tenant_id, device_id, contract_id, part, cycle, "
        "impressions, state, attempts, next_at, created_at, sent_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, 0, ?7, ?7, 0) "
        "ON CONFLICT (device_id, part, cycle) DO NOTHING",
    V(S_ALERT_LIST) = "SELECT " ALERT_COLS
                      " FROM part_alerts WHERE (?1 = 0 OR tenant_id = ?1) "
                      "AND (?2 = 0 OR (state = 1 AND next_at <= ?2)) ORDER BY id DESC LIMIT ?3",
    V(S_ALERT_MARK) =
        "UPDATE part_alerts SET state = ?2, attempts = ?3, next_at = ?4, "
        "sent_at = ?5 WHERE id = ?1",
#undef V
};

const char *sqlite_service_sql(stmt_id_t id) {
  return id >= S_SERVICE_FIRST && id < S_COUNT ? service_sql[id - S_SERVICE_FIRST] : NULL;
}

#define COPY(s, col, arr) sqlite_copy_column((s), (col), (arr), sizeof(arr))

/* A text column as a malloc'd string ("" for NULL); NULL when out of memory. */
static char *dup_text(sqlite3_stmt *s, int col) {
  const unsigned char *t = sqlite3_column_text(s, col);
  return strdup(t ? (const char *)t : "");
}

/* One statement bound by bind(s, arg), run under the write lock. */
static store_status_t write_one(sqlite_store_t *st, stmt_id_t id, sqlite_bind_fn bind,
                                const void *arg, const char *what) {
  if (!sqlite_lock(st)) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, id);
  if (s) {
    bind(s, arg);
    status = sqlite_stmt_exec_locked(st, s, what);
  }
  sqlite_unlock(st);
  return status;
}

/* ---- printer services ---- */

/* The row without settings_json (read by the caller). */
static void service_from_row(sqlite3_stmt *s, nimbus_printer_service_t *v) {
  memset(v, 0, sizeof *v);
  v->device_id = sqlite3_column_int64(s, 0);
  v->tenant_id = sqlite3_column_int64(s, 1);
  COPY(s, 2, v->service);
  v->contract_id = sqlite3_column_int64(s, 3);
  v->enabled = sqlite3_column_int(s, 5) != 0;
  v->updated_at = sqlite3_column_int64(s, 6);
}

static void bind_service(sqlite3_stmt *s, const void *arg) {
  const nimbus_printer_service_t *v = arg;
  sqlite3_bind_int64(s, 1, v->device_id);
  sqlite3_bind_int64(s, 2, v->tenant_id);
  BIND_FIELD(s, 3, v->service);
  sqlite3_bind_int64(s, 4, v->contract_id);
  sqlite_bind_str(s, 5, v->settings_json ? v->settings_json : "{}");
  sqlite3_bind_int(s, 6, v->enabled ? 1 : 0);
  sqlite3_bind_int64(s, 7, (int64_t)time(NULL));
}

store_status_t sqlite_printer_service_put_locked(sqlite_store_t *st,
                                                 const nimbus_printer_service_t *v) {
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_SVC_PUT);
  if (!s) return STORE_ERROR;
  bind_service(s, v);
  return sqlite_stmt_exec_locked(st, s, "printer service put");
}

store_status_t sqlite_printer_service_put(store_t *base_, const nimbus_printer_service_t *v) {
  return write_one(sqlite_of(base_), S_SVC_PUT, bind_service, v, "printer service put");
}

typedef struct {
  nimbus_printer_service_t *out;
  bool oom;
} service_read_t;

static void read_service(sqlite3_stmt *s, void *arg) {
  service_read_t *r = arg;
  service_from_row(s, r->out);
  r->out->settings_json = dup_text(s, 4);
  r->oom = !r->out->settings_json;
}

store_status_t sqlite_printer_service_get(store_t *base_, nimbus_id_t device_id,
                                          const char *service, nimbus_printer_service_t *out) {
  const int64_t ints[] = {device_id};
  service_read_t r = {.out = out};
  store_status_t status = sqlite_read_one_row(sqlite_of(base_), S_SVC_GET, ints, 1, service,
                                              read_service, &r, "printer service get");
  return status == STORE_OK && r.oom ? STORE_ERROR : status;
}

static bool service_row(sqlite3_stmt *s, list_cb_t cb, void *ctx) {
  nimbus_printer_service_t v;
  service_from_row(s, &v);
  const unsigned char *t = sqlite3_column_text(s, 4);
  v.settings_json = (char *)(t ? (const char *)t : "");
  return cb.printer_service(&v, ctx);
}

static void bind_device(sqlite3_stmt *s, const void *arg) {
  sqlite3_bind_int64(s, 1, *(const nimbus_id_t *)arg);
}

store_status_t sqlite_printer_service_list(store_t *base_, nimbus_id_t device_id,
                                           store_printer_service_cb cb, void *ctx) {
  return sqlite_read_rows(sqlite_of(base_), S_SVC_LIST, bind_device, &device_id, service_row,
                          (list_cb_t){.printer_service = cb}, ctx, "printer service list");
}

static void bind_disable(sqlite3_stmt *s, const void *arg) {
  const nimbus_id_t *ids = arg;
  sqlite3_bind_int64(s, 1, ids[0]);
  sqlite3_bind_int64(s, 2, ids[1]);
  sqlite3_bind_int64(s, 3, (int64_t)time(NULL));
}

store_status_t sqlite_printer_service_disable_contract(store_t *base_, nimbus_id_t tenant_id,
                                                       nimbus_id_t contract_id) {
  const nimbus_id_t ids[2] = {tenant_id, contract_id};
  return write_one(sqlite_of(base_), S_SVC_DISABLE, bind_disable, ids, "printer service disable");
}

/* ---- backups ---- */

static void backup_from_row(sqlite3_stmt *s, nimbus_backup_t *b) {
  memset(b, 0, sizeof *b);
  b->id = sqlite3_column_int64(s, 0);
  b->tenant_id = sqlite3_column_int64(s, 1);
  b->device_id = sqlite3_column_int64(s, 2);
  b->mode = (nimbus_backup_mode_t)sqlite3_column_int(s, 3);
  b->base_id = sqlite3_column_int64(s, 4);
  b->size = sqlite3_column_int64(s, 6);
  b->created_at = sqlite3_column_int64(s, 7);
}

store_status_t sqlite_backup_insert(store_t *base_, nimbus_backup_t *b) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!b->json) return STORE_ERROR;
  if (!sqlite_lock(st)) return STORE_ERROR;
  int64_t now = (int64_t)time(NULL), size = (int64_t)strlen(b->json);
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_BACKUP_INSERT);
  if (s) {
    sqlite3_bind_int64(s, 1, b->tenant_id);
    sqlite3_bind_int64(s, 2, b->device_id);
    sqlite3_bind_int(s, 3, (int)b->mode);
    sqlite_bind_id_or_null(s, 4, b->base_id);
    sqlite3_bind_text(s, 5, b->json, (int)size, SQLITE_STATIC);
    sqlite3_bind_int64(s, 6, size);
    sqlite3_bind_int64(s, 7, now);
    status = sqlite_stmt_exec_locked(st, s, "backup insert");
    if (status == STORE_OK) {
      b->id = sqlite3_last_insert_rowid(st->db);
      b->created_at = now;
      b->size = size;
    }
  }
  sqlite_unlock(st);
  return status;
}

typedef struct {
  nimbus_backup_t *out;
  bool oom;
} backup_read_t;

static void read_backup(sqlite3_stmt *s, void *arg) {
  backup_read_t *r = arg;
  backup_from_row(s, r->out);
  r->out->json = dup_text(s, 5);
  r->oom = !r->out->json;
}

store_status_t sqlite_backup_get(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id,
                                 nimbus_backup_t *out) {
  const int64_t ints[] = {id, tenant_id};
  backup_read_t r = {.out = out};
  store_status_t status = sqlite_read_one_row(sqlite_of(base_), S_BACKUP_GET, ints, 2, NULL,
                                              read_backup, &r, "backup get");
  return status == STORE_OK && r.oom ? STORE_ERROR : status;
}

static bool backup_row(sqlite3_stmt *s, list_cb_t cb, void *ctx) {
  nimbus_backup_t b;
  backup_from_row(s, &b);
  return cb.backup(&b, ctx);
}

static void bind_two(sqlite3_stmt *s, const void *arg) {
  const int64_t *v = arg;
  sqlite3_bind_int64(s, 1, v[0]);
  sqlite3_bind_int64(s, 2, v[1]);
}

store_status_t sqlite_backup_list(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t device_id,
                                  store_backup_cb cb, void *ctx) {
  const int64_t v[2] = {tenant_id, device_id};
  return sqlite_read_rows(sqlite_of(base_), S_BACKUP_LIST, bind_two, v, backup_row,
                          (list_cb_t){.backup = cb}, ctx, "backup list");
}

store_status_t sqlite_backup_prune(store_t *base_, nimbus_id_t device_id, int keep_full,
                                   int *deleted) {
  sqlite_store_t *st = sqlite_of(base_);
  if (deleted) *deleted = 0;
  if (!sqlite_lock(st)) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_BACKUP_PRUNE);
  if (s) {
    sqlite3_bind_int64(s, 1, device_id);
    sqlite3_bind_int64(s, 2, keep_full > 0 ? keep_full : 1);
    /* total changes: the differentials their full snapshot's delete
     * cascaded to are not in sqlite3_changes() */
    int before = sqlite3_total_changes(st->db);
    status = sqlite_stmt_exec_locked(st, s, "backup prune");
    if (status == STORE_OK && deleted) *deleted = sqlite3_total_changes(st->db) - before;
  }
  sqlite_unlock(st);
  return status;
}

/* ---- supplies ---- */

/* The level row, episode and order of one report, inside the caller's
 * transaction. */
static store_status_t supply_report_locked(sqlite_store_t *st, const store_supply_report_t *r,
                                           int64_t now, nimbus_supply_order_t *order) {
  static const char what[] = "supply report";
  int episode = 0;
  bool open = false;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_LEVEL_GET);
  if (!s) return STORE_ERROR;
  sqlite3_bind_int64(s, 1, r->device_id);
  sqlite_bind_str(s, 2, r->supply);
  store_status_t status = sqlite_step_row_locked(st, s, what);
  if (status == STORE_OK) {
    episode = sqlite3_column_int(s, 0);
    open = sqlite3_column_int(s, 1) != 0;
  }
  sqlite_stmt_reset(s);
  if (status != STORE_OK && status != STORE_NOT_FOUND) return status;
  bool new_order = r->low && !open;
  if (new_order) episode++;
  open = r->low;
  if (!(s = sqlite_stmt_get_locked(st, S_LEVEL_PUT))) return STORE_ERROR;
  sqlite3_bind_int64(s, 1, r->device_id);
  sqlite3_bind_int64(s, 2, r->tenant_id);
  sqlite_bind_str(s, 3, r->supply);
  sqlite_bind_str(s, 4, r->type ? r->type : "");
  sqlite3_bind_int(s, 5, r->level);
  sqlite3_bind_int(s, 6, episode);
  sqlite3_bind_int(s, 7, open ? 1 : 0);
  sqlite3_bind_int64(s, 8, now);
  if ((status = sqlite_stmt_exec_locked(st, s, what)) != STORE_OK || !new_order) return status;
  if (!(s = sqlite_stmt_get_locked(st, S_ORDER_INSERT))) return STORE_ERROR;
  sqlite3_bind_int64(s, 1, r->tenant_id);
  sqlite3_bind_int64(s, 2, r->device_id);
  sqlite3_bind_int64(s, 3, r->contract_id);
  sqlite_bind_str(s, 4, r->supply);
  sqlite_bind_str(s, 5, r->type ? r->type : "");
  sqlite3_bind_int(s, 6, episode);
  sqlite3_bind_int(s, 7, r->level);
  sqlite3_bind_int64(s, 8, now);
  if ((status = sqlite_stmt_exec_locked(st, s, what)) != STORE_OK) return status;
  if (sqlite3_changes(st->db) == 0) return STORE_OK; /* that episode has its order */
  order->id = sqlite3_last_insert_rowid(st->db);
  order->tenant_id = r->tenant_id;
  order->device_id = r->device_id;
  order->contract_id = r->contract_id;
  snprintf(order->supply, sizeof order->supply, "%s", r->supply);
  snprintf(order->type, sizeof order->type, "%s", r->type ? r->type : "");
  order->episode = episode;
  order->level = r->level;
  order->state = NIMBUS_DELIVERY_PENDING;
  order->next_at = order->created_at = now;
  return STORE_OK;
}

store_status_t sqlite_supply_report(store_t *base_, const store_supply_report_t *r,
                                    nimbus_supply_order_t *order) {
  sqlite_store_t *st = sqlite_of(base_);
  memset(order, 0, sizeof *order);
  if (!r->supply) return STORE_ERROR;
  if (!sqlite_lock(st)) return STORE_ERROR;
  store_status_t status = sqlite_tx_begin_locked(st);
  if (status == STORE_OK) {
    status = supply_report_locked(st, r, (int64_t)time(NULL), order);
    if (status == STORE_OK) status = sqlite_tx_commit_locked(st);
    if (status != STORE_OK) {
      sqlite_tx_rollback_locked(st);
      memset(order, 0, sizeof *order);
    }
  }
  sqlite_unlock(st);
  return status;
}

static void bind_filter(sqlite3_stmt *s, const void *arg) {
  const store_delivery_filter_t *f = arg;
  sqlite3_bind_int64(s, 1, f->tenant_id);
  sqlite3_bind_int64(s, 2, f->due_at);
  sqlite3_bind_int(s, 3, f->limit > 0 ? f->limit : 500);
}

static bool order_row(sqlite3_stmt *s, list_cb_t cb, void *ctx) {
  nimbus_supply_order_t o;
  memset(&o, 0, sizeof o);
  o.id = sqlite3_column_int64(s, 0);
  o.tenant_id = sqlite3_column_int64(s, 1);
  o.device_id = sqlite3_column_int64(s, 2);
  o.contract_id = sqlite3_column_int64(s, 3);
  COPY(s, 4, o.supply);
  COPY(s, 5, o.type);
  o.episode = sqlite3_column_int(s, 6);
  o.level = sqlite3_column_int(s, 7);
  o.state = (nimbus_delivery_state_t)sqlite3_column_int(s, 8);
  o.attempts = sqlite3_column_int(s, 9);
  o.next_at = sqlite3_column_int64(s, 10);
  o.created_at = sqlite3_column_int64(s, 11);
  o.sent_at = sqlite3_column_int64(s, 12);
  return cb.supply_order(&o, ctx);
}

store_status_t sqlite_supply_order_list(store_t *base_, const store_delivery_filter_t *f,
                                        store_supply_order_cb cb, void *ctx) {
  return sqlite_read_rows(sqlite_of(base_), S_ORDER_LIST, bind_filter, f, order_row,
                          (list_cb_t){.supply_order = cb}, ctx, "supply order list");
}

/* ---- parts ---- */

static bool alert_row(sqlite3_stmt *s, list_cb_t cb, void *ctx) {
  nimbus_part_alert_t a;
  memset(&a, 0, sizeof a);
  a.id = sqlite3_column_int64(s, 0);
  a.tenant_id = sqlite3_column_int64(s, 1);
  a.device_id = sqlite3_column_int64(s, 2);
  a.contract_id = sqlite3_column_int64(s, 3);
  COPY(s, 4, a.part);
  a.cycle = sqlite3_column_int(s, 5);
  a.impressions = sqlite3_column_int64(s, 6);
  a.state = (nimbus_delivery_state_t)sqlite3_column_int(s, 7);
  a.attempts = sqlite3_column_int(s, 8);
  a.next_at = sqlite3_column_int64(s, 9);
  a.created_at = sqlite3_column_int64(s, 10);
  a.sent_at = sqlite3_column_int64(s, 11);
  return cb.part_alert(&a, ctx);
}

store_status_t sqlite_part_alert_list(store_t *base_, const store_delivery_filter_t *f,
                                      store_part_alert_cb cb, void *ctx) {
  return sqlite_read_rows(sqlite_of(base_), S_ALERT_LIST, bind_filter, f, alert_row,
                          (list_cb_t){.part_alert = cb}, ctx, "part alert list");
}

static void read_counter(sqlite3_stmt *s, void *out) {
  nimbus_part_counter_t *c = out;
  memset(c, 0, sizeof *c);
  c->device_id = sqlite3_column_int64(s, 0);
  COPY(s, 1, c->part);
  c->replaced_at = sqlite3_column_int64(s, 2);
  c->cycle = sqlite3_column_int(s, 3);
}

store_status_t sqlite_part_counter_get(store_t *base_, nimbus_id_t device_id, const char *part,
                                       nimbus_part_counter_t *out) {
  const int64_t ints[] = {device_id};
  return sqlite_read_one_row(sqlite_of(base_), S_COUNTER_GET, ints, 1, part, read_counter, out,
                             "part counter get");
}

typedef struct {
  nimbus_id_t tenant_id, device_id;
  const char *part;
  int64_t impressions;
} replaced_t;

static void bind_replaced(sqlite3_stmt *s, const void *arg) {
  const replaced_t *r = arg;
  sqlite3_bind_int64(s, 1, r->device_id);
  sqlite3_bind_int64(s, 2, r->tenant_id);
  sqlite_bind_str(s, 3, r->part);
  sqlite3_bind_int64(s, 4, r->impressions);
}

store_status_t sqlite_part_replaced(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t device_id,
                                    const char *part, int64_t impressions) {
  replaced_t r = {tenant_id, device_id, part, impressions};
  return write_one(sqlite_of(base_), S_COUNTER_REPLACED, bind_replaced, &r, "part replaced");
}

store_status_t sqlite_part_alert_insert(store_t *base_, nimbus_part_alert_t *a) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  int64_t now = (int64_t)time(NULL);
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_ALERT_INSERT);
  if (s) {
    sqlite3_bind_int64(s, 1, a->tenant_id);
    sqlite3_bind_int64(s, 2, a->device_id);
    sqlite3_bind_int64(s, 3, a->contract_id);
    BIND_FIELD(s, 4, a->part);
    sqlite3_bind_int(s, 5, a->cycle);
    sqlite3_bind_int64(s, 6, a->impressions);
    sqlite3_bind_int64(s, 7, now);
    status = sqlite_stmt_exec_locked(st, s, "part alert insert");
    if (status == STORE_OK && sqlite3_changes(st->db) == 0) status = STORE_CONFLICT;
    if (status == STORE_OK) {
      a->id = sqlite3_last_insert_rowid(st->db);
      a->state = NIMBUS_DELIVERY_PENDING;
      a->attempts = 0;
      a->next_at = a->created_at = now;
      a->sent_at = 0;
    }
  }
  sqlite_unlock(st);
  return status;
}

/* ---- deliveries ---- */

store_status_t sqlite_delivery_mark(store_t *base_, store_delivery_kind_t kind, nimbus_id_t id,
                                    nimbus_delivery_state_t state, int attempts, int64_t next_at) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s =
      sqlite_stmt_get_locked(st, kind == STORE_DELIVERY_ORDER ? S_ORDER_MARK : S_ALERT_MARK);
  if (s) {
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int(s, 2, (int)state);
    sqlite3_bind_int(s, 3, attempts);
    sqlite3_bind_int64(s, 4, next_at);
    sqlite3_bind_int64(s, 5, state == NIMBUS_DELIVERY_SENT ? (int64_t)time(NULL) : 0);
    status = sqlite_exec_changes_locked(st, s, "delivery mark");
  }
  sqlite_unlock(st);
  return status;
}
