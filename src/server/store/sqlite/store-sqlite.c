/*
 * store-sqlite.c: the SQLite backend of store.h (the default, one file):
 * connections, statements and shared helpers, open/migrations/close, WAL
 * checkpoints, audit and counters.  Accounts (tenants, users, tokens,
 * queues) are in store-sqlite-accounts.c, jobs and documents in
 * store-sqlite-jobs.c, output devices in store-sqlite-devices.c, money
 * in store-sqlite-money.c;
 * store-sqlite-private.h is what they share.
 *
 * Design:
 *  - The main sqlite3 connection, opened in multi-thread mode, is the write
 *    connection, used only while holding st->mu.  Every public function
 *    that writes takes st->mu for its whole duration, so each one is atomic
 *    with respect to the others; writes of more than one statement also run
 *    in BEGIN IMMEDIATE ... COMMIT.  Functions that only read take a read
 *    connection instead (sqlite_read_lock: st->readers, PRAGMA query_only,
 *    one read transaction per call), so with WAL a read never waits for a
 *    write's fsync.  A thread-local records which connection the thread
 *    holds, so a list callback that calls back into the store gets
 *    STORE_ERROR (logged) instead of a deadlock.
 *  - Durability: WAL with synchronous=FULL, so COMMIT returns after the
 *    WAL is fsync'd.  foreign_keys=ON enforces tenant cascades.
 *  - Group commit for store_job_insert: callers queue a request (on their
 *    own stack) and sleep; the committer thread (store/group-commit.c, the
 *    batcher both backends share) takes up to group_commit_max requests
 *    and has sqlite_job_insert_batch run them in one transaction, each in
 *    its own SAVEPOINT so a failing insert does not take the others down,
 *    then wakes the callers.  One fsync pays for the whole batch.  The
 *    committer uses its own connection (st->gc_conn), so the fsync does not
 *    hold st->mu.  With group_commit_max <= 1 the caller runs the same
 *    batch code itself on the main connection.
 *  - Prepared statements are cached per connection in st->stmts, indexed by
 *    stmt_id_t, prepared on first use.  Every statement is reset before the
 *    function that used it returns (sqlite_stmt_reset()).
 *
 * Locks (docs/LOCKING.md): the connection mutexes (st->mu, gc_conn->mu,
 * readers[i]->mu) and group_commit.mu (the group-commit queue) are never
 * held together; the only nesting is a writing connection's mutex -> st->ck_mu,
 * in the WAL hook.
 *
 * Callers of the list functions: the callback runs with a connection held; it
 * must be quick and must not call store functions (such calls, including
 * store_job_insert, return STORE_ERROR).
 */
#include "store-sqlite-private.h"

#include <errno.h>
#include <stdatomic.h>

#include "diskspace.h"

_Thread_local bool sqlite_full_seen;

/* Read connections when the caller gives no options (store tests, tools). */
#define STORE_READERS_DEFAULT 4
#define STORE_READERS_MAX 256

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
        "max_held_jobs_per_user, created_at, retention_hours, panel_login, unknown_user_names, "
        "suspended) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [S_TENANT_GET] = "SELECT " TENANT_COLS " FROM tenants WHERE id = ?1",
    [S_TENANT_GET_BY_NAME] = "SELECT " TENANT_COLS " FROM tenants WHERE name = ?1",
    [S_TENANT_UPDATE] =
        "UPDATE tenants SET display_name = ?2, max_document_size = ?3, "
        "max_held_jobs_per_user = ?4, retention_hours = ?5, panel_login = ?6, "
        "unknown_user_names = ?7, suspended = ?8 WHERE id = ?1",
    [S_TENANT_DELETE] = "DELETE FROM tenants WHERE id = ?1",
    [S_TENANT_LIST] = "SELECT " TENANT_COLS " FROM tenants ORDER BY name",

    [S_USER_INSERT] =
        "INSERT INTO users (tenant_id, name, role, password_hash, created_at, panel_pin_hash) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [S_USER_GET] = "SELECT " USER_COLS " FROM users WHERE id = ?1 AND tenant_id = ?2",
    [S_USER_GET_BY_NAME] = "SELECT " USER_COLS " FROM users WHERE tenant_id = ?1 AND name = ?2",
    [S_USER_EXISTS] = "SELECT 1 FROM users WHERE id = ?1 AND tenant_id = ?2",
    [S_USER_UPDATE] =
        "UPDATE users SET role = ?3, password_hash = ?4, panel_pin_hash = ?5 "
        "WHERE id = ?1 AND tenant_id = ?2",
    [S_USER_DELETE] = "DELETE FROM users WHERE id = ?1 AND tenant_id = ?2",
    [S_USER_LIST] = "SELECT " USER_COLS " FROM users WHERE tenant_id = ?1 ORDER BY name",
    [S_USER_GET_BY_ALIAS] =
        "SELECT u.id, u.tenant_id, u.name, u.role, u.password_hash, u.created_at, "
        "u.panel_pin_hash FROM user_aliases a JOIN users u ON u.id = a.user_id "
        "AND u.tenant_id = a.tenant_id WHERE a.tenant_id = ?1 AND a.alias_key = ?2",
    /* lower() folds ASCII only, as user_alias_normalise() does */
    [S_USER_NAME_FOLDS] =
        "SELECT id FROM users WHERE tenant_id = ?1 AND lower(name) = ?2 AND id <> ?3 LIMIT 1",
    [S_ALIAS_INSERT] =
        "INSERT INTO user_aliases (tenant_id, user_id, alias, alias_key, created_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5)",
    /* store_audit_list: a tenant's rows, newest first (index audit_tenant) */
    [S_AUDIT_LIST] =
        "SELECT id, tenant_id, ts, actor, action, detail FROM audit "
        "WHERE tenant_id = ?1 AND (?2 = '' OR action = ?2) "
        "AND (?3 = '' OR instr(actor, ?3) > 0) AND ts >= ?4 AND (?5 = 0 OR ts < ?5) "
        "AND (?6 = 0 OR id < ?6) ORDER BY id DESC LIMIT ?7",
    [S_ALIAS_DELETE] =
        "DELETE FROM user_aliases WHERE tenant_id = ?1 AND user_id = ?2 AND alias_key = ?3",
    [S_ALIAS_LIST] =
        "SELECT a.id, a.tenant_id, a.user_id, u.name, a.alias, a.created_at "
        "FROM user_aliases a JOIN users u ON u.id = a.user_id AND u.tenant_id = a.tenant_id "
        "WHERE a.tenant_id = ?1 AND (?2 = 0 OR a.user_id = ?2) ORDER BY u.name, a.alias_key",

    [S_TOKEN_INSERT] =
        "INSERT INTO tokens (tenant_id, user_id, label, hash, created_at, "
        "expires_at, revoked, scope) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, nullif(?7, ''))",
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
        "allow_anonymous, created_at, release_scope) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [S_QUEUE_GET_BY_NAME] = "SELECT " QUEUE_COLS " FROM queues WHERE tenant_id = ?1 AND name = ?2",
    [S_QUEUE_EXISTS] = "SELECT 1 FROM queues WHERE id = ?1 AND tenant_id = ?2",
    [S_QUEUE_HAS_LIVE_JOBS] =
        "SELECT EXISTS (SELECT 1 FROM jobs WHERE tenant_id = ?1 "
        "AND queue_id = ?2 AND state < 6)",
    [S_QUEUE_UPDATE] =
        "UPDATE queues SET description = ?3, release_immediately = ?4, "
        "allow_anonymous = ?5, release_scope = ?6 WHERE id = ?1 AND tenant_id = ?2",
    [S_QUEUE_DELETE] = "DELETE FROM queues WHERE id = ?1 AND tenant_id = ?2",
    [S_QUEUE_LIST] = "SELECT " QUEUE_COLS " FROM queues WHERE tenant_id = ?1 ORDER BY name",

    [S_JOB_INSERT] =
        "INSERT INTO jobs (tenant_id, queue_id, owner_id, owner_name, name, "
        "origin_host, state, created_at, state_changed_at, completed_at, copies, "
        "pages, impressions, impressions_completed, num_documents, account_id, "
        "accounting_user_id, hold_until, pin_hash, attrs_json, origin_device_id, "
        "reference, number) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
        "?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)",
    [S_JOB_GET] = "SELECT " JOB_COLS " " JOB_FROM " WHERE j.id = ?1 AND j.tenant_id = ?2",
    [S_JOB_GET_BY_NUMBER] =
        "SELECT " JOB_COLS " " JOB_FROM " WHERE j.number = ?1 AND j.tenant_id = ?2",
    /* The tenant's next job number, taken inside the insert's transaction. */
    [S_JOB_NUMBER_TAKE] =
        "UPDATE tenants SET next_job_number = next_job_number + 1 "
        "WHERE id = ?1 RETURNING next_job_number - 1",
    [S_JOB_LIST_ASC] =
        "SELECT " JOB_COLS " " JOB_FROM " " JOB_FILTER " ORDER BY j.id ASC LIMIT ?8 OFFSET ?9",
    [S_JOB_LIST_DESC] =
        "SELECT " JOB_COLS " " JOB_FROM " " JOB_FILTER " ORDER BY j.id DESC LIMIT ?8 OFFSET ?9",
    [S_JOB_COUNT] = "SELECT count(*) FROM jobs j " JOB_FILTER,
    [S_JOB_COUNT_PENDING] =
        "SELECT coalesce((SELECT n FROM owner_pending "
        "WHERE tenant_id = ?1 AND owner_id = ?2), 0)",
    /* jobs_origin_pending (migration 6); "<> 0" lets SQLite use the partial index */
    [S_JOB_COUNT_PENDING_ORIGIN] =
        "SELECT count(*) FROM jobs WHERE tenant_id = ?1 AND origin_device_id = ?2 "
        "AND origin_device_id <> 0 AND state BETWEEN 1 AND 3",
    [S_JOB_COUNT_BY_STATE] = "SELECT state, n FROM job_state_counts",
    /* One change of store_job_apply(): compare ?3 (state) and ?13 (device,
     * when not 0); set the state, its times (?6: next is terminal) and the
     * columns whose flag (?7, ?9, ?11) is set. */
    [S_JOB_APPLY] =
        "UPDATE jobs SET state = ?4, state_changed_at = ?5, "
        "completed_at = CASE WHEN ?6 THEN ?5 ELSE 0 END, "
        "device_id = CASE WHEN ?7 THEN ?8 ELSE device_id END, "
        "target_device_id = CASE WHEN ?9 THEN ?10 ELSE target_device_id END, "
        "queue_id = CASE WHEN ?11 THEN ?12 ELSE queue_id END "
        "WHERE id = ?1 AND tenant_id = ?2 AND state = ?3 AND (?13 = 0 OR device_id = ?13)",
    [S_JOB_SET_SETTINGS] =
        "UPDATE jobs SET copies = ?3, impressions = ?4, attrs_json = ?5 "
        "WHERE id = ?1 AND tenant_id = ?2",
    [S_JOB_SET_PROGRESS] =
        "UPDATE jobs SET impressions_completed = CASE WHEN ?4 < 0 THEN impressions_completed "
        "ELSE ?4 END, device_state_reasons = coalesce(?5, device_state_reasons) "
        "WHERE id = ?1 AND tenant_id = ?2 AND device_id = ?3 AND ?3 <> 0",
    /* Processing jobs whose device is gone, or silent since before ?1
     * (counting the acknowledgement itself as hearing from it). */
    [S_JOB_LEASE_EXPIRED] =
        "SELECT " JOB_COLS " " JOB_FROM
        " LEFT JOIN devices d ON d.id = j.device_id AND d.tenant_id = j.tenant_id "
        "WHERE j.state = 5 AND (d.id IS NULL OR max(d.last_seen_at, j.state_changed_at) < ?1) "
        "ORDER BY j.id",
    [S_JOB_COUNTERS] =
        "SELECT state, num_documents, pages, copies FROM jobs "
        "WHERE id = ?1 AND tenant_id = ?2",
    [S_JOB_UPDATE_COUNTERS] =
        "UPDATE jobs SET num_documents = ?3, pages = ?4, impressions = ?5 "
        "WHERE id = ?1 AND tenant_id = ?2",
    [S_EVENT_INSERT] =
        "INSERT INTO job_events (tenant_id, job_id, ts, event, from_state, "
        "to_state, detail, origin) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [S_DOC_INSERT] = "INSERT INTO documents (" DOC_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [S_DOC_DATA_INSERT] = "INSERT INTO document_data (job_id, number, data) VALUES (?1, ?2, ?3)",
    [S_DOC_DATA_ROWID] =
        "SELECT d.rowid FROM document_data d JOIN jobs j ON j.id = d.job_id "
        "WHERE d.job_id = ?1 AND d.number = ?2 AND j.tenant_id = ?3",
    [S_DOC_LIST] = "SELECT " DOC_COLS " FROM documents WHERE job_id = ?1 ORDER BY number LIMIT ?2",
    [S_BLOB_REFERENCED] =
        "SELECT EXISTS (SELECT 1 FROM documents "
        "WHERE blob_key = ?1 AND blob_key <> '') "
        "OR EXISTS (SELECT 1 FROM packages WHERE blob_key = ?1 AND blob_key <> '')",
    [S_AUDIT_INSERT] =
        "INSERT INTO audit (tenant_id, ts, actor, action, detail) "
        "VALUES (?1, ?2, ?3, ?4, ?5)",

    [S_DEVICE_INSERT] =
        "INSERT INTO devices (tenant_id, name, status, claim_hash, claim_expires_at, "
        "created_at, location) VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6)",
    [S_DEVICE_QUEUE_INSERT] =
        "INSERT OR IGNORE INTO device_queues (device_id, tenant_id, queue_id) "
        "VALUES (?1, ?2, ?3)",
    [S_DEVICE_QUEUES] =
        "SELECT q.id, q.name FROM device_queues dq JOIN queues q ON q.id = dq.queue_id "
        "WHERE dq.tenant_id = ?2 AND dq.device_id = ?1 ORDER BY q.name LIMIT ?3",
    [S_DEVICE_EXISTS] = "SELECT 1 FROM devices WHERE id = ?1 AND tenant_id = ?2",
    [S_DEVICE_GET] = "SELECT " DEVICE_COLS " FROM devices d WHERE d.id = ?1 AND d.tenant_id = ?2",
    [S_DEVICE_GET_BY_NAME] =
        "SELECT " DEVICE_COLS " FROM devices d WHERE d.tenant_id = ?1 AND d.name = ?2",
    [S_DEVICE_GET_BY_CREDENTIAL] =
        "SELECT " DEVICE_COLS " FROM devices d WHERE d.credential_hash = ?1 AND d.status = 2",
    [S_DEVICE_GET_BY_UUID] = "SELECT " DEVICE_COLS
                             " FROM devices d WHERE d.uuid = ?1 AND d.uuid <> '' "
                             "AND d.status = 2",
    [S_DEVICE_GET_BY_CLAIM] =
        "SELECT id, tenant_id, claim_expires_at FROM devices WHERE claim_hash = ?1",
    [S_DEVICE_LIST] = "SELECT " DEVICE_COLS
                      " FROM devices d WHERE d.tenant_id = ?1 AND (?2 = 0 OR EXISTS "
                      "(SELECT 1 FROM device_queues dq WHERE dq.tenant_id = d.tenant_id "
                      "AND dq.device_id = d.id AND dq.queue_id = ?2)) ORDER BY d.name",
    [S_DEVICE_SET_CLAIM] =
        "UPDATE devices SET claim_hash = ?3, claim_expires_at = ?4 "
        "WHERE id = ?1 AND tenant_id = ?2",
    [S_DEVICE_SET_LOCATION] = "UPDATE devices SET location = ?3 WHERE id = ?1 AND tenant_id = ?2",
    [S_DEVICE_UUID_OWNER] = "SELECT id FROM devices WHERE uuid = ?1 AND uuid <> ''",
    [S_DEVICE_CLAIM] =
        "UPDATE devices SET status = 2, uuid = ?2, credential_hash = ?3, registered_at = ?4, "
        "claim_hash = NULL, claim_expires_at = 0 WHERE id = ?1",
    [S_DEVICE_SET_REPORTED] =
        "UPDATE devices SET printer_state = CASE WHEN ?3 < 0 THEN printer_state ELSE ?3 END, "
        "state_reasons = coalesce(?4, state_reasons), make_model = coalesce(?5, make_model), "
        "attrs = coalesce(?6, attrs), "
        "attrs_updated_at = CASE WHEN ?6 IS NULL THEN attrs_updated_at ELSE ?7 END "
        "WHERE id = ?1 AND tenant_id = ?2",
    [S_DEVICE_GET_ATTRS] = "SELECT attrs FROM devices WHERE id = ?1 AND tenant_id = ?2",
    [S_QUEUE_DEVICE_ATTRS] =
        "SELECT d.attrs FROM device_queues dq JOIN devices d ON d.id = dq.device_id "
        "WHERE dq.tenant_id = ?1 AND dq.queue_id = ?2 AND d.attrs IS NOT NULL "
        "ORDER BY d.attrs_updated_at DESC, d.id DESC LIMIT 1",
    [S_DEVICE_TOUCH] =
        "UPDATE devices SET last_seen_at = max(last_seen_at, ?3), "
        "transport = coalesce(?4, transport) WHERE id = ?1 AND tenant_id = ?2",
    /* sqlite_device_delete(): ?1 tenant, ?2 device, ?3 now. */
    [S_DEVICE_TOMBSTONE_INSERT] =
        "INSERT OR REPLACE INTO device_tombstones (credential_hash, tenant_id, device_id, "
        "name, uuid, deleted_at) SELECT credential_hash, tenant_id, id, name, uuid, ?3 "
        "FROM devices WHERE tenant_id = ?1 AND id = ?2 AND credential_hash IS NOT NULL",
    [S_DEVICE_TOMBSTONE_GET] =
        "SELECT device_id, tenant_id, name, uuid, deleted_at FROM device_tombstones "
        "WHERE credential_hash = ?1",
    /* Does a job in state ?3 still name device ?2 (after the changes)? */
    [S_DEVICE_JOBS_LEFT] =
        "SELECT EXISTS (SELECT 1 FROM jobs WHERE tenant_id = ?1 AND state = ?3 "
        "AND (device_id = ?2 OR target_device_id = ?2))",
    [S_DEVICE_DELETE] = "DELETE FROM devices WHERE tenant_id = ?1 AND id = ?2",

    /* Release at the printer (issue 4). */
    [S_JOB_PIN_STATE] =
        "SELECT pin_failures, pin_window_start, pin_locked_until FROM jobs "
        "WHERE id = ?1 AND tenant_id = ?2",
    /* compare ?6..?8, set ?3..?5 */
    [S_JOB_PIN_CAS] =
        "UPDATE jobs SET pin_failures = ?3, pin_window_start = ?4, pin_locked_until = ?5 "
        "WHERE id = ?1 AND tenant_id = ?2 AND pin_failures = ?6 AND pin_window_start = ?7 "
        "AND pin_locked_until = ?8",
    /* Spool keys of a job's unpurged documents, in number order. */
    [S_DOC_PURGE_KEYS] =
        "SELECT number, blob_key FROM documents WHERE job_id = ?1 "
        "AND blob_key NOT IN ('', '" STORE_INLINE_BLOB_KEY "') ORDER BY number LIMIT ?2",
    /* Inline documents, and spool documents up to number ?2. */
    [S_DOC_PURGE] =
        "UPDATE documents SET blob_key = '' WHERE job_id = ?1 AND blob_key <> '' "
        "AND (blob_key = '" STORE_INLINE_BLOB_KEY "' OR number <= ?2)",
    [S_DOC_DATA_PURGE] = "DELETE FROM document_data WHERE job_id = ?1",
    /* store_job_list_sweep(): ?1 tenant, ?2 state, ?3 created before, ?4
     * limit (index jobs_tenant_state); unpurged: a document row whose
     * blob_key is not cleared yet (partial index documents_blob_key). */
    [S_JOB_SWEEP] = "SELECT " JOB_COLS " " JOB_FROM
                    " WHERE j.tenant_id = ?1 AND j.state = ?2 AND j.created_at < ?3 "
                    "ORDER BY j.id LIMIT ?4",
    [S_JOB_SWEEP_UNPURGED] = "SELECT " JOB_COLS " " JOB_FROM
                             " WHERE j.tenant_id = ?1 AND j.state = ?2 AND j.created_at < ?3 "
                             "AND j.id IN (SELECT dk.job_id FROM documents dk "
                             "WHERE dk.blob_key <> '') ORDER BY j.id LIMIT ?4",
    [S_PANEL_SESSION_INSERT] =
        "INSERT INTO panel_sessions (tenant_id, device_id, user_id, hash, created_at, "
        "expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [S_PANEL_SESSION_GET] =
        "SELECT s.id, s.tenant_id, s.device_id, s.user_id, u.name, s.hash, s.created_at, "
        "s.expires_at FROM panel_sessions s JOIN users u ON u.id = s.user_id "
        "AND u.tenant_id = s.tenant_id WHERE s.hash = ?1 AND s.expires_at > ?2",
    [S_PANEL_SESSION_TOUCH] = "UPDATE panel_sessions SET expires_at = ?2 WHERE id = ?1",
    [S_PANEL_SESSION_DELETE] = "DELETE FROM panel_sessions WHERE hash = ?1",
    [S_PANEL_SESSION_EXPIRE] = "DELETE FROM panel_sessions WHERE expires_at <= ?1",
    [S_WEB_SESSION_INSERT] =
        "INSERT INTO web_sessions (tenant_id, user_id, hash, created_at, last_seen_at, "
        "expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [S_WEB_SESSION_GET] =
        "SELECT id, tenant_id, user_id, hash, created_at, last_seen_at, expires_at "
        "FROM web_sessions WHERE hash = ?1 AND expires_at > ?2 AND last_seen_at > ?2 - ?3",
    [S_WEB_SESSION_TOUCH] =
        "UPDATE web_sessions SET last_seen_at = ?2 WHERE id = ?1 AND last_seen_at < ?2",
    [S_WEB_SESSION_DELETE] = "DELETE FROM web_sessions WHERE hash = ?1",
    [S_WEB_SESSION_DELETE_USER] = "DELETE FROM web_sessions WHERE tenant_id = ?1 AND user_id = ?2",
    [S_WEB_SESSION_DELETE_TENANT] = "DELETE FROM web_sessions WHERE tenant_id = ?1",
    [S_WEB_SESSION_SWEEP] =
        "DELETE FROM web_sessions WHERE expires_at <= ?1 OR last_seen_at <= ?1 - ?2",
/* OAuth device grants (store-sqlite-oauth.c) */
#define GRANT_COLS                                                                           \
  "id, user_code_hash, device_code_hash, client_id, scope, status, coalesce(tenant_id, 0), " \
  "coalesce(user_id, 0), created_at, expires_at, interval, last_poll_at, coalesce(token_id, 0)"
    [S_DGRANT_PRUNE] = "DELETE FROM device_grants WHERE expires_at < ?1 - 86400",
    [S_DGRANT_INSERT] =
        "INSERT INTO device_grants (user_code_hash, device_code_hash, client_id, scope, status, "
        "created_at, expires_at, interval, last_poll_at) "
        "SELECT ?1, ?2, ?3, ?4, 'pending', ?5, ?6, ?7, 0 WHERE (SELECT count(*) FROM "
        "device_grants WHERE status = 'pending' AND expires_at > ?5) < ?8",
    [S_DGRANT_GET_BY_DEVICE] =
        "SELECT " GRANT_COLS " FROM device_grants WHERE device_code_hash = ?1",
    [S_DGRANT_GET_BY_USER] = "SELECT " GRANT_COLS " FROM device_grants WHERE user_code_hash = ?1",
    [S_DGRANT_UPDATE] =
        "UPDATE device_grants SET status = ?2, tenant_id = nullif(?3, 0), user_id = nullif(?4, 0), "
        "interval = ?5, last_poll_at = ?6, token_id = nullif(?7, 0) WHERE id = ?1 AND status = ?8",
/* No row is returned when another holder's lease is still live. */
#define SUB_COLS \
  "id, tenant_id, queue_id, device_id, job_id, events, lease_seconds, created_at, expires_at"
    [S_SUB_INSERT] =
        "INSERT INTO subscriptions (tenant_id, queue_id, device_id, job_id, events, "
        "lease_seconds, created_at, expires_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [S_SUB_GET] = "SELECT " SUB_COLS " FROM subscriptions WHERE id = ?1 AND expires_at > ?2",
    [S_SUB_LIST] = "SELECT " SUB_COLS
                   " FROM subscriptions WHERE device_id = ?1 "
                   "AND expires_at > ?2 ORDER BY id LIMIT ?3",
    [S_SUB_RENEW] =
        "UPDATE subscriptions SET lease_seconds = ?3, expires_at = ?4 "
        "WHERE id = ?1 AND device_id = ?2",
    [S_SUB_DELETE] = "DELETE FROM subscriptions WHERE id = ?1 AND device_id = ?2",
    [S_SUB_SWEEP] = "DELETE FROM subscriptions WHERE expires_at <= ?1",
    [S_FEED_LAST] = "SELECT coalesce(max(id), 0) FROM job_events",
    /* JOB_COLS first (sqlite_job_from_row reads columns 0..), the event's after */
    [S_FEED_NEXT] = "SELECT " JOB_COLS
                    ", e.id, e.tenant_id, e.event, coalesce(e.from_state, 0), "
                    "coalesce(e.to_state, 0), e.detail " FEED_FROM
                    " WHERE e.id > ?1 AND e.id <= ?2 AND e.origin <> ?3 ORDER BY e.id LIMIT ?4",
    [S_LEASE_TAKE] =
        "INSERT INTO sweep_leases (name, holder, expires_at) VALUES (?1, ?2, ?3 + ?4) "
        "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
        "expires_at = excluded.expires_at "
        "WHERE sweep_leases.holder = excluded.holder OR sweep_leases.expires_at <= ?3 "
        "RETURNING holder",
    [S_THROTTLE_GET] =
        "SELECT failures, window_start FROM auth_throttle "
        "WHERE key = ?1 AND expires_at > ?2",
    /* ?2 now, ?3 window: a failure in a window that has ended starts a new one */
    [S_THROTTLE_FAIL] =
        "INSERT INTO auth_throttle (key, kind, failures, window_start, expires_at) "
        "VALUES (?1, ?4, 1, ?2, ?2 + ?3) ON CONFLICT (key) DO UPDATE SET "
        "failures = CASE WHEN expires_at <= ?2 THEN 1 ELSE failures + 1 END, "
        "window_start = CASE WHEN expires_at <= ?2 THEN ?2 ELSE window_start END, "
        "expires_at = CASE WHEN expires_at <= ?2 THEN ?2 + ?3 ELSE expires_at END "
        "RETURNING failures, window_start",
    [S_THROTTLE_CLEAR] = "DELETE FROM auth_throttle WHERE key = ?1",
    [S_THROTTLE_EXPIRE] = "DELETE FROM auth_throttle WHERE expires_at <= ?1",
};

/* ---- locking and statements ---- */

/* The connection whose mutex this thread holds, if any. */
static _Thread_local const sqlite_store_t *sqlite_held;

/* Refuses (logged) when this thread already holds a connection of st (the
 * main one or a reader), i.e. when called from a list callback: that
 * would deadlock or break the held connection's transaction. */
bool sqlite_reentry_refused(const sqlite_store_t *st) {
  if (!sqlite_held || sqlite_held->owner != st->owner) return false;
  log_event(LOG_ERROR, NULL, "store called from inside a store list callback", (char *)NULL);
  return true;
}

bool sqlite_lock(sqlite_store_t *st) {
  if (sqlite_reentry_refused(st)) return false;
  pthread_mutex_lock(&st->mu);
  sqlite_held = st;
  return true;
}

void sqlite_unlock(sqlite_store_t *st) {
  assert(sqlite_held == st);
  sqlite_held = NULL;
  pthread_mutex_unlock(&st->mu);
}

/* Each thread starts its search for a free reader at its own slot, so
 * threads spread over the readers instead of all trying the first. */
static atomic_uint sqlite_reader_threads;
static _Thread_local unsigned sqlite_reader_slot;

sqlite_store_t *sqlite_read_lock(sqlite_store_t *st) {
  sqlite_store_t *rd = NULL;
  if (st->nreaders == 0) {
    if (!sqlite_lock(st)) return NULL;
    rd = st;
  } else {
    if (sqlite_reentry_refused(st)) return NULL;
    if (sqlite_reader_slot == 0)
      sqlite_reader_slot = atomic_fetch_add(&sqlite_reader_threads, 1) + 1;
    unsigned first = sqlite_reader_slot % (unsigned)st->nreaders;
    for (int i = 0; i < st->nreaders && !rd; i++) {
      sqlite_store_t *c = st->readers[(first + (unsigned)i) % (unsigned)st->nreaders];
      if (pthread_mutex_trylock(&c->mu) == 0) rd = c;
    }
    if (!rd) { /* all busy: wait for this thread's own */
      rd = st->readers[first];
      pthread_mutex_lock(&rd->mu);
    }
    sqlite_held = rd;
  }
  if (sqlite_exec_id_locked(rd, S_BEGIN_READ) != STORE_OK) {
    sqlite_unlock(rd);
    return NULL;
  }
  return rd;
}

void sqlite_read_unlock(sqlite_store_t *rd) {
  /* Ends the read snapshot; a connection left inside it would refuse
   * every later BEGIN. */
  if (sqlite_exec_id_locked(rd, S_COMMIT) != STORE_OK) sqlite_tx_rollback_locked(rd);
  sqlite_unlock(rd);
}

void sqlite_assert_locked(const sqlite_store_t *st) {
  assert(sqlite_held == st);
  (void)st;
}

/* Log a database failure for operation `what` and map it to a status:
 * UNIQUE/PK violations are CONFLICT, foreign keys (a missing or another
 * tenant's parent row) NOT_FOUND, the rest ERROR. */
store_status_t sqlite_fail_locked(sqlite_store_t *st, int rc, const char *what) {
  int sys_errno = sqlite3_system_errno(st->db);
  if ((rc & 0xff) == SQLITE_FULL ||
      ((rc & 0xff) == SQLITE_IOERR && disk_errno_is_full(sys_errno))) {
    /* SQLite says SQLITE_FULL for ENOSPC, an I/O error for EDQUOT */
    char where[96];
    snprintf(where, sizeof where, "store: %s", what);
    disk_full_note(where, sys_errno ? sys_errno : ENOSPC);
    sqlite_full_seen = true;
    return STORE_FULL;
  }
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
 * failure.  The caller must sqlite_stmt_reset() it before unlocking. */
sqlite3_stmt *sqlite_stmt_get_locked(sqlite_store_t *st, stmt_id_t id) {
  sqlite_assert_locked(st);
  if (!st->stmts[id]) {
    const char *sql = id >= S_MONEY_FIRST ? sqlite_money_sql(id) : stmt_sql[id];
    int rc = sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st->stmts[id], NULL);
    if (rc != SQLITE_OK) {
      log_event(LOG_ERROR, NULL, "store prepare failed", "stmt", LOG_INT(id), "error",
                sqlite3_errmsg(st->db), (char *)NULL);
      st->stmts[id] = NULL;
      return NULL;
    }
  }
  return st->stmts[id];
}

void sqlite_stmt_reset(sqlite3_stmt *s) {
  if (s) {
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
  }
}

/* Run a statement that returns no rows (after binding).  Resets it. */
store_status_t sqlite_stmt_exec_locked(sqlite_store_t *st, sqlite3_stmt *s, const char *what) {
  int rc = sqlite3_step(s);
  store_status_t status = STORE_OK;
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) status = sqlite_fail_locked(st, rc, what);
  sqlite_stmt_reset(s);
  return status;
}

/* Run the parameterless cached statement `id` (BEGIN, COMMIT, ...). */
store_status_t sqlite_exec_id_locked(sqlite_store_t *st, stmt_id_t id) {
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, id);
  if (!s) return STORE_ERROR;
  return sqlite_stmt_exec_locked(st, s, stmt_sql[id]);
}

store_status_t sqlite_tx_begin_locked(sqlite_store_t *st) {
  return sqlite_exec_id_locked(st, S_BEGIN);
}

/* COMMIT; on failure the transaction is rolled back and STORE_FULL (no
 * room for the WAL) or STORE_ERROR. */
store_status_t sqlite_tx_commit_locked(sqlite_store_t *st) {
  store_status_t status = sqlite_exec_id_locked(st, S_COMMIT);
  if (status == STORE_OK) return STORE_OK;
  if (!sqlite3_get_autocommit(st->db)) sqlite_exec_id_locked(st, S_ROLLBACK);
  return status == STORE_FULL ? STORE_FULL : STORE_ERROR;
}

/* Roll back the open transaction, if SQLite has not already done so. */
void sqlite_tx_rollback_locked(sqlite_store_t *st) {
  if (!sqlite3_get_autocommit(st->db)) sqlite_exec_id_locked(st, S_ROLLBACK);
}

/* Bind a fixed-size record field, never reading past its array. */
void sqlite_bind_field(sqlite3_stmt *s, int idx, const char *field, size_t cap) {
  sqlite3_bind_text(s, idx, field, (int)strnlen(field, cap), SQLITE_STATIC);
}

/* Bind a C string that may be NULL (bound as ""). */
void sqlite_bind_str(sqlite3_stmt *s, int idx, const char *str) {
  sqlite3_bind_text(s, idx, str ? str : "", -1, SQLITE_STATIC);
}

/* 0 means "none" for optional references. */
void sqlite_bind_id_or_null(sqlite3_stmt *s, int idx, nimbus_id_t id) {
  if (id) {
    sqlite3_bind_int64(s, idx, id);
  } else {
    sqlite3_bind_null(s, idx);
  }
}

/* Copy a text column into dst[cap], truncating at a UTF-8 character
 * boundary and always NUL-terminating. */
void sqlite_copy_column(sqlite3_stmt *s, int col, char *dst, size_t cap) {
  const unsigned char *v = sqlite3_column_text(s, col);
  size_t n = v ? (size_t)sqlite3_column_bytes(s, col) : 0;
  if (n >= cap) {
    n = cap - 1;
    while (n > 0 && (v[n] & 0xC0) == 0x80) n--; /* don't split a character */
  }
  if (n) memcpy(dst, v, n);
  dst[n] = '\0';
}
#define COPY_COLUMN(s, col, arr) sqlite_copy_column((s), (col), (arr), sizeof(arr))

int sqlite_column_int(sqlite3_stmt *s, int col) {
  sqlite3_int64 v = sqlite3_column_int64(s, col);
  return v > INT_MAX ? INT_MAX : v < INT_MIN ? INT_MIN : (int)v;
}

int sqlite_clamp_int(int64_t v) {
  return v > INT_MAX ? INT_MAX : v < INT_MIN ? INT_MIN : (int)v;
}

bool sqlite_state_is_terminal(int state) {
  return state >= STATE_FIRST_TERMINAL;
}

/* ---- row readers (column order as in the *_COLS macros) ---- */

void sqlite_tenant_from_row(sqlite3_stmt *s, nimbus_tenant_t *t) {
  memset(t, 0, sizeof *t);
  t->id = sqlite3_column_int64(s, 0);
  COPY_COLUMN(s, 1, t->name);
  COPY_COLUMN(s, 2, t->display_name);
  t->max_document_size = sqlite3_column_int64(s, 3);
  t->max_held_jobs_per_user = sqlite_column_int(s, 4);
  t->created_at = sqlite3_column_int64(s, 5);
  t->retention_hours = sqlite_column_int(s, 6);
  COPY_COLUMN(s, 7, t->panel_login);
  COPY_COLUMN(s, 8, t->unknown_user_names);
  t->suspended = sqlite3_column_int(s, 9) != 0;
}

void sqlite_user_from_row(sqlite3_stmt *s, nimbus_user_t *u) {
  memset(u, 0, sizeof *u);
  u->id = sqlite3_column_int64(s, 0);
  u->tenant_id = sqlite3_column_int64(s, 1);
  COPY_COLUMN(s, 2, u->name);
  u->role = (nimbus_role_t)sqlite_column_int(s, 3);
  COPY_COLUMN(s, 4, u->password_hash);
  u->created_at = sqlite3_column_int64(s, 5);
  COPY_COLUMN(s, 6, u->panel_pin_hash);
}

void sqlite_token_from_row(sqlite3_stmt *s, nimbus_token_t *tk) {
  memset(tk, 0, sizeof *tk);
  tk->id = sqlite3_column_int64(s, 0);
  tk->tenant_id = sqlite3_column_int64(s, 1);
  tk->user_id = sqlite3_column_int64(s, 2);
  COPY_COLUMN(s, 3, tk->user_name);
  tk->user_role = (nimbus_role_t)sqlite_column_int(s, 4);
  COPY_COLUMN(s, 5, tk->label);
  const void *hash = sqlite3_column_blob(s, 6);
  if (hash && sqlite3_column_bytes(s, 6) == (int)sizeof tk->hash)
    memcpy(tk->hash, hash, sizeof tk->hash);
  tk->created_at = sqlite3_column_int64(s, 7);
  tk->expires_at = sqlite3_column_int64(s, 8);
  tk->revoked = sqlite3_column_int(s, 9) != 0;
  COPY_COLUMN(s, 10, tk->scope);
}

void sqlite_queue_from_row(sqlite3_stmt *s, nimbus_queue_t *q) {
  memset(q, 0, sizeof *q);
  q->id = sqlite3_column_int64(s, 0);
  q->tenant_id = sqlite3_column_int64(s, 1);
  COPY_COLUMN(s, 2, q->name);
  COPY_COLUMN(s, 3, q->description);
  q->release_immediately = sqlite3_column_int(s, 4) != 0;
  q->allow_anonymous = sqlite3_column_int(s, 5) != 0;
  q->created_at = sqlite3_column_int64(s, 6);
  COPY_COLUMN(s, 7, q->release_scope);
  q->pricing.price_table_id = sqlite3_column_int64(s, 8);
  COPY_COLUMN(s, 9, q->pricing.payment);
}

void sqlite_job_from_row(sqlite3_stmt *s, nimbus_job_t *j) {
  memset(j, 0, sizeof *j);
  j->id = sqlite3_column_int64(s, 0);
  j->tenant_id = sqlite3_column_int64(s, 1);
  j->queue_id = sqlite3_column_int64(s, 2);
  j->owner_id = sqlite3_column_int64(s, 3); /* NULL reads as 0 */
  COPY_COLUMN(s, 4, j->queue_name);
  COPY_COLUMN(s, 5, j->owner_name);
  COPY_COLUMN(s, 6, j->name);
  COPY_COLUMN(s, 7, j->origin_host);
  j->state = (nimbus_job_state_t)sqlite_column_int(s, 8);
  j->created_at = sqlite3_column_int64(s, 9);
  j->state_changed_at = sqlite3_column_int64(s, 10);
  j->completed_at = sqlite3_column_int64(s, 11);
  j->copies = sqlite_column_int(s, 12);
  j->pages = sqlite_column_int(s, 13);
  j->impressions = sqlite_column_int(s, 14);
  j->impressions_completed = sqlite_column_int(s, 15);
  j->num_documents = sqlite_column_int(s, 16);
  COPY_COLUMN(s, 17, j->account_id);
  COPY_COLUMN(s, 18, j->accounting_user_id);
  COPY_COLUMN(s, 19, j->hold_until);
  COPY_COLUMN(s, 20, j->pin_hash);
  COPY_COLUMN(s, 21, j->attrs_json);
  j->device_id = sqlite3_column_int64(s, 22);
  j->target_device_id = sqlite3_column_int64(s, 23);
  COPY_COLUMN(s, 24, j->device_state_reasons);
  j->origin_device_id = sqlite3_column_int64(s, 25);
  COPY_COLUMN(s, 26, j->origin_device_name);
  COPY_COLUMN(s, 27, j->reference);
  j->pin_failures = sqlite_column_int(s, 28);
  j->pin_window_start = sqlite3_column_int64(s, 29);
  j->pin_locked_until = sqlite3_column_int64(s, 30);
  j->number = sqlite3_column_int64(s, 31);
}

void sqlite_doc_from_row(sqlite3_stmt *s, nimbus_document_t *d) {
  memset(d, 0, sizeof *d);
  d->job_id = sqlite3_column_int64(s, 0);
  d->number = sqlite_column_int(s, 1);
  COPY_COLUMN(s, 2, d->format);
  COPY_COLUMN(s, 3, d->name);
  d->size = sqlite3_column_int64(s, 4);
  d->pages = sqlite_column_int(s, 5);
  COPY_COLUMN(s, 6, d->blob_key);
  d->created_at = sqlite3_column_int64(s, 7);
}

/* ---- generic helpers for the common statement shapes ---- */

/* Step a bound single-row SELECT: STORE_OK with the row left current (the
 * caller reads it, then resets), STORE_NOT_FOUND, or an error. */
store_status_t sqlite_step_row_locked(sqlite_store_t *st, sqlite3_stmt *s, const char *what) {
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) return STORE_OK;
  if (rc == SQLITE_DONE) return STORE_NOT_FOUND;
  return sqlite_fail_locked(st, rc, what);
}

/* Run a bound UPDATE/DELETE; NOT_FOUND when it touched no row.  Resets. */
store_status_t sqlite_exec_changes_locked(sqlite_store_t *st, sqlite3_stmt *s, const char *what) {
  store_status_t status = sqlite_stmt_exec_locked(st, s, what);
  if (status == STORE_OK && sqlite3_changes(st->db) == 0) status = STORE_NOT_FOUND;
  return status;
}

/* Read one integer from a bound single-row SELECT.  Resets. */
store_status_t sqlite_query_int64_locked(sqlite_store_t *st, sqlite3_stmt *s, const char *what,
                                         int64_t *out) {
  store_status_t status = sqlite_step_row_locked(st, s, what);
  if (status == STORE_OK) *out = sqlite3_column_int64(s, 0);
  sqlite_stmt_reset(s);
  return status;
}

/* Step a bound SELECT, calling `each(s, cb, ctx)` per row until it returns
 * false.  Resets. */

store_status_t sqlite_for_each_row_locked(sqlite_store_t *st, sqlite3_stmt *s, const char *what,
                                          row_fn each, list_cb_t cb, void *ctx) {
  store_status_t status = STORE_OK;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    if (!each(s, cb, ctx)) break;
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) status = sqlite_fail_locked(st, rc, what);
  sqlite_stmt_reset(s);
  return status;
}

/* Insert a job_events row of this store's origin; from_state and
 * to_state 0 are stored as NULL. */
store_status_t sqlite_event_insert_locked(sqlite_store_t *st, nimbus_id_t tenant_id,
                                          nimbus_id_t job_id, int64_t now, const char *event,
                                          int from_state, int to_state, const char *detail) {
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_EVENT_INSERT);
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
  if (to_state) {
    sqlite3_bind_int(s, 6, to_state);
  } else {
    sqlite3_bind_null(s, 6);
  }
  sqlite_bind_str(s, 7, detail);
  sqlite3_bind_int64(s, 8, st->owner->base.origin); /* the committer writes for its owner */
  return sqlite_stmt_exec_locked(st, s, "job event insert");
}

/* ---- open, migrations, close ---- */

static int pragma_int_locked(sqlite_store_t *st, const char *sql, int *out) {
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
static bool migrate_locked(sqlite_store_t *st, char *err, size_t errlen) {
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
static bool configure_locked(sqlite_store_t *st, char *err, size_t errlen) {
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
static void *sqlite_checkpoint_main(void *arg) {
  sqlite_store_t *st = arg;
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
  sqlite_store_t *st = arg;
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

/* Another connection to the same database, configured like the main one,
 * for the group-commit thread (see gc_conn) or, with read_only, a reader
 * (PRAGMA query_only: a write through it fails instead of racing the main
 * connection).  Its commits feed the same checkpointer.  NULL with err on
 * failure. */
static sqlite_store_t *sqlite_conn_open(sqlite_store_t *main_st, const char *path, bool read_only,
                                        char *err, size_t errlen) {
  sqlite_store_t *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->owner = main_st;
  pthread_mutex_init(&c->mu, NULL);
  if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
      SQLITE_OK) {
    snprintf(err, errlen, "cannot open %s for %s: %s", path, read_only ? "reading" : "group commit",
             c->db ? sqlite3_errmsg(c->db) : "out of memory");
    sqlite3_close(c->db);
    pthread_mutex_destroy(&c->mu);
    free(c);
    return NULL;
  }
  sqlite_lock(c);
  bool ok = configure_locked(c, err, errlen);
  if (ok && read_only &&
      sqlite3_exec(c->db, "PRAGMA query_only = 1", NULL, NULL, NULL) != SQLITE_OK) {
    snprintf(err, errlen, "cannot make a read connection: %s", sqlite3_errmsg(c->db));
    ok = false;
  }
  sqlite_unlock(c);
  if (!ok) {
    sqlite3_close(c->db);
    pthread_mutex_destroy(&c->mu);
    free(c);
    return NULL;
  }
  if (main_st->ck_started && !read_only) sqlite3_wal_hook(c->db, store_wal_hook, main_st);
  return c;
}

static void sqlite_conn_close(sqlite_store_t *c) {
  if (!c) return;
  for (int i = 0; i < S_COUNT; i++) sqlite3_finalize(c->stmts[i]);
  sqlite3_close(c->db);
  pthread_mutex_destroy(&c->mu);
  free(c);
}

/* Open n read connections (0: none, reads use the main connection).  An
 * in-memory or temporary database gets none: another connection would not
 * see it. */
static bool sqlite_readers_open(sqlite_store_t *st, int n, char *err, size_t errlen) {
  const char *file = sqlite3_db_filename(st->db, "main");
  if (!file || !file[0] || n <= 0) return true;
  if (n > STORE_READERS_MAX) n = STORE_READERS_MAX;
  st->readers = calloc((size_t)n, sizeof *st->readers);
  if (!st->readers) {
    snprintf(err, errlen, "out of memory");
    return false;
  }
  for (int i = 0; i < n; i++) {
    st->readers[i] = sqlite_conn_open(st, file, true, err, errlen);
    if (!st->readers[i]) return false; /* the caller's sqlite_readers_close() frees the rest */
    st->nreaders = i + 1;
  }
  return true;
}

static void sqlite_readers_close(sqlite_store_t *st) {
  for (int i = 0; i < st->nreaders; i++) sqlite_conn_close(st->readers[i]);
  free(st->readers);
  st->readers = NULL;
  st->nreaders = 0;
}

/* Start the checkpointer; on failure SQLite's own autocheckpoint stays. */
static void sqlite_checkpoint_start(sqlite_store_t *st, const char *path) {
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
  if (pthread_create(&st->ck_thread, NULL, sqlite_checkpoint_main, st) != 0) {
    pthread_cond_destroy(&st->ck_wake);
    pthread_mutex_destroy(&st->ck_mu);
    sqlite3_close(st->ck_db);
    st->ck_db = NULL;
    return;
  }
  st->ck_started = true;
  sqlite3_wal_hook(st->db, store_wal_hook, st); /* replaces the autocheckpoint */
}

static void sqlite_checkpoint_stop(sqlite_store_t *st) {
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

store_t *sqlite_open(const char *path, const store_options_t *opts, char *err, size_t errlen) {
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

  sqlite_store_t *st = calloc(1, sizeof *st);
  if (!st) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  st->base.ops = &sqlite_store_ops;
  st->owner = st;
  bool mu_init = false;
  if (pthread_mutex_init(&st->mu, NULL) != 0) goto fail;
  mu_init = true;

  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path, &st->db, flags, NULL);
  if (rc != SQLITE_OK) {
    snprintf(err, errlen, "cannot open %s: %s", path,
             st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
    goto fail;
  }

  sqlite_lock(st); /* cannot fail: fresh mutex, no other thread yet */
  bool ok = configure_locked(st, err, errlen) && migrate_locked(st, err, errlen);
  sqlite_unlock(st);
  if (!ok) goto fail;

  sqlite_checkpoint_start(st, path);
  if (!sqlite_readers_open(st, opts ? opts->readers : STORE_READERS_DEFAULT, err, errlen))
    goto fail;

  int gc_max = opts ? opts->group_commit_max : 1;
  if (gc_max > 1) {
    st->gc_conn = sqlite_conn_open(st, path, false, err, errlen);
    if (!st->gc_conn) goto fail;
    st->gc = group_commit_start(gc_max, sqlite_job_insert_batch, st->gc_conn, err, errlen);
    if (!st->gc) goto fail;
  }
  return &st->base;

fail:
  sqlite_readers_close(st);
  sqlite_conn_close(st->gc_conn);
  sqlite_checkpoint_stop(st);
  if (st->db) sqlite3_close(st->db);
  if (mu_init) pthread_mutex_destroy(&st->mu);
  if (!err[0]) snprintf(err, errlen, "cannot initialise the store");
  free(st);
  return NULL;
}

void sqlite_version(char *buf, size_t len) {
  snprintf(buf, len, "SQLite %s", sqlite3_libversion());
}

void sqlite_close(store_t *base_) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!st) return;
  group_commit_stop(st->gc); /* drains the queue first; later inserts are refused */
  sqlite_readers_close(st);
  sqlite_conn_close(st->gc_conn);
  sqlite_checkpoint_stop(st);
  for (int i = 0; i < S_COUNT; i++) sqlite3_finalize(st->stmts[i]);
  int rc = sqlite3_close(st->db);
  if (rc != SQLITE_OK)
    log_event(LOG_ERROR, NULL, "store close failed", "error", sqlite3_errstr(rc), (char *)NULL);
  group_commit_free(st->gc);
  pthread_mutex_destroy(&st->mu);
  free(st);
}

int sqlite_schema_version(store_t *base_) {
  sqlite_store_t *st = sqlite_of(base_);
  int64_t version = -1;
  if (!sqlite_lock(st)) return -1;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_USER_VERSION);
  if (s && sqlite_query_int64_locked(st, s, "schema version", &version) != STORE_OK) version = -1;
  sqlite_unlock(st);
  return (int)version;
}

int sqlite_schema_version_nowait(store_t *base_) {
  sqlite_store_t *st = sqlite_of(base_);
  if (sqlite_reentry_refused(st)) return -1;
  if (pthread_mutex_trylock(&st->mu) != 0) return 0;
  sqlite_held = st;
  int64_t version = -1;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_USER_VERSION);
  if (s && sqlite_query_int64_locked(st, s, "schema version", &version) != STORE_OK) version = -1;
  sqlite_unlock(st);
  return (int)version;
}

/* ---- audit and counters ---- */

/* tenant_id 0 records a system-wide event. */
store_status_t sqlite_audit_insert_locked(sqlite_store_t *st, const store_audit_t *a,
                                          int64_t new_id) {
  if (!a) return STORE_OK;
  if (!a->action) return STORE_ERROR; /* NOT NULL */
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_AUDIT_INSERT);
  if (!s) return STORE_ERROR;
  char detail[1024];
  store_audit_detail(a, new_id, detail, sizeof detail);
  sqlite_bind_id_or_null(s, 1, a->tenant_id);
  sqlite3_bind_int64(s, 2, (int64_t)time(NULL));
  sqlite_bind_str(s, 3, a->actor);
  sqlite3_bind_text(s, 4, a->action, -1, SQLITE_STATIC);
  sqlite_bind_str(s, 5, detail);
  return sqlite_stmt_exec_locked(st, s, "audit append");
}

store_status_t sqlite_audit_begin_locked(sqlite_store_t *st, const store_audit_t *a) {
  return a ? sqlite_tx_begin_locked(st) : STORE_OK;
}

store_status_t sqlite_audit_end_locked(sqlite_store_t *st, const store_audit_t *a,
                                       store_status_t status, int64_t new_id) {
  if (!a) return status;
  if (status == STORE_OK) status = sqlite_audit_insert_locked(st, a, new_id);
  if (status == STORE_OK) status = sqlite_tx_commit_locked(st);
  if (status != STORE_OK) sqlite_tx_rollback_locked(st);
  return status;
}

store_status_t sqlite_audit_append(store_t *base_, nimbus_id_t tenant_id, const char *actor,
                                   const char *action, const char *detail) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  store_audit_t a = {.tenant_id = tenant_id, .actor = actor, .action = action, .detail = detail};
  store_status_t status = sqlite_audit_insert_locked(st, &a, 0);
  sqlite_unlock(st);
  return status;
}

static void bind_audit_filter(sqlite3_stmt *s, const void *arg) {
  const store_audit_filter_t *f = arg;
  sqlite3_bind_int64(s, 1, f->tenant_id);
  sqlite3_bind_text(s, 2, f->action ? f->action : "", -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(s, 3, f->actor ? f->actor : "", -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(s, 4, f->from);
  sqlite3_bind_int64(s, 5, f->to);
  sqlite3_bind_int64(s, 6, f->before_id);
  sqlite3_bind_int(s, 7, f->limit > 0 ? f->limit : -1);
}

static bool audit_row(sqlite3_stmt *s, list_cb_t cb, void *ctx) {
  store_audit_entry_t e;
  memset(&e, 0, sizeof e);
  e.id = sqlite3_column_int64(s, 0);
  e.tenant_id = sqlite3_column_int64(s, 1);
  e.ts = sqlite3_column_int64(s, 2);
  sqlite_copy_column(s, 3, e.actor, sizeof e.actor);
  sqlite_copy_column(s, 4, e.action, sizeof e.action);
  sqlite_copy_column(s, 5, e.detail, sizeof e.detail);
  return cb.audit(&e, ctx);
}

store_status_t sqlite_audit_list(store_t *base_, const store_audit_filter_t *f, store_audit_cb cb,
                                 void *ctx) {
  if (!f || f->tenant_id <= 0) return STORE_NOT_FOUND; /* never system rows */
  return sqlite_read_rows(sqlite_of(base_), S_AUDIT_LIST, bind_audit_filter, f, audit_row,
                          (list_cb_t){.audit = cb}, ctx, "audit list");
}

store_status_t sqlite_job_count_by_state(store_t *base_, int64_t counts[10]) {
  sqlite_store_t *st = sqlite_of(base_);
  memset(counts, 0, 10 * sizeof counts[0]);
  if (!(st = sqlite_read_lock(st))) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_JOB_COUNT_BY_STATE);
  if (s) {
    int rc;
    status = STORE_OK;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      int state = sqlite3_column_int(s, 0);
      if (state >= 1 && state <= 9) counts[state] = sqlite3_column_int64(s, 1);
    }
    if (rc != SQLITE_DONE) status = sqlite_fail_locked(st, rc, "job count by state");
    sqlite_stmt_reset(s);
  }
  sqlite_read_unlock(st);
  return status;
}
