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

/* Delete the documents of a job that has ended (a no-op otherwise).
 * Returns the number of spool files removed, -1 on a store failure. */
int retention_purge(nimbus_server_t *srv, nimbus_id_t tenant_id, nimbus_id_t job_id);

/* Job observer step: purge when a job reaches a terminal state. */
void retention_job_changed(nimbus_server_t *srv, const nimbus_job_t *job, nimbus_job_state_t from);

/* Housekeeping: expire unreleased jobs past their retention and purge
 * ended jobs that still hold documents (say after a crash between the end
 * and the purge).  Returns how many jobs it acted on. */
int retention_sweep(nimbus_server_t *srv);

#endif
