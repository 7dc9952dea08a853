/*
 * api-contract-webhook.c: POST /api/v1/contract-events, contracts pushed
 * by an external contract-management system (docs/PROVISIONING.md §4,
 * PROTOCOL.md §4.15).  No user: the signature is the credential.
 * Checks in order: a sender of --contract-webhook-secret-file (else 401
 * bad-signature), the body at most 1 MiB (413; the signature covers all
 * of it), the HMAC-SHA256 over "<timestamp>.<raw body>" (401
 * bad-signature), the timestamp within --contract-webhook-window of now
 * (401 stale-timestamp), then the event and the §1 model (400).  The
 * event id is recorded in the transaction of the change it carries
 * (store_contract_event_apply): a repeat answers duplicate and changes
 * nothing.  Nothing of a secret reaches an answer or the log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api-private.h"
#include "contract-webhook.h"
#include "contract.h"
#include "log.h"

#define PROBLEM_BAD_SIGNATURE "urn:nimbus:problem:bad-signature"
#define PROBLEM_STALE "urn:nimbus:problem:stale-timestamp"
#define EVENT_ID_MAX 128
#define CAS_TRIES 4

static void refuse(api_ctx_t *c, const char *type, const char *why, const char *detail) {
  log_event(LOG_WARN, c->r->id, "contract event refused", "sender", c->r->nimbus_sender, "reason",
            why, "peer", c->r->peer, (char *)NULL);
  http_respond_problem_typed(c->r, 401, type, "Unauthorized", detail);
}

static void respond_event(api_ctx_t *c, bool duplicate, nimbus_id_t id) {
  nimbus_contract_t *k = malloc(sizeof *k);
  store_status_t s = k ? store_contract_get(c->srv->store, id, k) : STORE_ERROR;
  json_t *doc = json_pack("{s:b}", "duplicate", duplicate);
  if (doc)
    json_object_set_new(doc, "contract",
                        s == STORE_OK ? contract_json(k, (int64_t)time(NULL)) : json_null());
  free(k);
  api_respond(c, 200, doc);
}

static void respond_error(api_ctx_t *c, const contract_error_t *e) {
  if (e->status != 400) {
    api_problem(c->r, 500, "%s", e->detail[0] ? e->detail : "storage error");
    return;
  }
  api_problem_with(c, 400, "Bad Request", e->detail, "member", json_string(e->member));
}

/* The upsert of ev: by (owner, external id), created or changed with the
 * revision rule.  Answers. */
static void event_upsert(api_ctx_t *c, const store_contract_event_t *ev, const json_t *body,
                         const nimbus_tenant_t *owner) {
  contract_input_t *in = calloc(1, sizeof *in);
  nimbus_contract_t *old = malloc(sizeof *old);
  contract_error_t e;
  if (!in || !old) {
    api_problem(c->r, 500, "out of memory");
    goto done;
  }
  if (!contract_parse(json_object_get(body, "contract"), "contract.", true, in, &e)) {
    respond_error(c, &e);
    goto done;
  }
  if (!in->rec.external_id[0]) {
    api_problem_with(c, 400, "Bad Request", "the sender's id of the contract is required", "member",
                     json_string("contract.external_id"));
    goto done;
  }
  nimbus_tenant_t t;
  nimbus_id_t dealer = 0;
  store_status_t s = store_tenant_get_by_name(c->srv->store, in->tenant, &t);
  bool may = s == STORE_OK && !api_tenant_name_reserved(t.name) &&
             (api_tenant_name_reserved(owner->name) ||
              (store_dealer_get(c->srv->store, t.id, &dealer) == STORE_OK && dealer == owner->id));
  if (!may) {
    api_problem_with(c, 400, "Bad Request",
                     "no tenant whose contracts this sender's owner may write", "member",
                     json_string("contract.tenant"));
    goto done;
  }
  if (!contract_check_refs(c->srv->store, t.id, owner->id, in, &e)) {
    respond_error(c, &e);
    goto done;
  }
  char actor[96];
  snprintf(actor, sizeof actor, "webhook:%s", ev->sender);
  for (int attempt = 0; attempt < CAS_TRIES; attempt++) {
    nimbus_contract_t *next = &in->rec;
    store_contract_event_op_t op;
    s = store_contract_get_by_external(c->srv->store, owner->id, in->rec.external_id, old);
    if (s == STORE_ERROR) break;
    if (s == STORE_OK && old->canceled) {
      api_problem(c->r, 409, "the contract with this external id is canceled");
      goto done;
    }
    if (s == STORE_OK && old->tenant_id != t.id) {
      api_problem_with(c, 400, "Bad Request", "a contract stays with its tenant", "member",
                       json_string("contract.tenant"));
      goto done;
    }
    next->tenant_id = t.id;
    next->owner_tenant_id = owner->id;
    if (s == STORE_OK) {
      op = STORE_CONTRACT_EVENT_UPDATE;
      next->id = old->id;
      next->version = old->version;
      next->revision = contract_revision_next(old, next);
    } else {
      op = STORE_CONTRACT_EVENT_INSERT;
      next->id = 0;
      next->revision = 1;
    }
    char detail[256];
    snprintf(detail, sizeof detail, "name=%s external_id=%s revision=%lld event=%s", next->name,
             next->external_id, (long long)next->revision, ev->event_id);
    store_audit_t au = {
        .tenant_id = t.id,
        .actor = actor,
        .action = op == STORE_CONTRACT_EVENT_INSERT ? "contract.create" : "contract.update",
        .detail = detail};
    bool duplicate = false;
    nimbus_id_t id = 0;
    s = store_contract_event_apply(c->srv->store, ev, op, next, &au, &duplicate, &id);
    if (s == STORE_CONFLICT && op == STORE_CONTRACT_EVENT_UPDATE) continue; /* raced: again */
    if (s == STORE_CONFLICT) {
      api_problem(c->r, 409, "the tenant has another contract named '%s'", next->name);
      goto done;
    }
    if (s != STORE_OK) break;
    log_event(LOG_INFO, c->r->id, "contract event applied", "sender", ev->sender, "event",
              ev->event_id, "contract", LOG_INT(id), "duplicate", duplicate ? "yes" : "no",
              (char *)NULL);
    respond_event(c, duplicate, id);
    goto done;
  }
  api_respond_store(c, s == STORE_OK ? STORE_ERROR : s, "contract", NULL);
done:
  free(in);
  free(old);
}

/* The cancel of ev by (owner, external id).  Answers. */
static void event_cancel(api_ctx_t *c, const store_contract_event_t *ev, const json_t *body,
                         const nimbus_tenant_t *owner) {
  const json_t *k = json_object_get(body, "contract");
  const char *xid = json_string_value(json_object_get(k, "external_id"));
  if (!xid || !xid[0] || strlen(xid) >= NIMBUS_CONTRACT_EXTERNAL_ID_MAX) {
    api_problem_with(c, 400, "Bad Request", "the sender's id of the contract is required", "member",
                     json_string("contract.external_id"));
    return;
  }
  nimbus_contract_t *old = malloc(sizeof *old);
  if (!old) {
    api_problem(c->r, 500, "out of memory");
    return;
  }
  char actor[96], detail[256];
  snprintf(actor, sizeof actor, "webhook:%s", ev->sender);
  store_status_t s = STORE_ERROR;
  for (int attempt = 0; attempt < CAS_TRIES; attempt++) {
    s = store_contract_get_by_external(c->srv->store, owner->id, xid, old);
    if (s != STORE_OK) break;
    store_contract_event_op_t op = STORE_CONTRACT_EVENT_RECORD;
    if (!old->canceled) { /* canceled already: only the event is recorded */
      op = STORE_CONTRACT_EVENT_UPDATE;
      old->canceled = true;
      old->canceled_at = (int64_t)time(NULL);
    }
    snprintf(detail, sizeof detail, "id=%lld name=%s event=%s", (long long)old->id, old->name,
             ev->event_id);
    store_audit_t au = {
        .tenant_id = old->tenant_id, .actor = actor, .action = "contract.cancel", .detail = detail};
    bool duplicate = false;
    nimbus_id_t id = 0;
    s = store_contract_event_apply(c->srv->store, ev, op, old,
                                   op == STORE_CONTRACT_EVENT_UPDATE ? &au : NULL, &duplicate, &id);
    if (s == STORE_CONFLICT) continue;
    if (s != STORE_OK) break;
    log_event(LOG_INFO, c->r->id, "contract event applied", "sender", ev->sender, "event",
              ev->event_id, "contract", LOG_INT(id), "duplicate", duplicate ? "yes" : "no",
              (char *)NULL);
    respond_event(c, duplicate, id);
    free(old);
    return;
  }
  free(old);
  if (s == STORE_NOT_FOUND)
    api_problem(c->r, 404, "no contract of this sender has that external id");
  else
    api_respond_store(c, s == STORE_OK ? STORE_ERROR : s, "contract", NULL);
}

void api_contract_events(api_ctx_t *c) {
  const nimbusd_config_t *cfg = &c->srv->cfg;
  contract_sender_t sender;
  char err[512] = "";
  json_t *body = NULL;
  int found = contract_webhook_sender_find(cfg->contract_webhook_secret_file, c->r->nimbus_sender,
                                           &sender, err, sizeof err);
  if (found < 0) {
    log_event(LOG_ERROR, c->r->id, "contract webhook secret file unusable", "error", err,
              (char *)NULL);
    api_problem(c->r, 500, "the contract webhook is not configured correctly");
    goto done;
  }
  if (found == 0) {
    refuse(c, PROBLEM_BAD_SIGNATURE, "unknown sender", "unknown sender or bad signature");
    goto done;
  }
  api_state_t *st = c->state;
  if (st && st->body_too_large) {
    api_problem(c->r, 413, "the event is larger than %d bytes", CONTRACT_WEBHOOK_BODY_MAX);
    goto done;
  }
  if (st && st->body_bad_type) {
    api_problem(c->r, 415, "the request body must be application/json");
    goto done;
  }
  const char *raw = st && st->body ? st->body : "";
  size_t len = st ? st->body_len : 0;
  if (!contract_webhook_signature_ok(sender.secret, c->r->nimbus_timestamp, raw, len,
                                     c->r->nimbus_signature)) {
    refuse(c, PROBLEM_BAD_SIGNATURE, "bad signature", "unknown sender or bad signature");
    goto done;
  }
  int64_t now = (int64_t)time(NULL);
  if (!contract_webhook_timestamp_ok(c->r->nimbus_timestamp, now, cfg->contract_webhook_window)) {
    refuse(c, PROBLEM_STALE, "stale timestamp",
           "the timestamp is too far from now (replayed, or the clocks differ)");
    goto done;
  }
  json_error_t jerr;
  body = len ? json_loadb(raw, len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
  if (!json_is_object(body)) {
    api_problem(c->r, 400, "the body must be a JSON object");
    goto done;
  }
  const char *event_id = json_string_value(json_object_get(body, "event_id"));
  if (!event_id || !event_id[0] || strlen(event_id) > EVENT_ID_MAX ||
      !api_text_valid(event_id, EVENT_ID_MAX)) {
    api_problem_with(c, 400, "Bad Request", "an event id of 1 to 128 characters is required",
                     "member", json_string("event_id"));
    goto done;
  }
  const char *type = json_string_value(json_object_get(body, "type"));
  if (!type || (strcmp(type, "contract.upsert") && strcmp(type, "contract.cancel"))) {
    api_problem_with(c, 400, "Bad Request", "contract.upsert or contract.cancel", "member",
                     json_string("type"));
    goto done;
  }
  nimbus_tenant_t owner;
  store_status_t s = store_tenant_get_by_name(c->srv->store, sender.owner, &owner);
  if (s != STORE_OK) {
    log_event(LOG_ERROR, c->r->id, "contract webhook sender's owner tenant is missing", "sender",
              sender.sender, "owner", sender.owner, (char *)NULL);
    api_problem(c->r, 500, "the contract webhook is not configured correctly");
    goto done;
  }
  snprintf(c->actor, sizeof c->actor, "webhook:%s", sender.sender);
  store_contract_event_t ev = {.sender = sender.sender,
                               .event_id = event_id,
                               .received_at = now,
                               .prune_before = now - CONTRACT_WEBHOOK_EVENT_DAYS * 86400};
  if (!strcmp(type, "contract.upsert"))
    event_upsert(c, &ev, body, &owner);
  else
    event_cancel(c, &ev, body, &owner);
done:
  contract_sender_wipe(&sender);
  json_decref(body);
}
