/*
 * job.h: the job lifecycle state machine.  Every change of a job's state
 * goes through this module (job_apply*, job_release, or job_change for a
 * change another store operation applies); nothing else builds a
 * store_job_change_t.
 * The diagram and invariants are at the top of job.c.
 */
#ifndef NIMBUS_JOB_H
#define NIMBUS_JOB_H

#include <stdbool.h>

#include "model.h"
#include "store.h"

typedef enum {
  JOB_EVENT_CLOSE,   /* all documents are in (Close-Job, last Send-Document) */
  JOB_EVENT_RELEASE, /* owner (or admin) releases a held job */
  JOB_EVENT_HOLD,    /* Hold-Job: back to held */
  JOB_EVENT_CANCEL,  /* owner/admin cancels */
  JOB_EVENT_EXPIRE,  /* retention elapsed while held */
  /* payment at release (payments/payment-flow.c, issue 12) */
  JOB_EVENT_PAY_START,  /* held -> awaiting-payment: a payment was reserved */
  JOB_EVENT_PAID,       /* awaiting-payment -> fetchable: payment verified */
  JOB_EVENT_PAY_RETURN, /* awaiting-payment -> held: canceled, timed out, declined */
  /* the device side (job_apply_device) */
  JOB_EVENT_FETCH,            /* a device acknowledged the job: it is processing it */
  JOB_EVENT_REOFFER,          /* its device went silent or away: fetchable again */
  JOB_EVENT_DEVICE_COMPLETED, /* the device reports it printed */
  JOB_EVENT_DEVICE_ABORTED,   /* the device gave up on it */
  JOB_EVENT_DEVICE_CANCELED   /* canceled at the device */
} job_event_t;

typedef enum {
  JOB_OK = 0,
  JOB_NOT_FOUND,    /* no such job in this tenant */
  JOB_NOT_POSSIBLE, /* the event is not allowed in the job's state */
  JOB_ERROR         /* storage failure */
} job_result_t;

/* State a job takes once all its documents are in (Print-Job,
 * last Send-Document, Close-Job): fetchable on a release-immediately
 * queue unless hold_until (the job's job-hold-until; NULL or "" when not
 * given) asks for a hold, else held. */
nimbus_job_state_t job_state_when_closed(const nimbus_queue_t *q, const char *hold_until);
/* The same for one job (its own job-hold-until): a job that came through
 * a printer for a name that is no user (origin_device_id set, no owner)
 * nobody can release at a panel and must never print by itself, so it
 * stays held until it expires (PROTOCOL.md 7.1). */
nimbus_job_state_t job_state_when_closed_for(const nimbus_queue_t *q, const nimbus_job_t *job);
/* Next state for ev from `from`; false when not allowed. */
bool job_next_state(nimbus_job_state_t from, job_event_t ev, nimbus_job_state_t *to);
/* Apply ev to the job (compare-and-set in the store, one event row).
 * On JOB_OK, *job (may be NULL) receives the job after the change. */
job_result_t job_apply(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id, job_event_t ev,
                       const char *actor, nimbus_job_t *job);

/*
 * job_apply() for the events that involve an output device.  FETCH assigns
 * the job to device_id; REOFFER clears the assignment (device_id 0: from
 * whichever device holds it); DEVICE_* require that device_id holds it
 * (JOB_NOT_POSSIBLE otherwise).
 */
job_result_t job_apply_device(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                              job_event_t ev, nimbus_id_t device_id, const char *actor,
                              nimbus_job_t *job);

/*
 * Release a held job (JOB_EVENT_RELEASE) and, in the same transition,
 * restrict it to printer target_device_id (0: any printer of its queue)
 * and, when queue_id is not 0, move it to that queue (follow-me release
 * at a printer that does not serve the job's queue).  One store
 * transaction: JOB_NOT_POSSIBLE when the job is not held, JOB_NOT_FOUND
 * when the job, the device or the queue is not the tenant's.
 */
job_result_t job_release(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                         nimbus_id_t queue_id, nimbus_id_t target_device_id, const char *actor,
                         nimbus_job_t *job);

/*
 * Settings changed at the printer (FEDERATION.md §5) that go with a
 * release: written in the release's transaction, with a job event
 * "job-settings-changed" (detail: what changed and who) before the
 * release's own.  impressions is the job's pages x copies.
 */
typedef struct {
  int copies;
  int impressions;
  const char *attrs_json; /* the job's template attributes after the change */
  const char *detail;
} job_settings_change_t;
/* Add settings (NULL: none) to the store change *c. */
void job_change_settings(store_job_change_t *c, const job_settings_change_t *settings);

/*
 * job_release() that also places the job's charge (billing by purpose,
 * billing/charge.c) in the same transaction: hold->charge is written
 * (state HELD) and its hold added to its account (store_charge_hold).
 * JOB_NOT_POSSIBLE with hold->why set when the account refused it
 * (closed, limit); hold->why 0 otherwise.
 */
typedef struct {
  nimbus_job_charge_t *charge;
  const store_audit_t *audit; /* may be NULL */
  store_charge_refusal_t why; /* out */
} job_charge_hold_t;
job_result_t job_release_charged(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                                 nimbus_id_t queue_id, nimbus_id_t target_device_id,
                                 const char *actor, job_charge_hold_t *hold, nimbus_job_t *job);
/* job_release_charged() (hold may be NULL: job_release()) that also
 * writes settings (NULL: none) in the same transaction. */
job_result_t job_release_set(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id,
                             nimbus_id_t queue_id, nimbus_id_t target_device_id,
                             const job_settings_change_t *settings, const char *actor,
                             job_charge_hold_t *hold, nimbus_job_t *job);

/*
 * The store change for ev on job as it was read (the compare-and-set:
 * expected state, and for device events the device as job_apply_device()
 * requires; next state, event row with actor as detail, the device
 * column).  false when ev is not allowed there.  For callers that apply
 * several changes in one transaction (device deletion); they may add
 * columns to *out, never change its states.  No observer runs: the caller
 * reports what it applied.
 */
bool job_change(const nimbus_job_t *job, job_event_t ev, nimbus_id_t device_id, const char *actor,
                store_job_change_t *out);

/*
 * Who is told about state changes (notifications to devices): fn runs after
 * every successful job_apply*() and after job_observe(), with the job as it
 * is now and its previous state.  Set once at start-up.
 */
typedef void (*job_observer_t)(void *ctx, const nimbus_job_t *job, nimbus_job_state_t from);
void job_set_observer(job_observer_t fn, void *ctx);
/* Report a job created directly in its state (intake), from `from`. */
void job_observe(const nimbus_job_t *job, nimbus_job_state_t from);

bool job_state_is_terminal(nimbus_job_state_t s);
/* REST name: "received", "held", ..., "expired". */
const char *job_state_name(nimbus_job_state_t s);
/* Parse a REST name; false if unknown. */
bool job_state_parse(const char *name, nimbus_job_state_t *out);
/* IPP job-state enum value (3..9) for a lifecycle state. */
int job_ipp_state(nimbus_job_state_t s);
/* IPP job-state-reasons keywords; returns how many were written (<= max). */
int job_ipp_state_reasons(const nimbus_job_t *job, const char **out, int max);

#endif
