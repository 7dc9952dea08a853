/*
 * payment-flow.h: paying for a job before it prints (issue 12,
 * docs/PAYMENTS.md).  The one place that moves a payment through its
 * states, always together with its job and its ledger posting in one store
 * transaction, as a compare-and-set on the payment's state:
 *
 *   reserving ──provider answered──▶ pending ──verified paid──▶ paid ──job completed──▶ settled
 *      │                               │  (job: awaiting-payment -> fetchable,           │
 *      │                               │   posting "payment")                            │
 *      └─lost (no reply)─▶ canceled ◀──┤ cancel at the panel, timeout unpaid,       job
 * aborted/canceled │ job canceled (job: -> held)                     ▼ └─declined─▶ failed (job: ->
 * held)        refund-pending ─▶ refunded (posting "refund")
 *
 * A provider's callback is never proof of payment: it only makes nimbusd
 * ask the provider itself (status, then confirm for LINE Pay), and only
 * that answer, with the amount and currency we reserved, releases the job
 * (to the printer the payment was started at), exactly once.  The
 * reconciler thread converges every payment in flight: timeouts, lost
 * reservations after a crash, settlement and refunds; one node at a time
 * (a store lease).
 */
#ifndef NIMBUS_PAYMENT_FLOW_H
#define NIMBUS_PAYMENT_FLOW_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "job.h"
#include "model.h"
#include "provider.h"
#include "server.h"

typedef enum {
  PAYFLOW_OK = 0,
  PAYFLOW_NOT_FOUND,   /* no such payment / job (or another tenant's) */
  PAYFLOW_NOT_NEEDED,  /* the job costs nothing here */
  PAYFLOW_CONFLICT,    /* the job or payment is not in a state for this */
  PAYFLOW_NO_PROVIDER, /* the tenant has no (usable) payment provider */
  PAYFLOW_UNPRICEABLE, /* the price table does not offer what the job needs */
  PAYFLOW_PROVIDER,    /* the provider refused or is unreachable (msg says) */
  PAYFLOW_FORGED,      /* a callback that proves nothing: audited, ignored */
  PAYFLOW_ERROR
} payflow_result_t;

/* Start the payment service: load (or create) the secrets key, start the
 * reconciler.  NULL with err. */
payments_t *payments_start(nimbus_server_t *srv, char *err, size_t errlen);
void payments_stop(payments_t *p);
/* The port nimbusd listens on (for URLs built without --public-url, when
 * --port 0 let the system choose). */
void payments_set_port(payments_t *p, int port);
/* Job observer hook: a job just submitted (received -> held) is priced
 * (job-fee.h); a job that ended while paid for, or whose charge under a
 * purpose is due (charge.h), wakes the reconciler. */
void payments_job_changed(nimbus_server_t *srv, const nimbus_job_t *job, nimbus_job_state_t from);

/* Credentials: seal and store (tenant admin), describe, delete. */
payflow_result_t payments_set_provider(nimbus_server_t *srv, nimbus_id_t tenant_id,
                                       const char *provider, const json_t *credentials,
                                       const char *actor, char *msg, size_t msglen);
/* The tenant's provider as the admin may see it (new reference; NULL when none). */
json_t *payments_describe_provider(nimbus_server_t *srv, nimbus_id_t tenant_id);

/*
 * Does job need paying before it prints on printer d (NULL: away from
 * any printer)?  Computes and stores its quote (job-fee.h); true when the
 * payment mode that applies is "at-printer" and the total is above zero.
 * *res says why not when false and something failed.
 */
bool payments_required(nimbus_server_t *srv, const nimbus_job_t *job, const nimbus_device_t *d,
                       nimbus_job_quote_t *quote, payflow_result_t *res, char *msg, size_t msglen);

/*
 * Reserve a payment for held job (PIN already checked by the release
 * pipeline) to be released, once paid, to target_device (0: any printer
 * of its queue) and moved to queue_move (0: stays).  The job becomes
 * awaiting-payment.  Idempotent: a job with an open payment gets that one
 * back.  out: the payment (payment_url to show).
 */
payflow_result_t payments_begin(nimbus_server_t *srv, const nimbus_job_t *job,
                                const nimbus_job_quote_t *quote, nimbus_id_t target_device,
                                nimbus_id_t queue_move, const char *actor, const char *request_id,
                                nimbus_payment_t *out, char *msg, size_t msglen);
/* payments_begin() that also writes settings changed at the printer
 * (NULL: none; the quote priced with them) in the transaction that makes
 * the job awaiting-payment. */
payflow_result_t payments_begin_set(nimbus_server_t *srv, const nimbus_job_t *job,
                                    const nimbus_job_quote_t *quote, nimbus_id_t target_device,
                                    nimbus_id_t queue_move, const job_settings_change_t *settings,
                                    const char *actor, const char *request_id,
                                    nimbus_payment_t *out, char *msg, size_t msglen);

/* Cancel job's open payment (the panel's Cancel, the owner): asks the
 * provider first (a payment made meanwhile is honoured: out->state PAID),
 * else cancels there and returns the job to held. */
payflow_result_t payments_cancel(nimbus_server_t *srv, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                 const char *actor, nimbus_payment_t *out, char *msg,
                                 size_t msglen);

/* The newest payment of a job (store read only). */
payflow_result_t payments_get_for_job(nimbus_server_t *srv, nimbus_id_t tenant_id,
                                      nimbus_id_t job_id, nimbus_payment_t *out);

/* Callbacks.  LINE Pay's confirmUrl (the user's browser, redirected with
 * the ids) and Stripe's webhook for tenant_name: verified, then the
 * payment converged with the provider.  *out: the payment it names. */
payflow_result_t payments_linepay_confirm(nimbus_server_t *srv, const char *transaction_id,
                                          const char *order_id, const char *peer,
                                          nimbus_payment_t *out);
payflow_result_t payments_stripe_webhook(nimbus_server_t *srv, const char *tenant_name,
                                         const char *body, size_t len, const char *signature,
                                         const char *peer, nimbus_payment_t *out);
/* A user coming back from the provider's page (return URL): converge the
 * order's payment with the provider and return it. */
payflow_result_t payments_return(nimbus_server_t *srv, const char *order_id, nimbus_payment_t *out);

/* Converge one payment with its provider now (status, confirm, timeout,
 * settle, refund: whatever its state and its job's need). */
payflow_result_t payments_converge(nimbus_server_t *srv, nimbus_id_t tenant_id,
                                   nimbus_id_t payment_id, nimbus_payment_t *out);

/* Wake the reconciler now (a job's charge or payment is due). */
void payments_kick(nimbus_server_t *srv);

/* For saved payment methods and job charges (issue 13): the tenant's
 * provider and credentials in clear (wipe *c after use); the URL base
 * nimbusd gives providers; sealing with the server key. */
payflow_result_t payments_provider_open(nimbus_server_t *srv, nimbus_id_t tenant_id,
                                        const pay_provider_t **prov, pay_credentials_t *c);
void payments_base_url(nimbus_server_t *srv, char *buf, size_t len);
bool payments_seal(nimbus_server_t *srv, const char *ad, const void *in, size_t len,
                   unsigned char *out, size_t outmax, size_t *outlen);
bool payments_unseal(nimbus_server_t *srv, const char *ad, const unsigned char *in, size_t len,
                     void *out, size_t outmax, size_t *outlen);

/* ---- saved payment methods (payment-method.c, docs/BILLING.md) ---- */
/* Start registering user_id's payment method with the tenant's provider
 * (replaces any former one); *out: pending, with setup_url to open. */
payflow_result_t payments_method_begin(nimbus_server_t *srv, nimbus_id_t tenant_id,
                                       nimbus_id_t user_id, const char *user_name,
                                       nimbus_payment_method_t *out, char *msg, size_t msglen);
/* The provider sent the user back (setup_id ours; tx: LINE Pay's
 * transactionId, may be NULL): ask the provider whether it is done. */
payflow_result_t payments_method_return(nimbus_server_t *srv, const char *setup_id, const char *tx,
                                        nimbus_payment_method_t *out);
/* The user's method (a pending one is checked with the provider first). */
payflow_result_t payments_method_get(nimbus_server_t *srv, nimbus_id_t tenant_id,
                                     nimbus_id_t user_id, nimbus_payment_method_t *out);
/* Forget it here and at the provider. */
payflow_result_t payments_method_delete(nimbus_server_t *srv, nimbus_id_t tenant_id,
                                        nimbus_id_t user_id, const char *actor);
/* Charge user_id's active method (order_id: idempotency key); *provider
 * receives the provider's name (16 bytes).  PAY_DECLINED also when the
 * user has no active method (msg says so). */
pay_result_t payments_charge_saved(nimbus_server_t *srv, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                   const char *order_id, int64_t amount, const char *currency,
                                   const char *item, char *provider, pay_charge_res_t *out,
                                   char *msg, size_t msglen);
/* The method as JSON for REST (new reference). */
json_t *payments_method_json(const nimbus_payment_method_t *m);

/* "pending", "paid", ... (REST and the panel). */
const char *payments_state_name(nimbus_payment_state_t s);
/* The payment as JSON for REST and the panel (new reference). */
json_t *payments_json(const nimbus_payment_t *p);

#endif
