/*
 * supplies.c: consumables auto-delivery (docs/PROVISIONING.md §10): a
 * level at or below its threshold opens an episode with exactly one
 * order; a level above it ends the episode (a new cartridge), so the
 * next fall orders again.  The decision "low" is made here; the store
 * writes the level, the episode and the order in one transaction
 * (store_supply_report), so a repeated or concurrent report orders
 * nothing twice.  Orders leave as outgoing webhooks (webhook-out.c).
 */
#include "supplies.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "service-config.h"

/* The threshold of a supply type: thresholds[type], else ["*"]; -1 none. */
static int threshold_of(const json_t *thresholds, const char *type) {
  const json_t *t = json_object_get(thresholds, type && type[0] ? type : "*");
  if (!json_is_integer(t)) t = json_object_get(thresholds, "*");
  if (!json_is_integer(t)) return -1;
  json_int_t v = json_integer_value(t);
  return v < 0 ? -1 : v > 100 ? 100 : (int)v;
}

/* One entry's shape; NULL when good, else why. */
static const char *entry_invalid(const json_t *e, const char **name, const char **type,
                                 int *level) {
  if (!json_is_object(e)) return "each supply must be an object {name, type, level}";
  const json_t *n = json_object_get(e, "name"), *t = json_object_get(e, "type"),
               *l = json_object_get(e, "level");
  if (!json_is_string(n) || json_string_length(n) == 0 ||
      json_string_length(n) >= NIMBUS_SUPPLY_NAME_MAX)
    return "a supply's 'name' must be a string of 1 to 127 bytes";
  if (t && !json_is_null(t) &&
      (!json_is_string(t) || json_string_length(t) >= NIMBUS_SUPPLY_NAME_MAX))
    return "a supply's 'type' must be a string of at most 127 bytes";
  if (!json_is_integer(l) || json_integer_value(l) < -3 || json_integer_value(l) > 100)
    return "a supply's 'level' must be an integer from -3 to 100 (IPP marker-levels)";
  *name = json_string_value(n);
  *type = json_is_string(t) ? json_string_value(t) : "";
  *level = (int)json_integer_value(l);
  return NULL;
}

int supplies_report(nimbus_server_t *srv, const nimbus_device_t *d, const json_t *supplies,
                    int *orders, char *err, size_t errlen) {
  if (orders) *orders = 0;
  if (!json_is_array(supplies) || json_array_size(supplies) > SUPPLIES_MAX) {
    snprintf(err, errlen, "'supplies' must be an array of at most %d supplies", SUPPLIES_MAX);
    return 400;
  }
  size_t i;
  const json_t *e;
  const char *name, *type;
  int level;
  json_array_foreach(supplies, i, e) {
    const char *why = entry_invalid(e, &name, &type, &level);
    if (why) {
      snprintf(err, errlen, "%s", why);
      return 400;
    }
  }
  nimbus_id_t contract_id = 0;
  json_t *cfg = service_settings_load(srv, d->id, SERVICE_CONSUMABLES, &contract_id);
  if (!cfg) return 204; /* the service is not on for this printer */
  const json_t *thresholds = json_object_get(cfg, "thresholds");
  int status = 204;
  json_array_foreach(supplies, i, e) {
    entry_invalid(e, &name, &type, &level);
    int threshold = threshold_of(thresholds, type);
    store_supply_report_t r = {.tenant_id = d->tenant_id,
                               .device_id = d->id,
                               .contract_id = contract_id,
                               .supply = name,
                               .type = type,
                               .level = level,
                               .low = threshold >= 0 && level >= 0 && level <= threshold};
    nimbus_supply_order_t o;
    store_status_t s = store_supply_report(srv->store, &r, &o);
    if (s != STORE_OK) {
      status = 500;
      break;
    }
    if (o.id) {
      if (orders) (*orders)++;
      log_event(LOG_INFO, NULL, "supply order created", "device", d->name, "supply", name, "level",
                LOG_INT(level), "episode", LOG_INT(o.episode), "order", LOG_INT(o.id),
                (char *)NULL);
    }
  }
  json_decref(cfg);
  return status;
}
