/*
 * provision.c: the provisioning thread (PROVISIONING.md §8.2, §8.3).
 *
 * It asks nimbusd for the next step (GET /device/provisioning) at start,
 * after each step, and then every --provision-poll seconds (or sooner
 * when nimbusd's "poll" says so).  A step is journaled before anything is
 * done (provision-journal.c) and driven through
 *
 *   received ──▶ downloaded ──▶ installing ──▶ applied ──▶ (reported: file removed)
 *       │  (query says the target runs) ─────────▲
 *       └──────────────── any failure ──▶ failed ──▶ (reported)
 *
 * so that a restart (kill -9) picks up where it stopped: a partial
 * download resumes, a step found `installing` asks the installer's `query`
 * first, a known outcome is only reported again.  No package installs
 * twice: `query` runs before every install.  The inventory (§8.2) is sent
 * at start and after every confirmed step.  DIR/known.json lists the
 * firmware and applications learnt from steps, whose versions the
 * inventory asks the installer for.
 */
#include "provision.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "connector.h"
#include "device-api.h"
#include "fsutil.h"
#include "log.h"

#define PROV_ERROR_PAUSE_MS 2000

/* The panel's view of the step (under lock). */
static void prov_show(connector_t *c, const pj_step_t *st, const char *state) {
  pthread_mutex_lock(&c->lock);
  c->prov_step_id = st->id;
  snprintf(c->prov_kind, sizeof c->prov_kind, "%s", st->kind);
  snprintf(c->prov_name, sizeof c->prov_name, "%s", st->name);
  snprintf(c->prov_state, sizeof c->prov_state, "%s", state);
  snprintf(c->prov_reason, sizeof c->prov_reason, "%s", st->reason);
  pthread_mutex_unlock(&c->lock);
}

/* Journal st in its new state; a journal that cannot be written stops the step. */
static bool prov_set(connector_t *c, pj_step_t *st, pj_state_t s) {
  char err[512];
  st->state = s;
  prov_show(c, st, pj_state_name(s));
  if (!pj_save(c->opt.provision_dir, st, err, sizeof err)) {
    log_event(LOG_ERROR, NULL, "cannot journal the provisioning step", "error", err, (char *)NULL);
    return false;
  }
  log_event(LOG_INFO, NULL, "provisioning step", "step", LOG_INT(st->id), "kind", st->kind, "name",
            st->name, "state", pj_state_name(s), (char *)NULL);
  return true;
}

/* The outcome of st: failed (reason, transient) or applied (version). */
static bool prov_fail(connector_t *c, pj_step_t *st, const char *reason, bool transient) {
  size_t n = strnlen(reason, sizeof st->reason - 1); /* cut, as the report allows */
  memcpy(st->reason, reason, n);
  st->reason[n] = '\0';
  st->transient = transient;
  return prov_set(c, st, PJ_FAILED);
}

/* ---- known items (known.json) ---- */

static json_t *prov_known_load(connector_t *c) {
  char path[4200];
  snprintf(path, sizeof path, "%s/known.json", c->opt.provision_dir);
  json_t *k = json_load_file(path, 0, NULL);
  if (!json_is_object(k)) {
    json_decref(k);
    k = json_object();
  }
  return k;
}

/* Remember kind/name as an item this printer has (firmware: the one). */
static void prov_known_add(connector_t *c, const char *kind, const char *name) {
  json_t *k = prov_known_load(c);
  if (!strcmp(kind, "firmware")) {
    json_object_set_new(k, "firmware", json_string(name));
  } else {
    json_t *apps = json_object_get(k, "applications");
    if (!json_is_object(apps)) {
      apps = json_object();
      json_object_set_new(k, "applications", apps);
    }
    json_object_set_new(apps, name, json_true());
  }
  char path[4200], tmp[4300];
  snprintf(path, sizeof path, "%s/known.json", c->opt.provision_dir);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  if (json_dump_file(k, tmp, JSON_COMPACT) == 0 && rename(tmp, path) == 0)
    fs_sync_dir(c->opt.provision_dir);
  json_decref(k);
}

/* The version the installer's query reports for kind/name ("" when not installed). */
static void prov_query(connector_t *c, int64_t step_id, const char *kind, const char *name,
                       char *version, size_t len) {
  const char *args[] = {"query", kind, name, NULL};
  pi_outcome_t q;
  version[0] = '\0';
  if (!c->opt.installer[0]) return;
  pi_run(c->opt.installer, args, true, step_id, c->opt.output, c->opt.installer_timeout, NULL, &q);
  if (q.result == PI_OK) snprintf(version, len, "%s", q.version);
}

/* ---- inventory (§8.2) ---- */

static bool prov_send_inventory(connector_t *c) {
  json_t *known = prov_known_load(c);
  json_t *body = json_object(), *apps = json_object(), *versions = json_object();
  char v[PJ_NAME_MAX];
  const char *fw = json_string_value(json_object_get(known, "firmware"));
  if (fw) {
    prov_query(c, 0, "firmware", fw, v, sizeof v);
    if (v[0]) {
      json_object_set_new(body, "firmware", json_pack("{ss ss}", "name", fw, "version", v));
      json_object_set_new(versions, "firmware", json_pack("{ss ss}", "name", fw, "version", v));
    }
  }
  const char *name;
  json_t *x;
  json_object_foreach(json_object_get(known, "applications"), name, x) {
    prov_query(c, 0, "application", name, v, sizeof v);
    if (v[0]) json_object_set_new(apps, name, json_string(v));
  }
  json_object_set_new(versions, "applications", json_deep_copy(apps));
  json_object_set_new(body, "applications", apps);
  json_object_set_new(body, "settings",
                      ps_inventory_settings(c->opt.state, &c->opt, c->opt.output));
  json_decref(known);

  pthread_mutex_lock(&c->lock);
  json_decref(c->prov_versions);
  c->prov_versions = versions;
  pthread_mutex_unlock(&c->lock);

  device_api_answer_t ans;
  bool ok = device_api_call(c, "POST", "/device/inventory", NULL, body, &ans);
  json_decref(body);
  bool sent = ok && ans.status >= 200 && ans.status < 300;
  if (ok && !sent)
    log_event(LOG_WARN, NULL, "inventory refused", "status", LOG_INT(ans.status), (char *)NULL);
  else if (sent)
    log_event(LOG_INFO, NULL, "inventory sent", (char *)NULL);
  device_api_answer_free(&ans);
  return sent || (ok && ans.status == 404); /* 404: a server without provisioning */
}

/* ---- one step ---- */

/* Download st's package; false with the step failed (or left as is when stopping). */
static bool prov_download(connector_t *c, pj_step_t *st) {
  char base[STATE_URI_MAX + 8], url[STATE_URI_MAX + 128], auth[160], err[512];
  if (!device_api_base_url(c, base, sizeof base)) {
    prov_fail(c, st, "not registered", true);
    return false;
  }
  snprintf(url, sizeof url, "%s/api/v1/device/packages/%lld", base, (long long)st->package_id);
  pthread_mutex_lock(&c->lock);
  snprintf(auth, sizeof auth, "Authorization: Bearer %s", c->state.credential);
  pthread_mutex_unlock(&c->lock);
  char part[4200];
  struct stat sb;
  pdl_path(c->opt.provision_dir, st->package_id, true, part, sizeof part);
  if (stat(part, &sb) == 0 && sb.st_size > 0)
    log_event(LOG_INFO, NULL, "package download resumes", "step", LOG_INT(st->id), "package",
              LOG_INT(st->package_id), "offset", LOG_INT(sb.st_size), (char *)NULL);
  bool mismatch = false;
  bool ok =
      pdl_fetch(url, auth, "http,https", c->opt.provision_dir, st->package_id, st->package_size,
                st->sha256, c->opt.provision_max_rate, &c->stopping, &mismatch, err, sizeof err);
  memset(auth, 0, sizeof auth);
  if (ok) return true;
  if (atomic_load(&c->stopping)) return false; /* the part stays; a restart resumes it */
  log_event(LOG_WARN, NULL, "package download failed", "step", LOG_INT(st->id), "package",
            LOG_INT(st->package_id), "error", err, (char *)NULL);
  prov_fail(c, st, mismatch ? "checksum mismatch" : err, true);
  return false;
}

/* DIR/install-<id>.lock: held by a running installer of step id. */
static void prov_lock_path(connector_t *c, int64_t id, char *out, size_t len) {
  snprintf(out, len, "%s/install-%lld.lock", c->opt.provision_dir, (long long)id);
}

/* Run the installer for st (its package downloaded); sets the outcome. */
static void prov_install(connector_t *c, pj_step_t *st) {
  char file[4200];
  pdl_path(c->opt.provision_dir, st->package_id, false, file, sizeof file);
  const char *args[] = {"install", st->kind, st->name, st->version, file, NULL};
  char lock[4200];
  prov_lock_path(c, st->id, lock, sizeof lock);
  pi_outcome_t r;
  pi_run(c->opt.installer, args, false, st->id, c->opt.output, c->opt.installer_timeout, lock, &r);
  if (r.result == PI_OK) {
    snprintf(st->result_version, sizeof st->result_version, "%s",
             r.version[0] ? r.version : st->version);
    prov_set(c, st, PJ_APPLIED);
  } else {
    prov_fail(c, st, r.reason, r.result == PI_TRANSIENT);
  }
}

/* Drive a package step from its journaled state to an outcome. */
static void prov_package(connector_t *c, pj_step_t *st) {
  if (!c->opt.installer[0]) {
    prov_fail(c, st, "no installer configured", false);
    return;
  }
  if (st->state == PJ_INSTALLING) {
    /* a restart while the installer ran: that run may go on (its own process
     * group); wait for it to end before asking what is installed */
    char lock[4200];
    prov_lock_path(c, st->id, lock, sizeof lock);
    if (!pi_wait_previous(lock, c->opt.installer_timeout)) {
      prov_fail(c, st, "an earlier installer run of this step does not end", true);
      return;
    }
  }
  if (st->state == PJ_RECEIVED || st->state == PJ_DOWNLOADED || st->state == PJ_INSTALLING) {
    /* no package installs twice: what runs already? (also after a crash mid-install) */
    char v[PJ_NAME_MAX];
    prov_query(c, st->id, st->kind, st->name, v, sizeof v);
    if (v[0] && !strcmp(v, st->version)) {
      snprintf(st->result_version, sizeof st->result_version, "%s", v);
      log_event(LOG_INFO, NULL, "already installed, not installing again", "step", LOG_INT(st->id),
                "name", st->name, "version", v, (char *)NULL);
      prov_set(c, st, PJ_APPLIED);
      return;
    }
  }
  if (st->state == PJ_RECEIVED) {
    if (!prov_download(c, st)) return;
    if (!prov_set(c, st, PJ_DOWNLOADED)) return;
  }
  if (st->state == PJ_DOWNLOADED || st->state == PJ_INSTALLING) {
    char file[4200], have[65];
    pdl_path(c->opt.provision_dir, st->package_id, false, file, sizeof file);
    if (!pdl_hash_file(file, have) || strcmp(have, st->sha256)) {
      /* gone or changed on disk since: never install it; fetch again */
      pdl_remove(c->opt.provision_dir, st->package_id);
      if (!prov_set(c, st, PJ_RECEIVED) || !prov_download(c, st)) return;
      if (!prov_set(c, st, PJ_DOWNLOADED)) return;
    }
    if (!prov_set(c, st, PJ_INSTALLING)) return;
    prov_install(c, st);
  }
}

/* Report st's outcome; true once nimbusd has it (the journal is then removed). */
static bool prov_report(connector_t *c, pj_step_t *st) {
  json_t *body = json_object();
  bool confirmed = st->state == PJ_APPLIED;
  json_object_set_new(body, "result", json_string(confirmed ? "confirmed" : "failed"));
  if (confirmed && st->result_version[0])
    json_object_set_new(body, "version", json_string(st->result_version));
  if (!confirmed) {
    json_object_set_new(body, "reason", json_string(st->reason));
    if (st->transient) json_object_set_new(body, "transient", json_true());
  }
  char path[64];
  snprintf(path, sizeof path, "/device/provisioning/steps/%lld", (long long)st->id);
  device_api_answer_t ans;
  bool ok = device_api_call(c, "POST", path, NULL, body, &ans);
  json_decref(body);
  /* 409: no longer `sent` (timed out and re-planned), 404: gone; either way done here */
  bool done = ok && (ans.status == 200 || ans.status == 404 || ans.status == 409);
  if (ok && !done)
    log_event(LOG_WARN, NULL, "step report refused", "step", LOG_INT(st->id), "status",
              LOG_INT(ans.status), (char *)NULL);
  device_api_answer_free(&ans);
  if (!done) return false;
  log_event(LOG_INFO, NULL, "provisioning step reported", "step", LOG_INT(st->id), "kind", st->kind,
            "name", st->name, "result", confirmed ? "confirmed" : "failed", "reason",
            confirmed ? NULL : st->reason, (char *)NULL);
  if (confirmed && strcmp(st->kind, "settings")) prov_known_add(c, st->kind, st->name);
  if (st->package_id) pdl_remove(c->opt.provision_dir, st->package_id);
  char lock[4200];
  prov_lock_path(c, st->id, lock, sizeof lock);
  unlink(lock);
  pj_remove(c->opt.provision_dir, st->id);
  st->state = PJ_REPORTED;
  prov_show(c, st, confirmed ? "confirmed" : "failed");
  return true;
}

/* Take one served step (or a journaled one) to its report.  Returns 1 when
 * confirmed, 0 when failed or not finished, -1 when nimbusd was not reached. */
static int prov_drive(connector_t *c, pj_step_t *st) {
  if (st->state == PJ_RECEIVED && !strcmp(st->kind, "settings")) {
    char reason[PJ_REASON_MAX] = "";
    if (ps_apply(c->opt.state, c->opt.output, st->target, &c->opt, reason, sizeof reason))
      prov_set(c, st, PJ_APPLIED);
    else
      prov_fail(c, st, reason, false);
  } else if (st->state < PJ_APPLIED) {
    prov_package(c, st);
  }
  if (st->state != PJ_APPLIED && st->state != PJ_FAILED) return 0;
  if (!prov_report(c, st)) return -1;
  return st->reason[0] ? 0 : 1;
}

/* Report the outcomes journaled before a restart whose report did not get through. */
static void prov_flush(connector_t *c) {
  int64_t ids[64];
  size_t n = pj_list(c->opt.provision_dir, ids, 64);
  for (size_t i = 0; i < n; i++) {
    pj_step_t st;
    if (!pj_load(c->opt.provision_dir, ids[i], &st)) continue;
    if (st.state == PJ_APPLIED || st.state == PJ_FAILED) prov_report(c, &st);
    pj_free(&st);
  }
}

/* Ask for the next step and drive it.  Returns the seconds to wait before
 * asking again (0: at once); *confirmed when a step was confirmed. */
static int prov_round(connector_t *c, bool *confirmed) {
  device_api_answer_t ans;
  int wait = c->opt.provision_poll;
  *confirmed = false;
  if (!device_api_call(c, "GET", "/device/provisioning", NULL, NULL, &ans) || ans.status != 200) {
    if (ans.status && ans.status != 404)
      log_event(LOG_WARN, NULL, "provisioning poll failed", "status", LOG_INT(ans.status),
                (char *)NULL);
    device_api_answer_free(&ans);
    return wait;
  }
  json_t *poll = json_object_get(ans.body, "poll");
  if (json_is_integer(poll) && json_integer_value(poll) > 0 && json_integer_value(poll) < wait)
    wait = (int)json_integer_value(poll);
  json_t *step = json_array_get(json_object_get(ans.body, "steps"), 0);
  if (!step) {
    device_api_answer_free(&ans);
    return wait;
  }
  pj_step_t st, j;
  char err[256];
  if (!pj_from_wire(step, &st, err, sizeof err)) {
    log_event(LOG_WARN, NULL, "bad provisioning step", "error", err, (char *)NULL);
    json_t *id = json_object_get(step, "id");
    if (json_is_integer(id)) { /* say so, so it does not come back for ever */
      memset(&st, 0, sizeof st);
      st.id = json_integer_value(id);
      snprintf(st.kind, sizeof st.kind, "%s", "unknown");
      snprintf(st.reason, sizeof st.reason, "%s", err);
      st.state = PJ_FAILED;
      prov_report(c, &st);
    }
    device_api_answer_free(&ans);
    return wait;
  }
  device_api_answer_free(&ans);
  if (pj_load(c->opt.provision_dir, st.id, &j)) { /* resumed after a restart */
    log_event(LOG_INFO, NULL, "resuming provisioning step", "step", LOG_INT(j.id), "state",
              pj_state_name(j.state), (char *)NULL);
    pj_free(&st);
    st = j;
  } else if (!prov_set(c, &st, PJ_RECEIVED)) {
    pj_free(&st);
    return wait;
  }
  int r = prov_drive(c, &st);
  pj_free(&st);
  if (atomic_load(&c->stopping)) return wait;
  if (r < 0) return PROV_ERROR_PAUSE_MS / 1000;
  *confirmed = r == 1;
  return 0; /* ask at once after each step */
}

static void *provision_thread(void *arg) {
  connector_t *c = arg;
  bool inventory_due = true;
  while (!atomic_load(&c->stopping)) {
    pthread_mutex_lock(&c->lock);
    bool registered = state_has_registration(&c->state);
    pthread_mutex_unlock(&c->lock);
    if (!registered || !atomic_load(&c->allowed)) {
      inventory_due = true; /* again once talking (a new registration) */
      connector_sleep(c, 1000);
      continue;
    }
    prov_flush(c);
    if (inventory_due) inventory_due = !prov_send_inventory(c);
    bool confirmed = false;
    int wait = prov_round(c, &confirmed);
    if (confirmed) inventory_due = true;
    if (wait > 0) connector_sleep(c, wait * 1000);
  }
  return NULL;
}

bool provision_start(connector_t *c, char *err, size_t errlen) {
  if (mkdir(c->opt.provision_dir, 0700) != 0 && errno != EEXIST) {
    snprintf(err, errlen, "cannot create %s: %s", c->opt.provision_dir, strerror(errno));
    return false;
  }
  if (!device_api_init()) {
    snprintf(err, errlen, "cannot initialise libcurl");
    return false;
  }
  if (pthread_create(&c->prov_tid, NULL, provision_thread, c) != 0) {
    snprintf(err, errlen, "cannot start the provisioning thread");
    device_api_cleanup();
    return false;
  }
  c->prov_started = true;
  return true;
}

void provision_stop(connector_t *c) {
  if (!c->prov_started) return;
  pthread_join(c->prov_tid, NULL);
  c->prov_started = false;
  device_api_cleanup();
  json_decref(c->prov_versions);
  c->prov_versions = NULL;
}

json_t *provision_status_json(connector_t *c) {
  json_t *o = json_object();
  pthread_mutex_lock(&c->lock);
  if (c->prov_step_id) {
    json_object_set_new(
        o, "step",
        json_pack("{sI ss ss ss ss}", "id", (json_int_t)c->prov_step_id, "kind", c->prov_kind,
                  "name", c->prov_name, "state", c->prov_state, "reason", c->prov_reason));
  }
  json_object_set_new(o, "versions",
                      c->prov_versions ? json_deep_copy(c->prov_versions) : json_object());
  pthread_mutex_unlock(&c->lock);
  return o;
}
