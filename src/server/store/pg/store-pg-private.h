/*
 * store-pg-private.h: what the files of the PostgreSQL backend share
 * (store-pg.c: open, close, statements and helpers; store-pg-accounts.c:
 * tenants, users, aliases, tokens, queues, panel sessions, the sign-in
 * throttle; store-pg-devices.c: output devices; store-pg-jobs.c: jobs and
 * documents; store-pg-money.c: money; store-pg-billing.c and
 * store-pg-billing-charges.c: billing by purpose; pg-migrations.c: the schema;
 * pg-pool.c: connections).
 * Nothing here is seen outside store/pg/.
 *
 * The shape of every operation:
 *   pg_conn_t *c = pg_acquire(st, "what");     NULL: STORE_ERROR (logged)
 *   pg_params_t p = {0}; pg_param_int(&p, ...); ...
 *   PGresult *r; status = pg_exec(c, PS_..., &p, &r, "what");
 *   ... read r (pg_get_*) ...; PQclear(r);
 *   pg_release(st, c);
 * or, for several statements in one transaction, a function of the
 * connection run by pg_transaction().
 * Statements are prepared once per connection, on first use (pg_exec).
 * List operations read every row first, give the connection back, and
 * only then call the callback (pg_each_row), with this thread marked so
 * that a callback calling the store gets STORE_ERROR, as store.h promises.
 */
#ifndef NIMBUS_STORE_PG_PRIVATE_H
#define NIMBUS_STORE_PG_PRIVATE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "group-commit.h"
#include "log.h"
#include "pg-pool.h"
#include "store-ops.h"

/* Connections per nimbusd (each a server process on the database side). */
#define PG_POOL_SIZE 8
/* Longest wait for a free connection before a call fails. */
#define PG_CHECKOUT_TIMEOUT_MS 10000

/* Prepared statements, named "s<id>" on each connection (SQL in store-pg.c). */
typedef enum {
  PS_SCHEMA_VERSION,
  PS_AUDIT_INSERT,
  PS_AUDIT_LIST,
  PS_JOB_COUNT_BY_STATE,
  PS_TENANT_INSERT,
  PS_TENANT_GET,
  PS_TENANT_GET_BY_NAME,
  PS_TENANT_UPDATE,
  PS_TENANT_DELETE,
  PS_TENANT_LIST,
  PS_USER_INSERT,
  PS_USER_GET,
  PS_USER_GET_BY_NAME,
  PS_USER_UPDATE,
  PS_USER_DELETE,
  PS_USER_LIST,
  PS_USER_GET_BY_ALIAS,
  PS_USER_NAME_FOLDS,
  PS_ALIAS_INSERT,
  PS_ALIAS_DELETE,
  PS_ALIAS_LIST,
  PS_TOKEN_INSERT,
  PS_TOKEN_LOOKUP,
  PS_TOKEN_LIST,
  PS_TOKEN_REVOKE,
  PS_QUEUE_INSERT,
  PS_QUEUE_GET_BY_NAME,
  PS_QUEUE_UPDATE,
  PS_QUEUE_LOCK,
  PS_QUEUE_HAS_LIVE_JOBS,
  PS_QUEUE_DELETE,
  PS_QUEUE_LIST,
  PS_PANEL_SESSION_INSERT,
  PS_PANEL_SESSION_GET,
  PS_PANEL_SESSION_TOUCH,
  PS_PANEL_SESSION_DELETE,
  PS_PANEL_SESSION_EXPIRE,
  PS_WEB_SESSION_INSERT,
  PS_WEB_SESSION_GET,
  PS_WEB_SESSION_TOUCH,
  PS_WEB_SESSION_DELETE,
  PS_WEB_SESSION_DELETE_USER,
  PS_WEB_SESSION_DELETE_TENANT,
  PS_WEB_SESSION_SWEEP,
  /* OAuth device grants (store-pg-oauth.c) */
  PS_DGRANT_PRUNE,
  PS_DGRANT_INSERT,
  PS_DGRANT_GET_BY_DEVICE,
  PS_DGRANT_GET_BY_USER,
  PS_DGRANT_UPDATE,
  PS_THROTTLE_GET,
  PS_THROTTLE_FAIL,
  PS_THROTTLE_CLEAR,
  PS_LEASE_TAKE,
  PS_THROTTLE_EXPIRE,
  PS_DEVICE_INSERT,
  PS_DEVICE_QUEUE_INSERT,
  PS_DEVICE_QUEUES,
  PS_DEVICE_GET,
  PS_DEVICE_GET_BY_NAME,
  PS_DEVICE_GET_BY_CREDENTIAL,
  PS_DEVICE_GET_BY_UUID,
  PS_DEVICE_GET_BY_CLAIM,
  PS_DEVICE_LIST,
  PS_DEVICE_SET_CLAIM,
  PS_DEVICE_SET_LOCATION,
  PS_DEVICE_UUID_OWNER,
  PS_DEVICE_CLAIM,
  PS_DEVICE_SET_REPORTED,
  PS_DEVICE_GET_ATTRS,
  PS_QUEUE_DEVICE_ATTRS,
  PS_DEVICE_TOUCH,
  PS_DEVICE_TOMBSTONE_INSERT,
  PS_DEVICE_TOMBSTONE_GET,
  PS_DEVICE_LOCK,
  PS_DEVICE_JOBS_LEFT,
  PS_DEVICE_DELETE,
  PS_USER_EXISTS,
  PS_DEVICE_EXISTS,
  PS_QUEUE_EXISTS,
  PS_JOB_NUMBER_TAKE,
  PS_JOB_INSERT,
  PS_DOC_INSERT,
  PS_DOC_DATA_INSERT,
  PS_EVENT_INSERT,
  PS_DOC_DATA_READ,
  PS_JOB_GET,
  PS_JOB_GET_BY_NUMBER,
  PS_JOB_LIST_ASC,
  PS_JOB_LIST_DESC,
  PS_JOB_COUNT,
  PS_JOB_COUNT_PENDING,
  PS_JOB_COUNT_PENDING_ORIGIN,
  PS_DEVICES_KEEP,
  PS_QUEUES_KEEP,
  PS_JOBS_LOCK,
  PS_STATE_COUNTS_LOCK,
  PS_JOB_APPLY,
  PS_JOB_SET_PROGRESS,
  PS_JOB_SET_SETTINGS,
  PS_JOB_LEASE_EXPIRED,
  PS_JOB_COUNTERS,
  PS_JOB_COUNTERS_LOCK,
  PS_JOB_UPDATE_COUNTERS,
  PS_DOC_LIST,
  PS_BLOB_REFERENCED,
  PS_JOB_PIN_STATE,
  PS_JOB_PIN_CAS,
  PS_DOC_PURGE_KEYS,
  PS_DOC_PURGE,
  PS_DOC_DATA_PURGE,
  PS_JOB_SWEEP,
  PS_JOB_SWEEP_UNPURGED,
  PS_FEED_ROWS,
  PS_SUB_INSERT,
  PS_SUB_GET,
  PS_SUB_LIST,
  PS_SUB_RENEW,
  PS_SUB_DELETE,
  PS_SUB_SWEEP,
  /* money (store-pg-money.c, whose table holds their SQL) */
  PS_MONEY_FIRST,
  PS_BILLING_GET = PS_MONEY_FIRST,
  PS_BILLING_PUT,
  PS_PROVIDER_GET,
  PS_PROVIDER_PUT,
  PS_PROVIDER_DELETE,
  PS_PRICE_INSERT,
  PS_PRICE_GET,
  PS_PRICE_GET_BY_NAME,
  PS_PRICE_UPDATE,
  PS_PRICE_DELETE,
  PS_PRICE_LIST,
  PS_QUEUE_SET_PRICING,
  PS_DEVICE_SET_PRICING,
  PS_QUOTE_PUT,
  PS_QUOTE_GET,
  PS_PAYMENT_INSERT,
  PS_PAYMENT_GET,
  PS_PAYMENT_GET_BY_ORDER,
  PS_PAYMENT_LATEST,
  PS_PAYMENT_UPDATE,
  PS_PAYMENT_EXISTS,
  PS_PAYMENT_LIST_OPEN,
  PS_PAYMENT_LIST,
  PS_POSTING_INSERT,
  PS_ENTRY_INSERT,
  PS_LEDGER_LIST,
  PS_LEDGER_BALANCES,
  /* billing by purpose (store-pg-billing*.c, whose tables hold their SQL) */
  PS_BILLING_FIRST,
  PS_ACCOUNT_INSERT = PS_BILLING_FIRST,
  PS_ACCOUNT_GET,
  PS_ACCOUNT_GET_BY_CODE,
  PS_ACCOUNT_UPDATE,
  PS_ACCOUNT_CLOSED_AT,
  PS_ACCOUNT_LIST,
  PS_ACCOUNT_TOPUP,
  PS_ACCOUNT_MOVE,
  PS_GRANT_INSERT,
  PS_GRANT_DELETE,
  PS_GRANT_LIST,
  PS_GRANT_EXISTS,
  PS_PURPOSE_LOCK_USER,
  PS_PURPOSE_LOCK,
  PS_PURPOSE_CLEAR_DEFAULT,
  PS_PURPOSE_INSERT,
  PS_PURPOSE_GET,
  PS_PURPOSE_GET_BY_NAME,
  PS_PURPOSE_GET_DEFAULT,
  PS_PURPOSE_UPDATE,
  PS_PURPOSE_DELETE,
  PS_PURPOSE_LIST,
  PS_METHOD_PUT,
  PS_METHOD_GET,
  PS_METHOD_GET_BY_SETUP,
  PS_METHOD_UPDATE,
  PS_METHOD_EXISTS,
  PS_METHOD_DELETE,
  PS_CHARGE_PLACE,
  PS_CHARGE_GET,
  PS_CHARGE_UPDATE,
  PS_CHARGE_EXISTS,
  PS_CHARGE_LIST_DUE,
  PS_JOB_IN_TENANT,
  PS_JOB_SET_ACCOUNT,
  PS_PRINT_LOG,
  /* remote printer links (store-pg-remote.c) */
  PS_REMOTE_FIRST,
  PS_REMOTE_LINK_INSERT = PS_REMOTE_FIRST,
  PS_REMOTE_LINK_GET,
  PS_REMOTE_LINK_LIST,
  PS_REMOTE_LINK_UPDATE,
  PS_REMOTE_LINK_SET_STATE,
  PS_REMOTE_LINK_DELETE,
  PS_REMOTE_JOB_UPSERT,
  PS_REMOTE_JOB_PRUNE,
  PS_REMOTE_JOB_LIST,
  PS_REMOTE_JOB_Q_USER,
  PS_REMOTE_JOB_Q_ONE,
  PS_REMOTE_JOB_Q_LOCAL,
  PS_REMOTE_JOB_Q_REPORT,
  PS_REMOTE_JOB_TAKE,
  PS_REMOTE_JOB_DROP,
  PS_REMOTE_JOB_REPORTED,
  /* account links (store-pg-links.c) */
  PS_LINK_FIRST,
  PS_LINK_INSERT = PS_LINK_FIRST,
  PS_LINK_GET,
  PS_LINK_LIST,
  PS_LINK_DUE,
  PS_LINK_UPDATE,
  PS_LINK_EXISTS,
  PS_LINK_DELETE,
  /* contracts: contracts, webhook events, dealers, packages (store-pg-contracts.c) */
  PS_CONTRACT_FIRST,
  PS_CONTRACT_INSERT = PS_CONTRACT_FIRST,
  PS_CONTRACT_UPDATE,
  PS_CONTRACT_EXISTS,
  PS_CONTRACT_GET,
  PS_CONTRACT_GET_BY_NAME,
  PS_CONTRACT_GET_BY_EXTERNAL,
  PS_CONTRACT_LIST,
  PS_CONTRACT_CANCEL,
  PS_CONTRACT_DUE,
  PS_CONTRACT_PKG_CLEAR,
  PS_CONTRACT_PKG_INSERT,
  PS_CEVENT_INSERT,
  PS_CEVENT_GET,
  PS_CEVENT_SET,
  PS_CEVENT_PRUNE,
  PS_DEALER_SET,
  PS_DEALER_GET,
  PS_DEALER_DELETE,
  PS_DEALER_LIST,
  PS_PACKAGE_INSERT,
  PS_PACKAGE_GET,
  PS_PACKAGE_LIST,
  PS_PACKAGE_IN_USE,
  PS_PACKAGE_DELETE,
  PS_PACKAGE_EXISTS,

  /* smart services (store-pg-services.c) */
  PS_SERVICE_FIRST,
  PS_SVC_PUT = PS_SERVICE_FIRST,
  PS_SVC_GET,
  PS_SVC_LIST,
  PS_SVC_DISABLE,
  PS_BACKUP_INSERT,
  PS_BACKUP_GET,
  PS_BACKUP_LIST,
  PS_BACKUP_PRUNE,
  PS_LEVEL_GET,
  PS_LEVEL_PUT,
  PS_ORDER_INSERT,
  PS_ORDER_LIST,
  PS_ORDER_MARK,
  PS_COUNTER_GET,
  PS_COUNTER_REPLACED,
  PS_ALERT_INSERT,
  PS_ALERT_LIST,
  PS_ALERT_MARK,

  /* provisioning (store-pg-provisioning.c) */
  PS_PROV_FIRST,
  PS_PROV_RUN_INSERT = PS_PROV_FIRST,
  PS_PROV_RUN_GET_BY_EVENT,
  PS_PROV_RUN_GET,
  PS_PROV_RUN_LIST,
  PS_PROV_RUN_FINISH,
  PS_PROV_RUN_REOPEN,
  PS_PROV_COVER_INSERT,
  PS_PROV_UNCOVERED,
  PS_PROV_STEP_INSERT,
  PS_PROV_STEP_LIST,
  PS_PROV_STEP_GET,
  PS_PROV_STEP_UPDATE,
  PS_PROV_STEP_EXISTS,
  PS_PROV_EVENT_INSERT,
  PS_PROV_STEP_HEADS,
  PS_PROV_STEP_TIMED_OUT,
  PS_PROV_HAS_PACKAGE,
  PS_PROV_INV_PUT,
  PS_PROV_INV_GET,
  PS_COUNT
} pg_stmt_id_t;

typedef struct pg_store {
  store_t base; /* first: the operations table (store-ops.h) */
  pg_pool_t *pool;
  int opened_version; /* the schema version after the migrations at open */

  /* Group commit of job inserts (group-commit.h, running
   * pg_job_insert_batch): callers queue a request and sleep; the committer
   * thread runs up to group_commit_max of them in one transaction on a
   * pool connection it checks out per batch, and wakes them once COMMIT
   * has returned.  NULL when group_commit_max <= 1: each insert is then
   * its own transaction. */
  group_commit_t *gc;
} pg_store_t;

/* Subscriptions (store-pg-subscriptions.c). */
store_status_t pg_subscription_insert(store_t *base, nimbus_subscription_t *sub);
store_status_t pg_subscription_get(store_t *base, int id, int64_t now, nimbus_subscription_t *out);
store_status_t pg_subscription_list(store_t *base, nimbus_id_t device_id, int64_t now,
                                    nimbus_subscription_t *out, int max, int *count);
store_status_t pg_subscription_renew(store_t *base, int id, nimbus_id_t device_id,
                                     int lease_seconds, int64_t expires_at);
store_status_t pg_subscription_delete(store_t *base, int id, nimbus_id_t device_id);
store_status_t pg_subscription_sweep(store_t *base, int64_t now, int *removed);

/* The event feed (store-pg-feed.c); its rows come from PS_FEED_ROWS. */
store_status_t pg_feed_open(store_t *base, store_feed_t **out);
store_status_t pg_feed_next(store_feed_t *base, int timeout_ms, store_feed_event_t *out, size_t max,
                            size_t *n);
void pg_feed_close(store_feed_t *base);
/* The NOTIFY channel of job_events (pg-migrations.c, migration 3). */
#define PG_FEED_CHANNEL "nimbus_events"

static inline pg_store_t *pg_of(store_t *base) {
  return (pg_store_t *)base;
}

/* ---- parameters: integers and text as text, bytes as binary ---- */
#define PG_PARAMS_MAX 24 /* the job insert has 23 */
typedef struct {
  int n;
  bool overflow; /* a parameter beyond PG_PARAMS_MAX was dropped: pg_exec refuses */
  const char *values[PG_PARAMS_MAX];
  int lengths[PG_PARAMS_MAX];
  int formats[PG_PARAMS_MAX];
  char ints[PG_PARAMS_MAX][24];
} pg_params_t;

void pg_param_int(pg_params_t *p, int64_t v);
/* Text of at most max bytes of s (a fixed-size model.h field need not be
 * terminated), sent in binary format so no copy is needed; NULL is "". */
void pg_param_text(pg_params_t *p, const char *s, size_t max);
#define PG_PARAM_FIELD(p, field) pg_param_text((p), (field), sizeof(field))
/* Raw bytes (bytea). */
void pg_param_bytes(pg_params_t *p, const void *b, size_t len);
/* An id, or SQL NULL when it is 0. */
void pg_param_id_or_null(pg_params_t *p, int64_t id);

/* ---- connections, statements, results ---- */
/* A connection for one call; NULL (logged) when this thread is inside a
 * list callback of st, or no connection came within the timeout. */
pg_conn_t *pg_acquire(pg_store_t *st, const char *what);
void pg_release(pg_store_t *st, pg_conn_t *c);
/* Run statement id with p (may be NULL) on c, preparing it first if this
 * connection has not.  *res (may be NULL: cleared here) receives the
 * result on STORE_OK.  Errors are mapped and logged: unique violation
 * CONFLICT, foreign key violation NOT_FOUND (a parent row missing or of
 * another tenant), disk full FULL, anything else ERROR; a lost connection
 * is marked broken for the pool to replace. */
store_status_t pg_exec(pg_conn_t *c, pg_stmt_id_t id, const pg_params_t *p, PGresult **res,
                       const char *what);
/* pg_exec of an UPDATE/DELETE: NOT_FOUND when it touched no row. */
store_status_t pg_exec_changes(pg_conn_t *c, pg_stmt_id_t id, const pg_params_t *p,
                               const char *what);
/* pg_exec of a single-row SELECT: NOT_FOUND when there is no row; on
 * STORE_OK *res holds it (row 0).  (Not for INSERT … RETURNING, whose
 * NOT_FOUND must stay a foreign key's.) */
store_status_t pg_exec_row(pg_conn_t *c, pg_stmt_id_t id, const pg_params_t *p, PGresult **res,
                           const char *what);
/* Plain SQL without parameters (BEGIN, COMMIT, ROLLBACK, migrations). */
store_status_t pg_exec_sql(pg_conn_t *c, const char *sql, const char *what);
store_status_t pg_tx_begin(pg_conn_t *c);
store_status_t pg_tx_commit(pg_conn_t *c);
void pg_tx_rollback(pg_conn_t *c);
/* fn(c, arg) in one transaction on a connection of its own, run again
 * (up to 4 times, logged) when the database aborts it for a deadlock or a
 * serialization failure: fn must compute its results afresh each time. */
typedef store_status_t (*pg_tx_fn)(pg_conn_t *c, void *arg);
store_status_t pg_transaction(pg_store_t *st, pg_tx_fn fn, void *arg, const char *what);
/* The last failed statement on c aborted its transaction for a deadlock
 * or a serialization failure: the same transaction run again may succeed. */
bool pg_tx_retryable(const pg_conn_t *c);
/* True (logged) when this thread is inside a list callback of st, where
 * store calls are refused (pg_acquire checks it too). */
bool pg_refused_in_callback(const pg_store_t *st, const char *what);

/* Call each(res, row, cb, ctx) for every row of res until it returns
 * false, with the store marked so that a store call from the callback
 * fails; clears res.  The connection must already be released. */
typedef union {
  store_tenant_cb tenant;
  store_user_cb user;
  store_alias_cb alias;
  store_token_cb token;
  store_queue_cb queue;
  store_job_cb job;
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
} pg_list_cb_t;
typedef bool (*pg_row_fn)(const PGresult *res, int row, pg_list_cb_t cb, void *ctx);
void pg_each_row(pg_store_t *st, PGresult *res, pg_row_fn each, pg_list_cb_t cb, void *ctx);
/* Around callbacks run some other way: between the two, a store call on
 * this thread gets STORE_ERROR.  No connection may be checked out.  enter
 * returns the store of an enclosing callback (NULL: none) for leave to
 * restore. */
const pg_store_t *pg_callback_enter(pg_store_t *st);
void pg_callback_leave(const pg_store_t *outer);

/* Column readers (text results); NULL reads as 0 or "". */
int64_t pg_get_int64(const PGresult *res, int row, int col);
int pg_get_int(const PGresult *res, int row, int col);
bool pg_get_bool(const PGresult *res, int row, int col);
void pg_get_text(const PGresult *res, int row, int col, char *out, size_t cap);
#define PG_GET_FIELD(res, row, col, field) pg_get_text((res), (row), (col), (field), sizeof(field))
/* A bytea column of exactly len bytes into out (left as is otherwise). */
void pg_get_bytes(const PGresult *res, int row, int col, unsigned char *out, size_t len);
/* A bytea column of any length as a malloc'd copy (caller frees); NULL
 * reads as *out NULL, *len 0.  False when out of memory. */
bool pg_get_bytes_copy(const PGresult *res, int row, int col, void **out, size_t *len);

/* ---- open, migrations ---- */
store_t *pg_open(const char *url, const store_options_t *opts, char *err, size_t errlen);
void pg_version(char *buf, size_t len);
void pg_close(store_t *st);
int pg_schema_version(store_t *st);
int pg_schema_version_nowait(store_t *st);
/* Apply pending migrations on c under the schema advisory lock
 * (pg-migrations.c); false with err set. */
bool pg_migrate(pg_conn_t *c, char *err, size_t errlen);
extern const int pg_migration_count;

/* ---- the operations (store.h's meanings) ---- */
store_status_t pg_audit_append(store_t *st, nimbus_id_t tenant_id, const char *actor,
                               const char *action, const char *detail);
store_status_t pg_audit_list(store_t *st, const store_audit_filter_t *f, store_audit_cb cb,
                             void *ctx);
store_status_t pg_job_count_by_state(store_t *st, int64_t counts[10]);
store_status_t pg_tenant_insert(store_t *st, nimbus_tenant_t *t, const store_audit_t *audit);
store_status_t pg_tenant_get(store_t *st, nimbus_id_t id, nimbus_tenant_t *out);
store_status_t pg_tenant_get_by_name(store_t *st, const char *name, nimbus_tenant_t *out);
store_status_t pg_tenant_update(store_t *st, const nimbus_tenant_t *t, const store_audit_t *audit);
store_status_t pg_tenant_delete(store_t *st, nimbus_id_t id, const store_audit_t *audit);
store_status_t pg_tenant_list(store_t *st, store_tenant_cb cb, void *ctx);
store_status_t pg_user_insert(store_t *st, nimbus_user_t *u, const store_audit_t *audit);
store_status_t pg_user_get(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id, nimbus_user_t *out);
store_status_t pg_user_get_by_name(store_t *st, nimbus_id_t tenant_id, const char *name,
                                   nimbus_user_t *out);
store_status_t pg_user_update(store_t *st, const nimbus_user_t *u, const store_audit_t *audit);
store_status_t pg_user_delete(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                              const store_audit_t *audit);
store_status_t pg_user_list(store_t *st, nimbus_id_t tenant_id, store_user_cb cb, void *ctx);
store_status_t pg_user_get_by_alias(store_t *st, nimbus_id_t tenant_id, const char *key,
                                    nimbus_user_t *out);
store_status_t pg_user_name_folds_to(store_t *st, nimbus_id_t tenant_id, const char *key,
                                     nimbus_id_t except_id, nimbus_id_t *other_id);
store_status_t pg_alias_insert(store_t *st, nimbus_alias_t *a, const char *key,
                               const store_audit_t *audit);
store_status_t pg_alias_delete(store_t *st, nimbus_id_t tenant_id, nimbus_id_t user_id,
                               const char *key, const store_audit_t *audit);
store_status_t pg_alias_list(store_t *st, nimbus_id_t tenant_id, nimbus_id_t user_id,
                             store_alias_cb cb, void *ctx);
store_status_t pg_token_insert(store_t *st, nimbus_token_t *tk, const store_audit_t *audit);
store_status_t pg_token_lookup(store_t *st, const unsigned char hash[32], int64_t now,
                               nimbus_token_t *out);
store_status_t pg_token_list(store_t *st, nimbus_id_t tenant_id, nimbus_id_t user_id,
                             store_token_cb cb, void *ctx);
store_status_t pg_token_revoke(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                               nimbus_id_t user_id, const store_audit_t *audit);
store_status_t pg_queue_insert(store_t *st, nimbus_queue_t *q);
store_status_t pg_queue_get_by_name(store_t *st, nimbus_id_t tenant_id, const char *name,
                                    nimbus_queue_t *out);
store_status_t pg_queue_update(store_t *st, const nimbus_queue_t *q);
store_status_t pg_queue_delete(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id);
store_status_t pg_queue_list(store_t *st, nimbus_id_t tenant_id, store_queue_cb cb, void *ctx);
store_status_t pg_panel_session_insert(store_t *st, nimbus_panel_session_t *ps,
                                       const store_audit_t *audit);
store_status_t pg_panel_session_get(store_t *st, const unsigned char hash[32], int64_t now,
                                    nimbus_panel_session_t *out);
store_status_t pg_panel_session_touch(store_t *st, nimbus_id_t id, int64_t expires_at);
store_status_t pg_panel_session_delete(store_t *st, const unsigned char hash[32], int64_t now);
/* store-pg-sessions.c: web console sessions */
store_status_t pg_web_session_insert(store_t *st, nimbus_web_session_t *ws,
                                     const store_audit_t *audit);
store_status_t pg_web_session_get(store_t *st, const unsigned char hash[32], int64_t now,
                                  int64_t idle, nimbus_web_session_t *out);
store_status_t pg_web_session_touch(store_t *st, nimbus_id_t id, int64_t now);
store_status_t pg_web_session_delete(store_t *st, const unsigned char hash[32],
                                     const store_audit_t *audit);
store_status_t pg_web_session_delete_user(store_t *st, nimbus_id_t tenant_id, nimbus_id_t user_id);
store_status_t pg_web_session_delete_tenant(store_t *st, nimbus_id_t tenant_id);
store_status_t pg_web_session_sweep(store_t *st, int64_t now, int64_t idle, int *n);
/* OAuth device grants (store-pg-oauth.c) */
store_status_t pg_device_grant_insert(store_t *base, nimbus_device_grant_t *g, int max_pending);
store_status_t pg_device_grant_get(store_t *base, bool by_device, const unsigned char hash[32],
                                   nimbus_device_grant_t *out);
store_status_t pg_device_grant_update(store_t *base, const nimbus_device_grant_t *g,
                                      const char *expect_status, const store_audit_t *audit);
store_status_t pg_lease_take(store_t *st, const char *name, const char *holder, int64_t now,
                             int ttl, bool *held);
store_status_t pg_throttle_get(store_t *st, const unsigned char key[32], int64_t now, int *failures,
                               int64_t *window_start);
store_status_t pg_throttle_fail(store_t *st, const unsigned char key[32], const char *kind,
                                int64_t now, int64_t window, int *failures, int64_t *window_start);
store_status_t pg_throttle_clear(store_t *st, const unsigned char key[32]);
store_status_t pg_device_insert(store_t *st, nimbus_device_t *d, const store_audit_t *audit);
store_status_t pg_device_get(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                             nimbus_device_t *out);
store_status_t pg_device_get_by_name(store_t *st, nimbus_id_t tenant_id, const char *name,
                                     nimbus_device_t *out);
store_status_t pg_device_get_by_credential(store_t *st, const unsigned char hash[32],
                                           nimbus_device_t *out);
store_status_t pg_device_get_by_uuid(store_t *st, const char *uuid, nimbus_device_t *out);
store_status_t pg_device_set_location(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                      const char *location, const store_audit_t *audit);
store_status_t pg_device_set_claim(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                   const unsigned char claim_hash[32], int64_t expires_at,
                                   const store_audit_t *audit);
store_status_t pg_device_claim(store_t *st, const unsigned char claim_hash[32], int64_t now,
                               const char *uuid, const unsigned char credential_hash[32],
                               nimbus_device_t *out, const store_audit_t *audit);
store_status_t pg_device_set_reported(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                      int printer_state, const char *state_reasons,
                                      const char *make_model, const void *attrs, size_t attrs_len);
store_status_t pg_device_get_attrs(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id, void **attrs,
                                   size_t *len);
store_status_t pg_queue_device_attrs(store_t *st, nimbus_id_t tenant_id, nimbus_id_t queue_id,
                                     void **attrs, size_t *len);
store_status_t pg_device_touch(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id, int64_t seen_at,
                               const char *transport);
store_status_t pg_device_touch_many(store_t *st, const store_device_seen_t *v, int n);
store_status_t pg_device_list(store_t *st, nimbus_id_t tenant_id, nimbus_id_t queue_id,
                              store_device_cb cb, void *ctx);
store_status_t pg_device_delete(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                const store_job_change_t *changes, size_t n,
                                const nimbus_job_state_t *live, size_t nlive, nimbus_device_t *out,
                                const store_audit_t *audit);
store_status_t pg_device_tombstone_lookup(store_t *st, const unsigned char hash[32],
                                          nimbus_device_tombstone_t *out);
store_status_t pg_job_insert(store_t *st, nimbus_job_t *job, nimbus_document_t *docs, int ndocs);
/* The group committer's run callback (ctx: the pg_store_t): the queued
 * inserts of one batch in one transaction (store-pg-jobs.c). */
void pg_job_insert_batch(void *ctx, group_commit_item_t **items, int n);
store_status_t pg_job_insert_data(store_t *st, nimbus_job_t *job, nimbus_document_t *docs,
                                  const store_inline_t *data, int ndocs);
store_status_t pg_document_read_inline(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                       int number, int64_t off, void *buf, size_t len, size_t *got);
store_status_t pg_job_get(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                          nimbus_job_t *out);
store_status_t pg_job_get_by_number(store_t *st, nimbus_id_t tenant_id, nimbus_id_t number,
                                    nimbus_job_t *out);
store_status_t pg_job_list(store_t *st, const store_job_filter_t *f, store_job_cb cb, void *ctx,
                           int *total);
store_status_t pg_job_count_pending_for_owner(store_t *st, nimbus_id_t tenant_id,
                                              nimbus_id_t owner_id, int *count);
store_status_t pg_job_count_pending_for_origin(store_t *st, nimbus_id_t tenant_id,
                                               nimbus_id_t device_id, int *count);
store_status_t pg_job_apply(store_t *st, nimbus_id_t tenant_id, const store_job_change_t *changes,
                            size_t n);
/* The changes of store_job_apply() inside the caller's transaction on c,
 * their row locks first (store-pg-jobs.c); the caller rolls back on
 * failure.  Also for pg_device_delete(). */
/* Audited writes (store.h): a write that is one statement gets a
 * transaction of its own when there is an audit row (begin/end around it,
 * end returning the final status); a write that has a transaction writes
 * the row before its COMMIT (insert).  new_id: the id an audit's id_key
 * names.  a NULL: nothing (store-pg.c). */
store_status_t pg_audit_begin(pg_conn_t *c, const store_audit_t *a);
store_status_t pg_audit_end(pg_conn_t *c, const store_audit_t *a, store_status_t status,
                            int64_t new_id);
store_status_t pg_audit_insert(pg_conn_t *c, const store_audit_t *a, int64_t new_id);
/* The columns of a job row (pg_job_from_row) and the joins they need:
 * store-pg.c's job statements and the print log (store-pg-billing-charges.c). */
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
/* Row i of a result whose first columns are JOB_COLS (store-pg-jobs.c). */
void pg_job_from_row(const PGresult *r, int i, nimbus_job_t *j);
/* Insert a job_events row of c's origin (store-pg-jobs.c); from_state
 * and to_state 0 are stored as NULL. */
store_status_t pg_event_insert(pg_conn_t *c, nimbus_id_t tenant_id, nimbus_id_t job_id, int64_t now,
                               const char *event, int from_state, int to_state, const char *detail);
store_status_t pg_job_changes_on(pg_conn_t *c, nimbus_id_t tenant_id,
                                 const store_job_change_t *changes, size_t n, int64_t now);
store_status_t pg_job_set_progress(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                   nimbus_id_t device_id, int impressions_completed,
                                   const char *reasons);
store_status_t pg_job_list_lease_expired(store_t *st, int64_t cutoff, store_job_cb cb, void *ctx);
store_status_t pg_document_add(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                               nimbus_document_t *doc, bool last,
                               nimbus_job_state_t state_after_last);
store_status_t pg_document_list(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                nimbus_document_t *out, int max, int *count);
store_status_t pg_blob_is_referenced(store_t *st, const char *key, bool *referenced);
store_status_t pg_job_pin_get(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                              store_pin_counter_t *out);
store_status_t pg_job_pin_cas(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                              const store_pin_counter_t *expected, const store_pin_counter_t *next,
                              const store_audit_t *audit);
store_status_t pg_document_purge(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                 char (*keys)[NIMBUS_BLOB_KEY_MAX], int max, int *nkeys);
store_status_t pg_job_list_sweep(store_t *st, const store_sweep_filter_t *f, store_job_cb cb,
                                 void *ctx);

/* store-pg-money.c: the SQL of the statements PS_MONEY_FIRST.. (pg_exec
 * prepares them from here), and the money operations (store.h "money"). */
const char *pg_money_sql(pg_stmt_id_t id);
store_status_t pg_tenant_billing_get(store_t *st, nimbus_id_t tenant_id,
                                     nimbus_tenant_billing_t *out);
store_status_t pg_tenant_billing_put(store_t *st, nimbus_tenant_billing_t *b,
                                     const store_audit_t *audit);
store_status_t pg_payment_provider_get(store_t *st, nimbus_id_t tenant_id,
                                       nimbus_payment_provider_t *out);
store_status_t pg_payment_provider_put(store_t *st, nimbus_payment_provider_t *p,
                                       const store_audit_t *audit);
store_status_t pg_payment_provider_delete(store_t *st, nimbus_id_t tenant_id,
                                          const store_audit_t *audit);
store_status_t pg_price_table_insert(store_t *st, nimbus_price_table_t *t,
                                     const store_audit_t *audit);
store_status_t pg_price_table_get(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                  nimbus_price_table_t *out);
store_status_t pg_price_table_get_by_name(store_t *st, nimbus_id_t tenant_id, const char *name,
                                          nimbus_price_table_t *out);
store_status_t pg_price_table_update(store_t *st, nimbus_price_table_t *t,
                                     const store_audit_t *audit);
store_status_t pg_price_table_delete(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                     const store_audit_t *audit);
store_status_t pg_price_table_list(store_t *st, nimbus_id_t tenant_id, store_price_table_cb cb,
                                   void *ctx);
store_status_t pg_queue_set_pricing(store_t *st, nimbus_id_t tenant_id, nimbus_id_t queue_id,
                                    const nimbus_pricing_t *p, const store_audit_t *audit);
store_status_t pg_device_set_pricing(store_t *st, nimbus_id_t tenant_id, nimbus_id_t device_id,
                                     const nimbus_pricing_t *p, const store_audit_t *audit);
store_status_t pg_job_quote_put(store_t *st, const nimbus_job_quote_t *q);
store_status_t pg_job_quote_get(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                nimbus_job_quote_t *out);
store_status_t pg_payment_insert(store_t *st, nimbus_payment_t *p,
                                 const store_job_change_t *job_change, const store_audit_t *audit);
store_status_t pg_payment_get(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                              nimbus_payment_t *out);
store_status_t pg_payment_get_by_order(store_t *st, const char *order_id, nimbus_payment_t *out);
store_status_t pg_payment_get_latest_for_job(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                             nimbus_payment_t *out);
store_status_t pg_payment_update(store_t *st, nimbus_payment_t *p, nimbus_payment_state_t expected,
                                 const store_job_change_t *job_change,
                                 const store_ledger_posting_t *posting, const store_audit_t *audit);
store_status_t pg_payment_list_open(store_t *st, const store_payment_open_filter_t *f,
                                    store_payment_cb cb, void *ctx);
store_status_t pg_payment_list(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id, int limit,
                               int offset, store_payment_cb cb, void *ctx);
store_status_t pg_ledger_post(store_t *st, const store_ledger_posting_t *posting,
                              nimbus_id_t *posting_id, const store_audit_t *audit);
store_status_t pg_ledger_list(store_t *st, const store_ledger_filter_t *f, store_ledger_cb cb,
                              void *ctx);
store_status_t pg_ledger_balances(store_t *st, const store_ledger_filter_t *f, store_balance_cb cb,
                                  void *ctx);
/* Append posting (its payment_id 0: payment_id) inside the caller's
 * transaction on c; *posting_id receives its id (store-pg-money.c). */
store_status_t pg_posting_insert(pg_conn_t *c, const store_ledger_posting_t *posting,
                                 nimbus_id_t payment_id, int64_t now, nimbus_id_t *posting_id);

/* store-pg-billing.c and store-pg-billing-charges.c: billing by purpose
 * (store.h), the SQL of the statements PS_BILLING_FIRST.. in two tables
 * (accounts, grants, purposes, payment methods; charges, the print log). */
const char *pg_billing_sql(pg_stmt_id_t id);
/* Shapes shared by the two files: the one row of statement id into out
 * (read), or each row to each(r, i, cb, ctx) once the connection is back. */
typedef void (*pg_read_fn)(const PGresult *r, void *out);
/* A one-statement write with p, its audit row in the same transaction (no
 * retry needed: a single statement takes its row locks itself).
 * must_touch: NOT_FOUND when it changed no row.  returned (may be NULL):
 * the first column of its RETURNING row (none: NOT_FOUND), also the audit
 * row's id when audit_id is 0 (store-pg-money.c). */
/* A job_quotes row's 9 columns of row i from column col on (store-pg-money.c). */
void pg_quote_from_row(const PGresult *r, int i, int col, nimbus_job_quote_t *q);
store_status_t pg_write_one(pg_store_t *st, pg_stmt_id_t id, const pg_params_t *p, bool must_touch,
                            int64_t *returned, const store_audit_t *audit, int64_t audit_id,
                            const char *what);
store_status_t pg_read_one_row(pg_store_t *st, pg_stmt_id_t id, const pg_params_t *p,
                               pg_read_fn read, void *out, const char *what);
store_status_t pg_read_rows(pg_store_t *st, pg_stmt_id_t id, const pg_params_t *p, pg_row_fn each,
                            pg_list_cb_t cb, void *ctx, const char *what);
const char *pg_charges_sql(pg_stmt_id_t id);
/* store-pg-links.c: the SQL of PS_LINK_FIRST.. and account links. */
const char *pg_link_sql(pg_stmt_id_t id);
store_status_t pg_account_link_insert(store_t *base, nimbus_account_link_t *l,
                                      const store_audit_t *audit);
store_status_t pg_account_link_get(store_t *base, nimbus_id_t tenant_id, nimbus_id_t id,
                                   nimbus_account_link_t *out);
store_status_t pg_account_link_list(store_t *base, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                    store_account_link_cb cb, void *ctx);
store_status_t pg_account_link_due(store_t *base, int64_t now, int limit, store_account_link_cb cb,
                                   void *ctx);
store_status_t pg_account_link_update(store_t *base, nimbus_account_link_t *l,
                                      const store_audit_t *audit);
store_status_t pg_account_link_delete(store_t *base, nimbus_id_t tenant_id, nimbus_id_t id,
                                      const store_audit_t *audit);
/* Row i of a result whose first columns are CHARGE_COLS (at column col). */
void pg_charge_from_row(const PGresult *r, int i, int col, nimbus_job_charge_t *c);
store_status_t pg_account_insert(store_t *st, nimbus_billing_account_t *a,
                                 const store_audit_t *audit);
store_status_t pg_account_get(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                              nimbus_billing_account_t *out);
store_status_t pg_account_get_by_code(store_t *st, nimbus_id_t tenant_id, const char *code,
                                      nimbus_billing_account_t *out);
store_status_t pg_account_update(store_t *st, nimbus_billing_account_t *a,
                                 const store_audit_t *audit);
store_status_t pg_account_list(store_t *st, nimbus_id_t tenant_id, bool include_closed,
                               store_account_cb cb, void *ctx);
store_status_t pg_account_topup(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id, int64_t amount,
                                const store_ledger_posting_t *posting, const store_audit_t *audit,
                                nimbus_billing_account_t *out);
store_status_t pg_account_grant_add(store_t *st, nimbus_id_t tenant_id,
                                    const nimbus_account_grant_t *g, const store_audit_t *audit);
store_status_t pg_account_grant_delete(store_t *st, nimbus_id_t tenant_id,
                                       const nimbus_account_grant_t *g, const store_audit_t *audit);
store_status_t pg_account_grant_list(store_t *st, nimbus_id_t tenant_id, nimbus_id_t account_id,
                                     nimbus_grant_kind_t kind, store_grant_cb cb, void *ctx);
store_status_t pg_account_granted(store_t *st, nimbus_id_t tenant_id, nimbus_id_t account_id,
                                  nimbus_grant_kind_t kind, nimbus_id_t ref_id, bool *out);
store_status_t pg_purpose_insert(store_t *st, nimbus_purpose_t *p, const store_audit_t *audit);
store_status_t pg_purpose_get(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                              nimbus_purpose_t *out);
store_status_t pg_purpose_get_by_name(store_t *st, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                      const char *name, nimbus_purpose_t *out);
store_status_t pg_purpose_get_default(store_t *st, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                      nimbus_purpose_t *out);
store_status_t pg_purpose_update(store_t *st, nimbus_purpose_t *p, const store_audit_t *audit);
store_status_t pg_purpose_delete(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                 const store_audit_t *audit);
store_status_t pg_purpose_list(store_t *st, nimbus_id_t tenant_id, nimbus_id_t user_id,
                               store_purpose_cb cb, void *ctx);
store_status_t pg_payment_method_put(store_t *st, nimbus_payment_method_t *m,
                                     const store_audit_t *audit);
store_status_t pg_payment_method_get(store_t *st, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                     nimbus_payment_method_t *out);
store_status_t pg_payment_method_get_by_setup(store_t *st, const char *setup_id,
                                              nimbus_payment_method_t *out);
store_status_t pg_payment_method_update(store_t *st, nimbus_payment_method_t *m,
                                        nimbus_method_state_t expected, const store_audit_t *audit);
store_status_t pg_payment_method_delete(store_t *st, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                        const store_audit_t *audit);
store_status_t pg_charge_hold(store_t *st, nimbus_job_charge_t *c,
                              const store_job_change_t *release, const store_audit_t *audit,
                              store_charge_refusal_t *why);
store_status_t pg_charge_get(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                             nimbus_job_charge_t *out);
store_status_t pg_charge_update(store_t *st, nimbus_job_charge_t *c, nimbus_charge_state_t expected,
                                const store_account_delta_t *delta,
                                const store_ledger_posting_t *posting, const store_audit_t *audit,
                                store_charge_refusal_t *why);
store_status_t pg_charge_list_due(store_t *st, int64_t now, int64_t stale_before,
                                  nimbus_id_t after_job_id, int max, store_charge_cb cb, void *ctx);
store_status_t pg_job_set_account(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                  const char *account_id, const store_audit_t *audit);
store_status_t pg_print_log(store_t *st, const store_print_log_filter_t *f, store_print_log_cb cb,
                            void *ctx);

/* store-pg-remote.c: remote printer links (store.h) and the SQL of
 * PS_REMOTE_FIRST.. (pg_charges_sql() hands them on). */
const char *pg_remote_sql(pg_stmt_id_t id);
store_status_t pg_remote_link_insert(store_t *st, nimbus_remote_link_t *l,
                                     const store_audit_t *audit);
store_status_t pg_remote_link_get(store_t *st, nimbus_id_t tenant_id, const char *name,
                                  nimbus_remote_link_t *out);
store_status_t pg_remote_link_list(store_t *st, nimbus_id_t tenant_id, nimbus_remote_link_t *out,
                                   int max, int *count);
store_status_t pg_remote_link_update(store_t *st, nimbus_remote_link_t *l,
                                     const store_audit_t *audit);
store_status_t pg_remote_link_set_state(store_t *st, const nimbus_remote_link_t *l);
store_status_t pg_remote_link_delete(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                     const store_audit_t *audit);
store_status_t pg_remote_jobs_replace(store_t *st, nimbus_id_t tenant_id, nimbus_id_t link_id,
                                      const nimbus_remote_job_t *jobs, int n, int64_t now,
                                      int64_t mark);
store_status_t pg_remote_job_list(store_t *st, nimbus_id_t tenant_id, nimbus_id_t link_id,
                                  nimbus_remote_job_t *out, int max, int *count);
store_status_t pg_remote_job_query(store_t *st, const store_remote_query_t *q,
                                   nimbus_remote_job_t *out, int max, int *count);
store_status_t pg_remote_job_change(store_t *st, nimbus_id_t tenant_id, store_remote_change_t what,
                                    const nimbus_remote_job_t *j);

/* store-pg-contracts.c: the SQL of PS_CONTRACT_FIRST.., contracts,
 * webhook events, dealers, packages (store.h "contracts"). */
const char *pg_contract_sql(pg_stmt_id_t id);
store_status_t pg_contract_insert(store_t *base, nimbus_contract_t *c, const store_audit_t *audit);
store_status_t pg_contract_update(store_t *base, nimbus_contract_t *c, const store_audit_t *audit);
store_status_t pg_contract_get(store_t *base, nimbus_id_t id, nimbus_contract_t *out);
store_status_t pg_contract_get_by_name(store_t *base, nimbus_id_t tenant_id, const char *name,
                                       nimbus_contract_t *out);
store_status_t pg_contract_get_by_external(store_t *base, nimbus_id_t owner_tenant_id,
                                           const char *external_id, nimbus_contract_t *out);
store_status_t pg_contract_list(store_t *base, const store_contract_filter_t *f,
                                store_contract_cb cb, void *ctx);
store_status_t pg_contract_cancel(store_t *base, nimbus_id_t id, int64_t now,
                                  const store_audit_t *audit);
store_status_t pg_contract_due_each(store_t *base, int64_t now, store_contract_cb cb, void *ctx);
store_status_t pg_contract_event_apply(store_t *base, const store_contract_event_t *ev,
                                       store_contract_event_op_t op, nimbus_contract_t *c,
                                       const store_audit_t *audit, bool *duplicate,
                                       nimbus_id_t *contract_id);
store_status_t pg_dealer_set(store_t *base, nimbus_id_t customer_tenant_id,
                             nimbus_id_t dealer_tenant_id, const store_audit_t *audit);
store_status_t pg_dealer_get(store_t *base, nimbus_id_t customer_tenant_id,
                             nimbus_id_t *dealer_tenant_id);
store_status_t pg_dealer_delete(store_t *base, nimbus_id_t customer_tenant_id,
                                const store_audit_t *audit);
store_status_t pg_dealer_list(store_t *base, nimbus_id_t dealer_tenant_id, store_dealer_cb cb,
                              void *ctx);
store_status_t pg_package_insert(store_t *base, nimbus_package_t *k, const store_audit_t *audit);
store_status_t pg_package_get(store_t *base, nimbus_id_t id, nimbus_package_t *out);
store_status_t pg_package_list(store_t *base, nimbus_id_t owner_tenant_id, store_package_cb cb,
                               void *ctx);
store_status_t pg_package_in_use(store_t *base, nimbus_id_t id, int64_t now, bool *used);
store_status_t pg_package_delete(store_t *base, nimbus_id_t owner_tenant_id, nimbus_id_t id,
                                 int64_t now, const store_audit_t *audit);

/* store-pg-services.c: the SQL of PS_SERVICE_FIRST.. and the smart services (store.h "smart
 * services").
 */
const char *pg_service_sql(pg_stmt_id_t id);
store_status_t pg_printer_service_put(store_t *base, const nimbus_printer_service_t *s);
store_status_t pg_printer_service_get(store_t *base, nimbus_id_t device_id, const char *service,
                                      nimbus_printer_service_t *out);
store_status_t pg_printer_service_list(store_t *base, nimbus_id_t device_id,
                                       store_printer_service_cb cb, void *ctx);
store_status_t pg_printer_service_disable_contract(store_t *base, nimbus_id_t tenant_id,
                                                   nimbus_id_t contract_id);
store_status_t pg_backup_insert(store_t *base, nimbus_backup_t *b);
store_status_t pg_backup_get(store_t *base, nimbus_id_t tenant_id, nimbus_id_t id,
                             nimbus_backup_t *out);
store_status_t pg_backup_list(store_t *base, nimbus_id_t tenant_id, nimbus_id_t device_id,
                              store_backup_cb cb, void *ctx);
store_status_t pg_backup_prune(store_t *base, nimbus_id_t device_id, int keep_full, int *deleted);
store_status_t pg_supply_report(store_t *base, const store_supply_report_t *r,
                                nimbus_supply_order_t *order);
store_status_t pg_supply_order_list(store_t *base, const store_delivery_filter_t *f,
                                    store_supply_order_cb cb, void *ctx);
store_status_t pg_part_alert_list(store_t *base, const store_delivery_filter_t *f,
                                  store_part_alert_cb cb, void *ctx);
store_status_t pg_part_counter_get(store_t *base, nimbus_id_t device_id, const char *part,
                                   nimbus_part_counter_t *out);
store_status_t pg_part_replaced(store_t *base, nimbus_id_t tenant_id, nimbus_id_t device_id,
                                const char *part, int64_t impressions);
store_status_t pg_part_alert_insert(store_t *base, nimbus_part_alert_t *a);
store_status_t pg_delivery_mark(store_t *base, store_delivery_kind_t kind, nimbus_id_t id,
                                nimbus_delivery_state_t state, int attempts, int64_t next_at);
/* The put on the caller's connection inside its transaction, for a
 * cloud step that writes the configuration and its step together. */
store_status_t pg_printer_service_put_tx(pg_conn_t *c, const nimbus_printer_service_t *s);

/* store-pg-provisioning.c: the SQL of PS_PROV_FIRST.. and provisioning. */
const char *pg_prov_sql(pg_stmt_id_t id);
store_status_t pg_prov_run_create(store_t *base, nimbus_prov_run_t *run, const nimbus_id_t *devices,
                                  int ndevices, nimbus_prov_step_t *steps, int nsteps,
                                  bool *created);
store_status_t pg_prov_run_get(store_t *base, nimbus_id_t tenant_id, nimbus_id_t id,
                               nimbus_prov_run_t *out);
store_status_t pg_prov_run_list(store_t *base, nimbus_id_t tenant_id, nimbus_id_t contract_id,
                                nimbus_id_t device_id, store_prov_run_cb cb, void *ctx);
store_status_t pg_prov_run_finish(store_t *base, nimbus_id_t run_id, nimbus_run_state_t state,
                                  const char *note, int64_t now);
store_status_t pg_prov_run_widen(store_t *base, nimbus_id_t run_id, nimbus_id_t tenant_id,
                                 nimbus_id_t device_id, nimbus_prov_step_t *steps, int nsteps,
                                 int64_t now, bool *added);
store_status_t pg_prov_run_uncovered(store_t *base, nimbus_id_t run_id, nimbus_id_t tenant_id,
                                     store_id_each_cb cb, void *ctx);
store_status_t pg_prov_step_list(store_t *base, nimbus_id_t tenant_id, nimbus_id_t run_id,
                                 store_prov_step_cb cb, void *ctx);
store_status_t pg_prov_step_get(store_t *base, nimbus_id_t tenant_id, nimbus_id_t id,
                                nimbus_prov_step_t *out);
store_status_t pg_prov_step_transition(store_t *base, const nimbus_prov_step_t *s,
                                       nimbus_step_state_t from_state, int from_attempts,
                                       const char *detail, int64_t now);
store_status_t pg_prov_step_heads(store_t *base, nimbus_id_t device_id, int64_t now, int limit,
                                  store_prov_step_cb cb, void *ctx);
store_status_t pg_prov_step_timed_out(store_t *base, int64_t sent_before, int limit,
                                      store_prov_step_cb cb, void *ctx);
store_status_t pg_prov_device_has_package(store_t *base, nimbus_id_t device_id,
                                          nimbus_id_t package_id, bool *out);
store_status_t pg_inventory_put(store_t *base, const nimbus_device_inventory_t *inv);
store_status_t pg_inventory_get(store_t *base, nimbus_id_t device_id,
                                nimbus_device_inventory_t *out);

#endif
