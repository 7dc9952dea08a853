/*
 * price.h: price tables and the fee of a job.
 *
 * A table prices one impression (one side of a sheet) by media size class
 * (A4, A3, Letter, Legal, other), colour or monochrome, and one- or
 * two-sided printing, in tiers by the job's impression count (pages x
 * copies).  Tier i covers counts from tiers[i].from (1 for the first)
 * up to the next tier's from - 1.  Its mode says how tiers apply:
 *   "graduated": each impression is priced in the tier its position falls
 *                in (impressions 1-10 at tier 1, 11-50 at tier 2, ...);
 *   "volume":    every impression of the job at the tier its total falls in.
 * A price of -1 means "not offered": a job needing it cannot be priced.
 * The fee: print fee from the table, service fee = fixed + bps of the
 * print fee (money_apply_bps rounding), total = print fee + service fee.
 * The service fee applies to every job with at least one impression that
 * a table prices, even when its print fee is 0 (a free table still
 * carries the fixed part); a job of 0 impressions costs nothing at all.
 * Impressions are pages x copies whatever the sides: a two-sided job is
 * priced per impression from the "two-sided" column (a blank back of an
 * odd last page is not an impression).
 *
 * The JSON form, the one REST takes and the store keeps:
 *   {"currency":"EUR","mode":"graduated",
 *    "tiers":[{"from":1,"prices":{"a4":{"mono":{"one-sided":10,"two-sided":8},
 *                                      "color":{...}}, "a3":{...}, ...}}, ...]}
 * Every size class present in the first tier must be present in every
 * tier; a size missing from the table falls back to "other" when that
 * is present, else the job cannot be priced.  A size present offers at
 * least one price; a colour or sides key absent is PRICE_NONE.  Prices
 * are integers 0..MONEY_MAX in minor units of currency; unknown keys are
 * refused.  price_table_to_json leaves PRICE_NONE entries out.
 */
#ifndef NIMBUS_PRICE_H
#define NIMBUS_PRICE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

typedef enum {
  PRICE_SIZE_A4 = 0,
  PRICE_SIZE_A3,
  PRICE_SIZE_LETTER,
  PRICE_SIZE_LEGAL,
  PRICE_SIZE_OTHER,
  PRICE_SIZE_COUNT
} price_size_t;

#define PRICE_TIERS_MAX 8
#define PRICE_NONE (-1) /* a combination the table does not offer */

typedef struct {
  int from; /* first impression count of the tier; tiers[0].from == 1 */
  /* [size][colour 0 mono 1 color][sides 0 one-sided 1 two-sided] */
  int64_t price[PRICE_SIZE_COUNT][2][2];
} price_tier_t;

typedef struct {
  char currency[NIMBUS_CURRENCY_MAX];
  bool volume; /* false: graduated */
  int ntiers;
  price_tier_t tiers[PRICE_TIERS_MAX];
} price_table_t;

/* A job as it will print. */
typedef struct {
  int pages;  /* per copy */
  int copies; /* >= 1 */
  bool color;
  bool duplex;
  price_size_t size;
} price_job_t;

/* One line of a fee's breakdown: count impressions at unit each. */
typedef struct {
  int tier; /* index into tiers */
  int from; /* that tier's from */
  int64_t count;
  int64_t unit;
  int64_t subtotal;
} price_line_t;

typedef struct {
  char currency[NIMBUS_CURRENCY_MAX];
  int64_t impressions;
  int64_t print_fee;
  int64_t service_fee;
  int64_t total;
  int nlines;
  price_line_t lines[PRICE_TIERS_MAX];
} price_quote_t;

/* The service fee of a tenant (nimbus_tenant_billing_t). */
typedef struct {
  int64_t fixed;
  int bps;
} price_service_fee_t;

/* Parse and check a table from JSON; false with a message for a person in
 * err ("tier 2: from must be greater than 10", ...). */
bool price_table_from_json(const json_t *j, price_table_t *out, char *err, size_t errlen);
/* The table as JSON (new reference), the canonical form stored. */
json_t *price_table_to_json(const price_table_t *t);

/* The size class of an IPP media keyword or PWG self-describing name
 * ("iso_a4_210x297mm", "na_letter_8.5x11in", "A4", "letter"...); "" or
 * NULL: PRICE_SIZE_A4 only if default_a4, else PRICE_SIZE_LETTER. */
price_size_t price_size_of_media(const char *media, bool default_a4);
const char *price_size_name(price_size_t s); /* "a4", "a3", "letter", "legal", "other" */

/* Fee of job under table t and service fee sf: false with err when the
 * table does not offer what the job needs or an amount would overflow.
 * A job of 0 pages costs 0 (and no service fee). */
bool price_quote(const price_table_t *t, const price_job_t *job, const price_service_fee_t *sf,
                 price_quote_t *out, char *err, size_t errlen);
/* The breakdown as JSON (new reference): currency, impressions,
 * print_fee, service_fee, total, lines[{tier,from,count,unit,subtotal}]
 * (tier counted from 1 there, as people read it; amounts in minor units). */
json_t *price_quote_to_json(const price_quote_t *q);
/* One line of text for IPP job-charge-info and logs:
 * "EUR 1.20 (print 1.00 + service 0.20)". */
void price_quote_text(const price_quote_t *q, char *buf, size_t len);

/* Which pricing applies to a job printed on printer d from queue q: the
 * printer's table when it has one, else the queue's; the printer's
 * payment mode when set, else the queue's, else "none". */
void price_policy_pick(const nimbus_pricing_t *queue, const nimbus_pricing_t *device,
                       nimbus_pricing_t *out);

#endif
