/*
 * provider-private.h: what the adapters (linepay.c, stripe.c) share and
 * the unit tests reach: the one HTTP call (libcurl), a bounded string
 * builder, HMAC-SHA256 over several parts, the signature schemes of both
 * providers, and the checks of credentials common to both.  Nothing
 * outside src/server/payments/ includes this.
 */
#ifndef NIMBUS_PROVIDER_PRIVATE_H
#define NIMBUS_PROVIDER_PRIVATE_H

#include "provider.h"

#define PAY_HTTP_BODY_MAX (256 * 1024) /* largest reply body read */
#define PAY_BUF_MAX (64 * 1024)        /* largest request body or URL built */
#define PAY_STRIPE_TOLERANCE 300       /* seconds a webhook's t= may be off */
#define PAY_NONCE_LEN 36               /* a UUID's text */

/* A growable string with a maximum (PAY_BUF_MAX); once an append fails
 * (too long, out of memory) the buffer stays failed and pay_buf_ok()
 * says so, so a builder checks once at the end. */
typedef struct {
  char *data; /* NUL-terminated; NULL until the first append */
  size_t len;
  size_t cap;
  bool failed;
} pay_buf_t;

void pay_buf_add(pay_buf_t *b, const char *s);
void pay_buf_addn(pay_buf_t *b, const char *s, size_t n);
void pay_buf_addf(pay_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s as a JSON string literal, quotes included. */
void pay_buf_add_json_string(pay_buf_t *b, const char *s);
/* "&name=value" (no '&' when b is empty), value percent-encoded. */
void pay_buf_add_form(pay_buf_t *b, const char *name, const char *value);
bool pay_buf_ok(const pay_buf_t *b);
void pay_buf_free(pay_buf_t *b);

/* The reply of one HTTP exchange; body is NUL-terminated (malloc'd, may
 * hold NULs before len). */
typedef struct {
  long status;
  char *body;
  size_t len;
} pay_http_reply_t;

/* One synchronous request: method "GET"/"POST", url (http or https only,
 * no redirect followed), headers a NULL-terminated list of "Name: value"
 * lines (may be NULL), body (NULL: none; for POST sent as is, "" allowed),
 * the timeout of pay_set_http_timeout().  true when an HTTP reply came
 * (whatever its status), with *reply filled (free with
 * pay_http_reply_free); false on a network failure, a timeout or a body
 * over PAY_HTTP_BODY_MAX, with msg saying which (no URL query, no
 * header: nothing secret). */
bool pay_http_request(const char *method, const char *url, const char *const *headers,
                      const char *body, size_t body_len, pay_http_reply_t *reply, char *msg,
                      size_t msglen);
void pay_http_reply_free(pay_http_reply_t *reply);
/* The timeout in seconds every adapter call uses now. */
int pay_http_timeout(void);

/* HMAC-SHA256 with a key of any length over the concatenation of nparts
 * parts (parts[i], lens[i]). */
void pay_hmac_sha256(const void *key, size_t keylen, const void *const *parts, const size_t *lens,
                     size_t nparts, unsigned char out[32]);

/* LINE Pay's X-LINE-Authorization: base64(HMAC-SHA256(secret, secret +
 * path + body_or_query + nonce)), standard base64 with padding, into out
 * (at least 45 bytes). */
void pay_linepay_signature(const char *secret, const char *path, const char *body_or_query,
                           size_t body_len, const char *nonce, char *out, size_t outlen);

/* Stripe's v1 signature: lowercase hex HMAC-SHA256(secret, "<t>.<body>"),
 * out at least 65 bytes. */
void pay_stripe_signature(const char *secret, int64_t t, const char *body, size_t body_len,
                          char out[65]);

/* Check a Stripe-Signature header against the raw body: one t=, one or
 * more v1= (other schemes ignored), |now - t| <= tolerance, and some v1
 * equal to the signature under some secret (compared in constant time).
 * false with msg saying which check failed. */
bool pay_stripe_verify(const char *header, const char *body, size_t body_len,
                       const char secrets[][160], int nsecrets, int64_t now, int64_t tolerance,
                       char *msg, size_t msglen);

/* A UUID v4 of 16 random bytes, lowercase ("xxxxxxxx-xxxx-4xxx-..."),
 * out at least PAY_NONCE_LEN + 1 bytes. */
void pay_nonce(char *out);

/* Credentials checks shared by the adapters (err says what is wrong,
 * never the value).  A token is 1..max-1 printable ASCII characters
 * without space (it goes into a header or a MAC key). */
bool pay_cred_token(const json_t *j, const char *key, bool required, char *dst, size_t size,
                    char *err, size_t errlen);
/* api_base: an http(s) URL without user:pass@, query, fragment or
 * whitespace; a trailing '/' is dropped; def when absent. */
bool pay_cred_api_base(const json_t *j, const char *def, char *dst, size_t size, char *err,
                       size_t errlen);
/* Refuse any key of j not in the NULL-terminated allowed list; "provider"
 * is allowed when it names this adapter. */
bool pay_cred_keys(const json_t *j, const char *provider, const char *const *allowed, char *err,
                   size_t errlen);
/* A secret as the admin may see it back: "…" and its last 4 characters
 * (only "…" for one shorter than 16), after a known non-secret prefix
 * ("sk_test_", "rk_live_"...) when keep_prefix. (new reference) */
json_t *pay_mask_secret(const char *secret, bool keep_prefix);

/* Unit tests only (tests/unit/test-payment-flow.c): from now on
 * pay_provider_find() answers p for p->name instead of the real adapter
 * (NULL: the real ones again).  nimbusd never calls it. */
void pay_provider_set_test_override(const pay_provider_t *p);

/* Our order ids: 1..63 of [A-Za-z0-9_-]. */
bool pay_order_id_valid(const char *s);
/* Copy src into dst (size) when it fits; false otherwise (dst "" then). */
bool pay_copy(char *dst, size_t size, const char *src);
/* printf into msg (may be NULL or 0 long). */
void pay_msg(char *msg, size_t msglen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
