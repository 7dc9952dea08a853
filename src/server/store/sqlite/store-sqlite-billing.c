/*
 * store-sqlite-billing.c: billing by purpose in the SQLite backend
 * (store.h "billing by purpose", issue 13), first part: shared billing
 * accounts and their grants, users' purposes, saved payment methods, and
 * the helpers store-sqlite-charges.c shares (the charges of jobs, a job's
 * job-account-id at the panel, the print log).
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

static const char *const billing_sql[S_CHARGES_FIRST - S_BILLING_FIRST] = {
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

#undef B
};

/* Statements from S_CHARGES_FIRST on are store-sqlite-charges.c's. */
const char *sqlite_billing_sql(stmt_id_t id) {
  if (id >= S_CHARGES_FIRST) return sqlite_charges_sql(id);
  return id >= S_BILLING_FIRST ? billing_sql[id - S_BILLING_FIRST] : NULL;
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

static void read_account(sqlite3_stmt *s, void *out) {
  account_from_row(s, out);
}
static void read_purpose(sqlite3_stmt *s, void *out) {
  purpose_from_row(s, out);
}
static void read_method(sqlite3_stmt *s, void *out) {
  method_from_row(s, out);
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

/* ---- shapes shared by the operations ---- */

typedef sqlite_read_fn read_fn;
typedef sqlite_bind_fn bind_fn;

/* Read one row of statement id, bound with ints[0..nints) as ?1.. and
 * text (when not NULL) after them, into out with `read`. */
store_status_t sqlite_read_one_row(sqlite_store_t *st, stmt_id_t id, const int64_t *ints, int nints,
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
store_status_t sqlite_read_rows(sqlite_store_t *st, stmt_id_t id, bind_fn bind, const void *arg,
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
store_status_t sqlite_write_changes(sqlite_store_t *st, stmt_id_t id, bind_fn bind, const void *arg,
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
store_status_t sqlite_billing_step_locked(sqlite_store_t *st, sqlite3_stmt *s, const char *what,
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
store_status_t sqlite_billing_missing_or_conflict_locked(sqlite_store_t *st, stmt_id_t id,
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
store_status_t sqlite_billing_tx_end_locked(sqlite_store_t *st, store_status_t status) {
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
    status = sqlite_billing_step_locked(st, s, what, &row); /* a code taken, or a CHECK: CONFLICT */
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
  return sqlite_read_one_row(sqlite_of(base_), S_ACCOUNT_GET, INTS(id, tenant_id), NULL,
                             read_account, out, "account get");
}

store_status_t sqlite_account_get_by_code(store_t *base_, nimbus_id_t tenant_id, const char *code,
                                          nimbus_billing_account_t *out) {
  if (!code) return STORE_NOT_FOUND;
  return sqlite_read_one_row(sqlite_of(base_), S_ACCOUNT_GET_BY_CODE, INTS(tenant_id), code,
                             read_account, out, "account get by code");
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
    status =
        sqlite_billing_step_locked(st, s, what, &row); /* limit below charged + held: CONFLICT */
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
  return sqlite_read_rows(sqlite_of(base_), S_ACCOUNT_LIST, bind_account_filter, &f, account_row,
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
    status = sqlite_billing_step_locked(st, s, what, &row);
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
  status = sqlite_billing_tx_end_locked(st, status);
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
  return sqlite_write_changes(st, S_GRANT_INSERT, bind_grant, &k, audit, g->account_id,
                              "account grant add");
}

store_status_t sqlite_account_grant_delete(store_t *base_, nimbus_id_t tenant_id,
                                           const nimbus_account_grant_t *g,
                                           const store_audit_t *audit) {
  grant_key_t k = {
      .tenant_id = tenant_id, .account_id = g->account_id, .ref_id = g->ref_id, .kind = g->kind};
  return sqlite_write_changes(sqlite_of(base_), S_GRANT_DELETE, bind_grant, &k, audit,
                              g->account_id, "account grant delete");
}

store_status_t sqlite_account_grant_list(store_t *base_, nimbus_id_t tenant_id,
                                         nimbus_id_t account_id, nimbus_grant_kind_t kind,
                                         store_grant_cb cb, void *ctx) {
  grant_key_t k = {.tenant_id = tenant_id, .account_id = account_id, .kind = (int)kind};
  return sqlite_read_rows(sqlite_of(base_), S_GRANT_LIST, bind_grant, &k, grant_row,
                          (list_cb_t){.grant = cb}, ctx, "account grant list");
}

static void read_exists(sqlite3_stmt *s, void *out) {
  (void)s;
  *(bool *)out = true;
}

store_status_t sqlite_account_granted(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t account_id,
                                      nimbus_grant_kind_t kind, nimbus_id_t ref_id, bool *out) {
  *out = false;
  store_status_t status = sqlite_read_one_row(sqlite_of(base_), S_GRANT_EXISTS,
                                              INTS(tenant_id, account_id, (int64_t)kind, ref_id),
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
  status = sqlite_billing_tx_end_locked(st, status);
  sqlite_unlock(st);
  if (status == STORE_OK) {
    p->id = id;
    p->created_at = p->updated_at = now;
  }
  return status;
}

store_status_t sqlite_purpose_get(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id,
                                  nimbus_purpose_t *out) {
  return sqlite_read_one_row(sqlite_of(base_), S_PURPOSE_GET, INTS(id, tenant_id), NULL,
                             read_purpose, out, "purpose get");
}

store_status_t sqlite_purpose_get_by_name(store_t *base_, nimbus_id_t tenant_id,
                                          nimbus_id_t user_id, const char *name,
                                          nimbus_purpose_t *out) {
  if (!name) return STORE_NOT_FOUND;
  return sqlite_read_one_row(sqlite_of(base_), S_PURPOSE_GET_BY_NAME, INTS(tenant_id, user_id),
                             name, read_purpose, out, "purpose get by name");
}

store_status_t sqlite_purpose_get_default(store_t *base_, nimbus_id_t tenant_id,
                                          nimbus_id_t user_id, nimbus_purpose_t *out) {
  return sqlite_read_one_row(sqlite_of(base_), S_PURPOSE_GET_DEFAULT, INTS(tenant_id, user_id),
                             NULL, read_purpose, out, "purpose get default");
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
  status = sqlite_billing_tx_end_locked(st, status);
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
  return sqlite_write_changes(sqlite_of(base_), S_PURPOSE_DELETE, bind_id_tenant, &k, audit, id,
                              "purpose delete");
}

store_status_t sqlite_purpose_list(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                   store_purpose_cb cb, void *ctx) {
  billing_key_t k = {.tenant_id = tenant_id, .id = user_id};
  return sqlite_read_rows(sqlite_of(base_), S_PURPOSE_LIST, bind_tenant_id, &k, purpose_row,
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
  status = sqlite_billing_tx_end_locked(st, status);
  sqlite_unlock(st);
  if (status == STORE_OK) {
    m->id = id;
    m->created_at = m->updated_at = now;
  }
  return status;
}

store_status_t sqlite_payment_method_get(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                         nimbus_payment_method_t *out) {
  return sqlite_read_one_row(sqlite_of(base_), S_METHOD_GET, INTS(tenant_id, user_id), NULL,
                             read_method, out, "payment method get");
}

store_status_t sqlite_payment_method_get_by_setup(store_t *base_, const char *setup_id,
                                                  nimbus_payment_method_t *out) {
  if (!setup_id || !setup_id[0]) return STORE_NOT_FOUND;
  return sqlite_read_one_row(sqlite_of(base_), S_METHOD_GET_BY_SETUP, NULL, 0, setup_id,
                             read_method, out, "payment method get by setup");
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
      status =
          sqlite_billing_missing_or_conflict_locked(st, S_METHOD_EXISTS, m->id, m->tenant_id, what);
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
  return sqlite_write_changes(sqlite_of(base_), S_METHOD_DELETE, bind_tenant_id, &k, audit, user_id,
                              "payment method delete");
}
