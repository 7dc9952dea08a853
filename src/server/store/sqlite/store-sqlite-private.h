/*
 * store-sqlite-private.h: what the files of the SQLite backend share
 * (store-sqlite.c: connections, statements, helpers, open/close,
 * checkpoints, audit; store-sqlite-accounts.c: tenants, users, tokens,
 * queues; store-sqlite-jobs.c: job insert and group commit, jobs,
 * documents; store-sqlite-devices.c: output devices; store-sqlite-money.c:
 * money; store-sqlite-billing.c and store-sqlite-charges.c: billing by
 * purpose).  Nothing here is for the rest of nimbusd:
 * callers see only store.h.  Functions ending in _locked expect the caller to hold st->mu.
 */
#ifndef NIMBUS_STORE_SQLITE_PRIVATE_H
#define NIMBUS_STORE_SQLITE_PRIVATE_H

#include "group-commit.h"
#include "store-ops.h"
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

/* The SQLite store: the generic part (its operations table) and the connection. */
typedef struct sqlite_store sqlite_store_t;

/* Defined in store-sqlite-migrations.c. */
extern const char *const *const store_sqlite_migrations[];
extern const int store_sqlite_migration_count;

#define STORE_BUSY_TIMEOUT_MS 5000

/* Job states 1..5 are live, 6..9 terminal (model.h). */
#define STATE_FIRST_TERMINAL NIMBUS_JOB_COMPLETED

#define TENANT_COLS                                                                 \
  "id, name, display_name, max_document_size, max_held_jobs_per_user, created_at, " \
  "retention_hours, panel_login, unknown_user_names, suspended"
#define USER_COLS "id, tenant_id, name, role, password_hash, created_at, panel_pin_hash"
#define TOKEN_COLS                                                                              \
  "t.id, t.tenant_id, t.user_id, u.name, u.role, t.label, t.hash, t.created_at, t.expires_at, " \
  "t.revoked, coalesce(t.scope, '')"
#define TOKEN_FROM "FROM tokens t JOIN users u ON u.id = t.user_id AND u.tenant_id = t.tenant_id"
#define QUEUE_COLS                                                                       \
  "id, tenant_id, name, description, release_immediately, allow_anonymous, created_at, " \
  "release_scope, coalesce(price_table_id, 0), payment"
#define JOB_COLS                                                                             \
  "j.id, j.tenant_id, j.queue_id, j.owner_id, q.name, j.owner_name, j.name, j.origin_host, " \
  "j.state, j.created_at, j.state_changed_at, j.completed_at, j.copies, j.pages, "           \
  "j.impressions, j.impressions_completed, j.num_documents, j.account_id, "                  \
  "j.accounting_user_id, j.hold_until, j.pin_hash, j.attrs_json, j.device_id, "              \
  "j.target_device_id, j.device_state_reasons, j.origin_device_id, coalesce(od.name, ''), "  \
  "j.reference, j.pin_failures, j.pin_window_start, j.pin_locked_until, j.number"
/* The jobs of job_events rows e, for the event feed: every column NULL
 * (read as 0 / '') for a device deletion or a job that is gone. */
#define FEED_FROM                                          \
  "FROM job_events e LEFT JOIN jobs j ON j.id = e.job_id " \
  "LEFT JOIN queues q ON q.id = j.queue_id "               \
  "LEFT JOIN devices od ON od.id = j.origin_device_id "    \
  "AND od.tenant_id = j.tenant_id"
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
#define DEVICE_COLS                                                                         \
  "d.id, d.tenant_id, d.name, d.status, d.uuid, d.claim_hash, d.claim_expires_at, "         \
  "d.credential_hash, d.created_at, d.registered_at, d.last_seen_at, d.transport, "         \
  "d.printer_state, d.state_reasons, d.make_model, "                                        \
  "(SELECT count(*) FROM jobs pj WHERE pj.state = 5 AND pj.device_id = d.id), d.location, " \
  "coalesce(d.price_table_id, 0), d.payment"

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
  S_JOB_APPLY,
  S_JOB_SET_PROGRESS,
  S_JOB_SET_SETTINGS,
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
  S_AUDIT_LIST,
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
  S_DEVICE_JOBS_LEFT,
  S_DEVICE_DELETE,
  S_JOB_PIN_STATE,
  S_JOB_PIN_CAS,
  S_DOC_PURGE_KEYS,
  S_DOC_PURGE,
  S_DOC_DATA_PURGE,
  S_JOB_SWEEP,
  S_JOB_SWEEP_UNPURGED,
  S_PANEL_SESSION_INSERT,
  S_PANEL_SESSION_GET,
  S_PANEL_SESSION_TOUCH,
  S_PANEL_SESSION_DELETE,
  S_PANEL_SESSION_EXPIRE,
  S_WEB_SESSION_INSERT,
  S_WEB_SESSION_GET,
  S_WEB_SESSION_TOUCH,
  S_WEB_SESSION_DELETE,
  S_WEB_SESSION_DELETE_USER,
  S_WEB_SESSION_DELETE_TENANT,
  S_WEB_SESSION_SWEEP,
  /* OAuth device grants (store-sqlite-oauth.c) */
  S_DGRANT_PRUNE,
  S_DGRANT_INSERT,
  S_DGRANT_GET_BY_DEVICE,
  S_DGRANT_GET_BY_USER,
  S_DGRANT_UPDATE,
  S_LEASE_TAKE,
  S_THROTTLE_GET,
  S_THROTTLE_FAIL,
  S_THROTTLE_CLEAR,
  S_THROTTLE_EXPIRE,
  S_SUB_INSERT,
  S_SUB_GET,
  S_SUB_LIST,
  S_SUB_RENEW,
  S_SUB_DELETE,
  S_SUB_SWEEP,
  S_FEED_LAST,
  S_FEED_NEXT,
  /* money (store-sqlite-money.c, whose table holds their SQL) */
  S_MONEY_FIRST,
  S_BILLING_GET = S_MONEY_FIRST,
  S_BILLING_PUT,
  S_PROVIDER_GET,
  S_PROVIDER_PUT,
  S_PROVIDER_DELETE,
  S_PRICE_INSERT,
  S_PRICE_GET,
  S_PRICE_GET_BY_NAME,
  S_PRICE_UPDATE,
  S_PRICE_DELETE,
  S_PRICE_LIST,
  S_QUEUE_SET_PRICING,
  S_DEVICE_SET_PRICING,
  S_QUOTE_PUT,
  S_QUOTE_GET,
  S_JOB_IN_TENANT,
  S_PAYMENT_INSERT,
  S_PAYMENT_GET,
  S_PAYMENT_GET_BY_ORDER,
  S_PAYMENT_LATEST,
  S_PAYMENT_UPDATE,
  S_PAYMENT_EXISTS,
  S_PAYMENT_LIST_OPEN,
  S_PAYMENT_LIST,
  S_POSTING_INSERT,
  S_ENTRY_INSERT,
  S_LEDGER_LIST,
  S_LEDGER_BALANCES,
  /* billing by purpose (store-sqlite-billing.c, whose table holds their SQL) */
  S_BILLING_FIRST,
  S_ACCOUNT_INSERT = S_BILLING_FIRST,
  S_ACCOUNT_GET,
  S_ACCOUNT_GET_BY_CODE,
  S_ACCOUNT_UPDATE,
  S_ACCOUNT_LIST,
  S_ACCOUNT_TOPUP,
  S_GRANT_INSERT,
  S_GRANT_DELETE,
  S_GRANT_LIST,
  S_GRANT_EXISTS,
  S_PURPOSE_INSERT,
  S_PURPOSE_GET,
  S_PURPOSE_GET_BY_NAME,
  S_PURPOSE_GET_DEFAULT,
  S_PURPOSE_CLEAR_DEFAULT,
  S_PURPOSE_UPDATE,
  S_PURPOSE_DELETE,
  S_PURPOSE_LIST,
  S_METHOD_INSERT,
  S_METHOD_GET,
  S_METHOD_GET_BY_SETUP,
  S_METHOD_UPDATE,
  S_METHOD_EXISTS,
  S_METHOD_DELETE,
  /* charges, the panel's purpose, the print log (store-sqlite-charges.c) */
  S_CHARGES_FIRST,
  S_ACCOUNT_CLOSED_AT = S_CHARGES_FIRST,
  S_ACCOUNT_MOVE,
  S_CHARGE_HOLD,
  S_CHARGE_GET,
  S_CHARGE_UPDATE,
  S_CHARGE_EXISTS,
  S_CHARGE_LIST_DUE,
  S_JOB_SET_ACCOUNT,
  S_PRINT_LOG,
  /* remote printer links (store-sqlite-remote.c) */
  S_REMOTE_FIRST,
  S_REMOTE_LINK_INSERT = S_REMOTE_FIRST,
  S_REMOTE_LINK_GET,
  S_REMOTE_LINK_LIST,
  S_REMOTE_LINK_UPDATE,
  S_REMOTE_LINK_SET_STATE,
  S_REMOTE_LINK_DELETE,
  S_REMOTE_JOB_UPSERT,
  S_REMOTE_JOB_PRUNE,
  S_REMOTE_JOB_LIST,
  S_REMOTE_JOB_COUNT,
  S_REMOTE_JOB_Q_USER,
  S_REMOTE_JOB_Q_ONE,
  S_REMOTE_JOB_Q_LOCAL,
  S_REMOTE_JOB_Q_REPORT,
  S_REMOTE_JOB_TAKE,
  S_REMOTE_JOB_DROP,
  S_REMOTE_JOB_REPORTED,
  /* account links (store-sqlite-links.c) */
  S_LINK_FIRST,
  S_LINK_INSERT = S_LINK_FIRST,
  S_LINK_GET,
  S_LINK_LIST,
  S_LINK_DUE,
  S_LINK_UPDATE,
  S_LINK_EXISTS,
  S_LINK_DELETE,
  /* contracts: contracts, webhook events, dealers, packages (store-sqlite-contracts.c) */
  S_CONTRACT_FIRST,
  S_CONTRACT_INSERT = S_CONTRACT_FIRST,
  S_CONTRACT_UPDATE,
  S_CONTRACT_EXISTS,
  S_CONTRACT_GET,
  S_CONTRACT_GET_BY_NAME,
  S_CONTRACT_GET_BY_EXTERNAL,
  S_CONTRACT_LIST,
  S_CONTRACT_CANCEL,
  S_CONTRACT_DUE,
  S_CONTRACT_PKG_CLEAR,
  S_CONTRACT_PKG_INSERT,
  S_CEVENT_INSERT,
  S_CEVENT_GET,
  S_CEVENT_SET,
  S_CEVENT_PRUNE,
  S_DEALER_SET,
  S_DEALER_GET,
  S_DEALER_DELETE,
  S_DEALER_LIST,
  S_PACKAGE_INSERT,
  S_PACKAGE_GET,
  S_PACKAGE_LIST,
  S_PACKAGE_IN_USE,
  S_PACKAGE_DELETE,
  S_PACKAGE_EXISTS,

  /* smart services (store-sqlite-services.c) */
  S_SERVICE_FIRST,
  S_SVC_PUT = S_SERVICE_FIRST,
  S_SVC_GET,
  S_SVC_LIST,
  S_SVC_DISABLE,
  S_BACKUP_INSERT,
  S_BACKUP_GET,
  S_BACKUP_LIST,
  S_BACKUP_PRUNE,
  S_LEVEL_GET,
  S_LEVEL_PUT,
  S_ORDER_INSERT,
  S_ORDER_LIST,
  S_ORDER_MARK,
  S_COUNTER_GET,
  S_COUNTER_REPLACED,
  S_ALERT_INSERT,
  S_ALERT_LIST,
  S_ALERT_MARK,

  /* provisioning (store-sqlite-provisioning.c) */
  S_PROV_FIRST,
  S_PROV_RUN_INSERT = S_PROV_FIRST,
  S_PROV_RUN_GET_BY_EVENT,
  S_PROV_RUN_GET,
  S_PROV_RUN_LIST,
  S_PROV_RUN_FINISH,
  S_PROV_RUN_REOPEN,
  S_PROV_COVER_INSERT,
  S_PROV_UNCOVERED,
  S_PROV_STEP_INSERT,
  S_PROV_STEP_LIST,
  S_PROV_STEP_GET,
  S_PROV_STEP_UPDATE,
  S_PROV_STEP_EXISTS,
  S_PROV_EVENT_INSERT,
  S_PROV_STEP_HEADS,
  S_PROV_STEP_TIMED_OUT,
  S_PROV_HAS_PACKAGE,
  S_PROV_INV_PUT,
  S_PROV_INV_GET,
  S_COUNT
} stmt_id_t;

/* Job states appear in SQL as model.h's numbers: 1..5 live, 6..9
 * terminal, and 1..3 (received, held, awaiting-payment) "pending". */

/* One store_job_insert call, queued for the group committer or run
 * directly; lives on the caller's stack. */
typedef struct job_insert_req {
  group_commit_item_t item; /* the batcher's (group-commit.h) */
  nimbus_job_t *job;
  nimbus_document_t *docs;
  const store_inline_t *data; /* NULL or ndocs entries */
  int ndocs;
  store_status_t status;
  bool reference_made; /* the store generated job->reference (undone on rollback) */
} job_insert_req_t;

struct sqlite_store {
  store_t base; /* first: the operations table (store-ops.h) */
  sqlite3 *db;
  pthread_mutex_t mu; /* guards db and stmts */
  sqlite3_stmt *stmts[S_COUNT];
  /* The store this connection belongs to: itself for the main connection,
   * the main store for the committer's and the readers' connections (the
   * re-entry check of sqlite_lock()/sqlite_read_lock() is per store). */
  struct sqlite_store *owner;

  /* Read connections (see sqlite_read_lock): WAL readers with
   * PRAGMA query_only, each a sqlite_store_t with just db, mu, stmts and
   * owner.  None for an in-memory database (one connection sees it). */
  struct sqlite_store **readers;
  int nreaders;

  /* WAL checkpointer (see sqlite_checkpoint_main): own connection, woken by
   * the WAL hook.  ck_mu guards ck_*; lock order mu -> ck_mu (the hook runs
   * inside COMMIT with mu held); the checkpointer never takes mu. */
  sqlite3 *ck_db;
  pthread_t ck_thread;
  bool ck_started, ck_pending, ck_closing;
  pthread_mutex_t ck_mu;
  pthread_cond_t ck_wake;
  /* The group committer of job inserts (group-commit.h), running
   * sqlite_job_insert_batch on gc_conn; NULL when group_commit_max <= 1
   * (each caller then runs its insert itself on the main connection). */
  group_commit_t *gc;
  /* The committer's own connection (a sqlite_store_t with just db, mu, stmts):
   * its COMMIT, with the WAL fsync, then holds gc_conn->mu, not st->mu, so
   * lookups on the main connection go on while a batch is made durable
   * (WAL readers never wait for a writer). */
  struct sqlite_store *gc_conn;
};

#define BIND_FIELD(s, idx, arr) sqlite_bind_field((s), (idx), (arr), sizeof(arr))
/* The caller's list callback, whichever record type it takes. */
typedef union {
  store_tenant_cb tenant;
  store_user_cb user;
  store_token_cb token;
  store_queue_cb queue;
  store_job_cb job;
  store_device_cb device;
  store_alias_cb alias;
  store_price_table_cb price_table;
  store_payment_cb payment;
  store_ledger_cb ledger;
  store_balance_cb balance;
  store_account_cb account;
  store_grant_cb grant;
  store_purpose_cb purpose;
  store_charge_cb charge;
  store_print_log_cb print_log;
  store_audit_cb audit;
  store_account_link_cb account_link;
  store_contract_cb contract;
  store_package_cb package;
  store_dealer_cb dealer;
  store_printer_service_cb printer_service;
  store_backup_cb backup;
  store_supply_order_cb supply_order;
  store_part_alert_cb part_alert;
} list_cb_t;
typedef bool (*row_fn)(sqlite3_stmt *s, list_cb_t cb, void *ctx);

/* ---- shared helpers (store-sqlite.c) ---- */
bool sqlite_reentry_refused(const sqlite_store_t *st);
bool sqlite_lock(sqlite_store_t *st);
void sqlite_unlock(sqlite_store_t *st);
/* A read connection of st (st itself when it has no readers), locked and
 * inside a read transaction, so all the caller's statements see one
 * snapshot; NULL (logged) when called from a list callback.  Released
 * with sqlite_read_unlock(), which ends the transaction.  Only for
 * operations that write nothing. */
sqlite_store_t *sqlite_read_lock(sqlite_store_t *st);
void sqlite_read_unlock(sqlite_store_t *rd);
void sqlite_assert_locked(const sqlite_store_t *st);
store_status_t sqlite_fail_locked(sqlite_store_t *st, int rc, const char *what);
/* Set by sqlite_fail_locked() when this thread's store call ran out of disk space:
 * a multi-step caller (job_insert_batch) resets it first and then tells
 * STORE_FULL from STORE_ERROR even where SQLite rolled everything back. */
extern _Thread_local bool sqlite_full_seen;
sqlite3_stmt *sqlite_stmt_get_locked(sqlite_store_t *st, stmt_id_t id);
void sqlite_stmt_reset(sqlite3_stmt *s);
store_status_t sqlite_stmt_exec_locked(sqlite_store_t *st, sqlite3_stmt *s, const char *what);
store_status_t sqlite_exec_id_locked(sqlite_store_t *st, stmt_id_t id);
store_status_t sqlite_tx_begin_locked(sqlite_store_t *st);
store_status_t sqlite_tx_commit_locked(sqlite_store_t *st);
void sqlite_tx_rollback_locked(sqlite_store_t *st);
void sqlite_bind_field(sqlite3_stmt *s, int idx, const char *field, size_t cap);
void sqlite_bind_str(sqlite3_stmt *s, int idx, const char *str);
void sqlite_bind_id_or_null(sqlite3_stmt *s, int idx, nimbus_id_t id);
void sqlite_copy_column(sqlite3_stmt *s, int col, char *dst, size_t cap);
int sqlite_column_int(sqlite3_stmt *s, int col);
int sqlite_clamp_int(int64_t v);
bool sqlite_state_is_terminal(int state);
void sqlite_tenant_from_row(sqlite3_stmt *s, nimbus_tenant_t *t);
void sqlite_user_from_row(sqlite3_stmt *s, nimbus_user_t *u);
void sqlite_token_from_row(sqlite3_stmt *s, nimbus_token_t *tk);
void sqlite_queue_from_row(sqlite3_stmt *s, nimbus_queue_t *q);
void sqlite_job_from_row(sqlite3_stmt *s, nimbus_job_t *j);
void sqlite_doc_from_row(sqlite3_stmt *s, nimbus_document_t *d);
store_status_t sqlite_step_row_locked(sqlite_store_t *st, sqlite3_stmt *s, const char *what);
store_status_t sqlite_exec_changes_locked(sqlite_store_t *st, sqlite3_stmt *s, const char *what);
store_status_t sqlite_query_int64_locked(sqlite_store_t *st, sqlite3_stmt *s, const char *what,
                                         int64_t *out);
store_status_t sqlite_for_each_row_locked(sqlite_store_t *st, sqlite3_stmt *s, const char *what,
                                          row_fn each, list_cb_t cb, void *ctx);
store_status_t sqlite_event_insert_locked(sqlite_store_t *st, nimbus_id_t tenant_id,
                                          nimbus_id_t job_id, int64_t now, const char *event,
                                          int from_state, int to_state, const char *detail);
/* Audited writes (store.h): a write that is one statement gets a
 * transaction of its own when there is an audit row (begin/end around
 * it); a write that has a transaction writes the row before its COMMIT
 * (insert).  new_id: the id an audit's id_key names.  a NULL: nothing. */
store_status_t sqlite_audit_begin_locked(sqlite_store_t *st, const store_audit_t *a);
store_status_t sqlite_audit_end_locked(sqlite_store_t *st, const store_audit_t *a,
                                       store_status_t status, int64_t new_id);
store_status_t sqlite_audit_insert_locked(sqlite_store_t *st, const store_audit_t *a,
                                          int64_t new_id);
/* store-sqlite-jobs.c: run a batch of job inserts (job_insert_req_t items)
 * in one transaction on conn (a sqlite_store_t); the group committer's run
 * callback, also called with one item by a caller without committer. */
void sqlite_job_insert_batch(void *conn, group_commit_item_t **items, int n);

/* ---- the operations (the table in store-sqlite-ops.c) ---- */
static inline sqlite_store_t *sqlite_of(store_t *base) {
  return (sqlite_store_t *)base;
}
store_t *sqlite_open(const char *path, const store_options_t *opts, char *err, size_t errlen);
void sqlite_version(char *buf, size_t len);
void sqlite_close(store_t *base_);
int sqlite_schema_version(store_t *base_);
int sqlite_schema_version_nowait(store_t *base_);
store_status_t sqlite_tenant_insert(store_t *base_, nimbus_tenant_t *t, const store_audit_t *audit);
store_status_t sqlite_tenant_get(store_t *base_, nimbus_id_t id, nimbus_tenant_t *out);
store_status_t sqlite_tenant_get_by_name(store_t *base_, const char *name, nimbus_tenant_t *out);
store_status_t sqlite_tenant_update(store_t *base_, const nimbus_tenant_t *t,
                                    const store_audit_t *audit);
store_status_t sqlite_tenant_delete(store_t *base_, nimbus_id_t id, const store_audit_t *audit);
store_status_t sqlite_tenant_list(store_t *base_, store_tenant_cb cb, void *ctx);
store_status_t sqlite_user_insert(store_t *base_, nimbus_user_t *u, const store_audit_t *audit);
store_status_t sqlite_user_get(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id,
                               nimbus_user_t *out);
store_status_t sqlite_user_get_by_name(store_t *base_, nimbus_id_t tenant_id, const char *name,
                                       nimbus_user_t *out);
store_status_t sqlite_user_update(store_t *base_, const nimbus_user_t *u,
                                  const store_audit_t *audit);
store_status_t sqlite_user_delete(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id,
                                  const store_audit_t *audit);
store_status_t sqlite_user_list(store_t *base_, nimbus_id_t tenant_id, store_user_cb cb, void *ctx);
store_status_t sqlite_user_get_by_alias(store_t *base_, nimbus_id_t tenant_id, const char *key,
                                        nimbus_user_t *out);
store_status_t sqlite_user_name_folds_to(store_t *base_, nimbus_id_t tenant_id, const char *key,
                                         nimbus_id_t except_id, nimbus_id_t *other_id);
store_status_t sqlite_alias_insert(store_t *base_, nimbus_alias_t *a, const char *key,
                                   const store_audit_t *audit);
store_status_t sqlite_alias_delete(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                   const char *key, const store_audit_t *audit);
store_status_t sqlite_alias_list(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                 store_alias_cb cb, void *ctx);
store_status_t sqlite_token_insert(store_t *base_, nimbus_token_t *tk, const store_audit_t *audit);
store_status_t sqlite_token_lookup(store_t *base_, const unsigned char hash[32], int64_t now,
                                   nimbus_token_t *out);
store_status_t sqlite_token_list(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                 store_token_cb cb, void *ctx);
store_status_t sqlite_token_revoke(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id,
                                   nimbus_id_t user_id, const store_audit_t *audit);
store_status_t sqlite_queue_insert(store_t *base_, nimbus_queue_t *q);
store_status_t sqlite_queue_get_by_name(store_t *base_, nimbus_id_t tenant_id, const char *name,
                                        nimbus_queue_t *out);
store_status_t sqlite_queue_update(store_t *base_, const nimbus_queue_t *q);
store_status_t sqlite_queue_delete(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id);
store_status_t sqlite_queue_list(store_t *base_, nimbus_id_t tenant_id, store_queue_cb cb,
                                 void *ctx);
store_status_t sqlite_job_insert(store_t *base_, nimbus_job_t *job, nimbus_document_t *docs,
                                 int ndocs);
store_status_t sqlite_job_insert_data(store_t *base_, nimbus_job_t *job, nimbus_document_t *docs,
                                      const store_inline_t *data, int ndocs);
store_status_t sqlite_document_read_inline(store_t *base_, nimbus_id_t tenant_id,
                                           nimbus_id_t job_id, int number, int64_t off, void *buf,
                                           size_t len, size_t *got);
store_status_t sqlite_job_get(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t job_id,
                              nimbus_job_t *out);
store_status_t sqlite_job_get_by_number(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t number,
                                        nimbus_job_t *out);
store_status_t sqlite_job_list(store_t *base_, const store_job_filter_t *f, store_job_cb cb,
                               void *ctx, int *total);
store_status_t sqlite_job_count_pending_for_owner(store_t *base_, nimbus_id_t tenant_id,
                                                  nimbus_id_t owner_id, int *count);
store_status_t sqlite_job_count_pending_for_origin(store_t *base_, nimbus_id_t tenant_id,
                                                   nimbus_id_t device_id, int *count);
/* One change of store_job_apply() inside the caller's transaction
 * (store-sqlite-jobs.c); device deletion applies its job changes with it. */
store_status_t sqlite_job_change_locked(sqlite_store_t *st, nimbus_id_t tenant_id,
                                        const store_job_change_t *c, int64_t now);
store_status_t sqlite_job_apply(store_t *base_, nimbus_id_t tenant_id,
                                const store_job_change_t *changes, size_t n);
store_status_t sqlite_job_set_progress(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                       nimbus_id_t device_id, int impressions_completed,
                                       const char *reasons);
store_status_t sqlite_job_list_lease_expired(store_t *base_, int64_t cutoff, store_job_cb cb,
                                             void *ctx);
store_status_t sqlite_document_add(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                   nimbus_document_t *doc, bool last,
                                   nimbus_job_state_t state_after_last);
store_status_t sqlite_document_list(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                    nimbus_document_t *out, int max, int *count);
store_status_t sqlite_blob_is_referenced(store_t *base_, const char *key, bool *referenced);
store_status_t sqlite_device_insert(store_t *base_, nimbus_device_t *d, const store_audit_t *audit);
store_status_t sqlite_device_get(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id,
                                 nimbus_device_t *out);
store_status_t sqlite_device_get_by_name(store_t *base_, nimbus_id_t tenant_id, const char *name,
                                         nimbus_device_t *out);
store_status_t sqlite_device_get_by_credential(store_t *base_, const unsigned char hash[32],
                                               nimbus_device_t *out);
store_status_t sqlite_device_get_by_uuid(store_t *base_, const char *uuid, nimbus_device_t *out);
store_status_t sqlite_device_set_location(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id,
                                          const char *location, const store_audit_t *audit);
store_status_t sqlite_device_set_claim(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id,
                                       const unsigned char claim_hash[32], int64_t expires_at,
                                       const store_audit_t *audit);
store_status_t sqlite_device_claim(store_t *base_, const unsigned char claim_hash[32], int64_t now,
                                   const char *uuid, const unsigned char credential_hash[32],
                                   nimbus_device_t *out, const store_audit_t *audit);
store_status_t sqlite_device_set_reported(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id,
                                          int printer_state, const char *state_reasons,
                                          const char *make_model, const void *attrs,
                                          size_t attrs_len);
store_status_t sqlite_device_get_attrs(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id,
                                       void **attrs, size_t *len);
store_status_t sqlite_queue_device_attrs(store_t *base_, nimbus_id_t tenant_id,
                                         nimbus_id_t queue_id, void **attrs, size_t *len);
store_status_t sqlite_device_touch(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id,
                                   int64_t seen_at, const char *transport);
store_status_t sqlite_device_touch_many(store_t *base_, const store_device_seen_t *v, int n);
store_status_t sqlite_device_list(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t queue_id,
                                  store_device_cb cb, void *ctx);
store_status_t sqlite_device_delete(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id,
                                    const store_job_change_t *changes, size_t n,
                                    const nimbus_job_state_t *live, size_t nlive,
                                    nimbus_device_t *out, const store_audit_t *audit);
store_status_t sqlite_device_tombstone_lookup(store_t *base_, const unsigned char hash[32],
                                              nimbus_device_tombstone_t *out);
store_status_t sqlite_job_pin_get(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                  store_pin_counter_t *out);
store_status_t sqlite_job_pin_cas(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                  const store_pin_counter_t *expected,
                                  const store_pin_counter_t *next, const store_audit_t *audit);
store_status_t sqlite_document_purge(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                     char (*keys)[NIMBUS_BLOB_KEY_MAX], int max, int *nkeys);
store_status_t sqlite_job_list_sweep(store_t *base_, const store_sweep_filter_t *f, store_job_cb cb,
                                     void *ctx);
store_status_t sqlite_panel_session_insert(store_t *base_, nimbus_panel_session_t *ps,
                                           const store_audit_t *audit);
store_status_t sqlite_panel_session_get(store_t *base_, const unsigned char hash[32], int64_t now,
                                        nimbus_panel_session_t *out);
store_status_t sqlite_panel_session_touch(store_t *base_, nimbus_id_t id, int64_t expires_at);
store_status_t sqlite_panel_session_delete(store_t *base_, const unsigned char hash[32],
                                           int64_t now);
/* store-sqlite-sessions.c: web console sessions */
store_status_t sqlite_web_session_insert(store_t *base_, nimbus_web_session_t *ws,
                                         const store_audit_t *audit);
store_status_t sqlite_web_session_get(store_t *base_, const unsigned char hash[32], int64_t now,
                                      int64_t idle, nimbus_web_session_t *out);
store_status_t sqlite_web_session_touch(store_t *base_, nimbus_id_t id, int64_t now);
store_status_t sqlite_web_session_delete(store_t *base_, const unsigned char hash[32],
                                         const store_audit_t *audit);
store_status_t sqlite_web_session_delete_user(store_t *base_, nimbus_id_t tenant_id,
                                              nimbus_id_t user_id);
store_status_t sqlite_web_session_delete_tenant(store_t *base_, nimbus_id_t tenant_id);
store_status_t sqlite_web_session_sweep(store_t *base_, int64_t now, int64_t idle, int *n);
/* OAuth device grants (store-sqlite-oauth.c) */
store_status_t sqlite_device_grant_insert(store_t *base_, nimbus_device_grant_t *g,
                                          int max_pending);
store_status_t sqlite_device_grant_get(store_t *base_, bool by_device, const unsigned char hash[32],
                                       nimbus_device_grant_t *out);
store_status_t sqlite_device_grant_update(store_t *base_, const nimbus_device_grant_t *g,
                                          const char *expect_status, const store_audit_t *audit);
store_status_t sqlite_lease_take(store_t *base_, const char *name, const char *holder, int64_t now,
                                 int ttl, bool *held);
store_status_t sqlite_throttle_get(store_t *base_, const unsigned char key[32], int64_t now,
                                   int *failures, int64_t *window_start);
store_status_t sqlite_throttle_fail(store_t *base_, const unsigned char key[32], const char *kind,
                                    int64_t now, int64_t window, int *failures,
                                    int64_t *window_start);
store_status_t sqlite_throttle_clear(store_t *base_, const unsigned char key[32]);
store_status_t sqlite_audit_append(store_t *base_, nimbus_id_t tenant_id, const char *actor,
                                   const char *action, const char *detail);
store_status_t sqlite_audit_list(store_t *base_, const store_audit_filter_t *f, store_audit_cb cb,
                                 void *ctx);
store_status_t sqlite_job_count_by_state(store_t *base_, int64_t counts[10]);
/* ---- end of the operations ---- */

/* store-sqlite-money.c: the SQL of the statements S_MONEY_FIRST.. (the
 * cached statements of store-sqlite.c take theirs from here), and the
 * money operations (store.h "money"). */
const char *sqlite_money_sql(stmt_id_t id);
store_status_t sqlite_tenant_billing_get(store_t *base_, nimbus_id_t tenant_id,
                                         nimbus_tenant_billing_t *out);
store_status_t sqlite_tenant_billing_put(store_t *base_, nimbus_tenant_billing_t *b,
                                         const store_audit_t *audit);
store_status_t sqlite_payment_provider_get(store_t *base_, nimbus_id_t tenant_id,
                                           nimbus_payment_provider_t *out);
store_status_t sqlite_payment_provider_put(store_t *base_, nimbus_payment_provider_t *p,
                                           const store_audit_t *audit);
store_status_t sqlite_payment_provider_delete(store_t *base_, nimbus_id_t tenant_id,
                                              const store_audit_t *audit);
store_status_t sqlite_price_table_insert(store_t *base_, nimbus_price_table_t *t,
                                         const store_audit_t *audit);
store_status_t sqlite_price_table_get(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id,
                                      nimbus_price_table_t *out);
store_status_t sqlite_price_table_get_by_name(store_t *base_, nimbus_id_t tenant_id,
                                              const char *name, nimbus_price_table_t *out);
store_status_t sqlite_price_table_update(store_t *base_, nimbus_price_table_t *t,
                                         const store_audit_t *audit);
store_status_t sqlite_price_table_delete(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id,
                                         const store_audit_t *audit);
store_status_t sqlite_price_table_list(store_t *base_, nimbus_id_t tenant_id,
                                       store_price_table_cb cb, void *ctx);
store_status_t sqlite_queue_set_pricing(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t queue_id,
                                        const nimbus_pricing_t *p, const store_audit_t *audit);
store_status_t sqlite_device_set_pricing(store_t *base_, nimbus_id_t tenant_id,
                                         nimbus_id_t device_id, const nimbus_pricing_t *p,
                                         const store_audit_t *audit);
store_status_t sqlite_job_quote_put(store_t *base_, const nimbus_job_quote_t *q);
store_status_t sqlite_job_quote_get(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                    nimbus_job_quote_t *out);
store_status_t sqlite_payment_insert(store_t *base_, nimbus_payment_t *p,
                                     const store_job_change_t *job_change,
                                     const store_audit_t *audit);
store_status_t sqlite_payment_get(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id,
                                  nimbus_payment_t *out);
store_status_t sqlite_payment_get_by_order(store_t *base_, const char *order_id,
                                           nimbus_payment_t *out);
store_status_t sqlite_payment_get_latest_for_job(store_t *base_, nimbus_id_t tenant_id,
                                                 nimbus_id_t job_id, nimbus_payment_t *out);
store_status_t sqlite_payment_update(store_t *base_, nimbus_payment_t *p,
                                     nimbus_payment_state_t expected,
                                     const store_job_change_t *job_change,
                                     const store_ledger_posting_t *posting,
                                     const store_audit_t *audit);
store_status_t sqlite_payment_list_open(store_t *base_, const store_payment_open_filter_t *f,
                                        store_payment_cb cb, void *ctx);
store_status_t sqlite_payment_list(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                   int limit, int offset, store_payment_cb cb, void *ctx);
store_status_t sqlite_ledger_post(store_t *base_, const store_ledger_posting_t *posting,
                                  nimbus_id_t *posting_id, const store_audit_t *audit);
store_status_t sqlite_ledger_list(store_t *base_, const store_ledger_filter_t *f,
                                  store_ledger_cb cb, void *ctx);
store_status_t sqlite_ledger_balances(store_t *base_, const store_ledger_filter_t *f,
                                      store_balance_cb cb, void *ctx);
store_status_t sqlite_posting_insert_locked(sqlite_store_t *st,
                                            const store_ledger_posting_t *posting,
                                            nimbus_id_t payment_id, int64_t now,
                                            nimbus_id_t *posting_id);

/* store-sqlite-billing.c and store-sqlite-charges.c: the SQL of the
 * statements S_BILLING_FIRST.. and S_CHARGES_FIRST.. (sqlite_money_sql()
 * hands them on), the helpers the two share, and billing by purpose
 * (store.h). */
const char *sqlite_billing_sql(stmt_id_t id);
const char *sqlite_charges_sql(stmt_id_t id);
/* store-sqlite-remote.c: the SQL of S_REMOTE_FIRST.. */
const char *sqlite_remote_sql(stmt_id_t id);
store_status_t sqlite_remote_link_insert(store_t *base_, nimbus_remote_link_t *l,
                                         const store_audit_t *audit);
store_status_t sqlite_remote_link_get(store_t *base_, nimbus_id_t tenant_id, const char *name,
                                      nimbus_remote_link_t *out);
store_status_t sqlite_remote_link_list(store_t *base_, nimbus_id_t tenant_id,
                                       nimbus_remote_link_t *out, int max, int *count);
store_status_t sqlite_remote_link_update(store_t *base_, nimbus_remote_link_t *l,
                                         const store_audit_t *audit);
store_status_t sqlite_remote_link_set_state(store_t *base_, const nimbus_remote_link_t *l);
store_status_t sqlite_remote_link_delete(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id,
                                         const store_audit_t *audit);
store_status_t sqlite_remote_jobs_replace(store_t *base_, nimbus_id_t tenant_id,
                                          nimbus_id_t link_id, const nimbus_remote_job_t *jobs,
                                          int n, int64_t now, int64_t mark);
store_status_t sqlite_remote_job_list(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t link_id,
                                      nimbus_remote_job_t *out, int max, int *count);
store_status_t sqlite_remote_job_query(store_t *base_, const store_remote_query_t *q,
                                       nimbus_remote_job_t *out, int max, int *count);
store_status_t sqlite_remote_job_change(store_t *base_, nimbus_id_t tenant_id,
                                        store_remote_change_t what, const nimbus_remote_job_t *j);
/* store-sqlite-links.c: the SQL of S_LINK_FIRST.. and account links. */
const char *sqlite_link_sql(stmt_id_t id);
store_status_t sqlite_account_link_insert(store_t *base_, nimbus_account_link_t *l,
                                          const store_audit_t *audit);
store_status_t sqlite_account_link_get(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id,
                                       nimbus_account_link_t *out);
store_status_t sqlite_account_link_list(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                        store_account_link_cb cb, void *ctx);
store_status_t sqlite_account_link_due(store_t *base_, int64_t now, int limit,
                                       store_account_link_cb cb, void *ctx);
store_status_t sqlite_account_link_update(store_t *base_, nimbus_account_link_t *l,
                                          const store_audit_t *audit);
store_status_t sqlite_account_link_delete(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id,
                                          const store_audit_t *audit);
typedef void (*sqlite_read_fn)(sqlite3_stmt *s, void *out);
typedef void (*sqlite_bind_fn)(sqlite3_stmt *s, const void *arg);
/* One row of statement id, bound with ints[0..nints) as ?1.. and text
 * (when not NULL) after them, read into out by `read`, on a read
 * connection. */
store_status_t sqlite_read_one_row(sqlite_store_t *st, stmt_id_t id, const int64_t *ints, int nints,
                                   const char *text, sqlite_read_fn read, void *out,
                                   const char *what);
/* The rows of statement id bound by bind(s, arg), each to each(s, cb, ctx). */
store_status_t sqlite_read_rows(sqlite_store_t *st, stmt_id_t id, sqlite_bind_fn bind,
                                const void *arg, row_fn each, list_cb_t cb, void *ctx,
                                const char *what);
/* A one-statement write (bound by bind(s, arg)) that must touch a row,
 * with its audit row in the same transaction (NOT_FOUND: none touched). */
store_status_t sqlite_write_changes(sqlite_store_t *st, stmt_id_t id, sqlite_bind_fn bind,
                                    const void *arg, const store_audit_t *audit, int64_t audit_id,
                                    const char *what);
/* A job_quotes row's 9 columns from column `at` on (store-sqlite-money.c). */
void sqlite_quote_from_row(sqlite3_stmt *s, int at, nimbus_job_quote_t *q);
/* Step a bound write on an account row once: OK (*row: a row is current,
 * the caller reads and resets it), NOT_FOUND (touched none), CONFLICT (a
 * CHECK refused it: the account's invariant), or as sqlite_fail_locked. */
store_status_t sqlite_billing_step_locked(sqlite_store_t *st, sqlite3_stmt *s, const char *what,
                                          bool *row);
/* After a compare that failed: CONFLICT when statement id (?1 row id,
 * ?2 tenant) finds the row, else NOT_FOUND. */
store_status_t sqlite_billing_missing_or_conflict_locked(sqlite_store_t *st, stmt_id_t id,
                                                         nimbus_id_t row_id, nimbus_id_t tenant_id,
                                                         const char *what);
/* Commit when status is OK, else roll back; the final status. */
store_status_t sqlite_billing_tx_end_locked(sqlite_store_t *st, store_status_t status);
store_status_t sqlite_account_insert(store_t *base_, nimbus_billing_account_t *a,
                                     const store_audit_t *audit);
store_status_t sqlite_account_get(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id,
                                  nimbus_billing_account_t *out);
store_status_t sqlite_account_get_by_code(store_t *base_, nimbus_id_t tenant_id, const char *code,
                                          nimbus_billing_account_t *out);
store_status_t sqlite_account_update(store_t *base_, nimbus_billing_account_t *a,
                                     const store_audit_t *audit);
store_status_t sqlite_account_list(store_t *base_, nimbus_id_t tenant_id, bool include_closed,
                                   store_account_cb cb, void *ctx);
store_status_t sqlite_account_topup(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id,
                                    int64_t amount, const store_ledger_posting_t *posting,
                                    const store_audit_t *audit, nimbus_billing_account_t *out);
store_status_t sqlite_account_grant_add(store_t *base_, nimbus_id_t tenant_id,
                                        const nimbus_account_grant_t *g,
                                        const store_audit_t *audit);
store_status_t sqlite_account_grant_delete(store_t *base_, nimbus_id_t tenant_id,
                                           const nimbus_account_grant_t *g,
                                           const store_audit_t *audit);
store_status_t sqlite_account_grant_list(store_t *base_, nimbus_id_t tenant_id,
                                         nimbus_id_t account_id, nimbus_grant_kind_t kind,
                                         store_grant_cb cb, void *ctx);
store_status_t sqlite_account_granted(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t account_id,
                                      nimbus_grant_kind_t kind, nimbus_id_t ref_id, bool *out);
store_status_t sqlite_purpose_insert(store_t *base_, nimbus_purpose_t *p,
                                     const store_audit_t *audit);
store_status_t sqlite_purpose_get(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id,
                                  nimbus_purpose_t *out);
store_status_t sqlite_purpose_get_by_name(store_t *base_, nimbus_id_t tenant_id,
                                          nimbus_id_t user_id, const char *name,
                                          nimbus_purpose_t *out);
store_status_t sqlite_purpose_get_default(store_t *base_, nimbus_id_t tenant_id,
                                          nimbus_id_t user_id, nimbus_purpose_t *out);
store_status_t sqlite_purpose_update(store_t *base_, nimbus_purpose_t *p,
                                     const store_audit_t *audit);
store_status_t sqlite_purpose_delete(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id,
                                     const store_audit_t *audit);
store_status_t sqlite_purpose_list(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                   store_purpose_cb cb, void *ctx);
store_status_t sqlite_payment_method_put(store_t *base_, nimbus_payment_method_t *m,
                                         const store_audit_t *audit);
store_status_t sqlite_payment_method_get(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                         nimbus_payment_method_t *out);
store_status_t sqlite_payment_method_get_by_setup(store_t *base_, const char *setup_id,
                                                  nimbus_payment_method_t *out);
store_status_t sqlite_payment_method_update(store_t *base_, nimbus_payment_method_t *m,
                                            nimbus_method_state_t expected,
                                            const store_audit_t *audit);
store_status_t sqlite_payment_method_delete(store_t *base_, nimbus_id_t tenant_id,
                                            nimbus_id_t user_id, const store_audit_t *audit);
store_status_t sqlite_charge_hold(store_t *base_, nimbus_job_charge_t *c,
                                  const store_job_change_t *release, const store_audit_t *audit,
                                  store_charge_refusal_t *why);
store_status_t sqlite_charge_get(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                 nimbus_job_charge_t *out);
store_status_t sqlite_charge_update(store_t *base_, nimbus_job_charge_t *c,
                                    nimbus_charge_state_t expected,
                                    const store_account_delta_t *delta,
                                    const store_ledger_posting_t *posting,
                                    const store_audit_t *audit, store_charge_refusal_t *why);
store_status_t sqlite_charge_list_due(store_t *base_, int64_t now, int64_t stale_before,
                                      nimbus_id_t after_job_id, int max, store_charge_cb cb,
                                      void *ctx);
store_status_t sqlite_job_set_account(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                      const char *account_id, const store_audit_t *audit);
store_status_t sqlite_print_log(store_t *base_, const store_print_log_filter_t *f,
                                store_print_log_cb cb, void *ctx);

/* store-sqlite-subscriptions.c */
store_status_t sqlite_subscription_insert(store_t *base_, nimbus_subscription_t *sub);
store_status_t sqlite_subscription_get(store_t *base_, int id, int64_t now,
                                       nimbus_subscription_t *out);
store_status_t sqlite_subscription_list(store_t *base_, nimbus_id_t device_id, int64_t now,
                                        nimbus_subscription_t *out, int max, int *count);
store_status_t sqlite_subscription_renew(store_t *base_, int id, nimbus_id_t device_id,
                                         int lease_seconds, int64_t expires_at);
store_status_t sqlite_subscription_delete(store_t *base_, int id, nimbus_id_t device_id);
store_status_t sqlite_subscription_sweep(store_t *base_, int64_t now, int *removed);

/* store-sqlite-feed.c */
store_status_t sqlite_feed_open(store_t *base_, store_feed_t **out);
store_status_t sqlite_feed_next(store_feed_t *base_, int timeout_ms, store_feed_event_t *out,
                                size_t max, size_t *n);
void sqlite_feed_close(store_feed_t *base_);

/* store-sqlite-contracts.c: the SQL of S_CONTRACT_FIRST.., contracts,
 * webhook events, dealers, packages (store.h "contracts"). */
const char *sqlite_contract_sql(stmt_id_t id);
store_status_t sqlite_contract_insert(store_t *base_, nimbus_contract_t *c,
                                      const store_audit_t *audit);
store_status_t sqlite_contract_update(store_t *base_, nimbus_contract_t *c,
                                      const store_audit_t *audit);
store_status_t sqlite_contract_get(store_t *base_, nimbus_id_t id, nimbus_contract_t *out);
store_status_t sqlite_contract_get_by_name(store_t *base_, nimbus_id_t tenant_id, const char *name,
                                           nimbus_contract_t *out);
store_status_t sqlite_contract_get_by_external(store_t *base_, nimbus_id_t owner_tenant_id,
                                               const char *external_id, nimbus_contract_t *out);
store_status_t sqlite_contract_list(store_t *base_, const store_contract_filter_t *f,
                                    store_contract_cb cb, void *ctx);
store_status_t sqlite_contract_cancel(store_t *base_, nimbus_id_t id, int64_t now,
                                      const store_audit_t *audit);
store_status_t sqlite_contract_due_each(store_t *base_, int64_t now, store_contract_cb cb,
                                        void *ctx);
store_status_t sqlite_contract_event_apply(store_t *base_, const store_contract_event_t *ev,
                                           store_contract_event_op_t op, nimbus_contract_t *c,
                                           const store_audit_t *audit, bool *duplicate,
                                           nimbus_id_t *contract_id);
store_status_t sqlite_dealer_set(store_t *base_, nimbus_id_t customer_tenant_id,
                                 nimbus_id_t dealer_tenant_id, const store_audit_t *audit);
store_status_t sqlite_dealer_get(store_t *base_, nimbus_id_t customer_tenant_id,
                                 nimbus_id_t *dealer_tenant_id);
store_status_t sqlite_dealer_delete(store_t *base_, nimbus_id_t customer_tenant_id,
                                    const store_audit_t *audit);
store_status_t sqlite_dealer_list(store_t *base_, nimbus_id_t dealer_tenant_id, store_dealer_cb cb,
                                  void *ctx);
store_status_t sqlite_package_insert(store_t *base_, nimbus_package_t *p,
                                     const store_audit_t *audit);
store_status_t sqlite_package_get(store_t *base_, nimbus_id_t id, nimbus_package_t *out);
store_status_t sqlite_package_list(store_t *base_, nimbus_id_t owner_tenant_id, store_package_cb cb,
                                   void *ctx);
store_status_t sqlite_package_in_use(store_t *base_, nimbus_id_t id, int64_t now, bool *used);
store_status_t sqlite_package_delete(store_t *base_, nimbus_id_t owner_tenant_id, nimbus_id_t id,
                                     int64_t now, const store_audit_t *audit);

/* store-sqlite-services.c: the SQL of S_SERVICE_FIRST.. and the smart services (store.h
 * "smart services"). */
const char *sqlite_service_sql(stmt_id_t id);
store_status_t sqlite_printer_service_put(store_t *base_, const nimbus_printer_service_t *s);
store_status_t sqlite_printer_service_get(store_t *base_, nimbus_id_t device_id,
                                          const char *service, nimbus_printer_service_t *out);
store_status_t sqlite_printer_service_list(store_t *base_, nimbus_id_t device_id,
                                           store_printer_service_cb cb, void *ctx);
store_status_t sqlite_printer_service_disable_contract(store_t *base_, nimbus_id_t tenant_id,
                                                       nimbus_id_t contract_id);
store_status_t sqlite_backup_insert(store_t *base_, nimbus_backup_t *b);
store_status_t sqlite_backup_get(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id,
                                 nimbus_backup_t *out);
store_status_t sqlite_backup_list(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t device_id,
                                  store_backup_cb cb, void *ctx);
store_status_t sqlite_backup_prune(store_t *base_, nimbus_id_t device_id, int keep_full,
                                   int *deleted);
store_status_t sqlite_supply_report(store_t *base_, const store_supply_report_t *r,
                                    nimbus_supply_order_t *order);
store_status_t sqlite_supply_order_list(store_t *base_, const store_delivery_filter_t *f,
                                        store_supply_order_cb cb, void *ctx);
store_status_t sqlite_part_alert_list(store_t *base_, const store_delivery_filter_t *f,
                                      store_part_alert_cb cb, void *ctx);
store_status_t sqlite_part_counter_get(store_t *base_, nimbus_id_t device_id, const char *part,
                                       nimbus_part_counter_t *out);
store_status_t sqlite_part_replaced(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t device_id,
                                    const char *part, int64_t impressions);
store_status_t sqlite_part_alert_insert(store_t *base_, nimbus_part_alert_t *a);
store_status_t sqlite_delivery_mark(store_t *base_, store_delivery_kind_t kind, nimbus_id_t id,
                                    nimbus_delivery_state_t state, int attempts, int64_t next_at);
/* The put inside the caller's transaction (write lock held), for a
 * cloud step that writes the configuration and its step together. */
store_status_t sqlite_printer_service_put_locked(sqlite_store_t *st,
                                                 const nimbus_printer_service_t *s);

/* store-sqlite-provisioning.c: the SQL of S_PROV_FIRST.. and provisioning. */
const char *sqlite_prov_sql(stmt_id_t id);
store_status_t sqlite_prov_run_create(store_t *base_, nimbus_prov_run_t *run,
                                      const nimbus_id_t *devices, int ndevices,
                                      nimbus_prov_step_t *steps, int nsteps, bool *created);
store_status_t sqlite_prov_run_get(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id,
                                   nimbus_prov_run_t *out);
store_status_t sqlite_prov_run_list(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t contract_id,
                                    nimbus_id_t device_id, store_prov_run_cb cb, void *ctx);
store_status_t sqlite_prov_run_finish(store_t *base_, nimbus_id_t run_id, nimbus_run_state_t state,
                                      const char *note, int64_t now);
store_status_t sqlite_prov_run_widen(store_t *base_, nimbus_id_t run_id, nimbus_id_t tenant_id,
                                     nimbus_id_t device_id, nimbus_prov_step_t *steps, int nsteps,
                                     int64_t now, bool *added);
store_status_t sqlite_prov_run_uncovered(store_t *base_, nimbus_id_t run_id, nimbus_id_t tenant_id,
                                         store_id_each_cb cb, void *ctx);
store_status_t sqlite_prov_step_list(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t run_id,
                                     store_prov_step_cb cb, void *ctx);
store_status_t sqlite_prov_step_get(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id,
                                    nimbus_prov_step_t *out);
store_status_t sqlite_prov_step_transition(store_t *base_, const nimbus_prov_step_t *s,
                                           nimbus_step_state_t from_state, int from_attempts,
                                           const char *detail, int64_t now);
store_status_t sqlite_prov_step_heads(store_t *base_, nimbus_id_t device_id, int64_t now, int limit,
                                      store_prov_step_cb cb, void *ctx);
store_status_t sqlite_prov_step_timed_out(store_t *base_, int64_t sent_before, int limit,
                                          store_prov_step_cb cb, void *ctx);
store_status_t sqlite_prov_device_has_package(store_t *base_, nimbus_id_t device_id,
                                              nimbus_id_t package_id, bool *out);
store_status_t sqlite_inventory_put(store_t *base_, const nimbus_device_inventory_t *inv);
store_status_t sqlite_inventory_get(store_t *base_, nimbus_id_t device_id,
                                    nimbus_device_inventory_t *out);

#endif
