/*
 * service-config.c: the service conditions (docs/PROVISIONING.md §10):
 * which settings each cloud service needs before a contract's cloud step
 * may apply it, and the printer's stored configuration of a service.
 */
#include "service-config.h"

#include <stdlib.h>
#include <string.h>

bool service_known(const char *name) {
  return name && (!strcmp(name, SERVICE_BACKUP) || !strcmp(name, SERVICE_CONSUMABLES) ||
                  !strcmp(name, SERVICE_PARTS_LIFE));
}

/* Whether member is present and not null in settings. */
static bool has(const json_t *settings, const char *member) {
  const json_t *v = json_object_get(settings, member);
  return v && !json_is_null(v);
}

const char *service_conditions_missing(const char *service, const json_t *settings) {
  static const char *const backup[] = {"period", "time", "mode", "retention", NULL};
  static const char *const consumables[] = {"order_url", "thresholds", NULL};
  static const char *const parts_life[] = {"parts", "threshold", NULL};
  const char *const *required;
  if (!service_known(service)) return "service";
  if (!strcmp(service, SERVICE_BACKUP))
    required = backup;
  else if (!strcmp(service, SERVICE_CONSUMABLES))
    required = consumables;
  else
    required = parts_life;
  if (!json_is_object(settings)) return required[0];
  for (const char *const *m = required; *m; m++)
    if (!has(settings, *m)) return *m;
  /* parts life: somewhere to send the alert */
  if (!strcmp(service, SERVICE_PARTS_LIFE) && !has(settings, "alert_url") &&
      !has(settings, "recipients"))
    return "alert_url";
  return NULL;
}

json_t *service_settings_load(nimbus_server_t *srv, nimbus_id_t device_id, const char *service,
                              nimbus_id_t *contract_id) {
  nimbus_printer_service_t ps;
  if (store_printer_service_get(srv->store, device_id, service, &ps) != STORE_OK) return NULL;
  json_t *doc = NULL;
  if (ps.enabled) {
    doc = json_loads(ps.settings_json, 0, NULL);
    if (doc && !json_is_object(doc)) {
      json_decref(doc);
      doc = NULL;
    }
  }
  free(ps.settings_json);
  if (doc && contract_id) *contract_id = ps.contract_id;
  return doc;
}
