/*
 * store-ops.h: the operations table behind store.h, for backends only.
 *
 * A backend (store/sqlite/, store/pg/) fills one store_ops_t and
 * puts a store_t first in its own connection struct, the way SQLite's VFS
 * puts pMethods first in every sqlite3_file: store.c dispatches each
 * public store_* call through st->ops, and the backend casts the store_t
 * back to its own struct.  Nothing of a backend (types, statements, locks)
 * appears here; every operation keeps the meaning store.h documents.
 * An operation a backend does not implement yet is NULL: store.c answers
 * it STORE_ERROR (logged) and store_unimplemented_op() names it.
 */
#ifndef NIMBUS_STORE_OPS_H
#define NIMBUS_STORE_OPS_H

#include "store.h"

typedef struct store_ops store_ops_t;

/* What every backend's connection struct starts with. */
struct store {
  const store_ops_t *ops;
  int64_t origin; /* this process's origin in the event log (store_open draws it) */
};

/* What every backend's feed struct starts with (store_feed_open). */
struct store_feed {
  store_t *st;
};

/* The job states (lo..hi, model.h) a store_which_t of a job filter
 * means: one definition for every backend (store.c). */
void store_which_states(store_which_t which, int *lo, int *hi);

/* The audit row of a device claim or deletion (store.h): a copy of a in
 * *buf with the device's tenant when a has none and its name as detail
 * when a has none; NULL when a is NULL (store.c). */
const store_audit_t *store_audit_for_device(const store_audit_t *a, const nimbus_device_t *d,
                                            store_audit_t *buf);

/* The detail column of audit row a: "<id_key>=<new_id> <detail>" when a
 * names an id_key, else its detail (store.c). */
void store_audit_detail(const store_audit_t *a, int64_t new_id, char *buf, size_t len);

struct store_ops {
  const char *scheme; /* the URL scheme that selects it: "sqlite", "postgresql" */
  const char *name;   /* for messages: "SQLite", "PostgreSQL" */
  /* Open the store at location (what follows "scheme:" for sqlite, the whole
   * URL for postgresql) and apply pending migrations; NULL with err set. */
  store_t *(*open)(const char *location, const store_options_t *opts, char *err, size_t errlen);
  /* The backend's library and its version, e.g. "SQLite 3.46.1", "libpq 15.18". */
  void (*version)(char *buf, size_t len);
  /* The operations of store.h, in its order, without the store_ prefix. */
  void (*close)(store_t *st);
  int (*schema_version)(store_t *st);
  int (*schema_version_nowait)(store_t *st);
  store_status_t (*tenant_insert)(store_t *st, nimbus_tenant_t *t, const store_audit_t *audit);
  store_status_t (*tenant_get)(store_t *st, nimbus_id_t id, nimbus_tenant_t *out);
  store_status_t (*tenant_get_by_name)(store_t *st, const char *name, nimbus_tenant_t *out);
  store_status_t (*tenant_update)(store_t *st, const nimbus_tenant_t *t,
                                  const store_audit_t *audit);
  store_status_t (*tenant_delete)(store_t *st, nimbus_id_t id, const store_audit_t *audit);
  store_status_t (*tenant_list)(store_t *st, store_tenant_cb cb, void *ctx);
  store_status_t (*user_insert)(store_t *st, nimbus_user_t *u, const store_audit_t *audit);
  store_status_t (*user_get)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                             nimbus_user_t *out);
  store_status_t (*user_get_by_name)(store_t *st, nimbus_id_t tenant_id, const char *name,
                                     nimbus_user_t *out);
  store_status_t (*user_update)(store_t *st, const nimbus_user_t *u, const store_audit_t *audit);
  store_status_t (*user_delete)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                const store_audit_t *audit);
  store_status_t (*user_list)(store_t *st, nimbus_id_t tenant_id, store_user_cb cb, void *ctx);
  store_status_t (*user_get_by_alias)(store_t *st, nimbus_id_t tenant_id, const char *key,
                                      nimbus_user_t *out);
  store_status_t (*user_name_folds_to)(store_t *st, nimbus_id_t tenant_id, const char *key,
                                       nimbus_id_t except_id, nimbus_id_t *other_id);
  store_status_t (*alias_insert)(store_t *st, nimbus_alias_t *a, const char *key,
                                 const store_audit_t *audit);
  store_status_t (*alias_delete)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                 const char *key, const store_audit_t *audit);
  store_status_t (*alias_list)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t user_id,
                               store_alias_cb cb, void *ctx);
  store_status_t (*token_insert)(store_t *st, nimbus_token_t *tk, const store_audit_t *audit);
  store_status_t (*token_lookup)(store_t *st, const unsigned char hash[32], int64_t now,
                                 nimbus_token_t *out);
  store_status_t (*token_list)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t user_id,
                               store_token_cb cb, void *ctx);
  store_status_t (*token_revoke)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                 nimbus_id_t user_id, const store_audit_t *audit);
  store_status_t (*queue_insert)(store_t *st, nimbus_queue_t *q);
  store_status_t (*queue_get_by_name)(store_t *st, nimbus_id_t tenant_id, const char *name,
                                      nimbus_queue_t *out);
  store_status_t (*queue_update)(store_t *st, const nimbus_queue_t *q);
  store_status_t (*queue_delete)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id);
  store_status_t (*queue_list)(store_t *st, nimbus_id_t tenant_id, store_queue_cb cb, void *ctx);
  store_status_t (*job_insert)(store_t *st, nimbus_job_t *job, nimbus_document_t *docs, int ndocs);
  store_status_t (*job_insert_data)(store_t *st, nimbus_job_t *job, nimbus_document_t *docs,
                                    const store_inline_t *data, int ndocs);
  store_status_t (*document_read_inline)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                         int number, int64_t off, void *buf, size_t len,
                                         size_t *got);
  store_status_t (*job_get)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                            nimbus_job_t *out);
  store_status_t (*job_get_by_number)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t number,
                                      nimbus_job_t *out);
  store_status_t (*job_list)(store_t *st, const store_job_filter_t *f, store_job_cb cb, void *ctx,
                             int *total);
  store_status_t (*job_count_pending_for_owner)(store_t *st, nimbus_id_t tenant_id,
                                                nimbus_id_t owner_id, int *count);
  store_status_t (*job_count_pending_for_origin)(store_t *st, nimbus_id_t tenant_id,
                                                 nimbus_id_t device_id, int *count);
  store_status_t (*job_apply)(store_t *st, nimbus_id_t tenant_id, const store_job_change_t *changes,
                              size_t n);
  store_status_t (*job_set_progress)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                     nimbus_id_t device_id, int impressions_completed,
                                     const char *reasons);
  store_status_t (*job_list_lease_expired)(store_t *st, int64_t cutoff, store_job_cb cb, void *ctx);
  store_status_t (*document_add)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                 nimbus_document_t *doc, bool last,
                                 nimbus_job_state_t state_after_last);
  store_status_t (*document_list)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                  nimbus_document_t *out, int max, int *count);
  store_status_t (*blob_is_referenced)(store_t *st, const char *key, bool *referenced);
  store_status_t (*device_insert)(store_t *st, nimbus_device_t *d, const store_audit_t *audit);
  store_status_t (*device_get)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                               nimbus_device_t *out);
  store_status_t (*device_get_by_name)(store_t *st, nimbus_id_t tenant_id, const char *name,
                                       nimbus_device_t *out);
  store_status_t (*device_get_by_credential)(store_t *st, const unsigned char hash[32],
                                             nimbus_device_t *out);
  store_status_t (*device_get_by_uuid)(store_t *st, const char *uuid, nimbus_device_t *out);
  store_status_t (*device_set_location)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                        const char *location, const store_audit_t *audit);
  store_status_t (*device_set_claim)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                     const unsigned char claim_hash[32], int64_t expires_at,
                                     const store_audit_t *audit);
  store_status_t (*device_claim)(store_t *st, const unsigned char claim_hash[32], int64_t now,
                                 const char *uuid, const unsigned char credential_hash[32],
                                 nimbus_device_t *out, const store_audit_t *audit);
  store_status_t (*device_set_reported)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                        int printer_state, const char *state_reasons,
                                        const char *make_model, const void *attrs,
                                        size_t attrs_len);
  store_status_t (*device_get_attrs)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                     void **attrs, size_t *len);
  store_status_t (*queue_device_attrs)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t queue_id,
                                       void **attrs, size_t *len);
  store_status_t (*device_touch)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                 int64_t seen_at, const char *transport);
  store_status_t (*device_touch_many)(store_t *st, const store_device_seen_t *v, int n);
  store_status_t (*device_list)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t queue_id,
                                store_device_cb cb, void *ctx);
  store_status_t (*device_delete)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                  const store_job_change_t *changes, size_t n,
                                  const nimbus_job_state_t *live, size_t nlive,
                                  nimbus_device_t *out, const store_audit_t *audit);
  store_status_t (*device_tombstone_lookup)(store_t *st, const unsigned char hash[32],
                                            nimbus_device_tombstone_t *out);
  store_status_t (*job_pin_get)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                store_pin_counter_t *out);
  store_status_t (*job_pin_cas)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                const store_pin_counter_t *expected,
                                const store_pin_counter_t *next, const store_audit_t *audit);
  store_status_t (*document_purge)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                   char (*keys)[NIMBUS_BLOB_KEY_MAX], int max, int *nkeys);
  store_status_t (*job_list_sweep)(store_t *st, const store_sweep_filter_t *f, store_job_cb cb,
                                   void *ctx);
  store_status_t (*panel_session_insert)(store_t *st, nimbus_panel_session_t *ps,
                                         const store_audit_t *audit);
  store_status_t (*panel_session_get)(store_t *st, const unsigned char hash[32], int64_t now,
                                      nimbus_panel_session_t *out);
  store_status_t (*panel_session_touch)(store_t *st, nimbus_id_t id, int64_t expires_at);
  store_status_t (*panel_session_delete)(store_t *st, const unsigned char hash[32], int64_t now);
  store_status_t (*web_session_insert)(store_t *st, nimbus_web_session_t *ws,
                                       const store_audit_t *audit);
  store_status_t (*web_session_get)(store_t *st, const unsigned char hash[32], int64_t now,
                                    int64_t idle, nimbus_web_session_t *out);
  store_status_t (*web_session_touch)(store_t *st, nimbus_id_t id, int64_t now);
  store_status_t (*web_session_delete)(store_t *st, const unsigned char hash[32],
                                       const store_audit_t *audit);
  store_status_t (*web_session_delete_user)(store_t *st, nimbus_id_t tenant_id,
                                            nimbus_id_t user_id);
  store_status_t (*web_session_delete_tenant)(store_t *st, nimbus_id_t tenant_id);
  store_status_t (*web_session_sweep)(store_t *st, int64_t now, int64_t idle, int *n);
  store_status_t (*lease_take)(store_t *st, const char *name, const char *holder, int64_t now,
                               int ttl, bool *held);
  store_status_t (*throttle_get)(store_t *st, const unsigned char key[32], int64_t now,
                                 int *failures, int64_t *window_start);
  store_status_t (*throttle_fail)(store_t *st, const unsigned char key[32], const char *kind,
                                  int64_t now, int64_t window, int *failures,
                                  int64_t *window_start);
  store_status_t (*throttle_clear)(store_t *st, const unsigned char key[32]);
  store_status_t (*audit_append)(store_t *st, nimbus_id_t tenant_id, const char *actor,
                                 const char *action, const char *detail);
  store_status_t (*audit_list)(store_t *st, const store_audit_filter_t *f, store_audit_cb cb,
                               void *ctx);
  /* money (issue 12) */
  store_status_t (*tenant_billing_get)(store_t *st, nimbus_id_t tenant_id,
                                       nimbus_tenant_billing_t *out);
  store_status_t (*tenant_billing_put)(store_t *st, nimbus_tenant_billing_t *b,
                                       const store_audit_t *audit);
  store_status_t (*payment_provider_get)(store_t *st, nimbus_id_t tenant_id,
                                         nimbus_payment_provider_t *out);
  store_status_t (*payment_provider_put)(store_t *st, nimbus_payment_provider_t *p,
                                         const store_audit_t *audit);
  store_status_t (*payment_provider_delete)(store_t *st, nimbus_id_t tenant_id,
                                            const store_audit_t *audit);
  store_status_t (*price_table_insert)(store_t *st, nimbus_price_table_t *t,
                                       const store_audit_t *audit);
  store_status_t (*price_table_get)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                    nimbus_price_table_t *out);
  store_status_t (*price_table_get_by_name)(store_t *st, nimbus_id_t tenant_id, const char *name,
                                            nimbus_price_table_t *out);
  store_status_t (*price_table_update)(store_t *st, nimbus_price_table_t *t,
                                       const store_audit_t *audit);
  store_status_t (*price_table_delete)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                       const store_audit_t *audit);
  store_status_t (*price_table_list)(store_t *st, nimbus_id_t tenant_id, store_price_table_cb cb,
                                     void *ctx);
  store_status_t (*queue_set_pricing)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t queue_id,
                                      const nimbus_pricing_t *p, const store_audit_t *audit);
  store_status_t (*device_set_pricing)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t device_id,
                                       const nimbus_pricing_t *p, const store_audit_t *audit);
  store_status_t (*job_quote_put)(store_t *st, const nimbus_job_quote_t *q);
  store_status_t (*job_quote_get)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                  nimbus_job_quote_t *out);
  store_status_t (*payment_insert)(store_t *st, nimbus_payment_t *p,
                                   const store_job_change_t *job_change,
                                   const store_audit_t *audit);
  store_status_t (*payment_get)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                nimbus_payment_t *out);
  store_status_t (*payment_get_by_order)(store_t *st, const char *order_id, nimbus_payment_t *out);
  store_status_t (*payment_get_latest_for_job)(store_t *st, nimbus_id_t tenant_id,
                                               nimbus_id_t job_id, nimbus_payment_t *out);
  store_status_t (*payment_update)(store_t *st, nimbus_payment_t *p,
                                   nimbus_payment_state_t expected,
                                   const store_job_change_t *job_change,
                                   const store_ledger_posting_t *posting,
                                   const store_audit_t *audit);
  store_status_t (*payment_list_open)(store_t *st, const store_payment_open_filter_t *f,
                                      store_payment_cb cb, void *ctx);
  store_status_t (*payment_list)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id, int limit,
                                 int offset, store_payment_cb cb, void *ctx);
  store_status_t (*ledger_post)(store_t *st, const store_ledger_posting_t *posting,
                                nimbus_id_t *posting_id, const store_audit_t *audit);
  store_status_t (*ledger_list)(store_t *st, const store_ledger_filter_t *f, store_ledger_cb cb,
                                void *ctx);
  store_status_t (*ledger_balances)(store_t *st, const store_ledger_filter_t *f,
                                    store_balance_cb cb, void *ctx);
  /* billing by purpose (issue 13) */
  store_status_t (*account_insert)(store_t *st, nimbus_billing_account_t *a,
                                   const store_audit_t *audit);
  store_status_t (*account_get)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                nimbus_billing_account_t *out);
  store_status_t (*account_get_by_code)(store_t *st, nimbus_id_t tenant_id, const char *code,
                                        nimbus_billing_account_t *out);
  store_status_t (*account_update)(store_t *st, nimbus_billing_account_t *a,
                                   const store_audit_t *audit);
  store_status_t (*account_list)(store_t *st, nimbus_id_t tenant_id, bool include_closed,
                                 store_account_cb cb, void *ctx);
  store_status_t (*account_topup)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                  int64_t amount, const store_ledger_posting_t *posting,
                                  const store_audit_t *audit, nimbus_billing_account_t *out);
  store_status_t (*account_grant_add)(store_t *st, nimbus_id_t tenant_id,
                                      const nimbus_account_grant_t *g, const store_audit_t *audit);
  store_status_t (*account_grant_delete)(store_t *st, nimbus_id_t tenant_id,
                                         const nimbus_account_grant_t *g,
                                         const store_audit_t *audit);
  store_status_t (*account_grant_list)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t account_id,
                                       nimbus_grant_kind_t kind, store_grant_cb cb, void *ctx);
  store_status_t (*account_granted)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t account_id,
                                    nimbus_grant_kind_t kind, nimbus_id_t ref_id, bool *out);
  store_status_t (*purpose_insert)(store_t *st, nimbus_purpose_t *p, const store_audit_t *audit);
  store_status_t (*purpose_get)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                nimbus_purpose_t *out);
  store_status_t (*purpose_get_by_name)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                        const char *name, nimbus_purpose_t *out);
  store_status_t (*purpose_get_default)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                        nimbus_purpose_t *out);
  store_status_t (*purpose_update)(store_t *st, nimbus_purpose_t *p, const store_audit_t *audit);
  store_status_t (*purpose_delete)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                   const store_audit_t *audit);
  store_status_t (*purpose_list)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                 store_purpose_cb cb, void *ctx);
  store_status_t (*account_link_insert)(store_t *st, nimbus_account_link_t *l,
                                        const store_audit_t *audit);
  store_status_t (*account_link_get)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                     nimbus_account_link_t *out);
  store_status_t (*account_link_list)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                      store_account_link_cb cb, void *ctx);
  store_status_t (*account_link_due)(store_t *st, int64_t now, int limit, store_account_link_cb cb,
                                     void *ctx);
  store_status_t (*account_link_update)(store_t *st, nimbus_account_link_t *l,
                                        const store_audit_t *audit);
  store_status_t (*account_link_delete)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                        const store_audit_t *audit);
  store_status_t (*payment_method_put)(store_t *st, nimbus_payment_method_t *m,
                                       const store_audit_t *audit);
  store_status_t (*payment_method_get)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                       nimbus_payment_method_t *out);
  store_status_t (*payment_method_get_by_setup)(store_t *st, const char *setup_id,
                                                nimbus_payment_method_t *out);
  store_status_t (*payment_method_update)(store_t *st, nimbus_payment_method_t *m,
                                          nimbus_method_state_t expected,
                                          const store_audit_t *audit);
  store_status_t (*payment_method_delete)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                          const store_audit_t *audit);
  store_status_t (*charge_hold)(store_t *st, nimbus_job_charge_t *c,
                                const store_job_change_t *release, const store_audit_t *audit,
                                store_charge_refusal_t *why);
  store_status_t (*charge_get)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                               nimbus_job_charge_t *out);
  store_status_t (*charge_update)(store_t *st, nimbus_job_charge_t *c,
                                  nimbus_charge_state_t expected,
                                  const store_account_delta_t *delta,
                                  const store_ledger_posting_t *posting, const store_audit_t *audit,
                                  store_charge_refusal_t *why);
  store_status_t (*charge_list_due)(store_t *st, int64_t now, int64_t stale_before,
                                    nimbus_id_t after_job_id, int max, store_charge_cb cb,
                                    void *ctx);
  store_status_t (*job_set_account)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                    const char *account_id, const store_audit_t *audit);
  store_status_t (*print_log)(store_t *st, const store_print_log_filter_t *f, store_print_log_cb cb,
                              void *ctx);
  store_status_t (*job_count_by_state)(store_t *st, int64_t counts[10]);
  store_status_t (*subscription_insert)(store_t *st, nimbus_subscription_t *s);
  store_status_t (*subscription_get)(store_t *st, int id, int64_t now, nimbus_subscription_t *out);
  store_status_t (*subscription_list)(store_t *st, nimbus_id_t device_id, int64_t now,
                                      nimbus_subscription_t *out, int max, int *count);
  store_status_t (*subscription_renew)(store_t *st, int id, nimbus_id_t device_id,
                                       int lease_seconds, int64_t expires_at);
  store_status_t (*subscription_delete)(store_t *st, int id, nimbus_id_t device_id);
  store_status_t (*subscription_sweep)(store_t *st, int64_t now, int *removed);
  store_status_t (*device_grant_insert)(store_t *st, nimbus_device_grant_t *g, int max_pending);
  store_status_t (*device_grant_get)(store_t *st, bool by_device, const unsigned char hash[32],
                                     nimbus_device_grant_t *out);
  store_status_t (*device_grant_update)(store_t *st, const nimbus_device_grant_t *g,
                                        const char *expect_status, const store_audit_t *audit);
  /* federation (issue 15) */
  store_status_t (*remote_link_insert)(store_t *st, nimbus_remote_link_t *l,
                                       const store_audit_t *audit);
  store_status_t (*remote_link_get)(store_t *st, nimbus_id_t tenant_id, const char *name,
                                    nimbus_remote_link_t *out);
  store_status_t (*remote_link_list)(store_t *st, nimbus_id_t tenant_id, nimbus_remote_link_t *out,
                                     int max, int *count);
  store_status_t (*remote_link_update)(store_t *st, nimbus_remote_link_t *l,
                                       const store_audit_t *audit);
  store_status_t (*remote_link_set_state)(store_t *st, const nimbus_remote_link_t *l);
  store_status_t (*remote_link_delete)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                       const store_audit_t *audit);
  store_status_t (*remote_jobs_replace)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t link_id,
                                        const nimbus_remote_job_t *jobs, int n, int64_t now,
                                        int64_t mark);
  store_status_t (*remote_job_list)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t link_id,
                                    nimbus_remote_job_t *out, int max, int *count);
  store_status_t (*remote_job_query)(store_t *st, const store_remote_query_t *q,
                                     nimbus_remote_job_t *out, int max, int *count);
  store_status_t (*remote_job_change)(store_t *st, nimbus_id_t tenant_id,
                                      store_remote_change_t what, const nimbus_remote_job_t *j);
  /* smart services (docs/PROVISIONING.md §10, §11) */
  store_status_t (*printer_service_put)(store_t *st, const nimbus_printer_service_t *s);
  store_status_t (*printer_service_get)(store_t *st, nimbus_id_t device_id, const char *service,
                                        nimbus_printer_service_t *out);
  store_status_t (*printer_service_list)(store_t *st, nimbus_id_t device_id,
                                         store_printer_service_cb cb, void *ctx);
  store_status_t (*printer_service_disable_contract)(store_t *st, nimbus_id_t tenant_id,
                                                     nimbus_id_t contract_id);
  store_status_t (*backup_insert)(store_t *st, nimbus_backup_t *b);
  store_status_t (*backup_get)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                               nimbus_backup_t *out);
  store_status_t (*backup_list)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t device_id,
                                store_backup_cb cb, void *ctx);
  store_status_t (*backup_prune)(store_t *st, nimbus_id_t device_id, int keep_full, int *deleted);
  store_status_t (*supply_report)(store_t *st, const store_supply_report_t *r,
                                  nimbus_supply_order_t *order);
  store_status_t (*supply_order_list)(store_t *st, const store_delivery_filter_t *f,
                                      store_supply_order_cb cb, void *ctx);
  store_status_t (*part_alert_list)(store_t *st, const store_delivery_filter_t *f,
                                    store_part_alert_cb cb, void *ctx);
  store_status_t (*part_counter_get)(store_t *st, nimbus_id_t device_id, const char *part,
                                     nimbus_part_counter_t *out);
  store_status_t (*part_replaced)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t device_id,
                                  const char *part, int64_t impressions);
  store_status_t (*part_alert_insert)(store_t *st, nimbus_part_alert_t *a);
  store_status_t (*delivery_mark)(store_t *st, store_delivery_kind_t kind, nimbus_id_t id,
                                  nimbus_delivery_state_t state, int attempts, int64_t next_at);
  store_status_t (*feed_open)(store_t *st, store_feed_t **out);
  store_status_t (*feed_next)(store_feed_t *f, int timeout_ms, store_feed_event_t *out, size_t max,
                              size_t *n);
  void (*feed_close)(store_feed_t *f);
  /* contracts (store.h "contracts") */
  store_status_t (*contract_insert)(store_t *st, nimbus_contract_t *c, const store_audit_t *audit);
  store_status_t (*contract_update)(store_t *st, nimbus_contract_t *c, const store_audit_t *audit);
  store_status_t (*contract_get)(store_t *st, nimbus_id_t id, nimbus_contract_t *out);
  store_status_t (*contract_get_by_name)(store_t *st, nimbus_id_t tenant_id, const char *name,
                                         nimbus_contract_t *out);
  store_status_t (*contract_get_by_external)(store_t *st, nimbus_id_t owner_tenant_id,
                                             const char *external_id, nimbus_contract_t *out);
  store_status_t (*contract_list)(store_t *st, const store_contract_filter_t *f,
                                  store_contract_cb cb, void *ctx);
  store_status_t (*contract_cancel)(store_t *st, nimbus_id_t id, int64_t now,
                                    const store_audit_t *audit);
  store_status_t (*contract_due_each)(store_t *st, int64_t now, store_contract_cb cb, void *ctx);
  store_status_t (*contract_event_apply)(store_t *st, const store_contract_event_t *ev,
                                         store_contract_event_op_t op, nimbus_contract_t *c,
                                         const store_audit_t *audit, bool *duplicate,
                                         nimbus_id_t *contract_id);
  store_status_t (*dealer_set)(store_t *st, nimbus_id_t customer_tenant_id,
                               nimbus_id_t dealer_tenant_id, const store_audit_t *audit);
  store_status_t (*dealer_get)(store_t *st, nimbus_id_t customer_tenant_id,
                               nimbus_id_t *dealer_tenant_id);
  store_status_t (*dealer_delete)(store_t *st, nimbus_id_t customer_tenant_id,
                                  const store_audit_t *audit);
  store_status_t (*dealer_list)(store_t *st, nimbus_id_t dealer_tenant_id, store_dealer_cb cb,
                                void *ctx);
  store_status_t (*package_insert)(store_t *st, nimbus_package_t *p, const store_audit_t *audit);
  store_status_t (*package_get)(store_t *st, nimbus_id_t id, nimbus_package_t *out);
  store_status_t (*package_list)(store_t *st, nimbus_id_t owner_tenant_id, store_package_cb cb,
                                 void *ctx);
  store_status_t (*package_in_use)(store_t *st, nimbus_id_t id, int64_t now, bool *used);
  store_status_t (*package_delete)(store_t *st, nimbus_id_t owner_tenant_id, nimbus_id_t id,
                                   int64_t now, const store_audit_t *audit);

  /* provisioning */
  store_status_t (*prov_run_create)(store_t *st, nimbus_prov_run_t *run, const nimbus_id_t *devices,
                                    int ndevices, nimbus_prov_step_t *steps, int nsteps,
                                    bool *created);
  store_status_t (*prov_run_get)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                 nimbus_prov_run_t *out);
  store_status_t (*prov_run_list)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t contract_id,
                                  nimbus_id_t device_id, store_prov_run_cb cb, void *ctx);
  store_status_t (*prov_run_finish)(store_t *st, nimbus_id_t run_id, nimbus_run_state_t state,
                                    const char *note, int64_t now);
  store_status_t (*prov_run_widen)(store_t *st, nimbus_id_t run_id, nimbus_id_t tenant_id,
                                   nimbus_id_t device_id, nimbus_prov_step_t *steps, int nsteps,
                                   int64_t now, bool *added);
  store_status_t (*prov_run_uncovered)(store_t *st, nimbus_id_t run_id, nimbus_id_t tenant_id,
                                       store_id_each_cb cb, void *ctx);
  store_status_t (*prov_step_list)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t run_id,
                                   store_prov_step_cb cb, void *ctx);
  store_status_t (*prov_step_get)(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                  nimbus_prov_step_t *out);
  store_status_t (*prov_step_transition)(store_t *st, const nimbus_prov_step_t *s,
                                         nimbus_step_state_t from_state, int from_attempts,
                                         const char *detail, int64_t now);
  store_status_t (*prov_step_heads)(store_t *st, nimbus_id_t device_id, int64_t now, int limit,
                                    store_prov_step_cb cb, void *ctx);
  store_status_t (*prov_step_timed_out)(store_t *st, int64_t sent_before, int limit,
                                        store_prov_step_cb cb, void *ctx);
  store_status_t (*prov_device_has_package)(store_t *st, nimbus_id_t device_id,
                                            nimbus_id_t package_id, bool *out);
  store_status_t (*inventory_put)(store_t *st, const nimbus_device_inventory_t *inv);
  store_status_t (*inventory_get)(store_t *st, nimbus_id_t device_id,
                                  nimbus_device_inventory_t *out);
};

/* The backends built into this nimbusd (store.c lists them). */
extern const store_ops_t sqlite_store_ops;
extern const store_ops_t pg_store_ops; /* only when built with libpq (NIMBUS_STORE_PG) */

/* store.c: an operation the backend has not implemented (NULL in its
 * table) logged and answered STORE_ERROR, never a crash. */
store_status_t store_unimplemented(const store_t *st, const char *op);
/* One call through the table, or store_unimplemented() when it is NULL. */
#define STORE_CALL(st, op, ...) \
  ((st)->ops->op ? (st)->ops->op((st), __VA_ARGS__) : store_unimplemented((st), #op))

#endif
