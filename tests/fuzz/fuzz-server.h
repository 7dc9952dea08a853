/*
 * fuzz-server.h: the in-process nimbusd that the request fuzzers
 * (fuzz-ipp-request.c, fuzz-api-json.c) drive through
 * http_request_run_detached().  Header-only with static functions because
 * tests/meson.build builds each fuzzer from its single .c file.
 *
 * fuzz_server_init() does what nimbusd.c does at start-up, minus the HTTP
 * front, in a private state directory (mkdtemp under $TMPDIR or /tmp):
 * store (group commit off), spool, one worker, metrics, auth cache, fast
 * password hashing.  Fixtures:
 *   tenant "t":      user "u" / "p" (tenant-admin), user "v" / "p" (user),
 *                    queue "q" (pull printing: jobs are held, credentials
 *                    required), queue "anon" (anonymous printing allowed)
 *   tenant "system": operator "admin" / "p"
 * With FUZZ_VERBOSE=1 in the environment every request's method, path and
 * status is printed (to see what seeds reach).
 * An atexit handler closes everything and removes the directory, so a run
 * ends leak-free.  The store and spool grow during a run (jobs, tokens,
 * tenants the inputs create); that is fine for the minutes a run lasts.
 */
#ifndef NIMBUS_FUZZ_SERVER_H
#define NIMBUS_FUZZ_SERVER_H

#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "crypto.h"
#include "http.h"
#include "log.h"
#include "metrics.h"

typedef struct {
  nimbus_server_t srv;
  char dir[PATH_MAX];
  nimbus_tenant_t tenant;             /* "t" */
  nimbus_user_t user;                 /* "u", tenant-admin of "t" */
  nimbus_queue_t queue;               /* "q" */
  char pin_hash[NIMBUS_HASH_STR_MAX]; /* of the job PIN "1234" */
  bool verbose;                       /* FUZZ_VERBOSE set: print each status */
} fuzz_server_t;

static fuzz_server_t fuzz_server;

/* Authorization headers an input picks from with its low three bits:
 * none, the tenant-admin (twice as likely), the operator, and bogus ones
 * (wrong password, not base64, unknown token, name without @tenant). */
static const char *const fuzz_authorizations[8] = {
    "",
    "Basic dUB0OnA=",             /* u@t:p */
    "Basic dUB0OnA=",             /* u@t:p */
    "Basic YWRtaW5Ac3lzdGVtOnA=", /* admin@system:p */
    "Basic dUB0Ong=",             /* u@t:x: wrong password */
    "Basic !!not-base64!!",
    "Bearer nmb_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "Basic dTpw", /* u:p: no tenant in the name */
};

static const char *fuzz_authorization(uint8_t selector) {
  return fuzz_authorizations[selector & 7];
}

/* Print why set-up failed and stop: a fuzzer without its server is useless. */
static void fuzz_die(const char *what, const char *detail) {
  fprintf(stderr, "fuzz-server: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
  abort();
}

static int fuzz_rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  remove(path);
  return 0;
}

static void fuzz_server_cleanup(void) {
  nimbus_server_t *srv = &fuzz_server.srv;
  workers_stop(srv->workers);
  auth_cache_free(srv->auth_cache);
  metrics_free(srv->metrics);
  blob_store_close(srv->blobs);
  if (srv->store) store_close(srv->store);
  memset(srv, 0, sizeof *srv);
  if (fuzz_server.dir[0]) nftw(fuzz_server.dir, fuzz_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  fuzz_server.dir[0] = '\0';
}

static void fuzz_add_user(nimbus_id_t tenant_id, const char *name, nimbus_role_t role,
                          nimbus_user_t *out) {
  nimbus_user_t u = {.tenant_id = tenant_id, .role = role};
  snprintf(u.name, sizeof u.name, "%s", name);
  if (!crypto_password_hash("p", u.password_hash)) fuzz_die("password hash", name);
  if (store_user_insert(fuzz_server.srv.store, &u) != STORE_OK) fuzz_die("user insert", name);
  if (out) *out = u;
}

static void fuzz_add_tenant(const char *name, nimbus_tenant_t *out) {
  memset(out, 0, sizeof *out);
  snprintf(out->name, sizeof out->name, "%s", name);
  snprintf(out->display_name, sizeof out->display_name, "Fuzz %s", name);
  if (store_tenant_insert(fuzz_server.srv.store, out) != STORE_OK) fuzz_die("tenant insert", name);
}

/* Queue `name` of tenant "t" exists (an input may have renamed it). */
static void fuzz_ensure_queue(const char *name, bool allow_anonymous, nimbus_queue_t *out) {
  nimbus_queue_t q = {.tenant_id = fuzz_server.tenant.id};
  store_t *st = fuzz_server.srv.store;
  if (store_queue_get_by_name(st, q.tenant_id, name, &q) != STORE_OK) {
    snprintf(q.name, sizeof q.name, "%s", name);
    snprintf(q.description, sizeof q.description, "fuzz queue %s", name);
    q.allow_anonymous = allow_anonymous;
    if (store_queue_insert(st, &q) != STORE_OK) fuzz_die("queue insert", name);
  }
  if (out) *out = q;
}

/*
 * Start the server and add the fixtures.  Configuration: nimbusd's
 * defaults, except limits small enough for inputs of a few KiB to reach
 * them (max_ipp_header, max_json_body) and a pending-jobs limit high
 * enough that job creation keeps working for a whole run.
 */
static void fuzz_server_init(void) {
  nimbus_server_t *srv = &fuzz_server.srv;
  char err[1024];
  char path[PATH_MAX + 32];
  const char *tmp = getenv("TMPDIR");

  if (!config_set_defaults(nimbusd_options, &srv->cfg, err, sizeof err))
    fuzz_die("config defaults", err);
  srv->cfg.max_ipp_header = 3072;
  srv->cfg.max_json_body = 3072;
  srv->cfg.max_held_jobs = 1000000;
  srv->cfg.group_commit = 1;
  srv->cfg.fast_hashing = true;
  log_set_level(LOG_ERROR);
  fuzz_server.verbose = getenv("FUZZ_VERBOSE") && *getenv("FUZZ_VERBOSE") == '1';
  if (!crypto_init()) fuzz_die("crypto_init", NULL);
  crypto_set_fast_hashing(true);

  snprintf(fuzz_server.dir, sizeof fuzz_server.dir, "%s/nimbus-fuzz-XXXXXX",
           tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(fuzz_server.dir)) {
    fuzz_server.dir[0] = '\0';
    fuzz_die("mkdtemp", NULL);
  }
  atexit(fuzz_server_cleanup);
  snprintf(srv->cfg.state_dir, sizeof srv->cfg.state_dir, "%s", fuzz_server.dir);

  snprintf(path, sizeof path, "%s/nimbus.db", fuzz_server.dir);
  store_options_t sopts = {.group_commit_max = srv->cfg.group_commit};
  if (!(srv->store = store_open(path, &sopts, err, sizeof err))) fuzz_die("store_open", err);
  snprintf(path, sizeof path, "%s/spool", fuzz_server.dir);
  if (!(srv->blobs = blob_store_open(path, err, sizeof err))) fuzz_die("blob_store_open", err);
  srv->workers = workers_start(1, 16);
  srv->metrics = metrics_new();
  srv->auth_cache = auth_cache_new(300);
  srv->started_at = time(NULL);
  if (!srv->workers || !srv->metrics || !srv->auth_cache) fuzz_die("out of memory", NULL);

  nimbus_tenant_t sys;
  fuzz_add_tenant("system", &sys);
  fuzz_add_user(sys.id, "admin", NIMBUS_ROLE_OPERATOR, NULL);
  fuzz_add_tenant("t", &fuzz_server.tenant);
  fuzz_add_user(fuzz_server.tenant.id, "u", NIMBUS_ROLE_TENANT_ADMIN, &fuzz_server.user);
  fuzz_add_user(fuzz_server.tenant.id, "v", NIMBUS_ROLE_USER, NULL);
  fuzz_ensure_queue("q", false, &fuzz_server.queue);
  fuzz_ensure_queue("anon", true, NULL);
  if (!crypto_pin_hash("1234", fuzz_server.pin_hash)) fuzz_die("PIN hash", NULL);
}

/* Run one request against the server; returns the HTTP status. */
static int fuzz_request(const char *method, const char *path, const char *content_type,
                        const char *authorization, const void *body, size_t len, size_t chunk) {
  int status = http_request_run_detached(&fuzz_server.srv, method, path, content_type,
                                         authorization, body, len, chunk);
  if (fuzz_server.verbose)
    fprintf(stderr, "fuzz-server: %s %s (%zu bytes, chunk %zu, auth '%s') -> %d\n", method, path,
            len, chunk, authorization, status);
  return status;
}

/* A held job of "u" in queue "q" (with the PIN "1234" when with_pin), for
 * inputs that act on a job.  Returns its id, 0 on a store error. */
static inline nimbus_id_t fuzz_add_held_job(bool with_pin) {
  nimbus_job_t job;
  memset(&job, 0, sizeof job);
  job.tenant_id = fuzz_server.tenant.id;
  job.queue_id = fuzz_server.queue.id;
  job.owner_id = fuzz_server.user.id;
  snprintf(job.queue_name, sizeof job.queue_name, "q");
  snprintf(job.owner_name, sizeof job.owner_name, "u");
  snprintf(job.name, sizeof job.name, "fuzz job");
  snprintf(job.origin_host, sizeof job.origin_host, "127.0.0.1");
  snprintf(job.attrs_json, sizeof job.attrs_json, "{}");
  if (with_pin) snprintf(job.pin_hash, sizeof job.pin_hash, "%s", fuzz_server.pin_hash);
  job.state = NIMBUS_JOB_HELD;
  job.copies = 1;
  return store_job_insert(fuzz_server.srv.store, &job, NULL, 0) == STORE_OK ? job.id : 0;
}

#endif
