/*
 * api-payments.c: money over REST (issue 12, docs/PAYMENTS.md).
 *
 *   GET    /billing                → {currency, service_fee_fixed, service_fee_bps,
 *                                  purpose_required}
 *   PATCH  /billing                admins {currency, purpose_required}; operators also
 *                                  {service_fee_fixed, service_fee_bps}
 *   GET    /billing/provider       admins → {provider, ...masked credentials} | 404
 *   PUT    /billing/provider       admins {provider, credentials:{...}} → 200 (masked)
 *   DELETE /billing/provider       admins → 204
 *   GET    /price-tables           → {price_tables:[{name, table}]}
 *   POST   /price-tables           admins {name, table} → 201
 *   GET|PATCH|DELETE /price-tables/{name}   (PATCH {table})
 *   POST   /price-tables/preview   admins {table | name, job:{pages, copies, sides, color,
 *                                  media}} → {currency, print_fee, service_fee, total,
 *                                  *_text, impressions, lines}; nothing saved
 *   GET    /ledger                 admins ?job=&after=&limit=&format=csv, operators ?all=1
 *   GET    /ledger/balances        admins (operators ?all=1)
 *   GET    /payments/linepay-confirm?transactionId=&orderId=   public: LINE Pay's
 *                                  confirmUrl (the user's browser): a page
 *   POST   /payments/stripe-webhook/{tenant}   public: Stripe's webhook
 *   GET    /payments/return?order=  public: back from the provider's page
 *
 * Amounts are integers in the currency's minor unit everywhere, with the
 * currency code beside them; "*_text" members are for people only.
 * Credentials are sealed before the store sees them (payment-flow.c) and
 * never come back: reads show which fields are set, masked.
 */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api-private.h"
#include "job-fee.h"
#include "ledger.h"
#include "log.h"
#include "money.h"
#include "payment-flow.h"
#include "price.h"

/* ---- tenant billing settings ---- */

static json_t *billing_json(const nimbus_tenant_billing_t *b) {
  return json_pack("{s:s, s:I, s:i, s:b}", "currency", b->currency, "service_fee_fixed",
                   (json_int_t)b->service_fee_fixed, "service_fee_bps", b->service_fee_bps,
                   "purpose_required", b->purpose_required);
}

static bool billing_load(api_ctx_t *c, nimbus_tenant_billing_t *b) {
  store_status_t s = store_tenant_billing_get(c->srv->store, c->tenant.id, b);
  if (s == STORE_NOT_FOUND) {
    memset(b, 0, sizeof *b);
    b->tenant_id = c->tenant.id;
    return true;
  }
  if (s != STORE_OK) {
    api_respond_store(c, s, "billing settings", NULL);
    return false;
  }
  return true;
}

void api_billing_get(api_ctx_t *c) {
  nimbus_tenant_billing_t b;
  if (billing_load(c, &b)) api_respond(c, 200, billing_json(&b));
}

void api_billing_update(api_ctx_t *c) {
  static const char *const fields[] = {"currency", "service_fee_fixed", "service_fee_bps",
                                       "purpose_required", NULL};
  nimbus_tenant_billing_t b;
  const char *currency;
  json_int_t fixed, bps;
  bool has_fixed, has_bps, required, has_required;
  if (!api_body_only(c, fields) || !api_body_string(c, "currency", false, 3, &currency) ||
      !api_body_bool(c, "purpose_required", &required, &has_required) ||
      !api_body_integer(c, "service_fee_fixed", 0, MONEY_MAX, &fixed, &has_fixed) ||
      !api_body_integer(c, "service_fee_bps", 0, 10000, &bps, &has_bps) || !billing_load(c, &b))
    return;
  if ((has_fixed || has_bps) && !c->is_operator) {
    api_problem(c->r, 403, "only the operator sets the service fee");
    return;
  }
  if (currency) {
    if (!money_currency_valid(currency)) {
      api_problem(c->r, 400, "'currency' must be an ISO 4217 code such as EUR, USD or JPY");
      return;
    }
    snprintf(b.currency, sizeof b.currency, "%s", currency);
  }
  if (has_fixed) b.service_fee_fixed = fixed;
  if (has_bps) b.service_fee_bps = (int)bps;
  if (has_required) b.purpose_required = required;
  api_audit_t a;
  store_status_t s = store_tenant_billing_put(
      c->srv->store, &b,
      api_audit_of(c, &a, "billing-updated",
                   "currency=%s service_fee_fixed=%" PRId64
                   " service_fee_bps=%d purpose_required=%d",
                   b.currency, b.service_fee_fixed, b.service_fee_bps, b.purpose_required));
  if (s != STORE_OK) {
    api_respond_store(c, s, "tenant", NULL);
    return;
  }
  api_respond(c, 200, billing_json(&b));
}

/* ---- the payment provider ---- */

void api_billing_provider_get(api_ctx_t *c) {
  json_t *d = payments_describe_provider(c->srv, c->tenant.id);
  if (!d) {
    api_problem(c->r, 404, "no payment provider is set up for this tenant");
    return;
  }
  api_respond(c, 200, d);
}

void api_billing_provider_set(api_ctx_t *c) {
  static const char *const fields[] = {"provider", "credentials", NULL};
  const char *provider;
  if (!api_body_only(c, fields) || !api_body_string(c, "provider", true, 15, &provider)) return;
  json_t *cred = json_object_get(c->body, "credentials");
  if (!json_is_object(cred)) {
    api_problem(c->r, 400, "'credentials' must be an object (docs/PAYMENTS.md)");
    return;
  }
  /* where nimbusd sends its provider calls is the operator's decision: a
   * tenant admin pointing api_base at an internal address would make
   * nimbusd call it (and could fake its own provider's answers) */
  if (json_object_get(cred, "api_base") && !c->is_operator) {
    api_problem(c->r, 403,
                "only the operator may set 'api_base' (the provider's production address is "
                "used otherwise)");
    return;
  }
  char msg[256];
  payflow_result_t r =
      payments_set_provider(c->srv, c->tenant.id, provider, cred, c->actor, msg, sizeof msg);
  /* the body held secrets: wipe every string of the credentials */
  const char *k;
  json_t *v;
  json_object_foreach(cred, k, v) {
    if (json_is_string(v)) sodium_memzero((char *)json_string_value(v), json_string_length(v));
  }
  switch (r) {
    case PAYFLOW_OK:
      log_event(LOG_INFO, c->r->id, "payment provider set", "tenant", c->tenant.name, "provider",
                provider, "by", c->actor, (char *)NULL);
      api_respond(c, 200, payments_describe_provider(c->srv, c->tenant.id));
      break;
    case PAYFLOW_NO_PROVIDER:
    case PAYFLOW_CONFLICT:
      api_problem(c->r, 400, "%s", msg);
      break;
    case PAYFLOW_NOT_FOUND:
      api_problem(c->r, 404, "no such tenant");
      break;
    default:
      api_problem(c->r, 500, "storage error");
      break;
  }
}

void api_billing_provider_delete(api_ctx_t *c) {
  api_audit_t a;
  store_status_t s = store_payment_provider_delete(
      c->srv->store, c->tenant.id, api_audit_of(c, &a, "payment-provider-deleted", "%s", ""));
  if (s == STORE_NOT_FOUND) {
    api_problem(c->r, 404, "no payment provider is set up for this tenant");
    return;
  }
  if (s != STORE_OK) {
    api_respond_store(c, s, "payment provider", NULL);
    return;
  }
  api_respond_no_content(c);
}

/* ---- price tables ---- */

static json_t *price_table_json(const nimbus_price_table_t *t) {
  json_t *spec = json_loads(t->spec, 0, NULL);
  return json_pack("{s:s, s:o, s:o, s:o}", "name", t->name, "table", spec ? spec : json_null(),
                   "created_at", api_json_time(t->created_at), "updated_at",
                   api_json_time(t->updated_at));
}

/* The body's "table" checked (price.h) and written canonically into t->spec. */
static bool price_table_from_body(api_ctx_t *c, nimbus_price_table_t *t) {
  json_t *j = json_object_get(c->body, "table");
  price_table_t pt;
  char err[256];
  if (!json_is_object(j)) {
    api_problem(c->r, 400, "'table' must be an object (docs/PAYMENTS.md \"Price tables\")");
    return false;
  }
  if (!price_table_from_json(j, &pt, err, sizeof err)) {
    api_problem(c->r, 400, "'table': %s", err);
    return false;
  }
  json_t *canon = price_table_to_json(&pt);
  char *text = canon ? json_dumps(canon, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  json_decref(canon);
  if (!text || strlen(text) >= sizeof t->spec) {
    free(text);
    api_problem(c->r, 400, "'table' is too large");
    return false;
  }
  snprintf(t->spec, sizeof t->spec, "%s", text);
  free(text);
  return true;
}

/* ---- the price-table editor's preview ---- */

#define PREVIEW_PAGES_MAX 100000
#define PREVIEW_COPIES_MAX 999

/* The body's "job" as the job record the pricing reads (pages, copies,
 * attrs_json with sides / print-color-mode / media, as IPP and the upload
 * store them); false has responded 400. */
static bool preview_job(api_ctx_t *c, nimbus_job_t *job) {
  static const char *const members[] = {"pages", "copies", "sides", "color", "media", NULL};
  json_t *j = json_object_get(c->body, "job");
  if (!json_is_object(j)) {
    api_problem(c->r, 400, "'job' must be an object {pages, copies, sides, color, media}");
    return false;
  }
  const char *key;
  json_t *v;
  json_object_foreach(j, key, v) {
    size_t k = 0;
    while (members[k] && strcmp(members[k], key) != 0) k++;
    if (!members[k]) {
      api_problem(c->r, 400, "'job' has an unknown member (pages, copies, sides, color, media)");
      return false;
    }
  }
  json_t *pages = json_object_get(j, "pages"), *copies = json_object_get(j, "copies");
  if (!json_is_integer(pages) || json_integer_value(pages) < 1 ||
      json_integer_value(pages) > PREVIEW_PAGES_MAX) {
    api_problem(c->r, 400, "'job.pages' must be an integer from 1 to %d", PREVIEW_PAGES_MAX);
    return false;
  }
  if (copies && !json_is_null(copies) &&
      (!json_is_integer(copies) || json_integer_value(copies) < 1 ||
       json_integer_value(copies) > PREVIEW_COPIES_MAX)) {
    api_problem(c->r, 400, "'job.copies' must be an integer from 1 to %d", PREVIEW_COPIES_MAX);
    return false;
  }
  json_t *color = json_object_get(j, "color");
  if (color && !json_is_null(color) && !json_is_boolean(color)) {
    api_problem(c->r, 400, "'job.color' must be true or false");
    return false;
  }
  json_t *sides = json_object_get(j, "sides"), *media = json_object_get(j, "media");
  if ((sides && !json_is_null(sides) && !json_is_string(sides)) ||
      (media && !json_is_null(media) && !json_is_string(media))) {
    api_problem(c->r, 400, "'job.%s' must be a string",
                sides && !json_is_string(sides) && !json_is_null(sides) ? "sides" : "media");
    return false;
  }
  json_t *attrs = json_object();
  bool ok = attrs != NULL;
  if (ok && json_is_string(sides)) {
    ok = api_keyword_supported(c, "job.sides", "sides", json_string_value(sides));
    if (!ok) goto done;
    json_object_set(attrs, "sides", sides);
  }
  if (ok && json_is_string(media)) {
    ok = api_keyword_supported(c, "job.media", "media", json_string_value(media));
    if (!ok) goto done;
    json_object_set(attrs, "media", media);
  }
  /* colour unless asked otherwise, as a job that leaves it to the printer */
  if (ok)
    json_object_set_new(attrs, "print-color-mode",
                        json_string(json_is_false(color) ? "monochrome" : "color"));
  char *text = ok ? json_dumps(attrs, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  if (!text || strlen(text) >= sizeof job->attrs_json) {
    free(text);
    api_problem(c->r, 500, "out of memory");
    ok = false;
    goto done;
  }
  snprintf(job->attrs_json, sizeof job->attrs_json, "%s", text);
  free(text);
  job->tenant_id = c->tenant.id;
  job->pages = (int)json_integer_value(pages);
  job->copies = json_is_integer(copies) ? (int)json_integer_value(copies) : 1;
  job->impressions = job->pages * job->copies;
done:
  json_decref(attrs);
  return ok;
}

/* Set "<key>_text" of o to amount written for people. */
static void preview_text(json_t *o, const char *key, int64_t amount, const char *currency) {
  char text[64], name[32];
  snprintf(name, sizeof name, "%s_text", key);
  if (money_format_with_code(amount, currency, text, sizeof text))
    json_object_set_new(o, name, json_string(text));
}

/*
 * POST /price-tables/preview: the fee a sample job would have under a
 * table (sent, checked as POST /price-tables checks it, or saved, by
 * name), priced by job_fee_preview(): the same step as real jobs, the
 * tenant's service fee included.  Nothing is saved.  409 when the tenant
 * has no currency (its jobs are not charged); 422 when the table cannot
 * price the job (another currency, a combination not offered).
 */
void api_price_table_preview(api_ctx_t *c) {
  static const char *const fields[] = {"table", "name", "job", NULL};
  nimbus_price_table_t t;
  nimbus_job_t job;
  const char *name = NULL;
  memset(&t, 0, sizeof t);
  memset(&job, 0, sizeof job);
  if (!api_body_only(c, fields) || !api_body_string(c, "name", false, 255, &name)) return;
  bool has_table =
      json_object_get(c->body, "table") && !json_is_null(json_object_get(c->body, "table"));
  if (has_table == (name != NULL)) {
    api_problem(c->r, 400, "give either 'table' (a price table) or 'name' (a saved one)");
    return;
  }
  if (name) {
    store_status_t s = api_name_valid(name)
                           ? store_price_table_get_by_name(c->srv->store, c->tenant.id, name, &t)
                           : STORE_NOT_FOUND;
    if (s != STORE_OK) {
      api_respond_store(c, s, "price table", name);
      return;
    }
  } else {
    snprintf(t.name, sizeof t.name, "(preview)");
    if (!price_table_from_body(c, &t)) return;
  }
  if (!preview_job(c, &job)) return;
  json_t *spec = json_loads(t.spec, 0, NULL);
  price_table_t table;
  char err[256];
  bool ok = spec && price_table_from_json(spec, &table, err, sizeof err);
  json_decref(spec);
  if (!ok) {
    api_problem(c->r, 500, "the price table cannot be read");
    return;
  }
  price_quote_t q;
  switch (job_fee_preview(c->srv->store, c->tenant.id, &table, t.name, &job, &q, err, sizeof err)) {
    case JOB_FEE_PRICED:
      break;
    case JOB_FEE_FREE:
      if (q.currency[0]) break; /* priced at zero */
      api_problem(c->r, 409, "the tenant has no currency (PATCH /billing): its jobs are free");
      return;
    case JOB_FEE_UNPRICEABLE:
      api_problem(c->r, 422, "the table cannot price this job: %s", err);
      return;
    case JOB_FEE_ERROR:
    default:
      api_problem(c->r, 500, "storage error");
      return;
  }
  json_t *doc = price_quote_to_json(&q);
  if (doc) {
    preview_text(doc, "print_fee", q.print_fee, q.currency);
    preview_text(doc, "service_fee", q.service_fee, q.currency);
    preview_text(doc, "total", q.total, q.currency);
  }
  api_respond(c, 200, doc);
}

static bool price_table_list_cb(const nimbus_price_table_t *t, void *ctx) {
  return api_list_append(ctx, price_table_json(t));
}

void api_price_tables_list(api_ctx_t *c) {
  api_list_t l = {c, json_array(), false};
  store_status_t s =
      l.arr ? store_price_table_list(c->srv->store, c->tenant.id, price_table_list_cb, &l)
            : STORE_OK;
  api_list_respond(&l, s, "price_tables", "price table");
}

void api_price_tables_create(api_ctx_t *c) {
  static const char *const fields[] = {"name", "table", NULL};
  nimbus_price_table_t t;
  const char *name;
  memset(&t, 0, sizeof t);
  if (!api_body_only(c, fields) || !api_body_string(c, "name", true, 255, &name)) return;
  if (!api_name_valid(name)) {
    api_problem(c->r, 400, "'name' must be 1 to 63 of A-Z a-z 0-9 . _ -, not starting with . or -");
    return;
  }
  snprintf(t.name, sizeof t.name, "%s", name);
  t.tenant_id = c->tenant.id;
  if (!price_table_from_body(c, &t)) return;
  api_audit_t a;
  store_status_t s = store_price_table_insert(
      c->srv->store, &t, api_audit_of(c, &a, "price-table-created", "name=%s", t.name));
  if (s == STORE_CONFLICT) {
    api_problem(c->r, 409, "a price table named '%s' already exists", t.name);
    return;
  }
  if (s != STORE_OK) {
    api_respond_store(c, s, "price table", NULL);
    return;
  }
  api_respond(c, 201, price_table_json(&t));
}

void api_price_table_get(api_ctx_t *c) {
  nimbus_price_table_t t;
  store_status_t s = store_price_table_get_by_name(c->srv->store, c->tenant.id, c->param, &t);
  if (s != STORE_OK) {
    api_respond_store(c, s, "price table", c->param);
    return;
  }
  api_respond(c, 200, price_table_json(&t));
}

void api_price_table_update(api_ctx_t *c) {
  static const char *const fields[] = {"table", NULL};
  nimbus_price_table_t t;
  if (!api_body_only(c, fields)) return;
  store_status_t s = store_price_table_get_by_name(c->srv->store, c->tenant.id, c->param, &t);
  if (s != STORE_OK) {
    api_respond_store(c, s, "price table", c->param);
    return;
  }
  if (!price_table_from_body(c, &t)) return;
  api_audit_t a;
  s = store_price_table_update(c->srv->store, &t,
                               api_audit_of(c, &a, "price-table-updated", "name=%s", t.name));
  if (s != STORE_OK) {
    api_respond_store(c, s, "price table", c->param);
    return;
  }
  api_respond(c, 200, price_table_json(&t));
}

void api_price_table_delete(api_ctx_t *c) {
  nimbus_price_table_t t;
  store_status_t s = store_price_table_get_by_name(c->srv->store, c->tenant.id, c->param, &t);
  api_audit_t a;
  if (s == STORE_OK)
    s = store_price_table_delete(c->srv->store, c->tenant.id, t.id,
                                 api_audit_of(c, &a, "price-table-deleted", "name=%s", t.name));
  if (s != STORE_OK) {
    api_respond_store(c, s, "price table", c->param);
    return;
  }
  api_respond_no_content(c);
}

/* ---- pricing of queues and printers (api-queues.c, api-printers.c) ---- */

bool api_pricing_from_body(api_ctx_t *c, nimbus_pricing_t *p, bool *changed) {
  *changed = false;
  json_t *table = json_object_get(c->body, "price_table");
  if (table) {
    *changed = true;
    if (json_is_null(table)) {
      p->price_table_id = 0;
    } else if (!json_is_string(table)) {
      api_problem(c->r, 400, "'price_table' must be a price table's name or null");
      return false;
    } else {
      nimbus_price_table_t t;
      store_status_t s =
          store_price_table_get_by_name(c->srv->store, c->tenant.id, json_string_value(table), &t);
      if (s == STORE_NOT_FOUND) {
        api_problem(c->r, 400, "'price_table': there is no price table named '%s'",
                    json_string_value(table));
        return false;
      }
      if (s != STORE_OK) {
        api_respond_store(c, s, "price table", NULL);
        return false;
      }
      p->price_table_id = t.id;
    }
  }
  json_t *payment = json_object_get(c->body, "payment");
  if (payment) {
    *changed = true;
    const char *v = json_string_value(payment);
    if (json_is_null(payment)) {
      p->payment[0] = '\0';
    } else if (!v || (strcmp(v, "none") != 0 && strcmp(v, "at-printer") != 0)) {
      api_problem(c->r, 400, "'payment' must be \"none\", \"at-printer\" or null");
      return false;
    } else {
      snprintf(p->payment, sizeof p->payment, "%s", v);
    }
  }
  return true;
}

json_t *api_pricing_json(api_ctx_t *c, const nimbus_pricing_t *p) {
  nimbus_price_table_t t;
  json_t *table = json_null();
  if (p->price_table_id &&
      store_price_table_get(c->srv->store, c->tenant.id, p->price_table_id, &t) == STORE_OK)
    table = json_string(t.name);
  return json_pack("{s:o, s:o}", "price_table", table, "payment",
                   p->payment[0] ? json_string(p->payment) : json_null());
}

/* ---- the ledger ---- */

typedef struct {
  api_ctx_t *c;
  json_t *arr;
  char *csv;
  size_t len, cap;
  bool failed;
} ledger_out_t;

static void ledger_csv_add(ledger_out_t *o, const char *s) {
  size_t n = strlen(s);
  if (o->failed) return;
  if (o->len + n + 1 > o->cap) {
    size_t cap = o->cap ? o->cap * 2 : 8192;
    while (cap < o->len + n + 1) cap *= 2;
    char *p = realloc(o->csv, cap);
    if (!p) {
      o->failed = true;
      return;
    }
    o->csv = p;
    o->cap = cap;
  }
  memcpy(o->csv + o->len, s, n + 1);
  o->len += n;
}

/* A CSV field: quoted when it holds a comma, quote or line break.  A text
 * field (text: account, kind, memo) starting with = + - @ TAB or CR is
 * prefixed with ' so a spreadsheet does not run it as a formula; numbers
 * stay numbers.  Fields are bounded by the records (memo 128 bytes). */
static void ledger_csv_field_as(ledger_out_t *o, const char *s, bool last, bool text) {
  char buf[600];
  size_t k = 0;
  bool quote = strpbrk(s, ",\"\r\n\t") != NULL;
  if (quote) buf[k++] = '"';
  if (text && s[0] && strchr("=+-@\t\r", s[0])) buf[k++] = '\'';
  for (; *s && k < sizeof buf - 4; s++) {
    if (*s == '"') buf[k++] = '"';
    buf[k++] = *s;
  }
  if (quote) buf[k++] = '"';
  buf[k++] = last ? '\n' : ',';
  buf[k] = '\0';
  ledger_csv_add(o, buf);
}

static void ledger_csv_field(ledger_out_t *o, const char *s, bool last) {
  ledger_csv_field_as(o, s, last, false);
}

static void ledger_csv_text(ledger_out_t *o, const char *s, bool last) {
  ledger_csv_field_as(o, s, last, true);
}

static bool ledger_entry_cb(const nimbus_ledger_entry_t *e, void *ctx) {
  ledger_out_t *o = ctx;
  char when[32], amount[48];
  api_time_format(e->created_at, when);
  if (!money_format(e->amount, e->currency, amount, sizeof amount)) amount[0] = '\0';
  if (o->csv || !o->arr) {
    char n[4][24];
    snprintf(n[0], sizeof n[0], "%" PRId64, e->id);
    snprintf(n[1], sizeof n[1], "%" PRId64, e->posting_id);
    snprintf(n[2], sizeof n[2], "%" PRId64, e->amount);
    snprintf(n[3], sizeof n[3], "%" PRId64, e->job_id);
    ledger_csv_field(o, n[0], false);
    ledger_csv_field(o, n[1], false);
    ledger_csv_field(o, when, false);
    ledger_csv_text(o, e->kind, false);
    ledger_csv_text(o, e->account, false);
    ledger_csv_field(o, e->currency, false);
    ledger_csv_field(o, n[2], false);
    ledger_csv_field(o, amount, false);
    ledger_csv_field(o, n[3], false);
    ledger_csv_text(o, e->memo, true);
    return !o->failed;
  }
  json_t *j =
      json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:I, s:s, s:I, s:I, s:o}", "id", (json_int_t)e->id,
                "posting_id", (json_int_t)e->posting_id, "created_at", when, "kind", e->kind,
                "account", e->account, "currency", e->currency, "amount", (json_int_t)e->amount,
                "amount_text", amount, "job_id", (json_int_t)e->job_id, "payment_id",
                (json_int_t)e->payment_id, "memo", api_json_text(e->memo));
  if (!j || json_array_append_new(o->arr, j) != 0) o->failed = true;
  return !o->failed;
}

/* The filter of ?all=1 (operators), ?job=, ?after=, ?limit=; false has responded. */
static bool ledger_filter(api_ctx_t *c, store_ledger_filter_t *f, bool paged) {
  long all, job, after, limit;
  memset(f, 0, sizeof *f);
  if (!api_query_int(c, "all", 0, 0, 1, &all) || !api_query_int(c, "job", 0, 0, INT32_MAX, &job) ||
      !api_query_int(c, "after", 0, 0, INT64_MAX, &after) ||
      !api_query_int(c, "limit", paged ? 1000 : 0, 0, 100000, &limit))
    return false;
  if (all && !c->is_operator) {
    api_problem(c->r, 403, "only operators see every tenant's books");
    return false;
  }
  f->tenant_id = c->tenant.id;
  f->all_tenants = all != 0;
  f->after_id = after;
  f->limit = (int)limit;
  if (job) {
    nimbus_job_t j;
    store_status_t s = store_job_get_by_number(c->srv->store, c->tenant.id, job, &j);
    if (s != STORE_OK) {
      api_respond_store(c, s, "job", NULL);
      return false;
    }
    f->job_id = j.id;
  }
  return true;
}

void api_ledger_list(api_ctx_t *c) {
  store_ledger_filter_t f;
  if (!ledger_filter(c, &f, true)) return;
  const char *format = http_query(c->r, "format");
  bool csv = format && strcmp(format, "csv") == 0;
  if (format && !csv && strcmp(format, "json") != 0) {
    api_problem(c->r, 400, "'format' must be json or csv");
    return;
  }
  ledger_out_t o = {.c = c};
  if (csv)
    ledger_csv_add(&o,
                   "id,posting_id,created_at,kind,account,currency,amount_minor,amount,"
                   "job_id,memo\n");
  else
    o.arr = json_array();
  store_status_t s = store_ledger_list(c->srv->store, &f, ledger_entry_cb, &o);
  if (s != STORE_OK || o.failed) {
    free(o.csv);
    json_decref(o.arr);
    if (s != STORE_OK)
      api_respond_store(c, s, "ledger", NULL);
    else
      api_problem(c->r, 500, "out of memory");
    return;
  }
  if (csv) {
    http_response_header(c->r, "Content-Disposition", "attachment; filename=\"ledger.csv\"");
    http_respond_owned(c->r, 200, "text/csv; charset=utf-8", o.csv, o.len);
    return;
  }
  api_respond(c, 200, json_pack("{s:o}", "entries", o.arr));
}

typedef struct {
  json_t *arr;
  json_t *sums; /* currency -> sum of all balances: 0 when the books balance */
  bool failed;
} balances_out_t;

static bool balance_cb(const char *account, const char *currency, int64_t balance, void *ctx) {
  balances_out_t *o = ctx;
  char text[48];
  if (!money_format(balance, currency, text, sizeof text)) text[0] = '\0';
  json_t *j = json_pack("{s:s, s:s, s:I, s:s}", "account", account, "currency", currency, "balance",
                        (json_int_t)balance, "balance_text", text);
  if (!j || json_array_append_new(o->arr, j) != 0) o->failed = true;
  json_int_t sum = json_integer_value(json_object_get(o->sums, currency));
  json_object_set_new(o->sums, currency, json_integer(sum + balance));
  return !o->failed;
}

void api_ledger_balances(api_ctx_t *c) {
  store_ledger_filter_t f;
  if (!ledger_filter(c, &f, false)) return;
  balances_out_t o = {json_array(), json_object(), false};
  store_status_t s =
      o.arr && o.sums ? store_ledger_balances(c->srv->store, &f, balance_cb, &o) : STORE_ERROR;
  if (s != STORE_OK || o.failed) {
    json_decref(o.arr);
    json_decref(o.sums);
    api_respond_store(c, s == STORE_OK ? STORE_ERROR : s, "ledger", NULL);
    return;
  }
  api_respond(c, 200, json_pack("{s:o, s:o}", "balances", o.arr, "totals", o.sums));
}

/* ---- a job's payment (api-jobs.c for its owner, api-device.c for the panel) ---- */

void api_payment_respond_latest(api_ctx_t *c, nimbus_id_t job_id) {
  nimbus_payment_t p;
  payflow_result_t r = payments_get_for_job(c->srv, c->tenant.id, job_id, &p);
  if (r == PAYFLOW_NOT_FOUND)
    api_problem(c->r, 404, "this job has no payment");
  else if (r != PAYFLOW_OK)
    api_problem(c->r, 500, "storage error");
  else
    api_respond(c, 200, payments_json(&p));
}

void api_payment_respond_cancel(api_ctx_t *c, nimbus_id_t job_id) {
  nimbus_payment_t p;
  char msg[160];
  memset(&p, 0, sizeof p);
  payflow_result_t r = payments_cancel(c->srv, c->tenant.id, job_id, c->actor, &p, msg, sizeof msg);
  if (r == PAYFLOW_OK)
    api_respond(c, 200, payments_json(&p));
  else if (r == PAYFLOW_NOT_FOUND)
    api_problem(c->r, 404, "this job has no payment");
  else if (r == PAYFLOW_CONFLICT)
    api_problem(c->r, 409, "%s", msg[0] ? msg : "the payment can no longer be canceled");
  else if (r == PAYFLOW_PROVIDER)
    api_problem(c->r, 502, "%s", msg[0] ? msg : "the payment service could not be reached");
  else
    api_problem(c->r, 500, "storage error");
}

/* ---- callbacks and the pages a phone's browser lands on ---- */

/* A small page for the phone (no scripts, no external assets).  back:
 * when not NULL, a path on this server (ours, never request data) the
 * page moves on to at once (a meta refresh, which the CSP allows) and
 * links to, for a browser that does not follow it. */
static void payments_page_to(api_ctx_t *c, int status, const char *title, const char *text,
                             const char *back) {
  char *body = NULL;
  char refresh[256] = "", link[320] = "";
  if (back) {
    snprintf(refresh, sizeof refresh, "<meta http-equiv=\"refresh\" content=\"0; url=%s\">", back);
    snprintf(link, sizeof link, "<p><a id=\"back\" href=\"%s\">Back to the console</a></p>", back);
  }
  /* title and text are ours, never request data: no escaping needed */
  if (asprintf(&body,
               "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">%s"
               "<title>%s</title></head><body><main><h1 id=\"title\">%s</h1>"
               "<p id=\"text\">%s</p>%s</main></body></html>\n",
               refresh, title, title, text, link) < 0) {
    api_problem(c->r, 500, "out of memory");
    return;
  }
  http_response_header(c->r, "Content-Security-Policy",
                       "default-src 'none'; style-src 'none'; frame-ancestors 'none'");
  http_response_header(c->r, "Cache-Control", "no-store");
  http_respond_owned(c->r, status, "text/html; charset=utf-8", body, strlen(body));
}

static void payments_page(api_ctx_t *c, int status, const char *title, const char *text) {
  payments_page_to(c, status, title, text, NULL);
}

/* The page for the payment's state after a callback or a return. */
static void payments_state_page(api_ctx_t *c, payflow_result_t r, const nimbus_payment_t *p) {
  if (r == PAYFLOW_FORGED || r == PAYFLOW_NOT_FOUND) {
    payments_page(c, 404, "Unknown payment", "This payment is not known here.");
    return;
  }
  switch (p->state) {
    case NIMBUS_PAY_PAID:
    case NIMBUS_PAY_SETTLED:
      payments_page(c, 200, "Paid", "Thank you: your payment is confirmed and the job prints now.");
      break;
    case NIMBUS_PAY_PENDING:
    case NIMBUS_PAY_RESERVING:
      payments_page(c, r == PAYFLOW_PROVIDER ? 503 : 200, "Waiting for the payment",
                    "The payment is not confirmed yet. The printer shows when it is.");
      break;
    case NIMBUS_PAY_REFUND_PENDING:
    case NIMBUS_PAY_REFUNDED:
      payments_page(c, 200, "Refunded", "The job did not print; the payment is refunded.");
      break;
    default:
      payments_page(c, 200, "Not paid", "The payment was canceled; nothing was charged.");
      break;
  }
}

void api_payments_linepay_confirm(api_ctx_t *c) {
  const char *tx = http_query(c->r, "transactionId");
  const char *order = http_query(c->r, "orderId");
  nimbus_payment_t p;
  memset(&p, 0, sizeof p);
  payflow_result_t r = payments_linepay_confirm(c->srv, tx, order, c->r->peer, &p);
  payments_state_page(c, r, &p);
}

void api_payments_stripe_webhook(api_ctx_t *c) {
  const char *sig = c->r->signature;
  const char *body = c->state ? c->state->body : NULL;
  size_t len = c->state ? c->state->body_len : 0;
  nimbus_payment_t p;
  payflow_result_t r =
      payments_stripe_webhook(c->srv, c->param, body ? body : "", len, sig, c->r->peer, &p);
  switch (r) {
    case PAYFLOW_FORGED:
      api_problem(c->r, 400, "the webhook could not be verified");
      break;
    case PAYFLOW_PROVIDER:
      /* Stripe retries a webhook that was not answered 2xx: let it */
      api_problem(c->r, 503, "the payment service could not be reached; send it again");
      break;
    case PAYFLOW_ERROR:
      api_problem(c->r, 500, "storage error");
      break;
    default:
      api_respond(c, 200, json_pack("{s:b}", "received", true));
      break;
  }
}

void api_payments_return(api_ctx_t *c) {
  const char *order = http_query(c->r, "order");
  nimbus_payment_t p;
  memset(&p, 0, sizeof p);
  payflow_result_t r = order && strlen(order) < sizeof p.order_id
                           ? payments_return(c->srv, order, &p)
                           : PAYFLOW_NOT_FOUND;
  payments_state_page(c, r, &p);
}

/* ---- the user's saved payment method (billing by purpose, docs/BILLING.md) ---- */

/* GET /me/payment-method: 404 when none; a pending one is checked with
 * the provider first. */
void api_me_payment_method_get(api_ctx_t *c) {
  nimbus_payment_method_t m;
  switch (payments_method_get(c->srv, c->tenant.id, c->r->auth.user.id, &m)) {
    case PAYFLOW_OK:
      api_respond(c, 200, payments_method_json(&m));
      break;
    case PAYFLOW_NOT_FOUND:
      api_problem(c->r, 404, "no payment method saved; POST here to register one");
      break;
    default:
      api_problem(c->r, 500, "storage error");
      break;
  }
  sodium_memzero(&m, sizeof m);
}

/* POST /me/payment-method: start a registration (replaces any former
 * method); 201 {state:"pending", setup_url}. */
void api_me_payment_method_create(api_ctx_t *c) {
  nimbus_payment_method_t m;
  char msg[PAY_MSG_MAX];
  switch (payments_method_begin(c->srv, c->tenant.id, c->r->auth.user.id, c->r->auth.user.name, &m,
                                msg, sizeof msg)) {
    case PAYFLOW_OK:
      api_respond(c, 201, payments_method_json(&m));
      break;
    case PAYFLOW_NO_PROVIDER:
      api_problem(c->r, 409, "%s", msg);
      break;
    case PAYFLOW_PROVIDER:
      api_problem(c->r, 502, "the payment provider refused or did not answer: %s", msg);
      break;
    default:
      api_problem(c->r, 500, "storage error");
      break;
  }
  sodium_memzero(&m, sizeof m);
}

/* DELETE /me/payment-method: forget it here and at the provider. */
void api_me_payment_method_delete(api_ctx_t *c) {
  switch (payments_method_delete(c->srv, c->tenant.id, c->r->auth.user.id, c->actor)) {
    case PAYFLOW_OK:
      api_respond_no_content(c);
      break;
    case PAYFLOW_NOT_FOUND:
      api_problem(c->r, 404, "no payment method saved");
      break;
    default:
      api_problem(c->r, 500, "storage error");
      break;
  }
}

/* GET /payments/method-return?setup=ID (public): the provider sent the
 * user back after registering; nimbusd asks the provider itself (LINE
 * Pay adds transactionId, which must be the registration's own). */
void api_payments_method_return(api_ctx_t *c) {
  const char *setup = http_query(c->r, "setup");
  const char *tx = http_query(c->r, "transactionId");
  nimbus_payment_method_t m;
  memset(&m, 0, sizeof m);
  payflow_result_t r = setup && strlen(setup) < sizeof m.setup_id
                           ? payments_method_return(c->srv, setup, tx, &m)
                           : PAYFLOW_NOT_FOUND;
  /* with the web console served, the page goes on to its payment-method
   * page, which says the same (docs/CONSOLE.md §2) */
  bool console = c->srv->cfg.console_dir[0] != '\0';
#define METHOD_BACK(result) (console ? "/#/payment-method?registration=" result : NULL)
  if (r == PAYFLOW_OK && m.state == NIMBUS_METHOD_ACTIVE)
    payments_page_to(c, 200, "Payment method saved",
                     "Jobs you print for a private purpose are now charged to it.",
                     METHOD_BACK("saved"));
  else if (r == PAYFLOW_OK && m.state == NIMBUS_METHOD_PENDING)
    payments_page_to(c, 200, "Not finished yet",
                     "The payment service has not confirmed the registration yet.",
                     METHOD_BACK("pending"));
  else if (r == PAYFLOW_OK || r == PAYFLOW_FORGED)
    payments_page_to(c, 200, "Not saved", "The payment method was not registered.",
                     METHOD_BACK("failed"));
  else if (r == PAYFLOW_NOT_FOUND)
    payments_page_to(c, 404, "Unknown registration", "There is no such registration.",
                     METHOD_BACK("unknown"));
  else
    payments_page_to(c, 503, "Try again", "The payment service could not be reached.",
                     METHOD_BACK("unavailable"));
#undef METHOD_BACK
  sodium_memzero(&m, sizeof m);
}
