/*
 * device.c: output-device registrations (see device.h): claim codes,
 * credentials, device-channel authentication with the deregistration
 * answer, deletion (which of its jobs go back to fetchable or held is
 * decided here, through job.c; the store applies it with the delete in
 * one transaction) with its notice, and throttled liveness writes.
 */
#include "device.h"

#include <ctype.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "crypto.h"
#include "job.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"

#define DEVICE_PRESENCE_BUCKETS 4096

/* Crockford base32: no I, L, O, U, so codes read aloud or typed survive. */
static const char device_b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

bool device_uuid_valid(const char *uuid) {
  if (!uuid || strncasecmp(uuid, "urn:uuid:", 9) != 0) return false;
  const char *u = uuid + 9;
  if (strlen(u) != 36) return false;
  for (int i = 0; i < 36; i++) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (u[i] != '-') return false;
    } else if (!isxdigit((unsigned char)u[i])) {
      return false;
    }
  }
  return true;
}

/* "NMBC-" + 4 groups of 4 base32 chars (80 random bits). */
static void device_claim_code_new(char code[DEVICE_CLAIM_CODE_MAX]) {
  unsigned char raw[16];
  randombytes_buf(raw, sizeof raw);
  char *p = code + snprintf(code, DEVICE_CLAIM_CODE_MAX, "NMBC");
  for (int i = 0; i < 16; i++) {
    if (i % 4 == 0) *p++ = '-';
    *p++ = device_b32[raw[i] & 31];
  }
  *p = '\0';
  sodium_memzero(raw, sizeof raw);
}

/* Claim codes are matched case-insensitively, ignoring spaces, and with
 * the look-alikes O→0, I/L→1 folded, as Crockford base32 intends. */
static void device_claim_hash(const char *code, unsigned char out[32]) {
  char norm[DEVICE_CLAIM_CODE_MAX * 2];
  size_t n = 0;
  for (const char *c = code; *c && n < sizeof norm - 1; c++) {
    char ch = (char)toupper((unsigned char)*c);
    if (ch == ' ') continue;
    if (ch == 'O') ch = '0';
    if (ch == 'I' || ch == 'L') ch = '1';
    norm[n++] = ch;
  }
  norm[n] = '\0';
  crypto_hash_sha256(out, (const unsigned char *)norm, n);
  sodium_memzero(norm, sizeof norm);
}

static int64_t device_ttl(int64_t ttl) {
  if (ttl <= 0) return DEVICE_CLAIM_TTL_DEFAULT;
  return ttl > DEVICE_CLAIM_TTL_MAX ? DEVICE_CLAIM_TTL_MAX : ttl;
}

store_status_t device_create(nimbus_server_t *srv, nimbus_device_t *d, int64_t ttl,
                             char code[DEVICE_CLAIM_CODE_MAX], const store_audit_t *audit) {
  device_claim_code_new(code);
  device_claim_hash(code, d->claim_hash);
  d->claim_expires_at = (int64_t)time(NULL) + device_ttl(ttl);
  return store_device_insert_audited(srv->store, d, audit);
}

store_status_t device_new_claim(nimbus_server_t *srv, nimbus_id_t tenant_id, nimbus_id_t id,
                                int64_t ttl, char code[DEVICE_CLAIM_CODE_MAX],
                                const store_audit_t *audit) {
  unsigned char hash[32];
  device_claim_code_new(code);
  device_claim_hash(code, hash);
  return store_device_set_claim_audited(srv->store, tenant_id, id, hash,
                                        (int64_t)time(NULL) + device_ttl(ttl), audit);
}

/* A random version-4 UUID URN. */
static void device_uuid_new(char out[NIMBUS_UUID_MAX]) {
  unsigned char b[16];
  randombytes_buf(b, sizeof b);
  b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
  snprintf(out, NIMBUS_UUID_MAX,
           "urn:uuid:%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
           b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
           b[15]);
}

static device_claim_result_t device_claim_checked(nimbus_server_t *srv, const char *code,
                                                  const char *uuid, bool code_is_credential,
                                                  nimbus_device_t *d,
                                                  char credential[DEVICE_CREDENTIAL_MAX]);

/* ---- failed claims per client address: the store's sign-in throttle ---- */

int device_claim_wait(nimbus_server_t *srv, const char *peer) {
  unsigned char key[32];
  throttle_key(THROTTLE_CLAIM, peer ? peer : "", NULL, key);
  return throttle_retry_after(srv->store, &srv->throttle, THROTTLE_CLAIM, key);
}

/* device_claim() and device_claim_keep_code(): the store's throttle
 * (failed claims per client address) around the claim. */
static device_claim_result_t device_claim_throttled(nimbus_server_t *srv, const char *code,
                                                    const char *uuid, bool code_is_credential,
                                                    const char *peer, nimbus_device_t *d,
                                                    char credential[DEVICE_CREDENTIAL_MAX]) {
  unsigned char key[32];
  throttle_key(THROTTLE_CLAIM, peer ? peer : "", NULL, key);
  if (throttle_retry_after(srv->store, &srv->throttle, THROTTLE_CLAIM, key) > 0)
    return DEVICE_CLAIM_THROTTLED;
  device_claim_result_t r =
      device_claim_checked(srv, code, uuid, code_is_credential, d, credential);
  if (r == DEVICE_CLAIM_BAD_CODE) throttle_failed(srv->store, &srv->throttle, THROTTLE_CLAIM, key);
  return r;
}

device_claim_result_t device_claim(nimbus_server_t *srv, const char *code, const char *uuid,
                                   const char *peer, nimbus_device_t *d,
                                   char credential[DEVICE_CREDENTIAL_MAX]) {
  return device_claim_throttled(srv, code, uuid, false, peer, d, credential);
}

device_claim_result_t device_claim_keep_code(nimbus_server_t *srv, const char *code,
                                             const char *uuid, const char *peer,
                                             nimbus_device_t *d) {
  char unused[DEVICE_CREDENTIAL_MAX];
  return device_claim_throttled(srv, code, uuid, true, peer, d, unused);
}

/* device_claim() once the client may try.  code_is_credential: the claim
 * code itself becomes the device credential (its hash is stored as the
 * credential hash) and `credential` is left empty. */
static device_claim_result_t device_claim_checked(nimbus_server_t *srv, const char *code,
                                                  const char *uuid, bool code_is_credential,
                                                  nimbus_device_t *d,
                                                  char credential[DEVICE_CREDENTIAL_MAX]) {
  credential[0] = '\0';
  char id[NIMBUS_UUID_MAX];
  if (uuid && *uuid) {
    if (!device_uuid_valid(uuid)) return DEVICE_CLAIM_BAD_UUID;
    snprintf(id, sizeof id, "%s", uuid);
    for (char *p = id + 9; *p; p++) *p = (char)tolower((unsigned char)*p);
  } else {
    device_uuid_new(id);
  }
  if (!code || !*code || strlen(code) >= DEVICE_CLAIM_CODE_MAX) return DEVICE_CLAIM_BAD_CODE;
  unsigned char claim[32], cred[32];
  device_claim_hash(code, claim);
  if (code_is_credential) {
    memcpy(cred, claim, sizeof cred);
  } else {
    crypto_token_new_prefixed("nmd_", credential);
    crypto_token_hash(credential, cred);
  }
  /* the claimed device's tenant and name complete the audit row */
  store_audit_t audit = {.actor = id, .action = "device.register"};
  store_status_t s =
      store_device_claim_audited(srv->store, claim, (int64_t)time(NULL), id, cred, d, &audit);
  sodium_memzero(claim, sizeof claim);
  if (s != STORE_OK) sodium_memzero(credential, DEVICE_CREDENTIAL_MAX);
  switch (s) {
    case STORE_OK:
      log_event(LOG_INFO, NULL, "device registered", "tenant_id", LOG_INT(d->tenant_id), "device",
                d->name, "uuid", d->uuid, (char *)NULL);
      return DEVICE_CLAIM_OK;
    case STORE_NOT_FOUND:
      return DEVICE_CLAIM_BAD_CODE;
    case STORE_CONFLICT:
      return DEVICE_CLAIM_UUID_TAKEN;
    default:
      return DEVICE_CLAIM_ERROR;
  }
}

/* ---- deletion: what becomes of the device's jobs ---- */

#define DEVICE_REOFFER_DETAIL "output device registration deleted"
#define DEVICE_UNTARGET_DETAIL "its printer was deleted"
#define DEVICE_DELETE_TRIES 5 /* listings before a busy device's delete gives up */

/* What the decision needs of a job of the device (a list callback must
 * not call the store, so the jobs are collected first). */
typedef struct {
  nimbus_id_t id, number, queue_id, device_id, target_device_id;
  nimbus_job_state_t state;
} device_job_t;

typedef struct {
  device_job_t *v;
  size_t n, cap;
  nimbus_id_t device; /* the device being deleted */
  bool failed;        /* out of memory */
} device_jobs_t;

/* Keeps processing jobs on the device and fetchable jobs released to it
 * alone (the fetchable listing also has those for any printer). */
static bool device_jobs_cb(const nimbus_job_t *job, void *ctx) {
  device_jobs_t *v = ctx;
  if (job->state == NIMBUS_JOB_FETCHABLE && job->target_device_id != v->device) return true;
  if (v->n == v->cap) {
    size_t cap = v->cap ? v->cap * 2 : 16;
    device_job_t *nv = realloc(v->v, cap * sizeof *nv);
    if (!nv) {
      v->failed = true;
      return false;
    }
    v->v = nv;
    v->cap = cap;
  }
  v->v[v->n++] = (device_job_t){.id = job->id,
                                .number = job->number,
                                .queue_id = job->queue_id,
                                .device_id = job->device_id,
                                .target_device_id = job->target_device_id,
                                .state = job->state};
  return true;
}

/* The job events that put j where device deletion wants it, appended to
 * changes (room for two per job): a processing job is offered again
 * (REOFFER: fetchable, no device); a job released to this printer alone
 * goes back to held (HOLD, target cleared): it was meant for it, not for
 * whichever printer of the queue asks next.  A processing job released to
 * it alone takes both.  Returns false when the state machine refuses (the
 * job changed since it was listed). */
static bool device_job_moves(const device_job_t *j, nimbus_id_t device, store_job_change_t *changes,
                             size_t *n) {
  nimbus_job_t cur;
  memset(&cur, 0, sizeof cur);
  cur.id = j->id;
  cur.state = j->state;
  cur.device_id = j->device_id;
  if (cur.state == NIMBUS_JOB_PROCESSING) {
    if (!job_change(&cur, JOB_EVENT_REOFFER, device, DEVICE_REOFFER_DETAIL, &changes[*n]))
      return false;
    cur.state = changes[*n].next;
    cur.device_id = 0;
    (*n)++;
  }
  if (j->target_device_id != device) return true;
  if (!job_change(&cur, JOB_EVENT_HOLD, 0, DEVICE_UNTARGET_DETAIL, &changes[*n])) return false;
  changes[*n].set |= STORE_JOB_SET_TARGET;
  changes[*n].target_device_id = 0;
  (*n)++;
  return true;
}

/* One round of device_delete_registration(): list, decide, delete. */
static store_status_t device_delete_round(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                          device_jobs_t *jobs, nimbus_device_t *out,
                                          const store_audit_t *audit) {
  /* The states in which a job must not name a deleted device. */
  static const nimbus_job_state_t live[] = {NIMBUS_JOB_PROCESSING, NIMBUS_JOB_FETCHABLE};
  jobs->n = 0;
  store_job_filter_t f = {.tenant_id = tenant_id, .device_id = id, .which = STORE_WHICH_PROCESSING};
  store_status_t s = store_job_list(st, &f, device_jobs_cb, jobs, NULL);
  if (s == STORE_OK) {
    f = (store_job_filter_t){
        .tenant_id = tenant_id, .which = STORE_WHICH_FETCHABLE, .fetchable_for = id};
    s = store_job_list(st, &f, device_jobs_cb, jobs, NULL);
  }
  if (s == STORE_OK && jobs->failed) s = STORE_ERROR;
  if (s != STORE_OK) return s;
  store_job_change_t *changes = calloc(jobs->n ? 2 * jobs->n : 1, sizeof *changes);
  if (!changes) return STORE_ERROR;
  size_t n = 0;
  bool decided = true;
  for (size_t i = 0; i < jobs->n && decided; i++)
    decided = device_job_moves(&jobs->v[i], id, changes, &n);
  s = decided ? store_device_delete_audited(st, tenant_id, id, changes, n, live,
                                            sizeof live / sizeof live[0], out, audit)
              : STORE_CONFLICT;
  free(changes);
  return s;
}

store_status_t device_delete_registration(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                          nimbus_device_t *out, device_reoffered_t **reoffered,
                                          size_t *nreoffered, const store_audit_t *audit) {
  *reoffered = NULL;
  *nreoffered = 0;
  device_jobs_t jobs = {.device = id};
  store_status_t s = STORE_CONFLICT;
  for (int attempt = 0; attempt < DEVICE_DELETE_TRIES && s == STORE_CONFLICT; attempt++)
    s = device_delete_round(st, tenant_id, id, &jobs, out, audit);
  if (s == STORE_OK && jobs.n > 0) {
    /* The jobs now fetchable for any printer of their queue. */
    device_reoffered_t *r = calloc(jobs.n, sizeof *r);
    size_t n = 0;
    for (size_t i = 0; r && i < jobs.n; i++)
      if (jobs.v[i].state == NIMBUS_JOB_PROCESSING && jobs.v[i].target_device_id != id)
        r[n++] = (device_reoffered_t){.number = jobs.v[i].number, .queue_id = jobs.v[i].queue_id};
    *reoffered = r;
    *nreoffered = r ? n : 0;
  }
  free(jobs.v);
  return s;
}

store_status_t device_delete(nimbus_server_t *srv, nimbus_id_t tenant_id, nimbus_id_t id,
                             const char *actor, nimbus_device_t *out) {
  nimbus_device_t d;
  device_reoffered_t *reoffered;
  size_t n;
  store_audit_t audit = {.tenant_id = tenant_id, .actor = actor, .action = "device.delete"};
  store_status_t s =
      device_delete_registration(srv->store, tenant_id, id, &d, &reoffered, &n, &audit);
  if (s != STORE_OK) return s;
  device_presence_forget(srv, d.id);
  if (srv->notify) {
    notify_device_deleted(srv->notify, d.id);
    /* Its jobs went back to fetchable in the same transaction: tell the
     * queue's other devices. */
    static const char *const fetchable[] = {"job-fetchable"};
    for (size_t i = 0; i < n; i++)
      notify_job_event_reasons(srv->notify, tenant_id, reoffered[i].queue_id, 0,
                               NOTIFY_JOB_FETCHABLE, reoffered[i].number,
                               job_ipp_state(NIMBUS_JOB_FETCHABLE), fetchable, 1);
  }
  free(reoffered);
  log_event(LOG_INFO, NULL, "device deregistered", "tenant_id", LOG_INT(tenant_id), "device",
            d.name, "uuid", d.uuid[0] ? d.uuid : NULL, "by", actor, (char *)NULL);
  if (out) *out = d;
  return STORE_OK;
}

bool device_credential_of(const char *authorization, char *cred, size_t credlen) {
  if (strncasecmp(authorization, "Bearer ", 7) == 0) {
    snprintf(cred, credlen, "%s", authorization + 7);
    return cred[0] != '\0';
  }
  if (strncasecmp(authorization, "Basic ", 6) != 0) return false;
  unsigned char raw[256];
  size_t rawlen = 0;
  const char *b64 = authorization + 6;
  if (sodium_base642bin(raw, sizeof raw - 1, b64, strlen(b64), " ", &rawlen, NULL,
                        sodium_base64_VARIANT_ORIGINAL) != 0)
    return false;
  raw[rawlen] = '\0';
  /* The password follows the last colon: user names (a device name, or
   * even a urn:uuid) are not used. */
  char *colon = strrchr((char *)raw, ':');
  bool ok = colon && strlen((char *)raw) == rawlen && colon[1];
  if (ok) snprintf(cred, credlen, "%s", colon + 1);
  sodium_memzero(raw, sizeof raw);
  return ok;
}

/* A claim code kept as the credential (NMBC-...), as a proxy that
 * registered with it as its HTTP password sends it. */
static bool device_is_claim_code(const char *cred) {
  return strncasecmp(cred, "NMBC-", 5) == 0;
}

/* The stored hash of a credential: SHA-256 of an nmd_ credential; a claim
 * code kept as the credential is hashed as claim codes are (normalised). */
static void device_credential_hash(const char *cred, unsigned char out[32]) {
  if (device_is_claim_code(cred))
    device_claim_hash(cred, out);
  else
    crypto_token_hash(cred, out);
}

bool device_credential_present(const char *authorization) {
  char cred[128];
  if (!authorization || strlen(authorization) > 512 ||
      !device_credential_of(authorization, cred, sizeof cred))
    return false;
  bool yes = strncmp(cred, "nmd_", 4) == 0 || device_is_claim_code(cred);
  sodium_memzero(cred, sizeof cred);
  return yes;
}

device_auth_result_t device_auth(nimbus_server_t *srv, const char *authorization,
                                 nimbus_device_t *out, nimbus_tenant_t *tenant) {
  memset(out, 0, sizeof *out);
  if (!authorization || !*authorization) return DEVICE_AUTH_NONE;
  char cred[128];
  if (strlen(authorization) > 512 || !device_credential_of(authorization, cred, sizeof cred))
    return DEVICE_AUTH_BAD;
  unsigned char hash[32];
  device_credential_hash(cred, hash);
  sodium_memzero(cred, sizeof cred);
  store_status_t s = store_device_get_by_credential(srv->store, hash, out);
  if (s == STORE_OK) {
    nimbus_tenant_t own;
    if (!tenant) tenant = &own;
    if (store_tenant_get(srv->store, out->tenant_id, tenant) != STORE_OK) return DEVICE_AUTH_ERROR;
    return tenant->suspended ? DEVICE_AUTH_SUSPENDED : DEVICE_AUTH_OK;
  }
  if (s != STORE_NOT_FOUND) return DEVICE_AUTH_ERROR;
  nimbus_device_tombstone_t t;
  s = store_device_tombstone_lookup(srv->store, hash, &t);
  if (s == STORE_OK) {
    metrics_deleted_device_request(srv->metrics);
    out->id = t.device_id;
    out->tenant_id = t.tenant_id;
    snprintf(out->name, sizeof out->name, "%s", t.name);
    snprintf(out->uuid, sizeof out->uuid, "%s", t.uuid);
    return DEVICE_AUTH_DELETED;
  }
  return s == STORE_NOT_FOUND ? DEVICE_AUTH_BAD : DEVICE_AUTH_ERROR;
}

void device_job_changed(void *ctx, const nimbus_job_t *job, nimbus_job_state_t from) {
  nimbus_server_t *srv = ctx;
  if (!srv->notify || job->state == from) return;
  /* Events carry the job's own job-state-reasons, as Get-Job-Attributes
   * reports them. */
  const char *reasons[NOTIFY_REASONS_MAX];
  int nreasons = job_ipp_state_reasons(job, reasons, NOTIFY_REASONS_MAX);
  if (job->state == NIMBUS_JOB_FETCHABLE)
    notify_job_event_reasons(srv->notify, job->tenant_id, job->queue_id, job->target_device_id,
                             NOTIFY_JOB_FETCHABLE, job->number, job_ipp_state(job->state), reasons,
                             nreasons);
  nimbus_id_t to = job->device_id ? job->device_id : job->target_device_id;
  notify_job_event_reasons(srv->notify, job->tenant_id, job->queue_id, to, NOTIFY_JOB_STATE_CHANGED,
                           job->number, job_ipp_state(job->state), reasons, nreasons);
}

bool device_serves_queue(const nimbus_device_t *d, nimbus_id_t queue_id) {
  for (int i = 0; i < d->nqueues; i++)
    if (d->queue_ids[i] == queue_id) return true;
  return false;
}

/* ---- liveness ---- */

/*
 * When each device was last heard from, in memory.  device_seen() only
 * marks the entry; device_presence_flush() (housekeeping, every few
 * seconds, and before each lease sweep) writes all marked entries in one
 * transaction, so 10,000 printers cost one sync per period rather than
 * one per request.  A changed transport (first contact, a switch between
 * polling and persistent) is written at once, so status pages never show
 * a device as never seen after it spoke.
 */
typedef struct device_seen_entry {
  nimbus_id_t id, tenant_id;
  int64_t seen_at;
  bool dirty;
  char transport[16];
  struct device_seen_entry *next;
} device_seen_entry_t;

struct device_presence {
  pthread_mutex_t mu;
  int ndirty;
  device_seen_entry_t *buckets[DEVICE_PRESENCE_BUCKETS];
};

device_presence_t *device_presence_new(void) {
  device_presence_t *p = calloc(1, sizeof *p);
  if (p) pthread_mutex_init(&p->mu, NULL);
  return p;
}

void device_presence_free(device_presence_t *p) {
  if (!p) return;
  for (int b = 0; b < DEVICE_PRESENCE_BUCKETS; b++) {
    while (p->buckets[b]) {
      device_seen_entry_t *e = p->buckets[b];
      p->buckets[b] = e->next;
      free(e);
    }
  }
  pthread_mutex_destroy(&p->mu);
  free(p);
}

void device_seen(nimbus_server_t *srv, const nimbus_device_t *d, const char *transport) {
  device_presence_t *p = srv->presence;
  int64_t now = (int64_t)time(NULL);
  bool write_now = true;
  if (p) {
    unsigned b = (unsigned)((uint64_t)d->id % DEVICE_PRESENCE_BUCKETS);
    pthread_mutex_lock(&p->mu);
    device_seen_entry_t *e = p->buckets[b];
    while (e && e->id != d->id) e = e->next;
    if (!e && (e = calloc(1, sizeof *e)) != NULL) {
      e->id = d->id;
      e->tenant_id = d->tenant_id;
      snprintf(e->transport, sizeof e->transport, "%s", d->transport); /* as stored */
      e->next = p->buckets[b];
      p->buckets[b] = e;
    }
    if (e) {
      write_now = strcmp(e->transport, transport) != 0;
      snprintf(e->transport, sizeof e->transport, "%s", transport);
      e->seen_at = now;
      if (!write_now && !e->dirty) p->ndirty++;
      if (!write_now) e->dirty = true;
    }
    pthread_mutex_unlock(&p->mu);
  }
  if (write_now) store_device_touch(srv->store, d->tenant_id, d->id, now, transport);
}

int64_t device_presence_seen_at(nimbus_server_t *srv, nimbus_id_t id) {
  device_presence_t *p = srv->presence;
  int64_t seen = 0;
  if (!p) return 0;
  unsigned b = (unsigned)((uint64_t)id % DEVICE_PRESENCE_BUCKETS);
  pthread_mutex_lock(&p->mu);
  for (const device_seen_entry_t *e = p->buckets[b]; e; e = e->next)
    if (e->id == id) seen = e->seen_at;
  pthread_mutex_unlock(&p->mu);
  return seen;
}

bool device_online(const nimbus_server_t *srv, int64_t seen_at) {
  int64_t window = srv->cfg.online_window > 0 ? srv->cfg.online_window : srv->cfg.notify_wait + 30;
  return seen_at > 0 && (int64_t)time(NULL) - seen_at <= window;
}

int device_presence_flush(nimbus_server_t *srv) {
  device_presence_t *p = srv->presence;
  if (!p) return 0;
  pthread_mutex_lock(&p->mu);
  int n = 0, cap = p->ndirty;
  store_device_seen_t *v = cap > 0 ? calloc((size_t)cap, sizeof *v) : NULL;
  for (int b = 0; v && b < DEVICE_PRESENCE_BUCKETS && n < cap; b++) {
    for (device_seen_entry_t *e = p->buckets[b]; e && n < cap; e = e->next) {
      if (!e->dirty) continue;
      v[n].tenant_id = e->tenant_id;
      v[n].id = e->id;
      v[n].seen_at = e->seen_at;
      snprintf(v[n].transport, sizeof v[n].transport, "%s", e->transport);
      e->dirty = false;
      n++;
    }
  }
  if (v) p->ndirty = 0;
  pthread_mutex_unlock(&p->mu);
  if (n > 0 && store_device_touch_many(srv->store, v, n) != STORE_OK)
    log_event(LOG_WARN, NULL, "could not record when printers were last seen", "count", LOG_INT(n),
              (char *)NULL);
  free(v);
  return n;
}

void device_presence_forget(nimbus_server_t *srv, nimbus_id_t id) {
  device_presence_t *p = srv->presence;
  if (!p) return;
  unsigned b = (unsigned)((uint64_t)id % DEVICE_PRESENCE_BUCKETS);
  pthread_mutex_lock(&p->mu);
  for (device_seen_entry_t **pp = &p->buckets[b]; *pp; pp = &(*pp)->next) {
    if ((*pp)->id == id) {
      device_seen_entry_t *e = *pp;
      *pp = e->next;
      if (e->dirty) p->ndirty--;
      free(e);
      break;
    }
  }
  pthread_mutex_unlock(&p->mu);
}

/* ---- leases ---- */

typedef struct {
  nimbus_id_t tenant[256], job[256], device[256];
  int n;
} device_stale_t;

static bool device_stale_cb(const nimbus_job_t *job, void *ctx) {
  device_stale_t *v = ctx;
  if (v->n >= 256) return false;
  v->tenant[v->n] = job->tenant_id;
  v->job[v->n] = job->id;
  v->device[v->n] = job->device_id;
  v->n++;
  return true;
}

int device_lease_sweep(nimbus_server_t *srv) {
  int total = 0;
  int64_t cutoff = (int64_t)time(NULL) - srv->cfg.device_lease;
  for (int round = 0; round < 64; round++) { /* 256 jobs a round */
    device_stale_t v = {.n = 0};
    if (store_job_list_lease_expired(srv->store, cutoff, device_stale_cb, &v) != STORE_OK) break;
    int moved = 0;
    for (int i = 0; i < v.n; i++) {
      /* The observer tells the queue's devices that the job is fetchable. */
      if (job_apply_device(srv->store, v.tenant[i], v.job[i], JOB_EVENT_REOFFER, v.device[i],
                           "lease-expired", NULL) == JOB_OK) {
        moved++;
        log_event(LOG_INFO, NULL, "job offered again: its device went silent", "job_id",
                  LOG_INT(v.job[i]), "device_id", LOG_INT(v.device[i]), (char *)NULL);
      }
    }
    total += moved;
    if (v.n < 256 || moved == 0) break;
  }
  return total;
}
