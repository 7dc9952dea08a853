/*
 * stripe.c: the Stripe adapter: Checkout Sessions (create, retrieve,
 * expire), refunds, and webhooks checked with the Stripe-Signature scheme;
 * saved methods (issue 13): a Customer and a setup-mode Checkout Session,
 * its SetupIntent's PaymentMethod, off-session PaymentIntents (keyed by
 * our order id), detach.
 *
 * Requests are form encoded (curl_easy_escape), authenticated with
 * "Authorization: Bearer <secret key>", and every POST carries an
 * Idempotency-Key so that a retry after a lost reply is answered, not
 * executed twice: the reservation's key (req->idempotency_key, else the
 * order id), "expire-<session>" for a cancel, the caller's key for a
 * refund.  A retried POST must send the same parameters, so nothing in a
 * body depends on the clock (expires_at derives from the request).
 *
 * Checkout captures by itself: a session is paid when status "complete"
 * and payment_status "paid"; confirm() is status() plus a check that the
 * provider's amount and currency are the ones expected.  A webhook is not
 * proof of payment either: verify_callback says which session it names
 * and the flow retrieves that session itself.
 */
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "money.h"
#include "provider-private.h"

#define ST_DEFAULT_BASE "https://api.stripe.com"
#define ST_EXPIRY_MARGIN 1860 /* Stripe wants expires_at >= 30 min ahead */
#define ST_EXPIRY_MAX (24 * 3600 - 60)

/* A Stripe object id (cs_..., pi_..., re_...): 1..63 of [A-Za-z0-9_]. */
static bool st_id_valid(const char *s) {
  size_t n = s ? strlen(s) : 0;
  if (n == 0 || n >= PAY_TX_MAX) return false;
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)s[i]) && s[i] != '_') return false;
  return true;
}

/* An Idempotency-Key we send: 1..255 of [A-Za-z0-9_.:-] (a header value). */
static bool st_key_valid(const char *s) {
  size_t n = s ? strlen(s) : 0;
  if (n == 0 || n > 255) return false;
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)s[i]) && !strchr("_.:-", s[i])) return false;
  return true;
}

/* Copy a provider word (error type, code) for a log line: [a-z_] only. */
static void st_word(const char *s, char *out, size_t size) {
  size_t k = 0;
  for (size_t i = 0; s && s[i] && k + 1 < size && i < 40; i++)
    if ((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_') out[k++] = s[i];
  out[k] = '\0';
}

/* What an HTTP status other than 2xx means for the caller. */
static pay_result_t st_status_result(long status) {
  if (status == 400 || status == 402) return PAY_DECLINED;
  if (status == 404) return PAY_NOT_FOUND;
  if (status == 408 || status == 409 || status == 429 || status >= 500) return PAY_UNAVAILABLE;
  return PAY_INVALID; /* 401, 403, anything unexpected */
}

/* One authenticated call.  PAY_OK with *out (a JSON object, the caller's)
 * on a 2xx reply; otherwise the mapped result with msg (the error's type
 * and code, never its message: it may echo parameters), and the error's
 * code and decline_code into err_code / decline when not NULL. */
static pay_result_t st_call_e(const pay_credentials_t *c, const char *method, const char *path,
                              const char *form, const char *idem_key, json_t **out,
                              char err_code[48], char decline[48], char *msg, size_t msglen) {
  pay_result_t r = PAY_INVALID;
  pay_buf_t url = {0}, h_auth = {0}, h_idem = {0};
  pay_http_reply_t reply = {0};
  json_t *j = NULL;

  *out = NULL;
  if (err_code) err_code[0] = '\0';
  if (decline) decline[0] = '\0';
  pay_buf_add(&url, c->api_base);
  pay_buf_add(&url, path);
  pay_buf_addf(&h_auth, "Authorization: Bearer %s", c->secret_key);
  if (idem_key) pay_buf_addf(&h_idem, "Idempotency-Key: %s", idem_key);
  if (!pay_buf_ok(&url) || !pay_buf_ok(&h_auth) || (idem_key && !pay_buf_ok(&h_idem))) {
    pay_msg(msg, msglen, "stripe: request too long");
    goto done;
  }
  const char *headers[] = {"Content-Type: application/x-www-form-urlencoded", h_auth.data,
                           idem_key ? h_idem.data : NULL, NULL};
  if (!pay_http_request(method, url.data, headers, form, form ? strlen(form) : 0, &reply, msg,
                        msglen)) {
    r = PAY_UNAVAILABLE;
    goto done;
  }
  j = json_loadb(reply.body, reply.len, 0, NULL);
  if (reply.status < 200 || reply.status > 299) {
    char type[48] = "", code[48] = "";
    json_t *err = json_object_get(j, "error");
    st_word(json_string_value(json_object_get(err, "type")), type, sizeof(type));
    st_word(json_string_value(json_object_get(err, "code")), code, sizeof(code));
    if (err_code) memcpy(err_code, code, sizeof(code));
    if (decline) st_word(json_string_value(json_object_get(err, "decline_code")), decline, 48);
    r = st_status_result(reply.status);
    pay_msg(msg, msglen, "stripe: HTTP %ld %s%s%s", reply.status, type, *code ? "/" : "", code);
    goto done;
  }
  if (!json_is_object(j)) {
    pay_msg(msg, msglen, "stripe: unreadable reply");
    goto done;
  }
  *out = j;
  j = NULL;
  r = PAY_OK;

done:
  json_decref(j);
  pay_http_reply_free(&reply);
  pay_buf_free(&url);
  pay_buf_free(&h_auth);
  pay_buf_free(&h_idem);
  return r;
}

/* st_call_e without the error's words. */
static pay_result_t st_call(const pay_credentials_t *c, const char *method, const char *path,
                            const char *form, const char *idem_key, json_t **out, char *msg,
                            size_t msglen) {
  return st_call_e(c, method, path, form, idem_key, out, NULL, NULL, msg, msglen);
}

/* A Checkout Session object into *out.  PAY_INVALID when it cannot be
 * read (unknown status, a paid one without its payment_intent). */
static pay_result_t st_session_status(const json_t *s, pay_status_t *out, char *msg,
                                      size_t msglen) {
  const char *status = json_string_value(json_object_get(s, "status"));
  const char *paid = json_string_value(json_object_get(s, "payment_status"));
  const char *cur = json_string_value(json_object_get(s, "currency"));
  json_t *amount = json_object_get(s, "amount_total");
  json_t *pi = json_object_get(s, "payment_intent");
  const char *order =
      json_string_value(json_object_get(json_object_get(s, "metadata"), "order_id"));

  memset(out, 0, sizeof(*out));
  out->amount = -1;
  if (!order) order = json_string_value(json_object_get(s, "client_reference_id"));
  if (json_is_object(pi)) pi = json_object_get(pi, "id"); /* expanded */
  if (!status || !paid) {
    pay_msg(msg, msglen, "stripe: session without status");
    return PAY_INVALID;
  }
  if (json_is_integer(amount) && json_integer_value(amount) >= 0)
    out->amount = (int64_t)json_integer_value(amount);
  if (cur && strlen(cur) == 3) {
    for (int i = 0; i < 3; i++) out->currency[i] = (char)toupper((unsigned char)cur[i]);
    out->currency[3] = '\0';
  }
  if (order && pay_order_id_valid(order)) pay_copy(out->order_id, sizeof(out->order_id), order);

  if (strcmp(status, "open") == 0) {
    out->state = PAY_TX_OPEN;
  } else if (strcmp(status, "complete") == 0) {
    /* complete but unpaid: an asynchronous method still under way */
    out->state = strcmp(paid, "paid") == 0 ? PAY_TX_PAID : PAY_TX_OPEN;
  } else if (strcmp(status, "expired") == 0) {
    out->state = PAY_TX_CANCELED;
  } else {
    pay_msg(msg, msglen, "stripe: unknown session status");
    return PAY_INVALID;
  }
  /* a paid session must say what was paid: the flow compares it with
   * what it reserved, and never takes a silent reply as a match */
  if (out->state == PAY_TX_PAID && (out->amount < 0 || !out->currency[0] || !out->order_id[0])) {
    pay_msg(msg, msglen, "stripe: paid session without amount, currency or order");
    return PAY_INVALID;
  }
  if (out->state == PAY_TX_PAID &&
      (!st_id_valid(json_string_value(pi)) ||
       !pay_copy(out->capture_ref, sizeof(out->capture_ref), json_string_value(pi)))) {
    pay_msg(msg, msglen, "stripe: paid session without payment_intent");
    return PAY_INVALID;
  }
  pay_msg(msg, msglen, "stripe: session %s/%s", status, paid);
  return PAY_OK;
}

/*
 * ISO code into Stripe's lowercase form; false for an unknown currency and
 * for those whose unit on Stripe is not the ISO 4217 minor unit (MGA is
 * zero-decimal on Stripe, ISK and UGX two-decimal there): amounts in them
 * would be off by a factor of 100, so Nimbus refuses them with Stripe.
 */
static bool st_currency(const char *code, char out[4]) {
  if (!code || money_exponent(code) < 0 || strlen(code) != 3) return false;
  if (!strcmp(code, "MGA") || !strcmp(code, "ISK") || !strcmp(code, "UGX")) return false;
  for (int i = 0; i < 3; i++) out[i] = (char)tolower((unsigned char)code[i]);
  out[3] = '\0';
  return true;
}

static bool st_parse_credentials(const json_t *j, pay_credentials_t *out, char *err,
                                 size_t errlen) {
  static const char *const keys[] = {"secret_key", "webhook_secrets", "api_base", NULL};
  memset(out, 0, sizeof(*out));
  if (!pay_cred_keys(j, "stripe", keys, err, errlen) ||
      !pay_cred_token(j, "secret_key", true, out->secret_key, sizeof(out->secret_key), err,
                      errlen) ||
      !pay_cred_api_base(j, ST_DEFAULT_BASE, out->api_base, sizeof(out->api_base), err, errlen))
    goto fail;
  json_t *ws = json_object_get(j, "webhook_secrets");
  if (!json_is_array(ws) || json_array_size(ws) == 0 || json_array_size(ws) > PAY_SECRETS_MAX) {
    pay_msg(err, errlen, "\"webhook_secrets\" must be a list of 1 to %d secrets", PAY_SECRETS_MAX);
    goto fail;
  }
  for (size_t i = 0; i < json_array_size(ws); i++) {
    json_t *wrap = json_pack("{s:O}", "webhook_secrets", json_array_get(ws, i));
    bool ok = wrap && pay_cred_token(wrap, "webhook_secrets", true, out->webhook_secrets[i],
                                     sizeof(out->webhook_secrets[i]), err, errlen);
    json_decref(wrap);
    if (!ok) goto fail;
  }
  out->nwebhook_secrets = (int)json_array_size(ws);
  snprintf(out->provider, sizeof(out->provider), "stripe");
  return true;

fail:
  sodium_memzero(out, sizeof(*out));
  return false;
}

static json_t *st_describe_credentials(const pay_credentials_t *c) {
  return json_pack("{s:s, s:s, s:o, s:i}", "provider", "stripe", "api_base", c->api_base,
                   "secret_key", pay_mask_secret(c->secret_key, true), "webhook_secrets",
                   c->nwebhook_secrets);
}

static pay_result_t st_reserve(const pay_credentials_t *c, const pay_reserve_req_t *req,
                               pay_reserve_res_t *out, char *msg, size_t msglen) {
  pay_buf_t form = {0};
  json_t *s = NULL;
  pay_result_t r = PAY_INVALID;
  char cur[4], num[32];
  const char *key = req->idempotency_key ? req->idempotency_key : req->order_id;

  memset(out, 0, sizeof(*out));
  if (!pay_order_id_valid(req->order_id) || !st_key_valid(key) || !req->item || !*req->item ||
      !req->confirm_url || !req->cancel_url || req->amount <= 0 || req->amount > MONEY_MAX ||
      !st_currency(req->currency, cur)) {
    pay_msg(msg, msglen,
            "stripe: invalid reservation request (or a currency Stripe takes "
            "in other units)");
    goto done;
  }
  if (money_exponent(req->currency) == 3 && req->amount % 10 != 0) {
    /* Stripe takes three-decimal currencies only in multiples of 10 */
    pay_msg(msg, msglen, "stripe: %s amounts must be a multiple of 10 minor units", req->currency);
    r = PAY_DECLINED;
    goto done;
  }
  /* Stripe keeps a session 30 min to 24 h: ours ends at req->expires_at
   * (we expire it ourselves then); Stripe's own expiry is a backstop. */
  int64_t now = (int64_t)time(NULL);
  int64_t expires = req->expires_at + ST_EXPIRY_MARGIN;
  if (expires < now + ST_EXPIRY_MARGIN) expires = now + ST_EXPIRY_MARGIN;
  if (expires > now + ST_EXPIRY_MAX) expires = now + ST_EXPIRY_MAX;

  pay_buf_add_form(&form, "mode", "payment");
  pay_buf_add_form(&form, "line_items[0][price_data][currency]", cur);
  snprintf(num, sizeof(num), "%lld", (long long)req->amount);
  pay_buf_add_form(&form, "line_items[0][price_data][unit_amount]", num);
  pay_buf_add_form(&form, "line_items[0][price_data][product_data][name]", req->item);
  pay_buf_add_form(&form, "line_items[0][quantity]", "1");
  pay_buf_add_form(&form, "success_url", req->confirm_url);
  pay_buf_add_form(&form, "cancel_url", req->cancel_url);
  pay_buf_add_form(&form, "client_reference_id", req->order_id);
  pay_buf_add_form(&form, "metadata[order_id]", req->order_id);
  snprintf(num, sizeof(num), "%lld", (long long)expires);
  pay_buf_add_form(&form, "expires_at", num);
  if (!pay_buf_ok(&form)) {
    pay_msg(msg, msglen, "stripe: reservation request too long");
    goto done;
  }
  r = st_call(c, "POST", "/v1/checkout/sessions", form.data, key, &s, msg, msglen);
  if (r != PAY_OK) goto done;
  const char *id = json_string_value(json_object_get(s, "id"));
  const char *url = json_string_value(json_object_get(s, "url"));
  json_t *exp = json_object_get(s, "expires_at");
  if (!st_id_valid(id) || !url || !pay_copy(out->tx, sizeof(out->tx), id) ||
      !pay_copy(out->payment_url, sizeof(out->payment_url), url)) {
    memset(out, 0, sizeof(*out));
    r = PAY_INVALID;
    pay_msg(msg, msglen, "stripe: session reply lacks id or url");
    goto done;
  }
  out->expires_at = json_is_integer(exp) ? (int64_t)json_integer_value(exp) : 0;
  pay_msg(msg, msglen, "stripe: session created");

done:
  json_decref(s);
  pay_buf_free(&form);
  return r;
}

static pay_result_t st_status(const pay_credentials_t *c, const char *tx, const char *order_id,
                              pay_status_t *out, char *msg, size_t msglen) {
  char path[128];
  json_t *s = NULL;
  (void)order_id;

  memset(out, 0, sizeof(*out));
  out->amount = -1;
  if (!st_id_valid(tx)) {
    pay_msg(msg, msglen, "stripe: malformed session id");
    return PAY_INVALID;
  }
  snprintf(path, sizeof(path), "/v1/checkout/sessions/%s", tx);
  pay_result_t r = st_call(c, "GET", path, NULL, NULL, &s, msg, msglen);
  if (r == PAY_OK) r = st_session_status(s, out, msg, msglen);
  json_decref(s);
  return r;
}

static pay_result_t st_confirm(const pay_credentials_t *c, const char *tx, int64_t amount,
                               const char *currency, pay_status_t *out, char *msg, size_t msglen) {
  pay_result_t r = st_status(c, tx, NULL, out, msg, msglen);
  if (r != PAY_OK || out->state != PAY_TX_PAID) return r;
  if (out->amount != amount || !currency || strcmp(out->currency, currency) != 0) {
    pay_msg(msg, msglen, "stripe: paid amount or currency differs from the one expected");
    return PAY_DECLINED;
  }
  return PAY_OK;
}

static pay_result_t st_cancel(const pay_credentials_t *c, const char *tx, char *msg,
                              size_t msglen) {
  char path[128], key[PAY_TX_MAX + 8];
  json_t *s = NULL;
  pay_status_t st;

  if (!st_id_valid(tx)) {
    pay_msg(msg, msglen, "stripe: malformed session id");
    return PAY_INVALID;
  }
  snprintf(path, sizeof(path), "/v1/checkout/sessions/%s/expire", tx);
  snprintf(key, sizeof(key), "expire-%s", tx);
  pay_result_t r = st_call(c, "POST", path, "", key, &s, msg, msglen);
  json_decref(s);
  if (r == PAY_OK) {
    pay_msg(msg, msglen, "stripe: session expired");
    return PAY_OK;
  }
  if (r != PAY_DECLINED) return r;
  /* Only an open session can be expired: say why this one could not. */
  r = st_status(c, tx, NULL, &st, msg, msglen);
  if (r != PAY_OK) return r;
  if (st.state == PAY_TX_CANCELED) {
    pay_msg(msg, msglen, "stripe: session already expired");
    return PAY_OK;
  }
  pay_msg(msg, msglen, "stripe: session cannot be expired (%s)",
          st.state == PAY_TX_PAID ? "paid: refund instead" : "not open");
  return PAY_DECLINED;
}

static pay_result_t st_refund(const pay_credentials_t *c, const char *tx, const char *capture_ref,
                              int64_t amount, const char *currency, const char *idempotency_key,
                              pay_refund_res_t *out, char *msg, size_t msglen) {
  pay_buf_t form = {0};
  json_t *re = NULL;
  char num[32], cur[4];
  pay_result_t r = PAY_INVALID;
  (void)tx;

  memset(out, 0, sizeof(*out));
  if (!st_id_valid(capture_ref) || amount <= 0 || amount > MONEY_MAX ||
      !st_currency(currency, cur) || !st_key_valid(idempotency_key)) {
    pay_msg(msg, msglen, "stripe: invalid refund request");
    goto done;
  }
  snprintf(num, sizeof(num), "%lld", (long long)amount);
  pay_buf_add_form(&form, "payment_intent", capture_ref);
  pay_buf_add_form(&form, "amount", num);
  if (!pay_buf_ok(&form)) goto done;
  r = st_call(c, "POST", "/v1/refunds", form.data, idempotency_key, &re, msg, msglen);
  if (r != PAY_OK) goto done;
  const char *id = json_string_value(json_object_get(re, "id"));
  const char *status = json_string_value(json_object_get(re, "status"));
  if (!st_id_valid(id) || !status) {
    r = PAY_INVALID;
    pay_msg(msg, msglen, "stripe: refund reply lacks id or status");
    goto done;
  }
  if (strcmp(status, "failed") == 0 || strcmp(status, "canceled") == 0) {
    r = PAY_DECLINED;
    pay_msg(msg, msglen, "stripe: refund %s", status);
    goto done;
  }
  pay_copy(out->refund_tx, sizeof(out->refund_tx), id);
  pay_msg(msg, msglen, "stripe: refund %s", status);

done:
  json_decref(re);
  pay_buf_free(&form);
  return r;
}

static pay_result_t st_verify_callback(const pay_credentials_t *c, const pay_callback_t *cb,
                                       pay_callback_res_t *out, char *msg, size_t msglen) {
  json_t *ev = NULL;
  pay_result_t r = PAY_INVALID;

  memset(out, 0, sizeof(*out));
  if (!cb->body ||
      !pay_stripe_verify(cb->signature_header, cb->body, cb->body_len, c->webhook_secrets,
                         c->nwebhook_secrets, cb->now, PAY_STRIPE_TOLERANCE, msg, msglen))
    goto done;
  ev = json_loadb(cb->body, cb->body_len, JSON_REJECT_DUPLICATES, NULL);
  json_t *obj = json_object_get(json_object_get(ev, "data"), "object");
  const char *id = json_string_value(json_object_get(ev, "id"));
  const char *type = json_string_value(json_object_get(ev, "type"));
  const char *tx = json_string_value(json_object_get(obj, "id"));
  const char *order =
      json_string_value(json_object_get(json_object_get(obj, "metadata"), "order_id"));
  if (!order) order = json_string_value(json_object_get(obj, "client_reference_id"));
  if (!id || !type || !st_id_valid(tx) || !pay_copy(out->event_id, sizeof(out->event_id), id) ||
      !pay_copy(out->event_type, sizeof(out->event_type), type)) {
    memset(out, 0, sizeof(*out));
    pay_msg(msg, msglen, "stripe: signed event without id, type or object id");
    goto done;
  }
  pay_copy(out->tx, sizeof(out->tx), tx);
  if (order && pay_order_id_valid(order)) pay_copy(out->order_id, sizeof(out->order_id), order);
  pay_msg(msg, msglen, "stripe: signed event");
  r = PAY_OK;

done:
  json_decref(ev);
  return r;
}

/* ---- saved payment methods (Customers, setup-mode Checkout, off-session PaymentIntents) ---- */

/* An id member of a Stripe object: a string, or an expanded object's id. */
static const char *st_ref_id(const json_t *obj, const char *name) {
  json_t *v = json_object_get(obj, name);
  if (json_is_object(v)) v = json_object_get(v, "id");
  const char *id = json_string_value(v);
  return st_id_valid(id) ? id : NULL;
}

/* Split a method ref "cus_...|pm_..." into its two ids. */
static bool st_ref_split(const char *ref, char cus[PAY_TX_MAX], char pm[PAY_TX_MAX]) {
  const char *bar = ref ? strchr(ref, '|') : NULL;
  if (!bar || (size_t)(bar - ref) >= PAY_TX_MAX) return false;
  memcpy(cus, ref, (size_t)(bar - ref));
  cus[bar - ref] = '\0';
  return pay_copy(pm, PAY_TX_MAX, bar + 1) && st_id_valid(cus) && st_id_valid(pm);
}

static pay_result_t st_method_setup(const pay_credentials_t *c, const pay_method_setup_req_t *req,
                                    pay_method_setup_res_t *out, char *msg, size_t msglen) {
  pay_buf_t form = {0};
  json_t *cus = NULL, *s = NULL;
  char cur[4], key[96];
  pay_result_t r = PAY_INVALID;

  memset(out, 0, sizeof(*out));
  if (!pay_order_id_valid(req->setup_id) || !req->user_label || !*req->user_label ||
      !req->confirm_url || !req->cancel_url || !st_currency(req->currency, cur)) {
    pay_msg(msg, msglen, "stripe: invalid registration request");
    goto done;
  }
  /* the customer the method is saved for; a retry (same key) answers the
   * same customer, so a registration never makes two */
  pay_buf_add_form(&form, "metadata[user_label]", req->user_label);
  pay_buf_add_form(&form, "metadata[setup_id]", req->setup_id);
  snprintf(key, sizeof(key), "cus-%s", req->setup_id);
  if (!pay_buf_ok(&form)) {
    pay_msg(msg, msglen, "stripe: registration request too long");
    goto done;
  }
  r = st_call(c, "POST", "/v1/customers", form.data, key, &cus, msg, msglen);
  if (r != PAY_OK) goto done;
  const char *cus_id = json_string_value(json_object_get(cus, "id"));
  if (!st_id_valid(cus_id)) {
    r = PAY_INVALID;
    pay_msg(msg, msglen, "stripe: customer reply lacks id");
    goto done;
  }
  pay_buf_free(&form);
  pay_buf_add_form(&form, "mode", "setup");
  pay_buf_add_form(&form, "customer", cus_id);
  pay_buf_add_form(&form, "currency", cur);
  pay_buf_add_form(&form, "success_url", req->confirm_url);
  pay_buf_add_form(&form, "cancel_url", req->cancel_url);
  pay_buf_add_form(&form, "client_reference_id", req->setup_id);
  pay_buf_add_form(&form, "metadata[setup_id]", req->setup_id);
  snprintf(key, sizeof(key), "setup-%s", req->setup_id);
  if (!pay_buf_ok(&form)) {
    r = PAY_INVALID;
    pay_msg(msg, msglen, "stripe: registration request too long");
    goto done;
  }
  r = st_call(c, "POST", "/v1/checkout/sessions", form.data, key, &s, msg, msglen);
  if (r != PAY_OK) goto done;
  const char *id = json_string_value(json_object_get(s, "id"));
  const char *url = json_string_value(json_object_get(s, "url"));
  if (!st_id_valid(id) || !url || !pay_copy(out->tx, sizeof(out->tx), id) ||
      !pay_copy(out->setup_url, sizeof(out->setup_url), url)) {
    memset(out, 0, sizeof(*out));
    r = PAY_INVALID;
    pay_msg(msg, msglen, "stripe: setup session reply lacks id or url");
    goto done;
  }
  pay_msg(msg, msglen, "stripe: setup session created");

done:
  json_decref(cus);
  json_decref(s);
  pay_buf_free(&form);
  return r;
}

static pay_result_t st_method_finish(const pay_credentials_t *c, const char *tx,
                                     const char *setup_id, pay_method_t *out, char *msg,
                                     size_t msglen) {
  char path[160], cus[PAY_TX_MAX], pm[PAY_TX_MAX];
  json_t *s = NULL, *si = NULL, *m = NULL;
  pay_result_t r = PAY_INVALID;

  memset(out, 0, sizeof(*out));
  if (!st_id_valid(tx)) {
    pay_msg(msg, msglen, "stripe: malformed session id");
    goto done;
  }
  snprintf(path, sizeof(path), "/v1/checkout/sessions/%s", tx);
  r = st_call(c, "GET", path, NULL, NULL, &s, msg, msglen);
  if (r != PAY_OK) goto done;
  const char *status = json_string_value(json_object_get(s, "status"));
  const char *mode = json_string_value(json_object_get(s, "mode"));
  const char *ref = json_string_value(json_object_get(s, "client_reference_id"));
  r = PAY_INVALID;
  if (!status || (mode && strcmp(mode, "setup") != 0) ||
      (ref && setup_id && strcmp(ref, setup_id) != 0)) {
    pay_msg(msg, msglen, "stripe: not the setup session of this registration");
    goto done;
  }
  if (strcmp(status, "open") == 0) {
    r = PAY_NOT_FOUND;
    pay_msg(msg, msglen, "stripe: registration not finished yet");
    goto done;
  }
  if (strcmp(status, "expired") == 0) {
    r = PAY_DECLINED;
    pay_msg(msg, msglen, "stripe: registration session expired");
    goto done;
  }
  const char *seti = st_ref_id(s, "setup_intent");
  const char *cus_id = st_ref_id(s, "customer");
  if (strcmp(status, "complete") != 0 || !seti || !cus_id) {
    pay_msg(msg, msglen, "stripe: setup session without setup_intent or customer");
    goto done;
  }
  pay_copy(cus, sizeof(cus), cus_id);
  snprintf(path, sizeof(path), "/v1/setup_intents/%s", seti);
  r = st_call(c, "GET", path, NULL, NULL, &si, msg, msglen);
  if (r != PAY_OK) goto done;
  const char *si_status = json_string_value(json_object_get(si, "status"));
  const char *pm_id = st_ref_id(si, "payment_method");
  if (!si_status || strcmp(si_status, "succeeded") != 0 || !pm_id) {
    r = si_status && !strcmp(si_status, "processing") ? PAY_NOT_FOUND : PAY_DECLINED;
    pay_msg(msg, msglen, "stripe: setup intent not succeeded");
    goto done;
  }
  pay_copy(pm, sizeof(pm), pm_id);
  snprintf(path, sizeof(path), "/v1/payment_methods/%s", pm);
  r = st_call(c, "GET", path, NULL, NULL, &m, msg, msglen);
  if (r != PAY_OK) goto done;
  json_t *card = json_object_get(m, "card");
  char brand[24] = "", last4[8] = "", type[24] = "";
  st_word(json_string_value(json_object_get(card, "brand")), brand, sizeof(brand));
  st_word(json_string_value(json_object_get(m, "type")), type, sizeof(type));
  const char *l4 = json_string_value(json_object_get(card, "last4"));
  if (l4 && strlen(l4) == 4 && strspn(l4, "0123456789") == 4) memcpy(last4, l4, 5);
  if (*brand && *last4)
    snprintf(out->display, sizeof(out->display), "%s ****%s", brand, last4);
  else
    snprintf(out->display, sizeof(out->display), "%s", *type ? type : "card");
  snprintf(out->ref, sizeof(out->ref), "%s|%s", cus, pm);
  r = PAY_OK;
  pay_msg(msg, msglen, "stripe: registered");

done:
  json_decref(s);
  json_decref(si);
  json_decref(m);
  return r;
}

static pay_result_t st_charge_saved(const pay_credentials_t *c, const pay_charge_req_t *req,
                                    pay_charge_res_t *out, char *msg, size_t msglen) {
  char cus[PAY_TX_MAX], pm[PAY_TX_MAX], cur[4], num[32], code[48], decline[48];
  pay_buf_t form = {0};
  json_t *pi = NULL;
  pay_result_t r = PAY_INVALID;

  memset(out, 0, sizeof(*out));
  if (!st_ref_split(req->ref, cus, pm) || !pay_order_id_valid(req->order_id) ||
      !st_key_valid(req->order_id) || !req->item || !*req->item || req->amount <= 0 ||
      req->amount > MONEY_MAX || !st_currency(req->currency, cur)) {
    pay_msg(msg, msglen, "stripe: invalid charge request");
    goto done;
  }
  if (money_exponent(req->currency) == 3 && req->amount % 10 != 0) {
    pay_msg(msg, msglen, "stripe: %s amounts must be a multiple of 10 minor units", req->currency);
    r = PAY_DECLINED;
    goto done;
  }
  snprintf(num, sizeof(num), "%lld", (long long)req->amount);
  pay_buf_add_form(&form, "amount", num);
  pay_buf_add_form(&form, "currency", cur);
  pay_buf_add_form(&form, "customer", cus);
  pay_buf_add_form(&form, "payment_method", pm);
  pay_buf_add_form(&form, "off_session", "true");
  pay_buf_add_form(&form, "confirm", "true");
  pay_buf_add_form(&form, "description", req->item);
  pay_buf_add_form(&form, "metadata[order_id]", req->order_id);
  if (!pay_buf_ok(&form)) {
    pay_msg(msg, msglen, "stripe: charge request too long");
    goto done;
  }
  /* the order id is the key: a retry is answered the first outcome */
  r = st_call_e(c, "POST", "/v1/payment_intents", form.data, req->order_id, &pi, code, decline, msg,
                msglen);
  if (r == PAY_DECLINED && (*code || *decline)) {
    pay_msg(msg, msglen, "stripe: charge declined (%s%s%s)", *decline ? decline : code,
            *decline && *code && strcmp(code, decline) ? ", " : "",
            *decline && *code && strcmp(code, decline) ? code : "");
    goto done;
  }
  if (r != PAY_OK) goto done;
  const char *id = json_string_value(json_object_get(pi, "id"));
  const char *status = json_string_value(json_object_get(pi, "status"));
  if (!st_id_valid(id) || !status) {
    r = PAY_INVALID;
    pay_msg(msg, msglen, "stripe: payment intent reply lacks id or status");
    goto done;
  }
  char st[32];
  st_word(status, st, sizeof(st));
  if (strcmp(status, "succeeded") == 0) {
    pay_copy(out->tx, sizeof(out->tx), id);
    pay_msg(msg, msglen, "stripe: charged");
  } else if (strcmp(status, "processing") == 0) {
    /* not known yet: the same key later answers the same intent */
    r = PAY_UNAVAILABLE;
    pay_msg(msg, msglen, "stripe: charge still processing");
  } else {
    r = PAY_DECLINED;
    pay_msg(msg, msglen, "stripe: charge not completed (%s)", st);
  }

done:
  json_decref(pi);
  pay_buf_free(&form);
  return r;
}

static pay_result_t st_method_remove(const pay_credentials_t *c, const char *ref, char *msg,
                                     size_t msglen) {
  char cus[PAY_TX_MAX], pm[PAY_TX_MAX], path[160], key[PAY_TX_MAX + 8];
  json_t *m = NULL;

  if (!st_ref_split(ref, cus, pm)) {
    pay_msg(msg, msglen, "stripe: malformed method reference");
    return PAY_INVALID;
  }
  snprintf(path, sizeof(path), "/v1/payment_methods/%s/detach", pm);
  snprintf(key, sizeof(key), "detach-%s", pm);
  pay_result_t r = st_call(c, "POST", path, "", key, &m, msg, msglen);
  json_decref(m);
  m = NULL;
  if (r == PAY_OK) {
    pay_msg(msg, msglen, "stripe: method detached");
    return PAY_OK;
  }
  if (r != PAY_DECLINED && r != PAY_NOT_FOUND) return r;
  /* refused: gone already (unknown, or attached to no customer)? */
  snprintf(path, sizeof(path), "/v1/payment_methods/%s", pm);
  pay_result_t g = st_call(c, "GET", path, NULL, NULL, &m, msg, msglen);
  bool gone = g == PAY_NOT_FOUND || (g == PAY_OK && !st_ref_id(m, "customer"));
  json_decref(m);
  if (gone) {
    pay_msg(msg, msglen, "stripe: method already detached");
    return PAY_OK;
  }
  if (g != PAY_OK) return g;
  pay_msg(msg, msglen, "stripe: method detach refused");
  return r;
}

const pay_provider_t pay_provider_stripe = {
    .name = "stripe",
    .parse_credentials = st_parse_credentials,
    .describe_credentials = st_describe_credentials,
    .reserve = st_reserve,
    .status = st_status,
    .confirm = st_confirm,
    .cancel = st_cancel,
    .refund = st_refund,
    .verify_callback = st_verify_callback,
    .method_setup = st_method_setup,
    .method_finish = st_method_finish,
    .charge_saved = st_charge_saved,
    .method_remove = st_method_remove,
};
