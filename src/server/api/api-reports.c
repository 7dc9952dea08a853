/*
 * api-reports.c: the print log and its totals over REST (issue 13,
 * docs/BILLING.md "Reports").
 *
 *   GET /reports/print-log?from=&to=&user=&account=&purpose=&printer=
 *                          &before=&limit=&format=csv
 *       → {"jobs":[LOGROW...], "next_before": id|null}, newest first
 *   GET /reports/totals?by=account|purpose|user|printer|month&(filters)&format=csv
 *       → {"by","currency","rows":[{key, jobs, pages, impressions,
 *          print_fee, service_fee, total}], "totals":{...}}
 *
 * Tenant admins see every job of the tenant; a user sees only their own
 * (naming another user is 403).  from / to are UTC days, both included.
 * The totals are computed here from the store's print log rows: jobs,
 * pages and impressions count every completed job, the money columns only
 * jobs charged in the tenant's currency; a month is the UTC "YYYY-MM" the
 * job was created in.  Rows with no account / purpose / printer have the
 * key null.  A log row's fees are its charge's, else its quote's (the
 * estimate of a job not charged, e.g. one paid at the printer), else 0.
 * Paging: limit (default 100, at most 1000; CSV up to 100000 rows) jobs
 * older than job `before`; next_before is the last job's id when more
 * remain.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api-private.h"
#include "job-fee.h"
#include "job.h"
#include "money.h"
#include "price.h"

#define LOG_LIMIT_DEFAULT 100
#define LOG_LIMIT_MAX 1000
#define CSV_LIMIT_MAX 100000 /* rows of one CSV export */

typedef struct {
  store_print_log_filter_t f;
  const char *purpose_name; /* filter by the charge's purpose name (no user given) */
  char currency[NIMBUS_CURRENCY_MAX];
  bool csv;
} report_query_t;

/* ---- the query ---- */

/* The filters every report takes into q; false has responded. */
static bool report_query(api_ctx_t *c, report_query_t *q, bool paged) {
  memset(q, 0, sizeof *q);
  q->f.tenant_id = c->tenant.id;
  const char *format = http_query(c->r, "format");
  q->csv = format && strcmp(format, "csv") == 0;
  if (format && !q->csv && strcmp(format, "json") != 0) {
    api_problem(c->r, 400, "?format must be json or csv");
    return false;
  }
  if (!api_query_day(c, "from", false, &q->f.from) || !api_query_day(c, "to", true, &q->f.to))
    return false;
  if (q->f.from && q->f.to && q->f.to <= q->f.from) {
    api_problem(c->r, 400, "?to is before ?from");
    return false;
  }
  nimbus_tenant_billing_t b;
  store_status_t s = store_tenant_billing_get(c->srv->store, c->tenant.id, &b);
  if (s == STORE_OK)
    snprintf(q->currency, sizeof q->currency, "%s", b.currency);
  else if (s != STORE_NOT_FOUND)
    goto store_failed;

  /* user: a user's reports are their own jobs, whatever they ask */
  const char *user = http_query(c->r, "user");
  if (!c->is_admin) {
    if (user && *user && strcmp(user, c->r->auth.user.name) != 0) {
      api_problem(c->r, 403, "you see only your own jobs");
      return false;
    }
    q->f.user_id = c->r->auth.user.id;
  } else if (user && *user) {
    nimbus_user_t u;
    s = api_name_valid(user) ? store_user_get_by_name(c->srv->store, c->tenant.id, user, &u)
                             : STORE_NOT_FOUND;
    if (s != STORE_OK) {
      api_respond_store(c, s, "user", user);
      return false;
    }
    q->f.user_id = u.id;
  }
  const char *account = http_query(c->r, "account");
  if (account && *account) {
    nimbus_billing_account_t a;
    s = store_account_get_by_code(c->srv->store, c->tenant.id, account, &a);
    if (s == STORE_NOT_FOUND) {
      api_problem(c->r, 404, "no billing account with that code");
      return false;
    }
    if (s != STORE_OK) goto store_failed;
    q->f.account_id = a.id;
  }
  const char *purpose = http_query(c->r, "purpose");
  if (purpose && *purpose) {
    if (q->f.user_id) {
      nimbus_purpose_t p;
      s = store_purpose_get_by_name(c->srv->store, c->tenant.id, q->f.user_id, purpose, &p);
      if (s == STORE_NOT_FOUND) {
        api_problem(c->r, 404, "no purpose by that name");
        return false;
      }
      if (s != STORE_OK) goto store_failed;
      q->f.purpose_id = p.id;
    } else {
      q->purpose_name = purpose; /* every user's purpose of that name */
    }
  }
  const char *printer = http_query(c->r, "printer");
  if (printer && *printer) {
    nimbus_device_t d;
    s = api_name_valid(printer) ? store_device_get_by_name(c->srv->store, c->tenant.id, printer, &d)
                                : STORE_NOT_FOUND;
    if (s != STORE_OK) {
      api_respond_store(c, s, "printer", printer);
      return false;
    }
    q->f.device_id = d.id;
  }
  if (paged) {
    long limit, before;
    if (!api_query_int(c, "limit", q->csv ? CSV_LIMIT_MAX : LOG_LIMIT_DEFAULT, 1,
                       q->csv ? CSV_LIMIT_MAX : LOG_LIMIT_MAX, &limit) ||
        !api_query_int(c, "before", 0, 0, INT32_MAX, &before))
      return false;
    q->f.limit = (int)limit;
    if (before) {
      nimbus_job_t j;
      s = store_job_get_by_number(c->srv->store, c->tenant.id, before, &j);
      if (s == STORE_NOT_FOUND) {
        api_problem(c->r, 400, "?before must be the id of a job of the log");
        return false;
      }
      if (s != STORE_OK) goto store_failed;
      q->f.before_id = j.id;
    }
  }
  return true;
store_failed:
  api_respond_store(c, s, "print log", NULL);
  return false;
}

/* ---- a row of the log ---- */

typedef struct {
  nimbus_id_t id;
  char name[NIMBUS_NAME_MAX];
} printer_name_t;

/* What the rows are made with.  The tenant's printers are read before the
 * log: the store may not be called from inside a listing's callback. */
typedef struct {
  api_ctx_t *c;
  const report_query_t *q;
  printer_name_t *printers;
  size_t nprinters, cap;
  bool failed;
} row_ctx_t;

static bool printer_collect_cb(const nimbus_device_t *d, void *ctx) {
  row_ctx_t *rc = ctx;
  if (rc->nprinters == rc->cap) {
    size_t cap = rc->cap ? rc->cap * 2 : 16;
    printer_name_t *p = realloc(rc->printers, cap * sizeof *p);
    if (!p) {
      rc->failed = true;
      return false;
    }
    rc->printers = p;
    rc->cap = cap;
  }
  printer_name_t *p = &rc->printers[rc->nprinters++];
  p->id = d->id;
  snprintf(p->name, sizeof p->name, "%s", d->name);
  return true;
}

/* Read the tenant's printers into rc; false has responded. */
static bool printers_load(row_ctx_t *rc) {
  store_status_t s =
      store_device_list(rc->c->srv->store, rc->c->tenant.id, 0, printer_collect_cb, rc);
  if (s != STORE_OK || rc->failed) {
    api_respond_store(rc->c, s == STORE_OK ? STORE_ERROR : s, "printer", NULL);
    return false;
  }
  return true;
}

/* The name of printer id ("" when none or deleted since). */
static const char *printer_name(const row_ctx_t *rc, nimbus_id_t id) {
  for (size_t i = 0; id && i < rc->nprinters; i++)
    if (rc->printers[i].id == id) return rc->printers[i].name;
  return "";
}

static const char *charge_state_name(nimbus_charge_state_t s) {
  switch (s) {
    case NIMBUS_CHARGE_HELD:
      return "held";
    case NIMBUS_CHARGE_CHARGED:
      return "charged";
    case NIMBUS_CHARGE_RELEASED:
      return "released";
    case NIMBUS_CHARGE_CHARGE_FAILED:
      return "charge-failed";
    case NIMBUS_CHARGE_CHARGING:
      return "charging";
    default:
      return "unknown";
  }
}

/* What a log row shows of a job. */
typedef struct {
  const char *purpose, *account, *printer, *sides, *currency, *charge_state;
  bool is_private, color;
  int impressions;
  int64_t print_fee, service_fee, total;
} row_t;

static void row_of(row_ctx_t *rc, const nimbus_job_t *job, const nimbus_job_charge_t *ch,
                   const nimbus_job_quote_t *qu, row_t *r, char sides[32]) {
  memset(r, 0, sizeof *r);
  r->purpose = ch && ch->purpose_name[0] ? ch->purpose_name : NULL;
  r->account = ch && ch->account_id ? ch->account_code : NULL;
  r->is_private = ch && !ch->account_id;
  const char *pn = printer_name(rc, ch && ch->device_id ? ch->device_id : job->device_id);
  r->printer = pn[0] ? pn : NULL;
  price_job_t spec;
  job_fee_print_spec(job, true, &spec);
  r->color = spec.color;
  json_t *a = json_loads(job->attrs_json[0] ? job->attrs_json : "{}", 0, NULL);
  snprintf(sides, 32, "%s",
           json_string_value(json_object_get(a, "sides"))
               ? json_string_value(json_object_get(a, "sides"))
               : "one-sided");
  json_decref(a);
  r->sides = sides;
  r->impressions = ch && ch->impressions        ? ch->impressions
                   : job->impressions_completed ? job->impressions_completed
                                                : job->impressions;
  r->currency = rc->q->currency;
  if (ch) {
    r->currency = ch->currency;
    r->print_fee = ch->print_fee;
    r->service_fee = ch->service_fee;
    r->total = ch->total;
    r->charge_state = charge_state_name(ch->state);
  } else if (qu) {
    r->currency = qu->currency;
    r->print_fee = qu->print_fee;
    r->service_fee = qu->service_fee;
    r->total = qu->total;
  }
}

/* Does the row pass the filters the store does not apply? */
static bool row_wanted(const report_query_t *q, const nimbus_job_charge_t *ch) {
  return !q->purpose_name || (ch && strcmp(ch->purpose_name, q->purpose_name) == 0);
}

/* ---- the print log ---- */

typedef struct {
  row_ctx_t rc;
  json_t *arr;
  api_csv_t csv;
  int count, limit;
  nimbus_id_t last_number;
  bool more, failed;
} log_out_t;

static bool log_cb(const nimbus_job_t *job, const nimbus_job_charge_t *ch,
                   const nimbus_job_quote_t *qu, void *ctx) {
  log_out_t *o = ctx;
  if (!row_wanted(o->rc.q, ch)) return true;
  if (o->limit && o->count == o->limit) {
    o->more = true;
    return false;
  }
  row_t r;
  char sides[32], when[32];
  row_of(&o->rc, job, ch, qu, &r, sides);
  api_time_format(job->created_at, when);
  o->count++;
  o->last_number = job->number;
  if (o->rc.q->csv) {
    api_csv_t *w = &o->csv;
    api_csv_int(w, job->number, false);
    api_csv_field(w, when, false, false);
    api_csv_field(w, job->name, true, false);
    api_csv_field(w, job->owner_name, true, false);
    api_csv_field(w, r.purpose ? r.purpose : "", true, false);
    api_csv_field(w, r.account ? r.account : "", true, false);
    api_csv_field(w, r.is_private ? "true" : "false", false, false);
    api_csv_field(w, r.printer ? r.printer : "", true, false);
    api_csv_int(w, job->pages, false);
    api_csv_int(w, r.impressions, false);
    api_csv_field(w, r.color ? "true" : "false", false, false);
    api_csv_field(w, r.sides, true, false);
    api_csv_field(w, job_state_name(job->state), false, false);
    api_csv_field(w, r.currency, false, false);
    api_csv_int(w, r.print_fee, false);
    api_csv_int(w, r.service_fee, false);
    api_csv_int(w, r.total, false);
    api_csv_field(w, r.charge_state ? r.charge_state : "", false, true);
    o->failed = w->failed;
    return !o->failed;
  }
  json_t *j = json_pack(
      "{s:I, s:o, s:o, s:o, s:o, s:b, s:o, s:i, s:i, s:b, s:o, s:s, s:s, s:o, s:I, s:I, s:I, "
      "s:o}",
      "id", (json_int_t)job->number, "name", api_json_text(job->name), "user",
      api_json_text(job->owner_name), "purpose", r.purpose ? api_json_text(r.purpose) : json_null(),
      "account", r.account ? api_json_text(r.account) : json_null(), "private", r.is_private,
      "printer", r.printer ? api_json_text(r.printer) : json_null(), "pages", job->pages,
      "impressions", r.impressions, "color", r.color, "sides", api_json_text(r.sides), "state",
      job_state_name(job->state), "created_at", when, "currency",
      r.currency[0] ? json_string(r.currency) : json_null(), "print_fee", (json_int_t)r.print_fee,
      "service_fee", (json_int_t)r.service_fee, "total", (json_int_t)r.total, "charge_state",
      r.charge_state ? json_string(r.charge_state) : json_null());
  if (!j || json_array_append_new(o->arr, j) != 0) o->failed = true;
  return !o->failed;
}

void api_reports_print_log(api_ctx_t *c) {
  report_query_t q;
  if (!report_query(c, &q, true)) return;
  log_out_t o = {.rc = {.c = c, .q = &q}, .limit = q.f.limit};
  if (!printers_load(&o.rc)) {
    free(o.rc.printers);
    return;
  }
  /* one row more than asked: whether there is a next page */
  q.f.limit = q.purpose_name ? 0 : q.f.limit + 1;
  if (q.csv)
    api_csv_add(&o.csv,
                "id,created_at,name,user,purpose,account,private,printer,pages,impressions,color,"
                "sides,state,currency,print_fee,service_fee,total,charge_state\n",
                strlen("id,created_at,name,user,purpose,account,private,printer,pages,impressions,"
                       "color,sides,state,currency,print_fee,service_fee,total,charge_state\n"));
  else
    o.arr = json_array();
  store_status_t s =
      (q.csv || o.arr) ? store_print_log(c->srv->store, &q.f, log_cb, &o) : STORE_ERROR;
  free(o.rc.printers);
  if (s != STORE_OK || o.failed || o.csv.failed) {
    free(o.csv.buf);
    json_decref(o.arr);
    if (s != STORE_OK)
      api_respond_store(c, s, "print log", NULL);
    else
      api_problem(c->r, 500, "the report is too large or memory ran out; narrow it down");
    return;
  }
  if (q.csv) {
    api_csv_respond(c, &o.csv, "print-log.csv");
    return;
  }
  api_respond(c, 200,
              json_pack("{s:o, s:o}", "jobs", o.arr, "next_before",
                        o.more ? json_integer(o.last_number) : json_null()));
}

/* ---- totals ---- */

typedef enum { BY_ACCOUNT, BY_PURPOSE, BY_USER, BY_PRINTER, BY_MONTH } report_by_t;
static const char *const by_names[] = {"account", "purpose", "user", "printer", "month", NULL};

typedef struct {
  int64_t jobs, pages, impressions, print_fee, service_fee, total;
} sums_t;

typedef struct {
  row_ctx_t rc;
  report_by_t by;
  json_t *groups; /* key -> index into sums ("\x01" for the null key) */
  sums_t *sums;
  char **keys;
  size_t n, cap;
  sums_t all;
  bool failed;
} totals_out_t;

static bool sums_add(sums_t *s, bool completed, int pages, int impressions, bool charged,
                     const nimbus_job_charge_t *ch) {
  if (completed) {
    s->jobs++;
    s->pages += pages;
    s->impressions += impressions;
  }
  if (charged)
    return money_add(s->print_fee, ch->print_fee, &s->print_fee) &&
           money_add(s->service_fee, ch->service_fee, &s->service_fee) &&
           money_add(s->total, ch->total, &s->total);
  return true;
}

static bool totals_cb(const nimbus_job_t *job, const nimbus_job_charge_t *ch,
                      const nimbus_job_quote_t *qu, void *ctx) {
  totals_out_t *o = ctx;
  (void)qu;
  if (!row_wanted(o->rc.q, ch)) return true;
  bool completed = job->state == NIMBUS_JOB_COMPLETED;
  bool charged =
      ch && ch->state == NIMBUS_CHARGE_CHARGED && strcmp(ch->currency, o->rc.q->currency) == 0;
  if (!completed && !charged) return true;
  char month[8];
  const char *key = NULL;
  switch (o->by) {
    case BY_ACCOUNT:
      key = ch && ch->account_id ? ch->account_code : NULL;
      break;
    case BY_PURPOSE:
      key = ch && ch->purpose_name[0] ? ch->purpose_name : NULL;
      break;
    case BY_USER:
      key = job->owner_name[0] ? job->owner_name : NULL;
      break;
    case BY_PRINTER: {
      const char *pn = printer_name(&o->rc, ch && ch->device_id ? ch->device_id : job->device_id);
      key = pn[0] ? pn : NULL;
      break;
    }
    case BY_MONTH: {
      time_t t = (time_t)job->created_at;
      struct tm tm;
      if (gmtime_r(&t, &tm) && strftime(month, sizeof month, "%Y-%m", &tm)) key = month;
      break;
    }
  }
  const char *map_key = key ? key : "\x01";
  json_t *idx = json_object_get(o->groups, map_key);
  size_t i;
  if (idx) {
    i = (size_t)json_integer_value(idx);
  } else {
    if (o->n == o->cap) {
      size_t cap = o->cap ? o->cap * 2 : 16;
      sums_t *ns = realloc(o->sums, cap * sizeof *ns);
      if (ns) o->sums = ns;
      char **nk = ns ? realloc(o->keys, cap * sizeof *nk) : NULL;
      if (nk) o->keys = nk;
      if (!ns || !nk) {
        o->failed = true;
        return false;
      }
      o->cap = cap;
    }
    i = o->n;
    o->keys[i] = key ? strdup(key) : NULL;
    memset(&o->sums[i], 0, sizeof o->sums[i]);
    if ((key && !o->keys[i]) ||
        json_object_set_new(o->groups, map_key, json_integer((json_int_t)i))) {
      free(o->keys[i]);
      o->failed = true;
      return false;
    }
    o->n++;
  }
  int impressions = ch && ch->impressions        ? ch->impressions
                    : job->impressions_completed ? job->impressions_completed
                                                 : job->impressions;
  if (!sums_add(&o->sums[i], completed, job->pages, impressions, charged, ch) ||
      !sums_add(&o->all, completed, job->pages, impressions, charged, ch))
    o->failed = true;
  return !o->failed;
}

static json_t *sums_json(const sums_t *s) {
  return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "jobs", (json_int_t)s->jobs, "pages",
                   (json_int_t)s->pages, "impressions", (json_int_t)s->impressions, "print_fee",
                   (json_int_t)s->print_fee, "service_fee", (json_int_t)s->service_fee, "total",
                   (json_int_t)s->total);
}

typedef struct {
  const char *key; /* NULL: the null key */
  size_t idx;
} group_ref_t;

/* Keys in byte order, the null key last. */
static int group_cmp(const void *a, const void *b) {
  const char *ka = ((const group_ref_t *)a)->key, *kb = ((const group_ref_t *)b)->key;
  if (!ka || !kb) return (ka == NULL) - (kb == NULL);
  return strcmp(ka, kb);
}

/* o's groups in key order (malloc'd; NULL on failure). */
static group_ref_t *totals_order(totals_out_t *o) {
  group_ref_t *order = malloc((o->n ? o->n : 1) * sizeof *order);
  if (!order) return NULL;
  for (size_t i = 0; i < o->n; i++) order[i] = (group_ref_t){o->keys[i], i};
  qsort(order, o->n, sizeof *order, group_cmp);
  return order;
}

void api_reports_totals(api_ctx_t *c) {
  report_query_t q;
  const char *by = http_query(c->r, "by");
  totals_out_t o = {.rc = {.c = c, .q = &q}, .by = BY_ACCOUNT};
  if (by && *by) {
    int k = 0;
    while (by_names[k] && strcmp(by_names[k], by) != 0) k++;
    if (!by_names[k]) {
      api_problem(c->r, 400, "?by must be account, purpose, user, printer or month");
      return;
    }
    o.by = (report_by_t)k;
  }
  if (!report_query(c, &q, false)) return;
  if (!printers_load(&o.rc)) {
    free(o.rc.printers);
    return;
  }
  o.groups = json_object();
  store_status_t s = o.groups ? store_print_log(c->srv->store, &q.f, totals_cb, &o) : STORE_ERROR;
  group_ref_t *order = s == STORE_OK && !o.failed ? totals_order(&o) : NULL;
  json_t *rows = order ? json_array() : NULL;
  api_csv_t w = {0};
  if (rows && q.csv)
    api_csv_add(&w, "key,jobs,pages,impressions,currency,print_fee,service_fee,total\n",
                strlen("key,jobs,pages,impressions,currency,print_fee,service_fee,total\n"));
  for (size_t i = 0; rows && i < o.n; i++) {
    const char *key = order[i].key;
    const sums_t *sm = &o.sums[order[i].idx];
    if (q.csv) {
      api_csv_field(&w, key ? key : "", true, false);
      api_csv_int(&w, sm->jobs, false);
      api_csv_int(&w, sm->pages, false);
      api_csv_int(&w, sm->impressions, false);
      api_csv_field(&w, q.currency, false, false);
      api_csv_int(&w, sm->print_fee, false);
      api_csv_int(&w, sm->service_fee, false);
      api_csv_int(&w, sm->total, true);
      continue;
    }
    json_t *row = sums_json(sm);
    if (!row || json_object_set_new(row, "key", key ? api_json_text(key) : json_null()) != 0 ||
        json_array_append_new(rows, row) != 0) {
      json_decref(rows);
      rows = NULL;
    }
  }
  free(order);
  free(o.rc.printers);
  for (size_t i = 0; i < o.n; i++) free(o.keys[i]);
  free(o.keys);
  free(o.sums);
  json_decref(o.groups);
  if (!rows || w.failed) {
    json_decref(rows);
    free(w.buf);
    if (s != STORE_OK)
      api_respond_store(c, s, "print log", NULL);
    else
      api_problem(c->r, 500, "the report is too large or memory ran out; narrow it down");
    return;
  }
  if (q.csv) {
    json_decref(rows);
    api_csv_respond(c, &w, "totals.csv");
    return;
  }
  api_respond(c, 200,
              json_pack("{s:s, s:o, s:o, s:o}", "by", by_names[o.by], "currency",
                        q.currency[0] ? json_string(q.currency) : json_null(), "rows", rows,
                        "totals", sums_json(&o.all)));
}
