/*
 * test-retention-due.c: unit tests of the retention policy of retention.c:
 * retention_cutoff (the tenant's retention_hours or the server default)
 * and retention_due against a real SQLite store (which jobs housekeeping
 * acts on: ended jobs still holding documents, received and held jobs
 * past their tenant's cutoff; bounded, tenants apart).
 * Store fixture: store-fixture.h.
 */
#include "store-fixture.h"

#include "retention.h"

typedef struct {
  int n;
  int stop_after; /* 0: never stop */
  nimbus_id_t ids[16];
} ids_t;

static bool ids_cb(const nimbus_job_t *j, void *ctx) {
  ids_t *c = ctx;
  if (c->n < 16) c->ids[c->n++] = j->id;
  return c->stop_after == 0 || c->n < c->stop_after;
}

static bool ids_has(const ids_t *c, nimbus_id_t id) {
  for (int i = 0; i < c->n; i++)
    if (c->ids[i] == id) return true;
  return false;
}

static void test_cutoff(void **state) {
  (void)state;
  nimbus_tenant_t t = {.retention_hours = 2};
  assert_int_equal(retention_cutoff(&t, 24, 100000), 100000 - 2 * 3600);
  t.retention_hours = 0; /* the server default */
  assert_int_equal(retention_cutoff(&t, 5, 100000), 100000 - 5 * 3600);
  assert_int_equal(retention_cutoff(&t, 0, 100000), 100000 - 24 * 3600);
  assert_int_equal(retention_cutoff(&t, -3, 100000), 100000 - 24 * 3600);
}

/* What retention_due lists: ended jobs still holding documents, received
 * and held jobs past their tenant's retention (or the server default),
 * never fetchable or fresh ones; bounded by limit and by the callback. */
static void test_due(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"); /* server default retention */
  nimbus_tenant_t tb = {.retention_hours = 2};
  snprintf(tb.name, sizeof tb.name, "b");
  assert_int_equal(store_tenant_insert(st, &tb), STORE_OK);
  nimbus_id_t b = tb.id;
  nimbus_id_t qa = make_queue(st, a, "q"), qb = make_queue(st, b, "q");
  int64_t now = (int64_t)time(NULL);

  nimbus_document_t d1 = doc_template(1, "blob-1");
  nimbus_job_t done_blob = job_template(a, qa, 0, NIMBUS_JOB_COMPLETED);
  assert_int_equal(store_job_insert(st, &done_blob, &d1, 1), STORE_OK);
  nimbus_document_t d2 = doc_template(1, "");
  nimbus_job_t done_purged = job_template(a, qa, 0, NIMBUS_JOB_CANCELED);
  assert_int_equal(store_job_insert(st, &done_purged, &d2, 1), STORE_OK);
  nimbus_document_t d3 = doc_template(1, "blob-3");
  nimbus_job_t held_fresh = job_template(a, qa, 0, NIMBUS_JOB_HELD);
  assert_int_equal(store_job_insert(st, &held_fresh, &d3, 1), STORE_OK);
  nimbus_id_t held_3h_a = make_job(st, a, qa, 0, NIMBUS_JOB_HELD);
  nimbus_id_t held_3h_b = make_job(st, b, qb, 0, NIMBUS_JOB_HELD);
  nimbus_id_t recv_30h_a = make_job(st, a, qa, 0, NIMBUS_JOB_RECEIVED);
  nimbus_id_t fetch_30h_a = make_job(st, a, qa, 0, NIMBUS_JOB_FETCHABLE);
  char sql[160];
  snprintf(sql, sizeof sql, "UPDATE jobs SET created_at = %lld WHERE id IN (%lld, %lld)",
           (long long)(now - 3 * 3600), (long long)held_3h_a, (long long)held_3h_b);
  db_write(fx, sql);
  snprintf(sql, sizeof sql, "UPDATE jobs SET created_at = %lld WHERE id IN (%lld, %lld)",
           (long long)(now - 30 * 3600), (long long)recv_30h_a, (long long)fetch_30h_a);
  db_write(fx, sql);

  ids_t c = {0};
  assert_int_equal(retention_due(st, now, 24, 100, ids_cb, &c), STORE_OK);
  assert_int_equal(c.n, 3);
  assert_true(ids_has(&c, done_blob.id));
  assert_true(ids_has(&c, held_3h_b)); /* tenant b keeps jobs 2 hours */
  assert_true(ids_has(&c, recv_30h_a));

  /* A shorter server default catches tenant a's 3-hour-old job too. */
  memset(&c, 0, sizeof c);
  assert_int_equal(retention_due(st, now, 1, 100, ids_cb, &c), STORE_OK);
  assert_int_equal(c.n, 4);
  assert_true(ids_has(&c, held_3h_a));
  assert_false(ids_has(&c, held_fresh.id));
  assert_false(ids_has(&c, fetch_30h_a));
  assert_false(ids_has(&c, done_purged.id));

  /* Bounded by limit: tenant a's first two (tenants by name). */
  memset(&c, 0, sizeof c);
  assert_int_equal(retention_due(st, now, 1, 2, ids_cb, &c), STORE_OK);
  assert_int_equal(c.n, 2);
  assert_false(ids_has(&c, held_3h_b));
  /* The callback may stop the listing. */
  memset(&c, 0, sizeof c);
  c.stop_after = 1;
  assert_int_equal(retention_due(st, now, 1, 100, ids_cb, &c), STORE_OK);
  assert_int_equal(c.n, 1);

  /* Purged, the finished job drops out. */
  char keys[2][NIMBUS_BLOB_KEY_MAX];
  int n = 0;
  assert_int_equal(store_document_purge(st, a, done_blob.id, keys, 2, &n), STORE_OK);
  memset(&c, 0, sizeof c);
  assert_int_equal(retention_due(st, now, 24, 100, ids_cb, &c), STORE_OK);
  assert_int_equal(c.n, 2);
  assert_false(ids_has(&c, done_blob.id));
}

int main(void) {
  log_set_level(LOG_ERROR);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cutoff),
      cmocka_unit_test_setup_teardown(test_due, setup_direct, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
