/*
 * store-pg-jobs.c: jobs and documents in the PostgreSQL backend (store.h),
 * with the meanings store/sqlite/store-sqlite-jobs.c implements: the job
 * insert with its documents, inline data and "job-created" event, reads
 * and lists, job changes (store_job_apply: compare-and-set only, the state
 * machine is job.c's), device progress and leases, documents, the PIN
 * counter, purge and the sweep listing.
 *
 * Group commit as in the SQLite backend, with the same batcher
 * (store/group-commit.c: the queue and the committer thread) running
 * pg_job_insert_batch: one transaction per batch, a SAVEPOINT per insert.
 * Differences in mechanism, not in meaning: the committer checks a pool
 * connection out per batch; checks that must hold until a write lock the
 * rows they read (SELECT … FOR UPDATE, FOR KEY SHARE) instead of relying
 * on one writer at a time, in one order (job_changes_lock).
 */
#include "store-pg-private.h"

#include <limits.h>
#include <stdlib.h>

#include "crypto.h"

#define STATE_IS_TERMINAL(s) ((s) >= NIMBUS_JOB_COMPLETED)

static int clamp_int(int64_t v) {
  return v > INT_MAX ? INT_MAX : v < INT_MIN ? INT_MIN : (int)v;
}

/* ---- job references ---- */

/* Crockford base32 (no I, L, O, U): references are read aloud and typed. */
static const char job_reference_alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
#define JOB_REFERENCE_LEN 16 /* 80 random bits */
#define JOB_REFERENCE_TRIES 8

/* A fresh random reference into out[JOB_REFERENCE_LEN + 1]: 16 random
 * bytes (crypto_random_hex), 5 bits of each. */
static void job_reference_new(char *out) {
  char hex[33];
  crypto_random_hex(hex);
  for (int i = 0; i < JOB_REFERENCE_LEN; i++) {
    unsigned v = (unsigned)strtoul((char[3]){hex[2 * i], hex[2 * i + 1], '\0'}, NULL, 16);
    out[i] = job_reference_alphabet[v & 31];
  }
  out[JOB_REFERENCE_LEN] = '\0';
}

/* ---- rows ---- */

void pg_job_from_row(const PGresult *r, int i, nimbus_job_t *j) {
  memset(j, 0, sizeof *j);
  j->id = pg_get_int64(r, i, 0);
  j->tenant_id = pg_get_int64(r, i, 1);
  j->queue_id = pg_get_int64(r, i, 2);
  j->owner_id = pg_get_int64(r, i, 3); /* NULL reads as 0 */
  PG_GET_FIELD(r, i, 4, j->queue_name);
  PG_GET_FIELD(r, i, 5, j->owner_name);
  PG_GET_FIELD(r, i, 6, j->name);
  PG_GET_FIELD(r, i, 7, j->origin_host);
  j->state = (nimbus_job_state_t)pg_get_int(r, i, 8);
  j->created_at = pg_get_int64(r, i, 9);
  j->state_changed_at = pg_get_int64(r, i, 10);
  j->completed_at = pg_get_int64(r, i, 11);
  j->copies = pg_get_int(r, i, 12);
  j->pages = pg_get_int(r, i, 13);
  j->impressions = pg_get_int(r, i, 14);
  j->impressions_completed = pg_get_int(r, i, 15);
  j->num_documents = pg_get_int(r, i, 16);
  PG_GET_FIELD(r, i, 17, j->account_id);
  PG_GET_FIELD(r, i, 18, j->accounting_user_id);
  PG_GET_FIELD(r, i, 19, j->hold_until);
  PG_GET_FIELD(r, i, 20, j->pin_hash);
  PG_GET_FIELD(r, i, 21, j->attrs_json);
  j->device_id = pg_get_int64(r, i, 22);
  j->target_device_id = pg_get_int64(r, i, 23);
  PG_GET_FIELD(r, i, 24, j->device_state_reasons);
  j->origin_device_id = pg_get_int64(r, i, 25);
  PG_GET_FIELD(r, i, 26, j->origin_device_name);
  PG_GET_FIELD(r, i, 27, j->reference);
  j->pin_failures = pg_get_int(r, i, 28);
  j->pin_window_start = pg_get_int64(r, i, 29);
  j->pin_locked_until = pg_get_int64(r, i, 30);
  j->number = pg_get_int64(r, i, 31);
}

static void doc_from_row(const PGresult *r, int i, nimbus_document_t *d) {
  memset(d, 0, sizeof *d);
  d->job_id = pg_get_int64(r, i, 0);
  d->number = pg_get_int(r, i, 1);
  PG_GET_FIELD(r, i, 2, d->format);
  PG_GET_FIELD(r, i, 3, d->name);
  d->size = pg_get_int64(r, i, 4);
  d->pages = pg_get_int(r, i, 5);
  PG_GET_FIELD(r, i, 6, d->blob_key);
  d->created_at = pg_get_int64(r, i, 7);
}

static bool job_row(const PGresult *r, int i, pg_list_cb_t cb, void *ctx) {
  nimbus_job_t job;
  pg_job_from_row(r, i, &job);
  return cb.job(&job, ctx);
}

/* ---- shared steps (inside the caller's transaction, on c) ---- */

/* Insert a job_events row of c's origin; from_state and to_state 0 are
 * stored as NULL. */
store_status_t pg_event_insert(pg_conn_t *c, nimbus_id_t tenant_id, nimbus_id_t job_id, int64_t now,
                               const char *event, int from_state, int to_state,
                               const char *detail) {
  if (!event) return STORE_ERROR; /* NOT NULL */
  pg_params_t p = {0};
  pg_param_int(&p, tenant_id);
  pg_param_int(&p, job_id);
  pg_param_int(&p, now);
  pg_param_text(&p, event, SIZE_MAX);
  pg_param_id_or_null(&p, from_state);
  pg_param_id_or_null(&p, to_state);
  pg_param_text(&p, detail, SIZE_MAX);
  pg_param_int(&p, c->origin);
  return pg_exec(c, PS_EVENT_INSERT, &p, NULL, "job event insert");
}

/* Single-row statement id with (a, b) as its two parameters: OK when a
 * row exists, NOT_FOUND when none. */
static store_status_t row_exists(pg_conn_t *c, pg_stmt_id_t id, int64_t a, int64_t b,
                                 const char *what) {
  pg_params_t p = {0};
  pg_param_int(&p, a);
  pg_param_int(&p, b);
  PGresult *r;
  store_status_t status = pg_exec_row(c, id, &p, &r, what);
  if (status == STORE_OK) PQclear(r);
  return status;
}

/* After an UPDATE of job_id that touched no row: NOT_FOUND when the job
 * does not exist in the tenant, else CONFLICT. */
static store_status_t missing_or_conflict(pg_conn_t *c, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                          const char *what) {
  store_status_t status = row_exists(c, PS_JOB_COUNTERS, job_id, tenant_id, what);
  return status == STORE_OK ? STORE_CONFLICT : status;
}

/* ---- job insert ---- */

typedef struct {
  nimbus_job_t *job;
  nimbus_document_t *docs;
  const store_inline_t *data;
  int ndocs;
  /* results, copied to the caller's records only after COMMIT */
  nimbus_id_t id, number;
  int64_t now;
  int copies;
  int64_t pages;
  char reference[sizeof((nimbus_job_t *)0)->reference];
} job_insert_t;

/* The jobs row; NOT_FOUND when the reference is taken (no row back). */
static store_status_t job_row_insert(pg_conn_t *c, job_insert_t *in) {
  const nimbus_job_t *job = in->job;
  pg_params_t p = {0};
  pg_param_int(&p, job->tenant_id);
  pg_param_int(&p, job->queue_id);
  pg_param_id_or_null(&p, job->owner_id);
  PG_PARAM_FIELD(&p, job->owner_name);
  PG_PARAM_FIELD(&p, job->name);
  PG_PARAM_FIELD(&p, job->origin_host);
  pg_param_int(&p, (int)job->state);
  pg_param_int(&p, in->now);
  pg_param_int(&p, in->now);
  pg_param_int(&p, STATE_IS_TERMINAL((int)job->state) ? in->now : 0);
  pg_param_int(&p, in->copies);
  pg_param_int(&p, in->pages);
  pg_param_int(&p, in->pages * in->copies);
  pg_param_int(&p, job->impressions_completed);
  pg_param_int(&p, in->ndocs);
  PG_PARAM_FIELD(&p, job->account_id);
  PG_PARAM_FIELD(&p, job->accounting_user_id);
  PG_PARAM_FIELD(&p, job->hold_until);
  PG_PARAM_FIELD(&p, job->pin_hash);
  PG_PARAM_FIELD(&p, job->attrs_json);
  pg_param_int(&p, job->origin_device_id);
  PG_PARAM_FIELD(&p, in->reference);
  pg_param_int(&p, in->number);
  PGresult *r;
  store_status_t status = pg_exec(c, PS_JOB_INSERT, &p, &r, "job insert");
  if (status != STORE_OK) return status; /* NOT_FOUND here: a foreign key (queue) */
  if (PQntuples(r) == 1)
    in->id = pg_get_int64(r, 0, 0);
  else
    status = STORE_CONFLICT;
  PQclear(r);
  return status;
}

/*
 * The job, its documents (numbered 1..n, inline bytes with them) and its
 * "job-created" event.  The store owns the counters: copies at least 1,
 * pages the sum of the documents', impressions pages x copies.  An owner
 * of another tenant is NOT_FOUND; a reference the caller chose that is
 * taken is CONFLICT, a generated one that collides is drawn again.
 */
static store_status_t job_insert_tx(pg_conn_t *c, void *arg) {
  job_insert_t *in = arg;
  nimbus_job_t *job = in->job;
  store_status_t status;
  if (job->owner_id) {
    status = row_exists(c, PS_USER_EXISTS, job->owner_id, job->tenant_id, "job insert owner");
    if (status != STORE_OK) return status;
  }
  pg_params_t t = {0};
  pg_param_int(&t, job->tenant_id);
  PGresult *r;
  status = pg_exec_row(c, PS_JOB_NUMBER_TAKE, &t, &r, "job number"); /* NOT_FOUND: no tenant */
  if (status != STORE_OK) return status;
  in->number = pg_get_int64(r, 0, 0);
  PQclear(r);

  bool generate = job->reference[0] == '\0';
  _Static_assert(sizeof job->reference > JOB_REFERENCE_LEN, "reference field too short");
  if (!generate) snprintf(in->reference, sizeof in->reference, "%s", job->reference);
  for (int attempt = 0;; attempt++) {
    if (generate) job_reference_new(in->reference);
    status = job_row_insert(c, in);
    if (status != STORE_CONFLICT || !generate || attempt + 1 >= JOB_REFERENCE_TRIES) break;
  }
  if (status != STORE_OK) return status;

  for (int i = 0; i < in->ndocs && status == STORE_OK; i++) {
    const nimbus_document_t *d = &in->docs[i];
    pg_params_t p = {0};
    pg_param_int(&p, in->id);
    pg_param_int(&p, i + 1);
    PG_PARAM_FIELD(&p, d->format);
    PG_PARAM_FIELD(&p, d->name);
    pg_param_int(&p, d->size);
    pg_param_int(&p, d->pages);
    PG_PARAM_FIELD(&p, d->blob_key);
    pg_param_int(&p, in->now);
    status = pg_exec(c, PS_DOC_INSERT, &p, NULL, "document insert");
    if (status == STORE_OK && in->data && in->data[i].data) {
      if (in->data[i].len > INT32_MAX) return STORE_ERROR;
      pg_params_t dp = {0};
      pg_param_int(&dp, in->id);
      pg_param_int(&dp, i + 1);
      pg_param_bytes(&dp, in->data[i].data, in->data[i].len);
      status = pg_exec(c, PS_DOC_DATA_INSERT, &dp, NULL, "document data insert");
    }
  }
  if (status != STORE_OK) return status;
  return pg_event_insert(c, job->tenant_id, in->id, in->now, "job-created", 0, (int)job->state,
                         NULL);
}

/* ---- group commit ---- */

/* One store_job_insert call queued for the committer; lives on the
 * caller's stack. */
typedef struct {
  group_commit_item_t item; /* the batcher's (group-commit.h) */
  job_insert_t in;
  store_status_t status;
  bool failed_alone; /* rolled back to its savepoint: status is this insert's own */
} pg_insert_req_t;

/* The insert request an item of the batcher belongs to. */
static pg_insert_req_t *req_of(group_commit_item_t *item) {
  return GROUP_COMMIT_REQ(item, pg_insert_req_t, item);
}

typedef struct {
  group_commit_item_t **items;
  int n;
} job_insert_batch_t;

/*
 * The inserts of a batch in the caller's transaction on c, each inside
 * SAVEPOINT job_insert: a failing one is rolled back to it alone and
 * keeps its own status (failed_alone) while the others go on.  A failure
 * that aborts the transaction itself (a deadlock, a lost connection, a
 * savepoint that cannot be set or rolled back to) is returned, and
 * pg_transaction rolls everything back and, for a deadlock, runs the
 * whole batch again: nothing of a rolled-back attempt survives, so no
 * insert is made twice.
 */
static store_status_t job_insert_batch_tx(pg_conn_t *c, void *arg) {
  job_insert_batch_t *b = arg;
  for (int i = 0; i < b->n; i++) req_of(b->items[i])->failed_alone = false;
  for (int i = 0; i < b->n; i++) {
    pg_insert_req_t *req = req_of(b->items[i]);
    store_status_t status = pg_exec_sql(c, "SAVEPOINT job_insert", "job insert savepoint");
    if (status != STORE_OK) return status;
    c->sqlstate[0] = '\0'; /* tell this insert's failure from an earlier one */
    req->status = job_insert_tx(c, &req->in);
    if (req->status == STORE_OK) {
      status = pg_exec_sql(c, "RELEASE SAVEPOINT job_insert", "job insert release");
    } else if (pg_tx_retryable(c) || c->broken) {
      status = req->status; /* the transaction failed, not this insert */
    } else {
      status = pg_exec_sql(c, "ROLLBACK TO SAVEPOINT job_insert", "job insert rollback to");
      if (status == STORE_OK)
        status = pg_exec_sql(c, "RELEASE SAVEPOINT job_insert", "job insert release");
      req->failed_alone = status == STORE_OK;
    }
    if (status != STORE_OK) return status;
  }
  return STORE_OK;
}

/* Run n queued inserts (pg_insert_req_t items) in one transaction and set
 * each one's status: the group committer's run callback (ctx: the
 * pg_store_t), which wakes the callers once this returned.  If the
 * transaction fails as a whole (after pg_transaction's retries), every
 * insert that did not fail alone gets its status: nothing of the batch is
 * kept.
 * The inserts run in job state order (arrival order within a state; the
 * batcher's items[] is sorted in place): each one's counter trigger locks
 * the job_state_counts row of its state until COMMIT, and a job change
 * locks those rows in state order too, so the two cannot deadlock on
 * them. */
void pg_job_insert_batch(void *ctx, group_commit_item_t **items, int n) {
  pg_store_t *st = ctx;
  for (int i = 1; i < n; i++) { /* insertion sort: stable, n <= group_commit_max */
    group_commit_item_t *r = items[i];
    int k = i;
    for (; k > 0 && req_of(items[k - 1])->in.job->state > req_of(r)->in.job->state; k--)
      items[k] = items[k - 1];
    items[k] = r;
  }
  job_insert_batch_t b = {.items = items, .n = n};
  store_status_t status = pg_transaction(st, job_insert_batch_tx, &b, "job insert batch");
  if (status == STORE_OK) return;
  for (int i = 0; i < n; i++)
    if (!req_of(items[i])->failed_alone) req_of(items[i])->status = status;
  log_event(LOG_ERROR, NULL, "job insert transaction failed", "jobs", LOG_INT(n), (char *)NULL);
}

store_status_t pg_job_insert(store_t *base, nimbus_job_t *job, nimbus_document_t *docs, int ndocs) {
  return pg_job_insert_data(base, job, docs, NULL, ndocs);
}

/* The caller's records change only once the transaction is committed:
 * the committer computes into the request, the caller copies. */
store_status_t pg_job_insert_data(store_t *base, nimbus_job_t *job, nimbus_document_t *docs,
                                  const store_inline_t *data, int ndocs) {
  pg_store_t *st = pg_of(base);
  if (!job || ndocs < 0 || (ndocs > 0 && !docs)) {
    log_event(LOG_ERROR, NULL, "store_job_insert: bad arguments", "ndocs", LOG_INT(ndocs),
              (char *)NULL);
    return STORE_ERROR;
  }
  pg_insert_req_t req = {.in = {.job = job, .docs = docs, .data = data, .ndocs = ndocs},
                         .status = STORE_ERROR};
  job_insert_t *in = &req.in;
  in->now = (int64_t)time(NULL);
  in->copies = job->copies < 1 ? 1 : job->copies;
  for (int i = 0; i < ndocs; i++) in->pages += docs[i].pages;
  store_status_t status;
  if (st->gc) {
    /* refused here: the committer's own check would not see this thread */
    if (pg_refused_in_callback(st, "job insert")) return STORE_ERROR;
    if (!group_commit_submit(st->gc, &req.item)) {
      log_event(LOG_ERROR, NULL, "store_job_insert after store_close", (char *)NULL);
      return STORE_ERROR;
    }
    status = req.status;
  } else {
    status = pg_transaction(st, job_insert_tx, in, "job insert");
  }
  if (status != STORE_OK) return status;
  job->id = in->id;
  job->number = in->number;
  job->created_at = in->now;
  job->state_changed_at = in->now;
  job->completed_at = STATE_IS_TERMINAL((int)job->state) ? in->now : 0;
  job->copies = in->copies;
  job->pages = clamp_int(in->pages);
  job->impressions = clamp_int(in->pages * in->copies);
  job->num_documents = ndocs;
  snprintf(job->reference, sizeof job->reference, "%s", in->reference);
  for (int i = 0; i < ndocs; i++) {
    docs[i].job_id = in->id;
    docs[i].number = i + 1;
    docs[i].created_at = in->now;
  }
  return STORE_OK;
}

/* Only the asked part of an inline document travels; another tenant's
 * job is NOT_FOUND like a missing one. */
store_status_t pg_document_read_inline(store_t *base, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                       int number, int64_t off, void *buf, size_t len,
                                       size_t *got) {
  pg_store_t *st = pg_of(base);
  *got = 0;
  if (off < 0 || off > INT32_MAX) return STORE_ERROR;
  if (len > INT32_MAX) len = INT32_MAX;
  pg_params_t p = {0};
  pg_param_int(&p, job_id);
  pg_param_int(&p, number);
  pg_param_int(&p, tenant_id);
  pg_param_int(&p, off);
  pg_param_int(&p, (int64_t)len);
  pg_conn_t *c = pg_acquire(st, "document read inline");
  if (!c) return STORE_ERROR;
  PGresult *r;
  store_status_t status = pg_exec_row(c, PS_DOC_DATA_READ, &p, &r, "document read inline");
  pg_release(st, c);
  if (status != STORE_OK) return status;
  void *bytes = NULL;
  size_t n = 0;
  if (!pg_get_bytes_copy(r, 0, 0, &bytes, &n)) status = STORE_ERROR;
  PQclear(r);
  if (status == STORE_OK) {
    if (n > len) n = len;
    if (n) memcpy(buf, bytes, n);
    *got = n;
  }
  free(bytes);
  return status;
}

/* ---- jobs ---- */

static store_status_t job_get_by(pg_store_t *st, pg_stmt_id_t id, nimbus_id_t key,
                                 nimbus_id_t tenant_id, nimbus_job_t *out, const char *what) {
  pg_params_t p = {0};
  pg_param_int(&p, key);
  pg_param_int(&p, tenant_id);
  pg_conn_t *c = pg_acquire(st, what);
  if (!c) return STORE_ERROR;
  PGresult *r;
  store_status_t status = pg_exec_row(c, id, &p, &r, what);
  pg_release(st, c);
  if (status == STORE_OK) {
    pg_job_from_row(r, 0, out);
    PQclear(r);
  }
  return status;
}

store_status_t pg_job_get(store_t *base, nimbus_id_t tenant_id, nimbus_id_t job_id,
                          nimbus_job_t *out) {
  return job_get_by(pg_of(base), PS_JOB_GET, job_id, tenant_id, out, "job get");
}

store_status_t pg_job_get_by_number(store_t *base, nimbus_id_t tenant_id, nimbus_id_t number,
                                    nimbus_job_t *out) {
  return job_get_by(pg_of(base), PS_JOB_GET_BY_NUMBER, number, tenant_id, out, "job get by number");
}

/* $1..$8 of JOB_FILTER (store-pg.c). */
static void job_filter_params(pg_params_t *p, const store_job_filter_t *f) {
  int lo, hi;
  store_which_states(f->which, &lo, &hi);
  pg_param_int(p, f->tenant_id);
  pg_param_int(p, f->queue_id);
  pg_param_int(p, f->owner_id);
  pg_param_int(p, lo);
  pg_param_int(p, hi);
  pg_param_int(p, f->device_id);
  pg_param_int(p, f->fetchable_for);
  pg_param_int(p, f->origin_device_id);
}

/* The count and the rows come from one REPEATABLE READ snapshot, so they
 * agree. */
store_status_t pg_job_list(store_t *base, const store_job_filter_t *f, store_job_cb cb, void *ctx,
                           int *total) {
  pg_store_t *st = pg_of(base);
  pg_conn_t *c = pg_acquire(st, "job list");
  if (!c) return STORE_ERROR;
  PGresult *r = NULL;
  store_status_t status =
      pg_exec_sql(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "job list");
  if (status == STORE_OK && total) {
    pg_params_t p = {0};
    job_filter_params(&p, f);
    status = pg_exec_row(c, PS_JOB_COUNT, &p, &r, "job count");
    if (status == STORE_OK) {
      *total = clamp_int(pg_get_int64(r, 0, 0));
      PQclear(r);
      r = NULL;
    }
  }
  if (status == STORE_OK) {
    pg_params_t p = {0};
    job_filter_params(&p, f);
    pg_param_id_or_null(&p, f->limit > 0 ? f->limit : 0); /* NULL: no limit */
    pg_param_int(&p, f->offset > 0 ? f->offset : 0);
    status = pg_exec(c, f->newest_first ? PS_JOB_LIST_DESC : PS_JOB_LIST_ASC, &p, &r, "job list");
  }
  if (status == STORE_OK) status = pg_tx_commit(c);
  if (status != STORE_OK) pg_tx_rollback(c);
  pg_release(st, c);
  if (status == STORE_OK)
    pg_each_row(st, r, job_row, (pg_list_cb_t){.job = cb}, ctx);
  else
    PQclear(r);
  return status;
}

/* One integer from single-row statement id with (a, b). */
static store_status_t query_count(pg_store_t *st, pg_stmt_id_t id, int64_t a, int64_t b, int *count,
                                  const char *what) {
  pg_params_t p = {0};
  pg_param_int(&p, a);
  pg_param_int(&p, b);
  pg_conn_t *c = pg_acquire(st, what);
  if (!c) return STORE_ERROR;
  PGresult *r;
  store_status_t status = pg_exec_row(c, id, &p, &r, what);
  pg_release(st, c);
  if (status == STORE_OK) {
    *count = clamp_int(pg_get_int64(r, 0, 0));
    PQclear(r);
  }
  return status;
}

/* Received, held and awaiting-payment jobs (owner_pending, kept by the
 * jobs_count trigger). */
store_status_t pg_job_count_pending_for_owner(store_t *base, nimbus_id_t tenant_id,
                                              nimbus_id_t owner_id, int *count) {
  return query_count(pg_of(base), PS_JOB_COUNT_PENDING, tenant_id, owner_id, count,
                     "job count pending");
}

store_status_t pg_job_count_pending_for_origin(store_t *base, nimbus_id_t tenant_id,
                                               nimbus_id_t device_id, int *count) {
  return query_count(pg_of(base), PS_JOB_COUNT_PENDING_ORIGIN, tenant_id, device_id, count,
                     "job count pending origin");
}

/* ---- job changes ---- */

/* A row id other than 0 must name a row of the tenant (exists_stmt:
 * PS_DEVICE_EXISTS or PS_QUEUE_EXISTS): NOT_FOUND otherwise. */
static store_status_t row_in_tenant(pg_conn_t *c, pg_stmt_id_t exists_stmt, nimbus_id_t tenant_id,
                                    nimbus_id_t id, const char *what) {
  return id ? row_exists(c, exists_stmt, id, tenant_id, what) : STORE_OK;
}

/* The settings part of change ch (STORE_JOB_SET_SETTINGS), after its
 * compare-and-set: the columns and their own event row. */
static store_status_t job_settings_on(pg_conn_t *c, nimbus_id_t tenant_id,
                                      const store_job_change_t *ch, int64_t now) {
  pg_params_t p = {0};
  pg_param_int(&p, ch->job_id);
  pg_param_int(&p, tenant_id);
  pg_param_int(&p, ch->copies);
  pg_param_int(&p, ch->impressions);
  pg_param_text(&p, ch->attrs_json ? ch->attrs_json : "", NIMBUS_ATTRS_MAX);
  store_status_t status = pg_exec_changes(c, PS_JOB_SET_SETTINGS, &p, "job settings");
  if (status != STORE_OK) return status;
  return pg_event_insert(c, tenant_id, ch->job_id, now,
                         ch->settings_event ? ch->settings_event : "job-settings-changed",
                         (int)ch->expected, (int)ch->expected, ch->settings_detail);
}

/*
 * One change inside the caller's transaction: the compare-and-set UPDATE,
 * then its event row.  The state is written by an UPDATE of `state`, so
 * the jobs_count trigger (job_state_counts, owner_pending) follows.
 * Devices and the queue to set are checked first, so NOT_FOUND from the
 * UPDATE means only "no such job".  On failure the caller rolls back.
 */
static store_status_t job_change_on(pg_conn_t *c, nimbus_id_t tenant_id,
                                    const store_job_change_t *ch, int64_t now) {
  static const char what[] = "job apply";
  store_status_t status = STORE_OK;
  if (ch->set & STORE_JOB_SET_DEVICE)
    status = row_in_tenant(c, PS_DEVICE_EXISTS, tenant_id, ch->device_id, what);
  if (status == STORE_OK && (ch->set & STORE_JOB_SET_TARGET))
    status = row_in_tenant(c, PS_DEVICE_EXISTS, tenant_id, ch->target_device_id, what);
  if (status == STORE_OK && (ch->set & STORE_JOB_SET_QUEUE))
    status = row_in_tenant(c, PS_QUEUE_EXISTS, tenant_id,
                           ch->queue_id ? ch->queue_id : -1 /* 0 is no queue */, what);
  if (status != STORE_OK) return status;
  pg_params_t p = {0};
  pg_param_int(&p, ch->job_id);
  pg_param_int(&p, tenant_id);
  pg_param_int(&p, (int)ch->expected);
  pg_param_int(&p, (int)ch->next);
  pg_param_int(&p, now);
  pg_param_int(&p, STATE_IS_TERMINAL((int)ch->next));
  pg_param_int(&p, (ch->set & STORE_JOB_SET_DEVICE) != 0);
  pg_param_int(&p, ch->device_id);
  pg_param_int(&p, (ch->set & STORE_JOB_SET_TARGET) != 0);
  pg_param_int(&p, ch->target_device_id);
  pg_param_int(&p, (ch->set & STORE_JOB_SET_QUEUE) != 0);
  pg_param_int(&p, ch->queue_id);
  pg_param_int(&p, ch->expect_device);
  status = pg_exec_changes(c, PS_JOB_APPLY, &p, what);
  if (status == STORE_NOT_FOUND) status = missing_or_conflict(c, tenant_id, ch->job_id, what);
  if (status == STORE_OK && (ch->set & STORE_JOB_SET_SETTINGS))
    status = job_settings_on(c, tenant_id, ch, now);
  if (status != STORE_OK) return status;
  return pg_event_insert(c, tenant_id, ch->job_id, now, ch->event, (int)ch->expected, (int)ch->next,
                         ch->detail);
}

/* The ids v[0..n) as a PostgreSQL array literal ("{3,7}"), malloc'd
 * (caller frees); NULL when out of memory. */
static char *id_array(const int64_t *v, size_t n) {
  size_t cap = 3 + n * 21; /* "-9223372036854775808," */
  char *out = malloc(cap), *end = out;
  if (!out) return NULL;
  *end++ = '{';
  for (size_t i = 0; i < n; i++)
    end += snprintf(end, cap - (size_t)(end - out), i ? ",%lld" : "%lld", (long long)v[i]);
  snprintf(end, cap - (size_t)(end - out), "}");
  return out;
}

/* Statement id with the tenant (when tenant_id is not NULL) and the
 * array literal of v. */
static store_status_t lock_rows(pg_conn_t *c, pg_stmt_id_t id, const nimbus_id_t *tenant_id,
                                const int64_t *v, size_t n, const char *what) {
  char *array = id_array(v, n);
  if (!array) return STORE_ERROR;
  pg_params_t p = {0};
  if (tenant_id) pg_param_int(&p, *tenant_id);
  pg_param_text(&p, array, SIZE_MAX);
  store_status_t status = pg_exec(c, id, &p, NULL, what);
  free(array);
  return status;
}

/*
 * Take the locks the changes need before the first of them, always in
 * the same order: the devices and queues they set (KEY SHARE: none can be
 * deleted before the commit, so the checks of job_change_on hold and the
 * queue's foreign key cannot fail; pg_device_delete and pg_queue_delete
 * lock their row FOR UPDATE first, then jobs), the jobs in id order, then
 * the job_state_counts rows of every state they compare or set, in state
 * order.  A job change of another call, or the counter trigger of any
 * single UPDATE, takes its locks in that order too, so two calls moving
 * several jobs each wait for one another instead of deadlocking (a
 * deadlock that still happens, e.g. on owner_pending rows, is retried by
 * pg_transaction).  Rows that do not exist are not locked: the changes
 * then find them missing.
 */
static store_status_t job_changes_lock(pg_conn_t *c, nimbus_id_t tenant_id,
                                       const store_job_change_t *changes, size_t n) {
  static const char what[] = "job apply locks";
  /* Room for two ids per change: a device and a target, or two states. */
  int64_t *ids = malloc((n ? n : 1) * 2 * sizeof *ids);
  if (!ids) return STORE_ERROR;
  size_t ndevices = 0;
  for (size_t i = 0; i < n; i++) {
    if ((changes[i].set & STORE_JOB_SET_DEVICE) && changes[i].device_id)
      ids[ndevices++] = changes[i].device_id;
    if ((changes[i].set & STORE_JOB_SET_TARGET) && changes[i].target_device_id)
      ids[ndevices++] = changes[i].target_device_id;
  }
  store_status_t status = STORE_OK;
  if (ndevices) status = lock_rows(c, PS_DEVICES_KEEP, &tenant_id, ids, ndevices, what);
  size_t nqueues = 0;
  for (size_t i = 0; i < n; i++)
    if ((changes[i].set & STORE_JOB_SET_QUEUE) && changes[i].queue_id)
      ids[nqueues++] = changes[i].queue_id;
  if (status == STORE_OK && nqueues)
    status = lock_rows(c, PS_QUEUES_KEEP, &tenant_id, ids, nqueues, what);
  for (size_t i = 0; i < n; i++) ids[i] = changes[i].job_id;
  if (status == STORE_OK && n) status = lock_rows(c, PS_JOBS_LOCK, &tenant_id, ids, n, what);
  bool state_used[NIMBUS_JOB_EXPIRED + 1] = {false};
  for (size_t i = 0; i < n; i++) {
    int compared = (int)changes[i].expected, set = (int)changes[i].next;
    if (compared >= 1 && compared <= NIMBUS_JOB_EXPIRED) state_used[compared] = true;
    if (set >= 1 && set <= NIMBUS_JOB_EXPIRED) state_used[set] = true;
  }
  size_t nstates = 0;
  for (int s = 1; s <= NIMBUS_JOB_EXPIRED; s++)
    if (state_used[s]) ids[nstates++] = s;
  if (status == STORE_OK && nstates)
    status = lock_rows(c, PS_STATE_COUNTS_LOCK, NULL, ids, nstates, what);
  free(ids);
  return status;
}

store_status_t pg_job_changes_on(pg_conn_t *c, nimbus_id_t tenant_id,
                                 const store_job_change_t *changes, size_t n, int64_t now) {
  store_status_t status = job_changes_lock(c, tenant_id, changes, n);
  for (size_t i = 0; i < n && status == STORE_OK; i++)
    status = job_change_on(c, tenant_id, &changes[i], now);
  return status;
}

typedef struct {
  nimbus_id_t tenant_id;
  const store_job_change_t *changes;
  size_t n;
} job_apply_t;

static store_status_t job_apply_tx(pg_conn_t *c, void *arg) {
  const job_apply_t *a = arg;
  return pg_job_changes_on(c, a->tenant_id, a->changes, a->n, (int64_t)time(NULL));
}

/* All changes or none: the first that fails rolls the transaction back. */
store_status_t pg_job_apply(store_t *base, nimbus_id_t tenant_id, const store_job_change_t *changes,
                            size_t n) {
  job_apply_t a = {.tenant_id = tenant_id, .changes = changes, .n = n};
  return pg_transaction(pg_of(base), job_apply_tx, &a, "job apply");
}

/* ---- the device side of jobs ---- */

typedef struct {
  nimbus_id_t tenant_id, job_id, device_id;
  int impressions_completed;
  const char *reasons;
} progress_t;

static store_status_t set_progress_tx(pg_conn_t *c, void *arg) {
  const progress_t *pr = arg;
  pg_params_t p = {0};
  pg_param_int(&p, pr->job_id);
  pg_param_int(&p, pr->tenant_id);
  pg_param_int(&p, pr->device_id);
  pg_param_int(&p, pr->impressions_completed);
  if (pr->reasons)
    pg_param_text(&p, pr->reasons, SIZE_MAX);
  else
    pg_param_id_or_null(&p, 0);
  store_status_t status = pg_exec_changes(c, PS_JOB_SET_PROGRESS, &p, "job set progress");
  if (status == STORE_NOT_FOUND)
    status = missing_or_conflict(c, pr->tenant_id, pr->job_id, "job set progress");
  return status;
}

store_status_t pg_job_set_progress(store_t *base, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                   nimbus_id_t device_id, int impressions_completed,
                                   const char *reasons) {
  progress_t pr = {.tenant_id = tenant_id,
                   .job_id = job_id,
                   .device_id = device_id,
                   .impressions_completed = impressions_completed,
                   .reasons = reasons};
  return pg_transaction(pg_of(base), set_progress_tx, &pr, "job set progress");
}

/* Run a job-list statement and hand the rows to cb once the connection
 * is back. */
static store_status_t job_rows(pg_store_t *st, pg_stmt_id_t id, const pg_params_t *p,
                               store_job_cb cb, void *ctx, const char *what) {
  pg_conn_t *c = pg_acquire(st, what);
  if (!c) return STORE_ERROR;
  PGresult *r;
  store_status_t status = pg_exec(c, id, p, &r, what);
  pg_release(st, c);
  if (status == STORE_OK) pg_each_row(st, r, job_row, (pg_list_cb_t){.job = cb}, ctx);
  return status;
}

/* A job's lease runs from the later of its device's last_seen_at and the
 * job's own state change; a processing job whose device row is gone is
 * always expired. */
store_status_t pg_job_list_lease_expired(store_t *base, int64_t cutoff, store_job_cb cb,
                                         void *ctx) {
  pg_params_t p = {0};
  pg_param_int(&p, cutoff);
  return job_rows(pg_of(base), PS_JOB_LEASE_EXPIRED, &p, cb, ctx, "job lease expired");
}

/* ---- documents ---- */

typedef struct {
  nimbus_id_t tenant_id, job_id;
  nimbus_document_t *doc;
  bool last;
  nimbus_job_state_t state_after_last;
  int64_t now;
  int number;
} doc_add_t;

/* The job row is locked first, so two documents added at once get
 * consecutive numbers. */
static store_status_t document_add_tx(pg_conn_t *c, void *arg) {
  doc_add_t *a = arg;
  pg_params_t k = {0};
  pg_param_int(&k, a->job_id);
  pg_param_int(&k, a->tenant_id);
  PGresult *r;
  store_status_t status = pg_exec_row(c, PS_JOB_COUNTERS_LOCK, &k, &r, "document add");
  if (status != STORE_OK) return status;
  int state = pg_get_int(r, 0, 0), num_documents = pg_get_int(r, 0, 1);
  int64_t pages = pg_get_int64(r, 0, 2);
  int copies = pg_get_int(r, 0, 3);
  PQclear(r);
  if (state != NIMBUS_JOB_RECEIVED) return STORE_CONFLICT;
  if (copies < 1) copies = 1;
  a->number = num_documents + 1;
  pages += a->doc->pages;

  pg_params_t p = {0};
  pg_param_int(&p, a->job_id);
  pg_param_int(&p, a->number);
  PG_PARAM_FIELD(&p, a->doc->format);
  PG_PARAM_FIELD(&p, a->doc->name);
  pg_param_int(&p, a->doc->size);
  pg_param_int(&p, a->doc->pages);
  PG_PARAM_FIELD(&p, a->doc->blob_key);
  pg_param_int(&p, a->now);
  status = pg_exec(c, PS_DOC_INSERT, &p, NULL, "document insert");
  if (status != STORE_OK) return status;

  pg_params_t u = {0};
  pg_param_int(&u, a->job_id);
  pg_param_int(&u, a->tenant_id);
  pg_param_int(&u, a->number);
  pg_param_int(&u, pages);
  pg_param_int(&u, clamp_int(pages * copies));
  status = pg_exec_changes(c, PS_JOB_UPDATE_COUNTERS, &u, "document add counters");
  if (status == STORE_OK && a->last) {
    store_job_change_t close = {.job_id = a->job_id,
                                .expected = NIMBUS_JOB_RECEIVED,
                                .next = a->state_after_last,
                                .event = "job-closed"};
    status = job_change_on(c, a->tenant_id, &close, a->now);
  }
  return status;
}

store_status_t pg_document_add(store_t *base, nimbus_id_t tenant_id, nimbus_id_t job_id,
                               nimbus_document_t *doc, bool last,
                               nimbus_job_state_t state_after_last) {
  doc_add_t a = {.tenant_id = tenant_id,
                 .job_id = job_id,
                 .doc = doc,
                 .last = last,
                 .state_after_last = state_after_last,
                 .now = (int64_t)time(NULL)};
  store_status_t status = pg_transaction(pg_of(base), document_add_tx, &a, "document add");
  if (status == STORE_OK) {
    doc->job_id = job_id;
    doc->number = a.number;
    doc->created_at = a.now;
  }
  return status;
}

/* NOT_FOUND when the job is not the tenant's; the job and its documents
 * are read in one snapshot. */
store_status_t pg_document_list(store_t *base, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                nimbus_document_t *out, int max, int *count) {
  pg_store_t *st = pg_of(base);
  int n = 0;
  pg_conn_t *c = pg_acquire(st, "document list");
  if (!c) {
    if (count) *count = 0;
    return STORE_ERROR;
  }
  store_status_t status =
      pg_exec_sql(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "document list");
  if (status == STORE_OK)
    status = row_exists(c, PS_JOB_COUNTERS, job_id, tenant_id, "document list");
  if (status == STORE_OK && max > 0) {
    pg_params_t p = {0};
    pg_param_int(&p, job_id);
    pg_param_int(&p, max);
    PGresult *r;
    status = pg_exec(c, PS_DOC_LIST, &p, &r, "document list");
    if (status == STORE_OK) {
      for (int i = 0; i < PQntuples(r) && n < max; i++) doc_from_row(r, i, &out[n++]);
      PQclear(r);
    }
  }
  if (status == STORE_OK) status = pg_tx_commit(c);
  if (status != STORE_OK) pg_tx_rollback(c);
  pg_release(st, c);
  if (count) *count = status == STORE_OK ? n : 0;
  return status;
}

store_status_t pg_blob_is_referenced(store_t *base, const char *key, bool *referenced) {
  pg_store_t *st = pg_of(base);
  pg_params_t p = {0};
  pg_param_text(&p, key, SIZE_MAX);
  pg_conn_t *c = pg_acquire(st, "blob referenced");
  if (!c) return STORE_ERROR;
  PGresult *r;
  store_status_t status = pg_exec_row(c, PS_BLOB_REFERENCED, &p, &r, "blob referenced");
  pg_release(st, c);
  if (status == STORE_OK) {
    *referenced = pg_get_bool(r, 0, 0);
    PQclear(r);
  }
  return status;
}

/* ---- release at the printer: the PIN counter, purge, sweep listing ---- */

store_status_t pg_job_pin_get(store_t *base, nimbus_id_t tenant_id, nimbus_id_t job_id,
                              store_pin_counter_t *out) {
  pg_store_t *st = pg_of(base);
  pg_params_t p = {0};
  pg_param_int(&p, job_id);
  pg_param_int(&p, tenant_id);
  pg_conn_t *c = pg_acquire(st, "job pin get");
  if (!c) return STORE_ERROR;
  PGresult *r;
  store_status_t status = pg_exec_row(c, PS_JOB_PIN_STATE, &p, &r, "job pin get");
  pg_release(st, c);
  if (status == STORE_OK) {
    out->failures = pg_get_int(r, 0, 0);
    out->window_start = pg_get_int64(r, 0, 1);
    out->locked_until = pg_get_int64(r, 0, 2);
    PQclear(r);
  }
  return status;
}

typedef struct {
  nimbus_id_t tenant_id, job_id;
  const store_pin_counter_t *expected, *next;
  const store_audit_t *audit;
} pin_cas_t;

/* The UPDATE compares all three fields; when it touched no row, the job
 * is either missing (NOT_FOUND) or its counter moved on (CONFLICT). */
static store_status_t pin_cas_tx(pg_conn_t *c, void *arg) {
  const pin_cas_t *a = arg;
  pg_params_t p = {0};
  pg_param_int(&p, a->job_id);
  pg_param_int(&p, a->tenant_id);
  pg_param_int(&p, a->next->failures);
  pg_param_int(&p, a->next->window_start);
  pg_param_int(&p, a->next->locked_until);
  pg_param_int(&p, a->expected->failures);
  pg_param_int(&p, a->expected->window_start);
  pg_param_int(&p, a->expected->locked_until);
  store_status_t status = pg_exec_changes(c, PS_JOB_PIN_CAS, &p, "job pin cas");
  if (status == STORE_NOT_FOUND)
    status = missing_or_conflict(c, a->tenant_id, a->job_id, "job pin cas");
  if (status == STORE_OK) status = pg_audit_insert(c, a->audit, 0);
  return status;
}

store_status_t pg_job_pin_cas(store_t *base, nimbus_id_t tenant_id, nimbus_id_t job_id,
                              const store_pin_counter_t *expected, const store_pin_counter_t *next,
                              const store_audit_t *audit) {
  pin_cas_t a = {
      .tenant_id = tenant_id, .job_id = job_id, .expected = expected, .next = next, .audit = audit};
  return pg_transaction(pg_of(base), pin_cas_tx, &a, "job pin cas");
}

typedef struct {
  nimbus_id_t tenant_id, job_id;
  char (*keys)[NIMBUS_BLOB_KEY_MAX];
  int max, n;
} purge_t;

/* One row more than fits tells whether some spool keys must wait for the
 * next round; those documents stay referenced. */
static store_status_t purge_tx(pg_conn_t *c, void *arg) {
  purge_t *pu = arg;
  pu->n = 0; /* a retried transaction starts over */
  pg_params_t k = {0};
  pg_param_int(&k, pu->job_id);
  pg_param_int(&k, pu->tenant_id);
  PGresult *r;
  store_status_t status = pg_exec_row(c, PS_JOB_COUNTERS_LOCK, &k, &r, "document purge");
  if (status != STORE_OK) return status;
  int state = pg_get_int(r, 0, 0);
  PQclear(r);
  if (!STATE_IS_TERMINAL(state)) return STORE_CONFLICT;

  pg_params_t q = {0};
  pg_param_int(&q, pu->job_id);
  pg_param_int(&q, pu->max + 1);
  status = pg_exec(c, PS_DOC_PURGE_KEYS, &q, &r, "document purge");
  if (status != STORE_OK) return status;
  int rows = PQntuples(r);
  int64_t last = INT_MAX; /* every spool key fits */
  if (rows > pu->max) last = pu->max > 0 ? pg_get_int64(r, pu->max - 1, 0) : 0;
  for (int i = 0; i < rows && pu->n < pu->max; i++)
    pg_get_text(r, i, 1, pu->keys[pu->n++], NIMBUS_BLOB_KEY_MAX);
  PQclear(r);

  pg_params_t u = {0};
  pg_param_int(&u, pu->job_id);
  pg_param_int(&u, last);
  status = pg_exec(c, PS_DOC_PURGE, &u, NULL, "document purge");
  if (status != STORE_OK) return status;
  pg_params_t d = {0};
  pg_param_int(&d, pu->job_id);
  return pg_exec(c, PS_DOC_DATA_PURGE, &d, NULL, "document data purge");
}

store_status_t pg_document_purge(store_t *base, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                 char (*keys)[NIMBUS_BLOB_KEY_MAX], int max, int *nkeys) {
  if (nkeys) *nkeys = 0;
  if (!keys || max < 0) max = 0;
  purge_t pu = {.tenant_id = tenant_id, .job_id = job_id, .keys = keys, .max = max};
  store_status_t status = pg_transaction(pg_of(base), purge_tx, &pu, "document purge");
  if (nkeys) *nkeys = status == STORE_OK ? pu.n : 0;
  return status;
}

/* Keys beyond a purge's `max` stay referenced, so such a job is listed
 * (unpurged) again in the next round. */
store_status_t pg_job_list_sweep(store_t *base, const store_sweep_filter_t *f, store_job_cb cb,
                                 void *ctx) {
  if (f->limit <= 0) return STORE_OK;
  pg_params_t p = {0};
  pg_param_int(&p, f->tenant_id);
  pg_param_int(&p, (int)f->state);
  pg_param_int(&p, f->created_before);
  pg_param_int(&p, f->limit);
  return job_rows(pg_of(base), f->unpurged ? PS_JOB_SWEEP_UNPURGED : PS_JOB_SWEEP, &p, cb, ctx,
                  "job list sweep");
}
