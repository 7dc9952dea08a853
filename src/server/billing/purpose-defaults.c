/*
 * purpose-defaults.c: the names, codes and default print settings of
 * purposes and billing accounts (purpose.h, docs/BILLING.md): what a valid
 * account code and purpose name are, the strict reading and canonical
 * writing of a purpose's DEFAULTS, filling a job's unset settings from
 * them, and purposes and accounts as REST JSON.  Nothing here touches the
 * store; purpose.c does the resolution and the permission check.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "money.h"
#include "purpose.h"

#define COPIES_MAX 999
#define MEDIA_MAX 63      /* a media keyword, bytes */
#define FINISHINGS_MAX 16 /* values of a finishings default */
#define FINISHING_MIN 3   /* IPP finishings enum: 3 (none) and up */
#define FINISHING_MAX 999

static const char *const sides_values[] = {"one-sided", "two-sided-long-edge",
                                           "two-sided-short-edge", NULL};
static const char *const color_values[] = {"color", "monochrome", "auto", NULL};

bool account_code_valid(const char *code) {
  size_t n = code ? strlen(code) : 0;
  if (n < 1 || n > NIMBUS_ACCOUNT_CODE_MAX - 1) return false;
  return strspn(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

/* Length of the UTF-8 sequence at s (1..4) when it is well formed (no
 * overlong form, no surrogate, at most U+10FFFF) and its code point is
 * printable (not C0, DEL or C1); 0 otherwise. */
static size_t utf8_printable_len(const unsigned char *s) {
  unsigned char c = s[0];
  if (c < 0x20 || c == 0x7f) return 0;
  if (c < 0x80) return 1;
  size_t n;
  unsigned cp;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
    cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff))) return 0;
  if (cp >= 0xd800 && cp <= 0xdfff) return 0;
  if (cp >= 0x80 && cp <= 0x9f) return 0; /* C1 controls */
  return n;
}

bool purpose_name_valid(const char *name) {
  size_t n = name ? strlen(name) : 0;
  if (n < 1 || n > NIMBUS_NAME_MAX - 1) return false;
  if (name[0] == ' ' || name[n - 1] == ' ') return false;
  const unsigned char *s = (const unsigned char *)name;
  while (*s) {
    size_t k = utf8_printable_len(s);
    if (k == 0) return false;
    s += k;
  }
  return true;
}

bool account_mode_parse(const char *s, nimbus_account_mode_t *out) {
  if (!s) return false;
  if (strcmp(s, "invoiced") == 0) {
    *out = NIMBUS_ACCOUNT_INVOICED;
    return true;
  }
  if (strcmp(s, "prepaid") == 0) {
    *out = NIMBUS_ACCOUNT_PREPAID;
    return true;
  }
  return false;
}

const char *account_mode_name(nimbus_account_mode_t m) {
  switch (m) {
    case NIMBUS_ACCOUNT_INVOICED:
      return "invoiced";
    case NIMBUS_ACCOUNT_PREPAID:
      return "prepaid";
    default:
      return NULL;
  }
}

static bool in_list(const char *s, const char *const *list) {
  for (; *list; list++)
    if (strcmp(s, *list) == 0) return true;
  return false;
}

/* A media keyword: 1..63 of [A-Za-z0-9._-] (PWG self-describing names
 * such as iso_a4_210x297mm, na_letter_8.5x11in). */
static bool media_valid(const char *s) {
  size_t n = strlen(s);
  return n >= 1 && n <= MEDIA_MAX &&
         strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

/* Message into err; false so callers can return it. */
__attribute__((format(printf, 3, 4))) static bool fail(char *err, size_t errlen, const char *fmt,
                                                       ...) {
  if (err && errlen > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return false;
}

/* Check one member of DEFAULTS and add its canonical value to out
 * (a null value is left out: not set). */
static bool defaults_member(const char *key, const json_t *v, json_t *out, char *err,
                            size_t errlen) {
  if (json_is_null(v)) return true;
  if (strcmp(key, "copies") == 0) {
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > COPIES_MAX)
      return fail(err, errlen, "'copies' must be a whole number from 1 to %d", COPIES_MAX);
    return json_object_set_new(out, key, json_integer(json_integer_value(v))) == 0 ||
           fail(err, errlen, "out of memory");
  }
  if (strcmp(key, "sides") == 0 || strcmp(key, "print-color-mode") == 0) {
    const char *const *allowed = key[0] == 's' ? sides_values : color_values;
    const char *s = json_string_value(v);
    if (!s || !in_list(s, allowed))
      return fail(err, errlen, "'%s' must be one of %s", key,
                  key[0] == 's' ? "one-sided, two-sided-long-edge, two-sided-short-edge"
                                : "color, monochrome, auto");
    return json_object_set_new(out, key, json_string(s)) == 0 || fail(err, errlen, "out of memory");
  }
  if (strcmp(key, "media") == 0) {
    const char *s = json_string_value(v);
    if (!s || !media_valid(s))
      return fail(err, errlen,
                  "'media' must be a media keyword (1 to %d of A-Z a-z 0-9 . _ -, e.g. "
                  "iso_a4_210x297mm)",
                  MEDIA_MAX);
    return json_object_set_new(out, key, json_string(s)) == 0 || fail(err, errlen, "out of memory");
  }
  if (strcmp(key, "finishings") == 0) {
    size_t n = json_array_size(v);
    if (!json_is_array(v) || n < 1 || n > FINISHINGS_MAX)
      return fail(err, errlen, "'finishings' must be an array of 1 to %d IPP finishings values",
                  FINISHINGS_MAX);
    json_t *arr = json_array();
    if (!arr) return fail(err, errlen, "out of memory");
    for (size_t i = 0; i < n; i++) {
      const json_t *e = json_array_get(v, i);
      if (!json_is_integer(e) || json_integer_value(e) < FINISHING_MIN ||
          json_integer_value(e) > FINISHING_MAX) {
        json_decref(arr);
        return fail(err, errlen, "'finishings' values must be IPP finishings enums (%d to %d)",
                    FINISHING_MIN, FINISHING_MAX);
      }
      json_array_append_new(arr, json_integer(json_integer_value(e)));
    }
    return json_object_set_new(out, key, arr) == 0 || fail(err, errlen, "out of memory");
  }
  return fail(err, errlen,
              "unknown member '%.40s' (copies, sides, print-color-mode, media, finishings)", key);
}

bool purpose_defaults_normalize(const json_t *in, char *out, size_t outlen, char *err,
                                size_t errlen) {
  if (err && errlen > 0) err[0] = '\0';
  if (in && !json_is_object(in) && !json_is_null(in))
    return fail(err, errlen, "'defaults' must be an object");
  json_t *canon = json_object();
  if (!canon) return fail(err, errlen, "out of memory");
  bool ok = true;
  const char *key;
  json_t *v;
  if (json_is_object(in)) {
    json_object_foreach((json_t *)in, key, v) {
      if (!(ok = defaults_member(key, v, canon, err, errlen))) break;
    }
  }
  char *text = ok ? json_dumps(canon, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  json_decref(canon);
  if (ok && (!text || strlen(text) >= outlen)) ok = fail(err, errlen, "'defaults' is too large");
  if (ok) snprintf(out, outlen, "%s", text);
  free(text);
  return ok;
}

json_t *purpose_defaults_json(const char *stored) {
  json_t *j = stored && stored[0] ? json_loads(stored, 0, NULL) : NULL;
  if (json_is_object(j)) return j;
  json_decref(j);
  return json_object();
}

bool purpose_apply_defaults(const nimbus_purpose_t *p, bool copies_given, nimbus_job_t *job) {
  static const char *const keys[] = {"sides", "print-color-mode", "media", "finishings", NULL};
  json_t *defs = purpose_defaults_json(p->defaults);
  json_t *attrs = json_loads(job->attrs_json[0] ? job->attrs_json : "{}", 0, NULL);
  char *text = NULL;
  bool ok = false;
  if (!defs || !json_is_object(attrs)) goto done;
  for (int i = 0; keys[i]; i++) {
    json_t *v = json_object_get(defs, keys[i]);
    if (v && !json_object_get(attrs, keys[i]) && json_object_set(attrs, keys[i], v) != 0) goto done;
  }
  text = json_dumps(attrs, JSON_COMPACT | JSON_SORT_KEYS);
  if (!text || strlen(text) >= sizeof job->attrs_json) goto done;
  snprintf(job->attrs_json, sizeof job->attrs_json, "%s", text);
  json_t *copies = json_object_get(defs, "copies");
  if (!copies_given && job->copies <= 1 && json_is_integer(copies))
    job->copies = (int)json_integer_value(copies);
  ok = true;
done:
  free(text);
  json_decref(attrs);
  json_decref(defs);
  return ok;
}

/* RFC 3339 UTC of unix seconds, or JSON null for 0 (as the API writes times). */
static json_t *time_json(int64_t t) {
  if (t == 0) return json_null();
  char buf[32];
  time_t tt = (time_t)t;
  struct tm tm;
  if (!gmtime_r(&tt, &tm) || strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    return json_null();
  return json_string(buf);
}

/* A stored text as a JSON string; invalid UTF-8 (never written by the API)
 * becomes null rather than failing the whole document. */
static json_t *text_json(const char *s) {
  json_t *j = json_string(s);
  return j ? j : json_null();
}

json_t *purpose_json(const nimbus_purpose_t *p) {
  bool private_ = p->account_id == 0;
  return json_pack("{s:o, s:o, s:b, s:b, s:o, s:o, s:o}", "name", text_json(p->name), "account",
                   private_ ? json_null() : text_json(p->account_code), "private", private_,
                   "default", p->is_default, "defaults", purpose_defaults_json(p->defaults),
                   "created_at", time_json(p->created_at), "updated_at", time_json(p->updated_at));
}

/* What is left to charge on a: prepaid balance - held; invoiced with a
 * limit credit_limit - charged - held; false when unlimited. */
static bool account_available(const nimbus_billing_account_t *a, int64_t *out) {
  if (a->mode == NIMBUS_ACCOUNT_PREPAID) {
    *out = a->balance - a->held;
    return true;
  }
  if (a->credit_limit > 0) {
    *out = a->credit_limit - a->charged - a->held;
    return true;
  }
  return false;
}

json_t *account_json(const nimbus_billing_account_t *a, const char *currency, bool with_figures) {
  const char *mode = account_mode_name(a->mode);
  json_t *j = json_pack("{s:o, s:o, s:o, s:b, s:b, s:o, s:b, s:o, s:o}", "code", text_json(a->code),
                        "name", text_json(a->name), "mode", mode ? json_string(mode) : json_null(),
                        "everyone", a->everyone, "restrict_printers", a->restrict_printers,
                        "currency", currency && currency[0] ? json_string(currency) : json_null(),
                        "closed", a->closed_at != 0, "created_at", time_json(a->created_at),
                        "closed_at", time_json(a->closed_at));
  if (!j || !with_figures) return j;
  int64_t avail;
  json_t *available = json_null(), *available_text = json_null();
  if (account_available(a, &avail)) {
    char text[48];
    available = json_integer(avail);
    if (currency && money_format(avail, currency, text, sizeof text))
      available_text = json_string(text);
  }
  if (json_object_set_new(j, "credit_limit", json_integer(a->credit_limit)) != 0 ||
      json_object_set_new(j, "balance", json_integer(a->balance)) != 0 ||
      json_object_set_new(j, "charged", json_integer(a->charged)) != 0 ||
      json_object_set_new(j, "held", json_integer(a->held)) != 0 ||
      json_object_set_new(j, "available", available) != 0 ||
      json_object_set_new(j, "available_text", available_text) != 0) {
    json_decref(j);
    return NULL;
  }
  return j;
}
