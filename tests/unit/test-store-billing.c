/*
 * test-store-billing.c: the store contract for billing by purpose (issue
 * 13), run on every backend: billing accounts (insert, update, list,
 * top-ups with their posting, the invariants the database keeps), grants,
 * purposes (one default per user), saved payment methods, job charges
 * (hold with the job's release, compare-and-set updates moving the
 * account, the due list), store_job_set_account, the print log, tenant
 * isolation (another tenant's rows are NOT_FOUND), what user, printer and
 * tenant deletion leave, and concurrent holds on one prepaid account
 * (exactly as many succeed as the balance covers).
 * `test-store-billing` runs it on SQLite, `test-store-billing pg` (meson
 * test store-billing-pg) on the PostgreSQL database of
 * $NIMBUS_TEST_PG_URL.
 */
#include "store-fixture.h"

static int64_t audit_rows(fixture_t *fx, const char *action) {
  char sql[160];
  snprintf(sql, sizeof sql, "SELECT count(*) FROM audit WHERE action = '%s'", action);
  return db_int(fx, sql);
}

static int64_t ledger_rows(fixture_t *fx) {
  return db_int(fx, "SELECT count(*) FROM ledger_entries");
}

/* The sum of all ledger amounts: zero after every balanced posting. */
static int64_t ledger_sum(fixture_t *fx) {
  return db_int(fx, "SELECT coalesce(sum(amount), 0) FROM ledger_entries");
}

static nimbus_billing_account_t account_template(nimbus_id_t tenant, const char *code,
                                                 nimbus_account_mode_t mode, int64_t balance,
                                                 int64_t credit_limit) {
  nimbus_billing_account_t a = {
      .tenant_id = tenant, .mode = mode, .balance = balance, .credit_limit = credit_limit};
  snprintf(a.code, sizeof a.code, "%s", code);
  snprintf(a.name, sizeof a.name, "Account %s", code);
  return a;
}

static nimbus_billing_account_t make_account(store_t *st, nimbus_id_t tenant, const char *code,
                                             nimbus_account_mode_t mode, int64_t balance,
                                             int64_t credit_limit) {
  nimbus_billing_account_t a = account_template(tenant, code, mode, balance, credit_limit);
  assert_int_equal(store_account_insert(st, &a, NULL), STORE_OK);
  assert_true(a.id > 0);
  return a;
}

static nimbus_billing_account_t account_now(store_t *st, nimbus_id_t tenant, nimbus_id_t id) {
  nimbus_billing_account_t a;
  assert_int_equal(store_account_get(st, tenant, id, &a), STORE_OK);
  return a;
}

static bool account_cb(const nimbus_billing_account_t *a, void *ctx) {
  return collect_add(ctx, a->id, a->code);
}

static store_ledger_line_t topup_lines[2];
/* A top-up posting of amount for account code (lines live in topup_lines). */
static store_ledger_posting_t topup_posting(nimbus_id_t tenant, const char *code, int64_t amount) {
  snprintf(topup_lines[0].account, sizeof topup_lines[0].account, "tenant:%lld:cash",
           (long long)tenant);
  topup_lines[0].amount = amount;
  snprintf(topup_lines[1].account, sizeof topup_lines[1].account, "account:%s", code);
  topup_lines[1].amount = -amount;
  return (store_ledger_posting_t){.tenant_id = tenant,
                                  .kind = "topup",
                                  .currency = "JPY",
                                  .memo = "top-up",
                                  .lines = topup_lines,
                                  .nlines = 2};
}

/* ---- tenant policy ---- */

static void test_purpose_required(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a");
  nimbus_tenant_billing_t b = {.tenant_id = a, .purpose_required = true}, got;
  snprintf(b.currency, sizeof b.currency, "JPY");
  assert_int_equal(store_tenant_billing_put(st, &b, NULL), STORE_OK);
  assert_int_equal(store_tenant_billing_get(st, a, &got), STORE_OK);
  assert_true(got.purpose_required);
  assert_string_equal(got.currency, "JPY");
  b.purpose_required = false;
  assert_int_equal(store_tenant_billing_put(st, &b, NULL), STORE_OK);
  assert_int_equal(store_tenant_billing_get(st, a, &got), STORE_OK);
  assert_false(got.purpose_required);
}

/* ---- accounts ---- */

static void test_accounts(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");

  nimbus_billing_account_t inv = account_template(a, "CC-100", NIMBUS_ACCOUNT_INVOICED, 500, 0);
  inv.everyone = true;
  store_audit_t au = {
      .tenant_id = a, .actor = "admin", .action = "account-created", .id_key = "id"};
  assert_int_equal(store_account_insert(st, &inv, &au), STORE_OK);
  assert_true(inv.id > 0);
  assert_true(inv.created_at > 0);
  assert_int_equal(inv.balance, 0); /* an invoiced account has no balance */
  assert_int_equal(inv.held, 0);
  assert_int_equal(inv.charged, 0);
  assert_int_equal(audit_rows(fx, "account-created"), 1);
  char detail[64], want[64];
  db_text(fx, "SELECT detail FROM audit WHERE action = 'account-created'", detail, sizeof detail);
  snprintf(want, sizeof want, "id=%lld", (long long)inv.id);
  assert_string_equal(detail, want);

  nimbus_billing_account_t pre = make_account(st, a, "club", NIMBUS_ACCOUNT_PREPAID, 1000, 0);
  assert_int_equal(pre.balance, 1000);
  /* codes are unique per tenant */
  nimbus_billing_account_t dup = account_template(a, "club", NIMBUS_ACCOUNT_INVOICED, 0, 0);
  assert_int_equal(store_account_insert(st, &dup, &au), STORE_CONFLICT);
  assert_int_equal(audit_rows(fx, "account-created"), 1);
  nimbus_billing_account_t other = make_account(st, b, "club", NIMBUS_ACCOUNT_INVOICED, 0, 0);
  /* a prepaid account cannot start below zero */
  nimbus_billing_account_t neg = account_template(a, "neg", NIMBUS_ACCOUNT_PREPAID, -1, 0);
  assert_int_equal(store_account_insert(st, &neg, NULL), STORE_CONFLICT);
  nimbus_billing_account_t got;
  assert_int_equal(store_account_get_by_code(st, a, "neg", &got), STORE_NOT_FOUND);

  assert_int_equal(store_account_get(st, a, inv.id, &got), STORE_OK);
  assert_int_equal(got.tenant_id, a);
  assert_string_equal(got.code, "CC-100");
  assert_string_equal(got.name, "Account CC-100");
  assert_int_equal(got.mode, NIMBUS_ACCOUNT_INVOICED);
  assert_true(got.everyone);
  assert_false(got.restrict_printers);
  assert_int_equal(got.created_at, inv.created_at);
  assert_int_equal(got.closed_at, 0);
  assert_int_equal(store_account_get_by_code(st, a, "club", &got), STORE_OK);
  assert_int_equal(got.id, pre.id);
  assert_int_equal(got.mode, NIMBUS_ACCOUNT_PREPAID);
  assert_int_equal(got.balance, 1000);
  assert_int_equal(store_account_get_by_code(st, b, "club", &got), STORE_OK);
  assert_int_equal(got.id, other.id);

  /* another tenant's account is NOT_FOUND for every read and write */
  assert_int_equal(store_account_get(st, b, inv.id, &got), STORE_NOT_FOUND);
  assert_int_equal(store_account_get_by_code(st, b, "CC-100", &got), STORE_NOT_FOUND);
  nimbus_billing_account_t steal = inv;
  steal.tenant_id = b;
  snprintf(steal.name, sizeof steal.name, "stolen");
  assert_int_equal(store_account_update(st, &steal, NULL), STORE_NOT_FOUND);
  store_ledger_posting_t tp = topup_posting(b, "club", 100);
  assert_int_equal(store_account_topup(st, b, pre.id, 100, &tp, NULL, NULL), STORE_NOT_FOUND);
  assert_int_equal(ledger_rows(fx), 0);
  assert_int_equal(store_account_get(st, a, inv.id, &got), STORE_OK);
  assert_string_equal(got.name, "Account CC-100");

  /* update writes name, flags, limit and closed_at; never mode or money */
  nimbus_billing_account_t up = inv;
  snprintf(up.name, sizeof up.name, "Cost centre 100");
  up.everyone = false;
  up.restrict_printers = true;
  up.credit_limit = 5000;
  up.mode = NIMBUS_ACCOUNT_PREPAID;
  up.balance = 77;
  up.held = 5;
  up.charged = 9;
  store_audit_t uau = {.tenant_id = a, .actor = "admin", .action = "account-updated"};
  assert_int_equal(store_account_update(st, &up, &uau), STORE_OK);
  assert_int_equal(audit_rows(fx, "account-updated"), 1);
  /* read back */
  assert_int_equal(up.mode, NIMBUS_ACCOUNT_INVOICED);
  assert_int_equal(up.balance, 0);
  assert_int_equal(up.held, 0);
  assert_int_equal(up.charged, 0);
  assert_int_equal(up.created_at, inv.created_at);
  got = account_now(st, a, inv.id);
  assert_string_equal(got.name, "Cost centre 100");
  assert_false(got.everyone);
  assert_true(got.restrict_printers);
  assert_int_equal(got.credit_limit, 5000);
  assert_int_equal(got.mode, NIMBUS_ACCOUNT_INVOICED);
  assert_int_equal(got.balance, 0);

  /* list by code; closed ones only when asked */
  make_account(st, a, "alpha", NIMBUS_ACCOUNT_INVOICED, 0, 0);
  collect_t c = {0};
  assert_int_equal(store_account_list(st, a, false, account_cb, &c), STORE_OK);
  assert_int_equal(c.n, 3);
  assert_string_equal(c.names[0], "CC-100");
  assert_string_equal(c.names[1], "alpha");
  assert_string_equal(c.names[2], "club");
  up = account_now(st, a, pre.id);
  up.closed_at = 1234567;
  assert_int_equal(store_account_update(st, &up, NULL), STORE_OK);
  assert_int_equal(account_now(st, a, pre.id).closed_at, 1234567);
  c = (collect_t){0};
  assert_int_equal(store_account_list(st, a, false, account_cb, &c), STORE_OK);
  assert_int_equal(c.n, 2);
  assert_string_equal(c.names[1], "alpha");
  c = (collect_t){0};
  assert_int_equal(store_account_list(st, a, true, account_cb, &c), STORE_OK);
  assert_int_equal(c.n, 3);
  c = (collect_t){0};
  assert_int_equal(store_account_list(st, b, true, account_cb, &c), STORE_OK);
  assert_int_equal(c.n, 1);
  assert_int_equal(c.ids[0], other.id);
  c = (collect_t){.stop_after = 1};
  assert_int_equal(store_account_list(st, a, true, account_cb, &c), STORE_OK);
  assert_int_equal(c.n, 1);
}

static void test_topup(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a");
  nimbus_billing_account_t pre = make_account(st, a, "club", NIMBUS_ACCOUNT_PREPAID, 0, 0);
  nimbus_billing_account_t inv = make_account(st, a, "cc", NIMBUS_ACCOUNT_INVOICED, 0, 0);

  store_ledger_posting_t p = topup_posting(a, "club", 1500);
  store_audit_t au = {.tenant_id = a, .actor = "admin", .action = "account-topup"};
  nimbus_billing_account_t out = {0};
  assert_int_equal(store_account_topup(st, a, pre.id, 1500, &p, &au, &out), STORE_OK);
  assert_int_equal(out.id, pre.id);
  assert_int_equal(out.balance, 1500);
  assert_int_equal(account_now(st, a, pre.id).balance, 1500);
  assert_int_equal(ledger_rows(fx), 2);
  assert_int_equal(ledger_sum(fx), 0);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM ledger_postings WHERE kind = 'topup'"), 1);
  assert_int_equal(audit_rows(fx, "account-topup"), 1);
  /* without a posting, out NULL */
  assert_int_equal(store_account_topup(st, a, pre.id, 500, NULL, NULL, NULL), STORE_OK);
  assert_int_equal(account_now(st, a, pre.id).balance, 2000);
  /* taking back more than is there: CONFLICT, nothing written */
  p = topup_posting(a, "club", -2001);
  assert_int_equal(store_account_topup(st, a, pre.id, -2001, &p, &au, &out), STORE_CONFLICT);
  assert_int_equal(account_now(st, a, pre.id).balance, 2000);
  assert_int_equal(ledger_rows(fx), 2);
  assert_int_equal(audit_rows(fx, "account-topup"), 1);
  p = topup_posting(a, "club", -2000);
  assert_int_equal(store_account_topup(st, a, pre.id, -2000, &p, NULL, &out), STORE_OK);
  assert_int_equal(out.balance, 0);
  /* an invoiced account has no balance to top up */
  p = topup_posting(a, "cc", 100);
  assert_int_equal(store_account_topup(st, a, inv.id, 100, &p, NULL, NULL), STORE_CONFLICT);
  assert_int_equal(account_now(st, a, inv.id).balance, 0);
  assert_int_equal(ledger_rows(fx), 4);
  /* an unbalanced posting is refused before anything is written */
  store_ledger_line_t bad[2] = {{.account = "x", .amount = 10}, {.account = "y", .amount = -9}};
  store_ledger_posting_t bp = {
      .tenant_id = a, .kind = "topup", .currency = "JPY", .lines = bad, .nlines = 2};
  assert_int_equal(store_account_topup(st, a, pre.id, 10, &bp, NULL, NULL), STORE_ERROR);
  assert_int_equal(account_now(st, a, pre.id).balance, 0);
  /* an unknown account */
  assert_int_equal(store_account_topup(st, a, 999999, 10, NULL, NULL, NULL), STORE_NOT_FOUND);
}

/* ---- grants ---- */

typedef struct {
  int n;
  nimbus_account_grant_t g[16];
} grants_t;

static bool grant_cb(const nimbus_account_grant_t *g, void *ctx) {
  grants_t *s = ctx;
  if (s->n < 16) s->g[s->n] = *g;
  s->n++;
  return true;
}

static void test_grants(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");
  nimbus_id_t alice = make_user(st, a, "alice"), bob = make_user(st, a, "bob");
  nimbus_id_t carol = make_user(st, b, "carol");
  nimbus_id_t qa = make_queue(st, a, "main"), qb = make_queue(st, b, "main");
  nimbus_device_t pa = make_device(st, a, "front", &qa, 1, 1);
  nimbus_device_t pb = make_device(st, b, "back", &qb, 1, 2);
  nimbus_billing_account_t acc = make_account(st, a, "proj", NIMBUS_ACCOUNT_INVOICED, 0, 0);
  nimbus_billing_account_t accb = make_account(st, b, "proj", NIMBUS_ACCOUNT_INVOICED, 0, 0);

  nimbus_account_grant_t g = {.account_id = acc.id, .kind = NIMBUS_GRANT_USER, .ref_id = alice};
  store_audit_t au = {.tenant_id = a, .actor = "admin", .action = "grant-added"};
  assert_int_equal(store_account_grant_add(st, a, &g, &au), STORE_OK);
  assert_int_equal(audit_rows(fx, "grant-added"), 1);
  assert_int_equal(store_account_grant_add(st, a, &g, &au), STORE_CONFLICT);
  assert_int_equal(audit_rows(fx, "grant-added"), 1);
  nimbus_account_grant_t gp = {.account_id = acc.id, .kind = NIMBUS_GRANT_PRINTER, .ref_id = pa.id};
  assert_int_equal(store_account_grant_add(st, a, &gp, NULL), STORE_OK);
  nimbus_account_grant_t gb = {.account_id = acc.id, .kind = NIMBUS_GRANT_USER, .ref_id = bob};
  assert_int_equal(store_account_grant_add(st, a, &gb, NULL), STORE_OK);

  /* another tenant's user, printer or account: NOT_FOUND */
  nimbus_account_grant_t x = {.account_id = acc.id, .kind = NIMBUS_GRANT_USER, .ref_id = carol};
  assert_int_equal(store_account_grant_add(st, a, &x, NULL), STORE_NOT_FOUND);
  x = (nimbus_account_grant_t){.account_id = acc.id, .kind = NIMBUS_GRANT_PRINTER, .ref_id = pb.id};
  assert_int_equal(store_account_grant_add(st, a, &x, NULL), STORE_NOT_FOUND);
  x = (nimbus_account_grant_t){.account_id = accb.id, .kind = NIMBUS_GRANT_USER, .ref_id = alice};
  assert_int_equal(store_account_grant_add(st, a, &x, NULL), STORE_NOT_FOUND);
  x = (nimbus_account_grant_t){.account_id = acc.id, .kind = NIMBUS_GRANT_USER, .ref_id = alice};
  assert_int_equal(store_account_grant_add(st, b, &x, NULL), STORE_NOT_FOUND);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM account_grants"), 3);

  grants_t s = {0};
  assert_int_equal(store_account_grant_list(st, a, acc.id, 0, grant_cb, &s), STORE_OK);
  assert_int_equal(s.n, 3);
  int users = 0, printers = 0;
  for (int i = 0; i < s.n; i++) {
    assert_int_equal(s.g[i].account_id, acc.id);
    if (s.g[i].kind == NIMBUS_GRANT_USER) {
      users++;
      assert_true(s.g[i].ref_id == alice || s.g[i].ref_id == bob);
      assert_string_equal(s.g[i].ref_name, s.g[i].ref_id == alice ? "alice" : "bob");
    } else {
      printers++;
      assert_int_equal(s.g[i].kind, NIMBUS_GRANT_PRINTER);
      assert_int_equal(s.g[i].ref_id, pa.id);
      assert_string_equal(s.g[i].ref_name, "front");
    }
  }
  assert_int_equal(users, 2);
  assert_int_equal(printers, 1);
  s = (grants_t){0};
  assert_int_equal(store_account_grant_list(st, a, acc.id, NIMBUS_GRANT_PRINTER, grant_cb, &s),
                   STORE_OK);
  assert_int_equal(s.n, 1);
  assert_int_equal(s.g[0].ref_id, pa.id);
  /* another tenant sees none of them */
  s = (grants_t){0};
  assert_int_equal(store_account_grant_list(st, b, acc.id, 0, grant_cb, &s), STORE_OK);
  assert_int_equal(s.n, 0);

  bool yes = false;
  assert_int_equal(store_account_granted(st, a, acc.id, NIMBUS_GRANT_USER, alice, &yes), STORE_OK);
  assert_true(yes);
  /* a user grant is no printer grant (ids of users and printers may be equal) */
  assert_true(alice != pa.id || bob != pa.id);
  nimbus_id_t not_printer = alice != pa.id ? alice : bob;
  assert_int_equal(store_account_granted(st, a, acc.id, NIMBUS_GRANT_PRINTER, not_printer, &yes),
                   STORE_OK);
  assert_false(yes);
  assert_int_equal(store_account_granted(st, a, acc.id, NIMBUS_GRANT_USER, pa.id + 1000, &yes),
                   STORE_OK);
  assert_false(yes);
  assert_int_equal(store_account_granted(st, a, acc.id, NIMBUS_GRANT_PRINTER, pa.id, &yes),
                   STORE_OK);
  assert_true(yes);
  yes = true;
  assert_int_equal(store_account_granted(st, b, acc.id, NIMBUS_GRANT_USER, alice, &yes), STORE_OK);
  assert_false(yes);

  /* delete: NOT_FOUND for another tenant and when gone */
  assert_int_equal(store_account_grant_delete(st, b, &gb, NULL), STORE_NOT_FOUND);
  store_audit_t dau = {.tenant_id = a, .actor = "admin", .action = "grant-deleted"};
  assert_int_equal(store_account_grant_delete(st, a, &gb, &dau), STORE_OK);
  assert_int_equal(audit_rows(fx, "grant-deleted"), 1);
  assert_int_equal(store_account_grant_delete(st, a, &gb, &dau), STORE_NOT_FOUND);
  assert_int_equal(audit_rows(fx, "grant-deleted"), 1);
  assert_int_equal(store_account_granted(st, a, acc.id, NIMBUS_GRANT_USER, bob, &yes), STORE_OK);
  assert_false(yes);

  /* a deleted user's or printer's grants go with it */
  assert_int_equal(store_user_delete(st, a, alice), STORE_OK);
  assert_int_equal(store_device_delete(st, a, pa.id, NULL, 0, NULL, 0, NULL), STORE_OK);
  s = (grants_t){0};
  assert_int_equal(store_account_grant_list(st, a, acc.id, 0, grant_cb, &s), STORE_OK);
  assert_int_equal(s.n, 0);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM account_grants"), 0);
}

/* ---- purposes ---- */

static nimbus_purpose_t purpose_template(nimbus_id_t tenant, nimbus_id_t user, const char *name,
                                         nimbus_id_t account, bool is_default) {
  nimbus_purpose_t p = {
      .tenant_id = tenant, .user_id = user, .account_id = account, .is_default = is_default};
  snprintf(p.name, sizeof p.name, "%s", name);
  snprintf(p.defaults, sizeof p.defaults, "{\"copies\":2}");
  return p;
}

static bool purpose_cb(const nimbus_purpose_t *p, void *ctx) {
  return collect_add(ctx, p->id, p->name);
}

static bool count_default_cb(const nimbus_purpose_t *p, void *ctx) {
  if (p->is_default) ++*(int *)ctx;
  return true;
}

/* How many of a tenant's purposes are a default (of any user). */
static int defaults_in(store_t *st, nimbus_id_t tenant) {
  int n = 0;
  assert_int_equal(store_purpose_list(st, tenant, 0, count_default_cb, &n), STORE_OK);
  return n;
}

static nimbus_id_t default_of(store_t *st, nimbus_id_t tenant, nimbus_id_t user) {
  nimbus_purpose_t p;
  store_status_t s = store_purpose_get_default(st, tenant, user, &p);
  if (s == STORE_NOT_FOUND) return 0;
  assert_int_equal(s, STORE_OK);
  assert_true(p.is_default);
  return p.id;
}

static void test_purposes(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");
  nimbus_id_t alice = make_user(st, a, "alice"), bob = make_user(st, a, "bob");
  nimbus_id_t carol = make_user(st, b, "carol");
  nimbus_billing_account_t acc = make_account(st, a, "proj-x", NIMBUS_ACCOUNT_INVOICED, 0, 0);
  nimbus_billing_account_t accb = make_account(st, b, "proj-b", NIMBUS_ACCOUNT_INVOICED, 0, 0);

  assert_int_equal(default_of(st, a, alice), 0);
  nimbus_purpose_t own = purpose_template(a, alice, "Personal", 0, true);
  store_audit_t au = {
      .tenant_id = a, .actor = "alice", .action = "purpose-created", .id_key = "id"};
  assert_int_equal(store_purpose_insert(st, &own, &au), STORE_OK);
  assert_true(own.id > 0);
  assert_true(own.created_at > 0);
  assert_int_equal(audit_rows(fx, "purpose-created"), 1);
  assert_int_equal(default_of(st, a, alice), own.id);

  /* a new default takes over in the same transaction */
  nimbus_purpose_t work = purpose_template(a, alice, "Client X", acc.id, true);
  assert_int_equal(store_purpose_insert(st, &work, NULL), STORE_OK);
  assert_int_equal(default_of(st, a, alice), work.id);
  nimbus_purpose_t got;
  assert_int_equal(store_purpose_get(st, a, own.id, &got), STORE_OK);
  assert_false(got.is_default);
  assert_int_equal(got.account_id, 0);
  assert_string_equal(got.account_code, "");
  assert_string_equal(got.defaults, "{\"copies\":2}");
  assert_int_equal(got.user_id, alice);
  assert_int_equal(got.tenant_id, a);
  assert_int_equal(store_purpose_get(st, a, work.id, &got), STORE_OK);
  assert_int_equal(got.account_id, acc.id);
  assert_string_equal(got.account_code, "proj-x");
  assert_string_equal(got.name, "Client X");
  assert_int_equal(defaults_in(st, a), 1);

  /* names are unique per user; another user may reuse one */
  nimbus_purpose_t dup = purpose_template(a, alice, "Personal", 0, false);
  assert_int_equal(store_purpose_insert(st, &dup, NULL), STORE_CONFLICT);
  nimbus_purpose_t bobs = purpose_template(a, bob, "Personal", 0, true);
  assert_int_equal(store_purpose_insert(st, &bobs, NULL), STORE_OK);
  assert_int_equal(default_of(st, a, bob), bobs.id);
  assert_int_equal(default_of(st, a, alice), work.id); /* untouched by bob's */
  /* a failed insert does not take the default away */
  dup.is_default = true;
  assert_int_equal(store_purpose_insert(st, &dup, NULL), STORE_CONFLICT);
  assert_int_equal(default_of(st, a, alice), work.id);

  /* another tenant's account or user: NOT_FOUND */
  nimbus_purpose_t bad = purpose_template(a, alice, "Other", accb.id, false);
  assert_int_equal(store_purpose_insert(st, &bad, NULL), STORE_NOT_FOUND);
  bad = purpose_template(a, carol, "Other", 0, false);
  assert_int_equal(store_purpose_insert(st, &bad, NULL), STORE_NOT_FOUND);
  bad = purpose_template(b, alice, "Other", 0, false);
  assert_int_equal(store_purpose_insert(st, &bad, NULL), STORE_NOT_FOUND);

  assert_int_equal(store_purpose_get_by_name(st, a, alice, "Client X", &got), STORE_OK);
  assert_int_equal(got.id, work.id);
  assert_int_equal(store_purpose_get_by_name(st, a, bob, "Client X", &got), STORE_NOT_FOUND);
  assert_int_equal(store_purpose_get_by_name(st, a, bob, "Personal", &got), STORE_OK);
  assert_int_equal(got.id, bobs.id);
  /* isolation */
  assert_int_equal(store_purpose_get(st, b, work.id, &got), STORE_NOT_FOUND);
  assert_int_equal(store_purpose_get_by_name(st, b, alice, "Client X", &got), STORE_NOT_FOUND);
  assert_int_equal(store_purpose_get_default(st, b, alice, &got), STORE_NOT_FOUND);
  nimbus_purpose_t steal = work;
  steal.tenant_id = b;
  assert_int_equal(store_purpose_update(st, &steal, NULL), STORE_NOT_FOUND);
  assert_int_equal(store_purpose_delete(st, b, work.id, NULL), STORE_NOT_FOUND);

  /* update: back to the first as default; rename; account change */
  nimbus_purpose_t up = own;
  up.is_default = true;
  snprintf(up.name, sizeof up.name, "Mine");
  up.account_id = acc.id;
  snprintf(up.defaults, sizeof up.defaults, "{\"sides\":\"two-sided-long-edge\"}");
  store_audit_t uau = {.tenant_id = a, .actor = "alice", .action = "purpose-updated"};
  assert_int_equal(store_purpose_update(st, &up, &uau), STORE_OK);
  assert_int_equal(audit_rows(fx, "purpose-updated"), 1);
  assert_true(up.updated_at >= own.created_at);
  assert_int_equal(default_of(st, a, alice), own.id);
  assert_int_equal(default_of(st, a, bob), bobs.id);
  assert_int_equal(store_purpose_get(st, a, own.id, &got), STORE_OK);
  assert_string_equal(got.name, "Mine");
  assert_int_equal(got.account_id, acc.id);
  assert_string_equal(got.account_code, "proj-x");
  assert_string_equal(got.defaults, "{\"sides\":\"two-sided-long-edge\"}");
  assert_int_equal(got.created_at, own.created_at);
  assert_int_equal(defaults_in(st, a), 2);
  /* back to private; rename onto a taken name is a conflict (nothing written) */
  up.account_id = 0;
  assert_int_equal(store_purpose_update(st, &up, NULL), STORE_OK);
  assert_int_equal(store_purpose_get(st, a, own.id, &got), STORE_OK);
  assert_int_equal(got.account_id, 0);
  assert_string_equal(got.account_code, "");
  nimbus_purpose_t clash = work;
  snprintf(clash.name, sizeof clash.name, "Mine");
  clash.is_default = true;
  assert_int_equal(store_purpose_update(st, &clash, NULL), STORE_CONFLICT);
  assert_int_equal(default_of(st, a, alice), own.id);
  clash = work;
  clash.account_id = accb.id;
  assert_int_equal(store_purpose_update(st, &clash, NULL), STORE_NOT_FOUND);
  /* clearing the default leaves the user without one */
  up.is_default = false;
  assert_int_equal(store_purpose_update(st, &up, NULL), STORE_OK);
  assert_int_equal(default_of(st, a, alice), 0);

  collect_t c = {0};
  assert_int_equal(store_purpose_list(st, a, alice, purpose_cb, &c), STORE_OK);
  assert_int_equal(c.n, 2);
  assert_string_equal(c.names[0], "Client X");
  assert_string_equal(c.names[1], "Mine");
  c = (collect_t){0};
  assert_int_equal(store_purpose_list(st, a, 0, purpose_cb, &c), STORE_OK);
  assert_int_equal(c.n, 3);
  c = (collect_t){0};
  assert_int_equal(store_purpose_list(st, b, 0, purpose_cb, &c), STORE_OK);
  assert_int_equal(c.n, 0);
  c = (collect_t){0};
  assert_int_equal(store_purpose_list(st, b, alice, purpose_cb, &c), STORE_OK);
  assert_int_equal(c.n, 0);

  store_audit_t dau = {.tenant_id = a, .actor = "alice", .action = "purpose-deleted"};
  assert_int_equal(store_purpose_delete(st, a, work.id, &dau), STORE_OK);
  assert_int_equal(audit_rows(fx, "purpose-deleted"), 1);
  assert_int_equal(store_purpose_get(st, a, work.id, &got), STORE_NOT_FOUND);
  assert_int_equal(store_purpose_delete(st, a, work.id, &dau), STORE_NOT_FOUND);
  assert_int_equal(audit_rows(fx, "purpose-deleted"), 1);

  /* a deleted user's purposes go with them */
  assert_int_equal(store_user_delete(st, a, bob), STORE_OK);
  assert_int_equal(store_purpose_get(st, a, bobs.id, &got), STORE_NOT_FOUND);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM purposes"), 1);
}

/* ---- saved payment methods ---- */

static nimbus_payment_method_t method_template(nimbus_id_t tenant, nimbus_id_t user,
                                               const char *setup_id) {
  nimbus_payment_method_t m = {
      .tenant_id = tenant, .user_id = user, .state = NIMBUS_METHOD_PENDING};
  snprintf(m.provider, sizeof m.provider, "linepay");
  snprintf(m.setup_id, sizeof m.setup_id, "%s", setup_id);
  snprintf(m.setup_url, sizeof m.setup_url, "https://pay.example/setup/%s", setup_id);
  return m;
}

static void test_payment_methods(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");
  nimbus_id_t alice = make_user(st, a, "alice"), bob = make_user(st, a, "bob");
  nimbus_id_t carol = make_user(st, b, "carol");

  nimbus_payment_method_t got;
  assert_int_equal(store_payment_method_get(st, a, alice, &got), STORE_NOT_FOUND);
  nimbus_payment_method_t m = method_template(a, alice, "setup-1");
  store_audit_t au = {.tenant_id = a, .actor = "alice", .action = "method-started"};
  assert_int_equal(store_payment_method_put(st, &m, &au), STORE_OK);
  assert_true(m.id > 0);
  assert_true(m.created_at > 0);
  assert_int_equal(m.updated_at, m.created_at);
  assert_int_equal(audit_rows(fx, "method-started"), 1);
  assert_int_equal(store_payment_method_get(st, a, alice, &got), STORE_OK);
  assert_int_equal(got.id, m.id);
  assert_int_equal(got.state, NIMBUS_METHOD_PENDING);
  assert_string_equal(got.provider, "linepay");
  assert_string_equal(got.setup_url, "https://pay.example/setup/setup-1");
  assert_int_equal(got.sealed_len, 0);
  assert_int_equal(store_payment_method_get_by_setup(st, "setup-1", &got), STORE_OK);
  assert_int_equal(got.user_id, alice);
  assert_int_equal(got.tenant_id, a);
  assert_int_equal(store_payment_method_get_by_setup(st, "nope", &got), STORE_NOT_FOUND);
  /* isolation: another tenant's user, another tenant reading */
  assert_int_equal(store_payment_method_get(st, b, alice, &got), STORE_NOT_FOUND);
  nimbus_payment_method_t x = method_template(a, carol, "setup-x");
  assert_int_equal(store_payment_method_put(st, &x, NULL), STORE_NOT_FOUND);
  x = method_template(b, alice, "setup-x");
  assert_int_equal(store_payment_method_put(st, &x, NULL), STORE_NOT_FOUND);
  /* a setup id is unique */
  x = method_template(a, bob, "setup-1");
  assert_int_equal(store_payment_method_put(st, &x, NULL), STORE_CONFLICT);
  assert_int_equal(store_payment_method_get(st, a, bob, &got), STORE_NOT_FOUND);

  /* compare-and-set: registration done */
  nimbus_payment_method_t done = m;
  done.state = NIMBUS_METHOD_ACTIVE;
  snprintf(done.setup_tx, sizeof done.setup_tx, "2026120400000000001");
  done.setup_url[0] = '\0';
  for (int i = 0; i < 80; i++) done.sealed[i] = (unsigned char)(i * 13); /* zeros inside */
  done.sealed_len = 80;
  snprintf(done.display, sizeof done.display, "LINE Pay");
  nimbus_payment_method_t wrong = done;
  assert_int_equal(store_payment_method_update(st, &wrong, NIMBUS_METHOD_ACTIVE, NULL),
                   STORE_CONFLICT);
  wrong.tenant_id = b;
  assert_int_equal(store_payment_method_update(st, &wrong, NIMBUS_METHOD_PENDING, NULL),
                   STORE_NOT_FOUND);
  store_audit_t uau = {.tenant_id = a, .actor = "alice", .action = "method-active"};
  assert_int_equal(store_payment_method_update(st, &done, NIMBUS_METHOD_PENDING, &uau), STORE_OK);
  assert_int_equal(audit_rows(fx, "method-active"), 1);
  assert_int_equal(store_payment_method_get(st, a, alice, &got), STORE_OK);
  assert_int_equal(got.state, NIMBUS_METHOD_ACTIVE);
  assert_string_equal(got.setup_tx, "2026120400000000001");
  assert_string_equal(got.setup_url, "");
  assert_string_equal(got.display, "LINE Pay");
  assert_int_equal(got.sealed_len, 80);
  assert_memory_equal(got.sealed, done.sealed, 80);
  assert_int_equal(store_payment_method_update(st, &done, NIMBUS_METHOD_PENDING, &uau),
                   STORE_CONFLICT);
  assert_int_equal(audit_rows(fx, "method-active"), 1);

  /* a new registration replaces the old one */
  nimbus_payment_method_t again = method_template(a, alice, "setup-2");
  assert_int_equal(store_payment_method_put(st, &again, NULL), STORE_OK);
  assert_int_equal(store_payment_method_get(st, a, alice, &got), STORE_OK);
  assert_string_equal(got.setup_id, "setup-2");
  assert_int_equal(got.state, NIMBUS_METHOD_PENDING);
  assert_int_equal(got.sealed_len, 0);
  assert_int_equal(store_payment_method_get_by_setup(st, "setup-1", &got), STORE_NOT_FOUND);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM payment_methods"), 1);
  /* the old setup id is free again */
  x = method_template(a, bob, "setup-1");
  assert_int_equal(store_payment_method_put(st, &x, NULL), STORE_OK);

  assert_int_equal(store_payment_method_delete(st, b, alice, NULL), STORE_NOT_FOUND);
  store_audit_t dau = {.tenant_id = a, .actor = "alice", .action = "method-deleted"};
  assert_int_equal(store_payment_method_delete(st, a, alice, &dau), STORE_OK);
  assert_int_equal(audit_rows(fx, "method-deleted"), 1);
  assert_int_equal(store_payment_method_get(st, a, alice, &got), STORE_NOT_FOUND);
  assert_int_equal(store_payment_method_delete(st, a, alice, &dau), STORE_NOT_FOUND);
  assert_int_equal(audit_rows(fx, "method-deleted"), 1);
  /* a deleted user's method goes with them */
  assert_int_equal(store_user_delete(st, a, bob), STORE_OK);
  assert_int_equal(store_payment_method_get_by_setup(st, "setup-1", &got), STORE_NOT_FOUND);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM payment_methods"), 0);
}

/* ---- charges ---- */

static nimbus_job_charge_t charge_template(nimbus_id_t tenant, nimbus_id_t job, nimbus_id_t user,
                                           const nimbus_purpose_t *p, int64_t hold) {
  nimbus_job_charge_t c = {.job_id = job,
                           .tenant_id = tenant,
                           .user_id = user,
                           .purpose_id = p ? p->id : 0,
                           .account_id = p ? p->account_id : 0,
                           .state = NIMBUS_CHARGE_HELD,
                           .hold = hold};
  if (p) snprintf(c.purpose_name, sizeof c.purpose_name, "%s", p->name);
  snprintf(c.currency, sizeof c.currency, "JPY");
  return c;
}

static store_job_change_t release_change(nimbus_id_t job) {
  return (store_job_change_t){.job_id = job,
                              .expected = NIMBUS_JOB_HELD,
                              .next = NIMBUS_JOB_FETCHABLE,
                              .event = "job-released",
                              .detail = "purpose"};
}

static nimbus_job_state_t job_state(store_t *st, nimbus_id_t tenant, nimbus_id_t job) {
  nimbus_job_t j;
  assert_int_equal(store_job_get(st, tenant, job, &j), STORE_OK);
  return j.state;
}

/* A purpose of user for account (0: private), inserted. */
static nimbus_purpose_t make_purpose(store_t *st, nimbus_id_t tenant, nimbus_id_t user,
                                     const char *name, nimbus_id_t account) {
  nimbus_purpose_t p = purpose_template(tenant, user, name, account, false);
  assert_int_equal(store_purpose_insert(st, &p, NULL), STORE_OK);
  return p;
}

static void test_charge_hold(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");
  nimbus_id_t alice = make_user(st, a, "alice");
  nimbus_id_t q = make_queue(st, a, "main"), qb = make_queue(st, b, "main");
  nimbus_billing_account_t acc = make_account(st, a, "club", NIMBUS_ACCOUNT_PREPAID, 1000, 0);
  nimbus_purpose_t p = make_purpose(st, a, alice, "Club", acc.id);
  nimbus_id_t j1 = make_job(st, a, q, alice, NIMBUS_JOB_HELD);
  nimbus_id_t j2 = make_job(st, a, q, alice, NIMBUS_JOB_HELD);
  nimbus_id_t j3 = make_job(st, a, q, alice, NIMBUS_JOB_HELD);
  nimbus_id_t jb = make_job(st, b, qb, 0, NIMBUS_JOB_HELD);

  /* held with the release, the account's held moved */
  nimbus_job_charge_t c = charge_template(a, j1, alice, &p, 400);
  store_job_change_t rel = release_change(j1);
  store_audit_t au = {.tenant_id = a, .actor = "panel", .action = "charge-held"};
  store_charge_refusal_t why = 0;
  assert_int_equal(store_charge_hold(st, &c, &rel, &au, &why), STORE_OK);
  assert_true(c.created_at > 0);
  assert_int_equal(c.updated_at, c.created_at);
  assert_int_equal(audit_rows(fx, "charge-held"), 1);
  assert_int_equal(job_state(st, a, j1), NIMBUS_JOB_FETCHABLE);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM job_events WHERE event = 'job-released'"), 1);
  nimbus_billing_account_t now = account_now(st, a, acc.id);
  assert_int_equal(now.held, 400);
  assert_int_equal(now.balance, 1000);
  nimbus_job_charge_t got;
  assert_int_equal(store_charge_get(st, a, j1, &got), STORE_OK);
  assert_int_equal(got.job_id, j1);
  assert_int_equal(got.tenant_id, a);
  assert_int_equal(got.user_id, alice);
  assert_int_equal(got.purpose_id, p.id);
  assert_string_equal(got.purpose_name, "Club");
  assert_int_equal(got.account_id, acc.id);
  assert_string_equal(got.account_code, "club");
  assert_int_equal(got.state, NIMBUS_CHARGE_HELD);
  assert_string_equal(got.currency, "JPY");
  assert_int_equal(got.hold, 400);
  assert_int_equal(got.created_at, c.created_at);
  /* isolation */
  assert_int_equal(store_charge_get(st, b, j1, &got), STORE_NOT_FOUND);

  /* the job already has a held charge: JOB_CHANGED, nothing written */
  nimbus_job_charge_t again = charge_template(a, j1, alice, &p, 100);
  why = 0;
  assert_int_equal(store_charge_hold(st, &again, NULL, &au, &why), STORE_CONFLICT);
  assert_int_equal(why, STORE_CHARGE_JOB_CHANGED);
  assert_int_equal(account_now(st, a, acc.id).held, 400);
  assert_int_equal(audit_rows(fx, "charge-held"), 1);

  /* more than is left: LIMIT, nothing written (job still held, no row) */
  nimbus_job_charge_t big = charge_template(a, j2, alice, &p, 601);
  store_job_change_t rel2 = release_change(j2);
  why = 0;
  assert_int_equal(store_charge_hold(st, &big, &rel2, &au, &why), STORE_CONFLICT);
  assert_int_equal(why, STORE_CHARGE_LIMIT);
  assert_int_equal(job_state(st, a, j2), NIMBUS_JOB_HELD);
  assert_int_equal(store_charge_get(st, a, j2, &got), STORE_NOT_FOUND);
  assert_int_equal(account_now(st, a, acc.id).held, 400);
  assert_int_equal(audit_rows(fx, "charge-held"), 1);

  /* the release's compare fails: JOB_CHANGED, nothing written */
  nimbus_job_charge_t fits = charge_template(a, j2, alice, &p, 600);
  store_job_change_t stale = release_change(j2);
  stale.expected = NIMBUS_JOB_RECEIVED;
  why = 0;
  assert_int_equal(store_charge_hold(st, &fits, &stale, NULL, &why), STORE_CONFLICT);
  assert_int_equal(why, STORE_CHARGE_JOB_CHANGED);
  assert_int_equal(account_now(st, a, acc.id).held, 400);
  assert_int_equal(store_charge_get(st, a, j2, &got), STORE_NOT_FOUND);
  /* exactly what is left fits */
  why = 0;
  assert_int_equal(store_charge_hold(st, &fits, &rel2, NULL, &why), STORE_OK);
  now = account_now(st, a, acc.id);
  assert_int_equal(now.held, 1000);
  assert_int_equal(now.balance - now.held, 0);
  assert_int_equal(job_state(st, a, j2), NIMBUS_JOB_FETCHABLE);

  /* another tenant's job, or the account from another tenant: NOT_FOUND */
  nimbus_job_charge_t cross = charge_template(a, jb, alice, NULL, 0);
  assert_int_equal(store_charge_hold(st, &cross, NULL, NULL, &why), STORE_NOT_FOUND);
  cross = charge_template(b, jb, 0, &p, 0);
  assert_int_equal(store_charge_hold(st, &cross, NULL, NULL, &why), STORE_NOT_FOUND);
  assert_int_equal(store_charge_get(st, b, jb, &got), STORE_NOT_FOUND);

  /* a closed account refuses new holds, even of zero */
  nimbus_billing_account_t closing = account_now(st, a, acc.id);
  closing.closed_at = (int64_t)time(NULL);
  assert_int_equal(store_account_update(st, &closing, NULL), STORE_OK);
  nimbus_job_charge_t late = charge_template(a, j3, alice, &p, 0);
  store_job_change_t rel3 = release_change(j3);
  why = 0;
  assert_int_equal(store_charge_hold(st, &late, &rel3, NULL, &why), STORE_CONFLICT);
  assert_int_equal(why, STORE_CHARGE_ACCOUNT_CLOSED);
  assert_int_equal(job_state(st, a, j3), NIMBUS_JOB_HELD);
  assert_int_equal(store_charge_get(st, a, j3, &got), STORE_NOT_FOUND);

  /* private (account 0): no account moves */
  nimbus_purpose_t priv = make_purpose(st, a, alice, "Me", 0);
  nimbus_job_charge_t pc = charge_template(a, j3, alice, &priv, 0);
  assert_int_equal(store_charge_hold(st, &pc, &rel3, NULL, &why), STORE_OK);
  assert_int_equal(store_charge_get(st, a, j3, &got), STORE_OK);
  assert_int_equal(got.account_id, 0);
  assert_string_equal(got.account_code, "");
  assert_string_equal(got.purpose_name, "Me");
  assert_int_equal(account_now(st, a, acc.id).held, 1000);
}

static void test_charge_update(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");
  nimbus_id_t alice = make_user(st, a, "alice");
  nimbus_id_t q = make_queue(st, a, "main");
  nimbus_billing_account_t acc = make_account(st, a, "club", NIMBUS_ACCOUNT_PREPAID, 1000, 0);
  nimbus_purpose_t p = make_purpose(st, a, alice, "Club", acc.id);
  nimbus_id_t j1 = make_job(st, a, q, alice, NIMBUS_JOB_HELD);
  nimbus_id_t j2 = make_job(st, a, q, alice, NIMBUS_JOB_HELD);
  nimbus_job_charge_t c1 = charge_template(a, j1, alice, &p, 400);
  nimbus_job_charge_t c2 = charge_template(a, j2, alice, &p, 300);
  store_job_change_t r1 = release_change(j1), r2 = release_change(j2);
  assert_int_equal(store_charge_hold(st, &c1, &r1, NULL, NULL), STORE_OK);
  assert_int_equal(store_charge_hold(st, &c2, &r2, NULL, NULL), STORE_OK);
  assert_int_equal(account_now(st, a, acc.id).held, 700);

  /* charged: hold released, the real charge taken, a posting written */
  nimbus_job_charge_t done = c1;
  done.state = NIMBUS_CHARGE_CHARGED;
  done.print_fee = 300;
  done.service_fee = 50;
  done.total = 350;
  done.impressions = 6;
  done.charged_at = 1700000000;
  snprintf(done.reason, sizeof done.reason, "printed");
  store_account_delta_t d = {.held = -400, .balance = -350};
  store_ledger_line_t lines[] = {
      {.account = "account:club", .amount = 350},
      {.account = "tenant:1:revenue", .amount = -300},
      {.account = "operator:revenue", .amount = -50},
  };
  store_ledger_posting_t post = {.tenant_id = a,
                                 .job_id = j1,
                                 .kind = "charge",
                                 .currency = "JPY",
                                 .lines = lines,
                                 .nlines = 3};
  store_audit_t au = {.tenant_id = a, .actor = "system", .action = "job-charged"};
  store_charge_refusal_t why = 0;

  /* wrong state compared: JOB_CHANGED, nothing written */
  assert_int_equal(store_charge_update(st, &done, NIMBUS_CHARGE_CHARGING, &d, &post, &au, &why),
                   STORE_CONFLICT);
  assert_int_equal(why, STORE_CHARGE_JOB_CHANGED);
  assert_int_equal(ledger_rows(fx), 0);
  assert_int_equal(audit_rows(fx, "job-charged"), 0);
  assert_int_equal(account_now(st, a, acc.id).held, 700);
  /* another tenant: NOT_FOUND */
  nimbus_job_charge_t steal = done;
  steal.tenant_id = b;
  assert_int_equal(store_charge_update(st, &steal, NIMBUS_CHARGE_HELD, &d, &post, NULL, &why),
                   STORE_NOT_FOUND);
  assert_int_equal(ledger_rows(fx), 0);

  assert_int_equal(store_charge_update(st, &done, NIMBUS_CHARGE_HELD, &d, &post, &au, &why),
                   STORE_OK);
  assert_true(done.updated_at >= done.created_at);
  nimbus_billing_account_t now = account_now(st, a, acc.id);
  assert_int_equal(now.held, 300);
  assert_int_equal(now.balance, 650);
  assert_int_equal(ledger_rows(fx), 3);
  assert_int_equal(ledger_sum(fx), 0);
  assert_int_equal(audit_rows(fx, "job-charged"), 1);
  nimbus_job_charge_t got;
  assert_int_equal(store_charge_get(st, a, j1, &got), STORE_OK);
  assert_int_equal(got.state, NIMBUS_CHARGE_CHARGED);
  assert_int_equal(got.print_fee, 300);
  assert_int_equal(got.service_fee, 50);
  assert_int_equal(got.total, 350);
  assert_int_equal(got.impressions, 6);
  assert_int_equal(got.charged_at, 1700000000);
  assert_int_equal(got.hold, 400); /* the hold as placed stays on record */
  assert_string_equal(got.reason, "printed");
  /* the same change again: the compare fails */
  assert_int_equal(store_charge_update(st, &done, NIMBUS_CHARGE_HELD, &d, &post, &au, &why),
                   STORE_CONFLICT);
  assert_int_equal(ledger_rows(fx), 3);

  /* a delta that would overdraw: LIMIT, nothing written */
  nimbus_job_charge_t over = c2;
  over.state = NIMBUS_CHARGE_CHARGED;
  over.total = 951;
  store_account_delta_t od = {.held = -300, .balance = -951};
  why = 0;
  assert_int_equal(store_charge_update(st, &over, NIMBUS_CHARGE_HELD, &od, NULL, NULL, &why),
                   STORE_CONFLICT);
  assert_int_equal(why, STORE_CHARGE_LIMIT);
  assert_int_equal(store_charge_get(st, a, j2, &got), STORE_OK);
  assert_int_equal(got.state, NIMBUS_CHARGE_HELD);
  now = account_now(st, a, acc.id);
  assert_int_equal(now.held, 300);
  assert_int_equal(now.balance, 650);
  /* held never below zero */
  store_account_delta_t neg = {.held = -301};
  nimbus_job_charge_t rel = c2;
  rel.state = NIMBUS_CHARGE_RELEASED;
  why = 0;
  assert_int_equal(store_charge_update(st, &rel, NIMBUS_CHARGE_HELD, &neg, NULL, NULL, &why),
                   STORE_CONFLICT);
  assert_int_equal(why, STORE_CHARGE_LIMIT);

  /* released (the job was canceled): the hold goes back */
  store_account_delta_t back = {.held = -300};
  snprintf(rel.reason, sizeof rel.reason, "job canceled");
  assert_int_equal(store_charge_update(st, &rel, NIMBUS_CHARGE_HELD, &back, NULL, NULL, &why),
                   STORE_OK);
  now = account_now(st, a, acc.id);
  assert_int_equal(now.held, 0);
  assert_int_equal(now.balance, 650);
  /* a released charge is replaced by a new hold */
  assert_int_equal(job_cas(st, a, j2, NIMBUS_JOB_FETCHABLE, NIMBUS_JOB_HELD, "job-held", NULL),
                   STORE_OK);
  nimbus_job_charge_t again = charge_template(a, j2, alice, &p, 650);
  assert_int_equal(store_charge_hold(st, &again, &r2, NULL, &why), STORE_OK);
  assert_int_equal(store_charge_get(st, a, j2, &got), STORE_OK);
  assert_int_equal(got.state, NIMBUS_CHARGE_HELD);
  assert_int_equal(got.hold, 650);
  assert_string_equal(got.reason, "");
  assert_int_equal(account_now(st, a, acc.id).held, 650);

  /* a closed account still settles what it held */
  nimbus_billing_account_t closing = account_now(st, a, acc.id);
  closing.closed_at = (int64_t)time(NULL);
  assert_int_equal(store_account_update(st, &closing, NULL), STORE_OK);
  nimbus_job_charge_t fin = again;
  fin.state = NIMBUS_CHARGE_CHARGED;
  fin.total = 650;
  store_account_delta_t fd = {.held = -650, .balance = -650};
  assert_int_equal(store_charge_update(st, &fin, NIMBUS_CHARGE_HELD, &fd, NULL, NULL, &why),
                   STORE_OK);
  now = account_now(st, a, acc.id);
  assert_int_equal(now.held, 0);
  assert_int_equal(now.balance, 0);

  /* private: charging, declined, retried */
  nimbus_purpose_t priv = make_purpose(st, a, alice, "Me", 0);
  nimbus_id_t j3 = make_job(st, a, q, alice, NIMBUS_JOB_HELD);
  nimbus_job_charge_t pc = charge_template(a, j3, alice, &priv, 0);
  store_job_change_t r3 = release_change(j3);
  assert_int_equal(store_charge_hold(st, &pc, &r3, NULL, &why), STORE_OK);
  pc.state = NIMBUS_CHARGE_CHARGING;
  pc.attempts = 1;
  snprintf(pc.order_id, sizeof pc.order_id, "chg-j3-1");
  assert_int_equal(store_charge_update(st, &pc, NIMBUS_CHARGE_HELD, NULL, NULL, NULL, &why),
                   STORE_OK);
  pc.state = NIMBUS_CHARGE_CHARGE_FAILED;
  pc.next_try_at = 1800000000;
  snprintf(pc.provider_tx, sizeof pc.provider_tx, "tx-1");
  snprintf(pc.reason, sizeof pc.reason, "declined");
  assert_int_equal(store_charge_update(st, &pc, NIMBUS_CHARGE_CHARGING, NULL, NULL, NULL, &why),
                   STORE_OK);
  assert_int_equal(store_charge_get(st, a, j3, &got), STORE_OK);
  assert_int_equal(got.state, NIMBUS_CHARGE_CHARGE_FAILED);
  assert_int_equal(got.attempts, 1);
  assert_int_equal(got.next_try_at, 1800000000);
  assert_string_equal(got.order_id, "chg-j3-1");
  assert_string_equal(got.provider_tx, "tx-1");
  assert_string_equal(got.reason, "declined");
}

static void test_invoiced_limits(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a");
  nimbus_id_t alice = make_user(st, a, "alice");
  nimbus_id_t q = make_queue(st, a, "main");
  nimbus_billing_account_t lim = make_account(st, a, "lim", NIMBUS_ACCOUNT_INVOICED, 0, 1000);
  nimbus_billing_account_t free_ = make_account(st, a, "free", NIMBUS_ACCOUNT_INVOICED, 0, 0);
  nimbus_purpose_t pl = make_purpose(st, a, alice, "Limited", lim.id);
  nimbus_purpose_t pf = make_purpose(st, a, alice, "Unlimited", free_.id);
  store_charge_refusal_t why = 0;

  nimbus_id_t j1 = make_job(st, a, q, alice, NIMBUS_JOB_HELD);
  nimbus_job_charge_t c1 = charge_template(a, j1, alice, &pl, 700);
  store_job_change_t r1 = release_change(j1);
  assert_int_equal(store_charge_hold(st, &c1, &r1, NULL, &why), STORE_OK);
  /* charge it: 600 charged, held back to 0 */
  c1.state = NIMBUS_CHARGE_CHARGED;
  c1.total = 600;
  store_account_delta_t d = {.held = -700, .charged = 600};
  assert_int_equal(store_charge_update(st, &c1, NIMBUS_CHARGE_HELD, &d, NULL, NULL, &why),
                   STORE_OK);
  nimbus_billing_account_t now = account_now(st, a, lim.id);
  assert_int_equal(now.charged, 600);
  assert_int_equal(now.held, 0);
  assert_int_equal(now.balance, 0);

  nimbus_id_t j2 = make_job(st, a, q, alice, NIMBUS_JOB_HELD);
  nimbus_job_charge_t c2 = charge_template(a, j2, alice, &pl, 401);
  store_job_change_t r2 = release_change(j2);
  why = 0;
  assert_int_equal(store_charge_hold(st, &c2, &r2, NULL, &why), STORE_CONFLICT);
  assert_int_equal(why, STORE_CHARGE_LIMIT);
  assert_int_equal(job_state(st, a, j2), NIMBUS_JOB_HELD);
  c2.hold = 400;
  assert_int_equal(store_charge_hold(st, &c2, &r2, NULL, &why), STORE_OK);
  now = account_now(st, a, lim.id);
  assert_int_equal(now.charged + now.held, 1000);

  /* the limit cannot go below charged + held; exactly that is fine */
  nimbus_billing_account_t up = now;
  up.credit_limit = 999;
  assert_int_equal(store_account_update(st, &up, NULL), STORE_CONFLICT);
  assert_int_equal(account_now(st, a, lim.id).credit_limit, 1000);
  up.credit_limit = 1000;
  snprintf(up.name, sizeof up.name, "renamed");
  assert_int_equal(store_account_update(st, &up, NULL), STORE_OK);
  /* no limit: anything fits */
  up.credit_limit = 0;
  assert_int_equal(store_account_update(st, &up, NULL), STORE_OK);
  nimbus_id_t j3 = make_job(st, a, q, alice, NIMBUS_JOB_HELD);
  nimbus_job_charge_t c3 = charge_template(a, j3, alice, &pl, 1000000);
  store_job_change_t r3 = release_change(j3);
  assert_int_equal(store_charge_hold(st, &c3, &r3, NULL, &why), STORE_OK);
  /* and back: the limit is refused again */
  up = account_now(st, a, lim.id);
  up.credit_limit = 5000;
  assert_int_equal(store_account_update(st, &up, NULL), STORE_CONFLICT);

  nimbus_id_t j4 = make_job(st, a, q, alice, NIMBUS_JOB_HELD);
  nimbus_job_charge_t c4 = charge_template(a, j4, alice, &pf, 123456789);
  store_job_change_t r4 = release_change(j4);
  assert_int_equal(store_charge_hold(st, &c4, &r4, NULL, &why), STORE_OK);
  assert_int_equal(account_now(st, a, free_.id).held, 123456789);
}

/* ---- the due list ---- */

typedef struct {
  int n;
  nimbus_id_t jobs[16];
  nimbus_job_state_t js[16];
} due_t;

static bool due_cb(const nimbus_job_charge_t *c, nimbus_job_state_t js, void *ctx) {
  due_t *d = ctx;
  if (d->n < 16) {
    d->jobs[d->n] = c->job_id;
    d->js[d->n] = js;
  }
  d->n++;
  return true;
}

static void test_charge_list_due(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");
  nimbus_id_t alice = make_user(st, a, "alice"), carol = make_user(st, b, "carol");
  nimbus_id_t qa = make_queue(st, a, "main"), qb = make_queue(st, b, "main");
  nimbus_purpose_t pa = make_purpose(st, a, alice, "Me", 0);
  nimbus_purpose_t pb = make_purpose(st, b, carol, "Me", 0);
  store_charge_refusal_t why;
  nimbus_id_t j[7];
  for (int i = 0; i < 7; i++) {
    bool inb = i == 6;
    j[i] = make_job(st, inb ? b : a, inb ? qb : qa, inb ? carol : alice, NIMBUS_JOB_HELD);
    nimbus_job_charge_t c =
        charge_template(inb ? b : a, j[i], inb ? carol : alice, inb ? &pb : &pa, 0);
    store_job_change_t r = release_change(j[i]);
    assert_int_equal(store_charge_hold(st, &c, &r, NULL, &why), STORE_OK);
  }
  /* j0: held, job still fetchable: not due */
  /* j1: held, job completed: due */
  assert_int_equal(job_cas(st, a, j[1], NIMBUS_JOB_FETCHABLE, NIMBUS_JOB_COMPLETED, "done", NULL),
                   STORE_OK);
  /* j2: held, job back in held: due */
  assert_int_equal(job_cas(st, a, j[2], NIMBUS_JOB_FETCHABLE, NIMBUS_JOB_HELD, "held", NULL),
                   STORE_OK);
  /* j3: charge failed, retry due; j4: retry later */
  int64_t now = (int64_t)time(NULL);
  nimbus_job_charge_t c;
  assert_int_equal(store_charge_get(st, a, j[3], &c), STORE_OK);
  c.state = NIMBUS_CHARGE_CHARGE_FAILED;
  c.next_try_at = now - 5;
  assert_int_equal(store_charge_update(st, &c, NIMBUS_CHARGE_HELD, NULL, NULL, NULL, &why),
                   STORE_OK);
  assert_int_equal(store_charge_get(st, a, j[4], &c), STORE_OK);
  c.state = NIMBUS_CHARGE_CHARGE_FAILED;
  c.next_try_at = now + 3600;
  assert_int_equal(store_charge_update(st, &c, NIMBUS_CHARGE_HELD, NULL, NULL, NULL, &why),
                   STORE_OK);
  /* j5: charging (stale only when last updated before stale_before) */
  assert_int_equal(store_charge_get(st, a, j[5], &c), STORE_OK);
  c.state = NIMBUS_CHARGE_CHARGING;
  assert_int_equal(store_charge_update(st, &c, NIMBUS_CHARGE_HELD, NULL, NULL, NULL, &why),
                   STORE_OK);
  /* j6 (tenant b): job aborted: due (all tenants) */
  assert_int_equal(job_cas(st, b, j[6], NIMBUS_JOB_FETCHABLE, NIMBUS_JOB_ABORTED, "fail", NULL),
                   STORE_OK);

  due_t d = {0};
  assert_int_equal(store_charge_list_due(st, now, now - 60, 0, 0, due_cb, &d), STORE_OK);
  assert_int_equal(d.n, 4);
  assert_int_equal(d.jobs[0], j[1]);
  assert_int_equal(d.js[0], NIMBUS_JOB_COMPLETED);
  assert_int_equal(d.jobs[1], j[2]);
  assert_int_equal(d.js[1], NIMBUS_JOB_HELD);
  assert_int_equal(d.jobs[2], j[3]);
  assert_int_equal(d.jobs[3], j[6]);
  assert_int_equal(d.js[3], NIMBUS_JOB_ABORTED);
  /* the charging one once stale */
  d = (due_t){0};
  assert_int_equal(store_charge_list_due(st, now, now + 60, 0, 0, due_cb, &d), STORE_OK);
  assert_int_equal(d.n, 5);
  assert_int_equal(d.jobs[3], j[5]);
  /* paging */
  d = (due_t){0};
  assert_int_equal(store_charge_list_due(st, now, now - 60, j[1], 2, due_cb, &d), STORE_OK);
  assert_int_equal(d.n, 2);
  assert_int_equal(d.jobs[0], j[2]);
  assert_int_equal(d.jobs[1], j[3]);
  /* later, the retry of j4 is due too */
  d = (due_t){0};
  assert_int_equal(store_charge_list_due(st, now + 3600, now - 60, 0, 0, due_cb, &d), STORE_OK);
  assert_int_equal(d.n, 5);
  /* j4 given up (next_try_at 0): never due again */
  assert_int_equal(store_charge_get(st, a, j[4], &c), STORE_OK);
  c.next_try_at = 0;
  assert_int_equal(store_charge_update(st, &c, NIMBUS_CHARGE_CHARGE_FAILED, NULL, NULL, NULL, &why),
                   STORE_OK);
  d = (due_t){0};
  assert_int_equal(store_charge_list_due(st, now + 3600, now - 60, 0, 0, due_cb, &d), STORE_OK);
  assert_int_equal(d.n, 4);
}

/* ---- job-account-id at the panel ---- */

static void test_job_set_account(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");
  nimbus_id_t q = make_queue(st, a, "main");
  nimbus_id_t received = make_job(st, a, q, 0, NIMBUS_JOB_RECEIVED);
  nimbus_id_t held = make_job(st, a, q, 0, NIMBUS_JOB_HELD);
  nimbus_id_t gone = make_job(st, a, q, 0, NIMBUS_JOB_FETCHABLE);
  store_audit_t au = {.tenant_id = a, .actor = "alice", .action = "job-purpose-set"};
  assert_int_equal(store_job_set_account(st, a, received, "Client X", &au), STORE_OK);
  assert_int_equal(store_job_set_account(st, a, held, "Personal", NULL), STORE_OK);
  assert_int_equal(audit_rows(fx, "job-purpose-set"), 1);
  nimbus_job_t j;
  assert_int_equal(store_job_get(st, a, received, &j), STORE_OK);
  assert_string_equal(j.account_id, "Client X");
  assert_int_equal(store_job_get(st, a, held, &j), STORE_OK);
  assert_string_equal(j.account_id, "Personal");
  assert_int_equal(j.state, NIMBUS_JOB_HELD);
  /* released already: CONFLICT; another tenant's: NOT_FOUND */
  assert_int_equal(store_job_set_account(st, a, gone, "Personal", &au), STORE_CONFLICT);
  assert_int_equal(audit_rows(fx, "job-purpose-set"), 1);
  assert_int_equal(store_job_get(st, a, gone, &j), STORE_OK);
  assert_string_equal(j.account_id, "");
  assert_int_equal(store_job_set_account(st, b, held, "x", NULL), STORE_NOT_FOUND);
  assert_int_equal(store_job_get(st, a, held, &j), STORE_OK);
  assert_string_equal(j.account_id, "Personal");
  /* back to none */
  assert_int_equal(store_job_set_account(st, a, held, "", NULL), STORE_OK);
  assert_int_equal(store_job_get(st, a, held, &j), STORE_OK);
  assert_string_equal(j.account_id, "");
}

/* ---- the print log ---- */

typedef struct {
  int n;
  nimbus_id_t jobs[16];
  bool has_charge[16], has_quote[16];
  nimbus_job_charge_t charge[16];
  nimbus_job_quote_t quote[16];
} log_t;

static bool log_cb(const nimbus_job_t *job, const nimbus_job_charge_t *c,
                   const nimbus_job_quote_t *q, void *ctx) {
  log_t *l = ctx;
  if (l->n < 16) {
    l->jobs[l->n] = job->id;
    l->has_charge[l->n] = c != NULL;
    l->has_quote[l->n] = q != NULL;
    if (c) l->charge[l->n] = *c;
    if (q) l->quote[l->n] = *q;
  }
  l->n++;
  return true;
}

static log_t print_log(store_t *st, store_print_log_filter_t f) {
  log_t l = {0};
  assert_int_equal(store_print_log(st, &f, log_cb, &l), STORE_OK);
  return l;
}

static void test_print_log(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");
  nimbus_id_t alice = make_user(st, a, "alice"), bob = make_user(st, a, "bob");
  nimbus_id_t q = make_queue(st, a, "main"), qb = make_queue(st, b, "main");
  nimbus_device_t dev = make_device(st, a, "front", &q, 1, 1);
  nimbus_billing_account_t acc = make_account(st, a, "proj", NIMBUS_ACCOUNT_INVOICED, 0, 0);
  nimbus_purpose_t pw = make_purpose(st, a, alice, "Work", acc.id);
  nimbus_purpose_t pp = make_purpose(st, a, alice, "Me", 0);
  nimbus_purpose_t pbw = make_purpose(st, a, bob, "Work", acc.id);
  store_charge_refusal_t why;

  nimbus_id_t j0 = make_job(st, a, q, alice, NIMBUS_JOB_HELD); /* no charge, no quote */
  nimbus_id_t j1 = make_job(st, a, q, alice, NIMBUS_JOB_HELD); /* alice, Work */
  nimbus_id_t j2 = make_job(st, a, q, alice, NIMBUS_JOB_HELD); /* alice, private */
  nimbus_id_t j3 = make_job(st, a, q, bob, NIMBUS_JOB_HELD);   /* bob, Work, printed on dev */
  nimbus_id_t jb = make_job(st, b, qb, 0, NIMBUS_JOB_HELD);    /* another tenant */
  (void)jb;
  nimbus_job_charge_t c1 = charge_template(a, j1, alice, &pw, 100);
  nimbus_job_charge_t c2 = charge_template(a, j2, alice, &pp, 0);
  nimbus_job_charge_t c3 = charge_template(a, j3, bob, &pbw, 200);
  store_job_change_t r1 = release_change(j1), r2 = release_change(j2), r3 = release_change(j3);
  r3.set = STORE_JOB_SET_DEVICE;
  r3.device_id = dev.id;
  assert_int_equal(store_charge_hold(st, &c1, &r1, NULL, &why), STORE_OK);
  assert_int_equal(store_charge_hold(st, &c2, &r2, NULL, &why), STORE_OK);
  assert_int_equal(store_charge_hold(st, &c3, &r3, NULL, &why), STORE_OK);
  nimbus_job_quote_t quote = {
      .job_id = j1, .tenant_id = a, .print_fee = 90, .service_fee = 10, .total = 100};
  snprintf(quote.currency, sizeof quote.currency, "JPY");
  assert_int_equal(store_job_quote_put(st, &quote), STORE_OK);

  log_t l = print_log(st, (store_print_log_filter_t){.tenant_id = a});
  assert_int_equal(l.n, 4);
  assert_int_equal(l.jobs[0], j3); /* newest first */
  assert_int_equal(l.jobs[1], j2);
  assert_int_equal(l.jobs[2], j1);
  assert_int_equal(l.jobs[3], j0);
  assert_false(l.has_charge[3]);
  assert_false(l.has_quote[3]);
  assert_true(l.has_charge[2]);
  assert_true(l.has_quote[2]);
  assert_int_equal(l.charge[2].account_id, acc.id);
  assert_string_equal(l.charge[2].account_code, "proj");
  assert_string_equal(l.charge[2].purpose_name, "Work");
  assert_int_equal(l.charge[2].hold, 100);
  assert_int_equal(l.quote[2].total, 100);
  assert_int_equal(l.quote[2].print_fee, 90);
  assert_true(l.has_charge[1]);
  assert_false(l.has_quote[1]);
  assert_int_equal(l.charge[1].account_id, 0);

  l = print_log(st, (store_print_log_filter_t){.tenant_id = a, .user_id = bob});
  assert_int_equal(l.n, 1);
  assert_int_equal(l.jobs[0], j3);
  l = print_log(st, (store_print_log_filter_t){.tenant_id = a, .account_id = acc.id});
  assert_int_equal(l.n, 2);
  assert_int_equal(l.jobs[0], j3);
  assert_int_equal(l.jobs[1], j1);
  l = print_log(st, (store_print_log_filter_t){.tenant_id = a, .purpose_id = pw.id});
  assert_int_equal(l.n, 1);
  assert_int_equal(l.jobs[0], j1);
  l = print_log(st, (store_print_log_filter_t){.tenant_id = a, .private_only = true});
  assert_int_equal(l.n, 1);
  assert_int_equal(l.jobs[0], j2);
  l = print_log(st, (store_print_log_filter_t){.tenant_id = a, .device_id = dev.id});
  assert_int_equal(l.n, 1);
  assert_int_equal(l.jobs[0], j3);
  /* paging */
  l = print_log(st, (store_print_log_filter_t){.tenant_id = a, .limit = 2});
  assert_int_equal(l.n, 2);
  assert_int_equal(l.jobs[1], j2);
  l = print_log(st, (store_print_log_filter_t){.tenant_id = a, .before_id = j2, .limit = 2});
  assert_int_equal(l.n, 2);
  assert_int_equal(l.jobs[0], j1);
  assert_int_equal(l.jobs[1], j0);
  /* the period: [from, to) */
  nimbus_job_t job;
  assert_int_equal(store_job_get(st, a, j0, &job), STORE_OK);
  int64_t t0 = job.created_at;
  l = print_log(st, (store_print_log_filter_t){.tenant_id = a, .from = t0 + 3600});
  assert_int_equal(l.n, 0);
  l = print_log(st, (store_print_log_filter_t){.tenant_id = a, .from = t0 - 10, .to = t0 + 3600});
  assert_int_equal(l.n, 4);
  l = print_log(st, (store_print_log_filter_t){.tenant_id = a, .from = t0 - 10, .to = t0 - 5});
  assert_int_equal(l.n, 0);
  /* another tenant's log has only its own */
  l = print_log(st, (store_print_log_filter_t){.tenant_id = b});
  assert_int_equal(l.n, 1);
  assert_false(l.has_charge[0]);
  l = print_log(st, (store_print_log_filter_t){.tenant_id = b, .account_id = acc.id});
  assert_int_equal(l.n, 0);
}

/* ---- deletions ---- */

static void test_deletions(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");
  nimbus_id_t alice = make_user(st, a, "alice"), bob = make_user(st, a, "bob");
  nimbus_id_t carol = make_user(st, b, "carol");
  nimbus_id_t q = make_queue(st, a, "main"), qb = make_queue(st, b, "main");
  nimbus_device_t dev = make_device(st, a, "front", &q, 1, 1);
  nimbus_billing_account_t acc = make_account(st, a, "proj", NIMBUS_ACCOUNT_PREPAID, 500, 0);
  nimbus_billing_account_t accb = make_account(st, b, "proj", NIMBUS_ACCOUNT_PREPAID, 500, 0);
  nimbus_purpose_t pw = make_purpose(st, a, alice, "Work", acc.id);
  nimbus_purpose_t pc = make_purpose(st, b, carol, "Work", accb.id);
  nimbus_account_grant_t g = {.account_id = acc.id, .kind = NIMBUS_GRANT_PRINTER, .ref_id = dev.id};
  assert_int_equal(store_account_grant_add(st, a, &g, NULL), STORE_OK);
  nimbus_payment_method_t m = method_template(a, alice, "s-a");
  assert_int_equal(store_payment_method_put(st, &m, NULL), STORE_OK);
  nimbus_payment_method_t mb = method_template(b, carol, "s-b");
  assert_int_equal(store_payment_method_put(st, &mb, NULL), STORE_OK);
  store_charge_refusal_t why;
  nimbus_id_t j = make_job(st, a, q, alice, NIMBUS_JOB_HELD);
  nimbus_job_charge_t c = charge_template(a, j, alice, &pw, 100);
  store_job_change_t r = release_change(j);
  assert_int_equal(store_charge_hold(st, &c, &r, NULL, &why), STORE_OK);
  nimbus_id_t jb = make_job(st, b, qb, carol, NIMBUS_JOB_HELD);
  nimbus_job_charge_t cb = charge_template(b, jb, carol, &pc, 100);
  store_job_change_t rb = release_change(jb);
  assert_int_equal(store_charge_hold(st, &cb, &rb, NULL, &why), STORE_OK);
  store_ledger_posting_t tp = topup_posting(a, "proj", 10);
  assert_int_equal(store_account_topup(st, a, acc.id, 10, &tp, NULL, NULL), STORE_OK);

  /* the user goes: their purposes and method with them; the job's charge
   * stays (it is the job's history) */
  assert_int_equal(store_user_delete(st, a, alice), STORE_OK);
  nimbus_purpose_t gp;
  assert_int_equal(store_purpose_get(st, a, pw.id, &gp), STORE_NOT_FOUND);
  nimbus_payment_method_t gm;
  assert_int_equal(store_payment_method_get(st, a, alice, &gm), STORE_NOT_FOUND);
  nimbus_job_charge_t gc;
  assert_int_equal(store_charge_get(st, a, j, &gc), STORE_OK);
  assert_string_equal(gc.purpose_name, "Work");
  assert_int_equal(gc.purpose_id, pw.id);
  (void)bob;

  /* the printer goes: its grant with it */
  assert_int_equal(store_device_delete(st, a, dev.id, NULL, 0, NULL, 0, NULL), STORE_OK);
  bool yes = true;
  assert_int_equal(store_account_granted(st, a, acc.id, NIMBUS_GRANT_PRINTER, dev.id, &yes),
                   STORE_OK);
  assert_false(yes);

  /* the tenant goes: everything of it, not another's; the ledger stays */
  int64_t entries = ledger_rows(fx);
  assert_int_equal(store_tenant_delete(st, a), STORE_OK);
  nimbus_billing_account_t ga;
  assert_int_equal(store_account_get(st, a, acc.id, &ga), STORE_NOT_FOUND);
  assert_int_equal(store_charge_get(st, a, j, &gc), STORE_NOT_FOUND);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM billing_accounts"), 1);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM purposes"), 1);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM job_charges"), 1);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM payment_methods"), 1);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM account_grants"), 0);
  assert_int_equal(ledger_rows(fx), entries);
  assert_int_equal(store_account_get(st, b, accb.id, &ga), STORE_OK);
  assert_int_equal(ga.held, 100);
  assert_int_equal(store_purpose_get(st, b, pc.id, &gp), STORE_OK);
  assert_int_equal(store_payment_method_get(st, b, carol, &gm), STORE_OK);
  assert_int_equal(store_charge_get(st, b, jb, &gc), STORE_OK);
  /* and the job's deletion takes its charge: the queue goes with its
   * (finished) jobs */
  assert_int_equal(job_cas(st, b, jb, NIMBUS_JOB_FETCHABLE, NIMBUS_JOB_CANCELED, "cancel", NULL),
                   STORE_OK);
  assert_int_equal(store_queue_delete(st, b, qb), STORE_OK);
  assert_int_equal(store_charge_get(st, b, jb, &gc), STORE_NOT_FOUND);
}

/* ---- concurrent holds on one prepaid account ---- */

#define HOLD_N 6
#define HOLD_THREADS (3 * HOLD_N)
#define HOLD_AMOUNT 250
#define HOLD_STORES 3

typedef struct {
  store_t *st;
  nimbus_id_t tenant, user, job;
  const nimbus_purpose_t *purpose;
  pthread_barrier_t *go;
  store_status_t status;
  store_charge_refusal_t why;
} hold_worker_t;

static void *hold_worker(void *arg) {
  hold_worker_t *w = arg;
  nimbus_job_charge_t c = charge_template(w->tenant, w->job, w->user, w->purpose, HOLD_AMOUNT);
  store_job_change_t r = release_change(w->job);
  pthread_barrier_wait(w->go);
  w->status = store_charge_hold(w->st, &c, &r, NULL, &w->why);
  return NULL;
}

typedef struct {
  store_t *st;
  nimbus_id_t tenant, account;
  volatile int stop;
  int reads, bad;
} hold_watch_t;

/* Reads the account while the holds run: balance - held must never go
 * below zero, held never above what the balance covers. */
static void *hold_watcher(void *arg) {
  hold_watch_t *w = arg;
  while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
    nimbus_billing_account_t a;
    if (store_account_get(w->st, w->tenant, w->account, &a) != STORE_OK || a.balance - a.held < 0 ||
        a.held < 0)
      w->bad++;
    w->reads++;
  }
  return NULL;
}

static void test_concurrent_holds(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a");
  nimbus_id_t alice = make_user(st, a, "alice");
  nimbus_id_t q = make_queue(st, a, "main");
  nimbus_billing_account_t acc =
      make_account(st, a, "club", NIMBUS_ACCOUNT_PREPAID, (int64_t)HOLD_N * HOLD_AMOUNT, 0);
  nimbus_purpose_t p = make_purpose(st, a, alice, "Club", acc.id);

  /* several store handles on the one database, as several nodes */
  store_t *stores[HOLD_STORES] = {st};
  for (int i = 1; i < HOLD_STORES; i++) {
    stores[i] = open_store(fx);
    assert_non_null(stores[i]);
  }
  hold_worker_t w[HOLD_THREADS];
  pthread_t th[HOLD_THREADS], watch_th;
  pthread_barrier_t go;
  assert_int_equal(pthread_barrier_init(&go, NULL, HOLD_THREADS), 0);
  for (int i = 0; i < HOLD_THREADS; i++) {
    w[i] = (hold_worker_t){.st = stores[i % HOLD_STORES],
                           .tenant = a,
                           .user = alice,
                           .job = make_job(st, a, q, alice, NIMBUS_JOB_HELD),
                           .purpose = &p,
                           .go = &go};
  }
  hold_watch_t watch = {.st = stores[HOLD_STORES - 1], .tenant = a, .account = acc.id};
  assert_int_equal(pthread_create(&watch_th, NULL, hold_watcher, &watch), 0);
  for (int i = 0; i < HOLD_THREADS; i++)
    assert_int_equal(pthread_create(&th[i], NULL, hold_worker, &w[i]), 0);
  for (int i = 0; i < HOLD_THREADS; i++) pthread_join(th[i], NULL);
  __atomic_store_n(&watch.stop, 1, __ATOMIC_RELEASE);
  pthread_join(watch_th, NULL);
  pthread_barrier_destroy(&go);

  int ok = 0, limit = 0;
  for (int i = 0; i < HOLD_THREADS; i++) {
    nimbus_job_charge_t c;
    if (w[i].status == STORE_OK) {
      ok++;
      assert_int_equal(job_state(st, a, w[i].job), NIMBUS_JOB_FETCHABLE);
      assert_int_equal(store_charge_get(st, a, w[i].job, &c), STORE_OK);
    } else {
      assert_int_equal(w[i].status, STORE_CONFLICT);
      assert_int_equal(w[i].why, STORE_CHARGE_LIMIT);
      limit++;
      assert_int_equal(job_state(st, a, w[i].job), NIMBUS_JOB_HELD);
      assert_int_equal(store_charge_get(st, a, w[i].job, &c), STORE_NOT_FOUND);
    }
  }
  assert_int_equal(ok, HOLD_N);
  assert_int_equal(limit, 2 * HOLD_N);
  nimbus_billing_account_t now = account_now(st, a, acc.id);
  assert_int_equal(now.held, (int64_t)HOLD_N * HOLD_AMOUNT);
  assert_int_equal(now.balance - now.held, 0);
  assert_true(watch.reads > 0);
  assert_int_equal(watch.bad, 0);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM job_charges"), HOLD_N);
  for (int i = 1; i < HOLD_STORES; i++) store_close(stores[i]);
}

int main(int argc, char **argv) {
  log_set_level(LOG_ERROR);
  if (argc > 1 && !strcmp(argv[1], "pg")) {
    int rc = fixture_use_pg();
    if (rc) return rc;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_purpose_required, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_accounts, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_topup, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_grants, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_purposes, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_payment_methods, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_charge_hold, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_charge_update, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_invoiced_limits, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_charge_list_due, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_job_set_account, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_print_log, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_deletions, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_concurrent_holds, setup_direct, teardown),
  };
  return cmocka_run_group_tests_name("store contract: billing by purpose", tests, NULL, NULL);
}
