/*
 * parts-life.c: parts-life alerts (docs/PROVISIONING.md §10).  A part's
 * life is counted from its last replacement (part_counters; none: from 0,
 * cycle 1); an alert is raised once per part and cycle: the store's
 * unique (device, part, cycle) refuses a second one, so repeated reports
 * and several nodes raise nothing twice.  Alerts leave as outgoing
 * webhooks (webhook-out.c) and are listed in REST.
 */
#include "parts-life.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "service-config.h"

int parts_report(nimbus_server_t *srv, const nimbus_device_t *d, int64_t impressions, int *alerts,
                 char *err, size_t errlen) {
  if (alerts) *alerts = 0;
  if (impressions < 0) {
    snprintf(err, errlen, "'impressions' must be a non-negative integer");
    return 400;
  }
  nimbus_id_t contract_id = 0;
  json_t *cfg = service_settings_load(srv, d->id, SERVICE_PARTS_LIFE, &contract_id);
  if (!cfg) return 204; /* the service is not on for this printer */
  json_int_t threshold = json_integer_value(json_object_get(cfg, "threshold"));
  if (threshold < 1 || threshold > 100) threshold = 100;
  const char *part;
  json_t *life;
  int status = 204;
  json_object_foreach(json_object_get(cfg, "parts"), part, life) {
    if (!json_is_integer(life) || json_integer_value(life) <= 0 ||
        strlen(part) >= NIMBUS_PART_NAME_MAX)
      continue;
    nimbus_part_counter_t pc = {.cycle = 1};
    store_status_t s = store_part_counter_get(srv->store, d->id, part, &pc);
    if (s == STORE_NOT_FOUND) {
      pc.cycle = 1;
      pc.replaced_at = 0;
    } else if (s != STORE_OK) {
      status = 500;
      break;
    }
    int64_t used = impressions - pc.replaced_at;
    /* used >= life × threshold / 100, in integers (life < 2^53 by JSON) */
    if (used < 0 || used * 100 < (int64_t)json_integer_value(life) * threshold) continue;
    nimbus_part_alert_t a = {.tenant_id = d->tenant_id,
                             .device_id = d->id,
                             .contract_id = contract_id,
                             .cycle = pc.cycle,
                             .impressions = impressions};
    snprintf(a.part, sizeof a.part, "%s", part);
    s = store_part_alert_insert(srv->store, &a);
    if (s == STORE_CONFLICT) continue; /* this cycle's alert is there */
    if (s != STORE_OK) {
      status = 500;
      break;
    }
    if (alerts) (*alerts)++;
    log_event(LOG_INFO, NULL, "part alert raised", "device", d->name, "part", part, "impressions",
              LOG_INT(impressions), "cycle", LOG_INT(pc.cycle), (char *)NULL);
  }
  json_decref(cfg);
  return status;
}
