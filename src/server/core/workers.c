/*
 * workers.c: bounded work queue served by a fixed set of threads.
 * Lock order: only workers.mu exists here; fn runs without it held.
 */
#include "workers.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct {
  workers_fn fn;
  void *arg;
} workers_item_t;

struct workers {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  workers_item_t *ring;
  int cap, head, count;
  bool stopping;
  int nthreads;
  pthread_t *threads;
};

static void *workers_main(void *arg) {
  workers_t *w = arg;
  for (;;) {
    pthread_mutex_lock(&w->mu);
    while (w->count == 0 && !w->stopping) pthread_cond_wait(&w->cv, &w->mu);
    if (w->count == 0 && w->stopping) {
      pthread_mutex_unlock(&w->mu);
      return NULL;
    }
    workers_item_t it = w->ring[w->head];
    w->head = (w->head + 1) % w->cap;
    w->count--;
    pthread_mutex_unlock(&w->mu);
    it.fn(it.arg);
  }
}

workers_t *workers_start(int threads, int queue_max) {
  workers_t *w = calloc(1, sizeof *w);
  if (!w) return NULL;
  w->cap = queue_max;
  w->ring = calloc((size_t)queue_max, sizeof *w->ring);
  w->threads = calloc((size_t)threads, sizeof *w->threads);
  if (!w->ring || !w->threads) goto fail;
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->cv, NULL);
  for (int i = 0; i < threads; i++) {
    if (pthread_create(&w->threads[i], NULL, workers_main, w) != 0) {
      workers_stop(w);
      return NULL;
    }
    w->nthreads++;
  }
  return w;
fail:
  free(w->ring);
  free(w->threads);
  free(w);
  return NULL;
}

bool workers_submit(workers_t *w, workers_fn fn, void *arg) {
  pthread_mutex_lock(&w->mu);
  if (w->stopping || w->count == w->cap) {
    pthread_mutex_unlock(&w->mu);
    return false;
  }
  w->ring[(w->head + w->count) % w->cap] = (workers_item_t){fn, arg};
  w->count++;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  return true;
}

void workers_stop(workers_t *w) {
  if (!w) return;
  pthread_mutex_lock(&w->mu);
  w->stopping = true;
  pthread_cond_broadcast(&w->cv);
  pthread_mutex_unlock(&w->mu);
  for (int i = 0; i < w->nthreads; i++) pthread_join(w->threads[i], NULL);
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->cv);
  free(w->ring);
  free(w->threads);
  free(w);
}
