/*
 * panel-pay.c: paying at the printer on the panel (issue 12 item 4): the
 * fee on the details screen, the payment screen with its QR code, and
 * the screens of the payment's outcome.  Same rules as panel-release.c:
 * no script (the screens move on by a meta refresh), HTML only through
 * panel_html(), every POST with the session's CSRF token.
 *
 *   details   (panel-release.c) "Pay and print" (#pay) when nimbusd says
 *             fee.payment_required: POST /release/print; nimbusd answers
 *             202 with the reserved payment -> 303 /release/pay
 *   GET  /release/pay      the session's payment, asked of nimbusd (GET
 *                          /device/jobs/{id}/payment; the store only:
 *                          nimbusd verifies payments with the provider
 *                          itself) on every load:
 *        reserving, pending  the payment screen, reloading every
 *                          PAY_REFRESH_S seconds
 *        paid, settled     "Paid - printing" (#done; logged out after
 *                          the last selected job, like the done screen)
 *        canceled, reason timeout/expired: "Not paid in time" (unpaid)
 *        canceled (other), failed: "Payment declined/canceled/failed"
 *        refund-pending, refunded: the print failed, refunded
 *   GET  /release/qr.svg   the QR code of the pending payment's URL
 *                          (qr-svg.c), 404 without one
 *   POST /release/pay-cancel  csrf: DELETE /device/jobs/{id}/payment:
 *                          canceled -> 303 /release/job (the job is held
 *                          again; #message says so), paid meanwhile ->
 *                          the paid screen, 409 -> 303 /release/pay
 *
 * Element ids (Playwright):
 *   payment:         #payment (data-state reserving|pending, data-id the
 *                    payment's id), #pay-amount, img #qr, #payment-url
 *                    (the URL as selectable text), #countdown ("Pay within
 *                    M:SS", data-seconds), button #pay-cancel
 *   paid:            #message, link #done
 *   unpaid, payment-failed: #message, button #back (to the job list)
 *
 * The session remembers the job being paid for and, while its payment is
 * pending, the payment URL (rel_session_t.pay_job, pay_url); sign-out,
 * idle expiry and Back forget them.  The URL is shown and encoded, never
 * logged.  Money is shown only as nimbusd's text of integer minor units.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "device-api.h"
#include "log.h"
#include "panel-private.h"
#include "qr-svg.h"

#define PAY_REFRESH_S 2 /* the payment screen reloads itself this often */

static void pay_row(panel_buf_t *b, const char *cls, const char *name, const char *id,
                    const char *value) {
  panel_raw(b, cls ? "<tr class=\"total\"><th>" : "<tr><th>");
  panel_html(b, name);
  panel_raw(b, "</th><td id=\"");
  panel_raw(b, id);
  panel_raw(b, "\">");
  panel_html(b, value && *value ? value : "-");
  panel_raw(b, "</td></tr>\n");
}

void pay_fee_rows(panel_buf_t *b, json_t *fee) {
  json_t *amount = json_object_get(fee, "amount");
  bool required = json_is_true(json_object_get(fee, "payment_required"));
  const char *currency = rel_str(fee, "currency");
  /* free: a zero amount, or nothing priced (no currency) and nothing to pay */
  if ((json_is_integer(amount) && json_integer_value(amount) == 0) || (!currency[0] && !required)) {
    pay_row(b, NULL, "Fee", "job-fee", "Free");
    return;
  }
  pay_row(b, NULL, "Print", "fee-print", rel_str(fee, "print_fee_text"));
  pay_row(b, NULL, "Service fee", "fee-service", rel_str(fee, "service_fee_text"));
  pay_row(b, "total", "Total", "job-fee", rel_str(fee, "text"));
}

/* Forget the payment on screen (the selection and the PIN stay). */
static void pay_forget(rel_session_t *s) {
  s->pay_job = 0;
  sodium_memzero(s->pay_url, sizeof s->pay_url);
  s->flash[0] = '\0';
}

/* Remember payment's URL for the QR code: none unless it is pending and
 * a web address (http, https: what a phone opens from a QR code). */
static void pay_keep_url(rel_session_t *s, json_t *payment) {
  const char *url = rel_str(payment, "payment_url");
  bool web = !strncmp(url, "https://", 8) || !strncmp(url, "http://", 7);
  if (web && !strcmp(rel_str(payment, "state"), "pending") && strlen(url) < sizeof s->pay_url)
    snprintf(s->pay_url, sizeof s->pay_url, "%s", url);
  else
    s->pay_url[0] = '\0';
}

enum MHD_Result pay_started(panel_release_t *rel, struct MHD_Connection *conn, int slot,
                            rel_session_t *s, int id, json_t *payment) {
  bool fresh = s->pay_job != id;
  s->pay_job = id;
  s->flash[0] = '\0';
  pay_keep_url(s, payment);
  rel_store(rel, slot, s);
  if (fresh)
    log_event(LOG_INFO, NULL, "job awaiting payment at the panel", "job", LOG_INT(id), "payment",
              LOG_INT(rel_int(payment, "id")), "user", s->user, (char *)NULL);
  return rel_redirect(conn, "/release/pay", NULL);
}

/* GET /device/jobs/{id}/payment: 200 with *payment set, else the status
 * (0: no answer). */
static long pay_fetch(panel_release_t *rel, const rel_session_t *s, json_t **payment) {
  char path[64];
  snprintf(path, sizeof path, "/device/jobs/%d/payment", s->pay_job);
  device_api_answer_t ans;
  *payment = NULL;
  if (!device_api_call(rel->c, "GET", path, s->token, NULL, &ans)) return 0;
  long st = ans.status;
  if (st == 200 && json_is_object(ans.body)) {
    *payment = ans.body;
    ans.body = NULL;
  } else if (st == 200) {
    st = 502; /* not a payment */
  }
  device_api_answer_free(&ans);
  return st;
}

/* "Pay within 2:59" from the payment's expires_at (unix seconds), by this
 * printer's clock; false when it has no expiry. */
static bool pay_countdown(json_t *payment, char *out, size_t len, long long *left) {
  long long expires = rel_int(payment, "expires_at");
  if (expires <= 0) return false;
  long long l = expires - (long long)time(NULL);
  if (l < 0) l = 0;
  *left = l;
  if (l == 0)
    snprintf(out, len, "Time is up: checking the payment...");
  else
    snprintf(out, len, "Pay within %lld:%02lld", l / 60, l % 60);
  return true;
}

/* The payment screen of a reserving or pending payment. */
static enum MHD_Result pay_pending_page(const rel_session_t *s, struct MHD_Connection *conn,
                                        json_t *payment) {
  const char *state = rel_str(payment, "state");
  bool pending = !strcmp(state, "pending");
  char num[32], when[64];
  long long left = 0;
  panel_buf_t b = {0};
  panel_head(&b, "payment", pending ? "Pay to print" : "Preparing the payment", PAY_REFRESH_S,
             "/release/pay");
  snprintf(num, sizeof num, "%lld", rel_int(payment, "id"));
  panel_raw(&b, "<div id=\"payment\" class=\"pay-screen\" data-state=\"");
  panel_html(&b, state);
  panel_raw(&b, "\" data-id=\"");
  panel_html(&b, num);
  panel_raw(&b, "\">\n");
  if (pending && s->pay_url[0])
    panel_raw(&b,
              "<img id=\"qr\" src=\"/release/qr.svg\" width=\"300\" height=\"300\" "
              "alt=\"QR code of the payment link: scan it with your phone to pay\">\n");
  panel_raw(&b, "<div class=\"pay-right\">\n<p id=\"pay-amount\">");
  panel_html(&b, rel_str(payment, "amount_text"));
  panel_raw(&b, "</p>\n");
  if (pay_countdown(payment, when, sizeof when, &left)) {
    snprintf(num, sizeof num, "%lld", left);
    panel_raw(&b, "<p id=\"countdown\" data-seconds=\"");
    panel_raw(&b, num);
    panel_raw(&b, "\">");
    panel_html(&b, when);
    panel_raw(&b, "</p>\n");
  }
  if (pending) {
    panel_raw(&b,
              "<p>Scan the code with your phone and pay there. The job prints as soon as "
              "the payment is confirmed.</p>\n");
    if (s->pay_url[0]) {
      panel_raw(&b, "<p class=\"hint\">Or open this link:</p>\n<p id=\"payment-url\">");
      panel_html(&b, s->pay_url);
      panel_raw(&b, "</p>\n");
    }
  } else {
    panel_raw(&b, "<p>One moment: the payment is being set up.</p>\n");
  }
  rel_form_open(&b, s->csrf, "pay-form", "/release/pay-cancel");
  rel_button(&b, "pay-cancel", "/release/pay-cancel", "Cancel", NULL);
  panel_raw(&b, "</form>\n</div>\n</div>\n");
  return rel_page(conn, 200, &b);
}

/* Paid: the job prints.  Like the done screen: the next selected job, or
 * logged out after the last one. */
static enum MHD_Result pay_paid(panel_release_t *rel, struct MHD_Connection *conn, int slot,
                                rel_session_t *s, const char *msg) {
  log_event(LOG_INFO, NULL, "panel payment paid", "job", LOG_INT(s->pay_job), "user", s->user,
            (char *)NULL);
  rel_advance(s);
  panel_buf_t b = {0};
  if (s->cur < s->njobs) {
    rel_store(rel, slot, s);
    rel_head(rel, &b, "paid", "Paid \xe2\x80\x94 printing", true);
    rel_message(&b, msg, false);
    panel_raw(&b,
              "<a class=\"button primary\" id=\"next-job\" href=\"/release/job\" autofocus>Next "
              "job</a>\n");
    return rel_page(conn, 200, &b);
  }
  rel_end(rel, slot, s->cookie);
  log_event(LOG_INFO, NULL, "panel session ended (printed)", "user", s->user, (char *)NULL);
  rel_head(rel, &b, "paid", "Paid \xe2\x80\x94 printing", false);
  rel_message(&b, msg, false);
  panel_raw(&b,
            "<p>You have been logged out.</p>\n"
            "<a class=\"button\" id=\"done\" href=\"/release\" autofocus>Done</a>\n");
  return rel_page(conn, 200, &b);
}

/* A payment that ended unpaid: screen unpaid or payment-failed, with Back
 * to the job list (the job is held again, or refunded). */
static enum MHD_Result pay_ended(panel_release_t *rel, struct MHD_Connection *conn, int slot,
                                 rel_session_t *s, const char *screen, const char *title,
                                 const char *msg) {
  log_event(LOG_INFO, NULL, "panel payment ended unpaid", "job", LOG_INT(s->pay_job), "screen",
            screen, "user", s->user, (char *)NULL);
  pay_forget(s);
  rel_store(rel, slot, s);
  panel_buf_t b = {0};
  rel_head(rel, &b, screen, title, true);
  rel_message(&b, msg, !strcmp(screen, "payment-failed"));
  rel_form_open(&b, s->csrf, "ended-form", "/release/back");
  rel_button(&b, "back", "/release/back", "Back to your jobs", "primary");
  panel_raw(&b, "</form>\n");
  return rel_page(conn, 200, &b);
}

enum MHD_Result pay_page(panel_release_t *rel, struct MHD_Connection *conn, int slot,
                         rel_session_t *s) {
  if (!s->pay_job) return rel_redirect(conn, "/release/job", NULL);
  json_t *p = NULL;
  long st = pay_fetch(rel, s, &p);
  enum MHD_Result ret;
  if (st == 0 || st >= 500) return rel_unavailable(rel, conn);
  if (st == 401) return rel_expired(rel, conn, slot, s);
  if (st != 200) { /* no payment (any more): the job as it stands */
    pay_forget(s);
    rel_store(rel, slot, s);
    return rel_redirect(conn, "/release/job", NULL);
  }
  const char *state = rel_str(p, "state"), *reason = rel_str(p, "reason");
  if (!strcmp(state, "pending") || !strcmp(state, "reserving")) {
    pay_keep_url(s, p);
    s->flash[0] = '\0';
    rel_store(rel, slot, s);
    ret = pay_pending_page(s, conn, p);
  } else if (!strcmp(state, "paid") || !strcmp(state, "settled")) {
    ret = pay_paid(rel, conn, slot, s, "Paid. Your job is being printed.");
  } else if (!strcmp(state, "canceled") &&
             (!strcmp(reason, "timeout") || !strcmp(reason, "expired"))) {
    ret = pay_ended(rel, conn, slot, s, "unpaid", "Not paid in time",
                    "The time to pay is over and no payment arrived, so the job was not "
                    "printed. It is kept: you can pay and print it later.");
  } else if (!strcmp(state, "refund-pending") || !strcmp(state, "refunded")) {
    ret = pay_ended(rel, conn, slot, s, "payment-failed", "Not printed",
                    !strcmp(state, "refunded")
                        ? "The job could not be printed. Your payment has been refunded."
                        : "The job could not be printed. Your payment is being refunded.");
  } else if (!strcmp(state, "failed") || !strcmp(reason, "declined")) {
    ret = pay_ended(rel, conn, slot, s, "payment-failed",
                    !strcmp(reason, "declined") ? "Payment declined" : "Payment failed",
                    "The payment did not go through, so the job was not printed. It is "
                    "kept: you can try again later.");
  } else { /* canceled, at the provider or elsewhere */
    ret = pay_ended(rel, conn, slot, s, "payment-failed", "Payment canceled",
                    "The payment was canceled, so the job was not printed. It is kept.");
  }
  json_decref(p);
  return ret;
}

enum MHD_Result pay_qr(struct MHD_Connection *conn, const rel_session_t *s) {
  if (!s->pay_job || !s->pay_url[0])
    return panel_error(conn, 404, "There is no payment waiting on this screen.");
  char *svg = qr_svg(s->pay_url, NULL);
  if (!svg) return panel_error(conn, 500, "The QR code could not be made.");
  return panel_send(conn, 200, "image/svg+xml", svg);
}

enum MHD_Result pay_cancel(panel_release_t *rel, struct MHD_Connection *conn, int slot,
                           rel_session_t *s) {
  if (!s->pay_job) return rel_redirect(conn, "/release/job", NULL);
  char path[64];
  snprintf(path, sizeof path, "/device/jobs/%d/payment", s->pay_job);
  device_api_answer_t ans;
  bool answered = device_api_call(rel->c, "DELETE", path, s->token, NULL, &ans);
  long st = answered ? ans.status : 0;
  char state[32] = "";
  if (st == 200) snprintf(state, sizeof state, "%s", rel_str(ans.body, "state"));
  device_api_answer_free(&ans);
  log_event(LOG_INFO, NULL, "panel payment cancel", "job", LOG_INT(s->pay_job), "user", s->user,
            "status", LOG_INT(st), "state", state, (char *)NULL);
  if (st == 401) return rel_expired(rel, conn, slot, s);
  if (st == 409) return rel_redirect(conn, "/release/pay", NULL); /* it says how it stands */
  if (st == 0 || st >= 500)
    return panel_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                       "The payment could not be canceled right now. If you do not pay, it "
                       "is canceled by itself when the time is up.");
  if (st == 200 && (!strcmp(state, "paid") || !strcmp(state, "settled")))
    return pay_paid(rel, conn, slot, s, "Paid meanwhile. Your job is being printed.");
  if (st == 200 && strcmp(state, "canceled")) return rel_redirect(conn, "/release/pay", NULL);
  pay_forget(s); /* canceled, or no payment (404): the job is held */
  snprintf(s->flash, sizeof s->flash, "%s",
           st == 200 ? "Payment canceled. The job is kept and was not printed."
                     : "There is no payment for this job any more.");
  rel_store(rel, slot, s);
  return rel_redirect(conn, "/release/job", NULL);
}
