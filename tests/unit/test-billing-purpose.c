/*
 * test-billing-purpose.c: unit tests of billing/purpose-defaults.c:
 * account codes and purpose names (lengths, characters, UTF-8 edge cases),
 * account modes both ways, DEFAULTS read strictly and written canonically
 * (each member's range, unknown members, size bound), filling a job's
 * unset settings without overriding what it set, and purposes and
 * accounts as REST JSON (available per mode, no figures for users).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "purpose.h"

static void test_account_code(void **state) {
  (void)state;
  assert_true(account_code_valid("A"));
  assert_true(account_code_valid("CC-100.a_b"));
  assert_true(account_code_valid("-lead"));
  assert_true(account_code_valid("12345678901234567890123456789012"));   /* 32 */
  assert_false(account_code_valid("123456789012345678901234567890123")); /* 33 */
  assert_false(account_code_valid(""));
  assert_false(account_code_valid(NULL));
  assert_false(account_code_valid("a b"));
  assert_false(account_code_valid("a/b"));
  assert_false(account_code_valid("caf\xc3\xa9"));
}

static void test_purpose_name(void **state) {
  (void)state;
  char name[80];
  assert_true(purpose_name_valid("Client work"));
  assert_true(purpose_name_valid("Caf\xc3\xa9 volunteers"));   /* é */
  assert_true(purpose_name_valid("\xe6\x97\xa5\xe6\x9c\xac")); /* 日本 */
  assert_true(purpose_name_valid("emoji \xf0\x9f\x96\xa8"));   /* U+1F5A8 */
  assert_true(purpose_name_valid("a/b"));
  memset(name, 'x', 63);
  name[63] = '\0';
  assert_true(purpose_name_valid(name));
  name[63] = 'x';
  name[64] = '\0';
  assert_false(purpose_name_valid(name));
  assert_false(purpose_name_valid(""));
  assert_false(purpose_name_valid(NULL));
  assert_false(purpose_name_valid(" lead"));
  assert_false(purpose_name_valid("trail "));
  assert_false(purpose_name_valid("tab\there"));
  assert_false(purpose_name_valid("nl\n"));
  assert_false(purpose_name_valid("del\x7f"));
  assert_false(purpose_name_valid("c1 \xc2\x85"));       /* U+0085 NEL */
  assert_false(purpose_name_valid("overlong \xc0\xaf")); /* '/' overlong */
  assert_false(purpose_name_valid("overlong3 \xe0\x80\xaf"));
  assert_false(purpose_name_valid("surrogate \xed\xa0\x80"));
  assert_false(purpose_name_valid("too big \xf4\x90\x80\x80")); /* > U+10FFFF */
  assert_false(purpose_name_valid("cut \xe6\x97"));
  assert_false(purpose_name_valid("lone \x80"));
}

static void test_account_mode(void **state) {
  (void)state;
  nimbus_account_mode_t m = 0;
  assert_true(account_mode_parse("invoiced", &m));
  assert_int_equal(m, NIMBUS_ACCOUNT_INVOICED);
  assert_true(account_mode_parse("prepaid", &m));
  assert_int_equal(m, NIMBUS_ACCOUNT_PREPAID);
  assert_false(account_mode_parse("Prepaid", &m));
  assert_false(account_mode_parse("", &m));
  assert_false(account_mode_parse(NULL, &m));
  assert_string_equal(account_mode_name(NIMBUS_ACCOUNT_INVOICED), "invoiced");
  assert_string_equal(account_mode_name(NIMBUS_ACCOUNT_PREPAID), "prepaid");
  assert_null(account_mode_name((nimbus_account_mode_t)0));
}

/* Normalise the JSON text in; returns whether it was accepted, out/err filled. */
static bool normalize(const char *in, char *out, size_t outlen, char *err, size_t errlen) {
  json_t *j = json_loads(in, 0, NULL);
  assert_non_null(j);
  bool ok = purpose_defaults_normalize(j, out, outlen, err, errlen);
  json_decref(j);
  return ok;
}

static void test_defaults_normalize(void **state) {
  (void)state;
  char out[NIMBUS_PURPOSE_DEFAULTS_MAX], err[256];
  assert_true(normalize("{}", out, sizeof out, err, sizeof err));
  assert_string_equal(out, "{}");
  assert_true(purpose_defaults_normalize(NULL, out, sizeof out, err, sizeof err));
  assert_string_equal(out, "{}");
  /* nulls are left out, keys sorted */
  assert_true(
      normalize("{\"sides\":\"two-sided-long-edge\",\"copies\":2,\"print-color-mode\":"
                "\"monochrome\",\"finishings\":[4,3],\"media\":null}",
                out, sizeof out, err, sizeof err));
  assert_string_equal(out,
                      "{\"copies\":2,\"finishings\":[4,3],\"print-color-mode\":\"monochrome\","
                      "\"sides\":\"two-sided-long-edge\"}");
  assert_true(normalize("{\"media\":\"na_letter_8.5x11in\"}", out, sizeof out, err, sizeof err));
  assert_string_equal(out, "{\"media\":\"na_letter_8.5x11in\"}");

  static const struct {
    const char *in, *member;
  } bad[] = {
      {"{\"copies\":0}", "copies"},
      {"{\"copies\":1000}", "copies"},
      {"{\"copies\":\"2\"}", "copies"},
      {"{\"copies\":2.0}", "copies"},
      {"{\"sides\":\"two-sided\"}", "sides"},
      {"{\"print-color-mode\":\"colour\"}", "print-color-mode"},
      {"{\"media\":\"\"}", "media"},
      {"{\"media\":\"a4 paper\"}", "media"},
      {"{\"media\":7}", "media"},
      {"{\"finishings\":[]}", "finishings"},
      {"{\"finishings\":4}", "finishings"},
      {"{\"finishings\":[2]}", "finishings"},
      {"{\"finishings\":[4,\"staple\"]}", "finishings"},
      {"{\"finishings\":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]}", "finishings"},
      {"{\"colour\":\"color\"}", "colour"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    err[0] = '\0';
    strcpy(out, "unchanged");
    assert_false(normalize(bad[i].in, out, sizeof out, err, sizeof err));
    assert_non_null(strstr(err, bad[i].member));
    assert_string_equal(out, "unchanged");
  }
  json_t *arr = json_array();
  assert_false(purpose_defaults_normalize(arr, out, sizeof out, err, sizeof err));
  json_decref(arr);
  /* too large for the buffer given */
  char small[8];
  assert_false(normalize("{\"copies\":12}", small, sizeof small, err, sizeof err));
  assert_non_null(strstr(err, "too large"));
}

static void test_defaults_json(void **state) {
  (void)state;
  json_t *j = purpose_defaults_json("{\"copies\":3}");
  assert_int_equal(json_integer_value(json_object_get(j, "copies")), 3);
  json_decref(j);
  j = purpose_defaults_json("");
  assert_true(json_is_object(j) && json_object_size(j) == 0);
  json_decref(j);
  j = purpose_defaults_json("[1]");
  assert_true(json_is_object(j) && json_object_size(j) == 0);
  json_decref(j);
  j = purpose_defaults_json("{broken");
  assert_true(json_is_object(j) && json_object_size(j) == 0);
  json_decref(j);
}

static nimbus_purpose_t purpose_with(const char *defaults) {
  nimbus_purpose_t p;
  memset(&p, 0, sizeof p);
  snprintf(p.name, sizeof p.name, "work");
  snprintf(p.defaults, sizeof p.defaults, "%s", defaults);
  return p;
}

static void test_apply_defaults(void **state) {
  (void)state;
  nimbus_purpose_t p = purpose_with(
      "{\"copies\":2,\"finishings\":[4],\"media\":\"iso_a3_297x420mm\",\"print-color-mode\":"
      "\"monochrome\",\"sides\":\"two-sided-long-edge\"}");
  nimbus_job_t job;
  memset(&job, 0, sizeof job);
  job.copies = 1;
  snprintf(job.attrs_json, sizeof job.attrs_json, "{\"sides\":\"one-sided\"}");
  assert_true(purpose_apply_defaults(&p, false, &job));
  assert_int_equal(job.copies, 2);
  /* the job's own sides stay; the rest come from the purpose */
  assert_string_equal(job.attrs_json,
                      "{\"finishings\":[4],\"media\":\"iso_a3_297x420mm\",\"print-color-mode\":"
                      "\"monochrome\",\"sides\":\"one-sided\"}");

  /* copies given (even 1) or other than 1 are kept */
  memset(&job, 0, sizeof job);
  job.copies = 1;
  assert_true(purpose_apply_defaults(&p, true, &job));
  assert_int_equal(job.copies, 1);
  job.copies = 5;
  assert_true(purpose_apply_defaults(&p, false, &job));
  assert_int_equal(job.copies, 5);

  /* no defaults: the attributes stay as they were (canonical) */
  nimbus_purpose_t none = purpose_with("{}");
  memset(&job, 0, sizeof job);
  job.copies = 1;
  snprintf(job.attrs_json, sizeof job.attrs_json, "{\"media\":\"iso_a4_210x297mm\"}");
  assert_true(purpose_apply_defaults(&none, false, &job));
  assert_int_equal(job.copies, 1);
  assert_string_equal(job.attrs_json, "{\"media\":\"iso_a4_210x297mm\"}");

  /* unreadable attributes: refused, nothing changed */
  memset(&job, 0, sizeof job);
  job.copies = 1;
  snprintf(job.attrs_json, sizeof job.attrs_json, "{oops");
  assert_false(purpose_apply_defaults(&p, false, &job));
  assert_string_equal(job.attrs_json, "{oops");
  assert_int_equal(job.copies, 1);

  /* the result would not fit: refused, nothing changed */
  memset(&job, 0, sizeof job);
  job.copies = 1;
  char big[NIMBUS_ATTRS_MAX];
  size_t fill = sizeof big - 20;
  memcpy(big, "{\"job-name-x\":\"", 15);
  memset(big + 15, 'y', fill - 15);
  snprintf(big + fill, sizeof big - fill, "\"}");
  snprintf(job.attrs_json, sizeof job.attrs_json, "%s", big);
  assert_false(purpose_apply_defaults(&p, false, &job));
  assert_string_equal(job.attrs_json, big);
  assert_int_equal(job.copies, 1);
}

static void test_purpose_json(void **state) {
  (void)state;
  nimbus_purpose_t p = purpose_with("{\"copies\":2}");
  p.created_at = 1700000000;
  p.updated_at = 1700000060;
  p.is_default = true;
  json_t *j = purpose_json(&p);
  assert_non_null(j);
  assert_string_equal(json_string_value(json_object_get(j, "name")), "work");
  assert_true(json_is_null(json_object_get(j, "account")));
  assert_true(json_is_true(json_object_get(j, "private")));
  assert_true(json_is_true(json_object_get(j, "default")));
  assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "defaults"), "copies")),
                   2);
  assert_string_equal(json_string_value(json_object_get(j, "created_at")), "2023-11-14T22:13:20Z");
  assert_string_equal(json_string_value(json_object_get(j, "updated_at")), "2023-11-14T22:14:20Z");
  json_decref(j);

  p.account_id = 9;
  p.is_default = false;
  snprintf(p.account_code, sizeof p.account_code, "CC-1");
  j = purpose_json(&p);
  assert_string_equal(json_string_value(json_object_get(j, "account")), "CC-1");
  assert_true(json_is_false(json_object_get(j, "private")));
  assert_true(json_is_false(json_object_get(j, "default")));
  json_decref(j);
}

static nimbus_billing_account_t account(nimbus_account_mode_t mode) {
  nimbus_billing_account_t a;
  memset(&a, 0, sizeof a);
  a.id = 4;
  snprintf(a.code, sizeof a.code, "CC-1");
  snprintf(a.name, sizeof a.name, "Cost centre 1");
  a.mode = mode;
  a.created_at = 1700000000;
  return a;
}

static void test_account_json(void **state) {
  (void)state;
  nimbus_billing_account_t a = account(NIMBUS_ACCOUNT_PREPAID);
  a.balance = 1000;
  a.held = 250;
  a.everyone = true;
  json_t *j = account_json(&a, "EUR", true);
  assert_non_null(j);
  assert_string_equal(json_string_value(json_object_get(j, "code")), "CC-1");
  assert_string_equal(json_string_value(json_object_get(j, "mode")), "prepaid");
  assert_string_equal(json_string_value(json_object_get(j, "currency")), "EUR");
  assert_true(json_is_true(json_object_get(j, "everyone")));
  assert_true(json_is_false(json_object_get(j, "restrict_printers")));
  assert_true(json_is_false(json_object_get(j, "closed")));
  assert_true(json_is_null(json_object_get(j, "closed_at")));
  assert_int_equal(json_integer_value(json_object_get(j, "balance")), 1000);
  assert_int_equal(json_integer_value(json_object_get(j, "held")), 250);
  assert_int_equal(json_integer_value(json_object_get(j, "available")), 750);
  assert_string_equal(json_string_value(json_object_get(j, "available_text")), "7.50");
  json_decref(j);

  /* a user's view: no figures at all */
  j = account_json(&a, "EUR", false);
  static const char *const figures[] = {"balance",      "held",      "charged",
                                        "credit_limit", "available", "available_text"};
  for (size_t i = 0; i < sizeof figures / sizeof figures[0]; i++)
    assert_null(json_object_get(j, figures[i]));
  assert_string_equal(json_string_value(json_object_get(j, "name")), "Cost centre 1");
  json_decref(j);

  /* invoiced with a limit: limit - charged - held; JPY has no decimals */
  a = account(NIMBUS_ACCOUNT_INVOICED);
  a.credit_limit = 5000;
  a.charged = 1200;
  a.held = 300;
  a.closed_at = 1700000100;
  j = account_json(&a, "JPY", true);
  assert_int_equal(json_integer_value(json_object_get(j, "available")), 3500);
  assert_string_equal(json_string_value(json_object_get(j, "available_text")), "3500");
  assert_true(json_is_true(json_object_get(j, "closed")));
  assert_string_equal(json_string_value(json_object_get(j, "closed_at")), "2023-11-14T22:15:00Z");
  assert_string_equal(json_string_value(json_object_get(j, "mode")), "invoiced");
  json_decref(j);

  /* invoiced without a limit: nothing to show as available */
  a.credit_limit = 0;
  j = account_json(&a, "JPY", true);
  assert_true(json_is_null(json_object_get(j, "available")));
  assert_true(json_is_null(json_object_get(j, "available_text")));
  assert_int_equal(json_integer_value(json_object_get(j, "charged")), 1200);
  json_decref(j);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_account_code),  cmocka_unit_test(test_purpose_name),
      cmocka_unit_test(test_account_mode),  cmocka_unit_test(test_defaults_normalize),
      cmocka_unit_test(test_defaults_json), cmocka_unit_test(test_apply_defaults),
      cmocka_unit_test(test_purpose_json),  cmocka_unit_test(test_account_json),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
