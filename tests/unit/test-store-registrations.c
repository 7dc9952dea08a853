/*
 * test-store-registrations.c: the store contract for output devices, run
 * on every backend: registrations and the queues they serve, claims and
 * re-claims, what devices report and their liveness, tenant isolation and
 * cascades, tombstones, panel sessions.  Jobs a device processes are in
 * test-store-devices.c, on every backend too.
 * `test-store-registrations` runs on SQLite, `test-store-registrations pg`
 * (meson test store-registrations-pg) on $NIMBUS_TEST_PG_URL
 * (store-fixture.h).
 */
#include "store-fixture.h"

static void test_device_insert_get_list(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");
  nimbus_id_t qa1 = make_queue(st, a, "office"), qa2 = make_queue(st, a, "lobby");
  nimbus_id_t qb = make_queue(st, b, "office");

  nimbus_id_t both[] = {qa1, qa2, qa1}; /* a duplicate is served once */
  nimbus_device_t d = make_device(st, a, "zebra", both, 3, 1);
  assert_int_equal(d.status, NIMBUS_DEVICE_UNCLAIMED);
  assert_int_equal(d.tenant_id, a);
  assert_true(d.created_at > 0);
  assert_int_equal(d.nqueues, 2);
  assert_string_equal(d.queue_names[0], "lobby"); /* by name */
  assert_int_equal(d.queue_ids[0], qa2);
  assert_string_equal(d.queue_names[1], "office");
  assert_string_equal(d.uuid, "");
  assert_int_equal(d.registered_at, 0);
  assert_int_equal(d.jobs_in_progress, 0);

  nimbus_device_t got;
  assert_int_equal(store_device_get(st, a, d.id, &got), STORE_OK);
  assert_string_equal(got.name, "zebra");
  assert_int_equal(got.nqueues, 2);
  assert_memory_equal(got.claim_hash, d.claim_hash, 32);
  assert_int_equal(got.claim_expires_at, d.claim_expires_at);
  assert_int_equal(store_device_get_by_name(st, a, "zebra", &got), STORE_OK);
  assert_int_equal(got.id, d.id);
  /* Another tenant's device is not there. */
  assert_int_equal(store_device_get(st, b, d.id, &got), STORE_NOT_FOUND);
  assert_int_equal(store_device_get_by_name(st, b, "zebra", &got), STORE_NOT_FOUND);

  /* Name taken in the tenant; free in another. */
  nimbus_device_t dup = {.tenant_id = a, .nqueues = 1, .queue_ids = {qa1}};
  snprintf(dup.name, sizeof dup.name, "zebra");
  fill_hash(dup.claim_hash, 2);
  assert_int_equal(store_device_insert(st, &dup), STORE_CONFLICT);
  nimbus_id_t one_b[] = {qb};
  make_device(st, b, "zebra", one_b, 1, 3);

  /* A queue of another tenant, or none: NOT_FOUND, nothing written. */
  nimbus_device_t bad = {.tenant_id = a, .nqueues = 2, .queue_ids = {qa1, qb}};
  snprintf(bad.name, sizeof bad.name, "bad");
  fill_hash(bad.claim_hash, 4);
  assert_int_equal(store_device_insert(st, &bad), STORE_NOT_FOUND);
  bad.queue_ids[1] = 9999;
  assert_int_equal(store_device_insert(st, &bad), STORE_NOT_FOUND);
  assert_int_equal(bad.id, 0);
  assert_int_equal(store_device_get_by_name(st, a, "bad", &got), STORE_NOT_FOUND);
  bad.nqueues = NIMBUS_DEVICE_QUEUES_MAX + 1;
  assert_int_equal(store_device_insert(st, &bad), STORE_ERROR);

  nimbus_id_t one_a[] = {qa1};
  nimbus_device_t apple = make_device(st, a, "apple", one_a, 1, 5);
  collect_t c = {0};
  assert_int_equal(store_device_list(st, a, 0, device_cb, &c), STORE_OK);
  assert_int_equal(c.n, 2);
  assert_string_equal(c.names[0], "apple");
  assert_string_equal(c.names[1], "zebra");
  collect_t cq = {0};
  assert_int_equal(store_device_list(st, a, qa2, device_cb, &cq), STORE_OK);
  assert_int_equal(cq.n, 1);
  assert_int_equal(cq.ids[0], d.id);
  collect_t cx = {0}; /* another tenant's queue id lists nothing */
  assert_int_equal(store_device_list(st, a, qb, device_cb, &cx), STORE_OK);
  assert_int_equal(cx.n, 0);
  collect_t stop = {.stop_after = 1};
  assert_int_equal(store_device_list(st, a, 0, device_cb, &stop), STORE_OK);
  assert_int_equal(stop.n, 1);

  /* Deleting a queue unlinks it from its devices. */
  assert_int_equal(store_queue_delete(st, a, qa2), STORE_OK);
  assert_int_equal(store_device_get(st, a, d.id, &got), STORE_OK);
  assert_int_equal(got.nqueues, 1);
  assert_string_equal(got.queue_names[0], "office");
  (void)apple;
}

static void test_device_claim(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");
  nimbus_id_t qa = make_queue(st, a, "office"), qb = make_queue(st, b, "office");
  nimbus_device_t d = make_device(st, a, "lobby", &qa, 1, 1);
  int64_t now = (int64_t)time(NULL);
  unsigned char claim[32], wrong[32], cred[32], cred2[32], zero[32] = {0};
  fill_hash(claim, 1);
  fill_hash(wrong, 99);
  fill_hash(cred, 101);
  fill_hash(cred2, 102);
  const char *uuid = "urn:uuid:11111111-2222-4333-8444-555555555555";
  nimbus_device_t got;

  assert_int_equal(store_device_claim(st, wrong, now, uuid, cred, &got), STORE_NOT_FOUND);
  assert_int_equal(store_device_claim(st, zero, now, uuid, cred, &got), STORE_NOT_FOUND);
  /* Expired at `now`. */
  assert_int_equal(store_device_claim(st, claim, d.claim_expires_at, uuid, cred, &got),
                   STORE_NOT_FOUND);
  assert_int_equal(store_device_claim(st, claim, now, uuid, cred, &got), STORE_OK);
  assert_int_equal(got.id, d.id);
  assert_int_equal(got.tenant_id, a);
  assert_int_equal(got.status, NIMBUS_DEVICE_REGISTERED);
  assert_string_equal(got.uuid, uuid);
  assert_int_equal(got.registered_at, now);
  assert_int_equal(got.claim_expires_at, 0);
  assert_memory_equal(got.claim_hash, zero, 32);
  assert_memory_equal(got.credential_hash, cred, 32);
  assert_int_equal(got.nqueues, 1);
  assert_string_equal(got.queue_names[0], "office");
  /* One-time. */
  assert_int_equal(store_device_claim(st, claim, now, uuid, cred2, &got), STORE_NOT_FOUND);

  assert_int_equal(store_device_get_by_credential(st, cred, &got), STORE_OK);
  assert_int_equal(got.id, d.id);
  assert_int_equal(store_device_get_by_credential(st, cred2, &got), STORE_NOT_FOUND);
  assert_int_equal(store_device_get_by_credential(st, zero, &got), STORE_NOT_FOUND);
  assert_int_equal(store_device_get_by_uuid(st, uuid, &got), STORE_OK);
  assert_int_equal(got.id, d.id);
  assert_int_equal(store_device_get_by_uuid(st, "", &got), STORE_NOT_FOUND);
  assert_int_equal(store_device_get_by_uuid(st, "urn:uuid:x", &got), STORE_NOT_FOUND);

  /* A uuid registered anywhere (here: another tenant) cannot be claimed. */
  nimbus_device_t e = make_device(st, b, "other", &qb, 1, 2);
  unsigned char claim_e[32];
  fill_hash(claim_e, 2);
  assert_int_equal(store_device_claim(st, claim_e, now, uuid, cred2, &got), STORE_CONFLICT);
  assert_int_equal(store_device_get(st, b, e.id, &got), STORE_OK);
  assert_int_equal(got.status, NIMBUS_DEVICE_UNCLAIMED); /* rolled back, claim still usable */
  /* A credential hash already held is a conflict too. */
  assert_int_equal(store_device_claim(st, claim_e, now, NULL, cred, &got), STORE_CONFLICT);
  assert_int_equal(store_device_claim(st, claim_e, now, NULL, cred2, &got), STORE_OK);
  assert_string_equal(got.uuid, "");

  /* Re-issue on a registered device: it stays registered with its old
   * credential until the new code is claimed, which replaces both. */
  unsigned char claim2[32], cred3[32];
  fill_hash(claim2, 3);
  fill_hash(cred3, 103);
  assert_int_equal(store_device_set_claim(st, b, d.id, claim2, now + 60), STORE_NOT_FOUND);
  assert_int_equal(store_device_set_claim(st, a, d.id, claim2, now + 60), STORE_OK);
  assert_int_equal(store_device_get(st, a, d.id, &got), STORE_OK);
  assert_int_equal(got.status, NIMBUS_DEVICE_REGISTERED);
  assert_int_equal(got.claim_expires_at, now + 60);
  assert_int_equal(store_device_get_by_credential(st, cred, &got), STORE_OK);
  /* Its own uuid is not "taken". */
  assert_int_equal(store_device_claim(st, claim2, now, uuid, cred3, &got), STORE_OK);
  assert_int_equal(store_device_get_by_credential(st, cred, &got), STORE_NOT_FOUND);
  assert_int_equal(store_device_get_by_credential(st, cred3, &got), STORE_OK);
  assert_int_equal(got.id, d.id);
  /* Re-issue on an unclaimed device replaces the old code. */
  unsigned char claim4[32], claim5[32];
  fill_hash(claim4, 4);
  fill_hash(claim5, 5);
  nimbus_device_t f = make_device(st, a, "f", &qa, 1, 4);
  assert_int_equal(store_device_set_claim(st, a, f.id, claim5, now + 60), STORE_OK);
  assert_int_equal(store_device_claim(st, claim4, now, NULL, cred2, &got), STORE_NOT_FOUND);
  assert_int_equal(store_device_get(st, a, f.id, &got), STORE_OK);
  assert_int_equal(got.status, NIMBUS_DEVICE_UNCLAIMED);
}

static void test_device_reported_and_touch(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");
  nimbus_id_t qa = make_queue(st, a, "office"), qa2 = make_queue(st, a, "lobby");
  nimbus_id_t both[] = {qa, qa2};
  nimbus_device_t d1 = make_registered(st, a, "d1", both, 2, 1);
  nimbus_device_t d2 = make_registered(st, a, "d2", &qa, 1, 2);
  void *attrs = (void *)1;
  size_t len = 99;

  assert_int_equal(store_device_get_attrs(st, a, d1.id, &attrs, &len), STORE_OK);
  assert_null(attrs);
  assert_int_equal(len, 0);
  assert_int_equal(store_device_get_attrs(st, b, d1.id, &attrs, &len), STORE_NOT_FOUND);
  assert_int_equal(store_queue_device_attrs(st, a, qa, &attrs, &len), STORE_OK);
  assert_null(attrs);

  static const unsigned char blob1[] = {1, 2, 3, 0, 4};
  assert_int_equal(
      store_device_set_reported(st, a, d1.id, 3, "none", "Acme Laser 9000", blob1, sizeof blob1),
      STORE_OK);
  assert_int_equal(store_device_set_reported(st, b, d1.id, 3, "none", "x", NULL, 0),
                   STORE_NOT_FOUND);
  nimbus_device_t got;
  assert_int_equal(store_device_get(st, a, d1.id, &got), STORE_OK);
  assert_int_equal(got.printer_state, 3);
  assert_string_equal(got.state_reasons, "none");
  assert_string_equal(got.make_model, "Acme Laser 9000");
  assert_int_equal(store_device_get_attrs(st, a, d1.id, &attrs, &len), STORE_OK);
  assert_int_equal(len, sizeof blob1);
  assert_memory_equal(attrs, blob1, sizeof blob1);
  free(attrs);
  assert_int_equal(store_queue_device_attrs(st, a, qa2, &attrs, &len), STORE_OK);
  assert_int_equal(len, sizeof blob1);
  free(attrs);

  /* NULL attrs and strings, negative state: unchanged. */
  assert_int_equal(
      store_device_set_reported(st, a, d1.id, 5, "media-empty,toner-low", NULL, NULL, 0), STORE_OK);
  assert_int_equal(store_device_set_reported(st, a, d1.id, -1, NULL, NULL, NULL, 0), STORE_OK);
  assert_int_equal(store_device_get(st, a, d1.id, &got), STORE_OK);
  assert_int_equal(got.printer_state, 5);
  assert_string_equal(got.state_reasons, "media-empty,toner-low");
  assert_string_equal(got.make_model, "Acme Laser 9000");
  assert_int_equal(store_device_get_attrs(st, a, d1.id, &attrs, &len), STORE_OK);
  assert_int_equal(len, sizeof blob1);
  free(attrs);

  /* The queue reports the most recently updated device's attributes. */
  db_write(fx, "UPDATE devices SET attrs_updated_at = attrs_updated_at - 10");
  static const unsigned char blob2[] = {9, 9};
  assert_int_equal(store_device_set_reported(st, a, d2.id, 3, "none", "B", blob2, sizeof blob2),
                   STORE_OK);
  assert_int_equal(store_queue_device_attrs(st, a, qa, &attrs, &len), STORE_OK);
  assert_int_equal(len, sizeof blob2);
  assert_memory_equal(attrs, blob2, sizeof blob2);
  free(attrs);
  assert_int_equal(store_queue_device_attrs(st, a, qa2, &attrs, &len), STORE_OK);
  assert_int_equal(len, sizeof blob1);
  free(attrs);
  assert_int_equal(store_queue_device_attrs(st, b, qa, &attrs, &len), STORE_OK);
  assert_null(attrs);

  /* Touch: never backwards; NULL transport keeps it. */
  assert_int_equal(store_device_touch(st, a, d1.id, 1000, "polling"), STORE_OK);
  assert_int_equal(store_device_touch(st, a, d1.id, 500, "persistent"), STORE_OK);
  assert_int_equal(store_device_touch(st, b, d1.id, 2000, "polling"), STORE_NOT_FOUND);
  assert_int_equal(store_device_get(st, a, d1.id, &got), STORE_OK);
  assert_int_equal(got.last_seen_at, 1000);
  assert_string_equal(got.transport, "persistent");
  assert_int_equal(store_device_touch(st, a, d1.id, 1500, NULL), STORE_OK);
  assert_int_equal(store_device_get(st, a, d1.id, &got), STORE_OK);
  assert_int_equal(got.last_seen_at, 1500);
  assert_string_equal(got.transport, "persistent");
}

static void test_device_tenant_isolation_and_cascade(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");
  nimbus_id_t qa = make_queue(st, a, "office"), qb = make_queue(st, b, "office");
  nimbus_device_t da = make_registered(st, a, "lobby", &qa, 1, 1);
  nimbus_device_t gone = make_registered(st, a, "gone", &qa, 1, 2);
  nimbus_device_t dbb = make_registered(st, b, "lobby", &qb, 1, 3);
  assert_int_equal(store_device_delete(st, a, gone.id, NULL, 0, NULL, 0, NULL), STORE_OK);

  /* Every tenant-scoped call refuses the other tenant's device. */
  nimbus_device_t got;
  unsigned char h[32];
  fill_hash(h, 50);
  void *attrs = NULL;
  size_t len = 0;
  assert_int_equal(store_device_get(st, b, da.id, &got), STORE_NOT_FOUND);
  assert_int_equal(store_device_set_claim(st, b, da.id, h, 1), STORE_NOT_FOUND);
  assert_int_equal(store_device_touch(st, b, da.id, 1, "polling"), STORE_NOT_FOUND);
  assert_int_equal(store_device_set_reported(st, b, da.id, 3, "", "", NULL, 0), STORE_NOT_FOUND);
  assert_int_equal(store_device_get_attrs(st, b, da.id, &attrs, &len), STORE_NOT_FOUND);
  assert_int_equal(store_device_delete(st, b, da.id, NULL, 0, NULL, 0, NULL), STORE_NOT_FOUND);
  collect_t c = {0};
  assert_int_equal(store_device_list(st, b, 0, device_cb, &c), STORE_OK);
  assert_int_equal(c.n, 1);
  assert_int_equal(c.ids[0], dbb.id);

  assert_int_equal(store_tenant_delete(st, a), STORE_OK);
  const char *tables[] = {"devices", "device_queues", "device_tombstones"};
  for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE tenant_id = %lld", tables[i],
             (long long)a);
    assert_int_equal(db_int(fx, sql), 0);
  }
  assert_int_equal(db_int(fx, "SELECT count(*) FROM devices"), 1);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM device_queues"), 1);
  unsigned char cred[32];
  fill_hash(cred, 103);
  assert_int_equal(store_device_get_by_credential(st, cred, &got), STORE_OK);
  assert_int_equal(got.id, dbb.id);
}

static void test_panel_sessions(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");
  nimbus_id_t qa = make_queue(st, a, "q"), qb = make_queue(st, b, "q");
  nimbus_id_t alice = make_user(st, a, "alice"), bob = make_user(st, b, "bob");
  nimbus_device_t da = make_registered(st, a, "lobby", &qa, 1, 1);
  nimbus_device_t db = make_registered(st, b, "lobby", &qb, 1, 2);
  int64_t now = (int64_t)time(NULL);

  nimbus_panel_session_t ps = {.tenant_id = a, .device_id = da.id, .user_id = alice};
  fill_hash(ps.hash, 50);
  ps.expires_at = now + 300;
  assert_int_equal(store_panel_session_insert(st, &ps), STORE_OK);
  assert_true(ps.id > 0);
  assert_true(ps.created_at >= now);

  /* Another tenant's user or device: not found. */
  nimbus_panel_session_t bad = ps;
  fill_hash(bad.hash, 51);
  bad.user_id = bob;
  assert_int_equal(store_panel_session_insert(st, &bad), STORE_NOT_FOUND);
  bad.user_id = alice;
  bad.device_id = db.id;
  assert_int_equal(store_panel_session_insert(st, &bad), STORE_NOT_FOUND);
  bad = ps;
  assert_int_equal(store_panel_session_insert(st, &bad), STORE_CONFLICT); /* same hash */

  nimbus_panel_session_t got;
  assert_int_equal(store_panel_session_get(st, ps.hash, now, &got), STORE_OK);
  assert_int_equal(got.id, ps.id);
  assert_int_equal(got.tenant_id, a);
  assert_int_equal(got.device_id, da.id);
  assert_int_equal(got.user_id, alice);
  assert_string_equal(got.user_name, "alice");
  assert_memory_equal(got.hash, ps.hash, 32);
  assert_int_equal(got.expires_at, now + 300);
  unsigned char other[32];
  fill_hash(other, 52);
  assert_int_equal(store_panel_session_get(st, other, now, &got), STORE_NOT_FOUND);

  /* Expiry, and touch moving it. */
  assert_int_equal(store_panel_session_get(st, ps.hash, now + 300, &got), STORE_NOT_FOUND);
  assert_int_equal(store_panel_session_touch(st, ps.id, now + 600), STORE_OK);
  assert_int_equal(store_panel_session_get(st, ps.hash, now + 300, &got), STORE_OK);
  assert_int_equal(got.expires_at, now + 600);
  assert_int_equal(store_panel_session_touch(st, ps.id + 99, now), STORE_NOT_FOUND);

  /* Delete, and expired sessions go in passing. */
  nimbus_panel_session_t old = {.tenant_id = b, .device_id = db.id, .user_id = bob};
  fill_hash(old.hash, 53);
  old.expires_at = now - 1;
  assert_int_equal(store_panel_session_insert(st, &old), STORE_OK);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM panel_sessions"), 2);
  assert_int_equal(store_panel_session_delete(st, ps.hash, now), STORE_OK);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM panel_sessions"), 0);
  assert_int_equal(store_panel_session_delete(st, ps.hash, now), STORE_NOT_FOUND);

  /* Sessions go with their user, device and tenant. */
  nimbus_panel_session_t s1 = {.tenant_id = a, .device_id = da.id, .user_id = alice};
  fill_hash(s1.hash, 60);
  s1.expires_at = now + 300;
  assert_int_equal(store_panel_session_insert(st, &s1), STORE_OK);
  nimbus_id_t carol = make_user(st, a, "carol");
  nimbus_panel_session_t s2 = {.tenant_id = a, .device_id = da.id, .user_id = carol};
  fill_hash(s2.hash, 61);
  s2.expires_at = now + 300;
  assert_int_equal(store_panel_session_insert(st, &s2), STORE_OK);
  nimbus_panel_session_t s3 = {.tenant_id = b, .device_id = db.id, .user_id = bob};
  fill_hash(s3.hash, 62);
  s3.expires_at = now + 300;
  assert_int_equal(store_panel_session_insert(st, &s3), STORE_OK);
  assert_int_equal(store_user_delete(st, a, carol), STORE_OK);
  assert_int_equal(store_panel_session_get(st, s2.hash, now, &got), STORE_NOT_FOUND);
  assert_int_equal(store_device_delete(st, a, da.id, NULL, 0, NULL, 0, NULL), STORE_OK);
  assert_int_equal(store_panel_session_get(st, s1.hash, now, &got), STORE_NOT_FOUND);
  assert_int_equal(store_tenant_delete(st, b), STORE_OK);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM panel_sessions"), 0);
}

int main(int argc, char **argv) {
  log_set_level(LOG_ERROR);
  if (argc > 1 && !strcmp(argv[1], "pg")) {
    int rc = fixture_use_pg();
    if (rc) return rc;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_device_insert_get_list, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_device_claim, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_device_reported_and_touch, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_device_tenant_isolation_and_cascade, setup_direct,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_panel_sessions, setup_direct, teardown),
  };
  return cmocka_run_group_tests_name("store contract: registrations", tests, NULL, NULL);
}
