/*
 * metrics.c: a small fixed table of counters behind one mutex
 * (metrics.mu; held only for a few increments, never across I/O).
 * Operation labels are static strings, so they can be compared by value
 * and kept without copying; the table holds at most METRICS_SERIES
 * (op, status) pairs and counts overflow separately instead of growing.
 */
#include "metrics.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job.h"

#define METRICS_SERIES 256
#define METRICS_REMOTE_LINKS 128
#define METRICS_REMOTE_OPS 32
static const double metrics_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                         0.1,   0.25,   0.5,   1,    2.5,   10};
#define METRICS_NBUCKETS (sizeof metrics_buckets / sizeof metrics_buckets[0])

typedef struct {
  const char *op;
  int http_status;
  int ipp_status; /* -1 when not IPP */
  uint64_t count;
} metrics_series_t;

struct metrics {
  pthread_mutex_t mu;
  metrics_series_t series[METRICS_SERIES];
  int nseries;
  uint64_t overflow;
  uint64_t bucket[METRICS_NBUCKETS + 1];
  double latency_sum;
  uint64_t latency_count;
  atomic_llong bytes_spooled;
  atomic_llong deleted_device_requests;
  atomic_llong payments[9]; /* by nimbus_payment_state_t (1..8) */
  atomic_llong payment_callbacks_refused;
  /* remote printer links (federation/): bytes received per link, INFRA
   * operations sent by name; fixed tables like series, overflow dropped */
  struct {
    long long tenant;
    char link[64];
    uint64_t bytes;
  } remote_bytes[METRICS_REMOTE_LINKS];
  int nremote_bytes;
  struct {
    const char *op;
    uint64_t count;
  } remote_ops[METRICS_REMOTE_OPS];
  int nremote_ops;
};

void metrics_remote_bytes(metrics_t *m, long long tenant_id, const char *link, int64_t n) {
  if (!m || n <= 0) return;
  pthread_mutex_lock(&m->mu);
  int i = 0;
  for (; i < m->nremote_bytes; i++)
    if (m->remote_bytes[i].tenant == tenant_id && !strcmp(m->remote_bytes[i].link, link)) break;
  if (i == m->nremote_bytes && i < METRICS_REMOTE_LINKS) {
    m->remote_bytes[i].tenant = tenant_id;
    snprintf(m->remote_bytes[i].link, sizeof m->remote_bytes[i].link, "%s", link);
    m->nremote_bytes++;
  }
  if (i < m->nremote_bytes) m->remote_bytes[i].bytes += (uint64_t)n;
  pthread_mutex_unlock(&m->mu);
}

void metrics_remote_request(metrics_t *m, const char *op) {
  if (!m || !op) return;
  pthread_mutex_lock(&m->mu);
  int i = 0;
  for (; i < m->nremote_ops; i++)
    if (!strcmp(m->remote_ops[i].op, op)) break;
  if (i == m->nremote_ops && i < METRICS_REMOTE_OPS) m->remote_ops[m->nremote_ops++].op = op;
  if (i < m->nremote_ops) m->remote_ops[i].count++;
  pthread_mutex_unlock(&m->mu);
}

metrics_t *metrics_new(void) {
  metrics_t *m = calloc(1, sizeof *m);
  if (m) pthread_mutex_init(&m->mu, NULL);
  return m;
}

void metrics_free(metrics_t *m) {
  if (!m) return;
  pthread_mutex_destroy(&m->mu);
  free(m);
}

void metrics_request(metrics_t *m, const char *op, int http_status, int ipp_status,
                     double seconds) {
  if (!op) op = "other";
  pthread_mutex_lock(&m->mu);
  int i = 0;
  for (; i < m->nseries; i++) {
    metrics_series_t *s = &m->series[i];
    if (s->http_status == http_status && s->ipp_status == ipp_status && strcmp(s->op, op) == 0)
      break;
  }
  if (i == m->nseries && m->nseries < METRICS_SERIES)
    m->series[m->nseries++] = (metrics_series_t){op, http_status, ipp_status, 0};
  if (i < m->nseries)
    m->series[i].count++;
  else
    m->overflow++;
  size_t b = 0;
  while (b < METRICS_NBUCKETS && seconds > metrics_buckets[b]) b++;
  m->bucket[b]++;
  m->latency_sum += seconds;
  m->latency_count++;
  pthread_mutex_unlock(&m->mu);
}

void metrics_payment(metrics_t *m, int s) {
  if (m && s >= 1 && s <= 8) atomic_fetch_add(&m->payments[s], 1);
}

void metrics_payment_callback_refused(metrics_t *m) {
  if (m) atomic_fetch_add(&m->payment_callbacks_refused, 1);
}

void metrics_deleted_device_request(metrics_t *m) {
  atomic_fetch_add(&m->deleted_device_requests, 1);
}

void metrics_bytes_spooled(metrics_t *m, int64_t n) {
  atomic_fetch_add(&m->bytes_spooled, n);
}

/* Growable output buffer for the exposition text (bounded by the table). */
typedef struct {
  char *buf;
  size_t len, cap;
  bool failed;
} metrics_out_t;

static void metrics_printf(metrics_out_t *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void metrics_printf(metrics_out_t *o, const char *fmt, ...) {
  if (o->failed) return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0) {
      o->failed = true;
      return;
    }
    if ((size_t)n < o->cap - o->len) {
      o->len += (size_t)n;
      return;
    }
    size_t ncap = o->cap * 2 + (size_t)n;
    char *nb = realloc(o->buf, ncap);
    if (!nb) {
      o->failed = true;
      return;
    }
    o->buf = nb;
    o->cap = ncap;
  }
}

char *metrics_render(metrics_t *m, store_t *st, int long_polls, size_t *len) {
  metrics_out_t o = {malloc(8192), 0, 8192, false};
  if (!o.buf) return NULL;
  pthread_mutex_lock(&m->mu);
  metrics_printf(&o,
                 "# HELP nimbus_requests_total Requests by operation and status.\n"
                 "# TYPE nimbus_requests_total counter\n");
  for (int i = 0; i < m->nseries; i++) {
    metrics_series_t *s = &m->series[i];
    if (s->ipp_status >= 0)
      metrics_printf(
          &o,
          "nimbus_requests_total{op=\"%s\",http_status=\"%d\",ipp_status=\"0x%04x\"} %" PRIu64 "\n",
          s->op, s->http_status, (unsigned)s->ipp_status, s->count);
    else
      metrics_printf(&o, "nimbus_requests_total{op=\"%s\",http_status=\"%d\"} %" PRIu64 "\n", s->op,
                     s->http_status, s->count);
  }
  metrics_printf(&o,
                 "# HELP nimbus_requests_untracked_total Requests past the series limit.\n"
                 "# TYPE nimbus_requests_untracked_total counter\n"
                 "nimbus_requests_untracked_total %" PRIu64 "\n",
                 m->overflow);
  metrics_printf(&o,
                 "# HELP nimbus_request_duration_seconds Request latency.\n"
                 "# TYPE nimbus_request_duration_seconds histogram\n");
  uint64_t cum = 0;
  for (size_t b = 0; b < METRICS_NBUCKETS; b++) {
    cum += m->bucket[b];
    metrics_printf(&o, "nimbus_request_duration_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
                   metrics_buckets[b], cum);
  }
  cum += m->bucket[METRICS_NBUCKETS];
  metrics_printf(&o,
                 "nimbus_request_duration_seconds_bucket{le=\"+Inf\"} %" PRIu64
                 "\n"
                 "nimbus_request_duration_seconds_sum %.6f\n"
                 "nimbus_request_duration_seconds_count %" PRIu64 "\n",
                 cum, m->latency_sum, m->latency_count);
  pthread_mutex_unlock(&m->mu);

  metrics_printf(&o,
                 "# HELP nimbus_spooled_bytes_total Document bytes written to the spool.\n"
                 "# TYPE nimbus_spooled_bytes_total counter\n"
                 "nimbus_spooled_bytes_total %lld\n",
                 (long long)atomic_load(&m->bytes_spooled));
  metrics_printf(&o,
                 "# HELP nimbus_deleted_device_requests_total Device-channel requests carrying "
                 "the credential of a deleted registration.\n"
                 "# TYPE nimbus_deleted_device_requests_total counter\n"
                 "nimbus_deleted_device_requests_total %lld\n"
                 "# HELP nimbus_device_long_polls Get-Notifications requests held open.\n"
                 "# TYPE nimbus_device_long_polls gauge\n"
                 "nimbus_device_long_polls %d\n",
                 (long long)atomic_load(&m->deleted_device_requests), long_polls);
  static const char *const pay_states[] = {"",        "reserving",      "pending",
                                           "paid",    "canceled",       "failed",
                                           "settled", "refund-pending", "refunded"};
  metrics_printf(&o,
                 "# HELP nimbus_payments_total Payments that moved into each state.\n"
                 "# TYPE nimbus_payments_total counter\n");
  for (int s = 1; s <= 8; s++)
    metrics_printf(&o, "nimbus_payments_total{state=\"%s\"} %lld\n", pay_states[s],
                   (long long)atomic_load(&m->payments[s]));
  metrics_printf(&o,
                 "# HELP nimbus_payment_callbacks_refused_total Payment callbacks that proved "
                 "nothing (forged, replayed, bad signature).\n"
                 "# TYPE nimbus_payment_callbacks_refused_total counter\n"
                 "nimbus_payment_callbacks_refused_total %lld\n",
                 (long long)atomic_load(&m->payment_callbacks_refused));
  metrics_printf(&o,
                 "# HELP nimbus_remote_bytes_received_total Bytes received from remote "
                 "INFRA services, by remote printer link.\n"
                 "# TYPE nimbus_remote_bytes_received_total counter\n");
  metrics_printf(&o,
                 "# HELP nimbus_remote_requests_total INFRA operations sent to remote "
                 "services, by operation.\n"
                 "# TYPE nimbus_remote_requests_total counter\n");
  pthread_mutex_lock(&m->mu);
  for (int i = 0; i < m->nremote_bytes; i++)
    metrics_printf(&o,
                   "nimbus_remote_bytes_received_total{tenant=\"%lld\",link=\"%s\"} %" PRIu64 "\n",
                   m->remote_bytes[i].tenant, m->remote_bytes[i].link, m->remote_bytes[i].bytes);
  for (int i = 0; i < m->nremote_ops; i++)
    metrics_printf(&o, "nimbus_remote_requests_total{op=\"%s\"} %" PRIu64 "\n", m->remote_ops[i].op,
                   m->remote_ops[i].count);
  pthread_mutex_unlock(&m->mu);
  int64_t counts[10] = {0};
  if (store_job_count_by_state(st, counts) == STORE_OK) {
    metrics_printf(&o, "# HELP nimbus_jobs Jobs by lifecycle state.\n# TYPE nimbus_jobs gauge\n");
    for (int s = NIMBUS_JOB_RECEIVED; s <= NIMBUS_JOB_EXPIRED; s++)
      metrics_printf(&o, "nimbus_jobs{state=\"%s\"} %lld\n", job_state_name((nimbus_job_state_t)s),
                     (long long)counts[s]);
  }
  if (o.failed) {
    free(o.buf);
    return NULL;
  }
  *len = o.len;
  return o.buf;
}
