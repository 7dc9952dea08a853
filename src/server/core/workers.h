/*
 * workers.h: a fixed pool of threads running queued work items, so that
 * slow steps (fsync, page counting, password hashing, database writes)
 * never run on the HTTP event threads.  The queue is bounded; a full queue
 * is reported to the caller, who answers "service unavailable".
 */
#ifndef NIMBUS_WORKERS_H
#define NIMBUS_WORKERS_H

#include <stdbool.h>

typedef struct workers workers_t;
typedef void (*workers_fn)(void *arg);

workers_t *workers_start(int threads, int queue_max);
/* Queue fn(arg); false when the queue is full or the pool is stopping. */
bool workers_submit(workers_t *w, workers_fn fn, void *arg);
/* Run every queued item, then stop and free the pool. */
void workers_stop(workers_t *w);

#endif
