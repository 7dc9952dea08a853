/*
 * panel-qr.h: the QR code of a payment URL as an SVG image for the panel's
 * payment screen (libqrencode; error correction M, a quiet zone of
 * PANEL_QR_QUIET modules, one square per dark module).
 */
#ifndef NIMBUS_CONNECTOR_PANEL_QR_H
#define NIMBUS_CONNECTOR_PANEL_QR_H

#include <stddef.h>

#define PANEL_QR_QUIET 4       /* modules of light border on each side */
#define PANEL_QR_MODULE_PX 6   /* the image's size per module (it scales) */
#define PANEL_QR_TEXT_MAX 2048 /* longest text encoded */

/*
 * The QR code of text as a standalone SVG document (image/svg+xml): a
 * white square of (width + 2 * PANEL_QR_QUIET) modules and a single black
 * path of unit squares, one per dark module, at integer coordinates
 * (module (x, y) of the symbol is the square at (x + PANEL_QR_QUIET,
 * y + PANEL_QR_QUIET)), drawn with shape-rendering="crispEdges".  text is
 * encoded as 8-bit data (no escaping needed: nothing of it goes into the
 * SVG).  Returns a malloc'd string (the caller frees it) and the
 * symbol's width in modules in *modules (without the quiet zone); NULL
 * when text is empty, longer than PANEL_QR_TEXT_MAX or does not fit a
 * QR code, or out of memory.
 */
char *panel_qr_svg(const char *text, int *modules);

#endif
