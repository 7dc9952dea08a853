/*
 * util.c: nimbus-paysim's small helpers: growable buffers with HTML and URL
 * escaping, money text (an ISO 4217 exponent table; never floating point),
 * exact JSON amounts, form decoding, random ids and HMACs (libsodium).
 */
#include "paysim.h"

#include <ctype.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ps_buf_add(ps_buf_t *b, const char *s, size_t n) {
  if (b->failed) return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1) cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) {
      b->failed = true;
      return;
    }
    b->data = d;
    b->cap = cap;
  }
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void ps_buf_printf(ps_buf_t *b, const char *fmt, ...) {
  char small[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n < sizeof small) {
    ps_buf_add(b, small, (size_t)n);
    return;
  }
  char *big = malloc((size_t)n + 1);
  if (!big) {
    b->failed = true;
    return;
  }
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  ps_buf_add(b, big, (size_t)n);
  free(big);
}

void ps_buf_html(ps_buf_t *b, const char *s) {
  for (; *s; s++) {
    switch (*s) {
      case '&':
        ps_buf_add(b, "&amp;", 5);
        break;
      case '<':
        ps_buf_add(b, "&lt;", 4);
        break;
      case '>':
        ps_buf_add(b, "&gt;", 4);
        break;
      case '"':
        ps_buf_add(b, "&quot;", 6);
        break;
      case '\'':
        ps_buf_add(b, "&#39;", 5);
        break;
      default:
        ps_buf_add(b, s, 1);
    }
  }
}

void ps_buf_urlenc(ps_buf_t *b, const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      ps_buf_add(b, (const char *)&c, 1);
    } else {
      char e[3] = {'%', hex[c >> 4], hex[c & 15]};
      ps_buf_add(b, e, 3);
    }
  }
}

/* ---- money ---- */

/* Currencies whose exponent is not 2 (ISO 4217); other known codes are 2. */
static const struct {
  const char *code;
  int exp;
} ps_exponents[] = {
    {"BIF", 0}, {"CLP", 0}, {"DJF", 0}, {"GNF", 0}, {"ISK", 0}, {"JPY", 0}, {"KMF", 0},
    {"KRW", 0}, {"PYG", 0}, {"RWF", 0}, {"UGX", 0}, {"UYI", 0}, {"VND", 0}, {"VUV", 0},
    {"XAF", 0}, {"XOF", 0}, {"XPF", 0}, {"BHD", 3}, {"IQD", 3}, {"JOD", 3}, {"KWD", 3},
    {"LYD", 3}, {"OMR", 3}, {"TND", 3}, {"CLF", 4}, {"UYW", 4},
};
static const char *ps_two_decimals[] = {
    "AED", "AUD", "BRL", "CAD", "CHF", "CNY", "CZK", "DKK", "EUR", "GBP",
    "HKD", "HUF", "IDR", "ILS", "INR", "MXN", "MYR", "NOK", "NZD", "PHP",
    "PLN", "RON", "SEK", "SGD", "THB", "TRY", "TWD", "USD", "ZAR",
};

int ps_currency_exponent(const char *code) {
  if (!code) return -1;
  for (size_t i = 0; i < sizeof ps_exponents / sizeof ps_exponents[0]; i++)
    if (!strcmp(code, ps_exponents[i].code)) return ps_exponents[i].exp;
  for (size_t i = 0; i < sizeof ps_two_decimals / sizeof ps_two_decimals[0]; i++)
    if (!strcmp(code, ps_two_decimals[i])) return 2;
  return -1;
}

bool ps_money_text(int64_t minor, const char *code, char *buf, size_t len) {
  int e = ps_currency_exponent(code);
  if (e < 0 || minor < 0) return false;
  int64_t div = 1;
  for (int i = 0; i < e; i++) div *= 10;
  int n = e == 0 ? snprintf(buf, len, "%lld", (long long)minor)
                 : snprintf(buf, len, "%lld.%0*lld", (long long)(minor / div), e,
                            (long long)(minor % div));
  return n > 0 && (size_t)n < len;
}

bool ps_money_parse(const char *text, const char *code, int64_t *out) {
  int e = ps_currency_exponent(code);
  if (e < 0 || !text || !isdigit((unsigned char)*text)) return false;
  int64_t v = 0;
  const char *p = text;
  for (; isdigit((unsigned char)*p); p++) {
    v = v * 10 + (*p - '0');
    if (v > INT64_C(1000000000000000)) return false;
  }
  int frac = 0;
  if (*p == '.') {
    p++;
    if (!isdigit((unsigned char)*p)) return false;
    for (; isdigit((unsigned char)*p); p++) {
      if (frac >= e) {
        if (*p != '0') return false; /* more precision than the currency has */
        continue;
      }
      v = v * 10 + (*p - '0');
      frac++;
    }
  }
  if (*p) return false;
  for (; frac < e; frac++) v *= 10;
  if (v > INT64_C(1000000000000000)) return false;
  *out = v;
  return true;
}

/* Marker in front of exact number text carried as a JSON string. */
#define PS_NUM_MARK "\001num:"

json_t *ps_json_amount(int64_t minor, const char *code) {
  char num[40], s[48];
  if (!ps_money_text(minor, code, num, sizeof num)) return json_null();
  snprintf(s, sizeof s, PS_NUM_MARK "%s", num);
  return json_string(s);
}

/*
 * Rewrite every JSON number token with a fraction or an exponent as a
 * marked string, so jansson never turns it into a double.  Strings are
 * skipped with their escapes; the output is a new malloc'd text.
 */
static char *ps_json_quote_reals(const char *in, size_t len) {
  ps_buf_t b = {0};
  size_t i = 0;
  while (i < len) {
    char c = in[i];
    if (c == '"') {
      size_t j = i + 1;
      while (j < len && in[j] != '"') j += in[j] == '\\' ? 2 : 1;
      j = j < len ? j + 1 : len;
      ps_buf_add(&b, in + i, j - i);
      i = j;
    } else if (c == '-' || isdigit((unsigned char)c)) {
      size_t j = i + 1;
      bool real = false;
      while (j < len && (isdigit((unsigned char)in[j]) || strchr(".eE+-", in[j]))) {
        if (strchr(".eE", in[j])) real = true;
        j++;
      }
      if (real) {
        ps_buf_add(&b, "\"\\u0001num:", 11);
        ps_buf_add(&b, in + i, j - i);
        ps_buf_add(&b, "\"", 1);
      } else {
        ps_buf_add(&b, in + i, j - i);
      }
      i = j;
    } else {
      ps_buf_add(&b, in + i, 1);
      i++;
    }
  }
  if (b.failed) {
    free(b.data);
    return NULL;
  }
  return b.data ? b.data : strdup("");
}

json_t *ps_json_parse_exact(const char *body, size_t len) {
  char *text = ps_json_quote_reals(body, len);
  if (!text) return NULL;
  json_t *doc = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
  free(text);
  return doc;
}

bool ps_json_get_amount(json_t *v, const char *code, int64_t *out) {
  char text[64];
  if (json_is_integer(v)) {
    if (json_integer_value(v) < 0) return false;
    snprintf(text, sizeof text, "%lld", (long long)json_integer_value(v));
  } else if (json_is_string(v) && !strncmp(json_string_value(v), PS_NUM_MARK, 5)) {
    snprintf(text, sizeof text, "%s", json_string_value(v) + 5);
  } else {
    return false;
  }
  return ps_money_parse(text, code, out);
}

/* Replace every "\u0001num:TEXT" string in dumped JSON by TEXT (in place). */
char *ps_json_unquote_amounts(char *text) {
  static const char pat[] = "\"\\u0001num:";
  char *w = text, *r = text;
  while (*r) {
    if (!strncmp(r, pat, sizeof pat - 1)) {
      r += sizeof pat - 1;
      while (*r && *r != '"') *w++ = *r++;
      if (*r) r++;
    } else {
      *w++ = *r++;
    }
  }
  *w = '\0';
  return text;
}

/* ---- forms ---- */

static int ps_hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Decode one percent-encoded component (with '+' as space) into a new string. */
static char *ps_form_decode(const char *s, size_t n) {
  char *out = malloc(n + 1), *w = out;
  if (!out) return NULL;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '+') {
      *w++ = ' ';
    } else if (s[i] == '%' && i + 2 < n && ps_hexval(s[i + 1]) >= 0 && ps_hexval(s[i + 2]) >= 0) {
      *w++ = (char)(ps_hexval(s[i + 1]) * 16 + ps_hexval(s[i + 2]));
      i += 2;
    } else {
      *w++ = s[i];
    }
  }
  *w = '\0';
  return out;
}

bool ps_form_parse(const char *text, size_t len, ps_form_t *f) {
  memset(f, 0, sizeof *f);
  size_t i = 0;
  while (i < len) {
    size_t j = i;
    while (j < len && text[j] != '&') j++;
    if (j > i) {
      size_t eq = i;
      while (eq < j && text[eq] != '=') eq++;
      if (f->n >= 1000) goto fail;
      char **k = realloc(f->keys, sizeof(char *) * (size_t)(f->n + 1));
      if (!k) goto fail;
      f->keys = k;
      char **v = realloc(f->vals, sizeof(char *) * (size_t)(f->n + 1));
      if (!v) goto fail;
      f->vals = v;
      f->keys[f->n] = ps_form_decode(text + i, eq - i);
      f->vals[f->n] = ps_form_decode(eq < j ? text + eq + 1 : "", eq < j ? j - eq - 1 : 0);
      f->n++;
      if (!f->keys[f->n - 1] || !f->vals[f->n - 1]) goto fail;
    }
    i = j + 1;
  }
  return true;
fail:
  ps_form_free(f);
  return false;
}

const char *ps_form_get(const ps_form_t *f, const char *key) {
  for (int i = 0; i < f->n; i++)
    if (!strcmp(f->keys[i], key)) return f->vals[i];
  return NULL;
}

void ps_form_free(ps_form_t *f) {
  for (int i = 0; i < f->n; i++) {
    free(f->keys[i]);
    free(f->vals[i]);
  }
  free(f->keys);
  free(f->vals);
  memset(f, 0, sizeof *f);
}

void ps_form_digest(const ps_form_t *f, const char *path, unsigned char out[32]) {
  int *idx = malloc(sizeof(int) * (size_t)(f->n ? f->n : 1));
  crypto_generichash_state st;
  crypto_generichash_init(&st, NULL, 0, 32);
  crypto_generichash_update(&st, (const unsigned char *)path, strlen(path) + 1);
  if (idx) {
    for (int i = 0; i < f->n; i++) idx[i] = i;
    /* insertion sort: forms are small, and no global comparator state */
    for (int i = 1; i < f->n; i++) {
      int x = idx[i], j = i - 1;
      while (j >= 0) {
        int c = strcmp(f->keys[idx[j]], f->keys[x]);
        if (!c) c = strcmp(f->vals[idx[j]], f->vals[x]);
        if (c <= 0) break;
        idx[j + 1] = idx[j];
        j--;
      }
      idx[j + 1] = x;
    }
    for (int i = 0; i < f->n; i++) {
      crypto_generichash_update(&st, (const unsigned char *)f->keys[idx[i]],
                                strlen(f->keys[idx[i]]) + 1);
      crypto_generichash_update(&st, (const unsigned char *)f->vals[idx[i]],
                                strlen(f->vals[idx[i]]) + 1);
    }
    free(idx);
  }
  crypto_generichash_final(&st, out, 32);
}

/* ---- ids and MACs ---- */

void ps_random_id(char *out, size_t len, const char *prefix, int n) {
  static const char alnum[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  size_t p = (size_t)snprintf(out, len, "%s", prefix);
  for (int i = 0; i < n && p + 1 < len; i++) out[p++] = alnum[randombytes_uniform(62)];
  out[p < len ? p : len - 1] = '\0';
}

static void ps_hmac(const char *key, const char *msg, size_t msglen, unsigned char mac[32]) {
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, (const unsigned char *)key, strlen(key));
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, msglen);
  crypto_auth_hmacsha256_final(&st, mac);
}

void ps_hmac_b64(const char *key, const char *msg, size_t msglen, char *out, size_t outlen) {
  unsigned char mac[32];
  ps_hmac(key, msg, msglen, mac);
  sodium_bin2base64(out, outlen, mac, sizeof mac, sodium_base64_VARIANT_ORIGINAL);
}

void ps_hmac_hex(const char *key, const char *msg, size_t msglen, char *out, size_t outlen) {
  unsigned char mac[32];
  ps_hmac(key, msg, msglen, mac);
  sodium_bin2hex(out, outlen, mac, sizeof mac);
}

bool ps_url_origin(const char *url, char *out, size_t len) {
  const char *p;
  if (!strncmp(url, "http://", 7))
    p = url + 7;
  else if (!strncmp(url, "https://", 8))
    p = url + 8;
  else
    return false;
  size_t host = strcspn(p, "/?#");
  if (host == 0) return false;
  for (size_t i = 0; i < host; i++)
    if (p[i] == ' ' || p[i] == ';' || p[i] == '\'' || p[i] == '"' || p[i] == ',') return false;
  int n = snprintf(out, len, "%.*s", (int)(p - url + host), url);
  return n > 0 && (size_t)n < len;
}

int64_t ps_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ps_sleep_ms(int64_t ms) {
  int64_t end = ps_now_ms() + ms;
  while (!ps_stopping) {
    int64_t left = end - ps_now_ms();
    if (left <= 0) break;
    if (left > 50) left = 50;
    struct timespec ts = {0, (long)left * 1000000L};
    nanosleep(&ts, NULL);
  }
}
