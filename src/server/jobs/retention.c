/*
 * retention.c: deleting documents after a job ends, and expiring jobs
 * nobody released (see retention.h).
 *
 * Order of a purge: the store forgets the documents first (one
 * transaction: blob keys cleared, inline data deleted), then the spool
 * files are removed.  A crash in between leaves files no row references,
 * which the start-up orphan sweep removes; never a row pointing at a
 * missing file.
 */
#include "retention.h"

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
    if (store_job_list_housekeeping(srv->store, (int64_t)time(NULL), srv->cfg.retention_hours,
                                    RETENTION_BATCH, retention_collect, &b) != STORE_OK)
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
