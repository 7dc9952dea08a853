/*
 * gen-samples.c: writes the small sample documents in tests/data that the
 * docformat unit tests, the fuzzer seed corpus and the intake benchmark
 * use.  Not part of the build; run tests/data/gen/gen.sh to regenerate.
 *
 *   onepage.pdf, threepage.pdf (nested page tree), nopages.pdf,
 *   onepage-30k.pdf (about 30 KB of text), corrupt.pdf (no xref/trailer),
 *   twopage.pwg (written with libcups, read back to check),
 *   twopage.urf (encoded here by hand, read back with libcups to check).
 *
 * Usage: gen-samples OUTDIR
 */
#include <cups/raster.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_OBJS 32

typedef struct {
  FILE *f;
  long offsets[MAX_OBJS];
  int count; /* highest object number written */
} pdf_writer_t;

static void die(const char *what) {
  fprintf(stderr, "gen-samples: %s: %s\n", what, errno ? strerror(errno) : "failed");
  exit(1);
}

static void pdf_begin_obj(pdf_writer_t *w, int num) {
  if (num >= MAX_OBJS) die("too many objects");
  w->offsets[num] = ftell(w->f);
  if (num > w->count) w->count = num;
  fprintf(w->f, "%d 0 obj\n", num);
}

static void pdf_stream_obj(pdf_writer_t *w, int num, const char *data, size_t len) {
  pdf_begin_obj(w, num);
  fprintf(w->f, "<< /Length %zu >>\nstream\n", len);
  fwrite(data, 1, len, w->f);
  fprintf(w->f, "\nendstream\nendobj\n");
}

static void pdf_finish(pdf_writer_t *w) {
  long xref = ftell(w->f);
  fprintf(w->f, "xref\n0 %d\n0000000000 65535 f \n", w->count + 1);
  for (int i = 1; i <= w->count; i++) fprintf(w->f, "%010ld 00000 n \n", w->offsets[i]);
  fprintf(w->f, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%ld\n%%%%EOF\n", w->count + 1,
          xref);
}

static FILE *open_out(const char *dir, const char *name) {
  char path[4096];
  FILE *f;
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  f = fopen(path, "wb");
  if (!f) die(path);
  return f;
}

static void close_out(FILE *f) {
  if (fclose(f) != 0) die("write");
}

/* Objects: 1 catalog, 2 root pages, 3 font, 4 optional intermediate pages
 * node, then page i = 5 + 2i with its content stream at 6 + 2i. */
static void write_text_pdf(const char *dir, const char *name, int npages, int nested,
                           const char *const *contents) {
  pdf_writer_t w = {.f = open_out(dir, name)};
  int i;

  fprintf(w.f, "%%PDF-1.4\n%%\xe2\xe3\xcf\xd3\n");
  pdf_begin_obj(&w, 1);
  fprintf(w.f, "<< /Type /Catalog /Pages 2 0 R >>\nendobj\n");

  pdf_begin_obj(&w, 2);
  fprintf(w.f, "<< /Type /Pages /Count %d /Kids [", npages);
  if (npages > 0) fprintf(w.f, "5 0 R");
  if (nested && npages > 1) fprintf(w.f, " 4 0 R");
  else
    for (i = 1; i < npages; i++) fprintf(w.f, " %d 0 R", 5 + 2 * i);
  fprintf(w.f, "] /MediaBox [0 0 612 792] >>\nendobj\n");

  pdf_begin_obj(&w, 3);
  fprintf(w.f, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>\nendobj\n");

  if (nested && npages > 1) {
    pdf_begin_obj(&w, 4);
    fprintf(w.f, "<< /Type /Pages /Parent 2 0 R /Count %d /Kids [", npages - 1);
    for (i = 1; i < npages; i++) fprintf(w.f, " %d 0 R", 5 + 2 * i);
    fprintf(w.f, "] >>\nendobj\n");
  }

  for (i = 0; i < npages; i++) {
    int parent = (nested && i > 0) ? 4 : 2;
    pdf_begin_obj(&w, 5 + 2 * i);
    fprintf(w.f,
            "<< /Type /Page /Parent %d 0 R /Resources << /Font << /F1 3 0 R >> >> "
            "/Contents %d 0 R >>\nendobj\n",
            parent, 6 + 2 * i);
    pdf_stream_obj(&w, 6 + 2 * i, contents[i], strlen(contents[i]));
  }
  pdf_finish(&w);
  close_out(w.f);
}

static void write_pdfs(const char *dir) {
  static const char *const one[] = {
      "BT /F1 24 Tf 72 700 Td (Nimbus Print test page 1 of 1) Tj ET\n"
      "0.5 g 72 600 468 40 re f\n"};
  static const char *const three[] = {
      "BT /F1 24 Tf 72 700 Td (Nimbus Print test page 1 of 3) Tj ET\n",
      "BT /F1 24 Tf 72 700 Td (Nimbus Print test page 2 of 3) Tj ET\n",
      "BT /F1 24 Tf 72 700 Td (Nimbus Print test page 3 of 3) Tj ET\n"};
  static const char lorem[] =
      "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
      "incididunt ut labore";
  char *big;
  size_t cap = 40 * 1024, len = 0;
  const char *bigv[1];
  FILE *f;
  int line;

  write_text_pdf(dir, "onepage.pdf", 1, 0, one);
  write_text_pdf(dir, "threepage.pdf", 3, 1, three);
  write_text_pdf(dir, "nopages.pdf", 0, 0, NULL);

  /* About 30 KB: two columns of small text lines, uncompressed. */
  big = malloc(cap);
  if (!big) die("malloc");
  for (int col = 0; col < 2; col++) {
    len += (size_t)snprintf(big + len, cap - len, "BT /F1 2.8 Tf 5.4 TL %d 770 Td\n",
                            36 + 280 * col);
    for (line = 0; line < 139; line++)
      len += (size_t)snprintf(big + len, cap - len, "(%03d %s) '\n", col * 139 + line, lorem);
    len += (size_t)snprintf(big + len, cap - len, "ET\n");
  }
  if (len >= cap - 1) die("30k content overflow");
  bigv[0] = big;
  write_text_pdf(dir, "onepage-30k.pdf", 1, 0, bigv);
  free(big);

  /* Header and the start of two objects, then binary junk: no xref, no
   * trailer, nothing qpdf's recovery can rebuild a document from. */
  f = open_out(dir, "corrupt.pdf");
  fprintf(f, "%%PDF-1.4\n%%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\n"
             "endobj\n2 0 obj\n<< /Type /Pages /Count 1 /Kids [3 0 R");
  for (int i = 0; i < 200; i++) fputc((i * 73 + 41) & 0xff, f);
  close_out(f);
}

/* Fill a gray or RGB line: white, a dark box in the middle third, and a
 * gradient on lines in [grad0, grad1). */
static void make_line(unsigned char *px, unsigned width, unsigned bytes_pp, unsigned y,
                      unsigned height) {
  memset(px, 0xff, (size_t)width * bytes_pp);
  if (y >= height / 3 && y < 2 * height / 3) {
    for (unsigned x = width / 3; x < 2 * width / 3; x++)
      for (unsigned c = 0; c < bytes_pp; c++) px[x * bytes_pp + c] = (unsigned char)(40 * c);
  }
  if (y >= 10 && y < 20) { /* distinct lines: literal runs */
    for (unsigned x = 0; x < width / 2; x++)
      for (unsigned c = 0; c < bytes_pp; c++)
        px[x * bytes_pp + c] = (unsigned char)(x * 3 + y * 7 + c * 50);
  }
}

static void write_pwg(const char *dir) {
  static const char *const types[2] = {"sgray_8", "srgb_8"};
  char path[4096];
  cups_raster_t *ras;
  int fd;

  snprintf(path, sizeof(path), "%s/twopage.pwg", dir);
  fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) die(path);
  ras = cupsRasterOpen(fd, CUPS_RASTER_WRITE_PWG);
  if (!ras) die("cupsRasterOpen");
  for (int page = 0; page < 2; page++) {
    cups_page_header2_t h;
    unsigned char *line;
    if (!cupsRasterInitPWGHeader(&h, pwgMediaForPWG("na_index-4x6_4x6in"), types[page], 50, 50,
                                 "one-sided", NULL))
      die("cupsRasterInitPWGHeader");
    h.cupsInteger[CUPS_RASTER_PWG_TotalPageCount] = 2;
    if (!cupsRasterWriteHeader2(ras, &h)) die("cupsRasterWriteHeader2");
    line = malloc(h.cupsBytesPerLine);
    if (!line) die("malloc");
    for (unsigned y = 0; y < h.cupsHeight; y++) {
      make_line(line, h.cupsWidth, h.cupsBitsPerPixel / 8, y, h.cupsHeight);
      if (cupsRasterWritePixels(ras, line, h.cupsBytesPerLine) != h.cupsBytesPerLine)
        die("cupsRasterWritePixels");
    }
    free(line);
  }
  cupsRasterClose(ras);
  if (close(fd) != 0) die("close");
}

static void put_be32(FILE *f, unsigned v) {
  fputc((int)(v >> 24) & 0xff, f);
  fputc((int)(v >> 16) & 0xff, f);
  fputc((int)(v >> 8) & 0xff, f);
  fputc((int)v & 0xff, f);
}

/* Encode one line with URF runs: repeats, literals, and 128 for an all
 * white tail. */
static void urf_encode_line(FILE *f, const unsigned char *px, unsigned width, unsigned bpp) {
  unsigned x = 0;

  while (x < width) {
    unsigned n = 1, tail_white = 1;
    for (unsigned i = x * bpp; i < width * bpp; i++)
      if (px[i] != 0xff) {
        tail_white = 0;
        break;
      }
    if (tail_white && width - x > 1) {
      fputc(128, f);
      return;
    }
    while (x + n < width && n < 128 && !memcmp(px + (x + n) * bpp, px + x * bpp, bpp)) n++;
    if (n >= 2) {
      fputc((int)(n - 1), f);
      fwrite(px + x * bpp, 1, bpp, f);
      x += n;
      continue;
    }
    /* Literal: until two equal neighbours or 128 pixels. */
    n = 1;
    while (x + n < width && n < 128 &&
           !(x + n + 1 < width && !memcmp(px + (x + n) * bpp, px + (x + n + 1) * bpp, bpp)))
      n++;
    if (n == 1) fputc(0, f);
    else fputc((int)(257 - n), f);
    fwrite(px + x * bpp, 1, (size_t)n * bpp, f);
    x += n;
  }
}

static void write_urf(const char *dir) {
  static const struct {
    unsigned bpp, cspace, width, height;
  } pages[2] = {{8, 0, 200, 150}, {24, 1, 160, 120}};
  FILE *f = open_out(dir, "twopage.urf");

  fwrite("UNIRAST", 1, 8, f); /* with its NUL */
  put_be32(f, 2);
  for (int p = 0; p < 2; p++) {
    unsigned bytes_pp = pages[p].bpp / 8, w = pages[p].width, h = pages[p].height;
    unsigned char hdr[32] = {0};
    unsigned char *cur = malloc((size_t)w * bytes_pp), *next = malloc((size_t)w * bytes_pp);
    if (!cur || !next) die("malloc");
    hdr[0] = (unsigned char)pages[p].bpp;
    hdr[1] = (unsigned char)pages[p].cspace;
    hdr[2] = 1; /* one-sided */
    hdr[3] = 4; /* normal quality */
    for (int i = 0; i < 4; i++) {
      hdr[12 + i] = (unsigned char)(w >> (24 - 8 * i));
      hdr[16 + i] = (unsigned char)(h >> (24 - 8 * i));
      hdr[20 + i] = (unsigned char)(100u >> (24 - 8 * i));
    }
    fwrite(hdr, 1, sizeof(hdr), f);
    for (unsigned y = 0; y < h;) {
      unsigned rep = 1;
      make_line(cur, w, bytes_pp, y, h);
      while (y + rep < h && rep < 256) {
        make_line(next, w, bytes_pp, y + rep, h);
        if (memcmp(cur, next, (size_t)w * bytes_pp)) break;
        rep++;
      }
      fputc((int)(rep - 1), f);
      urf_encode_line(f, cur, w, bytes_pp);
      y += rep;
    }
    free(cur);
    free(next);
  }
  close_out(f);
}

/* Read a raster file back with libcups and compare with make_line(). */
static void verify_raster(const char *dir, const char *name, unsigned want_pages) {
  char path[4096];
  cups_page_header2_t h;
  cups_raster_t *ras;
  unsigned pages = 0;
  int fd;

  snprintf(path, sizeof(path), "%s/%s", dir, name);
  fd = open(path, O_RDONLY);
  if (fd < 0) die(path);
  ras = cupsRasterOpen(fd, CUPS_RASTER_READ);
  if (!ras) die("cupsRasterOpen(read)");
  while (cupsRasterReadHeader2(ras, &h)) {
    unsigned bpp = h.cupsBitsPerPixel / 8;
    unsigned char *got = malloc(h.cupsBytesPerLine), *want = malloc(h.cupsBytesPerLine);
    if (!got || !want) die("malloc");
    for (unsigned y = 0; y < h.cupsHeight; y++) {
      if (cupsRasterReadPixels(ras, got, h.cupsBytesPerLine) != h.cupsBytesPerLine)
        die("short read-back");
      make_line(want, h.cupsWidth, bpp, y, h.cupsHeight);
      if (memcmp(got, want, h.cupsBytesPerLine)) {
        fprintf(stderr, "gen-samples: %s page %u line %u differs on read-back\n", name, pages + 1,
                y);
        exit(1);
      }
    }
    free(got);
    free(want);
    pages++;
  }
  cupsRasterClose(ras);
  close(fd);
  if (pages != want_pages) {
    fprintf(stderr, "gen-samples: %s read back %u pages, want %u\n", name, pages, want_pages);
    exit(1);
  }
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: gen-samples OUTDIR\n");
    return 2;
  }
  write_pdfs(argv[1]);
  write_pwg(argv[1]);
  write_urf(argv[1]);
  verify_raster(argv[1], "twopage.pwg", 2);
  verify_raster(argv[1], "twopage.urf", 2);
  return 0;
}
