/*
 * run-restore.c: a backup restore as a provisioning run
 * (docs/PROVISIONING.md §10 "backup"): a run of kind restore for one
 * printer, no contract (contract_id NULL), naming the backup, with one
 * settings step whose target is backup_restore_values() (connector.<option>
 * and the engine's *-default values).  The step goes through the same
 * state machine (run-steps.c) and is served by GET /device/provisioning
 * like any settings step.  One running restore per printer: the store's
 * partial unique index refuses a second (CONFLICT).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backup.h"
#include "log.h"
#include "provisioning.h"

int prov_restore_start(nimbus_server_t *srv, const nimbus_device_t *d, nimbus_id_t backup_id,
                       nimbus_prov_run_t *run) {
  int status = 0;
  char *values = backup_restore_values(srv, d->tenant_id, d->id, backup_id, &status);
  if (!values) return status == 404 ? 404 : 500;
  nimbus_prov_step_t *step = calloc(1, sizeof *step);
  int early = !step ? 500 : strlen(values) >= sizeof step->target_json ? 413 : 0;
  if (early) {
    free(values);
    free(step);
    return early;
  }
  memcpy(step->target_json, values, strlen(values) + 1);
  free(values);
  step->tenant_id = d->tenant_id;
  step->device_id = d->id;
  step->seq = 1;
  step->state = NIMBUS_STEP_PLANNED;
  snprintf(step->kind, sizeof step->kind, "settings");
  snprintf(step->item_name, sizeof step->item_name, "backup-%lld", (long long)backup_id);
  memset(run, 0, sizeof *run);
  run->tenant_id = d->tenant_id;
  run->revision = 1;
  run->device_id = d->id;
  run->backup_id = backup_id;
  run->state = NIMBUS_RUN_RUNNING;
  run->created_at = (int64_t)time(NULL);
  snprintf(run->kind, sizeof run->kind, "restore");
  bool created = false;
  store_status_t s = store_prov_run_create(srv->store, run, &d->id, 1, step, 1, &created);
  free(step);
  if (s == STORE_CONFLICT) return 409;
  if (s == STORE_NOT_FOUND) return 404; /* the printer went meanwhile */
  if (s != STORE_OK || !created) return 500;
  log_event(LOG_INFO, NULL, "backup restore started", "device", d->name, "backup",
            LOG_INT(backup_id), "run", LOG_INT(run->id), (char *)NULL);
  return 202;
}
