/*
 * api-csv.c: what the REST endpoints that export CSV share (reports,
 * the audit log): a CSV document built in memory under a size bound,
 * fields quoted and guarded against spreadsheet formulas, the attachment
 * response, and ?from= / ?to= UTC days.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api-private.h"

#define CSV_BYTES_MAX (64u * 1024u * 1024u) /* an export's size bound */

void api_csv_add(api_csv_t *o, const char *s, size_t n) {
  if (o->failed) return;
  if (o->len + n + 1 > CSV_BYTES_MAX) {
    o->failed = true;
    return;
  }
  if (o->len + n + 1 > o->cap) {
    size_t cap = o->cap ? o->cap * 2 : 8192;
    while (cap < o->len + n + 1) cap *= 2;
    char *p = realloc(o->buf, cap);
    if (!p) {
      o->failed = true;
      return;
    }
    o->buf = p;
    o->cap = cap;
  }
  memcpy(o->buf + o->len, s, n);
  o->len += n;
  o->buf[o->len] = '\0';
}

/* A field and its separator: quoted when it holds a comma, quote, TAB or
 * line break; text (names people typed) starting with = + - @ TAB or CR
 * gets a leading ' so a spreadsheet does not run it as a formula. */
void api_csv_field(api_csv_t *o, const char *s, bool text, bool last) {
  bool quote = strpbrk(s, ",\"\r\n\t") != NULL;
  if (quote) api_csv_add(o, "\"", 1);
  if (text && s[0] && strchr("=+-@\t\r", s[0])) api_csv_add(o, "'", 1);
  for (const char *p = s; *p; p++) {
    size_t run = strcspn(p, "\"");
    api_csv_add(o, p, run);
    p += run;
    if (!*p) break;
    api_csv_add(o, "\"\"", 2);
  }
  if (quote) api_csv_add(o, "\"", 1);
  api_csv_add(o, last ? "\n" : ",", 1);
}

void api_csv_int(api_csv_t *o, int64_t v, bool last) {
  char n[24];
  snprintf(n, sizeof n, "%" PRId64, v);
  api_csv_field(o, n, false, last);
}

void api_csv_respond(api_ctx_t *c, api_csv_t *o, const char *filename) {
  char disp[96];
  snprintf(disp, sizeof disp, "attachment; filename=\"%s\"", filename);
  http_response_header(c->r, "Content-Disposition", disp);
  http_respond_owned(c->r, 200, "text/csv; charset=utf-8", o->buf, o->len);
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/* ?name=YYYY-MM-DD as the unix time of that UTC day's start (+ 1 day when
 * end); *out 0 when absent.  False has responded 400. */
bool api_query_day(api_ctx_t *c, const char *name, bool end, int64_t *out) {
  const char *s = http_query(c->r, name);
  *out = 0;
  if (!s || !*s) return true;
  static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int y = 0, m = 0, d = 0;
  bool ok = strlen(s) == 10 && s[4] == '-' && s[7] == '-' && strspn(s, "0123456789") == 4 &&
            strspn(s + 5, "0123456789") == 2 && strspn(s + 8, "0123456789") == 2;
  if (ok) {
    y = atoi(s);
    m = atoi(s + 5);
    d = atoi(s + 8);
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    ok = y >= 1970 && m >= 1 && m <= 12 && d >= 1 && d <= mdays[m - 1] &&
         !(m == 2 && d == 29 && !leap);
  }
  if (!ok) {
    api_problem(c->r, 400, "?%s must be a date YYYY-MM-DD", name);
    return false;
  }
  *out = (days_from_civil(y, m, d) + (end ? 1 : 0)) * 86400;
  return true;
}
