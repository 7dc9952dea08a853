/*
 * test-ipp-hardening.c: unit tests of the IPP hardening helpers:
 *   - ipp-requested.h: requested-attributes deduplicated in place (what
 *     libcups then builds is the same as for the list without repeats),
 *     bounded (TOO_MANY leaves the request untouched);
 *   - ippmem.h: a response built with status-message after the
 *     unsupported attributes is encoded in RFC 8011 group order;
 *   - docinflate.h: gzip (several members), raw deflate, corrupt and
 *     truncated streams, a sink that stops (the size limit).
 * Compressed inputs are made with zlib's own deflate, so the tests do not
 * depend on external files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "docinflate.h"
#include "ipp-requested.h"
#include "ippmem.h"

/* ---- requested-attributes ---- */

static ipp_t *request_with(const char *const *values, int n) {
  ipp_t *req = ippNewRequest(IPP_OP_GET_PRINTER_ATTRIBUTES);
  ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_URI, "printer-uri", NULL, "ipp://x/ipp/print");
  ippAddStrings(req, IPP_TAG_OPERATION, IPP_TAG_KEYWORD, "requested-attributes", n, NULL, values);
  ippAddString(req, IPP_TAG_JOB, IPP_TAG_KEYWORD, "sides", NULL, "one-sided");
  return req;
}

static int requested_count(ipp_t *req) {
  return ippGetCount(ippFindAttribute(req, "requested-attributes", IPP_TAG_KEYWORD));
}

static void test_requested_dedup(void **state) {
  (void)state;
  const char *values[3000];
  for (int i = 0; i < 3000; i++)
    values[i] = i % 3 == 0 ? "all" : i % 3 == 1 ? "job-template" : "printer-description";
  ipp_t *req = request_with(values, 3000);
  assert_int_equal(ipp_requested_normalize(req, IPP_REQUESTED_MAX), IPP_REQUESTED_OK);
  assert_int_equal(requested_count(req), 3);
  /* the set libcups builds is the one of the three keywords */
  const char *three[] = {"all", "job-template", "printer-description"};
  ipp_t *ref = request_with(three, 3);
  cups_array_t *a = ippCreateRequestedArray(req), *b = ippCreateRequestedArray(ref);
  assert_non_null(a);
  assert_int_equal(cupsArrayCount(a), cupsArrayCount(b));
  for (const char *s = cupsArrayFirst(b); s; s = cupsArrayNext(b))
    assert_non_null(cupsArrayFind(a, (void *)s));
  cupsArrayDelete(a);
  cupsArrayDelete(b);
  /* the other attributes are where they were */
  assert_non_null(ippFindAttribute(req, "sides", IPP_TAG_KEYWORD));
  assert_string_equal(ippGetName(ippFirstAttribute(req)), "attributes-charset");
  ippDelete(req);
  ippDelete(ref);
}

static void test_requested_all_repeated_is_all(void **state) {
  (void)state;
  const char *values[1000];
  for (int i = 0; i < 1000; i++) values[i] = "all";
  ipp_t *req = request_with(values, 1000);
  assert_int_equal(ipp_requested_normalize(req, IPP_REQUESTED_MAX), IPP_REQUESTED_OK);
  assert_int_equal(requested_count(req), 1);
  assert_null(ippCreateRequestedArray(req)); /* libcups: NULL means every attribute */
  ippDelete(req);
}

static void test_requested_too_many(void **state) {
  (void)state;
  enum { N = IPP_REQUESTED_MAX + 1 };
  static char names[N][16];
  const char *values[N];
  for (int i = 0; i < N; i++) {
    snprintf(names[i], sizeof names[i], "x-%d", i);
    values[i] = names[i];
  }
  ipp_t *req = request_with(values, N);
  assert_int_equal(ipp_requested_normalize(req, IPP_REQUESTED_MAX), IPP_REQUESTED_TOO_MANY);
  assert_int_equal(requested_count(req), N); /* untouched */
  /* exactly the maximum is fine, and nothing is lost */
  ippDelete(req);
  req = request_with(values, N - 1);
  assert_int_equal(ipp_requested_normalize(req, IPP_REQUESTED_MAX), IPP_REQUESTED_OK);
  assert_int_equal(requested_count(req), N - 1);
  ippDelete(req);
}

static void test_requested_absent_or_not_keyword(void **state) {
  (void)state;
  ipp_t *req = ippNewRequest(IPP_OP_GET_JOBS);
  assert_int_equal(ipp_requested_normalize(req, IPP_REQUESTED_MAX), IPP_REQUESTED_OK);
  const char *v[] = {"a", "a"};
  ippAddStrings(req, IPP_TAG_OPERATION, IPP_TAG_NAME, "requested-attributes", 2, NULL, v);
  assert_int_equal(ipp_requested_normalize(req, IPP_REQUESTED_MAX), IPP_REQUESTED_OK);
  ippDelete(req);
}

/* ---- group order on encoding ---- */

static void test_encode_orders_groups(void **state) {
  (void)state;
  ipp_t *req = ippNewRequest(IPP_OP_PRINT_JOB);
  ipp_t *resp = ippNewResponse(req);
  ippAddString(resp, IPP_TAG_UNSUPPORTED_GROUP, IPP_TAG_KEYWORD, "compression", NULL, "compress");
  ippAddString(resp, IPP_TAG_JOB, IPP_TAG_KEYWORD, "job-state-reasons", NULL, "none");
  ippAddString(resp, IPP_TAG_UNSUPPORTED_GROUP, IPP_TAG_KEYWORD, "sides", NULL, "bogus");
  ippAddString(resp, IPP_TAG_OPERATION, IPP_TAG_TEXT, "status-message", NULL, "refused");
  ippSetStatusCode(resp, IPP_STATUS_ERROR_COMPRESSION_NOT_SUPPORTED);
  assert_false(ippmem_groups_ordered(resp));
  size_t len = 0;
  unsigned char *buf = ippmem_encode(resp, &len);
  assert_non_null(buf);
  /* the bytes: one group of each kind, in order */
  int groups[8], ngroups = 0;
  for (size_t i = 8; i < len;) {
    unsigned char tag = buf[i++];
    if (tag == IPP_TAG_END) break;
    if (tag < 0x10) {
      assert_true(ngroups < 8);
      groups[ngroups++] = tag;
      continue;
    }
    size_t nlen = (size_t)buf[i] << 8 | buf[i + 1];
    i += 2 + nlen;
    size_t vlen = (size_t)buf[i] << 8 | buf[i + 1];
    i += 2 + vlen;
  }
  assert_int_equal(ngroups, 3);
  assert_int_equal(groups[0], IPP_TAG_OPERATION);
  assert_int_equal(groups[1], IPP_TAG_UNSUPPORTED_GROUP);
  assert_int_equal(groups[2], IPP_TAG_JOB);
  /* and libcups reads it back whole */
  ipp_t *back = NULL;
  assert_int_equal(ippmem_decode(buf, len, &back, NULL), 1);
  assert_int_equal(ippGetStatusCode(back), IPP_STATUS_ERROR_COMPRESSION_NOT_SUPPORTED);
  assert_int_equal(ippGetRequestId(back), ippGetRequestId(req));
  ipp_attribute_t *m = ippFindAttribute(back, "status-message", IPP_TAG_TEXT);
  assert_non_null(m);
  assert_int_equal(ippGetGroupTag(m), IPP_TAG_OPERATION);
  assert_non_null(ippFindAttribute(back, "sides", IPP_TAG_KEYWORD));
  assert_true(ippmem_groups_ordered(back));
  ippDelete(back);
  free(buf);
  ippDelete(resp);
  ippDelete(req);
}

/* ---- docinflate ---- */

typedef struct {
  unsigned char *data;
  size_t len, cap, limit;
} sink_t;

static bool sink_put(void *arg, const void *data, size_t len) {
  sink_t *s = arg;
  if (s->len + len > s->limit) return false;
  if (s->len + len > s->cap) {
    s->cap = (s->len + len) * 2;
    s->data = realloc(s->data, s->cap);
    assert_non_null(s->data);
  }
  memcpy(s->data + s->len, data, len);
  s->len += len;
  return true;
}

/* Compress with zlib: windowBits 16+15 gzip, -15 raw deflate. */
static unsigned char *compress_with(const void *in, size_t len, int window_bits, size_t *out_len) {
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
  size_t cap = deflateBound(&zs, (uLong)len) + 64;
  unsigned char *out = malloc(cap);
  zs.next_in = (Bytef *)in;
  zs.avail_in = (uInt)len;
  zs.next_out = out;
  zs.avail_out = (uInt)cap;
  assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
  *out_len = cap - zs.avail_out;
  deflateEnd(&zs);
  return out;
}

static unsigned char *pattern(size_t len) {
  unsigned char *p = malloc(len);
  for (size_t i = 0; i < len; i++) p[i] = (unsigned char)("nimbus print "[i % 13] + i / 4096);
  return p;
}

/* Feed in chunks of `chunk` bytes. */
static docinflate_status_t feed_chunks(docinflate_t *z, const unsigned char *in, size_t len,
                                       size_t chunk, sink_t *s) {
  for (size_t off = 0; off < len; off += chunk) {
    size_t n = len - off < chunk ? len - off : chunk;
    docinflate_status_t st = docinflate_feed(z, in + off, n, sink_put, s);
    if (st != DOCINFLATE_OK) return st;
  }
  return DOCINFLATE_OK;
}

static void test_inflate_gzip_and_deflate(void **state) {
  (void)state;
  size_t len = 300000, clen;
  unsigned char *plain = pattern(len);
  const struct {
    docinflate_kind_t kind;
    int bits;
  } kinds[] = {{DOCINFLATE_GZIP, 16 + 15}, {DOCINFLATE_DEFLATE, -15}};
  const size_t chunks[] = {1, 7, 4096, 1 << 20};
  for (size_t k = 0; k < 2; k++) {
    unsigned char *c = compress_with(plain, len, kinds[k].bits, &clen);
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
      if (chunks[i] == 1 && clen > 20000) continue; /* byte by byte: the small one only */
      sink_t s = {.limit = SIZE_MAX};
      docinflate_t *z = docinflate_new(kinds[k].kind);
      assert_int_equal(feed_chunks(z, c, clen, chunks[i], &s), DOCINFLATE_OK);
      assert_true(docinflate_complete(z));
      assert_int_equal(s.len, len);
      assert_memory_equal(s.data, plain, len);
      docinflate_free(z);
      free(s.data);
    }
    free(c);
  }
  free(plain);
}

static void test_inflate_gzip_members(void **state) {
  (void)state;
  size_t l1, l2;
  unsigned char *a = compress_with("hello ", 6, 31, &l1);
  unsigned char *b = compress_with("world", 5, 31, &l2);
  unsigned char *both = malloc(l1 + l2);
  memcpy(both, a, l1);
  memcpy(both + l1, b, l2);
  sink_t s = {.limit = SIZE_MAX};
  docinflate_t *z = docinflate_new(DOCINFLATE_GZIP);
  assert_int_equal(feed_chunks(z, both, l1 + l2, 3, &s), DOCINFLATE_OK);
  assert_true(docinflate_complete(z));
  assert_int_equal(s.len, 11);
  assert_memory_equal(s.data, "hello world", 11);
  docinflate_free(z);
  free(s.data);
  /* raw deflate: bytes after the end are an error */
  free(a);
  a = compress_with("hello ", 6, -15, &l1);
  memcpy(both, a, l1);
  both[l1] = 'x';
  s = (sink_t){.limit = SIZE_MAX};
  z = docinflate_new(DOCINFLATE_DEFLATE);
  assert_int_equal(docinflate_feed(z, both, l1 + 1, sink_put, &s), DOCINFLATE_CORRUPT);
  assert_false(docinflate_complete(z));
  docinflate_free(z);
  free(s.data);
  free(a);
  free(b);
  free(both);
}

static void test_inflate_corrupt_truncated_bomb(void **state) {
  (void)state;
  sink_t s = {.limit = SIZE_MAX};
  docinflate_t *z = docinflate_new(DOCINFLATE_GZIP);
  assert_int_equal(docinflate_feed(z, "%PDF-1.4\n", 9, sink_put, &s), DOCINFLATE_CORRUPT);
  docinflate_free(z);
  /* truncated: fine so far, but not complete */
  size_t len = 100000, clen;
  unsigned char *plain = pattern(len);
  unsigned char *c = compress_with(plain, len, 31, &clen);
  z = docinflate_new(DOCINFLATE_GZIP);
  assert_int_equal(docinflate_feed(z, c, clen / 2, sink_put, &s), DOCINFLATE_OK);
  assert_false(docinflate_complete(z));
  docinflate_free(z);
  free(s.data);
  free(c);
  free(plain);
  /* a bomb: 50 MB of zeros from about 50 KB stops at the sink's limit */
  len = 50u << 20;
  plain = calloc(1, len);
  c = compress_with(plain, len, 31, &clen);
  free(plain);
  assert_true(clen < len / 500);
  s = (sink_t){.limit = 1u << 20};
  z = docinflate_new(DOCINFLATE_GZIP);
  assert_int_equal(docinflate_feed(z, c, clen, sink_put, &s), DOCINFLATE_STOPPED);
  assert_true(s.len <= s.limit);
  docinflate_free(z);
  free(s.data);
  free(c);
}

static void test_inflate_keywords(void **state) {
  (void)state;
  docinflate_kind_t k;
  assert_true(docinflate_kind_from_keyword("none", &k) && k == DOCINFLATE_NONE);
  assert_true(docinflate_kind_from_keyword("gzip", &k) && k == DOCINFLATE_GZIP);
  assert_true(docinflate_kind_from_keyword("deflate", &k) && k == DOCINFLATE_DEFLATE);
  assert_false(docinflate_kind_from_keyword("compress", &k));
  assert_false(docinflate_kind_from_keyword("GZIP", &k));
  assert_false(docinflate_kind_from_keyword(NULL, &k));
  assert_null(docinflate_new(DOCINFLATE_NONE));
  docinflate_free(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_requested_dedup),
      cmocka_unit_test(test_requested_all_repeated_is_all),
      cmocka_unit_test(test_requested_too_many),
      cmocka_unit_test(test_requested_absent_or_not_keyword),
      cmocka_unit_test(test_encode_orders_groups),
      cmocka_unit_test(test_inflate_gzip_and_deflate),
      cmocka_unit_test(test_inflate_gzip_members),
      cmocka_unit_test(test_inflate_corrupt_truncated_bomb),
      cmocka_unit_test(test_inflate_keywords),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
