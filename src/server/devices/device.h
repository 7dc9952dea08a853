/*
 * device.h: output-device registrations seen from the rest of nimbusd:
 * one-time claim codes, device credentials, authentication of the device
 * channel (with the deregistration answer for deleted registrations),
 * deletion, and liveness.  Secrets are generated here, shown once to the
 * caller, and only their SHA-256 is stored (they carry 80 and 256 random
 * bits, so a fast hash suffices, as for API tokens).
 */
#ifndef NIMBUS_DEVICE_H
#define NIMBUS_DEVICE_H

#include <stdbool.h>

#include "model.h"
#include "server.h"
#include "store.h"

#define DEVICE_CLAIM_CODE_MAX 32 /* "NMBC-XXXX-XXXX-XXXX-XXXX" + NUL */
#define DEVICE_CREDENTIAL_MAX 64 /* "nmd_" + 43 base64url chars + NUL */
#define DEVICE_CLAIM_TTL_DEFAULT (24 * 3600)
#define DEVICE_CLAIM_TTL_MAX (30 * 24 * 3600)

/* The one documented answer to a deleted registration's requests. */
#define DEVICE_DELETED_MESSAGE "output device registration deleted"

/* Is uuid "urn:uuid:" followed by 36 chars of 8-4-4-4-12 hex digits? */
bool device_uuid_valid(const char *uuid);

/*
 * Create a registration for d (tenant_id, name, queue_ids, nqueues) with
 * a fresh claim code valid for ttl seconds; code receives it (shown once).
 * Store statuses as store_device_insert(); audit (may be NULL) is written
 * in the same transaction.
 */
store_status_t device_create(nimbus_server_t *srv, nimbus_device_t *d, int64_t ttl,
                             char code[DEVICE_CLAIM_CODE_MAX], const store_audit_t *audit);
/* Issue a new claim code for device id (the previous one stops working);
 * audit as device_create(). */
store_status_t device_new_claim(nimbus_server_t *srv, nimbus_id_t tenant_id, nimbus_id_t id,
                                int64_t ttl, char code[DEVICE_CLAIM_CODE_MAX],
                                const store_audit_t *audit);

typedef enum {
  DEVICE_CLAIM_OK = 0,
  DEVICE_CLAIM_BAD_CODE,   /* wrong, used or expired claim code */
  DEVICE_CLAIM_BAD_UUID,   /* uuid given but malformed */
  DEVICE_CLAIM_UUID_TAKEN, /* uuid registered to another device */
  DEVICE_CLAIM_THROTTLED,  /* too many wrong codes from this address lately */
  DEVICE_CLAIM_ERROR       /* storage failure */
} device_claim_result_t;

/* Claim a registration with its code.  uuid may be NULL or "" (one is
 * assigned).  On success d is the registered device and credential the
 * new device credential (shown once).  Wrong codes are counted per client
 * address (peer, X-Forwarded-For only under --trust-proxy) in the
 * store-backed sign-in throttle (throttle.h), shared by every node: after
 * DEVICE_CLAIM_MAX_FAILURES within DEVICE_CLAIM_WINDOW seconds that address
 * gets DEVICE_CLAIM_THROTTLED until the window ends (codes have 80 random
 * bits; this keeps guessing slow and noisy).  device_claim_wait() says how
 * long (seconds, 0 = may try). */
#define DEVICE_CLAIM_MAX_FAILURES 20
#define DEVICE_CLAIM_WINDOW 600
device_claim_result_t device_claim(nimbus_server_t *srv, const char *code, const char *uuid,
                                   const char *peer, nimbus_device_t *d,
                                   char credential[DEVICE_CREDENTIAL_MAX]);
int device_claim_wait(nimbus_server_t *srv, const char *peer);

/*
 * Claim like device_claim(), for a device that presented the claim code
 * as its HTTP password (PWG 5100.22 leaves the authentication of
 * Register-Output-Device to HTTP): the claim code itself becomes the
 * device credential, so the device goes on sending the same HTTP
 * credentials.  No other secret is issued.
 */
device_claim_result_t device_claim_keep_code(nimbus_server_t *srv, const char *code,
                                             const char *uuid, const char *peer,
                                             nimbus_device_t *d);

/* A job a device deletion made fetchable for any printer of its queue
 * (the notification carries its number, the job-id). */
typedef struct {
  nimbus_id_t number, queue_id;
} device_reoffered_t;

/*
 * The store part of device_delete(): in one transaction the device goes
 * (tombstone kept) and its jobs move: those it was processing are offered
 * again (fetchable, event "job-reoffered"), and those released to it
 * alone, fetchable or processing, go back to held with no target (event
 * "job-held").  The moves are decided here and in job.c; when jobs change
 * between the listing and the delete the store refuses and the listing is
 * done again (a few times, then STORE_CONFLICT).  *reoffered (malloc'd,
 * caller frees; NULL when none) receives the jobs made fetchable for any
 * printer, *nreoffered how many.  STORE_NOT_FOUND when the device is not
 * the tenant's.  audit (may be NULL; its detail NULL: the device's name)
 * is written in the deletion's transaction.
 */
store_status_t device_delete_registration(store_t *st, nimbus_id_t tenant_id, nimbus_id_t id,
                                          nimbus_device_t *out, device_reoffered_t **reoffered,
                                          size_t *nreoffered, const store_audit_t *audit);

/*
 * Delete a registration (an admin, or the device itself with
 * Deregister-Output-Device): row and credential go, a tombstone keeps the
 * credential's hash, its jobs move (device_delete_registration), and the
 * device's held long-polls and the printers of the queues of the jobs
 * offered again are notified.  `actor` goes to the audit log.  *out (may
 * be NULL) receives the device as it was.  STORE_NOT_FOUND when it is not
 * the tenant's; STORE_CONFLICT when its jobs kept changing under the
 * delete (nothing deleted: try again).
 */
store_status_t device_delete(nimbus_server_t *srv, nimbus_id_t tenant_id, nimbus_id_t id,
                             const char *actor, nimbus_device_t *out);

typedef enum {
  DEVICE_AUTH_NONE = 0, /* no Authorization header */
  DEVICE_AUTH_OK,       /* a registered device */
  DEVICE_AUTH_BAD,      /* malformed, or a credential nobody holds */
  DEVICE_AUTH_DELETED,  /* the credential of a deleted registration */
  DEVICE_AUTH_ERROR,    /* storage failure */
  DEVICE_AUTH_SUSPENDED /* a registered device of a suspended tenant: refuse, keep it */
} device_auth_result_t;

/*
 * Authenticate the device channel: "Bearer <credential>" or HTTP Basic
 * with any user name and the credential as password.  The credential is
 * an nmd_ credential, or the claim code of a device that registered with
 * it as its password (device_claim_keep_code).
 * DEVICE_AUTH_DELETED also counts the request in
 * nimbus_deleted_device_requests_total.  DEVICE_AUTH_SUSPENDED (out is
 * filled): the device's tenant is suspended, so it gets nothing to do;
 * callers refuse with AUTH_SUSPENDED_MESSAGE and a status that is neither
 * a deregistration (410, client-error-gone) nor a failed login (401), so
 * the printer keeps its registration and retries (PROTOCOL.md §6.2).
 * tenant (may be NULL) receives the device's tenant with OK and
 * SUSPENDED, read once for the suspension check.
 */
device_auth_result_t device_auth(nimbus_server_t *srv, const char *authorization,
                                 nimbus_device_t *out, nimbus_tenant_t *tenant);

/* Does the Authorization header carry a device credential (Bearer nmd_…
 * or NMBC-…, or Basic whose password is one)?  Cheap: nothing is looked up. */
bool device_credential_present(const char *authorization);
/* The secret of a Bearer header, or the password of a Basic one (the part
 * after the last colon; user names are not used), into cred; false when
 * there is none. */
bool device_credential_of(const char *authorization, char *cred, size_t credlen);

/* Record that device d was heard from over `transport` ("polling" or
 * "persistent").  Kept in memory and written by device_presence_flush();
 * a changed transport is written at once. */
void device_seen(nimbus_server_t *srv, const nimbus_device_t *d, const char *transport);
/* Write every device heard from since the last flush, in one transaction;
 * returns how many (housekeeping, shutdown). */
int device_presence_flush(nimbus_server_t *srv);
/* Drop a deleted device's entry. */
void device_presence_forget(nimbus_server_t *srv, nimbus_id_t id);
/* When this node last heard from device id (unix seconds; 0: not since it
 * started), fresher than the store's last_seen_at, which lags by up to a
 * housekeeping round. */
int64_t device_presence_seen_at(nimbus_server_t *srv, nimbus_id_t id);
/* Is a device last heard from at seen_at online now?  Heard from within
 * --printer-online-window seconds (0: --notify-wait + 30: a printer holding
 * a long-poll asks again at least every notify-wait seconds, a polling
 * connector every poll-interval, 10 s by default; the 30 s absorb a
 * store flush and a reconnect). */
bool device_online(const nimbus_server_t *srv, int64_t seen_at);

/* The liveness table behind device_seen() (srv->presence). */
device_presence_t *device_presence_new(void);
void device_presence_free(device_presence_t *p);

/*
 * Offer again the jobs of devices silent for longer than the lease
 * (--device-lease): processing -> fetchable, event "job-reoffered", and a
 * job-fetchable notification to the queue.  Returns how many.  Reads
 * last_seen_at from the store: every node writes its own devices' presence
 * first (device_presence_flush, each housekeeping round).
 */
int device_lease_sweep(nimbus_server_t *srv);

/* The job observer (job_set_observer, ctx: the nimbus_server_t): a job
 * that became fetchable is announced to the devices of its queue (only to
 * its target device when it has one), and every change as
 * job-state-changed. */
void device_job_changed(void *ctx, const nimbus_job_t *job, nimbus_job_state_t from);

/* Does device d serve queue_id? */
bool device_serves_queue(const nimbus_device_t *d, nimbus_id_t queue_id);

#endif
