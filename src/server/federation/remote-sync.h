/*
 * remote-sync.h: the thread that keeps, per remote printer link, the list
 * of the remote's fetchable jobs (metadata only, docs/FEDERATION.md §3).
 */
#ifndef NIMBUS_REMOTE_SYNC_H
#define NIMBUS_REMOTE_SYNC_H

#include "server.h"

/* Start the thread (srv->remote_sync); NULL when it could not start. */
remote_sync_t *remote_sync_start(nimbus_server_t *srv);
/* Look at the links again now (one was created or changed). */
void remote_sync_wake(remote_sync_t *rs);
/* The job observer's link (nimbusd chains it, ctx the server): a job that
 * may be a taken remote job's local copy changed state, so the reports to
 * the remotes go out at once (remote-take.h). */
void remote_sync_job_changed(void *ctx, const nimbus_job_t *job, nimbus_job_state_t from);
/* Stop the thread (waits for the request in flight, at most its timeout). */
void remote_sync_stop(remote_sync_t *rs);

#endif
