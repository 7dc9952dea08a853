/*
 * model.h: the plain records nimbusd keeps (tenants, users, tokens, queues,
 * jobs, documents).  They are value types with fixed-size fields so they can
 * be copied across threads without sharing interior pointers (STYLE #8).
 * No storage or protocol types appear here.
 */
#ifndef NIMBUS_MODEL_H
#define NIMBUS_MODEL_H

#include <stdbool.h>
#include <stdint.h>

typedef int64_t nimbus_id_t;

#define NIMBUS_NAME_MAX 64      /* tenant, user, queue names incl. NUL */
#define NIMBUS_TEXT_MAX 256     /* job-name, descriptions incl. NUL */
#define NIMBUS_HASH_STR_MAX 128 /* crypto_pwhash_STRBYTES */
#define NIMBUS_ATTRS_MAX 2048   /* JSON of job template attributes */
#define NIMBUS_BLOB_KEY_MAX 48  /* 32 hex chars + NUL, room to spare */

typedef enum {
  NIMBUS_ROLE_USER = 0,
  NIMBUS_ROLE_TENANT_ADMIN = 1,
  NIMBUS_ROLE_OPERATOR = 2
} nimbus_role_t;

typedef struct {
  nimbus_id_t id;
  char name[NIMBUS_NAME_MAX];
  char display_name[NIMBUS_TEXT_MAX];
  int64_t max_document_size;   /* bytes; 0 = server default */
  int max_held_jobs_per_user;  /* 0 = server default */
  int retention_hours;         /* unreleased jobs expire after this; 0 = server default (24) */
  char panel_login[16];        /* how users sign in at a printer: "password" or "pin" */
  char unknown_user_names[16]; /* a job for a name that is no user: "refuse" or "hold" */
  bool suspended;              /* its users and printers are refused (auth.h, device.h) */
  int64_t created_at;          /* unix seconds */
} nimbus_tenant_t;

typedef struct {
  nimbus_id_t id;
  nimbus_id_t tenant_id;
  char name[NIMBUS_NAME_MAX];
  nimbus_role_t role;
  char password_hash[NIMBUS_HASH_STR_MAX];  /* argon2id string */
  char panel_pin_hash[NIMBUS_HASH_STR_MAX]; /* argon2id of the panel PIN; "" = none */
  int64_t created_at;
} nimbus_user_t;

/* Another name of a user (a PC's login name), unique per tenant in its
 * normal form (user-names.h). */
typedef struct {
  nimbus_id_t id;
  nimbus_id_t tenant_id;
  nimbus_id_t user_id;
  char user_name[NIMBUS_NAME_MAX]; /* filled by reads */
  char alias[NIMBUS_NAME_MAX];     /* as the admin wrote it */
  int64_t created_at;
} nimbus_alias_t;

typedef struct {
  nimbus_id_t id;
  nimbus_id_t tenant_id;
  nimbus_id_t user_id;
  char user_name[NIMBUS_NAME_MAX]; /* filled by reads */
  nimbus_role_t user_role;         /* filled by reads */
  char label[NIMBUS_NAME_MAX];
  unsigned char hash[32]; /* SHA-256 of the secret; the secret is never stored */
  int64_t created_at;
  int64_t expires_at; /* 0 = never */
  bool revoked;
  /* "" = full access; NIMBUS_TOKEN_SCOPE_FEDERATION: GET /whoami only
   * (docs/FEDERATION.md §2.1) */
  char scope[16];
} nimbus_token_t;

#define NIMBUS_TOKEN_SCOPE_FEDERATION "federation"

/* An OAuth 2.0 device authorization grant (RFC 8628; oauth/oauth.h).
 * Codes are kept as SHA-256 only. */
typedef struct {
  nimbus_id_t id;
  unsigned char user_code_hash[32];
  unsigned char device_code_hash[32];
  char client_id[65];
  char scope[16];
  char status[12];       /* "pending", "approved", "denied", "issued" */
  nimbus_id_t tenant_id; /* who decided: 0 while pending */
  nimbus_id_t user_id;
  int64_t created_at;
  int64_t expires_at;
  int interval;         /* seconds between polls (grows by slow_down) */
  int64_t last_poll_at; /* 0: never polled */
  nimbus_id_t token_id; /* the issued token, 0 before */
} nimbus_device_grant_t;

#define NIMBUS_PAYMENT_MODE_MAX 16 /* "none" or "at-printer" */

/* How a queue or a printer charges: its price table (0: none) and its
 * payment mode.  A printer's own setting wins over its queue's
 * (billing/price.h price_policy_pick). */
typedef struct {
  nimbus_id_t price_table_id;            /* 0: none set here */
  char payment[NIMBUS_PAYMENT_MODE_MAX]; /* "none", "at-printer"; "" = not set here */
} nimbus_pricing_t;

typedef struct {
  nimbus_id_t id;
  nimbus_id_t tenant_id;
  char name[NIMBUS_NAME_MAX];
  char description[NIMBUS_TEXT_MAX];
  bool release_immediately; /* false: pull printing, jobs are held */
  bool allow_anonymous;     /* false: printing needs credentials */
  /* which held jobs a printer's panel lists to a user: those that came
   * through that printer ("this-printer") or all of the user's jobs in
   * the queue ("follow-me") */
  char release_scope[16];
  nimbus_pricing_t pricing; /* price table and payment mode (issue 12) */
  int64_t created_at;
} nimbus_queue_t;

/*
 * Job lifecycle states; the transitions between them are owned by job.c.
 * Values are stored in the database: never renumber.
 */
typedef enum {
  NIMBUS_JOB_RECEIVED = 1, /* created, documents still arriving */
  NIMBUS_JOB_HELD = 2,
  NIMBUS_JOB_AWAITING_PAYMENT = 3,
  NIMBUS_JOB_FETCHABLE = 4,
  NIMBUS_JOB_PROCESSING = 5,
  NIMBUS_JOB_COMPLETED = 6,
  NIMBUS_JOB_CANCELED = 7,
  NIMBUS_JOB_ABORTED = 8,
  NIMBUS_JOB_EXPIRED = 9
} nimbus_job_state_t;

typedef struct {
  nimbus_id_t id;     /* internal key, global: never shown to clients */
  nimbus_id_t number; /* per-tenant job number: job-id, job-uri and the REST id */
  nimbus_id_t tenant_id;
  nimbus_id_t queue_id;
  nimbus_id_t owner_id;             /* 0 for anonymous jobs */
  char queue_name[NIMBUS_NAME_MAX]; /* filled by reads */
  char owner_name[NIMBUS_NAME_MAX]; /* job-originating-user-name */
  char name[NIMBUS_TEXT_MAX];       /* job-name */
  char origin_host[NIMBUS_TEXT_MAX];
  nimbus_job_state_t state;
  int64_t created_at;
  int64_t state_changed_at;
  int64_t completed_at; /* 0 while not terminal */
  int copies;
  int pages;       /* job-pages: sum of document pages */
  int impressions; /* job-impressions: pages x copies */
  int impressions_completed;
  int num_documents;
  char account_id[NIMBUS_TEXT_MAX];         /* job-account-id */
  char accounting_user_id[NIMBUS_TEXT_MAX]; /* job-accounting-user-id */
  char hold_until[NIMBUS_NAME_MAX];         /* job-hold-until keyword */
  char pin_hash[NIMBUS_HASH_STR_MAX];       /* "" when no job-password */
  char attrs_json[NIMBUS_ATTRS_MAX];        /* other template attributes */
  nimbus_id_t device_id;                    /* output device processing it (0: none) */
  nimbus_id_t target_device_id; /* only this device may fetch it (0: any of the queue) */
  char device_state_reasons[NIMBUS_TEXT_MAX]; /* last job-state-reasons the device sent */
  nimbus_id_t origin_device_id;               /* printer it was submitted through (0: none) */
  char origin_device_name[NIMBUS_NAME_MAX];   /* filled by reads ("" when none or deleted) */
  char reference[24];                         /* per-job reference for payments */
  int pin_failures;                           /* wrong PINs in the current window */
  int64_t pin_window_start;                   /* when that window began */
  int64_t pin_locked_until;                   /* no PIN is tried before this (0: not locked) */
} nimbus_job_t;

typedef struct {
  nimbus_id_t job_id;
  int number;                   /* 1-based */
  char format[NIMBUS_NAME_MAX]; /* MIME type after detection */
  char name[NIMBUS_TEXT_MAX];   /* document-name */
  int64_t size;
  int pages;
  char blob_key[NIMBUS_BLOB_KEY_MAX]; /* "" once purged */
  int64_t created_at;
} nimbus_document_t;

/*
 * An output device (a printer or its INFRA proxy) registered to serve
 * queues of one tenant.  Created by an admin with a one-time claim code;
 * claimed by the printer, which then holds a device credential.  Only
 * hashes of the claim code and credential are kept.
 */
#define NIMBUS_UUID_MAX 48         /* "urn:uuid:" + 36 chars + NUL */
#define NIMBUS_DEVICE_QUEUES_MAX 8 /* queues one device serves */

typedef enum {
  NIMBUS_DEVICE_UNCLAIMED = 1, /* created, waiting for the printer's claim */
  NIMBUS_DEVICE_REGISTERED = 2 /* claimed: has a uuid and a credential */
} nimbus_device_status_t;

typedef struct {
  nimbus_id_t id;
  nimbus_id_t tenant_id;
  char name[NIMBUS_NAME_MAX];
  nimbus_device_status_t status;
  char uuid[NIMBUS_UUID_MAX]; /* output-device-uuid; "" until claimed */
  int nqueues;
  nimbus_id_t queue_ids[NIMBUS_DEVICE_QUEUES_MAX];
  char queue_names[NIMBUS_DEVICE_QUEUES_MAX][NIMBUS_NAME_MAX]; /* filled by reads */
  unsigned char claim_hash[32];      /* SHA-256 of the claim code (unclaimed only) */
  int64_t claim_expires_at;          /* 0 once claimed */
  unsigned char credential_hash[32]; /* SHA-256 of the credential (registered) */
  int64_t created_at;
  int64_t registered_at; /* 0 while unclaimed */
  int64_t last_seen_at;  /* last device-channel request (flushed lazily) */
  char transport[16];    /* "polling", "persistent" or "" (never seen) */
  int printer_state;     /* IPP printer-state 3..5 reported by the device; 0 unknown */
  char state_reasons[NIMBUS_TEXT_MAX]; /* printer-state-reasons, comma-separated */
  char make_model[NIMBUS_TEXT_MAX];    /* printer-make-and-model */
  char location[NIMBUS_TEXT_MAX];      /* where it stands (the admin's text; "" unset) */
  int jobs_in_progress;                /* filled by store_device_get/list */
  nimbus_pricing_t pricing;            /* its own price table and payment mode (issue 12) */
} nimbus_device_t;

/* A user signed in at a printer's panel (issue 4): a short-lived session
 * whose token only the panel holds; the store keeps its SHA-256. */
typedef struct {
  nimbus_id_t id;
  nimbus_id_t tenant_id;
  nimbus_id_t device_id; /* the printer it was opened at */
  nimbus_id_t user_id;
  char user_name[NIMBUS_NAME_MAX];
  unsigned char hash[32];
  int64_t created_at;
  int64_t expires_at;
} nimbus_panel_session_t;

/* A person signed in to the web console (docs/CONSOLE.md §1.3): the
 * cookie holds the secret, the store only its SHA-256.  It ends after
 * idle seconds without use (last_seen_at) or at expires_at, whichever
 * comes first. */
typedef struct {
  nimbus_id_t id;
  nimbus_id_t tenant_id;
  nimbus_id_t user_id;
  unsigned char hash[32];
  int64_t created_at;
  int64_t last_seen_at;
  int64_t expires_at; /* absolute: sign-in + --session-max */
} nimbus_web_session_t;

/* An IPP event subscription of an output device (notify/notify.c keeps
 * its events; the store keeps the subscription, for every node). */
typedef struct {
  int id; /* notify-subscription-id: unique across the nodes of one database */
  nimbus_id_t tenant_id, queue_id, device_id;
  nimbus_id_t job_id; /* a job subscription: the job's number (job-id); 0: printer */
  unsigned events;    /* notify.h's mask */
  int lease_seconds;
  int64_t created_at, expires_at; /* unix seconds */
} nimbus_subscription_t;

/* What is kept of a deleted registration: enough to give its credential
 * the documented deregistration answer instead of a plain 401. */
typedef struct {
  nimbus_id_t device_id;
  nimbus_id_t tenant_id;
  char name[NIMBUS_NAME_MAX];
  char uuid[NIMBUS_UUID_MAX];
  int64_t deleted_at;
} nimbus_device_tombstone_t;

/* ---- money (issue 12; docs/PAYMENTS.md) ----
 * Every amount is an int64_t count of the currency's minor unit with an
 * ISO 4217 code beside it (billing/money.h); no floating point anywhere. */
#define NIMBUS_CURRENCY_MAX 4      /* "EUR" + NUL */
#define NIMBUS_PRICE_SPEC_MAX 4096 /* a price table's JSON (billing/price.h) */
#define NIMBUS_SEALED_MAX 2048     /* sealed provider credentials */
#define NIMBUS_URL_MAX 512

/* A tenant's money settings: its currency (set by the operator or the
 * tenant admin; "" = nothing of the tenant is priced) and the service fee
 * the operator charges on each priced job. */
typedef struct {
  nimbus_id_t tenant_id;
  char currency[NIMBUS_CURRENCY_MAX];
  int64_t service_fee_fixed; /* minor units per priced job */
  int service_fee_bps;       /* basis points (1/10000) of the print fee */
  bool purpose_required;     /* every job must name a purpose (issue 13) */
  int64_t updated_at;
} nimbus_tenant_billing_t;

/* The payment provider of a tenant: its adapter name and its credentials,
 * sealed (crypto_seal with the server key, bound to the tenant): the
 * store never sees them in clear. */
typedef struct {
  nimbus_id_t tenant_id;
  char provider[16]; /* "linepay", "stripe" */
  unsigned char sealed[NIMBUS_SEALED_MAX];
  int sealed_len;
  int64_t updated_at;
} nimbus_payment_provider_t;

/* A price table (billing/price.h parses and prices its spec). */
typedef struct {
  nimbus_id_t id;
  nimbus_id_t tenant_id;
  char name[NIMBUS_NAME_MAX];
  char spec[NIMBUS_PRICE_SPEC_MAX]; /* JSON, as billing/price.h writes it */
  int64_t created_at;
  int64_t updated_at;
} nimbus_price_table_t;

/* The fee of a job as it will print, computed when it is submitted and
 * again when its settings change before release. */
typedef struct {
  nimbus_id_t job_id; /* internal id */
  nimbus_id_t tenant_id;
  nimbus_id_t price_table_id; /* the table that priced it (0: none: free) */
  char currency[NIMBUS_CURRENCY_MAX];
  int64_t print_fee;
  int64_t service_fee;
  int64_t total;
  char detail[1024]; /* JSON breakdown (billing/price.h price_quote_json) */
  int64_t computed_at;
} nimbus_job_quote_t;

/* A payment of one job, one row per attempt.  States and transitions are
 * owned by payments/payment-state.c; the store only compares and sets. */
typedef enum {
  NIMBUS_PAY_RESERVING = 1,      /* row written, provider not answered yet */
  NIMBUS_PAY_PENDING = 2,        /* reserved: waiting for the user to pay */
  NIMBUS_PAY_PAID = 3,           /* verified with the provider; job released */
  NIMBUS_PAY_CANCELED = 4,       /* canceled (panel, timeout, job canceled) */
  NIMBUS_PAY_FAILED = 5,         /* the provider refused or the user declined */
  NIMBUS_PAY_SETTLED = 6,        /* the job printed: charge posted */
  NIMBUS_PAY_REFUND_PENDING = 7, /* printing failed: refund to be made */
  NIMBUS_PAY_REFUNDED = 8        /* refund made and posted */
} nimbus_payment_state_t;

typedef struct {
  nimbus_id_t id;
  nimbus_id_t tenant_id;
  nimbus_id_t job_id;    /* internal job id */
  nimbus_id_t device_id; /* the printer it releases the job to (0: per the queue) */
  int attempt;           /* 1, 2, ... per job */
  char provider[16];
  nimbus_payment_state_t state;
  char currency[NIMBUS_CURRENCY_MAX];
  int64_t amount; /* total charged */
  int64_t print_fee;
  int64_t service_fee;
  char order_id[64];    /* our id at the provider, also its idempotency key; unique */
  char provider_tx[64]; /* the provider's transaction / session id (a string) */
  char payment_url[NIMBUS_URL_MAX];
  char refund_tx[64];
  char reason[64]; /* why it ended: "timeout", "canceled-at-panel", "declined", ... */
  int64_t created_at;
  int64_t updated_at;
  int64_t expires_at; /* the user must have paid by then (our timeout) */
  int64_t paid_at;
} nimbus_payment_t;

/* One line of the ledger: amount > 0 debits account, < 0 credits it.
 * The lines of one posting sum to zero (billing/ledger.h). */
typedef struct {
  nimbus_id_t id;
  nimbus_id_t posting_id;
  nimbus_id_t tenant_id; /* whose books (0: the operator's) */
  nimbus_id_t job_id;    /* internal job id, 0 when none */
  nimbus_id_t payment_id;
  char kind[16];    /* "payment", "charge", "refund", "correction" */
  char account[64]; /* e.g. "tenant:3:revenue", "operator:revenue" */
  char currency[NIMBUS_CURRENCY_MAX];
  int64_t amount;
  char memo[128];
  int64_t created_at;
} nimbus_ledger_entry_t;

/* ---- billing by purpose (issue 13; docs/BILLING.md) ---- */
#define NIMBUS_ACCOUNT_CODE_MAX 33      /* a billing account's code: 1..32 of [A-Za-z0-9._-] */
#define NIMBUS_PURPOSE_DEFAULTS_MAX 512 /* JSON of a purpose's default print settings */

typedef enum {
  NIMBUS_ACCOUNT_INVOICED = 1, /* post-paid: charges accrue, optional credit limit */
  NIMBUS_ACCOUNT_PREPAID = 2   /* a balance topped up by the admin; never below zero */
} nimbus_account_mode_t;

/* A shared billing account of a tenant (cost centre, client, project).
 * Amounts in the tenant's currency (nimbus_tenant_billing_t).  The store
 * keeps the invariant held >= 0, and: prepaid: balance - held >= 0;
 * invoiced with a limit: charged + held <= credit_limit. */
typedef struct {
  nimbus_id_t id;
  nimbus_id_t tenant_id;
  char code[NIMBUS_ACCOUNT_CODE_MAX];
  char name[NIMBUS_TEXT_MAX];
  nimbus_account_mode_t mode;
  bool everyone;          /* every user of the tenant may charge it (else: its grants) */
  bool restrict_printers; /* only printers granted to it may print its jobs */
  int64_t credit_limit;   /* invoiced: 0 = no limit */
  int64_t balance;        /* prepaid: top-ups minus charges */
  int64_t charged;        /* invoiced: charges since created (what is to invoice) */
  int64_t held;           /* sum of the holds of released, not yet finished jobs */
  int64_t created_at;
  int64_t closed_at; /* 0: open; else refuses new charges, keeps its history */
} nimbus_billing_account_t;

/* Who may charge an account, or where its jobs may print. */
typedef enum { NIMBUS_GRANT_USER = 1, NIMBUS_GRANT_PRINTER = 2 } nimbus_grant_kind_t;
typedef struct {
  nimbus_id_t account_id;
  nimbus_grant_kind_t kind;
  nimbus_id_t ref_id;             /* the user or the printer (device) */
  char ref_name[NIMBUS_NAME_MAX]; /* filled by reads */
} nimbus_account_grant_t;

/* One user's reason for printing: where it is billed and its defaults. */
typedef struct {
  nimbus_id_t id;
  nimbus_id_t tenant_id;
  nimbus_id_t user_id;
  char name[NIMBUS_NAME_MAX]; /* unique per user; what job-account-id names */
  nimbus_id_t account_id;     /* the shared account it charges; 0 = private (own money) */
  char account_code[NIMBUS_ACCOUNT_CODE_MAX]; /* filled by reads ("" when private) */
  bool is_default;                            /* at most one per user (the store keeps it so) */
  char defaults[NIMBUS_PURPOSE_DEFAULTS_MAX]; /* JSON object (billing/purpose.h) */
  int64_t created_at;
  int64_t updated_at;
} nimbus_purpose_t;

/* A user's saved payment method with the tenant's provider (private
 * purposes): LINE Pay preapproved regKey, Stripe customer + payment
 * method.  Its reference is sealed like provider credentials. */
typedef enum {
  NIMBUS_METHOD_PENDING = 1, /* registration started: waiting for the user at the provider */
  NIMBUS_METHOD_ACTIVE = 2,  /* registered: jobs under private purposes are charged to it */
  NIMBUS_METHOD_FAILED = 3   /* registration refused or abandoned */
} nimbus_method_state_t;
typedef struct {
  nimbus_id_t id;
  nimbus_id_t tenant_id;
  nimbus_id_t user_id; /* one row per user: a new registration replaces the old */
  char provider[16];
  nimbus_method_state_t state;
  char setup_id[64]; /* our order id of the registration (unique; the provider's key) */
  char setup_tx[64]; /* the provider's transaction / session id of the registration */
  char setup_url[NIMBUS_URL_MAX];          /* where the user registers (pending only) */
  unsigned char sealed[NIMBUS_SEALED_MAX]; /* sealed method reference (active only) */
  int sealed_len;
  char display[64]; /* what the user sees: "LINE Pay", "visa ****4242" */
  int64_t created_at;
  int64_t updated_at;
} nimbus_payment_method_t;

/* What a job released under a purpose is charged: one row per job,
 * written at release (the hold) and moved through its states by
 * billing/charge.c (compare-and-set). */
typedef enum {
  NIMBUS_CHARGE_HELD = 1,          /* released: hold placed on the account (private: none) */
  NIMBUS_CHARGE_CHARGED = 2,       /* printed and charged; posting written */
  NIMBUS_CHARGE_RELEASED = 3,      /* canceled / failed / put back on hold: hold released */
  NIMBUS_CHARGE_CHARGE_FAILED = 4, /* private: the provider declined; retried with back-off */
  NIMBUS_CHARGE_CHARGING = 5       /* private: a charge at the provider is in flight */
} nimbus_charge_state_t;
typedef struct {
  nimbus_id_t job_id; /* internal id; the key */
  nimbus_id_t tenant_id;
  nimbus_id_t user_id;
  nimbus_id_t purpose_id; /* 0: an account code named directly */
  char purpose_name[NIMBUS_NAME_MAX];
  nimbus_id_t account_id;                     /* 0: private */
  char account_code[NIMBUS_ACCOUNT_CODE_MAX]; /* "" when private */
  nimbus_id_t device_id;                      /* the printer it was released to (0: any) */
  nimbus_charge_state_t state;
  char currency[NIMBUS_CURRENCY_MAX];
  int64_t hold;      /* estimated charge placed on the account at release */
  int64_t print_fee; /* charged (CHARGED) or to charge (private) */
  int64_t service_fee;
  int64_t total;
  int impressions;     /* what the printer reported */
  int attempts;        /* private: charges tried */
  int64_t next_try_at; /* private: next retry (CHARGE_FAILED; 0: no more tries) */
  char order_id[64];   /* private: our order id at the provider (idempotency key) */
  char provider_tx[64];
  char reason[64]; /* why it ended as it did ("declined", "job canceled", ...) */
  int64_t created_at;
  int64_t updated_at;
  int64_t charged_at;
} nimbus_job_charge_t;

/* Federation (issue 15, docs/FEDERATION.md §1, §3): a remote printer link
 * makes this deployment an output device of a remote Infrastructure
 * Printer; its fetchable jobs are kept as metadata only (remote_jobs). */
#define NIMBUS_URI_MAX 512
#define NIMBUS_REMOTE_SEALED_MAX 600 /* a sealed claim code or device credential */
typedef struct {
  nimbus_id_t id;
  nimbus_id_t tenant_id;
  char name[NIMBUS_NAME_MAX]; /* unique per tenant */
  char printer_uri[NIMBUS_URI_MAX];
  char system_uri[NIMBUS_URI_MAX];
  char service_url[NIMBUS_URI_MAX];
  nimbus_id_t queue_id;
  char queue_name[NIMBUS_NAME_MAX]; /* filled by reads */
  /* sealed holds a claim code still to register with (claim_pending) or
   * the device credential the remote issued; sealed with the secrets key,
   * bound to tenant and name (federation/remote-link.c) */
  bool claim_pending;
  unsigned char sealed[NIMBUS_REMOTE_SEALED_MAX];
  int sealed_len;
  char output_device_uuid[64];
  int subscription_id; /* 0: none yet */
  int last_sequence;   /* last notify-sequence-number seen */
  char status[24];     /* connecting, ok, unreachable, credential-refused, deregistered */
  char last_error[NIMBUS_TEXT_MAX];
  int64_t last_ok_at;
  int64_t next_try_at;
  int failures;
  int64_t created_at;
  int64_t revision; /* bumped by every admin change (the worker's writes check it) */
  int jobs;         /* filled by reads: stored remote jobs */
} nimbus_remote_link_t;

typedef struct {
  nimbus_id_t link_id;
  int remote_job_id;
  char name[NIMBUS_TEXT_MAX];
  char owner[NIMBUS_TEXT_MAX]; /* job-originating-user-name */
  int pages;                   /* job-impressions (0: unknown) */
  int copies;
  char sides[32];
  char color_mode[32];
  char media[64];
  int64_t submitted_at; /* time-at-creation */
  int remote_state;     /* job-state */
  int64_t seen_at;
  nimbus_id_t local_job_id; /* 0 until taken at a printer */
  /* filled by store_remote_job_query() only */
  nimbus_id_t tenant_id;
  char link_name[NIMBUS_NAME_MAX];
  char service_url[NIMBUS_URI_MAX];
  /* what was last reported to the remote about the local copy
   * (Update-Job-Status, docs/FEDERATION.md §3): IPP job state (0: nothing
   * yet), impressions (-1: none), and whether the end was reported */
  int reported_state;
  int reported_impressions;
  bool reported_done;
} nimbus_remote_job_t;

/* A user's account on another print service (docs/FEDERATION.md §2.2):
 * an OAuth 2.0 device grant in progress, then the access token it gave,
 * both sealed (federation/account-link.c seals them, bound to tenant,
 * user and service URL).  One row per (tenant, user, service_url).
 * version grows by one on every update (the store's compare-and-set). */
#define NIMBUS_LINK_SEALED_MAX 512
#define NIMBUS_LINK_CODE_MAX 32
typedef enum {
  NIMBUS_LINK_PENDING = 1,       /* the user has not approved yet: the worker polls */
  NIMBUS_LINK_LINKED = 2,        /* a token that works; remote_user known */
  NIMBUS_LINK_RELINK_NEEDED = 3, /* the remote refused the token (401/403) */
  NIMBUS_LINK_DENIED = 4,        /* the user refused at the remote */
  NIMBUS_LINK_EXPIRED = 5        /* the grant expired before approval */
} nimbus_link_status_t;
typedef struct {
  nimbus_id_t id;
  nimbus_id_t tenant_id;
  nimbus_id_t user_id;
  char service_url[NIMBUS_URL_MAX];
  nimbus_link_status_t status;
  char remote_user[NIMBUS_TEXT_MAX];
  unsigned char token[NIMBUS_LINK_SEALED_MAX]; /* sealed access token (0 bytes: none) */
  int token_len;
  unsigned char device_code[NIMBUS_LINK_SEALED_MAX]; /* sealed, while pending */
  int device_code_len;
  char user_code[NIMBUS_LINK_CODE_MAX];
  char verification_uri[NIMBUS_URL_MAX];
  char verification_uri_complete[NIMBUS_URL_MAX];
  char token_endpoint[NIMBUS_URL_MAX]; /* from the remote's metadata (pending) */
  int interval;                        /* seconds between token polls (pending) */
  int64_t expires_at;                  /* the grant's end (pending) */
  int64_t next_poll_at;                /* the worker's next look (poll or check) */
  int64_t linked_at;
  int64_t last_checked_at;
  char last_error[NIMBUS_TEXT_MAX];
  int64_t created_at;
  int64_t version;
} nimbus_account_link_t;

/* ---- contracts: contracts, dealers, packages (docs/PROVISIONING.md §1–§4) ---- */
#define NIMBUS_CONTRACT_NAME_MAX 65         /* [a-z0-9._-]{1,64} + NUL */
#define NIMBUS_CONTRACT_EXTERNAL_ID_MAX 129 /* the sender's id, 1..128 + NUL */
#define NIMBUS_CONTRACT_PRINTERS_MAX 4096   /* canonical JSON of "printers" */
#define NIMBUS_CONTRACT_SETTINGS_MAX 8192   /* canonical JSON of "service_settings" */
#define NIMBUS_CONTRACT_ITEMS_MAX 32768     /* canonical JSON of "items" */
#define NIMBUS_CONTRACT_PACKAGES_MAX 17     /* one firmware + 16 applications */
#define NIMBUS_SHA256_HEX_MAX 65            /* 64 lowercase hex + NUL */
/* A contract (§1).  The JSON members are canonical JSON written by
 * provisioning/contract.c; revision and canceled are the domain's (the
 * store keeps what it is given); version counts every write (the store's
 * compare-and-set).  packages: the ids its items name, written with it
 * (what store_package_delete checks); a read leaves npackages 0. */
typedef struct {
  nimbus_id_t id;
  nimbus_id_t tenant_id;             /* the customer */
  nimbus_id_t owner_tenant_id;       /* the dealer, or the system tenant */
  char tenant_name[NIMBUS_NAME_MAX]; /* read only (joined) */
  char owner_name[NIMBUS_NAME_MAX];  /* read only (joined) */
  char name[NIMBUS_CONTRACT_NAME_MAX];
  char external_id[NIMBUS_CONTRACT_EXTERNAL_ID_MAX]; /* "" none */
  int64_t start_at, end_at;                          /* unix seconds, start < end */
  char printers_json[NIMBUS_CONTRACT_PRINTERS_MAX];
  char settings_json[NIMBUS_CONTRACT_SETTINGS_MAX];
  char items_json[NIMBUS_CONTRACT_ITEMS_MAX];
  int64_t revision;
  bool canceled;
  int64_t canceled_at; /* 0 while not canceled */
  int64_t created_at, updated_at;
  int64_t version;
  nimbus_id_t packages[NIMBUS_CONTRACT_PACKAGES_MAX];
  int npackages;
} nimbus_contract_t;

/* An uploaded firmware or application package (§3). */
typedef struct {
  nimbus_id_t id;
  nimbus_id_t owner_tenant_id;
  char kind[16]; /* "firmware" | "application" */
  char name[NIMBUS_CONTRACT_NAME_MAX];
  char version[NIMBUS_CONTRACT_NAME_MAX];
  int64_t size;
  char sha256[NIMBUS_SHA256_HEX_MAX];
  char blob_key[NIMBUS_BLOB_KEY_MAX];
  int64_t created_at;
} nimbus_package_t;

/* ---- smart services: printer services, backups, supplies, parts
 * (docs/PROVISIONING.md §10, §11) ---- */
#define NIMBUS_SERVICE_NAME_MAX 16 /* backup | consumables | parts_life */
#define NIMBUS_SUPPLY_NAME_MAX 128
#define NIMBUS_PART_NAME_MAX 64
/* A printer's configuration of one cloud service (written by a cloud step). */
typedef struct {
  nimbus_id_t device_id;
  nimbus_id_t tenant_id;
  char service[NIMBUS_SERVICE_NAME_MAX];
  nimbus_id_t contract_id; /* the contract that configured it (0: none) */
  char *settings_json;     /* the service's settings (JSON object); see store.h for ownership */
  bool enabled;
  int64_t updated_at;
} nimbus_printer_service_t;

typedef enum { NIMBUS_BACKUP_FULL = 1, NIMBUS_BACKUP_DIFFERENTIAL = 2 } nimbus_backup_mode_t;
/* One uploaded snapshot of a printer's data. */
typedef struct {
  nimbus_id_t id;
  nimbus_id_t tenant_id;
  nimbus_id_t device_id;
  nimbus_backup_mode_t mode;
  nimbus_id_t base_id; /* differential: the full snapshot it is against (else 0) */
  char *json;          /* the snapshot as uploaded; see store.h for ownership */
  int64_t size;        /* bytes of json */
  int64_t created_at;
} nimbus_backup_t;

/* An outgoing webhook's delivery state (orders, alerts). */
typedef enum {
  NIMBUS_DELIVERY_PENDING = 1,
  NIMBUS_DELIVERY_SENT = 2,
  NIMBUS_DELIVERY_FAILED = 3
} nimbus_delivery_state_t;
typedef struct {
  nimbus_id_t id;
  nimbus_id_t tenant_id;
  nimbus_id_t device_id;
  nimbus_id_t contract_id;
  char supply[NIMBUS_SUPPLY_NAME_MAX];
  char type[NIMBUS_SUPPLY_NAME_MAX];
  int episode; /* 1, 2, …: one per fall below the threshold */
  int level;   /* the level that opened the episode */
  nimbus_delivery_state_t state;
  int attempts;
  int64_t next_at; /* pending: the next delivery attempt */
  int64_t created_at;
  int64_t sent_at;
} nimbus_supply_order_t;
typedef struct {
  nimbus_id_t id;
  nimbus_id_t tenant_id;
  nimbus_id_t device_id;
  nimbus_id_t contract_id;
  char part[NIMBUS_PART_NAME_MAX];
  int cycle;           /* 1 until the part is first replaced, then 2, … */
  int64_t impressions; /* the impressions reported when it was raised */
  nimbus_delivery_state_t state;
  int attempts;
  int64_t next_at;
  int64_t created_at;
  int64_t sent_at;
} nimbus_part_alert_t;
/* Where a part's life is counted from (none stored: cycle 1 from 0). */
typedef struct {
  nimbus_id_t device_id;
  char part[NIMBUS_PART_NAME_MAX];
  int64_t replaced_at; /* impressions at the last replacement */
  int cycle;
} nimbus_part_counter_t;

/* ---- provisioning runs, steps and device inventory
 * (docs/PROVISIONING.md §5–§8; store.h "provisioning") ---- */
#define NIMBUS_PROV_TARGET_MAX 8192 /* a step's target JSON incl. NUL */
#define NIMBUS_PROV_JSON_MAX 16384  /* inventory applications / settings JSON incl. NUL */
typedef enum {
  NIMBUS_RUN_RUNNING = 1,
  NIMBUS_RUN_DONE = 2,
  NIMBUS_RUN_PARTIAL = 3,
  NIMBUS_RUN_NOTHING = 4 /* nothing-to-do */
} nimbus_run_state_t;
typedef enum {
  NIMBUS_STEP_PLANNED = 1,
  NIMBUS_STEP_SENT = 2,
  NIMBUS_STEP_CONFIRMED = 3,
  NIMBUS_STEP_FAILED = 4,
  NIMBUS_STEP_SKIPPED = 5
} nimbus_step_state_t;
typedef struct {
  nimbus_id_t id;
  nimbus_id_t tenant_id;
  nimbus_id_t contract_id;
  int64_t revision;
  char kind[16]; /* start, renewal, restore */
  nimbus_run_state_t state;
  int64_t created_at;
  int64_t finished_at; /* 0 while running */
  char note[NIMBUS_TEXT_MAX];
  nimbus_id_t device_id; /* a restore's printer; 0 for a contract's run */
  nimbus_id_t backup_id; /* a restore's backup; 0 otherwise */
} nimbus_prov_run_t;
typedef struct {
  nimbus_id_t id;
  nimbus_id_t run_id;
  nimbus_id_t tenant_id;
  nimbus_id_t device_id;
  nimbus_id_t contract_id; /* filled by reads (the run's) */
  int seq;
  char kind[16]; /* settings, firmware, application, backup, consumables, parts_life */
  char item_name[NIMBUS_NAME_MAX + 2];
  char target_json[NIMBUS_PROV_TARGET_MAX];
  nimbus_id_t package_id; /* 0: none */
  nimbus_step_state_t state;
  int attempts;
  int64_t next_at; /* planned: not served before */
  int64_t sent_at;
  int64_t finished_at;
  char reason[NIMBUS_TEXT_MAX];
} nimbus_prov_step_t;
typedef struct {
  nimbus_id_t device_id;
  nimbus_id_t tenant_id;
  char firmware_name[NIMBUS_NAME_MAX + 2];
  char firmware_version[NIMBUS_NAME_MAX + 2];
  char applications_json[NIMBUS_PROV_JSON_MAX]; /* {"<name>":"<version>"} */
  char settings_json[NIMBUS_PROV_JSON_MAX];     /* {"<name>":value} */
  int64_t reported_at;
} nimbus_device_inventory_t;

#endif
