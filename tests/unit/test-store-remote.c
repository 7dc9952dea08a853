/*
 * test-store-remote.c: the store contract for remote printer links and
 * their remote jobs (store_remote_link_*, store_remote_job*,
 * docs/FEDERATION.md §1, §3) on every backend: names unique per tenant,
 * the queue must be the tenant's, the sealed secret kept as bytes, the
 * worker's writes refused once an admin changed the link (revision), the
 * job list replaced (kept, added, vanished, taken ones stay) and deleted
 * with the link; the federation's queries, take and reports.
 * `test-store-remote pg` runs it on PostgreSQL.
 */
#include "store-fixture.h"

static nimbus_remote_link_t link_of(nimbus_id_t tenant, nimbus_id_t queue, const char *name) {
  nimbus_remote_link_t l;
  memset(&l, 0, sizeof l);
  l.tenant_id = tenant;
  l.queue_id = queue;
  snprintf(l.name, sizeof l.name, "%s", name);
  snprintf(l.printer_uri, sizeof l.printer_uri, "ipp://r:631/ipp/print/t/q");
  snprintf(l.system_uri, sizeof l.system_uri, "ipp://r:631/ipp/system");
  snprintf(l.service_url, sizeof l.service_url, "http://r:631");
  snprintf(l.status, sizeof l.status, "connecting");
  l.claim_pending = true;
  for (int i = 0; i < 70; i++) l.sealed[i] = (unsigned char)(i * 7); /* zeros inside too */
  l.sealed_len = 70;
  l.created_at = 1000;
  l.next_try_at = 1000;
  return l;
}

static nimbus_remote_job_t rjob(int id, const char *name, int64_t at) {
  nimbus_remote_job_t j;
  memset(&j, 0, sizeof j);
  j.remote_job_id = id;
  snprintf(j.name, sizeof j.name, "%s", name);
  snprintf(j.owner, sizeof j.owner, "bob");
  j.pages = id;
  j.copies = 1;
  snprintf(j.sides, sizeof j.sides, "one-sided");
  j.submitted_at = at;
  j.remote_state = 3;
  return j;
}

static void test_remote_links(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t acme = make_tenant(st, "acme"), beta = make_tenant(st, "beta");
  nimbus_id_t office = make_queue(st, acme, "office");
  nimbus_id_t other = make_queue(st, beta, "other");

  nimbus_remote_link_t l = link_of(acme, office, "x");
  store_audit_t au = {.tenant_id = acme, .actor = "boss@acme", .action = "remote-link.create"};
  assert_int_equal(store_remote_link_insert(st, &l, &au), STORE_OK);
  assert_true(l.id > 0);
  nimbus_remote_link_t dup = link_of(acme, office, "x");
  assert_int_equal(store_remote_link_insert(st, &dup, NULL), STORE_CONFLICT);
  nimbus_remote_link_t cross = link_of(acme, other, "y"); /* another tenant's queue */
  assert_int_equal(store_remote_link_insert(st, &cross, NULL), STORE_NOT_FOUND);
  nimbus_remote_link_t b = link_of(beta, other, "x"); /* the same name in another tenant */
  assert_int_equal(store_remote_link_insert(st, &b, NULL), STORE_OK);

  nimbus_remote_link_t got;
  assert_int_equal(store_remote_link_get(st, acme, "x", &got), STORE_OK);
  assert_int_equal(got.id, l.id);
  assert_string_equal(got.queue_name, "office");
  assert_string_equal(got.status, "connecting");
  assert_true(got.claim_pending);
  assert_int_equal(got.sealed_len, 70);
  assert_memory_equal(got.sealed, l.sealed, 70);
  assert_string_equal(got.system_uri, "ipp://r:631/ipp/system");
  assert_int_equal(got.jobs, 0);
  assert_int_equal(store_remote_link_get(st, beta, "y", &got), STORE_NOT_FOUND);

  nimbus_remote_link_t v[8];
  int n = 0;
  assert_int_equal(store_remote_link_list(st, 0, v, 8, &n), STORE_OK);
  assert_int_equal(n, 2);
  assert_int_equal(store_remote_link_list(st, beta, v, 8, &n), STORE_OK);
  assert_int_equal(n, 1);
  assert_int_equal(v[0].tenant_id, beta);

  /* the worker's write, then an admin's change makes a stale one fail */
  nimbus_remote_link_t w;
  assert_int_equal(store_remote_link_get(st, acme, "x", &w), STORE_OK);
  w.claim_pending = false;
  snprintf(w.output_device_uuid, sizeof w.output_device_uuid, "urn:uuid:1");
  snprintf(w.status, sizeof w.status, "ok");
  w.subscription_id = 9;
  w.last_sequence = 4;
  w.last_ok_at = 2000;
  assert_int_equal(store_remote_link_set_state(st, &w), STORE_OK);
  assert_int_equal(store_remote_link_get(st, acme, "x", &got), STORE_OK);
  assert_string_equal(got.status, "ok");
  assert_false(got.claim_pending);
  assert_string_equal(got.output_device_uuid, "urn:uuid:1");
  assert_int_equal(got.subscription_id, 9);
  assert_int_equal(got.last_sequence, 4);
  assert_int_equal(got.last_ok_at, 2000);
  snprintf(got.status, sizeof got.status, "connecting");
  got.queue_id = office;
  assert_int_equal(store_remote_link_update(st, &got, NULL), STORE_OK);
  assert_int_equal(got.revision, w.revision + 1);
  snprintf(w.status, sizeof w.status, "unreachable");
  assert_int_equal(store_remote_link_set_state(st, &w), STORE_NOT_FOUND);
  assert_int_equal(store_remote_link_get(st, acme, "x", &got), STORE_OK);
  assert_string_equal(got.status, "connecting");
  got.queue_id = other; /* another tenant's queue */
  assert_int_not_equal(store_remote_link_update(st, &got, NULL), STORE_OK);

  /* the job list: replaced, newest first, taken ones kept */
  nimbus_remote_job_t jobs[3] = {rjob(1, "a", 100), rjob(2, "b", 300), rjob(3, "c", 200)};
  assert_int_equal(store_remote_jobs_replace(st, acme, l.id, jobs, 3, 5000, 1), STORE_OK);
  nimbus_remote_job_t out[8];
  int total = 0;
  assert_int_equal(store_remote_job_list(st, acme, l.id, out, 8, &total), STORE_OK);
  assert_int_equal(total, 3);
  assert_string_equal(out[0].name, "b");
  assert_string_equal(out[1].name, "c");
  assert_string_equal(out[2].name, "a");
  assert_string_equal(out[0].owner, "bob");
  assert_int_equal(out[0].pages, 2);
  assert_int_equal(out[0].seen_at, 5000);
  assert_int_equal(out[0].local_job_id, 0);
  assert_int_equal(store_remote_job_list(st, acme, l.id, out, 1, &total), STORE_OK);
  assert_int_equal(total, 3); /* the count, though one was asked */
  assert_int_equal(store_remote_job_list(st, beta, l.id, out, 8, &total), STORE_OK);
  assert_int_equal(total, 0); /* not the other tenant's */
  assert_int_equal(store_remote_link_get(st, acme, "x", &got), STORE_OK);
  assert_int_equal(got.jobs, 3);

  jobs[0] = rjob(3, "c2", 200);
  jobs[1] = rjob(4, "d", 400);
  assert_int_equal(store_remote_jobs_replace(st, acme, l.id, jobs, 2, 6000, 2), STORE_OK);
  assert_int_equal(store_remote_job_list(st, acme, l.id, out, 8, &total), STORE_OK);
  assert_int_equal(total, 2);
  assert_string_equal(out[0].name, "d");
  assert_string_equal(out[1].name, "c2");
  assert_int_equal(store_remote_jobs_replace(st, acme, l.id, NULL, 0, 7000, 3), STORE_OK);
  assert_int_equal(store_remote_job_list(st, acme, l.id, out, 8, &total), STORE_OK);
  assert_int_equal(total, 0);

  /* delete: the link and its jobs */
  assert_int_equal(store_remote_jobs_replace(st, acme, l.id, jobs, 2, 8000, 4), STORE_OK);
  assert_int_equal(store_remote_link_delete(st, beta, l.id, NULL), STORE_NOT_FOUND);
  assert_int_equal(store_remote_link_delete(st, acme, l.id, NULL), STORE_OK);
  assert_int_equal(store_remote_link_get(st, acme, "x", &got), STORE_NOT_FOUND);
  assert_int_equal(store_remote_job_list(st, acme, l.id, out, 8, &total), STORE_OK);
  assert_int_equal(total, 0);
  assert_int_equal(store_remote_link_delete(st, acme, l.id, NULL), STORE_NOT_FOUND);
}

/* The federation reads and changes (store_remote_job_query / _change,
 * docs/FEDERATION.md §4): a user's offered jobs are the untaken,
 * unfinished ones owned by the remote user of their linked account at the
 * link's service; a take is once only and survives a prune; reports are
 * stored. */
static void test_remote_job_query(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t acme = make_tenant(st, "acme");
  nimbus_id_t office = make_queue(st, acme, "office");
  nimbus_id_t alice = make_user(st, acme, "alice"), bob = make_user(st, acme, "bob");
  nimbus_remote_link_t l = link_of(acme, office, "x");
  assert_int_equal(store_remote_link_insert(st, &l, NULL), STORE_OK);
  nimbus_account_link_t a;
  memset(&a, 0, sizeof a);
  a.tenant_id = acme;
  a.user_id = alice;
  snprintf(a.service_url, sizeof a.service_url, "http://r:631");
  a.status = NIMBUS_LINK_LINKED;
  snprintf(a.remote_user, sizeof a.remote_user, "alice-r");
  a.created_at = 1000;
  assert_int_equal(store_account_link_insert(st, &a, NULL), STORE_OK);

  nimbus_remote_job_t jobs[3] = {rjob(1, "bobs", 100), rjob(2, "mine", 300),
                                 rjob(3, "canceled", 200)};
  snprintf(jobs[1].owner, sizeof jobs[1].owner, "alice-r");
  snprintf(jobs[2].owner, sizeof jobs[2].owner, "alice-r");
  jobs[2].remote_state = 7;
  assert_int_equal(store_remote_jobs_replace(st, acme, l.id, jobs, 3, 5000, 1), STORE_OK);

  nimbus_remote_job_t out[4];
  int n = 0;
  store_remote_query_t q = {.which = STORE_REMOTE_Q_USER, .tenant_id = acme, .user_id = alice};
  assert_int_equal(store_remote_job_query(st, &q, out, 4, &n), STORE_OK);
  assert_int_equal(n, 1);
  assert_int_equal(out[0].remote_job_id, 2);
  assert_string_equal(out[0].link_name, "x");
  assert_string_equal(out[0].service_url, "http://r:631");
  assert_int_equal(out[0].tenant_id, acme);
  q.user_id = bob; /* no account link */
  assert_int_equal(store_remote_job_query(st, &q, out, 4, &n), STORE_OK);
  assert_int_equal(n, 0);

  /* taken once */
  nimbus_remote_job_t t = out[0];
  q.user_id = alice;
  assert_int_equal(store_remote_job_query(st, &q, &t, 1, &n), STORE_OK);
  t.local_job_id = 77;
  assert_int_equal(store_remote_job_change(st, acme, STORE_REMOTE_TAKE, &t), STORE_OK);
  t.local_job_id = 78;
  assert_int_equal(store_remote_job_change(st, acme, STORE_REMOTE_TAKE, &t), STORE_CONFLICT);
  assert_int_equal(store_remote_job_query(st, &q, out, 4, &n), STORE_OK);
  assert_int_equal(n, 0); /* no longer offered */
  store_remote_query_t ql = {.which = STORE_REMOTE_Q_LOCAL, .tenant_id = acme, .local_job_id = 77};
  assert_int_equal(store_remote_job_query(st, &ql, out, 4, &n), STORE_OK);
  assert_int_equal(n, 1);
  assert_int_equal(out[0].remote_job_id, 2);
  assert_int_equal(out[0].reported_state, 0);
  assert_int_equal(out[0].reported_impressions, -1);

  /* a take after the sync pruned the row puts it back */
  assert_int_equal(store_remote_jobs_replace(st, acme, l.id, NULL, 0, 6000, 2), STORE_OK);
  nimbus_remote_job_t p = rjob(5, "pruned", 500);
  p.link_id = l.id;
  p.local_job_id = 79;
  assert_int_equal(store_remote_job_change(st, acme, STORE_REMOTE_TAKE, &p), STORE_OK);
  store_remote_query_t qr = {.which = STORE_REMOTE_Q_REPORT};
  assert_int_equal(store_remote_job_query(st, &qr, out, 4, &n), STORE_OK);
  assert_int_equal(n, 2); /* 2 (kept: taken) and 5 */

  /* reports stored; the ended ones leave the report list */
  out[0].reported_state = 9;
  out[0].reported_impressions = 3;
  out[0].reported_done = true;
  assert_int_equal(store_remote_job_change(st, acme, STORE_REMOTE_REPORTED, &out[0]), STORE_OK);
  int done_id = out[0].remote_job_id;
  assert_int_equal(store_remote_job_query(st, &qr, out, 4, &n), STORE_OK);
  assert_int_equal(n, 1);
  assert_int_not_equal(out[0].remote_job_id, done_id);
  store_remote_query_t q1 = {
      .which = STORE_REMOTE_Q_ONE, .tenant_id = acme, .link_id = l.id, .remote_job_id = done_id};
  assert_int_equal(store_remote_job_query(st, &q1, out, 4, &n), STORE_OK);
  assert_int_equal(n, 1);
  assert_int_equal(out[0].reported_state, 9);
  assert_int_equal(out[0].reported_impressions, 3);
  assert_true(out[0].reported_done);

  /* dropped */
  assert_int_equal(store_remote_job_change(st, acme, STORE_REMOTE_DROP, &out[0]), STORE_OK);
  assert_int_equal(store_remote_job_query(st, &q1, out, 4, &n), STORE_OK);
  assert_int_equal(n, 0);
}

int main(int argc, char **argv) {
  log_set_level(LOG_ERROR);
  if (argc > 1 && !strcmp(argv[1], "pg")) {
    int rc = fixture_use_pg();
    if (rc) return rc;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_remote_links, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_remote_job_query, setup_direct, teardown),
  };
  return cmocka_run_group_tests_name("store contract: remote printer links", tests, NULL, NULL);
}
