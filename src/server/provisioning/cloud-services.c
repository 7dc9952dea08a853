/*
 * cloud-services.c: the cloud steps of a run (docs/PROVISIONING.md §6,
 * §10), applied by nimbusd itself once the printer's earlier steps are
 * confirmed: a service whose required settings (the "service conditions")
 * are in the contract is written to the printer's service configuration
 * (printer_services) and the step confirmed; otherwise the step is
 * skipped with the reason "service settings lack <member>" (the
 * conditions are services/service-config.c's).
 *
 * Order of writes: the step is first taken (planned -> sent, a
 * compare-and-set, so of two nodes only one applies it), then the
 * configuration is written (a put that replaces: writing it twice after
 * a crash leaves the same row), then the step is confirmed.  A crash
 * between leaves it sent; the timeout sweep retries it.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "provisioning.h"
#include "service-config.h"

const char *cloud_service_missing(const char *service, const char *settings_json) {
  json_t *o = settings_json ? json_loads(settings_json, 0, NULL) : NULL;
  const char *missing = service_conditions_missing(service, o);
  json_decref(o);
  return missing;
}

store_status_t cloud_step_apply(nimbus_server_t *srv, nimbus_prov_step_t *s, int64_t now) {
  const char *missing = cloud_service_missing(s->kind, s->target_json);
  if (missing) {
    char reason[NIMBUS_TEXT_MAX];
    snprintf(reason, sizeof reason, "service settings lack %s", missing);
    return step_transition(srv, s, PROV_EV_SKIP, reason, false, now);
  }
  store_status_t st = step_transition(srv, s, PROV_EV_SERVE, NULL, false, now);
  if (st != STORE_OK) return st;
  nimbus_printer_service_t ps;
  memset(&ps, 0, sizeof ps);
  ps.device_id = s->device_id;
  ps.tenant_id = s->tenant_id;
  snprintf(ps.service, sizeof ps.service, "%s", s->kind);
  ps.contract_id = s->contract_id;
  ps.settings_json = s->target_json;
  ps.enabled = true;
  st = store_printer_service_put(srv->store, &ps);
  if (st != STORE_OK) {
    log_event(LOG_WARN, NULL, "cloud service not written: retried", "step", LOG_INT(s->id),
              "service", s->kind, (char *)NULL);
    return step_transition(srv, s, PROV_EV_FAIL, "the service configuration could not be written",
                           true, now);
  }
  return step_transition(srv, s, PROV_EV_CONFIRM, NULL, false, now);
}
