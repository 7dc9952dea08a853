/*
 * infra-run.c: the run sub-command of infra-load (see infra-load.c): the
 * epoll loop of simulated printers, the timer heap, HTTP/IPP framing, the
 * /metrics reader, the latency prober thread and the report.  With --url2
 * the printers are parked on two nodes (even-numbered printers on --url,
 * odd ones on --url2) and the prober releases each job through the node
 * --release-via says: the printer's own, the other one, or both in turn.
 */
#include "infra-load.h"

/* ------------------------------------------------------------------------- run */

typedef enum { IL_DOWN = 0, IL_CONNECTING, IL_SENDING, IL_WAITING, IL_IDLE } il_state_t;
typedef enum { IL_REQ_SUBSCRIBE = 0, IL_REQ_NOTIFY } il_req_t;

typedef struct il_printer_s {
  const il_cred_t *cred;
  int fd;
  uint8_t state, req;
  uint8_t node; /* index in il_run_t.node: where this printer is parked */
  bool wait;    /* the outstanding Get-Notifications has notify-wait */
  bool subscribed;
  int sub_id;
  int next_seq;
  char *out; /* unsent request bytes (rare: partial writes) */
  size_t out_len, out_off;
  il_buf_t in;      /* response bytes */
  double sent_ms;   /* request fully written */
  int heap_pos;     /* index in the timer heap, -1 if none */
  double due_ms;    /* timer */
  uint32_t sent;    /* requests written (all kinds) */
  uint32_t answers; /* complete responses */
  uint32_t events;
  uint8_t refused; /* HTTP errors in a row (back-off) */
} il_printer_t;

typedef struct il_sample_s {
  int printer;
  int job_id;
  bool cross;                              /* released through another node than the printer's */
  double t_release, t_released, t_arrival; /* ms, CLOCK_MONOTONIC */
  bool arrived;
  long release_status;
} il_sample_t;

/* Which node the prober releases a job through (--release-via). */
typedef enum { IL_VIA_SAME = 0, IL_VIA_OTHER, IL_VIA_BOTH } il_via_t;

typedef struct il_run_s {
  /* configuration */
  il_node_t node[IL_MAX_NODES];
  int nnodes;
  il_via_t via;
  long db_pid; /* database server: its CPU (with its children's) over the window */
  bool persistent;
  double interval_s;    /* polling */
  double notify_wait_s; /* the server's notify-wait, for "early" answers */
  double connect_rate;
  double window_s;
  int samples;
  double probe_timeout_s;
  double settle_s;
  const char *pdf_path;
  char *pdf;
  size_t pdf_len;
  il_creds_t creds;
  int n;
  bool verbose;
  /* Source addresses (--source-addresses): one client address can hold
   * only as many connections to one server address and port as it has
   * ephemeral ports (ip_local_port_range, ~28,000), so above
   * IL_PRINTERS_PER_SOURCE printers per node they are spread over
   * 127.0.0.1, 127.0.0.2, ... (all of 127/8 is loopback on Linux).  nsrc 1:
   * no bind(), the kernel picks (any address family). */
  int nsrc;
  int per_src; /* printers per node one source address takes */
  struct sockaddr_in src[IL_MAX_SOURCES];

  /* printers and loop */
  il_printer_t *p;
  int epfd;
  int *heap;
  int heap_len;
  int opened; /* connections started so far (ramp) */
  double ramp_start;
  int held; /* printers with a request outstanding at the server after subscribing */
  int subscribed;
  unsigned rng;

  /* counters */
  long connect_failures, transport_errors, http_errors, ipp_errors, reconnects;
  long empty_answers, empty_early, event_answers, not_found_resubscribe;
  long misdelivered, late_events, other_events;
  double min_empty_hold_ms;
  long notify_get_interval_min, notify_get_interval_max;
  char first_error[512];

  /* probes: shared with the prober thread */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  il_sample_t *s;
  atomic_int cur_sample; /* index of the sample being timed, -1 none */
  atomic_bool probing_done;
  int nsamples;
} il_run_t;

static void il_run_error(il_run_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static pthread_mutex_t il_error_mu = PTHREAD_MUTEX_INITIALIZER;

/* Keep the first error; with --verbose print every one.  Both threads. */
static void il_run_error(il_run_t *r, const char *fmt, ...) {
  va_list ap;

  pthread_mutex_lock(&il_error_mu);
  if (r->first_error[0] && !r->verbose) {
    pthread_mutex_unlock(&il_error_mu);
    return;
  }
  va_start(ap, fmt);
  if (!r->first_error[0]) {
    vsnprintf(r->first_error, sizeof(r->first_error), fmt, ap);
    if (!r->verbose) fprintf(stderr, "infra-load: first error: %s\n", r->first_error);
  } else {
    fputs("infra-load: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
  }
  va_end(ap);
  pthread_mutex_unlock(&il_error_mu);
}

/* ---- timer heap (min-heap on due_ms, one entry per printer at most) ---- */

static void il_heap_swap(il_run_t *r, int a, int b) {
  int t = r->heap[a];

  r->heap[a] = r->heap[b];
  r->heap[b] = t;
  r->p[r->heap[a]].heap_pos = a;
  r->p[r->heap[b]].heap_pos = b;
}

static void il_heap_up(il_run_t *r, int i) {
  while (i > 0) {
    int parent = (i - 1) / 2;

    if (r->p[r->heap[parent]].due_ms <= r->p[r->heap[i]].due_ms) break;
    il_heap_swap(r, i, parent);
    i = parent;
  }
}

static void il_heap_down(il_run_t *r, int i) {
  for (;;) {
    int l = 2 * i + 1, rr = l + 1, m = i;

    if (l < r->heap_len && r->p[r->heap[l]].due_ms < r->p[r->heap[m]].due_ms) m = l;
    if (rr < r->heap_len && r->p[r->heap[rr]].due_ms < r->p[r->heap[m]].due_ms) m = rr;
    if (m == i) break;
    il_heap_swap(r, i, m);
    i = m;
  }
}

static void il_timer_set(il_run_t *r, int idx, double due) {
  il_printer_t *p = r->p + idx;

  p->due_ms = due;
  if (p->heap_pos < 0) {
    p->heap_pos = r->heap_len;
    r->heap[r->heap_len++] = idx;
    il_heap_up(r, p->heap_pos);
  } else {
    il_heap_up(r, p->heap_pos);
    il_heap_down(r, p->heap_pos);
  }
}

static int il_timer_pop_due(il_run_t *r, double now) {
  int idx;

  if (r->heap_len == 0 || r->p[r->heap[0]].due_ms > now) return (-1);
  idx = r->heap[0];
  il_heap_swap(r, 0, r->heap_len - 1);
  r->heap_len--;
  r->p[idx].heap_pos = -1;
  if (r->heap_len) il_heap_down(r, 0);
  return (idx);
}

/* ---- IPP in memory ---- */

typedef struct il_mem_s {
  const unsigned char *data;
  size_t len, pos;
} il_mem_t;

static ssize_t il_ipp_write_cb(void *ctx, ipp_uchar_t *buffer, size_t bytes) {
  return (il_buf_append(ctx, buffer, bytes) ? (ssize_t)bytes : -1);
}

static ssize_t il_ipp_read_cb(void *ctx, ipp_uchar_t *buffer, size_t bytes) {
  il_mem_t *m = ctx;
  size_t n = m->len - m->pos;

  if (n > bytes) n = bytes;
  memcpy(buffer, m->data + m->pos, n);
  m->pos += n;
  return ((ssize_t)n);
}

/* ---- connections ---- */

static void il_close(il_run_t *r, il_printer_t *p) {
  if (p->fd >= 0) {
    epoll_ctl(r->epfd, EPOLL_CTL_DEL, p->fd, NULL);
    close(p->fd);
  }
  p->fd = -1;
  if (p->state == IL_WAITING || p->state == IL_SENDING) r->held -= p->subscribed;
  p->state = IL_DOWN;
  free(p->out);
  p->out = NULL;
  p->out_len = p->out_off = 0;
  il_buf_free(&p->in);
}

static void il_epoll_mod(il_run_t *r, il_printer_t *p, uint32_t events) {
  struct epoll_event ev;

  ev.events = events;
  ev.data.u32 = (uint32_t)(p - r->p);
  epoll_ctl(r->epfd, EPOLL_CTL_MOD, p->fd, &ev);
}

/* Connection lost or unusable: close, and reconnect after a pause. */
static void il_fail(il_run_t *r, il_printer_t *p, const char *what) {
  r->transport_errors++;
  il_run_error(r, "printer %s: %s", p->cred->queue, what);
  il_close(r, p);
  r->reconnects++;
  il_timer_set(r, (int)(p - r->p), bench_now_ms() + IL_RECONNECT_MS);
}

/* The source address printer idx binds to (with nsrc > 1): the printers
 * of one node in turn over the addresses, so that each address takes at
 * most per_src of any node's printers. */
static const struct sockaddr_in *il_source(const il_run_t *r, int idx) {
  return (&r->src[(idx / r->nnodes) % r->nsrc]);
}

static void il_connect(il_run_t *r, il_printer_t *p) {
  const il_node_t *node = &r->node[p->node];
  const struct sockaddr_in *src = NULL;
  struct epoll_event ev;
  int one = 1, idx = (int)(p - r->p);
  char from[INET_ADDRSTRLEN + 8] = "";

  p->fd = socket(node->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (p->fd < 0) {
    r->connect_failures++;
    il_run_error(r, "socket: %s", strerror(errno));
    il_timer_set(r, idx, bench_now_ms() + IL_RECONNECT_MS);
    return;
  }
  setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (r->nsrc > 1) {
    /* The port is picked at connect() (IP_BIND_ADDRESS_NO_PORT), per
     * destination: a second node does not take the same ports again. */
    src = il_source(r, idx);
    strcpy(from, " from ");
    inet_ntop(AF_INET, &src->sin_addr, from + 6, INET_ADDRSTRLEN);
    setsockopt(p->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    if (bind(p->fd, (const struct sockaddr *)src, sizeof(*src))) {
      r->connect_failures++;
      il_run_error(r, "bind%s: %s", from, strerror(errno));
      close(p->fd);
      p->fd = -1;
      il_timer_set(r, idx, bench_now_ms() + IL_RECONNECT_MS);
      return;
    }
  }
  if (connect(p->fd, (const struct sockaddr *)&node->addr, node->addrlen) && errno != EINPROGRESS) {
    int err = errno;

    r->connect_failures++;
    il_run_error(r, "connect to %s:%d%s: %s%s", node->host, node->port, from, strerror(err),
                 err == EADDRNOTAVAIL ? " (no ephemeral port left for this source address: "
                                        "raise --source-addresses)"
                                      : "");
    close(p->fd);
    p->fd = -1;
    il_timer_set(r, idx, bench_now_ms() + IL_RECONNECT_MS);
    return;
  }
  p->state = IL_CONNECTING;
  ev.events = EPOLLOUT;
  ev.data.u32 = (uint32_t)(p - r->p);
  epoll_ctl(r->epfd, EPOLL_CTL_ADD, p->fd, &ev);
}

/* Write what is pending; on completion wait for the answer. */
static void il_flush(il_run_t *r, il_printer_t *p) {
  while (p->out_off < p->out_len) {
    ssize_t n = send(p->fd, p->out + p->out_off, p->out_len - p->out_off, MSG_NOSIGNAL);

    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        il_epoll_mod(r, p, EPOLLIN | EPOLLOUT);
        return;
      }
      il_fail(r, p, strerror(errno));
      return;
    }
    p->out_off += (size_t)n;
  }
  free(p->out);
  p->out = NULL;
  p->out_len = p->out_off = 0;
  p->state = IL_WAITING;
  p->sent_ms = bench_now_ms();
  il_epoll_mod(r, p, EPOLLIN);
}

/* Build and send the printer's next request (subscribe or notifications). */
static void il_send(il_run_t *r, il_printer_t *p) {
  ipp_t *req;
  il_buf_t body = {0}, msg = {0};
  char head[1024];
  int hl;

  if (p->fd < 0) {
    il_connect(r, p);
    return;
  }
  if (!p->subscribed) {
    req = ippNewRequest(IPP_OP_CREATE_PRINTER_SUBSCRIPTIONS);
    ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_URI, "printer-uri", NULL, p->cred->printer_uri);
    ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_URI, "output-device-uuid", NULL, p->cred->uuid);
    ippAddString(req, IPP_TAG_SUBSCRIPTION, IPP_TAG_KEYWORD, "notify-pull-method", NULL, "ippget");
    ippAddString(req, IPP_TAG_SUBSCRIPTION, IPP_TAG_KEYWORD, "notify-events", NULL,
                 "job-fetchable");
    p->req = IL_REQ_SUBSCRIBE;
    p->wait = false;
  } else {
    req = ippNewRequest(IPP_OP_GET_NOTIFICATIONS);
    ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_URI, "printer-uri", NULL, p->cred->printer_uri);
    ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_URI, "output-device-uuid", NULL, p->cred->uuid);
    ippAddInteger(req, IPP_TAG_OPERATION, IPP_TAG_INTEGER, "notify-subscription-ids", p->sub_id);
    ippAddInteger(req, IPP_TAG_OPERATION, IPP_TAG_INTEGER, "notify-sequence-numbers", p->next_seq);
    if (r->persistent) ippAddBoolean(req, IPP_TAG_OPERATION, "notify-wait", 1);
    p->req = IL_REQ_NOTIFY;
    p->wait = r->persistent;
  }
  if (ippWriteIO(&body, il_ipp_write_cb, 1, NULL, req) != IPP_STATE_DATA) {
    ippDelete(req);
    il_buf_free(&body);
    il_run_error(r, "ippWriteIO failed");
    return;
  }
  ippDelete(req);
  hl = snprintf(head, sizeof(head),
                "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/ipp\r\n"
                "Authorization: Bearer %s\r\nContent-Length: %zu\r\n\r\n",
                p->cred->resource, r->node[p->node].host_header, p->cred->credential, body.len);
  if (!il_buf_append(&msg, head, (size_t)hl) || !il_buf_append(&msg, body.data, body.len)) {
    il_buf_free(&body);
    il_buf_free(&msg);
    il_run_error(r, "out of memory");
    return;
  }
  il_buf_free(&body);
  p->out = msg.data;
  p->out_len = msg.len;
  p->out_off = 0;
  p->state = IL_SENDING;
  p->sent++;
  if (p->subscribed) r->held++;
  il_flush(r, p);
}

/* A job-fetchable event for printer idx. */
static void il_note_event(il_run_t *r, int idx, int job_id, const char *event) {
  int cur, k;

  if (!event || strcmp(event, "job-fetchable")) {
    r->other_events++;
    return;
  }
  pthread_mutex_lock(&r->mu);
  cur = atomic_load(&r->cur_sample);
  if (cur >= 0 && r->s[cur].job_id == job_id && r->s[cur].printer == idx && !r->s[cur].arrived) {
    r->s[cur].arrived = true;
    r->s[cur].t_arrival = bench_now_ms();
    pthread_cond_broadcast(&r->cv);
  } else {
    bool known = false;

    for (k = 0; k < r->nsamples; k++) {
      if (r->s[k].job_id == job_id) {
        known = true;
        if (r->s[k].printer != idx) {
          r->misdelivered++;
          il_run_error(r, "job %d's job-fetchable reached %s, not %s", job_id,
                       r->p[idx].cred->queue, r->p[r->s[k].printer].cred->queue);
        } else
          r->late_events++;
        break;
      }
    }
    if (!known) r->other_events++;
  }
  pthread_mutex_unlock(&r->mu);
}

static const char *il_status_message(ipp_t *resp) {
  const char *m = ippGetString(ippFindAttribute(resp, "status-message", IPP_TAG_TEXT), 0, NULL);

  return (m ? m : "");
}

/* A complete IPP answer for printer p. */
static void il_answer(il_run_t *r, il_printer_t *p, int http_status, const char *body,
                      size_t body_len) {
  int idx = (int)(p - r->p);
  ipp_t *resp;
  il_mem_t m = {(const unsigned char *)body, body_len, 0};
  ipp_attribute_t *a;
  ipp_status_t st;
  bool was_wait = p->wait;
  double held_ms = bench_now_ms() - p->sent_ms;
  int nevents = 0;

  p->answers++;
  if (p->subscribed) r->held--;
  if (http_status != 200) {
    /* Mostly 503 (nimbusd's worker queue full while the printers pile
     * in): retry after 1, 2, 4 ... 32 s, jittered, so that the retries of
     * thousands of refused printers do not keep the server saturated. */
    double backoff = IL_RECONNECT_MS * (double)(1u << (p->refused < 5 ? p->refused : 5));

    if (p->refused < UINT8_MAX) p->refused++;
    r->http_errors++;
    il_run_error(r, "printer %s: HTTP %d", p->cred->queue, http_status);
    il_timer_set(r, idx, bench_now_ms() + backoff * (0.5 + rand_r(&r->rng) / (RAND_MAX + 1.0)));
    p->state = IL_IDLE;
    return;
  }
  p->refused = 0;
  resp = ippNew();
  if (ippReadIO(&m, il_ipp_read_cb, 1, NULL, resp) != IPP_STATE_DATA) {
    ippDelete(resp);
    r->http_errors++;
    il_run_error(r, "printer %s: undecodable IPP answer", p->cred->queue);
    il_timer_set(r, idx, bench_now_ms() + IL_RECONNECT_MS);
    p->state = IL_IDLE;
    return;
  }
  st = ippGetStatusCode(resp);
  p->state = IL_IDLE;

  if (p->req == IL_REQ_SUBSCRIBE) {
    if (st >= IPP_STATUS_ERROR_BAD_REQUEST ||
        (a = ippFindAttribute(resp, "notify-subscription-id", IPP_TAG_INTEGER)) == NULL) {
      r->ipp_errors++;
      il_run_error(r, "printer %s: Create-Printer-Subscriptions: %s (%s)", p->cred->queue,
                   ippErrorString(st), il_status_message(resp));
      ippDelete(resp);
      il_timer_set(r, idx, bench_now_ms() + IL_RECONNECT_MS * 5);
      return;
    }
    p->sub_id = ippGetInteger(a, 0);
    p->subscribed = true;
    p->next_seq = 1;
    r->subscribed++;
    ippDelete(resp);
    if (r->persistent)
      il_send(r, p);
    else /* first poll somewhere in the first interval */
      il_timer_set(r, idx,
                   bench_now_ms() + r->interval_s * 1000.0 * (rand_r(&r->rng) / (RAND_MAX + 1.0)));
    return;
  }

  /* Get-Notifications */
  if (st == IPP_STATUS_ERROR_NOT_FOUND) { /* subscription gone: subscribe again */
    r->not_found_resubscribe++;
    if (p->subscribed) r->subscribed--;
    p->subscribed = false;
    ippDelete(resp);
    il_send(r, p);
    return;
  }
  if (st >= IPP_STATUS_ERROR_BAD_REQUEST) {
    r->ipp_errors++;
    il_run_error(r, "printer %s: Get-Notifications: %s (%s)", p->cred->queue, ippErrorString(st),
                 il_status_message(resp));
    ippDelete(resp);
    il_timer_set(r, idx, bench_now_ms() + IL_RECONNECT_MS * 5);
    return;
  }
  if ((a = ippFindAttribute(resp, "notify-get-interval", IPP_TAG_INTEGER)) != NULL) {
    long v = ippGetInteger(a, 0);

    if (r->notify_get_interval_min < 0 || v < r->notify_get_interval_min)
      r->notify_get_interval_min = v;
    if (v > r->notify_get_interval_max) r->notify_get_interval_max = v;
  }
  {
    /* Events: one event-notification group each, separated by a nameless
     * separator attribute. */
    int seq = -1, job = -1;
    const char *ev = NULL;
    bool in_event = false;

    for (a = ippFirstAttribute(resp);; a = ippNextAttribute(resp)) {
      bool boundary = !a || ippGetGroupTag(a) != IPP_TAG_EVENT_NOTIFICATION || !ippGetName(a);

      if (boundary && in_event) {
        if (seq >= p->next_seq) {
          nevents++;
          p->events++;
          p->next_seq = seq + 1;
          il_note_event(r, idx, job, ev);
        }
        in_event = false;
        seq = job = -1;
        ev = NULL;
      }
      if (!a) break;
      if (ippGetGroupTag(a) != IPP_TAG_EVENT_NOTIFICATION || !ippGetName(a)) continue;
      in_event = true;
      if (!strcmp(ippGetName(a), "notify-sequence-number"))
        seq = ippGetInteger(a, 0);
      else if (!strcmp(ippGetName(a), "job-id"))
        job = ippGetInteger(a, 0);
      else if (!strcmp(ippGetName(a), "notify-subscribed-event"))
        ev = ippGetString(a, 0, NULL);
    }
  }
  ippDelete(resp);
  if (nevents)
    r->event_answers++;
  else {
    r->empty_answers++;
    if (was_wait) {
      if (r->min_empty_hold_ms < 0 || held_ms < r->min_empty_hold_ms)
        r->min_empty_hold_ms = held_ms;
      if (held_ms < (r->notify_wait_s - 2.0) * 1000.0) r->empty_early++;
    }
  }
  if (r->persistent)
    il_send(r, p);
  else
    il_timer_set(r, idx, bench_now_ms() + r->interval_s * 1000.0);
}

static void il_readable(il_run_t *r, il_printer_t *p) {
  static char buf[IL_READ_CHUNK];
  bool eof = false;

  for (;;) {
    ssize_t n = recv(p->fd, buf, sizeof(buf), 0);

    if (n > 0) {
      if (!il_buf_append(&p->in, buf, (size_t)n) || p->in.len > IL_MAX_RESPONSE) {
        il_fail(r, p, "answer too large");
        return;
      }
      if ((size_t)n < sizeof(buf)) break;
      continue;
    }
    if (n == 0) {
      eof = true;
      break;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    il_fail(r, p, strerror(errno));
    return;
  }
  if (p->state != IL_WAITING) {
    if (eof) { /* an idle keep-alive connection closed by the server */
      int idx = (int)(p - r->p);
      bool pending = p->heap_pos >= 0;

      il_close(r, p);
      if (!pending) il_timer_set(r, idx, bench_now_ms());
    } else if (p->in.len) {
      il_fail(r, p, "unexpected bytes from the server");
    }
    return;
  }
  {
    int status = 0, rc;
    const char *body = NULL;
    size_t body_len = 0;
    bool conn_close = false;
    il_buf_t chunked = {0};

    rc = il_http_parse(&p->in, eof, &status, &body, &body_len, &conn_close, &chunked);
    if (rc < 0) {
      il_buf_free(&chunked);
      il_fail(r, p, eof ? "connection closed during the answer" : "malformed HTTP answer");
      return;
    }
    if (rc == 0) {
      il_buf_free(&chunked);
      return;
    }
    if (conn_close || eof) {
      /* Answer first (it may carry the event), then drop the connection;
       * il_answer may want to send right away: it reconnects. */
      il_buf_t keep = p->in;

      p->in.data = NULL;
      p->in.len = p->in.cap = 0;
      epoll_ctl(r->epfd, EPOLL_CTL_DEL, p->fd, NULL);
      close(p->fd);
      p->fd = -1;
      r->reconnects++;
      il_answer(r, p, status, body, body_len);
      il_buf_free(&keep);
    } else {
      il_answer(r, p, status, body, body_len);
      il_buf_free(&p->in);
    }
    il_buf_free(&chunked);
  }
}

static void il_writable(il_run_t *r, il_printer_t *p) {
  if (p->state == IL_CONNECTING) {
    int err = 0;
    socklen_t len = sizeof(err);

    if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) || err) {
      r->connect_failures++;
      il_run_error(r, "connect to %s:%d: %s", r->node[p->node].host, r->node[p->node].port,
                   strerror(err ? err : errno));
      il_close(r, p);
      il_timer_set(r, (int)(p - r->p), bench_now_ms() + IL_RECONNECT_MS);
      return;
    }
    p->state = IL_IDLE;
    il_epoll_mod(r, p, EPOLLIN);
    il_send(r, p);
    return;
  }
  if (p->state == IL_SENDING) il_flush(r, p);
}

/* One pass of the loop: ramp, timers, I/O for up to max_wait_ms. */
static void il_loop_once(il_run_t *r, double max_wait_ms) {
  struct epoll_event evs[IL_EPOLL_BATCH];
  double now = bench_now_ms(), wait = max_wait_ms;
  int i, n, idx;

  /* Ramp: open connections at connect_rate per second. */
  if (r->opened < r->n) {
    int allowed = (int)((now - r->ramp_start) / 1000.0 * r->connect_rate) + 1;

    if (allowed > r->n) allowed = r->n;
    while (r->opened < allowed) il_connect(r, r->p + r->opened++);
    if (wait > 1.0) wait = 1.0;
  }
  while ((idx = il_timer_pop_due(r, now)) >= 0) {
    il_printer_t *p = r->p + idx;

    if (p->state == IL_WAITING || p->state == IL_SENDING || p->state == IL_CONNECTING) continue;
    il_send(r, p);
  }
  if (r->heap_len) {
    double d = r->p[r->heap[0]].due_ms - bench_now_ms();

    if (d < wait) wait = d < 0 ? 0 : d;
  }
  n = epoll_wait(r->epfd, evs, IL_EPOLL_BATCH, (int)(wait + 0.999));
  for (i = 0; i < n; i++) {
    il_printer_t *p = r->p + evs[i].data.u32;

    if (p->fd < 0) continue;
    if (evs[i].events & (EPOLLOUT | EPOLLERR) && p->state != IL_WAITING) {
      il_writable(r, p);
      if (p->fd < 0) continue;
    }
    if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) il_readable(r, p);
  }
}

static void il_loop_for(il_run_t *r, double ms) {
  double end = bench_now_ms() + ms;

  while (bench_now_ms() < end) il_loop_once(r, end - bench_now_ms());
}

/* ---- /metrics ---- */

typedef struct il_metrics_s {
  double requests;      /* nimbus_requests_total, without op="metrics" */
  double notifications; /* op="ipp.get-notifications" */
  double ipp;           /* op="ipp..." */
  bool ok;
} il_metrics_t;

static il_metrics_t il_metrics_one(const char *base) {
  il_metrics_t m = {0, 0, 0, false};
  CURL *c = curl_easy_init();
  il_buf_t b = {0};
  char url[1024], *line, *save = NULL;

  snprintf(url, sizeof(url), "%s/metrics", base);
  if (c && il_rest(c, "GET", url, NULL, NULL, NULL, &b) == 200 && b.data) {
    m.ok = true;
    for (line = strtok_r(b.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
      char *sp;
      double v;

      if (strncmp(line, "nimbus_requests_total{", 22)) continue;
      if ((sp = strrchr(line, ' ')) == NULL) continue;
      v = strtod(sp + 1, NULL);
      if (strstr(line, "op=\"metrics\"")) continue;
      m.requests += v;
      if (strstr(line, "op=\"ipp.")) m.ipp += v;
      if (strstr(line, "op=\"ipp.get-notifications\"")) m.notifications += v;
    }
  }
  il_buf_free(&b);
  if (c) curl_easy_cleanup(c);
  return (m);
}

/* The /metrics counters summed over every node; ok when all answered. */
static il_metrics_t il_metrics(const il_run_t *r) {
  il_metrics_t sum = {0, 0, 0, true};
  int k;

  for (k = 0; k < r->nnodes; k++) {
    il_metrics_t m = il_metrics_one(r->node[k].url);

    sum.requests += m.requests;
    sum.notifications += m.notifications;
    sum.ipp += m.ipp;
    sum.ok = sum.ok && m.ok;
  }
  return (sum);
}

/* ---- the prober thread ---- */

static void *il_prober(void *arg) {
  il_run_t *r = arg;
  CURL *c = curl_easy_init();
  il_buf_t b = {0};
  char url[1024], auth[256];
  unsigned seed = r->rng ^ 0x9e3779b9u;
  int k;

  for (k = 0; k < r->nsamples; k++) {
    il_sample_t *s = r->s + k;
    int idx = (int)(rand_r(&seed) % (unsigned)r->n);
    curl_mime *mime;
    curl_mimepart *part;
    struct curl_slist *hdrs = NULL;
    long code = 0;
    json_error_t jerr;
    json_t *j;
    json_int_t id = 0;
    struct timespec deadline;
    double tmo;
    int via = r->p[idx].node;

    /* Through which node: with IL_VIA_BOTH every other sample crosses. */
    if (r->nnodes > 1 && (r->via == IL_VIA_OTHER || (r->via == IL_VIA_BOTH && k % 2 == 0)))
      via = (via + 1) % r->nnodes;
    s->printer = idx;
    s->job_id = -1;
    s->cross = via != r->p[idx].node;

    /* 1. a held job on the printer's own queue (submitted through the node
     * that will release it) */
    snprintf(url, sizeof(url), "%s/api/v1/jobs", r->node[via].url);
    curl_easy_reset(c);
    b.len = 0;
    mime = curl_mime_init(c);
    part = curl_mime_addpart(mime);
    curl_mime_name(part, "queue");
    curl_mime_data(part, r->p[idx].cred->queue, CURL_ZERO_TERMINATED);
    part = curl_mime_addpart(mime);
    curl_mime_name(part, "document");
    curl_mime_filename(part, "probe.pdf");
    curl_mime_type(part, "application/pdf");
    curl_mime_data(part, r->pdf, r->pdf_len);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", r->creds.token);
    hdrs = curl_slist_append(hdrs, auth);
    hdrs = curl_slist_append(hdrs, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, il_curl_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_mime_free(mime);
    curl_slist_free_all(hdrs);
    j = code == 201 ? json_loads(b.data, 0, &jerr) : NULL;
    if (!j || json_unpack(j, "{s:I}", "id", &id)) {
      il_run_error(r, "probe %d: POST /jobs: HTTP %ld %s", k, code, b.data ? b.data : "");
      json_decref(j);
      il_sleep_ms(100);
      continue;
    }
    json_decref(j);

    pthread_mutex_lock(&r->mu);
    s->job_id = (int)id;
    atomic_store(&r->cur_sample, k);
    pthread_mutex_unlock(&r->mu);

    /* 2. the timed part: release, then wait for the printer's event */
    snprintf(url, sizeof(url), "%s/api/v1/jobs/%d/release", r->node[via].url, (int)id);
    s->t_release = bench_now_ms();
    s->release_status = il_rest(c, "POST", url, NULL, r->creds.token, NULL, &b);
    s->t_released = bench_now_ms();
    if (s->release_status != 200) {
      il_run_error(r, "probe %d: release: HTTP %ld %s", k, s->release_status, b.data ? b.data : "");
    }
    tmo = r->probe_timeout_s;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += (time_t)tmo;
    deadline.tv_nsec += (long)((tmo - (double)(time_t)tmo) * 1e9);
    if (deadline.tv_nsec >= 1000000000L) {
      deadline.tv_sec++;
      deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&r->mu);
    while (!s->arrived && s->release_status == 200)
      if (pthread_cond_timedwait(&r->cv, &r->mu, &deadline) == ETIMEDOUT) break;
    atomic_store(&r->cur_sample, -1);
    pthread_mutex_unlock(&r->mu);

    /* 3. tidy up: the job goes, so the queue stays empty */
    snprintf(url, sizeof(url), "%s/api/v1/jobs/%d/cancel", r->node[via].url, (int)id);
    il_rest(c, "POST", url, NULL, r->creds.token, NULL, &b);
    il_sleep_ms(5);
  }
  il_buf_free(&b);
  curl_easy_cleanup(c);
  atomic_store(&r->probing_done, true);
  return (NULL);
}

/* ---- run: setup, phases, report ---- */

/* Ephemeral ports one source address has towards one server address and
 * port (ip_local_port_range), -1 when unknown. */
static long il_ephemeral_ports(void) {
  FILE *fp = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
  long lo = 0, hi = -1;

  if (!fp) return (-1);
  if (fscanf(fp, "%ld %ld", &lo, &hi) != 2) hi = lo - 2;
  fclose(fp);
  return (hi - lo + 1 > 0 ? hi - lo + 1 : -1);
}

/*
 * 'il_sources()' - choose the source addresses (r->nsrc, r->src): as given
 * by --source-addresses, or one per IL_PRINTERS_PER_SOURCE printers per node
 * (each takes fewer when ip_local_port_range is narrow).  More than one needs every
 * node on IPv4 loopback, where 127.0.0.2 and on reach 127.0.0.1 (IPv6 has
 * only ::1).  Says on stderr which it uses; false (with the reason) when
 * they cannot serve this run.
 */
static bool il_sources(il_run_t *r) {
  long ports = il_ephemeral_ports();
  int per_node = (r->n + r->nnodes - 1) / r->nnodes, k;

  r->per_src = IL_PRINTERS_PER_SOURCE;
  if (ports > 0 && ports * 3 / 4 < r->per_src)
    r->per_src = (int)(ports * 3 / 4 > 0 ? ports * 3 / 4 : 1);
  if (r->nsrc == 0) r->nsrc = (per_node + r->per_src - 1) / r->per_src;
  if (r->nsrc < 1) r->nsrc = 1;
  if (r->nsrc > IL_MAX_SOURCES) {
    fprintf(stderr, "infra-load: %d printers per node would need %d source addresses (most %d)\n",
            per_node, r->nsrc, IL_MAX_SOURCES);
    return (false);
  }
  if (r->nsrc == 1) {
    fprintf(stderr,
            "infra-load: one source address (the kernel's choice) for %d printers per node "
            "(%ld ephemeral ports)\n",
            per_node, ports);
    if (ports > 0 && per_node > ports)
      fprintf(stderr, "infra-load: warning: more printers per node than ephemeral ports\n");
    return (true);
  }
  for (k = 0; k < r->nnodes; k++) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)&r->node[k].addr;

    if (r->node[k].addr.ss_family != AF_INET || (ntohl(in->sin_addr.s_addr) >> 24) != 127) {
      fprintf(stderr,
              "infra-load: %d source addresses (%d printers per node, at most %d per address) "
              "need an IPv4 loopback server (127.0.0.0/8); %s is %s: park at most %d printers "
              "per node there, or use several nodes\n",
              r->nsrc, per_node, r->per_src, r->node[k].url,
              r->node[k].addr.ss_family == AF_INET6 ? "IPv6 (its loopback is ::1 alone)"
                                                    : "not on loopback",
              r->per_src);
      return (false);
    }
  }
  for (k = 0; k < r->nsrc; k++) {
    memset(&r->src[k], 0, sizeof(r->src[k]));
    r->src[k].sin_family = AF_INET;
    r->src[k].sin_addr.s_addr = htonl(0x7f000001u + (uint32_t)k);
  }
  fprintf(stderr,
          "infra-load: %d source addresses, 127.0.0.1 to 127.0.0.%d, for %d printers per node "
          "(about %d each; %ld ephemeral ports per address)\n",
          r->nsrc, r->nsrc, per_node, (per_node + r->nsrc - 1) / r->nsrc, ports);
  if (ports > 0 && (per_node + r->nsrc - 1) / r->nsrc > ports)
    fprintf(stderr, "infra-load: warning: more printers per source address than ephemeral ports\n");
  return (true);
}

static bool il_read_pdf(il_run_t *r) {
  FILE *fp = fopen(r->pdf_path, "rb");
  struct stat st;

  if (!fp || fstat(fileno(fp), &st) || st.st_size <= 0 || st.st_size > 16 * 1024 * 1024) {
    fprintf(stderr, "infra-load: cannot read %s\n", r->pdf_path);
    if (fp) fclose(fp);
    return (false);
  }
  r->pdf_len = (size_t)st.st_size;
  r->pdf = malloc(r->pdf_len);
  if (!r->pdf || fread(r->pdf, 1, r->pdf_len, fp) != r->pdf_len) {
    fclose(fp);
    return (false);
  }
  fclose(fp);
  return (true);
}

/* Loop until the servers' CPU use stays below 5 % of one CPU for a second
 * (or timeout_s passes); the printers keep being served meanwhile. */
static void il_wait_server_quiet(il_run_t *r, double timeout_s) {
  double end = bench_now_ms() + timeout_s * 1000.0;
  long hz = sysconf(_SC_CLK_TCK);

  while (bench_now_ms() < end) {
    long long a = il_nodes_sum(r->node, r->nnodes, IL_FIG_CPU, NULL), b;

    il_loop_for(r, 1000.0);
    b = il_nodes_sum(r->node, r->nnodes, IL_FIG_CPU, NULL);
    if (a < 0 || b < 0 || (double)(b - a) < 0.05 * (double)hz) return;
  }
}

/* Latency figures of a set of samples (ms). */
typedef struct il_lat_s {
  size_t n;
  double mean, p50, p90, p99, max, rel_p50, rel_p99;
} il_lat_t;

/*
 * 'il_lat_stats()' - latency (release to event) and release-call figures
 * over the samples that arrived: all of them (which < 0), those released
 * through the printer's own node (which == 0) or through another node
 * (which == 1).
 */
static il_lat_t il_lat_stats(const il_run_t *r, int which) {
  il_lat_t l = {0, 0, 0, 0, 0, 0, 0, 0};
  double *lat = calloc((size_t)r->samples + 1, sizeof(double));
  double *rel = calloc((size_t)r->samples + 1, sizeof(double));
  double sum = 0;
  int i;

  if (!lat || !rel) {
    free(lat);
    free(rel);
    return (l);
  }
  for (i = 0; i < r->samples; i++) {
    const il_sample_t *s = r->s + i;

    if (s->job_id < 0 || s->release_status != 200 || !s->arrived) continue;
    if (which >= 0 && s->cross != (which == 1)) continue;
    rel[l.n] = s->t_released - s->t_release;
    lat[l.n++] = s->t_arrival - s->t_release;
    sum += s->t_arrival - s->t_release;
  }
  qsort(lat, l.n, sizeof(double), bench_compare_double);
  qsort(rel, l.n, sizeof(double), bench_compare_double);
  l.mean = l.n ? sum / (double)l.n : 0.0;
  l.p50 = bench_percentile(lat, l.n, 50);
  l.p90 = bench_percentile(lat, l.n, 90);
  l.p99 = bench_percentile(lat, l.n, 99);
  l.max = l.n ? lat[l.n - 1] : 0.0;
  l.rel_p50 = bench_percentile(rel, l.n, 50);
  l.rel_p99 = bench_percentile(rel, l.n, 99);
  free(lat);
  free(rel);
  return (l);
}

int il_run(int argc, char *argv[]) {
  static const struct option options[] = {{"url", required_argument, NULL, 'u'},
                                          {"url2", required_argument, NULL, 'U'},
                                          {"pid2", required_argument, NULL, 'Q'},
                                          {"release-via", required_argument, NULL, 'R'},
                                          {"db-pid", required_argument, NULL, 'D'},
                                          {"creds", required_argument, NULL, 'c'},
                                          {"count", required_argument, NULL, 'n'},
                                          {"pid", required_argument, NULL, 'P'},
                                          {"mode", required_argument, NULL, 'm'},
                                          {"interval", required_argument, NULL, 'i'},
                                          {"notify-wait", required_argument, NULL, 'W'},
                                          {"connect-rate", required_argument, NULL, 'r'},
                                          {"window", required_argument, NULL, 'w'},
                                          {"samples", required_argument, NULL, 's'},
                                          {"probe-timeout", required_argument, NULL, 'T'},
                                          {"settle", required_argument, NULL, 'S'},
                                          {"pdf", required_argument, NULL, 'f'},
                                          {"source-addresses", required_argument, NULL, 'A'},
                                          {"verbose", no_argument, NULL, 'v'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
  il_run_t *r = calloc(1, sizeof(*r));
  const char *creds_path = NULL;
  int opt, i, ret = 0;
  long rss0, rss1, rss2 = -1, rssw = -1, thr0, thr1, fds0, fds1, self_rss1;
  double t_ramp0, t_held = -1, held_ms = 0, t_w0, t_w1;
  long sent_w0 = 0, sent_w1 = 0;
  il_metrics_t m0, m1;
  struct rlimit rl;
  pthread_t prober;
  il_lat_t all = {0, 0, 0, 0, 0, 0, 0, 0}, same = all, cross = all;
  long timeouts = 0, probe_errors = 0;
  long long cpu_w0, cpu_w1, db_w0 = -1, db_w1 = -1;
  const char *via_name = NULL;

  r->persistent = true;
  r->interval_s = 30;
  r->notify_wait_s = 60;
  r->connect_rate = 1000;
  r->window_s = 120;
  r->samples = 500;
  r->probe_timeout_s = 10;
  r->settle_s = 2;
  r->n = 0;
  r->notify_get_interval_min = -1;
  r->min_empty_hold_ms = -1;
  while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
    switch (opt) {
      case 'u':
        r->node[0].url = optarg;
        break;
      case 'U':
        r->node[1].url = optarg;
        break;
      case 'Q':
        r->node[1].pid = atol(optarg);
        break;
      case 'R':
        via_name = optarg;
        break;
      case 'D':
        r->db_pid = atol(optarg);
        break;
      case 'c':
        creds_path = optarg;
        break;
      case 'n':
        r->n = atoi(optarg);
        break;
      case 'P':
        r->node[0].pid = atol(optarg);
        break;
      case 'm':
        if (!strcmp(optarg, "persistent"))
          r->persistent = true;
        else if (!strcmp(optarg, "polling"))
          r->persistent = false;
        else {
          fputs("infra-load: --mode is persistent or polling\n", stderr);
          return (2);
        }
        break;
      case 'i':
        r->interval_s = atof(optarg);
        break;
      case 'W':
        r->notify_wait_s = atof(optarg);
        break;
      case 'r':
        r->connect_rate = atof(optarg);
        break;
      case 'w':
        r->window_s = atof(optarg);
        break;
      case 's':
        r->samples = atoi(optarg);
        break;
      case 'T':
        r->probe_timeout_s = atof(optarg);
        break;
      case 'S':
        r->settle_s = atof(optarg);
        break;
      case 'f':
        r->pdf_path = optarg;
        break;
      case 'A':
        r->nsrc = atoi(optarg);
        if (r->nsrc < 1 || r->nsrc > IL_MAX_SOURCES) {
          fprintf(stderr, "infra-load: --source-addresses is 1..%d\n", IL_MAX_SOURCES);
          free(r);
          return (2);
        }
        break;
      case 'v':
        r->verbose = true;
        break;
      default:
        fputs(
            "Usage: infra-load run --url http://HOST:PORT --creds FILE --count N [options]\n"
            "  --pid PID            nimbusd's pid (RSS, threads, fds, CPU from /proc)\n"
            "  --url2 URL           a second node on the same database: odd-numbered\n"
            "                       printers park there (even ones on --url)\n"
            "  --pid2 PID           the second node's pid (figures are sums over nodes)\n"
            "  --release-via V      release each probe job through the printer's own node\n"
            "                       (same), the other node (other; the default with\n"
            "                       --url2) or each in turn (both)\n"
            "  --db-pid PID         database server (e.g. the postmaster): its CPU and\n"
            "                       its children's over the window\n"
            "  --mode M             persistent (notify-wait=true, default) or polling\n"
            "  --interval S         polling interval (30)\n"
            "  --notify-wait S      the server's notify-wait, to spot early answers (60)\n"
            "  --connect-rate R     new connections per second (1000)\n"
            "  --window S           idle window for the request rate (120; 0 skips)\n"
            "  --samples K          notification latency samples (500; 0 skips)\n"
            "  --probe-timeout S    a sample fails after this long (10)\n"
            "  --settle S           pause before reading the held RSS (2)\n"
            "  --pdf FILE           the probe document (a small PDF)\n"
            "  --source-addresses K connect from 127.0.0.1 .. 127.0.0.K (IPv4 loopback\n"
            "                       servers only; default: one per 20,000 printers per\n"
            "                       node, i.e. 1 up to 20,000: no bind, kernel's choice)\n"
            "  --verbose            every error on stderr\n",
            opt == 'h' ? stdout : stderr);
        free(r);
        return (opt == 'h' ? 0 : 2);
    }
  }
  r->nnodes = r->node[1].url ? 2 : 1;
  r->via = r->nnodes > 1 ? IL_VIA_OTHER : IL_VIA_SAME;
  if (via_name) {
    if (!strcmp(via_name, "same"))
      r->via = IL_VIA_SAME;
    else if (!strcmp(via_name, "other"))
      r->via = IL_VIA_OTHER;
    else if (!strcmp(via_name, "both"))
      r->via = IL_VIA_BOTH;
    else {
      fputs("infra-load: --release-via is same, other or both\n", stderr);
      free(r);
      return (2);
    }
  }
  if (!r->node[0].url || !creds_path || r->n < 1 || r->n > IL_MAX_PRINTERS ||
      r->connect_rate <= 0 || r->interval_s <= 0 || r->samples < 0 ||
      (r->samples > 0 && !r->pdf_path) || (r->nnodes < 2 && r->via != IL_VIA_SAME)) {
    fputs(
        "infra-load run: --url, --creds, --count (1..200000), with samples --pdf, and "
        "--url2 for --release-via other or both\n",
        stderr);
    free(r);
    return (2);
  }
  for (i = 0; i < r->nnodes; i++)
    if (!il_parse_url(&r->node[i])) return (2);
  if (!il_sources(r)) return (2);
  if (!il_creds_load(creds_path, &r->creds, r->n) || (r->samples && !il_read_pdf(r))) return (2);

  /* One fd per printer, plus slack (libcurl, /proc, epoll): the soft
   * limit is raised up to the hard one; bench/run-infra.sh raises the hard
   * one (as root) before it starts nimbusd and this tool. */
  if (!getrlimit(RLIMIT_NOFILE, &rl)) {
    rlim_t want = (rlim_t)r->n + 256;

    if (rl.rlim_cur < want) {
      rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
      setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur < (rlim_t)r->n + 64) {
      fprintf(stderr,
              "infra-load: RLIMIT_NOFILE %lu (hard %lu) is too low for %d printers: %lu wanted "
              "(as root: ulimit -Hn %lu)\n",
              (unsigned long)rl.rlim_cur, (unsigned long)rl.rlim_max, r->n, (unsigned long)want,
              (unsigned long)want);
      return (2);
    }
  }
  signal(SIGPIPE, SIG_IGN);

  r->p = calloc((size_t)r->n, sizeof(*r->p));
  r->heap = calloc((size_t)r->n, sizeof(int));
  r->s = calloc((size_t)(r->samples ? r->samples : 1), sizeof(*r->s));
  r->nsamples = r->samples;
  if (!r->p || !r->heap || !r->s || (r->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
    perror("infra-load");
    return (2);
  }
  for (i = 0; i < r->n; i++) {
    il_cred_t *c = r->creds.c + i;
    char uri[1024];

    r->p[i].node = (uint8_t)(i % r->nnodes);
    /* The printer-uri names the node the printer talks to (the file has
     * the provisioning server's). */
    snprintf(uri, sizeof(uri), "ipp://%s%s", r->node[r->p[i].node].host_header, c->resource);
    free(c->printer_uri);
    if ((c->printer_uri = strdup(uri)) == NULL) {
      perror("infra-load");
      return (2);
    }
    r->p[i].cred = c;
    r->p[i].fd = -1;
    r->p[i].heap_pos = -1;
  }
  pthread_mutex_init(&r->mu, NULL);
  pthread_cond_init(&r->cv, NULL);
  atomic_init(&r->cur_sample, -1);
  atomic_init(&r->probing_done, false);
  r->rng = (unsigned)time(NULL) ^ (unsigned)getpid();

  /* Phase 1: memory. */
  rss0 = il_nodes_sum(r->node, r->nnodes, IL_FIG_STATUS, "VmRSS");
  thr0 = il_nodes_sum(r->node, r->nnodes, IL_FIG_STATUS, "Threads");
  fds0 = il_nodes_sum(r->node, r->nnodes, IL_FIG_FDS, NULL);
  fprintf(stderr,
          "infra-load: %d printers on %d node%s, %s mode, connecting at %.0f/s; server RSS %ld "
          "KiB\n",
          r->n, r->nnodes, r->nnodes > 1 ? "s" : "", r->persistent ? "persistent" : "polling",
          r->connect_rate, rss0);
  t_ramp0 = r->ramp_start = bench_now_ms();
  {
    /* A stall ends the ramp sooner (below); this bounds a slow one. */
    double limit = t_ramp0 + ((double)r->n / r->connect_rate + 300.0) * 1000.0, last = t_ramp0;
    double progress_at = t_ramp0;
    int progress = 0;

    for (;;) {
      double now = bench_now_ms();
      bool all = r->persistent ? r->held == r->n && r->subscribed == r->n : r->subscribed == r->n;

      if (all) {
        t_held = now;
        break;
      }
      if (now > limit) break;
      if (r->subscribed + r->held != progress) {
        progress = r->subscribed + r->held;
        progress_at = now;
      } else if (r->opened == r->n && now - progress_at > 30000.0)
        break; /* stuck: no printer got further for 30 s */
      if (now - last > 5000.0) {
        fprintf(stderr, "infra-load: %.0f s: %d opened, %d subscribed, %d held\n",
                (now - t_ramp0) / 1000.0, r->opened, r->subscribed, r->held);
        last = now;
      }
      il_loop_once(r, 100.0);
    }
  }
  held_ms = t_held > 0 ? t_held - t_ramp0 : -1;
  if (t_held < 0) {
    il_run_error(r, "only %d of %d printers subscribed, %d held after the ramp", r->subscribed,
                 r->n, r->held);
    ret = 1;
    if (r->subscribed == 0) { /* nothing to measure */
      r->window_s = 0;
      r->nsamples = r->samples = 0;
    }
  }
  il_loop_for(r, r->settle_s * 1000.0);
  il_wait_server_quiet(r, 30.0);
  rss1 = il_nodes_sum(r->node, r->nnodes, IL_FIG_STATUS, "VmRSS");
  thr1 = il_nodes_sum(r->node, r->nnodes, IL_FIG_STATUS, "Threads");
  fds1 = il_nodes_sum(r->node, r->nnodes, IL_FIG_FDS, NULL);
  self_rss1 = il_proc_status((long)getpid(), "VmRSS");
  fprintf(stderr,
          "infra-load: %d subscribed, %d held after %.1f s; server RSS %ld KiB (%+.2f KiB per "
          "printer), %ld threads, %ld fds; this tool's RSS %ld KiB\n",
          r->subscribed, r->held, held_ms / 1000.0, rss1,
          rss0 > 0 && rss1 > 0 ? (double)(rss1 - rss0) / r->n : 0.0, thr1, fds1, self_rss1);

  /* Phase 2: request rate while idle. */
  for (i = 0; i < r->n; i++) sent_w0 += r->p[i].sent;
  m0 = il_metrics(r);
  cpu_w0 = il_nodes_sum(r->node, r->nnodes, IL_FIG_CPU, NULL);
  if (r->db_pid > 0) db_w0 = il_proc_tree_ticks(r->db_pid);
  t_w0 = bench_now_ms();
  if (r->window_s > 0) il_loop_for(r, r->window_s * 1000.0);
  t_w1 = bench_now_ms();
  cpu_w1 = il_nodes_sum(r->node, r->nnodes, IL_FIG_CPU, NULL);
  /* Steady state: after a whole notify-wait cycle every printer has
   * polled again, and the server had time to hand back what the ramp's
   * burst left free. */
  if (r->window_s > 0) rssw = il_nodes_sum(r->node, r->nnodes, IL_FIG_STATUS, "VmRSS");
  if (r->db_pid > 0) db_w1 = il_proc_tree_ticks(r->db_pid);
  m1 = il_metrics(r);
  for (i = 0; i < r->n; i++) sent_w1 += r->p[i].sent;
  if (r->window_s > 0 && t_w1 > t_w0) {
    double w = (t_w1 - t_w0) / 1000.0;

    fprintf(stderr,
            "infra-load: window %.1f s: %.1f requests/printer/hour sent, %.1f counted by the "
            "server (%.1f Get-Notifications)\n",
            w, (double)(sent_w1 - sent_w0) / r->n / w * 3600.0,
            m0.ok && m1.ok ? (m1.requests - m0.requests) / r->n / w * 3600.0 : -1.0,
            m0.ok && m1.ok ? (m1.notifications - m0.notifications) / r->n / w * 3600.0 : -1.0);
  }

  /* Phase 3: notification latency. */
  if (r->samples > 0) {
    fprintf(stderr, "infra-load: %d latency samples\n", r->samples);
    if (pthread_create(&prober, NULL, il_prober, r)) {
      perror("infra-load: pthread_create");
      return (2);
    }
    while (!atomic_load(&r->probing_done)) il_loop_once(r, 50.0);
    pthread_join(prober, NULL);
    for (i = 0; i < r->samples; i++) {
      il_sample_t *s = r->s + i;

      if (s->job_id < 0 || s->release_status != 200)
        probe_errors++;
      else if (!s->arrived)
        timeouts++;
    }
    all = il_lat_stats(r, -1);
    same = il_lat_stats(r, 0);
    cross = il_lat_stats(r, 1);
    rss2 = il_nodes_sum(r->node, r->nnodes, IL_FIG_STATUS, "VmRSS");
  }
  if (r->misdelivered || timeouts || probe_errors || r->empty_early) ret = 1;

  {
    double w = (t_w1 - t_w0) / 1000.0;
    double per_h_client = w > 0 ? (double)(sent_w1 - sent_w0) / r->n / w * 3600.0 : 0;
    double per_h_server =
        (m0.ok && m1.ok && w > 0) ? (m1.requests - m0.requests) / r->n / w * 3600.0 : -1;
    double per_h_server_gn =
        (m0.ok && m1.ok && w > 0) ? (m1.notifications - m0.notifications) / r->n / w * 3600.0 : -1;
    long hz = sysconf(_SC_CLK_TCK);
    double cpu_pct = (cpu_w0 >= 0 && cpu_w1 >= 0 && w > 0)
                         ? (double)(cpu_w1 - cpu_w0) / (double)hz / w * 100.0
                         : -1;
    double db_pct =
        (db_w0 >= 0 && db_w1 >= 0 && w > 0) ? (double)(db_w1 - db_w0) / (double)hz / w * 100.0 : -1;
    static const char *const via_names[] = {"same", "other", "both"};
    struct rusage ru;
    double client_rss = 0, client_cpu = 0;

    if (!getrusage(RUSAGE_SELF, &ru)) {
      client_rss = (double)ru.ru_maxrss;
      client_cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                   (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    }

    if (r->samples)
      fprintf(
          stderr,
          "infra-load: latency over %zu samples: p50 %.2f ms, p90 %.2f, p99 %.2f, max %.2f "
          "(release call p50 %.2f, p99 %.2f); %ld timeouts, %ld probe errors, %ld misdelivered, "
          "%ld early empty answers\n",
          all.n, all.p50, all.p90, all.p99, all.max, all.rel_p50, all.rel_p99, timeouts,
          probe_errors, r->misdelivered, r->empty_early);
    if (r->samples && r->nnodes > 1)
      fprintf(stderr,
              "infra-load: released through the other node: %zu samples, p50 %.2f ms, p99 %.2f, "
              "max %.2f; through the printer's own node: %zu samples, p50 %.2f ms, p99 %.2f, "
              "max %.2f\n",
              cross.n, cross.p50, cross.p99, cross.max, same.n, same.p50, same.p99, same.max);
    printf(
        "{\"mode\":\"%s\",\"printers\":%d,\"nodes\":%d,\"release_via\":\"%s\","
        "\"interval_s\":%.1f,\"connect_rate\":%.0f,\"source_addresses\":%d,"
        "\"subscribed\":%d,\"held\":%d,\"ramp_s\":%.2f,"
        "\"rss0_kib\":%ld,\"rss1_kib\":%ld,\"rss2_kib\":%ld,\"per_printer_kib\":%.3f,"
        "\"rssw_kib\":%ld,\"per_printer_steady_kib\":%.3f,"
        "\"threads0\":%ld,\"threads1\":%ld,\"fds0\":%ld,\"fds1\":%ld,"
        "\"window_s\":%.1f,\"req_per_printer_hour_client\":%.2f,"
        "\"req_per_printer_hour_server\":%.2f,\"getnotif_per_printer_hour_server\":%.2f,"
        "\"server_cpu_pct_window\":%.2f,\"db_cpu_pct_window\":%.2f,"
        "\"samples\":%d,\"lat_n\":%zu,\"lat_mean\":%.3f,\"lat_p50\":%.3f,\"lat_p90\":%.3f,"
        "\"lat_p99\":%.3f,\"lat_max\":%.3f,\"release_p50\":%.3f,\"release_p99\":%.3f,"
        "\"xlat_n\":%zu,\"xlat_p50\":%.3f,\"xlat_p90\":%.3f,\"xlat_p99\":%.3f,\"xlat_max\":%.3f,"
        "\"xrelease_p50\":%.3f,\"xrelease_p99\":%.3f,"
        "\"slat_n\":%zu,\"slat_p50\":%.3f,\"slat_p90\":%.3f,\"slat_p99\":%.3f,\"slat_max\":%.3f,"
        "\"srelease_p50\":%.3f,\"srelease_p99\":%.3f,"
        "\"timeouts\":%ld,\"probe_errors\":%ld,\"misdelivered\":%ld,\"late_events\":%ld,"
        "\"other_events\":%ld,\"empty_answers\":%ld,\"empty_early\":%ld,"
        "\"min_empty_hold_s\":%.2f,\"event_answers\":%ld,\"notify_get_interval_min\":%ld,"
        "\"notify_get_interval_max\":%ld,\"connect_failures\":%ld,\"transport_errors\":%ld,"
        "\"http_errors\":%ld,\"ipp_errors\":%ld,\"resubscribed\":%ld,\"reconnects\":%ld,"
        "\"client_rss1_kib\":%ld,\"client_maxrss_kib\":%.0f,\"client_cpu_s\":%.2f,\"elapsed_s\":%."
        "1f,\"first_error\":",
        r->persistent ? "persistent" : "polling", r->n, r->nnodes, via_names[r->via], r->interval_s,
        r->connect_rate, r->nsrc, r->subscribed, r->held, held_ms / 1000.0, rss0, rss1, rss2,
        rss0 > 0 && rss1 > 0 ? (double)(rss1 - rss0) / r->n : -1.0, rssw,
        rss0 > 0 && rssw > 0 ? (double)(rssw - rss0) / r->n : -1.0, thr0, thr1, fds0, fds1, w,
        per_h_client, per_h_server, per_h_server_gn, cpu_pct, db_pct, r->samples, all.n, all.mean,
        all.p50, all.p90, all.p99, all.max, all.rel_p50, all.rel_p99, cross.n, cross.p50, cross.p90,
        cross.p99, cross.max, cross.rel_p50, cross.rel_p99, same.n, same.p50, same.p90, same.p99,
        same.max, same.rel_p50, same.rel_p99, timeouts, probe_errors, r->misdelivered,
        r->late_events, r->other_events, r->empty_answers, r->empty_early,
        r->min_empty_hold_ms / 1000.0, r->event_answers, r->notify_get_interval_min,
        r->notify_get_interval_max, r->connect_failures, r->transport_errors, r->http_errors,
        r->ipp_errors, r->not_found_resubscribe, r->reconnects, self_rss1, client_rss, client_cpu,
        (bench_now_ms() - t_ramp0) / 1000.0);
    il_json_string(stdout, r->first_error);
    printf("}\n");
    fflush(stdout);
  }
  /* Connections close with the process; the server is restarted between runs. */
  return (ret);
}
