/*
 * linepay.c: nimbus-paysim's LINE Pay online API v3 subset: request,
 * confirm, check, void (authorizations) and refund; a request with
 * options.payment.payType PREAPPROVED is a registration whose confirm
 * answers a regKey (preapproved payments: saved.c).  Every call must carry
 * a known X-LINE-ChannelId and a valid X-LINE-Authorization:
 * base64(HMAC-SHA256(secret, secret + path + (body | query) + nonce)).
 * Replies are HTTP 200 with a returnCode as the real API does (bad
 * signature: 1106); transaction ids are 19-digit JSON integers.  Return
 * codes as pinned in the wire subset: 1169 not approved yet, 1153 amount or
 * currency mismatch, 1180 expired, 1150 unknown, 1172 duplicate orderId,
 * 1164 refund over the remainder, 1165 already fully refunded.
 */
#include "paysim.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* Reply with returnCode/returnMessage and an optional info object (taken). */
static void lp_reply(ps_reply_t *r, const char *code, const char *msg, json_t *info) {
  json_t *doc = json_pack("{s:s, s:s}", "returnCode", code, "returnMessage", msg);
  if (info) json_object_set_new(doc, "info", info);
  ps_reply_json(r, 200, doc);
}

/* The channel index whose signature this request carries, or -1. */
static int lp_authenticate(const ps_request_t *rq) {
  const char *chid = ps_header(rq, "X-LINE-ChannelId");
  const char *nonce = ps_header(rq, "X-LINE-Authorization-Nonce");
  const char *sig = ps_header(rq, "X-LINE-Authorization");
  if (!chid || !nonce || !sig || !nonce[0] || strlen(nonce) > 128) return -1;
  int ch = -1;
  for (int i = 0; i < ps_cfg.nchannels; i++)
    if (!strcmp(ps_cfg.channels[i].id, chid)) ch = i;
  if (ch < 0) return -1;
  const char *secret = ps_cfg.channels[ch].secret;
  bool get = !strcmp(rq->method, "GET");
  ps_buf_t msg = {0};
  ps_buf_add(&msg, secret, strlen(secret));
  ps_buf_add(&msg, rq->path, strlen(rq->path));
  if (get)
    ps_buf_add(&msg, rq->query, strlen(rq->query));
  else
    ps_buf_add(&msg, rq->body, rq->body_len);
  ps_buf_add(&msg, nonce, strlen(nonce));
  char want[64];
  ps_hmac_b64(secret, msg.data ? msg.data : "", msg.len, want, sizeof want);
  bool ok =
      !msg.failed && strlen(sig) == strlen(want) && sodium_memcmp(sig, want, strlen(want)) == 0;
  sodium_memzero(msg.data, msg.len);
  free(msg.data);
  return ok ? ch : -1;
}

/* The member `name` of obj as a string no longer than max, or NULL. */
static const char *lp_str(json_t *obj, const char *name, size_t max) {
  const char *s = json_string_value(json_object_get(obj, name));
  return s && s[0] && strlen(s) <= max ? s : NULL;
}

/* POST /v3/payments/request */
static void lp_request(const ps_request_t *rq, ps_reply_t *r, int ch) {
  json_t *doc = ps_json_parse_exact(rq->body, rq->body_len);
  ps_tx_t tx = {.provider = PS_LINEPAY, .account = ch, .state = PS_TX_OPEN};
  if (!json_is_object(doc)) {
    lp_reply(r, "2102", "Wrong json format.", NULL);
    goto done;
  }
  const char *order = lp_str(doc, "orderId", 100);
  const char *cur = lp_str(doc, "currency", 3);
  json_t *urls = json_object_get(doc, "redirectUrls");
  const char *confirm = lp_str(urls, "confirmUrl", sizeof tx.confirm_url - 1);
  const char *cancel = lp_str(urls, "cancelUrl", sizeof tx.cancel_url - 1);
  if (ps_api_misbehaves(NULL, order, r, true)) goto done;
  json_t *pkgs = json_object_get(doc, "packages");
  if (!order || !cur || ps_currency_exponent(cur) < 0 || !confirm || !cancel ||
      !json_is_array(pkgs) || json_array_size(pkgs) == 0) {
    lp_reply(r, "2101", "Parameter error.", NULL);
    goto done;
  }
  snprintf(tx.currency, sizeof tx.currency, "%s", cur);
  if (!ps_json_get_amount(json_object_get(doc, "amount"), cur, &tx.amount) || tx.amount <= 0) {
    lp_reply(r, "1183", "Payment amount must be greater than 0.", NULL);
    goto done;
  }
  /* the packages add up to the amount, and each package's products to it */
  int64_t sum = 0;
  size_t i;
  json_t *pkg;
  json_array_foreach(pkgs, i, pkg) {
    int64_t pa = 0, psum = 0;
    json_t *prods = json_object_get(pkg, "products");
    if (!ps_json_get_amount(json_object_get(pkg, "amount"), cur, &pa) || !json_is_array(prods)) {
      lp_reply(r, "2101", "Parameter error.", NULL);
      goto done;
    }
    size_t j;
    json_t *prod;
    json_array_foreach(prods, j, prod) {
      int64_t price = 0;
      json_t *q = json_object_get(prod, "quantity");
      if (!ps_json_get_amount(json_object_get(prod, "price"), cur, &price) || !json_is_integer(q) ||
          json_integer_value(q) < 1 || json_integer_value(q) > 10000 ||
          !lp_str(prod, "name", 4000)) {
        lp_reply(r, "2101", "Parameter error.", NULL);
        goto done;
      }
      psum += price * json_integer_value(q);
    }
    if (psum != pa) {
      lp_reply(r, "1124", "Amount info error.", NULL);
      goto done;
    }
    sum += pa;
  }
  if (sum != tx.amount) {
    lp_reply(r, "1124", "Amount info error.", NULL);
    goto done;
  }
  json_t *p0 = json_array_get(pkgs, 0);
  const char *item = lp_str(json_array_get(json_object_get(p0, "products"), 0), "name", 4000);
  if (!item) item = lp_str(p0, "name", 4000);
  /* options.payment.payType PREAPPROVED: a registration (confirm gives a regKey) */
  json_t *popt = json_object_get(json_object_get(doc, "options"), "payment");
  const char *ptype = json_string_value(json_object_get(popt, "payType"));
  if (ptype && strcmp(ptype, "NORMAL") && strcmp(ptype, "PREAPPROVED")) {
    lp_reply(r, "2101", "Parameter error: payType.", NULL);
    goto done;
  }
  tx.preapproved = ptype && !strcmp(ptype, "PREAPPROVED");
  snprintf(tx.order_id, sizeof tx.order_id, "%s", order);
  snprintf(tx.item, sizeof tx.item, "%s", item ? item : order);
  snprintf(tx.confirm_url, sizeof tx.confirm_url, "%s", confirm);
  snprintf(tx.cancel_url, sizeof tx.cancel_url, "%s", cancel);
  snprintf(tx.access_token, sizeof tx.access_token, "%06u%06u", randombytes_uniform(1000000),
           randombytes_uniform(1000000));
  tx.expires_at = time(NULL) + ps_cfg.expiry;
  bool dup;
  if (!ps_tx_insert(&tx, &dup)) {
    if (dup)
      lp_reply(r, "1172", "Existing same orderId.", NULL);
    else
      lp_reply(r, "9000", "Internal error.", NULL);
    goto done;
  }
  log_event(LOG_INFO, NULL, "linepay reserved", "tx", tx.id, "order", tx.order_id, "amount",
            LOG_INT(tx.amount), "currency", tx.currency, (char *)NULL);
  ps_behaviour_t b;
  ps_behaviour_get(tx.id, tx.order_id, &b);
  if (b.auto_pay) ps_tx_autopay(&tx, &b);
  char url[1200];
  snprintf(url, sizeof url, "%s/pay/%s", ps_cfg.public_url, tx.id);
  lp_reply(
      r, "0000", "Success.",
      json_pack("{s:{s:s, s:s}, s:I, s:s}", "paymentUrl", "web", url, "app", url, "transactionId",
                (json_int_t)strtoll(tx.id, NULL, 10), "paymentAccessToken", tx.access_token));
done:
  json_decref(doc);
}

typedef struct {
  int ch;
  int64_t amount; /* confirm: the amount given; refund: requested (-1 = all) */
  char currency[4];
  const char *code, *msg;
  long long refund_id;
} lp_op_t;

/* confirm under the table lock: AUTHORIZED -> PAID (PAID again: same answer). */
static int lp_confirm_cas(ps_tx_t *tx, void *arg) {
  lp_op_t *op = arg;
  if (tx->provider != PS_LINEPAY || tx->account != op->ch) {
    op->code = "1150", op->msg = "Transaction record not found.";
  } else if (tx->amount != op->amount || strcmp(tx->currency, op->currency)) {
    op->code = "1153", op->msg = "The amount differs from the requested amount.";
  } else if (tx->state == PS_TX_AUTHORIZED || tx->state == PS_TX_PAID) {
    if (tx->preapproved && !tx->saved_ref[0] && !ps_saved_linepay_register_locked(tx)) {
      op->code = "9000", op->msg = "Internal error.";
      return 0;
    }
    tx->state = PS_TX_PAID;
    op->code = "0000", op->msg = "Success.";
  } else if (tx->state == PS_TX_OPEN) {
    op->code = "1169", op->msg = "The user has not approved the payment yet.";
  } else if (tx->state == PS_TX_EXPIRED) {
    op->code = "1180", op->msg = "The payment has expired.";
  } else {
    op->code = "1179", op->msg = "The transaction status cannot be processed.";
  }
  return 0;
}

static int lp_void_cas(ps_tx_t *tx, void *arg) {
  lp_op_t *op = arg;
  if (tx->provider != PS_LINEPAY || tx->account != op->ch) {
    op->code = "1150", op->msg = "Transaction record not found.";
  } else if (tx->state == PS_TX_OPEN || tx->state == PS_TX_AUTHORIZED ||
             tx->state == PS_TX_CANCELED || (tx->preapproved && tx->state == PS_TX_PAID)) {
    /* a confirmed registration is an authorization never captured: voidable */
    tx->state = PS_TX_CANCELED;
    op->code = "0000", op->msg = "Success.";
  } else {
    op->code = "1179", op->msg = "The transaction status cannot be processed.";
  }
  return 0;
}

static int lp_refund_cas(ps_tx_t *tx, void *arg) {
  lp_op_t *op = arg;
  int64_t left = tx->amount - tx->refunded;
  if (tx->provider != PS_LINEPAY || tx->account != op->ch) {
    op->code = "1150", op->msg = "Transaction record not found.";
  } else if (tx->state != PS_TX_PAID) {
    op->code = "1179", op->msg = "The transaction status cannot be processed.";
  } else if (left == 0) {
    op->code = "1165", op->msg = "The transaction has already been refunded.";
  } else if (op->amount >= 0 && op->amount > left) {
    op->code = "1164", op->msg = "The refund amount exceeds what remains of the payment.";
  } else {
    tx->refunded += op->amount >= 0 ? op->amount : left;
    tx->nrefunds++;
    op->refund_id = ps_linepay_number();
    op->code = "0000", op->msg = "Success.";
  }
  return 0;
}

/* The transaction id of "/v3/payments/<id>/<verb>" style paths, or NULL. */
static bool lp_path_id(const char *rest, const char *verb, char *id, size_t len) {
  size_t n = strspn(rest, "0123456789");
  if (n == 0 || n >= len || strcmp(rest + n, verb)) return false;
  snprintf(id, len, "%.*s", (int)n, rest);
  return true;
}

void ps_linepay_handle(const ps_request_t *rq, ps_reply_t *r) {
  int ch = lp_authenticate(rq);
  bool post = !strcmp(rq->method, "POST");
  char id[32];
  if (ch < 0) {
    log_event(LOG_WARN, NULL, "linepay request refused: bad channel or signature", "path", rq->path,
              (char *)NULL);
    lp_reply(r, "1106", "Header information error.", NULL);
    return;
  }
  if (post && !strcmp(rq->path, "/v3/payments/request")) {
    lp_request(rq, r, ch);
    return;
  }
  lp_op_t op = {.ch = ch, .code = "1150", .msg = "Transaction record not found.", .amount = -1};
  bool found = false;
  ps_tx_t tx;
  if (!strcmp(rq->method, "GET") && !strncmp(rq->path, "/v3/payments/requests/", 22) &&
      lp_path_id(rq->path + 22, "/check", id, sizeof id)) {
    if (ps_tx_get(id, &tx) && ps_api_misbehaves(tx.id, tx.order_id, r, true)) return;
    if (!ps_tx_get(id, &tx) || tx.provider != PS_LINEPAY || tx.account != ch) {
      lp_reply(r, "1150", "Transaction record not found.", NULL);
      return;
    }
    static const char *codes[] = {"0000", "0110", "0123", "0121", "0122", "0121"};
    lp_reply(r, codes[tx.state], "Success.", NULL);
    return;
  }
  bool is_void = post && !strncmp(rq->path, "/v3/payments/authorizations/", 28) &&
                 lp_path_id(rq->path + 28, "/void", id, sizeof id);
  bool is_confirm = !is_void && post && !strncmp(rq->path, "/v3/payments/", 13) &&
                    lp_path_id(rq->path + 13, "/confirm", id, sizeof id);
  bool is_refund = !is_void && !is_confirm && post && !strncmp(rq->path, "/v3/payments/", 13) &&
                   lp_path_id(rq->path + 13, "/refund", id, sizeof id);
  if (!is_void && !is_confirm && !is_refund && ps_saved_linepay_handle(rq, r, ch)) return;
  if (!is_void && !is_confirm && !is_refund) {
    lp_reply(r, "2101", "Parameter error: unknown API.", NULL);
    return;
  }
  if (ps_tx_get(id, &tx) && ps_api_misbehaves(tx.id, tx.order_id, r, true)) return;
  /* void has no body (LINE Pay: "Body: None"); "{}" is accepted too */
  json_t *doc =
      is_void && rq->body_len == 0 ? json_object() : ps_json_parse_exact(rq->body, rq->body_len);
  if (!json_is_object(doc)) {
    lp_reply(r, "2102", "Wrong json format.", NULL);
    goto done;
  }
  if (is_confirm) {
    const char *cur = lp_str(doc, "currency", 3);
    if (!cur || !ps_json_get_amount(json_object_get(doc, "amount"), cur, &op.amount)) {
      lp_reply(r, "2101", "Parameter error.", NULL);
      goto done;
    }
    snprintf(op.currency, sizeof op.currency, "%s", cur);
    ps_tx_update(id, lp_confirm_cas, &op, &found, &tx);
    if (found && !strcmp(op.code, "0000")) {
      log_event(LOG_INFO, NULL, "linepay confirmed", "tx", tx.id, (char *)NULL);
      json_t *info =
          json_pack("{s:s, s:I, s:[{s:s, s:o}]}", "orderId", tx.order_id, "transactionId",
                    (json_int_t)strtoll(tx.id, NULL, 10), "payInfo", "method", "BALANCE", "amount",
                    ps_json_amount(tx.amount, tx.currency));
      if (tx.preapproved) json_object_set_new(info, "regKey", json_string(tx.saved_ref));
      lp_reply(r, op.code, op.msg, info);
      goto done;
    }
  } else if (is_void) {
    ps_tx_update(id, lp_void_cas, &op, &found, &tx);
  } else {
    json_t *ra = json_object_get(doc, "refundAmount");
    ps_tx_t cur;
    if (ra && (!ps_tx_get(id, &cur) || !ps_json_get_amount(ra, cur.currency, &op.amount) ||
               op.amount <= 0)) {
      lp_reply(r, ps_tx_get(id, &cur) ? "2101" : "1150", "Parameter error.", NULL);
      goto done;
    }
    ps_tx_update(id, lp_refund_cas, &op, &found, &tx);
    if (found && !strcmp(op.code, "0000")) {
      char date[32];
      time_t now = time(NULL);
      struct tm tm;
      gmtime_r(&now, &tm);
      strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
      log_event(LOG_INFO, NULL, "linepay refunded", "tx", tx.id, "refunded", LOG_INT(tx.refunded),
                (char *)NULL);
      lp_reply(r, op.code, op.msg,
               json_pack("{s:I, s:s}", "refundTransactionId", (json_int_t)op.refund_id,
                         "refundTransactionDate", date));
      goto done;
    }
  }
  lp_reply(r, found ? op.code : "1150", found ? op.msg : "Transaction record not found.", NULL);
done:
  json_decref(doc);
}
