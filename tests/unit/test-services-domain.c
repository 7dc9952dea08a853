/*
 * test-services-domain.c: the pure parts of src/server/services/: the
 * service conditions (which settings each cloud service needs), the
 * outgoing webhook's signature (checked against Python's hmac for the
 * same secret, timestamp and body) and its back-off.
 */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "service-config.h"
#include "webhook-out.h"

static const char *missing(const char *service, const char *json) {
  json_t *doc = json ? json_loads(json, 0, NULL) : NULL;
  const char *m = service_conditions_missing(service, doc);
  json_decref(doc);
  return m;
}

static void test_conditions(void **state) {
  (void)state;
  assert_null(missing(
      "backup", "{\"period\":\"daily\",\"time\":\"02:30\",\"mode\":\"full\",\"retention\":7}"));
  assert_string_equal(missing("backup", "{\"period\":\"daily\",\"mode\":\"full\",\"retention\":7}"),
                      "time");
  assert_string_equal(missing("backup", NULL), "period");
  assert_string_equal(missing("backup", "[]"), "period");
  assert_null(missing("consumables", "{\"order_url\":\"https://x\",\"thresholds\":{\"*\":10}}"));
  assert_string_equal(missing("consumables", "{\"order_url\":\"https://x\",\"thresholds\":null}"),
                      "thresholds");
  assert_null(
      missing("parts_life", "{\"parts\":{\"fuser\":1},\"threshold\":90,\"recipients\":[]}"));
  assert_null(missing("parts_life", "{\"parts\":{},\"threshold\":90,\"alert_url\":\"https://a\"}"));
  assert_string_equal(missing("parts_life", "{\"parts\":{},\"threshold\":90}"), "alert_url");
  assert_string_equal(missing("parts_life", "{\"threshold\":90,\"alert_url\":\"x\"}"), "parts");
  assert_string_equal(missing("firmware", "{}"), "service");
  assert_true(service_known("backup") && service_known("consumables") &&
              service_known("parts_life"));
  assert_false(service_known("Backup") || service_known("") || service_known(NULL));
}

static void test_signature(void **state) {
  (void)state;
  const char *body = "{\"event_id\":\"order-17\"}";
  char sig[96];
  assert_true(webhook_out_sign("0123456789abcdef0123456789abcdef", 1798761600, body, strlen(body),
                               sig, sizeof sig));
  assert_string_equal(sig,
                      "sha256=368ab317377fb706208c688d6ff654fb634eaf17476370548c3b26b882e8fc21");
  /* another timestamp or body: another signature */
  char other[96];
  assert_true(webhook_out_sign("0123456789abcdef0123456789abcdef", 1798761601, body, strlen(body),
                               other, sizeof other));
  assert_string_not_equal(sig, other);
  assert_false(webhook_out_sign("0123456789abcdef0123456789abcdef", 1, body, strlen(body), other,
                                40)); /* too small */
}

static void test_backoff(void **state) {
  (void)state;
  assert_int_equal(webhook_out_backoff(0), 30);
  assert_int_equal(webhook_out_backoff(1), 60);
  assert_int_equal(webhook_out_backoff(6), 1920);
  assert_int_equal(webhook_out_backoff(7), 3600);
  assert_int_equal(webhook_out_backoff(40), 3600);
  assert_int_equal(webhook_out_backoff(-1), 30);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_conditions),
      cmocka_unit_test(test_signature),
      cmocka_unit_test(test_backoff),
  };
  return cmocka_run_group_tests_name("services domain", tests, NULL, NULL);
}
