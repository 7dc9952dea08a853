/*
 * retention.h: what nimbusd keeps of a job once it is over.  A job that
 * ends (completed, canceled, aborted, expired) loses its documents at once
 * (spool files and inline data); the job row and its events stay for logs
 * and billing.  Jobs nobody released expire after their tenant's
 * retention (--retention-hours by default) and are purged the same way.
 */
#ifndef NIMBUS_RETENTION_H
#define NIMBUS_RETENTION_H

#include "model.h"
#include "server.h"
#include "store.h"

/* Delete the documents of a job that has ended (a no-op otherwise).
 * Returns the number of spool files removed, -1 on a store failure. */
int retention_purge(nimbus_server_t *srv, nimbus_id_t tenant_id, nimbus_id_t job_id);

/* Job observer step: purge when a job reaches a terminal state. */
void retention_job_changed(nimbus_server_t *srv, const nimbus_job_t *job, nimbus_job_state_t from);

/* The creation time before which a job of tenant t that nobody released
 * expires at `now`: its retention_hours, or default_hours (the server's
 * --retention-hours; 24 when not positive) when the tenant has 0. */
int64_t retention_cutoff(const nimbus_tenant_t *t, int default_hours, int64_t now);

/*
 * The jobs housekeeping must act on at `now`, of every tenant: ended
 * jobs whose documents are not purged yet, and jobs in a state that may
 * expire (received, held) created before their tenant's cutoff.  cb
 * receives each (copy; it must not call the store), at most `limit`,
 * tenant by tenant (by name), state by state.
 */
store_status_t retention_due(store_t *st, int64_t now, int default_hours, int limit,
                             store_job_cb cb, void *ctx);

/* Housekeeping: expire unreleased jobs past their retention and purge
 * ended jobs that still hold documents (say after a crash between the end
 * and the purge).  Returns how many jobs it acted on. */
int retention_sweep(nimbus_server_t *srv);

#endif
