/*
 * test-store-contracts.c: the store contract for contracts, contract
 * webhook events, dealer grants and packages (store_contract_*,
 * store_dealer_*, store_package_*; docs/PROVISIONING.md §1–§4) on every
 * backend: unique names and external ids, the compare-and-set update, the
 * list filters (tenant, owner, dealer, canceled), cancel, the due list,
 * the event recorded with its change in one transaction (a duplicate
 * changes nothing, a failed change records no event), dealer grants, and
 * packages that cannot go while a live contract names them.
 * `test-store-contracts pg` runs it on PostgreSQL (store-fixture.h).
 */
#include "store-fixture.h"

static nimbus_contract_t *contract_of(nimbus_id_t tenant, nimbus_id_t owner, const char *name) {
  nimbus_contract_t *c = calloc(1, sizeof *c);
  assert_non_null(c);
  c->tenant_id = tenant;
  c->owner_tenant_id = owner;
  snprintf(c->name, sizeof c->name, "%s", name);
  c->start_at = 1000;
  c->end_at = 5000;
  snprintf(c->printers_json, sizeof c->printers_json, "\"all\"");
  snprintf(c->settings_json, sizeof c->settings_json, "{}");
  snprintf(c->items_json, sizeof c->items_json, "[{\"kind\":\"backup\"}]");
  c->revision = 1;
  return c;
}

typedef struct {
  nimbus_id_t ids[8];
  char names[8][NIMBUS_CONTRACT_NAME_MAX];
  int n;
} seen_t;

static bool collect(const nimbus_contract_t *c, void *ctx) {
  seen_t *s = ctx;
  if (s->n < 8) {
    snprintf(s->names[s->n], sizeof s->names[0], "%s", c->name);
    s->ids[s->n++] = c->id;
  }
  return true;
}

static int list(store_t *st, nimbus_id_t tenant, nimbus_id_t owner, nimbus_id_t dealer,
                bool canceled, seen_t *out) {
  memset(out, 0, sizeof *out);
  store_contract_filter_t f = {.tenant_id = tenant,
                               .owner_tenant_id = owner,
                               .dealer_tenant_id = dealer,
                               .include_canceled = canceled};
  assert_int_equal(store_contract_list(st, &f, collect, out), STORE_OK);
  return out->n;
}

typedef struct {
  nimbus_id_t customer[4];
  int n;
} dealt_t;

static bool collect_dealer(nimbus_id_t customer, nimbus_id_t dealer, void *ctx) {
  dealt_t *d = ctx;
  (void)dealer;
  if (d->n < 4) d->customer[d->n++] = customer;
  return true;
}

static void test_contracts(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t sys = make_tenant(st, "sys"), acme = make_tenant(st, "acme");
  nimbus_id_t beta = make_tenant(st, "beta"), dealer = make_tenant(st, "dealerco");

  nimbus_contract_t *a = contract_of(acme, sys, "acme-2027");
  snprintf(a->external_id, sizeof a->external_id, "CRM-1");
  store_audit_t au = {.tenant_id = acme,
                      .actor = "op@sys",
                      .action = "contract.create",
                      .detail = "name=acme-2027",
                      .id_key = "id"};
  assert_int_equal(store_contract_insert(st, a, &au), STORE_OK);
  assert_true(a->id > 0);
  assert_int_equal(a->version, 1);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM audit WHERE action = 'contract.create'"), 1);

  /* unique (tenant, name) and (owner, external id); "" is no external id */
  nimbus_contract_t *dup = contract_of(acme, dealer, "acme-2027");
  assert_int_equal(store_contract_insert(st, dup, NULL), STORE_CONFLICT);
  assert_int_equal(dup->id, 0);
  snprintf(dup->name, sizeof dup->name, "other");
  snprintf(dup->external_id, sizeof dup->external_id, "CRM-1");
  dup->owner_tenant_id = sys;
  assert_int_equal(store_contract_insert(st, dup, NULL), STORE_CONFLICT);
  dup->owner_tenant_id = dealer; /* the same external id of another owner is fine */
  assert_int_equal(store_contract_insert(st, dup, NULL), STORE_OK);
  nimbus_contract_t *b = contract_of(beta, sys, "beta-1");
  b->start_at = 6000;
  b->end_at = 9000;
  assert_int_equal(store_contract_insert(st, b, NULL), STORE_OK);
  nimbus_contract_t *c2 = contract_of(beta, sys, "beta-2");
  assert_int_equal(store_contract_insert(st, c2, NULL), STORE_OK);

  nimbus_contract_t *got = calloc(1, sizeof *got);
  assert_int_equal(store_contract_get(st, a->id, got), STORE_OK);
  assert_string_equal(got->name, "acme-2027");
  assert_string_equal(got->tenant_name, "acme");
  assert_string_equal(got->owner_name, "sys");
  assert_string_equal(got->external_id, "CRM-1");
  assert_string_equal(got->items_json, "[{\"kind\":\"backup\"}]");
  assert_int_equal(got->revision, 1);
  assert_false(got->canceled);
  assert_int_equal(store_contract_get_by_name(st, acme, "acme-2027", got), STORE_OK);
  assert_int_equal(got->id, a->id);
  assert_int_equal(store_contract_get_by_name(st, beta, "acme-2027", got), STORE_NOT_FOUND);
  assert_int_equal(store_contract_get_by_external(st, sys, "CRM-1", got), STORE_OK);
  assert_int_equal(got->id, a->id);
  assert_int_equal(store_contract_get_by_external(st, dealer, "CRM-1", got), STORE_OK);
  assert_int_equal(got->id, dup->id);
  assert_int_equal(store_contract_get_by_external(st, beta, "CRM-1", got), STORE_NOT_FOUND);
  assert_int_equal(store_contract_get(st, 999999, got), STORE_NOT_FOUND);

  /* update: compare-and-set on version; the revision is the caller's */
  assert_int_equal(store_contract_get(st, a->id, got), STORE_OK);
  got->revision = 2;
  got->end_at = 7000;
  snprintf(got->items_json, sizeof got->items_json, "[]");
  assert_int_equal(store_contract_update(st, got, NULL), STORE_OK);
  assert_int_equal(got->version, 2);
  a->revision = 5; /* stale (version 1) */
  assert_int_equal(store_contract_update(st, a, NULL), STORE_CONFLICT);
  assert_int_equal(a->version, 1);
  assert_int_equal(store_contract_get(st, a->id, a), STORE_OK);
  assert_int_equal(a->revision, 2);
  assert_int_equal(a->end_at, 7000);
  assert_string_equal(a->items_json, "[]");
  snprintf(a->name, sizeof a->name, "other"); /* dup's name is acme's "other" */
  assert_int_equal(store_contract_update(st, a, NULL), STORE_CONFLICT);
  snprintf(a->name, sizeof a->name, "acme-2027");
  nimbus_contract_t ghost_id = {0};
  ghost_id.id = 999999;
  nimbus_contract_t *ghost = calloc(1, sizeof *ghost);
  *ghost = *a;
  ghost->id = ghost_id.id;
  assert_int_equal(store_contract_update(st, ghost, NULL), STORE_NOT_FOUND);

  /* lists: by tenant, owner, dealer; dealer grants */
  seen_t s;
  assert_int_equal(list(st, 0, 0, 0, false, &s), 4);
  assert_string_equal(s.names[0], "acme-2027"); /* tenant name, then contract name */
  assert_string_equal(s.names[1], "other");
  assert_string_equal(s.names[2], "beta-1");
  assert_int_equal(list(st, acme, 0, 0, false, &s), 2);
  assert_int_equal(list(st, 0, dealer, 0, false, &s), 1);
  assert_int_equal(s.ids[0], dup->id);
  assert_int_equal(list(st, 0, 0, dealer, false, &s), 0);
  nimbus_id_t d = 0;
  assert_int_equal(store_dealer_get(st, beta, &d), STORE_NOT_FOUND);
  store_audit_t ag = {.tenant_id = beta, .actor = "op@sys", .action = "dealer.grant"};
  assert_int_equal(store_dealer_set(st, beta, dealer, &ag), STORE_OK);
  assert_int_equal(store_dealer_get(st, beta, &d), STORE_OK);
  assert_int_equal(d, dealer);
  assert_int_equal(list(st, 0, 0, dealer, false, &s), 2);
  assert_int_equal(store_dealer_set(st, beta, acme, NULL), STORE_OK); /* replaced */
  assert_int_equal(store_dealer_get(st, beta, &d), STORE_OK);
  assert_int_equal(d, acme);
  assert_int_equal(list(st, 0, 0, dealer, false, &s), 0);
  assert_int_equal(store_dealer_set(st, beta, 999999, NULL), STORE_NOT_FOUND);
  dealt_t dl = {0};
  assert_int_equal(store_dealer_set(st, sys, acme, NULL), STORE_OK);
  assert_int_equal(store_dealer_list(st, acme, collect_dealer, &dl), STORE_OK);
  assert_int_equal(dl.n, 2);
  assert_int_equal(dl.customer[0], sys < beta ? sys : beta);
  memset(&dl, 0, sizeof dl);
  assert_int_equal(store_dealer_list(st, dealer, collect_dealer, &dl), STORE_OK);
  assert_int_equal(dl.n, 0);
  assert_int_equal(store_dealer_delete(st, sys, NULL), STORE_OK);
  assert_int_equal(store_dealer_delete(st, beta, &ag), STORE_OK);
  assert_int_equal(store_dealer_delete(st, beta, NULL), STORE_NOT_FOUND);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM audit WHERE action = 'dealer.grant'"), 2);

  /* due: not canceled, start <= now < end */
  assert_int_equal(list(st, 0, 0, 0, false, &s), 4);
  memset(&s, 0, sizeof s);
  assert_int_equal(store_contract_due_each(st, 6500, collect, &s), STORE_OK);
  assert_int_equal(s.n, 2); /* acme-2027 (ends 7000) and beta-1 (starts 6000) */
  assert_int_equal(s.ids[0], a->id);
  assert_int_equal(s.ids[1], b->id);
  memset(&s, 0, sizeof s);
  assert_int_equal(store_contract_due_each(st, 999, collect, &s), STORE_OK);
  assert_int_equal(s.n, 0);

  /* cancel: once; out of the due list and the default list */
  store_audit_t ac = {.tenant_id = acme, .actor = "op@sys", .action = "contract.cancel"};
  assert_int_equal(store_contract_cancel(st, a->id, 6600, &ac), STORE_OK);
  assert_int_equal(store_contract_cancel(st, a->id, 6601, NULL), STORE_CONFLICT);
  assert_int_equal(store_contract_cancel(st, 999999, 6601, NULL), STORE_NOT_FOUND);
  assert_int_equal(store_contract_get(st, a->id, got), STORE_OK);
  assert_true(got->canceled);
  assert_int_equal(got->canceled_at, 6600);
  memset(&s, 0, sizeof s);
  assert_int_equal(store_contract_due_each(st, 6500, collect, &s), STORE_OK);
  assert_int_equal(s.n, 1);
  assert_int_equal(list(st, acme, 0, 0, false, &s), 1);
  assert_int_equal(list(st, acme, 0, 0, true, &s), 2);
  free(a);
  free(b);
  free(c2);
  free(dup);
  free(got);
  free(ghost);
}

static void test_contract_events(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t sys = make_tenant(st, "sys"), acme = make_tenant(st, "acme");
  nimbus_contract_t *c = contract_of(acme, sys, "crm-7");
  snprintf(c->external_id, sizeof c->external_id, "CRM-7");
  store_contract_event_t ev = {.sender = "crm", .event_id = "evt-1", .received_at = 100};
  store_audit_t au = {.tenant_id = acme, .actor = "webhook:crm", .action = "contract.create"};
  bool duplicate = true;
  nimbus_id_t id = -1;
  assert_int_equal(
      store_contract_event_apply(st, &ev, STORE_CONTRACT_EVENT_INSERT, c, &au, &duplicate, &id),
      STORE_OK);
  assert_false(duplicate);
  assert_true(c->id > 0);
  assert_int_equal(id, c->id);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM contract_webhook_events"), 1);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM audit WHERE action = 'contract.create'"), 1);

  /* the same event again: duplicate, names the contract, changes nothing */
  nimbus_contract_t *again = calloc(1, sizeof *again);
  assert_int_equal(store_contract_get(st, c->id, again), STORE_OK);
  again->revision = 9;
  assert_int_equal(
      store_contract_event_apply(st, &ev, STORE_CONTRACT_EVENT_UPDATE, again, &au, &duplicate, &id),
      STORE_OK);
  assert_true(duplicate);
  assert_int_equal(id, c->id);
  assert_int_equal(again->version, 1); /* not written */
  assert_int_equal(store_contract_get(st, c->id, again), STORE_OK);
  assert_int_equal(again->revision, 1);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM audit WHERE action = 'contract.create'"), 1);

  /* a change that fails records no event: the retry is not a duplicate */
  store_contract_event_t ev2 = {.sender = "crm", .event_id = "evt-2", .received_at = 200};
  again->revision = 2;
  again->version = 77; /* stale */
  assert_int_equal(store_contract_event_apply(st, &ev2, STORE_CONTRACT_EVENT_UPDATE, again, NULL,
                                              &duplicate, &id),
                   STORE_CONFLICT);
  assert_false(duplicate);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM contract_webhook_events"), 1);
  again->version = 1;
  assert_int_equal(store_contract_event_apply(st, &ev2, STORE_CONTRACT_EVENT_UPDATE, again, NULL,
                                              &duplicate, &id),
                   STORE_OK);
  assert_false(duplicate);
  assert_int_equal(again->version, 2);
  assert_int_equal(store_contract_get(st, c->id, again), STORE_OK);
  assert_int_equal(again->revision, 2);

  /* RECORD: only the event; the same id from another sender is another event;
   * old events are pruned on the way */
  store_contract_event_t ev3 = {
      .sender = "erp", .event_id = "evt-1", .received_at = 300, .prune_before = 150};
  assert_int_equal(store_contract_event_apply(st, &ev3, STORE_CONTRACT_EVENT_RECORD, again, NULL,
                                              &duplicate, &id),
                   STORE_OK);
  assert_false(duplicate);
  assert_int_equal(id, c->id);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM contract_webhook_events"), 2);
  assert_int_equal(
      db_int(fx, "SELECT count(*) FROM contract_webhook_events WHERE event_id = 'evt-2'"), 1);
  free(c);
  free(again);
}

static bool count_package(const nimbus_package_t *p, void *ctx) {
  (void)p;
  (*(int *)ctx)++;
  return true;
}

static void test_packages(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t sys = make_tenant(st, "sys"), acme = make_tenant(st, "acme");
  nimbus_id_t dealer = make_tenant(st, "dealerco");
  nimbus_package_t p = {.owner_tenant_id = sys, .size = 1234};
  snprintf(p.kind, sizeof p.kind, "firmware");
  snprintf(p.name, sizeof p.name, "engine");
  snprintf(p.version, sizeof p.version, "4.2.0");
  memset(p.sha256, 'a', 64);
  snprintf(p.blob_key, sizeof p.blob_key, "0123456789abcdef0123456789abcdef");
  store_audit_t au = {
      .tenant_id = sys, .actor = "op@sys", .action = "package.upload", .id_key = "id"};
  assert_int_equal(store_package_insert(st, &p, &au), STORE_OK);
  assert_true(p.id > 0);
  nimbus_package_t q = p;
  snprintf(q.kind, sizeof q.kind, "application");
  snprintf(q.blob_key, sizeof q.blob_key, "fedcba9876543210fedcba9876543210");
  q.created_at = 0;
  assert_int_equal(store_package_insert(st, &q, NULL), STORE_OK);
  nimbus_package_t bad = p;
  snprintf(bad.kind, sizeof bad.kind, "driver");
  assert_int_not_equal(store_package_insert(st, &bad, NULL), STORE_OK);

  nimbus_package_t got;
  assert_int_equal(store_package_get(st, p.id, &got), STORE_OK);
  assert_string_equal(got.kind, "firmware");
  assert_string_equal(got.version, "4.2.0");
  assert_int_equal(got.size, 1234);
  assert_int_equal(strlen(got.sha256), 64);
  assert_string_equal(got.blob_key, p.blob_key);
  int n = 0;
  assert_int_equal(store_package_list(st, sys, count_package, &n), STORE_OK);
  assert_int_equal(n, 2);
  n = 0;
  assert_int_equal(store_package_list(st, dealer, count_package, &n), STORE_OK);
  assert_int_equal(n, 0);
  bool ref = false;
  assert_int_equal(store_blob_is_referenced(st, p.blob_key, &ref), STORE_OK);
  assert_true(ref); /* the blob sweep keeps package blobs */

  /* named by a live contract: in use, not deletable */
  nimbus_contract_t *c = contract_of(acme, sys, "acme-fw");
  c->packages[0] = p.id;
  c->npackages = 1;
  assert_int_equal(store_contract_insert(st, c, NULL), STORE_OK);
  bool used = false;
  assert_int_equal(store_package_in_use(st, p.id, 2000, &used), STORE_OK);
  assert_true(used);
  assert_int_equal(store_package_in_use(st, p.id, 5000, &used), STORE_OK);
  assert_false(used); /* ended at 5000 */
  assert_int_equal(store_package_in_use(st, q.id, 2000, &used), STORE_OK);
  assert_false(used);
  assert_int_equal(store_package_delete(st, sys, p.id, 2000, NULL), STORE_CONFLICT);
  assert_int_equal(store_package_delete(st, dealer, p.id, 2000, NULL), STORE_NOT_FOUND);
  /* the update rewrites the list: now q, not p */
  c->packages[0] = q.id;
  assert_int_equal(store_contract_update(st, c, NULL), STORE_OK);
  assert_int_equal(store_package_in_use(st, p.id, 2000, &used), STORE_OK);
  assert_false(used);
  assert_int_equal(store_package_in_use(st, q.id, 2000, &used), STORE_OK);
  assert_true(used);
  store_audit_t ad = {.tenant_id = sys, .actor = "op@sys", .action = "package.delete"};
  assert_int_equal(store_package_delete(st, sys, p.id, 2000, &ad), STORE_OK);
  assert_int_equal(store_package_get(st, p.id, &got), STORE_NOT_FOUND);
  assert_int_equal(store_package_delete(st, sys, p.id, 2000, NULL), STORE_NOT_FOUND);
  /* canceled: no longer in use */
  assert_int_equal(store_contract_cancel(st, c->id, 2100, NULL), STORE_OK);
  assert_int_equal(store_package_delete(st, sys, q.id, 2200, NULL), STORE_OK);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM contract_packages"), 0);
  free(c);
}

int main(int argc, char **argv) {
  log_set_level(LOG_ERROR);
  if (argc > 1 && !strcmp(argv[1], "pg")) {
    int rc = fixture_use_pg();
    if (rc) return rc;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_contracts, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_contract_events, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_packages, setup_direct, teardown),
  };
  return cmocka_run_group_tests_name("store contract: contracts, dealers, packages", tests, NULL,
                                     NULL);
}
