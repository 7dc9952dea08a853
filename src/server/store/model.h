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
} nimbus_token_t;

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

#endif
