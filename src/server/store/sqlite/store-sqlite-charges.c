/*
 * store-sqlite-charges.c: billing by purpose in the SQLite backend
 * (store.h "billing by purpose", issue 13), second part: the charge of
 * each job released under a purpose (the hold placed with the job's
 * release, compare-and-set updates that move the account and append a
 * ledger posting, the due list of billing/charge.c), a job's
 * job-account-id at the panel, and the print log.
 *
 * The account's invariant is kept by the CHECKs of billing_accounts
 * (migration 14): a hold or a charge that would break it fails inside the
 * database under the write lock, so concurrent holds from any number of
 * connections can never overdraw it; that failure is STORE_CONFLICT with
 * STORE_CHARGE_LIMIT and the whole transaction is rolled back.
 */
#include "store-sqlite-private.h"

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

static const char *const charges_sql[S_REMOTE_FIRST - S_CHARGES_FIRST] = {
#define B(id) [(id)-S_CHARGES_FIRST]
    B(S_ACCOUNT_CLOSED_AT) =
        "SELECT closed_at FROM billing_accounts WHERE id = ?1 AND tenant_id = ?2",
    B(S_ACCOUNT_MOVE) =
        "UPDATE billing_accounts SET held = held + ?3, balance = balance + ?4, "
        "charged = charged + ?5 WHERE id = ?1 AND tenant_id = ?2",

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
                           "OR (c.state = 4 AND c.next_try_at > 0 AND c.next_try_at <= ?2) "
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

/* Statements from S_REMOTE_FIRST on are store-sqlite-remote.c's, from S_LINK_FIRST on
 * store-sqlite-links.c's, from S_CONTRACT_FIRST on store-sqlite-contracts.c's. */
const char *sqlite_charges_sql(stmt_id_t id) {
  if (id >= S_PROV_FIRST) return sqlite_prov_sql(id);
  if (id >= S_SERVICE_FIRST) return sqlite_service_sql(id);
  if (id >= S_CONTRACT_FIRST) return sqlite_contract_sql(id);
  if (id >= S_LINK_FIRST) return sqlite_link_sql(id);
  if (id >= S_REMOTE_FIRST) return sqlite_remote_sql(id);
  return id >= S_CHARGES_FIRST && id < S_COUNT ? charges_sql[id - S_CHARGES_FIRST] : NULL;
}

#define COPY(s, col, arr) sqlite_copy_column((s), (col), (arr), sizeof(arr))
#define INTS(...) ((const int64_t[]){__VA_ARGS__}), (int)(sizeof((int64_t[]){__VA_ARGS__}) / 8)

/* ---- row readers (column order as in the statements above) ---- */

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
static void read_charge(sqlite3_stmt *s, void *out) {
  charge_from_row(s, 0, out);
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
  if (!r) {
    log_event(LOG_ERROR, NULL, "store print log: out of memory", (char *)NULL);
    return false;
  }
  sqlite_job_from_row(s, &r->job);
  bool has_charge = sqlite3_column_int(s, LOG_JOB_NCOLS) != 0;
  bool has_quote = sqlite3_column_int(s, LOG_QUOTE_AT - 1) != 0;
  if (has_charge) charge_from_row(s, LOG_CHARGE_AT, &r->charge);
  if (has_quote) sqlite_quote_from_row(s, LOG_QUOTE_AT, &r->quote);
  bool more =
      cb.print_log(&r->job, has_charge ? &r->charge : NULL, has_quote ? &r->quote : NULL, ctx);
  free(r);
  return more;
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
  store_status_t status = sqlite_billing_step_locked(st, s, what, &row);
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
      status = sqlite_billing_missing_or_conflict_locked(st, S_JOB_IN_TENANT, c->job_id,
                                                         c->tenant_id, what);
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
  status = sqlite_billing_tx_end_locked(st, status);
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
  return sqlite_read_one_row(sqlite_of(base_), S_CHARGE_GET, INTS(job_id, tenant_id), NULL,
                             read_charge, out, "charge get");
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
      status = sqlite_billing_missing_or_conflict_locked(st, S_CHARGE_EXISTS, c->job_id,
                                                         c->tenant_id, what);
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
  status = sqlite_billing_tx_end_locked(st, status);
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
  return sqlite_read_rows(sqlite_of(base_), S_CHARGE_LIST_DUE, bind_due, &f, charge_row,
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
      status =
          sqlite_billing_missing_or_conflict_locked(st, S_JOB_IN_TENANT, job_id, tenant_id, what);
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
  return sqlite_read_rows(sqlite_of(base_), S_PRINT_LOG, bind_log, f, log_row,
                          (list_cb_t){.print_log = cb}, ctx, "print log");
}
