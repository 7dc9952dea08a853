/*
 * store-sqlite-jobs.c: jobs and documents in the SQLite backend: the job
 * insert with group commit (one transaction, one WAL fsync per batch, on
 * the committer's own connection; the queue and the committer thread are
 * store/group-commit.c's), job reads and lists, job changes
 * (store_job_apply: compare-and-set only, the state machine is job.c's),
 * device progress and leases, documents and inline document data, the
 * PIN counter and the sweep listing (store.h).
 */
#include "store-sqlite-private.h"

#include <sodium.h>

/* ---- job references ---- */

/* Crockford base32 (no I, L, O, U): references are read aloud and typed. */
static const char job_reference_alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
#define JOB_REFERENCE_LEN 16 /* 80 random bits */
#define JOB_REFERENCE_TRIES 8

/* A fresh random reference into out[JOB_REFERENCE_LEN + 1]. */
static void job_reference_new(char *out) {
  unsigned char b[JOB_REFERENCE_LEN];
  randombytes_buf(b, sizeof b);
  for (int i = 0; i < JOB_REFERENCE_LEN; i++) out[i] = job_reference_alphabet[b[i] & 31];
  out[JOB_REFERENCE_LEN] = '\0';
  sodium_memzero(b, sizeof b);
}

/* ---- job insert and group commit ---- */

/* The jobs row of one insert, with `reference`; CONFLICT when the
 * reference is taken. */
static store_status_t job_insert_row_locked(sqlite_store_t *st, const nimbus_job_t *job,
                                            nimbus_id_t number, const char *reference, int copies,
                                            int64_t pages, int ndocs, int64_t now) {
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_JOB_INSERT);
  if (!s) return STORE_ERROR;
  sqlite3_bind_int64(s, 1, job->tenant_id);
  sqlite3_bind_int64(s, 2, job->queue_id);
  sqlite_bind_id_or_null(s, 3, job->owner_id);
  BIND_FIELD(s, 4, job->owner_name);
  BIND_FIELD(s, 5, job->name);
  BIND_FIELD(s, 6, job->origin_host);
  sqlite3_bind_int(s, 7, (int)job->state);
  sqlite3_bind_int64(s, 8, now);
  sqlite3_bind_int64(s, 9, now);
  sqlite3_bind_int64(s, 10, sqlite_state_is_terminal((int)job->state) ? now : 0);
  sqlite3_bind_int(s, 11, copies);
  sqlite3_bind_int64(s, 12, pages);
  sqlite3_bind_int64(s, 13, pages * copies);
  sqlite3_bind_int(s, 14, job->impressions_completed);
  sqlite3_bind_int(s, 15, ndocs);
  BIND_FIELD(s, 16, job->account_id);
  BIND_FIELD(s, 17, job->accounting_user_id);
  BIND_FIELD(s, 18, job->hold_until);
  BIND_FIELD(s, 19, job->pin_hash);
  BIND_FIELD(s, 20, job->attrs_json);
  sqlite3_bind_int64(s, 21, job->origin_device_id);
  sqlite_bind_str(s, 22, reference);
  sqlite3_bind_int64(s, 23, number);
  return sqlite_stmt_exec_locked(st, s, "job insert");
}

/*
 * Write one job, its documents and its "job-created" event inside the
 * caller's transaction.  The store owns the counters: copies is raised to
 * at least 1, pages is the sum of the documents' pages, impressions is
 * pages x copies, num_documents is ndocs and documents are numbered 1..n.
 * An owner of another tenant is STORE_NOT_FOUND.  On failure the caller
 * rolls back whatever this wrote.
 */
static store_status_t job_insert_one_locked(sqlite_store_t *st, job_insert_req_t *req) {
  nimbus_job_t *job = req->job;
  int64_t now = (int64_t)time(NULL);
  store_status_t status;
  sqlite3_stmt *s;

  if (job->owner_id) {
    int64_t one = 0;
    s = sqlite_stmt_get_locked(st, S_USER_EXISTS);
    if (!s) return STORE_ERROR;
    sqlite3_bind_int64(s, 1, job->owner_id);
    sqlite3_bind_int64(s, 2, job->tenant_id);
    status = sqlite_query_int64_locked(st, s, "job insert owner", &one);
    if (status != STORE_OK) return status;
  }

  int64_t pages = 0;
  for (int i = 0; i < req->ndocs; i++) pages += req->docs[i].pages;
  int copies = job->copies < 1 ? 1 : job->copies;

  /* The tenant's next job number (NOT_FOUND: no such tenant). */
  int64_t number = 0;
  s = sqlite_stmt_get_locked(st, S_JOB_NUMBER_TAKE);
  if (!s) return STORE_ERROR;
  sqlite3_bind_int64(s, 1, job->tenant_id);
  status = sqlite_query_int64_locked(st, s, "job number", &number);
  if (status != STORE_OK) return status;

  /* A generated reference that collides with another job's is drawn
   * again; a reference the caller chose is its own: CONFLICT. */
  char reference[sizeof job->reference];
  bool generate = job->reference[0] == '\0';
  _Static_assert(sizeof job->reference > JOB_REFERENCE_LEN, "reference field too short");
  if (!generate) snprintf(reference, sizeof reference, "%s", job->reference);
  for (int attempt = 0;; attempt++) {
    if (generate) job_reference_new(reference);
    status = job_insert_row_locked(st, job, number, reference, copies, pages, req->ndocs, now);
    if (status != STORE_CONFLICT || !generate || attempt + 1 >= JOB_REFERENCE_TRIES) break;
  }
  if (status != STORE_OK) return status;
  nimbus_id_t job_id = sqlite3_last_insert_rowid(st->db);

  s = sqlite_stmt_get_locked(st, S_DOC_INSERT);
  if (!s) return STORE_ERROR;
  for (int i = 0; i < req->ndocs; i++) {
    nimbus_document_t *d = &req->docs[i];
    sqlite3_bind_int64(s, 1, job_id);
    sqlite3_bind_int(s, 2, i + 1);
    BIND_FIELD(s, 3, d->format);
    BIND_FIELD(s, 4, d->name);
    sqlite3_bind_int64(s, 5, d->size);
    sqlite3_bind_int(s, 6, d->pages);
    BIND_FIELD(s, 7, d->blob_key);
    sqlite3_bind_int64(s, 8, now);
    status = sqlite_stmt_exec_locked(st, s, "document insert");
    if (status != STORE_OK) return status;
    if (req->data && req->data[i].data) {
      sqlite3_stmt *ds = sqlite_stmt_get_locked(st, S_DOC_DATA_INSERT);
      if (!ds) return STORE_ERROR;
      sqlite3_bind_int64(ds, 1, job_id);
      sqlite3_bind_int(ds, 2, i + 1);
      sqlite3_bind_blob64(ds, 3, req->data[i].data, req->data[i].len, SQLITE_STATIC);
      status = sqlite_stmt_exec_locked(st, ds, "document data insert");
      if (status != STORE_OK) return status;
    }
  }

  status = sqlite_event_insert_locked(st, job->tenant_id, job_id, now, "job-created", 0,
                                      (int)job->state, NULL);
  if (status != STORE_OK) return status;

  /* Only now touch the caller's records: a failure above leaves them be. */
  job->id = job_id;
  job->number = number;
  job->created_at = now;
  job->state_changed_at = now;
  job->completed_at = sqlite_state_is_terminal((int)job->state) ? now : 0;
  job->copies = copies;
  job->pages = sqlite_clamp_int(pages);
  job->impressions = sqlite_clamp_int(pages * copies);
  job->num_documents = req->ndocs;
  if (generate) {
    snprintf(job->reference, sizeof job->reference, "%s", reference);
    req->reference_made = true;
  }
  for (int i = 0; i < req->ndocs; i++) {
    req->docs[i].job_id = job_id;
    req->docs[i].number = i + 1;
    req->docs[i].created_at = now;
  }
  return STORE_OK;
}

/* Undo the id a rolled-back insert wrote into the caller's records. */
static void job_insert_forget(job_insert_req_t *req) {
  req->job->id = 0;
  req->job->number = 0;
  if (req->reference_made) req->job->reference[0] = '\0';
  req->reference_made = false;
  for (int i = 0; i < req->ndocs; i++) req->docs[i].job_id = 0;
}

/* The insert request an item of the batcher belongs to. */
static job_insert_req_t *req_of(group_commit_item_t *item) {
  return GROUP_COMMIT_REQ(item, job_insert_req_t, item);
}

/*
 * Run n inserts in one transaction, each inside SAVEPOINT job_insert so a
 * failing one is rolled back alone and reports its own status.  If the
 * transaction itself fails (BEGIN, COMMIT, or an error after which SQLite
 * rolled everything back), every insert of the batch is STORE_ERROR, or
 * STORE_FULL when the disk ran out of space (nothing of the batch is kept).
 * conn is the connection to run on (the committer's gc_conn, or the main
 * one for a caller without committer); items are job_insert_req_t's.
 * Takes conn->mu itself; sets each request's status (the batcher marks the
 * items done once this returned).
 */
void sqlite_job_insert_batch(void *conn, group_commit_item_t **items, int n) {
  sqlite_store_t *st = conn;
  if (!sqlite_lock(st)) {
    for (int i = 0; i < n; i++) req_of(items[i])->status = STORE_ERROR;
    return;
  }
  sqlite_full_seen = false;
  bool ok = sqlite_tx_begin_locked(st) == STORE_OK;
  int i = 0;
  for (; ok && i < n; i++) {
    job_insert_req_t *req = req_of(items[i]);
    if (sqlite_exec_id_locked(st, S_SAVEPOINT) != STORE_OK) {
      ok = false;
      break;
    }
    req->status = job_insert_one_locked(st, req);
    if (req->status == STORE_OK) {
      ok = sqlite_exec_id_locked(st, S_RELEASE) == STORE_OK;
    } else if (sqlite3_get_autocommit(st->db)) {
      ok = false; /* SQLite already rolled back the whole transaction */
    } else {
      ok = sqlite_exec_id_locked(st, S_ROLLBACK_TO) == STORE_OK &&
           sqlite_exec_id_locked(st, S_RELEASE) == STORE_OK;
    }
  }
  if (ok) ok = sqlite_tx_commit_locked(st) == STORE_OK;
  if (!ok) {
    sqlite_tx_rollback_locked(st);
    store_status_t why = sqlite_full_seen ? STORE_FULL : STORE_ERROR;
    for (int k = 0; k < n; k++) {
      if (k >= i || req_of(items[k])->status == STORE_OK) req_of(items[k])->status = why;
    }
    log_event(LOG_ERROR, NULL, "job insert transaction failed", "jobs", LOG_INT(n), "disk_full",
              why == STORE_FULL ? "yes" : "no", (char *)NULL);
  }
  for (int k = 0; k < n; k++) {
    if (req_of(items[k])->status != STORE_OK) job_insert_forget(req_of(items[k]));
  }
  sqlite_unlock(st);
}

store_status_t sqlite_job_insert(store_t *base_, nimbus_job_t *job, nimbus_document_t *docs,
                                 int ndocs) {
  sqlite_store_t *st = sqlite_of(base_);
  return sqlite_job_insert_data(&st->base, job, docs, NULL, ndocs);
}

store_status_t sqlite_job_insert_data(store_t *base_, nimbus_job_t *job, nimbus_document_t *docs,
                                      const store_inline_t *data, int ndocs) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!job || ndocs < 0 || (ndocs > 0 && !docs)) {
    log_event(LOG_ERROR, NULL, "store_job_insert: bad arguments", "ndocs", LOG_INT(ndocs),
              (char *)NULL);
    return STORE_ERROR;
  }
  job_insert_req_t req = {
      .job = job, .docs = docs, .data = data, .ndocs = ndocs, .status = STORE_ERROR};
  group_commit_item_t *one = &req.item;
  if (sqlite_reentry_refused(st)) return STORE_ERROR; /* would wait for itself */
  if (!st->gc) {
    sqlite_job_insert_batch(st, &one, 1);
    return req.status;
  }
  if (!group_commit_submit(st->gc, &req.item)) {
    log_event(LOG_ERROR, NULL, "store_job_insert after store_close", (char *)NULL);
    return STORE_ERROR;
  }
  return req.status;
}

/* Incremental read of an inline document (sqlite3_blob_*), bounded by len;
 * another tenant's job is STORE_NOT_FOUND like a missing one. */
store_status_t sqlite_document_read_inline(store_t *base_, nimbus_id_t tenant_id,
                                           nimbus_id_t job_id, int number, int64_t off, void *buf,
                                           size_t len, size_t *got) {
  sqlite_store_t *st = sqlite_of(base_);
  *got = 0;
  if (off < 0) return STORE_ERROR;
  if (!(st = sqlite_read_lock(st))) return STORE_ERROR;
  store_status_t status = STORE_NOT_FOUND;
  sqlite3_blob *blob = NULL;
  sqlite3_stmt *q = sqlite_stmt_get_locked(st, S_DOC_DATA_ROWID);
  if (!q) {
    status = STORE_ERROR;
    goto done;
  }
  sqlite3_bind_int64(q, 1, job_id);
  sqlite3_bind_int(q, 2, number);
  sqlite3_bind_int64(q, 3, tenant_id);
  int rc = sqlite3_step(q);
  if (rc != SQLITE_ROW) {
    if (rc != SQLITE_DONE) status = STORE_ERROR;
    goto done;
  }
  sqlite3_int64 rowid = sqlite3_column_int64(q, 0);
  if (sqlite3_blob_open(st->db, "main", "document_data", "data", rowid, 0, &blob) != SQLITE_OK) {
    status = STORE_ERROR;
    goto done;
  }
  int64_t total = sqlite3_blob_bytes(blob);
  size_t n = off >= total ? 0 : (size_t)(total - off) < len ? (size_t)(total - off) : len;
  if (n > 0 && sqlite3_blob_read(blob, buf, (int)n, (int)off) != SQLITE_OK) {
    status = STORE_ERROR;
    goto done;
  }
  *got = n;
  status = STORE_OK;
done:
  if (blob) sqlite3_blob_close(blob);
  if (q) sqlite_stmt_reset(q);
  sqlite_read_unlock(st);
  return status;
}

/* ---- jobs ---- */

store_status_t sqlite_job_get(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t job_id,
                              nimbus_job_t *out) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!(st = sqlite_read_lock(st))) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_JOB_GET);
  if (s) {
    sqlite3_bind_int64(s, 1, job_id);
    sqlite3_bind_int64(s, 2, tenant_id);
    status = sqlite_step_row_locked(st, s, "job get");
    if (status == STORE_OK) sqlite_job_from_row(s, out);
    sqlite_stmt_reset(s);
  }
  sqlite_read_unlock(st);
  return status;
}

store_status_t sqlite_job_get_by_number(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t number,
                                        nimbus_job_t *out) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!(st = sqlite_read_lock(st))) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_JOB_GET_BY_NUMBER);
  if (s) {
    sqlite3_bind_int64(s, 1, number);
    sqlite3_bind_int64(s, 2, tenant_id);
    status = sqlite_step_row_locked(st, s, "job get by number");
    if (status == STORE_OK) sqlite_job_from_row(s, out);
    sqlite_stmt_reset(s);
  }
  sqlite_read_unlock(st);
  return status;
}

static void bind_job_filter(sqlite3_stmt *s, const store_job_filter_t *f) {
  int lo, hi;
  store_which_states(f->which, &lo, &hi);
  sqlite3_bind_int64(s, 1, f->tenant_id);
  sqlite3_bind_int64(s, 2, f->queue_id);
  sqlite3_bind_int64(s, 3, f->owner_id);
  sqlite3_bind_int(s, 4, lo);
  sqlite3_bind_int(s, 5, hi);
  sqlite3_bind_int64(s, 6, f->device_id);
  sqlite3_bind_int64(s, 7, f->fetchable_for);
  sqlite3_bind_int64(s, 10, f->origin_device_id);
}

static bool job_row(sqlite3_stmt *s, list_cb_t cb, void *ctx) {
  nimbus_job_t job;
  sqlite_job_from_row(s, &job);
  return cb.job(&job, ctx);
}

/* The count and the rows come from one read transaction, so they agree. */
store_status_t sqlite_job_list(store_t *base_, const store_job_filter_t *f, store_job_cb cb,
                               void *ctx, int *total) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!(st = sqlite_read_lock(st))) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  if (total) {
    int64_t n = 0;
    sqlite3_stmt *c = sqlite_stmt_get_locked(st, S_JOB_COUNT);
    if (!c) goto done;
    bind_job_filter(c, f);
    status = sqlite_query_int64_locked(st, c, "job count", &n);
    if (status != STORE_OK) goto done;
    *total = sqlite_clamp_int(n);
  }
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, f->newest_first ? S_JOB_LIST_DESC : S_JOB_LIST_ASC);
  if (!s) {
    status = STORE_ERROR;
    goto done;
  }
  bind_job_filter(s, f);
  sqlite3_bind_int(s, 8, f->limit > 0 ? f->limit : -1);
  sqlite3_bind_int(s, 9, f->offset > 0 ? f->offset : 0);
  status = sqlite_for_each_row_locked(st, s, "job list", job_row, (list_cb_t){.job = cb}, ctx);
done:
  sqlite_read_unlock(st);
  return status;
}

/* Counts received, held and awaiting-payment jobs: the ones still waiting
 * for their owner (released jobs are no longer "pending" for the user). */
store_status_t sqlite_job_count_pending_for_owner(store_t *base_, nimbus_id_t tenant_id,
                                                  nimbus_id_t owner_id, int *count) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!(st = sqlite_read_lock(st))) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_JOB_COUNT_PENDING);
  if (s) {
    int64_t n = 0;
    sqlite3_bind_int64(s, 1, tenant_id);
    sqlite3_bind_int64(s, 2, owner_id);
    status = sqlite_query_int64_locked(st, s, "job count pending", &n);
    if (status == STORE_OK) *count = sqlite_clamp_int(n);
  }
  sqlite_read_unlock(st);
  return status;
}

store_status_t sqlite_job_count_pending_for_origin(store_t *base_, nimbus_id_t tenant_id,
                                                   nimbus_id_t device_id, int *count) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!(st = sqlite_read_lock(st))) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_JOB_COUNT_PENDING_ORIGIN);
  if (s) {
    int64_t n = 0;
    sqlite3_bind_int64(s, 1, tenant_id);
    sqlite3_bind_int64(s, 2, device_id);
    status = sqlite_query_int64_locked(st, s, "job count pending origin", &n);
    if (status == STORE_OK) *count = sqlite_clamp_int(n);
  }
  sqlite_read_unlock(st);
  return status;
}

/* ---- job changes ---- */

/* After an UPDATE of job_id that touched no row: NOT_FOUND when the job
 * does not exist in the tenant, else CONFLICT (it exists but did not match
 * the expected state or device). */
static store_status_t job_missing_or_conflict_locked(sqlite_store_t *st, nimbus_id_t tenant_id,
                                                     nimbus_id_t job_id, const char *what) {
  int64_t state = 0;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_JOB_COUNTERS);
  if (!s) return STORE_ERROR;
  sqlite3_bind_int64(s, 1, job_id);
  sqlite3_bind_int64(s, 2, tenant_id);
  store_status_t status = sqlite_query_int64_locked(st, s, what, &state);
  return status == STORE_OK ? STORE_CONFLICT : status;
}

/* A row id other than 0 must name a row of the tenant (exists_stmt:
 * S_DEVICE_EXISTS or S_QUEUE_EXISTS): NOT_FOUND otherwise. */
static store_status_t row_in_tenant_locked(sqlite_store_t *st, stmt_id_t exists_stmt,
                                           nimbus_id_t tenant_id, nimbus_id_t id,
                                           const char *what) {
  if (id == 0) return STORE_OK;
  int64_t one = 0;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, exists_stmt);
  if (!s) return STORE_ERROR;
  sqlite3_bind_int64(s, 1, id);
  sqlite3_bind_int64(s, 2, tenant_id);
  return sqlite_query_int64_locked(st, s, what, &one);
}

/* The settings part of change c (STORE_JOB_SET_SETTINGS), after its
 * compare-and-set: the columns and their own event row. */
static store_status_t job_settings_locked(sqlite_store_t *st, nimbus_id_t tenant_id,
                                          const store_job_change_t *c, int64_t now) {
  static const char what[] = "job settings";
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_JOB_SET_SETTINGS);
  if (!s) return STORE_ERROR;
  sqlite3_bind_int64(s, 1, c->job_id);
  sqlite3_bind_int64(s, 2, tenant_id);
  sqlite3_bind_int(s, 3, c->copies);
  sqlite3_bind_int(s, 4, c->impressions);
  sqlite3_bind_text(s, 5, c->attrs_json ? c->attrs_json : "", -1, SQLITE_STATIC);
  store_status_t status = sqlite_exec_changes_locked(st, s, what);
  if (status != STORE_OK) return status;
  return sqlite_event_insert_locked(st, tenant_id, c->job_id, now,
                                    c->settings_event ? c->settings_event : "job-settings-changed",
                                    (int)c->expected, (int)c->expected, c->settings_detail);
}

/*
 * One change of store_job_apply() inside the caller's transaction: the
 * compare-and-set UPDATE, then its event row.  The state is written by an
 * UPDATE of `state`, so the counter triggers of migration 2
 * (job_state_counts, owner_pending) follow.  Devices and the queue to
 * set are checked first, so NOT_FOUND from the UPDATE means only "no such
 * job".  On failure the caller rolls back.
 */
store_status_t sqlite_job_change_locked(sqlite_store_t *st, nimbus_id_t tenant_id,
                                        const store_job_change_t *c, int64_t now) {
  static const char what[] = "job apply";
  store_status_t status = STORE_OK;
  if (c->set & STORE_JOB_SET_DEVICE)
    status = row_in_tenant_locked(st, S_DEVICE_EXISTS, tenant_id, c->device_id, what);
  if (status == STORE_OK && (c->set & STORE_JOB_SET_TARGET))
    status = row_in_tenant_locked(st, S_DEVICE_EXISTS, tenant_id, c->target_device_id, what);
  if (status == STORE_OK && (c->set & STORE_JOB_SET_QUEUE))
    status = row_in_tenant_locked(st, S_QUEUE_EXISTS, tenant_id,
                                  c->queue_id ? c->queue_id : -1 /* 0 is no queue */, what);
  if (status != STORE_OK) return status;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_JOB_APPLY);
  if (!s) return STORE_ERROR;
  sqlite3_bind_int64(s, 1, c->job_id);
  sqlite3_bind_int64(s, 2, tenant_id);
  sqlite3_bind_int(s, 3, (int)c->expected);
  sqlite3_bind_int(s, 4, (int)c->next);
  sqlite3_bind_int64(s, 5, now);
  sqlite3_bind_int(s, 6, sqlite_state_is_terminal((int)c->next));
  sqlite3_bind_int(s, 7, (c->set & STORE_JOB_SET_DEVICE) != 0);
  sqlite3_bind_int64(s, 8, c->device_id);
  sqlite3_bind_int(s, 9, (c->set & STORE_JOB_SET_TARGET) != 0);
  sqlite3_bind_int64(s, 10, c->target_device_id);
  sqlite3_bind_int(s, 11, (c->set & STORE_JOB_SET_QUEUE) != 0);
  sqlite3_bind_int64(s, 12, c->queue_id);
  sqlite3_bind_int64(s, 13, c->expect_device);
  status = sqlite_exec_changes_locked(st, s, what);
  if (status == STORE_NOT_FOUND)
    status = job_missing_or_conflict_locked(st, tenant_id, c->job_id, what);
  if (status == STORE_OK && (c->set & STORE_JOB_SET_SETTINGS))
    status = job_settings_locked(st, tenant_id, c, now);
  if (status != STORE_OK) return status;
  return sqlite_event_insert_locked(st, tenant_id, c->job_id, now, c->event, (int)c->expected,
                                    (int)c->next, c->detail);
}

/* All changes or none: the first that fails rolls the transaction back. */
store_status_t sqlite_job_apply(store_t *base_, nimbus_id_t tenant_id,
                                const store_job_change_t *changes, size_t n) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  int64_t now = (int64_t)time(NULL);
  store_status_t status = sqlite_tx_begin_locked(st);
  for (size_t i = 0; i < n && status == STORE_OK; i++)
    status = sqlite_job_change_locked(st, tenant_id, &changes[i], now);
  if (status == STORE_OK) status = sqlite_tx_commit_locked(st);
  if (status != STORE_OK) sqlite_tx_rollback_locked(st);
  sqlite_unlock(st);
  return status;
}

store_status_t sqlite_job_set_progress(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                       nimbus_id_t device_id, int impressions_completed,
                                       const char *reasons) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_JOB_SET_PROGRESS);
  if (s) {
    sqlite3_bind_int64(s, 1, job_id);
    sqlite3_bind_int64(s, 2, tenant_id);
    sqlite3_bind_int64(s, 3, device_id);
    sqlite3_bind_int(s, 4, impressions_completed);
    if (reasons) {
      sqlite3_bind_text(s, 5, reasons, -1, SQLITE_STATIC); /* reads truncate */
    } else {
      sqlite3_bind_null(s, 5);
    }
    status = sqlite_exec_changes_locked(st, s, "job set progress");
    if (status == STORE_NOT_FOUND)
      status = job_missing_or_conflict_locked(st, tenant_id, job_id, "job set progress");
  }
  sqlite_unlock(st);
  return status;
}

/* A job's lease runs from the later of its device's last_seen_at and the
 * job's own state change (the acknowledgement is itself a sign of life,
 * and last_seen_at is flushed lazily).  A processing job whose device row
 * is gone (or that has none) is always expired. */
store_status_t sqlite_job_list_lease_expired(store_t *base_, int64_t cutoff, store_job_cb cb,
                                             void *ctx) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!(st = sqlite_read_lock(st))) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_JOB_LEASE_EXPIRED);
  if (s) {
    sqlite3_bind_int64(s, 1, cutoff);
    status = sqlite_for_each_row_locked(st, s, "job lease expired", job_row, (list_cb_t){.job = cb},
                                        ctx);
  }
  sqlite_read_unlock(st);
  return status;
}

/* ---- documents ---- */

store_status_t sqlite_document_add(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                   nimbus_document_t *doc, bool last,
                                   nimbus_job_state_t state_after_last) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  int64_t now = (int64_t)time(NULL);
  int number = 0;
  store_status_t status = sqlite_tx_begin_locked(st);
  if (status != STORE_OK) goto done;

  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_JOB_COUNTERS);
  if (!s) {
    status = STORE_ERROR;
    goto done;
  }
  sqlite3_bind_int64(s, 1, job_id);
  sqlite3_bind_int64(s, 2, tenant_id);
  status = sqlite_step_row_locked(st, s, "document add");
  int state = 0, num_documents = 0, copies = 1;
  int64_t pages = 0;
  if (status == STORE_OK) {
    state = sqlite3_column_int(s, 0);
    num_documents = sqlite3_column_int(s, 1);
    pages = sqlite3_column_int64(s, 2);
    copies = sqlite3_column_int(s, 3);
  }
  sqlite_stmt_reset(s);
  if (status != STORE_OK) goto done;
  if (state != NIMBUS_JOB_RECEIVED) {
    status = STORE_CONFLICT;
    goto done;
  }
  if (copies < 1) copies = 1;
  number = num_documents + 1;
  pages += doc->pages;

  s = sqlite_stmt_get_locked(st, S_DOC_INSERT);
  if (!s) {
    status = STORE_ERROR;
    goto done;
  }
  sqlite3_bind_int64(s, 1, job_id);
  sqlite3_bind_int(s, 2, number);
  BIND_FIELD(s, 3, doc->format);
  BIND_FIELD(s, 4, doc->name);
  sqlite3_bind_int64(s, 5, doc->size);
  sqlite3_bind_int(s, 6, doc->pages);
  BIND_FIELD(s, 7, doc->blob_key);
  sqlite3_bind_int64(s, 8, now);
  status = sqlite_stmt_exec_locked(st, s, "document insert");
  if (status != STORE_OK) goto done;

  s = sqlite_stmt_get_locked(st, S_JOB_UPDATE_COUNTERS);
  if (!s) {
    status = STORE_ERROR;
    goto done;
  }
  sqlite3_bind_int64(s, 1, job_id);
  sqlite3_bind_int64(s, 2, tenant_id);
  sqlite3_bind_int(s, 3, number);
  sqlite3_bind_int64(s, 4, pages);
  sqlite3_bind_int64(s, 5, sqlite_clamp_int(pages * copies));
  status = sqlite_exec_changes_locked(st, s, "document add counters");
  if (status != STORE_OK) goto done;

  if (last) {
    store_job_change_t close = {.job_id = job_id,
                                .expected = NIMBUS_JOB_RECEIVED,
                                .next = state_after_last,
                                .event = "job-closed"};
    status = sqlite_job_change_locked(st, tenant_id, &close, now);
  }
  if (status == STORE_OK) status = sqlite_tx_commit_locked(st);

done:
  if (status == STORE_OK) {
    doc->job_id = job_id;
    doc->number = number;
    doc->created_at = now;
  } else {
    sqlite_tx_rollback_locked(st);
  }
  sqlite_unlock(st);
  return status;
}

store_status_t sqlite_document_list(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                    nimbus_document_t *out, int max, int *count) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!(st = sqlite_read_lock(st))) return STORE_ERROR;
  int n = 0;
  int64_t state = 0;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_JOB_COUNTERS);
  if (!s) goto done;
  sqlite3_bind_int64(s, 1, job_id);
  sqlite3_bind_int64(s, 2, tenant_id);
  status = sqlite_query_int64_locked(st, s, "document list", &state); /* job in tenant? */
  if (status != STORE_OK || max <= 0) goto done;

  s = sqlite_stmt_get_locked(st, S_DOC_LIST);
  if (!s) {
    status = STORE_ERROR;
    goto done;
  }
  sqlite3_bind_int64(s, 1, job_id);
  sqlite3_bind_int(s, 2, max);
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW && n < max) sqlite_doc_from_row(s, &out[n++]);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) status = sqlite_fail_locked(st, rc, "document list");
  sqlite_stmt_reset(s);
done:
  if (count) *count = status == STORE_OK ? n : 0;
  sqlite_read_unlock(st);
  return status;
}

store_status_t sqlite_blob_is_referenced(store_t *base_, const char *key, bool *referenced) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!(st = sqlite_read_lock(st))) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_BLOB_REFERENCED);
  if (s) {
    int64_t v = 0;
    sqlite_bind_str(s, 1, key);
    status = sqlite_query_int64_locked(st, s, "blob referenced", &v);
    if (status == STORE_OK) *referenced = v != 0;
  }
  sqlite_read_unlock(st);
  return status;
}

/* ---- release at the printer: the PIN counter, purge, sweep listing ---- */

store_status_t sqlite_job_pin_get(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                  store_pin_counter_t *out) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!(st = sqlite_read_lock(st))) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_JOB_PIN_STATE);
  if (s) {
    sqlite3_bind_int64(s, 1, job_id);
    sqlite3_bind_int64(s, 2, tenant_id);
    status = sqlite_step_row_locked(st, s, "job pin get");
    if (status == STORE_OK) {
      out->failures = sqlite_column_int(s, 0);
      out->window_start = sqlite3_column_int64(s, 1);
      out->locked_until = sqlite3_column_int64(s, 2);
    }
    sqlite_stmt_reset(s);
  }
  sqlite_read_unlock(st);
  return status;
}

store_status_t sqlite_job_pin_cas(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                  const store_pin_counter_t *expected,
                                  const store_pin_counter_t *next, const store_audit_t *audit) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  if (sqlite_audit_begin_locked(st, audit) != STORE_OK) {
    sqlite_unlock(st);
    return STORE_ERROR;
  }
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_JOB_PIN_CAS);
  if (s) {
    sqlite3_bind_int64(s, 1, job_id);
    sqlite3_bind_int64(s, 2, tenant_id);
    sqlite3_bind_int(s, 3, next->failures);
    sqlite3_bind_int64(s, 4, next->window_start);
    sqlite3_bind_int64(s, 5, next->locked_until);
    sqlite3_bind_int(s, 6, expected->failures);
    sqlite3_bind_int64(s, 7, expected->window_start);
    sqlite3_bind_int64(s, 8, expected->locked_until);
    status = sqlite_exec_changes_locked(st, s, "job pin cas");
    if (status == STORE_NOT_FOUND)
      status = job_missing_or_conflict_locked(st, tenant_id, job_id, "job pin cas");
  }
  status = sqlite_audit_end_locked(st, audit, status, 0);
  sqlite_unlock(st);
  return status;
}

/* Keys beyond `max` stay referenced, and the job stays listed by
 * sqlite_job_list_sweep() (unpurged) for the next round. */
store_status_t sqlite_document_purge(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                     char (*keys)[NIMBUS_BLOB_KEY_MAX], int max, int *nkeys) {
  sqlite_store_t *st = sqlite_of(base_);
  if (nkeys) *nkeys = 0;
  if (!keys || max < 0) max = 0;
  if (!sqlite_lock(st)) return STORE_ERROR;
  int n = 0;
  int64_t state = 0, last = INT_MAX;
  store_status_t status = sqlite_tx_begin_locked(st);
  if (status != STORE_OK) goto done;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_JOB_COUNTERS);
  if (!s) {
    status = STORE_ERROR;
    goto done;
  }
  sqlite3_bind_int64(s, 1, job_id);
  sqlite3_bind_int64(s, 2, tenant_id);
  status = sqlite_query_int64_locked(st, s, "document purge", &state);
  if (status != STORE_OK) goto done;
  if (!sqlite_state_is_terminal((int)state)) {
    status = STORE_CONFLICT;
    goto done;
  }

  /* One row more than fits tells whether some keys must wait. */
  s = sqlite_stmt_get_locked(st, S_DOC_PURGE_KEYS);
  if (!s) {
    status = STORE_ERROR;
    goto done;
  }
  sqlite3_bind_int64(s, 1, job_id);
  sqlite3_bind_int(s, 2, max + 1);
  int rc;
  bool more = false;
  last = 0;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    if (n == max) {
      more = true;
      break;
    }
    last = sqlite3_column_int64(s, 0);
    sqlite_copy_column(s, 1, keys[n], NIMBUS_BLOB_KEY_MAX);
    n++;
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) status = sqlite_fail_locked(st, rc, "document purge");
  if (!more) last = INT_MAX; /* every spool key fitted */
  sqlite_stmt_reset(s);
  if (status != STORE_OK) goto done;

  s = sqlite_stmt_get_locked(st, S_DOC_PURGE);
  if (!s) {
    status = STORE_ERROR;
    goto done;
  }
  sqlite3_bind_int64(s, 1, job_id);
  sqlite3_bind_int64(s, 2, last);
  status = sqlite_stmt_exec_locked(st, s, "document purge");
  if (status != STORE_OK) goto done;
  s = sqlite_stmt_get_locked(st, S_DOC_DATA_PURGE);
  if (!s) {
    status = STORE_ERROR;
    goto done;
  }
  sqlite3_bind_int64(s, 1, job_id);
  status = sqlite_stmt_exec_locked(st, s, "document data purge");
  if (status == STORE_OK) status = sqlite_tx_commit_locked(st);

done:
  if (status != STORE_OK) {
    sqlite_tx_rollback_locked(st);
    n = 0;
  }
  if (nkeys) *nkeys = n;
  sqlite_unlock(st);
  return status;
}

store_status_t sqlite_job_list_sweep(store_t *base_, const store_sweep_filter_t *f, store_job_cb cb,
                                     void *ctx) {
  sqlite_store_t *st = sqlite_of(base_);
  if (f->limit <= 0) return STORE_OK;
  if (!(st = sqlite_read_lock(st))) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, f->unpurged ? S_JOB_SWEEP_UNPURGED : S_JOB_SWEEP);
  if (s) {
    sqlite3_bind_int64(s, 1, f->tenant_id);
    sqlite3_bind_int(s, 2, (int)f->state);
    sqlite3_bind_int64(s, 3, f->created_before);
    sqlite3_bind_int(s, 4, f->limit);
    status =
        sqlite_for_each_row_locked(st, s, "job list sweep", job_row, (list_cb_t){.job = cb}, ctx);
  }
  sqlite_read_unlock(st);
  return status;
}
