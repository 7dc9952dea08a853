/*
 * paysim.h: nimbus-paysim, a stateful payment provider for development,
 * demos and tests.  It speaks the subset of the LINE Pay online API v3 and
 * of Stripe (Checkout Sessions, refunds, webhooks) that nimbusd's adapters
 * use (docs: man/nimbus-paysim.1), serves a phone-sized payment page and
 * can be told to misbehave.  This header holds the types the modules share:
 *
 *   paysim.c    options, the HTTP server, routing, the /sim control API
 *   txtable.c   the transaction table (one mutex), behaviours, idempotency
 *   linepay.c   /v3/payments/...          stripe.c   /v1/...
 *   page.c      /pay/<tx> and the Pay / Decline actions
 *   callback.c  background deliveries (LINE Pay confirmUrl, Stripe webhooks)
 *   saved.c     saved payment methods: LINE Pay preapproved payments
 *               (regKeys), Stripe Customers / SetupIntents / PaymentMethods /
 *               off-session PaymentIntents, /sim/decline-saved, /sim/charges
 *   util.c      buffers, money text, form decoding, ids, HTML escaping
 *
 * Money is an int64_t count of the currency's minor unit everywhere.
 */
#ifndef NIMBUS_PAYSIM_H
#define NIMBUS_PAYSIM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define PS_MAX_BODY (256 * 1024) /* request bodies larger than this: 413 */
#define PS_MAX_CREDS 16          /* channels, keys, webhook secrets each */
#define PS_TIMEOUT_MS 30000      /* how long a "timeout" misbehaviour hangs */

/* ---- configuration (paysim.c) ---- */
typedef struct {
  char id[64];
  char secret[128];
} ps_channel_t;

typedef struct {
  char url[1024];
  char secrets[PS_MAX_CREDS][128]; /* several: one v1 signature each (rolling) */
  int nsecrets;
} ps_webhook_t;

typedef struct {
  char listen[256];
  int port;
  char public_url[1024]; /* base of payment page links, no trailing '/' */
  char merchant[128];
  int expiry; /* seconds a reservation stays payable */
  ps_channel_t channels[PS_MAX_CREDS];
  int nchannels;
  char stripe_keys[PS_MAX_CREDS][128];
  int nkeys;
  ps_webhook_t webhooks[PS_MAX_CREDS];
  int nwebhooks;
} ps_config_t;

extern ps_config_t ps_cfg;       /* set once at start-up, read-only afterwards */
extern volatile int ps_stopping; /* set on SIGTERM: long waits give up */

/* ---- replies (paysim.c) ---- */
typedef struct {
  int status;
  char *body; /* malloc'd, owned by the reply */
  const char *content_type;
  char location[2048]; /* "" = none */
  char csp[1400];      /* Content-Security-Policy, "" = none */
  bool replayed;       /* Stripe: Idempotent-Replayed: true */
} ps_reply_t;

/* One parsed request, as the handlers see it. */
typedef struct {
  const char *method;
  const char *path;  /* without the query */
  const char *query; /* raw query string without '?', "" when none */
  const char *body;
  size_t body_len;
  void *conn; /* struct MHD_Connection *, for headers */
} ps_request_t;

/* Apply the http_500 / timeout misbehaviours of a transaction id and/or
 * order id: true when r now holds the 500 reply (after hanging for
 * "timeout"). */
bool ps_api_misbehaves(const char *id, const char *order, ps_reply_t *r, bool linepay);
/* A request header's value or NULL. */
const char *ps_header(const ps_request_t *rq, const char *name);
/* reply with a JSON document (takes the reference of doc); amounts written
 * as ps_json_amount() strings become exact JSON numbers. */
void ps_reply_json(ps_reply_t *r, int status, json_t *doc);
/* reply with text (copied). */
void ps_reply_text(ps_reply_t *r, int status, const char *content_type, const char *text);

/* ---- utilities (util.c) ---- */
typedef struct {
  char *data;
  size_t len, cap;
  bool failed; /* an allocation failed: data holds what fitted */
} ps_buf_t;
void ps_buf_add(ps_buf_t *b, const char *s, size_t n);
void ps_buf_printf(ps_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* append s with & < > " ' escaped for HTML text and attribute values */
void ps_buf_html(ps_buf_t *b, const char *s);
/* append s percent-encoded for a URL query value */
void ps_buf_urlenc(ps_buf_t *b, const char *s);

/* ISO 4217 exponent of an uppercase code, -1 when unknown. */
int ps_currency_exponent(const char *code);
/* minor units as decimal text in the main unit ("1.20", "1200"). */
bool ps_money_text(int64_t minor, const char *code, char *buf, size_t len);
/* exact decimal text in the main unit ("1.2", "12") into minor units;
 * more fraction digits than the exponent (unless zeros), signs,
 * exponents or values above 10^15 minor units are refused. */
bool ps_money_parse(const char *text, const char *code, int64_t *out);
/* A JSON value that ps_reply_json() writes as the exact number text of
 * minor units in the main unit (LINE Pay amounts). */
json_t *ps_json_amount(int64_t minor, const char *code);
/* Replace the ps_json_amount() strings of dumped JSON text by their number
 * text, in place; returns text. */
char *ps_json_unquote_amounts(char *text);
/* Parse a LINE Pay JSON body: numbers with a fraction come back as strings
 * marked for ps_json_get_amount() (never through double). */
json_t *ps_json_parse_exact(const char *body, size_t len);
/* A LINE Pay amount member (integer or exact decimal) in minor units. */
bool ps_json_get_amount(json_t *v, const char *code, int64_t *out);

/* Decoded application/x-www-form-urlencoded pairs. */
typedef struct {
  char **keys, **vals;
  int n;
} ps_form_t;
bool ps_form_parse(const char *text, size_t len, ps_form_t *f);
const char *ps_form_get(const ps_form_t *f, const char *key);
void ps_form_free(ps_form_t *f);
/* A digest of the pairs in sorted order (idempotency fingerprint). */
void ps_form_digest(const ps_form_t *f, const char *path, unsigned char out[32]);

/* n random characters [0-9A-Za-z] after prefix into out. */
void ps_random_id(char *out, size_t len, const char *prefix, int n);
/* base64 of HMAC-SHA256(key, msg) into out (>= 45 bytes). */
void ps_hmac_b64(const char *key, const char *msg, size_t msglen, char *out, size_t outlen);
/* lowercase hex of HMAC-SHA256(key, msg) into out (>= 65 bytes). */
void ps_hmac_hex(const char *key, const char *msg, size_t msglen, char *out, size_t outlen);
/* scheme://host[:port] of url into out; false when url is not http(s). */
bool ps_url_origin(const char *url, char *out, size_t len);
/* milliseconds on the monotonic clock */
int64_t ps_now_ms(void);
/* sleep ms, giving up early when ps_stopping is set */
void ps_sleep_ms(int64_t ms);

/* ---- transactions (txtable.c) ---- */
typedef enum { PS_LINEPAY = 0, PS_STRIPE = 1 } ps_provider_t;

/*
 * One reservation.  LINE Pay: OPEN -> AUTHORIZED (Pay on the page) -> PAID
 * (confirm); OPEN/AUTHORIZED -> CANCELED (void, expiry); OPEN -> FAILED
 * (Decline).  Stripe: OPEN -> PAID (Pay; "complete"); OPEN -> EXPIRED
 * (expire call, expiry); Decline leaves it OPEN with `declined` set.
 */
typedef enum {
  PS_TX_OPEN = 0,
  PS_TX_AUTHORIZED,
  PS_TX_PAID,
  PS_TX_CANCELED,
  PS_TX_FAILED,
  PS_TX_EXPIRED
} ps_tx_state_t;

typedef struct {
  char id[80]; /* LINE Pay: 19 digits; Stripe: cs_test_... */
  ps_provider_t provider;
  int account; /* channel index (LINE Pay) or key index (Stripe) */
  char order_id[128];
  char item[256];
  int64_t amount;   /* minor units */
  char currency[4]; /* uppercase ISO 4217 */
  time_t created, expires_at;
  ps_tx_state_t state;
  bool declined;    /* Stripe: the user pressed Decline (stays open) */
  int64_t refunded; /* minor units refunded so far */
  int nrefunds;
  char payment_intent[48]; /* Stripe, once paid */
  char confirm_url[1024];  /* LINE Pay confirmUrl / Stripe success_url */
  char cancel_url[1024];
  char access_token[16]; /* LINE Pay paymentAccessToken */
  char metadata[1024];   /* Stripe metadata as a JSON object text */
  char csrf[33];         /* the payment page's form token */
  int callbacks;         /* deliveries made (confirmUrl GETs, webhooks) */
  /* saved payment methods (saved.c) */
  bool preapproved;      /* LINE Pay payType PREAPPROVED: a registration (confirm gives a regKey) */
  bool setup;            /* Stripe mode=setup: a registration (Pay saves a card) */
  bool charge;           /* a server-to-server charge of a saved method */
  char customer[40];     /* Stripe setup session: its customer */
  char setup_intent[40]; /* Stripe setup session, once complete */
  char saved_ref[40];    /* registration: the regKey / pm_ it made; charge: the method charged */
} ps_tx_t;

/* Misbehaviour; resolved per field: the transaction's scope (its id or its
 * order id) when that scope set the field, else the global scope. */
typedef struct {
  bool decline, no_callback, double_callback, early_webhook, http_500, timeout, auto_pay;
  int callback_delay_ms;
} ps_behaviour_t;

void ps_table_init(void);
void ps_table_reset(void);
/* Insert a copy of tx; fills tx->id (unique), created, csrf.  false when an
 * order id is already used on that provider account (*dup set). */
bool ps_tx_insert(ps_tx_t *tx, bool *dup);
/* Copy out the transaction with this id (or, when by_pi, this
 * payment_intent); expiry is applied first.  false when unknown. */
bool ps_tx_get(const char *id, ps_tx_t *out);
bool ps_tx_get_by_pi(const char *pi, ps_tx_t *out);
/* Compare-and-set under the table lock: fn sees the current record and
 * changes it in place; its return value is returned.  false also when the
 * id is unknown (*found false). */
typedef int (*ps_tx_update_fn)(ps_tx_t *tx, void *arg);
int ps_tx_update(const char *id, ps_tx_update_fn fn, void *arg, bool *found, ps_tx_t *after);
/* Bump the delivery counter of a transaction (when a callback was sent). */
void ps_tx_count_callback(const char *id);
/* A 19-digit LINE Pay style number starting with today's date. */
long long ps_linepay_number(void);
/* The JSON list of all transactions (for GET /sim/transactions). */
json_t *ps_table_list(void);
/* The table's one mutex, for saved.c's records (same lock, no ordering to keep). */
void ps_table_lock(void);
void ps_table_unlock(void);
/* The latest transaction of provider/account with this order id; false when none. */
bool ps_tx_get_by_order(ps_provider_t provider, int account, const char *order, ps_tx_t *out);
/* Mark open transactions past their expiry; Stripe ones are copied into
 * out (up to max) so the caller can send checkout.session.expired. */
int ps_table_expire(ps_tx_t *out, int max);

/* Set the fields present in obj for scope; false (msg) on a bad value. */
bool ps_behaviour_set(const char *scope, json_t *obj, char *msg, size_t len);
/* Resolve for a transaction id and/or order id (either may be NULL). */
void ps_behaviour_get(const char *id, const char *order, ps_behaviour_t *out);
json_t *ps_behaviour_list(void);

/* Stripe idempotency: begin (account, key, digest).  Returns 0 = new (call
 * ps_idem_finish or ps_idem_abort), 1 = replay (*status and *body filled,
 * body malloc'd), 2 = same key with other params, 3 = in progress. */
int ps_idem_begin(int account, const char *key, const unsigned char digest[32], int *status,
                  char **body);
void ps_idem_finish(int account, const char *key, int status, const char *body);
void ps_idem_abort(int account, const char *key);

/* ---- providers ---- */
/* Handle /v3/... (LINE Pay) and /v1/... (Stripe) requests. */
void ps_linepay_handle(const ps_request_t *rq, ps_reply_t *r);
void ps_stripe_handle(const ps_request_t *rq, ps_reply_t *r);
/* The checkout.session object of a Stripe transaction. */
json_t *ps_stripe_session_json(const ps_tx_t *tx);
/* Queue a Stripe event of `type` for tx to every webhook endpoint,
 * applying the behaviour (delay, double, none).  wait: block until
 * delivered (at most 5 s; the early_webhook misbehaviour). */
void ps_stripe_send_event(const ps_tx_t *tx, const char *type, const ps_behaviour_t *b, bool wait);

/* ---- saved payment methods (saved.c); *_locked: the table lock is held ---- */
void ps_saved_reset_locked(void);
/* LINE Pay: a confirmed PREAPPROVED request gets its regKey (once) into
 * tx->saved_ref.  false when the method table is full. */
bool ps_saved_linepay_register_locked(ps_tx_t *tx);
/* Stripe: Pay on a setup session saves a card (pm_..., visa 4242) for the
 * session's customer with a succeeded SetupIntent (tx->setup_intent,
 * tx->saved_ref).  false when a table is full. */
bool ps_saved_stripe_register_locked(ps_tx_t *tx);
/* Whether this customer exists for Stripe key index `key`. */
bool ps_saved_customer_exists(int key, const char *customer);
/* LINE Pay /v3/payments/preapprovedPay/... and GET /v3/payments (payment
 * details by orderId); false when the path is none of these. */
bool ps_saved_linepay_handle(const ps_request_t *rq, ps_reply_t *r, int ch);
/* Stripe paths saved.c serves (customers, setup_intents, payment_methods,
 * payment_intents). */
bool ps_saved_stripe_wants(const char *method, const char *path);
/* A GET of one of them. */
void ps_saved_stripe_get(const ps_request_t *rq, int key, ps_reply_t *r);
/* A POST of one of them (after the idempotency check); returns whether
 * the reply may be replayed for the same Idempotency-Key. */
bool ps_saved_stripe_post(const ps_request_t *rq, const ps_form_t *f, int key, ps_reply_t *r);
/* /sim/decline-saved, /sim/charges, /sim/methods; false when none. */
bool ps_saved_sim(const ps_request_t *rq, ps_reply_t *r);

/* ---- payment page and actions (page.c) ---- */
void ps_page_handle(const ps_request_t *rq, ps_reply_t *r, const char *txid);
/* Pay or decline tx as the page's buttons do; browser: answer with the
 * redirect the page gives (else JSON).  Used by POST /sim/pay|decline. */
void ps_page_act(const char *txid, bool pay, bool browser, ps_reply_t *r);
/* Pay a transaction at once (auto_pay), with its callbacks; with
 * early_webhook, wait (at most 5 s) until the callback is delivered. */
void ps_tx_autopay(const ps_tx_t *tx, const ps_behaviour_t *b);

/* ---- deliveries (callback.c) ---- */
bool ps_callback_start(void);
void ps_callback_stop(void);
/* A completion the caller may wait on: ps_done_new(), pass it to
 * ps_callback_queue(), ps_done_wait(), then ps_done_free() (reference
 * counted: a delivery still queued keeps it alive). */
typedef struct ps_done ps_done_t;
ps_done_t *ps_done_new(void);
void ps_done_wait(ps_done_t *d, int64_t max_ms);
void ps_done_free(ps_done_t *d);
/* Queue an HTTP request in delay_ms: GET url (body NULL) or POST body
 * with the Stripe-Signature of the endpoint's secrets (copied). */
void ps_callback_queue(const char *txid, const char *url, const char *body,
                       const ps_webhook_t *endpoint, int delay_ms, ps_done_t *done);

#endif
