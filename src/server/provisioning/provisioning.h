/*
 * provisioning.h: provisioning runs (docs/PROVISIONING.md §5–§8):
 * detection of due contract events (run-detect.c), planning the
 * difference against what the printer reports and what nimbusd holds
 * (run-plan.c), the step state machine with its retries (run-steps.c),
 * backup restores as runs (run-restore.c)
 * and the cloud steps nimbusd applies itself (cloud-services.c).  The
 * device routes (api/api-provisioning.c) serve and take reports through
 * prov_step_next() and prov_step_report().
 */
#ifndef NIMBUS_PROVISIONING_H
#define NIMBUS_PROVISIONING_H

#include <stdbool.h>
#include <stdint.h>

#include "server.h"
#include "store.h"

/* The store lease of the sweep (store_lease_take). */
#define PROV_LEASE "provisioning"
/* Back-off of a retried step: 2^(attempts - 1) × 30 s, at most an hour. */
#define PROV_BACKOFF_BASE 30
#define PROV_BACKOFF_MAX 3600

/* Is kind a cloud step (backup, consumables, parts_life), applied by
 * nimbusd, rather than a printer step served to the connector? */
bool prov_kind_is_cloud(const char *kind);
/* The state's name on the wire ("planned", "sent", ...). */
const char *prov_step_state_name(nimbus_step_state_t s);
const char *prov_run_state_name(nimbus_run_state_t s);
/* Seconds to wait before the next try after attempt number `attempts`
 * failed (attempts >= 1). */
int64_t prov_backoff(int attempts);

/* ---- run-steps.c: the one place a step changes ---- */
typedef enum {
  PROV_EV_SERVE,   /* planned -> sent (attempts + 1): served, or a cloud step taken */
  PROV_EV_CONFIRM, /* sent -> confirmed */
  PROV_EV_FAIL,    /* sent -> planned (retry, back-off) or failed (permanent, or exhausted) */
  PROV_EV_TIMEOUT, /* sent -> as FAIL transient: no report within --provision-step-timeout */
  PROV_EV_SKIP     /* planned|sent -> skipped (reason) */
} prov_event_t;
/* Move *s (as last read) by ev; reason for FAIL/TIMEOUT/SKIP, transient
 * for FAIL (a permanent failure is final at once).  On STORE_OK *s is the
 * step as written; CONFLICT when it moved meanwhile (another node or
 * request).  Settles the run when the step reached an end. */
store_status_t step_transition(nimbus_server_t *srv, nimbus_prov_step_t *s, prov_event_t ev,
                               const char *reason, bool transient, int64_t now);
/* End the run when nothing more can happen: done (every step confirmed
 * or skipped), partial (some printer's step failed for good). */
void prov_run_settle(nimbus_server_t *srv, nimbus_id_t run_id, int64_t now);

/* The printer's next step (GET /device/provisioning): its first head
 * step, marked sent when it was planned.  *found false: nothing to do
 * now.  False on a store failure. */
bool prov_step_next(nimbus_server_t *srv, const nimbus_device_t *d, nimbus_prov_step_t *out,
                    bool *found);
typedef enum {
  PROV_REPORT_OK,        /* applied; *out the step now */
  PROV_REPORT_SAME,      /* the state it already had: nothing changed */
  PROV_REPORT_NOT_FOUND, /* no such step of this printer */
  PROV_REPORT_NOT_SENT,  /* the step is not sent (409) */
  PROV_REPORT_ERROR
} prov_report_t;
/* A printer's report on one of its steps (POST /device/provisioning/steps/{id}). */
prov_report_t prov_step_report(nimbus_server_t *srv, const nimbus_device_t *d, nimbus_id_t step_id,
                               bool ok, const char *reason, bool transient,
                               nimbus_prov_step_t *out);

/* ---- run-plan.c ---- */
typedef struct {
  nimbus_prov_step_t *v;
  int n, cap;
} prov_plan_t;
/* Append to *plan the steps of contract c for one printer: each item not
 * already in place (§7).  False on a store failure or out of memory. */
bool prov_plan_device(nimbus_server_t *srv, const nimbus_contract_t *c, nimbus_id_t device_id,
                      prov_plan_t *plan);
void prov_plan_free(prov_plan_t *plan);

/* ---- cloud-services.c ---- */
/* The first required member of service's settings that is missing (§10
 * "service conditions"), NULL when all are there.  settings_json may be
 * NULL or not an object (then the first required member). */
const char *cloud_service_missing(const char *service, const char *settings_json);
/* Apply a cloud head step s (planned): taken (sent), the printer's
 * service configuration written, confirmed; or skipped with the reason
 * "service settings lack <member>". */
store_status_t cloud_step_apply(nimbus_server_t *srv, nimbus_prov_step_t *s, int64_t now);

/* ---- run-restore.c ---- */
/* Start the restore of backup_id on printer d: a run of kind restore
 * (no contract, backup_id and device_id recorded) with one settings step
 * whose target is backup_restore_values().  202 with *run; 404 no such
 * backup of d; 409 d has a running restore; 413 the values do not fit a
 * step; 500 store failure. */
int prov_restore_start(nimbus_server_t *srv, const nimbus_device_t *d, nimbus_id_t backup_id,
                       nimbus_prov_run_t *run);

/* ---- run-detect.c ---- */
/* One round of the sweep (the caller holds the "provisioning" lease):
 * due contract events get their run, "all" contracts cover new
 * printers, sent steps past the timeout are retried, cloud heads are
 * applied. */
void provisioning_sweep(nimbus_server_t *srv, int64_t now);

#endif
