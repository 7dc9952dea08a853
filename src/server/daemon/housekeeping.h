/*
 * housekeeping.h: nimbusd's periodic background work on one thread: job
 * leases of silent devices (device_lease_sweep), expiry of unreleased
 * jobs and purging of ended ones (retention_sweep).  Runs every few
 * seconds; never on a request path.
 */
#ifndef NIMBUS_HOUSEKEEPING_H
#define NIMBUS_HOUSEKEEPING_H

#include "server.h"

typedef struct housekeeping housekeeping_t;

/* Start the thread; NULL on failure. */
housekeeping_t *housekeeping_start(nimbus_server_t *srv);
/* Stop it and wait for the current round to end; NULL is ignored. */
void housekeeping_stop(housekeeping_t *h);

#endif
