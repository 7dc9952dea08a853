/*
 * price.c: price tables and the fee of a job (price.h): the table's JSON
 * form read strictly and written canonically, the size class of a media
 * name, the tiered quote (graduated or volume) with its service fee, and
 * which table and payment mode apply to a printer.  All amounts go through
 * money.h's checked arithmetic; nothing here knows the store or a provider.
 */
#include "price.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "money.h"

#define FROM_MAX 1000000000 /* a tier's from: at most 10^9 impressions */

static const char *const size_names[PRICE_SIZE_COUNT] = {"a4", "a3", "letter", "legal", "other"};
static const char *const colour_names[2] = {"mono", "color"};
static const char *const sides_names[2] = {"one-sided", "two-sided"};

/* Write a message for a person into err (which may be NULL); false, so
 * that callers can `return fail(...)`. */
__attribute__((format(printf, 3, 4))) static bool fail(char *err, size_t errlen, const char *fmt,
                                                       ...) {
  if (err != NULL && errlen > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return false;
}

static int name_index(const char *const *names, int n, const char *key) {
  for (int i = 0; i < n; i++)
    if (strcmp(names[i], key) == 0) return i;
  return -1;
}

/* Does tier tr offer anything for size s? (The table's notion of a size
 * being present: the parser refuses a size object that offers nothing.) */
static bool size_present(const price_tier_t *tr, int s) {
  for (int c = 0; c < 2; c++)
    for (int d = 0; d < 2; d++)
      if (tr->price[s][c][d] != PRICE_NONE) return true;
  return false;
}

/* One size object of tier number tn (counted from 1) into tr->price[s]. */
static bool parse_size(const json_t *jsize, int tn, int s, price_tier_t *tr, char *err,
                       size_t errlen) {
  const char *sname = size_names[s];
  if (!json_is_object(jsize))
    return fail(err, errlen, "tier %d: prices.%s must be an object with \"mono\" and/or \"color\"",
                tn, sname);
  const char *ckey;
  const json_t *jcol;
  json_object_foreach((json_t *)jsize, ckey, jcol) {
    int c = name_index(colour_names, 2, ckey);
    if (c < 0)
      return fail(err, errlen, "tier %d: prices.%s: unknown key \"%.32s\" (mono, color)", tn, sname,
                  ckey);
    if (!json_is_object(jcol))
      return fail(err, errlen,
                  "tier %d: prices.%s.%s must be an object with \"one-sided\" and/or "
                  "\"two-sided\"",
                  tn, sname, ckey);
    const char *dkey;
    const json_t *jp;
    json_object_foreach((json_t *)jcol, dkey, jp) {
      int d = name_index(sides_names, 2, dkey);
      if (d < 0)
        return fail(err, errlen,
                    "tier %d: prices.%s.%s: unknown key \"%.32s\" (one-sided, two-sided)", tn,
                    sname, ckey, dkey);
      json_int_t v = json_is_integer(jp) ? json_integer_value(jp) : -1;
      if (v < 0 || v > MONEY_MAX)
        return fail(err, errlen,
                    "tier %d: prices.%s.%s.%s must be an integer from 0 to %lld (minor units)", tn,
                    sname, ckey, dkey, (long long)MONEY_MAX);
      tr->price[s][c][d] = (int64_t)v;
    }
  }
  if (!size_present(tr, s))
    return fail(err, errlen, "tier %d: prices.%s offers no price", tn, sname);
  return true;
}

/* Tier number tn (counted from 1) of the JSON; prev_from is the previous
 * tier's from (0 for the first). */
static bool parse_tier(const json_t *jt, int tn, int prev_from, price_tier_t *tr, char *err,
                       size_t errlen) {
  if (!json_is_object(jt))
    return fail(err, errlen, "tier %d must be an object with \"from\" and \"prices\"", tn);
  const char *key;
  const json_t *v;
  json_object_foreach((json_t *)jt, key, v) {
    if (strcmp(key, "from") != 0 && strcmp(key, "prices") != 0)
      return fail(err, errlen, "tier %d: unknown key \"%.32s\" (from, prices)", tn, key);
  }
  const json_t *jfrom = json_object_get(jt, "from");
  if (!json_is_integer(jfrom) || json_integer_value(jfrom) < 1 ||
      json_integer_value(jfrom) > FROM_MAX)
    return fail(err, errlen, "tier %d: from must be an integer from 1 to %d", tn, FROM_MAX);
  int from = (int)json_integer_value(jfrom);
  if (prev_from == 0 && from != 1) return fail(err, errlen, "tier 1: from must be 1");
  if (prev_from > 0 && from <= prev_from)
    return fail(err, errlen, "tier %d: from must be greater than %d", tn, prev_from);
  tr->from = from;

  const json_t *jprices = json_object_get(jt, "prices");
  if (!json_is_object(jprices) || json_object_size(jprices) == 0)
    return fail(err, errlen, "tier %d: prices must be an object naming at least one size", tn);
  const json_t *jsize;
  json_object_foreach((json_t *)jprices, key, jsize) {
    int s = name_index(size_names, PRICE_SIZE_COUNT, key);
    if (s < 0)
      return fail(err, errlen,
                  "tier %d: prices: unknown size \"%.32s\" (a4, a3, letter, legal, other)", tn,
                  key);
    if (!parse_size(jsize, tn, s, tr, err, errlen)) return false;
  }
  return true;
}

/* Parsed into a local table so that out is only written on success. */
bool price_table_from_json(const json_t *j, price_table_t *out, char *err, size_t errlen) {
  price_table_t t;
  memset(&t, 0, sizeof t);
  for (int i = 0; i < PRICE_TIERS_MAX; i++)
    for (int s = 0; s < PRICE_SIZE_COUNT; s++)
      for (int c = 0; c < 2; c++)
        for (int d = 0; d < 2; d++) t.tiers[i].price[s][c][d] = PRICE_NONE;

  if (out == NULL) return fail(err, errlen, "no table to fill");
  if (!json_is_object(j))
    return fail(err, errlen, "a price table must be a JSON object with currency, mode and tiers");
  const char *key;
  const json_t *v;
  json_object_foreach((json_t *)j, key, v) {
    if (strcmp(key, "currency") != 0 && strcmp(key, "mode") != 0 && strcmp(key, "tiers") != 0)
      return fail(err, errlen, "unknown key \"%.32s\" (currency, mode, tiers)", key);
  }
  const json_t *jcur = json_object_get(j, "currency");
  if (!json_is_string(jcur) || !money_currency_valid(json_string_value(jcur)))
    return fail(err, errlen, "currency must be an ISO 4217 code Nimbus knows, such as \"EUR\"");
  snprintf(t.currency, sizeof t.currency, "%s", json_string_value(jcur));

  const json_t *jmode = json_object_get(j, "mode");
  const char *mode = json_is_string(jmode) ? json_string_value(jmode) : "";
  if (strcmp(mode, "graduated") == 0)
    t.volume = false;
  else if (strcmp(mode, "volume") == 0)
    t.volume = true;
  else
    return fail(err, errlen, "mode must be \"graduated\" or \"volume\"");

  const json_t *jtiers = json_object_get(j, "tiers");
  if (!json_is_array(jtiers) || json_array_size(jtiers) < 1 ||
      json_array_size(jtiers) > PRICE_TIERS_MAX)
    return fail(err, errlen, "tiers must be an array of 1 to %d tiers", PRICE_TIERS_MAX);
  t.ntiers = (int)json_array_size(jtiers);
  for (int i = 0; i < t.ntiers; i++) {
    int prev = i == 0 ? 0 : t.tiers[i - 1].from;
    if (!parse_tier(json_array_get(jtiers, (size_t)i), i + 1, prev, &t.tiers[i], err, errlen))
      return false;
  }
  /* The same sizes in every tier as in the first. */
  for (int i = 1; i < t.ntiers; i++) {
    for (int s = 0; s < PRICE_SIZE_COUNT; s++) {
      bool in_first = size_present(&t.tiers[0], s), here = size_present(&t.tiers[i], s);
      if (in_first && !here)
        return fail(err, errlen,
                    "tier %d: prices.%s missing (every tier prices the sizes of tier 1)", i + 1,
                    size_names[s]);
      if (!in_first && here)
        return fail(err, errlen,
                    "tier %d: prices.%s is not in tier 1 (every tier prices the sizes "
                    "of tier 1)",
                    i + 1, size_names[s]);
    }
  }
  *out = t;
  return true;
}

/* Sets *ok to false when a jansson call fails (out of memory). */
static void set_new(json_t *obj, const char *key, json_t *v, bool *ok) {
  if (obj == NULL || json_object_set_new(obj, key, v) != 0) *ok = false;
}

json_t *price_table_to_json(const price_table_t *t) {
  if (t == NULL) return NULL;
  bool ok = true;
  json_t *j = json_object();
  json_t *tiers = json_array();
  set_new(j, "currency", json_string(t->currency), &ok);
  set_new(j, "mode", json_string(t->volume ? "volume" : "graduated"), &ok);
  for (int i = 0; ok && i < t->ntiers && i < PRICE_TIERS_MAX; i++) {
    const price_tier_t *tr = &t->tiers[i];
    json_t *jt = json_object(), *prices = json_object();
    set_new(jt, "from", json_integer(tr->from), &ok);
    for (int s = 0; s < PRICE_SIZE_COUNT; s++) {
      if (!size_present(tr, s)) continue;
      json_t *jsize = json_object();
      for (int c = 0; c < 2; c++) {
        if (tr->price[s][c][0] == PRICE_NONE && tr->price[s][c][1] == PRICE_NONE) continue;
        json_t *jcol = json_object();
        for (int d = 0; d < 2; d++)
          if (tr->price[s][c][d] != PRICE_NONE)
            set_new(jcol, sides_names[d], json_integer(tr->price[s][c][d]), &ok);
        set_new(jsize, colour_names[c], jcol, &ok);
      }
      set_new(prices, size_names[s], jsize, &ok);
    }
    set_new(jt, "prices", prices, &ok);
    if (tiers == NULL || json_array_append_new(tiers, jt) != 0) ok = false;
  }
  set_new(j, "tiers", tiers, &ok);
  if (!ok) {
    json_decref(j);
    return NULL;
  }
  return j;
}

/* Decimal text "8.5" or "297" in thousandths (no floating point); false
 * when it is not digits with at most three decimals. */
static bool parse_milli(const char *s, size_t n, int64_t *out) {
  int64_t v = 0;
  size_t i = 0;
  int frac = -1;
  if (n == 0 || n > 9) return false;
  for (; i < n; i++) {
    if (s[i] == '.' && frac < 0 && i > 0) {
      frac = 0;
      continue;
    }
    if (s[i] < '0' || s[i] > '9') return false;
    if (frac >= 0 && ++frac > 3) return false;
    v = v * 10 + (s[i] - '0');
  }
  if (frac == 0) return false; /* "8." */
  for (int k = frac < 0 ? 0 : frac; k < 3; k++) v *= 10;
  *out = v;
  return true;
}

/* The size class of the dimensions at the end of a PWG 5101.1
 * self-describing name ("class_name_WxHmm" or "...in"), either
 * orientation, within half a millimetre; -1 when the name has none. */
static int size_of_pwg_dims(const char *media) {
  const char *us = strrchr(media, '_');
  if (us == NULL) return -1;
  const char *dims = us + 1, *x = strchr(dims, 'x');
  size_t dl = strlen(dims);
  if (x == NULL || dl < 5) return -1;
  const char *unit = dims + dl - 2;
  int64_t per_milli; /* hundredths of a millimetre per thousandth of the unit, x1000 */
  if (strcmp(unit, "mm") == 0)
    per_milli = 100;
  else if (strcmp(unit, "in") == 0)
    per_milli = 2540;
  else
    return -1;
  int64_t w, h;
  if (x >= unit || !parse_milli(dims, (size_t)(x - dims), &w) ||
      !parse_milli(x + 1, (size_t)(unit - x - 1), &h))
    return -1;
  w = w * per_milli / 1000; /* hundredths of a millimetre */
  h = h * per_milli / 1000;
  if (w > h) {
    int64_t tmp = w;
    w = h;
    h = tmp;
  }
  static const struct {
    int64_t w, h;
    price_size_t size;
  } known[] = {{21000, 29700, PRICE_SIZE_A4},
               {29700, 42000, PRICE_SIZE_A3},
               {21590, 27940, PRICE_SIZE_LETTER},
               {21590, 35560, PRICE_SIZE_LEGAL}};
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
    int64_t dw = w - known[i].w, dh = h - known[i].h;
    if (dw >= -50 && dw <= 50 && dh >= -50 && dh <= 50) return (int)known[i].size;
  }
  return PRICE_SIZE_OTHER;
}

/* Does media equal keyword, or keyword with one of the IPP 1.1 media
 * keywords' suffixes ("iso-a4-white", "na-letter-transparent")? */
static bool keyword_is(const char *media, const char *keyword) {
  size_t n = strlen(keyword);
  if (strncasecmp(media, keyword, n) != 0) return false;
  const char *rest = media + n;
  return rest[0] == '\0' || strcasecmp(rest, "-white") == 0 || strcasecmp(rest, "-colored") == 0 ||
         strcasecmp(rest, "-transparent") == 0;
}

/* Names, in this order: empty (the default); PWG self-describing names by
 * their dimensions, so that any class prefix ("iso_a4_210x297mm",
 * "om_a4_210x297mm", a media-col size written as "custom_x_210x297mm")
 * and landscape names classify; then the short and IPP 1.1 keywords,
 * any case.  Everything else is "other". */
price_size_t price_size_of_media(const char *media, bool default_a4) {
  if (media == NULL || media[0] == '\0') return default_a4 ? PRICE_SIZE_A4 : PRICE_SIZE_LETTER;
  int s = size_of_pwg_dims(media);
  if (s >= 0) return (price_size_t)s;
  static const struct {
    const char *keyword;
    price_size_t size;
  } names[] = {{"iso-a4", PRICE_SIZE_A4},        {"a4", PRICE_SIZE_A4},
               {"iso-a3", PRICE_SIZE_A3},        {"a3", PRICE_SIZE_A3},
               {"na-letter", PRICE_SIZE_LETTER}, {"letter", PRICE_SIZE_LETTER},
               {"na-legal", PRICE_SIZE_LEGAL},   {"legal", PRICE_SIZE_LEGAL}};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (keyword_is(media, names[i].keyword)) return names[i].size;
  return PRICE_SIZE_OTHER;
}

const char *price_size_name(price_size_t s) {
  if ((int)s < 0 || s >= PRICE_SIZE_COUNT) return "other";
  return size_names[s];
}

/* The priced line for count impressions at tier ti, appended to q. */
static bool add_line(const price_table_t *t, int ti, int64_t count, int s, int c, int d,
                     price_quote_t *q, char *err, size_t errlen) {
  int64_t unit = t->tiers[ti].price[s][c][d];
  if (unit == PRICE_NONE)
    return fail(err, errlen, "the price table does not offer %s %s %s printing (tier %d)",
                size_names[s], colour_names[c], sides_names[d], ti + 1);
  price_line_t *l = &q->lines[q->nlines];
  l->tier = ti;
  l->from = t->tiers[ti].from;
  l->count = count;
  l->unit = unit;
  if (!money_mul(unit, count, &l->subtotal) || !money_add(q->print_fee, l->subtotal, &q->print_fee))
    return fail(err, errlen, "the fee is too large");
  q->nlines++;
  return true;
}

/* Computed into a local quote so that out is only written on success. */
bool price_quote(const price_table_t *t, const price_job_t *job, const price_service_fee_t *sf,
                 price_quote_t *out, char *err, size_t errlen) {
  price_quote_t q;
  memset(&q, 0, sizeof q);
  if (t == NULL || job == NULL || out == NULL) return fail(err, errlen, "nothing to price");
  if (t->ntiers < 1 || t->ntiers > PRICE_TIERS_MAX || t->tiers[0].from != 1 ||
      !money_currency_valid(t->currency))
    return fail(err, errlen, "the price table is not valid");
  for (int i = 1; i < t->ntiers; i++)
    if (t->tiers[i].from <= t->tiers[i - 1].from)
      return fail(err, errlen, "the price table is not valid");
  if (job->pages < 0 || job->copies < 1)
    return fail(err, errlen, "the job has no valid page count");
  if ((int)job->size < 0 || job->size >= PRICE_SIZE_COUNT)
    return fail(err, errlen, "the job has no valid media size");
  snprintf(q.currency, sizeof q.currency, "%s", t->currency);
  q.impressions = (int64_t)job->pages * job->copies;
  if (q.impressions == 0) {
    *out = q;
    return true;
  }

  int s = (int)job->size, c = job->color ? 1 : 0, d = job->duplex ? 1 : 0;
  if (!size_present(&t->tiers[0], s)) {
    if (!size_present(&t->tiers[0], PRICE_SIZE_OTHER))
      return fail(err, errlen, "the price table does not price %s or other media", size_names[s]);
    s = PRICE_SIZE_OTHER;
  }
  int64_t n = q.impressions;
  if (t->volume) {
    int ti = 0;
    while (ti + 1 < t->ntiers && t->tiers[ti + 1].from <= n) ti++;
    if (!add_line(t, ti, n, s, c, d, &q, err, errlen)) return false;
  } else {
    for (int ti = 0; ti < t->ntiers && t->tiers[ti].from <= n; ti++) {
      int64_t last = ti + 1 < t->ntiers ? (int64_t)t->tiers[ti + 1].from - 1 : n;
      if (last > n) last = n;
      if (!add_line(t, ti, last - t->tiers[ti].from + 1, s, c, d, &q, err, errlen)) return false;
    }
  }

  if (sf != NULL) {
    int64_t pct;
    if (sf->fixed < 0 || sf->fixed > MONEY_MAX || !money_apply_bps(q.print_fee, sf->bps, &pct))
      return fail(err, errlen, "the service fee is not valid");
    if (!money_add(sf->fixed, pct, &q.service_fee))
      return fail(err, errlen, "the fee is too large");
  }
  if (!money_add(q.print_fee, q.service_fee, &q.total))
    return fail(err, errlen, "the fee is too large");
  *out = q;
  return true;
}

json_t *price_quote_to_json(const price_quote_t *q) {
  if (q == NULL) return NULL;
  bool ok = true;
  json_t *j = json_object(), *lines = json_array();
  set_new(j, "currency", json_string(q->currency), &ok);
  set_new(j, "impressions", json_integer(q->impressions), &ok);
  set_new(j, "print_fee", json_integer(q->print_fee), &ok);
  set_new(j, "service_fee", json_integer(q->service_fee), &ok);
  set_new(j, "total", json_integer(q->total), &ok);
  for (int i = 0; ok && i < q->nlines && i < PRICE_TIERS_MAX; i++) {
    const price_line_t *l = &q->lines[i];
    json_t *jl = json_object();
    set_new(jl, "tier", json_integer(l->tier + 1), &ok);
    set_new(jl, "from", json_integer(l->from), &ok);
    set_new(jl, "count", json_integer(l->count), &ok);
    set_new(jl, "unit", json_integer(l->unit), &ok);
    set_new(jl, "subtotal", json_integer(l->subtotal), &ok);
    if (lines == NULL || json_array_append_new(lines, jl) != 0) ok = false;
  }
  set_new(j, "lines", lines, &ok);
  if (!ok) {
    json_decref(j);
    return NULL;
  }
  return j;
}

/* Falls back to bare minor units when the currency is unknown (a quote
 * never has one, but the text must not be left unset). */
void price_quote_text(const price_quote_t *q, char *buf, size_t len) {
  if (buf == NULL || len == 0) return;
  buf[0] = '\0';
  if (q == NULL) return;
  char total[48], print[32], service[32];
  if (money_format_with_code(q->total, q->currency, total, sizeof total) &&
      money_format(q->print_fee, q->currency, print, sizeof print) &&
      money_format(q->service_fee, q->currency, service, sizeof service))
    snprintf(buf, len, "%s (print %s + service %s)", total, print, service);
  else
    snprintf(buf, len, "%lld (print %lld + service %lld) minor units of %s", (long long)q->total,
             (long long)q->print_fee, (long long)q->service_fee, q->currency);
}

void price_policy_pick(const nimbus_pricing_t *queue, const nimbus_pricing_t *device,
                       nimbus_pricing_t *out) {
  if (out == NULL) return;
  memset(out, 0, sizeof *out);
  if (device != NULL && device->price_table_id != 0)
    out->price_table_id = device->price_table_id;
  else if (queue != NULL)
    out->price_table_id = queue->price_table_id;
  const char *mode = "none";
  if (device != NULL && device->payment[0] != '\0')
    mode = device->payment;
  else if (queue != NULL && queue->payment[0] != '\0')
    mode = queue->payment;
  snprintf(out->payment, sizeof out->payment, "%s", mode);
}
