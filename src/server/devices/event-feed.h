/*
 * event-feed.h: other nodes' job events reach this node's parked
 * printers.  Several nimbusd nodes share one database; a job released on
 * node B must wake a printer whose Get-Notifications is parked on node A.
 * Each node runs one feed thread that takes the events other nodes
 * committed (store_feed_next: LISTEN/NOTIFY on PostgreSQL, a short poll
 * on SQLite) and posts them to its own notify, as if its own job state
 * machine had made them; a device deleted on another node gets its
 * "printer-deleted" notice here too.
 */
#ifndef NIMBUS_EVENT_FEED_H
#define NIMBUS_EVENT_FEED_H

#include "server.h"

typedef struct event_feed event_feed_t;

/* Start the thread (srv->store and srv->notify set); NULL (logged) when
 * the store's feed cannot be opened or the thread cannot start. */
event_feed_t *event_feed_start(nimbus_server_t *srv);
/* Stop it (within EVENT_FEED_WAIT_MS) and free; NULL is ignored. */
void event_feed_stop(event_feed_t *f);

/* Longest a feed call waits, so that stopping never waits longer. */
#define EVENT_FEED_WAIT_MS 500

#endif
