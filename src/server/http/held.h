/*
 * held.h: connections held outside libmicrohttpd while a long-poll waits
 * (internal to http/; handlers use http_request_hold() in http.h).
 *
 * A held connection is a duplicate of the socket libmicrohttpd served the
 * request on, plus what the answer's log line needs: about 150 bytes, and
 * no buffer until the answer is written.  One thread (the "held thread")
 * owns every held socket; see held.c for the life of one.
 */
#ifndef NIMBUS_HELD_H
#define NIMBUS_HELD_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct MHD_Daemon;
typedef struct held_loop held_loop_t;
typedef struct http_held held_conn_t; /* http.h calls it http_held_t */

struct http_server;

/* What the answer's log line and metrics need, copied from the request. */
typedef struct {
  struct http_server *server;
  char id[17];         /* request id */
  const char *op_name; /* static label (metrics) */
  char peer[64];
  struct timespec start; /* CLOCK_MONOTONIC, when the request began */
} held_info_t;

/* Start the held thread; at most `limit` connections held at once. */
held_loop_t *held_loop_start(int limit, char *err, size_t errlen);
/* The daemon that takes keep-alive connections back after their answer
 * (set once, before the first connection is held). */
void held_loop_set_daemon(held_loop_t *hl, struct MHD_Daemon *daemon);
/* From now on every answered connection is closed, not given back. */
void held_loop_drain(held_loop_t *hl);
/* Wait (up to about 5 s) until no connection is held, then stop the
 * thread, close what is left and free hl.  Call it after the daemon has
 * stopped (it may still release connections while it stops); every
 * waiter must have been answered before (notify_shutdown).  NULL is
 * ignored. */
void held_loop_stop(held_loop_t *hl);

/* Hold the connection on socket fd (duplicated here; libmicrohttpd keeps
 * and closes its own descriptor).  NULL at the limit or when fd cannot be
 * duplicated.  Nothing is written until held_release(). */
held_conn_t *held_new(held_loop_t *hl, int fd, const held_info_t *info);
/* libmicrohttpd has let go of the connection (the request completed on
 * its side): the held thread may now watch and write the socket. */
void held_release(held_conn_t *c);
/* Answer: `data` (malloc'd, the whole HTTP response, owned from now on)
 * is written by the held thread once released; then the connection is
 * closed (close, or draining) or given back to libmicrohttpd.  Called
 * exactly once per held connection, from any thread; c must not be used
 * afterwards. */
void held_answer(held_conn_t *c, char *data, size_t len, bool close);
/* The request's details, valid until held_answer() (for its log line). */
const held_info_t *held_info(const held_conn_t *c);

#endif
