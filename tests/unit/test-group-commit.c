/*
 * test-group-commit.c: unit tests of the store backends' group committer
 * (store/group-commit.h) alone, with a run callback that only records
 * what it was given: concurrent submitters all come back, each request
 * runs exactly once and before its caller wakes, no batch exceeds max,
 * requests queued behind a busy batch share the next one, a callback may
 * reorder its batch, stop drains what was queued, and a submit after stop
 * is refused without running.
 *
 * cmocka's asserts are for the main thread only: submitter threads and
 * the committer count what they saw, the test asserts on the counts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "group-commit.h"

#define THREADS 8
#define PER_THREAD 200
#define MAX_BATCH 4

typedef struct {
  group_commit_item_t item; /* not first, to exercise GROUP_COMMIT_REQ */
  int id;
  int runs;    /* times a batch contained it (the committer's) */
  bool run_ok; /* set by the callback: "committed" */
} req_t;

/* What the run callback saw; the committer thread's, read after stop or
 * under mu. */
typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t cond;
  int max;
  int batches, items, biggest;
  atomic_int bad; /* n out of range, an item already done, a request run twice */
  bool reverse;   /* reorder the batch (as store-pg sorts it) */
  bool gate;      /* hold the committer in its batch until opened */
  bool in_batch;  /* the committer is inside the gated batch */
} runner_t;

static void run_batch(void *ctx, group_commit_item_t **items, int n) {
  runner_t *r = ctx;
  pthread_mutex_lock(&r->mu);
  r->in_batch = true;
  pthread_cond_broadcast(&r->cond);
  while (r->gate) pthread_cond_wait(&r->cond, &r->mu);
  r->in_batch = false;
  if (n < 1 || n > r->max) atomic_fetch_add(&r->bad, 1);
  r->batches++;
  r->items += n;
  if (n > r->biggest) r->biggest = n;
  pthread_mutex_unlock(&r->mu);
  if (r->reverse) {
    for (int i = 0, j = n - 1; i < j; i++, j--) {
      group_commit_item_t *t = items[i];
      items[i] = items[j];
      items[j] = t;
    }
  }
  for (int i = 0; i < n; i++) {
    req_t *q = GROUP_COMMIT_REQ(items[i], req_t, item);
    if (items[i]->done || q->runs++) atomic_fetch_add(&r->bad, 1); /* woken early, or twice */
    q->run_ok = true;
  }
}

static void runner_init(runner_t *r, int max) {
  memset(r, 0, sizeof *r);
  pthread_mutex_init(&r->mu, NULL);
  pthread_cond_init(&r->cond, NULL);
  r->max = max;
}

static void runner_destroy(runner_t *r) {
  pthread_cond_destroy(&r->cond);
  pthread_mutex_destroy(&r->mu);
}

typedef struct {
  group_commit_t *gc;
  int base;
  int count;
  atomic_int *accepted; /* submits that returned true */
  atomic_int *refused;  /* submits that returned false */
  atomic_int *bad;      /* came back true but not run, or false but run */
} submitter_t;

static void *submitter_main(void *arg) {
  submitter_t *s = arg;
  for (int i = 0; i < s->count; i++) {
    req_t q = {.id = s->base + i};
    if (group_commit_submit(s->gc, &q.item)) {
      atomic_fetch_add(s->accepted, 1);
      if (!q.run_ok || q.runs != 1 || !q.item.done) atomic_fetch_add(s->bad, 1);
    } else {
      atomic_fetch_add(s->refused, 1);
      if (q.runs != 0) atomic_fetch_add(s->bad, 1);
    }
  }
  return NULL;
}

/* THREADS x PER_THREAD submits; the counts of accepted and refused. */
static void submit_from_threads(group_commit_t *gc, int per_thread, int *accepted, int *refused,
                                int *bad) {
  atomic_int acc = 0, ref = 0, b = 0;
  pthread_t th[THREADS];
  submitter_t s[THREADS];
  for (int t = 0; t < THREADS; t++) {
    s[t] = (submitter_t){.gc = gc,
                         .base = t * per_thread,
                         .count = per_thread,
                         .accepted = &acc,
                         .refused = &ref,
                         .bad = &b};
    assert_int_equal(pthread_create(&th[t], NULL, submitter_main, &s[t]), 0);
  }
  for (int t = 0; t < THREADS; t++) pthread_join(th[t], NULL);
  *accepted = acc;
  *refused = ref;
  *bad = b;
}

static void test_concurrent_submitters(void **state) {
  (void)state;
  char err[128] = "";
  runner_t r;
  runner_init(&r, MAX_BATCH);
  group_commit_t *gc = group_commit_start(MAX_BATCH, run_batch, &r, err, sizeof err);
  assert_non_null(gc);
  int accepted, refused, bad;
  submit_from_threads(gc, PER_THREAD, &accepted, &refused, &bad);
  group_commit_stop(gc);
  assert_int_equal(accepted, THREADS * PER_THREAD);
  assert_int_equal(refused, 0);
  assert_int_equal(bad, 0);
  assert_int_equal(r.bad, 0);
  assert_int_equal(r.items, THREADS * PER_THREAD);
  assert_true(r.biggest <= MAX_BATCH);
  group_commit_free(gc);
  runner_destroy(&r);
}

/* A callback that reorders its batch (store-pg sorts by job state) still
 * wakes every caller. */
static void test_callback_may_reorder(void **state) {
  (void)state;
  char err[128] = "";
  runner_t r;
  runner_init(&r, MAX_BATCH);
  r.reverse = true;
  group_commit_t *gc = group_commit_start(MAX_BATCH, run_batch, &r, err, sizeof err);
  assert_non_null(gc);
  int accepted, refused, bad;
  submit_from_threads(gc, PER_THREAD / 4, &accepted, &refused, &bad);
  group_commit_free(gc);
  assert_int_equal(accepted, THREADS * (PER_THREAD / 4));
  assert_int_equal(bad + r.bad, 0);
  runner_destroy(&r);
}

/* With max 1 every batch is one request. */
static void test_max_one(void **state) {
  (void)state;
  char err[128] = "";
  runner_t r;
  runner_init(&r, 1);
  group_commit_t *gc = group_commit_start(1, run_batch, &r, err, sizeof err);
  assert_non_null(gc);
  int accepted, refused, bad;
  submit_from_threads(gc, PER_THREAD / 4, &accepted, &refused, &bad);
  group_commit_free(gc);
  assert_int_equal(accepted, THREADS * (PER_THREAD / 4));
  assert_int_equal(bad + r.bad, 0);
  assert_int_equal(r.batches, THREADS * (PER_THREAD / 4));
  assert_int_equal(r.biggest, 1);
  runner_destroy(&r);
}

typedef struct {
  group_commit_t *gc;
  req_t q;
  bool ok;
} one_t;

static void *submit_one(void *arg) {
  one_t *o = arg;
  o->ok = group_commit_submit(o->gc, &o->q.item);
  return NULL;
}

static void *stop_main(void *arg) {
  group_commit_stop(arg);
  return NULL;
}

/* Wait (up to 10 s) until the committer is inside the gated batch. */
static void wait_in_batch(runner_t *r) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 10;
  pthread_mutex_lock(&r->mu);
  while (!r->in_batch && pthread_cond_timedwait(&r->cond, &r->mu, &until) == 0) {
  }
  bool in = r->in_batch;
  pthread_mutex_unlock(&r->mu);
  assert_true(in);
}

static void open_gate(runner_t *r) {
  pthread_mutex_lock(&r->mu);
  r->gate = false;
  pthread_cond_broadcast(&r->cond);
  pthread_mutex_unlock(&r->mu);
}

/*
 * Requests that arrive while a batch runs wait for it and then go in
 * batches of at most max; stop, called while they wait, lets every queued
 * one run before it returns, and a submit after stop is refused without
 * running anything.
 */
static void test_stop_drains_and_refuses(void **state) {
  (void)state;
  enum { WAITERS = 2 * MAX_BATCH + 1 };
  char err[128] = "";
  runner_t r;
  runner_init(&r, MAX_BATCH);
  r.gate = true;
  group_commit_t *gc = group_commit_start(MAX_BATCH, run_batch, &r, err, sizeof err);
  assert_non_null(gc);

  one_t first = {.gc = gc, .q = {.id = 0}};
  pthread_t first_th;
  assert_int_equal(pthread_create(&first_th, NULL, submit_one, &first), 0);
  wait_in_batch(&r); /* the committer holds a batch of one: the rest queue up */

  one_t w[WAITERS];
  pthread_t th[WAITERS];
  for (int i = 0; i < WAITERS; i++) {
    w[i] = (one_t){.gc = gc, .q = {.id = i + 1}};
    assert_int_equal(pthread_create(&th[i], NULL, submit_one, &w[i]), 0);
  }
  usleep(200 * 1000); /* let them queue (one that has not yet is refused below: still right) */
  pthread_t stopper;
  assert_int_equal(pthread_create(&stopper, NULL, stop_main, gc), 0);
  usleep(100 * 1000);
  assert_false(first.ok); /* still in its batch: not woken */
  open_gate(&r);
  pthread_join(stopper, NULL);
  pthread_join(first_th, NULL);
  int ran = 0, refused = 0;
  for (int i = 0; i < WAITERS; i++) {
    pthread_join(th[i], NULL);
    if (w[i].ok) {
      ran++;
      assert_true(w[i].q.run_ok);
      assert_int_equal(w[i].q.runs, 1);
    } else {
      refused++;
      assert_int_equal(w[i].q.runs, 0);
    }
  }
  assert_true(first.ok);
  assert_int_equal(r.items, 1 + ran);
  assert_int_equal(r.bad, 0);
  assert_true(r.biggest <= MAX_BATCH);
  /* Normally every waiter had queued before the gate opened: then the
   * next batch was a full one. */
  if (refused == 0) assert_int_equal(r.biggest, MAX_BATCH);

  req_t late = {.id = 99};
  assert_false(group_commit_submit(gc, &late.item)); /* after stop */
  assert_int_equal(late.runs, 0);
  group_commit_stop(gc); /* again: nothing happens */
  assert_int_equal(r.items, 1 + ran);
  group_commit_free(gc);
  runner_destroy(&r);
}

/* Free without a stop first stops (and drains); NULL is fine for both. */
static void test_free_stops(void **state) {
  (void)state;
  char err[128] = "";
  runner_t r;
  runner_init(&r, MAX_BATCH);
  group_commit_t *gc = group_commit_start(MAX_BATCH, run_batch, &r, err, sizeof err);
  assert_non_null(gc);
  req_t q = {.id = 1};
  assert_true(group_commit_submit(gc, &q.item));
  assert_true(q.run_ok);
  group_commit_free(gc);
  group_commit_stop(NULL);
  group_commit_free(NULL);
  assert_int_equal(r.items, 1);
  runner_destroy(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_concurrent_submitters),
      cmocka_unit_test(test_callback_may_reorder),
      cmocka_unit_test(test_max_one),
      cmocka_unit_test(test_stop_drains_and_refuses),
      cmocka_unit_test(test_free_stops),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
