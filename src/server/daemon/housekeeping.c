/*
 * housekeeping.c: the periodic background thread (see housekeeping.h).
 * The period is a quarter of the device lease, at most 10 s, so a job
 * whose device went silent is offered again within lease + period; each
 * round first writes when devices were last seen (device_presence_flush),
 * so REST status lags by at most one period.  Then unreleased jobs past
 * their retention expire, and ended jobs that still hold documents (a
 * crash between the end and the purge) lose them (retention_sweep), and
 * subscriptions whose lease ended leave the store, and so do web console
 * sessions that ended (idle or past --session-max; a lookup refuses them
 * anyway, the sweep only keeps the table small).
 *
 * Several nodes on one database: every node flushes its own presence
 * table, but the two sweeps run on one node at a time, the holder of the
 * store's "housekeeping" lease (store_lease_take, renewed every round and
 * lasting three periods, so a node that died hands it on within three).
 * The lease only saves duplicated work: every job change of a sweep is a
 * compare-and-set, so two nodes sweeping at once would still be correct.
 *
 * The provisioning sweep (provisioning/run-detect.c) runs here too, every
 * --provision-interval seconds (the round's period shrinks to it when
 * shorter), under its own lease "provisioning", so it may run on another
 * node than the sweeps above; exactly once is the store's there as well.
 *
 * Each round also hands free heap pages back to the kernel when more than
 * HOUSEKEEPING_TRIM_FREE bytes lie free in malloc's arenas: every
 * long-poll passes through libmicrohttpd's per-connection pool (32 KiB)
 * before it is held outside it, and glibc's per-thread arenas keep the
 * pages of such bursts (a connect storm of 2,000 printers left 80 MiB
 * free but resident, against 7 MiB in use).
 */
#include "housekeeping.h"

#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "device.h"
#include "log.h"
#include "provisioning.h"
#include "retention.h"

#define HOUSEKEEPING_LEASE "housekeeping"
#define HOUSEKEEPING_TRIM_FREE (8 * 1024 * 1024)

struct housekeeping {
  nimbus_server_t *srv;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cond;
  bool stopping;
  bool leader; /* held the lease at the last round (logged on change) */
  int64_t next_provision; /* when the provisioning sweep is due next */
};

/* The provisioning sweep when due, on the holder of its lease. */
static void housekeeping_provision(housekeeping_t *h) {
  int interval = h->srv->cfg.provision_interval > 0 ? h->srv->cfg.provision_interval : 5;
  int64_t now = (int64_t)time(NULL);
  if (now < h->next_provision) return;
  h->next_provision = now + interval;
  bool held = false;
  if (store_lease_take(h->srv->store, PROV_LEASE, h->srv->cfg.node_id, now, 3 * interval, &held) ==
          STORE_OK &&
      !held)
    return;
  provisioning_sweep(h->srv, now);
}

/* Whether this node runs the sweeps this round: it holds the lease, or
 * the store could not say (then it sweeps: see the file comment). */
static bool housekeeping_lease(housekeeping_t *h, int period) {
  bool held = false;
  if (store_lease_take(h->srv->store, HOUSEKEEPING_LEASE, h->srv->cfg.node_id,
                       (int64_t)time(NULL), 3 * period, &held) != STORE_OK)
    return true;
  if (held != h->leader)
    log_event(LOG_INFO, NULL,
              held ? "this node runs the periodic sweeps" : "another node runs the periodic sweeps",
              "node_id", h->srv->cfg.node_id, (char *)NULL);
  h->leader = held;
  return held;
}

/* Return free heap pages to the kernel when there are many (glibc). */
static void housekeeping_trim_memory(void) {
  struct mallinfo2 mi = mallinfo2();
  if (mi.fordblks < HOUSEKEEPING_TRIM_FREE) return;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  malloc_trim(0);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  log_event(
      LOG_DEBUG, NULL, "free heap pages returned", "free_bytes", LOG_INT((long long)mi.fordblks),
      "in_use_bytes", LOG_INT((long long)mi.uordblks), "ms",
      LOG_INT((long long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000)),
      (char *)NULL);
}

static void *housekeeping_main(void *arg) {
  housekeeping_t *h = arg;
  int period = h->srv->cfg.device_lease / 4;
  if (period < 1) period = 1;
  if (period > 10) period = 10;
  if (h->srv->cfg.provision_interval > 0 && h->srv->cfg.provision_interval < period)
    period = h->srv->cfg.provision_interval;
  pthread_mutex_lock(&h->mu);
  while (!h->stopping) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += period;
    pthread_cond_timedwait(&h->cond, &h->mu, &ts);
    if (h->stopping) break;
    pthread_mutex_unlock(&h->mu);
    device_presence_flush(h->srv);
    if (housekeeping_lease(h, period)) {
      device_lease_sweep(h->srv);
      retention_sweep(h->srv);
      store_subscription_sweep(h->srv->store, (int64_t)time(NULL), NULL);
      store_web_session_sweep(h->srv->store, (int64_t)time(NULL), h->srv->cfg.session_idle, NULL);
    }
    housekeeping_provision(h);
    housekeeping_trim_memory();
    pthread_mutex_lock(&h->mu);
  }
  pthread_mutex_unlock(&h->mu);
  return NULL;
}

housekeeping_t *housekeeping_start(nimbus_server_t *srv) {
  housekeeping_t *h = calloc(1, sizeof *h);
  if (!h) return NULL;
  h->srv = srv;
  pthread_mutex_init(&h->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&h->cond, &ca);
  pthread_condattr_destroy(&ca);
  if (pthread_create(&h->thread, NULL, housekeeping_main, h) != 0) {
    pthread_cond_destroy(&h->cond);
    pthread_mutex_destroy(&h->mu);
    free(h);
    return NULL;
  }
  return h;
}

void housekeeping_stop(housekeeping_t *h) {
  if (!h) return;
  pthread_mutex_lock(&h->mu);
  h->stopping = true;
  pthread_cond_signal(&h->cond);
  pthread_mutex_unlock(&h->mu);
  pthread_join(h->thread, NULL);
  pthread_cond_destroy(&h->cond);
  pthread_mutex_destroy(&h->mu);
  free(h);
}
