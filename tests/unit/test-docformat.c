/*
 * test-docformat.c: unit tests for docformat (sniffing, MIME mapping, page
 * counting).  Sample documents come from $NIMBUS_TEST_DATA (tests/data,
 * made by tests/data/gen/gen.sh); edge cases are built in memory and
 * written to a private temporary directory that the group teardown removes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "docformat.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SYN_MAX (256 * 1024)

static const char *data_dir;
static char tmp_dir[512];

/* A document under construction; bounded, asserts on overflow. */
typedef struct {
  unsigned char *data;
  size_t len;
} syn_t;

/* ---- helpers -------------------------------------------------------- */

static void sample_path(char *out, size_t outlen, const char *name) {
  int n = snprintf(out, outlen, "%s/%s", data_dir, name);
  assert_true(n > 0 && (size_t)n < outlen);
}

/* Read a whole sample into a malloc'd buffer (caller frees). */
static unsigned char *sample_read(const char *name, size_t *len) {
  char path[1024];
  unsigned char *buf;
  FILE *f;
  long size;

  sample_path(path, sizeof(path), name);
  f = fopen(path, "rb");
  assert_non_null(f);
  assert_int_equal(fseek(f, 0, SEEK_END), 0);
  size = ftell(f);
  assert_true(size > 0 && size < 1024 * 1024);
  rewind(f);
  buf = malloc((size_t)size);
  assert_non_null(buf);
  assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
  fclose(f);
  *len = (size_t)size;
  return buf;
}

/* Write bytes to tmp_dir/name; path returned in out. */
static void tmp_write(char *out, size_t outlen, const char *name, const void *buf, size_t len) {
  int n = snprintf(out, outlen, "%s/%s", tmp_dir, name);
  FILE *f;

  assert_true(n > 0 && (size_t)n < outlen);
  f = fopen(out, "wb");
  assert_non_null(f);
  if (len > 0) assert_int_equal(fwrite(buf, 1, len, f), len);
  assert_int_equal(fclose(f), 0);
}

/* Count pages of an in-memory document of format fmt. */
static int count_bytes(docformat_t fmt, const void *buf, size_t len, char *err, size_t errlen) {
  char path[1024];
  tmp_write(path, sizeof(path), "doc.bin", buf, len);
  return docformat_count_pages(fmt, path, NULL, err, errlen);
}

static void syn_init(syn_t *s) {
  s->data = calloc(1, SYN_MAX);
  assert_non_null(s->data);
  s->len = 0;
}

static void syn_free(syn_t *s) {
  free(s->data);
}

static void syn_put(syn_t *s, const void *p, size_t n) {
  assert_true(n <= SYN_MAX - s->len);
  memcpy(s->data + s->len, p, n);
  s->len += n;
}

static void syn_u8(syn_t *s, unsigned v) {
  unsigned char c = (unsigned char)v;
  syn_put(s, &c, 1);
}

static void put_be32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
}

static void syn_be32(syn_t *s, uint32_t v) {
  unsigned char b[4];
  put_be32(b, v);
  syn_put(s, b, 4);
}

/* Append a PWG page header; bpl is derived unless bpl_override != 0. */
typedef struct {
  uint32_t width, height, bpc, bpp, order, res, total, bpl_override;
} pwg_hdr_t;

static void syn_pwg_header(syn_t *s, const pwg_hdr_t *h) {
  unsigned char hdr[1796] = {0};
  uint32_t bpl =
      h->bpl_override ? h->bpl_override : (uint32_t)(((uint64_t)h->width * h->bpp + 7) / 8);
  memcpy(hdr, "PwgRaster", 9);
  put_be32(hdr + 276, h->res);
  put_be32(hdr + 280, h->res);
  put_be32(hdr + 372, h->width);
  put_be32(hdr + 376, h->height);
  put_be32(hdr + 384, h->bpc);
  put_be32(hdr + 388, h->bpp);
  put_be32(hdr + 392, bpl);
  put_be32(hdr + 396, h->order);
  put_be32(hdr + 452, h->total);
  syn_put(s, hdr, sizeof(hdr));
}

/* Default: 8-bit grey 4x2 page. */
static pwg_hdr_t pwg_default(void) {
  pwg_hdr_t h = {.width = 4, .height = 2, .bpc = 8, .bpp = 8, .res = 300};
  return h;
}

/* Lines for a width-4 8-bit page of height 2: both lines = one repeat run. */
static void syn_pwg_simple_lines(syn_t *s) {
  syn_u8(s, 1);    /* line occurs twice */
  syn_u8(s, 3);    /* next pixel 4 times */
  syn_u8(s, 0x80); /* the pixel (value 0x80) */
}

typedef struct {
  uint8_t bpp;
  uint32_t width, height, dpi;
} urf_hdr_t;

static void syn_urf_file(syn_t *s, uint32_t pages) {
  syn_put(s, "UNIRAST", 8);
  syn_be32(s, pages);
}

static void syn_urf_page(syn_t *s, const urf_hdr_t *h) {
  unsigned char hdr[32] = {0};
  hdr[0] = h->bpp;
  hdr[1] = 1; /* sRGB */
  hdr[2] = 1;
  hdr[3] = 4;
  put_be32(hdr + 12, h->width);
  put_be32(hdr + 16, h->height);
  put_be32(hdr + 20, h->dpi);
  syn_put(s, hdr, sizeof(hdr));
}

static urf_hdr_t urf_default(void) {
  urf_hdr_t h = {.bpp = 24, .width = 4, .height = 2, .dpi = 300};
  return h;
}

/* Lines for a width-4 24-bit page of height 2. */
static void syn_urf_simple_lines(syn_t *s) {
  syn_u8(s, 0);   /* line 1 once */
  syn_u8(s, 254); /* 3 literal pixels */
  syn_put(s, "\x01\x02\x03\x04\x05\x06\x07\x08\x09", 9);
  syn_u8(s, 0); /* 1 repeated pixel */
  syn_put(s, "\xff\x00\xff", 3);
  syn_u8(s, 0);   /* line 2 once */
  syn_u8(s, 128); /* all white */
}

/* Expect rejection with a reason containing want (if not NULL). */
static void expect_reject(docformat_t fmt, const syn_t *s, const char *want) {
  char err[256] = "unset";
  int n = count_bytes(fmt, s->data, s->len, err, sizeof(err));
  if (n != -1 || err[0] == '\0' || (want && !strstr(err, want)))
    fail_msg("expected rejection containing \"%s\", got %d / \"%s\"", want ? want : "", n, err);
}

static void expect_pages(docformat_t fmt, const syn_t *s, int pages) {
  char err[256] = "unset";
  int n = count_bytes(fmt, s->data, s->len, err, sizeof(err));
  if (n != pages) fail_msg("expected %d pages, got %d (%s)", pages, n, err);
  assert_string_equal(err, "");
}

/* ---- sniffing ------------------------------------------------------- */

static void test_sniff_samples(void **state) {
  static const struct {
    const char *name;
    docformat_t fmt;
  } cases[] = {
      {"onepage.pdf", DOCFORMAT_PDF},        {"threepage.pdf", DOCFORMAT_PDF},
      {"onepage-30k.pdf", DOCFORMAT_PDF},    {"corrupt.pdf", DOCFORMAT_PDF},
      {"twopage.pwg", DOCFORMAT_PWG_RASTER}, {"twopage.urf", DOCFORMAT_URF},
      {"small.jpg", DOCFORMAT_JPEG},
  };
  (void)state;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    size_t len;
    unsigned char *buf = sample_read(cases[i].name, &len);
    if (docformat_sniff(buf, len) != cases[i].fmt) fail_msg("sniff %s", cases[i].name);
    /* Only the first bytes matter. */
    if (docformat_sniff(buf, len < 16 ? len : 16) != cases[i].fmt)
      fail_msg("sniff 16 bytes of %s", cases[i].name);
    free(buf);
  }
}

static void test_sniff_short_and_garbage(void **state) {
  unsigned char junk[2048];
  (void)state;

  assert_int_equal(docformat_sniff(NULL, 0), DOCFORMAT_UNKNOWN);
  assert_int_equal(docformat_sniff(NULL, 10), DOCFORMAT_UNKNOWN);
  assert_int_equal(docformat_sniff((const unsigned char *)"", 0), DOCFORMAT_UNKNOWN);
  assert_int_equal(docformat_sniff((const unsigned char *)"RaS", 3), DOCFORMAT_UNKNOWN);
  assert_int_equal(docformat_sniff((const unsigned char *)"RaS2", 4), DOCFORMAT_PWG_RASTER);
  /* CUPS raster v1/v3 and byte-swapped sync words are not PWG raster. */
  assert_int_equal(docformat_sniff((const unsigned char *)"RaSt", 4), DOCFORMAT_UNKNOWN);
  assert_int_equal(docformat_sniff((const unsigned char *)"RaS3", 4), DOCFORMAT_UNKNOWN);
  assert_int_equal(docformat_sniff((const unsigned char *)"2SaR", 4), DOCFORMAT_UNKNOWN);
  assert_int_equal(docformat_sniff((const unsigned char *)"UNIRAST", 7), DOCFORMAT_UNKNOWN);
  assert_int_equal(docformat_sniff((const unsigned char *)"UNIRASTX", 8), DOCFORMAT_UNKNOWN);
  assert_int_equal(docformat_sniff((const unsigned char *)"UNIRAST\0\0\0\0\1", 12), DOCFORMAT_URF);
  assert_int_equal(docformat_sniff((const unsigned char *)"\xff\xd8", 2), DOCFORMAT_UNKNOWN);
  assert_int_equal(docformat_sniff((const unsigned char *)"\xff\xd8\xff", 3), DOCFORMAT_JPEG);
  assert_int_equal(docformat_sniff((const unsigned char *)"%PDF", 4), DOCFORMAT_UNKNOWN);
  assert_int_equal(docformat_sniff((const unsigned char *)"%PDF-", 5), DOCFORMAT_PDF);
  assert_int_equal(docformat_sniff((const unsigned char *)"%!PS-Adobe-3.0\n", 15),
                   DOCFORMAT_UNKNOWN);
  assert_int_equal(docformat_sniff((const unsigned char *)"GIF89a", 6), DOCFORMAT_UNKNOWN);
  assert_int_equal(docformat_sniff((const unsigned char *)"\x89PNG\r\n\x1a\n", 8),
                   DOCFORMAT_UNKNOWN);

  /* "%PDF-" after a prefix (e.g. PJL) is found within the first 1 KiB only. */
  memset(junk, 'x', sizeof(junk));
  memcpy(junk + 500, "%PDF-1.7", 8);
  assert_int_equal(docformat_sniff(junk, sizeof(junk)), DOCFORMAT_PDF);
  assert_int_equal(docformat_sniff(junk, 504), DOCFORMAT_UNKNOWN); /* cut inside magic */
  memset(junk, 'x', sizeof(junk));
  memcpy(junk + DOCFORMAT_SNIFF_MAX - 5, "%PDF-", 5);
  assert_int_equal(docformat_sniff(junk, sizeof(junk)), DOCFORMAT_PDF);
  memset(junk, 'x', sizeof(junk));
  memcpy(junk + DOCFORMAT_SNIFF_MAX - 4, "%PDF-", 5);
  assert_int_equal(docformat_sniff(junk, sizeof(junk)), DOCFORMAT_UNKNOWN);

  for (size_t i = 0; i < sizeof(junk); i++) junk[i] = (unsigned char)(i * 131 + 7);
  assert_int_equal(docformat_sniff(junk, sizeof(junk)), DOCFORMAT_UNKNOWN);
}

/* ---- MIME ----------------------------------------------------------- */

static void test_mime_names(void **state) {
  size_t n = 0;
  bool saw_auto = false;
  (void)state;

  assert_string_equal(docformat_mime(DOCFORMAT_PDF), "application/pdf");
  assert_string_equal(docformat_mime(DOCFORMAT_PWG_RASTER), "image/pwg-raster");
  assert_string_equal(docformat_mime(DOCFORMAT_URF), "image/urf");
  assert_string_equal(docformat_mime(DOCFORMAT_JPEG), "image/jpeg");
  assert_null(docformat_mime(DOCFORMAT_UNKNOWN));
  assert_null(docformat_mime((docformat_t)99));

  for (n = 0; docformat_supported[n]; n++) {
    bool is_auto = true;
    docformat_t f = docformat_from_mime(docformat_supported[n], &is_auto);
    if (f == DOCFORMAT_UNKNOWN) {
      assert_string_equal(docformat_supported[n], "application/octet-stream");
      assert_true(is_auto);
      saw_auto = true;
    } else {
      assert_false(is_auto);
      assert_string_equal(docformat_mime(f), docformat_supported[n]);
    }
  }
  assert_int_equal(n, 5);
  assert_true(saw_auto);
}

static void test_mime_mapping(void **state) {
  bool is_auto;
  (void)state;

  is_auto = true;
  assert_int_equal(docformat_from_mime("application/pdf", &is_auto), DOCFORMAT_PDF);
  assert_false(is_auto);
  assert_int_equal(docformat_from_mime("APPLICATION/PDF", &is_auto), DOCFORMAT_PDF);
  assert_int_equal(docformat_from_mime("Image/PWG-Raster", &is_auto), DOCFORMAT_PWG_RASTER);
  assert_int_equal(docformat_from_mime("image/urf", &is_auto), DOCFORMAT_URF);
  assert_int_equal(docformat_from_mime("image/JPEG", &is_auto), DOCFORMAT_JPEG);
  assert_int_equal(docformat_from_mime("application/pdf; charset=binary", &is_auto), DOCFORMAT_PDF);
  assert_int_equal(docformat_from_mime("image/urf;", &is_auto), DOCFORMAT_URF);
  assert_int_equal(docformat_from_mime("  image/jpeg \t; q=1", &is_auto), DOCFORMAT_JPEG);
  assert_false(is_auto);

  is_auto = false;
  assert_int_equal(docformat_from_mime("application/octet-stream", &is_auto), DOCFORMAT_UNKNOWN);
  assert_true(is_auto);
  is_auto = false;
  assert_int_equal(docformat_from_mime("Application/Octet-Stream; x=y", &is_auto),
                   DOCFORMAT_UNKNOWN);
  assert_true(is_auto);
  assert_int_equal(docformat_from_mime("application/octet-stream", NULL), DOCFORMAT_UNKNOWN);
  assert_int_equal(docformat_from_mime("application/pdf", NULL), DOCFORMAT_PDF);

  static const char *const unsupported[] = {
      "text/plain",
      "application/postscript",
      "image/png",
      "application/pdfx",
      "application/pd",
      "image/jpg",
      "",
      ";",
      "application/octet-streamx",
      "image /jpeg",
  };
  for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++) {
    is_auto = true;
    if (docformat_from_mime(unsupported[i], &is_auto) != DOCFORMAT_UNKNOWN || is_auto)
      fail_msg("\"%s\" should be unsupported and not auto", unsupported[i]);
  }
  is_auto = true;
  assert_int_equal(docformat_from_mime(NULL, &is_auto), DOCFORMAT_UNKNOWN);
  assert_false(is_auto);
}

/* ---- page counting: samples ----------------------------------------- */

static void test_count_samples(void **state) {
  static const struct {
    const char *name;
    docformat_t fmt;
    int pages;
  } cases[] = {
      {"onepage.pdf", DOCFORMAT_PDF, 1},     {"threepage.pdf", DOCFORMAT_PDF, 3},
      {"onepage-30k.pdf", DOCFORMAT_PDF, 1}, {"twopage.pwg", DOCFORMAT_PWG_RASTER, 2},
      {"twopage.urf", DOCFORMAT_URF, 2},     {"small.jpg", DOCFORMAT_JPEG, 1},
  };
  (void)state;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char path[1024], err[256] = "unset";
    int n;
    sample_path(path, sizeof(path), cases[i].name);
    n = docformat_count_pages(cases[i].fmt, path, NULL, err, sizeof(err));
    if (n != cases[i].pages)
      fail_msg("%s: expected %d pages, got %d (%s)", cases[i].name, cases[i].pages, n, err);
    assert_string_equal(err, "");
    /* err is optional. */
    assert_int_equal(docformat_count_pages(cases[i].fmt, path, NULL, NULL, 0), cases[i].pages);
  }
}

/* A docformat_read_fn source over memory, in chunks of at most `chunk`
 * bytes; fail_at >= 0 makes reads from that offset on fail with EIO. */
typedef struct {
  const unsigned char *data;
  size_t len, pos, chunk;
  long fail_at;
} mem_source_t;

static ssize_t mem_read(void *ctx, void *buf, size_t len) {
  mem_source_t *m = ctx;
  if (m->fail_at >= 0 && m->pos >= (size_t)m->fail_at) {
    errno = EIO;
    return -1;
  }
  if (len > m->chunk) len = m->chunk;
  if (len > m->len - m->pos) len = m->len - m->pos;
  memcpy(buf, m->data + m->pos, len);
  m->pos += len;
  return (ssize_t)len;
}

/* docformat_count_pages_stream: the raster and JPEG samples counted from
 * a sequential source in odd small chunks give the file counts; a read
 * error is reported as one; PDF is refused (it needs contiguous memory). */
static void test_count_stream(void **state) {
  static const struct {
    const char *name;
    docformat_t fmt;
    int pages;
  } cases[] = {{"twopage.pwg", DOCFORMAT_PWG_RASTER, 2},
               {"twopage.urf", DOCFORMAT_URF, 2},
               {"small.jpg", DOCFORMAT_JPEG, 1}};
  (void)state;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char path[1024], err[256] = "unset";
    sample_path(path, sizeof(path), cases[i].name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static unsigned char buf[SYN_MAX];
    size_t len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    assert_true(len > 0 && len < sizeof(buf));
    mem_source_t m = {buf, len, 0, 7, -1};
    assert_int_equal(docformat_count_pages_stream(cases[i].fmt, mem_read, &m, NULL, err,
                                                  sizeof(err)),
                     cases[i].pages);
    assert_string_equal(err, "");
    mem_source_t broken = {buf, len, 0, 4096, (long)len / 2};
    assert_int_equal(docformat_count_pages_stream(cases[i].fmt, mem_read, &broken, NULL, err,
                                                  sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "cannot read document"));
  }
  mem_source_t pdf = {(const unsigned char *)"%PDF-1.4\n", 9, 0, 9, -1};
  assert_int_equal(docformat_count_pages_stream(DOCFORMAT_PDF, mem_read, &pdf, NULL, NULL, 0), -1);
}

static void test_sample_sizes(void **state) {
  static const char *const names[] = {"onepage.pdf", "threepage.pdf",  "corrupt.pdf",
                                      "nopages.pdf", "twopage.pwg",    "twopage.urf",
                                      "small.jpg",   "onepage-30k.pdf"};
  char path[1024];
  struct stat st;
  (void)state;
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    sample_path(path, sizeof(path), names[i]);
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_size > 0 && st.st_size < 40 * 1024);
  }
  sample_path(path, sizeof(path), "onepage-30k.pdf");
  assert_int_equal(stat(path, &st), 0);
  assert_true(st.st_size >= 28 * 1024 && st.st_size <= 32 * 1024);
}

static void test_count_bad_pdf(void **state) {
  char path[1024], err[256];
  unsigned char *buf;
  size_t len;
  (void)state;

  sample_path(path, sizeof(path), "corrupt.pdf");
  assert_int_equal(docformat_count_pages(DOCFORMAT_PDF, path, NULL, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "invalid PDF"));

  sample_path(path, sizeof(path), "nopages.pdf");
  assert_int_equal(docformat_count_pages(DOCFORMAT_PDF, path, NULL, err, sizeof(err)), -1);
  assert_string_equal(err, "PDF has no pages");

  /* The reason never names the file. */
  buf = sample_read("corrupt.pdf", &len);
  tmp_write(path, sizeof(path), "secret-upload-name.pdf", buf, len);
  free(buf);
  assert_int_equal(docformat_count_pages(DOCFORMAT_PDF, path, NULL, err, sizeof(err)), -1);
  assert_true(err[0] != '\0');
  assert_null(strstr(err, "secret"));
  assert_null(strchr(err, '\n'));

  /* Other formats and garbage are not PDF. */
  sample_path(path, sizeof(path), "small.jpg");
  assert_int_equal(docformat_count_pages(DOCFORMAT_PDF, path, NULL, err, sizeof(err)), -1);
  assert_true(err[0] != '\0');
  {
    unsigned char junk[4096];
    for (size_t i = 0; i < sizeof(junk); i++) junk[i] = (unsigned char)(i * 131 + 7);
    assert_int_equal(count_bytes(DOCFORMAT_PDF, junk, sizeof(junk), err, sizeof(err)), -1);
    assert_int_equal(count_bytes(DOCFORMAT_PDF, "", 0, err, sizeof(err)), -1);
  }
}

/* A PDF whose cross-reference table is cut off is repaired (a full scan)
 * when small; past DOCFORMAT_PDF_REPAIR_MAX it must be intact, so the
 * same damage is refused instead of costing minutes of CPU. */
static void test_pdf_repair_only_small(void **state) {
  char path[1024], err[256];
  size_t len;
  unsigned char *buf = sample_read("threepage.pdf", &len);
  (void)state;

  /* cut just before "xref": objects intact, no table, no trailer */
  size_t cut = 0;
  for (size_t i = len - 4; i-- > 0;)
    if (memcmp(buf + i, "xref", 4) == 0) {
      cut = i;
      break;
    }
  assert_true(cut > 0);
  tmp_write(path, sizeof(path), "no-xref.pdf", buf, cut);
  assert_int_equal(docformat_count_pages(DOCFORMAT_PDF, path, NULL, err, sizeof(err)), 3);

  /* the same, padded past the repair limit with comment lines */
  FILE *f = fopen(path, "ab");
  assert_non_null(f);
  static const char pad[] = "% padding padding padding padding padding padding padding\n";
  for (long long w = 0; w <= DOCFORMAT_PDF_REPAIR_MAX; w += (long long)sizeof pad - 1)
    fputs(pad, f);
  fclose(f);
  assert_int_equal(docformat_count_pages(DOCFORMAT_PDF, path, NULL, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "invalid PDF"));
  unlink(path);
  free(buf);
}

/* ---- PDF limits (issue 8 item 10) ------------------------------------ */

/* A PDF with a classic cross-reference table; objs[i] is object i + 1 and
 * the catalog is object 1.  Returns a malloc'd file, its length in *len. */
static char *pdf_classic(const char *const *objs, int n, size_t *len) {
  char *buf = NULL;
  long offsets[512];
  FILE *f = open_memstream(&buf, len);

  assert_non_null(f);
  assert_true(n < 512);
  fputs("%PDF-1.4\n", f);
  for (int i = 0; i < n; i++) {
    offsets[i] = ftell(f);
    fprintf(f, "%d 0 obj\n%s\nendobj\n", i + 1, objs[i]);
  }
  long xref = ftell(f);
  fprintf(f, "xref\n0 %d\n0000000000 65535 f \n", n + 1);
  for (int i = 0; i < n; i++) fprintf(f, "%010ld 00000 n \n", offsets[i]);
  fprintf(f, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%ld\n%%%%EOF\n", n + 1, xref);
  assert_int_equal(fclose(f), 0);
  return buf;
}

/* A PDF 1.5 whose catalog (2) and page tree (3) sit in object stream 1,
 * unfiltered and followed by pad blanks; page 4; cross-reference stream 5. */
static char *pdf_objstm(size_t pad, size_t *len) {
  static const char o2[] = "<< /Type /Catalog /Pages 3 0 R >>\n";
  static const char o3[] = "<< /Type /Pages /Kids [4 0 R] /Count 1 >>\n";
  char head[33], *buf = NULL;
  long off1, off4, off5;
  FILE *f = open_memstream(&buf, len);

  assert_non_null(f);
  snprintf(head, sizeof head, "%-32s", "2 0 3 34");
  assert_int_equal(strlen(o2), 34);
  fputs("%PDF-1.5\n", f);
  off1 = ftell(f);
  fprintf(f, "1 0 obj\n<< /Type /ObjStm /N 2 /First 32 /Length %zu >>\nstream\n%s%s%s",
          32 + strlen(o2) + strlen(o3) + pad, head, o2, o3);
  for (size_t i = 0; i < pad; i++) fputc(' ', f);
  fputs("\nendstream\nendobj\n", f);
  off4 = ftell(f);
  fputs("4 0 obj\n<< /Type /Page /Parent 3 0 R /MediaBox [0 0 612 792] >>\nendobj\n", f);
  off5 = ftell(f);
  unsigned char rows[6][7] = {{0, 0, 0, 0, 0, 0xff, 0xff}};
  long offs[6] = {0, off1, 0, 0, off4, off5};
  for (int i = 1; i < 6; i++) {
    bool in_stream = i == 2 || i == 3;
    rows[i][0] = in_stream ? 2 : 1;
    put_be32(rows[i] + 1, in_stream ? 1u : (uint32_t)offs[i]);
    rows[i][5] = 0;
    rows[i][6] = in_stream ? (unsigned char)(i - 2) : 0;
  }
  fprintf(f, "5 0 obj\n<< /Type /XRef /Size 6 /W [1 4 2] /Root 2 0 R /Length %zu >>\nstream\n",
          sizeof rows);
  fwrite(rows, 1, sizeof rows, f);
  fprintf(f, "\nendstream\nendobj\nstartxref\n%ld\n%%%%EOF\n", off5);
  assert_int_equal(fclose(f), 0);
  return buf;
}

/* Count a PDF in memory and from a file, expecting the same result. */
static int count_pdf_both(const char *pdf, size_t len, const docformat_limits_t *lim, char *err,
                          size_t errlen) {
  char path[1024];
  int from_memory = docformat_count_pdf_pages_memory(pdf, len, lim, err, errlen);
  tmp_write(path, sizeof(path), "limits.pdf", pdf, len);
  int from_file = docformat_count_pages(DOCFORMAT_PDF, path, lim, err, errlen);
  assert_int_equal(from_memory, from_file);
  return from_file;
}

/* One page listed 50 times is 50 pages; one more than the limit is refused
 * by the limit, without copying pages. */
static void test_pdf_page_limit(void **state) {
  char kids[50 * 6 + 64], pages[512], err[256];
  docformat_limits_t lim = docformat_default_limits;
  size_t len;
  (void)state;

  kids[0] = '\0';
  for (int i = 0; i < 50; i++) strcat(kids, "3 0 R ");
  snprintf(pages, sizeof pages, "<< /Type /Pages /Kids [%s] /Count 50 >>", kids);
  const char *objs[] = {"<< /Type /Catalog /Pages 2 0 R >>", pages,
                        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"};
  char *pdf = pdf_classic(objs, 3, &len);
  assert_int_equal(count_pdf_both(pdf, len, NULL, err, sizeof(err)), 50);
  lim.max_pages = 50;
  assert_int_equal(count_pdf_both(pdf, len, &lim, err, sizeof(err)), 50);
  lim.max_pages = 49;
  assert_int_equal(count_pdf_both(pdf, len, &lim, err, sizeof(err)), DOCFORMAT_LIMIT);
  assert_string_equal(err, "document has more than 49 pages (the limit)");
  free(pdf);

  /* raster formats have the same limit */
  char path[1024];
  sample_path(path, sizeof(path), "twopage.pwg");
  lim.max_pages = 1;
  assert_int_equal(docformat_count_pages(DOCFORMAT_PWG_RASTER, path, &lim, err, sizeof(err)),
                   DOCFORMAT_LIMIT);
  assert_non_null(strstr(err, "more than 1 pages"));
  sample_path(path, sizeof(path), "twopage.urf");
  assert_int_equal(docformat_count_pages(DOCFORMAT_URF, path, &lim, err, sizeof(err)),
                   DOCFORMAT_LIMIT);
  lim.max_pages = 2;
  assert_int_equal(docformat_count_pages(DOCFORMAT_URF, path, &lim, err, sizeof(err)), 2);
}

/* A chain of page tree nodes: 200 levels count, 300 are refused; a node
 * that is its own kid is a loop. */
static void test_pdf_tree_depth_and_loop(void **state) {
  static const char *const objs_loop[] = {"<< /Type /Catalog /Pages 2 0 R >>",
                                          "<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 1 >>",
                                          "<< /Type /Page /MediaBox [0 0 612 792] >>"};
  const int depths[] = {200, 300};
  char err[256];
  size_t len;
  (void)state;

  for (size_t d = 0; d < 2; d++) {
    int n = depths[d];
    char **objs = calloc((size_t)n + 2, sizeof *objs);
    assert_non_null(objs);
    objs[0] = strdup("<< /Type /Catalog /Pages 2 0 R >>");
    for (int i = 0; i < n; i++) {
      objs[i + 1] = malloc(64);
      snprintf(objs[i + 1], 64, "<< /Type /Pages /Kids [%d 0 R] /Count 1 >>", i + 3);
    }
    objs[n + 1] = strdup("<< /Type /Page /MediaBox [0 0 612 792] >>");
    char *pdf = pdf_classic((const char *const *)objs, n + 2, &len);
    int pages = count_pdf_both(pdf, len, NULL, err, sizeof(err));
    if (n <= DOCFORMAT_PDF_MAX_DEPTH) {
      assert_int_equal(pages, 1);
    } else {
      assert_int_equal(pages, DOCFORMAT_LIMIT);
      assert_non_null(strstr(err, "nested more than 256 levels"));
    }
    for (int i = 0; i < n + 2; i++) free(objs[i]);
    free(objs);
    free(pdf);
  }

  char *pdf = pdf_classic(objs_loop, 3, &len);
  assert_int_equal(count_pdf_both(pdf, len, NULL, err, sizeof(err)), DOCFORMAT_ERROR);
  assert_non_null(strstr(err, "loop"));
  free(pdf);
}

/* More objects than the limit are refused before any is read. */
static void test_pdf_object_limit(void **state) {
  static const char *const objs[] = {"<< /Type /Catalog /Pages 2 0 R >>",
                                     "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                                     "<< /Type /Page /MediaBox [0 0 612 792] >>"};
  docformat_limits_t lim = docformat_default_limits;
  char err[256];
  size_t len;
  char *pdf = pdf_classic(objs, 3, &len); /* /Size 4: three objects and the free head */
  (void)state;

  lim.max_objects = 4;
  assert_int_equal(count_pdf_both(pdf, len, &lim, err, sizeof(err)), 1);
  lim.max_objects = 3;
  assert_int_equal(count_pdf_both(pdf, len, &lim, err, sizeof(err)), DOCFORMAT_LIMIT);
  assert_string_equal(err, "PDF has more than 3 objects (the limit)");
  free(pdf);
}

/* The decoded size of object streams is measured before any object is
 * read from one; qpdf's own allocations stay within the memory budget,
 * and the next count starts with a fresh budget. */
static void test_pdf_inflate_and_memory(void **state) {
  docformat_limits_t lim = docformat_default_limits;
  char err[256], path[1024];
  size_t len;
  (void)state;

  char *pdf = pdf_objstm(200 * 1024, &len);
  assert_int_equal(count_pdf_both(pdf, len, NULL, err, sizeof(err)), 1);
  lim.max_inflate = 64 * 1024;
  assert_int_equal(count_pdf_both(pdf, len, &lim, err, sizeof(err)), DOCFORMAT_LIMIT);
  assert_string_equal(err, "PDF object streams decompress to more than 64 KiB (the limit)");
  free(pdf);

  pdf = pdf_objstm(3 * 1024 * 1024, &len);
  lim = docformat_default_limits;
  assert_int_equal(count_pdf_both(pdf, len, &lim, err, sizeof(err)), 1);
  lim.max_memory = 1024 * 1024;
  assert_int_equal(count_pdf_both(pdf, len, &lim, err, sizeof(err)), DOCFORMAT_LIMIT);
  assert_string_equal(err, "PDF needs more than 1 MiB of memory to read (the limit)");
  free(pdf);

  sample_path(path, sizeof(path), "threepage.pdf");
  assert_int_equal(docformat_count_pages(DOCFORMAT_PDF, path, NULL, err, sizeof(err)), 3);
  assert_string_equal(err, "");
}

/* Every proper prefix of a raster or JPEG sample must be rejected.  The
 * file is written once and cut shorter byte by byte. */
static void check_all_prefixes_rejected(const char *name, docformat_t fmt) {
  size_t len;
  unsigned char *buf = sample_read(name, &len);
  char path[1024], err[256];

  tmp_write(path, sizeof(path), "prefix.bin", buf, len);
  for (size_t cut = len; cut-- > 0;) {
    int n;
    assert_int_equal(truncate(path, (off_t)cut), 0);
    n = docformat_count_pages(fmt, path, NULL, err, sizeof(err));
    if (n != -1 || err[0] == '\0') fail_msg("%s cut at %zu: got %d", name, cut, n);
  }
  free(buf);
}

static void test_truncated_pwg(void **state) {
  (void)state;
  check_all_prefixes_rejected("twopage.pwg", DOCFORMAT_PWG_RASTER);
}

static void test_truncated_urf(void **state) {
  (void)state;
  check_all_prefixes_rejected("twopage.urf", DOCFORMAT_URF);
}

static void test_truncated_jpeg(void **state) {
  (void)state;
  check_all_prefixes_rejected("small.jpg", DOCFORMAT_JPEG);
}

static void test_wrong_format(void **state) {
  static const struct {
    const char *name;
    docformat_t as;
  } cases[] = {
      {"onepage.pdf", DOCFORMAT_PWG_RASTER}, {"onepage.pdf", DOCFORMAT_URF},
      {"onepage.pdf", DOCFORMAT_JPEG},       {"twopage.pwg", DOCFORMAT_URF},
      {"twopage.pwg", DOCFORMAT_JPEG},       {"twopage.pwg", DOCFORMAT_PDF},
      {"twopage.urf", DOCFORMAT_PWG_RASTER}, {"twopage.urf", DOCFORMAT_PDF},
      {"small.jpg", DOCFORMAT_URF},          {"small.jpg", DOCFORMAT_PWG_RASTER},
      {"onepage.pdf", DOCFORMAT_UNKNOWN},
  };
  (void)state;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char path[1024], err[256] = "";
    sample_path(path, sizeof(path), cases[i].name);
    if (docformat_count_pages(cases[i].as, path, NULL, err, sizeof(err)) != -1 || err[0] == '\0')
      fail_msg("%s accepted as format %d", cases[i].name, (int)cases[i].as);
  }
}

static void test_count_file_errors(void **state) {
  char path[1024], err[256], small[12];
  (void)state;

  snprintf(path, sizeof(path), "%s/no-such-secret-file", tmp_dir);
  assert_int_equal(docformat_count_pages(DOCFORMAT_URF, path, NULL, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "cannot open document"));
  assert_null(strstr(err, "secret"));
  assert_int_equal(docformat_count_pages(DOCFORMAT_PDF, path, NULL, err, sizeof(err)), -1);
  assert_null(strstr(err, "secret"));

  assert_int_equal(docformat_count_pages(DOCFORMAT_PWG_RASTER, tmp_dir, NULL, err, sizeof(err)),
                   -1);
  assert_string_equal(err, "document is not a regular file");
  assert_int_equal(docformat_count_pages(DOCFORMAT_PDF, tmp_dir, NULL, err, sizeof(err)), -1);

  assert_int_equal(docformat_count_pages(DOCFORMAT_PDF, NULL, NULL, err, sizeof(err)), -1);
  assert_true(err[0] != '\0');

  /* A short err buffer is truncated and terminated; NULL/0 is allowed. */
  sample_path(path, sizeof(path), "corrupt.pdf");
  memset(small, 'Z', sizeof(small));
  assert_int_equal(docformat_count_pages(DOCFORMAT_PDF, path, NULL, small, sizeof(small)), -1);
  assert_int_equal(strlen(small), sizeof(small) - 1);
  assert_int_equal(docformat_count_pages(DOCFORMAT_PDF, path, NULL, NULL, 0), -1);
  assert_int_equal(docformat_count_pages(DOCFORMAT_JPEG, path, NULL, small, 1), -1);
  assert_int_equal(small[0], '\0');
}

/* ---- PWG raster, synthetic ------------------------------------------ */

static void test_pwg_valid_variants(void **state) {
  syn_t s;
  pwg_hdr_t h;
  (void)state;
  syn_init(&s);

  /* Three pages, TotalPageCount unknown (0). */
  syn_put(&s, "RaS2", 4);
  for (int p = 0; p < 3; p++) {
    h = pwg_default();
    syn_pwg_header(&s, &h);
    syn_pwg_simple_lines(&s);
  }
  expect_pages(DOCFORMAT_PWG_RASTER, &s, 3);

  /* 1-bit: runs count bytes (10 pixels = 2 bytes per line). */
  s.len = 0;
  syn_put(&s, "RaS2", 4);
  h = (pwg_hdr_t){.width = 10, .height = 3, .bpc = 1, .bpp = 1, .res = 600, .total = 1};
  syn_pwg_header(&s, &h);
  syn_u8(&s, 1);   /* lines 1-2 */
  syn_u8(&s, 255); /* 2 literal bytes */
  syn_put(&s, "\xaa\x55", 2);
  syn_u8(&s, 0); /* line 3 */
  syn_u8(&s, 1); /* byte repeated twice */
  syn_u8(&s, 0xff);
  expect_pages(DOCFORMAT_PWG_RASTER, &s, 1);

  /* 16-bit RGB (6-byte pixels), 128 = rest of line blank, max repeat. */
  s.len = 0;
  syn_put(&s, "RaS2", 4);
  h = (pwg_hdr_t){.width = 300, .height = 256, .bpc = 16, .bpp = 48, .res = 300, .total = 1};
  syn_pwg_header(&s, &h);
  syn_u8(&s, 255); /* 256 lines */
  syn_u8(&s, 127); /* 128 pixels of one value */
  syn_put(&s, "123456", 6);
  syn_u8(&s, 129); /* 128 literal pixels */
  for (int i = 0; i < 128; i++) syn_put(&s, "abcdef", 6);
  syn_u8(&s, 128); /* remaining 44 blank */
  expect_pages(DOCFORMAT_PWG_RASTER, &s, 1);

  syn_free(&s);
}

static void test_pwg_bad_headers(void **state) {
  static const struct {
    pwg_hdr_t h;
    const char *why;
  } cases[] = {
      {{.width = 4, .height = 2, .bpc = 8, .bpp = 8, .res = 300, .order = 1}, "chunky"},
      {{.width = 4, .height = 2, .bpc = 3, .bpp = 3, .res = 300}, "bits per colour"},
      {{.width = 4, .height = 2, .bpc = 0, .bpp = 8, .res = 300}, "bits per colour"},
      {{.width = 4, .height = 2, .bpc = 8, .bpp = 12, .res = 300}, "bits per pixel"},
      {{.width = 4, .height = 2, .bpc = 8, .bpp = 4, .res = 300}, "bits per pixel"},
      {{.width = 4, .height = 2, .bpc = 1, .bpp = 2, .res = 300}, "bits per pixel"},
      {{.width = 4, .height = 2, .bpc = 16, .bpp = 256, .res = 300}, "bits per pixel"},
      {{.width = 0, .height = 2, .bpc = 8, .bpp = 8, .res = 300}, "invalid size"},
      {{.width = 4, .height = 0, .bpc = 8, .bpp = 8, .res = 300}, "invalid size"},
      {{.width = 0x1000000, .height = 2, .bpc = 8, .bpp = 8, .res = 300}, "invalid size"},
      {{.width = 4, .height = 0x1000000, .bpc = 8, .bpp = 8, .res = 300}, "invalid size"},
      {{.width = 4, .height = 2, .bpc = 8, .bpp = 8, .res = 0}, "resolution"},
      {{.width = 4, .height = 2, .bpc = 8, .bpp = 8, .res = 300, .bpl_override = 5},
       "bytes per line"},
      {{.width = 0xffffff, .height = 2, .bpc = 8, .bpp = 24, .res = 300}, "bytes per line"},
  };
  syn_t s;
  (void)state;
  syn_init(&s);

  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    s.len = 0;
    syn_put(&s, "RaS2", 4);
    syn_pwg_header(&s, &cases[i].h);
    syn_pwg_simple_lines(&s);
    expect_reject(DOCFORMAT_PWG_RASTER, &s, cases[i].why);
  }

  /* Bad sync words and an empty stream. */
  s.len = 0;
  syn_put(&s, "RaSt", 4);
  expect_reject(DOCFORMAT_PWG_RASTER, &s, "sync word");
  s.len = 0;
  syn_put(&s, "RaS2", 4);
  expect_reject(DOCFORMAT_PWG_RASTER, &s, "no pages");

  syn_free(&s);
}

static void test_pwg_bad_data(void **state) {
  syn_t s;
  pwg_hdr_t h = pwg_default();
  (void)state;
  syn_init(&s);

  /* Line repeat past the end of the page (3 lines in a 2-line page). */
  syn_put(&s, "RaS2", 4);
  syn_pwg_header(&s, &h);
  syn_u8(&s, 2);
  syn_u8(&s, 3);
  syn_u8(&s, 0);
  expect_reject(DOCFORMAT_PWG_RASTER, &s, "line repeat");

  /* Repeat run longer than the line (5 pixels in 4). */
  s.len = 0;
  syn_put(&s, "RaS2", 4);
  syn_pwg_header(&s, &h);
  syn_u8(&s, 1);
  syn_u8(&s, 4);
  syn_u8(&s, 0);
  expect_reject(DOCFORMAT_PWG_RASTER, &s, "overflows");

  /* Literal run longer than the rest of the line (3 + 2 in 4). */
  s.len = 0;
  syn_put(&s, "RaS2", 4);
  syn_pwg_header(&s, &h);
  syn_u8(&s, 1);
  syn_u8(&s, 254);
  syn_put(&s, "abc", 3);
  syn_u8(&s, 255);
  syn_put(&s, "de", 2);
  expect_reject(DOCFORMAT_PWG_RASTER, &s, "overflows");

  /* Trailing bytes after the last page. */
  s.len = 0;
  syn_put(&s, "RaS2", 4);
  syn_pwg_header(&s, &h);
  syn_pwg_simple_lines(&s);
  syn_put(&s, "junk", 4);
  expect_reject(DOCFORMAT_PWG_RASTER, &s, "truncated");

  /* TotalPageCount disagrees with the pages present. */
  s.len = 0;
  syn_put(&s, "RaS2", 4);
  h.total = 3;
  for (int p = 0; p < 2; p++) {
    syn_pwg_header(&s, &h);
    syn_pwg_simple_lines(&s);
  }
  expect_reject(DOCFORMAT_PWG_RASTER, &s, "declares 3 pages");
  h.total = 2;
  s.len = 0;
  syn_put(&s, "RaS2", 4);
  for (int p = 0; p < 2; p++) {
    syn_pwg_header(&s, &h);
    syn_pwg_simple_lines(&s);
  }
  expect_pages(DOCFORMAT_PWG_RASTER, &s, 2);

  syn_free(&s);
}

/* ---- URF, synthetic ------------------------------------------------- */

static void test_urf_valid_variants(void **state) {
  syn_t s;
  urf_hdr_t h = urf_default();
  (void)state;
  syn_init(&s);

  /* Declared count 0 (unknown): counted to the end. */
  syn_urf_file(&s, 0);
  for (int p = 0; p < 3; p++) {
    syn_urf_page(&s, &h);
    syn_urf_simple_lines(&s);
  }
  expect_pages(DOCFORMAT_URF, &s, 3);

  /* A page whose lines are 16 MB wide costs no memory to check. */
  s.len = 0;
  syn_urf_file(&s, 1);
  h = (urf_hdr_t){.bpp = 8, .width = 0xffffff, .height = 1000, .dpi = 600};
  syn_urf_page(&s, &h);
  for (int i = 0; i < 4; i++) {
    syn_u8(&s, 249); /* 250 lines */
    syn_u8(&s, 128);
  }
  expect_pages(DOCFORMAT_URF, &s, 1);

  /* 16-bit grey and 16-bit CMYK pixels. */
  s.len = 0;
  syn_urf_file(&s, 2);
  h = (urf_hdr_t){.bpp = 16, .width = 3, .height = 1, .dpi = 300};
  syn_urf_page(&s, &h);
  syn_u8(&s, 0);
  syn_u8(&s, 2);
  syn_put(&s, "\x12\x34", 2);
  h = (urf_hdr_t){.bpp = 64, .width = 2, .height = 1, .dpi = 300};
  syn_urf_page(&s, &h);
  syn_u8(&s, 0);
  syn_u8(&s, 255);
  syn_put(&s, "0123456789abcdef", 16);
  expect_pages(DOCFORMAT_URF, &s, 2);

  syn_free(&s);
}

static void test_urf_bad(void **state) {
  static const struct {
    urf_hdr_t h;
    const char *why;
  } cases[] = {
      {{.bpp = 12, .width = 4, .height = 2, .dpi = 300}, "bits per pixel"},
      {{.bpp = 1, .width = 4, .height = 2, .dpi = 300}, "bits per pixel"},
      {{.bpp = 0, .width = 4, .height = 2, .dpi = 300}, "bits per pixel"},
      {{.bpp = 24, .width = 0, .height = 2, .dpi = 300}, "invalid size"},
      {{.bpp = 24, .width = 4, .height = 0, .dpi = 300}, "invalid size"},
      {{.bpp = 24, .width = 0x1000000, .height = 2, .dpi = 300}, "invalid size"},
      {{.bpp = 24, .width = 4, .height = 2, .dpi = 0}, "resolution"},
      {{.bpp = 24, .width = 0xffffff, .height = 2, .dpi = 300}, "too long"},
  };
  syn_t s;
  urf_hdr_t h = urf_default();
  (void)state;
  syn_init(&s);

  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    s.len = 0;
    syn_urf_file(&s, 1);
    syn_urf_page(&s, &cases[i].h);
    syn_urf_simple_lines(&s);
    expect_reject(DOCFORMAT_URF, &s, cases[i].why);
  }

  /* Magic without its NUL, and no pages at all. */
  s.len = 0;
  syn_put(&s, "UNIRASTX\0\0\0\1", 12);
  expect_reject(DOCFORMAT_URF, &s, "file header");
  s.len = 0;
  syn_urf_file(&s, 0);
  expect_reject(DOCFORMAT_URF, &s, "no pages");

  /* Declared page count disagrees (more, then fewer, than present). */
  s.len = 0;
  syn_urf_file(&s, 2);
  syn_urf_page(&s, &h);
  syn_urf_simple_lines(&s);
  expect_reject(DOCFORMAT_URF, &s, "declares 2 pages");
  s.len = 0;
  syn_urf_file(&s, 1);
  for (int p = 0; p < 2; p++) {
    syn_urf_page(&s, &h);
    syn_urf_simple_lines(&s);
  }
  expect_reject(DOCFORMAT_URF, &s, "declares 1 pages");

  /* Line repeat past the page, run past the line, trailing junk. */
  s.len = 0;
  syn_urf_file(&s, 1);
  syn_urf_page(&s, &h);
  syn_u8(&s, 5);
  syn_u8(&s, 128);
  expect_reject(DOCFORMAT_URF, &s, "line repeat");
  s.len = 0;
  syn_urf_file(&s, 1);
  syn_urf_page(&s, &h);
  syn_u8(&s, 1);
  syn_u8(&s, 200); /* 57 literal pixels in a 4-pixel line */
  expect_reject(DOCFORMAT_URF, &s, "overflows");
  s.len = 0;
  syn_urf_file(&s, 1);
  syn_urf_page(&s, &h);
  syn_urf_simple_lines(&s);
  syn_u8(&s, 0);
  expect_reject(DOCFORMAT_URF, &s, "truncated");

  syn_free(&s);
}

/* ---- JPEG, synthetic ------------------------------------------------ */

static const unsigned char jpeg_sof[] = {0xff, 0xc0, 0x00, 0x0b, 0x08, 0x00, 0x01,
                                         0x00, 0x01, 0x01, 0x01, 0x11, 0x00};
static const unsigned char jpeg_sos[] = {0xff, 0xda, 0x00, 0x08, 0x01,
                                         0x01, 0x00, 0x00, 0x3f, 0x00};
/* Entropy data with a stuffed 0xFF00, fill bytes and a restart marker. */
static const unsigned char jpeg_scan[] = {0x12, 0xff, 0x00, 0x34, 0xff, 0xff, 0xd0, 0x56};

static void test_jpeg_structure(void **state) {
  syn_t s;
  (void)state;
  syn_init(&s);

  syn_put(&s, "\xff\xd8", 2);
  syn_put(&s, "\xff\xe0\x00\x04zz", 6); /* APP0 */
  syn_put(&s, jpeg_sof, sizeof(jpeg_sof));
  syn_put(&s, jpeg_sos, sizeof(jpeg_sos));
  syn_put(&s, jpeg_scan, sizeof(jpeg_scan));
  syn_put(&s, jpeg_sos, sizeof(jpeg_sos)); /* a second (progressive) scan */
  syn_put(&s, jpeg_scan, sizeof(jpeg_scan));
  syn_put(&s, "\xff\xd9", 2);
  expect_pages(DOCFORMAT_JPEG, &s, 1);
  {
    static const char tail[] = "trailing bytes after EOI are ignored";
    syn_put(&s, tail, sizeof(tail) - 1);
  }
  expect_pages(DOCFORMAT_JPEG, &s, 1);

  /* No SOI. */
  s.len = 0;
  syn_put(&s, "\xff\xd9", 2);
  expect_reject(DOCFORMAT_JPEG, &s, "start-of-image");

  /* EOI with no scan. */
  s.len = 0;
  syn_put(&s, "\xff\xd8", 2);
  syn_put(&s, jpeg_sof, sizeof(jpeg_sof));
  syn_put(&s, "\xff\xd9", 2);
  expect_reject(DOCFORMAT_JPEG, &s, "no image data");

  /* Scan before any frame header. */
  s.len = 0;
  syn_put(&s, "\xff\xd8", 2);
  syn_put(&s, jpeg_sos, sizeof(jpeg_sos));
  syn_put(&s, jpeg_scan, sizeof(jpeg_scan));
  syn_put(&s, "\xff\xd9", 2);
  expect_reject(DOCFORMAT_JPEG, &s, "before its frame");

  /* Segment length below 2, frame width 0, junk between segments. */
  s.len = 0;
  syn_put(&s, "\xff\xd8\xff\xe1\x00\x01", 6);
  expect_reject(DOCFORMAT_JPEG, &s, "segment length");
  s.len = 0;
  syn_put(&s, "\xff\xd8", 2);
  syn_put(&s, "\xff\xc0\x00\x0b\x08\x00\x01\x00\x00\x01\x01\x11\x00", 13);
  expect_reject(DOCFORMAT_JPEG, &s, "frame header");
  s.len = 0;
  syn_put(&s, "\xff\xd8", 2);
  syn_put(&s, "\xff\xc0\x00\x05\x08\x00\x01", 7);
  expect_reject(DOCFORMAT_JPEG, &s, "too short");
  s.len = 0;
  syn_put(&s, "\xff\xd8xx", 4);
  expect_reject(DOCFORMAT_JPEG, &s, "corrupt");
  s.len = 0;
  syn_put(&s, "\xff\xd8\xff\xd8", 4);
  expect_reject(DOCFORMAT_JPEG, &s, "corrupt");

  /* Segment length runs past the end of the file. */
  s.len = 0;
  syn_put(&s, "\xff\xd8\xff\xe0\x7f\xff", 6);
  expect_reject(DOCFORMAT_JPEG, &s, "truncated");

  syn_free(&s);
}

/* ---- fixture -------------------------------------------------------- */

static int group_setup(void **state) {
  const char *tmp = getenv("TMPDIR");
  (void)state;

  data_dir = getenv("NIMBUS_TEST_DATA");
  if (!data_dir || !*data_dir) {
    fprintf(stderr, "NIMBUS_TEST_DATA must name the tests/data directory\n");
    return -1;
  }
  snprintf(tmp_dir, sizeof(tmp_dir), "%s/docformat-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(tmp_dir)) {
    perror("mkdtemp");
    return -1;
  }
  return 0;
}

static int group_teardown(void **state) {
  DIR *d = opendir(tmp_dir);
  struct dirent *e;
  char path[1024];
  (void)state;

  if (d) {
    while ((e = readdir(d)) != NULL) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      snprintf(path, sizeof(path), "%s/%s", tmp_dir, e->d_name);
      unlink(path);
    }
    closedir(d);
  }
  rmdir(tmp_dir);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sniff_samples),      cmocka_unit_test(test_sniff_short_and_garbage),
      cmocka_unit_test(test_mime_names),         cmocka_unit_test(test_mime_mapping),
      cmocka_unit_test(test_count_samples),      cmocka_unit_test(test_count_stream),
      cmocka_unit_test(test_sample_sizes),
      cmocka_unit_test(test_count_bad_pdf),      cmocka_unit_test(test_pdf_repair_only_small),
      cmocka_unit_test(test_pdf_page_limit),     cmocka_unit_test(test_pdf_tree_depth_and_loop),
      cmocka_unit_test(test_pdf_object_limit),   cmocka_unit_test(test_pdf_inflate_and_memory),
      cmocka_unit_test(test_truncated_pwg),      cmocka_unit_test(test_truncated_urf),
      cmocka_unit_test(test_truncated_jpeg),     cmocka_unit_test(test_wrong_format),
      cmocka_unit_test(test_count_file_errors),  cmocka_unit_test(test_pwg_valid_variants),
      cmocka_unit_test(test_pwg_bad_headers),    cmocka_unit_test(test_pwg_bad_data),
      cmocka_unit_test(test_urf_valid_variants), cmocka_unit_test(test_urf_bad),
      cmocka_unit_test(test_jpeg_structure),
  };
  return cmocka_run_group_tests_name("docformat", tests, group_setup, group_teardown);
}
