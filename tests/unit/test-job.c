/*
 * test-job.c: unit tests of the job lifecycle (job.h): the transition
 * table for every state and event, terminal states, state names, the IPP
 * job-state and job-state-reasons mapping, and job_apply() against a real
 * SQLite store (store_open in a private mkdtemp directory): transitions,
 * refused events, not-found (also across tenants), and compare-and-set
 * under concurrent events on one job; the device side (job_apply_device:
 * fetch assigns the device, only the holder reports the end, reoffer
 * clears it, racing fetches), job_release (queue, target and release in
 * one transition), job_change, and the job observer.
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
static const job_event_t all_events[] = {
    JOB_EVENT_CLOSE,          JOB_EVENT_RELEASE,          JOB_EVENT_HOLD,
    JOB_EVENT_CANCEL,         JOB_EVENT_EXPIRE,           JOB_EVENT_PAY_START,
    JOB_EVENT_PAID,           JOB_EVENT_PAY_RETURN,       JOB_EVENT_FETCH,
    JOB_EVENT_REOFFER,        JOB_EVENT_DEVICE_COMPLETED, JOB_EVENT_DEVICE_ABORTED,
    JOB_EVENT_DEVICE_CANCELED};
#define NEVENTS (sizeof all_events / sizeof all_events[0])

/* The events that carry a device (job_apply_device); the others go
 * through job_apply. */
static bool is_device_event(job_event_t ev) {
  return ev == JOB_EVENT_FETCH || ev == JOB_EVENT_REOFFER || ev == JOB_EVENT_DEVICE_COMPLETED ||
         ev == JOB_EVENT_DEVICE_ABORTED || ev == JOB_EVENT_DEVICE_CANCELED;
}

/*
 * The whole table, from the diagram in job.c: rows are states, columns
 * close, release, hold, cancel, expire, the payment events pay-start,
 * paid, pay-return, then the device events fetch, reoffer,
 * device-completed, device-aborted, device-canceled.  Processing ends by
 * the device (or a user's cancel); a job awaiting payment neither expires
 * nor is released except by its payment.
 */
static const int next_table[NSTATES][NEVENTS] = {
    /* state      close release hold cancel expire p-start paid p-ret fetch reoffer d-done d-abrt
       d-canc */
    /* received   */ {H, NO, NO, CANC, EXP, NO, NO, NO, NO, NO, NO, NO, NO},
    /* held       */ {NO, F, NO, CANC, EXP, P, NO, NO, NO, NO, NO, NO, NO},
    /* awaiting   */ {NO, NO, NO, CANC, NO, NO, F, H, NO, NO, NO, NO, NO},
    /* fetchable  */ {NO, NO, H, CANC, NO, NO, NO, NO, X, NO, NO, NO, NO},
    /* processing */ {NO, NO, NO, CANC, NO, NO, NO, NO, NO, F, DONE, ABRT, CANC},
    /* completed  */ {NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO},
    /* canceled   */ {NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO},
    /* aborted    */ {NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO},
    /* expired    */ {NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO},
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
  assert_int_equal(job_state_when_closed(&q, NULL), H);
  assert_int_equal(job_state_when_closed(&q, "no-hold"), H);
  q.release_immediately = true;
  assert_int_equal(job_state_when_closed(&q, NULL), F);
  assert_int_equal(job_state_when_closed(&q, ""), F);
  assert_int_equal(job_state_when_closed(&q, "no-hold"), F);
  /* a job that asks to be held is held on any queue */
  assert_int_equal(job_state_when_closed(&q, "indefinite"), H);
  assert_int_equal(job_state_when_closed(&q, "night"), H);
  /* through a printer: a user's job follows the queue; a job for a name
   * that is no user (no owner) stays held */
  nimbus_job_t j;
  memset(&j, 0, sizeof j);
  j.origin_device_id = 3;
  j.owner_id = 5;
  assert_int_equal(job_state_when_closed_for(&q, &j), F);
  snprintf(j.hold_until, sizeof j.hold_until, "indefinite");
  assert_int_equal(job_state_when_closed_for(&q, &j), H);
  j.hold_until[0] = '\0';
  j.owner_id = 0;
  assert_int_equal(job_state_when_closed_for(&q, &j), H);
  j.origin_device_id = 0; /* anonymous queue, straight to nimbusd */
  assert_int_equal(job_state_when_closed_for(&q, &j), F);
}

/* ---- job_apply against a real store ---- */

#define NDEVICES 8

typedef struct {
  char dir[64];
  store_t *st;
  nimbus_id_t tenant, other_tenant, queue, user;
  nimbus_id_t dev[NDEVICES]; /* output devices of tenant serving queue */
  nimbus_id_t other_dev;     /* a device of other_tenant */
} fixture_t;

/* An output device of `tenant` named `name` serving `queue` (0: none). */
static nimbus_id_t insert_device(store_t *st, nimbus_id_t tenant, nimbus_id_t queue,
                                 const char *name) {
  nimbus_device_t d;
  memset(&d, 0, sizeof d);
  d.tenant_id = tenant;
  snprintf(d.name, sizeof d.name, "%s", name);
  if (queue) d.queue_ids[d.nqueues++] = queue;
  /* claim hashes are unique: derive one from the name */
  unsigned h = 2166136261u;
  for (const char *c = name; *c; c++) h = (h ^ (unsigned char)*c) * 16777619u;
  for (int i = 0; i < 32; i++)
    d.claim_hash[i] = (unsigned char)(h >> (i % 4 * 8)) ^ (unsigned char)i;
  d.claim_expires_at = 4102444800; /* 2100 */
  if (store_device_insert(st, &d) != STORE_OK) return 0;
  return d.id;
}

static int teardown(void **state);

static int setup_fixture(void **state) {
  fixture_t *fx = calloc(1, sizeof *fx);
  if (!fx) return -1;
  *state = fx;
  snprintf(fx->dir, sizeof fx->dir, "/tmp/nimbus-test-job-XXXXXX");
  if (!mkdtemp(fx->dir)) return -1;
  char path[128], err[256] = "";
  snprintf(path, sizeof path, "%s/nimbus.db", fx->dir);
  store_options_t opts = {.group_commit_max = 8, .readers = 2};
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
  for (int i = 0; i < NDEVICES; i++) {
    char name[32];
    snprintf(name, sizeof name, "printer-%d", i);
    if ((fx->dev[i] = insert_device(fx->st, t.id, q.id, name)) == 0) return -1;
  }
  if ((fx->other_dev = insert_device(fx->st, o.id, 0, "elsewhere")) == 0) return -1;
  return 0;
}

/* cmocka does not run the teardown when the setup fails. */
static int setup(void **state) {
  if (setup_fixture(state) == 0) return 0;
  teardown(state);
  *state = NULL;
  return -1;
}

static int teardown(void **state) {
  job_set_observer(NULL, NULL); /* the tests' observers point into their frames */
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

static nimbus_job_t get_job(fixture_t *fx, nimbus_id_t id) {
  nimbus_job_t j;
  assert_int_equal(store_job_get(fx->st, fx->tenant, id, &j), STORE_OK);
  return j;
}

static nimbus_job_state_t state_of(fixture_t *fx, nimbus_id_t id) {
  return get_job(fx, id).state;
}

static nimbus_id_t device_of(fixture_t *fx, nimbus_id_t id) {
  return get_job(fx, id).device_id;
}

/* A job in processing the way it gets there: inserted held, released,
 * fetched by `device`. */
static nimbus_id_t make_processing_job(fixture_t *fx, nimbus_id_t device) {
  nimbus_id_t id = make_job(fx, H);
  assert_int_equal(job_apply(fx->st, fx->tenant, id, JOB_EVENT_RELEASE, "alice", NULL), JOB_OK);
  assert_int_equal(job_apply_device(fx->st, fx->tenant, id, JOB_EVENT_FETCH, device, "dev", NULL),
                   JOB_OK);
  assert_int_equal(state_of(fx, id), X);
  assert_int_equal(device_of(fx, id), device);
  return id;
}

/* A job in state s; one in processing is held by fx->dev[0]. */
static nimbus_id_t make_job_in(fixture_t *fx, nimbus_job_state_t s) {
  return s == X ? make_processing_job(fx, fx->dev[0]) : make_job(fx, s);
}

/* Assert that nothing of job id changed from `before`. */
static void assert_job_unchanged(fixture_t *fx, nimbus_id_t id, const nimbus_job_t *before) {
  nimbus_job_t now = get_job(fx, id);
  assert_int_equal(now.state, before->state);
  assert_int_equal(now.device_id, before->device_id);
  assert_int_equal(now.completed_at, before->completed_at);
  assert_int_equal(now.state_changed_at, before->state_changed_at);
}

/*
 * Every cell of the table, applied through the store: job_apply for the
 * user events, job_apply_device (by the device holding the job) for the
 * device events; each function refuses the other's events and changes
 * nothing then.
 */
static void test_apply_follows_the_table(void **state) {
  fixture_t *fx = *state;
  nimbus_id_t dev = fx->dev[0];
  for (size_t s = 0; s < NSTATES; s++) {
    for (size_t e = 0; e < NEVENTS; e++) {
      job_event_t ev = all_events[e];
      bool device_side = is_device_event(ev);
      nimbus_id_t id = make_job_in(fx, all_states[s]);
      nimbus_job_t before = get_job(fx, id);

      /* The wrong function refuses the event whatever the state. */
      job_result_t r = device_side ? job_apply(fx->st, fx->tenant, id, ev, "tester", NULL)
                                   : job_apply_device(fx->st, fx->tenant, id, ev, dev, "t", NULL);
      if (r != JOB_NOT_POSSIBLE)
        fail_msg("%s + event %d through the wrong function: %d", job_state_name(all_states[s]),
                 (int)ev, (int)r);
      assert_job_unchanged(fx, id, &before);

      nimbus_job_t after;
      memset(&after, 0, sizeof after);
      r = device_side ? job_apply_device(fx->st, fx->tenant, id, ev, dev, "tester", &after)
                      : job_apply(fx->st, fx->tenant, id, ev, "tester", &after);
      int want = next_table[s][e];
      if (want == NO) {
        if (r != JOB_NOT_POSSIBLE)
          fail_msg("%s + event %d: got %d, want refused", job_state_name(all_states[s]), (int)ev,
                   (int)r);
        assert_job_unchanged(fx, id, &before);
      } else {
        if (r != JOB_OK)
          fail_msg("%s + event %d: got %d, want -> %s", job_state_name(all_states[s]), (int)ev,
                   (int)r, job_state_name((nimbus_job_state_t)want));
        assert_int_equal(after.id, id);
        assert_int_equal(after.state, want);
        assert_int_equal(state_of(fx, id), want);
        assert_int_equal(after.completed_at != 0, job_state_is_terminal(after.state));
        /* fetch assigns the device, reoffer clears it, the rest keep it
         * (a finished job remembers which device printed it). */
        nimbus_id_t want_dev = ev == JOB_EVENT_FETCH     ? dev
                               : ev == JOB_EVENT_REOFFER ? 0
                                                         : before.device_id;
        assert_int_equal(after.device_id, want_dev);
        assert_int_equal(device_of(fx, id), want_dev);
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
  store_job_change_t c = {
      .job_id = id, .expected = F, .next = CANC, .event = "job-canceled", .detail = "x"};
  assert_int_equal(store_job_apply(fx->st, fx->tenant, &c, 1), STORE_CONFLICT);
  assert_int_equal(state_of(fx, id), H);
  /* Someone else released it meanwhile: a release is now refused, a hold
   * is judged against fetchable and applies. */
  c = (store_job_change_t){
      .job_id = id, .expected = H, .next = F, .event = "job-released", .detail = "other"};
  assert_int_equal(store_job_apply(fx->st, fx->tenant, &c, 1), STORE_OK);
  assert_int_equal(job_apply(fx->st, fx->tenant, id, JOB_EVENT_RELEASE, "me", NULL),
                   JOB_NOT_POSSIBLE);
  assert_int_equal(job_apply(fx->st, fx->tenant, id, JOB_EVENT_HOLD, "me", NULL), JOB_OK);
  assert_int_equal(state_of(fx, id), H);
}

/* job_release is one transition: queue, target and held -> fetchable land
 * together, or (not held, a device or queue of another tenant) none of
 * them does. */
static void test_release_is_one_transition(void **state) {
  fixture_t *fx = *state;
  nimbus_queue_t q2 = {0};
  q2.tenant_id = fx->tenant;
  snprintf(q2.name, sizeof q2.name, "lobby");
  assert_int_equal(store_queue_insert(fx->st, &q2), STORE_OK);
  nimbus_id_t id = make_job(fx, H);

  /* A target of another tenant: refused, the queue did not move either. */
  nimbus_job_t before = get_job(fx, id);
  assert_int_equal(job_release(fx->st, fx->tenant, id, q2.id, fx->other_dev, "alice", NULL),
                   JOB_NOT_FOUND);
  nimbus_job_t j = get_job(fx, id);
  assert_job_unchanged(fx, id, &before);
  assert_int_equal(j.queue_id, fx->queue);
  assert_int_equal(j.target_device_id, 0);

  /* Released at printer 2, moved to the lobby queue, for printer 2 alone. */
  assert_int_equal(job_release(fx->st, fx->tenant, id, q2.id, fx->dev[2], "alice", &j), JOB_OK);
  assert_int_equal(j.state, F);
  assert_int_equal(j.queue_id, q2.id);
  assert_int_equal(j.target_device_id, fx->dev[2]);

  /* Not held any more: refused, nothing changes (the target stays). */
  before = get_job(fx, id);
  assert_int_equal(job_release(fx->st, fx->tenant, id, fx->queue, fx->dev[3], "bob", NULL),
                   JOB_NOT_POSSIBLE);
  assert_job_unchanged(fx, id, &before);
  j = get_job(fx, id);
  assert_int_equal(j.queue_id, q2.id);
  assert_int_equal(j.target_device_id, fx->dev[2]);

  /* queue 0 keeps the queue; another tenant's job is not found. */
  nimbus_id_t id2 = make_job(fx, H);
  assert_int_equal(job_release(fx->st, fx->tenant, id2, 0, 0, "alice", &j), JOB_OK);
  assert_int_equal(j.queue_id, fx->queue);
  assert_int_equal(j.target_device_id, 0);
  assert_int_equal(job_release(fx->st, fx->other_tenant, id2, 0, 0, "x", NULL), JOB_NOT_FOUND);
}

/* job_change builds what job_apply*() would apply, and refuses what the
 * table refuses. */
static void test_change_follows_the_table(void **state) {
  (void)state;
  nimbus_job_t j;
  memset(&j, 0, sizeof j);
  j.id = 7;
  j.state = X;
  j.device_id = 3;
  store_job_change_t c;
  assert_true(job_change(&j, JOB_EVENT_REOFFER, 3, "why", &c));
  assert_int_equal(c.job_id, 7);
  assert_int_equal(c.expected, X);
  assert_int_equal(c.next, F);
  assert_int_equal(c.expect_device, 3);
  assert_int_equal(c.set, STORE_JOB_SET_DEVICE);
  assert_int_equal(c.device_id, 0);
  assert_string_equal(c.event, "job-reoffered");
  assert_string_equal(c.detail, "why");
  assert_false(job_change(&j, JOB_EVENT_REOFFER, 4, "why", &c)); /* not its device */
  assert_false(job_change(&j, JOB_EVENT_RELEASE, 0, "why", &c));
  j.state = F;
  j.device_id = 0;
  assert_true(job_change(&j, JOB_EVENT_HOLD, 0, NULL, &c));
  assert_int_equal(c.next, H);
  assert_int_equal(c.set, 0);
  assert_string_equal(c.event, "job-held");
  assert_true(job_change(&j, JOB_EVENT_FETCH, 5, NULL, &c));
  assert_int_equal(c.expect_device, 0);
  assert_int_equal(c.device_id, 5);
}

/* ---- the device side ---- */

/* Fetch assigns the job to the device; once it is processing, no device
 * (another or the same) can fetch it again. */
static void test_device_fetch_assigns(void **state) {
  fixture_t *fx = *state;
  nimbus_id_t a = fx->dev[0], b = fx->dev[1];
  nimbus_id_t id = make_job(fx, H);
  /* Held: not fetchable yet. */
  assert_int_equal(job_apply_device(fx->st, fx->tenant, id, JOB_EVENT_FETCH, a, "a", NULL),
                   JOB_NOT_POSSIBLE);
  assert_int_equal(device_of(fx, id), 0);
  assert_int_equal(job_apply(fx->st, fx->tenant, id, JOB_EVENT_RELEASE, "alice", NULL), JOB_OK);
  assert_int_equal(device_of(fx, id), 0);

  nimbus_job_t j;
  memset(&j, 0, sizeof j);
  assert_int_equal(job_apply_device(fx->st, fx->tenant, id, JOB_EVENT_FETCH, a, "a", &j), JOB_OK);
  assert_int_equal(j.id, id);
  assert_int_equal(j.state, X);
  assert_int_equal(j.device_id, a);
  assert_int_equal(j.completed_at, 0);
  nimbus_job_t before = get_job(fx, id);
  assert_int_equal(before.device_id, a);

  assert_int_equal(job_apply_device(fx->st, fx->tenant, id, JOB_EVENT_FETCH, b, "b", &j),
                   JOB_NOT_POSSIBLE);
  assert_job_unchanged(fx, id, &before);
  assert_int_equal(job_apply_device(fx->st, fx->tenant, id, JOB_EVENT_FETCH, a, "a", NULL),
                   JOB_NOT_POSSIBLE);
  assert_job_unchanged(fx, id, &before);
}

/* Only the device holding a job reports its end; another device's report
 * is refused and changes nothing. */
static void test_device_end_only_by_holder(void **state) {
  fixture_t *fx = *state;
  nimbus_id_t a = fx->dev[0], b = fx->dev[1];
  static const job_event_t ends[] = {JOB_EVENT_DEVICE_COMPLETED, JOB_EVENT_DEVICE_ABORTED,
                                     JOB_EVENT_DEVICE_CANCELED};
  static const nimbus_job_state_t end_states[] = {DONE, ABRT, CANC};
  for (size_t k = 0; k < 3; k++) {
    nimbus_id_t id = make_processing_job(fx, a);
    nimbus_job_t before = get_job(fx, id);
    for (size_t e = 0; e < 3; e++) {
      nimbus_job_t j;
      memset(&j, 0x5a, sizeof j);
      assert_int_equal(job_apply_device(fx->st, fx->tenant, id, ends[e], b, "b", &j),
                       JOB_NOT_POSSIBLE);
      assert_job_unchanged(fx, id, &before);
    }
    nimbus_job_t j;
    assert_int_equal(job_apply_device(fx->st, fx->tenant, id, ends[k], a, "a", &j), JOB_OK);
    assert_int_equal(j.state, end_states[k]);
    assert_int_equal(j.device_id, a);
    assert_true(j.completed_at > 0);
    /* Terminal: nothing more, not even from the holder. */
    for (size_t e = 0; e < NEVENTS; e++) {
      if (!is_device_event(all_events[e])) continue;
      assert_int_equal(job_apply_device(fx->st, fx->tenant, id, all_events[e], a, "a", NULL),
                       JOB_NOT_POSSIBLE);
    }
    assert_int_equal(state_of(fx, id), end_states[k]);
  }
}

/* Reoffer: from the named device only, or (device 0) from whichever holds
 * the job; the job is fetchable again with no device, and another device
 * may fetch it. */
static void test_device_reoffer(void **state) {
  fixture_t *fx = *state;
  nimbus_id_t a = fx->dev[0], b = fx->dev[1];
  nimbus_id_t id = make_processing_job(fx, a);
  nimbus_job_t before = get_job(fx, id);
  assert_int_equal(job_apply_device(fx->st, fx->tenant, id, JOB_EVENT_REOFFER, b, "lease", NULL),
                   JOB_NOT_POSSIBLE);
  assert_job_unchanged(fx, id, &before);

  nimbus_job_t j;
  assert_int_equal(job_apply_device(fx->st, fx->tenant, id, JOB_EVENT_REOFFER, a, "lease", &j),
                   JOB_OK);
  assert_int_equal(j.state, F);
  assert_int_equal(j.device_id, 0);
  assert_int_equal(j.completed_at, 0);
  assert_int_equal(device_of(fx, id), 0);
  /* Not processing any more: a second reoffer and the old device's report
   * are refused. */
  assert_int_equal(job_apply_device(fx->st, fx->tenant, id, JOB_EVENT_REOFFER, a, "lease", NULL),
                   JOB_NOT_POSSIBLE);
  assert_int_equal(job_apply_device(fx->st, fx->tenant, id, JOB_EVENT_REOFFER, 0, "lease", NULL),
                   JOB_NOT_POSSIBLE);
  assert_int_equal(
      job_apply_device(fx->st, fx->tenant, id, JOB_EVENT_DEVICE_COMPLETED, a, "a", NULL),
      JOB_NOT_POSSIBLE);
  assert_int_equal(state_of(fx, id), F);

  /* Another device takes it; reoffer from any device (0) clears it. */
  assert_int_equal(job_apply_device(fx->st, fx->tenant, id, JOB_EVENT_FETCH, b, "b", &j), JOB_OK);
  assert_int_equal(j.device_id, b);
  assert_int_equal(
      job_apply_device(fx->st, fx->tenant, id, JOB_EVENT_DEVICE_COMPLETED, a, "a", NULL),
      JOB_NOT_POSSIBLE);
  assert_int_equal(job_apply_device(fx->st, fx->tenant, id, JOB_EVENT_REOFFER, 0, "lease", &j),
                   JOB_OK);
  assert_int_equal(j.state, F);
  assert_int_equal(j.device_id, 0);
  assert_int_equal(device_of(fx, id), 0);
}

/* A user's cancel of a job in processing applies (job_apply); the device
 * can then report nothing more. */
static void test_device_user_cancel_while_processing(void **state) {
  fixture_t *fx = *state;
  nimbus_id_t a = fx->dev[0];
  nimbus_id_t id = make_processing_job(fx, a);
  nimbus_job_t j;
  assert_int_equal(job_apply(fx->st, fx->tenant, id, JOB_EVENT_CANCEL, "alice", &j), JOB_OK);
  assert_int_equal(j.state, CANC);
  assert_int_equal(
      job_apply_device(fx->st, fx->tenant, id, JOB_EVENT_DEVICE_COMPLETED, a, "a", NULL),
      JOB_NOT_POSSIBLE);
  assert_int_equal(job_apply_device(fx->st, fx->tenant, id, JOB_EVENT_REOFFER, a, "a", NULL),
                   JOB_NOT_POSSIBLE);
  assert_int_equal(state_of(fx, id), CANC);
}

/* Not found and tenants: another tenant's job is not found for a device
 * event, and a device of another tenant cannot take a job. */
static void test_device_tenants(void **state) {
  fixture_t *fx = *state;
  nimbus_id_t id = make_job(fx, F);
  assert_int_equal(
      job_apply_device(fx->st, fx->tenant, id + 1000, JOB_EVENT_FETCH, fx->dev[0], "a", NULL),
      JOB_NOT_FOUND);
  assert_int_equal(
      job_apply_device(fx->st, fx->other_tenant, id, JOB_EVENT_FETCH, fx->other_dev, "o", NULL),
      JOB_NOT_FOUND);
  assert_int_equal(state_of(fx, id), F);
  /* The job's tenant, another tenant's device: refused (whichever code),
   * and the job is not assigned. */
  nimbus_job_t before = get_job(fx, id);
  job_result_t r =
      job_apply_device(fx->st, fx->tenant, id, JOB_EVENT_FETCH, fx->other_dev, "o", NULL);
  assert_int_not_equal(r, JOB_OK);
  assert_int_not_equal(r, JOB_ERROR);
  assert_job_unchanged(fx, id, &before);
  /* A device id that does not exist at all. */
  r = job_apply_device(fx->st, fx->tenant, id, JOB_EVENT_FETCH, fx->other_dev + 1000, "x", NULL);
  assert_int_not_equal(r, JOB_OK);
  assert_job_unchanged(fx, id, &before);
}

/* BUG PROBE: device 0 holds no job: it can neither take one nor report
 * the end of another device's job (job.h: DEVICE_* require that device_id
 * holds it). */
static void test_device_zero_holds_nothing(void **state) {
  fixture_t *fx = *state;
  nimbus_id_t a = fx->dev[0];
  static const job_event_t ends[] = {JOB_EVENT_DEVICE_COMPLETED, JOB_EVENT_DEVICE_ABORTED,
                                     JOB_EVENT_DEVICE_CANCELED};
  for (size_t e = 0; e < 3; e++) {
    nimbus_id_t id = make_processing_job(fx, a);
    nimbus_job_t before = get_job(fx, id);
    job_result_t r = job_apply_device(fx->st, fx->tenant, id, ends[e], 0, "nobody", NULL);
    if (r != JOB_NOT_POSSIBLE)
      fail_msg("event %d by device 0 on a job held by device %lld: %d, now %s", (int)ends[e],
               (long long)a, (int)r, job_state_name(state_of(fx, id)));
    assert_job_unchanged(fx, id, &before);
  }
}

static void test_fetch_by_device_zero(void **state) {
  fixture_t *fx = *state;
  nimbus_id_t id = make_job(fx, F);
  job_result_t r = job_apply_device(fx->st, fx->tenant, id, JOB_EVENT_FETCH, 0, "nobody", NULL);
  if (r != JOB_NOT_POSSIBLE)
    fail_msg("FETCH by device 0: %d, now %s device %lld", (int)r, job_state_name(state_of(fx, id)),
             (long long)device_of(fx, id));
}

/* ---- the observer ---- */

#define OBSERVED_MAX 64

typedef struct {
  pthread_mutex_t mu;
  int n;
  struct {
    nimbus_id_t job, device;
    nimbus_job_state_t from, to;
  } calls[OBSERVED_MAX];
} observed_t;

static void observe_record(void *ctx, const nimbus_job_t *job, nimbus_job_state_t from) {
  observed_t *o = ctx;
  pthread_mutex_lock(&o->mu);
  if (o->n < OBSERVED_MAX) {
    o->calls[o->n].job = job->id;
    o->calls[o->n].device = job->device_id;
    o->calls[o->n].from = from;
    o->calls[o->n].to = job->state;
  }
  o->n++;
  pthread_mutex_unlock(&o->mu);
}

static void observed_init(observed_t *o) {
  memset(o, 0, sizeof *o);
  pthread_mutex_init(&o->mu, NULL);
}

/* Expect call i to be job: from -> to, with device. */
static void expect_call(const observed_t *o, int i, nimbus_id_t job, nimbus_job_state_t from,
                        nimbus_job_state_t to, nimbus_id_t device) {
  assert_true(i < o->n);
  if (o->calls[i].job != job || o->calls[i].from != from || o->calls[i].to != to ||
      o->calls[i].device != device)
    fail_msg("observer call %d: job %lld %s -> %s device %lld; want job %lld %s -> %s device %lld",
             i, (long long)o->calls[i].job, job_state_name(o->calls[i].from),
             job_state_name(o->calls[i].to), (long long)o->calls[i].device, (long long)job,
             job_state_name(from), job_state_name(to), (long long)device);
}

/* Called once per successful transition (user or device side, with or
 * without an out job), with the job after it and the state before; never
 * on a refusal or a not-found. */
static void test_observer(void **state) {
  fixture_t *fx = *state;
  nimbus_id_t a = fx->dev[0], b = fx->dev[1];
  observed_t o;
  observed_init(&o);
  job_set_observer(observe_record, &o);

  nimbus_id_t id = make_job(fx, H); /* inserted directly: not observed */
  assert_int_equal(o.n, 0);
  assert_int_equal(job_apply(fx->st, fx->tenant, id, JOB_EVENT_RELEASE, "alice", NULL), JOB_OK);
  assert_int_equal(o.n, 1);
  expect_call(&o, 0, id, H, F, 0);

  /* Refusals and not-found: no call. */
  assert_int_equal(job_apply(fx->st, fx->tenant, id, JOB_EVENT_RELEASE, "alice", NULL),
                   JOB_NOT_POSSIBLE);
  assert_int_equal(job_apply(fx->st, fx->tenant, id, JOB_EVENT_FETCH, "alice", NULL),
                   JOB_NOT_POSSIBLE);
  assert_int_equal(job_apply_device(fx->st, fx->tenant, id, JOB_EVENT_HOLD, a, "a", NULL),
                   JOB_NOT_POSSIBLE);
  assert_int_equal(job_apply(fx->st, fx->tenant, id + 1000, JOB_EVENT_HOLD, "alice", NULL),
                   JOB_NOT_FOUND);
  assert_int_equal(job_apply(fx->st, fx->other_tenant, id, JOB_EVENT_HOLD, "x", NULL),
                   JOB_NOT_FOUND);
  assert_int_equal(o.n, 1);

  nimbus_job_t j;
  assert_int_equal(job_apply_device(fx->st, fx->tenant, id, JOB_EVENT_FETCH, a, "a", &j), JOB_OK);
  assert_int_equal(o.n, 2);
  expect_call(&o, 1, id, F, X, a);

  assert_int_equal(job_apply_device(fx->st, fx->tenant, id, JOB_EVENT_FETCH, b, "b", NULL),
                   JOB_NOT_POSSIBLE);
  assert_int_equal(
      job_apply_device(fx->st, fx->tenant, id, JOB_EVENT_DEVICE_COMPLETED, b, "b", NULL),
      JOB_NOT_POSSIBLE);
  assert_int_equal(job_apply_device(fx->st, fx->tenant, id, JOB_EVENT_REOFFER, b, "b", NULL),
                   JOB_NOT_POSSIBLE);
  assert_int_equal(o.n, 2);

  assert_int_equal(job_apply_device(fx->st, fx->tenant, id, JOB_EVENT_REOFFER, a, "lease", NULL),
                   JOB_OK);
  assert_int_equal(o.n, 3);
  expect_call(&o, 2, id, X, F, 0);
  assert_int_equal(job_apply(fx->st, fx->tenant, id, JOB_EVENT_HOLD, "alice", &j), JOB_OK);
  expect_call(&o, 3, id, F, H, 0);
  assert_int_equal(job_apply(fx->st, fx->tenant, id, JOB_EVENT_RELEASE, "alice", NULL), JOB_OK);
  expect_call(&o, 4, id, H, F, 0);
  assert_int_equal(job_apply_device(fx->st, fx->tenant, id, JOB_EVENT_FETCH, b, "b", NULL), JOB_OK);
  expect_call(&o, 5, id, F, X, b);
  assert_int_equal(
      job_apply_device(fx->st, fx->tenant, id, JOB_EVENT_DEVICE_COMPLETED, b, "b", NULL), JOB_OK);
  assert_int_equal(o.n, 7);
  expect_call(&o, 6, id, X, DONE, b);
  /* Terminal: everything refused, nothing observed. */
  for (size_t e = 0; e < NEVENTS; e++) {
    if (is_device_event(all_events[e]))
      job_apply_device(fx->st, fx->tenant, id, all_events[e], b, "b", NULL);
    else
      job_apply(fx->st, fx->tenant, id, all_events[e], "alice", NULL);
  }
  assert_int_equal(o.n, 7);

  /* job_observe (intake) passes through as given. */
  nimbus_job_t made = get_job(fx, make_job(fx, F));
  job_observe(&made, R);
  assert_int_equal(o.n, 8);
  expect_call(&o, 7, made.id, R, F, 0);

  /* Unset: transitions no longer reach it, job_observe is a no-op. */
  job_set_observer(NULL, NULL);
  assert_int_equal(job_apply(fx->st, fx->tenant, made.id, JOB_EVENT_HOLD, "alice", NULL), JOB_OK);
  job_observe(&made, R);
  assert_int_equal(o.n, 8);
  pthread_mutex_destroy(&o.mu);
}

/* ---- concurrent events on one job ---- */

#define RACERS 8
#define RACE_JOBS 20

typedef struct {
  fixture_t *fx;
  nimbus_id_t job;
  job_event_t ev;
  nimbus_id_t device; /* device events */
  pthread_barrier_t *go;
  job_result_t result;
} racer_t;

static void *racer(void *arg) {
  racer_t *r = arg;
  pthread_barrier_wait(r->go);
  if (is_device_event(r->ev))
    r->result = job_apply_device(r->fx->st, r->fx->tenant, r->job, r->ev, r->device, "racer", NULL);
  else
    r->result = job_apply(r->fx->st, r->fx->tenant, r->job, r->ev, "racer", NULL);
  return NULL;
}

/* Run RACERS threads applying evs[i % nevs] to one job at once; device
 * events by devs[i % ndevs] (devs may be NULL: device 0). */
static void race_devices(fixture_t *fx, nimbus_id_t job, const job_event_t *evs, int nevs,
                         const nimbus_id_t *devs, int ndevs, job_result_t results[RACERS]) {
  pthread_barrier_t go;
  racer_t r[RACERS];
  pthread_t th[RACERS];
  assert_int_equal(pthread_barrier_init(&go, NULL, RACERS), 0);
  for (int i = 0; i < RACERS; i++) {
    r[i] = (racer_t){.fx = fx,
                     .job = job,
                     .ev = evs[i % nevs],
                     .device = devs ? devs[i % ndevs] : 0,
                     .go = &go,
                     .result = JOB_ERROR};
    assert_int_equal(pthread_create(&th[i], NULL, racer, &r[i]), 0);
  }
  for (int i = 0; i < RACERS; i++) {
    pthread_join(th[i], NULL);
    results[i] = r[i].result;
  }
  pthread_barrier_destroy(&go);
}

static void race(fixture_t *fx, nimbus_id_t job, const job_event_t *evs, int nevs,
                 job_result_t results[RACERS]) {
  race_devices(fx, job, evs, nevs, NULL, 0, results);
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

/* RACERS devices fetch one fetchable job at once: exactly one wins, the
 * job is assigned to it, and the observer hears of it once. */
static void test_concurrent_fetch_one_winner(void **state) {
  fixture_t *fx = *state;
  static const job_event_t fetch[] = {JOB_EVENT_FETCH};
  observed_t o;
  observed_init(&o);
  job_set_observer(observe_record, &o);
  for (int k = 0; k < RACE_JOBS; k++) {
    nimbus_id_t id = make_job(fx, F);
    job_result_t res[RACERS];
    o.n = 0; /* no thread runs between races */
    race_devices(fx, id, fetch, 1, fx->dev, NDEVICES, res);
    int ok = 0, winner = -1;
    for (int i = 0; i < RACERS; i++) {
      if (res[i] == JOB_OK) {
        ok++;
        winner = i;
      } else {
        assert_int_equal(res[i], JOB_NOT_POSSIBLE);
      }
    }
    assert_int_equal(ok, 1);
    assert_int_equal(state_of(fx, id), X);
    assert_int_equal(device_of(fx, id), fx->dev[winner % NDEVICES]);
    assert_int_equal(o.n, 1);
    expect_call(&o, 0, id, F, X, fx->dev[winner % NDEVICES]);
  }
  job_set_observer(NULL, NULL);
  pthread_mutex_destroy(&o.mu);
}

/* The holder reporting completion races the lease sweeper's reoffer
 * (device 0): exactly one applies, and the job ends where it says. */
static void test_concurrent_complete_and_reoffer(void **state) {
  fixture_t *fx = *state;
  static const job_event_t mix[] = {JOB_EVENT_DEVICE_COMPLETED, JOB_EVENT_REOFFER};
  nimbus_id_t a = fx->dev[0];
  const nimbus_id_t devs[] = {a, 0}; /* completion by a, reoffer by any */
  for (int k = 0; k < RACE_JOBS; k++) {
    nimbus_id_t id = make_processing_job(fx, a);
    job_result_t res[RACERS];
    race_devices(fx, id, mix, 2, devs, 2, res);
    int completed = 0, reoffered = 0;
    for (int i = 0; i < RACERS; i++) {
      assert_true(res[i] == JOB_OK || res[i] == JOB_NOT_POSSIBLE);
      if (res[i] != JOB_OK) continue;
      if (i % 2 == 0)
        completed++;
      else
        reoffered++;
    }
    assert_int_equal(completed + reoffered, 1);
    nimbus_job_t j = get_job(fx, id);
    if (completed) {
      assert_int_equal(j.state, DONE);
      assert_int_equal(j.device_id, a);
    } else {
      assert_int_equal(j.state, F);
      assert_int_equal(j.device_id, 0);
    }
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
      cmocka_unit_test_setup_teardown(test_release_is_one_transition, setup, teardown),
      cmocka_unit_test(test_change_follows_the_table),
      cmocka_unit_test_setup_teardown(test_concurrent_same_event_applies_once, setup, teardown),
      cmocka_unit_test_setup_teardown(test_concurrent_release_and_cancel, setup, teardown),
      cmocka_unit_test_setup_teardown(test_device_fetch_assigns, setup, teardown),
      cmocka_unit_test_setup_teardown(test_device_end_only_by_holder, setup, teardown),
      cmocka_unit_test_setup_teardown(test_device_reoffer, setup, teardown),
      cmocka_unit_test_setup_teardown(test_device_user_cancel_while_processing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_device_tenants, setup, teardown),
      cmocka_unit_test_setup_teardown(test_observer, setup, teardown),
      cmocka_unit_test_setup_teardown(test_device_zero_holds_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fetch_by_device_zero, setup, teardown),
      cmocka_unit_test_setup_teardown(test_concurrent_fetch_one_winner, setup, teardown),
      cmocka_unit_test_setup_teardown(test_concurrent_complete_and_reoffer, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
