/*
 * server.h: the process-wide context of nimbusd: its configuration and the
 * long-lived services every request handler uses.  One instance, created
 * in nimbusd.c, read-only after start-up except where a member says so.
 */
#ifndef NIMBUS_SERVER_H
#define NIMBUS_SERVER_H

#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "blob.h"
#include "config.h"
#include "store.h"
#include "throttle.h"
#include "workers.h"

typedef struct {
  char listen[64];
  int port;
  char state_dir[PATH_MAX];
  char node_id[BLOB_NODE_ID_MAX + 1]; /* this node on a shared spool; "": the host name */
  char store_url[PATH_MAX + 64]; /* "": SQLite in state_dir */
  int threads; /* HTTP event threads */
  int workers; /* worker threads for slow steps */
  char tls_cert[PATH_MAX];
  char tls_key[PATH_MAX];
  char log_level[16];
  int64_t max_document_size; /* default per tenant */
  int max_held_jobs;         /* default per tenant, per user */
  int max_document_pages;    /* pages per document (every format) */
  int64_t max_pdf_inflate;   /* PDF page count: decoded object-stream bytes */
  int max_pdf_objects;       /* PDF page count: objects in the file */
  int64_t max_pdf_memory;    /* PDF page count: memory qpdf may hold */
  int max_printer_jobs;      /* pending jobs submitted through one printer */
  int64_t max_ipp_header;    /* IPP attribute section of a request */
  int64_t max_json_body;     /* REST request bodies */
  int64_t min_free_space;    /* /healthz fails below this many free bytes (0: off) */
  int max_connections;
  int64_t connection_memory; /* libmicrohttpd pool per connection */
  int connection_timeout;    /* seconds of idleness */
  int group_commit;          /* most job inserts per transaction */
  int store_readers;         /* SQLite read connections (0 = none) */
  int auth_cache_seconds;    /* how long a verified password is trusted */
  int device_lease;          /* seconds of device silence before its jobs are re-offered */
  int notify_wait;           /* seconds a Get-Notifications long-poll is held */
  int online_window;         /* a printer heard from within this is online (0: notify_wait + 30) */
  int pin_max_attempts;      /* wrong PINs before a job locks */
  int pin_lockout;           /* seconds locked, and the counting window */
  int retention_hours;       /* default per tenant: unreleased jobs expire after this */
  char public_url[512];      /* base of URLs given to phones and providers ("": from listen) */
  char secrets_key[PATH_MAX]; /* key file sealing secrets at rest ("": state-dir/secrets.key) */
  int payment_timeout;        /* seconds to pay at the printer */
  int charge_retry;           /* seconds before a declined private charge is retried */
  int account_link_check;     /* seconds between checks of a linked account (federation/) */
  int panel_session_idle;    /* seconds of panel inactivity before sign-out */
  int session_idle;          /* web console: seconds unused before a session ends */
  int session_max;           /* web console: seconds after sign-in a session ends */
  int oauth_token_lifetime;  /* seconds an OAuth-issued (federation) token lives */
  int oauth_device_ttl;      /* seconds a device authorization grant waits for the user */
  int remote_poll;           /* federation: seconds between polls of each remote printer link */
  int remote_resync;         /* federation: seconds between full Get-Jobs of each link */
  char service_webhook_secret_file[PATH_MAX]; /* outgoing order/alert webhooks' secret ("": none) */
  char console_dir[PATH_MAX]; /* the web console's files ("": no console) */
  /* contracts (docs/PROVISIONING.md §3, §4) */
  char contract_webhook_secret_file[PATH_MAX]; /* senders of contract events ("": none) */
  int contract_webhook_window;                 /* seconds a signed timestamp may be off */
  int64_t max_package_size;                    /* bytes of one uploaded package */
  int provision_interval;     /* provisioning: seconds between sweeps (provisioning/run-detect.c) */
  int provision_step_timeout; /* provisioning: seconds a sent step waits for its report */
  int provision_retries;      /* provisioning: tries of a step before it fails for good */
  int login_failures;        /* failed sign-ins per account before 429 (throttle.h) */
  int login_failures_addr;   /* failed sign-ins per client address before 429 */
  int panel_login_failures;  /* failed panel sign-ins per (printer, user) before 429 */
  int login_window;          /* seconds those failures are counted */
  bool demo;                 /* create demo tenant/user/queue at first start */
  bool trust_proxy;          /* believe X-Forwarded-Proto/-For (behind a reverse proxy) */
  bool fast_hashing;         /* minimum argon2id cost: tests only */
  char admin_password[128];  /* operator password at first start ("" = random) */
} nimbusd_config_t;

extern const config_option_t nimbusd_options[];

typedef struct metrics metrics_t;
typedef struct auth_cache auth_cache_t;
typedef struct notify notify_t;
typedef struct device_presence device_presence_t;
typedef struct payments payments_t;
typedef struct remote_sync remote_sync_t;

typedef struct {
  nimbusd_config_t cfg;
  store_t *store;
  blob_store_t *blobs;
  workers_t *workers;
  metrics_t *metrics;
  auth_cache_t *auth_cache;
  throttle_limits_t throttle;  /* sign-in throttle limits, from cfg (throttle.h) */
  notify_t *notify;            /* subscriptions and parked long-polls */
  device_presence_t *presence; /* when devices were last heard (device.c) */
  payments_t *payments;        /* payment flow and reconciler (payments/payment-flow.c) */
  remote_sync_t *remote_sync;  /* remote printer links' sync thread (federation/remote-sync.c) */
  time_t started_at;
  bool tls;
  /* bytes reserved by requests holding a small document in memory
   * (ipp-server.c); bounded by NIMBUS_INLINE_BUDGET */
  atomic_llong inline_bytes;
} nimbus_server_t;

#define NIMBUS_INLINE_BUDGET (64LL * 1024 * 1024)

#endif
