/*
 * charge.c: the charge of a job released under a purpose (charge.h):
 * the hold at release, the charge on completion (shared account or the
 * user's saved payment method), the release of the hold when the job
 * ends otherwise, retries of declined private charges.
 */
#include "charge.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "job-fee.h"
#include "job.h"
#include "ledger.h"
#include "log.h"
#include "money.h"
#include "payment-flow.h"

#define CHARGE_BATCH 64
#define CHARGE_TRIES_MAX 6        /* private charges tried at most, then left failed */
#define CHARGE_CHARGING_STALE 120 /* a charge in flight this long was interrupted */
/* retry n waits --charge-retry (60 s) times this */
static const int charge_retry_factor[] = {1, 5, 30, 120, 720};

static const char *const charge_state_names[] = {[NIMBUS_CHARGE_HELD] = "held",
                                                 [NIMBUS_CHARGE_CHARGED] = "charged",
                                                 [NIMBUS_CHARGE_RELEASED] = "released",
                                                 [NIMBUS_CHARGE_CHARGE_FAILED] = "charge-failed",
                                                 [NIMBUS_CHARGE_CHARGING] = "charging"};

const char *charge_state_name(nimbus_charge_state_t s) {
  return s >= NIMBUS_CHARGE_HELD && s <= NIMBUS_CHARGE_CHARGING ? charge_state_names[s] : "unknown";
}

static int64_t charge_now(void) {
  return (int64_t)time(NULL);
}

/* ---- at release ---- */

charge_result_t charge_release(nimbus_server_t *srv, const nimbus_job_t *job,
                               const purpose_choice_t *choice, const nimbus_device_t *d,
                               nimbus_id_t queue_move, nimbus_id_t target,
                               const job_settings_change_t *settings, const char *actor,
                               nimbus_job_t *out, purpose_result_t *why, char *msg, size_t msglen) {
  *why = PURPOSE_OK;
  msg[0] = '\0';
  nimbus_job_quote_t q;
  char err[160];
  job_fee_result_t fr = job_fee_compute(srv->store, job, d, &q, NULL, err, sizeof err);
  if (fr == JOB_FEE_UNPRICEABLE) {
    snprintf(msg, msglen, "%s", err);
    return CHARGE_UNPRICEABLE;
  }
  if (fr == JOB_FEE_ERROR) return CHARGE_ERROR;
  nimbus_job_charge_t *c = calloc(1, sizeof *c);
  if (!c) return CHARGE_ERROR;
  c->job_id = job->id;
  c->tenant_id = job->tenant_id;
  c->user_id = job->owner_id;
  c->purpose_id = choice->purpose.id;
  snprintf(c->purpose_name, sizeof c->purpose_name, "%s", choice->purpose.name);
  c->account_id = choice->account.id;
  snprintf(c->account_code, sizeof c->account_code, "%s", choice->account.code);
  c->device_id = d ? d->id : target;
  c->state = NIMBUS_CHARGE_HELD;
  snprintf(c->currency, sizeof c->currency, "%s", q.currency);
  /* a private purpose is charged at the end, to the user's own method:
   * nothing to hold on a shared account */
  c->hold = fr == JOB_FEE_PRICED && c->account_id ? q.total : 0;
  c->print_fee = q.print_fee;
  c->service_fee = q.service_fee;
  c->total = q.total;
  char detail[160];
  snprintf(detail, sizeof detail, "job=%s purpose=%s account=%s hold=%" PRId64 " %s",
           job->reference, c->purpose_name, c->account_code[0] ? c->account_code : "private",
           c->hold, c->currency);
  store_audit_t audit = {
      .tenant_id = job->tenant_id, .actor = actor, .action = "job-charge-held", .detail = detail};
  job_charge_hold_t hold = {.charge = c, .audit = &audit};
  job_result_t r = job_release_set(srv->store, job->tenant_id, job->id, queue_move, target,
                                   settings, actor, &hold, out);
  charge_result_t res = CHARGE_ERROR;
  switch (r) {
    case JOB_OK:
      log_event(LOG_INFO, NULL, "job released under purpose", "job", LOG_INT(job->id), "purpose",
                c->purpose_name, "account", c->account_code[0] ? c->account_code : "private",
                "hold", LOG_INT(c->hold), "currency", c->currency, (char *)NULL);
      res = CHARGE_OK;
      break;
    case JOB_NOT_FOUND:
      res = CHARGE_NOT_FOUND;
      break;
    case JOB_NOT_POSSIBLE:
      if (hold.why == STORE_CHARGE_ACCOUNT_CLOSED) {
        *why = PURPOSE_ACCOUNT_CLOSED;
        snprintf(msg, msglen, "account %s is closed", c->account_code);
        res = CHARGE_REFUSED;
      } else if (hold.why == STORE_CHARGE_LIMIT) {
        *why = PURPOSE_LIMIT;
        char amount[48];
        if (!money_format_with_code(c->hold, c->currency, amount, sizeof amount))
          snprintf(amount, sizeof amount, "the job's fee");
        snprintf(msg, msglen, "account %s has not enough left for this job (%s)", c->account_code,
                 amount);
        res = CHARGE_REFUSED;
      } else {
        res = CHARGE_NOT_HELD;
      }
      break;
    case JOB_ERROR:
      break;
  }
  free(c);
  return res;
}

/* ---- converging ---- */

/* Write c (read in state expected) with delta and posting; log a failure. */
static store_status_t charge_apply(nimbus_server_t *srv, nimbus_job_charge_t *c,
                                   nimbus_charge_state_t expected,
                                   const store_account_delta_t *delta,
                                   const store_ledger_posting_t *posting, const char *action,
                                   store_charge_refusal_t *why) {
  char detail[200];
  snprintf(detail, sizeof detail, "job_id=%" PRId64 " %s -> %s total=%" PRId64 " %s%s%s", c->job_id,
           charge_state_name(expected), charge_state_name(c->state), c->total, c->currency,
           c->reason[0] ? " reason=" : "", c->reason);
  store_audit_t audit = {
      .tenant_id = c->tenant_id, .actor = "nimbusd", .action = action, .detail = detail};
  *why = 0;
  store_status_t s = store_charge_update(srv->store, c, expected, delta, posting, &audit, why);
  if (s != STORE_OK && s != STORE_CONFLICT)
    log_event(LOG_ERROR, NULL, "charge update failed", "job_id", LOG_INT(c->job_id), (char *)NULL);
  return s;
}

/* The job ended without printing (or went back to held): release the hold. */
static void charge_release_hold(nimbus_server_t *srv, nimbus_job_charge_t c,
                                nimbus_job_state_t job_state) {
  store_account_delta_t delta = {.held = -c.hold};
  c.state = NIMBUS_CHARGE_RELEASED;
  snprintf(c.reason, sizeof c.reason, "job %s", job_state_name(job_state));
  store_charge_refusal_t why;
  charge_apply(srv, &c, NIMBUS_CHARGE_HELD, c.account_id ? &delta : NULL, NULL,
               "job-charge-released", &why);
}

/* Make total at most cap, the service fee taken first (the operator's
 * share of what the account agreed to), the rest the print fee. */
static void charge_cap(nimbus_job_charge_t *c, int64_t cap) {
  if (c->total <= cap) return;
  c->total = cap;
  if (c->service_fee > cap) c->service_fee = cap;
  c->print_fee = cap - c->service_fee;
  snprintf(c->reason, sizeof c->reason, "capped at the hold");
}

/* The fee of the job as printed into c (print_fee, service_fee, total,
 * impressions); false when it cannot be priced (logged). */
static bool charge_price(nimbus_server_t *srv, const nimbus_job_t *job, nimbus_job_charge_t *c) {
  nimbus_device_t *dev = calloc(1, sizeof *dev);
  if (!dev) return false;
  bool have_dev = job->device_id &&
                  store_device_get(srv->store, job->tenant_id, job->device_id, dev) == STORE_OK;
  nimbus_job_quote_t q;
  char err[160];
  job_fee_result_t r = job_fee_printed(srv->store, job, have_dev ? dev : NULL, &q, err, sizeof err);
  free(dev);
  if (r == JOB_FEE_ERROR || r == JOB_FEE_UNPRICEABLE) {
    log_event(LOG_WARN, NULL, "printed job cannot be priced: charged its estimate", "job_id",
              LOG_INT(job->id), "why", r == JOB_FEE_ERROR ? "store" : err, (char *)NULL);
    return r != JOB_FEE_ERROR; /* keep the release's estimate */
  }
  c->impressions = job->impressions_completed;
  if (r == JOB_FEE_FREE) {
    c->print_fee = c->service_fee = c->total = 0;
    return true;
  }
  snprintf(c->currency, sizeof c->currency, "%s", q.currency);
  c->print_fee = q.print_fee;
  c->service_fee = q.service_fee;
  c->total = q.total;
  return true;
}

/* A completed job on a shared account: charge it, the hold released. */
static void charge_settle_account(nimbus_server_t *srv, const nimbus_job_t *job,
                                  nimbus_job_charge_t c) {
  nimbus_billing_account_t a;
  if (store_account_get(srv->store, c.tenant_id, c.account_id, &a) != STORE_OK) return;
  if (!charge_price(srv, job, &c)) return;
  if (a.mode == NIMBUS_ACCOUNT_PREPAID) charge_cap(&c, c.hold);
  for (int attempt = 0; attempt < 2; attempt++) {
    store_account_delta_t delta = {.held = -c.hold};
    if (a.mode == NIMBUS_ACCOUNT_PREPAID)
      delta.balance = -c.total;
    else
      delta.charged = c.total;
    c.state = NIMBUS_CHARGE_CHARGED;
    c.charged_at = charge_now();
    char debit[64];
    ledger_destination(&c, a.mode, NULL, debit, sizeof debit);
    ledger_posting_buf_t pb;
    ledger_job_charge(&c, debit, &pb);
    store_charge_refusal_t why;
    store_status_t s = charge_apply(srv, &c, NIMBUS_CHARGE_HELD, &delta,
                                    c.total > 0 ? &pb.posting : NULL, "job-charged", &why);
    if (s == STORE_OK) {
      log_event(LOG_INFO, NULL, "job charged", "job_id", LOG_INT(c.job_id), "account",
                c.account_code, "total", LOG_INT(c.total), "currency", c.currency, (char *)NULL);
      return;
    }
    /* an invoiced account whose limit the printed job passes: it printed,
     * so it is charged what the account agreed to at release */
    if (s != STORE_CONFLICT || why != STORE_CHARGE_LIMIT) return;
    charge_cap(&c, c.hold);
  }
}

/* Seconds before private charge attempt n+1 (n tried so far); 0: give up. */
static int64_t charge_retry_in(const nimbus_server_t *srv, int tried) {
  if (tried >= CHARGE_TRIES_MAX || tried < 1) return 0;
  int n = (int)(sizeof charge_retry_factor / sizeof charge_retry_factor[0]);
  int64_t base = srv->cfg.charge_retry > 0 ? srv->cfg.charge_retry : 60;
  return base * charge_retry_factor[tried - 1 < n ? tried - 1 : n - 1];
}

/* A private purpose: charge the user's saved method at the provider. */
static void charge_private(nimbus_server_t *srv, const nimbus_job_t *job, nimbus_job_charge_t c) {
  nimbus_charge_state_t from = c.state;
  if (from == NIMBUS_CHARGE_HELD && !charge_price(srv, job, &c)) return;
  store_charge_refusal_t why;
  if (c.total <= 0) {
    c.state = NIMBUS_CHARGE_CHARGED;
    c.charged_at = charge_now();
    charge_apply(srv, &c, from, NULL, NULL, "job-charged", &why);
    return;
  }
  /* a new attempt gets a new order id; an interrupted one (charging)
   * keeps its own, so the provider answers its first outcome again */
  if (from != NIMBUS_CHARGE_CHARGING) {
    c.attempts++;
    snprintf(c.order_id, sizeof c.order_id, "%s-c%d", job->reference, c.attempts);
    c.state = NIMBUS_CHARGE_CHARGING;
    c.reason[0] = '\0';
    if (charge_apply(srv, &c, from, NULL, NULL, "job-charge-trying", &why) != STORE_OK) return;
    from = NIMBUS_CHARGE_CHARGING;
  }
  char provider[16] = "", msg[PAY_MSG_MAX] = "";
  pay_charge_res_t res = {0};
  pay_result_t pr = payments_charge_saved(srv, c.tenant_id, c.user_id, c.order_id, c.total,
                                          c.currency, job->name, provider, &res, msg, sizeof msg);
  if (pr == PAY_OK) {
    c.state = NIMBUS_CHARGE_CHARGED;
    c.charged_at = charge_now();
    snprintf(c.provider_tx, sizeof c.provider_tx, "%s", res.tx);
    char debit[64];
    ledger_destination(&c, 0, provider, debit, sizeof debit);
    ledger_posting_buf_t pb;
    ledger_job_charge(&c, debit, &pb);
    if (charge_apply(srv, &c, from, NULL, &pb.posting, "job-charged", &why) == STORE_OK)
      log_event(LOG_INFO, NULL, "job charged to the owner's payment method", "job_id",
                LOG_INT(c.job_id), "total", LOG_INT(c.total), "currency", c.currency, (char *)NULL);
    return;
  }
  c.state = NIMBUS_CHARGE_CHARGE_FAILED;
  snprintf(
      c.reason, sizeof c.reason, "%.63s",
      pr == PAY_DECLINED ? (msg[0] ? msg : "declined") : (msg[0] ? msg : "provider unavailable"));
  int64_t wait = charge_retry_in(srv, c.attempts);
  c.next_try_at = wait ? charge_now() + wait : 0;
  log_event(LOG_WARN, NULL, "private charge failed", "job_id", LOG_INT(c.job_id), "attempt",
            LOG_INT(c.attempts), "why", c.reason, "retry_in", LOG_INT(wait), (char *)NULL);
  charge_apply(srv, &c, from, NULL, NULL, "job-charge-failed", &why);
}

/* Converge one due charge. */
static void charge_converge(nimbus_server_t *srv, const nimbus_job_charge_t *c,
                            nimbus_job_state_t job_state) {
  nimbus_job_t *job = calloc(1, sizeof *job);
  if (!job) return;
  if (store_job_get(srv->store, c->tenant_id, c->job_id, job) != STORE_OK) goto out;
  sodium_memzero(job->pin_hash, sizeof job->pin_hash);
  if (c->state == NIMBUS_CHARGE_HELD && job_state != NIMBUS_JOB_COMPLETED) {
    charge_release_hold(srv, *c, job_state);
  } else if (c->account_id) {
    if (c->state == NIMBUS_CHARGE_HELD) charge_settle_account(srv, job, *c);
  } else if (c->state != NIMBUS_CHARGE_CHARGE_FAILED || c->next_try_at > 0) {
    charge_private(srv, job, *c); /* (a failed one with no next try was given up) */
  }
out:
  free(job);
}

typedef struct {
  nimbus_job_charge_t c[CHARGE_BATCH];
  nimbus_job_state_t state[CHARGE_BATCH];
  int n;
} charge_batch_t;

static bool charge_collect(const nimbus_job_charge_t *c, nimbus_job_state_t job_state, void *ctx) {
  charge_batch_t *b = ctx;
  b->c[b->n] = *c;
  b->state[b->n] = job_state;
  return ++b->n < CHARGE_BATCH;
}

void charges_reconcile(nimbus_server_t *srv) {
  charge_batch_t *b = calloc(1, sizeof *b);
  if (!b) return;
  nimbus_id_t after = 0;
  int64_t now = charge_now();
  for (;;) {
    b->n = 0;
    if (store_charge_list_due(srv->store, now, now - CHARGE_CHARGING_STALE, after, CHARGE_BATCH,
                              charge_collect, b) != STORE_OK)
      break;
    for (int i = 0; i < b->n; i++) {
      after = b->c[i].job_id;
      charge_converge(srv, &b->c[i], b->state[i]);
    }
    if (b->n < CHARGE_BATCH) break;
  }
  free(b);
}

/* ---- for REST and the panel ---- */

json_t *charge_purpose_json(store_t *st, const nimbus_job_t *job) {
  /* a job is released under a purpose only when it names one (release.c
   * step 3a writes the panel's choice into job-account-id): no read for
   * the others, as most jobs of a list are */
  if (!job->account_id[0]) return json_null();
  nimbus_job_charge_t c;
  store_status_t s = store_charge_get(st, job->tenant_id, job->id, &c);
  if (s == STORE_OK) {
    char text[64];
    json_t *ch =
        json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:s*}", "state", charge_state_name(c.state),
                  "currency", c.currency, "hold", (json_int_t)c.hold, "print_fee",
                  (json_int_t)c.print_fee, "service_fee", (json_int_t)c.service_fee, "total",
                  (json_int_t)c.total, "reason", c.reason[0] ? c.reason : NULL);
    if (ch && money_format_with_code(c.total, c.currency, text, sizeof text))
      json_object_set_new(ch, "total_text", json_string(text));
    return json_pack("{s:s, s:s*, s:b, s:o*}", "name", c.purpose_name, "account",
                     c.account_id ? c.account_code : NULL, "private", c.account_id == 0, "charge",
                     ch);
  }
  nimbus_purpose_t p;
  if (job->owner_id &&
      store_purpose_get_by_name(st, job->tenant_id, job->owner_id, job->account_id, &p) == STORE_OK)
    return json_pack("{s:s, s:s*, s:b, s:n}", "name", p.name, "account",
                     p.account_id ? p.account_code : NULL, "private", p.account_id == 0, "charge");
  /* an account code named directly */
  return json_pack("{s:s, s:s, s:b, s:n}", "name", job->account_id, "account", job->account_id,
                   "private", false, "charge");
}
