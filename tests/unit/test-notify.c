/*
 * test-notify.c: unit tests of the in-memory subscriptions and event rings
 * for output devices (notify.h): subscribe, cancel and ownership, the
 * per-device limit, routing of job events by tenant, queue, event type and
 * target device, per-subscription sequence numbers, collecting with
 * notify-sequence-numbers, ring overflow, the printer-deleted notice,
 * concurrent posting, freeing with live subscriptions (ASan), and job
 * subscriptions with their job-state-reasons, listing and renewal.
 *
 * Parking is tested with counting waiters (test_waiters: woken once by an
 * event, by a newer request of the same device, by the deadline and by
 * shutdown); the integration tests cover long-polls over HTTP.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "notify.h"

#define LEASE 3600 /* long enough that no lease ends during a test */
#define PER_DEVICE_MAX 16

#define FETCHABLE NOTIFY_JOB_FETCHABLE
#define CHANGED NOTIFY_JOB_STATE_CHANGED
#define DELETED NOTIFY_PRINTER_DELETED

/* Tenants, queues and devices: plain ids, notify keeps no store. */
enum { T1 = 1, T2 = 2, Q1 = 10, Q2 = 11, DEV_A = 100, DEV_B = 101, DEV_C = 102 };

static int setup(void **state) {
  notify_t *n = notify_new(1, NULL);
  if (!n) return -1;
  *state = n;
  return 0;
}

static int teardown(void **state) {
  notify_free(*state);
  return 0;
}

static int subscribe(notify_t *n, nimbus_id_t tenant, nimbus_id_t queue, nimbus_id_t device,
                     unsigned events) {
  int id = notify_subscribe(n, tenant, queue, device, events, LEASE);
  assert_true(id > 0);
  return id;
}

/*
 * Collect the events of one subscription (as `device`) at or above
 * sequence `since` into out (at most max); never parks.  Returns how many;
 * *deleted as notify_collect sets it (may be NULL).
 */
static int collect_one(notify_t *n, nimbus_id_t device, int sub, int since, notify_event_t *out,
                       int max, bool *deleted) {
  bool parked = true, del = true; /* both must be reset */
  int got = notify_collect(n, device, &sub, &since, 1, out, max, NULL, &parked, &del);
  assert_false(parked);
  assert_true(got >= 0 && got <= max);
  if (deleted) *deleted = del;
  return got;
}

/* The number of events a subscription holds (as its device). */
static int count_events(notify_t *n, nimbus_id_t device, int sub) {
  notify_event_t out[NOTIFY_RING + 1];
  return collect_one(n, device, sub, 0, out, NOTIFY_RING + 1, NULL);
}

static void expect_event(const notify_event_t *e, int sub, int seq, notify_event_type_t type,
                         nimbus_id_t job, int job_state) {
  if (e->subscription_id != sub || e->sequence != seq || e->type != type || e->job_id != job ||
      e->job_state != job_state)
    fail_msg(
        "event: sub %d seq %d type %u job %lld state %d; want sub %d seq %d type %u "
        "job %lld state %d",
        e->subscription_id, e->sequence, (unsigned)e->type, (long long)e->job_id, e->job_state, sub,
        seq, (unsigned)type, (long long)job, job_state);
}

/* ---- names ---- */

static void test_event_names(void **state) {
  (void)state;
  static const struct {
    notify_event_type_t type;
    const char *name;
  } names[] = {
      {FETCHABLE, "job-fetchable"}, {CHANGED, "job-state-changed"}, {DELETED, "printer-deleted"}};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    assert_int_equal(notify_event_parse(names[i].name), names[i].type);
    assert_string_equal(notify_event_name(names[i].type), names[i].name);
  }
  const char *bad[] = {"", "job-fetchable ", "Job-Fetchable", "job-completed", "printer"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(notify_event_parse(bad[i]), 0);
  assert_null(notify_event_name((notify_event_type_t)0));
  assert_null(notify_event_name((notify_event_type_t)(FETCHABLE | CHANGED)));
  assert_null(notify_event_name((notify_event_type_t)(1u << 7)));
}

/* ---- subscriptions ---- */

static void test_subscribe_cancel_owns(void **state) {
  notify_t *n = *state;
  int a1 = subscribe(n, T1, Q1, DEV_A, FETCHABLE);
  int a2 = subscribe(n, T1, Q1, DEV_A, FETCHABLE | CHANGED);
  int b1 = subscribe(n, T1, Q1, DEV_B, FETCHABLE);
  assert_int_not_equal(a1, a2);
  assert_int_not_equal(a1, b1);
  assert_int_not_equal(a2, b1);

  assert_true(notify_owns(n, DEV_A, a1));
  assert_true(notify_owns(n, DEV_A, a2));
  assert_true(notify_owns(n, DEV_B, b1));
  /* Another device neither owns nor cancels it; unknown ids are nobody's. */
  assert_false(notify_owns(n, DEV_B, a1));
  assert_false(notify_owns(n, DEV_A, b1));
  assert_false(notify_owns(n, 0, a1));
  assert_false(notify_owns(n, DEV_A, 0));
  assert_false(notify_owns(n, DEV_A, -1));
  assert_false(notify_owns(n, DEV_A, a1 + a2 + b1 + 1000));
  assert_false(notify_cancel(n, DEV_B, a1));
  assert_false(notify_cancel(n, 0, a1));
  assert_false(notify_cancel(n, DEV_A, a1 + a2 + b1 + 1000));
  assert_true(notify_owns(n, DEV_A, a1));

  /* A refused cancel left the subscription working. */
  notify_job_event(n, T1, Q1, 0, FETCHABLE, 7, 3);
  assert_int_equal(count_events(n, DEV_A, a1), 1);
  /* Nor can another device read it. */
  assert_int_equal(count_events(n, DEV_B, a1), 0);

  assert_true(notify_cancel(n, DEV_A, a1));
  assert_false(notify_owns(n, DEV_A, a1));
  assert_false(notify_cancel(n, DEV_A, a1));
  assert_int_equal(count_events(n, DEV_A, a1), 0);
  /* The others are untouched. */
  assert_true(notify_owns(n, DEV_A, a2));
  assert_true(notify_owns(n, DEV_B, b1));
  assert_int_equal(count_events(n, DEV_B, b1), 1);
  /* A canceled subscription receives nothing more; its id is not reused
   * by the next subscription. */
  notify_job_event(n, T1, Q1, 0, FETCHABLE, 8, 3);
  int a3 = subscribe(n, T1, Q1, DEV_A, FETCHABLE);
  assert_int_not_equal(a3, a1);
  assert_int_equal(count_events(n, DEV_A, a2), 2);
  assert_int_equal(count_events(n, DEV_A, a3), 0);
}

static void test_subscription_limit(void **state) {
  notify_t *n = *state;
  int ids[PER_DEVICE_MAX];
  for (int i = 0; i < PER_DEVICE_MAX; i++)
    ids[i] = subscribe(n, T1, i % 2 ? Q1 : Q2, DEV_A, FETCHABLE);
  assert_int_equal(notify_subscribe(n, T1, Q1, DEV_A, FETCHABLE, LEASE), -1);
  assert_int_equal(notify_subscribe(n, T1, Q2, DEV_A, CHANGED, LEASE), -1);
  /* The limit is per device. */
  int b = subscribe(n, T1, Q1, DEV_B, FETCHABLE);
  for (int i = 0; i < PER_DEVICE_MAX; i++) assert_true(notify_owns(n, DEV_A, ids[i]));
  /* A canceled one frees a place, once. */
  assert_true(notify_cancel(n, DEV_A, ids[3]));
  int again = subscribe(n, T1, Q1, DEV_A, FETCHABLE);
  assert_int_not_equal(again, b);
  assert_int_equal(notify_subscribe(n, T1, Q1, DEV_A, FETCHABLE, LEASE), -1);
}

/* ---- routing ---- */

static void test_event_routing(void **state) {
  notify_t *n = *state;
  int s1 = subscribe(n, T1, Q1, DEV_A, FETCHABLE);           /* the queue, fetchable only */
  int s2 = subscribe(n, T1, Q1, DEV_B, FETCHABLE | CHANGED); /* the queue, both */
  int s3 = subscribe(n, T1, Q2, DEV_A, FETCHABLE | CHANGED); /* another queue */
  int s4 = subscribe(n, T2, Q1, DEV_C, FETCHABLE | CHANGED); /* same queue id, other tenant */
  int s5 = subscribe(n, T1, Q1, DEV_C, CHANGED);             /* the queue, changes only */

  int64_t t0 = (int64_t)time(NULL);
  notify_job_event(n, T1, Q1, 0, FETCHABLE, 1001, 3);
  notify_job_event(n, T1, Q1, 0, CHANGED, 1001, 5);
  notify_job_event(n, T1, Q1, DEV_B, FETCHABLE, 1002, 3); /* meant for DEV_B only */
  notify_job_event(n, T1, Q1, DEV_A, CHANGED, 1003, 9);   /* DEV_A did not ask on Q1 */
  notify_job_event(n, T1, Q1, DEV_C, FETCHABLE, 1004, 3); /* DEV_C did not ask */
  notify_job_event(n, T1, Q2, DEV_B, FETCHABLE, 1005, 3); /* DEV_B is not on Q2 */
  notify_job_event(n, T2, Q2, 0, FETCHABLE, 1006, 3);     /* nobody on T2/Q2 */
  int64_t t1 = (int64_t)time(NULL);

  notify_event_t ev[8];
  bool deleted;
  assert_int_equal(collect_one(n, DEV_A, s1, 0, ev, 8, &deleted), 1);
  assert_false(deleted);
  expect_event(&ev[0], s1, 1, FETCHABLE, 1001, 3);
  assert_true(ev[0].at >= t0 && ev[0].at <= t1);

  assert_int_equal(collect_one(n, DEV_B, s2, 0, ev, 8, &deleted), 3);
  assert_false(deleted);
  expect_event(&ev[0], s2, 1, FETCHABLE, 1001, 3);
  expect_event(&ev[1], s2, 2, CHANGED, 1001, 5);
  expect_event(&ev[2], s2, 3, FETCHABLE, 1002, 3);

  assert_int_equal(count_events(n, DEV_A, s3), 0);
  assert_int_equal(count_events(n, DEV_C, s4), 0);

  assert_int_equal(collect_one(n, DEV_C, s5, 0, ev, 8, NULL), 1);
  expect_event(&ev[0], s5, 1, CHANGED, 1001, 5);

  /* The other tenant's queue of the same id has its own events. */
  notify_job_event(n, T2, Q1, 0, CHANGED, 2001, 7);
  assert_int_equal(collect_one(n, DEV_C, s4, 0, ev, 8, NULL), 1);
  expect_event(&ev[0], s4, 1, CHANGED, 2001, 7);
  assert_int_equal(count_events(n, DEV_C, s5), 1);
  assert_int_equal(count_events(n, DEV_B, s2), 3);
}

/* Several subscriptions of one device in one collect: in the order asked,
 * each from its own since; others' and unknown ids are skipped. */
static void test_collect_several(void **state) {
  notify_t *n = *state;
  int a1 = subscribe(n, T1, Q1, DEV_A, FETCHABLE);
  int a2 = subscribe(n, T1, Q2, DEV_A, FETCHABLE);
  int b1 = subscribe(n, T1, Q1, DEV_B, FETCHABLE);
  for (int i = 0; i < 3; i++) notify_job_event(n, T1, Q1, 0, FETCHABLE, 10 + i, 3);
  for (int i = 0; i < 2; i++) notify_job_event(n, T1, Q2, 0, FETCHABLE, 20 + i, 3);

  int ids[] = {a2, b1, 999999, a1};
  int since[] = {2, 0, 0, 0};
  notify_event_t ev[8];
  bool parked = true, deleted = true;
  int got = notify_collect(n, DEV_A, ids, since, 4, ev, 8, NULL, &parked, &deleted);
  assert_false(parked);
  assert_false(deleted);
  assert_int_equal(got, 4);
  expect_event(&ev[0], a2, 2, FETCHABLE, 21, 3);
  expect_event(&ev[1], a1, 1, FETCHABLE, 10, 3);
  expect_event(&ev[2], a1, 2, FETCHABLE, 11, 3);
  expect_event(&ev[3], a1, 3, FETCHABLE, 12, 3);

  /* max bounds the whole answer, oldest first. */
  int two[] = {a1, a2}, zero[] = {0, 0};
  memset(ev, 0x5a, sizeof ev);
  got = notify_collect(n, DEV_A, two, zero, 2, ev, 4, NULL, &parked, &deleted);
  assert_int_equal(got, 4);
  expect_event(&ev[3], a2, 1, FETCHABLE, 20, 3);
  assert_int_equal(ev[4].subscription_id, 0x5a5a5a5a); /* nothing past max */
  got = notify_collect(n, DEV_A, two, zero, 2, ev, 0, NULL, &parked, &deleted);
  assert_int_equal(got, 0);
  assert_false(parked);
}

/* ---- sequence numbers and since ---- */

static void test_sequence_and_since(void **state) {
  notify_t *n = *state;
  int a = subscribe(n, T1, Q1, DEV_A, FETCHABLE | CHANGED);
  int b = subscribe(n, T1, Q1, DEV_B, CHANGED);
  notify_event_t ev[8];
  /* Nothing yet. */
  assert_int_equal(collect_one(n, DEV_A, a, 0, ev, 8, NULL), 0);
  assert_int_equal(collect_one(n, DEV_A, a, 1, ev, 8, NULL), 0);

  for (int i = 1; i <= 5; i++) notify_job_event(n, T1, Q1, 0, i % 2 ? FETCHABLE : CHANGED, i, 3);
  /* Sequence numbers count per subscription from 1: a saw all five, b
   * only the two changes. */
  assert_int_equal(collect_one(n, DEV_A, a, 0, ev, 8, NULL), 5);
  for (int i = 0; i < 5; i++) expect_event(&ev[i], a, i + 1, i % 2 ? CHANGED : FETCHABLE, i + 1, 3);
  assert_int_equal(collect_one(n, DEV_B, b, 0, ev, 8, NULL), 2);
  expect_event(&ev[0], b, 1, CHANGED, 2, 3);
  expect_event(&ev[1], b, 2, CHANGED, 4, 3);

  /* since is the lowest sequence number wanted (RFC 3996
   * notify-sequence-numbers; docs/PROTOCOL.md "at or above"). */
  assert_int_equal(collect_one(n, DEV_A, a, 1, ev, 8, NULL), 5);
  assert_int_equal(collect_one(n, DEV_A, a, 3, ev, 8, NULL), 3);
  expect_event(&ev[0], a, 3, FETCHABLE, 3, 3);
  expect_event(&ev[2], a, 5, FETCHABLE, 5, 3);
  assert_int_equal(collect_one(n, DEV_A, a, 5, ev, 8, NULL), 1);
  expect_event(&ev[0], a, 5, FETCHABLE, 5, 3);
  assert_int_equal(collect_one(n, DEV_A, a, 6, ev, 8, NULL), 0);
  assert_int_equal(collect_one(n, DEV_A, a, 1000, ev, 8, NULL), 0);
  assert_int_equal(collect_one(n, DEV_B, b, 2, ev, 8, NULL), 1);
  expect_event(&ev[0], b, 2, CHANGED, 4, 3);

  /* Collecting does not consume: the events are still there. */
  assert_int_equal(collect_one(n, DEV_A, a, 0, ev, 8, NULL), 5);
  /* The next event continues the count. */
  notify_job_event(n, T1, Q1, 0, CHANGED, 6, 5);
  assert_int_equal(collect_one(n, DEV_A, a, 6, ev, 8, NULL), 1);
  expect_event(&ev[0], a, 6, CHANGED, 6, 5);
  assert_int_equal(collect_one(n, DEV_B, b, 3, ev, 8, NULL), 1);
  expect_event(&ev[0], b, 3, CHANGED, 6, 5);
}

/* More than NOTIFY_RING events: the newest NOTIFY_RING are kept, in
 * order, and sequence numbers go on counting. */
static void test_ring_overflow(void **state) {
  notify_t *n = *state;
  enum { POSTED = NOTIFY_RING * 2 + 7 };
  int a = subscribe(n, T1, Q1, DEV_A, FETCHABLE);
  for (int i = 1; i <= POSTED; i++) notify_job_event(n, T1, Q1, 0, FETCHABLE, 5000 + i, 3);

  notify_event_t ev[NOTIFY_RING + 8];
  int first = POSTED - NOTIFY_RING + 1;
  assert_int_equal(collect_one(n, DEV_A, a, 0, ev, NOTIFY_RING + 8, NULL), NOTIFY_RING);
  for (int k = 0; k < NOTIFY_RING; k++)
    expect_event(&ev[k], a, first + k, FETCHABLE, 5000 + first + k, 3);
  /* Asking from a dropped sequence number gives what is kept. */
  assert_int_equal(collect_one(n, DEV_A, a, 1, ev, NOTIFY_RING + 8, NULL), NOTIFY_RING);
  assert_int_equal(ev[0].sequence, first);
  assert_int_equal(collect_one(n, DEV_A, a, first - 1, ev, NOTIFY_RING + 8, NULL), NOTIFY_RING);
  assert_int_equal(collect_one(n, DEV_A, a, first + 1, ev, NOTIFY_RING + 8, NULL), NOTIFY_RING - 1);
  assert_int_equal(ev[0].sequence, first + 1);
  assert_int_equal(collect_one(n, DEV_A, a, POSTED, ev, NOTIFY_RING + 8, NULL), 1);
  expect_event(&ev[0], a, POSTED, FETCHABLE, 5000 + POSTED, 3);
  assert_int_equal(collect_one(n, DEV_A, a, POSTED + 1, ev, NOTIFY_RING + 8, NULL), 0);
  /* A small max answers the oldest kept first. */
  assert_int_equal(collect_one(n, DEV_A, a, 0, ev, 3, NULL), 3);
  assert_int_equal(ev[0].sequence, first);
  assert_int_equal(ev[2].sequence, first + 2);
}

/* ---- deregistration ---- */

static void test_device_deleted(void **state) {
  notify_t *n = *state;
  int a1 = subscribe(n, T1, Q1, DEV_A, FETCHABLE); /* did not ask for printer-deleted */
  int a2 = subscribe(n, T1, Q2, DEV_A, CHANGED);
  int a3 = subscribe(n, T1, Q1, DEV_A, 0); /* asked for nothing */
  int b1 = subscribe(n, T1, Q1, DEV_B, FETCHABLE);
  notify_job_event(n, T1, Q1, 0, FETCHABLE, 42, 3);

  notify_device_deleted(n, DEV_A);
  notify_device_deleted(n, DEV_A); /* a second notice is not delivered again */

  notify_event_t ev[8];
  bool deleted = false;
  assert_int_equal(collect_one(n, DEV_A, a1, 0, ev, 8, &deleted), 2);
  assert_true(deleted);
  expect_event(&ev[0], a1, 1, FETCHABLE, 42, 3);
  expect_event(&ev[1], a1, 2, DELETED, 0, 0);
  deleted = false;
  assert_int_equal(collect_one(n, DEV_A, a2, 0, ev, 8, &deleted), 1);
  assert_true(deleted);
  expect_event(&ev[0], a2, 1, DELETED, 0, 0);
  deleted = false;
  assert_int_equal(collect_one(n, DEV_A, a3, 0, ev, 8, &deleted), 1);
  assert_true(deleted);
  expect_event(&ev[0], a3, 1, DELETED, 0, 0);
  /* Only from the notice on: still flagged deleted. */
  deleted = false;
  assert_int_equal(collect_one(n, DEV_A, a1, 2, ev, 8, &deleted), 1);
  assert_true(deleted);
  expect_event(&ev[0], a1, 2, DELETED, 0, 0);

  /* Job events no longer reach the deleted device's subscriptions. */
  notify_job_event(n, T1, Q1, 0, FETCHABLE, 43, 3);
  notify_job_event(n, T1, Q2, DEV_A, CHANGED, 44, 5);
  assert_int_equal(count_events(n, DEV_A, a1), 2);
  assert_int_equal(count_events(n, DEV_A, a2), 1);

  /* Another device is not affected, and cannot see the notice. */
  deleted = true;
  assert_int_equal(collect_one(n, DEV_B, b1, 0, ev, 8, &deleted), 2);
  assert_false(deleted);
  expect_event(&ev[0], b1, 1, FETCHABLE, 42, 3);
  expect_event(&ev[1], b1, 2, FETCHABLE, 43, 3);
  deleted = true;
  assert_int_equal(collect_one(n, DEV_B, a1, 0, ev, 8, &deleted), 0);
  assert_false(deleted);

  /* A device that was never subscribed: nothing happens. */
  notify_device_deleted(n, DEV_C);
  notify_device_deleted(n, 0);
  assert_int_equal(count_events(n, DEV_B, b1), 2);
}

/* ---- never parks without a request ---- */

static void test_collect_without_request_never_parks(void **state) {
  notify_t *n = *state;
  int a = subscribe(n, T1, Q1, DEV_A, FETCHABLE);
  notify_event_t ev[4];
  int since = 0;
  bool parked = true, deleted = true;
  /* No events: empty answer, not parked. */
  assert_int_equal(notify_collect(n, DEV_A, &a, &since, 1, ev, 4, NULL, &parked, &deleted), 0);
  assert_false(parked);
  assert_false(deleted);
  /* Someone else's subscription, or none at all. */
  parked = deleted = true;
  assert_int_equal(notify_collect(n, DEV_B, &a, &since, 1, ev, 4, NULL, &parked, &deleted), 0);
  assert_false(parked);
  assert_false(deleted);
  parked = deleted = true;
  assert_int_equal(notify_collect(n, DEV_A, NULL, NULL, 0, ev, 4, NULL, &parked, &deleted), 0);
  assert_false(parked);
  assert_false(deleted);
  /* Past the newest event. */
  notify_job_event(n, T1, Q1, 0, FETCHABLE, 1, 3);
  since = 2;
  parked = true;
  assert_int_equal(notify_collect(n, DEV_A, &a, &since, 1, ev, 4, NULL, &parked, &deleted), 0);
  assert_false(parked);
  assert_int_equal(notify_parked_count(n), 0);
}

/* ---- waiters ---- */

typedef struct {
  atomic_int parks, wakes;
} counting_waiter_t;

static void cw_park(void *arg) {
  atomic_fetch_add(&((counting_waiter_t *)arg)->parks, 1);
}
static void cw_wake(void *arg) {
  atomic_fetch_add(&((counting_waiter_t *)arg)->wakes, 1);
}

/* Park w for DEV_A's subscription a; returns whether it parked. */
static bool park(notify_t *n, int a, counting_waiter_t *w) {
  notify_wait_t wait = {.wake = cw_wake, .on_park = cw_park, .arg = w};
  notify_event_t ev[4];
  int since = 0;
  bool parked = false, deleted = false;
  assert_int_equal(notify_collect(n, DEV_A, &a, &since, 1, ev, 4, &wait, &parked, &deleted), 0);
  return parked;
}

/* Each waiter is woken exactly once: by the event, by the device's newer
 * request, by the deadline (notify-wait 1 s here), by shutdown; on_park
 * runs once per park and before any wake. */
static void test_waiters(void **state) {
  notify_t *n = *state;
  int a = subscribe(n, T1, Q1, DEV_A, FETCHABLE);
  counting_waiter_t w1 = {0}, w2 = {0}, w3 = {0}, w4 = {0};
  assert_true(park(n, a, &w1));
  assert_int_equal(atomic_load(&w1.parks), 1);
  assert_int_equal(atomic_load(&w1.wakes), 0);
  assert_int_equal(notify_parked_count(n), 1);
  notify_job_event(n, T1, Q1, 0, FETCHABLE, 7, 3); /* the event wakes it */
  assert_int_equal(atomic_load(&w1.wakes), 1);
  assert_int_equal(notify_parked_count(n), 0);
  notify_job_event(n, T1, Q1, 0, FETCHABLE, 8, 3); /* not twice */
  assert_int_equal(atomic_load(&w1.wakes), 1);

  /* With events pending it does not park. */
  notify_wait_t wait = {.wake = cw_wake, .on_park = cw_park, .arg = &w2};
  notify_event_t ev[4];
  int since = 0;
  bool parked = true, deleted = true;
  assert_int_equal(notify_collect(n, DEV_A, &a, &since, 1, ev, 4, &wait, &parked, &deleted), 2);
  assert_false(parked);
  assert_int_equal(atomic_load(&w2.parks), 0);

  /* A newer request of the same device replaces (wakes) the older. */
  int seen = 3;
  notify_wait_t wait2 = {.wake = cw_wake, .on_park = cw_park, .arg = &w2};
  assert_int_equal(notify_collect(n, DEV_A, &a, &seen, 1, ev, 4, &wait2, &parked, &deleted), 0);
  assert_true(parked);
  notify_wait_t wait3 = {.wake = cw_wake, .on_park = cw_park, .arg = &w3};
  assert_int_equal(notify_collect(n, DEV_A, &a, &seen, 1, ev, 4, &wait3, &parked, &deleted), 0);
  assert_true(parked);
  assert_int_equal(atomic_load(&w2.wakes), 1);
  assert_int_equal(atomic_load(&w3.wakes), 0);
  assert_int_equal(notify_parked_count(n), 1);

  /* The deadline (1 s) wakes the waiter: the timer thread. */
  for (int i = 0; i < 300 && atomic_load(&w3.wakes) == 0; i++)
    nanosleep(&(struct timespec){0, 10000000}, NULL);
  assert_int_equal(atomic_load(&w3.wakes), 1);
  assert_int_equal(notify_parked_count(n), 0);

  /* Shutdown wakes what is parked, and nothing parks afterwards. */
  notify_wait_t wait4 = {.wake = cw_wake, .on_park = cw_park, .arg = &w4};
  assert_int_equal(notify_collect(n, DEV_A, &a, &seen, 1, ev, 4, &wait4, &parked, &deleted), 0);
  assert_true(parked);
  notify_shutdown(n);
  assert_int_equal(atomic_load(&w4.wakes), 1);
  assert_int_equal(notify_collect(n, DEV_A, &a, &seen, 1, ev, 4, &wait4, &parked, &deleted), 0);
  assert_false(parked);
  assert_int_equal(atomic_load(&w4.parks), 1);
}

/* A subscription id named twice (notify-subscription-ids 5,5) counts
 * once: its events come once, and a waiter parks and is woken once
 * (linked twice, it used to unlink itself and be freed twice). */
static void test_repeated_subscription_id(void **state) {
  notify_t *n = *state;
  int a = subscribe(n, T1, Q1, DEV_A, FETCHABLE);
  int b = subscribe(n, T1, Q1, DEV_A, FETCHABLE);
  counting_waiter_t other = {0}, w = {0};
  assert_true(park(n, b, &other)); /* someone else in the waiter list */
  int ids[] = {a, a}, since[] = {0, 0};
  notify_wait_t wait = {.wake = cw_wake, .on_park = cw_park, .arg = &w};
  notify_event_t ev[4];
  bool parked = false, deleted = false;
  assert_int_equal(notify_collect(n, DEV_A, ids, since, 2, ev, 4, &wait, &parked, &deleted), 0);
  assert_true(parked);
  assert_int_equal(notify_parked_count(n), 2);
  notify_job_event(n, T1, Q1, 0, FETCHABLE, 9, 3); /* wakes both, each once */
  assert_int_equal(atomic_load(&w.wakes), 1);
  assert_int_equal(atomic_load(&other.wakes), 1);
  assert_int_equal(notify_parked_count(n), 0);
  assert_int_equal(notify_collect(n, DEV_A, ids, since, 2, ev, 4, NULL, &parked, &deleted), 1);
}

/* ---- concurrency ---- */

#define POSTERS 8
#define POSTS 500

typedef struct {
  notify_t *n;
  int index;
  pthread_barrier_t *go;
  int failures; /* cmocka asserts only on the main thread */
} poster_t;

static void *poster(void *arg) {
  poster_t *p = arg;
  pthread_barrier_wait(p->go);
  for (int i = 0; i < POSTS; i++) {
    notify_job_event(p->n, T1, Q1, 0, FETCHABLE, (nimbus_id_t)p->index * POSTS + i, 3);
    /* Churn on the same tables while events flow. */
    if (i % 50 == 0) {
      nimbus_id_t dev = 1000 + p->index;
      int s = notify_subscribe(p->n, T1, Q1, dev, FETCHABLE, LEASE);
      if (s <= 0 || !notify_cancel(p->n, dev, s)) p->failures++;
    }
  }
  return NULL;
}

/* Events posted from many threads at once: none lost from the count,
 * the ring holds the newest NOTIFY_RING with consecutive sequence
 * numbers. */
static void test_concurrent_posting(void **state) {
  notify_t *n = *state;
  int a = subscribe(n, T1, Q1, DEV_A, FETCHABLE);
  int b = subscribe(n, T1, Q1, DEV_B, FETCHABLE);
  pthread_barrier_t go;
  assert_int_equal(pthread_barrier_init(&go, NULL, POSTERS), 0);
  poster_t p[POSTERS];
  pthread_t th[POSTERS];
  for (int i = 0; i < POSTERS; i++) {
    p[i] = (poster_t){.n = n, .index = i, .go = &go};
    assert_int_equal(pthread_create(&th[i], NULL, poster, &p[i]), 0);
  }
  for (int i = 0; i < POSTERS; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(p[i].failures, 0);
  }
  pthread_barrier_destroy(&go);

  int subs[] = {a, b};
  for (int s = 0; s < 2; s++) {
    notify_event_t ev[NOTIFY_RING];
    nimbus_id_t dev = s == 0 ? DEV_A : DEV_B;
    assert_int_equal(collect_one(n, dev, subs[s], 0, ev, NOTIFY_RING, NULL), NOTIFY_RING);
    for (int k = 0; k < NOTIFY_RING; k++)
      assert_int_equal(ev[k].sequence, POSTERS * POSTS - NOTIFY_RING + 1 + k);
  }
}

/* ---- shutdown ---- */

/* Live subscriptions with full rings, a deleted device's lingering ones:
 * notify_shutdown then notify_free, and notify_free alone, free all
 * (ASan's leak check is the assertion). */
static void test_free_with_live_subscriptions(void **state) {
  (void)state;
  for (int round = 0; round < 2; round++) {
    notify_t *n = notify_new(1, NULL);
    assert_non_null(n);
    int first = subscribe(n, T1, Q1, 1, FETCHABLE | CHANGED);
    for (nimbus_id_t dev = 1; dev <= 20; dev++)
      for (int k = dev == 1; k < 3; k++) subscribe(n, T1, Q1 + k, dev, FETCHABLE | CHANGED);
    for (int i = 0; i < NOTIFY_RING + 3; i++) notify_job_event(n, T1, Q1, 0, CHANGED, i, 5);
    notify_device_deleted(n, 7);
    if (round == 0) {
      notify_shutdown(n);
      notify_shutdown(n); /* twice is harmless */
      /* After shutdown, what does not park still answers. */
      assert_int_equal(count_events(n, 1, first), NOTIFY_RING);
    }
    notify_free(n);
  }
  notify_shutdown(NULL);
  notify_free(NULL);
}

/* ---- job subscriptions, reasons, listing and renewal (issue 8) ---- */

static void test_job_subscription_and_reasons(void **state) {
  notify_t *n = *state;
  int printer = subscribe(n, T1, Q1, DEV_A, CHANGED);
  int job = notify_subscribe_job(n, T1, Q1, DEV_A, 7, CHANGED, 120);
  assert_true(job > 0);
  static const char *const printing[] = {"job-printing"};
  static const char *const done[] = {"job-completed-successfully", "extra-1", "extra-2", "extra-3",
                                     "dropped"};
  notify_job_event_reasons(n, T1, Q1, 0, CHANGED, 8, 5, printing, 1); /* another job */
  notify_job_event_reasons(n, T1, Q1, 0, CHANGED, 7, 9, done, 5);
  notify_event_t ev[4];
  /* the job subscription sees its job only; the reasons are kept, at most
   * NOTIFY_REASONS_MAX of them */
  assert_int_equal(collect_one(n, DEV_A, job, 0, ev, 4, NULL), 1);
  expect_event(&ev[0], job, 1, CHANGED, 7, 9);
  assert_int_equal(ev[0].nreasons, NOTIFY_REASONS_MAX);
  assert_string_equal(ev[0].reasons[0], "job-completed-successfully");
  /* the printer subscription sees both */
  assert_int_equal(collect_one(n, DEV_A, printer, 0, ev, 4, NULL), 2);
  assert_int_equal(ev[0].nreasons, 1);
  assert_string_equal(ev[0].reasons[0], "job-printing");
  /* notify_job_event posts no reasons */
  notify_job_event(n, T1, Q1, 0, CHANGED, 7, 7);
  assert_int_equal(collect_one(n, DEV_A, job, 2, ev, 4, NULL), 1);
  assert_int_equal(ev[0].nreasons, 0);

  /* get, list (oldest first, by job), renew; none for another device */
  notify_sub_info_t info, list[16];
  assert_true(notify_sub_get(n, DEV_A, job, &info));
  assert_int_equal(info.job_id, 7);
  assert_int_equal(info.lease_seconds, 120);
  assert_int_equal(info.last_sequence, 2);
  assert_false(notify_sub_get(n, DEV_B, job, &info));
  assert_int_equal(notify_sub_list(n, DEV_A, Q1, 0, list, 16), 2);
  assert_int_equal(list[0].id, printer);
  assert_int_equal(list[1].id, job);
  assert_int_equal(notify_sub_list(n, DEV_A, Q1, 7, list, 16), 1);
  assert_int_equal(notify_sub_list(n, DEV_A, Q2, 0, list, 16), 0);
  assert_int_equal(notify_sub_list(n, DEV_B, Q1, 0, list, 16), 0);
  assert_true(notify_renew(n, DEV_A, job, 600));
  assert_true(notify_sub_get(n, DEV_A, job, &info));
  assert_int_equal(info.lease_seconds, 600);
  assert_true(info.expires_at >= (int64_t)time(NULL) + 599);
  assert_false(notify_renew(n, DEV_B, job, 600));
  /* after the registration is deleted they are no longer listed */
  notify_device_deleted(n, DEV_A);
  assert_false(notify_sub_get(n, DEV_A, job, &info));
  assert_int_equal(notify_sub_list(n, DEV_A, Q1, 0, list, 16), 0);
}

int main(void) {
  log_set_level(LOG_ERROR);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_event_names),
      cmocka_unit_test_setup_teardown(test_subscribe_cancel_owns, setup, teardown),
      cmocka_unit_test_setup_teardown(test_subscription_limit, setup, teardown),
      cmocka_unit_test_setup_teardown(test_event_routing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_collect_several, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sequence_and_since, setup, teardown),
      cmocka_unit_test_setup_teardown(test_ring_overflow, setup, teardown),
      cmocka_unit_test_setup_teardown(test_device_deleted, setup, teardown),
      cmocka_unit_test_setup_teardown(test_collect_without_request_never_parks, setup, teardown),
      cmocka_unit_test_setup_teardown(test_waiters, setup, teardown),
      cmocka_unit_test_setup_teardown(test_repeated_subscription_id, setup, teardown),
      cmocka_unit_test_setup_teardown(test_concurrent_posting, setup, teardown),
      cmocka_unit_test(test_free_with_live_subscriptions),
      cmocka_unit_test_setup_teardown(test_job_subscription_and_reasons, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
