/*
 * payment-flow.c: the payment of a job from reservation to settlement or
 * refund (payment-flow.h has the state diagram).  Every change of a
 * payment is one store_payment_update(): a compare-and-set on its state
 * with, in the same transaction, its job's transition (built by the job
 * state machine, job_change) and its ledger posting (ledger.h).  Provider
 * calls (provider.h) happen outside any transaction; what they answer is
 * then applied as such a compare-and-set, so two nodes, a callback racing
 * the reconciler, or a callback sent twice change a payment once.
 */
#include "payment-flow.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "charge.h"
#include "job-fee.h"
#include "job.h"
#include "ledger.h"
#include "log.h"
#include "metrics.h"
#include "money.h"

/* A reservation with no answer from the provider after this long was lost
 * (a crash, or a provider that never answered): nobody saw its URL. */
#define PAYFLOW_RESERVING_LOST 60
/* How often the reconciler looks at the payments in flight. */
#define PAYFLOW_TICK_MS 1000
#define PAYFLOW_LEASE "payments"
#define PAYFLOW_LEASE_TTL 15
#define PAYFLOW_BATCH 128
/* A payment whose provider call failed is tried again after 2, 4, 8...
 * seconds, at most every PAYFLOW_BACKOFF_MAX (a provider that is down is
 * not asked every second, and the log says so once per try). */
#define PAYFLOW_BACKOFF_MAX 300
#define PAYFLOW_BACKOFF_SLOTS 256

struct payments {
  nimbus_server_t *srv;
  unsigned char key[CRYPTO_SEAL_KEY_BYTES];
  char holder[96]; /* this node's name for the reconciler lease */
  pthread_t thread;
  bool running;
  pthread_mutex_t mu; /* stop, kick */
  pthread_cond_t cv;
  bool stop;
  bool kick;
  atomic_int port; /* the listening port, set once serving */
  /* the reconciler thread's own (no lock): payments waiting to be retried */
  struct {
    nimbus_id_t id;
    int tries;
    int64_t next;
  } backoff[PAYFLOW_BACKOFF_SLOTS];
};

static const char *const payflow_state_names[] = {[NIMBUS_PAY_RESERVING] = "reserving",
                                                  [NIMBUS_PAY_PENDING] = "pending",
                                                  [NIMBUS_PAY_PAID] = "paid",
                                                  [NIMBUS_PAY_CANCELED] = "canceled",
                                                  [NIMBUS_PAY_FAILED] = "failed",
                                                  [NIMBUS_PAY_SETTLED] = "settled",
                                                  [NIMBUS_PAY_REFUND_PENDING] = "refund-pending",
                                                  [NIMBUS_PAY_REFUNDED] = "refunded"};

const char *payments_state_name(nimbus_payment_state_t s) {
  if (s < NIMBUS_PAY_RESERVING || s > NIMBUS_PAY_REFUNDED) return "unknown";
  return payflow_state_names[s];
}

static int64_t payflow_now(void) {
  return (int64_t)time(NULL);
}

/* ---- credentials ---- */

static void payflow_ad(nimbus_id_t tenant_id, char *buf, size_t len) {
  snprintf(buf, len, "tenant:%" PRId64 ":payment-provider", tenant_id);
}

/* The tenant's provider and its credentials in clear (wipe *c after use). */
static payflow_result_t payflow_credentials(nimbus_server_t *srv, nimbus_id_t tenant_id,
                                            const pay_provider_t **prov, pay_credentials_t *c) {
  nimbus_payment_provider_t row;
  if (!srv->payments) return PAYFLOW_NO_PROVIDER; /* not started (tools, fuzzers) */
  store_status_t s = store_payment_provider_get(srv->store, tenant_id, &row);
  if (s == STORE_NOT_FOUND) return PAYFLOW_NO_PROVIDER;
  if (s != STORE_OK) return PAYFLOW_ERROR;
  *prov = pay_provider_find(row.provider);
  if (!*prov) return PAYFLOW_NO_PROVIDER;
  char ad[64], clear[NIMBUS_SEALED_MAX];
  size_t n = 0;
  payflow_ad(tenant_id, ad, sizeof ad);
  if (!crypto_unseal(srv->payments->key, ad, row.sealed, (size_t)row.sealed_len, clear,
                     sizeof clear - 1, &n)) {
    log_event(LOG_ERROR, NULL, "payment provider credentials do not open with this secrets key",
              "tenant_id", LOG_INT(tenant_id), (char *)NULL);
    return PAYFLOW_NO_PROVIDER;
  }
  clear[n] = '\0';
  json_t *j = json_loads(clear, 0, NULL);
  sodium_memzero(clear, sizeof clear);
  char err[128];
  bool ok = j && (*prov)->parse_credentials(j, c, err, sizeof err);
  json_decref(j); /* jansson keeps no copy we could wipe: the strings are short-lived */
  return ok ? PAYFLOW_OK : PAYFLOW_NO_PROVIDER;
}

payflow_result_t payments_set_provider(nimbus_server_t *srv, nimbus_id_t tenant_id,
                                       const char *provider, const json_t *credentials,
                                       const char *actor, char *msg, size_t msglen) {
  const pay_provider_t *prov = pay_provider_find(provider);
  if (!prov) {
    snprintf(msg, msglen, "unknown payment provider '%s' (linepay or stripe)", provider);
    return PAYFLOW_NO_PROVIDER;
  }
  if (!srv->payments) return PAYFLOW_ERROR; /* not started (tools, fuzzers) */
  pay_credentials_t c;
  memset(&c, 0, sizeof c);
  bool ok = prov->parse_credentials(credentials, &c, msg, msglen);
  sodium_memzero(&c, sizeof c);
  if (!ok) return PAYFLOW_CONFLICT;
  char *clear = json_dumps(credentials, JSON_COMPACT);
  if (!clear) return PAYFLOW_ERROR;
  nimbus_payment_provider_t row;
  memset(&row, 0, sizeof row);
  row.tenant_id = tenant_id;
  snprintf(row.provider, sizeof row.provider, "%s", prov->name);
  char ad[64];
  payflow_ad(tenant_id, ad, sizeof ad);
  size_t n = 0;
  size_t len = strlen(clear);
  ok = crypto_seal(srv->payments->key, ad, clear, len, row.sealed, sizeof row.sealed, &n);
  sodium_memzero(clear, len);
  free(clear);
  if (!ok) {
    snprintf(msg, msglen, "the credentials are too long");
    return PAYFLOW_CONFLICT;
  }
  row.sealed_len = (int)n;
  char detail[64];
  snprintf(detail, sizeof detail, "provider=%s", prov->name);
  store_audit_t audit = {
      .tenant_id = tenant_id, .actor = actor, .action = "payment-provider-set", .detail = detail};
  store_status_t s = store_payment_provider_put(srv->store, &row, &audit);
  sodium_memzero(&row, sizeof row);
  if (s == STORE_NOT_FOUND) return PAYFLOW_NOT_FOUND;
  return s == STORE_OK ? PAYFLOW_OK : PAYFLOW_ERROR;
}

json_t *payments_describe_provider(nimbus_server_t *srv, nimbus_id_t tenant_id) {
  const pay_provider_t *prov = NULL;
  pay_credentials_t c;
  memset(&c, 0, sizeof c);
  payflow_result_t r = payflow_credentials(srv, tenant_id, &prov, &c);
  json_t *out = NULL;
  if (r == PAYFLOW_OK) {
    out = prov->describe_credentials(&c);
    if (out) json_object_set_new(out, "provider", json_string(prov->name));
  }
  sodium_memzero(&c, sizeof c);
  return out;
}

/* ---- URLs given to providers and phones ---- */

static void payflow_base_url(nimbus_server_t *srv, char *buf, size_t len) {
  if (srv->cfg.public_url[0]) {
    snprintf(buf, len, "%s", srv->cfg.public_url);
    size_t n = strlen(buf);
    while (n > 0 && buf[n - 1] == '/') buf[--n] = '\0';
    return;
  }
  const char *host = srv->cfg.listen;
  bool v6 = strchr(host, ':') != NULL;
  int port = srv->payments ? atomic_load(&srv->payments->port) : 0;
  snprintf(buf, len, "%s://%s%s%s:%d", srv->tls ? "https" : "http", v6 ? "[" : "", host,
           v6 ? "]" : "", port ? port : srv->cfg.port);
}

/* ---- applying a change ---- */

/* The job after a transition the store applied: tell the observers. */
static void payflow_observe(nimbus_server_t *srv, nimbus_id_t tenant_id, nimbus_id_t job_id,
                            nimbus_job_state_t from) {
  nimbus_job_t after;
  if (store_job_get(srv->store, tenant_id, job_id, &after) == STORE_OK) job_observe(&after, from);
  sodium_memzero(after.pin_hash, sizeof after.pin_hash);
}

/*
 * Move p (as read, in state `expected`) to p->state with the job event ev
 * (-1: no job change; also none when the job is no longer where ev
 * applies) and the posting (may be NULL), audited as action.  STORE_OK,
 * STORE_CONFLICT (someone else changed it first), STORE_ERROR.
 */
static store_status_t payflow_apply(nimbus_server_t *srv, nimbus_payment_t *p,
                                    nimbus_payment_state_t expected, int ev, nimbus_id_t target,
                                    const store_ledger_posting_t *posting, const char *actor,
                                    const char *action) {
  nimbus_job_t job;
  store_job_change_t change, *cp = NULL;
  nimbus_job_state_t from = 0;
  if (ev >= 0 && store_job_get(srv->store, p->tenant_id, p->job_id, &job) == STORE_OK &&
      job_change(&job, (job_event_t)ev, 0, actor, &change)) {
    if (ev == JOB_EVENT_PAID) {
      /* the printer it was paid at, unless it was deleted meanwhile: then
       * any printer of the queue (never a payment that cannot be recorded) */
      nimbus_device_t d;
      if (target && store_device_get(srv->store, p->tenant_id, target, &d) == STORE_NOT_FOUND)
        target = 0;
      change.set |= STORE_JOB_SET_TARGET;
      change.target_device_id = target;
    }
    cp = &change;
    from = job.state;
  }
  char detail[256], amount[48];
  money_format_with_code(p->amount, p->currency, amount, sizeof amount);
  snprintf(detail, sizeof detail, "order=%s job_id=%" PRId64 " amount=%s state=%s%s%s", p->order_id,
           p->job_id, amount, payments_state_name(p->state), p->reason[0] ? " reason=" : "",
           p->reason);
  store_audit_t audit = {
      .tenant_id = p->tenant_id, .actor = actor, .action = action, .detail = detail};
  store_status_t s = store_payment_update(srv->store, p, expected, cp, posting, &audit);
  if (s == STORE_OK) {
    metrics_payment(srv->metrics, (int)p->state);
    log_event(LOG_INFO, NULL, "payment", "order", p->order_id, "state",
              payments_state_name(p->state), "from", payments_state_name(expected), "amount",
              amount, "job_id", LOG_INT(p->job_id), "reason", p->reason[0] ? p->reason : "-",
              (char *)NULL);
    if (cp) payflow_observe(srv, p->tenant_id, p->job_id, from);
  }
  sodium_memzero(job.pin_hash, sizeof job.pin_hash);
  return s;
}

/* End an open payment without money: state (CANCELED or FAILED) with
 * reason; the job goes back to held when it is still awaiting payment. */
static store_status_t payflow_end_unpaid(nimbus_server_t *srv, nimbus_payment_t *p,
                                         nimbus_payment_state_t state, const char *reason,
                                         const char *actor) {
  nimbus_payment_state_t expected = p->state;
  p->state = state;
  snprintf(p->reason, sizeof p->reason, "%s", reason);
  return payflow_apply(srv, p, expected, JOB_EVENT_PAY_RETURN, 0, NULL, actor,
                       state == NIMBUS_PAY_FAILED ? "payment-failed" : "payment-canceled");
}

static payflow_result_t payflow_paid_after_end(nimbus_server_t *srv, nimbus_payment_t *p,
                                               const char *actor);

/* The provider says p is paid (st): check the amount and currency we
 * reserved, then paid + job released to its printer + posting. */
static payflow_result_t payflow_mark_paid(nimbus_server_t *srv, nimbus_payment_t *p,
                                          const pay_status_t *st, const char *actor) {
  if ((st->amount >= 0 && st->amount != p->amount) ||
      (st->currency[0] && strcasecmp(st->currency, p->currency) != 0)) {
    char detail[200];
    snprintf(detail, sizeof detail,
             "order=%s provider says %" PRId64 " %s, reserved %" PRId64 " %s: not released",
             p->order_id, st->amount, st->currency, p->amount, p->currency);
    store_audit_append(srv->store, p->tenant_id, actor, "payment-amount-mismatch", detail);
    log_event(LOG_WARN, NULL, "payment amount does not match: job not released", "order",
              p->order_id, (char *)NULL);
    return PAYFLOW_FORGED;
  }
  nimbus_payment_state_t expected = p->state;
  p->state = NIMBUS_PAY_PAID;
  p->paid_at = payflow_now();
  p->reason[0] = '\0';
  ledger_posting_buf_t post;
  ledger_payment_received(p, &post);
  store_status_t s = payflow_apply(srv, p, expected, JOB_EVENT_PAID, p->device_id, &post.posting,
                                   actor, "payment-verified");
  if (s == STORE_CONFLICT) {
    /* someone else moved it first: paid by them (fine), or ended unpaid
     * while the money was being taken (then it is refunded) */
    nimbus_payment_t now;
    if (store_payment_get(srv->store, p->tenant_id, p->id, &now) == STORE_OK &&
        (now.state == NIMBUS_PAY_CANCELED || now.state == NIMBUS_PAY_FAILED)) {
      *p = now;
      return payflow_paid_after_end(srv, p, actor);
    }
    return PAYFLOW_CONFLICT;
  }
  return s == STORE_OK ? PAYFLOW_OK : PAYFLOW_ERROR;
}

/* ---- converging one payment with its provider ---- */

typedef enum {
  PAYFLOW_CANCEL_DONE,   /* the provider will take no money for it */
  PAYFLOW_CANCEL_PAID,   /* it was paid meanwhile: *st says so */
  PAYFLOW_CANCEL_UNKNOWN /* the provider could not say: try again later */
} payflow_cancel_t;

/*
 * Cancel p's transaction at the provider and make sure of the outcome: a
 * cancel the provider refused (the session was paid meanwhile, or the
 * provider is down) is followed by a status; only a transaction the
 * provider confirms is canceled, expired or failed counts as done.  A
 * payment is never marked canceled here while the user could still pay it.
 */
static payflow_cancel_t payflow_cancel_at_provider(const pay_provider_t *prov,
                                                   const pay_credentials_t *c,
                                                   const nimbus_payment_t *p, pay_status_t *st) {
  char msg[PAY_MSG_MAX];
  if (prov->cancel(c, p->provider_tx, msg, sizeof msg) == PAY_OK) return PAYFLOW_CANCEL_DONE;
  log_event(LOG_WARN, NULL, "payment provider did not cancel; asking its status", "order",
            p->order_id, "error", msg, (char *)NULL);
  memset(st, 0, sizeof *st);
  st->amount = -1;
  if (prov->status(c, p->provider_tx, p->order_id, st, msg, sizeof msg) != PAY_OK)
    return PAYFLOW_CANCEL_UNKNOWN;
  if (st->state == PAY_TX_PAID) return PAYFLOW_CANCEL_PAID;
  if (st->state == PAY_TX_CANCELED || st->state == PAY_TX_FAILED) return PAYFLOW_CANCEL_DONE;
  return PAYFLOW_CANCEL_UNKNOWN;
}

/*
 * p ended unpaid here (canceled, failed) but the provider says it is paid
 * (a race with a cancel, or a cancel that did not happen there): the money
 * came in for a job that will not print on it, so it is recorded and
 * refunded: canceled/failed -> refund-pending with the "payment" posting;
 * the reconciler makes the refund.
 */
static payflow_result_t payflow_paid_after_end(nimbus_server_t *srv, nimbus_payment_t *p,
                                               const char *actor) {
  nimbus_payment_state_t expected = p->state;
  p->state = NIMBUS_PAY_REFUND_PENDING;
  p->paid_at = payflow_now();
  snprintf(p->reason, sizeof p->reason, "paid-after-%s",
           expected == NIMBUS_PAY_FAILED ? "failure" : "cancel");
  ledger_posting_buf_t post;
  ledger_payment_received(p, &post);
  store_status_t s =
      payflow_apply(srv, p, expected, -1, 0, &post.posting, actor, "payment-paid-after-end");
  if (s == STORE_OK)
    log_event(LOG_WARN, NULL, "payment taken after it ended here: refunding it", "order",
              p->order_id, (char *)NULL);
  return s == STORE_OK ? PAYFLOW_OK : s == STORE_CONFLICT ? PAYFLOW_CONFLICT : PAYFLOW_ERROR;
}

/* A callback for p, which ended unpaid here: is it paid there after all? */
static payflow_result_t payflow_converge_ended(nimbus_server_t *srv, nimbus_payment_t *p,
                                               const pay_provider_t *prov,
                                               const pay_credentials_t *c, const char *actor) {
  if (!p->provider_tx[0]) return PAYFLOW_OK;
  char msg[PAY_MSG_MAX];
  pay_status_t st;
  memset(&st, 0, sizeof st);
  st.amount = -1;
  if (prov->status(c, p->provider_tx, p->order_id, &st, msg, sizeof msg) != PAY_OK)
    return PAYFLOW_PROVIDER;
  if (st.state != PAY_TX_PAID) return PAYFLOW_OK; /* nothing taken (LINE Pay: never confirmed) */
  if (st.order_id[0] && strcmp(st.order_id, p->order_id) != 0) return PAYFLOW_FORGED;
  return payflow_paid_after_end(srv, p, actor);
}

/* p is RESERVING, PENDING: what does the provider say? */
static payflow_result_t payflow_converge_open(nimbus_server_t *srv, nimbus_payment_t *p,
                                              const pay_provider_t *prov,
                                              const pay_credentials_t *c, const char *actor) {
  int64_t now = payflow_now();
  if (!p->provider_tx[0]) {
    /* no answer from the provider yet: wait, or give up a lost one */
    if (now - p->created_at < PAYFLOW_RESERVING_LOST) return PAYFLOW_OK;
    payflow_end_unpaid(srv, p, NIMBUS_PAY_CANCELED, "reservation-lost", actor);
    return PAYFLOW_OK;
  }
  char msg[PAY_MSG_MAX];
  pay_status_t st;
  memset(&st, 0, sizeof st);
  st.amount = -1;
  pay_result_t r = prov->status(c, p->provider_tx, p->order_id, &st, msg, sizeof msg);
  if (r == PAY_OK && st.order_id[0] && strcmp(st.order_id, p->order_id) != 0) {
    char detail[200];
    snprintf(detail, sizeof detail, "order=%s transaction belongs to order %s", p->order_id,
             st.order_id);
    store_audit_append(srv->store, p->tenant_id, actor, "payment-callback-refused", detail);
    return PAYFLOW_FORGED;
  }
  if (r == PAY_OK && st.state == PAY_TX_AUTHORIZED) {
    /* LINE Pay: the user approved; taking the money is ours to do */
    r = prov->confirm(c, p->provider_tx, p->amount, p->currency, &st, msg, sizeof msg);
    if (r == PAY_DECLINED) {
      payflow_end_unpaid(srv, p, NIMBUS_PAY_FAILED, "confirm-refused", actor);
      return PAYFLOW_PROVIDER;
    }
  }
  if (r != PAY_OK) {
    log_event(LOG_WARN, NULL, "payment provider did not answer", "order", p->order_id, "provider",
              prov->name, "error", msg, (char *)NULL);
    return PAYFLOW_PROVIDER;
  }
  switch (st.state) {
    case PAY_TX_PAID:
      return payflow_mark_paid(srv, p, &st, actor);
    case PAY_TX_FAILED:
      payflow_end_unpaid(srv, p, NIMBUS_PAY_FAILED, "declined", actor);
      return PAYFLOW_OK;
    case PAY_TX_CANCELED:
      payflow_end_unpaid(srv, p, NIMBUS_PAY_CANCELED, "canceled-at-provider", actor);
      return PAYFLOW_OK;
    default:
      break;
  }
  if (now < p->expires_at) return PAYFLOW_OK; /* still waiting for the user */
  /* timed out unpaid (or its job ended): cancel at the provider */
  switch (payflow_cancel_at_provider(prov, c, p, &st)) {
    case PAYFLOW_CANCEL_DONE:
      payflow_end_unpaid(srv, p, NIMBUS_PAY_CANCELED, p->reason[0] ? p->reason : "timeout", actor);
      return PAYFLOW_OK;
    case PAYFLOW_CANCEL_PAID: /* paid between the two calls: it is paid */
      return payflow_mark_paid(srv, p, &st, actor);
    case PAYFLOW_CANCEL_UNKNOWN:
      break;
  }
  return PAYFLOW_PROVIDER; /* not canceled there: never marked canceled here; next pass */
}

/* p is PAID or REFUND_PENDING: settle it when its job printed, refund it
 * when the job ended otherwise. */
static payflow_result_t payflow_converge_paid(nimbus_server_t *srv, nimbus_payment_t *p,
                                              const pay_provider_t *prov,
                                              const pay_credentials_t *c, const char *actor) {
  nimbus_job_t job;
  store_status_t s = store_job_get(srv->store, p->tenant_id, p->job_id, &job);
  if (s != STORE_OK && s != STORE_NOT_FOUND) return PAYFLOW_ERROR;
  nimbus_job_state_t js = s == STORE_OK ? job.state : NIMBUS_JOB_CANCELED;
  sodium_memzero(job.pin_hash, sizeof job.pin_hash);
  if (p->state == NIMBUS_PAY_PAID) {
    if (!job_state_is_terminal(js)) return PAYFLOW_OK;
    if (js == NIMBUS_JOB_COMPLETED) {
      ledger_posting_buf_t post;
      p->state = NIMBUS_PAY_SETTLED;
      ledger_charge(p, &post);
      s = payflow_apply(srv, p, NIMBUS_PAY_PAID, -1, 0, &post.posting, actor, "payment-settled");
      return s == STORE_OK ? PAYFLOW_OK : PAYFLOW_CONFLICT;
    }
    p->state = NIMBUS_PAY_REFUND_PENDING;
    snprintf(p->reason, sizeof p->reason, "job-%s", job_state_name(js));
    s = payflow_apply(srv, p, NIMBUS_PAY_PAID, -1, 0, NULL, actor, "payment-refund-due");
    if (s != STORE_OK) return PAYFLOW_CONFLICT;
  }
  /* REFUND_PENDING: refund all of it, once (the idempotency key is the
   * order's: a retry after a crash is the same refund) */
  char msg[PAY_MSG_MAX], key[80];
  pay_status_t st;
  memset(&st, 0, sizeof st);
  st.amount = -1;
  if (prov->status(c, p->provider_tx, p->order_id, &st, msg, sizeof msg) != PAY_OK) {
    log_event(LOG_WARN, NULL, "payment provider did not answer", "order", p->order_id, "provider",
              prov->name, "error", msg, (char *)NULL);
    return PAYFLOW_PROVIDER;
  }
  snprintf(key, sizeof key, "refund-%s", p->order_id);
  pay_refund_res_t rr;
  memset(&rr, 0, sizeof rr);
  pay_result_t r = prov->refund(c, p->provider_tx, st.capture_ref, p->amount, p->currency, key, &rr,
                                msg, sizeof msg);
  if (r != PAY_OK) {
    log_event(r == PAY_UNAVAILABLE ? LOG_WARN : LOG_ERROR, NULL, "refund not made", "order",
              p->order_id, "provider", prov->name, "error", msg, (char *)NULL);
    return PAYFLOW_PROVIDER;
  }
  snprintf(p->refund_tx, sizeof p->refund_tx, "%s", rr.refund_tx);
  p->state = NIMBUS_PAY_REFUNDED;
  ledger_posting_buf_t post;
  ledger_refund(p, &post);
  s = payflow_apply(srv, p, NIMBUS_PAY_REFUND_PENDING, -1, 0, &post.posting, actor,
                    "payment-refunded");
  return s == STORE_OK ? PAYFLOW_OK : PAYFLOW_CONFLICT;
}

/* Converge p as read (the callers read it just before). */
static payflow_result_t payflow_converge_read(nimbus_server_t *srv, nimbus_payment_t *p,
                                              const char *actor) {
  bool ended = p->state == NIMBUS_PAY_CANCELED || p->state == NIMBUS_PAY_FAILED;
  if (p->state != NIMBUS_PAY_RESERVING && p->state != NIMBUS_PAY_PENDING &&
      p->state != NIMBUS_PAY_PAID && p->state != NIMBUS_PAY_REFUND_PENDING && !ended)
    return PAYFLOW_OK; /* final */
  const pay_provider_t *prov = NULL;
  pay_credentials_t c;
  memset(&c, 0, sizeof c);
  payflow_result_t r = payflow_credentials(srv, p->tenant_id, &prov, &c);
  if (r == PAYFLOW_OK && strcmp(prov->name, p->provider) != 0) r = PAYFLOW_NO_PROVIDER;
  if (r == PAYFLOW_OK)
    r = ended ? payflow_converge_ended(srv, p, prov, &c, actor)
        : p->state == NIMBUS_PAY_RESERVING || p->state == NIMBUS_PAY_PENDING
            ? payflow_converge_open(srv, p, prov, &c, actor)
            : payflow_converge_paid(srv, p, prov, &c, actor);
  else if (r == PAYFLOW_NO_PROVIDER)
    log_event(LOG_ERROR, NULL, "payment in flight but its provider is no longer configured",
              "order", p->order_id, (char *)NULL);
  sodium_memzero(&c, sizeof c);
  return r;
}

payflow_result_t payments_converge(nimbus_server_t *srv, nimbus_id_t tenant_id,
                                   nimbus_id_t payment_id, nimbus_payment_t *out) {
  nimbus_payment_t p;
  store_status_t s = store_payment_get(srv->store, tenant_id, payment_id, &p);
  if (s == STORE_NOT_FOUND) return PAYFLOW_NOT_FOUND;
  if (s != STORE_OK) return PAYFLOW_ERROR;
  payflow_result_t r = payflow_converge_read(srv, &p, "payments");
  if (store_payment_get(srv->store, tenant_id, payment_id, &p) != STORE_OK) return PAYFLOW_ERROR;
  if (out) *out = p;
  return r == PAYFLOW_CONFLICT ? PAYFLOW_OK : r;
}

/* ---- starting and canceling ---- */

bool payments_required(nimbus_server_t *srv, const nimbus_job_t *job, const nimbus_device_t *d,
                       nimbus_job_quote_t *quote, payflow_result_t *res, char *msg, size_t msglen) {
  nimbus_pricing_t pricing;
  *res = PAYFLOW_OK;
  msg[0] = '\0';
  switch (job_fee_compute(srv->store, job, d, quote, &pricing, msg, msglen)) {
    case JOB_FEE_FREE:
      return false;
    case JOB_FEE_PRICED:
      return strcmp(pricing.payment, "at-printer") == 0;
    case JOB_FEE_UNPRICEABLE:
      /* only a job that must be paid cannot go on without a price */
      if (strcmp(pricing.payment, "at-printer") != 0) return false;
      *res = PAYFLOW_UNPRICEABLE;
      return true;
    case JOB_FEE_ERROR:
      break;
  }
  *res = PAYFLOW_ERROR;
  return true;
}

payflow_result_t payments_get_for_job(nimbus_server_t *srv, nimbus_id_t tenant_id,
                                      nimbus_id_t job_id, nimbus_payment_t *out) {
  store_status_t s = store_payment_get_latest_for_job(srv->store, tenant_id, job_id, out);
  return s == STORE_OK ? PAYFLOW_OK : s == STORE_NOT_FOUND ? PAYFLOW_NOT_FOUND : PAYFLOW_ERROR;
}

static bool payflow_is_open(const nimbus_payment_t *p) {
  return p->state == NIMBUS_PAY_RESERVING || p->state == NIMBUS_PAY_PENDING;
}

payflow_result_t payments_begin(nimbus_server_t *srv, const nimbus_job_t *job,
                                const nimbus_job_quote_t *quote, nimbus_id_t target_device,
                                nimbus_id_t queue_move, const char *actor, const char *request_id,
                                nimbus_payment_t *out, char *msg, size_t msglen) {
  return payments_begin_set(srv, job, quote, target_device, queue_move, NULL, actor, request_id,
                            out, msg, msglen);
}

payflow_result_t payments_begin_set(nimbus_server_t *srv, const nimbus_job_t *job,
                                    const nimbus_job_quote_t *quote, nimbus_id_t target_device,
                                    nimbus_id_t queue_move, const job_settings_change_t *settings,
                                    const char *actor, const char *request_id,
                                    nimbus_payment_t *out, char *msg, size_t msglen) {
  msg[0] = '\0';
  const pay_provider_t *prov = NULL;
  pay_credentials_t c;
  memset(&c, 0, sizeof c);
  payflow_result_t r = payflow_credentials(srv, job->tenant_id, &prov, &c);
  if (r != PAYFLOW_OK) {
    if (r == PAYFLOW_NO_PROVIDER)
      snprintf(msg, msglen, "this printer takes payment, but no payment provider is set up");
    return r;
  }
  nimbus_payment_t prev;
  int attempt = 1;
  store_status_t s = store_payment_get_latest_for_job(srv->store, job->tenant_id, job->id, &prev);
  if (s == STORE_OK && payflow_is_open(&prev)) {
    *out = prev; /* the same reservation, asked again */
    sodium_memzero(&c, sizeof c);
    return PAYFLOW_OK;
  }
  if (s == STORE_OK) attempt = prev.attempt + 1;

  nimbus_payment_t p;
  memset(&p, 0, sizeof p);
  p.tenant_id = job->tenant_id;
  p.job_id = job->id;
  p.device_id = target_device;
  p.attempt = attempt;
  snprintf(p.provider, sizeof p.provider, "%s", prov->name);
  p.state = NIMBUS_PAY_RESERVING;
  snprintf(p.currency, sizeof p.currency, "%s", quote->currency);
  p.amount = quote->total;
  p.print_fee = quote->print_fee;
  p.service_fee = quote->service_fee;
  if (job->reference[0])
    snprintf(p.order_id, sizeof p.order_id, "%s-%d", job->reference, attempt);
  else
    snprintf(p.order_id, sizeof p.order_id, "J%" PRId64 "-%d", job->id, attempt);
  p.expires_at = payflow_now() + srv->cfg.payment_timeout;

  /* 1. the row and held -> awaiting-payment, one transaction: nobody can
   * release the job another way while it is being paid for */
  store_job_change_t change;
  if (!job_change(job, JOB_EVENT_PAY_START, 0, actor, &change)) {
    sodium_memzero(&c, sizeof c);
    return PAYFLOW_CONFLICT;
  }
  if (queue_move) {
    change.set |= STORE_JOB_SET_QUEUE;
    change.queue_id = queue_move;
  }
  job_change_settings(&change, settings);
  char detail[160], amount[48];
  money_format_with_code(p.amount, p.currency, amount, sizeof amount);
  snprintf(detail, sizeof detail, "order=%s job_id=%" PRId64 " amount=%s provider=%s", p.order_id,
           job->id, amount, p.provider);
  store_audit_t audit = {
      .tenant_id = job->tenant_id, .actor = actor, .action = "payment-started", .detail = detail};
  s = store_payment_insert(srv->store, &p, &change, &audit);
  if (s == STORE_CONFLICT) {
    sodium_memzero(&c, sizeof c);
    /* a concurrent start won: give that one */
    if (store_payment_get_latest_for_job(srv->store, job->tenant_id, job->id, out) == STORE_OK &&
        payflow_is_open(out))
      return PAYFLOW_OK;
    return PAYFLOW_CONFLICT;
  }
  if (s != STORE_OK) {
    sodium_memzero(&c, sizeof c);
    return PAYFLOW_ERROR;
  }
  metrics_payment(srv->metrics, NIMBUS_PAY_RESERVING);
  payflow_observe(srv, job->tenant_id, job->id, job->state);

  /* 2. the reservation at the provider, outside any transaction */
  char base[NIMBUS_URL_MAX], confirm[NIMBUS_URL_MAX + 128], cancel[NIMBUS_URL_MAX + 128],
      item[NIMBUS_TEXT_MAX + 32];
  payflow_base_url(srv, base, sizeof base);
  if (!strcmp(prov->name, "linepay")) {
    snprintf(confirm, sizeof confirm, "%s/api/v1/payments/linepay-confirm", base);
  } else {
    snprintf(confirm, sizeof confirm, "%s/api/v1/payments/return?order=%s", base, p.order_id);
  }
  snprintf(cancel, sizeof cancel, "%s/api/v1/payments/return?order=%s&canceled=1", base,
           p.order_id);
  snprintf(item, sizeof item, "Print job %" PRId64 ": %.*s", job->number, 64, job->name);
  pay_reserve_req_t req = {.order_id = p.order_id,
                           .idempotency_key = p.order_id,
                           .amount = p.amount,
                           .currency = p.currency,
                           .item = item,
                           .confirm_url = confirm,
                           .cancel_url = cancel,
                           .expires_at = p.expires_at};
  pay_reserve_res_t res;
  memset(&res, 0, sizeof res);
  pay_result_t pr = prov->reserve(&c, &req, &res, msg, msglen);
  sodium_memzero(&c, sizeof c);
  if (pr != PAY_OK) {
    log_event(LOG_WARN, request_id, "payment reservation refused", "order", p.order_id, "provider",
              p.provider, "error", msg, (char *)NULL);
    nimbus_payment_state_t ended = pr == PAY_UNAVAILABLE ? NIMBUS_PAY_CANCELED : NIMBUS_PAY_FAILED;
    s = payflow_end_unpaid(
        srv, &p, ended, pr == PAY_UNAVAILABLE ? "provider-unavailable" : "provider-refused", actor);
    nimbus_payment_t now;
    if (s == STORE_CONFLICT && store_payment_get(srv->store, p.tenant_id, p.id, &now) == STORE_OK &&
        now.state != NIMBUS_PAY_RESERVING && now.state != NIMBUS_PAY_CANCELED &&
        now.state != NIMBUS_PAY_FAILED) {
      /* a verified callback came before the reply (whatever the reply
       * was): the payment has moved on, give it as it is */
      msg[0] = '\0';
      *out = now;
      return PAYFLOW_OK;
    }
    snprintf(msg, msglen, "%s",
             pr == PAY_UNAVAILABLE ? "the payment service did not answer; try again"
                                   : "the payment service refused the payment");
    *out = p;
    return PAYFLOW_PROVIDER;
  }
  /* 3. reserving -> pending with what the provider gave; a callback may
   * have come first (then the payment has moved on: give it as it is) */
  snprintf(p.provider_tx, sizeof p.provider_tx, "%s", res.tx);
  snprintf(p.payment_url, sizeof p.payment_url, "%s", res.payment_url);
  p.state = NIMBUS_PAY_PENDING;
  s = store_payment_update(srv->store, &p, NIMBUS_PAY_RESERVING, NULL, NULL, NULL);
  if (s == STORE_OK) metrics_payment(srv->metrics, NIMBUS_PAY_PENDING);
  if (s == STORE_CONFLICT) {
    nimbus_payment_t now;
    if (store_payment_get(srv->store, p.tenant_id, p.id, &now) != STORE_OK) return PAYFLOW_ERROR;
    if (!now.provider_tx[0]) {
      snprintf(now.provider_tx, sizeof now.provider_tx, "%s", res.tx);
      snprintf(now.payment_url, sizeof now.payment_url, "%s", res.payment_url);
    }
    *out = now;
    return PAYFLOW_OK;
  }
  if (s != STORE_OK) return PAYFLOW_ERROR;
  log_event(LOG_INFO, request_id, "payment reserved", "order", p.order_id, "provider", p.provider,
            "amount", amount, "job_id", LOG_INT(job->id), (char *)NULL);
  *out = p;
  return PAYFLOW_OK;
}

payflow_result_t payments_cancel(nimbus_server_t *srv, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                 const char *actor, nimbus_payment_t *out, char *msg,
                                 size_t msglen) {
  msg[0] = '\0';
  nimbus_payment_t p;
  store_status_t s = store_payment_get_latest_for_job(srv->store, tenant_id, job_id, &p);
  if (s == STORE_NOT_FOUND) return PAYFLOW_NOT_FOUND;
  if (s != STORE_OK) return PAYFLOW_ERROR;
  if (!payflow_is_open(&p)) {
    *out = p;
    snprintf(msg, msglen, "the payment is %s", payments_state_name(p.state));
    return PAYFLOW_CONFLICT;
  }
  const pay_provider_t *prov = NULL;
  pay_credentials_t c;
  memset(&c, 0, sizeof c);
  payflow_result_t r = payflow_credentials(srv, tenant_id, &prov, &c);
  if (r == PAYFLOW_OK && p.provider_tx[0]) {
    /* paid meanwhile? then it is paid, and prints */
    pay_status_t st;
    memset(&st, 0, sizeof st);
    st.amount = -1;
    char pmsg[PAY_MSG_MAX];
    if (prov->status(&c, p.provider_tx, p.order_id, &st, pmsg, sizeof pmsg) == PAY_OK &&
        (st.state == PAY_TX_PAID || st.state == PAY_TX_AUTHORIZED)) {
      r = payflow_converge_open(srv, &p, prov, &c, actor);
      sodium_memzero(&c, sizeof c);
      store_payment_get(srv->store, tenant_id, p.id, out);
      if (out->state == NIMBUS_PAY_PAID) return PAYFLOW_OK;
      return r == PAYFLOW_OK ? PAYFLOW_CONFLICT : r;
    }
    /* canceled there for sure, or not marked canceled here: a payment the
     * user can still make is never given up (it ends at the timeout) */
    payflow_cancel_t cr = payflow_cancel_at_provider(prov, &c, &p, &st);
    if (cr == PAYFLOW_CANCEL_PAID) {
      r = payflow_mark_paid(srv, &p, &st, actor);
      sodium_memzero(&c, sizeof c);
      store_payment_get(srv->store, tenant_id, p.id, out);
      return out->state == NIMBUS_PAY_PAID ? PAYFLOW_OK : r == PAYFLOW_OK ? PAYFLOW_CONFLICT : r;
    }
    if (cr == PAYFLOW_CANCEL_UNKNOWN) {
      sodium_memzero(&c, sizeof c);
      *out = p;
      snprintf(msg, msglen, "the payment service could not cancel it now; it ends at the timeout");
      return PAYFLOW_PROVIDER;
    }
  }
  sodium_memzero(&c, sizeof c);
  s = payflow_end_unpaid(srv, &p, NIMBUS_PAY_CANCELED, "canceled", actor);
  store_status_t now = store_payment_get(srv->store, tenant_id, p.id, out);
  if (s == STORE_CONFLICT) {
    /* it ended meanwhile: often through the provider's own notice of this
     * very cancellation (the webhook can outrun this call), or it was paid;
     * either way what the caller asked for holds: the job is held again, or
     * paid and printing.  Only a payment still open is a conflict. */
    return now == STORE_OK && !payflow_is_open(out) ? PAYFLOW_OK : PAYFLOW_CONFLICT;
  }
  return s == STORE_OK ? PAYFLOW_OK : PAYFLOW_ERROR;
}

/* ---- callbacks ---- */

/* Audit a callback that proves nothing (tenant 0 when unknown). */
static void payflow_forged(nimbus_server_t *srv, nimbus_id_t tenant_id, const char *peer,
                           const char *what, const char *order) {
  char detail[256];
  snprintf(detail, sizeof detail, "%s order=%.64s from=%s", what, order ? order : "-",
           peer ? peer : "-");
  store_audit_append(srv->store, tenant_id, "payment-callback", "payment-callback-refused", detail);
  metrics_payment_callback_refused(srv->metrics);
  log_event(LOG_WARN, NULL, "payment callback refused", "why", what, "from", peer ? peer : "-",
            (char *)NULL);
}

payflow_result_t payments_linepay_confirm(nimbus_server_t *srv, const char *transaction_id,
                                          const char *order_id, const char *peer,
                                          nimbus_payment_t *out) {
  pay_callback_t cb = {
      .query_transaction_id = transaction_id, .query_order_id = order_id, .now = payflow_now()};
  pay_callback_res_t res;
  char msg[PAY_MSG_MAX];
  if (pay_provider_linepay.verify_callback(NULL, &cb, &res, msg, sizeof msg) != PAY_OK) {
    payflow_forged(srv, 0, peer, "malformed confirm", NULL);
    return PAYFLOW_FORGED;
  }
  nimbus_payment_t p;
  if (store_payment_get_by_order(srv->store, res.order_id, &p) != STORE_OK) {
    payflow_forged(srv, 0, peer, "unknown order", res.order_id);
    return PAYFLOW_FORGED;
  }
  if (strcmp(p.provider, "linepay") != 0 ||
      (p.provider_tx[0] && strcmp(p.provider_tx, res.tx) != 0)) {
    payflow_forged(srv, p.tenant_id, peer, "transaction does not match the order", p.order_id);
    return PAYFLOW_FORGED;
  }
  if (!p.provider_tx[0]) {
    *out = p; /* the reservation's answer is not stored yet: come back */
    return PAYFLOW_CONFLICT;
  }
  payflow_result_t r = payflow_converge_read(srv, &p, "payment-callback");
  store_payment_get(srv->store, p.tenant_id, p.id, out);
  return r == PAYFLOW_CONFLICT ? PAYFLOW_OK : r;
}

payflow_result_t payments_stripe_webhook(nimbus_server_t *srv, const char *tenant_name,
                                         const char *body, size_t len, const char *signature,
                                         const char *peer, nimbus_payment_t *out) {
  memset(out, 0, sizeof *out);
  nimbus_tenant_t t;
  if (store_tenant_get_by_name(srv->store, tenant_name, &t) != STORE_OK) {
    payflow_forged(srv, 0, peer, "webhook for an unknown tenant", NULL);
    return PAYFLOW_FORGED;
  }
  const pay_provider_t *prov = NULL;
  pay_credentials_t c;
  memset(&c, 0, sizeof c);
  if (payflow_credentials(srv, t.id, &prov, &c) != PAYFLOW_OK || strcmp(prov->name, "stripe")) {
    sodium_memzero(&c, sizeof c);
    payflow_forged(srv, t.id, peer, "webhook but the tenant does not use stripe", NULL);
    return PAYFLOW_FORGED;
  }
  pay_callback_t cb = {
      .body = body, .body_len = len, .signature_header = signature, .now = payflow_now()};
  pay_callback_res_t res;
  char msg[PAY_MSG_MAX];
  pay_result_t vr = prov->verify_callback(&c, &cb, &res, msg, sizeof msg);
  if (vr != PAY_OK) {
    sodium_memzero(&c, sizeof c);
    payflow_forged(srv, t.id, peer, "webhook signature not valid", NULL);
    return PAYFLOW_FORGED;
  }
  nimbus_payment_t p;
  if (!res.order_id[0] || store_payment_get_by_order(srv->store, res.order_id, &p) != STORE_OK ||
      p.tenant_id != t.id) {
    sodium_memzero(&c, sizeof c);
    /* signed by this tenant's secret but not one of its payments: ignore */
    log_event(LOG_INFO, NULL, "webhook for no payment of this tenant", "event", res.event_id,
              "type", res.event_type, (char *)NULL);
    return PAYFLOW_NOT_FOUND;
  }
  if (p.provider_tx[0] && strcmp(p.provider_tx, res.tx) != 0) {
    sodium_memzero(&c, sizeof c);
    payflow_forged(srv, t.id, peer, "session does not match the order", p.order_id);
    return PAYFLOW_FORGED;
  }
  payflow_result_t r;
  if (!p.provider_tx[0]) {
    /* the webhook came before the reservation's reply was stored: the
     * signed event names the session, whose order the status confirms */
    snprintf(p.provider_tx, sizeof p.provider_tx, "%s", res.tx);
    r = payflow_converge_open(srv, &p, prov, &c, "payment-callback");
  } else {
    r = payflow_converge_read(srv, &p, "payment-callback");
  }
  sodium_memzero(&c, sizeof c);
  store_payment_get(srv->store, p.tenant_id, p.id, out);
  return r == PAYFLOW_CONFLICT ? PAYFLOW_OK : r;
}

payflow_result_t payments_return(nimbus_server_t *srv, const char *order_id,
                                 nimbus_payment_t *out) {
  nimbus_payment_t p;
  store_status_t s = store_payment_get_by_order(srv->store, order_id, &p);
  if (s == STORE_NOT_FOUND) return PAYFLOW_NOT_FOUND;
  if (s != STORE_OK) return PAYFLOW_ERROR;
  payflow_result_t r = PAYFLOW_OK;
  if (payflow_is_open(&p) && p.provider_tx[0]) r = payflow_converge_read(srv, &p, "payment-return");
  store_payment_get(srv->store, p.tenant_id, p.id, out);
  return r == PAYFLOW_CONFLICT ? PAYFLOW_OK : r;
}

/* ---- JSON ---- */

json_t *payments_json(const nimbus_payment_t *p) {
  char text[64];
  json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:I, s:I, s:I, s:i, s:I}", "id", (json_int_t)p->id,
                        "state", payments_state_name(p->state), "provider", p->provider, "currency",
                        p->currency, "amount", (json_int_t)p->amount, "print_fee",
                        (json_int_t)p->print_fee, "service_fee", (json_int_t)p->service_fee,
                        "attempt", p->attempt, "expires_at", (json_int_t)p->expires_at);
  if (!o) return NULL;
  if (money_format_with_code(p->amount, p->currency, text, sizeof text))
    json_object_set_new(o, "amount_text", json_string(text));
  json_object_set_new(o, "order_id", json_string(p->order_id));
  if (p->state == NIMBUS_PAY_PENDING && p->payment_url[0])
    json_object_set_new(o, "payment_url", json_string(p->payment_url));
  if (p->reason[0]) json_object_set_new(o, "reason", json_string(p->reason));
  if (p->paid_at) json_object_set_new(o, "paid_at", json_integer(p->paid_at));
  if (p->refund_tx[0]) json_object_set_new(o, "refund_id", json_string(p->refund_tx));
  json_object_set_new(o, "created_at", json_integer(p->created_at));
  return o;
}

/* ---- the reconciler ---- */

typedef struct {
  nimbus_payment_t p[PAYFLOW_BATCH];
  int n;
} payflow_batch_t;

static bool payflow_collect(const nimbus_payment_t *p, nimbus_job_state_t job_state, void *ctx) {
  (void)job_state;
  payflow_batch_t *b = ctx;
  if (b->n >= PAYFLOW_BATCH) return false;
  b->p[b->n++] = *p;
  return true;
}

/* The reconciler's retry slot of payment id; create: take a free one.
 * -1: none (or no room). */
static int payflow_backoff_slot(payments_t *pm, nimbus_id_t id, bool create) {
  int free_slot = -1;
  for (int i = 0; i < PAYFLOW_BACKOFF_SLOTS; i++) {
    if (pm->backoff[i].id == id) return i;
    if (pm->backoff[i].id == 0 && free_slot < 0) free_slot = i;
  }
  if (create && free_slot >= 0) {
    pm->backoff[free_slot].id = id;
    pm->backoff[free_slot].tries = 0;
    pm->backoff[free_slot].next = 0;
  }
  return create ? free_slot : -1;
}

/* Converge p now unless it is waiting out a back-off; remember a failure. */
static void payflow_reconcile_one(payments_t *pm, nimbus_payment_t *p, int64_t now) {
  int slot = payflow_backoff_slot(pm, p->id, false);
  if (slot >= 0 && now < pm->backoff[slot].next) return;
  payflow_result_t r = payflow_converge_read(pm->srv, p, "payments");
  if (r != PAYFLOW_PROVIDER && r != PAYFLOW_ERROR) {
    if (slot >= 0) pm->backoff[slot].id = 0;
    return;
  }
  if (slot < 0) slot = payflow_backoff_slot(pm, p->id, true);
  if (slot < 0) return; /* no room: tried every pass */
  int tries = ++pm->backoff[slot].tries;
  int64_t wait = tries >= 8 ? PAYFLOW_BACKOFF_MAX : (int64_t)1 << tries;
  if (wait > PAYFLOW_BACKOFF_MAX) wait = PAYFLOW_BACKOFF_MAX;
  pm->backoff[slot].next = now + wait;
}

/* One pass: every payment that needs the provider now.  A pending one
 * waits for its callback until it times out (no polling of providers). */
static void payflow_reconcile(payments_t *pm) {
  nimbus_server_t *srv = pm->srv;
  bool held = false;
  int64_t now = payflow_now();
  if (store_lease_take(srv->store, PAYFLOW_LEASE, pm->holder, now, PAYFLOW_LEASE_TTL, &held) !=
          STORE_OK ||
      !held)
    return;
  payflow_batch_t *b = calloc(1, sizeof *b);
  if (!b) return;
  /* only what is due now (a pending payment waits for its callback until
   * it times out: providers are not polled), page after page */
  store_payment_open_filter_t f = {.reserving_before = now - PAYFLOW_RESERVING_LOST,
                                   .pending_before = now,
                                   .max = PAYFLOW_BATCH};
  bool seen[PAYFLOW_BACKOFF_SLOTS] = {false};
  bool more = true;
  while (more && held) {
    b->n = 0;
    if (store_payment_list_open(srv->store, &f, payflow_collect, b) != STORE_OK) break;
    more = b->n == PAYFLOW_BATCH;
    for (int i = 0; i < b->n && held; i++) {
      nimbus_payment_t *p = &b->p[i];
      f.after_id = p->id;
      int slot = payflow_backoff_slot(pm, p->id, false);
      if (slot >= 0) seen[slot] = true;
      if (p->state == NIMBUS_PAY_PENDING && now < p->expires_at) {
        /* listed before its time: its job is no longer awaiting payment
         * (canceled meanwhile): stop waiting, cancel it now */
        p->expires_at = now;
        snprintf(p->reason, sizeof p->reason, "job-ended");
      }
      /* provider calls take time: keep the lease, or leave the rest to
       * the node that has it now */
      if (store_lease_take(srv->store, PAYFLOW_LEASE, pm->holder, payflow_now(), PAYFLOW_LEASE_TTL,
                           &held) != STORE_OK)
        held = false;
      if (held) {
        payflow_reconcile_one(pm, p, now);
        slot = payflow_backoff_slot(pm, p->id, false);
        if (slot >= 0) seen[slot] = true;
      }
    }
  }
  /* forget the back-off of payments no longer due (a finished pass only) */
  if (!more && held)
    for (int k = 0; k < PAYFLOW_BACKOFF_SLOTS; k++)
      if (!seen[k]) pm->backoff[k].id = 0;
  sodium_memzero(b, sizeof *b);
  free(b);
  /* job charges of billing by purpose (billing/charge.c), under the same lease */
  if (held) charges_reconcile(srv);
}

static void *payflow_thread(void *arg) {
  payments_t *pm = arg;
  pthread_mutex_lock(&pm->mu);
  while (!pm->stop) {
    if (!pm->kick) {
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      ts.tv_sec += PAYFLOW_TICK_MS / 1000;
      pthread_cond_timedwait(&pm->cv, &pm->mu, &ts);
    }
    if (pm->stop) break;
    pm->kick = false;
    pthread_mutex_unlock(&pm->mu);
    payflow_reconcile(pm);
    pthread_mutex_lock(&pm->mu);
  }
  pthread_mutex_unlock(&pm->mu);
  return NULL;
}

void payments_job_changed(nimbus_server_t *srv, const nimbus_job_t *job, nimbus_job_state_t from) {
  payments_t *pm = srv->payments;
  if (!pm) return;
  if (from == NIMBUS_JOB_RECEIVED && job->state == NIMBUS_JOB_HELD) {
    /* submitted: its fee as it will print, shown until a printer prices it again */
    nimbus_job_quote_t q;
    char err[160];
    if (job_fee_compute(srv->store, job, NULL, &q, NULL, err, sizeof err) == JOB_FEE_UNPRICEABLE)
      log_event(LOG_INFO, NULL, "job cannot be priced", "job_id", LOG_INT(job->id), "why", err,
                (char *)NULL);
    return;
  }
  bool released = from == NIMBUS_JOB_PROCESSING || from == NIMBUS_JOB_FETCHABLE;
  /* a payment or a charge (billing by purpose, charge.c) is due: the job
   * ended, or a released job under a purpose went back to held */
  if ((job_state_is_terminal(job->state) && (released || from == NIMBUS_JOB_AWAITING_PAYMENT)) ||
      (job->state == NIMBUS_JOB_HELD && released && job->account_id[0]))
    payments_kick(srv);
}

void payments_kick(nimbus_server_t *srv) {
  payments_t *pm = srv->payments;
  if (!pm) return;
  pthread_mutex_lock(&pm->mu);
  pm->kick = true;
  pthread_cond_signal(&pm->cv);
  pthread_mutex_unlock(&pm->mu);
}

/* ---- for saved payment methods (payment-method.c) and charges ---- */

payflow_result_t payments_provider_open(nimbus_server_t *srv, nimbus_id_t tenant_id,
                                        const pay_provider_t **prov, pay_credentials_t *c) {
  return payflow_credentials(srv, tenant_id, prov, c);
}

void payments_base_url(nimbus_server_t *srv, char *buf, size_t len) {
  payflow_base_url(srv, buf, len);
}

bool payments_seal(nimbus_server_t *srv, const char *ad, const void *in, size_t len,
                   unsigned char *out, size_t outmax, size_t *outlen) {
  return srv->payments && crypto_seal(srv->payments->key, ad, in, len, out, outmax, outlen);
}

bool payments_unseal(nimbus_server_t *srv, const char *ad, const unsigned char *in, size_t len,
                     void *out, size_t outmax, size_t *outlen) {
  return srv->payments && crypto_unseal(srv->payments->key, ad, in, len, out, outmax, outlen);
}

payments_t *payments_start(nimbus_server_t *srv, char *err, size_t errlen) {
  payments_t *pm = calloc(1, sizeof *pm);
  if (!pm) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  pm->srv = srv;
  char path[PATH_MAX + 32];
  if (srv->cfg.secrets_key[0])
    snprintf(path, sizeof path, "%s", srv->cfg.secrets_key);
  else
    snprintf(path, sizeof path, "%s/secrets.key", srv->cfg.state_dir);
  if (!crypto_key_file_load(path, pm->key, err, errlen)) {
    free(pm);
    return NULL;
  }
  char host[64] = "";
  gethostname(host, sizeof host - 1);
  snprintf(pm->holder, sizeof pm->holder, "%.40s-%d-%08x",
           srv->cfg.node_id[0] ? srv->cfg.node_id : host, (int)getpid(), randombytes_random());
  if (!srv->cfg.public_url[0] &&
      (!strcmp(srv->cfg.listen, "0.0.0.0") || !strcmp(srv->cfg.listen, "::")))
    log_event(LOG_WARN, NULL,
              "payment URLs will name the wildcard address: set --public-url to the address "
              "phones and payment providers reach",
              "listen", srv->cfg.listen, (char *)NULL);
  pthread_mutex_init(&pm->mu, NULL);
  pthread_cond_init(&pm->cv, NULL);
  srv->payments = pm;
  if (pthread_create(&pm->thread, NULL, payflow_thread, pm) != 0) {
    snprintf(err, errlen, "cannot start the payments thread");
    srv->payments = NULL;
    sodium_memzero(pm->key, sizeof pm->key);
    free(pm);
    return NULL;
  }
  pm->running = true;
  return pm;
}

void payments_set_port(payments_t *pm, int port) {
  if (pm) atomic_store(&pm->port, port);
}

void payments_stop(payments_t *pm) {
  if (!pm) return;
  pthread_mutex_lock(&pm->mu);
  pm->stop = true;
  pthread_cond_signal(&pm->cv);
  pthread_mutex_unlock(&pm->mu);
  if (pm->running) pthread_join(pm->thread, NULL);
  pthread_mutex_destroy(&pm->mu);
  pthread_cond_destroy(&pm->cv);
  sodium_memzero(pm->key, sizeof pm->key);
  free(pm);
}
