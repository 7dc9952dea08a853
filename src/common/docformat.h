/*
 * docformat.h: the document formats Nimbus accepts (PDF, PWG raster, Apple
 * raster/URF, JPEG): recognising them from their first bytes or a MIME
 * media type, and counting the pages of a complete document (a file, bytes in
 * memory, or a sequential source).
 *
 * Page counting is a validity check as well as a count: a document that
 * does not parse (truncated, corrupt, implausible header) is rejected with
 * a short reason meant for the submitting user.  Raster and JPEG documents
 * are checked streaming with a fixed-size buffer, so memory use does not
 * grow with the document; PDF is opened with qpdf, which reads objects on
 * demand.  All functions are thread-safe (no shared state).
 */
#ifndef NIMBUS_DOCFORMAT_H
#define NIMBUS_DOCFORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum {
  DOCFORMAT_UNKNOWN = 0,
  DOCFORMAT_PDF,
  DOCFORMAT_PWG_RASTER,
  DOCFORMAT_URF,
  DOCFORMAT_JPEG
} docformat_t;

/* Bytes docformat_sniff() needs to see to recognise every format (a PDF
 * header may be preceded by up to 1019 bytes of junk, as in PDF readers). */
#define DOCFORMAT_SNIFF_MAX 1024

/* Largest raster width or height in pixels accepted (CUPS uses the same
 * limit); larger headers are treated as corrupt. */
#define DOCFORMAT_RASTER_MAX_DIMENSION 0x00ffffffu
/* Largest uncompressed raster line accepted, in bytes (as CUPS). */
#define DOCFORMAT_RASTER_MAX_LINE_BYTES (16u * 1024u * 1024u)

/* What a page count may cost (issue 8 item 10: a 1 MB PDF must not take
 * gigabytes).  A count that reaches a limit returns DOCFORMAT_LIMIT with a
 * reason naming the limit. */
typedef struct {
  int max_pages;       /* pages per document, every format */
  int64_t max_inflate; /* PDF: decoded bytes of all object streams */
  int64_t max_objects; /* PDF: objects (trailer /Size, xref entries) */
  int64_t max_memory;  /* PDF: memory qpdf may hold during the count */
} docformat_limits_t;

#define DOCFORMAT_DEFAULT_MAX_PAGES 10000
#define DOCFORMAT_DEFAULT_MAX_INFLATE (16LL * 1024 * 1024)
#define DOCFORMAT_DEFAULT_MAX_OBJECTS 250000
#define DOCFORMAT_DEFAULT_MAX_MEMORY (32LL * 1024 * 1024)
/* The defaults above, for callers without a configuration. */
extern const docformat_limits_t docformat_default_limits;

/* Deepest PDF page tree accepted (real documents use a handful of levels). */
#define DOCFORMAT_PDF_MAX_DEPTH 256
/* Budget of the first, concurrent attempt at a PDF count; one that needs
 * more is counted again with max_memory, one at a time per process. */
#define DOCFORMAT_PDF_SMALL_BUDGET (2u * 1024u * 1024u)
/* A PDF count that held more memory than this trims the heap afterwards. */
#define DOCFORMAT_PDF_TRIM_AFTER (1024u * 1024u)

/* Page count results below 1. */
#define DOCFORMAT_ERROR (-1) /* unreadable or invalid document */
#define DOCFORMAT_LIMIT (-2) /* a docformat_limits_t limit was reached */

/* Identify a format from the first bytes of a document (magic numbers).
 * len may be short (then UNKNOWN unless the magic fits); buf may be NULL
 * when len is 0.  Looks at no more than DOCFORMAT_SNIFF_MAX bytes. */
docformat_t docformat_sniff(const unsigned char *buf, size_t len);

/* MIME type string for a format ("application/pdf", "image/pwg-raster",
 * "image/urf", "image/jpeg"); NULL for UNKNOWN.  Returns a static string. */
const char *docformat_mime(docformat_t fmt);

/* Map a MIME media type to a format.  Matching is case-insensitive;
 * parameters after ';' and surrounding blanks are ignored.
 * "application/octet-stream" returns UNKNOWN and sets *is_auto = true (the
 * client asks the server to sniff); any other unsupported or NULL type
 * returns UNKNOWN with *is_auto = false.  is_auto may be NULL. */
docformat_t docformat_from_mime(const char *mime, bool *is_auto);

/* Supported MIME types, NULL-terminated, for document-format-supported
 * (includes "application/octet-stream").  Static storage. */
extern const char *const docformat_supported[];

/* Count the pages of a complete document of format fmt stored in the
 * regular file at path, within limits (NULL: docformat_default_limits).
 * Returns the page count (>= 1), DOCFORMAT_LIMIT when a limit is reached,
 * or DOCFORMAT_ERROR (-1) when the file cannot be read or is not a valid
 * document of that format; in both failure cases a short
 * human-readable reason (never containing the path) is written to err
 * (NUL-terminated, truncated to errlen; err may be NULL if errlen is 0).
 *
 * Checks made:
 *   PWG raster  "RaS2", then per page a 1796-byte big-endian header and
 *               compressed lines; header fields must be sane (chunky order,
 *               bits per colour/pixel, width/height, bytes per line), every
 *               line must decode to exactly one line, the file must end on
 *               a page boundary, and a nonzero TotalPageCount in the first
 *               header must equal the pages found.
 *   URF         "UNIRAST\0" and a page count, then per page a 32-byte
 *               header and compressed lines, checked as for PWG; a nonzero
 *               page count in the file header must equal the pages found.
 *   JPEG        SOI, well-formed marker segments, a frame header, a scan and
 *               an EOI marker; always one page.
 *   PDF         the file is mapped read-only and qpdf reads it in place (with
 *               its damaged-xref recovery for files up to
 *               DOCFORMAT_PDF_REPAIR_MAX) under
 *               a memory budget (max_memory); the object count, the decoded
 *               size of the object streams and the page tree (pages, depth,
 *               loops) are checked before anything else is read
 *               (docformat-pdf.cc); qpdf errors or zero pages reject.
 * Every format: more than max_pages pages is DOCFORMAT_LIMIT.
 * UNKNOWN is rejected. */
int docformat_count_pages(docformat_t fmt, const char *path, const docformat_limits_t *limits,
                          char *err, size_t errlen);

/* A sequential source of document bytes: copy up to len bytes into buf;
 * returns how many (0 at the end), or -1 with errno set on an error. */
typedef ssize_t (*docformat_read_fn)(void *ctx, void *buf, size_t len);

/* Count the pages of a raster or JPEG document read from start to end
 * through read_fn(ctx, ...), with the checks and results of
 * docformat_count_pages (memory: one fixed buffer).  PDF is refused here:
 * qpdf needs the whole document in contiguous memory (a mapped view, see
 * docformat_count_pdf_pages_memory). */
int docformat_count_pages_stream(docformat_t fmt, docformat_read_fn read_fn, void *ctx,
                                 const docformat_limits_t *limits, char *err, size_t errlen);

/* Count the pages of a whole PDF held in memory (small documents; qpdf
 * reads it in place), as docformat_count_pages. */
int docformat_count_pdf_pages_memory(const void *data, size_t len, const docformat_limits_t *limits,
                                     char *err, size_t errlen);

/* The PDF counter (docformat-pdf.cc): the file at path, or data/len when
 * path is NULL; recover enables qpdf's damaged-xref repair. */
int docformat_pdf_count(const char *path, const void *data, size_t len, bool recover,
                        const docformat_limits_t *limits, char *err, size_t errlen);

/* PDFs larger than this must have an intact cross-reference table: qpdf's
 * repair (a full scan) is only attempted for smaller ones. */
#define DOCFORMAT_PDF_REPAIR_MAX (16LL * 1024 * 1024)

#endif
