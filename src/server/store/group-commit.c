/*
 * group-commit.c: the store backends' group committer (group-commit.h).
 *
 * Callers queue an item (embedded in a request on their own stack) and
 * sleep on `done`; the committer thread sleeps on `wake` until the queue
 * has work or the batcher is closing, detaches up to `max` items from the
 * head (FIFO), releases the mutex, runs the batch through the backend's
 * callback, then marks the batch's items done and wakes every sleeper
 * (one condition variable for all callers: a caller re-checks its own
 * item).  Closing refuses new items but the committer drains what is
 * queued before it exits, so every accepted item is run.
 *
 * Lock: group_commit.mu guards head, tail, closing and each queued item's
 * `next` and `done`; it is held only for those memory operations, never
 * while the run callback runs (docs/LOCKING.md).
 */
#include "group-commit.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

struct group_commit {
  int max;                     /* batch size limit, >= 1 */
  group_commit_run_fn run;     /* the backend's "run this batch in one transaction" */
  void *ctx;                   /* run's first argument */
  group_commit_item_t **batch; /* max slots: the batch being run (committer only) */
  pthread_t thread;
  bool joined;         /* group_commit_stop() joined the thread (the stopping thread's) */
  pthread_mutex_t mu;  /* guards the fields below and the queued items */
  pthread_cond_t wake; /* committer: work arrived or closing */
  pthread_cond_t done; /* callers: some items are done */
  group_commit_item_t *head, *tail;
  bool closing;
};

/* The committer thread: runs batches until closing and drained. */
static void *group_commit_main(void *arg) {
  group_commit_t *gc = arg;
  pthread_mutex_lock(&gc->mu);
  for (;;) {
    while (!gc->head && !gc->closing) pthread_cond_wait(&gc->wake, &gc->mu);
    if (!gc->head) break; /* closing and drained */
    int n = 0;
    while (gc->head && n < gc->max) {
      gc->batch[n++] = gc->head;
      gc->head = gc->head->next;
    }
    if (!gc->head) gc->tail = NULL;
    pthread_mutex_unlock(&gc->mu);

    gc->run(gc->ctx, gc->batch, n); /* returns after COMMIT (or the rollback) */

    pthread_mutex_lock(&gc->mu);
    for (int i = 0; i < n; i++) gc->batch[i]->done = true; /* callers may now return */
    pthread_cond_broadcast(&gc->done);
  }
  pthread_mutex_unlock(&gc->mu);
  return NULL;
}

group_commit_t *group_commit_start(int max, group_commit_run_fn run, void *ctx, char *err,
                                   size_t errlen) {
  if (max < 1) max = 1;
  group_commit_t *gc = calloc(1, sizeof *gc);
  if (gc) gc->batch = calloc((size_t)max, sizeof *gc->batch);
  if (!gc || !gc->batch) {
    free(gc);
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  gc->max = max;
  gc->run = run;
  gc->ctx = ctx;
  if (pthread_mutex_init(&gc->mu, NULL) != 0) goto fail_mu;
  if (pthread_cond_init(&gc->wake, NULL) != 0) goto fail_wake;
  if (pthread_cond_init(&gc->done, NULL) != 0) goto fail_done;
  if (pthread_create(&gc->thread, NULL, group_commit_main, gc) != 0) goto fail_thread;
  return gc;
fail_thread:
  pthread_cond_destroy(&gc->done);
fail_done:
  pthread_cond_destroy(&gc->wake);
fail_wake:
  pthread_mutex_destroy(&gc->mu);
fail_mu:
  free(gc->batch);
  free(gc);
  snprintf(err, errlen, "cannot start the group-commit thread");
  return NULL;
}

bool group_commit_submit(group_commit_t *gc, group_commit_item_t *item) {
  item->next = NULL;
  item->done = false;
  pthread_mutex_lock(&gc->mu);
  if (gc->closing) {
    pthread_mutex_unlock(&gc->mu);
    return false;
  }
  if (gc->tail)
    gc->tail->next = item;
  else
    gc->head = item;
  gc->tail = item;
  pthread_cond_signal(&gc->wake);
  while (!item->done) pthread_cond_wait(&gc->done, &gc->mu);
  pthread_mutex_unlock(&gc->mu);
  return true;
}

void group_commit_stop(group_commit_t *gc) {
  if (!gc || gc->joined) return;
  pthread_mutex_lock(&gc->mu);
  gc->closing = true;
  pthread_cond_signal(&gc->wake);
  pthread_mutex_unlock(&gc->mu);
  pthread_join(gc->thread, NULL); /* drains the queue first */
  gc->joined = true;
}

void group_commit_free(group_commit_t *gc) {
  if (!gc) return;
  group_commit_stop(gc);
  pthread_cond_destroy(&gc->done);
  pthread_cond_destroy(&gc->wake);
  pthread_mutex_destroy(&gc->mu);
  free(gc->batch);
  free(gc);
}
