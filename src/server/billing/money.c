/*
 * money.c: amounts of money as int64_t minor units (money.h): the ISO 4217
 * exponent table, exact decimal text in and out, and the checked
 * arithmetic every fee goes through (sums, products, basis points with
 * the rounding rule half away from zero).  No floating point.
 */
#include "money.h"

#include <stdio.h>
#include <string.h>

/* The active ISO 4217 currencies (Table A.1 as of 2026, fund codes such as
 * CLF, UYI, XDR and the precious metals left out, withdrawn codes such as
 * HRK, SLL, ANG and BGN too), with their minor-unit digits.  Sorted by
 * code (money_exponent searches it by bisection).  This is the ISO
 * exponent, not a provider's: Stripe, for one, treats some of these
 * (HUF, TWD, ISK...) differently on its wire, which its adapter handles. */
typedef struct {
  char code[4];
  signed char exponent;
} currency_t;

static const currency_t currencies[] = {
    {"AED", 2}, {"AFN", 2}, {"ALL", 2}, {"AMD", 2}, {"AOA", 2}, {"ARS", 2}, {"AUD", 2}, {"AWG", 2},
    {"AZN", 2}, {"BAM", 2}, {"BBD", 2}, {"BDT", 2}, {"BHD", 3}, {"BIF", 0}, {"BMD", 2}, {"BND", 2},
    {"BOB", 2}, {"BRL", 2}, {"BSD", 2}, {"BTN", 2}, {"BWP", 2}, {"BYN", 2}, {"BZD", 2}, {"CAD", 2},
    {"CDF", 2}, {"CHF", 2}, {"CLP", 0}, {"CNY", 2}, {"COP", 2}, {"CRC", 2}, {"CUP", 2}, {"CVE", 2},
    {"CZK", 2}, {"DJF", 0}, {"DKK", 2}, {"DOP", 2}, {"DZD", 2}, {"EGP", 2}, {"ERN", 2}, {"ETB", 2},
    {"EUR", 2}, {"FJD", 2}, {"FKP", 2}, {"GBP", 2}, {"GEL", 2}, {"GHS", 2}, {"GIP", 2}, {"GMD", 2},
    {"GNF", 0}, {"GTQ", 2}, {"GYD", 2}, {"HKD", 2}, {"HNL", 2}, {"HTG", 2}, {"HUF", 2}, {"IDR", 2},
    {"ILS", 2}, {"INR", 2}, {"IQD", 3}, {"IRR", 2}, {"ISK", 0}, {"JMD", 2}, {"JOD", 3}, {"JPY", 0},
    {"KES", 2}, {"KGS", 2}, {"KHR", 2}, {"KMF", 0}, {"KPW", 2}, {"KRW", 0}, {"KWD", 3}, {"KYD", 2},
    {"KZT", 2}, {"LAK", 2}, {"LBP", 2}, {"LKR", 2}, {"LRD", 2}, {"LSL", 2}, {"LYD", 3}, {"MAD", 2},
    {"MDL", 2}, {"MGA", 2}, {"MKD", 2}, {"MMK", 2}, {"MNT", 2}, {"MOP", 2}, {"MRU", 2}, {"MUR", 2},
    {"MVR", 2}, {"MWK", 2}, {"MXN", 2}, {"MYR", 2}, {"MZN", 2}, {"NAD", 2}, {"NGN", 2}, {"NIO", 2},
    {"NOK", 2}, {"NPR", 2}, {"NZD", 2}, {"OMR", 3}, {"PAB", 2}, {"PEN", 2}, {"PGK", 2}, {"PHP", 2},
    {"PKR", 2}, {"PLN", 2}, {"PYG", 0}, {"QAR", 2}, {"RON", 2}, {"RSD", 2}, {"RUB", 2}, {"RWF", 0},
    {"SAR", 2}, {"SBD", 2}, {"SCR", 2}, {"SDG", 2}, {"SEK", 2}, {"SGD", 2}, {"SHP", 2}, {"SLE", 2},
    {"SOS", 2}, {"SRD", 2}, {"SSP", 2}, {"STN", 2}, {"SVC", 2}, {"SYP", 2}, {"SZL", 2}, {"THB", 2},
    {"TJS", 2}, {"TMT", 2}, {"TND", 3}, {"TOP", 2}, {"TRY", 2}, {"TTD", 2}, {"TWD", 2}, {"TZS", 2},
    {"UAH", 2}, {"UGX", 0}, {"USD", 2}, {"UYU", 2}, {"UZS", 2}, {"VED", 2}, {"VES", 2}, {"VND", 0},
    {"VUV", 0}, {"WST", 2}, {"XAF", 0}, {"XCD", 2}, {"XCG", 2}, {"XOF", 0}, {"XPF", 0}, {"YER", 2},
    {"ZAR", 2}, {"ZMW", 2}, {"ZWG", 2},
};

int money_exponent(const char *code) {
  if (code == NULL) return -1;
  for (int i = 0; i < 3; i++)
    if (code[i] < 'A' || code[i] > 'Z') return -1;
  if (code[3] != '\0') return -1;
  size_t lo = 0, hi = sizeof currencies / sizeof currencies[0];
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(code, currencies[mid].code);
    if (c == 0) return currencies[mid].exponent;
    if (c < 0)
      hi = mid;
    else
      lo = mid + 1;
  }
  return -1;
}

bool money_currency_valid(const char *code) {
  return money_exponent(code) >= 0;
}

static uint64_t pow10u(int e) {
  uint64_t p = 1;
  while (e-- > 0) p *= 10;
  return p;
}

bool money_format(int64_t amount, const char *code, char *buf, size_t len) {
  if (buf == NULL || len == 0) return false;
  buf[0] = '\0';
  int exp = money_exponent(code);
  if (exp < 0) return false;
  /* The magnitude as unsigned, so that INT64_MIN formats too. */
  uint64_t mag = amount < 0 ? (uint64_t)0 - (uint64_t)amount : (uint64_t)amount;
  const char *sign = amount < 0 ? "-" : "";
  int n;
  if (exp == 0) {
    n = snprintf(buf, len, "%s%llu", sign, (unsigned long long)mag);
  } else {
    uint64_t p = pow10u(exp);
    n = snprintf(buf, len, "%s%llu.%0*llu", sign, (unsigned long long)(mag / p), exp,
                 (unsigned long long)(mag % p));
  }
  if (n < 0 || (size_t)n >= len) {
    buf[0] = '\0';
    return false;
  }
  return true;
}

bool money_format_with_code(int64_t amount, const char *code, char *buf, size_t len) {
  char num[32];
  if (buf == NULL || len == 0) return false;
  buf[0] = '\0';
  if (!money_format(amount, code, num, sizeof num)) return false;
  int n = snprintf(buf, len, "%s %s", code, num);
  if (n < 0 || (size_t)n >= len) {
    buf[0] = '\0';
    return false;
  }
  return true;
}

/* Digits are accumulated as minor units and refused as soon as they pass
 * MONEY_MAX, so no intermediate value can overflow (MONEY_MAX * 10 + 9 is
 * far below UINT64_MAX) however many digits the text has. */
bool money_parse(const char *text, const char *code, int64_t *out) {
  int exp = money_exponent(code);
  if (text == NULL || out == NULL || exp < 0) return false;
  const char *s = text;
  bool neg = false;
  if (*s == '-') {
    neg = true;
    s++;
  }
  uint64_t v = 0;
  int int_digits = 0, frac_digits = 0;
  for (; *s >= '0' && *s <= '9'; s++, int_digits++) {
    v = v * 10 + (uint64_t)(*s - '0');
    if (v > (uint64_t)MONEY_MAX) return false;
  }
  if (int_digits == 0) return false;
  if (*s == '.') {
    s++;
    for (; *s >= '0' && *s <= '9'; s++, frac_digits++) {
      if (frac_digits == exp) return false; /* more digits than the currency has */
      v = v * 10 + (uint64_t)(*s - '0');
      if (v > (uint64_t)MONEY_MAX) return false;
    }
    if (frac_digits == 0) return false; /* "12." */
  }
  if (*s != '\0') return false;
  /* Scale the integer part (and a short fraction) up to minor units. */
  for (int i = frac_digits; i < exp; i++) {
    v *= 10;
    if (v > (uint64_t)MONEY_MAX) return false;
  }
  *out = neg ? -(int64_t)v : (int64_t)v;
  return true;
}

/* |a| * bps / 10000 is computed as q * bps + r * bps / 10000 with
 * |a| = q * 10000 + r: q * bps <= 10^11 * 10^6 and r * bps < 10^10, so
 * every intermediate fits an int64_t without a wider type, and the
 * remainder (r * bps) % 10000 decides the rounding exactly. */
bool money_apply_bps(int64_t a, int bps, int64_t *out) {
  if (out == NULL || bps < 0 || bps > 1000000) return false;
  if (a > MONEY_MAX || a < -MONEY_MAX) return false;
  int64_t mag = a < 0 ? -a : a;
  int64_t q = mag / 10000, r = mag % 10000;
  int64_t whole, part = r * bps;
  if (__builtin_mul_overflow(q, (int64_t)bps, &whole)) return false;
  int64_t res = whole + part / 10000;
  if (2 * (part % 10000) >= 10000) res++; /* half away from zero */
  if (res > MONEY_MAX) return false;
  *out = a < 0 ? -res : res;
  return true;
}

bool money_add(int64_t a, int64_t b, int64_t *out) {
  int64_t r;
  if (out == NULL || __builtin_add_overflow(a, b, &r)) return false;
  if (r > MONEY_MAX || r < -MONEY_MAX) return false;
  *out = r;
  return true;
}

bool money_mul(int64_t a, int64_t n, int64_t *out) {
  int64_t r;
  if (out == NULL || __builtin_mul_overflow(a, n, &r)) return false;
  if (r > MONEY_MAX || r < -MONEY_MAX) return false;
  *out = r;
  return true;
}
