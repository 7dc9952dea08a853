/*
 * test-billing-money.c: unit tests of billing/money.c, table-driven: ISO
 * 4217 exponents (0, 2 and 3 decimals, unknown and malformed codes),
 * exact text out and in with their round trips and refusals, the
 * basis-point rounding rule (half away from zero, negative amounts) and
 * the MONEY_MAX bounds of every operation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "money.h"

static void test_exponents(void **state) {
  (void)state;
  static const struct {
    const char *code;
    int exp;
  } cases[] = {
      {"JPY", 0},
      {"KRW", 0},
      {"VND", 0},
      {"CLP", 0},
      {"UGX", 0},
      {"ISK", 0},
      {"XAF", 0},
      {"XOF", 0},
      {"XPF", 0},
      {"PYG", 0},
      {"RWF", 0},
      {"BIF", 0},
      {"DJF", 0},
      {"GNF", 0},
      {"KMF", 0},
      {"VUV", 0},
      {"TWD", 2},
      {"THB", 2},
      {"USD", 2},
      {"EUR", 2},
      {"GBP", 2},
      {"CHF", 2},
      {"AUD", 2},
      {"CAD", 2},
      {"SGD", 2},
      {"HKD", 2},
      {"CNY", 2},
      {"INR", 2},
      {"SEK", 2},
      {"NOK", 2},
      {"DKK", 2},
      {"PLN", 2},
      {"CZK", 2},
      {"HUF", 2},
      {"IDR", 2},
      {"MXN", 2},
      {"BRL", 2},
      {"NZD", 2},
      {"ZAR", 2},
      {"AED", 2},
      {"MGA", 2},
      {"ZWG", 2},
      {"BHD", 3},
      {"KWD", 3},
      {"JOD", 3},
      {"OMR", 3},
      {"TND", 3},
      {"IQD", 3},
      {"LYD", 3},
      /* unknown, funds, metals, withdrawn, malformed */
      {"XXX", -1},
      {"XAU", -1},
      {"XDR", -1},
      {"CLF", -1},
      {"HRK", -1},
      {"eur", -1},
      {"EU", -1},
      {"EURO", -1},
      {"", -1},
      {"E1R", -1},
      {"AAA", -1},
      {"ZZZ", -1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int got = money_exponent(cases[i].code);
    if (got != cases[i].exp) fail_msg("%s: exponent %d, want %d", cases[i].code, got, cases[i].exp);
    assert_int_equal(money_currency_valid(cases[i].code), cases[i].exp >= 0);
  }
  assert_int_equal(money_exponent(NULL), -1);
  assert_false(money_currency_valid(NULL));
}

static void test_format(void **state) {
  (void)state;
  static const struct {
    int64_t amount;
    const char *code;
    const char *text;
  } cases[] = {
      {1234, "EUR", "12.34"},
      {-5, "EUR", "-0.05"},
      {0, "EUR", "0.00"},
      {100, "USD", "1.00"},
      {1200, "JPY", "1200"},
      {-1200, "JPY", "-1200"},
      {0, "KRW", "0"},
      {1, "BHD", "0.001"},
      {12345, "KWD", "12.345"},
      {-1000, "OMR", "-1.000"},
      {1000000000000000, "EUR", "10000000000000.00"},
      {INT64_MAX, "EUR", "92233720368547758.07"},
      {INT64_MIN, "EUR", "-92233720368547758.08"},
  };
  char buf[64];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    assert_true(money_format(cases[i].amount, cases[i].code, buf, sizeof buf));
    assert_string_equal(buf, cases[i].text);
  }
  assert_true(money_format_with_code(1234, "EUR", buf, sizeof buf));
  assert_string_equal(buf, "EUR 12.34");
  assert_true(money_format_with_code(500, "JPY", buf, sizeof buf));
  assert_string_equal(buf, "JPY 500");
  /* Unknown currency, or a buffer too small ("12.34" needs 6 bytes). */
  assert_false(money_format(1234, "XXX", buf, sizeof buf));
  assert_string_equal(buf, "");
  assert_false(money_format(1234, "EUR", buf, 5));
  assert_true(money_format(1234, "EUR", buf, 6));
  assert_false(money_format_with_code(1234, "EUR", buf, 9));
  assert_true(money_format_with_code(1234, "EUR", buf, 10));
  assert_false(money_format(1, "EUR", NULL, 0));
}

static void test_parse(void **state) {
  (void)state;
  static const struct {
    const char *text;
    const char *code;
    bool ok;
    int64_t amount;
  } cases[] = {
      {"12", "EUR", true, 1200},
      {"12.3", "EUR", true, 1230},
      {"12.34", "EUR", true, 1234},
      {"-0.05", "EUR", true, -5},
      {"-0", "EUR", true, 0},
      {"007.10", "EUR", true, 710},
      {"1200", "JPY", true, 1200},
      {"1.234", "BHD", true, 1234},
      {"1.2", "KWD", true, 1200},
      {"10000000000000.00", "EUR", true, MONEY_MAX},
      {"-10000000000000", "EUR", true, -MONEY_MAX},
      {"1000000000000000", "JPY", true, MONEY_MAX},
      /* refused */
      {"1.5", "JPY", false, 0}, /* JPY has no minor unit */
      {"1.0", "JPY", false, 0},
      {"1.234", "EUR", false, 0}, /* more digits than EUR has */
      {"1.2345", "BHD", false, 0},
      {"10000000000000.01", "EUR", false, 0}, /* past MONEY_MAX */
      {"1000000000000001", "JPY", false, 0},
      {"99999999999999999999999999", "EUR", false, 0},
      {"-99999999999999999999999999", "JPY", false, 0},
      {"", "EUR", false, 0},
      {"-", "EUR", false, 0},
      {".5", "EUR", false, 0},
      {"12.", "EUR", false, 0},
      {"+12", "EUR", false, 0},
      {" 12", "EUR", false, 0},
      {"12 ", "EUR", false, 0},
      {"1,50", "EUR", false, 0},
      {"1e3", "EUR", false, 0},
      {"--1", "EUR", false, 0},
      {"1.2.3", "EUR", false, 0},
      {"12", "XXX", false, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int64_t v = -42;
    bool ok = money_parse(cases[i].text, cases[i].code, &v);
    if (ok != cases[i].ok)
      fail_msg("\"%s\" %s: %s", cases[i].text, cases[i].code, ok ? "taken" : "refused");
    if (ok) assert_int_equal(v, cases[i].amount);
  }
  int64_t v;
  assert_false(money_parse(NULL, "EUR", &v));
  assert_false(money_parse("1", NULL, &v));
}

/* Every amount formats into text that parses back to itself. */
static void test_round_trip(void **state) {
  (void)state;
  static const char *codes[] = {"JPY", "EUR", "BHD", "KRW", "USD", "KWD"};
  static const int64_t amounts[] = {0,         1,          -1,        9,          10,
                                    99,        100,        101,       -12345,     999999,
                                    123456789, -987654321, MONEY_MAX, -MONEY_MAX, MONEY_MAX - 1};
  char buf[64];
  for (size_t c = 0; c < sizeof codes / sizeof codes[0]; c++)
    for (size_t i = 0; i < sizeof amounts / sizeof amounts[0]; i++) {
      int64_t back = 0;
      assert_true(money_format(amounts[i], codes[c], buf, sizeof buf));
      assert_true(money_parse(buf, codes[c], &back));
      assert_int_equal(back, amounts[i]);
    }
}

static void test_apply_bps(void **state) {
  (void)state;
  static const struct {
    int64_t a;
    int bps;
    bool ok;
    int64_t out;
  } cases[] = {
      {1000, 1000, true, 100}, /* 10 % */
      {1000, 0, true, 0},
      {1000, 10000, true, 1000},     /* 100 % */
      {1000, 1000000, true, 100000}, /* the largest rate, 10000 % */
      {5, 1000, true, 1},            /* 0.5 -> 1: half away from zero */
      {-5, 1000, true, -1},          /* -0.5 -> -1 */
      {4, 1000, true, 0},            /* 0.4 -> 0 */
      {-4, 1000, true, 0},
      {6, 1000, true, 1}, /* 0.6 -> 1 */
      {-6, 1000, true, -1},
      {15, 1000, true, 2}, /* 1.5 -> 2 */
      {-15, 1000, true, -2},
      {25, 1000, true, 3}, /* 2.5 -> 3 (not banker's 2) */
      {-25, 1000, true, -3},
      {1, 5000, true, 1}, /* 0.5 */
      {1, 4999, true, 0}, /* 0.4999 */
      {-1, 5000, true, -1},
      {333, 250, true, 8},         /* 8.325 */
      {340, 250, true, 9},         /* 8.5 */
      {123456789, 1, true, 12346}, /* 12345.6789 */
      {MONEY_MAX, 10000, true, MONEY_MAX},
      {-MONEY_MAX, 10000, true, -MONEY_MAX},
      {MONEY_MAX, 9999, true, 999900000000000},
      {MONEY_MAX / 100, 1000000, true, MONEY_MAX}, /* 10^13 * 100 */
      {MONEY_MAX, 10001, false, 0},                /* past MONEY_MAX */
      {MONEY_MAX, 1000000, false, 0},              /* would be 10^17 */
      {MONEY_MAX + 1, 1, false, 0},
      {-MONEY_MAX - 1, 1, false, 0},
      {INT64_MAX, 10000, false, 0},
      {INT64_MIN, 10000, false, 0},
      {1000, -1, false, 0},
      {1000, 1000001, false, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int64_t v = -42;
    bool ok = money_apply_bps(cases[i].a, cases[i].bps, &v);
    if (ok != cases[i].ok)
      fail_msg("%lld x %d bps: %s", (long long)cases[i].a, cases[i].bps, ok ? "taken" : "refused");
    if (ok && v != cases[i].out)
      fail_msg("%lld x %d bps = %lld, want %lld", (long long)cases[i].a, cases[i].bps, (long long)v,
               (long long)cases[i].out);
  }
}

static void test_add_mul(void **state) {
  (void)state;
  int64_t v;
  assert_true(money_add(2, 3, &v));
  assert_int_equal(v, 5);
  assert_true(money_add(-7, 3, &v));
  assert_int_equal(v, -4);
  assert_true(money_add(MONEY_MAX - 1, 1, &v));
  assert_int_equal(v, MONEY_MAX);
  assert_false(money_add(MONEY_MAX, 1, &v));
  assert_false(money_add(-MONEY_MAX, -1, &v));
  assert_false(money_add(INT64_MAX, 1, &v));
  assert_false(money_add(INT64_MIN, -1, &v));
  assert_true(money_add(INT64_MAX, -INT64_MAX, &v)); /* only the result is bounded */
  assert_int_equal(v, 0);

  assert_true(money_mul(25, 4, &v));
  assert_int_equal(v, 100);
  assert_true(money_mul(-25, 4, &v));
  assert_int_equal(v, -100);
  assert_true(money_mul(MONEY_MAX, 1, &v));
  assert_int_equal(v, MONEY_MAX);
  assert_true(money_mul(MONEY_MAX / 1000, 1000, &v));
  assert_int_equal(v, MONEY_MAX);
  assert_false(money_mul(MONEY_MAX / 1000 + 1, 1000, &v));
  assert_false(money_mul(INT64_MAX / 2, 3, &v));
  assert_false(money_mul(INT64_MIN, -1, &v));
  assert_false(money_mul(-MONEY_MAX, 2, &v));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_exponents), cmocka_unit_test(test_format),
      cmocka_unit_test(test_parse),     cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_apply_bps), cmocka_unit_test(test_add_mul),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
