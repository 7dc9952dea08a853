/*
 * job-fee.h: the fee of one job as it will print, from what the store
 * knows: the tenant's currency and service fee, the price table and
 * payment mode of the printer (when known) or else of the job's queue, and
 * the job's own settings (pages x copies, page-ranges, sides,
 * print-color-mode, media).  The quote is stored with the job so REST,
 * IPP and the panel show the same figures; it is computed again whenever
 * the printer it will print on becomes known (the panel, a release), so a
 * printer's own price table wins.
 *
 * How settings are read (docs/PAYMENTS.md "What a job costs"):
 *  - impressions per copy: the document pages, or those page-ranges
 *    select; copies multiply;
 *  - colour unless print-color-mode asks for monochrome (monochrome,
 *    auto-monochrome, process-monochrome, bi-level): a job that leaves the
 *    choice to the printer may print in colour, so it is priced so;
 *  - two-sided when sides is two-sided-long-edge or -short-edge;
 *  - the media keyword's size class; none given: A4, or Letter when the
 *    tenant's currency is USD or CAD.
 */
#ifndef NIMBUS_JOB_FEE_H
#define NIMBUS_JOB_FEE_H

#include <stdbool.h>
#include <stddef.h>

#include "model.h"
#include "price.h"
#include "store.h"

typedef enum {
  JOB_FEE_FREE = 0,    /* no currency, no price table, or nothing to print: no charge */
  JOB_FEE_PRICED,      /* out holds the quote (stored) */
  JOB_FEE_UNPRICEABLE, /* the table does not offer what the job needs: err says what */
  JOB_FEE_ERROR        /* the store failed */
} job_fee_result_t;

/* What the job will print as, from its record (see above). */
void job_fee_print_spec(const nimbus_job_t *job, bool default_a4, price_job_t *out);

/*
 * Price job printed on printer d (NULL: not known yet; then its target
 * printer, or the printer it came through, when it has one) and store the
 * quote; *pricing (may be NULL) receives the pricing that applied
 * (price_policy_pick), whatever the result.
 */
job_fee_result_t job_fee_compute(store_t *st, const nimbus_job_t *job, const nimbus_device_t *d,
                                 nimbus_job_quote_t *out, nimbus_pricing_t *pricing, char *err,
                                 size_t errlen);

/* job_fee_compute() without storing the quote: the fee job would have
 * (the panel's settings screen asks before the settings are chosen). */
job_fee_result_t job_fee_quote(store_t *st, const nimbus_job_t *job, const nimbus_device_t *d,
                               nimbus_job_quote_t *out, nimbus_pricing_t *pricing, char *err,
                               size_t errlen);

/* The fee of job as printed on printer d (NULL: per its queue): priced on
 * the impressions the printer reported (job->impressions_completed, when
 * it reported any; else as job_fee_compute), not stored (issue 13: the
 * charge on completion). */
job_fee_result_t job_fee_printed(store_t *st, const nimbus_job_t *job, const nimbus_device_t *d,
                                 nimbus_job_quote_t *out, char *err, size_t errlen);

/* The fee job (its pages, copies, attrs_json settings) would have under
 * table (named name) in tenant_id, service fee included: the same
 * pricing as job_fee_compute() when that table applies, nothing stored
 * (the price-table editor's preview).  FREE when the tenant has no
 * currency (its jobs are not charged; *out is then zero), UNPRICEABLE
 * with err when the table's currency is not the tenant's or it does not
 * offer what the job needs. */
job_fee_result_t job_fee_preview(store_t *st, nimbus_id_t tenant_id, const price_table_t *table,
                                 const char *name, const nimbus_job_t *job, price_quote_t *out,
                                 char *err, size_t errlen);

/* The quote as JSON for REST and the panel (new reference; NULL: none). */
json_t *job_fee_quote_json(const nimbus_job_quote_t *q);

#endif
