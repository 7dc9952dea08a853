/*
 * docformat.c: document format sniffing, MIME mapping and page counting.
 *
 * Raster (PWG 5102.4 "RaS2" and Apple URF "UNIRAST") and JPEG documents are
 * walked through a fixed DOCFORMAT_READ_BUF buffer: compressed lines are
 * decoded only far enough to know where each line and page ends, so a
 * hostile stream costs time proportional to its size and no memory beyond
 * the buffer.  PDF is handed to qpdf (docformat-pdf.cc), which parses
 * lazily, within the limits of docformat_limits_t.
 *
 * Both raster formats share the line encoding (PWG 5102.4 and
 * CUPS raster-stream.c): one line-repeat byte (the line occurs n+1 times),
 * then runs until the line is full: 0..127 = the next pixel repeated n+1
 * times, 129..255 = 257-n literal pixels, 128 = rest of line blank.  A run
 * or repeat that overshoots its line or page is treated as corruption,
 * where CUPS would silently clip it.
 */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* open flags, strerror_r; meson sets _GNU_SOURCE */
#endif

#include "docformat.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Size of the one read buffer used while walking a raster or JPEG file. */
#define DOCFORMAT_READ_BUF 8192

/* PWG raster: sync word, page header size and the header fields we read
 * (byte offsets into the big-endian cups_page_header2_t layout). */
#define PWG_SYNC "RaS2"
#define PWG_HEADER_SIZE 1796u
#define PWG_OFF_HWRES_X 276u
#define PWG_OFF_HWRES_Y 280u
#define PWG_OFF_WIDTH 372u
#define PWG_OFF_HEIGHT 376u
#define PWG_OFF_BITS_PER_COLOR 384u
#define PWG_OFF_BITS_PER_PIXEL 388u
#define PWG_OFF_BYTES_PER_LINE 392u
#define PWG_OFF_COLOR_ORDER 396u
#define PWG_OFF_TOTAL_PAGE_COUNT 452u /* cupsInteger[0] */
#define PWG_MAX_BITS_PER_PIXEL 240u   /* 15 colours x 16 bits */

/* Apple raster (URF): 8-byte magic + BE32 page count, then per page a
 * 32-byte header. */
#define URF_MAGIC "UNIRAST" /* followed by a NUL */
#define URF_FILE_HEADER_SIZE 12u
#define URF_PAGE_HEADER_SIZE 32u
#define URF_OFF_BITS_PER_PIXEL 0u
#define URF_OFF_WIDTH 12u
#define URF_OFF_HEIGHT 16u
#define URF_OFF_DPI 20u

const char *const docformat_supported[] = {
    "application/pdf", "image/pwg-raster",         "image/urf",
    "image/jpeg",      "application/octet-stream", NULL,
};

const docformat_limits_t docformat_default_limits = {
    .max_pages = DOCFORMAT_DEFAULT_MAX_PAGES,
    .max_inflate = DOCFORMAT_DEFAULT_MAX_INFLATE,
    .max_objects = DOCFORMAT_DEFAULT_MAX_OBJECTS,
    .max_memory = DOCFORMAT_DEFAULT_MAX_MEMORY,
};

/* Buffered, bounded reader over a docformat_read_fn source. */
typedef struct {
  docformat_read_fn read;
  void *ctx;
  size_t pos, len; /* unread bytes are buf[pos..len) */
  bool eof;        /* read() returned 0 */
  int read_errno;  /* nonzero once read() failed */
  unsigned char buf[DOCFORMAT_READ_BUF];
} docformat_reader_t;

/* Geometry of one raster page as the line decoder needs it. */
typedef struct {
  uint32_t units_per_line; /* pixels per line, or bytes when < 8 bits/pixel */
  uint32_t unit_bytes;     /* bytes per unit in a literal or repeat run */
  uint32_t height;         /* lines in the page */
} raster_geometry_t;

/* Write a formatted reason into err if there is room; always terminated. */
__attribute__((format(printf, 3, 4))) static void docformat_set_error(char *err, size_t errlen,
                                                                      const char *fmt, ...) {
  va_list ap;

  if (!err || errlen == 0) return;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
}

/* Thread-safe strerror into a caller buffer; returns the text to print. */
static const char *docformat_strerror(int errnum, char *buf, size_t len) {
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
  return strerror_r(errnum, buf, len);
#else
  if (strerror_r(errnum, buf, len) != 0) snprintf(buf, len, "error %d", errnum);
  return buf;
#endif
}

static uint32_t docformat_be32(const unsigned char *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

/* ASCII case-insensitive comparison of s[0..n) with the whole of lit,
 * independent of the process locale. */
static bool docformat_ascii_ieq(const char *s, size_t n, const char *lit) {
  size_t i;

  for (i = 0; i < n; i++) {
    unsigned char a = (unsigned char)s[i], b = (unsigned char)lit[i];
    if (b == '\0') return false;
    if (a >= 'A' && a <= 'Z') a = (unsigned char)(a - 'A' + 'a');
    if (b >= 'A' && b <= 'Z') b = (unsigned char)(b - 'A' + 'a');
    if (a != b) return false;
  }
  return lit[n] == '\0';
}

docformat_t docformat_sniff(const unsigned char *buf, size_t len) {
  static const unsigned char pdf_magic[] = "%PDF-";
  const size_t pdf_len = sizeof(pdf_magic) - 1;
  size_t limit, i;

  if (!buf) return DOCFORMAT_UNKNOWN;
  if (len >= 4 && memcmp(buf, PWG_SYNC, 4) == 0) return DOCFORMAT_PWG_RASTER;
  if (len >= 8 && memcmp(buf, URF_MAGIC, 8) == 0) return DOCFORMAT_URF; /* incl. NUL */
  if (len >= 3 && buf[0] == 0xFF && buf[1] == 0xD8 && buf[2] == 0xFF) return DOCFORMAT_JPEG;

  /* Like PDF readers, allow junk (e.g. a PJL prefix) before the header. */
  limit = len < DOCFORMAT_SNIFF_MAX ? len : DOCFORMAT_SNIFF_MAX;
  for (i = 0; i + pdf_len <= limit; i++) {
    if (buf[i] == '%' && memcmp(buf + i, pdf_magic, pdf_len) == 0) return DOCFORMAT_PDF;
  }
  return DOCFORMAT_UNKNOWN;
}

const char *docformat_mime(docformat_t fmt) {
  switch (fmt) {
    case DOCFORMAT_PDF:
      return "application/pdf";
    case DOCFORMAT_PWG_RASTER:
      return "image/pwg-raster";
    case DOCFORMAT_URF:
      return "image/urf";
    case DOCFORMAT_JPEG:
      return "image/jpeg";
    case DOCFORMAT_UNKNOWN:
      break;
  }
  return NULL;
}

docformat_t docformat_from_mime(const char *mime, bool *is_auto) {
  static const docformat_t formats[] = {DOCFORMAT_PDF, DOCFORMAT_PWG_RASTER, DOCFORMAT_URF,
                                        DOCFORMAT_JPEG};
  const char *start, *end;
  size_t i;

  if (is_auto) *is_auto = false;
  if (!mime) return DOCFORMAT_UNKNOWN;

  start = mime;
  while (*start == ' ' || *start == '\t') start++;
  end = start + strcspn(start, ";");
  while (end > start && (end[-1] == ' ' || end[-1] == '\t')) end--;

  for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
    if (docformat_ascii_ieq(start, (size_t)(end - start), docformat_mime(formats[i])))
      return formats[i];
  }
  if (docformat_ascii_ieq(start, (size_t)(end - start), "application/octet-stream") && is_auto)
    *is_auto = true;
  return DOCFORMAT_UNKNOWN;
}

/* Make buffered bytes available; false at end of file or on a read error
 * (r->read_errno tells which). */
static bool reader_fill(docformat_reader_t *r) {
  ssize_t n;

  if (r->pos < r->len) return true;
  if (r->eof || r->read_errno) return false;
  do {
    n = r->read(r->ctx, r->buf, sizeof(r->buf));
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    r->read_errno = errno ? errno : EIO;
    return false;
  }
  if (n == 0) {
    r->eof = true;
    return false;
  }
  r->pos = 0;
  r->len = (size_t)n;
  return true;
}

static inline bool reader_byte(docformat_reader_t *r, unsigned char *out) {
  if (r->pos >= r->len && !reader_fill(r)) return false;
  *out = r->buf[r->pos++];
  return true;
}

/* Copy up to n bytes into dst; returns how many were copied (< n only at
 * end of file or on a read error). */
static size_t reader_read(docformat_reader_t *r, unsigned char *dst, size_t n) {
  size_t done = 0;

  while (done < n && reader_fill(r)) {
    size_t chunk = r->len - r->pos;
    if (chunk > n - done) chunk = n - done;
    memcpy(dst + done, r->buf + r->pos, chunk);
    r->pos += chunk;
    done += chunk;
  }
  return done;
}

/* Discard n bytes; false if the file ends (or fails) first. */
static bool reader_skip(docformat_reader_t *r, uint64_t n) {
  while (n > 0) {
    size_t chunk;
    if (!reader_fill(r)) return false;
    chunk = r->len - r->pos;
    if (chunk > n) chunk = (size_t)n;
    r->pos += chunk;
    n -= chunk;
  }
  return true;
}

/* Consume bytes up to and including the next 0xFF; false at end of file. */
static bool reader_skip_past_ff(docformat_reader_t *r) {
  for (;;) {
    const unsigned char *hit;
    if (!reader_fill(r)) return false;
    hit = memchr(r->buf + r->pos, 0xFF, r->len - r->pos);
    if (hit) {
      r->pos = (size_t)(hit - r->buf) + 1;
      return true;
    }
    r->pos = r->len;
  }
}

/* Report why the reader stopped early: an I/O error or a truncated file. */
static void reader_report_short(const docformat_reader_t *r, char *err, size_t errlen,
                                const char *what) {
  char ebuf[128];

  if (r->read_errno)
    docformat_set_error(err, errlen, "cannot read document: %s",
                        docformat_strerror(r->read_errno, ebuf, sizeof(ebuf)));
  else
    docformat_set_error(err, errlen, "%s", what);
}

/*
 * raster_skip_page: consume the compressed lines of one page of geometry g
 * (PWG and URF share the encoding).  Returns false with a reason in err if
 * the data ends early or a repeat/run does not fit its page/line.
 */
static bool raster_skip_page(docformat_reader_t *r, const raster_geometry_t *g, const char *fmtname,
                             int page, char *err, size_t errlen) {
  uint32_t y = 0;
  unsigned char c;

  while (y < g->height) {
    uint32_t lines, x = 0;

    if (!reader_byte(r, &c)) goto truncated;
    lines = (uint32_t)c + 1u;
    if (lines > g->height - y) {
      docformat_set_error(err, errlen, "%s page %d: line repeat runs past the end of the page",
                          fmtname, page);
      return false;
    }
    while (x < g->units_per_line) {
      uint32_t n;
      if (!reader_byte(r, &c)) goto truncated;
      if (c == 128) {
        x = g->units_per_line; /* rest of line blank */
        continue;
      }
      n = c > 128 ? 257u - c : (uint32_t)c + 1u;
      if (n > g->units_per_line - x) {
        docformat_set_error(err, errlen, "%s page %d: pixel run overflows its line", fmtname, page);
        return false;
      }
      /* A literal run carries n pixels, a repeat run one. */
      if (!reader_skip(r, (uint64_t)(c > 128 ? n : 1u) * g->unit_bytes)) goto truncated;
      x += n;
    }
    y += lines;
  }
  return true;

truncated : {
  char what[96];
  snprintf(what, sizeof(what), "%s page %d: image data is truncated", fmtname, page);
  reader_report_short(r, err, errlen, what);
}
  return false;
}

/* Check a PWG page header and derive the decoder geometry; false with a
 * reason in err if a field is missing, unsupported or inconsistent. */
static bool pwg_check_header(const unsigned char *h, int page, raster_geometry_t *g, char *err,
                             size_t errlen) {
  uint32_t width = docformat_be32(h + PWG_OFF_WIDTH);
  uint32_t height = docformat_be32(h + PWG_OFF_HEIGHT);
  uint32_t bpc = docformat_be32(h + PWG_OFF_BITS_PER_COLOR);
  uint32_t bpp = docformat_be32(h + PWG_OFF_BITS_PER_PIXEL);
  uint32_t bpl = docformat_be32(h + PWG_OFF_BYTES_PER_LINE);
  uint64_t want_bpl;

  if (docformat_be32(h + PWG_OFF_COLOR_ORDER) != 0) {
    docformat_set_error(err, errlen, "PWG raster page %d: colour order is not chunky", page);
    return false;
  }
  if (bpc != 1 && bpc != 2 && bpc != 4 && bpc != 8 && bpc != 16) {
    docformat_set_error(err, errlen, "PWG raster page %d: unsupported bits per colour %u", page,
                        (unsigned)bpc);
    return false;
  }
  if (bpp < bpc || bpp % bpc != 0 || (bpp < 8 && bpp != bpc) || (bpp >= 8 && bpp % 8 != 0) ||
      bpp > PWG_MAX_BITS_PER_PIXEL) {
    docformat_set_error(err, errlen, "PWG raster page %d: unsupported bits per pixel %u", page,
                        (unsigned)bpp);
    return false;
  }
  if (width == 0 || width > DOCFORMAT_RASTER_MAX_DIMENSION || height == 0 ||
      height > DOCFORMAT_RASTER_MAX_DIMENSION) {
    docformat_set_error(err, errlen, "PWG raster page %d: invalid size %ux%u", page,
                        (unsigned)width, (unsigned)height);
    return false;
  }
  if (docformat_be32(h + PWG_OFF_HWRES_X) == 0 || docformat_be32(h + PWG_OFF_HWRES_Y) == 0) {
    docformat_set_error(err, errlen, "PWG raster page %d: resolution is zero", page);
    return false;
  }
  want_bpl = ((uint64_t)width * bpp + 7u) / 8u;
  if (bpl != want_bpl || bpl > DOCFORMAT_RASTER_MAX_LINE_BYTES) {
    docformat_set_error(err, errlen, "PWG raster page %d: bytes per line %u does not fit the width",
                        page, (unsigned)bpl);
    return false;
  }
  g->unit_bytes = bpp < 8 ? 1u : bpp / 8u;
  g->units_per_line = bpp < 8 ? bpl : width;
  g->height = height;
  return true;
}

/* Walk a PWG raster stream; returns pages or -1/-2 with err set. */
static int pwg_count_pages(docformat_reader_t *r, int max_pages, char *err, size_t errlen) {
  unsigned char header[PWG_HEADER_SIZE];
  uint32_t declared = 0;
  int pages = 0;

  if (reader_read(r, header, 4) != 4 || memcmp(header, PWG_SYNC, 4) != 0) {
    reader_report_short(r, err, errlen, "not a PWG raster stream (bad sync word)");
    return -1;
  }
  for (;;) {
    raster_geometry_t g;
    size_t n = reader_read(r, header, sizeof(header));

    if (n == 0 && !r->read_errno) break; /* clean end after the last page */
    if (n != sizeof(header)) {
      char what[64];
      snprintf(what, sizeof(what), "PWG raster page %d: header is truncated", pages + 1);
      reader_report_short(r, err, errlen, what);
      return -1;
    }
    if (pages >= max_pages) {
      docformat_set_error(err, errlen, "document has more than %d pages (the limit)", max_pages);
      return DOCFORMAT_LIMIT;
    }
    if (!pwg_check_header(header, pages + 1, &g, err, errlen)) return -1;
    if (pages == 0) declared = docformat_be32(header + PWG_OFF_TOTAL_PAGE_COUNT);
    if (!raster_skip_page(r, &g, "PWG raster", pages + 1, err, errlen)) return -1;
    pages++;
  }
  if (pages == 0) {
    docformat_set_error(err, errlen, "PWG raster stream has no pages");
    return -1;
  }
  if (declared != 0 && declared != (uint32_t)pages) {
    docformat_set_error(err, errlen, "PWG raster header declares %u pages but the stream has %d",
                        (unsigned)declared, pages);
    return -1;
  }
  return pages;
}

/* Check a URF page header and derive the decoder geometry. */
static bool urf_check_header(const unsigned char *h, int page, raster_geometry_t *g, char *err,
                             size_t errlen) {
  uint32_t bpp = h[URF_OFF_BITS_PER_PIXEL];
  uint32_t width = docformat_be32(h + URF_OFF_WIDTH);
  uint32_t height = docformat_be32(h + URF_OFF_HEIGHT);

  /* 8/16-bit grey, 8/16-bit RGB, 8/16-bit CMYK. */
  if (bpp != 8 && bpp != 16 && bpp != 24 && bpp != 32 && bpp != 48 && bpp != 64) {
    docformat_set_error(err, errlen, "URF page %d: unsupported bits per pixel %u", page,
                        (unsigned)bpp);
    return false;
  }
  if (width == 0 || width > DOCFORMAT_RASTER_MAX_DIMENSION || height == 0 ||
      height > DOCFORMAT_RASTER_MAX_DIMENSION) {
    docformat_set_error(err, errlen, "URF page %d: invalid size %ux%u", page, (unsigned)width,
                        (unsigned)height);
    return false;
  }
  if (docformat_be32(h + URF_OFF_DPI) == 0) {
    docformat_set_error(err, errlen, "URF page %d: resolution is zero", page);
    return false;
  }
  if ((uint64_t)width * (bpp / 8u) > DOCFORMAT_RASTER_MAX_LINE_BYTES) {
    docformat_set_error(err, errlen, "URF page %d: lines are too long", page);
    return false;
  }
  g->unit_bytes = bpp / 8u;
  g->units_per_line = width;
  g->height = height;
  return true;
}

/* Walk an Apple raster (URF) stream; returns pages or -1/-2 with err set. */
static int urf_count_pages(docformat_reader_t *r, int max_pages, char *err, size_t errlen) {
  unsigned char header[URF_PAGE_HEADER_SIZE];
  uint32_t declared;
  int pages = 0;

  if (reader_read(r, header, URF_FILE_HEADER_SIZE) != URF_FILE_HEADER_SIZE ||
      memcmp(header, URF_MAGIC, 8) != 0) {
    reader_report_short(r, err, errlen, "not a URF stream (bad file header)");
    return -1;
  }
  declared = docformat_be32(header + 8);
  for (;;) {
    raster_geometry_t g;
    size_t n = reader_read(r, header, sizeof(header));

    if (n == 0 && !r->read_errno) break;
    if (n != sizeof(header)) {
      char what[64];
      snprintf(what, sizeof(what), "URF page %d: header is truncated", pages + 1);
      reader_report_short(r, err, errlen, what);
      return -1;
    }
    if (pages >= max_pages) {
      docformat_set_error(err, errlen, "document has more than %d pages (the limit)", max_pages);
      return DOCFORMAT_LIMIT;
    }
    if (!urf_check_header(header, pages + 1, &g, err, errlen)) return -1;
    if (!raster_skip_page(r, &g, "URF", pages + 1, err, errlen)) return -1;
    pages++;
  }
  if (pages == 0) {
    docformat_set_error(err, errlen, "URF stream has no pages");
    return -1;
  }
  if (declared != 0 && declared != (uint32_t)pages) {
    docformat_set_error(err, errlen, "URF header declares %u pages but the stream has %d",
                        (unsigned)declared, pages);
    return -1;
  }
  return pages;
}

/* True for the start-of-frame markers (SOF0..SOF15 without DHT/JPG/DAC). */
static bool jpeg_is_sof(unsigned char m) {
  return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

/*
 * jpeg_count_pages: walk the marker structure: SOI, segments with valid
 * lengths, a frame header before the first scan, entropy-coded data after
 * each SOS (skipping stuffed 0xFF00 and RSTn), and finally EOI.  Anything
 * after EOI is ignored, as decoders do.  Returns 1 or -1 with err set.
 */
static int jpeg_count_pages(docformat_reader_t *r, char *err, size_t errlen) {
  unsigned char b[6];
  bool have_frame = false, have_scan = false;
  int marker = -1; /* marker found while scanning entropy data */

  if (reader_read(r, b, 2) != 2 || b[0] != 0xFF || b[1] != 0xD8) {
    reader_report_short(r, err, errlen, "not a JPEG file (no start-of-image marker)");
    return -1;
  }
  for (;;) {
    unsigned char c;
    uint32_t seglen;

    if (marker < 0) {
      if (!reader_byte(r, &c)) goto truncated;
      if (c != 0xFF) {
        docformat_set_error(err, errlen, "JPEG marker structure is corrupt");
        return -1;
      }
      do {
        if (!reader_byte(r, &c)) goto truncated;
      } while (c == 0xFF); /* fill bytes */
      marker = c;
    }
    c = (unsigned char)marker;
    marker = -1;

    if (c == 0xD9) {
      if (!have_scan) {
        docformat_set_error(err, errlen, "JPEG has no image data");
        return -1;
      }
      return 1;
    }
    if (c == 0x00 || c == 0xD8) {
      docformat_set_error(err, errlen, "JPEG marker structure is corrupt");
      return -1;
    }
    if ((c >= 0xD0 && c <= 0xD7) || c == 0x01) continue; /* RSTn, TEM: no payload */

    if (reader_read(r, b, 2) != 2) goto truncated;
    seglen = ((uint32_t)b[0] << 8) | b[1];
    if (seglen < 2) {
      docformat_set_error(err, errlen, "JPEG segment length is invalid");
      return -1;
    }
    seglen -= 2;

    if (jpeg_is_sof(c)) {
      if (seglen < 6) {
        docformat_set_error(err, errlen, "JPEG frame header is too short");
        return -1;
      }
      if (reader_read(r, b, 6) != 6) goto truncated;
      /* b: precision, height(2), width(2), components; height 0 = DNL. */
      if ((((uint32_t)b[3] << 8) | b[4]) == 0 || b[5] == 0) {
        docformat_set_error(err, errlen, "JPEG frame header is invalid");
        return -1;
      }
      have_frame = true;
      seglen -= 6;
    } else if (c == 0xDA && !have_frame) {
      docformat_set_error(err, errlen, "JPEG scan comes before its frame header");
      return -1;
    }
    if (!reader_skip(r, seglen)) goto truncated;
    if (c != 0xDA) continue;

    /* Entropy-coded data runs until a marker other than 0xFF00 / RSTn. */
    have_scan = true;
    while (marker < 0) {
      if (!reader_skip_past_ff(r)) goto truncated;
      do {
        if (!reader_byte(r, &c)) goto truncated;
      } while (c == 0xFF);
      if (c != 0x00 && !(c >= 0xD0 && c <= 0xD7)) marker = c;
    }
  }

truncated:
  reader_report_short(r, err, errlen, "JPEG is truncated (no end-of-image marker)");
  return -1;
}

/* Size of the PDF at path, or len when it is in memory (path NULL). */
static long long docformat_pdf_size(const char *path, size_t len) {
  struct stat st;
  if (!path) return (long long)len;
  return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

/* Count PDF pages with qpdf, from the file at path or (path NULL) from
 * data/len in memory.  Repairing a broken cross-reference table means
 * scanning the whole file token by token: cheap for a small document, but
 * minutes of one CPU for a damaged file of hundreds of megabytes
 * (measured: a truncated 300 MB PDF kept a worker busy for over ten
 * minutes).  Large documents must be intact. */
static int pdf_count_pages(const char *path, const void *data, size_t len,
                           const docformat_limits_t *limits, char *err, size_t errlen) {
  bool recover = docformat_pdf_size(path, len) <= DOCFORMAT_PDF_REPAIR_MAX;
  return docformat_pdf_count(path, data, len, recover, limits, err, errlen);
}

/* Count the pages of the PDF open as fd, mapped read-only: qpdf reads it
 * in place, without a seek and a read per token (which cost seconds for a
 * large page tree), and only the pages of the file it touches become
 * resident, released at munmap.  The spool file is not modified while it
 * is counted (it is still a .part file). */
static int pdf_count_mapped(int fd, off_t size, const docformat_limits_t *limits, char *err,
                            size_t errlen) {
  char ebuf[128];
  void *map;
  int pages;

  if (size <= 0) {
    docformat_set_error(err, errlen, "empty document");
    return DOCFORMAT_ERROR;
  }
  if ((unsigned long long)size > SIZE_MAX) {
    docformat_set_error(err, errlen, "document is too large to read");
    return DOCFORMAT_ERROR;
  }
  map = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (map == MAP_FAILED) {
    docformat_set_error(err, errlen, "cannot read document: %s",
                        docformat_strerror(errno, ebuf, sizeof(ebuf)));
    return DOCFORMAT_ERROR;
  }
  pages = pdf_count_pages(NULL, map, (size_t)size, limits, err, errlen);
  munmap(map, (size_t)size);
  return pages;
}

/* docformat_read_fn over a file descriptor (ctx points to the int). */
static ssize_t docformat_read_fd(void *ctx, void *buf, size_t len) {
  return read(*(int *)ctx, buf, len);
}

int docformat_count_pages_stream(docformat_t fmt, docformat_read_fn read_fn, void *ctx,
                                 const docformat_limits_t *limits, char *err, size_t errlen) {
  docformat_reader_t *r;
  int pages = -1;

  if (!limits) limits = &docformat_default_limits;
  if (err && errlen > 0) err[0] = '\0';
  if (fmt != DOCFORMAT_PWG_RASTER && fmt != DOCFORMAT_URF && fmt != DOCFORMAT_JPEG) {
    docformat_set_error(err, errlen, "unsupported document format");
    return -1;
  }
  /* On the heap to keep worker-thread stacks small. */
  r = calloc(1, sizeof(*r));
  if (!r) {
    docformat_set_error(err, errlen, "out of memory");
    return -1;
  }
  r->read = read_fn;
  r->ctx = ctx;
  switch (fmt) {
    case DOCFORMAT_PWG_RASTER:
      pages = pwg_count_pages(r, limits->max_pages, err, errlen);
      break;
    case DOCFORMAT_URF:
      pages = urf_count_pages(r, limits->max_pages, err, errlen);
      break;
    default:
      pages = jpeg_count_pages(r, err, errlen);
      break;
  }
  free(r);
  return pages;
}

int docformat_count_pages(docformat_t fmt, const char *path, const docformat_limits_t *limits,
                          char *err, size_t errlen) {
  struct stat st;
  char ebuf[128];
  int fd = -1, pages = -1;

  if (!limits) limits = &docformat_default_limits;
  if (err && errlen > 0) err[0] = '\0';
  if (!path) {
    docformat_set_error(err, errlen, "no document file");
    return -1;
  }
  if (fmt != DOCFORMAT_PDF && fmt != DOCFORMAT_PWG_RASTER && fmt != DOCFORMAT_URF &&
      fmt != DOCFORMAT_JPEG) {
    docformat_set_error(err, errlen, "unsupported document format");
    return -1;
  }

  /* O_NONBLOCK so a FIFO cannot hang the open; regular files ignore it. */
  fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    docformat_set_error(err, errlen, "cannot open document: %s",
                        docformat_strerror(errno, ebuf, sizeof(ebuf)));
    goto done;
  }
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    docformat_set_error(err, errlen, "document is not a regular file");
    goto done;
  }
  if (fmt == DOCFORMAT_PDF)
    pages = pdf_count_mapped(fd, st.st_size, limits, err, errlen);
  else
    pages = docformat_count_pages_stream(fmt, docformat_read_fd, &fd, limits, err, errlen);

done:
  if (fd >= 0) close(fd);
  return pages;
}

int docformat_count_pdf_pages_memory(const void *data, size_t len, const docformat_limits_t *limits,
                                     char *err, size_t errlen) {
  if (err && errlen > 0) err[0] = '\0';
  if (!data || len == 0) {
    docformat_set_error(err, errlen, "empty document");
    return -1;
  }
  return pdf_count_pages(NULL, data, len, limits, err, errlen);
}
