/*
 * release.h: releasing a held job at a printer (issue 4), and the PIN
 * checks every way of releasing shares.
 *
 * The release path is a pipeline of steps, each of which may stop it:
 *   1. the job is the user's, held, and in the printer's scope;
 *   2. PIN check (counted and locked in the store, audited);
 *   3. payment (none yet: the step answers "not needed"; a payment
 *      provider will turn it into held -> awaiting-payment -> fetchable
 *      without touching the other steps);
 *   4. target: only this printer may fetch it;
 *   5. RELEASE: held -> fetchable (the observer notifies the printer).
 */
#ifndef NIMBUS_RELEASE_H
#define NIMBUS_RELEASE_H

#include <stdbool.h>

#include "model.h"
#include "server.h"

typedef enum {
  PIN_OK = 0,  /* right PIN, or the job has none */
  PIN_MISSING, /* the job has a PIN and none was given */
  PIN_WRONG,   /* counted; *attempts_left tells how many remain */
  PIN_LOCKED,  /* too many wrong PINs: *locked_until */
  PIN_ERROR    /* storage failure */
} pin_result_t;

/*
 * Check `pin` (NULL or "" = none given) against job's PIN: argon2id in
 * constant time, every attempt counted in the store (--pin-max-attempts
 * within --pin-lockout seconds locks the job) and audited under `actor`.
 * The PIN is never logged.
 */
pin_result_t job_pin_check(nimbus_server_t *srv, const nimbus_job_t *job, const char *pin,
                           const char *actor, int *attempts_left, int64_t *locked_until);

typedef enum {
  RELEASE_OK = 0,
  RELEASE_NOT_FOUND, /* no such job for this user in this printer's scope */
  RELEASE_NOT_HELD,  /* the job is not waiting to be released */
  RELEASE_PIN_MISSING,
  RELEASE_PIN_WRONG,
  RELEASE_PIN_LOCKED,
  RELEASE_ERROR
} release_result_t;

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
 * Release job_id of user_id at printer d with pin: the pipeline above.
 * On RELEASE_OK, *job (may be NULL) is the job after the release.
 */
release_result_t release_at_device(nimbus_server_t *srv, const nimbus_device_t *d,
                                   nimbus_id_t user_id, nimbus_id_t job_id, const char *pin,
                                   const char *actor, nimbus_job_t *job, int *attempts_left,
                                   int64_t *locked_until);

#endif
