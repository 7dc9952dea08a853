/*
 * callback.c: nimbus-paysim's background deliveries, so that a slow or dead
 * endpoint never blocks the API: LINE Pay confirmUrl/cancelUrl GETs and
 * signed Stripe webhooks.  A queue ordered by due time (ps_cbq.mu + wake)
 * feeds PS_WORKERS threads with libcurl; a failed delivery (no answer or
 * not 2xx) is tried again twice (after 1 s and 2 s).  The first worker also
 * sweeps expired reservations once a second (Stripe: checkout.session.expired).
 */
#include "paysim.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define PS_WORKERS 2
#define PS_ATTEMPTS 3

struct ps_done {
  pthread_mutex_t mu;
  pthread_cond_t cond;
  bool done;
  int refs; /* the waiter's and one per queued item */
};

typedef struct ps_item {
  struct ps_item *next;
  int64_t due_ms;
  int attempt;
  char txid[80];
  char *url, *body;       /* body NULL: GET */
  ps_webhook_t *endpoint; /* POST: the secrets to sign with (a copy) */
  ps_done_t *done;
} ps_item_t;

struct ps_queue {
  pthread_mutex_t mu;
  pthread_cond_t wake;
  ps_item_t *head;
  bool stopping;
  pthread_t threads[PS_WORKERS];
  int nthreads;
};
static struct ps_queue ps_cbq = {.mu = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

ps_done_t *ps_done_new(void) {
  ps_done_t *d = calloc(1, sizeof *d);
  if (!d) return NULL;
  pthread_mutex_init(&d->mu, NULL);
  pthread_cond_init(&d->cond, NULL);
  d->refs = 1;
  return d;
}

void ps_done_wait(ps_done_t *d, int64_t max_ms) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += max_ms / 1000;
  ts.tv_nsec += (max_ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&d->mu);
  while (!d->done)
    if (pthread_cond_timedwait(&d->cond, &d->mu, &ts) != 0) break;
  pthread_mutex_unlock(&d->mu);
}

/* Drop one reference (and mark it done when signal); the last frees it. */
static void ps_done_unref(ps_done_t *d, bool signal) {
  if (!d) return;
  pthread_mutex_lock(&d->mu);
  if (signal) {
    d->done = true;
    pthread_cond_broadcast(&d->cond);
  }
  bool last = --d->refs == 0;
  pthread_mutex_unlock(&d->mu);
  if (!last) return;
  pthread_mutex_destroy(&d->mu);
  pthread_cond_destroy(&d->cond);
  free(d);
}

void ps_done_free(ps_done_t *d) {
  ps_done_unref(d, false);
}

static void ps_done_signal(ps_done_t *d) {
  ps_done_unref(d, true);
}

static void ps_item_free(ps_item_t *it) {
  free(it->url);
  free(it->body);
  free(it->endpoint);
  free(it);
}

/* Insert by due time; the caller holds ps_cbq.mu. */
static void ps_enqueue_locked(ps_item_t *it) {
  ps_item_t **p = &ps_cbq.head;
  while (*p && (*p)->due_ms <= it->due_ms) p = &(*p)->next;
  it->next = *p;
  *p = it;
  pthread_cond_broadcast(&ps_cbq.wake);
}

void ps_callback_queue(const char *txid, const char *url, const char *body,
                       const ps_webhook_t *endpoint, int delay_ms, ps_done_t *done) {
  ps_item_t *it = calloc(1, sizeof *it);
  if (!it) goto fail;
  snprintf(it->txid, sizeof it->txid, "%s", txid);
  it->url = strdup(url);
  it->body = body ? strdup(body) : NULL;
  if (endpoint) {
    it->endpoint = malloc(sizeof *endpoint);
    if (it->endpoint) memcpy(it->endpoint, endpoint, sizeof *endpoint);
  }
  if (!it->url || (body && !it->body) || (endpoint && !it->endpoint)) goto fail;
  it->due_ms = ps_now_ms() + delay_ms;
  if (done) {
    pthread_mutex_lock(&done->mu);
    done->refs++;
    pthread_mutex_unlock(&done->mu);
    it->done = done;
  }
  pthread_mutex_lock(&ps_cbq.mu);
  if (ps_cbq.stopping) {
    pthread_mutex_unlock(&ps_cbq.mu);
    goto fail;
  }
  ps_enqueue_locked(it);
  pthread_mutex_unlock(&ps_cbq.mu);
  return;
fail:;
  bool held = it && it->done; /* the item holds a reference to done */
  if (held) ps_done_signal(it->done);
  if (it) ps_item_free(it);
  if (done && !held) { /* never queued: the waiter need not wait */
    pthread_mutex_lock(&done->mu);
    done->done = true;
    pthread_cond_broadcast(&done->cond);
    pthread_mutex_unlock(&done->mu);
  }
}

static size_t ps_discard(char *p, size_t s, size_t n, void *u) {
  (void)p;
  (void)u;
  return s * n;
}

/* One HTTP attempt; true on a 2xx answer. */
static bool ps_deliver(ps_item_t *it) {
  CURL *c = curl_easy_init();
  if (!c) return false;
  struct curl_slist *h = NULL;
  char *sigh = NULL;
  curl_easy_setopt(c, CURLOPT_URL, it->url);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, ps_discard);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "nimbus-paysim/" NIMBUS_VERSION);
  if (it->body) {
    /* Stripe-Signature: t=<unix>,v1=<hex HMAC of "t.body"> per secret */
    ps_buf_t msg = {0}, sig = {0};
    long long t = (long long)time(NULL);
    ps_buf_printf(&msg, "%lld.", t);
    ps_buf_add(&msg, it->body, strlen(it->body));
    ps_buf_printf(&sig, "Stripe-Signature: t=%lld", t);
    for (int i = 0; it->endpoint && i < it->endpoint->nsecrets; i++) {
      char hex[65];
      ps_hmac_hex(it->endpoint->secrets[i], msg.data ? msg.data : "", msg.len, hex, sizeof hex);
      ps_buf_printf(&sig, ",v1=%s", hex);
    }
    free(msg.data);
    sigh = sig.data;
    h = curl_slist_append(h, "Content-Type: application/json; charset=utf-8");
    if (sigh) h = curl_slist_append(h, sigh);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, it->body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  }
  CURLcode rc = curl_easy_perform(c);
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  curl_slist_free_all(h);
  free(sigh);
  curl_easy_cleanup(c);
  bool ok = rc == CURLE_OK && code >= 200 && code < 300;
  log_event(ok ? LOG_INFO : LOG_WARN, NULL, it->body ? "webhook sent" : "callback sent", "tx",
            it->txid, "status", LOG_INT(code), "attempt", LOG_INT(it->attempt + 1), "error",
            rc == CURLE_OK ? NULL : curl_easy_strerror(rc), (char *)NULL);
  return ok;
}

/* Send checkout.session.expired for reservations that just expired. */
static void ps_sweep_expired(void) {
  ps_tx_t expired[16];
  int n = ps_table_expire(expired, 16);
  for (int i = 0; i < n; i++) {
    ps_behaviour_t b;
    ps_behaviour_get(expired[i].id, expired[i].order_id, &b);
    ps_stripe_send_event(&expired[i], "checkout.session.expired", &b, false);
  }
}

static void *ps_worker(void *arg) {
  bool sweeper = arg != NULL;
  int64_t next_sweep = 0;
  pthread_mutex_lock(&ps_cbq.mu);
  while (!ps_cbq.stopping) {
    int64_t now = ps_now_ms();
    if (sweeper && now >= next_sweep) {
      pthread_mutex_unlock(&ps_cbq.mu);
      ps_sweep_expired();
      pthread_mutex_lock(&ps_cbq.mu);
      next_sweep = now + 1000;
      continue;
    }
    ps_item_t *it = ps_cbq.head;
    if (!it || it->due_ms > now) {
      int64_t wait = it ? it->due_ms - now : 1000;
      if (sweeper && next_sweep - now < wait) wait = next_sweep - now;
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      ts.tv_sec += wait / 1000;
      ts.tv_nsec += (wait % 1000) * 1000000L;
      if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
      }
      pthread_cond_timedwait(&ps_cbq.wake, &ps_cbq.mu, &ts);
      continue;
    }
    ps_cbq.head = it->next;
    pthread_mutex_unlock(&ps_cbq.mu);
    bool ok = ps_deliver(it);
    if (ok) ps_tx_count_callback(it->txid);
    pthread_mutex_lock(&ps_cbq.mu);
    if (!ok && ++it->attempt < PS_ATTEMPTS && !ps_cbq.stopping) {
      it->due_ms = ps_now_ms() + 1000 * it->attempt;
      ps_enqueue_locked(it);
      continue;
    }
    ps_done_signal(it->done);
    ps_item_free(it);
  }
  pthread_mutex_unlock(&ps_cbq.mu);
  return NULL;
}

bool ps_callback_start(void) {
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return false;
  for (int i = 0; i < PS_WORKERS; i++) {
    if (pthread_create(&ps_cbq.threads[i], NULL, ps_worker, i == 0 ? (void *)1 : NULL) != 0)
      return false;
    ps_cbq.nthreads++;
  }
  return true;
}

void ps_callback_stop(void) {
  pthread_mutex_lock(&ps_cbq.mu);
  ps_cbq.stopping = true;
  pthread_cond_broadcast(&ps_cbq.wake);
  pthread_mutex_unlock(&ps_cbq.mu);
  for (int i = 0; i < ps_cbq.nthreads; i++) pthread_join(ps_cbq.threads[i], NULL);
  ps_cbq.nthreads = 0;
  while (ps_cbq.head) {
    ps_item_t *it = ps_cbq.head;
    ps_cbq.head = it->next;
    ps_done_signal(it->done);
    ps_item_free(it);
  }
  curl_global_cleanup();
}
