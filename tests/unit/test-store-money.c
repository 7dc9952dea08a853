/*
 * test-store-money.c: the store contract for money (issue 12), run on
 * every backend: billing settings, payment providers, price tables and
 * the pricing of queues and printers, job quotes, payments (insert
 * idempotency, compare-and-set with the job's change and a ledger
 * posting, all or nothing), the reconciler's list, the ledger (postings,
 * balances, refused unbalanced postings) and that the database itself
 * refuses UPDATE and DELETE of ledger rows.
 * `test-store-money` runs it on SQLite, `test-store-money pg` (meson test
 * store-money-pg) on the PostgreSQL database of $NIMBUS_TEST_PG_URL.
 */
#include "store-fixture.h"

/* Run raw SQL on the test's database; true when it succeeded. */
static bool db_try(fixture_t *fx, const char *sql) {
  if (fx->schema[0]) {
    char ignored[8];
    return fixture_pg_query(fx, sql, ignored, sizeof ignored);
  }
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
  sqlite3_close(db);
  return rc == SQLITE_OK;
}

static int64_t audit_rows(fixture_t *fx, const char *action) {
  char sql[160];
  snprintf(sql, sizeof sql, "SELECT count(*) FROM audit WHERE action = '%s'", action);
  return db_int(fx, sql);
}

static int64_t event_rows(fixture_t *fx, const char *event) {
  char sql[160];
  snprintf(sql, sizeof sql, "SELECT count(*) FROM job_events WHERE event = '%s'", event);
  return db_int(fx, sql);
}

/* ---- billing settings and payment provider ---- */

static void test_billing_and_provider(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");
  nimbus_tenant_billing_t bill, got;
  assert_int_equal(store_tenant_billing_get(st, a, &got), STORE_NOT_FOUND);

  bill = (nimbus_tenant_billing_t){.tenant_id = a, .service_fee_fixed = 30, .service_fee_bps = 250};
  snprintf(bill.currency, sizeof bill.currency, "JPY");
  store_audit_t au = {.tenant_id = a, .actor = "op", .action = "billing-set", .detail = "JPY"};
  assert_int_equal(store_tenant_billing_put(st, &bill, &au), STORE_OK);
  assert_true(bill.updated_at > 0);
  assert_int_equal(audit_rows(fx, "billing-set"), 1);
  assert_int_equal(store_tenant_billing_get(st, a, &got), STORE_OK);
  assert_int_equal(got.tenant_id, a);
  assert_string_equal(got.currency, "JPY");
  assert_int_equal(got.service_fee_fixed, 30);
  assert_int_equal(got.service_fee_bps, 250);
  assert_int_equal(got.updated_at, bill.updated_at);
  /* replaced, not added */
  snprintf(bill.currency, sizeof bill.currency, "EUR");
  bill.service_fee_fixed = 5;
  assert_int_equal(store_tenant_billing_put(st, &bill, NULL), STORE_OK);
  assert_int_equal(store_tenant_billing_get(st, a, &got), STORE_OK);
  assert_string_equal(got.currency, "EUR");
  assert_int_equal(got.service_fee_fixed, 5);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM tenant_billing"), 1);
  /* another tenant's settings are not there; a gone tenant is NOT_FOUND */
  assert_int_equal(store_tenant_billing_get(st, b, &got), STORE_NOT_FOUND);
  bill.tenant_id = 999999;
  assert_int_equal(store_tenant_billing_put(st, &bill, NULL), STORE_NOT_FOUND);

  nimbus_payment_provider_t p = {.tenant_id = a}, pg;
  snprintf(p.provider, sizeof p.provider, "stripe");
  for (int i = 0; i < 100; i++) p.sealed[i] = (unsigned char)(i * 37); /* zeros inside too */
  p.sealed_len = 100;
  assert_int_equal(store_payment_provider_get(st, a, &pg), STORE_NOT_FOUND);
  assert_int_equal(store_payment_provider_put(st, &p, NULL), STORE_OK);
  assert_int_equal(store_payment_provider_get(st, a, &pg), STORE_OK);
  assert_string_equal(pg.provider, "stripe");
  assert_int_equal(pg.sealed_len, 100);
  assert_memory_equal(pg.sealed, p.sealed, 100);
  assert_int_equal(pg.updated_at, p.updated_at);
  snprintf(p.provider, sizeof p.provider, "linepay");
  p.sealed_len = 3;
  assert_int_equal(store_payment_provider_put(st, &p, NULL), STORE_OK);
  assert_int_equal(store_payment_provider_get(st, a, &pg), STORE_OK);
  assert_string_equal(pg.provider, "linepay");
  assert_int_equal(pg.sealed_len, 3);
  p.sealed_len = NIMBUS_SEALED_MAX + 1; /* refused before the backend */
  assert_int_equal(store_payment_provider_put(st, &p, NULL), STORE_ERROR);
  /* isolation */
  assert_int_equal(store_payment_provider_get(st, b, &pg), STORE_NOT_FOUND);
  assert_int_equal(store_payment_provider_delete(st, b, NULL), STORE_NOT_FOUND);
  assert_int_equal(store_payment_provider_get(st, a, &pg), STORE_OK);
  store_audit_t del = {.tenant_id = a, .actor = "admin", .action = "provider-deleted"};
  assert_int_equal(store_payment_provider_delete(st, a, &del), STORE_OK);
  assert_int_equal(audit_rows(fx, "provider-deleted"), 1);
  assert_int_equal(store_payment_provider_get(st, a, &pg), STORE_NOT_FOUND);
  assert_int_equal(store_payment_provider_delete(st, a, &del), STORE_NOT_FOUND);
  assert_int_equal(audit_rows(fx, "provider-deleted"), 1); /* nothing deleted: no audit row */
}

/* ---- price tables ---- */

static nimbus_price_table_t price_template(nimbus_id_t tenant, const char *name, const char *spec) {
  nimbus_price_table_t t = {.tenant_id = tenant};
  snprintf(t.name, sizeof t.name, "%s", name);
  snprintf(t.spec, sizeof t.spec, "%s", spec);
  return t;
}

static bool price_cb(const nimbus_price_table_t *t, void *ctx) {
  return collect_add(ctx, t->id, t->name);
}

static void test_price_tables(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");
  nimbus_price_table_t t1 = price_template(a, "office", "{\"a4\":10}");
  store_audit_t au = {
      .tenant_id = a, .actor = "admin", .action = "price-table-created", .id_key = "id"};
  assert_int_equal(store_price_table_insert(st, &t1, &au), STORE_OK);
  assert_true(t1.id > 0);
  assert_true(t1.created_at > 0);
  char detail[64], want[64];
  db_text(fx, "SELECT detail FROM audit WHERE action = 'price-table-created'", detail,
          sizeof detail);
  snprintf(want, sizeof want, "id=%lld", (long long)t1.id);
  assert_string_equal(detail, want);

  nimbus_price_table_t dup = price_template(a, "office", "{}");
  assert_int_equal(store_price_table_insert(st, &dup, &au), STORE_CONFLICT);
  assert_int_equal(audit_rows(fx, "price-table-created"), 1);
  nimbus_price_table_t other = price_template(b, "office", "{\"b\":1}");
  assert_int_equal(store_price_table_insert(st, &other, NULL), STORE_OK); /* names are per tenant */
  nimbus_price_table_t t0 = price_template(a, "budget", "{\"a4\":5}");
  assert_int_equal(store_price_table_insert(st, &t0, NULL), STORE_OK);

  nimbus_price_table_t got;
  assert_int_equal(store_price_table_get(st, a, t1.id, &got), STORE_OK);
  assert_string_equal(got.name, "office");
  assert_string_equal(got.spec, "{\"a4\":10}");
  assert_int_equal(got.tenant_id, a);
  assert_int_equal(store_price_table_get_by_name(st, a, "office", &got), STORE_OK);
  assert_int_equal(got.id, t1.id);
  assert_int_equal(store_price_table_get_by_name(st, b, "office", &got), STORE_OK);
  assert_int_equal(got.id, other.id);
  /* another tenant's table is NOT_FOUND, for every read and write */
  assert_int_equal(store_price_table_get(st, b, t1.id, &got), STORE_NOT_FOUND);
  assert_int_equal(store_price_table_get_by_name(st, b, "budget", &got), STORE_NOT_FOUND);
  nimbus_price_table_t steal = t1;
  steal.tenant_id = b;
  snprintf(steal.spec, sizeof steal.spec, "{}");
  assert_int_equal(store_price_table_update(st, &steal, NULL), STORE_NOT_FOUND);
  assert_int_equal(store_price_table_delete(st, b, t1.id, NULL), STORE_NOT_FOUND);
  assert_int_equal(store_price_table_get(st, a, t1.id, &got), STORE_OK);
  assert_string_equal(got.spec, "{\"a4\":10}");

  /* update: rename to a taken name is a conflict; a real update sticks */
  nimbus_price_table_t up = t1;
  snprintf(up.name, sizeof up.name, "budget");
  assert_int_equal(store_price_table_update(st, &up, NULL), STORE_CONFLICT);
  snprintf(up.name, sizeof up.name, "office-2");
  snprintf(up.spec, sizeof up.spec, "{\"a4\":12}");
  assert_int_equal(store_price_table_update(st, &up, NULL), STORE_OK);
  assert_int_equal(store_price_table_get(st, a, t1.id, &got), STORE_OK);
  assert_string_equal(got.name, "office-2");
  assert_string_equal(got.spec, "{\"a4\":12}");
  assert_int_equal(got.created_at, t1.created_at);

  collect_t c = {0};
  assert_int_equal(store_price_table_list(st, a, price_cb, &c), STORE_OK);
  assert_int_equal(c.n, 2);
  assert_string_equal(c.names[0], "budget");
  assert_string_equal(c.names[1], "office-2");
  collect_t cb_ = {0};
  assert_int_equal(store_price_table_list(st, b, price_cb, &cb_), STORE_OK);
  assert_int_equal(cb_.n, 1);
  assert_int_equal(cb_.ids[0], other.id);

  assert_int_equal(store_price_table_delete(st, a, t0.id, NULL), STORE_OK);
  assert_int_equal(store_price_table_get(st, a, t0.id, &got), STORE_NOT_FOUND);
  assert_int_equal(store_price_table_delete(st, a, t0.id, NULL), STORE_NOT_FOUND);
}

/* ---- pricing of queues and printers ---- */

typedef struct {
  nimbus_id_t id;
  nimbus_pricing_t pricing;
  int n;
} pricing_seen_t;

static bool queue_pricing_cb(const nimbus_queue_t *q, void *ctx) {
  pricing_seen_t *s = ctx;
  if (q->id == s->id) {
    s->pricing = q->pricing;
    s->n++;
  }
  return true;
}

static bool device_pricing_cb(const nimbus_device_t *d, void *ctx) {
  pricing_seen_t *s = ctx;
  if (d->id == s->id) {
    s->pricing = d->pricing;
    s->n++;
  }
  return true;
}

/* Every read of device id in tenant a shows `want` (the registered
 * device's credential and uuid reads too). */
static void assert_device_pricing(store_t *st, nimbus_id_t a, const nimbus_device_t *d,
                                  nimbus_id_t table, const char *payment) {
  nimbus_device_t got;
  unsigned char cred[32];
  fill_hash(cred, (unsigned char)(5 + 100));
  for (int how = 0; how < 5; how++) {
    pricing_seen_t seen = {.id = d->id};
    switch (how) {
      case 0:
        assert_int_equal(store_device_get(st, a, d->id, &got), STORE_OK);
        break;
      case 1:
        assert_int_equal(store_device_get_by_name(st, a, d->name, &got), STORE_OK);
        break;
      case 2:
        assert_int_equal(store_device_get_by_credential(st, cred, &got), STORE_OK);
        break;
      case 3:
        assert_int_equal(store_device_get_by_uuid(st, d->uuid, &got), STORE_OK);
        break;
      default:
        assert_int_equal(store_device_list(st, a, 0, device_pricing_cb, &seen), STORE_OK);
        assert_int_equal(seen.n, 1);
        got.pricing = seen.pricing;
        break;
    }
    assert_int_equal(got.pricing.price_table_id, table);
    assert_string_equal(got.pricing.payment, payment);
  }
}

static void assert_queue_pricing(store_t *st, nimbus_id_t a, nimbus_id_t q, const char *name,
                                 nimbus_id_t table, const char *payment) {
  nimbus_queue_t got;
  assert_int_equal(store_queue_get_by_name(st, a, name, &got), STORE_OK);
  assert_int_equal(got.pricing.price_table_id, table);
  assert_string_equal(got.pricing.payment, payment);
  pricing_seen_t seen = {.id = q};
  assert_int_equal(store_queue_list(st, a, queue_pricing_cb, &seen), STORE_OK);
  assert_int_equal(seen.n, 1);
  assert_int_equal(seen.pricing.price_table_id, table);
  assert_string_equal(seen.pricing.payment, payment);
}

static void test_pricing_on_reads(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");
  nimbus_id_t q = make_queue(st, a, "main"), qb = make_queue(st, b, "main");
  nimbus_device_t d = make_registered(st, a, "p1", &q, 1, 5);
  nimbus_price_table_t t = price_template(a, "office", "{}");
  nimbus_price_table_t tb = price_template(b, "theirs", "{}");
  assert_int_equal(store_price_table_insert(st, &t, NULL), STORE_OK);
  assert_int_equal(store_price_table_insert(st, &tb, NULL), STORE_OK);

  /* nothing set: 0 and "" */
  assert_queue_pricing(st, a, q, "main", 0, "");
  assert_device_pricing(st, a, &d, 0, "");

  nimbus_pricing_t p = {.price_table_id = t.id};
  snprintf(p.payment, sizeof p.payment, "at-printer");
  store_audit_t au = {.tenant_id = a, .actor = "admin", .action = "pricing-set"};
  assert_int_equal(store_queue_set_pricing(st, a, q, &p, &au), STORE_OK);
  assert_int_equal(audit_rows(fx, "pricing-set"), 1);
  assert_queue_pricing(st, a, q, "main", t.id, "at-printer");
  snprintf(p.payment, sizeof p.payment, "none");
  assert_int_equal(store_device_set_pricing(st, a, d.id, &p, NULL), STORE_OK);
  assert_device_pricing(st, a, &d, t.id, "none");

  /* another tenant's table, queue or printer: NOT_FOUND, nothing changed */
  nimbus_pricing_t theirs = {.price_table_id = tb.id};
  assert_int_equal(store_queue_set_pricing(st, a, q, &theirs, &au), STORE_NOT_FOUND);
  assert_int_equal(audit_rows(fx, "pricing-set"), 1);
  assert_int_equal(store_device_set_pricing(st, a, d.id, &theirs, NULL), STORE_NOT_FOUND);
  assert_int_equal(store_queue_set_pricing(st, b, q, &p, NULL), STORE_NOT_FOUND);
  assert_int_equal(store_device_set_pricing(st, b, d.id, &p, NULL), STORE_NOT_FOUND);
  assert_queue_pricing(st, a, q, "main", t.id, "at-printer");
  assert_device_pricing(st, a, &d, t.id, "none");
  assert_queue_pricing(st, b, qb, "main", 0, "");
  /* not a payment mode */
  nimbus_pricing_t bad = {.price_table_id = 0};
  snprintf(bad.payment, sizeof bad.payment, "bogus");
  assert_int_not_equal(store_queue_set_pricing(st, a, q, &bad, NULL), STORE_OK);
  assert_queue_pricing(st, a, q, "main", t.id, "at-printer");

  /* deleting the table leaves them without one; the payment mode stays */
  assert_int_equal(store_price_table_delete(st, a, t.id, NULL), STORE_OK);
  assert_queue_pricing(st, a, q, "main", 0, "at-printer");
  assert_device_pricing(st, a, &d, 0, "none");
  /* clearing works too */
  nimbus_pricing_t none = {0};
  assert_int_equal(store_queue_set_pricing(st, a, q, &none, NULL), STORE_OK);
  assert_queue_pricing(st, a, q, "main", 0, "");
}

/* ---- job quotes ---- */

static void test_job_quotes(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");
  nimbus_id_t q = make_queue(st, a, "main");
  nimbus_id_t job = make_job(st, a, q, 0, NIMBUS_JOB_HELD);
  nimbus_job_quote_t quote = {.job_id = job,
                              .tenant_id = a,
                              .price_table_id = 7,
                              .print_fee = 120,
                              .service_fee = 33,
                              .total = 153,
                              .computed_at = 1700000000};
  snprintf(quote.currency, sizeof quote.currency, "JPY");
  snprintf(quote.detail, sizeof quote.detail, "{\"pages\":12}");
  nimbus_job_quote_t got;
  assert_int_equal(store_job_quote_get(st, a, job, &got), STORE_NOT_FOUND);
  assert_int_equal(store_job_quote_put(st, &quote), STORE_OK);
  assert_int_equal(store_job_quote_get(st, a, job, &got), STORE_OK);
  assert_int_equal(got.job_id, job);
  assert_int_equal(got.tenant_id, a);
  assert_int_equal(got.price_table_id, 7);
  assert_string_equal(got.currency, "JPY");
  assert_int_equal(got.print_fee, 120);
  assert_int_equal(got.service_fee, 33);
  assert_int_equal(got.total, 153);
  assert_string_equal(got.detail, "{\"pages\":12}");
  assert_int_equal(got.computed_at, 1700000000);
  /* upsert: one row per job */
  quote.print_fee = 200;
  quote.total = 233;
  assert_int_equal(store_job_quote_put(st, &quote), STORE_OK);
  assert_int_equal(store_job_quote_get(st, a, job, &got), STORE_OK);
  assert_int_equal(got.print_fee, 200);
  assert_int_equal(got.total, 233);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM job_quotes"), 1);
  /* isolation: another tenant neither reads nor writes it */
  assert_int_equal(store_job_quote_get(st, b, job, &got), STORE_NOT_FOUND);
  nimbus_job_quote_t steal = quote;
  steal.tenant_id = b;
  steal.total = 1;
  assert_int_equal(store_job_quote_put(st, &steal), STORE_NOT_FOUND);
  assert_int_equal(store_job_quote_get(st, a, job, &got), STORE_OK);
  assert_int_equal(got.total, 233);
  assert_int_equal(got.tenant_id, a);
}

/* ---- payments ---- */

static nimbus_payment_t payment_template(nimbus_id_t tenant, nimbus_id_t job, int attempt,
                                         const char *order) {
  nimbus_payment_t p = {.tenant_id = tenant,
                        .job_id = job,
                        .attempt = attempt,
                        .state = NIMBUS_PAY_RESERVING,
                        .amount = 153,
                        .print_fee = 120,
                        .service_fee = 33,
                        .expires_at = 1900000000};
  snprintf(p.provider, sizeof p.provider, "linepay");
  snprintf(p.currency, sizeof p.currency, "JPY");
  snprintf(p.order_id, sizeof p.order_id, "%s", order);
  return p;
}

static store_job_change_t change(nimbus_id_t job, nimbus_job_state_t from, nimbus_job_state_t to,
                                 const char *event) {
  return (store_job_change_t){
      .job_id = job, .expected = from, .next = to, .event = event, .detail = "test"};
}

static void test_payment_insert(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");
  nimbus_id_t q = make_queue(st, a, "main");
  nimbus_id_t j1 = make_job(st, a, q, 0, NIMBUS_JOB_HELD);
  nimbus_id_t j2 = make_job(st, a, q, 0, NIMBUS_JOB_HELD);

  /* a job change whose compare fails: CONFLICT, nothing written */
  nimbus_payment_t p = payment_template(a, j1, 1, "ord-1");
  store_job_change_t wrong =
      change(j1, NIMBUS_JOB_FETCHABLE, NIMBUS_JOB_AWAITING_PAYMENT, "payment-started");
  store_audit_t au = {.tenant_id = a, .actor = "panel", .action = "payment-started"};
  assert_int_equal(store_payment_insert(st, &p, &wrong, &au), STORE_CONFLICT);
  nimbus_payment_t got;
  assert_int_equal(store_payment_get_by_order(st, "ord-1", &got), STORE_NOT_FOUND);
  assert_int_equal(event_rows(fx, "payment-started"), 0);
  assert_int_equal(audit_rows(fx, "payment-started"), 0);

  /* the payment and the job's change together, with its event */
  store_job_change_t c =
      change(j1, NIMBUS_JOB_HELD, NIMBUS_JOB_AWAITING_PAYMENT, "payment-started");
  assert_int_equal(store_payment_insert(st, &p, &c, &au), STORE_OK);
  assert_true(p.id > 0);
  assert_true(p.created_at > 0);
  assert_int_equal(p.updated_at, p.created_at);
  nimbus_job_t job;
  assert_int_equal(store_job_get(st, a, j1, &job), STORE_OK);
  assert_int_equal(job.state, NIMBUS_JOB_AWAITING_PAYMENT);
  assert_int_equal(event_rows(fx, "payment-started"), 1);
  assert_int_equal(db_int(fx,
                          "SELECT from_state * 10 + to_state FROM job_events "
                          "WHERE event = 'payment-started'"),
                   NIMBUS_JOB_HELD * 10 + NIMBUS_JOB_AWAITING_PAYMENT);
  assert_int_equal(audit_rows(fx, "payment-started"), 1);

  /* round trip through every read */
  for (int how = 0; how < 3; how++) {
    memset(&got, 0, sizeof got);
    if (how == 0) assert_int_equal(store_payment_get(st, a, p.id, &got), STORE_OK);
    if (how == 1) assert_int_equal(store_payment_get_by_order(st, "ord-1", &got), STORE_OK);
    if (how == 2) assert_int_equal(store_payment_get_latest_for_job(st, a, j1, &got), STORE_OK);
    assert_int_equal(got.id, p.id);
    assert_int_equal(got.tenant_id, a);
    assert_int_equal(got.job_id, j1);
    assert_int_equal(got.attempt, 1);
    assert_string_equal(got.provider, "linepay");
    assert_int_equal(got.state, NIMBUS_PAY_RESERVING);
    assert_string_equal(got.currency, "JPY");
    assert_int_equal(got.amount, 153);
    assert_int_equal(got.print_fee, 120);
    assert_int_equal(got.service_fee, 33);
    assert_string_equal(got.order_id, "ord-1");
    assert_int_equal(got.expires_at, 1900000000);
    assert_int_equal(got.created_at, p.created_at);
  }
  /* isolation */
  assert_int_equal(store_payment_get(st, b, p.id, &got), STORE_NOT_FOUND);
  assert_int_equal(store_payment_get_latest_for_job(st, b, j1, &got), STORE_NOT_FOUND);
  assert_int_equal(store_payment_get_latest_for_job(st, a, j2, &got), STORE_NOT_FOUND);
  nimbus_payment_t foreign = payment_template(b, j2, 1, "ord-b");
  assert_int_equal(store_payment_insert(st, &foreign, NULL, NULL), STORE_NOT_FOUND);
  assert_int_equal(store_payment_get_by_order(st, "ord-b", &got), STORE_NOT_FOUND);

  /* a second open payment of the job: CONFLICT (even as another attempt) */
  nimbus_payment_t again = payment_template(a, j1, 2, "ord-2");
  assert_int_equal(store_payment_insert(st, &again, NULL, NULL), STORE_CONFLICT);
  /* the same order id on another job: CONFLICT */
  nimbus_payment_t dup = payment_template(a, j2, 1, "ord-1");
  assert_int_equal(store_payment_insert(st, &dup, NULL, NULL), STORE_CONFLICT);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM payments"), 1);
  /* a negative amount never reaches the backend */
  nimbus_payment_t neg = payment_template(a, j2, 1, "ord-neg");
  neg.amount = -1;
  assert_int_equal(store_payment_insert(st, &neg, NULL, NULL), STORE_ERROR);

  /* once the first is closed, the next attempt may start; latest is it */
  p.state = NIMBUS_PAY_CANCELED;
  snprintf(p.reason, sizeof p.reason, "canceled-at-panel");
  assert_int_equal(store_payment_update(st, &p, NIMBUS_PAY_RESERVING, NULL, NULL, NULL), STORE_OK);
  assert_int_equal(store_payment_insert(st, &again, NULL, NULL), STORE_OK);
  assert_int_equal(store_payment_get_latest_for_job(st, a, j1, &got), STORE_OK);
  assert_int_equal(got.id, again.id);
  assert_int_equal(got.attempt, 2);
}

static int64_t ledger_rows(fixture_t *fx) {
  return db_int(fx, "SELECT count(*) FROM ledger_entries");
}

static void test_payment_update(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");
  nimbus_id_t q = make_queue(st, a, "main");
  nimbus_id_t j = make_job(st, a, q, 0, NIMBUS_JOB_HELD);
  nimbus_payment_t p = payment_template(a, j, 1, "ord-u");
  store_job_change_t start =
      change(j, NIMBUS_JOB_HELD, NIMBUS_JOB_AWAITING_PAYMENT, "payment-started");
  assert_int_equal(store_payment_insert(st, &p, &start, NULL), STORE_OK);

  /* reserved: provider answered */
  p.state = NIMBUS_PAY_PENDING;
  snprintf(p.provider_tx, sizeof p.provider_tx, "2026120412345678901"); /* beyond 2^53 */
  snprintf(p.payment_url, sizeof p.payment_url, "https://pay.example/tx/1");
  assert_int_equal(store_payment_update(st, &p, NIMBUS_PAY_RESERVING, NULL, NULL, NULL), STORE_OK);

  store_ledger_line_t lines[] = {
      {.account = "provider:clearing", .amount = 153},
      {.account = "tenant:1:revenue", .amount = -120},
      {.account = "operator:revenue", .amount = -33},
  };
  store_ledger_posting_t posting = {.tenant_id = a,
                                    .job_id = j,
                                    .kind = "payment",
                                    .currency = "JPY",
                                    .memo = "paid",
                                    .lines = lines,
                                    .nlines = 3};
  store_job_change_t release =
      change(j, NIMBUS_JOB_AWAITING_PAYMENT, NIMBUS_JOB_FETCHABLE, "payment-verified");
  store_audit_t au = {.tenant_id = a, .actor = "provider", .action = "payment-paid"};

  /* wrong expected state: CONFLICT, and nothing of it written */
  nimbus_payment_t paid = p;
  paid.state = NIMBUS_PAY_PAID;
  paid.paid_at = 1800000000;
  assert_int_equal(store_payment_update(st, &paid, NIMBUS_PAY_RESERVING, &release, &posting, &au),
                   STORE_CONFLICT);
  nimbus_payment_t got;
  nimbus_job_t job;
  assert_int_equal(store_payment_get(st, a, p.id, &got), STORE_OK);
  assert_int_equal(got.state, NIMBUS_PAY_PENDING);
  assert_int_equal(got.paid_at, 0);
  assert_int_equal(store_job_get(st, a, j, &job), STORE_OK);
  assert_int_equal(job.state, NIMBUS_JOB_AWAITING_PAYMENT);
  assert_int_equal(event_rows(fx, "payment-verified"), 0);
  assert_int_equal(ledger_rows(fx), 0);
  assert_int_equal(audit_rows(fx, "payment-paid"), 0);

  /* the job not as compared: CONFLICT, the payment unchanged too */
  store_job_change_t stale = change(j, NIMBUS_JOB_HELD, NIMBUS_JOB_FETCHABLE, "payment-verified");
  assert_int_equal(store_payment_update(st, &paid, NIMBUS_PAY_PENDING, &stale, &posting, &au),
                   STORE_CONFLICT);
  assert_int_equal(store_payment_get(st, a, p.id, &got), STORE_OK);
  assert_int_equal(got.state, NIMBUS_PAY_PENDING);
  assert_int_equal(ledger_rows(fx), 0);
  assert_int_equal(event_rows(fx, "payment-verified"), 0);

  /* another tenant: NOT_FOUND */
  nimbus_payment_t theirs = paid;
  theirs.tenant_id = b;
  assert_int_equal(store_payment_update(st, &theirs, NIMBUS_PAY_PENDING, NULL, NULL, NULL),
                   STORE_NOT_FOUND);

  /* an unbalanced posting, a zero line, an overflow: refused by store.c */
  store_ledger_line_t unbalanced[] = {{.account = "x", .amount = 10},
                                      {.account = "y", .amount = -9}};
  store_ledger_line_t zero[] = {{.account = "x", .amount = 0}, {.account = "y", .amount = 0}};
  store_ledger_line_t overflow[] = {{.account = "x", .amount = INT64_MAX},
                                    {.account = "y", .amount = INT64_MAX},
                                    {.account = "z", .amount = 2}};
  const store_ledger_line_t *bad[] = {unbalanced, zero, overflow};
  int nbad[] = {2, 2, 3};
  for (int i = 0; i < 3; i++) {
    store_ledger_posting_t wrong = posting;
    wrong.lines = bad[i];
    wrong.nlines = nbad[i];
    assert_int_equal(store_payment_update(st, &paid, NIMBUS_PAY_PENDING, &release, &wrong, &au),
                     STORE_ERROR);
  }
  assert_int_equal(store_payment_get(st, a, p.id, &got), STORE_OK);
  assert_int_equal(got.state, NIMBUS_PAY_PENDING);
  assert_int_equal(ledger_rows(fx), 0);

  /* as compared: payment, job change with its event, posting and audit */
  assert_int_equal(store_payment_update(st, &paid, NIMBUS_PAY_PENDING, &release, &posting, &au),
                   STORE_OK);
  assert_int_equal(store_payment_get(st, a, p.id, &got), STORE_OK);
  assert_int_equal(got.state, NIMBUS_PAY_PAID);
  assert_int_equal(got.paid_at, 1800000000);
  assert_string_equal(got.provider_tx, "2026120412345678901");
  assert_string_equal(got.payment_url, "https://pay.example/tx/1");
  assert_int_equal(got.updated_at, paid.updated_at);
  assert_int_equal(store_job_get(st, a, j, &job), STORE_OK);
  assert_int_equal(job.state, NIMBUS_JOB_FETCHABLE);
  assert_int_equal(event_rows(fx, "payment-verified"), 1);
  assert_int_equal(audit_rows(fx, "payment-paid"), 1);
  assert_int_equal(ledger_rows(fx), 3);
  char sql[160];
  snprintf(sql, sizeof sql, "SELECT count(*) FROM ledger_postings WHERE payment_id = %lld",
           (long long)p.id);
  assert_int_equal(db_int(fx, sql), 1); /* payment_id 0 in the posting: the payment's */
  /* exactly once: the same transition again does not compare */
  assert_int_equal(store_payment_update(st, &paid, NIMBUS_PAY_PENDING, &release, &posting, &au),
                   STORE_CONFLICT);
  assert_int_equal(ledger_rows(fx), 3);
}

/* ---- the reconciler's list ---- */

typedef struct {
  int n;
  nimbus_id_t ids[16];
  nimbus_job_state_t job_states[16];
} pay_seen_t;

static bool pay_cb(const nimbus_payment_t *p, nimbus_job_state_t js, void *ctx) {
  pay_seen_t *s = ctx;
  if (s->n < 16) {
    s->ids[s->n] = p->id;
    s->job_states[s->n] = js;
  }
  s->n++;
  return true;
}

/* A payment of a new job of tenant t (job in job_state) moved to state. */
static nimbus_id_t payment_in(store_t *st, nimbus_id_t t, nimbus_id_t q, nimbus_job_state_t js,
                              nimbus_payment_state_t state, const char *order) {
  nimbus_id_t j = make_job(st, t, q, 0, js);
  nimbus_payment_t p = payment_template(t, j, 1, order);
  assert_int_equal(store_payment_insert(st, &p, NULL, NULL), STORE_OK);
  if (state != NIMBUS_PAY_RESERVING) {
    p.state = state;
    assert_int_equal(store_payment_update(st, &p, NIMBUS_PAY_RESERVING, NULL, NULL, NULL),
                     STORE_OK);
  }
  return p.id;
}

static void test_payment_lists(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");
  nimbus_id_t qa = make_queue(st, a, "main"), qb = make_queue(st, b, "main");
  nimbus_id_t reserving =
      payment_in(st, a, qa, NIMBUS_JOB_AWAITING_PAYMENT, NIMBUS_PAY_RESERVING, "o1");
  nimbus_id_t pending =
      payment_in(st, b, qb, NIMBUS_JOB_AWAITING_PAYMENT, NIMBUS_PAY_PENDING, "o2");
  payment_in(st, a, qa, NIMBUS_JOB_FETCHABLE, NIMBUS_PAY_PAID, "o3"); /* job still live */
  nimbus_id_t paid_done = payment_in(st, a, qa, NIMBUS_JOB_COMPLETED, NIMBUS_PAY_PAID, "o4");
  nimbus_id_t paid_aborted = payment_in(st, b, qb, NIMBUS_JOB_ABORTED, NIMBUS_PAY_PAID, "o5");
  nimbus_id_t refund = payment_in(st, a, qa, NIMBUS_JOB_ABORTED, NIMBUS_PAY_REFUND_PENDING, "o6");
  payment_in(st, a, qa, NIMBUS_JOB_COMPLETED, NIMBUS_PAY_SETTLED, "o7");
  payment_in(st, a, qa, NIMBUS_JOB_HELD, NIMBUS_PAY_CANCELED, "o8");
  payment_in(st, a, qa, NIMBUS_JOB_HELD, NIMBUS_PAY_FAILED, "o9");
  payment_in(st, a, qa, NIMBUS_JOB_ABORTED, NIMBUS_PAY_REFUNDED, "o10");

  pay_seen_t s = {0};
  store_payment_open_filter_t all = {
      .reserving_before = INT64_MAX, .pending_before = INT64_MAX, .max = 100};
  assert_int_equal(store_payment_list_open(st, &all, pay_cb, &s), STORE_OK);
  assert_int_equal(s.n, 5);
  nimbus_id_t want[] = {reserving, pending, paid_done, paid_aborted, refund};
  nimbus_job_state_t want_js[] = {NIMBUS_JOB_AWAITING_PAYMENT, NIMBUS_JOB_AWAITING_PAYMENT,
                                  NIMBUS_JOB_COMPLETED, NIMBUS_JOB_ABORTED, NIMBUS_JOB_ABORTED};
  for (int i = 0; i < 5; i++) {
    assert_int_equal(s.ids[i], want[i]); /* oldest first, all tenants */
    assert_int_equal(s.job_states[i], want_js[i]);
  }
  pay_seen_t two = {0};
  all.max = 2;
  assert_int_equal(store_payment_list_open(st, &all, pay_cb, &two), STORE_OK);
  assert_int_equal(two.n, 2);
  assert_int_equal(two.ids[1], pending);
  /* paged: after the second, the other three */
  pay_seen_t rest = {0};
  all.max = 100;
  all.after_id = pending;
  assert_int_equal(store_payment_list_open(st, &all, pay_cb, &rest), STORE_OK);
  assert_int_equal(rest.n, 3);
  assert_int_equal(rest.ids[0], paid_done);
  /* nothing due yet: a young reservation and a pending payment whose job
   * still waits are left out; one whose job went away is not */
  nimbus_id_t orphan = payment_in(st, a, qa, NIMBUS_JOB_CANCELED, NIMBUS_PAY_PENDING, "o11");
  pay_seen_t due = {0};
  store_payment_open_filter_t now = {.reserving_before = 0, .pending_before = 0, .max = 100};
  assert_int_equal(store_payment_list_open(st, &now, pay_cb, &due), STORE_OK);
  assert_int_equal(due.n, 4);
  assert_int_equal(due.ids[0], paid_done);
  assert_int_equal(due.ids[3], orphan);

  /* a tenant's payments, newest first, paged; never another tenant's */
  pay_seen_t la = {0}, lb = {0}, page = {0};
  assert_int_equal(store_payment_list(st, a, 0, 0, 0, pay_cb, &la), STORE_OK);
  assert_int_equal(la.n, 9); /* with the orphan above */
  assert_int_equal(la.ids[la.n - 1], reserving);
  for (int i = 1; i < la.n; i++) assert_true(la.ids[i - 1] > la.ids[i]);
  assert_int_equal(store_payment_list(st, b, 0, 0, 0, pay_cb, &lb), STORE_OK);
  assert_int_equal(lb.n, 2);
  assert_int_equal(lb.ids[0], paid_aborted);
  assert_int_equal(lb.job_states[0], NIMBUS_JOB_ABORTED);
  assert_int_equal(store_payment_list(st, a, 0, 2, 1, pay_cb, &page), STORE_OK);
  assert_int_equal(page.n, 2);
  assert_int_equal(page.ids[0], la.ids[1]);
  assert_int_equal(page.ids[1], la.ids[2]);
  nimbus_payment_t got;
  assert_int_equal(store_payment_get(st, a, refund, &got), STORE_OK);
  pay_seen_t one = {0};
  assert_int_equal(store_payment_list(st, a, got.job_id, 0, 0, pay_cb, &one), STORE_OK);
  assert_int_equal(one.n, 1);
  assert_int_equal(one.ids[0], refund);
  pay_seen_t none = {0};
  assert_int_equal(store_payment_list(st, b, got.job_id, 0, 0, pay_cb, &none), STORE_OK);
  assert_int_equal(none.n, 0);
}

/* ---- the ledger ---- */

typedef struct {
  int n;
  nimbus_ledger_entry_t e[32];
} ledger_seen_t;

static bool ledger_cb(const nimbus_ledger_entry_t *e, void *ctx) {
  ledger_seen_t *s = ctx;
  if (s->n < 32) s->e[s->n] = *e;
  s->n++;
  return true;
}

typedef struct {
  int n;
  char account[16][64];
  char currency[16][NIMBUS_CURRENCY_MAX];
  int64_t balance[16];
} balance_seen_t;

static bool balance_cb(const char *account, const char *currency, int64_t balance, void *ctx) {
  balance_seen_t *s = ctx;
  if (s->n < 16) {
    snprintf(s->account[s->n], sizeof s->account[0], "%s", account);
    snprintf(s->currency[s->n], sizeof s->currency[0], "%s", currency);
    s->balance[s->n] = balance;
  }
  s->n++;
  return true;
}

static void test_ledger(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");
  store_ledger_line_t l1[] = {{.account = "clearing", .amount = 100},
                              {.account = "tenant:a:revenue", .amount = -90},
                              {.account = "operator:revenue", .amount = -10}};
  store_ledger_line_t l2[] = {{.account = "clearing", .amount = 500},
                              {.account = "tenant:a:revenue", .amount = -500}};
  store_ledger_line_t l3[] = {{.account = "clearing", .amount = 7},
                              {.account = "tenant:b:revenue", .amount = -7}};
  store_ledger_line_t l4[] = {{.account = "operator:revenue", .amount = -1},
                              {.account = "refunds", .amount = 1}};
  store_ledger_posting_t p1 = {.tenant_id = a,
                               .job_id = 42,
                               .kind = "charge",
                               .currency = "JPY",
                               .memo = "job 42",
                               .lines = l1,
                               .nlines = 3};
  store_ledger_posting_t p2 = {
      .tenant_id = a, .kind = "correction", .currency = "EUR", .lines = l2, .nlines = 2};
  store_ledger_posting_t p3 = {
      .tenant_id = b, .kind = "charge", .currency = "JPY", .lines = l3, .nlines = 2};
  store_ledger_posting_t p4 = {
      .tenant_id = 0, .kind = "correction", .currency = "JPY", .lines = l4, .nlines = 2};
  nimbus_id_t id1 = 0, id2 = 0, id3 = 0;
  store_audit_t au = {
      .tenant_id = a, .actor = "op", .action = "ledger-correction", .id_key = "posting"};
  assert_int_equal(store_ledger_post(st, &p1, &id1, &au), STORE_OK);
  assert_int_equal(audit_rows(fx, "ledger-correction"), 1);
  assert_int_equal(store_ledger_post(st, &p2, &id2, NULL), STORE_OK);
  assert_int_equal(store_ledger_post(st, &p3, &id3, NULL), STORE_OK);
  assert_int_equal(store_ledger_post(st, &p4, NULL, NULL), STORE_OK);
  assert_true(id1 > 0 && id2 > id1 && id3 > id2);
  /* refused: unbalanced, a lone line, no currency */
  store_ledger_posting_t bad = p1;
  bad.nlines = 2; /* 100 - 90 */
  nimbus_id_t idb = 99;
  assert_int_equal(store_ledger_post(st, &bad, &idb, NULL), STORE_ERROR);
  assert_int_equal(idb, 0);
  bad = p1;
  bad.nlines = 1;
  assert_int_equal(store_ledger_post(st, &bad, NULL, NULL), STORE_ERROR);
  bad = p1;
  bad.currency = NULL;
  assert_int_equal(store_ledger_post(st, &bad, NULL, NULL), STORE_ERROR);
  assert_int_equal(ledger_rows(fx), 9);

  /* tenant a's entries, in id order, with the posting's fields */
  ledger_seen_t s = {0};
  store_ledger_filter_t fa = {.tenant_id = a};
  assert_int_equal(store_ledger_list(st, &fa, ledger_cb, &s), STORE_OK);
  assert_int_equal(s.n, 5);
  assert_int_equal(s.e[0].posting_id, id1);
  assert_int_equal(s.e[0].tenant_id, a);
  assert_int_equal(s.e[0].job_id, 42);
  assert_string_equal(s.e[0].kind, "charge");
  assert_string_equal(s.e[0].account, "clearing");
  assert_string_equal(s.e[0].currency, "JPY");
  assert_int_equal(s.e[0].amount, 100);
  assert_string_equal(s.e[0].memo, "job 42");
  assert_true(s.e[0].created_at > 0);
  assert_int_equal(s.e[4].posting_id, id2);
  assert_string_equal(s.e[4].currency, "EUR");
  for (int i = 1; i < s.n; i++) assert_true(s.e[i].id > s.e[i - 1].id);
  /* paging and the job filter */
  ledger_seen_t pg1 = {0}, pg2 = {0}, job = {0};
  store_ledger_filter_t fp = {.tenant_id = a, .limit = 2};
  assert_int_equal(store_ledger_list(st, &fp, ledger_cb, &pg1), STORE_OK);
  assert_int_equal(pg1.n, 2);
  fp.after_id = pg1.e[1].id;
  fp.limit = 0;
  assert_int_equal(store_ledger_list(st, &fp, ledger_cb, &pg2), STORE_OK);
  assert_int_equal(pg2.n, 3);
  assert_int_equal(pg2.e[0].id, s.e[2].id);
  store_ledger_filter_t fj = {.tenant_id = a, .job_id = 42};
  assert_int_equal(store_ledger_list(st, &fj, ledger_cb, &job), STORE_OK);
  assert_int_equal(job.n, 3);
  /* b sees its own only; the operator's books; everything */
  ledger_seen_t sb = {0}, sop = {0}, sall = {0};
  store_ledger_filter_t fb = {.tenant_id = b}, fop = {.tenant_id = 0}, fall = {.all_tenants = true};
  assert_int_equal(store_ledger_list(st, &fb, ledger_cb, &sb), STORE_OK);
  assert_int_equal(sb.n, 2);
  assert_int_equal(sb.e[0].tenant_id, b);
  assert_int_equal(store_ledger_list(st, &fop, ledger_cb, &sop), STORE_OK);
  assert_int_equal(sop.n, 2);
  assert_int_equal(store_ledger_list(st, &fall, ledger_cb, &sall), STORE_OK);
  assert_int_equal(sall.n, 9);

  /* balances per account and currency, in account order */
  balance_seen_t ba = {0}, ball = {0};
  assert_int_equal(store_ledger_balances(st, &fa, balance_cb, &ba), STORE_OK);
  assert_int_equal(ba.n, 5);
  assert_string_equal(ba.account[0], "clearing");
  assert_string_equal(ba.currency[0], "EUR");
  assert_int_equal(ba.balance[0], 500);
  assert_string_equal(ba.account[1], "clearing");
  assert_string_equal(ba.currency[1], "JPY");
  assert_int_equal(ba.balance[1], 100);
  assert_string_equal(ba.account[2], "operator:revenue");
  assert_int_equal(ba.balance[2], -10);
  assert_string_equal(ba.account[3], "tenant:a:revenue");
  assert_string_equal(ba.currency[3], "EUR");
  assert_int_equal(ba.balance[3], -500);
  assert_string_equal(ba.account[4], "tenant:a:revenue");
  assert_string_equal(ba.currency[4], "JPY");
  assert_int_equal(ba.balance[4], -90);
  assert_int_equal(store_ledger_balances(st, &fall, balance_cb, &ball), STORE_OK);
  int64_t jpy = 0, eur = 0, clearing_jpy = 0, operator_jpy = 0;
  for (int i = 0; i < ball.n; i++) {
    if (!strcmp(ball.currency[i], "JPY")) jpy += ball.balance[i];
    if (!strcmp(ball.currency[i], "EUR")) eur += ball.balance[i];
    if (!strcmp(ball.account[i], "clearing") && !strcmp(ball.currency[i], "JPY"))
      clearing_jpy = ball.balance[i];
    if (!strcmp(ball.account[i], "operator:revenue")) operator_jpy = ball.balance[i];
  }
  assert_int_equal(jpy, 0);
  assert_int_equal(eur, 0);
  assert_int_equal(clearing_jpy, 107);
  assert_int_equal(operator_jpy, -11);
  /* the ledger sums to zero per currency, seen in the database itself */
  assert_int_equal(db_int(fx,
                          "SELECT count(*) FROM (SELECT l.currency, sum(e.amount) AS s "
                          "FROM ledger_entries e JOIN ledger_postings l ON l.id = e.posting_id "
                          "GROUP BY l.currency) t WHERE t.s <> 0"),
                   0);

  /* append-only: the database refuses UPDATE and DELETE of its rows */
  assert_false(db_try(fx, "UPDATE ledger_entries SET amount = amount + 1"));
  assert_false(db_try(fx, "DELETE FROM ledger_entries"));
  assert_false(db_try(fx, "UPDATE ledger_postings SET memo = 'x'"));
  assert_false(db_try(fx, "DELETE FROM ledger_postings"));
  if (fx->schema[0]) /* PostgreSQL: TRUNCATE too (SQLite has none) */
    assert_false(db_try(fx, "TRUNCATE ledger_entries, ledger_postings"));
  assert_int_equal(ledger_rows(fx), 9);
  assert_int_equal(db_int(fx, "SELECT sum(amount) FROM ledger_entries WHERE amount > 0"), 608);
}

/* Deleting a tenant takes its jobs' payments and quotes with it; the
 * ledger stays (money history outlives tenants and jobs). */
static void test_tenant_delete_keeps_ledger(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");
  nimbus_id_t q = make_queue(st, a, "main"), qb = make_queue(st, b, "main");
  nimbus_id_t pa = payment_in(st, a, q, NIMBUS_JOB_AWAITING_PAYMENT, NIMBUS_PAY_PENDING, "oa");
  nimbus_id_t pb = payment_in(st, b, qb, NIMBUS_JOB_AWAITING_PAYMENT, NIMBUS_PAY_PENDING, "ob");
  nimbus_price_table_t t = price_template(a, "office", "{}");
  assert_int_equal(store_price_table_insert(st, &t, NULL), STORE_OK);
  nimbus_tenant_billing_t bill = {.tenant_id = a};
  assert_int_equal(store_tenant_billing_put(st, &bill, NULL), STORE_OK);
  store_ledger_line_t l[] = {{.account = "x", .amount = 5}, {.account = "y", .amount = -5}};
  store_ledger_posting_t p = {.tenant_id = a,
                              .payment_id = pa,
                              .kind = "payment",
                              .currency = "JPY",
                              .lines = l,
                              .nlines = 2};
  assert_int_equal(store_ledger_post(st, &p, NULL, NULL), STORE_OK);

  assert_int_equal(store_tenant_delete(st, a), STORE_OK);
  nimbus_payment_t got;
  assert_int_equal(store_payment_get_by_order(st, "oa", &got), STORE_NOT_FOUND);
  assert_int_equal(store_payment_get_by_order(st, "ob", &got), STORE_OK);
  assert_int_equal(got.id, pb);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM price_tables"), 0);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM tenant_billing"), 0);
  assert_int_equal(ledger_rows(fx), 2);
  ledger_seen_t s = {0};
  store_ledger_filter_t f = {.tenant_id = a};
  assert_int_equal(store_ledger_list(st, &f, ledger_cb, &s), STORE_OK);
  assert_int_equal(s.n, 2);
  assert_int_equal(s.e[0].payment_id, pa);
}

/* A list callback that calls the store gets STORE_ERROR (store.h). */
typedef struct {
  store_t *st;
  store_status_t got;
  int n;
} reentry_t;

static bool reentrant_price_cb(const nimbus_price_table_t *t, void *ctx) {
  reentry_t *r = ctx;
  nimbus_price_table_t again;
  r->got = store_price_table_get(r->st, t->tenant_id, t->id, &again);
  r->n++;
  return true;
}

static bool reentrant_pay_cb(const nimbus_payment_t *p, nimbus_job_state_t js, void *ctx) {
  (void)js;
  reentry_t *r = ctx;
  nimbus_payment_t again;
  r->got = store_payment_get(r->st, p->tenant_id, p->id, &again);
  r->n++;
  return true;
}

static void test_callback_reentry(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a");
  nimbus_id_t q = make_queue(st, a, "main");
  nimbus_price_table_t t = price_template(a, "office", "{}");
  assert_int_equal(store_price_table_insert(st, &t, NULL), STORE_OK);
  payment_in(st, a, q, NIMBUS_JOB_AWAITING_PAYMENT, NIMBUS_PAY_PENDING, "o1");
  reentry_t r = {.st = st, .got = STORE_OK};
  assert_int_equal(store_price_table_list(st, a, reentrant_price_cb, &r), STORE_OK);
  assert_int_equal(r.n, 1);
  assert_int_equal(r.got, STORE_ERROR);
  r = (reentry_t){.st = st, .got = STORE_OK};
  store_payment_open_filter_t any = {.reserving_before = INT64_MAX, .pending_before = INT64_MAX};
  assert_int_equal(store_payment_list_open(st, &any, reentrant_pay_cb, &r), STORE_OK);
  assert_int_equal(r.n, 1);
  assert_int_equal(r.got, STORE_ERROR);
}

int main(int argc, char **argv) {
  log_set_level(LOG_ERROR);
  if (argc > 1 && !strcmp(argv[1], "pg")) {
    int rc = fixture_use_pg();
    if (rc) return rc;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_billing_and_provider, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_price_tables, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_pricing_on_reads, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_job_quotes, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_payment_insert, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_payment_update, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_payment_lists, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_ledger, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_tenant_delete_keeps_ledger, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_callback_reentry, setup_direct, teardown),
  };
  return cmocka_run_group_tests_name("store contract: money", tests, NULL, NULL);
}
