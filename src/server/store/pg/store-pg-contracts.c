/*
 * store-pg-contracts.c: contracts, contract webhook events, dealer grants
 * and packages (tables contracts, contract_packages,
 * contract_webhook_events, tenant_dealers, packages, migration 12;
 * docs/PROVISIONING.md §1–§4) in the PostgreSQL backend (store.h
 * "contracts").  The policy is in provisioning/; this file keeps what it
 * is given.
 */
#include "store-pg-private.h"

#include <stdlib.h>
#include <time.h>

#define CONTRACT_COLS                                                                     \
  "c.id, c.tenant_id, c.owner_tenant_id, t.name, o.name, c.name, "                        \
  "coalesce(c.external_id, ''), c.start_at, c.end_at, c.printers_json, c.settings_json, " \
  "c.items_json, c.revision, c.status, c.canceled_at, c.created_at, c.updated_at, c.version"
#define CONTRACT_FROM                                       \
  " FROM contracts c JOIN tenants t ON t.id = c.tenant_id " \
  "JOIN tenants o ON o.id = c.owner_tenant_id "
#define PACKAGE_COLS "id, owner_tenant_id, kind, name, version, size, sha256, blob_key, created_at"
/* A package named by a contract neither canceled nor ended at $N. */
#define PACKAGE_NAMED(id, now)                                                            \
  "EXISTS (SELECT 1 FROM contract_packages cp JOIN contracts k ON k.id = cp.contract_id " \
  "WHERE cp.package_id = " id "::bigint AND k.status = 0 AND k.end_at > " now "::bigint)"

static const char *const contract_sql[PS_COUNT - PS_CONTRACT_FIRST] = {
#define C(id) [(id)-PS_CONTRACT_FIRST]
    C(PS_CONTRACT_INSERT) =
        "INSERT INTO contracts (tenant_id, owner_tenant_id, name, external_id, start_at, end_at, "
        "printers_json, settings_json, items_json, revision, status, canceled_at, created_at, "
        "updated_at, version) VALUES ($1, $2, $3, nullif($4, ''), $5, $6, $7, $8, $9, $10, $11, "
        "$12, $13, $13, 1) RETURNING id",
    C(PS_CONTRACT_UPDATE) =
        "UPDATE contracts SET name = $3, external_id = nullif($4, ''), start_at = $5, "
        "end_at = $6, printers_json = $7, settings_json = $8, items_json = $9, revision = $10, "
        "status = $11, canceled_at = $12, updated_at = $13, version = version + 1 "
        "WHERE id = $1 AND version = $2",
    C(PS_CONTRACT_EXISTS) = "SELECT status FROM contracts WHERE id = $1",
    C(PS_CONTRACT_GET) = "SELECT " CONTRACT_COLS CONTRACT_FROM "WHERE c.id = $1",
    C(PS_CONTRACT_GET_BY_NAME) =
        "SELECT " CONTRACT_COLS CONTRACT_FROM "WHERE c.tenant_id = $1 AND c.name = $2",
    C(PS_CONTRACT_GET_BY_EXTERNAL) =
        "SELECT " CONTRACT_COLS CONTRACT_FROM "WHERE c.owner_tenant_id = $1 AND c.external_id = $2",
    C(PS_CONTRACT_LIST) =
        "SELECT " CONTRACT_COLS CONTRACT_FROM
        "WHERE ($1::bigint = 0 OR c.tenant_id = $1::bigint) "
        "AND ($2::bigint = 0 OR c.owner_tenant_id = $2::bigint) "
        "AND ($3::bigint = 0 OR c.tenant_id IN (SELECT customer_tenant_id FROM tenant_dealers "
        "WHERE dealer_tenant_id = $3::bigint)) AND ($4::bigint <> 0 OR c.status = 0) "
        "ORDER BY t.name COLLATE \"C\", c.name COLLATE \"C\"",
    C(PS_CONTRACT_CANCEL) =
        "UPDATE contracts SET status = 1, canceled_at = $2, updated_at = $2, "
        "version = version + 1 WHERE id = $1 AND status = 0",
    C(PS_CONTRACT_DUE) =
        "SELECT " CONTRACT_COLS CONTRACT_FROM
        "WHERE c.status = 0 AND c.start_at <= $1::bigint AND $1::bigint < c.end_at ORDER BY c.id",
    C(PS_CONTRACT_PKG_CLEAR) = "DELETE FROM contract_packages WHERE contract_id = $1",
    C(PS_CONTRACT_PKG_INSERT) =
        "INSERT INTO contract_packages (contract_id, package_id) "
        "VALUES ($1, $2) ON CONFLICT DO NOTHING",
    C(PS_CEVENT_INSERT) =
        "INSERT INTO contract_webhook_events (sender, event_id, contract_id, "
        "received_at) VALUES ($1, $2, NULL, $3) ON CONFLICT DO NOTHING "
        "RETURNING 1",
    C(PS_CEVENT_GET) =
        "SELECT coalesce(contract_id, 0) FROM contract_webhook_events "
        "WHERE sender = $1 AND event_id = $2",
    C(PS_CEVENT_SET) =
        "UPDATE contract_webhook_events SET contract_id = nullif($3::bigint, 0) "
        "WHERE sender = $1 AND event_id = $2",
    C(PS_CEVENT_PRUNE) = "DELETE FROM contract_webhook_events WHERE received_at < $1",
    C(PS_DEALER_SET) =
        "INSERT INTO tenant_dealers (customer_tenant_id, dealer_tenant_id, "
        "created_at) VALUES ($1, $2, $3) ON CONFLICT (customer_tenant_id) DO "
        "UPDATE SET dealer_tenant_id = excluded.dealer_tenant_id, "
        "created_at = excluded.created_at",
    C(PS_DEALER_GET) = "SELECT dealer_tenant_id FROM tenant_dealers WHERE customer_tenant_id = $1",
    C(PS_DEALER_DELETE) = "DELETE FROM tenant_dealers WHERE customer_tenant_id = $1",
    C(PS_DEALER_LIST) =
        "SELECT customer_tenant_id, dealer_tenant_id FROM tenant_dealers "
        "WHERE $1::bigint = 0 OR dealer_tenant_id = $1::bigint "
        "ORDER BY customer_tenant_id",
    C(PS_PACKAGE_INSERT) =
        "INSERT INTO packages (owner_tenant_id, kind, name, version, size, "
        "sha256, blob_key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
        "RETURNING id",
    C(PS_PACKAGE_GET) = "SELECT " PACKAGE_COLS " FROM packages WHERE id = $1",
    C(PS_PACKAGE_LIST) =
        "SELECT " PACKAGE_COLS " FROM packages WHERE owner_tenant_id = $1 ORDER BY id DESC",
    C(PS_PACKAGE_IN_USE) = "SELECT " PACKAGE_NAMED("$1", "$2"),
    C(PS_PACKAGE_DELETE) =
        "DELETE FROM packages WHERE id = $1::bigint AND owner_tenant_id = $2 "
        "AND NOT " PACKAGE_NAMED("$1", "$3"),
    C(PS_PACKAGE_EXISTS) = "SELECT 1 FROM packages WHERE id = $1 AND owner_tenant_id = $2",
#undef C
};

const char *pg_contract_sql(pg_stmt_id_t id) {
  return id >= PS_CONTRACT_FIRST && id < PS_COUNT ? contract_sql[id - PS_CONTRACT_FIRST] : NULL;
}

static void contract_from_row(const PGresult *r, int i, nimbus_contract_t *c) {
  memset(c, 0, sizeof *c);
  c->id = pg_get_int64(r, i, 0);
  c->tenant_id = pg_get_int64(r, i, 1);
  c->owner_tenant_id = pg_get_int64(r, i, 2);
  PG_GET_FIELD(r, i, 3, c->tenant_name);
  PG_GET_FIELD(r, i, 4, c->owner_name);
  PG_GET_FIELD(r, i, 5, c->name);
  PG_GET_FIELD(r, i, 6, c->external_id);
  c->start_at = pg_get_int64(r, i, 7);
  c->end_at = pg_get_int64(r, i, 8);
  PG_GET_FIELD(r, i, 9, c->printers_json);
  PG_GET_FIELD(r, i, 10, c->settings_json);
  PG_GET_FIELD(r, i, 11, c->items_json);
  c->revision = pg_get_int64(r, i, 12);
  c->canceled = pg_get_int(r, i, 13) != 0;
  c->canceled_at = pg_get_int64(r, i, 14);
  c->created_at = pg_get_int64(r, i, 15);
  c->updated_at = pg_get_int64(r, i, 16);
  c->version = pg_get_int64(r, i, 17);
}

static void package_from_row(const PGresult *r, int i, nimbus_package_t *p) {
  memset(p, 0, sizeof *p);
  p->id = pg_get_int64(r, i, 0);
  p->owner_tenant_id = pg_get_int64(r, i, 1);
  PG_GET_FIELD(r, i, 2, p->kind);
  PG_GET_FIELD(r, i, 3, p->name);
  PG_GET_FIELD(r, i, 4, p->version);
  p->size = pg_get_int64(r, i, 5);
  PG_GET_FIELD(r, i, 6, p->sha256);
  PG_GET_FIELD(r, i, 7, p->blob_key);
  p->created_at = pg_get_int64(r, i, 8);
}

/* The members PS_CONTRACT_UPDATE writes, $3..$13 (name .. updated_at). */
static void param_contract_body(pg_params_t *p, const nimbus_contract_t *c, int64_t now) {
  PG_PARAM_FIELD(p, c->name);
  PG_PARAM_FIELD(p, c->external_id);
  pg_param_int(p, c->start_at);
  pg_param_int(p, c->end_at);
  PG_PARAM_FIELD(p, c->printers_json);
  PG_PARAM_FIELD(p, c->settings_json);
  PG_PARAM_FIELD(p, c->items_json);
  pg_param_int(p, c->revision);
  pg_param_int(p, c->canceled ? 1 : 0);
  pg_param_int(p, c->canceled ? c->canceled_at : 0);
  pg_param_int(p, now);
}

/* Run statement id with two integer parameters; no result kept. */
static store_status_t exec2(pg_conn_t *c, pg_stmt_id_t id, int64_t a, int64_t b, const char *what) {
  pg_params_t p = {0};
  pg_param_int(&p, a);
  pg_param_int(&p, b);
  return pg_exec(c, id, &p, NULL, what);
}

/* Replace the contract's package rows by k->packages. */
static store_status_t packages_write(pg_conn_t *c, const nimbus_contract_t *k) {
  pg_params_t p = {0};
  pg_param_int(&p, k->id);
  store_status_t status = pg_exec(c, PS_CONTRACT_PKG_CLEAR, &p, NULL, "contract packages clear");
  int n = k->npackages < NIMBUS_CONTRACT_PACKAGES_MAX ? k->npackages : NIMBUS_CONTRACT_PACKAGES_MAX;
  for (int i = 0; status == STORE_OK && i < n; i++)
    status = exec2(c, PS_CONTRACT_PKG_INSERT, k->id, k->packages[i], "contract package insert");
  return status;
}

/* The insert of store_contract_insert inside the caller's transaction. */
static store_status_t contract_insert_tx(pg_conn_t *c, nimbus_contract_t *k) {
  int64_t now = k->updated_at ? k->updated_at : (int64_t)time(NULL);
  pg_params_t p = {0};
  pg_param_int(&p, k->tenant_id);
  pg_param_int(&p, k->owner_tenant_id);
  param_contract_body(&p, k, now);
  PGresult *r = NULL;
  store_status_t status = pg_exec(c, PS_CONTRACT_INSERT, &p, &r, "contract insert");
  if (status != STORE_OK) return status;
  k->id = pg_get_int64(r, 0, 0);
  PQclear(r);
  k->created_at = k->updated_at = now;
  k->version = 1;
  return packages_write(c, k);
}

/* The compare-and-set of store_contract_update inside the caller's transaction. */
static store_status_t contract_update_tx(pg_conn_t *c, nimbus_contract_t *k) {
  static const char what[] = "contract update";
  int64_t now = (int64_t)time(NULL);
  pg_params_t p = {0};
  pg_param_int(&p, k->id);
  pg_param_int(&p, k->version);
  param_contract_body(&p, k, now);
  store_status_t status = pg_exec_changes(c, PS_CONTRACT_UPDATE, &p, what);
  if (status == STORE_NOT_FOUND) { /* there but changed since read: CONFLICT */
    pg_params_t e = {0};
    pg_param_int(&e, k->id);
    PGresult *r;
    if (pg_exec_row(c, PS_CONTRACT_EXISTS, &e, &r, what) == STORE_OK) {
      PQclear(r);
      status = STORE_CONFLICT;
    }
    return status;
  }
  if (status != STORE_OK) return status;
  k->version++;
  k->updated_at = now;
  return packages_write(c, k);
}

typedef struct {
  nimbus_contract_t *c;
  const nimbus_contract_t *saved; /* c as the caller gave it (each try starts from it) */
  const store_audit_t *audit;
  store_status_t (*fn)(pg_conn_t *, nimbus_contract_t *);
  /* contract_event_apply only */
  const store_contract_event_t *ev;
  store_contract_event_op_t op;
  bool duplicate;
  nimbus_id_t contract_id;
} contract_tx_t;

static store_status_t contract_write_tx(pg_conn_t *c, void *arg) {
  contract_tx_t *a = arg;
  *a->c = *a->saved;
  store_status_t status = a->fn(c, a->c);
  if (status == STORE_OK) status = pg_audit_insert(c, a->audit, a->c->id);
  return status;
}

/* fn(c, k) and the audit row in one transaction; k as given on failure. */
static store_status_t contract_write(store_t *base, nimbus_contract_t *k,
                                     const store_audit_t *audit,
                                     store_status_t (*fn)(pg_conn_t *, nimbus_contract_t *),
                                     const char *what) {
  nimbus_contract_t *saved = malloc(sizeof *saved);
  if (!saved) return STORE_ERROR;
  *saved = *k;
  contract_tx_t a = {.c = k, .saved = saved, .audit = audit, .fn = fn};
  store_status_t status = pg_transaction(pg_of(base), contract_write_tx, &a, what);
  if (status != STORE_OK) *k = *saved;
  free(saved);
  return status;
}

store_status_t pg_contract_insert(store_t *base, nimbus_contract_t *c, const store_audit_t *audit) {
  return contract_write(base, c, audit, contract_insert_tx, "contract insert");
}

store_status_t pg_contract_update(store_t *base, nimbus_contract_t *c, const store_audit_t *audit) {
  return contract_write(base, c, audit, contract_update_tx, "contract update");
}

static void read_contract(const PGresult *r, void *out) {
  contract_from_row(r, 0, out);
}

store_status_t pg_contract_get(store_t *base, nimbus_id_t id, nimbus_contract_t *out) {
  pg_params_t p = {0};
  pg_param_int(&p, id);
  return pg_read_one_row(pg_of(base), PS_CONTRACT_GET, &p, read_contract, out, "contract get");
}

store_status_t pg_contract_get_by_name(store_t *base, nimbus_id_t tenant_id, const char *name,
                                       nimbus_contract_t *out) {
  pg_params_t p = {0};
  pg_param_int(&p, tenant_id);
  pg_param_text(&p, name, NIMBUS_CONTRACT_NAME_MAX);
  return pg_read_one_row(pg_of(base), PS_CONTRACT_GET_BY_NAME, &p, read_contract, out,
                         "contract get by name");
}

store_status_t pg_contract_get_by_external(store_t *base, nimbus_id_t owner_tenant_id,
                                           const char *external_id, nimbus_contract_t *out) {
  pg_params_t p = {0};
  pg_param_int(&p, owner_tenant_id);
  pg_param_text(&p, external_id, NIMBUS_CONTRACT_EXTERNAL_ID_MAX);
  return pg_read_one_row(pg_of(base), PS_CONTRACT_GET_BY_EXTERNAL, &p, read_contract, out,
                         "contract get by external id");
}

static bool contract_row(const PGresult *r, int i, pg_list_cb_t cb, void *ctx) {
  nimbus_contract_t *c = malloc(sizeof *c);
  if (!c) return false;
  contract_from_row(r, i, c);
  bool more = cb.contract(c, ctx);
  free(c);
  return more;
}

store_status_t pg_contract_list(store_t *base, const store_contract_filter_t *f,
                                store_contract_cb cb, void *ctx) {
  pg_params_t p = {0};
  pg_param_int(&p, f->tenant_id);
  pg_param_int(&p, f->owner_tenant_id);
  pg_param_int(&p, f->dealer_tenant_id);
  pg_param_int(&p, f->include_canceled ? 1 : 0);
  return pg_read_rows(pg_of(base), PS_CONTRACT_LIST, &p, contract_row,
                      (pg_list_cb_t){.contract = cb}, ctx, "contract list");
}

store_status_t pg_contract_due_each(store_t *base, int64_t now, store_contract_cb cb, void *ctx) {
  pg_params_t p = {0};
  pg_param_int(&p, now);
  return pg_read_rows(pg_of(base), PS_CONTRACT_DUE, &p, contract_row,
                      (pg_list_cb_t){.contract = cb}, ctx, "contract due");
}

store_status_t pg_contract_cancel(store_t *base, nimbus_id_t id, int64_t now,
                                  const store_audit_t *audit) {
  static const char what[] = "contract cancel";
  pg_store_t *st = pg_of(base);
  pg_conn_t *c = pg_acquire(st, what);
  if (!c) return STORE_ERROR;
  store_status_t status = pg_tx_begin(c);
  if (status == STORE_OK) {
    pg_params_t p = {0};
    pg_param_int(&p, id);
    pg_param_int(&p, now);
    status = pg_exec_changes(c, PS_CONTRACT_CANCEL, &p, what);
  }
  if (status == STORE_NOT_FOUND) { /* there but canceled already: CONFLICT */
    pg_params_t e = {0};
    pg_param_int(&e, id);
    PGresult *r;
    if (pg_exec_row(c, PS_CONTRACT_EXISTS, &e, &r, what) == STORE_OK) {
      PQclear(r);
      status = STORE_CONFLICT;
    }
  }
  if (status == STORE_OK) status = pg_audit_insert(c, audit, id);
  if (status == STORE_OK) status = pg_tx_commit(c);
  if (status != STORE_OK) pg_tx_rollback(c);
  pg_release(st, c);
  return status;
}

/* sender and event id as $1, $2 into the empty *p. */
static void event_params(pg_params_t *p, const store_contract_event_t *ev) {
  pg_param_text(p, ev->sender, SIZE_MAX);
  pg_param_text(p, ev->event_id, SIZE_MAX);
}

/* The body of pg_contract_event_apply, in its transaction. */
static store_status_t event_apply_tx(pg_conn_t *c, void *arg) {
  contract_tx_t *a = arg;
  const store_contract_event_t *ev = a->ev;
  *a->c = *a->saved;
  a->duplicate = false;
  a->contract_id = 0;
  store_status_t status = STORE_OK;
  if (ev->prune_before > 0) {
    pg_params_t p = {0};
    pg_param_int(&p, ev->prune_before);
    if ((status = pg_exec(c, PS_CEVENT_PRUNE, &p, NULL, "contract event prune")) != STORE_OK)
      return status;
  }
  pg_params_t p = {0};
  event_params(&p, ev);
  pg_param_int(&p, ev->received_at);
  PGresult *r = NULL;
  if ((status = pg_exec(c, PS_CEVENT_INSERT, &p, &r, "contract event insert")) != STORE_OK)
    return status;
  int inserted = PQntuples(r);
  PQclear(r);
  if (inserted == 0) { /* seen before: say which contract, change nothing */
    a->duplicate = true;
    pg_params_t g = {0};
    event_params(&g, ev);
    if ((status = pg_exec_row(c, PS_CEVENT_GET, &g, &r, "contract event get")) == STORE_OK) {
      a->contract_id = pg_get_int64(r, 0, 0);
      PQclear(r);
    }
    return status;
  }
  if (a->op == STORE_CONTRACT_EVENT_INSERT)
    status = contract_insert_tx(c, a->c);
  else if (a->op == STORE_CONTRACT_EVENT_UPDATE)
    status = contract_update_tx(c, a->c);
  if (status != STORE_OK) return status;
  a->contract_id = a->c->id;
  pg_params_t s = {0};
  event_params(&s, ev);
  pg_param_int(&s, a->c->id);
  status = pg_exec(c, PS_CEVENT_SET, &s, NULL, "contract event set");
  if (status == STORE_OK) status = pg_audit_insert(c, a->audit, a->c->id);
  return status;
}

store_status_t pg_contract_event_apply(store_t *base, const store_contract_event_t *ev,
                                       store_contract_event_op_t op, nimbus_contract_t *c,
                                       const store_audit_t *audit, bool *duplicate,
                                       nimbus_id_t *contract_id) {
  *duplicate = false;
  *contract_id = 0;
  nimbus_contract_t *saved = malloc(sizeof *saved);
  if (!saved) return STORE_ERROR;
  *saved = *c;
  contract_tx_t a = {.c = c, .saved = saved, .audit = audit, .ev = ev, .op = op};
  store_status_t status = pg_transaction(pg_of(base), event_apply_tx, &a, "contract event apply");
  if (status == STORE_OK) {
    *duplicate = a.duplicate;
    *contract_id = a.contract_id;
    if (a.duplicate) *c = *saved;
  } else {
    *c = *saved;
  }
  free(saved);
  return status;
}

/* ---- dealers ---- */

store_status_t pg_dealer_set(store_t *base, nimbus_id_t customer_tenant_id,
                             nimbus_id_t dealer_tenant_id, const store_audit_t *audit) {
  pg_params_t p = {0};
  pg_param_int(&p, customer_tenant_id);
  pg_param_int(&p, dealer_tenant_id);
  pg_param_int(&p, (int64_t)time(NULL));
  return pg_write_one(pg_of(base), PS_DEALER_SET, &p, false, NULL, audit, customer_tenant_id,
                      "dealer set");
}

static void read_id(const PGresult *r, void *out) {
  *(nimbus_id_t *)out = pg_get_int64(r, 0, 0);
}

store_status_t pg_dealer_get(store_t *base, nimbus_id_t customer_tenant_id,
                             nimbus_id_t *dealer_tenant_id) {
  pg_params_t p = {0};
  pg_param_int(&p, customer_tenant_id);
  return pg_read_one_row(pg_of(base), PS_DEALER_GET, &p, read_id, dealer_tenant_id, "dealer get");
}

store_status_t pg_dealer_delete(store_t *base, nimbus_id_t customer_tenant_id,
                                const store_audit_t *audit) {
  pg_params_t p = {0};
  pg_param_int(&p, customer_tenant_id);
  return pg_write_one(pg_of(base), PS_DEALER_DELETE, &p, true, NULL, audit, customer_tenant_id,
                      "dealer delete");
}

static bool dealer_row(const PGresult *r, int i, pg_list_cb_t cb, void *ctx) {
  return cb.dealer(pg_get_int64(r, i, 0), pg_get_int64(r, i, 1), ctx);
}

store_status_t pg_dealer_list(store_t *base, nimbus_id_t dealer_tenant_id, store_dealer_cb cb,
                              void *ctx) {
  pg_params_t p = {0};
  pg_param_int(&p, dealer_tenant_id);
  return pg_read_rows(pg_of(base), PS_DEALER_LIST, &p, dealer_row, (pg_list_cb_t){.dealer = cb},
                      ctx, "dealer list");
}

/* ---- packages ---- */

store_status_t pg_package_insert(store_t *base, nimbus_package_t *k, const store_audit_t *audit) {
  int64_t now = k->created_at ? k->created_at : (int64_t)time(NULL), id = 0;
  pg_params_t p = {0};
  pg_param_int(&p, k->owner_tenant_id);
  PG_PARAM_FIELD(&p, k->kind);
  PG_PARAM_FIELD(&p, k->name);
  PG_PARAM_FIELD(&p, k->version);
  pg_param_int(&p, k->size);
  PG_PARAM_FIELD(&p, k->sha256);
  PG_PARAM_FIELD(&p, k->blob_key);
  pg_param_int(&p, now);
  store_status_t status =
      pg_write_one(pg_of(base), PS_PACKAGE_INSERT, &p, false, &id, audit, 0, "package insert");
  if (status == STORE_OK) {
    k->id = id;
    k->created_at = now;
  }
  return status;
}

static void read_package(const PGresult *r, void *out) {
  package_from_row(r, 0, out);
}

store_status_t pg_package_get(store_t *base, nimbus_id_t id, nimbus_package_t *out) {
  pg_params_t p = {0};
  pg_param_int(&p, id);
  return pg_read_one_row(pg_of(base), PS_PACKAGE_GET, &p, read_package, out, "package get");
}

static bool package_row(const PGresult *r, int i, pg_list_cb_t cb, void *ctx) {
  nimbus_package_t k;
  package_from_row(r, i, &k);
  return cb.package(&k, ctx);
}

store_status_t pg_package_list(store_t *base, nimbus_id_t owner_tenant_id, store_package_cb cb,
                               void *ctx) {
  pg_params_t p = {0};
  pg_param_int(&p, owner_tenant_id);
  return pg_read_rows(pg_of(base), PS_PACKAGE_LIST, &p, package_row, (pg_list_cb_t){.package = cb},
                      ctx, "package list");
}

static void read_bool(const PGresult *r, void *out) {
  *(bool *)out = pg_get_bool(r, 0, 0);
}

store_status_t pg_package_in_use(store_t *base, nimbus_id_t id, int64_t now, bool *used) {
  pg_params_t p = {0};
  pg_param_int(&p, id);
  pg_param_int(&p, now);
  *used = false;
  return pg_read_one_row(pg_of(base), PS_PACKAGE_IN_USE, &p, read_bool, used, "package in use");
}

store_status_t pg_package_delete(store_t *base, nimbus_id_t owner_tenant_id, nimbus_id_t id,
                                 int64_t now, const store_audit_t *audit) {
  static const char what[] = "package delete";
  pg_store_t *st = pg_of(base);
  pg_conn_t *c = pg_acquire(st, what);
  if (!c) return STORE_ERROR;
  store_status_t status = pg_tx_begin(c);
  if (status == STORE_OK) {
    pg_params_t p = {0};
    pg_param_int(&p, id);
    pg_param_int(&p, owner_tenant_id);
    pg_param_int(&p, now);
    status = pg_exec_changes(c, PS_PACKAGE_DELETE, &p, what);
  }
  if (status == STORE_NOT_FOUND) { /* there but named by a contract: CONFLICT */
    pg_params_t e = {0};
    pg_param_int(&e, id);
    pg_param_int(&e, owner_tenant_id);
    PGresult *r;
    if (pg_exec_row(c, PS_PACKAGE_EXISTS, &e, &r, what) == STORE_OK) {
      PQclear(r);
      status = STORE_CONFLICT;
    }
  }
  if (status == STORE_OK) status = pg_audit_insert(c, audit, id);
  if (status == STORE_OK) status = pg_tx_commit(c);
  if (status != STORE_OK) pg_tx_rollback(c);
  pg_release(st, c);
  return status;
}
