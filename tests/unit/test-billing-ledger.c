/*
 * test-billing-ledger.c: unit tests of billing/ledger.c: the three
 * postings of a paid job (payment, charge, refund) have the accounts,
 * signs, kind, memo and ids ledger.h promises and balance; a zero fee
 * gets no line; a charge whose parts do not add up to the total is caught
 * by ledger_balanced; and ledger_balanced itself, table-driven (zero
 * lines, empty postings, amounts past MONEY_MAX, overflowing sums).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ledger.h"
#include "money.h"

static nimbus_payment_t payment(int64_t print_fee, int64_t service_fee) {
  nimbus_payment_t p;
  memset(&p, 0, sizeof p);
  p.id = 77;
  p.tenant_id = 3;
  p.job_id = 42;
  p.attempt = 1;
  snprintf(p.provider, sizeof p.provider, "linepay");
  snprintf(p.currency, sizeof p.currency, "JPY");
  snprintf(p.order_id, sizeof p.order_id, "nimbus-42-1");
  p.print_fee = print_fee;
  p.service_fee = service_fee;
  p.amount = print_fee + service_fee;
  return p;
}

typedef struct {
  const char *account;
  int64_t amount;
} want_line_t;

/* The posting in b is exactly kind with lines want[0..n), balanced, and
 * carries the payment's ids, currency and memo. */
static void check_posting(const ledger_posting_buf_t *b, const nimbus_payment_t *p,
                          const char *kind, const want_line_t *want, int n) {
  const store_ledger_posting_t *post = &b->posting;
  assert_string_equal(post->kind, kind);
  assert_int_equal(post->tenant_id, p->tenant_id);
  assert_int_equal(post->job_id, p->job_id);
  assert_int_equal(post->payment_id, p->id);
  assert_string_equal(post->currency, p->currency);
  char memo[128];
  snprintf(memo, sizeof memo, "job %lld %s %s", (long long)p->job_id, kind, p->order_id);
  assert_non_null(post->memo);
  assert_string_equal(post->memo, memo);
  assert_ptr_equal(post->lines, b->lines);
  assert_int_equal(post->nlines, n);
  for (int i = 0; i < n; i++) {
    assert_string_equal(post->lines[i].account, want[i].account);
    assert_int_equal(post->lines[i].amount, want[i].amount);
  }
  assert_true(ledger_balanced(post->lines, post->nlines));
}

static void test_payment_received(void **state) {
  (void)state;
  nimbus_payment_t p = payment(480, 98);
  ledger_posting_buf_t b;
  ledger_payment_received(&p, &b);
  const want_line_t want[] = {{"provider:linepay:clearing", 578}, {"tenant:3:unearned", -578}};
  check_posting(&b, &p, "payment", want, 2);
}

static void test_charge(void **state) {
  (void)state;
  nimbus_payment_t p = payment(480, 98);
  ledger_posting_buf_t b;
  ledger_charge(&p, &b);
  const want_line_t want[] = {
      {"tenant:3:unearned", 578}, {"tenant:3:revenue", -480}, {"operator:revenue", -98}};
  check_posting(&b, &p, "charge", want, 3);
}

/* A charge without service fee has no operator line; one whose print fee
 * is 0 (a free table with a fixed service fee) no tenant revenue line. */
static void test_charge_zero_parts(void **state) {
  (void)state;
  nimbus_payment_t p = payment(480, 0);
  ledger_posting_buf_t b;
  ledger_charge(&p, &b);
  const want_line_t no_service[] = {{"tenant:3:unearned", 480}, {"tenant:3:revenue", -480}};
  check_posting(&b, &p, "charge", no_service, 2);

  p = payment(0, 30);
  ledger_charge(&p, &b);
  const want_line_t no_print[] = {{"tenant:3:unearned", 30}, {"operator:revenue", -30}};
  check_posting(&b, &p, "charge", no_print, 2);
}

/* A payment row whose parts do not add up to its amount gives a posting
 * that does not balance: the store refuses it. */
static void test_charge_inconsistent(void **state) {
  (void)state;
  nimbus_payment_t p = payment(480, 98);
  p.amount = 577;
  ledger_posting_buf_t b;
  ledger_charge(&p, &b);
  assert_int_equal(b.posting.nlines, 3);
  assert_false(ledger_balanced(b.posting.lines, b.posting.nlines));
}

static void test_refund(void **state) {
  (void)state;
  nimbus_payment_t p = payment(1200, 0);
  snprintf(p.provider, sizeof p.provider, "stripe");
  snprintf(p.currency, sizeof p.currency, "EUR");
  p.tenant_id = 12345;
  ledger_posting_buf_t b;
  ledger_refund(&p, &b);
  const want_line_t want[] = {{"tenant:12345:unearned", 1200}, {"provider:stripe:clearing", -1200}};
  check_posting(&b, &p, "refund", want, 2);
}

/* payment + charge leave unearned at 0; payment + refund leave clearing
 * and unearned at 0: summed per account over the postings of a job. */
static void test_lifecycle_balances(void **state) {
  (void)state;
  static const struct {
    bool printed;
    const char *account;
    int64_t balance;
  } want[] = {
      {true, "provider:linepay:clearing", 578}, {true, "tenant:3:unearned", 0},
      {true, "tenant:3:revenue", -480},         {true, "operator:revenue", -98},
      {false, "provider:linepay:clearing", 0},  {false, "tenant:3:unearned", 0},
      {false, "tenant:3:revenue", 0},           {false, "operator:revenue", 0},
  };
  nimbus_payment_t p = payment(480, 98);
  for (size_t w = 0; w < sizeof want / sizeof want[0]; w++) {
    ledger_posting_buf_t b[2];
    ledger_payment_received(&p, &b[0]);
    if (want[w].printed)
      ledger_charge(&p, &b[1]);
    else
      ledger_refund(&p, &b[1]);
    int64_t sum = 0;
    for (int k = 0; k < 2; k++)
      for (int i = 0; i < b[k].posting.nlines; i++)
        if (strcmp(b[k].lines[i].account, want[w].account) == 0) sum += b[k].lines[i].amount;
    if (sum != want[w].balance)
      fail_msg("%s %s: %lld", want[w].printed ? "printed" : "refunded", want[w].account,
               (long long)sum);
  }
}

static void test_balanced(void **state) {
  (void)state;
  static const struct {
    int n;
    int64_t amounts[4];
    bool ok;
  } cases[] = {
      {2, {5, -5}, true},
      {3, {10, -7, -3}, true},
      {4, {1, 2, -1, -2}, true},
      {2, {MONEY_MAX, -MONEY_MAX}, true},
      {2, {5, -4}, false},
      {1, {5}, false},
      {0, {0}, false},        /* nothing to post */
      {3, {5, -5, 0}, false}, /* a zero line */
      {2, {0, 0}, false},
      {2, {MONEY_MAX + 1, -MONEY_MAX - 1}, false},
      {2, {INT64_MAX, -INT64_MAX}, false},
      {4, {INT64_MAX, 1, -1, -INT64_MAX}, false},
      {3, {INT64_MIN, INT64_MAX, 1}, false},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    store_ledger_line_t lines[4];
    memset(lines, 0, sizeof lines);
    for (int k = 0; k < cases[i].n; k++) {
      snprintf(lines[k].account, sizeof lines[k].account, "a:%d", k);
      lines[k].amount = cases[i].amounts[k];
    }
    if (ledger_balanced(lines, cases[i].n) != cases[i].ok)
      fail_msg("case %zu: %s", i, cases[i].ok ? "refused" : "taken");
  }
  assert_false(ledger_balanced(NULL, 2));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_payment_received),
      cmocka_unit_test(test_charge),
      cmocka_unit_test(test_charge_zero_parts),
      cmocka_unit_test(test_charge_inconsistent),
      cmocka_unit_test(test_refund),
      cmocka_unit_test(test_lifecycle_balances),
      cmocka_unit_test(test_balanced),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
