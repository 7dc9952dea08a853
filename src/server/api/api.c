/*
 * api.c: the REST/JSON API under /api/v1: the router and the policy every
 * endpoint shares.  Records to JSON, body fields and validation helpers
 * live in api-json.c; the endpoints in api-<collection>.c.
 *
 * Routes (api_routes below is the one list):
 *   GET  whoami
 *   POST|GET|DELETE session       the web console's sign-in (api-session.c)
 *   GET|POST tenants              GET|PATCH|DELETE tenants/{name}   operators
 *   GET|POST users                GET|PATCH|DELETE users/{name}
 *   GET|POST|DELETE users/{name}/aliases (DELETE ?alias=)
 *   GET|POST queues               GET|PATCH|DELETE queues/{name}
 *   GET|POST remote-links         GET|PATCH|DELETE remote-links/{name}, GET …/{name}/jobs
 *   GET|POST tokens               GET|DELETE tokens/{id}
 *   GET|POST jobs                 GET|DELETE jobs/{id}  (DELETE: cancel, purge the document)
 *   POST jobs/{id}/cancel         POST jobs/{id}/release
 *   POST jobs/{id}/unlock         admins: end a wrong-PIN lock
 *   GET|POST printers             GET|PATCH|DELETE printers/{name}  admins
 *   POST printers/{name}/claim-code                                 admins
 *   POST device/register          no user: the claim code is the credential
 *   POST device/sessions          DELETE device/sessions/current    the printer's
 *   GET  device/jobs              GET device/jobs/{id}              credential
 *   POST device/jobs/{id}/release POST device/jobs/{id}/cancel      (api-device.c)
 *   POST device/jobs/{id}/quote
 *   POST device/remote-jobs/{link}/{remote job id}/release (api-remote-jobs.c)
 *   GET|POST billing-accounts     GET|PATCH billing-accounts/{code}  (api-billing-accounts.c)
 *   POST billing-accounts/{code}/topup                               admins
 *   PUT|DELETE billing-accounts/{code}/users/{user}, .../printers/{printer}  admins
 *   GET|POST purposes             GET|PATCH|DELETE purposes/{name}  (admins: ?user=)
 *   GET  reports/print-log        GET reports/totals                 (api-reports.c)
 *   POST price-tables/preview     admins: a sample job's fee, nothing saved
 *   GET  audit                    admins: the audit log               (api-audit.c)
 *   GET|POST contracts            GET|PUT|DELETE contracts/{id}, POST …/{id}/renew
 *   GET|PUT|DELETE tenants/{name}/dealer  operators             (api-contracts.c)
 *   POST|GET packages             GET|DELETE packages/{id}      (api-packages.c)
 *   POST contract-events          no user: the signature is the credential
 *                                 (api-contract-webhook.c)
 *   POST device/inventory         GET device/provisioning            the printer's
 *   POST device/provisioning/steps/{id}  GET device/packages/{id}    provisioning
 *   GET  contracts/{id}/runs      GET runs/{id}                       (api-provisioning.c)
 *   GET  printers/{name}/backups  GET …/backups/{id}  POST …/backups/{id}/restore  admins
 *   GET  printers/{name}/runs (api-provisioning.c)  POST …/parts/{part}/replaced  admins
 *   GET  supply-orders            GET part-alerts     admins          (api-services.c)
 *   GET  device/services          POST device/backups|supplies|counters  the printer's
 *                                 credential (api-services.c, docs/PROVISIONING.md §10)
 *
 * Role policy (checked here from the route's flags, refined by handlers):
 *   operator      role NIMBUS_ROLE_OPERATOR in tenant "system".  Manages
 *                 tenants, and administers any tenant: tenant-scoped
 *                 routes take ?tenant=NAME (unknown: 404; default: the
 *                 caller's own tenant).
 *   tenant-admin  administers its own tenant: users, queues, tokens, jobs.
 *   user          its own jobs and tokens, reads queues, reads itself and
 *                 changes its own password.
 * Whatever belongs to another tenant is 404 exactly as if absent (the
 * store scopes every call); a plain user asking for another user's job or
 * token gets 404 as well.  Only operators may name another tenant (403).
 *
 * Errors are RFC 9457 problem documents (http_respond_problem) with the
 * status' reason phrase as title and a detail for people: 400 bad JSON or
 * field (the detail names the field), 401 + WWW-Authenticate, 403, 404,
 * 405 + Allow, 409, 413, 415, 422, 429, 500.
 *
 * Request flow: body() (event thread, must not block) matches the route
 * and either collects a JSON body up to max-json-body or hands the bytes
 * to the job upload (api-jobs-upload.c); finish() (worker) authenticates,
 * applies the policy, parses the JSON and calls the route's function.
 */
#include "api.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api-private.h"
#include "auth.h"
#include "contract-webhook.h"
#include "device.h"
#include "diskspace.h"
#include "log.h"

#define API_PREFIX "/api/v1"
#define API_SEGMENTS_MAX 5 /* collection (up to 2 segments), {param}, {param2}, action */
#define API_SEGMENT_MAX 256 /* longer segments can match nothing */
#define API_REALM "Basic realm=\"Nimbus Print\""
#define API_SESSION_REALM "Session realm=\"Nimbus Print\""

/* API_PARAM_TEXT: any one segment (the handler checks it: purpose names
 * hold spaces and UTF-8, account codes may start with '-' or '.'). */
typedef enum { API_PARAM_NONE, API_PARAM_NAME, API_PARAM_ID, API_PARAM_TEXT } api_param_t;

enum {
  API_OPERATOR = 1u << 0,      /* operators only */
  API_ADMIN = 1u << 1,         /* operator or tenant-admin of the tenant acted on */
  API_SCOPED = 1u << 2,        /* acts on a tenant; ?tenant= for operators */
  API_JSON = 1u << 3,          /* a JSON object body is required */
  API_JSON_OPTIONAL = 1u << 4, /* a JSON object body may be sent */
  API_UPLOAD = 1u << 5,        /* multipart job upload (api-jobs-upload.c) */
  API_PUBLIC = 1u << 6,        /* no user authentication (the body carries a secret) */
  API_DEVICE = 1u << 7,        /* a printer's credential instead of a user (api-device.c) */
  API_PARAM2 = 1u << 8,        /* one more segment after the action: c->param2 */
  API_PARAM_MID = 1u << 9,     /* one more segment before the action: c->param2 */
  API_RAW = 1u << 10,          /* a JSON body kept raw (≤ 1 MiB), the handler parses it */
  API_PKG = 1u << 11,          /* a raw package upload, streamed (api-packages.c) */
  API_PARAM2_TAIL = 1u << 12   /* with API_PARAM2, action "a/b": {param}/a/{param2}/b */
};

struct api_route {
  const char *collection; /* one or two path segments ("jobs", "device/jobs") */
  api_param_t param;
  const char *action; /* word after {param} (or after the collection), or NULL */
  const char *method;
  api_fn_t fn;
  const char *op; /* metrics label */
  unsigned flags;
};

static const struct api_route api_routes[] = {
    {"whoami", API_PARAM_NONE, NULL, "GET", api_whoami, "api.whoami", 0},
    {"session", API_PARAM_NONE, NULL, "POST", api_session_create, "api.session.create",
     API_PUBLIC | API_JSON},
    {"session", API_PARAM_NONE, NULL, "GET", api_session_get, "api.session.get", API_PUBLIC},
    {"session", API_PARAM_NONE, NULL, "DELETE", api_session_delete, "api.session.delete",
     API_PUBLIC},

    {"tenants", API_PARAM_NONE, NULL, "GET", api_tenants_list, "api.tenants.list", API_OPERATOR},
    {"tenants", API_PARAM_NONE, NULL, "POST", api_tenants_create, "api.tenants.create",
     API_OPERATOR | API_JSON},
    {"tenants", API_PARAM_NAME, NULL, "GET", api_tenant_get, "api.tenants.get", API_OPERATOR},
    {"tenants", API_PARAM_NAME, NULL, "PATCH", api_tenant_update, "api.tenants.update",
     API_OPERATOR | API_JSON},
    {"tenants", API_PARAM_NAME, NULL, "DELETE", api_tenant_delete, "api.tenants.delete",
     API_OPERATOR},

    {"users", API_PARAM_NONE, NULL, "GET", api_users_list, "api.users.list",
     API_SCOPED | API_ADMIN},
    {"users", API_PARAM_NONE, NULL, "POST", api_users_create, "api.users.create",
     API_SCOPED | API_ADMIN | API_JSON},
    {"users", API_PARAM_NAME, NULL, "GET", api_user_get, "api.users.get", API_SCOPED},
    {"users", API_PARAM_NAME, NULL, "PATCH", api_user_update, "api.users.update",
     API_SCOPED | API_JSON},
    {"users", API_PARAM_NAME, NULL, "DELETE", api_user_delete, "api.users.delete",
     API_SCOPED | API_ADMIN},
    {"users", API_PARAM_NAME, "aliases", "GET", api_user_aliases_list, "api.users.aliases.list",
     API_SCOPED | API_ADMIN},
    {"users", API_PARAM_NAME, "aliases", "POST", api_user_alias_add, "api.users.aliases.add",
     API_SCOPED | API_ADMIN | API_JSON},
    {"users", API_PARAM_NAME, "aliases", "DELETE", api_user_alias_remove,
     "api.users.aliases.remove", API_SCOPED | API_ADMIN},

    {"queues", API_PARAM_NONE, NULL, "GET", api_queues_list, "api.queues.list", API_SCOPED},
    {"queues", API_PARAM_NONE, NULL, "POST", api_queues_create, "api.queues.create",
     API_SCOPED | API_ADMIN | API_JSON},
    {"queues", API_PARAM_NAME, NULL, "GET", api_queue_get, "api.queues.get", API_SCOPED},
    {"queues", API_PARAM_NAME, NULL, "PATCH", api_queue_update, "api.queues.update",
     API_SCOPED | API_ADMIN | API_JSON},
    {"queues", API_PARAM_NAME, NULL, "DELETE", api_queue_delete, "api.queues.delete",
     API_SCOPED | API_ADMIN},

    {"oauth/device", API_PARAM_NONE, NULL, "GET", api_oauth_device_get, "api.oauth.device.get", 0},
    {"oauth/device", API_PARAM_NONE, "approve", "POST", api_oauth_device_approve,
     "api.oauth.device.approve", API_JSON},
    {"oauth/device", API_PARAM_NONE, "deny", "POST", api_oauth_device_deny, "api.oauth.device.deny",
     API_JSON},
    {"remote-links", API_PARAM_NONE, NULL, "GET", api_remote_links_list, "api.remote_links.list",
     API_SCOPED | API_ADMIN},
    {"remote-links", API_PARAM_NONE, NULL, "POST", api_remote_links_create,
     "api.remote_links.create", API_SCOPED | API_ADMIN | API_JSON},
    {"remote-links", API_PARAM_NAME, NULL, "GET", api_remote_link_get, "api.remote_links.get",
     API_SCOPED | API_ADMIN},
    {"remote-links", API_PARAM_NAME, NULL, "PATCH", api_remote_link_update,
     "api.remote_links.update", API_SCOPED | API_ADMIN | API_JSON},
    {"remote-links", API_PARAM_NAME, NULL, "DELETE", api_remote_link_delete,
     "api.remote_links.delete", API_SCOPED | API_ADMIN},
    {"remote-links", API_PARAM_NAME, "jobs", "GET", api_remote_link_jobs, "api.remote_links.jobs",
     API_SCOPED | API_ADMIN},

    {"tokens", API_PARAM_NONE, NULL, "GET", api_tokens_list, "api.tokens.list", API_SCOPED},
    {"tokens", API_PARAM_NONE, NULL, "POST", api_tokens_create, "api.tokens.create",
     API_SCOPED | API_JSON_OPTIONAL},
    {"tokens", API_PARAM_ID, NULL, "GET", api_token_get, "api.tokens.get", API_SCOPED},
    {"tokens", API_PARAM_ID, NULL, "DELETE", api_token_delete, "api.tokens.revoke", API_SCOPED},

    {"jobs", API_PARAM_NONE, NULL, "GET", api_jobs_list, "api.jobs.list", API_SCOPED},
    {"jobs", API_PARAM_NONE, NULL, "POST", api_jobs_submit, "api.jobs.submit", API_UPLOAD},
    {"jobs", API_PARAM_ID, NULL, "GET", api_job_get, "api.jobs.get", API_SCOPED},
    {"jobs", API_PARAM_ID, "cancel", "POST", api_job_cancel, "api.jobs.cancel", API_SCOPED},
    {"jobs", API_PARAM_ID, "release", "POST", api_job_release, "api.jobs.release",
     API_SCOPED | API_JSON_OPTIONAL},
    {"jobs", API_PARAM_ID, NULL, "DELETE", api_job_delete, "api.jobs.delete", API_SCOPED},
    {"jobs", API_PARAM_ID, "unlock", "POST", api_job_unlock, "api.jobs.unlock",
     API_SCOPED | API_ADMIN},

    {"jobs", API_PARAM_ID, "payment", "POST", api_job_payment_start, "api.jobs.payment.start",
     API_SCOPED | API_JSON_OPTIONAL},
    {"jobs", API_PARAM_ID, "payment", "GET", api_job_payment_get, "api.jobs.payment.get",
     API_SCOPED},
    {"jobs", API_PARAM_ID, "payment", "DELETE", api_job_payment_cancel, "api.jobs.payment.cancel",
     API_SCOPED},

    {"billing", API_PARAM_NONE, NULL, "GET", api_billing_get, "api.billing.get", API_SCOPED},
    {"billing", API_PARAM_NONE, NULL, "PATCH", api_billing_update, "api.billing.update",
     API_SCOPED | API_ADMIN | API_JSON},
    {"billing", API_PARAM_NONE, "provider", "GET", api_billing_provider_get,
     "api.billing.provider.get", API_SCOPED | API_ADMIN},
    {"billing", API_PARAM_NONE, "provider", "PUT", api_billing_provider_set,
     "api.billing.provider.set", API_SCOPED | API_ADMIN | API_JSON},
    {"billing", API_PARAM_NONE, "provider", "DELETE", api_billing_provider_delete,
     "api.billing.provider.delete", API_SCOPED | API_ADMIN},
    {"price-tables", API_PARAM_NONE, NULL, "GET", api_price_tables_list, "api.price_tables.list",
     API_SCOPED},
    {"price-tables", API_PARAM_NONE, NULL, "POST", api_price_tables_create,
     "api.price_tables.create", API_SCOPED | API_ADMIN | API_JSON},
    {"price-tables", API_PARAM_NONE, "preview", "POST", api_price_table_preview,
     "api.price_tables.preview", API_SCOPED | API_ADMIN | API_JSON},
    {"price-tables", API_PARAM_NAME, NULL, "GET", api_price_table_get, "api.price_tables.get",
     API_SCOPED},
    {"price-tables", API_PARAM_NAME, NULL, "PATCH", api_price_table_update,
     "api.price_tables.update", API_SCOPED | API_ADMIN | API_JSON},
    {"price-tables", API_PARAM_NAME, NULL, "DELETE", api_price_table_delete,
     "api.price_tables.delete", API_SCOPED | API_ADMIN},
    {"ledger", API_PARAM_NONE, NULL, "GET", api_ledger_list, "api.ledger.list",
     API_SCOPED | API_ADMIN},
    {"ledger", API_PARAM_NONE, "balances", "GET", api_ledger_balances, "api.ledger.balances",
     API_SCOPED | API_ADMIN},
    {"payments/linepay-confirm", API_PARAM_NONE, NULL, "GET", api_payments_linepay_confirm,
     "api.payments.linepay_confirm", API_PUBLIC},
    {"payments/stripe-webhook", API_PARAM_NAME, NULL, "POST", api_payments_stripe_webhook,
     "api.payments.stripe_webhook", API_PUBLIC | API_JSON},
    {"payments/return", API_PARAM_NONE, NULL, "GET", api_payments_return, "api.payments.return",
     API_PUBLIC},
    {"payments/method-return", API_PARAM_NONE, NULL, "GET", api_payments_method_return,
     "api.payments.method_return", API_PUBLIC},
    {"me/account-links", API_PARAM_NONE, NULL, "GET", api_account_links_list,
     "api.me.account_links.list", API_SCOPED},
    {"me/account-links", API_PARAM_NONE, NULL, "POST", api_account_links_create,
     "api.me.account_links.create", API_SCOPED | API_JSON},
    {"me/account-links", API_PARAM_ID, NULL, "GET", api_account_link_get,
     "api.me.account_links.get", API_SCOPED},
    {"me/account-links", API_PARAM_ID, NULL, "DELETE", api_account_link_delete,
     "api.me.account_links.delete", API_SCOPED},
    {"me/account-links", API_PARAM_ID, "relink", "POST", api_account_link_relink,
     "api.me.account_links.relink", API_SCOPED},
    {"me/payment-method", API_PARAM_NONE, NULL, "GET", api_me_payment_method_get,
     "api.me.payment_method.get", API_SCOPED},
    {"me/payment-method", API_PARAM_NONE, NULL, "POST", api_me_payment_method_create,
     "api.me.payment_method.create", API_SCOPED | API_JSON_OPTIONAL},
    {"me/payment-method", API_PARAM_NONE, NULL, "DELETE", api_me_payment_method_delete,
     "api.me.payment_method.delete", API_SCOPED},

    {"billing-accounts", API_PARAM_NONE, NULL, "GET", api_accounts_list, "api.accounts.list",
     API_SCOPED},
    {"billing-accounts", API_PARAM_NONE, NULL, "POST", api_accounts_create, "api.accounts.create",
     API_SCOPED | API_ADMIN | API_JSON},
    {"billing-accounts", API_PARAM_TEXT, NULL, "GET", api_account_get, "api.accounts.get",
     API_SCOPED | API_ADMIN},
    {"billing-accounts", API_PARAM_TEXT, NULL, "PATCH", api_account_update, "api.accounts.update",
     API_SCOPED | API_ADMIN | API_JSON},
    {"billing-accounts", API_PARAM_TEXT, "topup", "POST", api_account_topup, "api.accounts.topup",
     API_SCOPED | API_ADMIN | API_JSON},
    {"billing-accounts", API_PARAM_TEXT, "users", "PUT", api_account_grant_user,
     "api.accounts.users.grant", API_SCOPED | API_ADMIN | API_PARAM2},
    {"billing-accounts", API_PARAM_TEXT, "users", "DELETE", api_account_revoke_user,
     "api.accounts.users.revoke", API_SCOPED | API_ADMIN | API_PARAM2},
    {"billing-accounts", API_PARAM_TEXT, "printers", "PUT", api_account_grant_printer,
     "api.accounts.printers.grant", API_SCOPED | API_ADMIN | API_PARAM2},
    {"billing-accounts", API_PARAM_TEXT, "printers", "DELETE", api_account_revoke_printer,
     "api.accounts.printers.revoke", API_SCOPED | API_ADMIN | API_PARAM2},
    {"purposes", API_PARAM_NONE, NULL, "GET", api_purposes_list, "api.purposes.list", API_SCOPED},
    {"purposes", API_PARAM_NONE, NULL, "POST", api_purposes_create, "api.purposes.create",
     API_SCOPED | API_JSON},
    {"purposes", API_PARAM_TEXT, NULL, "GET", api_purpose_get, "api.purposes.get", API_SCOPED},
    {"purposes", API_PARAM_TEXT, NULL, "PATCH", api_purpose_update, "api.purposes.update",
     API_SCOPED | API_JSON},
    {"purposes", API_PARAM_TEXT, NULL, "DELETE", api_purpose_delete, "api.purposes.delete",
     API_SCOPED},
    {"reports/print-log", API_PARAM_NONE, NULL, "GET", api_reports_print_log,
     "api.reports.print_log", API_SCOPED},
    {"reports/totals", API_PARAM_NONE, NULL, "GET", api_reports_totals, "api.reports.totals",
     API_SCOPED},
    {"audit", API_PARAM_NONE, NULL, "GET", api_audit_list, "api.audit.list",
     API_SCOPED | API_ADMIN},

    {"contracts", API_PARAM_NONE, NULL, "GET", api_contracts_list, "api.contracts.list", 0},
    {"contracts", API_PARAM_NONE, NULL, "POST", api_contracts_create, "api.contracts.create",
     API_JSON},
    {"contracts", API_PARAM_ID, NULL, "GET", api_contract_get, "api.contracts.get", 0},
    {"contracts", API_PARAM_ID, NULL, "PUT", api_contract_update, "api.contracts.update", API_JSON},
    {"contracts", API_PARAM_ID, NULL, "DELETE", api_contract_cancel, "api.contracts.cancel", 0},
    {"contracts", API_PARAM_ID, "renew", "POST", api_contract_renew, "api.contracts.renew",
     API_JSON},
    {"tenants", API_PARAM_NAME, "dealer", "GET", api_tenant_dealer_get, "api.tenants.dealer.get",
     API_OPERATOR},
    {"tenants", API_PARAM_NAME, "dealer", "PUT", api_tenant_dealer_set, "api.tenants.dealer.set",
     API_OPERATOR | API_JSON},
    {"tenants", API_PARAM_NAME, "dealer", "DELETE", api_tenant_dealer_delete,
     "api.tenants.dealer.delete", API_OPERATOR},
    {"packages", API_PARAM_NONE, NULL, "POST", api_packages_upload, "api.packages.upload", API_PKG},
    {"packages", API_PARAM_NONE, NULL, "GET", api_packages_list, "api.packages.list", 0},
    {"packages", API_PARAM_ID, NULL, "GET", api_package_get, "api.packages.get", 0},
    {"packages", API_PARAM_ID, NULL, "DELETE", api_package_delete, "api.packages.delete", 0},
    {"contract-events", API_PARAM_NONE, NULL, "POST", api_contract_events, "api.contract_events",
     API_PUBLIC | API_RAW},

    {"printers", API_PARAM_NONE, NULL, "GET", api_printers_list, "api.printers.list",
     API_SCOPED | API_ADMIN},
    {"printers", API_PARAM_NONE, NULL, "POST", api_printers_create, "api.printers.create",
     API_SCOPED | API_ADMIN | API_JSON},
    {"printers", API_PARAM_NAME, NULL, "GET", api_printer_get, "api.printers.get",
     API_SCOPED | API_ADMIN},
    {"printers", API_PARAM_NAME, NULL, "DELETE", api_printer_delete, "api.printers.delete",
     API_SCOPED | API_ADMIN},
    {"printers", API_PARAM_NAME, NULL, "PATCH", api_printer_update, "api.printers.update",
     API_SCOPED | API_ADMIN | API_JSON},
    {"printers", API_PARAM_NAME, "claim-code", "POST", api_printer_claim_code,
     "api.printers.claim_code", API_SCOPED | API_ADMIN | API_JSON_OPTIONAL},
    {"printers", API_PARAM_NAME, "backups", "GET", api_printer_backups_list,
     "api.printers.backups.list", API_SCOPED | API_ADMIN},
    {"printers", API_PARAM_NAME, "backups", "GET", api_printer_backup_get,
     "api.printers.backups.get", API_SCOPED | API_ADMIN | API_PARAM2},
    {"printers", API_PARAM_NAME, "backups/restore", "POST", api_printer_backup_restore,
     "api.printers.backups.restore",
     API_SCOPED | API_ADMIN | API_PARAM2 | API_PARAM2_TAIL | API_JSON_OPTIONAL},
    {"printers", API_PARAM_NAME, "runs", "GET", api_printer_runs_list, "api.printers.runs.list",
     API_SCOPED | API_ADMIN},
    {"printers", API_PARAM_NAME, "parts/replaced", "POST", api_printer_part_replaced,
     "api.printers.parts.replaced",
     API_SCOPED | API_ADMIN | API_PARAM2 | API_PARAM2_TAIL | API_JSON},
    {"supply-orders", API_PARAM_NONE, NULL, "GET", api_supply_orders_list, "api.supply_orders.list",
     API_SCOPED | API_ADMIN},
    {"part-alerts", API_PARAM_NONE, NULL, "GET", api_part_alerts_list, "api.part_alerts.list",
     API_SCOPED | API_ADMIN},
    {"device", API_PARAM_NONE, "register", "POST", api_device_register, "api.device.register",
     API_PUBLIC | API_JSON},
    {"device/sessions", API_PARAM_NONE, NULL, "POST", api_device_session_create,
     "api.device.sessions.create", API_DEVICE | API_JSON},
    {"device/sessions", API_PARAM_NONE, "current", "DELETE", api_device_session_delete,
     "api.device.sessions.delete", API_DEVICE},
    {"device/jobs", API_PARAM_NONE, NULL, "GET", api_device_jobs_list, "api.device.jobs.list",
     API_DEVICE},
    {"device/jobs", API_PARAM_ID, NULL, "GET", api_device_job_get, "api.device.jobs.get",
     API_DEVICE},
    {"device/jobs", API_PARAM_ID, "release", "POST", api_device_job_release,
     "api.device.jobs.release", API_DEVICE | API_JSON_OPTIONAL},
    {"device/jobs", API_PARAM_ID, "pin", "POST", api_device_job_pin, "api.device.jobs.pin",
     API_DEVICE | API_JSON},
    {"device/jobs", API_PARAM_ID, "quote", "POST", api_device_job_quote, "api.device.jobs.quote",
     API_DEVICE | API_JSON},
    {"device/jobs", API_PARAM_ID, "cancel", "POST", api_device_job_cancel, "api.device.jobs.cancel",
     API_DEVICE},
    {"device/remote-jobs", API_PARAM_NAME, "release", "POST", api_device_remote_job_release,
     "api.device.remote_jobs.release", API_DEVICE | API_JSON_OPTIONAL | API_PARAM_MID},
    {"device/jobs", API_PARAM_ID, "payment", "GET", api_device_job_payment_get,
     "api.device.jobs.payment.get", API_DEVICE},
    {"device/jobs", API_PARAM_ID, "payment", "DELETE", api_device_job_payment_cancel,
     "api.device.jobs.payment.cancel", API_DEVICE},
    {"device/purposes", API_PARAM_NONE, NULL, "GET", api_device_purposes, "api.device.purposes",
     API_DEVICE},
    {"device/inventory", API_PARAM_NONE, NULL, "POST", api_device_inventory_put,
     "api.device.inventory", API_DEVICE | API_JSON},
    {"device/provisioning", API_PARAM_NONE, NULL, "GET", api_device_provisioning_get,
     "api.device.provisioning", API_DEVICE},
    {"device/provisioning/steps", API_PARAM_ID, NULL, "POST", api_device_provisioning_report,
     "api.device.provisioning.report", API_DEVICE | API_JSON},
    {"device/packages", API_PARAM_ID, NULL, "GET", api_device_package_get,
     "api.device.packages.get", API_DEVICE},
    {"contracts", API_PARAM_ID, "runs", "GET", api_contract_runs_list, "api.contracts.runs", 0},
    {"runs", API_PARAM_ID, NULL, "GET", api_run_get, "api.runs.get", 0},
    {"device/account-links", API_PARAM_NONE, NULL, "GET", api_device_account_links_list,
     "api.device.account_links.list", API_DEVICE},
    {"device/account-links", API_PARAM_NONE, NULL, "POST", api_device_account_links_create,
     "api.device.account_links.create", API_DEVICE | API_JSON_OPTIONAL},
    {"device/account-links", API_PARAM_ID, "relink", "POST", api_device_account_link_relink,
     "api.device.account_links.relink", API_DEVICE | API_JSON_OPTIONAL},
    {"device/services", API_PARAM_NONE, NULL, "GET", api_device_services, "api.device.services",
     API_DEVICE},
    {"device/backups", API_PARAM_NONE, NULL, "POST", api_device_backup_create,
     "api.device.backups.create", API_DEVICE | API_JSON},
    {"device/supplies", API_PARAM_NONE, NULL, "POST", api_device_supplies, "api.device.supplies",
     API_DEVICE | API_JSON},
    {"device/counters", API_PARAM_NONE, NULL, "POST", api_device_counters, "api.device.counters",
     API_DEVICE | API_JSON},
};

#define API_NROUTES (sizeof api_routes / sizeof api_routes[0])

typedef struct {
  int n;
  char seg[API_SEGMENTS_MAX][API_SEGMENT_MAX];
} api_path_t;

/* Split the part of path after "/api/v1" into segments.  One trailing
 * slash is allowed; empty, overlong or too many segments fail. */
static bool api_path_split(const char *path, api_path_t *p) {
  p->n = 0;
  if (strncmp(path, API_PREFIX, strlen(API_PREFIX)) != 0) return false;
  const char *s = path + strlen(API_PREFIX);
  if (*s == '\0') return true;
  if (*s != '/') return false;
  s++;
  while (*s) {
    size_t len = strcspn(s, "/");
    if (len == 0 || len >= API_SEGMENT_MAX || p->n == API_SEGMENTS_MAX) return false;
    memcpy(p->seg[p->n], s, len);
    p->seg[p->n][len] = '\0';
    p->n++;
    s += len;
    if (*s == '/') s++;
  }
  return true;
}

/* How many leading segments of p spell rt->collection (1 or 2); 0 when
 * they do not. */
static int api_collection_match(const char *collection, const api_path_t *p) {
  int k = 0;
  const char *s = collection;
  while (*s) {
    size_t len = strcspn(s, "/");
    if (k >= p->n || strlen(p->seg[k]) != len || strncmp(p->seg[k], s, len) != 0) return 0;
    k++;
    s += len;
    if (*s == '/') s++;
  }
  return k;
}

static bool api_route_path_matches(const struct api_route *rt, const api_path_t *p) {
  int k = api_collection_match(rt->collection, p);
  if (k == 0) return false;
  if (rt->param == API_PARAM_NONE)
    return rt->action ? p->n == k + 1 && strcmp(rt->action, p->seg[k]) == 0 : p->n == k;
  if (!rt->action) return p->n == k + 1;
  if (rt->flags & API_PARAM_MID) return p->n == k + 3 && strcmp(rt->action, p->seg[k + 2]) == 0;
  if (rt->flags & API_PARAM2_TAIL) {
    const char *slash = strchr(rt->action, '/');
    size_t len = slash ? (size_t)(slash - rt->action) : 0;
    return slash && p->n == k + 4 && strlen(p->seg[k + 1]) == len &&
           strncmp(rt->action, p->seg[k + 1], len) == 0 && strcmp(slash + 1, p->seg[k + 3]) == 0;
  }
  int n = (rt->flags & API_PARAM2) ? k + 3 : k + 2;
  return p->n == n && strcmp(rt->action, p->seg[k + 1]) == 0;
}

/*
 * Find the route for r's method and path.  NULL when there is none; then
 * allow (may be NULL) receives the methods the path does take, "" when the
 * path itself is unknown.
 */
static const struct api_route *api_route_find(const http_request_t *r, api_path_t *p, char *allow,
                                              size_t allowlen) {
  if (allow) allow[0] = '\0';
  if (!api_path_split(r->path, p)) return NULL;
  size_t used = 0;
  for (size_t i = 0; i < API_NROUTES; i++) {
    const struct api_route *rt = &api_routes[i];
    if (!api_route_path_matches(rt, p)) continue;
    if (strcmp(rt->method, r->method) == 0) return rt;
    if (allow) {
      int n = snprintf(allow + used, allowlen - used, "%s%s", used ? ", " : "", rt->method);
      if (n > 0 && (size_t)n < allowlen - used) used += (size_t)n;
    }
  }
  return NULL;
}

/* ---- responses ---- */

static const char *api_reason(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 402:
      return "Payment Required";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 423:
      return "Locked";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    case 507:
      return "Insufficient Storage";
    default:
      return status >= 500 ? "Server Error" : "Request Error";
  }
}

void api_problem(http_request_t *r, int status, const char *fmt, ...) {
  char detail[512];
  detail[0] = '\0';
  if (fmt) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
  }
  http_respond_problem(r, status, api_reason(status), detail[0] ? detail : NULL);
}

void api_problem_purpose(api_ctx_t *c, purpose_result_t r, const char *msg) {
  int status = 403;
  const char *type = "urn:nimbus:problem:account-authorization-failed";
  switch (r) {
    case PURPOSE_REQUIRED:
      status = 422;
      type = "urn:nimbus:problem:purpose-required";
      break;
    case PURPOSE_ACCOUNT_CLOSED:
      status = 409;
      type = "urn:nimbus:problem:account-closed";
      break;
    case PURPOSE_LIMIT:
      status = 402;
      type = "urn:nimbus:problem:account-limit-reached";
      break;
    case PURPOSE_ERROR:
      api_problem(c->r, 500, "the purpose cannot be checked now");
      return;
    default:
      break;
  }
  http_respond_problem_typed(c->r, status, type, api_reason(status), msg && msg[0] ? msg : NULL);
}

void api_respond(api_ctx_t *c, int status, json_t *doc) {
  if (!doc) {
    api_problem(c->r, 500, "out of memory");
    return;
  }
  http_respond_json(c->r, status, doc);
}

void api_respond_no_content(api_ctx_t *c) {
  http_respond(c->r, 204, NULL, NULL, 0);
}

void api_respond_disk_full(api_ctx_t *c) {
  char after[16];
  snprintf(after, sizeof after, "%d", DISK_FULL_RETRY_AFTER);
  http_response_header(c->r, "Retry-After", after);
  api_problem(c->r, 507, "%s", DISK_FULL_MESSAGE);
}

void api_respond_store(api_ctx_t *c, store_status_t s, const char *what, const char *name) {
  switch (s) {
    case STORE_NOT_FOUND:
      if (name && api_name_valid(name))
        api_problem(c->r, 404, "no %s named '%s'", what, name);
      else
        api_problem(c->r, 404, "no such %s", what);
      break;
    case STORE_CONFLICT:
      api_problem(c->r, 409, "the %s changed or conflicts with another", what);
      break;
    case STORE_FULL:
      api_respond_disk_full(c);
      break;
    case STORE_OK:
    case STORE_ERROR:
    default:
      log_event(LOG_ERROR, c->r->id, "store call failed", "what", what, (char *)NULL);
      api_problem(c->r, 500, "storage error");
      break;
  }
}

/* 401 with a challenge; 429 with Retry-After when the sign-in throttle
 * refused to check the credentials (auth.h); 403 for a suspended tenant's
 * user.  The web console's requests get the Session challenge, which no
 * browser answers with a dialog. */
static void api_unauthorized(http_request_t *r) {
  if (r->auth.result == AUTH_SUSPENDED) {
    http_respond_problem_typed(r, 403, API_PROBLEM_SUSPENDED, "Forbidden", AUTH_SUSPENDED_MESSAGE);
    return;
  }
  if (r->auth.result == AUTH_THROTTLED) {
    char secs[16];
    snprintf(secs, sizeof secs, "%d", r->auth.retry_after);
    http_response_header(r, "Retry-After", secs);
    api_problem(r, 429,
                "too many failed sign-ins for this account or from this address; retry "
                "in %d seconds",
                r->auth.retry_after);
    return;
  }
  if (api_session_challenge(r)) {
    http_response_header(r, "WWW-Authenticate", API_SESSION_REALM);
    if (!r->authorization[0]) {
      api_problem(r, 401, "not signed in, or the session ended; sign in again");
      return;
    }
  } else {
    http_response_header(r, "WWW-Authenticate", API_REALM);
  }
  if (r->auth.result == AUTH_NONE)
    api_problem(r, 401, "authentication required: HTTP Basic as name@tenant, or a bearer token");
  else
    api_problem(r, 401, "invalid credentials");
}

void api_audit(api_ctx_t *c, nimbus_id_t tenant_id, const char *action, const char *fmt, ...) {
  char detail[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  if (store_audit_append(c->srv->store, tenant_id ? tenant_id : c->tenant.id, c->actor, action,
                         detail) != STORE_OK)
    log_event(LOG_ERROR, c->r->id, "audit append failed", "action", action, (char *)NULL);
}

const store_audit_t *api_audit_of(api_ctx_t *c, api_audit_t *out, const char *action,
                                  const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(out->detail, sizeof out->detail, fmt, ap);
  va_end(ap);
  out->rec = (store_audit_t){
      .tenant_id = c->tenant.id, .actor = c->actor, .action = action, .detail = out->detail};
  return &out->rec;
}

/* ---- whoami ---- */

void api_whoami(api_ctx_t *c) {
  const nimbus_auth_t *a = &c->r->auth;
  api_respond(c, 200,
              json_pack("{s:s, s:s, s:s}", "user", a->user.name, "tenant", a->tenant.name, "role",
                        api_role_name(a->user.role)));
}

/* ---- the handler ---- */

/* Is ct a JSON media type ("application/json" or "application/...+json",
 * parameters allowed)? */
static bool api_content_type_is_json(const char *ct) {
  size_t len = strcspn(ct, ";");
  while (len > 0 && (ct[len - 1] == ' ' || ct[len - 1] == '\t')) len--;
  if (len == 16 && strncasecmp(ct, "application/json", 16) == 0) return true;
  return len > 17 && strncasecmp(ct, "application/", 12) == 0 &&
         strncasecmp(ct + len - 5, "+json", 5) == 0;
}

/* Collect a JSON body chunk, bounded by max-json-body. */
static bool api_body_append(http_request_t *r, api_state_t *s, const char *data, size_t len) {
  if (len == 0) return true;
  /* A JSON content type makes a cross-site form post impossible without
   * a CORS preflight, so cached Basic credentials cannot be replayed. */
  if (s->body_len == 0 && !api_content_type_is_json(r->content_type)) {
    s->body_bad_type = true;
    return false;
  }
  size_t max = (s->route->flags & API_RAW) ? (size_t)CONTRACT_WEBHOOK_BODY_MAX
                                           : (size_t)r->srv->cfg.max_json_body;
  if (len > max - s->body_len || (r->content_length > 0 && (uint64_t)r->content_length > max)) {
    s->body_too_large = true;
    return false;
  }
  if (s->body_len + len > s->body_cap) {
    size_t cap = s->body_cap ? s->body_cap : 1024;
    while (cap < s->body_len + len) cap *= 2;
    if (cap > max) cap = max;
    char *grown = realloc(s->body, cap);
    if (!grown) {
      s->failed = true;
      return false;
    }
    s->body = grown;
    s->body_cap = cap;
  }
  memcpy(s->body + s->body_len, data, len);
  s->body_len += len;
  return true;
}

static bool api_body(http_request_t *r, const char *data, size_t len) {
  api_state_t *s = r->handler_state;
  if (!s) {
    if (!(s = calloc(1, sizeof *s))) return false;
    r->handler_state = s;
    api_path_t path;
    s->route = api_route_find(r, &path, NULL, 0);
    if (s->route && (s->route->flags & API_UPLOAD) && !(s->upload = api_upload_new(r)))
      s->failed = true;
    if (s->route && (s->route->flags & API_PKG) && !(s->pkg = api_pkg_upload_new(r)))
      s->failed = true;
  }
  if (s->failed || !s->route) return false; /* finish() answers; skip the rest */
  if (s->upload) return api_upload_body(r, s->upload, data, len);
  if (s->pkg) return api_pkg_upload_body(r, s->pkg, data, len);
  if (!(s->route->flags & (API_JSON | API_JSON_OPTIONAL | API_RAW))) return false;
  return api_body_append(r, s, data, len);
}

/* Operators may act on another tenant with ?tenant=NAME. */
static bool api_resolve_tenant(api_ctx_t *c) {
  const char *name = http_query(c->r, "tenant");
  c->tenant = c->r->auth.tenant;
  if (!name || !*name || strcmp(name, c->tenant.name) == 0) return true;
  if (!c->is_operator) {
    api_problem(c->r, 403, "only operators may act on another tenant");
    return false;
  }
  store_status_t s = api_name_valid(name)
                         ? store_tenant_get_by_name(c->srv->store, name, &c->tenant)
                         : STORE_NOT_FOUND;
  if (s != STORE_OK) {
    api_respond_store(c, s, "tenant", name);
    return false;
  }
  return true;
}

/* Parse a positive decimal id without sign, spaces or leading zeros. */
static bool api_parse_id(const char *s, nimbus_id_t *out) {
  if (!*s || *s == '0' || strlen(s) > 18 || strspn(s, "0123456789") != strlen(s)) return false;
  *out = (nimbus_id_t)strtoll(s, NULL, 10);
  return true;
}

/* Parse the JSON body the route takes into c->body. */
static bool api_parse_body(api_ctx_t *c, const struct api_route *rt) {
  api_state_t *s = c->state;
  if (rt->flags & API_RAW) return true; /* the handler checks and parses it */
  if (s && s->body_too_large) {
    api_problem(c->r, 413, "the request body is larger than %lld bytes",
                (long long)c->srv->cfg.max_json_body);
    return false;
  }
  if (s && s->body_bad_type) {
    api_problem(c->r, 415, "the request body must be application/json");
    return false;
  }
  if (!(rt->flags & (API_JSON | API_JSON_OPTIONAL))) return true;
  if (!s || s->body_len == 0) {
    if (!(rt->flags & API_JSON)) return true;
    api_problem(c->r, 400, "a JSON object body is required");
    return false;
  }
  json_error_t err;
  c->body = json_loadb(s->body, s->body_len, JSON_REJECT_DUPLICATES, &err);
  if (!c->body) {
    api_problem(c->r, 400, "malformed JSON at line %d, column %d: %s", err.line, err.column,
                err.text);
    return false;
  }
  if (!json_is_object(c->body)) {
    api_problem(c->r, 400, "the request body must be a JSON object");
    return false;
  }
  return true;
}

/* The {name} or {id} segment of the path into c->param / c->id; false
 * has responded 404. */
static bool api_route_param(api_ctx_t *c, const struct api_route *rt, const api_path_t *path) {
  if (rt->param == API_PARAM_NONE) return true;
  int k = api_collection_match(rt->collection, path);
  c->param = path->seg[k];
  if (rt->flags & API_PARAM2) c->param2 = path->seg[k + 2];
  if (rt->flags & API_PARAM_MID) c->param2 = path->seg[k + 1];
  bool ok = rt->param == API_PARAM_TEXT ? true
            : rt->param == API_PARAM_ID ? api_parse_id(c->param, &c->id)
                                        : api_name_valid(c->param);
  if (!ok) {
    const char *what = strrchr(rt->collection, '/');
    what = what ? what + 1 : rt->collection;
    api_problem(c->r, 404, "no such %.*s", (int)strlen(what) - 1, what);
  }
  return ok;
}

/*
 * API_DEVICE routes: the printer's credential (device_auth) into
 * c->device, its tenant into c->tenant.  A deleted registration gets the
 * one deregistration answer (410, PROTOCOL.md §7.2); no or a wrong
 * credential 401.  False has responded.
 */
static bool api_device_authenticate(api_ctx_t *c) {
  switch (device_auth(c->srv, c->r->authorization, &c->device, &c->tenant)) {
    case DEVICE_AUTH_OK:
      break;
    case DEVICE_AUTH_DELETED:
      http_respond_problem(c->r, 410, DEVICE_DELETED_MESSAGE,
                           "this printer's registration was deleted; claim a new one");
      return false;
    case DEVICE_AUTH_SUSPENDED: /* the printer is in touch: online, with nothing to do */
      if (c->device.transport[0]) device_seen(c->srv, &c->device, c->device.transport);
      http_respond_problem_typed(c->r, 403, API_PROBLEM_SUSPENDED, "Forbidden",
                                 AUTH_SUSPENDED_MESSAGE);
      return false;
    case DEVICE_AUTH_NONE:
      http_response_header(c->r, "WWW-Authenticate", API_REALM);
      api_problem(c->r, 401, "authentication required: the printer's credential (Bearer nmd_...)");
      return false;
    case DEVICE_AUTH_BAD:
      http_response_header(c->r, "WWW-Authenticate", API_REALM);
      api_problem(c->r, 401, "invalid device credential");
      return false;
    case DEVICE_AUTH_ERROR:
    default:
      api_problem(c->r, 500, "storage error");
      return false;
  }
  snprintf(c->actor, sizeof c->actor, "printer:%.55s@%s", c->device.name, c->tenant.name);
  if (c->device.transport[0]) device_seen(c->srv, &c->device, c->device.transport);
  return true;
}

static void api_dispatch(http_request_t *r) {
  nimbus_server_t *srv = r->srv;
  api_ctx_t c = {.r = r, .srv = srv, .state = r->handler_state};
  api_path_t path;
  char allow[64];
  const struct api_route *rt = api_route_find(r, &path, allow, sizeof allow);

  if (!rt) {
    r->op_name = allow[0] ? "api.method_not_allowed" : "api.not_found";
    if (allow[0]) {
      http_response_header(r, "Allow", allow);
      api_problem(r, 405, "%s is not allowed here; allowed: %s", r->method, allow);
    } else {
      api_problem(r, 404, "no such API resource");
    }
    return;
  }
  r->op_name = rt->op;
  if (c.state && c.state->failed) {
    api_problem(r, 500, "out of memory");
    return;
  }

  if (rt->flags & API_PUBLIC) {
    snprintf(c.actor, sizeof c.actor, "-");
    if (api_route_param(&c, rt, &path) && api_parse_body(&c, rt)) rt->fn(&c);
    goto done;
  }
  if (rt->flags & API_DEVICE) {
    if (!api_device_authenticate(&c)) goto done;
    if (!api_route_param(&c, rt, &path) || !api_parse_body(&c, rt)) goto done;
    rt->fn(&c);
    goto done;
  }

  /* An upload authenticated when its first bytes came (api-jobs-upload.c). */
  if (!(c.state && c.state->upload && api_upload_authenticated(c.state->upload)) &&
      !(c.state && c.state->pkg && api_pkg_upload_authenticated(c.state->pkg)))
    api_authenticate(r);
  if (r->auth.result != AUTH_OK) {
    api_unauthorized(r);
    return;
  }
  if (api_csrf_refused(r)) {
    api_respond_csrf(r);
    return;
  }
  /* A scoped token (an OAuth-issued "federation" one) may only say who
   * it is (docs/FEDERATION.md §2.1). */
  if (r->auth.scope[0] && !(rt->fn == api_whoami && strcmp(r->method, "GET") == 0)) {
    http_respond_problem_typed(r, 403, API_PROBLEM_TOKEN_SCOPE, "Forbidden",
                               "this token may only be used for GET /api/v1/whoami");
    return;
  }
  snprintf(c.actor, sizeof c.actor, "%s@%s", r->auth.user.name, r->auth.tenant.name);
  c.is_operator = r->auth.user.role == NIMBUS_ROLE_OPERATOR &&
                  strcmp(r->auth.tenant.name, API_SYSTEM_TENANT) == 0;

  if ((rt->flags & API_OPERATOR) && !c.is_operator) {
    api_problem(r, 403, "only operators may do this");
    goto done;
  }
  if (rt->flags & API_SCOPED) {
    if (!api_resolve_tenant(&c)) goto done;
  } else {
    c.tenant = r->auth.tenant;
  }
  c.is_admin = c.is_operator ||
               (r->auth.user.role == NIMBUS_ROLE_TENANT_ADMIN && r->auth.tenant.id == c.tenant.id);
  if ((rt->flags & API_ADMIN) && !c.is_admin) {
    api_problem(r, 403, "this needs the tenant-admin role");
    goto done;
  }

  if (!api_route_param(&c, rt, &path) || !api_parse_body(&c, rt)) goto done;

  rt->fn(&c);

done:
  json_decref(c.body);
}

static void api_finish(http_request_t *r) {
  api_dispatch(r);
  /* Every path above responds; this only guards the handler contract
   * (http.c starts a request with status 0). */
  if (r->status == 0) api_problem(r, 500, "no response was produced");
}

static void api_cleanup(http_request_t *r) {
  api_state_t *s = r->handler_state;
  if (!s) return;
  api_upload_free(s->upload);
  api_pkg_upload_free(s->pkg);
  if (s->body) {
    /* The body may have held a password, PIN or token label. */
    explicit_bzero(s->body, s->body_cap);
    free(s->body);
  }
  free(s);
  r->handler_state = NULL;
}

const http_handler_t api_handler = {
    .name = "api",
    .body = api_body,
    .finish = api_finish,
    .cleanup = api_cleanup,
};
