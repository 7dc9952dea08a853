/*
 * gen-big-pdf: write a valid one-page PDF of (about) a requested size.
 *
 * The page shows one line of text; the size comes from PDF comment lines
 * ("% ...") inside the page's content stream, which every reader skips.
 * Output is streamed, so a 500 MB document needs no memory to speak of,
 * and the result passes `qpdf --check`.  Page counters such as qpdf's see
 * one page without reading the content stream.
 *
 *   gen-big-pdf --size 500M --out big.pdf
 *   gen-big-pdf --size 30k  --out onepage-30k.pdf
 *
 * The file is SIZE bytes (to within a byte or two where the digits of
 * /Length change) when SIZE is at least the ~600-byte skeleton; otherwise
 * it is the skeleton alone.  Sizes take k/M/G suffixes
 * (powers of 1024).  Exit status 0 on success, 1 on I/O errors, 2 on usage.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GEN_MAX_SIZE ((uint64_t)64 << 30) /* 64 GiB: a typo guard */
#define GEN_LINE 80                       /* padding line length incl. newline */

typedef struct gen_out_s {
  FILE *fp;
  uint64_t offset; /* bytes written so far */
  bool failed;
} gen_out_t;

/* Append LEN bytes; with fp NULL only count them (sizing pass). */
static void gen_write(gen_out_t *out, const void *data, size_t len) {
  if (out->fp && !out->failed && fwrite(data, 1, len, out->fp) != len) out->failed = true;
  out->offset += len;
}

static void gen_printf(gen_out_t *out, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static void gen_printf(gen_out_t *out, const char *format, ...) {
  char buf[1024];
  va_list ap;
  int n;

  va_start(ap, format);
  n = vsnprintf(buf, sizeof(buf), format, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof(buf)) {
    out->failed = true;
    return;
  }
  gen_write(out, buf, (size_t)n);
}

/* Parse "123", "30k", "500M", "2G" (powers of 1024). */
static bool gen_parse_size(const char *s, uint64_t *size) {
  char *end;
  uint64_t v, mult = 1;

  errno = 0;
  v = strtoull(s, &end, 10);
  if (errno || end == s) return (false);
  switch (*end) {
    case '\0':
      break;
    case 'k':
    case 'K':
      mult = 1024;
      end++;
      break;
    case 'm':
    case 'M':
      mult = 1024 * 1024;
      end++;
      break;
    case 'g':
    case 'G':
      mult = 1024 * 1024 * 1024;
      end++;
      break;
    default:
      return (false);
  }
  if ((*end == 'B' || *end == 'b') && mult > 1) end++;
  if (*end || v > GEN_MAX_SIZE / mult) return (false);
  *size = v * mult;
  return (*size <= GEN_MAX_SIZE);
}

/*
 * 'gen_pdf()' - write the PDF with a content stream of TEXT plus PADDING
 * bytes of comment lines.  Objects: 1 catalog, 2 pages, 3 page, 4 font,
 * 5 content stream.
 */
static void gen_pdf(gen_out_t *out, uint64_t padding) {
  static const char text[] = "BT /F1 24 Tf 72 720 Td (Nimbus Print intake benchmark) Tj ET\n";
  uint64_t xref[6];
  char line[GEN_LINE];
  char chunk[64 * 1024];
  size_t chunk_lines = sizeof(chunk) / GEN_LINE, i;
  uint64_t left;

  gen_write(out, "%PDF-1.4\n%\xE2\xE3\xCF\xD3\n", 15);

  xref[1] = out->offset;
  gen_printf(out, "1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n");
  xref[2] = out->offset;
  gen_printf(out, "2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n");
  xref[3] = out->offset;
  gen_printf(out,
             "3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792]\n"
             "   /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>\nendobj\n");
  xref[4] = out->offset;
  gen_printf(out, "4 0 obj\n<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>\nendobj\n");
  xref[5] = out->offset;
  gen_printf(out, "5 0 obj\n<< /Length %" PRIu64 " >>\nstream\n",
             (uint64_t)(sizeof(text) - 1) + padding);
  gen_write(out, text, sizeof(text) - 1);

  /* Padding: full comment lines, then one short line for the remainder. */
  memset(line, 'x', sizeof(line));
  line[0] = '%';
  line[1] = ' ';
  line[GEN_LINE - 1] = '\n';
  for (i = 0; i < chunk_lines; i++) memcpy(chunk + i * GEN_LINE, line, GEN_LINE);

  left = padding;
  while (left >= (uint64_t)chunk_lines * GEN_LINE && !out->failed) {
    gen_write(out, chunk, chunk_lines * GEN_LINE);
    left -= (uint64_t)chunk_lines * GEN_LINE;
  }
  while (left >= GEN_LINE && !out->failed) {
    gen_write(out, line, GEN_LINE);
    left -= GEN_LINE;
  }
  if (left == 1)
    gen_write(out, "\n", 1);
  else if (left > 1) {
    gen_write(out, "%", 1);
    gen_write(out, line + 1, (size_t)left - 2);
    gen_write(out, "\n", 1);
  }

  gen_printf(out, "\nendstream\nendobj\n");
  {
    uint64_t startxref = out->offset;

    gen_printf(out, "xref\n0 6\n0000000000 65535 f \n");
    for (i = 1; i <= 5; i++) gen_printf(out, "%010" PRIu64 " 00000 n \n", xref[i]);
    gen_printf(out, "trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n%" PRIu64 "\n%%%%EOF\n",
               startxref);
  }
}

/* Size of the whole file for PADDING bytes of padding. */
static uint64_t gen_measure(uint64_t padding) {
  gen_out_t count = {NULL, 0, false};

  gen_pdf(&count, padding);
  return (count.offset);
}

int main(int argc, char *argv[]) {
  const char *outname = NULL;
  uint64_t size = 0, padding;
  gen_out_t out;
  int i;

  for (i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--size") && i + 1 < argc) {
      if (!gen_parse_size(argv[++i], &size)) {
        fprintf(stderr, "gen-big-pdf: bad size \"%s\"\n", argv[i]);
        return (2);
      }
    } else if (!strcmp(argv[i], "--out") && i + 1 < argc)
      outname = argv[++i];
    else {
      fputs(
          "Usage: gen-big-pdf --size BYTES[k|M|G] [--out FILE]\n"
          "Write a valid one-page PDF of exactly BYTES bytes (stdout by default).\n",
          stderr);
      return (2);
    }
  }

  /* The /Length and startxref digits grow with the padding: adjust the
   * padding until a counting pass gives the requested size. */
  padding = size > gen_measure(0) ? size - gen_measure(0) : 0;
  for (i = 0; i < 8 && size > gen_measure(0); i++) {
    uint64_t total = gen_measure(padding);

    if (total == size) break;
    if (total > size)
      padding -= total - size < padding ? total - size : padding;
    else
      padding += size - total;
  }

  out.fp = outname ? fopen(outname, "wb") : stdout;
  out.offset = 0;
  out.failed = false;
  if (!out.fp) {
    fprintf(stderr, "gen-big-pdf: %s: %s\n", outname, strerror(errno));
    return (1);
  }
  gen_pdf(&out, padding);
  if (fflush(out.fp) || out.failed || (outname && fclose(out.fp))) {
    fprintf(stderr, "gen-big-pdf: write error: %s\n", strerror(errno));
    return (1);
  }
  return (0);
}
