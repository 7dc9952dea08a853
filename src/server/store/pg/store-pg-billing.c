/*
 * store-pg-billing.c: billing by purpose in the PostgreSQL backend
 * (store.h "billing by purpose", issue 13), first part: a tenant's shared
 * billing accounts (their figures moved only by compare-in-WHERE updates,
 * their invariant kept by the CHECK constraints of migration 5), the
 * grants of who may charge them and where their jobs may print, users'
 * purposes (at most one default each), and saved payment methods.  The
 * charges of jobs and the print log are in store-pg-billing-charges.c.
 *
 * The shapes of store-pg-money.c: one pooled connection per call; a write
 * of several statements (or an audited one) is one transaction
 * (pg_transaction, run again on a deadlock or a serialization failure);
 * lists read every row, give the connection back, then call the callback.
 * Every statement names the tenant; a row of another tenant is NOT_FOUND.
 */
#include "store-pg-private.h"

#include <stdlib.h>

#define ACCOUNT_COLS                                                                      \
  "id, tenant_id, code, name, mode, everyone, restrict_printers, credit_limit, balance, " \
  "charged, held, created_at, closed_at"
#define PURPOSE_COLS                                                                        \
  "p.id, p.tenant_id, p.user_id, p.name, coalesce(p.account_id, 0), coalesce(a.code, ''), " \
  "p.is_default, p.defaults, p.created_at, p.updated_at"
#define PURPOSE_FROM "FROM purposes p LEFT JOIN billing_accounts a ON a.id = p.account_id"
#define METHOD_COLS                                                                           \
  "id, tenant_id, user_id, provider, state, setup_id, setup_tx, setup_url, sealed, display, " \
  "created_at, updated_at"
/* The code of the purpose's account, for RETURNING ("" when private). */
#define PURPOSE_CODE \
  "coalesce((SELECT code FROM billing_accounts b WHERE b.id = purposes.account_id), '')"

static const char *const billing_sql[PS_CHARGE_PLACE - PS_BILLING_FIRST] = {
#define B(id) [(id)-PS_BILLING_FIRST]
    B(PS_ACCOUNT_INSERT) =
        "INSERT INTO billing_accounts (tenant_id, code, name, mode, everyone, restrict_printers, "
        "credit_limit, balance, charged, held, created_at, closed_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, 0, $9, $10) RETURNING id",
    B(PS_ACCOUNT_GET) =
        "SELECT " ACCOUNT_COLS " FROM billing_accounts WHERE id = $1 AND tenant_id = $2",
    B(PS_ACCOUNT_GET_BY_CODE) =
        "SELECT " ACCOUNT_COLS " FROM billing_accounts WHERE tenant_id = $1 AND code = $2",
    /* refused (no row) when an invoiced account's new limit is below what
     * it already owes and holds */
    B(PS_ACCOUNT_UPDATE) =
        "UPDATE billing_accounts SET name = $3, everyone = $4, restrict_printers = $5, "
        "credit_limit = $6::bigint, closed_at = $7 WHERE id = $1 AND tenant_id = $2 "
        "AND (mode <> 1 OR $6::bigint = 0 OR charged + held <= $6::bigint) "
        "RETURNING " ACCOUNT_COLS,
    B(PS_ACCOUNT_CLOSED_AT) =
        "SELECT closed_at FROM billing_accounts WHERE id = $1 AND tenant_id = $2",
    B(PS_ACCOUNT_LIST) = "SELECT " ACCOUNT_COLS
                         " FROM billing_accounts WHERE tenant_id = $1 "
                         "AND ($2::boolean OR closed_at = 0) ORDER BY code COLLATE \"C\"",
    /* refused (no row) when a prepaid account would hold more than it
     * has, and for an invoiced account (it has no balance) */
    B(PS_ACCOUNT_TOPUP) =
        "UPDATE billing_accounts SET balance = balance + $3::bigint "
        "WHERE id = $1 AND tenant_id = $2 AND mode = 2 "
        "AND balance + $3::bigint - held >= 0 "
        "RETURNING " ACCOUNT_COLS,
    /* $3 held, $4 balance, $5 charged added; $6: refused when closed.  The
     * WHERE compares the figures after the change with the invariant
     * (model.h): it is evaluated again on the newest row version once the
     * row lock is ours, so concurrent moves serialise on the row and none
     * can overdraw it. */
    B(PS_ACCOUNT_MOVE) =
        "UPDATE billing_accounts SET held = held + $3::bigint, balance = balance + $4::bigint, "
        "charged = charged + $5::bigint WHERE id = $1 AND tenant_id = $2 "
        "AND (NOT $6::boolean OR closed_at = 0) AND held + $3::bigint >= 0 "
        "AND (mode = 2 OR balance + $4::bigint = 0) "
        "AND (mode <> 2 OR (balance + $4::bigint) - (held + $3::bigint) >= 0) "
        "AND (mode <> 1 OR credit_limit = 0 "
        "  OR (charged + $5::bigint) + (held + $3::bigint) <= credit_limit) RETURNING id",
    /* the account must be the tenant's (no row otherwise: checked first,
     * or another tenant's grant of it would answer CONFLICT), the user or
     * device too (their foreign keys); a user's or device's grants go
     * with it */
    B(PS_GRANT_INSERT) =
        "INSERT INTO account_grants (tenant_id, account_id, kind, user_id, device_id) "
        "SELECT $1::bigint, $2::bigint, $3::integer, "
        "CASE WHEN $3::integer = 1 THEN $4::bigint END, "
        "CASE WHEN $3::integer = 2 THEN $4::bigint END WHERE EXISTS "
        "(SELECT 1 FROM billing_accounts a WHERE a.id = $2::bigint AND a.tenant_id = $1::bigint)",
    B(PS_GRANT_DELETE) =
        "DELETE FROM account_grants WHERE tenant_id = $1 AND account_id = $2 "
        "AND kind = $3 AND coalesce(user_id, device_id) = $4",
    /* $3 kind (0: both) */
    B(PS_GRANT_LIST) =
        "SELECT g.account_id, g.kind, coalesce(g.user_id, g.device_id), "
        "coalesce(u.name, d.name, '') FROM account_grants g "
        "LEFT JOIN users u ON u.id = g.user_id LEFT JOIN devices d ON d.id = g.device_id "
        "WHERE g.tenant_id = $1 AND g.account_id = $2 AND ($3::integer = 0 OR g.kind = $3) "
        "ORDER BY g.kind, coalesce(u.name, d.name, '') COLLATE \"C\", g.id",
    B(PS_GRANT_EXISTS) =
        "SELECT 1 FROM account_grants WHERE tenant_id = $1 AND account_id = $2 "
        "AND kind = $3 AND coalesce(user_id, device_id) = $4",
    /* One writer of a user's default at a time (the partial unique index
     * would otherwise refuse the second of two concurrent ones). */
    B(PS_PURPOSE_LOCK_USER) =
        "SELECT 1 FROM users WHERE id = $1 AND tenant_id = $2 FOR NO KEY UPDATE",
    B(PS_PURPOSE_LOCK) =
        "SELECT user_id FROM purposes WHERE id = $1 AND tenant_id = $2 FOR NO KEY UPDATE",
    /* $3: the purpose that stays (0: none) */
    B(PS_PURPOSE_CLEAR_DEFAULT) =
        "UPDATE purposes SET is_default = false WHERE tenant_id = $1 AND user_id = $2 "
        "AND is_default AND id <> $3",
    B(PS_PURPOSE_INSERT) =
        "INSERT INTO purposes (tenant_id, user_id, name, account_id, is_default, defaults, "
        "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) "
        "RETURNING id, " PURPOSE_CODE,
    B(PS_PURPOSE_GET) =
        "SELECT " PURPOSE_COLS " " PURPOSE_FROM " WHERE p.id = $1 AND p.tenant_id = $2",
    B(PS_PURPOSE_GET_BY_NAME) = "SELECT " PURPOSE_COLS " " PURPOSE_FROM
                                " WHERE p.tenant_id = $1 AND p.user_id = $2 AND p.name = $3",
    B(PS_PURPOSE_GET_DEFAULT) = "SELECT " PURPOSE_COLS " " PURPOSE_FROM
                                " WHERE p.tenant_id = $1 AND p.user_id = $2 AND p.is_default",
    B(PS_PURPOSE_UPDATE) =
        "UPDATE purposes SET name = $3, account_id = $4, is_default = $5, defaults = $6, "
        "updated_at = $7 WHERE id = $1 AND tenant_id = $2 "
        "RETURNING user_id, created_at, " PURPOSE_CODE,
    B(PS_PURPOSE_DELETE) = "DELETE FROM purposes WHERE id = $1 AND tenant_id = $2",
    /* $2 user (0: every user of the tenant) */
    B(PS_PURPOSE_LIST) = "SELECT " PURPOSE_COLS " " PURPOSE_FROM
                         " WHERE p.tenant_id = $1 AND ($2::bigint = 0 OR p.user_id = $2::bigint) "
                         "ORDER BY p.name COLLATE \"C\", p.user_id, p.id",
    /* a new registration replaces the user's row in place (one statement:
     * two at once cannot both insert; its id stays); the user must be the
     * tenant's (its foreign key) */
    B(PS_METHOD_PUT) =
        "INSERT INTO payment_methods (tenant_id, user_id, provider, state, setup_id, setup_tx, "
        "setup_url, sealed, display, created_at, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) "
        "ON CONFLICT (tenant_id, user_id) DO UPDATE "
        "SET provider = excluded.provider, state = excluded.state, setup_id = excluded.setup_id, "
        "setup_tx = excluded.setup_tx, setup_url = excluded.setup_url, sealed = excluded.sealed, "
        "display = excluded.display, created_at = excluded.created_at, "
        "updated_at = excluded.updated_at RETURNING id",
    B(PS_METHOD_GET) =
        "SELECT " METHOD_COLS " FROM payment_methods WHERE tenant_id = $1 AND user_id = $2",
    B(PS_METHOD_GET_BY_SETUP) = "SELECT " METHOD_COLS " FROM payment_methods WHERE setup_id = $1",
    /* compare $3, set $4.. */
    B(PS_METHOD_UPDATE) =
        "UPDATE payment_methods SET state = $4, setup_tx = $5, setup_url = $6, sealed = $7, "
        "display = $8, updated_at = $9 WHERE id = $1 AND tenant_id = $2 AND state = $3 "
        "RETURNING " METHOD_COLS,
    B(PS_METHOD_EXISTS) = "SELECT 1 FROM payment_methods WHERE id = $1 AND tenant_id = $2",
    B(PS_METHOD_DELETE) = "DELETE FROM payment_methods WHERE tenant_id = $1 AND user_id = $2",
#undef B
};

const char *pg_billing_sql(pg_stmt_id_t id) {
  if (id >= PS_CHARGE_PLACE) return pg_charges_sql(id);
  return id >= PS_BILLING_FIRST ? billing_sql[id - PS_BILLING_FIRST] : NULL;
}

/* ---- row readers (column order as in the statements above) ---- */

static void account_from_row(const PGresult *r, int i, nimbus_billing_account_t *a) {
  memset(a, 0, sizeof *a);
  a->id = pg_get_int64(r, i, 0);
  a->tenant_id = pg_get_int64(r, i, 1);
  PG_GET_FIELD(r, i, 2, a->code);
  PG_GET_FIELD(r, i, 3, a->name);
  a->mode = (nimbus_account_mode_t)pg_get_int(r, i, 4);
  a->everyone = pg_get_bool(r, i, 5);
  a->restrict_printers = pg_get_bool(r, i, 6);
  a->credit_limit = pg_get_int64(r, i, 7);
  a->balance = pg_get_int64(r, i, 8);
  a->charged = pg_get_int64(r, i, 9);
  a->held = pg_get_int64(r, i, 10);
  a->created_at = pg_get_int64(r, i, 11);
  a->closed_at = pg_get_int64(r, i, 12);
}

static void purpose_from_row(const PGresult *r, int i, nimbus_purpose_t *p) {
  memset(p, 0, sizeof *p);
  p->id = pg_get_int64(r, i, 0);
  p->tenant_id = pg_get_int64(r, i, 1);
  p->user_id = pg_get_int64(r, i, 2);
  PG_GET_FIELD(r, i, 3, p->name);
  p->account_id = pg_get_int64(r, i, 4);
  PG_GET_FIELD(r, i, 5, p->account_code);
  p->is_default = pg_get_bool(r, i, 6);
  PG_GET_FIELD(r, i, 7, p->defaults);
  p->created_at = pg_get_int64(r, i, 8);
  p->updated_at = pg_get_int64(r, i, 9);
}

static void method_from_row(const PGresult *r, int i, nimbus_payment_method_t *m) {
  memset(m, 0, sizeof *m);
  m->id = pg_get_int64(r, i, 0);
  m->tenant_id = pg_get_int64(r, i, 1);
  m->user_id = pg_get_int64(r, i, 2);
  PG_GET_FIELD(r, i, 3, m->provider);
  m->state = (nimbus_method_state_t)pg_get_int(r, i, 4);
  PG_GET_FIELD(r, i, 5, m->setup_id);
  PG_GET_FIELD(r, i, 6, m->setup_tx);
  PG_GET_FIELD(r, i, 7, m->setup_url);
  void *bytes = NULL;
  size_t n = 0;
  if (pg_get_bytes_copy(r, i, 8, &bytes, &n) && bytes) {
    if (n > NIMBUS_SEALED_MAX) n = NIMBUS_SEALED_MAX; /* never written longer */
    memcpy(m->sealed, bytes, n);
    m->sealed_len = (int)n;
  }
  free(bytes);
  PG_GET_FIELD(r, i, 9, m->display);
  m->created_at = pg_get_int64(r, i, 10);
  m->updated_at = pg_get_int64(r, i, 11);
}

static void read_account(const PGresult *r, void *out) {
  account_from_row(r, 0, out);
}

static void read_purpose(const PGresult *r, void *out) {
  purpose_from_row(r, 0, out);
}

static void read_method(const PGresult *r, void *out) {
  method_from_row(r, 0, out);
}

static bool account_row(const PGresult *r, int i, pg_list_cb_t cb, void *ctx) {
  nimbus_billing_account_t a;
  account_from_row(r, i, &a);
  return cb.account(&a, ctx);
}

static bool purpose_row(const PGresult *r, int i, pg_list_cb_t cb, void *ctx) {
  nimbus_purpose_t p;
  purpose_from_row(r, i, &p);
  return cb.purpose(&p, ctx);
}

static bool grant_row(const PGresult *r, int i, pg_list_cb_t cb, void *ctx) {
  nimbus_account_grant_t g;
  memset(&g, 0, sizeof g);
  g.account_id = pg_get_int64(r, i, 0);
  g.kind = (nimbus_grant_kind_t)pg_get_int(r, i, 1);
  g.ref_id = pg_get_int64(r, i, 2);
  PG_GET_FIELD(r, i, 3, g.ref_name);
  return cb.grant(&g, ctx);
}

/* ---- shapes shared by the operations (also store-pg-billing-charges.c) ---- */

store_status_t pg_read_one_row(pg_store_t *st, pg_stmt_id_t id, const pg_params_t *p,
                               pg_read_fn read, void *out, const char *what) {
  pg_conn_t *c = pg_acquire(st, what);
  if (!c) return STORE_ERROR;
  PGresult *r;
  store_status_t status = pg_exec_row(c, id, p, &r, what);
  pg_release(st, c);
  if (status == STORE_OK) {
    read(r, out);
    PQclear(r);
  }
  return status;
}

store_status_t pg_read_rows(pg_store_t *st, pg_stmt_id_t id, const pg_params_t *p, pg_row_fn each,
                            pg_list_cb_t cb, void *ctx, const char *what) {
  pg_conn_t *c = pg_acquire(st, what);
  if (!c) return STORE_ERROR;
  PGresult *r;
  store_status_t status = pg_exec(c, id, p, &r, what);
  pg_release(st, c);
  if (status == STORE_OK) pg_each_row(st, r, each, cb, ctx);
  return status;
}

/* Two ids into the empty *p: the row's and its tenant's. */
static void id_tenant(pg_params_t *p, int64_t id, int64_t tenant_id) {
  pg_param_int(p, id);
  pg_param_int(p, tenant_id);
}

/* A failed compare-in-WHERE write on row (id, tenant): CONFLICT when the
 * row is there (it did not compare), else NOT_FOUND. */
static store_status_t conflict_if_exists(pg_conn_t *c, pg_stmt_id_t exists, int64_t id,
                                         int64_t tenant_id, const char *what) {
  pg_params_t k = {0};
  id_tenant(&k, id, tenant_id);
  PGresult *r;
  store_status_t status = pg_exec_row(c, exists, &k, &r, what);
  if (status == STORE_OK) {
    PQclear(r);
    status = STORE_CONFLICT;
  }
  return status;
}

/* ---- billing accounts ---- */

/* CONFLICT when the account would start outside its invariant (the
 * database's CHECK would refuse it too; this answers without an error). */
store_status_t pg_account_insert(store_t *base, nimbus_billing_account_t *a,
                                 const store_audit_t *audit) {
  int64_t now = (int64_t)time(NULL), id = 0;
  int64_t balance = a->mode == NIMBUS_ACCOUNT_PREPAID ? a->balance : 0;
  if (balance < 0 || a->credit_limit < 0) return STORE_CONFLICT; /* its invariant, unwritten */
  pg_params_t p = {0};
  pg_param_int(&p, a->tenant_id);
  PG_PARAM_FIELD(&p, a->code);
  PG_PARAM_FIELD(&p, a->name);
  pg_param_int(&p, (int)a->mode);
  pg_param_int(&p, a->everyone ? 1 : 0);
  pg_param_int(&p, a->restrict_printers ? 1 : 0);
  pg_param_int(&p, a->credit_limit);
  pg_param_int(&p, balance);
  pg_param_int(&p, now);
  pg_param_int(&p, a->closed_at);
  pg_store_t *st = pg_of(base);
  static const char what[] = "account insert";
  pg_conn_t *c = pg_acquire(st, what);
  if (!c) return STORE_ERROR;
  store_status_t status = pg_audit_begin(c, audit);
  PGresult *r = NULL;
  if (status == STORE_OK) status = pg_exec(c, PS_ACCOUNT_INSERT, &p, &r, what);
  if (status == STORE_ERROR && !strcmp(c->sqlstate, "23514")) status = STORE_CONFLICT;
  if (status == STORE_OK) {
    id = PQntuples(r) == 1 ? pg_get_int64(r, 0, 0) : 0;
    PQclear(r);
    if (!id) status = STORE_ERROR;
  }
  status = pg_audit_end(c, audit, status, id);
  pg_release(st, c);
  if (status == STORE_OK) {
    a->id = id;
    a->created_at = now;
    a->balance = balance;
    a->held = a->charged = 0;
  }
  return status;
}

store_status_t pg_account_get(store_t *base, nimbus_id_t tenant_id, nimbus_id_t id,
                              nimbus_billing_account_t *out) {
  pg_params_t p = {0};
  id_tenant(&p, id, tenant_id);
  return pg_read_one_row(pg_of(base), PS_ACCOUNT_GET, &p, read_account, out, "account get");
}

store_status_t pg_account_get_by_code(store_t *base, nimbus_id_t tenant_id, const char *code,
                                      nimbus_billing_account_t *out) {
  pg_params_t p = {0};
  pg_param_int(&p, tenant_id);
  pg_param_text(&p, code, SIZE_MAX);
  return pg_read_one_row(pg_of(base), PS_ACCOUNT_GET_BY_CODE, &p, read_account, out,
                         "account get by code");
}

typedef struct {
  nimbus_billing_account_t *a;
  const store_audit_t *audit;
} account_update_t;

/* The compare-in-WHERE update; a refusal is told from a missing row. */
static store_status_t account_update_tx(pg_conn_t *c, void *arg) {
  static const char what[] = "account update";
  account_update_t *u = arg;
  nimbus_billing_account_t *a = u->a;
  pg_params_t p = {0};
  id_tenant(&p, a->id, a->tenant_id);
  PG_PARAM_FIELD(&p, a->name);
  pg_param_int(&p, a->everyone ? 1 : 0);
  pg_param_int(&p, a->restrict_printers ? 1 : 0);
  pg_param_int(&p, a->credit_limit);
  pg_param_int(&p, a->closed_at);
  PGresult *r;
  store_status_t status = pg_exec(c, PS_ACCOUNT_UPDATE, &p, &r, what);
  if (status == STORE_ERROR && !strcmp(c->sqlstate, "23514")) return STORE_CONFLICT;
  if (status != STORE_OK) return status;
  nimbus_billing_account_t after;
  bool found = PQntuples(r) == 1;
  if (found) account_from_row(r, 0, &after);
  PQclear(r);
  if (!found) return conflict_if_exists(c, PS_ACCOUNT_CLOSED_AT, a->id, a->tenant_id, what);
  status = pg_audit_insert(c, u->audit, a->id);
  if (status == STORE_OK) *a = after;
  return status;
}

store_status_t pg_account_update(store_t *base, nimbus_billing_account_t *a,
                                 const store_audit_t *audit) {
  nimbus_billing_account_t in = *a;
  account_update_t u = {.a = a, .audit = audit};
  store_status_t status = pg_transaction(pg_of(base), account_update_tx, &u, "account update");
  if (status != STORE_OK) *a = in; /* a run that failed after reading back */
  return status;
}

store_status_t pg_account_list(store_t *base, nimbus_id_t tenant_id, bool include_closed,
                               store_account_cb cb, void *ctx) {
  pg_params_t p = {0};
  pg_param_int(&p, tenant_id);
  pg_param_int(&p, include_closed ? 1 : 0);
  return pg_read_rows(pg_of(base), PS_ACCOUNT_LIST, &p, account_row, (pg_list_cb_t){.account = cb},
                      ctx, "account list");
}

typedef struct {
  nimbus_id_t tenant_id, id;
  int64_t amount;
  const store_ledger_posting_t *posting;
  const store_audit_t *audit;
  nimbus_billing_account_t after;
} topup_t;

static store_status_t topup_tx(pg_conn_t *c, void *arg) {
  static const char what[] = "account topup";
  topup_t *t = arg;
  int64_t now = (int64_t)time(NULL);
  pg_params_t p = {0};
  id_tenant(&p, t->id, t->tenant_id);
  pg_param_int(&p, t->amount);
  PGresult *r;
  store_status_t status = pg_exec(c, PS_ACCOUNT_TOPUP, &p, &r, what);
  if (status == STORE_ERROR && !strcmp(c->sqlstate, "23514")) return STORE_CONFLICT;
  if (status != STORE_OK) return status;
  bool found = PQntuples(r) == 1;
  if (found) account_from_row(r, 0, &t->after);
  PQclear(r);
  if (!found) return conflict_if_exists(c, PS_ACCOUNT_CLOSED_AT, t->id, t->tenant_id, what);
  nimbus_id_t posting_id = 0;
  if (t->posting) status = pg_posting_insert(c, t->posting, 0, now, &posting_id);
  if (status == STORE_OK) status = pg_audit_insert(c, t->audit, t->id);
  return status;
}

store_status_t pg_account_topup(store_t *base, nimbus_id_t tenant_id, nimbus_id_t id,
                                int64_t amount, const store_ledger_posting_t *posting,
                                const store_audit_t *audit, nimbus_billing_account_t *out) {
  topup_t t = {
      .tenant_id = tenant_id, .id = id, .amount = amount, .posting = posting, .audit = audit};
  store_status_t status = pg_transaction(pg_of(base), topup_tx, &t, "account topup");
  if (status == STORE_OK && out) *out = t.after;
  return status;
}

/* ---- grants ---- */

/* The parameters of g into the empty *p: tenant, account, kind, ref. */
static void grant_params(pg_params_t *p, nimbus_id_t tenant_id, const nimbus_account_grant_t *g) {
  pg_param_int(p, tenant_id);
  pg_param_int(p, g->account_id);
  pg_param_int(p, (int)g->kind);
  pg_param_int(p, g->ref_id);
}

store_status_t pg_account_grant_add(store_t *base, nimbus_id_t tenant_id,
                                    const nimbus_account_grant_t *g, const store_audit_t *audit) {
  if (g->kind != NIMBUS_GRANT_USER && g->kind != NIMBUS_GRANT_PRINTER) return STORE_NOT_FOUND;
  pg_params_t p = {0};
  grant_params(&p, tenant_id, g);
  return pg_write_one(pg_of(base), PS_GRANT_INSERT, &p, true, NULL, audit, g->account_id,
                      "account grant add");
}

store_status_t pg_account_grant_delete(store_t *base, nimbus_id_t tenant_id,
                                       const nimbus_account_grant_t *g,
                                       const store_audit_t *audit) {
  pg_params_t p = {0};
  grant_params(&p, tenant_id, g);
  return pg_write_one(pg_of(base), PS_GRANT_DELETE, &p, true, NULL, audit, g->account_id,
                      "account grant delete");
}

store_status_t pg_account_grant_list(store_t *base, nimbus_id_t tenant_id, nimbus_id_t account_id,
                                     nimbus_grant_kind_t kind, store_grant_cb cb, void *ctx) {
  pg_params_t p = {0};
  pg_param_int(&p, tenant_id);
  pg_param_int(&p, account_id);
  pg_param_int(&p, (int)kind);
  return pg_read_rows(pg_of(base), PS_GRANT_LIST, &p, grant_row, (pg_list_cb_t){.grant = cb}, ctx,
                      "account grant list");
}

store_status_t pg_account_granted(store_t *base, nimbus_id_t tenant_id, nimbus_id_t account_id,
                                  nimbus_grant_kind_t kind, nimbus_id_t ref_id, bool *out) {
  static const char what[] = "account granted";
  nimbus_account_grant_t g = {.account_id = account_id, .kind = kind, .ref_id = ref_id};
  pg_params_t p = {0};
  grant_params(&p, tenant_id, &g);
  pg_store_t *st = pg_of(base);
  pg_conn_t *c = pg_acquire(st, what);
  if (!c) return STORE_ERROR;
  PGresult *r;
  store_status_t status = pg_exec(c, PS_GRANT_EXISTS, &p, &r, what);
  pg_release(st, c);
  if (status == STORE_OK) {
    *out = PQntuples(r) > 0;
    PQclear(r);
  }
  return status;
}

/* ---- purposes ---- */

typedef struct {
  nimbus_purpose_t *p;
  const store_audit_t *audit;
  bool insert;
  int64_t now;
  nimbus_purpose_t out; /* what the write returned, into *p once committed */
} purpose_write_t;

/* Make p the user's only default: lock the user (one default writer at a
 * time), then clear the others (keep: p's own id, 0 on insert). */
static store_status_t purpose_take_default(pg_conn_t *c, const nimbus_purpose_t *p, int64_t keep,
                                           const char *what) {
  pg_params_t k = {0};
  id_tenant(&k, p->user_id, p->tenant_id);
  PGresult *r;
  store_status_t status = pg_exec_row(c, PS_PURPOSE_LOCK_USER, &k, &r, what);
  if (status != STORE_OK) return status;
  PQclear(r);
  pg_params_t q = {0};
  pg_param_int(&q, p->tenant_id);
  pg_param_int(&q, p->user_id);
  pg_param_int(&q, keep);
  return pg_exec(c, PS_PURPOSE_CLEAR_DEFAULT, &q, NULL, what);
}

/* Insert or update, the default taken first when p is it. */
static store_status_t purpose_write_tx(pg_conn_t *c, void *arg) {
  purpose_write_t *w = arg;
  const char *what = w->insert ? "purpose insert" : "purpose update";
  w->now = (int64_t)time(NULL);
  w->out = *w->p;
  nimbus_purpose_t *o = &w->out;
  store_status_t status = STORE_OK;
  PGresult *r;
  if (!w->insert) { /* whose purpose it is: the row's, locked */
    pg_params_t k = {0};
    id_tenant(&k, o->id, o->tenant_id);
    status = pg_exec_row(c, PS_PURPOSE_LOCK, &k, &r, what);
    if (status != STORE_OK) return status;
    o->user_id = pg_get_int64(r, 0, 0);
    PQclear(r);
  }
  if (o->is_default) status = purpose_take_default(c, o, w->insert ? 0 : o->id, what);
  if (status != STORE_OK) return status;
  pg_params_t p = {0};
  if (w->insert) {
    pg_param_int(&p, o->tenant_id);
    pg_param_int(&p, o->user_id);
  } else {
    id_tenant(&p, o->id, o->tenant_id);
  }
  PG_PARAM_FIELD(&p, o->name);
  pg_param_id_or_null(&p, o->account_id);
  pg_param_int(&p, o->is_default ? 1 : 0);
  PG_PARAM_FIELD(&p, o->defaults);
  pg_param_int(&p, w->now);
  status = pg_exec(c, w->insert ? PS_PURPOSE_INSERT : PS_PURPOSE_UPDATE, &p, &r, what);
  if (status != STORE_OK) return status;
  if (PQntuples(r) != 1) {
    PQclear(r);
    return STORE_NOT_FOUND;
  }
  if (w->insert) {
    o->id = pg_get_int64(r, 0, 0);
    PG_GET_FIELD(r, 0, 1, o->account_code);
    o->created_at = w->now;
  } else {
    o->user_id = pg_get_int64(r, 0, 0);
    o->created_at = pg_get_int64(r, 0, 1);
    PG_GET_FIELD(r, 0, 2, o->account_code);
  }
  PQclear(r);
  o->updated_at = w->now;
  return pg_audit_insert(c, w->audit, o->id);
}

static store_status_t purpose_write(store_t *base, nimbus_purpose_t *p, bool insert,
                                    const store_audit_t *audit) {
  purpose_write_t w = {.p = p, .audit = audit, .insert = insert};
  store_status_t status = pg_transaction(pg_of(base), purpose_write_tx, &w,
                                         insert ? "purpose insert" : "purpose update");
  if (status == STORE_OK) *p = w.out;
  return status;
}

store_status_t pg_purpose_insert(store_t *base, nimbus_purpose_t *p, const store_audit_t *audit) {
  return purpose_write(base, p, true, audit);
}

store_status_t pg_purpose_update(store_t *base, nimbus_purpose_t *p, const store_audit_t *audit) {
  return purpose_write(base, p, false, audit);
}

store_status_t pg_purpose_get(store_t *base, nimbus_id_t tenant_id, nimbus_id_t id,
                              nimbus_purpose_t *out) {
  pg_params_t p = {0};
  id_tenant(&p, id, tenant_id);
  return pg_read_one_row(pg_of(base), PS_PURPOSE_GET, &p, read_purpose, out, "purpose get");
}

store_status_t pg_purpose_get_by_name(store_t *base, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                      const char *name, nimbus_purpose_t *out) {
  pg_params_t p = {0};
  pg_param_int(&p, tenant_id);
  pg_param_int(&p, user_id);
  pg_param_text(&p, name, SIZE_MAX);
  return pg_read_one_row(pg_of(base), PS_PURPOSE_GET_BY_NAME, &p, read_purpose, out,
                         "purpose get by name");
}

store_status_t pg_purpose_get_default(store_t *base, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                      nimbus_purpose_t *out) {
  pg_params_t p = {0};
  pg_param_int(&p, tenant_id);
  pg_param_int(&p, user_id);
  return pg_read_one_row(pg_of(base), PS_PURPOSE_GET_DEFAULT, &p, read_purpose, out,
                         "purpose get default");
}

store_status_t pg_purpose_delete(store_t *base, nimbus_id_t tenant_id, nimbus_id_t id,
                                 const store_audit_t *audit) {
  pg_params_t p = {0};
  id_tenant(&p, id, tenant_id);
  return pg_write_one(pg_of(base), PS_PURPOSE_DELETE, &p, true, NULL, audit, id, "purpose delete");
}

store_status_t pg_purpose_list(store_t *base, nimbus_id_t tenant_id, nimbus_id_t user_id,
                               store_purpose_cb cb, void *ctx) {
  pg_params_t p = {0};
  pg_param_int(&p, tenant_id);
  pg_param_int(&p, user_id);
  return pg_read_rows(pg_of(base), PS_PURPOSE_LIST, &p, purpose_row, (pg_list_cb_t){.purpose = cb},
                      ctx, "purpose list");
}

/* ---- saved payment methods ---- */

/* The sealed reference of m, within its buffer. */
static size_t sealed_len(const nimbus_payment_method_t *m) {
  return m->sealed_len <= 0                  ? 0
         : m->sealed_len > NIMBUS_SEALED_MAX ? NIMBUS_SEALED_MAX
                                             : (size_t)m->sealed_len;
}

/* NOT_FOUND when the user is not the tenant's; CONFLICT when another
 * user's registration has this setup_id. */
store_status_t pg_payment_method_put(store_t *base, nimbus_payment_method_t *m,
                                     const store_audit_t *audit) {
  int64_t now = (int64_t)time(NULL), id = 0;
  pg_params_t p = {0};
  pg_param_int(&p, m->tenant_id);
  pg_param_int(&p, m->user_id);
  PG_PARAM_FIELD(&p, m->provider);
  pg_param_int(&p, (int)m->state);
  PG_PARAM_FIELD(&p, m->setup_id);
  PG_PARAM_FIELD(&p, m->setup_tx);
  PG_PARAM_FIELD(&p, m->setup_url);
  pg_param_bytes(&p, m->sealed, sealed_len(m));
  PG_PARAM_FIELD(&p, m->display);
  pg_param_int(&p, now);
  store_status_t status = pg_write_one(pg_of(base), PS_METHOD_PUT, &p, false, &id, audit,
                                       m->user_id, "payment method put");
  if (status == STORE_OK) {
    m->id = id;
    m->created_at = m->updated_at = now;
  }
  return status;
}

store_status_t pg_payment_method_get(store_t *base, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                     nimbus_payment_method_t *out) {
  pg_params_t p = {0};
  pg_param_int(&p, tenant_id);
  pg_param_int(&p, user_id);
  return pg_read_one_row(pg_of(base), PS_METHOD_GET, &p, read_method, out, "payment method get");
}

store_status_t pg_payment_method_get_by_setup(store_t *base, const char *setup_id,
                                              nimbus_payment_method_t *out) {
  if (!setup_id || !setup_id[0]) return STORE_NOT_FOUND;
  pg_params_t p = {0};
  pg_param_text(&p, setup_id, SIZE_MAX);
  return pg_read_one_row(pg_of(base), PS_METHOD_GET_BY_SETUP, &p, read_method, out,
                         "payment method get by setup");
}

typedef struct {
  nimbus_payment_method_t *m;
  nimbus_method_state_t expected;
  const store_audit_t *audit;
  nimbus_payment_method_t after;
} method_update_t;

static store_status_t method_update_tx(pg_conn_t *c, void *arg) {
  static const char what[] = "payment method update";
  method_update_t *u = arg;
  const nimbus_payment_method_t *m = u->m;
  pg_params_t p = {0};
  id_tenant(&p, m->id, m->tenant_id);
  pg_param_int(&p, (int)u->expected);
  pg_param_int(&p, (int)m->state);
  PG_PARAM_FIELD(&p, m->setup_tx);
  PG_PARAM_FIELD(&p, m->setup_url);
  pg_param_bytes(&p, m->sealed, sealed_len(m));
  PG_PARAM_FIELD(&p, m->display);
  pg_param_int(&p, (int64_t)time(NULL));
  PGresult *r;
  store_status_t status = pg_exec(c, PS_METHOD_UPDATE, &p, &r, what);
  if (status != STORE_OK) return status;
  bool found = PQntuples(r) == 1;
  if (found) method_from_row(r, 0, &u->after);
  PQclear(r);
  if (!found) return conflict_if_exists(c, PS_METHOD_EXISTS, m->id, m->tenant_id, what);
  return pg_audit_insert(c, u->audit, m->id);
}

store_status_t pg_payment_method_update(store_t *base, nimbus_payment_method_t *m,
                                        nimbus_method_state_t expected,
                                        const store_audit_t *audit) {
  method_update_t u = {.m = m, .expected = expected, .audit = audit};
  store_status_t status =
      pg_transaction(pg_of(base), method_update_tx, &u, "payment method update");
  if (status == STORE_OK) *m = u.after;
  return status;
}

store_status_t pg_payment_method_delete(store_t *base, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                        const store_audit_t *audit) {
  pg_params_t p = {0};
  pg_param_int(&p, tenant_id);
  pg_param_int(&p, user_id);
  return pg_write_one(pg_of(base), PS_METHOD_DELETE, &p, true, NULL, audit, user_id,
                      "payment method delete");
}
