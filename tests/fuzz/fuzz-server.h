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
 *   output devices of tenant "t", serving queue "q" (docs/PROTOCOL.md 6):
 *                    "d" (uuid FUZZ_UUID_D, credential FUZZ_CRED_D),
 *                    "e" (FUZZ_UUID_E, FUZZ_CRED_E; it has reported a few
 *                    capabilities, which the queue shows), "x" deleted (its
 *                    credential FUZZ_CRED_X gets client-error-gone), and
 *                    "r" unclaimed with the claim code FUZZ_CLAIM_CODE
 *   jobs of "u" in "q", ids 1-3 on a fresh store (fuzz_server.job_*):
 *                    1 fetchable by any device (one inline document),
 *                    2 processing by "d" (document 1 inline, 2 in the
 *                    spool, 3 purged), 3 fetchable only by "e"
 * fuzz_reset_devices() (called before every fuzz-ipp-request input) puts
 * the devices (with the attributes above), the claim code and the three
 * jobs back as above, and gives
 * the input a fresh notify_t with subscription 1 of "d" and 2 of "e" on
 * "q", each holding one job-fetchable event (job 1).  The device
 * credentials are fixed strings, so an input names them through
 * fuzz_authorizations[] like the users' passwords.
 * With FUZZ_VERBOSE=1 in the environment every request's method, path and
 * status is printed, with the /metrics request counter it moved (operation
 * label and IPP status code), to see what seeds reach.
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
#include "device.h"
#include "http.h"
#include "job.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"

/* The fixed device credentials and uuids (see above). */
#define FUZZ_CRED_D "nmd_fuzzDeviceDAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define FUZZ_CRED_E "nmd_fuzzDeviceEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define FUZZ_CRED_X "nmd_fuzzDeviceXAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define FUZZ_UUID_D "urn:uuid:00000000-0000-4000-8000-000000000001"
#define FUZZ_UUID_E "urn:uuid:00000000-0000-4000-8000-000000000002"
#define FUZZ_UUID_X "urn:uuid:00000000-0000-4000-8000-000000000003"
/* Already in device.c's normal form (upper case, no O/I/L, no spaces). */
#define FUZZ_CLAIM_CODE "NMBC-2222-3333-4444-5555"

typedef struct {
  nimbus_server_t srv;
  char dir[PATH_MAX];
  nimbus_tenant_t tenant;             /* "t" */
  nimbus_user_t user;                 /* "u", tenant-admin of "t" */
  nimbus_queue_t queue;               /* "q" */
  char pin_hash[NIMBUS_HASH_STR_MAX]; /* of the job PIN "1234" */
  nimbus_device_t dev_d, dev_e;       /* as of the last fuzz_reset_devices() */
  nimbus_id_t job_fetchable;          /* 1: fetchable by any device */
  nimbus_id_t job_processing;         /* 2: processing by "d" */
  nimbus_id_t job_targeted;           /* 3: fetchable only by "e" */
  unsigned char e_attrs[512];         /* what "e" reported (IPP-encoded) */
  size_t e_attrs_len;
  bool verbose; /* FUZZ_VERBOSE set: print each status */
} fuzz_server_t;

static fuzz_server_t fuzz_server;

/* Authorization headers an input picks from with a four-bit selector.
 * 0-7 (what the low three bits of a fuzz-api-json input select): none,
 * the tenant-admin (twice as likely), the operator, and bogus ones (wrong
 * password, not base64, unknown token, name without @tenant).
 * 8-15, the device channel: device "d" (Bearer twice, Basic with the name
 * as user, Basic with the uuid as user: the last ':' counts), device "e",
 * the deleted device "x", an unknown credential, none. */
static const char *const fuzz_authorizations[16] = {
    "",
    "Basic dUB0OnA=",             /* u@t:p */
    "Basic dUB0OnA=",             /* u@t:p */
    "Basic YWRtaW5Ac3lzdGVtOnA=", /* admin@system:p */
    "Basic dUB0Ong=",             /* u@t:x: wrong password */
    "Basic !!not-base64!!",
    "Bearer nmb_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "Basic dTpw", /* u:p: no tenant in the name */
    "Bearer " FUZZ_CRED_D,
    "Bearer " FUZZ_CRED_D,
    "Basic ZDpubWRfZnV6ekRldmljZURBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQQ==", /* d:cred */
    "Basic dXJuOnV1aWQ6MDAwMDAwMDAtMDAwMC00MDAwLTgwMDAtMDAwMDAwMDAwMDAxOm5tZF9mdXp6RGV2aWNlREFB"
    "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB", /* urn:uuid:...0001:cred */
    "Bearer " FUZZ_CRED_E,
    "Bearer " FUZZ_CRED_X,
    "Bearer nmd_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "",
};

static const char *fuzz_authorization(uint8_t selector) {
  return fuzz_authorizations[selector & 15];
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
  job_set_observer(NULL, NULL);
  notify_free(srv->notify);
  device_presence_free(srv->presence);
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

/* Delete whichever registration of tenant "t" is named `name` or holds
 * `uuid` (either may be NULL), so a fixture can take them again. */
static void fuzz_device_evict(const char *name, const char *uuid) {
  nimbus_server_t *srv = &fuzz_server.srv;
  nimbus_device_t old;
  if (name && store_device_get_by_name(srv->store, fuzz_server.tenant.id, name, &old) == STORE_OK)
    device_delete(srv, old.tenant_id, old.id, "fuzz", NULL);
  if (uuid && store_device_get_by_uuid(srv->store, uuid, &old) == STORE_OK)
    device_delete(srv, old.tenant_id, old.id, "fuzz", NULL);
}

/* Register device `name` on queue "q" with a fixed uuid and credential
 * (straight through the store: insert with a private claim, claim it). */
static void fuzz_device_register(const char *name, const char *uuid, const char *credential,
                                 nimbus_device_t *out) {
  nimbus_server_t *srv = &fuzz_server.srv;
  char claim_src[64];
  unsigned char claim[32], cred[32];
  snprintf(claim_src, sizeof claim_src, "fuzz-claim-%s", name);
  crypto_token_hash(claim_src, claim);
  crypto_token_hash(credential, cred);
  fuzz_device_evict(name, uuid);
  nimbus_device_t d;
  memset(&d, 0, sizeof d);
  d.tenant_id = fuzz_server.tenant.id;
  snprintf(d.name, sizeof d.name, "%s", name);
  d.nqueues = 1;
  d.queue_ids[0] = fuzz_server.queue.id;
  memcpy(d.claim_hash, claim, sizeof claim);
  d.claim_expires_at = (int64_t)time(NULL) + 3600;
  if (store_device_insert(srv->store, &d) != STORE_OK) fuzz_die("device insert", name);
  if (store_device_claim(srv->store, claim, (int64_t)time(NULL), uuid, cred, out) != STORE_OK)
    fuzz_die("device claim", name);
}

/* Append one attribute value (name "" for additional values) to an
 * IPP-encoded buffer of fuzz_server.e_attrs's size. */
static void fuzz_ipp_value(int tag, const char *name, const void *value, size_t len) {
  unsigned char *p = fuzz_server.e_attrs + fuzz_server.e_attrs_len;
  size_t nlen = strlen(name);
  if (fuzz_server.e_attrs_len + 5 + nlen + len > sizeof fuzz_server.e_attrs)
    fuzz_die("fixture attributes too long", name);
  *p++ = (unsigned char)tag;
  *p++ = (unsigned char)(nlen >> 8);
  *p++ = (unsigned char)nlen;
  memcpy(p, name, nlen);
  p += nlen;
  *p++ = (unsigned char)(len >> 8);
  *p++ = (unsigned char)len;
  memcpy(p, value, len);
  fuzz_server.e_attrs_len += 5 + nlen + len;
}

/* What "e" has reported (Update-Output-Device-Attributes), so that the
 * queue's Get-Printer-Attributes shows a device's capabilities. */
static void fuzz_make_e_attrs(void) {
  static const unsigned char head[] = {2, 0, 0, 0, 0, 0, 0, 1, 0x04 /* printer group */};
  static const unsigned char idle[] = {0, 0, 0, 3}, yes[] = {1};
  memcpy(fuzz_server.e_attrs, head, sizeof head);
  fuzz_server.e_attrs_len = sizeof head;
  fuzz_ipp_value(0x23, "printer-state", idle, sizeof idle);
  fuzz_ipp_value(0x41, "printer-make-and-model", "Fuzz Printer E", 14);
  fuzz_ipp_value(0x49, "document-format-supported", "application/pdf", 15);
  fuzz_ipp_value(0x49, "", "image/urf", 9);
  fuzz_ipp_value(0x44, "media-supported", "iso_a4_210x297mm", 16);
  fuzz_ipp_value(0x44, "", "na_letter_8.5x11in", 18);
  fuzz_ipp_value(0x44, "sides-supported", "one-sided", 9);
  fuzz_ipp_value(0x44, "", "two-sided-long-edge", 19);
  fuzz_ipp_value(0x22, "color-supported", yes, sizeof yes);
  fuzz_server.e_attrs[fuzz_server.e_attrs_len++] = 0x03; /* end-of-attributes */
}

/* Device `name` is registered with its fixed credential, uuid and queue,
 * and has reported exactly `attrs` (len 0: nothing). */
static void fuzz_ensure_device(const char *name, const char *uuid, const char *credential,
                               const unsigned char *attrs, size_t attrs_len, nimbus_device_t *out) {
  store_t *st = fuzz_server.srv.store;
  unsigned char cred[32];
  crypto_token_hash(credential, cred);
  if (store_device_get_by_credential(st, cred, out) == STORE_OK && strcmp(out->uuid, uuid) == 0 &&
      strcmp(out->name, name) == 0 && out->tenant_id == fuzz_server.tenant.id &&
      out->nqueues == 1 && out->queue_ids[0] == fuzz_server.queue.id) {
    /* Attributes an input reported would pile up from input to input. */
    void *blob = NULL;
    size_t len = 0;
    store_status_t s = store_device_get_attrs(st, out->tenant_id, out->id, &blob, &len);
    bool same = s == STORE_OK && len == attrs_len && (len == 0 || memcmp(blob, attrs, len) == 0);
    free(blob);
    if (same) return;
  }
  fuzz_device_register(name, uuid, credential, out);
  if (attrs_len && store_device_set_reported(st, out->tenant_id, out->id, 3, "none",
                                             "Fuzz Printer E", attrs, attrs_len) != STORE_OK)
    fuzz_die("device attributes", name);
}

/* Unclaimed device "r" waits for the claim code FUZZ_CLAIM_CODE. */
static void fuzz_ensure_claim(void) {
  nimbus_server_t *srv = &fuzz_server.srv;
  unsigned char claim[32];
  crypto_token_hash(FUZZ_CLAIM_CODE, claim);
  nimbus_device_t r;
  if (store_device_get_by_name(srv->store, fuzz_server.tenant.id, "r", &r) != STORE_OK) {
    memset(&r, 0, sizeof r);
    r.tenant_id = fuzz_server.tenant.id;
    snprintf(r.name, sizeof r.name, "r");
    r.nqueues = 1;
    r.queue_ids[0] = fuzz_server.queue.id;
    memcpy(r.claim_hash, claim, sizeof claim);
    r.claim_expires_at = (int64_t)time(NULL) + 3600;
    if (store_device_insert(srv->store, &r) != STORE_OK) fuzz_die("device insert", "r");
  } else if (r.claim_expires_at == 0 &&
             store_device_set_claim(srv->store, r.tenant_id, r.id, claim,
                                    (int64_t)time(NULL) + 3600) != STORE_OK) {
    fuzz_die("device claim code", "r");
  }
}

/* A job of "u" in "q" in `state` with the documents of `docs` (data NULL:
 * a spool document with `data_len` bytes; blob_key "" kept as purged). */
static nimbus_id_t fuzz_add_device_job(nimbus_job_state_t state, const nimbus_document_t *docs,
                                       const store_inline_t *data, int ndocs) {
  nimbus_job_t job;
  nimbus_document_t d[4];
  memset(&job, 0, sizeof job);
  memcpy(d, docs, sizeof d[0] * (size_t)ndocs);
  job.tenant_id = fuzz_server.tenant.id;
  job.queue_id = fuzz_server.queue.id;
  job.owner_id = fuzz_server.user.id;
  snprintf(job.queue_name, sizeof job.queue_name, "q");
  snprintf(job.owner_name, sizeof job.owner_name, "u");
  snprintf(job.name, sizeof job.name, "fuzz device job");
  snprintf(job.origin_host, sizeof job.origin_host, "127.0.0.1");
  snprintf(job.attrs_json, sizeof job.attrs_json, "{}");
  job.state = state;
  job.copies = 1;
  job.num_documents = ndocs;
  if (store_job_insert_data(fuzz_server.srv.store, &job, d, data, ndocs) != STORE_OK)
    fuzz_die("device job insert", NULL);
  return job.id;
}

/* The documents of the fixture jobs: inline, spooled, purged. */
static void fuzz_add_device_jobs(void) {
  nimbus_server_t *srv = &fuzz_server.srv;
  static const char pdf[] = "%PDF-1.4\n%fuzz\n1 0 obj<</Type/Catalog>>endobj\n%%EOF\n";
  nimbus_document_t docs[3];
  store_inline_t data[3];
  memset(docs, 0, sizeof docs);
  memset(data, 0, sizeof data);
  for (int i = 0; i < 3; i++) {
    snprintf(docs[i].format, sizeof docs[i].format, "application/pdf");
    snprintf(docs[i].name, sizeof docs[i].name, "doc%d", i + 1);
    docs[i].pages = 1;
  }
  snprintf(docs[0].blob_key, sizeof docs[0].blob_key, "%s", STORE_INLINE_BLOB_KEY);
  docs[0].size = (int64_t)sizeof pdf - 1;
  data[0].data = pdf;
  data[0].len = sizeof pdf - 1;
  blob_writer_t *w = blob_writer_new(srv->blobs);
  if (!w || !blob_writer_write(w, pdf, sizeof pdf - 1) || !blob_writer_commit(w, docs[1].blob_key))
    fuzz_die("spool document", NULL);
  docs[1].size = (int64_t)sizeof pdf - 1;
  /* docs[2]: blob_key "": the data is no longer kept */

  fuzz_server.job_fetchable = fuzz_add_device_job(NIMBUS_JOB_FETCHABLE, docs, data, 1);
  fuzz_server.job_processing = fuzz_add_device_job(NIMBUS_JOB_FETCHABLE, docs, data, 3);
  fuzz_server.job_targeted = fuzz_add_device_job(NIMBUS_JOB_FETCHABLE, docs, data, 1);
}

/* Put fixture job `id` back into `state`, assigned to `device`, fetchable
 * only by `target` (0: any device). */
static void fuzz_reset_job(nimbus_id_t id, nimbus_job_state_t state, nimbus_id_t device,
                           nimbus_id_t target) {
  store_t *st = fuzz_server.srv.store;
  nimbus_id_t tenant = fuzz_server.tenant.id;
  nimbus_job_t job;
  if (store_job_get(st, tenant, id, &job) != STORE_OK) fuzz_die("fixture job lost", NULL);
  store_job_change_t reset = {.job_id = id,
                              .expected = job.state,
                              .next = state,
                              .set = STORE_JOB_SET_DEVICE | STORE_JOB_SET_TARGET,
                              .device_id = device,
                              .target_device_id = target,
                              .event = "fuzz-reset"};
  if ((job.state != state || job.device_id != device || job.target_device_id != target) &&
      store_job_apply(st, tenant, &reset, 1) != STORE_OK)
    fuzz_die("fixture job reset", NULL);
}

/*
 * Before each device-channel input: devices "d" and "e" registered (an
 * input may have deregistered them), "r" waiting for its claim code, the
 * fixture jobs in their states, and a fresh notify_t (subscriptions 1 and
 * 2, one event each), so what an input sees does not depend on the inputs
 * before it.
 */
static inline void fuzz_reset_devices(void) {
  nimbus_server_t *srv = &fuzz_server.srv;
  fuzz_ensure_device("d", FUZZ_UUID_D, FUZZ_CRED_D, NULL, 0, &fuzz_server.dev_d);
  fuzz_ensure_device("e", FUZZ_UUID_E, FUZZ_CRED_E, fuzz_server.e_attrs, fuzz_server.e_attrs_len,
                     &fuzz_server.dev_e);
  fuzz_ensure_claim();
  fuzz_reset_job(fuzz_server.job_fetchable, NIMBUS_JOB_FETCHABLE, 0, 0);
  fuzz_reset_job(fuzz_server.job_processing, NIMBUS_JOB_PROCESSING, fuzz_server.dev_d.id, 0);
  fuzz_reset_job(fuzz_server.job_targeted, NIMBUS_JOB_FETCHABLE, 0, fuzz_server.dev_e.id);

  notify_free(srv->notify);
  if (!(srv->notify = notify_new(1, NULL))) fuzz_die("notify_new", NULL);
  nimbus_id_t t = fuzz_server.tenant.id, q = fuzz_server.queue.id;
  unsigned ev = NOTIFY_JOB_FETCHABLE | NOTIFY_JOB_STATE_CHANGED;
  if (notify_subscribe(srv->notify, t, q, fuzz_server.dev_d.id, ev, 3600) != 1 ||
      notify_subscribe(srv->notify, t, q, fuzz_server.dev_e.id, ev, 3600) != 2)
    fuzz_die("notify_subscribe", NULL);
  notify_job_event(srv->notify, t, q, 0, NOTIFY_JOB_FETCHABLE, fuzz_server.job_fetchable,
                   job_ipp_state(NIMBUS_JOB_FETCHABLE));
}

/*
 * After a device-channel input: a fixture job in processing belongs to a
 * registered device (deregistration offers its jobs again in the same
 * transaction), and a fetchable one to none.
 */
static inline bool fuzz_device_jobs_consistent(void) {
  store_t *st = fuzz_server.srv.store;
  nimbus_id_t ids[3] = {fuzz_server.job_fetchable, fuzz_server.job_processing,
                        fuzz_server.job_targeted};
  for (int i = 0; i < 3; i++) {
    nimbus_job_t job;
    nimbus_device_t d;
    if (store_job_get(st, fuzz_server.tenant.id, ids[i], &job) != STORE_OK) return false;
    if (job.state == NIMBUS_JOB_PROCESSING &&
        (job.device_id == 0 ||
         store_device_get(st, fuzz_server.tenant.id, job.device_id, &d) != STORE_OK))
      return false;
    if (job.state == NIMBUS_JOB_FETCHABLE && job.device_id != 0) return false;
  }
  return true;
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
  store_options_t sopts = {.group_commit_max = srv->cfg.group_commit, .readers = 2};
  if (!(srv->store = store_open(path, &sopts, err, sizeof err))) fuzz_die("store_open", err);
  snprintf(path, sizeof path, "%s/spool", fuzz_server.dir);
  if (!(srv->blobs = blob_store_open(path, "fuzz", err, sizeof err))) fuzz_die("blob_store_open", err);
  srv->workers = workers_start(1, 16);
  srv->metrics = metrics_new();
  throttle_limits_init(&srv->throttle, 10, 50, 5, 900, DEVICE_CLAIM_MAX_FAILURES,
                       DEVICE_CLAIM_WINDOW);
  srv->auth_cache = auth_cache_new(300, &srv->throttle);
  srv->notify = notify_new(1, NULL);
  srv->presence = device_presence_new();
  srv->started_at = time(NULL);
  if (!srv->workers || !srv->metrics || !srv->auth_cache || !srv->notify || !srv->presence)
    fuzz_die("out of memory", NULL);
  job_set_observer(device_job_changed, srv);

  nimbus_tenant_t sys;
  fuzz_add_tenant("system", &sys);
  fuzz_add_user(sys.id, "admin", NIMBUS_ROLE_OPERATOR, NULL);
  fuzz_add_tenant("t", &fuzz_server.tenant);
  fuzz_add_user(fuzz_server.tenant.id, "u", NIMBUS_ROLE_TENANT_ADMIN, &fuzz_server.user);
  fuzz_add_user(fuzz_server.tenant.id, "v", NIMBUS_ROLE_USER, NULL);
  fuzz_ensure_queue("q", false, &fuzz_server.queue);
  fuzz_ensure_queue("anon", true, NULL);
  if (!crypto_pin_hash("1234", fuzz_server.pin_hash)) fuzz_die("PIN hash", NULL);

  nimbus_device_t x;
  fuzz_device_register("x", FUZZ_UUID_X, FUZZ_CRED_X, &x);
  if (device_delete(srv, x.tenant_id, x.id, "fuzz", NULL) != STORE_OK)
    fuzz_die("device delete", "x");
  fuzz_make_e_attrs();
  fuzz_ensure_device("d", FUZZ_UUID_D, FUZZ_CRED_D, NULL, 0, &fuzz_server.dev_d);
  fuzz_ensure_device("e", FUZZ_UUID_E, FUZZ_CRED_E, fuzz_server.e_attrs, fuzz_server.e_attrs_len,
                     &fuzz_server.dev_e);
  fuzz_add_device_jobs();
  fuzz_reset_devices();
}

/* With FUZZ_VERBOSE: the request counter lines of /metrics that `after`
 * has and `before` has not (the operation label and IPP status of the
 * request just run). */
static void fuzz_print_new_series(const char *before, const char *after) {
  const char *prefix = "nimbus_requests_total{";
  for (const char *l = after; l && *l;) {
    const char *end = strchr(l, '\n');
    size_t n = end ? (size_t)(end - l) : strlen(l);
    if (strncmp(l, prefix, strlen(prefix)) == 0) {
      bool seen = false;
      for (const char *b = strstr(before, prefix); b && !seen; b = strstr(b + 1, prefix))
        seen = strncmp(b, l, n) == 0 && (b[n] == '\n' || b[n] == '\0');
      if (!seen) fprintf(stderr, "fuzz-server:   %.*s\n", (int)n, l);
    }
    l = end ? end + 1 : NULL;
  }
}

/* Run one request against the server; returns the HTTP status. */
/* Run one request; `inspect` (may be NULL) sees the response before it
 * is freed (http_request_run_detached_inspect). */
static int fuzz_request_inspect(const char *method, const char *path, const char *content_type,
                                const char *authorization, const void *body, size_t len,
                                size_t chunk, http_detached_inspect_fn inspect, void *arg) {
  size_t mlen = 0;
  char *before = fuzz_server.verbose
                     ? metrics_render(fuzz_server.srv.metrics, fuzz_server.srv.store, 0, &mlen)
                     : NULL;
  int status = http_request_run_detached_inspect(&fuzz_server.srv, method, path, content_type,
                                                 authorization, body, len, chunk, inspect, arg);
  if (fuzz_server.verbose) {
    fprintf(stderr, "fuzz-server: %s %s (%zu bytes, chunk %zu, auth '%s') -> %d\n", method, path,
            len, chunk, authorization, status);
    char *after = metrics_render(fuzz_server.srv.metrics, fuzz_server.srv.store, 0, &mlen);
    if (before && after) fuzz_print_new_series(before, after);
    free(after);
  }
  free(before);
  return status;
}

static inline int fuzz_request(const char *method, const char *path, const char *content_type,
                               const char *authorization, const void *body, size_t len,
                               size_t chunk) {
  return fuzz_request_inspect(method, path, content_type, authorization, body, len, chunk, NULL,
                              NULL);
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
