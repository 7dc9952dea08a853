/*
 * test-job.c: unit tests of the job lifecycle (job.h): the transition
 * table for every state and event, terminal states, state names, the IPP
 * job-state and job-state-reasons mapping, and job_apply() against a real
 * SQLite store (store_open in a private mkdtemp directory): transitions,
 * refused events, not-found (also across tenants), and compare-and-set
 * under concurrent events on one job.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "job.h"
#include "log.h"

#define R NIMBUS_JOB_RECEIVED
#define H NIMBUS_JOB_HELD
#define P NIMBUS_JOB_AWAITING_PAYMENT
#define F NIMBUS_JOB_FETCHABLE
#define X NIMBUS_JOB_PROCESSING
#define DONE NIMBUS_JOB_COMPLETED
#define CANC NIMBUS_JOB_CANCELED
#define ABRT NIMBUS_JOB_ABORTED
#define EXP NIMBUS_JOB_EXPIRED
#define NO 0 /* event not allowed */

static const nimbus_job_state_t all_states[] = {R, H, P, F, X, DONE, CANC, ABRT, EXP};
#define NSTATES (sizeof all_states / sizeof all_states[0])
static const job_event_t all_events[] = {JOB_EVENT_CLOSE, JOB_EVENT_RELEASE, JOB_EVENT_HOLD,
                                         JOB_EVENT_CANCEL, JOB_EVENT_EXPIRE};
#define NEVENTS (sizeof all_events / sizeof all_events[0])

/*
 * The whole table, from the diagram in job.c: rows are states, columns
 * close, release, hold, cancel, expire.  Processing ends by the device
 * (completed/aborted), not by an event here.
 */
static const int next_table[NSTATES][NEVENTS] = {
    /* state         close release hold cancel expire */
    /* received   */ {H, NO, NO, CANC, EXP},
    /* held       */ {NO, F, NO, CANC, EXP},
    /* awaiting   */ {NO, NO, NO, CANC, NO},
    /* fetchable  */ {NO, NO, H, CANC, NO},
    /* processing */ {NO, NO, NO, CANC, NO},
    /* completed  */ {NO, NO, NO, NO, NO},
    /* canceled   */ {NO, NO, NO, NO, NO},
    /* aborted    */ {NO, NO, NO, NO, NO},
    /* expired    */ {NO, NO, NO, NO, NO},
};

/* ---- the pure functions ---- */

static void test_next_state_table(void **state) {
  (void)state;
  for (size_t s = 0; s < NSTATES; s++) {
    for (size_t e = 0; e < NEVENTS; e++) {
      nimbus_job_state_t to = (nimbus_job_state_t)1234;
      bool ok = job_next_state(all_states[s], all_events[e], &to);
      int want = next_table[s][e];
      if (ok != (want != NO) || (ok && (int)to != want))
        fail_msg("%s + event %d: got %s %s, want %s", job_state_name(all_states[s]),
                 (int)all_events[e], ok ? "->" : "refused", ok ? job_state_name(to) : "",
                 want ? job_state_name((nimbus_job_state_t)want) : "refused");
      if (!ok) assert_int_equal(to, 1234); /* untouched when refused */
    }
  }
}

static void test_terminal_states(void **state) {
  (void)state;
  for (size_t s = 0; s < NSTATES; s++) {
    nimbus_job_state_t st = all_states[s];
    bool terminal = st == DONE || st == CANC || st == ABRT || st == EXP;
    assert_int_equal(job_state_is_terminal(st), terminal);
    /* no event leaves a terminal state; every other state can be canceled */
    nimbus_job_state_t to;
    assert_int_equal(job_next_state(st, JOB_EVENT_CANCEL, &to), !terminal);
  }
}

static void test_state_names_round_trip(void **state) {
  (void)state;
  static const char *const names[] = {"received",  "held",       "awaiting-payment",
                                      "fetchable", "processing", "completed",
                                      "canceled",  "aborted",    "expired"};
  for (size_t s = 0; s < NSTATES; s++) {
    assert_string_equal(job_state_name(all_states[s]), names[s]);
    nimbus_job_state_t back = (nimbus_job_state_t)0;
    assert_true(job_state_parse(names[s], &back));
    assert_int_equal(back, all_states[s]);
  }
  assert_string_equal(job_state_name((nimbus_job_state_t)0), "unknown");
  assert_string_equal(job_state_name((nimbus_job_state_t)10), "unknown");
  assert_string_equal(job_state_name((nimbus_job_state_t)-1), "unknown");
  nimbus_job_state_t out = H;
  const char *bad[] = {"", "unknown", "Held", "held ", "cancelled", "pending"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_false(job_state_parse(bad[i], &out));
    assert_int_equal(out, H);
  }
}

static void test_ipp_state_mapping(void **state) {
  (void)state;
  /* RFC 8011 job-state: 3 pending, 4 pending-held, 5 processing,
   * 7 canceled, 8 aborted, 9 completed. */
  static const int want[NSTATES] = {4, 4, 4, 3, 5, 9, 7, 8, 7};
  for (size_t s = 0; s < NSTATES; s++) assert_int_equal(job_ipp_state(all_states[s]), want[s]);
}

static int reasons(nimbus_job_state_t s, bool pin, const char **out, int max) {
  nimbus_job_t job;
  memset(&job, 0, sizeof job);
  job.state = s;
  if (pin) snprintf(job.pin_hash, sizeof job.pin_hash, "$argon2id$v=19$fake");
  return job_ipp_state_reasons(&job, out, max);
}

/* Expect exactly the given reasons (NULL-terminated list). */
static void expect_reasons(nimbus_job_state_t s, bool pin, const char *const *want) {
  const char *got[8];
  int n = reasons(s, pin, got, 8);
  int k = 0;
  for (; want[k]; k++) {
    if (k >= n) fail_msg("%s: reason %d missing (%s)", job_state_name(s), k, want[k]);
    assert_string_equal(got[k], want[k]);
  }
  assert_int_equal(n, k);
}

#define REASONS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_ipp_state_reasons(void **state) {
  (void)state;
  expect_reasons(R, false, REASONS("job-incoming", "job-hold-until-specified"));
  expect_reasons(H, false, REASONS("job-hold-until-specified"));
  expect_reasons(P, false, REASONS("job-hold-until-specified"));
  expect_reasons(F, false, REASONS("job-fetchable"));
  expect_reasons(X, false, REASONS("job-printing"));
  expect_reasons(DONE, false, REASONS("job-completed-successfully"));
  expect_reasons(CANC, false, REASONS("job-canceled-by-user"));
  expect_reasons(ABRT, false, REASONS("aborted-by-system"));
  expect_reasons(EXP, false, REASONS("job-canceled-by-operator"));

  /* A job with a PIN waits for it (PWG 5100.11) until it is released. */
  expect_reasons(R, true, REASONS("job-incoming", "job-hold-until-specified", "job-password-wait"));
  expect_reasons(H, true, REASONS("job-hold-until-specified", "job-password-wait"));
  expect_reasons(P, true, REASONS("job-hold-until-specified", "job-password-wait"));
  expect_reasons(F, true, REASONS("job-fetchable"));
  expect_reasons(X, true, REASONS("job-printing"));
  expect_reasons(DONE, true, REASONS("job-completed-successfully"));
  expect_reasons(CANC, true, REASONS("job-canceled-by-user"));
}

static void test_ipp_state_reasons_bounded(void **state) {
  (void)state;
  const char *out[4] = {"sentinel", "sentinel", "sentinel", "sentinel"};
  assert_int_equal(reasons(R, true, out, 0), 0);
  assert_string_equal(out[0], "sentinel");
  assert_int_equal(reasons(R, true, out, 1), 1);
  assert_string_equal(out[0], "job-incoming");
  assert_string_equal(out[1], "sentinel");
  assert_int_equal(reasons(R, true, out, 2), 2);
  assert_string_equal(out[2], "sentinel");
}

static void test_state_when_closed(void **state) {
  (void)state;
  nimbus_queue_t q;
  memset(&q, 0, sizeof q);
  assert_int_equal(job_state_when_closed(&q), H);
  q.release_immediately = true;
  assert_int_equal(job_state_when_closed(&q), F);
}

/* ---- job_apply against a real store ---- */

typedef struct {
  char dir[64];
  store_t *st;
  nimbus_id_t tenant, other_tenant, queue, user;
} fixture_t;

static int setup(void **state) {
  fixture_t *fx = calloc(1, sizeof *fx);
  if (!fx) return -1;
  *state = fx;
  snprintf(fx->dir, sizeof fx->dir, "/tmp/nimbus-test-job-XXXXXX");
  if (!mkdtemp(fx->dir)) return -1;
  char path[128], err[256] = "";
  snprintf(path, sizeof path, "%s/nimbus.db", fx->dir);
  store_options_t opts = {.group_commit_max = 8};
  fx->st = store_open(path, &opts, err, sizeof err);
  if (!fx->st) {
    fprintf(stderr, "store_open: %s\n", err);
    return -1;
  }
  nimbus_tenant_t t = {0}, o = {0};
  snprintf(t.name, sizeof t.name, "acme");
  snprintf(o.name, sizeof o.name, "globex");
  nimbus_queue_t q = {0};
  nimbus_user_t u = {0};
  snprintf(q.name, sizeof q.name, "office");
  snprintf(u.name, sizeof u.name, "alice");
  snprintf(u.password_hash, sizeof u.password_hash, "$argon2id$fake");
  if (store_tenant_insert(fx->st, &t) != STORE_OK || store_tenant_insert(fx->st, &o) != STORE_OK)
    return -1;
  q.tenant_id = u.tenant_id = t.id;
  if (store_queue_insert(fx->st, &q) != STORE_OK || store_user_insert(fx->st, &u) != STORE_OK)
    return -1;
  fx->tenant = t.id;
  fx->other_tenant = o.id;
  fx->queue = q.id;
  fx->user = u.id;
  return 0;
}

static int teardown(void **state) {
  fixture_t *fx = *state;
  if (!fx) return 0;
  if (fx->st) store_close(fx->st);
  DIR *d = opendir(fx->dir);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      if (e->d_name[0] == '.') continue;
      char p[512];
      snprintf(p, sizeof p, "%s/%s", fx->dir, e->d_name);
      unlink(p);
    }
    closedir(d);
  }
  rmdir(fx->dir);
  free(fx);
  return 0;
}

static nimbus_id_t make_job(fixture_t *fx, nimbus_job_state_t s) {
  nimbus_job_t j;
  memset(&j, 0, sizeof j);
  j.tenant_id = fx->tenant;
  j.queue_id = fx->queue;
  j.owner_id = fx->user;
  j.state = s;
  j.copies = 1;
  snprintf(j.owner_name, sizeof j.owner_name, "alice");
  snprintf(j.name, sizeof j.name, "report");
  assert_int_equal(store_job_insert(fx->st, &j, NULL, 0), STORE_OK);
  assert_true(j.id > 0);
  return j.id;
}

static nimbus_job_state_t state_of(fixture_t *fx, nimbus_id_t id) {
  nimbus_job_t j;
  assert_int_equal(store_job_get(fx->st, fx->tenant, id, &j), STORE_OK);
  return j.state;
}

/* Every allowed transition of the table, applied through the store. */
static void test_apply_follows_the_table(void **state) {
  fixture_t *fx = *state;
  for (size_t s = 0; s < NSTATES; s++) {
    for (size_t e = 0; e < NEVENTS; e++) {
      nimbus_id_t id = make_job(fx, all_states[s]);
      nimbus_job_t after;
      memset(&after, 0, sizeof after);
      job_result_t r = job_apply(fx->st, fx->tenant, id, all_events[e], "tester", &after);
      int want = next_table[s][e];
      if (want == NO) {
        assert_int_equal(r, JOB_NOT_POSSIBLE);
        assert_int_equal(state_of(fx, id), all_states[s]);
      } else {
        assert_int_equal(r, JOB_OK);
        assert_int_equal(after.id, id);
        assert_int_equal(after.state, want);
        assert_int_equal(state_of(fx, id), want);
        assert_int_equal(after.completed_at != 0, job_state_is_terminal(after.state));
      }
    }
  }
}

static void test_apply_sequence(void **state) {
  fixture_t *fx = *state;
  nimbus_id_t id = make_job(fx, R);
  nimbus_job_t j;
  assert_int_equal(job_apply(fx->st, fx->tenant, id, JOB_EVENT_CLOSE, "alice", &j), JOB_OK);
  assert_int_equal(j.state, H);
  assert_int_equal(job_apply(fx->st, fx->tenant, id, JOB_EVENT_CLOSE, "alice", &j),
                   JOB_NOT_POSSIBLE);
  assert_int_equal(job_apply(fx->st, fx->tenant, id, JOB_EVENT_RELEASE, "alice", NULL), JOB_OK);
  assert_int_equal(state_of(fx, id), F);
  assert_int_equal(job_apply(fx->st, fx->tenant, id, JOB_EVENT_RELEASE, "alice", NULL),
                   JOB_NOT_POSSIBLE);
  assert_int_equal(job_apply(fx->st, fx->tenant, id, JOB_EVENT_HOLD, "alice", &j), JOB_OK);
  assert_int_equal(j.state, H);
  assert_int_equal(job_apply(fx->st, fx->tenant, id, JOB_EVENT_CANCEL, "alice", &j), JOB_OK);
  assert_int_equal(j.state, CANC);
  assert_true(j.completed_at > 0);
  for (size_t e = 0; e < NEVENTS; e++)
    assert_int_equal(job_apply(fx->st, fx->tenant, id, all_events[e], "alice", NULL),
                     JOB_NOT_POSSIBLE);
  assert_int_equal(state_of(fx, id), CANC);
}

static void test_apply_not_found(void **state) {
  fixture_t *fx = *state;
  nimbus_id_t id = make_job(fx, H);
  nimbus_job_t j;
  memset(&j, 0x33, sizeof j);
  assert_int_equal(job_apply(fx->st, fx->tenant, id + 1000, JOB_EVENT_RELEASE, "x", &j),
                   JOB_NOT_FOUND);
  assert_int_equal(job_apply(fx->st, fx->tenant, 0, JOB_EVENT_CANCEL, "x", NULL), JOB_NOT_FOUND);
  assert_int_equal(job_apply(fx->st, fx->tenant, -1, JOB_EVENT_CANCEL, "x", NULL), JOB_NOT_FOUND);
  /* Another tenant's job is not found, and stays as it was. */
  assert_int_equal(job_apply(fx->st, fx->other_tenant, id, JOB_EVENT_CANCEL, "x", NULL),
                   JOB_NOT_FOUND);
  assert_int_equal(job_apply(fx->st, fx->tenant + 1000, id, JOB_EVENT_RELEASE, "x", NULL),
                   JOB_NOT_FOUND);
  assert_int_equal(state_of(fx, id), H);
}

/* The store's compare-and-set: a transition from a state the job is not
 * in is a conflict and changes nothing; job_apply judges an event against
 * the state the job has now. */
static void test_compare_and_set(void **state) {
  fixture_t *fx = *state;
  nimbus_id_t id = make_job(fx, H);
  assert_int_equal(store_job_set_state(fx->st, fx->tenant, id, F, CANC, "job-canceled", "x"),
                   STORE_CONFLICT);
  assert_int_equal(state_of(fx, id), H);
  /* Someone else released it meanwhile: a release is now refused, a hold
   * is judged against fetchable and applies. */
  assert_int_equal(store_job_set_state(fx->st, fx->tenant, id, H, F, "job-released", "other"),
                   STORE_OK);
  assert_int_equal(job_apply(fx->st, fx->tenant, id, JOB_EVENT_RELEASE, "me", NULL),
                   JOB_NOT_POSSIBLE);
  assert_int_equal(job_apply(fx->st, fx->tenant, id, JOB_EVENT_HOLD, "me", NULL), JOB_OK);
  assert_int_equal(state_of(fx, id), H);
}

/* ---- concurrent events on one job ---- */

#define RACERS 8
#define RACE_JOBS 20

typedef struct {
  fixture_t *fx;
  nimbus_id_t job;
  job_event_t ev;
  pthread_barrier_t *go;
  job_result_t result;
} racer_t;

static void *racer(void *arg) {
  racer_t *r = arg;
  pthread_barrier_wait(r->go);
  r->result = job_apply(r->fx->st, r->fx->tenant, r->job, r->ev, "racer", NULL);
  return NULL;
}

/* Run RACERS threads applying evs[i % nevs] to one job at once. */
static void race(fixture_t *fx, nimbus_id_t job, const job_event_t *evs, int nevs,
                 job_result_t results[RACERS]) {
  pthread_barrier_t go;
  racer_t r[RACERS];
  pthread_t th[RACERS];
  assert_int_equal(pthread_barrier_init(&go, NULL, RACERS), 0);
  for (int i = 0; i < RACERS; i++) {
    r[i] = (racer_t){.fx = fx, .job = job, .ev = evs[i % nevs], .go = &go, .result = JOB_ERROR};
    assert_int_equal(pthread_create(&th[i], NULL, racer, &r[i]), 0);
  }
  for (int i = 0; i < RACERS; i++) {
    pthread_join(th[i], NULL);
    results[i] = r[i].result;
  }
  pthread_barrier_destroy(&go);
}

/* Many releases of one held job: exactly one applies. */
static void test_concurrent_same_event_applies_once(void **state) {
  fixture_t *fx = *state;
  static const job_event_t release[] = {JOB_EVENT_RELEASE};
  static const job_event_t cancel[] = {JOB_EVENT_CANCEL};
  for (int k = 0; k < RACE_JOBS; k++) {
    nimbus_id_t id = make_job(fx, H);
    job_result_t res[RACERS];
    bool is_release = k % 2 == 0;
    race(fx, id, is_release ? release : cancel, 1, res);
    int ok = 0;
    for (int i = 0; i < RACERS; i++) {
      if (res[i] == JOB_OK)
        ok++;
      else
        assert_int_equal(res[i], JOB_NOT_POSSIBLE);
    }
    assert_int_equal(ok, 1);
    assert_int_equal(state_of(fx, id), is_release ? F : CANC);
  }
}

/* Release and cancel racing: a cancel always wins in the end, and a
 * release succeeds at most once, only if it came before the cancel. */
static void test_concurrent_release_and_cancel(void **state) {
  fixture_t *fx = *state;
  static const job_event_t mix[] = {JOB_EVENT_RELEASE, JOB_EVENT_CANCEL};
  for (int k = 0; k < RACE_JOBS; k++) {
    nimbus_id_t id = make_job(fx, H);
    job_result_t res[RACERS];
    race(fx, id, mix, 2, res);
    int released = 0, canceled = 0;
    for (int i = 0; i < RACERS; i++) {
      assert_true(res[i] == JOB_OK || res[i] == JOB_NOT_POSSIBLE);
      if (res[i] != JOB_OK) continue;
      if (i % 2 == 0)
        released++;
      else
        canceled++;
    }
    assert_true(released <= 1);
    assert_int_equal(canceled, 1);
    assert_int_equal(state_of(fx, id), CANC);
  }
}

int main(void) {
  log_set_level(LOG_ERROR);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_next_state_table),
      cmocka_unit_test(test_terminal_states),
      cmocka_unit_test(test_state_names_round_trip),
      cmocka_unit_test(test_ipp_state_mapping),
      cmocka_unit_test(test_ipp_state_reasons),
      cmocka_unit_test(test_ipp_state_reasons_bounded),
      cmocka_unit_test(test_state_when_closed),
      cmocka_unit_test_setup_teardown(test_apply_follows_the_table, setup, teardown),
      cmocka_unit_test_setup_teardown(test_apply_sequence, setup, teardown),
      cmocka_unit_test_setup_teardown(test_apply_not_found, setup, teardown),
      cmocka_unit_test_setup_teardown(test_compare_and_set, setup, teardown),
      cmocka_unit_test_setup_teardown(test_concurrent_same_event_applies_once, setup, teardown),
      cmocka_unit_test_setup_teardown(test_concurrent_release_and_cancel, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
