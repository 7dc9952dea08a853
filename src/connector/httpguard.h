/*
 * httpguard.h: the connector's two HTTP listeners (the IPP printer for
 * PCs, intake.c; the panel, panel.c) started with the same protection
 * against clients that hold connections open without sending requests
 * (slow-loris; docs/OPERATIONS.md, "The connector's listeners"):
 *
 *   - max_connections slots in all and max_per_address per client address
 *     (libmicrohttpd refuses the rest at once);
 *   - a header deadline: a connection whose request headers are not
 *     complete header_timeout seconds after it opened (or after its
 *     previous answer, on a kept-alive connection) is cut by a watchdog
 *     thread, however slowly it keeps trickling bytes;
 *   - once the headers are in, only idleness counts (idle_timeout seconds
 *     without a byte): a slow but steady upload is never cut, and a
 *     connection suspended by its handler (a full upload buffer) waits
 *     without a timeout.
 *
 * The wrapped handler and completion callback are called exactly as
 * libmicrohttpd would call them.
 */
#ifndef NIMBUS_CONNECTOR_HTTPGUARD_H
#define NIMBUS_CONNECTOR_HTTPGUARD_H

#include <microhttpd.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct {
  int max_connections; /* slots of the listener */
  int max_per_address; /* slots one client address may hold */
  int header_timeout;  /* seconds to complete the request headers */
  int idle_timeout;    /* seconds without a byte, once the headers are in */
} httpguard_limits_t;

typedef struct httpguard httpguard_t;

/*
 * Listen on sa (port 0: any free port) with MHD flags `flags` (an internal
 * polling thread is implied); name labels the log lines.  NULL with err
 * set when the daemon or the watchdog cannot start.
 */
httpguard_t *httpguard_start(const char *name, unsigned flags, const struct sockaddr_in *sa,
                             const httpguard_limits_t *limits, MHD_AccessHandlerCallback handler,
                             void *handler_cls, MHD_RequestCompletedCallback completed,
                             void *completed_cls, char *err, size_t errlen);
/* The daemon (for MHD_quiesce_daemon and the like; stopped by httpguard_stop). */
struct MHD_Daemon *httpguard_daemon(httpguard_t *g);
/* The bound port. */
int httpguard_port(const httpguard_t *g);
/* Stop the daemon (MHD_stop_daemon: no suspended connection may remain),
 * then the watchdog; frees g.  NULL is ignored. */
void httpguard_stop(httpguard_t *g);

#endif
