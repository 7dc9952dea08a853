/*
 * test-store-links.c: the store contract for account links
 * (store_account_link_*, docs/FEDERATION.md §2.2) on every backend:
 * insert (one per user and service URL, users of the tenant only), get
 * by tenant, a user's list, the worker's due list, the compare-and-set
 * update on version, sealed bytes kept exactly, delete, cascade with the
 * user.  `test-store-links pg` runs it on PostgreSQL (store-fixture.h).
 */
#include "store-fixture.h"

static nimbus_account_link_t link_of(nimbus_id_t tenant, nimbus_id_t user, const char *url) {
  nimbus_account_link_t l;
  memset(&l, 0, sizeof l);
  l.tenant_id = tenant;
  l.user_id = user;
  snprintf(l.service_url, sizeof l.service_url, "%s", url);
  l.status = NIMBUS_LINK_PENDING;
  for (int i = 0; i < 72; i++) l.device_code[i] = (unsigned char)(i * 7 + 1); /* with 0 bytes */
  l.device_code[5] = 0;
  l.device_code_len = 72;
  snprintf(l.user_code, sizeof l.user_code, "BCDF-GHJK");
  snprintf(l.verification_uri, sizeof l.verification_uri, "%s/device", url);
  snprintf(l.verification_uri_complete, sizeof l.verification_uri_complete,
           "%s/device?user_code=BCDFGHJK", url);
  snprintf(l.token_endpoint, sizeof l.token_endpoint, "%s/oauth/token", url);
  l.interval = 5;
  l.expires_at = 2000;
  l.next_poll_at = 1005;
  return l;
}

typedef struct {
  nimbus_id_t ids[8];
  int n;
} ids_t;

static bool collect(const nimbus_account_link_t *l, void *ctx) {
  ids_t *c = ctx;
  if (c->n < 8) c->ids[c->n++] = l->id;
  return true;
}

static void test_account_link_store(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t acme = make_tenant(st, "acme"), beta = make_tenant(st, "beta");
  nimbus_id_t alice = make_user(st, acme, "alice"), bob = make_user(st, acme, "bob");
  nimbus_id_t carol = make_user(st, beta, "carol");

  nimbus_account_link_t a = link_of(acme, alice, "https://r.example");
  store_audit_t au = {.tenant_id = acme,
                      .actor = "alice@acme",
                      .action = "account-link.create",
                      .detail = "service_url=https://r.example",
                      .id_key = "id"};
  assert_int_equal(store_account_link_insert(st, &a, &au), STORE_OK);
  assert_true(a.id > 0);
  assert_int_equal(a.version, 1);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM audit WHERE action = 'account-link.create'"),
                   1);
  /* one per user and service URL */
  nimbus_account_link_t dup = link_of(acme, alice, "https://r.example");
  assert_int_equal(store_account_link_insert(st, &dup, NULL), STORE_CONFLICT);
  /* a user of another tenant: NOT_FOUND (the (tenant, user) foreign key) */
  nimbus_account_link_t cross = link_of(acme, carol, "https://r.example");
  assert_int_equal(store_account_link_insert(st, &cross, NULL), STORE_NOT_FOUND);
  nimbus_account_link_t a2 = link_of(acme, alice, "https://other.example");
  nimbus_account_link_t b = link_of(acme, bob, "https://r.example");
  nimbus_account_link_t c = link_of(beta, carol, "https://r.example");
  b.next_poll_at = 1001;
  c.status = NIMBUS_LINK_DENIED; /* never due */
  c.next_poll_at = 0;
  assert_int_equal(store_account_link_insert(st, &a2, NULL), STORE_OK);
  assert_int_equal(store_account_link_insert(st, &b, NULL), STORE_OK);
  assert_int_equal(store_account_link_insert(st, &c, NULL), STORE_OK);

  /* get: every member back, sealed bytes exact; another tenant's: NOT_FOUND */
  nimbus_account_link_t got;
  assert_int_equal(store_account_link_get(st, acme, a.id, &got), STORE_OK);
  assert_int_equal(got.user_id, alice);
  assert_string_equal(got.service_url, "https://r.example");
  assert_int_equal(got.status, NIMBUS_LINK_PENDING);
  assert_int_equal(got.device_code_len, 72);
  assert_memory_equal(got.device_code, a.device_code, 72);
  assert_int_equal(got.token_len, 0);
  assert_string_equal(got.user_code, "BCDF-GHJK");
  assert_string_equal(got.verification_uri, "https://r.example/device");
  assert_string_equal(got.token_endpoint, "https://r.example/oauth/token");
  assert_int_equal(got.interval, 5);
  assert_int_equal(got.expires_at, 2000);
  assert_int_equal(got.next_poll_at, 1005);
  assert_true(got.created_at > 0);
  assert_int_equal(got.version, 1);
  assert_int_equal(store_account_link_get(st, beta, a.id, &got), STORE_NOT_FOUND);

  /* a user's list, by service URL */
  ids_t l = {0};
  assert_int_equal(store_account_link_list(st, acme, alice, collect, &l), STORE_OK);
  assert_int_equal(l.n, 2);
  assert_int_equal(l.ids[0], a2.id); /* https://other... before https://r... */
  assert_int_equal(l.ids[1], a.id);

  /* due: next_poll_at <= now, pending/linked/relink-needed, oldest first, limit */
  ids_t d = {0};
  assert_int_equal(store_account_link_due(st, 1004, 10, collect, &d), STORE_OK);
  assert_int_equal(d.n, 1);
  assert_int_equal(d.ids[0], b.id);
  d.n = 0;
  assert_int_equal(store_account_link_due(st, 5000, 2, collect, &d), STORE_OK);
  assert_int_equal(d.n, 2);
  assert_int_equal(d.ids[0], b.id);

  /* update: compare-and-set on version */
  assert_int_equal(store_account_link_get(st, acme, a.id, &got), STORE_OK);
  nimbus_account_link_t stale = got;
  got.status = NIMBUS_LINK_LINKED;
  snprintf(got.remote_user, sizeof got.remote_user, "alice.remote");
  for (int i = 0; i < 100; i++) got.token[i] = (unsigned char)(255 - i);
  got.token_len = 100;
  got.device_code_len = 0;
  got.user_code[0] = '\0';
  got.linked_at = 1500;
  got.last_checked_at = 1500;
  got.next_poll_at = 2100;
  snprintf(got.last_error, sizeof got.last_error, "none");
  assert_int_equal(store_account_link_update(st, &got, NULL), STORE_OK);
  assert_int_equal(got.version, 2);
  stale.status = NIMBUS_LINK_EXPIRED;
  assert_int_equal(store_account_link_update(st, &stale, NULL), STORE_CONFLICT);
  nimbus_account_link_t again;
  assert_int_equal(store_account_link_get(st, acme, a.id, &again), STORE_OK);
  assert_int_equal(again.status, NIMBUS_LINK_LINKED);
  assert_string_equal(again.remote_user, "alice.remote");
  assert_int_equal(again.token_len, 100);
  assert_memory_equal(again.token, got.token, 100);
  assert_int_equal(again.device_code_len, 0);
  assert_string_equal(again.user_code, "");
  assert_int_equal(again.linked_at, 1500);
  assert_int_equal(again.next_poll_at, 2100);
  assert_string_equal(again.last_error, "none");
  assert_int_equal(again.version, 2);
  nimbus_account_link_t ghost = got;
  ghost.id = 999999;
  assert_int_equal(store_account_link_update(st, &ghost, NULL), STORE_NOT_FOUND);
  ghost = got;
  ghost.tenant_id = beta; /* another tenant's id is not found */
  assert_int_equal(store_account_link_update(st, &ghost, NULL), STORE_NOT_FOUND);

  /* delete; a second time NOT_FOUND; another tenant's NOT_FOUND */
  assert_int_equal(store_account_link_delete(st, beta, a.id, NULL), STORE_NOT_FOUND);
  store_audit_t ad = {
      .tenant_id = acme, .actor = "alice@acme", .action = "account-link.delete", .detail = "id"};
  assert_int_equal(store_account_link_delete(st, acme, a.id, &ad), STORE_OK);
  assert_int_equal(store_account_link_delete(st, acme, a.id, NULL), STORE_NOT_FOUND);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM audit WHERE action = 'account-link.delete'"),
                   1);

  /* they go with their user */
  assert_int_equal(store_user_delete(st, acme, bob), STORE_OK);
  assert_int_equal(store_account_link_get(st, acme, b.id, &got), STORE_NOT_FOUND);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM account_links"), 2);
}

int main(int argc, char **argv) {
  log_set_level(LOG_ERROR);
  if (argc > 1 && !strcmp(argv[1], "pg")) {
    int rc = fixture_use_pg();
    if (rc) return rc;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_account_link_store, setup_direct, teardown),
  };
  return cmocka_run_group_tests_name("store contract: account links", tests, NULL, NULL);
}
