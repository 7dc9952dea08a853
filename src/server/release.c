/*
 * release.c: releasing a held job at a printer, and the PIN checks that
 * every way of releasing shares (see release.h for the pipeline).
 */
#include "release.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "device.h"
#include "job.h"
#include "log.h"

pin_result_t job_pin_check(nimbus_server_t *srv, const nimbus_job_t *job, const char *pin,
                           const char *actor, int *attempts_left, int64_t *locked_until) {
  int max = srv->cfg.pin_max_attempts > 0 ? srv->cfg.pin_max_attempts : 5;
  int window = srv->cfg.pin_lockout > 0 ? srv->cfg.pin_lockout : 900;
  int64_t now = (int64_t)time(NULL);
  if (attempts_left) *attempts_left = max;
  if (locked_until) *locked_until = 0;
  if (!job->pin_hash[0]) return PIN_OK;
  if (job->pin_locked_until > now) {
    if (locked_until) *locked_until = job->pin_locked_until;
    return PIN_LOCKED;
  }
  if (!pin || !*pin) return PIN_MISSING;
  /* argon2id verification is constant-time in the PIN; the attempt is
   * then counted (or the count cleared) in the store in one step. */
  bool ok = crypto_pin_verify(job->pin_hash, pin);
  int failures = 0;
  int64_t until = 0;
  char detail[64];
  snprintf(detail, sizeof detail, "job %lld", (long long)job->id);
  switch (store_job_pin_attempt(srv->store, job->tenant_id, job->id, ok, now, window, max,
                                &failures, &until)) {
    case STORE_OK:
      break;
    case STORE_CONFLICT: /* locked meanwhile by another attempt */
      store_audit_append(srv->store, job->tenant_id, actor, "job.pin-locked", detail);
      if (locked_until) *locked_until = until ? until : now + window;
      return PIN_LOCKED;
    default:
      return PIN_ERROR;
  }
  if (ok) {
    store_audit_append(srv->store, job->tenant_id, actor, "job.pin-ok", detail);
    return PIN_OK;
  }
  store_audit_append(srv->store, job->tenant_id, actor, "job.pin-wrong", detail);
  log_event(LOG_INFO, NULL, "wrong job PIN", "job_id", LOG_INT(job->id), "by", actor, "failures",
            LOG_INT(failures), (char *)NULL);
  if (until > now) {
    store_audit_append(srv->store, job->tenant_id, actor, "job.pin-locked", detail);
    if (locked_until) *locked_until = until;
    if (attempts_left) *attempts_left = 0;
    return PIN_LOCKED;
  }
  if (attempts_left) *attempts_left = max - failures > 0 ? max - failures : 0;
  return PIN_WRONG;
}

bool release_in_scope(nimbus_server_t *srv, const nimbus_device_t *d, nimbus_id_t user_id,
                      const nimbus_job_t *job) {
  if (job->tenant_id != d->tenant_id || job->owner_id != user_id || user_id == 0) return false;
  if (job->state != NIMBUS_JOB_HELD && job->state != NIMBUS_JOB_RECEIVED) return false;
  /* came through this printer */
  if (job->origin_device_id == d->id) return true;
  /* the job's queue decides the rest */
  nimbus_queue_t q;
  if (store_queue_get_by_name(srv->store, job->tenant_id, job->queue_name, &q) != STORE_OK)
    return false;
  /* follow-me: at any printer of the tenant */
  if (strcmp(q.release_scope, "follow-me") == 0) return true;
  /* this-printer: jobs sent straight to nimbusd (IPP, REST, nimbusctl)
   * show at the printers of their queue; those that came through another
   * printer do not */
  return job->origin_device_id == 0 && device_serves_queue(d, job->queue_id);
}

/* Step 3 of the pipeline: does the job need paying before it prints?
 * Payments do not exist yet, so nothing does; a provider will answer
 * "yes" here and move the job to awaiting-payment instead of step 4-5. */
static bool release_payment_required(nimbus_server_t *srv, const nimbus_job_t *job) {
  (void)srv;
  (void)job;
  return false;
}

release_result_t release_at_device(nimbus_server_t *srv, const nimbus_device_t *d,
                                   nimbus_id_t user_id, nimbus_id_t job_id, const char *pin,
                                   const char *actor, nimbus_job_t *out, int *attempts_left,
                                   int64_t *locked_until) {
  nimbus_job_t job;
  /* 1. whose, where */
  store_status_t s = store_job_get(srv->store, d->tenant_id, job_id, &job);
  if (s == STORE_NOT_FOUND) return RELEASE_NOT_FOUND;
  if (s != STORE_OK) return RELEASE_ERROR;
  if (job.owner_id != user_id || !release_in_scope(srv, d, user_id, &job))
    return job.owner_id == user_id && job.state != NIMBUS_JOB_HELD ? RELEASE_NOT_HELD
                                                                   : RELEASE_NOT_FOUND;
  if (job.state != NIMBUS_JOB_HELD) return RELEASE_NOT_HELD;
  /* 2. PIN */
  switch (job_pin_check(srv, &job, pin, actor, attempts_left, locked_until)) {
    case PIN_OK:
      break;
    case PIN_MISSING:
      return RELEASE_PIN_MISSING;
    case PIN_WRONG:
      return RELEASE_PIN_WRONG;
    case PIN_LOCKED:
      return RELEASE_PIN_LOCKED;
    case PIN_ERROR:
      return RELEASE_ERROR;
  }
  /* 3. payment (see release_payment_required) */
  if (release_payment_required(srv, &job)) return RELEASE_ERROR;
  /* 4. this printer only, set before the job becomes fetchable so the
   * notification goes to this printer alone; a follow-me job from a queue
   * this printer does not serve moves to one it does */
  if (!device_serves_queue(d, job.queue_id) && d->nqueues > 0) {
    s = store_job_move_held(srv->store, job.tenant_id, job.id, d->queue_ids[0]);
    if (s != STORE_OK) return s == STORE_NOT_FOUND ? RELEASE_NOT_HELD : RELEASE_ERROR;
  }
  s = store_job_set_target_device(srv->store, job.tenant_id, job.id, d->id);
  if (s != STORE_OK) return s == STORE_NOT_FOUND ? RELEASE_NOT_FOUND : RELEASE_ERROR;
  /* 5. held -> fetchable */
  switch (job_apply(srv->store, job.tenant_id, job.id, JOB_EVENT_RELEASE, actor, out)) {
    case JOB_OK:
      log_event(LOG_INFO, NULL, "job released at a printer", "job_id", LOG_INT(job.id), "device",
                d->name, "by", actor, (char *)NULL);
      return RELEASE_OK;
    case JOB_NOT_FOUND:
      return RELEASE_NOT_FOUND;
    case JOB_NOT_POSSIBLE:
      return RELEASE_NOT_HELD;
    case JOB_ERROR:
      return RELEASE_ERROR;
  }
  return RELEASE_ERROR;
}
