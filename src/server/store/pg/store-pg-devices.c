/*
 * store-pg-devices.c: output devices in the PostgreSQL backend (store.h,
 * "output devices"), with the meanings store/sqlite/store-sqlite-devices.c
 * implements: registrations with the queues they serve, the one-time
 * claim, credential and uuid lookups, what devices report, liveness, and
 * deletion with its tombstone and the re-offer of the device's jobs.
 *
 * Secrets are never here: claim codes and credentials arrive as their
 * SHA-256.  A hash of 32 zero bytes means "none" and is stored as NULL,
 * so the UNIQUE constraints ignore it.
 */
#include "store-pg-private.h"

#include <stdlib.h>

static bool hash_is_zero(const unsigned char h[32]) {
  unsigned char acc = 0;
  for (int i = 0; i < 32; i++) acc |= h[i];
  return acc == 0;
}

static void param_hash_or_null(pg_params_t *p, const unsigned char h[32]) {
  if (h && !hash_is_zero(h))
    pg_param_bytes(p, h, 32);
  else
    pg_param_id_or_null(p, 0);
}

/* Column order as in DEVICE_COLS (store-pg.c); queues are read apart. */
static void device_from_row(const PGresult *r, int i, nimbus_device_t *d) {
  memset(d, 0, sizeof *d);
  d->id = pg_get_int64(r, i, 0);
  d->tenant_id = pg_get_int64(r, i, 1);
  PG_GET_FIELD(r, i, 2, d->name);
  d->status = (nimbus_device_status_t)pg_get_int(r, i, 3);
  PG_GET_FIELD(r, i, 4, d->uuid);
  pg_get_bytes(r, i, 5, d->claim_hash, sizeof d->claim_hash);
  d->claim_expires_at = pg_get_int64(r, i, 6);
  pg_get_bytes(r, i, 7, d->credential_hash, sizeof d->credential_hash);
  d->created_at = pg_get_int64(r, i, 8);
  d->registered_at = pg_get_int64(r, i, 9);
  d->last_seen_at = pg_get_int64(r, i, 10);
  PG_GET_FIELD(r, i, 11, d->transport);
  d->printer_state = pg_get_int(r, i, 12);
  PG_GET_FIELD(r, i, 13, d->state_reasons);
  PG_GET_FIELD(r, i, 14, d->make_model);
  d->jobs_in_progress = pg_get_int(r, i, 15);
  PG_GET_FIELD(r, i, 16, d->location);
  d->pricing.price_table_id = pg_get_int64(r, i, 17);
  PG_GET_FIELD(r, i, 18, d->pricing.payment);
}

/* Fill d->queue_ids/queue_names/nqueues (by queue name) on c. */
static store_status_t device_queues(pg_conn_t *c, nimbus_device_t *d) {
  pg_params_t p = {0};
  pg_param_int(&p, d->id);
  pg_param_int(&p, d->tenant_id);
  pg_param_int(&p, NIMBUS_DEVICE_QUEUES_MAX);
  PGresult *r;
  store_status_t status = pg_exec(c, PS_DEVICE_QUEUES, &p, &r, "device queues");
  if (status != STORE_OK) return status;
  int n = PQntuples(r);
  if (n > NIMBUS_DEVICE_QUEUES_MAX) n = NIMBUS_DEVICE_QUEUES_MAX;
  for (int i = 0; i < n; i++) {
    d->queue_ids[i] = pg_get_int64(r, i, 0);
    PG_GET_FIELD(r, i, 1, d->queue_names[i]);
  }
  d->nqueues = n;
  PQclear(r);
  return STORE_OK;
}

/* Run single-row DEVICE_COLS statement id on c and read the device with
 * its queues into *out (may be NULL; untouched on failure). */
static store_status_t device_read(pg_conn_t *c, pg_stmt_id_t id, const pg_params_t *p,
                                  nimbus_device_t *out, const char *what) {
  PGresult *r;
  nimbus_device_t d;
  store_status_t status = pg_exec_row(c, id, p, &r, what);
  if (status != STORE_OK) return status;
  device_from_row(r, 0, &d);
  PQclear(r);
  status = device_queues(c, &d);
  if (status == STORE_OK && out) *out = d;
  return status;
}

static store_status_t device_get_on(pg_conn_t *c, nimbus_id_t tenant_id, nimbus_id_t id,
                                    nimbus_device_t *out) {
  pg_params_t p = {0};
  pg_param_int(&p, id);
  pg_param_int(&p, tenant_id);
  return device_read(c, PS_DEVICE_GET, &p, out, "device get");
}

/* device_read() on a connection of its own. */
static store_status_t device_lookup(pg_store_t *st, pg_stmt_id_t id, const pg_params_t *p,
                                    nimbus_device_t *out, const char *what) {
  pg_conn_t *c = pg_acquire(st, what);
  if (!c) return STORE_ERROR;
  store_status_t status = device_read(c, id, p, out, what);
  pg_release(st, c);
  return status;
}

/* Run an UPDATE on a connection of its own: NOT_FOUND when no row. */
static store_status_t device_update(pg_store_t *st, pg_stmt_id_t id, const pg_params_t *p,
                                    const char *what, const store_audit_t *audit) {
  pg_conn_t *c = pg_acquire(st, what);
  if (!c) return STORE_ERROR;
  store_status_t status = pg_audit_begin(c, audit);
  if (status == STORE_OK) status = pg_exec_changes(c, id, p, what);
  status = pg_audit_end(c, audit, status, 0);
  pg_release(st, c);
  return status;
}

/* ---- registrations ---- */

/* One transaction: the row, its queues (a queue id of another tenant, or
 * none, fails the (tenant_id, queue_id) foreign key: NOT_FOUND; a queue
 * listed twice is served once), then the device as stored. */
store_status_t pg_device_insert(store_t *base, nimbus_device_t *d, const store_audit_t *audit) {
  pg_store_t *st = pg_of(base);
  if (d->nqueues < 0 || d->nqueues > NIMBUS_DEVICE_QUEUES_MAX) {
    log_event(LOG_ERROR, NULL, "store_device_insert: bad queue count", "nqueues",
              LOG_INT(d->nqueues), (char *)NULL);
    return STORE_ERROR;
  }
  pg_conn_t *c = pg_acquire(st, "device insert");
  if (!c) return STORE_ERROR;
  int64_t now = (int64_t)time(NULL);
  pg_params_t p = {0};
  pg_param_int(&p, d->tenant_id);
  PG_PARAM_FIELD(&p, d->name);
  param_hash_or_null(&p, d->claim_hash);
  pg_param_int(&p, d->claim_expires_at);
  pg_param_int(&p, now);
  PG_PARAM_FIELD(&p, d->location);
  nimbus_device_t got;
  PGresult *r = NULL;
  store_status_t status = pg_tx_begin(c);
  if (status == STORE_OK) status = pg_exec(c, PS_DEVICE_INSERT, &p, &r, "device insert");
  if (status == STORE_OK && PQntuples(r) != 1) status = STORE_ERROR; /* RETURNING yields it */
  nimbus_id_t id = status == STORE_OK ? pg_get_int64(r, 0, 0) : 0;
  PQclear(r);
  for (int i = 0; i < d->nqueues && status == STORE_OK; i++) {
    pg_params_t q = {0};
    pg_param_int(&q, id);
    pg_param_int(&q, d->tenant_id);
    pg_param_int(&q, d->queue_ids[i]);
    status = pg_exec(c, PS_DEVICE_QUEUE_INSERT, &q, NULL, "device queue insert");
  }
  if (status == STORE_OK) status = device_get_on(c, d->tenant_id, id, &got);
  if (status == STORE_OK) status = pg_audit_insert(c, audit, id);
  if (status == STORE_OK) status = pg_tx_commit(c);
  if (status == STORE_OK)
    *d = got;
  else
    pg_tx_rollback(c);
  pg_release(st, c);
  return status;
}

store_status_t pg_device_get(store_t *base, nimbus_id_t tenant_id, nimbus_id_t id,
                             nimbus_device_t *out) {
  pg_params_t p = {0};
  pg_param_int(&p, id);
  pg_param_int(&p, tenant_id);
  return device_lookup(pg_of(base), PS_DEVICE_GET, &p, out, "device get");
}

store_status_t pg_device_get_by_name(store_t *base, nimbus_id_t tenant_id, const char *name,
                                     nimbus_device_t *out) {
  pg_params_t p = {0};
  pg_param_int(&p, tenant_id);
  pg_param_text(&p, name, SIZE_MAX);
  return device_lookup(pg_of(base), PS_DEVICE_GET_BY_NAME, &p, out, "device get by name");
}

store_status_t pg_device_get_by_credential(store_t *base, const unsigned char hash[32],
                                           nimbus_device_t *out) {
  if (hash_is_zero(hash)) return STORE_NOT_FOUND;
  pg_params_t p = {0};
  pg_param_bytes(&p, hash, 32);
  return device_lookup(pg_of(base), PS_DEVICE_GET_BY_CREDENTIAL, &p, out,
                       "device get by credential");
}

store_status_t pg_device_get_by_uuid(store_t *base, const char *uuid, nimbus_device_t *out) {
  if (!uuid || !uuid[0]) return STORE_NOT_FOUND;
  pg_params_t p = {0};
  pg_param_text(&p, uuid, SIZE_MAX);
  return device_lookup(pg_of(base), PS_DEVICE_GET_BY_UUID, &p, out, "device get by uuid");
}

/* The status is left as it is (see store.h). */
store_status_t pg_device_set_claim(store_t *base, nimbus_id_t tenant_id, nimbus_id_t id,
                                   const unsigned char claim_hash[32], int64_t expires_at,
                                   const store_audit_t *audit) {
  pg_params_t p = {0};
  pg_param_int(&p, id);
  pg_param_int(&p, tenant_id);
  param_hash_or_null(&p, claim_hash);
  pg_param_int(&p, expires_at);
  return device_update(pg_of(base), PS_DEVICE_SET_CLAIM, &p, "device set claim", audit);
}

store_status_t pg_device_set_location(store_t *base, nimbus_id_t tenant_id, nimbus_id_t id,
                                      const char *location, const store_audit_t *audit) {
  pg_params_t p = {0};
  pg_param_int(&p, id);
  pg_param_int(&p, tenant_id);
  pg_param_text(&p, location ? location : "", SIZE_MAX);
  return device_update(pg_of(base), PS_DEVICE_SET_LOCATION, &p, "device set location", audit);
}

/* One transaction: find (and lock) the unexpired claim, check the uuid is
 * free (the device's own current uuid is fine), tombstone the credential
 * a re-claim replaces, register, clear the claim.  Two devices claiming
 * one uuid at once: the unique index makes the second CONFLICT. */
store_status_t pg_device_claim(store_t *base, const unsigned char claim_hash[32], int64_t now,
                               const char *uuid, const unsigned char credential_hash[32],
                               nimbus_device_t *out, const store_audit_t *audit) {
  pg_store_t *st = pg_of(base);
  if (hash_is_zero(claim_hash)) return STORE_NOT_FOUND;
  if (hash_is_zero(credential_hash)) {
    log_event(LOG_ERROR, NULL, "store_device_claim: no credential hash", (char *)NULL);
    return STORE_ERROR;
  }
  if (!uuid) uuid = "";
  pg_conn_t *c = pg_acquire(st, "device claim");
  if (!c) return STORE_ERROR;
  nimbus_device_t got;
  nimbus_id_t id = 0, tenant_id = 0;
  PGresult *r = NULL;
  pg_params_t p = {0};
  pg_param_bytes(&p, claim_hash, 32);
  store_status_t status = pg_tx_begin(c);
  if (status == STORE_OK) status = pg_exec_row(c, PS_DEVICE_GET_BY_CLAIM, &p, &r, "device claim");
  if (status == STORE_OK) {
    id = pg_get_int64(r, 0, 0);
    tenant_id = pg_get_int64(r, 0, 1);
    if (pg_get_int64(r, 0, 2) <= now) status = STORE_NOT_FOUND; /* expired */
    PQclear(r);
  }
  if (status == STORE_OK && uuid[0]) {
    pg_params_t u = {0};
    pg_param_text(&u, uuid, SIZE_MAX);
    status = pg_exec_row(c, PS_DEVICE_UUID_OWNER, &u, &r, "device claim uuid");
    if (status == STORE_OK) {
      if (pg_get_int64(r, 0, 0) != id) status = STORE_CONFLICT;
      PQclear(r);
    } else if (status == STORE_NOT_FOUND) {
      status = STORE_OK;
    }
  }
  if (status == STORE_OK) {
    /* a re-claim replaces the credential: the old one gets the
     * deregistration answer from now on, not a bare 401 */
    pg_params_t t = {0};
    pg_param_int(&t, tenant_id);
    pg_param_int(&t, id);
    pg_param_int(&t, now);
    status = pg_exec(c, PS_DEVICE_TOMBSTONE_INSERT, &t, NULL, "device claim tombstone");
  }
  if (status == STORE_OK) {
    pg_params_t cl = {0};
    pg_param_int(&cl, id);
    pg_param_text(&cl, uuid, SIZE_MAX);
    pg_param_bytes(&cl, credential_hash, 32);
    pg_param_int(&cl, now);
    status = pg_exec_changes(c, PS_DEVICE_CLAIM, &cl, "device claim");
  }
  if (status == STORE_OK) status = device_get_on(c, tenant_id, id, &got);
  store_audit_t ad;
  if (status == STORE_OK) status = pg_audit_insert(c, store_audit_for_device(audit, &got, &ad), 0);
  if (status == STORE_OK) status = pg_tx_commit(c);
  if (status == STORE_OK) {
    if (out) *out = got;
  } else {
    pg_tx_rollback(c);
  }
  pg_release(st, c);
  return status;
}

/* ---- what devices report ---- */

/* printer_state < 0 and NULL strings leave the stored values; attrs of
 * length 0 (not NULL) store an empty blob. */
store_status_t pg_device_set_reported(store_t *base, nimbus_id_t tenant_id, nimbus_id_t id,
                                      int printer_state, const char *state_reasons,
                                      const char *make_model, const void *attrs, size_t attrs_len) {
  if (attrs && attrs_len > INT32_MAX) return STORE_ERROR;
  pg_params_t p = {0};
  pg_param_int(&p, id);
  pg_param_int(&p, tenant_id);
  pg_param_int(&p, printer_state);
  if (state_reasons)
    pg_param_text(&p, state_reasons, SIZE_MAX);
  else
    pg_param_id_or_null(&p, 0);
  if (make_model)
    pg_param_text(&p, make_model, SIZE_MAX);
  else
    pg_param_id_or_null(&p, 0);
  if (attrs)
    pg_param_bytes(&p, attrs, attrs_len);
  else
    pg_param_id_or_null(&p, 0);
  pg_param_int(&p, (int64_t)time(NULL));
  return device_update(pg_of(base), PS_DEVICE_SET_REPORTED, &p, "device set reported", NULL);
}

/* The single bytea column of a single-row select as a malloc'd copy.
 * No row: NOT_FOUND; a NULL value: *attrs NULL, OK. */
static store_status_t attrs_query(pg_store_t *st, pg_stmt_id_t id, const pg_params_t *p,
                                  void **attrs, size_t *len, const char *what) {
  *attrs = NULL;
  *len = 0;
  pg_conn_t *c = pg_acquire(st, what);
  if (!c) return STORE_ERROR;
  PGresult *r;
  store_status_t status = pg_exec_row(c, id, p, &r, what);
  pg_release(st, c);
  if (status != STORE_OK) return status;
  if (!pg_get_bytes_copy(r, 0, 0, attrs, len)) status = STORE_ERROR;
  PQclear(r);
  return status;
}

store_status_t pg_device_get_attrs(store_t *base, nimbus_id_t tenant_id, nimbus_id_t id,
                                   void **attrs, size_t *len) {
  pg_params_t p = {0};
  pg_param_int(&p, id);
  pg_param_int(&p, tenant_id);
  return attrs_query(pg_of(base), PS_DEVICE_GET_ATTRS, &p, attrs, len, "device get attrs");
}

store_status_t pg_queue_device_attrs(store_t *base, nimbus_id_t tenant_id, nimbus_id_t queue_id,
                                     void **attrs, size_t *len) {
  pg_params_t p = {0};
  pg_param_int(&p, tenant_id);
  pg_param_int(&p, queue_id);
  store_status_t status =
      attrs_query(pg_of(base), PS_QUEUE_DEVICE_ATTRS, &p, attrs, len, "queue device attrs");
  return status == STORE_NOT_FOUND ? STORE_OK : status; /* no device reported any */
}

static void touch_params(pg_params_t *p, nimbus_id_t tenant_id, nimbus_id_t id, int64_t seen_at,
                         const char *transport) {
  pg_param_int(p, id);
  pg_param_int(p, tenant_id);
  pg_param_int(p, seen_at);
  if (transport)
    pg_param_text(p, transport, SIZE_MAX);
  else
    pg_param_id_or_null(p, 0);
}

/* last_seen_at never goes backwards; a NULL transport leaves it. */
store_status_t pg_device_touch(store_t *base, nimbus_id_t tenant_id, nimbus_id_t id,
                               int64_t seen_at, const char *transport) {
  pg_params_t p = {0};
  touch_params(&p, tenant_id, id, seen_at, transport);
  return device_update(pg_of(base), PS_DEVICE_TOUCH, &p, "device touch", NULL);
}

/* One transaction (one WAL flush); devices deleted meanwhile are skipped. */
store_status_t pg_device_touch_many(store_t *base, const store_device_seen_t *v, int n) {
  pg_store_t *st = pg_of(base);
  if (n <= 0) return STORE_OK;
  pg_conn_t *c = pg_acquire(st, "device touch");
  if (!c) return STORE_ERROR;
  store_status_t status = pg_tx_begin(c);
  for (int i = 0; status == STORE_OK && i < n; i++) {
    pg_params_t p = {0};
    touch_params(&p, v[i].tenant_id, v[i].id, v[i].seen_at,
                 v[i].transport[0] ? v[i].transport : NULL);
    status = pg_exec_changes(c, PS_DEVICE_TOUCH, &p, "device touch");
    if (status == STORE_NOT_FOUND) status = STORE_OK; /* deleted meanwhile */
  }
  if (status == STORE_OK) status = pg_tx_commit(c);
  if (status != STORE_OK) pg_tx_rollback(c);
  pg_release(st, c);
  return status;
}

/* Ordered by name.  The devices and their queues are read in one
 * REPEATABLE READ transaction (one snapshot), then the callback runs with
 * the connection given back (a store call from it gets STORE_ERROR). */
store_status_t pg_device_list(store_t *base, nimbus_id_t tenant_id, nimbus_id_t queue_id,
                              store_device_cb cb, void *ctx) {
  pg_store_t *st = pg_of(base);
  pg_conn_t *c = pg_acquire(st, "device list");
  if (!c) return STORE_ERROR;
  pg_params_t p = {0};
  pg_param_int(&p, tenant_id);
  pg_param_int(&p, queue_id);
  PGresult *r = NULL;
  nimbus_device_t *devices = NULL;
  int n = 0;
  store_status_t status =
      pg_exec_sql(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "device list");
  if (status == STORE_OK) status = pg_exec(c, PS_DEVICE_LIST, &p, &r, "device list");
  if (status == STORE_OK) {
    n = PQntuples(r);
    devices = calloc(n ? (size_t)n : 1, sizeof *devices);
    if (!devices) status = STORE_ERROR;
  }
  for (int i = 0; status == STORE_OK && i < n; i++) {
    device_from_row(r, i, &devices[i]);
    status = device_queues(c, &devices[i]);
  }
  PQclear(r);
  if (status == STORE_OK) status = pg_tx_commit(c);
  if (status != STORE_OK) pg_tx_rollback(c);
  pg_release(st, c);
  if (status == STORE_OK) {
    const pg_store_t *outer = pg_callback_enter(st);
    for (int i = 0; i < n; i++)
      if (!cb(&devices[i], ctx)) break;
    pg_callback_leave(outer);
  }
  free(devices);
  return status;
}

/* ---- deletion ---- */

/*
 * One transaction: the device row is locked (FOR UPDATE) before anything
 * else, so a job change that would name it (pg_job_changes_on KEY SHAREs
 * the devices it sets) either commits first, and the check below sees
 * it, or waits and then finds the device gone.  Then the device as it
 * was, the changes (devices/device.c decided them), the check that no job
 * in a `live` state still names the device (CONFLICT: the jobs changed
 * since the caller listed them), the tombstone (when it had a
 * credential), the row (its device_queues go by cascade) and the
 * "device-deleted" event for the feed.
 */
typedef struct {
  nimbus_id_t tenant_id, id;
  const store_job_change_t *changes;
  size_t n;
  const nimbus_job_state_t *live;
  size_t nlive;
  const store_audit_t *audit;
  nimbus_device_t was;
} device_delete_t;

/* The states live[0..n) as an array literal ("{4,5}") into buf. */
static void state_array(const nimbus_job_state_t *live, size_t n, char *buf, size_t cap) {
  size_t len = (size_t)snprintf(buf, cap, "{");
  for (size_t i = 0; i < n && len < cap; i++)
    len += (size_t)snprintf(buf + len, cap - len, i ? ",%d" : "%d", (int)live[i]);
  if (len < cap) snprintf(buf + len, cap - len, "}");
}

static store_status_t device_delete_tx(pg_conn_t *c, void *arg) {
  device_delete_t *dd = arg;
  int64_t now = (int64_t)time(NULL);
  pg_params_t p = {0};
  pg_param_int(&p, dd->tenant_id);
  pg_param_int(&p, dd->id);
  PGresult *r;
  store_status_t status = pg_exec_row(c, PS_DEVICE_LOCK, &p, &r, "device delete");
  if (status == STORE_OK) {
    PQclear(r);
    status = device_get_on(c, dd->tenant_id, dd->id, &dd->was);
  }
  if (status == STORE_OK) status = pg_job_changes_on(c, dd->tenant_id, dd->changes, dd->n, now);
  if (status == STORE_OK && dd->nlive) {
    char *states = malloc(3 + dd->nlive * 12);
    if (!states) return STORE_ERROR;
    state_array(dd->live, dd->nlive, states, 3 + dd->nlive * 12);
    pg_params_t l = p;
    pg_param_text(&l, states, SIZE_MAX);
    status = pg_exec_row(c, PS_DEVICE_JOBS_LEFT, &l, &r, "device delete");
    free(states);
    if (status == STORE_OK) {
      if (pg_get_bool(r, 0, 0)) status = STORE_CONFLICT;
      PQclear(r);
    }
  }
  if (status == STORE_OK) {
    pg_params_t t = p;
    pg_param_int(&t, now);
    status = pg_exec(c, PS_DEVICE_TOMBSTONE_INSERT, &t, NULL, "device delete tombstone");
  }
  if (status == STORE_OK) status = pg_exec(c, PS_DEVICE_DELETE, &p, NULL, "device delete");
  if (status == STORE_OK) {
    char detail[24];
    snprintf(detail, sizeof detail, "%lld", (long long)dd->id);
    status = pg_event_insert(c, dd->tenant_id, 0, now, STORE_EVENT_DEVICE_DELETED, 0, 0, detail);
  }
  store_audit_t ad;
  if (status == STORE_OK)
    status = pg_audit_insert(c, store_audit_for_device(dd->audit, &dd->was, &ad), 0);
  return status;
}

store_status_t pg_device_delete(store_t *base, nimbus_id_t tenant_id, nimbus_id_t id,
                                const store_job_change_t *changes, size_t n,
                                const nimbus_job_state_t *live, size_t nlive, nimbus_device_t *out,
                                const store_audit_t *audit) {
  device_delete_t dd = {.tenant_id = tenant_id,
                        .id = id,
                        .changes = changes,
                        .n = n,
                        .live = live,
                        .nlive = nlive,
                        .audit = audit};
  store_status_t status = pg_transaction(pg_of(base), device_delete_tx, &dd, "device delete");
  if (status == STORE_OK && out) *out = dd.was;
  return status;
}

store_status_t pg_device_tombstone_lookup(store_t *base, const unsigned char hash[32],
                                          nimbus_device_tombstone_t *out) {
  if (hash_is_zero(hash)) return STORE_NOT_FOUND;
  pg_store_t *st = pg_of(base);
  pg_params_t p = {0};
  pg_param_bytes(&p, hash, 32);
  pg_conn_t *c = pg_acquire(st, "device tombstone lookup");
  if (!c) return STORE_ERROR;
  PGresult *r;
  store_status_t status =
      pg_exec_row(c, PS_DEVICE_TOMBSTONE_GET, &p, &r, "device tombstone lookup");
  pg_release(st, c);
  if (status == STORE_OK) {
    if (out) {
      memset(out, 0, sizeof *out);
      out->device_id = pg_get_int64(r, 0, 0);
      out->tenant_id = pg_get_int64(r, 0, 1);
      PG_GET_FIELD(r, 0, 2, out->name);
      PG_GET_FIELD(r, 0, 3, out->uuid);
      out->deleted_at = pg_get_int64(r, 0, 4);
    }
    PQclear(r);
  }
  return status;
}
