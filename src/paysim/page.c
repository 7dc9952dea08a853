/*
 * page.c: nimbus-paysim's payment page for a phone (GET /pay/<tx>: merchant,
 * item, amount, Pay / Decline forms with a per-transaction CSRF token; no
 * script, no external asset, a strict CSP whose style hash is computed at
 * start) and the Pay / Decline actions shared with POST /sim/pay|decline.
 *
 * After Pay: LINE Pay -> authorized, the browser is sent (303) to
 * confirmUrl?transactionId=..&orderId=.. (a /sim/pay has no browser: paysim
 * GETs that URL itself in the background); Stripe -> complete/paid, the
 * signed checkout.session.completed webhook goes out in the background and
 * the browser is sent to success_url (a setup session saves a card first:
 * saved.c).  Decline: LINE Pay -> failed and
 * cancelUrl; Stripe -> the session stays open, marked declined.
 * All HTML goes through ps_buf_html().
 */
#include "paysim.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static const char ps_style[] =
    "body{margin:0;font-family:system-ui,sans-serif;background:#f4f5f7;color:#1c1e21}"
    "main{max-width:420px;margin:0 auto;padding:24px 20px}"
    ".card{background:#fff;border-radius:16px;padding:24px;box-shadow:0 2px 8px #0002}"
    ".merchant{font-size:15px;color:#555;margin:0}h1{font-size:22px;margin:8px 0 16px}"
    ".amount{font-size:40px;font-weight:700;margin:0 0 8px}.note{font-size:14px;color:#666}"
    "button{display:block;width:100%;min-height:56px;font-size:20px;border:0;"
    "border-radius:12px;margin-top:14px}.pay{background:#06c755;color:#fff}"
    ".decline{background:#e4e6eb;color:#1c1e21}.state{font-size:20px;font-weight:600}";

static char ps_style_hash[64];
static pthread_once_t ps_style_once = PTHREAD_ONCE_INIT;

/* base64 SHA-256 of the style block, for the CSP's style-src */
static void ps_style_hash_init(void) {
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, (const unsigned char *)ps_style, strlen(ps_style));
  sodium_bin2base64(ps_style_hash, sizeof ps_style_hash, h, sizeof h,
                    sodium_base64_VARIANT_ORIGINAL);
}

/* The CSP of a page whose forms may end in a redirect to tx's URLs. */
static void ps_page_csp(const ps_tx_t *tx, ps_reply_t *r) {
  pthread_once(&ps_style_once, ps_style_hash_init);
  char self[1100] = "", a[1100] = "", b[1100] = "";
  ps_url_origin(ps_cfg.public_url, self, sizeof self);
  if (tx) {
    ps_url_origin(tx->confirm_url, a, sizeof a);
    ps_url_origin(tx->cancel_url, b, sizeof b);
  }
  snprintf(r->csp, sizeof r->csp,
           "default-src 'none'; style-src 'sha256-%s'; form-action 'self' %.300s %.300s %.300s; "
           "frame-ancestors 'none'; base-uri 'none'",
           ps_style_hash, self, a, b);
}

/* The page around `inner` (already escaped HTML). */
static void ps_page_reply(ps_reply_t *r, int status, const ps_tx_t *tx, const char *title,
                          const char *inner) {
  ps_buf_t b = {0};
  ps_buf_printf(&b,
                "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                "<title>");
  ps_buf_html(&b, title);
  ps_buf_printf(&b, "</title><style>%s</style></head><body><main><div class=\"card\">", ps_style);
  ps_buf_add(&b, inner, strlen(inner));
  ps_buf_printf(&b, "</div></main></body></html>\n");
  ps_page_csp(tx, r);
  ps_reply_text(r, b.failed ? 500 : status, "text/html; charset=utf-8",
                b.data && !b.failed ? b.data : "out of memory");
  free(b.data);
}

/* The header lines of a card: merchant, item, amount. */
static void ps_page_head(ps_buf_t *b, const ps_tx_t *tx, char *amount, size_t len) {
  char num[40];
  if (!ps_money_text(tx->amount, tx->currency, num, sizeof num)) snprintf(num, sizeof num, "?");
  if (tx->setup) /* a Stripe card registration: nothing is charged now */
    snprintf(amount, len, "%s 0 now", tx->currency);
  else
    snprintf(amount, len, "%s %s", tx->currency, num);
  ps_buf_add(b, "<p class=\"merchant\">", 20);
  ps_buf_html(b, ps_cfg.merchant);
  ps_buf_add(b, "</p><h1>", 8);
  ps_buf_html(b, tx->item);
  ps_buf_add(b, "</h1><p class=\"amount\">", 23);
  ps_buf_html(b, amount);
  ps_buf_add(b, "</p>", 4);
}

/* Render the page for tx in its current state; notice: a line on top. */
static void ps_page_render(ps_reply_t *r, const ps_tx_t *tx, const char *notice) {
  ps_buf_t b = {0};
  char amount[64];
  ps_page_head(&b, tx, amount, sizeof amount);
  if (notice) {
    ps_buf_add(&b, "<p class=\"state\">", 17);
    ps_buf_html(&b, notice);
    ps_buf_add(&b, "</p>", 4);
  }
  const char *state = NULL;
  switch (tx->state) {
    case PS_TX_OPEN:
      break;
    case PS_TX_AUTHORIZED:
    case PS_TX_PAID:
      state = tx->setup || tx->preapproved ? "Registered. You can return to the printer."
                                           : "Paid. You can return to the printer.";
      break;
    case PS_TX_EXPIRED:
      state = "This payment request has expired.";
      break;
    case PS_TX_CANCELED:
      state = "This payment request was canceled.";
      break;
    case PS_TX_FAILED:
      state = "This payment was declined.";
      break;
  }
  if (state && !notice) {
    ps_buf_add(&b, "<p class=\"state\">", 17);
    ps_buf_html(&b, state);
    ps_buf_add(&b, "</p>", 4);
  }
  if (tx->state == PS_TX_OPEN) {
    for (int i = 0; i < 2; i++) {
      ps_buf_add(&b, "<form method=\"post\" action=\"", 28);
      ps_buf_html(&b, ps_cfg.public_url);
      ps_buf_add(&b, "/pay/", 5);
      ps_buf_html(&b, tx->id);
      ps_buf_add(&b, "\"><input type=\"hidden\" name=\"csrf\" value=\"", 42);
      ps_buf_html(&b, tx->csrf);
      if (i == 0 && (tx->setup || tx->preapproved)) {
        ps_buf_printf(&b,
                      "\"><button class=\"pay\" name=\"action\" value=\"pay\">"
                      "Save for later payments</button></form>");
      } else if (i == 0) {
        ps_buf_add(&b, "\"><button class=\"pay\" name=\"action\" value=\"pay\">Pay ", 52);
        ps_buf_html(&b, amount);
        ps_buf_add(&b, "</button></form>", 16);
      } else {
        ps_buf_printf(&b,
                      "\"><button class=\"decline\" name=\"action\" value=\"decline\">"
                      "Decline</button></form>");
      }
    }
    char until[32];
    struct tm tm;
    gmtime_r(&tx->expires_at, &tm);
    strftime(until, sizeof until, "%H:%M:%S UTC", &tm);
    ps_buf_printf(&b, "<p class=\"note\">Payable until %s.</p>", until);
  }
  ps_buf_printf(&b, "<p class=\"note\">%s test payment (nimbus-paysim). Reference ",
                tx->provider == PS_LINEPAY ? "LINE Pay" : "Stripe");
  ps_buf_html(&b, tx->order_id[0] ? tx->order_id : tx->id);
  ps_buf_add(&b, ".</p>", 5);
  ps_page_reply(r, 200, tx, "Payment", b.data && !b.failed ? b.data : "");
  free(b.data);
}

/* url with ?transactionId=<id>&orderId=<order> appended into b. */
static void ps_linepay_return(ps_buf_t *b, const char *url, const ps_tx_t *tx) {
  ps_buf_add(b, url, strlen(url));
  ps_buf_add(b, strchr(url, '?') ? "&" : "?", 1);
  ps_buf_printf(b, "transactionId=%s&orderId=", tx->id);
  ps_buf_urlenc(b, tx->order_id);
}

/* Tell the merchant, in the background: LINE Pay GETs confirmUrl (paid) or
 * cancelUrl; Stripe sends checkout.session.completed (paid only). */
static void ps_tx_notify(const ps_tx_t *tx, const ps_behaviour_t *b, bool paid, bool wait) {
  if (tx->provider == PS_STRIPE) {
    if (paid) ps_stripe_send_event(tx, "checkout.session.completed", b, wait);
    return;
  }
  if (b->no_callback) {
    log_event(LOG_INFO, NULL, "callback withheld (no_callback)", "tx", tx->id, (char *)NULL);
    return;
  }
  ps_buf_t url = {0};
  ps_linepay_return(&url, paid ? tx->confirm_url : tx->cancel_url, tx);
  if (url.failed) {
    free(url.data);
    return;
  }
  ps_done_t *done = wait ? ps_done_new() : NULL;
  ps_callback_queue(tx->id, url.data, NULL, NULL, b->callback_delay_ms, done);
  if (b->double_callback)
    ps_callback_queue(tx->id, url.data, NULL, NULL, b->callback_delay_ms, NULL);
  if (done) {
    ps_done_wait(done, 5000);
    ps_done_free(done);
  }
  free(url.data);
}

typedef enum { ACT_DONE, ACT_ALREADY, ACT_EXPIRED, ACT_CLOSED } ps_act_t;

typedef struct {
  bool pay;
  ps_act_t result;
} ps_act_arg_t;

/* Pay or decline under the table lock (compare-and-set on OPEN). */
static int ps_act_cas(ps_tx_t *tx, void *arg) {
  ps_act_arg_t *a = arg;
  if (tx->state == PS_TX_EXPIRED) {
    a->result = ACT_EXPIRED;
  } else if (tx->state != PS_TX_OPEN) {
    bool same = a->pay ? (tx->state == PS_TX_AUTHORIZED || tx->state == PS_TX_PAID)
                       : tx->state == PS_TX_FAILED;
    a->result = same ? ACT_ALREADY : ACT_CLOSED;
  } else if (a->pay) {
    if (tx->provider == PS_LINEPAY) {
      tx->state = PS_TX_AUTHORIZED;
    } else if (tx->setup) {
      if (!ps_saved_stripe_register_locked(tx)) {
        a->result = ACT_CLOSED; /* no room for another card */
        return 0;
      }
      tx->state = PS_TX_PAID;
      tx->declined = false;
    } else {
      tx->state = PS_TX_PAID;
      tx->declined = false;
      ps_random_id(tx->payment_intent, sizeof tx->payment_intent, "pi_", 24);
    }
    a->result = ACT_DONE;
  } else {
    if (tx->provider == PS_LINEPAY)
      tx->state = PS_TX_FAILED;
    else
      tx->declined = true;
    a->result = ACT_DONE;
  }
  return 0;
}

/* Apply pay/decline (decline when the behaviour says so); *after is the
 * record afterwards.  false when the id is unknown. */
static bool ps_act(const char *txid, bool *pay, ps_behaviour_t *b, ps_act_t *res, ps_tx_t *after) {
  ps_tx_t tx;
  if (!ps_tx_get(txid, &tx)) return false;
  ps_behaviour_get(tx.id, tx.order_id, b);
  if (b->decline) *pay = false;
  ps_act_arg_t a = {.pay = *pay};
  bool found;
  ps_tx_update(txid, ps_act_cas, &a, &found, after);
  *res = a.result;
  if (found && a.result == ACT_DONE)
    log_event(LOG_INFO, NULL,
              *pay ? "payment approved by the user" : "payment declined by the user", "tx",
              after->id, (char *)NULL);
  return found;
}

void ps_tx_autopay(const ps_tx_t *tx, const ps_behaviour_t *b) {
  bool pay = true;
  ps_behaviour_t bb;
  ps_act_t res;
  ps_tx_t after;
  (void)b;
  if (ps_act(tx->id, &pay, &bb, &res, &after) && res == ACT_DONE)
    ps_tx_notify(&after, &bb, pay, bb.early_webhook);
}

void ps_page_act(const char *txid, bool pay, bool browser, ps_reply_t *r) {
  ps_behaviour_t b;
  ps_act_t res;
  ps_tx_t tx;
  if (!ps_act(txid, &pay, &b, &res, &tx)) {
    if (browser)
      ps_page_reply(r, 404, NULL, "Unknown payment", "<p class=\"state\">Unknown payment.</p>");
    else
      ps_reply_json(r, 404, json_pack("{s:s}", "error", "unknown transaction"));
    return;
  }
  static const char *names[] = {"done", "already", "expired", "closed"};
  ps_buf_t redirect = {0};
  if (res == ACT_DONE) {
    if (tx.provider == PS_LINEPAY && browser && !b.no_callback) {
      /* the browser is the callback: redirect it (late, with callback_delay_ms) */
      ps_linepay_return(&redirect, pay ? tx.confirm_url : tx.cancel_url, &tx);
      if (b.callback_delay_ms) ps_sleep_ms(b.callback_delay_ms);
      if (b.double_callback) {
        ps_behaviour_t once = b;
        once.double_callback = false;
        once.callback_delay_ms = 0;
        ps_tx_notify(&tx, &once, pay, false);
      }
    } else {
      ps_tx_notify(&tx, &b, pay, false);
      if (tx.provider == PS_STRIPE && pay) {
        /* Stripe fills {CHECKOUT_SESSION_ID} in success_url */
        const char *u = tx.confirm_url, *m = strstr(u, "{CHECKOUT_SESSION_ID}");
        if (m) {
          ps_buf_add(&redirect, u, (size_t)(m - u));
          ps_buf_add(&redirect, tx.id, strlen(tx.id));
          ps_buf_add(&redirect, m + 21, strlen(m + 21));
        } else {
          ps_buf_add(&redirect, u, strlen(u));
        }
      }
    }
  }
  const char *state = tx.provider == PS_STRIPE && tx.declined && tx.state == PS_TX_OPEN
                          ? "declined"
                          : (const char *[]){"open",     "authorized", "paid",
                                             "canceled", "failed",     "expired"}[tx.state];
  if (!browser) {
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s}", "id", tx.id, "action", pay ? "pay" : "decline",
                            "result", names[res], "state", state);
    if (redirect.data) json_object_set_new(doc, "redirect", json_string(redirect.data));
    ps_reply_json(r, res == ACT_DONE || res == ACT_ALREADY ? 200 : 409, doc);
  } else if (redirect.data && !redirect.failed && strlen(redirect.data) < sizeof r->location) {
    snprintf(r->location, sizeof r->location, "%s", redirect.data);
    ps_page_csp(&tx, r);
    ps_reply_text(r, 303, "text/plain", "See Other\n");
  } else {
    const char *notice = NULL;
    if (res == ACT_DONE && !pay)
      notice = "The payment was declined.";
    else if (res == ACT_DONE)
      notice = "Paid. You can return to the printer.";
    ps_page_render(r, &tx, notice);
  }
  free(redirect.data);
}

void ps_page_handle(const ps_request_t *rq, ps_reply_t *r, const char *txid) {
  ps_tx_t tx;
  if (!ps_tx_get(txid, &tx)) {
    ps_page_reply(r, 404, NULL, "Unknown payment", "<p class=\"state\">Unknown payment.</p>");
    return;
  }
  if (!strcmp(rq->method, "GET")) {
    ps_page_render(r, &tx,
                   tx.declined && tx.state == PS_TX_OPEN
                       ? "The payment was declined. You may try again."
                       : NULL);
    return;
  }
  if (strcmp(rq->method, "POST")) {
    ps_reply_text(r, 405, "text/plain", "method not allowed\n");
    return;
  }
  ps_form_t f;
  if (!ps_form_parse(rq->body, rq->body_len, &f)) {
    ps_reply_text(r, 400, "text/plain", "bad form\n");
    return;
  }
  const char *token = ps_form_get(&f, "csrf"), *action = ps_form_get(&f, "action");
  if (!token || strlen(token) != strlen(tx.csrf) ||
      sodium_memcmp(token, tx.csrf, strlen(tx.csrf)) != 0) {
    ps_page_reply(r, 403, &tx, "Payment",
                  "<p class=\"state\">This form has expired; reload the page.</p>");
  } else if (action && (!strcmp(action, "pay") || !strcmp(action, "decline"))) {
    ps_page_act(tx.id, !strcmp(action, "pay"), true, r);
  } else {
    ps_reply_text(r, 400, "text/plain", "action must be pay or decline\n");
  }
  ps_form_free(&f);
}
