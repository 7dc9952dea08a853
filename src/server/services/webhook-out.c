/*
 * webhook-out.c: the outgoing webhooks of orders and alerts
 * (docs/PROVISIONING.md §11).  Headers as the incoming contract webhook
 * (§4): X-Nimbus-Sender: nimbus, X-Nimbus-Timestamp, X-Nimbus-Signature:
 * sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>; the receiver
 * deduplicates by the body's event_id ("order-<id>", "alert-<id>").  The
 * request uses common/http-client.c's hardened libcurl options; the
 * store keeps each delivery's state, attempts and next_at, so a restart
 * or another node goes on where it stopped (a receiver may see an event
 * twice, never lose one).  The secret is read from the file at each
 * sweep (a rotated file takes effect), never logged.
 */
#include "webhook-out.h"

#include <curl/curl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "http-client.h"
#include "log.h"
#include "service-config.h"

bool webhook_out_sign(const char *secret, int64_t ts, const char *body, size_t body_len, char *out,
                      size_t outlen) {
  if (outlen < 7 + 2 * crypto_auth_hmacsha256_BYTES + 1) return false;
  crypto_auth_hmacsha256_state st;
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  char prefix[32];
  int n = snprintf(prefix, sizeof prefix, "%lld.", (long long)ts);
  crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)prefix, (unsigned long long)n);
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, body_len);
  crypto_auth_hmacsha256_final(&st, mac);
  memcpy(out, "sha256=", 7);
  sodium_bin2hex(out + 7, outlen - 7, mac, sizeof mac);
  sodium_memzero(&st, sizeof st);
  return true;
}

int64_t webhook_out_backoff(int attempts) {
  if (attempts < 0) attempts = 0;
  if (attempts > 7) return 3600; /* 2^7 × 30 > 3600 */
  int64_t s = (int64_t)30 << attempts;
  return s > 3600 ? 3600 : s;
}

/* The secret: the file's first line, at least WEBHOOK_OUT_SECRET_MIN
 * bytes, the file not readable by group or others.  False (logged once
 * per reason) otherwise. */
static bool read_secret(const char *path, char *out, size_t cap) {
  static _Atomic int warned; /* 1 no file configured, 2 unusable */
  out[0] = '\0';
  if (!path[0]) {
    if (warned != 1)
      log_event(LOG_WARN, NULL,
                "supply orders and part alerts wait: no --service-webhook-secret-file",
                (char *)NULL);
    warned = 1;
    return false;
  }
  struct stat sb;
  FILE *f = NULL;
  const char *why = NULL;
  if (stat(path, &sb) != 0 || !(f = fopen(path, "r")))
    why = "cannot read the service webhook secret file";
  else if (sb.st_mode & (S_IRWXG | S_IRWXO))
    why = "the service webhook secret file is readable by group or others (chmod 600)";
  else if (!fgets(out, (int)cap, f))
    why = "the service webhook secret file is empty";
  if (f) fclose(f);
  if (!why) {
    out[strcspn(out, "\r\n")] = '\0';
    if (strlen(out) < WEBHOOK_OUT_SECRET_MIN)
      why = "the service webhook secret must be at least 32 characters";
  }
  if (why) {
    sodium_memzero(out, cap);
    if (warned != 2) log_event(LOG_WARN, NULL, why, "file", path, (char *)NULL);
    warned = 2;
    return false;
  }
  warned = 0;
  return true;
}

static size_t discard(char *p, size_t size, size_t n, void *ctx) {
  (void)p;
  (void)ctx;
  return size * n;
}

/* POST body to url signed; the HTTP status (0: no answer). */
static long post_signed(const char *url, const char *secret, const char *body) {
  CURL *curl = curl_easy_init();
  if (!curl) return 0;
  int64_t ts = (int64_t)time(NULL);
  char sig[96], h_ts[64], h_sig[128];
  webhook_out_sign(secret, ts, body, strlen(body), sig, sizeof sig);
  snprintf(h_ts, sizeof h_ts, "X-Nimbus-Timestamp: %lld", (long long)ts);
  snprintf(h_sig, sizeof h_sig, "X-Nimbus-Signature: %s", sig);
  struct curl_slist *h = NULL;
  h = curl_slist_append(h, "Content-Type: application/json");
  h = curl_slist_append(h, "X-Nimbus-Sender: nimbus");
  h = curl_slist_append(h, h_ts);
  h = curl_slist_append(h, h_sig);
  http_client_harden(curl, WEBHOOK_OUT_TIMEOUT);
  curl_easy_setopt(curl, CURLOPT_URL, url);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
  long code = 0;
  if (curl_easy_perform(curl) == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
  curl_slist_free_all(h);
  curl_easy_cleanup(curl);
  return code;
}

/* The names a body carries: the tenant's and the printer's. */
static void names_of(nimbus_server_t *srv, nimbus_id_t tenant_id, nimbus_id_t device_id,
                     char tenant[NIMBUS_NAME_MAX], char printer[NIMBUS_NAME_MAX]) {
  nimbus_tenant_t t;
  nimbus_device_t d;
  tenant[0] = printer[0] = '\0';
  if (store_tenant_get(srv->store, tenant_id, &t) == STORE_OK)
    snprintf(tenant, NIMBUS_NAME_MAX, "%s", t.name);
  if (store_device_get(srv->store, tenant_id, device_id, &d) == STORE_OK)
    snprintf(printer, NIMBUS_NAME_MAX, "%s", d.name);
}

static void time_text(int64_t t, char out[32]) {
  time_t tt = (time_t)t;
  struct tm tm;
  gmtime_r(&tt, &tm);
  strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Send one delivery (body built by the caller, url from cfg) and write
 * its outcome. */
static void deliver(nimbus_server_t *srv, store_delivery_kind_t kind, nimbus_id_t id, int attempts,
                    const char *url, json_t *body, const char *secret) {
  char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
  long code = 0;
  if (text && url) code = post_signed(url, secret, text);
  free(text);
  int64_t now = (int64_t)time(NULL);
  attempts++;
  nimbus_delivery_state_t state = NIMBUS_DELIVERY_PENDING;
  if (code >= 200 && code < 300)
    state = NIMBUS_DELIVERY_SENT;
  else if (!url || attempts >= WEBHOOK_OUT_MAX_ATTEMPTS)
    state = NIMBUS_DELIVERY_FAILED;
  const char *what = kind == STORE_DELIVERY_ORDER ? "supply order" : "part alert";
  if (state != NIMBUS_DELIVERY_SENT)
    log_event(state == NIMBUS_DELIVERY_FAILED ? LOG_WARN : LOG_INFO, NULL,
              state == NIMBUS_DELIVERY_FAILED ? "webhook delivery given up"
                                              : "webhook delivery failed, will retry",
              "what", what, "id", LOG_INT(id), "status", LOG_INT(code), "attempts",
              LOG_INT(attempts), "reason", url ? "receiver" : "no URL configured", (char *)NULL);
  store_delivery_mark(
      srv->store, kind, id, state, attempts,
      state == NIMBUS_DELIVERY_PENDING ? now + webhook_out_backoff(attempts - 1) : 0);
}

typedef struct {
  nimbus_supply_order_t orders[WEBHOOK_OUT_BATCH];
  nimbus_part_alert_t alerts[WEBHOOK_OUT_BATCH];
  int norders, nalerts;
} due_t;

static bool order_due(const nimbus_supply_order_t *o, void *ctx) {
  due_t *d = ctx;
  if (d->norders < WEBHOOK_OUT_BATCH) d->orders[d->norders++] = *o;
  return d->norders < WEBHOOK_OUT_BATCH;
}

static bool alert_due(const nimbus_part_alert_t *a, void *ctx) {
  due_t *d = ctx;
  if (d->nalerts < WEBHOOK_OUT_BATCH) d->alerts[d->nalerts++] = *a;
  return d->nalerts < WEBHOOK_OUT_BATCH;
}

/* The URL member of a service configuration, when an http(s) URL. */
static const char *url_of(const json_t *cfg, const char *member) {
  const char *u = json_string_value(json_object_get(cfg, member));
  return u && (!strncmp(u, "https://", 8) || !strncmp(u, "http://", 7)) ? u : NULL;
}

/* The members every outgoing event has (§11): event_id "<kind>-<id>",
 * type, tenant and printer names, contract id, created_at. */
static json_t *event_envelope(nimbus_server_t *srv, const char *kind, const char *type,
                              nimbus_id_t id, nimbus_id_t tenant_id, nimbus_id_t device_id,
                              nimbus_id_t contract_id, int64_t created_at) {
  char tenant[NIMBUS_NAME_MAX], printer[NIMBUS_NAME_MAX], event[40], created[32];
  names_of(srv, tenant_id, device_id, tenant, printer);
  snprintf(event, sizeof event, "%s-%lld", kind, (long long)id);
  time_text(created_at, created);
  return json_pack("{s:s, s:s, s:s, s:s, s:I, s:s}", "event_id", event, "type", type, "tenant",
                   tenant, "printer", printer, "contract", (json_int_t)contract_id, "created_at",
                   created);
}

static void send_order(nimbus_server_t *srv, const nimbus_supply_order_t *o, const char *secret) {
  json_t *cfg = service_settings_load(srv, o->device_id, SERVICE_CONSUMABLES, NULL);
  json_t *addr = json_object_get(cfg, "delivery_address");
  json_t *body = event_envelope(srv, "order", "supply.order", o->id, o->tenant_id, o->device_id,
                                o->contract_id, o->created_at);
  json_object_update_new(
      body, json_pack("{s:s, s:s, s:i, s:i, s:O?}", "supply", o->supply, "supply_type", o->type,
                      "level", o->level, "episode", o->episode, "delivery_address",
                      json_is_string(addr) ? addr : NULL));
  deliver(srv, STORE_DELIVERY_ORDER, o->id, o->attempts, url_of(cfg, "order_url"), body, secret);
  json_decref(body);
  json_decref(cfg);
}

static void send_alert(nimbus_server_t *srv, const nimbus_part_alert_t *a, const char *secret) {
  json_t *cfg = service_settings_load(srv, a->device_id, SERVICE_PARTS_LIFE, NULL);
  json_t *life = json_object_get(json_object_get(cfg, "parts"), a->part);
  json_t *threshold = json_object_get(cfg, "threshold");
  json_t *recipients = json_object_get(cfg, "recipients");
  json_t *body = event_envelope(srv, "alert", "part.alert", a->id, a->tenant_id, a->device_id,
                                a->contract_id, a->created_at);
  json_object_update_new(
      body, json_pack("{s:s, s:I, s:i, s:O?, s:O?, s:O?}", "part", a->part, "impressions",
                      (json_int_t)a->impressions, "cycle", a->cycle, "life",
                      json_is_integer(life) ? life : NULL, "threshold",
                      json_is_integer(threshold) ? threshold : NULL, "recipients",
                      json_is_array(recipients) ? recipients : NULL));
  deliver(srv, STORE_DELIVERY_ALERT, a->id, a->attempts, url_of(cfg, "alert_url"), body, secret);
  json_decref(body);
  json_decref(cfg);
}

void webhook_out_sweep(nimbus_server_t *srv) {
  char secret[512];
  if (!read_secret(srv->cfg.service_webhook_secret_file, secret, sizeof secret)) return;
  due_t *d = calloc(1, sizeof *d);
  if (d) {
    store_delivery_filter_t f = {.due_at = (int64_t)time(NULL), .limit = WEBHOOK_OUT_BATCH};
    if (store_supply_order_list(srv->store, &f, order_due, d) != STORE_OK) d->norders = 0;
    if (store_part_alert_list(srv->store, &f, alert_due, d) != STORE_OK) d->nalerts = 0;
    for (int i = 0; i < d->norders; i++) send_order(srv, &d->orders[i], secret);
    for (int i = 0; i < d->nalerts; i++) send_alert(srv, &d->alerts[i], secret);
    free(d);
  }
  sodium_memzero(secret, sizeof secret);
}

#define WEBHOOK_OUT_LEASE "service-webhooks"

struct webhook_out {
  nimbus_server_t *srv;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cond;
  bool stopping;
};

static void *webhook_out_main(void *arg) {
  webhook_out_t *w = arg;
  pthread_mutex_lock(&w->mu);
  while (!w->stopping) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += WEBHOOK_OUT_PERIOD;
    pthread_cond_timedwait(&w->cond, &w->mu, &ts);
    if (w->stopping) break;
    pthread_mutex_unlock(&w->mu);
    bool held = false;
    if (store_lease_take(w->srv->store, WEBHOOK_OUT_LEASE, w->srv->cfg.node_id, (int64_t)time(NULL),
                         3 * WEBHOOK_OUT_PERIOD, &held) == STORE_OK &&
        held)
      webhook_out_sweep(w->srv);
    pthread_mutex_lock(&w->mu);
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

webhook_out_t *webhook_out_start(nimbus_server_t *srv) {
  webhook_out_t *w = calloc(1, sizeof *w);
  if (!w) return NULL;
  w->srv = srv;
  pthread_mutex_init(&w->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&w->cond, &ca);
  pthread_condattr_destroy(&ca);
  if (pthread_create(&w->thread, NULL, webhook_out_main, w) != 0) {
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->mu);
    free(w);
    return NULL;
  }
  return w;
}

void webhook_out_stop(webhook_out_t *w) {
  if (!w) return;
  pthread_mutex_lock(&w->mu);
  w->stopping = true;
  pthread_cond_signal(&w->cond);
  pthread_mutex_unlock(&w->mu);
  pthread_join(w->thread, NULL);
  pthread_cond_destroy(&w->cond);
  pthread_mutex_destroy(&w->mu);
  free(w);
}
