/*
 * test-payments-saved-methods.c: unit tests of the saved payment method
 * operations of both adapters (provider.h "saved payment methods":
 * method_setup, method_finish, charge_saved, method_remove) against the
 * in-test HTTP server of pay-test-server.h: the exact requests (paths,
 * LINE Pay signatures, Stripe idempotency keys, body fields) and how the
 * replies map to results: success, a decline, a registration not finished
 * yet, a retried charge, transport failures; and that no secret and no
 * method reference ever shows in a message.  Then both adapters against
 * the real nimbus-paysim (NIMBUS_PAYSIM, set by meson): a registration,
 * charges, a retried order, declines set with /sim/decline-saved, removal.
 */
#include "pay-test-server.h"

#include <signal.h>
#include <sys/wait.h>
#include <time.h>

/* msg names neither credential secret nor the method reference. */
static void assert_msg_clean(const char *msg, const char *ref) {
  assert_null(strstr(msg, lp_secret));
  assert_null(strstr(msg, "sk_test_nimbus"));
  if (ref && *ref) assert_null(strstr(msg, ref));
}

/* ---- LINE Pay ---- */

static const char lp_regkey[] = "RK9A7B3C1D2E4F6";
static const char lp_setup_tx[] = "2026120412345678901:JPY";

static void test_linepay_method_setup(void **state) {
  (void)state;
  pay_credentials_t c = lp_creds();
  pay_method_setup_req_t req = {
      .setup_id = "reg-t3-alice-1",
      .user_label = "t3/alice",
      .currency = "JPY",
      .confirm_url = "https://nimbus.example/payments/method-return?setup=1",
      .cancel_url = "https://nimbus.example/payments/method-return?c=1"};
  pay_method_setup_res_t res;
  char msg[PAY_MSG_MAX];
  srv_script(1,
             (canned_t[]){{200,
                           "{\"returnCode\":\"0000\",\"returnMessage\":\"Success.\",\"info\":"
                           "{\"paymentUrl\":{\"web\":\"https://pay.example/web/2026120412345678901"
                           "\"},\"transactionId\":2026120412345678901}}"}});
  assert_int_equal(pay_provider_linepay.method_setup(&c, &req, &res, msg, sizeof(msg)), PAY_OK);
  assert_string_equal(res.tx, lp_setup_tx); /* the id, exact, and the currency confirm needs */
  assert_string_equal(res.setup_url, "https://pay.example/web/2026120412345678901");
  assert_int_equal(srv_count(), 1);
  check_linepay_signed(&srv.reqs[0], "POST", "/v3/payments/request");
  json_t *b = json_loads(srv.reqs[0].body, 0, NULL);
  assert_non_null(b);
  assert_int_equal(json_integer_value(json_object_get(b, "amount")), 1); /* JPY's smallest */
  assert_string_equal(json_string_value(json_object_get(b, "currency")), "JPY");
  assert_string_equal(json_string_value(json_object_get(b, "orderId")), "reg-t3-alice-1");
  json_t *pay = json_object_get(json_object_get(b, "options"), "payment");
  assert_string_equal(json_string_value(json_object_get(pay, "payType")), "PREAPPROVED");
  assert_true(json_is_false(json_object_get(pay, "capture")));
  json_t *urls = json_object_get(b, "redirectUrls");
  assert_string_equal(json_string_value(json_object_get(urls, "confirmUrl")), req.confirm_url);
  assert_string_equal(json_string_value(json_object_get(urls, "cancelUrl")), req.cancel_url);
  json_t *pkg = json_array_get(json_object_get(b, "packages"), 0);
  assert_int_equal(json_integer_value(json_object_get(pkg, "amount")), 1);
  json_decref(b);

  /* a two-decimal currency: its smallest amount is 0.01, written exactly */
  req.currency = "USD";
  srv_script(1,
             (canned_t[]){{200,
                           "{\"returnCode\":\"0000\",\"info\":{\"paymentUrl\":{\"web\":\"https://"
                           "p.example/w\"},\"transactionId\":\"2026120412345678902\"}}"}});
  assert_int_equal(pay_provider_linepay.method_setup(&c, &req, &res, msg, sizeof(msg)), PAY_OK);
  assert_string_equal(res.tx, "2026120412345678902:USD");
  assert_non_null(strstr(srv.reqs[0].body, "\"amount\":0.01,"));

  /* refused, and an unknown currency refused before any request */
  srv_script(1, (canned_t[]){{200, "{\"returnCode\":\"1104\",\"returnMessage\":\"x\"}"}});
  assert_int_equal(pay_provider_linepay.method_setup(&c, &req, &res, msg, sizeof(msg)),
                   PAY_INVALID);
  assert_string_equal(res.tx, "");
  srv_script(0, NULL);
  req.currency = "XXQ";
  assert_int_equal(pay_provider_linepay.method_setup(&c, &req, &res, msg, sizeof(msg)),
                   PAY_INVALID);
  assert_int_equal(srv_count(), 0);
  assert_msg_clean(msg, NULL);
}

static void test_linepay_method_finish(void **state) {
  (void)state;
  pay_credentials_t c = lp_creds();
  pay_method_t m;
  char msg[PAY_MSG_MAX];

  /* the user has not approved yet: check says so, nothing is confirmed */
  srv_script(1, (canned_t[]){{200, "{\"returnCode\":\"0000\",\"returnMessage\":\"OK\"}"}});
  assert_int_equal(
      pay_provider_linepay.method_finish(&c, lp_setup_tx, "reg-1", &m, msg, sizeof(msg)),
      PAY_NOT_FOUND);
  assert_int_equal(srv_count(), 1);
  check_linepay_signed(&srv.reqs[0], "GET", "/v3/payments/requests/2026120412345678901/check");
  assert_string_equal(m.ref, "");

  /* approved: confirm the one-unit authorization for its regKey, then void it */
  char confirm[256];
  snprintf(confirm, sizeof(confirm),
           "{\"returnCode\":\"0000\",\"returnMessage\":\"Success.\",\"info\":{\"orderId\":"
           "\"reg-1\",\"transactionId\":2026120412345678901,\"regKey\":\"%s\"}}",
           lp_regkey);
  srv_script(3, (canned_t[]){{200, "{\"returnCode\":\"0110\"}"},
                             {200, confirm},
                             {200, "{\"returnCode\":\"0000\"}"}});
  assert_int_equal(
      pay_provider_linepay.method_finish(&c, lp_setup_tx, "reg-1", &m, msg, sizeof(msg)), PAY_OK);
  assert_string_equal(m.ref, lp_regkey);
  assert_string_equal(m.display, "LINE Pay");
  assert_int_equal(srv_count(), 3);
  check_linepay_signed(&srv.reqs[1], "POST", "/v3/payments/2026120412345678901/confirm");
  json_t *b = json_loads(srv.reqs[1].body, 0, NULL);
  assert_int_equal(json_integer_value(json_object_get(b, "amount")), 1);
  assert_string_equal(json_string_value(json_object_get(b, "currency")), "JPY");
  json_decref(b);
  check_linepay_signed(&srv.reqs[2], "POST",
                       "/v3/payments/authorizations/2026120412345678901/void");
  assert_msg_clean(msg, lp_regkey);

  /* the void fails: the regKey is good all the same */
  srv_script(3, (canned_t[]){{200, "{\"returnCode\":\"0110\"}"}, {200, confirm}, {500, "{}"}});
  assert_int_equal(
      pay_provider_linepay.method_finish(&c, lp_setup_tx, "reg-1", &m, msg, sizeof(msg)), PAY_OK);
  assert_string_equal(m.ref, lp_regkey);
  assert_msg_clean(msg, lp_regkey);

  /* confirmed before (a finish whose answer was lost): confirm again for
   * the regKey; when LINE Pay refuses that, the registration is lost */
  srv_script(3, (canned_t[]){{200, "{\"returnCode\":\"0123\"}"},
                             {200, confirm},
                             {200, "{\"returnCode\":\"0000\"}"}});
  assert_int_equal(
      pay_provider_linepay.method_finish(&c, lp_setup_tx, "reg-1", &m, msg, sizeof(msg)), PAY_OK);
  assert_string_equal(m.ref, lp_regkey);
  srv_script(2,
             (canned_t[]){{200, "{\"returnCode\":\"0123\"}"}, {200, "{\"returnCode\":\"1152\"}"}});
  assert_int_equal(
      pay_provider_linepay.method_finish(&c, lp_setup_tx, "reg-1", &m, msg, sizeof(msg)),
      PAY_DECLINED);
  assert_string_equal(m.ref, "");

  /* a confirm reply without a usable regKey */
  srv_script(2, (canned_t[]){{200, "{\"returnCode\":\"0110\"}"},
                             {200, "{\"returnCode\":\"0000\",\"info\":{\"regKey\":\"RK/../x\"}}"}});
  assert_int_equal(
      pay_provider_linepay.method_finish(&c, lp_setup_tx, "reg-1", &m, msg, sizeof(msg)),
      PAY_INVALID);
  assert_string_equal(m.ref, "");

  /* declined by the user, or voided/expired: final */
  srv_script(1, (canned_t[]){{200, "{\"returnCode\":\"0122\"}"}});
  assert_int_equal(
      pay_provider_linepay.method_finish(&c, lp_setup_tx, "reg-1", &m, msg, sizeof(msg)),
      PAY_DECLINED);
  srv_script(1, (canned_t[]){{200, "{\"returnCode\":\"0121\"}"}});
  assert_int_equal(
      pay_provider_linepay.method_finish(&c, lp_setup_tx, "reg-1", &m, msg, sizeof(msg)),
      PAY_DECLINED);
  /* the provider away */
  srv_script(1, (canned_t[]){{503, "{}"}});
  assert_int_equal(
      pay_provider_linepay.method_finish(&c, lp_setup_tx, "reg-1", &m, msg, sizeof(msg)),
      PAY_UNAVAILABLE);
  /* a tx that is not one method_setup made: no request at all */
  srv_script(0, NULL);
  assert_int_equal(
      pay_provider_linepay.method_finish(&c, "2026120412345678901", "reg-1", &m, msg, sizeof(msg)),
      PAY_INVALID);
  assert_int_equal(
      pay_provider_linepay.method_finish(&c, "12/../x:JPY", "reg-1", &m, msg, sizeof(msg)),
      PAY_INVALID);
  assert_int_equal(srv_count(), 0);
}

static void test_linepay_charge_saved(void **state) {
  (void)state;
  pay_credentials_t c = lp_creds();
  pay_charge_req_t req = {.ref = lp_regkey,
                          .order_id = "chg-77-1",
                          .amount = 1234,
                          .currency = "JPY",
                          .item = "Nimbus job ABC 4 pages"};
  pay_charge_res_t res;
  char msg[PAY_MSG_MAX], path[128];
  snprintf(path, sizeof(path), "/v3/payments/preapprovedPay/%s/payment", lp_regkey);

  srv_script(1, (canned_t[]){{200,
                              "{\"returnCode\":\"0000\",\"returnMessage\":\"Success.\",\"info\":"
                              "{\"transactionId\":2026120499999999999,\"transactionDate\":"
                              "\"2026-12-04T09:00:00Z\"}}"}});
  assert_int_equal(pay_provider_linepay.charge_saved(&c, &req, &res, msg, sizeof(msg)), PAY_OK);
  assert_string_equal(res.tx, "2026120499999999999"); /* > 2^53, exact */
  check_linepay_signed(&srv.reqs[0], "POST", path);
  json_t *b = json_loads(srv.reqs[0].body, 0, NULL);
  assert_non_null(b);
  assert_string_equal(json_string_value(json_object_get(b, "productName")), req.item);
  assert_int_equal(json_integer_value(json_object_get(b, "amount")), 1234);
  assert_string_equal(json_string_value(json_object_get(b, "currency")), "JPY");
  assert_string_equal(json_string_value(json_object_get(b, "orderId")), "chg-77-1");
  assert_true(json_is_true(json_object_get(b, "capture")));
  json_decref(b);
  assert_msg_clean(msg, lp_regkey);

  /* refused: DECLINED with the provider's reason */
  srv_script(1,
             (canned_t[]){{200, "{\"returnCode\":\"1142\",\"returnMessage\":\"Low balance.\"}"}});
  assert_int_equal(pay_provider_linepay.charge_saved(&c, &req, &res, msg, sizeof(msg)),
                   PAY_DECLINED);
  assert_string_equal(res.tx, "");
  assert_non_null(strstr(msg, "1142"));
  assert_non_null(strstr(msg, "Low balance."));
  /* a reason that repeats the regKey is not repeated */
  char echo[160];
  snprintf(echo, sizeof(echo), "{\"returnCode\":\"1190\",\"returnMessage\":\"regKey %s unknown\"}",
           lp_regkey);
  srv_script(1, (canned_t[]){{200, echo}});
  assert_int_equal(pay_provider_linepay.charge_saved(&c, &req, &res, msg, sizeof(msg)),
                   PAY_DECLINED);
  assert_non_null(strstr(msg, "1190"));
  assert_msg_clean(msg, lp_regkey);

  /* the same order id again: LINE Pay refuses the duplicate; the Payment
   * Details API says it was paid, so the first outcome is answered and
   * nothing is charged twice */
  srv_script(2, (canned_t[]){{200, "{\"returnCode\":\"1172\",\"returnMessage\":\"dup\"}"},
                             {200,
                              "{\"returnCode\":\"0000\",\"info\":[{\"transactionId\":"
                              "2026120499999999999,\"orderId\":\"chg-77-1\"}]}"}});
  assert_int_equal(pay_provider_linepay.charge_saved(&c, &req, &res, msg, sizeof(msg)), PAY_OK);
  assert_string_equal(res.tx, "2026120499999999999");
  assert_int_equal(srv_count(), 2);
  assert_string_equal(srv.reqs[1].method, "GET");
  assert_string_equal(srv.reqs[1].path, "/v3/payments?orderId=chg-77-1");
  /* the GET is signed over its query string */
  char nonce[64], auth[128], want[64];
  assert_non_null(req_header(&srv.reqs[1], "X-LINE-Authorization-Nonce", nonce, sizeof(nonce)));
  assert_non_null(req_header(&srv.reqs[1], "X-LINE-Authorization", auth, sizeof(auth)));
  pay_linepay_signature(lp_secret, "/v3/payments", "orderId=chg-77-1", 16, nonce, want,
                        sizeof(want));
  assert_string_equal(auth, want);
  /* ... and a duplicate with no payment under it: the first try failed */
  srv_script(2, (canned_t[]){{200, "{\"returnCode\":\"1172\"}"},
                             {200, "{\"returnCode\":\"0000\",\"info\":[]}"}});
  assert_int_equal(pay_provider_linepay.charge_saved(&c, &req, &res, msg, sizeof(msg)),
                   PAY_DECLINED);
  assert_string_equal(res.tx, "");

  /* transport */
  srv_script(1, (canned_t[]){{500, "{}"}});
  assert_int_equal(pay_provider_linepay.charge_saved(&c, &req, &res, msg, sizeof(msg)),
                   PAY_UNAVAILABLE);
  assert_msg_clean(msg, lp_regkey);
  srv_script(1, (canned_t[]){{200, "{\"returnCode\":\"0000\",\"info\":{}}"}});
  assert_int_equal(pay_provider_linepay.charge_saved(&c, &req, &res, msg, sizeof(msg)),
                   PAY_INVALID);
  /* a ref that would change the path: refused before any request */
  srv_script(0, NULL);
  req.ref = "RK1/../../refund";
  assert_int_equal(pay_provider_linepay.charge_saved(&c, &req, &res, msg, sizeof(msg)),
                   PAY_INVALID);
  req.ref = lp_regkey;
  req.amount = 0;
  assert_int_equal(pay_provider_linepay.charge_saved(&c, &req, &res, msg, sizeof(msg)),
                   PAY_INVALID);
  assert_int_equal(srv_count(), 0);
}

static void test_linepay_method_remove(void **state) {
  (void)state;
  pay_credentials_t c = lp_creds();
  char msg[PAY_MSG_MAX], path[128];
  snprintf(path, sizeof(path), "/v3/payments/preapprovedPay/%s/expire", lp_regkey);
  srv_script(1, (canned_t[]){{200, "{\"returnCode\":\"0000\"}"}});
  assert_int_equal(pay_provider_linepay.method_remove(&c, lp_regkey, msg, sizeof(msg)), PAY_OK);
  check_linepay_signed(&srv.reqs[0], "POST", path);
  assert_msg_clean(msg, lp_regkey);
  /* unknown or expired already: gone either way */
  srv_script(1, (canned_t[]){{200, "{\"returnCode\":\"1190\"}"}});
  assert_int_equal(pay_provider_linepay.method_remove(&c, lp_regkey, msg, sizeof(msg)), PAY_OK);
  srv_script(1, (canned_t[]){{200, "{\"returnCode\":\"1193\"}"}});
  assert_int_equal(pay_provider_linepay.method_remove(&c, lp_regkey, msg, sizeof(msg)), PAY_OK);
  srv_script(1, (canned_t[]){{200, "{\"returnCode\":\"1106\"}"}});
  assert_int_equal(pay_provider_linepay.method_remove(&c, lp_regkey, msg, sizeof(msg)),
                   PAY_INVALID);
  srv_script(1, (canned_t[]){{502, "{}"}});
  assert_int_equal(pay_provider_linepay.method_remove(&c, lp_regkey, msg, sizeof(msg)),
                   PAY_UNAVAILABLE);
  srv_script(0, NULL);
  assert_int_equal(pay_provider_linepay.method_remove(&c, "", msg, sizeof(msg)), PAY_INVALID);
  assert_int_equal(srv_count(), 0);
}

/* ---- Stripe ---- */

static const char st_ref[] = "cus_Qa1|pm_1Nb2";

static void test_stripe_method_setup(void **state) {
  (void)state;
  pay_credentials_t c = st_creds();
  pay_method_setup_req_t req = {
      .setup_id = "reg-t3-alice-1",
      .user_label = "t3/alice",
      .currency = "EUR",
      .confirm_url = "https://nimbus.example/payments/method-return?setup=1",
      .cancel_url = "https://nimbus.example/payments/method-return?c=1"};
  pay_method_setup_res_t res;
  char msg[PAY_MSG_MAX], v[256];
  srv_script(2, (canned_t[]){{200, "{\"id\":\"cus_Qa1\",\"object\":\"customer\"}"},
                             {200,
                              "{\"id\":\"cs_test_s1\",\"object\":\"checkout.session\",\"mode\":"
                              "\"setup\",\"status\":\"open\",\"url\":\"https://checkout.example/"
                              "c/cs_test_s1\"}"}});
  assert_int_equal(pay_provider_stripe.method_setup(&c, &req, &res, msg, sizeof(msg)), PAY_OK);
  assert_string_equal(res.tx, "cs_test_s1");
  assert_string_equal(res.setup_url, "https://checkout.example/c/cs_test_s1");
  assert_int_equal(srv_count(), 2);
  check_stripe_request(&srv.reqs[0], "POST", "/v1/customers", "cus-reg-t3-alice-1");
  assert_string_equal(form_get(srv.reqs[0].body, "metadata[user_label]", v, sizeof(v)), "t3/alice");
  check_stripe_request(&srv.reqs[1], "POST", "/v1/checkout/sessions", "setup-reg-t3-alice-1");
  const char *body = srv.reqs[1].body;
  assert_string_equal(form_get(body, "mode", v, sizeof(v)), "setup");
  assert_string_equal(form_get(body, "customer", v, sizeof(v)), "cus_Qa1");
  assert_string_equal(form_get(body, "currency", v, sizeof(v)), "eur");
  assert_string_equal(form_get(body, "success_url", v, sizeof(v)), req.confirm_url);
  assert_string_equal(form_get(body, "cancel_url", v, sizeof(v)), req.cancel_url);
  assert_null(form_get(body, "line_items[0][price_data][unit_amount]", v, sizeof(v)));
  assert_msg_clean(msg, NULL);

  /* the customer call fails: no session is asked for */
  srv_script(1, (canned_t[]){{500, "{\"error\":{\"type\":\"api_error\"}}"}});
  assert_int_equal(pay_provider_stripe.method_setup(&c, &req, &res, msg, sizeof(msg)),
                   PAY_UNAVAILABLE);
  assert_int_equal(srv_count(), 1);
  assert_string_equal(res.tx, "");
  /* a session reply without url */
  srv_script(2, (canned_t[]){{200, "{\"id\":\"cus_Qa1\"}"}, {200, "{\"id\":\"cs_test_s1\"}"}});
  assert_int_equal(pay_provider_stripe.method_setup(&c, &req, &res, msg, sizeof(msg)), PAY_INVALID);
  /* a currency Stripe counts in other units */
  srv_script(0, NULL);
  req.currency = "ISK";
  assert_int_equal(pay_provider_stripe.method_setup(&c, &req, &res, msg, sizeof(msg)), PAY_INVALID);
  assert_int_equal(srv_count(), 0);
}

static const char st_setup_complete[] =
    "{\"id\":\"cs_test_s1\",\"object\":\"checkout.session\",\"mode\":\"setup\",\"status\":"
    "\"complete\",\"client_reference_id\":\"reg-1\",\"customer\":\"cus_Qa1\",\"setup_intent\":"
    "\"seti_1Nc3\"}";
static const char st_seti_ok[] =
    "{\"id\":\"seti_1Nc3\",\"object\":\"setup_intent\",\"status\":\"succeeded\","
    "\"payment_method\":\"pm_1Nb2\",\"customer\":\"cus_Qa1\"}";
static const char st_pm_card[] =
    "{\"id\":\"pm_1Nb2\",\"object\":\"payment_method\",\"type\":\"card\",\"customer\":"
    "\"cus_Qa1\",\"card\":{\"brand\":\"visa\",\"last4\":\"4242\",\"exp_month\":12}}";

static void test_stripe_method_finish(void **state) {
  (void)state;
  pay_credentials_t c = st_creds();
  pay_method_t m;
  char msg[PAY_MSG_MAX];

  /* open: the user has not finished */
  srv_script(1,
             (canned_t[]){{200,
                           "{\"id\":\"cs_test_s1\",\"mode\":\"setup\",\"status\":\"open\","
                           "\"client_reference_id\":\"reg-1\",\"setup_intent\":\"seti_1Nc3\"}"}});
  assert_int_equal(
      pay_provider_stripe.method_finish(&c, "cs_test_s1", "reg-1", &m, msg, sizeof(msg)),
      PAY_NOT_FOUND);
  assert_int_equal(srv_count(), 1);
  check_stripe_request(&srv.reqs[0], "GET", "/v1/checkout/sessions/cs_test_s1", NULL);
  /* expired: abandoned */
  srv_script(1, (canned_t[]){{200,
                              "{\"id\":\"cs_test_s1\",\"mode\":\"setup\",\"status\":"
                              "\"expired\"}"}});
  assert_int_equal(
      pay_provider_stripe.method_finish(&c, "cs_test_s1", "reg-1", &m, msg, sizeof(msg)),
      PAY_DECLINED);

  /* complete: session -> setup intent -> payment method */
  srv_script(3, (canned_t[]){{200, st_setup_complete}, {200, st_seti_ok}, {200, st_pm_card}});
  assert_int_equal(
      pay_provider_stripe.method_finish(&c, "cs_test_s1", "reg-1", &m, msg, sizeof(msg)), PAY_OK);
  assert_string_equal(m.ref, st_ref);
  assert_string_equal(m.display, "visa ****4242");
  check_stripe_request(&srv.reqs[1], "GET", "/v1/setup_intents/seti_1Nc3", NULL);
  check_stripe_request(&srv.reqs[2], "GET", "/v1/payment_methods/pm_1Nb2", NULL);
  assert_msg_clean(msg, "pm_1Nb2");
  assert_msg_clean(msg, "cus_Qa1");

  /* expanded objects are read the same way */
  srv_script(3, (canned_t[]){{200,
                              "{\"id\":\"cs_test_s1\",\"mode\":\"setup\",\"status\":\"complete\","
                              "\"customer\":{\"id\":\"cus_Qa1\"},\"setup_intent\":{\"id\":"
                              "\"seti_1Nc3\"}}"},
                             {200,
                              "{\"id\":\"seti_1Nc3\",\"status\":\"succeeded\",\"payment_method\":"
                              "{\"id\":\"pm_1Nb2\"}}"},
                             {200, "{\"id\":\"pm_1Nb2\",\"type\":\"sepa_debit\"}"}});
  assert_int_equal(
      pay_provider_stripe.method_finish(&c, "cs_test_s1", "reg-1", &m, msg, sizeof(msg)), PAY_OK);
  assert_string_equal(m.ref, st_ref);
  assert_string_equal(m.display, "sepa_debit");

  /* another registration's session: refused */
  srv_script(1, (canned_t[]){{200, st_setup_complete}});
  assert_int_equal(
      pay_provider_stripe.method_finish(&c, "cs_test_s1", "reg-2", &m, msg, sizeof(msg)),
      PAY_INVALID);
  assert_string_equal(m.ref, "");
  /* a setup intent that failed */
  srv_script(2,
             (canned_t[]){{200, st_setup_complete},
                          {200, "{\"id\":\"seti_1Nc3\",\"status\":\"requires_payment_method\"}"}});
  assert_int_equal(
      pay_provider_stripe.method_finish(&c, "cs_test_s1", "reg-1", &m, msg, sizeof(msg)),
      PAY_DECLINED);
  /* unknown session, provider away */
  srv_script(1, (canned_t[]){{404, "{\"error\":{\"type\":\"invalid_request_error\"}}"}});
  assert_int_equal(
      pay_provider_stripe.method_finish(&c, "cs_test_s1", "reg-1", &m, msg, sizeof(msg)),
      PAY_NOT_FOUND);
  srv_script(2, (canned_t[]){{200, st_setup_complete}, {500, "{}"}});
  assert_int_equal(
      pay_provider_stripe.method_finish(&c, "cs_test_s1", "reg-1", &m, msg, sizeof(msg)),
      PAY_UNAVAILABLE);
  assert_string_equal(m.ref, "");
}

static void test_stripe_charge_saved(void **state) {
  (void)state;
  pay_credentials_t c = st_creds();
  pay_charge_req_t req = {.ref = st_ref,
                          .order_id = "chg-77-1",
                          .amount = 1250,
                          .currency = "EUR",
                          .item = "Nimbus job ABC 4 pages"};
  pay_charge_res_t res;
  char msg[PAY_MSG_MAX], v[256];
  static const char ok[] =
      "{\"id\":\"pi_3Xy\",\"object\":\"payment_intent\",\"status\":\"succeeded\",\"amount\":1250}";

  srv_script(1, (canned_t[]){{200, ok}});
  assert_int_equal(pay_provider_stripe.charge_saved(&c, &req, &res, msg, sizeof(msg)), PAY_OK);
  assert_string_equal(res.tx, "pi_3Xy");
  check_stripe_request(&srv.reqs[0], "POST", "/v1/payment_intents", "chg-77-1");
  recorded_t first = srv.reqs[0];
  const char *body = first.body;
  assert_string_equal(form_get(body, "amount", v, sizeof(v)), "1250");
  assert_string_equal(form_get(body, "currency", v, sizeof(v)), "eur");
  assert_string_equal(form_get(body, "customer", v, sizeof(v)), "cus_Qa1");
  assert_string_equal(form_get(body, "payment_method", v, sizeof(v)), "pm_1Nb2");
  assert_string_equal(form_get(body, "off_session", v, sizeof(v)), "true");
  assert_string_equal(form_get(body, "confirm", v, sizeof(v)), "true");
  assert_msg_clean(msg, "pm_1Nb2");

  /* a retry of the same order: the same key and the same parameters, so
   * Stripe answers the first outcome instead of charging again */
  srv_script(1, (canned_t[]){{200, ok}});
  assert_int_equal(pay_provider_stripe.charge_saved(&c, &req, &res, msg, sizeof(msg)), PAY_OK);
  assert_string_equal(srv.reqs[0].body, first.body);
  assert_string_equal(req_header(&srv.reqs[0], "Idempotency-Key", v, sizeof(v)), "chg-77-1");

  /* declined: 402 card_error, the message names the decline code */
  srv_script(
      1, (canned_t[]){{402,
                       "{\"error\":{\"type\":\"card_error\",\"code\":\"card_declined\","
                       "\"decline_code\":\"insufficient_funds\",\"message\":\"Your card has "
                       "insufficient funds. pm_1Nb2\",\"payment_method\":{\"id\":\"pm_1Nb2\"}}}"}});
  assert_int_equal(pay_provider_stripe.charge_saved(&c, &req, &res, msg, sizeof(msg)),
                   PAY_DECLINED);
  assert_string_equal(res.tx, "");
  assert_non_null(strstr(msg, "insufficient_funds"));
  assert_non_null(strstr(msg, "card_declined"));
  assert_msg_clean(msg, "pm_1Nb2");
  assert_msg_clean(msg, "cus_Qa1");
  /* the bank wants the customer present */
  srv_script(1, (canned_t[]){{402,
                              "{\"error\":{\"type\":\"card_error\",\"code\":"
                              "\"authentication_required\",\"decline_code\":"
                              "\"authentication_required\"}}"}});
  assert_int_equal(pay_provider_stripe.charge_saved(&c, &req, &res, msg, sizeof(msg)),
                   PAY_DECLINED);
  assert_non_null(strstr(msg, "authentication_required"));
  /* an intent left needing action is no payment */
  srv_script(1, (canned_t[]){{200, "{\"id\":\"pi_3Xy\",\"status\":\"requires_action\"}"}});
  assert_int_equal(pay_provider_stripe.charge_saved(&c, &req, &res, msg, sizeof(msg)),
                   PAY_DECLINED);
  assert_string_equal(res.tx, "");
  /* transport and replies we cannot read */
  srv_script(1, (canned_t[]){{500, "{}"}});
  assert_int_equal(pay_provider_stripe.charge_saved(&c, &req, &res, msg, sizeof(msg)),
                   PAY_UNAVAILABLE);
  srv_script(1, (canned_t[]){{429, "{}"}});
  assert_int_equal(pay_provider_stripe.charge_saved(&c, &req, &res, msg, sizeof(msg)),
                   PAY_UNAVAILABLE);
  srv_script(1, (canned_t[]){{401, "{\"error\":{\"message\":\"Invalid key sk_test_nimbus1\"}}"}});
  assert_int_equal(pay_provider_stripe.charge_saved(&c, &req, &res, msg, sizeof(msg)), PAY_INVALID);
  assert_msg_clean(msg, st_ref);
  /* malformed refs and amounts: no request */
  srv_script(0, NULL);
  const char *bad[] = {"pm_1Nb2", "cus_Qa1|", "|pm_1", "cus_1|pm_1/detach", NULL};
  for (int i = 0; bad[i]; i++) {
    req.ref = bad[i];
    assert_int_equal(pay_provider_stripe.charge_saved(&c, &req, &res, msg, sizeof(msg)),
                     PAY_INVALID);
  }
  req.ref = st_ref;
  req.amount = -5;
  assert_int_equal(pay_provider_stripe.charge_saved(&c, &req, &res, msg, sizeof(msg)), PAY_INVALID);
  assert_int_equal(srv_count(), 0);
}

static void test_stripe_method_remove(void **state) {
  (void)state;
  pay_credentials_t c = st_creds();
  char msg[PAY_MSG_MAX];
  srv_script(1, (canned_t[]){{200, "{\"id\":\"pm_1Nb2\",\"customer\":null}"}});
  assert_int_equal(pay_provider_stripe.method_remove(&c, st_ref, msg, sizeof(msg)), PAY_OK);
  assert_int_equal(srv_count(), 1);
  check_stripe_request(&srv.reqs[0], "POST", "/v1/payment_methods/pm_1Nb2/detach",
                       "detach-pm_1Nb2");
  assert_msg_clean(msg, st_ref);
  /* detached before (400), or unknown (404): gone */
  srv_script(2, (canned_t[]){{400, "{\"error\":{\"type\":\"invalid_request_error\"}}"},
                             {200, "{\"id\":\"pm_1Nb2\",\"customer\":null}"}});
  assert_int_equal(pay_provider_stripe.method_remove(&c, st_ref, msg, sizeof(msg)), PAY_OK);
  check_stripe_request(&srv.reqs[1], "GET", "/v1/payment_methods/pm_1Nb2", NULL);
  srv_script(2, (canned_t[]){{404, "{}"}, {404, "{}"}});
  assert_int_equal(pay_provider_stripe.method_remove(&c, st_ref, msg, sizeof(msg)), PAY_OK);
  /* refused while still attached: not removed */
  srv_script(2, (canned_t[]){{400, "{}"}, {200, "{\"id\":\"pm_1Nb2\",\"customer\":\"cus_Qa1\"}"}});
  assert_int_equal(pay_provider_stripe.method_remove(&c, st_ref, msg, sizeof(msg)), PAY_DECLINED);
  srv_script(1, (canned_t[]){{503, "{}"}});
  assert_int_equal(pay_provider_stripe.method_remove(&c, st_ref, msg, sizeof(msg)),
                   PAY_UNAVAILABLE);
  srv_script(0, NULL);
  assert_int_equal(pay_provider_stripe.method_remove(&c, "pm_only", msg, sizeof(msg)), PAY_INVALID);
  assert_int_equal(srv_count(), 0);
}

/* ---- both adapters against the real nimbus-paysim ---- */

static pid_t live_pid = -1;
static char live_base[64];

/* Start nimbus-paysim on a free port (its banner names it). */
static int live_setup(void **state) {
  (void)state;
  const char *bin = getenv("NIMBUS_PAYSIM");
  if (!bin || !*bin) return 0; /* the test skips */
  int fds[2];
  if (pipe(fds) != 0) return -1;
  live_pid = fork();
  if (live_pid < 0) return -1;
  if (live_pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    execl(bin, bin, "--port", "0", "--log-level", "error", "--linepay-channel",
          "1651234567:lp-live-secret", "--stripe-key", "sk_test_live_key", (char *)NULL);
    _exit(127);
  }
  close(fds[1]);
  FILE *out = fdopen(fds[0], "r");
  char line[512] = "";
  int port = 0;
  if (out && fgets(line, sizeof(line), out)) {
    const char *p = strstr(line, " port ");
    if (p) port = atoi(p + 6);
  }
  if (out) fclose(out);
  if (port <= 0) return -1;
  snprintf(live_base, sizeof(live_base), "http://127.0.0.1:%d", port);
  return 0;
}

static int live_teardown(void **state) {
  (void)state;
  if (live_pid > 0) {
    kill(live_pid, SIGTERM);
    int st = 0;
    waitpid(live_pid, &st, 0);
    live_pid = -1;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) return -1;
  }
  return 0;
}

/* A /sim call (body NULL: GET); the reply's JSON (new reference). */
static json_t *live_sim(const char *path, const char *body) {
  char url[256], msg[PAY_MSG_MAX];
  pay_http_reply_t reply;
  snprintf(url, sizeof(url), "%s%s", live_base, path);
  const char *headers[] = {"Content-Type: application/json", NULL};
  assert_true(pay_http_request(body ? "POST" : "GET", url, headers, body, body ? strlen(body) : 0,
                               &reply, msg, sizeof(msg)));
  json_t *j = json_loadb(reply.body, reply.len, 0, NULL);
  assert_true(reply.status == 200);
  pay_http_reply_free(&reply);
  assert_non_null(j);
  return j;
}

/* How many charge attempts /sim/charges lists for order, and of them succeeded. */
static int live_charges(const char *order, int *succeeded) {
  json_t *j = live_sim("/sim/charges", NULL);
  json_t *c;
  size_t i;
  int n = 0;
  *succeeded = 0;
  json_array_foreach(json_object_get(j, "charges"), i, c) {
    if (strcmp(json_string_value(json_object_get(c, "order_id")), order) != 0) continue;
    n++;
    if (!strcmp(json_string_value(json_object_get(c, "status")), "succeeded")) (*succeeded)++;
  }
  json_decref(j);
  return n;
}

/* The user presses the button on the registration page of payment page url. */
static void live_user_registers(const char *setup_url) {
  const char *id = strrchr(setup_url, '/');
  assert_non_null(id);
  char path[160];
  snprintf(path, sizeof(path), "/sim/pay/%s", id + 1);
  json_decref(live_sim(path, ""));
}

static void test_live_linepay(void **state) {
  (void)state;
  if (live_pid <= 0) skip();
  pay_credentials_t c = {0};
  snprintf(c.provider, sizeof(c.provider), "linepay");
  snprintf(c.api_base, sizeof(c.api_base), "%s", live_base);
  snprintf(c.channel_id, sizeof(c.channel_id), "1651234567");
  snprintf(c.channel_secret, sizeof(c.channel_secret), "lp-live-secret");
  const pay_provider_t *p = &pay_provider_linepay;
  char msg[PAY_MSG_MAX], body[400];
  int ok;

  pay_method_setup_req_t sreq = {.setup_id = "reg-live-lp",
                                 .user_label = "t1/alice",
                                 .currency = "JPY",
                                 .confirm_url = "http://127.0.0.1:9/return",
                                 .cancel_url = "http://127.0.0.1:9/cancel"};
  pay_method_setup_res_t sres;
  assert_int_equal(p->method_setup(&c, &sreq, &sres, msg, sizeof(msg)), PAY_OK);
  pay_method_t m;
  assert_int_equal(p->method_finish(&c, sres.tx, "reg-live-lp", &m, msg, sizeof(msg)),
                   PAY_NOT_FOUND);
  live_user_registers(sres.setup_url);
  assert_int_equal(p->method_finish(&c, sres.tx, "reg-live-lp", &m, msg, sizeof(msg)), PAY_OK);
  assert_int_equal(strlen(m.ref), 15);
  assert_memory_equal(m.ref, "RK", 2);
  assert_string_equal(m.display, "LINE Pay");
  assert_non_null(strstr(msg, "voided"));
  assert_msg_clean(msg, m.ref);

  pay_charge_req_t req = {
      .ref = m.ref, .order_id = "chg-live-lp-1", .amount = 1234, .currency = "JPY", .item = "job"};
  pay_charge_res_t res, again;
  assert_int_equal(p->charge_saved(&c, &req, &res, msg, sizeof(msg)), PAY_OK);
  assert_int_equal(strlen(res.tx), 19);
  /* the same order again: the first outcome, one charge only */
  assert_int_equal(p->charge_saved(&c, &req, &again, msg, sizeof(msg)), PAY_OK);
  assert_string_equal(again.tx, res.tx);
  assert_int_equal(live_charges("chg-live-lp-1", &ok), 1);
  assert_int_equal(ok, 1);

  snprintf(body, sizeof(body), "{\"ref\":\"%s\",\"count\":1}", m.ref);
  json_decref(live_sim("/sim/decline-saved", body));
  req.order_id = "chg-live-lp-2";
  assert_int_equal(p->charge_saved(&c, &req, &res, msg, sizeof(msg)), PAY_DECLINED);
  assert_non_null(strstr(msg, "1142"));
  assert_msg_clean(msg, m.ref);
  req.order_id = "chg-live-lp-3";
  assert_int_equal(p->charge_saved(&c, &req, &res, msg, sizeof(msg)), PAY_OK);

  assert_int_equal(p->method_remove(&c, m.ref, msg, sizeof(msg)), PAY_OK);
  req.order_id = "chg-live-lp-4";
  assert_int_equal(p->charge_saved(&c, &req, &res, msg, sizeof(msg)), PAY_DECLINED);
  assert_int_equal(p->method_remove(&c, m.ref, msg, sizeof(msg)), PAY_OK); /* gone already */
  assert_int_equal(live_charges("chg-live-lp-4", &ok), 0);
}

static void test_live_stripe(void **state) {
  (void)state;
  if (live_pid <= 0) skip();
  pay_credentials_t c = {0};
  snprintf(c.provider, sizeof(c.provider), "stripe");
  snprintf(c.api_base, sizeof(c.api_base), "%s", live_base);
  snprintf(c.secret_key, sizeof(c.secret_key), "sk_test_live_key");
  const pay_provider_t *p = &pay_provider_stripe;
  char msg[PAY_MSG_MAX], body[400], pm[PAY_METHOD_REF_MAX];
  int ok;

  pay_method_setup_req_t sreq = {.setup_id = "reg-live-st",
                                 .user_label = "t1/bob",
                                 .currency = "EUR",
                                 .confirm_url = "http://127.0.0.1:9/return",
                                 .cancel_url = "http://127.0.0.1:9/cancel"};
  pay_method_setup_res_t sres, sres2;
  assert_int_equal(p->method_setup(&c, &sreq, &sres, msg, sizeof(msg)), PAY_OK);
  /* retried: the same customer and session (idempotency keys from setup_id) */
  assert_int_equal(p->method_setup(&c, &sreq, &sres2, msg, sizeof(msg)), PAY_OK);
  assert_string_equal(sres2.tx, sres.tx);
  pay_method_t m;
  assert_int_equal(p->method_finish(&c, sres.tx, "reg-live-st", &m, msg, sizeof(msg)),
                   PAY_NOT_FOUND);
  live_user_registers(sres.setup_url);
  assert_int_equal(p->method_finish(&c, sres.tx, "reg-live-st", &m, msg, sizeof(msg)), PAY_OK);
  assert_memory_equal(m.ref, "cus_", 4);
  assert_non_null(strstr(m.ref, "|pm_"));
  assert_string_equal(m.display, "visa ****4242");
  snprintf(pm, sizeof(pm), "%s", strchr(m.ref, '|') + 1);
  assert_msg_clean(msg, pm);

  pay_charge_req_t req = {
      .ref = m.ref, .order_id = "chg-live-st-1", .amount = 1250, .currency = "EUR", .item = "job"};
  pay_charge_res_t res, again;
  assert_int_equal(p->charge_saved(&c, &req, &res, msg, sizeof(msg)), PAY_OK);
  assert_memory_equal(res.tx, "pi_", 3);
  assert_int_equal(p->charge_saved(&c, &req, &again, msg, sizeof(msg)), PAY_OK);
  assert_string_equal(again.tx, res.tx);
  assert_int_equal(live_charges("chg-live-st-1", &ok), 1);

  snprintf(body, sizeof(body), "{\"ref\":\"%s\",\"count\":1,\"code\":\"insufficient_funds\"}", pm);
  json_decref(live_sim("/sim/decline-saved", body));
  req.order_id = "chg-live-st-2";
  assert_int_equal(p->charge_saved(&c, &req, &res, msg, sizeof(msg)), PAY_DECLINED);
  assert_non_null(strstr(msg, "insufficient_funds"));
  assert_msg_clean(msg, pm);
  /* retried: the same decline, not a second attempt (nor a late success) */
  assert_int_equal(p->charge_saved(&c, &req, &res, msg, sizeof(msg)), PAY_DECLINED);
  assert_int_equal(live_charges("chg-live-st-2", &ok), 1);
  assert_int_equal(ok, 0);
  req.order_id = "chg-live-st-3";
  assert_int_equal(p->charge_saved(&c, &req, &res, msg, sizeof(msg)), PAY_OK);

  assert_int_equal(p->method_remove(&c, m.ref, msg, sizeof(msg)), PAY_OK);
  req.order_id = "chg-live-st-4";
  assert_int_equal(p->charge_saved(&c, &req, &res, msg, sizeof(msg)), PAY_DECLINED);
  assert_int_equal(p->method_remove(&c, m.ref, msg, sizeof(msg)), PAY_OK);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_linepay_method_setup), cmocka_unit_test(test_linepay_method_finish),
      cmocka_unit_test(test_linepay_charge_saved), cmocka_unit_test(test_linepay_method_remove),
      cmocka_unit_test(test_stripe_method_setup),  cmocka_unit_test(test_stripe_method_finish),
      cmocka_unit_test(test_stripe_charge_saved),  cmocka_unit_test(test_stripe_method_remove),
  };
  const struct CMUnitTest live[] = {
      cmocka_unit_test(test_live_linepay),
      cmocka_unit_test(test_live_stripe),
  };
  int failed = cmocka_run_group_tests(tests, srv_setup, srv_teardown);
  return failed + cmocka_run_group_tests_name("nimbus-paysim", live, live_setup, live_teardown);
}
