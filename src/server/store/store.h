/*
 * store.h: the storage interface of nimbusd.
 *
 * Callers see records from model.h and status values; no SQL, backend
 * type or lock crosses this line.  The backend is chosen by the URL given
 * to store_open() (store.c); each backend fills the operations table of
 * store-ops.h (store/sqlite/, and store/pg/ when built with libpq).
 *
 * Promises every backend keeps (the contract suite, tests/unit/test-store*.c,
 * checks them on every backend):
 *  - Every function that reads or writes tenant data takes the tenant id and
 *    never returns another tenant's row: a row of another tenant is
 *    STORE_NOT_FOUND, exactly as if it did not exist.
 *  - A call that returns STORE_OK for a write has made it durable.
 *  - store_t is safe to use from several threads at once.
 *  - Output records are copies owned by the caller.
 *  - A list callback must not call store functions (it gets STORE_ERROR):
 *    collect, then act after the call.
 */
#ifndef NIMBUS_STORE_H
#define NIMBUS_STORE_H

#include <stddef.h>

#include "model.h"

typedef struct store store_t;

typedef enum {
  STORE_OK = 0,
  STORE_NOT_FOUND, /* no such row (or another tenant's) */
  STORE_CONFLICT,  /* unique name taken, or job not in the expected state */
  STORE_ERROR,     /* I/O or database failure; details were logged */
  STORE_FULL       /* the database's disk is full (SQLITE_FULL, ENOSPC, EDQUOT): nothing was
                      written; retryable once space is freed (logged) */
} store_status_t;

typedef struct {
  int group_commit_max; /* most job inserts per transaction; 1 disables */
  int readers;          /* read connections (SQLite); 0: reads use the write connection */
} store_options_t;

/*
 * Open (creating if needed) the store at url and apply pending schema
 * migrations:
 *   sqlite:///var/lib/nimbus/nimbus.db   (sqlite:relative/path.db; a plain
 *                                         path also means SQLite)
 *   postgresql://user@host/dbname        (postgres:// too; when built with
 *                                         libpq; handed whole to libpq)
 * Returns NULL on failure with a message in err (never the URL itself,
 * which may hold a password).
 */
store_t *store_open(const char *url, const store_options_t *opts, char *err, size_t errlen);
/* The backend of st for messages: "SQLite", "PostgreSQL". */
const char *store_backend_name(const store_t *st);
/* A backend may not implement every operation yet (the PostgreSQL one is
 * written concern by concern); such an operation returns STORE_ERROR,
 * logged.  Returns the name of the first one (e.g. "job_insert") and
 * their number in *count (may be NULL), or NULL when st is complete.
 * nimbusd refuses to start on an incomplete store. */
const char *store_unimplemented_op(const store_t *st, int *count);
/* Close the store; waits for queued group commits to finish. */
void store_close(store_t *st);
/* The backends built in and their library versions for `nimbusd
 * --version`, e.g. "SQLite 3.46.1", written into buf (always terminated). */
void store_backend_version(char *buf, size_t len);

/* Current schema version (number of applied migrations). */
int store_schema_version(store_t *st);
/* The same without waiting: 0 when the store is busy with another call
 * (for /healthz on an event thread, which must not block; a backend
 * behind a network answers the version found at open, without I/O). */
int store_schema_version_nowait(store_t *st);

/* ---- tenants ---- */
/* Insert t (name, display_name, limits); sets t->id and t->created_at.
 * STORE_CONFLICT when the name is taken. */
store_status_t store_tenant_insert(store_t *st, nimbus_tenant_t *t);
store_status_t store_tenant_get(store_t *st, nimbus_id_t id, nimbus_tenant_t *out);
store_status_t store_tenant_get_by_name(store_t *st, const char *name, nimbus_tenant_t *out);
/* Update display_name, limits, retention_hours, panel_login, unknown_user_names
 * and suspended of tenant t->id. */
store_status_t store_tenant_update(store_t *st, const nimbus_tenant_t *t);
/* Delete a tenant and everything it owns.  Document blobs become orphans
 * that blob_sweep() removes. */
store_status_t store_tenant_delete(store_t *st, nimbus_id_t id);
/* Calls cb for each tenant ordered by name; cb returns false to stop. */
typedef bool (*store_tenant_cb)(const nimbus_tenant_t *t, void *ctx);
store_status_t store_tenant_list(store_t *st, store_tenant_cb cb, void *ctx);

/* ---- users (scoped by tenant) ---- */
store_status_t store_user_insert(store_t *st, nimbus_user_t *u);
store_status_t store_user_get(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                              nimbus_user_t *out);
store_status_t store_user_get_by_name(store_t *st, nimbus_id_t tenant_id, const char *name,
                                      nimbus_user_t *out);
/* Update role, password_hash and panel_pin_hash of user u->id in u->tenant_id. */
store_status_t store_user_update(store_t *st, const nimbus_user_t *u);
/* Delete a user, its tokens; its jobs stay (owner_name is kept). */
store_status_t store_user_delete(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id);
typedef bool (*store_user_cb)(const nimbus_user_t *u, void *ctx);
store_status_t store_user_list(store_t *st, nimbus_id_t tenant_id, store_user_cb cb, void *ctx);

/* ---- user aliases (scoped by tenant; key = user_alias_normalise()) ---- */
/* The user whose alias has normal form key in tenant_id. */
store_status_t store_user_get_by_alias(store_t *st, nimbus_id_t tenant_id, const char *key,
                                       nimbus_user_t *out);
/* Is there a user other than except_id whose name, ASCII-folded, is key?
 * STORE_OK (and *other_id) when there is, STORE_NOT_FOUND when not. */
store_status_t store_user_name_folds_to(store_t *st, nimbus_id_t tenant_id, const char *key,
                                        nimbus_id_t except_id, nimbus_id_t *other_id);
/* Insert a->alias (normal form key) for a->user_id in a->tenant_id; sets
 * id and created_at.  STORE_CONFLICT when the tenant has that key. */
store_status_t store_alias_insert(store_t *st, nimbus_alias_t *a, const char *key);
/* Delete user_id's alias of normal form key; STORE_NOT_FOUND when none. */
store_status_t store_alias_delete(store_t *st, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                  const char *key);
/* Aliases of user_id (0: of every user of the tenant), by user name. */
typedef bool (*store_alias_cb)(const nimbus_alias_t *a, void *ctx);
store_status_t store_alias_list(store_t *st, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                store_alias_cb cb, void *ctx);

/* ---- API tokens ---- */
/* Insert tk (tenant_id, user_id, label, hash, expires_at); sets id,
 * created_at. */
store_status_t store_token_insert(store_t *st, nimbus_token_t *tk);
/* Find a usable token by the hash of its secret: not revoked, not expired
 * at `now`, user still existing.  Fills user_name and user_role. */
store_status_t store_token_lookup(store_t *st, const unsigned char hash[32], int64_t now,
                                  nimbus_token_t *out);
/* List tokens of a tenant; user_id 0 lists all users' tokens. */
typedef bool (*store_token_cb)(const nimbus_token_t *tk, void *ctx);
store_status_t store_token_list(store_t *st, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                store_token_cb cb, void *ctx);
/* Revoke token id; when user_id is not 0 the token must belong to it. */
store_status_t store_token_revoke(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                  nimbus_id_t user_id);

/* ---- queues (scoped by tenant) ---- */
store_status_t store_queue_insert(store_t *st, nimbus_queue_t *q);
store_status_t store_queue_get_by_name(store_t *st, nimbus_id_t tenant_id, const char *name,
                                       nimbus_queue_t *out);
store_status_t store_queue_update(store_t *st, const nimbus_queue_t *q);
/* Delete a queue; STORE_CONFLICT while it has jobs that are not terminal. */
store_status_t store_queue_delete(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id);
typedef bool (*store_queue_cb)(const nimbus_queue_t *q, void *ctx);
store_status_t store_queue_list(store_t *st, nimbus_id_t tenant_id, store_queue_cb cb, void *ctx);

/* ---- jobs and documents (scoped by tenant) ---- */
/*
 * Insert a job with its first documents (ndocs may be 0 for Create-Job) and
 * a "job-created" event in one transaction.  Sets job->id, job->number (the
 * tenant's next job number, taken in the same transaction), created_at,
 * state_changed_at, docs[i].job_id, and job->reference when it is empty
 * (16 random Crockford base32 characters, unique).  origin_device_id is
 * stored as given.  Inserts may be grouped with other
 * threads' inserts into one transaction (group commit); the call returns
 * only once its own transaction is durable.
 */
store_status_t store_job_insert(store_t *st, nimbus_job_t *job, nimbus_document_t *docs, int ndocs);

/*
 * Small documents can live in the store itself: their bytes are written in
 * the job's own transaction, so job and data become durable together with
 * no spool file at all.  Such documents carry STORE_INLINE_BLOB_KEY.
 */
#define STORE_INLINE_BLOB_KEY "inline"
typedef struct {
  const void *data; /* NULL: the document is a spool blob */
  size_t len;
} store_inline_t;
/* store_job_insert() with data[i] (may be NULL as a whole) for docs[i]. */
store_status_t store_job_insert_data(store_t *st, nimbus_job_t *job, nimbus_document_t *docs,
                                     const store_inline_t *data, int ndocs);
/* Copy up to len bytes of an inline document from offset off into buf;
 * *got receives the count (0 at the end). */
store_status_t store_document_read_inline(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                          int number, int64_t off, void *buf, size_t len,
                                          size_t *got);
store_status_t store_job_get(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                             nimbus_job_t *out);
/* The job whose per-tenant number (job-id on the wire) is `number` in
 * tenant_id: every lookup of a number a client sent goes through here, so
 * it never reaches another tenant's job. */
store_status_t store_job_get_by_number(store_t *st, nimbus_id_t tenant_id, nimbus_id_t number,
                                       nimbus_job_t *out);

typedef enum {
  STORE_WHICH_NOT_COMPLETED = 0, /* received, held, awaiting-payment, fetchable, processing */
  STORE_WHICH_COMPLETED,         /* completed, canceled, aborted, expired */
  STORE_WHICH_HELD,              /* held only */
  STORE_WHICH_FETCHABLE,         /* fetchable only */
  STORE_WHICH_PROCESSING,        /* processing only */
  STORE_WHICH_ALL
} store_which_t;

typedef struct {
  nimbus_id_t tenant_id;        /* required */
  nimbus_id_t queue_id;         /* 0 = all queues of the tenant */
  nimbus_id_t owner_id;         /* 0 = all owners */
  nimbus_id_t device_id;        /* 0 = any; else only jobs assigned to this device */
  nimbus_id_t origin_device_id; /* 0 = any; else only jobs submitted through this device */
  /* STORE_WHICH_FETCHABLE with fetchable_for set: only jobs this device may
   * fetch (target_device_id 0 or this device). */
  nimbus_id_t fetchable_for;
  store_which_t which;
  int limit; /* 0 = no limit */
  int offset;
  bool newest_first; /* default: oldest (lowest id) first */
} store_job_filter_t;

typedef bool (*store_job_cb)(const nimbus_job_t *job, void *ctx);
/* Calls cb for each matching job; *total (may be NULL) receives the number
 * of matching jobs ignoring limit/offset. */
store_status_t store_job_list(store_t *st, const store_job_filter_t *f, store_job_cb cb, void *ctx,
                              int *total);

/* Number of a user's jobs waiting to be released: received, held or
 * awaiting-payment (the per-user pending-jobs limit counts these). */
store_status_t store_job_count_pending_for_owner(store_t *st, nimbus_id_t tenant_id,
                                                 nimbus_id_t owner_id, int *count);
/* Number of jobs submitted through printer device_id (jobs.origin_device_id)
 * that wait to be released, counted as above (the per-printer limit). */
store_status_t store_job_count_pending_for_origin(store_t *st, nimbus_id_t tenant_id,
                                                  nimbus_id_t device_id, int *count);

/*
 * Job changes.  Which transition is legal is decided by the state machine
 * (jobs/job.c); the store only applies what it is given, as one
 * compare-and-set per change.  A change of job_id in tenant_id:
 *  - compares: the job is in state `expected` and, when expect_device is
 *    not 0, assigned to that device;
 *  - sets: state `next`, state_changed_at (now), completed_at (now when
 *    next is terminal, else 0), and the columns named in `set`;
 *  - appends one job_events row (event, expected -> next, detail).
 * The same job may appear more than once: changes apply in order, each
 * comparing against the state the previous one left.
 */
enum {
  STORE_JOB_SET_DEVICE = 1u << 0, /* device_id: a device of the tenant, or 0 (none) */
  STORE_JOB_SET_TARGET = 1u << 1, /* target_device_id: a device of the tenant, or 0 (any) */
  STORE_JOB_SET_QUEUE = 1u << 2,  /* queue_id: a queue of the tenant */
  /* copies, impressions and attrs_json (the settings changed at the
   * printer, FEDERATION.md §5): written after the compare-and-set, with
   * an event row of their own (settings_event, expected -> expected,
   * settings_detail) before the change's own event row */
  STORE_JOB_SET_SETTINGS = 1u << 3
};
typedef struct {
  nimbus_id_t job_id;
  nimbus_job_state_t expected; /* compare: the job's state */
  nimbus_id_t expect_device;   /* compare when not 0: the job's device_id */
  nimbus_job_state_t next;     /* set: the new state */
  unsigned set;                /* STORE_JOB_SET_*: which of the columns below are written */
  nimbus_id_t device_id;
  nimbus_id_t target_device_id;
  nimbus_id_t queue_id;
  int copies;                  /* STORE_JOB_SET_SETTINGS: */
  int impressions;             /*   pages x copies */
  const char *attrs_json;      /*   the job's template attributes */
  const char *settings_event;  /*   its event row's name */
  const char *settings_detail; /*   and detail (what changed, who) */
  const char *event;  /* the event row's name, a short kebab-case word ("job-released") */
  const char *detail; /* its detail text (who, why); may be NULL */
} store_job_change_t;

/*
 * Apply changes[0..n) in one transaction: all or nothing.
 * STORE_CONFLICT when a job is not as compared (another change came
 * first: read it again and decide again), STORE_NOT_FOUND when a job, or
 * a device or queue to set, is not the tenant's; nothing is written then.
 * Only job.c calls this (job_apply*, job_release, job_change).
 */
store_status_t store_job_apply(store_t *st, nimbus_id_t tenant_id,
                               const store_job_change_t *changes, size_t n);
/* Record progress reported by the device the job is assigned to:
 * impressions_completed (-1: unchanged) and job-state-reasons (NULL:
 * unchanged).  STORE_CONFLICT when the job is not assigned to device_id. */
store_status_t store_job_set_progress(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                      nimbus_id_t device_id, int impressions_completed,
                                      const char *reasons);
/* Jobs in processing (all tenants) whose device was last seen before
 * `cutoff`: cb gets each one (copy, then act after the call). */
store_status_t store_job_list_lease_expired(store_t *st, int64_t cutoff, store_job_cb cb,
                                            void *ctx);

/*
 * Append document doc (doc->number is assigned as the next number) to job
 * job_id, which must be in NIMBUS_JOB_RECEIVED; adds its pages to the job's
 * pages and impressions.  When `last` is true the job moves to
 * `state_after_last` in the same transaction, with event "job-closed".
 */
store_status_t store_document_add(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                  nimbus_document_t *doc, bool last,
                                  nimbus_job_state_t state_after_last);
/* Copies up to max documents of a job, ordered by number, into out. */
store_status_t store_document_list(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                   nimbus_document_t *out, int max, int *count);
/* Does any document row still reference blob `key`? */
store_status_t store_blob_is_referenced(store_t *st, const char *key, bool *referenced);

/* ---- output devices (scoped by tenant) ---- */
/* Insert d (tenant_id, name, queue_ids/nqueues, claim_hash,
 * claim_expires_at); sets id, created_at, status UNCLAIMED.
 * STORE_CONFLICT when the name is taken in the tenant; STORE_NOT_FOUND
 * when a queue id is not the tenant's. */
store_status_t store_device_insert(store_t *st, nimbus_device_t *d);
store_status_t store_device_get(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                nimbus_device_t *out);
store_status_t store_device_get_by_name(store_t *st, nimbus_id_t tenant_id, const char *name,
                                        nimbus_device_t *out);
/* Any tenant: the registered device holding this credential hash. */
store_status_t store_device_get_by_credential(store_t *st, const unsigned char hash[32],
                                              nimbus_device_t *out);
/* Any tenant: the registered device with this output-device-uuid. */
store_status_t store_device_get_by_uuid(store_t *st, const char *uuid, nimbus_device_t *out);
/* Replace the claim code of device id (re-issue; the device becomes
 * UNCLAIMED again only if it was never claimed: a registered device
 * keeps working until its new code is claimed, which replaces uuid and
 * credential). */
/* Set where device id stands (its printer-location; "" unsets it).
 * STORE_NOT_FOUND when it is not the tenant's. */
store_status_t store_device_set_location(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                         const char *location);
store_status_t store_device_set_claim(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                      const unsigned char claim_hash[32], int64_t expires_at);
/*
 * Claim: find the device whose claim hash matches and has not expired at
 * `now`, set uuid, credential hash, status REGISTERED, registered_at, and
 * clear the claim (one-time), in one transaction.  STORE_NOT_FOUND when no
 * such claim; STORE_CONFLICT when uuid belongs to another device.
 */
store_status_t store_device_claim(store_t *st, const unsigned char claim_hash[32], int64_t now,
                                  const char *uuid, const unsigned char credential_hash[32],
                                  nimbus_device_t *out);
/* Update what the device reported: printer_state, state_reasons,
 * make_model, and its attributes as an opaque blob (IPP-encoded; NULL
 * leaves the stored one). */
store_status_t store_device_set_reported(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                         int printer_state, const char *state_reasons,
                                         const char *make_model, const void *attrs,
                                         size_t attrs_len);
/* The stored attributes blob of a device (malloc'd, caller frees; *attrs
 * NULL and *len 0 when none). */
store_status_t store_device_get_attrs(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                      void **attrs, size_t *len);
/* The attributes most recently reported by any device serving queue_id
 * (none: *attrs NULL, STORE_OK). */
store_status_t store_queue_device_attrs(store_t *st, nimbus_id_t tenant_id, nimbus_id_t queue_id,
                                        void **attrs, size_t *len);
/* Record liveness: last_seen_at and transport ("polling"/"persistent"). */
store_status_t store_device_touch(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                  int64_t seen_at, const char *transport);
/* store_device_touch() for many devices in one transaction (one sync);
 * devices deleted meanwhile are skipped. */
typedef struct {
  nimbus_id_t tenant_id, id;
  int64_t seen_at;
  char transport[16];
} store_device_seen_t;
store_status_t store_device_touch_many(store_t *st, const store_device_seen_t *v, int n);
/* Devices of a tenant by name (queue_id 0) or those serving queue_id. */
typedef bool (*store_device_cb)(const nimbus_device_t *d, void *ctx);
store_status_t store_device_list(store_t *st, nimbus_id_t tenant_id, nimbus_id_t queue_id,
                                 store_device_cb cb, void *ctx);
/*
 * Delete a registration and move its jobs, in one transaction: the device
 * row goes (its queue links with it), and when it had a credential a
 * tombstone keeps the credential hash so later requests get the
 * deregistration answer; changes[0..n) apply as in store_job_apply()
 * (devices/device.c decides them).  Then no job of the tenant in one of
 * the states live[0..nlive) may still name the device (device_id or
 * target_device_id): STORE_CONFLICT otherwise, as for a change that does
 * not compare, and nothing is written (the jobs changed since the caller
 * listed them: list again, decide again).  *out (may be NULL) receives
 * the device as it was.
 */
store_status_t store_device_delete(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                   const store_job_change_t *changes, size_t n,
                                   const nimbus_job_state_t *live, size_t nlive,
                                   nimbus_device_t *out);
/* Is this credential hash one of a deleted registration? */
store_status_t store_device_tombstone_lookup(store_t *st, const unsigned char hash[32],
                                             nimbus_device_tombstone_t *out);

/* ---- release at the printer (issue 4) ---- */
/*
 * A job's PIN attempt counter (devices/release.c holds the policy: the
 * counting window and the lockout).  Every node reads and writes the same
 * row, so every way in (REST, panel, IPP) shares one counter.
 */
typedef struct {
  int failures;         /* wrong PINs counted in the current window */
  int64_t window_start; /* when that window began (0: none) */
  int64_t locked_until; /* locked while later than now (0: never locked) */
} store_pin_counter_t;
store_status_t store_job_pin_get(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                 store_pin_counter_t *out);
/* Replace the counter with *next if it is still *expected (all three
 * fields): STORE_CONFLICT, nothing written, when another attempt changed
 * it since it was read. */
store_status_t store_job_pin_cas(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                 const store_pin_counter_t *expected,
                                 const store_pin_counter_t *next);
/*
 * Purge the documents of job_id, which must be in a terminal state
 * (STORE_CONFLICT otherwise): blob_key becomes "" and inline data is
 * deleted, in one transaction.  The spool keys it referenced are copied
 * into keys (at most max; *nkeys receives how many) for the caller to
 * delete the files after the commit.
 */
store_status_t store_document_purge(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                    char (*keys)[NIMBUS_BLOB_KEY_MAX], int max, int *nkeys);
/*
 * A neutral listing for sweeps (jobs/retention.c decides what is due):
 * jobs of tenant_id in `state` created before created_before, and with
 * `unpurged` only those that still have a document whose data is not
 * purged (store_document_purge).  By id, at most limit; cb receives each
 * (copy, then act after the call).
 */
typedef struct {
  nimbus_id_t tenant_id; /* required */
  nimbus_job_state_t state;
  int64_t created_before; /* INT64_MAX: whenever */
  bool unpurged;
  int limit;
} store_sweep_filter_t;
store_status_t store_job_list_sweep(store_t *st, const store_sweep_filter_t *f, store_job_cb cb,
                                    void *ctx);

/* Panel sessions: insert sets id and created_at; get finds an unexpired
 * session by token hash at `now` (STORE_NOT_FOUND otherwise); touch moves
 * its expiry; delete removes it (and, in passing, expired ones). */
store_status_t store_panel_session_insert(store_t *st, nimbus_panel_session_t *ps);
store_status_t store_panel_session_get(store_t *st, const unsigned char hash[32], int64_t now,
                                       nimbus_panel_session_t *out);
store_status_t store_panel_session_touch(store_t *st, nimbus_id_t id, int64_t expires_at);
store_status_t store_panel_session_delete(store_t *st, const unsigned char hash[32], int64_t now);

/* ---- sweep leases (housekeeping.c holds the policy) ----
 * One lease row per name, shared by every node on the database, so that
 * one node at a time runs each periodic sweep.  store_lease_take() gives
 * lease `name` to `holder` until now + ttl seconds when it is free,
 * expired or already holder's (a renewal); *held says whether holder has
 * it now.  Another holder's live lease is left as it is. */
store_status_t store_lease_take(store_t *st, const char *name, const char *holder, int64_t now,
                                int ttl, bool *held);

/* ---- sign-in throttle (throttle.c holds the policy) ----
 * Failures are counted per key (32 bytes: a digest naming what is counted,
 * see throttle.c) in a fixed window that starts with the first failure
 * and lasts `window` seconds; every node sharing the database sees the
 * same counts.  Not tenant data: keys name accounts of any tenant. */
/* The live count: *failures and *window_start; STORE_NOT_FOUND when the
 * key has no failure in a window that is still open at now. */
store_status_t store_throttle_get(store_t *st, const unsigned char key[32], int64_t now,
                                  int *failures, int64_t *window_start);
/* Count one failure (kind: a label for operators, e.g. "account"),
 * starting a new window when the last one has ended; returns the new
 * count and its window start.  Rows of ended windows go in passing. */
store_status_t store_throttle_fail(store_t *st, const unsigned char key[32], const char *kind,
                                   int64_t now, int64_t window, int *failures,
                                   int64_t *window_start);
/* Forget the key's failures (a successful sign-in); NOT_FOUND is fine. */
store_status_t store_throttle_clear(store_t *st, const unsigned char key[32]);

/* ---- audit ---- */
/* Append a security-relevant event (never with secrets in detail). */
store_status_t store_audit_append(store_t *st, nimbus_id_t tenant_id, const char *actor,
                                  const char *action, const char *detail);

/* Reading a tenant's audit log (the console, docs/CONSOLE.md §1.4):
 * rows of tenant_id (never system rows, never another tenant's), newest
 * first (by id, descending).  Filters unused when NULL / "" / 0: action
 * exact; actor a case-sensitive substring of the actor; ts in [from, to);
 * before_id pages (rows with id < before_id).  limit 0: no limit. */
#define STORE_AUDIT_ACTOR_MAX 256
#define STORE_AUDIT_ACTION_MAX 128
#define STORE_AUDIT_DETAIL_MAX 1024
typedef struct {
  nimbus_id_t id;
  nimbus_id_t tenant_id;
  int64_t ts;
  char actor[STORE_AUDIT_ACTOR_MAX];
  char action[STORE_AUDIT_ACTION_MAX];
  char detail[STORE_AUDIT_DETAIL_MAX];
} store_audit_entry_t;
typedef struct {
  nimbus_id_t tenant_id;
  const char *action;
  const char *actor;
  int64_t from, to;
  nimbus_id_t before_id;
  int limit;
} store_audit_filter_t;
typedef bool (*store_audit_cb)(const store_audit_entry_t *e, void *ctx);
store_status_t store_audit_list(store_t *st, const store_audit_filter_t *f, store_audit_cb cb,
                                void *ctx);

/* An audit row (never a secret in detail).  Given to an _audited write
 * below, it is written in that write's transaction: both or neither.
 * id_key not NULL: the detail starts with "<id_key>=<id of the new row>"
 * (an insert's id is known only inside its transaction). */
typedef struct {
  nimbus_id_t tenant_id; /* 0: none */
  const char *actor;
  const char *action; /* e.g. "user-created" */
  const char *detail;
  const char *id_key;
} store_audit_t;

/* Web console sessions (accounts/web-session.c holds the policy).
 * insert sets id (created_at, last_seen_at, expires_at are the caller's;
 * audit may be NULL); get finds the session by hash when it is neither
 * past expires_at nor idle since now - idle (STORE_NOT_FOUND otherwise);
 * touch moves last_seen_at; delete removes one by hash (STORE_NOT_FOUND
 * when there is none; audit may be NULL); delete_user and delete_tenant
 * end every session of a user or a tenant (none is fine); sweep removes
 * the ended ones and says how many (n may be NULL). */
store_status_t store_web_session_insert(store_t *st, nimbus_web_session_t *ws,
                                        const store_audit_t *audit);
store_status_t store_web_session_get(store_t *st, const unsigned char hash[32], int64_t now,
                                     int64_t idle, nimbus_web_session_t *out);
store_status_t store_web_session_touch(store_t *st, nimbus_id_t id, int64_t now);
store_status_t store_web_session_delete(store_t *st, const unsigned char hash[32],
                                        const store_audit_t *audit);
store_status_t store_web_session_delete_user(store_t *st, nimbus_id_t tenant_id,
                                             nimbus_id_t user_id);
store_status_t store_web_session_delete_tenant(store_t *st, nimbus_id_t tenant_id);
store_status_t store_web_session_sweep(store_t *st, int64_t now, int64_t idle, int *n);

/* The writes that are audited, each as its plain form above with `audit`
 * (may be NULL: the plain form) written in the same transaction. */
store_status_t store_tenant_insert_audited(store_t *st, nimbus_tenant_t *t,
                                           const store_audit_t *audit);
store_status_t store_tenant_update_audited(store_t *st, const nimbus_tenant_t *t,
                                           const store_audit_t *audit);
store_status_t store_tenant_delete_audited(store_t *st, nimbus_id_t id, const store_audit_t *audit);
store_status_t store_user_insert_audited(store_t *st, nimbus_user_t *u, const store_audit_t *audit);
store_status_t store_user_update_audited(store_t *st, const nimbus_user_t *u,
                                         const store_audit_t *audit);
store_status_t store_user_delete_audited(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                         const store_audit_t *audit);
store_status_t store_alias_insert_audited(store_t *st, nimbus_alias_t *a, const char *key,
                                          const store_audit_t *audit);
store_status_t store_alias_delete_audited(store_t *st, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                          const char *key, const store_audit_t *audit);
/* ---- OAuth device authorization grants (oauth/oauth.h, RFC 8628) ---- */
/* Insert a pending grant (g->id set) unless max_pending grants are pending
 * and unexpired at g->created_at: STORE_CONFLICT then.  Grants expired
 * more than a day ago are deleted on the way. */
store_status_t store_device_grant_insert(store_t *st, nimbus_device_grant_t *g, int max_pending);
/* A grant by the SHA-256 of its device code (by_device) or user code. */
store_status_t store_device_grant_get(store_t *st, bool by_device, const unsigned char hash[32],
                                      nimbus_device_grant_t *out);
/* Write g's status, tenant_id, user_id, interval, last_poll_at and
 * token_id when the stored status still is expect_status (compare and
 * set): STORE_NOT_FOUND when it is not.  audit may be NULL. */
store_status_t store_device_grant_update(store_t *st, const nimbus_device_grant_t *g,
                                         const char *expect_status, const store_audit_t *audit);

store_status_t store_token_insert_audited(store_t *st, nimbus_token_t *tk,
                                          const store_audit_t *audit);
store_status_t store_token_revoke_audited(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                          nimbus_id_t user_id, const store_audit_t *audit);
store_status_t store_device_insert_audited(store_t *st, nimbus_device_t *d,
                                           const store_audit_t *audit);
store_status_t store_device_set_location_audited(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                                 const char *location, const store_audit_t *audit);
store_status_t store_device_set_claim_audited(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                              const unsigned char claim_hash[32],
                                              int64_t expires_at, const store_audit_t *audit);
store_status_t store_device_claim_audited(store_t *st, const unsigned char claim_hash[32],
                                          int64_t now, const char *uuid,
                                          const unsigned char credential_hash[32],
                                          nimbus_device_t *out, const store_audit_t *audit);
store_status_t store_device_delete_audited(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                           const store_job_change_t *changes, size_t n,
                                           const nimbus_job_state_t *live, size_t nlive,
                                           nimbus_device_t *out, const store_audit_t *audit);
store_status_t store_panel_session_insert_audited(store_t *st, nimbus_panel_session_t *ps,
                                                  const store_audit_t *audit);
store_status_t store_job_pin_cas_audited(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                         const store_pin_counter_t *expected,
                                         const store_pin_counter_t *next,
                                         const store_audit_t *audit);

/* ---- money: billing settings, price tables, quotes, payments, ledger
 * (issue 12, docs/PAYMENTS.md).  Policy (what a price is, which payment
 * transition is legal, that a posting balances) lives in billing/ and
 * payments/; the store keeps rows and compares-and-sets. ---- */

/* A tenant's money settings; STORE_NOT_FOUND when never set (the caller
 * treats that as: no currency, no service fee). */
store_status_t store_tenant_billing_get(store_t *st, nimbus_id_t tenant_id,
                                        nimbus_tenant_billing_t *out);
/* Insert or replace (updated_at set); NOT_FOUND when the tenant is gone. */
store_status_t store_tenant_billing_put(store_t *st, nimbus_tenant_billing_t *b,
                                        const store_audit_t *audit);

/* The tenant's payment provider (sealed credentials).  NOT_FOUND: none. */
store_status_t store_payment_provider_get(store_t *st, nimbus_id_t tenant_id,
                                          nimbus_payment_provider_t *out);
/* Insert or replace (updated_at set). */
store_status_t store_payment_provider_put(store_t *st, nimbus_payment_provider_t *p,
                                          const store_audit_t *audit);
/* NOT_FOUND when the tenant has none. */
store_status_t store_payment_provider_delete(store_t *st, nimbus_id_t tenant_id,
                                             const store_audit_t *audit);

/* Price tables, unique by name in a tenant (CONFLICT when taken). */
store_status_t store_price_table_insert(store_t *st, nimbus_price_table_t *t,
                                        const store_audit_t *audit);
store_status_t store_price_table_get(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                     nimbus_price_table_t *out);
store_status_t store_price_table_get_by_name(store_t *st, nimbus_id_t tenant_id, const char *name,
                                             nimbus_price_table_t *out);
/* Replace name and spec of t->id (updated_at set); NOT_FOUND, CONFLICT (name). */
store_status_t store_price_table_update(store_t *st, nimbus_price_table_t *t,
                                        const store_audit_t *audit);
/* Delete; queues and printers that used it are left without one. */
store_status_t store_price_table_delete(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                        const store_audit_t *audit);
typedef bool (*store_price_table_cb)(const nimbus_price_table_t *t, void *ctx);
store_status_t store_price_table_list(store_t *st, nimbus_id_t tenant_id, store_price_table_cb cb,
                                      void *ctx);

/* Set how a queue / a printer charges (read back in nimbus_queue_t and
 * nimbus_device_t .pricing).  NOT_FOUND when the queue, printer or
 * (non-zero) price table is not the tenant's. */
store_status_t store_queue_set_pricing(store_t *st, nimbus_id_t tenant_id, nimbus_id_t queue_id,
                                       const nimbus_pricing_t *p, const store_audit_t *audit);
store_status_t store_device_set_pricing(store_t *st, nimbus_id_t tenant_id, nimbus_id_t device_id,
                                        const nimbus_pricing_t *p, const store_audit_t *audit);

/* A job's fee: insert or replace (one row per job); NOT_FOUND when the
 * job is not the tenant's.  Get: NOT_FOUND when never computed. */
store_status_t store_job_quote_put(store_t *st, const nimbus_job_quote_t *q);
store_status_t store_job_quote_get(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                   nimbus_job_quote_t *out);

/*
 * Payments.  A posting to append with a payment change: its lines sum to
 * zero (store.c refuses one that does not: STORE_ERROR, logged).
 */
typedef struct {
  char account[64];
  int64_t amount;
} store_ledger_line_t;
typedef struct {
  nimbus_id_t tenant_id; /* whose books (0: the operator's own) */
  nimbus_id_t job_id;
  nimbus_id_t payment_id; /* 0: set to the payment's id by store_payment_update */
  const char *kind;       /* "payment", "charge", "refund", "correction" */
  const char *currency;
  const char *memo; /* may be NULL */
  const store_ledger_line_t *lines;
  int nlines;
} store_ledger_posting_t;

/* Insert p (id, created_at, updated_at set) and, in the same transaction,
 * apply job_change (may be NULL; the job state machine's change, as
 * store_job_apply) and audit.  CONFLICT when p->order_id is taken, when
 * the job already has an open payment (RESERVING or PENDING), or when the
 * job change's compare fails: nothing is written then. */
store_status_t store_payment_insert(store_t *st, nimbus_payment_t *p,
                                    const store_job_change_t *job_change,
                                    const store_audit_t *audit);
store_status_t store_payment_get(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                 nimbus_payment_t *out);
/* Any tenant (a provider's callback names the order): the caller checks
 * the tenant against what the callback proves. */
store_status_t store_payment_get_by_order(store_t *st, const char *order_id, nimbus_payment_t *out);
/* The newest payment of a job (any state); NOT_FOUND when none. */
store_status_t store_payment_get_latest_for_job(store_t *st, nimbus_id_t tenant_id,
                                                nimbus_id_t job_id, nimbus_payment_t *out);
/*
 * Compare-and-set: the payment p->id of p->tenant_id is in state
 * `expected`; write p's state, provider_tx, payment_url, refund_tx,
 * reason, expires_at, paid_at (updated_at set), and in the same
 * transaction apply job_change (may be NULL), append posting (may be
 * NULL) and audit (may be NULL).  CONFLICT when the payment or the job is
 * not as compared: nothing is written.
 */
store_status_t store_payment_update(store_t *st, nimbus_payment_t *p,
                                    nimbus_payment_state_t expected,
                                    const store_job_change_t *job_change,
                                    const store_ledger_posting_t *posting,
                                    const store_audit_t *audit);
/* Payments that need the reconciler now (all tenants), in id order after
 * f->after_id, at most f->max (<= 0: no limit): RESERVING ones created
 * before f->reserving_before; PENDING ones expiring before
 * f->pending_before or whose job is no longer awaiting payment;
 * REFUND_PENDING ones; PAID ones whose job is in a terminal state (to
 * settle or refund).  cb also gets the job's state. */
typedef bool (*store_payment_cb)(const nimbus_payment_t *p, nimbus_job_state_t job_state,
                                 void *ctx);
typedef struct {
  int64_t reserving_before;
  int64_t pending_before;
  nimbus_id_t after_id;
  int max;
} store_payment_open_filter_t;
store_status_t store_payment_list_open(store_t *st, const store_payment_open_filter_t *f,
                                       store_payment_cb cb, void *ctx);
/* A tenant's payments, newest first (job_id 0: all jobs). */
store_status_t store_payment_list(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id, int limit,
                                  int offset, store_payment_cb cb, void *ctx);

/* The ledger: append-only (both backends refuse UPDATE and DELETE of its
 * rows).  A posting on its own (a correction); *posting_id may be NULL. */
store_status_t store_ledger_post(store_t *st, const store_ledger_posting_t *posting,
                                 nimbus_id_t *posting_id, const store_audit_t *audit);
typedef struct {
  nimbus_id_t tenant_id; /* required unless all_tenants */
  bool all_tenants;      /* the operator's view: every tenant's books and its own */
  nimbus_id_t job_id;    /* 0: any */
  nimbus_id_t after_id;  /* entries with id > after_id (paging) */
  int limit;             /* 0: no limit */
} store_ledger_filter_t;
typedef bool (*store_ledger_cb)(const nimbus_ledger_entry_t *e, void *ctx);
/* Entries in id order. */
store_status_t store_ledger_list(store_t *st, const store_ledger_filter_t *f, store_ledger_cb cb,
                                 void *ctx);
/* The balance of every account (sum of its amounts) per currency, in
 * account order; cb gets (account, currency, balance). */
typedef bool (*store_balance_cb)(const char *account, const char *currency, int64_t balance,
                                 void *ctx);
store_status_t store_ledger_balances(store_t *st, const store_ledger_filter_t *f,
                                     store_balance_cb cb, void *ctx);

/* ---- billing by purpose (issue 13, docs/BILLING.md): shared billing
 * accounts and their grants, users' purposes, saved payment methods, the
 * charge of each job released under a purpose, the print log.  Policy
 * (who may charge what, the charge formula, which charge transition is
 * legal, retries) lives in billing/; the store keeps rows, compares and
 * sets, and keeps each account's invariant (model.h) in the database
 * itself, so concurrent holds can never overdraw an account. ---- */

/* Insert a (id, created_at set; held, charged 0; balance as given, 0 for
 * an invoiced account).  CONFLICT when the code is taken in the tenant. */
store_status_t store_account_insert(store_t *st, nimbus_billing_account_t *a,
                                    const store_audit_t *audit);
store_status_t store_account_get(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                 nimbus_billing_account_t *out);
store_status_t store_account_get_by_code(store_t *st, nimbus_id_t tenant_id, const char *code,
                                         nimbus_billing_account_t *out);
/* Write name, everyone, restrict_printers, credit_limit and closed_at of
 * a->id (mode, balance, held, charged are never written here; a is read
 * back).  CONFLICT when the new credit limit is below charged + held. */
store_status_t store_account_update(store_t *st, nimbus_billing_account_t *a,
                                    const store_audit_t *audit);
typedef bool (*store_account_cb)(const nimbus_billing_account_t *a, void *ctx);
/* A tenant's accounts by code; closed ones only when include_closed. */
store_status_t store_account_list(store_t *st, nimbus_id_t tenant_id, bool include_closed,
                                  store_account_cb cb, void *ctx);
/* Add amount (> 0; < 0 takes money back, CONFLICT when that would leave
 * balance - held below zero) to the balance of account id, with posting
 * (may be NULL) and audit in the same transaction; *out (may be NULL)
 * receives the account after it. */
store_status_t store_account_topup(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                   int64_t amount, const store_ledger_posting_t *posting,
                                   const store_audit_t *audit, nimbus_billing_account_t *out);
/* Grants: insert (CONFLICT when it exists; NOT_FOUND when the account,
 * user or printer is not the tenant's), delete (NOT_FOUND), list (kind 0:
 * both), and whether one exists. */
store_status_t store_account_grant_add(store_t *st, nimbus_id_t tenant_id,
                                       const nimbus_account_grant_t *g, const store_audit_t *audit);
store_status_t store_account_grant_delete(store_t *st, nimbus_id_t tenant_id,
                                          const nimbus_account_grant_t *g,
                                          const store_audit_t *audit);
typedef bool (*store_grant_cb)(const nimbus_account_grant_t *g, void *ctx);
store_status_t store_account_grant_list(store_t *st, nimbus_id_t tenant_id, nimbus_id_t account_id,
                                        nimbus_grant_kind_t kind, store_grant_cb cb, void *ctx);
store_status_t store_account_granted(store_t *st, nimbus_id_t tenant_id, nimbus_id_t account_id,
                                     nimbus_grant_kind_t kind, nimbus_id_t ref_id, bool *out);

/* Purposes of one user, unique by name per user (CONFLICT).  Insert and
 * update: when p->is_default, the user's other purposes stop being the
 * default in the same transaction.  NOT_FOUND when p->account_id (not 0)
 * is not the tenant's. */
store_status_t store_purpose_insert(store_t *st, nimbus_purpose_t *p, const store_audit_t *audit);
store_status_t store_purpose_get(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                 nimbus_purpose_t *out);
store_status_t store_purpose_get_by_name(store_t *st, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                         const char *name, nimbus_purpose_t *out);
/* The user's default purpose; NOT_FOUND when none is. */
store_status_t store_purpose_get_default(store_t *st, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                         nimbus_purpose_t *out);
/* Write name, account_id, is_default, defaults of p->id (updated_at set). */
store_status_t store_purpose_update(store_t *st, nimbus_purpose_t *p, const store_audit_t *audit);
store_status_t store_purpose_delete(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                    const store_audit_t *audit);
typedef bool (*store_purpose_cb)(const nimbus_purpose_t *p, void *ctx);
/* A user's purposes by name (user_id 0: every user's of the tenant). */
store_status_t store_purpose_list(store_t *st, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                  store_purpose_cb cb, void *ctx);

/* A user's saved payment method: one row per user; put inserts or
 * replaces it (id, created_at, updated_at set). */
store_status_t store_payment_method_put(store_t *st, nimbus_payment_method_t *m,
                                        const store_audit_t *audit);
store_status_t store_payment_method_get(store_t *st, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                        nimbus_payment_method_t *out);
/* Any tenant (the provider's redirect names the registration). */
store_status_t store_payment_method_get_by_setup(store_t *st, const char *setup_id,
                                                 nimbus_payment_method_t *out);
/* Compare-and-set on m->id's state: write state, setup_tx, setup_url,
 * sealed, display (updated_at set).  CONFLICT when not as compared. */
store_status_t store_payment_method_update(store_t *st, nimbus_payment_method_t *m,
                                           nimbus_method_state_t expected,
                                           const store_audit_t *audit);
store_status_t store_payment_method_delete(store_t *st, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                           const store_audit_t *audit);

/* Account links (docs/FEDERATION.md §2.2; federation/account-link.c).
 * insert sets id, created_at and version (CONFLICT: the user already has
 * a link to that service_url; NOT_FOUND: no such user); get reads one of
 * the tenant's; list gives a user's by service_url; due gives up to
 * `limit` links of any tenant whose next_poll_at <= now (pending, linked
 * or relink-needed), oldest first; update writes every mutable member of
 * l when its version is still `l->version` (then l->version grows),
 * CONFLICT when another writer came first; delete removes it. */
typedef bool (*store_account_link_cb)(const nimbus_account_link_t *l, void *ctx);
store_status_t store_account_link_insert(store_t *st, nimbus_account_link_t *l,
                                         const store_audit_t *audit);
store_status_t store_account_link_get(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                      nimbus_account_link_t *out);
store_status_t store_account_link_list(store_t *st, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                       store_account_link_cb cb, void *ctx);
store_status_t store_account_link_due(store_t *st, int64_t now, int limit, store_account_link_cb cb,
                                      void *ctx);
store_status_t store_account_link_update(store_t *st, nimbus_account_link_t *l,
                                         const store_audit_t *audit);
store_status_t store_account_link_delete(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                         const store_audit_t *audit);

/* Why a hold or a charge change was refused (with STORE_CONFLICT). */
typedef enum {
  STORE_CHARGE_JOB_CHANGED = 1, /* the job or the charge is not as compared */
  STORE_CHARGE_ACCOUNT_CLOSED,  /* the account is closed */
  STORE_CHARGE_LIMIT            /* the account's balance or credit limit does not cover it */
} store_charge_refusal_t;

/*
 * Place c (state HELD; created_at, updated_at set) for job c->job_id:
 * insert it, or replace the job's RELEASED one; when c->account_id is not
 * 0, add c->hold to that account's held, refused when the account is
 * closed or its invariant (model.h) would break; and apply release (the
 * state machine's held -> fetchable change; may be NULL) and audit, all
 * in one transaction.  CONFLICT with *why (may be NULL): nothing written.
 */
store_status_t store_charge_hold(store_t *st, nimbus_job_charge_t *c,
                                 const store_job_change_t *release, const store_audit_t *audit,
                                 store_charge_refusal_t *why);
store_status_t store_charge_get(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                nimbus_job_charge_t *out);
/* How a charge change moves its account's figures (added, may be < 0). */
typedef struct {
  int64_t held, balance, charged;
} store_account_delta_t;
/*
 * Compare-and-set on c->job_id's charge state `expected`: write c's
 * state, print_fee, service_fee, total, impressions, attempts,
 * next_try_at, order_id, provider_tx, reason, charged_at (updated_at
 * set); add *delta (may be NULL) to account c->account_id (when not 0),
 * refused when its invariant would break; append posting (may be NULL)
 * and audit.  One transaction; CONFLICT with *why: nothing written.
 */
store_status_t store_charge_update(store_t *st, nimbus_job_charge_t *c,
                                   nimbus_charge_state_t expected,
                                   const store_account_delta_t *delta,
                                   const store_ledger_posting_t *posting,
                                   const store_audit_t *audit, store_charge_refusal_t *why);
/* Charges that need billing/charge.c now (all tenants), by job id after
 * after_job_id, at most max: HELD ones whose job is terminal or back in
 * held; CHARGE_FAILED ones with 0 < next_try_at <= now (0: given up);
 * CHARGING ones last
 * updated before stale_before.  cb also gets the job's state. */
typedef bool (*store_charge_cb)(const nimbus_job_charge_t *c, nimbus_job_state_t job_state,
                                void *ctx);
store_status_t store_charge_list_due(store_t *st, int64_t now, int64_t stale_before,
                                     nimbus_id_t after_job_id, int max, store_charge_cb cb,
                                     void *ctx);

/* Change the job-account-id of a job that is still received or held
 * (the purpose chosen at the panel before release); CONFLICT otherwise. */
store_status_t store_job_set_account(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                     const char *account_id, const store_audit_t *audit);

/* The print log: a tenant's jobs created in [from, to) (to 0: no end),
 * newest first, with their charge and quote when they have one;
 * filters are 0 when unused (account_id / purpose_id: only jobs with a
 * charge to it).  before_id pages (jobs with id < before_id; 0: from the
 * newest). */
typedef struct {
  nimbus_id_t tenant_id;
  int64_t from, to;
  nimbus_id_t user_id, account_id, purpose_id, device_id;
  bool private_only; /* only jobs charged to their owner's own money */
  nimbus_id_t before_id;
  int limit; /* 0: no limit */
} store_print_log_filter_t;
typedef bool (*store_print_log_cb)(const nimbus_job_t *job, const nimbus_job_charge_t *charge,
                                   const nimbus_job_quote_t *quote, void *ctx);
store_status_t store_print_log(store_t *st, const store_print_log_filter_t *f,
                               store_print_log_cb cb, void *ctx);

/* ---- counters for /metrics ---- */
/* Number of jobs per lifecycle state, across all tenants: counts[state]
 * for state 1..9 (index 0 unused). */
store_status_t store_job_count_by_state(store_t *st, int64_t counts[10]);

/* ---- event subscriptions of devices (notify.c holds the policy) ----
 * Kept here so that every node knows every subscription: its id (taken
 * here, unique across nodes), its device and its lease.  Only live ones
 * (expires_at > now) are read; the sweep removes the rest; a deleted
 * device's go with it. */
/* Insert s (id and created_at set); NOT_FOUND when its device, queue or
 * tenant is gone. */
store_status_t store_subscription_insert(store_t *st, nimbus_subscription_t *s);
store_status_t store_subscription_get(store_t *st, int id, int64_t now, nimbus_subscription_t *out);
/* The live subscriptions of device_id, oldest first, at most max. */
store_status_t store_subscription_list(store_t *st, nimbus_id_t device_id, int64_t now,
                                       nimbus_subscription_t *out, int max, int *count);
/* A new lease: lease_seconds, until expires_at; NOT_FOUND when device_id
 * has no such subscription. */
store_status_t store_subscription_renew(store_t *st, int id, nimbus_id_t device_id,
                                        int lease_seconds, int64_t expires_at);
/* NOT_FOUND when device_id has no such subscription. */
store_status_t store_subscription_delete(store_t *st, int id, nimbus_id_t device_id);
/* Remove the subscriptions whose lease ended before now; *removed may be NULL. */
store_status_t store_subscription_sweep(store_t *st, int64_t now, int *removed);

/* ---- the event feed (several nodes on one database) ----
 * Every job event (the job_events row of a transition) and every device
 * deletion is written with the origin of the store that wrote it: a
 * random number drawn at store_open(), one per nimbusd process.  A feed
 * hands a node the events other origins committed, oldest first, so that
 * its parked long-polls hear of a release made on another node.  The
 * feed starts at the events committed after store_feed_open(); events of
 * this store's own origin are left out (the node posted them itself when
 * it committed them).  SQLite: a poll of job_events; PostgreSQL: LISTEN
 * on the channel a trigger NOTIFYs at commit, so commit order is kept. */
typedef struct store_feed store_feed_t;
#define STORE_EVENT_DEVICE_DELETED "device-deleted" /* its job_events row: job_id 0 */
typedef struct {
  int64_t id;                 /* position in the event log (job_events.id) */
  nimbus_id_t tenant_id;      /* both kinds */
  nimbus_id_t deleted_device; /* not 0: this device's registration was deleted */
  nimbus_job_state_t from;    /* a job event: the state before (0: a new job) */
  nimbus_job_state_t to;      /* ...and after */
  nimbus_job_t job;           /* ...the job as it is now (id 0 when it is gone) */
} store_feed_event_t;
store_status_t store_feed_open(store_t *st, store_feed_t **out);
/* Up to max events into out (*n of them), waiting at most timeout_ms when
 * none is there yet (*n = 0 after the wait).  A broken connection is
 * logged and reopened by a later call; events committed while it was
 * down are not replayed (parked requests then wake at their deadline). */
store_status_t store_feed_next(store_feed_t *f, int timeout_ms, store_feed_event_t *out, size_t max,
                               size_t *n);
void store_feed_close(store_feed_t *f);

/* Remote printer links and their remote jobs (docs/FEDERATION.md §1, §3).
 * insert: STORE_CONFLICT when the tenant has that name, STORE_NOT_FOUND
 * when the queue is not the tenant's; fills id.  update: the admin's
 * change of queue, credential and state (bumps revision).  set_state: the
 * sync worker's write of uuid, credential, subscription and status;
 * STORE_NOT_FOUND when the link is gone or an admin changed it since it
 * was read (l->revision).  list: tenant_id 0 means every tenant. */
store_status_t store_remote_link_insert(store_t *st, nimbus_remote_link_t *l,
                                        const store_audit_t *audit);
store_status_t store_remote_link_get(store_t *st, nimbus_id_t tenant_id, const char *name,
                                     nimbus_remote_link_t *out);
store_status_t store_remote_link_list(store_t *st, nimbus_id_t tenant_id, nimbus_remote_link_t *out,
                                      int max, int *count);
store_status_t store_remote_link_update(store_t *st, nimbus_remote_link_t *l,
                                        const store_audit_t *audit);
store_status_t store_remote_link_set_state(store_t *st, const nimbus_remote_link_t *l);
store_status_t store_remote_link_delete(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                        const store_audit_t *audit);
/* Replace link_id's stored list by jobs[0..n): new ones added, kept ones
 * updated (seen_at = now), vanished ones removed unless taken
 * (local_job_id set).  mark must grow with every call for the link. */
store_status_t store_remote_jobs_replace(store_t *st, nimbus_id_t tenant_id, nimbus_id_t link_id,
                                         const nimbus_remote_job_t *jobs, int n, int64_t now,
                                         int64_t mark);
/* link_id's stored jobs, newest submission first; *count may exceed max
 * (only max are filled). */
store_status_t store_remote_job_list(store_t *st, nimbus_id_t tenant_id, nimbus_id_t link_id,
                                     nimbus_remote_job_t *out, int max, int *count);

/* Remote jobs as federation/ reads them (docs/FEDERATION.md §4), with
 * their link's name and service URL:
 *  - USER: the untaken jobs of user_id's linked accounts (owner equals
 *    the remote_user of a linked account link whose service_url equals
 *    the job's link's), not canceled, aborted or completed there, newest
 *    submission first (served by the (tenant_id, owner) index);
 *  - ONE: link_id's job remote_job_id, taken or not;
 *  - LOCAL: the one taken as local job local_job_id;
 *  - REPORT: the taken ones of every tenant whose end is not reported yet.
 * *count is how many matched (only max are filled). */
typedef enum {
  STORE_REMOTE_Q_USER = 0,
  STORE_REMOTE_Q_ONE,
  STORE_REMOTE_Q_LOCAL,
  STORE_REMOTE_Q_REPORT
} store_remote_q_t;
typedef struct {
  store_remote_q_t which;
  nimbus_id_t tenant_id;
  nimbus_id_t user_id;      /* USER */
  nimbus_id_t link_id;      /* ONE */
  int remote_job_id;        /* ONE */
  nimbus_id_t local_job_id; /* LOCAL */
} store_remote_query_t;
store_status_t store_remote_job_query(store_t *st, const store_remote_query_t *q,
                                      nimbus_remote_job_t *out, int max, int *count);
/* A change of one remote job (j: tenant via tenant_id, link_id,
 * remote_job_id):
 *  - TAKE: local_job_id = j->local_job_id, only while it has none
 *    (STORE_CONFLICT when it has); a row pruned meanwhile is put back
 *    from j;
 *  - DROP: removed from the stored list (the remote says it is gone);
 *  - REPORTED: reported_state, reported_impressions, reported_done. */
typedef enum {
  STORE_REMOTE_TAKE = 0,
  STORE_REMOTE_DROP,
  STORE_REMOTE_REPORTED
} store_remote_change_t;
store_status_t store_remote_job_change(store_t *st, nimbus_id_t tenant_id,
                                       store_remote_change_t what, const nimbus_remote_job_t *j);

/* ---- contracts: contracts, contract webhook events, dealers, packages
 * (docs/PROVISIONING.md §1–§4).  The policy (validation, revision, who
 * may) is in provisioning/contract.c, contract-webhook.c, package.c and
 * the REST handlers; the store keeps what it is given. ---- */
typedef bool (*store_contract_cb)(const nimbus_contract_t *c, void *ctx);
/* insert: sets id, version 1, created_at = updated_at = c->updated_at when
 * set, else now (revision, canceled, JSON as given); packages[0..npackages)
 * recorded.  CONFLICT: (tenant, name) or (owner, external_id) taken;
 * NOT_FOUND: no such tenant. */
store_status_t store_contract_insert(store_t *st, nimbus_contract_t *c, const store_audit_t *audit);
/* update: writes name, external_id, start_at, end_at, the JSON members,
 * revision, canceled/canceled_at and the package list (updated_at = now)
 * when the stored version still is c->version (then c->version grows);
 * CONFLICT: changed since read, or a unique name/external id taken;
 * NOT_FOUND: gone. */
store_status_t store_contract_update(store_t *st, nimbus_contract_t *c, const store_audit_t *audit);
/* get: any tenant's by id (the caller checks who may see it). */
store_status_t store_contract_get(store_t *st, nimbus_id_t id, nimbus_contract_t *out);
store_status_t store_contract_get_by_name(store_t *st, nimbus_id_t tenant_id, const char *name,
                                          nimbus_contract_t *out);
store_status_t store_contract_get_by_external(store_t *st, nimbus_id_t owner_tenant_id,
                                              const char *external_id, nimbus_contract_t *out);
/* list: filters ANDed, 0 filters nothing; dealer_tenant_id: only
 * contracts of customers granted to that dealer (tenant_dealers).  Ordered
 * by tenant name, then contract name. */
typedef struct {
  nimbus_id_t tenant_id;
  nimbus_id_t owner_tenant_id;
  nimbus_id_t dealer_tenant_id;
  bool include_canceled;
} store_contract_filter_t;
store_status_t store_contract_list(store_t *st, const store_contract_filter_t *f,
                                   store_contract_cb cb, void *ctx);
/* cancel: canceled, canceled_at = now, version + 1.  NOT_FOUND: no such
 * contract; CONFLICT: already canceled. */
store_status_t store_contract_cancel(store_t *st, nimbus_id_t id, int64_t now,
                                     const store_audit_t *audit);
/* Every contract not canceled with start_at <= now < end_at, by id
 * (the detection sweep filters the revisions that already have a run). */
store_status_t store_contract_due_each(store_t *st, int64_t now, store_contract_cb cb, void *ctx);

/* An incoming webhook event (§4) recorded with the contract change it
 * carries, in one transaction: both or neither. */
typedef enum {
  STORE_CONTRACT_EVENT_RECORD = 0, /* only the event (nothing to change) */
  STORE_CONTRACT_EVENT_INSERT,     /* as store_contract_insert(c) */
  STORE_CONTRACT_EVENT_UPDATE,     /* as store_contract_update(c) */
} store_contract_event_op_t;
typedef struct {
  const char *sender;
  const char *event_id;
  int64_t received_at;
  int64_t prune_before; /* events received before this go on the way (0: none) */
} store_contract_event_t;
/* Record (sender, event_id) and apply op to c.  A (sender, event_id)
 * already recorded: STORE_OK with *duplicate true, *contract_id the
 * contract the first one named (0: none) and nothing changed.  Else
 * *duplicate false, the op's status (CONFLICT, NOT_FOUND as the op's; on
 * any failure the event is not recorded either) and *contract_id c->id
 * (RECORD: c->id as given, may be 0). */
store_status_t store_contract_event_apply(store_t *st, const store_contract_event_t *ev,
                                          store_contract_event_op_t op, nimbus_contract_t *c,
                                          const store_audit_t *audit, bool *duplicate,
                                          nimbus_id_t *contract_id);

/* Dealer grants (§2): at most one dealer per customer tenant.  set
 * replaces it (NOT_FOUND: a tenant missing); get: NOT_FOUND when none;
 * delete: NOT_FOUND when none. */
store_status_t store_dealer_set(store_t *st, nimbus_id_t customer_tenant_id,
                                nimbus_id_t dealer_tenant_id, const store_audit_t *audit);
store_status_t store_dealer_get(store_t *st, nimbus_id_t customer_tenant_id,
                                nimbus_id_t *dealer_tenant_id);
store_status_t store_dealer_delete(store_t *st, nimbus_id_t customer_tenant_id,
                                   const store_audit_t *audit);
/* The customers dealer_tenant_id is the dealer of (0: every grant), by
 * customer id: cb(customer, dealer, ctx) until it returns false. */
typedef bool (*store_dealer_cb)(nimbus_id_t customer_tenant_id, nimbus_id_t dealer_tenant_id,
                                void *ctx);
store_status_t store_dealer_list(store_t *st, nimbus_id_t dealer_tenant_id, store_dealer_cb cb,
                                 void *ctx);

/* Packages (§3).  insert sets id (created_at as given, else now); get
 * any owner's by id; list an owner's, newest first; in_use: named by a
 * contract not canceled whose end_at > now; delete removes owner's
 * package unless in use (CONFLICT then; NOT_FOUND: none), its blob is the
 * caller's to remove. */
typedef bool (*store_package_cb)(const nimbus_package_t *p, void *ctx);
store_status_t store_package_insert(store_t *st, nimbus_package_t *p, const store_audit_t *audit);
store_status_t store_package_get(store_t *st, nimbus_id_t id, nimbus_package_t *out);
store_status_t store_package_list(store_t *st, nimbus_id_t owner_tenant_id, store_package_cb cb,
                                  void *ctx);
store_status_t store_package_in_use(store_t *st, nimbus_id_t id, int64_t now, bool *used);
store_status_t store_package_delete(store_t *st, nimbus_id_t owner_tenant_id, nimbus_id_t id,
                                    int64_t now, const store_audit_t *audit);

/* ---- smart services: printer services, backups, supplies, parts
 * (docs/PROVISIONING.md §10, §11; the policy is in src/server/services/) ---- */

/* Printer service configurations, one per (device, service).  put writes
 * s (insert or replace; updated_at = now; enabled as given); get reads
 * one (out->settings_json malloc'd: the caller frees it; NOT_FOUND: none);
 * list gives a printer's by service name (settings_json valid during the
 * callback only); disable_contract sets enabled = false on every row the
 * tenant's contract wrote (none: STORE_OK). */
typedef bool (*store_printer_service_cb)(const nimbus_printer_service_t *s, void *ctx);
store_status_t store_printer_service_put(store_t *st, const nimbus_printer_service_t *s);
store_status_t store_printer_service_get(store_t *st, nimbus_id_t device_id, const char *service,
                                         nimbus_printer_service_t *out);
store_status_t store_printer_service_list(store_t *st, nimbus_id_t device_id,
                                          store_printer_service_cb cb, void *ctx);
store_status_t store_printer_service_disable_contract(store_t *st, nimbus_id_t tenant_id,
                                                      nimbus_id_t contract_id);

/* Backups (snapshots).  insert sets b->id and b->created_at (size from
 * b->json); get reads one of the tenant's (out->json malloc'd: the caller
 * frees it); list gives a printer's newest first, json NULL; prune keeps
 * the newest keep_full full snapshots and the differentials against them,
 * deleting the rest (*deleted: how many, may be NULL). */
typedef bool (*store_backup_cb)(const nimbus_backup_t *b, void *ctx);
store_status_t store_backup_insert(store_t *st, nimbus_backup_t *b);
store_status_t store_backup_get(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                nimbus_backup_t *out);
store_status_t store_backup_list(store_t *st, nimbus_id_t tenant_id, nimbus_id_t device_id,
                                 store_backup_cb cb, void *ctx);
store_status_t store_backup_prune(store_t *st, nimbus_id_t device_id, int keep_full, int *deleted);

/* A supply's reported level, in one transaction with its episode and
 * order: the last level is stored; low (the caller's threshold decision)
 * with no open episode opens episode + 1 and inserts its one order
 * (state PENDING, next_at now) into *order (order->id 0: no new order);
 * not low closes an open episode. */
typedef struct {
  nimbus_id_t tenant_id;
  nimbus_id_t device_id;
  nimbus_id_t contract_id;
  const char *supply;
  const char *type;
  int level;
  bool low;
} store_supply_report_t;
store_status_t store_supply_report(store_t *st, const store_supply_report_t *r,
                                   nimbus_supply_order_t *order);

/* Orders and alerts listed: tenant_id 0 any tenant; due_at > 0 only the
 * PENDING ones whose next_at <= due_at (the delivery sweep); newest
 * first, at most limit (<= 0: 500). */
typedef struct {
  nimbus_id_t tenant_id;
  int64_t due_at;
  int limit;
} store_delivery_filter_t;
typedef bool (*store_supply_order_cb)(const nimbus_supply_order_t *o, void *ctx);
typedef bool (*store_part_alert_cb)(const nimbus_part_alert_t *a, void *ctx);
store_status_t store_supply_order_list(store_t *st, const store_delivery_filter_t *f,
                                       store_supply_order_cb cb, void *ctx);
store_status_t store_part_alert_list(store_t *st, const store_delivery_filter_t *f,
                                     store_part_alert_cb cb, void *ctx);

/* Parts: counter_get reads where a part's life counts from (NOT_FOUND:
 * never replaced, cycle 1 from 0); replaced records a replacement at
 * impressions (cycle + 1); alert_insert adds a->... (state PENDING,
 * next_at now; sets id, created_at), CONFLICT when the part already has
 * an alert in that cycle. */
store_status_t store_part_counter_get(store_t *st, nimbus_id_t device_id, const char *part,
                                      nimbus_part_counter_t *out);
store_status_t store_part_replaced(store_t *st, nimbus_id_t tenant_id, nimbus_id_t device_id,
                                   const char *part, int64_t impressions);
store_status_t store_part_alert_insert(store_t *st, nimbus_part_alert_t *a);

/* The delivery sweep's result for one order or alert. */
typedef enum { STORE_DELIVERY_ORDER = 1, STORE_DELIVERY_ALERT = 2 } store_delivery_kind_t;
store_status_t store_delivery_mark(store_t *st, store_delivery_kind_t kind, nimbus_id_t id,
                                   nimbus_delivery_state_t state, int attempts, int64_t next_at);

/* ---- provisioning (docs/PROVISIONING.md §5–§8) ----
 * Runs, their steps and the per-printer coverage, the step history
 * (provisioning_events) and each printer's reported inventory.  Policy
 * (what to plan, when to retry, the run's end state) is
 * provisioning/run-*.c's; these only keep the rows consistent. */
typedef bool (*store_prov_run_cb)(const nimbus_prov_run_t *r, void *ctx);
typedef bool (*store_prov_step_cb)(const nimbus_prov_step_t *s, void *ctx);
typedef bool (*store_id_each_cb)(nimbus_id_t id, void *ctx);
/* Create run (tenant_id, contract_id, revision, kind, state, note;
 * a restore: contract_id 0, stored NULL, with device_id and backup_id) with
 * its steps (run_id filled here) and its coverage (the devices planned
 * for, steps or not) in one transaction, only when no run exists for
 * (contract_id, revision): *created true and run->id, created_at set;
 * else *created false, nothing written and *run is the existing run.
 * CONFLICT when the printer has a running restore already. */
store_status_t store_prov_run_create(store_t *st, nimbus_prov_run_t *run,
                                     const nimbus_id_t *devices, int ndevices,
                                     nimbus_prov_step_t *steps, int nsteps, bool *created);
store_status_t store_prov_run_get(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                  nimbus_prov_run_t *out);
/* Runs newest first: those of contract_id (0: any), of device_id (a
 * restore's printer; 0: any), of tenant_id (0: any). */
store_status_t store_prov_run_list(store_t *st, nimbus_id_t tenant_id, nimbus_id_t contract_id,
                                   nimbus_id_t device_id, store_prov_run_cb cb, void *ctx);
/* Set the run's end state (DONE, PARTIAL, NOTHING) and finished_at, only
 * while it is RUNNING (CONFLICT otherwise, NOT_FOUND when absent). */
store_status_t store_prov_run_finish(store_t *st, nimbus_id_t run_id, nimbus_run_state_t state,
                                     const char *note, int64_t now);
/* Widen a run's coverage to device_id: its coverage row and its steps in
 * one transaction, only when the device is not covered yet (*added
 * false: nothing written).  A run that gets steps is RUNNING again. */
store_status_t store_prov_run_widen(store_t *st, nimbus_id_t run_id, nimbus_id_t tenant_id,
                                    nimbus_id_t device_id, nimbus_prov_step_t *steps, int nsteps,
                                    int64_t now, bool *added);
/* The devices of tenant_id not covered by run_id, by id. */
store_status_t store_prov_run_uncovered(store_t *st, nimbus_id_t run_id, nimbus_id_t tenant_id,
                                        store_id_each_cb cb, void *ctx);
/* The steps of a run, by device then seq (tenant_id 0: any tenant). */
store_status_t store_prov_step_list(store_t *st, nimbus_id_t tenant_id, nimbus_id_t run_id,
                                    store_prov_step_cb cb, void *ctx);
store_status_t store_prov_step_get(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                   nimbus_prov_step_t *out);
/* Move step s->id from from_state (and attempts from_attempts) to the
 * state, attempts, next_at, sent_at, finished_at and reason of *s, with a
 * provisioning_events row (detail) in the same transaction.  CONFLICT
 * when the step is no longer in from_state/from_attempts (another node
 * moved it), NOT_FOUND when absent. */
store_status_t store_prov_step_transition(store_t *st, const nimbus_prov_step_t *s,
                                          nimbus_step_state_t from_state, int from_attempts,
                                          const char *detail, int64_t now);
/* The head steps: per (run, device) the first step in seq order that is
 * not CONFIRMED or SKIPPED, when it is SENT or PLANNED with next_at <=
 * now; oldest run first, at most limit (device_id 0: every device). */
store_status_t store_prov_step_heads(store_t *st, nimbus_id_t device_id, int64_t now, int limit,
                                     store_prov_step_cb cb, void *ctx);
/* SENT steps whose sent_at <= sent_before, at most limit. */
store_status_t store_prov_step_timed_out(store_t *st, int64_t sent_before, int limit,
                                         store_prov_step_cb cb, void *ctx);
/* Whether a step of device_id names package_id. */
store_status_t store_prov_device_has_package(store_t *st, nimbus_id_t device_id,
                                             nimbus_id_t package_id, bool *out);
/* The printer's reported inventory: put replaces it. */
store_status_t store_inventory_put(store_t *st, const nimbus_device_inventory_t *inv);
store_status_t store_inventory_get(store_t *st, nimbus_id_t device_id,
                                   nimbus_device_inventory_t *out);

#endif
