/*
 * qr-svg.h: a text's QR code as an SVG image (libqrencode; error
 * correction M, a quiet zone of QR_SVG_QUIET modules, one square per dark
 * module).  Shared: the connector's panel draws payment URLs with it,
 * nimbusd the claim codes of new printers (PROTOCOL.md §4.8).
 */
#ifndef NIMBUS_QR_SVG_H
#define NIMBUS_QR_SVG_H

#include <stddef.h>

#define QR_SVG_QUIET 4       /* modules of light border on each side */
#define QR_SVG_MODULE_PX 6   /* the image's size per module (it scales) */
#define QR_SVG_TEXT_MAX 2048 /* longest text encoded */

/*
 * The QR code of text as a standalone SVG document (image/svg+xml): a
 * white square of (width + 2 * QR_SVG_QUIET) modules and a single black
 * path of unit squares, one per dark module, at integer coordinates
 * (module (x, y) of the symbol is the square at (x + QR_SVG_QUIET,
 * y + QR_SVG_QUIET)), drawn with shape-rendering="crispEdges".  text is
 * encoded as 8-bit data (no escaping needed: nothing of it goes into the
 * SVG).  Returns a malloc'd string (the caller frees it) and the
 * symbol's width in modules in *modules (without the quiet zone); NULL
 * when text is empty, longer than QR_SVG_TEXT_MAX or does not fit a
 * QR code, or out of memory.
 */
char *qr_svg(const char *text, int *modules);

#endif
