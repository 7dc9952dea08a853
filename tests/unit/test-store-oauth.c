/*
 * test-store-oauth.c: the store contract for OAuth device grants
 * (store_device_grant_*, docs/FEDERATION.md §2.1) and token scopes on
 * every backend, and the pure parts of oauth/: user code normalization,
 * client_id validation, the form decoder.  `test-store-oauth pg` runs the
 * store part on PostgreSQL (store-fixture.h).
 */
#include "oauth-http.h"
#include "oauth.h"
#include "store-fixture.h"

/* A pending grant whose hashes are filled with tag. */
static nimbus_device_grant_t grant_of(unsigned char tag, int64_t now) {
  nimbus_device_grant_t g;
  memset(&g, 0, sizeof g);
  memset(g.user_code_hash, tag, 32);
  memset(g.device_code_hash, tag + 100, 32);
  snprintf(g.client_id, sizeof g.client_id, "home.example");
  snprintf(g.scope, sizeof g.scope, "federation");
  g.created_at = now;
  g.expires_at = now + 600;
  g.interval = 5;
  return g;
}

static void test_device_grant_store(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t acme = make_tenant(st, "acme");
  nimbus_id_t alice = make_user(st, acme, "alice");
  const int64_t now = 2000000000;

  nimbus_device_grant_t g = grant_of(1, now), got;
  assert_int_equal(store_device_grant_insert(st, &g, 3), STORE_OK);
  assert_true(g.id > 0);
  assert_string_equal(g.status, "pending");
  /* found by either hash, with every field */
  assert_int_equal(store_device_grant_get(st, false, g.user_code_hash, &got), STORE_OK);
  assert_int_equal(got.id, g.id);
  assert_memory_equal(got.device_code_hash, g.device_code_hash, 32);
  assert_string_equal(got.client_id, "home.example");
  assert_string_equal(got.scope, "federation");
  assert_string_equal(got.status, "pending");
  assert_int_equal(got.tenant_id, 0);
  assert_int_equal(got.user_id, 0);
  assert_int_equal(got.expires_at, now + 600);
  assert_int_equal(got.interval, 5);
  assert_int_equal(got.last_poll_at, 0);
  assert_int_equal(got.token_id, 0);
  assert_int_equal(store_device_grant_get(st, true, g.device_code_hash, &got), STORE_OK);
  assert_int_equal(got.id, g.id);
  assert_int_equal(store_device_grant_get(st, true, g.user_code_hash, &got), STORE_NOT_FOUND);
  /* the same user code again: CONFLICT (unique) */
  nimbus_device_grant_t dup = grant_of(1, now);
  memset(dup.device_code_hash, 55, 32);
  assert_int_equal(store_device_grant_insert(st, &dup, 3), STORE_CONFLICT);

  /* the cap counts pending, unexpired grants */
  nimbus_device_grant_t g2 = grant_of(2, now), g3 = grant_of(3, now), g4 = grant_of(4, now);
  assert_int_equal(store_device_grant_insert(st, &g2, 3), STORE_OK);
  assert_int_equal(store_device_grant_insert(st, &g3, 3), STORE_OK);
  assert_int_equal(store_device_grant_insert(st, &g4, 3), STORE_CONFLICT);
  g4.created_at = now + 601; /* the three have expired by then */
  g4.expires_at = now + 1201;
  assert_int_equal(store_device_grant_insert(st, &g4, 3), STORE_OK);

  /* compare and set on the status, audited */
  nimbus_device_grant_t next = g;
  snprintf(next.status, sizeof next.status, "approved");
  next.tenant_id = acme;
  next.user_id = alice;
  store_audit_t au = {.tenant_id = acme,
                      .actor = "alice@acme",
                      .action = "oauth.device.approve",
                      .detail = "client_id=home.example"};
  assert_int_equal(store_device_grant_update(st, &next, "pending", &au), STORE_OK);
  assert_int_equal(store_device_grant_update(st, &next, "pending", NULL), STORE_NOT_FOUND);
  assert_int_equal(store_device_grant_get(st, true, g.device_code_hash, &got), STORE_OK);
  assert_string_equal(got.status, "approved");
  assert_int_equal(got.tenant_id, acme);
  assert_int_equal(got.user_id, alice);
  next.interval = 10;
  next.last_poll_at = now + 7;
  next.token_id = 42;
  snprintf(next.status, sizeof next.status, "issued");
  assert_int_equal(store_device_grant_update(st, &next, "approved", NULL), STORE_OK);
  assert_int_equal(store_device_grant_get(st, false, g.user_code_hash, &got), STORE_OK);
  assert_string_equal(got.status, "issued");
  assert_int_equal(got.interval, 10);
  assert_int_equal(got.last_poll_at, now + 7);
  assert_int_equal(got.token_id, 42);

  /* grants expired more than a day ago go at the next insert */
  nimbus_device_grant_t late = grant_of(9, now + 600 + 86401);
  assert_int_equal(store_device_grant_insert(st, &late, 3), STORE_OK);
  assert_int_equal(store_device_grant_get(st, true, g.device_code_hash, &got), STORE_NOT_FOUND);
  assert_int_equal(store_device_grant_get(st, true, late.device_code_hash, &got), STORE_OK);
}

static void test_token_scope_store(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t acme = make_tenant(st, "acme");
  nimbus_id_t alice = make_user(st, acme, "alice");
  nimbus_token_t full = {.tenant_id = acme, .user_id = alice}, fed = full, got;
  memset(full.hash, 1, 32);
  memset(fed.hash, 2, 32);
  snprintf(fed.scope, sizeof fed.scope, "federation");
  assert_int_equal(store_token_insert(st, &full), STORE_OK);
  assert_int_equal(store_token_insert(st, &fed), STORE_OK);
  assert_int_equal(store_token_lookup(st, full.hash, 1, &got), STORE_OK);
  assert_string_equal(got.scope, "");
  assert_int_equal(store_token_lookup(st, fed.hash, 1, &got), STORE_OK);
  assert_string_equal(got.scope, "federation");
  /* the schema takes no other scope */
  nimbus_token_t other = full;
  memset(other.hash, 3, 32);
  snprintf(other.scope, sizeof other.scope, "admin");
  assert_int_not_equal(store_token_insert(st, &other), STORE_OK);
}

static void test_codes_and_forms(void **state) {
  (void)state;
  char out[OAUTH_USER_CODE_LEN + 1];
  assert_true(oauth_user_code_normalize("BCDF-GHJK", out));
  assert_string_equal(out, "BCDFGHJK");
  assert_true(oauth_user_code_normalize(" bc df-gh jk ", out));
  assert_string_equal(out, "BCDFGHJK");
  assert_false(oauth_user_code_normalize("BCDF-GHJ", out));   /* 7 letters */
  assert_false(oauth_user_code_normalize("BCDF-GHJKL", out)); /* 9 */
  assert_false(oauth_user_code_normalize("BCDF-GHJA", out));  /* a vowel */
  assert_false(oauth_user_code_normalize("BCDF\tGHJK", out)); /* a tab */
  assert_true(oauth_client_id_valid("home.example:8631"));
  assert_false(oauth_client_id_valid(""));
  assert_false(oauth_client_id_valid(" home"));
  assert_false(oauth_client_id_valid("ho\x01me"));
  assert_false(oauth_client_id_valid("h\xc3\xa9me"));

  oauth_form_t f;
  const char *ok = "grant_type=urn%3Aietf%3Aparams&client_id=a+b&&empty=&flag";
  assert_true(oauth_form_parse(ok, strlen(ok), &f));
  assert_string_equal(oauth_form_get(&f, "grant_type"), "urn:ietf:params");
  assert_string_equal(oauth_form_get(&f, "client_id"), "a b");
  assert_string_equal(oauth_form_get(&f, "empty"), "");
  assert_string_equal(oauth_form_get(&f, "flag"), "");
  assert_null(oauth_form_get(&f, "device_code"));
  oauth_form_free(&f);
  assert_true(oauth_form_parse("", 0, &f));
  assert_int_equal(f.n, 0);
  static const char *const bad[] = {"a=%zz",   "a=%4",  "a=%",
                                    "a=1&a=2", "a=%0a", "=x",
                                    "a=\x7f",  "a=%00", "a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_false(oauth_form_parse(bad[i], strlen(bad[i]), &f));
  /* length-bounded: the bytes after len are not read */
  assert_true(oauth_form_parse("a=%41%42", 5, &f));
  assert_string_equal(oauth_form_get(&f, "a"), "A");
  oauth_form_free(&f);
}

int main(int argc, char **argv) {
  log_set_level(LOG_ERROR);
  if (argc > 1 && !strcmp(argv[1], "pg")) {
    int rc = fixture_use_pg();
    if (rc) return rc;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_device_grant_store, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_token_scope_store, setup_direct, teardown),
      cmocka_unit_test(test_codes_and_forms),
  };
  return cmocka_run_group_tests_name("store contract: OAuth device grants", tests, NULL, NULL);
}
