/*
 * api-queues.c: /api/v1/queues of the tenant acted on.  Everyone in the
 * tenant may read them (to know where to print); admins change them.
 *
 *   GET    /queues          → {queues:[queue...]}
 *   POST   /queues          admins, {name, description?,
 *                           release_immediately?, allow_anonymous?,
 *                           release_scope?} → 201
 *   GET    /queues/{name}   → queue
 *   PATCH  /queues/{name}   admins, {description?, release_immediately?,
 *                           allow_anonymous?, release_scope?} → queue
 *
 * release_scope: which held jobs a printer's panel lists to a user:
 * "this-printer" (default: those submitted through that printer) or
 * "follow-me" (all of the user's held jobs in the queue).
 *   DELETE /queues/{name}   admins → 204; 409 while it has pending jobs
 *
 * POST and PATCH also take price_table (a price table's name, or null)
 * and payment ("none", "at-printer" or null): how jobs printed from the
 * queue are charged unless their printer says otherwise (issue 12).
 *
 * A queue's printer_uri is where IPP clients print to it; it is built
 * from the Host the client used (api_queue_json).
 */
#include <stdlib.h>
#include <string.h>

#include "api-private.h"
#include "log.h"

/* The queues are collected first: a queue's record reads its price
 * table's name from the store (api_rows_t). */
static bool queue_list_cb(const nimbus_queue_t *q, void *ctx) {
  return api_rows_add(ctx, q);
}

void api_queues_list(api_ctx_t *c) {
  api_list_t l = {c, json_array(), false};
  api_rows_t qs = {.size = sizeof(nimbus_queue_t)};
  store_status_t s =
      l.arr ? store_queue_list(c->srv->store, c->tenant.id, queue_list_cb, &qs) : STORE_OK;
  l.failed = qs.failed;
  const nimbus_queue_t *q = qs.v;
  for (size_t i = 0; s == STORE_OK && !l.failed && i < qs.n; i++)
    api_list_append(&l, api_queue_json(c, &q[i]));
  api_rows_free(&qs);
  api_list_respond(&l, s, "queues", "queue");
}

/* Apply the optional members of the body to q; false has responded. */
static bool queue_apply_body(api_ctx_t *c, nimbus_queue_t *q) {
  const char *description;
  bool v, present;
  if (!api_body_string(c, "description", false, NIMBUS_TEXT_MAX - 1, &description)) return false;
  if (description) {
    if (!api_text_valid(description, NIMBUS_TEXT_MAX - 1)) {
      api_problem(c->r, 400, "'description' must not contain control characters");
      return false;
    }
    snprintf(q->description, sizeof q->description, "%s", description);
  }
  if (!api_body_bool(c, "release_immediately", &v, &present)) return false;
  if (present) q->release_immediately = v;
  if (!api_body_bool(c, "allow_anonymous", &v, &present)) return false;
  if (present) q->allow_anonymous = v;
  const char *scope;
  if (!api_body_string(c, "release_scope", false, 16, &scope)) return false;
  if (scope) {
    if (strcmp(scope, "this-printer") != 0 && strcmp(scope, "follow-me") != 0) {
      api_problem(c->r, 400, "'release_scope' must be \"this-printer\" or \"follow-me\"");
      return false;
    }
    snprintf(q->release_scope, sizeof q->release_scope, "%s", scope);
  }
  return true;
}

/* Write q->pricing (audited). */
static store_status_t queue_set_pricing(api_ctx_t *c, const nimbus_queue_t *q) {
  api_audit_t a;
  return store_queue_set_pricing(
      c->srv->store, c->tenant.id, q->id, &q->pricing,
      api_audit_of(c, &a, "queue-pricing-set", "%s table_id=%lld payment=%s", q->name,
                   (long long)q->pricing.price_table_id,
                   q->pricing.payment[0] ? q->pricing.payment : "-"));
}

void api_queues_create(api_ctx_t *c) {
  static const char *const fields[] = {"name",
                                       "description",
                                       "release_immediately",
                                       "allow_anonymous",
                                       "release_scope",
                                       "price_table",
                                       "payment",
                                       NULL};
  nimbus_queue_t q;
  const char *name;
  bool pricing_changed;
  memset(&q, 0, sizeof q);
  snprintf(q.release_scope, sizeof q.release_scope, "this-printer");
  if (!api_body_only(c, fields) || !api_body_string(c, "name", true, 255, &name)) return;
  if (!api_name_valid(name)) {
    api_problem(c->r, 400, "'name' must be 1 to 63 of A-Z a-z 0-9 . _ -, not starting with . or -");
    return;
  }
  q.tenant_id = c->tenant.id;
  snprintf(q.name, sizeof q.name, "%s", name);
  if (!queue_apply_body(c, &q) || !api_pricing_from_body(c, &q.pricing, &pricing_changed)) return;

  store_status_t s = store_queue_insert(c->srv->store, &q);
  if (s == STORE_OK && pricing_changed) s = queue_set_pricing(c, &q);
  if (s == STORE_CONFLICT) {
    api_problem(c->r, 409, "a queue named '%s' already exists", q.name);
    return;
  }
  if (s != STORE_OK) {
    api_respond_store(c, s, "queue", NULL);
    return;
  }
  log_event(LOG_INFO, c->r->id, "queue created", "tenant", c->tenant.name, "queue", q.name, "by",
            c->actor, (char *)NULL);
  api_respond(c, 201, api_queue_json(c, &q));
}

void api_queue_get(api_ctx_t *c) {
  nimbus_queue_t q;
  store_status_t s = store_queue_get_by_name(c->srv->store, c->tenant.id, c->param, &q);
  if (s != STORE_OK) {
    api_respond_store(c, s, "queue", c->param);
    return;
  }
  api_respond(c, 200, api_queue_json(c, &q));
}

void api_queue_update(api_ctx_t *c) {
  static const char *const fields[] = {"name",
                                       "description",
                                       "release_immediately",
                                       "allow_anonymous",
                                       "release_scope",
                                       "price_table",
                                       "payment",
                                       NULL};
  nimbus_queue_t q;
  const char *name;
  bool pricing_changed;
  if (!api_body_only(c, fields) || !api_body_string(c, "name", false, 255, &name)) return;
  store_status_t s = store_queue_get_by_name(c->srv->store, c->tenant.id, c->param, &q);
  if (s != STORE_OK) {
    api_respond_store(c, s, "queue", c->param);
    return;
  }
  if (name && strcmp(name, q.name) != 0) {
    api_problem(c->r, 400, "'name': a queue cannot be renamed");
    return;
  }
  if (!queue_apply_body(c, &q) || !api_pricing_from_body(c, &q.pricing, &pricing_changed)) return;
  s = store_queue_update(c->srv->store, &q);
  if (s == STORE_OK && pricing_changed) s = queue_set_pricing(c, &q);
  if (s != STORE_OK) {
    api_respond_store(c, s, "queue", c->param);
    return;
  }
  log_event(LOG_INFO, c->r->id, "queue updated", "tenant", c->tenant.name, "queue", q.name, "by",
            c->actor, (char *)NULL);
  api_respond(c, 200, api_queue_json(c, &q));
}

void api_queue_delete(api_ctx_t *c) {
  nimbus_queue_t q;
  store_status_t s = store_queue_get_by_name(c->srv->store, c->tenant.id, c->param, &q);
  if (s == STORE_OK) s = store_queue_delete(c->srv->store, c->tenant.id, q.id);
  if (s == STORE_CONFLICT) {
    api_problem(c->r, 409, "the queue '%s' still has pending jobs", c->param);
    return;
  }
  if (s != STORE_OK) {
    api_respond_store(c, s, "queue", c->param);
    return;
  }
  int removed = intake_sweep_orphans(c->srv, false); /* its finished jobs' documents */
  log_event(LOG_INFO, c->r->id, "queue deleted", "tenant", c->tenant.name, "queue", q.name, "by",
            c->actor, "blobs_removed", LOG_INT(removed), (char *)NULL);
  api_respond_no_content(c);
}
