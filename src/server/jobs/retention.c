/*
 * retention.c: deleting documents after a job ends, and expiring jobs
 * nobody released (see retention.h).
 *
 * Order of a purge: the store forgets the documents first (one
 * transaction: blob keys cleared, inline data deleted), then the spool
 * files are removed.  A crash in between leaves files no row references,
 * which the start-up orphan sweep removes; never a row pointing at a
 * missing file.
 *
 * The policy is here, not in the store: which jobs are due (ended ones
 * holding documents; the states job.c lets expire, past the tenant's
 * retention or the server default) and when (retention_cutoff).  The
 * store only lists by state and age (store_job_list_sweep).
 */
#include "retention.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blob.h"
#include "job.h"
#include "log.h"

#define RETENTION_DOCS_MAX 64 /* documents purged per job in one call */
#define RETENTION_BATCH 256   /* jobs per housekeeping batch */

int retention_purge(nimbus_server_t *srv, nimbus_id_t tenant_id, nimbus_id_t job_id) {
  char keys[RETENTION_DOCS_MAX][NIMBUS_BLOB_KEY_MAX];
  int n = 0;
  store_status_t s =
      store_document_purge(srv->store, tenant_id, job_id, keys, RETENTION_DOCS_MAX, &n);
  if (s == STORE_CONFLICT || s == STORE_NOT_FOUND) return 0; /* not ended, or gone */
  if (s != STORE_OK) {
    log_event(LOG_WARN, NULL, "could not purge a job's documents", "job_id", LOG_INT(job_id),
              (char *)NULL);
    return -1;
  }
  int removed = 0;
  for (int i = 0; i < n; i++) {
    if (strcmp(keys[i], STORE_INLINE_BLOB_KEY) == 0 || !keys[i][0]) continue;
    blob_delete(srv->blobs, keys[i]);
    removed++;
  }
  if (n > 0)
    log_event(LOG_INFO, NULL, "job documents deleted", "job_id", LOG_INT(job_id), "files",
              LOG_INT(removed), (char *)NULL);
  return removed;
}

void retention_job_changed(nimbus_server_t *srv, const nimbus_job_t *job, nimbus_job_state_t from) {
  if (job->state != from && job_state_is_terminal(job->state))
    retention_purge(srv, job->tenant_id, job->id);
}

int64_t retention_cutoff(const nimbus_tenant_t *t, int default_hours, int64_t now) {
  int hours = t->retention_hours > 0 ? t->retention_hours : default_hours > 0 ? default_hours : 24;
  return now - 3600 * (int64_t)hours;
}

/* Tenants and their retention, collected before the job listings (a list
 * callback must not call the store). */
typedef struct {
  nimbus_tenant_t *v;
  size_t n, cap;
  bool failed; /* out of memory */
} retention_tenants_t;

static bool retention_tenant_cb(const nimbus_tenant_t *t, void *ctx) {
  retention_tenants_t *tt = ctx;
  if (tt->n == tt->cap) {
    size_t cap = tt->cap ? tt->cap * 2 : 16;
    nimbus_tenant_t *v = realloc(tt->v, cap * sizeof *v);
    if (!v) {
      tt->failed = true;
      return false;
    }
    tt->v = v;
    tt->cap = cap;
  }
  tt->v[tt->n++] = *t;
  return true;
}

/* Passes each job on to the caller's callback and counts it against the
 * listing's overall limit. */
typedef struct {
  store_job_cb cb;
  void *ctx;
  int left;
  bool stopped; /* the caller's callback said stop */
} retention_due_t;

static bool retention_due_cb(const nimbus_job_t *job, void *ctx) {
  retention_due_t *d = ctx;
  d->left--;
  if (!d->cb(job, d->ctx)) d->stopped = true;
  return !d->stopped && d->left > 0;
}

store_status_t retention_due(store_t *st, int64_t now, int default_hours, int limit,
                             store_job_cb cb, void *ctx) {
  retention_tenants_t tenants = {0};
  store_status_t s = store_tenant_list(st, retention_tenant_cb, &tenants);
  if (s == STORE_OK && tenants.failed) s = STORE_ERROR;
  retention_due_t due = {.cb = cb, .ctx = ctx, .left = limit};
  /* Each tenant, each state: ended jobs still holding documents (at any
   * age), and jobs in the states the state machine lets expire, created
   * before the tenant's cutoff. */
  for (size_t i = 0; i < tenants.n && s == STORE_OK && due.left > 0 && !due.stopped; i++) {
    int64_t cutoff = retention_cutoff(&tenants.v[i], default_hours, now);
    for (int state = NIMBUS_JOB_RECEIVED; state <= NIMBUS_JOB_EXPIRED; state++) {
      nimbus_job_state_t to;
      bool ended = job_state_is_terminal((nimbus_job_state_t)state);
      if (!ended && !job_next_state((nimbus_job_state_t)state, JOB_EVENT_EXPIRE, &to)) continue;
      store_sweep_filter_t f = {.tenant_id = tenants.v[i].id,
                                .state = (nimbus_job_state_t)state,
                                .created_before = ended ? INT64_MAX : cutoff,
                                .unpurged = ended,
                                .limit = due.left};
      s = store_job_list_sweep(st, &f, retention_due_cb, &due);
      if (s != STORE_OK || due.left <= 0 || due.stopped) break;
    }
  }
  free(tenants.v);
  return s;
}

typedef struct {
  nimbus_id_t tenant[RETENTION_BATCH], job[RETENTION_BATCH];
  nimbus_job_state_t state[RETENTION_BATCH];
  int n;
} retention_batch_t;

static bool retention_collect(const nimbus_job_t *job, void *ctx) {
  retention_batch_t *b = ctx;
  if (b->n >= RETENTION_BATCH) return false;
  b->tenant[b->n] = job->tenant_id;
  b->job[b->n] = job->id;
  b->state[b->n] = job->state;
  b->n++;
  return true;
}

int retention_sweep(nimbus_server_t *srv) {
  int total = 0;
  for (int round = 0; round < 16; round++) {
    retention_batch_t b = {.n = 0};
    if (retention_due(srv->store, (int64_t)time(NULL), srv->cfg.retention_hours, RETENTION_BATCH,
                      retention_collect, &b) != STORE_OK)
      break;
    for (int i = 0; i < b.n; i++) {
      if (job_state_is_terminal(b.state[i])) {
        retention_purge(srv, b.tenant[i], b.job[i]);
      } else if (job_apply(srv->store, b.tenant[i], b.job[i], JOB_EVENT_EXPIRE, "retention",
                           NULL) == JOB_OK) {
        /* the observer purges it */
        log_event(LOG_INFO, NULL, "unreleased job expired", "job_id", LOG_INT(b.job[i]),
                  (char *)NULL);
      }
    }
    total += b.n;
    if (b.n < RETENTION_BATCH) break;
  }
  return total;
}
