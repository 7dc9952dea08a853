/*
 * store-sqlite-devices.c: output devices in the SQLite backend (store.h,
 * "output devices"): registrations with the queues they serve, the
 * one-time claim, credential and uuid lookups, what devices report,
 * liveness, and deletion with its tombstone and the re-offer of the jobs
 * the device was processing.
 *
 * Secrets are never here: claim codes and credentials arrive as their
 * SHA-256 (device.c makes them).  A hash of 32 zero bytes means "none" and
 * is stored as NULL, so the UNIQUE constraints ignore it.
 */
#include "store-sqlite-private.h"

static bool hash_is_zero(const unsigned char h[32]) {
  unsigned char acc = 0;
  for (int i = 0; i < 32; i++) acc |= h[i];
  return acc == 0;
}

static void bind_hash_or_null(sqlite3_stmt *s, int idx, const unsigned char h[32]) {
  if (h && !hash_is_zero(h)) {
    sqlite3_bind_blob(s, idx, h, 32, SQLITE_STATIC);
  } else {
    sqlite3_bind_null(s, idx);
  }
}

/* A 32-byte BLOB column into out (zeros when NULL or of another size). */
static void copy_hash_column(sqlite3_stmt *s, int col, unsigned char out[32]) {
  const void *v = sqlite3_column_blob(s, col);
  if (v && sqlite3_column_bytes(s, col) == 32) {
    memcpy(out, v, 32);
  } else {
    memset(out, 0, 32);
  }
}

/* Column order as in DEVICE_COLS; queues are read separately. */
static void device_from_row(sqlite3_stmt *s, nimbus_device_t *d) {
  memset(d, 0, sizeof *d);
  d->id = sqlite3_column_int64(s, 0);
  d->tenant_id = sqlite3_column_int64(s, 1);
  sqlite_copy_column(s, 2, d->name, sizeof d->name);
  d->status = (nimbus_device_status_t)sqlite_column_int(s, 3);
  sqlite_copy_column(s, 4, d->uuid, sizeof d->uuid);
  copy_hash_column(s, 5, d->claim_hash);
  d->claim_expires_at = sqlite3_column_int64(s, 6);
  copy_hash_column(s, 7, d->credential_hash);
  d->created_at = sqlite3_column_int64(s, 8);
  d->registered_at = sqlite3_column_int64(s, 9);
  d->last_seen_at = sqlite3_column_int64(s, 10);
  sqlite_copy_column(s, 11, d->transport, sizeof d->transport);
  d->printer_state = sqlite_column_int(s, 12);
  sqlite_copy_column(s, 13, d->state_reasons, sizeof d->state_reasons);
  sqlite_copy_column(s, 14, d->make_model, sizeof d->make_model);
  d->jobs_in_progress = sqlite_column_int(s, 15);
  sqlite_copy_column(s, 16, d->location, sizeof d->location);
  d->pricing.price_table_id = sqlite3_column_int64(s, 17);
  sqlite_copy_column(s, 18, d->pricing.payment, sizeof d->pricing.payment);
}

/* Fill d->queue_ids/queue_names/nqueues (by queue name). */
static store_status_t device_queues_locked(sqlite_store_t *st, nimbus_device_t *d) {
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_DEVICE_QUEUES);
  if (!s) return STORE_ERROR;
  sqlite3_bind_int64(s, 1, d->id);
  sqlite3_bind_int64(s, 2, d->tenant_id);
  sqlite3_bind_int(s, 3, NIMBUS_DEVICE_QUEUES_MAX);
  store_status_t status = STORE_OK;
  int rc, n = 0;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW && n < NIMBUS_DEVICE_QUEUES_MAX) {
    d->queue_ids[n] = sqlite3_column_int64(s, 0);
    sqlite_copy_column(s, 1, d->queue_names[n], sizeof d->queue_names[n]);
    n++;
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) status = sqlite_fail_locked(st, rc, "device queues");
  d->nqueues = n;
  sqlite_stmt_reset(s);
  return status;
}

/* Run a bound single-row DEVICE_COLS select and read the device with its
 * queues into *out (untouched on failure).  Resets s. */
static store_status_t device_read_locked(sqlite_store_t *st, sqlite3_stmt *s, const char *what,
                                         nimbus_device_t *out) {
  nimbus_device_t d;
  store_status_t status = sqlite_step_row_locked(st, s, what);
  if (status == STORE_OK) {
    device_from_row(s, &d);
    status = device_queues_locked(st, &d);
  }
  sqlite_stmt_reset(s);
  if (status == STORE_OK && out) *out = d;
  return status;
}

static store_status_t device_get_locked(sqlite_store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                        nimbus_device_t *out) {
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_DEVICE_GET);
  if (!s) return STORE_ERROR;
  sqlite3_bind_int64(s, 1, id);
  sqlite3_bind_int64(s, 2, tenant_id);
  return device_read_locked(st, s, "device get", out);
}

/* ---- registrations ---- */

/* A queue id of another tenant (or none) fails the (tenant_id, queue_id)
 * foreign key: NOT_FOUND.  A queue listed twice is served once. */
store_status_t sqlite_device_insert(store_t *base_, nimbus_device_t *d,
                                    const store_audit_t *audit) {
  sqlite_store_t *st = sqlite_of(base_);
  if (d->nqueues < 0 || d->nqueues > NIMBUS_DEVICE_QUEUES_MAX) {
    log_event(LOG_ERROR, NULL, "store_device_insert: bad queue count", "nqueues",
              LOG_INT(d->nqueues), (char *)NULL);
    return STORE_ERROR;
  }
  if (!sqlite_lock(st)) return STORE_ERROR;
  int64_t now = (int64_t)time(NULL);
  nimbus_device_t got;
  store_status_t status = sqlite_tx_begin_locked(st);
  if (status != STORE_OK) goto done;

  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_DEVICE_INSERT);
  if (!s) {
    status = STORE_ERROR;
    goto done;
  }
  sqlite3_bind_int64(s, 1, d->tenant_id);
  BIND_FIELD(s, 2, d->name);
  bind_hash_or_null(s, 3, d->claim_hash);
  sqlite3_bind_int64(s, 4, d->claim_expires_at);
  sqlite3_bind_int64(s, 5, now);
  BIND_FIELD(s, 6, d->location);
  status = sqlite_stmt_exec_locked(st, s, "device insert");
  if (status != STORE_OK) goto done;
  nimbus_id_t id = sqlite3_last_insert_rowid(st->db);

  s = sqlite_stmt_get_locked(st, S_DEVICE_QUEUE_INSERT);
  if (!s) {
    status = STORE_ERROR;
    goto done;
  }
  for (int i = 0; i < d->nqueues && status == STORE_OK; i++) {
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, d->tenant_id);
    sqlite3_bind_int64(s, 3, d->queue_ids[i]);
    status = sqlite_stmt_exec_locked(st, s, "device queue insert");
  }
  if (status != STORE_OK) goto done;
  status = device_get_locked(st, d->tenant_id, id, &got);
  if (status == STORE_OK) status = sqlite_audit_insert_locked(st, audit, id);
  if (status == STORE_OK) status = sqlite_tx_commit_locked(st);

done:
  if (status == STORE_OK) {
    *d = got;
  } else {
    sqlite_tx_rollback_locked(st);
  }
  sqlite_unlock(st);
  return status;
}

store_status_t sqlite_device_get(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id,
                                 nimbus_device_t *out) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!(st = sqlite_read_lock(st))) return STORE_ERROR;
  store_status_t status = device_get_locked(st, tenant_id, id, out);
  sqlite_read_unlock(st);
  return status;
}

store_status_t sqlite_device_get_by_name(store_t *base_, nimbus_id_t tenant_id, const char *name,
                                         nimbus_device_t *out) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!(st = sqlite_read_lock(st))) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_DEVICE_GET_BY_NAME);
  if (s) {
    sqlite3_bind_int64(s, 1, tenant_id);
    sqlite_bind_str(s, 2, name);
    status = device_read_locked(st, s, "device get by name", out);
  }
  sqlite_read_unlock(st);
  return status;
}

store_status_t sqlite_device_get_by_credential(store_t *base_, const unsigned char hash[32],
                                               nimbus_device_t *out) {
  sqlite_store_t *st = sqlite_of(base_);
  if (hash_is_zero(hash)) return STORE_NOT_FOUND;
  if (!(st = sqlite_read_lock(st))) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_DEVICE_GET_BY_CREDENTIAL);
  if (s) {
    sqlite3_bind_blob(s, 1, hash, 32, SQLITE_STATIC);
    status = device_read_locked(st, s, "device get by credential", out);
  }
  sqlite_read_unlock(st);
  return status;
}

store_status_t sqlite_device_get_by_uuid(store_t *base_, const char *uuid, nimbus_device_t *out) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!uuid || !uuid[0]) return STORE_NOT_FOUND;
  if (!(st = sqlite_read_lock(st))) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_DEVICE_GET_BY_UUID);
  if (s) {
    sqlite_bind_str(s, 1, uuid);
    status = device_read_locked(st, s, "device get by uuid", out);
  }
  sqlite_read_unlock(st);
  return status;
}

/* The status is left as it is (see store.h). */
store_status_t sqlite_device_set_claim(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id,
                                       const unsigned char claim_hash[32], int64_t expires_at,
                                       const store_audit_t *audit) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  if (sqlite_audit_begin_locked(st, audit) != STORE_OK) {
    sqlite_unlock(st);
    return STORE_ERROR;
  }
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_DEVICE_SET_CLAIM);
  if (s) {
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, tenant_id);
    bind_hash_or_null(s, 3, claim_hash);
    sqlite3_bind_int64(s, 4, expires_at);
    status = sqlite_exec_changes_locked(st, s, "device set claim");
  }
  status = sqlite_audit_end_locked(st, audit, status, 0);
  sqlite_unlock(st);
  return status;
}

store_status_t sqlite_device_set_location(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id,
                                          const char *location, const store_audit_t *audit) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  if (sqlite_audit_begin_locked(st, audit) != STORE_OK) {
    sqlite_unlock(st);
    return STORE_ERROR;
  }
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_DEVICE_SET_LOCATION);
  if (s) {
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, tenant_id);
    sqlite_bind_str(s, 3, location ? location : "");
    status = sqlite_exec_changes_locked(st, s, "device set location");
  }
  status = sqlite_audit_end_locked(st, audit, status, 0);
  sqlite_unlock(st);
  return status;
}

/* One transaction: find the unexpired claim, check the uuid is free (the
 * device's own current uuid is fine), register, clear the claim. */
store_status_t sqlite_device_claim(store_t *base_, const unsigned char claim_hash[32], int64_t now,
                                   const char *uuid, const unsigned char credential_hash[32],
                                   nimbus_device_t *out, const store_audit_t *audit) {
  sqlite_store_t *st = sqlite_of(base_);
  if (hash_is_zero(claim_hash)) return STORE_NOT_FOUND;
  if (hash_is_zero(credential_hash)) {
    log_event(LOG_ERROR, NULL, "store_device_claim: no credential hash", (char *)NULL);
    return STORE_ERROR;
  }
  if (!uuid) uuid = "";
  if (!sqlite_lock(st)) return STORE_ERROR;
  nimbus_device_t got;
  nimbus_id_t id = 0, tenant_id = 0;
  store_status_t status = sqlite_tx_begin_locked(st);
  if (status != STORE_OK) goto done;

  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_DEVICE_GET_BY_CLAIM);
  if (!s) {
    status = STORE_ERROR;
    goto done;
  }
  sqlite3_bind_blob(s, 1, claim_hash, 32, SQLITE_STATIC);
  status = sqlite_step_row_locked(st, s, "device claim");
  if (status == STORE_OK) {
    id = sqlite3_column_int64(s, 0);
    tenant_id = sqlite3_column_int64(s, 1);
    if (sqlite3_column_int64(s, 2) <= now) status = STORE_NOT_FOUND; /* expired */
  }
  sqlite_stmt_reset(s);
  if (status != STORE_OK) goto done;

  if (uuid[0]) {
    int64_t owner = 0;
    s = sqlite_stmt_get_locked(st, S_DEVICE_UUID_OWNER);
    if (!s) {
      status = STORE_ERROR;
      goto done;
    }
    sqlite_bind_str(s, 1, uuid);
    status = sqlite_query_int64_locked(st, s, "device claim uuid", &owner);
    if (status == STORE_OK && owner != id) {
      status = STORE_CONFLICT;
      goto done;
    }
    if (status != STORE_OK && status != STORE_NOT_FOUND) goto done;
  }

  /* A re-claim replaces the credential: the old one gets the
   * deregistration answer from now on, not a bare 401. */
  s = sqlite_stmt_get_locked(st, S_DEVICE_TOMBSTONE_INSERT);
  if (!s) {
    status = STORE_ERROR;
    goto done;
  }
  sqlite3_bind_int64(s, 1, tenant_id);
  sqlite3_bind_int64(s, 2, id);
  sqlite3_bind_int64(s, 3, now);
  status = sqlite_stmt_exec_locked(st, s, "device claim tombstone");
  if (status != STORE_OK) goto done;

  s = sqlite_stmt_get_locked(st, S_DEVICE_CLAIM);
  if (!s) {
    status = STORE_ERROR;
    goto done;
  }
  sqlite3_bind_int64(s, 1, id);
  sqlite_bind_str(s, 2, uuid);
  sqlite3_bind_blob(s, 3, credential_hash, 32, SQLITE_STATIC);
  sqlite3_bind_int64(s, 4, now);
  status = sqlite_exec_changes_locked(st, s, "device claim");
  if (status != STORE_OK) goto done;
  status = device_get_locked(st, tenant_id, id, &got);
  store_audit_t ad;
  if (status == STORE_OK)
    status = sqlite_audit_insert_locked(st, store_audit_for_device(audit, &got, &ad), 0);
  if (status == STORE_OK) status = sqlite_tx_commit_locked(st);

done:
  if (status == STORE_OK) {
    if (out) *out = got;
  } else {
    sqlite_tx_rollback_locked(st);
  }
  sqlite_unlock(st);
  return status;
}

/* ---- what devices report ---- */

/* printer_state < 0 and NULL strings leave the stored values. */
store_status_t sqlite_device_set_reported(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id,
                                          int printer_state, const char *state_reasons,
                                          const char *make_model, const void *attrs,
                                          size_t attrs_len) {
  sqlite_store_t *st = sqlite_of(base_);
  if (attrs && attrs_len > INT_MAX) return STORE_ERROR;
  if (!sqlite_lock(st)) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_DEVICE_SET_REPORTED);
  if (s) {
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, tenant_id);
    sqlite3_bind_int(s, 3, printer_state);
    if (state_reasons) {
      sqlite3_bind_text(s, 4, state_reasons, -1, SQLITE_STATIC);
    } else {
      sqlite3_bind_null(s, 4);
    }
    if (make_model) {
      sqlite3_bind_text(s, 5, make_model, -1, SQLITE_STATIC);
    } else {
      sqlite3_bind_null(s, 5);
    }
    if (attrs) {
      /* zeroblob-safe: a non-NULL pointer with length 0 is an empty blob */
      sqlite3_bind_blob(s, 6, attrs, (int)attrs_len, SQLITE_STATIC);
    } else {
      sqlite3_bind_null(s, 6);
    }
    sqlite3_bind_int64(s, 7, (int64_t)time(NULL));
    status = sqlite_exec_changes_locked(st, s, "device set reported");
  }
  sqlite_unlock(st);
  return status;
}

/* Read the single BLOB column of the bound single-row select s into a
 * malloc'd copy.  No row: NOT_FOUND; a NULL blob: *attrs NULL, OK. */
static store_status_t blob_query_locked(sqlite_store_t *st, sqlite3_stmt *s, const char *what,
                                        void **attrs, size_t *len) {
  store_status_t status = sqlite_step_row_locked(st, s, what);
  if (status == STORE_OK && sqlite3_column_type(s, 0) != SQLITE_NULL) {
    const void *v = sqlite3_column_blob(s, 0);
    size_t n = (size_t)sqlite3_column_bytes(s, 0);
    void *copy = malloc(n ? n : 1);
    if (!copy) {
      status = STORE_ERROR;
    } else {
      if (n) memcpy(copy, v, n);
      *attrs = copy;
      *len = n;
    }
  }
  sqlite_stmt_reset(s);
  return status;
}

store_status_t sqlite_device_get_attrs(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id,
                                       void **attrs, size_t *len) {
  sqlite_store_t *st = sqlite_of(base_);
  *attrs = NULL;
  *len = 0;
  if (!(st = sqlite_read_lock(st))) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_DEVICE_GET_ATTRS);
  if (s) {
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, tenant_id);
    status = blob_query_locked(st, s, "device get attrs", attrs, len);
  }
  sqlite_read_unlock(st);
  return status;
}

store_status_t sqlite_queue_device_attrs(store_t *base_, nimbus_id_t tenant_id,
                                         nimbus_id_t queue_id, void **attrs, size_t *len) {
  sqlite_store_t *st = sqlite_of(base_);
  *attrs = NULL;
  *len = 0;
  if (!(st = sqlite_read_lock(st))) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_QUEUE_DEVICE_ATTRS);
  if (s) {
    sqlite3_bind_int64(s, 1, tenant_id);
    sqlite3_bind_int64(s, 2, queue_id);
    status = blob_query_locked(st, s, "queue device attrs", attrs, len);
    if (status == STORE_NOT_FOUND) status = STORE_OK; /* no device reported any */
  }
  sqlite_read_unlock(st);
  return status;
}

/* last_seen_at never goes backwards; a NULL transport leaves it. */
store_status_t sqlite_device_touch(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id,
                                   int64_t seen_at, const char *transport) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_DEVICE_TOUCH);
  if (s) {
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, tenant_id);
    sqlite3_bind_int64(s, 3, seen_at);
    if (transport) {
      sqlite3_bind_text(s, 4, transport, -1, SQLITE_STATIC);
    } else {
      sqlite3_bind_null(s, 4);
    }
    status = sqlite_exec_changes_locked(st, s, "device touch");
  }
  sqlite_unlock(st);
  return status;
}

store_status_t sqlite_device_touch_many(store_t *base_, const store_device_seen_t *v, int n) {
  sqlite_store_t *st = sqlite_of(base_);
  if (n <= 0) return STORE_OK;
  if (!sqlite_lock(st)) return STORE_ERROR;
  store_status_t status = sqlite_tx_begin_locked(st);
  for (int i = 0; status == STORE_OK && i < n; i++) {
    sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_DEVICE_TOUCH);
    if (!s) {
      status = STORE_ERROR;
      break;
    }
    sqlite3_bind_int64(s, 1, v[i].id);
    sqlite3_bind_int64(s, 2, v[i].tenant_id);
    sqlite3_bind_int64(s, 3, v[i].seen_at);
    if (v[i].transport[0])
      sqlite3_bind_text(s, 4, v[i].transport, -1, SQLITE_STATIC);
    else
      sqlite3_bind_null(s, 4);
    status = sqlite_exec_changes_locked(st, s, "device touch");
    if (status == STORE_NOT_FOUND) status = STORE_OK; /* deleted meanwhile */
  }
  if (status == STORE_OK)
    status = sqlite_tx_commit_locked(st);
  else
    sqlite_tx_rollback_locked(st);
  sqlite_unlock(st);
  return status;
}

/* Ordered by name.  Each device's queues are read while its row is
 * current (a second statement on the same connection). */
store_status_t sqlite_device_list(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t queue_id,
                                  store_device_cb cb, void *ctx) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!(st = sqlite_read_lock(st))) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_DEVICE_LIST);
  if (s) {
    sqlite3_bind_int64(s, 1, tenant_id);
    sqlite3_bind_int64(s, 2, queue_id);
    status = STORE_OK;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      nimbus_device_t d;
      device_from_row(s, &d);
      status = device_queues_locked(st, &d);
      if (status != STORE_OK || !cb(&d, ctx)) break;
    }
    if (status == STORE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
      status = sqlite_fail_locked(st, rc, "device list");
    sqlite_stmt_reset(s);
  }
  sqlite_read_unlock(st);
  return status;
}

/* ---- deletion ---- */

/*
 * One transaction: the job changes device.c decided, the check that they
 * left no job of a `live` state naming the device (else CONFLICT: a job
 * was fetched or released to it meanwhile), the tombstone (when the
 * device had a credential), then the row (its device_queues go by
 * cascade), and the "device-deleted" event for the feed.
 */
store_status_t sqlite_device_delete(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id,
                                    const store_job_change_t *changes, size_t n,
                                    const nimbus_job_state_t *live, size_t nlive,
                                    nimbus_device_t *out, const store_audit_t *audit) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  int64_t now = (int64_t)time(NULL);
  nimbus_device_t was;
  store_status_t status = sqlite_tx_begin_locked(st);
  if (status != STORE_OK) goto done;
  status = device_get_locked(st, tenant_id, id, &was);
  for (size_t i = 0; i < n && status == STORE_OK; i++)
    status = sqlite_job_change_locked(st, tenant_id, &changes[i], now);
  for (size_t i = 0; i < nlive && status == STORE_OK; i++) {
    sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_DEVICE_JOBS_LEFT);
    if (!s) {
      status = STORE_ERROR;
      break;
    }
    int64_t left = 0;
    sqlite3_bind_int64(s, 1, tenant_id);
    sqlite3_bind_int64(s, 2, id);
    sqlite3_bind_int(s, 3, (int)live[i]);
    status = sqlite_query_int64_locked(st, s, "device delete", &left);
    if (status == STORE_OK && left) status = STORE_CONFLICT;
  }
  static const stmt_id_t steps[] = {S_DEVICE_TOMBSTONE_INSERT, S_DEVICE_DELETE};
  for (size_t i = 0; i < sizeof steps / sizeof steps[0] && status == STORE_OK; i++) {
    sqlite3_stmt *s = sqlite_stmt_get_locked(st, steps[i]);
    if (!s) {
      status = STORE_ERROR;
      break;
    }
    sqlite3_bind_int64(s, 1, tenant_id);
    sqlite3_bind_int64(s, 2, id);
    if (sqlite3_bind_parameter_count(s) >= 3) sqlite3_bind_int64(s, 3, now);
    status = sqlite_stmt_exec_locked(st, s, "device delete");
  }
  if (status == STORE_OK) {
    char detail[24];
    snprintf(detail, sizeof detail, "%lld", (long long)id);
    status =
        sqlite_event_insert_locked(st, tenant_id, 0, now, STORE_EVENT_DEVICE_DELETED, 0, 0, detail);
  }
  store_audit_t ad;
  if (status == STORE_OK)
    status = sqlite_audit_insert_locked(st, store_audit_for_device(audit, &was, &ad), 0);
  if (status == STORE_OK) status = sqlite_tx_commit_locked(st);

done:
  if (status == STORE_OK) {
    if (out) *out = was;
  } else {
    sqlite_tx_rollback_locked(st);
  }
  sqlite_unlock(st);
  return status;
}

store_status_t sqlite_device_tombstone_lookup(store_t *base_, const unsigned char hash[32],
                                              nimbus_device_tombstone_t *out) {
  sqlite_store_t *st = sqlite_of(base_);
  if (hash_is_zero(hash)) return STORE_NOT_FOUND;
  if (!(st = sqlite_read_lock(st))) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_DEVICE_TOMBSTONE_GET);
  if (s) {
    sqlite3_bind_blob(s, 1, hash, 32, SQLITE_STATIC);
    status = sqlite_step_row_locked(st, s, "device tombstone lookup");
    if (status == STORE_OK && out) {
      memset(out, 0, sizeof *out);
      out->device_id = sqlite3_column_int64(s, 0);
      out->tenant_id = sqlite3_column_int64(s, 1);
      sqlite_copy_column(s, 2, out->name, sizeof out->name);
      sqlite_copy_column(s, 3, out->uuid, sizeof out->uuid);
      out->deleted_at = sqlite3_column_int64(s, 4);
    }
    sqlite_stmt_reset(s);
  }
  sqlite_read_unlock(st);
  return status;
}
