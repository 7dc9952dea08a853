/*
 * store-sqlite-private.h: what the files of the SQLite backend share
 * (store-sqlite.c: connections, statements, helpers, open/close,
 * checkpoints, audit; store-sqlite-accounts.c: tenants, users, tokens,
 * queues; store-sqlite-jobs.c: job insert and group commit, jobs,
 * documents; store-sqlite-devices.c: output devices).  Nothing here is for the rest of nimbusd:
 * callers see only store.h.  Functions ending in _locked expect the caller to hold st->mu.
 */
#ifndef NIMBUS_STORE_SQLITE_PRIVATE_H
#define NIMBUS_STORE_SQLITE_PRIVATE_H

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

#define TENANT_COLS                                                                 \
  "id, name, display_name, max_document_size, max_held_jobs_per_user, created_at, " \
  "retention_hours, panel_login, unknown_user_names"
#define USER_COLS "id, tenant_id, name, role, password_hash, created_at, panel_pin_hash"
#define TOKEN_COLS                                                                              \
  "t.id, t.tenant_id, t.user_id, u.name, u.role, t.label, t.hash, t.created_at, t.expires_at, " \
  "t.revoked"
#define TOKEN_FROM "FROM tokens t JOIN users u ON u.id = t.user_id AND u.tenant_id = t.tenant_id"
#define QUEUE_COLS                                                                       \
  "id, tenant_id, name, description, release_immediately, allow_anonymous, created_at, " \
  "release_scope"
#define JOB_COLS                                                                             \
  "j.id, j.tenant_id, j.queue_id, j.owner_id, q.name, j.owner_name, j.name, j.origin_host, " \
  "j.state, j.created_at, j.state_changed_at, j.completed_at, j.copies, j.pages, "           \
  "j.impressions, j.impressions_completed, j.num_documents, j.account_id, "                  \
  "j.accounting_user_id, j.hold_until, j.pin_hash, j.attrs_json, j.device_id, "              \
  "j.target_device_id, j.device_state_reasons, j.origin_device_id, coalesce(od.name, ''), "  \
  "j.reference, j.pin_failures, j.pin_window_start, j.pin_locked_until, j.number"
/* The origin printer's name comes from a LEFT JOIN: '' once it is deleted. */
#define JOB_FROM                                        \
  "FROM jobs j JOIN queues q ON q.id = j.queue_id "     \
  "LEFT JOIN devices od ON od.id = j.origin_device_id " \
  "AND od.tenant_id = j.tenant_id"
#define JOB_FILTER                                                                          \
  "WHERE j.tenant_id = ?1 AND (?2 = 0 OR j.queue_id = ?2) AND (?3 = 0 OR j.owner_id = ?3) " \
  "AND j.state BETWEEN ?4 AND ?5 AND (?6 = 0 OR j.device_id = ?6) "                         \
  "AND (?7 = 0 OR j.target_device_id IN (0, ?7)) "                                          \
  "AND (?10 = 0 OR j.origin_device_id = ?10)"
#define DOC_COLS "job_id, number, format, name, size, pages, blob_key, created_at"
#define DEVICE_COLS                                                                 \
  "d.id, d.tenant_id, d.name, d.status, d.uuid, d.claim_hash, d.claim_expires_at, " \
  "d.credential_hash, d.created_at, d.registered_at, d.last_seen_at, d.transport, " \
  "d.printer_state, d.state_reasons, d.make_model, "                                \
  "(SELECT count(*) FROM jobs pj WHERE pj.state = 5 AND pj.device_id = d.id), d.location"

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
  S_USER_GET_BY_ALIAS,
  S_USER_NAME_FOLDS,
  S_ALIAS_INSERT,
  S_ALIAS_DELETE,
  S_ALIAS_LIST,
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
  S_JOB_GET_BY_NUMBER,
  S_JOB_NUMBER_TAKE,
  S_JOB_LIST_ASC,
  S_JOB_LIST_DESC,
  S_JOB_COUNT,
  S_JOB_COUNT_PENDING,
  S_JOB_COUNT_PENDING_ORIGIN,
  S_JOB_COUNT_BY_STATE,
  S_JOB_SET_STATE,
  S_JOB_SET_DEVICE_STATE,
  S_JOB_SET_PROGRESS,
  S_JOB_SET_TARGET_DEVICE,
  S_JOB_MOVE_HELD,
  S_JOB_LEASE_EXPIRED,
  S_JOB_COUNTERS,
  S_JOB_UPDATE_COUNTERS,
  S_EVENT_INSERT,
  S_DOC_INSERT,
  S_DOC_DATA_INSERT,
  S_DOC_DATA_ROWID,
  S_DOC_LIST,
  S_BLOB_REFERENCED,
  S_AUDIT_INSERT,
  S_DEVICE_INSERT,
  S_DEVICE_QUEUE_INSERT,
  S_DEVICE_QUEUES,
  S_DEVICE_EXISTS,
  S_DEVICE_GET,
  S_DEVICE_GET_BY_NAME,
  S_DEVICE_GET_BY_CREDENTIAL,
  S_DEVICE_GET_BY_UUID,
  S_DEVICE_GET_BY_CLAIM,
  S_DEVICE_LIST,
  S_DEVICE_SET_CLAIM,
  S_DEVICE_SET_LOCATION,
  S_DEVICE_UUID_OWNER,
  S_DEVICE_CLAIM,
  S_DEVICE_SET_REPORTED,
  S_DEVICE_GET_ATTRS,
  S_QUEUE_DEVICE_ATTRS,
  S_DEVICE_TOUCH,
  S_DEVICE_TOMBSTONE_INSERT,
  S_DEVICE_TOMBSTONE_GET,
  S_DEVICE_REOFFER_EVENTS,
  S_DEVICE_REOFFER,
  S_DEVICE_UNTARGET_EVENTS,
  S_DEVICE_UNTARGET,
  S_DEVICE_DELETE,
  S_JOB_PIN_STATE,
  S_JOB_PIN_UPDATE,
  S_DOC_PURGE_KEYS,
  S_DOC_PURGE,
  S_DOC_DATA_PURGE,
  S_JOB_HOUSEKEEPING,
  S_PANEL_SESSION_INSERT,
  S_PANEL_SESSION_GET,
  S_PANEL_SESSION_TOUCH,
  S_PANEL_SESSION_DELETE,
  S_PANEL_SESSION_EXPIRE,
  S_THROTTLE_GET,
  S_THROTTLE_FAIL,
  S_THROTTLE_CLEAR,
  S_THROTTLE_EXPIRE,
  S_COUNT
} stmt_id_t;

/* Job states appear in SQL as model.h's numbers: 1..5 live, 6..9
 * terminal, and 1..3 (received, held, awaiting-payment) "pending". */

/* One queued store_job_insert call; lives on the caller's stack. */
typedef struct job_insert_req {
  nimbus_job_t *job;
  nimbus_document_t *docs;
  const store_inline_t *data; /* NULL or ndocs entries */
  int ndocs;
  store_status_t status;
  bool reference_made; /* the store generated job->reference (undone on rollback) */
  bool done;           /* set under gc_mu; the caller may return once it is true */
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

#define BIND_FIELD(s, idx, arr) bind_field((s), (idx), (arr), sizeof(arr))
/* The caller's list callback, whichever record type it takes. */
typedef union {
  store_tenant_cb tenant;
  store_user_cb user;
  store_token_cb token;
  store_queue_cb queue;
  store_job_cb job;
  store_device_cb device;
  store_alias_cb alias;
} list_cb_t;
typedef bool (*row_fn)(sqlite3_stmt *s, list_cb_t cb, void *ctx);

/* ---- shared helpers (store-sqlite.c) ---- */
bool store_reentry_refused(const store_t *st);
bool store_lock(store_t *st);
void store_unlock(store_t *st);
void assert_locked(const store_t *st);
store_status_t fail_locked(store_t *st, int rc, const char *what);
/* Set by fail_locked() when this thread's store call ran out of disk space:
 * a multi-step caller (job_insert_batch) resets it first and then tells
 * STORE_FULL from STORE_ERROR even where SQLite rolled everything back. */
extern _Thread_local bool store_full_seen;
sqlite3_stmt *stmt_get_locked(store_t *st, stmt_id_t id);
void stmt_reset(sqlite3_stmt *s);
store_status_t stmt_exec_locked(store_t *st, sqlite3_stmt *s, const char *what);
store_status_t exec_id_locked(store_t *st, stmt_id_t id);
store_status_t tx_begin_locked(store_t *st);
store_status_t tx_commit_locked(store_t *st);
void tx_rollback_locked(store_t *st);
void bind_field(sqlite3_stmt *s, int idx, const char *field, size_t cap);
void bind_str(sqlite3_stmt *s, int idx, const char *str);
void bind_id_or_null(sqlite3_stmt *s, int idx, nimbus_id_t id);
void copy_column(sqlite3_stmt *s, int col, char *dst, size_t cap);
int column_int(sqlite3_stmt *s, int col);
int clamp_int(int64_t v);
bool state_is_terminal(int state);
void tenant_from_row(sqlite3_stmt *s, nimbus_tenant_t *t);
void user_from_row(sqlite3_stmt *s, nimbus_user_t *u);
void token_from_row(sqlite3_stmt *s, nimbus_token_t *tk);
void queue_from_row(sqlite3_stmt *s, nimbus_queue_t *q);
void job_from_row(sqlite3_stmt *s, nimbus_job_t *j);
void doc_from_row(sqlite3_stmt *s, nimbus_document_t *d);
store_status_t step_row_locked(store_t *st, sqlite3_stmt *s, const char *what);
store_status_t exec_changes_locked(store_t *st, sqlite3_stmt *s, const char *what);
store_status_t query_int64_locked(store_t *st, sqlite3_stmt *s, const char *what, int64_t *out);
store_status_t for_each_row_locked(store_t *st, sqlite3_stmt *s, const char *what, row_fn each,
                                   list_cb_t cb, void *ctx);
store_status_t event_insert_locked(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                   int64_t now, const char *event, int from_state, int to_state,
                                   const char *detail);
void *gc_main(void *arg); /* store-sqlite-jobs.c: the group-commit thread */

#endif
