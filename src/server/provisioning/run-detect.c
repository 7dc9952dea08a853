/*
 * run-detect.c: the provisioning sweep (docs/PROVISIONING.md §5), run by
 * the housekeeping thread every --provision-interval seconds on the node
 * holding the "provisioning" lease:
 *  1. every due contract event (contract id, revision: started, not
 *     canceled or ended, no run yet) gets its run, planned per covered
 *     printer (run-plan.c) and inserted with its steps in one transaction
 *     that does nothing when the event has a run already
 *     (store_prov_run_create): exactly once is the database's, not the
 *     lease's, so two nodes or a restart mid-sweep never make two runs;
 *  2. a "printers":"all" contract's newest run is widened to printers
 *     registered since (their own steps, once: the coverage row);
 *  3. sent steps without a report for --provision-step-timeout are
 *     retried or failed (run-steps.c);
 *  4. cloud head steps are applied (cloud-services.c); the planned steps
 *     of a run whose contract was canceled are skipped ("contract
 *     canceled"; applied items stay on the printers).
 * Store lists are collected first and acted on after (a list callback may
 * not call the store).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "provisioning.h"

#define DETECT_CONTRACTS_MAX 64 /* contracts looked at per round */
#define DETECT_STEPS_MAX 256    /* timed-out or cloud steps acted on per round */
/* Printers a run is planned for per round; the rest of a larger fleet
 * join the run (its coverage) in the next rounds. */
#define DETECT_PRINTERS_MAX 1024

typedef struct {
  nimbus_contract_t *v;
  int n;
  bool full;
} contracts_t;

static bool collect_contract(const nimbus_contract_t *c, void *ctx) {
  contracts_t *cs = ctx;
  if (cs->n == DETECT_CONTRACTS_MAX) {
    cs->full = true;
    return false;
  }
  cs->v[cs->n++] = *c;
  return true;
}

typedef struct {
  nimbus_id_t v[DETECT_PRINTERS_MAX];
  int n;
} ids_t;

static bool collect_id(nimbus_id_t id, void *ctx) {
  ids_t *ids = ctx;
  if (ids->n < DETECT_PRINTERS_MAX) ids->v[ids->n++] = id;
  return ids->n < DETECT_PRINTERS_MAX;
}

static bool newest_run(const nimbus_prov_run_t *r, void *ctx) {
  *(nimbus_prov_run_t *)ctx = *r;
  return false; /* newest first: the first is it */
}

/* The printers contract c covers now, by id, into *ids. */
static bool covered_devices(nimbus_server_t *srv, const nimbus_contract_t *c, ids_t *ids) {
  json_t *p = json_loads(c->printers_json, JSON_DECODE_ANY, NULL);
  bool ok = true;
  if (json_is_array(p)) {
    size_t i;
    json_t *name;
    json_array_foreach(p, i, name) {
      nimbus_device_t d;
      const char *n = json_string_value(name);
      if (!n) continue;
      store_status_t st = store_device_get_by_name(srv->store, c->tenant_id, n, &d);
      if (st == STORE_OK && ids->n < DETECT_PRINTERS_MAX)
        ids->v[ids->n++] = d.id;
      else if (st != STORE_NOT_FOUND)
        ok = false; /* a printer deleted since: not covered */
    }
  } else { /* "all": every printer of the tenant (run 0 covers none) */
    ok = store_prov_run_uncovered(srv->store, 0, c->tenant_id, collect_id, ids) == STORE_OK;
  }
  json_decref(p);
  return ok;
}

static bool printers_all(const nimbus_contract_t *c) {
  json_t *p = json_loads(c->printers_json, JSON_DECODE_ANY, NULL);
  bool all = json_is_string(p) && !strcmp(json_string_value(p), "all");
  json_decref(p);
  return all;
}

/* Plan and create the run of c's current revision (nothing when it has
 * one already). */
static void detect_contract(nimbus_server_t *srv, const nimbus_contract_t *c, int64_t now) {
  nimbus_prov_run_t latest = {0};
  if (store_prov_run_list(srv->store, 0, c->id, 0, newest_run, &latest) != STORE_OK) return;
  if (latest.id && latest.revision >= c->revision) {
    if (!printers_all(c)) return;
    ids_t fresh = {0};
    if (store_prov_run_uncovered(srv->store, latest.id, c->tenant_id, collect_id, &fresh) !=
        STORE_OK)
      return;
    for (int i = 0; i < fresh.n; i++) {
      prov_plan_t plan = {0};
      bool added = false;
      if (prov_plan_device(srv, c, fresh.v[i], &plan) &&
          store_prov_run_widen(srv->store, latest.id, c->tenant_id, fresh.v[i], plan.v, plan.n, now,
                               &added) == STORE_OK &&
          added)
        log_event(LOG_INFO, NULL, "provisioning run widened to a new printer", "run",
                  LOG_INT(latest.id), "device_id", LOG_INT(fresh.v[i]), "steps", LOG_INT(plan.n),
                  (char *)NULL);
      prov_plan_free(&plan);
    }
    return;
  }
  ids_t devices = {0};
  if (!covered_devices(srv, c, &devices)) return;
  prov_plan_t plan = {0};
  bool ok = true;
  for (int i = 0; ok && i < devices.n; i++) ok = prov_plan_device(srv, c, devices.v[i], &plan);
  if (!ok) {
    prov_plan_free(&plan);
    return;
  }
  nimbus_prov_run_t run = {
      .tenant_id = c->tenant_id, .contract_id = c->id, .revision = c->revision, .created_at = now};
  snprintf(run.kind, sizeof run.kind, "%s", latest.id ? "renewal" : "start");
  if (plan.n == 0) {
    run.state = NIMBUS_RUN_NOTHING;
    run.finished_at = now;
    snprintf(run.note, sizeof run.note, "nothing to apply: every item is in place");
  }
  bool created = false;
  if (store_prov_run_create(srv->store, &run, devices.v, devices.n, plan.v, plan.n, &created) ==
          STORE_OK &&
      created)
    log_event(LOG_INFO, NULL, "provisioning run created", "run", LOG_INT(run.id), "contract",
              LOG_INT(c->id), "revision", LOG_INT(c->revision), "kind", run.kind, "printers",
              LOG_INT(devices.n), "steps", LOG_INT(plan.n), "state", prov_run_state_name(run.state),
              (char *)NULL);
  prov_plan_free(&plan);
}

typedef struct {
  nimbus_prov_step_t *v;
  int n;
  bool cloud_only;
} steps_t;

static bool collect_step(const nimbus_prov_step_t *s, void *ctx) {
  steps_t *ss = ctx;
  if (ss->cloud_only && s->state != NIMBUS_STEP_PLANNED) return true;
  ss->v[ss->n++] = *s;
  return ss->n < DETECT_STEPS_MAX;
}

static bool collect_planned(const nimbus_prov_step_t *s, void *ctx) {
  steps_t *ss = ctx;
  if (s->state == NIMBUS_STEP_PLANNED && ss->n < DETECT_STEPS_MAX) ss->v[ss->n++] = *s;
  return true;
}

/* Whether the contract of a head step was canceled (then every planned
 * step of that run is skipped: §6 "contract canceled"). */
static bool head_canceled(nimbus_server_t *srv, const nimbus_prov_step_t *head, int64_t now) {
  nimbus_contract_t *k = malloc(sizeof *k);
  bool canceled =
      k && store_contract_get(srv->store, head->contract_id, k) == STORE_OK && k->canceled;
  free(k);
  if (!canceled) return false;
  steps_t planned = {.v = malloc(DETECT_STEPS_MAX * sizeof(nimbus_prov_step_t))};
  if (planned.v && store_prov_step_list(srv->store, head->tenant_id, head->run_id, collect_planned,
                                        &planned) == STORE_OK)
    for (int i = 0; i < planned.n; i++)
      step_transition(srv, &planned.v[i], PROV_EV_SKIP, "contract canceled", false, now);
  free(planned.v);
  return true;
}

void provisioning_sweep(nimbus_server_t *srv, int64_t now) {
  contracts_t cs = {.v = malloc(DETECT_CONTRACTS_MAX * sizeof(nimbus_contract_t))};
  if (cs.v && store_contract_due_each(srv->store, now, collect_contract, &cs) == STORE_OK)
    for (int i = 0; i < cs.n; i++) detect_contract(srv, &cs.v[i], now);
  free(cs.v);

  steps_t ss = {.v = malloc(DETECT_STEPS_MAX * sizeof(nimbus_prov_step_t))};
  if (!ss.v) return;
  int timeout = srv->cfg.provision_step_timeout > 0 ? srv->cfg.provision_step_timeout : 600;
  if (store_prov_step_timed_out(srv->store, now - timeout, DETECT_STEPS_MAX, collect_step, &ss) ==
      STORE_OK)
    for (int i = 0; i < ss.n; i++) step_transition(srv, &ss.v[i], PROV_EV_TIMEOUT, NULL, true, now);
  ss.n = 0;
  ss.cloud_only = true;
  if (store_prov_step_heads(srv->store, 0, now, 1000, collect_step, &ss) == STORE_OK)
    for (int i = 0; i < ss.n; i++) {
      if (head_canceled(srv, &ss.v[i], now)) continue;
      if (prov_kind_is_cloud(ss.v[i].kind)) cloud_step_apply(srv, &ss.v[i], now);
    }
  free(ss.v);
}
