/*
 * qr-svg.c: a text's QR code as SVG (qr-svg.h).  The image needs neither
 * a script nor an inline style, so pages under a strict CSP can show it
 * (the connector's panel serves it as /release/qr.svg; the web console
 * shows a claim code's as a data: or blob: image).
 */
#include "qr-svg.h"

#include <qrencode.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A bounded growing string; false once it could not grow. */
typedef struct {
  char *buf;
  size_t len, cap;
  bool ok;
} qr_buf_t;

static void qr_append(qr_buf_t *b, const char *s) {
  size_t n = strlen(s);
  if (!b->ok) return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n + 1) cap *= 2;
    char *nb = realloc(b->buf, cap);
    if (!nb) {
      b->ok = false;
      return;
    }
    b->buf = nb;
    b->cap = cap;
  }
  memcpy(b->buf + b->len, s, n + 1);
  b->len += n;
}

char *qr_svg(const char *text, int *modules) {
  if (modules) *modules = 0;
  if (!text || !*text || strlen(text) > QR_SVG_TEXT_MAX) return NULL;
  /* version 0: the smallest that fits; 8-bit mode keeps a URL as it is
   * (case-sensitive) */
  QRcode *qr = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M);
  if (!qr) return NULL;
  int w = qr->width, side = w + 2 * QR_SVG_QUIET;
  qr_buf_t b = {.ok = true};
  char num[160];
  snprintf(num, sizeof num,
           "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" "
           "height=\"%d\" viewBox=\"0 0 %d %d\" shape-rendering=\"crispEdges\">\n",
           side * QR_SVG_MODULE_PX, side * QR_SVG_MODULE_PX, side, side);
  qr_append(&b, num);
  snprintf(num, sizeof num, "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n", side, side);
  qr_append(&b, num);
  qr_append(&b, "<path fill=\"#000\" d=\"");
  for (int y = 0; y < w; y++)
    for (int x = 0; x < w; x++)
      if (qr->data[y * w + x] & 1) { /* bit 0: dark */
        snprintf(num, sizeof num, "M%d %dh1v1h-1z", x + QR_SVG_QUIET, y + QR_SVG_QUIET);
        qr_append(&b, num);
      }
  qr_append(&b, "\"/>\n</svg>\n");
  QRcode_free(qr);
  if (!b.ok) {
    free(b.buf);
    return NULL;
  }
  if (modules) *modules = w;
  return b.buf;
}
