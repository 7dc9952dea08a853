/*
 * store-pg.c: the PostgreSQL backend of store.h (the database of the
 * scale-out design; one nimbusd per database until notifications span
 * nodes, docs/ARCHITECTURE.md §5): open and close, the prepared statements,
 * the helpers every file of the backend uses (store-pg-private.h), the
 * schema version, audit and counters.  Accounts are in
 * store-pg-accounts.c, output devices in store-pg-devices.c, jobs and
 * documents in store-pg-jobs.c, money in store-pg-money.c, the schema in pg-migrations.c,
 * connections in pg-pool.c.
 *
 * Design:
 *  - Every store call checks a connection out of the pool for its whole
 *    duration and gives it back before returning; calls on different
 *    connections run concurrently, PostgreSQL's MVCC and row locks keep
 *    them apart.  A call of more than one statement runs in one
 *    transaction (BEGIN … COMMIT, READ COMMITTED), taking row locks
 *    where a check must hold until the write (pg_queue_delete,
 *    pg_job_apply, pg_device_delete), and is run again when the server
 *    aborts it for a deadlock (pg_transaction).
 *  - Durability: synchronous_commit is on for every connection
 *    (pg-pool.c), so an autocommit statement or COMMIT that returned has
 *    reached the server's WAL on disk.
 *  - Statements are prepared once per connection, on first use, and
 *    forgotten with the connection when it breaks.
 *  - Group commit of job inserts, as in the SQLite backend: with
 *    group_commit_max > 1 a caller of store_job_insert queues its request
 *    and sleeps; one committer thread (store/group-commit.c, the batcher
 *    both backends share) runs up to group_commit_max of them
 *    in one transaction, each inside its own SAVEPOINT so a failing
 *    insert is rolled back alone, and wakes the callers once COMMIT (one
 *    WAL flush for the batch) has returned (store-pg-jobs.c).  A batch
 *    the server aborts for a deadlock is rolled back whole and run again
 *    (pg_transaction).  With group_commit_max <= 1 each insert is its own
 *    transaction on the caller's connection.
 */
#include "store-pg-private.h"

#include <errno.h>
#include <stdlib.h>

#include "diskspace.h"

static const char *const stmt_sql[PS_COUNT] = {
    [PS_SCHEMA_VERSION] = "SELECT coalesce(max(version), 0) FROM schema_version",
    [PS_AUDIT_INSERT] =
        "INSERT INTO audit (tenant_id, ts, actor, action, detail) VALUES ($1, $2, $3, $4, $5)",
    /* store_audit_list: a tenant's rows, newest first (index audit_tenant);
     * $7 NULL: no limit */
    [PS_AUDIT_LIST] =
        "SELECT id, tenant_id, ts, actor, action, detail FROM audit "
        "WHERE tenant_id = $1 AND ($2 = '' OR action = $2) "
        "AND ($3 = '' OR strpos(actor, $3) > 0) AND ts >= $4 AND ($5 = 0 OR ts < $5) "
        "AND ($6 = 0 OR id < $6) ORDER BY id DESC LIMIT $7",
    [PS_JOB_COUNT_BY_STATE] = "SELECT state, n FROM job_state_counts",
#define TENANT_COLS                                                                 \
  "id, name, display_name, max_document_size, max_held_jobs_per_user, created_at, " \
  "retention_hours, panel_login, unknown_user_names, suspended"
    [PS_TENANT_INSERT] =
        "INSERT INTO tenants (name, display_name, max_document_size, "
        "max_held_jobs_per_user, created_at, retention_hours, panel_login, unknown_user_names, "
        "suspended) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    [PS_TENANT_GET] = "SELECT " TENANT_COLS " FROM tenants WHERE id = $1",
    [PS_TENANT_GET_BY_NAME] = "SELECT " TENANT_COLS " FROM tenants WHERE name = $1",
    [PS_TENANT_UPDATE] =
        "UPDATE tenants SET display_name = $2, max_document_size = $3, "
        "max_held_jobs_per_user = $4, retention_hours = $5, panel_login = $6, "
        "unknown_user_names = $7, suspended = $8 WHERE id = $1",
    [PS_TENANT_DELETE] = "DELETE FROM tenants WHERE id = $1",
    [PS_TENANT_LIST] = "SELECT " TENANT_COLS " FROM tenants ORDER BY name COLLATE \"C\"",
#define USER_COLS "id, tenant_id, name, role, password_hash, created_at, panel_pin_hash"
    [PS_USER_INSERT] =
        "INSERT INTO users (tenant_id, name, role, password_hash, created_at, panel_pin_hash) "
        "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    [PS_USER_GET] = "SELECT " USER_COLS " FROM users WHERE id = $1 AND tenant_id = $2",
    [PS_USER_GET_BY_NAME] = "SELECT " USER_COLS " FROM users WHERE tenant_id = $1 AND name = $2",
    [PS_USER_UPDATE] =
        "UPDATE users SET role = $3, password_hash = $4, panel_pin_hash = $5 "
        "WHERE id = $1 AND tenant_id = $2",
    [PS_USER_DELETE] = "DELETE FROM users WHERE id = $1 AND tenant_id = $2",
    [PS_USER_LIST] =
        "SELECT " USER_COLS " FROM users WHERE tenant_id = $1 ORDER BY name COLLATE \"C\"",
    [PS_USER_GET_BY_ALIAS] =
        "SELECT u.id, u.tenant_id, u.name, u.role, u.password_hash, u.created_at, "
        "u.panel_pin_hash FROM user_aliases a JOIN users u ON u.id = a.user_id "
        "AND u.tenant_id = a.tenant_id WHERE a.tenant_id = $1 AND a.alias_key = $2",
    /* lower() under the C collation folds ASCII only, as user_alias_normalise() does */
    [PS_USER_NAME_FOLDS] =
        "SELECT id FROM users WHERE tenant_id = $1 AND lower(name COLLATE \"C\") = $2 "
        "AND id <> $3 LIMIT 1",
    [PS_ALIAS_INSERT] =
        "INSERT INTO user_aliases (tenant_id, user_id, alias, alias_key, created_at) "
        "VALUES ($1, $2, $3, $4, $5) RETURNING id",
    [PS_ALIAS_DELETE] =
        "DELETE FROM user_aliases WHERE tenant_id = $1 AND user_id = $2 AND alias_key = $3",
    [PS_ALIAS_LIST] =
        "SELECT a.id, a.tenant_id, a.user_id, u.name, a.alias, a.created_at "
        "FROM user_aliases a JOIN users u ON u.id = a.user_id AND u.tenant_id = a.tenant_id "
        "WHERE a.tenant_id = $1 AND ($2::bigint = 0 OR a.user_id = $2::bigint) "
        "ORDER BY u.name COLLATE \"C\", a.alias_key COLLATE \"C\"",
#define TOKEN_COLS                                                                              \
  "t.id, t.tenant_id, t.user_id, u.name, u.role, t.label, t.hash, t.created_at, t.expires_at, " \
  "t.revoked, coalesce(t.scope, '')"
#define TOKEN_FROM "FROM tokens t JOIN users u ON u.id = t.user_id AND u.tenant_id = t.tenant_id"
    [PS_TOKEN_INSERT] =
        "INSERT INTO tokens (tenant_id, user_id, label, hash, created_at, expires_at, revoked, "
        "scope) VALUES ($1, $2, $3, $4, $5, $6, false, nullif($7, '')) RETURNING id",
    [PS_TOKEN_LOOKUP] = "SELECT " TOKEN_COLS " " TOKEN_FROM
                        " WHERE t.hash = $1 AND NOT t.revoked "
                        "AND (t.expires_at = 0 OR t.expires_at > $2)",
    [PS_TOKEN_LIST] = "SELECT " TOKEN_COLS " " TOKEN_FROM
                      " WHERE t.tenant_id = $1 AND ($2::bigint = 0 OR t.user_id = $2::bigint) "
                      "ORDER BY t.id",
    [PS_TOKEN_REVOKE] =
        "UPDATE tokens SET revoked = true "
        "WHERE id = $1 AND tenant_id = $2 AND ($3::bigint = 0 OR user_id = $3::bigint)",
#define QUEUE_COLS                                                                       \
  "id, tenant_id, name, description, release_immediately, allow_anonymous, created_at, " \
  "release_scope, coalesce(price_table_id, 0), payment"
    [PS_QUEUE_INSERT] =
        "INSERT INTO queues (tenant_id, name, description, release_immediately, "
        "allow_anonymous, created_at, release_scope) VALUES ($1, $2, $3, $4, $5, $6, $7) "
        "RETURNING id",
    [PS_QUEUE_GET_BY_NAME] = "SELECT " QUEUE_COLS " FROM queues WHERE tenant_id = $1 AND name = $2",
    [PS_QUEUE_UPDATE] =
        "UPDATE queues SET description = $3, release_immediately = $4, "
        "allow_anonymous = $5, release_scope = $6 WHERE id = $1 AND tenant_id = $2",
    /* FOR UPDATE conflicts with the KEY SHARE lock a job insert takes on
     * its queue (foreign key): no job can arrive between check and delete */
    [PS_QUEUE_LOCK] = "SELECT 1 FROM queues WHERE id = $1 AND tenant_id = $2 FOR UPDATE",
    [PS_QUEUE_HAS_LIVE_JOBS] =
        "SELECT EXISTS (SELECT 1 FROM jobs WHERE tenant_id = $1 AND queue_id = $2 AND state < 6)",
    [PS_QUEUE_DELETE] = "DELETE FROM queues WHERE id = $1 AND tenant_id = $2",
    [PS_QUEUE_LIST] =
        "SELECT " QUEUE_COLS " FROM queues WHERE tenant_id = $1 ORDER BY name COLLATE \"C\"",
    [PS_PANEL_SESSION_INSERT] =
        "INSERT INTO panel_sessions (tenant_id, device_id, user_id, hash, created_at, "
        "expires_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    [PS_PANEL_SESSION_GET] =
        "SELECT s.id, s.tenant_id, s.device_id, s.user_id, u.name, s.hash, s.created_at, "
        "s.expires_at FROM panel_sessions s JOIN users u ON u.id = s.user_id "
        "AND u.tenant_id = s.tenant_id WHERE s.hash = $1 AND s.expires_at > $2",
    [PS_PANEL_SESSION_TOUCH] = "UPDATE panel_sessions SET expires_at = $2 WHERE id = $1",
    [PS_PANEL_SESSION_DELETE] = "DELETE FROM panel_sessions WHERE hash = $1",
    [PS_PANEL_SESSION_EXPIRE] = "DELETE FROM panel_sessions WHERE expires_at <= $1",
    [PS_WEB_SESSION_INSERT] =
        "INSERT INTO web_sessions (tenant_id, user_id, hash, created_at, last_seen_at, "
        "expires_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    [PS_WEB_SESSION_GET] =
        "SELECT id, tenant_id, user_id, hash, created_at, last_seen_at, expires_at "
        "FROM web_sessions WHERE hash = $1 AND expires_at > $2 AND last_seen_at > $2 - $3",
    [PS_WEB_SESSION_TOUCH] =
        "UPDATE web_sessions SET last_seen_at = $2 WHERE id = $1 AND last_seen_at < $2",
    [PS_WEB_SESSION_DELETE] = "DELETE FROM web_sessions WHERE hash = $1",
    [PS_WEB_SESSION_DELETE_USER] = "DELETE FROM web_sessions WHERE tenant_id = $1 AND user_id = $2",
    [PS_WEB_SESSION_DELETE_TENANT] = "DELETE FROM web_sessions WHERE tenant_id = $1",
    [PS_WEB_SESSION_SWEEP] =
        "DELETE FROM web_sessions WHERE expires_at <= $1 OR last_seen_at <= $1 - $2",
/* OAuth device grants (store-pg-oauth.c) */
#define GRANT_COLS                                                                           \
  "id, user_code_hash, device_code_hash, client_id, scope, status, coalesce(tenant_id, 0), " \
  "coalesce(user_id, 0), created_at, expires_at, interval, last_poll_at, coalesce(token_id, 0)"
    [PS_DGRANT_PRUNE] = "DELETE FROM device_grants WHERE expires_at < $1 - 86400",
    [PS_DGRANT_INSERT] =
        "INSERT INTO device_grants (user_code_hash, device_code_hash, client_id, scope, status, "
        "created_at, expires_at, interval, last_poll_at) "
        "SELECT $1::bytea, $2::bytea, $3::text, $4::text, 'pending', $5::bigint, $6::bigint, "
        "$7::integer, 0 WHERE (SELECT count(*) FROM "
        "device_grants WHERE status = 'pending' AND expires_at > $5::bigint) < $8::bigint "
        "RETURNING id",
    [PS_DGRANT_GET_BY_DEVICE] =
        "SELECT " GRANT_COLS " FROM device_grants WHERE device_code_hash = $1",
    [PS_DGRANT_GET_BY_USER] = "SELECT " GRANT_COLS " FROM device_grants WHERE user_code_hash = $1",
    [PS_DGRANT_UPDATE] =
        "UPDATE device_grants SET status = $2, tenant_id = nullif($3::bigint, 0), user_id = "
        "nullif($4::bigint, 0), "
        "interval = $5, last_poll_at = $6, token_id = nullif($7::bigint, 0) WHERE id = $1 AND "
        "status = $8",
    [PS_THROTTLE_GET] =
        "SELECT failures, window_start FROM auth_throttle WHERE key = $1 AND expires_at > $2",
    /* $2 now, $3 window: a failure in a window that has ended starts a new one */
    [PS_THROTTLE_FAIL] =
        "INSERT INTO auth_throttle AS t (key, kind, failures, window_start, expires_at) "
        "VALUES ($1, $4, 1, $2::bigint, $2::bigint + $3::bigint) ON CONFLICT (key) DO UPDATE SET "
        "failures = CASE WHEN t.expires_at <= $2::bigint THEN 1 ELSE t.failures + 1 END, "
        "window_start = CASE WHEN t.expires_at <= $2::bigint THEN $2::bigint "
        "ELSE t.window_start END, "
        "expires_at = CASE WHEN t.expires_at <= $2::bigint THEN $2::bigint + $3::bigint "
        "ELSE t.expires_at END RETURNING failures, window_start",
    [PS_THROTTLE_CLEAR] = "DELETE FROM auth_throttle WHERE key = $1",
    /* No row is returned when another holder's lease is still live. */
    [PS_LEASE_TAKE] =
        "INSERT INTO sweep_leases (name, holder, expires_at) VALUES ($1, $2, $3::bigint + $4) "
        "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
        "expires_at = excluded.expires_at "
        "WHERE sweep_leases.holder = excluded.holder OR sweep_leases.expires_at <= $3 "
        "RETURNING holder",
    [PS_THROTTLE_EXPIRE] = "DELETE FROM auth_throttle WHERE expires_at <= $1",
#define DEVICE_COLS                                                                         \
  "d.id, d.tenant_id, d.name, d.status, d.uuid, d.claim_hash, d.claim_expires_at, "         \
  "d.credential_hash, d.created_at, d.registered_at, d.last_seen_at, d.transport, "         \
  "d.printer_state, d.state_reasons, d.make_model, "                                        \
  "(SELECT count(*) FROM jobs pj WHERE pj.state = 5 AND pj.device_id = d.id), d.location, " \
  "coalesce(d.price_table_id, 0), d.payment"
    [PS_DEVICE_INSERT] =
        "INSERT INTO devices (tenant_id, name, status, claim_hash, claim_expires_at, "
        "created_at, location) VALUES ($1, $2, 1, $3, $4, $5, $6) RETURNING id",
    [PS_DEVICE_QUEUE_INSERT] =
        "INSERT INTO device_queues (device_id, tenant_id, queue_id) VALUES ($1, $2, $3) "
        "ON CONFLICT DO NOTHING",
    [PS_DEVICE_QUEUES] =
        "SELECT q.id, q.name FROM device_queues dq JOIN queues q ON q.id = dq.queue_id "
        "WHERE dq.tenant_id = $2 AND dq.device_id = $1 ORDER BY q.name COLLATE \"C\" LIMIT $3",
    [PS_DEVICE_GET] = "SELECT " DEVICE_COLS " FROM devices d WHERE d.id = $1 AND d.tenant_id = $2",
    [PS_DEVICE_GET_BY_NAME] =
        "SELECT " DEVICE_COLS " FROM devices d WHERE d.tenant_id = $1 AND d.name = $2",
    [PS_DEVICE_GET_BY_CREDENTIAL] =
        "SELECT " DEVICE_COLS " FROM devices d WHERE d.credential_hash = $1 AND d.status = 2",
    [PS_DEVICE_GET_BY_UUID] = "SELECT " DEVICE_COLS
                              " FROM devices d WHERE d.uuid = $1 AND d.uuid <> '' "
                              "AND d.status = 2",
    /* FOR UPDATE: of two claims of one code at once, the second waits and
     * then finds the code gone */
    [PS_DEVICE_GET_BY_CLAIM] =
        "SELECT id, tenant_id, claim_expires_at FROM devices WHERE claim_hash = $1 FOR UPDATE",
    [PS_DEVICE_LIST] = "SELECT " DEVICE_COLS
                       " FROM devices d WHERE d.tenant_id = $1 AND ($2::bigint = 0 OR EXISTS "
                       "(SELECT 1 FROM device_queues dq WHERE dq.tenant_id = d.tenant_id "
                       "AND dq.device_id = d.id AND dq.queue_id = $2::bigint)) "
                       "ORDER BY d.name COLLATE \"C\"",
    [PS_DEVICE_SET_CLAIM] =
        "UPDATE devices SET claim_hash = $3, claim_expires_at = $4 "
        "WHERE id = $1 AND tenant_id = $2",
    [PS_DEVICE_SET_LOCATION] = "UPDATE devices SET location = $3 WHERE id = $1 AND tenant_id = $2",
    [PS_DEVICE_UUID_OWNER] = "SELECT id FROM devices WHERE uuid = $1 AND uuid <> ''",
    [PS_DEVICE_CLAIM] =
        "UPDATE devices SET status = 2, uuid = $2, credential_hash = $3, registered_at = $4, "
        "claim_hash = NULL, claim_expires_at = 0 WHERE id = $1",
    [PS_DEVICE_SET_REPORTED] =
        "UPDATE devices SET printer_state = CASE WHEN $3::integer < 0 THEN printer_state "
        "ELSE $3::integer END, state_reasons = coalesce($4::text, state_reasons), "
        "make_model = coalesce($5::text, make_model), attrs = coalesce($6::bytea, attrs), "
        "attrs_updated_at = CASE WHEN $6::bytea IS NULL THEN attrs_updated_at ELSE $7 END "
        "WHERE id = $1 AND tenant_id = $2",
    [PS_DEVICE_GET_ATTRS] = "SELECT attrs FROM devices WHERE id = $1 AND tenant_id = $2",
    [PS_QUEUE_DEVICE_ATTRS] =
        "SELECT d.attrs FROM device_queues dq JOIN devices d ON d.id = dq.device_id "
        "WHERE dq.tenant_id = $1 AND dq.queue_id = $2 AND d.attrs IS NOT NULL "
        "ORDER BY d.attrs_updated_at DESC, d.id DESC LIMIT 1",
    [PS_DEVICE_TOUCH] =
        "UPDATE devices SET last_seen_at = greatest(last_seen_at, $3::bigint), "
        "transport = coalesce($4::text, transport) WHERE id = $1 AND tenant_id = $2",
    /* pg_device_delete(): the device row, locked first ($1 tenant, $2
     * device): a job change naming it (which KEY SHAREs it, PS_DEVICES_KEEP)
     * waits for the delete, or the delete for the change's commit. */
    [PS_DEVICE_LOCK] = "SELECT 1 FROM devices WHERE id = $2 AND tenant_id = $1 FOR UPDATE",
    /* The tombstone of a deleted registration or a replaced credential: $1
     * tenant, $2 device, $3 now. */
    [PS_DEVICE_TOMBSTONE_INSERT] =
        "INSERT INTO device_tombstones AS t (credential_hash, tenant_id, device_id, name, uuid, "
        "deleted_at) SELECT credential_hash, tenant_id, id, name, uuid, $3 FROM devices "
        "WHERE tenant_id = $1 AND id = $2 AND credential_hash IS NOT NULL "
        "ON CONFLICT (credential_hash) DO UPDATE SET tenant_id = excluded.tenant_id, "
        "device_id = excluded.device_id, name = excluded.name, uuid = excluded.uuid, "
        "deleted_at = excluded.deleted_at",
    [PS_DEVICE_TOMBSTONE_GET] =
        "SELECT device_id, tenant_id, name, uuid, deleted_at FROM device_tombstones "
        "WHERE credential_hash = $1",
    /* Does a job in one of the states $3 ("{4,5}") still name device $2
     * (after the changes)? */
    [PS_DEVICE_JOBS_LEFT] =
        "SELECT EXISTS (SELECT 1 FROM jobs WHERE tenant_id = $1 "
        "AND state = ANY ($3::text::integer[]) AND (device_id = $2 OR target_device_id = $2))",
    [PS_DEVICE_DELETE] = "DELETE FROM devices WHERE tenant_id = $1 AND id = $2",
    [PS_USER_EXISTS] = "SELECT 1 FROM users WHERE id = $1 AND tenant_id = $2",
    [PS_DEVICE_EXISTS] = "SELECT 1 FROM devices WHERE id = $1 AND tenant_id = $2",
    [PS_QUEUE_EXISTS] = "SELECT 1 FROM queues WHERE id = $1 AND tenant_id = $2",
    /* The tenant's next job number, taken inside the insert's transaction
     * (the row lock orders concurrent inserts of one tenant). */
    [PS_JOB_NUMBER_TAKE] =
        "UPDATE tenants SET next_job_number = next_job_number + 1 "
        "WHERE id = $1 RETURNING next_job_number - 1",
    /* No row back: the reference is taken (the partial unique index). */
    [PS_JOB_INSERT] =
        "INSERT INTO jobs (tenant_id, queue_id, owner_id, owner_name, name, "
        "origin_host, state, created_at, state_changed_at, completed_at, copies, "
        "pages, impressions, impressions_completed, num_documents, account_id, "
        "accounting_user_id, hold_until, pin_hash, attrs_json, origin_device_id, "
        "reference, number) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, "
        "$13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23) "
        "ON CONFLICT (reference) WHERE reference <> '' DO NOTHING RETURNING id",
#define DOC_COLS "job_id, number, format, name, size, pages, blob_key, created_at"
    [PS_DOC_INSERT] =
        "INSERT INTO documents (" DOC_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    [PS_DOC_DATA_INSERT] = "INSERT INTO document_data (job_id, number, data) VALUES ($1, $2, $3)",
    [PS_EVENT_INSERT] =
        "INSERT INTO job_events (tenant_id, job_id, ts, event, from_state, to_state, detail, "
        "origin) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    /* $4 offset, $5 length: only that part of the bytes travels */
    [PS_DOC_DATA_READ] =
        "SELECT substring(d.data FROM $4::integer + 1 FOR $5::integer) FROM document_data d "
        "JOIN jobs j ON j.id = d.job_id WHERE d.job_id = $1 AND d.number = $2 "
        "AND j.tenant_id = $3",
/* $1 tenant, $2 queue, $3 owner, $4..$5 states, $6 device, $7 fetchable
 * for, $8 origin device (0: any) */
#define JOB_FILTER                                                                 \
  "WHERE j.tenant_id = $1 AND ($2::bigint = 0 OR j.queue_id = $2::bigint) "        \
  "AND ($3::bigint = 0 OR j.owner_id = $3::bigint) AND j.state BETWEEN $4 AND $5 " \
  "AND ($6::bigint = 0 OR j.device_id = $6::bigint) "                              \
  "AND ($7::bigint = 0 OR j.target_device_id IN (0, $7::bigint)) "                 \
  "AND ($8::bigint = 0 OR j.origin_device_id = $8::bigint)"
    [PS_JOB_GET] = "SELECT " JOB_COLS " " JOB_FROM " WHERE j.id = $1 AND j.tenant_id = $2",
    [PS_JOB_GET_BY_NUMBER] =
        "SELECT " JOB_COLS " " JOB_FROM " WHERE j.number = $1 AND j.tenant_id = $2",
    /* $9 limit (NULL: all), $10 offset */
    [PS_JOB_LIST_ASC] =
        "SELECT " JOB_COLS " " JOB_FROM " " JOB_FILTER " ORDER BY j.id ASC LIMIT $9 OFFSET $10",
    [PS_JOB_LIST_DESC] =
        "SELECT " JOB_COLS " " JOB_FROM " " JOB_FILTER " ORDER BY j.id DESC LIMIT $9 OFFSET $10",
    [PS_JOB_COUNT] = "SELECT count(*) FROM jobs j " JOB_FILTER,
    [PS_JOB_COUNT_PENDING] =
        "SELECT coalesce((SELECT n FROM owner_pending WHERE tenant_id = $1 AND owner_id = $2), 0)",
    [PS_JOB_COUNT_PENDING_ORIGIN] =
        "SELECT count(*) FROM jobs WHERE tenant_id = $1 AND origin_device_id = $2 "
        "AND origin_device_id <> 0 AND state BETWEEN 1 AND 3",
    /* The locks of pg_job_apply(), taken in this order before its first
     * change (store-pg-jobs.c): the devices and the queues to set ($2,
     * "{7,9}"), KEY SHARE so none is deleted before the commit; the jobs
     * ($2) in id order; the job_state_counts rows of every state involved
     * ($1) in state order, the order the jobs_count trigger locks them in.
     * Arrays travel as their text literal (pg_param_text), hence
     * ::text::bigint[]. */
    [PS_DEVICES_KEEP] =
        "SELECT 1 FROM devices WHERE tenant_id = $1 "
        "AND id = ANY ($2::text::bigint[]) FOR KEY SHARE",
    [PS_QUEUES_KEEP] =
        "SELECT 1 FROM queues WHERE tenant_id = $1 "
        "AND id = ANY ($2::text::bigint[]) FOR KEY SHARE",
    [PS_JOBS_LOCK] =
        "SELECT 1 FROM jobs WHERE tenant_id = $1 AND id = ANY ($2::text::bigint[]) ORDER BY id "
        "FOR UPDATE",
    [PS_STATE_COUNTS_LOCK] =
        "SELECT 1 FROM job_state_counts WHERE state = ANY ($1::text::integer[]) ORDER BY state "
        "FOR UPDATE",
    /* One change of pg_job_apply(): compare $3 (state) and $13 (device,
     * when not 0); set the state, its times ($6: next is terminal) and the
     * columns whose flag ($7, $9, $11) is set.  An UPDATE of state, so
     * the jobs_count trigger keeps the counters. */
    [PS_JOB_APPLY] =
        "UPDATE jobs SET state = $4::integer, state_changed_at = $5::bigint, "
        "completed_at = CASE WHEN $6::boolean THEN $5::bigint ELSE 0 END, "
        "device_id = CASE WHEN $7::boolean THEN $8::bigint ELSE device_id END, "
        "target_device_id = CASE WHEN $9::boolean THEN $10::bigint ELSE target_device_id END, "
        "queue_id = CASE WHEN $11::boolean THEN $12::bigint ELSE queue_id END "
        "WHERE id = $1 AND tenant_id = $2 AND state = $3::integer "
        "AND ($13::bigint = 0 OR device_id = $13::bigint)",
    [PS_JOB_SET_SETTINGS] =
        "UPDATE jobs SET copies = $3::integer, impressions = $4::integer, "
        "attrs_json = $5::text WHERE id = $1 AND tenant_id = $2",
    [PS_JOB_SET_PROGRESS] =
        "UPDATE jobs SET impressions_completed = CASE WHEN $4::integer < 0 "
        "THEN impressions_completed ELSE $4::integer END, "
        "device_state_reasons = coalesce($5::text, device_state_reasons) "
        "WHERE id = $1 AND tenant_id = $2 AND device_id = $3::bigint AND $3::bigint <> 0",
    [PS_JOB_LEASE_EXPIRED] =
        "SELECT " JOB_COLS " " JOB_FROM
        " LEFT JOIN devices d ON d.id = j.device_id AND d.tenant_id = j.tenant_id "
        "WHERE j.state = 5 AND (d.id IS NULL OR greatest(d.last_seen_at, j.state_changed_at) < $1) "
        "ORDER BY j.id",
    [PS_JOB_COUNTERS] =
        "SELECT state, num_documents, pages, copies FROM jobs WHERE id = $1 AND tenant_id = $2",
    /* The same, locking the row until the transaction ends. */
    [PS_JOB_COUNTERS_LOCK] =
        "SELECT state, num_documents, pages, copies FROM jobs WHERE id = $1 AND tenant_id = $2 "
        "FOR UPDATE",
    [PS_JOB_UPDATE_COUNTERS] =
        "UPDATE jobs SET num_documents = $3, pages = $4, impressions = $5 "
        "WHERE id = $1 AND tenant_id = $2",
    [PS_DOC_LIST] = "SELECT " DOC_COLS " FROM documents WHERE job_id = $1 ORDER BY number LIMIT $2",
    [PS_BLOB_REFERENCED] =
        "SELECT EXISTS (SELECT 1 FROM documents WHERE blob_key = $1 AND blob_key <> '') "
        "OR EXISTS (SELECT 1 FROM packages WHERE blob_key = $1 AND blob_key <> '')",
    [PS_JOB_PIN_STATE] =
        "SELECT pin_failures, pin_window_start, pin_locked_until FROM jobs "
        "WHERE id = $1 AND tenant_id = $2",
    /* compare $6..$8, set $3..$5 */
    [PS_JOB_PIN_CAS] =
        "UPDATE jobs SET pin_failures = $3, pin_window_start = $4, pin_locked_until = $5 "
        "WHERE id = $1 AND tenant_id = $2 AND pin_failures = $6 AND pin_window_start = $7 "
        "AND pin_locked_until = $8",
    /* Spool keys of a job's unpurged documents, in number order. */
    [PS_DOC_PURGE_KEYS] =
        "SELECT number, blob_key FROM documents WHERE job_id = $1 "
        "AND blob_key NOT IN ('', '" STORE_INLINE_BLOB_KEY "') ORDER BY number LIMIT $2",
    /* Inline documents, and spool documents up to number $2. */
    [PS_DOC_PURGE] =
        "UPDATE documents SET blob_key = '' WHERE job_id = $1 AND blob_key <> '' "
        "AND (blob_key = '" STORE_INLINE_BLOB_KEY "' OR number <= $2)",
    [PS_DOC_DATA_PURGE] = "DELETE FROM document_data WHERE job_id = $1",
    /* pg_job_list_sweep(): $1 tenant, $2 state, $3 created before, $4
     * limit (index jobs_tenant_state); unpurged: a document row whose
     * blob_key is not cleared yet (partial index documents_blob_key). */
    [PS_JOB_SWEEP] = "SELECT " JOB_COLS " " JOB_FROM
                     " WHERE j.tenant_id = $1 AND j.state = $2 AND j.created_at < $3 "
                     "ORDER BY j.id LIMIT $4",
    [PS_JOB_SWEEP_UNPURGED] = "SELECT " JOB_COLS " " JOB_FROM
                              " WHERE j.tenant_id = $1 AND j.state = $2 AND j.created_at < $3 "
                              "AND j.id IN (SELECT dk.job_id FROM documents dk "
                              "WHERE dk.blob_key <> '') ORDER BY j.id LIMIT $4",
    /* The event feed: the rows $1 ("{id,...}") in that order, JOB_COLS first
     * (job_from_row), the event's columns after; a device deletion or a
     * job that is gone reads as an empty job. */
    [PS_FEED_ROWS] = "SELECT " JOB_COLS
                     ", e.id, e.tenant_id, e.event, coalesce(e.from_state, 0), "
                     "coalesce(e.to_state, 0), e.detail FROM job_events e "
                     "LEFT JOIN jobs j ON j.id = e.job_id LEFT JOIN queues q ON q.id = j.queue_id "
                     "LEFT JOIN devices od ON od.id = j.origin_device_id "
                     "AND od.tenant_id = j.tenant_id WHERE e.id = ANY ($1::text::bigint[]) "
                     "ORDER BY array_position($1::text::bigint[], e.id)",
#define SUB_COLS \
  "id, tenant_id, queue_id, device_id, job_id, events, lease_seconds, created_at, expires_at"
    [PS_SUB_INSERT] =
        "INSERT INTO subscriptions (tenant_id, queue_id, device_id, job_id, events, "
        "lease_seconds, created_at, expires_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    [PS_SUB_GET] = "SELECT " SUB_COLS " FROM subscriptions WHERE id = $1 AND expires_at > $2",
    [PS_SUB_LIST] = "SELECT " SUB_COLS
                    " FROM subscriptions WHERE device_id = $1 "
                    "AND expires_at > $2 ORDER BY id LIMIT $3",
    [PS_SUB_RENEW] =
        "UPDATE subscriptions SET lease_seconds = $3, expires_at = $4 "
        "WHERE id = $1 AND device_id = $2",
    [PS_SUB_DELETE] = "DELETE FROM subscriptions WHERE id = $1 AND device_id = $2",
    [PS_SUB_SWEEP] = "DELETE FROM subscriptions WHERE expires_at <= $1",
};

/* The store whose list callback this thread is running, if any. */
static _Thread_local const pg_store_t *pg_in_callback;

/* ---- parameters ---- */

/* False (and p marked) when p is full. */
static bool param_room(pg_params_t *p) {
  if (p->n < PG_PARAMS_MAX) return true;
  p->overflow = true;
  return false;
}

void pg_param_int(pg_params_t *p, int64_t v) {
  if (!param_room(p)) return;
  int i = p->n++;
  snprintf(p->ints[i], sizeof p->ints[i], "%lld", (long long)v);
  p->values[i] = p->ints[i];
  p->lengths[i] = 0;
  p->formats[i] = 0;
}

void pg_param_text(pg_params_t *p, const char *s, size_t max) {
  if (!param_room(p)) return;
  int i = p->n++;
  p->values[i] = s ? s : "";
  p->lengths[i] = s ? (int)strnlen(s, max) : 0;
  p->formats[i] = 1; /* text's binary form is its bytes */
}

void pg_param_bytes(pg_params_t *p, const void *b, size_t len) {
  if (!param_room(p)) return;
  int i = p->n++;
  p->values[i] = b;
  p->lengths[i] = (int)len;
  p->formats[i] = 1;
}

void pg_param_id_or_null(pg_params_t *p, int64_t id) {
  if (id) {
    pg_param_int(p, id);
    return;
  }
  if (!param_room(p)) return;
  int i = p->n++;
  p->values[i] = NULL;
  p->lengths[i] = 0;
  p->formats[i] = 0;
}

/* ---- connections and statements ---- */

bool pg_refused_in_callback(const pg_store_t *st, const char *what) {
  if (pg_in_callback != st) return false;
  log_event(LOG_ERROR, NULL, "store called from a list callback (refused)", "op", what,
            (char *)NULL);
  return true;
}

pg_conn_t *pg_acquire(pg_store_t *st, const char *what) {
  if (pg_refused_in_callback(st, what)) return NULL;
  bool busy;
  pg_conn_t *c = pg_pool_checkout(st->pool, PG_CHECKOUT_TIMEOUT_MS, &busy);
  if (c) c->origin = st->base.origin;
  if (!c && busy)
    log_event(LOG_ERROR, NULL, "store: no free database connection", "op", what, "waited_ms",
              LOG_INT(PG_CHECKOUT_TIMEOUT_MS), (char *)NULL);
  return c;
}

void pg_release(pg_store_t *st, pg_conn_t *c) {
  if (c) pg_pool_checkin(st->pool, c);
}

/* Map a failed result to a status (see pg_exec) and log what is not a
 * plain answer. */
static store_status_t pg_fail(pg_conn_t *c, const PGresult *r, const char *what) {
  const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
  snprintf(c->sqlstate, sizeof c->sqlstate, "%s", state ? state : "");
  if (PQstatus(c->conn) != CONNECTION_OK) c->broken = true;
  if (state && !strcmp(state, "23505")) return STORE_CONFLICT;  /* unique_violation */
  if (state && !strcmp(state, "23503")) return STORE_NOT_FOUND; /* foreign_key_violation */
  if (state && (!strcmp(state, "53100") || !strcmp(state, "53200"))) {
    /* disk_full, out_of_memory: the server could not write */
    char where[96];
    snprintf(where, sizeof where, "store: %s", what);
    disk_full_note(where, ENOSPC);
    return STORE_FULL;
  }
  char msg[256];
  snprintf(msg, sizeof msg, "%s", r ? PQresultErrorMessage(r) : PQerrorMessage(c->conn));
  size_t n = strlen(msg);
  while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) msg[--n] = '\0';
  log_event(LOG_ERROR, NULL, "store operation failed", "op", what, "sqlstate", state ? state : "-",
            "error", msg, (char *)NULL);
  return STORE_ERROR;
}

static bool pg_prepared(const pg_conn_t *c, pg_stmt_id_t id) {
  return (c->prepared[id / 64] >> (id % 64)) & 1u;
}

store_status_t pg_exec(pg_conn_t *c, pg_stmt_id_t id, const pg_params_t *p, PGresult **res,
                       const char *what) {
  _Static_assert(PS_COUNT <= PG_POOL_STMTS_MAX, "PG_POOL_STMTS_MAX too small");
  char name[16];
  snprintf(name, sizeof name, "s%d", (int)id);
  if (res) *res = NULL;
  if (p && p->overflow) {
    log_event(LOG_ERROR, NULL, "store: too many statement parameters", "op", what, (char *)NULL);
    return STORE_ERROR;
  }
  if (!pg_prepared(c, id)) {
    const char *sql = id >= PS_BILLING_FIRST ? pg_billing_sql(id)
                      : id >= PS_MONEY_FIRST ? pg_money_sql(id)
                                             : stmt_sql[id];
    PGresult *r = PQprepare(c->conn, name, sql, 0, NULL);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
      store_status_t status = pg_fail(c, r, what);
      PQclear(r);
      return status == STORE_OK ? STORE_ERROR : status;
    }
    PQclear(r);
    c->prepared[id / 64] |= (uint64_t)1 << (id % 64);
  }
  int n = p ? p->n : 0;
  PGresult *r = PQexecPrepared(c->conn, name, n, p ? p->values : NULL, p ? p->lengths : NULL,
                               p ? p->formats : NULL, 0);
  ExecStatusType rs = PQresultStatus(r);
  if (rs != PGRES_COMMAND_OK && rs != PGRES_TUPLES_OK) {
    store_status_t status = pg_fail(c, r, what);
    PQclear(r);
    return status;
  }
  if (res)
    *res = r;
  else
    PQclear(r);
  return STORE_OK;
}

store_status_t pg_exec_changes(pg_conn_t *c, pg_stmt_id_t id, const pg_params_t *p,
                               const char *what) {
  PGresult *r;
  store_status_t status = pg_exec(c, id, p, &r, what);
  if (status == STORE_OK && atoi(PQcmdTuples(r)) == 0) status = STORE_NOT_FOUND;
  PQclear(r);
  return status;
}

store_status_t pg_exec_row(pg_conn_t *c, pg_stmt_id_t id, const pg_params_t *p, PGresult **res,
                           const char *what) {
  store_status_t status = pg_exec(c, id, p, res, what);
  if (status == STORE_OK && PQntuples(*res) == 0) {
    PQclear(*res);
    *res = NULL;
    status = STORE_NOT_FOUND;
  }
  return status;
}

store_status_t pg_exec_sql(pg_conn_t *c, const char *sql, const char *what) {
  PGresult *r = PQexec(c->conn, sql);
  ExecStatusType rs = PQresultStatus(r);
  store_status_t status =
      rs == PGRES_COMMAND_OK || rs == PGRES_TUPLES_OK ? STORE_OK : pg_fail(c, r, what);
  PQclear(r);
  return status;
}

store_status_t pg_tx_begin(pg_conn_t *c) {
  return pg_exec_sql(c, "BEGIN", "begin");
}

store_status_t pg_tx_commit(pg_conn_t *c) {
  return pg_exec_sql(c, "COMMIT", "commit");
}

/* Only when a transaction is open: a failed BEGIN leaves none. */
void pg_tx_rollback(pg_conn_t *c) {
  if (PQtransactionStatus(c->conn) != PQTRANS_IDLE) pg_exec_sql(c, "ROLLBACK", "rollback");
}

/* Deadlocks (two transactions locking the same rows in another order)
 * and serialization failures abort a transaction that would succeed run
 * again. */
#define PG_TX_TRIES 4

bool pg_tx_retryable(const pg_conn_t *c) {
  return !strcmp(c->sqlstate, "40P01") || !strcmp(c->sqlstate, "40001");
}

store_status_t pg_transaction(pg_store_t *st, pg_tx_fn fn, void *arg, const char *what) {
  pg_conn_t *c = pg_acquire(st, what);
  if (!c) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  for (int attempt = 1; attempt <= PG_TX_TRIES; attempt++) {
    c->sqlstate[0] = '\0';
    status = pg_tx_begin(c);
    if (status == STORE_OK) status = fn(c, arg);
    if (status == STORE_OK) status = pg_tx_commit(c);
    if (status == STORE_OK) break;
    pg_tx_rollback(c);
    if (!pg_tx_retryable(c) || c->broken) break;
    log_event(attempt < PG_TX_TRIES ? LOG_WARN : LOG_ERROR, NULL,
              "store transaction aborted by the database", "op", what, "sqlstate", c->sqlstate,
              "attempt", LOG_INT(attempt), (char *)NULL);
  }
  pg_release(st, c);
  return status;
}

const pg_store_t *pg_callback_enter(pg_store_t *st) {
  const pg_store_t *outer = pg_in_callback;
  pg_in_callback = st;
  return outer;
}

void pg_callback_leave(const pg_store_t *outer) {
  pg_in_callback = outer;
}

void pg_each_row(pg_store_t *st, PGresult *res, pg_row_fn each, pg_list_cb_t cb, void *ctx) {
  const pg_store_t *outer = pg_callback_enter(st);
  int n = PQntuples(res);
  for (int i = 0; i < n; i++)
    if (!each(res, i, cb, ctx)) break;
  pg_callback_leave(outer);
  PQclear(res);
}

/* ---- column readers ---- */

int64_t pg_get_int64(const PGresult *res, int row, int col) {
  return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

int pg_get_int(const PGresult *res, int row, int col) {
  int64_t v = pg_get_int64(res, row, col);
  return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int)v;
}

bool pg_get_bool(const PGresult *res, int row, int col) {
  return !PQgetisnull(res, row, col) && PQgetvalue(res, row, col)[0] == 't';
}

void pg_get_text(const PGresult *res, int row, int col, char *out, size_t cap) {
  snprintf(out, cap, "%s", PQgetisnull(res, row, col) ? "" : PQgetvalue(res, row, col));
}

/* bytea in text results is "\x" and two hex digits per byte. */
void pg_get_bytes(const PGresult *res, int row, int col, unsigned char *out, size_t len) {
  const char *v = PQgetisnull(res, row, col) ? "" : PQgetvalue(res, row, col);
  if (strncmp(v, "\\x", 2) || strlen(v + 2) != 2 * len) return;
  v += 2;
  for (size_t i = 0; i < len; i++) {
    unsigned hi, lo;
    if (sscanf(v + 2 * i, "%1x%1x", &hi, &lo) != 2) return;
    out[i] = (unsigned char)(hi << 4 | lo);
  }
}

bool pg_get_bytes_copy(const PGresult *res, int row, int col, void **out, size_t *len) {
  *out = NULL;
  *len = 0;
  if (PQgetisnull(res, row, col)) return true;
  size_t n = 0;
  unsigned char *raw = PQunescapeBytea((const unsigned char *)PQgetvalue(res, row, col), &n);
  if (!raw) return false;
  void *copy = malloc(n ? n : 1);
  if (copy && n) memcpy(copy, raw, n);
  PQfreemem(raw);
  if (!copy) return false;
  *out = copy;
  *len = n;
  return true;
}

/* ---- open, close, versions ---- */

store_t *pg_open(const char *url, const store_options_t *opts, char *err, size_t errlen) {
  pg_store_t *st = calloc(1, sizeof *st);
  if (!st) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  st->base.ops = &pg_store_ops;
  char why[384];
  st->pool = pg_pool_open(url, PG_POOL_SIZE, why, sizeof why);
  if (!st->pool) {
    snprintf(err, errlen, "PostgreSQL: %s", why);
    free(st);
    return NULL;
  }
  bool busy;
  pg_conn_t *c = pg_pool_checkout(st->pool, 0, &busy);
  bool ok = c && pg_migrate(c, why, sizeof why);
  if (!c) snprintf(why, sizeof why, "no connection");
  pg_release(st, c);
  if (ok) {
    st->opened_version = pg_schema_version(&st->base);
    ok = st->opened_version > 0;
    if (!ok) snprintf(why, sizeof why, "cannot read the schema version (logged)");
  }
  int gc_max = opts ? opts->group_commit_max : 1;
  if (ok && gc_max > 1) { /* the committer (group-commit.h) runs pg_job_insert_batch */
    st->gc = group_commit_start(gc_max, pg_job_insert_batch, st, why, sizeof why);
    ok = st->gc != NULL;
  }
  if (!ok) {
    snprintf(err, errlen, "PostgreSQL: %s", why);
    pg_pool_close(st->pool);
    free(st);
    return NULL;
  }
  return &st->base;
}

void pg_version(char *buf, size_t len) {
  int v = PQlibVersion(); /* 150018 for 15.18 */
  snprintf(buf, len, "libpq %d.%d", v / 10000, v % 10000);
}

void pg_close(store_t *base) {
  pg_store_t *st = pg_of(base);
  group_commit_free(st->gc); /* drains the queue first; later inserts are refused */
  pg_pool_close(st->pool);
  free(st);
}

int pg_schema_version(store_t *base) {
  pg_store_t *st = pg_of(base);
  pg_conn_t *c = pg_acquire(st, "schema version");
  if (!c) return -1;
  PGresult *r;
  int version = -1;
  if (pg_exec_row(c, PS_SCHEMA_VERSION, NULL, &r, "schema version") == STORE_OK) {
    version = pg_get_int(r, 0, 0);
    PQclear(r);
  }
  pg_release(st, c);
  return version;
}

/* For /healthz on an event thread, which must not block: the version
 * found at open, without a query (a round trip to a slow or unreachable
 * server would stall every connection of that thread). */
int pg_schema_version_nowait(store_t *base) {
  pg_store_t *st = pg_of(base);
  return pg_in_callback == st ? -1 : st->opened_version;
}

/* ---- audit and counters ---- */

/* tenant_id 0 records a system-wide event. */
store_status_t pg_audit_insert(pg_conn_t *c, const store_audit_t *a, int64_t new_id) {
  if (!a) return STORE_OK;
  if (!a->action) return STORE_ERROR; /* NOT NULL */
  char detail[1024];
  store_audit_detail(a, new_id, detail, sizeof detail);
  pg_params_t p = {0};
  pg_param_id_or_null(&p, a->tenant_id);
  pg_param_int(&p, (int64_t)time(NULL));
  pg_param_text(&p, a->actor, SIZE_MAX);
  pg_param_text(&p, a->action, SIZE_MAX);
  pg_param_text(&p, detail, SIZE_MAX);
  return pg_exec(c, PS_AUDIT_INSERT, &p, NULL, "audit append");
}

store_status_t pg_audit_begin(pg_conn_t *c, const store_audit_t *a) {
  return a ? pg_tx_begin(c) : STORE_OK;
}

store_status_t pg_audit_end(pg_conn_t *c, const store_audit_t *a, store_status_t status,
                            int64_t new_id) {
  if (!a) return status;
  if (status == STORE_OK) status = pg_audit_insert(c, a, new_id);
  if (status == STORE_OK) status = pg_tx_commit(c);
  if (status != STORE_OK) pg_tx_rollback(c);
  return status;
}

store_status_t pg_audit_append(store_t *base, nimbus_id_t tenant_id, const char *actor,
                               const char *action, const char *detail) {
  pg_store_t *st = pg_of(base);
  pg_conn_t *c = pg_acquire(st, "audit append");
  if (!c) return STORE_ERROR;
  store_audit_t a = {.tenant_id = tenant_id, .actor = actor, .action = action, .detail = detail};
  store_status_t status = pg_audit_insert(c, &a, 0);
  pg_release(st, c);
  return status;
}

static bool audit_row(const PGresult *r, int i, pg_list_cb_t cb, void *ctx) {
  store_audit_entry_t e;
  memset(&e, 0, sizeof e);
  e.id = pg_get_int64(r, i, 0);
  e.tenant_id = pg_get_int64(r, i, 1);
  e.ts = pg_get_int64(r, i, 2);
  PG_GET_FIELD(r, i, 3, e.actor);
  PG_GET_FIELD(r, i, 4, e.action);
  PG_GET_FIELD(r, i, 5, e.detail);
  return cb.audit(&e, ctx);
}

store_status_t pg_audit_list(store_t *base, const store_audit_filter_t *f, store_audit_cb cb,
                             void *ctx) {
  if (!f || f->tenant_id <= 0) return STORE_NOT_FOUND; /* never system rows */
  pg_params_t p = {0};
  pg_param_int(&p, f->tenant_id);
  pg_param_text(&p, f->action ? f->action : "", STORE_AUDIT_ACTION_MAX);
  pg_param_text(&p, f->actor ? f->actor : "", STORE_AUDIT_ACTOR_MAX);
  pg_param_int(&p, f->from);
  pg_param_int(&p, f->to);
  pg_param_int(&p, f->before_id);
  pg_param_id_or_null(&p, f->limit > 0 ? f->limit : 0);
  return pg_read_rows(pg_of(base), PS_AUDIT_LIST, &p, audit_row, (pg_list_cb_t){.audit = cb}, ctx,
                      "audit list");
}

store_status_t pg_job_count_by_state(store_t *base, int64_t counts[10]) {
  pg_store_t *st = pg_of(base);
  memset(counts, 0, 10 * sizeof counts[0]);
  pg_conn_t *c = pg_acquire(st, "job count by state");
  if (!c) return STORE_ERROR;
  PGresult *r;
  store_status_t status = pg_exec(c, PS_JOB_COUNT_BY_STATE, NULL, &r, "job count by state");
  pg_release(st, c);
  if (status != STORE_OK) return status;
  for (int i = 0; i < PQntuples(r); i++) {
    int state = pg_get_int(r, i, 0);
    if (state >= 1 && state <= 9) counts[state] = pg_get_int64(r, i, 1);
  }
  PQclear(r);
  return STORE_OK;
}
