/*
 * api-services.c: the smart services' REST (docs/PROVISIONING.md §10,
 * PROTOCOL.md §4.15 and §7.2): the printer's side (its service
 * configurations, backup snapshots, supply levels, impressions; device
 * credential) and the admins' side (a printer's backups, download,
 * restore; supply orders and part alerts of the tenant).  The policy is
 * in src/server/services/.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api-private.h"
#include "backup.h"
#include "parts-life.h"
#include "service-config.h"
#include "supplies.h"

/* ---- the printer's side (API_DEVICE) ---- */

static bool add_service(const nimbus_printer_service_t *s, void *ctx) {
  json_t *doc = ctx;
  if (!s->enabled || !service_known(s->service)) return true;
  json_t *v = json_loads(s->settings_json, 0, NULL);
  if (json_is_object(v)) json_object_set(doc, s->service, v);
  json_decref(v);
  return true;
}

void api_device_services(api_ctx_t *c) {
  json_t *doc = json_object();
  if (!doc) {
    api_problem(c->r, 500, "out of memory");
    return;
  }
  store_status_t s = store_printer_service_list(c->srv->store, c->device.id, add_service, doc);
  if (s != STORE_OK) {
    json_decref(doc);
    api_respond_store(c, s, "service", NULL);
    return;
  }
  api_respond(c, 200, doc);
}

static json_t *backup_json(const nimbus_backup_t *b) {
  return json_pack("{s:I, s:s, s:o, s:I, s:o}", "id", (json_int_t)b->id, "mode",
                   b->mode == NIMBUS_BACKUP_DIFFERENTIAL ? "differential" : "full", "base",
                   b->base_id ? json_integer(b->base_id) : json_null(), "size", (json_int_t)b->size,
                   "created_at", api_json_time(b->created_at));
}

void api_device_backup_create(api_ctx_t *c) {
  char err[200] = "";
  nimbus_backup_t b;
  int status =
      backup_accept(c->srv, &c->device, http_query(c->r, "mode"), c->body, &b, err, sizeof err);
  if (status == 201)
    api_respond(c, 201, backup_json(&b));
  else if (status == 500)
    api_problem(c->r, 500, "storage error");
  else
    api_problem(c->r, status, "%s", err);
}

void api_device_supplies(api_ctx_t *c) {
  static const char *const fields[] = {"supplies", NULL};
  if (!api_body_only(c, fields)) return;
  char err[200] = "";
  int orders = 0;
  int status = supplies_report(c->srv, &c->device, json_object_get(c->body, "supplies"), &orders,
                               err, sizeof err);
  if (status == 204)
    api_respond_no_content(c);
  else if (status == 500)
    api_problem(c->r, 500, "storage error");
  else
    api_problem(c->r, status, "%s", err);
}

void api_device_counters(api_ctx_t *c) {
  static const char *const fields[] = {"impressions", NULL};
  json_int_t impressions = 0;
  bool present = false;
  if (!api_body_only(c, fields) ||
      !api_body_integer(c, "impressions", 0, (json_int_t)1 << 52, &impressions, &present))
    return;
  if (!present) {
    api_problem(c->r, 400, "'impressions' is required");
    return;
  }
  char err[200] = "";
  int status = parts_report(c->srv, &c->device, (int64_t)impressions, NULL, err, sizeof err);
  if (status == 204)
    api_respond_no_content(c);
  else if (status == 500)
    api_problem(c->r, 500, "storage error");
  else
    api_problem(c->r, status, "%s", err);
}

/* ---- the admins' side ---- */

/* The printer {name} of c->tenant into d; false has responded 404/500. */
static bool printer_of(api_ctx_t *c, nimbus_device_t *d) {
  store_status_t s = store_device_get_by_name(c->srv->store, c->tenant.id, c->param, d);
  if (s != STORE_OK) api_respond_store(c, s, "printer", c->param);
  return s == STORE_OK;
}

/* The backup id of the path (param2); false has responded 404. */
static bool backup_id_of(api_ctx_t *c, nimbus_id_t *id) {
  char *end = NULL;
  long long v = c->param2 ? strtoll(c->param2, &end, 10) : 0;
  if (v <= 0 || !end || *end) {
    api_problem(c->r, 404, "no such backup");
    return false;
  }
  *id = (nimbus_id_t)v;
  return true;
}

static bool list_backup(const nimbus_backup_t *b, void *ctx) {
  return api_list_append(ctx, backup_json(b));
}

void api_printer_backups_list(api_ctx_t *c) {
  nimbus_device_t d;
  if (!printer_of(c, &d)) return;
  api_list_t l = {c, json_array(), false};
  store_status_t s = store_backup_list(c->srv->store, c->tenant.id, d.id, list_backup, &l);
  api_list_respond(&l, s, "backups", "backup");
}

void api_printer_backup_get(api_ctx_t *c) {
  nimbus_device_t d;
  nimbus_id_t id;
  if (!printer_of(c, &d) || !backup_id_of(c, &id)) return;
  json_t *full = NULL;
  nimbus_backup_t b;
  store_status_t s = backup_resolve(c->srv, c->tenant.id, d.id, id, &full, &b);
  if (s != STORE_OK) {
    api_respond_store(c, s, "backup", c->param2);
    return;
  }
  json_t *doc = backup_json(&b);
  if (doc) {
    json_object_set_new(doc, "printer", json_string(d.name));
    json_object_set_new(doc, "snapshot", full);
  } else {
    json_decref(full);
  }
  api_respond(c, 200, doc);
}

void api_printer_backup_restore(api_ctx_t *c) {
  nimbus_device_t d;
  nimbus_id_t id;
  if (!printer_of(c, &d) || !backup_id_of(c, &id)) return;
  int status = 0;
  char *values = backup_restore_values(c->srv, c->tenant.id, d.id, id, &status);
  if (!values) {
    if (status == 404)
      api_problem(c->r, 404, "no such backup");
    else
      api_problem(c->r, 500, "storage error");
    return;
  }
  free(values);
  /* The values are ready (backup_restore_values); the run of kind
   * "restore" that hands them to the printer comes with the provisioning
   * runs (docs/PROVISIONING.md §6). */
  api_problem(c->r, 501,
              "restoring a backup needs a provisioning run of kind restore, which this build "
              "does not have yet; download the snapshot with GET instead");
}

static bool list_order(const nimbus_supply_order_t *o, void *ctx) {
  api_list_t *l = ctx;
  static const char *const states[] = {"", "pending", "sent", "failed"};
  json_t *j = json_pack(
      "{s:I, s:I, s:I, s:s, s:s, s:i, s:i, s:s, s:i, s:o, s:o}", "id", (json_int_t)o->id,
      "printer_id", (json_int_t)o->device_id, "contract", (json_int_t)o->contract_id, "supply",
      o->supply, "type", o->type, "episode", o->episode, "level", o->level, "state",
      states[o->state >= 1 && o->state <= 3 ? o->state : 0], "attempts", o->attempts, "created_at",
      api_json_time(o->created_at), "sent_at", api_json_time(o->sent_at));
  return api_list_append(l, j);
}

void api_supply_orders_list(api_ctx_t *c) {
  long limit;
  if (!api_query_int(c, "limit", 100, 1, 500, &limit)) return;
  api_list_t l = {c, json_array(), false};
  store_delivery_filter_t f = {.tenant_id = c->tenant.id, .limit = (int)limit};
  store_status_t s = store_supply_order_list(c->srv->store, &f, list_order, &l);
  api_list_respond(&l, s, "orders", "supply order");
}

static bool list_alert(const nimbus_part_alert_t *a, void *ctx) {
  api_list_t *l = ctx;
  static const char *const states[] = {"", "pending", "sent", "failed"};
  json_t *j = json_pack(
      "{s:I, s:I, s:I, s:s, s:i, s:I, s:s, s:i, s:o, s:o}", "id", (json_int_t)a->id, "printer_id",
      (json_int_t)a->device_id, "contract", (json_int_t)a->contract_id, "part", a->part, "cycle",
      a->cycle, "impressions", (json_int_t)a->impressions, "state",
      states[a->state >= 1 && a->state <= 3 ? a->state : 0], "attempts", a->attempts, "created_at",
      api_json_time(a->created_at), "sent_at", api_json_time(a->sent_at));
  return api_list_append(l, j);
}

void api_part_alerts_list(api_ctx_t *c) {
  long limit;
  if (!api_query_int(c, "limit", 100, 1, 500, &limit)) return;
  api_list_t l = {c, json_array(), false};
  store_delivery_filter_t f = {.tenant_id = c->tenant.id, .limit = (int)limit};
  store_status_t s = store_part_alert_list(c->srv->store, &f, list_alert, &l);
  api_list_respond(&l, s, "alerts", "part alert");
}
