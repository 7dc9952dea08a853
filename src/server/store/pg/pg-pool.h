/*
 * pg-pool.h: a fixed-size pool of libpq connections for the PostgreSQL
 * store.  A thread checks a connection out for one store call (waiting,
 * at most a timeout, while all are in use), uses it alone, and checks it
 * back in.  Connections are opened on first need and replaced after they
 * break, so a restarted server costs one failed call, not a restart of
 * nimbusd.  Lock: pg_pool.mu + freed (docs/LOCKING.md), held only to
 * hand slots out and back, never across network I/O.
 */
#ifndef NIMBUS_PG_POOL_H
#define NIMBUS_PG_POOL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Statement ids a connection may have prepared (store-pg-private.h's
 * pg_stmt_id_t stays below this). */
#define PG_POOL_STMTS_MAX 512

typedef struct pg_conn {
  PGconn *conn;                              /* NULL until opened (or after it broke) */
  bool broken;                               /* the server went away: replace at check-in */
  char sqlstate[6];                          /* of the last failed statement ("" after success) */
  uint64_t prepared[PG_POOL_STMTS_MAX / 64]; /* bit i: statement i prepared on conn */
  int64_t origin; /* set by the store at each checkout: the origin its events are written with */
} pg_conn_t;

typedef struct pg_pool pg_pool_t;

/* A pool of `size` connections to conninfo (a libpq URL or key=value
 * string, copied).  The first connection is opened now, so a wrong URL or
 * an unreachable server fails here: NULL with err set (libpq's message,
 * which never repeats the password). */
pg_pool_t *pg_pool_open(const char *conninfo, int size, char *err, size_t errlen);
/* Close every connection; no connection may be checked out. */
void pg_pool_close(pg_pool_t *p);
/* A connection for this thread alone, ready to use (opened or replaced if
 * needed); waits at most timeout_ms for one to be free (0: do not wait).
 * NULL when none was free in time (*busy set) or a connection could not be
 * opened (logged). */
pg_conn_t *pg_pool_checkout(pg_pool_t *p, int timeout_ms, bool *busy);
/* Give c back; a connection marked broken (or whose libpq status is bad)
 * is closed here and reopened by a later checkout. */
void pg_pool_checkin(pg_pool_t *p, pg_conn_t *c);
/* A connection of its own, outside the pool, with the same URL and session
 * settings (the event feed's LISTEN connection); NULL with err set.
 * Closed with PQfinish(). */
PGconn *pg_pool_connect_extra(pg_pool_t *p, char *err, size_t errlen);

#endif
