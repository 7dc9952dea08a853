/*
 * store.c: store.h's functions dispatched to the backend chosen by URL
 * (store-ops.h).  store_open() is the only place that knows which
 * backends exist; every other function is one call through st->ops.
 */
#include "store-ops.h"

#include <stdio.h>
#include <string.h>

static const store_ops_t *const store_backends[] = {&sqlite_store_ops};
#define STORE_BACKENDS (sizeof store_backends / sizeof store_backends[0])

/*
 * Split a store URL into its backend and the location that backend opens:
 *   sqlite:///var/lib/nimbus/nimbus.db  -> sqlite, /var/lib/nimbus/nimbus.db
 *   sqlite:nimbus-state/nimbus.db       -> sqlite, nimbus-state/nimbus.db
 *   postgresql://host/db (postgres://)  -> postgresql, the whole URL (libpq)
 *   a plain path (no scheme)            -> sqlite, the path
 * Returns NULL with err set (the URL itself is never repeated: it may hold
 * a password).
 */
static const store_ops_t *store_backend_for(const char *url, const char **location, char *err,
                                            size_t errlen) {
  const char *colon = strchr(url, ':');
  const char *slash = strchr(url, '/');
  size_t n = colon ? (size_t)(colon - url) : 0;
  bool scheme =
      colon && n > 0 && (!slash || colon < slash) && strspn(url, "abcdefghijklmnopqrstuvwxyz") == n;
  if (!scheme) {
    *location = url;
    return &sqlite_store_ops;
  }
  char name[16];
  snprintf(name, sizeof name, "%.*s", (int)(n < sizeof name ? n : sizeof name - 1), url);
  if (!strcmp(name, "postgres")) snprintf(name, sizeof name, "postgresql");
  for (size_t i = 0; i < STORE_BACKENDS; i++) {
    if (strcmp(store_backends[i]->scheme, name)) continue;
    if (!strcmp(name, "sqlite")) {
      const char *rest = colon + 1;
      if (!strncmp(rest, "//", 2)) {
        rest += 2; /* sqlite:///abs/path: an empty host, then the path */
        if (*rest != '/') {
          snprintf(err, errlen,
                   "store URL: sqlite:// must be followed by an absolute path "
                   "(sqlite:///var/lib/nimbus/nimbus.db)");
          return NULL;
        }
      }
      *location = rest;
    } else {
      *location = url;
    }
    if (!**location) {
      snprintf(err, errlen, "store URL: no location after '%s:'", name);
      return NULL;
    }
    return store_backends[i];
  }
  if (!strcmp(name, "postgresql"))
    snprintf(err, errlen, "store URL: this nimbusd was built without the PostgreSQL backend");
  else
    snprintf(err, errlen, "store URL: unknown scheme '%s' (use sqlite: or postgresql:)", name);
  return NULL;
}

store_t *store_open(const char *url, const store_options_t *opts, char *err, size_t errlen) {
  char dummy[1];
  if (!err || errlen == 0) {
    err = dummy;
    errlen = sizeof dummy;
  }
  err[0] = '\0';
  if (!url || !url[0]) {
    snprintf(err, errlen, "no store URL");
    return NULL;
  }
  const char *location;
  const store_ops_t *ops = store_backend_for(url, &location, err, errlen);
  return ops ? ops->open(location, opts, err, errlen) : NULL;
}

void store_backend_version(char *buf, size_t len) {
  size_t used = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < STORE_BACKENDS && used < len; i++) {
    char one[128];
    store_backends[i]->version(one, sizeof one);
    int w = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", one);
    if (w < 0) break;
    used += (size_t)w;
  }
}

/* ---- one call through the table per operation ---- */

void store_close(store_t *st) {
  if (st) st->ops->close(st);
}

int store_schema_version(store_t *st) {
  return st->ops->schema_version(st);
}

int store_schema_version_nowait(store_t *st) {
  return st->ops->schema_version_nowait(st);
}

store_status_t store_tenant_insert(store_t *st, nimbus_tenant_t *t) {
  return st->ops->tenant_insert(st, t);
}

store_status_t store_tenant_get(store_t *st, nimbus_id_t id, nimbus_tenant_t *out) {
  return st->ops->tenant_get(st, id, out);
}

store_status_t store_tenant_get_by_name(store_t *st, const char *name, nimbus_tenant_t *out) {
  return st->ops->tenant_get_by_name(st, name, out);
}

store_status_t store_tenant_update(store_t *st, const nimbus_tenant_t *t) {
  return st->ops->tenant_update(st, t);
}

store_status_t store_tenant_delete(store_t *st, nimbus_id_t id) {
  return st->ops->tenant_delete(st, id);
}

store_status_t store_tenant_list(store_t *st, store_tenant_cb cb, void *ctx) {
  return st->ops->tenant_list(st, cb, ctx);
}

store_status_t store_user_insert(store_t *st, nimbus_user_t *u) {
  return st->ops->user_insert(st, u);
}

store_status_t store_user_get(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                              nimbus_user_t *out) {
  return st->ops->user_get(st, tenant_id, id, out);
}

store_status_t store_user_get_by_name(store_t *st, nimbus_id_t tenant_id, const char *name,
                                      nimbus_user_t *out) {
  return st->ops->user_get_by_name(st, tenant_id, name, out);
}

store_status_t store_user_update(store_t *st, const nimbus_user_t *u) {
  return st->ops->user_update(st, u);
}

store_status_t store_user_delete(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id) {
  return st->ops->user_delete(st, tenant_id, id);
}

store_status_t store_user_list(store_t *st, nimbus_id_t tenant_id, store_user_cb cb, void *ctx) {
  return st->ops->user_list(st, tenant_id, cb, ctx);
}

store_status_t store_user_get_by_alias(store_t *st, nimbus_id_t tenant_id, const char *key,
                                       nimbus_user_t *out) {
  return st->ops->user_get_by_alias(st, tenant_id, key, out);
}

store_status_t store_user_name_folds_to(store_t *st, nimbus_id_t tenant_id, const char *key,
                                        nimbus_id_t except_id, nimbus_id_t *other_id) {
  return st->ops->user_name_folds_to(st, tenant_id, key, except_id, other_id);
}

store_status_t store_alias_insert(store_t *st, nimbus_alias_t *a, const char *key) {
  return st->ops->alias_insert(st, a, key);
}

store_status_t store_alias_delete(store_t *st, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                  const char *key) {
  return st->ops->alias_delete(st, tenant_id, user_id, key);
}

store_status_t store_alias_list(store_t *st, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                store_alias_cb cb, void *ctx) {
  return st->ops->alias_list(st, tenant_id, user_id, cb, ctx);
}

store_status_t store_token_insert(store_t *st, nimbus_token_t *tk) {
  return st->ops->token_insert(st, tk);
}

store_status_t store_token_lookup(store_t *st, const unsigned char hash[32], int64_t now,
                                  nimbus_token_t *out) {
  return st->ops->token_lookup(st, hash, now, out);
}

store_status_t store_token_list(store_t *st, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                store_token_cb cb, void *ctx) {
  return st->ops->token_list(st, tenant_id, user_id, cb, ctx);
}

store_status_t store_token_revoke(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                  nimbus_id_t user_id) {
  return st->ops->token_revoke(st, tenant_id, id, user_id);
}

store_status_t store_queue_insert(store_t *st, nimbus_queue_t *q) {
  return st->ops->queue_insert(st, q);
}

store_status_t store_queue_get_by_name(store_t *st, nimbus_id_t tenant_id, const char *name,
                                       nimbus_queue_t *out) {
  return st->ops->queue_get_by_name(st, tenant_id, name, out);
}

store_status_t store_queue_update(store_t *st, const nimbus_queue_t *q) {
  return st->ops->queue_update(st, q);
}

store_status_t store_queue_delete(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id) {
  return st->ops->queue_delete(st, tenant_id, id);
}

store_status_t store_queue_list(store_t *st, nimbus_id_t tenant_id, store_queue_cb cb, void *ctx) {
  return st->ops->queue_list(st, tenant_id, cb, ctx);
}

store_status_t store_job_insert(store_t *st, nimbus_job_t *job, nimbus_document_t *docs,
                                int ndocs) {
  return st->ops->job_insert(st, job, docs, ndocs);
}

store_status_t store_job_insert_data(store_t *st, nimbus_job_t *job, nimbus_document_t *docs,
                                     const store_inline_t *data, int ndocs) {
  return st->ops->job_insert_data(st, job, docs, data, ndocs);
}

store_status_t store_document_read_inline(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                          int number, int64_t off, void *buf, size_t len,
                                          size_t *got) {
  return st->ops->document_read_inline(st, tenant_id, job_id, number, off, buf, len, got);
}

store_status_t store_job_get(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                             nimbus_job_t *out) {
  return st->ops->job_get(st, tenant_id, job_id, out);
}

store_status_t store_job_get_by_number(store_t *st, nimbus_id_t tenant_id, nimbus_id_t number,
                                       nimbus_job_t *out) {
  return st->ops->job_get_by_number(st, tenant_id, number, out);
}

store_status_t store_job_list(store_t *st, const store_job_filter_t *f, store_job_cb cb, void *ctx,
                              int *total) {
  return st->ops->job_list(st, f, cb, ctx, total);
}

store_status_t store_job_count_pending_for_owner(store_t *st, nimbus_id_t tenant_id,
                                                 nimbus_id_t owner_id, int *count) {
  return st->ops->job_count_pending_for_owner(st, tenant_id, owner_id, count);
}

store_status_t store_job_count_pending_for_origin(store_t *st, nimbus_id_t tenant_id,
                                                  nimbus_id_t device_id, int *count) {
  return st->ops->job_count_pending_for_origin(st, tenant_id, device_id, count);
}

store_status_t store_job_apply(store_t *st, nimbus_id_t tenant_id,
                               const store_job_change_t *changes, size_t n) {
  return st->ops->job_apply(st, tenant_id, changes, n);
}

store_status_t store_job_set_progress(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                      nimbus_id_t device_id, int impressions_completed,
                                      const char *reasons) {
  return st->ops->job_set_progress(st, tenant_id, job_id, device_id, impressions_completed,
                                   reasons);
}

store_status_t store_job_list_lease_expired(store_t *st, int64_t cutoff, store_job_cb cb,
                                            void *ctx) {
  return st->ops->job_list_lease_expired(st, cutoff, cb, ctx);
}

store_status_t store_document_add(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                  nimbus_document_t *doc, bool last,
                                  nimbus_job_state_t state_after_last) {
  return st->ops->document_add(st, tenant_id, job_id, doc, last, state_after_last);
}

store_status_t store_document_list(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                   nimbus_document_t *out, int max, int *count) {
  return st->ops->document_list(st, tenant_id, job_id, out, max, count);
}

store_status_t store_blob_is_referenced(store_t *st, const char *key, bool *referenced) {
  return st->ops->blob_is_referenced(st, key, referenced);
}

store_status_t store_device_insert(store_t *st, nimbus_device_t *d) {
  return st->ops->device_insert(st, d);
}

store_status_t store_device_get(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                nimbus_device_t *out) {
  return st->ops->device_get(st, tenant_id, id, out);
}

store_status_t store_device_get_by_name(store_t *st, nimbus_id_t tenant_id, const char *name,
                                        nimbus_device_t *out) {
  return st->ops->device_get_by_name(st, tenant_id, name, out);
}

store_status_t store_device_get_by_credential(store_t *st, const unsigned char hash[32],
                                              nimbus_device_t *out) {
  return st->ops->device_get_by_credential(st, hash, out);
}

store_status_t store_device_get_by_uuid(store_t *st, const char *uuid, nimbus_device_t *out) {
  return st->ops->device_get_by_uuid(st, uuid, out);
}

store_status_t store_device_set_location(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                         const char *location) {
  return st->ops->device_set_location(st, tenant_id, id, location);
}

store_status_t store_device_set_claim(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                      const unsigned char claim_hash[32], int64_t expires_at) {
  return st->ops->device_set_claim(st, tenant_id, id, claim_hash, expires_at);
}

store_status_t store_device_claim(store_t *st, const unsigned char claim_hash[32], int64_t now,
                                  const char *uuid, const unsigned char credential_hash[32],
                                  nimbus_device_t *out) {
  return st->ops->device_claim(st, claim_hash, now, uuid, credential_hash, out);
}

store_status_t store_device_set_reported(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                         int printer_state, const char *state_reasons,
                                         const char *make_model, const void *attrs,
                                         size_t attrs_len) {
  return st->ops->device_set_reported(st, tenant_id, id, printer_state, state_reasons, make_model,
                                      attrs, attrs_len);
}

store_status_t store_device_get_attrs(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                      void **attrs, size_t *len) {
  return st->ops->device_get_attrs(st, tenant_id, id, attrs, len);
}

store_status_t store_queue_device_attrs(store_t *st, nimbus_id_t tenant_id, nimbus_id_t queue_id,
                                        void **attrs, size_t *len) {
  return st->ops->queue_device_attrs(st, tenant_id, queue_id, attrs, len);
}

store_status_t store_device_touch(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                  int64_t seen_at, const char *transport) {
  return st->ops->device_touch(st, tenant_id, id, seen_at, transport);
}

store_status_t store_device_touch_many(store_t *st, const store_device_seen_t *v, int n) {
  return st->ops->device_touch_many(st, v, n);
}

store_status_t store_device_list(store_t *st, nimbus_id_t tenant_id, nimbus_id_t queue_id,
                                 store_device_cb cb, void *ctx) {
  return st->ops->device_list(st, tenant_id, queue_id, cb, ctx);
}

store_status_t store_device_delete(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                   const store_job_change_t *changes, size_t n,
                                   const nimbus_job_state_t *live, size_t nlive,
                                   nimbus_device_t *out) {
  return st->ops->device_delete(st, tenant_id, id, changes, n, live, nlive, out);
}

store_status_t store_device_tombstone_lookup(store_t *st, const unsigned char hash[32],
                                             nimbus_device_tombstone_t *out) {
  return st->ops->device_tombstone_lookup(st, hash, out);
}

store_status_t store_job_pin_get(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                 store_pin_counter_t *out) {
  return st->ops->job_pin_get(st, tenant_id, job_id, out);
}

store_status_t store_job_pin_cas(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                 const store_pin_counter_t *expected,
                                 const store_pin_counter_t *next) {
  return st->ops->job_pin_cas(st, tenant_id, job_id, expected, next);
}

store_status_t store_document_purge(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                    char (*keys)[NIMBUS_BLOB_KEY_MAX], int max, int *nkeys) {
  return st->ops->document_purge(st, tenant_id, job_id, keys, max, nkeys);
}

store_status_t store_job_list_sweep(store_t *st, const store_sweep_filter_t *f, store_job_cb cb,
                                    void *ctx) {
  return st->ops->job_list_sweep(st, f, cb, ctx);
}

store_status_t store_panel_session_insert(store_t *st, nimbus_panel_session_t *ps) {
  return st->ops->panel_session_insert(st, ps);
}

store_status_t store_panel_session_get(store_t *st, const unsigned char hash[32], int64_t now,
                                       nimbus_panel_session_t *out) {
  return st->ops->panel_session_get(st, hash, now, out);
}

store_status_t store_panel_session_touch(store_t *st, nimbus_id_t id, int64_t expires_at) {
  return st->ops->panel_session_touch(st, id, expires_at);
}

store_status_t store_panel_session_delete(store_t *st, const unsigned char hash[32], int64_t now) {
  return st->ops->panel_session_delete(st, hash, now);
}

store_status_t store_throttle_get(store_t *st, const unsigned char key[32], int64_t now,
                                  int *failures, int64_t *window_start) {
  return st->ops->throttle_get(st, key, now, failures, window_start);
}

store_status_t store_throttle_fail(store_t *st, const unsigned char key[32], const char *kind,
                                   int64_t now, int64_t window, int *failures,
                                   int64_t *window_start) {
  return st->ops->throttle_fail(st, key, kind, now, window, failures, window_start);
}

store_status_t store_throttle_clear(store_t *st, const unsigned char key[32]) {
  return st->ops->throttle_clear(st, key);
}

store_status_t store_audit_append(store_t *st, nimbus_id_t tenant_id, const char *actor,
                                  const char *action, const char *detail) {
  return st->ops->audit_append(st, tenant_id, actor, action, detail);
}

store_status_t store_job_count_by_state(store_t *st, int64_t counts[10]) {
  return st->ops->job_count_by_state(st, counts);
}
