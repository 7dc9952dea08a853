/*
 * stripe.c: nimbus-paysim's Stripe subset: Checkout Sessions (create in
 * mode payment or setup, retrieve, expire), refunds, and the signed webhook events
 * checkout.session.completed / checkout.session.expired.  Requests need
 * "Authorization: Bearer <a --stripe-key>" (else 401); POST bodies are
 * form-encoded; an Idempotency-Key replays the first reply for the same
 * parameters and refuses other parameters (400 idempotency_error).
 * A session belongs to the key that created it: other keys get 404.
 * Customers, SetupIntents, PaymentMethods and PaymentIntents (saved
 * methods) are served by saved.c through the same authentication and
 * idempotency.
 */
#include "paysim.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* An error reply in Stripe's shape. */
static void st_error(ps_reply_t *r, int status, const char *type, const char *code,
                     const char *param, const char *msg) {
  json_t *err = json_pack("{s:s, s:s}", "type", type, "message", msg);
  if (code) json_object_set_new(err, "code", json_string(code));
  if (param) json_object_set_new(err, "param", json_string(param));
  ps_reply_json(r, status, json_pack("{s:o}", "error", err));
}

/* The key index of the request's bearer token, or -1. */
static int st_authenticate(const ps_request_t *rq) {
  const char *auth = ps_header(rq, "Authorization");
  if (!auth || strncmp(auth, "Bearer ", 7)) return -1;
  const char *key = auth + 7;
  int found = -1;
  for (int i = 0; i < ps_cfg.nkeys; i++) {
    size_t n = strlen(ps_cfg.stripe_keys[i]);
    if (strlen(key) == n && sodium_memcmp(key, ps_cfg.stripe_keys[i], n) == 0) found = i;
  }
  return found;
}

/* A non-negative decimal integer without sign or spaces. */
static bool st_int(const char *s, int64_t max, int64_t *out) {
  if (!s || !*s || strlen(s) > 18) return false;
  for (const char *p = s; *p; p++)
    if (!isdigit((unsigned char)*p)) return false;
  long long v = strtoll(s, NULL, 10);
  if (v > max) return false;
  *out = v;
  return true;
}

json_t *ps_stripe_session_json(const ps_tx_t *tx) {
  static const char *status[] = {"open", "open", "complete", "expired", "open", "expired"};
  char url[1200], cur[4];
  snprintf(url, sizeof url, "%s/pay/%s", ps_cfg.public_url, tx->id);
  for (int i = 0; i < 4; i++) cur[i] = (char)tolower((unsigned char)tx->currency[i]);
  json_t *meta = json_loads(tx->metadata[0] ? tx->metadata : "{}", 0, NULL);
  bool open = tx->state == PS_TX_OPEN;
  json_t *doc = json_pack(
      "{s:s, s:s, s:o, s:s, s:s, s:I, s:I, s:s, s:o, s:o, s:o, s:I, s:I, s:s, s:b, s:s, s:o}", "id",
      tx->id, "object", "checkout.session", "url", open ? json_string(url) : json_null(), "status",
      status[tx->state], "payment_status", tx->state == PS_TX_PAID ? "paid" : "unpaid",
      "amount_total", (json_int_t)tx->amount, "amount_subtotal", (json_int_t)tx->amount, "currency",
      cur, "client_reference_id", tx->order_id[0] ? json_string(tx->order_id) : json_null(),
      "metadata", meta ? meta : json_object(), "payment_intent",
      tx->payment_intent[0] ? json_string(tx->payment_intent) : json_null(), "expires_at",
      (json_int_t)tx->expires_at, "created", (json_int_t)tx->created, "mode", "payment", "livemode",
      0, "success_url", tx->confirm_url, "cancel_url",
      tx->cancel_url[0] ? json_string(tx->cancel_url) : json_null());
  if (!doc) return NULL;
  json_object_set_new(doc, "customer", tx->customer[0] ? json_string(tx->customer) : json_null());
  json_object_set_new(doc, "setup_intent",
                      tx->setup_intent[0] ? json_string(tx->setup_intent) : json_null());
  if (tx->setup) { /* a registration: no amount, nothing to pay */
    json_object_set_new(doc, "mode", json_string("setup"));
    json_object_set_new(doc, "amount_total", json_null());
    json_object_set_new(doc, "amount_subtotal", json_null());
    json_object_set_new(doc, "payment_status", json_string("no_payment_required"));
  }
  return doc;
}

void ps_stripe_send_event(const ps_tx_t *tx, const char *type, const ps_behaviour_t *b, bool wait) {
  if (tx->provider != PS_STRIPE || ps_cfg.nwebhooks == 0) return;
  if (b->no_callback) {
    log_event(LOG_INFO, NULL, "webhook withheld (no_callback)", "tx", tx->id, "type", type,
              (char *)NULL);
    return;
  }
  char evt[48];
  ps_random_id(evt, sizeof evt, "evt_", 24);
  json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:I, s:b, s:i, s:{s:o}}", "id", evt, "object",
                          "event", "api_version", "2024-06-20", "type", type, "created",
                          (json_int_t)time(NULL), "livemode", 0, "pending_webhooks",
                          ps_cfg.nwebhooks, "data", "object", ps_stripe_session_json(tx));
  char *body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
  json_decref(doc);
  if (!body) return;
  ps_done_t *done = wait ? ps_done_new() : NULL;
  for (int i = 0; i < ps_cfg.nwebhooks; i++) {
    ps_callback_queue(tx->id, ps_cfg.webhooks[i].url, body, &ps_cfg.webhooks[i],
                      b->callback_delay_ms, done);
    if (b->double_callback) /* the same event (same id) once more */
      ps_callback_queue(tx->id, ps_cfg.webhooks[i].url, body, &ps_cfg.webhooks[i],
                        b->callback_delay_ms, NULL);
  }
  log_event(LOG_INFO, NULL, "webhook queued", "tx", tx->id, "type", type, "event", evt, "delay_ms",
            LOG_INT(b->callback_delay_ms), (char *)NULL);
  if (done) {
    ps_done_wait(done, 5000);
    ps_done_free(done);
  }
  free(body);
}

/* POST /v1/checkout/sessions with mode=setup: a card registration for an
 * existing customer (currency, success_url needed); no amount. */
static bool st_create_setup(const ps_form_t *f, int key, ps_reply_t *r) {
  ps_tx_t tx = {.provider = PS_STRIPE, .account = key, .state = PS_TX_OPEN, .setup = true};
  const char *cus = ps_form_get(f, "customer");
  const char *cur = ps_form_get(f, "currency");
  const char *success = ps_form_get(f, "success_url");
  const char *cancel = ps_form_get(f, "cancel_url");
  const char *ref = ps_form_get(f, "client_reference_id");
  if (!cus || strlen(cus) >= sizeof tx.customer || !ps_saved_customer_exists(key, cus)) {
    st_error(r, 400, "invalid_request_error", "resource_missing", "customer", "No such customer.");
    return false;
  }
  if (!cur || strlen(cur) != 3 || !islower((unsigned char)cur[0])) {
    st_error(r, 400, "invalid_request_error", "parameter_missing", "currency",
             "A lowercase currency is needed in setup mode.");
    return false;
  }
  for (int i = 0; i < 3; i++) tx.currency[i] = (char)toupper((unsigned char)cur[i]);
  if (ps_currency_exponent(tx.currency) < 0) {
    st_error(r, 400, "invalid_request_error", "invalid_currency", "currency", "Invalid currency.");
    return false;
  }
  if (!success || strlen(success) >= sizeof tx.confirm_url ||
      (cancel && strlen(cancel) >= sizeof tx.cancel_url) ||
      (ref && strlen(ref) >= sizeof tx.order_id)) {
    st_error(r, 400, "invalid_request_error", "parameter_missing", "success_url",
             "A success_url is needed.");
    return false;
  }
  snprintf(tx.customer, sizeof tx.customer, "%s", cus);
  snprintf(tx.item, sizeof tx.item, "Save a card for later payments");
  snprintf(tx.confirm_url, sizeof tx.confirm_url, "%s", success);
  snprintf(tx.cancel_url, sizeof tx.cancel_url, "%s", cancel ? cancel : "");
  snprintf(tx.order_id, sizeof tx.order_id, "%s", ref ? ref : "");
  snprintf(tx.metadata, sizeof tx.metadata, "{}");
  json_t *meta = json_object();
  for (int i = 0; i < f->n; i++) {
    size_t kl = strlen(f->keys[i]);
    if (!strncmp(f->keys[i], "metadata[", 9) && kl > 10 && kl < 70 && f->keys[i][kl - 1] == ']') {
      char k[64];
      snprintf(k, sizeof k, "%.*s", (int)(kl - 10), f->keys[i] + 9);
      json_object_set_new(meta, k, json_string(f->vals[i]));
    }
  }
  char *mt = json_dumps(meta, JSON_COMPACT);
  json_decref(meta);
  if (mt && strlen(mt) < sizeof tx.metadata) snprintf(tx.metadata, sizeof tx.metadata, "%s", mt);
  free(mt);
  tx.expires_at = time(NULL) + ps_cfg.expiry;
  bool dup;
  if (!ps_tx_insert(&tx, &dup)) {
    st_error(r, 500, "api_error", NULL, NULL, "Cannot store the session.");
    return false;
  }
  log_event(LOG_INFO, NULL, "stripe setup session created", "tx", tx.id, (char *)NULL);
  ps_behaviour_t b;
  ps_behaviour_get(tx.id, tx.order_id, &b);
  if (b.auto_pay) {
    ps_tx_autopay(&tx, &b);
    ps_tx_get(tx.id, &tx);
  }
  ps_reply_json(r, 200, ps_stripe_session_json(&tx));
  return true;
}

/* POST /v1/checkout/sessions; returns whether the reply may be replayed. */
static bool st_create(const ps_form_t *f, int key, ps_reply_t *r) {
  ps_tx_t tx = {.provider = PS_STRIPE, .account = key, .state = PS_TX_OPEN};
  const char *mode = ps_form_get(f, "mode");
  const char *cur = ps_form_get(f, "line_items[0][price_data][currency]");
  const char *name = ps_form_get(f, "line_items[0][price_data][product_data][name]");
  const char *success = ps_form_get(f, "success_url");
  const char *cancel = ps_form_get(f, "cancel_url");
  const char *ref = ps_form_get(f, "client_reference_id");
  int64_t unit, qty = 1, exp = 0;
  if (mode && !strcmp(mode, "setup")) return st_create_setup(f, key, r);
  if (!mode || strcmp(mode, "payment")) {
    st_error(r, 400, "invalid_request_error", "parameter_missing", "mode",
             "mode must be payment or setup.");
    return false;
  }
  if (!cur || strlen(cur) != 3) {
    st_error(r, 400, "invalid_request_error", "parameter_missing",
             "line_items[0][price_data][currency]", "A currency is needed.");
    return false;
  }
  for (int i = 0; i < 3; i++) tx.currency[i] = (char)toupper((unsigned char)cur[i]);
  bool lower = true;
  for (int i = 0; i < 3; i++) lower = lower && islower((unsigned char)cur[i]);
  if (ps_currency_exponent(tx.currency) < 0 || !lower) {
    st_error(r, 400, "invalid_request_error", "invalid_currency",
             "line_items[0][price_data][currency]", "Invalid currency (lowercase ISO 4217).");
    return false;
  }
  if (!st_int(ps_form_get(f, "line_items[0][price_data][unit_amount]"), 99999999, &unit) ||
      unit < 1) {
    st_error(r, 400, "invalid_request_error", "parameter_invalid_integer",
             "line_items[0][price_data][unit_amount]", "Invalid unit_amount.");
    return false;
  }
  if (ps_form_get(f, "line_items[0][quantity]") &&
      (!st_int(ps_form_get(f, "line_items[0][quantity]"), 999, &qty) || qty < 1)) {
    st_error(r, 400, "invalid_request_error", "parameter_invalid_integer",
             "line_items[0][quantity]", "Invalid quantity.");
    return false;
  }
  if (!name || !name[0] || !success || strlen(success) >= sizeof tx.confirm_url ||
      (cancel && strlen(cancel) >= sizeof tx.cancel_url) ||
      (ref && strlen(ref) >= sizeof tx.order_id)) {
    st_error(r, 400, "invalid_request_error", "parameter_missing",
             !name || !name[0] ? "line_items[0][price_data][product_data][name]" : "success_url",
             "A product name and a success_url are needed.");
    return false;
  }
  time_t now = time(NULL);
  if (ps_form_get(f, "expires_at")) {
    /* Stripe: 30 minutes to 24 hours ahead (a minute of clock skew allowed) */
    if (!st_int(ps_form_get(f, "expires_at"), INT64_C(1) << 40, &exp) || exp < now + 1800 - 60 ||
        exp > now + 86400 + 60) {
      st_error(r, 400, "invalid_request_error", "parameter_invalid_integer", "expires_at",
               "expires_at must be 30 minutes to 24 hours from now.");
      return false;
    }
  }
  tx.amount = unit * qty;
  tx.expires_at = exp ? (time_t)exp : now + ps_cfg.expiry;
  snprintf(tx.item, sizeof tx.item, "%s", name);
  snprintf(tx.confirm_url, sizeof tx.confirm_url, "%s", success);
  snprintf(tx.cancel_url, sizeof tx.cancel_url, "%s", cancel ? cancel : "");
  snprintf(tx.order_id, sizeof tx.order_id, "%s", ref ? ref : "");
  json_t *meta = json_object();
  for (int i = 0; i < f->n; i++) {
    size_t kl = strlen(f->keys[i]);
    if (!strncmp(f->keys[i], "metadata[", 9) && kl > 10 && f->keys[i][kl - 1] == ']') {
      char k[64];
      snprintf(k, sizeof k, "%.*s", (int)(kl - 10), f->keys[i] + 9);
      json_object_set_new(meta, k, json_string(f->vals[i]));
    }
  }
  char *mt = json_dumps(meta, JSON_COMPACT);
  json_decref(meta);
  if (!mt || strlen(mt) >= sizeof tx.metadata) {
    free(mt);
    st_error(r, 400, "invalid_request_error", "parameter_invalid", "metadata",
             "Too much metadata.");
    return false;
  }
  snprintf(tx.metadata, sizeof tx.metadata, "%s", mt);
  free(mt);
  bool dup;
  if (!ps_tx_insert(&tx, &dup)) {
    st_error(r, 500, "api_error", NULL, NULL, "Cannot store the session.");
    return false;
  }
  log_event(LOG_INFO, NULL, "stripe session created", "tx", tx.id, "order", tx.order_id, "amount",
            LOG_INT(tx.amount), "currency", tx.currency, (char *)NULL);
  ps_behaviour_t b;
  ps_behaviour_get(tx.id, tx.order_id, &b);
  if (b.auto_pay) {
    ps_tx_autopay(&tx, &b);
    ps_tx_get(tx.id, &tx);
  }
  ps_reply_json(r, 200, ps_stripe_session_json(&tx));
  return true;
}

static int st_expire_cas(ps_tx_t *tx, void *arg) {
  (void)arg;
  if (tx->state != PS_TX_OPEN) return 0;
  tx->state = PS_TX_EXPIRED;
  return 1;
}

typedef struct {
  int64_t amount; /* -1: what remains */
  int rc;         /* 0 ok, 1 nothing left, 2 too large, 3 not paid */
} st_refund_t;

static int st_refund_cas(ps_tx_t *tx, void *arg) {
  st_refund_t *op = arg;
  int64_t left = tx->amount - tx->refunded;
  if (tx->state != PS_TX_PAID)
    op->rc = 3;
  else if (left == 0)
    op->rc = 1;
  else if (op->amount > left)
    op->rc = 2;
  else {
    if (op->amount < 0) op->amount = left;
    tx->refunded += op->amount;
    tx->nrefunds++;
    op->rc = 0;
  }
  return op->rc;
}

/* POST /v1/refunds; returns whether the reply may be replayed. */
static bool st_refund(const ps_form_t *f, int key, ps_reply_t *r, const ps_tx_t *tx) {
  st_refund_t op = {.amount = -1};
  const char *amount = ps_form_get(f, "amount");
  if (amount && (!st_int(amount, INT64_C(1000000000000000), &op.amount) || op.amount < 1)) {
    st_error(r, 400, "invalid_request_error", "parameter_invalid_integer", "amount",
             "Invalid amount.");
    return false;
  }
  if (!tx || tx->account != key) {
    st_error(r, 404, "invalid_request_error", "resource_missing", "payment_intent",
             "No such payment_intent.");
    return false;
  }
  bool found;
  ps_tx_t after;
  ps_tx_update(tx->id, st_refund_cas, &op, &found, &after);
  if (op.rc == 1) {
    st_error(r, 400, "invalid_request_error", "charge_already_refunded", NULL,
             "The charge has already been refunded.");
  } else if (op.rc == 2) {
    st_error(r, 400, "invalid_request_error", "amount_too_large", "amount",
             "The refund amount is greater than what remains of the charge.");
  } else if (op.rc == 3) {
    st_error(r, 400, "invalid_request_error", "charge_not_paid", "payment_intent",
             "The payment intent has not been paid.");
  } else {
    char id[48], cur[4];
    ps_random_id(id, sizeof id, "re_", 24);
    for (int i = 0; i < 4; i++) cur[i] = (char)tolower((unsigned char)after.currency[i]);
    log_event(LOG_INFO, NULL, "stripe refunded", "tx", after.id, "refund", id, "amount",
              LOG_INT(op.amount), (char *)NULL);
    ps_reply_json(
        r, 200,
        json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:I}", "id", id, "object", "refund", "amount",
                  (json_int_t)op.amount, "currency", cur, "status", "succeeded", "payment_intent",
                  after.payment_intent, "created", (json_int_t)time(NULL)));
  }
  return true;
}

void ps_stripe_handle(const ps_request_t *rq, ps_reply_t *r) {
  int key = st_authenticate(rq);
  if (key < 0) {
    log_event(LOG_WARN, NULL, "stripe request refused: unknown key", "path", rq->path,
              (char *)NULL);
    st_error(r, 401, "invalid_request_error", NULL, NULL, "Invalid API Key provided.");
    return;
  }
  bool post = !strcmp(rq->method, "POST");
  const char *sess = "/v1/checkout/sessions";
  ps_form_t f;
  if (!ps_form_parse(post ? rq->body : rq->query, post ? rq->body_len : strlen(rq->query), &f)) {
    st_error(r, 400, "invalid_request_error", NULL, NULL, "Cannot decode the parameters.");
    return;
  }
  /* what the call is about, for misbehaviour scopes */
  char id[96] = "";
  bool create = post && !strcmp(rq->path, sess);
  bool refund = post && !strcmp(rq->path, "/v1/refunds");
  bool expire = false, get = false;
  ps_tx_t tx;
  bool have = false;
  if (!create && !refund && !strncmp(rq->path, sess, strlen(sess)) &&
      rq->path[strlen(sess)] == '/') {
    const char *rest = rq->path + strlen(sess) + 1;
    size_t n = strcspn(rest, "/");
    if (n < sizeof id) snprintf(id, sizeof id, "%.*s", (int)n, rest);
    get = !post && rest[n] == '\0';
    expire = post && !strcmp(rest + n, "/expire");
    have = ps_tx_get(id, &tx) && tx.provider == PS_STRIPE && tx.account == key;
  } else if (refund) {
    const char *pi = ps_form_get(&f, "payment_intent");
    have = pi && ps_tx_get_by_pi(pi, &tx) && tx.account == key;
  }
  bool saved = !create && !refund && !get && !expire && ps_saved_stripe_wants(rq->method, rq->path);
  if (!create && !refund && !get && !expire && !saved) {
    st_error(r, 404, "invalid_request_error", NULL, NULL, "Unrecognized request URL.");
    goto done;
  }
  const char *order = create ? ps_form_get(&f, "client_reference_id") : NULL;
  if (!order && (create || saved)) order = ps_form_get(&f, "metadata[order_id]");
  if (ps_api_misbehaves(have ? tx.id : NULL, have ? tx.order_id : order, r, false)) goto done;
  if (saved && !post) {
    ps_saved_stripe_get(rq, key, r);
    goto done;
  }
  if (get) {
    if (!have)
      st_error(r, 404, "invalid_request_error", "resource_missing", "id",
               "No such checkout.session.");
    else
      ps_reply_json(r, 200, ps_stripe_session_json(&tx));
    goto done;
  }
  /* POST: Idempotency-Key replay */
  const char *ikey = ps_header(rq, "Idempotency-Key");
  if (ikey && (!ikey[0] || strlen(ikey) > 255)) {
    st_error(r, 400, "idempotency_error", NULL, NULL, "Idempotency-Key: 1 to 255 characters.");
    goto done;
  }
  if (ikey) {
    unsigned char digest[32];
    ps_form_digest(&f, rq->path, digest);
    int status = 0;
    char *body = NULL;
    int rc = ps_idem_begin(key, ikey, digest, &status, &body);
    if (rc == 1) {
      r->status = status;
      r->content_type = "application/json";
      free(r->body);
      r->body = body;
      r->replayed = true;
      goto done;
    }
    if (rc == 2) {
      st_error(r, 400, "idempotency_error", NULL, NULL,
               "Keys for idempotent requests can only be used with the same parameters they "
               "were first used with.");
      goto done;
    }
    if (rc == 3) {
      st_error(r, 409, "idempotency_error", NULL, NULL,
               "There is currently another in-progress request using this Idempotent Key.");
      goto done;
    }
  }
  bool keep;
  if (saved) {
    keep = ps_saved_stripe_post(rq, &f, key, r);
  } else if (create) {
    keep = st_create(&f, key, r);
  } else if (refund) {
    keep = st_refund(&f, key, r, have ? &tx : NULL);
  } else if (!have) {
    st_error(r, 404, "invalid_request_error", "resource_missing", "id",
             "No such checkout.session.");
    keep = false;
  } else {
    bool found;
    ps_tx_t after;
    if (ps_tx_update(tx.id, st_expire_cas, NULL, &found, &after)) {
      ps_behaviour_t b;
      ps_behaviour_get(after.id, after.order_id, &b);
      ps_stripe_send_event(&after, "checkout.session.expired", &b, false);
      log_event(LOG_INFO, NULL, "stripe session expired", "tx", after.id, (char *)NULL);
      ps_reply_json(r, 200, ps_stripe_session_json(&after));
    } else {
      st_error(r, 400, "invalid_request_error", "checkout_session_not_open", NULL,
               "Only Checkout Sessions with a status of open can be expired.");
    }
    keep = true;
  }
  if (ikey) {
    if (keep)
      ps_idem_finish(key, ikey, r->status, r->body);
    else
      ps_idem_abort(key, ikey);
  }
done:
  ps_form_free(&f);
}
