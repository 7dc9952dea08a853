/*
 * pg-pool.c: the PostgreSQL store's connection pool (pg-pool.h).
 *
 * Slots are fixed at open: `conns[i]` with `busy[i]`.  pg_pool.mu guards
 * `busy`, `nfree` and `closing`; `freed` is signalled at every check-in.
 * Opening, closing and using a connection happen with the mutex
 * released: a checked-out slot belongs to its thread alone.
 *
 * Each new connection gets the session settings the store relies on
 * (pg_conn_setup): synchronous_commit on, so a COMMIT returns only once
 * it is flushed to the server's WAL, whatever the database's default;
 * client_min_messages warning, so libpq does not print notices.
 */
#include "pg-pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

struct pg_pool {
  pthread_mutex_t mu;
  pthread_cond_t freed; /* a slot was checked in (CLOCK_MONOTONIC) */
  char *conninfo;
  int size;
  int nfree;
  bool *busy;
  pg_conn_t *conns;
};

/* libpq's last error without its trailing newline. */
static void pg_conn_error(PGconn *conn, char *err, size_t errlen) {
  snprintf(err, errlen, "%s", conn ? PQerrorMessage(conn) : "out of memory");
  size_t n = strlen(err);
  while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == '\r')) err[--n] = '\0';
}

/* Open c->conn and apply the session settings; false with err set. */
static bool pg_conn_setup(pg_conn_t *c, const char *conninfo, char *err, size_t errlen) {
  memset(c->prepared, 0, sizeof c->prepared);
  c->broken = false;
  c->conn = PQconnectdb(conninfo);
  if (!c->conn || PQstatus(c->conn) != CONNECTION_OK) {
    pg_conn_error(c->conn, err, errlen);
    goto fail;
  }
  /* notices ("relation already exists, skipping") are not for the log */
  PGresult *r = PQexec(c->conn, "SET synchronous_commit = on; SET client_min_messages = warning");
  bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  if (!ok) {
    pg_conn_error(c->conn, err, errlen);
    goto fail;
  }
  return true;
fail:
  PQfinish(c->conn);
  c->conn = NULL;
  return false;
}

PGconn *pg_pool_connect_extra(pg_pool_t *p, char *err, size_t errlen) {
  pg_conn_t c = {0};
  return pg_conn_setup(&c, p->conninfo, err, errlen) ? c.conn : NULL;
}

pg_pool_t *pg_pool_open(const char *conninfo, int size, char *err, size_t errlen) {
  pg_pool_t *p = calloc(1, sizeof *p);
  if (!p) goto oom;
  p->conninfo = strdup(conninfo);
  p->busy = calloc((size_t)size, sizeof *p->busy);
  p->conns = calloc((size_t)size, sizeof *p->conns);
  if (!p->conninfo || !p->busy || !p->conns) goto oom;
  p->size = p->nfree = size;
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&p->freed, &ca);
  pthread_condattr_destroy(&ca);
  pthread_mutex_init(&p->mu, NULL);
  if (!pg_conn_setup(&p->conns[0], p->conninfo, err, errlen)) {
    pg_pool_close(p);
    return NULL;
  }
  return p;
oom:
  snprintf(err, errlen, "out of memory");
  if (p) {
    free(p->conninfo);
    free(p->busy);
    free(p->conns);
    free(p);
  }
  return NULL;
}

void pg_pool_close(pg_pool_t *p) {
  if (!p) return;
  for (int i = 0; i < p->size; i++) PQfinish(p->conns[i].conn);
  pthread_cond_destroy(&p->freed);
  pthread_mutex_destroy(&p->mu);
  free(p->conninfo);
  free(p->busy);
  free(p->conns);
  free(p);
}

pg_conn_t *pg_pool_checkout(pg_pool_t *p, int timeout_ms, bool *busy) {
  struct timespec deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  deadline.tv_sec += timeout_ms / 1000;
  deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
  if (deadline.tv_nsec >= 1000000000L) {
    deadline.tv_sec++;
    deadline.tv_nsec -= 1000000000L;
  }
  *busy = false;
  pthread_mutex_lock(&p->mu);
  while (p->nfree == 0) {
    if (timeout_ms == 0 || pthread_cond_timedwait(&p->freed, &p->mu, &deadline) == ETIMEDOUT) {
      if (p->nfree > 0) break;
      pthread_mutex_unlock(&p->mu);
      *busy = true;
      return NULL;
    }
  }
  /* Prefer a slot that is already connected. */
  int slot = -1;
  for (int i = 0; i < p->size; i++) {
    if (p->busy[i]) continue;
    if (slot < 0 || (!p->conns[slot].conn && p->conns[i].conn)) slot = i;
    if (p->conns[slot].conn) break;
  }
  p->busy[slot] = true;
  p->nfree--;
  pthread_mutex_unlock(&p->mu);

  pg_conn_t *c = &p->conns[slot];
  if (!c->conn) {
    char err[256];
    if (!pg_conn_setup(c, p->conninfo, err, sizeof err)) {
      log_event(LOG_ERROR, NULL, "store connection failed", "error", err, (char *)NULL);
      pg_pool_checkin(p, c);
      return NULL;
    }
  }
  return c;
}

void pg_pool_checkin(pg_pool_t *p, pg_conn_t *c) {
  if (c->conn && (c->broken || PQstatus(c->conn) != CONNECTION_OK)) {
    log_event(LOG_WARN, NULL, "store connection lost, reconnecting on next use", (char *)NULL);
    PQfinish(c->conn);
    c->conn = NULL;
  }
  int slot = (int)(c - p->conns);
  pthread_mutex_lock(&p->mu);
  p->busy[slot] = false;
  p->nfree++;
  pthread_cond_signal(&p->freed);
  pthread_mutex_unlock(&p->mu);
}
