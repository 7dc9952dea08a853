/*
 * ledger.c: the double-entry postings of a paid job (ledger.h), built
 * from its payment row for the store to append in the same transaction as
 * the payment's change, and the balance check the store applies to every
 * posting.  Lines of amount 0 are never written: a posting lists only the
 * accounts that money moves between.
 */
#include "ledger.h"

#include <stdio.h>
#include <string.h>

#include "money.h"

/* Start a posting of kind for tenant_id / job_id, no payment. */
static void posting_begin_plain(nimbus_id_t tenant_id, nimbus_id_t job_id, const char *currency,
                                const char *kind, ledger_posting_buf_t *out) {
  memset(out, 0, sizeof *out);
  snprintf(out->currency, sizeof out->currency, "%s", currency);
  out->posting.tenant_id = tenant_id;
  out->posting.job_id = job_id;
  out->posting.kind = kind;
  out->posting.currency = out->currency;
  out->posting.memo = out->memo;
  out->posting.lines = out->lines;
}

/* Start a posting of kind for payment p: everything but the lines. */
static void posting_begin(const nimbus_payment_t *p, const char *kind, ledger_posting_buf_t *out) {
  posting_begin_plain(p->tenant_id, p->job_id, p->currency, kind, out);
  snprintf(out->memo, sizeof out->memo, "job %lld %s %s", (long long)p->job_id, kind, p->order_id);
  out->posting.payment_id = p->id;
}

/* Append a line; a zero amount is left out (ledger_balanced refuses zero
 * lines). */
static void posting_line(ledger_posting_buf_t *out, const char *account, int64_t amount) {
  if (amount == 0 || out->posting.nlines >= LEDGER_LINES_MAX) return;
  store_ledger_line_t *l = &out->lines[out->posting.nlines++];
  snprintf(l->account, sizeof l->account, "%s", account);
  l->amount = amount;
}

static void account_clearing(const nimbus_payment_t *p, char *buf, size_t len) {
  snprintf(buf, len, "provider:%s:clearing", p->provider);
}

static void account_tenant(const nimbus_payment_t *p, const char *which, char *buf, size_t len) {
  snprintf(buf, len, "tenant:%lld:%s", (long long)p->tenant_id, which);
}

/* Verified paid: the provider holds the money, owed to the payer until
 * the job prints. */
void ledger_payment_received(const nimbus_payment_t *p, ledger_posting_buf_t *out) {
  char acc[64];
  posting_begin(p, "payment", out);
  account_clearing(p, acc, sizeof acc);
  posting_line(out, acc, p->amount);
  account_tenant(p, "unearned", acc, sizeof acc);
  posting_line(out, acc, -p->amount);
}

/* Printed: the unearned total is split into the printer owner's print fee
 * and the operator's service fee.  Balances only when amount ==
 * print_fee + service_fee, as the payment row promises; the store's
 * ledger_balanced check refuses it otherwise. */
void ledger_charge(const nimbus_payment_t *p, ledger_posting_buf_t *out) {
  char acc[64];
  posting_begin(p, "charge", out);
  account_tenant(p, "unearned", acc, sizeof acc);
  posting_line(out, acc, p->amount);
  account_tenant(p, "revenue", acc, sizeof acc);
  posting_line(out, acc, -p->print_fee);
  posting_line(out, "operator:revenue", -p->service_fee);
}

/* Printing failed: the whole total goes back through the provider. */
void ledger_refund(const nimbus_payment_t *p, ledger_posting_buf_t *out) {
  char acc[64];
  posting_begin(p, "refund", out);
  account_tenant(p, "unearned", acc, sizeof acc);
  posting_line(out, acc, p->amount);
  account_clearing(p, acc, sizeof acc);
  posting_line(out, acc, -p->amount);
}

void ledger_destination(const nimbus_job_charge_t *c, nimbus_account_mode_t mode,
                        const char *provider, char *buf, size_t len) {
  if (!c->account_id)
    snprintf(buf, len, "provider:%s:clearing", provider);
  else
    snprintf(buf, len, "tenant:%lld:%s:%s", (long long)c->tenant_id,
             mode == NIMBUS_ACCOUNT_PREPAID ? "prepaid" : "receivable", c->account_code);
}

void ledger_job_charge(const nimbus_job_charge_t *c, const char *debit, ledger_posting_buf_t *out) {
  char acc[64];
  posting_begin_plain(c->tenant_id, c->job_id, c->currency, "charge", out);
  snprintf(out->memo, sizeof out->memo, "job %lld charge purpose %s", (long long)c->job_id,
           c->purpose_name);
  posting_line(out, debit, c->total);
  snprintf(acc, sizeof acc, "tenant:%lld:revenue", (long long)c->tenant_id);
  posting_line(out, acc, -c->print_fee);
  posting_line(out, "operator:revenue", -c->service_fee);
}

void ledger_topup(nimbus_id_t tenant_id, const char *code, const char *currency, int64_t amount,
                  const char *memo, ledger_posting_buf_t *out) {
  char acc[64];
  posting_begin_plain(tenant_id, 0, currency, "topup", out);
  snprintf(out->memo, sizeof out->memo, "%s", memo && memo[0] ? memo : "top-up");
  snprintf(acc, sizeof acc, "tenant:%lld:topups", (long long)tenant_id);
  posting_line(out, acc, amount);
  snprintf(acc, sizeof acc, "tenant:%lld:prepaid:%s", (long long)tenant_id, code);
  posting_line(out, acc, -amount);
}

/* An amount beyond MONEY_MAX is refused as well: no Nimbus amount is that
 * large, and it keeps the sum far from overflowing in any order. */
bool ledger_balanced(const store_ledger_line_t *lines, int n) {
  if (lines == NULL || n <= 0) return false;
  int64_t sum = 0;
  for (int i = 0; i < n; i++) {
    if (lines[i].amount == 0 || lines[i].amount > MONEY_MAX || lines[i].amount < -MONEY_MAX)
      return false;
    if (__builtin_add_overflow(sum, lines[i].amount, &sum)) return false;
  }
  return sum == 0;
}
