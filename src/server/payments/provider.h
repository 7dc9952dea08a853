/*
 * provider.h: the one interface every payment provider adapter fills
 * (linepay.c: LINE Pay online API v3; stripe.c: Stripe Checkout Sessions).
 * nimbus's payment flow (payment-flow.c) talks to a provider only through
 * here; an adapter knows the wire format, signs its requests and checks
 * what comes back, and knows nothing of jobs or the store.
 *
 * Calls are synchronous HTTP (libcurl) with bounded timeouts; they run on
 * worker threads, never on an HTTP event thread.  Amounts are minor units
 * (money.h); transaction ids are strings (providers use ids beyond 2^53).
 * No secret (channel secret, API key, webhook secret) is ever logged or
 * put in an error message.
 */
#ifndef NIMBUS_PROVIDER_H
#define NIMBUS_PROVIDER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PAY_TX_MAX 64
#define PAY_URL_MAX 512
#define PAY_MSG_MAX 256
#define PAY_SECRETS_MAX 4 /* webhook secrets accepted at once while one rolls */

/* Credentials of one tenant's account at a provider, in clear only in
 * memory (the store keeps them sealed).  JSON form given by the admin:
 *   linepay: {"channel_id":"...","channel_secret":"...","api_base":"https://api-pay.line.me"}
 *   stripe:  {"secret_key":"sk_...","webhook_secrets":["whsec_...",...],
 *             "api_base":"https://api.stripe.com"}
 * api_base is optional (the provider's production address); tests and the
 * demo point it at nimbus-paysim. */
typedef struct {
  char provider[16];
  char api_base[PAY_URL_MAX];
  /* linepay */
  char channel_id[64];
  char channel_secret[128];
  /* stripe */
  char secret_key[160];
  int nwebhook_secrets;
  char webhook_secrets[PAY_SECRETS_MAX][160];
} pay_credentials_t;

typedef enum {
  PAY_OK = 0,
  PAY_DECLINED,    /* the provider refused (declined, invalid): final */
  PAY_NOT_FOUND,   /* no such transaction at the provider */
  PAY_UNAVAILABLE, /* network, timeout, 5xx: try again later */
  PAY_INVALID      /* bad credentials or a reply we cannot read */
} pay_result_t;

/* What the provider says of a transaction. */
typedef enum {
  PAY_TX_UNKNOWN = 0,
  PAY_TX_OPEN,       /* waiting for the user */
  PAY_TX_AUTHORIZED, /* the user approved; we must still confirm (LINE Pay) */
  PAY_TX_PAID,       /* captured: money taken */
  PAY_TX_CANCELED,   /* expired, voided or canceled: no money moved */
  PAY_TX_FAILED      /* declined */
} pay_tx_state_t;

typedef struct {
  const char *order_id;        /* ours, unique; also the idempotency key */
  const char *idempotency_key; /* for the reserve POST (Stripe); = order_id when NULL */
  int64_t amount;
  const char *currency;
  const char *item;        /* what the user pays for, shown on the payment page */
  const char *confirm_url; /* LINE Pay confirmUrl / Stripe success_url */
  const char *cancel_url;  /* LINE Pay cancelUrl / Stripe cancel_url */
  int64_t expires_at;      /* when nimbus gives up (Unix time) */
} pay_reserve_req_t;

typedef struct {
  char tx[PAY_TX_MAX]; /* provider transaction / Checkout Session id */
  char payment_url[PAY_URL_MAX];
  int64_t expires_at; /* the provider's own expiry (0: unknown) */
} pay_reserve_res_t;

typedef struct {
  pay_tx_state_t state;
  int64_t amount; /* as the provider has it (-1: not said) */
  char currency[4];
  char order_id[64];            /* as the provider has it ("" not said) */
  char capture_ref[PAY_TX_MAX]; /* what a refund names (Stripe payment_intent) */
} pay_status_t;

typedef struct {
  char refund_tx[PAY_TX_MAX];
} pay_refund_res_t;

/* An incoming callback as received: the raw body, the headers the
 * adapter needs, the query string's parameters. */
typedef struct {
  const char *body;
  size_t body_len;
  const char *signature_header;     /* Stripe-Signature */
  const char *query_transaction_id; /* LINE Pay confirmUrl ?transactionId= */
  const char *query_order_id;       /* LINE Pay confirmUrl ?orderId= */
  int64_t now;
} pay_callback_t;

/* What a verified callback names; the flow then asks the provider itself. */
typedef struct {
  char tx[PAY_TX_MAX];
  char order_id[64];
  char event_id[128]; /* Stripe event id ("" for LINE Pay) */
  char event_type[64];
} pay_callback_res_t;

/* ---- saved payment methods (issue 13: private purposes, docs/BILLING.md)
 * A user registers once; jobs under a private purpose are then charged
 * server to server, off-session, with no user present:
 *   linepay: Request API with payType PREAPPROVED (an authorization of
 *            the smallest amount, voided once confirmed), Confirm returns
 *            the regKey; charges: POST /v3/payments/preapprovedPay/{regKey}/payment
 *            with capture true; removal: .../{regKey}/expire.
 *   stripe:  a Customer, a Checkout Session in mode "setup" for it;
 *            finishing reads the session's SetupIntent for the saved
 *            payment_method; charges: PaymentIntent confirm=true,
 *            off_session=true; removal: detach the payment method. */
#define PAY_METHOD_REF_MAX 256

typedef struct {
  const char *setup_id;    /* ours, unique (the registration's orderId / idempotency key) */
  const char *user_label;  /* who registers, for the provider's records ("t3/alice") */
  const char *currency;    /* the tenant's currency */
  const char *confirm_url; /* where the provider sends the user when done */
  const char *cancel_url;  /* ... or when they give up */
} pay_method_setup_req_t;

typedef struct {
  char tx[PAY_TX_MAX];         /* LINE Pay transactionId / Stripe setup session id (may carry
                                * more the adapter needs: give it back unchanged) */
  char setup_url[PAY_URL_MAX]; /* the page the user opens to register */
} pay_method_setup_res_t;

typedef struct {
  char ref[PAY_METHOD_REF_MAX]; /* what a charge names: regKey; "cus_...|pm_..." (sealed at rest) */
  char display[64];             /* what the user sees: "LINE Pay", "visa ****4242" */
} pay_method_t;

typedef struct {
  const char *ref;      /* pay_method_t.ref */
  const char *order_id; /* ours, unique per attempt; also the idempotency key */
  int64_t amount;
  const char *currency;
  const char *item; /* what it pays for ("Nimbus job ABC... 4 pages") */
} pay_charge_req_t;

typedef struct {
  char tx[PAY_TX_MAX]; /* the provider's transaction / PaymentIntent id */
} pay_charge_res_t;

typedef struct pay_provider {
  const char *name; /* "linepay", "stripe" */
  /* Parse the admin's JSON credentials (false with err: what is missing). */
  bool (*parse_credentials)(const json_t *j, pay_credentials_t *out, char *err, size_t errlen);
  /* The credentials as the admin may see them back: which fields are set,
   * secrets masked (new reference). */
  json_t *(*describe_credentials)(const pay_credentials_t *c);
  pay_result_t (*reserve)(const pay_credentials_t *c, const pay_reserve_req_t *req,
                          pay_reserve_res_t *out, char *msg, size_t msglen);
  pay_result_t (*status)(const pay_credentials_t *c, const char *tx, const char *order_id,
                         pay_status_t *out, char *msg, size_t msglen);
  /* Take the money of an authorized transaction (LINE Pay confirm; for
   * Stripe a no-op answering the status: Checkout captures itself). */
  pay_result_t (*confirm)(const pay_credentials_t *c, const char *tx, int64_t amount,
                          const char *currency, pay_status_t *out, char *msg, size_t msglen);
  /* Give up an unpaid transaction (Stripe expire; LINE Pay: void when
   * authorized, nothing to call when the user never approved). */
  pay_result_t (*cancel)(const pay_credentials_t *c, const char *tx, char *msg, size_t msglen);
  /* Refund amount (<= what was paid) of a paid transaction; capture_ref
   * from status(); idempotency_key for the POST. */
  pay_result_t (*refund)(const pay_credentials_t *c, const char *tx, const char *capture_ref,
                         int64_t amount, const char *currency, const char *idempotency_key,
                         pay_refund_res_t *out, char *msg, size_t msglen);
  /* Check an incoming callback's authenticity (Stripe: the signature over
   * the raw body, within the tolerance; LINE Pay has no signature on its
   * confirmUrl redirect: the ids are taken as a claim to check) and say
   * what it names; PAY_INVALID for a forged or stale one. */
  pay_result_t (*verify_callback)(const pay_credentials_t *c, const pay_callback_t *cb,
                                  pay_callback_res_t *out, char *msg, size_t msglen);
  /* Saved payment methods (see above).  Start a registration. */
  pay_result_t (*method_setup)(const pay_credentials_t *c, const pay_method_setup_req_t *req,
                               pay_method_setup_res_t *out, char *msg, size_t msglen);
  /* Finish registration tx (the user came back or the provider called):
   * PAY_OK with *out when registered; PAY_NOT_FOUND while the user has
   * not finished; PAY_DECLINED when refused or abandoned. */
  pay_result_t (*method_finish)(const pay_credentials_t *c, const char *tx, const char *setup_id,
                                pay_method_t *out, char *msg, size_t msglen);
  /* Charge a saved method, no user present.  Idempotent by order_id: the
   * same order id again answers the first outcome.  PAY_DECLINED: the
   * provider refused this charge (msg says why, e.g. "card declined"). */
  pay_result_t (*charge_saved)(const pay_credentials_t *c, const pay_charge_req_t *req,
                               pay_charge_res_t *out, char *msg, size_t msglen);
  /* Forget a saved method at the provider (the user removed it). */
  pay_result_t (*method_remove)(const pay_credentials_t *c, const char *ref, char *msg,
                                size_t msglen);
} pay_provider_t;

extern const pay_provider_t pay_provider_linepay;
extern const pay_provider_t pay_provider_stripe;

/* The adapter named name; NULL when there is none. */
const pay_provider_t *pay_provider_find(const char *name);

/* Per-call HTTP timeout in seconds for every adapter (default 10). */
void pay_set_http_timeout(int seconds);

#endif
