/*
 * saved.c: nimbus-paysim's saved payment methods, charged server to server
 * with no user present (what nimbusd's private purposes use):
 *
 *   LINE Pay  a PREAPPROVED request, once approved and confirmed, gives a
 *             regKey ("RK" + 13 characters); POST
 *             /v3/payments/preapprovedPay/{regKey}/payment charges it
 *             (capture true), .../expire ends it, .../check says whether it
 *             lives; GET /v3/payments?orderId= (payment details) lists the
 *             payment made under an order id.
 *   Stripe    POST /v1/customers; a setup-mode Checkout Session (stripe.c)
 *             whose Pay saves a card (pm_..., visa 4242) with a succeeded
 *             SetupIntent; GET /v1/setup_intents/{id}, GET
 *             /v1/payment_methods/{id}, POST .../detach; POST
 *             /v1/payment_intents with confirm=true and off_session=true.
 *
 * A successful charge is also a transaction (PAID, in /sim/transactions)
 * so refunds and duplicate order ids work as for any payment.  Every
 * attempt, declined ones too, is logged for GET /sim/charges; POST
 * /sim/decline-saved makes the next N charges of a method fail.  The
 * records live under the transaction table's mutex (ps_table_lock).
 */
#include "paysim.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define PS_SAVED_MAX 4096   /* methods, customers, setup intents each */
#define PS_CHARGES_MAX 8192 /* charge attempts logged; the oldest go first */

typedef struct {
  char id[40]; /* regKey or pm_... */
  ps_provider_t provider;
  int account;
  char customer[40]; /* Stripe: attached to ("" once detached) */
  bool active;       /* LINE Pay: not expired; Stripe: attached */
  int decline_left;  /* charges still to decline: 0 none, -1 all */
  char decline_code[40];
  time_t created;
} ps_method_t;

typedef struct {
  char id[40];
  int account;
  char metadata[512]; /* JSON object text */
  time_t created;
} ps_customer_t;

typedef struct {
  char id[40];
  int account;
  char customer[40];
  char pm[40];
  time_t created;
} ps_seti_t;

typedef struct {
  ps_provider_t provider;
  char method[40];
  char order_id[128];
  int64_t amount;
  char currency[4];
  bool ok;
  char code[40]; /* why it was declined */
  char tx[80];   /* LINE Pay transactionId / Stripe payment intent */
  time_t at;
} ps_charge_t;

static ps_method_t ps_methods[PS_SAVED_MAX];
static int ps_nmethods;
static ps_customer_t ps_customers[PS_SAVED_MAX];
static int ps_ncustomers;
static ps_seti_t ps_setis[PS_SAVED_MAX];
static int ps_nsetis;
static ps_charge_t ps_charges[PS_CHARGES_MAX];
static int ps_ncharges;

void ps_saved_reset_locked(void) {
  ps_nmethods = ps_ncustomers = ps_nsetis = ps_ncharges = 0;
}

/* The method with this id (any provider, account < 0: any); lock held. */
static ps_method_t *ps_method_find_locked(const char *id, ps_provider_t provider, int account) {
  for (int i = 0; i < ps_nmethods; i++) {
    ps_method_t *m = &ps_methods[i];
    if (!strcmp(m->id, id) && m->provider == provider && (account < 0 || m->account == account))
      return m;
  }
  return NULL;
}

bool ps_saved_linepay_register_locked(ps_tx_t *tx) {
  if (ps_nmethods == PS_SAVED_MAX) return false;
  ps_method_t *m = &ps_methods[ps_nmethods++];
  memset(m, 0, sizeof *m);
  ps_random_id(m->id, sizeof m->id, "RK", 13);
  m->provider = PS_LINEPAY;
  m->account = tx->account;
  m->active = true;
  m->created = time(NULL);
  snprintf(tx->saved_ref, sizeof tx->saved_ref, "%s", m->id);
  return true;
}

bool ps_saved_stripe_register_locked(ps_tx_t *tx) {
  if (ps_nmethods == PS_SAVED_MAX || ps_nsetis == PS_SAVED_MAX) return false;
  ps_method_t *m = &ps_methods[ps_nmethods++];
  memset(m, 0, sizeof *m);
  ps_random_id(m->id, sizeof m->id, "pm_", 24);
  m->provider = PS_STRIPE;
  m->account = tx->account;
  snprintf(m->customer, sizeof m->customer, "%s", tx->customer);
  m->active = true;
  m->created = time(NULL);
  ps_seti_t *s = &ps_setis[ps_nsetis++];
  memset(s, 0, sizeof *s);
  ps_random_id(s->id, sizeof s->id, "seti_", 24);
  s->account = tx->account;
  snprintf(s->customer, sizeof s->customer, "%s", tx->customer);
  snprintf(s->pm, sizeof s->pm, "%s", m->id);
  s->created = m->created;
  snprintf(tx->setup_intent, sizeof tx->setup_intent, "%s", s->id);
  snprintf(tx->saved_ref, sizeof tx->saved_ref, "%s", m->id);
  return true;
}

bool ps_saved_customer_exists(int key, const char *customer) {
  bool found = false;
  ps_table_lock();
  for (int i = 0; i < ps_ncustomers && !found; i++)
    found = ps_customers[i].account == key && !strcmp(ps_customers[i].id, customer);
  ps_table_unlock();
  return found;
}

/* Log one charge attempt. */
static void ps_charge_log(ps_provider_t provider, const char *method, const char *order,
                          int64_t amount, const char *currency, bool ok, const char *code,
                          const char *tx) {
  ps_table_lock();
  if (ps_ncharges == PS_CHARGES_MAX) {
    memmove(ps_charges, ps_charges + 1, sizeof(ps_charge_t) * (PS_CHARGES_MAX - 1));
    ps_ncharges--;
  }
  ps_charge_t *c = &ps_charges[ps_ncharges++];
  memset(c, 0, sizeof *c);
  c->provider = provider;
  snprintf(c->method, sizeof c->method, "%s", method);
  snprintf(c->order_id, sizeof c->order_id, "%s", order ? order : "");
  c->amount = amount;
  snprintf(c->currency, sizeof c->currency, "%s", currency);
  c->ok = ok;
  snprintf(c->code, sizeof c->code, "%s", code ? code : "");
  snprintf(c->tx, sizeof c->tx, "%s", tx ? tx : "");
  c->at = time(NULL);
  ps_table_unlock();
}

/* What a charge of method id (provider/account) meets: 0 go on, 1 no
 * such method, 2 inactive, 3 declined (code into why). */
static int ps_charge_gate(const char *id, ps_provider_t provider, int account, const char *customer,
                          char why[40]) {
  int rc = 0;
  why[0] = '\0';
  ps_table_lock();
  ps_method_t *m = ps_method_find_locked(id, provider, account);
  if (!m) {
    rc = 1;
  } else if (!m->active || (customer && strcmp(m->customer, customer))) {
    rc = 2;
  } else if (m->decline_left != 0) {
    if (m->decline_left > 0) m->decline_left--;
    snprintf(why, 40, "%s", m->decline_code);
    rc = 3;
  }
  ps_table_unlock();
  return rc;
}

/* ---- LINE Pay ---- */

static void lp_saved_reply(ps_reply_t *r, const char *code, const char *msg, json_t *info) {
  json_t *doc = json_pack("{s:s, s:s}", "returnCode", code, "returnMessage", msg);
  if (info) json_object_set_new(doc, "info", info);
  ps_reply_json(r, 200, doc);
}

/* The regKey of "/v3/payments/preapprovedPay/<key><verb>", or false. */
static bool lp_saved_key(const char *path, const char *verb, char *key, size_t len) {
  static const char prefix[] = "/v3/payments/preapprovedPay/";
  if (strncmp(path, prefix, sizeof prefix - 1)) return false;
  const char *rest = path + sizeof prefix - 1;
  size_t n = 0;
  while (isalnum((unsigned char)rest[n])) n++;
  if (n == 0 || n >= len || strcmp(rest + n, verb)) return false;
  snprintf(key, len, "%.*s", (int)n, rest);
  return true;
}

static void lp_iso_now(char *out, size_t len) {
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* POST /v3/payments/preapprovedPay/{regKey}/payment */
static void lp_saved_pay(const ps_request_t *rq, ps_reply_t *r, int ch, const char *regkey) {
  json_t *doc = ps_json_parse_exact(rq->body, rq->body_len);
  if (!json_is_object(doc)) {
    lp_saved_reply(r, "2102", "Wrong json format.", NULL);
    goto done;
  }
  const char *name = json_string_value(json_object_get(doc, "productName"));
  const char *cur = json_string_value(json_object_get(doc, "currency"));
  const char *order = json_string_value(json_object_get(doc, "orderId"));
  json_t *capture = json_object_get(doc, "capture");
  ps_tx_t tx = {.provider = PS_LINEPAY, .account = ch, .state = PS_TX_PAID, .charge = true};
  if (ps_api_misbehaves(NULL, order, r, true)) goto done;
  if (!name || !name[0] || !cur || strlen(cur) != 3 || ps_currency_exponent(cur) < 0 || !order ||
      !order[0] || strlen(order) > 100 || (capture && !json_is_true(capture))) {
    /* paysim takes capture true (or absent) only */
    lp_saved_reply(r, "2101", "Parameter error.", NULL);
    goto done;
  }
  snprintf(tx.currency, sizeof tx.currency, "%s", cur);
  if (!ps_json_get_amount(json_object_get(doc, "amount"), cur, &tx.amount) || tx.amount <= 0) {
    lp_saved_reply(r, "1183", "Payment amount must be greater than 0.", NULL);
    goto done;
  }
  ps_tx_t prior;
  if (ps_tx_get_by_order(PS_LINEPAY, ch, order, &prior)) {
    lp_saved_reply(r, "1172", "Existing same orderId.", NULL);
    goto done;
  }
  char why[40];
  int gate = ps_charge_gate(regkey, PS_LINEPAY, ch, NULL, why);
  if (gate == 1 || gate == 2) {
    lp_saved_reply(r, gate == 1 ? "1190" : "1193",
                   gate == 1 ? "regKey does not exist." : "regKey expired.", NULL);
    goto done;
  }
  if (gate == 3) {
    const char *code = why[0] ? why : "1142";
    ps_charge_log(PS_LINEPAY, regkey, order, tx.amount, cur, false, code, NULL);
    log_event(LOG_INFO, NULL, "linepay preapproved payment declined", "order", order, "code", code,
              (char *)NULL);
    lp_saved_reply(r, code, !strcmp(code, "1142") ? "Insufficient balance." : "Declined.", NULL);
    goto done;
  }
  snprintf(tx.order_id, sizeof tx.order_id, "%s", order);
  snprintf(tx.item, sizeof tx.item, "%s", name);
  snprintf(tx.saved_ref, sizeof tx.saved_ref, "%s", regkey);
  tx.expires_at = time(NULL);
  bool dup;
  if (!ps_tx_insert(&tx, &dup)) {
    lp_saved_reply(r, dup ? "1172" : "9000", dup ? "Existing same orderId." : "Internal error.",
                   NULL);
    goto done;
  }
  ps_charge_log(PS_LINEPAY, regkey, order, tx.amount, cur, true, NULL, tx.id);
  log_event(LOG_INFO, NULL, "linepay preapproved payment", "tx", tx.id, "order", order, "amount",
            LOG_INT(tx.amount), "currency", cur, (char *)NULL);
  char date[32];
  lp_iso_now(date, sizeof date);
  lp_saved_reply(r, "0000", "Success.",
                 json_pack("{s:I, s:s}", "transactionId", (json_int_t)strtoll(tx.id, NULL, 10),
                           "transactionDate", date));
done:
  json_decref(doc);
}

/* POST .../expire (1) or GET .../check (0) of a regKey. */
static void lp_saved_key_op(ps_reply_t *r, int ch, const char *regkey, bool expire) {
  const char *code;
  ps_table_lock();
  ps_method_t *m = ps_method_find_locked(regkey, PS_LINEPAY, ch);
  if (!m)
    code = "1190";
  else if (!m->active)
    code = "1193";
  else
    code = "0000";
  if (m && expire) m->active = false;
  ps_table_unlock();
  if (m && expire && !strcmp(code, "0000"))
    log_event(LOG_INFO, NULL, "linepay regKey expired", (char *)NULL);
  lp_saved_reply(r, code,
                 !strcmp(code, "0000")   ? "Success."
                 : !strcmp(code, "1190") ? "regKey does not exist."
                                         : "regKey expired.",
                 NULL);
}

/* GET /v3/payments?orderId=...: the payment under that order id (paysim
 * answers by orderId only). */
static void lp_saved_details(const ps_request_t *rq, ps_reply_t *r, int ch) {
  ps_form_t f;
  if (!ps_form_parse(rq->query, strlen(rq->query), &f)) {
    lp_saved_reply(r, "2101", "Parameter error.", NULL);
    return;
  }
  const char *order = ps_form_get(&f, "orderId");
  json_t *list = json_array();
  ps_tx_t tx;
  if (order && ps_tx_get_by_order(PS_LINEPAY, ch, order, &tx) &&
      (tx.state == PS_TX_PAID && !tx.preapproved)) {
    char date[32];
    struct tm tm;
    gmtime_r(&tx.created, &tm);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_array_append_new(
        list, json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:[{s:s, s:o}]}", "transactionId",
                        (json_int_t)strtoll(tx.id, NULL, 10), "transactionDate", date,
                        "transactionType", "PAYMENT", "productName", tx.item, "currency",
                        tx.currency, "orderId", tx.order_id, "payInfo", "method", "BALANCE",
                        "amount", ps_json_amount(tx.amount, tx.currency)));
  }
  ps_form_free(&f);
  if (!order) {
    json_decref(list);
    lp_saved_reply(r, "2101", "Parameter error: orderId.", NULL);
    return;
  }
  lp_saved_reply(r, "0000", "Success.", list);
}

bool ps_saved_linepay_handle(const ps_request_t *rq, ps_reply_t *r, int ch) {
  bool post = !strcmp(rq->method, "POST"), get = !strcmp(rq->method, "GET");
  char key[40];
  if (get && !strcmp(rq->path, "/v3/payments")) {
    lp_saved_details(rq, r, ch);
  } else if (post && lp_saved_key(rq->path, "/payment", key, sizeof key)) {
    lp_saved_pay(rq, r, ch, key);
  } else if (post && lp_saved_key(rq->path, "/expire", key, sizeof key)) {
    lp_saved_key_op(r, ch, key, true);
  } else if (get && lp_saved_key(rq->path, "/check", key, sizeof key)) {
    lp_saved_key_op(r, ch, key, false);
  } else {
    return false;
  }
  return true;
}

/* ---- Stripe ---- */

static void st_saved_error(ps_reply_t *r, int status, const char *type, const char *code,
                           const char *msg) {
  json_t *err = json_pack("{s:s, s:s}", "type", type, "message", msg);
  if (code) json_object_set_new(err, "code", json_string(code));
  ps_reply_json(r, status, json_pack("{s:o}", "error", err));
}

/* The id after prefix in path when the rest is exactly verb ("" or "/detach"). */
static bool st_saved_id(const char *path, const char *prefix, const char *verb, char *id,
                        size_t len) {
  size_t pl = strlen(prefix);
  if (strncmp(path, prefix, pl)) return false;
  const char *rest = path + pl;
  size_t n = 0;
  while (isalnum((unsigned char)rest[n]) || rest[n] == '_') n++;
  if (n == 0 || n >= len || strcmp(rest + n, verb)) return false;
  snprintf(id, len, "%.*s", (int)n, rest);
  return true;
}

bool ps_saved_stripe_wants(const char *method, const char *path) {
  char id[64];
  if (!strcmp(method, "POST"))
    return !strcmp(path, "/v1/customers") || !strcmp(path, "/v1/payment_intents") ||
           st_saved_id(path, "/v1/payment_methods/", "/detach", id, sizeof id);
  if (!strcmp(method, "GET"))
    return st_saved_id(path, "/v1/setup_intents/", "", id, sizeof id) ||
           st_saved_id(path, "/v1/payment_methods/", "", id, sizeof id);
  return false;
}

/* A payment_method object; lock held. */
static json_t *st_pm_json_locked(const ps_method_t *m) {
  struct tm tm;
  gmtime_r(&m->created, &tm);
  return json_pack("{s:s, s:s, s:s, s:o, s:I, s:b, s:{s:s, s:s, s:i, s:i, s:s, s:s}}", "id", m->id,
                   "object", "payment_method", "type", "card", "customer",
                   m->customer[0] ? json_string(m->customer) : json_null(), "created",
                   (json_int_t)m->created, "livemode", 0, "card", "brand", "visa", "last4", "4242",
                   "exp_month", 12, "exp_year", tm.tm_year + 1900 + 3, "funding", "credit",
                   "country", "US");
}

void ps_saved_stripe_get(const ps_request_t *rq, int key, ps_reply_t *r) {
  char id[64];
  json_t *doc = NULL;
  const char *what = "resource";
  ps_table_lock();
  if (st_saved_id(rq->path, "/v1/setup_intents/", "", id, sizeof id)) {
    what = "setup_intent";
    for (int i = 0; i < ps_nsetis && !doc; i++) {
      const ps_seti_t *s = &ps_setis[i];
      if (s->account == key && !strcmp(s->id, id))
        doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:b}", "id", s->id, "object",
                        "setup_intent", "status", "succeeded", "customer", s->customer,
                        "payment_method", s->pm, "usage", "off_session", "created",
                        (json_int_t)s->created, "livemode", 0);
    }
  } else if (st_saved_id(rq->path, "/v1/payment_methods/", "", id, sizeof id)) {
    what = "payment_method";
    ps_method_t *m = ps_method_find_locked(id, PS_STRIPE, key);
    if (m) doc = st_pm_json_locked(m);
  }
  ps_table_unlock();
  if (doc) {
    ps_reply_json(r, 200, doc);
  } else {
    char msg[96];
    snprintf(msg, sizeof msg, "No such %s.", what);
    st_saved_error(r, 404, "invalid_request_error", "resource_missing", msg);
  }
}

/* POST /v1/customers */
static bool st_saved_customer(const ps_form_t *f, int key, ps_reply_t *r) {
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
  ps_customer_t c = {.account = key, .created = time(NULL)};
  if (!mt || strlen(mt) >= sizeof c.metadata) {
    free(mt);
    st_saved_error(r, 400, "invalid_request_error", "parameter_invalid", "Too much metadata.");
    return false;
  }
  snprintf(c.metadata, sizeof c.metadata, "%s", mt);
  free(mt);
  ps_random_id(c.id, sizeof c.id, "cus_", 14);
  bool ok = false;
  ps_table_lock();
  if (ps_ncustomers < PS_SAVED_MAX) {
    ps_customers[ps_ncustomers++] = c;
    ok = true;
  }
  ps_table_unlock();
  if (!ok) {
    st_saved_error(r, 500, "api_error", NULL, "Too many customers (reset first).");
    return false;
  }
  log_event(LOG_INFO, NULL, "stripe customer created", "customer", c.id, (char *)NULL);
  ps_reply_json(
      r, 200,
      json_pack("{s:s, s:s, s:I, s:o, s:b}", "id", c.id, "object", "customer", "created",
                (json_int_t)c.created, "metadata", json_loads(c.metadata, 0, NULL), "livemode", 0));
  return true;
}

/* POST /v1/payment_methods/{id}/detach */
static bool st_saved_detach(const char *id, int key, ps_reply_t *r) {
  json_t *doc = NULL;
  int rc = 0; /* 0 detached, 1 unknown, 2 not attached */
  ps_table_lock();
  ps_method_t *m = ps_method_find_locked(id, PS_STRIPE, key);
  if (!m) {
    rc = 1;
  } else if (!m->active) {
    rc = 2;
  } else {
    m->active = false;
    m->customer[0] = '\0';
    doc = st_pm_json_locked(m);
  }
  ps_table_unlock();
  if (rc == 1) {
    st_saved_error(r, 404, "invalid_request_error", "resource_missing", "No such PaymentMethod.");
    return false;
  }
  if (rc == 2) {
    st_saved_error(r, 400, "invalid_request_error", "payment_method_unexpected_state",
                   "The payment method is not attached to a customer.");
    return true;
  }
  log_event(LOG_INFO, NULL, "stripe payment method detached", (char *)NULL);
  ps_reply_json(r, 200, doc);
  return true;
}

/* The payment_intent object of a charge. */
static json_t *st_pi_json(const char *id, int64_t amount, const char *cur, const char *customer,
                          const char *pm, const char *status, const char *order) {
  char lower[4];
  for (int i = 0; i < 4; i++) lower[i] = (char)tolower((unsigned char)cur[i]);
  return json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:I, s:b, s:{s:s}}", "id", id, "object",
                   "payment_intent", "amount", (json_int_t)amount, "currency", lower, "customer",
                   customer, "payment_method", pm, "status", status, "created",
                   (json_int_t)time(NULL), "livemode", 0, "metadata", "order_id",
                   order ? order : "");
}

/* POST /v1/payment_intents (confirm=true, off_session=true only) */
static bool st_saved_charge(const ps_form_t *f, int key, ps_reply_t *r) {
  const char *cur = ps_form_get(f, "currency");
  const char *cus = ps_form_get(f, "customer");
  const char *pm = ps_form_get(f, "payment_method");
  const char *amount = ps_form_get(f, "amount");
  const char *order = ps_form_get(f, "metadata[order_id]");
  const char *desc = ps_form_get(f, "description");
  const char *confirm = ps_form_get(f, "confirm"), *off = ps_form_get(f, "off_session");
  ps_tx_t tx = {.provider = PS_STRIPE, .account = key, .state = PS_TX_PAID, .charge = true};
  if (!confirm || strcmp(confirm, "true") || !off || strcmp(off, "true")) {
    st_saved_error(r, 400, "invalid_request_error", "parameter_invalid",
                   "paysim takes confirm=true and off_session=true only.");
    return false;
  }
  if (!cur || strlen(cur) != 3 || !islower((unsigned char)cur[0])) {
    st_saved_error(r, 400, "invalid_request_error", "invalid_currency", "Invalid currency.");
    return false;
  }
  for (int i = 0; i < 3; i++) tx.currency[i] = (char)toupper((unsigned char)cur[i]);
  char *end = NULL;
  long long a = amount ? strtoll(amount, &end, 10) : 0;
  if (ps_currency_exponent(tx.currency) < 0 || !amount || !*amount || *end || a < 1 ||
      a > 99999999 || !isdigit((unsigned char)amount[0])) {
    st_saved_error(r, 400, "invalid_request_error", "parameter_invalid_integer", "Invalid amount.");
    return false;
  }
  tx.amount = a;
  if (!cus || !pm || strlen(pm) >= sizeof tx.saved_ref) {
    st_saved_error(r, 400, "invalid_request_error", "parameter_missing",
                   "customer and payment_method are needed.");
    return false;
  }
  char why[40], pi[48];
  int gate = ps_charge_gate(pm, PS_STRIPE, key, cus, why);
  if (gate == 1) {
    st_saved_error(r, 400, "invalid_request_error", "resource_missing", "No such PaymentMethod.");
    return false;
  }
  if (gate == 2) {
    st_saved_error(r, 400, "invalid_request_error", "payment_method_unexpected_state",
                   "The PaymentMethod is not attached to this customer.");
    return false;
  }
  ps_random_id(pi, sizeof pi, "pi_", 24);
  if (gate == 3) {
    const char *dc = why[0] ? why : "generic_decline";
    bool auth = !strcmp(dc, "authentication_required");
    ps_charge_log(PS_STRIPE, pm, order, tx.amount, tx.currency, false, dc, pi);
    log_event(LOG_INFO, NULL, "stripe off-session charge declined", "order", order ? order : "",
              "code", dc, (char *)NULL);
    json_t *err = json_pack(
        "{s:s, s:s, s:s, s:s, s:o}", "type", "card_error", "code",
        auth ? "authentication_required" : "card_declined", "decline_code", dc, "message",
        auth ? "This payment requires authentication." : "Your card was declined.",
        "payment_intent",
        st_pi_json(pi, tx.amount, tx.currency, cus, pm, "requires_payment_method", order));
    ps_reply_json(r, 402, json_pack("{s:o}", "error", err));
    return true; /* Stripe replays a declined attempt for the same key */
  }
  snprintf(tx.payment_intent, sizeof tx.payment_intent, "%s", pi);
  snprintf(tx.order_id, sizeof tx.order_id, "%s", order ? order : "");
  snprintf(tx.item, sizeof tx.item, "%s", desc && *desc ? desc : "Off-session payment");
  snprintf(tx.customer, sizeof tx.customer, "%s", cus);
  snprintf(tx.saved_ref, sizeof tx.saved_ref, "%s", pm);
  tx.expires_at = time(NULL);
  bool dup;
  if (!ps_tx_insert(&tx, &dup)) {
    st_saved_error(r, 500, "api_error", NULL, "Cannot store the payment.");
    return false;
  }
  ps_charge_log(PS_STRIPE, pm, order, tx.amount, tx.currency, true, NULL, pi);
  log_event(LOG_INFO, NULL, "stripe off-session charge", "payment_intent", pi, "order",
            order ? order : "", "amount", LOG_INT(tx.amount), (char *)NULL);
  ps_reply_json(r, 200, st_pi_json(pi, tx.amount, tx.currency, cus, pm, "succeeded", order));
  return true;
}

bool ps_saved_stripe_post(const ps_request_t *rq, const ps_form_t *f, int key, ps_reply_t *r) {
  char id[64];
  if (!strcmp(rq->path, "/v1/customers")) return st_saved_customer(f, key, r);
  if (!strcmp(rq->path, "/v1/payment_intents")) return st_saved_charge(f, key, r);
  if (st_saved_id(rq->path, "/v1/payment_methods/", "/detach", id, sizeof id))
    return st_saved_detach(id, key, r);
  st_saved_error(r, 404, "invalid_request_error", NULL, "Unrecognized request URL.");
  return false;
}

/* ---- /sim ---- */

/* POST /sim/decline-saved {"ref", "count", "code"?} */
static void ps_sim_decline_saved(const ps_request_t *rq, ps_reply_t *r) {
  json_t *doc = json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, NULL);
  const char *ref = json_string_value(json_object_get(doc, "ref"));
  json_t *count = json_object_get(doc, "count");
  json_t *code = json_object_get(doc, "code");
  const char *codes = json_string_value(code);
  if (!ref || !json_is_integer(count) || json_integer_value(count) < -1 ||
      json_integer_value(count) > 1000000 || (code && (!codes || strlen(codes) >= 40))) {
    ps_reply_json(r, 400,
                  json_pack("{s:s}", "error",
                            "{\"ref\": regKey or pm_..., \"count\": -1..1000000, "
                            "\"code\"?: a returnCode or decline_code} is needed"));
    json_decref(doc);
    return;
  }
  bool found = false;
  ps_table_lock();
  for (int i = 0; i < ps_nmethods; i++) {
    ps_method_t *m = &ps_methods[i];
    if (strcmp(m->id, ref)) continue;
    m->decline_left = (int)json_integer_value(count);
    snprintf(m->decline_code, sizeof m->decline_code, "%s", codes ? codes : "");
    found = true;
  }
  ps_table_unlock();
  if (found) {
    log_event(LOG_INFO, NULL, "saved method declines set", "count",
              LOG_INT(json_integer_value(count)), (char *)NULL);
    ps_reply_json(r, 200, json_pack("{s:s, s:I}", "ref", ref, "count", json_integer_value(count)));
  } else {
    ps_reply_json(r, 404, json_pack("{s:s}", "error", "no such saved method"));
  }
  json_decref(doc);
}

bool ps_saved_sim(const ps_request_t *rq, ps_reply_t *r) {
  const char *p = rq->path + 4; /* after "/sim" */
  bool get = !strcmp(rq->method, "GET");
  if (!strcmp(p, "/decline-saved") && !strcmp(rq->method, "POST")) {
    ps_sim_decline_saved(rq, r);
  } else if (!strcmp(p, "/charges") && get) {
    json_t *arr = json_array();
    ps_table_lock();
    for (int i = 0; i < ps_ncharges; i++) {
      const ps_charge_t *c = &ps_charges[i];
      json_array_append_new(
          arr, json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:I}", "provider",
                         c->provider == PS_LINEPAY ? "linepay" : "stripe", "ref", c->method,
                         "order_id", c->order_id, "amount", (json_int_t)c->amount, "currency",
                         c->currency, "status", c->ok ? "succeeded" : "declined", "code", c->code,
                         "tx", c->tx, "at", (json_int_t)c->at));
    }
    ps_table_unlock();
    ps_reply_json(r, 200, json_pack("{s:o}", "charges", arr));
  } else if (!strcmp(p, "/methods") && get) {
    json_t *arr = json_array();
    ps_table_lock();
    for (int i = 0; i < ps_nmethods; i++) {
      const ps_method_t *m = &ps_methods[i];
      bool lp = m->provider == PS_LINEPAY;
      json_array_append_new(
          arr, json_pack("{s:s, s:s, s:s, s:s, s:i}", "provider", lp ? "linepay" : "stripe", "ref",
                         m->id, "customer", m->customer, "state",
                         m->active ? "active"
                         : lp      ? "expired"
                                   : "detached",
                         "decline_left", m->decline_left));
    }
    ps_table_unlock();
    ps_reply_json(r, 200, json_pack("{s:o}", "methods", arr));
  } else {
    return false;
  }
  return true;
}
