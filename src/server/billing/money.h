/*
 * money.h: amounts of money as integers.  An amount is an int64_t count of
 * its currency's minor unit (cents for EUR, yen for JPY: ISO 4217
 * exponent) with the 3-letter ISO 4217 code beside it.  No floating point
 * touches money anywhere in Nimbus; text in and out goes through here.
 */
#ifndef NIMBUS_MONEY_H
#define NIMBUS_MONEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest amount Nimbus accepts anywhere (10^15 minor units): far above
 * any print job, far below INT64_MAX so sums of many never overflow. */
#define MONEY_MAX INT64_C(1000000000000000)

/* The ISO 4217 exponent (minor-unit digits) of code: 0 for JPY and KRW,
 * 2 for EUR and USD, 3 for BHD, KWD...; -1 when code is not an active
 * ISO 4217 currency Nimbus knows (uppercase only). */
int money_exponent(const char *code);
/* Is code a known currency? */
bool money_currency_valid(const char *code);

/* amount as decimal text in its currency, "12.34", "-0.05", "1200" (JPY):
 * no grouping, '.' as separator, exact.  false when code is unknown or
 * buf is too small. */
bool money_format(int64_t amount, const char *code, char *buf, size_t len);
/* The same with the code in front: "EUR 12.34". */
bool money_format_with_code(int64_t amount, const char *code, char *buf, size_t len);
/* Parse decimal text ("12", "12.3", "12.34"; an optional leading '-')
 * into minor units of code: more fraction digits than the exponent, any
 * other character, or |amount| > MONEY_MAX is refused (false). */
bool money_parse(const char *text, const char *code, int64_t *out);

/* a * bps / 10000 rounded half away from zero (the documented rounding
 * rule of every percentage in Nimbus, docs/PAYMENTS.md); false on
 * overflow or when |a| > MONEY_MAX or bps outside 0..1000000. */
bool money_apply_bps(int64_t a, int bps, int64_t *out);
/* a + b and a * n, false when the result leaves [-MONEY_MAX, MONEY_MAX]. */
bool money_add(int64_t a, int64_t b, int64_t *out);
bool money_mul(int64_t a, int64_t n, int64_t *out);

#endif
