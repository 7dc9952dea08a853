/*
 * linepay.c: the LINE Pay online API v3 adapter (wire subset pinned in
 * docs, see the wire spec of issue 12): request, confirm, check payment
 * request status, void, refund; and saved methods (issue 13): a request
 * with payType PREAPPROVED whose confirm gives a regKey, preapproved
 * payments with it, its expiry, and the Payment Details API to learn the
 * outcome of a charge retried under the same orderId.
 *
 * Every call is signed: X-LINE-Authorization = base64(HMAC-SHA256(channel
 * secret, secret + API path + (POST body | GET query) + nonce)) with a
 * fresh UUID v4 nonce.  LINE Pay answers HTTP 200 with a "returnCode";
 * "0000" is success.  Amounts go on the wire as JSON numbers in the
 * currency's main unit, written from the integer minor units as exact text
 * (money_format), never through a double.  Transaction ids are 19-digit
 * JSON integers: read as json_int_t, kept as decimal text.
 *
 * The confirmUrl redirect carries no signature: verify_callback only
 * checks that its ids are well formed; the flow then confirms server to
 * server, and only confirm's "0000" (or check's "0123") means paid.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "money.h"
#include "provider-private.h"

#define LP_DEFAULT_BASE "https://api-pay.line.me"

/* A LINE Pay transaction id: 1..19 decimal digits (fits json_int_t). */
static bool lp_tx_valid(const char *s) {
  size_t n = s ? strlen(s) : 0;
  if (n == 0 || n > 19) return false;
  for (size_t i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

/* The transaction id of a reply: a JSON integer (what LINE Pay sends) or
 * a string of digits (some gateways), into out as decimal text. */
static bool lp_tx_from_json(const json_t *v, char *out, size_t size) {
  if (json_is_integer(v)) {
    json_int_t x = json_integer_value(v);
    if (x <= 0) return false;
    int n = snprintf(out, size, "%lld", (long long)x);
    return n > 0 && (size_t)n < size;
  }
  if (json_is_string(v) && lp_tx_valid(json_string_value(v)))
    return pay_copy(out, size, json_string_value(v));
  return false;
}

/* What a returnCode other than "0000" means for the caller. */
static pay_result_t lp_code_result(const char *code) {
  static const struct {
    const char *code;
    pay_result_t r;
  } map[] = {
      {"1104", PAY_INVALID},     {"1105", PAY_INVALID},     {"1106", PAY_INVALID},
      {"1150", PAY_NOT_FOUND},   {"1159", PAY_NOT_FOUND},   {"1198", PAY_UNAVAILABLE},
      {"1199", PAY_UNAVAILABLE}, {"1900", PAY_UNAVAILABLE}, {"1902", PAY_UNAVAILABLE},
      {"1903", PAY_UNAVAILABLE}, {"9000", PAY_UNAVAILABLE},
  };
  for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
    if (strcmp(code, map[i].code) == 0) return map[i].r;
  return PAY_DECLINED;
}

/* One signed call (query: a GET's query string without '?', or NULL).
 * PAY_OK when LINE Pay answered a readable JSON object
 * with a returnCode (copied into code, the reply into *out, owned by the
 * caller); otherwise UNAVAILABLE (network, 5xx) or INVALID (401/403, an
 * unreadable reply) with msg. */
static pay_result_t lp_call_q(const pay_credentials_t *c, const char *method, const char *path,
                              const char *query, const char *body, json_t **out, char code[8],
                              char *msg, size_t msglen) {
  pay_result_t r = PAY_INVALID;
  pay_buf_t url = {0}, h_chan = {0}, h_nonce = {0}, h_auth = {0};
  pay_http_reply_t reply = {0};
  char nonce[PAY_NONCE_LEN + 1];
  char sig[64];
  json_t *j = NULL;
  size_t body_len = body ? strlen(body) : 0;

  *out = NULL;
  code[0] = '\0';
  pay_nonce(nonce);
  /* POST signs the body; GET the query string (without its '?'). */
  if (query)
    pay_linepay_signature(c->channel_secret, path, query, strlen(query), nonce, sig, sizeof(sig));
  else
    pay_linepay_signature(c->channel_secret, path, body ? body : "", body_len, nonce, sig,
                          sizeof(sig));
  pay_buf_add(&url, c->api_base);
  pay_buf_add(&url, path);
  if (query) {
    pay_buf_add(&url, "?");
    pay_buf_add(&url, query);
  }
  pay_buf_addf(&h_chan, "X-LINE-ChannelId: %s", c->channel_id);
  pay_buf_addf(&h_nonce, "X-LINE-Authorization-Nonce: %s", nonce);
  pay_buf_addf(&h_auth, "X-LINE-Authorization: %s", sig);
  if (!pay_buf_ok(&url) || !pay_buf_ok(&h_chan) || !pay_buf_ok(&h_nonce) || !pay_buf_ok(&h_auth)) {
    pay_msg(msg, msglen, "linepay: request too long");
    goto done;
  }
  const char *headers[] = {"Content-Type: application/json", h_chan.data, h_nonce.data, h_auth.data,
                           NULL};
  if (!pay_http_request(method, url.data, headers, body, body_len, &reply, msg, msglen)) {
    r = PAY_UNAVAILABLE;
    goto done;
  }
  if (reply.status == 401 || reply.status == 403) {
    pay_msg(msg, msglen, "linepay: HTTP %ld (credentials refused)", reply.status);
    goto done;
  }
  if (reply.status >= 500 || reply.status == 408 || reply.status == 429) {
    pay_msg(msg, msglen, "linepay: HTTP %ld", reply.status);
    r = PAY_UNAVAILABLE;
    goto done;
  }
  if (reply.status < 200 || reply.status > 299) {
    pay_msg(msg, msglen, "linepay: unexpected HTTP %ld", reply.status);
    goto done;
  }
  j = json_loadb(reply.body, reply.len, 0, NULL);
  const char *rc = json_string_value(json_object_get(j, "returnCode"));
  if (!json_is_object(j) || !rc || strlen(rc) != 4) {
    pay_msg(msg, msglen, "linepay: unreadable reply");
    goto done;
  }
  memcpy(code, rc, 5);
  *out = j;
  j = NULL;
  r = PAY_OK;

done:
  json_decref(j);
  pay_http_reply_free(&reply);
  pay_buf_free(&url);
  pay_buf_free(&h_chan);
  pay_buf_free(&h_nonce);
  pay_buf_free(&h_auth);
  return r;
}

/* lp_call_q without a query string. */
static pay_result_t lp_call(const pay_credentials_t *c, const char *method, const char *path,
                            const char *body, json_t **out, char code[8], char *msg,
                            size_t msglen) {
  return lp_call_q(c, method, path, NULL, body, out, code, msg, msglen);
}

/* An amount as LINE Pay's JSON number text (exact, from minor units). */
static bool lp_amount(int64_t amount, const char *currency, char *buf, size_t len) {
  if (amount <= 0 || amount > MONEY_MAX || !currency || money_exponent(currency) < 0) return false;
  return money_format(amount, currency, buf, len);
}

static bool lp_parse_credentials(const json_t *j, pay_credentials_t *out, char *err,
                                 size_t errlen) {
  static const char *const keys[] = {"channel_id", "channel_secret", "api_base", NULL};
  memset(out, 0, sizeof(*out));
  if (!pay_cred_keys(j, "linepay", keys, err, errlen) ||
      !pay_cred_token(j, "channel_id", true, out->channel_id, sizeof(out->channel_id), err,
                      errlen) ||
      !pay_cred_token(j, "channel_secret", true, out->channel_secret, sizeof(out->channel_secret),
                      err, errlen) ||
      !pay_cred_api_base(j, LP_DEFAULT_BASE, out->api_base, sizeof(out->api_base), err, errlen)) {
    sodium_memzero(out, sizeof(*out));
    return false;
  }
  snprintf(out->provider, sizeof(out->provider), "linepay");
  return true;
}

static json_t *lp_describe_credentials(const pay_credentials_t *c) {
  return json_pack("{s:s, s:s, s:s, s:o}", "provider", "linepay", "api_base", c->api_base,
                   "channel_id", c->channel_id, "channel_secret",
                   pay_mask_secret(c->channel_secret, false));
}

static pay_result_t lp_reserve(const pay_credentials_t *c, const pay_reserve_req_t *req,
                               pay_reserve_res_t *out, char *msg, size_t msglen) {
  pay_result_t r = PAY_INVALID;
  pay_buf_t body = {0};
  json_t *reply = NULL;
  char code[8], amount[48];

  memset(out, 0, sizeof(*out));
  if (!pay_order_id_valid(req->order_id) || !req->item || !*req->item || !req->confirm_url ||
      !req->cancel_url || !lp_amount(req->amount, req->currency, amount, sizeof(amount))) {
    pay_msg(msg, msglen, "linepay: invalid reservation request");
    goto done;
  }
  pay_buf_addf(&body, "{\"amount\":%s,\"currency\":", amount);
  pay_buf_add_json_string(&body, req->currency);
  pay_buf_add(&body, ",\"orderId\":");
  pay_buf_add_json_string(&body, req->order_id);
  pay_buf_add(&body, ",\"packages\":[{\"id\":");
  pay_buf_add_json_string(&body, req->order_id);
  pay_buf_addf(&body, ",\"amount\":%s,\"name\":", amount);
  pay_buf_add_json_string(&body, req->item);
  pay_buf_add(&body, ",\"products\":[{\"name\":");
  pay_buf_add_json_string(&body, req->item);
  pay_buf_addf(&body, ",\"quantity\":1,\"price\":%s}]}],\"redirectUrls\":{\"confirmUrl\":", amount);
  pay_buf_add_json_string(&body, req->confirm_url);
  pay_buf_add(&body, ",\"cancelUrl\":");
  pay_buf_add_json_string(&body, req->cancel_url);
  pay_buf_add(&body, "}}");
  if (!pay_buf_ok(&body)) {
    pay_msg(msg, msglen, "linepay: reservation request too long or not UTF-8");
    goto done;
  }
  r = lp_call(c, "POST", "/v3/payments/request", body.data, &reply, code, msg, msglen);
  if (r != PAY_OK) goto done;
  if (strcmp(code, "0000") != 0) {
    r = lp_code_result(code);
    pay_msg(msg, msglen, "linepay: request refused (returnCode %s)", code);
    goto done;
  }
  json_t *info = json_object_get(reply, "info");
  const char *web = json_string_value(json_object_get(json_object_get(info, "paymentUrl"), "web"));
  if (!lp_tx_from_json(json_object_get(info, "transactionId"), out->tx, sizeof(out->tx)) || !web ||
      !pay_copy(out->payment_url, sizeof(out->payment_url), web)) {
    r = PAY_INVALID;
    memset(out, 0, sizeof(*out));
    pay_msg(msg, msglen, "linepay: request reply lacks transactionId or paymentUrl");
    goto done;
  }
  out->expires_at = 0; /* LINE Pay does not say; its payment URL lasts 20 minutes */
  pay_msg(msg, msglen, "linepay: reserved");

done:
  json_decref(reply);
  pay_buf_free(&body);
  return r;
}

/* Check payment request status: the state only (the reply says nothing
 * of amount, currency or order). */
static pay_result_t lp_check(const pay_credentials_t *c, const char *tx, pay_status_t *out,
                             char *msg, size_t msglen) {
  char path[96], code[8];
  json_t *reply = NULL;

  memset(out, 0, sizeof(*out));
  out->amount = -1;
  if (!lp_tx_valid(tx)) {
    pay_msg(msg, msglen, "linepay: malformed transaction id");
    return PAY_INVALID;
  }
  snprintf(path, sizeof(path), "/v3/payments/requests/%s/check", tx);
  pay_result_t r = lp_call(c, "GET", path, NULL, &reply, code, msg, msglen);
  if (r != PAY_OK) return r;
  json_decref(reply);
  static const struct {
    const char *code;
    pay_tx_state_t state;
  } map[] = {{"0000", PAY_TX_OPEN},
             {"0110", PAY_TX_AUTHORIZED},
             {"0121", PAY_TX_CANCELED},
             {"0122", PAY_TX_FAILED},
             {"0123", PAY_TX_PAID}};
  for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
    if (strcmp(code, map[i].code) == 0) {
      out->state = map[i].state;
      if (out->state == PAY_TX_PAID) pay_copy(out->capture_ref, sizeof(out->capture_ref), tx);
      pay_msg(msg, msglen, "linepay: check %s", code);
      return PAY_OK;
    }
  }
  pay_msg(msg, msglen, "linepay: check refused (returnCode %s)", code);
  r = lp_code_result(code);
  return r == PAY_DECLINED ? PAY_INVALID : r; /* no other code is documented for check */
}

static pay_result_t lp_status(const pay_credentials_t *c, const char *tx, const char *order_id,
                              pay_status_t *out, char *msg, size_t msglen) {
  (void)order_id; /* the check call names the transaction only */
  return lp_check(c, tx, out, msg, msglen);
}

static pay_result_t lp_confirm(const pay_credentials_t *c, const char *tx, int64_t amount,
                               const char *currency, pay_status_t *out, char *msg, size_t msglen) {
  char path[96], code[8], amt[48];
  pay_buf_t body = {0};
  json_t *reply = NULL;
  pay_result_t r = PAY_INVALID;

  memset(out, 0, sizeof(*out));
  out->amount = -1;
  if (!lp_tx_valid(tx) || !lp_amount(amount, currency, amt, sizeof(amt))) {
    pay_msg(msg, msglen, "linepay: invalid confirm request");
    goto done;
  }
  snprintf(path, sizeof(path), "/v3/payments/%s/confirm", tx);
  pay_buf_addf(&body, "{\"amount\":%s,\"currency\":", amt);
  pay_buf_add_json_string(&body, currency);
  pay_buf_add(&body, "}");
  if (!pay_buf_ok(&body)) goto done;
  r = lp_call(c, "POST", path, body.data, &reply, code, msg, msglen);
  if (r != PAY_OK) goto done;
  if (strcmp(code, "0000") == 0) {
    json_t *info = json_object_get(reply, "info");
    const char *order = json_string_value(json_object_get(info, "orderId"));
    out->state = PAY_TX_PAID;
    out->amount = amount; /* LINE Pay refuses (1153) any other amount */
    pay_copy(out->currency, sizeof(out->currency), currency);
    if (order && pay_order_id_valid(order)) pay_copy(out->order_id, sizeof(out->order_id), order);
    pay_copy(out->capture_ref, sizeof(out->capture_ref), tx);
    pay_msg(msg, msglen, "linepay: confirmed");
    goto done;
  }
  r = lp_code_result(code);
  if (r != PAY_DECLINED || strcmp(code, "1153") == 0) {
    pay_msg(msg, msglen, "linepay: confirm refused (returnCode %s)", code);
    goto done;
  }
  /* Not approved yet (1169), confirmed already (a replay), or refused:
   * the check call tells which. */
  char first[8];
  memcpy(first, code, sizeof(first));
  r = lp_check(c, tx, out, msg, msglen);
  if (r != PAY_OK) goto done;
  if (out->state == PAY_TX_PAID || out->state == PAY_TX_OPEN) {
    pay_msg(msg, msglen, "linepay: confirm returnCode %s, check says %s", first,
            out->state == PAY_TX_PAID ? "paid" : "not approved yet");
    goto done;
  }
  r = PAY_DECLINED;
  pay_msg(msg, msglen, "linepay: confirm refused (returnCode %s)", first);

done:
  json_decref(reply);
  pay_buf_free(&body);
  return r;
}

static pay_result_t lp_cancel(const pay_credentials_t *c, const char *tx, char *msg,
                              size_t msglen) {
  pay_status_t st;
  char path[112], code[8];
  json_t *reply = NULL;

  pay_result_t r = lp_check(c, tx, &st, msg, msglen);
  if (r != PAY_OK) return r;
  if (st.state == PAY_TX_PAID) {
    pay_msg(msg, msglen, "linepay: already paid (refund instead)");
    return PAY_DECLINED;
  }
  if (st.state == PAY_TX_CANCELED || st.state == PAY_TX_FAILED) {
    pay_msg(msg, msglen, "linepay: nothing to cancel");
    return PAY_OK;
  }
  /* Open or approved: nothing is captured without our confirm; void makes
   * it final where the provider allows it (the body is empty: the API
   * takes none). */
  snprintf(path, sizeof(path), "/v3/payments/authorizations/%s/void", tx);
  r = lp_call(c, "POST", path, "", &reply, code, msg, msglen);
  json_decref(reply);
  if (r != PAY_OK) return r;
  if (strcmp(code, "0000") != 0 && lp_code_result(code) == PAY_INVALID) {
    pay_msg(msg, msglen, "linepay: void refused (returnCode %s)", code);
    return PAY_INVALID;
  }
  pay_msg(msg, msglen, "linepay: canceled (void returnCode %s)", code);
  return PAY_OK;
}

static pay_result_t lp_refund(const pay_credentials_t *c, const char *tx, const char *capture_ref,
                              int64_t amount, const char *currency, const char *idempotency_key,
                              pay_refund_res_t *out, char *msg, size_t msglen) {
  char path[96], code[8], amt[48];
  json_t *reply = NULL;
  pay_result_t r = PAY_INVALID;
  const char *target = capture_ref && *capture_ref ? capture_ref : tx;
  (void)idempotency_key; /* LINE Pay has none; 1164/1165 refuse an over-refund */

  memset(out, 0, sizeof(*out));
  if (!lp_tx_valid(target) || !lp_amount(amount, currency, amt, sizeof(amt))) {
    pay_msg(msg, msglen, "linepay: invalid refund request");
    return PAY_INVALID;
  }
  char body[96];
  snprintf(body, sizeof(body), "{\"refundAmount\":%s}", amt);
  snprintf(path, sizeof(path), "/v3/payments/%s/refund", target);
  r = lp_call(c, "POST", path, body, &reply, code, msg, msglen);
  if (r != PAY_OK) goto done;
  if (strcmp(code, "1165") == 0) {
    /* already refunded in full: LINE Pay has no refund idempotency key,
     * so a refund retried after a crash (the first one made, not yet
     * recorded) lands here; nothing more can be owed on it */
    pay_copy(out->refund_tx, sizeof(out->refund_tx), "already-refunded");
    pay_msg(msg, msglen, "linepay: already refunded in full (returnCode 1165)");
    r = PAY_OK;
    goto done;
  }
  if (strcmp(code, "0000") != 0) {
    r = lp_code_result(code);
    pay_msg(msg, msglen, "linepay: refund refused (returnCode %s)", code);
    goto done;
  }
  json_t *id = json_object_get(json_object_get(reply, "info"), "refundTransactionId");
  if (!lp_tx_from_json(id, out->refund_tx, sizeof(out->refund_tx))) {
    r = PAY_INVALID;
    pay_msg(msg, msglen, "linepay: refund reply lacks refundTransactionId");
    goto done;
  }
  pay_msg(msg, msglen, "linepay: refunded");

done:
  json_decref(reply);
  return r;
}

static pay_result_t lp_verify_callback(const pay_credentials_t *c, const pay_callback_t *cb,
                                       pay_callback_res_t *out, char *msg, size_t msglen) {
  (void)c;
  memset(out, 0, sizeof(*out));
  if (!lp_tx_valid(cb->query_transaction_id) || !pay_order_id_valid(cb->query_order_id)) {
    pay_msg(msg, msglen, "linepay: callback without well-formed transactionId and orderId");
    return PAY_INVALID;
  }
  pay_copy(out->tx, sizeof(out->tx), cb->query_transaction_id);
  pay_copy(out->order_id, sizeof(out->order_id), cb->query_order_id);
  pay_copy(out->event_type, sizeof(out->event_type), "confirm_url");
  pay_msg(msg, msglen, "linepay: callback names a transaction (a claim, not a payment)");
  return PAY_OK;
}

/* ---- saved payment methods (preapproved payments) ---- */

/* A regKey: 1..63 of [A-Za-z0-9] (it goes into a path). */
static bool lp_regkey_valid(const char *s) {
  size_t n = s ? strlen(s) : 0;
  if (n == 0 || n > 63) return false;
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')))
      return false;
  }
  return true;
}

/*
 * The registration's tx as the flow keeps it: "<transactionId>:<CUR>".
 * Confirm needs the amount and currency of the request, and method_finish
 * is not given the currency: the adapter carries it in its own tx text
 * (opaque to the flow, which finds a registration by its setup id).
 */
static bool lp_setup_tx_split(const char *tx, char id[24], char cur[4]) {
  const char *colon = tx ? strchr(tx, ':') : NULL;
  if (!colon || colon - tx > 19 || strlen(colon + 1) != 3) return false;
  memcpy(id, tx, (size_t)(colon - tx));
  id[colon - tx] = '\0';
  memcpy(cur, colon + 1, 4);
  return lp_tx_valid(id) && money_exponent(cur) >= 0;
}

/* A provider's returnMessage fit for our msg: printable ASCII, at most 80
 * characters, and dropped entirely when it names the regKey. */
static void lp_safe_message(const json_t *reply, const char *regkey, char *out, size_t size) {
  const char *m = json_string_value(json_object_get(reply, "returnMessage"));
  size_t k = 0;
  out[0] = '\0';
  if (!m || (regkey && *regkey && strstr(m, regkey))) return;
  for (size_t i = 0; m[i] && i < 80 && k + 1 < size; i++)
    if ((unsigned char)m[i] >= 0x20 && (unsigned char)m[i] < 0x7f) out[k++] = m[i];
  out[k] = '\0';
}

static pay_result_t lp_method_setup(const pay_credentials_t *c, const pay_method_setup_req_t *req,
                                    pay_method_setup_res_t *out, char *msg, size_t msglen) {
  pay_buf_t body = {0};
  json_t *reply = NULL;
  char code[8], amount[48], id[24];
  pay_result_t r = PAY_INVALID;

  memset(out, 0, sizeof(*out));
  /* the smallest amount of the currency: one minor unit, voided at once */
  if (!pay_order_id_valid(req->setup_id) || !req->confirm_url || !req->cancel_url ||
      !lp_amount(1, req->currency, amount, sizeof(amount))) {
    pay_msg(msg, msglen, "linepay: invalid registration request");
    goto done;
  }
  pay_buf_addf(&body, "{\"amount\":%s,\"currency\":", amount);
  pay_buf_add_json_string(&body, req->currency);
  pay_buf_add(&body, ",\"orderId\":");
  pay_buf_add_json_string(&body, req->setup_id);
  pay_buf_add(&body, ",\"packages\":[{\"id\":");
  pay_buf_add_json_string(&body, req->setup_id);
  pay_buf_addf(&body,
               ",\"amount\":%s,\"name\":\"Payment method registration\",\"products\":[{\"name\":"
               "\"Payment method registration\",\"quantity\":1,\"price\":%s}]}],"
               "\"redirectUrls\":{\"confirmUrl\":",
               amount, amount);
  pay_buf_add_json_string(&body, req->confirm_url);
  pay_buf_add(&body, ",\"cancelUrl\":");
  pay_buf_add_json_string(&body, req->cancel_url);
  pay_buf_add(&body,
              "},\"options\":{\"payment\":{\"payType\":\"PREAPPROVED\",\"capture\":false}}}");
  if (!pay_buf_ok(&body)) {
    pay_msg(msg, msglen, "linepay: registration request too long or not UTF-8");
    goto done;
  }
  r = lp_call(c, "POST", "/v3/payments/request", body.data, &reply, code, msg, msglen);
  if (r != PAY_OK) goto done;
  if (strcmp(code, "0000") != 0) {
    r = lp_code_result(code);
    pay_msg(msg, msglen, "linepay: registration request refused (returnCode %s)", code);
    goto done;
  }
  json_t *info = json_object_get(reply, "info");
  const char *web = json_string_value(json_object_get(json_object_get(info, "paymentUrl"), "web"));
  if (!lp_tx_from_json(json_object_get(info, "transactionId"), id, sizeof(id)) || !web ||
      !pay_copy(out->setup_url, sizeof(out->setup_url), web)) {
    memset(out, 0, sizeof(*out));
    r = PAY_INVALID;
    pay_msg(msg, msglen, "linepay: registration reply lacks transactionId or paymentUrl");
    goto done;
  }
  snprintf(out->tx, sizeof(out->tx), "%s:%s", id, req->currency);
  pay_msg(msg, msglen, "linepay: registration requested");

done:
  json_decref(reply);
  pay_buf_free(&body);
  return r;
}

static pay_result_t lp_method_finish(const pay_credentials_t *c, const char *tx,
                                     const char *setup_id, pay_method_t *out, char *msg,
                                     size_t msglen) {
  char id[24], cur[4], amt[48], path[112], code[8];
  pay_status_t st;
  pay_buf_t body = {0};
  json_t *reply = NULL;
  pay_result_t r = PAY_INVALID;
  (void)setup_id; /* the transaction names the registration */

  memset(out, 0, sizeof(*out));
  if (!lp_setup_tx_split(tx, id, cur) || !lp_amount(1, cur, amt, sizeof(amt))) {
    pay_msg(msg, msglen, "linepay: malformed registration transaction");
    goto done;
  }
  r = lp_check(c, id, &st, msg, msglen);
  if (r != PAY_OK) goto done;
  if (st.state == PAY_TX_OPEN) {
    r = PAY_NOT_FOUND;
    pay_msg(msg, msglen, "linepay: registration not approved yet");
    goto done;
  }
  if (st.state != PAY_TX_AUTHORIZED && st.state != PAY_TX_PAID) {
    r = PAY_DECLINED;
    pay_msg(msg, msglen, "linepay: registration refused, abandoned or expired");
    goto done;
  }
  /* approved, or confirmed already by a finish whose answer was lost: the
   * confirm says the regKey again, or refuses and the registration is lost */
  snprintf(path, sizeof(path), "/v3/payments/%s/confirm", id);
  pay_buf_addf(&body, "{\"amount\":%s,\"currency\":", amt);
  pay_buf_add_json_string(&body, cur);
  pay_buf_add(&body, "}");
  if (!pay_buf_ok(&body)) {
    r = PAY_INVALID;
    goto done;
  }
  r = lp_call(c, "POST", path, body.data, &reply, code, msg, msglen);
  if (r != PAY_OK) goto done;
  const char *key = json_string_value(json_object_get(json_object_get(reply, "info"), "regKey"));
  if (strcmp(code, "0000") != 0) {
    r = lp_code_result(code);
    if (r == PAY_NOT_FOUND) r = PAY_DECLINED;
    pay_msg(msg, msglen, "linepay: registration confirm refused (returnCode %s)", code);
    goto done;
  }
  if (!lp_regkey_valid(key) || !pay_copy(out->ref, sizeof(out->ref), key)) {
    r = PAY_INVALID;
    pay_msg(msg, msglen, "linepay: confirm reply lacks a regKey");
    goto done;
  }
  pay_copy(out->display, sizeof(out->display), "LINE Pay");
  json_decref(reply);
  reply = NULL;
  /* the one-unit authorization is not wanted: void it; the regKey stays
   * good either way (a failed void only leaves the authorization to lapse) */
  snprintf(path, sizeof(path), "/v3/payments/authorizations/%s/void", id);
  pay_result_t v = lp_call(c, "POST", path, "", &reply, code, msg, msglen);
  if (v == PAY_OK && strcmp(code, "0000") == 0)
    pay_msg(msg, msglen, "linepay: registered (authorization voided)");
  else
    pay_msg(msg, msglen, "linepay: registered (the authorization void failed: it will lapse)");
  r = PAY_OK;

done:
  json_decref(reply);
  pay_buf_free(&body);
  return r;
}

/* The outcome of an earlier charge under order_id (after a "duplicate
 * orderId" refusal), from the Payment Details API: PAY_OK with the
 * transaction when it took the money; PAY_DECLINED otherwise. */
static pay_result_t lp_charge_lookup(const pay_credentials_t *c, const char *order_id,
                                     pay_charge_res_t *out, char *msg, size_t msglen) {
  char query[96], code[8];
  json_t *reply = NULL;
  snprintf(query, sizeof(query), "orderId=%s", order_id); /* [A-Za-z0-9_-]: nothing to escape */
  pay_result_t r = lp_call_q(c, "GET", "/v3/payments", query, NULL, &reply, code, msg, msglen);
  if (r != PAY_OK) return r;
  json_t *list = json_object_get(reply, "info");
  json_t *first = json_array_get(list, 0);
  if (strcmp(code, "0000") == 0 && json_array_size(list) > 0 &&
      lp_tx_from_json(json_object_get(first, "transactionId"), out->tx, sizeof(out->tx))) {
    pay_msg(msg, msglen, "linepay: order charged before (duplicate orderId)");
  } else {
    r = strcmp(code, "0000") == 0 ? PAY_DECLINED : lp_code_result(code);
    if (r == PAY_NOT_FOUND) r = PAY_DECLINED;
    pay_msg(msg, msglen, "linepay: duplicate orderId without a payment (returnCode %s)", code);
  }
  json_decref(reply);
  return r;
}

static pay_result_t lp_charge_saved(const pay_credentials_t *c, const pay_charge_req_t *req,
                                    pay_charge_res_t *out, char *msg, size_t msglen) {
  char path[128], code[8], amt[48], why[96];
  pay_buf_t body = {0};
  json_t *reply = NULL;
  pay_result_t r = PAY_INVALID;

  memset(out, 0, sizeof(*out));
  if (!lp_regkey_valid(req->ref) || !pay_order_id_valid(req->order_id) || !req->item ||
      !*req->item || !lp_amount(req->amount, req->currency, amt, sizeof(amt))) {
    pay_msg(msg, msglen, "linepay: invalid charge request");
    goto done;
  }
  snprintf(path, sizeof(path), "/v3/payments/preapprovedPay/%s/payment", req->ref);
  pay_buf_add(&body, "{\"productName\":");
  pay_buf_add_json_string(&body, req->item);
  pay_buf_addf(&body, ",\"amount\":%s,\"currency\":", amt);
  pay_buf_add_json_string(&body, req->currency);
  pay_buf_add(&body, ",\"orderId\":");
  pay_buf_add_json_string(&body, req->order_id);
  pay_buf_add(&body, ",\"capture\":true}");
  if (!pay_buf_ok(&body)) {
    pay_msg(msg, msglen, "linepay: charge request too long or not UTF-8");
    goto done;
  }
  r = lp_call(c, "POST", path, body.data, &reply, code, msg, msglen);
  if (r != PAY_OK) goto done;
  if (strcmp(code, "0000") == 0) {
    if (!lp_tx_from_json(json_object_get(json_object_get(reply, "info"), "transactionId"), out->tx,
                         sizeof(out->tx))) {
      r = PAY_INVALID;
      pay_msg(msg, msglen, "linepay: charge reply lacks transactionId");
      goto done;
    }
    pay_msg(msg, msglen, "linepay: charged");
    goto done;
  }
  if (strcmp(code, "1172") == 0) { /* this order id was used: a retry */
    r = lp_charge_lookup(c, req->order_id, out, msg, msglen);
    goto done;
  }
  r = lp_code_result(code);
  if (r == PAY_NOT_FOUND) r = PAY_DECLINED; /* the regKey is gone: the method cannot pay */
  lp_safe_message(reply, req->ref, why, sizeof(why));
  pay_msg(msg, msglen, "linepay: charge refused (returnCode %s%s%s)", code, *why ? ": " : "", why);

done:
  json_decref(reply);
  pay_buf_free(&body);
  return r;
}

static pay_result_t lp_method_remove(const pay_credentials_t *c, const char *ref, char *msg,
                                     size_t msglen) {
  char path[128], code[8];
  json_t *reply = NULL;
  if (!lp_regkey_valid(ref)) {
    pay_msg(msg, msglen, "linepay: malformed method reference");
    return PAY_INVALID;
  }
  snprintf(path, sizeof(path), "/v3/payments/preapprovedPay/%s/expire", ref);
  pay_result_t r = lp_call(c, "POST", path, "", &reply, code, msg, msglen);
  json_decref(reply);
  if (r != PAY_OK) return r;
  /* 1190: no such regKey; 1193: expired already: gone either way */
  if (strcmp(code, "0000") == 0 || strcmp(code, "1190") == 0 || strcmp(code, "1193") == 0) {
    pay_msg(msg, msglen, "linepay: method removed (returnCode %s)", code);
    return PAY_OK;
  }
  r = lp_code_result(code);
  pay_msg(msg, msglen, "linepay: method removal refused (returnCode %s)", code);
  return r;
}

const pay_provider_t pay_provider_linepay = {
    .name = "linepay",
    .parse_credentials = lp_parse_credentials,
    .describe_credentials = lp_describe_credentials,
    .reserve = lp_reserve,
    .status = lp_status,
    .confirm = lp_confirm,
    .cancel = lp_cancel,
    .refund = lp_refund,
    .verify_callback = lp_verify_callback,
    .method_setup = lp_method_setup,
    .method_finish = lp_method_finish,
    .charge_saved = lp_charge_saved,
    .method_remove = lp_method_remove,
};
