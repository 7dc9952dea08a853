/*
 * upload.c: see upload.h.  The ring buffer is single-producer,
 * single-consumer: the producer writes only into free space and the worker
 * sends only from used space, both outside the lock; the lock guards the
 * indices and the flags.
 */
#include "upload.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

#define UPLOAD_WRITE_MAX 65536 /* bytes per cupsWriteRequestData() */

struct upload {
  upload_group_t *group;
  upload_t *next, *prev; /* in group->head while the worker runs */
  pthread_mutex_t lock;
  pthread_cond_t cond; /* the worker waits here for bytes or the end */
  char *buf;
  size_t cap, head, used; /* ring: used bytes start at head */
  bool has_body;
  bool closed;    /* the PC sent everything */
  bool answered;  /* the worker has the outcome */
  bool parked;    /* the producer is suspended, waiting for wake() */
  bool abandoned; /* the producer let go; the worker frees */
  atomic_bool abort_flag;
  upload_signal_t park, wake;
  void *ctx;

  ippc_t ippc;             /* settings only (server, credential, timeout, gate) */
  _Atomic time_t progress; /* the last sign of progress, for the timeout */
  ipp_t *req;              /* until sent */
  char uri[1024];

  /* outcome, valid once answered */
  ippc_result_t result;
  ipp_t *resp;
  ippc_status_t st;
  int64_t sent;
};

void upload_group_init(upload_group_t *g) {
  memset(g, 0, sizeof *g);
  pthread_mutex_init(&g->lock, NULL);
  pthread_cond_init(&g->cond, NULL);
}

void upload_group_abort(upload_group_t *g) {
  pthread_mutex_lock(&g->lock);
  g->closed = true;
  for (upload_t *u = g->head; u; u = u->next) {
    atomic_store(&u->abort_flag, true); /* cuts libcups waits (upload_timeout_cb) */
    pthread_mutex_lock(&u->lock);
    pthread_cond_signal(&u->cond);
    pthread_mutex_unlock(&u->lock);
  }
  while (g->active > 0) pthread_cond_wait(&g->cond, &g->lock);
  pthread_mutex_unlock(&g->lock);
}

void upload_group_destroy(upload_group_t *g) {
  pthread_mutex_destroy(&g->lock);
  pthread_cond_destroy(&g->cond);
}

static void upload_free(upload_t *u) {
  ippDelete(u->req);
  ippDelete(u->resp);
  free(u->buf);
  pthread_mutex_destroy(&u->lock);
  pthread_cond_destroy(&u->cond);
  memset(&u->ippc, 0, sizeof u->ippc); /* the credential */
  free(u);
}

/*
 * libcups calls this every second of waiting (reads and writes); 0 aborts
 * the wait: the upload was abandoned, the connector stops, or nimbusd has
 * made no progress for the request timeout.
 */
static int upload_timeout_cb(http_t *http, void *data) {
  (void)http;
  upload_t *u = data;
  if (atomic_load(&u->abort_flag)) return 0;
  if (u->ippc.stopping && atomic_load(u->ippc.stopping)) return 0;
  return time(NULL) - atomic_load(&u->progress) < u->ippc.timeout_s;
}

/* Wake a parked producer; the caller holds u->lock. */
static void upload_wake_locked(upload_t *u) {
  if (u->parked && !u->abandoned) {
    u->parked = false;
    u->wake(u->ctx);
  }
}

/*
 * Send the buffered document until the PC is done.  Returns the status of
 * the last write: HTTP_STATUS_CONTINUE when everything went, else an early
 * answer (HTTP_STATUS_OK: read it) or a failure; HTTP_STATUS_ERROR when
 * abandoned or aborted.
 */
static http_status_t upload_pump(upload_t *u, http_t *http) {
  for (;;) {
    pthread_mutex_lock(&u->lock);
    while (u->used == 0 && !u->closed && !u->abandoned && !atomic_load(&u->abort_flag))
      pthread_cond_wait(&u->cond, &u->lock);
    if (u->abandoned || atomic_load(&u->abort_flag)) {
      pthread_mutex_unlock(&u->lock);
      return HTTP_STATUS_ERROR;
    }
    if (u->used == 0 && u->closed) {
      pthread_mutex_unlock(&u->lock);
      return HTTP_STATUS_CONTINUE;
    }
    size_t n = u->used;
    if (n > u->cap - u->head) n = u->cap - u->head;
    if (n > UPLOAD_WRITE_MAX) n = UPLOAD_WRITE_MAX;
    const char *from = u->buf + u->head;
    pthread_mutex_unlock(&u->lock);

    atomic_store(&u->progress, time(NULL));
    http_status_t hs = cupsWriteRequestData(http, from, n);

    pthread_mutex_lock(&u->lock);
    u->head = (u->head + n) % u->cap;
    u->used -= n;
    u->sent += (int64_t)n;
    if (u->cap - u->used >= u->cap / 2) upload_wake_locked(u);
    pthread_mutex_unlock(&u->lock);
    if (hs != HTTP_STATUS_CONTINUE) return hs;
  }
}

/* Send the request, pump the document, read the answer (the worker's whole job). */
static ippc_result_t upload_exchange(upload_t *u, ipp_t *req, ipp_t **resp, ippc_status_t *st) {
  memset(st, 0, sizeof *st);
  *resp = NULL;
  if (!atomic_load(u->ippc.allowed)) {
    ippDelete(req);
    snprintf(st->message, sizeof st->message, "traffic to the server is stopped");
    return IPPC_STOPPED;
  }
  atomic_store(&u->progress, time(NULL));
  http_t *http =
      httpConnect2(u->ippc.host, u->ippc.port, NULL, AF_UNSPEC, u->ippc.encryption, 1, 10000, NULL);
  if (!http) {
    ippDelete(req);
    snprintf(st->message, sizeof st->message, "cannot connect to %.64s:%d: %.128s", u->ippc.host,
             u->ippc.port, cupsLastErrorString());
    return IPPC_TRANSIENT;
  }
  httpSetTimeout(http, 1.0, upload_timeout_cb, u);
  if (u->ippc.credential[0]) httpSetAuthString(http, "Bearer", u->ippc.credential);
  char resource[1024];
  ippc_resource(u->uri, resource, sizeof resource);
  /* length 0: Transfer-Encoding: chunked, the document follows as it comes */
  http_status_t hs = cupsSendRequest(http, req, resource, 0);
  ippDelete(req);
  if (hs == HTTP_STATUS_CONTINUE && u->has_body) hs = upload_pump(u, http);
  ipp_t *answer = NULL;
  bool cut = atomic_load(&u->abort_flag);
  if (!cut && (hs == HTTP_STATUS_CONTINUE || hs == HTTP_STATUS_OK)) {
    atomic_store(&u->progress, time(NULL)); /* nimbusd syncs the spool: give it the full timeout */
    answer = cupsGetResponse(http, resource);
  }
  hs = httpGetStatus(http);
  st->http_status = hs == HTTP_STATUS_ERROR ? 0 : (int)hs;
  if (answer) {
    st->http_status = 200;
    st->ipp_status = (int)ippGetStatusCode(answer);
    ipp_attribute_t *m = ippFindAttribute(answer, "status-message", IPP_TAG_ZERO);
    if (m && ippGetString(m, 0, NULL))
      snprintf(st->message, sizeof st->message, "%s", ippGetString(m, 0, NULL));
  } else {
    if (st->http_status == 200) st->http_status = 0; /* the answer was cut */
    snprintf(st->message, sizeof st->message, "%s",
             cut ? "the upload was cut short" : cupsLastErrorString());
  }
  httpClose(http); /* one connection per job; a cut one tells nimbusd to drop the upload */
  ippc_result_t r = ippc_classify(u->ippc.pattern, st);
  /* a "try later" answer (server-error-busy...) is the PC's answer too */
  if (r == IPPC_OK || ((r == IPPC_IPP_ERROR || r == IPPC_TRANSIENT) && answer))
    *resp = answer;
  else
    ippDelete(answer);
  return r;
}

static void *upload_worker(void *arg) {
  upload_t *u = arg;
  cupsSetPasswordCB2(ippc_no_password, NULL); /* per thread in libcups */
  ipp_t *req = u->req;
  u->req = NULL;
  ippc_status_t st;
  ipp_t *resp = NULL;
  ippc_result_t r = upload_exchange(u, req, &resp, &st);

  upload_group_t *g = u->group;
  pthread_mutex_lock(&g->lock); /* out of the list before anyone may free u */
  if (u->prev)
    u->prev->next = u->next;
  else
    g->head = u->next;
  if (u->next) u->next->prev = u->prev;
  pthread_mutex_unlock(&g->lock);
  pthread_mutex_lock(&u->lock);
  u->result = r;
  u->resp = resp;
  u->st = st;
  u->answered = true;
  u->used = 0; /* what the PC sends from now on is dropped */
  upload_wake_locked(u);
  bool free_it = u->abandoned;
  int64_t sent = u->sent;
  pthread_mutex_unlock(&u->lock); /* from here on u may be freed by upload_abandon() */
  log_event(LOG_DEBUG, NULL, "upload ended", "result", ippc_result_name(r), "bytes", LOG_INT(sent),
            (char *)NULL);
  if (free_it) upload_free(u);

  pthread_mutex_lock(&g->lock);
  g->active--;
  pthread_cond_broadcast(&g->cond);
  pthread_mutex_unlock(&g->lock);
  return NULL;
}

upload_t *upload_start(upload_group_t *g, const ippc_t *proto, ipp_t *req, const char *printer_uri,
                       size_t buffer_max, bool has_body, upload_signal_t park, upload_signal_t wake,
                       void *ctx) {
  upload_t *u = calloc(1, sizeof *u);
  if (!u) {
    ippDelete(req);
    return NULL;
  }
  u->cap = has_body ? buffer_max : 1;
  u->buf = malloc(u->cap); /* pages are touched only as the buffer fills */
  if (!u->buf) {
    free(u);
    ippDelete(req);
    return NULL;
  }
  pthread_mutex_init(&u->lock, NULL);
  pthread_cond_init(&u->cond, NULL);
  u->group = g;
  u->has_body = has_body;
  u->park = park;
  u->wake = wake;
  u->ctx = ctx;
  u->req = req;
  snprintf(u->uri, sizeof u->uri, "%s", printer_uri);
  u->ippc = *proto;
  u->ippc.http = NULL; /* the worker makes its own connection */
  atomic_init(&u->abort_flag, false);
  atomic_init(&u->progress, time(NULL));

  pthread_mutex_lock(&g->lock);
  if (g->closed) { /* shutting down: no worker may start after the abort */
    pthread_mutex_unlock(&g->lock);
    upload_free(u);
    return NULL;
  }
  g->active++;
  g->started++;
  u->next = g->head;
  if (g->head) g->head->prev = u;
  g->head = u;
  pthread_mutex_unlock(&g->lock);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t tid;
  int rc = pthread_create(&tid, &attr, upload_worker, u);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    pthread_mutex_lock(&g->lock);
    if (u->next) u->next->prev = NULL;
    g->head = u->next;
    g->active--;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
    upload_free(u);
    return NULL;
  }
  return u;
}

size_t upload_feed(upload_t *u, const char *data, size_t len) {
  pthread_mutex_lock(&u->lock);
  if (u->answered || !u->has_body) {
    pthread_mutex_unlock(&u->lock);
    return len; /* dropped */
  }
  size_t taken = 0;
  while (taken < len && u->used < u->cap) {
    size_t tail = (u->head + u->used) % u->cap;
    size_t room = tail >= u->head ? u->cap - tail : u->head - tail;
    if (room > u->cap - u->used) room = u->cap - u->used;
    size_t n = len - taken < room ? len - taken : room;
    memcpy(u->buf + tail, data + taken, n);
    u->used += n;
    taken += n;
  }
  if (taken > 0) pthread_cond_signal(&u->cond);
  if (taken < len) {
    u->parked = true;
    u->park(u->ctx);
  }
  pthread_mutex_unlock(&u->lock);
  return taken;
}

bool upload_close(upload_t *u) {
  pthread_mutex_lock(&u->lock);
  u->closed = true;
  pthread_cond_signal(&u->cond);
  bool done = u->answered;
  if (!done) {
    u->parked = true;
    u->park(u->ctx);
  }
  pthread_mutex_unlock(&u->lock);
  return done;
}

ippc_result_t upload_result(upload_t *u, ipp_t **resp, ippc_status_t *st, int64_t *sent) {
  pthread_mutex_lock(&u->lock);
  *resp = u->resp;
  u->resp = NULL;
  *st = u->st;
  if (sent) *sent = u->sent;
  ippc_result_t r = u->result;
  pthread_mutex_unlock(&u->lock);
  return r;
}

void upload_abandon(upload_t *u) {
  pthread_mutex_lock(&u->lock);
  u->abandoned = true;
  u->parked = false;
  atomic_store(&u->abort_flag, true);
  pthread_cond_signal(&u->cond);
  bool free_it = u->answered; /* the worker is past its last use of u */
  pthread_mutex_unlock(&u->lock);
  if (free_it) upload_free(u);
}

/* Operation attributes that belong to the hop, not to the job. */
static bool upload_hop_attr(const char *name) {
  static const char *const hop[] = {
      "attributes-charset", "attributes-natural-language", "printer-uri", "job-uri", "job-id",
      "output-device-uuid", "job-originating-host-name"};
  for (size_t i = 0; i < sizeof hop / sizeof hop[0]; i++)
    if (!strcmp(name, hop[i])) return true;
  return false;
}

ipp_t *upload_forward_request(ipp_t *pc, ipp_op_t op, const char *queue, const char *uuid,
                              int job_id, const char *peer) {
  ipp_t *fw = ippNewRequest(op);
  ippAddString(fw, IPP_TAG_OPERATION, IPP_TAG_URI, "printer-uri", NULL, queue);
  ippAddString(fw, IPP_TAG_OPERATION, IPP_TAG_URI, "output-device-uuid", NULL, uuid);
  if (job_id > 0) ippAddInteger(fw, IPP_TAG_OPERATION, IPP_TAG_INTEGER, "job-id", job_id);
  /* The PC's address, which only this printer knows: nimbusd counts the
   * names it refuses per PC (PROTOCOL.md 7.1), not per printer. */
  if (peer && peer[0])
    ippAddString(fw, IPP_TAG_OPERATION, IPP_TAG_NAME, "job-originating-host-name", NULL, peer);
  for (ipp_attribute_t *a = ippFirstAttribute(pc); a; a = ippNextAttribute(pc)) {
    const char *name = ippGetName(a);
    if (!name) continue;
    if (ippGetGroupTag(a) == IPP_TAG_OPERATION && upload_hop_attr(name)) continue;
    ippCopyAttribute(fw, a, 0);
  }
  return fw;
}
