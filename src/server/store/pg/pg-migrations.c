/*
 * pg-migrations.c: the numbered schema migrations of the PostgreSQL store
 * and their runner.  Migration N is pg_migrations[N - 1]; each is applied
 * in its own transaction together with its row in schema_version, so a
 * database knows exactly which ones it has.
 *
 * Several nimbusd may start at once on one database: the runner holds a
 * session advisory lock (PG_MIGRATION_LOCK) from reading the version to
 * the last migration, so exactly one node migrates and the others find
 * the work done.  The lock is the database's, so nodes whose URLs name
 * different schemas (search_path) of one database also take turns.
 *
 * Migration 1 is the SQLite schema as of its migration 10
 * (store/sqlite/store-sqlite-migrations.c, which explains each table and
 * column), translated: ids are identity columns (never reused, like
 * AUTOINCREMENT), hashes and document bytes bytea, flags boolean, times
 * bigint unix seconds; the counters kept by triggers are one PL/pgSQL
 * trigger.  From here on the two backends' migrations are numbered apart:
 * a schema change is a new migration in each.
 *
 * Rules: never edit or reorder a migration that has shipped; append one.
 * No BEGIN/COMMIT inside (the runner owns the transaction).
 */
#include "store-pg-private.h"

/* The advisory lock key of migrations: "NIMB" */
#define PG_MIGRATION_LOCK "1313426754"

static const char *const migration_1[] = {
    "CREATE TABLE tenants ("
    "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  name text NOT NULL UNIQUE,"
    "  display_name text NOT NULL DEFAULT '',"
    "  max_document_size bigint NOT NULL DEFAULT 0 CHECK (max_document_size >= 0),"
    "  max_held_jobs_per_user integer NOT NULL DEFAULT 0 CHECK (max_held_jobs_per_user >= 0),"
    "  created_at bigint NOT NULL,"
    "  retention_hours integer NOT NULL DEFAULT 0 CHECK (retention_hours BETWEEN 0 AND 8760),"
    "  panel_login text NOT NULL DEFAULT 'password' CHECK (panel_login IN ('password', 'pin')),"
    "  next_job_number bigint NOT NULL DEFAULT 1 CHECK (next_job_number >= 1),"
    "  unknown_user_names text NOT NULL DEFAULT 'refuse' "
    "    CHECK (unknown_user_names IN ('refuse', 'hold'))"
    ")",

    "CREATE TABLE users ("
    "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  tenant_id bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  name text NOT NULL,"
    "  role integer NOT NULL DEFAULT 0 CHECK (role BETWEEN 0 AND 2),"
    "  password_hash text NOT NULL DEFAULT '',"
    "  created_at bigint NOT NULL,"
    "  panel_pin_hash text NOT NULL DEFAULT '',"
    "  UNIQUE (tenant_id, name),"
    "  UNIQUE (tenant_id, id)"
    ")",

    "CREATE TABLE user_aliases ("
    "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  tenant_id bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  user_id bigint NOT NULL,"
    "  alias text NOT NULL,"
    "  alias_key text NOT NULL,"
    "  created_at bigint NOT NULL,"
    "  UNIQUE (tenant_id, alias_key),"
    "  FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE"
    ")",
    "CREATE INDEX user_aliases_user ON user_aliases(tenant_id, user_id)",

    "CREATE TABLE tokens ("
    "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  tenant_id bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  user_id bigint NOT NULL,"
    "  label text NOT NULL DEFAULT '',"
    "  hash bytea NOT NULL UNIQUE CHECK (length(hash) = 32),"
    "  created_at bigint NOT NULL,"
    "  expires_at bigint NOT NULL DEFAULT 0,"
    "  revoked boolean NOT NULL DEFAULT false,"
    "  FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE"
    ")",
    "CREATE INDEX tokens_tenant_user ON tokens(tenant_id, user_id)",

    "CREATE TABLE queues ("
    "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  tenant_id bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  name text NOT NULL,"
    "  description text NOT NULL DEFAULT '',"
    "  release_immediately boolean NOT NULL DEFAULT false,"
    "  allow_anonymous boolean NOT NULL DEFAULT false,"
    "  created_at bigint NOT NULL,"
    "  release_scope text NOT NULL DEFAULT 'this-printer' "
    "    CHECK (release_scope IN ('this-printer', 'follow-me')),"
    "  UNIQUE (tenant_id, name),"
    "  UNIQUE (tenant_id, id)"
    ")",

    "CREATE TABLE jobs ("
    "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  tenant_id bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  queue_id bigint NOT NULL,"
    "  owner_id bigint REFERENCES users(id) ON DELETE SET NULL,"
    "  owner_name text NOT NULL DEFAULT '',"
    "  name text NOT NULL DEFAULT '',"
    "  origin_host text NOT NULL DEFAULT '',"
    "  state integer NOT NULL CHECK (state BETWEEN 1 AND 9),"
    "  created_at bigint NOT NULL,"
    "  state_changed_at bigint NOT NULL,"
    "  completed_at bigint NOT NULL DEFAULT 0,"
    "  copies integer NOT NULL DEFAULT 1 CHECK (copies >= 1),"
    "  pages integer NOT NULL DEFAULT 0 CHECK (pages >= 0),"
    "  impressions integer NOT NULL DEFAULT 0 CHECK (impressions >= 0),"
    "  impressions_completed integer NOT NULL DEFAULT 0,"
    "  num_documents integer NOT NULL DEFAULT 0 CHECK (num_documents >= 0),"
    "  account_id text NOT NULL DEFAULT '',"
    "  accounting_user_id text NOT NULL DEFAULT '',"
    "  hold_until text NOT NULL DEFAULT '',"
    "  pin_hash text NOT NULL DEFAULT '',"
    "  attrs_json text NOT NULL DEFAULT '',"
    "  device_id bigint NOT NULL DEFAULT 0,"
    "  target_device_id bigint NOT NULL DEFAULT 0,"
    "  device_state_reasons text NOT NULL DEFAULT '',"
    "  origin_device_id bigint NOT NULL DEFAULT 0,"
    "  reference text NOT NULL DEFAULT '',"
    "  pin_failures integer NOT NULL DEFAULT 0,"
    "  pin_window_start bigint NOT NULL DEFAULT 0,"
    "  pin_locked_until bigint NOT NULL DEFAULT 0,"
    "  number bigint NOT NULL DEFAULT 0,"
    "  FOREIGN KEY (tenant_id, queue_id) REFERENCES queues(tenant_id, id) ON DELETE CASCADE"
    ")",
    "CREATE INDEX jobs_tenant_state ON jobs(tenant_id, state)",
    "CREATE INDEX jobs_tenant_owner ON jobs(tenant_id, owner_id, state)",
    "CREATE INDEX jobs_tenant_queue ON jobs(tenant_id, queue_id)",
    "CREATE INDEX jobs_owner ON jobs(owner_id)",
    "CREATE INDEX jobs_state_device ON jobs(state, device_id)",
    "CREATE UNIQUE INDEX jobs_reference ON jobs(reference) WHERE reference <> ''",
    "CREATE INDEX jobs_state_created ON jobs(state, created_at)",
    "CREATE UNIQUE INDEX jobs_tenant_number ON jobs(tenant_id, number)",
    "CREATE INDEX jobs_origin_pending ON jobs(tenant_id, origin_device_id, state) "
    "WHERE origin_device_id <> 0",

    "CREATE TABLE documents ("
    "  job_id bigint NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
    "  number integer NOT NULL CHECK (number >= 1),"
    "  format text NOT NULL DEFAULT '',"
    "  name text NOT NULL DEFAULT '',"
    "  size bigint NOT NULL DEFAULT 0 CHECK (size >= 0),"
    "  pages integer NOT NULL DEFAULT 0 CHECK (pages >= 0),"
    "  blob_key text NOT NULL DEFAULT '',"
    "  created_at bigint NOT NULL,"
    "  PRIMARY KEY (job_id, number)"
    ")",
    "CREATE INDEX documents_blob_key ON documents(blob_key) WHERE blob_key <> ''",

    "CREATE TABLE document_data ("
    "  job_id bigint NOT NULL,"
    "  number integer NOT NULL,"
    "  data bytea NOT NULL,"
    "  PRIMARY KEY (job_id, number),"
    "  FOREIGN KEY (job_id, number) REFERENCES documents (job_id, number) ON DELETE CASCADE"
    ")",

    "CREATE TABLE job_events ("
    "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  tenant_id bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  job_id bigint NOT NULL,"
    "  ts bigint NOT NULL,"
    "  event text NOT NULL,"
    "  from_state integer CHECK (from_state BETWEEN 1 AND 9),"
    "  to_state integer CHECK (to_state BETWEEN 1 AND 9),"
    "  detail text NOT NULL DEFAULT ''"
    ")",
    "CREATE INDEX job_events_job ON job_events(job_id)",
    "CREATE INDEX job_events_tenant ON job_events(tenant_id, id)",

    "CREATE TABLE audit ("
    "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  tenant_id bigint REFERENCES tenants(id) ON DELETE CASCADE," /* NULL: system */
    "  ts bigint NOT NULL,"
    "  actor text NOT NULL DEFAULT '',"
    "  action text NOT NULL,"
    "  detail text NOT NULL DEFAULT ''"
    ")",
    "CREATE INDEX audit_tenant ON audit(tenant_id, id)",

    /* The counters of SQLite's migration 2, kept by one row trigger.  A
     * state change touches two rows of job_state_counts: the trigger locks
     * them in state order first, so two transactions moving jobs in
     * opposite directions (2 -> 4 and 4 -> 2) cannot deadlock on them.
     * Every state has its row from the start (no insert races). */
    "CREATE TABLE owner_pending ("
    "  tenant_id bigint NOT NULL,"
    "  owner_id bigint NOT NULL,"
    "  n bigint NOT NULL,"
    "  PRIMARY KEY (tenant_id, owner_id)"
    ")",
    "CREATE TABLE job_state_counts (state integer PRIMARY KEY, n bigint NOT NULL)",
    "INSERT INTO job_state_counts (state, n) SELECT s, 0 FROM generate_series(1, 9) s",
    "CREATE FUNCTION jobs_count() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "  IF TG_OP = 'UPDATE' THEN "
    "    PERFORM 1 FROM job_state_counts WHERE state IN (OLD.state, NEW.state) "
    "      ORDER BY state FOR UPDATE; "
    "  END IF; "
    "  IF TG_OP <> 'INSERT' THEN "
    "    UPDATE job_state_counts SET n = n - 1 WHERE state = OLD.state; "
    "    IF OLD.owner_id IS NOT NULL AND OLD.state BETWEEN 1 AND 3 THEN "
    "      UPDATE owner_pending SET n = n - 1 "
    "        WHERE tenant_id = OLD.tenant_id AND owner_id = OLD.owner_id; "
    "    END IF; "
    "  END IF; "
    "  IF TG_OP <> 'DELETE' THEN "
    "    UPDATE job_state_counts SET n = n + 1 WHERE state = NEW.state; "
    "    IF NEW.owner_id IS NOT NULL AND NEW.state BETWEEN 1 AND 3 THEN "
    "      INSERT INTO owner_pending AS o (tenant_id, owner_id, n) "
    "        VALUES (NEW.tenant_id, NEW.owner_id, 1) "
    "        ON CONFLICT (tenant_id, owner_id) DO UPDATE SET n = o.n + 1; "
    "    END IF; "
    "  END IF; "
    "  RETURN NULL; "
    "END $$",
    "CREATE TRIGGER jobs_count AFTER INSERT OR DELETE OR UPDATE OF state, owner_id ON jobs "
    "FOR EACH ROW EXECUTE FUNCTION jobs_count()",

    "CREATE TABLE devices ("
    "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  tenant_id bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  name text NOT NULL,"
    "  status integer NOT NULL DEFAULT 1 CHECK (status IN (1, 2)),"
    "  uuid text NOT NULL DEFAULT '',"
    "  claim_hash bytea UNIQUE CHECK (claim_hash IS NULL OR length(claim_hash) = 32),"
    "  claim_expires_at bigint NOT NULL DEFAULT 0,"
    "  credential_hash bytea UNIQUE "
    "    CHECK (credential_hash IS NULL OR length(credential_hash) = 32),"
    "  created_at bigint NOT NULL,"
    "  registered_at bigint NOT NULL DEFAULT 0,"
    "  last_seen_at bigint NOT NULL DEFAULT 0,"
    "  transport text NOT NULL DEFAULT '',"
    "  printer_state integer NOT NULL DEFAULT 0,"
    "  state_reasons text NOT NULL DEFAULT '',"
    "  make_model text NOT NULL DEFAULT '',"
    "  attrs bytea,"
    "  attrs_updated_at bigint NOT NULL DEFAULT 0,"
    "  location text NOT NULL DEFAULT '',"
    "  UNIQUE (tenant_id, name),"
    "  UNIQUE (tenant_id, id)"
    ")",
    "CREATE UNIQUE INDEX devices_uuid ON devices(uuid) WHERE uuid <> ''",
    "CREATE TABLE device_queues ("
    "  device_id bigint NOT NULL,"
    "  tenant_id bigint NOT NULL,"
    "  queue_id bigint NOT NULL,"
    "  PRIMARY KEY (device_id, queue_id),"
    "  FOREIGN KEY (tenant_id, device_id) REFERENCES devices(tenant_id, id) ON DELETE CASCADE,"
    "  FOREIGN KEY (tenant_id, queue_id) REFERENCES queues(tenant_id, id) ON DELETE CASCADE"
    ")",
    "CREATE INDEX device_queues_queue ON device_queues(tenant_id, queue_id)",
    "CREATE INDEX device_queues_device ON device_queues(tenant_id, device_id)",
    "CREATE TABLE device_tombstones ("
    "  credential_hash bytea PRIMARY KEY CHECK (length(credential_hash) = 32),"
    "  tenant_id bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  device_id bigint NOT NULL,"
    "  name text NOT NULL DEFAULT '',"
    "  uuid text NOT NULL DEFAULT '',"
    "  deleted_at bigint NOT NULL"
    ")",
    "CREATE INDEX device_tombstones_tenant ON device_tombstones(tenant_id)",

    "CREATE TABLE panel_sessions ("
    "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  tenant_id bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  device_id bigint NOT NULL,"
    "  user_id bigint NOT NULL,"
    "  hash bytea NOT NULL UNIQUE CHECK (length(hash) = 32),"
    "  created_at bigint NOT NULL,"
    "  expires_at bigint NOT NULL,"
    "  FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE,"
    "  FOREIGN KEY (tenant_id, device_id) REFERENCES devices(tenant_id, id) ON DELETE CASCADE"
    ")",
    "CREATE INDEX panel_sessions_user ON panel_sessions(tenant_id, user_id)",
    "CREATE INDEX panel_sessions_device ON panel_sessions(tenant_id, device_id)",
    "CREATE INDEX panel_sessions_expires ON panel_sessions(expires_at)",

    "CREATE TABLE auth_throttle ("
    "  key bytea PRIMARY KEY CHECK (length(key) = 32),"
    "  kind text NOT NULL,"
    "  failures integer NOT NULL CHECK (failures >= 0),"
    "  window_start bigint NOT NULL,"
    "  expires_at bigint NOT NULL"
    ")",
    "CREATE INDEX auth_throttle_expires ON auth_throttle(expires_at)",
    NULL,
};

/* Migration 2 (SQLite's 11): sweep_leases, one row per periodic sweep
 * (store_lease_take): which node runs it and until when. */
static const char *const migration_2[] = {
    "CREATE TABLE sweep_leases ("
    "  name text PRIMARY KEY,"
    "  holder text NOT NULL,"
    "  expires_at bigint NOT NULL"
    ")",
    NULL,
};

/* Migration 3 (SQLite's 12): the subscriptions table, and the origin of
 * each job_events row (store.h:
 * the event feed; device deletions are rows too, job_id 0), and a trigger
 * that NOTIFYs PG_FEED_CHANNEL ("nimbus_events") with "<schema> <origin>
 * <id>" for every row (channels are per database: the schema tells the
 * listeners of one deployment from another's in the same database).  A notification is delivered at
 * COMMIT, in commit order, and never for a transaction that rolls back: the feed of every node
 * hears exactly the committed events, which job_events ids alone (taken at INSERT, committed in any
 * order) could not tell it. */
static const char *const migration_3[] = {
    "ALTER TABLE job_events ADD COLUMN origin bigint NOT NULL DEFAULT 0",
    "CREATE FUNCTION job_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "  PERFORM pg_notify('nimbus_events', "
    "    TG_TABLE_SCHEMA || ' ' || NEW.origin::text || ' ' || NEW.id::text); "
    "  RETURN NULL; "
    "END $$",
    "CREATE TRIGGER job_events_notify AFTER INSERT ON job_events "
    "FOR EACH ROW EXECUTE FUNCTION job_events_notify()",
    /* The devices' IPP event subscriptions, known to every node (ids from
     * an identity: unique across nodes, an IPP integer). */
    "CREATE TABLE subscriptions ("
    "  id integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    "  tenant_id bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  queue_id bigint NOT NULL REFERENCES queues(id) ON DELETE CASCADE,"
    "  device_id bigint NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
    "  job_id bigint NOT NULL DEFAULT 0,"
    "  events integer NOT NULL,"
    "  lease_seconds integer NOT NULL,"
    "  created_at bigint NOT NULL,"
    "  expires_at bigint NOT NULL"
    ")",
    "CREATE INDEX subscriptions_device ON subscriptions(device_id, id)",
    "CREATE INDEX subscriptions_expires ON subscriptions(expires_at)",
    NULL,
};

/* Migration 4 (SQLite's 13): money (issue 12).  The same tables, columns
 * and rules as SQLite's migration 13, which explains them: billing
 * settings and payment providers per tenant, price tables (queues and
 * devices name one, ON DELETE SET NULL), job quotes and payments that go
 * with their job, at most one open payment per job, and the ledger with
 * no foreign key to tenants or jobs, whose rows a trigger refuses to
 * UPDATE, DELETE or TRUNCATE (append-only, enforced by the database). */
static const char *const migration_4[] = {
    "CREATE TABLE tenant_billing ("
    "  tenant_id bigint PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,"
    "  currency text NOT NULL DEFAULT '',"
    "  service_fee_fixed bigint NOT NULL DEFAULT 0 CHECK (service_fee_fixed >= 0),"
    "  service_fee_bps integer NOT NULL DEFAULT 0 CHECK (service_fee_bps >= 0),"
    "  updated_at bigint NOT NULL"
    ")",
    "CREATE TABLE payment_providers ("
    "  tenant_id bigint PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,"
    "  provider text NOT NULL,"
    "  sealed bytea NOT NULL,"
    "  updated_at bigint NOT NULL"
    ")",
    "CREATE TABLE price_tables ("
    "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  tenant_id bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  name text NOT NULL,"
    "  spec text NOT NULL DEFAULT '',"
    "  created_at bigint NOT NULL,"
    "  updated_at bigint NOT NULL,"
    "  UNIQUE (tenant_id, name)"
    ")",
    "ALTER TABLE queues ADD COLUMN price_table_id bigint "
    "REFERENCES price_tables(id) ON DELETE SET NULL",
    "ALTER TABLE queues ADD COLUMN payment text NOT NULL DEFAULT '' "
    "CHECK (payment IN ('', 'none', 'at-printer'))",
    "ALTER TABLE devices ADD COLUMN price_table_id bigint "
    "REFERENCES price_tables(id) ON DELETE SET NULL",
    "ALTER TABLE devices ADD COLUMN payment text NOT NULL DEFAULT '' "
    "CHECK (payment IN ('', 'none', 'at-printer'))",
    "CREATE INDEX queues_price_table ON queues(price_table_id) WHERE price_table_id IS NOT NULL",
    "CREATE INDEX devices_price_table ON devices(price_table_id) "
    "WHERE price_table_id IS NOT NULL",

    "CREATE TABLE job_quotes ("
    "  job_id bigint PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,"
    "  tenant_id bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  price_table_id bigint NOT NULL DEFAULT 0,"
    "  currency text NOT NULL DEFAULT '',"
    "  print_fee bigint NOT NULL DEFAULT 0,"
    "  service_fee bigint NOT NULL DEFAULT 0,"
    "  total bigint NOT NULL DEFAULT 0,"
    "  detail text NOT NULL DEFAULT '',"
    "  computed_at bigint NOT NULL"
    ")",
    "CREATE INDEX job_quotes_tenant ON job_quotes(tenant_id)",

    "CREATE TABLE payments ("
    "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  tenant_id bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  job_id bigint NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
    "  device_id bigint NOT NULL DEFAULT 0,"
    "  attempt integer NOT NULL CHECK (attempt >= 1),"
    "  provider text NOT NULL DEFAULT '',"
    "  state integer NOT NULL CHECK (state BETWEEN 1 AND 8),"
    "  currency text NOT NULL DEFAULT '',"
    "  amount bigint NOT NULL CHECK (amount >= 0),"
    "  print_fee bigint NOT NULL DEFAULT 0 CHECK (print_fee >= 0),"
    "  service_fee bigint NOT NULL DEFAULT 0 CHECK (service_fee >= 0),"
    "  order_id text NOT NULL UNIQUE CHECK (order_id <> ''),"
    "  provider_tx text NOT NULL DEFAULT '',"
    "  payment_url text NOT NULL DEFAULT '',"
    "  refund_tx text NOT NULL DEFAULT '',"
    "  reason text NOT NULL DEFAULT '',"
    "  created_at bigint NOT NULL,"
    "  updated_at bigint NOT NULL,"
    "  expires_at bigint NOT NULL DEFAULT 0,"
    "  paid_at bigint NOT NULL DEFAULT 0,"
    "  UNIQUE (job_id, attempt)"
    ")",
    "CREATE UNIQUE INDEX payments_open ON payments(job_id) WHERE state IN (1, 2)",
    "CREATE INDEX payments_tenant ON payments(tenant_id, job_id)",
    "CREATE INDEX payments_in_flight ON payments(state, id) WHERE state IN (1, 2, 3, 7)",

    "CREATE TABLE ledger_postings ("
    "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  tenant_id bigint NOT NULL DEFAULT 0,"
    "  job_id bigint NOT NULL DEFAULT 0,"
    "  payment_id bigint NOT NULL DEFAULT 0,"
    "  kind text NOT NULL,"
    "  currency text NOT NULL,"
    "  memo text NOT NULL DEFAULT '',"
    "  created_at bigint NOT NULL"
    ")",
    "CREATE INDEX ledger_postings_tenant ON ledger_postings(tenant_id, id)",
    "CREATE INDEX ledger_postings_job ON ledger_postings(job_id) WHERE job_id <> 0",
    "CREATE TABLE ledger_entries ("
    "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  posting_id bigint NOT NULL REFERENCES ledger_postings(id),"
    "  account text NOT NULL,"
    "  amount bigint NOT NULL CHECK (amount <> 0)"
    ")",
    "CREATE INDEX ledger_entries_posting ON ledger_entries(posting_id)",
    "CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "  RAISE EXCEPTION 'the ledger is append-only (%)', TG_TABLE_NAME; "
    "END $$",
    "CREATE TRIGGER ledger_postings_append_only BEFORE UPDATE OR DELETE ON ledger_postings "
    "FOR EACH ROW EXECUTE FUNCTION ledger_append_only()",
    "CREATE TRIGGER ledger_postings_no_truncate BEFORE TRUNCATE ON ledger_postings "
    "FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()",
    "CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries "
    "FOR EACH ROW EXECUTE FUNCTION ledger_append_only()",
    "CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries "
    "FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()",
    NULL,
};

/* Migration 5 (SQLite's 14): billing by purpose (issue 13; store.h
 * "billing by purpose").  The same tables, columns and rules as SQLite's
 * migration 14, which explains them: purpose_required in tenant_billing;
 * billing_accounts, never deleted (closed_at), whose invariant (model.h)
 * is kept by CHECK constraints, so no write can break it however it is
 * interleaved (the store's writes also compare in their WHERE clause, so
 * a refusal is an answer rather than an error; SQLSTATE 23514 is read as
 * the same refusal); account_grants with a real foreign key to the user
 * or the device it names (gone with it); purposes (one default per user:
 * a partial unique index); payment_methods, one per user; job_charges,
 * gone with their job, account_id NULL for a private one.  Ledger kinds
 * are not constrained ("topup" needs no change). */
static const char *const migration_5[] = {
    "ALTER TABLE tenant_billing ADD COLUMN purpose_required boolean NOT NULL DEFAULT false",

    "CREATE TABLE billing_accounts ("
    "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  tenant_id bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  code text NOT NULL CHECK (length(code) BETWEEN 1 AND 32),"
    "  name text NOT NULL DEFAULT '',"
    "  mode integer NOT NULL CHECK (mode IN (1, 2)),"
    "  everyone boolean NOT NULL DEFAULT false,"
    "  restrict_printers boolean NOT NULL DEFAULT false,"
    "  credit_limit bigint NOT NULL DEFAULT 0 CHECK (credit_limit >= 0),"
    "  balance bigint NOT NULL DEFAULT 0,"
    "  charged bigint NOT NULL DEFAULT 0,"
    "  held bigint NOT NULL DEFAULT 0 CHECK (held >= 0),"
    "  created_at bigint NOT NULL,"
    "  closed_at bigint NOT NULL DEFAULT 0,"
    "  UNIQUE (tenant_id, code),"
    "  UNIQUE (tenant_id, id),"
    "  CHECK (mode = 2 OR balance = 0),"
    "  CHECK (mode <> 2 OR balance - held >= 0),"
    "  CHECK (mode <> 1 OR credit_limit = 0 OR charged + held <= credit_limit)"
    ")",

    "CREATE TABLE account_grants ("
    "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  tenant_id bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  account_id bigint NOT NULL,"
    "  kind integer NOT NULL CHECK (kind IN (1, 2)),"
    "  user_id bigint,"
    "  device_id bigint,"
    "  CHECK ((kind = 1 AND user_id IS NOT NULL AND device_id IS NULL) OR "
    "         (kind = 2 AND device_id IS NOT NULL AND user_id IS NULL)),"
    "  UNIQUE (tenant_id, account_id, user_id),"
    "  UNIQUE (tenant_id, account_id, device_id),"
    "  FOREIGN KEY (tenant_id, account_id) REFERENCES billing_accounts(tenant_id, id) "
    "ON DELETE CASCADE,"
    "  FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE,"
    "  FOREIGN KEY (tenant_id, device_id) REFERENCES devices(tenant_id, id) ON DELETE CASCADE"
    ")",
    "CREATE INDEX account_grants_user ON account_grants(tenant_id, user_id) "
    "WHERE user_id IS NOT NULL",
    "CREATE INDEX account_grants_device ON account_grants(tenant_id, device_id) "
    "WHERE device_id IS NOT NULL",

    "CREATE TABLE purposes ("
    "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  tenant_id bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  user_id bigint NOT NULL,"
    "  name text NOT NULL CHECK (name <> ''),"
    "  account_id bigint,"
    "  is_default boolean NOT NULL DEFAULT false,"
    "  defaults text NOT NULL DEFAULT '{}',"
    "  created_at bigint NOT NULL,"
    "  updated_at bigint NOT NULL,"
    "  UNIQUE (tenant_id, user_id, name),"
    "  FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE,"
    "  FOREIGN KEY (tenant_id, account_id) REFERENCES billing_accounts(tenant_id, id)"
    ")",
    "CREATE UNIQUE INDEX purposes_default ON purposes(tenant_id, user_id) WHERE is_default",
    "CREATE INDEX purposes_account ON purposes(tenant_id, account_id) "
    "WHERE account_id IS NOT NULL",

    "CREATE TABLE payment_methods ("
    "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  tenant_id bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  user_id bigint NOT NULL,"
    "  provider text NOT NULL DEFAULT '',"
    "  state integer NOT NULL CHECK (state IN (1, 2, 3)),"
    "  setup_id text NOT NULL UNIQUE CHECK (setup_id <> ''),"
    "  setup_tx text NOT NULL DEFAULT '',"
    "  setup_url text NOT NULL DEFAULT '',"
    "  sealed bytea,"
    "  display text NOT NULL DEFAULT '',"
    "  created_at bigint NOT NULL,"
    "  updated_at bigint NOT NULL,"
    "  UNIQUE (tenant_id, user_id),"
    "  FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE"
    ")",

    "CREATE TABLE job_charges ("
    "  job_id bigint PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,"
    "  tenant_id bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  user_id bigint NOT NULL DEFAULT 0,"
    "  purpose_id bigint NOT NULL DEFAULT 0,"
    "  purpose_name text NOT NULL DEFAULT '',"
    "  account_id bigint,"
    "  device_id bigint NOT NULL DEFAULT 0,"
    "  state integer NOT NULL CHECK (state BETWEEN 1 AND 5),"
    "  currency text NOT NULL DEFAULT '',"
    "  hold bigint NOT NULL DEFAULT 0 CHECK (hold >= 0),"
    "  print_fee bigint NOT NULL DEFAULT 0 CHECK (print_fee >= 0),"
    "  service_fee bigint NOT NULL DEFAULT 0 CHECK (service_fee >= 0),"
    "  total bigint NOT NULL DEFAULT 0 CHECK (total >= 0),"
    "  impressions integer NOT NULL DEFAULT 0 CHECK (impressions >= 0),"
    "  attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),"
    "  next_try_at bigint NOT NULL DEFAULT 0,"
    "  order_id text NOT NULL DEFAULT '',"
    "  provider_tx text NOT NULL DEFAULT '',"
    "  reason text NOT NULL DEFAULT '',"
    "  created_at bigint NOT NULL,"
    "  updated_at bigint NOT NULL,"
    "  charged_at bigint NOT NULL DEFAULT 0,"
    "  FOREIGN KEY (tenant_id, account_id) REFERENCES billing_accounts(tenant_id, id)"
    ")",
    "CREATE INDEX job_charges_tenant ON job_charges(tenant_id, account_id)",
    "CREATE INDEX job_charges_purpose ON job_charges(tenant_id, purpose_id)",
    "CREATE INDEX job_charges_due ON job_charges(state, job_id) WHERE state IN (1, 4, 5)",
    NULL,
};

/* Migration 6 (issue 14): web console sessions (docs/CONSOLE.md §1.3),
 * by SHA-256 of the cookie's secret; they go with their user or tenant.
 * (SQLite's migration 15.) */
static const char *const migration_6[] = {
    "CREATE TABLE web_sessions ("
    "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  tenant_id bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  user_id bigint NOT NULL,"
    "  hash bytea NOT NULL UNIQUE CHECK (length(hash) = 32),"
    "  created_at bigint NOT NULL,"
    "  last_seen_at bigint NOT NULL,"
    "  expires_at bigint NOT NULL,"
    "  FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE"
    ")",
    "CREATE INDEX web_sessions_user ON web_sessions(tenant_id, user_id)",
    "CREATE INDEX web_sessions_expires ON web_sessions(expires_at)",
    "CREATE INDEX web_sessions_seen ON web_sessions(last_seen_at)",
    NULL,
};

/* Migration 7: suspended tenants, as SQLite's migration 16. */
static const char *const migration_7[] = {
    "ALTER TABLE tenants ADD COLUMN suspended boolean NOT NULL DEFAULT false "
    "CHECK (NOT suspended OR name <> 'system')",
    NULL,
};

/* Migration 8: OAuth device authorization grants and token scopes, as
 * SQLite's migration 17 (issue 15, docs/FEDERATION.md §2.1). */
static const char *const migration_8[] = {
    "ALTER TABLE tokens ADD COLUMN scope text CHECK (scope IS NULL OR scope = 'federation')",
    "CREATE TABLE device_grants ("
    "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  user_code_hash bytea NOT NULL UNIQUE CHECK (length(user_code_hash) = 32),"
    "  device_code_hash bytea NOT NULL UNIQUE CHECK (length(device_code_hash) = 32),"
    "  client_id text NOT NULL,"
    "  scope text NOT NULL DEFAULT 'federation',"
    "  status text NOT NULL DEFAULT 'pending'"
    "    CHECK (status IN ('pending', 'approved', 'denied', 'issued')),"
    "  tenant_id bigint REFERENCES tenants(id) ON DELETE CASCADE,"
    "  user_id bigint,"
    "  created_at bigint NOT NULL,"
    "  expires_at bigint NOT NULL,"
    "  interval integer NOT NULL DEFAULT 5,"
    "  last_poll_at bigint NOT NULL DEFAULT 0,"
    "  token_id bigint"
    ")",
    "CREATE INDEX device_grants_status ON device_grants(status, expires_at)",
    NULL,
};

/* Migration 9: remote printer links and their remote jobs, as SQLite's
 * migration 18 (issue 15). */
static const char *const migration_9[] = {
    "CREATE TABLE remote_links ("
    "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  tenant_id bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  name text NOT NULL,"
    "  printer_uri text NOT NULL,"
    "  system_uri text NOT NULL DEFAULT '',"
    "  service_url text NOT NULL DEFAULT '',"
    "  queue_id bigint NOT NULL,"
    "  claim_pending boolean NOT NULL DEFAULT false,"
    "  sealed bytea,"
    "  output_device_uuid text NOT NULL DEFAULT '',"
    "  subscription_id integer NOT NULL DEFAULT 0,"
    "  last_sequence integer NOT NULL DEFAULT 0,"
    "  status text NOT NULL DEFAULT 'connecting' CHECK (status IN ('connecting', 'ok', "
    "'unreachable', 'credential-refused', 'deregistered')),"
    "  last_error text NOT NULL DEFAULT '',"
    "  last_ok_at bigint NOT NULL DEFAULT 0,"
    "  next_try_at bigint NOT NULL DEFAULT 0,"
    "  failures integer NOT NULL DEFAULT 0,"
    "  created_at bigint NOT NULL,"
    "  revision bigint NOT NULL DEFAULT 1,"
    "  UNIQUE (tenant_id, name),"
    "  FOREIGN KEY (tenant_id, queue_id) REFERENCES queues(tenant_id, id) ON DELETE CASCADE"
    ")",

    "CREATE TABLE remote_jobs ("
    "  link_id bigint NOT NULL REFERENCES remote_links(id) ON DELETE CASCADE,"
    "  tenant_id bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  remote_job_id integer NOT NULL,"
    "  name text NOT NULL DEFAULT '',"
    "  owner text NOT NULL DEFAULT '',"
    "  pages integer NOT NULL DEFAULT 0,"
    "  copies integer NOT NULL DEFAULT 1,"
    "  sides text NOT NULL DEFAULT '',"
    "  color_mode text NOT NULL DEFAULT '',"
    "  media text NOT NULL DEFAULT '',"
    "  submitted_at bigint NOT NULL DEFAULT 0,"
    "  remote_state integer NOT NULL DEFAULT 0,"
    "  seen_at bigint NOT NULL,"
    "  sync_mark bigint NOT NULL DEFAULT 0,"
    "  local_job_id bigint,"
    "  PRIMARY KEY (link_id, remote_job_id)"
    ")",
    "CREATE INDEX remote_jobs_owner ON remote_jobs(tenant_id, owner)",
    NULL,
};

/* Migration 10 (issue 15): account links, as SQLite's migration 19. */
static const char *const migration_10[] = {
    "CREATE TABLE account_links ("
    "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  tenant_id bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  user_id bigint NOT NULL,"
    "  service_url text NOT NULL,"
    "  status integer NOT NULL CHECK (status BETWEEN 1 AND 5),"
    "  remote_user text NOT NULL DEFAULT '',"
    "  token bytea,"
    "  device_code bytea,"
    "  user_code text NOT NULL DEFAULT '',"
    "  verification_uri text NOT NULL DEFAULT '',"
    "  verification_uri_complete text NOT NULL DEFAULT '',"
    "  token_endpoint text NOT NULL DEFAULT '',"
    "  poll_interval integer NOT NULL DEFAULT 5,"
    "  expires_at bigint NOT NULL DEFAULT 0,"
    "  next_poll_at bigint NOT NULL DEFAULT 0,"
    "  linked_at bigint NOT NULL DEFAULT 0,"
    "  last_checked_at bigint NOT NULL DEFAULT 0,"
    "  last_error text NOT NULL DEFAULT '',"
    "  created_at bigint NOT NULL,"
    "  version bigint NOT NULL DEFAULT 1,"
    "  UNIQUE (tenant_id, user_id, service_url),"
    "  FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE"
    ")",
    "CREATE INDEX account_links_due ON account_links(next_poll_at) WHERE status IN (1, 2, 3)",
    NULL,
};

/* Migration 11 (issue 15): the reports of taken remote jobs, as SQLite's
 * migration 20. */
static const char *const migration_11[] = {
    "ALTER TABLE remote_jobs ADD COLUMN reported_state integer NOT NULL DEFAULT 0",
    "ALTER TABLE remote_jobs ADD COLUMN reported_impressions integer NOT NULL DEFAULT -1",
    "ALTER TABLE remote_jobs ADD COLUMN reported_done boolean NOT NULL DEFAULT false",
    "CREATE INDEX remote_jobs_local ON remote_jobs(tenant_id, local_job_id) "
    "WHERE local_job_id IS NOT NULL",
    NULL,
};

/* Migration 12 (issue 16): contracts, packages, webhook
 * events, dealer grants, as SQLite's migration 21. */
static const char *const migration_12[] = {
    "CREATE TABLE contracts ("
    "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  tenant_id bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  owner_tenant_id bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  name text NOT NULL,"
    "  external_id text,"
    "  start_at bigint NOT NULL,"
    "  end_at bigint NOT NULL,"
    "  printers_json text NOT NULL,"
    "  settings_json text NOT NULL,"
    "  items_json text NOT NULL,"
    "  revision bigint NOT NULL DEFAULT 1,"
    "  status integer NOT NULL DEFAULT 0 CHECK (status IN (0, 1)),"
    "  canceled_at bigint NOT NULL DEFAULT 0,"
    "  created_at bigint NOT NULL,"
    "  updated_at bigint NOT NULL,"
    "  version bigint NOT NULL DEFAULT 1,"
    "  UNIQUE (tenant_id, name),"
    "  UNIQUE (owner_tenant_id, external_id)"
    ")",
    "CREATE INDEX contracts_due ON contracts(start_at) WHERE status = 0",
    "CREATE TABLE packages ("
    "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  owner_tenant_id bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  kind text NOT NULL CHECK (kind IN ('firmware', 'application')),"
    "  name text NOT NULL,"
    "  version text NOT NULL,"
    "  size bigint NOT NULL,"
    "  sha256 text NOT NULL,"
    "  blob_key text NOT NULL,"
    "  created_at bigint NOT NULL"
    ")",
    "CREATE INDEX packages_owner ON packages(owner_tenant_id, id)",
    "CREATE INDEX packages_blob ON packages(blob_key)",
    "CREATE TABLE contract_packages ("
    "  contract_id bigint NOT NULL REFERENCES contracts(id) ON DELETE CASCADE,"
    "  package_id bigint NOT NULL REFERENCES packages(id) ON DELETE CASCADE,"
    "  PRIMARY KEY (contract_id, package_id)"
    ")",
    "CREATE INDEX contract_packages_package ON contract_packages(package_id)",
    "CREATE TABLE contract_webhook_events ("
    "  sender text NOT NULL,"
    "  event_id text NOT NULL,"
    "  contract_id bigint,"
    "  received_at bigint NOT NULL,"
    "  PRIMARY KEY (sender, event_id)"
    ")",
    "CREATE INDEX contract_webhook_events_received ON contract_webhook_events(received_at)",
    "CREATE TABLE tenant_dealers ("
    "  customer_tenant_id bigint PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,"
    "  dealer_tenant_id bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  created_at bigint NOT NULL"
    ")",
    "CREATE INDEX tenant_dealers_dealer ON tenant_dealers(dealer_tenant_id)",
    NULL,
};

/* Migration 13 (issue 16): the smart services
 * (docs/PROVISIONING.md §10, §11): each printer's service configurations,
 * backup snapshots (differentials against a full one, removed with it),
 * supply levels with their episodes and one order per episode, part
 * counters and one alert per part and cycle; orders and alerts carry
 * their outgoing webhook's delivery state (attempts, next_at). */
static const char *const migration_13[] = {
    "CREATE TABLE printer_services ("
    "  device_id bigint NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
    "  tenant_id bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  service text NOT NULL,"
    "  contract_id bigint NOT NULL DEFAULT 0,"
    "  settings_json text NOT NULL DEFAULT '{}',"
    "  enabled boolean NOT NULL DEFAULT true,"
    "  updated_at bigint NOT NULL,"
    "  PRIMARY KEY (device_id, service)"
    ")",
    "CREATE INDEX printer_services_contract ON printer_services(tenant_id, contract_id)",
    "CREATE TABLE backups ("
    "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  tenant_id bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  device_id bigint NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
    "  mode integer NOT NULL CHECK (mode IN (1, 2)),"
    "  base_id bigint REFERENCES backups(id) ON DELETE CASCADE,"
    "  json text NOT NULL,"
    "  size bigint NOT NULL,"
    "  created_at bigint NOT NULL"
    ")",
    "CREATE INDEX backups_device ON backups(device_id, mode, id)",
    "CREATE TABLE supply_levels ("
    "  device_id bigint NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
    "  tenant_id bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  supply text NOT NULL,"
    "  type text NOT NULL DEFAULT '',"
    "  level integer NOT NULL,"
    "  episode integer NOT NULL DEFAULT 0,"
    "  open boolean NOT NULL DEFAULT false,"
    "  updated_at bigint NOT NULL,"
    "  PRIMARY KEY (device_id, supply)"
    ")",
    "CREATE TABLE supply_orders ("
    "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  tenant_id bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  device_id bigint NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
    "  contract_id bigint NOT NULL DEFAULT 0,"
    "  supply text NOT NULL,"
    "  type text NOT NULL DEFAULT '',"
    "  episode integer NOT NULL,"
    "  level integer NOT NULL,"
    "  state integer NOT NULL CHECK (state IN (1, 2, 3)),"
    "  attempts integer NOT NULL DEFAULT 0,"
    "  next_at bigint NOT NULL DEFAULT 0,"
    "  created_at bigint NOT NULL,"
    "  sent_at bigint NOT NULL DEFAULT 0,"
    "  UNIQUE (device_id, supply, episode)"
    ")",
    "CREATE INDEX supply_orders_due ON supply_orders(next_at) WHERE state = 1",
    "CREATE INDEX supply_orders_tenant ON supply_orders(tenant_id, id)",
    "CREATE TABLE part_counters ("
    "  device_id bigint NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
    "  tenant_id bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  part text NOT NULL,"
    "  replaced_at bigint NOT NULL,"
    "  cycle integer NOT NULL,"
    "  PRIMARY KEY (device_id, part)"
    ")",
    "CREATE TABLE part_alerts ("
    "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  tenant_id bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  device_id bigint NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
    "  contract_id bigint NOT NULL DEFAULT 0,"
    "  part text NOT NULL,"
    "  cycle integer NOT NULL,"
    "  impressions bigint NOT NULL,"
    "  state integer NOT NULL CHECK (state IN (1, 2, 3)),"
    "  attempts integer NOT NULL DEFAULT 0,"
    "  next_at bigint NOT NULL DEFAULT 0,"
    "  created_at bigint NOT NULL,"
    "  sent_at bigint NOT NULL DEFAULT 0,"
    "  UNIQUE (device_id, part, cycle)"
    ")",
    "CREATE INDEX part_alerts_due ON part_alerts(next_at) WHERE state = 1",
    "CREATE INDEX part_alerts_tenant ON part_alerts(tenant_id, id)",
    NULL,
};

/* Migration 14 (issue 16): provisioning runs (docs/PROVISIONING.md
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
static const char *const migration_14[] = {
    "CREATE TABLE provisioning_runs ("
    "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  tenant_id bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  contract_id bigint,"
    "  revision bigint NOT NULL CHECK (revision >= 1),"
    "  kind text NOT NULL CHECK (kind IN ('start', 'renewal', 'restore')),"
    "  state integer NOT NULL DEFAULT 1 CHECK (state BETWEEN 1 AND 4),"
    "  created_at bigint NOT NULL,"
    "  finished_at bigint NOT NULL DEFAULT 0,"
    "  note text NOT NULL DEFAULT '',"
    "  device_id bigint REFERENCES devices(id) ON DELETE CASCADE,"
    "  backup_id bigint,"
    "  UNIQUE (contract_id, revision),"
    "  CHECK ((kind = 'restore') = (contract_id IS NULL AND device_id IS NOT NULL "
    "AND backup_id IS NOT NULL))"
    ")",
    "CREATE INDEX provisioning_runs_running ON provisioning_runs(id) WHERE state = 1",
    "CREATE UNIQUE INDEX provisioning_runs_restoring ON provisioning_runs(device_id) "
    "WHERE kind = 'restore' AND state = 1",
    "CREATE TABLE provisioning_coverage ("
    "  run_id bigint NOT NULL REFERENCES provisioning_runs(id) ON DELETE CASCADE,"
    "  device_id bigint NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
    "  planned_at bigint NOT NULL,"
    "  PRIMARY KEY (run_id, device_id)"
    ")",
    "CREATE TABLE provisioning_steps ("
    "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  run_id bigint NOT NULL REFERENCES provisioning_runs(id) ON DELETE CASCADE,"
    "  tenant_id bigint NOT NULL,"
    "  device_id bigint NOT NULL,"
    "  seq integer NOT NULL CHECK (seq >= 1),"
    "  kind text NOT NULL,"
    "  item_name text NOT NULL DEFAULT '',"
    "  target_json text NOT NULL DEFAULT '{}',"
    "  package_id bigint NOT NULL DEFAULT 0,"
    "  state integer NOT NULL DEFAULT 1 CHECK (state BETWEEN 1 AND 5),"
    "  attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),"
    "  next_at bigint NOT NULL DEFAULT 0,"
    "  sent_at bigint NOT NULL DEFAULT 0,"
    "  finished_at bigint NOT NULL DEFAULT 0,"
    "  reason text NOT NULL DEFAULT '',"
    "  UNIQUE (run_id, device_id, seq),"
    "  FOREIGN KEY (tenant_id, device_id) REFERENCES devices(tenant_id, id) ON DELETE CASCADE"
    ")",
    "CREATE INDEX provisioning_steps_device ON provisioning_steps(device_id, state)",
    "CREATE INDEX provisioning_steps_sent ON provisioning_steps(sent_at) WHERE state = 2",
    "CREATE TABLE provisioning_events ("
    "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  run_id bigint NOT NULL REFERENCES provisioning_runs(id) ON DELETE CASCADE,"
    "  step_id bigint NOT NULL,"
    "  at bigint NOT NULL,"
    "  from_state integer NOT NULL,"
    "  to_state integer NOT NULL,"
    "  detail text NOT NULL DEFAULT ''"
    ")",
    "CREATE INDEX provisioning_events_step ON provisioning_events(step_id)",
    "CREATE TABLE device_inventory ("
    "  device_id bigint PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,"
    "  tenant_id bigint NOT NULL,"
    "  firmware_name text NOT NULL DEFAULT '',"
    "  firmware_version text NOT NULL DEFAULT '',"
    "  applications_json text NOT NULL DEFAULT '{}',"
    "  settings_json text NOT NULL DEFAULT '{}',"
    "  reported_at bigint NOT NULL"
    ")",
    NULL,
};

static const char *const *const pg_migrations[] = {
    migration_1, migration_2, migration_3,  migration_4,  migration_5,  migration_6,  migration_7,
    migration_8, migration_9, migration_10, migration_11, migration_12, migration_13, migration_14};

const int pg_migration_count = (int)(sizeof pg_migrations / sizeof pg_migrations[0]);

/* One migration and its schema_version row in one transaction. */
static bool migration_apply(pg_conn_t *c, int number, char *err, size_t errlen) {
  if (pg_tx_begin(c) != STORE_OK) goto fail;
  for (const char *const *sql = pg_migrations[number - 1]; *sql; sql++)
    if (pg_exec_sql(c, *sql, "migration") != STORE_OK) goto fail;
  char insert[160];
  snprintf(insert, sizeof insert,
           "INSERT INTO schema_version (version, applied_at) VALUES (%d, %lld)", number,
           (long long)time(NULL));
  if (pg_exec_sql(c, insert, "migration") != STORE_OK || pg_tx_commit(c) != STORE_OK) goto fail;
  return true;
fail:
  pg_tx_rollback(c);
  snprintf(err, errlen, "schema migration %d failed (logged)", number);
  return false;
}

bool pg_migrate(pg_conn_t *c, char *err, size_t errlen) {
  if (pg_exec_sql(c, "SELECT pg_advisory_lock(" PG_MIGRATION_LOCK ")", "migration lock") !=
      STORE_OK) {
    snprintf(err, errlen, "cannot take the migration lock (logged)");
    return false;
  }
  bool ok = false;
  if (pg_exec_sql(c,
                  "CREATE TABLE IF NOT EXISTS schema_version ("
                  "  version integer PRIMARY KEY, applied_at bigint NOT NULL)",
                  "schema version table") != STORE_OK) {
    snprintf(err, errlen, "cannot create the schema_version table (logged)");
    goto done;
  }
  PGresult *r;
  if (pg_exec_row(c, PS_SCHEMA_VERSION, NULL, &r, "schema version") != STORE_OK) {
    snprintf(err, errlen, "cannot read the schema version (logged)");
    goto done;
  }
  int version = pg_get_int(r, 0, 0);
  PQclear(r);
  if (version > pg_migration_count) {
    snprintf(err, errlen,
             "the database has schema version %d, newer than this nimbusd knows (%d): "
             "upgrade nimbusd",
             version, pg_migration_count);
    goto done;
  }
  ok = true;
  for (int m = version + 1; ok && m <= pg_migration_count; m++) {
    ok = migration_apply(c, m, err, errlen);
    if (ok)
      log_event(LOG_INFO, NULL, "store migration applied", "backend", "postgresql", "version",
                LOG_INT(m), (char *)NULL);
  }
done:
  pg_exec_sql(c, "SELECT pg_advisory_unlock(" PG_MIGRATION_LOCK ")", "migration unlock");
  return ok;
}
