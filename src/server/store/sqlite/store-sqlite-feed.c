/*
 * store-sqlite-feed.c: the event feed (store.h) on SQLite.
 *
 * Several nimbusd processes may share one database file; SQLite has no
 * notification between processes, so the feed polls job_events above the
 * last id it read, every SQLITE_FEED_POLL_MS, on a read connection (a WAL
 * reader: it never waits for writers), and hands out the rows of other
 * origins.  It moves past this process's own rows too (up to the newest
 * id, read in the same snapshot), so a poll reads only what was committed
 * since the last one and never joins a row it does not hand out.  Commits are serialised by
 * the file's write lock and ids grow with them, so "above the last id"
 * misses nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store-sqlite-private.h"

#define SQLITE_FEED_POLL_MS 100

typedef struct {
  store_feed_t base; /* first (store-ops.h) */
  sqlite_store_t *st;
  int64_t last; /* the highest job_events.id handed out (or seen at open) */
} sqlite_feed_t;

store_status_t sqlite_feed_open(store_t *base_, store_feed_t **out) {
  sqlite_store_t *st = sqlite_of(base_);
  sqlite_feed_t *f = calloc(1, sizeof *f);
  if (!f) return STORE_ERROR;
  f->base.st = base_;
  f->st = st;
  sqlite_store_t *rd = sqlite_read_lock(st);
  store_status_t status = STORE_ERROR;
  if (rd) {
    sqlite3_stmt *s = sqlite_stmt_get_locked(rd, S_FEED_LAST);
    status = s ? sqlite_query_int64_locked(rd, s, "feed open", &f->last) : STORE_ERROR;
    sqlite_read_unlock(rd);
  }
  if (status != STORE_OK) {
    free(f);
    return status;
  }
  *out = &f->base;
  return STORE_OK;
}

/* The event's six columns (id, tenant, event, from, to, detail) follow
 * JOB_COLS (read by sqlite_job_from_row) in S_FEED_NEXT. */
#define FEED_EVENT_COLS 6

/* One event row into e. */
static void sqlite_feed_row(sqlite3_stmt *s, store_feed_event_t *e) {
  memset(e, 0, sizeof *e);
  sqlite_job_from_row(s, &e->job);
  int c = sqlite3_column_count(s) - FEED_EVENT_COLS;
  e->id = sqlite3_column_int64(s, c);
  e->tenant_id = sqlite3_column_int64(s, c + 1);
  const char *event = (const char *)sqlite3_column_text(s, c + 2);
  e->from = (nimbus_job_state_t)sqlite_column_int(s, c + 3);
  e->to = (nimbus_job_state_t)sqlite_column_int(s, c + 4);
  if (event && strcmp(event, STORE_EVENT_DEVICE_DELETED) == 0) {
    const char *detail = (const char *)sqlite3_column_text(s, c + 5);
    e->deleted_device = detail ? strtoll(detail, NULL, 10) : 0;
    memset(&e->job, 0, sizeof e->job);
  }
}

/* The rows above f->last of other origins, at most max (f->last moves
 * past this origin's rows as well). */
static store_status_t sqlite_feed_read(sqlite_feed_t *f, store_feed_event_t *out, size_t max,
                                       size_t *n) {
  sqlite_store_t *rd = sqlite_read_lock(f->st);
  if (!rd) return STORE_ERROR;
  int64_t newest = 0;
  sqlite3_stmt *s = sqlite_stmt_get_locked(rd, S_FEED_LAST);
  store_status_t status = s ? sqlite_query_int64_locked(rd, s, "feed read", &newest) : STORE_ERROR;
  s = status == STORE_OK && newest > f->last ? sqlite_stmt_get_locked(rd, S_FEED_NEXT) : NULL;
  if (s) {
    sqlite3_bind_int64(s, 1, f->last);
    sqlite3_bind_int64(s, 2, newest);
    sqlite3_bind_int64(s, 3, f->st->owner->base.origin);
    sqlite3_bind_int64(s, 4, (sqlite3_int64)max);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) sqlite_feed_row(s, &out[(*n)++]); /* LIMIT max */
    if (rc == SQLITE_DONE) {
      /* all of them, or max: then the rest from the last one handed out */
      f->last = *n == max ? out[*n - 1].id : newest;
    } else {
      status = sqlite_fail_locked(rd, rc, "feed read");
    }
    sqlite_stmt_reset(s);
  }
  sqlite_read_unlock(rd);
  return status;
}

store_status_t sqlite_feed_next(store_feed_t *base_, int timeout_ms, store_feed_event_t *out,
                                size_t max, size_t *n) {
  sqlite_feed_t *f = (sqlite_feed_t *)base_;
  for (int waited = 0;; waited += SQLITE_FEED_POLL_MS) {
    store_status_t status = sqlite_feed_read(f, out, max, n);
    if (status != STORE_OK || *n > 0 || waited >= timeout_ms) return status;
    struct timespec ts = {0, SQLITE_FEED_POLL_MS * 1000000L};
    nanosleep(&ts, NULL);
  }
}

void sqlite_feed_close(store_feed_t *base_) {
  free(base_);
}
