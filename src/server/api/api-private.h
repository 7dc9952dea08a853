/*
 * api-private.h: what the api*.c files share and nothing else includes:
 * the per-request context an endpoint function works on, the handler
 * state kept between body() and finish(), and the shared helpers:
 * responses and audit (api.c), JSON body fields, query arguments,
 * validation and records to JSON (api-json.c).
 *
 * Conventions for endpoint functions (api_fn_t):
 *  - they run on a worker thread after authentication and the route's
 *    role check (see the policy at the top of api.c);
 *  - they must set a response on every path; helpers that return false
 *    have already responded (400, 404, 500...), so the caller just returns.
 */
#ifndef NIMBUS_API_PRIVATE_H
#define NIMBUS_API_PRIVATE_H

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "purpose.h"
#include "intake.h"
#include "model.h"
#include "store.h"

#define API_SYSTEM_TENANT "system" /* reserved tenant of the operators */
/* The problem type of a suspended tenant's refusals (auth.h, device.h). */
#define API_PROBLEM_SUSPENDED "urn:nimbus:problem:tenant-suspended"
/* A scoped token used beyond its scope (oauth.h OAUTH_PROBLEM_TOKEN_SCOPE). */
#define API_PROBLEM_TOKEN_SCOPE "urn:nimbus:problem:token-scope"
#define API_PASSWORD_MAX 1024      /* longest password accepted, in bytes */

typedef struct api_upload api_upload_t; /* job upload in progress (api-jobs-upload.c) */
typedef struct api_pkg_upload api_pkg_upload_t; /* package upload (api-packages.c) */
struct api_route;

/* Handler state (r->handler_state), made by body() on the first chunk.
 * Requests without a body have none: finish() copes with NULL. */
typedef struct {
  const struct api_route *route; /* NULL: unknown path or method */
  char *body;                    /* JSON body collected so far */
  size_t body_len, body_cap;
  bool body_too_large;  /* over max-json-body: 413 */
  bool body_bad_type;   /* non-empty body that is not JSON: 415 */
  bool failed;          /* out of memory while reading: 500 */
  api_upload_t *upload; /* POST /api/v1/jobs only */
  api_pkg_upload_t *pkg; /* POST /api/v1/packages only */
} api_state_t;

typedef struct {
  http_request_t *r;
  nimbus_server_t *srv;
  const char *param;               /* {name} or {id} path segment; NULL for collections */
  const char *param2;              /* the segment after the action (API_PARAM2 routes) */
  nimbus_id_t id;                  /* param as a positive integer (id routes) */
  json_t *body;                    /* JSON object body, NULL when absent */
  nimbus_tenant_t tenant;          /* the tenant acted on: the caller's or ?tenant= */
  bool is_operator;                /* caller is an operator */
  bool is_admin;                   /* caller administers c->tenant */
  char actor[2 * NIMBUS_NAME_MAX]; /* "name@tenant" of the caller */
  api_state_t *state;              /* may be NULL */
  nimbus_device_t device;          /* API_DEVICE routes: the authenticated printer */
} api_ctx_t;

typedef void (*api_fn_t)(api_ctx_t *c);

/* ---- authentication and the console's sessions (api-session.c) ---- */
/* Who sends r: its Authorization header when there is one, else the
 * nimbus_session cookie, into r->auth. */
void api_authenticate(http_request_t *r);
/* Whether r, authenticated by the cookie with a method other than
 * GET/HEAD, lacks the session's X-CSRF-Token. */
bool api_csrf_refused(const http_request_t *r);
/* 403 urn:nimbus:problem:csrf. */
void api_respond_csrf(http_request_t *r);
/* Whether a 401 to r takes the Session challenge instead of Basic (it
 * carries the cookie or X-Nimbus-Console: 1). */
bool api_session_challenge(const http_request_t *r);
/* End every console session of u (its password or role changed), with a
 * session-ended audit entry naming why. */
void api_sessions_end_user(api_ctx_t *c, const nimbus_user_t *u, const char *why);
void api_session_create(api_ctx_t *c);
void api_session_get(api_ctx_t *c);
void api_session_delete(api_ctx_t *c);

/* ---- responses (api.c) ---- */
/* Problem document with the status' reason phrase as title and a
 * printf-formatted detail (fmt may be NULL).  Never put secrets in it. */
/* A refused purpose (billing by purpose) as its problem document: 422
 * purpose-required, 403 account-authorization-failed, 409 account-closed,
 * 402 account-limit-reached (docs/BILLING.md), msg as the detail. */
void api_problem_purpose(api_ctx_t *c, purpose_result_t r, const char *msg);
void api_problem(http_request_t *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* JSON response; takes the reference to doc.  doc NULL (a failed
 * allocation while building it) answers 500. */
void api_respond(api_ctx_t *c, int status, json_t *doc);
/* 204 without a body. */
void api_respond_no_content(api_ctx_t *c);
/* Answer a failed store call: NOT_FOUND 404 (detail "no <what> ..."),
 * CONFLICT 409, ERROR 500. */
void api_respond_store(api_ctx_t *c, store_status_t s, const char *what, const char *name);
/* 507 Insufficient Storage with Retry-After: the spool or the store is out
 * of disk space (diskspace.h); the client may send the request again. */
void api_respond_disk_full(api_ctx_t *c);

/* ---- JSON request bodies (api-json.c); each false has responded 400 ---- */
/* Every member of c->body must be one of fields (NULL-terminated). */
bool api_body_only(api_ctx_t *c, const char *const *fields);
/* String member of at most maxlen bytes.  *out is NULL when the member is
 * absent or null (400 instead when required). */
bool api_body_string(api_ctx_t *c, const char *key, bool required, size_t maxlen, const char **out);
/* Integer member within [min, max]; *present false when absent or null. */
bool api_body_integer(api_ctx_t *c, const char *key, json_int_t min, json_int_t max,
                      json_int_t *out, bool *present);
/* Boolean member; *present false when absent or null. */
bool api_body_bool(api_ctx_t *c, const char *key, bool *out, bool *present);
/* Overwrite a secret string member's bytes (password, PIN) in place. */
void api_body_wipe(api_ctx_t *c, const char *key);

/* ---- query arguments (api-json.c) ---- */
/* Integer ?name= within [min, max], def when absent; false has responded 400. */
bool api_query_int(api_ctx_t *c, const char *name, long def, long min, long max, long *out);

/* ?name=YYYY-MM-DD as the unix time of that UTC day's start (+ 1 day when
 * end: the day is included); *out 0 when absent.  False has responded 400
 * (api-csv.c). */
bool api_query_day(api_ctx_t *c, const char *name, bool end, int64_t *out);

/* ---- CSV exports (api-csv.c) ---- */
/* A CSV document in memory, at most 64 MiB: past that, or out of memory,
 * failed is set and the rest is dropped (answer 500 "too large"). */
typedef struct {
  char *buf;
  size_t len, cap;
  bool failed;
} api_csv_t;
void api_csv_add(api_csv_t *o, const char *s, size_t n);
/* A field and its separator (last: the line's end).  Quoted when needed;
 * text (what people typed) starting with = + - @ TAB or CR gets a leading
 * ' so a spreadsheet does not run it as a formula. */
void api_csv_field(api_csv_t *o, const char *s, bool text, bool last);
void api_csv_int(api_csv_t *o, int64_t v, bool last);
/* 200 text/csv as an attachment named filename; takes o->buf. */
void api_csv_respond(api_ctx_t *c, api_csv_t *o, const char *filename);

/* ---- validation (api-json.c) ---- */
/* 1..63 chars of [A-Za-z0-9._-], not starting with '.' or '-'. */
bool api_name_valid(const char *s);
/* At most maxlen bytes and no control characters. */
bool api_text_valid(const char *s, size_t maxlen);
/* Is value one a queue supports for the IPP keyword attribute attr
 * (job_settings_supported: what IPP job creation checks too)?  Otherwise
 * 400 "'<field>' must be one of <the list>" and false. */
bool api_keyword_supported(api_ctx_t *c, const char *field, const char *attr, const char *value);
/* Is name the reserved operators' tenant (any letter case)? */
bool api_tenant_name_reserved(const char *name);

/* ---- records to JSON (api-json.c); NULL on allocation failure ---- */
/* RFC 3339 UTC ("2024-05-01T12:00:00Z") of unix seconds t into out. */
void api_time_format(int64_t t, char out[32]);
/* Time string, or JSON null when t is 0. */
json_t *api_json_time(int64_t t);
/* JSON string of stored text; invalid UTF-8 bytes become U+FFFD. */
json_t *api_json_text(const char *s);
const char *api_role_name(nimbus_role_t role);
bool api_role_parse(const char *s, nimbus_role_t *out);
json_t *api_tenant_json(const nimbus_tenant_t *t);
json_t *api_user_json(const nimbus_user_t *u);
json_t *api_alias_json(const nimbus_alias_t *a);
json_t *api_queue_json(const api_ctx_t *c, const nimbus_queue_t *q);
json_t *api_token_json(const nimbus_token_t *tk);
/* Job of c->tenant with its documents (read from the store). */
json_t *api_job_json(api_ctx_t *c, const nimbus_job_t *job);
/* The same without documents: add them with api_job_add_documents(). */
json_t *api_job_json_base(const char *tenant_name, const nimbus_job_t *job);
bool api_job_add_documents(api_ctx_t *c, json_t *obj, nimbus_id_t job_id, int num_documents);

/* A JSON array filled from a store listing callback. */
typedef struct {
  api_ctx_t *c;
  json_t *arr;
  bool failed; /* an item could not be built or added: answer 500 */
} api_list_t;
/* Append item (reference taken; NULL counts as a failure).  Returns false
 * on failure, to stop the listing. */
bool api_list_append(api_list_t *l, json_t *item);
/* After a listing: 200 {key: array} or the error (store failure, or
 * l->failed).  Releases l->arr either way. */
void api_list_respond(api_list_t *l, store_status_t s, const char *key, const char *what);

/* Records of a store listing collected first, when turning one into JSON
 * reads the store again (a list callback may not call the store,
 * store.h): {.size = sizeof record}; api_rows_add is the callback's body;
 * api_rows_free wipes (records may hold credential hashes) and frees. */
typedef struct {
  void *v;
  size_t n, cap, size;
  bool failed;
} api_rows_t;
bool api_rows_add(api_rows_t *rows, const void *record);
void api_rows_free(api_rows_t *rows);

/* ---- audit (api.c) ---- */
/* Append an audit record for c->tenant (or tenant_id when not 0) with the
 * caller as actor; detail is printf-formatted and must hold no secret. */
void api_audit(api_ctx_t *c, nimbus_id_t tenant_id, const char *action, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The audit record of a write c is about to make, for its _audited store
 * call (written in the write's transaction): c->tenant, the caller as
 * actor, detail printf-formatted into *out (no secret).  Returns &out->rec. */
typedef struct {
  store_audit_t rec;
  char detail[512];
} api_audit_t;
const store_audit_t *api_audit_of(api_ctx_t *c, api_audit_t *out, const char *action,
                                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* ---- endpoints ---- */
void api_whoami(api_ctx_t *c); /* api.c */
/* api-provisioning.c: provisioning runs and the printer's side (docs/PROVISIONING.md §8.1, §13) */
void api_device_inventory_put(api_ctx_t *c);
void api_printer_runs_list(api_ctx_t *c);
/* A run's JSON (contract null and "backup" for a restore run). */
json_t *api_run_json(const nimbus_prov_run_t *r);
void api_device_provisioning_get(api_ctx_t *c);
void api_device_provisioning_report(api_ctx_t *c);
void api_device_package_get(api_ctx_t *c);
void api_contract_runs_list(api_ctx_t *c);
void api_run_get(api_ctx_t *c);

/* The panel session of an API_DEVICE request (X-Nimbus-Session) into
 * *ps, its expiry moved; false has responded 401/500 (api-device.c). */
bool api_panel_session(api_ctx_t *c, nimbus_panel_session_t *ps);

/* api-account-links.c: a user's accounts on other print services
 * (docs/FEDERATION.md §2.2) */
void api_account_links_list(api_ctx_t *c);
void api_account_links_create(api_ctx_t *c);
void api_account_link_get(api_ctx_t *c);
void api_account_link_delete(api_ctx_t *c);
void api_account_link_relink(api_ctx_t *c);
void api_device_account_links_list(api_ctx_t *c);
void api_device_account_links_create(api_ctx_t *c);
void api_device_account_link_relink(api_ctx_t *c);

void api_tenants_list(api_ctx_t *c); /* api-tenants.c */
void api_tenants_create(api_ctx_t *c);
void api_tenant_get(api_ctx_t *c);
void api_tenant_update(api_ctx_t *c);
void api_tenant_delete(api_ctx_t *c);

void api_users_list(api_ctx_t *c); /* api-users.c */
void api_users_create(api_ctx_t *c);
void api_user_get(api_ctx_t *c);
void api_user_update(api_ctx_t *c);
void api_user_delete(api_ctx_t *c);
void api_user_aliases_list(api_ctx_t *c);
void api_user_alias_add(api_ctx_t *c);
void api_user_alias_remove(api_ctx_t *c);

void api_remote_links_list(api_ctx_t *c); /* api-remote-links.c */
void api_remote_links_create(api_ctx_t *c);
void api_remote_link_get(api_ctx_t *c);
void api_remote_link_update(api_ctx_t *c);
void api_remote_link_delete(api_ctx_t *c);
void api_remote_link_jobs(api_ctx_t *c);

void api_queues_list(api_ctx_t *c); /* api-queues.c */
void api_queues_create(api_ctx_t *c);
void api_queue_get(api_ctx_t *c);
void api_queue_update(api_ctx_t *c);
void api_queue_delete(api_ctx_t *c);

void api_oauth_device_get(api_ctx_t *c); /* api-oauth.c: the device grant's user side */
void api_oauth_device_approve(api_ctx_t *c);
void api_oauth_device_deny(api_ctx_t *c);

void api_tokens_list(api_ctx_t *c); /* api-tokens.c */
void api_tokens_create(api_ctx_t *c);
void api_token_get(api_ctx_t *c);
void api_token_delete(api_ctx_t *c);

void api_jobs_list(api_ctx_t *c); /* api-jobs.c */
void api_job_get(api_ctx_t *c);
void api_job_cancel(api_ctx_t *c);
void api_job_release(api_ctx_t *c);
void api_job_delete(api_ctx_t *c); /* the web console (docs/CONSOLE.md §1.4) */
void api_job_unlock(api_ctx_t *c);

/* api-payments.c: money (issue 12) */
void api_billing_get(api_ctx_t *c);
void api_billing_update(api_ctx_t *c);
void api_billing_provider_get(api_ctx_t *c);
void api_billing_provider_set(api_ctx_t *c);
void api_billing_provider_delete(api_ctx_t *c);
void api_price_tables_list(api_ctx_t *c);
void api_price_tables_create(api_ctx_t *c);
void api_price_table_get(api_ctx_t *c);
void api_price_table_update(api_ctx_t *c);
void api_price_table_delete(api_ctx_t *c);
void api_price_table_preview(api_ctx_t *c); /* the price-table editor (the web console) */
void api_job_payment_start(api_ctx_t *c);
void api_job_payment_get(api_ctx_t *c);
void api_job_payment_cancel(api_ctx_t *c);
void api_ledger_list(api_ctx_t *c);
void api_ledger_balances(api_ctx_t *c);
void api_payments_linepay_confirm(api_ctx_t *c); /* API_PUBLIC */
void api_payments_stripe_webhook(api_ctx_t *c);  /* API_PUBLIC */
void api_payments_return(api_ctx_t *c);          /* API_PUBLIC */
/* Answer a job's newest payment (200; 404 none) / cancel its open payment
 * (200 canceled or paid meanwhile; 404; 409 not open; 502 the provider
 * could not confirm the cancel). */
void api_payment_respond_latest(api_ctx_t *c, nimbus_id_t job_id);
void api_payment_respond_cancel(api_ctx_t *c, nimbus_id_t job_id);
/* Apply optional "price_table" (name or null) and "payment" ("none",
 * "at-printer" or null) of c->body to *p; *changed says whether either was
 * given.  False has responded. */
bool api_pricing_from_body(api_ctx_t *c, nimbus_pricing_t *p, bool *changed);
/* {price_table: name|null, payment: "none"|...} of p (new reference). */
json_t *api_pricing_json(api_ctx_t *c, const nimbus_pricing_t *p);

/* api-billing-accounts.c: billing accounts and purposes (issue 13, docs/BILLING.md) */
void api_accounts_list(api_ctx_t *c);
void api_accounts_create(api_ctx_t *c);
void api_account_get(api_ctx_t *c);
void api_account_update(api_ctx_t *c);
void api_account_topup(api_ctx_t *c);
void api_account_grant_user(api_ctx_t *c);
void api_account_revoke_user(api_ctx_t *c);
void api_account_grant_printer(api_ctx_t *c);
void api_account_revoke_printer(api_ctx_t *c);
void api_purposes_list(api_ctx_t *c);
void api_purposes_create(api_ctx_t *c);
void api_purpose_get(api_ctx_t *c);
void api_purpose_update(api_ctx_t *c);
void api_purpose_delete(api_ctx_t *c);
/* api-reports.c: the print log and totals (issue 13) */
void api_reports_print_log(api_ctx_t *c);
void api_reports_totals(api_ctx_t *c);
/* api-audit.c: the tenant's audit log (the web console) */
void api_audit_list(api_ctx_t *c);

void api_printers_list(api_ctx_t *c); /* api-printers.c */
void api_printers_create(api_ctx_t *c);
void api_printer_get(api_ctx_t *c);
void api_printer_delete(api_ctx_t *c);
void api_printer_update(api_ctx_t *c);
void api_printer_claim_code(api_ctx_t *c);
void api_device_register(api_ctx_t *c); /* API_PUBLIC: c->tenant is unset */

/* api-device.c: the printer panel (API_DEVICE: c->device, c->tenant set) */
void api_device_session_create(api_ctx_t *c);
void api_device_session_delete(api_ctx_t *c);
void api_device_jobs_list(api_ctx_t *c);
void api_device_job_get(api_ctx_t *c);
void api_device_job_release(api_ctx_t *c);
/* POST /device/remote-jobs/{link}/{remote job id}/release (api-device.c) */
void api_device_remote_job_release(api_ctx_t *c);

/* Remote jobs in the job lists (api-remote-jobs.c, docs/FEDERATION.md §4).
 * origin: {"kind":"local"}, or for a taken remote job's local copy
 * {"kind":"remote","link","service","remote_job_id"}. */
json_t *api_job_origin_json(api_ctx_t *c, const nimbus_job_t *job);
/* Append user_id's remote jobs (untaken, of linked accounts) to arr as
 * list items; *total: how many there are.  False when out of memory or
 * on a storage error. */
bool api_remote_jobs_add(api_ctx_t *c, nimbus_id_t user_id, json_t *arr, int *total);
/* Sort arr's items by created_at, newest first. */
bool api_jobs_sort_newest(json_t *arr);
/* [{"service","status"}] of user_id's account links (NULL on error). */
json_t *api_account_links_status(api_ctx_t *c, nimbus_id_t user_id);
void api_device_job_payment_get(api_ctx_t *c);
void api_device_job_payment_cancel(api_ctx_t *c);
void api_device_job_pin(api_ctx_t *c);
/* A problem document with one extra member (attempts_left, locked_until,
 * member) of value (stolen). */
void api_problem_with(api_ctx_t *c, int status, const char *title, const char *detail,
                      const char *key, json_t *value);
/*
 * The "settings" member of the request body into *out (absent or null:
 * none), FEDERATION.md §5: copies (an integer 1..999), sides,
 * print-color-mode, media (keywords); anything else is 400 with
 * "member" naming it.  false has responded.
 */
struct device_settings_s;
bool api_body_settings(api_ctx_t *c, struct device_settings_s *out);
/* POST /device/jobs/{id}/quote {settings}: the fee the job would have here
 * with those settings (FEDERATION.md §5); nothing is stored. */
void api_device_job_quote(api_ctx_t *c);
void api_device_job_cancel(api_ctx_t *c);
void api_device_purposes(api_ctx_t *c);
void api_me_payment_method_get(api_ctx_t *c);
void api_me_payment_method_create(api_ctx_t *c);
void api_me_payment_method_delete(api_ctx_t *c);
void api_payments_method_return(api_ctx_t *c);

/* api-contracts.c: contracts and dealer grants (docs/PROVISIONING.md §1, §2) */
void api_contracts_list(api_ctx_t *c);
void api_contracts_create(api_ctx_t *c);
void api_contract_get(api_ctx_t *c);
void api_contract_update(api_ctx_t *c);
void api_contract_cancel(api_ctx_t *c);
void api_contract_renew(api_ctx_t *c);
void api_tenant_dealer_get(api_ctx_t *c);
void api_tenant_dealer_set(api_ctx_t *c);
void api_tenant_dealer_delete(api_ctx_t *c);
/* api-contract-webhook.c: POST contract-events (API_PUBLIC, signed) */
void api_contract_events(api_ctx_t *c);
/* api-packages.c: packages (docs/PROVISIONING.md §3); the upload's body
 * side runs on the event thread like the job upload's */
void api_packages_upload(api_ctx_t *c);
void api_packages_list(api_ctx_t *c);
void api_package_get(api_ctx_t *c);
void api_package_delete(api_ctx_t *c);
api_pkg_upload_t *api_pkg_upload_new(http_request_t *r);
bool api_pkg_upload_body(http_request_t *r, api_pkg_upload_t *u, const char *data, size_t len);
bool api_pkg_upload_authenticated(const api_pkg_upload_t *u);
void api_pkg_upload_free(api_pkg_upload_t *u);

void api_jobs_submit(api_ctx_t *c); /* api-jobs-upload.c */
/* The upload's body side (event thread), see api-jobs-upload.c. */
api_upload_t *api_upload_new(http_request_t *r);
bool api_upload_body(http_request_t *r, api_upload_t *u, const char *data, size_t len);
/* Was the caller authenticated while the body arrived (r->auth is set)? */
bool api_upload_authenticated(const api_upload_t *u);
void api_upload_free(api_upload_t *u);

/* ---- the smart services (api-services.c; docs/PROVISIONING.md §10) ---- */
void api_device_services(api_ctx_t *c);
void api_device_backup_create(api_ctx_t *c);
void api_device_supplies(api_ctx_t *c);
void api_device_counters(api_ctx_t *c);
void api_printer_backups_list(api_ctx_t *c);
void api_printer_backup_get(api_ctx_t *c);
void api_printer_backup_restore(api_ctx_t *c);
void api_printer_part_replaced(api_ctx_t *c);
void api_supply_orders_list(api_ctx_t *c);
void api_part_alerts_list(api_ctx_t *c);

#endif
