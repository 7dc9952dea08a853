/*
 * ledger.h: the double-entry postings of a paid job, built here, written
 * by the store in the same transaction as the payment change they belong
 * to.  Sign convention: amount > 0 debits an account, < 0 credits it;
 * every posting sums to zero, so the whole ledger does, per currency.
 *
 * Accounts (docs/PAYMENTS.md "Ledger"):
 *   provider:<name>:clearing       money the payment provider holds for us
 *   tenant:<id>:unearned           paid for, not printed yet (a liability)
 *   tenant:<id>:revenue            the printer owner's print fees
 *   operator:revenue               the service's fees
 * Postings of a job's payment:
 *   payment  (verified paid):  clearing +total, unearned -total
 *   charge   (job completed):  unearned +total, revenue -print, operator -service
 *   refund   (print failed):   unearned +total, clearing -total
 */
#ifndef NIMBUS_LEDGER_H
#define NIMBUS_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "store.h"

#define LEDGER_LINES_MAX 4

/* A posting with its own line storage (store_ledger_posting_t points in,
 * so use it where it was filled: a copy's pointers lead to the original).
 * A zero amount gets no line: a charge without service fee has two. */
typedef struct {
  store_ledger_posting_t posting;
  store_ledger_line_t lines[LEDGER_LINES_MAX];
  char currency[NIMBUS_CURRENCY_MAX];
  char memo[128]; /* "job <id> <kind> <order_id>" */
} ledger_posting_buf_t;

/* The three postings of a payment p (tenant p->tenant_id, job p->job_id). */
void ledger_payment_received(const nimbus_payment_t *p, ledger_posting_buf_t *out);
void ledger_charge(const nimbus_payment_t *p, ledger_posting_buf_t *out);
void ledger_refund(const nimbus_payment_t *p, ledger_posting_buf_t *out);

/* Do the lines sum to zero (and there is at least one, none is 0, and
 * none overflows)? */
bool ledger_balanced(const store_ledger_line_t *lines, int n);

#endif
