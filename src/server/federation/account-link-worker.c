/*
 * account-link-worker.c: the account links' background thread
 * (account-link.h): once a second it takes the links that are due
 * (pending grants at their interval, linked accounts every
 * --account-link-check seconds) and handles them with
 * account_link_run_due().  Remote calls run with no lock held; its one
 * mutex guards only the stop flag (docs/LOCKING.md).
 */
#include "account-link.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct account_links {
  nimbus_server_t *srv;
  pthread_t thread;
  pthread_mutex_t mu; /* guards stopping */
  pthread_cond_t cond;
  bool stopping;
};

static void *account_links_main(void *arg) {
  account_links_t *w = arg;
  pthread_mutex_lock(&w->mu);
  while (!w->stopping) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += 1;
    pthread_cond_timedwait(&w->cond, &w->mu, &ts);
    if (w->stopping) break;
    pthread_mutex_unlock(&w->mu);
    account_link_run_due(w->srv, (int64_t)time(NULL));
    pthread_mutex_lock(&w->mu);
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

account_links_t *account_links_start(nimbus_server_t *srv, char *err, size_t errlen) {
  account_links_t *w = calloc(1, sizeof *w);
  if (!w) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  w->srv = srv;
  pthread_mutex_init(&w->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&w->cond, &ca);
  pthread_condattr_destroy(&ca);
  if (pthread_create(&w->thread, NULL, account_links_main, w) != 0) {
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->mu);
    free(w);
    snprintf(err, errlen, "cannot start the account links thread");
    return NULL;
  }
  return w;
}

void account_links_stop(account_links_t *w) {
  if (!w) return;
  pthread_mutex_lock(&w->mu);
  w->stopping = true;
  pthread_cond_signal(&w->cond);
  pthread_mutex_unlock(&w->mu);
  pthread_join(w->thread, NULL);
  pthread_cond_destroy(&w->cond);
  pthread_mutex_destroy(&w->mu);
  free(w);
}
