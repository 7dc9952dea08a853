/*
 * store-pg-money.c: money in the PostgreSQL backend (store.h "money",
 * issue 12): a tenant's billing settings and payment provider, price
 * tables and the pricing of queues and printers, job quotes, payments
 * (compare-and-set, with the job's change and a ledger posting in the
 * same transaction) and the append-only ledger.
 *
 * The shapes of store-pg-private.h: one pooled connection per call; a
 * write of several statements (or an audited one) is one transaction
 * (pg_transaction, run again on a deadlock), so a failure leaves nothing
 * written and a STORE_OK has reached the server's WAL.  Lists read every
 * row, give the connection back, then call the callback (pg_each_row).
 * Every statement names the tenant; a row of another tenant is NOT_FOUND.
 */
#include "store-pg-private.h"

#include <stdlib.h>

#define PAY_COLS                                                                           \
  "p.id, p.tenant_id, p.job_id, p.device_id, p.attempt, p.provider, p.state, p.currency, " \
  "p.amount, p.print_fee, p.service_fee, p.order_id, p.provider_tx, p.payment_url, "       \
  "p.refund_tx, p.reason, p.created_at, p.updated_at, p.expires_at, p.paid_at"
#define PRICE_COLS "id, tenant_id, name, spec, created_at, updated_at"
#define LEDGER_COLS                                                                          \
  "e.id, e.posting_id, l.tenant_id, l.job_id, l.payment_id, l.kind, e.account, l.currency, " \
  "e.amount, l.memo, l.created_at"
/* $1 all tenants, $2 tenant, $3 job (0: any), $4 after entry id */
#define LEDGER_WHERE                                                     \
  "FROM ledger_entries e JOIN ledger_postings l ON l.id = e.posting_id " \
  "WHERE ($1::boolean OR l.tenant_id = $2::bigint) "                     \
  "AND ($3::bigint = 0 OR l.job_id = $3::bigint) AND e.id > $4::bigint"

static const char *const money_sql[PS_BILLING_FIRST - PS_MONEY_FIRST] = {
#define M(id) [(id)-PS_MONEY_FIRST]
    M(PS_BILLING_GET) =
        "SELECT tenant_id, currency, service_fee_fixed, service_fee_bps, "
        "updated_at, purpose_required FROM tenant_billing WHERE tenant_id = $1",
    M(PS_BILLING_PUT) =
        "INSERT INTO tenant_billing (tenant_id, currency, service_fee_fixed, service_fee_bps, "
        "updated_at, purpose_required) VALUES ($1, $2, $3, $4, $5, $6) "
        "ON CONFLICT (tenant_id) DO UPDATE SET "
        "currency = excluded.currency, service_fee_fixed = excluded.service_fee_fixed, "
        "service_fee_bps = excluded.service_fee_bps, updated_at = excluded.updated_at, "
        "purpose_required = excluded.purpose_required",
    M(PS_PROVIDER_GET) =
        "SELECT tenant_id, provider, sealed, updated_at FROM payment_providers "
        "WHERE tenant_id = $1",
    M(PS_PROVIDER_PUT) =
        "INSERT INTO payment_providers (tenant_id, provider, sealed, updated_at) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id) DO UPDATE SET "
        "provider = excluded.provider, sealed = excluded.sealed, updated_at = excluded.updated_at",
    M(PS_PROVIDER_DELETE) = "DELETE FROM payment_providers WHERE tenant_id = $1",
    M(PS_PRICE_INSERT) =
        "INSERT INTO price_tables (tenant_id, name, spec, created_at, updated_at) "
        "VALUES ($1, $2, $3, $4, $4) RETURNING id",
    M(PS_PRICE_GET) = "SELECT " PRICE_COLS " FROM price_tables WHERE id = $1 AND tenant_id = $2",
    M(PS_PRICE_GET_BY_NAME) =
        "SELECT " PRICE_COLS " FROM price_tables WHERE tenant_id = $1 AND name = $2",
    M(PS_PRICE_UPDATE) =
        "UPDATE price_tables SET name = $3, spec = $4, updated_at = $5 "
        "WHERE id = $1 AND tenant_id = $2 RETURNING created_at",
    M(PS_PRICE_DELETE) = "DELETE FROM price_tables WHERE id = $1 AND tenant_id = $2",
    M(PS_PRICE_LIST) =
        "SELECT " PRICE_COLS " FROM price_tables WHERE tenant_id = $1 ORDER BY name COLLATE \"C\"",
    /* $3 NULL: no table; else it must be the tenant's (FOR KEY SHARE: it
     * cannot go before this commits) */
    M(PS_QUEUE_SET_PRICING) =
        "UPDATE queues SET price_table_id = $3::bigint, payment = $4 "
        "WHERE id = $1 AND tenant_id = $2::bigint AND ($3::bigint IS NULL OR EXISTS "
        "(SELECT 1 FROM price_tables t WHERE t.id = $3::bigint AND t.tenant_id = $2::bigint "
        "FOR KEY SHARE))",
    M(PS_DEVICE_SET_PRICING) =
        "UPDATE devices SET price_table_id = $3::bigint, payment = $4 "
        "WHERE id = $1 AND tenant_id = $2::bigint AND ($3::bigint IS NULL OR EXISTS "
        "(SELECT 1 FROM price_tables t WHERE t.id = $3::bigint AND t.tenant_id = $2::bigint "
        "FOR KEY SHARE))",
    /* No row inserted when the job is not the tenant's. */
    M(PS_QUOTE_PUT) =
        "INSERT INTO job_quotes (job_id, tenant_id, price_table_id, currency, print_fee, "
        "service_fee, total, detail, computed_at) SELECT $1::bigint, $2::bigint, $3::bigint, "
        "$4::text, $5::bigint, $6::bigint, $7::bigint, $8::text, $9::bigint "
        "FROM jobs WHERE id = $1::bigint AND tenant_id = $2::bigint "
        "ON CONFLICT (job_id) DO UPDATE SET "
        "price_table_id = excluded.price_table_id, currency = excluded.currency, "
        "print_fee = excluded.print_fee, service_fee = excluded.service_fee, "
        "total = excluded.total, detail = excluded.detail, computed_at = excluded.computed_at",
    M(PS_QUOTE_GET) =
        "SELECT job_id, tenant_id, price_table_id, currency, print_fee, service_fee, total, "
        "detail, computed_at FROM job_quotes WHERE job_id = $1 AND tenant_id = $2",
    /* No row inserted (none returned) when the job is not the tenant's. */
    M(PS_PAYMENT_INSERT) =
        "INSERT INTO payments (tenant_id, job_id, device_id, attempt, provider, state, "
        "currency, amount, print_fee, service_fee, order_id, provider_tx, payment_url, "
        "refund_tx, reason, created_at, updated_at, expires_at, paid_at) "
        "SELECT $1::bigint, $2::bigint, $3::bigint, $4::integer, $5::text, $6::integer, "
        "$7::text, $8::bigint, $9::bigint, $10::bigint, $11::text, $12::text, $13::text, "
        "$14::text, $15::text, $16::bigint, $16::bigint, $17::bigint, $18::bigint "
        "FROM jobs WHERE id = $2::bigint AND tenant_id = $1::bigint RETURNING id",
    M(PS_PAYMENT_GET) = "SELECT " PAY_COLS " FROM payments p WHERE p.id = $1 AND p.tenant_id = $2",
    M(PS_PAYMENT_GET_BY_ORDER) = "SELECT " PAY_COLS " FROM payments p WHERE p.order_id = $1",
    M(PS_PAYMENT_LATEST) = "SELECT " PAY_COLS
                           " FROM payments p WHERE p.tenant_id = $1 AND p.job_id = $2 "
                           "ORDER BY p.id DESC LIMIT 1",
    /* compare $3, set $4.. */
    M(PS_PAYMENT_UPDATE) =
        "UPDATE payments SET state = $4, provider_tx = $5, payment_url = $6, refund_tx = $7, "
        "reason = $8, expires_at = $9, paid_at = $10, updated_at = $11 "
        "WHERE id = $1 AND tenant_id = $2 AND state = $3",
    M(PS_PAYMENT_EXISTS) = "SELECT 1 FROM payments WHERE id = $1 AND tenant_id = $2",
    /* what needs the reconciler now (store.h store_payment_list_open) */
    M(PS_PAYMENT_LIST_OPEN) = "SELECT " PAY_COLS
                              ", j.state FROM payments p JOIN jobs j ON j.id = p.job_id "
                              "WHERE p.state IN (1, 2, 3, 7) AND p.id > $2::bigint "
                              "AND (p.state <> 1 OR p.created_at < $3::bigint) "
                              "AND (p.state <> 2 OR p.expires_at < $4::bigint OR j.state <> 3) "
                              "AND (p.state <> 3 OR j.state >= 6) "
                              "ORDER BY p.id LIMIT $1::bigint",
    M(PS_PAYMENT_LIST) = "SELECT " PAY_COLS
                         ", j.state FROM payments p JOIN jobs j ON j.id = p.job_id "
                         "WHERE p.tenant_id = $1 AND ($2::bigint = 0 OR p.job_id = $2::bigint) "
                         "ORDER BY p.id DESC LIMIT $3::bigint OFFSET $4::bigint",
    M(PS_POSTING_INSERT) =
        "INSERT INTO ledger_postings (tenant_id, job_id, payment_id, kind, currency, memo, "
        "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    M(PS_ENTRY_INSERT) =
        "INSERT INTO ledger_entries (posting_id, account, amount) VALUES ($1, $2, $3)",
    M(PS_LEDGER_LIST) = "SELECT " LEDGER_COLS " " LEDGER_WHERE " ORDER BY e.id LIMIT $5::bigint",
    /* sum() of bigint is numeric: the cast fails loudly on an overflow */
    M(PS_LEDGER_BALANCES) = "SELECT e.account, l.currency, sum(e.amount)::bigint " LEDGER_WHERE
                            " GROUP BY e.account, l.currency "
                            "ORDER BY e.account COLLATE \"C\", l.currency COLLATE \"C\"",
#undef M
};

const char *pg_money_sql(pg_stmt_id_t id) {
  return id >= PS_MONEY_FIRST && id < PS_BILLING_FIRST ? money_sql[id - PS_MONEY_FIRST] : NULL;
}

/* ---- row readers (column order as in the statements above) ---- */

static void payment_from_row(const PGresult *r, int i, nimbus_payment_t *p) {
  memset(p, 0, sizeof *p);
  p->id = pg_get_int64(r, i, 0);
  p->tenant_id = pg_get_int64(r, i, 1);
  p->job_id = pg_get_int64(r, i, 2);
  p->device_id = pg_get_int64(r, i, 3);
  p->attempt = pg_get_int(r, i, 4);
  PG_GET_FIELD(r, i, 5, p->provider);
  p->state = (nimbus_payment_state_t)pg_get_int(r, i, 6);
  PG_GET_FIELD(r, i, 7, p->currency);
  p->amount = pg_get_int64(r, i, 8);
  p->print_fee = pg_get_int64(r, i, 9);
  p->service_fee = pg_get_int64(r, i, 10);
  PG_GET_FIELD(r, i, 11, p->order_id);
  PG_GET_FIELD(r, i, 12, p->provider_tx);
  PG_GET_FIELD(r, i, 13, p->payment_url);
  PG_GET_FIELD(r, i, 14, p->refund_tx);
  PG_GET_FIELD(r, i, 15, p->reason);
  p->created_at = pg_get_int64(r, i, 16);
  p->updated_at = pg_get_int64(r, i, 17);
  p->expires_at = pg_get_int64(r, i, 18);
  p->paid_at = pg_get_int64(r, i, 19);
}

static void price_from_row(const PGresult *r, int i, nimbus_price_table_t *t) {
  memset(t, 0, sizeof *t);
  t->id = pg_get_int64(r, i, 0);
  t->tenant_id = pg_get_int64(r, i, 1);
  PG_GET_FIELD(r, i, 2, t->name);
  PG_GET_FIELD(r, i, 3, t->spec);
  t->created_at = pg_get_int64(r, i, 4);
  t->updated_at = pg_get_int64(r, i, 5);
}

static bool price_row(const PGresult *r, int i, pg_list_cb_t cb, void *ctx) {
  nimbus_price_table_t t;
  price_from_row(r, i, &t);
  return cb.price_table(&t, ctx);
}

static bool payment_row(const PGresult *r, int i, pg_list_cb_t cb, void *ctx) {
  nimbus_payment_t p;
  payment_from_row(r, i, &p);
  return cb.payment(&p, (nimbus_job_state_t)pg_get_int(r, i, 20), ctx);
}

static bool ledger_row(const PGresult *r, int i, pg_list_cb_t cb, void *ctx) {
  nimbus_ledger_entry_t e;
  memset(&e, 0, sizeof e);
  e.id = pg_get_int64(r, i, 0);
  e.posting_id = pg_get_int64(r, i, 1);
  e.tenant_id = pg_get_int64(r, i, 2);
  e.job_id = pg_get_int64(r, i, 3);
  e.payment_id = pg_get_int64(r, i, 4);
  PG_GET_FIELD(r, i, 5, e.kind);
  PG_GET_FIELD(r, i, 6, e.account);
  PG_GET_FIELD(r, i, 7, e.currency);
  e.amount = pg_get_int64(r, i, 8);
  PG_GET_FIELD(r, i, 9, e.memo);
  e.created_at = pg_get_int64(r, i, 10);
  return cb.ledger(&e, ctx);
}

static bool balance_row(const PGresult *r, int i, pg_list_cb_t cb, void *ctx) {
  char account[64], currency[NIMBUS_CURRENCY_MAX];
  PG_GET_FIELD(r, i, 0, account);
  PG_GET_FIELD(r, i, 1, currency);
  return cb.balance(account, currency, pg_get_int64(r, i, 2), ctx);
}

/* ---- shapes shared by the operations ---- */

typedef pg_read_fn read_fn;

store_status_t pg_write_one(pg_store_t *st, pg_stmt_id_t id, const pg_params_t *p, bool must_touch,
                            int64_t *returned, const store_audit_t *audit, int64_t audit_id,
                            const char *what) {
  pg_conn_t *c = pg_acquire(st, what);
  if (!c) return STORE_ERROR;
  store_status_t status = pg_audit_begin(c, audit);
  PGresult *r = NULL;
  if (status == STORE_OK) status = pg_exec(c, id, p, &r, what);
  if (status == STORE_OK) {
    if (must_touch && atoi(PQcmdTuples(r)) == 0) status = STORE_NOT_FOUND;
    if (status == STORE_OK && returned) {
      if (PQntuples(r) == 1)
        *returned = pg_get_int64(r, 0, 0);
      else
        status = STORE_NOT_FOUND;
    }
    PQclear(r);
  }
  if (status == STORE_OK && returned && !audit_id) audit_id = *returned;
  status = pg_audit_end(c, audit, status, audit_id);
  pg_release(st, c);
  return status;
}

static void read_payment(const PGresult *r, void *out) {
  payment_from_row(r, 0, out);
}

static void read_price(const PGresult *r, void *out) {
  price_from_row(r, 0, out);
}

static void read_billing(const PGresult *r, void *out) {
  nimbus_tenant_billing_t *b = out;
  memset(b, 0, sizeof *b);
  b->tenant_id = pg_get_int64(r, 0, 0);
  PG_GET_FIELD(r, 0, 1, b->currency);
  b->service_fee_fixed = pg_get_int64(r, 0, 2);
  b->service_fee_bps = pg_get_int(r, 0, 3);
  b->updated_at = pg_get_int64(r, 0, 4);
  b->purpose_required = pg_get_bool(r, 0, 5);
}

static void read_provider(const PGresult *r, void *out) {
  nimbus_payment_provider_t *p = out;
  memset(p, 0, sizeof *p);
  p->tenant_id = pg_get_int64(r, 0, 0);
  PG_GET_FIELD(r, 0, 1, p->provider);
  void *bytes = NULL;
  size_t n = 0;
  if (pg_get_bytes_copy(r, 0, 2, &bytes, &n) && bytes) {
    if (n > NIMBUS_SEALED_MAX) n = NIMBUS_SEALED_MAX; /* store.c refuses longer ones */
    memcpy(p->sealed, bytes, n);
    p->sealed_len = (int)n;
  }
  free(bytes);
  p->updated_at = pg_get_int64(r, 0, 3);
}

void pg_quote_from_row(const PGresult *r, int i, int col, nimbus_job_quote_t *q) {
  memset(q, 0, sizeof *q);
  q->job_id = pg_get_int64(r, i, col + 0);
  q->tenant_id = pg_get_int64(r, i, col + 1);
  q->price_table_id = pg_get_int64(r, i, col + 2);
  PG_GET_FIELD(r, i, col + 3, q->currency);
  q->print_fee = pg_get_int64(r, i, col + 4);
  q->service_fee = pg_get_int64(r, i, col + 5);
  q->total = pg_get_int64(r, i, col + 6);
  PG_GET_FIELD(r, i, col + 7, q->detail);
  q->computed_at = pg_get_int64(r, i, col + 8);
}

static void read_quote(const PGresult *r, void *out) {
  pg_quote_from_row(r, 0, 0, out);
}

/* Parameters of one or two ids into the empty *p (whose values point
 * into it: it is filled where it lives, never returned by value). */
static void ids(pg_params_t *p, int64_t a, int64_t b, bool two) {
  pg_param_int(p, a);
  if (two) pg_param_int(p, b);
}

/* ---- billing settings and payment provider ---- */

store_status_t pg_tenant_billing_get(store_t *base, nimbus_id_t tenant_id,
                                     nimbus_tenant_billing_t *out) {
  pg_params_t p = {0};
  ids(&p, tenant_id, 0, false);
  return pg_read_one_row(pg_of(base), PS_BILLING_GET, &p, read_billing, out, "tenant billing get");
}

store_status_t pg_tenant_billing_put(store_t *base, nimbus_tenant_billing_t *b,
                                     const store_audit_t *audit) {
  int64_t now = (int64_t)time(NULL);
  pg_params_t p = {0};
  pg_param_int(&p, b->tenant_id);
  PG_PARAM_FIELD(&p, b->currency);
  pg_param_int(&p, b->service_fee_fixed);
  pg_param_int(&p, b->service_fee_bps);
  pg_param_int(&p, now);
  pg_param_int(&p, b->purpose_required ? 1 : 0); /* boolean input reads "1" and "0" */
  store_status_t status = pg_write_one(pg_of(base), PS_BILLING_PUT, &p, false, NULL, audit,
                                       b->tenant_id, "tenant billing put");
  if (status == STORE_OK) b->updated_at = now;
  return status;
}

store_status_t pg_payment_provider_get(store_t *base, nimbus_id_t tenant_id,
                                       nimbus_payment_provider_t *out) {
  pg_params_t p = {0};
  ids(&p, tenant_id, 0, false);
  return pg_read_one_row(pg_of(base), PS_PROVIDER_GET, &p, read_provider, out,
                         "payment provider get");
}

store_status_t pg_payment_provider_put(store_t *base, nimbus_payment_provider_t *pp,
                                       const store_audit_t *audit) {
  int64_t now = (int64_t)time(NULL);
  pg_params_t p = {0};
  pg_param_int(&p, pp->tenant_id);
  PG_PARAM_FIELD(&p, pp->provider);
  pg_param_bytes(&p, pp->sealed, (size_t)pp->sealed_len);
  pg_param_int(&p, now);
  store_status_t status = pg_write_one(pg_of(base), PS_PROVIDER_PUT, &p, false, NULL, audit,
                                       pp->tenant_id, "payment provider put");
  if (status == STORE_OK) pp->updated_at = now;
  return status;
}

store_status_t pg_payment_provider_delete(store_t *base, nimbus_id_t tenant_id,
                                          const store_audit_t *audit) {
  pg_params_t p = {0};
  ids(&p, tenant_id, 0, false);
  return pg_write_one(pg_of(base), PS_PROVIDER_DELETE, &p, true, NULL, audit, tenant_id,
                      "payment provider delete");
}

/* ---- price tables and pricing ---- */

store_status_t pg_price_table_insert(store_t *base, nimbus_price_table_t *t,
                                     const store_audit_t *audit) {
  int64_t now = (int64_t)time(NULL), id = 0;
  pg_params_t p = {0};
  pg_param_int(&p, t->tenant_id);
  PG_PARAM_FIELD(&p, t->name);
  PG_PARAM_FIELD(&p, t->spec);
  pg_param_int(&p, now);
  store_status_t status =
      pg_write_one(pg_of(base), PS_PRICE_INSERT, &p, false, &id, audit, 0, "price table insert");
  if (status == STORE_OK) {
    t->id = id;
    t->created_at = t->updated_at = now;
  }
  return status;
}

store_status_t pg_price_table_get(store_t *base, nimbus_id_t tenant_id, nimbus_id_t id,
                                  nimbus_price_table_t *out) {
  pg_params_t p = {0};
  ids(&p, id, tenant_id, true);
  return pg_read_one_row(pg_of(base), PS_PRICE_GET, &p, read_price, out, "price table get");
}

store_status_t pg_price_table_get_by_name(store_t *base, nimbus_id_t tenant_id, const char *name,
                                          nimbus_price_table_t *out) {
  pg_params_t p = {0};
  ids(&p, tenant_id, 0, false);
  pg_param_text(&p, name, SIZE_MAX);
  return pg_read_one_row(pg_of(base), PS_PRICE_GET_BY_NAME, &p, read_price, out,
                         "price table get by name");
}

store_status_t pg_price_table_update(store_t *base, nimbus_price_table_t *t,
                                     const store_audit_t *audit) {
  int64_t now = (int64_t)time(NULL), created = 0;
  pg_params_t p = {0};
  ids(&p, t->id, t->tenant_id, true);
  PG_PARAM_FIELD(&p, t->name);
  PG_PARAM_FIELD(&p, t->spec);
  pg_param_int(&p, now);
  store_status_t status = pg_write_one(pg_of(base), PS_PRICE_UPDATE, &p, true, &created, audit,
                                       t->id, "price table update");
  if (status == STORE_OK) {
    t->created_at = created;
    t->updated_at = now;
  }
  return status;
}

store_status_t pg_price_table_delete(store_t *base, nimbus_id_t tenant_id, nimbus_id_t id,
                                     const store_audit_t *audit) {
  pg_params_t p = {0};
  ids(&p, id, tenant_id, true);
  return pg_write_one(pg_of(base), PS_PRICE_DELETE, &p, true, NULL, audit, id,
                      "price table delete");
}

store_status_t pg_price_table_list(store_t *base, nimbus_id_t tenant_id, store_price_table_cb cb,
                                   void *ctx) {
  pg_params_t p = {0};
  ids(&p, tenant_id, 0, false);
  return pg_read_rows(pg_of(base), PS_PRICE_LIST, &p, price_row, (pg_list_cb_t){.price_table = cb},
                      ctx, "price table list");
}

static store_status_t set_pricing(store_t *base, pg_stmt_id_t id, nimbus_id_t tenant_id,
                                  nimbus_id_t row, const nimbus_pricing_t *pr,
                                  const store_audit_t *audit, const char *what) {
  pg_params_t p = {0};
  ids(&p, row, tenant_id, true);
  pg_param_id_or_null(&p, pr->price_table_id);
  PG_PARAM_FIELD(&p, pr->payment);
  return pg_write_one(pg_of(base), id, &p, true, NULL, audit, row, what);
}

store_status_t pg_queue_set_pricing(store_t *base, nimbus_id_t tenant_id, nimbus_id_t queue_id,
                                    const nimbus_pricing_t *p, const store_audit_t *audit) {
  return set_pricing(base, PS_QUEUE_SET_PRICING, tenant_id, queue_id, p, audit,
                     "queue set pricing");
}

store_status_t pg_device_set_pricing(store_t *base, nimbus_id_t tenant_id, nimbus_id_t device_id,
                                     const nimbus_pricing_t *p, const store_audit_t *audit) {
  return set_pricing(base, PS_DEVICE_SET_PRICING, tenant_id, device_id, p, audit,
                     "device set pricing");
}

/* ---- job quotes ---- */

store_status_t pg_job_quote_put(store_t *base, const nimbus_job_quote_t *q) {
  pg_params_t p = {0};
  ids(&p, q->job_id, q->tenant_id, true);
  pg_param_int(&p, q->price_table_id);
  PG_PARAM_FIELD(&p, q->currency);
  pg_param_int(&p, q->print_fee);
  pg_param_int(&p, q->service_fee);
  pg_param_int(&p, q->total);
  PG_PARAM_FIELD(&p, q->detail);
  pg_param_int(&p, q->computed_at ? q->computed_at : (int64_t)time(NULL));
  return pg_write_one(pg_of(base), PS_QUOTE_PUT, &p, true, NULL, NULL, 0, "job quote put");
}

store_status_t pg_job_quote_get(store_t *base, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                nimbus_job_quote_t *out) {
  pg_params_t p = {0};
  ids(&p, job_id, tenant_id, true);
  return pg_read_one_row(pg_of(base), PS_QUOTE_GET, &p, read_quote, out, "job quote get");
}

/* ---- the ledger ---- */

/* Append posting (its payment_id 0: payment_id) inside the caller's
 * transaction on c; *posting_id receives its id (also for billing). */
store_status_t pg_posting_insert(pg_conn_t *c, const store_ledger_posting_t *posting,
                                 nimbus_id_t payment_id, int64_t now, nimbus_id_t *posting_id) {
  static const char what[] = "ledger post";
  pg_params_t p = {0};
  pg_param_int(&p, posting->tenant_id);
  pg_param_int(&p, posting->job_id);
  pg_param_int(&p, posting->payment_id ? posting->payment_id : payment_id);
  pg_param_text(&p, posting->kind, SIZE_MAX);
  pg_param_text(&p, posting->currency, SIZE_MAX);
  pg_param_text(&p, posting->memo, SIZE_MAX);
  pg_param_int(&p, now);
  PGresult *r;
  store_status_t status = pg_exec(c, PS_POSTING_INSERT, &p, &r, what);
  if (status != STORE_OK) return status;
  int64_t id = PQntuples(r) == 1 ? pg_get_int64(r, 0, 0) : 0;
  PQclear(r);
  if (!id) return STORE_ERROR;
  for (int i = 0; i < posting->nlines && status == STORE_OK; i++) {
    pg_params_t e = {0};
    pg_param_int(&e, id);
    PG_PARAM_FIELD(&e, posting->lines[i].account);
    pg_param_int(&e, posting->lines[i].amount);
    status = pg_exec(c, PS_ENTRY_INSERT, &e, NULL, what);
  }
  if (status == STORE_OK) *posting_id = id;
  return status;
}

typedef struct {
  const store_ledger_posting_t *posting;
  const store_audit_t *audit;
  nimbus_id_t posting_id;
} ledger_post_t;

static store_status_t ledger_post_tx(pg_conn_t *c, void *arg) {
  ledger_post_t *a = arg;
  store_status_t status = pg_posting_insert(c, a->posting, 0, (int64_t)time(NULL), &a->posting_id);
  if (status == STORE_OK) status = pg_audit_insert(c, a->audit, a->posting_id);
  return status;
}

store_status_t pg_ledger_post(store_t *base, const store_ledger_posting_t *posting,
                              nimbus_id_t *posting_id, const store_audit_t *audit) {
  ledger_post_t a = {.posting = posting, .audit = audit};
  store_status_t status = pg_transaction(pg_of(base), ledger_post_tx, &a, "ledger post");
  if (status == STORE_OK) *posting_id = a.posting_id;
  return status;
}

/* The filter's parameters into the empty *p; limit 0 (no limit) is
 * LIMIT NULL. */
static void ledger_params(pg_params_t *p, const store_ledger_filter_t *f, bool with_limit) {
  pg_param_int(p, f->all_tenants ? 1 : 0); /* boolean input reads "1" and "0" */
  pg_param_int(p, f->tenant_id);
  pg_param_int(p, f->job_id);
  pg_param_int(p, f->after_id);
  if (with_limit) pg_param_id_or_null(p, f->limit > 0 ? f->limit : 0);
}

store_status_t pg_ledger_list(store_t *base, const store_ledger_filter_t *f, store_ledger_cb cb,
                              void *ctx) {
  pg_params_t p = {0};
  ledger_params(&p, f, true);
  return pg_read_rows(pg_of(base), PS_LEDGER_LIST, &p, ledger_row, (pg_list_cb_t){.ledger = cb},
                      ctx, "ledger list");
}

/* Balances ignore the filter's limit. */
store_status_t pg_ledger_balances(store_t *base, const store_ledger_filter_t *f,
                                  store_balance_cb cb, void *ctx) {
  pg_params_t p = {0};
  ledger_params(&p, f, false);
  return pg_read_rows(pg_of(base), PS_LEDGER_BALANCES, &p, balance_row,
                      (pg_list_cb_t){.balance = cb}, ctx, "ledger balances");
}

/* ---- payments ---- */

typedef struct {
  nimbus_payment_t *p;
  nimbus_payment_state_t expected;
  const store_job_change_t *job_change;
  const store_ledger_posting_t *posting;
  const store_audit_t *audit;
  int64_t now;
  nimbus_id_t id; /* the inserted payment's */
} payment_write_t;

static store_status_t payment_insert_tx(pg_conn_t *c, void *arg) {
  static const char what[] = "payment insert";
  payment_write_t *w = arg;
  const nimbus_payment_t *p = w->p;
  w->now = (int64_t)time(NULL);
  pg_params_t q = {0};
  ids(&q, p->tenant_id, p->job_id, true);
  pg_param_int(&q, p->device_id);
  pg_param_int(&q, p->attempt);
  PG_PARAM_FIELD(&q, p->provider);
  pg_param_int(&q, (int)p->state);
  PG_PARAM_FIELD(&q, p->currency);
  pg_param_int(&q, p->amount);
  pg_param_int(&q, p->print_fee);
  pg_param_int(&q, p->service_fee);
  PG_PARAM_FIELD(&q, p->order_id);
  PG_PARAM_FIELD(&q, p->provider_tx);
  PG_PARAM_FIELD(&q, p->payment_url);
  PG_PARAM_FIELD(&q, p->refund_tx);
  PG_PARAM_FIELD(&q, p->reason);
  pg_param_int(&q, w->now);
  pg_param_int(&q, p->expires_at);
  pg_param_int(&q, p->paid_at);
  PGresult *r;
  store_status_t status = pg_exec(c, PS_PAYMENT_INSERT, &q, &r, what);
  if (status != STORE_OK) return status;
  w->id = PQntuples(r) == 1 ? pg_get_int64(r, 0, 0) : 0;
  PQclear(r);
  if (!w->id) return STORE_NOT_FOUND; /* not the tenant's job */
  if (w->job_change) status = pg_job_changes_on(c, p->tenant_id, w->job_change, 1, w->now);
  if (status == STORE_OK) status = pg_audit_insert(c, w->audit, w->id);
  return status;
}

store_status_t pg_payment_insert(store_t *base, nimbus_payment_t *p,
                                 const store_job_change_t *job_change, const store_audit_t *audit) {
  payment_write_t w = {.p = p, .job_change = job_change, .audit = audit};
  store_status_t status = pg_transaction(pg_of(base), payment_insert_tx, &w, "payment insert");
  if (status == STORE_OK) {
    p->id = w.id;
    p->created_at = p->updated_at = w.now;
  }
  return status;
}

store_status_t pg_payment_get(store_t *base, nimbus_id_t tenant_id, nimbus_id_t id,
                              nimbus_payment_t *out) {
  pg_params_t p = {0};
  ids(&p, id, tenant_id, true);
  return pg_read_one_row(pg_of(base), PS_PAYMENT_GET, &p, read_payment, out, "payment get");
}

store_status_t pg_payment_get_by_order(store_t *base, const char *order_id, nimbus_payment_t *out) {
  if (!order_id) return STORE_NOT_FOUND;
  pg_params_t p = {0};
  pg_param_text(&p, order_id, SIZE_MAX);
  return pg_read_one_row(pg_of(base), PS_PAYMENT_GET_BY_ORDER, &p, read_payment, out,
                         "payment get by order");
}

store_status_t pg_payment_get_latest_for_job(store_t *base, nimbus_id_t tenant_id,
                                             nimbus_id_t job_id, nimbus_payment_t *out) {
  pg_params_t p = {0};
  ids(&p, tenant_id, job_id, true);
  return pg_read_one_row(pg_of(base), PS_PAYMENT_LATEST, &p, read_payment, out,
                         "payment latest for job");
}

/* The compare, then the job's change, the posting and the audit row. */
static store_status_t payment_update_tx(pg_conn_t *c, void *arg) {
  static const char what[] = "payment update";
  payment_write_t *w = arg;
  const nimbus_payment_t *p = w->p;
  w->now = (int64_t)time(NULL);
  pg_params_t q = {0};
  ids(&q, p->id, p->tenant_id, true);
  pg_param_int(&q, (int)w->expected);
  pg_param_int(&q, (int)p->state);
  PG_PARAM_FIELD(&q, p->provider_tx);
  PG_PARAM_FIELD(&q, p->payment_url);
  PG_PARAM_FIELD(&q, p->refund_tx);
  PG_PARAM_FIELD(&q, p->reason);
  pg_param_int(&q, p->expires_at);
  pg_param_int(&q, p->paid_at);
  pg_param_int(&q, w->now);
  store_status_t status = pg_exec_changes(c, PS_PAYMENT_UPDATE, &q, what);
  if (status == STORE_NOT_FOUND) { /* another change came first, or not the tenant's */
    pg_params_t k = {0};
    ids(&k, p->id, p->tenant_id, true);
    PGresult *r;
    status = pg_exec_row(c, PS_PAYMENT_EXISTS, &k, &r, what);
    if (status == STORE_OK) {
      PQclear(r);
      status = STORE_CONFLICT;
    }
  }
  if (status == STORE_OK && w->job_change)
    status = pg_job_changes_on(c, p->tenant_id, w->job_change, 1, w->now);
  nimbus_id_t posting_id = 0;
  if (status == STORE_OK && w->posting)
    status = pg_posting_insert(c, w->posting, p->id, w->now, &posting_id);
  if (status == STORE_OK) status = pg_audit_insert(c, w->audit, p->id);
  return status;
}

store_status_t pg_payment_update(store_t *base, nimbus_payment_t *p,
                                 nimbus_payment_state_t expected,
                                 const store_job_change_t *job_change,
                                 const store_ledger_posting_t *posting,
                                 const store_audit_t *audit) {
  payment_write_t w = {
      .p = p, .expected = expected, .job_change = job_change, .posting = posting, .audit = audit};
  store_status_t status = pg_transaction(pg_of(base), payment_update_tx, &w, "payment update");
  if (status == STORE_OK) p->updated_at = w.now;
  return status;
}

/* f->max <= 0: no limit. */
store_status_t pg_payment_list_open(store_t *base, const store_payment_open_filter_t *f,
                                    store_payment_cb cb, void *ctx) {
  pg_params_t p = {0};
  pg_param_id_or_null(&p, f->max > 0 ? f->max : 0);
  pg_param_int(&p, f->after_id);
  pg_param_int(&p, f->reserving_before);
  pg_param_int(&p, f->pending_before);
  return pg_read_rows(pg_of(base), PS_PAYMENT_LIST_OPEN, &p, payment_row,
                      (pg_list_cb_t){.payment = cb}, ctx, "payment list open");
}

/* limit <= 0: no limit. */
store_status_t pg_payment_list(store_t *base, nimbus_id_t tenant_id, nimbus_id_t job_id, int limit,
                               int offset, store_payment_cb cb, void *ctx) {
  pg_params_t p = {0};
  ids(&p, tenant_id, job_id, true);
  pg_param_id_or_null(&p, limit > 0 ? limit : 0);
  pg_param_int(&p, offset > 0 ? offset : 0);
  return pg_read_rows(pg_of(base), PS_PAYMENT_LIST, &p, payment_row, (pg_list_cb_t){.payment = cb},
                      ctx, "payment list");
}
