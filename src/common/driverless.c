/*
 * driverless.c: completing a printer's attribute set for driverless
 * clients, and the printer information page (see driverless.h).
 *
 * Everything here derives from what the set already says, in this order:
 * media (sizes, then margins, sources, types, then the collections built
 * from them), resolutions, sides, colour, quality and the other job
 * templates, then the format-specific attributes (urf-supported,
 * pwg-raster-document-*), which read the values completed before them.
 */
#include "driverless.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DL_MEDIA_MAX 256 /* media keywords looked at */
#define DL_RES_MAX 16    /* distinct resolutions looked at */
#define DL_PAGE_MAX 32768

/* ---- small helpers ---- */

static ipp_attribute_t *dl_find(ipp_t *p, const char *name) {
  return ippFindAttribute(p, name, IPP_TAG_ZERO);
}

static bool dl_has_string(ipp_attribute_t *a, const char *v) {
  return a && v && ippContainsString(a, v);
}

/*
 * base-supported (keywords): fallback when missing.  base-default: kept
 * when it is one of the supported values, else `preferred` when that is
 * supported, else the first supported value.
 */
static void dl_keyword_pair(ipp_t *p, const char *base, const char *const *fallback, int nfallback,
                            const char *preferred) {
  char name[96];
  snprintf(name, sizeof name, "%s-supported", base);
  ipp_attribute_t *sup = dl_find(p, name);
  if (!sup || ippGetCount(sup) < 1 || !ippGetString(sup, 0, NULL)) {
    if (sup) ippDeleteAttribute(p, sup);
    sup = ippAddStrings(p, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, name, nfallback, NULL, fallback);
  }
  snprintf(name, sizeof name, "%s-default", base);
  ipp_attribute_t *def = dl_find(p, name);
  const char *v = def ? ippGetString(def, 0, NULL) : NULL;
  if (v && dl_has_string(sup, v)) return;
  if (def) ippDeleteAttribute(p, def);
  const char *pick =
      preferred && dl_has_string(sup, preferred) ? preferred : ippGetString(sup, 0, NULL);
  ippAddString(p, IPP_TAG_PRINTER, ippGetValueTag(sup), name, NULL, pick);
}

/* The same for an enum attribute. */
static void dl_enum_pair(ipp_t *p, const char *base, const int *fallback, int nfallback,
                         int preferred) {
  char name[96];
  snprintf(name, sizeof name, "%s-supported", base);
  ipp_attribute_t *sup = dl_find(p, name);
  if (!sup || ippGetValueTag(sup) != IPP_TAG_ENUM || ippGetCount(sup) < 1) {
    if (sup) ippDeleteAttribute(p, sup);
    sup = ippAddIntegers(p, IPP_TAG_PRINTER, IPP_TAG_ENUM, name, nfallback, fallback);
  }
  snprintf(name, sizeof name, "%s-default", base);
  ipp_attribute_t *def = dl_find(p, name);
  if (def && ippGetValueTag(def) == IPP_TAG_ENUM && ippContainsInteger(sup, ippGetInteger(def, 0)))
    return;
  if (def) ippDeleteAttribute(p, def);
  int pick = ippContainsInteger(sup, preferred) ? preferred : ippGetInteger(sup, 0);
  ippAddInteger(p, IPP_TAG_PRINTER, IPP_TAG_ENUM, name, pick);
}

/* The largest value of an integer attribute, or fallback. */
static int dl_max_int(ipp_t *p, const char *name, int fallback) {
  ipp_attribute_t *a = dl_find(p, name);
  if (!a || ippGetValueTag(a) != IPP_TAG_INTEGER || ippGetCount(a) < 1) return fallback;
  int m = ippGetInteger(a, 0);
  for (int i = 1; i < ippGetCount(a); i++)
    if (ippGetInteger(a, i) > m) m = ippGetInteger(a, i);
  return m;
}

/* ---- media ---- */

typedef struct {
  int margins[4]; /* bottom, left, right, top */
  const char *source, *type;
} dl_media_t;

static const char *const dl_margin_names[4] = {"media-bottom-margin", "media-left-margin",
                                               "media-right-margin", "media-top-margin"};

/* A media-size collection for a PWG size name; NULL when the size is not
 * a fixed one libcups knows (custom ranges, vendor names). */
static ipp_t *dl_media_size(const char *keyword) {
  if (!keyword || strstr(keyword, "_min_") || strstr(keyword, "_max_")) return NULL;
  pwg_media_t *pwg = pwgMediaForPWG(keyword);
  if (!pwg || pwg->width <= 0 || pwg->length <= 0) return NULL;
  ipp_t *size = ippNew();
  ippAddInteger(size, IPP_TAG_ZERO, IPP_TAG_INTEGER, "x-dimension", pwg->width);
  ippAddInteger(size, IPP_TAG_ZERO, IPP_TAG_INTEGER, "y-dimension", pwg->length);
  return size;
}

/* A media-col for keyword (NULL when its size is unknown). */
static ipp_t *dl_media_col(const char *keyword, const dl_media_t *m, bool with_source_type) {
  ipp_t *size = dl_media_size(keyword);
  if (!size) return NULL;
  ipp_t *col = ippNew();
  ippAddCollection(col, IPP_TAG_ZERO, "media-size", size);
  ippDelete(size);
  ippAddString(col, IPP_TAG_ZERO, IPP_TAG_KEYWORD, "media-size-name", NULL, keyword);
  for (int i = 0; i < 4; i++)
    ippAddInteger(col, IPP_TAG_ZERO, IPP_TAG_INTEGER, dl_margin_names[i], m->margins[i]);
  if (with_source_type) {
    ippAddString(col, IPP_TAG_ZERO, IPP_TAG_KEYWORD, "media-source", NULL, m->source);
    ippAddString(col, IPP_TAG_ZERO, IPP_TAG_KEYWORD, "media-type", NULL, m->type);
  }
  return col;
}

/* Add `name` as a 1setOf collection, one per keyword of `media` (keywords
 * whose size is unknown are skipped; nothing is added when none is known). */
static void dl_add_media_cols(ipp_t *p, const char *name, ipp_attribute_t *media,
                              const dl_media_t *m, bool with_source_type) {
  ipp_attribute_t *attr = NULL;
  for (int i = 0; media && i < ippGetCount(media) && i < DL_MEDIA_MAX; i++) {
    ipp_t *col = dl_media_col(ippGetString(media, i, NULL), m, with_source_type);
    if (!col) continue;
    if (!attr)
      attr = ippAddCollection(p, IPP_TAG_PRINTER, name, col);
    else
      ippSetCollection(p, &attr, ippGetCount(attr), col);
    ippDelete(col);
  }
}

/* media-supported from media-col-database's size names when only that is
 * there, else the two everyday sizes. */
static void dl_complete_media_supported(ipp_t *p) {
  ipp_attribute_t *sup = dl_find(p, "media-supported");
  if (sup && ippGetCount(sup) > 0 && ippGetString(sup, 0, NULL)) return;
  if (sup) ippDeleteAttribute(p, sup);
  const char *names[DL_MEDIA_MAX];
  int n = 0;
  ipp_attribute_t *db = dl_find(p, "media-col-database");
  for (int i = 0; db && ippGetValueTag(db) == IPP_TAG_BEGIN_COLLECTION && i < ippGetCount(db);
       i++) {
    ipp_attribute_t *sn =
        ippFindAttribute(ippGetCollection(db, i), "media-size-name", IPP_TAG_ZERO);
    const char *v = sn ? ippGetString(sn, 0, NULL) : NULL;
    bool seen = false;
    for (int k = 0; v && k < n; k++) seen = seen || !strcmp(names[k], v);
    if (v && !seen && n < DL_MEDIA_MAX) names[n++] = v;
  }
  static const char *const everyday[] = {"iso_a4_210x297mm", "na_letter_8.5x11in"};
  /* ippAddStrings copies the names (they belong to media-col-database) */
  if (n > 0)
    ippAddStrings(p, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "media-supported", n, NULL, names);
  else
    ippAddStrings(p, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "media-supported", 2, NULL, everyday);
}

static void dl_complete_media(ipp_t *p) {
  dl_complete_media_supported(p);
  ipp_attribute_t *sup = dl_find(p, "media-supported");
  /* media-default: kept when supported; A4 or Letter preferred otherwise */
  const char *preferred =
      dl_has_string(sup, "iso_a4_210x297mm") ? "iso_a4_210x297mm" : "na_letter_8.5x11in";
  dl_keyword_pair(p, "media", NULL, 0, preferred);
  sup = dl_find(p, "media-supported");
  if (!dl_find(p, "media-ready")) {
    /* what is loaded is not known: every fixed size is offered */
    const char *names[DL_MEDIA_MAX];
    int n = 0;
    for (int i = 0; i < ippGetCount(sup) && n < DL_MEDIA_MAX; i++) {
      ipp_t *size = dl_media_size(ippGetString(sup, i, NULL));
      if (size) names[n++] = ippGetString(sup, i, NULL);
      ippDelete(size);
    }
    if (n > 0) ippAddStrings(p, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "media-ready", n, NULL, names);
  }

  dl_media_t m;
  for (int i = 0; i < 4; i++) {
    char name[64];
    snprintf(name, sizeof name, "%s-supported", dl_margin_names[i]);
    if (!dl_find(p, name))
      ippAddInteger(p, IPP_TAG_PRINTER, IPP_TAG_INTEGER, name, DRIVERLESS_MARGIN);
    m.margins[i] = dl_max_int(p, name, DRIVERLESS_MARGIN);
  }
  static const char *const sources[] = {"auto"};
  static const char *const types[] = {"stationery"};
  dl_keyword_pair(p, "media-source", sources, 1, "auto");
  dl_keyword_pair(p, "media-type", types, 1, "stationery");
  m.source = ippGetString(dl_find(p, "media-source-default"), 0, NULL);
  m.type = ippGetString(dl_find(p, "media-type-default"), 0, NULL);

  sup = dl_find(p, "media-supported");
  if (!dl_find(p, "media-col-database")) dl_add_media_cols(p, "media-col-database", sup, &m, false);
  if (!dl_find(p, "media-col-default"))
    dl_add_media_cols(p, "media-col-default", dl_find(p, "media-default"), &m, true);
  if (!dl_find(p, "media-col-ready"))
    dl_add_media_cols(p, "media-col-ready", dl_find(p, "media-ready"), &m, true);
  if (!dl_find(p, "media-size-supported")) {
    ipp_attribute_t *attr = NULL;
    for (int i = 0; i < ippGetCount(sup) && i < DL_MEDIA_MAX; i++) {
      ipp_t *size = dl_media_size(ippGetString(sup, i, NULL));
      if (!size) continue;
      if (!attr)
        attr = ippAddCollection(p, IPP_TAG_PRINTER, "media-size-supported", size);
      else
        ippSetCollection(p, &attr, ippGetCount(attr), size);
      ippDelete(size);
    }
  }
  if (!dl_find(p, "media-col-supported")) {
    static const char *const members[] = {
        "media-size",         "media-size-name",  "media-bottom-margin", "media-left-margin",
        "media-right-margin", "media-top-margin", "media-source",        "media-type"};
    ippAddStrings(p, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "media-col-supported", 8, NULL, members);
  }
}

/* ---- resolutions ---- */

/* Distinct x resolutions in dpi, ascending; returns their number. */
static int dl_resolutions(ipp_t *p, int out[DL_RES_MAX]) {
  ipp_attribute_t *a = ippFindAttribute(p, "printer-resolution-supported", IPP_TAG_RESOLUTION);
  int n = 0;
  for (int i = 0; a && i < ippGetCount(a); i++) {
    ipp_res_t units;
    int y, x = ippGetResolution(a, i, &y, &units);
    if (units == IPP_RES_PER_CM) x = x * 254 / 100;
    if (x <= 0) continue;
    int k = 0;
    while (k < n && out[k] < x) k++;
    if (k < n && out[k] == x) continue;
    if (n == DL_RES_MAX) break;
    memmove(out + k + 1, out + k, (size_t)(n - k) * sizeof *out);
    out[k] = x;
    n++;
  }
  return n;
}

static void dl_complete_resolution(ipp_t *p) {
  ipp_attribute_t *sup = ippFindAttribute(p, "printer-resolution-supported", IPP_TAG_RESOLUTION);
  if (!sup) {
    ipp_attribute_t *other = dl_find(p, "printer-resolution-supported");
    if (other) ippDeleteAttribute(p, other);
    sup = ippAddResolution(p, IPP_TAG_PRINTER, "printer-resolution-supported", IPP_RES_PER_INCH,
                           300, 300);
  }
  ipp_attribute_t *def = dl_find(p, "printer-resolution-default");
  if (def && ippGetValueTag(def) == IPP_TAG_RESOLUTION) return;
  if (def) ippDeleteAttribute(p, def);
  ipp_res_t units;
  int y, x = ippGetResolution(sup, 0, &y, &units);
  ippAddResolution(p, IPP_TAG_PRINTER, "printer-resolution-default", units, x, y);
}

/* ---- formats ---- */

static void dl_complete_urf(ipp_t *p, bool color, bool duplex) {
  if (dl_find(p, "urf-supported")) return;
  int res[DL_RES_MAX];
  int nres = dl_resolutions(p, res);
  char rs[128] = "RS300";
  size_t len = 0;
  for (int i = 0; i < nres; i++) {
    int w = snprintf(rs + len, sizeof rs - len, "%s%d", i ? "-" : "RS", res[i]);
    if (w < 0 || (size_t)w >= sizeof rs - len) break;
    len += (size_t)w;
  }
  char pq[32] = "PQ4";
  ipp_attribute_t *q = ippFindAttribute(p, "print-quality-supported", IPP_TAG_ENUM);
  len = 0;
  for (int i = 0; q && i < ippGetCount(q) && i < 3; i++) {
    int w = snprintf(pq + len, sizeof pq - len, "%s%d", i ? "-" : "PQ", ippGetInteger(q, i));
    if (w < 0 || (size_t)w >= sizeof pq - len) break;
    len += (size_t)w;
  }
  const char *v[8];
  int n = 0;
  v[n++] = "V1.4";
  v[n++] = "CP1";
  v[n++] = "W8";
  if (color) v[n++] = "SRGB24";
  v[n++] = rs;
  if (duplex) v[n++] = "DM1";
  v[n++] = pq;
  ippAddStrings(p, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "urf-supported", n, NULL, v);
}

static void dl_complete_pwg_raster(ipp_t *p, bool color, bool duplex) {
  if (!dl_find(p, "pwg-raster-document-resolution-supported")) {
    int res[DL_RES_MAX];
    int n = dl_resolutions(p, res);
    if (n == 0) res[n++] = 300;
    ippAddResolutions(p, IPP_TAG_PRINTER, "pwg-raster-document-resolution-supported", n,
                      IPP_RES_PER_INCH, res, res);
  }
  if (!dl_find(p, "pwg-raster-document-type-supported")) {
    static const char *const types[] = {"sgray_8", "srgb_8"};
    ippAddStrings(p, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "pwg-raster-document-type-supported",
                  color ? 2 : 1, NULL, types);
  }
  if (duplex && !dl_find(p, "pwg-raster-document-sheet-back"))
    ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "pwg-raster-document-sheet-back", NULL,
                 "normal");
}

/* printer-device-id (IEEE 1284): MFG and MDL from the make and model,
 * CMD from the formats. */
static void dl_complete_device_id(ipp_t *p, ipp_attribute_t *formats) {
  if (dl_find(p, "printer-device-id")) return;
  const char *mm = ippGetString(dl_find(p, "printer-make-and-model"), 0, NULL);
  char make[128];
  snprintf(make, sizeof make, "%s", mm && *mm ? mm : "Nimbus Print");
  for (char *s = make; *s; s++)
    if (*s == ';' || *s == ':' || (unsigned char)*s < 0x20) *s = ' ';
  char *model = strchr(make, ' ');
  if (model) *model++ = '\0';
  static const struct {
    const char *mime, *cmd;
  } cmds[] = {{"application/pdf", "PDF"},
              {"image/pwg-raster", "PWGRaster"},
              {"image/urf", "URF"},
              {"image/jpeg", "JPEG"}};
  char cmd[96] = "";
  size_t len = 0;
  for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
    if (!dl_has_string(formats, cmds[i].mime)) continue;
    int w = snprintf(cmd + len, sizeof cmd - len, "%s%s", len ? "," : "", cmds[i].cmd);
    if (w > 0 && (size_t)w < sizeof cmd - len) len += (size_t)w;
  }
  char id[400];
  snprintf(id, sizeof id, "MFG:%s;MDL:%s;CMD:%s;", make, model && *model ? model : make, cmd);
  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_TEXT, "printer-device-id", NULL, id);
}

void driverless_complete(ipp_t *p, const char *make_model) {
  if (!p) return;
  if (!dl_find(p, "printer-make-and-model") && make_model)
    ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_TEXT, "printer-make-and-model", NULL, make_model);

  dl_complete_media(p);
  dl_complete_resolution(p);

  static const char *const sides[] = {"one-sided"};
  dl_keyword_pair(p, "sides", sides, 1, "one-sided");
  bool duplex = dl_has_string(dl_find(p, "sides-supported"), "two-sided-long-edge");

  ipp_attribute_t *cs = ippFindAttribute(p, "color-supported", IPP_TAG_BOOLEAN);
  static const char *const modes[] = {"monochrome", "color"};
  dl_keyword_pair(p, "print-color-mode", modes, cs && ippGetBoolean(cs, 0) ? 2 : 1, NULL);
  bool color = dl_has_string(dl_find(p, "print-color-mode-supported"), "color");
  if (!cs) ippAddBoolean(p, IPP_TAG_PRINTER, "color-supported", color);

  static const int qualities[] = {IPP_QUALITY_DRAFT, IPP_QUALITY_NORMAL, IPP_QUALITY_HIGH};
  dl_enum_pair(p, "print-quality", qualities, 3, IPP_QUALITY_NORMAL);
  static const int finishings[] = {IPP_FINISHINGS_NONE};
  dl_enum_pair(p, "finishings", finishings, 1, IPP_FINISHINGS_NONE);
  static const int orientations[] = {IPP_ORIENT_PORTRAIT, IPP_ORIENT_LANDSCAPE,
                                     IPP_ORIENT_REVERSE_LANDSCAPE, IPP_ORIENT_REVERSE_PORTRAIT};
  dl_enum_pair(p, "orientation-requested", orientations, 4, IPP_ORIENT_PORTRAIT);
  static const char *const bins[] = {"face-down"};
  dl_keyword_pair(p, "output-bin", bins, 1, NULL);
  static const char *const scaling[] = {"auto", "fill", "fit", "none"};
  dl_keyword_pair(p, "print-scaling", scaling, 4, "auto");
  if (!dl_find(p, "copies-supported")) ippAddRange(p, IPP_TAG_PRINTER, "copies-supported", 1, 999);
  if (!dl_find(p, "copies-default"))
    ippAddInteger(p, IPP_TAG_PRINTER, IPP_TAG_INTEGER, "copies-default", 1);

  ipp_attribute_t *formats = dl_find(p, "document-format-supported");
  if (dl_has_string(formats, "image/urf")) dl_complete_urf(p, color, duplex);
  if (dl_has_string(formats, "image/pwg-raster")) dl_complete_pwg_raster(p, color, duplex);
  if (dl_has_string(formats, "application/pdf") && !dl_find(p, "pdf-versions-supported")) {
    static const char *const versions[] = {"adobe-1.3", "adobe-1.4", "adobe-1.5",
                                           "adobe-1.6", "adobe-1.7", "iso-32000-1_2008"};
    ippAddStrings(p, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "pdf-versions-supported", 6, NULL, versions);
  }
  dl_complete_device_id(p, dl_find(p, "document-format-supported"));
}

/* ---- the information page ---- */

typedef struct {
  char *buf;
  size_t len, cap;
  bool failed;
} dl_buf_t;

static void dl_raw(dl_buf_t *b, const char *s) {
  size_t n = strlen(s);
  if (b->failed) return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n + 1) cap *= 2;
    char *nb = cap <= DL_PAGE_MAX ? realloc(b->buf, cap) : NULL;
    if (!nb) {
      b->failed = true;
      return;
    }
    b->buf = nb;
    b->cap = cap;
  }
  memcpy(b->buf + b->len, s, n + 1);
  b->len += n;
}

/* Append text with &, <, >, " and ' escaped. */
static void dl_html(dl_buf_t *b, const char *s) {
  char chunk[256];
  size_t k = 0;
  for (; s && *s; s++) {
    const char *rep = NULL;
    switch (*s) {
      case '&':
        rep = "&amp;";
        break;
      case '<':
        rep = "&lt;";
        break;
      case '>':
        rep = "&gt;";
        break;
      case '"':
        rep = "&quot;";
        break;
      case '\'':
        rep = "&#39;";
        break;
      default:
        break;
    }
    size_t need = rep ? strlen(rep) : 1;
    if (k + need + 1 > sizeof chunk) {
      chunk[k] = '\0';
      dl_raw(b, chunk);
      k = 0;
    }
    if (rep) {
      memcpy(chunk + k, rep, need);
      k += need;
    } else {
      chunk[k++] = *s;
    }
  }
  chunk[k] = '\0';
  dl_raw(b, chunk);
}

static bool dl_set(const char *s) {
  return s && *s;
}

static void dl_row(dl_buf_t *b, const char *label, const char *value) {
  if (!dl_set(value)) return;
  dl_raw(b, "<tr><th>");
  dl_raw(b, label);
  dl_raw(b, "</th><td>");
  dl_html(b, value);
  dl_raw(b, "</td></tr>\n");
}

char *driverless_page_html(const driverless_page_t *p, size_t *len) {
  dl_buf_t b = {0};
  const char *name = dl_set(p->name) ? p->name : "Printer";
  const char *host = dl_set(p->host) ? p->host : "localhost";
  const char *path = dl_set(p->path) ? p->path : "/";
  char uri[1200], web[1200], queue[128];
  snprintf(uri, sizeof uri, "%s://%s%s", p->tls ? "ipps" : "ipp", host, path);
  snprintf(web, sizeof web, "%s://%s%s", p->tls ? "https" : "http", host, path);
  /* a CUPS queue name: letters, digits, '-' and '_' */
  size_t q = 0;
  for (const char *s = name; *s && q + 1 < sizeof queue; s++)
    queue[q++] = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
                         *s == '-' || *s == '_'
                     ? *s
                     : '-';
  queue[q] = '\0';

  dl_raw(&b,
         "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         "<title>");
  dl_html(&b, name);
  dl_raw(&b, "</title></head>\n<body>\n<h1>");
  dl_html(&b, name);
  dl_raw(&b, "</h1>\n");
  if (dl_set(p->info)) {
    dl_raw(&b, "<p>");
    dl_html(&b, p->info);
    dl_raw(&b, "</p>\n");
  }
  dl_raw(&b, "<table>\n");
  dl_row(&b, "Location", p->location);
  char state[600];
  snprintf(state, sizeof state, "%s%s%s", dl_set(p->state) ? p->state : "unknown",
           dl_set(p->state_message) ? ": " : "", dl_set(p->state_message) ? p->state_message : "");
  dl_row(&b, "State", state);
  dl_row(&b, "Model", p->make_model);
  dl_row(&b, "Printer URI", uri);
  dl_raw(&b, "</table>\n");
  if (dl_set(p->note)) {
    dl_raw(&b, "<p>");
    dl_html(&b, p->note);
    dl_raw(&b, "</p>\n");
  }
  dl_raw(&b, "<h2>Add this printer (no driver needed)</h2>\n<ul>\n<li>Linux, CUPS: <code>");
  char cmd[1600];
  snprintf(cmd, sizeof cmd, "lpadmin -p %s -E -v %s -m everywhere%s", queue, uri,
           dl_set(p->lpadmin_extra) ? p->lpadmin_extra : "");
  dl_html(&b, cmd);
  dl_raw(&b,
         "</code></li>\n<li>macOS: System Settings, Printers &amp; Scanners, Add Printer, "
         "IP: address <code>");
  dl_html(&b, host);
  dl_raw(&b, "</code>, protocol IPP, queue <code>");
  dl_html(&b, path[0] == '/' ? path + 1 : path);
  dl_raw(&b,
         "</code>.</li>\n<li>Windows: Settings, Printers &amp; scanners, Add device, "
         "&ldquo;The printer that I want isn&#39;t listed&rdquo;, &ldquo;Select a shared "
         "printer by name&rdquo;: <code>");
  dl_html(&b, web);
  dl_raw(&b, "</code></li>\n</ul>\n</body></html>\n");
  if (b.failed) {
    free(b.buf);
    return NULL;
  }
  if (len) *len = b.len;
  return b.buf;
}
