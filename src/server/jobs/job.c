/*
 * job.c: the job lifecycle, one state machine in one file.
 *
 *  received ──close──▶ held ──release──▶ fetchable ──fetch (device ack)──▶ processing
 *     │                 │ ▲ └─expire─▶ expired   │ ▲ └hold─▶ held            │
 *     │                 │ └──────── hold ────────┘ └──── reoffer (lease) ─────┤
 *     │                 │                        │                            ▼
 *     │          pay-start                      paid            completed │ aborted │ canceled
 *     │                 ▼                        │              (reported by the device)
 *     │          awaiting-payment ───────────────┘
 *     │                 └──pay-return (canceled, timed out, declined)──▶ held
 *     └─cancel─▶ canceled ◀─cancel─ (any non-terminal state)
 *
 *  (queues with release-immediately close straight to fetchable, unless
 *   the job asks to be held with job-hold-until; a release that must be
 *   paid first takes pay-start instead of release, payments/payment-flow.c)
 *
 * Invariants:
 *  - completed, canceled, aborted and expired are terminal: no event leaves them.
 *  - every transition is one store transaction that also appends a
 *    job_events row (store_job_apply), so notifications, audit and
 *    billing see every change exactly once.  This file decides which
 *    transition is legal; the store only compares and sets what it is
 *    given (a backend holds no job policy).
 *  - a release at a printer (queue move for follow-me, target printer,
 *    held -> fetchable) is one transition: one store_job_apply() call.
 *  - a transition is a compare-and-set on the state read just before, so
 *    two concurrent events on one job cannot both apply.
 */
#include "job.h"

#include <string.h>

static const char *const job_state_names[] = {[NIMBUS_JOB_RECEIVED] = "received",
                                              [NIMBUS_JOB_HELD] = "held",
                                              [NIMBUS_JOB_AWAITING_PAYMENT] = "awaiting-payment",
                                              [NIMBUS_JOB_FETCHABLE] = "fetchable",
                                              [NIMBUS_JOB_PROCESSING] = "processing",
                                              [NIMBUS_JOB_COMPLETED] = "completed",
                                              [NIMBUS_JOB_CANCELED] = "canceled",
                                              [NIMBUS_JOB_ABORTED] = "aborted",
                                              [NIMBUS_JOB_EXPIRED] = "expired"};

static const char *const job_event_names[] = {
    [JOB_EVENT_CLOSE] = "job-closed",
    [JOB_EVENT_RELEASE] = "job-released",
    [JOB_EVENT_HOLD] = "job-held",
    [JOB_EVENT_CANCEL] = "job-canceled",
    [JOB_EVENT_EXPIRE] = "job-expired",
    [JOB_EVENT_PAY_START] = "job-awaiting-payment",
    [JOB_EVENT_PAID] = "job-paid",
    [JOB_EVENT_PAY_RETURN] = "job-payment-ended",
    [JOB_EVENT_FETCH] = "job-fetched",
    [JOB_EVENT_REOFFER] = "job-reoffered",
    [JOB_EVENT_DEVICE_COMPLETED] = "job-completed",
    [JOB_EVENT_DEVICE_ABORTED] = "job-aborted",
    [JOB_EVENT_DEVICE_CANCELED] = "job-canceled-at-device"};

static job_observer_t job_observer;
static void *job_observer_ctx;

void job_set_observer(job_observer_t fn, void *ctx) {
  job_observer = fn;
  job_observer_ctx = ctx;
}

void job_observe(const nimbus_job_t *job, nimbus_job_state_t from) {
  if (job_observer) job_observer(job_observer_ctx, job, from);
}

bool job_state_is_terminal(nimbus_job_state_t s) {
  return s == NIMBUS_JOB_COMPLETED || s == NIMBUS_JOB_CANCELED || s == NIMBUS_JOB_ABORTED ||
         s == NIMBUS_JOB_EXPIRED;
}

const char *job_state_name(nimbus_job_state_t s) {
  if (s < NIMBUS_JOB_RECEIVED || s > NIMBUS_JOB_EXPIRED) return "unknown";
  return job_state_names[s];
}

bool job_state_parse(const char *name, nimbus_job_state_t *out) {
  for (int s = NIMBUS_JOB_RECEIVED; s <= NIMBUS_JOB_EXPIRED; s++) {
    if (strcmp(name, job_state_names[s]) == 0) {
      *out = (nimbus_job_state_t)s;
      return true;
    }
  }
  return false;
}

nimbus_job_state_t job_state_when_closed(const nimbus_queue_t *q, const char *hold_until) {
  /* A job that asks to be held (job-hold-until other than no-hold) is held
   * on any queue; there is no scheduler, so a time period holds it until
   * it is released, like indefinite. */
  bool hold_requested = hold_until && hold_until[0] && strcmp(hold_until, "no-hold") != 0;
  return q->release_immediately && !hold_requested ? NIMBUS_JOB_FETCHABLE : NIMBUS_JOB_HELD;
}

nimbus_job_state_t job_state_when_closed_for(const nimbus_queue_t *q, const nimbus_job_t *job) {
  if (job->origin_device_id && !job->owner_id) return NIMBUS_JOB_HELD;
  return job_state_when_closed(q, job->hold_until);
}

bool job_next_state(nimbus_job_state_t from, job_event_t ev, nimbus_job_state_t *to) {
  if (job_state_is_terminal(from)) return false;
  switch (ev) {
    case JOB_EVENT_CLOSE:
      if (from != NIMBUS_JOB_RECEIVED) return false;
      *to = NIMBUS_JOB_HELD;
      return true;
    case JOB_EVENT_RELEASE:
      if (from != NIMBUS_JOB_HELD) return false;
      *to = NIMBUS_JOB_FETCHABLE;
      return true;
    case JOB_EVENT_HOLD:
      if (from != NIMBUS_JOB_FETCHABLE) return false;
      *to = NIMBUS_JOB_HELD;
      return true;
    case JOB_EVENT_CANCEL:
      *to = NIMBUS_JOB_CANCELED;
      return true;
    case JOB_EVENT_EXPIRE:
      if (from != NIMBUS_JOB_HELD && from != NIMBUS_JOB_RECEIVED) return false;
      *to = NIMBUS_JOB_EXPIRED;
      return true;
    case JOB_EVENT_PAY_START:
      if (from != NIMBUS_JOB_HELD) return false;
      *to = NIMBUS_JOB_AWAITING_PAYMENT;
      return true;
    case JOB_EVENT_PAID:
      if (from != NIMBUS_JOB_AWAITING_PAYMENT) return false;
      *to = NIMBUS_JOB_FETCHABLE;
      return true;
    case JOB_EVENT_PAY_RETURN:
      if (from != NIMBUS_JOB_AWAITING_PAYMENT) return false;
      *to = NIMBUS_JOB_HELD;
      return true;
    case JOB_EVENT_FETCH:
      if (from != NIMBUS_JOB_FETCHABLE) return false;
      *to = NIMBUS_JOB_PROCESSING;
      return true;
    case JOB_EVENT_REOFFER:
      if (from != NIMBUS_JOB_PROCESSING) return false;
      *to = NIMBUS_JOB_FETCHABLE;
      return true;
    case JOB_EVENT_DEVICE_COMPLETED:
    case JOB_EVENT_DEVICE_ABORTED:
    case JOB_EVENT_DEVICE_CANCELED:
      if (from != NIMBUS_JOB_PROCESSING) return false;
      *to = ev == JOB_EVENT_DEVICE_COMPLETED ? NIMBUS_JOB_COMPLETED
            : ev == JOB_EVENT_DEVICE_ABORTED ? NIMBUS_JOB_ABORTED
                                             : NIMBUS_JOB_CANCELED;
      return true;
  }
  return false;
}

/* Is ev one of the events that carry a device (job_apply_device)? */
static bool job_event_is_device(job_event_t ev) {
  return ev >= JOB_EVENT_FETCH;
}

bool job_change(const nimbus_job_t *job, job_event_t ev, nimbus_id_t device_id, const char *actor,
                store_job_change_t *out) {
  nimbus_job_state_t next;
  if (!job_next_state(job->state, ev, &next)) return false;
  *out = (store_job_change_t){.job_id = job->id,
                              .expected = job->state,
                              .next = next,
                              .event = job_event_names[ev],
                              .detail = actor};
  if (!job_event_is_device(ev)) return true;
  /* FETCH: from fetchable, no current device; REOFFER from any or the
   * given device; DEVICE_*: only the device that holds the job. */
  nimbus_id_t expect = ev == JOB_EVENT_FETCH ? 0 : device_id;
  if (expect && job->device_id != expect) return false;
  out->expect_device = expect;
  out->set = STORE_JOB_SET_DEVICE;
  out->device_id = ev == JOB_EVENT_FETCH ? device_id : ev == JOB_EVENT_REOFFER ? 0 : job->device_id;
  return true;
}

/*
 * The one transition routine behind job_apply(), job_apply_device() and
 * job_release(): read the job, judge ev against its state (job_change),
 * and apply the change plus the columns `extra` names (extra->set; NULL:
 * none) as one compare-and-set.
 */
static job_result_t job_transition(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                   job_event_t ev, nimbus_id_t device_id,
                                   const store_job_change_t *extra, const char *actor,
                                   job_charge_hold_t *hold, nimbus_job_t *job) {
  nimbus_job_t cur;
  /* Retry a few times if another event changed the job between read and
   * compare-and-set; then the event is judged against the new state. */
  for (int attempt = 0; attempt < 3; attempt++) {
    store_status_t s = store_job_get(st, tenant_id, job_id, &cur);
    if (s == STORE_NOT_FOUND) return JOB_NOT_FOUND;
    if (s != STORE_OK) return JOB_ERROR;
    store_job_change_t c;
    if (!job_change(&cur, ev, device_id, actor, &c)) return JOB_NOT_POSSIBLE;
    if (extra) {
      c.set |= extra->set;
      if (extra->set & STORE_JOB_SET_TARGET) c.target_device_id = extra->target_device_id;
      if (extra->set & STORE_JOB_SET_QUEUE) c.queue_id = extra->queue_id;
      if (extra->set & STORE_JOB_SET_SETTINGS) {
        c.copies = extra->copies;
        c.impressions = extra->impressions;
        c.attrs_json = extra->attrs_json;
        c.settings_event = extra->settings_event;
        c.settings_detail = extra->settings_detail;
      }
    }
    if (hold) {
      /* the charge's hold and the release: one transaction */
      hold->why = 0;
      s = store_charge_hold(st, hold->charge, &c, hold->audit, &hold->why);
      if (s == STORE_CONFLICT && hold->why != STORE_CHARGE_JOB_CHANGED) return JOB_NOT_POSSIBLE;
    } else {
      s = store_job_apply(st, tenant_id, &c, 1);
    }
    if (s == STORE_CONFLICT) continue;
    if (s == STORE_NOT_FOUND) return JOB_NOT_FOUND;
    if (s != STORE_OK) return JOB_ERROR;
    if (job || job_observer) {
      nimbus_job_t after;
      if (store_job_get(st, tenant_id, job_id, &after) != STORE_OK) return JOB_ERROR;
      job_observe(&after, cur.state);
      if (job) *job = after;
    }
    return JOB_OK;
  }
  return JOB_NOT_POSSIBLE;
}

job_result_t job_apply(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id, job_event_t ev,
                       const char *actor, nimbus_job_t *job) {
  if (job_event_is_device(ev)) return JOB_NOT_POSSIBLE;
  return job_transition(st, tenant_id, job_id, ev, 0, NULL, actor, NULL, job);
}

job_result_t job_apply_device(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                              job_event_t ev, nimbus_id_t device_id, const char *actor,
                              nimbus_job_t *job) {
  if (!job_event_is_device(ev)) return JOB_NOT_POSSIBLE;
  /* Only REOFFER may name no device ("whichever holds it"). */
  if (device_id == 0 && ev != JOB_EVENT_REOFFER) return JOB_NOT_POSSIBLE;
  return job_transition(st, tenant_id, job_id, ev, device_id, NULL, actor, NULL, job);
}

job_result_t job_release(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                         nimbus_id_t queue_id, nimbus_id_t target_device_id, const char *actor,
                         nimbus_job_t *job) {
  return job_release_charged(st, tenant_id, job_id, queue_id, target_device_id, actor, NULL, job);
}

job_result_t job_release_charged(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                 nimbus_id_t queue_id, nimbus_id_t target_device_id,
                                 const char *actor, job_charge_hold_t *hold, nimbus_job_t *job) {
  return job_release_set(st, tenant_id, job_id, queue_id, target_device_id, NULL, actor, hold, job);
}

void job_change_settings(store_job_change_t *c, const job_settings_change_t *settings) {
  if (!settings) return;
  c->set |= STORE_JOB_SET_SETTINGS;
  c->copies = settings->copies;
  c->impressions = settings->impressions;
  c->attrs_json = settings->attrs_json;
  c->settings_event = "job-settings-changed";
  c->settings_detail = settings->detail;
}

job_result_t job_release_set(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                             nimbus_id_t queue_id, nimbus_id_t target_device_id,
                             const job_settings_change_t *settings, const char *actor,
                             job_charge_hold_t *hold, nimbus_job_t *job) {
  store_job_change_t extra = {.set = STORE_JOB_SET_TARGET, .target_device_id = target_device_id};
  if (queue_id) {
    extra.set |= STORE_JOB_SET_QUEUE;
    extra.queue_id = queue_id;
  }
  job_change_settings(&extra, settings);
  return job_transition(st, tenant_id, job_id, JOB_EVENT_RELEASE, 0, &extra, actor, hold, job);
}

int job_ipp_state(nimbus_job_state_t s) {
  switch (s) {
    case NIMBUS_JOB_RECEIVED:
    case NIMBUS_JOB_HELD:
    case NIMBUS_JOB_AWAITING_PAYMENT:
      return 4; /* pending-held */
    case NIMBUS_JOB_FETCHABLE:
      return 3; /* pending */
    case NIMBUS_JOB_PROCESSING:
      return 5; /* processing */
    case NIMBUS_JOB_COMPLETED:
      return 9;
    case NIMBUS_JOB_CANCELED:
      return 7;
    case NIMBUS_JOB_ABORTED:
      return 8;
    case NIMBUS_JOB_EXPIRED:
      return 7; /* canceled by the system */
  }
  return 3;
}

int job_ipp_state_reasons(const nimbus_job_t *job, const char **out, int max) {
  int n = 0;
#define JOB_REASON(s)            \
  do {                           \
    if (n < max) out[n++] = (s); \
  } while (0)
  switch (job->state) {
    case NIMBUS_JOB_RECEIVED:
      JOB_REASON("job-incoming");
      JOB_REASON("job-hold-until-specified");
      break;
    case NIMBUS_JOB_HELD:
      JOB_REASON("job-hold-until-specified");
      break;
    case NIMBUS_JOB_AWAITING_PAYMENT:
      JOB_REASON("job-hold-until-specified");
      break;
    case NIMBUS_JOB_FETCHABLE:
      JOB_REASON("job-fetchable");
      break;
    case NIMBUS_JOB_PROCESSING:
      JOB_REASON("job-printing");
      break;
    case NIMBUS_JOB_COMPLETED:
      JOB_REASON("job-completed-successfully");
      break;
    case NIMBUS_JOB_CANCELED:
      JOB_REASON("job-canceled-by-user");
      break;
    case NIMBUS_JOB_ABORTED:
      JOB_REASON("aborted-by-system");
      break;
    case NIMBUS_JOB_EXPIRED:
      JOB_REASON("job-canceled-by-operator");
      break;
  }
  if (job->pin_hash[0] && job->state <= NIMBUS_JOB_AWAITING_PAYMENT)
    JOB_REASON("job-password-wait");
#undef JOB_REASON
  return n;
}
