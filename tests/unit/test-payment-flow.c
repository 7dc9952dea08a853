/*
 * test-payment-flow.c: unit tests of the payment state machine
 * (payments/payment-flow.c) against a real SQLite store (store-fixture.h)
 * and a fake payment provider whose answers each test scripts (reserve,
 * status with its amount and order, confirm, cancel, refund), plugged in
 * with pay_provider_set_test_override().  The fake borrows the real
 * adapters' credential parsing and callback verification, so Stripe
 * webhooks are signed and checked for real.  Every transition is asserted
 * on the store: the payment row, the job's state, the ledger postings
 * (payment 2 lines, charge 3, refund 2, all summing to zero) and the
 * audit rows.  The reconciler thread is kept off by holding its store
 * lease, except in the test that needs it.
 */
#include "store-fixture.h"

#include <inttypes.h>
#include <jansson.h>

#include "job.h"
#include "payment-flow.h"
#include "provider-private.h"

#define TOTAL 147
#define PRINT_FEE 130
#define SERVICE_FEE 17
#define SECRET_A "whsec_unit_tenant_a_secret"
#define SECRET_B "whsec_unit_tenant_b_secret"
#define SK "sk_test_unit_do_not_leak_0123456789"
#define LP_SECRET "lp-unit-channel-secret-do-not-leak"

/* ---- the fake provider ---- */

#define FAKE_TX_MAX 32

typedef struct {
  pthread_mutex_t mu;
  bool linepay; /* transaction ids as LINE Pay's (digits) */
  /* scripted answers */
  pay_result_t reserve_r, status_r, confirm_r, cancel_r, refund_r;
  pay_tx_state_t status;              /* what status() says */
  pay_tx_state_t status_after_cancel; /* status once cancel() was called (0: unchanged) */
  int64_t amount_override;            /* -1: the amount reserved */
  char currency_override[4];          /* "": the currency reserved */
  char order_override[64];            /* "": the order reserved */
  /* what it saw */
  int nreserve, nstatus, nconfirm, ncancel, nrefund;
  int64_t refund_amount;
  char refund_key[80];
  /* its transactions */
  int ntx;
  char tx[FAKE_TX_MAX][PAY_TX_MAX];
  char order[FAKE_TX_MAX][64];
  int64_t amount[FAKE_TX_MAX];
  char currency[FAKE_TX_MAX][4];
  /* called inside reserve(), before it answers (NULL: none) */
  void (*during_reserve)(const char *tx, const char *order_id);
} fake_t;

static fake_t fake;
static pay_provider_t fake_provider;

static int fake_find(const char *tx) {
  for (int i = 0; i < fake.ntx; i++)
    if (strcmp(fake.tx[i], tx) == 0) return i;
  return -1;
}

static pay_result_t fake_reserve(const pay_credentials_t *c, const pay_reserve_req_t *req,
                                 pay_reserve_res_t *out, char *msg, size_t msglen) {
  (void)c;
  pthread_mutex_lock(&fake.mu);
  fake.nreserve++;
  pay_result_t r = fake.reserve_r;
  int i = fake.ntx < FAKE_TX_MAX ? fake.ntx++ : FAKE_TX_MAX - 1;
  if (fake.linepay)
    snprintf(fake.tx[i], PAY_TX_MAX, "20261204%011d", i + 1);
  else
    snprintf(fake.tx[i], PAY_TX_MAX, "cs_fake_%d", i + 1);
  snprintf(fake.order[i], sizeof fake.order[i], "%s", req->order_id);
  fake.amount[i] = req->amount;
  snprintf(fake.currency[i], sizeof fake.currency[i], "%s", req->currency);
  char tx[PAY_TX_MAX];
  snprintf(tx, sizeof tx, "%s", fake.tx[i]);
  void (*hook)(const char *, const char *) = fake.during_reserve;
  pthread_mutex_unlock(&fake.mu);
  if (hook) hook(tx, req->order_id);
  if (r != PAY_OK) {
    pay_msg(msg, msglen, "fake: reserve refused");
    return r;
  }
  snprintf(out->tx, sizeof out->tx, "%s", tx);
  snprintf(out->payment_url, sizeof out->payment_url, "https://pay.example/%s", tx);
  out->expires_at = req->expires_at;
  return PAY_OK;
}

/* The status of tx as scripted; the caller holds fake.mu. */
static pay_result_t fake_status_locked(const char *tx, pay_status_t *out) {
  fake.nstatus++;
  if (fake.status_r != PAY_OK) return fake.status_r;
  int i = fake_find(tx);
  if (i < 0) return PAY_NOT_FOUND;
  memset(out, 0, sizeof *out);
  out->state = fake.status;
  out->amount = fake.amount_override >= 0 ? fake.amount_override : fake.amount[i];
  snprintf(out->currency, sizeof out->currency, "%s",
           fake.currency_override[0] ? fake.currency_override : fake.currency[i]);
  snprintf(out->order_id, sizeof out->order_id, "%s",
           fake.order_override[0] ? fake.order_override : fake.order[i]);
  snprintf(out->capture_ref, sizeof out->capture_ref, "pi_%s", tx);
  return PAY_OK;
}

static pay_result_t fake_status(const pay_credentials_t *c, const char *tx, const char *order_id,
                                pay_status_t *out, char *msg, size_t msglen) {
  (void)c;
  (void)order_id;
  pthread_mutex_lock(&fake.mu);
  pay_result_t r = fake_status_locked(tx, out);
  pthread_mutex_unlock(&fake.mu);
  if (r != PAY_OK) pay_msg(msg, msglen, "fake: status not available");
  return r;
}

/* LINE Pay's confirm: an authorized transaction becomes paid. */
static pay_result_t fake_confirm(const pay_credentials_t *c, const char *tx, int64_t amount,
                                 const char *currency, pay_status_t *out, char *msg,
                                 size_t msglen) {
  (void)c;
  (void)amount;
  (void)currency;
  pthread_mutex_lock(&fake.mu);
  fake.nconfirm++;
  pay_result_t r = fake.confirm_r;
  if (r == PAY_OK) {
    if (fake.status == PAY_TX_AUTHORIZED) fake.status = PAY_TX_PAID;
    r = fake_status_locked(tx, out);
  }
  pthread_mutex_unlock(&fake.mu);
  if (r != PAY_OK) pay_msg(msg, msglen, "fake: confirm refused");
  return r;
}

static pay_result_t fake_cancel(const pay_credentials_t *c, const char *tx, char *msg,
                                size_t msglen) {
  (void)c;
  (void)tx;
  pthread_mutex_lock(&fake.mu);
  fake.ncancel++;
  if (fake.status_after_cancel) fake.status = fake.status_after_cancel;
  pay_result_t r = fake.cancel_r;
  if (r == PAY_OK && (fake.status == PAY_TX_OPEN || fake.status == PAY_TX_AUTHORIZED))
    fake.status = PAY_TX_CANCELED;
  pthread_mutex_unlock(&fake.mu);
  if (r != PAY_OK) pay_msg(msg, msglen, "fake: cancel refused");
  return r;
}

static pay_result_t fake_refund(const pay_credentials_t *c, const char *tx, const char *capture_ref,
                                int64_t amount, const char *currency, const char *idempotency_key,
                                pay_refund_res_t *out, char *msg, size_t msglen) {
  (void)c;
  (void)currency;
  pthread_mutex_lock(&fake.mu);
  fake.nrefund++;
  fake.refund_amount = amount;
  snprintf(fake.refund_key, sizeof fake.refund_key, "%s", idempotency_key);
  pay_result_t r = fake.refund_r;
  bool ref_ok =
      capture_ref && strncmp(capture_ref, "pi_", 3) == 0 && strcmp(capture_ref + 3, tx) == 0;
  pthread_mutex_unlock(&fake.mu);
  if (!ref_ok) r = PAY_INVALID; /* the flow must name what status() gave */
  if (r != PAY_OK) {
    pay_msg(msg, msglen, "fake: refund not made");
    return r;
  }
  snprintf(out->refund_tx, sizeof out->refund_tx, "re_%s", tx);
  return PAY_OK;
}

/* The fake stands in for `real` (its name, its credentials and its
 * callback verification), with everything it answers scripted. */
static void fake_use(const pay_provider_t *real) {
  pthread_mutex_lock(&fake.mu);
  fake.linepay = real == &pay_provider_linepay;
  pthread_mutex_unlock(&fake.mu);
  fake_provider = (pay_provider_t){.name = real->name,
                                   .parse_credentials = real->parse_credentials,
                                   .describe_credentials = real->describe_credentials,
                                   .reserve = fake_reserve,
                                   .status = fake_status,
                                   .confirm = fake_confirm,
                                   .cancel = fake_cancel,
                                   .refund = fake_refund,
                                   .verify_callback = real->verify_callback};
  pay_provider_set_test_override(&fake_provider);
}

static void fake_reset(void) {
  memset(&fake, 0, sizeof fake);
  pthread_mutex_init(&fake.mu, NULL);
  fake.status = PAY_TX_OPEN;
  fake.amount_override = -1;
}

static void fake_set_status(pay_tx_state_t s) {
  pthread_mutex_lock(&fake.mu);
  fake.status = s;
  pthread_mutex_unlock(&fake.mu);
}

/* ---- fixture: a store, a server with the payment service, tenant acme ---- */

typedef struct {
  fixture_t *fx;
  nimbus_server_t srv;
  nimbus_id_t acme, beta, queue, beta_queue;
} pf_t;

static int pf_setup_with(void **state, bool reconciler) {
  void *fxs = NULL;
  if (setup_direct(&fxs) != 0) return -1;
  pf_t *pf = calloc(1, sizeof *pf);
  if (!pf) return -1;
  pf->fx = fxs;
  *state = pf;
  fake_reset();
  fake_use(&pay_provider_stripe);
  store_t *st = pf->fx->st;
  pf->srv.store = st;
  snprintf(pf->srv.cfg.state_dir, sizeof pf->srv.cfg.state_dir, "%s", pf->fx->dir);
  snprintf(pf->srv.cfg.public_url, sizeof pf->srv.cfg.public_url, "https://print.example");
  pf->srv.cfg.payment_timeout = 180;
  if (!reconciler) {
    /* another holder keeps the reconciler's lease: it never runs */
    bool held = false;
    if (store_lease_take(st, "payments", "unit-test", (int64_t)time(NULL), 3600, &held) !=
            STORE_OK ||
        !held)
      return -1;
  }
  char err[256] = "";
  if (!payments_start(&pf->srv, err, sizeof err)) {
    fprintf(stderr, "payments_start: %s\n", err);
    return -1;
  }
  pf->acme = make_tenant(st, "acme");
  pf->beta = make_tenant(st, "beta");
  pf->queue = make_queue(st, pf->acme, "office");
  pf->beta_queue = make_queue(st, pf->beta, "office");
  return 0;
}

static int pf_setup(void **state) {
  return pf_setup_with(state, false);
}
static int pf_setup_reconciler(void **state) {
  return pf_setup_with(state, true);
}

static int pf_teardown(void **state) {
  pf_t *pf = *state;
  if (!pf) return 0;
  payments_stop(pf->srv.payments);
  pay_provider_set_test_override(NULL);
  void *fxs = pf->fx;
  free(pf);
  return teardown(&fxs);
}

/* Give tenant the fake's provider (its real adapter's credentials). */
static void set_provider(pf_t *pf, nimbus_id_t tenant, const char *whsec) {
  char msg[256] = "";
  json_t *cred =
      fake.linepay
          ? json_pack("{s:s, s:s}", "channel_id", "1234567890", "channel_secret", LP_SECRET)
          : json_pack("{s:s, s:[s]}", "secret_key", SK, "webhook_secrets", whsec);
  assert_non_null(cred);
  payflow_result_t r =
      payments_set_provider(&pf->srv, tenant, fake_provider.name, cred, "boss", msg, sizeof msg);
  if (r != PAYFLOW_OK) fprintf(stderr, "set_provider: %s\n", msg);
  assert_int_equal(r, PAYFLOW_OK);
  json_decref(cred);
}

static nimbus_id_t new_job(pf_t *pf, nimbus_id_t tenant) {
  return make_job(pf->fx->st, tenant, tenant == pf->acme ? pf->queue : pf->beta_queue, 0,
                  NIMBUS_JOB_HELD);
}

static nimbus_job_state_t job_state(pf_t *pf, nimbus_id_t tenant, nimbus_id_t id) {
  nimbus_job_t j;
  assert_int_equal(store_job_get(pf->fx->st, tenant, id, &j), STORE_OK);
  return j.state;
}

/* payments_begin for job id of tenant at EUR 1.47 (1.30 + 0.17). */
static payflow_result_t begin(pf_t *pf, nimbus_id_t tenant, nimbus_id_t id, nimbus_payment_t *p) {
  nimbus_job_t j;
  assert_int_equal(store_job_get(pf->fx->st, tenant, id, &j), STORE_OK);
  nimbus_job_quote_t q = {.job_id = id,
                          .tenant_id = tenant,
                          .print_fee = PRINT_FEE,
                          .service_fee = SERVICE_FEE,
                          .total = TOTAL};
  snprintf(q.currency, sizeof q.currency, "EUR");
  char msg[256] = "";
  return payments_begin(&pf->srv, &j, &q, 0, 0, "alice", "req-1", p, msg, sizeof msg);
}

static nimbus_payment_t pay_row(pf_t *pf, nimbus_id_t tenant, nimbus_id_t id) {
  nimbus_payment_t p;
  assert_int_equal(store_payment_get(pf->fx->st, tenant, id, &p), STORE_OK);
  return p;
}

/* Ledger lines of a job's postings of kind ("" any). */
static int64_t ledger_lines(pf_t *pf, nimbus_id_t job, const char *kind) {
  char sql[256];
  snprintf(sql, sizeof sql,
           "SELECT count(*) FROM ledger_entries e JOIN ledger_postings p ON p.id = e.posting_id "
           "WHERE p.job_id = %" PRId64 " AND ('%s' = '' OR p.kind = '%s')",
           job, kind, kind);
  return db_int(pf->fx, sql);
}

/* The amount of a job's line on account of a posting kind. */
static int64_t ledger_amount(pf_t *pf, nimbus_id_t job, const char *kind, const char *account) {
  char sql[320];
  snprintf(sql, sizeof sql,
           "SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e JOIN ledger_postings p "
           "ON p.id = e.posting_id WHERE p.job_id = %" PRId64
           " AND p.kind = '%s' "
           "AND e.account = '%s'",
           job, kind, account);
  return db_int(pf->fx, sql);
}

/* The whole ledger, and every posting of it, sums to zero. */
static void assert_ledger_balanced(pf_t *pf) {
  assert_int_equal(db_int(pf->fx, "SELECT coalesce(sum(amount), 0) FROM ledger_entries"), 0);
  assert_int_equal(db_int(pf->fx,
                          "SELECT count(*) FROM (SELECT posting_id FROM ledger_entries "
                          "GROUP BY posting_id HAVING sum(amount) <> 0) x"),
                   0);
}

static int64_t audits(pf_t *pf, const char *action) {
  char sql[160];
  snprintf(sql, sizeof sql, "SELECT count(*) FROM audit WHERE action = '%s'", action);
  return db_int(pf->fx, sql);
}

/* Move a released (fetchable) job through printing to `end`. */
static void job_prints_and_ends(pf_t *pf, nimbus_id_t tenant, nimbus_id_t id,
                                nimbus_job_state_t end) {
  store_t *st = pf->fx->st;
  assert_int_equal(
      job_cas(st, tenant, id, NIMBUS_JOB_FETCHABLE, NIMBUS_JOB_PROCESSING, "fetch", NULL),
      STORE_OK);
  assert_int_equal(job_cas(st, tenant, id, NIMBUS_JOB_PROCESSING, end, "device-end", NULL),
                   STORE_OK);
  nimbus_job_t j;
  assert_int_equal(store_job_get(st, tenant, id, &j), STORE_OK);
  payments_job_changed(&pf->srv, &j, NIMBUS_JOB_PROCESSING); /* only wakes the reconciler */
}

/* A signed Stripe webhook of event type naming session tx and order,
 * delivered to tenant's endpoint. */
static payflow_result_t webhook(pf_t *pf, const char *tenant, const char *secret, const char *type,
                                const char *tx, const char *order, nimbus_payment_t *out) {
  char body[512], sig[65], header[128];
  snprintf(body, sizeof body,
           "{\"id\":\"evt_%s\",\"type\":\"%s\",\"data\":{\"object\":{\"id\":\"%s\","
           "\"client_reference_id\":\"%s\",\"metadata\":{\"order_id\":\"%s\"}}}}",
           tx, type, tx, order, order);
  int64_t t = (int64_t)time(NULL);
  pay_stripe_signature(secret, t, body, strlen(body), sig);
  snprintf(header, sizeof header, "t=%" PRId64 ",v1=%s", t, sig);
  return payments_stripe_webhook(&pf->srv, tenant, body, strlen(body), header, "127.0.0.1", out);
}

/* ---- tests ---- */

/* reserving -> pending -> paid -> settled, begin idempotent, the
 * postings and their lines, converging a final payment changes nothing. */
static void test_pay_and_settle(void **state) {
  pf_t *pf = *state;
  set_provider(pf, pf->acme, SECRET_A);
  nimbus_id_t j = new_job(pf, pf->acme);
  nimbus_payment_t p, again;
  assert_int_equal(begin(pf, pf->acme, j, &p), PAYFLOW_OK);
  assert_int_equal(p.state, NIMBUS_PAY_PENDING);
  assert_int_equal(p.amount, TOTAL);
  assert_int_equal(p.attempt, 1);
  assert_string_equal(p.provider, "stripe");
  assert_string_equal(p.provider_tx, "cs_fake_1");
  assert_string_equal(p.payment_url, "https://pay.example/cs_fake_1");
  assert_true(p.expires_at >= (int64_t)time(NULL) + 170);
  assert_int_equal(pay_row(pf, pf->acme, p.id).state, NIMBUS_PAY_PENDING);
  assert_int_equal(job_state(pf, pf->acme, j), NIMBUS_JOB_AWAITING_PAYMENT);
  assert_int_equal(audits(pf, "payment-started"), 1);

  /* idempotent: the open payment, no second reservation */
  assert_int_equal(begin(pf, pf->acme, j, &again), PAYFLOW_OK);
  assert_int_equal(again.id, p.id);
  assert_string_equal(again.order_id, p.order_id);
  assert_int_equal(fake.nreserve, 1);

  /* still open at the provider: nothing changes */
  assert_int_equal(payments_converge(&pf->srv, pf->acme, p.id, &again), PAYFLOW_OK);
  assert_int_equal(again.state, NIMBUS_PAY_PENDING);
  assert_int_equal(ledger_lines(pf, j, ""), 0);

  /* paid: released, one "payment" posting of two lines */
  fake_set_status(PAY_TX_PAID);
  assert_int_equal(payments_converge(&pf->srv, pf->acme, p.id, &again), PAYFLOW_OK);
  assert_int_equal(again.state, NIMBUS_PAY_PAID);
  assert_true(again.paid_at > 0);
  assert_int_equal(job_state(pf, pf->acme, j), NIMBUS_JOB_FETCHABLE);
  assert_int_equal(ledger_lines(pf, j, "payment"), 2);
  assert_int_equal(ledger_amount(pf, j, "payment", "provider:stripe:clearing"), TOTAL);
  char acct[64];
  snprintf(acct, sizeof acct, "tenant:%" PRId64 ":unearned", pf->acme);
  assert_int_equal(ledger_amount(pf, j, "payment", acct), -TOTAL);
  assert_ledger_balanced(pf);
  /* converged again while printing: nothing more */
  assert_int_equal(payments_converge(&pf->srv, pf->acme, p.id, &again), PAYFLOW_OK);
  assert_int_equal(again.state, NIMBUS_PAY_PAID);
  assert_int_equal(ledger_lines(pf, j, ""), 2);

  /* printed: settled, one "charge" posting of three lines */
  job_prints_and_ends(pf, pf->acme, j, NIMBUS_JOB_COMPLETED);
  assert_int_equal(payments_converge(&pf->srv, pf->acme, p.id, &again), PAYFLOW_OK);
  assert_int_equal(again.state, NIMBUS_PAY_SETTLED);
  assert_int_equal(ledger_lines(pf, j, "charge"), 3);
  assert_int_equal(ledger_amount(pf, j, "charge", acct), TOTAL);
  snprintf(acct, sizeof acct, "tenant:%" PRId64 ":revenue", pf->acme);
  assert_int_equal(ledger_amount(pf, j, "charge", acct), -PRINT_FEE);
  assert_int_equal(ledger_amount(pf, j, "charge", "operator:revenue"), -SERVICE_FEE);
  assert_ledger_balanced(pf);
  assert_int_equal(payments_converge(&pf->srv, pf->acme, p.id, &again), PAYFLOW_OK);
  assert_int_equal(again.state, NIMBUS_PAY_SETTLED);
  assert_int_equal(ledger_lines(pf, j, ""), 5);
  assert_int_equal(fake.nrefund, 0);
  /* a final payment: begin makes a new attempt only for a held job */
  assert_int_equal(begin(pf, pf->acme, j, &again), PAYFLOW_CONFLICT);
}

/* The provider refuses or does not answer the reservation; it declines
 * or cancels afterwards: failed / canceled, the job held, nothing posted. */
static void test_reserve_refused_and_declined(void **state) {
  pf_t *pf = *state;
  set_provider(pf, pf->acme, SECRET_A);
  nimbus_id_t j = new_job(pf, pf->acme);
  nimbus_payment_t p;
  fake.reserve_r = PAY_DECLINED;
  assert_int_equal(begin(pf, pf->acme, j, &p), PAYFLOW_PROVIDER);
  p = pay_row(pf, pf->acme, p.id);
  assert_int_equal(p.state, NIMBUS_PAY_FAILED);
  assert_string_equal(p.reason, "provider-refused");
  assert_int_equal(job_state(pf, pf->acme, j), NIMBUS_JOB_HELD);

  fake.reserve_r = PAY_UNAVAILABLE;
  assert_int_equal(begin(pf, pf->acme, j, &p), PAYFLOW_PROVIDER);
  p = pay_row(pf, pf->acme, p.id);
  assert_int_equal(p.state, NIMBUS_PAY_CANCELED);
  assert_string_equal(p.reason, "provider-unavailable");
  assert_int_equal(p.attempt, 2);
  assert_int_equal(job_state(pf, pf->acme, j), NIMBUS_JOB_HELD);

  fake.reserve_r = PAY_OK;
  assert_int_equal(begin(pf, pf->acme, j, &p), PAYFLOW_OK);
  assert_int_equal(p.attempt, 3);
  assert_int_equal(p.state, NIMBUS_PAY_PENDING);
  fake_set_status(PAY_TX_FAILED);
  assert_int_equal(payments_converge(&pf->srv, pf->acme, p.id, &p), PAYFLOW_OK);
  assert_int_equal(p.state, NIMBUS_PAY_FAILED);
  assert_string_equal(p.reason, "declined");
  assert_int_equal(job_state(pf, pf->acme, j), NIMBUS_JOB_HELD);

  fake_set_status(PAY_TX_OPEN);
  assert_int_equal(begin(pf, pf->acme, j, &p), PAYFLOW_OK);
  fake_set_status(PAY_TX_CANCELED);
  assert_int_equal(payments_converge(&pf->srv, pf->acme, p.id, &p), PAYFLOW_OK);
  assert_int_equal(p.state, NIMBUS_PAY_CANCELED);
  assert_string_equal(p.reason, "canceled-at-provider");
  assert_int_equal(job_state(pf, pf->acme, j), NIMBUS_JOB_HELD);
  assert_int_equal(ledger_lines(pf, j, ""), 0);
}

/* Cancel: the reservation canceled at the provider, the job held; a
 * second cancel is a conflict; a payment made meanwhile is honoured. */
static void test_cancel(void **state) {
  pf_t *pf = *state;
  set_provider(pf, pf->acme, SECRET_A);
  nimbus_id_t j = new_job(pf, pf->acme);
  nimbus_payment_t p;
  char msg[128];
  assert_int_equal(begin(pf, pf->acme, j, &p), PAYFLOW_OK);
  assert_int_equal(payments_cancel(&pf->srv, pf->acme, j, "alice", &p, msg, sizeof msg),
                   PAYFLOW_OK);
  assert_int_equal(p.state, NIMBUS_PAY_CANCELED);
  assert_string_equal(p.reason, "canceled");
  assert_int_equal(fake.ncancel, 1);
  assert_int_equal(job_state(pf, pf->acme, j), NIMBUS_JOB_HELD);
  assert_int_equal(payments_cancel(&pf->srv, pf->acme, j, "alice", &p, msg, sizeof msg),
                   PAYFLOW_CONFLICT);
  /* another tenant cannot cancel it */
  assert_int_equal(payments_cancel(&pf->srv, pf->beta, j, "x", &p, msg, sizeof msg),
                   PAYFLOW_NOT_FOUND);

  fake_set_status(PAY_TX_OPEN);
  assert_int_equal(begin(pf, pf->acme, j, &p), PAYFLOW_OK);
  fake_set_status(PAY_TX_PAID);
  assert_int_equal(payments_cancel(&pf->srv, pf->acme, j, "alice", &p, msg, sizeof msg),
                   PAYFLOW_OK);
  assert_int_equal(p.state, NIMBUS_PAY_PAID);
  assert_int_equal(fake.ncancel, 1); /* not canceled at the provider */
  assert_int_equal(job_state(pf, pf->acme, j), NIMBUS_JOB_FETCHABLE);
  assert_int_equal(ledger_lines(pf, j, "payment"), 2);
  assert_ledger_balanced(pf);
}

typedef struct {
  pf_t *pf;
  const char *tx, *order;
  payflow_result_t r;
} confirm_thread_t;

static void *confirm_thread(void *arg) {
  confirm_thread_t *t = arg;
  nimbus_payment_t p;
  t->r = payments_linepay_confirm(&t->pf->srv, t->tx, t->order, "127.0.0.1", &p);
  return NULL;
}

/* LINE Pay: the confirm URL hit twice, then by four threads at once for
 * another job: one release and one posting each. */
static void test_linepay_callback_twice(void **state) {
  pf_t *pf = *state;
  fake_use(&pay_provider_linepay);
  set_provider(pf, pf->acme, NULL);
  nimbus_id_t j = new_job(pf, pf->acme);
  nimbus_payment_t p, got;
  assert_int_equal(begin(pf, pf->acme, j, &p), PAYFLOW_OK);
  fake_set_status(PAY_TX_AUTHORIZED);
  assert_int_equal(payments_linepay_confirm(&pf->srv, p.provider_tx, p.order_id, "x", &got),
                   PAYFLOW_OK);
  assert_int_equal(got.state, NIMBUS_PAY_PAID);
  assert_int_equal(fake.nconfirm, 1);
  assert_int_equal(payments_linepay_confirm(&pf->srv, p.provider_tx, p.order_id, "x", &got),
                   PAYFLOW_OK);
  assert_int_equal(got.state, NIMBUS_PAY_PAID);
  assert_int_equal(fake.nconfirm, 1);
  assert_int_equal(job_state(pf, pf->acme, j), NIMBUS_JOB_FETCHABLE);
  assert_int_equal(ledger_lines(pf, j, ""), 2);

  nimbus_id_t j2 = new_job(pf, pf->acme);
  fake_set_status(PAY_TX_OPEN);
  assert_int_equal(begin(pf, pf->acme, j2, &p), PAYFLOW_OK);
  fake_set_status(PAY_TX_AUTHORIZED);
  confirm_thread_t t[4];
  pthread_t th[4];
  for (int i = 0; i < 4; i++) {
    t[i] = (confirm_thread_t){.pf = pf, .tx = p.provider_tx, .order = p.order_id};
    assert_int_equal(pthread_create(&th[i], NULL, confirm_thread, &t[i]), 0);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(t[i].r, PAYFLOW_OK);
  }
  assert_int_equal(pay_row(pf, pf->acme, p.id).state, NIMBUS_PAY_PAID);
  assert_int_equal(job_state(pf, pf->acme, j2), NIMBUS_JOB_FETCHABLE);
  assert_int_equal(ledger_lines(pf, j2, ""), 2);
  assert_int_equal(audits(pf, "payment-verified"), 2);
  assert_ledger_balanced(pf);
}

/* The provider says paid, but another amount or currency: not released,
 * audited, nothing posted; the right amount later releases it. */
static void test_amount_mismatch(void **state) {
  pf_t *pf = *state;
  set_provider(pf, pf->acme, SECRET_A);
  nimbus_id_t j = new_job(pf, pf->acme);
  nimbus_payment_t p, got;
  assert_int_equal(begin(pf, pf->acme, j, &p), PAYFLOW_OK);
  fake_set_status(PAY_TX_PAID);
  fake.amount_override = TOTAL - 1;
  assert_int_equal(payments_converge(&pf->srv, pf->acme, p.id, &got), PAYFLOW_FORGED);
  assert_int_equal(got.state, NIMBUS_PAY_PENDING);
  assert_int_equal(job_state(pf, pf->acme, j), NIMBUS_JOB_AWAITING_PAYMENT);
  assert_int_equal(audits(pf, "payment-amount-mismatch"), 1);
  fake.amount_override = -1;
  snprintf(fake.currency_override, sizeof fake.currency_override, "JPY");
  assert_int_equal(
      webhook(pf, "acme", SECRET_A, "checkout.session.completed", p.provider_tx, p.order_id, &got),
      PAYFLOW_FORGED);
  assert_int_equal(got.state, NIMBUS_PAY_PENDING);
  assert_int_equal(audits(pf, "payment-amount-mismatch"), 2);
  assert_int_equal(ledger_lines(pf, j, ""), 0);
  fake.currency_override[0] = '\0';
  assert_int_equal(payments_converge(&pf->srv, pf->acme, p.id, &got), PAYFLOW_OK);
  assert_int_equal(got.state, NIMBUS_PAY_PAID);
  assert_int_equal(ledger_lines(pf, j, ""), 2);
}

/* A callback naming another order's transaction, an unknown order, or a
 * transaction the provider says is another order's: refused, audited. */
static void test_other_orders_transaction(void **state) {
  pf_t *pf = *state;
  fake_use(&pay_provider_linepay);
  set_provider(pf, pf->acme, NULL);
  nimbus_id_t ja = new_job(pf, pf->acme), jb = new_job(pf, pf->acme);
  nimbus_payment_t a, b, got;
  assert_int_equal(begin(pf, pf->acme, ja, &a), PAYFLOW_OK);
  assert_int_equal(begin(pf, pf->acme, jb, &b), PAYFLOW_OK);
  fake_set_status(PAY_TX_AUTHORIZED);
  assert_int_equal(payments_linepay_confirm(&pf->srv, b.provider_tx, a.order_id, "x", &got),
                   PAYFLOW_FORGED);
  assert_int_equal(audits(pf, "payment-callback-refused"), 1);
  assert_int_equal(payments_linepay_confirm(&pf->srv, a.provider_tx, "NOPE-1", "x", &got),
                   PAYFLOW_FORGED);
  assert_int_equal(audits(pf, "payment-callback-refused"), 2);
  assert_int_equal(fake.nconfirm, 0);
  /* the provider says the transaction is another order's */
  snprintf(fake.order_override, sizeof fake.order_override, "%s", b.order_id);
  assert_int_equal(payments_linepay_confirm(&pf->srv, a.provider_tx, a.order_id, "x", &got),
                   PAYFLOW_FORGED);
  assert_int_equal(audits(pf, "payment-callback-refused"), 3);
  assert_int_equal(fake.nconfirm, 0);
  assert_int_equal(pay_row(pf, pf->acme, a.id).state, NIMBUS_PAY_PENDING);
  assert_int_equal(pay_row(pf, pf->acme, b.id).state, NIMBUS_PAY_PENDING);
  assert_int_equal(job_state(pf, pf->acme, ja), NIMBUS_JOB_AWAITING_PAYMENT);
  assert_int_equal(job_state(pf, pf->acme, jb), NIMBUS_JOB_AWAITING_PAYMENT);
  assert_int_equal(db_int(pf->fx, "SELECT count(*) FROM ledger_entries"), 0);
}

/* Stripe webhooks and tenants: another tenant's secret, another tenant's
 * order, a session that is not the order's, a stale signature, an unknown
 * tenant: none applied; the right one is. */
static void test_stripe_webhook_tenants(void **state) {
  pf_t *pf = *state;
  set_provider(pf, pf->acme, SECRET_A);
  set_provider(pf, pf->beta, SECRET_B);
  nimbus_id_t j = new_job(pf, pf->acme);
  nimbus_payment_t p, got;
  assert_int_equal(begin(pf, pf->acme, j, &p), PAYFLOW_OK);
  fake_set_status(PAY_TX_PAID);
  const char *done = "checkout.session.completed";
  /* signed with beta's secret, sent to acme's endpoint */
  assert_int_equal(webhook(pf, "acme", SECRET_B, done, p.provider_tx, p.order_id, &got),
                   PAYFLOW_FORGED);
  assert_int_equal(audits(pf, "payment-callback-refused"), 1);
  /* beta's correctly signed event naming acme's order */
  assert_int_equal(webhook(pf, "beta", SECRET_B, done, p.provider_tx, p.order_id, &got),
                   PAYFLOW_NOT_FOUND);
  /* acme's secret, a session that is not the order's */
  assert_int_equal(webhook(pf, "acme", SECRET_A, done, "cs_other_1", p.order_id, &got),
                   PAYFLOW_FORGED);
  assert_int_equal(webhook(pf, "nosuch", SECRET_A, done, p.provider_tx, p.order_id, &got),
                   PAYFLOW_FORGED);
  /* a signature older than the tolerance */
  char body[256], sig[65], header[128];
  snprintf(body, sizeof body,
           "{\"id\":\"evt_old\",\"type\":\"%s\",\"data\":{\"object\":{\"id\":\"%s\","
           "\"metadata\":{\"order_id\":\"%s\"}}}}",
           done, p.provider_tx, p.order_id);
  int64_t old = (int64_t)time(NULL) - 1000;
  pay_stripe_signature(SECRET_A, old, body, strlen(body), sig);
  snprintf(header, sizeof header, "t=%" PRId64 ",v1=%s", old, sig);
  assert_int_equal(payments_stripe_webhook(&pf->srv, "acme", body, strlen(body), header, "x", &got),
                   PAYFLOW_FORGED);
  assert_int_equal(fake.nstatus, 0); /* none of them made nimbusd even ask */
  assert_int_equal(pay_row(pf, pf->acme, p.id).state, NIMBUS_PAY_PENDING);
  assert_int_equal(job_state(pf, pf->acme, j), NIMBUS_JOB_AWAITING_PAYMENT);
  assert_int_equal(db_int(pf->fx, "SELECT count(*) FROM ledger_entries"), 0);
  /* the real one, twice: one release, one posting */
  assert_int_equal(webhook(pf, "acme", SECRET_A, done, p.provider_tx, p.order_id, &got),
                   PAYFLOW_OK);
  assert_int_equal(got.state, NIMBUS_PAY_PAID);
  assert_int_equal(webhook(pf, "acme", SECRET_A, done, p.provider_tx, p.order_id, &got),
                   PAYFLOW_OK);
  assert_int_equal(got.state, NIMBUS_PAY_PAID);
  assert_int_equal(job_state(pf, pf->acme, j), NIMBUS_JOB_FETCHABLE);
  assert_int_equal(ledger_lines(pf, j, ""), 2);
  assert_ledger_balanced(pf);
}

static pf_t *early_pf;
static nimbus_payment_t early_seen;
static payflow_result_t early_r;

/* The provider's webhook arrives while the reservation's reply is still
 * on its way (the row is reserving, without the session id). */
static void early_webhook(const char *tx, const char *order_id) {
  assert_int_equal(pay_row(early_pf, early_pf->acme,
                           (nimbus_id_t)db_int(early_pf->fx, "SELECT max(id) FROM payments"))
                       .state,
                   NIMBUS_PAY_RESERVING);
  fake_set_status(PAY_TX_PAID);
  early_r =
      webhook(early_pf, "acme", SECRET_A, "checkout.session.completed", tx, order_id, &early_seen);
}

/* A webhook before the reservation's reply: paid once, begin gives the
 * paid payment, one posting; also when the reply itself then fails. */
static void test_early_webhook(void **state) {
  pf_t *pf = *state;
  set_provider(pf, pf->acme, SECRET_A);
  nimbus_id_t j = new_job(pf, pf->acme);
  early_pf = pf;
  fake.during_reserve = early_webhook;
  nimbus_payment_t p;
  assert_int_equal(begin(pf, pf->acme, j, &p), PAYFLOW_OK);
  assert_int_equal(early_r, PAYFLOW_OK);
  assert_int_equal(early_seen.state, NIMBUS_PAY_PAID);
  assert_int_equal(p.state, NIMBUS_PAY_PAID);
  assert_int_equal(pay_row(pf, pf->acme, p.id).state, NIMBUS_PAY_PAID);
  assert_string_equal(pay_row(pf, pf->acme, p.id).provider_tx, "cs_fake_1");
  assert_int_equal(job_state(pf, pf->acme, j), NIMBUS_JOB_FETCHABLE);
  assert_int_equal(ledger_lines(pf, j, ""), 2);
  fake.during_reserve = NULL;
  nimbus_payment_t got;
  assert_int_equal(
      webhook(pf, "acme", SECRET_A, "checkout.session.completed", p.provider_tx, p.order_id, &got),
      PAYFLOW_OK);
  assert_int_equal(ledger_lines(pf, j, ""), 2);
  assert_ledger_balanced(pf);

  /* the same, and then the reservation's reply is an error (a reply
   * nimbusd cannot read, a timeout): the payment is paid all the same,
   * and begin says so rather than an error */
  nimbus_id_t j2 = new_job(pf, pf->acme);
  fake_set_status(PAY_TX_OPEN);
  fake.during_reserve = early_webhook;
  fake.reserve_r = PAY_UNAVAILABLE;
  assert_int_equal(begin(pf, pf->acme, j2, &p), PAYFLOW_OK);
  assert_int_equal(early_r, PAYFLOW_OK);
  assert_int_equal(p.state, NIMBUS_PAY_PAID);
  assert_int_equal(pay_row(pf, pf->acme, p.id).state, NIMBUS_PAY_PAID);
  assert_int_equal(job_state(pf, pf->acme, j2), NIMBUS_JOB_FETCHABLE);
  assert_int_equal(ledger_lines(pf, j2, ""), 2);
  fake.during_reserve = NULL;
  assert_ledger_balanced(pf);
}

static void expire_payment(pf_t *pf, nimbus_id_t id) {
  char sql[128];
  snprintf(sql, sizeof sql, "UPDATE payments SET expires_at = 1 WHERE id = %" PRId64, id);
  db_write(pf->fx, sql);
}

/* Timeout: unpaid -> canceled with reason timeout and the job held;
 * paid -> released; paid between the status and the cancel -> released;
 * a provider that does not answer -> tried again later. */
static void test_timeout(void **state) {
  pf_t *pf = *state;
  set_provider(pf, pf->acme, SECRET_A);
  nimbus_id_t j = new_job(pf, pf->acme);
  nimbus_payment_t p;
  assert_int_equal(begin(pf, pf->acme, j, &p), PAYFLOW_OK);
  expire_payment(pf, p.id);
  assert_int_equal(payments_converge(&pf->srv, pf->acme, p.id, &p), PAYFLOW_OK);
  assert_int_equal(p.state, NIMBUS_PAY_CANCELED);
  assert_string_equal(p.reason, "timeout");
  assert_int_equal(fake.ncancel, 1);
  assert_int_equal(job_state(pf, pf->acme, j), NIMBUS_JOB_HELD);

  /* timed out, but paid */
  fake_set_status(PAY_TX_OPEN);
  assert_int_equal(begin(pf, pf->acme, j, &p), PAYFLOW_OK);
  expire_payment(pf, p.id);
  fake_set_status(PAY_TX_PAID);
  assert_int_equal(payments_converge(&pf->srv, pf->acme, p.id, &p), PAYFLOW_OK);
  assert_int_equal(p.state, NIMBUS_PAY_PAID);
  assert_int_equal(fake.ncancel, 1);
  assert_int_equal(job_state(pf, pf->acme, j), NIMBUS_JOB_FETCHABLE);

  /* paid just as nimbusd cancels: the cancel fails, the status says paid */
  nimbus_id_t j2 = new_job(pf, pf->acme);
  fake_set_status(PAY_TX_OPEN);
  assert_int_equal(begin(pf, pf->acme, j2, &p), PAYFLOW_OK);
  expire_payment(pf, p.id);
  fake.cancel_r = PAY_DECLINED;
  fake.status_after_cancel = PAY_TX_PAID;
  assert_int_equal(payments_converge(&pf->srv, pf->acme, p.id, &p), PAYFLOW_OK);
  assert_int_equal(p.state, NIMBUS_PAY_PAID);
  assert_int_equal(job_state(pf, pf->acme, j2), NIMBUS_JOB_FETCHABLE);
  assert_int_equal(ledger_lines(pf, j2, "payment"), 2);

  /* the provider is down at the timeout: still pending, done next time */
  nimbus_id_t j3 = new_job(pf, pf->acme);
  fake.cancel_r = PAY_OK;
  fake.status_after_cancel = 0;
  fake_set_status(PAY_TX_OPEN);
  assert_int_equal(begin(pf, pf->acme, j3, &p), PAYFLOW_OK);
  expire_payment(pf, p.id);
  fake.status_r = PAY_UNAVAILABLE;
  assert_int_equal(payments_converge(&pf->srv, pf->acme, p.id, &p), PAYFLOW_PROVIDER);
  assert_int_equal(p.state, NIMBUS_PAY_PENDING);
  assert_int_equal(job_state(pf, pf->acme, j3), NIMBUS_JOB_AWAITING_PAYMENT);
  fake.status_r = PAY_OK;
  assert_int_equal(payments_converge(&pf->srv, pf->acme, p.id, &p), PAYFLOW_OK);
  assert_int_equal(p.state, NIMBUS_PAY_CANCELED);
  assert_string_equal(p.reason, "timeout");
  assert_int_equal(job_state(pf, pf->acme, j3), NIMBUS_JOB_HELD);
  assert_int_equal(ledger_lines(pf, j3, ""), 0);
  assert_ledger_balanced(pf);
}

/* A crash between writing the row and the provider's answer: the row
 * stays reserving; after 60 s it is canceled (reservation-lost) and the
 * job held again, without asking the provider about a session it never
 * named. */
static void test_reserving_lost(void **state) {
  pf_t *pf = *state;
  set_provider(pf, pf->acme, SECRET_A);
  nimbus_id_t j = new_job(pf, pf->acme);
  nimbus_job_t job;
  assert_int_equal(store_job_get(pf->fx->st, pf->acme, j, &job), STORE_OK);
  store_job_change_t change;
  assert_true(job_change(&job, JOB_EVENT_PAY_START, 0, "alice", &change));
  nimbus_payment_t p = {.tenant_id = pf->acme,
                        .job_id = j,
                        .attempt = 1,
                        .state = NIMBUS_PAY_RESERVING,
                        .amount = TOTAL,
                        .print_fee = PRINT_FEE,
                        .service_fee = SERVICE_FEE,
                        .expires_at = (int64_t)time(NULL) + 180};
  snprintf(p.provider, sizeof p.provider, "stripe");
  snprintf(p.currency, sizeof p.currency, "EUR");
  snprintf(p.order_id, sizeof p.order_id, "CRASH-1");
  assert_int_equal(store_payment_insert(pf->fx->st, &p, &change, NULL), STORE_OK);
  assert_int_equal(job_state(pf, pf->acme, j), NIMBUS_JOB_AWAITING_PAYMENT);
  nimbus_payment_t got;
  assert_int_equal(payments_converge(&pf->srv, pf->acme, p.id, &got), PAYFLOW_OK);
  assert_int_equal(got.state, NIMBUS_PAY_RESERVING);
  char sql[128];
  snprintf(sql, sizeof sql, "UPDATE payments SET created_at = created_at - 61 WHERE id = %" PRId64,
           p.id);
  db_write(pf->fx, sql);
  assert_int_equal(payments_converge(&pf->srv, pf->acme, p.id, &got), PAYFLOW_OK);
  assert_int_equal(got.state, NIMBUS_PAY_CANCELED);
  assert_string_equal(got.reason, "reservation-lost");
  assert_int_equal(job_state(pf, pf->acme, j), NIMBUS_JOB_HELD);
  assert_int_equal(fake.nstatus + fake.ncancel, 0);
  /* and the job can be paid for again */
  assert_int_equal(begin(pf, pf->acme, j, &got), PAYFLOW_OK);
  assert_int_equal(got.attempt, 2);
}

/* With the reconciler running: a job canceled while its payment waits
 * gets its payment canceled (payments_job_changed wakes it). */
static void test_job_canceled_while_pending(void **state) {
  pf_t *pf = *state;
  set_provider(pf, pf->acme, SECRET_A);
  nimbus_id_t j = new_job(pf, pf->acme);
  nimbus_payment_t p;
  assert_int_equal(begin(pf, pf->acme, j, &p), PAYFLOW_OK);
  nimbus_job_t job;
  assert_int_equal(job_apply(pf->fx->st, pf->acme, j, JOB_EVENT_CANCEL, "alice", &job), JOB_OK);
  assert_int_equal(job.state, NIMBUS_JOB_CANCELED);
  payments_job_changed(&pf->srv, &job, NIMBUS_JOB_AWAITING_PAYMENT);
  for (int i = 0; i < 100 && pay_row(pf, pf->acme, p.id).state == NIMBUS_PAY_PENDING; i++)
    usleep(50 * 1000);
  p = pay_row(pf, pf->acme, p.id);
  assert_int_equal(p.state, NIMBUS_PAY_CANCELED);
  pthread_mutex_lock(&fake.mu);
  int ncancel = fake.ncancel;
  pthread_mutex_unlock(&fake.mu);
  assert_int_equal(ncancel, 1);
  assert_int_equal(job_state(pf, pf->acme, j), NIMBUS_JOB_CANCELED);
  assert_int_equal(ledger_lines(pf, j, ""), 0);
}

/* Paid, then the print fails: refund-pending, the refund (provider down
 * the first time: stays refund-pending) made once with the order's key,
 * posted once; a paid job canceled by its owner is refunded too. */
static void test_refund(void **state) {
  pf_t *pf = *state;
  set_provider(pf, pf->acme, SECRET_A);
  nimbus_id_t j = new_job(pf, pf->acme);
  nimbus_payment_t p;
  assert_int_equal(begin(pf, pf->acme, j, &p), PAYFLOW_OK);
  fake_set_status(PAY_TX_PAID);
  assert_int_equal(payments_converge(&pf->srv, pf->acme, p.id, &p), PAYFLOW_OK);
  assert_int_equal(p.state, NIMBUS_PAY_PAID);
  job_prints_and_ends(pf, pf->acme, j, NIMBUS_JOB_ABORTED);
  fake.refund_r = PAY_UNAVAILABLE;
  assert_int_equal(payments_converge(&pf->srv, pf->acme, p.id, &p), PAYFLOW_PROVIDER);
  assert_int_equal(p.state, NIMBUS_PAY_REFUND_PENDING);
  assert_string_equal(p.reason, "job-aborted");
  assert_int_equal(ledger_lines(pf, j, "refund"), 0);
  fake.refund_r = PAY_OK;
  assert_int_equal(payments_converge(&pf->srv, pf->acme, p.id, &p), PAYFLOW_OK);
  assert_int_equal(p.state, NIMBUS_PAY_REFUNDED);
  assert_string_equal(p.refund_tx, "re_cs_fake_1");
  assert_int_equal(fake.nrefund, 2);
  assert_int_equal(fake.refund_amount, TOTAL);
  char key[96];
  snprintf(key, sizeof key, "refund-%s", p.order_id);
  assert_string_equal(fake.refund_key, key);
  assert_int_equal(ledger_lines(pf, j, "refund"), 2);
  assert_int_equal(ledger_amount(pf, j, "refund", "provider:stripe:clearing"), -TOTAL);
  assert_int_equal(ledger_lines(pf, j, "charge"), 0);
  assert_int_equal(payments_converge(&pf->srv, pf->acme, p.id, &p), PAYFLOW_OK);
  assert_int_equal(fake.nrefund, 2);
  assert_int_equal(ledger_lines(pf, j, ""), 4);
  assert_ledger_balanced(pf);

  /* paid, then canceled by its owner before it printed */
  nimbus_id_t j2 = new_job(pf, pf->acme);
  fake_set_status(PAY_TX_OPEN);
  assert_int_equal(begin(pf, pf->acme, j2, &p), PAYFLOW_OK);
  fake_set_status(PAY_TX_PAID);
  assert_int_equal(payments_converge(&pf->srv, pf->acme, p.id, &p), PAYFLOW_OK);
  nimbus_job_t job;
  assert_int_equal(job_apply(pf->fx->st, pf->acme, j2, JOB_EVENT_CANCEL, "alice", &job), JOB_OK);
  assert_int_equal(payments_converge(&pf->srv, pf->acme, p.id, &p), PAYFLOW_OK);
  assert_int_equal(p.state, NIMBUS_PAY_REFUNDED);
  assert_string_equal(p.reason, "job-canceled");
  assert_int_equal(ledger_lines(pf, j2, "refund"), 2);
  assert_ledger_balanced(pf);
}

/* The credentials are sealed: the stored row holds no secret, another
 * tenant's row with the same sealed bytes does not open, the description
 * masks them. */
static void test_credentials_sealed(void **state) {
  pf_t *pf = *state;
  set_provider(pf, pf->acme, SECRET_A);
  nimbus_payment_provider_t row;
  assert_int_equal(store_payment_provider_get(pf->fx->st, pf->acme, &row), STORE_OK);
  assert_true(row.sealed_len > 0);
  assert_null(memmem(row.sealed, (size_t)row.sealed_len, SK, strlen(SK)));
  assert_null(memmem(row.sealed, (size_t)row.sealed_len, SECRET_A, strlen(SECRET_A)));
  assert_null(memmem(row.sealed, (size_t)row.sealed_len, "secret_key", 10));
  json_t *d = payments_describe_provider(&pf->srv, pf->acme);
  assert_non_null(d);
  char *text = json_dumps(d, JSON_COMPACT);
  assert_non_null(text);
  assert_null(strstr(text, SK));
  assert_null(strstr(text, SECRET_A));
  assert_non_null(strstr(text, "stripe"));
  free(text);
  json_decref(d);

  /* acme's sealed bytes copied into beta's row: bound to acme, no use */
  row.tenant_id = pf->beta;
  assert_int_equal(store_payment_provider_put(pf->fx->st, &row, NULL), STORE_OK);
  assert_null(payments_describe_provider(&pf->srv, pf->beta));
  nimbus_id_t j = new_job(pf, pf->beta);
  nimbus_payment_t p;
  assert_int_equal(begin(pf, pf->beta, j, &p), PAYFLOW_NO_PROVIDER);
  assert_int_equal(fake.nreserve, 0);
  assert_int_equal(job_state(pf, pf->beta, j), NIMBUS_JOB_HELD);
}

int main(void) {
  log_set_level(LOG_ERROR);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_pay_and_settle, pf_setup, pf_teardown),
      cmocka_unit_test_setup_teardown(test_reserve_refused_and_declined, pf_setup, pf_teardown),
      cmocka_unit_test_setup_teardown(test_cancel, pf_setup, pf_teardown),
      cmocka_unit_test_setup_teardown(test_linepay_callback_twice, pf_setup, pf_teardown),
      cmocka_unit_test_setup_teardown(test_amount_mismatch, pf_setup, pf_teardown),
      cmocka_unit_test_setup_teardown(test_other_orders_transaction, pf_setup, pf_teardown),
      cmocka_unit_test_setup_teardown(test_stripe_webhook_tenants, pf_setup, pf_teardown),
      cmocka_unit_test_setup_teardown(test_early_webhook, pf_setup, pf_teardown),
      cmocka_unit_test_setup_teardown(test_timeout, pf_setup, pf_teardown),
      cmocka_unit_test_setup_teardown(test_reserving_lost, pf_setup, pf_teardown),
      cmocka_unit_test_setup_teardown(test_job_canceled_while_pending, pf_setup_reconciler,
                                      pf_teardown),
      cmocka_unit_test_setup_teardown(test_refund, pf_setup, pf_teardown),
      cmocka_unit_test_setup_teardown(test_credentials_sealed, pf_setup, pf_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
