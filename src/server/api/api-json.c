/*
 * api-json.c: JSON in and out for the REST API: reading and checking body
 * members and query arguments (each failure answers 400 naming the field),
 * name and text validation, and records → JSON (times as RFC 3339 UTC,
 * unset times as null).  Secrets never appear in output: a job shows only
 * has_pin, a user never its password hash, a token never its hash.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api-private.h"
#include "charge.h"
#include "job-fee.h"
#include "job-settings.h"
#include "job.h"
#include "payment-flow.h"
#include "utf8.h"

#define API_JOB_REASONS_MAX 8
#define API_JOB_DOCUMENTS_MAX 256 /* documents listed per job */

/* ---- validation ---- */

bool api_name_valid(const char *s) {
  size_t len = strlen(s);
  if (len < 1 || len >= NIMBUS_NAME_MAX || s[0] == '.' || s[0] == '-') return false;
  return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == len;
}

bool api_keyword_supported(api_ctx_t *c, const char *field, const char *attr, const char *value) {
  const char *const *list = job_settings_supported(attr);
  char allowed[512];
  size_t used = 0;
  allowed[0] = '\0';
  for (size_t i = 0; list && list[i]; i++) {
    if (value && strcmp(value, list[i]) == 0) return true;
    int n = snprintf(allowed + used, sizeof allowed - used, "%s%s", i ? ", " : "", list[i]);
    if (n > 0 && (size_t)n < sizeof allowed - used) used += (size_t)n;
  }
  api_problem(c->r, 400, "'%s' must be one of %s", field, allowed);
  return false;
}

bool api_tenant_name_reserved(const char *name) {
  return strcasecmp(name, API_SYSTEM_TENANT) == 0;
}

bool api_text_valid(const char *s, size_t maxlen) {
  size_t len = strlen(s);
  if (len > maxlen) return false;
  const unsigned char *p = (const unsigned char *)s;
  for (size_t i = 0; i < len;) {
    if (p[i] < 0x20 || p[i] == 0x7f) return false;
    size_t n = utf8_seq_len(p + i, len - i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

/* ---- request bodies ---- */

bool api_body_only(api_ctx_t *c, const char *const *fields) {
  const char *key;
  json_t *value;
  json_object_foreach(c->body, key, value) {
    bool known = false;
    for (int i = 0; fields[i] && !known; i++) known = strcmp(key, fields[i]) == 0;
    if (!known) {
      /* Echo the member name only when it is harmless text. */
      if (api_text_valid(key, 64))
        api_problem(c->r, 400, "unknown field '%s'", key);
      else
        api_problem(c->r, 400, "unknown field in the request body");
      return false;
    }
  }
  return true;
}

bool api_body_string(api_ctx_t *c, const char *key, bool required, size_t maxlen,
                     const char **out) {
  json_t *v = json_object_get(c->body, key); /* NULL body: absent */
  *out = NULL;
  if (!v || json_is_null(v)) {
    if (!required) return true;
    api_problem(c->r, 400, "'%s' is required", key);
    return false;
  }
  if (!json_is_string(v)) {
    api_problem(c->r, 400, "'%s' must be a string", key);
    return false;
  }
  if (json_string_length(v) > maxlen) {
    api_problem(c->r, 400, "'%s' is longer than %zu bytes", key, maxlen);
    return false;
  }
  *out = json_string_value(v);
  return true;
}

bool api_body_integer(api_ctx_t *c, const char *key, json_int_t min, json_int_t max,
                      json_int_t *out, bool *present) {
  json_t *v = json_object_get(c->body, key);
  *present = false;
  if (!v || json_is_null(v)) return true;
  if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
    api_problem(c->r, 400,
                "'%s' must be an integer from %" JSON_INTEGER_FORMAT " to %" JSON_INTEGER_FORMAT,
                key, min, max);
    return false;
  }
  *out = json_integer_value(v);
  *present = true;
  return true;
}

bool api_body_bool(api_ctx_t *c, const char *key, bool *out, bool *present) {
  json_t *v = json_object_get(c->body, key);
  *present = false;
  if (!v || json_is_null(v)) return true;
  if (!json_is_boolean(v)) {
    api_problem(c->r, 400, "'%s' must be true or false", key);
    return false;
  }
  *out = json_is_true(v);
  *present = true;
  return true;
}

void api_body_wipe(api_ctx_t *c, const char *key) {
  json_t *v = json_object_get(c->body, key);
  if (!json_is_string(v)) return;
  /* jansson owns a private, writable copy of the value. */
  explicit_bzero((char *)json_string_value(v), json_string_length(v));
}

/* ---- query arguments ---- */

bool api_query_int(api_ctx_t *c, const char *name, long def, long min, long max, long *out) {
  const char *s = http_query(c->r, name);
  *out = def;
  if (!s || !*s) return true;
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || *end || v < min || v > max || !(s[0] == '-' || (s[0] >= '0' && s[0] <= '9'))) {
    api_problem(c->r, 400, "?%s must be an integer from %ld to %ld", name, min, max);
    return false;
  }
  *out = v;
  return true;
}

/* ---- listings ---- */

bool api_list_append(api_list_t *l, json_t *item) {
  if (!l->arr || json_array_append_new(l->arr, item) != 0) { /* item released */
    l->failed = true;
    return false;
  }
  return true;
}

bool api_rows_add(api_rows_t *rows, const void *record) {
  if (rows->n == rows->cap) {
    size_t cap = rows->cap ? rows->cap * 2 : 16;
    void *v = realloc(rows->v, cap * rows->size);
    if (!v) {
      rows->failed = true;
      return false;
    }
    rows->v = v;
    rows->cap = cap;
  }
  memcpy((char *)rows->v + rows->n++ * rows->size, record, rows->size);
  return true;
}

void api_rows_free(api_rows_t *rows) {
  if (rows->v) explicit_bzero(rows->v, rows->cap * rows->size);
  free(rows->v);
  rows->v = NULL;
}

void api_list_respond(api_list_t *l, store_status_t s, const char *key, const char *what) {
  if (s != STORE_OK)
    api_respond_store(l->c, s, what, NULL);
  else if (l->failed || !l->arr)
    api_respond(l->c, 200, NULL);
  else
    api_respond(l->c, 200, json_pack("{s:O}", key, l->arr));
  json_decref(l->arr);
  l->arr = NULL;
}

/* ---- records to JSON ---- */

void api_time_format(int64_t t, char out[32]) {
  time_t tt = (time_t)t;
  struct tm tm;
  if (!gmtime_r(&tt, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    snprintf(out, 32, "1970-01-01T00:00:00Z");
}

json_t *api_json_time(int64_t t) {
  if (t == 0) return json_null();
  char buf[32];
  api_time_format(t, buf);
  return json_string(buf);
}

json_t *api_json_text(const char *s) {
  json_t *j = json_string(s);
  if (j) return j;
  /* Stored text that is not UTF-8 (e.g. from an IPP client): replace each
   * bad byte with U+FFFD rather than failing the whole response. */
  size_t len = strlen(s);
  char *buf = malloc(3 * len + 1);
  if (!buf) return NULL;
  size_t o = 0;
  const unsigned char *p = (const unsigned char *)s;
  for (size_t i = 0; i < len;) {
    size_t n = utf8_seq_len(p + i, len - i);
    if (n == 0) {
      memcpy(buf + o, "\xef\xbf\xbd", 3);
      o += 3;
      i++;
    } else {
      memcpy(buf + o, p + i, n);
      o += n;
      i += n;
    }
  }
  j = json_stringn(buf, o);
  free(buf);
  return j;
}

const char *api_role_name(nimbus_role_t role) {
  switch (role) {
    case NIMBUS_ROLE_USER:
      return "user";
    case NIMBUS_ROLE_TENANT_ADMIN:
      return "tenant-admin";
    case NIMBUS_ROLE_OPERATOR:
      return "operator";
  }
  return "user";
}

bool api_role_parse(const char *s, nimbus_role_t *out) {
  if (strcmp(s, "user") == 0)
    *out = NIMBUS_ROLE_USER;
  else if (strcmp(s, "tenant-admin") == 0)
    *out = NIMBUS_ROLE_TENANT_ADMIN;
  else if (strcmp(s, "operator") == 0)
    *out = NIMBUS_ROLE_OPERATOR;
  else
    return false;
  return true;
}

json_t *api_tenant_json(const nimbus_tenant_t *t) {
  return json_pack("{s:o, s:o, s:I, s:i, s:i, s:s, s:s, s:b, s:o}", "name", api_json_text(t->name),
                   "display_name", api_json_text(t->display_name), "max_document_size",
                   (json_int_t)t->max_document_size, "max_held_jobs_per_user",
                   t->max_held_jobs_per_user, "retention_hours", t->retention_hours, "panel_login",
                   strcmp(t->panel_login, "pin") == 0 ? "pin" : "password", "unknown_user_names",
                   strcmp(t->unknown_user_names, "hold") == 0 ? "hold" : "refuse", "suspended",
                   t->suspended, "created_at", api_json_time(t->created_at));
}

json_t *api_user_json(const nimbus_user_t *u) {
  return json_pack("{s:o, s:s, s:b, s:o}", "name", api_json_text(u->name), "role",
                   api_role_name(u->role), "has_panel_pin", u->panel_pin_hash[0] != '\0',
                   "created_at", api_json_time(u->created_at));
}

json_t *api_alias_json(const nimbus_alias_t *a) {
  return json_pack("{s:o, s:o, s:o}", "alias", api_json_text(a->alias), "user",
                   api_json_text(a->user_name), "created_at", api_json_time(a->created_at));
}

/* Host for printer URIs: the request's Host header when it is a plain
 * host[:port], else the address the server listens on. */
static void api_uri_host(const api_ctx_t *c, char *out, size_t outlen) {
  const char *h = c->r->host;
  size_t len = strlen(h);
  if (len > 0 &&
      strspn(h, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-:[]") == len)
    snprintf(out, outlen, "%s", h);
  else
    snprintf(out, outlen, "%s:%d", c->srv->cfg.listen, c->srv->cfg.port);
}

/* The job settings a queue takes on upload (sides, print-color-mode,
 * media: the values job_settings_supported lists, which POST /jobs and IPP
 * job creation check), as {"sides":[...], ...}: the console's print page
 * offers exactly these. */
static json_t *api_queue_supported_json(void) {
  static const char *const names[] = {"sides", "print-color-mode", "media"};
  json_t *o = json_object();
  for (size_t i = 0; o && i < sizeof names / sizeof names[0]; i++) {
    json_t *arr = json_array();
    const char *const *list = job_settings_supported(names[i]);
    for (size_t k = 0; arr && list && list[k]; k++)
      json_array_append_new(arr, json_string(list[k]));
    json_object_set_new(o, names[i], arr ? arr : json_array());
  }
  return o ? o : json_object();
}

json_t *api_queue_json(const api_ctx_t *c, const nimbus_queue_t *q) {
  char host[300], uri[600];
  api_uri_host(c, host, sizeof host);
  snprintf(uri, sizeof uri, "%s://%s/ipp/print/%s/%s", c->r->tls ? "ipps" : "ipp", host,
           c->tenant.name, q->name);
  return json_pack("{s:o, s:o, s:b, s:b, s:s, s:o, s:o, s:o, s:o}", "name", api_json_text(q->name),
                   "description", api_json_text(q->description), "release_immediately",
                   q->release_immediately, "allow_anonymous", q->allow_anonymous, "release_scope",
                   strcmp(q->release_scope, "follow-me") == 0 ? "follow-me" : "this-printer",
                   "printer_uri", api_json_text(uri), "created_at", api_json_time(q->created_at),
                   "pricing", api_pricing_json((api_ctx_t *)c, &q->pricing), "supported",
                   api_queue_supported_json());
}

json_t *api_token_json(const nimbus_token_t *tk) {
  /* scope null: full access; "federation": GET /whoami only (FEDERATION.md §2.1) */
  return json_pack("{s:I, s:o, s:o, s:o, s:o, s:b, s:o}", "id", (json_int_t)tk->id, "user",
                   api_json_text(tk->user_name), "label", api_json_text(tk->label), "created_at",
                   api_json_time(tk->created_at), "expires_at", api_json_time(tk->expires_at),
                   "revoked", tk->revoked, "scope",
                   tk->scope[0] ? json_string(tk->scope) : json_null());
}

static const char *api_ipp_state_name(int ipp_state) {
  switch (ipp_state) {
    case 3:
      return "pending";
    case 4:
      return "pending-held";
    case 5:
      return "processing";
    case 6:
      return "processing-stopped";
    case 7:
      return "canceled";
    case 8:
      return "aborted";
    case 9:
      return "completed";
  }
  return "pending";
}

/* Optional text: "" becomes null. */
static json_t *api_json_opt_text(const char *s) {
  return *s ? api_json_text(s) : json_null();
}

json_t *api_job_json_base(const char *tenant_name, const nimbus_job_t *job) {
  const char *reasons[API_JOB_REASONS_MAX];
  int n = job_ipp_state_reasons(job, reasons, API_JOB_REASONS_MAX);
  json_t *jr = json_array();
  for (int i = 0; jr && i < n; i++) {
    if (json_array_append_new(jr, json_string(reasons[i])) != 0) {
      json_decref(jr);
      jr = NULL;
    }
  }
  /* origin_device: the printer the job came through, null when none or
   * when that printer's registration is gone. */
  json_t *origin = job->origin_device_id && job->origin_device_name[0]
                       ? api_json_text(job->origin_device_name)
                       : json_null();
  /* locked_until: the end of a wrong-PIN lock (PROTOCOL.md §7.3), null
   * when the job is not locked now */
  json_t *locked = job->pin_locked_until > (int64_t)time(NULL)
                       ? api_json_time(job->pin_locked_until)
                       : json_null();
  return json_pack(
      "{s:I, s:o, s:o, s:o, s:o, s:s, s:s, s:o, s:i, s:i, s:i, s:i, s:o, s:o, s:b, "
      "s:o, s:o, s:o, s:o, s:o}",
      "id", (json_int_t)job->number, "tenant", api_json_text(tenant_name), "queue",
      api_json_text(job->queue_name), "owner", api_json_text(job->owner_name), "name",
      api_json_text(job->name), "state", job_state_name(job->state), "ipp_state",
      api_ipp_state_name(job_ipp_state(job->state)), "state_reasons", jr, "pages", job->pages,
      "impressions", job->impressions, "impressions_completed", job->impressions_completed,
      "copies", job->copies, "account_id", api_json_opt_text(job->account_id), "accounting_user_id",
      api_json_opt_text(job->accounting_user_id), "has_pin", job->pin_hash[0] != '\0', "created_at",
      api_json_time(job->created_at), "completed_at", api_json_time(job->completed_at), "reference",
      api_json_text(job->reference), "origin_device", origin, "locked_until", locked);
}

bool api_job_add_documents(api_ctx_t *c, json_t *obj, nimbus_id_t job_id, int num_documents) {
  int max = num_documents < 1                       ? 1
            : num_documents > API_JOB_DOCUMENTS_MAX ? API_JOB_DOCUMENTS_MAX
                                                    : num_documents;
  nimbus_document_t *docs = calloc((size_t)max, sizeof *docs);
  json_t *arr = json_array();
  bool ok = false;
  int count = 0;
  if (!docs || !arr) goto done;
  if (store_document_list(c->srv->store, c->tenant.id, job_id, docs, max, &count) != STORE_OK)
    goto done;
  for (int i = 0; i < count; i++) {
    json_t *d = json_pack("{s:i, s:o, s:o, s:I, s:i, s:b}", "number", docs[i].number, "format",
                          api_json_text(docs[i].format), "name", api_json_text(docs[i].name),
                          "size", (json_int_t)docs[i].size, "pages", docs[i].pages, "purged",
                          docs[i].blob_key[0] == '\0');
    if (json_array_append_new(arr, d) != 0) goto done;
  }
  ok = json_object_set(obj, "documents", arr) == 0;
done:
  json_decref(arr);
  free(docs);
  return ok;
}

/* The job's fee ("charge") and latest payment (issue 12): the stored quote,
 * priced now when there is none yet and the job may still be released. */
static bool api_job_add_money(api_ctx_t *c, json_t *obj, const nimbus_job_t *job) {
  nimbus_job_quote_t q;
  store_status_t s = store_job_quote_get(c->srv->store, c->tenant.id, job->id, &q);
  if (s == STORE_NOT_FOUND &&
      (job->state == NIMBUS_JOB_HELD || job->state == NIMBUS_JOB_RECEIVED)) {
    char err[160];
    s = job_fee_compute(c->srv->store, job, NULL, &q, NULL, err, sizeof err) == JOB_FEE_ERROR
            ? STORE_ERROR
            : STORE_OK;
  }
  if (s == STORE_ERROR) return false;
  json_t *charge = s == STORE_OK ? job_fee_quote_json(&q) : NULL;
  json_object_set_new(obj, "charge", charge ? charge : json_null());
  nimbus_payment_t p;
  if (store_payment_get_latest_for_job(c->srv->store, c->tenant.id, job->id, &p) == STORE_OK)
    json_object_set_new(obj, "payment", payments_json(&p));
  /* billing by purpose: the job's purpose and what it is charged */
  json_t *purpose = charge_purpose_json(c->srv->store, job);
  json_object_set_new(obj, "purpose", purpose ? purpose : json_null());
  return true;
}

/* The job's settings as stored from its creation (attrs_json): sides,
 * print-color-mode and media when it has them, as "settings". */
static bool api_job_add_settings(json_t *obj, const nimbus_job_t *job) {
  static const char *const names[] = {"sides", "print-color-mode", "media"};
  json_t *settings = json_object();
  if (!settings) return false;
  json_t *attrs = job->attrs_json[0] ? json_loads(job->attrs_json, 0, NULL) : NULL;
  for (size_t i = 0; attrs && i < sizeof names / sizeof names[0]; i++) {
    json_t *v = json_object_get(attrs, names[i]);
    if (json_is_string(v)) json_object_set(settings, names[i], v);
  }
  json_decref(attrs);
  return json_object_set_new(obj, "settings", settings) == 0;
}

json_t *api_job_json(api_ctx_t *c, const nimbus_job_t *job) {
  json_t *obj = api_job_json_base(c->tenant.name, job);
  if (obj && (!api_job_add_documents(c, obj, job->id, job->num_documents) ||
              !api_job_add_settings(obj, job) || !api_job_add_money(c, obj, job) ||
              json_object_set_new(obj, "origin", api_job_origin_json(c, job)) != 0)) {
    json_decref(obj);
    obj = NULL;
  }
  return obj;
}
