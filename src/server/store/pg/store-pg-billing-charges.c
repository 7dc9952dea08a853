/*
 * store-pg-billing-charges.c: billing by purpose in the PostgreSQL backend
 * (store.h "billing by purpose"), second part: the charge of each job
 * released under a purpose (the hold placed at release with the job's
 * change, compare-and-set moves with the account's figures and a ledger
 * posting, all in one transaction), the charges that need billing now,
 * the purpose chosen at the panel, and the print log.
 *
 * Locks are taken in one order: the job (its release change), its charge
 * row, then the account row; a hold or a charge move on one account
 * serialises on that account's row, whose UPDATE compares the figures
 * after the move with the account's invariant (store-pg-billing.c's
 * PS_ACCOUNT_MOVE), so concurrent holds never overdraw it.  A refusal of
 * the account's CHECK constraints themselves (SQLSTATE 23514) is the same
 * answer: CONFLICT, STORE_CHARGE_LIMIT, nothing written.
 */
#include "store-pg-private.h"

/* account_id NULL (private) reads as 0; the account's code comes from
 * the account (never deleted, its code never changes): CHARGE_FROM. */
#define CHARGE_COLS                                                                             \
  "c.job_id, c.tenant_id, c.user_id, c.purpose_id, c.purpose_name, coalesce(c.account_id, 0), " \
  "coalesce(ca.code, ''), c.device_id, c.state, c.currency, c.hold, c.print_fee, "              \
  "c.service_fee, c.total, c.impressions, c.attempts, c.next_try_at, c.order_id, "              \
  "c.provider_tx, c.reason, c.created_at, c.updated_at, c.charged_at"
#define CHARGE_ACCOUNT "LEFT JOIN billing_accounts ca ON ca.id = c.account_id"
#define CHARGE_NCOLS 23
#define JOB_NCOLS 32 /* JOB_COLS */
#define QUOTE_COLS                                                                          \
  "jq.job_id, jq.tenant_id, jq.price_table_id, jq.currency, jq.print_fee, jq.service_fee, " \
  "jq.total, jq.detail, jq.computed_at"

static const char *const charges_sql[PS_REMOTE_FIRST - PS_CHARGE_PLACE] = {
#define C(id) [(id)-PS_CHARGE_PLACE]
    /* Insert the job's charge (HELD), or replace its RELEASED one; no row
     * when the job is not the tenant's or its charge is in another state.
     * A foreign key refuses an account not the tenant's (NOT_FOUND).
     * The account's code comes back for the caller's record. */
    C(PS_CHARGE_PLACE) =
        "INSERT INTO job_charges AS c (job_id, tenant_id, user_id, purpose_id, purpose_name, "
        "account_id, device_id, state, currency, hold, print_fee, service_fee, total, "
        "impressions, attempts, next_try_at, order_id, provider_tx, reason, created_at, "
        "updated_at, charged_at) SELECT $1::bigint, $2::bigint, $3::bigint, $4::bigint, "
        "$5::text, $6::bigint, $7::bigint, 1, $8::text, $9::bigint, $10::bigint, $11::bigint, "
        "$12::bigint, $13::integer, $14::integer, $15::bigint, $16::text, $17::text, "
        "$18::text, $19::bigint, $19::bigint, 0 "
        "FROM jobs WHERE id = $1::bigint AND tenant_id = $2::bigint "
        "ON CONFLICT (job_id) DO UPDATE SET user_id = excluded.user_id, "
        "purpose_id = excluded.purpose_id, purpose_name = excluded.purpose_name, "
        "account_id = excluded.account_id, device_id = excluded.device_id, state = 1, "
        "currency = excluded.currency, hold = excluded.hold, print_fee = excluded.print_fee, "
        "service_fee = excluded.service_fee, total = excluded.total, "
        "impressions = excluded.impressions, attempts = excluded.attempts, "
        "next_try_at = excluded.next_try_at, order_id = excluded.order_id, "
        "provider_tx = excluded.provider_tx, reason = excluded.reason, "
        "created_at = excluded.created_at, updated_at = excluded.updated_at, charged_at = 0 "
        "WHERE c.state = 3 AND c.tenant_id = excluded.tenant_id "
        "RETURNING coalesce((SELECT a.code FROM billing_accounts a WHERE a.id = c.account_id), "
        "'')",
    C(PS_CHARGE_GET) = "SELECT " CHARGE_COLS " FROM job_charges c " CHARGE_ACCOUNT
                       " WHERE c.job_id = $1 AND c.tenant_id = $2",
    /* compare $3, set $4.. */
    C(PS_CHARGE_UPDATE) =
        "UPDATE job_charges SET state = $4, print_fee = $5, service_fee = $6, total = $7, "
        "impressions = $8, attempts = $9, next_try_at = $10, order_id = $11, "
        "provider_tx = $12, reason = $13, charged_at = $14, updated_at = $15 "
        "WHERE job_id = $1 AND tenant_id = $2 AND state = $3",
    C(PS_CHARGE_EXISTS) = "SELECT 1 FROM job_charges WHERE job_id = $1 AND tenant_id = $2",
    /* what billing/charge.c must act on now (store.h store_charge_list_due):
     * $1 after job, $2 now, $3 stale before, $4 at most (NULL: all) */
    C(PS_CHARGE_LIST_DUE) =
        "SELECT " CHARGE_COLS
        ", j.state FROM job_charges c JOIN jobs j ON j.id = c.job_id " CHARGE_ACCOUNT
        " "
        "WHERE c.state IN (1, 4, 5) AND c.job_id > $1::bigint "
        "AND ((c.state = 1 AND j.state IN (2, 6, 7, 8, 9)) "
        "  OR (c.state = 4 AND c.next_try_at > 0 AND c.next_try_at <= $2::bigint) "
        "  OR (c.state = 5 AND c.updated_at < $3::bigint)) "
        "ORDER BY c.job_id LIMIT $4::bigint",
    C(PS_JOB_IN_TENANT) = "SELECT 1 FROM jobs WHERE id = $1 AND tenant_id = $2",
    /* only while the job is received or held */
    C(PS_JOB_SET_ACCOUNT) =
        "UPDATE jobs SET account_id = $3 "
        "WHERE id = $1 AND tenant_id = $2 AND state IN (1, 2)",
    /* $1 tenant, $2 from, $3 to (0: no end), $4 user, $5 account, $6
     * purpose, $7 device, $8 private only, $9 before id (0: none), $10 at
     * most (NULL: all); 0 filters nothing */
    C(PS_PRINT_LOG) =
        "SELECT " JOB_COLS ", " CHARGE_COLS ", " QUOTE_COLS " " JOB_FROM
        " LEFT JOIN job_charges c ON c.job_id = j.id " CHARGE_ACCOUNT
        " LEFT JOIN job_quotes jq ON jq.job_id = j.id "
        "WHERE j.tenant_id = $1::bigint AND j.created_at >= $2::bigint "
        "AND ($3::bigint = 0 OR j.created_at < $3::bigint) "
        "AND ($4::bigint = 0 OR j.owner_id = $4::bigint) "
        "AND ($5::bigint = 0 OR c.account_id = $5::bigint) "
        "AND ($6::bigint = 0 OR c.purpose_id = $6::bigint) "
        "AND ($7::bigint = 0 OR j.device_id = $7::bigint) "
        "AND (NOT $8::boolean OR (c.job_id IS NOT NULL AND c.account_id IS NULL)) "
        "AND ($9::bigint = 0 OR j.id < $9::bigint) ORDER BY j.id DESC LIMIT $10::bigint",
#undef C
};

/* Statements from PS_REMOTE_FIRST on are store-pg-remote.c's, from PS_LINK_FIRST on
 * store-pg-links.c's, from PS_CONTRACT_FIRST on store-pg-contracts.c's. */
const char *pg_charges_sql(pg_stmt_id_t id) {
  if (id >= PS_PROV_FIRST) return pg_prov_sql(id);
  if (id >= PS_SERVICE_FIRST) return pg_service_sql(id);
  if (id >= PS_CONTRACT_FIRST) return pg_contract_sql(id);
  if (id >= PS_LINK_FIRST) return pg_link_sql(id);
  if (id >= PS_REMOTE_FIRST) return pg_remote_sql(id);
  return id >= PS_CHARGE_PLACE && id < PS_COUNT ? charges_sql[id - PS_CHARGE_PLACE] : NULL;
}

void pg_charge_from_row(const PGresult *r, int i, int col, nimbus_job_charge_t *c) {
  memset(c, 0, sizeof *c);
  c->job_id = pg_get_int64(r, i, col + 0);
  c->tenant_id = pg_get_int64(r, i, col + 1);
  c->user_id = pg_get_int64(r, i, col + 2);
  c->purpose_id = pg_get_int64(r, i, col + 3);
  PG_GET_FIELD(r, i, col + 4, c->purpose_name);
  c->account_id = pg_get_int64(r, i, col + 5);
  PG_GET_FIELD(r, i, col + 6, c->account_code);
  c->device_id = pg_get_int64(r, i, col + 7);
  c->state = (nimbus_charge_state_t)pg_get_int(r, i, col + 8);
  PG_GET_FIELD(r, i, col + 9, c->currency);
  c->hold = pg_get_int64(r, i, col + 10);
  c->print_fee = pg_get_int64(r, i, col + 11);
  c->service_fee = pg_get_int64(r, i, col + 12);
  c->total = pg_get_int64(r, i, col + 13);
  c->impressions = pg_get_int(r, i, col + 14);
  c->attempts = pg_get_int(r, i, col + 15);
  c->next_try_at = pg_get_int64(r, i, col + 16);
  PG_GET_FIELD(r, i, col + 17, c->order_id);
  PG_GET_FIELD(r, i, col + 18, c->provider_tx);
  PG_GET_FIELD(r, i, col + 19, c->reason);
  c->created_at = pg_get_int64(r, i, col + 20);
  c->updated_at = pg_get_int64(r, i, col + 21);
  c->charged_at = pg_get_int64(r, i, col + 22);
}

static void read_charge(const PGresult *r, void *out) {
  pg_charge_from_row(r, 0, 0, out);
}

static bool charge_row(const PGresult *r, int i, pg_list_cb_t cb, void *ctx) {
  nimbus_job_charge_t c;
  pg_charge_from_row(r, i, 0, &c);
  return cb.charge(&c, (nimbus_job_state_t)pg_get_int(r, i, CHARGE_NCOLS), ctx);
}

static bool print_log_row(const PGresult *r, int i, pg_list_cb_t cb, void *ctx) {
  nimbus_job_t job;
  nimbus_job_charge_t charge;
  nimbus_job_quote_t quote;
  pg_job_from_row(r, i, &job);
  bool has_charge = !PQgetisnull(r, i, JOB_NCOLS);
  if (has_charge) pg_charge_from_row(r, i, JOB_NCOLS, &charge);
  int q = JOB_NCOLS + CHARGE_NCOLS;
  bool has_quote = !PQgetisnull(r, i, q);
  if (has_quote) pg_quote_from_row(r, i, q, &quote);
  return cb.print_log(&job, has_charge ? &charge : NULL, has_quote ? &quote : NULL, ctx);
}

/* ---- moving an account's figures ---- */

/*
 * Add the delta to account (id, tenant) inside the caller's transaction;
 * must_be_open: refused when the account is closed (a new hold).  A
 * refusal is CONFLICT with *why set (ACCOUNT_CLOSED or LIMIT); NOT_FOUND
 * when the account is not the tenant's.
 */
static store_status_t account_move(pg_conn_t *c, nimbus_id_t tenant_id, nimbus_id_t id,
                                   const store_account_delta_t *d, bool must_be_open,
                                   store_charge_refusal_t *why, const char *what) {
  pg_params_t p = {0};
  pg_param_int(&p, id);
  pg_param_int(&p, tenant_id);
  pg_param_int(&p, d->held);
  pg_param_int(&p, d->balance);
  pg_param_int(&p, d->charged);
  pg_param_int(&p, must_be_open ? 1 : 0);
  PGresult *r;
  store_status_t status = pg_exec(c, PS_ACCOUNT_MOVE, &p, &r, what);
  if (status == STORE_ERROR && !strcmp(c->sqlstate, "23514")) { /* check_violation */
    *why = STORE_CHARGE_LIMIT;
    return STORE_CONFLICT;
  }
  if (status != STORE_OK) return status;
  bool moved = PQntuples(r) == 1;
  PQclear(r);
  if (moved) return STORE_OK;
  /* refused: gone, closed, or its invariant would break (the row is
   * locked by nobody now; what it says is why this update did not match) */
  pg_params_t k = {0};
  pg_param_int(&k, id);
  pg_param_int(&k, tenant_id);
  status = pg_exec_row(c, PS_ACCOUNT_CLOSED_AT, &k, &r, what);
  if (status != STORE_OK) return status;
  bool closed = pg_get_int64(r, 0, 0) != 0;
  PQclear(r);
  *why = must_be_open && closed ? STORE_CHARGE_ACCOUNT_CLOSED : STORE_CHARGE_LIMIT;
  return STORE_CONFLICT;
}

/* A failed compare on the job's charge: CONFLICT (JOB_CHANGED) when the
 * row (stmt: the job or its charge) is there, else NOT_FOUND. */
static store_status_t changed_or_missing(pg_conn_t *c, pg_stmt_id_t exists, nimbus_id_t tenant_id,
                                         nimbus_id_t job_id, store_charge_refusal_t *why,
                                         const char *what) {
  pg_params_t k = {0};
  pg_param_int(&k, job_id);
  pg_param_int(&k, tenant_id);
  PGresult *r;
  store_status_t status = pg_exec_row(c, exists, &k, &r, what);
  if (status != STORE_OK) return status;
  PQclear(r);
  *why = STORE_CHARGE_JOB_CHANGED;
  return STORE_CONFLICT;
}

/* ---- the hold ---- */

typedef struct {
  const nimbus_job_charge_t *c;
  const store_job_change_t *release;
  const store_audit_t *audit;
  store_charge_refusal_t why;
  int64_t now;
  char account_code[NIMBUS_ACCOUNT_CODE_MAX]; /* the account's ("" when private) */
} hold_t;

/* The job's release, the charge row, the account's held: in that order. */
static store_status_t hold_tx(pg_conn_t *c, void *arg) {
  static const char what[] = "charge hold";
  hold_t *h = arg;
  const nimbus_job_charge_t *ch = h->c;
  h->why = 0;
  h->now = (int64_t)time(NULL);
  store_status_t status = STORE_OK;
  if (h->release) {
    status = pg_job_changes_on(c, ch->tenant_id, h->release, 1, h->now);
    if (status == STORE_CONFLICT) h->why = STORE_CHARGE_JOB_CHANGED;
    if (status != STORE_OK) return status;
  }
  pg_params_t p = {0};
  pg_param_int(&p, ch->job_id);
  pg_param_int(&p, ch->tenant_id);
  pg_param_int(&p, ch->user_id);
  pg_param_int(&p, ch->purpose_id);
  PG_PARAM_FIELD(&p, ch->purpose_name);
  pg_param_id_or_null(&p, ch->account_id);
  pg_param_int(&p, ch->device_id);
  PG_PARAM_FIELD(&p, ch->currency);
  pg_param_int(&p, ch->hold);
  pg_param_int(&p, ch->print_fee);
  pg_param_int(&p, ch->service_fee);
  pg_param_int(&p, ch->total);
  pg_param_int(&p, ch->impressions);
  pg_param_int(&p, ch->attempts);
  pg_param_int(&p, ch->next_try_at);
  PG_PARAM_FIELD(&p, ch->order_id);
  PG_PARAM_FIELD(&p, ch->provider_tx);
  PG_PARAM_FIELD(&p, ch->reason);
  pg_param_int(&p, h->now);
  PGresult *r;
  status = pg_exec(c, PS_CHARGE_PLACE, &p, &r, what);
  if (status != STORE_OK) return status;
  bool placed = PQntuples(r) == 1;
  if (placed) PG_GET_FIELD(r, 0, 0, h->account_code);
  PQclear(r);
  if (!placed) /* a charge not RELEASED is there, or the job is not the tenant's */
    return changed_or_missing(c, PS_JOB_IN_TENANT, ch->tenant_id, ch->job_id, &h->why, what);
  if (ch->account_id) {
    store_account_delta_t d = {.held = ch->hold};
    status = account_move(c, ch->tenant_id, ch->account_id, &d, true, &h->why, what);
    if (status != STORE_OK) return status;
  }
  return pg_audit_insert(c, h->audit, ch->job_id);
}

store_status_t pg_charge_hold(store_t *base, nimbus_job_charge_t *c,
                              const store_job_change_t *release, const store_audit_t *audit,
                              store_charge_refusal_t *why) {
  hold_t h = {.c = c, .release = release, .audit = audit};
  store_status_t status = pg_transaction(pg_of(base), hold_tx, &h, "charge hold");
  if (status == STORE_OK) {
    c->state = NIMBUS_CHARGE_HELD;
    memcpy(c->account_code, h.account_code, sizeof c->account_code);
    c->created_at = c->updated_at = h.now;
    c->charged_at = 0;
  }
  if (why) *why = status == STORE_CONFLICT ? h.why : 0;
  return status;
}

store_status_t pg_charge_get(store_t *base, nimbus_id_t tenant_id, nimbus_id_t job_id,
                             nimbus_job_charge_t *out) {
  pg_params_t p = {0};
  pg_param_int(&p, job_id);
  pg_param_int(&p, tenant_id);
  return pg_read_one_row(pg_of(base), PS_CHARGE_GET, &p, read_charge, out, "charge get");
}

/* ---- charge moves ---- */

typedef struct {
  const nimbus_job_charge_t *c;
  nimbus_charge_state_t expected;
  const store_account_delta_t *delta;
  const store_ledger_posting_t *posting;
  const store_audit_t *audit;
  store_charge_refusal_t why;
  int64_t now;
} charge_update_t;

/* The compare on the charge row (locking it), the account's figures, the
 * posting and the audit row. */
static store_status_t charge_update_tx(pg_conn_t *c, void *arg) {
  static const char what[] = "charge update";
  charge_update_t *u = arg;
  const nimbus_job_charge_t *ch = u->c;
  u->why = 0;
  u->now = (int64_t)time(NULL);
  pg_params_t p = {0};
  pg_param_int(&p, ch->job_id);
  pg_param_int(&p, ch->tenant_id);
  pg_param_int(&p, (int)u->expected);
  pg_param_int(&p, (int)ch->state);
  pg_param_int(&p, ch->print_fee);
  pg_param_int(&p, ch->service_fee);
  pg_param_int(&p, ch->total);
  pg_param_int(&p, ch->impressions);
  pg_param_int(&p, ch->attempts);
  pg_param_int(&p, ch->next_try_at);
  PG_PARAM_FIELD(&p, ch->order_id);
  PG_PARAM_FIELD(&p, ch->provider_tx);
  PG_PARAM_FIELD(&p, ch->reason);
  pg_param_int(&p, ch->charged_at);
  pg_param_int(&p, u->now);
  store_status_t status = pg_exec_changes(c, PS_CHARGE_UPDATE, &p, what);
  if (status == STORE_NOT_FOUND)
    return changed_or_missing(c, PS_CHARGE_EXISTS, ch->tenant_id, ch->job_id, &u->why, what);
  if (status != STORE_OK) return status;
  if (u->delta && ch->account_id && (u->delta->held || u->delta->balance || u->delta->charged)) {
    status = account_move(c, ch->tenant_id, ch->account_id, u->delta, false, &u->why, what);
    if (status != STORE_OK) return status;
  }
  nimbus_id_t posting_id = 0;
  if (u->posting) status = pg_posting_insert(c, u->posting, 0, u->now, &posting_id);
  if (status == STORE_OK) status = pg_audit_insert(c, u->audit, ch->job_id);
  return status;
}

store_status_t pg_charge_update(store_t *base, nimbus_job_charge_t *c,
                                nimbus_charge_state_t expected, const store_account_delta_t *delta,
                                const store_ledger_posting_t *posting, const store_audit_t *audit,
                                store_charge_refusal_t *why) {
  charge_update_t u = {
      .c = c, .expected = expected, .delta = delta, .posting = posting, .audit = audit};
  store_status_t status = pg_transaction(pg_of(base), charge_update_tx, &u, "charge update");
  if (status == STORE_OK) c->updated_at = u.now;
  if (why) *why = status == STORE_CONFLICT ? u.why : 0;
  return status;
}

/* max <= 0: no limit. */
store_status_t pg_charge_list_due(store_t *base, int64_t now, int64_t stale_before,
                                  nimbus_id_t after_job_id, int max, store_charge_cb cb,
                                  void *ctx) {
  pg_params_t p = {0};
  pg_param_int(&p, after_job_id);
  pg_param_int(&p, now);
  pg_param_int(&p, stale_before);
  pg_param_id_or_null(&p, max > 0 ? max : 0);
  return pg_read_rows(pg_of(base), PS_CHARGE_LIST_DUE, &p, charge_row, (pg_list_cb_t){.charge = cb},
                      ctx, "charge list due");
}

/* ---- the purpose chosen at the panel ---- */

typedef struct {
  nimbus_id_t tenant_id, job_id;
  const char *account_id;
  const store_audit_t *audit;
} set_account_t;

static store_status_t set_account_tx(pg_conn_t *c, void *arg) {
  static const char what[] = "job set account";
  const set_account_t *s = arg;
  pg_params_t p = {0};
  pg_param_int(&p, s->job_id);
  pg_param_int(&p, s->tenant_id);
  pg_param_text(&p, s->account_id, NIMBUS_TEXT_MAX - 1);
  store_status_t status = pg_exec_changes(c, PS_JOB_SET_ACCOUNT, &p, what);
  if (status == STORE_NOT_FOUND) { /* past held, or not the tenant's */
    store_charge_refusal_t ignored;
    status = changed_or_missing(c, PS_JOB_IN_TENANT, s->tenant_id, s->job_id, &ignored, what);
  }
  if (status == STORE_OK) status = pg_audit_insert(c, s->audit, s->job_id);
  return status;
}

store_status_t pg_job_set_account(store_t *base, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                  const char *account_id, const store_audit_t *audit) {
  set_account_t s = {
      .tenant_id = tenant_id, .job_id = job_id, .account_id = account_id, .audit = audit};
  return pg_transaction(pg_of(base), set_account_tx, &s, "job set account");
}

/* ---- the print log ---- */

store_status_t pg_print_log(store_t *base, const store_print_log_filter_t *f, store_print_log_cb cb,
                            void *ctx) {
  pg_params_t p = {0};
  pg_param_int(&p, f->tenant_id);
  pg_param_int(&p, f->from);
  pg_param_int(&p, f->to);
  pg_param_int(&p, f->user_id);
  pg_param_int(&p, f->account_id);
  pg_param_int(&p, f->purpose_id);
  pg_param_int(&p, f->device_id);
  pg_param_int(&p, f->private_only ? 1 : 0);
  pg_param_int(&p, f->before_id);
  pg_param_id_or_null(&p, f->limit > 0 ? f->limit : 0);
  return pg_read_rows(pg_of(base), PS_PRINT_LOG, &p, print_log_row, (pg_list_cb_t){.print_log = cb},
                      ctx, "print log");
}
