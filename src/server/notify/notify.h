/*
 * notify.h: IPP event notifications for output devices (RFC 3995
 * subscriptions, RFC 3996 ippget pull delivery) and the long-polls that
 * wait for them.
 *
 * Subscriptions live in the store, so every node sharing the database
 * knows each one (ids unique across nodes; a node takes one it does not
 * hold yet from the store when its device names it).  Their recent events
 * live in memory on each node that holds them: a device should keep to
 * one node while that node is up (the load balancer's job, see
 * docs/OPERATIONS.md), since events committed while it moves between
 * nodes reach only the node it left.  A Get-Notifications with notify-wait
 * that finds no event parks its HTTP request here (http_request_park): no
 * thread waits.  The request is woken by a matching event, by the
 * device's deregistration (with the deregistration notice), by its
 * deadline, or at shutdown.
 */
#ifndef NIMBUS_NOTIFY_H
#define NIMBUS_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "model.h"
#include "store.h"

typedef enum {
  NOTIFY_JOB_FETCHABLE = 1u << 0,     /* "job-fetchable" */
  NOTIFY_JOB_STATE_CHANGED = 1u << 1, /* "job-state-changed" */
  NOTIFY_PRINTER_DELETED = 1u << 2    /* "printer-deleted": always delivered */
} notify_event_type_t;

#define NOTIFY_MAX_SUBS_PER_REQUEST 4 /* subscription ids in one Get-Notifications */
#define NOTIFY_RING 32                /* events kept per subscription */

#define NOTIFY_REASONS_MAX 4 /* job-state-reasons kept per event */

typedef struct {
  int subscription_id;
  int sequence; /* notify-sequence-number */
  notify_event_type_t type;
  nimbus_id_t job_id;                      /* job events: the job's per-tenant number (job-id) */
  int job_state;                           /* IPP job-state of the job at the event */
  int nreasons;                            /* job-state-reasons of the job at the event... */
  const char *reasons[NOTIFY_REASONS_MAX]; /* ...static strings (job_ipp_state_reasons) */
  int64_t at;                              /* unix seconds */
} notify_event_t;

typedef struct notify notify_t;

/* wait_seconds: the longest a Get-Notifications is held; store: where
 * subscriptions are kept (NULL: in this process only). */
notify_t *notify_new(int wait_seconds, store_t *store);
/* Wake every parked request (they answer with no events) and free.
 * notify_shutdown() first refuses new parking and wakes the parked. */
void notify_shutdown(notify_t *n);
void notify_free(notify_t *n);

/* Event name <-> type; 0 / NULL when unknown. */
notify_event_type_t notify_event_parse(const char *name);
const char *notify_event_name(notify_event_type_t t);

#define NOTIFY_TOO_MANY (-1) /* the device has NOTIFY_MAX_SUBS_PER_DEVICE already */
#define NOTIFY_FAILED (-2)   /* the store failed (logged) or out of memory */
/* Create a subscription of device_id on queue_id for `events` (a mask);
 * returns its id (> 0), NOTIFY_TOO_MANY or NOTIFY_FAILED. */
int notify_subscribe(notify_t *n, nimbus_id_t tenant_id, nimbus_id_t queue_id,
                     nimbus_id_t device_id, unsigned events, int lease_seconds);
/* A job subscription (Create-Job-Subscriptions): like notify_subscribe(),
 * but only events of job_id reach it. */
int notify_subscribe_job(notify_t *n, nimbus_id_t tenant_id, nimbus_id_t queue_id,
                         nimbus_id_t device_id, nimbus_id_t job_id, unsigned events,
                         int lease_seconds);

/* What Get-Subscription-Attributes / Get-Subscriptions report. */
typedef struct {
  int id;
  nimbus_id_t queue_id;
  nimbus_id_t job_id; /* the job's per-tenant number (job-id); 0: a printer subscription */
  unsigned events;    /* mask, printer-deleted included */
  int lease_seconds;  /* notify-lease-duration */
  int64_t expires_at; /* unix seconds */
  int last_sequence;  /* notify-sequence-number of the newest event */
} notify_sub_info_t;

/* The subscription id of device_id, into *out; false when it has none. */
bool notify_sub_get(notify_t *n, nimbus_id_t device_id, int subscription_id,
                    notify_sub_info_t *out);
/* The live subscriptions of device_id on queue_id (job_id not 0: only those
 * of that job), oldest first, at most max; returns how many. */
int notify_sub_list(notify_t *n, nimbus_id_t device_id, nimbus_id_t queue_id, nimbus_id_t job_id,
                    notify_sub_info_t *out, int max);
/* Renew-Subscription: a new lease of lease_seconds from now; false when
 * device_id has no such (live) subscription. */
bool notify_renew(notify_t *n, nimbus_id_t device_id, int subscription_id, int lease_seconds);

/* Cancel a subscription of device_id; false when it has no such one. */
bool notify_cancel(notify_t *n, nimbus_id_t device_id, int subscription_id);
/* Does device_id hold subscription id? (lease renewed on success) */
bool notify_owns(notify_t *n, nimbus_id_t device_id, int subscription_id);

/*
 * Post a job event on queue_id: every subscription on that queue that asked
 * for `type` receives it, except that when target_device is not 0 only that
 * device's subscriptions do; their parked requests are woken.  job_id is
 * the job's per-tenant number, as the event carries it on the wire.
 */
void notify_job_event(notify_t *n, nimbus_id_t tenant_id, nimbus_id_t queue_id,
                      nimbus_id_t target_device, notify_event_type_t type, nimbus_id_t job_id,
                      int job_state);
/* The same, with the job's job-state-reasons at the event (nreasons of
 * them, at most NOTIFY_REASONS_MAX kept; strings with static storage, as
 * job_ipp_state_reasons() returns).  notify_job_event() posts none. */
void notify_job_event_reasons(notify_t *n, nimbus_id_t tenant_id, nimbus_id_t queue_id,
                              nimbus_id_t target_device, notify_event_type_t type,
                              nimbus_id_t job_id, int job_state, const char *const *reasons,
                              int nreasons);
/* The registration of device_id was deleted: its subscriptions receive
 * "printer-deleted" (once), parked requests are woken with it, and the
 * subscriptions linger a minute (so the notice can still be collected)
 * before they are freed; no later event reaches them. */
void notify_device_deleted(notify_t *n, nimbus_id_t device_id);

/*
 * Who waits when no event is pending.  wake(arg) is called exactly once,
 * without notify's lock, on whichever thread posts the event, reaches the
 * deadline (notify-wait), replaces the waiter or shuts down; it runs
 * notify_collect() again (with wait NULL) to answer.  on_park(arg), when
 * set, runs under notify's lock as the waiter is linked, before any wake
 * can run (so it must only mark, never block or call back into notify).
 */
typedef struct {
  void (*wake)(void *arg);
  void (*on_park)(void *arg);
  void *arg;
} notify_wait_t;

/*
 * Get-Notifications: copy events with a sequence number >= since[i]
 * (notify-sequence-numbers; 0 or 1 = all kept) of subscriptions ids[0..nids) into out (at most
 * max); returns how many.  When none and `wait` is not NULL, a waiter is parked until an event,
 * the deadline or shutdown (see notify_wait_t); *parked tells. *deleted is set when the device's
 * registration was deleted (the notice is among the events).
 */
int notify_collect(notify_t *n, nimbus_id_t device_id, const int *ids, const int *since, int nids,
                   notify_event_t *out, int max, const notify_wait_t *wait, bool *parked,
                   bool *deleted);

/* Number of parked requests (for /metrics and tests). */
int notify_parked_count(notify_t *n);

#endif
