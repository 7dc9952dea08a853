/*
 * remote-take.h: taking a remote job at a printer (docs/FEDERATION.md §4):
 * the account link checked, the job taken from the remote (Fetch-Job,
 * Acknowledge-Job), its document streamed through intake into the spool
 * (Fetch-Document, Acknowledge-Document), and a local held job made of it
 * in the link's queue, owned by the user.  The caller then releases that
 * job to the printer as any local job (release.h).  Also the reports of
 * a taken job's local copy back to the remote (Update-Job-Status,
 * Update-Document-Status), which the sync thread sends.
 */
#ifndef NIMBUS_REMOTE_TAKE_H
#define NIMBUS_REMOTE_TAKE_H

#include <stdbool.h>
#include <stddef.h>

#include "server.h"
#include "store.h"

typedef enum {
  RTAKE_OK = 0,
  RTAKE_NOT_FOUND,   /* no such link or remote job, or not the user's (404) */
  RTAKE_RELINK,      /* the account link needs relinking (409 relink-needed) */
  RTAKE_TAKEN,       /* another printer took it first (409 remote-job-taken) */
  RTAKE_GONE,        /* canceled or deleted at the remote (410 remote-job-gone) */
  RTAKE_UNREACHABLE, /* the remote did not answer or failed (502), msg says why */
  RTAKE_DOCUMENT,    /* the document is not one this service takes (422), msg */
  RTAKE_TOO_MANY,    /* the user has too many pending jobs (429) */
  RTAKE_NO_SPACE,    /* the spool is full (503) */
  RTAKE_ERROR        /* storage (500) */
} remote_take_result_t;

typedef struct {
  nimbus_id_t tenant_id;
  nimbus_id_t user_id;
  const char *user_name;
  nimbus_id_t device_id; /* the printer it is taken at (the job's origin printer) */
  const char *link;      /* the remote printer link's name */
  int remote_job_id;
  const char *request_id; /* for the log (may be NULL) */
} remote_take_req_t;

/* Take the remote job: on RTAKE_OK *job is the new local held job
 * (remote_jobs.local_job_id records it).  Anything else leaves nothing
 * locally; once the remote job was acknowledged a failure is reported to
 * the remote (Update-Job-Status aborted).  TAKEN and GONE drop the job
 * from the stored list.  msg: why, in words (never a secret). */
remote_take_result_t remote_take(nimbus_server_t *srv, const remote_take_req_t *req,
                                 nimbus_job_t *job, char *msg, size_t msglen);

/* The local copy job_id (taken from a remote) could not be released:
 * cancel it here and tell the remote it was aborted (best effort). */
void remote_take_undo(nimbus_server_t *srv, nimbus_id_t tenant_id, nimbus_id_t job_id,
                      const char *actor);

/* One pass over the taken jobs whose local state changed since last
 * reported: Update-Job-Status (and Update-Document-Status at the end) to
 * their remotes, what was reported stored.  Returns how many were sent. */
int remote_take_report(nimbus_server_t *srv);

/* The IPP job state (5 processing, 7 canceled, 8 aborted, 9 completed) to
 * report for a local copy in state s; 0: nothing to report yet (held). */
int remote_take_ipp_state(nimbus_job_state_t s);

#endif
