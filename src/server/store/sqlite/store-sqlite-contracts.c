/*
 * store-sqlite-contracts.c: contracts, contract webhook events, dealer
 * grants and packages (tables contracts, contract_packages,
 * contract_webhook_events, tenant_dealers, packages, migration 21;
 * docs/PROVISIONING.md §1–§4) in the SQLite backend (store.h "contracts").
 * The policy (validation, revisions, who may) is in provisioning/; this
 * file keeps what it is given.
 */
#include "store-sqlite-private.h"

#include <time.h>

#define CONTRACT_COLS                                                                     \
  "c.id, c.tenant_id, c.owner_tenant_id, t.name, o.name, c.name, "                        \
  "coalesce(c.external_id, ''), c.start_at, c.end_at, c.printers_json, c.settings_json, " \
  "c.items_json, c.revision, c.status, c.canceled_at, c.created_at, c.updated_at, c.version"
#define CONTRACT_FROM                                       \
  " FROM contracts c JOIN tenants t ON t.id = c.tenant_id " \
  "JOIN tenants o ON o.id = c.owner_tenant_id "
#define PACKAGE_COLS "id, owner_tenant_id, kind, name, version, size, sha256, blob_key, created_at"
/* A package named by a contract neither canceled nor ended at ?N. */
#define PACKAGE_NAMED(id, now)                                                            \
  "EXISTS (SELECT 1 FROM contract_packages cp JOIN contracts k ON k.id = cp.contract_id " \
  "WHERE cp.package_id = " id " AND k.status = 0 AND k.end_at > " now ")"

static const char *const contract_sql[S_COUNT - S_CONTRACT_FIRST] = {
#define C(id) [(id)-S_CONTRACT_FIRST]
    C(S_CONTRACT_INSERT) =
        "INSERT INTO contracts (tenant_id, owner_tenant_id, name, external_id, start_at, end_at, "
        "printers_json, settings_json, items_json, revision, status, canceled_at, created_at, "
        "updated_at, version) VALUES (?1, ?2, ?3, nullif(?4, ''), ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
        "?12, ?13, ?13, 1)",
    C(S_CONTRACT_UPDATE) =
        "UPDATE contracts SET name = ?3, external_id = nullif(?4, ''), start_at = ?5, "
        "end_at = ?6, printers_json = ?7, settings_json = ?8, items_json = ?9, revision = ?10, "
        "status = ?11, canceled_at = ?12, updated_at = ?13, version = version + 1 "
        "WHERE id = ?1 AND version = ?2",
    C(S_CONTRACT_EXISTS) = "SELECT status FROM contracts WHERE id = ?1",
    C(S_CONTRACT_GET) = "SELECT " CONTRACT_COLS CONTRACT_FROM "WHERE c.id = ?1",
    C(S_CONTRACT_GET_BY_NAME) =
        "SELECT " CONTRACT_COLS CONTRACT_FROM "WHERE c.tenant_id = ?1 AND c.name = ?2",
    C(S_CONTRACT_GET_BY_EXTERNAL) =
        "SELECT " CONTRACT_COLS CONTRACT_FROM "WHERE c.owner_tenant_id = ?1 AND c.external_id = ?2",
    C(S_CONTRACT_LIST) =
        "SELECT " CONTRACT_COLS CONTRACT_FROM
        "WHERE (?1 = 0 OR c.tenant_id = ?1) AND (?2 = 0 OR c.owner_tenant_id = ?2) "
        "AND (?3 = 0 OR c.tenant_id IN (SELECT customer_tenant_id FROM tenant_dealers "
        "WHERE dealer_tenant_id = ?3)) AND (?4 <> 0 OR c.status = 0) ORDER BY t.name, c.name",
    C(S_CONTRACT_CANCEL) =
        "UPDATE contracts SET status = 1, canceled_at = ?2, updated_at = ?2, "
        "version = version + 1 WHERE id = ?1 AND status = 0",
    C(S_CONTRACT_DUE) = "SELECT " CONTRACT_COLS CONTRACT_FROM
                        "WHERE c.status = 0 AND c.start_at <= ?1 AND ?1 < c.end_at ORDER BY c.id",
    C(S_CONTRACT_PKG_CLEAR) = "DELETE FROM contract_packages WHERE contract_id = ?1",
    C(S_CONTRACT_PKG_INSERT) =
        "INSERT OR IGNORE INTO contract_packages (contract_id, package_id) VALUES (?1, ?2)",
    C(S_CEVENT_INSERT) =
        "INSERT OR IGNORE INTO contract_webhook_events (sender, event_id, "
        "contract_id, received_at) VALUES (?1, ?2, NULL, ?3)",
    C(S_CEVENT_GET) =
        "SELECT coalesce(contract_id, 0) FROM contract_webhook_events "
        "WHERE sender = ?1 AND event_id = ?2",
    C(S_CEVENT_SET) =
        "UPDATE contract_webhook_events SET contract_id = nullif(?3, 0) "
        "WHERE sender = ?1 AND event_id = ?2",
    C(S_CEVENT_PRUNE) = "DELETE FROM contract_webhook_events WHERE received_at < ?1",
    C(S_DEALER_SET) =
        "INSERT INTO tenant_dealers (customer_tenant_id, dealer_tenant_id, "
        "created_at) VALUES (?1, ?2, ?3) ON CONFLICT (customer_tenant_id) DO "
        "UPDATE SET dealer_tenant_id = excluded.dealer_tenant_id, "
        "created_at = excluded.created_at",
    C(S_DEALER_GET) = "SELECT dealer_tenant_id FROM tenant_dealers WHERE customer_tenant_id = ?1",
    C(S_DEALER_DELETE) = "DELETE FROM tenant_dealers WHERE customer_tenant_id = ?1",
    C(S_DEALER_LIST) =
        "SELECT customer_tenant_id, dealer_tenant_id FROM tenant_dealers "
        "WHERE ?1 = 0 OR dealer_tenant_id = ?1 ORDER BY customer_tenant_id",
    C(S_PACKAGE_INSERT) =
        "INSERT INTO packages (owner_tenant_id, kind, name, version, size, "
        "sha256, blob_key, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    C(S_PACKAGE_GET) = "SELECT " PACKAGE_COLS " FROM packages WHERE id = ?1",
    C(S_PACKAGE_LIST) =
        "SELECT " PACKAGE_COLS " FROM packages WHERE owner_tenant_id = ?1 ORDER BY id DESC",
    C(S_PACKAGE_IN_USE) = "SELECT " PACKAGE_NAMED("?1", "?2"),
    C(S_PACKAGE_DELETE) =
        "DELETE FROM packages WHERE id = ?1 AND owner_tenant_id = ?2 "
        "AND NOT " PACKAGE_NAMED("?1", "?3"),
    C(S_PACKAGE_EXISTS) = "SELECT 1 FROM packages WHERE id = ?1 AND owner_tenant_id = ?2",
#undef C
};

const char *sqlite_contract_sql(stmt_id_t id) {
  return id >= S_CONTRACT_FIRST && id < S_COUNT ? contract_sql[id - S_CONTRACT_FIRST] : NULL;
}

#define COPY(s, col, arr) sqlite_copy_column((s), (col), (arr), sizeof(arr))

static void contract_from_row(sqlite3_stmt *s, nimbus_contract_t *c) {
  memset(c, 0, sizeof *c);
  c->id = sqlite3_column_int64(s, 0);
  c->tenant_id = sqlite3_column_int64(s, 1);
  c->owner_tenant_id = sqlite3_column_int64(s, 2);
  COPY(s, 3, c->tenant_name);
  COPY(s, 4, c->owner_name);
  COPY(s, 5, c->name);
  COPY(s, 6, c->external_id);
  c->start_at = sqlite3_column_int64(s, 7);
  c->end_at = sqlite3_column_int64(s, 8);
  COPY(s, 9, c->printers_json);
  COPY(s, 10, c->settings_json);
  COPY(s, 11, c->items_json);
  c->revision = sqlite3_column_int64(s, 12);
  c->canceled = sqlite3_column_int(s, 13) != 0;
  c->canceled_at = sqlite3_column_int64(s, 14);
  c->created_at = sqlite3_column_int64(s, 15);
  c->updated_at = sqlite3_column_int64(s, 16);
  c->version = sqlite3_column_int64(s, 17);
}

static void package_from_row(sqlite3_stmt *s, nimbus_package_t *p) {
  memset(p, 0, sizeof *p);
  p->id = sqlite3_column_int64(s, 0);
  p->owner_tenant_id = sqlite3_column_int64(s, 1);
  COPY(s, 2, p->kind);
  COPY(s, 3, p->name);
  COPY(s, 4, p->version);
  p->size = sqlite3_column_int64(s, 5);
  COPY(s, 6, p->sha256);
  COPY(s, 7, p->blob_key);
  p->created_at = sqlite3_column_int64(s, 8);
}

/* The members S_CONTRACT_UPDATE writes, ?3..?13 (name .. updated_at). */
static void bind_contract_body(sqlite3_stmt *s, const nimbus_contract_t *c, int64_t now) {
  BIND_FIELD(s, 3, c->name);
  BIND_FIELD(s, 4, c->external_id);
  sqlite3_bind_int64(s, 5, c->start_at);
  sqlite3_bind_int64(s, 6, c->end_at);
  BIND_FIELD(s, 7, c->printers_json);
  BIND_FIELD(s, 8, c->settings_json);
  BIND_FIELD(s, 9, c->items_json);
  sqlite3_bind_int64(s, 10, c->revision);
  sqlite3_bind_int(s, 11, c->canceled ? 1 : 0);
  sqlite3_bind_int64(s, 12, c->canceled ? c->canceled_at : 0);
  sqlite3_bind_int64(s, 13, now);
}

/* Replace the contract's package rows by c->packages. */
static store_status_t packages_write_locked(sqlite_store_t *st, const nimbus_contract_t *c) {
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_CONTRACT_PKG_CLEAR);
  if (!s) return STORE_ERROR;
  sqlite3_bind_int64(s, 1, c->id);
  store_status_t status = sqlite_stmt_exec_locked(st, s, "contract packages clear");
  int n = c->npackages < NIMBUS_CONTRACT_PACKAGES_MAX ? c->npackages : NIMBUS_CONTRACT_PACKAGES_MAX;
  for (int i = 0; status == STORE_OK && i < n; i++) {
    s = sqlite_stmt_get_locked(st, S_CONTRACT_PKG_INSERT);
    if (!s) return STORE_ERROR;
    sqlite3_bind_int64(s, 1, c->id);
    sqlite3_bind_int64(s, 2, c->packages[i]);
    status = sqlite_stmt_exec_locked(st, s, "contract package insert");
  }
  return status;
}

/* The insert of store_contract_insert inside the caller's transaction. */
static store_status_t contract_insert_locked(sqlite_store_t *st, nimbus_contract_t *c) {
  int64_t now = c->updated_at ? c->updated_at : (int64_t)time(NULL);
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_CONTRACT_INSERT);
  if (!s) return STORE_ERROR;
  sqlite3_bind_int64(s, 1, c->tenant_id);
  sqlite3_bind_int64(s, 2, c->owner_tenant_id);
  bind_contract_body(s, c, now);
  store_status_t status = sqlite_stmt_exec_locked(st, s, "contract insert");
  if (status != STORE_OK) return status;
  c->id = sqlite3_last_insert_rowid(st->db);
  c->created_at = c->updated_at = now;
  c->version = 1;
  return packages_write_locked(st, c);
}

/* The compare-and-set of store_contract_update inside the caller's transaction. */
static store_status_t contract_update_locked(sqlite_store_t *st, nimbus_contract_t *c) {
  static const char what[] = "contract update";
  int64_t now = (int64_t)time(NULL);
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_CONTRACT_UPDATE);
  if (!s) return STORE_ERROR;
  sqlite3_bind_int64(s, 1, c->id);
  sqlite3_bind_int64(s, 2, c->version);
  bind_contract_body(s, c, now);
  store_status_t status = sqlite_exec_changes_locked(st, s, what);
  if (status == STORE_NOT_FOUND) { /* there but changed since read: CONFLICT */
    sqlite3_stmt *e = sqlite_stmt_get_locked(st, S_CONTRACT_EXISTS);
    if (!e) return STORE_ERROR;
    sqlite3_bind_int64(e, 1, c->id);
    if (sqlite_step_row_locked(st, e, what) == STORE_OK) status = STORE_CONFLICT;
    sqlite_stmt_reset(e);
    return status;
  }
  if (status != STORE_OK) return status;
  c->version++;
  c->updated_at = now;
  return packages_write_locked(st, c);
}

/* fn(st, c) and the audit row in one transaction. */
static store_status_t contract_write(store_t *base_, nimbus_contract_t *c,
                                     const store_audit_t *audit,
                                     store_status_t (*fn)(sqlite_store_t *, nimbus_contract_t *)) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  nimbus_contract_t saved = *c;
  store_status_t status = sqlite_tx_begin_locked(st);
  if (status == STORE_OK) status = fn(st, c);
  if (status == STORE_OK && audit) status = sqlite_audit_insert_locked(st, audit, c->id);
  if (status == STORE_OK) status = sqlite_tx_commit_locked(st);
  if (status != STORE_OK) {
    sqlite_tx_rollback_locked(st);
    *c = saved;
  }
  sqlite_unlock(st);
  return status;
}

store_status_t sqlite_contract_insert(store_t *base_, nimbus_contract_t *c,
                                      const store_audit_t *audit) {
  return contract_write(base_, c, audit, contract_insert_locked);
}

store_status_t sqlite_contract_update(store_t *base_, nimbus_contract_t *c,
                                      const store_audit_t *audit) {
  return contract_write(base_, c, audit, contract_update_locked);
}

static void read_contract(sqlite3_stmt *s, void *out) {
  contract_from_row(s, out);
}

store_status_t sqlite_contract_get(store_t *base_, nimbus_id_t id, nimbus_contract_t *out) {
  const int64_t ints[] = {id};
  return sqlite_read_one_row(sqlite_of(base_), S_CONTRACT_GET, ints, 1, NULL, read_contract, out,
                             "contract get");
}

store_status_t sqlite_contract_get_by_name(store_t *base_, nimbus_id_t tenant_id, const char *name,
                                           nimbus_contract_t *out) {
  const int64_t ints[] = {tenant_id};
  return sqlite_read_one_row(sqlite_of(base_), S_CONTRACT_GET_BY_NAME, ints, 1, name, read_contract,
                             out, "contract get by name");
}

store_status_t sqlite_contract_get_by_external(store_t *base_, nimbus_id_t owner_tenant_id,
                                               const char *external_id, nimbus_contract_t *out) {
  const int64_t ints[] = {owner_tenant_id};
  return sqlite_read_one_row(sqlite_of(base_), S_CONTRACT_GET_BY_EXTERNAL, ints, 1, external_id,
                             read_contract, out, "contract get by external id");
}

static bool contract_row(sqlite3_stmt *s, list_cb_t cb, void *ctx) {
  nimbus_contract_t *c = malloc(sizeof *c);
  if (!c) return false;
  contract_from_row(s, c);
  bool more = cb.contract(c, ctx);
  free(c);
  return more;
}

static void bind_filter(sqlite3_stmt *s, const void *arg) {
  const store_contract_filter_t *f = arg;
  sqlite3_bind_int64(s, 1, f->tenant_id);
  sqlite3_bind_int64(s, 2, f->owner_tenant_id);
  sqlite3_bind_int64(s, 3, f->dealer_tenant_id);
  sqlite3_bind_int(s, 4, f->include_canceled ? 1 : 0);
}

store_status_t sqlite_contract_list(store_t *base_, const store_contract_filter_t *f,
                                    store_contract_cb cb, void *ctx) {
  return sqlite_read_rows(sqlite_of(base_), S_CONTRACT_LIST, bind_filter, f, contract_row,
                          (list_cb_t){.contract = cb}, ctx, "contract list");
}

static void bind_now(sqlite3_stmt *s, const void *arg) {
  sqlite3_bind_int64(s, 1, *(const int64_t *)arg);
}

store_status_t sqlite_contract_due_each(store_t *base_, int64_t now, store_contract_cb cb,
                                        void *ctx) {
  return sqlite_read_rows(sqlite_of(base_), S_CONTRACT_DUE, bind_now, &now, contract_row,
                          (list_cb_t){.contract = cb}, ctx, "contract due");
}

store_status_t sqlite_contract_cancel(store_t *base_, nimbus_id_t id, int64_t now,
                                      const store_audit_t *audit) {
  static const char what[] = "contract cancel";
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  store_status_t status = sqlite_tx_begin_locked(st);
  sqlite3_stmt *s = status == STORE_OK ? sqlite_stmt_get_locked(st, S_CONTRACT_CANCEL) : NULL;
  if (s) {
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, now);
    status = sqlite_exec_changes_locked(st, s, what);
    if (status == STORE_NOT_FOUND) { /* there but canceled already: CONFLICT */
      sqlite3_stmt *e = sqlite_stmt_get_locked(st, S_CONTRACT_EXISTS);
      if (e) {
        sqlite3_bind_int64(e, 1, id);
        if (sqlite_step_row_locked(st, e, what) == STORE_OK) status = STORE_CONFLICT;
        sqlite_stmt_reset(e);
      }
    }
  } else if (status == STORE_OK) {
    status = STORE_ERROR;
  }
  if (status == STORE_OK && audit) status = sqlite_audit_insert_locked(st, audit, id);
  if (status == STORE_OK) status = sqlite_tx_commit_locked(st);
  if (status != STORE_OK) sqlite_tx_rollback_locked(st);
  sqlite_unlock(st);
  return status;
}

/* Bind sender and event id as ?1, ?2. */
static sqlite3_stmt *event_stmt_locked(sqlite_store_t *st, stmt_id_t id,
                                       const store_contract_event_t *ev) {
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, id);
  if (s) {
    sqlite_bind_str(s, 1, ev->sender);
    sqlite_bind_str(s, 2, ev->event_id);
  }
  return s;
}

/* The body of sqlite_contract_event_apply, inside its transaction. */
static store_status_t event_apply_locked(sqlite_store_t *st, const store_contract_event_t *ev,
                                         store_contract_event_op_t op, nimbus_contract_t *c,
                                         bool *duplicate, nimbus_id_t *contract_id) {
  store_status_t status = STORE_OK;
  sqlite3_stmt *s;
  if (ev->prune_before > 0) {
    if (!(s = sqlite_stmt_get_locked(st, S_CEVENT_PRUNE))) return STORE_ERROR;
    sqlite3_bind_int64(s, 1, ev->prune_before);
    if ((status = sqlite_stmt_exec_locked(st, s, "contract event prune")) != STORE_OK)
      return status;
  }
  if (!(s = event_stmt_locked(st, S_CEVENT_INSERT, ev))) return STORE_ERROR;
  sqlite3_bind_int64(s, 3, ev->received_at);
  status = sqlite_stmt_exec_locked(st, s, "contract event insert");
  if (status != STORE_OK) return status;
  if (sqlite3_changes(st->db) == 0) { /* seen before: say which contract, change nothing */
    *duplicate = true;
    if (!(s = event_stmt_locked(st, S_CEVENT_GET, ev))) return STORE_ERROR;
    int64_t id = 0;
    status = sqlite_query_int64_locked(st, s, "contract event get", &id);
    *contract_id = id;
    return status;
  }
  if (op == STORE_CONTRACT_EVENT_INSERT)
    status = contract_insert_locked(st, c);
  else if (op == STORE_CONTRACT_EVENT_UPDATE)
    status = contract_update_locked(st, c);
  if (status != STORE_OK) return status;
  *contract_id = c->id;
  if (!(s = event_stmt_locked(st, S_CEVENT_SET, ev))) return STORE_ERROR;
  sqlite3_bind_int64(s, 3, c->id);
  return sqlite_stmt_exec_locked(st, s, "contract event set");
}

store_status_t sqlite_contract_event_apply(store_t *base_, const store_contract_event_t *ev,
                                           store_contract_event_op_t op, nimbus_contract_t *c,
                                           const store_audit_t *audit, bool *duplicate,
                                           nimbus_id_t *contract_id) {
  sqlite_store_t *st = sqlite_of(base_);
  *duplicate = false;
  *contract_id = 0;
  if (!sqlite_lock(st)) return STORE_ERROR;
  nimbus_contract_t *saved = malloc(sizeof *saved);
  store_status_t status = saved ? sqlite_tx_begin_locked(st) : STORE_ERROR;
  if (saved) *saved = *c;
  if (status == STORE_OK) status = event_apply_locked(st, ev, op, c, duplicate, contract_id);
  if (status == STORE_OK && !*duplicate && audit)
    status = sqlite_audit_insert_locked(st, audit, c->id);
  if (status == STORE_OK && *duplicate) {
    sqlite_tx_rollback_locked(st); /* nothing to keep (not even the prune) */
  } else {
    if (status == STORE_OK) status = sqlite_tx_commit_locked(st);
    if (status != STORE_OK) {
      sqlite_tx_rollback_locked(st);
      if (saved) *c = *saved;
      *duplicate = false;
      *contract_id = 0;
    }
  }
  free(saved);
  sqlite_unlock(st);
  return status;
}

/* ---- dealers ---- */

store_status_t sqlite_dealer_set(store_t *base_, nimbus_id_t customer_tenant_id,
                                 nimbus_id_t dealer_tenant_id, const store_audit_t *audit) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  store_status_t status = sqlite_audit_begin_locked(st, audit);
  if (status == STORE_OK) {
    sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_DEALER_SET);
    if (!s) {
      status = STORE_ERROR;
    } else {
      sqlite3_bind_int64(s, 1, customer_tenant_id);
      sqlite3_bind_int64(s, 2, dealer_tenant_id);
      sqlite3_bind_int64(s, 3, (int64_t)time(NULL));
      status = sqlite_stmt_exec_locked(st, s, "dealer set");
    }
    status = sqlite_audit_end_locked(st, audit, status, 0);
  }
  sqlite_unlock(st);
  return status;
}

static void read_id(sqlite3_stmt *s, void *out) {
  *(nimbus_id_t *)out = sqlite3_column_int64(s, 0);
}

store_status_t sqlite_dealer_get(store_t *base_, nimbus_id_t customer_tenant_id,
                                 nimbus_id_t *dealer_tenant_id) {
  const int64_t ints[] = {customer_tenant_id};
  return sqlite_read_one_row(sqlite_of(base_), S_DEALER_GET, ints, 1, NULL, read_id,
                             dealer_tenant_id, "dealer get");
}

static void bind_one_id(sqlite3_stmt *s, const void *arg) {
  sqlite3_bind_int64(s, 1, *(const nimbus_id_t *)arg);
}

store_status_t sqlite_dealer_delete(store_t *base_, nimbus_id_t customer_tenant_id,
                                    const store_audit_t *audit) {
  return sqlite_write_changes(sqlite_of(base_), S_DEALER_DELETE, bind_one_id, &customer_tenant_id,
                              audit, customer_tenant_id, "dealer delete");
}

static bool dealer_row(sqlite3_stmt *s, list_cb_t cb, void *ctx) {
  return cb.dealer(sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1), ctx);
}

store_status_t sqlite_dealer_list(store_t *base_, nimbus_id_t dealer_tenant_id, store_dealer_cb cb,
                                  void *ctx) {
  return sqlite_read_rows(sqlite_of(base_), S_DEALER_LIST, bind_one_id, &dealer_tenant_id,
                          dealer_row, (list_cb_t){.dealer = cb}, ctx, "dealer list");
}

/* ---- packages ---- */

store_status_t sqlite_package_insert(store_t *base_, nimbus_package_t *p,
                                     const store_audit_t *audit) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  int64_t now = p->created_at ? p->created_at : (int64_t)time(NULL), id = 0;
  store_status_t status = sqlite_audit_begin_locked(st, audit);
  if (status == STORE_OK) {
    sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_PACKAGE_INSERT);
    if (!s) {
      status = STORE_ERROR;
    } else {
      sqlite3_bind_int64(s, 1, p->owner_tenant_id);
      BIND_FIELD(s, 2, p->kind);
      BIND_FIELD(s, 3, p->name);
      BIND_FIELD(s, 4, p->version);
      sqlite3_bind_int64(s, 5, p->size);
      BIND_FIELD(s, 6, p->sha256);
      BIND_FIELD(s, 7, p->blob_key);
      sqlite3_bind_int64(s, 8, now);
      status = sqlite_stmt_exec_locked(st, s, "package insert");
      if (status == STORE_OK) id = sqlite3_last_insert_rowid(st->db);
    }
    status = sqlite_audit_end_locked(st, audit, status, id);
  }
  if (status == STORE_OK) {
    p->id = id;
    p->created_at = now;
  }
  sqlite_unlock(st);
  return status;
}

static void read_package(sqlite3_stmt *s, void *out) {
  package_from_row(s, out);
}

store_status_t sqlite_package_get(store_t *base_, nimbus_id_t id, nimbus_package_t *out) {
  const int64_t ints[] = {id};
  return sqlite_read_one_row(sqlite_of(base_), S_PACKAGE_GET, ints, 1, NULL, read_package, out,
                             "package get");
}

static bool package_row(sqlite3_stmt *s, list_cb_t cb, void *ctx) {
  nimbus_package_t p;
  package_from_row(s, &p);
  return cb.package(&p, ctx);
}

store_status_t sqlite_package_list(store_t *base_, nimbus_id_t owner_tenant_id, store_package_cb cb,
                                   void *ctx) {
  return sqlite_read_rows(sqlite_of(base_), S_PACKAGE_LIST, bind_one_id, &owner_tenant_id,
                          package_row, (list_cb_t){.package = cb}, ctx, "package list");
}

static void read_bool(sqlite3_stmt *s, void *out) {
  *(bool *)out = sqlite3_column_int(s, 0) != 0;
}

store_status_t sqlite_package_in_use(store_t *base_, nimbus_id_t id, int64_t now, bool *used) {
  const int64_t ints[] = {id, now};
  *used = false;
  return sqlite_read_one_row(sqlite_of(base_), S_PACKAGE_IN_USE, ints, 2, NULL, read_bool, used,
                             "package in use");
}

store_status_t sqlite_package_delete(store_t *base_, nimbus_id_t owner_tenant_id, nimbus_id_t id,
                                     int64_t now, const store_audit_t *audit) {
  static const char what[] = "package delete";
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  store_status_t status = sqlite_tx_begin_locked(st);
  sqlite3_stmt *s = status == STORE_OK ? sqlite_stmt_get_locked(st, S_PACKAGE_DELETE) : NULL;
  if (s) {
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, owner_tenant_id);
    sqlite3_bind_int64(s, 3, now);
    status = sqlite_exec_changes_locked(st, s, what);
    if (status == STORE_NOT_FOUND) { /* there but named by a contract: CONFLICT */
      sqlite3_stmt *e = sqlite_stmt_get_locked(st, S_PACKAGE_EXISTS);
      if (e) {
        sqlite3_bind_int64(e, 1, id);
        sqlite3_bind_int64(e, 2, owner_tenant_id);
        if (sqlite_step_row_locked(st, e, what) == STORE_OK) status = STORE_CONFLICT;
        sqlite_stmt_reset(e);
      }
    }
  } else if (status == STORE_OK) {
    status = STORE_ERROR;
  }
  if (status == STORE_OK && audit) status = sqlite_audit_insert_locked(st, audit, id);
  if (status == STORE_OK) status = sqlite_tx_commit_locked(st);
  if (status != STORE_OK) sqlite_tx_rollback_locked(st);
  sqlite_unlock(st);
  return status;
}
