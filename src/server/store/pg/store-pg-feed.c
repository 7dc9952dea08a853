/*
 * store-pg-feed.c: the event feed (store.h) on PostgreSQL.
 *
 * A trigger on job_events (pg-migrations.c, migration 3) NOTIFYs
 * PG_FEED_CHANNEL with "<schema> <origin> <id>" for every row; PostgreSQL delivers
 * notifications when their transaction commits, in commit order, and
 * drops those of transactions that roll back.  The feed LISTENs on a
 * connection of its own (outside the pool: a listening session must stay
 * open), keeps the ids of other origins in arrival order, and reads their
 * rows, with their jobs, in one statement on a pool connection.
 *
 * When the listening connection breaks, the feed logs it and reconnects
 * on a later call; notifications sent meanwhile are lost (store.h says
 * what that costs).  A connection that only listens would not notice a
 * server that vanished without closing it (a failover, a firewall's idle
 * timeout): after PG_FEED_PING_MS without a notification the feed asks it
 * a trivial query, and reconnects when that fails.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>

#include "store-pg-private.h"

#define PG_FEED_PING_MS 30000     /* quiet this long: check the connection */
#define PG_FEED_PING_WAIT_MS 3000 /* ... and give up on it after this */

typedef struct {
  store_feed_t base; /* first (store-ops.h) */
  pg_store_t *st;
  PGconn *listen;  /* NULL while broken */
  char schema[64]; /* its current_schema(): notifications of other schemas are not ours */
  int64_t *ids;    /* pending ids of other origins, oldest first */
  size_t nids, cap;
  bool down_logged; /* the broken connection was logged (once) */
  int quiet_ms;     /* waited without a notification since the last one or ping */
} pg_feed_t;

/* Open the listening connection; false (logged once) when it cannot. */
static bool pg_feed_listen(pg_feed_t *f) {
  char err[256];
  f->listen = pg_pool_connect_extra(f->st->pool, err, sizeof err);
  PGresult *r = f->listen ? PQexec(f->listen, "LISTEN " PG_FEED_CHANNEL) : NULL;
  bool ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
  if (ok) {
    PQclear(r);
    r = PQexec(f->listen, "SELECT current_schema()");
    ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
         (size_t)PQgetlength(r, 0, 0) < sizeof f->schema;
    if (ok) snprintf(f->schema, sizeof f->schema, "%s", PQgetvalue(r, 0, 0));
  }
  if (f->listen && !ok) snprintf(err, sizeof err, "%s", PQerrorMessage(f->listen));
  PQclear(r);
  if (ok) {
    if (f->down_logged) log_event(LOG_INFO, NULL, "event feed: listening again", (char *)NULL);
    f->down_logged = false;
    return true;
  }
  if (!f->down_logged)
    log_event(LOG_WARN, NULL, "event feed: cannot listen for other nodes' events", "error", err,
              (char *)NULL);
  f->down_logged = true;
  PQfinish(f->listen);
  f->listen = NULL;
  return false;
}

store_status_t pg_feed_open(store_t *base, store_feed_t **out) {
  pg_feed_t *f = calloc(1, sizeof *f);
  if (!f) return STORE_ERROR;
  f->base.st = base;
  f->st = pg_of(base);
  if (!pg_feed_listen(f)) {
    free(f);
    return STORE_ERROR;
  }
  *out = &f->base;
  return STORE_OK;
}

/* Whether conn answers a trivial query within wait_ms (never blocks
 * longer: a vanished server sends nothing back). */
static bool pg_feed_ping(PGconn *conn, int wait_ms) {
  if (!PQsendQuery(conn, "SELECT 1")) return false;
  bool ok = false;
  for (int waited = 0; waited <= wait_ms; waited += 100) {
    if (!PQconsumeInput(conn)) return false;
    if (!PQisBusy(conn)) {
      PGresult *r;
      while ((r = PQgetResult(conn)) != NULL) {
        ok = ok || PQresultStatus(r) == PGRES_TUPLES_OK;
        PQclear(r);
      }
      return ok;
    }
    struct pollfd pfd = {.fd = PQsocket(conn), .events = POLLIN};
    poll(&pfd, 1, 100);
  }
  return false; /* no answer: the caller closes the connection */
}

/* Read what arrived on the listening connection into f->ids; false when
 * the connection broke (closed here, reopened by a later call). */
static bool pg_feed_drain(pg_feed_t *f) {
  if (!PQconsumeInput(f->listen)) {
    log_event(LOG_WARN, NULL, "event feed: connection lost", "error", PQerrorMessage(f->listen),
              (char *)NULL);
    f->down_logged = true;
    PQfinish(f->listen);
    f->listen = NULL;
    return false;
  }
  PGnotify *nt;
  while ((nt = PQnotifies(f->listen)) != NULL) {
    long long origin, id;
    char schema[64];
    if (sscanf(nt->extra, "%63s %lld %lld", schema, &origin, &id) == 3 &&
        strcmp(schema, f->schema) == 0 && origin != f->st->base.origin) {
      if (f->nids == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 64;
        int64_t *v = realloc(f->ids, cap * sizeof *v);
        if (!v) {
          PQfreemem(nt);
          break; /* the rest stays in libpq's queue for the next call */
        }
        f->ids = v;
        f->cap = cap;
      }
      f->ids[f->nids++] = id;
    }
    PQfreemem(nt);
  }
  return true;
}

/* The rows of the first up to max pending ids into out (*n). */
static store_status_t pg_feed_read(pg_feed_t *f, store_feed_event_t *out, size_t max, size_t *n) {
  size_t take = f->nids < max ? f->nids : max;
  char *list = malloc(2 + take * 21);
  if (!list) return STORE_ERROR;
  size_t len = 0;
  list[len++] = '{';
  for (size_t i = 0; i < take; i++)
    len += (size_t)sprintf(list + len, i ? ",%" PRId64 : "%" PRId64, f->ids[i]);
  list[len++] = '}';
  list[len] = '\0';
  store_status_t status = STORE_ERROR;
  pg_conn_t *c = pg_acquire(f->st, "event feed");
  PGresult *r = NULL;
  if (c) {
    pg_params_t p = {0};
    pg_param_text(&p, list, SIZE_MAX);
    status = pg_exec(c, PS_FEED_ROWS, &p, &r, "event feed");
    pg_release(f->st, c);
  }
  free(list);
  if (status != STORE_OK) return status; /* the ids stay pending: read again next call */
  int rows = PQntuples(r), col = PQnfields(r) - 6;
  for (int i = 0; i < rows && *n < max; i++) {
    store_feed_event_t *e = &out[(*n)++];
    memset(e, 0, sizeof *e);
    pg_job_from_row(r, i, &e->job);
    e->id = pg_get_int64(r, i, col);
    e->tenant_id = pg_get_int64(r, i, col + 1);
    e->from = (nimbus_job_state_t)pg_get_int(r, i, col + 3);
    e->to = (nimbus_job_state_t)pg_get_int(r, i, col + 4);
    if (strcmp(PQgetvalue(r, i, col + 2), STORE_EVENT_DEVICE_DELETED) == 0) {
      e->deleted_device = strtoll(PQgetvalue(r, i, col + 5), NULL, 10);
      memset(&e->job, 0, sizeof e->job);
    }
  }
  PQclear(r);
  f->nids -= take;
  memmove(f->ids, f->ids + take, f->nids * sizeof *f->ids);
  return STORE_OK;
}

store_status_t pg_feed_next(store_feed_t *base, int timeout_ms, store_feed_event_t *out, size_t max,
                            size_t *n) {
  pg_feed_t *f = (pg_feed_t *)base;
  if (!f->listen && !pg_feed_listen(f)) {
    poll(NULL, 0, timeout_ms); /* the database is away: try again after the wait */
    return STORE_OK;
  }
  if (f->nids == 0 && pg_feed_drain(f) && f->nids == 0) {
    struct pollfd pfd = {.fd = PQsocket(f->listen), .events = POLLIN};
    int rc = poll(&pfd, 1, timeout_ms);
    if (rc > 0 || (rc < 0 && errno != EINTR)) pg_feed_drain(f);
    f->quiet_ms = f->nids ? 0 : f->quiet_ms + timeout_ms;
    if (f->listen && f->quiet_ms >= PG_FEED_PING_MS) {
      f->quiet_ms = 0;
      if (!pg_feed_ping(f->listen, PG_FEED_PING_WAIT_MS)) {
        log_event(LOG_WARN, NULL, "event feed: connection lost", "error",
                  PQerrorMessage(f->listen), (char *)NULL);
        f->down_logged = true;
        PQfinish(f->listen);
        f->listen = NULL;
      } else {
        pg_feed_drain(f); /* notifications that came with the answer */
      }
    }
  }
  return f->nids ? pg_feed_read(f, out, max, n) : STORE_OK;
}

void pg_feed_close(store_feed_t *base) {
  pg_feed_t *f = (pg_feed_t *)base;
  PQfinish(f->listen);
  free(f->ids);
  free(f);
}
