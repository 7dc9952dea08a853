/*
 * store.c: store.h's functions dispatched to the backend chosen by URL
 * (store-ops.h).  store_open() is the only place that knows which
 * backends exist; every other function is one call through st->ops.
 */
#include "store-ops.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* NIMBUS_STORE_PG: built with libpq (meson: the store/pg library). */
static const store_ops_t *const store_backends[] = {
    &sqlite_store_ops,
#ifdef NIMBUS_STORE_PG
    &pg_store_ops,
#endif
};
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

/* A random origin for this process's rows of the event log (store.h:
 * the event feed); never 0, the origin of rows written before origins. */
static int64_t store_origin_draw(void) {
  uint64_t v = 0;
  if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v)
    v = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
  v &= (uint64_t)INT64_MAX;
  return v ? (int64_t)v : 1;
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
  store_t *st = ops ? ops->open(location, opts, err, errlen) : NULL;
  if (st) st->origin = store_origin_draw();
  return st;
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

/* An operation the backend has not implemented yet (NULL in its table):
 * a clear, logged STORE_ERROR, never a crash. */
store_status_t store_unimplemented(const store_t *st, const char *op) {
  log_event(LOG_ERROR, NULL, "store operation not implemented on this backend", "op", op, "backend",
            st->ops->name, (char *)NULL);
  return STORE_ERROR;
}

#define STORE_OP_PRESENT(op) \
  { #op, st->ops->op != NULL }

const char *store_unimplemented_op(const store_t *st, int *count) {
  const struct {
    const char *name;
    bool present;
  } ops[] = {
      STORE_OP_PRESENT(tenant_insert),
      STORE_OP_PRESENT(tenant_get),
      STORE_OP_PRESENT(tenant_get_by_name),
      STORE_OP_PRESENT(tenant_update),
      STORE_OP_PRESENT(tenant_delete),
      STORE_OP_PRESENT(tenant_list),
      STORE_OP_PRESENT(user_insert),
      STORE_OP_PRESENT(user_get),
      STORE_OP_PRESENT(user_get_by_name),
      STORE_OP_PRESENT(user_update),
      STORE_OP_PRESENT(user_delete),
      STORE_OP_PRESENT(user_list),
      STORE_OP_PRESENT(user_get_by_alias),
      STORE_OP_PRESENT(user_name_folds_to),
      STORE_OP_PRESENT(alias_insert),
      STORE_OP_PRESENT(alias_delete),
      STORE_OP_PRESENT(alias_list),
      STORE_OP_PRESENT(token_insert),
      STORE_OP_PRESENT(token_lookup),
      STORE_OP_PRESENT(token_list),
      STORE_OP_PRESENT(token_revoke),
      STORE_OP_PRESENT(queue_insert),
      STORE_OP_PRESENT(queue_get_by_name),
      STORE_OP_PRESENT(queue_update),
      STORE_OP_PRESENT(queue_delete),
      STORE_OP_PRESENT(queue_list),
      STORE_OP_PRESENT(job_insert),
      STORE_OP_PRESENT(job_insert_data),
      STORE_OP_PRESENT(document_read_inline),
      STORE_OP_PRESENT(job_get),
      STORE_OP_PRESENT(job_get_by_number),
      STORE_OP_PRESENT(job_list),
      STORE_OP_PRESENT(job_count_pending_for_owner),
      STORE_OP_PRESENT(job_count_pending_for_origin),
      STORE_OP_PRESENT(job_apply),
      STORE_OP_PRESENT(job_set_progress),
      STORE_OP_PRESENT(job_list_lease_expired),
      STORE_OP_PRESENT(document_add),
      STORE_OP_PRESENT(document_list),
      STORE_OP_PRESENT(blob_is_referenced),
      STORE_OP_PRESENT(device_insert),
      STORE_OP_PRESENT(device_get),
      STORE_OP_PRESENT(device_get_by_name),
      STORE_OP_PRESENT(device_get_by_credential),
      STORE_OP_PRESENT(device_get_by_uuid),
      STORE_OP_PRESENT(device_set_location),
      STORE_OP_PRESENT(device_set_claim),
      STORE_OP_PRESENT(device_claim),
      STORE_OP_PRESENT(device_set_reported),
      STORE_OP_PRESENT(device_get_attrs),
      STORE_OP_PRESENT(queue_device_attrs),
      STORE_OP_PRESENT(device_touch),
      STORE_OP_PRESENT(device_touch_many),
      STORE_OP_PRESENT(device_list),
      STORE_OP_PRESENT(device_delete),
      STORE_OP_PRESENT(device_tombstone_lookup),
      STORE_OP_PRESENT(job_pin_get),
      STORE_OP_PRESENT(job_pin_cas),
      STORE_OP_PRESENT(document_purge),
      STORE_OP_PRESENT(job_list_sweep),
      STORE_OP_PRESENT(panel_session_insert),
      STORE_OP_PRESENT(panel_session_get),
      STORE_OP_PRESENT(panel_session_touch),
      STORE_OP_PRESENT(panel_session_delete),
      STORE_OP_PRESENT(web_session_insert),
      STORE_OP_PRESENT(web_session_get),
      STORE_OP_PRESENT(web_session_touch),
      STORE_OP_PRESENT(web_session_delete),
      STORE_OP_PRESENT(web_session_delete_user),
      STORE_OP_PRESENT(web_session_delete_tenant),
      STORE_OP_PRESENT(web_session_sweep),
      STORE_OP_PRESENT(device_grant_insert),
      STORE_OP_PRESENT(device_grant_get),
      STORE_OP_PRESENT(device_grant_update),
      STORE_OP_PRESENT(lease_take),
      STORE_OP_PRESENT(throttle_get),
      STORE_OP_PRESENT(throttle_fail),
      STORE_OP_PRESENT(throttle_clear),
      STORE_OP_PRESENT(audit_append),
      STORE_OP_PRESENT(audit_list),
      STORE_OP_PRESENT(tenant_billing_get),
      STORE_OP_PRESENT(tenant_billing_put),
      STORE_OP_PRESENT(payment_provider_get),
      STORE_OP_PRESENT(payment_provider_put),
      STORE_OP_PRESENT(payment_provider_delete),
      STORE_OP_PRESENT(price_table_insert),
      STORE_OP_PRESENT(price_table_get),
      STORE_OP_PRESENT(price_table_get_by_name),
      STORE_OP_PRESENT(price_table_update),
      STORE_OP_PRESENT(price_table_delete),
      STORE_OP_PRESENT(price_table_list),
      STORE_OP_PRESENT(queue_set_pricing),
      STORE_OP_PRESENT(device_set_pricing),
      STORE_OP_PRESENT(job_quote_put),
      STORE_OP_PRESENT(job_quote_get),
      STORE_OP_PRESENT(payment_insert),
      STORE_OP_PRESENT(payment_get),
      STORE_OP_PRESENT(payment_get_by_order),
      STORE_OP_PRESENT(payment_get_latest_for_job),
      STORE_OP_PRESENT(payment_update),
      STORE_OP_PRESENT(payment_list_open),
      STORE_OP_PRESENT(payment_list),
      STORE_OP_PRESENT(ledger_post),
      STORE_OP_PRESENT(ledger_list),
      STORE_OP_PRESENT(ledger_balances),
      STORE_OP_PRESENT(account_insert),
      STORE_OP_PRESENT(account_get),
      STORE_OP_PRESENT(account_get_by_code),
      STORE_OP_PRESENT(account_update),
      STORE_OP_PRESENT(account_list),
      STORE_OP_PRESENT(account_topup),
      STORE_OP_PRESENT(account_grant_add),
      STORE_OP_PRESENT(account_grant_delete),
      STORE_OP_PRESENT(account_grant_list),
      STORE_OP_PRESENT(account_granted),
      STORE_OP_PRESENT(purpose_insert),
      STORE_OP_PRESENT(purpose_get),
      STORE_OP_PRESENT(purpose_get_by_name),
      STORE_OP_PRESENT(purpose_get_default),
      STORE_OP_PRESENT(purpose_update),
      STORE_OP_PRESENT(purpose_delete),
      STORE_OP_PRESENT(purpose_list),
      STORE_OP_PRESENT(account_link_insert),
      STORE_OP_PRESENT(account_link_get),
      STORE_OP_PRESENT(account_link_list),
      STORE_OP_PRESENT(account_link_due),
      STORE_OP_PRESENT(account_link_update),
      STORE_OP_PRESENT(account_link_delete),
      STORE_OP_PRESENT(payment_method_put),
      STORE_OP_PRESENT(payment_method_get),
      STORE_OP_PRESENT(payment_method_get_by_setup),
      STORE_OP_PRESENT(payment_method_update),
      STORE_OP_PRESENT(payment_method_delete),
      STORE_OP_PRESENT(charge_hold),
      STORE_OP_PRESENT(charge_get),
      STORE_OP_PRESENT(charge_update),
      STORE_OP_PRESENT(charge_list_due),
      STORE_OP_PRESENT(job_set_account),
      STORE_OP_PRESENT(print_log),
      STORE_OP_PRESENT(job_count_by_state),
      STORE_OP_PRESENT(subscription_insert),
      STORE_OP_PRESENT(subscription_get),
      STORE_OP_PRESENT(subscription_list),
      STORE_OP_PRESENT(subscription_renew),
      STORE_OP_PRESENT(subscription_delete),
      STORE_OP_PRESENT(subscription_sweep),
      STORE_OP_PRESENT(remote_link_insert),
      STORE_OP_PRESENT(remote_link_get),
      STORE_OP_PRESENT(remote_link_list),
      STORE_OP_PRESENT(remote_link_update),
      STORE_OP_PRESENT(remote_link_set_state),
      STORE_OP_PRESENT(remote_link_delete),
      STORE_OP_PRESENT(remote_jobs_replace),
      STORE_OP_PRESENT(remote_job_list),
      STORE_OP_PRESENT(remote_job_query),
      STORE_OP_PRESENT(remote_job_change),
      STORE_OP_PRESENT(printer_service_put),
      STORE_OP_PRESENT(printer_service_get),
      STORE_OP_PRESENT(printer_service_list),
      STORE_OP_PRESENT(printer_service_disable_contract),
      STORE_OP_PRESENT(backup_insert),
      STORE_OP_PRESENT(backup_get),
      STORE_OP_PRESENT(backup_list),
      STORE_OP_PRESENT(backup_prune),
      STORE_OP_PRESENT(supply_report),
      STORE_OP_PRESENT(supply_order_list),
      STORE_OP_PRESENT(part_alert_list),
      STORE_OP_PRESENT(part_counter_get),
      STORE_OP_PRESENT(part_replaced),
      STORE_OP_PRESENT(part_alert_insert),
      STORE_OP_PRESENT(delivery_mark),
      STORE_OP_PRESENT(feed_open),
      STORE_OP_PRESENT(feed_next),
      STORE_OP_PRESENT(feed_close),
      STORE_OP_PRESENT(contract_insert),
      STORE_OP_PRESENT(contract_update),
      STORE_OP_PRESENT(contract_get),
      STORE_OP_PRESENT(contract_get_by_name),
      STORE_OP_PRESENT(contract_get_by_external),
      STORE_OP_PRESENT(contract_list),
      STORE_OP_PRESENT(contract_cancel),
      STORE_OP_PRESENT(contract_due_each),
      STORE_OP_PRESENT(contract_event_apply),
      STORE_OP_PRESENT(dealer_set),
      STORE_OP_PRESENT(dealer_get),
      STORE_OP_PRESENT(dealer_delete),
      STORE_OP_PRESENT(dealer_list),
      STORE_OP_PRESENT(package_insert),
      STORE_OP_PRESENT(package_get),
      STORE_OP_PRESENT(package_list),
      STORE_OP_PRESENT(package_in_use),
      STORE_OP_PRESENT(package_delete),
      STORE_OP_PRESENT(prov_run_create),
      STORE_OP_PRESENT(prov_run_get),
      STORE_OP_PRESENT(prov_run_list),
      STORE_OP_PRESENT(prov_run_finish),
      STORE_OP_PRESENT(prov_run_widen),
      STORE_OP_PRESENT(prov_run_uncovered),
      STORE_OP_PRESENT(prov_step_list),
      STORE_OP_PRESENT(prov_step_get),
      STORE_OP_PRESENT(prov_step_transition),
      STORE_OP_PRESENT(prov_step_heads),
      STORE_OP_PRESENT(prov_step_timed_out),
      STORE_OP_PRESENT(prov_device_has_package),
      STORE_OP_PRESENT(inventory_put),
      STORE_OP_PRESENT(inventory_get),
  };
  const char *first = NULL;
  int n = 0;
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
    if (ops[i].present) continue;
    if (!first) first = ops[i].name;
    n++;
  }
  if (count) *count = n;
  return first;
}

const char *store_backend_name(const store_t *st) {
  return st->ops->name;
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
  return STORE_CALL(st, tenant_insert, t, NULL);
}

store_status_t store_tenant_insert_audited(store_t *st, nimbus_tenant_t *t,
                                           const store_audit_t *audit) {
  return STORE_CALL(st, tenant_insert, t, audit);
}

store_status_t store_tenant_get(store_t *st, nimbus_id_t id, nimbus_tenant_t *out) {
  return STORE_CALL(st, tenant_get, id, out);
}

store_status_t store_tenant_get_by_name(store_t *st, const char *name, nimbus_tenant_t *out) {
  return STORE_CALL(st, tenant_get_by_name, name, out);
}

store_status_t store_tenant_update(store_t *st, const nimbus_tenant_t *t) {
  return STORE_CALL(st, tenant_update, t, NULL);
}

store_status_t store_tenant_update_audited(store_t *st, const nimbus_tenant_t *t,
                                           const store_audit_t *audit) {
  return STORE_CALL(st, tenant_update, t, audit);
}

store_status_t store_tenant_delete(store_t *st, nimbus_id_t id) {
  return STORE_CALL(st, tenant_delete, id, NULL);
}

store_status_t store_tenant_delete_audited(store_t *st, nimbus_id_t id,
                                           const store_audit_t *audit) {
  return STORE_CALL(st, tenant_delete, id, audit);
}

store_status_t store_tenant_list(store_t *st, store_tenant_cb cb, void *ctx) {
  return STORE_CALL(st, tenant_list, cb, ctx);
}

store_status_t store_user_insert(store_t *st, nimbus_user_t *u) {
  return STORE_CALL(st, user_insert, u, NULL);
}

store_status_t store_user_insert_audited(store_t *st, nimbus_user_t *u,
                                         const store_audit_t *audit) {
  return STORE_CALL(st, user_insert, u, audit);
}

store_status_t store_user_get(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                              nimbus_user_t *out) {
  return STORE_CALL(st, user_get, tenant_id, id, out);
}

store_status_t store_user_get_by_name(store_t *st, nimbus_id_t tenant_id, const char *name,
                                      nimbus_user_t *out) {
  return STORE_CALL(st, user_get_by_name, tenant_id, name, out);
}

store_status_t store_user_update(store_t *st, const nimbus_user_t *u) {
  return STORE_CALL(st, user_update, u, NULL);
}

store_status_t store_user_update_audited(store_t *st, const nimbus_user_t *u,
                                         const store_audit_t *audit) {
  return STORE_CALL(st, user_update, u, audit);
}

store_status_t store_user_delete(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id) {
  return STORE_CALL(st, user_delete, tenant_id, id, NULL);
}

store_status_t store_user_delete_audited(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                         const store_audit_t *audit) {
  return STORE_CALL(st, user_delete, tenant_id, id, audit);
}

store_status_t store_user_list(store_t *st, nimbus_id_t tenant_id, store_user_cb cb, void *ctx) {
  return STORE_CALL(st, user_list, tenant_id, cb, ctx);
}

store_status_t store_user_get_by_alias(store_t *st, nimbus_id_t tenant_id, const char *key,
                                       nimbus_user_t *out) {
  return STORE_CALL(st, user_get_by_alias, tenant_id, key, out);
}

store_status_t store_user_name_folds_to(store_t *st, nimbus_id_t tenant_id, const char *key,
                                        nimbus_id_t except_id, nimbus_id_t *other_id) {
  return STORE_CALL(st, user_name_folds_to, tenant_id, key, except_id, other_id);
}

store_status_t store_alias_insert(store_t *st, nimbus_alias_t *a, const char *key) {
  return STORE_CALL(st, alias_insert, a, key, NULL);
}

store_status_t store_alias_insert_audited(store_t *st, nimbus_alias_t *a, const char *key,
                                          const store_audit_t *audit) {
  return STORE_CALL(st, alias_insert, a, key, audit);
}

store_status_t store_alias_delete(store_t *st, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                  const char *key) {
  return STORE_CALL(st, alias_delete, tenant_id, user_id, key, NULL);
}

store_status_t store_alias_delete_audited(store_t *st, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                          const char *key, const store_audit_t *audit) {
  return STORE_CALL(st, alias_delete, tenant_id, user_id, key, audit);
}

store_status_t store_alias_list(store_t *st, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                store_alias_cb cb, void *ctx) {
  return STORE_CALL(st, alias_list, tenant_id, user_id, cb, ctx);
}

store_status_t store_token_insert(store_t *st, nimbus_token_t *tk) {
  return STORE_CALL(st, token_insert, tk, NULL);
}

store_status_t store_token_insert_audited(store_t *st, nimbus_token_t *tk,
                                          const store_audit_t *audit) {
  return STORE_CALL(st, token_insert, tk, audit);
}

store_status_t store_token_lookup(store_t *st, const unsigned char hash[32], int64_t now,
                                  nimbus_token_t *out) {
  return STORE_CALL(st, token_lookup, hash, now, out);
}

store_status_t store_token_list(store_t *st, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                store_token_cb cb, void *ctx) {
  return STORE_CALL(st, token_list, tenant_id, user_id, cb, ctx);
}

store_status_t store_token_revoke(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                  nimbus_id_t user_id) {
  return STORE_CALL(st, token_revoke, tenant_id, id, user_id, NULL);
}

store_status_t store_token_revoke_audited(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                          nimbus_id_t user_id, const store_audit_t *audit) {
  return STORE_CALL(st, token_revoke, tenant_id, id, user_id, audit);
}

store_status_t store_device_grant_insert(store_t *st, nimbus_device_grant_t *g, int max_pending) {
  return STORE_CALL(st, device_grant_insert, g, max_pending);
}

store_status_t store_device_grant_get(store_t *st, bool by_device, const unsigned char hash[32],
                                      nimbus_device_grant_t *out) {
  return STORE_CALL(st, device_grant_get, by_device, hash, out);
}

store_status_t store_device_grant_update(store_t *st, const nimbus_device_grant_t *g,
                                         const char *expect_status, const store_audit_t *audit) {
  return STORE_CALL(st, device_grant_update, g, expect_status, audit);
}

store_status_t store_queue_insert(store_t *st, nimbus_queue_t *q) {
  return STORE_CALL(st, queue_insert, q);
}

store_status_t store_queue_get_by_name(store_t *st, nimbus_id_t tenant_id, const char *name,
                                       nimbus_queue_t *out) {
  return STORE_CALL(st, queue_get_by_name, tenant_id, name, out);
}

store_status_t store_queue_update(store_t *st, const nimbus_queue_t *q) {
  return STORE_CALL(st, queue_update, q);
}

store_status_t store_queue_delete(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id) {
  return STORE_CALL(st, queue_delete, tenant_id, id);
}

store_status_t store_queue_list(store_t *st, nimbus_id_t tenant_id, store_queue_cb cb, void *ctx) {
  return STORE_CALL(st, queue_list, tenant_id, cb, ctx);
}

store_status_t store_job_insert(store_t *st, nimbus_job_t *job, nimbus_document_t *docs,
                                int ndocs) {
  return STORE_CALL(st, job_insert, job, docs, ndocs);
}

store_status_t store_job_insert_data(store_t *st, nimbus_job_t *job, nimbus_document_t *docs,
                                     const store_inline_t *data, int ndocs) {
  return STORE_CALL(st, job_insert_data, job, docs, data, ndocs);
}

store_status_t store_document_read_inline(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                          int number, int64_t off, void *buf, size_t len,
                                          size_t *got) {
  return STORE_CALL(st, document_read_inline, tenant_id, job_id, number, off, buf, len, got);
}

store_status_t store_job_get(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                             nimbus_job_t *out) {
  return STORE_CALL(st, job_get, tenant_id, job_id, out);
}

store_status_t store_job_get_by_number(store_t *st, nimbus_id_t tenant_id, nimbus_id_t number,
                                       nimbus_job_t *out) {
  return STORE_CALL(st, job_get_by_number, tenant_id, number, out);
}

void store_which_states(store_which_t which, int *lo, int *hi) {
  switch (which) {
    case STORE_WHICH_NOT_COMPLETED:
      *lo = NIMBUS_JOB_RECEIVED;
      *hi = NIMBUS_JOB_PROCESSING;
      break;
    case STORE_WHICH_COMPLETED:
      *lo = NIMBUS_JOB_COMPLETED;
      *hi = NIMBUS_JOB_EXPIRED;
      break;
    case STORE_WHICH_HELD:
      *lo = *hi = NIMBUS_JOB_HELD;
      break;
    case STORE_WHICH_FETCHABLE:
      *lo = *hi = NIMBUS_JOB_FETCHABLE;
      break;
    case STORE_WHICH_PROCESSING:
      *lo = *hi = NIMBUS_JOB_PROCESSING;
      break;
    case STORE_WHICH_ALL:
    default:
      *lo = NIMBUS_JOB_RECEIVED;
      *hi = NIMBUS_JOB_EXPIRED;
      break;
  }
}

store_status_t store_job_list(store_t *st, const store_job_filter_t *f, store_job_cb cb, void *ctx,
                              int *total) {
  return STORE_CALL(st, job_list, f, cb, ctx, total);
}

store_status_t store_job_count_pending_for_owner(store_t *st, nimbus_id_t tenant_id,
                                                 nimbus_id_t owner_id, int *count) {
  return STORE_CALL(st, job_count_pending_for_owner, tenant_id, owner_id, count);
}

store_status_t store_job_count_pending_for_origin(store_t *st, nimbus_id_t tenant_id,
                                                  nimbus_id_t device_id, int *count) {
  return STORE_CALL(st, job_count_pending_for_origin, tenant_id, device_id, count);
}

store_status_t store_job_apply(store_t *st, nimbus_id_t tenant_id,
                               const store_job_change_t *changes, size_t n) {
  return STORE_CALL(st, job_apply, tenant_id, changes, n);
}

store_status_t store_job_set_progress(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                      nimbus_id_t device_id, int impressions_completed,
                                      const char *reasons) {
  return STORE_CALL(st, job_set_progress, tenant_id, job_id, device_id, impressions_completed,
                    reasons);
}

store_status_t store_job_list_lease_expired(store_t *st, int64_t cutoff, store_job_cb cb,
                                            void *ctx) {
  return STORE_CALL(st, job_list_lease_expired, cutoff, cb, ctx);
}

store_status_t store_document_add(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                  nimbus_document_t *doc, bool last,
                                  nimbus_job_state_t state_after_last) {
  return STORE_CALL(st, document_add, tenant_id, job_id, doc, last, state_after_last);
}

store_status_t store_document_list(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                   nimbus_document_t *out, int max, int *count) {
  return STORE_CALL(st, document_list, tenant_id, job_id, out, max, count);
}

store_status_t store_blob_is_referenced(store_t *st, const char *key, bool *referenced) {
  return STORE_CALL(st, blob_is_referenced, key, referenced);
}

store_status_t store_device_insert(store_t *st, nimbus_device_t *d) {
  return STORE_CALL(st, device_insert, d, NULL);
}

store_status_t store_device_insert_audited(store_t *st, nimbus_device_t *d,
                                           const store_audit_t *audit) {
  return STORE_CALL(st, device_insert, d, audit);
}

store_status_t store_device_get(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                nimbus_device_t *out) {
  return STORE_CALL(st, device_get, tenant_id, id, out);
}

store_status_t store_device_get_by_name(store_t *st, nimbus_id_t tenant_id, const char *name,
                                        nimbus_device_t *out) {
  return STORE_CALL(st, device_get_by_name, tenant_id, name, out);
}

store_status_t store_device_get_by_credential(store_t *st, const unsigned char hash[32],
                                              nimbus_device_t *out) {
  return STORE_CALL(st, device_get_by_credential, hash, out);
}

store_status_t store_device_get_by_uuid(store_t *st, const char *uuid, nimbus_device_t *out) {
  return STORE_CALL(st, device_get_by_uuid, uuid, out);
}

store_status_t store_device_set_location(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                         const char *location) {
  return STORE_CALL(st, device_set_location, tenant_id, id, location, NULL);
}

store_status_t store_device_set_location_audited(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                                 const char *location, const store_audit_t *audit) {
  return STORE_CALL(st, device_set_location, tenant_id, id, location, audit);
}

store_status_t store_device_set_claim(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                      const unsigned char claim_hash[32], int64_t expires_at) {
  return STORE_CALL(st, device_set_claim, tenant_id, id, claim_hash, expires_at, NULL);
}

store_status_t store_device_set_claim_audited(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                              const unsigned char claim_hash[32],
                                              int64_t expires_at, const store_audit_t *audit) {
  return STORE_CALL(st, device_set_claim, tenant_id, id, claim_hash, expires_at, audit);
}

store_status_t store_device_claim(store_t *st, const unsigned char claim_hash[32], int64_t now,
                                  const char *uuid, const unsigned char credential_hash[32],
                                  nimbus_device_t *out) {
  return STORE_CALL(st, device_claim, claim_hash, now, uuid, credential_hash, out, NULL);
}

store_status_t store_device_claim_audited(store_t *st, const unsigned char claim_hash[32],
                                          int64_t now, const char *uuid,
                                          const unsigned char credential_hash[32],
                                          nimbus_device_t *out, const store_audit_t *audit) {
  return STORE_CALL(st, device_claim, claim_hash, now, uuid, credential_hash, out, audit);
}

store_status_t store_device_set_reported(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                         int printer_state, const char *state_reasons,
                                         const char *make_model, const void *attrs,
                                         size_t attrs_len) {
  return STORE_CALL(st, device_set_reported, tenant_id, id, printer_state, state_reasons,
                    make_model, attrs, attrs_len);
}

store_status_t store_device_get_attrs(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                      void **attrs, size_t *len) {
  return STORE_CALL(st, device_get_attrs, tenant_id, id, attrs, len);
}

store_status_t store_queue_device_attrs(store_t *st, nimbus_id_t tenant_id, nimbus_id_t queue_id,
                                        void **attrs, size_t *len) {
  return STORE_CALL(st, queue_device_attrs, tenant_id, queue_id, attrs, len);
}

store_status_t store_device_touch(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                  int64_t seen_at, const char *transport) {
  return STORE_CALL(st, device_touch, tenant_id, id, seen_at, transport);
}

store_status_t store_device_touch_many(store_t *st, const store_device_seen_t *v, int n) {
  return STORE_CALL(st, device_touch_many, v, n);
}

store_status_t store_device_list(store_t *st, nimbus_id_t tenant_id, nimbus_id_t queue_id,
                                 store_device_cb cb, void *ctx) {
  return STORE_CALL(st, device_list, tenant_id, queue_id, cb, ctx);
}

store_status_t store_device_delete(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                   const store_job_change_t *changes, size_t n,
                                   const nimbus_job_state_t *live, size_t nlive,
                                   nimbus_device_t *out) {
  return STORE_CALL(st, device_delete, tenant_id, id, changes, n, live, nlive, out, NULL);
}

store_status_t store_device_delete_audited(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                           const store_job_change_t *changes, size_t n,
                                           const nimbus_job_state_t *live, size_t nlive,
                                           nimbus_device_t *out, const store_audit_t *audit) {
  return STORE_CALL(st, device_delete, tenant_id, id, changes, n, live, nlive, out, audit);
}

store_status_t store_device_tombstone_lookup(store_t *st, const unsigned char hash[32],
                                             nimbus_device_tombstone_t *out) {
  return STORE_CALL(st, device_tombstone_lookup, hash, out);
}

store_status_t store_job_pin_get(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                 store_pin_counter_t *out) {
  return STORE_CALL(st, job_pin_get, tenant_id, job_id, out);
}

store_status_t store_job_pin_cas(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                 const store_pin_counter_t *expected,
                                 const store_pin_counter_t *next) {
  return STORE_CALL(st, job_pin_cas, tenant_id, job_id, expected, next, NULL);
}

store_status_t store_job_pin_cas_audited(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                         const store_pin_counter_t *expected,
                                         const store_pin_counter_t *next,
                                         const store_audit_t *audit) {
  return STORE_CALL(st, job_pin_cas, tenant_id, job_id, expected, next, audit);
}

store_status_t store_document_purge(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                    char (*keys)[NIMBUS_BLOB_KEY_MAX], int max, int *nkeys) {
  return STORE_CALL(st, document_purge, tenant_id, job_id, keys, max, nkeys);
}

store_status_t store_job_list_sweep(store_t *st, const store_sweep_filter_t *f, store_job_cb cb,
                                    void *ctx) {
  return STORE_CALL(st, job_list_sweep, f, cb, ctx);
}

store_status_t store_panel_session_insert(store_t *st, nimbus_panel_session_t *ps) {
  return STORE_CALL(st, panel_session_insert, ps, NULL);
}

store_status_t store_panel_session_insert_audited(store_t *st, nimbus_panel_session_t *ps,
                                                  const store_audit_t *audit) {
  return STORE_CALL(st, panel_session_insert, ps, audit);
}

store_status_t store_panel_session_get(store_t *st, const unsigned char hash[32], int64_t now,
                                       nimbus_panel_session_t *out) {
  return STORE_CALL(st, panel_session_get, hash, now, out);
}

store_status_t store_panel_session_touch(store_t *st, nimbus_id_t id, int64_t expires_at) {
  return STORE_CALL(st, panel_session_touch, id, expires_at);
}

store_status_t store_panel_session_delete(store_t *st, const unsigned char hash[32], int64_t now) {
  return STORE_CALL(st, panel_session_delete, hash, now);
}

store_status_t store_web_session_insert(store_t *st, nimbus_web_session_t *ws,
                                        const store_audit_t *audit) {
  return STORE_CALL(st, web_session_insert, ws, audit);
}

store_status_t store_web_session_get(store_t *st, const unsigned char hash[32], int64_t now,
                                     int64_t idle, nimbus_web_session_t *out) {
  return STORE_CALL(st, web_session_get, hash, now, idle, out);
}

store_status_t store_web_session_touch(store_t *st, nimbus_id_t id, int64_t now) {
  return STORE_CALL(st, web_session_touch, id, now);
}

store_status_t store_web_session_delete(store_t *st, const unsigned char hash[32],
                                        const store_audit_t *audit) {
  return STORE_CALL(st, web_session_delete, hash, audit);
}

store_status_t store_web_session_delete_user(store_t *st, nimbus_id_t tenant_id,
                                             nimbus_id_t user_id) {
  return STORE_CALL(st, web_session_delete_user, tenant_id, user_id);
}

store_status_t store_web_session_delete_tenant(store_t *st, nimbus_id_t tenant_id) {
  return STORE_CALL(st, web_session_delete_tenant, tenant_id);
}

store_status_t store_web_session_sweep(store_t *st, int64_t now, int64_t idle, int *n) {
  return STORE_CALL(st, web_session_sweep, now, idle, n);
}

store_status_t store_lease_take(store_t *st, const char *name, const char *holder, int64_t now,
                                int ttl, bool *held) {
  return STORE_CALL(st, lease_take, name, holder, now, ttl, held);
}

store_status_t store_throttle_get(store_t *st, const unsigned char key[32], int64_t now,
                                  int *failures, int64_t *window_start) {
  return STORE_CALL(st, throttle_get, key, now, failures, window_start);
}

store_status_t store_throttle_fail(store_t *st, const unsigned char key[32], const char *kind,
                                   int64_t now, int64_t window, int *failures,
                                   int64_t *window_start) {
  return STORE_CALL(st, throttle_fail, key, kind, now, window, failures, window_start);
}

store_status_t store_throttle_clear(store_t *st, const unsigned char key[32]) {
  return STORE_CALL(st, throttle_clear, key);
}

store_status_t store_audit_append(store_t *st, nimbus_id_t tenant_id, const char *actor,
                                  const char *action, const char *detail) {
  return STORE_CALL(st, audit_append, tenant_id, actor, action, detail);
}

store_status_t store_audit_list(store_t *st, const store_audit_filter_t *f, store_audit_cb cb,
                                void *ctx) {
  return STORE_CALL(st, audit_list, f, cb, ctx);
}

/* ---- money (issue 12) ---- */

/* Does posting p balance: at least two lines, none zero, their sum zero
 * with no int64 overflow on the way, and a kind and a currency?  Logged
 * (never the amounts' owner data) and false when not. */
static bool store_posting_valid(const store_ledger_posting_t *p, const char *op) {
  const char *why = NULL;
  if (!p->lines || p->nlines < 2)
    why = "fewer than two lines";
  else if (!p->kind || !p->kind[0])
    why = "no kind";
  else if (!p->currency || !p->currency[0])
    why = "no currency";
  int64_t sum = 0;
  for (int i = 0; !why && i < p->nlines; i++) {
    int64_t a = p->lines[i].amount;
    if (a == 0)
      why = "a zero line";
    else if (!p->lines[i].account[0])
      why = "a line without account";
    else if (__builtin_add_overflow(sum, a, &sum))
      why = "amounts overflow";
  }
  if (!why && sum != 0) why = "lines do not sum to zero";
  if (!why) return true;
  log_event(LOG_ERROR, NULL, "store refused an unbalanced ledger posting", "op", op, "why", why,
            (char *)NULL);
  return false;
}

store_status_t store_tenant_billing_get(store_t *st, nimbus_id_t tenant_id,
                                        nimbus_tenant_billing_t *out) {
  return STORE_CALL(st, tenant_billing_get, tenant_id, out);
}

store_status_t store_tenant_billing_put(store_t *st, nimbus_tenant_billing_t *b,
                                        const store_audit_t *audit) {
  return STORE_CALL(st, tenant_billing_put, b, audit);
}

store_status_t store_payment_provider_get(store_t *st, nimbus_id_t tenant_id,
                                          nimbus_payment_provider_t *out) {
  return STORE_CALL(st, payment_provider_get, tenant_id, out);
}

store_status_t store_payment_provider_put(store_t *st, nimbus_payment_provider_t *p,
                                          const store_audit_t *audit) {
  if (p->sealed_len < 0 || p->sealed_len > NIMBUS_SEALED_MAX) {
    log_event(LOG_ERROR, NULL, "store refused sealed credentials of a bad length", (char *)NULL);
    return STORE_ERROR;
  }
  return STORE_CALL(st, payment_provider_put, p, audit);
}

store_status_t store_payment_provider_delete(store_t *st, nimbus_id_t tenant_id,
                                             const store_audit_t *audit) {
  return STORE_CALL(st, payment_provider_delete, tenant_id, audit);
}

store_status_t store_price_table_insert(store_t *st, nimbus_price_table_t *t,
                                        const store_audit_t *audit) {
  return STORE_CALL(st, price_table_insert, t, audit);
}

store_status_t store_price_table_get(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                     nimbus_price_table_t *out) {
  return STORE_CALL(st, price_table_get, tenant_id, id, out);
}

store_status_t store_price_table_get_by_name(store_t *st, nimbus_id_t tenant_id, const char *name,
                                             nimbus_price_table_t *out) {
  return STORE_CALL(st, price_table_get_by_name, tenant_id, name, out);
}

store_status_t store_price_table_update(store_t *st, nimbus_price_table_t *t,
                                        const store_audit_t *audit) {
  return STORE_CALL(st, price_table_update, t, audit);
}

store_status_t store_price_table_delete(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                        const store_audit_t *audit) {
  return STORE_CALL(st, price_table_delete, tenant_id, id, audit);
}

store_status_t store_price_table_list(store_t *st, nimbus_id_t tenant_id, store_price_table_cb cb,
                                      void *ctx) {
  return STORE_CALL(st, price_table_list, tenant_id, cb, ctx);
}

store_status_t store_queue_set_pricing(store_t *st, nimbus_id_t tenant_id, nimbus_id_t queue_id,
                                       const nimbus_pricing_t *p, const store_audit_t *audit) {
  return STORE_CALL(st, queue_set_pricing, tenant_id, queue_id, p, audit);
}

store_status_t store_device_set_pricing(store_t *st, nimbus_id_t tenant_id, nimbus_id_t device_id,
                                        const nimbus_pricing_t *p, const store_audit_t *audit) {
  return STORE_CALL(st, device_set_pricing, tenant_id, device_id, p, audit);
}

store_status_t store_job_quote_put(store_t *st, const nimbus_job_quote_t *q) {
  return STORE_CALL(st, job_quote_put, q);
}

store_status_t store_job_quote_get(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                   nimbus_job_quote_t *out) {
  return STORE_CALL(st, job_quote_get, tenant_id, job_id, out);
}

/* Amounts of a payment are never negative (its fees and its total). */
static bool store_payment_amounts_valid(const nimbus_payment_t *p, const char *op) {
  if (p->amount >= 0 && p->print_fee >= 0 && p->service_fee >= 0) return true;
  log_event(LOG_ERROR, NULL, "store refused a payment with a negative amount", "op", op,
            (char *)NULL);
  return false;
}

store_status_t store_payment_insert(store_t *st, nimbus_payment_t *p,
                                    const store_job_change_t *job_change,
                                    const store_audit_t *audit) {
  if (!store_payment_amounts_valid(p, "payment_insert")) return STORE_ERROR;
  return STORE_CALL(st, payment_insert, p, job_change, audit);
}

store_status_t store_payment_get(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                 nimbus_payment_t *out) {
  return STORE_CALL(st, payment_get, tenant_id, id, out);
}

store_status_t store_payment_get_by_order(store_t *st, const char *order_id,
                                          nimbus_payment_t *out) {
  return STORE_CALL(st, payment_get_by_order, order_id, out);
}

store_status_t store_payment_get_latest_for_job(store_t *st, nimbus_id_t tenant_id,
                                                nimbus_id_t job_id, nimbus_payment_t *out) {
  return STORE_CALL(st, payment_get_latest_for_job, tenant_id, job_id, out);
}

store_status_t store_payment_update(store_t *st, nimbus_payment_t *p,
                                    nimbus_payment_state_t expected,
                                    const store_job_change_t *job_change,
                                    const store_ledger_posting_t *posting,
                                    const store_audit_t *audit) {
  if (posting && !store_posting_valid(posting, "payment_update")) return STORE_ERROR;
  return STORE_CALL(st, payment_update, p, expected, job_change, posting, audit);
}

store_status_t store_payment_list_open(store_t *st, const store_payment_open_filter_t *f,
                                       store_payment_cb cb, void *ctx) {
  return STORE_CALL(st, payment_list_open, f, cb, ctx);
}

store_status_t store_payment_list(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id, int limit,
                                  int offset, store_payment_cb cb, void *ctx) {
  return STORE_CALL(st, payment_list, tenant_id, job_id, limit, offset, cb, ctx);
}

store_status_t store_ledger_post(store_t *st, const store_ledger_posting_t *posting,
                                 nimbus_id_t *posting_id, const store_audit_t *audit) {
  nimbus_id_t dummy;
  if (!posting_id) posting_id = &dummy;
  *posting_id = 0;
  if (!posting || !store_posting_valid(posting, "ledger_post")) return STORE_ERROR;
  return STORE_CALL(st, ledger_post, posting, posting_id, audit);
}

store_status_t store_ledger_list(store_t *st, const store_ledger_filter_t *f, store_ledger_cb cb,
                                 void *ctx) {
  return STORE_CALL(st, ledger_list, f, cb, ctx);
}

store_status_t store_ledger_balances(store_t *st, const store_ledger_filter_t *f,
                                     store_balance_cb cb, void *ctx) {
  return STORE_CALL(st, ledger_balances, f, cb, ctx);
}

/* ---- billing by purpose (issue 13) ---- */

store_status_t store_account_insert(store_t *st, nimbus_billing_account_t *a,
                                    const store_audit_t *audit) {
  return STORE_CALL(st, account_insert, a, audit);
}

store_status_t store_account_get(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                 nimbus_billing_account_t *out) {
  return STORE_CALL(st, account_get, tenant_id, id, out);
}

store_status_t store_account_get_by_code(store_t *st, nimbus_id_t tenant_id, const char *code,
                                         nimbus_billing_account_t *out) {
  return STORE_CALL(st, account_get_by_code, tenant_id, code, out);
}

store_status_t store_account_update(store_t *st, nimbus_billing_account_t *a,
                                    const store_audit_t *audit) {
  return STORE_CALL(st, account_update, a, audit);
}

store_status_t store_account_list(store_t *st, nimbus_id_t tenant_id, bool include_closed,
                                  store_account_cb cb, void *ctx) {
  return STORE_CALL(st, account_list, tenant_id, include_closed, cb, ctx);
}

store_status_t store_account_topup(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                   int64_t amount, const store_ledger_posting_t *posting,
                                   const store_audit_t *audit, nimbus_billing_account_t *out) {
  if (posting && !store_posting_valid(posting, "account_topup")) return STORE_ERROR;
  return STORE_CALL(st, account_topup, tenant_id, id, amount, posting, audit, out);
}

store_status_t store_account_grant_add(store_t *st, nimbus_id_t tenant_id,
                                       const nimbus_account_grant_t *g,
                                       const store_audit_t *audit) {
  return STORE_CALL(st, account_grant_add, tenant_id, g, audit);
}

store_status_t store_account_grant_delete(store_t *st, nimbus_id_t tenant_id,
                                          const nimbus_account_grant_t *g,
                                          const store_audit_t *audit) {
  return STORE_CALL(st, account_grant_delete, tenant_id, g, audit);
}

store_status_t store_account_grant_list(store_t *st, nimbus_id_t tenant_id, nimbus_id_t account_id,
                                        nimbus_grant_kind_t kind, store_grant_cb cb, void *ctx) {
  return STORE_CALL(st, account_grant_list, tenant_id, account_id, kind, cb, ctx);
}

store_status_t store_account_granted(store_t *st, nimbus_id_t tenant_id, nimbus_id_t account_id,
                                     nimbus_grant_kind_t kind, nimbus_id_t ref_id, bool *out) {
  return STORE_CALL(st, account_granted, tenant_id, account_id, kind, ref_id, out);
}

store_status_t store_purpose_insert(store_t *st, nimbus_purpose_t *p, const store_audit_t *audit) {
  return STORE_CALL(st, purpose_insert, p, audit);
}

store_status_t store_purpose_get(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                 nimbus_purpose_t *out) {
  return STORE_CALL(st, purpose_get, tenant_id, id, out);
}

store_status_t store_purpose_get_by_name(store_t *st, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                         const char *name, nimbus_purpose_t *out) {
  return STORE_CALL(st, purpose_get_by_name, tenant_id, user_id, name, out);
}

store_status_t store_purpose_get_default(store_t *st, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                         nimbus_purpose_t *out) {
  return STORE_CALL(st, purpose_get_default, tenant_id, user_id, out);
}

store_status_t store_purpose_update(store_t *st, nimbus_purpose_t *p, const store_audit_t *audit) {
  return STORE_CALL(st, purpose_update, p, audit);
}

store_status_t store_purpose_delete(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                    const store_audit_t *audit) {
  return STORE_CALL(st, purpose_delete, tenant_id, id, audit);
}

store_status_t store_purpose_list(store_t *st, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                  store_purpose_cb cb, void *ctx) {
  return STORE_CALL(st, purpose_list, tenant_id, user_id, cb, ctx);
}

store_status_t store_account_link_insert(store_t *st, nimbus_account_link_t *l,
                                         const store_audit_t *audit) {
  return STORE_CALL(st, account_link_insert, l, audit);
}

store_status_t store_account_link_get(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                      nimbus_account_link_t *out) {
  return STORE_CALL(st, account_link_get, tenant_id, id, out);
}

store_status_t store_account_link_list(store_t *st, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                       store_account_link_cb cb, void *ctx) {
  return STORE_CALL(st, account_link_list, tenant_id, user_id, cb, ctx);
}

store_status_t store_account_link_due(store_t *st, int64_t now, int limit, store_account_link_cb cb,
                                      void *ctx) {
  return STORE_CALL(st, account_link_due, now, limit, cb, ctx);
}

store_status_t store_account_link_update(store_t *st, nimbus_account_link_t *l,
                                         const store_audit_t *audit) {
  return STORE_CALL(st, account_link_update, l, audit);
}

store_status_t store_account_link_delete(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                         const store_audit_t *audit) {
  return STORE_CALL(st, account_link_delete, tenant_id, id, audit);
}

store_status_t store_payment_method_put(store_t *st, nimbus_payment_method_t *m,
                                        const store_audit_t *audit) {
  return STORE_CALL(st, payment_method_put, m, audit);
}

store_status_t store_payment_method_get(store_t *st, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                        nimbus_payment_method_t *out) {
  return STORE_CALL(st, payment_method_get, tenant_id, user_id, out);
}

store_status_t store_payment_method_get_by_setup(store_t *st, const char *setup_id,
                                                 nimbus_payment_method_t *out) {
  return STORE_CALL(st, payment_method_get_by_setup, setup_id, out);
}

store_status_t store_payment_method_update(store_t *st, nimbus_payment_method_t *m,
                                           nimbus_method_state_t expected,
                                           const store_audit_t *audit) {
  return STORE_CALL(st, payment_method_update, m, expected, audit);
}

store_status_t store_payment_method_delete(store_t *st, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                           const store_audit_t *audit) {
  return STORE_CALL(st, payment_method_delete, tenant_id, user_id, audit);
}

store_status_t store_charge_hold(store_t *st, nimbus_job_charge_t *c,
                                 const store_job_change_t *release, const store_audit_t *audit,
                                 store_charge_refusal_t *why) {
  return STORE_CALL(st, charge_hold, c, release, audit, why);
}

store_status_t store_charge_get(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                nimbus_job_charge_t *out) {
  return STORE_CALL(st, charge_get, tenant_id, job_id, out);
}

store_status_t store_charge_update(store_t *st, nimbus_job_charge_t *c,
                                   nimbus_charge_state_t expected,
                                   const store_account_delta_t *delta,
                                   const store_ledger_posting_t *posting,
                                   const store_audit_t *audit, store_charge_refusal_t *why) {
  if (posting && !store_posting_valid(posting, "charge_update")) return STORE_ERROR;
  return STORE_CALL(st, charge_update, c, expected, delta, posting, audit, why);
}

store_status_t store_charge_list_due(store_t *st, int64_t now, int64_t stale_before,
                                     nimbus_id_t after_job_id, int max, store_charge_cb cb,
                                     void *ctx) {
  return STORE_CALL(st, charge_list_due, now, stale_before, after_job_id, max, cb, ctx);
}

store_status_t store_job_set_account(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                     const char *account_id, const store_audit_t *audit) {
  return STORE_CALL(st, job_set_account, tenant_id, job_id, account_id, audit);
}

store_status_t store_print_log(store_t *st, const store_print_log_filter_t *f,
                               store_print_log_cb cb, void *ctx) {
  return STORE_CALL(st, print_log, f, cb, ctx);
}

store_status_t store_job_count_by_state(store_t *st, int64_t counts[10]) {
  return STORE_CALL(st, job_count_by_state, counts);
}

store_status_t store_subscription_insert(store_t *st, nimbus_subscription_t *s) {
  return STORE_CALL(st, subscription_insert, s);
}

store_status_t store_subscription_get(store_t *st, int id, int64_t now,
                                      nimbus_subscription_t *out) {
  return STORE_CALL(st, subscription_get, id, now, out);
}

store_status_t store_subscription_list(store_t *st, nimbus_id_t device_id, int64_t now,
                                       nimbus_subscription_t *out, int max, int *count) {
  *count = 0;
  return STORE_CALL(st, subscription_list, device_id, now, out, max, count);
}

store_status_t store_subscription_renew(store_t *st, int id, nimbus_id_t device_id,
                                        int lease_seconds, int64_t expires_at) {
  return STORE_CALL(st, subscription_renew, id, device_id, lease_seconds, expires_at);
}

store_status_t store_subscription_delete(store_t *st, int id, nimbus_id_t device_id) {
  return STORE_CALL(st, subscription_delete, id, device_id);
}

store_status_t store_subscription_sweep(store_t *st, int64_t now, int *removed) {
  int dummy;
  if (!removed) removed = &dummy;
  *removed = 0;
  return STORE_CALL(st, subscription_sweep, now, removed);
}

store_status_t store_remote_link_insert(store_t *st, nimbus_remote_link_t *l,
                                        const store_audit_t *audit) {
  return STORE_CALL(st, remote_link_insert, l, audit);
}

store_status_t store_remote_link_get(store_t *st, nimbus_id_t tenant_id, const char *name,
                                     nimbus_remote_link_t *out) {
  return STORE_CALL(st, remote_link_get, tenant_id, name, out);
}

store_status_t store_remote_link_list(store_t *st, nimbus_id_t tenant_id, nimbus_remote_link_t *out,
                                      int max, int *count) {
  *count = 0;
  return STORE_CALL(st, remote_link_list, tenant_id, out, max, count);
}

store_status_t store_remote_link_update(store_t *st, nimbus_remote_link_t *l,
                                        const store_audit_t *audit) {
  return STORE_CALL(st, remote_link_update, l, audit);
}

store_status_t store_remote_link_set_state(store_t *st, const nimbus_remote_link_t *l) {
  return STORE_CALL(st, remote_link_set_state, l);
}

store_status_t store_remote_link_delete(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                        const store_audit_t *audit) {
  return STORE_CALL(st, remote_link_delete, tenant_id, id, audit);
}

store_status_t store_remote_jobs_replace(store_t *st, nimbus_id_t tenant_id, nimbus_id_t link_id,
                                         const nimbus_remote_job_t *jobs, int n, int64_t now,
                                         int64_t mark) {
  return STORE_CALL(st, remote_jobs_replace, tenant_id, link_id, jobs, n, now, mark);
}

store_status_t store_remote_job_list(store_t *st, nimbus_id_t tenant_id, nimbus_id_t link_id,
                                     nimbus_remote_job_t *out, int max, int *count) {
  *count = 0;
  return STORE_CALL(st, remote_job_list, tenant_id, link_id, out, max, count);
}

store_status_t store_remote_job_query(store_t *st, const store_remote_query_t *q,
                                      nimbus_remote_job_t *out, int max, int *count) {
  *count = 0;
  return STORE_CALL(st, remote_job_query, q, out, max, count);
}

store_status_t store_remote_job_change(store_t *st, nimbus_id_t tenant_id,
                                       store_remote_change_t what, const nimbus_remote_job_t *j) {
  return STORE_CALL(st, remote_job_change, tenant_id, what, j);
}

void store_audit_detail(const store_audit_t *a, int64_t new_id, char *buf, size_t len) {
  if (a->id_key)
    snprintf(buf, len, "%s=%lld%s%s", a->id_key, (long long)new_id, a->detail ? " " : "",
             a->detail ? a->detail : "");
  else
    snprintf(buf, len, "%s", a->detail ? a->detail : "");
}

const store_audit_t *store_audit_for_device(const store_audit_t *a, const nimbus_device_t *d,
                                            store_audit_t *buf) {
  if (!a) return NULL;
  *buf = *a;
  if (!buf->tenant_id) buf->tenant_id = d->tenant_id;
  if (!buf->detail) buf->detail = d->name;
  return buf;
}

store_status_t store_feed_open(store_t *st, store_feed_t **out) {
  *out = NULL;
  return STORE_CALL(st, feed_open, out);
}

store_status_t store_feed_next(store_feed_t *f, int timeout_ms, store_feed_event_t *out, size_t max,
                               size_t *n) {
  *n = 0;
  return f->st->ops->feed_next ? f->st->ops->feed_next(f, timeout_ms, out, max, n)
                               : store_unimplemented(f->st, "feed_next");
}

void store_feed_close(store_feed_t *f) {
  if (f) f->st->ops->feed_close(f);
}
