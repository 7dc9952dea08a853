/*
 * test-store.c: the store contract for jobs and documents through the
 * store.h interface, on SQLite (`test-store`) and on PostgreSQL
 * (`test-store pg`, meson test store-pg), each test on a fresh database
 * (store-fixture.h).  Facts the interface cannot show (event rows,
 * counters, rollbacks) are checked with plain SQL both backends run
 * (db_int()).  A second group runs on SQLite only: its file, PRAGMAs, WAL,
 * busy writers and migrations from old schemas.  The device channel and
 * release at the printer are tested in test-store-devices.c.
 */
#include "store-fixture.h"

/* ---- open and migrations ---- */

static void test_open_applies_migrations(void **state) {
  fixture_t *fx = *state;
  assert_true(store_sqlite_migration_count >= 1);
  assert_int_equal(store_schema_version(fx->st), store_sqlite_migration_count);
  assert_int_equal(db_int(fx, "PRAGMA user_version"), store_sqlite_migration_count);

  char mode[16];
  db_text(fx, "PRAGMA journal_mode", mode, sizeof mode);
  assert_string_equal(mode, "wal");
  assert_int_equal(db_int(fx,
                          "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name "
                          "IN ('tenants', 'users', 'tokens', 'queues', 'jobs', 'documents', "
                          "'job_events', 'audit', 'devices', 'device_queues', "
                          "'device_tombstones')"),
                   11);
  assert_int_equal(db_int(fx,
                          "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name "
                          "IN ('jobs_tenant_state', 'jobs_tenant_owner')"),
                   2);

  /* Reopening applies nothing twice and keeps data. */
  make_tenant(fx->st, "acme");
  reopen(fx);
  assert_int_equal(store_schema_version(fx->st), store_sqlite_migration_count);
  reopen(fx);
  assert_int_equal(store_schema_version(fx->st), store_sqlite_migration_count);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM tenants"), 1);
}

static void test_open_rejects_garbage(void **state) {
  fixture_t *fx = *state;
  FILE *f = fopen(fx->path, "wb");
  assert_non_null(f);
  for (int i = 0; i < 512; i++) fputs("not a database ", f);
  fclose(f);
  char err[256] = "";
  store_options_t opts = {.group_commit_max = 1};
  assert_null(store_open(fx->path, &opts, err, sizeof err));
  assert_true(strlen(err) > 0);
}

static void test_open_rejects_newer_schema(void **state) {
  fixture_t *fx = *state;
  db_write(fx, "PRAGMA user_version = 999");
  char err[256] = "";
  store_options_t opts = {.group_commit_max = 1};
  assert_null(store_open(fx->path, &opts, err, sizeof err));
  assert_non_null(strstr(err, "newer"));
}

/* ---- jobs ---- */

static void test_job_insert_and_get(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");
  nimbus_id_t qa = make_queue(st, a, "office"), qb = make_queue(st, b, "office");
  nimbus_id_t alice = make_user(st, a, "alice"), mallory = make_user(st, b, "mallory");

  nimbus_job_t j = job_template(a, qa, alice, NIMBUS_JOB_HELD);
  j.copies = 3;
  snprintf(j.name, sizeof j.name, "Quarterly report");
  snprintf(j.origin_host, sizeof j.origin_host, "10.0.0.7");
  snprintf(j.account_id, sizeof j.account_id, "dept-42");
  snprintf(j.accounting_user_id, sizeof j.accounting_user_id, "alice@a");
  snprintf(j.hold_until, sizeof j.hold_until, "indefinite");
  snprintf(j.pin_hash, sizeof j.pin_hash, "$argon2id$pin");
  snprintf(j.attrs_json, sizeof j.attrs_json, "{\"sides\":\"two-sided-long-edge\"}");
  nimbus_document_t docs[2] = {doc_template(4, "aaaa"), doc_template(6, "bbbb")};
  int64_t before = (int64_t)time(NULL);
  assert_int_equal(store_job_insert(st, &j, docs, 2), STORE_OK);
  assert_true(j.id > 0);
  assert_true(j.created_at >= before);
  assert_int_equal(j.state_changed_at, j.created_at);
  assert_int_equal(j.completed_at, 0);
  assert_int_equal(j.pages, 10);
  assert_int_equal(j.impressions, 30);
  assert_int_equal(j.num_documents, 2);
  assert_int_equal(docs[0].job_id, j.id);
  assert_int_equal(docs[1].job_id, j.id);
  assert_int_equal(docs[0].number, 1);
  assert_int_equal(docs[1].number, 2);

  nimbus_job_t got;
  assert_int_equal(store_job_get(st, a, j.id, &got), STORE_OK);
  assert_int_equal(got.tenant_id, a);
  assert_int_equal(got.queue_id, qa);
  assert_int_equal(got.owner_id, alice);
  assert_string_equal(got.queue_name, "office");
  assert_string_equal(got.owner_name, j.owner_name);
  assert_string_equal(got.name, "Quarterly report");
  assert_string_equal(got.origin_host, "10.0.0.7");
  assert_int_equal(got.state, NIMBUS_JOB_HELD);
  assert_int_equal(got.created_at, j.created_at);
  assert_int_equal(got.copies, 3);
  assert_int_equal(got.pages, 10);
  assert_int_equal(got.impressions, 30);
  assert_int_equal(got.num_documents, 2);
  assert_string_equal(got.account_id, "dept-42");
  assert_string_equal(got.accounting_user_id, "alice@a");
  assert_string_equal(got.hold_until, "indefinite");
  assert_string_equal(got.pin_hash, "$argon2id$pin");
  assert_string_equal(got.attrs_json, j.attrs_json);

  nimbus_document_t out[4];
  int n = -1;
  assert_int_equal(store_document_list(st, a, j.id, out, 4, &n), STORE_OK);
  assert_int_equal(n, 2);
  assert_int_equal(out[0].number, 1);
  assert_int_equal(out[0].pages, 4);
  assert_string_equal(out[0].blob_key, "aaaa");
  assert_string_equal(out[0].format, "application/pdf");
  assert_string_equal(out[1].blob_key, "bbbb");
  assert_int_equal(out[1].size, 1000);
  assert_int_equal(store_document_list(st, a, j.id, out, 1, &n), STORE_OK);
  assert_int_equal(n, 1);

  assert_int_equal(db_int(fx,
                          "SELECT count(*) FROM job_events WHERE event = 'job-created' "
                          "AND from_state IS NULL AND to_state = 2"),
                   1);

  /* Another tenant sees nothing. */
  assert_int_equal(store_job_get(st, b, j.id, &got), STORE_NOT_FOUND);
  assert_int_equal(store_document_list(st, b, j.id, out, 4, &n), STORE_NOT_FOUND);
  assert_int_equal(n, 0);

  /* Anonymous job: owner 0 reads back as 0. */
  nimbus_id_t anon = make_job(st, a, qa, 0, NIMBUS_JOB_RECEIVED);
  assert_int_equal(store_job_get(st, a, anon, &got), STORE_OK);
  assert_int_equal(got.owner_id, 0);

  /* References into another tenant, or to nothing, are NOT_FOUND. */
  nimbus_job_t bad = job_template(a, qb, alice, NIMBUS_JOB_HELD);
  assert_int_equal(store_job_insert(st, &bad, NULL, 0), STORE_NOT_FOUND);
  assert_int_equal(bad.id, 0);
  bad = job_template(a, qa, mallory, NIMBUS_JOB_HELD);
  assert_int_equal(store_job_insert(st, &bad, NULL, 0), STORE_NOT_FOUND);
  bad = job_template(a, qa + 1000, alice, NIMBUS_JOB_HELD);
  assert_int_equal(store_job_insert(st, &bad, NULL, 0), STORE_NOT_FOUND);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM jobs"), 2);
}

/* A failing document rolls back the job and its event (direct and grouped). */
static void test_job_insert_failure_rolls_back(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a");
  nimbus_id_t q = make_queue(st, a, "office");
  nimbus_job_t j = job_template(a, q, 0, NIMBUS_JOB_HELD);
  nimbus_document_t docs[2] = {doc_template(1, "k1"), doc_template(-1, "k2")};
  assert_int_equal(store_job_insert(st, &j, docs, 2), STORE_ERROR);
  assert_int_equal(j.id, 0);
  assert_int_equal(docs[0].job_id, 0);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM jobs"), 0);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM documents"), 0);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM job_events"), 0);
  /* The store still works afterwards. */
  make_job(st, a, q, 0, NIMBUS_JOB_HELD);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM jobs"), 1);
}

static void test_job_list_filters(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");
  nimbus_id_t q1 = make_queue(st, a, "q1"), q2 = make_queue(st, a, "q2");
  nimbus_id_t qb = make_queue(st, b, "qb");
  nimbus_id_t alice = make_user(st, a, "alice"), bob = make_user(st, a, "bob");

  /* id order: held(q1,alice) fetchable(q1,bob) completed(q2,alice) held(q2,bob)
   * canceled(q1,alice) received(q2,anon) */
  nimbus_id_t j[6];
  j[0] = make_job(st, a, q1, alice, NIMBUS_JOB_HELD);
  j[1] = make_job(st, a, q1, bob, NIMBUS_JOB_FETCHABLE);
  j[2] = make_job(st, a, q2, alice, NIMBUS_JOB_COMPLETED);
  j[3] = make_job(st, a, q2, bob, NIMBUS_JOB_HELD);
  j[4] = make_job(st, a, q1, alice, NIMBUS_JOB_CANCELED);
  j[5] = make_job(st, a, q2, 0, NIMBUS_JOB_RECEIVED);
  make_job(st, b, qb, 0, NIMBUS_JOB_HELD);

  int total = -1;
  collect_t c =
      list_jobs(st, (store_job_filter_t){.tenant_id = a, .which = STORE_WHICH_ALL}, &total);
  assert_int_equal(total, 6);
  assert_int_equal(c.n, 6);
  for (int i = 0; i < 6; i++) assert_int_equal(c.ids[i], j[i]);
  assert_string_equal(c.names[0], "q1"); /* queue name joined */
  assert_string_equal(c.names[2], "q2");

  c = list_jobs(st, (store_job_filter_t){.tenant_id = a, .which = STORE_WHICH_NOT_COMPLETED},
                &total);
  assert_int_equal(total, 4);
  assert_int_equal(c.ids[0], j[0]);
  assert_int_equal(c.ids[1], j[1]);
  assert_int_equal(c.ids[2], j[3]);
  assert_int_equal(c.ids[3], j[5]);

  c = list_jobs(st, (store_job_filter_t){.tenant_id = a, .which = STORE_WHICH_COMPLETED}, &total);
  assert_int_equal(total, 2);
  assert_int_equal(c.ids[0], j[2]);
  assert_int_equal(c.ids[1], j[4]);

  c = list_jobs(st, (store_job_filter_t){.tenant_id = a, .which = STORE_WHICH_HELD}, &total);
  assert_int_equal(total, 2);
  assert_int_equal(c.ids[0], j[0]);
  assert_int_equal(c.ids[1], j[3]);

  c = list_jobs(st, (store_job_filter_t){.tenant_id = a, .which = STORE_WHICH_FETCHABLE}, &total);
  assert_int_equal(total, 1);
  assert_int_equal(c.ids[0], j[1]);

  c = list_jobs(st,
                (store_job_filter_t){.tenant_id = a, .owner_id = alice, .which = STORE_WHICH_ALL},
                &total);
  assert_int_equal(total, 3);
  assert_int_equal(c.ids[0], j[0]);
  assert_int_equal(c.ids[1], j[2]);
  assert_int_equal(c.ids[2], j[4]);

  c = list_jobs(st, (store_job_filter_t){.tenant_id = a, .queue_id = q2, .which = STORE_WHICH_ALL},
                &total);
  assert_int_equal(total, 3);
  assert_int_equal(c.ids[0], j[2]);

  c = list_jobs(
      st,
      (store_job_filter_t){
          .tenant_id = a, .queue_id = q1, .owner_id = alice, .which = STORE_WHICH_NOT_COMPLETED},
      &total);
  assert_int_equal(total, 1);
  assert_int_equal(c.ids[0], j[0]);

  /* limit/offset page; total ignores them. */
  c = list_jobs(
      st, (store_job_filter_t){.tenant_id = a, .which = STORE_WHICH_ALL, .limit = 2, .offset = 1},
      &total);
  assert_int_equal(total, 6);
  assert_int_equal(c.n, 2);
  assert_int_equal(c.ids[0], j[1]);
  assert_int_equal(c.ids[1], j[2]);

  c = list_jobs(st,
                (store_job_filter_t){
                    .tenant_id = a, .which = STORE_WHICH_ALL, .limit = 2, .newest_first = true},
                &total);
  assert_int_equal(total, 6);
  assert_int_equal(c.n, 2);
  assert_int_equal(c.ids[0], j[5]);
  assert_int_equal(c.ids[1], j[4]);

  c = list_jobs(st, (store_job_filter_t){.tenant_id = a, .which = STORE_WHICH_ALL, .offset = 10},
                &total);
  assert_int_equal(c.n, 0);
  assert_int_equal(total, 6);

  /* total may be NULL; the callback may stop early. */
  collect_t stop = {.stop_after = 2};
  store_job_filter_t f = {.tenant_id = a, .which = STORE_WHICH_ALL};
  assert_int_equal(store_job_list(st, &f, job_cb, &stop, NULL), STORE_OK);
  assert_int_equal(stop.n, 2);

  /* Tenant isolation: b's filter, and a's queue/owner ids under b. */
  c = list_jobs(st, (store_job_filter_t){.tenant_id = b, .which = STORE_WHICH_ALL}, &total);
  assert_int_equal(total, 1);
  c = list_jobs(st, (store_job_filter_t){.tenant_id = b, .queue_id = q1, .which = STORE_WHICH_ALL},
                &total);
  assert_int_equal(total, 0);
  assert_int_equal(c.n, 0);
  c = list_jobs(st,
                (store_job_filter_t){.tenant_id = b, .owner_id = alice, .which = STORE_WHICH_ALL},
                &total);
  assert_int_equal(total, 0);
}

/* store_job_apply() is all or nothing: one change that does not compare
 * (or names another tenant's queue or device) and no change, no event row
 * is written; changes of one job apply in order. */
static void test_job_apply_all_or_nothing(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");
  nimbus_id_t q = make_queue(st, a, "office"), q2 = make_queue(st, a, "lobby");
  nimbus_id_t qb = make_queue(st, b, "office");
  nimbus_id_t j1 = make_job(st, a, q, 0, NIMBUS_JOB_HELD);
  nimbus_id_t j2 = make_job(st, a, q, 0, NIMBUS_JOB_FETCHABLE);
  int64_t events = db_int(fx, "SELECT count(*) FROM job_events");
  store_job_change_t v[2] = {
      {.job_id = j1,
       .expected = NIMBUS_JOB_HELD,
       .next = NIMBUS_JOB_FETCHABLE,
       .set = STORE_JOB_SET_QUEUE,
       .queue_id = q2,
       .event = "job-released"},
      {.job_id = j2, .expected = NIMBUS_JOB_HELD, .next = NIMBUS_JOB_CANCELED, .event = "x"}};

  /* j2 is not held: the conflict undoes j1's change too. */
  assert_int_equal(store_job_apply(st, a, v, 2), STORE_CONFLICT);
  /* j2 in another tenant: not found, nothing written. */
  v[1].expected = NIMBUS_JOB_FETCHABLE;
  assert_int_equal(store_job_apply(st, b, v, 2), STORE_NOT_FOUND);
  /* Another tenant's queue: not found. */
  v[0].queue_id = qb;
  assert_int_equal(store_job_apply(st, a, v, 2), STORE_NOT_FOUND);
  nimbus_job_t got;
  assert_int_equal(store_job_get(st, a, j1, &got), STORE_OK);
  assert_int_equal(got.state, NIMBUS_JOB_HELD);
  assert_int_equal(got.queue_id, q);
  assert_int_equal(store_job_get(st, a, j2, &got), STORE_OK);
  assert_int_equal(got.state, NIMBUS_JOB_FETCHABLE);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM job_events"), events);
  assert_int_equal(job_count_check(fx), 0);

  /* Both compare: both apply, with their event rows. */
  v[0].queue_id = q2;
  assert_int_equal(store_job_apply(st, a, v, 2), STORE_OK);
  assert_int_equal(store_job_get(st, a, j1, &got), STORE_OK);
  assert_int_equal(got.state, NIMBUS_JOB_FETCHABLE);
  assert_int_equal(got.queue_id, q2);
  assert_string_equal(got.queue_name, "lobby");
  assert_int_equal(store_job_get(st, a, j2, &got), STORE_OK);
  assert_int_equal(got.state, NIMBUS_JOB_CANCELED);
  assert_true(got.completed_at > 0);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM job_events"), events + 2);

  /* One job twice: the second change compares against the first's state. */
  nimbus_id_t j3 = make_job(st, a, q, 0, NIMBUS_JOB_HELD);
  store_job_change_t twice[2] = {
      {.job_id = j3, .expected = NIMBUS_JOB_HELD, .next = NIMBUS_JOB_FETCHABLE, .event = "r"},
      {.job_id = j3, .expected = NIMBUS_JOB_FETCHABLE, .next = NIMBUS_JOB_HELD, .event = "h"}};
  assert_int_equal(store_job_apply(st, a, twice, 2), STORE_OK);
  assert_int_equal(store_job_get(st, a, j3, &got), STORE_OK);
  assert_int_equal(got.state, NIMBUS_JOB_HELD);
  assert_int_equal(job_count_check(fx), 0);
}

static void test_job_apply_state(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");
  nimbus_id_t q = make_queue(st, a, "office");
  nimbus_id_t id = make_job(st, a, q, 0, NIMBUS_JOB_HELD);

  /* CAS: wrong expected state. */
  assert_int_equal(
      job_cas(st, a, id, NIMBUS_JOB_FETCHABLE, NIMBUS_JOB_PROCESSING, "job-fetched", NULL),
      STORE_CONFLICT);
  /* Other tenant or missing job. */
  assert_int_equal(job_cas(st, b, id, NIMBUS_JOB_HELD, NIMBUS_JOB_FETCHABLE, "job-released", NULL),
                   STORE_NOT_FOUND);
  assert_int_equal(
      job_cas(st, a, id + 99, NIMBUS_JOB_HELD, NIMBUS_JOB_FETCHABLE, "job-released", NULL),
      STORE_NOT_FOUND);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM job_events"), 1); /* job-created only */

  assert_int_equal(job_cas(st, a, id, NIMBUS_JOB_HELD, NIMBUS_JOB_FETCHABLE, "job-released",
                           "by alice at printer 3"),
                   STORE_OK);
  nimbus_job_t got;
  assert_int_equal(store_job_get(st, a, id, &got), STORE_OK);
  assert_int_equal(got.state, NIMBUS_JOB_FETCHABLE);
  assert_int_equal(got.completed_at, 0);
  assert_true(got.state_changed_at >= got.created_at);
  /* Second release of the same job loses the race. */
  assert_int_equal(job_cas(st, a, id, NIMBUS_JOB_HELD, NIMBUS_JOB_FETCHABLE, "job-released", NULL),
                   STORE_CONFLICT);

  assert_int_equal(
      job_cas(st, a, id, NIMBUS_JOB_FETCHABLE, NIMBUS_JOB_PROCESSING, "job-fetched", NULL),
      STORE_OK);
  assert_int_equal(
      job_cas(st, a, id, NIMBUS_JOB_PROCESSING, NIMBUS_JOB_ABORTED, "job-aborted", NULL), STORE_OK);
  assert_int_equal(store_job_get(st, a, id, &got), STORE_OK);
  assert_int_equal(got.state, NIMBUS_JOB_ABORTED);
  assert_true(got.completed_at > 0);
  /* Re-offer: leaving a terminal state clears completed_at. */
  assert_int_equal(
      job_cas(st, a, id, NIMBUS_JOB_ABORTED, NIMBUS_JOB_FETCHABLE, "job-reoffered", NULL),
      STORE_OK);
  assert_int_equal(store_job_get(st, a, id, &got), STORE_OK);
  assert_int_equal(got.completed_at, 0);

  assert_int_equal(db_int(fx, "SELECT count(*) FROM job_events"), 5);
  assert_int_equal(db_int(fx,
                          "SELECT count(*) FROM job_events WHERE event = 'job-released' "
                          "AND from_state = 2 AND to_state = 4 "
                          "AND detail = 'by alice at printer 3' AND ts > 0"),
                   1);
  char ev[32];
  db_text(fx, "SELECT event FROM job_events ORDER BY id DESC LIMIT 1", ev, sizeof ev);
  assert_string_equal(ev, "job-reoffered");
}

static void test_document_add(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");
  nimbus_id_t q = make_queue(st, a, "office");

  nimbus_job_t j = job_template(a, q, 0, NIMBUS_JOB_RECEIVED);
  j.copies = 2;
  nimbus_document_t first = doc_template(3, "k1");
  assert_int_equal(store_job_insert(st, &j, &first, 1), STORE_OK);

  nimbus_document_t d2 = doc_template(5, "k2");
  assert_int_equal(store_document_add(st, b, j.id, &d2, false, NIMBUS_JOB_HELD), STORE_NOT_FOUND);
  assert_int_equal(store_document_add(st, a, j.id, &d2, false, NIMBUS_JOB_HELD), STORE_OK);
  assert_int_equal(d2.number, 2);
  assert_int_equal(d2.job_id, j.id);
  nimbus_job_t got;
  assert_int_equal(store_job_get(st, a, j.id, &got), STORE_OK);
  assert_int_equal(got.num_documents, 2);
  assert_int_equal(got.pages, 8);
  assert_int_equal(got.impressions, 16);
  assert_int_equal(got.state, NIMBUS_JOB_RECEIVED);

  nimbus_document_t d3 = doc_template(1, "k3");
  assert_int_equal(store_document_add(st, a, j.id, &d3, true, NIMBUS_JOB_HELD), STORE_OK);
  assert_int_equal(d3.number, 3);
  assert_int_equal(store_job_get(st, a, j.id, &got), STORE_OK);
  assert_int_equal(got.num_documents, 3);
  assert_int_equal(got.pages, 9);
  assert_int_equal(got.impressions, 18);
  assert_int_equal(got.state, NIMBUS_JOB_HELD);
  assert_int_equal(db_int(fx,
                          "SELECT count(*) FROM job_events WHERE event = 'job-closed' "
                          "AND from_state = 1 AND to_state = 2"),
                   1);

  /* Closed: no more documents. */
  nimbus_document_t d4 = doc_template(1, "k4");
  assert_int_equal(store_document_add(st, a, j.id, &d4, false, NIMBUS_JOB_HELD), STORE_CONFLICT);
  assert_int_equal(store_document_add(st, a, j.id + 50, &d4, false, NIMBUS_JOB_HELD),
                   STORE_NOT_FOUND);

  nimbus_document_t out[8];
  int n = 0;
  assert_int_equal(store_document_list(st, a, j.id, out, 8, &n), STORE_OK);
  assert_int_equal(n, 3);
  for (int i = 0; i < 3; i++) assert_int_equal(out[i].number, i + 1);
  assert_string_equal(out[2].blob_key, "k3");
  assert_int_equal(db_int(fx, "SELECT count(*) FROM documents"), 3);

  /* Create-Job style: no documents at insert; first add gets number 1. */
  nimbus_id_t empty = make_job(st, a, q, 0, NIMBUS_JOB_RECEIVED);
  nimbus_document_t e1 = doc_template(2, "e1");
  assert_int_equal(store_document_add(st, a, empty, &e1, true, NIMBUS_JOB_FETCHABLE), STORE_OK);
  assert_int_equal(e1.number, 1);
  assert_int_equal(store_job_get(st, a, empty, &got), STORE_OK);
  assert_int_equal(got.state, NIMBUS_JOB_FETCHABLE);
  assert_int_equal(got.impressions, 2); /* copies defaulted to 1 */
}

static void test_count_pending_for_owner(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");
  nimbus_id_t q = make_queue(st, a, "office");
  nimbus_id_t alice = make_user(st, a, "alice"), bob = make_user(st, a, "bob");
  make_job(st, a, q, alice, NIMBUS_JOB_RECEIVED);
  make_job(st, a, q, alice, NIMBUS_JOB_HELD);
  make_job(st, a, q, alice, NIMBUS_JOB_AWAITING_PAYMENT);
  make_job(st, a, q, alice, NIMBUS_JOB_FETCHABLE);
  make_job(st, a, q, alice, NIMBUS_JOB_COMPLETED);
  make_job(st, a, q, bob, NIMBUS_JOB_HELD);
  int n = -1;
  assert_int_equal(store_job_count_pending_for_owner(st, a, alice, &n), STORE_OK);
  assert_int_equal(n, 3);
  assert_int_equal(store_job_count_pending_for_owner(st, a, bob, &n), STORE_OK);
  assert_int_equal(n, 1);
  assert_int_equal(store_job_count_pending_for_owner(st, b, alice, &n), STORE_OK);
  assert_int_equal(n, 0);
}

/* The per-printer limit's count: pending jobs whose origin is that printer,
 * owner or not, in that tenant only. */
static void test_count_pending_for_origin(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");
  nimbus_id_t q = make_queue(st, a, "office");
  nimbus_id_t alice = make_user(st, a, "alice");
  static const nimbus_job_state_t states[] = {NIMBUS_JOB_RECEIVED, NIMBUS_JOB_HELD,
                                              NIMBUS_JOB_AWAITING_PAYMENT, NIMBUS_JOB_FETCHABLE,
                                              NIMBUS_JOB_CANCELED};
  for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
    nimbus_job_t j = job_template(a, q, i == 1 ? 0 : alice, states[i]); /* one owner-less */
    j.origin_device_id = 7;
    assert_int_equal(store_job_insert(st, &j, NULL, 0), STORE_OK);
  }
  nimbus_job_t other = job_template(a, q, alice, NIMBUS_JOB_HELD);
  other.origin_device_id = 8;
  assert_int_equal(store_job_insert(st, &other, NULL, 0), STORE_OK);
  make_job(st, a, q, alice, NIMBUS_JOB_HELD); /* straight to the queue */
  int n = -1;
  assert_int_equal(store_job_count_pending_for_origin(st, a, 7, &n), STORE_OK);
  assert_int_equal(n, 3);
  assert_int_equal(store_job_count_pending_for_origin(st, a, 8, &n), STORE_OK);
  assert_int_equal(n, 1);
  assert_int_equal(store_job_count_pending_for_origin(st, b, 7, &n), STORE_OK);
  assert_int_equal(n, 0);
  assert_int_equal(store_job_count_pending_for_origin(st, a, 0, &n), STORE_OK);
  assert_int_equal(n, 0); /* "no printer" is not a printer */
}

static void test_blob_and_queue_delete(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");
  nimbus_id_t q = make_queue(st, a, "office"), keep = make_queue(st, a, "lobby");
  nimbus_job_t j = job_template(a, q, 0, NIMBUS_JOB_HELD);
  nimbus_document_t d = doc_template(1, "0123456789abcdef0123456789abcdef");
  assert_int_equal(store_job_insert(st, &j, &d, 1), STORE_OK);
  nimbus_id_t other = make_job(st, a, keep, 0, NIMBUS_JOB_HELD);

  bool ref = false;
  assert_int_equal(store_blob_is_referenced(st, d.blob_key, &ref), STORE_OK);
  assert_true(ref);
  assert_int_equal(store_blob_is_referenced(st, "ffffffffffffffffffffffffffffffff", &ref),
                   STORE_OK);
  assert_false(ref);
  assert_int_equal(store_blob_is_referenced(st, "", &ref), STORE_OK);
  assert_false(ref);

  /* A live job blocks the delete; nothing changes. */
  assert_int_equal(store_queue_delete(st, a, q), STORE_CONFLICT);
  assert_int_equal(store_queue_delete(st, b, q), STORE_NOT_FOUND);
  nimbus_job_t got;
  assert_int_equal(store_job_get(st, a, j.id, &got), STORE_OK);

  assert_int_equal(job_cas(st, a, j.id, NIMBUS_JOB_HELD, NIMBUS_JOB_CANCELED, "job-canceled", NULL),
                   STORE_OK);
  assert_int_equal(store_queue_delete(st, a, q), STORE_OK);
  assert_int_equal(store_job_get(st, a, j.id, &got), STORE_NOT_FOUND);
  assert_int_equal(store_blob_is_referenced(st, d.blob_key, &ref), STORE_OK);
  assert_false(ref);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM documents"), 0);
  /* The other queue and its job are untouched. */
  assert_int_equal(store_job_get(st, a, other, &got), STORE_OK);
  assert_string_equal(got.queue_name, "lobby");
}

static void test_count_by_state(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");
  nimbus_id_t qa = make_queue(st, a, "q"), qb = make_queue(st, b, "q");
  make_job(st, a, qa, 0, NIMBUS_JOB_HELD);
  make_job(st, a, qa, 0, NIMBUS_JOB_HELD);
  make_job(st, b, qb, 0, NIMBUS_JOB_HELD);
  make_job(st, b, qb, 0, NIMBUS_JOB_COMPLETED);
  make_job(st, a, qa, 0, NIMBUS_JOB_EXPIRED);
  int64_t counts[10];
  memset(counts, 0xff, sizeof counts);
  assert_int_equal(store_job_count_by_state(st, counts), STORE_OK);
  assert_int_equal(counts[0], 0);
  assert_int_equal(counts[NIMBUS_JOB_RECEIVED], 0);
  assert_int_equal(counts[NIMBUS_JOB_HELD], 3);
  assert_int_equal(counts[NIMBUS_JOB_COMPLETED], 1);
  assert_int_equal(counts[NIMBUS_JOB_EXPIRED], 1);
  assert_int_equal(counts[NIMBUS_JOB_FETCHABLE], 0);
}

static void test_user_delete_keeps_jobs(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a");
  nimbus_id_t q = make_queue(st, a, "office");
  nimbus_id_t alice = make_user(st, a, "alice");
  nimbus_job_t j = job_template(a, q, alice, NIMBUS_JOB_HELD);
  snprintf(j.owner_name, sizeof j.owner_name, "alice");
  assert_int_equal(store_job_insert(st, &j, NULL, 0), STORE_OK);
  assert_int_equal(store_user_delete(st, a, alice), STORE_OK);
  nimbus_job_t got;
  assert_int_equal(store_job_get(st, a, j.id, &got), STORE_OK);
  assert_int_equal(got.owner_id, 0);
  assert_string_equal(got.owner_name, "alice");
}

static void test_tenant_delete_cascades(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");
  for (int t = 0; t < 2; t++) {
    nimbus_id_t tid = t ? b : a;
    nimbus_id_t q = make_queue(st, tid, "office");
    nimbus_id_t u = make_user(st, tid, "alice");
    nimbus_token_t tk = token_template(tid, u, (unsigned char)(10 + t), 0);
    assert_int_equal(store_token_insert(st, &tk), STORE_OK);
    nimbus_job_t j = job_template(tid, q, u, NIMBUS_JOB_HELD);
    nimbus_document_t d = doc_template(1, t ? "blob-b" : "blob-a");
    assert_int_equal(store_job_insert(st, &j, &d, 1), STORE_OK);
    assert_int_equal(store_audit_append(st, tid, "alice", "login", NULL), STORE_OK);
  }
  assert_int_equal(store_tenant_delete(st, a), STORE_OK);
  const char *tables[] = {"users", "tokens", "queues", "jobs", "job_events", "audit"};
  for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE tenant_id = %lld", tables[i],
             (long long)a);
    assert_int_equal(db_int(fx, sql), 0);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE tenant_id = %lld", tables[i],
             (long long)b);
    assert_int_equal(db_int(fx, sql), 1);
  }
  assert_int_equal(db_int(fx, "SELECT count(*) FROM documents"), 1);
  bool ref = true;
  assert_int_equal(store_blob_is_referenced(st, "blob-a", &ref), STORE_OK);
  assert_false(ref);
}

static void test_audit_append(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a");
  assert_int_equal(store_audit_append(st, a, "alice", "token-created", "label=ci"), STORE_OK);
  assert_int_equal(store_audit_append(st, 0, "operator", "tenant-created", NULL), STORE_OK);
  assert_int_equal(store_audit_append(st, a + 100, "x", "login", NULL), STORE_NOT_FOUND);
  assert_int_equal(db_int(fx,
                          "SELECT count(*) FROM audit WHERE tenant_id IS NULL "
                          "AND actor = 'operator' AND detail = ''"),
                   1);
  assert_int_equal(db_int(fx,
                          "SELECT count(*) FROM audit WHERE action = 'token-created' "
                          "AND detail = 'label=ci' AND ts > 0"),
                   1);
}

/* ---- robustness ---- */

typedef struct {
  store_t *st;
  nimbus_id_t queue;
  store_status_t inner, inner_insert;
  int calls;
} reentry_t;

static bool reentry_cb(const nimbus_tenant_t *t, void *ctx) {
  reentry_t *r = ctx;
  nimbus_tenant_t tmp;
  r->inner = store_tenant_get(r->st, t->id, &tmp);
  nimbus_job_t j = job_template(t->id, r->queue, 0, NIMBUS_JOB_HELD);
  r->inner_insert = store_job_insert(r->st, &j, NULL, 0); /* group commit: would self-wait */
  r->calls++;
  return true;
}

/* A callback calling back into the store gets an error, not a deadlock. */
static void test_callback_reentry_is_refused(void **state) {
  fixture_t *fx = *state;
  nimbus_id_t a = make_tenant(fx->st, "a");
  reentry_t r = {.st = fx->st,
                 .queue = make_queue(fx->st, a, "q"),
                 .inner = STORE_OK,
                 .inner_insert = STORE_OK};
  assert_int_equal(store_tenant_list(fx->st, reentry_cb, &r), STORE_OK);
  assert_int_equal(r.calls, 1);
  assert_int_equal(r.inner, STORE_ERROR);
  assert_int_equal(r.inner_insert, STORE_ERROR);
  nimbus_tenant_t t;
  assert_int_equal(store_tenant_get_by_name(fx->st, "a", &t), STORE_OK); /* still usable */
}

/* ---- sweep leases ---- */

/* One holder at a time: a live lease is refused to another holder and
 * renewed for its own; once expired, another holder takes it. */
static void test_lease_take(void **state) {
  fixture_t *fx = *state;
  bool held = false;
  assert_int_equal(store_lease_take(fx->st, "sweep", "node-a", 1000, 30, &held), STORE_OK);
  assert_true(held);
  assert_int_equal(store_lease_take(fx->st, "sweep", "node-b", 1010, 30, &held), STORE_OK);
  assert_false(held);
  assert_int_equal(store_lease_take(fx->st, "other", "node-b", 1010, 30, &held), STORE_OK);
  assert_true(held); /* names are independent */
  assert_int_equal(store_lease_take(fx->st, "sweep", "node-a", 1020, 30, &held), STORE_OK);
  assert_true(held); /* renewed: now until 1050 */
  assert_int_equal(store_lease_take(fx->st, "sweep", "node-b", 1049, 30, &held), STORE_OK);
  assert_false(held);
  assert_int_equal(store_lease_take(fx->st, "sweep", "node-b", 1050, 30, &held), STORE_OK);
  assert_true(held); /* node-a's lease ended */
  assert_int_equal(store_lease_take(fx->st, "sweep", "node-a", 1051, 30, &held), STORE_OK);
  assert_false(held);
}

/* ---- readers and writers ---- */

typedef struct {
  store_t *st;
  nimbus_id_t tenant, queue;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool other_done, done_during_read;
  store_status_t other_read, other_write;
  nimbus_id_t written_job;
} concurrent_t;

/* Another thread: a read and a job insert while the list below is still
 * inside its callback (holding its read connection). */
static void *read_and_write(void *arg) {
  concurrent_t *c = arg;
  nimbus_tenant_t t;
  store_status_t rd = store_tenant_get(c->st, c->tenant, &t);
  nimbus_job_t j = job_template(c->tenant, c->queue, 0, NIMBUS_JOB_HELD);
  store_status_t wr = store_job_insert(c->st, &j, NULL, 0);
  pthread_mutex_lock(&c->mu);
  c->other_read = rd;
  c->other_write = wr;
  c->written_job = j.id;
  c->other_done = true;
  pthread_cond_signal(&c->cv);
  pthread_mutex_unlock(&c->mu);
  return NULL;
}

/* Waits (at most 10 s) for the other thread while the list is open. */
static bool wait_for_other_cb(const nimbus_tenant_t *t, void *ctx) {
  (void)t;
  concurrent_t *c = ctx;
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 10;
  pthread_mutex_lock(&c->mu);
  while (!c->other_done && pthread_cond_timedwait(&c->cv, &c->mu, &until) == 0) {
  }
  c->done_during_read = c->other_done;
  pthread_mutex_unlock(&c->mu);
  return false; /* one row is enough */
}

/* A read in progress (a list whose callback has not returned) holds only
 * its read connection: another thread's read and write go through, and
 * the next read sees the write. */
static void test_read_does_not_block_writes(void **state) {
  fixture_t *fx = *state;
  concurrent_t c = {.st = fx->st};
  pthread_mutex_init(&c.mu, NULL);
  pthread_cond_init(&c.cv, NULL);
  c.tenant = make_tenant(fx->st, "a");
  c.queue = make_queue(fx->st, c.tenant, "q");
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, read_and_write, &c), 0);
  assert_int_equal(store_tenant_list(fx->st, wait_for_other_cb, &c), STORE_OK);
  pthread_join(th, NULL);
  assert_true(c.done_during_read); /* false: the other thread waited for the list */
  assert_int_equal(c.other_read, STORE_OK);
  assert_int_equal(c.other_write, STORE_OK);
  nimbus_job_t got;
  assert_int_equal(store_job_get(fx->st, c.tenant, c.written_job, &got), STORE_OK);
  pthread_cond_destroy(&c.cv);
  pthread_mutex_destroy(&c.mu);
}

/* Over-long values in the database are cut to the field, on a character
 * boundary, NUL-terminated. */
static void test_long_values_are_truncated(void **state) {
  fixture_t *fx = *state;
  nimbus_id_t a = make_tenant(fx->st, "a");
  /* 300 x "é" (2 bytes each) = 600 bytes; display_name holds 255. */
  char sql[256];
  snprintf(sql, sizeof sql,
           "UPDATE tenants SET display_name = replace(printf('%%.300c', 'x'), 'x', 'é'), "
           "name = printf('%%.100c', 'n') WHERE id = %lld",
           (long long)a);
  db_write(fx, sql);
  nimbus_tenant_t t;
  memset(&t, 'Z', sizeof t);
  assert_int_equal(store_tenant_get(fx->st, a, &t), STORE_OK);
  assert_int_equal(strlen(t.name), NIMBUS_NAME_MAX - 1);
  size_t n = strlen(t.display_name);
  assert_true(n < NIMBUS_TEXT_MAX);
  assert_int_equal(n % 2, 0); /* no half character */
  assert_int_equal(n, 254);
  assert_memory_equal(t.display_name, "é", 2);
}

static void test_persistence_across_reopen(void **state) {
  fixture_t *fx = *state;
  nimbus_id_t a = make_tenant(fx->st, "acme");
  nimbus_id_t u = make_user(fx->st, a, "alice");
  nimbus_id_t q = make_queue(fx->st, a, "office");
  nimbus_job_t j = job_template(a, q, u, NIMBUS_JOB_HELD);
  nimbus_document_t d = doc_template(7, "persist");
  assert_int_equal(store_job_insert(fx->st, &j, &d, 1), STORE_OK);
  nimbus_token_t tk = token_template(a, u, 77, 0);
  assert_int_equal(store_token_insert(fx->st, &tk), STORE_OK);

  reopen(fx);
  nimbus_tenant_t t;
  assert_int_equal(store_tenant_get_by_name(fx->st, "acme", &t), STORE_OK);
  assert_int_equal(t.id, a);
  nimbus_user_t got_u;
  assert_int_equal(store_user_get(fx->st, a, u, &got_u), STORE_OK);
  nimbus_queue_t got_q;
  assert_int_equal(store_queue_get_by_name(fx->st, a, "office", &got_q), STORE_OK);
  nimbus_job_t got_j;
  assert_int_equal(store_job_get(fx->st, a, j.id, &got_j), STORE_OK);
  assert_int_equal(got_j.pages, 7);
  nimbus_token_t got_t;
  assert_int_equal(store_token_lookup(fx->st, tk.hash, (int64_t)time(NULL), &got_t), STORE_OK);
  assert_string_equal(got_t.user_name, "alice");
  bool ref = false;
  assert_int_equal(store_blob_is_referenced(fx->st, "persist", &ref), STORE_OK);
  assert_true(ref);
}

typedef struct {
  store_t *st;
  store_status_t status;
  double waited;
} busy_insert_t;

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *busy_insert(void *arg) {
  busy_insert_t *b = arg;
  double start = now_seconds();
  nimbus_tenant_t t = {0};
  snprintf(t.name, sizeof t.name, "waited");
  b->status = store_tenant_insert(b->st, &t);
  b->waited = now_seconds() - start;
  return NULL;
}

/* Another process holding the write lock briefly (nimbusctl, a backup)
 * makes a write wait (busy_timeout), not fail. */
static void test_busy_writer_is_waited_for(void **state) {
  fixture_t *fx = *state;
  sqlite3 *other = NULL;
  assert_int_equal(sqlite3_open(fx->path, &other), SQLITE_OK);
  assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
  busy_insert_t b = {.st = fx->st, .status = STORE_ERROR};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, busy_insert, &b), 0);
  usleep(300 * 1000);
  assert_int_equal(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
  pthread_join(th, NULL);
  sqlite3_close(other);
  assert_int_equal(b.status, STORE_OK);
  assert_true(b.waited >= 0.2);
  nimbus_tenant_t t;
  assert_int_equal(store_tenant_get_by_name(fx->st, "waited", &t), STORE_OK);
}

/* ---- group commit ---- */

#define GC_THREADS 8
#define GC_PER_THREAD 50
#define GC_BAD_EVERY 10 /* every 10th insert of a thread has a bad document */

typedef struct {
  store_t *st;
  nimbus_id_t tenant, queue;
  int thread;
  nimbus_id_t ids[GC_PER_THREAD];
  store_status_t status[GC_PER_THREAD];
} gc_worker_t;

static void *gc_worker(void *arg) {
  gc_worker_t *w = arg;
  for (int i = 0; i < GC_PER_THREAD; i++) {
    nimbus_job_t j = job_template(w->tenant, w->queue, 0, NIMBUS_JOB_HELD);
    snprintf(j.name, sizeof j.name, "t%d-j%d", w->thread, i);
    nimbus_document_t d[2] = {doc_template(1, "k"), doc_template(2, "k")};
    snprintf(d[0].blob_key, sizeof d[0].blob_key, "t%d-j%d", w->thread, i);
    bool bad = i % GC_BAD_EVERY == GC_BAD_EVERY - 1;
    if (bad) d[1].pages = -1; /* CHECK constraint: only this insert must fail */
    w->status[i] = store_job_insert(w->st, &j, d, 2);
    w->ids[i] = j.id;
    if (w->status[i] == STORE_OK && (d[0].job_id != j.id || d[1].number != 2))
      w->status[i] = (store_status_t)99;
  }
  return NULL;
}

static int cmp_id(const void *x, const void *y) {
  nimbus_id_t a = *(const nimbus_id_t *)x, b = *(const nimbus_id_t *)y;
  return a < b ? -1 : a > b;
}

static void run_concurrent_inserts(fixture_t *fx) {
  nimbus_id_t a = make_tenant(fx->st, "a");
  nimbus_id_t q = make_queue(fx->st, a, "office");
  static gc_worker_t w[GC_THREADS];
  pthread_t th[GC_THREADS];
  for (int t = 0; t < GC_THREADS; t++) {
    w[t] = (gc_worker_t){.st = fx->st, .tenant = a, .queue = q, .thread = t};
    assert_int_equal(pthread_create(&th[t], NULL, gc_worker, &w[t]), 0);
  }
  for (int t = 0; t < GC_THREADS; t++) pthread_join(th[t], NULL);

  nimbus_id_t ids[GC_THREADS * GC_PER_THREAD];
  int good = 0;
  for (int t = 0; t < GC_THREADS; t++) {
    for (int i = 0; i < GC_PER_THREAD; i++) {
      bool bad = i % GC_BAD_EVERY == GC_BAD_EVERY - 1;
      if (bad) {
        assert_int_equal(w[t].status[i], STORE_ERROR);
        assert_int_equal(w[t].ids[i], 0);
      } else {
        assert_int_equal(w[t].status[i], STORE_OK);
        assert_true(w[t].ids[i] > 0);
        ids[good++] = w[t].ids[i];
      }
    }
  }
  int expect = GC_THREADS * (GC_PER_THREAD - GC_PER_THREAD / GC_BAD_EVERY);
  assert_int_equal(good, expect);
  qsort(ids, (size_t)good, sizeof ids[0], cmp_id);
  for (int i = 1; i < good; i++) assert_true(ids[i] != ids[i - 1]);

  /* Everything is there after a restart, and nothing of the bad ones. */
  reopen(fx);
  int total = -1;
  store_job_filter_t f = {.tenant_id = a, .which = STORE_WHICH_ALL};
  collect_t ignore = {.stop_after = 1};
  assert_int_equal(store_job_list(fx->st, &f, job_cb, &ignore, &total), STORE_OK);
  assert_int_equal(total, expect);
  for (int t = 0; t < GC_THREADS; t++) {
    for (int i = 0; i < GC_PER_THREAD; i++) {
      if (!w[t].ids[i]) continue;
      nimbus_job_t got;
      assert_int_equal(store_job_get(fx->st, a, w[t].ids[i], &got), STORE_OK);
      char name[32];
      snprintf(name, sizeof name, "t%d-j%d", t, i);
      assert_string_equal(got.name, name);
      assert_int_equal(got.pages, 3);
      assert_int_equal(got.num_documents, 2);
    }
  }
  assert_int_equal(db_int(fx, "SELECT count(*) FROM jobs"), expect);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM documents"), 2 * expect);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM job_events WHERE event = 'job-created'"),
                   expect);
}

static void test_group_commit_concurrent(void **state) {
  run_concurrent_inserts(*state);
}

/* Kinds of insert in test_group_commit_fails_alone, by (thread + i) % GC_KINDS. */
enum {
  GC_GOOD,
  GC_REFERENCE_TAKEN, /* CONFLICT */
  GC_NO_TENANT,       /* NOT_FOUND: the job number finds no tenant */
  GC_NO_QUEUE,        /* NOT_FOUND: a foreign key */
  GC_OTHER_OWNER,     /* NOT_FOUND: an owner of another tenant */
  GC_BAD_DOCUMENT,    /* ERROR: a CHECK constraint */
  GC_GOOD_TOO,
  GC_KINDS
};
static const store_status_t gc_kind_status[GC_KINDS] = {
    STORE_OK,        STORE_CONFLICT, STORE_NOT_FOUND, STORE_NOT_FOUND,
    STORE_NOT_FOUND, STORE_ERROR,    STORE_OK};

typedef struct {
  gc_worker_t w;
  nimbus_id_t other_owner;
  const char *taken;
  nimbus_id_t numbers[GC_PER_THREAD];
} gc_mixed_worker_t;

static void *gc_mixed_worker(void *arg) {
  gc_mixed_worker_t *m = arg;
  gc_worker_t *w = &m->w;
  for (int i = 0; i < GC_PER_THREAD; i++) {
    nimbus_job_t j = job_template(w->tenant, w->queue, 0, NIMBUS_JOB_HELD);
    nimbus_document_t d[1] = {doc_template(1, "k")};
    switch ((w->thread + i) % GC_KINDS) {
      case GC_REFERENCE_TAKEN:
        snprintf(j.reference, sizeof j.reference, "%s", m->taken);
        break;
      case GC_NO_TENANT:
        j.tenant_id = w->tenant + 1000;
        break;
      case GC_NO_QUEUE:
        j.queue_id = w->queue + 1000;
        break;
      case GC_OTHER_OWNER:
        j.owner_id = m->other_owner;
        break;
      case GC_BAD_DOCUMENT:
        d[0].pages = -1;
        break;
      default: /* GC_GOOD, GC_GOOD_TOO: the job as it is */
        break;
    }
    w->status[i] = store_job_insert(w->st, &j, d, 1);
    w->ids[i] = j.id;
    m->numbers[i] = j.number;
  }
  return NULL;
}

/* Concurrent inserts, batched when the fixture has group commit, of which
 * some fail each for its own reason: every one gets its own status, a
 * failing one leaves nothing (not even a job number) and the others are
 * all committed, numbered 1..n without a gap or a repeat. */
static void test_group_commit_fails_alone(void **state) {
  fixture_t *fx = *state;
  nimbus_id_t a = make_tenant(fx->st, "a"), b = make_tenant(fx->st, "b");
  nimbus_id_t q = make_queue(fx->st, a, "office");
  nimbus_id_t other = make_user(fx->st, b, "bob");
  nimbus_job_t first = job_template(a, q, 0, NIMBUS_JOB_HELD);
  snprintf(first.reference, sizeof first.reference, "TAKENREFERENCE01");
  assert_int_equal(store_job_insert(fx->st, &first, NULL, 0), STORE_OK);

  static gc_mixed_worker_t m[GC_THREADS];
  pthread_t th[GC_THREADS];
  for (int t = 0; t < GC_THREADS; t++) {
    m[t] = (gc_mixed_worker_t){.w = {.st = fx->st, .tenant = a, .queue = q, .thread = t},
                               .other_owner = other,
                               .taken = first.reference};
    assert_int_equal(pthread_create(&th[t], NULL, gc_mixed_worker, &m[t]), 0);
  }
  for (int t = 0; t < GC_THREADS; t++) pthread_join(th[t], NULL);

  bool seen[GC_THREADS * GC_PER_THREAD + 2] = {0};
  int good = 0;
  for (int t = 0; t < GC_THREADS; t++) {
    for (int i = 0; i < GC_PER_THREAD; i++) {
      store_status_t want = gc_kind_status[(t + i) % GC_KINDS];
      assert_int_equal(m[t].w.status[i], want);
      if (want != STORE_OK) {
        assert_int_equal(m[t].w.ids[i], 0);
        continue;
      }
      good++;
      nimbus_id_t n = m[t].numbers[i];
      assert_true(n >= 2 && n <= GC_THREADS * GC_PER_THREAD + 1);
      assert_false(seen[n]);
      seen[n] = true;
    }
  }
  /* numbers 2..good+1: the first job has 1, the failed ones took none */
  for (int n = 2; n <= good + 1; n++) assert_true(seen[n]);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM jobs"), good + 1);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM documents"), good);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM job_events"), good + 1);
  nimbus_job_t got;
  assert_int_equal(store_job_get_by_number(fx->st, a, 1, &got), STORE_OK);
  assert_string_equal(got.reference, "TAKENREFERENCE01");
}

/* Inline documents: stored with the job, read back in chunks, invisible to
 * another tenant, gone with the job's tenant. */
static void test_inline_document(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t ta = make_tenant(st, "ia"), tb = make_tenant(st, "ib");
  nimbus_id_t q = make_queue(st, ta, "q");
  unsigned char data[5000];
  for (size_t i = 0; i < sizeof data; i++) data[i] = (unsigned char)(i * 7 + 3);
  nimbus_job_t j = job_template(ta, q, 0, NIMBUS_JOB_HELD);
  nimbus_document_t d[2] = {doc_template(1, STORE_INLINE_BLOB_KEY), doc_template(2, "")};
  d[0].size = sizeof data;
  snprintf(d[1].blob_key, sizeof d[1].blob_key, "0123456789abcdef0123456789abcdef");
  store_inline_t in[2] = {{data, sizeof data}, {NULL, 0}};
  assert_int_equal(store_job_insert_data(st, &j, d, in, 2), STORE_OK);
  assert_int_equal(j.pages, 3);

  unsigned char back[sizeof data];
  size_t total = 0, got = 0;
  do { /* odd chunk size to cross boundaries */
    assert_int_equal(
        store_document_read_inline(st, ta, j.id, 1, (int64_t)total, back + total,
                                   777 < sizeof back - total ? 777 : sizeof back - total, &got),
        STORE_OK);
    total += got;
  } while (got > 0 && total < sizeof back);
  assert_int_equal(total, sizeof data);
  assert_memory_equal(back, data, sizeof data);
  assert_int_equal(
      store_document_read_inline(st, ta, j.id, 1, (int64_t)sizeof data, back, 10, &got), STORE_OK);
  assert_int_equal(got, 0);
  /* the spool document has no inline bytes; another tenant sees nothing */
  assert_int_equal(store_document_read_inline(st, ta, j.id, 2, 0, back, 10, &got), STORE_NOT_FOUND);
  assert_int_equal(store_document_read_inline(st, tb, j.id, 1, 0, back, 10, &got), STORE_NOT_FOUND);
  assert_int_equal(store_tenant_delete(st, ta), STORE_OK);
  assert_int_equal(store_document_read_inline(st, ta, j.id, 1, 0, back, 10, &got), STORE_NOT_FOUND);
}

/* ---- per-tenant job numbers (issue 8) ---- */

/* Insert a held job in (tenant, queue); its number. */
static nimbus_id_t job_number_of_new(store_t *st, nimbus_id_t tenant, nimbus_id_t queue) {
  nimbus_job_t j = job_template(tenant, queue, 0, NIMBUS_JOB_COMPLETED);
  assert_int_equal(store_job_insert(st, &j, NULL, 0), STORE_OK);
  return j.number;
}

/* Each tenant counts its own jobs from 1, whatever the others do; a number
 * finds a job only in its own tenant; a rolled-back insert takes no
 * number, and numbers are not reused once their jobs are deleted. */
static void test_job_numbers_per_tenant(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");
  nimbus_id_t qa = make_queue(st, a, "qa"), qb = make_queue(st, b, "qb");
  nimbus_id_t qa2 = make_queue(st, a, "qa2");
  assert_int_equal(job_number_of_new(st, a, qa), 1);
  for (int i = 0; i < 5; i++) assert_int_equal(job_number_of_new(st, b, qb), i + 1);
  assert_int_equal(job_number_of_new(st, a, qa), 2);
  nimbus_job_t bad = job_template(a, qa, 0, NIMBUS_JOB_HELD);
  nimbus_document_t docs[1] = {doc_template(-1, "k")}; /* violates a CHECK */
  assert_int_equal(store_job_insert(st, &bad, docs, 1), STORE_ERROR);
  assert_int_equal(bad.number, 0);
  assert_int_equal(job_number_of_new(st, a, qa2), 3);

  nimbus_job_t got;
  assert_int_equal(store_job_get_by_number(st, a, 2, &got), STORE_OK);
  assert_int_equal(got.tenant_id, a);
  assert_int_equal(got.number, 2);
  nimbus_job_t same;
  assert_int_equal(store_job_get(st, a, got.id, &same), STORE_OK);
  assert_int_equal(same.number, 2);
  /* b has numbers 1..5; a has no 4 or 5, and b's job of number 2 is not a's */
  assert_int_equal(store_job_get_by_number(st, a, 4, &got), STORE_NOT_FOUND);
  assert_int_equal(store_job_get_by_number(st, b, 2, &got), STORE_OK);
  assert_int_equal(got.tenant_id, b);
  assert_int_equal(store_job_get_by_number(st, b, 6, &got), STORE_NOT_FOUND);
  assert_int_equal(store_job_get_by_number(st, 999, 1, &got), STORE_NOT_FOUND);

  /* the jobs of qa2 go with their queue; number 3 is not handed out again */
  assert_int_equal(store_queue_delete(st, a, qa2), STORE_OK);
  assert_int_equal(store_job_get_by_number(st, a, 3, &got), STORE_NOT_FOUND);
  assert_int_equal(job_number_of_new(st, a, qa), 4);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM jobs WHERE tenant_id = 1"), 3);
}

/* A database of schema version 5, with jobs of two tenants and the event
 * history of a deleted job, opened by this build: migration 6 keeps every
 * existing job's id as its number (job-ids clients hold stay valid), and
 * each tenant's new jobs continue above the highest id it ever had. */
static void test_migration_to_job_numbers(void **state) {
  fixture_t *fx = *state;
  const char *data =
      "PRAGMA user_version = 5;"
      "INSERT INTO tenants (id, name, created_at) VALUES (1, 'acme', 100), (2, 'globex', 100),"
      " (3, 'initech', 100);"
      "INSERT INTO queues (id, tenant_id, name, created_at) VALUES (1, 1, 'q', 100),"
      " (2, 2, 'q', 100);"
      "INSERT INTO jobs (id, tenant_id, queue_id, owner_name, name, state, created_at,"
      " state_changed_at, reference) VALUES"
      " (1, 1, 1, 'a', 'one', 2, 100, 100, 'J000000000000001'),"
      " (2, 2, 2, 'g', 'two', 2, 100, 100, 'J000000000000002'),"
      " (3, 1, 1, 'a', 'three', 6, 100, 100, 'J000000000000003'),"
      " (7, 1, 1, 'a', 'seven', 2, 100, 100, 'J000000000000007');"
      /* job 9 of globex was deleted with its queue; its history remains */
      "INSERT INTO job_events (tenant_id, job_id, ts, event, to_state) VALUES"
      " (2, 9, 100, 'job-created', 2);";
  open_store_from_version(fx, 5, data);
  store_t *st = fx->st;
  assert_int_equal(store_schema_version(st), store_sqlite_migration_count);
  nimbus_job_t j;
  static const struct {
    nimbus_id_t tenant, number;
    const char *name;
  } kept[] = {{1, 1, "one"}, {2, 2, "two"}, {1, 3, "three"}, {1, 7, "seven"}};
  for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++) {
    assert_int_equal(store_job_get_by_number(st, kept[i].tenant, kept[i].number, &j), STORE_OK);
    assert_string_equal(j.name, kept[i].name);
    assert_int_equal(j.id, kept[i].number);
  }
  assert_int_equal(store_job_get_by_number(st, 1, 2, &j), STORE_NOT_FOUND); /* globex's */
  assert_int_equal(store_job_get_by_number(st, 2, 1, &j), STORE_NOT_FOUND); /* acme's */
  assert_int_equal(job_number_of_new(st, 1, 1), 8);
  assert_int_equal(job_number_of_new(st, 2, 2), 10); /* above the deleted job 9 */
  nimbus_id_t q3 = make_queue(st, 3, "q");
  assert_int_equal(job_number_of_new(st, 3, q3), 1);
  assert_int_equal(job_number_of_new(st, 1, 1), 9);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM jobs WHERE number = 0"), 0);
}

/* ---- concurrent state changes ---- */

#define FLIP_JOBS 12
#define FLIP_THREADS 6
#define FLIP_ROUNDS 40

typedef struct {
  store_t *st;
  nimbus_id_t tenant;
  nimbus_id_t *jobs;
  int index;
  int errors; /* anything but OK or CONFLICT */
} flipper_t;

/* Release held jobs and hold fetchable ones, in an order that differs per
 * thread, so transactions cross in both directions. */
static void *flip_worker(void *arg) {
  flipper_t *f = arg;
  for (int i = 0; i < FLIP_ROUNDS; i++) {
    nimbus_id_t id = f->jobs[(i * (f->index + 1) + f->index) % FLIP_JOBS];
    nimbus_job_t j;
    if (store_job_get(f->st, f->tenant, id, &j) != STORE_OK) {
      f->errors++;
      continue;
    }
    store_status_t s = j.state == NIMBUS_JOB_HELD
                           ? job_cas(f->st, f->tenant, id, NIMBUS_JOB_HELD, NIMBUS_JOB_FETCHABLE,
                                     "job-released", NULL)
                           : job_cas(f->st, f->tenant, id, NIMBUS_JOB_FETCHABLE, NIMBUS_JOB_HELD,
                                     "job-held", NULL);
    if (s != STORE_OK && s != STORE_CONFLICT) f->errors++;
  }
  return NULL;
}

/* Compare-and-set transitions from many threads: each one applies or is
 * a CONFLICT, never an error (on PostgreSQL: no deadlock between the
 * counter rows), and the counters agree with the jobs afterwards. */
static void test_concurrent_state_changes(void **state) {
  fixture_t *fx = *state;
  nimbus_id_t a = make_tenant(fx->st, "a"), q = make_queue(fx->st, a, "q");
  nimbus_id_t u = make_user(fx->st, a, "u");
  nimbus_id_t jobs[FLIP_JOBS];
  for (int i = 0; i < FLIP_JOBS; i++)
    jobs[i] = make_job(fx->st, a, q, u, i % 2 ? NIMBUS_JOB_HELD : NIMBUS_JOB_FETCHABLE);
  pthread_t th[FLIP_THREADS];
  flipper_t w[FLIP_THREADS];
  for (int i = 0; i < FLIP_THREADS; i++) {
    w[i] = (flipper_t){.st = fx->st, .tenant = a, .jobs = jobs, .index = i};
    assert_int_equal(pthread_create(&th[i], NULL, flip_worker, &w[i]), 0);
  }
  for (int i = 0; i < FLIP_THREADS; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(w[i].errors, 0);
  }
  assert_int_equal(job_count_check(fx), 0);
  int64_t counts[10];
  assert_int_equal(store_job_count_by_state(fx->st, counts), STORE_OK);
  assert_int_equal(counts[NIMBUS_JOB_HELD] + counts[NIMBUS_JOB_FETCHABLE], FLIP_JOBS);
}

/* ---- concurrent changes of several jobs at once ---- */

#define BATCH_SIZE 3

/* Flip BATCH_SIZE neighbouring jobs in one store_job_apply(), listed in
 * ascending order by even threads and descending by odd ones, so the
 * transactions cross on the jobs, on the counter rows and on the owners'
 * pending counts. */
static void *batch_worker(void *arg) {
  flipper_t *f = arg;
  for (int i = 0; i < FLIP_ROUNDS; i++) {
    int first = (i * (f->index + 1) + f->index) % FLIP_JOBS;
    store_job_change_t v[BATCH_SIZE];
    bool read = true;
    for (int k = 0; k < BATCH_SIZE && read; k++) {
      int at = f->index % 2 ? BATCH_SIZE - 1 - k : k;
      nimbus_job_t j;
      read = store_job_get(f->st, f->tenant, f->jobs[(first + at) % FLIP_JOBS], &j) == STORE_OK;
      if (!read) break;
      bool held = j.state == NIMBUS_JOB_HELD;
      v[k] = (store_job_change_t){.job_id = j.id,
                                  .expected = held ? NIMBUS_JOB_HELD : NIMBUS_JOB_FETCHABLE,
                                  .next = held ? NIMBUS_JOB_FETCHABLE : NIMBUS_JOB_HELD,
                                  .event = held ? "job-released" : "job-held"};
    }
    store_status_t s = read ? store_job_apply(f->st, f->tenant, v, BATCH_SIZE) : STORE_ERROR;
    if (s != STORE_OK && s != STORE_CONFLICT) f->errors++;
  }
  return NULL;
}

/* Changes of several jobs per call from many threads: each call applies
 * whole or is a CONFLICT, never an error (on PostgreSQL: the locks are
 * taken in one order, so no deadlock outlives its retries), and the
 * counters agree with the jobs afterwards. */
static void test_concurrent_batch_changes(void **state) {
  fixture_t *fx = *state;
  nimbus_id_t a = make_tenant(fx->st, "a"), q = make_queue(fx->st, a, "q");
  nimbus_id_t owners[2] = {make_user(fx->st, a, "u"), make_user(fx->st, a, "v")};
  nimbus_id_t jobs[FLIP_JOBS];
  for (int i = 0; i < FLIP_JOBS; i++)
    jobs[i] =
        make_job(fx->st, a, q, owners[i / 2 % 2], i % 2 ? NIMBUS_JOB_HELD : NIMBUS_JOB_FETCHABLE);
  pthread_t th[FLIP_THREADS];
  flipper_t w[FLIP_THREADS];
  for (int i = 0; i < FLIP_THREADS; i++) {
    w[i] = (flipper_t){.st = fx->st, .tenant = a, .jobs = jobs, .index = i};
    assert_int_equal(pthread_create(&th[i], NULL, batch_worker, &w[i]), 0);
  }
  for (int i = 0; i < FLIP_THREADS; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(w[i].errors, 0);
  }
  assert_int_equal(job_count_check(fx), 0);
  int64_t counts[10];
  assert_int_equal(store_job_count_by_state(fx->st, counts), STORE_OK);
  assert_int_equal(counts[NIMBUS_JOB_HELD] + counts[NIMBUS_JOB_FETCHABLE], FLIP_JOBS);
  for (int i = 0; i < 2; i++) {
    int pending = -1;
    assert_int_equal(store_job_count_pending_for_owner(fx->st, a, owners[i], &pending), STORE_OK);
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM jobs WHERE owner_id = %lld AND state = 2",
             (long long)owners[i]);
    assert_int_equal(pending, db_int(fx, sql));
  }
}

#ifdef NIMBUS_TEST_PG
typedef struct {
  store_t *st;
  nimbus_job_t job;
  store_status_t status;
} insert_bg_t;

static void *insert_bg(void *arg) {
  insert_bg_t *b = arg;
  b->status = store_job_insert(b->st, &b->job, NULL, 0);
  return NULL;
}

/* Run sql on c; its result status must be want. */
static void pg_expect(PGconn *c, const char *sql, ExecStatusType want) {
  PGresult *r = PQexec(c, sql);
  if (PQresultStatus(r) != want) fprintf(stderr, "%s: %s", sql, PQerrorMessage(c));
  assert_int_equal(PQresultStatus(r), want);
  PQclear(r);
}

/* Wait (at most 10 s) until one of the store's connections waits for a lock. */
static void pg_wait_for_lock_waiter(fixture_t *fx) {
  char sql[160 + sizeof fx->schema];
  snprintf(sql, sizeof sql,
           "SELECT count(*) FROM pg_stat_activity WHERE application_name = '%s' "
           "AND wait_event_type = 'Lock'",
           fx->schema);
  for (int i = 0; i < 1000; i++) {
    if (db_int(fx, sql) > 0) return;
    usleep(10000);
  }
  fail_msg("the store's insert never waited for the lock");
}

/* A job insert (batched or not) that the server aborts for a deadlock is
 * run again from the start: it succeeds once, with one row, one event and
 * one job number.  The deadlock: the insert holds its tenant's row (the job
 * number) and waits for the counter row of its state, which another
 * session holds and which then updates the tenant; the other session's
 * deadlock_timeout is long, so the server aborts the store's transaction. */
static void test_insert_deadlock_is_retried(void **state) {
  fixture_t *fx = *state;
  nimbus_id_t a = make_tenant(fx->st, "a");
  nimbus_id_t q = make_queue(fx->st, a, "q");
  PGconn *other = PQconnectdb(fx->path);
  assert_int_equal(PQstatus(other), CONNECTION_OK);
  pg_expect(other, "SET deadlock_timeout = '60s'", PGRES_COMMAND_OK);
  pg_expect(other, "BEGIN", PGRES_COMMAND_OK);
  char sql[128];
  snprintf(sql, sizeof sql, "SELECT n FROM job_state_counts WHERE state = %d FOR UPDATE",
           (int)NIMBUS_JOB_HELD);
  pg_expect(other, sql, PGRES_TUPLES_OK);

  insert_bg_t b = {.st = fx->st, .job = job_template(a, q, 0, NIMBUS_JOB_HELD)};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, insert_bg, &b), 0);
  pg_wait_for_lock_waiter(fx);
  /* Waits for the insert's tenant row lock until the server aborts the insert. */
  snprintf(sql, sizeof sql, "UPDATE tenants SET display_name = 'x' WHERE id = %lld", (long long)a);
  pg_expect(other, sql, PGRES_COMMAND_OK);
  pg_expect(other, "COMMIT", PGRES_COMMAND_OK);
  PQfinish(other);
  pthread_join(th, NULL);

  assert_int_equal(b.status, STORE_OK);
  assert_int_equal(b.job.number, 1);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM jobs"), 1);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM job_events"), 1);
  assert_int_equal(db_int(fx, "SELECT next_job_number FROM tenants"), 2);
  nimbus_job_t got;
  assert_int_equal(store_job_get(fx->st, a, b.job.id, &got), STORE_OK);
}
#endif

int main(int argc, char **argv) {
  log_set_level(LOG_ERROR);
  if (argc > 1 && !strcmp(argv[1], "pg")) {
    int rc = fixture_use_pg();
    if (rc) return rc;
  }
  /* The store contract: these run on SQLite and, with "pg", on PostgreSQL. */
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_job_insert_and_get, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_job_insert_and_get, setup_group, teardown),
      cmocka_unit_test_setup_teardown(test_job_insert_failure_rolls_back, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_job_insert_failure_rolls_back, setup_group, teardown),
      cmocka_unit_test_setup_teardown(test_job_list_filters, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_job_apply_state, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_job_apply_all_or_nothing, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_document_add, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_count_pending_for_owner, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_count_pending_for_origin, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_blob_and_queue_delete, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_count_by_state, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_user_delete_keeps_jobs, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_tenant_delete_cascades, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_audit_append, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_callback_reentry_is_refused, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_callback_reentry_is_refused, setup_group, teardown),
      cmocka_unit_test_setup_teardown(test_read_does_not_block_writes, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_lease_take, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_read_does_not_block_writes, setup_group, teardown),
      cmocka_unit_test_setup_teardown(test_persistence_across_reopen, setup_group, teardown),
      cmocka_unit_test_setup_teardown(test_group_commit_concurrent, setup_group, teardown),
      cmocka_unit_test_setup_teardown(test_group_commit_concurrent, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_group_commit_fails_alone, setup_group, teardown),
      cmocka_unit_test_setup_teardown(test_group_commit_fails_alone, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_job_numbers_per_tenant, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_job_numbers_per_tenant, setup_group, teardown),
      cmocka_unit_test_setup_teardown(test_inline_document, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_inline_document, setup_group, teardown),
      cmocka_unit_test_setup_teardown(test_concurrent_state_changes, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_concurrent_batch_changes, setup_direct, teardown),
  };
  /* SQLite's own: its file, PRAGMAs, WAL, old schemas. */
  const struct CMUnitTest sqlite_tests[] = {
      cmocka_unit_test_setup_teardown(test_open_applies_migrations, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_open_rejects_garbage, setup_closed, teardown),
      cmocka_unit_test_setup_teardown(test_open_rejects_newer_schema, setup_closed, teardown),
      cmocka_unit_test_setup_teardown(test_long_values_are_truncated, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_busy_writer_is_waited_for, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_migration_to_job_numbers, setup_closed, teardown),
  };
  int failed = cmocka_run_group_tests_name("store contract: jobs and documents", tests, NULL, NULL);
  if (!fixture_pg_url)
    failed += cmocka_run_group_tests_name("SQLite only", sqlite_tests, NULL, NULL);
#ifdef NIMBUS_TEST_PG
  /* PostgreSQL's own: a deadlock the server breaks. */
  const struct CMUnitTest pg_tests[] = {
      cmocka_unit_test_setup_teardown(test_insert_deadlock_is_retried, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_insert_deadlock_is_retried, setup_group, teardown),
  };
  if (fixture_pg_url)
    failed += cmocka_run_group_tests_name("PostgreSQL only", pg_tests, NULL, NULL);
#endif
  return failed;
}
