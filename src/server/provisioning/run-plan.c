/*
 * run-plan.c: planning a run's steps for one printer (docs/PROVISIONING.md
 * §7): each item of the contract is compared with what the printer last
 * reported (device_inventory: settings values, firmware and application
 * versions) and what nimbusd holds (printer_services); an item already in
 * place plans no step.  A printer that never reported gets every printer
 * item.  Steps come in the fixed order settings, firmware, applications
 * (item order), then the cloud steps backup, consumables, parts_life,
 * numbered 1.. in that order.
 *
 * Targets: a settings step carries the item's values; firmware and
 * application steps {"version": …} with the package id; a cloud step the
 * contract's settings of that service ({} when absent: it is then
 * skipped with the reason when applied, cloud-services.c).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "provisioning.h"

void prov_plan_free(prov_plan_t *plan) {
  free(plan->v);
  plan->v = NULL;
  plan->n = plan->cap = 0;
}

/* Append a step of kind/name with target (a JSON value dumped compactly
 * with sorted keys); false when out of memory or the target is too long. */
static bool plan_add(prov_plan_t *plan, const nimbus_contract_t *c, nimbus_id_t device_id,
                     const char *kind, const char *name, json_t *target, nimbus_id_t package) {
  if (plan->n == plan->cap) {
    int cap = plan->cap ? plan->cap * 2 : 8;
    nimbus_prov_step_t *v = realloc(plan->v, (size_t)cap * sizeof *v);
    if (!v) return false;
    plan->v = v;
    plan->cap = cap;
  }
  nimbus_prov_step_t *s = &plan->v[plan->n];
  memset(s, 0, sizeof *s);
  s->tenant_id = c->tenant_id;
  s->device_id = device_id;
  s->contract_id = c->id;
  snprintf(s->kind, sizeof s->kind, "%s", kind);
  snprintf(s->item_name, sizeof s->item_name, "%s", name ? name : kind);
  char *t = json_dumps(target, JSON_COMPACT | JSON_SORT_KEYS);
  if (!t) return false;
  bool fits = strlen(t) < sizeof s->target_json;
  if (fits) memcpy(s->target_json, t, strlen(t) + 1);
  free(t);
  if (!fits) {
    log_event(LOG_WARN, NULL, "provisioning item too large to plan", "contract", LOG_INT(c->id),
              "item", s->item_name, (char *)NULL);
    return true; /* not planned; the rest goes on */
  }
  s->package_id = package;
  s->state = NIMBUS_STEP_PLANNED;
  s->seq = plan->n + 1;
  for (int i = 0; i < plan->n; i++)
    if (plan->v[i].device_id == device_id && plan->v[i].seq >= s->seq) s->seq = plan->v[i].seq + 1;
  plan->n++;
  return true;
}

/* Is every value of the settings item what the printer reported? */
static bool settings_in_place(json_t *values, json_t *reported) {
  if (!json_is_object(reported)) return false;
  const char *k;
  json_t *v;
  json_object_foreach(values, k, v) {
    json_t *r = json_object_get(reported, k);
    if (!r || !json_equal(r, v)) return false;
  }
  return true;
}

static const char *item_str(json_t *item, const char *key) {
  const char *s = json_string_value(json_object_get(item, key));
  return s ? s : "";
}

/* Is the service configured for this printer as the contract says? */
static bool service_in_place(nimbus_server_t *srv, nimbus_id_t device_id, const char *service,
                             json_t *want, bool *failed) {
  nimbus_printer_service_t held;
  memset(&held, 0, sizeof held);
  store_status_t st = store_printer_service_get(srv->store, device_id, service, &held);
  if (st == STORE_NOT_FOUND) return false;
  if (st != STORE_OK) {
    *failed = true;
    return false;
  }
  bool same = false;
  if (held.enabled && held.settings_json) {
    json_t *h = json_loads(held.settings_json, 0, NULL);
    same = h && json_equal(h, want);
    json_decref(h);
  }
  free(held.settings_json);
  return same;
}

bool prov_plan_device(nimbus_server_t *srv, const nimbus_contract_t *c, nimbus_id_t device_id,
                      prov_plan_t *plan) {
  json_t *items = json_loads(c->items_json, 0, NULL);
  json_t *svc = json_loads(c->settings_json, 0, NULL);
  nimbus_device_inventory_t *inv = calloc(1, sizeof *inv);
  json_t *apps = NULL, *settings = NULL;
  bool ok = items && json_is_array(items) && inv, known = false, failed = false;
  if (ok) {
    store_status_t st = store_inventory_get(srv->store, device_id, inv);
    if (st == STORE_OK) {
      known = true;
      apps = json_loads(inv->applications_json, 0, NULL);
      settings = json_loads(inv->settings_json, 0, NULL);
    } else if (st != STORE_NOT_FOUND) {
      ok = false;
    }
  }
  size_t i;
  json_t *item;
  /* printer items in the fixed order: settings, firmware, applications */
  static const char *const printer_kinds[] = {"settings", "firmware", "application"};
  for (size_t k = 0; ok && k < 3; k++) {
    json_array_foreach(items, i, item) {
      const char *kind = item_str(item, "kind");
      if (strcmp(kind, printer_kinds[k]) != 0) continue;
      const char *name = item_str(item, "name");
      if (k == 0) {
        json_t *values = json_object_get(item, "values");
        if (!json_is_object(values) || (known && settings_in_place(values, settings))) continue;
        ok = plan_add(plan, c, device_id, kind, name, values, 0);
        continue;
      }
      const char *version = item_str(item, "version");
      const char *have = "";
      if (known && k == 1) have = inv->firmware_version;
      if (known && k == 2) {
        const char *a = json_string_value(json_object_get(apps, name));
        have = a ? a : "";
      }
      if (known && !strcmp(have, version)) continue;
      json_t *target = json_pack("{ss}", "version", version);
      ok = target && plan_add(plan, c, device_id, kind, name, target,
                              (nimbus_id_t)json_integer_value(json_object_get(item, "package")));
      json_decref(target);
    }
  }
  /* then the cloud services, in their fixed order */
  static const char *const cloud_kinds[] = {"backup", "consumables", "parts_life"};
  for (size_t k = 0; ok && k < 3; k++) {
    json_array_foreach(items, i, item) {
      if (strcmp(item_str(item, "kind"), cloud_kinds[k]) != 0) continue;
      json_t *want = json_object_get(svc, cloud_kinds[k]);
      json_t *target = want ? json_incref(want) : json_object();
      bool in_place = service_in_place(srv, device_id, cloud_kinds[k], target, &failed);
      if (failed) ok = false;
      if (ok && !in_place)
        ok = plan_add(plan, c, device_id, cloud_kinds[k], cloud_kinds[k], target, 0);
      json_decref(target);
      break; /* at most one of each */
    }
  }
  json_decref(items);
  json_decref(svc);
  json_decref(apps);
  json_decref(settings);
  free(inv);
  return ok;
}
