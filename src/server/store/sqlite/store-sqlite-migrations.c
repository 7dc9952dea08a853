/*
 * store-sqlite-migrations.c: the numbered schema migrations of the SQLite
 * store.  Migration N is store_sqlite_migrations[N - 1]; store-sqlite.c
 * applies each pending one in its own transaction at open and records N in
 * `PRAGMA user_version`, so a database knows exactly which ones it has.
 *
 * Rules: never edit or reorder a migration that has shipped; append a new
 * one.  A migration holds only DDL/DML without parameters and must not
 * contain BEGIN/COMMIT (the runner owns the transaction).
 *
 * Schema promises relied on by store-sqlite.c:
 *  - Every table hangs off tenants with ON DELETE CASCADE, but the ledger
 *    (migration 13: money history outlives tenants and jobs).
 *  - Tokens and jobs reference their user/queue through (tenant_id, id), so
 *    a row can never point into another tenant; a violation surfaces as
 *    SQLITE_CONSTRAINT_FOREIGNKEY, which the store reports as NOT_FOUND.
 *    (jobs.owner_id cannot use a composite key because ON DELETE SET NULL
 *    would clear tenant_id as well; the store checks the owner's tenant.)
 *  - Ids are AUTOINCREMENT: an id is never reused after a delete, so a
 *    stale id held by a cache or a client never names a newer row.
 *  - job_events.job_id has no foreign key on purpose: the event history
 *    outlives jobs deleted with their queue, and goes with the tenant.
 */
#include <stddef.h>

/* Shared with store-sqlite.c and tests/unit/test-store.c.  Migration N is
 * the NULL-terminated list of statements store_sqlite_migrations[N - 1]
 * (one string per statement keeps each literal short). */
extern const char *const *const store_sqlite_migrations[];
extern const int store_sqlite_migration_count;

/* 1: initial schema */
static const char *const migration_1[] = {
    "CREATE TABLE tenants ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  name TEXT NOT NULL UNIQUE,"
    "  display_name TEXT NOT NULL DEFAULT '',"
    "  max_document_size INTEGER NOT NULL DEFAULT 0 CHECK (max_document_size >= 0),"
    "  max_held_jobs_per_user INTEGER NOT NULL DEFAULT 0 CHECK (max_held_jobs_per_user >= 0),"
    "  created_at INTEGER NOT NULL"
    ")",

    "CREATE TABLE users ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  name TEXT NOT NULL,"
    "  role INTEGER NOT NULL DEFAULT 0 CHECK (role BETWEEN 0 AND 2),"
    "  password_hash TEXT NOT NULL DEFAULT '',"
    "  created_at INTEGER NOT NULL,"
    "  UNIQUE (tenant_id, name),"
    "  UNIQUE (tenant_id, id)"
    ")",

    "CREATE TABLE tokens ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  user_id INTEGER NOT NULL,"
    "  label TEXT NOT NULL DEFAULT '',"
    "  hash BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL DEFAULT 0,"
    "  revoked INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1)),"
    "  FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE"
    ")",
    "CREATE INDEX tokens_tenant_user ON tokens(tenant_id, user_id)",

    "CREATE TABLE queues ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  name TEXT NOT NULL,"
    "  description TEXT NOT NULL DEFAULT '',"
    "  release_immediately INTEGER NOT NULL DEFAULT 0 CHECK (release_immediately IN (0, 1)),"
    "  allow_anonymous INTEGER NOT NULL DEFAULT 0 CHECK (allow_anonymous IN (0, 1)),"
    "  created_at INTEGER NOT NULL,"
    "  UNIQUE (tenant_id, name),"
    "  UNIQUE (tenant_id, id)"
    ")",

    "CREATE TABLE jobs ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  queue_id INTEGER NOT NULL,"
    "  owner_id INTEGER REFERENCES users(id) ON DELETE SET NULL,"
    "  owner_name TEXT NOT NULL DEFAULT '',"
    "  name TEXT NOT NULL DEFAULT '',"
    "  origin_host TEXT NOT NULL DEFAULT '',"
    "  state INTEGER NOT NULL CHECK (state BETWEEN 1 AND 9),"
    "  created_at INTEGER NOT NULL,"
    "  state_changed_at INTEGER NOT NULL,"
    "  completed_at INTEGER NOT NULL DEFAULT 0,"
    "  copies INTEGER NOT NULL DEFAULT 1 CHECK (copies >= 1),"
    "  pages INTEGER NOT NULL DEFAULT 0 CHECK (pages >= 0),"
    "  impressions INTEGER NOT NULL DEFAULT 0 CHECK (impressions >= 0),"
    "  impressions_completed INTEGER NOT NULL DEFAULT 0,"
    "  num_documents INTEGER NOT NULL DEFAULT 0 CHECK (num_documents >= 0),"
    "  account_id TEXT NOT NULL DEFAULT '',"
    "  accounting_user_id TEXT NOT NULL DEFAULT '',"
    "  hold_until TEXT NOT NULL DEFAULT '',"
    "  pin_hash TEXT NOT NULL DEFAULT '',"
    "  attrs_json TEXT NOT NULL DEFAULT '',"
    "  FOREIGN KEY (tenant_id, queue_id) REFERENCES queues(tenant_id, id) ON DELETE CASCADE"
    ")",
    "CREATE INDEX jobs_tenant_state ON jobs(tenant_id, state)",
    "CREATE INDEX jobs_tenant_owner ON jobs(tenant_id, owner_id, state)",
    /* For the (tenant_id, queue_id) foreign key and sqlite_queue_delete(). */
    "CREATE INDEX jobs_tenant_queue ON jobs(tenant_id, queue_id)",
    /* For ON DELETE SET NULL when a user is deleted. */
    "CREATE INDEX jobs_owner ON jobs(owner_id)",

    "CREATE TABLE documents ("
    "  job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
    "  number INTEGER NOT NULL CHECK (number >= 1),"
    "  format TEXT NOT NULL DEFAULT '',"
    "  name TEXT NOT NULL DEFAULT '',"
    "  size INTEGER NOT NULL DEFAULT 0 CHECK (size >= 0),"
    "  pages INTEGER NOT NULL DEFAULT 0 CHECK (pages >= 0),"
    "  blob_key TEXT NOT NULL DEFAULT '',"
    "  created_at INTEGER NOT NULL,"
    "  PRIMARY KEY (job_id, number)"
    ") WITHOUT ROWID",
    "CREATE INDEX documents_blob_key ON documents(blob_key) WHERE blob_key <> ''",

    "CREATE TABLE job_events ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  job_id INTEGER NOT NULL,"
    "  ts INTEGER NOT NULL,"
    "  event TEXT NOT NULL,"
    "  from_state INTEGER CHECK (from_state BETWEEN 1 AND 9),"
    "  to_state INTEGER CHECK (to_state BETWEEN 1 AND 9),"
    "  detail TEXT NOT NULL DEFAULT ''"
    ")",
    "CREATE INDEX job_events_job ON job_events(job_id)",
    "CREATE INDEX job_events_tenant ON job_events(tenant_id, id)",

    "CREATE TABLE audit ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  tenant_id INTEGER REFERENCES tenants(id) ON DELETE CASCADE," /* NULL: system */
    "  ts INTEGER NOT NULL,"
    "  actor TEXT NOT NULL DEFAULT '',"
    "  action TEXT NOT NULL,"
    "  detail TEXT NOT NULL DEFAULT ''"
    ")",
    "CREATE INDEX audit_tenant ON audit(tenant_id, id)",
    NULL,
};

/* Migration 2: counters kept by triggers, so that the per-user pending-jobs
 * check on every submission and /metrics's jobs-by-state are O(1) instead
 * of scans that grow with the number of jobs. */
static const char *const migration_2[] = {
    "CREATE TABLE owner_pending ("
    "  tenant_id INTEGER NOT NULL,"
    "  owner_id INTEGER NOT NULL,"
    "  n INTEGER NOT NULL,"
    "  PRIMARY KEY (tenant_id, owner_id)"
    ") WITHOUT ROWID",
    "INSERT INTO owner_pending (tenant_id, owner_id, n) "
    "SELECT tenant_id, owner_id, count(*) FROM jobs "
    "WHERE owner_id IS NOT NULL AND state BETWEEN 1 AND 3 GROUP BY tenant_id, owner_id",
    "CREATE TABLE job_state_counts (state INTEGER PRIMARY KEY, n INTEGER NOT NULL)",
    "INSERT INTO job_state_counts (state, n) SELECT state, count(*) FROM jobs GROUP BY state",
    "CREATE TRIGGER jobs_count_insert AFTER INSERT ON jobs BEGIN "
    "  INSERT INTO job_state_counts (state, n) VALUES (NEW.state, 1) "
    "    ON CONFLICT (state) DO UPDATE SET n = n + 1;"
    "  INSERT INTO owner_pending (tenant_id, owner_id, n) "
    "    SELECT NEW.tenant_id, NEW.owner_id, 1 "
    "    WHERE NEW.owner_id IS NOT NULL AND NEW.state BETWEEN 1 AND 3 "
    "    ON CONFLICT (tenant_id, owner_id) DO UPDATE SET n = n + 1;"
    "END",
    "CREATE TRIGGER jobs_count_delete AFTER DELETE ON jobs BEGIN "
    "  UPDATE job_state_counts SET n = n - 1 WHERE state = OLD.state;"
    "  UPDATE owner_pending SET n = n - 1 "
    "    WHERE OLD.owner_id IS NOT NULL AND OLD.state BETWEEN 1 AND 3 "
    "    AND tenant_id = OLD.tenant_id AND owner_id = OLD.owner_id;"
    "END",
    "CREATE TRIGGER jobs_count_update AFTER UPDATE OF state, owner_id ON jobs BEGIN "
    "  UPDATE job_state_counts SET n = n - 1 WHERE state = OLD.state;"
    "  INSERT INTO job_state_counts (state, n) VALUES (NEW.state, 1) "
    "    ON CONFLICT (state) DO UPDATE SET n = n + 1;"
    "  UPDATE owner_pending SET n = n - 1 "
    "    WHERE OLD.owner_id IS NOT NULL AND OLD.state BETWEEN 1 AND 3 "
    "    AND tenant_id = OLD.tenant_id AND owner_id = OLD.owner_id;"
    "  INSERT INTO owner_pending (tenant_id, owner_id, n) "
    "    SELECT NEW.tenant_id, NEW.owner_id, 1 "
    "    WHERE NEW.owner_id IS NOT NULL AND NEW.state BETWEEN 1 AND 3 "
    "    ON CONFLICT (tenant_id, owner_id) DO UPDATE SET n = n + 1;"
    "END",
    NULL,
};

/* Migration 3: bytes of small documents kept inline (store.h). */
static const char *const migration_3[] = {
    "CREATE TABLE document_data ("
    "  job_id INTEGER NOT NULL,"
    "  number INTEGER NOT NULL,"
    "  data BLOB NOT NULL,"
    "  PRIMARY KEY (job_id, number),"
    "  FOREIGN KEY (job_id, number) REFERENCES documents (job_id, number) ON DELETE CASCADE"
    ")",
    NULL,
};

/* Migration 4: output devices (printers in the cloud, IPP INFRA).
 *  - devices: one registration per row.  uuid is unique among registered
 *    devices ('' while unclaimed: a partial index); claim_hash and
 *    credential_hash are SHA-256 of the secrets, NULL when there is none
 *    (UNIQUE ignores NULLs).
 *  - device_queues: the queues a device serves, through (tenant_id, id) on
 *    both sides so a device can never serve another tenant's queue;
 *    deleting the device or the queue deletes the link.
 *  - device_tombstones: the credential hashes of deleted registrations, so
 *    that a printer still using one gets the deregistration answer.
 *  - jobs.device_id: the device processing the job (0: none; no foreign
 *    key, the id of a deleted device stays in finished jobs' history),
 *    jobs.target_device_id: the only device that may fetch it (0: any). */
static const char *const migration_4[] = {
    "CREATE TABLE devices ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  name TEXT NOT NULL,"
    "  status INTEGER NOT NULL DEFAULT 1 CHECK (status IN (1, 2)),"
    "  uuid TEXT NOT NULL DEFAULT '',"
    "  claim_hash BLOB UNIQUE CHECK (claim_hash IS NULL OR length(claim_hash) = 32),"
    "  claim_expires_at INTEGER NOT NULL DEFAULT 0,"
    "  credential_hash BLOB UNIQUE CHECK (credential_hash IS NULL OR length(credential_hash) = 32),"
    "  created_at INTEGER NOT NULL,"
    "  registered_at INTEGER NOT NULL DEFAULT 0,"
    "  last_seen_at INTEGER NOT NULL DEFAULT 0,"
    "  transport TEXT NOT NULL DEFAULT '',"
    "  printer_state INTEGER NOT NULL DEFAULT 0,"
    "  state_reasons TEXT NOT NULL DEFAULT '',"
    "  make_model TEXT NOT NULL DEFAULT '',"
    "  attrs BLOB,"
    "  attrs_updated_at INTEGER NOT NULL DEFAULT 0,"
    "  UNIQUE (tenant_id, name),"
    "  UNIQUE (tenant_id, id)"
    ")",
    "CREATE UNIQUE INDEX devices_uuid ON devices(uuid) WHERE uuid <> ''",

    "CREATE TABLE device_queues ("
    "  device_id INTEGER NOT NULL,"
    "  tenant_id INTEGER NOT NULL,"
    "  queue_id INTEGER NOT NULL,"
    "  PRIMARY KEY (device_id, queue_id),"
    "  FOREIGN KEY (tenant_id, device_id) REFERENCES devices(tenant_id, id) ON DELETE CASCADE,"
    "  FOREIGN KEY (tenant_id, queue_id) REFERENCES queues(tenant_id, id) ON DELETE CASCADE"
    ") WITHOUT ROWID",
    /* For the foreign keys and "devices serving this queue". */
    "CREATE INDEX device_queues_queue ON device_queues(tenant_id, queue_id)",
    "CREATE INDEX device_queues_device ON device_queues(tenant_id, device_id)",

    "CREATE TABLE device_tombstones ("
    "  credential_hash BLOB PRIMARY KEY CHECK (length(credential_hash) = 32),"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  device_id INTEGER NOT NULL,"
    "  name TEXT NOT NULL DEFAULT '',"
    "  uuid TEXT NOT NULL DEFAULT '',"
    "  deleted_at INTEGER NOT NULL"
    ") WITHOUT ROWID",
    "CREATE INDEX device_tombstones_tenant ON device_tombstones(tenant_id)",

    "ALTER TABLE jobs ADD COLUMN device_id INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE jobs ADD COLUMN target_device_id INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE jobs ADD COLUMN device_state_reasons TEXT NOT NULL DEFAULT ''",
    /* The lease scan (state = processing), a device's jobs in progress and
     * the re-offer on device deletion. */
    "CREATE INDEX jobs_state_device ON jobs(state, device_id)",
    NULL,
};

/* Migration 5: release at the printer (issue 4).
 *  - tenants.retention_hours (0: the server default) and panel_login,
 *    how users sign in at a printer's panel;
 *  - users.panel_pin_hash: argon2id of the panel PIN ('' = none);
 *  - queues.release_scope: which held jobs a panel lists;
 *  - jobs.origin_device_id: the printer a job came through (0: none; no
 *    foreign key, like device_id, so history outlives the device),
 *    jobs.reference: a per-job reference for payments, unique when set
 *    (existing jobs get 'J' + their id on 15 digits), and the PIN attempt
 *    counters (store_job_pin_get/_cas, policy in release.c);
 *  - panel_sessions: users signed in at a panel, by SHA-256 of the
 *    session token; they go with their user, device or tenant;
 *  - indexes for the housekeeping scan (live jobs by state and age) and
 *    the session lookups and cascades. */
static const char *const migration_5[] = {
    "ALTER TABLE tenants ADD COLUMN retention_hours INTEGER NOT NULL DEFAULT 0 "
    "CHECK (retention_hours BETWEEN 0 AND 8760)",
    "ALTER TABLE tenants ADD COLUMN panel_login TEXT NOT NULL DEFAULT 'password' "
    "CHECK (panel_login IN ('password', 'pin'))",
    "ALTER TABLE users ADD COLUMN panel_pin_hash TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE queues ADD COLUMN release_scope TEXT NOT NULL DEFAULT 'this-printer' "
    "CHECK (release_scope IN ('this-printer', 'follow-me'))",
    "ALTER TABLE jobs ADD COLUMN origin_device_id INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE jobs ADD COLUMN reference TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE jobs ADD COLUMN pin_failures INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE jobs ADD COLUMN pin_window_start INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE jobs ADD COLUMN pin_locked_until INTEGER NOT NULL DEFAULT 0",
    "UPDATE jobs SET reference = 'J' || printf('%015d', id)",
    "CREATE UNIQUE INDEX jobs_reference ON jobs(reference) WHERE reference <> ''",
    /* the retention sweep: received and held jobs by age. */
    "CREATE INDEX jobs_state_created ON jobs(state, created_at)",

    "CREATE TABLE panel_sessions ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  device_id INTEGER NOT NULL,"
    "  user_id INTEGER NOT NULL,"
    "  hash BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE,"
    "  FOREIGN KEY (tenant_id, device_id) REFERENCES devices(tenant_id, id) ON DELETE CASCADE"
    ")",
    "CREATE INDEX panel_sessions_user ON panel_sessions(tenant_id, user_id)",
    "CREATE INDEX panel_sessions_device ON panel_sessions(tenant_id, device_id)",
    "CREATE INDEX panel_sessions_expires ON panel_sessions(expires_at)",
    NULL,
};

/* Migration 6: per-tenant job numbers (issue 8): job-id on the wire is
 * jobs.number, unique per tenant, so one tenant's job-ids say nothing of
 * another's activity; jobs.id stays the internal key.
 *  - tenants.next_job_number: the next number; sqlite_job_insert() takes
 *    it and bumps it in the job's own transaction, so numbers are never
 *    reused (not even after a queue's jobs are deleted);
 *  - jobs.number: existing jobs keep their old global id as their number.
 *    That is in id order and unique per tenant, and it keeps every job-id
 *    and job-uri a client or printer already holds valid: renumbering
 *    them 1..n would make a connector's journal entry for an old job-id
 *    match a new job, which the connector then refuses to print;
 *  - each tenant continues above the highest id it ever had (job_events
 *    outlive deleted jobs), a tenant without jobs starts at 1;
 *  - jobs_tenant_number: the lookup by number, always with the tenant. */
static const char *const migration_6[] = {
    "ALTER TABLE tenants ADD COLUMN next_job_number INTEGER NOT NULL DEFAULT 1 "
    "CHECK (next_job_number >= 1)",
    "ALTER TABLE jobs ADD COLUMN number INTEGER NOT NULL DEFAULT 0",
    "UPDATE jobs SET number = id",
    "UPDATE tenants SET next_job_number = 1 + max("
    "coalesce((SELECT max(id) FROM jobs WHERE tenant_id = tenants.id), 0), "
    "coalesce((SELECT max(job_id) FROM job_events WHERE tenant_id = tenants.id), 0))",
    "CREATE UNIQUE INDEX jobs_tenant_number ON jobs(tenant_id, number)",
    NULL,
};

/* Migration 7: driverless set-up (issue 8, item 6).
 *  - devices.location: where the printer stands, as the admin wrote it
 *    ('' = unset); its IPP printer-location, and that of the queues it
 *    serves. */
static const char *const migration_7[] = {
    "ALTER TABLE devices ADD COLUMN location TEXT NOT NULL DEFAULT ''",
    NULL,
};

/* Migration 8 (issue 8, the printer's listener): the pending jobs that came
 * through one printer, for the per-printer limit
 * (store_job_count_pending_for_origin); partial, since most jobs come
 * straight to nimbusd (origin_device_id 0). */
static const char *const migration_8[] = {
    "CREATE INDEX jobs_origin_pending ON jobs(tenant_id, origin_device_id, state) "
    "WHERE origin_device_id <> 0",
    NULL,
};

/* Migration 9 (issue 8, item 11: sign-in throttle): auth_throttle counts failed sign-ins per key,
 * so that every node sharing the database refuses the same guesses and a restart forgets nothing.
 * key is SHA-256 of "<kind>\0<subject>" (the subject may be a mistyped password in a user-name
 * field, so it is not kept in clear); kind says what is counted: 'account' (tenant and user name),
 * 'address' (client address), 'panel' (printer and user name), 'claim' (claim codes per client
 * address).  A row counts failures in the fixed window that starts at window_start; expires_at
 * (window end) lets old rows go in passing (auth_throttle_expires). */
static const char *const migration_9[] = {
    "CREATE TABLE auth_throttle ("
    "  key BLOB PRIMARY KEY CHECK (length(key) = 32),"
    "  kind TEXT NOT NULL,"
    "  failures INTEGER NOT NULL CHECK (failures >= 0),"
    "  window_start INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL"
    ") WITHOUT ROWID",
    "CREATE INDEX auth_throttle_expires ON auth_throttle(expires_at)",
    NULL,
};

/* Migration 10 (issue 9, item 5: unknown user names).
 *  - user_aliases: other names of a tenant's users (a PC's local or
 *    Windows login: "DOMAIN\\jdoe", "jdoe@corp.example", "JDOE").  alias
 *    is kept as the admin wrote it; alias_key is its normal form
 *    (user_alias_normalise() in user-names.c: ASCII letters folded to
 *    lower case, every other byte as sent), unique per tenant, so a
 *    requesting-user-name matches case-insensitively.  The alias goes
 *    with its user (and tenant) by cascade;
 *  - tenants.unknown_user_names: what a job for a name that is neither a
 *    user nor an alias gets, 'refuse' (an IPP refusal the PC shows) or
 *    'hold' (kept held without an owner, the answer not telling it apart
 *    from a user's: issue 8's behaviour).  Existing tenants get 'refuse'. */
static const char *const migration_10[] = {
    "CREATE TABLE user_aliases ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  user_id INTEGER NOT NULL,"
    "  alias TEXT NOT NULL,"
    "  alias_key TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  UNIQUE (tenant_id, alias_key),"
    "  FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE"
    ")",
    "CREATE INDEX user_aliases_user ON user_aliases(tenant_id, user_id)",
    "ALTER TABLE tenants ADD COLUMN unknown_user_names TEXT NOT NULL DEFAULT 'refuse' "
    "CHECK (unknown_user_names IN ('refuse', 'hold'))",
    NULL,
};

/* Migration 11: sweep_leases, one row per periodic sweep (store_lease_take):
 * which node runs it (its --node-id) and until when, so that several
 * nodes on one database do not run the same sweep at once. */
static const char *const migration_11[] = {
    "CREATE TABLE sweep_leases ("
    "  name TEXT PRIMARY KEY,"
    "  holder TEXT NOT NULL,"
    "  expires_at INTEGER NOT NULL"
    ")",
    NULL,
};

/* Migration 12, for several nodes on one database:
 *  - the origin of each job_events row (store.h: the event feed), so that
 *    a node can tell the events other nodes committed from its own; rows
 *    from before have origin 0.  A device deletion is a job_events row too
 *    (job_id 0, event "device-deleted", detail its id);
 *  - subscriptions: the IPP event subscriptions of devices, so that every
 *    node knows each one (ids unique across nodes; AUTOINCREMENT never
 *    gives an id twice).  They go with their device, queue or tenant. */
static const char *const migration_12[] = {
    "ALTER TABLE job_events ADD COLUMN origin INTEGER NOT NULL DEFAULT 0",
    "CREATE TABLE subscriptions ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  queue_id INTEGER NOT NULL REFERENCES queues(id) ON DELETE CASCADE,"
    "  device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
    "  job_id INTEGER NOT NULL DEFAULT 0,"
    "  events INTEGER NOT NULL,"
    "  lease_seconds INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL"
    ")",
    "CREATE INDEX subscriptions_device ON subscriptions(device_id, id)",
    "CREATE INDEX subscriptions_expires ON subscriptions(expires_at)",
    NULL,
};

/* Migration 13: money (issue 12, docs/PAYMENTS.md).
 *  - tenant_billing: a tenant's currency and service fee; payment_providers:
 *    its payment provider and sealed credentials (never in clear here).
 *    Both go with the tenant;
 *  - price_tables: unique by name per tenant; queues and devices name one
 *    in price_table_id (NULL: none; ON DELETE SET NULL, so deleting a
 *    table leaves them without one; the store checks the table's tenant,
 *    a composite key could not SET NULL without clearing tenant_id) and
 *    their payment mode in payment ('' = not set here);
 *  - job_quotes: one fee per job, going with the job;
 *  - payments: one row per job and attempt.  They go with their job (and
 *    so with the tenant, whose deletion cascades its jobs); device_id has
 *    no foreign key (history outlives the printer).  order_id is unique
 *    (our idempotency key at the provider) and a job has at most one open
 *    payment (RESERVING or PENDING: the partial index payments_open);
 *  - ledger_postings and ledger_entries: the double-entry ledger.  No
 *    foreign key to tenants, jobs or payments: money history outlives them
 *    all, and triggers refuse every UPDATE and DELETE (append-only). */
static const char *const migration_13[] = {
    "CREATE TABLE tenant_billing ("
    "  tenant_id INTEGER PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,"
    "  currency TEXT NOT NULL DEFAULT '',"
    "  service_fee_fixed INTEGER NOT NULL DEFAULT 0 CHECK (service_fee_fixed >= 0),"
    "  service_fee_bps INTEGER NOT NULL DEFAULT 0 CHECK (service_fee_bps >= 0),"
    "  updated_at INTEGER NOT NULL"
    ")",
    "CREATE TABLE payment_providers ("
    "  tenant_id INTEGER PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,"
    "  provider TEXT NOT NULL,"
    "  sealed BLOB NOT NULL,"
    "  updated_at INTEGER NOT NULL"
    ")",
    "CREATE TABLE price_tables ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  name TEXT NOT NULL,"
    "  spec TEXT NOT NULL DEFAULT '',"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  UNIQUE (tenant_id, name)"
    ")",
    "ALTER TABLE queues ADD COLUMN price_table_id INTEGER "
    "REFERENCES price_tables(id) ON DELETE SET NULL",
    "ALTER TABLE queues ADD COLUMN payment TEXT NOT NULL DEFAULT '' "
    "CHECK (payment IN ('', 'none', 'at-printer'))",
    "ALTER TABLE devices ADD COLUMN price_table_id INTEGER "
    "REFERENCES price_tables(id) ON DELETE SET NULL",
    "ALTER TABLE devices ADD COLUMN payment TEXT NOT NULL DEFAULT '' "
    "CHECK (payment IN ('', 'none', 'at-printer'))",
    /* For ON DELETE SET NULL when a price table goes. */
    "CREATE INDEX queues_price_table ON queues(price_table_id) WHERE price_table_id IS NOT NULL",
    "CREATE INDEX devices_price_table ON devices(price_table_id) "
    "WHERE price_table_id IS NOT NULL",

    "CREATE TABLE job_quotes ("
    "  job_id INTEGER PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  price_table_id INTEGER NOT NULL DEFAULT 0,"
    "  currency TEXT NOT NULL DEFAULT '',"
    "  print_fee INTEGER NOT NULL DEFAULT 0,"
    "  service_fee INTEGER NOT NULL DEFAULT 0,"
    "  total INTEGER NOT NULL DEFAULT 0,"
    "  detail TEXT NOT NULL DEFAULT '',"
    "  computed_at INTEGER NOT NULL"
    ")",
    "CREATE INDEX job_quotes_tenant ON job_quotes(tenant_id)",

    "CREATE TABLE payments ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
    "  device_id INTEGER NOT NULL DEFAULT 0,"
    "  attempt INTEGER NOT NULL CHECK (attempt >= 1),"
    "  provider TEXT NOT NULL DEFAULT '',"
    "  state INTEGER NOT NULL CHECK (state BETWEEN 1 AND 8),"
    "  currency TEXT NOT NULL DEFAULT '',"
    "  amount INTEGER NOT NULL CHECK (amount >= 0),"
    "  print_fee INTEGER NOT NULL DEFAULT 0 CHECK (print_fee >= 0),"
    "  service_fee INTEGER NOT NULL DEFAULT 0 CHECK (service_fee >= 0),"
    "  order_id TEXT NOT NULL UNIQUE CHECK (order_id <> ''),"
    "  provider_tx TEXT NOT NULL DEFAULT '',"
    "  payment_url TEXT NOT NULL DEFAULT '',"
    "  refund_tx TEXT NOT NULL DEFAULT '',"
    "  reason TEXT NOT NULL DEFAULT '',"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL DEFAULT 0,"
    "  paid_at INTEGER NOT NULL DEFAULT 0,"
    "  UNIQUE (job_id, attempt)"
    ")",
    "CREATE UNIQUE INDEX payments_open ON payments(job_id) WHERE state IN (1, 2)",
    "CREATE INDEX payments_tenant ON payments(tenant_id, job_id)",
    /* The reconciler's scan (store_payment_list_open). */
    "CREATE INDEX payments_in_flight ON payments(state, id) WHERE state IN (1, 2, 3, 7)",

    "CREATE TABLE ledger_postings ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  tenant_id INTEGER NOT NULL DEFAULT 0,"
    "  job_id INTEGER NOT NULL DEFAULT 0,"
    "  payment_id INTEGER NOT NULL DEFAULT 0,"
    "  kind TEXT NOT NULL,"
    "  currency TEXT NOT NULL,"
    "  memo TEXT NOT NULL DEFAULT '',"
    "  created_at INTEGER NOT NULL"
    ")",
    "CREATE INDEX ledger_postings_tenant ON ledger_postings(tenant_id, id)",
    "CREATE INDEX ledger_postings_job ON ledger_postings(job_id) WHERE job_id <> 0",
    "CREATE TABLE ledger_entries ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  posting_id INTEGER NOT NULL REFERENCES ledger_postings(id),"
    "  account TEXT NOT NULL,"
    "  amount INTEGER NOT NULL CHECK (amount <> 0)"
    ")",
    "CREATE INDEX ledger_entries_posting ON ledger_entries(posting_id)",
    "CREATE TRIGGER ledger_postings_no_update BEFORE UPDATE ON ledger_postings "
    "BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END",
    "CREATE TRIGGER ledger_postings_no_delete BEFORE DELETE ON ledger_postings "
    "BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END",
    "CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries "
    "BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END",
    "CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries "
    "BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END",
    NULL,
};

/* Migration 14: billing by purpose (issue 13, docs/BILLING.md).
 *  - tenant_billing.purpose_required: every job of the tenant must name a
 *    purpose;
 *  - billing_accounts: a tenant's shared accounts, unique by code.  The
 *    CHECKs are the invariant of model.h nimbus_billing_account_t (held
 *    >= 0; prepaid: balance - held >= 0; invoiced with a limit: charged +
 *    held <= credit_limit; an invoiced account has no balance), so a hold
 *    that would overdraw an account fails inside the database whatever
 *    runs concurrently (the store reports SQLITE_CONSTRAINT_CHECK as a
 *    refusal).  Accounts are never deleted, only closed (closed_at);
 *  - account_grants: who may charge an account (kind 1, user_id) and where
 *    its jobs may print (kind 2, device_id); the other column is NULL, so
 *    each has a real foreign key and goes with its user or printer;
 *  - purposes: a user's reasons for printing, unique by name per user, at
 *    most one default per user (partial unique index), going with the
 *    user; account_id NULL = private (the user's own money);
 *  - payment_methods: one saved method per user (replaced on a new
 *    registration), setup_id unique (the provider's key), going with the
 *    user;
 *  - job_charges: one row per job released under a purpose, going with the
 *    job.  purpose_id and user_id have no foreign key (the history
 *    outlives a deleted purpose or user: purpose_name keeps its name);
 *    account_id NULL = private. */
static const char *const migration_14[] = {
    "ALTER TABLE tenant_billing ADD COLUMN purpose_required INTEGER NOT NULL DEFAULT 0 "
    "CHECK (purpose_required IN (0, 1))",

    "CREATE TABLE billing_accounts ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  code TEXT NOT NULL CHECK (length(code) BETWEEN 1 AND 32),"
    "  name TEXT NOT NULL DEFAULT '',"
    "  mode INTEGER NOT NULL CHECK (mode IN (1, 2)),"
    "  everyone INTEGER NOT NULL DEFAULT 0 CHECK (everyone IN (0, 1)),"
    "  restrict_printers INTEGER NOT NULL DEFAULT 0 CHECK (restrict_printers IN (0, 1)),"
    "  credit_limit INTEGER NOT NULL DEFAULT 0 CHECK (credit_limit >= 0),"
    "  balance INTEGER NOT NULL DEFAULT 0,"
    "  charged INTEGER NOT NULL DEFAULT 0,"
    "  held INTEGER NOT NULL DEFAULT 0 CHECK (held >= 0),"
    "  created_at INTEGER NOT NULL,"
    "  closed_at INTEGER NOT NULL DEFAULT 0,"
    "  UNIQUE (tenant_id, code),"
    "  UNIQUE (tenant_id, id),"
    "  CHECK (mode = 2 OR balance = 0),"
    "  CHECK (mode <> 2 OR balance - held >= 0),"
    "  CHECK (mode <> 1 OR credit_limit = 0 OR charged + held <= credit_limit)"
    ")",

    "CREATE TABLE account_grants ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  account_id INTEGER NOT NULL,"
    "  kind INTEGER NOT NULL CHECK (kind IN (1, 2)),"
    "  user_id INTEGER,"
    "  device_id INTEGER,"
    "  CHECK ((kind = 1 AND user_id IS NOT NULL AND device_id IS NULL) OR "
    "         (kind = 2 AND device_id IS NOT NULL AND user_id IS NULL)),"
    "  UNIQUE (tenant_id, account_id, user_id),"
    "  UNIQUE (tenant_id, account_id, device_id),"
    "  FOREIGN KEY (tenant_id, account_id) REFERENCES billing_accounts(tenant_id, id) "
    "ON DELETE CASCADE,"
    "  FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE,"
    "  FOREIGN KEY (tenant_id, device_id) REFERENCES devices(tenant_id, id) ON DELETE CASCADE"
    ")",
    /* For the cascades from users and devices (the unique keys serve the
     * lists and lookups by account). */
    "CREATE INDEX account_grants_user ON account_grants(tenant_id, user_id) "
    "WHERE user_id IS NOT NULL",
    "CREATE INDEX account_grants_device ON account_grants(tenant_id, device_id) "
    "WHERE device_id IS NOT NULL",

    "CREATE TABLE purposes ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  user_id INTEGER NOT NULL,"
    "  name TEXT NOT NULL CHECK (name <> ''),"
    "  account_id INTEGER,"
    "  is_default INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),"
    "  defaults TEXT NOT NULL DEFAULT '{}',"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  UNIQUE (tenant_id, user_id, name),"
    "  FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE,"
    "  FOREIGN KEY (tenant_id, account_id) REFERENCES billing_accounts(tenant_id, id)"
    ")",
    "CREATE UNIQUE INDEX purposes_default ON purposes(tenant_id, user_id) WHERE is_default = 1",
    "CREATE INDEX purposes_account ON purposes(tenant_id, account_id) "
    "WHERE account_id IS NOT NULL",

    "CREATE TABLE payment_methods ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  user_id INTEGER NOT NULL,"
    "  provider TEXT NOT NULL DEFAULT '',"
    "  state INTEGER NOT NULL CHECK (state IN (1, 2, 3)),"
    "  setup_id TEXT NOT NULL UNIQUE CHECK (setup_id <> ''),"
    "  setup_tx TEXT NOT NULL DEFAULT '',"
    "  setup_url TEXT NOT NULL DEFAULT '',"
    "  sealed BLOB,"
    "  display TEXT NOT NULL DEFAULT '',"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  UNIQUE (tenant_id, user_id),"
    "  FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE"
    ")",

    "CREATE TABLE job_charges ("
    "  job_id INTEGER PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  user_id INTEGER NOT NULL DEFAULT 0,"
    "  purpose_id INTEGER NOT NULL DEFAULT 0,"
    "  purpose_name TEXT NOT NULL DEFAULT '',"
    "  account_id INTEGER,"
    "  device_id INTEGER NOT NULL DEFAULT 0,"
    "  state INTEGER NOT NULL CHECK (state BETWEEN 1 AND 5),"
    "  currency TEXT NOT NULL DEFAULT '',"
    "  hold INTEGER NOT NULL DEFAULT 0 CHECK (hold >= 0),"
    "  print_fee INTEGER NOT NULL DEFAULT 0 CHECK (print_fee >= 0),"
    "  service_fee INTEGER NOT NULL DEFAULT 0 CHECK (service_fee >= 0),"
    "  total INTEGER NOT NULL DEFAULT 0 CHECK (total >= 0),"
    "  impressions INTEGER NOT NULL DEFAULT 0 CHECK (impressions >= 0),"
    "  attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),"
    "  next_try_at INTEGER NOT NULL DEFAULT 0,"
    "  order_id TEXT NOT NULL DEFAULT '',"
    "  provider_tx TEXT NOT NULL DEFAULT '',"
    "  reason TEXT NOT NULL DEFAULT '',"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  charged_at INTEGER NOT NULL DEFAULT 0,"
    "  FOREIGN KEY (tenant_id, account_id) REFERENCES billing_accounts(tenant_id, id)"
    ")",
    "CREATE INDEX job_charges_tenant ON job_charges(tenant_id, account_id)",
    "CREATE INDEX job_charges_purpose ON job_charges(tenant_id, purpose_id)",
    /* billing/charge.c's scan (store_charge_list_due). */
    "CREATE INDEX job_charges_due ON job_charges(state, job_id) WHERE state IN (1, 4, 5)",
    NULL,
};

/* Migration 15 (issue 14): web console sessions (docs/CONSOLE.md §1.3),
 * by SHA-256 of the cookie's secret; they go with their user or tenant. */
static const char *const migration_15[] = {
    "CREATE TABLE web_sessions ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  user_id INTEGER NOT NULL,"
    "  hash BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),"
    "  created_at INTEGER NOT NULL,"
    "  last_seen_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE"
    ")",
    "CREATE INDEX web_sessions_user ON web_sessions(tenant_id, user_id)",
    "CREATE INDEX web_sessions_expires ON web_sessions(expires_at)",
    "CREATE INDEX web_sessions_seen ON web_sessions(last_seen_at)",
    NULL,
};

/* Migration 16: suspended tenants (issue 14, the operator console).
 *  - tenants.suspended: 1 refuses the tenant's users wherever they
 *    authenticate (auth.c) and its printers' device channel (device.c);
 *    nothing of the tenant is deleted, and 0 gives it all back.  The
 *    operators' tenant 'system' is never suspended (the API refuses it;
 *    the CHECK keeps a hand-edited database honest too). */
static const char *const migration_16[] = {
    "ALTER TABLE tenants ADD COLUMN suspended INTEGER NOT NULL DEFAULT 0 "
    "CHECK (suspended IN (0, 1) AND (suspended = 0 OR name <> 'system'))",
    NULL,
};

/* Migration 17: OAuth 2.0 device authorization grants (issue 15,
 * docs/FEDERATION.md §2.1) and token scopes.
 *  - tokens.scope: NULL is full access; 'federation' may only ask
 *    GET /api/v1/whoami (the token a device grant issues).
 *  - device_grants: user and device codes by SHA-256 only; who decided
 *    (tenant_id, user_id) is NULL while pending; token_id the token
 *    issued (its row may be revoked or gone). */
static const char *const migration_17[] = {
    "ALTER TABLE tokens ADD COLUMN scope TEXT CHECK (scope IS NULL OR scope = 'federation')",
    "CREATE TABLE device_grants ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  user_code_hash BLOB NOT NULL UNIQUE CHECK (length(user_code_hash) = 32),"
    "  device_code_hash BLOB NOT NULL UNIQUE CHECK (length(device_code_hash) = 32),"
    "  client_id TEXT NOT NULL,"
    "  scope TEXT NOT NULL DEFAULT 'federation',"
    "  status TEXT NOT NULL DEFAULT 'pending'"
    "    CHECK (status IN ('pending', 'approved', 'denied', 'issued')),"
    "  tenant_id INTEGER REFERENCES tenants(id) ON DELETE CASCADE,"
    "  user_id INTEGER,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  interval INTEGER NOT NULL DEFAULT 5,"
    "  last_poll_at INTEGER NOT NULL DEFAULT 0,"
    "  token_id INTEGER"
    ")",
    "CREATE INDEX device_grants_status ON device_grants(status, expires_at)",
    NULL,
};

/* Migration 18: remote printer links and the metadata of their remote
 * jobs (issue 15, docs/FEDERATION.md §1, §3).
 *  - remote_links.sealed: the claim code still to register with
 *    (claim_pending 1) or the device credential the remote issued, sealed
 *    with the secrets key (never stored in clear).
 *  - remote_links.revision: bumped by every admin change; the sync
 *    worker's writes are compare-and-set on it.
 *  - remote_jobs: metadata only, replaced by each Get-Jobs; sync_mark
 *    tells the rows of the last refresh from the vanished ones;
 *    local_job_id is set when a user takes the job at a printer. */
static const char *const migration_18[] = {
    "CREATE TABLE remote_links ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  name TEXT NOT NULL,"
    "  printer_uri TEXT NOT NULL,"
    "  system_uri TEXT NOT NULL DEFAULT '',"
    "  service_url TEXT NOT NULL DEFAULT '',"
    "  queue_id INTEGER NOT NULL,"
    "  claim_pending INTEGER NOT NULL DEFAULT 0 CHECK (claim_pending IN (0, 1)),"
    "  sealed BLOB,"
    "  output_device_uuid TEXT NOT NULL DEFAULT '',"
    "  subscription_id INTEGER NOT NULL DEFAULT 0,"
    "  last_sequence INTEGER NOT NULL DEFAULT 0,"
    "  status TEXT NOT NULL DEFAULT 'connecting' CHECK (status IN ('connecting', 'ok', "
    "'unreachable', 'credential-refused', 'deregistered')),"
    "  last_error TEXT NOT NULL DEFAULT '',"
    "  last_ok_at INTEGER NOT NULL DEFAULT 0,"
    "  next_try_at INTEGER NOT NULL DEFAULT 0,"
    "  failures INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"
    "  revision INTEGER NOT NULL DEFAULT 1,"
    "  UNIQUE (tenant_id, name),"
    "  FOREIGN KEY (tenant_id, queue_id) REFERENCES queues(tenant_id, id) ON DELETE CASCADE"
    ")",

    "CREATE TABLE remote_jobs ("
    "  link_id INTEGER NOT NULL REFERENCES remote_links(id) ON DELETE CASCADE,"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  remote_job_id INTEGER NOT NULL,"
    "  name TEXT NOT NULL DEFAULT '',"
    "  owner TEXT NOT NULL DEFAULT '',"
    "  pages INTEGER NOT NULL DEFAULT 0,"
    "  copies INTEGER NOT NULL DEFAULT 1,"
    "  sides TEXT NOT NULL DEFAULT '',"
    "  color_mode TEXT NOT NULL DEFAULT '',"
    "  media TEXT NOT NULL DEFAULT '',"
    "  submitted_at INTEGER NOT NULL DEFAULT 0,"
    "  remote_state INTEGER NOT NULL DEFAULT 0,"
    "  seen_at INTEGER NOT NULL,"
    "  sync_mark INTEGER NOT NULL DEFAULT 0,"
    "  local_job_id INTEGER,"
    "  PRIMARY KEY (link_id, remote_job_id)"
    ")",
    "CREATE INDEX remote_jobs_owner ON remote_jobs(tenant_id, owner)",
    NULL,
};

/* Migration 19 (issue 15): account links, a user's accounts on other
 * print services (docs/FEDERATION.md §2.2).  The access token and the
 * device code are sealed (crypto_seal) by federation/account-link.c; they
 * go with their user or tenant. */
static const char *const migration_19[] = {
    "CREATE TABLE account_links ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  user_id INTEGER NOT NULL,"
    "  service_url TEXT NOT NULL,"
    "  status INTEGER NOT NULL CHECK (status BETWEEN 1 AND 5),"
    "  remote_user TEXT NOT NULL DEFAULT '',"
    "  token BLOB,"
    "  device_code BLOB,"
    "  user_code TEXT NOT NULL DEFAULT '',"
    "  verification_uri TEXT NOT NULL DEFAULT '',"
    "  verification_uri_complete TEXT NOT NULL DEFAULT '',"
    "  token_endpoint TEXT NOT NULL DEFAULT '',"
    "  poll_interval INTEGER NOT NULL DEFAULT 5,"
    "  expires_at INTEGER NOT NULL DEFAULT 0,"
    "  next_poll_at INTEGER NOT NULL DEFAULT 0,"
    "  linked_at INTEGER NOT NULL DEFAULT 0,"
    "  last_checked_at INTEGER NOT NULL DEFAULT 0,"
    "  last_error TEXT NOT NULL DEFAULT '',"
    "  created_at INTEGER NOT NULL,"
    "  version INTEGER NOT NULL DEFAULT 1,"
    "  UNIQUE (tenant_id, user_id, service_url),"
    "  FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE"
    ")",
    "CREATE INDEX account_links_due ON account_links(next_poll_at) WHERE status IN (1, 2, 3)",
    NULL,
};

/* Migration 20 (issue 15): what was last reported to the remote about the
 * local copy of a taken remote job (Update-Job-Status, Update-Document-
 * Status; docs/FEDERATION.md §3), so a restart neither repeats nor loses
 * a report, and the taken jobs found by their local job. */
static const char *const migration_20[] = {
    "ALTER TABLE remote_jobs ADD COLUMN reported_state INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE remote_jobs ADD COLUMN reported_impressions INTEGER NOT NULL DEFAULT -1",
    "ALTER TABLE remote_jobs ADD COLUMN reported_done INTEGER NOT NULL DEFAULT 0",
    "CREATE INDEX remote_jobs_local ON remote_jobs(tenant_id, local_job_id) "
    "WHERE local_job_id IS NOT NULL",
    NULL,
};

/* Migration 21 (issue 16): contracts, the packages they
 * name, the incoming webhook's events, dealer grants and packages
 * (docs/PROVISIONING.md §1–§4).  status: 0 live, 1 canceled (the
 * derived status is provisioning/contract.c's). */
static const char *const migration_21[] = {
    "CREATE TABLE contracts ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  owner_tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  name TEXT NOT NULL,"
    "  external_id TEXT,"
    "  start_at INTEGER NOT NULL,"
    "  end_at INTEGER NOT NULL,"
    "  printers_json TEXT NOT NULL,"
    "  settings_json TEXT NOT NULL,"
    "  items_json TEXT NOT NULL,"
    "  revision INTEGER NOT NULL DEFAULT 1,"
    "  status INTEGER NOT NULL DEFAULT 0 CHECK (status IN (0, 1)),"
    "  canceled_at INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  version INTEGER NOT NULL DEFAULT 1,"
    "  UNIQUE (tenant_id, name),"
    "  UNIQUE (owner_tenant_id, external_id)"
    ")",
    "CREATE INDEX contracts_due ON contracts(start_at) WHERE status = 0",
    "CREATE TABLE packages ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  owner_tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  kind TEXT NOT NULL CHECK (kind IN ('firmware', 'application')),"
    "  name TEXT NOT NULL,"
    "  version TEXT NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  sha256 TEXT NOT NULL,"
    "  blob_key TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL"
    ")",
    "CREATE INDEX packages_owner ON packages(owner_tenant_id, id)",
    "CREATE INDEX packages_blob ON packages(blob_key)",
    "CREATE TABLE contract_packages ("
    "  contract_id INTEGER NOT NULL REFERENCES contracts(id) ON DELETE CASCADE,"
    "  package_id INTEGER NOT NULL REFERENCES packages(id) ON DELETE CASCADE,"
    "  PRIMARY KEY (contract_id, package_id)"
    ")",
    "CREATE INDEX contract_packages_package ON contract_packages(package_id)",
    "CREATE TABLE contract_webhook_events ("
    "  sender TEXT NOT NULL,"
    "  event_id TEXT NOT NULL,"
    "  contract_id INTEGER,"
    "  received_at INTEGER NOT NULL,"
    "  PRIMARY KEY (sender, event_id)"
    ")",
    "CREATE INDEX contract_webhook_events_received ON contract_webhook_events(received_at)",
    "CREATE TABLE tenant_dealers ("
    "  customer_tenant_id INTEGER PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,"
    "  dealer_tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  created_at INTEGER NOT NULL"
    ")",
    "CREATE INDEX tenant_dealers_dealer ON tenant_dealers(dealer_tenant_id)",
    NULL,
};

/* Migration 22 (issue 16): the smart services
 * (docs/PROVISIONING.md §10, §11): each printer's service configurations,
 * backup snapshots (differentials against a full one, removed with it),
 * supply levels with their episodes and one order per episode, part
 * counters and one alert per part and cycle; orders and alerts carry
 * their outgoing webhook's delivery state (attempts, next_at). */
static const char *const migration_22[] = {
    "CREATE TABLE printer_services ("
    "  device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  service TEXT NOT NULL,"
    "  contract_id INTEGER NOT NULL DEFAULT 0,"
    "  settings_json TEXT NOT NULL DEFAULT '{}',"
    "  enabled INTEGER NOT NULL DEFAULT 1,"
    "  updated_at INTEGER NOT NULL,"
    "  PRIMARY KEY (device_id, service)"
    ")",
    "CREATE INDEX printer_services_contract ON printer_services(tenant_id, contract_id)",
    "CREATE TABLE backups ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
    "  mode INTEGER NOT NULL CHECK (mode IN (1, 2)),"
    "  base_id INTEGER REFERENCES backups(id) ON DELETE CASCADE,"
    "  json TEXT NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL"
    ")",
    "CREATE INDEX backups_device ON backups(device_id, mode, id)",
    "CREATE TABLE supply_levels ("
    "  device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  supply TEXT NOT NULL,"
    "  type TEXT NOT NULL DEFAULT '',"
    "  level INTEGER NOT NULL,"
    "  episode INTEGER NOT NULL DEFAULT 0,"
    "  open INTEGER NOT NULL DEFAULT 0,"
    "  updated_at INTEGER NOT NULL,"
    "  PRIMARY KEY (device_id, supply)"
    ")",
    "CREATE TABLE supply_orders ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
    "  contract_id INTEGER NOT NULL DEFAULT 0,"
    "  supply TEXT NOT NULL,"
    "  type TEXT NOT NULL DEFAULT '',"
    "  episode INTEGER NOT NULL,"
    "  level INTEGER NOT NULL,"
    "  state INTEGER NOT NULL CHECK (state IN (1, 2, 3)),"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_at INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"
    "  sent_at INTEGER NOT NULL DEFAULT 0,"
    "  UNIQUE (device_id, supply, episode)"
    ")",
    "CREATE INDEX supply_orders_due ON supply_orders(next_at) WHERE state = 1",
    "CREATE INDEX supply_orders_tenant ON supply_orders(tenant_id, id)",
    "CREATE TABLE part_counters ("
    "  device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  part TEXT NOT NULL,"
    "  replaced_at INTEGER NOT NULL,"
    "  cycle INTEGER NOT NULL,"
    "  PRIMARY KEY (device_id, part)"
    ")",
    "CREATE TABLE part_alerts ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
    "  contract_id INTEGER NOT NULL DEFAULT 0,"
    "  part TEXT NOT NULL,"
    "  cycle INTEGER NOT NULL,"
    "  impressions INTEGER NOT NULL,"
    "  state INTEGER NOT NULL CHECK (state IN (1, 2, 3)),"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_at INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"
    "  sent_at INTEGER NOT NULL DEFAULT 0,"
    "  UNIQUE (device_id, part, cycle)"
    ")",
    "CREATE INDEX part_alerts_due ON part_alerts(next_at) WHERE state = 1",
    "CREATE INDEX part_alerts_tenant ON part_alerts(tenant_id, id)",
    NULL,
};

/* Migration 23 (issue 16): provisioning runs (docs/PROVISIONING.md
 * §5–§7).  A run per contract event, unique (contract_id, revision): the
 * run with its steps is inserted in one transaction that does nothing when
 * the row exists, so two nodes or a restart never make two runs.
 * A backup restore's run (kind restore) has no contract (contract_id
 * NULL: NULLs never meet under the unique constraint, in either backend)
 * and names its printer and backup; provisioning_runs_restoring lets a
 * printer have one running restore at a time.
 * provisioning_coverage: the printers a run was planned for (with steps
 * or not), so a printer registered later under a "printers":"all"
 * contract is planned once (a run's coverage is widened).  Steps go with
 * their printer; provisioning_events is the step history (one row per
 * change, written with it).  device_inventory: what the printer last
 * reported (§8.2). */
static const char *const migration_23[] = {
    "CREATE TABLE provisioning_runs ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  contract_id INTEGER,"
    "  revision INTEGER NOT NULL CHECK (revision >= 1),"
    "  kind TEXT NOT NULL CHECK (kind IN ('start', 'renewal', 'restore')),"
    "  state INTEGER NOT NULL DEFAULT 1 CHECK (state BETWEEN 1 AND 4),"
    "  created_at INTEGER NOT NULL,"
    "  finished_at INTEGER NOT NULL DEFAULT 0,"
    "  note TEXT NOT NULL DEFAULT '',"
    "  device_id INTEGER REFERENCES devices(id) ON DELETE CASCADE,"
    "  backup_id INTEGER,"
    "  UNIQUE (contract_id, revision),"
    "  CHECK ((kind = 'restore') = (contract_id IS NULL AND device_id IS NOT NULL "
    "AND backup_id IS NOT NULL))"
    ")",
    "CREATE INDEX provisioning_runs_running ON provisioning_runs(id) WHERE state = 1",
    "CREATE UNIQUE INDEX provisioning_runs_restoring ON provisioning_runs(device_id) "
    "WHERE kind = 'restore' AND state = 1",
    "CREATE TABLE provisioning_coverage ("
    "  run_id INTEGER NOT NULL REFERENCES provisioning_runs(id) ON DELETE CASCADE,"
    "  device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
    "  planned_at INTEGER NOT NULL,"
    "  PRIMARY KEY (run_id, device_id)"
    ")",
    "CREATE TABLE provisioning_steps ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  run_id INTEGER NOT NULL REFERENCES provisioning_runs(id) ON DELETE CASCADE,"
    "  tenant_id INTEGER NOT NULL,"
    "  device_id INTEGER NOT NULL,"
    "  seq INTEGER NOT NULL CHECK (seq >= 1),"
    "  kind TEXT NOT NULL,"
    "  item_name TEXT NOT NULL DEFAULT '',"
    "  target_json TEXT NOT NULL DEFAULT '{}',"
    "  package_id INTEGER NOT NULL DEFAULT 0,"
    "  state INTEGER NOT NULL DEFAULT 1 CHECK (state BETWEEN 1 AND 5),"
    "  attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),"
    "  next_at INTEGER NOT NULL DEFAULT 0,"
    "  sent_at INTEGER NOT NULL DEFAULT 0,"
    "  finished_at INTEGER NOT NULL DEFAULT 0,"
    "  reason TEXT NOT NULL DEFAULT '',"
    "  UNIQUE (run_id, device_id, seq),"
    "  FOREIGN KEY (tenant_id, device_id) REFERENCES devices(tenant_id, id) ON DELETE CASCADE"
    ")",
    "CREATE INDEX provisioning_steps_device ON provisioning_steps(device_id, state)",
    "CREATE INDEX provisioning_steps_sent ON provisioning_steps(sent_at) WHERE state = 2",
    "CREATE TABLE provisioning_events ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  run_id INTEGER NOT NULL REFERENCES provisioning_runs(id) ON DELETE CASCADE,"
    "  step_id INTEGER NOT NULL,"
    "  at INTEGER NOT NULL,"
    "  from_state INTEGER NOT NULL,"
    "  to_state INTEGER NOT NULL,"
    "  detail TEXT NOT NULL DEFAULT ''"
    ")",
    "CREATE INDEX provisioning_events_step ON provisioning_events(step_id)",
    "CREATE TABLE device_inventory ("
    "  device_id INTEGER PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,"
    "  tenant_id INTEGER NOT NULL,"
    "  firmware_name TEXT NOT NULL DEFAULT '',"
    "  firmware_version TEXT NOT NULL DEFAULT '',"
    "  applications_json TEXT NOT NULL DEFAULT '{}',"
    "  settings_json TEXT NOT NULL DEFAULT '{}',"
    "  reported_at INTEGER NOT NULL"
    ")",
    NULL,
};

const char *const *const store_sqlite_migrations[] = {
    migration_1,  migration_2,  migration_3,  migration_4,  migration_5,  migration_6,
    migration_7,  migration_8,  migration_9,  migration_10, migration_11, migration_12,
    migration_13, migration_14, migration_15, migration_16, migration_17, migration_18,
    migration_19, migration_20, migration_21, migration_22, migration_23,
};

const int store_sqlite_migration_count =
    (int)(sizeof store_sqlite_migrations / sizeof store_sqlite_migrations[0]);
