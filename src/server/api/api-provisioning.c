/*
 * api-provisioning.c: provisioning over REST (docs/PROVISIONING.md §8.1,
 * §13; PROTOCOL.md §4.15 and §7.2).
 *
 * The printer's side, with its device credential (API_DEVICE):
 *   POST /device/inventory            {firmware?, applications, settings} → 204
 *   GET  /device/provisioning         → {steps:[step]|[], poll}: at most one
 *                                       step; a planned one becomes sent
 *   GET  /device/packages/{id}        the package bytes, streamed from the
 *                                       blob store (Range: bytes=N- → 206);
 *                                       only a package named by a step of
 *                                       this printer, else 404
 *   POST /device/provisioning/steps/{id} {result, reason?, version?,
 *                                       transient?} → the step; the state
 *                                       it has already: 200 unchanged;
 *                                       another printer's 404; not sent 409
 * The admin side (operator, the customer's dealer, the customer's admins
 * reading: §2; anyone else 404):
 *   GET  /contracts/{id}/runs         → {runs:[run]}
 *   GET  /runs/{id}                   → run with {printers:[{printer,
 *                                       steps:[…]}]}; a planned step behind
 *                                       a failed one shows "blocked"; a
 *                                       restore run (no contract): an
 *                                       operator, its tenant's admins
 *   GET  /printers/{name}/runs        → {runs:[run]}: the printer's restore
 *                                       runs (tenant admins, operators)
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api-private.h"
#include "blob.h"
#include "contract.h"
#include "log.h"
#include "provisioning.h"
#include "server.h"

#define PROV_POLL_IDLE 60 /* seconds: nothing to do */
#define PROV_POLL_BUSY 5  /* seconds: a step is waiting (a cloud step, a back-off) */

/* ---- the printer's side ---- */

/* Copy a JSON object member (as compact sorted JSON) into dst; "{}" when
 * absent.  False when it is not an object or does not fit. */
static bool inventory_json(json_t *v, char *dst, size_t cap) {
  if (!v || json_is_null(v)) {
    snprintf(dst, cap, "{}");
    return true;
  }
  if (!json_is_object(v)) return false;
  char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
  bool ok = s && strlen(s) < cap;
  if (ok) memcpy(dst, s, strlen(s) + 1);
  free(s);
  return ok;
}

void api_device_inventory_put(api_ctx_t *c) {
  static const char *const fields[] = {"firmware", "applications", "settings", NULL};
  if (!api_body_only(c, fields)) return;
  nimbus_device_inventory_t *inv = calloc(1, sizeof *inv);
  if (!inv) {
    api_problem(c->r, 500, "out of memory");
    return;
  }
  inv->device_id = c->device.id;
  inv->tenant_id = c->device.tenant_id;
  inv->reported_at = (int64_t)time(NULL);
  json_t *fw = json_object_get(c->body, "firmware");
  const char *member = NULL;
  if (fw && !json_is_null(fw)) {
    const char *n = json_string_value(json_object_get(fw, "name"));
    const char *v = json_string_value(json_object_get(fw, "version"));
    if (!json_is_object(fw) || !v || strlen(v) >= sizeof inv->firmware_version ||
        (n && strlen(n) >= sizeof inv->firmware_name))
      member = "firmware";
    else {
      snprintf(inv->firmware_name, sizeof inv->firmware_name, "%s", n ? n : "");
      snprintf(inv->firmware_version, sizeof inv->firmware_version, "%s", v);
    }
  }
  if (!member && !inventory_json(json_object_get(c->body, "applications"), inv->applications_json,
                                 sizeof inv->applications_json))
    member = "applications";
  if (!member && !inventory_json(json_object_get(c->body, "settings"), inv->settings_json,
                                 sizeof inv->settings_json))
    member = "settings";
  if (member) {
    api_problem(c->r, 400, "'%s' must be an object (of bounded size)", member);
  } else {
    store_status_t st = store_inventory_put(c->srv->store, inv);
    if (st == STORE_OK)
      api_respond_no_content(c);
    else
      api_respond_store(c, st, "printer", NULL);
  }
  free(inv);
}

/* The wire form of a step (§8.1); with the package's size and checksum
 * for firmware and application steps. */
static json_t *step_json(api_ctx_t *c, const nimbus_prov_step_t *s) {
  json_t *target = json_loads(s->target_json, 0, NULL);
  json_t *o = json_pack(
      "{sI sI so si ss ss so}", "id", (json_int_t)s->id, "run", (json_int_t)s->run_id, "contract",
      s->contract_id ? json_integer(s->contract_id) : json_null(), "seq", s->seq, "kind", s->kind,
      "name", s->item_name, "target", target ? target : json_object());
  if (o && s->package_id) {
    nimbus_package_t p;
    if (store_package_get(c->srv->store, s->package_id, &p) == STORE_OK) {
      char url[96];
      snprintf(url, sizeof url, "/api/v1/device/packages/%" PRId64, (int64_t)p.id);
      json_object_set_new(o, "package",
                          json_pack("{sI sI ss ss}", "id", (json_int_t)p.id, "size",
                                    (json_int_t)p.size, "sha256", p.sha256, "url", url));
    }
  }
  return o;
}

void api_device_provisioning_get(api_ctx_t *c) {
  nimbus_prov_step_t *s = malloc(sizeof *s);
  bool found = false;
  if (!s || !prov_step_next(c->srv, &c->device, s, &found)) {
    free(s);
    api_problem(c->r, 500, "the provisioning steps could not be read");
    return;
  }
  json_t *steps = json_array();
  if (found) json_array_append_new(steps, step_json(c, s));
  /* a head not served now (a cloud step, a back-off): ask again soon */
  int poll = found || s->id ? PROV_POLL_BUSY : PROV_POLL_IDLE;
  free(s);
  api_respond(c, 200, json_pack("{so si}", "steps", steps, "poll", poll));
}

void api_device_provisioning_report(api_ctx_t *c) {
  static const char *const fields[] = {"result", "reason", "version", "transient", NULL};
  if (!api_body_only(c, fields)) return;
  const char *result = NULL, *reason = NULL, *version = NULL;
  bool transient = false, present = false;
  if (!api_body_string(c, "result", true, 16, &result) ||
      !api_body_string(c, "reason", false, NIMBUS_TEXT_MAX - 1, &reason) ||
      !api_body_string(c, "version", false, 64, &version) ||
      !api_body_bool(c, "transient", &transient, &present))
    return;
  bool ok = !strcmp(result, "confirmed");
  if (!ok && strcmp(result, "failed") != 0) {
    api_problem(c->r, 400, "'result' must be confirmed or failed");
    return;
  }
  if (reason && !api_text_valid(reason, NIMBUS_TEXT_MAX - 1)) {
    api_problem(c->r, 400, "'reason' must be text");
    return;
  }
  nimbus_prov_step_t *s = malloc(sizeof *s);
  if (!s) {
    api_problem(c->r, 500, "out of memory");
    return;
  }
  switch (prov_step_report(c->srv, &c->device, c->id, ok, reason, transient, s)) {
    case PROV_REPORT_OK:
    case PROV_REPORT_SAME: {
      json_t *o = step_json(c, s);
      if (o) {
        json_object_set_new(o, "state", json_string(prov_step_state_name(s->state)));
        json_object_set_new(o, "attempts", json_integer(s->attempts));
      }
      api_respond(c, 200, o);
      break;
    }
    case PROV_REPORT_NOT_FOUND:
      api_problem(c->r, 404, "no such provisioning step");
      break;
    case PROV_REPORT_NOT_SENT:
      api_problem(c->r, 409, "the step is %s, not sent", prov_step_state_name(s->state));
      break;
    case PROV_REPORT_ERROR:
      api_problem(c->r, 500, "the report could not be stored");
      break;
  }
  free(s);
}

/* A package download: the blob from a base offset. */
typedef struct {
  blob_reader_t *reader;
  int64_t base;
} pkg_source_t;

static ssize_t pkg_read(void *ctx, int64_t offset, void *buf, size_t len) {
  pkg_source_t *p = ctx;
  return blob_reader_read(p->reader, p->base + offset, buf, len);
}

static void pkg_close(void *ctx) {
  pkg_source_t *p = ctx;
  blob_reader_close(p->reader);
  free(p);
}

/* "bytes=N-" (or "bytes=N-M", read as N-) into *from; false when absent or
 * another form (the whole body is sent then). */
static bool range_start(const char *h, int64_t *from) {
  if (strncmp(h, "bytes=", 6) != 0) return false;
  char *end = NULL;
  errno = 0;
  long long v = strtoll(h + 6, &end, 10);
  if (errno || end == h + 6 || *end != '-' || v < 0 || strchr(end, ',')) return false;
  *from = v;
  return true;
}

void api_device_package_get(api_ctx_t *c) {
  bool named = false;
  nimbus_package_t p;
  store_status_t st = store_prov_device_has_package(c->srv->store, c->device.id, c->id, &named);
  if (st == STORE_OK && !named) st = STORE_NOT_FOUND;
  if (st == STORE_OK) st = store_package_get(c->srv->store, c->id, &p);
  if (st != STORE_OK) {
    api_respond_store(c, st, "package", NULL);
    return;
  }
  pkg_source_t *src = calloc(1, sizeof *src);
  if (src) src->reader = blob_reader_open(c->srv->blobs, p.blob_key);
  if (!src || !src->reader) {
    log_event(LOG_ERROR, c->r->id, "package blob missing", "package", LOG_INT(p.id), "error",
              strerror(errno), (char *)NULL);
    free(src);
    api_problem(c->r, 500, "the package could not be read");
    return;
  }
  int64_t size = blob_reader_size(src->reader), from = 0;
  int status = 200;
  if (c->r->range[0] && range_start(c->r->range, &from)) {
    if (from >= size) { /* an empty package has no satisfiable range */
      char cr[64];
      snprintf(cr, sizeof cr, "bytes */%" PRId64, size);
      http_response_header(c->r, "Content-Range", cr);
      pkg_close(src);
      http_respond_problem(c->r, 416, "Range Not Satisfiable",
                           "the range starts past the package's end");
      return;
    }
    {
      status = 206;
      char cr[96];
      snprintf(cr, sizeof cr, "bytes %" PRId64 "-%" PRId64 "/%" PRId64, from, size - 1, size);
      http_response_header(c->r, "Content-Range", cr);
    }
  }
  src->base = from;
  http_response_header(c->r, "X-Checksum-SHA256", p.sha256);
  http_response_header(c->r, "Accept-Ranges", "bytes");
  http_body_source_t body = {pkg_read, pkg_close, src};
  http_respond_stream(c->r, status, "application/octet-stream", NULL, 0, &body, size - from);
}

/* ---- the admin side ---- */

/* The contract id names, when the caller may read it (§2,
 * contract_access()): 404 otherwise (responded, false). */
static bool contract_readable(api_ctx_t *c, nimbus_id_t id, nimbus_contract_t *out) {
  store_status_t st = store_contract_get(c->srv->store, id, out);
  if (st == STORE_OK &&
      contract_access(c->srv->store, out->tenant_id, c->is_operator, c->r->auth.user.role,
                      c->r->auth.tenant.id) < CONTRACT_ACCESS_READ)
    st = STORE_NOT_FOUND;
  if (st != STORE_OK) {
    api_respond_store(c, st, "contract", NULL);
    return false;
  }
  return true;
}

json_t *api_run_json(const nimbus_prov_run_t *r) {
  json_t *o = json_pack("{sI so sI ss ss so so ss}", "id", (json_int_t)r->id, "contract",
                        r->contract_id ? json_integer(r->contract_id) : json_null(), "revision",
                        (json_int_t)r->revision, "kind", r->kind, "state",
                        prov_run_state_name(r->state), "created_at", api_json_time(r->created_at),
                        "finished_at", api_json_time(r->finished_at), "note", r->note);
  if (o && r->backup_id) json_object_set_new(o, "backup", json_integer(r->backup_id));
  return o;
}

static bool run_row(const nimbus_prov_run_t *r, void *ctx) {
  return api_list_append(ctx, api_run_json(r));
}

/* A restore run (no contract) is read by an operator and the admins of
 * its printer's tenant: 404 otherwise (responded, false). */
static bool restore_run_readable(api_ctx_t *c, const nimbus_prov_run_t *r) {
  bool ok = c->is_operator || (c->r->auth.user.role == NIMBUS_ROLE_TENANT_ADMIN &&
                               c->r->auth.tenant.id == r->tenant_id);
  if (!ok) api_respond_store(c, STORE_NOT_FOUND, "run", NULL);
  return ok;
}

void api_printer_runs_list(api_ctx_t *c) {
  nimbus_device_t d;
  store_status_t st = store_device_get_by_name(c->srv->store, c->tenant.id, c->param, &d);
  if (st != STORE_OK) {
    api_respond_store(c, st, "printer", c->param);
    return;
  }
  api_list_t l = {.c = c, .arr = json_array()};
  st = store_prov_run_list(c->srv->store, c->tenant.id, 0, d.id, run_row, &l);
  api_list_respond(&l, st, "runs", "runs");
}

void api_contract_runs_list(api_ctx_t *c) {
  nimbus_contract_t *k = malloc(sizeof *k);
  if (!k) {
    api_problem(c->r, 500, "out of memory");
    return;
  }
  if (contract_readable(c, c->id, k)) {
    api_list_t l = {.c = c, .arr = json_array()};
    store_status_t st = store_prov_run_list(c->srv->store, k->tenant_id, k->id, 0, run_row, &l);
    api_list_respond(&l, st, "runs", "runs");
  }
  free(k);
}

/* The steps of a run grouped by printer, in order (rows collected). */
typedef struct {
  api_ctx_t *c;
  json_t *printers; /* array of {printer, device_id, steps} */
  json_t *cur;      /* the current printer's steps */
  nimbus_id_t device;
  bool failed_seen; /* a failed step of the current printer: later planned ones are blocked */
} run_steps_t;

static bool run_step_row(const nimbus_prov_step_t *s, void *ctx) {
  run_steps_t *rs = ctx;
  if (s->device_id != rs->device || !rs->cur) {
    rs->device = s->device_id;
    rs->failed_seen = false;
    rs->cur = json_array();
    json_array_append_new(rs->printers, json_pack("{sI sO}", "device_id", (json_int_t)s->device_id,
                                                  "steps", rs->cur));
    json_decref(rs->cur); /* held by the printer object */
  }
  const char *state = prov_step_state_name(s->state);
  if (s->state == NIMBUS_STEP_PLANNED && rs->failed_seen) state = "blocked";
  if (s->state == NIMBUS_STEP_FAILED) rs->failed_seen = true;
  json_t *target = json_loads(s->target_json, 0, NULL);
  json_t *o = json_pack("{sI si ss ss so ss si so so so ss}", "id", (json_int_t)s->id, "seq",
                        s->seq, "kind", s->kind, "name", s->item_name, "target",
                        target ? target : json_object(), "state", state, "attempts", s->attempts,
                        "next_at", api_json_time(s->state == NIMBUS_STEP_PLANNED ? s->next_at : 0),
                        "sent_at", api_json_time(s->sent_at), "finished_at",
                        api_json_time(s->finished_at), "reason", s->reason);
  if (o && s->package_id) json_object_set_new(o, "package", json_integer(s->package_id));
  return o && json_array_append_new(rs->cur, o) == 0;
}

void api_run_get(api_ctx_t *c) {
  nimbus_prov_run_t r;
  nimbus_contract_t *k = malloc(sizeof *k);
  if (!k) {
    api_problem(c->r, 500, "out of memory");
    return;
  }
  store_status_t st = store_prov_run_get(c->srv->store, 0, c->id, &r);
  if (st != STORE_OK) {
    api_respond_store(c, st, "run", NULL);
  } else if (r.contract_id ? contract_readable(c, r.contract_id, k) : restore_run_readable(c, &r)) {
    run_steps_t rs = {.c = c, .printers = json_array()};
    st = store_prov_step_list(c->srv->store, r.tenant_id, r.id, run_step_row, &rs);
    if (st != STORE_OK) {
      json_decref(rs.printers);
      api_respond_store(c, st, "run", NULL);
    } else {
      /* the printers' names (read after the listing: no store call inside it) */
      size_t i;
      json_t *p;
      json_array_foreach(rs.printers, i, p) {
        nimbus_device_t d;
        nimbus_id_t id = (nimbus_id_t)json_integer_value(json_object_get(p, "device_id"));
        bool known = store_device_get(c->srv->store, r.tenant_id, id, &d) == STORE_OK;
        json_object_set_new(p, "printer", known ? api_json_text(d.name) : json_null());
      }
      json_t *o = api_run_json(&r);
      if (o) json_object_set_new(o, "printers", rs.printers);
      api_respond(c, 200, o);
    }
  }
  free(k);
}
