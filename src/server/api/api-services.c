/*
 * api-services.c: the smart services' REST (docs/PROVISIONING.md §10,
 * PROTOCOL.md §4.15 and §7.2): the printer's side (its service
 * configurations, backup snapshots, supply levels, impressions; device
 * credential) and the admins' side (a printer's backups, download,
 * restore as a provisioning run of kind restore; supply orders and part
 * alerts of the tenant, with the printer's name; a part's replacement).
 * The policy is in src/server/services/ and provisioning/run-restore.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api-private.h"
#include "backup.h"
#include "log.h"
#include "parts-life.h"
#include "provisioning.h"
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
  nimbus_prov_run_t run;
  int status = prov_restore_start(c->srv, &d, id, &run);
  switch (status) {
    case 202:
      break;
    case 404:
      api_problem(c->r, 404, "no such backup");
      return;
    case 409:
      api_problem(c->r, 409, "printer '%s' has a restore running: wait for its run to end", d.name);
      return;
    case 413:
      api_problem(c->r, 413, "the backup's values are too large for one settings step");
      return;
    default:
      api_problem(c->r, 500, "storage error");
      return;
  }
  api_audit(c, 0, "backup.restore", "printer=%s backup=%lld run=%lld", d.name, (long long)id,
            (long long)run.id);
  log_event(LOG_INFO, c->r->id, "backup restore requested", "printer", d.name, "backup",
            LOG_INT(id), "run", LOG_INT(run.id), "actor", c->actor, (char *)NULL);
  char location[64];
  snprintf(location, sizeof location, "/api/v1/runs/%lld", (long long)run.id);
  http_response_header(c->r, "Location", location);
  api_respond(c, 202, json_pack("{s:o}", "run", api_run_json(&run)));
}

/* Add "printer" (the name, null when the printer is gone) to each row of
 * a listing by its "printer_id" (after the listing: no store call inside
 * it); a small cache spares repeated reads of one printer. */
static void add_printer_names(api_ctx_t *c, json_t *rows) {
  enum { CACHE = 8 };
  struct {
    nimbus_id_t id;
    char name[NIMBUS_NAME_MAX];
    bool known;
  } cache[CACHE];
  int n = 0, next = 0;
  size_t i;
  json_t *row;
  json_array_foreach(rows, i, row) {
    nimbus_id_t id = (nimbus_id_t)json_integer_value(json_object_get(row, "printer_id"));
    int hit = -1;
    for (int k = 0; k < n; k++)
      if (cache[k].id == id) hit = k;
    if (hit < 0) {
      nimbus_device_t d;
      hit = next;
      next = (next + 1) % CACHE;
      if (n < CACHE) n++;
      cache[hit].id = id;
      cache[hit].known = store_device_get(c->srv->store, c->tenant.id, id, &d) == STORE_OK;
      snprintf(cache[hit].name, sizeof cache[hit].name, "%s", cache[hit].known ? d.name : "");
    }
    json_object_set_new(row, "printer",
                        cache[hit].known ? api_json_text(cache[hit].name) : json_null());
  }
}

/* An order's or alert's delivery state in words. */
static const char *delivery_state_name(nimbus_delivery_state_t state) {
  switch (state) {
    case NIMBUS_DELIVERY_PENDING:
      return "pending";
    case NIMBUS_DELIVERY_SENT:
      return "sent";
    case NIMBUS_DELIVERY_FAILED:
      return "failed";
  }
  return "";
}

static bool list_order(const nimbus_supply_order_t *o, void *ctx) {
  api_list_t *l = ctx;
  json_t *j =
      json_pack("{s:I, s:I, s:I, s:s, s:s, s:i, s:i, s:s, s:i, s:o, s:o}", "id", (json_int_t)o->id,
                "printer_id", (json_int_t)o->device_id, "contract", (json_int_t)o->contract_id,
                "supply", o->supply, "type", o->type, "episode", o->episode, "level", o->level,
                "state", delivery_state_name(o->state), "attempts", o->attempts, "created_at",
                api_json_time(o->created_at), "sent_at", api_json_time(o->sent_at));
  return api_list_append(l, j);
}

void api_supply_orders_list(api_ctx_t *c) {
  long limit;
  if (!api_query_int(c, "limit", 100, 1, 500, &limit)) return;
  api_list_t l = {c, json_array(), false};
  store_delivery_filter_t f = {.tenant_id = c->tenant.id, .limit = (int)limit};
  store_status_t s = store_supply_order_list(c->srv->store, &f, list_order, &l);
  if (s == STORE_OK && !l.failed) add_printer_names(c, l.arr);
  api_list_respond(&l, s, "orders", "supply order");
}

static bool list_alert(const nimbus_part_alert_t *a, void *ctx) {
  api_list_t *l = ctx;
  json_t *j =
      json_pack("{s:I, s:I, s:I, s:s, s:i, s:I, s:s, s:i, s:o, s:o}", "id", (json_int_t)a->id,
                "printer_id", (json_int_t)a->device_id, "contract", (json_int_t)a->contract_id,
                "part", a->part, "cycle", a->cycle, "impressions", (json_int_t)a->impressions,
                "state", delivery_state_name(a->state), "attempts", a->attempts, "created_at",
                api_json_time(a->created_at), "sent_at", api_json_time(a->sent_at));
  return api_list_append(l, j);
}

void api_part_alerts_list(api_ctx_t *c) {
  long limit;
  if (!api_query_int(c, "limit", 100, 1, 500, &limit)) return;
  api_list_t l = {c, json_array(), false};
  store_delivery_filter_t f = {.tenant_id = c->tenant.id, .limit = (int)limit};
  store_status_t s = store_part_alert_list(c->srv->store, &f, list_alert, &l);
  if (s == STORE_OK && !l.failed) add_printer_names(c, l.arr);
  api_list_respond(&l, s, "alerts", "part alert");
}

void api_printer_part_replaced(api_ctx_t *c) {
  static const char *const fields[] = {"impressions", NULL};
  json_int_t impressions = 0;
  bool present = false;
  if (!api_body_only(c, fields) ||
      !api_body_integer(c, "impressions", 0, (json_int_t)1 << 52, &impressions, &present))
    return;
  if (!present) {
    api_problem(c->r, 400, "'impressions' (the printer's count at the replacement) is required");
    return;
  }
  const char *part = c->param2;
  if (!part || !part[0] || !api_text_valid(part, NIMBUS_PART_NAME_MAX - 1)) {
    api_problem(c->r, 400, "the part name must be 1..%d characters", NIMBUS_PART_NAME_MAX - 1);
    return;
  }
  nimbus_device_t d;
  if (!printer_of(c, &d)) return;
  store_status_t s =
      store_part_replaced(c->srv->store, d.tenant_id, d.id, part, (int64_t)impressions);
  nimbus_part_counter_t pc;
  if (s == STORE_OK) s = store_part_counter_get(c->srv->store, d.id, part, &pc);
  if (s != STORE_OK) {
    api_respond_store(c, s, "part", part);
    return;
  }
  api_audit(c, 0, "part.replaced", "printer=%s part=%s impressions=%lld cycle=%d", d.name, part,
            (long long)impressions, pc.cycle);
  log_event(LOG_INFO, c->r->id, "part replaced", "printer", d.name, "part", part, "impressions",
            LOG_INT(impressions), "cycle", LOG_INT(pc.cycle), "actor", c->actor, (char *)NULL);
  api_respond(c, 200,
              json_pack("{s:s, s:s, s:I, s:i}", "printer", d.name, "part", part, "replaced_at",
                        (json_int_t)pc.replaced_at, "cycle", pc.cycle));
}
