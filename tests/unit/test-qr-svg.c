/*
 * test-qr-svg.c: a text's QR code as SVG (src/common/qr-svg.c: the panel's
 * payment URLs, nimbusd's claim codes): its squares are exactly libqrencode's dark
 * modules of the text at error correction M, shifted by a quiet zone of 4
 * modules that stays empty; the document is a plain image (no script, no
 * style); and the image, rasterised, decodes back to the URL with zbarimg
 * (zbar-tools).  The rasteriser is rsvg-convert when installed, else the
 * test's own (unit squares filled on a white page, 4 pixels per module),
 * which reads the SVG's geometry as a browser would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <qrencode.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qr-svg.h"

#define PX 4 /* pixels per module in the test's own rasteriser */

static const char *const urls[] = {
    "http://127.0.0.1:8640/pay/8f14e45f",
    ("https://sandbox-web-pay.line.me/web/payment/wait?transactionReserveId="
     "YWRtR0F3NnBoM0RKNHdGT1E3Y2pvWmR0R3B6a2Z3dHB1TWZZaXRJL0c5SnJ0OHBCc0dKeGVQNW05WjRpeGd3Wg"
     "&locale=en_US"),
    ("https://checkout.stripe.com/c/pay/cs_test_a1b2c3d4e5f6g7h8i9j0#fidkdWxOYHwnPyd1blpxYHZxWjA0"
     "T0BcSElVb2ZcQVZ3d2xRf3ZQYXRJaUJcaUBpbV9dRHU2fDB0dl1AR1BHRXY8TEJQVF1RaVY9cUJvS0FiNHNwPyd4J"),
};

/* The dark squares of svg as a side x side bitmap (1: dark); side from
 * the viewBox.  Every square must be a unit square at integer
 * coordinates inside the image. */
static unsigned char *svg_modules(const char *svg, int *side) {
  const char *vb = strstr(svg, "viewBox=\"0 0 ");
  assert_non_null(vb);
  int w = 0, h = 0;
  assert_int_equal(sscanf(vb, "viewBox=\"0 0 %d %d\"", &w, &h), 2);
  assert_int_equal(w, h);
  unsigned char *bits = calloc((size_t)w * (size_t)w, 1);
  assert_non_null(bits);
  const char *d = strstr(svg, " d=\"");
  assert_non_null(d);
  d += 4;
  while (*d == 'M') {
    int x, y, n = 0;
    assert_int_equal(sscanf(d, "M%d %dh1v1h-1z%n", &x, &y, &n), 2);
    assert_true(n > 0);
    assert_true(x >= 0 && x < w && y >= 0 && y < w);
    assert_int_equal(bits[y * w + x], 0); /* each module once */
    bits[y * w + x] = 1;
    d += n;
  }
  assert_int_equal(*d, '"'); /* nothing but squares in the path */
  *side = w;
  return bits;
}

static void test_matches_libqrencode_at_m(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
    int modules = 0, side = 0;
    char *svg = qr_svg(urls[i], &modules);
    assert_non_null(svg);
    QRcode *want = QRcode_encodeString8bit(urls[i], 0, QR_ECLEVEL_M);
    assert_non_null(want);
    assert_int_equal(modules, want->width);
    assert_int_equal((modules - 17) % 4, 0); /* a QR symbol's size: 17 + 4 * version */
    unsigned char *bits = svg_modules(svg, &side);
    assert_int_equal(side, modules + 2 * QR_SVG_QUIET);
    int dark = 0;
    for (int y = 0; y < side; y++)
      for (int x = 0; x < side; x++) {
        int mx = x - QR_SVG_QUIET, my = y - QR_SVG_QUIET;
        bool inside = mx >= 0 && my >= 0 && mx < modules && my < modules;
        int expect = inside ? (want->data[my * modules + mx] & 1) : 0; /* the quiet zone: light */
        if (bits[y * side + x] != expect)
          fail_msg("url %zu: module (%d,%d) is %d, libqrencode says %d", i, x, y,
                   bits[y * side + x], expect);
        dark += bits[y * side + x];
      }
    assert_true(dark > modules * modules / 4); /* a real symbol, not an empty page */
    /* the same text at L is another symbol: the level is really M */
    QRcode *low = QRcode_encodeString8bit(urls[i], want->version, QR_ECLEVEL_L);
    assert_non_null(low);
    if (low->width == want->width)
      assert_memory_not_equal(low->data, want->data, (size_t)(want->width * want->width));
    QRcode_free(low);
    QRcode_free(want);
    free(bits);
    free(svg);
  }
}

static void test_plain_image(void **state) {
  (void)state;
  int modules = 0;
  char *svg = qr_svg(urls[0], &modules);
  assert_non_null(svg);
  assert_true(!strncmp(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39));
  assert_null(strstr(svg, "<script"));
  assert_null(strstr(svg, "style"));
  assert_null(strstr(svg, "href"));
  assert_null(strstr(svg, "8640")); /* the text is encoded, not written into the image */
  assert_non_null(strstr(svg, "shape-rendering=\"crispEdges\""));
  char size[64];
  int px = (modules + 2 * QR_SVG_QUIET) * QR_SVG_MODULE_PX;
  snprintf(size, sizeof size, "width=\"%d\" height=\"%d\"", px, px);
  assert_non_null(strstr(svg, size));
  free(svg);
}

static void test_refused(void **state) {
  (void)state;
  int modules = 7;
  assert_null(qr_svg(NULL, &modules));
  assert_int_equal(modules, 0);
  assert_null(qr_svg("", &modules));
  char *big = malloc(QR_SVG_TEXT_MAX + 2);
  assert_non_null(big);
  memset(big, 'a', QR_SVG_TEXT_MAX + 1);
  big[QR_SVG_TEXT_MAX + 1] = '\0';
  assert_null(qr_svg(big, &modules));
  big[QR_SVG_TEXT_MAX] = '\0'; /* the longest accepted fits a symbol at M */
  char *svg = qr_svg(big, &modules);
  assert_non_null(svg);
  assert_true(modules > 100);
  free(svg);
  free(big);
}

/* Is prog on PATH? */
static bool have(const char *prog) {
  char cmd[160];
  snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", prog);
  return system(cmd) == 0;
}

/* svg rasterised into dir/qr.{png,pgm}; the file's path into out. */
static void rasterise(const char *svg, const char *dir, char *out, size_t len) {
  char src[256], cmd[700];
  if (have("rsvg-convert")) {
    snprintf(src, sizeof src, "%s/qr.svg", dir);
    FILE *f = fopen(src, "w");
    assert_non_null(f);
    fputs(svg, f);
    fclose(f);
    snprintf(out, len, "%s/qr.png", dir);
    snprintf(cmd, sizeof cmd, "rsvg-convert -b white -o '%s' '%s'", out, src);
    assert_int_equal(system(cmd), 0);
    return;
  }
  int side = 0;
  unsigned char *bits = svg_modules(svg, &side);
  snprintf(out, len, "%s/qr.pgm", dir);
  FILE *f = fopen(out, "wb");
  assert_non_null(f);
  fprintf(f, "P5\n%d %d\n255\n", side * PX, side * PX);
  for (int y = 0; y < side * PX; y++)
    for (int x = 0; x < side * PX; x++) fputc(bits[(y / PX) * side + x / PX] ? 0 : 255, f);
  assert_int_equal(fclose(f), 0);
  free(bits);
}

static void test_decodes_with_zbarimg(void **state) {
  (void)state;
  if (!have("zbarimg")) {
    print_message("zbarimg (zbar-tools) not installed: decoding not checked\n");
    skip();
  }
  char dir[] = "/tmp/nimbus-qr-XXXXXX";
  assert_non_null(mkdtemp(dir));
  for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
    char *svg = qr_svg(urls[i], NULL);
    assert_non_null(svg);
    char img[300], cmd[400], got[2048] = "";
    rasterise(svg, dir, img, sizeof img);
    snprintf(cmd, sizeof cmd, "zbarimg --raw -q '%s' 2>/dev/null", img);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(got, 1, sizeof got - 1, p);
    got[n] = '\0';
    assert_int_equal(pclose(p), 0);
    if (n && got[n - 1] == '\n') got[n - 1] = '\0';
    assert_string_equal(got, urls[i]);
    unlink(img);
    free(svg);
  }
  char rm[64];
  snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
  assert_int_equal(system(rm), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_matches_libqrencode_at_m),
      cmocka_unit_test(test_plain_image),
      cmocka_unit_test(test_refused),
      cmocka_unit_test(test_decodes_with_zbarimg),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
