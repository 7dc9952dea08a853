/*
 * channel.c: how the connector learns about jobs.
 *
 *   polling     every poll-interval: Get-Jobs which-jobs=fetchable on each
 *               queue, print what it lists
 *   persistent  Create-Printer-Subscriptions (ippget; job-fetchable,
 *               job-state-changed), Get-Jobs once, then Get-Notifications
 *               with notify-wait=true in a loop; client-error-not-found
 *               means the server forgot the subscription (restart):
 *               subscribe again.  The long poll is held on the first
 *               queue; further queues are polled whenever it returns.
 *
 * Both: capabilities and journal reconciliation first (again after each
 * failure), exponential back-off with jitter after transient failures,
 * and deregistration handling (connector_deregistered()) when an answer
 * matches the error pattern or a printer-deleted event arrives.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backoff.h"
#include "connector.h"
#include "log.h"

typedef struct {
  bool subscribed;
  bool need_jobs;
  int sub_id;
  int next_seq;
  const char *how; /* what told us about a deregistration */
} persistent_t;

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

static step_t channel_subscribe(connector_t *c, persistent_t *p) {
  static const char *const events[] = {"job-fetchable", "job-state-changed"};
  ipp_t *req = ippc_request(&c->ippc, IPP_OP_CREATE_PRINTER_SUBSCRIPTIONS, c->state.uris[0]);
  ippAddSeparator(req);
  ippAddString(req, IPP_TAG_SUBSCRIPTION, IPP_TAG_KEYWORD, "notify-pull-method", NULL, "ippget");
  ippAddStrings(req, IPP_TAG_SUBSCRIPTION, IPP_TAG_KEYWORD, "notify-events", 2, NULL, events);
  ippAddInteger(req, IPP_TAG_SUBSCRIPTION, IPP_TAG_INTEGER, "notify-lease-duration", 3600);
  ipp_t *resp;
  ippc_status_t st;
  ippc_result_t r = ippc_send(&c->ippc, req, c->state.uris[0], &resp, &st, false);
  ipp_attribute_t *a =
      resp ? ippFindAttribute(resp, "notify-subscription-id", IPP_TAG_INTEGER) : NULL;
  if (r == IPPC_OK && !a) r = IPPC_IPP_ERROR;
  if (r != IPPC_OK) {
    log_event(LOG_WARN, NULL, "Create-Printer-Subscriptions failed", "result", ippc_result_name(r),
              "error", st.message, (char *)NULL);
    ippDelete(resp);
    return step_from_ippc(r);
  }
  p->sub_id = ippGetInteger(a, 0);
  p->next_seq = 1;
  p->subscribed = true;
  p->need_jobs = true;
  log_event(LOG_INFO, NULL, "subscribed", "subscription", LOG_INT(p->sub_id), (char *)NULL);
  ippDelete(resp);
  return STEP_OK;
}

/* One Get-Notifications round trip (long poll) and what it asks for. */
static step_t channel_notifications(connector_t *c, persistent_t *p) {
  ipp_t *req = ippc_request(&c->ippc, IPP_OP_GET_NOTIFICATIONS, c->state.uris[0]);
  ippAddInteger(req, IPP_TAG_OPERATION, IPP_TAG_INTEGER, "notify-subscription-ids", p->sub_id);
  ippAddInteger(req, IPP_TAG_OPERATION, IPP_TAG_INTEGER, "notify-sequence-numbers", p->next_seq);
  ippAddBoolean(req, IPP_TAG_OPERATION, "notify-wait", 1);
  time_t start = time(NULL);
  ipp_t *resp;
  ippc_status_t st;
  ippc_result_t r = ippc_send(&c->ippc, req, c->state.uris[0], &resp, &st, false);
  if (r == IPPC_IPP_ERROR && st.ipp_status == IPP_STATUS_ERROR_NOT_FOUND) {
    log_event(LOG_INFO, NULL, "subscription unknown to the server; subscribing again",
              (char *)NULL);
    p->subscribed = false;
    ippDelete(resp);
    return STEP_OK;
  }
  if (r != IPPC_OK) {
    log_event(LOG_WARN, NULL, "Get-Notifications failed", "result", ippc_result_name(r), "error",
              st.message, (char *)NULL);
    ippDelete(resp);
    return step_from_ippc(r);
  }
  connector_contact(c);
  bool deleted = false, jobs = false, events = false;
  for (ipp_attribute_t *a = ippFirstAttribute(resp); a; a = ippNextAttribute(resp)) {
    const char *name = ippGetName(a);
    if (!name || ippGetGroupTag(a) != IPP_TAG_EVENT_NOTIFICATION) continue;
    events = true;
    if (!strcmp(name, "notify-sequence-number") && ippGetInteger(a, 0) >= p->next_seq)
      p->next_seq = ippGetInteger(a, 0) + 1;
    else if (!strcmp(name, "notify-subscribed-event")) {
      const char *ev = ippGetString(a, 0, NULL);
      if (ev && !strcmp(ev, "printer-deleted"))
        deleted = true;
      else if (ev && !strncmp(ev, "job-", 4))
        jobs = true;
    }
  }
  ipp_attribute_t *gi = ippFindAttribute(resp, "notify-get-interval", IPP_TAG_INTEGER);
  int interval = gi ? ippGetInteger(gi, 0) : 0;
  ippDelete(resp);
  if (deleted) {
    p->how = "printer-deleted notice";
    return STEP_DELETED;
  }
  if (jobs || c->state.nuris > 1) p->need_jobs = true;
  /* a server that answered at once without holding: respect its interval */
  if (!events && time(NULL) - start < 2 && interval > 0)
    connector_sleep(c, (interval > 300 ? 300 : interval) * 1000);
  return STEP_OK;
}

static step_t channel_persistent_round(connector_t *c, persistent_t *p) {
  step_t s = STEP_OK;
  if (!p->subscribed) s = channel_subscribe(c, p);
  if (s == STEP_OK && p->need_jobs) {
    s = channel_poll_all(c);
    if (s == STEP_OK) p->need_jobs = false;
  }
  if (s == STEP_OK && p->subscribed) s = channel_notifications(c, p);
  return s;
}

void channel_run(connector_t *c) {
  backoff_t b;
  backoff_init(&b, c->opt.backoff_min, c->opt.backoff_max,
               (unsigned)time(NULL) ^ (unsigned)getpid());
  persistent_t p = {0};
  bool hello = false;
  while (!atomic_load(&c->stopping)) {
    if (!atomic_load(&c->allowed)) {
      connector_sleep(c, 3600 * 1000); /* serve the panel until told to stop */
      continue;
    }
    p.how = "error pattern";
    step_t s = STEP_OK;
    if (!hello) {
      s = jobs_send_caps(c);
      if (s == STEP_OK) s = jobs_reconcile(c);
      if (s == STEP_OK) hello = true;
    }
    if (s == STEP_OK) {
      if (c->opt.transport == TRANSPORT_POLLING) {
        s = channel_poll_all(c);
      } else {
        s = channel_persistent_round(c, &p);
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
        p.need_jobs = true;
        connector_sleep(c, ms);
        break;
      }
      case STEP_DELETED:
        hello = false;
        p.subscribed = false;
        p.need_jobs = true;
        if (connector_deregistered(c, p.how)) connector_sleep(c, backoff_next(&b));
        break;
      case STEP_STOPPED:
        break;
    }
  }
}
