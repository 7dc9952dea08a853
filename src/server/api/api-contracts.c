/*
 * api-contracts.c: contracts and dealer grants over REST
 * (docs/PROVISIONING.md §1, §2; PROTOCOL.md §4.15):
 *   GET|POST contracts            GET|PUT|DELETE contracts/{id}
 *   POST contracts/{id}/renew     {"end_at", "items"?}: always a new revision
 *   GET|PUT|DELETE tenants/{customer}/dealer   operators
 * Who may (§2): an operator any contract; an admin of a tenant granted
 * as dealer of the customer writes that customer's contracts; the
 * customer's own admins read theirs; everyone else gets 404, as if the
 * contract did not exist (contract_access()).  The model's rules and
 * who may are provisioning/contract.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api-private.h"
#include "contract.h"
#include "log.h"

/* What the caller may do with the contracts of customer tenant_id. */
static contract_access_t caller_access(api_ctx_t *c, nimbus_id_t tenant_id) {
  return contract_access(c->srv->store, tenant_id, c->is_operator, c->r->auth.user.role,
                         c->r->auth.tenant.id);
}

/* 400 (with member) or 500 for a refused contract. */
static void respond_error(api_ctx_t *c, const contract_error_t *e) {
  if (e->status != 400) {
    api_problem(c->r, 500, "%s", e->detail[0] ? e->detail : "storage error");
    return;
  }
  api_problem_with(c, 400, "Bad Request", e->detail, "member", json_string(e->member));
}

static void respond_contract(api_ctx_t *c, int status, const nimbus_contract_t *k) {
  api_respond(c, status, contract_json(k, (int64_t)time(NULL)));
}

/* The contract of c->id the caller may see (at least `need`) into *k;
 * false has responded (404 when it may not). */
static bool load(api_ctx_t *c, nimbus_contract_t *k, contract_access_t need) {
  store_status_t s = store_contract_get(c->srv->store, c->id, k);
  if (s == STORE_OK && caller_access(c, k->tenant_id) < CONTRACT_ACCESS_READ) s = STORE_NOT_FOUND;
  if (s != STORE_OK) {
    api_respond_store(c, s, "contract", NULL);
    return false;
  }
  if (caller_access(c, k->tenant_id) < need) {
    api_problem(c->r, 403, "the customer's admins read their contracts; the dealer writes them");
    return false;
  }
  return true;
}

typedef struct {
  json_t *arr;
  int64_t now;
  bool failed;
} list_t;

static bool list_one(const nimbus_contract_t *k, void *ctx) {
  list_t *l = ctx;
  json_t *j = contract_json(k, l->now);
  if (!j || json_array_append_new(l->arr, j) != 0) {
    l->failed = true;
    return false;
  }
  return true;
}

void api_contracts_list(api_ctx_t *c) {
  list_t l = {.arr = json_array(), .now = (int64_t)time(NULL)};
  if (!l.arr) {
    api_problem(c->r, 500, "out of memory");
    return;
  }
  bool canceled = false;
  const char *cq = http_query(c->r, "canceled");
  if (cq && !strcmp(cq, "true")) canceled = true;
  store_status_t s = STORE_OK;
  if (c->is_operator) {
    store_contract_filter_t f = {.include_canceled = canceled};
    const char *tn = http_query(c->r, "tenant");
    if (tn && *tn) {
      nimbus_tenant_t t;
      s = api_name_valid(tn) ? store_tenant_get_by_name(c->srv->store, tn, &t) : STORE_NOT_FOUND;
      if (s != STORE_OK) {
        json_decref(l.arr);
        api_respond_store(c, s, "tenant", tn);
        return;
      }
      f.tenant_id = t.id;
    }
    s = store_contract_list(c->srv->store, &f, list_one, &l);
  } else if (c->r->auth.user.role == NIMBUS_ROLE_TENANT_ADMIN) {
    /* the caller's own contracts (read), then its customers' (dealer) */
    store_contract_filter_t own = {.tenant_id = c->r->auth.tenant.id, .include_canceled = canceled};
    store_contract_filter_t dealt = {.dealer_tenant_id = c->r->auth.tenant.id,
                                     .include_canceled = canceled};
    s = store_contract_list(c->srv->store, &own, list_one, &l);
    if (s == STORE_OK && !l.failed) s = store_contract_list(c->srv->store, &dealt, list_one, &l);
  } else {
    json_decref(l.arr);
    api_problem(c->r, 404, "no such API resource");
    return;
  }
  if (s != STORE_OK || l.failed) {
    json_decref(l.arr);
    api_respond_store(c, s == STORE_OK ? STORE_ERROR : s, "contract", NULL);
    return;
  }
  api_respond(c, 200, json_pack("{s:o}", "contracts", l.arr));
}

/* The customer tenant of a parsed contract the caller may write into *t
 * (its owner into *owner); false has responded. */
static bool writable_tenant(api_ctx_t *c, const contract_input_t *in, nimbus_tenant_t *t,
                            nimbus_id_t *owner) {
  store_status_t s = store_tenant_get_by_name(c->srv->store, in->tenant, t);
  if (s == STORE_OK && api_tenant_name_reserved(t->name)) s = STORE_NOT_FOUND;
  contract_access_t a = s == STORE_OK ? caller_access(c, t->id) : CONTRACT_ACCESS_NONE;
  if (s == STORE_ERROR) {
    api_respond_store(c, s, "tenant", NULL);
    return false;
  }
  if (a < CONTRACT_ACCESS_WRITE) {
    if (a == CONTRACT_ACCESS_READ)
      api_problem(c->r, 403, "the customer's admins read their contracts; the dealer writes them");
    else
      api_problem_with(c, 400, "Bad Request", "no tenant you may write contracts for", "member",
                       json_string("tenant"));
    return false;
  }
  *owner = c->r->auth.tenant.id; /* the operator's system tenant, or the dealer */
  return true;
}

void api_contracts_create(api_ctx_t *c) {
  contract_input_t *in = calloc(1, sizeof *in);
  if (!in) {
    api_problem(c->r, 500, "out of memory");
    return;
  }
  contract_error_t e;
  nimbus_tenant_t t;
  nimbus_id_t owner = 0;
  if (!contract_parse(c->body, "", true, in, &e)) {
    respond_error(c, &e);
    goto done;
  }
  if (!writable_tenant(c, in, &t, &owner)) goto done;
  if (!contract_check_refs(c->srv->store, t.id, owner, in, &e)) {
    respond_error(c, &e);
    goto done;
  }
  in->rec.tenant_id = t.id;
  in->rec.owner_tenant_id = owner;
  in->rec.revision = 1;
  api_audit_t au;
  const store_audit_t *a =
      api_audit_of(c, &au, "contract.create", "name=%s revision=1", in->rec.name);
  au.rec.tenant_id = t.id;
  au.rec.id_key = "id";
  store_status_t s = store_contract_insert(c->srv->store, &in->rec, a);
  if (s == STORE_CONFLICT) {
    api_problem(c->r, 409, "the tenant has a contract named '%s', or the external id is taken",
                in->rec.name);
    goto done;
  }
  if (s != STORE_OK) {
    api_respond_store(c, s, "contract", NULL);
    goto done;
  }
  log_event(LOG_INFO, c->r->id, "contract created", "tenant", t.name, "contract", in->rec.name,
            "id", LOG_INT(in->rec.id), "actor", c->actor, (char *)NULL);
  store_contract_get(c->srv->store, in->rec.id, &in->rec); /* names joined */
  char location[64];
  snprintf(location, sizeof location, "/api/v1/contracts/%lld", (long long)in->rec.id);
  http_response_header(c->r, "Location", location);
  respond_contract(c, 201, &in->rec);
done:
  free(in);
}

void api_contract_get(api_ctx_t *c) {
  nimbus_contract_t *k = malloc(sizeof *k);
  if (!k) {
    api_problem(c->r, 500, "out of memory");
    return;
  }
  if (load(c, k, CONTRACT_ACCESS_READ)) respond_contract(c, 200, k);
  free(k);
}

/* Write next (a changed copy of old) with the revision rule or a forced
 * new revision, audited as action; answers 200 or the error. */
static void write_change(api_ctx_t *c, nimbus_contract_t *old, nimbus_contract_t *next,
                         bool force_revision, const char *action) {
  next->revision = force_revision ? old->revision + 1 : contract_revision_next(old, next);
  api_audit_t au;
  const store_audit_t *a = api_audit_of(c, &au, action, "id=%lld name=%s revision=%lld",
                                        (long long)old->id, next->name, (long long)next->revision);
  au.rec.tenant_id = old->tenant_id;
  store_status_t s = store_contract_update(c->srv->store, next, a);
  if (s == STORE_CONFLICT) {
    api_problem(c->r, 409, "the contract changed meanwhile, or its name is taken: read it again");
    return;
  }
  if (s != STORE_OK) {
    api_respond_store(c, s, "contract", NULL);
    return;
  }
  log_event(LOG_INFO, c->r->id, "contract changed", "contract", next->name, "id", LOG_INT(next->id),
            "revision", LOG_INT(next->revision), "action", action, "actor", c->actor, (char *)NULL);
  store_contract_get(c->srv->store, next->id, next);
  respond_contract(c, 200, next);
}

void api_contract_update(api_ctx_t *c) {
  nimbus_contract_t *old = malloc(sizeof *old);
  contract_input_t *in = calloc(1, sizeof *in);
  contract_error_t e;
  if (!old || !in) {
    api_problem(c->r, 500, "out of memory");
    goto done;
  }
  if (!load(c, old, CONTRACT_ACCESS_WRITE)) goto done;
  if (old->canceled) {
    api_problem(c->r, 409, "the contract is canceled");
    goto done;
  }
  if (!contract_parse(c->body, "", false, in, &e)) {
    respond_error(c, &e);
    goto done;
  }
  if (in->tenant[0] && strcmp(in->tenant, old->tenant_name)) {
    api_problem_with(c, 400, "Bad Request", "a contract stays with its tenant", "member",
                     json_string("tenant"));
    goto done;
  }
  if (!contract_check_refs(c->srv->store, old->tenant_id, old->owner_tenant_id, in, &e)) {
    respond_error(c, &e);
    goto done;
  }
  nimbus_contract_t *next = &in->rec;
  next->id = old->id;
  next->tenant_id = old->tenant_id;
  next->owner_tenant_id = old->owner_tenant_id;
  next->version = old->version;
  write_change(c, old, next, false, "contract.update");
done:
  free(old);
  free(in);
}

void api_contract_renew(api_ctx_t *c) {
  static const char *const fields[] = {"end_at", "items", NULL};
  nimbus_contract_t *old = malloc(sizeof *old);
  contract_input_t *in = calloc(1, sizeof *in);
  contract_error_t e = {0};
  if (!old || !in) {
    api_problem(c->r, 500, "out of memory");
    goto done;
  }
  if (!load(c, old, CONTRACT_ACCESS_WRITE) || !api_body_only(c, fields)) goto done;
  if (old->canceled) {
    api_problem(c->r, 409, "the contract is canceled");
    goto done;
  }
  in->rec = *old;
  const char *end = json_string_value(json_object_get(c->body, "end_at"));
  if (!end || !contract_time_parse(end, &in->rec.end_at) || in->rec.end_at <= old->start_at) {
    api_problem_with(c, 400, "Bad Request",
                     "an RFC 3339 UTC time (YYYY-MM-DDTHH:MM:SSZ) after the start is required",
                     "member", json_string("end_at"));
    goto done;
  }
  json_t *items = json_object_get(c->body, "items");
  if (items) {
    if (!contract_parse_items(items, "", in, &e)) {
      respond_error(c, &e);
      goto done;
    }
  } else {
    json_t *stored = json_loads(old->items_json, 0, NULL);
    bool ok = stored && contract_parse_items(stored, "", in, &e);
    json_decref(stored);
    if (!ok) {
      api_problem(c->r, 500, "the stored items cannot be read");
      goto done;
    }
  }
  in->nprinters = 0; /* the printers were checked when they were set */
  if (!contract_check_refs(c->srv->store, old->tenant_id, old->owner_tenant_id, in, &e)) {
    respond_error(c, &e);
    goto done;
  }
  write_change(c, old, &in->rec, true, "contract.renew");
done:
  free(old);
  free(in);
}

void api_contract_cancel(api_ctx_t *c) {
  nimbus_contract_t *k = malloc(sizeof *k);
  if (!k) {
    api_problem(c->r, 500, "out of memory");
    return;
  }
  if (!load(c, k, CONTRACT_ACCESS_WRITE)) goto done;
  api_audit_t au;
  const store_audit_t *a =
      api_audit_of(c, &au, "contract.cancel", "id=%lld name=%s", (long long)k->id, k->name);
  au.rec.tenant_id = k->tenant_id;
  store_status_t s = store_contract_cancel(c->srv->store, k->id, (int64_t)time(NULL), a);
  if (s == STORE_CONFLICT) {
    api_problem(c->r, 409, "the contract is canceled already");
    goto done;
  }
  if (s != STORE_OK || store_contract_get(c->srv->store, k->id, k) != STORE_OK) {
    api_respond_store(c, s == STORE_OK ? STORE_ERROR : s, "contract", NULL);
    goto done;
  }
  log_event(LOG_INFO, c->r->id, "contract canceled", "contract", k->name, "id", LOG_INT(k->id),
            "actor", c->actor, (char *)NULL);
  respond_contract(c, 200, k);
done:
  free(k);
}

/* ---- dealer grants (operators) ---- */

/* The customer tenant of the path into *t; false has responded. */
static bool customer_of_path(api_ctx_t *c, nimbus_tenant_t *t) {
  store_status_t s = store_tenant_get_by_name(c->srv->store, c->param, t);
  if (s == STORE_OK && api_tenant_name_reserved(t->name)) s = STORE_NOT_FOUND;
  if (s != STORE_OK) {
    api_respond_store(c, s, "tenant", c->param);
    return false;
  }
  return true;
}

void api_tenant_dealer_get(api_ctx_t *c) {
  nimbus_tenant_t t, d;
  nimbus_id_t dealer = 0;
  if (!customer_of_path(c, &t)) return;
  store_status_t s = store_dealer_get(c->srv->store, t.id, &dealer);
  if (s == STORE_OK) s = store_tenant_get(c->srv->store, dealer, &d);
  if (s != STORE_OK) {
    if (s == STORE_NOT_FOUND)
      api_problem(c->r, 404, "tenant '%s' has no dealer", t.name);
    else
      api_respond_store(c, s, "dealer", NULL);
    return;
  }
  api_respond(c, 200, json_pack("{s:s, s:s}", "tenant", t.name, "dealer", d.name));
}

void api_tenant_dealer_set(api_ctx_t *c) {
  static const char *const fields[] = {"dealer", NULL};
  nimbus_tenant_t t, d;
  const char *name = NULL;
  if (!customer_of_path(c, &t) || !api_body_only(c, fields) ||
      !api_body_string(c, "dealer", true, NIMBUS_NAME_MAX - 1, &name))
    return;
  store_status_t s =
      api_name_valid(name) ? store_tenant_get_by_name(c->srv->store, name, &d) : STORE_NOT_FOUND;
  if (s == STORE_OK && (api_tenant_name_reserved(d.name) || d.id == t.id)) s = STORE_NOT_FOUND;
  if (s != STORE_OK) {
    if (s == STORE_NOT_FOUND)
      api_problem_with(c, 400, "Bad Request", "no other tenant of that name", "member",
                       json_string("dealer"));
    else
      api_respond_store(c, s, "tenant", NULL);
    return;
  }
  api_audit_t au;
  const store_audit_t *a =
      api_audit_of(c, &au, "dealer.grant", "tenant=%s dealer=%s", t.name, d.name);
  au.rec.tenant_id = t.id;
  s = store_dealer_set(c->srv->store, t.id, d.id, a);
  if (s != STORE_OK) {
    api_respond_store(c, s, "tenant", NULL);
    return;
  }
  log_event(LOG_INFO, c->r->id, "dealer granted", "tenant", t.name, "dealer", d.name, "actor",
            c->actor, (char *)NULL);
  api_respond(c, 200, json_pack("{s:s, s:s}", "tenant", t.name, "dealer", d.name));
}

void api_tenant_dealer_delete(api_ctx_t *c) {
  nimbus_tenant_t t;
  if (!customer_of_path(c, &t)) return;
  api_audit_t au;
  const store_audit_t *a = api_audit_of(c, &au, "dealer.revoke", "tenant=%s", t.name);
  au.rec.tenant_id = t.id;
  store_status_t s = store_dealer_delete(c->srv->store, t.id, a);
  if (s == STORE_NOT_FOUND) {
    api_problem(c->r, 404, "tenant '%s' has no dealer", t.name);
    return;
  }
  if (s != STORE_OK) {
    api_respond_store(c, s, "dealer", NULL);
    return;
  }
  api_respond_no_content(c);
}
