/*
 * test-store-devices.c: the store contract (SQLite, and PostgreSQL with
 * the argument "pg") for the device channel and release at the printer:
 * leases, per-device job states, deletion (store_device_delete's
 * all-or-nothing against concurrent job changes, and device.c's decision
 * of the job moves through it), the PIN counter, document purge, the
 * sweep listing, job references and migration 5; and what several nodes
 * on one database share: the event feed, subscriptions, and notify.c
 * over them (two stores on one database stand for two nodes).
 * Registrations, claims,
 * tombstones and panel sessions are in test-store-registrations.c, the
 * sign-in throttle in test-store-accounts.c.  Same fixture as
 * test-store.c (store-fixture.h).
 */
#include "store-fixture.h"
#include "notify.h"

#include "device.h"

/* ---- output devices ---- */

static void test_job_device_state(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");
  nimbus_id_t q = make_queue(st, a, "office"), qb = make_queue(st, b, "office");
  nimbus_id_t alice = make_user(st, a, "alice");
  nimbus_device_t d1 = make_registered(st, a, "d1", &q, 1, 1);
  nimbus_device_t d2 = make_registered(st, a, "d2", &q, 1, 2);
  nimbus_device_t db = make_registered(st, b, "db", &qb, 1, 3);
  nimbus_id_t j1 = make_job(st, a, q, alice, NIMBUS_JOB_FETCHABLE);
  nimbus_id_t j2 = make_job(st, a, q, alice, NIMBUS_JOB_FETCHABLE);
  nimbus_id_t j3 = make_job(st, a, q, alice, NIMBUS_JOB_HELD);

  /* Wrong state, wrong tenant, another tenant's device. */
  assert_int_equal(job_cas_device(st, a, j3, NIMBUS_JOB_FETCHABLE, 0, NIMBUS_JOB_PROCESSING, d1.id,
                                  "job-fetched", NULL),
                   STORE_CONFLICT);
  assert_int_equal(job_cas_device(st, b, j1, NIMBUS_JOB_FETCHABLE, 0, NIMBUS_JOB_PROCESSING, db.id,
                                  "job-fetched", NULL),
                   STORE_NOT_FOUND);
  assert_int_equal(job_cas_device(st, a, j1, NIMBUS_JOB_FETCHABLE, 0, NIMBUS_JOB_PROCESSING, db.id,
                                  "job-fetched", NULL),
                   STORE_NOT_FOUND);
  int64_t events = db_int(fx, "SELECT count(*) FROM job_events");

  /* Acknowledge: d1 gets j1; d2 loses the race. */
  assert_int_equal(job_cas_device(st, a, j1, NIMBUS_JOB_FETCHABLE, 0, NIMBUS_JOB_PROCESSING, d1.id,
                                  "job-fetched", NULL),
                   STORE_OK);
  assert_int_equal(job_cas_device(st, a, j1, NIMBUS_JOB_FETCHABLE, 0, NIMBUS_JOB_PROCESSING, d2.id,
                                  "job-fetched", NULL),
                   STORE_CONFLICT);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM job_events"), events + 1);
  nimbus_job_t got;
  assert_int_equal(store_job_get(st, a, j1, &got), STORE_OK);
  assert_int_equal(got.state, NIMBUS_JOB_PROCESSING);
  assert_int_equal(got.device_id, d1.id);
  nimbus_device_t dev;
  assert_int_equal(store_device_get(st, a, d1.id, &dev), STORE_OK);
  assert_int_equal(dev.jobs_in_progress, 1);
  assert_int_equal(store_device_get(st, a, d2.id, &dev), STORE_OK);
  assert_int_equal(dev.jobs_in_progress, 0);

  /* Progress only from the device it is assigned to. */
  assert_int_equal(store_job_set_progress(st, a, j1, d2.id, 3, "job-printing"), STORE_CONFLICT);
  assert_int_equal(store_job_set_progress(st, a, j2, d1.id, 3, "job-printing"), STORE_CONFLICT);
  assert_int_equal(store_job_set_progress(st, b, j1, d1.id, 3, "job-printing"), STORE_NOT_FOUND);
  assert_int_equal(store_job_set_progress(st, a, j1, d1.id, 3, "job-printing"), STORE_OK);
  assert_int_equal(store_job_set_progress(st, a, j1, d1.id, -1, NULL), STORE_OK);
  assert_int_equal(store_job_get(st, a, j1, &got), STORE_OK);
  assert_int_equal(got.impressions_completed, 3);
  assert_string_equal(got.device_state_reasons, "job-printing");

  /* List filters: by device, processing, fetchable for a device. */
  store_job_filter_t f = {.tenant_id = a, .which = STORE_WHICH_PROCESSING};
  int total = -1;
  collect_t c = list_jobs(st, f, &total);
  assert_int_equal(total, 1);
  assert_int_equal(c.ids[0], j1);
  f.which = STORE_WHICH_ALL;
  f.device_id = d2.id;
  c = list_jobs(st, f, &total);
  assert_int_equal(total, 0);
  assert_int_equal(job_set_target(st, a, j2, d2.id), STORE_OK);
  assert_int_equal(job_set_target(st, a, j2, db.id), STORE_NOT_FOUND);
  assert_int_equal(job_set_target(st, b, j2, 0), STORE_NOT_FOUND);
  nimbus_id_t j4 = make_job(st, a, q, alice, NIMBUS_JOB_FETCHABLE);
  store_job_filter_t ff = {.tenant_id = a, .which = STORE_WHICH_FETCHABLE, .fetchable_for = d1.id};
  c = list_jobs(st, ff, &total);
  assert_int_equal(total, 1);
  assert_int_equal(c.ids[0], j4);
  ff.fetchable_for = d2.id;
  c = list_jobs(st, ff, &total);
  assert_int_equal(total, 2);
  assert_int_equal(c.ids[0], j2);
  assert_int_equal(c.ids[1], j4);
  ff.fetchable_for = 0;
  ff.limit = 1;
  ff.offset = 1;
  c = list_jobs(st, ff, &total);
  assert_int_equal(total, 2);
  assert_int_equal(c.n, 1);
  assert_int_equal(c.ids[0], j4);
  assert_int_equal(store_job_get(st, a, j2, &got), STORE_OK);
  assert_int_equal(got.target_device_id, d2.id);

  /* Completion by the assigned device only (expect_device). */
  assert_int_equal(job_cas_device(st, a, j1, NIMBUS_JOB_PROCESSING, d2.id, NIMBUS_JOB_COMPLETED,
                                  d2.id, "job-completed", NULL),
                   STORE_CONFLICT);
  assert_int_equal(job_cas_device(st, a, j1, NIMBUS_JOB_PROCESSING, d1.id, NIMBUS_JOB_COMPLETED,
                                  d1.id, "job-completed", NULL),
                   STORE_OK);
  assert_int_equal(store_job_get(st, a, j1, &got), STORE_OK);
  assert_int_equal(got.state, NIMBUS_JOB_COMPLETED);
  assert_true(got.completed_at > 0);
  assert_int_equal(got.device_id, d1.id);
  assert_int_equal(store_device_get(st, a, d1.id, &dev), STORE_OK);
  assert_int_equal(dev.jobs_in_progress, 0);

  /* A pending job through set_device_state keeps owner_pending right. */
  assert_int_equal(
      job_cas_device(st, a, j3, NIMBUS_JOB_HELD, 0, NIMBUS_JOB_FETCHABLE, 0, "job-released", NULL),
      STORE_OK);
  int pending = -1;
  assert_int_equal(store_job_count_pending_for_owner(st, a, alice, &pending), STORE_OK);
  assert_int_equal(pending, 0);
  assert_int_equal(job_count_check(fx), 0);
  int64_t counts[10];
  assert_int_equal(store_job_count_by_state(st, counts), STORE_OK);
  assert_int_equal(counts[NIMBUS_JOB_COMPLETED], 1);
  assert_int_equal(counts[NIMBUS_JOB_FETCHABLE], 3);
}

/* Device deletion as devices/device.c decides it (device_delete_registration:
 * the policy through the store); returns how many jobs were made
 * fetchable for any printer in *reoffered (may be NULL). */
static store_status_t delete_device_n(store_t *st, nimbus_id_t tenant, nimbus_id_t id,
                                      nimbus_device_t *out, size_t *reoffered) {
  device_reoffered_t *r = NULL;
  size_t n = 0;
  store_status_t s = device_delete_registration(st, tenant, id, out, &r, &n, NULL);
  free(r);
  if (reoffered) *reoffered = n;
  return s;
}

static store_status_t delete_device(store_t *st, nimbus_id_t tenant, nimbus_id_t id,
                                    nimbus_device_t *out) {
  return delete_device_n(st, tenant, id, out, NULL);
}

static void test_device_delete(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");
  nimbus_id_t q = make_queue(st, a, "office");
  nimbus_id_t alice = make_user(st, a, "alice");
  nimbus_device_t d1 = make_registered(st, a, "d1", &q, 1, 1);
  nimbus_device_t d2 = make_registered(st, a, "d2", &q, 1, 2);
  nimbus_device_t un = make_device(st, a, "unclaimed", &q, 1, 3);
  nimbus_id_t jobs[4];
  for (int i = 0; i < 4; i++) jobs[i] = make_job(st, a, q, alice, NIMBUS_JOB_FETCHABLE);
  /* j0, j1 processing on d1; j2 on d2; j3 completed by d1. */
  nimbus_id_t dev_of[] = {d1.id, d1.id, d2.id, d1.id};
  for (int i = 0; i < 4; i++)
    assert_int_equal(job_cas_device(st, a, jobs[i], NIMBUS_JOB_FETCHABLE, 0, NIMBUS_JOB_PROCESSING,
                                    dev_of[i], "job-fetched", NULL),
                     STORE_OK);
  assert_int_equal(job_cas_device(st, a, jobs[3], NIMBUS_JOB_PROCESSING, d1.id,
                                  NIMBUS_JOB_COMPLETED, d1.id, "job-completed", NULL),
                   STORE_OK);
  nimbus_device_t got;
  assert_int_equal(store_device_get(st, a, d1.id, &got), STORE_OK);
  assert_int_equal(got.jobs_in_progress, 2);

  unsigned char cred1[32];
  fill_hash(cred1, 101);
  nimbus_device_tombstone_t tomb;
  assert_int_equal(store_device_tombstone_lookup(st, cred1, &tomb), STORE_NOT_FOUND);

  assert_int_equal(delete_device(st, b, d1.id, &got), STORE_NOT_FOUND);
  memset(&got, 0, sizeof got);
  size_t reoffered = 99;
  assert_int_equal(delete_device_n(st, a, d1.id, &got, &reoffered), STORE_OK);
  assert_int_equal(reoffered, 2);
  assert_int_equal(got.id, d1.id);
  assert_string_equal(got.name, "d1");
  assert_int_equal(got.jobs_in_progress, 2);
  assert_int_equal(delete_device(st, a, d1.id, NULL), STORE_NOT_FOUND);
  assert_int_equal(store_device_get(st, a, d1.id, &got), STORE_NOT_FOUND);
  assert_int_equal(store_device_get_by_credential(st, cred1, &got), STORE_NOT_FOUND);

  assert_int_equal(store_device_tombstone_lookup(st, cred1, &tomb), STORE_OK);
  assert_int_equal(tomb.device_id, d1.id);
  assert_int_equal(tomb.tenant_id, a);
  assert_string_equal(tomb.name, "d1");
  assert_string_equal(tomb.uuid, d1.uuid);
  assert_true(tomb.deleted_at > 0);

  /* Its processing jobs are offered again; others are left alone. */
  nimbus_job_t j;
  for (int i = 0; i < 2; i++) {
    assert_int_equal(store_job_get(st, a, jobs[i], &j), STORE_OK);
    assert_int_equal(j.state, NIMBUS_JOB_FETCHABLE);
    assert_int_equal(j.device_id, 0);
  }
  assert_int_equal(store_job_get(st, a, jobs[2], &j), STORE_OK);
  assert_int_equal(j.state, NIMBUS_JOB_PROCESSING);
  assert_int_equal(j.device_id, d2.id);
  assert_int_equal(store_job_get(st, a, jobs[3], &j), STORE_OK);
  assert_int_equal(j.state, NIMBUS_JOB_COMPLETED);
  assert_int_equal(j.device_id, d1.id); /* history */
  assert_int_equal(db_int(fx,
                          "SELECT count(*) FROM job_events WHERE event = 'job-reoffered' "
                          "AND from_state = 5 AND to_state = 4"),
                   2);
  char sql[160];
  snprintf(sql, sizeof sql, "SELECT count(*) FROM device_queues WHERE device_id = %lld",
           (long long)d1.id);
  assert_int_equal(db_int(fx, sql), 0);
  assert_int_equal(job_count_check(fx), 0);

  /* Jobs released to d2 alone: a fetchable one and one it is printing go
   * back to held when d2 is deleted (they are for no other printer); a job
   * for any printer of the queue stays fetchable. */
  nimbus_id_t for_d2 = make_job(st, a, q, alice, NIMBUS_JOB_FETCHABLE);
  nimbus_id_t any = make_job(st, a, q, alice, NIMBUS_JOB_FETCHABLE);
  assert_int_equal(job_set_target(st, a, for_d2, d2.id), STORE_OK);
  assert_int_equal(job_set_target(st, a, jobs[2], d2.id), STORE_OK);
  assert_int_equal(delete_device_n(st, a, d2.id, NULL, &reoffered), STORE_OK);
  assert_int_equal(reoffered, 0); /* both were for d2 alone: held, not offered */
  assert_int_equal(store_job_get(st, a, for_d2, &j), STORE_OK);
  assert_int_equal(j.state, NIMBUS_JOB_HELD);
  assert_int_equal(j.target_device_id, 0);
  assert_int_equal(store_job_get(st, a, jobs[2], &j), STORE_OK);
  assert_int_equal(j.state, NIMBUS_JOB_HELD);
  assert_int_equal(j.device_id, 0);
  assert_int_equal(store_job_get(st, a, any, &j), STORE_OK);
  assert_int_equal(j.state, NIMBUS_JOB_FETCHABLE);
  assert_int_equal(db_int(fx,
                          "SELECT count(*) FROM job_events WHERE event = 'job-held' "
                          "AND detail = 'its printer was deleted'"),
                   2);
  assert_int_equal(job_count_check(fx), 0);

  /* An unclaimed registration leaves no tombstone. */
  assert_int_equal(delete_device(st, a, un.id, NULL), STORE_OK);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM device_tombstones"), 2);
  unsigned char zero[32] = {0};
  assert_int_equal(store_device_tombstone_lookup(st, zero, &tomb), STORE_NOT_FOUND);
}

/* store_device_delete with changes decided from a listing that is out of
 * date: a job the device fetched after the listing (still naming the
 * device in a live state), or a change that no longer compares, is a
 * conflict and nothing is written; decided again, the delete goes
 * through. */
static void test_device_delete_concurrent_change(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a");
  nimbus_id_t q = make_queue(st, a, "office");
  nimbus_device_t d = make_registered(st, a, "d", &q, 1, 1);
  nimbus_id_t j1 = make_job(st, a, q, 0, NIMBUS_JOB_FETCHABLE);
  nimbus_id_t j2 = make_job(st, a, q, 0, NIMBUS_JOB_FETCHABLE);
  assert_int_equal(job_cas_device(st, a, j1, NIMBUS_JOB_FETCHABLE, 0, NIMBUS_JOB_PROCESSING, d.id,
                                  "job-fetched", NULL),
                   STORE_OK);
  static const nimbus_job_state_t live[] = {NIMBUS_JOB_PROCESSING, NIMBUS_JOB_FETCHABLE};
  /* Decided when only j1 was on d: offer it again. */
  store_job_change_t reoffer = {.job_id = j1,
                                .expected = NIMBUS_JOB_PROCESSING,
                                .expect_device = d.id,
                                .next = NIMBUS_JOB_FETCHABLE,
                                .set = STORE_JOB_SET_DEVICE,
                                .event = "job-reoffered"};
  /* Meanwhile d fetched j2. */
  assert_int_equal(job_cas_device(st, a, j2, NIMBUS_JOB_FETCHABLE, 0, NIMBUS_JOB_PROCESSING, d.id,
                                  "job-fetched", NULL),
                   STORE_OK);
  int64_t events = db_int(fx, "SELECT count(*) FROM job_events");
  assert_int_equal(store_device_delete(st, a, d.id, &reoffer, 1, live, 2, NULL), STORE_CONFLICT);
  /* Nothing was written: the device, its tombstone-less credential, j1. */
  nimbus_device_t got;
  assert_int_equal(store_device_get(st, a, d.id, &got), STORE_OK);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM device_tombstones"), 0);
  nimbus_job_t j;
  assert_int_equal(store_job_get(st, a, j1, &j), STORE_OK);
  assert_int_equal(j.state, NIMBUS_JOB_PROCESSING);
  assert_int_equal(j.device_id, d.id);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM job_events"), events);

  /* A change that no longer compares (j1 completed meanwhile). */
  assert_int_equal(job_cas_device(st, a, j1, NIMBUS_JOB_PROCESSING, d.id, NIMBUS_JOB_COMPLETED,
                                  d.id, "job-completed", NULL),
                   STORE_OK);
  events = db_int(fx, "SELECT count(*) FROM job_events");
  assert_int_equal(store_device_delete(st, a, d.id, &reoffer, 1, NULL, 0, NULL), STORE_CONFLICT);
  assert_int_equal(store_device_get(st, a, d.id, &got), STORE_OK);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM job_events"), events);

  /* device.c lists again and decides again: j2 is offered again. */
  size_t reoffered = 0;
  assert_int_equal(delete_device_n(st, a, d.id, NULL, &reoffered), STORE_OK);
  assert_int_equal(reoffered, 1);
  assert_int_equal(store_job_get(st, a, j2, &j), STORE_OK);
  assert_int_equal(j.state, NIMBUS_JOB_FETCHABLE);
  assert_int_equal(j.device_id, 0);
  assert_int_equal(store_job_get(st, a, j1, &j), STORE_OK);
  assert_int_equal(j.state, NIMBUS_JOB_COMPLETED);
  assert_int_equal(store_device_get(st, a, d.id, &got), STORE_NOT_FOUND);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM device_tombstones"), 1);
  assert_int_equal(job_count_check(fx), 0);
}

static bool lease_cb(const nimbus_job_t *j, void *ctx) {
  return collect_add(ctx, j->id, j->queue_name);
}

static void test_job_lease_expired(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");
  nimbus_id_t qa = make_queue(st, a, "office"), qb = make_queue(st, b, "office");
  nimbus_device_t fresh = make_registered(st, a, "fresh", &qa, 1, 1);
  nimbus_device_t silent = make_registered(st, b, "silent", &qb, 1, 2);
  int64_t now = (int64_t)time(NULL);
  assert_int_equal(store_device_touch(st, a, fresh.id, now + 1000, "persistent"), STORE_OK);
  assert_int_equal(store_device_touch(st, b, silent.id, 10, "polling"), STORE_OK);
  nimbus_id_t jf = make_job(st, a, qa, 0, NIMBUS_JOB_FETCHABLE);
  nimbus_id_t js = make_job(st, b, qb, 0, NIMBUS_JOB_FETCHABLE);
  nimbus_id_t jgone = make_job(st, a, qa, 0, NIMBUS_JOB_FETCHABLE);
  make_job(st, a, qa, 0, NIMBUS_JOB_FETCHABLE); /* not processing: never listed */
  assert_int_equal(job_cas_device(st, a, jf, NIMBUS_JOB_FETCHABLE, 0, NIMBUS_JOB_PROCESSING,
                                  fresh.id, "job-fetched", NULL),
                   STORE_OK);
  assert_int_equal(job_cas_device(st, b, js, NIMBUS_JOB_FETCHABLE, 0, NIMBUS_JOB_PROCESSING,
                                  silent.id, "job-fetched", NULL),
                   STORE_OK);
  assert_int_equal(job_cas_device(st, a, jgone, NIMBUS_JOB_FETCHABLE, 0, NIMBUS_JOB_PROCESSING,
                                  fresh.id, "job-fetched", NULL),
                   STORE_OK);
  char sql[128];
  snprintf(sql, sizeof sql, "UPDATE jobs SET device_id = 99999 WHERE id = %lld", (long long)jgone);
  db_write(fx, sql); /* a device row that no longer exists */

  /* Cutoff in the past: only the job without a device. */
  collect_t c = {0};
  assert_int_equal(store_job_list_lease_expired(st, now - 100, lease_cb, &c), STORE_OK);
  assert_int_equal(c.n, 1);
  assert_int_equal(c.ids[0], jgone);
  /* The acknowledgement counts as a sign of life: the silent device's job
   * expires only once the cutoff passes its state change too. */
  collect_t c2 = {0};
  assert_int_equal(store_job_list_lease_expired(st, now + 500, lease_cb, &c2), STORE_OK);
  assert_int_equal(c2.n, 2);
  assert_int_equal(c2.ids[0], js);
  assert_int_equal(c2.ids[1], jgone);
  collect_t c3 = {0};
  assert_int_equal(store_job_list_lease_expired(st, now + 2000, lease_cb, &c3), STORE_OK);
  assert_int_equal(c3.n, 3);
}

/* ---- release at the printer (issue 4) ---- */

static bool reference_valid(const char *r) {
  if (strlen(r) != 16) return false;
  for (const char *p = r; *p; p++)
    if (!strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ", *p)) return false;
  return true;
}

static void test_issue4_fields_round_trip(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  /* Defaults for callers that leave the new fields empty. */
  nimbus_id_t a = make_tenant(st, "a");
  nimbus_tenant_t t;
  assert_int_equal(store_tenant_get(st, a, &t), STORE_OK);
  assert_int_equal(t.retention_hours, 0);
  assert_string_equal(t.panel_login, "password");
  t.retention_hours = 48;
  snprintf(t.panel_login, sizeof t.panel_login, "pin");
  assert_int_equal(store_tenant_update(st, &t), STORE_OK);
  assert_int_equal(store_tenant_get(st, a, &t), STORE_OK);
  assert_int_equal(t.retention_hours, 48);
  assert_string_equal(t.panel_login, "pin");
  snprintf(t.panel_login, sizeof t.panel_login, "card");
  assert_int_not_equal(store_tenant_update(st, &t), STORE_OK); /* CHECK */
  nimbus_tenant_t t2 = {.retention_hours = 5};
  snprintf(t2.name, sizeof t2.name, "b");
  snprintf(t2.panel_login, sizeof t2.panel_login, "pin");
  assert_int_equal(store_tenant_insert(st, &t2), STORE_OK);
  assert_int_equal(store_tenant_get_by_name(st, "b", &t), STORE_OK);
  assert_int_equal(t.retention_hours, 5);
  assert_string_equal(t.panel_login, "pin");

  nimbus_id_t alice = make_user(st, a, "alice");
  nimbus_user_t u;
  assert_int_equal(store_user_get(st, a, alice, &u), STORE_OK);
  assert_string_equal(u.panel_pin_hash, "");
  snprintf(u.panel_pin_hash, sizeof u.panel_pin_hash, "$argon2id$pin");
  assert_int_equal(store_user_update(st, &u), STORE_OK);
  assert_int_equal(store_user_get_by_name(st, a, "alice", &u), STORE_OK);
  assert_string_equal(u.panel_pin_hash, "$argon2id$pin");

  nimbus_id_t q = make_queue(st, a, "office");
  nimbus_queue_t qq;
  assert_int_equal(store_queue_get_by_name(st, a, "office", &qq), STORE_OK);
  assert_string_equal(qq.release_scope, "this-printer");
  snprintf(qq.release_scope, sizeof qq.release_scope, "follow-me");
  assert_int_equal(store_queue_update(st, &qq), STORE_OK);
  assert_int_equal(store_queue_get_by_name(st, a, "office", &qq), STORE_OK);
  assert_string_equal(qq.release_scope, "follow-me");
  assert_int_equal(qq.id, q);

  /* Jobs: origin device (name by join, "" once deleted), reference. */
  nimbus_device_t d = make_registered(st, a, "lobby", &q, 1, 1);
  nimbus_job_t j = job_template(a, q, alice, NIMBUS_JOB_HELD);
  j.origin_device_id = d.id;
  assert_int_equal(store_job_insert(st, &j, NULL, 0), STORE_OK);
  assert_true(reference_valid(j.reference));
  nimbus_job_t got;
  assert_int_equal(store_job_get(st, a, j.id, &got), STORE_OK);
  assert_int_equal(got.origin_device_id, d.id);
  assert_string_equal(got.origin_device_name, "lobby");
  assert_string_equal(got.reference, j.reference);
  assert_int_equal(got.pin_failures, 0);
  assert_int_equal(got.pin_locked_until, 0);
  nimbus_id_t plain = make_job(st, a, q, alice, NIMBUS_JOB_HELD);

  store_job_filter_t f = {.tenant_id = a, .which = STORE_WHICH_ALL, .origin_device_id = d.id};
  int total = 0;
  collect_t c = list_jobs(st, f, &total);
  assert_int_equal(total, 1);
  assert_int_equal(c.n, 1);
  assert_int_equal(c.ids[0], j.id);
  f.origin_device_id = 0;
  c = list_jobs(st, f, &total);
  assert_int_equal(total, 2);
  assert_int_equal(c.ids[1], plain);

  assert_int_equal(store_device_delete(st, a, d.id, NULL, 0, NULL, 0, NULL), STORE_OK);
  assert_int_equal(store_job_get(st, a, j.id, &got), STORE_OK);
  assert_int_equal(got.origin_device_id, d.id);
  assert_string_equal(got.origin_device_name, "");
}

static void test_job_reference_unique(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");
  nimbus_id_t qa = make_queue(st, a, "q"), qb = make_queue(st, b, "q");
  enum { N = 40 };
  char refs[N][24];
  for (int i = 0; i < N; i++) {
    nimbus_job_t j = job_template(i % 2 ? a : b, i % 2 ? qa : qb, 0, NIMBUS_JOB_HELD);
    assert_int_equal(store_job_insert(st, &j, NULL, 0), STORE_OK);
    assert_true(reference_valid(j.reference));
    snprintf(refs[i], sizeof refs[i], "%s", j.reference);
    for (int k = 0; k < i; k++) assert_string_not_equal(refs[k], refs[i]);
  }
  assert_int_equal(db_int(fx, "SELECT count(DISTINCT reference) FROM jobs"), N);
  /* A reference the caller chose is kept, and is unique across tenants. */
  nimbus_job_t j = job_template(a, qa, 0, NIMBUS_JOB_HELD);
  snprintf(j.reference, sizeof j.reference, "%s", refs[0]);
  assert_int_equal(store_job_insert(st, &j, NULL, 0), STORE_CONFLICT);
  assert_int_equal(j.id, 0);
  snprintf(j.reference, sizeof j.reference, "MYOWNREFERENCE01");
  assert_int_equal(store_job_insert(st, &j, NULL, 0), STORE_OK);
  nimbus_job_t got;
  assert_int_equal(store_job_get(st, a, j.id, &got), STORE_OK);
  assert_string_equal(got.reference, "MYOWNREFERENCE01");
}

/* The PIN counter is a compare-and-set cell: a stale expected value is a
 * conflict that writes nothing; other tenants see nothing.  (The policy,
 * window and lockout, is release.c's: test-release.c.) */
static void test_job_pin_cas(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");
  nimbus_id_t q = make_queue(st, a, "q");
  nimbus_id_t j = make_job(st, a, q, 0, NIMBUS_JOB_HELD);
  store_pin_counter_t cur = {-1, -1, -1};
  assert_int_equal(store_job_pin_get(st, a, j, &cur), STORE_OK);
  assert_int_equal(cur.failures, 0);
  assert_int_equal(cur.window_start, 0);
  assert_int_equal(cur.locked_until, 0);
  assert_int_equal(store_job_pin_get(st, b, j, &cur), STORE_NOT_FOUND);
  assert_int_equal(store_job_pin_get(st, a, j + 99, &cur), STORE_NOT_FOUND);

  store_pin_counter_t zero = {0, 0, 0}, one = {1, 1000, 0}, locked = {3, 1000, 1900};
  assert_int_equal(store_job_pin_cas(st, b, j, &zero, &one), STORE_NOT_FOUND);
  assert_int_equal(store_job_pin_cas(st, a, j + 99, &zero, &one), STORE_NOT_FOUND);
  assert_int_equal(store_job_pin_cas(st, a, j, &zero, &one), STORE_OK);
  /* Stale: the counter is no longer zero; nothing is written. */
  assert_int_equal(store_job_pin_cas(st, a, j, &zero, &locked), STORE_CONFLICT);
  assert_int_equal(store_job_pin_get(st, a, j, &cur), STORE_OK);
  assert_int_equal(cur.failures, 1);
  assert_int_equal(cur.window_start, 1000);
  assert_int_equal(cur.locked_until, 0);
  /* Each field is compared. */
  store_pin_counter_t other_start = {1, 999, 0};
  assert_int_equal(store_job_pin_cas(st, a, j, &other_start, &locked), STORE_CONFLICT);
  assert_int_equal(store_job_pin_cas(st, a, j, &one, &locked), STORE_OK);
  nimbus_job_t got;
  assert_int_equal(store_job_get(st, a, j, &got), STORE_OK);
  assert_int_equal(got.pin_failures, 3);
  assert_int_equal(got.pin_window_start, 1000);
  assert_int_equal(got.pin_locked_until, 1900);
}

static void test_document_purge(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");
  nimbus_id_t q = make_queue(st, a, "q");
  nimbus_job_t j = job_template(a, q, 0, NIMBUS_JOB_HELD);
  nimbus_document_t docs[3] = {doc_template(1, "k1"), doc_template(1, STORE_INLINE_BLOB_KEY),
                               doc_template(1, "k3")};
  static const char bytes[] = "%PDF-inline";
  store_inline_t data[3] = {{NULL, 0}, {bytes, sizeof bytes}, {NULL, 0}};
  assert_int_equal(store_job_insert_data(st, &j, docs, data, 3), STORE_OK);
  char keys[4][NIMBUS_BLOB_KEY_MAX];
  int n = -1;

  /* Not terminal: refused, nothing changes. */
  assert_int_equal(store_document_purge(st, a, j.id, keys, 4, &n), STORE_CONFLICT);
  assert_int_equal(n, 0);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM document_data"), 1);
  assert_int_equal(store_document_purge(st, b, j.id, keys, 4, &n), STORE_NOT_FOUND);
  assert_int_equal(job_cas(st, a, j.id, NIMBUS_JOB_HELD, NIMBUS_JOB_CANCELED, "job-canceled", NULL),
                   STORE_OK);
  assert_int_equal(store_document_purge(st, b, j.id, keys, 4, &n), STORE_NOT_FOUND);

  /* Room for one key: the inline document and k1 go, k3 waits. */
  assert_int_equal(store_document_purge(st, a, j.id, keys, 1, &n), STORE_OK);
  assert_int_equal(n, 1);
  assert_string_equal(keys[0], "k1");
  assert_int_equal(db_int(fx, "SELECT count(*) FROM document_data"), 0);
  bool ref = true;
  assert_int_equal(store_blob_is_referenced(st, "k1", &ref), STORE_OK);
  assert_false(ref);
  assert_int_equal(store_blob_is_referenced(st, "k3", &ref), STORE_OK);
  assert_true(ref);

  /* The rest, then nothing: idempotent. */
  assert_int_equal(store_document_purge(st, a, j.id, keys, 4, &n), STORE_OK);
  assert_int_equal(n, 1);
  assert_string_equal(keys[0], "k3");
  assert_int_equal(store_document_purge(st, a, j.id, keys, 4, &n), STORE_OK);
  assert_int_equal(n, 0);
  nimbus_document_t out[4];
  int count = 0;
  assert_int_equal(store_document_list(st, a, j.id, out, 4, &count), STORE_OK);
  assert_int_equal(count, 3);
  for (int i = 0; i < 3; i++) assert_string_equal(out[i].blob_key, "");
  assert_int_equal(out[0].size, 1000); /* metadata stays */
  nimbus_job_t got;
  assert_int_equal(store_job_get(st, a, j.id, &got), STORE_OK);
  assert_int_equal(got.num_documents, 3);
  assert_int_equal(got.state, NIMBUS_JOB_CANCELED);
  /* A job without documents. */
  nimbus_id_t empty = make_job(st, a, q, 0, NIMBUS_JOB_COMPLETED);
  assert_int_equal(store_document_purge(st, a, empty, NULL, 0, &n), STORE_OK);
  assert_int_equal(n, 0);
}

typedef struct {
  int n;
  nimbus_id_t ids[16];
} ids_t;

static bool ids_cb(const nimbus_job_t *j, void *ctx) {
  ids_t *c = ctx;
  if (c->n < 16) c->ids[c->n++] = j->id;
  return true;
}

static bool ids_has(const ids_t *c, nimbus_id_t id) {
  for (int i = 0; i < c->n; i++)
    if (c->ids[i] == id) return true;
  return false;
}

/* The sweep listing is neutral: one tenant, one state, created before a
 * time, optionally only jobs still holding a document; by id, bounded. */
static void test_job_list_sweep(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");
  nimbus_id_t qa = make_queue(st, a, "q"), qb = make_queue(st, b, "q");
  int64_t now = (int64_t)time(NULL);

  nimbus_document_t d1 = doc_template(1, "blob-1");
  nimbus_job_t done_blob = job_template(a, qa, 0, NIMBUS_JOB_COMPLETED);
  assert_int_equal(store_job_insert(st, &done_blob, &d1, 1), STORE_OK);
  nimbus_document_t d2 = doc_template(1, "");
  nimbus_job_t done_purged = job_template(a, qa, 0, NIMBUS_JOB_COMPLETED);
  assert_int_equal(store_job_insert(st, &done_purged, &d2, 1), STORE_OK);
  nimbus_id_t held_old = make_job(st, a, qa, 0, NIMBUS_JOB_HELD);
  nimbus_id_t held_new = make_job(st, a, qa, 0, NIMBUS_JOB_HELD);
  nimbus_id_t held_old2 = make_job(st, a, qa, 0, NIMBUS_JOB_HELD);
  nimbus_id_t held_b = make_job(st, b, qb, 0, NIMBUS_JOB_HELD);
  char sql[160];
  snprintf(sql, sizeof sql, "UPDATE jobs SET created_at = %lld WHERE id IN (%lld, %lld, %lld)",
           (long long)(now - 3600), (long long)held_old, (long long)held_old2, (long long)held_b);
  db_write(fx, sql);

  ids_t c = {0};
  store_sweep_filter_t f = {
      .tenant_id = a, .state = NIMBUS_JOB_HELD, .created_before = now - 60, .limit = 10};
  assert_int_equal(store_job_list_sweep(st, &f, ids_cb, &c), STORE_OK);
  assert_int_equal(c.n, 2);
  assert_int_equal(c.ids[0], held_old); /* by id */
  assert_int_equal(c.ids[1], held_old2);
  /* Whenever: the new one too; limit bounds; another tenant's never. */
  memset(&c, 0, sizeof c);
  f.created_before = INT64_MAX;
  f.limit = 2;
  assert_int_equal(store_job_list_sweep(st, &f, ids_cb, &c), STORE_OK);
  assert_int_equal(c.n, 2);
  assert_int_equal(c.ids[1], held_new);
  assert_false(ids_has(&c, held_b));
  /* limit 0 lists nothing. */
  memset(&c, 0, sizeof c);
  f.limit = 0;
  assert_int_equal(store_job_list_sweep(st, &f, ids_cb, &c), STORE_OK);
  assert_int_equal(c.n, 0);

  /* Unpurged: only the completed job that still has its blob. */
  memset(&c, 0, sizeof c);
  f = (store_sweep_filter_t){.tenant_id = a,
                             .state = NIMBUS_JOB_COMPLETED,
                             .created_before = INT64_MAX,
                             .unpurged = true,
                             .limit = 10};
  assert_int_equal(store_job_list_sweep(st, &f, ids_cb, &c), STORE_OK);
  assert_int_equal(c.n, 1);
  assert_int_equal(c.ids[0], done_blob.id);
  f.unpurged = false;
  memset(&c, 0, sizeof c);
  assert_int_equal(store_job_list_sweep(st, &f, ids_cb, &c), STORE_OK);
  assert_int_equal(c.n, 2);
  /* Purged, it drops out. */
  char keys[2][NIMBUS_BLOB_KEY_MAX];
  int n = 0;
  assert_int_equal(store_document_purge(st, a, done_blob.id, keys, 2, &n), STORE_OK);
  f.unpurged = true;
  memset(&c, 0, sizeof c);
  assert_int_equal(store_job_list_sweep(st, &f, ids_cb, &c), STORE_OK);
  assert_int_equal(c.n, 0);
}

/* A database made by the version-4 schema, with data, opened by this
 * build: migration 5 adds the columns with their defaults and gives every
 * existing job a unique reference. */
static void test_migration_from_v4(void **state) {
  fixture_t *fx = *state;
  const char *data =
      "PRAGMA user_version = 4;"
      "INSERT INTO tenants (id, name, display_name, max_held_jobs_per_user, created_at) "
      "VALUES (1, 'acme', 'ACME', 7, 100);"
      "INSERT INTO users (id, tenant_id, name, role, password_hash, created_at) "
      "VALUES (1, 1, 'alice', 0, '$argon2id$x', 100);"
      "INSERT INTO queues (id, tenant_id, name, description, created_at) "
      "VALUES (1, 1, 'office', 'Office', 100);"
      "INSERT INTO jobs (id, tenant_id, queue_id, owner_id, owner_name, name, state, "
      "created_at, state_changed_at, pin_hash) VALUES "
      "(1, 1, 1, 1, 'alice', 'one', 2, 100, 100, '$pin'), "
      "(2, 1, 1, 1, 'alice', 'two', 6, 100, 100, ''), "
      "(12, 1, 1, 1, 'alice', 'twelve', 2, 100, 100, '');"
      "INSERT INTO documents (job_id, number, format, name, size, pages, blob_key, created_at) "
      "VALUES (1, 1, 'application/pdf', 'a.pdf', 10, 1, 'k1', 100);";
  open_store_from_version(fx, 4, data);
  store_t *st = fx->st;
  assert_int_equal(store_schema_version(st), store_sqlite_migration_count);
  nimbus_tenant_t t;
  assert_int_equal(store_tenant_get_by_name(st, "acme", &t), STORE_OK);
  assert_string_equal(t.display_name, "ACME");
  assert_int_equal(t.max_held_jobs_per_user, 7);
  assert_int_equal(t.retention_hours, 0);
  assert_string_equal(t.panel_login, "password");
  nimbus_user_t u;
  assert_int_equal(store_user_get_by_name(st, 1, "alice", &u), STORE_OK);
  assert_string_equal(u.password_hash, "$argon2id$x");
  assert_string_equal(u.panel_pin_hash, "");
  nimbus_queue_t q;
  assert_int_equal(store_queue_get_by_name(st, 1, "office", &q), STORE_OK);
  assert_string_equal(q.description, "Office");
  assert_string_equal(q.release_scope, "this-printer");
  nimbus_job_t j;
  assert_int_equal(store_job_get(st, 1, 1, &j), STORE_OK);
  assert_string_equal(j.name, "one");
  assert_string_equal(j.pin_hash, "$pin");
  assert_string_equal(j.reference, "J000000000000001");
  assert_int_equal(j.origin_device_id, 0);
  assert_string_equal(j.origin_device_name, "");
  assert_int_equal(j.pin_failures, 0);
  assert_int_equal(store_job_get(st, 1, 12, &j), STORE_OK);
  assert_string_equal(j.reference, "J000000000000012");
  nimbus_document_t d;
  int n = 0;
  assert_int_equal(store_document_list(st, 1, 1, &d, 1, &n), STORE_OK);
  assert_int_equal(n, 1);
  assert_string_equal(d.blob_key, "k1");
  /* New jobs get random references next to the old ones. */
  nimbus_id_t id = make_job(st, 1, 1, 1, NIMBUS_JOB_HELD);
  assert_int_equal(store_job_get(st, 1, id, &j), STORE_OK);
  assert_true(reference_valid(j.reference));
  assert_int_equal(db_int(fx, "SELECT count(DISTINCT reference) FROM jobs"), 4);
}

/* ---- the event feed (several nodes on one database) ---- */

/* Events of feed f until `want` have come or 5 s have passed; returns how
 * many (into out, at most max). */
static size_t feed_collect(store_feed_t *f, store_feed_event_t *out, size_t max, size_t want,
                           int timeout_ms) {
  size_t got = 0;
  for (int waited = 0; got < want && waited < timeout_ms; waited += 200) {
    size_t n = 0;
    assert_int_equal(store_feed_next(f, 200, out + got, max - got, &n), STORE_OK);
    got += n;
  }
  return got;
}

/* Two stores on one database stand for two nodes: each one's feed hands
 * out what the other committed, in order, with the job as it is and the
 * event's own states; never its own events, never a change that was
 * refused; a device deletion arrives as such. */
static void test_event_feed(void **state) {
  fixture_t *fx = *state;
  store_t *a = fx->st, *b = open_store(fx);
  assert_non_null(b);
  store_feed_t *fa = NULL, *fb = NULL;
  assert_int_equal(store_feed_open(a, &fa), STORE_OK);
  assert_int_equal(store_feed_open(b, &fb), STORE_OK);
  static store_feed_event_t ev[16]; /* large (a job each): not on the stack */

  nimbus_id_t t = make_tenant(b, "t"), q = make_queue(b, t, "q"), u = make_user(b, t, "u");
  nimbus_device_t d = make_registered(b, t, "d", &q, 1, 7);
  /* A job made on b: a's feed has it, b's own does not. */
  nimbus_id_t j = make_job(b, t, q, u, NIMBUS_JOB_FETCHABLE);
  assert_int_equal(feed_collect(fa, ev, 16, 1, 5000), 1);
  assert_int_equal(ev[0].tenant_id, t);
  assert_int_equal(ev[0].job.id, j);
  assert_int_equal(ev[0].job.queue_id, q);
  assert_int_equal(ev[0].from, 0);
  assert_int_equal(ev[0].to, NIMBUS_JOB_FETCHABLE);
  assert_int_equal(ev[0].deleted_device, 0);
  assert_int_equal(feed_collect(fb, ev, 16, 1, 400), 0);

  /* A refused change (the job is not held) commits nothing: no event. */
  assert_int_equal(
      job_cas_device(b, t, j, NIMBUS_JOB_HELD, 0, NIMBUS_JOB_FETCHABLE, 0, "job-released", NULL),
      STORE_CONFLICT);
  /* Fetched by d, then completed: two events, in order; the job read
   * with the first one is already completed, its event says processing. */
  assert_int_equal(job_cas_device(b, t, j, NIMBUS_JOB_FETCHABLE, 0, NIMBUS_JOB_PROCESSING, d.id,
                                  "job-fetched", NULL),
                   STORE_OK);
  nimbus_id_t j2 = make_job(b, t, q, u, NIMBUS_JOB_FETCHABLE);
  assert_int_equal(job_cas_device(b, t, j2, NIMBUS_JOB_FETCHABLE, 0, NIMBUS_JOB_PROCESSING, d.id,
                                  "job-fetched", NULL),
                   STORE_OK);
  assert_int_equal(feed_collect(fa, ev, 16, 3, 5000), 3);
  assert_int_equal(ev[0].job.id, j);
  assert_int_equal(ev[0].from, NIMBUS_JOB_FETCHABLE);
  assert_int_equal(ev[0].to, NIMBUS_JOB_PROCESSING);
  assert_int_equal(ev[0].job.device_id, d.id);
  assert_int_equal(ev[1].job.id, j2);
  assert_int_equal(ev[1].to, NIMBUS_JOB_FETCHABLE);
  assert_int_equal(ev[2].job.id, j2);
  assert_true(ev[0].id < ev[1].id && ev[1].id < ev[2].id);

  /* The device deleted on b: its jobs offered again, then the deletion. */
  size_t reoffered = 0;
  assert_int_equal(delete_device_n(b, t, d.id, NULL, &reoffered), STORE_OK);
  assert_int_equal(reoffered, 2);
  assert_int_equal(feed_collect(fa, ev, 16, 3, 5000), 3);
  assert_int_equal(ev[0].to, NIMBUS_JOB_FETCHABLE);
  assert_int_equal(ev[1].to, NIMBUS_JOB_FETCHABLE);
  assert_int_equal(ev[2].deleted_device, d.id);
  assert_int_equal(ev[2].tenant_id, t);
  assert_int_equal(ev[2].job.id, 0);

  /* And the other way round: a's events reach b's feed only. */
  nimbus_id_t j3 = make_job(a, t, q, u, NIMBUS_JOB_HELD);
  assert_int_equal(feed_collect(fb, ev, 16, 1, 5000), 1);
  assert_int_equal(ev[0].job.id, j3);
  assert_int_equal(ev[0].to, NIMBUS_JOB_HELD);
  assert_int_equal(feed_collect(fa, ev, 16, 1, 400), 0);

  store_feed_close(fa);
  store_feed_close(fb);
  store_close(b);
}

/* ---- subscriptions (every node knows each one) ---- */

static nimbus_subscription_t sub_of(nimbus_id_t t, nimbus_id_t q, nimbus_id_t d, nimbus_id_t job,
                                    int64_t expires_at) {
  return (nimbus_subscription_t){.tenant_id = t,
                                 .queue_id = q,
                                 .device_id = d,
                                 .job_id = job,
                                 .events = 3,
                                 .lease_seconds = 600,
                                 .expires_at = expires_at};
}

/* Subscriptions made on two stores of one database: ids unique across
 * both, each visible from the other; only live ones are read; renew and
 * delete only by their device; the sweep takes the expired; a deleted
 * device's go with it. */
static void test_subscriptions(void **state) {
  fixture_t *fx = *state;
  store_t *a = fx->st, *b = open_store(fx);
  assert_non_null(b);
  int64_t now = (int64_t)time(NULL);
  nimbus_id_t t = make_tenant(a, "t"), q = make_queue(a, t, "q");
  nimbus_device_t d = make_registered(a, t, "d", &q, 1, 3);
  nimbus_device_t e = make_registered(a, t, "e", &q, 1, 4);

  nimbus_subscription_t s1 = sub_of(t, q, d.id, 0, now + 600);
  nimbus_subscription_t s2 = sub_of(t, q, d.id, 42, now + 600);
  nimbus_subscription_t s3 = sub_of(t, q, e.id, 0, now + 600);
  nimbus_subscription_t old = sub_of(t, q, d.id, 0, now - 1);
  assert_int_equal(store_subscription_insert(a, &s1), STORE_OK);
  assert_int_equal(store_subscription_insert(b, &s2), STORE_OK);
  assert_int_equal(store_subscription_insert(a, &s3), STORE_OK);
  assert_int_equal(store_subscription_insert(b, &old), STORE_OK);
  assert_true(s1.id > 0 && s2.id > 0 && s3.id > 0);
  assert_true(s1.id != s2.id && s2.id != s3.id && s1.id != s3.id && old.id != s2.id);

  nimbus_subscription_t got;
  assert_int_equal(store_subscription_get(b, s1.id, now, &got), STORE_OK);
  assert_int_equal(got.device_id, d.id);
  assert_int_equal(got.queue_id, q);
  assert_int_equal(got.tenant_id, t);
  assert_int_equal(got.events, 3);
  assert_int_equal(got.lease_seconds, 600);
  assert_int_equal(store_subscription_get(a, s2.id, now, &got), STORE_OK);
  assert_int_equal(got.job_id, 42);
  assert_int_equal(store_subscription_get(a, old.id, now, &got), STORE_NOT_FOUND);
  assert_int_equal(store_subscription_get(a, 999999, now, &got), STORE_NOT_FOUND);

  nimbus_subscription_t list[8];
  int n = 0;
  assert_int_equal(store_subscription_list(b, d.id, now, list, 8, &n), STORE_OK);
  assert_int_equal(n, 2);
  assert_int_equal(list[0].id, s1.id < s2.id ? s1.id : s2.id);
  assert_int_equal(store_subscription_list(b, d.id, now, list, 1, &n), STORE_OK);
  assert_int_equal(n, 1);

  /* Only its own device renews or cancels it. */
  assert_int_equal(store_subscription_renew(b, s1.id, e.id, 60, now + 60), STORE_NOT_FOUND);
  assert_int_equal(store_subscription_renew(b, s1.id, d.id, 60, now + 60), STORE_OK);
  assert_int_equal(store_subscription_get(a, s1.id, now, &got), STORE_OK);
  assert_int_equal(got.lease_seconds, 60);
  assert_int_equal(got.expires_at, now + 60);
  assert_int_equal(store_subscription_delete(a, s2.id, e.id), STORE_NOT_FOUND);
  assert_int_equal(store_subscription_delete(a, s2.id, d.id), STORE_OK);
  assert_int_equal(store_subscription_delete(b, s2.id, d.id), STORE_NOT_FOUND);

  /* The sweep takes the expired one only. */
  int removed = -1;
  assert_int_equal(store_subscription_sweep(b, now, &removed), STORE_OK);
  assert_int_equal(removed, 1);
  assert_int_equal(store_subscription_sweep(b, now, &removed), STORE_OK);
  assert_int_equal(removed, 0);
  assert_int_equal(store_subscription_get(a, s1.id, now, &got), STORE_OK);

  /* A deleted device's subscriptions go; none can be made for it. */
  assert_int_equal(delete_device(b, t, d.id, NULL), STORE_OK);
  assert_int_equal(store_subscription_get(a, s1.id, now, &got), STORE_NOT_FOUND);
  nimbus_subscription_t late = sub_of(t, q, d.id, 0, now + 600);
  assert_int_equal(store_subscription_insert(a, &late), STORE_NOT_FOUND);
  assert_int_equal(store_subscription_get(a, s3.id, now, &got), STORE_OK);
  store_close(b);
}

/* Get-Notifications of one subscription as device dev, at or above since,
 * without parking: the events into out (8 at most), their number. */
static int collect_as(notify_t *n, nimbus_id_t dev, int sub, int since, notify_event_t *out) {
  bool parked, deleted;
  int got = notify_collect(n, dev, &sub, &since, 1, out, 8, NULL, &parked, &deleted);
  assert_false(parked);
  return got;
}

/* Two notify instances on one database stand for two nodes (notify.h):
 * a subscription made through one is known to the other (ids unique,
 * owner checked, listed, renewed, canceled there), the per-device limit
 * counts both, and a device that moves keeps one increasing sequence. */
static void test_notify_across_nodes(void **state) {
  fixture_t *fx = *state;
  store_t *b = open_store(fx);
  assert_non_null(b);
  notify_t *na = notify_new(1, fx->st), *nb = notify_new(1, b);
  assert_non_null(na);
  assert_non_null(nb);
  nimbus_id_t t = make_tenant(fx->st, "t"), q = make_queue(fx->st, t, "q");
  nimbus_device_t d = make_registered(fx->st, t, "d", &q, 1, 5);
  nimbus_device_t e = make_registered(fx->st, t, "e", &q, 1, 6);
  unsigned ev = NOTIFY_JOB_FETCHABLE | NOTIFY_JOB_STATE_CHANGED;

  int s1 = notify_subscribe(na, t, q, d.id, ev, 600);
  int s2 = notify_subscribe(nb, t, q, d.id, ev, 600);
  assert_true(s1 > 0 && s2 > 0 && s1 != s2);
  /* b knows a's subscription, for its device only */
  assert_true(notify_owns(nb, d.id, s1));
  assert_false(notify_owns(nb, e.id, s1));
  notify_sub_info_t info[4];
  assert_int_equal(notify_sub_list(na, d.id, q, 0, info, 4), 2);
  assert_int_equal(info[0].id, s1 < s2 ? s1 : s2);
  assert_true(notify_renew(nb, d.id, s1, 900));
  nimbus_subscription_t row;
  assert_int_equal(store_subscription_get(fx->st, s1, (int64_t)time(NULL), &row), STORE_OK);
  assert_int_equal(row.lease_seconds, 900);

  /* Events numbered on a; the device moves to b asking for 4 on: b's copy
   * (taken from the store at the owns/renew above, never collected from)
   * hands out what it heard since, numbered from 4: the two events a
   * already gave come again (a duplicate, never a miss), then the count
   * goes on. */
  notify_event_t out[8];
  for (int i = 1; i <= 2; i++) {
    notify_job_event(na, t, q, 0, NOTIFY_JOB_FETCHABLE, i, 3);
    notify_job_event(nb, t, q, 0, NOTIFY_JOB_FETCHABLE, i, 3); /* the feed's copy */
  }
  int since = 1;
  assert_int_equal(collect_as(na, d.id, s1, since, out), 2);
  assert_int_equal(out[1].sequence, 2);
  notify_job_event(na, t, q, 0, NOTIFY_JOB_FETCHABLE, 3, 3);
  since = 4;
  assert_int_equal(collect_as(nb, d.id, s1, since, out), 2);
  assert_int_equal(out[0].sequence, 4);
  assert_int_equal(out[0].job_id, 1);
  assert_int_equal(out[1].sequence, 5);
  notify_job_event(nb, t, q, 0, NOTIFY_JOB_FETCHABLE, 4, 3);
  since = 6;
  assert_int_equal(collect_as(nb, d.id, s1, since, out), 1);
  assert_int_equal(out[0].sequence, 6);
  assert_int_equal(out[0].job_id, 4);
  /* a copy that was collected from follows the device's count: asked for
   * more than it gave, it numbers on from there */
  since = 20;
  assert_int_equal(collect_as(nb, d.id, s1, since, out), 0);
  notify_job_event(nb, t, q, 0, NOTIFY_JOB_FETCHABLE, 5, 3);
  assert_int_equal(collect_as(nb, d.id, s1, since, out), 1);
  assert_int_equal(out[0].sequence, 20);

  /* Taken from the store by a node that had not held it (here at a
   * Renew), an event before the device's first Get-Notifications there is
   * not lost: it is numbered from what the device asks for. */
  nimbus_device_t f = make_registered(fx->st, t, "f", &q, 1, 7);
  int s3 = notify_subscribe(na, t, q, f.id, ev, 600);
  assert_true(s3 > 0);
  assert_true(notify_renew(nb, f.id, s3, 600));
  notify_job_event(nb, t, q, 0, NOTIFY_JOB_FETCHABLE, 9, 3);
  since = 41; /* it had seen 40 on a */
  assert_int_equal(collect_as(nb, f.id, s3, since, out), 1);
  assert_int_equal(out[0].sequence, 41);
  assert_int_equal(out[0].job_id, 9);
  /* a wild sequence number cannot make the count overflow */
  since = 2147483647;
  assert_int_equal(collect_as(nb, f.id, s3, since, out), 0);
  notify_job_event(nb, t, q, 0, NOTIFY_JOB_FETCHABLE, 10, 3);
  assert_int_equal(collect_as(nb, f.id, s3, since, out), 0);
  /* Canceled through b: a renewal through a fails, and a forgets it. */
  assert_true(notify_cancel(nb, f.id, s3));
  assert_false(notify_renew(na, f.id, s3, 600));
  assert_false(notify_owns(na, f.id, s3));

  /* Canceled through b: gone for a as well (its listing asks the store). */
  assert_true(notify_cancel(nb, d.id, s1));
  assert_false(notify_cancel(nb, d.id, s1));
  assert_int_equal(notify_sub_list(na, d.id, q, 0, info, 4), 1);
  assert_int_equal(info[0].id, s2);

  /* The limit counts the subscriptions made through either node. */
  int made = 1;
  while (made < 16) {
    assert_true(notify_subscribe(made % 2 ? na : nb, t, q, d.id, ev, 600) > 0);
    made++;
  }
  assert_int_equal(notify_subscribe(na, t, q, d.id, ev, 600), NOTIFY_TOO_MANY);
  assert_int_equal(notify_subscribe(nb, t, q, d.id, ev, 600), NOTIFY_TOO_MANY);
  assert_true(notify_subscribe(nb, t, q, e.id, ev, 600) > 0);

  notify_free(na);
  notify_free(nb);
  store_close(b);
}

int main(int argc, char **argv) {
  log_set_level(LOG_ERROR);
  if (argc > 1 && !strcmp(argv[1], "pg")) {
    int rc = fixture_use_pg();
    if (rc) return rc;
  }
  /* The store contract: these run on SQLite and, with "pg", on PostgreSQL. */
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_job_device_state, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_device_delete, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_device_delete_concurrent_change, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_job_lease_expired, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_issue4_fields_round_trip, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_job_reference_unique, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_job_reference_unique, setup_group, teardown),
      cmocka_unit_test_setup_teardown(test_job_pin_cas, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_document_purge, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_job_list_sweep, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_event_feed, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_event_feed, setup_group, teardown),
      cmocka_unit_test_setup_teardown(test_subscriptions, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_notify_across_nodes, setup_direct, teardown),
  };
  /* SQLite's own: its file, PRAGMAs, WAL, old schemas. */
  const struct CMUnitTest sqlite_tests[] = {
      cmocka_unit_test_setup_teardown(test_migration_from_v4, setup_closed, teardown),
  };
  int failed = cmocka_run_group_tests_name("store contract: jobs at devices", tests, NULL, NULL);
  if (!fixture_pg_url)
    failed += cmocka_run_group_tests_name("SQLite only", sqlite_tests, NULL, NULL);
  return failed;
}
