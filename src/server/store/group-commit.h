/*
 * group-commit.h: the group committer of the store backends (store/sqlite/,
 * store/pg/): one thread that takes queued requests, up to `max` at a time
 * in arrival order, hands each batch to the backend to run in one
 * transaction, and wakes the batch's callers once the backend returned
 * (after its COMMIT, or its rollback).  Backend-neutral: the batcher knows
 * nothing of SQL, connections or what a request asks; the backend's run
 * callback is the only part that touches the database.
 *
 * For the store backends only, like store-ops.h (nothing outside store/
 * includes it); it includes no backend header (sqlite3.h, libpq-fe.h).
 *
 * Use:
 *   struct my_req { group_commit_item_t item; ...; store_status_t status; };
 *   gc = group_commit_start(max, run_batch, ctx, err, errlen);  (at open)
 *   struct my_req req = {...};                 (on the caller's stack)
 *   if (!group_commit_submit(gc, &req.item)) -> refused: stopping
 *   else req.status is what run_batch set     (the batch is done)
 *   group_commit_stop(gc); group_commit_free(gc);             (at close)
 * run_batch(ctx, items, n) gets the requests as item pointers; it finds
 * its own struct with GROUP_COMMIT_REQ(items[i], struct my_req, item).
 * Nothing is allocated per request: the item lives in the caller's request.
 *
 * Lock (docs/LOCKING.md): group_commit.mu, a leaf, never held while the
 * run callback runs.
 */
#ifndef NIMBUS_STORE_GROUP_COMMIT_H
#define NIMBUS_STORE_GROUP_COMMIT_H

#include <stdbool.h>
#include <stddef.h>

/* The batcher's part of one queued request; embed it in the request. */
typedef struct group_commit_item {
  struct group_commit_item *next; /* the queue; the batcher's */
  bool done;                      /* set under group_commit.mu once the batch ran */
} group_commit_item_t;

/* The request that embeds item as its member `member` (container_of). */
#define GROUP_COMMIT_REQ(item, type, member) \
  ((type *)(void *)((char *)(item) - offsetof(type, member)))

/*
 * Run one batch: items[0..n-1], 1 <= n <= max, in arrival order, to be
 * run in one transaction.  Runs on the committer thread with no lock of the
 * batcher held; returns when the batch's outcome is final (committed or
 * rolled back), having set each request's result in the request itself.
 * It may reorder items[] (the array is the batcher's scratch space, used
 * only for this batch) but must not keep it.
 */
typedef void (*group_commit_run_fn)(void *ctx, group_commit_item_t **items, int n);

typedef struct group_commit group_commit_t;

/* Start the committer thread: batches of at most max (>= 1) requests,
 * each run by run(ctx, ...).  NULL with err set ("out of memory", "cannot
 * start the group-commit thread") on failure. */
group_commit_t *group_commit_start(int max, group_commit_run_fn run, void *ctx, char *err,
                                   size_t errlen);

/* Queue item (its fields are the batcher's: no need to initialise them)
 * and wait until the batch it went into has run; true then.  False, with
 * nothing queued or run, once group_commit_stop() has begun.  Must not be
 * called from the run callback (it would wait for itself). */
bool group_commit_submit(group_commit_t *gc, group_commit_item_t *item);

/* Refuse new requests, let the committer run every queued one (in
 * batches, as usual), and join it.  Idempotent; gc may be NULL.  Only one
 * thread may stop a given batcher. */
void group_commit_stop(group_commit_t *gc);

/* Stop (if not yet) and release gc; gc may be NULL.  No submit may be in
 * progress or follow. */
void group_commit_free(group_commit_t *gc);

#endif
