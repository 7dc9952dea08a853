/*
 * store-fixture.h: the shared fixture of the store unit tests
 * (test-store.c, test-store-devices.c, test-store-accounts.c): a fresh
 * database per test, removed afterwards; a second, read-only SQLite
 * connection for the facts the interface cannot show; record builders
 * and list collectors.  Static functions: each test binary is one
 * translation unit and uses a part of them.
 *
 * The contract suite (test-store-accounts.c) runs on either backend: by
 * default SQLite in its own mkdtemp directory under /tmp; after
 * fixture_use_pg() (the binary's "pg" argument, meson test *-pg) the
 * PostgreSQL database of $NIMBUS_TEST_PG_URL, each test in a fresh schema
 * (CREATE SCHEMA, the store URL's search_path pointing at it, DROP SCHEMA
 * … CASCADE afterwards).  db_int(), db_text() and db_write() run their
 * SQL on either; the contract suite uses them only for SQL both backends
 * understand, the rest (PRAGMAs, old schemas) is SQLite's white-box tests.
 */
#ifndef NIMBUS_TEST_STORE_FIXTURE_H
#define NIMBUS_TEST_STORE_FIXTURE_H

#include <dirent.h>
#include <pthread.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#ifdef NIMBUS_TEST_PG
#include <libpq-fe.h>
#endif

#include "log.h"
#include "store.h"

/* From store-sqlite-migrations.c. */
extern const int store_sqlite_migration_count;

/* Not every test binary uses every helper. */
#define STORE_FIXTURE_UNUSED __attribute__((unused))

typedef struct {
  char dir[64];
  char path[1200]; /* the store URL: a SQLite path, or the PostgreSQL URL with its schema */
  char schema[64]; /* PostgreSQL: this test's schema ("" on SQLite) */
  store_t *st;
  int gc_max;
} fixture_t;

/* ---- fixture ---- */

/* The PostgreSQL database of the run (NULL: SQLite). */
static const char *fixture_pg_url;

/*
 * Run this binary's tests on PostgreSQL.  Returns 0 to go on, else the
 * exit code: 77 (meson's "skipped") when NIMBUS_TEST_PG_URL is not set,
 * 1 when it is not set but CI=true, where the suite must run.
 */
static STORE_FIXTURE_UNUSED int fixture_use_pg(void) {
  const char *url = getenv("NIMBUS_TEST_PG_URL");
  if (url && url[0]) {
    fixture_pg_url = url;
    return 0;
  }
  const char *ci = getenv("CI");
  if (ci && !strcmp(ci, "true")) {
    fprintf(stderr,
            "FAIL: NIMBUS_TEST_PG_URL is not set, and CI=true needs the PostgreSQL "
            "suite (scripts/test.sh starts a cluster: tests/pg/pg-cluster.sh)\n");
    return 1;
  }
  fprintf(stderr, "SKIP: NIMBUS_TEST_PG_URL is not set (tests/pg/pg-cluster.sh start DIR)\n");
  return 77;
}

#ifdef NIMBUS_TEST_PG
/* Run one SQL command on the run's database; false (printed) on failure. */
static bool fixture_pg_exec(const char *sql) {
  PGconn *c = PQconnectdb(fixture_pg_url);
  bool ok = PQstatus(c) == CONNECTION_OK;
  if (ok) {
    PQclear(PQexec(c, "SET client_min_messages = warning"));
    PGresult *r = PQexec(c, sql);
    ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
  }
  if (!ok) fprintf(stderr, "fixture: %s: %s", sql, PQerrorMessage(c));
  PQfinish(c);
  return ok;
}

/* A fresh schema for this test and the store URL that works in it. */
static bool fixture_pg_create(fixture_t *fx) {
  static int serial;
  snprintf(fx->schema, sizeof fx->schema, "nimbus_test_%ld_%d", (long)getpid(), ++serial);
  char sql[64 + 2 * sizeof fx->schema];
  snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s", fx->schema,
           fx->schema);
  if (!fixture_pg_exec(sql)) return false;
  int n = snprintf(fx->path, sizeof fx->path, "%s%coptions=-csearch_path%%3D%s&application_name=%s",
                   fixture_pg_url, strchr(fixture_pg_url, '?') ? '&' : '?', fx->schema, fx->schema);
  return n > 0 && (size_t)n < sizeof fx->path;
}

/* End the server side of every connection this test's store holds (they
 * carry the schema's name as application_name), as a server restart
 * would. */
static STORE_FIXTURE_UNUSED bool fixture_pg_kill_connections(fixture_t *fx) {
  char sql[160 + sizeof fx->schema];
  snprintf(sql, sizeof sql,
           "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '%s'",
           fx->schema);
  PGconn *c = PQconnectdb(fixture_pg_url);
  bool ok = PQstatus(c) == CONNECTION_OK;
  if (ok) {
    PGresult *r = PQexec(c, sql);
    ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0;
    PQclear(r);
  }
  PQfinish(c);
  return ok;
}

/* The first value of sql's first row in this test's schema (NULL when
 * none), as text; false (printed) when the query fails. */
static bool fixture_pg_query(fixture_t *fx, const char *sql, char *out, size_t cap) {
  PGconn *c = PQconnectdb(fx->path);
  bool ok = PQstatus(c) == CONNECTION_OK;
  out[0] = '\0';
  if (ok) {
    PGresult *r = PQexec(c, sql);
    ok = PQresultStatus(r) == PGRES_TUPLES_OK || PQresultStatus(r) == PGRES_COMMAND_OK;
    if (ok && PQntuples(r) > 0 && PQnfields(r) > 0 && !PQgetisnull(r, 0, 0))
      snprintf(out, cap, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
  }
  if (!ok) fprintf(stderr, "fixture: %s: %s", sql, PQerrorMessage(c));
  PQfinish(c);
  return ok;
}

static void fixture_pg_drop(fixture_t *fx) {
  char sql[32 + sizeof fx->schema];
  snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE", fx->schema);
  fixture_pg_exec(sql);
}
#else
static bool fixture_pg_query(fixture_t *fx, const char *sql, char *out, size_t cap) {
  (void)fx;
  (void)sql;
  (void)cap;
  out[0] = '\0';
  return false;
}
static bool fixture_pg_create(fixture_t *fx) {
  (void)fx;
  fprintf(stderr, "fixture: built without libpq\n");
  return false;
}
static void fixture_pg_drop(fixture_t *fx) {
  (void)fx;
}
#endif

static STORE_FIXTURE_UNUSED store_t *open_store(fixture_t *fx) {
  char err[256] = "";
  store_options_t opts = {.group_commit_max = fx->gc_max, .readers = 2};
  store_t *st = store_open(fx->path, &opts, err, sizeof err);
  if (!st) fprintf(stderr, "store_open: %s\n", err);
  return st;
}

/* A fresh, empty location (SQLite directory or PostgreSQL schema) that
 * no store has opened: fx->st is NULL. */
static STORE_FIXTURE_UNUSED int setup_unopened(void **state) {
  fixture_t *fx = calloc(1, sizeof *fx);
  if (!fx) return -1;
  *state = fx;
  fx->gc_max = 1;
  if (fixture_pg_url) return fixture_pg_create(fx) ? 0 : -1;
  snprintf(fx->dir, sizeof fx->dir, "/tmp/nimbus-test-store-XXXXXX");
  if (!mkdtemp(fx->dir)) {
    free(fx);
    *state = NULL;
    return -1;
  }
  snprintf(fx->path, sizeof fx->path, "%s/nimbus.db", fx->dir);
  return 0;
}

static STORE_FIXTURE_UNUSED int setup_with(void **state, int gc_max) {
  if (setup_unopened(state) != 0) return -1;
  fixture_t *fx = *state;
  fx->gc_max = gc_max;
  fx->st = open_store(fx);
  return fx->st ? 0 : -1;
}

static STORE_FIXTURE_UNUSED int setup_direct(void **state) {
  return setup_with(state, 1);
}
static STORE_FIXTURE_UNUSED int setup_group(void **state) {
  return setup_with(state, 16);
}
/* For tests that create the database file themselves. */
static STORE_FIXTURE_UNUSED int setup_closed(void **state) {
  int rc = setup_with(state, 1);
  fixture_t *fx = *state;
  store_close(fx->st);
  fx->st = NULL;
  char p[sizeof fx->path + 8];
  unlink(fx->path);
  snprintf(p, sizeof p, "%s-wal", fx->path);
  unlink(p);
  snprintf(p, sizeof p, "%s-shm", fx->path);
  unlink(p);
  return rc;
}

/* From store-sqlite-migrations.c. */
extern const char *const *const store_sqlite_migrations[];

/* An old database (after setup_closed): the schema of the first `version`
 * migrations and `data` (SQL that sets user_version and fills it), then
 * opened by this build, which migrates it; fx->st is the open store. */
static STORE_FIXTURE_UNUSED void open_store_from_version(fixture_t *fx, int version,
                                                         const char *data) {
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL), SQLITE_OK);
  for (int m = 0; m < version; m++)
    for (const char *const *sql = store_sqlite_migrations[m]; *sql; sql++)
      assert_int_equal(sqlite3_exec(db, *sql, NULL, NULL, NULL), SQLITE_OK);
  char *msg = NULL;
  int rc = sqlite3_exec(db, data, NULL, NULL, &msg);
  if (rc != SQLITE_OK) fprintf(stderr, "version %d data: %s\n", version, msg ? msg : "?");
  sqlite3_free(msg);
  assert_int_equal(rc, SQLITE_OK);
  sqlite3_close(db);
  fx->st = open_store(fx);
  assert_non_null(fx->st);
}

static STORE_FIXTURE_UNUSED int teardown(void **state) {
  fixture_t *fx = *state;
  if (!fx) return 0;
  store_close(fx->st);
  if (fx->schema[0]) {
    fixture_pg_drop(fx);
    free(fx);
    return 0;
  }
  DIR *d = opendir(fx->dir);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
      char p[512];
      snprintf(p, sizeof p, "%s/%s", fx->dir, e->d_name);
      unlink(p);
    }
    closedir(d);
  }
  rmdir(fx->dir);
  free(fx);
  return 0;
}

static STORE_FIXTURE_UNUSED void reopen(fixture_t *fx) {
  store_close(fx->st);
  fx->st = open_store(fx);
  assert_non_null(fx->st);
}

/* ---- raw database access (second connection) ----
 * On PostgreSQL the same SQL runs in the test's schema: the contract
 * suite uses these only for plain SQL both backends understand. */

static STORE_FIXTURE_UNUSED int64_t db_int(fixture_t *fx, const char *sql) {
  if (fx->schema[0]) {
    char v[32];
    assert_true(fixture_pg_query(fx, sql, v, sizeof v));
    return v[0] ? strtoll(v, NULL, 10) : -1;
  }
  sqlite3 *db = NULL;
  sqlite3_stmt *s = NULL;
  int64_t v = -1;
  assert_int_equal(sqlite3_open_v2(fx->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
  if (sqlite3_step(s) == SQLITE_ROW) v = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  sqlite3_close(db);
  return v;
}

static STORE_FIXTURE_UNUSED void db_text(fixture_t *fx, const char *sql, char *out, size_t cap) {
  if (fx->schema[0]) {
    assert_true(fixture_pg_query(fx, sql, out, cap));
    return;
  }
  sqlite3 *db = NULL;
  sqlite3_stmt *s = NULL;
  out[0] = '\0';
  assert_int_equal(sqlite3_open_v2(fx->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
  if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
    snprintf(out, cap, "%s", (const char *)sqlite3_column_text(s, 0));
  sqlite3_finalize(s);
  sqlite3_close(db);
}

static STORE_FIXTURE_UNUSED void db_write(fixture_t *fx, const char *sql) {
  if (fx->schema[0]) {
    char ignored[8];
    assert_true(fixture_pg_query(fx, sql, ignored, sizeof ignored));
    return;
  }
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  char *msg = NULL;
  int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
  if (rc != SQLITE_OK) fprintf(stderr, "db_write: %s\n", msg ? msg : "?");
  sqlite3_free(msg);
  sqlite3_close(db);
  assert_int_equal(rc, SQLITE_OK);
}

/* ---- record builders ---- */

static STORE_FIXTURE_UNUSED nimbus_id_t make_tenant(store_t *st, const char *name) {
  nimbus_tenant_t t = {0};
  snprintf(t.name, sizeof t.name, "%s", name);
  snprintf(t.display_name, sizeof t.display_name, "Tenant %s", name);
  assert_int_equal(store_tenant_insert(st, &t), STORE_OK);
  assert_true(t.id > 0);
  return t.id;
}

static STORE_FIXTURE_UNUSED nimbus_id_t make_user(store_t *st, nimbus_id_t tenant,
                                                  const char *name) {
  nimbus_user_t u = {.tenant_id = tenant, .role = NIMBUS_ROLE_USER};
  snprintf(u.name, sizeof u.name, "%s", name);
  snprintf(u.password_hash, sizeof u.password_hash, "$argon2id$v=19$fake-%s", name);
  assert_int_equal(store_user_insert(st, &u), STORE_OK);
  assert_true(u.id > 0);
  return u.id;
}

static STORE_FIXTURE_UNUSED nimbus_id_t make_queue(store_t *st, nimbus_id_t tenant,
                                                   const char *name) {
  nimbus_queue_t q = {.tenant_id = tenant};
  snprintf(q.name, sizeof q.name, "%s", name);
  assert_int_equal(store_queue_insert(st, &q), STORE_OK);
  assert_true(q.id > 0);
  return q.id;
}

static STORE_FIXTURE_UNUSED nimbus_token_t token_template(nimbus_id_t tenant, nimbus_id_t user,
                                                          unsigned char seed, int64_t expires_at) {
  nimbus_token_t tk = {.tenant_id = tenant, .user_id = user, .expires_at = expires_at};
  snprintf(tk.label, sizeof tk.label, "token-%u", seed);
  for (int i = 0; i < 32; i++) tk.hash[i] = (unsigned char)(seed * 31 + i);
  return tk;
}

static STORE_FIXTURE_UNUSED nimbus_job_t job_template(nimbus_id_t tenant, nimbus_id_t queue,
                                                      nimbus_id_t owner, nimbus_job_state_t state) {
  nimbus_job_t j = {
      .tenant_id = tenant, .queue_id = queue, .owner_id = owner, .state = state, .copies = 1};
  snprintf(j.owner_name, sizeof j.owner_name, "owner-%lld", (long long)owner);
  snprintf(j.name, sizeof j.name, "job");
  return j;
}

static STORE_FIXTURE_UNUSED nimbus_document_t doc_template(int pages, const char *blob_key) {
  nimbus_document_t d = {.size = 1000, .pages = pages};
  snprintf(d.format, sizeof d.format, "application/pdf");
  snprintf(d.name, sizeof d.name, "doc.pdf");
  snprintf(d.blob_key, sizeof d.blob_key, "%s", blob_key);
  return d;
}

static STORE_FIXTURE_UNUSED nimbus_id_t make_job(store_t *st, nimbus_id_t tenant, nimbus_id_t queue,
                                                 nimbus_id_t owner, nimbus_job_state_t state) {
  nimbus_job_t j = job_template(tenant, queue, owner, state);
  assert_int_equal(store_job_insert(st, &j, NULL, 0), STORE_OK);
  assert_true(j.id > 0);
  return j.id;
}

/* ---- job changes (store_job_apply with one change) ---- */

/* Compare-and-set of the state alone. */
static STORE_FIXTURE_UNUSED store_status_t job_cas(store_t *st, nimbus_id_t tenant, nimbus_id_t id,
                                                   nimbus_job_state_t expected,
                                                   nimbus_job_state_t next, const char *event,
                                                   const char *detail) {
  store_job_change_t c = {
      .job_id = id, .expected = expected, .next = next, .event = event, .detail = detail};
  return store_job_apply(st, tenant, &c, 1);
}

/* The same, also comparing the device (expect_device, when not 0) and
 * setting device_id to `device`. */
static STORE_FIXTURE_UNUSED store_status_t
job_cas_device(store_t *st, nimbus_id_t tenant, nimbus_id_t id, nimbus_job_state_t expected,
               nimbus_id_t expect_device, nimbus_job_state_t next, nimbus_id_t device,
               const char *event, const char *detail) {
  store_job_change_t c = {.job_id = id,
                          .expected = expected,
                          .expect_device = expect_device,
                          .next = next,
                          .set = STORE_JOB_SET_DEVICE,
                          .device_id = device,
                          .event = event,
                          .detail = detail};
  return store_job_apply(st, tenant, &c, 1);
}

/* Set a job's target printer, its state unchanged (event "test-target");
 * the job is read first: NOT_FOUND when it is not the tenant's. */
static STORE_FIXTURE_UNUSED store_status_t job_set_target(store_t *st, nimbus_id_t tenant,
                                                          nimbus_id_t id, nimbus_id_t target) {
  nimbus_job_t j;
  store_status_t s = store_job_get(st, tenant, id, &j);
  if (s != STORE_OK) return s;
  store_job_change_t c = {.job_id = id,
                          .expected = j.state,
                          .next = j.state,
                          .set = STORE_JOB_SET_TARGET,
                          .target_device_id = target,
                          .event = "test-target"};
  return store_job_apply(st, tenant, &c, 1);
}

static STORE_FIXTURE_UNUSED void fill_hash(unsigned char h[32], unsigned char seed) {
  for (int i = 0; i < 32; i++) h[i] = (unsigned char)(seed * 7 + i + 1);
}

/* An unclaimed device serving the given queues, claim code `seed`, valid
 * for an hour. */
static STORE_FIXTURE_UNUSED nimbus_device_t make_device(store_t *st, nimbus_id_t tenant,
                                                        const char *name, const nimbus_id_t *queues,
                                                        int nqueues, unsigned char seed) {
  nimbus_device_t d = {.tenant_id = tenant, .nqueues = nqueues};
  snprintf(d.name, sizeof d.name, "%s", name);
  for (int i = 0; i < nqueues; i++) d.queue_ids[i] = queues[i];
  fill_hash(d.claim_hash, seed);
  d.claim_expires_at = (int64_t)time(NULL) + 3600;
  assert_int_equal(store_device_insert(st, &d), STORE_OK);
  assert_true(d.id > 0);
  return d;
}

/* make_device() and claimed with uuid "urn:uuid:...<seed>" and credential
 * hash fill_hash(seed + 100). */
static STORE_FIXTURE_UNUSED nimbus_device_t make_registered(store_t *st, nimbus_id_t tenant,
                                                            const char *name,
                                                            const nimbus_id_t *queues, int nqueues,
                                                            unsigned char seed) {
  nimbus_device_t d = make_device(st, tenant, name, queues, nqueues, seed);
  unsigned char claim[32], cred[32];
  fill_hash(claim, seed);
  fill_hash(cred, (unsigned char)(seed + 100));
  char uuid[NIMBUS_UUID_MAX];
  snprintf(uuid, sizeof uuid, "urn:uuid:00000000-0000-4000-8000-0000000000%02x", seed);
  assert_int_equal(store_device_claim(st, claim, (int64_t)time(NULL), uuid, cred, &d), STORE_OK);
  assert_int_equal(d.status, NIMBUS_DEVICE_REGISTERED);
  return d;
}

/* ---- list collectors ---- */

#define MAX_COLLECT 64

typedef struct {
  int n;
  int stop_after; /* 0 = never stop */
  nimbus_id_t ids[MAX_COLLECT];
  char names[MAX_COLLECT][NIMBUS_NAME_MAX];
} collect_t;

static STORE_FIXTURE_UNUSED bool collect_add(collect_t *c, nimbus_id_t id, const char *name) {
  if (c->n < MAX_COLLECT) {
    c->ids[c->n] = id;
    snprintf(c->names[c->n], sizeof c->names[0], "%s", name);
  }
  c->n++;
  return c->stop_after == 0 || c->n < c->stop_after;
}

static STORE_FIXTURE_UNUSED bool tenant_cb(const nimbus_tenant_t *t, void *ctx) {
  return collect_add(ctx, t->id, t->name);
}
static STORE_FIXTURE_UNUSED bool user_cb(const nimbus_user_t *u, void *ctx) {
  return collect_add(ctx, u->id, u->name);
}
static STORE_FIXTURE_UNUSED bool token_cb(const nimbus_token_t *tk, void *ctx) {
  return collect_add(ctx, tk->id, tk->label);
}
static STORE_FIXTURE_UNUSED bool queue_cb(const nimbus_queue_t *q, void *ctx) {
  return collect_add(ctx, q->id, q->name);
}
static STORE_FIXTURE_UNUSED bool job_cb(const nimbus_job_t *j, void *ctx) {
  return collect_add(ctx, j->id, j->queue_name);
}

static STORE_FIXTURE_UNUSED bool device_cb(const nimbus_device_t *d, void *ctx) {
  return collect_add(ctx, d->id, d->name);
}

static STORE_FIXTURE_UNUSED collect_t list_jobs(store_t *st, store_job_filter_t f, int *total) {
  collect_t c = {0};
  assert_int_equal(store_job_list(st, &f, job_cb, &c, total), STORE_OK);
  return c;
}

static STORE_FIXTURE_UNUSED int64_t job_count_check(fixture_t *fx) {
  /* The trigger-kept counters agree with the table. */
  return db_int(fx,
                "SELECT count(*) FROM (SELECT state, count(*) AS n FROM jobs GROUP BY state) c "
                "LEFT JOIN job_state_counts s USING (state) WHERE s.n IS DISTINCT FROM c.n") +
         db_int(fx,
                "SELECT count(*) FROM job_state_counts s WHERE s.n <> "
                "(SELECT count(*) FROM jobs WHERE state = s.state)") +
         db_int(fx,
                "SELECT count(*) FROM owner_pending o WHERE o.n <> (SELECT count(*) FROM jobs j "
                "WHERE j.tenant_id = o.tenant_id AND j.owner_id = o.owner_id "
                "AND j.state BETWEEN 1 AND 3)");
}

#endif
