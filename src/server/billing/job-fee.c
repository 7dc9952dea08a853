/*
 * job-fee.c: the fee of a job from its settings and the pricing that
 * applies to it (job-fee.h).  Reads, prices (price.c), stores the quote.
 */
#include "job-fee.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "money.h"

/* Pages page-ranges selects out of `pages` (ranges are ascending and
 * disjoint, ipp-job-attrs.c checks that); all pages when there are none. */
static int job_fee_pages_in_ranges(const json_t *ranges, int pages) {
  if (!json_is_array(ranges) || json_array_size(ranges) == 0) return pages;
  int n = 0;
  size_t i;
  const json_t *r;
  json_array_foreach(ranges, i, r) {
    json_int_t lo = json_integer_value(json_array_get(r, 0));
    json_int_t hi = json_integer_value(json_array_get(r, 1));
    if (lo < 1) lo = 1;
    if (hi > pages) hi = pages;
    if (hi >= lo) n += (int)(hi - lo + 1);
  }
  return n;
}

void job_fee_print_spec(const nimbus_job_t *job, bool default_a4, price_job_t *out) {
  memset(out, 0, sizeof *out);
  out->pages = job->pages;
  out->copies = job->copies > 0 ? job->copies : 1;
  out->color = true;
  out->size = price_size_of_media(NULL, default_a4);
  json_t *a = json_loads(job->attrs_json[0] ? job->attrs_json : "{}", 0, NULL);
  if (!a) return;
  const char *mode = json_string_value(json_object_get(a, "print-color-mode"));
  if (mode && (!strcmp(mode, "monochrome") || !strcmp(mode, "auto-monochrome") ||
               !strcmp(mode, "process-monochrome") || !strcmp(mode, "bi-level")))
    out->color = false;
  const char *sides = json_string_value(json_object_get(a, "sides"));
  out->duplex = sides && !strncmp(sides, "two-sided", 9);
  const char *media = json_string_value(json_object_get(a, "media"));
  if (media) out->size = price_size_of_media(media, default_a4);
  out->pages = job_fee_pages_in_ranges(json_object_get(a, "page-ranges"), job->pages);
  json_decref(a);
}

/* The pricing of the printer job will print on when d is not given: its
 * target, else the printer it came through; *dev is filled when found. */
static bool job_fee_device(store_t *st, const nimbus_job_t *job, nimbus_device_t *dev) {
  nimbus_id_t id = job->target_device_id ? job->target_device_id : job->origin_device_id;
  return id && store_device_get(st, job->tenant_id, id, dev) == STORE_OK;
}

/* The fee of job under table (named name, for messages) with the
 * tenant's billing settings tb: the one pricing step of real jobs and of
 * the preview.  printed: on the impressions the printer reported, when
 * it reported any.  False with err when the table's currency is not the
 * tenant's or the table does not offer what the job needs. */
static bool job_fee_quote_with(const nimbus_tenant_billing_t *tb, const price_table_t *table,
                               const char *name, const nimbus_job_t *job, bool printed,
                               price_quote_t *pq, char *err, size_t errlen) {
  if (strcmp(table->currency, tb->currency) != 0) {
    snprintf(err, errlen, "price table %s is in %s, the tenant's currency is %s", name,
             table->currency, tb->currency);
    return false;
  }
  price_job_t pj;
  job_fee_print_spec(job, strcmp(tb->currency, "USD") != 0 && strcmp(tb->currency, "CAD") != 0,
                     &pj);
  if (printed && job->impressions_completed > 0) {
    /* what the printer reports it printed, each impression one page */
    pj.pages = job->impressions_completed;
    pj.copies = 1;
  }
  price_service_fee_t sf = {.fixed = tb->service_fee_fixed, .bps = tb->service_fee_bps};
  return price_quote(table, &pj, &sf, pq, err, errlen);
}

/* job_fee_compute(), priced on `impressions` (> 0) instead of the
 * job's pages x copies when printed is true, and stored only when store
 * is true. */
static job_fee_result_t job_fee_price(store_t *st, const nimbus_job_t *job,
                                      const nimbus_device_t *d, bool printed, bool store,
                                      nimbus_job_quote_t *out, nimbus_pricing_t *pricing, char *err,
                                      size_t errlen) {
  memset(out, 0, sizeof *out);
  err[0] = '\0';
  nimbus_pricing_t picked = {0};
  if (pricing) *pricing = picked;
  nimbus_tenant_billing_t tb;
  store_status_t s = store_tenant_billing_get(st, job->tenant_id, &tb);
  if (s == STORE_NOT_FOUND || (s == STORE_OK && !tb.currency[0])) return JOB_FEE_FREE;
  if (s != STORE_OK) return JOB_FEE_ERROR;

  nimbus_queue_t q;
  memset(&q, 0, sizeof q);
  s = store_queue_get_by_name(st, job->tenant_id, job->queue_name, &q);
  if (s != STORE_OK && s != STORE_NOT_FOUND) return JOB_FEE_ERROR;
  nimbus_device_t dev;
  const nimbus_pricing_t *dp = NULL;
  if (d)
    dp = &d->pricing;
  else if (job_fee_device(st, job, &dev))
    dp = &dev.pricing;
  price_policy_pick(&q.pricing, dp, &picked);
  if (pricing) *pricing = picked;
  if (!picked.price_table_id) return JOB_FEE_FREE;

  nimbus_price_table_t row;
  s = store_price_table_get(st, job->tenant_id, picked.price_table_id, &row);
  if (s == STORE_NOT_FOUND) return JOB_FEE_FREE; /* deleted meanwhile */
  if (s != STORE_OK) return JOB_FEE_ERROR;
  json_t *spec = json_loads(row.spec, 0, NULL);
  price_table_t table;
  bool ok = spec && price_table_from_json(spec, &table, err, errlen);
  json_decref(spec);
  if (!ok) {
    log_event(LOG_ERROR, NULL, "stored price table is not valid", "table", row.name, "error", err,
              (char *)NULL);
    return JOB_FEE_UNPRICEABLE;
  }
  price_quote_t pq;
  if (!job_fee_quote_with(&tb, &table, row.name, job, printed, &pq, err, errlen))
    return JOB_FEE_UNPRICEABLE;

  out->job_id = job->id;
  out->tenant_id = job->tenant_id;
  out->price_table_id = row.id;
  snprintf(out->currency, sizeof out->currency, "%s", pq.currency);
  out->print_fee = pq.print_fee;
  out->service_fee = pq.service_fee;
  out->total = pq.total;
  out->computed_at = (int64_t)time(NULL);
  json_t *detail = price_quote_to_json(&pq);
  json_object_set_new(detail, "price_table", json_string(row.name));
  char *text = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(detail);
  if (text && strlen(text) < sizeof out->detail)
    snprintf(out->detail, sizeof out->detail, "%s", text);
  free(text);
  if (store && store_job_quote_put(st, out) != STORE_OK) return JOB_FEE_ERROR;
  return out->total > 0 ? JOB_FEE_PRICED : JOB_FEE_FREE;
}

job_fee_result_t job_fee_compute(store_t *st, const nimbus_job_t *job, const nimbus_device_t *d,
                                 nimbus_job_quote_t *out, nimbus_pricing_t *pricing, char *err,
                                 size_t errlen) {
  return job_fee_price(st, job, d, false, true, out, pricing, err, errlen);
}

job_fee_result_t job_fee_quote(store_t *st, const nimbus_job_t *job, const nimbus_device_t *d,
                               nimbus_job_quote_t *out, nimbus_pricing_t *pricing, char *err,
                               size_t errlen) {
  return job_fee_price(st, job, d, false, false, out, pricing, err, errlen);
}

job_fee_result_t job_fee_printed(store_t *st, const nimbus_job_t *job, const nimbus_device_t *d,
                                 nimbus_job_quote_t *out, char *err, size_t errlen) {
  return job_fee_price(st, job, d, true, false, out, NULL, err, errlen);
}

job_fee_result_t job_fee_preview(store_t *st, nimbus_id_t tenant_id, const price_table_t *table,
                                 const char *name, const nimbus_job_t *job, price_quote_t *out,
                                 char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  err[0] = '\0';
  nimbus_tenant_billing_t tb;
  store_status_t s = store_tenant_billing_get(st, tenant_id, &tb);
  if (s == STORE_NOT_FOUND || (s == STORE_OK && !tb.currency[0])) return JOB_FEE_FREE;
  if (s != STORE_OK) return JOB_FEE_ERROR;
  if (!job_fee_quote_with(&tb, table, name, job, false, out, err, errlen))
    return JOB_FEE_UNPRICEABLE;
  return out->total > 0 ? JOB_FEE_PRICED : JOB_FEE_FREE;
}

json_t *job_fee_quote_json(const nimbus_job_quote_t *q) {
  if (!q || !q->currency[0]) return NULL;
  json_t *o = json_loads(q->detail[0] ? q->detail : "{}", 0, NULL);
  if (!o) o = json_object();
  json_object_set_new(o, "currency", json_string(q->currency));
  json_object_set_new(o, "print_fee", json_integer(q->print_fee));
  json_object_set_new(o, "service_fee", json_integer(q->service_fee));
  json_object_set_new(o, "total", json_integer(q->total));
  char text[64];
  if (money_format_with_code(q->total, q->currency, text, sizeof text))
    json_object_set_new(o, "total_text", json_string(text));
  return o;
}
