/*
 * release.h: releasing a held job, the one pipeline every way of
 * releasing goes through: the printer's panel (api-device.c), the REST
 * release and nimbusctl (api-jobs.c), IPP Release-Job (ipp-job.c).
 *
 * The pipeline is a series of steps, each of which may stop it:
 *   1. the job is held (at a printer: also the user's and in the
 *      printer's scope, release_in_scope());
 *   2. PIN: a job with a PIN needs it, whichever way it is released;
 *      every attempt is counted in the store (the policy,
 *      release_pin_next(), is here) and audited; a
 *      locked job stays locked until the lockout ends, for everyone.  The
 *      only way around the PIN is an explicit admin override (the adapter
 *      checks the role), audited, logged and recorded in the job's event;
 *   3a. purpose (billing by purpose, payments/charge.c): when the job has
 *      one (the one the panel chose, else its job-account-id, which
 *      carries its owner's default purpose from its submission; none and
 *      a purpose required: refused), the owner's right to it, its account open and
 *      this printer allowed are checked again (purpose_resolve()), and
 *      the release places the job's estimated charge as a hold on the
 *      account in the same transaction as step 5 (charge_release());
 *      such a job pays through its purpose, so step 3 does not apply;
 *   3. payment: when the job has a fee where it will print and the
 *      pricing there says "at-printer" (payments_required()), the
 *      release reserves a payment instead (payments_begin(): held ->
 *      awaiting-payment, with the target of step 4 stored on the
 *      payment); the verified payment does step 5 later, exactly once
 *      (payments/payment-flow.c);
 *   4. target: which printers may fetch it, release_target_device(),
 *      and for follow-me at a printer outside the job's queue, a queue
 *      that printer serves;
 *   5. RELEASE: held -> fetchable (the observer notifies the printers).
 *      Settings changed at the printer (req->settings, checked before
 *      step 2 so a refused one counts no PIN attempt) are applied to the
 *      job before step 3a, so the hold, the payment and the fee follow
 *      them, and stored in the transaction of 3a, 3 or 5 (job event
 *      job-settings-changed).
 *      Steps 4 and 5 are one job_release() call: one store transaction,
 *      so a job is never seen moved or targeted but still held.
 */
#ifndef NIMBUS_RELEASE_H
#define NIMBUS_RELEASE_H

#include <stdbool.h>

#include "device-settings.h"
#include "model.h"
#include "purpose.h"
#include "server.h"
#include "store.h"

/* A release as asked for. */
typedef struct {
  const char *pin;                 /* the clear PIN; NULL or "" = none */
  const unsigned char *pin_sha256; /* or its 32-octet SHA-256 (IPP
                                    * job-password-encryption sha2-256) */
  bool override;                   /* release without the PIN: an admin's
                                    * explicit choice, checked by the caller */
  const char *actor;               /* who: events, audit, log */
  const char *request_id;          /* for the log; may be NULL */
  const char *purpose;             /* release under this purpose instead (the panel's
                                    * choice among the owner's); NULL: the job's own */
  const device_settings_t *settings; /* settings changed before printing (NULL: none),
                                      * FEDERATION.md §5: checked against the printer's
                                      * choices (away from one: the queue's), stored with
                                      * the release, the fee priced with them */
} release_request_t;

typedef enum {
  RELEASE_OK = 0,
  RELEASE_NOT_FOUND, /* no such job for this user in this printer's scope */
  RELEASE_NOT_HELD,  /* the job is not waiting to be released */
  RELEASE_PIN_MISSING,
  RELEASE_PIN_WRONG,
  RELEASE_PIN_LOCKED,
  RELEASE_PAYMENT_STARTED,  /* the job must be paid first: out->payment says where */
  RELEASE_PAYMENT_REFUSED,  /* it must be paid but cannot be now: out->message says why */
  RELEASE_PURPOSE_REFUSED,  /* its purpose may not be used now: out->purpose_why, out->message */
  RELEASE_SETTINGS_REFUSED, /* a setting is not offered: out->bad_setting names it; or the
                             * job is paid already (bad_setting NULL), out->message */
  RELEASE_ERROR
} release_result_t;

/* What came of it, whatever the result. */
typedef struct {
  nimbus_job_t job;     /* RELEASE_OK: the job after the release */
  int attempts_left;    /* RELEASE_PIN_MISSING/WRONG: wrong PINs before the lock */
  int64_t locked_until; /* RELEASE_PIN_LOCKED: until when (Unix time) */
  bool overridden;      /* RELEASE_OK: released without its PIN by override */
  nimbus_payment_t payment; /* RELEASE_PAYMENT_STARTED: the payment to make */
  char message[200];        /* RELEASE_PAYMENT_REFUSED, _PURPOSE_REFUSED: why, for the user */
  purpose_result_t purpose_why; /* RELEASE_PURPOSE_REFUSED: which refusal */
  const char *bad_setting;      /* RELEASE_SETTINGS_REFUSED: the member ("copies", ...) */
} release_outcome_t;

/*
 * Is job in device d's panel scope for user_id?  Held or received, owned
 * by user_id, and: submitted through d; or in a "follow-me" queue (any
 * printer of the tenant; releasing it there moves it to that printer's
 * queue); or, in a "this-printer" queue that d serves, sent straight to
 * nimbusd (IPP, REST, nimbusctl) rather than through another printer.
 */
bool release_in_scope(nimbus_server_t *srv, const nimbus_device_t *d, nimbus_id_t user_id,
                      const nimbus_job_t *job);

/*
 * The printer(s) that may fetch job once released, decided per the queue's
 * release_scope the same way whichever way it is released: at printer d
 * (d != NULL), d alone; elsewhere (REST, IPP, nimbusctl), in a
 * "this-printer" queue a job that came through a printer goes back to that
 * printer alone (while it is registered and serves the job's queue), any
 * other job to every printer of its queue (0).
 */
nimbus_id_t release_target_device(nimbus_server_t *srv, const nimbus_job_t *job,
                                  const nimbus_device_t *d);

/*
 * Release job_id of user_id at printer d (the panel): the whole pipeline.
 * req->override is not honoured here (a panel has no admin).
 */
release_result_t release_at_device(nimbus_server_t *srv, const nimbus_device_t *d,
                                   nimbus_id_t user_id, nimbus_id_t job_id,
                                   const release_request_t *req, release_outcome_t *out);

/*
 * Check the PIN of job_id of user_id at printer d without releasing it
 * (the panel's PIN screen): steps 1 and 2 of release_at_device(), the
 * attempt counted, locked and audited exactly as there.  RELEASE_OK when
 * the PIN is right or the job has none; out->job is then the job.
 */
release_result_t release_check_pin_at_device(nimbus_server_t *srv, const nimbus_device_t *d,
                                             nimbus_id_t user_id, nimbus_id_t job_id,
                                             const release_request_t *req, release_outcome_t *out);

/*
 * Release `job`, which the caller has loaded and may act on (REST, IPP,
 * nimbusctl: the owner, or an admin), away from any printer: steps 1-5
 * with d = NULL.  req->override only when the caller is a tenant admin
 * who asked for it explicitly.
 */
release_result_t release_job(nimbus_server_t *srv, const nimbus_job_t *job,
                             const release_request_t *req, release_outcome_t *out);

/*
 * The PIN attempt policy.  A wrong PIN counts within a window of `window`
 * seconds that starts with the first wrong PIN (an ended window starts a
 * new count); the max-th wrong PIN in a window locks the job until
 * now + window (max <= 0: counted, never locked).  A right PIN clears the
 * count.  A job locked at `now` records nothing.
 * release_pin_next(): the counter after an attempt on *cur at `now`, into
 * *next; false (nothing to record) when *cur is locked at now.
 */
bool release_pin_next(const store_pin_counter_t *cur, bool ok, int64_t now, int window, int max,
                      store_pin_counter_t *next);
/* Record one attempt on job_id in the store under that policy
 * (compare-and-set, retried against concurrent attempts).  STORE_OK with
 * *after (may be NULL) the counter now; STORE_CONFLICT with *after the
 * lock when the job is locked at now; STORE_NOT_FOUND, STORE_ERROR.
 * audit (may be NULL) is written with the count, in its transaction. */
store_status_t release_pin_record(store_t *st, nimbus_id_t tenant_id, nimbus_id_t job_id, bool ok,
                                  int64_t now, int window, int max, store_pin_counter_t *after,
                                  const store_audit_t *audit);

#endif
