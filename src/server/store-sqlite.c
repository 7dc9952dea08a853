/*
 * store-sqlite.c: the SQLite backend of store.h (the default, one file).
 *
 * Design:
 *  - One sqlite3 connection, opened in multi-thread mode, used only while
 *    holding st->mu.  Every public function takes st->mu for its whole
 *    duration, so each one is atomic with respect to the others; writes of
 *    more than one statement also run in BEGIN IMMEDIATE ... COMMIT.
 *    A thread-local records which store the thread holds, so a list
 *    callback that calls back into the store gets STORE_ERROR (logged)
 *    instead of a deadlock.
 *  - Durability: WAL with synchronous=FULL, so COMMIT returns after the
 *    WAL is fsync'd.  foreign_keys=ON enforces tenant cascades.
 *  - Group commit for store_job_insert: callers queue a request (on their
 *    own stack) and sleep; the committer thread takes up to
 *    group_commit_max requests and runs them in one transaction, each in
 *    its own SAVEPOINT so a failing insert does not take the others down,
 *    then wakes the callers.  One fsync pays for the whole batch.  With
 *    group_commit_max <= 1 the caller runs the same batch code itself.
 *  - Prepared statements are cached per connection in st->stmts, indexed by
 *    stmt_id_t, prepared on first use.  Every statement is reset before the
 *    function that used it returns (stmt_reset()).
 *
 * Locks: st->mu (the connection) and st->gc_mu (the group-commit queue) are
 * never held together, so they have no order.
 *
 * Callers of the list functions: the callback runs with st->mu held; it
 * must be quick and must not call store functions (such calls, including
 * store_job_insert, return STORE_ERROR).
 */
#include "store.h"

#include <assert.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

/* Defined in store-sqlite-migrations.c. */
extern const char *const *const store_sqlite_migrations[];
extern const int store_sqlite_migration_count;

#define STORE_BUSY_TIMEOUT_MS 5000

/* Job states 1..5 are live, 6..9 terminal (model.h). */
#define STATE_FIRST_TERMINAL NIMBUS_JOB_COMPLETED

#define TENANT_COLS "id, name, display_name, max_document_size, max_held_jobs_per_user, created_at"
#define USER_COLS "id, tenant_id, name, role, password_hash, created_at"
#define TOKEN_COLS                                                                              \
  "t.id, t.tenant_id, t.user_id, u.name, u.role, t.label, t.hash, t.created_at, t.expires_at, " \
  "t.revoked"
#define TOKEN_FROM "FROM tokens t JOIN users u ON u.id = t.user_id AND u.tenant_id = t.tenant_id"
#define QUEUE_COLS \
  "id, tenant_id, name, description, release_immediately, allow_anonymous, created_at"
#define JOB_COLS                                                                             \
  "j.id, j.tenant_id, j.queue_id, j.owner_id, q.name, j.owner_name, j.name, j.origin_host, " \
  "j.state, j.created_at, j.state_changed_at, j.completed_at, j.copies, j.pages, "           \
  "j.impressions, j.impressions_completed, j.num_documents, j.account_id, "                  \
  "j.accounting_user_id, j.hold_until, j.pin_hash, j.attrs_json"
#define JOB_FROM "FROM jobs j JOIN queues q ON q.id = j.queue_id"
#define JOB_FILTER                                                                          \
  "WHERE j.tenant_id = ?1 AND (?2 = 0 OR j.queue_id = ?2) AND (?3 = 0 OR j.owner_id = ?3) " \
  "AND j.state BETWEEN ?4 AND ?5"
#define DOC_COLS "job_id, number, format, name, size, pages, blob_key, created_at"

typedef enum {
  S_BEGIN,
  S_BEGIN_READ,
  S_COMMIT,
  S_ROLLBACK,
  S_SAVEPOINT,
  S_RELEASE,
  S_ROLLBACK_TO,
  S_USER_VERSION,
  S_TENANT_INSERT,
  S_TENANT_GET,
  S_TENANT_GET_BY_NAME,
  S_TENANT_UPDATE,
  S_TENANT_DELETE,
  S_TENANT_LIST,
  S_USER_INSERT,
  S_USER_GET,
  S_USER_GET_BY_NAME,
  S_USER_EXISTS,
  S_USER_UPDATE,
  S_USER_DELETE,
  S_USER_LIST,
  S_TOKEN_INSERT,
  S_TOKEN_LOOKUP,
  S_TOKEN_LIST,
  S_TOKEN_REVOKE,
  S_QUEUE_INSERT,
  S_QUEUE_GET_BY_NAME,
  S_QUEUE_EXISTS,
  S_QUEUE_HAS_LIVE_JOBS,
  S_QUEUE_UPDATE,
  S_QUEUE_DELETE,
  S_QUEUE_LIST,
  S_JOB_INSERT,
  S_JOB_GET,
  S_JOB_LIST_ASC,
  S_JOB_LIST_DESC,
  S_JOB_COUNT,
  S_JOB_COUNT_PENDING,
  S_JOB_COUNT_BY_STATE,
  S_JOB_SET_STATE,
  S_JOB_COUNTERS,
  S_JOB_UPDATE_COUNTERS,
  S_EVENT_INSERT,
  S_DOC_INSERT,
  S_DOC_DATA_INSERT,
  S_DOC_LIST,
  S_BLOB_REFERENCED,
  S_AUDIT_INSERT,
  S_COUNT
} stmt_id_t;

/* Job states appear in SQL as model.h's numbers: 1..5 live, 6..9
 * terminal, and 1..3 (received, held, awaiting-payment) "pending". */
static const char *const stmt_sql[S_COUNT] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_BEGIN_READ] = "BEGIN",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_SAVEPOINT] = "SAVEPOINT job_insert",
    [S_RELEASE] = "RELEASE job_insert",
    [S_ROLLBACK_TO] = "ROLLBACK TO job_insert",
    [S_USER_VERSION] = "PRAGMA user_version",

    [S_TENANT_INSERT] =
        "INSERT INTO tenants (name, display_name, max_document_size, "
        "max_held_jobs_per_user, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    [S_TENANT_GET] = "SELECT " TENANT_COLS " FROM tenants WHERE id = ?1",
    [S_TENANT_GET_BY_NAME] = "SELECT " TENANT_COLS " FROM tenants WHERE name = ?1",
    [S_TENANT_UPDATE] =
        "UPDATE tenants SET display_name = ?2, max_document_size = ?3, "
        "max_held_jobs_per_user = ?4 WHERE id = ?1",
    [S_TENANT_DELETE] = "DELETE FROM tenants WHERE id = ?1",
    [S_TENANT_LIST] = "SELECT " TENANT_COLS " FROM tenants ORDER BY name",

    [S_USER_INSERT] =
        "INSERT INTO users (tenant_id, name, role, password_hash, created_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5)",
    [S_USER_GET] = "SELECT " USER_COLS " FROM users WHERE id = ?1 AND tenant_id = ?2",
    [S_USER_GET_BY_NAME] = "SELECT " USER_COLS " FROM users WHERE tenant_id = ?1 AND name = ?2",
    [S_USER_EXISTS] = "SELECT 1 FROM users WHERE id = ?1 AND tenant_id = ?2",
    [S_USER_UPDATE] =
        "UPDATE users SET role = ?3, password_hash = ?4 "
        "WHERE id = ?1 AND tenant_id = ?2",
    [S_USER_DELETE] = "DELETE FROM users WHERE id = ?1 AND tenant_id = ?2",
    [S_USER_LIST] = "SELECT " USER_COLS " FROM users WHERE tenant_id = ?1 ORDER BY name",

    [S_TOKEN_INSERT] =
        "INSERT INTO tokens (tenant_id, user_id, label, hash, created_at, "
        "expires_at, revoked) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0)",
    [S_TOKEN_LOOKUP] = "SELECT " TOKEN_COLS " " TOKEN_FROM
                       " WHERE t.hash = ?1 AND t.revoked = 0 "
                       "AND (t.expires_at = 0 OR t.expires_at > ?2)",
    [S_TOKEN_LIST] = "SELECT " TOKEN_COLS " " TOKEN_FROM
                     " WHERE t.tenant_id = ?1 AND (?2 = 0 OR t.user_id = ?2) ORDER BY t.id",
    [S_TOKEN_REVOKE] =
        "UPDATE tokens SET revoked = 1 "
        "WHERE id = ?1 AND tenant_id = ?2 AND (?3 = 0 OR user_id = ?3)",

    [S_QUEUE_INSERT] =
        "INSERT INTO queues (tenant_id, name, description, release_immediately, "
        "allow_anonymous, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [S_QUEUE_GET_BY_NAME] = "SELECT " QUEUE_COLS " FROM queues WHERE tenant_id = ?1 AND name = ?2",
    [S_QUEUE_EXISTS] = "SELECT 1 FROM queues WHERE id = ?1 AND tenant_id = ?2",
    [S_QUEUE_HAS_LIVE_JOBS] =
        "SELECT EXISTS (SELECT 1 FROM jobs WHERE tenant_id = ?1 "
        "AND queue_id = ?2 AND state < 6)",
    [S_QUEUE_UPDATE] =
        "UPDATE queues SET description = ?3, release_immediately = ?4, "
        "allow_anonymous = ?5 WHERE id = ?1 AND tenant_id = ?2",
    [S_QUEUE_DELETE] = "DELETE FROM queues WHERE id = ?1 AND tenant_id = ?2",
    [S_QUEUE_LIST] = "SELECT " QUEUE_COLS " FROM queues WHERE tenant_id = ?1 ORDER BY name",

    [S_JOB_INSERT] =
        "INSERT INTO jobs (tenant_id, queue_id, owner_id, owner_name, name, "
        "origin_host, state, created_at, state_changed_at, completed_at, copies, "
        "pages, impressions, impressions_completed, num_documents, account_id, "
        "accounting_user_id, hold_until, pin_hash, attrs_json) VALUES (?1, ?2, "
        "?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
        "?19, ?20)",
    [S_JOB_GET] = "SELECT " JOB_COLS " " JOB_FROM " WHERE j.id = ?1 AND j.tenant_id = ?2",
    [S_JOB_LIST_ASC] =
        "SELECT " JOB_COLS " " JOB_FROM " " JOB_FILTER " ORDER BY j.id ASC LIMIT ?6 OFFSET ?7",
    [S_JOB_LIST_DESC] =
        "SELECT " JOB_COLS " " JOB_FROM " " JOB_FILTER " ORDER BY j.id DESC LIMIT ?6 OFFSET ?7",
    [S_JOB_COUNT] = "SELECT count(*) FROM jobs j " JOB_FILTER,
    [S_JOB_COUNT_PENDING] =
        "SELECT coalesce((SELECT n FROM owner_pending "
        "WHERE tenant_id = ?1 AND owner_id = ?2), 0)",
    [S_JOB_COUNT_BY_STATE] = "SELECT state, n FROM job_state_counts",
    [S_JOB_SET_STATE] =
        "UPDATE jobs SET state = ?4, state_changed_at = ?5, "
        "completed_at = CASE WHEN ?4 >= 6 THEN ?5 ELSE 0 END "
        "WHERE id = ?1 AND tenant_id = ?2 AND state = ?3",
    [S_JOB_COUNTERS] =
        "SELECT state, num_documents, pages, copies FROM jobs "
        "WHERE id = ?1 AND tenant_id = ?2",
    [S_JOB_UPDATE_COUNTERS] =
        "UPDATE jobs SET num_documents = ?3, pages = ?4, impressions = ?5 "
        "WHERE id = ?1 AND tenant_id = ?2",
    [S_EVENT_INSERT] =
        "INSERT INTO job_events (tenant_id, job_id, ts, event, from_state, "
        "to_state, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [S_DOC_INSERT] = "INSERT INTO documents (" DOC_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [S_DOC_DATA_INSERT] = "INSERT INTO document_data (job_id, number, data) VALUES (?1, ?2, ?3)",
    [S_DOC_LIST] = "SELECT " DOC_COLS " FROM documents WHERE job_id = ?1 ORDER BY number LIMIT ?2",
    [S_BLOB_REFERENCED] =
        "SELECT EXISTS (SELECT 1 FROM documents "
        "WHERE blob_key = ?1 AND blob_key <> '')",
    [S_AUDIT_INSERT] =
        "INSERT INTO audit (tenant_id, ts, actor, action, detail) "
        "VALUES (?1, ?2, ?3, ?4, ?5)",
};

/* One queued store_job_insert call; lives on the caller's stack. */
typedef struct job_insert_req {
  nimbus_job_t *job;
  nimbus_document_t *docs;
  const store_inline_t *data; /* NULL or ndocs entries */
  int ndocs;
  store_status_t status;
  bool done; /* set under gc_mu; the caller may return once it is true */
  struct job_insert_req *next;
} job_insert_req_t;

struct store {
  sqlite3 *db;
  pthread_mutex_t mu; /* guards db and stmts */
  sqlite3_stmt *stmts[S_COUNT];

  int gc_max; /* group_commit_max; <= 1: no committer thread */
  pthread_t gc_thread;

  /* WAL checkpointer (see store_checkpoint_main): own connection, woken by
   * the WAL hook.  ck_mu guards ck_*; lock order mu -> ck_mu (the hook runs
   * inside COMMIT with mu held); the checkpointer never takes mu. */
  sqlite3 *ck_db;
  pthread_t ck_thread;
  bool ck_started, ck_pending, ck_closing;
  pthread_mutex_t ck_mu;
  pthread_cond_t ck_wake;
  bool gc_started;
  pthread_mutex_t gc_mu;  /* guards the fields below */
  pthread_cond_t gc_wake; /* committer: work arrived or closing */
  pthread_cond_t gc_done; /* callers: some requests finished */
  job_insert_req_t *gc_head, *gc_tail;
  bool gc_closing;
  job_insert_req_t **gc_batch; /* gc_max slots, used by the committer only */
  /* The committer's own connection (a store_t with just db, mu, stmts):
   * its COMMIT, with the WAL fsync, then holds gc_conn->mu, not st->mu, so
   * lookups on the main connection go on while a batch is made durable
   * (WAL readers never wait for a writer). */
  struct store *gc_conn;
};

/* ---- locking and statements ---- */

/* The store whose st->mu this thread holds, if any. */
static _Thread_local const store_t *store_held;

/* Refuses (logged) when this thread already holds st->mu, i.e. when called
 * from a list callback: that would deadlock. */
static bool store_reentry_refused(const store_t *st) {
  if (store_held != st) return false;
  log_event(LOG_ERROR, NULL, "store called from inside a store list callback", (char *)NULL);
  return true;
}

static bool store_lock(store_t *st) {
  if (store_reentry_refused(st)) return false;
  pthread_mutex_lock(&st->mu);
  store_held = st;
  return true;
}

static void store_unlock(store_t *st) {
  assert(store_held == st);
  store_held = NULL;
  pthread_mutex_unlock(&st->mu);
}

static void assert_locked(const store_t *st) {
  assert(store_held == st);
  (void)st;
}

/* Log a database failure for operation `what` and map it to a status:
 * UNIQUE/PK violations are CONFLICT, foreign keys (a missing or another
 * tenant's parent row) NOT_FOUND, the rest ERROR. */
static store_status_t fail_locked(store_t *st, int rc, const char *what) {
  switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      return STORE_CONFLICT;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return STORE_NOT_FOUND;
    default:
      log_event(LOG_ERROR, NULL, "store operation failed", "op", what, "code", LOG_INT(rc), "error",
                sqlite3_errmsg(st->db), (char *)NULL);
      return STORE_ERROR;
  }
}

/* The cached statement `id`, prepared on first use; NULL (logged) on
 * failure.  The caller must stmt_reset() it before unlocking. */
static sqlite3_stmt *stmt_get_locked(store_t *st, stmt_id_t id) {
  assert_locked(st);
  if (!st->stmts[id]) {
    int rc = sqlite3_prepare_v3(st->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &st->stmts[id],
                                NULL);
    if (rc != SQLITE_OK) {
      log_event(LOG_ERROR, NULL, "store prepare failed", "stmt", LOG_INT(id), "error",
                sqlite3_errmsg(st->db), (char *)NULL);
      st->stmts[id] = NULL;
      return NULL;
    }
  }
  return st->stmts[id];
}

static void stmt_reset(sqlite3_stmt *s) {
  if (s) {
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
  }
}

/* Run a statement that returns no rows (after binding).  Resets it. */
static store_status_t stmt_exec_locked(store_t *st, sqlite3_stmt *s, const char *what) {
  int rc = sqlite3_step(s);
  store_status_t status = STORE_OK;
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) status = fail_locked(st, rc, what);
  stmt_reset(s);
  return status;
}

/* Run the parameterless cached statement `id` (BEGIN, COMMIT, ...). */
static store_status_t exec_id_locked(store_t *st, stmt_id_t id) {
  sqlite3_stmt *s = stmt_get_locked(st, id);
  if (!s) return STORE_ERROR;
  return stmt_exec_locked(st, s, stmt_sql[id]);
}

static store_status_t tx_begin_locked(store_t *st) {
  return exec_id_locked(st, S_BEGIN);
}

/* COMMIT; on failure the transaction is rolled back and STORE_ERROR. */
static store_status_t tx_commit_locked(store_t *st) {
  if (exec_id_locked(st, S_COMMIT) == STORE_OK) return STORE_OK;
  if (!sqlite3_get_autocommit(st->db)) exec_id_locked(st, S_ROLLBACK);
  return STORE_ERROR;
}

/* Roll back the open transaction, if SQLite has not already done so. */
static void tx_rollback_locked(store_t *st) {
  if (!sqlite3_get_autocommit(st->db)) exec_id_locked(st, S_ROLLBACK);
}

/* Bind a fixed-size record field, never reading past its array. */
static void bind_field(sqlite3_stmt *s, int idx, const char *field, size_t cap) {
  sqlite3_bind_text(s, idx, field, (int)strnlen(field, cap), SQLITE_STATIC);
}
#define BIND_FIELD(s, idx, arr) bind_field((s), (idx), (arr), sizeof(arr))

/* Bind a C string that may be NULL (bound as ""). */
static void bind_str(sqlite3_stmt *s, int idx, const char *str) {
  sqlite3_bind_text(s, idx, str ? str : "", -1, SQLITE_STATIC);
}

/* 0 means "none" for optional references. */
static void bind_id_or_null(sqlite3_stmt *s, int idx, nimbus_id_t id) {
  if (id) {
    sqlite3_bind_int64(s, idx, id);
  } else {
    sqlite3_bind_null(s, idx);
  }
}

/* Copy a text column into dst[cap], truncating at a UTF-8 character
 * boundary and always NUL-terminating. */
static void copy_column(sqlite3_stmt *s, int col, char *dst, size_t cap) {
  const unsigned char *v = sqlite3_column_text(s, col);
  size_t n = v ? (size_t)sqlite3_column_bytes(s, col) : 0;
  if (n >= cap) {
    n = cap - 1;
    while (n > 0 && (v[n] & 0xC0) == 0x80) n--; /* don't split a character */
  }
  if (n) memcpy(dst, v, n);
  dst[n] = '\0';
}
#define COPY_COLUMN(s, col, arr) copy_column((s), (col), (arr), sizeof(arr))

static int column_int(sqlite3_stmt *s, int col) {
  sqlite3_int64 v = sqlite3_column_int64(s, col);
  return v > INT_MAX ? INT_MAX : v < INT_MIN ? INT_MIN : (int)v;
}

static int clamp_int(int64_t v) {
  return v > INT_MAX ? INT_MAX : v < INT_MIN ? INT_MIN : (int)v;
}

static bool state_is_terminal(int state) {
  return state >= STATE_FIRST_TERMINAL;
}

/* ---- row readers (column order as in the *_COLS macros) ---- */

static void tenant_from_row(sqlite3_stmt *s, nimbus_tenant_t *t) {
  memset(t, 0, sizeof *t);
  t->id = sqlite3_column_int64(s, 0);
  COPY_COLUMN(s, 1, t->name);
  COPY_COLUMN(s, 2, t->display_name);
  t->max_document_size = sqlite3_column_int64(s, 3);
  t->max_held_jobs_per_user = column_int(s, 4);
  t->created_at = sqlite3_column_int64(s, 5);
}

static void user_from_row(sqlite3_stmt *s, nimbus_user_t *u) {
  memset(u, 0, sizeof *u);
  u->id = sqlite3_column_int64(s, 0);
  u->tenant_id = sqlite3_column_int64(s, 1);
  COPY_COLUMN(s, 2, u->name);
  u->role = (nimbus_role_t)column_int(s, 3);
  COPY_COLUMN(s, 4, u->password_hash);
  u->created_at = sqlite3_column_int64(s, 5);
}

static void token_from_row(sqlite3_stmt *s, nimbus_token_t *tk) {
  memset(tk, 0, sizeof *tk);
  tk->id = sqlite3_column_int64(s, 0);
  tk->tenant_id = sqlite3_column_int64(s, 1);
  tk->user_id = sqlite3_column_int64(s, 2);
  COPY_COLUMN(s, 3, tk->user_name);
  tk->user_role = (nimbus_role_t)column_int(s, 4);
  COPY_COLUMN(s, 5, tk->label);
  const void *hash = sqlite3_column_blob(s, 6);
  if (hash && sqlite3_column_bytes(s, 6) == (int)sizeof tk->hash)
    memcpy(tk->hash, hash, sizeof tk->hash);
  tk->created_at = sqlite3_column_int64(s, 7);
  tk->expires_at = sqlite3_column_int64(s, 8);
  tk->revoked = sqlite3_column_int(s, 9) != 0;
}

static void queue_from_row(sqlite3_stmt *s, nimbus_queue_t *q) {
  memset(q, 0, sizeof *q);
  q->id = sqlite3_column_int64(s, 0);
  q->tenant_id = sqlite3_column_int64(s, 1);
  COPY_COLUMN(s, 2, q->name);
  COPY_COLUMN(s, 3, q->description);
  q->release_immediately = sqlite3_column_int(s, 4) != 0;
  q->allow_anonymous = sqlite3_column_int(s, 5) != 0;
  q->created_at = sqlite3_column_int64(s, 6);
}

static void job_from_row(sqlite3_stmt *s, nimbus_job_t *j) {
  memset(j, 0, sizeof *j);
  j->id = sqlite3_column_int64(s, 0);
  j->tenant_id = sqlite3_column_int64(s, 1);
  j->queue_id = sqlite3_column_int64(s, 2);
  j->owner_id = sqlite3_column_int64(s, 3); /* NULL reads as 0 */
  COPY_COLUMN(s, 4, j->queue_name);
  COPY_COLUMN(s, 5, j->owner_name);
  COPY_COLUMN(s, 6, j->name);
  COPY_COLUMN(s, 7, j->origin_host);
  j->state = (nimbus_job_state_t)column_int(s, 8);
  j->created_at = sqlite3_column_int64(s, 9);
  j->state_changed_at = sqlite3_column_int64(s, 10);
  j->completed_at = sqlite3_column_int64(s, 11);
  j->copies = column_int(s, 12);
  j->pages = column_int(s, 13);
  j->impressions = column_int(s, 14);
  j->impressions_completed = column_int(s, 15);
  j->num_documents = column_int(s, 16);
  COPY_COLUMN(s, 17, j->account_id);
  COPY_COLUMN(s, 18, j->accounting_user_id);
  COPY_COLUMN(s, 19, j->hold_until);
  COPY_COLUMN(s, 20, j->pin_hash);
  COPY_COLUMN(s, 21, j->attrs_json);
}

static void doc_from_row(sqlite3_stmt *s, nimbus_document_t *d) {
  memset(d, 0, sizeof *d);
  d->job_id = sqlite3_column_int64(s, 0);
  d->number = column_int(s, 1);
  COPY_COLUMN(s, 2, d->format);
  COPY_COLUMN(s, 3, d->name);
  d->size = sqlite3_column_int64(s, 4);
  d->pages = column_int(s, 5);
  COPY_COLUMN(s, 6, d->blob_key);
  d->created_at = sqlite3_column_int64(s, 7);
}

/* ---- generic helpers for the common statement shapes ---- */

/* Step a bound single-row SELECT: STORE_OK with the row left current (the
 * caller reads it, then resets), STORE_NOT_FOUND, or an error. */
static store_status_t step_row_locked(store_t *st, sqlite3_stmt *s, const char *what) {
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) return STORE_OK;
  if (rc == SQLITE_DONE) return STORE_NOT_FOUND;
  return fail_locked(st, rc, what);
}

/* Run a bound UPDATE/DELETE; NOT_FOUND when it touched no row.  Resets. */
static store_status_t exec_changes_locked(store_t *st, sqlite3_stmt *s, const char *what) {
  store_status_t status = stmt_exec_locked(st, s, what);
  if (status == STORE_OK && sqlite3_changes(st->db) == 0) status = STORE_NOT_FOUND;
  return status;
}

/* Read one integer from a bound single-row SELECT.  Resets. */
static store_status_t query_int64_locked(store_t *st, sqlite3_stmt *s, const char *what,
                                         int64_t *out) {
  store_status_t status = step_row_locked(st, s, what);
  if (status == STORE_OK) *out = sqlite3_column_int64(s, 0);
  stmt_reset(s);
  return status;
}

/* The caller's list callback, whichever record type it takes. */
typedef union {
  store_tenant_cb tenant;
  store_user_cb user;
  store_token_cb token;
  store_queue_cb queue;
  store_job_cb job;
} list_cb_t;

/* Step a bound SELECT, calling `each(s, cb, ctx)` per row until it returns
 * false.  Resets. */
typedef bool (*row_fn)(sqlite3_stmt *s, list_cb_t cb, void *ctx);

static store_status_t for_each_row_locked(store_t *st, sqlite3_stmt *s, const char *what,
                                          row_fn each, list_cb_t cb, void *ctx) {
  store_status_t status = STORE_OK;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    if (!each(s, cb, ctx)) break;
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) status = fail_locked(st, rc, what);
  stmt_reset(s);
  return status;
}

/* Insert a job_events row; from_state 0 is stored as NULL. */
static store_status_t event_insert_locked(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                          int64_t now, const char *event, int from_state,
                                          int to_state, const char *detail) {
  sqlite3_stmt *s = stmt_get_locked(st, S_EVENT_INSERT);
  if (!s) return STORE_ERROR;
  sqlite3_bind_int64(s, 1, tenant_id);
  sqlite3_bind_int64(s, 2, job_id);
  sqlite3_bind_int64(s, 3, now);
  sqlite3_bind_text(s, 4, event, -1, SQLITE_STATIC); /* NULL violates NOT NULL */
  if (from_state) {
    sqlite3_bind_int(s, 5, from_state);
  } else {
    sqlite3_bind_null(s, 5);
  }
  sqlite3_bind_int(s, 6, to_state);
  bind_str(s, 7, detail);
  return stmt_exec_locked(st, s, "job event insert");
}

/* ---- open, migrations, close ---- */

static int pragma_int_locked(store_t *st, const char *sql, int *out) {
  sqlite3_stmt *s = NULL;
  int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
  if (rc == SQLITE_OK) {
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
      *out = sqlite3_column_int(s, 0);
      rc = SQLITE_OK;
    }
  }
  sqlite3_finalize(s);
  return rc;
}

/* Apply pending migrations, each in its own transaction together with its
 * user_version.  The version is read inside the transaction, so two
 * processes opening the same file never both apply a migration. */
static bool migrate_locked(store_t *st, char *err, size_t errlen) {
  for (;;) {
    int version = 0, n = 0;
    int rc = sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc == SQLITE_OK) rc = pragma_int_locked(st, "PRAGMA user_version", &version);
    if (rc == SQLITE_OK && version > store_sqlite_migration_count) {
      snprintf(err, errlen, "database schema version %d is newer than this program's %d", version,
               store_sqlite_migration_count);
      sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
      return false;
    }
    if (rc == SQLITE_OK && version < store_sqlite_migration_count) {
      n = version + 1;
      for (const char *const *sql = store_sqlite_migrations[n - 1]; rc == SQLITE_OK && *sql; sql++)
        rc = sqlite3_exec(st->db, *sql, NULL, NULL, NULL);
      char set_version[48];
      snprintf(set_version, sizeof set_version, "PRAGMA user_version = %d", n);
      if (rc == SQLITE_OK) rc = sqlite3_exec(st->db, set_version, NULL, NULL, NULL);
    }
    if (rc == SQLITE_OK) rc = sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
      snprintf(err, errlen, "schema migration %d failed: %s", version + 1, sqlite3_errmsg(st->db));
      if (!sqlite3_get_autocommit(st->db)) sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
      return false;
    }
    if (n == 0) return true; /* up to date */
    log_event(LOG_INFO, NULL, "store migration applied", "version", LOG_INT(n), (char *)NULL);
  }
}

/* Connection settings; journal_mode and foreign_keys are read back
 * because SQLite ignores what it cannot do instead of failing. */
static bool configure_locked(store_t *st, char *err, size_t errlen) {
  sqlite3 *db = st->db;
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
  sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
  sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DML, 0, NULL);
  sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DDL, 0, NULL);
  sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);

  char mode[16] = "";
  sqlite3_stmt *s = NULL;
  int rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &s, NULL);
  if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
    const unsigned char *m = sqlite3_column_text(s, 0);
    snprintf(mode, sizeof mode, "%s", m ? (const char *)m : "");
    rc = SQLITE_OK;
  }
  sqlite3_finalize(s);
  if (rc != SQLITE_OK) {
    snprintf(err, errlen, "cannot set WAL mode: %s", sqlite3_errmsg(db));
    return false;
  }
  if (strcmp(mode, "wal") != 0 && strcmp(mode, "memory") != 0) {
    snprintf(err, errlen, "database refused WAL mode (journal_mode=%s)", mode);
    return false;
  }
  rc = sqlite3_exec(db, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;", NULL, NULL, NULL);
  int fk = 0;
  if (rc == SQLITE_OK) rc = pragma_int_locked(st, "PRAGMA foreign_keys", &fk);
  if (rc != SQLITE_OK || fk != 1) {
    snprintf(err, errlen, "cannot enable foreign keys: %s", sqlite3_errmsg(db));
    return false;
  }
  return true;
}

static void *gc_main(void *arg);

/* Checkpoint when the WAL has this many frames (4 KiB pages); past the
 * hard limit the committing connection checkpoints itself, so the WAL
 * stays bounded even if the checkpointer falls behind. */
#define STORE_CKPT_FRAMES 1000
#define STORE_CKPT_HARD_FRAMES 65536

/*
 * WAL checkpoints off the commit path.  SQLite's automatic checkpoint runs
 * inside the committing connection, i.e. under st->mu, copying pages to
 * the database file and fsyncing it while every request waits.  Here a
 * thread with its own connection runs PASSIVE checkpoints (which never
 * block writers) whenever the WAL hook reports enough frames.
 */
static void *store_checkpoint_main(void *arg) {
  store_t *st = arg;
  pthread_mutex_lock(&st->ck_mu);
  for (;;) {
    while (!st->ck_pending && !st->ck_closing) pthread_cond_wait(&st->ck_wake, &st->ck_mu);
    if (st->ck_closing) break;
    st->ck_pending = false;
    pthread_mutex_unlock(&st->ck_mu);
    int log_frames = 0, done_frames = 0;
    int rc = sqlite3_wal_checkpoint_v2(st->ck_db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log_frames,
                                       &done_frames);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY)
      log_event(LOG_WARN, NULL, "WAL checkpoint failed", "error", sqlite3_errmsg(st->ck_db),
                (char *)NULL);
    pthread_mutex_lock(&st->ck_mu);
  }
  pthread_mutex_unlock(&st->ck_mu);
  return NULL;
}

/* sqlite3_wal_hook: runs in the committing thread after each commit. */
static int store_wal_hook(void *arg, sqlite3 *db, const char *name, int frames) {
  store_t *st = arg;
  if (frames >= STORE_CKPT_HARD_FRAMES) {
    sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
  } else if (frames >= STORE_CKPT_FRAMES) {
    pthread_mutex_lock(&st->ck_mu);
    st->ck_pending = true;
    pthread_cond_signal(&st->ck_wake);
    pthread_mutex_unlock(&st->ck_mu);
  }
  return SQLITE_OK;
}

/* A second connection to the same database, configured like the main
 * one, for the group-commit thread (see store.gc_conn).  Its commits feed
 * the same checkpointer.  NULL with err on failure. */
static store_t *store_conn_open(store_t *main_st, const char *path, char *err, size_t errlen) {
  store_t *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  pthread_mutex_init(&c->mu, NULL);
  if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
      SQLITE_OK) {
    snprintf(err, errlen, "cannot open %s for group commit: %s", path,
             c->db ? sqlite3_errmsg(c->db) : "out of memory");
    sqlite3_close(c->db);
    pthread_mutex_destroy(&c->mu);
    free(c);
    return NULL;
  }
  store_lock(c);
  bool ok = configure_locked(c, err, errlen);
  store_unlock(c);
  if (!ok) {
    sqlite3_close(c->db);
    pthread_mutex_destroy(&c->mu);
    free(c);
    return NULL;
  }
  if (main_st->ck_started) sqlite3_wal_hook(c->db, store_wal_hook, main_st);
  return c;
}

static void store_conn_close(store_t *c) {
  if (!c) return;
  for (int i = 0; i < S_COUNT; i++) sqlite3_finalize(c->stmts[i]);
  sqlite3_close(c->db);
  pthread_mutex_destroy(&c->mu);
  free(c);
}

/* Start the checkpointer; on failure SQLite's own autocheckpoint stays. */
static void store_checkpoint_start(store_t *st, const char *path) {
  if (sqlite3_open_v2(path, &st->ck_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
      SQLITE_OK) {
    sqlite3_close(st->ck_db);
    st->ck_db = NULL;
    return;
  }
  sqlite3_busy_timeout(st->ck_db, 5000);
  sqlite3_exec(st->ck_db, "PRAGMA synchronous = FULL", NULL, NULL, NULL);
  pthread_mutex_init(&st->ck_mu, NULL);
  pthread_cond_init(&st->ck_wake, NULL);
  if (pthread_create(&st->ck_thread, NULL, store_checkpoint_main, st) != 0) {
    pthread_cond_destroy(&st->ck_wake);
    pthread_mutex_destroy(&st->ck_mu);
    sqlite3_close(st->ck_db);
    st->ck_db = NULL;
    return;
  }
  st->ck_started = true;
  sqlite3_wal_hook(st->db, store_wal_hook, st); /* replaces the autocheckpoint */
}

static void store_checkpoint_stop(store_t *st) {
  if (!st->ck_started) return;
  sqlite3_wal_hook(st->db, NULL, NULL);
  pthread_mutex_lock(&st->ck_mu);
  st->ck_closing = true;
  pthread_cond_signal(&st->ck_wake);
  pthread_mutex_unlock(&st->ck_mu);
  pthread_join(st->ck_thread, NULL);
  sqlite3_wal_checkpoint_v2(st->ck_db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
  sqlite3_close(st->ck_db);
  pthread_cond_destroy(&st->ck_wake);
  pthread_mutex_destroy(&st->ck_mu);
  st->ck_started = false;
}

store_t *store_open(const char *path, const store_options_t *opts, char *err, size_t errlen) {
  char dummy[1];
  if (!err || errlen == 0) {
    err = dummy;
    errlen = sizeof dummy;
  }
  err[0] = '\0';
  if (!path) {
    snprintf(err, errlen, "no database path");
    return NULL;
  }
  if (!sqlite3_threadsafe()) {
    snprintf(err, errlen, "SQLite was built without thread support");
    return NULL;
  }

  store_t *st = calloc(1, sizeof *st);
  if (!st) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  bool mu_init = false, gc_init = false;
  if (pthread_mutex_init(&st->mu, NULL) != 0) goto fail;
  mu_init = true;
  if (pthread_mutex_init(&st->gc_mu, NULL) != 0) goto fail;
  if (pthread_cond_init(&st->gc_wake, NULL) != 0) {
    pthread_mutex_destroy(&st->gc_mu);
    goto fail;
  }
  if (pthread_cond_init(&st->gc_done, NULL) != 0) {
    pthread_cond_destroy(&st->gc_wake);
    pthread_mutex_destroy(&st->gc_mu);
    goto fail;
  }
  gc_init = true;

  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path, &st->db, flags, NULL);
  if (rc != SQLITE_OK) {
    snprintf(err, errlen, "cannot open %s: %s", path,
             st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
    goto fail;
  }

  store_lock(st); /* cannot fail: fresh mutex, no other thread yet */
  bool ok = configure_locked(st, err, errlen) && migrate_locked(st, err, errlen);
  store_unlock(st);
  if (!ok) goto fail;

  store_checkpoint_start(st, path);

  st->gc_max = opts ? opts->group_commit_max : 1;
  if (st->gc_max > 1) {
    st->gc_batch = calloc((size_t)st->gc_max, sizeof *st->gc_batch);
    st->gc_conn = store_conn_open(st, path, err, errlen);
    if (!st->gc_batch || !st->gc_conn) {
      if (!err[0]) snprintf(err, errlen, "out of memory");
      goto fail;
    }
    if (pthread_create(&st->gc_thread, NULL, gc_main, st) != 0) {
      snprintf(err, errlen, "cannot start the group-commit thread");
      goto fail;
    }
    st->gc_started = true;
  }
  return st;

fail:
  store_conn_close(st->gc_conn);
  store_checkpoint_stop(st);
  if (st->db) sqlite3_close(st->db);
  free(st->gc_batch);
  if (gc_init) {
    pthread_cond_destroy(&st->gc_done);
    pthread_cond_destroy(&st->gc_wake);
    pthread_mutex_destroy(&st->gc_mu);
  }
  if (mu_init) pthread_mutex_destroy(&st->mu);
  if (!err[0]) snprintf(err, errlen, "cannot initialise the store");
  free(st);
  return NULL;
}

void store_close(store_t *st) {
  if (!st) return;
  if (st->gc_started) {
    pthread_mutex_lock(&st->gc_mu);
    st->gc_closing = true;
    pthread_cond_signal(&st->gc_wake);
    pthread_mutex_unlock(&st->gc_mu);
    pthread_join(st->gc_thread, NULL); /* drains the queue first */
  }
  store_conn_close(st->gc_conn);
  store_checkpoint_stop(st);
  for (int i = 0; i < S_COUNT; i++) sqlite3_finalize(st->stmts[i]);
  int rc = sqlite3_close(st->db);
  if (rc != SQLITE_OK)
    log_event(LOG_ERROR, NULL, "store close failed", "error", sqlite3_errstr(rc), (char *)NULL);
  free(st->gc_batch);
  pthread_cond_destroy(&st->gc_done);
  pthread_cond_destroy(&st->gc_wake);
  pthread_mutex_destroy(&st->gc_mu);
  pthread_mutex_destroy(&st->mu);
  free(st);
}

int store_schema_version(store_t *st) {
  int64_t version = -1;
  if (!store_lock(st)) return -1;
  sqlite3_stmt *s = stmt_get_locked(st, S_USER_VERSION);
  if (s && query_int64_locked(st, s, "schema version", &version) != STORE_OK) version = -1;
  store_unlock(st);
  return (int)version;
}

/* ---- tenants ---- */

store_status_t store_tenant_insert(store_t *st, nimbus_tenant_t *t) {
  if (!store_lock(st)) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  int64_t now = (int64_t)time(NULL);
  sqlite3_stmt *s = stmt_get_locked(st, S_TENANT_INSERT);
  if (s) {
    BIND_FIELD(s, 1, t->name);
    BIND_FIELD(s, 2, t->display_name);
    sqlite3_bind_int64(s, 3, t->max_document_size);
    sqlite3_bind_int(s, 4, t->max_held_jobs_per_user);
    sqlite3_bind_int64(s, 5, now);
    status = stmt_exec_locked(st, s, "tenant insert");
    if (status == STORE_OK) {
      t->id = sqlite3_last_insert_rowid(st->db);
      t->created_at = now;
    }
  }
  store_unlock(st);
  return status;
}

static store_status_t tenant_get_stmt(store_t *st, stmt_id_t id, nimbus_id_t key_id,
                                      const char *key_name, nimbus_tenant_t *out) {
  if (!store_lock(st)) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = stmt_get_locked(st, id);
  if (s) {
    if (key_name) {
      bind_str(s, 1, key_name);
    } else {
      sqlite3_bind_int64(s, 1, key_id);
    }
    status = step_row_locked(st, s, "tenant get");
    if (status == STORE_OK) tenant_from_row(s, out);
    stmt_reset(s);
  }
  store_unlock(st);
  return status;
}

store_status_t store_tenant_get(store_t *st, nimbus_id_t id, nimbus_tenant_t *out) {
  return tenant_get_stmt(st, S_TENANT_GET, id, NULL, out);
}

store_status_t store_tenant_get_by_name(store_t *st, const char *name, nimbus_tenant_t *out) {
  return tenant_get_stmt(st, S_TENANT_GET_BY_NAME, 0, name, out);
}

store_status_t store_tenant_update(store_t *st, const nimbus_tenant_t *t) {
  if (!store_lock(st)) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = stmt_get_locked(st, S_TENANT_UPDATE);
  if (s) {
    sqlite3_bind_int64(s, 1, t->id);
    BIND_FIELD(s, 2, t->display_name);
    sqlite3_bind_int64(s, 3, t->max_document_size);
    sqlite3_bind_int(s, 4, t->max_held_jobs_per_user);
    status = exec_changes_locked(st, s, "tenant update");
  }
  store_unlock(st);
  return status;
}

/* Foreign keys cascade the delete to every table of the tenant. */
store_status_t store_tenant_delete(store_t *st, nimbus_id_t id) {
  if (!store_lock(st)) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = stmt_get_locked(st, S_TENANT_DELETE);
  if (s) {
    sqlite3_bind_int64(s, 1, id);
    status = exec_changes_locked(st, s, "tenant delete");
  }
  store_unlock(st);
  return status;
}

static bool tenant_row(sqlite3_stmt *s, list_cb_t cb, void *ctx) {
  nimbus_tenant_t t;
  tenant_from_row(s, &t);
  return cb.tenant(&t, ctx);
}

store_status_t store_tenant_list(store_t *st, store_tenant_cb cb, void *ctx) {
  if (!store_lock(st)) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = stmt_get_locked(st, S_TENANT_LIST);
  if (s)
    status = for_each_row_locked(st, s, "tenant list", tenant_row, (list_cb_t){.tenant = cb}, ctx);
  store_unlock(st);
  return status;
}

/* ---- users ---- */

store_status_t store_user_insert(store_t *st, nimbus_user_t *u) {
  if (!store_lock(st)) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  int64_t now = (int64_t)time(NULL);
  sqlite3_stmt *s = stmt_get_locked(st, S_USER_INSERT);
  if (s) {
    sqlite3_bind_int64(s, 1, u->tenant_id);
    BIND_FIELD(s, 2, u->name);
    sqlite3_bind_int(s, 3, (int)u->role);
    BIND_FIELD(s, 4, u->password_hash);
    sqlite3_bind_int64(s, 5, now);
    status = stmt_exec_locked(st, s, "user insert");
    if (status == STORE_OK) {
      u->id = sqlite3_last_insert_rowid(st->db);
      u->created_at = now;
    }
  }
  store_unlock(st);
  return status;
}

store_status_t store_user_get(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                              nimbus_user_t *out) {
  if (!store_lock(st)) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = stmt_get_locked(st, S_USER_GET);
  if (s) {
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, tenant_id);
    status = step_row_locked(st, s, "user get");
    if (status == STORE_OK) user_from_row(s, out);
    stmt_reset(s);
  }
  store_unlock(st);
  return status;
}

store_status_t store_user_get_by_name(store_t *st, nimbus_id_t tenant_id, const char *name,
                                      nimbus_user_t *out) {
  if (!store_lock(st)) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = stmt_get_locked(st, S_USER_GET_BY_NAME);
  if (s) {
    sqlite3_bind_int64(s, 1, tenant_id);
    bind_str(s, 2, name);
    status = step_row_locked(st, s, "user get by name");
    if (status == STORE_OK) user_from_row(s, out);
    stmt_reset(s);
  }
  store_unlock(st);
  return status;
}

store_status_t store_user_update(store_t *st, const nimbus_user_t *u) {
  if (!store_lock(st)) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = stmt_get_locked(st, S_USER_UPDATE);
  if (s) {
    sqlite3_bind_int64(s, 1, u->id);
    sqlite3_bind_int64(s, 2, u->tenant_id);
    sqlite3_bind_int(s, 3, (int)u->role);
    BIND_FIELD(s, 4, u->password_hash);
    status = exec_changes_locked(st, s, "user update");
  }
  store_unlock(st);
  return status;
}

/* Tokens go by cascade; jobs keep owner_name and get owner_id NULL. */
store_status_t store_user_delete(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id) {
  if (!store_lock(st)) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = stmt_get_locked(st, S_USER_DELETE);
  if (s) {
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, tenant_id);
    status = exec_changes_locked(st, s, "user delete");
  }
  store_unlock(st);
  return status;
}

static bool user_row(sqlite3_stmt *s, list_cb_t cb, void *ctx) {
  nimbus_user_t u;
  user_from_row(s, &u);
  return cb.user(&u, ctx);
}

/* Ordered by name. */
store_status_t store_user_list(store_t *st, nimbus_id_t tenant_id, store_user_cb cb, void *ctx) {
  if (!store_lock(st)) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = stmt_get_locked(st, S_USER_LIST);
  if (s) {
    sqlite3_bind_int64(s, 1, tenant_id);
    status = for_each_row_locked(st, s, "user list", user_row, (list_cb_t){.user = cb}, ctx);
  }
  store_unlock(st);
  return status;
}

/* ---- tokens ---- */

/* A user of another tenant fails the (tenant_id, user_id) foreign key:
 * STORE_NOT_FOUND.  The token is stored unrevoked. */
store_status_t store_token_insert(store_t *st, nimbus_token_t *tk) {
  if (!store_lock(st)) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  int64_t now = (int64_t)time(NULL);
  sqlite3_stmt *s = stmt_get_locked(st, S_TOKEN_INSERT);
  if (s) {
    sqlite3_bind_int64(s, 1, tk->tenant_id);
    sqlite3_bind_int64(s, 2, tk->user_id);
    BIND_FIELD(s, 3, tk->label);
    sqlite3_bind_blob(s, 4, tk->hash, (int)sizeof tk->hash, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, now);
    sqlite3_bind_int64(s, 6, tk->expires_at);
    status = stmt_exec_locked(st, s, "token insert");
    if (status == STORE_OK) {
      tk->id = sqlite3_last_insert_rowid(st->db);
      tk->created_at = now;
      tk->revoked = false;
    }
  }
  store_unlock(st);
  return status;
}

store_status_t store_token_lookup(store_t *st, const unsigned char hash[32], int64_t now,
                                  nimbus_token_t *out) {
  if (!store_lock(st)) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = stmt_get_locked(st, S_TOKEN_LOOKUP);
  if (s) {
    sqlite3_bind_blob(s, 1, hash, 32, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, now);
    status = step_row_locked(st, s, "token lookup");
    if (status == STORE_OK) token_from_row(s, out);
    stmt_reset(s);
  }
  store_unlock(st);
  return status;
}

static bool token_row(sqlite3_stmt *s, list_cb_t cb, void *ctx) {
  nimbus_token_t tk;
  token_from_row(s, &tk);
  return cb.token(&tk, ctx);
}

/* Ordered by id; revoked and expired tokens are included. */
store_status_t store_token_list(store_t *st, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                store_token_cb cb, void *ctx) {
  if (!store_lock(st)) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = stmt_get_locked(st, S_TOKEN_LIST);
  if (s) {
    sqlite3_bind_int64(s, 1, tenant_id);
    sqlite3_bind_int64(s, 2, user_id);
    status = for_each_row_locked(st, s, "token list", token_row, (list_cb_t){.token = cb}, ctx);
  }
  store_unlock(st);
  return status;
}

/* Revoking an already revoked token is STORE_OK. */
store_status_t store_token_revoke(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                  nimbus_id_t user_id) {
  if (!store_lock(st)) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = stmt_get_locked(st, S_TOKEN_REVOKE);
  if (s) {
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, tenant_id);
    sqlite3_bind_int64(s, 3, user_id);
    status = exec_changes_locked(st, s, "token revoke");
  }
  store_unlock(st);
  return status;
}

/* ---- queues ---- */

store_status_t store_queue_insert(store_t *st, nimbus_queue_t *q) {
  if (!store_lock(st)) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  int64_t now = (int64_t)time(NULL);
  sqlite3_stmt *s = stmt_get_locked(st, S_QUEUE_INSERT);
  if (s) {
    sqlite3_bind_int64(s, 1, q->tenant_id);
    BIND_FIELD(s, 2, q->name);
    BIND_FIELD(s, 3, q->description);
    sqlite3_bind_int(s, 4, q->release_immediately ? 1 : 0);
    sqlite3_bind_int(s, 5, q->allow_anonymous ? 1 : 0);
    sqlite3_bind_int64(s, 6, now);
    status = stmt_exec_locked(st, s, "queue insert");
    if (status == STORE_OK) {
      q->id = sqlite3_last_insert_rowid(st->db);
      q->created_at = now;
    }
  }
  store_unlock(st);
  return status;
}

store_status_t store_queue_get_by_name(store_t *st, nimbus_id_t tenant_id, const char *name,
                                       nimbus_queue_t *out) {
  if (!store_lock(st)) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = stmt_get_locked(st, S_QUEUE_GET_BY_NAME);
  if (s) {
    sqlite3_bind_int64(s, 1, tenant_id);
    bind_str(s, 2, name);
    status = step_row_locked(st, s, "queue get by name");
    if (status == STORE_OK) queue_from_row(s, out);
    stmt_reset(s);
  }
  store_unlock(st);
  return status;
}

/* Updates description, release_immediately and allow_anonymous of q->id;
 * the name (part of the queue's URL) is not changed. */
store_status_t store_queue_update(store_t *st, const nimbus_queue_t *q) {
  if (!store_lock(st)) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = stmt_get_locked(st, S_QUEUE_UPDATE);
  if (s) {
    sqlite3_bind_int64(s, 1, q->id);
    sqlite3_bind_int64(s, 2, q->tenant_id);
    BIND_FIELD(s, 3, q->description);
    sqlite3_bind_int(s, 4, q->release_immediately ? 1 : 0);
    sqlite3_bind_int(s, 5, q->allow_anonymous ? 1 : 0);
    status = exec_changes_locked(st, s, "queue update");
  }
  store_unlock(st);
  return status;
}

/* The queue's (terminal) jobs and their documents go by cascade; their
 * blobs become orphans for blob_sweep(). */
store_status_t store_queue_delete(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id) {
  if (!store_lock(st)) return STORE_ERROR;
  store_status_t status = tx_begin_locked(st);
  if (status != STORE_OK) goto done;

  int64_t v = 0;
  sqlite3_stmt *s = stmt_get_locked(st, S_QUEUE_EXISTS);
  if (!s) {
    status = STORE_ERROR;
    goto done;
  }
  sqlite3_bind_int64(s, 1, id);
  sqlite3_bind_int64(s, 2, tenant_id);
  status = query_int64_locked(st, s, "queue delete", &v);
  if (status != STORE_OK) goto done;
  s = stmt_get_locked(st, S_QUEUE_HAS_LIVE_JOBS);
  if (!s) {
    status = STORE_ERROR;
    goto done;
  }
  sqlite3_bind_int64(s, 1, tenant_id);
  sqlite3_bind_int64(s, 2, id);
  status = query_int64_locked(st, s, "queue delete", &v);
  if (status != STORE_OK) goto done;
  if (v) {
    status = STORE_CONFLICT;
    goto done;
  }
  s = stmt_get_locked(st, S_QUEUE_DELETE);
  if (!s) {
    status = STORE_ERROR;
    goto done;
  }
  sqlite3_bind_int64(s, 1, id);
  sqlite3_bind_int64(s, 2, tenant_id);
  status = exec_changes_locked(st, s, "queue delete");
  if (status == STORE_OK) status = tx_commit_locked(st);

done:
  if (status != STORE_OK) tx_rollback_locked(st);
  store_unlock(st);
  return status;
}

static bool queue_row(sqlite3_stmt *s, list_cb_t cb, void *ctx) {
  nimbus_queue_t q;
  queue_from_row(s, &q);
  return cb.queue(&q, ctx);
}

/* Ordered by name. */
store_status_t store_queue_list(store_t *st, nimbus_id_t tenant_id, store_queue_cb cb, void *ctx) {
  if (!store_lock(st)) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = stmt_get_locked(st, S_QUEUE_LIST);
  if (s) {
    sqlite3_bind_int64(s, 1, tenant_id);
    status = for_each_row_locked(st, s, "queue list", queue_row, (list_cb_t){.queue = cb}, ctx);
  }
  store_unlock(st);
  return status;
}

/* ---- job insert and group commit ---- */

/*
 * Write one job, its documents and its "job-created" event inside the
 * caller's transaction.  The store owns the counters: copies is raised to
 * at least 1, pages is the sum of the documents' pages, impressions is
 * pages x copies, num_documents is ndocs and documents are numbered 1..n.
 * An owner of another tenant is STORE_NOT_FOUND.  On failure the caller
 * rolls back whatever this wrote.
 */
static store_status_t job_insert_one_locked(store_t *st, job_insert_req_t *req) {
  nimbus_job_t *job = req->job;
  int64_t now = (int64_t)time(NULL);
  store_status_t status;
  sqlite3_stmt *s;

  if (job->owner_id) {
    int64_t one = 0;
    s = stmt_get_locked(st, S_USER_EXISTS);
    if (!s) return STORE_ERROR;
    sqlite3_bind_int64(s, 1, job->owner_id);
    sqlite3_bind_int64(s, 2, job->tenant_id);
    status = query_int64_locked(st, s, "job insert owner", &one);
    if (status != STORE_OK) return status;
  }

  int64_t pages = 0;
  for (int i = 0; i < req->ndocs; i++) pages += req->docs[i].pages;
  int copies = job->copies < 1 ? 1 : job->copies;

  s = stmt_get_locked(st, S_JOB_INSERT);
  if (!s) return STORE_ERROR;
  sqlite3_bind_int64(s, 1, job->tenant_id);
  sqlite3_bind_int64(s, 2, job->queue_id);
  bind_id_or_null(s, 3, job->owner_id);
  BIND_FIELD(s, 4, job->owner_name);
  BIND_FIELD(s, 5, job->name);
  BIND_FIELD(s, 6, job->origin_host);
  sqlite3_bind_int(s, 7, (int)job->state);
  sqlite3_bind_int64(s, 8, now);
  sqlite3_bind_int64(s, 9, now);
  sqlite3_bind_int64(s, 10, state_is_terminal((int)job->state) ? now : 0);
  sqlite3_bind_int(s, 11, copies);
  sqlite3_bind_int64(s, 12, pages);
  sqlite3_bind_int64(s, 13, pages * copies);
  sqlite3_bind_int(s, 14, job->impressions_completed);
  sqlite3_bind_int(s, 15, req->ndocs);
  BIND_FIELD(s, 16, job->account_id);
  BIND_FIELD(s, 17, job->accounting_user_id);
  BIND_FIELD(s, 18, job->hold_until);
  BIND_FIELD(s, 19, job->pin_hash);
  BIND_FIELD(s, 20, job->attrs_json);
  status = stmt_exec_locked(st, s, "job insert");
  if (status != STORE_OK) return status;
  nimbus_id_t job_id = sqlite3_last_insert_rowid(st->db);

  s = stmt_get_locked(st, S_DOC_INSERT);
  if (!s) return STORE_ERROR;
  for (int i = 0; i < req->ndocs; i++) {
    nimbus_document_t *d = &req->docs[i];
    sqlite3_bind_int64(s, 1, job_id);
    sqlite3_bind_int(s, 2, i + 1);
    BIND_FIELD(s, 3, d->format);
    BIND_FIELD(s, 4, d->name);
    sqlite3_bind_int64(s, 5, d->size);
    sqlite3_bind_int(s, 6, d->pages);
    BIND_FIELD(s, 7, d->blob_key);
    sqlite3_bind_int64(s, 8, now);
    status = stmt_exec_locked(st, s, "document insert");
    if (status != STORE_OK) return status;
    if (req->data && req->data[i].data) {
      sqlite3_stmt *ds = stmt_get_locked(st, S_DOC_DATA_INSERT);
      if (!ds) return STORE_ERROR;
      sqlite3_bind_int64(ds, 1, job_id);
      sqlite3_bind_int(ds, 2, i + 1);
      sqlite3_bind_blob64(ds, 3, req->data[i].data, req->data[i].len, SQLITE_STATIC);
      status = stmt_exec_locked(st, ds, "document data insert");
      if (status != STORE_OK) return status;
    }
  }

  status =
      event_insert_locked(st, job->tenant_id, job_id, now, "job-created", 0, (int)job->state, NULL);
  if (status != STORE_OK) return status;

  /* Only now touch the caller's records: a failure above leaves them be. */
  job->id = job_id;
  job->created_at = now;
  job->state_changed_at = now;
  job->completed_at = state_is_terminal((int)job->state) ? now : 0;
  job->copies = copies;
  job->pages = clamp_int(pages);
  job->impressions = clamp_int(pages * copies);
  job->num_documents = req->ndocs;
  for (int i = 0; i < req->ndocs; i++) {
    req->docs[i].job_id = job_id;
    req->docs[i].number = i + 1;
    req->docs[i].created_at = now;
  }
  return STORE_OK;
}

/* Undo the id a rolled-back insert wrote into the caller's records. */
static void job_insert_forget(job_insert_req_t *req) {
  req->job->id = 0;
  for (int i = 0; i < req->ndocs; i++) req->docs[i].job_id = 0;
}

/*
 * Run n inserts in one transaction, each inside SAVEPOINT job_insert so a
 * failing one is rolled back alone and reports its own status.  If the
 * transaction itself fails (BEGIN, COMMIT, or an error after which SQLite
 * rolled everything back), every insert of the batch is STORE_ERROR.
 * Takes st->mu itself; sets each req->status but not req->done.
 */
static void job_insert_batch(store_t *st, job_insert_req_t **batch, int n) {
  if (!store_lock(st)) {
    for (int i = 0; i < n; i++) batch[i]->status = STORE_ERROR;
    return;
  }
  bool ok = tx_begin_locked(st) == STORE_OK;
  int i = 0;
  for (; ok && i < n; i++) {
    job_insert_req_t *req = batch[i];
    if (exec_id_locked(st, S_SAVEPOINT) != STORE_OK) {
      ok = false;
      break;
    }
    req->status = job_insert_one_locked(st, req);
    if (req->status == STORE_OK) {
      ok = exec_id_locked(st, S_RELEASE) == STORE_OK;
    } else if (sqlite3_get_autocommit(st->db)) {
      ok = false; /* SQLite already rolled back the whole transaction */
    } else {
      ok = exec_id_locked(st, S_ROLLBACK_TO) == STORE_OK &&
           exec_id_locked(st, S_RELEASE) == STORE_OK;
    }
  }
  if (ok) ok = tx_commit_locked(st) == STORE_OK;
  if (!ok) {
    tx_rollback_locked(st);
    for (int k = 0; k < n; k++) {
      if (k >= i || batch[k]->status == STORE_OK) batch[k]->status = STORE_ERROR;
    }
    log_event(LOG_ERROR, NULL, "job insert transaction failed", "jobs", LOG_INT(n), (char *)NULL);
  }
  for (int k = 0; k < n; k++) {
    if (batch[k]->status != STORE_OK) job_insert_forget(batch[k]);
  }
  store_unlock(st);
}

/* The committer thread: batches queued inserts until closing and drained. */
static void *gc_main(void *arg) {
  store_t *st = arg;
  pthread_mutex_lock(&st->gc_mu);
  for (;;) {
    while (!st->gc_head && !st->gc_closing) pthread_cond_wait(&st->gc_wake, &st->gc_mu);
    if (!st->gc_head) break; /* closing and drained */
    int n = 0;
    while (st->gc_head && n < st->gc_max) {
      st->gc_batch[n++] = st->gc_head;
      st->gc_head = st->gc_head->next;
    }
    if (!st->gc_head) st->gc_tail = NULL;
    pthread_mutex_unlock(&st->gc_mu);

    job_insert_batch(st->gc_conn, st->gc_batch, n);

    pthread_mutex_lock(&st->gc_mu);
    for (int i = 0; i < n; i++) st->gc_batch[i]->done = true; /* callers may now return */
    pthread_cond_broadcast(&st->gc_done);
  }
  pthread_mutex_unlock(&st->gc_mu);
  return NULL;
}

store_status_t store_job_insert(store_t *st, nimbus_job_t *job, nimbus_document_t *docs,
                                int ndocs) {
  return store_job_insert_data(st, job, docs, NULL, ndocs);
}

store_status_t store_job_insert_data(store_t *st, nimbus_job_t *job, nimbus_document_t *docs,
                                     const store_inline_t *data, int ndocs) {
  if (!job || ndocs < 0 || (ndocs > 0 && !docs)) {
    log_event(LOG_ERROR, NULL, "store_job_insert: bad arguments", "ndocs", LOG_INT(ndocs),
              (char *)NULL);
    return STORE_ERROR;
  }
  job_insert_req_t req = {
      .job = job, .docs = docs, .data = data, .ndocs = ndocs, .status = STORE_ERROR};
  job_insert_req_t *one = &req;
  if (store_reentry_refused(st)) return STORE_ERROR; /* would wait for itself */
  if (!st->gc_started) {
    job_insert_batch(st, &one, 1);
    return req.status;
  }

  pthread_mutex_lock(&st->gc_mu);
  if (st->gc_closing) {
    pthread_mutex_unlock(&st->gc_mu);
    log_event(LOG_ERROR, NULL, "store_job_insert after store_close", (char *)NULL);
    return STORE_ERROR;
  }
  if (st->gc_tail) {
    st->gc_tail->next = &req;
  } else {
    st->gc_head = &req;
  }
  st->gc_tail = &req;
  pthread_cond_signal(&st->gc_wake);
  while (!req.done) pthread_cond_wait(&st->gc_done, &st->gc_mu);
  pthread_mutex_unlock(&st->gc_mu);
  return req.status;
}

/* Incremental read of an inline document (sqlite3_blob_*), bounded by len;
 * another tenant's job is STORE_NOT_FOUND like a missing one. */
store_status_t store_document_read_inline(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                          int number, int64_t off, void *buf, size_t len,
                                          size_t *got) {
  *got = 0;
  if (off < 0) return STORE_ERROR;
  if (!store_lock(st)) return STORE_ERROR;
  store_status_t status = STORE_NOT_FOUND;
  sqlite3_blob *blob = NULL;
  sqlite3_stmt *q = NULL;
  if (sqlite3_prepare_v2(st->db,
                         "SELECT d.rowid FROM document_data d JOIN jobs j ON j.id = d.job_id "
                         "WHERE d.job_id = ?1 AND d.number = ?2 AND j.tenant_id = ?3",
                         -1, &q, NULL) != SQLITE_OK) {
    status = STORE_ERROR;
    goto done;
  }
  sqlite3_bind_int64(q, 1, job_id);
  sqlite3_bind_int(q, 2, number);
  sqlite3_bind_int64(q, 3, tenant_id);
  int rc = sqlite3_step(q);
  if (rc != SQLITE_ROW) {
    if (rc != SQLITE_DONE) status = STORE_ERROR;
    goto done;
  }
  sqlite3_int64 rowid = sqlite3_column_int64(q, 0);
  if (sqlite3_blob_open(st->db, "main", "document_data", "data", rowid, 0, &blob) != SQLITE_OK) {
    status = STORE_ERROR;
    goto done;
  }
  int64_t total = sqlite3_blob_bytes(blob);
  size_t n = off >= total ? 0 : (size_t)(total - off) < len ? (size_t)(total - off) : len;
  if (n > 0 && sqlite3_blob_read(blob, buf, (int)n, (int)off) != SQLITE_OK) {
    status = STORE_ERROR;
    goto done;
  }
  *got = n;
  status = STORE_OK;
done:
  if (blob) sqlite3_blob_close(blob);
  sqlite3_finalize(q);
  store_unlock(st);
  return status;
}

/* ---- jobs ---- */

store_status_t store_job_get(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                             nimbus_job_t *out) {
  if (!store_lock(st)) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = stmt_get_locked(st, S_JOB_GET);
  if (s) {
    sqlite3_bind_int64(s, 1, job_id);
    sqlite3_bind_int64(s, 2, tenant_id);
    status = step_row_locked(st, s, "job get");
    if (status == STORE_OK) job_from_row(s, out);
    stmt_reset(s);
  }
  store_unlock(st);
  return status;
}

static void which_states(store_which_t which, int *lo, int *hi) {
  switch (which) {
    case STORE_WHICH_NOT_COMPLETED:
      *lo = NIMBUS_JOB_RECEIVED;
      *hi = NIMBUS_JOB_PROCESSING;
      break;
    case STORE_WHICH_COMPLETED:
      *lo = NIMBUS_JOB_COMPLETED;
      *hi = NIMBUS_JOB_EXPIRED;
      break;
    case STORE_WHICH_HELD:
      *lo = *hi = NIMBUS_JOB_HELD;
      break;
    case STORE_WHICH_FETCHABLE:
      *lo = *hi = NIMBUS_JOB_FETCHABLE;
      break;
    case STORE_WHICH_ALL:
    default:
      *lo = NIMBUS_JOB_RECEIVED;
      *hi = NIMBUS_JOB_EXPIRED;
      break;
  }
}

static void bind_job_filter(sqlite3_stmt *s, const store_job_filter_t *f) {
  int lo, hi;
  which_states(f->which, &lo, &hi);
  sqlite3_bind_int64(s, 1, f->tenant_id);
  sqlite3_bind_int64(s, 2, f->queue_id);
  sqlite3_bind_int64(s, 3, f->owner_id);
  sqlite3_bind_int(s, 4, lo);
  sqlite3_bind_int(s, 5, hi);
}

static bool job_row(sqlite3_stmt *s, list_cb_t cb, void *ctx) {
  nimbus_job_t job;
  job_from_row(s, &job);
  return cb.job(&job, ctx);
}

/* The count and the rows come from one read transaction, so they agree. */
store_status_t store_job_list(store_t *st, const store_job_filter_t *f, store_job_cb cb, void *ctx,
                              int *total) {
  if (!store_lock(st)) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  bool in_tx = exec_id_locked(st, S_BEGIN_READ) == STORE_OK;
  if (total) {
    int64_t n = 0;
    sqlite3_stmt *c = stmt_get_locked(st, S_JOB_COUNT);
    if (!c) goto done;
    bind_job_filter(c, f);
    status = query_int64_locked(st, c, "job count", &n);
    if (status != STORE_OK) goto done;
    *total = clamp_int(n);
  }
  sqlite3_stmt *s = stmt_get_locked(st, f->newest_first ? S_JOB_LIST_DESC : S_JOB_LIST_ASC);
  if (!s) {
    status = STORE_ERROR;
    goto done;
  }
  bind_job_filter(s, f);
  sqlite3_bind_int(s, 6, f->limit > 0 ? f->limit : -1);
  sqlite3_bind_int(s, 7, f->offset > 0 ? f->offset : 0);
  status = for_each_row_locked(st, s, "job list", job_row, (list_cb_t){.job = cb}, ctx);
done:
  if (in_tx) tx_rollback_locked(st); /* read-only: nothing to commit */
  store_unlock(st);
  return status;
}

/* Counts received, held and awaiting-payment jobs: the ones still waiting
 * for their owner (released jobs are no longer "pending" for the user). */
store_status_t store_job_count_pending_for_owner(store_t *st, nimbus_id_t tenant_id,
                                                 nimbus_id_t owner_id, int *count) {
  if (!store_lock(st)) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = stmt_get_locked(st, S_JOB_COUNT_PENDING);
  if (s) {
    int64_t n = 0;
    sqlite3_bind_int64(s, 1, tenant_id);
    sqlite3_bind_int64(s, 2, owner_id);
    status = query_int64_locked(st, s, "job count pending", &n);
    if (status == STORE_OK) *count = clamp_int(n);
  }
  store_unlock(st);
  return status;
}

/* Compare-and-set of the state plus the event row, inside the caller's
 * transaction.  CONFLICT when the job is in another state, NOT_FOUND when
 * it does not exist in the tenant. */
static store_status_t job_set_state_locked(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                           nimbus_job_state_t expected, nimbus_job_state_t next,
                                           const char *event, const char *detail, int64_t now) {
  sqlite3_stmt *s = stmt_get_locked(st, S_JOB_SET_STATE);
  if (!s) return STORE_ERROR;
  sqlite3_bind_int64(s, 1, job_id);
  sqlite3_bind_int64(s, 2, tenant_id);
  sqlite3_bind_int(s, 3, (int)expected);
  sqlite3_bind_int(s, 4, (int)next);
  sqlite3_bind_int64(s, 5, now);
  store_status_t status = exec_changes_locked(st, s, "job set state");
  if (status == STORE_NOT_FOUND) {
    /* Tell "not in `expected`" from "no such job in this tenant". */
    int64_t state = 0;
    s = stmt_get_locked(st, S_JOB_COUNTERS);
    if (!s) return STORE_ERROR;
    sqlite3_bind_int64(s, 1, job_id);
    sqlite3_bind_int64(s, 2, tenant_id);
    status = query_int64_locked(st, s, "job set state", &state);
    return status == STORE_OK ? STORE_CONFLICT : status;
  }
  if (status != STORE_OK) return status;
  return event_insert_locked(st, tenant_id, job_id, now, event, (int)expected, (int)next, detail);
}

store_status_t store_job_set_state(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                   nimbus_job_state_t expected, nimbus_job_state_t next,
                                   const char *event, const char *detail) {
  if (!store_lock(st)) return STORE_ERROR;
  store_status_t status = tx_begin_locked(st);
  if (status == STORE_OK)
    status = job_set_state_locked(st, tenant_id, job_id, expected, next, event, detail,
                                  (int64_t)time(NULL));
  if (status == STORE_OK) status = tx_commit_locked(st);
  if (status != STORE_OK) tx_rollback_locked(st);
  store_unlock(st);
  return status;
}

/* ---- documents ---- */

store_status_t store_document_add(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                  nimbus_document_t *doc, bool last,
                                  nimbus_job_state_t state_after_last) {
  if (!store_lock(st)) return STORE_ERROR;
  int64_t now = (int64_t)time(NULL);
  int number = 0;
  store_status_t status = tx_begin_locked(st);
  if (status != STORE_OK) goto done;

  sqlite3_stmt *s = stmt_get_locked(st, S_JOB_COUNTERS);
  if (!s) {
    status = STORE_ERROR;
    goto done;
  }
  sqlite3_bind_int64(s, 1, job_id);
  sqlite3_bind_int64(s, 2, tenant_id);
  status = step_row_locked(st, s, "document add");
  int state = 0, num_documents = 0, copies = 1;
  int64_t pages = 0;
  if (status == STORE_OK) {
    state = sqlite3_column_int(s, 0);
    num_documents = sqlite3_column_int(s, 1);
    pages = sqlite3_column_int64(s, 2);
    copies = sqlite3_column_int(s, 3);
  }
  stmt_reset(s);
  if (status != STORE_OK) goto done;
  if (state != NIMBUS_JOB_RECEIVED) {
    status = STORE_CONFLICT;
    goto done;
  }
  if (copies < 1) copies = 1;
  number = num_documents + 1;
  pages += doc->pages;

  s = stmt_get_locked(st, S_DOC_INSERT);
  if (!s) {
    status = STORE_ERROR;
    goto done;
  }
  sqlite3_bind_int64(s, 1, job_id);
  sqlite3_bind_int(s, 2, number);
  BIND_FIELD(s, 3, doc->format);
  BIND_FIELD(s, 4, doc->name);
  sqlite3_bind_int64(s, 5, doc->size);
  sqlite3_bind_int(s, 6, doc->pages);
  BIND_FIELD(s, 7, doc->blob_key);
  sqlite3_bind_int64(s, 8, now);
  status = stmt_exec_locked(st, s, "document insert");
  if (status != STORE_OK) goto done;

  s = stmt_get_locked(st, S_JOB_UPDATE_COUNTERS);
  if (!s) {
    status = STORE_ERROR;
    goto done;
  }
  sqlite3_bind_int64(s, 1, job_id);
  sqlite3_bind_int64(s, 2, tenant_id);
  sqlite3_bind_int(s, 3, number);
  sqlite3_bind_int64(s, 4, pages);
  sqlite3_bind_int64(s, 5, clamp_int(pages * copies));
  status = exec_changes_locked(st, s, "document add counters");
  if (status != STORE_OK) goto done;

  if (last)
    status = job_set_state_locked(st, tenant_id, job_id, NIMBUS_JOB_RECEIVED, state_after_last,
                                  "job-closed", NULL, now);
  if (status == STORE_OK) status = tx_commit_locked(st);

done:
  if (status == STORE_OK) {
    doc->job_id = job_id;
    doc->number = number;
    doc->created_at = now;
  } else {
    tx_rollback_locked(st);
  }
  store_unlock(st);
  return status;
}

store_status_t store_document_list(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                   nimbus_document_t *out, int max, int *count) {
  if (!store_lock(st)) return STORE_ERROR;
  int n = 0;
  int64_t state = 0;
  bool in_tx = exec_id_locked(st, S_BEGIN_READ) == STORE_OK;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = stmt_get_locked(st, S_JOB_COUNTERS);
  if (!s) goto done;
  sqlite3_bind_int64(s, 1, job_id);
  sqlite3_bind_int64(s, 2, tenant_id);
  status = query_int64_locked(st, s, "document list", &state); /* job in tenant? */
  if (status != STORE_OK || max <= 0) goto done;

  s = stmt_get_locked(st, S_DOC_LIST);
  if (!s) {
    status = STORE_ERROR;
    goto done;
  }
  sqlite3_bind_int64(s, 1, job_id);
  sqlite3_bind_int(s, 2, max);
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW && n < max) doc_from_row(s, &out[n++]);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) status = fail_locked(st, rc, "document list");
  stmt_reset(s);
done:
  if (in_tx) tx_rollback_locked(st);
  if (count) *count = status == STORE_OK ? n : 0;
  store_unlock(st);
  return status;
}

store_status_t store_blob_is_referenced(store_t *st, const char *key, bool *referenced) {
  if (!store_lock(st)) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = stmt_get_locked(st, S_BLOB_REFERENCED);
  if (s) {
    int64_t v = 0;
    bind_str(s, 1, key);
    status = query_int64_locked(st, s, "blob referenced", &v);
    if (status == STORE_OK) *referenced = v != 0;
  }
  store_unlock(st);
  return status;
}

/* ---- audit and counters ---- */

/* tenant_id 0 records a system-wide event. */
store_status_t store_audit_append(store_t *st, nimbus_id_t tenant_id, const char *actor,
                                  const char *action, const char *detail) {
  if (!store_lock(st)) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = stmt_get_locked(st, S_AUDIT_INSERT);
  if (s) {
    bind_id_or_null(s, 1, tenant_id);
    sqlite3_bind_int64(s, 2, (int64_t)time(NULL));
    bind_str(s, 3, actor);
    sqlite3_bind_text(s, 4, action, -1, SQLITE_STATIC); /* NULL violates NOT NULL */
    bind_str(s, 5, detail);
    status = stmt_exec_locked(st, s, "audit append");
  }
  store_unlock(st);
  return status;
}

store_status_t store_job_count_by_state(store_t *st, int64_t counts[10]) {
  memset(counts, 0, 10 * sizeof counts[0]);
  if (!store_lock(st)) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = stmt_get_locked(st, S_JOB_COUNT_BY_STATE);
  if (s) {
    int rc;
    status = STORE_OK;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      int state = sqlite3_column_int(s, 0);
      if (state >= 1 && state <= 9) counts[state] = sqlite3_column_int64(s, 1);
    }
    if (rc != SQLITE_DONE) status = fail_locked(st, rc, "job count by state");
    stmt_reset(s);
  }
  store_unlock(st);
  return status;
}
