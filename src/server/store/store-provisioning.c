/*
 * store-provisioning.c: store.h's functions of issue 16 (contracts,
 * webhook events, dealers, packages; the smart services; provisioning
 * runs, steps and device inventory) dispatched to the backend, as store.c
 * does for the rest: one call through st->ops each.
 */
#include "store-ops.h"

/* ---- contracts: contracts, webhook events, dealers, packages ---- */

store_status_t store_contract_insert(store_t *st, nimbus_contract_t *c,
                                     const store_audit_t *audit) {
  return STORE_CALL(st, contract_insert, c, audit);
}

store_status_t store_contract_update(store_t *st, nimbus_contract_t *c,
                                     const store_audit_t *audit) {
  return STORE_CALL(st, contract_update, c, audit);
}

store_status_t store_contract_get(store_t *st, nimbus_id_t id, nimbus_contract_t *out) {
  return STORE_CALL(st, contract_get, id, out);
}

store_status_t store_contract_get_by_name(store_t *st, nimbus_id_t tenant_id, const char *name,
                                          nimbus_contract_t *out) {
  return STORE_CALL(st, contract_get_by_name, tenant_id, name, out);
}

store_status_t store_contract_get_by_external(store_t *st, nimbus_id_t owner_tenant_id,
                                              const char *external_id, nimbus_contract_t *out) {
  return STORE_CALL(st, contract_get_by_external, owner_tenant_id, external_id, out);
}

store_status_t store_contract_list(store_t *st, const store_contract_filter_t *f,
                                   store_contract_cb cb, void *ctx) {
  return STORE_CALL(st, contract_list, f, cb, ctx);
}

store_status_t store_contract_cancel(store_t *st, nimbus_id_t id, int64_t now,
                                     const store_audit_t *audit) {
  return STORE_CALL(st, contract_cancel, id, now, audit);
}

store_status_t store_contract_due_each(store_t *st, int64_t now, store_contract_cb cb, void *ctx) {
  return STORE_CALL(st, contract_due_each, now, cb, ctx);
}

store_status_t store_contract_event_apply(store_t *st, const store_contract_event_t *ev,
                                          store_contract_event_op_t op, nimbus_contract_t *c,
                                          const store_audit_t *audit, bool *duplicate,
                                          nimbus_id_t *contract_id) {
  return STORE_CALL(st, contract_event_apply, ev, op, c, audit, duplicate, contract_id);
}

store_status_t store_dealer_set(store_t *st, nimbus_id_t customer_tenant_id,
                                nimbus_id_t dealer_tenant_id, const store_audit_t *audit) {
  return STORE_CALL(st, dealer_set, customer_tenant_id, dealer_tenant_id, audit);
}

store_status_t store_dealer_get(store_t *st, nimbus_id_t customer_tenant_id,
                                nimbus_id_t *dealer_tenant_id) {
  return STORE_CALL(st, dealer_get, customer_tenant_id, dealer_tenant_id);
}

store_status_t store_dealer_delete(store_t *st, nimbus_id_t customer_tenant_id,
                                   const store_audit_t *audit) {
  return STORE_CALL(st, dealer_delete, customer_tenant_id, audit);
}

store_status_t store_package_insert(store_t *st, nimbus_package_t *p, const store_audit_t *audit) {
  return STORE_CALL(st, package_insert, p, audit);
}

store_status_t store_package_get(store_t *st, nimbus_id_t id, nimbus_package_t *out) {
  return STORE_CALL(st, package_get, id, out);
}

store_status_t store_package_list(store_t *st, nimbus_id_t owner_tenant_id, store_package_cb cb,
                                  void *ctx) {
  return STORE_CALL(st, package_list, owner_tenant_id, cb, ctx);
}

store_status_t store_package_in_use(store_t *st, nimbus_id_t id, int64_t now, bool *used) {
  return STORE_CALL(st, package_in_use, id, now, used);
}

store_status_t store_package_delete(store_t *st, nimbus_id_t owner_tenant_id, nimbus_id_t id,
                                    int64_t now, const store_audit_t *audit) {
  return STORE_CALL(st, package_delete, owner_tenant_id, id, now, audit);
}

store_status_t store_dealer_list(store_t *st, nimbus_id_t dealer_tenant_id, store_dealer_cb cb,
                                 void *ctx) {
  return STORE_CALL(st, dealer_list, dealer_tenant_id, cb, ctx);
}

/* ---- smart services (docs/PROVISIONING.md §10, §11) ---- */

store_status_t store_printer_service_put(store_t *st, const nimbus_printer_service_t *s) {
  return STORE_CALL(st, printer_service_put, s);
}

store_status_t store_printer_service_get(store_t *st, nimbus_id_t device_id, const char *service,
                                         nimbus_printer_service_t *out) {
  return STORE_CALL(st, printer_service_get, device_id, service, out);
}

store_status_t store_printer_service_list(store_t *st, nimbus_id_t device_id,
                                          store_printer_service_cb cb, void *ctx) {
  return STORE_CALL(st, printer_service_list, device_id, cb, ctx);
}

store_status_t store_printer_service_disable_contract(store_t *st, nimbus_id_t tenant_id,
                                                      nimbus_id_t contract_id) {
  return STORE_CALL(st, printer_service_disable_contract, tenant_id, contract_id);
}

store_status_t store_backup_insert(store_t *st, nimbus_backup_t *b) {
  return STORE_CALL(st, backup_insert, b);
}

store_status_t store_backup_get(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                nimbus_backup_t *out) {
  return STORE_CALL(st, backup_get, tenant_id, id, out);
}

store_status_t store_backup_list(store_t *st, nimbus_id_t tenant_id, nimbus_id_t device_id,
                                 store_backup_cb cb, void *ctx) {
  return STORE_CALL(st, backup_list, tenant_id, device_id, cb, ctx);
}

store_status_t store_backup_prune(store_t *st, nimbus_id_t device_id, int keep_full, int *deleted) {
  return STORE_CALL(st, backup_prune, device_id, keep_full, deleted);
}

store_status_t store_supply_report(store_t *st, const store_supply_report_t *r,
                                   nimbus_supply_order_t *order) {
  return STORE_CALL(st, supply_report, r, order);
}

store_status_t store_supply_order_list(store_t *st, const store_delivery_filter_t *f,
                                       store_supply_order_cb cb, void *ctx) {
  return STORE_CALL(st, supply_order_list, f, cb, ctx);
}

store_status_t store_part_alert_list(store_t *st, const store_delivery_filter_t *f,
                                     store_part_alert_cb cb, void *ctx) {
  return STORE_CALL(st, part_alert_list, f, cb, ctx);
}

store_status_t store_part_counter_get(store_t *st, nimbus_id_t device_id, const char *part,
                                      nimbus_part_counter_t *out) {
  return STORE_CALL(st, part_counter_get, device_id, part, out);
}

store_status_t store_part_replaced(store_t *st, nimbus_id_t tenant_id, nimbus_id_t device_id,
                                   const char *part, int64_t impressions) {
  return STORE_CALL(st, part_replaced, tenant_id, device_id, part, impressions);
}

store_status_t store_part_alert_insert(store_t *st, nimbus_part_alert_t *a) {
  return STORE_CALL(st, part_alert_insert, a);
}

store_status_t store_delivery_mark(store_t *st, store_delivery_kind_t kind, nimbus_id_t id,
                                   nimbus_delivery_state_t state, int attempts, int64_t next_at) {
  return STORE_CALL(st, delivery_mark, kind, id, state, attempts, next_at);
}

/* ---- provisioning ---- */
store_status_t store_prov_run_create(store_t *st, nimbus_prov_run_t *run,
                                     const nimbus_id_t *devices, int ndevices,
                                     nimbus_prov_step_t *steps, int nsteps, bool *created) {
  return STORE_CALL(st, prov_run_create, run, devices, ndevices, steps, nsteps, created);
}

store_status_t store_prov_run_get(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                  nimbus_prov_run_t *out) {
  return STORE_CALL(st, prov_run_get, tenant_id, id, out);
}

store_status_t store_prov_run_list(store_t *st, nimbus_id_t tenant_id, nimbus_id_t contract_id,
                                   nimbus_id_t device_id, store_prov_run_cb cb, void *ctx) {
  return STORE_CALL(st, prov_run_list, tenant_id, contract_id, device_id, cb, ctx);
}

store_status_t store_prov_run_finish(store_t *st, nimbus_id_t run_id, nimbus_run_state_t state,
                                     const char *note, int64_t now) {
  return STORE_CALL(st, prov_run_finish, run_id, state, note, now);
}

store_status_t store_prov_run_widen(store_t *st, nimbus_id_t run_id, nimbus_id_t tenant_id,
                                    nimbus_id_t device_id, nimbus_prov_step_t *steps, int nsteps,
                                    int64_t now, bool *added) {
  return STORE_CALL(st, prov_run_widen, run_id, tenant_id, device_id, steps, nsteps, now, added);
}

store_status_t store_prov_run_uncovered(store_t *st, nimbus_id_t run_id, nimbus_id_t tenant_id,
                                        store_id_each_cb cb, void *ctx) {
  return STORE_CALL(st, prov_run_uncovered, run_id, tenant_id, cb, ctx);
}

store_status_t store_prov_step_list(store_t *st, nimbus_id_t tenant_id, nimbus_id_t run_id,
                                    store_prov_step_cb cb, void *ctx) {
  return STORE_CALL(st, prov_step_list, tenant_id, run_id, cb, ctx);
}

store_status_t store_prov_step_get(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                   nimbus_prov_step_t *out) {
  return STORE_CALL(st, prov_step_get, tenant_id, id, out);
}

store_status_t store_prov_step_transition(store_t *st, const nimbus_prov_step_t *s,
                                          nimbus_step_state_t from_state, int from_attempts,
                                          const char *detail, int64_t now) {
  return STORE_CALL(st, prov_step_transition, s, from_state, from_attempts, detail, now);
}

store_status_t store_prov_step_heads(store_t *st, nimbus_id_t device_id, int64_t now, int limit,
                                     store_prov_step_cb cb, void *ctx) {
  return STORE_CALL(st, prov_step_heads, device_id, now, limit, cb, ctx);
}

store_status_t store_prov_step_timed_out(store_t *st, int64_t sent_before, int limit,
                                         store_prov_step_cb cb, void *ctx) {
  return STORE_CALL(st, prov_step_timed_out, sent_before, limit, cb, ctx);
}

store_status_t store_prov_device_has_package(store_t *st, nimbus_id_t device_id,
                                             nimbus_id_t package_id, bool *out) {
  return STORE_CALL(st, prov_device_has_package, device_id, package_id, out);
}

store_status_t store_inventory_put(store_t *st, const nimbus_device_inventory_t *inv) {
  return STORE_CALL(st, inventory_put, inv);
}

store_status_t store_inventory_get(store_t *st, nimbus_id_t device_id,
                                   nimbus_device_inventory_t *out) {
  return STORE_CALL(st, inventory_get, device_id, out);
}
