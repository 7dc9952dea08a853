/*
 * store-sqlite-billing.c: billing by purpose in the SQLite backend
 * (store.h "billing by purpose", issue 13): shared billing accounts and
 * their grants, users' purposes, saved payment methods, the charge of
 * each job released under a purpose (hold, compare-and-set updates that
 * move the account, the due list), a job's job-account-id at the panel
 * and the print log.
 *
 * Each account's invariant (model.h) is a CHECK of billing_accounts
 * (migration 14): a hold or a charge that would break it fails inside the
 * database, under the write lock, whatever other connections do at the
 * same moment; SQLITE_CONSTRAINT_CHECK on an account row is reported as
 * STORE_CONFLICT (STORE_CHARGE_LIMIT), and the transaction it ran in is
 * rolled back, so nothing is written.  Writes run on the main connection
 * under st->mu in BEGIN IMMEDIATE ... COMMIT when they are more than one
 * statement (or audited); reads take a read connection.  Every statement
 * names the tenant: another tenant's row is NOT_FOUND.
 */
#include "store-sqlite-private.h"

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
/* 23 columns (charge_from_row). */
#define CHARGE_COLS                                                                             \
  "c.job_id, c.tenant_id, c.user_id, c.purpose_id, c.purpose_name, coalesce(c.account_id, 0), " \
  "coalesce(ba.code, ''), c.device_id, c.state, c.currency, c.hold, c.print_fee, "              \
  "c.service_fee, c.total, c.impressions, c.attempts, c.next_try_at, c.order_id, "              \
  "c.provider_tx, c.reason, c.created_at, c.updated_at, c.charged_at"
#define CHARGE_NCOLS 23
#define CHARGE_FROM "FROM job_charges c LEFT JOIN billing_accounts ba ON ba.id = c.account_id"
/* 9 columns (quote_from_row). */
#define QUOTE_COLS                                                                          \
  "jq.job_id, jq.tenant_id, jq.price_table_id, jq.currency, jq.print_fee, jq.service_fee, " \
  "jq.total, jq.detail, jq.computed_at"
/* The print log's columns: the job (JOB_COLS, 32), whether it has a
 * charge, the charge, whether it has a quote, the quote. */
#define LOG_JOB_NCOLS 32
#define LOG_CHARGE_AT (LOG_JOB_NCOLS + 1)
#define LOG_QUOTE_AT (LOG_CHARGE_AT + CHARGE_NCOLS + 1)

static const char *const billing_sql[S_COUNT - S_BILLING_FIRST] = {
#define B(id) [(id)-S_BILLING_FIRST]
    B(S_ACCOUNT_INSERT) =
        "INSERT INTO billing_accounts (tenant_id, code, name, mode, everyone, restrict_printers, "
        "credit_limit, balance, created_at, closed_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING id",
    B(S_ACCOUNT_GET) =
        "SELECT " ACCOUNT_COLS " FROM billing_accounts WHERE id = ?1 AND tenant_id = ?2",
    B(S_ACCOUNT_GET_BY_CODE) =
        "SELECT " ACCOUNT_COLS " FROM billing_accounts WHERE tenant_id = ?1 AND code = ?2",
    /* Closing is final (docs/BILLING.md): a stale write cannot reopen. */
    B(S_ACCOUNT_UPDATE) =
        "UPDATE billing_accounts SET name = ?3, everyone = ?4, restrict_printers = ?5, "
        "credit_limit = ?6, closed_at = CASE WHEN closed_at <> 0 THEN closed_at ELSE ?7 END "
        "WHERE id = ?1 AND tenant_id = ?2 RETURNING " ACCOUNT_COLS,
    B(S_ACCOUNT_LIST) = "SELECT " ACCOUNT_COLS
                        " FROM billing_accounts WHERE tenant_id = ?1 AND (?2 OR closed_at = 0) "
                        "ORDER BY code",
    B(S_ACCOUNT_TOPUP) =
        "UPDATE billing_accounts SET balance = balance + ?3 "
        "WHERE id = ?1 AND tenant_id = ?2 RETURNING " ACCOUNT_COLS,
    B(S_ACCOUNT_CLOSED_AT) =
        "SELECT closed_at FROM billing_accounts WHERE id = ?1 AND tenant_id = ?2",
    B(S_ACCOUNT_MOVE) =
        "UPDATE billing_accounts SET held = held + ?3, balance = balance + ?4, "
        "charged = charged + ?5 WHERE id = ?1 AND tenant_id = ?2",

    /* ?3 kind, ?4 the user or the printer */
    B(S_GRANT_INSERT) =
        "INSERT INTO account_grants (tenant_id, account_id, kind, user_id, device_id) "
        "VALUES (?1, ?2, ?3, CASE WHEN ?3 = 1 THEN ?4 END, CASE WHEN ?3 = 2 THEN ?4 END)",
    B(S_GRANT_DELETE) =
        "DELETE FROM account_grants WHERE tenant_id = ?1 AND account_id = ?2 "
        "AND ((?3 = 1 AND kind = 1 AND user_id = ?4) "
        "OR (?3 = 2 AND kind = 2 AND device_id = ?4))",
    B(S_GRANT_LIST) =
        "SELECT g.account_id, g.kind, coalesce(g.user_id, g.device_id), "
        "coalesce(u.name, d.name, '') FROM account_grants g "
        "LEFT JOIN users u ON u.id = g.user_id LEFT JOIN devices d ON d.id = g.device_id "
        "WHERE g.tenant_id = ?1 AND g.account_id = ?2 AND (?3 = 0 OR g.kind = ?3) "
        "ORDER BY g.kind, 4",
    B(S_GRANT_EXISTS) =
        "SELECT 1 FROM account_grants WHERE tenant_id = ?1 AND account_id = ?2 "
        "AND ((?3 = 1 AND kind = 1 AND user_id = ?4) "
        "OR (?3 = 2 AND kind = 2 AND device_id = ?4))",

    B(S_PURPOSE_INSERT) =
        "INSERT INTO purposes (tenant_id, user_id, name, account_id, is_default, defaults, "
        "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) RETURNING id",
    B(S_PURPOSE_GET) =
        "SELECT " PURPOSE_COLS " " PURPOSE_FROM " WHERE p.id = ?1 AND p.tenant_id = ?2",
    B(S_PURPOSE_GET_BY_NAME) = "SELECT " PURPOSE_COLS " " PURPOSE_FROM
                               " WHERE p.tenant_id = ?1 AND p.user_id = ?2 AND p.name = ?3",
    B(S_PURPOSE_GET_DEFAULT) = "SELECT " PURPOSE_COLS " " PURPOSE_FROM
                               " WHERE p.tenant_id = ?1 AND p.user_id = ?2 AND p.is_default = 1",
    /* The other purposes of a user stop being the default: the user of
     * purpose ?3 (an update), or ?2 when ?3 is 0 (an insert). */
    B(S_PURPOSE_CLEAR_DEFAULT) =
        "UPDATE purposes SET is_default = 0, updated_at = ?4 WHERE tenant_id = ?1 "
        "AND is_default = 1 AND id <> ?3 AND user_id = coalesce((SELECT o.user_id FROM "
        "purposes o WHERE o.id = ?3 AND o.tenant_id = ?1), ?2)",
    B(S_PURPOSE_UPDATE) =
        "UPDATE purposes SET name = ?3, account_id = ?4, is_default = ?5, defaults = ?6, "
        "updated_at = ?7 WHERE id = ?1 AND tenant_id = ?2 RETURNING user_id, created_at",
    B(S_PURPOSE_DELETE) = "DELETE FROM purposes WHERE id = ?1 AND tenant_id = ?2",
    B(S_PURPOSE_LIST) = "SELECT " PURPOSE_COLS " " PURPOSE_FROM
                        " WHERE p.tenant_id = ?1 AND (?2 = 0 OR p.user_id = ?2) "
                        "ORDER BY p.name, p.user_id",

    B(S_METHOD_INSERT) =
        "INSERT INTO payment_methods (tenant_id, user_id, provider, state, setup_id, setup_tx, "
        "setup_url, sealed, display, created_at, updated_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10) RETURNING id",
    B(S_METHOD_GET) =
        "SELECT " METHOD_COLS " FROM payment_methods WHERE tenant_id = ?1 AND user_id = ?2",
    B(S_METHOD_GET_BY_SETUP) = "SELECT " METHOD_COLS " FROM payment_methods WHERE setup_id = ?1",
    B(S_METHOD_UPDATE) =
        "UPDATE payment_methods SET state = ?4, setup_tx = ?5, setup_url = ?6, sealed = ?7, "
        "display = ?8, updated_at = ?9 WHERE id = ?1 AND tenant_id = ?2 AND state = ?3",
    B(S_METHOD_EXISTS) = "SELECT 1 FROM payment_methods WHERE id = ?1 AND tenant_id = ?2",
    B(S_METHOD_DELETE) = "DELETE FROM payment_methods WHERE tenant_id = ?1 AND user_id = ?2",

    /* Insert, or replace a RELEASED one; no row when the job is not the
     * tenant's (nothing changes then, as when the charge is not RELEASED). */
    B(S_CHARGE_HOLD) =
        "INSERT INTO job_charges (job_id, tenant_id, user_id, purpose_id, purpose_name, "
        "account_id, device_id, state, currency, hold, print_fee, service_fee, total, "
        "impressions, attempts, next_try_at, order_id, provider_tx, reason, created_at, "
        "updated_at, charged_at) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, ?8, ?9, ?10, ?11, ?12, "
        "?13, ?14, ?15, ?16, ?17, ?18, ?19, ?19, ?20 FROM jobs WHERE id = ?1 AND tenant_id = ?2 "
        "ON CONFLICT (job_id) DO UPDATE SET user_id = excluded.user_id, "
        "purpose_id = excluded.purpose_id, purpose_name = excluded.purpose_name, "
        "account_id = excluded.account_id, device_id = excluded.device_id, state = 1, "
        "currency = excluded.currency, hold = excluded.hold, print_fee = excluded.print_fee, "
        "service_fee = excluded.service_fee, total = excluded.total, "
        "impressions = excluded.impressions, attempts = excluded.attempts, "
        "next_try_at = excluded.next_try_at, order_id = excluded.order_id, "
        "provider_tx = excluded.provider_tx, reason = excluded.reason, "
        "created_at = excluded.created_at, updated_at = excluded.updated_at, "
        "charged_at = excluded.charged_at "
        "WHERE job_charges.state = 3 AND job_charges.tenant_id = excluded.tenant_id",
    B(S_CHARGE_GET) =
        "SELECT " CHARGE_COLS " " CHARGE_FROM " WHERE c.job_id = ?1 AND c.tenant_id = ?2",
    /* compare ?3, set ?4..; the account to move comes back */
    B(S_CHARGE_UPDATE) =
        "UPDATE job_charges SET state = ?4, print_fee = ?5, service_fee = ?6, total = ?7, "
        "impressions = ?8, attempts = ?9, next_try_at = ?10, order_id = ?11, provider_tx = ?12, "
        "reason = ?13, charged_at = ?14, updated_at = ?15 "
        "WHERE job_id = ?1 AND tenant_id = ?2 AND state = ?3 RETURNING coalesce(account_id, 0)",
    B(S_CHARGE_EXISTS) = "SELECT 1 FROM job_charges WHERE job_id = ?1 AND tenant_id = ?2",
    /* store.h store_charge_list_due: ?1 after, ?2 now, ?3 stale_before, ?4 max */
    B(S_CHARGE_LIST_DUE) = "SELECT " CHARGE_COLS ", j.state " CHARGE_FROM
                           " JOIN jobs j ON j.id = c.job_id "
                           "WHERE c.state IN (1, 4, 5) AND c.job_id > ?1 "
                           "AND ((c.state = 1 AND (j.state >= 6 OR j.state = 2)) "
                           "OR (c.state = 4 AND c.next_try_at <= ?2) "
                           "OR (c.state = 5 AND c.updated_at < ?3)) "
                           "ORDER BY c.job_id LIMIT ?4",

    /* received or held only */
    B(S_JOB_SET_ACCOUNT) =
        "UPDATE jobs SET account_id = ?3 WHERE id = ?1 AND tenant_id = ?2 "
        "AND state IN (1, 2)",
    B(S_PRINT_LOG) =
        "SELECT " JOB_COLS ", c.job_id IS NOT NULL, " CHARGE_COLS
        ", jq.job_id IS NOT NULL, " QUOTE_COLS " " JOB_FROM
        " LEFT JOIN job_charges c ON c.job_id = j.id "
        "LEFT JOIN billing_accounts ba ON ba.id = c.account_id "
        "LEFT JOIN job_quotes jq ON jq.job_id = j.id "
        "WHERE j.tenant_id = ?1 AND j.created_at >= ?2 AND (?3 = 0 OR j.created_at < ?3) "
        "AND (?4 = 0 OR j.owner_id = ?4) AND (?5 = 0 OR c.account_id = ?5) "
        "AND (?6 = 0 OR c.purpose_id = ?6) AND (?7 = 0 OR j.device_id = ?7) "
        "AND (?8 = 0 OR (c.job_id IS NOT NULL AND c.account_id IS NULL)) "
        "AND (?9 = 0 OR j.id < ?9) ORDER BY j.id DESC LIMIT ?10",
#undef B
};

const char *sqlite_billing_sql(stmt_id_t id) {
  return id >= S_BILLING_FIRST && id < S_COUNT ? billing_sql[id - S_BILLING_FIRST] : NULL;
}

#define COPY(s, col, arr) sqlite_copy_column((s), (col), (arr), sizeof(arr))
#define INTS(...) ((const int64_t[]){__VA_ARGS__}), (int)(sizeof((int64_t[]){__VA_ARGS__}) / 8)

/* ---- row readers (column order as in the statements above) ---- */

static void account_from_row(sqlite3_stmt *s, nimbus_billing_account_t *a) {
  memset(a, 0, sizeof *a);
  a->id = sqlite3_column_int64(s, 0);
  a->tenant_id = sqlite3_column_int64(s, 1);
  COPY(s, 2, a->code);
  COPY(s, 3, a->name);
  a->mode = (nimbus_account_mode_t)sqlite_column_int(s, 4);
  a->everyone = sqlite3_column_int(s, 5) != 0;
  a->restrict_printers = sqlite3_column_int(s, 6) != 0;
  a->credit_limit = sqlite3_column_int64(s, 7);
  a->balance = sqlite3_column_int64(s, 8);
  a->charged = sqlite3_column_int64(s, 9);
  a->held = sqlite3_column_int64(s, 10);
  a->created_at = sqlite3_column_int64(s, 11);
  a->closed_at = sqlite3_column_int64(s, 12);
}

static void purpose_from_row(sqlite3_stmt *s, nimbus_purpose_t *p) {
  memset(p, 0, sizeof *p);
  p->id = sqlite3_column_int64(s, 0);
  p->tenant_id = sqlite3_column_int64(s, 1);
  p->user_id = sqlite3_column_int64(s, 2);
  COPY(s, 3, p->name);
  p->account_id = sqlite3_column_int64(s, 4);
  COPY(s, 5, p->account_code);
  p->is_default = sqlite3_column_int(s, 6) != 0;
  COPY(s, 7, p->defaults);
  p->created_at = sqlite3_column_int64(s, 8);
  p->updated_at = sqlite3_column_int64(s, 9);
}

static void method_from_row(sqlite3_stmt *s, nimbus_payment_method_t *m) {
  memset(m, 0, sizeof *m);
  m->id = sqlite3_column_int64(s, 0);
  m->tenant_id = sqlite3_column_int64(s, 1);
  m->user_id = sqlite3_column_int64(s, 2);
  COPY(s, 3, m->provider);
  m->state = (nimbus_method_state_t)sqlite_column_int(s, 4);
  COPY(s, 5, m->setup_id);
  COPY(s, 6, m->setup_tx);
  COPY(s, 7, m->setup_url);
  const void *blob = sqlite3_column_blob(s, 8);
  int n = sqlite3_column_bytes(s, 8);
  if (n > NIMBUS_SEALED_MAX) n = NIMBUS_SEALED_MAX; /* writes refuse longer ones */
  if (blob && n > 0) memcpy(m->sealed, blob, (size_t)n);
  m->sealed_len = blob ? n : 0;
  COPY(s, 9, m->display);
  m->created_at = sqlite3_column_int64(s, 10);
  m->updated_at = sqlite3_column_int64(s, 11);
}

/* A charge from CHARGE_COLS starting at column at. */
static void charge_from_row(sqlite3_stmt *s, int at, nimbus_job_charge_t *c) {
  memset(c, 0, sizeof *c);
  c->job_id = sqlite3_column_int64(s, at + 0);
  c->tenant_id = sqlite3_column_int64(s, at + 1);
  c->user_id = sqlite3_column_int64(s, at + 2);
  c->purpose_id = sqlite3_column_int64(s, at + 3);
  COPY(s, at + 4, c->purpose_name);
  c->account_id = sqlite3_column_int64(s, at + 5);
  COPY(s, at + 6, c->account_code);
  c->device_id = sqlite3_column_int64(s, at + 7);
  c->state = (nimbus_charge_state_t)sqlite_column_int(s, at + 8);
  COPY(s, at + 9, c->currency);
  c->hold = sqlite3_column_int64(s, at + 10);
  c->print_fee = sqlite3_column_int64(s, at + 11);
  c->service_fee = sqlite3_column_int64(s, at + 12);
  c->total = sqlite3_column_int64(s, at + 13);
  c->impressions = sqlite_column_int(s, at + 14);
  c->attempts = sqlite_column_int(s, at + 15);
  c->next_try_at = sqlite3_column_int64(s, at + 16);
  COPY(s, at + 17, c->order_id);
  COPY(s, at + 18, c->provider_tx);
  COPY(s, at + 19, c->reason);
  c->created_at = sqlite3_column_int64(s, at + 20);
  c->updated_at = sqlite3_column_int64(s, at + 21);
  c->charged_at = sqlite3_column_int64(s, at + 22);
}

/* A quote from QUOTE_COLS starting at column at. */
static void quote_from_row(sqlite3_stmt *s, int at, nimbus_job_quote_t *q) {
  memset(q, 0, sizeof *q);
  q->job_id = sqlite3_column_int64(s, at + 0);
  q->tenant_id = sqlite3_column_int64(s, at + 1);
  q->price_table_id = sqlite3_column_int64(s, at + 2);
  COPY(s, at + 3, q->currency);
  q->print_fee = sqlite3_column_int64(s, at + 4);
  q->service_fee = sqlite3_column_int64(s, at + 5);
  q->total = sqlite3_column_int64(s, at + 6);
  COPY(s, at + 7, q->detail);
  q->computed_at = sqlite3_column_int64(s, at + 8);
}

static void read_account(sqlite3_stmt *s, void *out) {
  account_from_row(s, out);
}
static void read_purpose(sqlite3_stmt *s, void *out) {
  purpose_from_row(s, out);
}
static void read_method(sqlite3_stmt *s, void *out) {
  method_from_row(s, out);
}
static void read_charge(sqlite3_stmt *s, void *out) {
  charge_from_row(s, 0, out);
}

static bool account_row(sqlite3_stmt *s, list_cb_t cb, void *ctx) {
  nimbus_billing_account_t a;
  account_from_row(s, &a);
  return cb.account(&a, ctx);
}

static bool grant_row(sqlite3_stmt *s, list_cb_t cb, void *ctx) {
  nimbus_account_grant_t g;
  memset(&g, 0, sizeof g);
  g.account_id = sqlite3_column_int64(s, 0);
  g.kind = (nimbus_grant_kind_t)sqlite_column_int(s, 1);
  g.ref_id = sqlite3_column_int64(s, 2);
  COPY(s, 3, g.ref_name);
  return cb.grant(&g, ctx);
}

static bool purpose_row(sqlite3_stmt *s, list_cb_t cb, void *ctx) {
  nimbus_purpose_t p;
  purpose_from_row(s, &p);
  return cb.purpose(&p, ctx);
}

static bool charge_row(sqlite3_stmt *s, list_cb_t cb, void *ctx) {
  nimbus_job_charge_t c;
  charge_from_row(s, 0, &c);
  return cb.charge(&c, (nimbus_job_state_t)sqlite_column_int(s, CHARGE_NCOLS), ctx);
}

/* The print log's records are large: one set per row, on the heap. */
static bool log_row(sqlite3_stmt *s, list_cb_t cb, void *ctx) {
  struct {
    nimbus_job_t job;
    nimbus_job_charge_t charge;
    nimbus_job_quote_t quote;
  } *r = malloc(sizeof *r);
  if (!r) return false;
  sqlite_job_from_row(s, &r->job);
  bool has_charge = sqlite3_column_int(s, LOG_JOB_NCOLS) != 0;
  bool has_quote = sqlite3_column_int(s, LOG_QUOTE_AT - 1) != 0;
  if (has_charge) charge_from_row(s, LOG_CHARGE_AT, &r->charge);
  if (has_quote) quote_from_row(s, LOG_QUOTE_AT, &r->quote);
  bool more =
      cb.print_log(&r->job, has_charge ? &r->charge : NULL, has_quote ? &r->quote : NULL, ctx);
  free(r);
  return more;
}

/* ---- shapes shared by the operations ---- */

typedef void (*read_fn)(sqlite3_stmt *s, void *out);
typedef void (*bind_fn)(sqlite3_stmt *s, const void *arg);

/* Read one row of statement id, bound with ints[0..nints) as ?1.. and
 * text (when not NULL) after them, into out with `read`. */
static store_status_t read_one(sqlite_store_t *st, stmt_id_t id, const int64_t *ints, int nints,
                               const char *text, read_fn read, void *out, const char *what) {
  if (!(st = sqlite_read_lock(st))) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, id);
  if (s) {
    for (int i = 0; i < nints; i++) sqlite3_bind_int64(s, i + 1, ints[i]);
    if (text) sqlite3_bind_text(s, nints + 1, text, -1, SQLITE_STATIC);
    status = sqlite_step_row_locked(st, s, what);
    if (status == STORE_OK) read(s, out);
    sqlite_stmt_reset(s);
  }
  sqlite_read_unlock(st);
  return status;
}

/* Rows of statement id bound with bind(s, arg), each to each(s, cb, ctx). */
static store_status_t read_rows(sqlite_store_t *st, stmt_id_t id, bind_fn bind, const void *arg,
                                row_fn each, list_cb_t cb, void *ctx, const char *what) {
  if (!(st = sqlite_read_lock(st))) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, id);
  if (s) {
    bind(s, arg);
    status = sqlite_for_each_row_locked(st, s, what, each, cb, ctx);
  }
  sqlite_read_unlock(st);
  return status;
}

/* A one-statement write (bound by bind(s, arg)) that must touch a row,
 * with its audit row in the same transaction. */
static store_status_t write_changes(sqlite_store_t *st, stmt_id_t id, bind_fn bind, const void *arg,
                                    const store_audit_t *audit, int64_t audit_id,
                                    const char *what) {
  if (!sqlite_lock(st)) return STORE_ERROR;
  store_status_t status = sqlite_audit_begin_locked(st, audit);
  sqlite3_stmt *s = status == STORE_OK ? sqlite_stmt_get_locked(st, id) : NULL;
  if (s) {
    bind(s, arg);
    status = sqlite_exec_changes_locked(st, s, what);
  } else if (status == STORE_OK) {
    status = STORE_ERROR;
  }
  status = sqlite_audit_end_locked(st, audit, status, audit_id);
  sqlite_unlock(st);
  return status;
}

/*
 * Step a bound statement on an account row once: STORE_OK with a row
 * (left current; the caller reads it, then resets) or without one when
 * it returns none but touched a row, STORE_NOT_FOUND when it touched none,
 * STORE_CONFLICT when a CHECK refused it (the account's invariant: an
 * expected refusal, not logged), else as sqlite_fail_locked.  A statement
 * that failed is reset here.
 */
static store_status_t step_account_locked(sqlite_store_t *st, sqlite3_stmt *s, const char *what,
                                          bool *row) {
  int rc = sqlite3_step(s);
  *row = rc == SQLITE_ROW;
  if (rc == SQLITE_ROW) return STORE_OK;
  store_status_t status;
  if (rc == SQLITE_DONE)
    status = sqlite3_changes(st->db) > 0 ? STORE_OK : STORE_NOT_FOUND;
  else if (rc == SQLITE_CONSTRAINT_CHECK)
    status = STORE_CONFLICT;
  else
    status = sqlite_fail_locked(st, rc, what);
  sqlite_stmt_reset(s);
  return status;
}

/* Does statement id (bound ?1 id, ?2 tenant) find a row?  For telling a
 * failed compare (CONFLICT) from a row that is not there (NOT_FOUND). */
static store_status_t missing_or_conflict_locked(sqlite_store_t *st, stmt_id_t id,
                                                 nimbus_id_t row_id, nimbus_id_t tenant_id,
                                                 const char *what) {
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, id);
  if (!s) return STORE_ERROR;
  sqlite3_bind_int64(s, 1, row_id);
  sqlite3_bind_int64(s, 2, tenant_id);
  int64_t one;
  store_status_t status = sqlite_query_int64_locked(st, s, what, &one);
  return status == STORE_OK ? STORE_CONFLICT : status;
}

/* Commit when status is OK, else roll back; the final status. */
static store_status_t tx_end_locked(sqlite_store_t *st, store_status_t status) {
  if (status == STORE_OK) status = sqlite_tx_commit_locked(st);
  if (status != STORE_OK) sqlite_tx_rollback_locked(st);
  return status;
}

/* ---- accounts ---- */

store_status_t sqlite_account_insert(store_t *base_, nimbus_billing_account_t *a,
                                     const store_audit_t *audit) {
  static const char what[] = "account insert";
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  int64_t now = (int64_t)time(NULL), id = 0;
  int64_t balance = a->mode == NIMBUS_ACCOUNT_PREPAID ? a->balance : 0;
  store_status_t status = sqlite_audit_begin_locked(st, audit);
  sqlite3_stmt *s = status == STORE_OK ? sqlite_stmt_get_locked(st, S_ACCOUNT_INSERT) : NULL;
  if (s) {
    sqlite3_bind_int64(s, 1, a->tenant_id);
    BIND_FIELD(s, 2, a->code);
    BIND_FIELD(s, 3, a->name);
    sqlite3_bind_int(s, 4, (int)a->mode);
    sqlite3_bind_int(s, 5, a->everyone ? 1 : 0);
    sqlite3_bind_int(s, 6, a->restrict_printers ? 1 : 0);
    sqlite3_bind_int64(s, 7, a->credit_limit);
    sqlite3_bind_int64(s, 8, balance);
    sqlite3_bind_int64(s, 9, now);
    sqlite3_bind_int64(s, 10, a->closed_at);
    bool row = false;
    status = step_account_locked(st, s, what, &row); /* a code taken, or a CHECK: CONFLICT */
    if (status == STORE_OK && row) id = sqlite3_column_int64(s, 0);
    if (status == STORE_OK && !row) status = STORE_ERROR;
    if (row) sqlite_stmt_reset(s);
  } else if (status == STORE_OK) {
    status = STORE_ERROR;
  }
  status = sqlite_audit_end_locked(st, audit, status, id);
  sqlite_unlock(st);
  if (status == STORE_OK) {
    a->id = id;
    a->created_at = now;
    a->balance = balance;
    a->held = a->charged = 0;
  }
  return status;
}

store_status_t sqlite_account_get(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id,
                                  nimbus_billing_account_t *out) {
  return read_one(sqlite_of(base_), S_ACCOUNT_GET, INTS(id, tenant_id), NULL, read_account, out,
                  "account get");
}

store_status_t sqlite_account_get_by_code(store_t *base_, nimbus_id_t tenant_id, const char *code,
                                          nimbus_billing_account_t *out) {
  if (!code) return STORE_NOT_FOUND;
  return read_one(sqlite_of(base_), S_ACCOUNT_GET_BY_CODE, INTS(tenant_id), code, read_account, out,
                  "account get by code");
}

store_status_t sqlite_account_update(store_t *base_, nimbus_billing_account_t *a,
                                     const store_audit_t *audit) {
  static const char what[] = "account update";
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  nimbus_billing_account_t after;
  store_status_t status = sqlite_audit_begin_locked(st, audit);
  sqlite3_stmt *s = status == STORE_OK ? sqlite_stmt_get_locked(st, S_ACCOUNT_UPDATE) : NULL;
  if (s) {
    sqlite3_bind_int64(s, 1, a->id);
    sqlite3_bind_int64(s, 2, a->tenant_id);
    BIND_FIELD(s, 3, a->name);
    sqlite3_bind_int(s, 4, a->everyone ? 1 : 0);
    sqlite3_bind_int(s, 5, a->restrict_printers ? 1 : 0);
    sqlite3_bind_int64(s, 6, a->credit_limit);
    sqlite3_bind_int64(s, 7, a->closed_at);
    bool row = false;
    status = step_account_locked(st, s, what, &row); /* limit below charged + held: CONFLICT */
    if (row) {
      account_from_row(s, &after);
      sqlite_stmt_reset(s);
    } else if (status == STORE_OK) {
      status = STORE_NOT_FOUND;
    }
  } else if (status == STORE_OK) {
    status = STORE_ERROR;
  }
  status = sqlite_audit_end_locked(st, audit, status, a->id);
  sqlite_unlock(st);
  if (status == STORE_OK) *a = after;
  return status;
}

typedef struct {
  nimbus_id_t tenant_id;
  bool include_closed;
} account_filter_t;

static void bind_account_filter(sqlite3_stmt *s, const void *arg) {
  const account_filter_t *f = arg;
  sqlite3_bind_int64(s, 1, f->tenant_id);
  sqlite3_bind_int(s, 2, f->include_closed ? 1 : 0);
}

store_status_t sqlite_account_list(store_t *base_, nimbus_id_t tenant_id, bool include_closed,
                                   store_account_cb cb, void *ctx) {
  account_filter_t f = {.tenant_id = tenant_id, .include_closed = include_closed};
  return read_rows(sqlite_of(base_), S_ACCOUNT_LIST, bind_account_filter, &f, account_row,
                   (list_cb_t){.account = cb}, ctx, "account list");
}

store_status_t sqlite_account_topup(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id,
                                    int64_t amount, const store_ledger_posting_t *posting,
                                    const store_audit_t *audit, nimbus_billing_account_t *out) {
  static const char what[] = "account topup";
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  int64_t now = (int64_t)time(NULL);
  nimbus_billing_account_t after;
  store_status_t status = sqlite_tx_begin_locked(st);
  sqlite3_stmt *s = status == STORE_OK ? sqlite_stmt_get_locked(st, S_ACCOUNT_TOPUP) : NULL;
  if (s) {
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, tenant_id);
    sqlite3_bind_int64(s, 3, amount);
    bool row = false;
    /* CONFLICT: below what is held, or an invoiced account (no balance) */
    status = step_account_locked(st, s, what, &row);
    if (row) {
      account_from_row(s, &after);
      sqlite_stmt_reset(s);
    } else if (status == STORE_OK) {
      status = STORE_NOT_FOUND;
    }
  } else if (status == STORE_OK) {
    status = STORE_ERROR;
  }
  nimbus_id_t posting_id = 0;
  if (status == STORE_OK && posting)
    status = sqlite_posting_insert_locked(st, posting, 0, now, &posting_id);
  if (status == STORE_OK) status = sqlite_audit_insert_locked(st, audit, id);
  status = tx_end_locked(st, status);
  sqlite_unlock(st);
  if (status == STORE_OK && out) *out = after;
  return status;
}

/* ---- grants ---- */

typedef struct {
  nimbus_id_t tenant_id, account_id, ref_id;
  int kind;
} grant_key_t;

static void bind_grant(sqlite3_stmt *s, const void *arg) {
  const grant_key_t *k = arg;
  sqlite3_bind_int64(s, 1, k->tenant_id);
  sqlite3_bind_int64(s, 2, k->account_id);
  sqlite3_bind_int(s, 3, k->kind);
  sqlite3_bind_int64(s, 4, k->ref_id);
}

/* A user or printer of another tenant, or another tenant's account, fails
 * the grant's foreign keys: NOT_FOUND; an existing grant: CONFLICT. */
store_status_t sqlite_account_grant_add(store_t *base_, nimbus_id_t tenant_id,
                                        const nimbus_account_grant_t *g,
                                        const store_audit_t *audit) {
  sqlite_store_t *st = sqlite_of(base_);
  if (g->kind != NIMBUS_GRANT_USER && g->kind != NIMBUS_GRANT_PRINTER) return STORE_NOT_FOUND;
  grant_key_t k = {
      .tenant_id = tenant_id, .account_id = g->account_id, .ref_id = g->ref_id, .kind = g->kind};
  return write_changes(st, S_GRANT_INSERT, bind_grant, &k, audit, g->account_id,
                       "account grant add");
}

store_status_t sqlite_account_grant_delete(store_t *base_, nimbus_id_t tenant_id,
                                           const nimbus_account_grant_t *g,
                                           const store_audit_t *audit) {
  grant_key_t k = {
      .tenant_id = tenant_id, .account_id = g->account_id, .ref_id = g->ref_id, .kind = g->kind};
  return write_changes(sqlite_of(base_), S_GRANT_DELETE, bind_grant, &k, audit, g->account_id,
                       "account grant delete");
}

store_status_t sqlite_account_grant_list(store_t *base_, nimbus_id_t tenant_id,
                                         nimbus_id_t account_id, nimbus_grant_kind_t kind,
                                         store_grant_cb cb, void *ctx) {
  grant_key_t k = {.tenant_id = tenant_id, .account_id = account_id, .kind = (int)kind};
  return read_rows(sqlite_of(base_), S_GRANT_LIST, bind_grant, &k, grant_row,
                   (list_cb_t){.grant = cb}, ctx, "account grant list");
}

static void read_exists(sqlite3_stmt *s, void *out) {
  (void)s;
  *(bool *)out = true;
}

store_status_t sqlite_account_granted(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t account_id,
                                      nimbus_grant_kind_t kind, nimbus_id_t ref_id, bool *out) {
  *out = false;
  store_status_t status =
      read_one(sqlite_of(base_), S_GRANT_EXISTS, INTS(tenant_id, account_id, (int64_t)kind, ref_id),
               NULL, read_exists, out, "account granted");
  return status == STORE_NOT_FOUND ? STORE_OK : status;
}

/* ---- purposes ---- */

/* The other purposes of user_id (or of purpose id's user) stop being the
 * default, inside the caller's transaction. */
static store_status_t purpose_clear_default_locked(sqlite_store_t *st, nimbus_id_t tenant_id,
                                                   nimbus_id_t user_id, nimbus_id_t id,
                                                   int64_t now) {
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_PURPOSE_CLEAR_DEFAULT);
  if (!s) return STORE_ERROR;
  sqlite3_bind_int64(s, 1, tenant_id);
  sqlite3_bind_int64(s, 2, user_id);
  sqlite3_bind_int64(s, 3, id);
  sqlite3_bind_int64(s, 4, now);
  return sqlite_stmt_exec_locked(st, s, "purpose default");
}

store_status_t sqlite_purpose_insert(store_t *base_, nimbus_purpose_t *p,
                                     const store_audit_t *audit) {
  static const char what[] = "purpose insert";
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  int64_t now = (int64_t)time(NULL), id = 0;
  store_status_t status = sqlite_tx_begin_locked(st);
  if (status == STORE_OK && p->is_default)
    status = purpose_clear_default_locked(st, p->tenant_id, p->user_id, 0, now);
  sqlite3_stmt *s = status == STORE_OK ? sqlite_stmt_get_locked(st, S_PURPOSE_INSERT) : NULL;
  if (s) {
    sqlite3_bind_int64(s, 1, p->tenant_id);
    sqlite3_bind_int64(s, 2, p->user_id);
    BIND_FIELD(s, 3, p->name);
    sqlite_bind_id_or_null(s, 4, p->account_id);
    sqlite3_bind_int(s, 5, p->is_default ? 1 : 0);
    BIND_FIELD(s, 6, p->defaults);
    sqlite3_bind_int64(s, 7, now);
    /* a foreign key (another tenant's user or account) is NOT_FOUND */
    status = sqlite_query_int64_locked(st, s, what, &id);
  } else if (status == STORE_OK) {
    status = STORE_ERROR;
  }
  if (status == STORE_OK) status = sqlite_audit_insert_locked(st, audit, id);
  status = tx_end_locked(st, status);
  sqlite_unlock(st);
  if (status == STORE_OK) {
    p->id = id;
    p->created_at = p->updated_at = now;
  }
  return status;
}

store_status_t sqlite_purpose_get(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id,
                                  nimbus_purpose_t *out) {
  return read_one(sqlite_of(base_), S_PURPOSE_GET, INTS(id, tenant_id), NULL, read_purpose, out,
                  "purpose get");
}

store_status_t sqlite_purpose_get_by_name(store_t *base_, nimbus_id_t tenant_id,
                                          nimbus_id_t user_id, const char *name,
                                          nimbus_purpose_t *out) {
  if (!name) return STORE_NOT_FOUND;
  return read_one(sqlite_of(base_), S_PURPOSE_GET_BY_NAME, INTS(tenant_id, user_id), name,
                  read_purpose, out, "purpose get by name");
}

store_status_t sqlite_purpose_get_default(store_t *base_, nimbus_id_t tenant_id,
                                          nimbus_id_t user_id, nimbus_purpose_t *out) {
  return read_one(sqlite_of(base_), S_PURPOSE_GET_DEFAULT, INTS(tenant_id, user_id), NULL,
                  read_purpose, out, "purpose get default");
}

store_status_t sqlite_purpose_update(store_t *base_, nimbus_purpose_t *p,
                                     const store_audit_t *audit) {
  static const char what[] = "purpose update";
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  int64_t now = (int64_t)time(NULL), user_id = 0, created_at = 0;
  store_status_t status = sqlite_tx_begin_locked(st);
  if (status == STORE_OK && p->is_default)
    status = purpose_clear_default_locked(st, p->tenant_id, 0, p->id, now);
  sqlite3_stmt *s = status == STORE_OK ? sqlite_stmt_get_locked(st, S_PURPOSE_UPDATE) : NULL;
  if (s) {
    sqlite3_bind_int64(s, 1, p->id);
    sqlite3_bind_int64(s, 2, p->tenant_id);
    BIND_FIELD(s, 3, p->name);
    sqlite_bind_id_or_null(s, 4, p->account_id);
    sqlite3_bind_int(s, 5, p->is_default ? 1 : 0);
    BIND_FIELD(s, 6, p->defaults);
    sqlite3_bind_int64(s, 7, now);
    status = sqlite_step_row_locked(st, s, what);
    if (status == STORE_OK) {
      user_id = sqlite3_column_int64(s, 0);
      created_at = sqlite3_column_int64(s, 1);
    }
    sqlite_stmt_reset(s);
  } else if (status == STORE_OK) {
    status = STORE_ERROR;
  }
  if (status == STORE_OK) status = sqlite_audit_insert_locked(st, audit, p->id);
  status = tx_end_locked(st, status);
  sqlite_unlock(st);
  if (status == STORE_OK) {
    p->user_id = user_id;
    p->created_at = created_at;
    p->updated_at = now;
  }
  return status;
}

typedef struct {
  nimbus_id_t tenant_id, id;
} billing_key_t;

static void bind_id_tenant(sqlite3_stmt *s, const void *arg) {
  const billing_key_t *k = arg;
  sqlite3_bind_int64(s, 1, k->id);
  sqlite3_bind_int64(s, 2, k->tenant_id);
}

static void bind_tenant_id(sqlite3_stmt *s, const void *arg) {
  const billing_key_t *k = arg;
  sqlite3_bind_int64(s, 1, k->tenant_id);
  sqlite3_bind_int64(s, 2, k->id);
}

store_status_t sqlite_purpose_delete(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id,
                                     const store_audit_t *audit) {
  billing_key_t k = {.tenant_id = tenant_id, .id = id};
  return write_changes(sqlite_of(base_), S_PURPOSE_DELETE, bind_id_tenant, &k, audit, id,
                       "purpose delete");
}

store_status_t sqlite_purpose_list(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                   store_purpose_cb cb, void *ctx) {
  billing_key_t k = {.tenant_id = tenant_id, .id = user_id};
  return read_rows(sqlite_of(base_), S_PURPOSE_LIST, bind_tenant_id, &k, purpose_row,
                   (list_cb_t){.purpose = cb}, ctx, "purpose list");
}

/* ---- saved payment methods ---- */

static bool sealed_len_ok(int len) {
  if (len >= 0 && len <= NIMBUS_SEALED_MAX) return true;
  log_event(LOG_ERROR, NULL, "store refused a sealed payment method of a bad length", (char *)NULL);
  return false;
}

static void bind_sealed(sqlite3_stmt *s, int idx, const nimbus_payment_method_t *m) {
  if (m->sealed_len > 0) {
    sqlite3_bind_blob(s, idx, m->sealed, m->sealed_len, SQLITE_STATIC);
  } else {
    sqlite3_bind_null(s, idx);
  }
}

/* One row per user: the old one (if any) is deleted and the new one
 * inserted in one transaction. */
store_status_t sqlite_payment_method_put(store_t *base_, nimbus_payment_method_t *m,
                                         const store_audit_t *audit) {
  static const char what[] = "payment method put";
  if (!sealed_len_ok(m->sealed_len)) return STORE_ERROR;
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  int64_t now = (int64_t)time(NULL), id = 0;
  store_status_t status = sqlite_tx_begin_locked(st);
  sqlite3_stmt *s = status == STORE_OK ? sqlite_stmt_get_locked(st, S_METHOD_DELETE) : NULL;
  if (s) {
    sqlite3_bind_int64(s, 1, m->tenant_id);
    sqlite3_bind_int64(s, 2, m->user_id);
    status = sqlite_stmt_exec_locked(st, s, what);
  } else if (status == STORE_OK) {
    status = STORE_ERROR;
  }
  s = status == STORE_OK ? sqlite_stmt_get_locked(st, S_METHOD_INSERT) : NULL;
  if (s) {
    sqlite3_bind_int64(s, 1, m->tenant_id);
    sqlite3_bind_int64(s, 2, m->user_id);
    BIND_FIELD(s, 3, m->provider);
    sqlite3_bind_int(s, 4, (int)m->state);
    BIND_FIELD(s, 5, m->setup_id);
    BIND_FIELD(s, 6, m->setup_tx);
    BIND_FIELD(s, 7, m->setup_url);
    bind_sealed(s, 8, m);
    BIND_FIELD(s, 9, m->display);
    sqlite3_bind_int64(s, 10, now);
    status = sqlite_query_int64_locked(st, s, what, &id); /* user not the tenant's: NOT_FOUND */
  } else if (status == STORE_OK) {
    status = STORE_ERROR;
  }
  if (status == STORE_OK) status = sqlite_audit_insert_locked(st, audit, id);
  status = tx_end_locked(st, status);
  sqlite_unlock(st);
  if (status == STORE_OK) {
    m->id = id;
    m->created_at = m->updated_at = now;
  }
  return status;
}

store_status_t sqlite_payment_method_get(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                         nimbus_payment_method_t *out) {
  return read_one(sqlite_of(base_), S_METHOD_GET, INTS(tenant_id, user_id), NULL, read_method, out,
                  "payment method get");
}

store_status_t sqlite_payment_method_get_by_setup(store_t *base_, const char *setup_id,
                                                  nimbus_payment_method_t *out) {
  if (!setup_id || !setup_id[0]) return STORE_NOT_FOUND;
  return read_one(sqlite_of(base_), S_METHOD_GET_BY_SETUP, NULL, 0, setup_id, read_method, out,
                  "payment method get by setup");
}

store_status_t sqlite_payment_method_update(store_t *base_, nimbus_payment_method_t *m,
                                            nimbus_method_state_t expected,
                                            const store_audit_t *audit) {
  static const char what[] = "payment method update";
  if (!sealed_len_ok(m->sealed_len)) return STORE_ERROR;
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  int64_t now = (int64_t)time(NULL);
  store_status_t status = sqlite_audit_begin_locked(st, audit);
  sqlite3_stmt *s = status == STORE_OK ? sqlite_stmt_get_locked(st, S_METHOD_UPDATE) : NULL;
  if (s) {
    sqlite3_bind_int64(s, 1, m->id);
    sqlite3_bind_int64(s, 2, m->tenant_id);
    sqlite3_bind_int(s, 3, (int)expected);
    sqlite3_bind_int(s, 4, (int)m->state);
    BIND_FIELD(s, 5, m->setup_tx);
    BIND_FIELD(s, 6, m->setup_url);
    bind_sealed(s, 7, m);
    BIND_FIELD(s, 8, m->display);
    sqlite3_bind_int64(s, 9, now);
    status = sqlite_exec_changes_locked(st, s, what);
    if (status == STORE_NOT_FOUND)
      status = missing_or_conflict_locked(st, S_METHOD_EXISTS, m->id, m->tenant_id, what);
  } else if (status == STORE_OK) {
    status = STORE_ERROR;
  }
  status = sqlite_audit_end_locked(st, audit, status, m->id);
  sqlite_unlock(st);
  if (status == STORE_OK) m->updated_at = now;
  return status;
}

store_status_t sqlite_payment_method_delete(store_t *base_, nimbus_id_t tenant_id,
                                            nimbus_id_t user_id, const store_audit_t *audit) {
  billing_key_t k = {.tenant_id = tenant_id, .id = user_id};
  return write_changes(sqlite_of(base_), S_METHOD_DELETE, bind_tenant_id, &k, audit, user_id,
                       "payment method delete");
}

/* ---- charges ---- */

/* Add (held, balance, charged) to account id of tenant_id inside the
 * caller's transaction; CONFLICT (*why LIMIT) when its invariant would
 * break, NOT_FOUND when it is not the tenant's. */
static store_status_t account_move_locked(sqlite_store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                          const store_account_delta_t *d,
                                          store_charge_refusal_t *why) {
  static const char what[] = "account move";
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_ACCOUNT_MOVE);
  if (!s) return STORE_ERROR;
  sqlite3_bind_int64(s, 1, id);
  sqlite3_bind_int64(s, 2, tenant_id);
  sqlite3_bind_int64(s, 3, d->held);
  sqlite3_bind_int64(s, 4, d->balance);
  sqlite3_bind_int64(s, 5, d->charged);
  bool row = false;
  store_status_t status = step_account_locked(st, s, what, &row);
  if (row) sqlite_stmt_reset(s);
  if (status == STORE_CONFLICT) *why = STORE_CHARGE_LIMIT;
  return status;
}

/* Is account id of tenant_id open?  CONFLICT (*why CLOSED) when closed. */
static store_status_t account_open_locked(sqlite_store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                          store_charge_refusal_t *why) {
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_ACCOUNT_CLOSED_AT);
  if (!s) return STORE_ERROR;
  sqlite3_bind_int64(s, 1, id);
  sqlite3_bind_int64(s, 2, tenant_id);
  int64_t closed_at = 0;
  store_status_t status = sqlite_query_int64_locked(st, s, "charge hold", &closed_at);
  if (status == STORE_OK && closed_at != 0) {
    *why = STORE_CHARGE_ACCOUNT_CLOSED;
    status = STORE_CONFLICT;
  }
  return status;
}

/*
 * One transaction: the charge row (inserted, or replacing a RELEASED
 * one), the job's release, then the account (open, and the hold within
 * its invariant).  Any refusal rolls it all back.
 */
store_status_t sqlite_charge_hold(store_t *base_, nimbus_job_charge_t *c,
                                  const store_job_change_t *release, const store_audit_t *audit,
                                  store_charge_refusal_t *why) {
  static const char what[] = "charge hold";
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  int64_t now = (int64_t)time(NULL);
  store_charge_refusal_t refusal = STORE_CHARGE_JOB_CHANGED;
  store_status_t status = sqlite_tx_begin_locked(st);
  sqlite3_stmt *s = status == STORE_OK ? sqlite_stmt_get_locked(st, S_CHARGE_HOLD) : NULL;
  if (s) {
    sqlite3_bind_int64(s, 1, c->job_id);
    sqlite3_bind_int64(s, 2, c->tenant_id);
    sqlite3_bind_int64(s, 3, c->user_id);
    sqlite3_bind_int64(s, 4, c->purpose_id);
    BIND_FIELD(s, 5, c->purpose_name);
    sqlite_bind_id_or_null(s, 6, c->account_id);
    sqlite3_bind_int64(s, 7, c->device_id);
    BIND_FIELD(s, 8, c->currency);
    sqlite3_bind_int64(s, 9, c->hold);
    sqlite3_bind_int64(s, 10, c->print_fee);
    sqlite3_bind_int64(s, 11, c->service_fee);
    sqlite3_bind_int64(s, 12, c->total);
    sqlite3_bind_int(s, 13, c->impressions);
    sqlite3_bind_int(s, 14, c->attempts);
    sqlite3_bind_int64(s, 15, c->next_try_at);
    BIND_FIELD(s, 16, c->order_id);
    BIND_FIELD(s, 17, c->provider_tx);
    BIND_FIELD(s, 18, c->reason);
    sqlite3_bind_int64(s, 19, now);
    sqlite3_bind_int64(s, 20, c->charged_at);
    status = sqlite_stmt_exec_locked(st, s, what); /* another tenant's account: NOT_FOUND */
    if (status == STORE_OK && sqlite3_changes(st->db) == 0) /* not the tenant's job, or live */
      status = missing_or_conflict_locked(st, S_JOB_IN_TENANT, c->job_id, c->tenant_id, what);
  } else if (status == STORE_OK) {
    status = STORE_ERROR;
  }
  if (status == STORE_OK && release)
    status = sqlite_job_change_locked(st, c->tenant_id, release, now);
  if (status == STORE_OK && c->account_id) {
    status = account_open_locked(st, c->tenant_id, c->account_id, &refusal);
    store_account_delta_t d = {.held = c->hold};
    if (status == STORE_OK)
      status = account_move_locked(st, c->tenant_id, c->account_id, &d, &refusal);
  }
  if (status == STORE_OK) status = sqlite_audit_insert_locked(st, audit, c->job_id);
  status = tx_end_locked(st, status);
  sqlite_unlock(st);
  if (status == STORE_OK) {
    c->state = NIMBUS_CHARGE_HELD;
    c->created_at = c->updated_at = now;
  } else if (status == STORE_CONFLICT && why) {
    *why = refusal;
  }
  return status;
}

store_status_t sqlite_charge_get(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                 nimbus_job_charge_t *out) {
  return read_one(sqlite_of(base_), S_CHARGE_GET, INTS(job_id, tenant_id), NULL, read_charge, out,
                  "charge get");
}

/* The account moved is the one the stored charge names (what the caller
 * read with store_charge_get, so c->account_id). */
store_status_t sqlite_charge_update(store_t *base_, nimbus_job_charge_t *c,
                                    nimbus_charge_state_t expected,
                                    const store_account_delta_t *delta,
                                    const store_ledger_posting_t *posting,
                                    const store_audit_t *audit, store_charge_refusal_t *why) {
  static const char what[] = "charge update";
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  int64_t now = (int64_t)time(NULL), account_id = 0;
  store_charge_refusal_t refusal = STORE_CHARGE_JOB_CHANGED;
  store_status_t status = sqlite_tx_begin_locked(st);
  sqlite3_stmt *s = status == STORE_OK ? sqlite_stmt_get_locked(st, S_CHARGE_UPDATE) : NULL;
  if (s) {
    sqlite3_bind_int64(s, 1, c->job_id);
    sqlite3_bind_int64(s, 2, c->tenant_id);
    sqlite3_bind_int(s, 3, (int)expected);
    sqlite3_bind_int(s, 4, (int)c->state);
    sqlite3_bind_int64(s, 5, c->print_fee);
    sqlite3_bind_int64(s, 6, c->service_fee);
    sqlite3_bind_int64(s, 7, c->total);
    sqlite3_bind_int(s, 8, c->impressions);
    sqlite3_bind_int(s, 9, c->attempts);
    sqlite3_bind_int64(s, 10, c->next_try_at);
    BIND_FIELD(s, 11, c->order_id);
    BIND_FIELD(s, 12, c->provider_tx);
    BIND_FIELD(s, 13, c->reason);
    sqlite3_bind_int64(s, 14, c->charged_at);
    sqlite3_bind_int64(s, 15, now);
    status = sqlite_query_int64_locked(st, s, what, &account_id);
    if (status == STORE_NOT_FOUND)
      status = missing_or_conflict_locked(st, S_CHARGE_EXISTS, c->job_id, c->tenant_id, what);
  } else if (status == STORE_OK) {
    status = STORE_ERROR;
  }
  if (status == STORE_OK && delta && account_id &&
      (delta->held || delta->balance || delta->charged))
    status = account_move_locked(st, c->tenant_id, account_id, delta, &refusal);
  nimbus_id_t posting_id = 0;
  if (status == STORE_OK && posting)
    status = sqlite_posting_insert_locked(st, posting, 0, now, &posting_id);
  if (status == STORE_OK) status = sqlite_audit_insert_locked(st, audit, c->job_id);
  status = tx_end_locked(st, status);
  sqlite_unlock(st);
  if (status == STORE_OK)
    c->updated_at = now;
  else if (status == STORE_CONFLICT && why)
    *why = refusal;
  return status;
}

typedef struct {
  int64_t now, stale_before;
  nimbus_id_t after_job_id;
  int max;
} due_filter_t;

static void bind_due(sqlite3_stmt *s, const void *arg) {
  const due_filter_t *f = arg;
  sqlite3_bind_int64(s, 1, f->after_job_id);
  sqlite3_bind_int64(s, 2, f->now);
  sqlite3_bind_int64(s, 3, f->stale_before);
  sqlite3_bind_int(s, 4, f->max > 0 ? f->max : -1);
}

/* max <= 0: no limit. */
store_status_t sqlite_charge_list_due(store_t *base_, int64_t now, int64_t stale_before,
                                      nimbus_id_t after_job_id, int max, store_charge_cb cb,
                                      void *ctx) {
  due_filter_t f = {
      .now = now, .stale_before = stale_before, .after_job_id = after_job_id, .max = max};
  return read_rows(sqlite_of(base_), S_CHARGE_LIST_DUE, bind_due, &f, charge_row,
                   (list_cb_t){.charge = cb}, ctx, "charge list due");
}

/* ---- the job's purpose at the panel ---- */

store_status_t sqlite_job_set_account(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                      const char *account_id, const store_audit_t *audit) {
  static const char what[] = "job set account";
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  store_status_t status = sqlite_audit_begin_locked(st, audit);
  sqlite3_stmt *s = status == STORE_OK ? sqlite_stmt_get_locked(st, S_JOB_SET_ACCOUNT) : NULL;
  if (s) {
    sqlite3_bind_int64(s, 1, job_id);
    sqlite3_bind_int64(s, 2, tenant_id);
    sqlite_bind_str(s, 3, account_id);
    status = sqlite_exec_changes_locked(st, s, what);
    if (status == STORE_NOT_FOUND) /* released or finished already: CONFLICT */
      status = missing_or_conflict_locked(st, S_JOB_IN_TENANT, job_id, tenant_id, what);
  } else if (status == STORE_OK) {
    status = STORE_ERROR;
  }
  status = sqlite_audit_end_locked(st, audit, status, job_id);
  sqlite_unlock(st);
  return status;
}

/* ---- the print log ---- */

static void bind_log(sqlite3_stmt *s, const void *arg) {
  const store_print_log_filter_t *f = arg;
  sqlite3_bind_int64(s, 1, f->tenant_id);
  sqlite3_bind_int64(s, 2, f->from);
  sqlite3_bind_int64(s, 3, f->to);
  sqlite3_bind_int64(s, 4, f->user_id);
  sqlite3_bind_int64(s, 5, f->account_id);
  sqlite3_bind_int64(s, 6, f->purpose_id);
  sqlite3_bind_int64(s, 7, f->device_id);
  sqlite3_bind_int(s, 8, f->private_only ? 1 : 0);
  sqlite3_bind_int64(s, 9, f->before_id);
  sqlite3_bind_int(s, 10, f->limit > 0 ? f->limit : -1);
}

store_status_t sqlite_print_log(store_t *base_, const store_print_log_filter_t *f,
                                store_print_log_cb cb, void *ctx) {
  return read_rows(sqlite_of(base_), S_PRINT_LOG, bind_log, f, log_row,
                   (list_cb_t){.print_log = cb}, ctx, "print log");
}
