/*
 * release.c: the release pipeline every way of releasing a held job goes
 * through (see release.h for its steps), and the PIN check inside it with
 * its policy: the counting window and the lockout (the store only keeps
 * the counter, compare-and-set).
 */
#include "release.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "device.h"
#include "job.h"
#include "log.h"
#include "charge.h"
#include "payment-flow.h"
#include "price.h"

bool release_pin_next(const store_pin_counter_t *cur, bool ok, int64_t now, int window, int max,
                      store_pin_counter_t *next) {
  if (cur->locked_until > now) return false;
  *next = *cur;
  next->locked_until = 0; /* a lock that is over */
  if (ok) {
    next->failures = 0;
    next->window_start = 0;
    return true;
  }
  int64_t start = cur->window_start;
  if (start == 0 || window <= 0 || now - start >= window || now < start) {
    next->failures = 0;
    next->window_start = now; /* a new window */
  }
  next->failures++;
  if (max > 0 && next->failures >= max) next->locked_until = now + (window > 0 ? window : 0);
  return true;
}

/* Compare-and-set rounds before release_pin_record() gives up: each lost
 * round is another attempt recorded, and max of them lock the job. */
#define RELEASE_PIN_CAS_TRIES 16

store_status_t release_pin_record(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id, bool ok,
                                  int64_t now, int window, int max, store_pin_counter_t *after,
                                  const store_audit_t *audit) {
  for (int i = 0; i < RELEASE_PIN_CAS_TRIES; i++) {
    store_pin_counter_t cur, next;
    store_status_t s = store_job_pin_get(st, tenant_id, job_id, &cur);
    if (s != STORE_OK) return s;
    if (!release_pin_next(&cur, ok, now, window, max, &next)) {
      if (after) *after = cur;
      return STORE_CONFLICT; /* locked: nothing is recorded */
    }
    s = store_job_pin_cas_audited(st, tenant_id, job_id, &cur, &next, audit);
    if (s == STORE_CONFLICT) continue; /* another attempt came first: count on top of it */
    if (s == STORE_OK && after) *after = next;
    return s;
  }
  return STORE_ERROR;
}

/*
 * Step 2 of the pipeline: check the PIN of req (clear or SHA-256; none
 * given = missing) against job's, argon2id in constant time, every
 * attempt counted in the store by release_pin_record() (--pin-max-attempts
 * within --pin-lockout seconds lock the job) and audited under
 * req->actor.  A locked job answers RELEASE_PIN_LOCKED whatever is given,
 * override included.  With req->override the PIN is not asked for:
 * audited as job.pin-override and logged, *overridden set.  The PIN is
 * never logged.
 */
static release_result_t release_check_pin(nimbus_server_t *srv, const nimbus_job_t *job,
                                          const release_request_t *req, release_outcome_t *out) {
  int max = srv->cfg.pin_max_attempts > 0 ? srv->cfg.pin_max_attempts : 5;
  int window = srv->cfg.pin_lockout > 0 ? srv->cfg.pin_lockout : 900;
  int64_t now = (int64_t)time(NULL);
  char detail[64];
  snprintf(detail, sizeof detail, "job %lld", (long long)job->id);
  out->attempts_left = max;
  out->locked_until = 0;
  if (!job->pin_hash[0]) return RELEASE_OK;
  if (job->pin_locked_until > now) {
    out->locked_until = job->pin_locked_until;
    out->attempts_left = 0;
    return RELEASE_PIN_LOCKED;
  }
  if (req->override) {
    store_audit_append(srv->store, job->tenant_id, req->actor, "job.pin-override", detail);
    log_event(LOG_WARN, req->request_id, "job PIN overridden by an admin", "job", LOG_INT(job->id),
              "by", req->actor, (char *)NULL);
    out->overridden = true;
    return RELEASE_OK;
  }
  bool given_clear = req->pin && *req->pin;
  if (!given_clear && !req->pin_sha256) return RELEASE_PIN_MISSING;
  /* argon2id verification is constant-time in the PIN; the attempt is
   * then counted (or the count cleared) in the store, compare-and-set. */
  bool ok = given_clear ? crypto_pin_verify(job->pin_hash, req->pin)
                        : crypto_pin_verify_sha256(job->pin_hash, req->pin_sha256);
  store_pin_counter_t after = {0, 0, 0};
  /* the attempt's audit row goes with its count, in one transaction */
  store_audit_t attempt = {.tenant_id = job->tenant_id,
                           .actor = req->actor,
                           .action = ok ? "job.pin-ok" : "job.pin-wrong",
                           .detail = detail};
  switch (release_pin_record(srv->store, job->tenant_id, job->id, ok, now, window, max, &after,
                             &attempt)) {
    case STORE_OK:
      break;
    case STORE_CONFLICT: /* locked meanwhile by another attempt */
      store_audit_append(srv->store, job->tenant_id, req->actor, "job.pin-locked", detail);
      out->locked_until = after.locked_until ? after.locked_until : now + window;
      out->attempts_left = 0;
      return RELEASE_PIN_LOCKED;
    default:
      return RELEASE_ERROR;
  }
  if (ok) return RELEASE_OK;
  log_event(LOG_WARN, req->request_id, "wrong job PIN", "job", LOG_INT(job->id), "by", req->actor,
            "failures", LOG_INT(after.failures), (char *)NULL);
  if (after.locked_until > now) {
    store_audit_append(srv->store, job->tenant_id, req->actor, "job.pin-locked", detail);
    out->locked_until = after.locked_until;
    out->attempts_left = 0;
    return RELEASE_PIN_LOCKED;
  }
  out->attempts_left = max - after.failures > 0 ? max - after.failures : 0;
  return RELEASE_PIN_WRONG;
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

nimbus_id_t release_target_device(nimbus_server_t *srv, const nimbus_job_t *job,
                                  const nimbus_device_t *d) {
  if (d) return d->id;
  if (!job->origin_device_id) return 0;
  nimbus_queue_t q;
  if (store_queue_get_by_name(srv->store, job->tenant_id, job->queue_name, &q) != STORE_OK ||
      strcmp(q.release_scope, "this-printer") != 0)
    return 0;
  /* this-printer: only the printer it came through lists it, so only that
   * printer prints it; gone, or no longer serving the queue: any printer
   * of the queue, or nobody could */
  nimbus_device_t origin;
  nimbus_id_t target = 0;
  if (store_device_get(srv->store, job->tenant_id, job->origin_device_id, &origin) == STORE_OK &&
      device_serves_queue(&origin, job->queue_id))
    target = origin.id;
  sodium_memzero(&origin, sizeof origin);
  return target;
}

typedef struct {
  const nimbus_pricing_t *queue;
  bool charges;
} release_pricing_scan_t;

static bool release_pricing_cb(const nimbus_device_t *d, void *ctx) {
  release_pricing_scan_t *scan = ctx;
  if (!d->pricing.price_table_id && !d->pricing.payment[0]) return true; /* the queue's terms */
  nimbus_pricing_t eff;
  price_policy_pick(scan->queue, &d->pricing, &eff);
  if (eff.price_table_id && strcmp(eff.payment, "at-printer") == 0) scan->charges = true;
  return !scan->charges;
}

/*
 * Does a printer of job's queue charge on terms of its own (its own price
 * table or payment mode), with payment at the printer?  Such a printer's
 * terms can only be met at its panel, so a release to "any printer of the
 * queue" must not reach it unpaid.  A queue whose printers all follow the
 * queue is paid on the queue's terms (REST pre-pay, payments_required).
 */
static bool release_some_printer_charges(nimbus_server_t *srv, const nimbus_job_t *job) {
  nimbus_queue_t q;
  if (store_queue_get_by_name(srv->store, job->tenant_id, job->queue_name, &q) != STORE_OK)
    return false;
  release_pricing_scan_t scan = {.queue = &q.pricing};
  if (store_device_list(srv->store, job->tenant_id, job->queue_id, release_pricing_cb, &scan) !=
      STORE_OK)
    return true; /* cannot tell: never let it print unpaid */
  return scan.charges;
}

/* Step 3 of the pipeline: a job that must be paid where it will print
 * (at printer d, or per its queue) gets a payment instead of steps 4-5;
 * the payment keeps the target and the queue move, and its verification
 * releases the job.  RELEASE_OK: no payment needed, go on. */
static release_result_t release_payment_step(nimbus_server_t *srv, const nimbus_job_t *job,
                                             const nimbus_device_t *d, nimbus_id_t queue,
                                             nimbus_id_t *target,
                                             const job_settings_change_t *settings,
                                             const release_request_t *req, release_outcome_t *out) {
  nimbus_job_quote_t quote;
  payflow_result_t why;
  /* paid already (then put back on hold): released again without a
   * second payment, to the printer it was paid at (or any, away from one) */
  nimbus_payment_t paid;
  if (payments_get_for_job(srv, job->tenant_id, job->id, &paid) == PAYFLOW_OK &&
      paid.state == NIMBUS_PAY_PAID) {
    if (settings) {
      /* what was paid for is what prints */
      snprintf(out->message, sizeof out->message,
               "this job is paid: its settings cannot change any more");
      return RELEASE_SETTINGS_REFUSED;
    }
    if (!d) *target = paid.device_id;
    return RELEASE_OK;
  }
  /* away from a printer, to any printer of the queue: each printer may
   * charge on its own terms, so one that takes payment at the printer
   * must get it there */
  if (!d && !*target && release_some_printer_charges(srv, job)) {
    snprintf(out->message, sizeof out->message,
             "a printer of this queue takes payment: release the job at the printer");
    return RELEASE_PAYMENT_REFUSED;
  }
  if (!payments_required(srv, job, d, &quote, &why, out->message, sizeof out->message))
    return RELEASE_OK;
  if (why == PAYFLOW_UNPRICEABLE) return RELEASE_PAYMENT_REFUSED;
  if (why != PAYFLOW_OK) return RELEASE_ERROR;
  payflow_result_t r =
      payments_begin_set(srv, job, &quote, *target, queue, settings, req->actor, req->request_id,
                         &out->payment, out->message, sizeof out->message);
  switch (r) {
    case PAYFLOW_OK:
      if (store_job_get(srv->store, job->tenant_id, job->id, &out->job) == STORE_OK)
        sodium_memzero(out->job.pin_hash, sizeof out->job.pin_hash);
      return RELEASE_PAYMENT_STARTED;
    case PAYFLOW_CONFLICT:
      return RELEASE_NOT_HELD;
    case PAYFLOW_NO_PROVIDER:
    case PAYFLOW_PROVIDER:
      return RELEASE_PAYMENT_REFUSED;
    default:
      return RELEASE_ERROR;
  }
}

/* Step 3a: a job with a purpose (the panel's choice, else its own, else
 * its owner's default) is checked again and released with its charge's
 * hold (charge_release), *res saying how it went.  false: no purpose
 * applies, go on. */
static bool release_purpose_step(nimbus_server_t *srv, const nimbus_job_t *job,
                                 const nimbus_device_t *d, nimbus_id_t queue, nimbus_id_t target,
                                 const job_settings_change_t *settings,
                                 const release_request_t *req, release_outcome_t *out,
                                 release_result_t *res) {
  const char *value = req->purpose && req->purpose[0] ? req->purpose : job->account_id;
  if (!value[0]) {
    /* no purpose on the job (the owner's default applied when it was
     * submitted, if there was one then): what the panel shows is what
     * is billed, so none now is none, unless one is required */
    if (!purpose_required(srv->store, job->tenant_id)) return false;
    out->purpose_why = PURPOSE_REQUIRED;
    snprintf(out->message, sizeof out->message,
             "this service requires a purpose on every job: choose one");
    *res = RELEASE_PURPOSE_REFUSED;
    return true;
  }
  purpose_choice_t *ch = calloc(1, sizeof *ch);
  *res = RELEASE_ERROR;
  if (!ch) return true;
  bool applies = true;
  purpose_result_t pr =
      purpose_resolve(srv->store, job->tenant_id, job->owner_id, value, 0, d ? d->id : target, true,
                      ch, out->message, sizeof out->message);
  if (pr == PURPOSE_NONE) {
    applies = false;
    goto done;
  }
  if (pr == PURPOSE_OK && ch->account.restrict_printers && !d && !target) {
    /* any printer of the queue could take it: the account allows only some */
    pr = PURPOSE_PRINTER_REFUSED;
    snprintf(out->message, sizeof out->message,
             "account %s is charged only for some printers: release the job at one of them",
             ch->account.code);
  }
  if (pr != PURPOSE_OK) {
    out->purpose_why = pr;
    *res = pr == PURPOSE_ERROR ? RELEASE_ERROR : RELEASE_PURPOSE_REFUSED;
    goto done;
  }
  /* the panel's choice is the job's purpose from now on */
  if (strcmp(ch->purpose.name, job->account_id) != 0) {
    char detail[160];
    snprintf(detail, sizeof detail, "job=%s purpose=%s", job->reference, ch->purpose.name);
    store_audit_t audit = {.tenant_id = job->tenant_id,
                           .actor = req->actor,
                           .action = "job-purpose-changed",
                           .detail = detail};
    store_status_t s =
        store_job_set_account(srv->store, job->tenant_id, job->id, ch->purpose.name, &audit);
    if (s != STORE_OK) {
      *res = s == STORE_CONFLICT ? RELEASE_NOT_HELD : RELEASE_ERROR;
      goto done;
    }
  }
  char who[192];
  snprintf(who, sizeof who, "%s%s", req->actor, out->overridden ? " (PIN override)" : "");
  switch (charge_release(srv, job, ch, d, queue, target, settings, who, &out->job,
                         &out->purpose_why, out->message, sizeof out->message)) {
    case CHARGE_OK:
      log_event(LOG_INFO, req->request_id, "job released", "job", LOG_INT(job->id), "printer",
                d ? d->name : "-", "purpose", ch->purpose.name, "by", req->actor, "pin_override",
                out->overridden ? "yes" : "no", (char *)NULL);
      *res = RELEASE_OK;
      break;
    case CHARGE_REFUSED:
      *res = RELEASE_PURPOSE_REFUSED;
      break;
    case CHARGE_UNPRICEABLE:
      *res = RELEASE_PAYMENT_REFUSED;
      break;
    case CHARGE_NOT_HELD:
      *res = RELEASE_NOT_HELD;
      break;
    case CHARGE_NOT_FOUND:
      *res = RELEASE_NOT_FOUND;
      break;
    case CHARGE_ERROR:
      break;
  }
done:
  free(ch);
  return applies;
}

/* Steps 3a-5 for job (its PIN checked, the settings applied to it in
 * memory; settings: the change to store, NULL: none). */
static release_result_t release_steps(nimbus_server_t *srv, const nimbus_job_t *job,
                                      const nimbus_device_t *d,
                                      const job_settings_change_t *settings,
                                      const release_request_t *req, release_outcome_t *out) {
  release_result_t res;
  /* 4. where: a follow-me job released at a printer that does not serve
   * its queue moves to one the printer does; the target printer(s) */
  nimbus_id_t queue = 0;
  if (d && !device_serves_queue(d, job->queue_id) && d->nqueues > 0) queue = d->queue_ids[0];
  nimbus_id_t target = release_target_device(srv, job, d);
  /* 3a. purpose (release_purpose_step): the hold and step 5 in one */
  if (release_purpose_step(srv, job, d, queue, target, settings, req, out, &res)) return res;
  /* 3. payment (release_payment_step): the payment carries step 4's
   * answer and does step 5 once it is verified */
  res = release_payment_step(srv, job, d, queue, &target, settings, req, out);
  if (res != RELEASE_OK) return res;
  /* 5. one transition: the target printer(s), set in the same
   * transaction that makes the job fetchable so the notification goes to
   * those printers alone; the queue move; held -> fetchable, the event
   * saying who and whether the PIN was overridden */
  char who[192];
  snprintf(who, sizeof who, "%s%s", req->actor, out->overridden ? " (PIN override)" : "");
  switch (job_release_set(srv->store, job->tenant_id, job->id, queue, target, settings, who, NULL,
                          &out->job)) {
    case JOB_OK:
      log_event(LOG_INFO, req->request_id, "job released", "job", LOG_INT(job->id), "printer",
                d ? d->name : "-", "target_device", target ? LOG_INT(target) : "any of the queue",
                "by", req->actor, "pin_override", out->overridden ? "yes" : "no", (char *)NULL);
      return RELEASE_OK;
    case JOB_NOT_FOUND:
      return RELEASE_NOT_FOUND;
    case JOB_NOT_POSSIBLE:
      return RELEASE_NOT_HELD;
    case JOB_ERROR:
      break;
  }
  return RELEASE_ERROR;
}

/* The settings of req checked against printer d's choices (NULL: the
 * queue's): RELEASE_SETTINGS_REFUSED with out->bad_setting otherwise. */
static release_result_t release_settings_check(nimbus_server_t *srv, const nimbus_device_t *d,
                                               const release_request_t *req,
                                               release_outcome_t *out) {
  if (!device_settings_any(req->settings)) return RELEASE_OK;
  device_choices_t *ch = malloc(sizeof *ch);
  if (!ch) return RELEASE_ERROR;
  release_result_t res = RELEASE_OK;
  if (d) {
    if (device_choices_get(srv->store, d, ch) != STORE_OK) res = RELEASE_ERROR;
  } else {
    device_choices_default(ch);
  }
  if (res == RELEASE_OK && (out->bad_setting = device_settings_check(ch, req->settings))) {
    snprintf(out->message, sizeof out->message, "'%s' is not a value %s supports", out->bad_setting,
             d ? "this printer" : "this queue");
    res = RELEASE_SETTINGS_REFUSED;
  }
  free(ch);
  return res;
}

/* Steps 2-5 for a job already found and allowed (step 1 done by the
 * caller), at printer d or (d NULL) away from any printer. */
static release_result_t release_pipeline(nimbus_server_t *srv, const nimbus_job_t *held,
                                         const nimbus_device_t *d, const release_request_t *req,
                                         release_outcome_t *out) {
  if (held->state != NIMBUS_JOB_HELD) return RELEASE_NOT_HELD;
  /* 1a. settings offered here (before the PIN: a refusal counts nothing) */
  release_result_t res = release_settings_check(srv, d, req, out);
  if (res != RELEASE_OK) return res;
  /* 2. PIN */
  res = release_check_pin(srv, held, req, out);
  if (res != RELEASE_OK) return res;
  /* the job as it will print: the settings applied (stored by step 3a, 3
   * or 5 in its transaction), so the fee, hold and payment follow them */
  nimbus_job_t *job = malloc(sizeof *job);
  if (!job) return RELEASE_ERROR;
  *job = *held;
  char detail[DEVICE_SETTINGS_DETAIL];
  job_settings_change_t change, *settings = NULL;
  bool too_long = false;
  if (device_settings_any(req->settings) &&
      device_settings_apply(job, req->settings, req->actor, detail, &change, &too_long))
    settings = &change;
  if (too_long) {
    snprintf(out->message, sizeof out->message, "the job's settings do not fit any more");
    res = RELEASE_SETTINGS_REFUSED;
  } else {
    res = release_steps(srv, job, d, settings, req, out);
  }
  sodium_memzero(job->pin_hash, sizeof job->pin_hash);
  free(job);
  return res;
}

release_result_t release_at_device(nimbus_server_t *srv, const nimbus_device_t *d,
                                   nimbus_id_t user_id, nimbus_id_t job_id,
                                   const release_request_t *req, release_outcome_t *out) {
  nimbus_job_t job;
  release_request_t at_panel = *req;
  at_panel.override = false; /* no admin at a panel */
  memset(out, 0, sizeof *out);
  /* 1. whose, where */
  store_status_t s = store_job_get(srv->store, d->tenant_id, job_id, &job);
  if (s == STORE_NOT_FOUND) return RELEASE_NOT_FOUND;
  if (s != STORE_OK) return RELEASE_ERROR;
  release_result_t res;
  if (job.owner_id != user_id || !release_in_scope(srv, d, user_id, &job))
    res = job.owner_id == user_id && job.state != NIMBUS_JOB_HELD ? RELEASE_NOT_HELD
                                                                  : RELEASE_NOT_FOUND;
  else
    res = release_pipeline(srv, &job, d, &at_panel, out);
  sodium_memzero(job.pin_hash, sizeof job.pin_hash);
  return res;
}

release_result_t release_check_pin_at_device(nimbus_server_t *srv, const nimbus_device_t *d,
                                             nimbus_id_t user_id, nimbus_id_t job_id,
                                             const release_request_t *req, release_outcome_t *out) {
  release_request_t at_panel = *req;
  at_panel.override = false; /* no admin at a panel */
  memset(out, 0, sizeof *out);
  /* 1. whose, where (as release_at_device) */
  store_status_t s = store_job_get(srv->store, d->tenant_id, job_id, &out->job);
  if (s == STORE_NOT_FOUND) return RELEASE_NOT_FOUND;
  if (s != STORE_OK) return RELEASE_ERROR;
  release_result_t res;
  if (out->job.owner_id != user_id || !release_in_scope(srv, d, user_id, &out->job))
    res = out->job.owner_id == user_id && out->job.state != NIMBUS_JOB_HELD ? RELEASE_NOT_HELD
                                                                            : RELEASE_NOT_FOUND;
  else if (out->job.state != NIMBUS_JOB_HELD)
    res = RELEASE_NOT_HELD;
  else /* 2. the PIN, counted */
    res = release_check_pin(srv, &out->job, &at_panel, out);
  sodium_memzero(out->job.pin_hash, sizeof out->job.pin_hash);
  return res;
}

release_result_t release_job(nimbus_server_t *srv, const nimbus_job_t *job,
                             const release_request_t *req, release_outcome_t *out) {
  memset(out, 0, sizeof *out);
  return release_pipeline(srv, job, NULL, req, out);
}
