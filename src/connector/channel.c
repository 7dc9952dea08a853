/*
 * channel.c: how the connector learns about jobs.
 *
 *   polling     every poll-interval: Get-Jobs which-jobs=fetchable on each
 *               queue, print what it lists
 *   persistent  per queue served: Create-Printer-Subscriptions (ippget;
 *               job-fetchable, job-state-changed) and a Get-Notifications
 *               with notify-wait=true held on a connection of its own
 *               (listener_t), so every queue is long-polled at once; the
 *               channel thread waits for the first answer with poll() over
 *               those connections, runs Get-Jobs on the queues that had a
 *               job event (all of them at start and after a failure) and
 *               holds the next Get-Notifications.  client-error-not-found
 *               means the server forgot the subscription (restart):
 *               subscribe again.  While a job prints, channel_check() reads
 *               arrived answers without waiting, so a job-state-changed
 *               event saying that the job was canceled at nimbusd stops it
 *               at the output (jobs.c).
 *
 * Both: capabilities and journal reconciliation first (again after each
 * failure), exponential back-off with jitter after transient failures,
 * and deregistration handling (connector_deregistered()) when an answer
 * matches the error pattern or a printer-deleted event arrives.
 */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backoff.h"
#include "connector.h"
#include "log.h"

#define NOTICE_HOW "printer-deleted notice"

step_t step_from_ippc(ippc_result_t r) {
  switch (r) {
    case IPPC_OK:
      return STEP_OK;
    case IPPC_DELETED:
      return STEP_DELETED;
    case IPPC_TRANSIENT:
      return STEP_TRANSIENT;
    case IPPC_STOPPED:
      return STEP_STOPPED;
    default:
      return STEP_FAILED;
  }
}

static step_t channel_poll_all(connector_t *c) {
  for (size_t i = 0; i < c->state.nuris; i++) {
    step_t s = jobs_poll_queue(c, c->state.uris[i]);
    if (s != STEP_OK) return s;
  }
  return STEP_OK;
}

/* A connection of its own with the main one's settings (no-op when connected). */
static void channel_clone(connector_t *c, ippc_t *dst) {
  if (dst->http) return;
  *dst = c->ippc;
  dst->http = NULL;
  dst->pending = false;
}

static step_t channel_subscribe(connector_t *c, size_t q) {
  static const char *const events[] = {"job-fetchable", "job-state-changed"};
  const char *uri = c->state.uris[q];
  listener_t *l = &c->listen[q];
  ipp_t *req = ippc_request(&c->ippc, IPP_OP_CREATE_PRINTER_SUBSCRIPTIONS, uri);
  ippAddSeparator(req);
  ippAddString(req, IPP_TAG_SUBSCRIPTION, IPP_TAG_KEYWORD, "notify-pull-method", NULL, "ippget");
  ippAddStrings(req, IPP_TAG_SUBSCRIPTION, IPP_TAG_KEYWORD, "notify-events", 2, NULL, events);
  ippAddInteger(req, IPP_TAG_SUBSCRIPTION, IPP_TAG_INTEGER, "notify-lease-duration", 3600);
  ipp_t *resp;
  ippc_status_t st;
  ippc_result_t r = ippc_send(&c->ippc, req, uri, &resp, &st, false);
  ipp_attribute_t *a =
      resp ? ippFindAttribute(resp, "notify-subscription-id", IPP_TAG_INTEGER) : NULL;
  if (r == IPPC_OK && !a) r = IPPC_IPP_ERROR;
  if (r != IPPC_OK) {
    log_event(LOG_WARN, NULL, "Create-Printer-Subscriptions failed", "queue", uri, "result",
              ippc_result_name(r), "error", st.message, (char *)NULL);
    ippDelete(resp);
    return step_from_ippc(r);
  }
  connector_contact(c);
  l->sub_id = ippGetInteger(a, 0);
  l->next_seq = 1;
  l->need_jobs = true;
  l->resend_at = 0;
  ippc_close(&l->ippc); /* a request held for an older subscription is of no use */
  log_event(LOG_INFO, NULL, "subscribed", "subscription", LOG_INT(l->sub_id), "queue", uri,
            (char *)NULL);
  ippDelete(resp);
  return STEP_OK;
}

/* Hold the next Get-Notifications of queue q on its own connection. */
static step_t channel_hold(connector_t *c, size_t q) {
  const char *uri = c->state.uris[q];
  listener_t *l = &c->listen[q];
  channel_clone(c, &l->ippc);
  ipp_t *req = ippc_request(&l->ippc, IPP_OP_GET_NOTIFICATIONS, uri);
  ippAddInteger(req, IPP_TAG_OPERATION, IPP_TAG_INTEGER, "notify-subscription-ids", l->sub_id);
  ippAddInteger(req, IPP_TAG_OPERATION, IPP_TAG_INTEGER, "notify-sequence-numbers", l->next_seq);
  ippAddBoolean(req, IPP_TAG_OPERATION, "notify-wait", 1);
  ippc_status_t st;
  l->resend_at = 0;
  ippc_result_t r = ippc_start(&l->ippc, req, uri, &st);
  if (r != IPPC_OK && r != IPPC_STOPPED)
    log_event(LOG_WARN, NULL, "Get-Notifications failed", "queue", uri, "result",
              ippc_result_name(r), "error", st.message, (char *)NULL);
  return step_from_ippc(r);
}

/* One event-notification group, as far as the connector cares. */
typedef struct {
  bool any;
  bool deleted;
  bool fetchable; /* job-fetchable */
  bool changed;   /* job-state-changed */
  int job_id;
  int job_state;
} channel_event_t;

static void channel_event(connector_t *c, listener_t *l, const channel_event_t *e, bool *deleted) {
  if (e->deleted) *deleted = true;
  /* a job that may be fetchable now (job-state pending): look */
  if (e->fetchable || (e->changed && e->job_state > 0 && e->job_state < IPP_JSTATE_PROCESSING))
    l->need_jobs = true;
  /* the job being printed ended at nimbusd (canceled by its owner) */
  if (e->changed && e->job_id > 0 && e->job_id == c->watch_job &&
      e->job_state >= IPP_JSTATE_CANCELED && !c->watch_state) {
    c->watch_state = e->job_state;
    log_event(LOG_INFO, NULL, "job-state-changed event: the job ended at nimbusd", "job",
              LOG_INT(e->job_id), "state", ippEnumString("job-state", e->job_state), (char *)NULL);
  }
}

/* Read the answer to queue q's held Get-Notifications (it has arrived). */
static step_t channel_answer(connector_t *c, size_t q) {
  listener_t *l = &c->listen[q];
  time_t start = l->ippc.request_start;
  ipp_t *resp;
  ippc_status_t st;
  ippc_result_t r = ippc_finish(&l->ippc, &resp, &st, false);
  if (r == IPPC_IPP_ERROR && st.ipp_status == IPP_STATUS_ERROR_NOT_FOUND) {
    log_event(LOG_INFO, NULL, "subscription unknown to the server; subscribing again", "queue",
              c->state.uris[q], (char *)NULL);
    l->sub_id = 0;
    ippDelete(resp);
    return STEP_OK;
  }
  if (r != IPPC_OK) {
    log_event(LOG_WARN, NULL, "Get-Notifications failed", "queue", c->state.uris[q], "result",
              ippc_result_name(r), "error", st.message, (char *)NULL);
    ippDelete(resp);
    return step_from_ippc(r);
  }
  connector_contact(c);
  bool deleted = false, events = false;
  channel_event_t e = {0};
  for (ipp_attribute_t *a = ippFirstAttribute(resp);; a = ippNextAttribute(resp)) {
    const char *name = a ? ippGetName(a) : NULL;
    bool in = name && ippGetGroupTag(a) == IPP_TAG_EVENT_NOTIFICATION;
    if (!in && e.any) { /* the end of a group */
      channel_event(c, l, &e, &deleted);
      memset(&e, 0, sizeof e);
    }
    if (!a) break;
    if (!in) continue;
    e.any = events = true;
    if (!strcmp(name, "notify-sequence-number")) {
      if (ippGetInteger(a, 0) >= l->next_seq) l->next_seq = ippGetInteger(a, 0) + 1;
    } else if (!strcmp(name, "notify-subscribed-event")) {
      const char *ev = ippGetString(a, 0, NULL);
      e.deleted = ev && !strcmp(ev, "printer-deleted");
      e.fetchable = ev && !strcmp(ev, "job-fetchable");
      e.changed = ev && !strcmp(ev, "job-state-changed");
    } else if (!strcmp(name, "job-id") && ippGetValueTag(a) == IPP_TAG_INTEGER) {
      e.job_id = ippGetInteger(a, 0);
    } else if (!strcmp(name, "job-state") && ippGetValueTag(a) == IPP_TAG_ENUM) {
      e.job_state = ippGetInteger(a, 0);
    }
  }
  ipp_attribute_t *gi = ippFindAttribute(resp, "notify-get-interval", IPP_TAG_INTEGER);
  int interval = gi ? ippGetInteger(gi, 0) : 0;
  ippDelete(resp);
  if (deleted) {
    c->deleted_how = NOTICE_HOW;
    return STEP_DELETED;
  }
  /* a server that answered at once without holding (not one that does
   * not hold, or nimbusd shutting down): respect its interval, and never
   * ask again in a tight loop */
  if (!events && time(NULL) - start < 2)
    l->resend_at = time(NULL) + (interval > 300 ? 300 : interval > 0 ? interval : 1);
  return STEP_OK;
}

/* A held request past the request timeout: give up on it. */
static bool channel_overdue(connector_t *c, listener_t *l) {
  if (!l->ippc.pending || time(NULL) - l->ippc.request_start < c->opt.request_timeout) return false;
  ippc_close(&l->ippc);
  return true;
}

step_t channel_check(connector_t *c) {
  if (c->opt.transport != TRANSPORT_PERSISTENT) return STEP_OK;
  for (size_t q = 0; q < c->state.nuris; q++) {
    listener_t *l = &c->listen[q];
    if (!l->sub_id) continue;
    if (!l->ippc.pending && l->resend_at && l->resend_at <= time(NULL)) {
      /* put off after an answer that did not hold (failures wait for the loop) */
      step_t s = channel_hold(c, q);
      if (s == STEP_DELETED || s == STEP_STOPPED) return s;
      continue;
    }
    if (!l->ippc.pending) continue;
    if (!ippc_ready(&l->ippc)) {
      if (channel_overdue(c, l))
        log_event(LOG_WARN, NULL, "Get-Notifications timed out", "queue", c->state.uris[q],
                  (char *)NULL);
      continue;
    }
    step_t s = channel_answer(c, q);
    if (s == STEP_DELETED || s == STEP_STOPPED) return s;
    /* hold the next one at once; failures are left to the channel loop */
    if (s == STEP_OK && l->sub_id && l->resend_at <= time(NULL)) {
      s = channel_hold(c, q);
      if (s == STEP_DELETED || s == STEP_STOPPED) return s;
    }
  }
  return STEP_OK;
}

/*
 * Hold a Get-Notifications on every subscribed queue and wait for the
 * first answer.  Returns when one came (or a queue needs attention).
 */
static step_t channel_wait(connector_t *c) {
  size_t n = c->state.nuris;
  /* the main connection would idle for as long as the polls are held, past
   * nimbusd's connection-timeout: the next request opens a fresh one */
  ippc_close(&c->ippc);
  for (;;) {
    if (atomic_load(&c->stopping)) return STEP_OK;
    for (size_t q = 0; q < n; q++)
      if (!c->listen[q].sub_id || c->listen[q].need_jobs) return STEP_OK;
    time_t now = time(NULL);
    for (size_t q = 0; q < n; q++) {
      listener_t *l = &c->listen[q];
      if (l->ippc.pending || l->resend_at > now) continue;
      step_t s = channel_hold(c, q);
      if (s != STEP_OK) return s;
    }
    bool answered = false;
    for (size_t q = 0; q < n; q++) {
      listener_t *l = &c->listen[q];
      if (!l->ippc.pending || !ippc_ready(&l->ippc)) continue;
      step_t s = channel_answer(c, q);
      /* hold the next one at once: it listens while the jobs print */
      if (s == STEP_OK && l->sub_id && l->resend_at <= time(NULL)) s = channel_hold(c, q);
      if (s != STEP_OK) return s;
      answered = true;
    }
    if (answered) return STEP_OK;
    struct pollfd fds[STATE_URIS_MAX];
    nfds_t nfds = 0;
    for (size_t q = 0; q < n; q++) {
      listener_t *l = &c->listen[q];
      if (channel_overdue(c, l)) {
        log_event(LOG_WARN, NULL, "Get-Notifications timed out", "queue", c->state.uris[q],
                  (char *)NULL);
        return STEP_TRANSIENT;
      }
      if (l->ippc.pending && ippc_fd(&l->ippc) >= 0)
        fds[nfds++] = (struct pollfd){.fd = ippc_fd(&l->ippc), .events = POLLIN};
    }
    if (nfds == 0)
      connector_sleep(c, 1000); /* only servers that do not hold: their interval */
    else
      poll(fds, nfds, 1000); /* one-second slices: SIGTERM is noticed */
  }
}

static step_t channel_persistent_round(connector_t *c) {
  for (size_t q = 0; q < c->state.nuris; q++) {
    if (c->listen[q].sub_id) continue;
    step_t s = channel_subscribe(c, q);
    if (s != STEP_OK) return s;
  }
  for (size_t q = 0; q < c->state.nuris; q++) {
    listener_t *l = &c->listen[q];
    if (!l->need_jobs) continue;
    l->need_jobs = false; /* events while its jobs print set it again */
    step_t s = jobs_poll_queue(c, c->state.uris[q]);
    if (s != STEP_OK) {
      l->need_jobs = true;
      return s;
    }
  }
  return channel_wait(c);
}

/* After a failure: drop the held requests, look at every queue again. */
static void channel_reset(connector_t *c, bool forget_subscriptions) {
  for (size_t q = 0; q < STATE_URIS_MAX; q++) {
    listener_t *l = &c->listen[q];
    ippc_close(&l->ippc);
    l->need_jobs = true;
    l->resend_at = 0;
    if (forget_subscriptions) l->sub_id = 0;
  }
  ippc_close(&c->side);
}

void channel_close_all(connector_t *c, int grace_s) {
  time_t end = time(NULL) + grace_s;
  bool notice = c->deleted_how && !strcmp(c->deleted_how, NOTICE_HOW);
  for (size_t q = 0; q < STATE_URIS_MAX; q++) {
    listener_t *l = &c->listen[q];
    if (grace_s > 0 && l->ippc.http) {
      time_t left = end - time(NULL);
      ippc_linger_close(&l->ippc, left > 0 ? (int)left : 0);
    }
    ippc_close(&l->ippc);
  }
  /* polling: the deregistration answer came on the main connection; a
   * notice came on the listeners and the main one is idle */
  if (grace_s > 0 && !notice && c->ippc.http) {
    time_t left = end - time(NULL);
    ippc_linger_close(&c->ippc, left > 0 ? (int)left : 0);
  }
  ippc_close(&c->ippc);
  ippc_close(&c->side);
}

void channel_forget_credential(connector_t *c) {
  memset(c->ippc.credential, 0, sizeof c->ippc.credential);
  memset(c->side.credential, 0, sizeof c->side.credential);
  for (size_t q = 0; q < STATE_URIS_MAX; q++)
    memset(c->listen[q].ippc.credential, 0, sizeof c->listen[q].ippc.credential);
}

void channel_run(connector_t *c) {
  backoff_t b;
  backoff_init(&b, c->opt.backoff_min, c->opt.backoff_max,
               (unsigned)time(NULL) ^ (unsigned)getpid());
  bool hello = false;
  channel_reset(c, true);
  while (!atomic_load(&c->stopping)) {
    if (!atomic_load(&c->allowed)) {
      connector_sleep(c, 3600 * 1000); /* serve the panel until told to stop */
      continue;
    }
    c->deleted_how = "error pattern";
    step_t s = STEP_OK;
    if (!hello) {
      s = jobs_send_caps(c);
      if (s == STEP_OK) s = jobs_fetch_identity(c);
      if (s == STEP_OK) s = jobs_reconcile(c);
      if (s == STEP_OK) hello = true;
    } else if (time(NULL) >= c->identity_next) {
      s = jobs_fetch_identity(c);
    }
    if (s == STEP_OK) {
      if (c->opt.transport == TRANSPORT_POLLING) {
        s = channel_poll_all(c);
      } else {
        s = channel_persistent_round(c);
      }
    }
    if (atomic_load(&c->stopping)) break;
    switch (s) {
      case STEP_OK:
        backoff_reset(&b);
        if (c->opt.transport == TRANSPORT_POLLING) connector_sleep(c, c->opt.poll_interval * 1000);
        break;
      case STEP_TRANSIENT:
      case STEP_FAILED: {
        int ms = backoff_next(&b);
        log_event(LOG_INFO, NULL, "retrying later", "delay_ms", LOG_INT(ms), "reason",
                  s == STEP_TRANSIENT ? "transient" : "error", (char *)NULL);
        hello = false;
        channel_reset(c, false);
        connector_sleep(c, ms);
        break;
      }
      case STEP_DELETED: {
        hello = false;
        /* the policy lingers on the connections nimbusd closes, then all are closed */
        bool go_on = connector_deregistered(c, c->deleted_how);
        channel_reset(c, true);
        if (go_on) connector_sleep(c, backoff_next(&b));
        break;
      }
      case STEP_STOPPED:
        break;
    }
  }
}
