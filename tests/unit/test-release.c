/*
 * test-release.c: unit tests of the PIN attempt policy of release.c
 * (release_pin_next: the counting window, the lockout, a right PIN
 * clearing the count) and of release_pin_record against a real SQLite
 * store: the same policy through the store's compare-and-set counter,
 * other tenants, and concurrent wrong PINs each counted once.
 * Store fixture: store-fixture.h.
 */
#include "store-fixture.h"

#include "release.h"

/* ---- the policy alone ---- */

static void test_pin_next(void **state) {
  (void)state;
  const int window = 900, max = 3;
  store_pin_counter_t c = {0, 0, 0}, n;
  /* A first wrong PIN opens a window at now. */
  assert_true(release_pin_next(&c, false, 1000, window, max, &n));
  assert_int_equal(n.failures, 1);
  assert_int_equal(n.window_start, 1000);
  assert_int_equal(n.locked_until, 0);
  /* Within the window: counted on. */
  c = n;
  assert_true(release_pin_next(&c, false, 1000 + window - 1, window, max, &n));
  assert_int_equal(n.failures, 2);
  assert_int_equal(n.window_start, 1000);
  /* The window is over: a new count (also for a clock that went back). */
  assert_true(release_pin_next(&c, false, 1000 + window, window, max, &n));
  assert_int_equal(n.failures, 1);
  assert_int_equal(n.window_start, 1000 + window);
  assert_true(release_pin_next(&c, false, 999, window, max, &n));
  assert_int_equal(n.failures, 1);
  assert_int_equal(n.window_start, 999);
  /* The max-th in the window locks for a window from now. */
  c = (store_pin_counter_t){2, 1000, 0};
  assert_true(release_pin_next(&c, false, 1010, window, max, &n));
  assert_int_equal(n.failures, 3);
  assert_int_equal(n.locked_until, 1010 + window);
  /* Locked: nothing to record, even for the right PIN. */
  c = n;
  assert_false(release_pin_next(&c, true, 1011, window, max, &n));
  assert_false(release_pin_next(&c, false, 1010 + window - 1, window, max, &n));
  /* The lock is over: a right PIN clears everything. */
  assert_true(release_pin_next(&c, true, 1010 + window, window, max, &n));
  assert_int_equal(n.failures, 0);
  assert_int_equal(n.window_start, 0);
  assert_int_equal(n.locked_until, 0);
  /* max <= 0: counted, never locked. */
  c = (store_pin_counter_t){50, 1000, 0};
  assert_true(release_pin_next(&c, false, 1001, window, 0, &n));
  assert_int_equal(n.failures, 51);
  assert_int_equal(n.locked_until, 0);
}

/* ---- through the store ---- */

/* The policy through the store: counting, a right PIN clearing, the
 * lockout refusing everything, a new window after it; other tenants. */
static void test_pin_record(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");
  nimbus_id_t q = make_queue(st, a, "q");
  nimbus_id_t j = make_job(st, a, q, 0, NIMBUS_JOB_HELD);
  int64_t t0 = 1000000;
  const int window = 900, max = 3;
  store_pin_counter_t after;

  assert_int_equal(release_pin_record(st, b, j, false, t0, window, max, &after, NULL),
                   STORE_NOT_FOUND);
  assert_int_equal(release_pin_record(st, a, j + 99, false, t0, window, max, NULL, NULL),
                   STORE_NOT_FOUND);

  /* Two wrong, then a right one resets the count. */
  assert_int_equal(release_pin_record(st, a, j, false, t0, window, max, &after, NULL), STORE_OK);
  assert_int_equal(after.failures, 1);
  assert_int_equal(after.locked_until, 0);
  assert_int_equal(release_pin_record(st, a, j, false, t0 + 10, window, max, &after, NULL),
                   STORE_OK);
  assert_int_equal(after.failures, 2);
  assert_int_equal(release_pin_record(st, a, j, true, t0 + 20, window, max, &after, NULL),
                   STORE_OK);
  assert_int_equal(after.failures, 0);
  assert_int_equal(after.locked_until, 0);

  /* The max-th wrong PIN within the window locks. */
  int64_t t1 = t0 + 30;
  for (int i = 0; i < max; i++)
    assert_int_equal(release_pin_record(st, a, j, false, t1 + i, window, max, &after, NULL),
                     STORE_OK);
  assert_int_equal(after.failures, 3);
  assert_int_equal(after.locked_until, t1 + 2 + window);
  nimbus_job_t got;
  assert_int_equal(store_job_get(st, a, j, &got), STORE_OK);
  assert_int_equal(got.pin_failures, 3);
  assert_int_equal(got.pin_window_start, t1);
  assert_int_equal(got.pin_locked_until, t1 + 2 + window);

  /* Locked: even the right PIN is refused and nothing is recorded. */
  assert_int_equal(release_pin_record(st, a, j, true, t1 + 100, window, max, &after, NULL),
                   STORE_CONFLICT);
  assert_int_equal(after.failures, 3);
  assert_int_equal(after.locked_until, t1 + 2 + window);
  assert_int_equal(store_job_get(st, a, j, &got), STORE_OK);
  assert_int_equal(got.pin_failures, 3);

  /* Once the lock is over: a wrong PIN starts a new window. */
  assert_int_equal(release_pin_record(st, a, j, false, t1 + 2 + window, window, max, &after, NULL),
                   STORE_OK);
  assert_int_equal(after.failures, 1);
  assert_int_equal(after.window_start, t1 + 2 + window);
  assert_int_equal(after.locked_until, 0);
}

#define PIN_THREADS 4
#define PIN_TRIES 5

typedef struct {
  store_t *st;
  nimbus_id_t tenant, job;
  int ok; /* attempts recorded by this thread */
} pin_thread_t;

static void *pin_thread(void *arg) {
  pin_thread_t *t = arg;
  for (int i = 0; i < PIN_TRIES; i++)
    if (release_pin_record(t->st, t->tenant, t->job, false, 5000, 900, 0, NULL, NULL) == STORE_OK)
      t->ok++;
  return NULL;
}

/* Wrong PINs from several threads at once: every attempt is counted
 * exactly once (the compare-and-set retries a lost race; a thread loses at
 * most the others' 15 attempts, fewer than RELEASE_PIN_CAS_TRIES). */
static void test_pin_record_concurrent(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a");
  nimbus_id_t q = make_queue(st, a, "q");
  nimbus_id_t j = make_job(st, a, q, 0, NIMBUS_JOB_HELD);
  pin_thread_t t[PIN_THREADS];
  pthread_t th[PIN_THREADS];
  for (int i = 0; i < PIN_THREADS; i++) {
    t[i] = (pin_thread_t){.st = st, .tenant = a, .job = j};
    assert_int_equal(pthread_create(&th[i], NULL, pin_thread, &t[i]), 0);
  }
  int recorded = 0;
  for (int i = 0; i < PIN_THREADS; i++) {
    pthread_join(th[i], NULL);
    recorded += t[i].ok;
  }
  assert_int_equal(recorded, PIN_THREADS * PIN_TRIES);
  store_pin_counter_t c;
  assert_int_equal(store_job_pin_get(st, a, j, &c), STORE_OK);
  assert_int_equal(c.failures, PIN_THREADS * PIN_TRIES);
}

int main(void) {
  log_set_level(LOG_ERROR);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pin_next),
      cmocka_unit_test_setup_teardown(test_pin_record, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_pin_record_concurrent, setup_direct, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
