/*
 * docformat.h: the document formats Nimbus accepts (PDF, PWG raster, Apple
 * raster/URF, JPEG): recognising them from their first bytes or a MIME
 * media type, and counting the pages of a complete document on disk.
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
 * regular file at path.  Returns the page count (>= 1), or -1 when the file
 * cannot be read or is not a valid document of that format; then a short
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
 *   PDF         qpdf opens the file (with its damaged-xref recovery) and
 *               counts the page tree; qpdf errors or zero pages reject.
 * UNKNOWN is rejected. */
int docformat_count_pages(docformat_t fmt, const char *path, char *err, size_t errlen);

/* Count the pages of a whole PDF held in memory (small documents; qpdf
 * reads it in place).  Returns pages (>= 1) or -1 with a reason in err. */
int docformat_count_pdf_pages_memory(const void *data, size_t len, char *err, size_t errlen);

/* PDFs larger than this must have an intact cross-reference table: qpdf's
 * repair (a full scan) is only attempted for smaller ones. */
#define DOCFORMAT_PDF_REPAIR_MAX (16LL * 1024 * 1024)

#endif
