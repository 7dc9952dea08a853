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
 *
 * Billing by purpose (issue 13, docs/BILLING.md): a job charged on
 * completion to its purpose's destination, one "charge" posting:
 *   destination +total, tenant:<id>:revenue -print, operator:revenue -service
 * where the destination is
 *   tenant:<id>:prepaid:<code>     a prepaid account (a liability: its balance)
 *   tenant:<id>:receivable:<code>  an invoiced account (owed by the account holder)
 *   provider:<name>:clearing       a private purpose (charged to the user's saved method)
 * and a prepaid top-up, "topup":
 *   tenant:<id>:topups +amount, tenant:<id>:prepaid:<code> -amount
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

/* The charge posting of job charge c (state CHARGED figures) to debit
 * (one of the destinations above, ledger_destination()). */
void ledger_job_charge(const nimbus_job_charge_t *c, const char *debit, ledger_posting_buf_t *out);
/* The destination account of a charge: mode of its account (ignored when
 * private), provider the tenant's provider name (private). */
void ledger_destination(const nimbus_job_charge_t *c, nimbus_account_mode_t mode,
                        const char *provider, char *buf, size_t len);
/* A top-up (amount > 0) or take-back (< 0) of prepaid account code. */
void ledger_topup(nimbus_id_t tenant_id, const char *code, const char *currency, int64_t amount,
                  const char *memo, ledger_posting_buf_t *out);

/* Do the lines sum to zero (and there is at least one, none is 0, and
 * none overflows)? */
bool ledger_balanced(const store_ledger_line_t *lines, int n);

#endif
