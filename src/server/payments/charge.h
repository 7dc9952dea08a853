/*
 * charge.h: charging a job released under a purpose (issue 13,
 * docs/BILLING.md "Charges").  The one place that moves a job charge
 * through its states, each a compare-and-set in the store together with
 * its account's figures and its ledger posting:
 *
 *   (release) ──hold placed with the release──▶ held ──job completed──▶ charged
 *                                                 │  (account: held -hold; prepaid balance
 *                                                 │   -total / invoiced charged +total;
 *                                                 │   posting "charge")
 *                                                 ├─job canceled, aborted, expired or
 *                                                 │ put back on hold──▶ released (held -hold)
 *                                                 └─private: charging ──paid──▶ charged
 *                                                              └─declined──▶ charge-failed
 *                                                                 (retried with back-off)
 *
 * The charge on completion is the fee of the printer that printed it on
 * the impressions it reported (job_fee_printed); a job is never charged
 * more than its hold on a prepaid account (the hold was the estimate the
 * account agreed to), so a prepaid account never goes below zero.
 */
#ifndef NIMBUS_CHARGE_H
#define NIMBUS_CHARGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "job.h"
#include "model.h"
#include "purpose.h"
#include "server.h"

typedef enum {
  CHARGE_OK = 0,
  CHARGE_REFUSED,  /* the account refused the hold: *why says which */
  CHARGE_NOT_HELD, /* the job is not held (any more) */
  CHARGE_NOT_FOUND,
  CHARGE_UNPRICEABLE, /* the printer's price table does not offer what the job needs */
  CHARGE_ERROR
} charge_result_t;

/*
 * Release held job under choice (purpose_resolve()'s answer) to printer
 * target (0: any of its queue; d: the printer it is released at, may be
 * NULL), moving it to queue_move (0: stays): the fee where it will print
 * is the hold, placed on the account in the same transaction as the
 * release.  *why (CHARGE_REFUSED) is PURPOSE_ACCOUNT_CLOSED or
 * PURPOSE_LIMIT; msg says it in words.  settings (may be NULL): the
 * settings changed at the printer, written in the release's transaction
 * (job priced with them already).
 */
charge_result_t charge_release(nimbus_server_t *srv, const nimbus_job_t *job,
                               const purpose_choice_t *choice, const nimbus_device_t *d,
                               nimbus_id_t queue_move, nimbus_id_t target,
                               const job_settings_change_t *settings, const char *actor,
                               nimbus_job_t *out, purpose_result_t *why, char *msg, size_t msglen);

/* Converge every charge that is due (all tenants): settle completed
 * jobs, release the holds of jobs that ended otherwise, charge private
 * purposes and retry declined ones when their time has come.  Called by
 * the payments reconciler while it holds its lease. */
void charges_reconcile(nimbus_server_t *srv);

/* "held", "charged", "released", "charge-failed", "charging". */
const char *charge_state_name(nimbus_charge_state_t s);
/* The job's purpose and charge as JSON for REST and the panel (new
 * reference; json null when the job has neither). */
json_t *charge_purpose_json(store_t *st, const nimbus_job_t *job);

#endif
