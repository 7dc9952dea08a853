/*
 * driverless.h: what driverless clients need of an IPP printer, shared by
 * nimbusd's cloud queues and nimbus-connector's printer for PCs.
 *
 * CUPS (`lpadmin -m everywhere`, which macOS and the cups-browsed/IPP
 * Everywhere path share) builds its PPD from Get-Printer-Attributes and
 * refuses a printer that lists image/urf without urf-supported, or
 * image/pwg-raster without the pwg-raster-document-* attributes, or that
 * has no media list; Windows' IPP class driver wants media-col-database,
 * media-col-default and printer-device-id.  driverless_complete() adds
 * whatever of that a printer's attribute set lacks, derived from what it
 * has (formats, resolutions, media, sides, colour), so every set a
 * printer reports, however partial, becomes a complete one.
 *
 * driverless_page_html() renders the small information page a browser
 * gets at a printer's IPP address (HTML, every value escaped).
 */
#ifndef NIMBUS_COMMON_DRIVERLESS_H
#define NIMBUS_COMMON_DRIVERLESS_H

#include <cups/cups.h>
#include <stdbool.h>
#include <stddef.h>

/* Margin (hundredths of mm) of the media collections made here. */
#define DRIVERLESS_MARGIN 423

/*
 * Add to p (printer attributes, group IPP_TAG_PRINTER) every attribute of
 * the driverless set it lacks: media-supported/-default/-ready,
 * media-col-database/-default/-ready/-supported, media-size-supported,
 * the margins, media-source/-type, printer-resolution, sides,
 * print-color-mode and color-supported, print-quality, output-bin,
 * finishings, orientation-requested, copies, print-scaling, urf-supported
 * (when image/urf is listed), pwg-raster-document-* (image/pwg-raster),
 * pdf-versions-supported (application/pdf), printer-make-and-model (from
 * make_model) and printer-device-id.  A keyword xxx-default that is not
 * among its xxx-supported values is replaced by the first of them.
 * Attributes p already has are kept.
 */
void driverless_complete(ipp_t *p, const char *make_model);

/* What the information page shows; NULL or "" members are left out. */
typedef struct {
  const char *name;          /* printer-name */
  const char *info;          /* printer-info */
  const char *location;      /* printer-location */
  const char *make_model;    /* printer-make-and-model */
  const char *state;         /* "idle", "processing" or "stopped" */
  const char *state_message; /* printer-state-message */
  bool tls;                  /* ipps:// and https:// */
  const char *host;          /* host[:port] the browser used */
  const char *path;          /* "/ipp/print/..." */
  const char *note;          /* one more paragraph (how jobs are released...) */
  const char *lpadmin_extra; /* appended to the lpadmin line, e.g. " -o ..." */
} driverless_page_t;

/*
 * The page as a NUL-terminated malloc'd string (caller frees; *len its
 * length); NULL when out of memory.  Every value is HTML-escaped.
 */
char *driverless_page_html(const driverless_page_t *p, size_t *len);

/* The headers that go with the page: no scripts, styles or framing. */
#define DRIVERLESS_PAGE_CSP "default-src 'none'; frame-ancestors 'none'"

#endif
