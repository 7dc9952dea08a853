/*
 * store-sqlite-money.c: money in the SQLite backend (store.h "money",
 * issue 12): a tenant's billing settings and payment provider, price
 * tables and the pricing of queues and printers, job quotes, payments
 * (compare-and-set, with the job's change and a ledger posting in the
 * same transaction) and the append-only ledger.
 *
 * Writes run on the main connection under st->mu, in one BEGIN IMMEDIATE
 * ... COMMIT when they are more than one statement (or audited), so a
 * STORE_OK is durable (WAL, synchronous=FULL) and a failure leaves
 * nothing written.  Reads take a read connection (sqlite_read_lock).
 * Every statement names the tenant; a row of another tenant is NOT_FOUND.
 */
#include "store-sqlite-private.h"

#define PAY_COLS                                                                           \
  "p.id, p.tenant_id, p.job_id, p.device_id, p.attempt, p.provider, p.state, p.currency, " \
  "p.amount, p.print_fee, p.service_fee, p.order_id, p.provider_tx, p.payment_url, "       \
  "p.refund_tx, p.reason, p.created_at, p.updated_at, p.expires_at, p.paid_at"
#define PRICE_COLS "id, tenant_id, name, spec, created_at, updated_at"
#define LEDGER_COLS                                                                          \
  "e.id, e.posting_id, l.tenant_id, l.job_id, l.payment_id, l.kind, e.account, l.currency, " \
  "e.amount, l.memo, l.created_at"
/* ?1 all tenants, ?2 tenant, ?3 job (0: any), ?4 after entry id */
#define LEDGER_WHERE                                                     \
  "FROM ledger_entries e JOIN ledger_postings l ON l.id = e.posting_id " \
  "WHERE (?1 OR l.tenant_id = ?2) AND (?3 = 0 OR l.job_id = ?3) AND e.id > ?4"

static const char *const money_sql[S_BILLING_FIRST - S_MONEY_FIRST] = {
#define M(id) [(id)-S_MONEY_FIRST]
    M(S_BILLING_GET) =
        "SELECT tenant_id, currency, service_fee_fixed, service_fee_bps, "
        "updated_at, purpose_required FROM tenant_billing WHERE tenant_id = ?1",
    M(S_BILLING_PUT) =
        "INSERT INTO tenant_billing (tenant_id, currency, service_fee_fixed, service_fee_bps, "
        "updated_at, purpose_required) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
        "ON CONFLICT (tenant_id) DO UPDATE SET "
        "currency = excluded.currency, service_fee_fixed = excluded.service_fee_fixed, "
        "service_fee_bps = excluded.service_fee_bps, updated_at = excluded.updated_at, "
        "purpose_required = excluded.purpose_required",
    M(S_PROVIDER_GET) =
        "SELECT tenant_id, provider, sealed, updated_at FROM payment_providers "
        "WHERE tenant_id = ?1",
    M(S_PROVIDER_PUT) =
        "INSERT INTO payment_providers (tenant_id, provider, sealed, updated_at) "
        "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (tenant_id) DO UPDATE SET "
        "provider = excluded.provider, sealed = excluded.sealed, updated_at = excluded.updated_at",
    M(S_PROVIDER_DELETE) = "DELETE FROM payment_providers WHERE tenant_id = ?1",
    M(S_PRICE_INSERT) =
        "INSERT INTO price_tables (tenant_id, name, spec, created_at, updated_at) "
        "VALUES (?1, ?2, ?3, ?4, ?4) RETURNING id",
    M(S_PRICE_GET) = "SELECT " PRICE_COLS " FROM price_tables WHERE id = ?1 AND tenant_id = ?2",
    M(S_PRICE_GET_BY_NAME) =
        "SELECT " PRICE_COLS " FROM price_tables WHERE tenant_id = ?1 AND name = ?2",
    M(S_PRICE_UPDATE) =
        "UPDATE price_tables SET name = ?3, spec = ?4, updated_at = ?5 "
        "WHERE id = ?1 AND tenant_id = ?2 RETURNING created_at",
    M(S_PRICE_DELETE) = "DELETE FROM price_tables WHERE id = ?1 AND tenant_id = ?2",
    M(S_PRICE_LIST) = "SELECT " PRICE_COLS " FROM price_tables WHERE tenant_id = ?1 ORDER BY name",
    /* ?3 NULL: no table; else it must be the tenant's */
    M(S_QUEUE_SET_PRICING) =
        "UPDATE queues SET price_table_id = ?3, payment = ?4 WHERE id = ?1 AND tenant_id = ?2 "
        "AND (?3 IS NULL OR EXISTS (SELECT 1 FROM price_tables t WHERE t.id = ?3 "
        "AND t.tenant_id = ?2))",
    M(S_DEVICE_SET_PRICING) =
        "UPDATE devices SET price_table_id = ?3, payment = ?4 WHERE id = ?1 AND tenant_id = ?2 "
        "AND (?3 IS NULL OR EXISTS (SELECT 1 FROM price_tables t WHERE t.id = ?3 "
        "AND t.tenant_id = ?2))",
    /* No row inserted when the job is not the tenant's. */
    M(S_QUOTE_PUT) =
        "INSERT INTO job_quotes (job_id, tenant_id, price_table_id, currency, print_fee, "
        "service_fee, total, detail, computed_at) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9 "
        "FROM jobs WHERE id = ?1 AND tenant_id = ?2 ON CONFLICT (job_id) DO UPDATE SET "
        "price_table_id = excluded.price_table_id, currency = excluded.currency, "
        "print_fee = excluded.print_fee, service_fee = excluded.service_fee, "
        "total = excluded.total, detail = excluded.detail, computed_at = excluded.computed_at",
    M(S_QUOTE_GET) =
        "SELECT job_id, tenant_id, price_table_id, currency, print_fee, service_fee, total, "
        "detail, computed_at FROM job_quotes WHERE job_id = ?1 AND tenant_id = ?2",
    M(S_JOB_IN_TENANT) = "SELECT 1 FROM jobs WHERE id = ?1 AND tenant_id = ?2",
    /* No row inserted (nothing returned) when the job is not the tenant's. */
    M(S_PAYMENT_INSERT) =
        "INSERT INTO payments (tenant_id, job_id, device_id, attempt, provider, state, "
        "currency, amount, print_fee, service_fee, order_id, provider_tx, payment_url, "
        "refund_tx, reason, created_at, updated_at, expires_at, paid_at) "
        "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?16, "
        "?17, ?18 FROM jobs WHERE id = ?2 AND tenant_id = ?1 RETURNING id",
    M(S_PAYMENT_GET) = "SELECT " PAY_COLS " FROM payments p WHERE p.id = ?1 AND p.tenant_id = ?2",
    M(S_PAYMENT_GET_BY_ORDER) = "SELECT " PAY_COLS " FROM payments p WHERE p.order_id = ?1",
    M(S_PAYMENT_LATEST) = "SELECT " PAY_COLS
                          " FROM payments p WHERE p.tenant_id = ?1 AND p.job_id = ?2 "
                          "ORDER BY p.id DESC LIMIT 1",
    /* compare ?3, set ?4.. */
    M(S_PAYMENT_UPDATE) =
        "UPDATE payments SET state = ?4, provider_tx = ?5, payment_url = ?6, refund_tx = ?7, "
        "reason = ?8, expires_at = ?9, paid_at = ?10, updated_at = ?11 "
        "WHERE id = ?1 AND tenant_id = ?2 AND state = ?3",
    M(S_PAYMENT_EXISTS) = "SELECT 1 FROM payments WHERE id = ?1 AND tenant_id = ?2",
    /* what needs the reconciler now (store.h store_payment_list_open) */
    M(S_PAYMENT_LIST_OPEN) = "SELECT " PAY_COLS
                             ", j.state FROM payments p JOIN jobs j ON j.id = p.job_id "
                             "WHERE p.state IN (1, 2, 3, 7) AND p.id > ?2 "
                             "AND (p.state <> 1 OR p.created_at < ?3) "
                             "AND (p.state <> 2 OR p.expires_at < ?4 OR j.state <> 3) "
                             "AND (p.state <> 3 OR j.state >= 6) "
                             "ORDER BY p.id LIMIT ?1",
    M(S_PAYMENT_LIST) = "SELECT " PAY_COLS
                        ", j.state FROM payments p JOIN jobs j ON j.id = p.job_id "
                        "WHERE p.tenant_id = ?1 AND (?2 = 0 OR p.job_id = ?2) "
                        "ORDER BY p.id DESC LIMIT ?3 OFFSET ?4",
    M(S_POSTING_INSERT) =
        "INSERT INTO ledger_postings (tenant_id, job_id, payment_id, kind, currency, memo, "
        "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
    M(S_ENTRY_INSERT) =
        "INSERT INTO ledger_entries (posting_id, account, amount) VALUES (?1, ?2, ?3)",
    M(S_LEDGER_LIST) = "SELECT " LEDGER_COLS " " LEDGER_WHERE " ORDER BY e.id LIMIT ?5",
    M(S_LEDGER_BALANCES) = "SELECT e.account, l.currency, sum(e.amount) " LEDGER_WHERE
                           " GROUP BY e.account, l.currency ORDER BY e.account, l.currency",
#undef M
};

/* Statements from S_BILLING_FIRST on are store-sqlite-billing.c's. */
const char *sqlite_money_sql(stmt_id_t id) {
  if (id >= S_BILLING_FIRST) return sqlite_billing_sql(id);
  return id >= S_MONEY_FIRST ? money_sql[id - S_MONEY_FIRST] : NULL;
}

#define COPY(s, col, arr) sqlite_copy_column((s), (col), (arr), sizeof(arr))

/* ---- row readers (column order as in the statements above) ---- */

static void payment_from_row(sqlite3_stmt *s, nimbus_payment_t *p) {
  memset(p, 0, sizeof *p);
  p->id = sqlite3_column_int64(s, 0);
  p->tenant_id = sqlite3_column_int64(s, 1);
  p->job_id = sqlite3_column_int64(s, 2);
  p->device_id = sqlite3_column_int64(s, 3);
  p->attempt = sqlite_column_int(s, 4);
  COPY(s, 5, p->provider);
  p->state = (nimbus_payment_state_t)sqlite_column_int(s, 6);
  COPY(s, 7, p->currency);
  p->amount = sqlite3_column_int64(s, 8);
  p->print_fee = sqlite3_column_int64(s, 9);
  p->service_fee = sqlite3_column_int64(s, 10);
  COPY(s, 11, p->order_id);
  COPY(s, 12, p->provider_tx);
  COPY(s, 13, p->payment_url);
  COPY(s, 14, p->refund_tx);
  COPY(s, 15, p->reason);
  p->created_at = sqlite3_column_int64(s, 16);
  p->updated_at = sqlite3_column_int64(s, 17);
  p->expires_at = sqlite3_column_int64(s, 18);
  p->paid_at = sqlite3_column_int64(s, 19);
}

static void price_from_row(sqlite3_stmt *s, nimbus_price_table_t *t) {
  memset(t, 0, sizeof *t);
  t->id = sqlite3_column_int64(s, 0);
  t->tenant_id = sqlite3_column_int64(s, 1);
  COPY(s, 2, t->name);
  COPY(s, 3, t->spec);
  t->created_at = sqlite3_column_int64(s, 4);
  t->updated_at = sqlite3_column_int64(s, 5);
}

static bool price_row(sqlite3_stmt *s, list_cb_t cb, void *ctx) {
  nimbus_price_table_t t;
  price_from_row(s, &t);
  return cb.price_table(&t, ctx);
}

static bool payment_row(sqlite3_stmt *s, list_cb_t cb, void *ctx) {
  nimbus_payment_t p;
  payment_from_row(s, &p);
  return cb.payment(&p, (nimbus_job_state_t)sqlite_column_int(s, 20), ctx);
}

static bool ledger_row(sqlite3_stmt *s, list_cb_t cb, void *ctx) {
  nimbus_ledger_entry_t e;
  memset(&e, 0, sizeof e);
  e.id = sqlite3_column_int64(s, 0);
  e.posting_id = sqlite3_column_int64(s, 1);
  e.tenant_id = sqlite3_column_int64(s, 2);
  e.job_id = sqlite3_column_int64(s, 3);
  e.payment_id = sqlite3_column_int64(s, 4);
  COPY(s, 5, e.kind);
  COPY(s, 6, e.account);
  COPY(s, 7, e.currency);
  e.amount = sqlite3_column_int64(s, 8);
  COPY(s, 9, e.memo);
  e.created_at = sqlite3_column_int64(s, 10);
  return cb.ledger(&e, ctx);
}

static bool balance_row(sqlite3_stmt *s, list_cb_t cb, void *ctx) {
  char account[64], currency[NIMBUS_CURRENCY_MAX];
  COPY(s, 0, account);
  COPY(s, 1, currency);
  return cb.balance(account, currency, sqlite3_column_int64(s, 2), ctx);
}

/* ---- shapes shared by the operations ---- */

/* Read one row of statement id, bound with ints[0..nints) as ?1.. and
 * text (when not NULL) after them, into out with `read`. */
typedef sqlite_read_fn read_fn;

#define INTS(...) ((const int64_t[]){__VA_ARGS__}), (int)(sizeof((int64_t[]){__VA_ARGS__}) / 8)

static void read_payment(sqlite3_stmt *s, void *out) {
  payment_from_row(s, out);
}

static void read_price(sqlite3_stmt *s, void *out) {
  price_from_row(s, out);
}

static void read_billing(sqlite3_stmt *s, void *out) {
  nimbus_tenant_billing_t *b = out;
  memset(b, 0, sizeof *b);
  b->tenant_id = sqlite3_column_int64(s, 0);
  COPY(s, 1, b->currency);
  b->service_fee_fixed = sqlite3_column_int64(s, 2);
  b->service_fee_bps = sqlite_column_int(s, 3);
  b->updated_at = sqlite3_column_int64(s, 4);
  b->purpose_required = sqlite3_column_int(s, 5) != 0;
}

static void read_provider(sqlite3_stmt *s, void *out) {
  nimbus_payment_provider_t *p = out;
  memset(p, 0, sizeof *p);
  p->tenant_id = sqlite3_column_int64(s, 0);
  COPY(s, 1, p->provider);
  const void *blob = sqlite3_column_blob(s, 2);
  int n = sqlite3_column_bytes(s, 2);
  if (n > NIMBUS_SEALED_MAX) n = NIMBUS_SEALED_MAX; /* store.c refuses longer ones */
  if (blob && n > 0) memcpy(p->sealed, blob, (size_t)n);
  p->sealed_len = blob ? n : 0;
  p->updated_at = sqlite3_column_int64(s, 3);
}

/* A job_quotes row's 9 columns from column `at` on. */
void sqlite_quote_from_row(sqlite3_stmt *s, int at, nimbus_job_quote_t *q) {
  memset(q, 0, sizeof *q);
  q->job_id = sqlite3_column_int64(s, at + 0);
  q->tenant_id = sqlite3_column_int64(s, at + 1);
  q->price_table_id = sqlite3_column_int64(s, at + 2);
  COPY(s, at + 3, q->currency);
  q->print_fee = sqlite3_column_int64(s, at + 4);
  q->service_fee = sqlite3_column_int64(s, at + 5);
  q->total = sqlite3_column_int64(s, at + 6);
  COPY(s, at + 7, q->detail);
  q->computed_at = sqlite3_column_int64(s, at + 8);
}

static void read_quote(sqlite3_stmt *s, void *out) {
  sqlite_quote_from_row(s, 0, out);
}

/* ---- billing settings and payment provider ---- */

store_status_t sqlite_tenant_billing_get(store_t *base_, nimbus_id_t tenant_id,
                                         nimbus_tenant_billing_t *out) {
  return sqlite_read_one_row(sqlite_of(base_), S_BILLING_GET, INTS(tenant_id), NULL, read_billing,
                             out, "tenant billing get");
}

store_status_t sqlite_tenant_billing_put(store_t *base_, nimbus_tenant_billing_t *b,
                                         const store_audit_t *audit) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  int64_t now = (int64_t)time(NULL);
  store_status_t status = sqlite_audit_begin_locked(st, audit);
  sqlite3_stmt *s = status == STORE_OK ? sqlite_stmt_get_locked(st, S_BILLING_PUT) : NULL;
  if (s) {
    sqlite3_bind_int64(s, 1, b->tenant_id);
    BIND_FIELD(s, 2, b->currency);
    sqlite3_bind_int64(s, 3, b->service_fee_fixed);
    sqlite3_bind_int(s, 4, b->service_fee_bps);
    sqlite3_bind_int64(s, 5, now);
    sqlite3_bind_int(s, 6, b->purpose_required ? 1 : 0);
    status = sqlite_stmt_exec_locked(st, s, "tenant billing put");
  } else if (status == STORE_OK) {
    status = STORE_ERROR;
  }
  status = sqlite_audit_end_locked(st, audit, status, b->tenant_id);
  sqlite_unlock(st);
  if (status == STORE_OK) b->updated_at = now;
  return status;
}

store_status_t sqlite_payment_provider_get(store_t *base_, nimbus_id_t tenant_id,
                                           nimbus_payment_provider_t *out) {
  return sqlite_read_one_row(sqlite_of(base_), S_PROVIDER_GET, INTS(tenant_id), NULL, read_provider,
                             out, "payment provider get");
}

store_status_t sqlite_payment_provider_put(store_t *base_, nimbus_payment_provider_t *p,
                                           const store_audit_t *audit) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  int64_t now = (int64_t)time(NULL);
  store_status_t status = sqlite_audit_begin_locked(st, audit);
  sqlite3_stmt *s = status == STORE_OK ? sqlite_stmt_get_locked(st, S_PROVIDER_PUT) : NULL;
  if (s) {
    sqlite3_bind_int64(s, 1, p->tenant_id);
    BIND_FIELD(s, 2, p->provider);
    sqlite3_bind_blob(s, 3, p->sealed, p->sealed_len, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, now);
    status = sqlite_stmt_exec_locked(st, s, "payment provider put");
  } else if (status == STORE_OK) {
    status = STORE_ERROR;
  }
  status = sqlite_audit_end_locked(st, audit, status, p->tenant_id);
  sqlite_unlock(st);
  if (status == STORE_OK) p->updated_at = now;
  return status;
}

typedef sqlite_bind_fn bind_fn;

typedef struct {
  nimbus_id_t tenant_id, id;
  const nimbus_pricing_t *pricing;
} money_key_t;

static void bind_tenant(sqlite3_stmt *s, const void *arg) {
  const money_key_t *k = arg;
  sqlite3_bind_int64(s, 1, k->tenant_id);
}

static void bind_id_tenant(sqlite3_stmt *s, const void *arg) {
  const money_key_t *k = arg;
  sqlite3_bind_int64(s, 1, k->id);
  sqlite3_bind_int64(s, 2, k->tenant_id);
}

store_status_t sqlite_payment_provider_delete(store_t *base_, nimbus_id_t tenant_id,
                                              const store_audit_t *audit) {
  money_key_t k = {.tenant_id = tenant_id};
  return sqlite_write_changes(sqlite_of(base_), S_PROVIDER_DELETE, bind_tenant, &k, audit,
                              tenant_id, "payment provider delete");
}

/* ---- price tables and pricing ---- */

store_status_t sqlite_price_table_insert(store_t *base_, nimbus_price_table_t *t,
                                         const store_audit_t *audit) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  int64_t now = (int64_t)time(NULL), id = 0;
  store_status_t status = sqlite_audit_begin_locked(st, audit);
  sqlite3_stmt *s = status == STORE_OK ? sqlite_stmt_get_locked(st, S_PRICE_INSERT) : NULL;
  if (s) {
    sqlite3_bind_int64(s, 1, t->tenant_id);
    BIND_FIELD(s, 2, t->name);
    BIND_FIELD(s, 3, t->spec);
    sqlite3_bind_int64(s, 4, now);
    status = sqlite_query_int64_locked(st, s, "price table insert", &id);
    if (status == STORE_NOT_FOUND) status = STORE_ERROR; /* RETURNING gave no row */
  } else if (status == STORE_OK) {
    status = STORE_ERROR;
  }
  status = sqlite_audit_end_locked(st, audit, status, id);
  sqlite_unlock(st);
  if (status == STORE_OK) {
    t->id = id;
    t->created_at = t->updated_at = now;
  }
  return status;
}

store_status_t sqlite_price_table_get(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id,
                                      nimbus_price_table_t *out) {
  return sqlite_read_one_row(sqlite_of(base_), S_PRICE_GET, INTS(id, tenant_id), NULL, read_price,
                             out, "price table get");
}

store_status_t sqlite_price_table_get_by_name(store_t *base_, nimbus_id_t tenant_id,
                                              const char *name, nimbus_price_table_t *out) {
  return sqlite_read_one_row(sqlite_of(base_), S_PRICE_GET_BY_NAME, INTS(tenant_id), name,
                             read_price, out, "price table get by name");
}

store_status_t sqlite_price_table_update(store_t *base_, nimbus_price_table_t *t,
                                         const store_audit_t *audit) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  int64_t now = (int64_t)time(NULL), created = 0;
  store_status_t status = sqlite_audit_begin_locked(st, audit);
  sqlite3_stmt *s = status == STORE_OK ? sqlite_stmt_get_locked(st, S_PRICE_UPDATE) : NULL;
  if (s) {
    sqlite3_bind_int64(s, 1, t->id);
    sqlite3_bind_int64(s, 2, t->tenant_id);
    BIND_FIELD(s, 3, t->name);
    BIND_FIELD(s, 4, t->spec);
    sqlite3_bind_int64(s, 5, now);
    status = sqlite_query_int64_locked(st, s, "price table update", &created);
  } else if (status == STORE_OK) {
    status = STORE_ERROR;
  }
  status = sqlite_audit_end_locked(st, audit, status, t->id);
  sqlite_unlock(st);
  if (status == STORE_OK) {
    t->created_at = created;
    t->updated_at = now;
  }
  return status;
}

store_status_t sqlite_price_table_delete(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id,
                                         const store_audit_t *audit) {
  money_key_t k = {.tenant_id = tenant_id, .id = id};
  return sqlite_write_changes(sqlite_of(base_), S_PRICE_DELETE, bind_id_tenant, &k, audit, id,
                              "price table delete");
}

store_status_t sqlite_price_table_list(store_t *base_, nimbus_id_t tenant_id,
                                       store_price_table_cb cb, void *ctx) {
  money_key_t k = {.tenant_id = tenant_id};
  return sqlite_read_rows(sqlite_of(base_), S_PRICE_LIST, bind_tenant, &k, price_row,
                          (list_cb_t){.price_table = cb}, ctx, "price table list");
}

static void bind_pricing(sqlite3_stmt *s, const void *arg) {
  const money_key_t *k = arg;
  sqlite3_bind_int64(s, 1, k->id);
  sqlite3_bind_int64(s, 2, k->tenant_id);
  sqlite_bind_id_or_null(s, 3, k->pricing->price_table_id);
  BIND_FIELD(s, 4, k->pricing->payment);
}

store_status_t sqlite_queue_set_pricing(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t queue_id,
                                        const nimbus_pricing_t *p, const store_audit_t *audit) {
  money_key_t k = {.tenant_id = tenant_id, .id = queue_id, .pricing = p};
  return sqlite_write_changes(sqlite_of(base_), S_QUEUE_SET_PRICING, bind_pricing, &k, audit,
                              queue_id, "queue set pricing");
}

store_status_t sqlite_device_set_pricing(store_t *base_, nimbus_id_t tenant_id,
                                         nimbus_id_t device_id, const nimbus_pricing_t *p,
                                         const store_audit_t *audit) {
  money_key_t k = {.tenant_id = tenant_id, .id = device_id, .pricing = p};
  return sqlite_write_changes(sqlite_of(base_), S_DEVICE_SET_PRICING, bind_pricing, &k, audit,
                              device_id, "device set pricing");
}

/* ---- job quotes ---- */

static void bind_quote(sqlite3_stmt *s, const void *arg) {
  const nimbus_job_quote_t *q = arg;
  sqlite3_bind_int64(s, 1, q->job_id);
  sqlite3_bind_int64(s, 2, q->tenant_id);
  sqlite3_bind_int64(s, 3, q->price_table_id);
  BIND_FIELD(s, 4, q->currency);
  sqlite3_bind_int64(s, 5, q->print_fee);
  sqlite3_bind_int64(s, 6, q->service_fee);
  sqlite3_bind_int64(s, 7, q->total);
  BIND_FIELD(s, 8, q->detail);
  sqlite3_bind_int64(s, 9, q->computed_at ? q->computed_at : (int64_t)time(NULL));
}

store_status_t sqlite_job_quote_put(store_t *base_, const nimbus_job_quote_t *q) {
  return sqlite_write_changes(sqlite_of(base_), S_QUOTE_PUT, bind_quote, q, NULL, 0,
                              "job quote put");
}

store_status_t sqlite_job_quote_get(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                    nimbus_job_quote_t *out) {
  return sqlite_read_one_row(sqlite_of(base_), S_QUOTE_GET, INTS(job_id, tenant_id), NULL,
                             read_quote, out, "job quote get");
}

/* ---- the ledger ---- */

/* Append posting (its payment_id 0: payment_id) inside the caller's
 * transaction; *posting_id receives its id.  Shared with
 * store-sqlite-billing.c (top-ups and charges). */
store_status_t sqlite_posting_insert_locked(sqlite_store_t *st,
                                            const store_ledger_posting_t *posting,
                                            nimbus_id_t payment_id, int64_t now,
                                            nimbus_id_t *posting_id) {
  static const char what[] = "ledger post";
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_POSTING_INSERT);
  if (!s) return STORE_ERROR;
  sqlite3_bind_int64(s, 1, posting->tenant_id);
  sqlite3_bind_int64(s, 2, posting->job_id);
  sqlite3_bind_int64(s, 3, posting->payment_id ? posting->payment_id : payment_id);
  sqlite_bind_str(s, 4, posting->kind);
  sqlite_bind_str(s, 5, posting->currency);
  sqlite_bind_str(s, 6, posting->memo);
  sqlite3_bind_int64(s, 7, now);
  int64_t id = 0;
  store_status_t status = sqlite_query_int64_locked(st, s, what, &id);
  if (status == STORE_NOT_FOUND) status = STORE_ERROR;
  for (int i = 0; i < posting->nlines && status == STORE_OK; i++) {
    s = sqlite_stmt_get_locked(st, S_ENTRY_INSERT);
    if (!s) return STORE_ERROR;
    sqlite3_bind_int64(s, 1, id);
    BIND_FIELD(s, 2, posting->lines[i].account);
    sqlite3_bind_int64(s, 3, posting->lines[i].amount);
    status = sqlite_stmt_exec_locked(st, s, what);
  }
  if (status == STORE_OK) *posting_id = id;
  return status;
}

store_status_t sqlite_ledger_post(store_t *base_, const store_ledger_posting_t *posting,
                                  nimbus_id_t *posting_id, const store_audit_t *audit) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  nimbus_id_t id = 0;
  store_status_t status = sqlite_tx_begin_locked(st);
  if (status == STORE_OK)
    status = sqlite_posting_insert_locked(st, posting, 0, (int64_t)time(NULL), &id);
  if (status == STORE_OK) status = sqlite_audit_insert_locked(st, audit, id);
  if (status == STORE_OK) status = sqlite_tx_commit_locked(st);
  if (status != STORE_OK) sqlite_tx_rollback_locked(st);
  sqlite_unlock(st);
  if (status == STORE_OK) *posting_id = id;
  return status;
}

static void bind_ledger_filter(sqlite3_stmt *s, const void *arg) {
  const store_ledger_filter_t *f = arg;
  sqlite3_bind_int(s, 1, f->all_tenants);
  sqlite3_bind_int64(s, 2, f->tenant_id);
  sqlite3_bind_int64(s, 3, f->job_id);
  sqlite3_bind_int64(s, 4, f->after_id);
  sqlite3_bind_int(s, 5, f->limit > 0 ? f->limit : -1);
}

store_status_t sqlite_ledger_list(store_t *base_, const store_ledger_filter_t *f,
                                  store_ledger_cb cb, void *ctx) {
  return sqlite_read_rows(sqlite_of(base_), S_LEDGER_LIST, bind_ledger_filter, f, ledger_row,
                          (list_cb_t){.ledger = cb}, ctx, "ledger list");
}

/* Balances ignore the filter's limit (the statement has no ?5). */
store_status_t sqlite_ledger_balances(store_t *base_, const store_ledger_filter_t *f,
                                      store_balance_cb cb, void *ctx) {
  store_ledger_filter_t all = *f;
  all.limit = 0;
  return sqlite_read_rows(sqlite_of(base_), S_LEDGER_BALANCES, bind_ledger_filter, &all,
                          balance_row, (list_cb_t){.balance = cb}, ctx, "ledger balances");
}

/* ---- payments ---- */

store_status_t sqlite_payment_insert(store_t *base_, nimbus_payment_t *p,
                                     const store_job_change_t *job_change,
                                     const store_audit_t *audit) {
  static const char what[] = "payment insert";
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  int64_t now = (int64_t)time(NULL), id = 0;
  store_status_t status = sqlite_tx_begin_locked(st);
  sqlite3_stmt *s = status == STORE_OK ? sqlite_stmt_get_locked(st, S_PAYMENT_INSERT) : NULL;
  if (s) {
    sqlite3_bind_int64(s, 1, p->tenant_id);
    sqlite3_bind_int64(s, 2, p->job_id);
    sqlite3_bind_int64(s, 3, p->device_id);
    sqlite3_bind_int(s, 4, p->attempt);
    BIND_FIELD(s, 5, p->provider);
    sqlite3_bind_int(s, 6, (int)p->state);
    BIND_FIELD(s, 7, p->currency);
    sqlite3_bind_int64(s, 8, p->amount);
    sqlite3_bind_int64(s, 9, p->print_fee);
    sqlite3_bind_int64(s, 10, p->service_fee);
    BIND_FIELD(s, 11, p->order_id);
    BIND_FIELD(s, 12, p->provider_tx);
    BIND_FIELD(s, 13, p->payment_url);
    BIND_FIELD(s, 14, p->refund_tx);
    BIND_FIELD(s, 15, p->reason);
    sqlite3_bind_int64(s, 16, now);
    sqlite3_bind_int64(s, 17, p->expires_at);
    sqlite3_bind_int64(s, 18, p->paid_at);
    status = sqlite_query_int64_locked(st, s, what, &id); /* no row: not the tenant's job */
  } else if (status == STORE_OK) {
    status = STORE_ERROR;
  }
  if (status == STORE_OK && job_change)
    status = sqlite_job_change_locked(st, p->tenant_id, job_change, now);
  if (status == STORE_OK) status = sqlite_audit_insert_locked(st, audit, id);
  if (status == STORE_OK) status = sqlite_tx_commit_locked(st);
  if (status != STORE_OK) sqlite_tx_rollback_locked(st);
  sqlite_unlock(st);
  if (status == STORE_OK) {
    p->id = id;
    p->created_at = p->updated_at = now;
  }
  return status;
}

store_status_t sqlite_payment_get(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id,
                                  nimbus_payment_t *out) {
  return sqlite_read_one_row(sqlite_of(base_), S_PAYMENT_GET, INTS(id, tenant_id), NULL,
                             read_payment, out, "payment get");
}

store_status_t sqlite_payment_get_by_order(store_t *base_, const char *order_id,
                                           nimbus_payment_t *out) {
  if (!order_id) return STORE_NOT_FOUND;
  return sqlite_read_one_row(sqlite_of(base_), S_PAYMENT_GET_BY_ORDER, NULL, 0, order_id,
                             read_payment, out, "payment get by order");
}

store_status_t sqlite_payment_get_latest_for_job(store_t *base_, nimbus_id_t tenant_id,
                                                 nimbus_id_t job_id, nimbus_payment_t *out) {
  return sqlite_read_one_row(sqlite_of(base_), S_PAYMENT_LATEST, INTS(tenant_id, job_id), NULL,
                             read_payment, out, "payment latest for job");
}

/* The compare of payment_update failed: CONFLICT when the payment is the
 * tenant's (another change came first), else NOT_FOUND. */
static store_status_t payment_missing_or_conflict_locked(sqlite_store_t *st, nimbus_id_t tenant_id,
                                                         nimbus_id_t id) {
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_PAYMENT_EXISTS);
  if (!s) return STORE_ERROR;
  sqlite3_bind_int64(s, 1, id);
  sqlite3_bind_int64(s, 2, tenant_id);
  int64_t one;
  store_status_t status = sqlite_query_int64_locked(st, s, "payment update", &one);
  return status == STORE_OK ? STORE_CONFLICT : status;
}

store_status_t sqlite_payment_update(store_t *base_, nimbus_payment_t *p,
                                     nimbus_payment_state_t expected,
                                     const store_job_change_t *job_change,
                                     const store_ledger_posting_t *posting,
                                     const store_audit_t *audit) {
  static const char what[] = "payment update";
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  int64_t now = (int64_t)time(NULL);
  store_status_t status = sqlite_tx_begin_locked(st);
  sqlite3_stmt *s = status == STORE_OK ? sqlite_stmt_get_locked(st, S_PAYMENT_UPDATE) : NULL;
  if (s) {
    sqlite3_bind_int64(s, 1, p->id);
    sqlite3_bind_int64(s, 2, p->tenant_id);
    sqlite3_bind_int(s, 3, (int)expected);
    sqlite3_bind_int(s, 4, (int)p->state);
    BIND_FIELD(s, 5, p->provider_tx);
    BIND_FIELD(s, 6, p->payment_url);
    BIND_FIELD(s, 7, p->refund_tx);
    BIND_FIELD(s, 8, p->reason);
    sqlite3_bind_int64(s, 9, p->expires_at);
    sqlite3_bind_int64(s, 10, p->paid_at);
    sqlite3_bind_int64(s, 11, now);
    status = sqlite_exec_changes_locked(st, s, what);
    if (status == STORE_NOT_FOUND)
      status = payment_missing_or_conflict_locked(st, p->tenant_id, p->id);
  } else if (status == STORE_OK) {
    status = STORE_ERROR;
  }
  if (status == STORE_OK && job_change)
    status = sqlite_job_change_locked(st, p->tenant_id, job_change, now);
  nimbus_id_t posting_id = 0;
  if (status == STORE_OK && posting)
    status = sqlite_posting_insert_locked(st, posting, p->id, now, &posting_id);
  if (status == STORE_OK) status = sqlite_audit_insert_locked(st, audit, p->id);
  if (status == STORE_OK) status = sqlite_tx_commit_locked(st);
  if (status != STORE_OK) sqlite_tx_rollback_locked(st);
  sqlite_unlock(st);
  if (status == STORE_OK) p->updated_at = now;
  return status;
}

static void bind_open(sqlite3_stmt *s, const void *arg) {
  const store_payment_open_filter_t *f = arg;
  sqlite3_bind_int(s, 1, f->max > 0 ? f->max : -1);
  sqlite3_bind_int64(s, 2, f->after_id);
  sqlite3_bind_int64(s, 3, f->reserving_before);
  sqlite3_bind_int64(s, 4, f->pending_before);
}

/* f->max <= 0: no limit. */
store_status_t sqlite_payment_list_open(store_t *base_, const store_payment_open_filter_t *f,
                                        store_payment_cb cb, void *ctx) {
  return sqlite_read_rows(sqlite_of(base_), S_PAYMENT_LIST_OPEN, bind_open, f, payment_row,
                          (list_cb_t){.payment = cb}, ctx, "payment list open");
}

typedef struct {
  nimbus_id_t tenant_id, job_id;
  int limit, offset;
} payment_filter_t;

static void bind_payment_filter(sqlite3_stmt *s, const void *arg) {
  const payment_filter_t *f = arg;
  sqlite3_bind_int64(s, 1, f->tenant_id);
  sqlite3_bind_int64(s, 2, f->job_id);
  sqlite3_bind_int(s, 3, f->limit > 0 ? f->limit : -1);
  sqlite3_bind_int(s, 4, f->offset > 0 ? f->offset : 0);
}

/* limit <= 0: no limit. */
store_status_t sqlite_payment_list(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                   int limit, int offset, store_payment_cb cb, void *ctx) {
  payment_filter_t f = {.tenant_id = tenant_id, .job_id = job_id, .limit = limit, .offset = offset};
  return sqlite_read_rows(sqlite_of(base_), S_PAYMENT_LIST, bind_payment_filter, &f, payment_row,
                          (list_cb_t){.payment = cb}, ctx, "payment list");
}
