/*
 * test-driverless.c: unit tests for driverless.c: completing a printer's
 * attribute set for driverless clients (what CUPS's PPD generator refuses
 * a printer without), and the escaping of the information page.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "driverless.h"

#include <stdlib.h>
#include <string.h>

static ipp_attribute_t *find(ipp_t *p, const char *name) {
  return ippFindAttribute(p, name, IPP_TAG_ZERO);
}

static const char *str(ipp_t *p, const char *name) {
  ipp_attribute_t *a = find(p, name);
  return a ? ippGetString(a, 0, NULL) : NULL;
}

/* What a printer that says little reports: formats, one size, colour. */
static ipp_t *partial_printer(void) {
  ipp_t *p = ippNew();
  static const char *const formats[] = {"application/pdf", "image/urf", "image/pwg-raster"};
  static const char *const sides[] = {"one-sided", "two-sided-long-edge"};
  static const char *const modes[] = {"monochrome", "color"};
  ippAddStrings(p, IPP_TAG_PRINTER, IPP_TAG_MIMETYPE, "document-format-supported", 3, NULL,
                formats);
  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "media-supported", NULL, "na_letter_8.5x11in");
  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "media-default", NULL, "iso_a4_210x297mm");
  ippAddStrings(p, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "sides-supported", 2, NULL, sides);
  ippAddStrings(p, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "print-color-mode-supported", 2, NULL, modes);
  int res[] = {300, 600};
  ippAddResolutions(p, IPP_TAG_PRINTER, "printer-resolution-supported", 2, IPP_RES_PER_INCH, res,
                    res);
  return p;
}

static void test_complete_partial(void **state) {
  (void)state;
  ipp_t *p = partial_printer();
  driverless_complete(p, "Acme Laser 9000");

  /* a default that is not supported becomes the first supported value */
  assert_string_equal(str(p, "media-default"), "na_letter_8.5x11in");
  ipp_attribute_t *db = find(p, "media-col-database");
  assert_non_null(db);
  assert_int_equal(ippGetValueTag(db), IPP_TAG_BEGIN_COLLECTION);
  assert_int_equal(ippGetCount(db), 1);
  ipp_t *size = ippGetCollection(
      ippFindAttribute(ippGetCollection(db, 0), "media-size", IPP_TAG_BEGIN_COLLECTION), 0);
  assert_int_equal(ippGetInteger(ippFindAttribute(size, "x-dimension", IPP_TAG_INTEGER), 0), 21590);
  ipp_attribute_t *def = find(p, "media-col-default");
  assert_non_null(def);
  assert_int_equal(ippGetCount(def), 1);
  assert_string_equal(
      ippGetString(ippFindAttribute(ippGetCollection(def, 0), "media-size-name", IPP_TAG_KEYWORD),
                   0, NULL),
      "na_letter_8.5x11in");
  assert_int_equal(ippGetInteger(find(p, "media-top-margin-supported"), 0), DRIVERLESS_MARGIN);

  /* urf-supported: CUPS 2.4 needs an RS value when image/urf is listed */
  ipp_attribute_t *urf = find(p, "urf-supported");
  assert_non_null(urf);
  assert_true(ippContainsString(urf, "RS300-600"));
  assert_true(ippContainsString(urf, "SRGB24"));
  assert_true(ippContainsString(urf, "DM1"));
  assert_non_null(find(p, "pwg-raster-document-resolution-supported"));
  assert_true(ippContainsString(find(p, "pwg-raster-document-type-supported"), "srgb_8"));
  assert_string_equal(str(p, "pwg-raster-document-sheet-back"), "normal");
  assert_non_null(find(p, "pdf-versions-supported"));

  assert_true(ippGetBoolean(find(p, "color-supported"), 0));
  assert_string_equal(str(p, "sides-default"), "one-sided");
  assert_string_equal(str(p, "printer-make-and-model"), "Acme Laser 9000");
  assert_string_equal(str(p, "printer-device-id"),
                      "MFG:Acme;MDL:Laser 9000;CMD:PDF,PWGRaster,URF;");
  ipp_res_t units;
  int y, x = ippGetResolution(find(p, "printer-resolution-default"), 0, &y, &units);
  assert_int_equal(x, 300);
  assert_int_equal(units, IPP_RES_PER_INCH);
  ippDelete(p);
}

/* What the printer says stays: its urf-supported, its media-col-database. */
static void test_complete_keeps(void **state) {
  (void)state;
  ipp_t *p = partial_printer();
  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "urf-supported", NULL, "RS600");
  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_TEXT, "printer-make-and-model", NULL, "Own Model");
  ippAddBoolean(p, IPP_TAG_PRINTER, "color-supported", 0);
  driverless_complete(p, "Fallback");
  ipp_attribute_t *urf = find(p, "urf-supported");
  assert_int_equal(ippGetCount(urf), 1);
  assert_string_equal(ippGetString(urf, 0, NULL), "RS600");
  assert_string_equal(str(p, "printer-make-and-model"), "Own Model");
  assert_false(ippGetBoolean(find(p, "color-supported"), 0));
  driverless_complete(p, "Fallback"); /* idempotent: nothing added twice */
  assert_int_equal(ippGetCount(find(p, "media-col-database")), 1);
  ippDelete(p);
}

/* An empty set still becomes one CUPS accepts: sizes and a raster format's
 * attributes are only added when the format is listed. */
static void test_complete_empty(void **state) {
  (void)state;
  ipp_t *p = ippNew();
  driverless_complete(p, NULL);
  assert_int_equal(ippGetCount(find(p, "media-supported")), 2);
  assert_int_equal(ippGetCount(find(p, "media-col-database")), 2);
  assert_null(find(p, "urf-supported"));
  assert_null(find(p, "printer-make-and-model"));
  assert_string_equal(str(p, "print-color-mode-default"), "monochrome");
  assert_false(ippGetBoolean(find(p, "color-supported"), 0));
  ippDelete(p);
}

static void test_page_escapes(void **state) {
  (void)state;
  driverless_page_t page = {.name = "lobby<script>",
                            .location = "2nd \"floor\" & 'east'",
                            .state = "idle",
                            .host = "print.example.com:8631",
                            .path = "/ipp/print/acme/office"};
  size_t len = 0;
  char *html = driverless_page_html(&page, &len);
  assert_non_null(html);
  assert_int_equal(strlen(html), len);
  assert_null(strstr(html, "<script>"));
  assert_non_null(strstr(html, "lobby&lt;script&gt;"));
  assert_non_null(strstr(html, "2nd &quot;floor&quot; &amp; &#39;east&#39;"));
  assert_non_null(strstr(html, "ipp://print.example.com:8631/ipp/print/acme/office"));
  assert_non_null(strstr(html, "http://print.example.com:8631/ipp/print/acme/office"));
  /* the CUPS queue name keeps only letters, digits, '-' and '_' */
  assert_non_null(strstr(html, "lpadmin -p lobby-script- -E"));
  free(html);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_complete_partial),
      cmocka_unit_test(test_complete_keeps),
      cmocka_unit_test(test_complete_empty),
      cmocka_unit_test(test_page_escapes),
  };
  return cmocka_run_group_tests_name("driverless", tests, NULL, NULL);
}
