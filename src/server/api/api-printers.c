/*
 * api-printers.c: /api/v1/printers, the output-device registrations of the
 * tenant acted on (admins only), and /api/v1/device/register, where a
 * printer claims its registration (PROTOCOL.md §6.1).
 *
 *   GET    /printers                    → {printers:[printer...]}
 *   POST   /printers                    {name, queues:[q...], location?, claim_ttl?}
 *                                       → 201 printer + claim_code, qr_svg,
 *                                       claim_expires_at
 *   GET    /printers/{name}             → printer
 *   PATCH  /printers/{name}             {location} → printer
 *   DELETE /printers/{name}             → 204 (device_delete: tombstone, jobs re-offered)
 *   POST   /printers/{name}/claim-code  {claim_ttl?} → printer + a new claim_code
 *                                       and its qr_svg
 *   POST   /device/register             {claim_code, output_device_uuid?}, no user
 *                                       → 201 {output_device_uuid, credential,
 *                                       printer_uris, tenant, name}
 *
 * Secrets: claim codes and credentials are made by device.c and appear
 * only in the one response that hands them out; they are never logged or
 * audited, and the request body that carried a claim code is wiped.
 * Failed claims are counted per client address by device_claim() (for
 * this route and Register-Output-Device alike): too many answer 429.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api-private.h"
#include "device.h"
#include "log.h"
#include "qr-svg.h"

#define API_CLAIM_TTL_MIN 60

/* ---- records ---- */

static const char *printer_state_name(int state) {
  switch (state) {
    case 3:
      return "idle";
    case 4:
      return "processing";
    case 5:
      return "stopped";
    default:
      return NULL;
  }
}

/* Comma-separated keywords to a JSON array of strings. */
static json_t *printer_reasons_json(const char *reasons) {
  json_t *arr = json_array();
  const char *p = reasons;
  while (arr && *p) {
    size_t len = strcspn(p, ",");
    if (len > 0) {
      char word[NIMBUS_TEXT_MAX];
      snprintf(word, sizeof word, "%.*s", (int)len, p);
      if (json_array_append_new(arr, api_json_text(word)) != 0) {
        json_decref(arr);
        return NULL;
      }
    }
    p += len;
    if (*p == ',') p++;
  }
  return arr;
}

/* The record of d; last_seen_at is the later of the store's (written
 * lazily, a housekeeping round late at most) and this node's memory, and
 * online follows from it (device_online). */
static json_t *printer_json(const api_ctx_t *c, const nimbus_device_t *d) {
  int64_t seen = device_presence_seen_at(c->srv, d->id);
  if (seen < d->last_seen_at) seen = d->last_seen_at;
  json_t *queues = json_array();
  for (int i = 0; queues && i < d->nqueues; i++) {
    if (json_array_append_new(queues, api_json_text(d->queue_names[i])) != 0) {
      json_decref(queues);
      queues = NULL;
    }
  }
  const char *state = printer_state_name(d->printer_state);
  bool registered = d->status == NIMBUS_DEVICE_REGISTERED;
  return json_pack(
      "{s:o, s:o, s:s, s:b, s:o, s:o, s:o, s:o, s:o, s:b, s:o, s:o, s:o, s:i, s:o, s:o, s:o}",
      "name", api_json_text(d->name), "location",
      d->location[0] ? api_json_text(d->location) : json_null(), "status",
      registered ? "registered" : "unclaimed", "registered", registered, "output_device_uuid",
      d->uuid[0] ? api_json_text(d->uuid) : json_null(), "queues", queues, "registered_at",
      api_json_time(d->registered_at), "last_seen_at", api_json_time(seen), "transport",
      d->transport[0] ? api_json_text(d->transport) : json_null(), "online",
      registered && device_online(c->srv, seen), "printer_state",
      state ? json_string(state) : json_null(), "printer_state_reasons",
      printer_reasons_json(d->state_reasons), "make_and_model",
      d->make_model[0] ? api_json_text(d->make_model) : json_null(), "jobs_in_progress",
      d->jobs_in_progress, "claim_expires_at", api_json_time(d->claim_expires_at), "created_at",
      api_json_time(d->created_at), "pricing", api_pricing_json((api_ctx_t *)c, &d->pricing));
}

/* The printer record plus a freshly issued claim code, and the code as
 * an SVG QR code (qr_svg) of exactly the text `nimbus-connector register
 * --claim` takes, for the console to show next to it.  NULL: no memory. */
static json_t *printer_with_code_json(const api_ctx_t *c, const nimbus_device_t *d,
                                      const char *code) {
  json_t *doc = printer_json(c, d);
  char *svg = qr_svg(code, NULL);
  if (!svg || !doc || json_object_set_new(doc, "claim_code", json_string(code)) != 0 ||
      json_object_set_new(doc, "qr_svg", json_string(svg)) != 0) {
    json_decref(doc);
    doc = NULL;
  }
  free(svg);
  return doc;
}

/* ---- admin endpoints ---- */

/* The printers are collected first: a printer's record reads its price
 * table's name from the store (api_rows_t). */
static bool printer_list_cb(const nimbus_device_t *d, void *ctx) {
  return api_rows_add(ctx, d);
}

void api_printers_list(api_ctx_t *c) {
  api_list_t l = {c, json_array(), false};
  api_rows_t ps = {.size = sizeof(nimbus_device_t)};
  store_status_t s =
      l.arr ? store_device_list(c->srv->store, c->tenant.id, 0, printer_list_cb, &ps) : STORE_OK;
  l.failed = ps.failed;
  const nimbus_device_t *d = ps.v;
  for (size_t i = 0; s == STORE_OK && !l.failed && i < ps.n; i++)
    api_list_append(&l, printer_json(c, &d[i]));
  api_rows_free(&ps); /* wiped: the records hold credential hashes */
  api_list_respond(&l, s, "printers", "printer");
}

/* Optional claim_ttl (seconds) into *ttl (0: the default); false has
 * responded 400. */
static bool printer_claim_ttl(api_ctx_t *c, int64_t *ttl) {
  json_int_t v = 0;
  bool present = false;
  *ttl = 0;
  if (!c->body) return true;
  if (!api_body_integer(c, "claim_ttl", API_CLAIM_TTL_MIN, DEVICE_CLAIM_TTL_MAX, &v, &present))
    return false;
  if (present) *ttl = (int64_t)v;
  return true;
}

/* The queues member: 1..NIMBUS_DEVICE_QUEUES_MAX names of queues of the
 * tenant, no repeats.  False has responded (400, or 404 for an unknown
 * queue, as POST /jobs does). */
static bool printer_queues(api_ctx_t *c, nimbus_device_t *d) {
  json_t *arr = json_object_get(c->body, "queues");
  size_t n = json_is_array(arr) ? json_array_size(arr) : 0;
  if (!json_is_array(arr) || n < 1 || n > NIMBUS_DEVICE_QUEUES_MAX) {
    api_problem(c->r, 400, "'queues' must be an array of 1 to %d queue names",
                NIMBUS_DEVICE_QUEUES_MAX);
    return false;
  }
  d->nqueues = 0;
  for (size_t i = 0; i < n; i++) {
    const char *name = json_string_value(json_array_get(arr, i));
    if (!name || !api_name_valid(name)) {
      api_problem(c->r, 400, "'queues' must hold queue names");
      return false;
    }
    nimbus_queue_t q;
    store_status_t s = store_queue_get_by_name(c->srv->store, c->tenant.id, name, &q);
    if (s != STORE_OK) {
      api_respond_store(c, s, "queue", name);
      return false;
    }
    for (int k = 0; k < d->nqueues; k++) {
      if (d->queue_ids[k] == q.id) {
        api_problem(c->r, 400, "'queues' names '%s' twice", name);
        return false;
      }
    }
    d->queue_ids[d->nqueues++] = q.id;
  }
  return true;
}

/* The optional location member into *out (NULL when absent); false has
 * responded 400. */
static bool printer_location(api_ctx_t *c, const char **out) {
  if (!api_body_string(c, "location", false, NIMBUS_TEXT_MAX - 1, out)) return false;
  if (*out && !api_text_valid(*out, NIMBUS_TEXT_MAX - 1)) {
    api_problem(c->r, 400, "'location' must not contain control characters");
    return false;
  }
  return true;
}

void api_printers_create(api_ctx_t *c) {
  static const char *const fields[] = {"name", "queues", "location", "claim_ttl", NULL};
  nimbus_device_t d;
  const char *name, *location;
  int64_t ttl;
  char code[DEVICE_CLAIM_CODE_MAX];
  memset(&d, 0, sizeof d);
  if (!api_body_only(c, fields) || !api_body_string(c, "name", true, 255, &name)) return;
  if (!api_name_valid(name)) {
    api_problem(c->r, 400, "'name' must be 1 to 63 of A-Z a-z 0-9 . _ -, not starting with . or -");
    return;
  }
  if (!printer_claim_ttl(c, &ttl) || !printer_location(c, &location)) return;
  d.tenant_id = c->tenant.id;
  snprintf(d.name, sizeof d.name, "%s", name);
  snprintf(d.location, sizeof d.location, "%s", location ? location : "");
  if (!printer_queues(c, &d)) return;

  api_audit_t au;
  store_status_t s =
      device_create(c->srv, &d, ttl, code, api_audit_of(c, &au, "printer.create", "%s", d.name));
  if (s == STORE_CONFLICT) {
    api_problem(c->r, 409, "a printer named '%s' already exists", d.name);
  } else if (s == STORE_NOT_FOUND) {
    api_problem(c->r, 404, "a queue of this printer no longer exists");
  } else if (s != STORE_OK) {
    api_respond_store(c, s, "printer", NULL);
  } else {
    log_event(LOG_INFO, c->r->id, "printer created", "tenant", c->tenant.name, "printer", d.name,
              "by", c->actor, (char *)NULL);
    api_respond(c, 201, printer_with_code_json(c, &d, code));
  }
  explicit_bzero(code, sizeof code);
}

void api_printer_get(api_ctx_t *c) {
  nimbus_device_t d;
  store_status_t s = store_device_get_by_name(c->srv->store, c->tenant.id, c->param, &d);
  if (s != STORE_OK) {
    api_respond_store(c, s, "printer", c->param);
    return;
  }
  api_respond(c, 200, printer_json(c, &d));
}

void api_printer_update(api_ctx_t *c) {
  static const char *const fields[] = {"location", "price_table", "payment", NULL};
  const char *location;
  nimbus_device_t d;
  if (!api_body_only(c, fields) || !printer_location(c, &location)) return;
  store_status_t s = store_device_get_by_name(c->srv->store, c->tenant.id, c->param, &d);
  if (s != STORE_OK) {
    api_respond_store(c, s, "printer", c->param);
    return;
  }
  /* how it charges (issue 12): its own price table and payment mode */
  nimbus_pricing_t pricing = d.pricing;
  bool pricing_changed = false;
  if (!api_pricing_from_body(c, &pricing, &pricing_changed)) return;
  if (!location && !pricing_changed) {
    api_problem(c->r, 400, "nothing to change: give 'location', 'price_table' or 'payment'");
    return;
  }
  api_audit_t au;
  if (location)
    s = store_device_set_location_audited(
        c->srv->store, c->tenant.id, d.id, location,
        api_audit_of(c, &au, "printer.update", "%s location", d.name));
  if (s == STORE_OK && pricing_changed)
    s = store_device_set_pricing(
        c->srv->store, c->tenant.id, d.id, &pricing,
        api_audit_of(c, &au, "printer.update", "%s pricing table_id=%lld payment=%s", d.name,
                     (long long)pricing.price_table_id,
                     pricing.payment[0] ? pricing.payment : "-"));
  if (s == STORE_OK) s = store_device_get(c->srv->store, c->tenant.id, d.id, &d);
  if (s != STORE_OK) {
    api_respond_store(c, s, "printer", c->param);
    return;
  }
  api_respond(c, 200, printer_json(c, &d));
}

void api_printer_delete(api_ctx_t *c) {
  nimbus_device_t d;
  store_status_t s = store_device_get_by_name(c->srv->store, c->tenant.id, c->param, &d);
  if (s == STORE_OK) s = device_delete(c->srv, c->tenant.id, d.id, c->actor, NULL);
  if (s != STORE_OK) {
    api_respond_store(c, s, "printer", c->param);
    return;
  }
  api_respond_no_content(c);
}

void api_printer_claim_code(api_ctx_t *c) {
  static const char *const fields[] = {"claim_ttl", NULL};
  nimbus_device_t d;
  int64_t ttl;
  char code[DEVICE_CLAIM_CODE_MAX];
  if ((c->body && !api_body_only(c, fields)) || !printer_claim_ttl(c, &ttl)) return;
  store_status_t s = store_device_get_by_name(c->srv->store, c->tenant.id, c->param, &d);
  api_audit_t au;
  if (s == STORE_OK)
    s = device_new_claim(c->srv, c->tenant.id, d.id, ttl, code,
                         api_audit_of(c, &au, "printer.claim-code", "%s", d.name));
  if (s == STORE_OK) s = store_device_get(c->srv->store, c->tenant.id, d.id, &d);
  if (s != STORE_OK) {
    api_respond_store(c, s, "printer", c->param);
  } else {
    log_event(LOG_INFO, c->r->id, "printer claim code issued", "tenant", c->tenant.name, "printer",
              d.name, "by", c->actor, (char *)NULL);
    api_respond(c, 200, printer_with_code_json(c, &d, code));
  }
  explicit_bzero(code, sizeof code);
}

/* ---- device registration (no user authentication) ---- */

/* The response of a successful claim; c->tenant must be the device's
 * tenant (the queue URIs are built as in the queue records). */
static json_t *register_json(api_ctx_t *c, const nimbus_device_t *d, const char *credential) {
  json_t *uris = json_array();
  for (int i = 0; uris && i < d->nqueues; i++) {
    nimbus_queue_t q;
    memset(&q, 0, sizeof q);
    snprintf(q.name, sizeof q.name, "%s", d->queue_names[i]);
    json_t *qj = api_queue_json(c, &q);
    json_t *uri = qj ? json_object_get(qj, "printer_uri") : NULL;
    if (!uri || json_array_append(uris, uri) != 0) {
      json_decref(uris);
      uris = NULL;
    }
    json_decref(qj);
  }
  return json_pack("{s:o, s:s, s:o, s:o, s:o}", "output_device_uuid", api_json_text(d->uuid),
                   "credential", credential, "printer_uris", uris, "tenant",
                   api_json_text(c->tenant.name), "name", api_json_text(d->name));
}

void api_device_register(api_ctx_t *c) {
  static const char *const fields[] = {"claim_code", "output_device_uuid", NULL};
  const char *code, *uuid;
  nimbus_device_t d;
  char credential[DEVICE_CREDENTIAL_MAX] = "";
  if (!api_body_only(c, fields) ||
      !api_body_string(c, "claim_code", true, DEVICE_CLAIM_CODE_MAX - 1, &code) ||
      !api_body_string(c, "output_device_uuid", false, NIMBUS_UUID_MAX - 1, &uuid))
    goto done;

  switch (device_claim(c->srv, code, uuid, c->r->peer, &d, credential)) {
    case DEVICE_CLAIM_OK:
      break;
    case DEVICE_CLAIM_THROTTLED: {
      char secs[16];
      snprintf(secs, sizeof secs, "%d", device_claim_wait(c->srv, c->r->peer));
      http_response_header(c->r, "Retry-After", secs);
      api_problem(c->r, 429, "too many failed claims from this address; try again later");
      goto done;
    }
    case DEVICE_CLAIM_BAD_CODE:
      log_event(LOG_WARN, c->r->id, "device claim refused: wrong, used or expired claim code",
                "peer", c->r->peer, (char *)NULL);
      api_problem(c->r, 403, "wrong, used or expired claim code");
      goto done;
    case DEVICE_CLAIM_BAD_UUID:
      api_problem(c->r, 400, "'output_device_uuid' must be urn:uuid: followed by 36 characters");
      goto done;
    case DEVICE_CLAIM_UUID_TAKEN:
      api_problem(c->r, 409, "this output_device_uuid is already registered");
      goto done;
    case DEVICE_CLAIM_ERROR:
    default:
      api_respond_store(c, STORE_ERROR, "printer", NULL);
      goto done;
  }
  store_status_t s = store_tenant_get(c->srv->store, d.tenant_id, &c->tenant);
  if (s != STORE_OK) {
    api_respond_store(c, s, "tenant", NULL);
    goto done;
  }
  api_respond(c, 201, register_json(c, &d, credential));

done:
  api_body_wipe(c, "claim_code");
  explicit_bzero(credential, sizeof credential);
}
