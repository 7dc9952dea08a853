/*
 * test-store-services.c: the store contract of the smart services
 * (docs/PROVISIONING.md §10, §11) on every backend: printer service
 * configurations (put replaces, get, list, disable by contract), backups
 * (insert, get by tenant, list, retention prune keeping the newest full
 * snapshots and their differentials), supply reports (exactly one order
 * per episode, a new episode after a rise), part alerts (one per part and
 * cycle), the delivery state.  `test-store-services pg` runs it on
 * PostgreSQL (store-fixture.h).
 */
#include "store-fixture.h"

typedef struct {
  int n;
  char names[8][NIMBUS_SERVICE_NAME_MAX];
  bool enabled[8];
  nimbus_id_t ids[16];
} seen_t;

static bool service_cb(const nimbus_printer_service_t *s, void *ctx) {
  seen_t *c = ctx;
  if (c->n < 8) {
    snprintf(c->names[c->n], sizeof c->names[0], "%s", s->service);
    c->enabled[c->n++] = s->enabled;
  }
  return true;
}

static bool backup_cb(const nimbus_backup_t *b, void *ctx) {
  seen_t *c = ctx;
  assert_null(b->json);
  if (c->n < 16) c->ids[c->n++] = b->id;
  return true;
}

static bool order_cb(const nimbus_supply_order_t *o, void *ctx) {
  seen_t *c = ctx;
  if (c->n < 16) c->ids[c->n++] = o->id;
  return true;
}

static bool alert_cb(const nimbus_part_alert_t *a, void *ctx) {
  seen_t *c = ctx;
  if (c->n < 16) c->ids[c->n++] = a->id;
  return true;
}

static void put(store_t *st, nimbus_id_t tenant, nimbus_id_t dev, const char *service,
                nimbus_id_t contract, const char *json) {
  nimbus_printer_service_t s = {.device_id = dev,
                                .tenant_id = tenant,
                                .contract_id = contract,
                                .settings_json = (char *)json,
                                .enabled = true};
  snprintf(s.service, sizeof s.service, "%s", service);
  assert_int_equal(store_printer_service_put(st, &s), STORE_OK);
}

static void test_printer_services(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t acme = make_tenant(st, "acme");
  nimbus_device_t d = make_device(st, acme, "lobby", NULL, 0, 1);
  put(st, acme, d.id, "consumables", 7, "{\"order_url\":\"https://x\"}");
  put(st, acme, d.id, "backup", 7, "{\"period\":\"daily\"}");
  put(st, acme, d.id, "backup", 7, "{\"period\":\"weekly\"}"); /* replaces */
  put(st, acme, d.id, "parts_life", 8, "{}");
  nimbus_printer_service_t got;
  assert_int_equal(store_printer_service_get(st, d.id, "backup", &got), STORE_OK);
  assert_string_equal(got.settings_json, "{\"period\":\"weekly\"}");
  assert_int_equal(got.contract_id, 7);
  assert_true(got.enabled);
  assert_true(got.updated_at > 0);
  free(got.settings_json);
  assert_int_equal(store_printer_service_get(st, d.id, "nothing", &got), STORE_NOT_FOUND);
  assert_int_equal(store_printer_service_disable_contract(st, acme, 7), STORE_OK);
  assert_int_equal(store_printer_service_disable_contract(st, acme, 99), STORE_OK);
  seen_t c = {0};
  assert_int_equal(store_printer_service_list(st, d.id, service_cb, &c), STORE_OK);
  assert_int_equal(c.n, 3);
  assert_string_equal(c.names[0], "backup");
  assert_false(c.enabled[0]);
  assert_string_equal(c.names[1], "consumables");
  assert_false(c.enabled[1]);
  assert_string_equal(c.names[2], "parts_life");
  assert_true(c.enabled[2]);
  /* a device that does not exist */
  nimbus_printer_service_t ghost = {.device_id = d.id + 100, .tenant_id = acme};
  snprintf(ghost.service, sizeof ghost.service, "backup");
  assert_int_not_equal(store_printer_service_put(st, &ghost), STORE_OK);
}

static nimbus_id_t backup(store_t *st, nimbus_id_t tenant, nimbus_id_t dev,
                          nimbus_backup_mode_t mode, nimbus_id_t base, const char *json) {
  nimbus_backup_t b = {
      .tenant_id = tenant, .device_id = dev, .mode = mode, .base_id = base, .json = (char *)json};
  assert_int_equal(store_backup_insert(st, &b), STORE_OK);
  assert_int_equal(b.size, (int64_t)strlen(json));
  return b.id;
}

static void test_backups(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t acme = make_tenant(st, "acme"), beta = make_tenant(st, "beta");
  nimbus_device_t d = make_device(st, acme, "lobby", NULL, 0, 1);
  nimbus_device_t e = make_device(st, acme, "floor2", NULL, 0, 2);
  nimbus_id_t f1 = backup(st, acme, d.id, NIMBUS_BACKUP_FULL, 0, "{\"a\":1}");
  nimbus_id_t d1 = backup(st, acme, d.id, NIMBUS_BACKUP_DIFFERENTIAL, f1, "{\"b\":2}");
  nimbus_id_t f2 = backup(st, acme, d.id, NIMBUS_BACKUP_FULL, 0, "{\"a\":3}");
  nimbus_id_t d2 = backup(st, acme, d.id, NIMBUS_BACKUP_DIFFERENTIAL, f2, "{\"b\":4}");
  nimbus_id_t f3 = backup(st, acme, d.id, NIMBUS_BACKUP_FULL, 0, "{\"a\":5}");
  nimbus_id_t other = backup(st, acme, e.id, NIMBUS_BACKUP_FULL, 0, "{}");
  nimbus_backup_t got;
  assert_int_equal(store_backup_get(st, acme, d1, &got), STORE_OK);
  assert_string_equal(got.json, "{\"b\":2}");
  assert_int_equal(got.base_id, f1);
  assert_int_equal(got.mode, NIMBUS_BACKUP_DIFFERENTIAL);
  free(got.json);
  assert_int_equal(store_backup_get(st, beta, d1, &got), STORE_NOT_FOUND);
  seen_t c = {0};
  assert_int_equal(store_backup_list(st, acme, d.id, backup_cb, &c), STORE_OK);
  assert_int_equal(c.n, 5);
  assert_int_equal(c.ids[0], f3);
  /* keep 2 full: f1 and its differential go */
  int deleted = -1;
  assert_int_equal(store_backup_prune(st, d.id, 2, &deleted), STORE_OK);
  assert_int_equal(deleted, 2);
  assert_int_equal(store_backup_get(st, acme, f1, &got), STORE_NOT_FOUND);
  assert_int_equal(store_backup_get(st, acme, d1, &got), STORE_NOT_FOUND);
  assert_int_equal(store_backup_get(st, acme, d2, &got), STORE_OK);
  free(got.json);
  assert_int_equal(store_backup_prune(st, d.id, 2, &deleted), STORE_OK);
  assert_int_equal(deleted, 0);
  assert_int_equal(store_backup_prune(st, d.id, 1, &deleted), STORE_OK);
  assert_int_equal(deleted, 2);                                        /* f2 and d2 */
  assert_int_equal(store_backup_get(st, acme, other, &got), STORE_OK); /* another printer's */
  free(got.json);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM backups"), 2);
}

static void report(store_t *st, nimbus_id_t tenant, nimbus_id_t dev, const char *supply, int level,
                   bool low, nimbus_supply_order_t *o) {
  store_supply_report_t r = {.tenant_id = tenant,
                             .device_id = dev,
                             .contract_id = 3,
                             .supply = supply,
                             .type = "toner",
                             .level = level,
                             .low = low};
  assert_int_equal(store_supply_report(st, &r, o), STORE_OK);
}

static void test_supplies(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t acme = make_tenant(st, "acme"), beta = make_tenant(st, "beta");
  nimbus_device_t d = make_device(st, acme, "lobby", NULL, 0, 1);
  nimbus_device_t b = make_device(st, beta, "hall", NULL, 0, 2);
  nimbus_supply_order_t o;
  report(st, acme, d.id, "Black Toner", 50, false, &o);
  assert_int_equal(o.id, 0);
  report(st, acme, d.id, "Black Toner", 10, true, &o);
  assert_true(o.id > 0);
  assert_int_equal(o.episode, 1);
  assert_int_equal(o.level, 10);
  assert_int_equal(o.state, NIMBUS_DELIVERY_PENDING);
  nimbus_id_t first = o.id;
  report(st, acme, d.id, "Black Toner", 8, true, &o); /* the same episode */
  assert_int_equal(o.id, 0);
  report(st, acme, d.id, "Black Toner", 100, false, &o); /* a new cartridge */
  assert_int_equal(o.id, 0);
  report(st, acme, d.id, "Black Toner", 5, true, &o);
  assert_true(o.id > first);
  assert_int_equal(o.episode, 2);
  report(st, beta, b.id, "Cyan", 1, true, &o);
  nimbus_id_t beta_order = o.id;
  assert_int_equal(db_int(fx, "SELECT level FROM supply_levels WHERE supply = 'Black Toner'"), 5);

  seen_t c = {0};
  store_delivery_filter_t f = {.tenant_id = acme};
  assert_int_equal(store_supply_order_list(st, &f, order_cb, &c), STORE_OK);
  assert_int_equal(c.n, 2);
  /* the sweep sees every tenant's due ones; marked sent they are no longer due */
  int64_t now = (int64_t)time(NULL);
  store_delivery_filter_t due = {.due_at = now + 1};
  memset(&c, 0, sizeof c);
  assert_int_equal(store_supply_order_list(st, &due, order_cb, &c), STORE_OK);
  assert_int_equal(c.n, 3);
  assert_int_equal(store_delivery_mark(st, STORE_DELIVERY_ORDER, first, NIMBUS_DELIVERY_SENT, 1, 0),
                   STORE_OK);
  assert_int_equal(store_delivery_mark(st, STORE_DELIVERY_ORDER, beta_order,
                                       NIMBUS_DELIVERY_PENDING, 1, now + 600),
                   STORE_OK);
  memset(&c, 0, sizeof c);
  assert_int_equal(store_supply_order_list(st, &due, order_cb, &c), STORE_OK);
  assert_int_equal(c.n, 1);
  assert_int_equal(store_delivery_mark(st, STORE_DELIVERY_ORDER, 99999, NIMBUS_DELIVERY_SENT, 1, 0),
                   STORE_NOT_FOUND);
  assert_true(db_int(fx, "SELECT sent_at FROM supply_orders WHERE state = 2") > 0);
}

static void test_parts(void **state) {
  fixture_t *fx = *state;
  store_t *st = fx->st;
  nimbus_id_t acme = make_tenant(st, "acme");
  nimbus_device_t d = make_device(st, acme, "lobby", NULL, 0, 1);
  nimbus_part_counter_t pc;
  assert_int_equal(store_part_counter_get(st, d.id, "fuser", &pc), STORE_NOT_FOUND);
  nimbus_part_alert_t a = {.tenant_id = acme, .device_id = d.id, .cycle = 1, .impressions = 95};
  snprintf(a.part, sizeof a.part, "fuser");
  assert_int_equal(store_part_alert_insert(st, &a), STORE_OK);
  assert_true(a.id > 0);
  nimbus_part_alert_t again = a;
  again.impressions = 99;
  assert_int_equal(store_part_alert_insert(st, &again), STORE_CONFLICT);
  assert_int_equal(store_part_replaced(st, acme, d.id, "fuser", 120), STORE_OK);
  assert_int_equal(store_part_counter_get(st, d.id, "fuser", &pc), STORE_OK);
  assert_int_equal(pc.cycle, 2);
  assert_int_equal(pc.replaced_at, 120);
  assert_int_equal(store_part_replaced(st, acme, d.id, "fuser", 300), STORE_OK);
  assert_int_equal(store_part_counter_get(st, d.id, "fuser", &pc), STORE_OK);
  assert_int_equal(pc.cycle, 3);
  again.cycle = 3;
  assert_int_equal(store_part_alert_insert(st, &again), STORE_OK);
  seen_t c = {0};
  store_delivery_filter_t f = {.tenant_id = acme};
  assert_int_equal(store_part_alert_list(st, &f, alert_cb, &c), STORE_OK);
  assert_int_equal(c.n, 2);
  assert_int_equal(c.ids[0], again.id);
  assert_int_equal(
      store_delivery_mark(st, STORE_DELIVERY_ALERT, a.id, NIMBUS_DELIVERY_FAILED, 5, 0), STORE_OK);
  assert_int_equal(db_int(fx, "SELECT count(*) FROM part_alerts WHERE state = 3"), 1);
}

int main(int argc, char **argv) {
  log_set_level(LOG_ERROR);
  if (argc > 1 && !strcmp(argv[1], "pg")) {
    int rc = fixture_use_pg();
    if (rc) return rc;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_printer_services, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_backups, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_supplies, setup_direct, teardown),
      cmocka_unit_test_setup_teardown(test_parts, setup_direct, teardown),
  };
  return cmocka_run_group_tests_name("store contract: smart services", tests, NULL, NULL);
}
