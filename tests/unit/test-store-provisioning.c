/*
 * test-store-provisioning.c: the store contract for provisioning runs,
 * steps and device inventory (store_prov_*, store_inventory_*;
 * docs/PROVISIONING.md §5–§8) on every backend: a run per (contract,
 * revision) created with its steps at most once, the compare-and-set step
 * transition with its history row, the head steps (one per printer and
 * run, blocked behind an unfinished earlier step, next_at respected), the
 * timed-out sent steps, the run's end, coverage widening, the package
 * check and the inventory.  `test-store-provisioning pg` runs it on
 * PostgreSQL (store-fixture.h).
 */
#include "store-fixture.h"

static nimbus_prov_step_t step_of(nimbus_id_t tenant, nimbus_id_t device, int seq, const char *kind,
                                  const char *name) {
  nimbus_prov_step_t s;
  memset(&s, 0, sizeof s);
  s.tenant_id = tenant;
  s.device_id = device;
  s.seq = seq;
  snprintf(s.kind, sizeof s.kind, "%s", kind);
  snprintf(s.item_name, sizeof s.item_name, "%s", name);
  snprintf(s.target_json, sizeof s.target_json, "{\"version\":\"%d.0\"}", seq);
  return s;
}

typedef struct {
  nimbus_prov_step_t s[16];
  int n;
} steps_t;

static bool collect_step(const nimbus_prov_step_t *s, void *ctx) {
  steps_t *c = ctx;
  if (c->n < 16) c->s[c->n++] = *s;
  return true;
}

static int heads(store_t *st, nimbus_id_t device, int64_t now, steps_t *out) {
  memset(out, 0, sizeof *out);
  assert_int_equal(store_prov_step_heads(st, device, now, 16, collect_step, out), STORE_OK);
  return out->n;
}

typedef struct {
  nimbus_id_t ids[8];
  int n;
} ids_t;

static bool collect_id(nimbus_id_t id, void *ctx) {
  ids_t *c = ctx;
  if (c->n < 8) c->ids[c->n++] = id;
  return true;
}

static bool collect_run(const nimbus_prov_run_t *r, void *ctx) {
  ids_t *c = ctx;
  if (c->n < 8) c->ids[c->n++] = r->id;
  return true;
}

/* Move s from its current state to `to` (attempts as given). */
static store_status_t move(store_t *st, nimbus_prov_step_t *s, nimbus_step_state_t to, int attempts,
                           int64_t now) {
  nimbus_prov_step_t n = *s;
  n.state = to;
  n.attempts = attempts;
  if (to == NIMBUS_STEP_SENT) n.sent_at = now;
  store_status_t status = store_prov_step_transition(st, &n, s->state, s->attempts, "test", now);
  if (status == STORE_OK) *s = n;
  return status;
}

static void test_provisioning_store(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t acme = make_tenant(st, "acme"), beta = make_tenant(st, "beta");
  nimbus_device_t p1 = make_device(st, acme, "lobby", NULL, 0, 1);
  nimbus_device_t p2 = make_device(st, acme, "floor2", NULL, 0, 2);
  nimbus_device_t p3 = make_device(st, beta, "other", NULL, 0, 3);
  const int64_t now = 100000;

  /* a run with its steps and coverage, once per (contract, revision) */
  nimbus_prov_step_t steps[5] = {
      step_of(acme, p1.id, 1, "settings", "office"),
      step_of(acme, p1.id, 2, "firmware", "engine"),
      step_of(acme, p1.id, 3, "application", "scan2cloud"),
      step_of(acme, p2.id, 1, "settings", "office"),
      step_of(acme, p2.id, 2, "backup", "backup"),
  };
  steps[1].package_id = 12;
  nimbus_id_t covered[2] = {p1.id, p2.id};
  nimbus_prov_run_t run = {.tenant_id = acme, .contract_id = 7, .revision = 1, .created_at = now};
  snprintf(run.kind, sizeof run.kind, "start");
  bool created = false;
  assert_int_equal(store_prov_run_create(st, &run, covered, 2, steps, 5, &created), STORE_OK);
  assert_true(created);
  assert_true(run.id > 0);
  assert_int_equal(run.state, NIMBUS_RUN_RUNNING);
  for (int i = 0; i < 5; i++) {
    assert_true(steps[i].id > 0);
    assert_int_equal(steps[i].run_id, run.id);
  }
  assert_int_equal(db_int(fx, "SELECT count(*) FROM provisioning_events"), 5);

  /* the same event again: nothing written, the existing run returned */
  nimbus_prov_step_t again[1] = {step_of(acme, p1.id, 1, "settings", "x")};
  nimbus_prov_run_t run2 = {.tenant_id = acme, .contract_id = 7, .revision = 1};
  snprintf(run2.kind, sizeof run2.kind, "renewal");
  assert_int_equal(store_prov_run_create(st, &run2, covered, 2, again, 1, &created), STORE_OK);
  assert_false(created);
  assert_int_equal(run2.id, run.id);
  assert_string_equal(run2.kind, "start");
  assert_int_equal(db_int(fx, "SELECT count(*) FROM provisioning_steps"), 5);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM provisioning_runs"), 1);

  /* get, list, tenant scoping */
  nimbus_prov_run_t got;
  assert_int_equal(store_prov_run_get(st, acme, run.id, &got), STORE_OK);
  assert_int_equal(got.contract_id, 7);
  assert_int_equal(store_prov_run_get(st, beta, run.id, &got), STORE_NOT_FOUND);
  assert_int_equal(store_prov_run_get(st, 0, run.id, &got), STORE_OK);
  steps_t all;
  memset(&all, 0, sizeof all);
  assert_int_equal(store_prov_step_list(st, acme, run.id, collect_step, &all), STORE_OK);
  assert_int_equal(all.n, 5);
  assert_int_equal(all.s[0].device_id, p1.id < p2.id ? p1.id : p2.id);
  assert_int_equal(all.s[0].contract_id, 7);
  memset(&all, 0, sizeof all);
  assert_int_equal(store_prov_step_list(st, beta, run.id, collect_step, &all), STORE_OK);
  assert_int_equal(all.n, 0);
  nimbus_prov_step_t one;
  assert_int_equal(store_prov_step_get(st, acme, steps[1].id, &one), STORE_OK);
  assert_string_equal(one.kind, "firmware");
  assert_string_equal(one.target_json, "{\"version\":\"2.0\"}");
  assert_int_equal(one.package_id, 12);
  assert_int_equal(store_prov_step_get(st, beta, steps[1].id, &one), STORE_NOT_FOUND);

  /* heads: the first step of each printer only */
  steps_t h;
  assert_int_equal(heads(st, 0, now, &h), 2);
  assert_int_equal(heads(st, p1.id, now, &h), 1);
  assert_int_equal(h.s[0].id, steps[0].id);
  assert_int_equal(heads(st, p3.id, now, &h), 0);

  /* compare-and-set: from the state read, with a history row */
  assert_int_equal(move(st, &steps[0], NIMBUS_STEP_SENT, 1, now), STORE_OK);
  nimbus_prov_step_t stale = steps[0];
  stale.state = NIMBUS_STEP_PLANNED;
  stale.attempts = 0;
  assert_int_equal(move(st, &stale, NIMBUS_STEP_SENT, 1, now), STORE_CONFLICT);
  nimbus_prov_step_t ghost = steps[0];
  ghost.id = 999999;
  assert_int_equal(move(st, &ghost, NIMBUS_STEP_SENT, 1, now), STORE_NOT_FOUND);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM provisioning_events"), 6);
  /* a sent head is still the head (served again), the next waits */
  assert_int_equal(heads(st, p1.id, now, &h), 1);
  assert_int_equal(h.s[0].id, steps[0].id);
  assert_int_equal(h.s[0].state, NIMBUS_STEP_SENT);

  /* timed out: sent at or before */
  steps_t t;
  memset(&t, 0, sizeof t);
  assert_int_equal(store_prov_step_timed_out(st, now - 1, 16, collect_step, &t), STORE_OK);
  assert_int_equal(t.n, 0);
  assert_int_equal(store_prov_step_timed_out(st, now, 16, collect_step, &t), STORE_OK);
  assert_int_equal(t.n, 1);

  /* confirmed: the next step is the head */
  assert_int_equal(move(st, &steps[0], NIMBUS_STEP_CONFIRMED, 1, now), STORE_OK);
  assert_int_equal(heads(st, p1.id, now, &h), 1);
  assert_int_equal(h.s[0].id, steps[1].id);
  /* back to planned with a later next_at: not a head before it */
  assert_int_equal(move(st, &steps[1], NIMBUS_STEP_SENT, 1, now), STORE_OK);
  steps[1].next_at = now + 60;
  assert_int_equal(move(st, &steps[1], NIMBUS_STEP_PLANNED, 1, now), STORE_OK);
  assert_int_equal(heads(st, p1.id, now, &h), 0);
  assert_int_equal(heads(st, p1.id, now + 60, &h), 1);
  /* failed: blocks that printer's later steps, not the other printer */
  assert_int_equal(move(st, &steps[1], NIMBUS_STEP_FAILED, 1, now), STORE_OK);
  assert_int_equal(heads(st, p1.id, now + 600, &h), 0);
  assert_int_equal(heads(st, p2.id, now, &h), 1);
  /* skipped counts as done for what follows */
  assert_int_equal(move(st, &steps[3], NIMBUS_STEP_SKIPPED, 0, now), STORE_OK);
  assert_int_equal(heads(st, p2.id, now, &h), 1);
  assert_int_equal(h.s[0].id, steps[4].id);

  /* the package check: only a step of this printer names it */
  bool has = false;
  assert_int_equal(store_prov_device_has_package(st, p1.id, 12, &has), STORE_OK);
  assert_true(has);
  assert_int_equal(store_prov_device_has_package(st, p2.id, 12, &has), STORE_OK);
  assert_false(has);

  /* the run's end, only while running */
  assert_int_equal(store_prov_run_finish(st, run.id, NIMBUS_RUN_PARTIAL, "", now), STORE_OK);
  assert_int_equal(store_prov_run_finish(st, run.id, NIMBUS_RUN_DONE, "", now), STORE_CONFLICT);
  assert_int_equal(store_prov_run_finish(st, 999999, NIMBUS_RUN_DONE, "", now), STORE_NOT_FOUND);
  assert_int_equal(store_prov_run_get(st, acme, run.id, &got), STORE_OK);
  assert_int_equal(got.state, NIMBUS_RUN_PARTIAL);
  assert_int_equal(got.finished_at, now);

  /* coverage: a printer added later is planned once, the run reopens */
  nimbus_device_t p4 = make_device(st, acme, "annex", NULL, 0, 4);
  ids_t un;
  memset(&un, 0, sizeof un);
  assert_int_equal(store_prov_run_uncovered(st, run.id, acme, collect_id, &un), STORE_OK);
  assert_int_equal(un.n, 1);
  assert_int_equal(un.ids[0], p4.id);
  nimbus_prov_step_t wide[1] = {step_of(0, 0, 1, "settings", "office")};
  bool added = false;
  assert_int_equal(store_prov_run_widen(st, run.id, acme, p4.id, wide, 1, now, &added), STORE_OK);
  assert_true(added);
  assert_int_equal(wide[0].device_id, p4.id);
  assert_int_equal(store_prov_run_widen(st, run.id, acme, p4.id, wide, 1, now, &added), STORE_OK);
  assert_false(added);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM provisioning_steps"), 6);
  assert_int_equal(store_prov_run_get(st, acme, run.id, &got), STORE_OK);
  assert_int_equal(got.state, NIMBUS_RUN_RUNNING);
  memset(&un, 0, sizeof un);
  assert_int_equal(store_prov_run_uncovered(st, run.id, acme, collect_id, &un), STORE_OK);
  assert_int_equal(un.n, 0);

  /* a second revision: its own run; list newest first */
  nimbus_prov_run_t r2 = {.tenant_id = acme, .contract_id = 7, .revision = 2};
  snprintf(r2.kind, sizeof r2.kind, "renewal");
  r2.state = NIMBUS_RUN_NOTHING;
  snprintf(r2.note, sizeof r2.note, "nothing to apply");
  assert_int_equal(store_prov_run_create(st, &r2, covered, 2, NULL, 0, &created), STORE_OK);
  assert_true(created);
  ids_t runs;
  memset(&runs, 0, sizeof runs);
  assert_int_equal(store_prov_run_list(st, acme, 7, 0, collect_run, &runs), STORE_OK);
  assert_int_equal(runs.n, 2);
  assert_int_equal(runs.ids[0], r2.id);
  assert_int_equal(store_prov_run_get(st, acme, r2.id, &got), STORE_OK);
  assert_int_equal(got.state, NIMBUS_RUN_NOTHING);
  assert_string_equal(got.note, "nothing to apply");
  memset(&runs, 0, sizeof runs);
  assert_int_equal(store_prov_run_list(st, beta, 7, 0, collect_run, &runs), STORE_OK);
  assert_int_equal(runs.n, 0);

  /* restore runs: no contract (NULL, several allowed), one running per
   * printer; listed by printer, read back with their backup */
  nimbus_prov_run_t rs1 = {.tenant_id = acme, .revision = 1, .device_id = p1.id, .backup_id = 41};
  snprintf(rs1.kind, sizeof rs1.kind, "restore");
  nimbus_prov_step_t rstep = step_of(acme, p1.id, 1, "settings", "backup-41");
  assert_int_equal(store_prov_run_create(st, &rs1, &p1.id, 1, &rstep, 1, &created), STORE_OK);
  assert_true(created);
  nimbus_prov_run_t rs2 = rs1;
  rs2.id = 0;
  rs2.backup_id = 42;
  assert_int_equal(store_prov_run_create(st, &rs2, &p1.id, 1, NULL, 0, &created), STORE_CONFLICT);
  assert_false(created);
  nimbus_prov_run_t rs3 = {.tenant_id = acme, .revision = 1, .device_id = p2.id, .backup_id = 43};
  snprintf(rs3.kind, sizeof rs3.kind, "restore");
  assert_int_equal(store_prov_run_create(st, &rs3, &p2.id, 1, NULL, 0, &created), STORE_OK);
  assert_true(created);
  assert_int_equal(store_prov_run_finish(st, rs1.id, NIMBUS_RUN_DONE, "", now), STORE_OK);
  rs2.id = 0;
  assert_int_equal(store_prov_run_create(st, &rs2, &p1.id, 1, NULL, 0, &created), STORE_OK);
  assert_true(created);
  memset(&runs, 0, sizeof runs);
  assert_int_equal(store_prov_run_list(st, acme, 0, p1.id, collect_run, &runs), STORE_OK);
  assert_int_equal(runs.n, 2);
  assert_int_equal(runs.ids[0], rs2.id);
  assert_int_equal(runs.ids[1], rs1.id);
  assert_int_equal(store_prov_run_get(st, acme, rs1.id, &got), STORE_OK);
  assert_int_equal(got.contract_id, 0);
  assert_int_equal(got.backup_id, 41);
  assert_int_equal(got.device_id, p1.id);
  assert_string_equal(got.kind, "restore");
  memset(&runs, 0, sizeof runs);
  assert_int_equal(store_prov_run_list(st, acme, 7, 0, collect_run, &runs), STORE_OK);
  assert_int_equal(runs.n, 2); /* a contract's runs only */

  /* inventory: put replaces, get; unknown NOT_FOUND */
  nimbus_device_inventory_t inv = {.device_id = p1.id, .tenant_id = acme, .reported_at = now};
  snprintf(inv.firmware_name, sizeof inv.firmware_name, "engine");
  snprintf(inv.firmware_version, sizeof inv.firmware_version, "4.1.0");
  snprintf(inv.applications_json, sizeof inv.applications_json, "{\"scan2cloud\":\"2.0.0\"}");
  snprintf(inv.settings_json, sizeof inv.settings_json, "{\"sides-default\":\"one-sided\"}");
  assert_int_equal(store_inventory_put(st, &inv), STORE_OK);
  snprintf(inv.firmware_version, sizeof inv.firmware_version, "4.2.0");
  inv.reported_at = now + 5;
  assert_int_equal(store_inventory_put(st, &inv), STORE_OK);
  nimbus_device_inventory_t gi;
  assert_int_equal(store_inventory_get(st, p1.id, &gi), STORE_OK);
  assert_string_equal(gi.firmware_version, "4.2.0");
  assert_string_equal(gi.applications_json, "{\"scan2cloud\":\"2.0.0\"}");
  assert_int_equal(gi.reported_at, now + 5);
  assert_int_equal(store_inventory_get(st, p2.id, &gi), STORE_NOT_FOUND);

  /* steps and inventory go with their printer */
  assert_int_equal(store_device_delete(st, acme, p1.id, NULL, 0, NULL, 0, NULL), STORE_OK);
  assert_int_equal(store_inventory_get(st, p1.id, &gi), STORE_NOT_FOUND);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM provisioning_steps"), 3);
}

int main(int argc, char **argv) {
  log_set_level(LOG_ERROR);
  if (argc > 1 && !strcmp(argv[1], "pg")) {
    int rc = fixture_use_pg();
    if (rc) return rc;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_provisioning_store, setup_direct, teardown),
  };
  return cmocka_run_group_tests_name("store contract: provisioning", tests, NULL, NULL);
}
