/*
 * test-store-accounts.c: the store contract for accounts, run on every
 * backend: tenants, users, aliases, API tokens, queues, the sign-in
 * throttle, re-entry from a list callback and the schema version, all
 * through store.h alone (no look at the database behind it).
 * `test-store-accounts` runs it on SQLite, `test-store-accounts pg` (meson
 * test store-accounts-pg) on the PostgreSQL database of
 * $NIMBUS_TEST_PG_URL, a fresh schema per test (store-fixture.h).
 */
#include "store-fixture.h"
#include "user-names.h"

/* ---- open ---- */

/* Migrations ran at open; reopening applies nothing twice and keeps data. */
static void test_schema_version_and_reopen(void **state) {
  fixture_t *fx = *state;
  int version = store_schema_version(fx->st);
  assert_true(version >= 1);
  assert_int_equal(store_schema_version_nowait(fx->st), version);
  make_tenant(fx->st, "acme");
  reopen(fx);
  assert_int_equal(store_schema_version(fx->st), version);
  nimbus_tenant_t t;
  assert_int_equal(store_tenant_get_by_name(fx->st, "acme", &t), STORE_OK);
  /* Both backends implement every operation (nimbusd refuses one that
   * does not). */
  int missing = -1;
  assert_null(store_unimplemented_op(fx->st, &missing));
  assert_int_equal(missing, 0);
}

/* ---- tenants ---- */

static void test_tenant_crud(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_tenant_t t = {.max_document_size = 1 << 20, .max_held_jobs_per_user = 5};
  snprintf(t.name, sizeof t.name, "zeta");
  snprintf(t.display_name, sizeof t.display_name, "Zeta Corp");
  int64_t before = (int64_t)time(NULL);
  assert_int_equal(store_tenant_insert(st, &t), STORE_OK);
  assert_true(t.id > 0);
  assert_true(t.created_at >= before);

  nimbus_tenant_t dup = t;
  assert_int_equal(store_tenant_insert(st, &dup), STORE_CONFLICT);

  nimbus_tenant_t got;
  assert_int_equal(store_tenant_get(st, t.id, &got), STORE_OK);
  assert_string_equal(got.name, "zeta");
  assert_string_equal(got.display_name, "Zeta Corp");
  assert_int_equal(got.max_document_size, 1 << 20);
  assert_int_equal(got.max_held_jobs_per_user, 5);
  assert_int_equal(got.created_at, t.created_at);
  assert_int_equal(store_tenant_get_by_name(st, "zeta", &got), STORE_OK);
  assert_int_equal(got.id, t.id);
  assert_int_equal(store_tenant_get_by_name(st, "nope", &got), STORE_NOT_FOUND);
  assert_int_equal(store_tenant_get(st, t.id + 100, &got), STORE_NOT_FOUND);

  snprintf(t.display_name, sizeof t.display_name, "Zeta Ltd");
  t.max_held_jobs_per_user = 9;
  assert_int_equal(store_tenant_update(st, &t), STORE_OK);
  assert_int_equal(store_tenant_get(st, t.id, &got), STORE_OK);
  assert_string_equal(got.display_name, "Zeta Ltd");
  assert_int_equal(got.max_held_jobs_per_user, 9);
  assert_false(got.suspended);

  /* suspended: kept, read back, cleared again (migration 16 / pg 7) */
  t.suspended = true;
  assert_int_equal(store_tenant_update(st, &t), STORE_OK);
  assert_int_equal(store_tenant_get_by_name(st, "zeta", &got), STORE_OK);
  assert_true(got.suspended);
  assert_string_equal(got.display_name, "Zeta Ltd");
  t.suspended = false;
  assert_int_equal(store_tenant_update(st, &t), STORE_OK);
  assert_int_equal(store_tenant_get(st, t.id, &got), STORE_OK);
  assert_false(got.suspended);
  nimbus_tenant_t ghost = t;
  ghost.id = t.id + 100;
  assert_int_equal(store_tenant_update(st, &ghost), STORE_NOT_FOUND);

  make_tenant(st, "alpha");
  make_tenant(st, "mid");
  collect_t c = {0};
  assert_int_equal(store_tenant_list(st, tenant_cb, &c), STORE_OK);
  assert_int_equal(c.n, 3);
  assert_string_equal(c.names[0], "alpha");
  assert_string_equal(c.names[1], "mid");
  assert_string_equal(c.names[2], "zeta");
  collect_t first = {.stop_after = 1};
  assert_int_equal(store_tenant_list(st, tenant_cb, &first), STORE_OK);
  assert_int_equal(first.n, 1);

  assert_int_equal(store_tenant_delete(st, t.id), STORE_OK);
  assert_int_equal(store_tenant_get(st, t.id, &got), STORE_NOT_FOUND);
  assert_int_equal(store_tenant_delete(st, t.id), STORE_NOT_FOUND);

  /* Ids are never reused after a delete. */
  nimbus_id_t again = make_tenant(st, "zeta");
  assert_true(again > t.id);

  /* The operators' tenant cannot be suspended, not even behind the API's
   * back (the column's CHECK), and is not when inserted so either. */
  nimbus_tenant_t sys = {0};
  snprintf(sys.name, sizeof sys.name, "system");
  assert_int_equal(store_tenant_insert(st, &sys), STORE_OK);
  sys.suspended = true;
  assert_int_not_equal(store_tenant_update(st, &sys), STORE_OK);
  assert_int_equal(store_tenant_get(st, sys.id, &got), STORE_OK);
  assert_false(got.suspended);
  nimbus_tenant_t sys2 = {.suspended = true};
  snprintf(sys2.name, sizeof sys2.name, "system");
  assert_int_equal(store_tenant_delete(st, sys.id), STORE_OK);
  assert_int_not_equal(store_tenant_insert(st, &sys2), STORE_OK);
}

/* ---- users ---- */

static void test_user_crud_and_isolation(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");

  nimbus_user_t u = {.tenant_id = a, .role = NIMBUS_ROLE_TENANT_ADMIN};
  snprintf(u.name, sizeof u.name, "carol");
  snprintf(u.password_hash, sizeof u.password_hash, "$argon2id$v=19$m=1$carol");
  assert_int_equal(store_user_insert(st, &u), STORE_OK);
  assert_true(u.id > 0 && u.created_at > 0);
  nimbus_user_t dup = u;
  assert_int_equal(store_user_insert(st, &dup), STORE_CONFLICT);
  /* The same name in another tenant is a different user. */
  nimbus_id_t carol_b = make_user(st, b, "carol");
  assert_true(carol_b != u.id);
  /* A user of a tenant that does not exist. */
  nimbus_user_t orphan = u;
  orphan.tenant_id = b + 100;
  assert_int_equal(store_user_insert(st, &orphan), STORE_NOT_FOUND);

  nimbus_user_t got;
  assert_int_equal(store_user_get(st, a, u.id, &got), STORE_OK);
  assert_string_equal(got.name, "carol");
  assert_int_equal(got.role, NIMBUS_ROLE_TENANT_ADMIN);
  assert_string_equal(got.password_hash, u.password_hash);
  assert_int_equal(store_user_get_by_name(st, a, "carol", &got), STORE_OK);
  assert_int_equal(got.id, u.id);
  assert_int_equal(store_user_get_by_name(st, b, "carol", &got), STORE_OK);
  assert_int_equal(got.id, carol_b);

  /* Tenant b cannot see, change or delete a's user. */
  assert_int_equal(store_user_get(st, b, u.id, &got), STORE_NOT_FOUND);
  nimbus_user_t evil = u;
  evil.tenant_id = b;
  evil.role = NIMBUS_ROLE_OPERATOR;
  assert_int_equal(store_user_update(st, &evil), STORE_NOT_FOUND);
  assert_int_equal(store_user_delete(st, b, u.id), STORE_NOT_FOUND);
  assert_int_equal(store_user_get(st, a, u.id, &got), STORE_OK);
  assert_int_equal(got.role, NIMBUS_ROLE_TENANT_ADMIN);

  u.role = NIMBUS_ROLE_USER;
  snprintf(u.password_hash, sizeof u.password_hash, "$argon2id$new");
  assert_int_equal(store_user_update(st, &u), STORE_OK);
  assert_int_equal(store_user_get(st, a, u.id, &got), STORE_OK);
  assert_int_equal(got.role, NIMBUS_ROLE_USER);
  assert_string_equal(got.password_hash, "$argon2id$new");

  make_user(st, a, "alice");
  collect_t c = {0};
  assert_int_equal(store_user_list(st, a, user_cb, &c), STORE_OK);
  assert_int_equal(c.n, 2);
  assert_string_equal(c.names[0], "alice");
  assert_string_equal(c.names[1], "carol");
  collect_t cb = {0};
  assert_int_equal(store_user_list(st, b, user_cb, &cb), STORE_OK);
  assert_int_equal(cb.n, 1);
  assert_int_equal(cb.ids[0], carol_b);

  assert_int_equal(store_user_delete(st, a, u.id), STORE_OK);
  assert_int_equal(store_user_get(st, a, u.id, &got), STORE_NOT_FOUND);
  assert_int_equal(store_user_delete(st, a, u.id), STORE_NOT_FOUND);
}

/* ---- user aliases (user-names.h) ---- */

static bool alias_count_cb(const nimbus_alias_t *a, void *ctx) {
  (void)a;
  (*(int *)ctx)++;
  return true;
}

static void test_alias_normalise(void **state) {
  (void)state;
  char key[NIMBUS_NAME_MAX], long_name[NIMBUS_NAME_MAX + 1];
  assert_true(user_alias_normalise("CORP\\JDoe", key));
  assert_string_equal(key, "corp\\jdoe");
  assert_true(user_alias_normalise("Jdoe@Corp.Example", key));
  assert_string_equal(key, "jdoe@corp.example");
  /* only ASCII letters fold: "É" (C3 89) stays as sent */
  assert_true(user_alias_normalise("\xc3\x89MILE", key));
  assert_string_equal(key, "\xc3\x89mile");
  assert_false(user_alias_normalise("", key));
  assert_false(user_alias_normalise(" x", key));
  assert_false(user_alias_normalise("x ", key));
  assert_false(user_alias_normalise("a\tb", key));
  assert_false(user_alias_normalise("a\x7f", key));
  assert_string_equal(key, "");
  memset(long_name, 'a', USER_ALIAS_MAX);
  long_name[USER_ALIAS_MAX] = '\0';
  assert_true(user_alias_normalise(long_name, key));
  long_name[USER_ALIAS_MAX] = 'a';
  long_name[USER_ALIAS_MAX + 1] = '\0';
  assert_false(user_alias_normalise(long_name, key));
}

static void test_alias_resolve_and_isolation(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");
  nimbus_id_t jdoe = make_user(st, a, "jdoe"), other = make_user(st, a, "other");
  make_user(st, b, "carol");
  nimbus_alias_t al = {.tenant_id = a, .user_id = jdoe};
  snprintf(al.alias, sizeof al.alias, "CORP\\JDoe");
  assert_int_equal(store_alias_insert(st, &al, "corp\\jdoe"), STORE_OK);
  assert_true(al.id > 0 && al.created_at > 0);
  /* unique per tenant in normal form, whoever the user */
  nimbus_alias_t dup = {.tenant_id = a, .user_id = other};
  snprintf(dup.alias, sizeof dup.alias, "corp\\JDOE");
  assert_int_equal(store_alias_insert(st, &dup, "corp\\jdoe"), STORE_CONFLICT);
  /* the same alias in tenant b is b's own */
  nimbus_alias_t in_b = {.tenant_id = b, .user_id = make_user(st, b, "dave")};
  snprintf(in_b.alias, sizeof in_b.alias, "corp\\jdoe");
  assert_int_equal(store_alias_insert(st, &in_b, "corp\\jdoe"), STORE_OK);
  /* a user of another tenant cannot get an alias here */
  nimbus_alias_t cross = {.tenant_id = b, .user_id = jdoe};
  snprintf(cross.alias, sizeof cross.alias, "x");
  assert_int_not_equal(store_alias_insert(st, &cross, "x"), STORE_OK);

  nimbus_user_t u;
  assert_int_equal(user_resolve_name(st, a, "Corp\\jdoe", &u), STORE_OK);
  assert_int_equal(u.id, jdoe);
  assert_int_equal(user_resolve_name(st, a, "jdoe", &u), STORE_OK);
  assert_int_equal(u.id, jdoe);
  assert_int_equal(user_resolve_name(st, b, "CORP\\jdoe", &u), STORE_OK);
  assert_int_equal(u.id, in_b.user_id);
  assert_int_equal(user_resolve_name(st, a, "carol", &u), STORE_NOT_FOUND);
  assert_int_equal(user_resolve_name(st, a, "nobody", &u), STORE_NOT_FOUND);

  nimbus_id_t found = 0;
  assert_int_equal(store_user_name_folds_to(st, a, "other", jdoe, &found), STORE_OK);
  assert_int_equal(found, other);
  assert_int_equal(store_user_name_folds_to(st, a, "jdoe", jdoe, &found), STORE_NOT_FOUND);

  int n = 0;
  assert_int_equal(store_alias_list(st, a, jdoe, alias_count_cb, &n), STORE_OK);
  assert_int_equal(n, 1);
  assert_int_equal(store_alias_delete(st, b, jdoe, "corp\\jdoe"), STORE_NOT_FOUND);
  assert_int_equal(store_alias_delete(st, a, other, "corp\\jdoe"), STORE_NOT_FOUND);
  /* the alias goes with its user */
  assert_int_equal(store_user_delete(st, a, jdoe), STORE_OK);
  assert_int_equal(user_resolve_name(st, a, "corp\\jdoe", &u), STORE_NOT_FOUND);
  n = 0;
  assert_int_equal(store_alias_list(st, a, 0, alias_count_cb, &n), STORE_OK);
  assert_int_equal(n, 0);
}

/* ---- tokens ---- */

static void test_token_lifecycle(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");
  nimbus_id_t alice = make_user(st, a, "alice"), bob = make_user(st, a, "bob");
  nimbus_id_t mallory = make_user(st, b, "mallory");
  int64_t now = (int64_t)time(NULL);

  nimbus_token_t t1 = token_template(a, alice, 1, 0);
  assert_int_equal(store_token_insert(st, &t1), STORE_OK);
  assert_true(t1.id > 0 && t1.created_at > 0);
  nimbus_token_t dup = token_template(a, bob, 1, 0);
  assert_int_equal(store_token_insert(st, &dup), STORE_CONFLICT); /* same hash */
  nimbus_token_t t2 = token_template(a, bob, 2, now + 3600);
  assert_int_equal(store_token_insert(st, &t2), STORE_OK);
  nimbus_token_t t3 = token_template(a, alice, 3, now - 1); /* already expired */
  assert_int_equal(store_token_insert(st, &t3), STORE_OK);
  nimbus_token_t tb = token_template(b, mallory, 4, 0);
  assert_int_equal(store_token_insert(st, &tb), STORE_OK);
  /* A token in tenant b for a's user cannot be made. */
  nimbus_token_t cross = token_template(b, alice, 5, 0);
  assert_int_equal(store_token_insert(st, &cross), STORE_NOT_FOUND);

  nimbus_token_t got;
  assert_int_equal(store_token_lookup(st, t1.hash, now, &got), STORE_OK);
  assert_int_equal(got.id, t1.id);
  assert_int_equal(got.tenant_id, a);
  assert_int_equal(got.user_id, alice);
  assert_string_equal(got.user_name, "alice");
  assert_int_equal(got.user_role, NIMBUS_ROLE_USER);
  assert_string_equal(got.label, "token-1");
  assert_memory_equal(got.hash, t1.hash, 32);
  assert_false(got.revoked);
  assert_int_equal(store_token_lookup(st, t2.hash, now, &got), STORE_OK);
  assert_string_equal(got.user_name, "bob");
  assert_int_equal(store_token_lookup(st, t2.hash, now + 3600, &got), STORE_NOT_FOUND);
  assert_int_equal(store_token_lookup(st, t3.hash, now, &got), STORE_NOT_FOUND);
  unsigned char unknown[32] = {0};
  assert_int_equal(store_token_lookup(st, unknown, now, &got), STORE_NOT_FOUND);

  collect_t all = {0}, of_alice = {0}, of_b = {0};
  assert_int_equal(store_token_list(st, a, 0, token_cb, &all), STORE_OK);
  assert_int_equal(all.n, 3);
  assert_int_equal(all.ids[0], t1.id);
  assert_int_equal(store_token_list(st, a, alice, token_cb, &of_alice), STORE_OK);
  assert_int_equal(of_alice.n, 2);
  assert_int_equal(store_token_list(st, b, 0, token_cb, &of_b), STORE_OK);
  assert_int_equal(of_b.n, 1);
  assert_int_equal(of_b.ids[0], tb.id);

  /* Revoke: another tenant, or another user, cannot. */
  assert_int_equal(store_token_revoke(st, b, t1.id, 0), STORE_NOT_FOUND);
  assert_int_equal(store_token_revoke(st, a, t1.id, bob), STORE_NOT_FOUND);
  assert_int_equal(store_token_lookup(st, t1.hash, now, &got), STORE_OK);
  assert_int_equal(store_token_revoke(st, a, t1.id, alice), STORE_OK);
  assert_int_equal(store_token_lookup(st, t1.hash, now, &got), STORE_NOT_FOUND);
  assert_int_equal(store_token_revoke(st, a, t1.id, 0), STORE_OK); /* idempotent */
  assert_int_equal(store_token_revoke(st, a, t1.id + 1000, 0), STORE_NOT_FOUND);

  /* Deleting a user removes its tokens. */
  assert_int_equal(store_user_delete(st, a, bob), STORE_OK);
  assert_int_equal(store_token_lookup(st, t2.hash, now, &got), STORE_NOT_FOUND);
  collect_t left = {0}, left_b = {0};
  assert_int_equal(store_token_list(st, a, 0, token_cb, &left), STORE_OK);
  assert_int_equal(left.n, 2); /* alice's t1 (revoked) and t3 (expired) */
  assert_int_equal(store_token_list(st, b, 0, token_cb, &left_b), STORE_OK);
  assert_int_equal(left_b.n, 1);
}

/* ---- queues ---- */

static void test_queue_crud_and_isolation(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");

  nimbus_queue_t q = {.tenant_id = a, .release_immediately = true, .allow_anonymous = false};
  snprintf(q.name, sizeof q.name, "office");
  snprintf(q.description, sizeof q.description, "2nd floor");
  assert_int_equal(store_queue_insert(st, &q), STORE_OK);
  assert_true(q.id > 0 && q.created_at > 0);
  nimbus_queue_t dup = q;
  assert_int_equal(store_queue_insert(st, &dup), STORE_CONFLICT);
  nimbus_id_t office_b = make_queue(st, b, "office");

  nimbus_queue_t got;
  assert_int_equal(store_queue_get_by_name(st, a, "office", &got), STORE_OK);
  assert_int_equal(got.id, q.id);
  assert_string_equal(got.description, "2nd floor");
  assert_true(got.release_immediately);
  assert_false(got.allow_anonymous);
  assert_int_equal(store_queue_get_by_name(st, b, "office", &got), STORE_OK);
  assert_int_equal(got.id, office_b);
  assert_int_equal(store_queue_get_by_name(st, a, "lobby", &got), STORE_NOT_FOUND);

  nimbus_queue_t evil = q;
  evil.tenant_id = b;
  evil.allow_anonymous = true;
  assert_int_equal(store_queue_update(st, &evil), STORE_NOT_FOUND);
  assert_int_equal(store_queue_delete(st, b, q.id), STORE_NOT_FOUND);

  q.release_immediately = false;
  q.allow_anonymous = true;
  snprintf(q.description, sizeof q.description, "moved");
  assert_int_equal(store_queue_update(st, &q), STORE_OK);
  assert_int_equal(store_queue_get_by_name(st, a, "office", &got), STORE_OK);
  assert_false(got.release_immediately);
  assert_true(got.allow_anonymous);
  assert_string_equal(got.description, "moved");

  make_queue(st, a, "lobby");
  collect_t c = {0};
  assert_int_equal(store_queue_list(st, a, queue_cb, &c), STORE_OK);
  assert_int_equal(c.n, 2);
  assert_string_equal(c.names[0], "lobby");
  assert_string_equal(c.names[1], "office");

  assert_int_equal(store_queue_delete(st, a, q.id), STORE_OK);
  assert_int_equal(store_queue_get_by_name(st, a, "office", &got), STORE_NOT_FOUND);
  assert_int_equal(store_queue_delete(st, a, q.id), STORE_NOT_FOUND);
  assert_int_equal(store_queue_get_by_name(st, b, "office", &got), STORE_OK);
}

/* ---- sign-in throttle ---- */

/* auth_throttle: counts per key within a window, a new window after the
 * last has ended, clear, keys independent, ended rows expire in passing. */
static void test_throttle(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  unsigned char a[32], b[32];
  fill_hash(a, 1);
  fill_hash(b, 2);
  int failures = -1;
  int64_t start = -1;
  assert_int_equal(store_throttle_get(st, a, 1000, &failures, &start), STORE_NOT_FOUND);
  for (int i = 1; i <= 3; i++) {
    assert_int_equal(store_throttle_fail(st, a, "account", 1000 + i, 60, &failures, &start),
                     STORE_OK);
    assert_int_equal(failures, i);
    assert_int_equal(start, 1001); /* the window starts with the first failure */
  }
  assert_int_equal(store_throttle_get(st, a, 1060, &failures, &start), STORE_OK);
  assert_int_equal(failures, 3);
  assert_int_equal(store_throttle_get(st, b, 1060, &failures, &start), STORE_NOT_FOUND);
  /* the window 1001..1061 has ended: no count, and a failure starts anew */
  assert_int_equal(store_throttle_get(st, a, 1061, &failures, &start), STORE_NOT_FOUND);
  assert_int_equal(store_throttle_fail(st, a, "account", 1061, 60, &failures, &start), STORE_OK);
  assert_int_equal(failures, 1);
  assert_int_equal(start, 1061);
  /* another key's failure leaves it alone */
  assert_int_equal(store_throttle_fail(st, b, "address", 1062, 60, &failures, &start), STORE_OK);
  assert_int_equal(store_throttle_get(st, a, 1062, &failures, &start), STORE_OK);
  assert_int_equal(failures, 1);
  assert_int_equal(store_throttle_clear(st, a), STORE_OK);
  assert_int_equal(store_throttle_get(st, a, 1062, &failures, &start), STORE_NOT_FOUND);
  assert_int_equal(store_throttle_clear(st, a), STORE_NOT_FOUND);
  /* b's row (ends 1122) goes in passing with a later failure of a */
  assert_int_equal(store_throttle_fail(st, a, "account", 2000, 60, &failures, &start), STORE_OK);
  assert_int_equal(store_throttle_clear(st, b), STORE_NOT_FOUND);
}

/* ---- list callbacks ---- */

typedef struct {
  store_t *st;
  int calls;
  store_status_t inner;
} reentry_t;

static bool reentry_cb(const nimbus_tenant_t *t, void *ctx) {
  reentry_t *r = ctx;
  nimbus_user_t u;
  r->calls++;
  r->inner = store_user_get_by_name(r->st, t->id, "nobody", &u);
  return true;
}

/* A callback that calls the store gets STORE_ERROR, never a deadlock
 * (store.h); the store stays usable afterwards. */
static void test_callback_reentry_is_refused(void **state) {
  fixture_t *fx = *state;
  make_tenant(fx->st, "a");
  reentry_t r = {.st = fx->st, .inner = STORE_OK};
  assert_int_equal(store_tenant_list(fx->st, reentry_cb, &r), STORE_OK);
  assert_int_equal(r.calls, 1);
  assert_int_equal(r.inner, STORE_ERROR);
  nimbus_tenant_t t;
  assert_int_equal(store_tenant_get_by_name(fx->st, "a", &t), STORE_OK);
}

/* ---- several threads, several stores ---- */

#define THREADS 12 /* more than a PostgreSQL pool holds (8): some must wait */
#define ROUNDS 20

typedef struct {
  store_t *st;
  nimbus_id_t tenant;
  int index;
  int failures;
} worker_t;

static void *insert_worker(void *arg) {
  worker_t *w = arg;
  for (int i = 0; i < ROUNDS; i++) {
    nimbus_user_t u = {.tenant_id = w->tenant};
    snprintf(u.name, sizeof u.name, "u%d-%d", w->index, i);
    nimbus_user_t got;
    if (store_user_insert(w->st, &u) != STORE_OK ||
        store_user_get_by_name(w->st, w->tenant, u.name, &got) != STORE_OK || got.id != u.id)
      w->failures++;
  }
  return NULL;
}

/* store_t is safe to use from several threads at once (store.h). */
static void test_concurrent_calls(void **state) {
  fixture_t *fx = *state;
  nimbus_id_t a = make_tenant(fx->st, "a");
  pthread_t th[THREADS];
  worker_t w[THREADS];
  for (int i = 0; i < THREADS; i++) {
    w[i] = (worker_t){.st = fx->st, .tenant = a, .index = i};
    assert_int_equal(pthread_create(&th[i], NULL, insert_worker, &w[i]), 0);
  }
  for (int i = 0; i < THREADS; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(w[i].failures, 0);
  }
  collect_t c = {0};
  assert_int_equal(store_user_list(fx->st, a, user_cb, &c), STORE_OK);
  assert_int_equal(c.n, THREADS * ROUNDS);
}

typedef struct {
  fixture_t *fx;
  store_t *st;
} opener_t;

static void *open_worker(void *arg) {
  opener_t *o = arg;
  o->st = open_store(o->fx);
  return NULL;
}

/* Nodes starting together on one fresh database: exactly one migrates,
 * every one opens (PostgreSQL: the migration advisory lock). */
static void test_concurrent_open(void **state) {
  fixture_t *fx = *state;
  pthread_t th[4];
  opener_t o[4];
  for (int i = 0; i < 4; i++) {
    o[i] = (opener_t){.fx = fx};
    assert_int_equal(pthread_create(&th[i], NULL, open_worker, &o[i]), 0);
  }
  int version = -1;
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    assert_non_null(o[i].st);
    if (version < 0) version = store_schema_version(o[i].st);
    assert_int_equal(store_schema_version(o[i].st), version);
  }
  make_tenant(o[0].st, "seen");
  nimbus_tenant_t t;
  assert_int_equal(store_tenant_get_by_name(o[3].st, "seen", &t), STORE_OK);
  for (int i = 1; i < 4; i++) store_close(o[i].st);
  fx->st = o[0].st;
}

#ifdef NIMBUS_TEST_PG
/* A lost server connection costs at most the call that finds it broken;
 * the pool reconnects for the next one. */
static void test_pg_reconnect(void **state) {
  fixture_t *fx = *state;
  make_tenant(fx->st, "before");
  assert_true(fixture_pg_kill_connections(fx));
  nimbus_tenant_t t;
  store_status_t first = store_tenant_get_by_name(fx->st, "before", &t);
  assert_true(first == STORE_OK || first == STORE_ERROR);
  assert_int_equal(store_tenant_get_by_name(fx->st, "before", &t), STORE_OK);
  make_tenant(fx->st, "after");
}
#endif

/* ---- audited writes: the audit row in the write's transaction ---- */

static int64_t audit_rows(fixture_t *fx, const char *action) {
  char sql[160];
  snprintf(sql, sizeof sql, "SELECT count(*) FROM audit WHERE action = '%s'", action);
  return db_int(fx, sql);
}

/* A write with an audit row: both are there after it, or (the write
 * refused) neither; an insert's new id can lead the detail. */
static void test_audited_writes(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a");
  store_audit_t au = {.tenant_id = a, .actor = "root@a", .action = "user-created",
                      .detail = "user=bob", .id_key = "id"};
  nimbus_user_t u = {.tenant_id = a, .role = NIMBUS_ROLE_USER};
  snprintf(u.name, sizeof u.name, "bob");
  assert_int_equal(store_user_insert_audited(st, &u, &au), STORE_OK);
  assert_int_equal(audit_rows(fx, "user-created"), 1);
  char detail[128], want[128];
  db_text(fx, "SELECT detail FROM audit WHERE action = 'user-created'", detail, sizeof detail);
  snprintf(want, sizeof want, "id=%lld user=bob", (long long)u.id);
  assert_string_equal(detail, want);
  /* the same name again: refused, and no audit row */
  nimbus_user_t dup = u;
  assert_int_equal(store_user_insert_audited(st, &dup, &au), STORE_CONFLICT);
  assert_int_equal(audit_rows(fx, "user-created"), 1);
  /* an update or delete of nothing: NOT_FOUND, no audit row */
  store_audit_t gone = {.tenant_id = a, .actor = "root@a", .action = "user-deleted"};
  assert_int_equal(store_user_delete_audited(st, a, u.id + 100, &gone), STORE_NOT_FOUND);
  assert_int_equal(audit_rows(fx, "user-deleted"), 0);
  assert_int_equal(store_user_delete_audited(st, a, u.id, &gone), STORE_OK);
  assert_int_equal(audit_rows(fx, "user-deleted"), 1);
  /* no audit: the plain write */
  nimbus_tenant_t t = {0};
  snprintf(t.name, sizeof t.name, "b");
  assert_int_equal(store_tenant_insert_audited(st, &t, NULL), STORE_OK);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM audit"), 2);
}

/* What store_audit_list saw, in order. */
typedef struct {
  int n;
  nimbus_id_t ids[16];
  char actions[16][STORE_AUDIT_ACTION_MAX];
  char actors[16][STORE_AUDIT_ACTOR_MAX];
  int stop_after; /* 0: never stop */
} audit_seen_t;

static bool audit_seen_cb(const store_audit_entry_t *e, void *ctx) {
  audit_seen_t *a = ctx;
  if (a->n < 16) {
    a->ids[a->n] = e->id;
    snprintf(a->actions[a->n], sizeof a->actions[a->n], "%s", e->action);
    snprintf(a->actors[a->n], sizeof a->actors[a->n], "%s", e->actor);
  }
  a->n++;
  return !a->stop_after || a->n < a->stop_after;
}

static audit_seen_t audit_list(store_t *st, const store_audit_filter_t *f) {
  audit_seen_t a;
  memset(&a, 0, sizeof a);
  assert_int_equal(store_audit_list(st, f, audit_seen_cb, &a), STORE_OK);
  return a;
}

/* store_audit_list: one tenant's rows only, newest first, each filter,
 * paging by before_id, and the callback may stop the listing. */
static void test_audit_list(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t a = make_tenant(st, "a"), b = make_tenant(st, "b");
  assert_int_equal(store_audit_append(st, a, "alice@a", "user-created", "user=x"), STORE_OK);
  assert_int_equal(store_audit_append(st, b, "bob@b", "user-created", "user=y"), STORE_OK);
  assert_int_equal(store_audit_append(st, a, "root@a", "token-created", "label=ci"), STORE_OK);
  assert_int_equal(store_audit_append(st, 0, "op@system", "tenant-created", NULL), STORE_OK);
  assert_int_equal(store_audit_append(st, a, "alice@a", "job.pin-wrong", "job 1"), STORE_OK);
  /* days: the first row on 2026-01-01, the others on 2026-01-02 */
  db_write(fx, "UPDATE audit SET ts = 1767225600 + 3600");
  db_write(fx, "UPDATE audit SET ts = 1767312000 + 60 WHERE action <> 'user-created'");

  store_audit_filter_t f = {.tenant_id = a};
  audit_seen_t all = audit_list(st, &f);
  assert_int_equal(all.n, 3); /* never b's, never the system's */
  assert_string_equal(all.actions[0], "job.pin-wrong");
  assert_string_equal(all.actions[1], "token-created");
  assert_string_equal(all.actions[2], "user-created");
  assert_true(all.ids[0] > all.ids[1] && all.ids[1] > all.ids[2]);

  f.action = "user-created";
  audit_seen_t r = audit_list(st, &f);
  assert_int_equal(r.n, 1);
  assert_string_equal(r.actors[0], "alice@a");
  f.action = "user-create"; /* exact, not a prefix */
  assert_int_equal(audit_list(st, &f).n, 0);
  f.action = NULL;

  f.actor = "lice"; /* substring */
  assert_int_equal(audit_list(st, &f).n, 2);
  f.actor = "ALICE"; /* case-sensitive */
  assert_int_equal(audit_list(st, &f).n, 0);
  f.actor = "%"; /* no wildcard */
  assert_int_equal(audit_list(st, &f).n, 0);
  f.actor = NULL;

  f.from = 1767312000; /* 2026-01-02 on */
  assert_int_equal(audit_list(st, &f).n, 2);
  f.from = 0;
  f.to = 1767312000; /* before 2026-01-02 */
  r = audit_list(st, &f);
  assert_int_equal(r.n, 1);
  assert_string_equal(r.actions[0], "user-created");
  f.to = 0;

  f.limit = 2;
  r = audit_list(st, &f);
  assert_int_equal(r.n, 2);
  f.before_id = r.ids[1];
  r = audit_list(st, &f);
  assert_int_equal(r.n, 1);
  assert_int_equal(r.ids[0], all.ids[2]);
  f.before_id = all.ids[2];
  assert_int_equal(audit_list(st, &f).n, 0);
  f.before_id = 0;
  f.limit = 0;

  audit_seen_t stop = {.stop_after = 1};
  assert_int_equal(store_audit_list(st, &f, audit_seen_cb, &stop), STORE_OK);
  assert_int_equal(stop.n, 1);

  store_audit_filter_t none = {.tenant_id = b + 100};
  assert_int_equal(audit_list(st, &none).n, 0);
  store_audit_filter_t sys = {.tenant_id = 0};
  assert_int_equal(store_audit_list(st, &sys, audit_seen_cb, &stop), STORE_NOT_FOUND);
}

int main(int argc, char **argv) {
  log_set_level(LOG_ERROR);
  if (argc > 1 && !strcmp(argv[1], "pg")) {
    int rc = fixture_use_pg();
    if (rc) return rc;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_schema_version_and_reopen, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_tenant_crud, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_user_crud_and_isolation, setup_direct, teardown),
      cmocka_unit_test(test_alias_normalise),
      cmocka_unit_test_setup_teardown(test_alias_resolve_and_isolation, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_token_lifecycle, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_audited_writes, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_audit_list, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_queue_crud_and_isolation, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_throttle, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_callback_reentry_is_refused, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_concurrent_calls, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_concurrent_open, setup_unopened, teardown),
  };
  int failed = cmocka_run_group_tests_name("store contract: accounts", tests, NULL, NULL);
#ifdef NIMBUS_TEST_PG
  const struct CMUnitTest pg_tests[] = {
      cmocka_unit_test_setup_teardown(test_pg_reconnect, setup_direct, teardown),
  };
  if (fixture_pg_url)
    failed += cmocka_run_group_tests_name("PostgreSQL connections", pg_tests, NULL, NULL);
#endif
  return failed;
}
