/*
 * nimbusd.c: the Nimbus Print cloud service process.
 *
 * Start-up order: options → state directory → store (migrations) → spool
 * sweep (removes what a crash left half-written) → first-start bootstrap
 * (operator account, optional demo data) → worker pool → HTTP front.
 * SIGTERM/SIGINT: stop accepting, finish in-flight requests, close the
 * store.  SIGHUP: re-read the --config file's reloadable options.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <sys/resource.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "contract-webhook.h"
#include "auth.h"
#include "crypto.h"
#include "device.h"
#include "event-feed.h"
#include "account-link.h"
#include "housekeeping.h"
#include "http.h"
#include "intake.h"
#include "job.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "payment-flow.h"
#include "remote-sync.h"
#include "retention.h"
#include "webhook-out.h"

#define NIMBUS_SYSTEM_TENANT "system"

static void nimbusd_usage(FILE *out) {
  fprintf(out,
          "Usage: nimbusd [OPTIONS]\n"
          "Nimbus Print cloud print service: IPP queues per tenant, REST API under /api/v1.\n\n");
  config_print_help(nimbusd_options, out);
  fprintf(out, "  --version                     print the version and exit\n");
  fprintf(out,
          "\nSignals: SIGTERM/SIGINT stop gracefully; SIGHUP re-reads --config "
          "(log-level).\n");
}

/* Create a user unless it exists; returns false (logged) on a store
 * error.  Another node starting on the same empty database may create it
 * first: the insert's conflict then means it exists. */
static bool nimbusd_ensure_user(store_t *st, nimbus_id_t tenant_id, const char *name,
                                const char *password, nimbus_role_t role) {
  nimbus_user_t u = {.tenant_id = tenant_id, .role = role};
  if (store_user_get_by_name(st, tenant_id, name, &u) == STORE_OK) return true;
  snprintf(u.name, sizeof u.name, "%s", name);
  if (!crypto_password_hash(password, u.password_hash)) return false;
  store_status_t s = store_user_insert(st, &u);
  explicit_bzero(u.password_hash, sizeof u.password_hash);
  if (s == STORE_OK || s == STORE_CONFLICT) return true;
  log_event(LOG_ERROR, NULL, "first start: cannot create a user", "user", name, "status",
            LOG_INT(s), (char *)NULL);
  return false;
}

/* The tenant `name`, created unless it exists (*created tells); false
 * (logged) on a store error.  Two nodes starting at once on an empty
 * database: the one whose insert conflicts reads the other's tenant. */
static bool nimbusd_ensure_tenant(store_t *st, const char *name, const char *display,
                                  nimbus_tenant_t *t, bool *created) {
  *created = false;
  if (store_tenant_get_by_name(st, name, t) == STORE_OK) return true;
  memset(t, 0, sizeof *t);
  snprintf(t->name, sizeof t->name, "%s", name);
  snprintf(t->display_name, sizeof t->display_name, "%s", display);
  store_status_t s = store_tenant_insert(st, t);
  if (s == STORE_OK) {
    *created = true;
    return true;
  }
  if (s == STORE_CONFLICT && store_tenant_get_by_name(st, name, t) == STORE_OK) return true;
  log_event(LOG_ERROR, NULL, "first start: cannot create a tenant", "tenant", name, "status",
            LOG_INT(s), (char *)NULL);
  return false;
}

static bool nimbusd_count_user(const nimbus_user_t *u, void *ctx) {
  (void)u;
  ++*(int *)ctx;
  return false; /* one is enough */
}

/* First start: the operator account; with --demo a demo tenant too. */
static bool nimbusd_bootstrap(nimbus_server_t *srv) {
  store_t *st = srv->store;
  nimbus_tenant_t sys;
  bool created;
  if (!nimbusd_ensure_tenant(st, NIMBUS_SYSTEM_TENANT, "Service operators", &sys, &created))
    return false;
  /* the operator's account too when the tenant has no user at all (the
   * node that made the tenant died before it made the account) */
  int users = 0;
  if (!created && store_user_list(st, sys.id, nimbusd_count_user, &users) == STORE_OK && !users)
    created = true;
  if (created) {
    char password[sizeof srv->cfg.admin_password];
    if (srv->cfg.admin_password[0]) {
      snprintf(password, sizeof password, "%s", srv->cfg.admin_password);
    } else {
      crypto_random_hex(password);
      char path[PATH_MAX + 32];
      snprintf(path, sizeof path, "%s/admin-password", srv->cfg.state_dir);
      FILE *f = fopen(path, "w");
      if (!f) return false;
      fchmod(fileno(f), 0600);
      fprintf(f, "%s\n", password);
      fclose(f);
      log_event(LOG_INFO, NULL, "operator password written", "user", "admin@system", "file", path,
                (char *)NULL);
    }
    bool ok = nimbusd_ensure_user(st, sys.id, "admin", password, NIMBUS_ROLE_OPERATOR);
    memset(password, 0, sizeof password);
    if (!ok) return false;
  }
  if (!srv->cfg.demo) return true;

  nimbus_tenant_t demo;
  if (!nimbusd_ensure_tenant(st, "demo", "Demo Company", &demo, &created)) return false;
  if (!nimbusd_ensure_user(st, demo.id, "alice", "alice-demo-pass", NIMBUS_ROLE_USER) ||
      !nimbusd_ensure_user(st, demo.id, "demo-admin", "demo-admin-pass", NIMBUS_ROLE_TENANT_ADMIN))
    return false;
  nimbus_queue_t q = {.tenant_id = demo.id};
  if (store_queue_get_by_name(st, demo.id, "office", &q) != STORE_OK) {
    snprintf(q.name, sizeof q.name, "office");
    snprintf(q.description, sizeof q.description, "Demo office queue (pull printing)");
    store_status_t s = store_queue_insert(st, &q);
    if (s != STORE_OK && s != STORE_CONFLICT) return false; /* conflict: another node made it */
  }
  return true;
}

static void nimbusd_banner(const nimbus_server_t *srv, int port) {
  const char *host = strcmp(srv->cfg.listen, "0.0.0.0") == 0 || strcmp(srv->cfg.listen, "::") == 0
                         ? "localhost"
                         : srv->cfg.listen;
  const char *ipp = srv->tls ? "ipps" : "ipp", *http = srv->tls ? "https" : "http";
  printf("nimbusd %s listening on %s port %d, state in %s\n", NIMBUS_VERSION, srv->cfg.listen, port,
         srv->cfg.state_dir);
  printf("  REST API:  %s://%s:%d/api/v1   health: /healthz   metrics: /metrics\n", http, host,
         port);
  printf("  operator:  admin@system (password: %s)\n", srv->cfg.admin_password[0]
                                                           ? "as given by --admin-password"
                                                           : "see <state-dir>/admin-password");
  if (srv->cfg.demo) {
    printf("  demo queue: %s://%s:%d/ipp/print/demo/office\n", ipp, host, port);
    printf("  demo user:  alice / alice-demo-pass   demo admin: demo-admin / demo-admin-pass\n");
  }
  fflush(stdout);
}

/* Find "--config FILE" or "--config=FILE" in argv (for SIGHUP reloads). */
static const char *nimbusd_config_path(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (!strncmp(argv[i], "--config=", 9)) return argv[i] + 9;
    if (!strcmp(argv[i], "--config") && i + 1 < argc) return argv[i + 1];
  }
  return NULL;
}

static void nimbusd_reload(const char *path) {
  if (!path) return;
  static nimbusd_config_t fresh;
  char err[512];
  if (!config_set_defaults(nimbusd_options, &fresh, err, sizeof err) ||
      !config_load_file(nimbusd_options, &fresh, path, err, sizeof err)) {
    log_event(LOG_WARN, NULL, "reload failed; keeping the running configuration", "error", err,
              (char *)NULL);
    return;
  }
  log_level_t level;
  if (log_level_parse(fresh.log_level, &level)) log_set_level(level);
  log_event(LOG_INFO, NULL, "configuration reloaded", "log_level", fresh.log_level, (char *)NULL);
}

/* Every held long-poll is an open descriptor: allow as many as the hard
 * limit permits (10,000 idle printers need more than the usual 1024). */
static void nimbusd_raise_fd_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max) return;
  rl.rlim_cur = rl.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
    log_event(LOG_WARN, NULL, "cannot raise the open file limit", (char *)NULL);
}

/* Job observer (job.h): after every change of a job's state, tell the
 * printers of its queue, and delete its documents once it has ended. */
static void nimbusd_job_changed(void *ctx, const nimbus_job_t *job, nimbus_job_state_t from) {
  device_job_changed(ctx, job, from);
  retention_job_changed(ctx, job, from);
  payments_job_changed(ctx, job, from);
  remote_sync_job_changed(ctx, job, from);
}

/*
 * Memory goes back to the system after a large allocation (issue 8 item
 * 10: RSS returns to its baseline after big documents).  glibc raises its
 * mmap threshold to the size of the largest block freed so far, after
 * which big buffers (a PDF's decoded streams, argon2's 19 MiB) come from
 * the worker threads' heaps, whose tops malloc_trim() does not release.
 * Fixed thresholds keep blocks of 1 MiB and more in their own mappings
 * (unmapped on free) and shrink a heap whose free top passes 1 MiB.
 */
static void nimbusd_tune_malloc(void) {
  mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 1024 * 1024);
}

/* --node-id, or the host name when unset; false (after a message) when
 * it is not a valid node id (blob_node_id_valid). */
static bool nimbusd_node_id(nimbusd_config_t *cfg) {
  bool from_host = cfg->node_id[0] == '\0';
  if (from_host) {
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
    snprintf(cfg->node_id, sizeof cfg->node_id, "%.*s", BLOB_NODE_ID_MAX, host);
    if (strlen(host) > BLOB_NODE_ID_MAX) cfg->node_id[0] = '\0'; /* too long: refused below */
  }
  if (blob_node_id_valid(cfg->node_id)) return true;
  fprintf(stderr, "nimbusd: %s node id '%s': use 1-%d characters of A-Z a-z 0-9 . _ - "
          "(--node-id)\n", from_host ? "the host name is not a valid" : "invalid",
          cfg->node_id, BLOB_NODE_ID_MAX);
  return false;
}

int main(int argc, char **argv) {
  static nimbus_server_t srv;
  char err[1024];
  bool help;
  int first_arg;
  int rc = 1;
  http_server_t *http = NULL;
  housekeeping_t *housekeeping = NULL;
  webhook_out_t *webhooks = NULL;        /* services/webhook-out.c */
  account_links_t *account_links = NULL; /* federation/account-link-worker.c */
  event_feed_t *feed = NULL;

  for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
    if (strcmp(argv[i], "--version") == 0) {
      char store_version[64];
      store_backend_version(store_version, sizeof store_version);
      printf("nimbusd %s (libmicrohttpd %s, %s)\n", NIMBUS_VERSION, http_library_version(),
             store_version);
      return 0;
    }
  }
  if (!config_set_defaults(nimbusd_options, &srv.cfg, err, sizeof err) ||
      !config_parse_args(nimbusd_options, &srv.cfg, argc, argv, &help, &first_arg, err,
                         sizeof err)) {
    fprintf(stderr, "nimbusd: %s\n", err);
    return 2;
  }
  if (help) {
    nimbusd_usage(stdout);
    return 0;
  }
  if (first_arg < argc) {
    fprintf(stderr, "nimbusd: unexpected argument '%s' (see --help)\n", argv[first_arg]);
    return 2;
  }
  log_level_t level;
  if (!log_level_parse(srv.cfg.log_level, &level)) {
    fprintf(stderr, "nimbusd: unknown log level '%s'\n", srv.cfg.log_level);
    return 2;
  }
  log_set_level(level);
  if (!nimbusd_node_id(&srv.cfg)) return 2;
  nimbusd_tune_malloc();
  if (!crypto_init()) {
    fprintf(stderr, "nimbusd: libsodium cannot be initialised\n");
    return 1;
  }
  crypto_set_fast_hashing(srv.cfg.fast_hashing);
  if (srv.cfg.fast_hashing)
    log_event(LOG_WARN, NULL, "fast-hashing is on: password hashes are weak (tests only)",
              (char *)NULL);

  /* Signals are handled by sigwait() below; block them in every thread. */
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &sigs, NULL);
  signal(SIGPIPE, SIG_IGN);

  umask(077); /* the database, spool and password file are private */
  if (mkdir(srv.cfg.state_dir, 0700) != 0 && errno != EEXIST) {
    fprintf(stderr, "nimbusd: cannot create %s: %s\n", srv.cfg.state_dir, strerror(errno));
    return 1;
  }
  /* the contract webhook's senders (docs/PROVISIONING.md §4): a bad file
   * stops the start rather than refusing every event later */
  if (!contract_webhook_file_check(srv.cfg.contract_webhook_secret_file, err, sizeof err)) {
    fprintf(stderr, "nimbusd: %s\n", err);
    return 1;
  }
  char path[PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/nimbus.db", srv.cfg.state_dir);
  store_options_t sopts = {.group_commit_max = srv.cfg.group_commit,
                           .readers = srv.cfg.store_readers};
  srv.store = store_open(srv.cfg.store_url[0] ? srv.cfg.store_url : path, &sopts, err, sizeof err);
  if (!srv.store) {
    fprintf(stderr, "nimbusd: %s\n", err);
    return 1;
  }
  /* A backend still being written (PostgreSQL) would fail some requests
   * at run time: refuse to serve on it at all. */
  int missing = 0;
  const char *first_missing = store_unimplemented_op(srv.store, &missing);
  if (first_missing) {
    fprintf(stderr,
            "nimbusd: the %s store is not complete yet: %d operations are not implemented "
            "(first: %s); use a sqlite: store (docs/OPERATIONS.md)\n",
            store_backend_name(srv.store), missing, first_missing);
    store_close(srv.store);
    return 1;
  }
  snprintf(path, sizeof path, "%s/spool", srv.cfg.state_dir);
  srv.blobs = blob_store_open(path, srv.cfg.node_id, err, sizeof err);
  if (!srv.blobs) {
    fprintf(stderr, "nimbusd: %s\n", err);
    goto done;
  }
  int swept = intake_sweep_orphans(&srv, true);
  if (swept > 0)
    log_event(LOG_INFO, NULL, "removed unfinished spool files", "count", LOG_INT(swept),
              (char *)NULL);
  if (!nimbusd_bootstrap(&srv)) {
    fprintf(stderr, "nimbusd: first-start set-up failed (see log)\n");
    goto done;
  }
  nimbusd_raise_fd_limit();
  srv.metrics = metrics_new();
  throttle_limits_init(&srv.throttle, srv.cfg.login_failures, srv.cfg.login_failures_addr,
                       srv.cfg.panel_login_failures, srv.cfg.login_window,
                       DEVICE_CLAIM_MAX_FAILURES, DEVICE_CLAIM_WINDOW);
  srv.auth_cache = auth_cache_new(srv.cfg.auth_cache_seconds, &srv.throttle);
  srv.workers = workers_start(srv.cfg.workers, 4096);
  srv.notify = notify_new(srv.cfg.notify_wait, srv.store);
  srv.presence = device_presence_new();
  srv.started_at = time(NULL);
  if (!srv.metrics || !srv.auth_cache || !srv.workers || !srv.notify || !srv.presence) {
    fprintf(stderr, "nimbusd: out of memory\n");
    goto done;
  }
  if (!payments_start(&srv, err, sizeof err)) {
    fprintf(stderr, "nimbusd: %s\n", err);
    goto done;
  }
  if (!(account_links = account_links_start(&srv, err, sizeof err))) {
    fprintf(stderr, "nimbusd: %s\n", err);
    goto done;
  }
  job_set_observer(nimbusd_job_changed, &srv);
  housekeeping = housekeeping_start(&srv);
  feed = event_feed_start(&srv);
  srv.remote_sync = remote_sync_start(&srv);
  webhooks = webhook_out_start(&srv);
  http = http_start(&srv, err, sizeof err);
  if (!http || !housekeeping || !feed || !srv.remote_sync || !webhooks) {
    fprintf(stderr, "nimbusd: %s\n",
            !http              ? err
            : !feed            ? "cannot follow the store's event feed (see log)"
            : !srv.remote_sync ? "cannot start the remote printer links' thread"
            : !webhooks        ? "cannot start the service webhooks' thread"
                               : "cannot start the housekeeping thread");
    goto done;
  }
  log_event(LOG_INFO, NULL, "nimbusd started", "version", NIMBUS_VERSION, "listen", srv.cfg.listen,
            "port", LOG_INT(http_port(http)), "state_dir", srv.cfg.state_dir, "node_id",
            srv.cfg.node_id, (char *)NULL);
  nimbusd_banner(&srv, http_port(http));
  payments_set_port(srv.payments, http_port(http)); /* payment URLs name the real port */

  const char *config_path = nimbusd_config_path(argc, argv);
  for (;;) {
    int sig = 0;
    if (sigwait(&sigs, &sig) != 0) continue;
    if (sig == SIGHUP) {
      nimbusd_reload(config_path);
      continue;
    }
    log_event(LOG_INFO, NULL, "shutting down", "signal", LOG_INT(sig), (char *)NULL);
    break;
  }
  rc = 0;
done:
  /* Parked long-polls are answered first, so the HTTP drain can finish. */
  event_feed_stop(feed);
  notify_shutdown(srv.notify);
  http_stop(http);
  housekeeping_stop(housekeeping);
  webhook_out_stop(webhooks);
  remote_sync_stop(srv.remote_sync);
  srv.remote_sync = NULL;
  if (srv.store && srv.presence) device_presence_flush(&srv);
  job_set_observer(NULL, NULL);
  account_links_stop(account_links); /* before the payments: it seals with their key */
  payments_stop(srv.payments);
  srv.payments = NULL;
  workers_stop(srv.workers);
  notify_free(srv.notify);
  device_presence_free(srv.presence);
  auth_cache_free(srv.auth_cache);
  metrics_free(srv.metrics);
  blob_store_close(srv.blobs);
  if (srv.store) store_close(srv.store);
  if (rc == 0) log_event(LOG_INFO, NULL, "nimbusd stopped", (char *)NULL);
  return rc;
}
