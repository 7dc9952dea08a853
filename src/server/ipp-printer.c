/*
 * ipp-printer.c: Get-Printer-Attributes for a tenant queue.
 *
 * The full attribute set is built per request (a few hundred attributes
 * at most) and then filtered by requested-attributes with libcups'
 * ippCreateRequestedArray(), which also expands the group names
 * ("all", "printer-description", "job-template").
 */
#include <string.h>
#include <time.h>

#include "docformat.h"
#include "ipp-private.h"

static void ipp_add_media_col(ipp_t *ipp, ipp_tag_t group, const char *name,
                              const char *const *sizes, int count) {
  ipp_attribute_t *attr = NULL;
  for (int i = 0; i < count; i++) {
    pwg_media_t *pwg = pwgMediaForPWG(sizes[i]);
    if (!pwg) continue;
    ipp_t *col = ippNew();
    ipp_t *size = ippNew();
    ippAddInteger(size, IPP_TAG_ZERO, IPP_TAG_INTEGER, "x-dimension", pwg->width);
    ippAddInteger(size, IPP_TAG_ZERO, IPP_TAG_INTEGER, "y-dimension", pwg->length);
    ippAddCollection(col, IPP_TAG_ZERO, "media-size", size);
    ippAddString(col, IPP_TAG_ZERO, IPP_TAG_KEYWORD, "media-size-name", NULL, sizes[i]);
    ippAddInteger(col, IPP_TAG_ZERO, IPP_TAG_INTEGER, "media-bottom-margin", 423);
    ippAddInteger(col, IPP_TAG_ZERO, IPP_TAG_INTEGER, "media-left-margin", 423);
    ippAddInteger(col, IPP_TAG_ZERO, IPP_TAG_INTEGER, "media-right-margin", 423);
    ippAddInteger(col, IPP_TAG_ZERO, IPP_TAG_INTEGER, "media-top-margin", 423);
    if (!attr)
      attr = ippAddCollection(ipp, group, name, col);
    else
      ippSetCollection(ipp, &attr, ippGetCount(attr), col);
    ippDelete(size);
    ippDelete(col);
  }
}

static void ipp_add_media_sizes(ipp_t *ipp, const char *const *sizes, int count) {
  ipp_attribute_t *attr = NULL;
  for (int i = 0; i < count; i++) {
    pwg_media_t *pwg = pwgMediaForPWG(sizes[i]);
    if (!pwg) continue;
    ipp_t *size = ippNew();
    ippAddInteger(size, IPP_TAG_ZERO, IPP_TAG_INTEGER, "x-dimension", pwg->width);
    ippAddInteger(size, IPP_TAG_ZERO, IPP_TAG_INTEGER, "y-dimension", pwg->length);
    if (!attr)
      attr = ippAddCollection(ipp, IPP_TAG_PRINTER, "media-size-supported", size);
    else
      ippSetCollection(ipp, &attr, ippGetCount(attr), size);
    ippDelete(size);
  }
}

/* The xxx-default / xxx-supported pairs of the capability table. */
static void ipp_add_template_caps(ipp_t *ipp) {
  char name[128];
  for (size_t i = 0; i < ipp_template_attrs_count; i++) {
    const ipp_template_attr_t *t = &ipp_template_attrs[i];
    snprintf(name, sizeof name, "%s-default", t->name);
    if (t->tag == IPP_TAG_KEYWORD || t->tag == IPP_TAG_NAME) {
      int n = 0;
      while (t->keywords[n]) n++;
      ippAddString(ipp, IPP_TAG_PRINTER, t->tag, name, NULL, t->default_keyword);
      snprintf(name, sizeof name, "%s-supported", t->name);
      ippAddStrings(ipp, IPP_TAG_PRINTER, t->tag, name, n, NULL, t->keywords);
    } else if (t->tag == IPP_TAG_ENUM) {
      ippAddInteger(ipp, IPP_TAG_PRINTER, IPP_TAG_ENUM, name, t->default_int);
      snprintf(name, sizeof name, "%s-supported", t->name);
      ippAddIntegers(ipp, IPP_TAG_PRINTER, IPP_TAG_ENUM, name, t->nenums, t->enums);
    } else {
      ippAddInteger(ipp, IPP_TAG_PRINTER, IPP_TAG_INTEGER, name, t->default_int);
      snprintf(name, sizeof name, "%s-supported", t->name);
      if (!strcmp(t->name, "job-priority"))
        ippAddInteger(ipp, IPP_TAG_PRINTER, IPP_TAG_INTEGER, name, t->max);
      else
        ippAddRange(ipp, IPP_TAG_PRINTER, name, t->min, t->max);
    }
  }
}

static bool ipp_count_one(const nimbus_job_t *job, void *ctx) {
  (void)job;
  (void)ctx;
  return false;
}

/* Every printer attribute of the queue; ra (NULL = all) only decides
 * whether the ones that cost a store query are computed. */
static ipp_t *ipp_printer_attrs_build(ipp_ctx_t *ctx, cups_array_t *ra) {
  ipp_t *p = ippNew();
  char uri[1024];
  ipp_printer_uri(ctx, uri, sizeof uri);
  time_t now = time(NULL);

  static const char *const charsets[] = {"us-ascii", "utf-8"};
  static const char *const versions[] = {"1.0", "1.1", "2.0"};
  static const char *const which_jobs[] = {"completed", "not-completed", "all", "pending-held",
                                           "fetchable"};
  static const char *const pw_enc[] = {"none", "sha2-256"};
  static const char *const creation_attrs[] = {"copies",
                                               "finishings",
                                               "ipp-attribute-fidelity",
                                               "job-account-id",
                                               "job-accounting-user-id",
                                               "job-hold-until",
                                               "job-name",
                                               "job-password",
                                               "job-password-encryption",
                                               "job-priority",
                                               "job-sheets",
                                               "media",
                                               "media-col",
                                               "multiple-document-handling",
                                               "number-up",
                                               "orientation-requested",
                                               "output-bin",
                                               "page-ranges",
                                               "print-color-mode",
                                               "print-quality",
                                               "print-scaling",
                                               "printer-resolution",
                                               "sides"};
  static const char *const media_col_members[] = {"media-size",          "media-size-name",
                                                  "media-bottom-margin", "media-left-margin",
                                                  "media-right-margin",  "media-top-margin"};
  const ipp_template_attr_t *media = ipp_template_attr_find("media");
  int nmedia = 0;
  while (media->keywords[nmedia]) nmedia++;

  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_URI, "printer-uri-supported", NULL, uri);
  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "uri-authentication-supported", NULL,
               ctx->queue.allow_anonymous ? "none" : "basic");
  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "uri-security-supported", NULL,
               ctx->r->tls ? "tls" : "none");
  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_NAME, "printer-name", NULL, ctx->queue.name);
  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_TEXT, "printer-info", NULL,
               ctx->queue.description[0] ? ctx->queue.description : ctx->queue.name);
  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_TEXT, "printer-location", NULL, "");
  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_TEXT, "printer-make-and-model", NULL,
               "Nimbus Print cloud queue");
  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_TEXT, "printer-organization", NULL,
               ctx->tenant.display_name[0] ? ctx->tenant.display_name : ctx->tenant.name);
  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_TEXT, "printer-organizational-unit", NULL, "");
  char more[1100];
  snprintf(more, sizeof more, "%s://%s/", ctx->r->tls ? "https" : "http", ctx->r->host);
  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_URI, "printer-more-info", NULL, more);
  char uuid[64], seed[96];
  snprintf(seed, sizeof seed, "nimbus-queue:%lld:%lld", (long long)ctx->tenant.id,
           (long long)ctx->queue.id);
  ipp_make_uuid(seed, uuid);
  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_URI, "printer-uuid", NULL, uuid);
  ippAddInteger(p, IPP_TAG_PRINTER, IPP_TAG_ENUM, "printer-state", IPP_PSTATE_IDLE);
  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "printer-state-reasons", NULL, "none");
  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_TEXT, "printer-state-message", NULL,
               ctx->queue.release_immediately ? "Jobs are released to printers on arrival."
                                              : "Jobs are held until released at a printer.");
  ippAddBoolean(p, IPP_TAG_PRINTER, "printer-is-accepting-jobs", 1);
  ippAddInteger(p, IPP_TAG_PRINTER, IPP_TAG_INTEGER, "printer-up-time", (int)now);
  ippAddDate(p, IPP_TAG_PRINTER, "printer-current-time", ippTimeToDate(now));
  ippAddInteger(p, IPP_TAG_PRINTER, IPP_TAG_INTEGER, "printer-state-change-time",
                (int)ctx->srv->started_at);
  ippAddDate(p, IPP_TAG_PRINTER, "printer-state-change-date-time",
             ippTimeToDate(ctx->srv->started_at));
  ippAddInteger(p, IPP_TAG_PRINTER, IPP_TAG_INTEGER, "printer-config-change-time",
                (int)ctx->queue.created_at);
  ippAddDate(p, IPP_TAG_PRINTER, "printer-config-change-date-time",
             ippTimeToDate((time_t)ctx->queue.created_at));

  if (!ra || cupsArrayFind(ra, (void *)"queued-job-count")) {
    int queued = 0;
    store_job_filter_t f = {.tenant_id = ctx->tenant.id,
                            .queue_id = ctx->queue.id,
                            .which = STORE_WHICH_NOT_COMPLETED,
                            .limit = 1};
    store_job_list(ctx->srv->store, &f, ipp_count_one, NULL, &queued);
    ippAddInteger(p, IPP_TAG_PRINTER, IPP_TAG_INTEGER, "queued-job-count", queued);
  }

  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_CHARSET, "charset-configured", NULL, "utf-8");
  ippAddStrings(p, IPP_TAG_PRINTER, IPP_TAG_CHARSET, "charset-supported", 2, NULL, charsets);
  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_LANGUAGE, "natural-language-configured", NULL, "en");
  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_LANGUAGE, "generated-natural-language-supported", NULL,
               "en");
  ippAddStrings(p, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "ipp-versions-supported", 3, NULL, versions);
  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "ipp-features-supported", NULL,
               "infrastructure-printer");
  int ops[64];
  int nops = ipp_operations_supported(ops, 64);
  ippAddIntegers(p, IPP_TAG_PRINTER, IPP_TAG_ENUM, "operations-supported", nops, ops);
  static const char *const compression[] = {"none", "gzip", "deflate"}; /* intake.h */
  ippAddStrings(p, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "compression-supported", 3, NULL, compression);
  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "pdl-override-supported", NULL,
               "not-attempted");
  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_MIMETYPE, "document-format-default", NULL,
               "application/octet-stream");
  int nfmt = 0;
  while (docformat_supported[nfmt]) nfmt++;
  ippAddStrings(p, IPP_TAG_PRINTER, IPP_TAG_MIMETYPE, "document-format-supported", nfmt, NULL,
                docformat_supported);
  ippAddBoolean(p, IPP_TAG_PRINTER, "multiple-document-jobs-supported", 1);
  ippAddBoolean(p, IPP_TAG_PRINTER, "color-supported", 1);
  ippAddBoolean(p, IPP_TAG_PRINTER, "page-ranges-supported", 1);
  ippAddInteger(p, IPP_TAG_PRINTER, IPP_TAG_INTEGER, "pages-per-minute", 20);
  ippAddInteger(p, IPP_TAG_PRINTER, IPP_TAG_INTEGER, "pages-per-minute-color", 20);
  ippAddInteger(p, IPP_TAG_PRINTER, IPP_TAG_INTEGER, "copies-default", 1);
  ippAddRange(p, IPP_TAG_PRINTER, "copies-supported", 1, 999);
  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "job-hold-until-default", NULL,
               ctx->queue.release_immediately ? "no-hold" : "indefinite");
  static const char *const holds[] = {"no-hold", "indefinite",   "day-time",    "evening",
                                      "night",   "second-shift", "third-shift", "weekend"};
  ippAddStrings(p, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "job-hold-until-supported", 8, NULL, holds);
  ipp_add_template_caps(p);
  ippAddStrings(p, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "media-ready", nmedia, NULL, media->keywords);
  ipp_add_media_col(p, IPP_TAG_PRINTER, "media-col-default", media->keywords, 1);
  ipp_add_media_col(p, IPP_TAG_PRINTER, "media-col-ready", media->keywords, nmedia);
  ipp_add_media_sizes(p, media->keywords, nmedia);
  ippAddStrings(p, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "media-col-supported", 6, NULL,
                media_col_members);
  ippAddResolution(p, IPP_TAG_PRINTER, "printer-resolution-default", IPP_RES_PER_INCH, 600, 600);
  int res[2] = {300, 600};
  ippAddResolutions(p, IPP_TAG_PRINTER, "printer-resolution-supported", 2, IPP_RES_PER_INCH, res,
                    res);
  ippAddStrings(p, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "job-creation-attributes-supported",
                (int)(sizeof creation_attrs / sizeof creation_attrs[0]), NULL, creation_attrs);
  ippAddStrings(p, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "which-jobs-supported", 5, NULL, which_jobs);
  ippAddInteger(p, IPP_TAG_PRINTER, IPP_TAG_INTEGER, "job-password-supported", 255);
  ippAddStrings(p, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "job-password-encryption-supported", 2, NULL,
                pw_enc);
  ippAddBoolean(p, IPP_TAG_PRINTER, "job-account-id-supported", 1);
  ippAddBoolean(p, IPP_TAG_PRINTER, "job-accounting-user-id-supported", 1);
  ippAddOutOfBand(p, IPP_TAG_PRINTER, IPP_TAG_NOVALUE, "job-account-id-default");
  ippAddOutOfBand(p, IPP_TAG_PRINTER, IPP_TAG_NOVALUE, "job-accounting-user-id-default");
  ippAddBoolean(p, IPP_TAG_PRINTER, "job-ids-supported", 0);
  ippAddRange(p, IPP_TAG_PRINTER, "job-k-octets-supported", 0,
              (int)(intake_max_document_size(ctx->srv, &ctx->tenant) / 1024 > 0x7fffffff
                        ? 0x7fffffff
                        : intake_max_document_size(ctx->srv, &ctx->tenant) / 1024));
  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "printer-get-attributes-supported", NULL,
               "document-format");
  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "printer-kind", NULL, "document");
  ippAddOutOfBand(p, IPP_TAG_PRINTER, IPP_TAG_UNKNOWN, "printer-geo-location");
  ipp_infra_overlay_capabilities(ctx, p);
  return p;
}

static int ipp_filter_requested(void *context, ipp_t *dst, ipp_attribute_t *attr) {
  (void)dst;
  cups_array_t *ra = context;
  const char *name = ippGetName(attr);
  return name && (!ra || cupsArrayFind(ra, (void *)name) != NULL);
}

void ipp_op_get_printer_attributes(ipp_ctx_t *ctx) {
  ipp_respond(ctx, IPP_STATUS_OK, NULL);
  cups_array_t *ra = ippCreateRequestedArray(ctx->request);
  ipp_t *all = ipp_printer_attrs_build(ctx, ra);
  ippCopyAttributes(ctx->response, all, 0, ipp_filter_requested, ra);
  cupsArrayDelete(ra);
  ippDelete(all);
}
