/*
 * api-audit.c: a tenant's audit log over REST (the web console,
 * docs/CONSOLE.md §1.4, PROTOCOL.md §4.11).
 *
 *   GET /audit?action=&actor=&from=&to=&before=&limit=&format=csv
 *       admins (operators: any tenant with ?tenant=)
 *       → {"entries":[{id, time, actor, action, detail}], "next_before": id|null}
 *
 * Newest first.  action is matched exactly; actor is a case-sensitive
 * substring of the actor ("alice" finds "alice@acme"); from / to are UTC
 * days, both included.  Paging: limit (default 100, at most 1000; CSV
 * default and at most 100000 rows) entries older than entry `before`;
 * next_before is the last entry's id when more remain.  The CSV has a
 * header row and the bounds of the reports' CSV (api-csv.c).  Only the
 * tenant's own entries are read: another tenant's and the system's never
 * appear.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api-private.h"

#define AUDIT_LIMIT_DEFAULT 100
#define AUDIT_LIMIT_MAX 1000
#define AUDIT_CSV_LIMIT_MAX 100000
#define AUDIT_CSV_HEADER "id,time,actor,action,detail\n"

typedef struct {
  json_t *arr;   /* JSON: the entries */
  api_csv_t csv; /* CSV: the document */
  bool is_csv;
  int count, limit;
  nimbus_id_t last_id;
  bool more, failed;
} audit_out_t;

static bool audit_cb(const store_audit_entry_t *e, void *ctx) {
  audit_out_t *o = ctx;
  if (o->count == o->limit) { /* the one row asked beyond the page */
    o->more = true;
    return false;
  }
  char when[32];
  api_time_format(e->ts, when);
  o->count++;
  o->last_id = e->id;
  if (o->is_csv) {
    api_csv_int(&o->csv, e->id, false);
    api_csv_field(&o->csv, when, false, false);
    api_csv_field(&o->csv, e->actor, true, false);
    api_csv_field(&o->csv, e->action, true, false);
    api_csv_field(&o->csv, e->detail, true, true);
    o->failed = o->csv.failed;
    return !o->failed;
  }
  json_t *j = json_pack("{s:I, s:s, s:o, s:o, s:o}", "id", (json_int_t)e->id, "time", when, "actor",
                        api_json_text(e->actor), "action", api_json_text(e->action), "detail",
                        api_json_text(e->detail));
  if (!j || json_array_append_new(o->arr, j) != 0) o->failed = true;
  return !o->failed;
}

/* A text filter ?name= of at most max bytes without control characters;
 * *out NULL when absent.  False has responded 400. */
static bool audit_query_text(api_ctx_t *c, const char *name, size_t max, const char **out) {
  const char *s = http_query(c->r, name);
  *out = NULL;
  if (!s || !*s) return true;
  if (!api_text_valid(s, max)) {
    api_problem(c->r, 400, "?%s must be text of at most %zu bytes", name, max);
    return false;
  }
  *out = s;
  return true;
}

void api_audit_list(api_ctx_t *c) {
  store_audit_filter_t f = {.tenant_id = c->tenant.id};
  audit_out_t o = {0};
  const char *format = http_query(c->r, "format");
  o.is_csv = format && strcmp(format, "csv") == 0;
  if (format && *format && !o.is_csv && strcmp(format, "json") != 0) {
    api_problem(c->r, 400, "?format must be json or csv");
    return;
  }
  if (!audit_query_text(c, "action", STORE_AUDIT_ACTION_MAX - 1, &f.action) ||
      !audit_query_text(c, "actor", STORE_AUDIT_ACTOR_MAX - 1, &f.actor) ||
      !api_query_day(c, "from", false, &f.from) || !api_query_day(c, "to", true, &f.to))
    return;
  if (f.from && f.to && f.to <= f.from) {
    api_problem(c->r, 400, "?to is before ?from");
    return;
  }
  long limit, before;
  if (!api_query_int(c, "limit", o.is_csv ? AUDIT_CSV_LIMIT_MAX : AUDIT_LIMIT_DEFAULT, 1,
                     o.is_csv ? AUDIT_CSV_LIMIT_MAX : AUDIT_LIMIT_MAX, &limit) ||
      !api_query_int(c, "before", 0, 0, LONG_MAX, &before))
    return;
  o.limit = (int)limit;
  f.limit = o.limit + 1; /* one more: whether there is a next page */
  f.before_id = before;

  if (o.is_csv)
    api_csv_add(&o.csv, AUDIT_CSV_HEADER, strlen(AUDIT_CSV_HEADER));
  else
    o.arr = json_array();
  store_status_t s =
      (o.is_csv || o.arr) ? store_audit_list(c->srv->store, &f, audit_cb, &o) : STORE_ERROR;
  if (s != STORE_OK || o.failed || o.csv.failed) {
    free(o.csv.buf);
    json_decref(o.arr);
    if (s != STORE_OK)
      api_respond_store(c, s, "audit log", NULL);
    else
      api_problem(c->r, 500, "the audit export is too large or memory ran out; narrow it down");
    return;
  }
  if (o.is_csv) {
    api_csv_respond(c, &o.csv, "audit.csv");
    return;
  }
  api_respond(c, 200,
              json_pack("{s:o, s:o}", "entries", o.arr, "next_before",
                        o.more ? json_integer(o.last_id) : json_null()));
}
