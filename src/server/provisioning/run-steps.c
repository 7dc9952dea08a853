/*
 * run-steps.c: the provisioning step state machine (docs/PROVISIONING.md
 * §6), the one place a step changes (step_transition), and the run's end.
 *
 *   planned ──SERVE (attempts + 1)──▶ sent ──CONFIRM──▶ confirmed
 *      ▲                               │
 *      └──FAIL transient / TIMEOUT, ───┤──FAIL permanent, or attempts
 *         attempts < retries:          │  = --provision-retries──▶ failed
 *         next_at = now + backoff      │
 *   planned|sent ──SKIP (reason)──▶ skipped
 *
 * Invariants: a step moves only from the state and attempt count it was
 * read with (store_prov_step_transition compares both), so two nodes, or
 * a report racing the timeout sweep, never both move it; every move
 * writes a provisioning_events row in the same transaction.  Only the
 * head step of a printer in a run (every earlier one confirmed or
 * skipped) is ever served (store_prov_step_heads); a failed step stays
 * the head, so the printer's later steps in that run stay planned
 * ("blocked") and other printers go on.  A run ends when no step is sent
 * and every planned step is behind a failed one: done when none failed,
 * partial otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "provisioning.h"

bool prov_kind_is_cloud(const char *kind) {
  return !strcmp(kind, "backup") || !strcmp(kind, "consumables") || !strcmp(kind, "parts_life");
}

const char *prov_step_state_name(nimbus_step_state_t s) {
  switch (s) {
    case NIMBUS_STEP_PLANNED:
      return "planned";
    case NIMBUS_STEP_SENT:
      return "sent";
    case NIMBUS_STEP_CONFIRMED:
      return "confirmed";
    case NIMBUS_STEP_FAILED:
      return "failed";
    case NIMBUS_STEP_SKIPPED:
      return "skipped";
  }
  return "unknown";
}

const char *prov_run_state_name(nimbus_run_state_t s) {
  switch (s) {
    case NIMBUS_RUN_RUNNING:
      return "running";
    case NIMBUS_RUN_DONE:
      return "done";
    case NIMBUS_RUN_PARTIAL:
      return "partial";
    case NIMBUS_RUN_NOTHING:
      return "nothing-to-do";
  }
  return "unknown";
}

int64_t prov_backoff(int attempts) {
  int64_t d = PROV_BACKOFF_BASE;
  for (int i = 1; i < attempts && d < PROV_BACKOFF_MAX; i++) d *= 2;
  return d < PROV_BACKOFF_MAX ? d : PROV_BACKOFF_MAX;
}

static int retries_of(const nimbus_server_t *srv) {
  return srv->cfg.provision_retries > 0 ? srv->cfg.provision_retries : 5;
}

store_status_t step_transition(nimbus_server_t *srv, nimbus_prov_step_t *s, prov_event_t ev,
                               const char *reason, bool transient, int64_t now) {
  nimbus_prov_step_t n = *s;
  const char *detail = "";
  char buf[NIMBUS_TEXT_MAX];
  switch (ev) {
    case PROV_EV_SERVE:
      if (s->state != NIMBUS_STEP_PLANNED) return STORE_CONFLICT;
      n.state = NIMBUS_STEP_SENT;
      n.attempts = s->attempts + 1;
      n.sent_at = now;
      detail = "served";
      break;
    case PROV_EV_CONFIRM:
      if (s->state != NIMBUS_STEP_SENT) return STORE_CONFLICT;
      n.state = NIMBUS_STEP_CONFIRMED;
      n.finished_at = now;
      n.reason[0] = '\0';
      detail = "confirmed";
      break;
    case PROV_EV_TIMEOUT:
      transient = true;
      snprintf(buf, sizeof buf, "no report within %d s", srv->cfg.provision_step_timeout);
      reason = buf;
      /* fall through */
    case PROV_EV_FAIL:
      if (s->state != NIMBUS_STEP_SENT) return STORE_CONFLICT;
      snprintf(n.reason, sizeof n.reason, "%s", reason && reason[0] ? reason : "failed");
      if (transient && s->attempts < retries_of(srv)) {
        n.state = NIMBUS_STEP_PLANNED;
        n.next_at = now + prov_backoff(s->attempts);
        detail = ev == PROV_EV_TIMEOUT ? "timed out: retry" : "failed: retry";
      } else {
        n.state = NIMBUS_STEP_FAILED;
        n.finished_at = now;
        detail = transient ? "failed: retries exhausted" : "failed";
      }
      break;
    case PROV_EV_SKIP:
      if (s->state != NIMBUS_STEP_PLANNED && s->state != NIMBUS_STEP_SENT) return STORE_CONFLICT;
      n.state = NIMBUS_STEP_SKIPPED;
      n.finished_at = now;
      snprintf(n.reason, sizeof n.reason, "%s", reason ? reason : "");
      detail = "skipped";
      break;
  }
  store_status_t status =
      store_prov_step_transition(srv->store, &n, s->state, s->attempts, detail, now);
  if (status != STORE_OK) return status;
  log_event(LOG_INFO, NULL, "provisioning step", "run", LOG_INT(n.run_id), "step", LOG_INT(n.id),
            "device_id", LOG_INT(n.device_id), "kind", n.kind, "from",
            prov_step_state_name(s->state), "to", prov_step_state_name(n.state), "attempts",
            LOG_INT(n.attempts), (char *)NULL);
  *s = n;
  if (n.state == NIMBUS_STEP_CONFIRMED || n.state == NIMBUS_STEP_SKIPPED ||
      n.state == NIMBUS_STEP_FAILED)
    prov_run_settle(srv, n.run_id, now);
  return STORE_OK;
}

/* What a run's steps say about its end, collected per printer (steps come
 * by device, then seq). */
typedef struct {
  nimbus_id_t device;
  bool device_failed; /* a failed step seen for this device (later planned: blocked) */
  bool open;          /* something can still happen */
  bool any_failed;
} settle_t;

static bool settle_step(const nimbus_prov_step_t *s, void *ctx) {
  settle_t *t = ctx;
  if (s->device_id != t->device) {
    t->device = s->device_id;
    t->device_failed = false;
  }
  switch (s->state) {
    case NIMBUS_STEP_FAILED:
      t->device_failed = t->any_failed = true;
      break;
    case NIMBUS_STEP_SENT:
      t->open = true;
      break;
    case NIMBUS_STEP_PLANNED:
      if (!t->device_failed) t->open = true;
      break;
    default:
      break;
  }
  return true;
}

void prov_run_settle(nimbus_server_t *srv, nimbus_id_t run_id, int64_t now) {
  settle_t t = {0};
  if (store_prov_step_list(srv->store, 0, run_id, settle_step, &t) != STORE_OK || t.open) return;
  nimbus_run_state_t state = t.any_failed ? NIMBUS_RUN_PARTIAL : NIMBUS_RUN_DONE;
  if (store_prov_run_finish(
          srv->store, run_id, state,
          t.any_failed ? "a printer's step failed: its later steps are blocked" : "",
          now) == STORE_OK)
    log_event(LOG_INFO, NULL, "provisioning run ended", "run", LOG_INT(run_id), "state",
              prov_run_state_name(state), (char *)NULL);
}

/* The first head step of the printer (heads come oldest run first). */
static bool first_head(const nimbus_prov_step_t *s, void *ctx) {
  *(nimbus_prov_step_t *)ctx = *s;
  return false;
}

bool prov_step_next(nimbus_server_t *srv, const nimbus_device_t *d, nimbus_prov_step_t *out,
                    bool *found) {
  *found = false;
  for (int tries = 0; tries < 3; tries++) {
    int64_t now = (int64_t)time(NULL);
    out->id = 0;
    if (store_prov_step_heads(srv->store, d->id, now, 1, first_head, out) != STORE_OK) return false;
    if (out->id == 0 || out->tenant_id != d->tenant_id) return true;
    if (prov_kind_is_cloud(out->kind)) return true; /* nimbusd's own: the sweep applies it */
    if (out->state == NIMBUS_STEP_SENT) {           /* asked again: the same step */
      *found = true;
      return true;
    }
    store_status_t st = step_transition(srv, out, PROV_EV_SERVE, NULL, false, now);
    if (st == STORE_OK) {
      *found = true;
      return true;
    }
    if (st != STORE_CONFLICT) return false;
    /* served or moved by another request meanwhile: look again */
  }
  return true;
}

prov_report_t prov_step_report(nimbus_server_t *srv, const nimbus_device_t *d, nimbus_id_t step_id,
                               bool ok, const char *reason, bool transient,
                               nimbus_prov_step_t *out) {
  for (int tries = 0; tries < 3; tries++) {
    store_status_t st = store_prov_step_get(srv->store, d->tenant_id, step_id, out);
    if (st == STORE_NOT_FOUND || (st == STORE_OK && out->device_id != d->id))
      return PROV_REPORT_NOT_FOUND;
    if (st != STORE_OK) return PROV_REPORT_ERROR;
    /* a report repeated (its answer was lost): what it reported is there */
    if (ok && out->state == NIMBUS_STEP_CONFIRMED) return PROV_REPORT_SAME;
    if (!ok && (out->state == NIMBUS_STEP_FAILED ||
                (out->state == NIMBUS_STEP_PLANNED && out->attempts > 0)))
      return PROV_REPORT_SAME;
    if (out->state != NIMBUS_STEP_SENT) return PROV_REPORT_NOT_SENT;
    st = step_transition(srv, out, ok ? PROV_EV_CONFIRM : PROV_EV_FAIL, reason, transient,
                         (int64_t)time(NULL));
    if (st == STORE_OK) return PROV_REPORT_OK;
    if (st != STORE_CONFLICT) return PROV_REPORT_ERROR;
  }
  return PROV_REPORT_ERROR;
}
