/*
 * test-store-sessions.c: the store contract for web console sessions
 * (store_web_session_*, docs/CONSOLE.md §1.3) on every backend, and the
 * session policy above it (accounts/web-session.c): the cookie parser,
 * the secret's shape, the CSRF token, authentication with idle and
 * absolute expiry.  `test-store-sessions pg` runs it on PostgreSQL
 * (store-fixture.h).
 */
#include "store-fixture.h"
#include "web-session.h"

/* A session of user in tenant, last used at seen, ending at expires. */
static nimbus_web_session_t session_of(nimbus_id_t tenant, nimbus_id_t user, unsigned char tag,
                                       int64_t seen, int64_t expires) {
  nimbus_web_session_t ws = {.tenant_id = tenant, .user_id = user};
  memset(ws.hash, tag, sizeof ws.hash);
  ws.created_at = seen;
  ws.last_seen_at = seen;
  ws.expires_at = expires;
  return ws;
}

static void test_web_session_store(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t acme = make_tenant(st, "acme"), beta = make_tenant(st, "beta");
  nimbus_id_t alice = make_user(st, acme, "alice"), bob = make_user(st, acme, "bob");
  nimbus_id_t carol = make_user(st, beta, "carol");
  const int64_t now = 1000000;

  nimbus_web_session_t a1 = session_of(acme, alice, 1, now, now + 100);
  store_audit_t au = {.tenant_id = acme,
                      .actor = "alice@acme",
                      .action = "session-created",
                      .detail = "user=alice"};
  assert_int_equal(store_web_session_insert(st, &a1, &au), STORE_OK);
  assert_true(a1.id > 0);
  nimbus_web_session_t dup = session_of(acme, alice, 1, now, now + 100);
  assert_int_equal(store_web_session_insert(st, &dup, NULL), STORE_CONFLICT);
  /* a user of another tenant fails the (tenant, user) foreign key */
  nimbus_web_session_t cross = session_of(acme, carol, 9, now, now + 100);
  assert_int_not_equal(store_web_session_insert(st, &cross, NULL), STORE_OK);
  nimbus_web_session_t a2 = session_of(acme, alice, 2, now, now + 100);
  nimbus_web_session_t b1 = session_of(acme, bob, 3, now, now + 100);
  nimbus_web_session_t c1 = session_of(beta, carol, 4, now, now + 100);
  assert_int_equal(store_web_session_insert(st, &a2, NULL), STORE_OK);
  assert_int_equal(store_web_session_insert(st, &b1, NULL), STORE_OK);
  assert_int_equal(store_web_session_insert(st, &c1, NULL), STORE_OK);

  /* get: live within idle and before expires_at */
  nimbus_web_session_t got;
  assert_int_equal(store_web_session_get(st, a1.hash, now + 5, 10, &got), STORE_OK);
  assert_int_equal(got.id, a1.id);
  assert_int_equal(got.tenant_id, acme);
  assert_int_equal(got.user_id, alice);
  assert_memory_equal(got.hash, a1.hash, 32);
  assert_int_equal(got.created_at, now);
  assert_int_equal(got.last_seen_at, now);
  assert_int_equal(got.expires_at, now + 100);
  assert_int_equal(store_web_session_get(st, a1.hash, now + 10, 10, &got), STORE_NOT_FOUND);
  /* touch moves last_seen_at (never back) */
  assert_int_equal(store_web_session_touch(st, a1.id, now + 8), STORE_OK);
  assert_int_equal(store_web_session_touch(st, a1.id, now + 2), STORE_OK);
  assert_int_equal(store_web_session_get(st, a1.hash, now + 15, 10, &got), STORE_OK);
  assert_int_equal(got.last_seen_at, now + 8);
  /* the absolute end holds whatever the use */
  assert_int_equal(store_web_session_touch(st, a1.id, now + 99), STORE_OK);
  assert_int_equal(store_web_session_get(st, a1.hash, now + 100, 1000, &got), STORE_NOT_FOUND);
  unsigned char none[32];
  memset(none, 7, sizeof none);
  assert_int_equal(store_web_session_get(st, none, now, 10, &got), STORE_NOT_FOUND);

  /* delete one; a second time NOT_FOUND */
  assert_int_equal(store_web_session_delete(st, a2.hash, NULL), STORE_OK);
  assert_int_equal(store_web_session_delete(st, a2.hash, NULL), STORE_NOT_FOUND);
  assert_int_equal(store_web_session_get(st, a2.hash, now, 10, &got), STORE_NOT_FOUND);

  /* delete all of a user: bob's stay */
  assert_int_equal(store_web_session_delete_user(st, acme, alice), STORE_OK);
  assert_int_equal(store_web_session_delete_user(st, acme, alice), STORE_OK); /* none is fine */
  assert_int_equal(store_web_session_get(st, a1.hash, now, 10, &got), STORE_NOT_FOUND);
  assert_int_equal(store_web_session_get(st, b1.hash, now, 10, &got), STORE_OK);
  /* another tenant's id pair deletes nothing */
  assert_int_equal(store_web_session_delete_user(st, beta, bob), STORE_OK);
  assert_int_equal(store_web_session_get(st, b1.hash, now, 10, &got), STORE_OK);

  /* delete all of a tenant: beta's stay */
  assert_int_equal(store_web_session_delete_tenant(st, acme), STORE_OK);
  assert_int_equal(store_web_session_get(st, b1.hash, now, 10, &got), STORE_NOT_FOUND);
  assert_int_equal(store_web_session_get(st, c1.hash, now, 10, &got), STORE_OK);

  /* sweep: idle or past their end go, live ones stay */
  nimbus_web_session_t idle = session_of(beta, carol, 5, now - 50, now + 1000);
  nimbus_web_session_t over = session_of(beta, carol, 6, now, now - 1);
  assert_int_equal(store_web_session_insert(st, &idle, NULL), STORE_OK);
  assert_int_equal(store_web_session_insert(st, &over, NULL), STORE_OK);
  int n = -1;
  assert_int_equal(store_web_session_sweep(st, now, 30, &n), STORE_OK);
  assert_int_equal(n, 2);
  assert_int_equal(store_web_session_get(st, c1.hash, now, 30, &got), STORE_OK);
  assert_int_equal(store_web_session_sweep(st, now, 30, &n), STORE_OK);
  assert_int_equal(n, 0);

  /* a deleted user's sessions go with it */
  nimbus_user_t cu;
  assert_int_equal(store_user_get(st, beta, carol, &cu), STORE_OK);
  assert_int_equal(store_user_delete(st, beta, carol), STORE_OK);
  assert_int_equal(store_web_session_get(st, c1.hash, now, 30, &got), STORE_NOT_FOUND);
}

static void test_cookie_and_csrf(void **state) {
  (void)state;
  const char *secret = "nms_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
  char out[WEB_SESSION_SECRET_MAX];
  assert_true(web_session_secret_valid(secret));
  assert_false(web_session_secret_valid("nms_short"));
  assert_false(web_session_secret_valid("nmb_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
  assert_false(web_session_secret_valid("nms_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/"));

  char header[256];
  snprintf(header, sizeof header, "a=b; nimbus_session=%s; c=d", secret);
  assert_true(web_session_cookie_find(header, out, sizeof out));
  assert_string_equal(out, secret);
  snprintf(header, sizeof header, "nimbus_session=%s", secret);
  assert_true(web_session_cookie_find(header, out, sizeof out));
  /* a malformed first one does not hide a good one after it */
  snprintf(header, sizeof header, "nimbus_session=junk;nimbus_session=%s", secret);
  assert_true(web_session_cookie_find(header, out, sizeof out));
  assert_string_equal(out, secret);
  assert_false(
      web_session_cookie_find("xnimbus_session=nms_x; nimbus_sessionx=1", out, sizeof out));
  assert_string_equal(out, "");
  snprintf(header, sizeof header, "nimbus_session=%sA", secret); /* too long */
  assert_false(web_session_cookie_find(header, out, sizeof out));
  assert_false(web_session_cookie_find(NULL, out, sizeof out));

  char csrf[WEB_SESSION_CSRF_MAX], csrf2[WEB_SESSION_CSRF_MAX];
  assert_true(web_session_csrf(secret, csrf));
  assert_int_equal(strlen(csrf), 43);
  assert_true(web_session_csrf(secret, csrf2));
  assert_string_equal(csrf, csrf2); /* derived: the same for the same session */
  assert_true(web_session_csrf_ok(secret, csrf));
  csrf2[0] = csrf2[0] == 'A' ? 'B' : 'A';
  assert_false(web_session_csrf_ok(secret, csrf2));
  assert_false(web_session_csrf_ok(secret, ""));
  assert_false(web_session_csrf_ok(secret, NULL));
  assert_true(web_session_csrf("nms_BAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", csrf2));
  assert_string_not_equal(csrf, csrf2); /* another session, another token */
}

static void test_web_session_check(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t acme = make_tenant(st, "acme");
  nimbus_id_t alice = make_user(st, acme, "alice");
  nimbus_auth_t who = {0}, a;
  assert_int_equal(store_tenant_get(st, acme, &who.tenant), STORE_OK);
  assert_int_equal(store_user_get(st, acme, alice, &who.user), STORE_OK);
  char secret[WEB_SESSION_SECRET_MAX];
  nimbus_web_session_t ws, got;
  const int64_t now = 2000000;
  assert_int_equal(web_session_create(st, &who, now, 100, NULL, secret, &ws), STORE_OK);
  assert_true(web_session_secret_valid(secret));
  assert_int_equal(ws.expires_at, now + 100);

  assert_int_equal(web_session_check(st, secret, now + 5, 40, &a, &got), AUTH_OK);
  assert_true(a.via_session);
  assert_int_equal(a.session_id, ws.id);
  assert_string_equal(a.user.name, "alice");
  assert_string_equal(a.tenant.name, "acme");
  assert_string_equal(a.user.password_hash, ""); /* cleared */
  /* idle 40: last_seen_at is written when older than 10 s */
  assert_int_equal(got.last_seen_at, now);
  assert_int_equal(web_session_check(st, secret, now + 30, 40, &a, &got), AUTH_OK);
  assert_int_equal(got.last_seen_at, now + 30);
  assert_int_equal(web_session_check(st, secret, now + 69, 40, &a, &got), AUTH_OK);
  assert_int_equal(web_session_check(st, secret, now + 69 + 40, 40, &a, &got), AUTH_BAD);
  assert_false(a.via_session);
  /* a session past its absolute end */
  assert_int_equal(web_session_create(st, &who, now, 100, NULL, secret, &ws), STORE_OK);
  assert_int_equal(web_session_check(st, secret, now + 99, 1000, &a, NULL), AUTH_OK);
  assert_int_equal(web_session_check(st, secret, now + 100, 1000, &a, NULL), AUTH_BAD);
  /* ended */
  assert_int_equal(web_session_create(st, &who, now, 100, NULL, secret, &ws), STORE_OK);
  assert_int_equal(web_session_end(st, secret, NULL), STORE_OK);
  assert_int_equal(web_session_check(st, secret, now, 1000, &a, NULL), AUTH_BAD);
  assert_int_equal(web_session_end(st, secret, NULL), STORE_NOT_FOUND);
  assert_int_equal(web_session_check(st, "nms_bad", now, 1000, &a, NULL), AUTH_BAD);
}

int main(int argc, char **argv) {
  log_set_level(LOG_ERROR);
  if (argc > 1 && !strcmp(argv[1], "pg")) {
    int rc = fixture_use_pg();
    if (rc) return rc;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_web_session_store, setup_direct, teardown),
      cmocka_unit_test(test_cookie_and_csrf),
      cmocka_unit_test_setup_teardown(test_web_session_check, setup_direct, teardown),
  };
  return cmocka_run_group_tests_name("store contract: web sessions", tests, NULL, NULL);
}
