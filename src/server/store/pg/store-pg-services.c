/*
 * store-pg-services.c: the smart services (docs/PROVISIONING.md §10,
 * §11; migration 13) in the PostgreSQL backend: printer service
 * configurations, backup snapshots, supply levels and orders, part
 * counters and alerts, and their delivery state (store.h "smart services").
 * The policy (thresholds, schedules, retention, back-off) is in
 * src/server/services/.
 */
#include "store-pg-private.h"

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
/* The full-snapshot ids a device keeps ($1 device, $2 how many). */
#define KEPT_FULL \
  "SELECT id FROM backups WHERE device_id = $1 AND mode = 1 ORDER BY id DESC LIMIT $2"

static const char *const service_sql[PS_COUNT - PS_SERVICE_FIRST] = {
#define V(id) [(id)-PS_SERVICE_FIRST]
    V(PS_SVC_PUT) =
        "INSERT INTO printer_services (" SVC_COLS
        ") VALUES ($1, $2, $3, $4, $5, $6, $7) "
        "ON CONFLICT (device_id, service) DO UPDATE SET tenant_id = excluded.tenant_id, "
        "contract_id = excluded.contract_id, settings_json = excluded.settings_json, "
        "enabled = excluded.enabled, updated_at = excluded.updated_at",
    V(PS_SVC_GET) =
        "SELECT " SVC_COLS " FROM printer_services WHERE device_id = $1 AND service = $2",
    V(PS_SVC_LIST) = "SELECT " SVC_COLS
                     " FROM printer_services WHERE device_id = $1 ORDER BY service COLLATE \"C\"",
    V(PS_SVC_DISABLE) =
        "UPDATE printer_services SET enabled = false, updated_at = $3 "
        "WHERE tenant_id = $1 AND contract_id = $2 AND enabled",
    V(PS_BACKUP_INSERT) =
        "INSERT INTO backups (tenant_id, device_id, mode, base_id, json, size, "
        "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    V(PS_BACKUP_GET) = "SELECT " BACKUP_META
                       ", json, size, created_at FROM backups WHERE id = $1 AND tenant_id = $2",
    V(PS_BACKUP_LIST) = "SELECT " BACKUP_META
                        ", NULL, size, created_at FROM backups WHERE tenant_id = $1 "
                        "AND device_id = $2 ORDER BY id DESC",
    V(PS_BACKUP_PRUNE) =
        "DELETE FROM backups WHERE device_id = $1 AND ((mode = 1 AND id NOT IN "
        "(" KEPT_FULL
        ")) OR (mode = 2 AND (base_id IS NULL OR base_id NOT IN "
        "(" KEPT_FULL "))))",
    V(PS_LEVEL_GET) =
        "SELECT episode, open FROM supply_levels WHERE device_id = $1 "
        "AND supply = $2 FOR UPDATE",
    V(PS_LEVEL_PUT) =
        "INSERT INTO supply_levels (device_id, tenant_id, supply, type, level, episode, open, "
        "updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
        "ON CONFLICT (device_id, supply) DO UPDATE SET tenant_id = excluded.tenant_id, "
        "type = excluded.type, level = excluded.level, episode = excluded.episode, "
        "open = excluded.open, updated_at = excluded.updated_at",
    V(PS_ORDER_INSERT) =
        "INSERT INTO supply_orders (tenant_id, device_id, contract_id, supply, "
        "type, episode, level, state, attempts, next_at, created_at, sent_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, 1, 0, $8, $8, 0) "
        "ON CONFLICT (device_id, supply, episode) DO NOTHING RETURNING id",
    V(PS_ORDER_LIST) = "SELECT " ORDER_COLS
                       " FROM supply_orders WHERE ($1::bigint = 0 OR tenant_id = $1::bigint) "
                       "AND ($2::bigint = 0 OR (state = 1 AND next_at <= $2::bigint)) "
                       "ORDER BY id DESC LIMIT $3",
    V(PS_ORDER_MARK) =
        "UPDATE supply_orders SET state = $2, attempts = $3, next_at = $4, "
        "sent_at = $5 WHERE id = $1",
    V(PS_COUNTER_GET) =
        "SELECT device_id, part, replaced_at, cycle FROM part_counters "
        "WHERE device_id = $1 AND part = $2",
    V(PS_COUNTER_REPLACED) =
        "INSERT INTO part_counters (device_id, tenant_id, part, replaced_at, cycle) "
        "VALUES ($1, $2, $3, $4, 2) ON CONFLICT (device_id, part) DO UPDATE SET "
        "replaced_at = excluded.replaced_at, cycle = part_counters.cycle + 1",
    V(PS_ALERT_INSERT) =
        "INSERT INTO part_alerts (tenant_id, device_id, contract_id, part, cycle, "
        "impressions, state, attempts, next_at, created_at, sent_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, 1, 0, $7, $7, 0) "
        "ON CONFLICT (device_id, part, cycle) DO NOTHING RETURNING id",
    V(PS_ALERT_LIST) = "SELECT " ALERT_COLS
                       " FROM part_alerts WHERE ($1::bigint = 0 OR tenant_id = $1::bigint) "
                       "AND ($2::bigint = 0 OR (state = 1 AND next_at <= $2::bigint)) "
                       "ORDER BY id DESC LIMIT $3",
    V(PS_ALERT_MARK) =
        "UPDATE part_alerts SET state = $2, attempts = $3, next_at = $4, "
        "sent_at = $5 WHERE id = $1",
#undef V
};

const char *pg_service_sql(pg_stmt_id_t id) {
  return id >= PS_SERVICE_FIRST && id < PS_COUNT ? service_sql[id - PS_SERVICE_FIRST] : NULL;
}

/* A text column's value (valid while r lives; "" for NULL). */
static const char *text_at(const PGresult *r, int i, int col) {
  return PQgetisnull(r, i, col) ? "" : PQgetvalue(r, i, col);
}

static void param_str(pg_params_t *p, const char *s) {
  pg_param_text(p, s ? s : "", s ? strlen(s) : 0);
}

/* ---- printer services ---- */

static void service_from_row(const PGresult *r, int i, nimbus_printer_service_t *v) {
  memset(v, 0, sizeof *v);
  v->device_id = pg_get_int64(r, i, 0);
  v->tenant_id = pg_get_int64(r, i, 1);
  PG_GET_FIELD(r, i, 2, v->service);
  v->contract_id = pg_get_int64(r, i, 3);
  v->enabled = pg_get_bool(r, i, 5);
  v->updated_at = pg_get_int64(r, i, 6);
}

static void param_service(pg_params_t *p, const nimbus_printer_service_t *v) {
  pg_param_int(p, v->device_id);
  pg_param_int(p, v->tenant_id);
  PG_PARAM_FIELD(p, v->service);
  pg_param_int(p, v->contract_id);
  param_str(p, v->settings_json ? v->settings_json : "{}");
  pg_param_int(p, v->enabled ? 1 : 0); /* text "1"/"0": a boolean */
  pg_param_int(p, (int64_t)time(NULL));
}

store_status_t pg_printer_service_put_tx(pg_conn_t *c, const nimbus_printer_service_t *v) {
  pg_params_t p = {0};
  param_service(&p, v);
  return pg_exec(c, PS_SVC_PUT, &p, NULL, "printer service put");
}

store_status_t pg_printer_service_put(store_t *base, const nimbus_printer_service_t *v) {
  pg_params_t p = {0};
  param_service(&p, v);
  return pg_write_one(pg_of(base), PS_SVC_PUT, &p, false, NULL, NULL, 0, "printer service put");
}

typedef struct {
  nimbus_printer_service_t *out;
  bool oom;
} service_read_t;

static void read_service(const PGresult *r, void *arg) {
  service_read_t *s = arg;
  service_from_row(r, 0, s->out);
  s->out->settings_json = strdup(text_at(r, 0, 4));
  s->oom = !s->out->settings_json;
}

store_status_t pg_printer_service_get(store_t *base, nimbus_id_t device_id, const char *service,
                                      nimbus_printer_service_t *out) {
  pg_params_t p = {0};
  pg_param_int(&p, device_id);
  param_str(&p, service);
  service_read_t s = {.out = out};
  store_status_t status =
      pg_read_one_row(pg_of(base), PS_SVC_GET, &p, read_service, &s, "printer service get");
  return status == STORE_OK && s.oom ? STORE_ERROR : status;
}

static bool service_row(const PGresult *r, int i, pg_list_cb_t cb, void *ctx) {
  nimbus_printer_service_t v;
  service_from_row(r, i, &v);
  v.settings_json = (char *)text_at(r, i, 4);
  return cb.printer_service(&v, ctx);
}

store_status_t pg_printer_service_list(store_t *base, nimbus_id_t device_id,
                                       store_printer_service_cb cb, void *ctx) {
  pg_params_t p = {0};
  pg_param_int(&p, device_id);
  return pg_read_rows(pg_of(base), PS_SVC_LIST, &p, service_row,
                      (pg_list_cb_t){.printer_service = cb}, ctx, "printer service list");
}

store_status_t pg_printer_service_disable_contract(store_t *base, nimbus_id_t tenant_id,
                                                   nimbus_id_t contract_id) {
  pg_params_t p = {0};
  pg_param_int(&p, tenant_id);
  pg_param_int(&p, contract_id);
  pg_param_int(&p, (int64_t)time(NULL));
  return pg_write_one(pg_of(base), PS_SVC_DISABLE, &p, false, NULL, NULL, 0,
                      "printer service disable");
}

/* ---- backups ---- */

static void backup_from_row(const PGresult *r, int i, nimbus_backup_t *b) {
  memset(b, 0, sizeof *b);
  b->id = pg_get_int64(r, i, 0);
  b->tenant_id = pg_get_int64(r, i, 1);
  b->device_id = pg_get_int64(r, i, 2);
  b->mode = (nimbus_backup_mode_t)pg_get_int(r, i, 3);
  b->base_id = pg_get_int64(r, i, 4);
  b->size = pg_get_int64(r, i, 6);
  b->created_at = pg_get_int64(r, i, 7);
}

store_status_t pg_backup_insert(store_t *base, nimbus_backup_t *b) {
  if (!b->json) return STORE_ERROR;
  int64_t now = (int64_t)time(NULL), size = (int64_t)strlen(b->json), id = 0;
  pg_params_t p = {0};
  pg_param_int(&p, b->tenant_id);
  pg_param_int(&p, b->device_id);
  pg_param_int(&p, (int)b->mode);
  pg_param_id_or_null(&p, b->base_id);
  param_str(&p, b->json);
  pg_param_int(&p, size);
  pg_param_int(&p, now);
  store_status_t status =
      pg_write_one(pg_of(base), PS_BACKUP_INSERT, &p, false, &id, NULL, 0, "backup insert");
  if (status == STORE_OK) {
    b->id = id;
    b->created_at = now;
    b->size = size;
  }
  return status;
}

typedef struct {
  nimbus_backup_t *out;
  bool oom;
} backup_read_t;

static void read_backup(const PGresult *r, void *arg) {
  backup_read_t *s = arg;
  backup_from_row(r, 0, s->out);
  s->out->json = strdup(text_at(r, 0, 5));
  s->oom = !s->out->json;
}

store_status_t pg_backup_get(store_t *base, nimbus_id_t tenant_id, nimbus_id_t id,
                             nimbus_backup_t *out) {
  pg_params_t p = {0};
  pg_param_int(&p, id);
  pg_param_int(&p, tenant_id);
  backup_read_t s = {.out = out};
  store_status_t status =
      pg_read_one_row(pg_of(base), PS_BACKUP_GET, &p, read_backup, &s, "backup get");
  return status == STORE_OK && s.oom ? STORE_ERROR : status;
}

static bool backup_row(const PGresult *r, int i, pg_list_cb_t cb, void *ctx) {
  nimbus_backup_t b;
  backup_from_row(r, i, &b);
  return cb.backup(&b, ctx);
}

store_status_t pg_backup_list(store_t *base, nimbus_id_t tenant_id, nimbus_id_t device_id,
                              store_backup_cb cb, void *ctx) {
  pg_params_t p = {0};
  pg_param_int(&p, tenant_id);
  pg_param_int(&p, device_id);
  return pg_read_rows(pg_of(base), PS_BACKUP_LIST, &p, backup_row, (pg_list_cb_t){.backup = cb},
                      ctx, "backup list");
}

store_status_t pg_backup_prune(store_t *base, nimbus_id_t device_id, int keep_full, int *deleted) {
  static const char what[] = "backup prune";
  pg_store_t *st = pg_of(base);
  if (deleted) *deleted = 0;
  pg_params_t p = {0};
  pg_param_int(&p, device_id);
  pg_param_int(&p, keep_full > 0 ? keep_full : 1);
  pg_conn_t *c = pg_acquire(st, what);
  if (!c) return STORE_ERROR;
  PGresult *r = NULL;
  store_status_t status = pg_exec(c, PS_BACKUP_PRUNE, &p, &r, what);
  if (status == STORE_OK) {
    if (deleted) *deleted = atoi(PQcmdTuples(r));
    PQclear(r);
  }
  pg_release(st, c);
  return status;
}

/* ---- supplies ---- */

typedef struct {
  const store_supply_report_t *r;
  nimbus_supply_order_t *order;
} supply_tx_t;

/* The level row, episode and order of one report, in one transaction
 * (the level row locked FOR UPDATE; the order's unique key settles a race
 * on a first report). */
static store_status_t supply_tx(pg_conn_t *c, void *arg) {
  static const char what[] = "supply report";
  supply_tx_t *t = arg;
  const store_supply_report_t *r = t->r;
  int64_t now = (int64_t)time(NULL);
  memset(t->order, 0, sizeof *t->order);
  int episode = 0;
  bool open = false;
  pg_params_t k = {0};
  pg_param_int(&k, r->device_id);
  param_str(&k, r->supply);
  PGresult *res;
  store_status_t status = pg_exec_row(c, PS_LEVEL_GET, &k, &res, what);
  if (status == STORE_OK) {
    episode = pg_get_int(res, 0, 0);
    open = pg_get_bool(res, 0, 1);
    PQclear(res);
  } else if (status != STORE_NOT_FOUND) {
    return status;
  }
  bool new_order = r->low && !open;
  if (new_order) episode++;
  open = r->low;
  pg_params_t p = {0};
  pg_param_int(&p, r->device_id);
  pg_param_int(&p, r->tenant_id);
  param_str(&p, r->supply);
  param_str(&p, r->type);
  pg_param_int(&p, r->level);
  pg_param_int(&p, episode);
  pg_param_int(&p, open ? 1 : 0);
  pg_param_int(&p, now);
  if ((status = pg_exec(c, PS_LEVEL_PUT, &p, NULL, what)) != STORE_OK || !new_order) return status;
  pg_params_t o = {0};
  pg_param_int(&o, r->tenant_id);
  pg_param_int(&o, r->device_id);
  pg_param_int(&o, r->contract_id);
  param_str(&o, r->supply);
  param_str(&o, r->type);
  pg_param_int(&o, episode);
  pg_param_int(&o, r->level);
  pg_param_int(&o, now);
  if ((status = pg_exec(c, PS_ORDER_INSERT, &o, &res, what)) != STORE_OK) return status;
  bool inserted = PQntuples(res) == 1;
  nimbus_supply_order_t *out = t->order;
  if (inserted) out->id = pg_get_int64(res, 0, 0);
  PQclear(res);
  if (!inserted) return STORE_OK; /* that episode has its order */
  out->tenant_id = r->tenant_id;
  out->device_id = r->device_id;
  out->contract_id = r->contract_id;
  snprintf(out->supply, sizeof out->supply, "%s", r->supply);
  snprintf(out->type, sizeof out->type, "%s", r->type ? r->type : "");
  out->episode = episode;
  out->level = r->level;
  out->state = NIMBUS_DELIVERY_PENDING;
  out->next_at = out->created_at = now;
  return STORE_OK;
}

store_status_t pg_supply_report(store_t *base, const store_supply_report_t *r,
                                nimbus_supply_order_t *order) {
  memset(order, 0, sizeof *order);
  if (!r->supply) return STORE_ERROR;
  supply_tx_t t = {.r = r, .order = order};
  store_status_t status = pg_transaction(pg_of(base), supply_tx, &t, "supply report");
  if (status != STORE_OK) memset(order, 0, sizeof *order);
  return status;
}

static void param_filter(pg_params_t *p, const store_delivery_filter_t *f) {
  pg_param_int(p, f->tenant_id);
  pg_param_int(p, f->due_at);
  pg_param_int(p, f->limit > 0 ? f->limit : 500);
}

static bool order_row(const PGresult *r, int i, pg_list_cb_t cb, void *ctx) {
  nimbus_supply_order_t o;
  memset(&o, 0, sizeof o);
  o.id = pg_get_int64(r, i, 0);
  o.tenant_id = pg_get_int64(r, i, 1);
  o.device_id = pg_get_int64(r, i, 2);
  o.contract_id = pg_get_int64(r, i, 3);
  PG_GET_FIELD(r, i, 4, o.supply);
  PG_GET_FIELD(r, i, 5, o.type);
  o.episode = pg_get_int(r, i, 6);
  o.level = pg_get_int(r, i, 7);
  o.state = (nimbus_delivery_state_t)pg_get_int(r, i, 8);
  o.attempts = pg_get_int(r, i, 9);
  o.next_at = pg_get_int64(r, i, 10);
  o.created_at = pg_get_int64(r, i, 11);
  o.sent_at = pg_get_int64(r, i, 12);
  return cb.supply_order(&o, ctx);
}

store_status_t pg_supply_order_list(store_t *base, const store_delivery_filter_t *f,
                                    store_supply_order_cb cb, void *ctx) {
  pg_params_t p = {0};
  param_filter(&p, f);
  return pg_read_rows(pg_of(base), PS_ORDER_LIST, &p, order_row, (pg_list_cb_t){.supply_order = cb},
                      ctx, "supply order list");
}

/* ---- parts ---- */

static bool alert_row(const PGresult *r, int i, pg_list_cb_t cb, void *ctx) {
  nimbus_part_alert_t a;
  memset(&a, 0, sizeof a);
  a.id = pg_get_int64(r, i, 0);
  a.tenant_id = pg_get_int64(r, i, 1);
  a.device_id = pg_get_int64(r, i, 2);
  a.contract_id = pg_get_int64(r, i, 3);
  PG_GET_FIELD(r, i, 4, a.part);
  a.cycle = pg_get_int(r, i, 5);
  a.impressions = pg_get_int64(r, i, 6);
  a.state = (nimbus_delivery_state_t)pg_get_int(r, i, 7);
  a.attempts = pg_get_int(r, i, 8);
  a.next_at = pg_get_int64(r, i, 9);
  a.created_at = pg_get_int64(r, i, 10);
  a.sent_at = pg_get_int64(r, i, 11);
  return cb.part_alert(&a, ctx);
}

store_status_t pg_part_alert_list(store_t *base, const store_delivery_filter_t *f,
                                  store_part_alert_cb cb, void *ctx) {
  pg_params_t p = {0};
  param_filter(&p, f);
  return pg_read_rows(pg_of(base), PS_ALERT_LIST, &p, alert_row, (pg_list_cb_t){.part_alert = cb},
                      ctx, "part alert list");
}

static void read_counter(const PGresult *r, void *out) {
  nimbus_part_counter_t *c = out;
  memset(c, 0, sizeof *c);
  c->device_id = pg_get_int64(r, 0, 0);
  PG_GET_FIELD(r, 0, 1, c->part);
  c->replaced_at = pg_get_int64(r, 0, 2);
  c->cycle = pg_get_int(r, 0, 3);
}

store_status_t pg_part_counter_get(store_t *base, nimbus_id_t device_id, const char *part,
                                   nimbus_part_counter_t *out) {
  pg_params_t p = {0};
  pg_param_int(&p, device_id);
  param_str(&p, part);
  return pg_read_one_row(pg_of(base), PS_COUNTER_GET, &p, read_counter, out, "part counter get");
}

store_status_t pg_part_replaced(store_t *base, nimbus_id_t tenant_id, nimbus_id_t device_id,
                                const char *part, int64_t impressions) {
  pg_params_t p = {0};
  pg_param_int(&p, device_id);
  pg_param_int(&p, tenant_id);
  param_str(&p, part);
  pg_param_int(&p, impressions);
  return pg_write_one(pg_of(base), PS_COUNTER_REPLACED, &p, false, NULL, NULL, 0, "part replaced");
}

store_status_t pg_part_alert_insert(store_t *base, nimbus_part_alert_t *a) {
  int64_t now = (int64_t)time(NULL), id = 0;
  pg_params_t p = {0};
  pg_param_int(&p, a->tenant_id);
  pg_param_int(&p, a->device_id);
  pg_param_int(&p, a->contract_id);
  PG_PARAM_FIELD(&p, a->part);
  pg_param_int(&p, a->cycle);
  pg_param_int(&p, a->impressions);
  pg_param_int(&p, now);
  pg_store_t *st = pg_of(base);
  pg_conn_t *c = pg_acquire(st, "part alert insert");
  if (!c) return STORE_ERROR;
  PGresult *r = NULL;
  store_status_t status = pg_exec(c, PS_ALERT_INSERT, &p, &r, "part alert insert");
  pg_release(st, c);
  if (status == STORE_OK) {
    /* DO NOTHING returns no row: the part's alert of that cycle is there */
    if (PQntuples(r) == 1)
      id = pg_get_int64(r, 0, 0);
    else
      status = STORE_CONFLICT;
    PQclear(r);
  }
  if (status == STORE_OK) {
    a->id = id;
    a->state = NIMBUS_DELIVERY_PENDING;
    a->attempts = 0;
    a->next_at = a->created_at = now;
    a->sent_at = 0;
  }
  return status;
}

/* ---- deliveries ---- */

store_status_t pg_delivery_mark(store_t *base, store_delivery_kind_t kind, nimbus_id_t id,
                                nimbus_delivery_state_t state, int attempts, int64_t next_at) {
  pg_params_t p = {0};
  pg_param_int(&p, id);
  pg_param_int(&p, (int)state);
  pg_param_int(&p, attempts);
  pg_param_int(&p, next_at);
  pg_param_int(&p, state == NIMBUS_DELIVERY_SENT ? (int64_t)time(NULL) : 0);
  return pg_write_one(pg_of(base), kind == STORE_DELIVERY_ORDER ? PS_ORDER_MARK : PS_ALERT_MARK, &p,
                      true, NULL, NULL, 0, "delivery mark");
}
