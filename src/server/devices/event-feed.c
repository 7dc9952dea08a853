/*
 * event-feed.c: the feed thread (see event-feed.h).  Events are posted
 * with the same functions the local job observer and device deletion use
 * (device_job_changed, notify_device_deleted), so a parked printer cannot
 * tell which node made a change.  Only notifications are posted: the
 * other work of an event (purging an ended job's documents) was done by
 * the node that committed it.
 */
#include "event-feed.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "device.h"
#include "log.h"
#include "notify.h"

#define EVENT_FEED_BATCH 64 /* events per store call */

struct event_feed {
  nimbus_server_t *srv;
  store_feed_t *feed;
  pthread_t thread;
  atomic_bool stopping;
  store_feed_event_t batch[EVENT_FEED_BATCH];
};

static void event_feed_post(event_feed_t *f, const store_feed_event_t *e) {
  nimbus_server_t *srv = f->srv;
  if (e->deleted_device) {
    device_presence_forget(srv, e->deleted_device);
    notify_device_deleted(srv->notify, e->deleted_device);
    return;
  }
  if (!e->job.id || !e->to) return; /* the job is gone: nobody waits for it */
  nimbus_job_t job = e->job;
  job.state = e->to; /* the event's state, not the job's state now */
  device_job_changed(srv, &job, e->from ? e->from : NIMBUS_JOB_RECEIVED);
}

static void *event_feed_main(void *arg) {
  event_feed_t *f = arg;
  bool failing = false;
  while (!atomic_load(&f->stopping)) {
    size_t n = 0;
    store_status_t s = store_feed_next(f->feed, EVENT_FEED_WAIT_MS, f->batch, EVENT_FEED_BATCH, &n);
    if (s != STORE_OK && !failing)
      log_event(LOG_WARN, NULL, "event feed: cannot read other nodes' events (retrying)",
                (char *)NULL);
    failing = s != STORE_OK;
    if (failing) { /* a store that fails at once must not make this thread spin */
      struct timespec ts = {0, EVENT_FEED_WAIT_MS * 1000000L};
      nanosleep(&ts, NULL);
    }
    for (size_t i = 0; i < n; i++) event_feed_post(f, &f->batch[i]);
  }
  return NULL;
}

event_feed_t *event_feed_start(nimbus_server_t *srv) {
  event_feed_t *f = calloc(1, sizeof *f);
  if (!f) return NULL;
  f->srv = srv;
  if (store_feed_open(srv->store, &f->feed) != STORE_OK) {
    log_event(LOG_ERROR, NULL, "event feed: cannot open the store's feed", (char *)NULL);
    free(f);
    return NULL;
  }
  atomic_init(&f->stopping, false);
  if (pthread_create(&f->thread, NULL, event_feed_main, f) != 0) {
    store_feed_close(f->feed);
    free(f);
    return NULL;
  }
  return f;
}

void event_feed_stop(event_feed_t *f) {
  if (!f) return;
  atomic_store(&f->stopping, true);
  pthread_join(f->thread, NULL);
  store_feed_close(f->feed);
  free(f);
}
