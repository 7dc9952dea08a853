/*
 * ipp-printer.c: Get-Printer-Attributes for a tenant queue, and the
 * information page a browser gets at the queue's address.
 *
 * The full attribute set is built per request (a few hundred attributes
 * at most) and then filtered by requested-attributes with libcups'
 * ippCreateRequestedArray(), which also expands the group names
 * ("all", "printer-description", "job-template").  Order: the queue's
 * own attributes, the defaults of ipp-caps.c, the capabilities its
 * printers reported (ipp-infra.c), then driverless_complete() derives
 * what driverless clients need (media-col-database, urf-supported...)
 * from the result, so a printer's partial report still gives a complete,
 * consistent set.
 */
#include <string.h>
#include <time.h>

#include "docformat.h"
#include "driverless.h"
#include "ipp-private.h"
#include "purpose.h"

#define IPP_PRINTER_MAKE_MODEL "Nimbus Print cloud queue"

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

typedef struct {
  char *out;
  size_t cap, len;
} ipp_location_acc_t;

/* Is loc one of the "; "-separated entries of list? */
static bool ipp_location_listed(const char *list, const char *loc) {
  size_t n = strlen(loc);
  for (const char *p = list; *p;) {
    const char *end = strstr(p, "; ");
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len == n && strncmp(p, loc, n) == 0) return true;
    p += len + (end ? 2 : 0);
  }
  return false;
}

/* Append a registered printer's location once (store_device_cb). */
static bool ipp_location_add(const nimbus_device_t *d, void *arg) {
  ipp_location_acc_t *acc = arg;
  if (d->status != NIMBUS_DEVICE_REGISTERED || !d->location[0] ||
      ipp_location_listed(acc->out, d->location))
    return true;
  int w =
      snprintf(acc->out + acc->len, acc->cap - acc->len, "%s%s", acc->len ? "; " : "", d->location);
  if (w < 0 || (size_t)w >= acc->cap - acc->len) {
    acc->out[acc->len] = '\0'; /* no room for this one: keep the others whole */
    return false;
  }
  acc->len += (size_t)w;
  return true;
}

/* The queue's printer-location: the locations of the printers registered
 * to serve it, as their registrations give them ("; " between distinct
 * ones), "" when none has one. */
static void ipp_printer_location(ipp_ctx_t *ctx, char *out, size_t outlen) {
  ipp_location_acc_t acc = {out, outlen, 0};
  out[0] = '\0';
  /* a store failure leaves what was collected (at worst "") */
  (void)store_device_list(ctx->srv->store, ctx->tenant.id, ctx->queue.id, ipp_location_add, &acc);
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

  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_URI, "printer-uri-supported", NULL, uri);
  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "uri-authentication-supported", NULL,
               ctx->queue.allow_anonymous ? "none" : "basic");
  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "uri-security-supported", NULL,
               ctx->r->tls ? "tls" : "none");
  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_NAME, "printer-name", NULL, ctx->queue.name);
  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_TEXT, "printer-info", NULL,
               ctx->queue.description[0] ? ctx->queue.description : ctx->queue.name);
  if (!ra || cupsArrayFind(ra, (void *)"printer-location")) {
    char location[NIMBUS_TEXT_MAX];
    ipp_printer_location(ctx, location, sizeof location);
    ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_TEXT, "printer-location", NULL, location);
  }
  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_TEXT, "printer-make-and-model", NULL,
               IPP_PRINTER_MAKE_MODEL);
  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_TEXT, "printer-organization", NULL,
               ctx->tenant.display_name[0] ? ctx->tenant.display_name : ctx->tenant.name);
  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_TEXT, "printer-organizational-unit", NULL, "");
  char more[1100]; /* the information page (ipp_printer_page) */
  snprintf(more, sizeof more, "%s://%s/ipp/print/%s/%s", ctx->r->tls ? "https" : "http",
           ctx->r->host, ctx->tenant_name, ctx->queue_name);
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
  /* billing by purpose (docs/BILLING.md): the default is the asking
   * user's default purpose; a tenant that requires one says so */
  nimbus_purpose_t dp;
  if (ctx->user_id &&
      store_purpose_get_default(ctx->srv->store, ctx->tenant.id, ctx->user_id, &dp) == STORE_OK)
    ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_NAME, "job-account-id-default", NULL, dp.name);
  else
    ippAddOutOfBand(p, IPP_TAG_PRINTER, IPP_TAG_NOVALUE, "job-account-id-default");
  if (purpose_required(ctx->srv->store, ctx->tenant.id))
    ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "printer-mandatory-job-attributes", NULL,
                 "job-account-id");
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
  /* media-col-*, media-ready, margins, urf-supported, pwg-raster-*...:
   * derived from the final media, formats and resolutions */
  driverless_complete(p, IPP_PRINTER_MAKE_MODEL);
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

/*
 * The information page of GET /ipp/print/<tenant>/<queue> (a browser at
 * the queue's address): name, location, state, URI, how to add it.  It
 * shows nothing Get-Printer-Attributes does not (which needs no login
 * either); an unknown tenant or queue is a 404 like the IPP answer.
 */
void ipp_printer_page(ipp_ctx_t *ctx) {
  http_request_t *r = ctx->r;
  r->op_name = "ipp.printer-page";
  if (!ctx->path_ok || ctx->system ||
      store_tenant_get_by_name(ctx->srv->store, ctx->tenant_name, &ctx->tenant) != STORE_OK ||
      store_queue_get_by_name(ctx->srv->store, ctx->tenant.id, ctx->queue_name, &ctx->queue) !=
          STORE_OK) {
    http_respond_problem(r, 404, "Not Found", "no such printer");
    return;
  }
  /* the same values Get-Printer-Attributes gives (printers' make and
   * model, locations) */
  ipp_t *attrs = ipp_printer_attrs_build(ctx, NULL);
  char path[256];
  snprintf(path, sizeof path, "/ipp/print/%s/%s", ctx->tenant_name, ctx->queue_name);
  driverless_page_t page = {
      .name = ctx->queue.name,
      .info = ctx->queue.description,
      .location = ippGetString(ippFindAttribute(attrs, "printer-location", IPP_TAG_ZERO), 0, NULL),
      .make_model =
          ippGetString(ippFindAttribute(attrs, "printer-make-and-model", IPP_TAG_ZERO), 0, NULL),
      .state = "idle",
      .state_message =
          ippGetString(ippFindAttribute(attrs, "printer-state-message", IPP_TAG_ZERO), 0, NULL),
      .tls = ctx->r->tls,
      .host = ctx->r->host,
      .path = path,
      .note = ctx->queue.allow_anonymous
                  ? "Anyone may print to this queue."
                  : "Printing needs your Nimbus Print user name and password (or put them in "
                    "the printer URI: ipp://USER:PASSWORD@host/...).",
      .lpadmin_extra =
          ctx->queue.allow_anonymous ? NULL : " -o auth-info-required=username,password",
  };
  size_t len = 0;
  char *html = driverless_page_html(&page, &len);
  ippDelete(attrs);
  if (!html) {
    http_respond_problem(r, 500, "Internal Server Error", "out of memory");
    return;
  }
  http_response_header(r, "Content-Security-Policy", DRIVERLESS_PAGE_CSP);
  http_response_header(r, "X-Content-Type-Options", "nosniff");
  http_response_header(r, "Referrer-Policy", "no-referrer");
  http_respond_owned(r, 200, "text/html; charset=utf-8", html, len);
}
