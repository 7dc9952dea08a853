/*
 * test-billing-price.c: unit tests of billing/price.c, table-driven: the
 * quote of a job under graduated and volume tiers (tier edges, copies,
 * duplex, colour, size fallback to "other", a combination not offered),
 * the service fee and its rounding in currencies of 0 and 2 decimals,
 * overflow refusals, the JSON form (canonical round trip and every
 * validation error), media names to size classes, the quote's JSON and
 * text, and which pricing a printer gets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "money.h"
#include "price.h"

/* The running example: impressions 1-10 at 10, 11-50 at 8, 51+ at 6
 * (A4 mono one-sided); two-sided and colour dearer or cheaper per tier;
 * A3 in mono only; "other" for every size the table does not name. */
#define TIERS_JSON                                                                           \
  "[{\"from\":1,\"prices\":{"                                                                \
  "\"a4\":{\"mono\":{\"one-sided\":10,\"two-sided\":8},"                                     \
  "\"color\":{\"one-sided\":30,\"two-sided\":28}},"                                          \
  "\"a3\":{\"mono\":{\"one-sided\":20}},"                                                    \
  "\"other\":{\"mono\":{\"one-sided\":15,\"two-sided\":12},\"color\":{\"one-sided\":40}}}}," \
  "{\"from\":11,\"prices\":{"                                                                \
  "\"a4\":{\"mono\":{\"one-sided\":8,\"two-sided\":6},"                                      \
  "\"color\":{\"one-sided\":25,\"two-sided\":22}},"                                          \
  "\"a3\":{\"mono\":{\"one-sided\":18}},"                                                    \
  "\"other\":{\"mono\":{\"one-sided\":13,\"two-sided\":11},\"color\":{\"one-sided\":35}}}}," \
  "{\"from\":51,\"prices\":{"                                                                \
  "\"a4\":{\"mono\":{\"one-sided\":6,\"two-sided\":5},"                                      \
  "\"color\":{\"one-sided\":20,\"two-sided\":18}},"                                          \
  "\"a3\":{\"mono\":{\"one-sided\":16}},"                                                    \
  "\"other\":{\"mono\":{\"one-sided\":12,\"two-sided\":10},\"color\":{\"one-sided\":30}}}}]"

static price_table_t table_from(const char *text) {
  json_error_t jerr;
  json_t *j = json_loads(text, 0, &jerr);
  if (j == NULL) fail_msg("bad test JSON: %s", jerr.text);
  price_table_t t;
  char err[256] = "";
  if (!price_table_from_json(j, &t, err, sizeof err)) fail_msg("table refused: %s", err);
  json_decref(j);
  return t;
}

static price_table_t example(const char *currency, const char *mode) {
  char text[4096];
  snprintf(text, sizeof text, "{\"currency\":\"%s\",\"mode\":\"%s\",\"tiers\":" TIERS_JSON "}",
           currency, mode);
  return table_from(text);
}

typedef struct {
  const char *name;
  bool volume;
  int pages, copies;
  bool color, duplex;
  price_size_t size;
  bool ok;
  int64_t impressions, print_fee;
  int nlines;
  int64_t first_count, first_unit; /* lines[0] */
} quote_case_t;

static void test_quote_tiers(void **state) {
  (void)state;
  static const quote_case_t cases[] = {
      /* graduated: each impression in the tier its position falls in */
      {"grad 1", false, 1, 1, false, false, PRICE_SIZE_A4, true, 1, 10, 1, 1, 10},
      {"grad 10", false, 10, 1, false, false, PRICE_SIZE_A4, true, 10, 100, 1, 10, 10},
      {"grad 11", false, 11, 1, false, false, PRICE_SIZE_A4, true, 11, 108, 2, 10, 10},
      {"grad 50", false, 50, 1, false, false, PRICE_SIZE_A4, true, 50, 420, 2, 10, 10},
      {"grad 51", false, 51, 1, false, false, PRICE_SIZE_A4, true, 51, 426, 3, 10, 10},
      {"grad 60", false, 60, 1, false, false, PRICE_SIZE_A4, true, 60, 480, 3, 10, 10},
      {"grad 20x3 copies", false, 20, 3, false, false, PRICE_SIZE_A4, true, 60, 480, 3, 10, 10},
      {"grad 60 duplex", false, 60, 1, false, true, PRICE_SIZE_A4, true, 60, 370, 3, 10, 8},
      {"grad 12 colour", false, 12, 1, true, false, PRICE_SIZE_A4, true, 12, 350, 2, 10, 30},
      {"grad 6x2 colour duplex", false, 6, 2, true, true, PRICE_SIZE_A4, true, 12, 324, 2, 10, 28},
      {"grad a3 15", false, 15, 1, false, false, PRICE_SIZE_A3, true, 15, 290, 2, 10, 20},
      {"grad letter -> other", false, 12, 1, false, false, PRICE_SIZE_LETTER, true, 12, 176, 2, 10,
       15},
      {"grad legal -> other duplex", false, 5, 1, false, true, PRICE_SIZE_LEGAL, true, 5, 60, 1, 5,
       12},
      {"grad other colour", false, 3, 1, true, false, PRICE_SIZE_OTHER, true, 3, 120, 1, 3, 40},
      /* volume: every impression at the tier of the total */
      {"vol 10", true, 10, 1, false, false, PRICE_SIZE_A4, true, 10, 100, 1, 10, 10},
      {"vol 11", true, 11, 1, false, false, PRICE_SIZE_A4, true, 11, 88, 1, 11, 8},
      {"vol 50", true, 50, 1, false, false, PRICE_SIZE_A4, true, 50, 400, 1, 50, 8},
      {"vol 51", true, 51, 1, false, false, PRICE_SIZE_A4, true, 51, 306, 1, 51, 6},
      {"vol 60", true, 60, 1, false, false, PRICE_SIZE_A4, true, 60, 360, 1, 60, 6},
      {"vol 30x2 copies", true, 30, 2, false, false, PRICE_SIZE_A4, true, 60, 360, 1, 60, 6},
      {"vol 60 duplex", true, 60, 1, false, true, PRICE_SIZE_A4, true, 60, 300, 1, 60, 5},
      {"vol 12 colour duplex", true, 12, 1, true, true, PRICE_SIZE_A4, true, 12, 264, 1, 12, 22},
      {"vol letter -> other", true, 100, 1, false, false, PRICE_SIZE_LETTER, true, 100, 1200, 1,
       100, 12},
      /* nothing to print: free */
      {"grad 0 pages", false, 0, 1, false, false, PRICE_SIZE_A4, true, 0, 0, 0, 0, 0},
      {"vol 0 pages", true, 0, 5, true, true, PRICE_SIZE_A3, true, 0, 0, 0, 0, 0},
      /* not offered: A3 colour, A3 duplex, other colour duplex */
      {"a3 colour", false, 1, 1, true, false, PRICE_SIZE_A3, false, 0, 0, 0, 0, 0},
      {"a3 duplex", true, 2, 1, false, true, PRICE_SIZE_A3, false, 0, 0, 0, 0, 0},
      {"letter colour duplex", false, 2, 1, true, true, PRICE_SIZE_LETTER, false, 0, 0, 0, 0, 0},
      /* not a job */
      {"negative pages", false, -1, 1, false, false, PRICE_SIZE_A4, false, 0, 0, 0, 0, 0},
      {"no copies", false, 1, 0, false, false, PRICE_SIZE_A4, false, 0, 0, 0, 0, 0},
      {"bad size", false, 1, 1, false, false, PRICE_SIZE_COUNT, false, 0, 0, 0, 0, 0},
  };
  price_table_t grad = example("EUR", "graduated"), vol = example("EUR", "volume");
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const quote_case_t *c = &cases[i];
    price_job_t job = {c->pages, c->copies, c->color, c->duplex, c->size};
    price_quote_t q;
    memset(&q, 0x5a, sizeof q);
    char err[256] = "";
    bool ok = price_quote(c->volume ? &vol : &grad, &job, NULL, &q, err, sizeof err);
    if (ok != c->ok) fail_msg("%s: %s (%s)", c->name, ok ? "priced" : "refused", err);
    if (!ok) {
      if (err[0] == '\0') fail_msg("%s: refused without a message", c->name);
      continue;
    }
    if (q.impressions != c->impressions || q.print_fee != c->print_fee || q.nlines != c->nlines)
      fail_msg("%s: impressions %lld fee %lld lines %d", c->name, (long long)q.impressions,
               (long long)q.print_fee, q.nlines);
    assert_int_equal(q.service_fee, 0);
    assert_int_equal(q.total, q.print_fee);
    assert_string_equal(q.currency, "EUR");
    int64_t sum = 0, count = 0;
    for (int l = 0; l < q.nlines; l++) {
      assert_int_equal(q.lines[l].subtotal, q.lines[l].count * q.lines[l].unit);
      assert_int_equal(q.lines[l].from, (c->volume ? vol : grad).tiers[q.lines[l].tier].from);
      sum += q.lines[l].subtotal;
      count += q.lines[l].count;
    }
    assert_int_equal(sum, q.print_fee);
    assert_int_equal(count, q.impressions);
    if (q.nlines > 0 && (q.lines[0].count != c->first_count || q.lines[0].unit != c->first_unit))
      fail_msg("%s: first line %lld x %lld", c->name, (long long)q.lines[0].count,
               (long long)q.lines[0].unit);
  }
}

/* The graduated breakdown of the running example, line by line. */
static void test_quote_lines(void **state) {
  (void)state;
  price_table_t t = example("EUR", "graduated");
  price_job_t job = {60, 1, false, false, PRICE_SIZE_A4};
  price_quote_t q;
  assert_true(price_quote(&t, &job, NULL, &q, NULL, 0));
  assert_int_equal(q.nlines, 3);
  static const price_line_t want[] = {{0, 1, 10, 10, 100}, {1, 11, 40, 8, 320}, {2, 51, 10, 6, 60}};
  for (int i = 0; i < 3; i++) {
    assert_int_equal(q.lines[i].tier, want[i].tier);
    assert_int_equal(q.lines[i].from, want[i].from);
    assert_int_equal(q.lines[i].count, want[i].count);
    assert_int_equal(q.lines[i].unit, want[i].unit);
    assert_int_equal(q.lines[i].subtotal, want[i].subtotal);
  }
}

/* A size with no fallback: the table names no "other". */
static void test_quote_no_fallback(void **state) {
  (void)state;
  price_table_t t = table_from(
      "{\"currency\":\"EUR\",\"mode\":\"volume\",\"tiers\":[{\"from\":1,\"prices\":"
      "{\"a4\":{\"mono\":{\"one-sided\":10}}}}]}");
  price_job_t job = {1, 1, false, false, PRICE_SIZE_LETTER};
  price_quote_t q;
  char err[256] = "";
  assert_false(price_quote(&t, &job, NULL, &q, err, sizeof err));
  assert_non_null(strstr(err, "letter"));
  job.size = PRICE_SIZE_A4;
  assert_true(price_quote(&t, &job, NULL, &q, err, sizeof err));
  assert_int_equal(q.total, 10);
}

/* A table not built by the parser is checked before it prices. */
static void test_quote_bad_table(void **state) {
  (void)state;
  price_job_t job = {20, 1, false, false, PRICE_SIZE_A4};
  price_quote_t q;
  char err[256];
  price_table_t good = example("EUR", "graduated");
  assert_true(price_quote(&good, &job, NULL, &q, err, sizeof err));
  price_table_t t = good;
  t.tiers[2].from = 11; /* not increasing */
  assert_false(price_quote(&t, &job, NULL, &q, err, sizeof err));
  t = good;
  t.tiers[0].from = 2;
  assert_false(price_quote(&t, &job, NULL, &q, err, sizeof err));
  t = good;
  t.ntiers = 0;
  assert_false(price_quote(&t, &job, NULL, &q, err, sizeof err));
  t = good;
  t.ntiers = PRICE_TIERS_MAX + 1;
  assert_false(price_quote(&t, &job, NULL, &q, err, sizeof err));
  t = good;
  snprintf(t.currency, sizeof t.currency, "XXX");
  assert_false(price_quote(&t, &job, NULL, &q, err, sizeof err));
  assert_false(price_quote(NULL, &job, NULL, &q, err, sizeof err));
}

/* The service fee: fixed + bps of the print fee, rounded half away from
 * zero, in a currency of 0 decimals (JPY) and of 2 (EUR). */
static void test_service_fee(void **state) {
  (void)state;
  static const struct {
    const char *currency;
    int pages;
    int64_t fixed;
    int bps;
    int64_t print, service, total;
    const char *text;
  } cases[] = {
      /* 480 + 50 + 10 % of 480 */
      {"EUR", 60, 50, 1000, 480, 98, 578, "EUR 5.78 (print 4.80 + service 0.98)"},
      /* 5 x 10 = 50, 1 % = 0.5 -> 1 */
      {"EUR", 5, 0, 100, 50, 1, 51, "EUR 0.51 (print 0.50 + service 0.01)"},
      /* 4 x 10 = 40, 1 % = 0.4 -> 0 */
      {"EUR", 4, 0, 100, 40, 0, 40, "EUR 0.40 (print 0.40 + service 0.00)"},
      /* JPY: 11 impressions = 108 yen, 2.5 % = 2.7 -> 3, + 20 */
      {"JPY", 11, 20, 250, 108, 23, 131, "JPY 131 (print 108 + service 23)"},
      /* JPY: 1 impression = 10 yen, 25 % = 2.5 -> 3 */
      {"JPY", 1, 0, 2500, 10, 3, 13, "JPY 13 (print 10 + service 3)"},
      /* 0 decimals, no service fee */
      {"KRW", 60, 0, 0, 480, 0, 480, "KRW 480 (print 480 + service 0)"},
      /* 3 decimals */
      {"BHD", 10, 5, 0, 100, 5, 105, "BHD 0.105 (print 0.100 + service 0.005)"},
      /* 0 pages: no fee at all, not even the fixed part */
      {"EUR", 0, 50, 1000, 0, 0, 0, "EUR 0.00 (print 0.00 + service 0.00)"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    price_table_t t = example(cases[i].currency, "graduated");
    price_job_t job = {cases[i].pages, 1, false, false, PRICE_SIZE_A4};
    price_service_fee_t sf = {cases[i].fixed, cases[i].bps};
    price_quote_t q;
    char err[256] = "";
    if (!price_quote(&t, &job, &sf, &q, err, sizeof err)) fail_msg("case %zu: %s", i, err);
    if (q.print_fee != cases[i].print || q.service_fee != cases[i].service ||
        q.total != cases[i].total)
      fail_msg("case %zu: %lld + %lld = %lld", i, (long long)q.print_fee, (long long)q.service_fee,
               (long long)q.total);
    char text[128];
    price_quote_text(&q, text, sizeof text);
    assert_string_equal(text, cases[i].text);
  }
}

/* A free table still carries the fixed service fee (price.h). */
static void test_service_fee_free_table(void **state) {
  (void)state;
  price_table_t t = table_from(
      "{\"currency\":\"EUR\",\"mode\":\"graduated\",\"tiers\":[{\"from\":1,\"prices\":"
      "{\"other\":{\"mono\":{\"one-sided\":0}}}}]}");
  price_job_t job = {3, 1, false, false, PRICE_SIZE_A4};
  price_service_fee_t sf = {25, 5000};
  price_quote_t q;
  assert_true(price_quote(&t, &job, &sf, &q, NULL, 0));
  assert_int_equal(q.print_fee, 0);
  assert_int_equal(q.service_fee, 25);
  assert_int_equal(q.total, 25);
}

static void test_quote_overflow(void **state) {
  (void)state;
  char text[512];
  snprintf(text, sizeof text,
           "{\"currency\":\"JPY\",\"mode\":\"volume\",\"tiers\":[{\"from\":1,\"prices\":"
           "{\"a4\":{\"mono\":{\"one-sided\":%lld}}}}]}",
           (long long)(MONEY_MAX / 2));
  price_table_t t = table_from(text);
  price_quote_t q;
  char err[256] = "";
  price_job_t job = {2, 1, false, false, PRICE_SIZE_A4};
  assert_true(price_quote(&t, &job, NULL, &q, err, sizeof err));
  assert_int_equal(q.total, MONEY_MAX);
  /* One more impression, many copies, or a service fee: past MONEY_MAX. */
  job.pages = 3;
  assert_false(price_quote(&t, &job, NULL, &q, err, sizeof err));
  assert_non_null(strstr(err, "too large"));
  job.pages = 1000000;
  job.copies = 1000000;
  assert_false(price_quote(&t, &job, NULL, &q, err, sizeof err));
  job.pages = 2;
  job.copies = 1;
  price_service_fee_t sf = {1, 0};
  assert_false(price_quote(&t, &job, &sf, &q, err, sizeof err));
  /* A graduated table overflowing in its sum of lines. */
  snprintf(text, sizeof text,
           "{\"currency\":\"JPY\",\"mode\":\"graduated\",\"tiers\":[{\"from\":1,\"prices\":"
           "{\"a4\":{\"mono\":{\"one-sided\":%lld}}}},{\"from\":2,\"prices\":"
           "{\"a4\":{\"mono\":{\"one-sided\":%lld}}}}]}",
           (long long)MONEY_MAX, (long long)MONEY_MAX);
  t = table_from(text);
  job.pages = 1;
  assert_true(price_quote(&t, &job, NULL, &q, err, sizeof err));
  job.pages = 2;
  assert_false(price_quote(&t, &job, NULL, &q, err, sizeof err));
  /* A service fee out of range. */
  job.pages = 1;
  price_service_fee_t bad[] = {{-1, 0}, {MONEY_MAX + 1, 0}, {0, -1}, {0, 1000001}};
  t = example("EUR", "volume");
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_false(price_quote(&t, &job, &bad[i], &q, err, sizeof err));
}

/* to_json is canonical (PRICE_NONE left out) and parses back to the
 * same table; its text is stable. */
static void test_json_round_trip(void **state) {
  (void)state;
  static const char *modes[] = {"graduated", "volume"};
  for (int m = 0; m < 2; m++) {
    price_table_t t = example("EUR", modes[m]);
    json_t *j = price_table_to_json(&t);
    assert_non_null(j);
    price_table_t back;
    char err[256] = "";
    if (!price_table_from_json(j, &back, err, sizeof err)) fail_msg("%s", err);
    assert_memory_equal(&t, &back, sizeof t);
    char *s1 = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_t *j2 = price_table_to_json(&back);
    char *s2 = json_dumps(j2, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(s1, s2);
    assert_string_equal(json_string_value(json_object_get(j, "mode")), modes[m]);
    free(s1);
    free(s2);
    json_decref(j);
    json_decref(j2);
  }
  /* The exact canonical text of a small table (A3 colour one-sided only). */
  price_table_t t = table_from(
      "{\"tiers\":[{\"prices\":{\"a3\":{\"color\":{\"one-sided\":7}},\"a4\":{\"mono\":{"
      "\"two-sided\":3,\"one-sided\":4}}},\"from\":1}],\"mode\":\"volume\",\"currency\":\"USD\"}");
  assert_int_equal(t.tiers[0].price[PRICE_SIZE_A3][0][0], PRICE_NONE);
  assert_int_equal(t.tiers[0].price[PRICE_SIZE_A3][1][0], 7);
  assert_int_equal(t.tiers[0].price[PRICE_SIZE_LETTER][0][0], PRICE_NONE);
  json_t *j = price_table_to_json(&t);
  char *s = json_dumps(j, JSON_COMPACT);
  assert_string_equal(s,
                      "{\"currency\":\"USD\",\"mode\":\"volume\",\"tiers\":[{\"from\":1,\"prices\":"
                      "{\"a4\":{\"mono\":{\"one-sided\":4,\"two-sided\":3}},"
                      "\"a3\":{\"color\":{\"one-sided\":7}}}}]}");
  free(s);
  json_decref(j);
}

/* Every refusal of the parser, with the words its message must hold. */
static void test_json_errors(void **state) {
  (void)state;
#define T1(prices) \
  "{\"currency\":\"EUR\",\"mode\":\"graduated\",\"tiers\":[{\"from\":1,\"prices\":" prices "}]}"
#define A4 "{\"a4\":{\"mono\":{\"one-sided\":10}}}"
  static const struct {
    const char *json;
    const char *msg;
  } cases[] = {
      {"[]", "JSON object"},
      {"{\"currency\":\"EUR\",\"mode\":\"graduated\",\"tiers\":[{\"from\":1,\"prices\":" A4
       "}],\"extra\":1}",
       "unknown key \"extra\""},
      {"{\"mode\":\"graduated\",\"tiers\":[{\"from\":1,\"prices\":" A4 "}]}", "currency"},
      {"{\"currency\":\"XYZ\",\"mode\":\"graduated\",\"tiers\":[{\"from\":1,\"prices\":" A4 "}]}",
       "currency"},
      {"{\"currency\":\"eur\",\"mode\":\"graduated\",\"tiers\":[{\"from\":1,\"prices\":" A4 "}]}",
       "currency"},
      {"{\"currency\":978,\"mode\":\"graduated\",\"tiers\":[{\"from\":1,\"prices\":" A4 "}]}",
       "currency"},
      {"{\"currency\":\"EUR\",\"mode\":\"flat\",\"tiers\":[{\"from\":1,\"prices\":" A4 "}]}",
       "mode"},
      {"{\"currency\":\"EUR\",\"tiers\":[{\"from\":1,\"prices\":" A4 "}]}", "mode"},
      {"{\"currency\":\"EUR\",\"mode\":\"volume\",\"tiers\":[]}", "1 to 8 tiers"},
      {"{\"currency\":\"EUR\",\"mode\":\"volume\",\"tiers\":{}}", "1 to 8 tiers"},
      {"{\"currency\":\"EUR\",\"mode\":\"volume\",\"tiers\":["
       "{\"from\":1,\"prices\":" A4 "},{\"from\":2,\"prices\":" A4 "},{\"from\":3,\"prices\":" A4
       "},{\"from\":4,\"prices\":" A4 "},{\"from\":5,\"prices\":" A4 "},{\"from\":6,\"prices\":" A4
       "},{\"from\":7,\"prices\":" A4 "},{\"from\":8,\"prices\":" A4 "},{\"from\":9,\"prices\":" A4
       "}]}",
       "1 to 8 tiers"},
      {"{\"currency\":\"EUR\",\"mode\":\"volume\",\"tiers\":[7]}", "tier 1 must be an object"},
      {"{\"currency\":\"EUR\",\"mode\":\"volume\",\"tiers\":[{\"from\":2,\"prices\":" A4 "}]}",
       "tier 1: from must be 1"},
      {"{\"currency\":\"EUR\",\"mode\":\"volume\",\"tiers\":[{\"prices\":" A4 "}]}",
       "tier 1: from must be an integer"},
      {"{\"currency\":\"EUR\",\"mode\":\"volume\",\"tiers\":[{\"from\":1.0,\"prices\":" A4 "}]}",
       "tier 1: from must be an integer"},
      {"{\"currency\":\"EUR\",\"mode\":\"volume\",\"tiers\":[{\"from\":1,\"prices\":" A4
       "},{\"from\":11,\"prices\":" A4 "},{\"from\":11,\"prices\":" A4 "}]}",
       "tier 3: from must be greater than 11"},
      {"{\"currency\":\"EUR\",\"mode\":\"volume\",\"tiers\":[{\"from\":1,\"prices\":" A4
       "},{\"from\":0,\"prices\":" A4 "}]}",
       "tier 2: from must be an integer"},
      {"{\"currency\":\"EUR\",\"mode\":\"volume\",\"tiers\":[{\"from\":1,\"prices\":" A4
       ",\"to\":10}]}",
       "tier 1: unknown key \"to\""},
      {T1("{}"), "tier 1: prices must be an object naming at least one size"},
      {"{\"currency\":\"EUR\",\"mode\":\"volume\",\"tiers\":[{\"from\":1}]}",
       "tier 1: prices must be"},
      {T1("{\"a5\":{\"mono\":{\"one-sided\":1}}}"), "unknown size \"a5\""},
      {T1("{\"A4\":{\"mono\":{\"one-sided\":1}}}"), "unknown size \"A4\""},
      {T1("{\"a4\":5}"), "prices.a4 must be an object"},
      {T1("{\"a4\":{}}"), "prices.a4 offers no price"},
      {T1("{\"a4\":{\"mono\":{}}}"), "prices.a4 offers no price"},
      {T1("{\"a4\":{\"colour\":{\"one-sided\":1}}}"), "prices.a4: unknown key \"colour\""},
      {T1("{\"a4\":{\"mono\":3}}"), "prices.a4.mono must be an object"},
      {T1("{\"a4\":{\"mono\":{\"duplex\":1}}}"), "prices.a4.mono: unknown key \"duplex\""},
      {T1("{\"a4\":{\"mono\":{\"one-sided\":-1}}}"), "prices.a4.mono.one-sided must be an integer"},
      {T1("{\"a4\":{\"mono\":{\"one-sided\":1.5}}}"),
       "prices.a4.mono.one-sided must be an integer"},
      {T1("{\"a4\":{\"mono\":{\"one-sided\":\"10\"}}}"),
       "prices.a4.mono.one-sided must be an integer"},
      {T1("{\"a4\":{\"mono\":{\"one-sided\":null}}}"),
       "prices.a4.mono.one-sided must be an integer"},
      {T1("{\"a4\":{\"color\":{\"two-sided\":1000000000000001}}}"),
       "prices.a4.color.two-sided must be an integer from 0 to 1000000000000000"},
      {"{\"currency\":\"EUR\",\"mode\":\"volume\",\"tiers\":[{\"from\":1,\"prices\":" A4
       "},{\"from\":5,\"prices\":{\"a3\":{\"mono\":{\"one-sided\":1}},"
       "\"a4\":{\"mono\":{\"one-sided\":1}}}}]}",
       "tier 2: prices.a3 is not in tier 1"},
      {"{\"currency\":\"EUR\",\"mode\":\"volume\",\"tiers\":[{\"from\":1,\"prices\":{"
       "\"a3\":{\"mono\":{\"one-sided\":1}},\"a4\":{\"mono\":{\"one-sided\":1}}}},"
       "{\"from\":5,\"prices\":" A4 "}]}",
       "tier 2: prices.a3 missing"},
  };
#undef T1
#undef A4
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    json_error_t jerr;
    json_t *j = json_loads(cases[i].json, JSON_DECODE_ANY, &jerr);
    if (j == NULL) fail_msg("case %zu: bad test JSON: %s", i, jerr.text);
    price_table_t t;
    memset(&t, 0x5a, sizeof t);
    price_table_t untouched = t;
    char err[256] = "";
    if (price_table_from_json(j, &t, err, sizeof err)) fail_msg("case %zu: taken", i);
    if (strstr(err, cases[i].msg) == NULL)
      fail_msg("case %zu: message \"%s\", want \"%s\"", i, err, cases[i].msg);
    assert_memory_equal(&t, &untouched, sizeof t); /* out not written on failure */
    json_decref(j);
  }
  /* The largest price and eight tiers are fine; NULL err is fine. */
  char text[4096];
  int n = snprintf(text, sizeof text, "{\"currency\":\"JPY\",\"mode\":\"graduated\",\"tiers\":[");
  for (int i = 0; i < PRICE_TIERS_MAX; i++)
    n += snprintf(text + n, sizeof text - (size_t)n,
                  "%s{\"from\":%d,\"prices\":{\"other\":{\"mono\":{\"one-sided\":%lld}}}}",
                  i ? "," : "", i * 100 + 1, (long long)MONEY_MAX);
  snprintf(text + n, sizeof text - (size_t)n, "]}");
  price_table_t t = table_from(text);
  assert_int_equal(t.ntiers, PRICE_TIERS_MAX);
  assert_int_equal(t.tiers[7].from, 701);
  assert_false(price_table_from_json(NULL, &t, NULL, 0));
}

static void test_media(void **state) {
  (void)state;
  static const struct {
    const char *media;
    price_size_t size;
  } cases[] = {
      {"iso_a4_210x297mm", PRICE_SIZE_A4},
      {"iso_a3_297x420mm", PRICE_SIZE_A3},
      {"na_letter_8.5x11in", PRICE_SIZE_LETTER},
      {"na_legal_8.5x14in", PRICE_SIZE_LEGAL},
      {"A4", PRICE_SIZE_A4},
      {"a4", PRICE_SIZE_A4},
      {"A3", PRICE_SIZE_A3},
      {"Letter", PRICE_SIZE_LETTER},
      {"LETTER", PRICE_SIZE_LETTER},
      {"legal", PRICE_SIZE_LEGAL},
      {"iso-a4", PRICE_SIZE_A4},
      {"iso-a4-white", PRICE_SIZE_A4},
      {"iso-a3-colored", PRICE_SIZE_A3},
      {"na-letter-transparent", PRICE_SIZE_LETTER},
      {"na-legal", PRICE_SIZE_LEGAL},
      {"custom_x_210x297mm", PRICE_SIZE_A4}, /* a media-col size, named */
      {"custom_x_297x210mm", PRICE_SIZE_A4}, /* landscape */
      {"custom_x_215.9x279.4mm", PRICE_SIZE_LETTER},
      {"om_x_11x8.5in", PRICE_SIZE_LETTER},
      {"custom_x_210.4x296.6mm", PRICE_SIZE_A4}, /* within half a millimetre */
      {"custom_x_211x297mm", PRICE_SIZE_OTHER},
      {"iso_a5_148x210mm", PRICE_SIZE_OTHER},
      {"iso_a4-extra_235.5x322.3mm", PRICE_SIZE_OTHER},
      {"jis_b4_257x364mm", PRICE_SIZE_OTHER},
      {"na_foolscap_8.5x13in", PRICE_SIZE_OTHER},
      {"na_index-4x6_4x6in", PRICE_SIZE_OTHER},
      {"a4-extra", PRICE_SIZE_OTHER},
      {"a44", PRICE_SIZE_OTHER},
      {"letterhead", PRICE_SIZE_OTHER},
      {"iso_a4_foo", PRICE_SIZE_OTHER},
      {"iso_a4_x297mm", PRICE_SIZE_OTHER},
      {"envelope", PRICE_SIZE_OTHER},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    price_size_t got = price_size_of_media(cases[i].media, false);
    if (got != cases[i].size)
      fail_msg("%s: %s, want %s", cases[i].media, price_size_name(got),
               price_size_name(cases[i].size));
  }
  assert_int_equal(price_size_of_media(NULL, true), PRICE_SIZE_A4);
  assert_int_equal(price_size_of_media("", true), PRICE_SIZE_A4);
  assert_int_equal(price_size_of_media(NULL, false), PRICE_SIZE_LETTER);
  assert_int_equal(price_size_of_media("", false), PRICE_SIZE_LETTER);
  assert_string_equal(price_size_name(PRICE_SIZE_A4), "a4");
  assert_string_equal(price_size_name(PRICE_SIZE_A3), "a3");
  assert_string_equal(price_size_name(PRICE_SIZE_LETTER), "letter");
  assert_string_equal(price_size_name(PRICE_SIZE_LEGAL), "legal");
  assert_string_equal(price_size_name(PRICE_SIZE_OTHER), "other");
}

static void test_quote_json(void **state) {
  (void)state;
  price_table_t t = example("EUR", "graduated");
  price_job_t job = {30, 2, false, false, PRICE_SIZE_A4}; /* 60 impressions */
  price_service_fee_t sf = {50, 1000};
  price_quote_t q;
  assert_true(price_quote(&t, &job, &sf, &q, NULL, 0));
  json_t *j = price_quote_to_json(&q);
  assert_non_null(j);
  char *s = json_dumps(j, JSON_COMPACT);
  assert_string_equal(s,
                      "{\"currency\":\"EUR\",\"impressions\":60,\"print_fee\":480,"
                      "\"service_fee\":98,\"total\":578,\"lines\":["
                      "{\"tier\":1,\"from\":1,\"count\":10,\"unit\":10,\"subtotal\":100},"
                      "{\"tier\":2,\"from\":11,\"count\":40,\"unit\":8,\"subtotal\":320},"
                      "{\"tier\":3,\"from\":51,\"count\":10,\"unit\":6,\"subtotal\":60}]}");
  /* It fits the store's job quote detail. */
  assert_true(strlen(s) < 1024);
  free(s);
  json_decref(j);
}

static void test_policy_pick(void **state) {
  (void)state;
  static const struct {
    nimbus_id_t qt;
    const char *qp;
    nimbus_id_t dt;
    const char *dp;
    nimbus_id_t table;
    const char *payment;
  } cases[] = {
      {0, "", 0, "", 0, "none"},
      {5, "at-printer", 0, "", 5, "at-printer"},
      {5, "at-printer", 7, "", 7, "at-printer"},
      {5, "", 7, "at-printer", 7, "at-printer"},
      {5, "at-printer", 0, "none", 5, "none"},
      {0, "", 9, "none", 9, "none"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    nimbus_pricing_t q = {cases[i].qt, ""}, d = {cases[i].dt, ""}, out;
    snprintf(q.payment, sizeof q.payment, "%s", cases[i].qp);
    snprintf(d.payment, sizeof d.payment, "%s", cases[i].dp);
    price_policy_pick(&q, &d, &out);
    assert_int_equal(out.price_table_id, cases[i].table);
    assert_string_equal(out.payment, cases[i].payment);
  }
  nimbus_pricing_t q = {3, "at-printer"}, out;
  price_policy_pick(&q, NULL, &out);
  assert_int_equal(out.price_table_id, 3);
  assert_string_equal(out.payment, "at-printer");
  price_policy_pick(NULL, NULL, &out);
  assert_int_equal(out.price_table_id, 0);
  assert_string_equal(out.payment, "none");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_quote_tiers),       cmocka_unit_test(test_quote_lines),
      cmocka_unit_test(test_quote_no_fallback), cmocka_unit_test(test_quote_bad_table),
      cmocka_unit_test(test_service_fee),       cmocka_unit_test(test_service_fee_free_table),
      cmocka_unit_test(test_quote_overflow),    cmocka_unit_test(test_json_round_trip),
      cmocka_unit_test(test_json_errors),       cmocka_unit_test(test_media),
      cmocka_unit_test(test_quote_json),        cmocka_unit_test(test_policy_pick),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
