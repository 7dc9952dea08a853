/*
 * ipp-job-attrs.c: job attributes in and out.
 *
 * In: operation and job-template attributes of Print-Job, Create-Job and
 * Validate-Job are checked against ipp-caps.c and RFC 8011 limits.  An
 * unsupported attribute or value goes to the unsupported-attributes group;
 * with ipp-attribute-fidelity=true the request fails, otherwise it is
 * ignored (successful-ok-ignored-or-substituted-attributes).
 * Out: a job's attributes for Get-Job-Attributes / Get-Jobs, filtered by
 * requested-attributes.
 */
#include <ctype.h>
#include <jansson.h>
#include <stdint.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "crypto.h"
#include "ipp-private.h"
#include "job.h"
#include "money.h"

#define IPP_NAME_MAX 255 /* RFC 8011 name(MAX) */
#define IPP_PIN_MAX 255  /* job-password-supported */
#define IPP_PIN_MIN 4    /* shortest clear PIN (also the REST rule) */
#define IPP_MAX_RANGES 32

static const char *const ipp_hold_until[] = {"no-hold",     "indefinite", "day-time",
                                             "evening",     "night",      "second-shift",
                                             "third-shift", "weekend",    NULL};

static bool ipp_keyword_in(const char *value, const char *const *list) {
  for (; list && *list; list++)
    if (strcmp(value, *list) == 0) return true;
  return false;
}

/* Copy attr into the unsupported group of the response. */
void ipp_unsupported(ipp_ctx_t *ctx, ipp_attribute_t *attr) {
  ipp_attribute_t *copy = ippCopyAttribute(ctx->response, attr, 0);
  if (copy) ippSetGroupTag(ctx->response, &copy, IPP_TAG_UNSUPPORTED_GROUP);
}

/* Validate one job-template attribute against the capability table and
 * record it in attrs.  Returns false when it is unsupported. */
static bool ipp_template_accept(const ipp_template_attr_t *t, ipp_attribute_t *a, json_t *attrs) {
  int n = ippGetCount(a);
  ipp_tag_t tag = ippGetValueTag(a);
  if (n < 1) return false;
  if (t->tag == IPP_TAG_KEYWORD || t->tag == IPP_TAG_NAME) {
    if (n != 1 || (tag != IPP_TAG_KEYWORD && tag != IPP_TAG_NAME)) return false;
    const char *v = ippGetString(a, 0, NULL);
    if (!v || !ipp_keyword_in(v, t->keywords)) return false;
    json_object_set_new(attrs, t->name, json_string(v));
    return true;
  }
  if (t->tag == IPP_TAG_ENUM) {
    if (tag != IPP_TAG_ENUM) return false;
    json_t *list = json_array();
    for (int i = 0; i < n; i++) {
      int v = ippGetInteger(a, i);
      bool ok = false;
      for (int k = 0; k < t->nenums; k++) ok = ok || t->enums[k] == v;
      if (!ok) {
        json_decref(list);
        return false;
      }
      json_array_append_new(list, json_integer(v));
    }
    json_object_set_new(attrs, t->name, list);
    return true;
  }
  if (n != 1 || tag != IPP_TAG_INTEGER) return false;
  int v = ippGetInteger(a, 0);
  if (v < t->min || v > t->max) return false;
  json_object_set_new(attrs, t->name, json_integer(v));
  return true;
}

/* media-col: accept media-size-name, or a media-size matching a
 * supported size name; stored as "media". */
static bool ipp_media_col_accept(ipp_attribute_t *a, json_t *attrs) {
  if (ippGetValueTag(a) != IPP_TAG_BEGIN_COLLECTION || ippGetCount(a) != 1) return false;
  ipp_t *col = ippGetCollection(a, 0);
  ipp_attribute_t *name = ippFindAttribute(col, "media-size-name", IPP_TAG_ZERO);
  const ipp_template_attr_t *media = ipp_template_attr_find("media");
  if (name) {
    const char *v = ippGetString(name, 0, NULL);
    if (!v || !ipp_keyword_in(v, media->keywords)) return false;
    json_object_set_new(attrs, "media", json_string(v));
    return true;
  }
  ipp_attribute_t *size = ippFindAttribute(col, "media-size", IPP_TAG_BEGIN_COLLECTION);
  if (!size) return true; /* only source/type given: nothing to change */
  ipp_t *sz = ippGetCollection(size, 0);
  ipp_attribute_t *x = ippFindAttribute(sz, "x-dimension", IPP_TAG_INTEGER);
  ipp_attribute_t *y = ippFindAttribute(sz, "y-dimension", IPP_TAG_INTEGER);
  if (!x || !y) return false;
  for (const char *const *m = media->keywords; *m; m++) {
    pwg_media_t *pwg = pwgMediaForPWG(*m);
    if (pwg && abs(pwg->width - ippGetInteger(x, 0)) < 100 &&
        abs(pwg->length - ippGetInteger(y, 0)) < 100) {
      json_object_set_new(attrs, "media", json_string(*m));
      return true;
    }
  }
  return false;
}

static bool ipp_page_ranges_accept(ipp_attribute_t *a, json_t *attrs) {
  int n = ippGetCount(a);
  if (ippGetValueTag(a) != IPP_TAG_RANGE || n < 1 || n > IPP_MAX_RANGES) return false;
  json_t *list = json_array();
  int prev_upper = 0;
  for (int i = 0; i < n; i++) {
    int upper;
    int lower = ippGetRange(a, i, &upper);
    if (lower < 1 || upper < lower || lower <= prev_upper) {
      json_decref(list);
      return false;
    }
    prev_upper = upper;
    json_array_append_new(list, json_pack("[i,i]", lower, upper));
  }
  json_object_set_new(attrs, "page-ranges", list);
  return true;
}

/* A name/text value no longer than max octets; NULL when absent/invalid. */
static const char *ipp_name_value(ipp_attribute_t *a) {
  ipp_tag_t tag = ippGetValueTag(a);
  if (ippGetCount(a) != 1 ||
      (tag != IPP_TAG_NAME && tag != IPP_TAG_NAMELANG && tag != IPP_TAG_TEXT &&
       tag != IPP_TAG_TEXTLANG && tag != IPP_TAG_KEYWORD))
    return NULL;
  return ippGetString(a, 0, NULL);
}

bool ipp_job_attrs_parse(ipp_ctx_t *ctx, nimbus_job_t *job, char *doc_format, size_t fmtlen,
                         char *doc_name, size_t namelen) {
  ipp_respond(ctx, IPP_STATUS_OK, NULL);
  ipp_t *req = ctx->request;
  bool fidelity = false;
  bool ignored = false;
  ipp_status_t fail = IPP_STATUS_OK;
  const char *fail_msg = NULL;
  json_t *attrs = json_object();
  /* Looked up before the walk: ippFindAttribute moves the cursor that
   * ippFirstAttribute/ippNextAttribute use. */
  ipp_attribute_t *enc = ippFindAttribute(req, "job-password-encryption", IPP_TAG_ZERO);
  const char *how = enc ? ippGetString(enc, 0, NULL) : "none";

  job->copies = 1;
  /* the queue's job-hold-until-default (ipp-printer.c) */
  snprintf(job->hold_until, sizeof job->hold_until, "%s",
           ctx->queue.release_immediately ? "no-hold" : "indefinite");
  snprintf(doc_format, fmtlen, "application/octet-stream");
  doc_name[0] = '\0';

  for (ipp_attribute_t *a = ippFirstAttribute(req); a; a = ippNextAttribute(req)) {
    const char *name = ippGetName(a);
    if (!name) continue;
    ipp_tag_t group = ippGetGroupTag(a);
    /* job-hold-until is also taken from the operation group, where some
     * clients send it (CUPS' stock print-job-hold.test) */
    bool hold_in_operation = group == IPP_TAG_OPERATION && !strcmp(name, "job-hold-until");
    if (group == IPP_TAG_OPERATION && !hold_in_operation) {
      if (!strcmp(name, "ipp-attribute-fidelity")) {
        fidelity = ippGetValueTag(a) == IPP_TAG_BOOLEAN && ippGetBoolean(a, 0);
      } else if (!strcmp(name, "job-name") || !strcmp(name, "document-name")) {
        const char *v = ipp_name_value(a);
        if (!v) {
          ipp_unsupported(ctx, a);
          fail = IPP_STATUS_ERROR_BAD_REQUEST;
          fail_msg = "Bad job-name or document-name.";
        } else if (strlen(v) > IPP_NAME_MAX) {
          ipp_unsupported(ctx, a);
          fail = IPP_STATUS_ERROR_REQUEST_VALUE;
          fail_msg = "The job-name or document-name is longer than 255 octets.";
        } else if (name[0] == 'j') {
          snprintf(job->name, sizeof job->name, "%s", v);
        } else {
          snprintf(doc_name, namelen, "%s", v);
        }
      } else if (!strcmp(name, "document-format")) {
        const char *v = ippGetString(a, 0, NULL);
        if (ippGetValueTag(a) != IPP_TAG_MIMETYPE || !v || !intake_format_supported(v)) {
          ipp_unsupported(ctx, a);
          fail = IPP_STATUS_ERROR_DOCUMENT_FORMAT_NOT_SUPPORTED;
          fail_msg = "Unsupported document-format.";
        } else {
          snprintf(doc_format, fmtlen, "%s", v);
        }
      } else if (!strcmp(name, "compression")) {
        const char *v = ippGetString(a, 0, NULL);
        if (ippGetValueTag(a) != IPP_TAG_KEYWORD || !v || !intake_compression_supported(v)) {
          ipp_unsupported(ctx, a);
          fail = IPP_STATUS_ERROR_COMPRESSION_NOT_SUPPORTED;
          fail_msg = "compression must be none, gzip or deflate.";
        } else {
          snprintf(ctx->compression, sizeof ctx->compression, "%s", v);
        }
      } else if (!strcmp(name, "job-password")) {
        int len = 0;
        const void *pin = ippGetOctetString(a, 0, &len);
        if (ippGetValueTag(a) != IPP_TAG_STRING || !pin || len < 1 || len > IPP_PIN_MAX) {
          fail = IPP_STATUS_ERROR_REQUEST_VALUE;
          fail_msg = "job-password must be 4 to 255 octets.";
        } else if (how && !strcmp(how, "none") && len < IPP_PIN_MIN) {
          ipp_unsupported(ctx, a);
          fail = IPP_STATUS_ERROR_ATTRIBUTES_OR_VALUES;
          fail_msg = "job-password must be 4 to 255 octets.";
        } else if (how && !strcmp(how, "none")) {
          char clear[IPP_PIN_MAX + 1];
          memcpy(clear, pin, (size_t)len);
          clear[len] = '\0';
          if (strlen(clear) != (size_t)len || !crypto_pin_hash(clear, job->pin_hash)) {
            fail = IPP_STATUS_ERROR_BAD_REQUEST;
            fail_msg = "job-password is not usable.";
          }
          sodium_memzero(clear, sizeof clear);
        } else if (how && !strcmp(how, "sha2-256")) {
          if (len != 32) {
            fail = IPP_STATUS_ERROR_REQUEST_VALUE;
            fail_msg = "A sha2-256 job-password is the 32-octet digest of the PIN.";
          } else if (!crypto_pin_hash_sha256(pin, job->pin_hash)) {
            fail = IPP_STATUS_ERROR_INTERNAL;
            fail_msg = "job-password could not be stored.";
          }
        } else {
          if (enc) ipp_unsupported(ctx, enc);
          fail = IPP_STATUS_ERROR_ATTRIBUTES_OR_VALUES;
          fail_msg = "job-password-encryption must be none or sha2-256.";
        }
      }
      continue;
    }
    if (group != IPP_TAG_JOB && !hold_in_operation) continue;

    bool ok = true;
    if (!strcmp(name, "copies")) {
      ok = ippGetValueTag(a) == IPP_TAG_INTEGER && ippGetCount(a) == 1 &&
           ippGetInteger(a, 0) >= 1 && ippGetInteger(a, 0) <= 999;
      if (ok) job->copies = ippGetInteger(a, 0);
    } else if (!strcmp(name, "job-hold-until")) {
      const char *v = ippGetString(a, 0, NULL);
      ok = v && ipp_keyword_in(v, ipp_hold_until);
      /* A pull-printing queue holds every job: "no-hold" is substituted
       * by "indefinite" and reported as such (RFC 8011 4.1.7). */
      if (ok && !strcmp(v, "no-hold") && !ctx->queue.release_immediately) ok = false;
      if (ok) snprintf(job->hold_until, sizeof job->hold_until, "%s", v);
    } else if (!strcmp(name, "job-account-id") || !strcmp(name, "job-accounting-user-id") ||
               !strcmp(name, "job-billing")) {
      const char *v = ipp_name_value(a);
      if (v && strlen(v) > IPP_NAME_MAX) {
        ipp_unsupported(ctx, a);
        fail = IPP_STATUS_ERROR_REQUEST_VALUE;
        fail_msg = "job-account-id and job-accounting-user-id are at most 255 octets.";
        continue;
      }
      ok = v != NULL;
      if (ok && !strcmp(name, "job-account-id"))
        snprintf(job->account_id, sizeof job->account_id, "%s", v);
      else if (ok && !strcmp(name, "job-billing")) {
        /* CUPS's job-billing (lp -o job-billing=...): job-account-id's
         * older name; job-account-id wins when both are sent */
        if (!ippFindAttribute(ctx->request, "job-account-id", IPP_TAG_ZERO))
          snprintf(job->account_id, sizeof job->account_id, "%s", v);
      } else if (ok)
        snprintf(job->accounting_user_id, sizeof job->accounting_user_id, "%s", v);
    } else if (!strcmp(name, "media-col")) {
      ok = ipp_media_col_accept(a, attrs);
    } else if (!strcmp(name, "page-ranges")) {
      ok = ipp_page_ranges_accept(a, attrs);
    } else if (!strcmp(name, "printer-resolution")) {
      ipp_res_t units;
      int yres, xres = ippGetResolution(a, 0, &yres, &units);
      ok = ippGetValueTag(a) == IPP_TAG_RESOLUTION && units == IPP_RES_PER_INCH && xres == yres &&
           (xres == 300 || xres == 600);
      if (ok) json_object_set_new(attrs, "printer-resolution", json_integer(xres));
    } else {
      const ipp_template_attr_t *t = ipp_template_attr_find(name);
      ok = t && ipp_template_accept(t, a, attrs);
    }
    if (!ok) {
      ipp_unsupported(ctx, a);
      ignored = true;
    }
  }

  if (fail == IPP_STATUS_OK && ignored && fidelity) {
    fail = IPP_STATUS_ERROR_ATTRIBUTES_OR_VALUES;
    fail_msg = "Unsupported attributes or values (ipp-attribute-fidelity is true).";
  }
  char *json = json_dumps(attrs, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(attrs);
  if (!json || strlen(json) >= sizeof job->attrs_json) {
    free(json);
    if (fail == IPP_STATUS_OK) {
      fail = IPP_STATUS_ERROR_REQUEST_VALUE;
      fail_msg = "Too many job attributes.";
    }
  } else {
    snprintf(job->attrs_json, sizeof job->attrs_json, "%s", json);
    free(json);
  }
  if (fail != IPP_STATUS_OK) {
    ippSetStatusCode(ctx->response, fail);
    ctx->status = (int)fail;
    ippAddString(ctx->response, IPP_TAG_OPERATION, IPP_TAG_TEXT, "status-message", NULL, fail_msg);
    sodium_memzero(job->pin_hash, sizeof job->pin_hash);
    return false;
  }
  if (ignored) {
    ippSetStatusCode(ctx->response, IPP_STATUS_OK_IGNORED_OR_SUBSTITUTED);
    ctx->status = IPP_STATUS_OK_IGNORED_OR_SUBSTITUTED;
  }
  if (!job->name[0])
    snprintf(job->name, sizeof job->name, "%s", doc_name[0] ? doc_name : "Untitled");
  return true;
}

/* ---- output ---- */

static bool ipp_want(cups_array_t *ra, const char *name) {
  return !ra || cupsArrayFind(ra, (void *)name) != NULL;
}

void ipp_make_uuid(const char *seed, char out[64]) {
  unsigned char h[32];
  crypto_hash_sha256(h, (const unsigned char *)seed, strlen(seed));
  h[6] = (unsigned char)((h[6] & 0x0f) | 0x50);
  h[8] = (unsigned char)((h[8] & 0x3f) | 0x80);
  snprintf(out, 64, "urn:uuid:%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
           h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9], h[10], h[11], h[12], h[13],
           h[14], h[15]);
}

static void ipp_add_time(ipp_t *resp, cups_array_t *ra, const char *int_name, const char *date_name,
                         int64_t t) {
  if (ipp_want(ra, int_name)) {
    if (t)
      ippAddInteger(resp, IPP_TAG_JOB, IPP_TAG_INTEGER, int_name, (int)t);
    else
      ippAddOutOfBand(resp, IPP_TAG_JOB, IPP_TAG_NOVALUE, int_name);
  }
  if (ipp_want(ra, date_name)) {
    if (t)
      ippAddDate(resp, IPP_TAG_JOB, date_name, ippTimeToDate((time_t)t));
    else
      ippAddOutOfBand(resp, IPP_TAG_JOB, IPP_TAG_NOVALUE, date_name);
  }
}

void ipp_job_attrs_add_brief(ipp_ctx_t *ctx, const nimbus_job_t *job) {
  char printer_uri[1024], job_uri[1100];
  ipp_printer_uri(ctx, printer_uri, sizeof printer_uri);
  snprintf(job_uri, sizeof job_uri, "%s/%lld", printer_uri, (long long)job->number);
  ippAddInteger(ctx->response, IPP_TAG_JOB, IPP_TAG_INTEGER, "job-id", (int)job->number);
  ippAddString(ctx->response, IPP_TAG_JOB, IPP_TAG_URI, "job-uri", NULL, job_uri);
  ippAddInteger(ctx->response, IPP_TAG_JOB, IPP_TAG_ENUM, "job-state", job_ipp_state(job->state));
  const char *reasons[4];
  int n = job_ipp_state_reasons(job, reasons, 4);
  ippAddStrings(ctx->response, IPP_TAG_JOB, IPP_TAG_KEYWORD, "job-state-reasons", n, NULL, reasons);
  /* the per-job reference for payments (PROTOCOL.md 7.1) */
  if (job->reference[0])
    ippAddString(ctx->response, IPP_TAG_JOB, IPP_TAG_TEXT, "nimbus-job-reference", NULL,
                 job->reference);
}

/*
 * The job's fee (issue 12), when it has one: job-charge-info, text for
 * people ("EUR 1.20 (print 1.00 + service 0.20)"), and the amounts for
 * programs as integers of the currency's minor unit with the currency
 * code (nimbus-job-charge-*, PROTOCOL.md); an amount beyond IPP's 32-bit
 * integer is left out (the text still says it).
 */
static void ipp_job_attrs_add_charge(ipp_ctx_t *ctx, const nimbus_job_t *job, cups_array_t *ra) {
  static const char *const names[] = {
      "job-charge-info", "nimbus-job-charge-total", "nimbus-job-charge-print-fee",
      "nimbus-job-charge-service-fee", "nimbus-job-charge-currency"};
  bool want = false;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) want = want || ipp_want(ra, names[i]);
  nimbus_job_quote_t q;
  if (!want || store_job_quote_get(ctx->srv->store, job->tenant_id, job->id, &q) != STORE_OK ||
      !q.currency[0])
    return;
  ipp_t *resp = ctx->response;
  char total[48], print[48], service[48], text[200];
  if (!money_format_with_code(q.total, q.currency, total, sizeof total) ||
      !money_format(q.print_fee, q.currency, print, sizeof print) ||
      !money_format(q.service_fee, q.currency, service, sizeof service))
    return;
  snprintf(text, sizeof text, "%s (print %s + service %s)", total, print, service);
  if (ipp_want(ra, "job-charge-info"))
    ippAddString(resp, IPP_TAG_JOB, IPP_TAG_TEXT, "job-charge-info", NULL, text);
  const int64_t amounts[] = {q.total, q.print_fee, q.service_fee};
  for (int i = 0; i < 3; i++)
    if (ipp_want(ra, names[1 + i]) && amounts[i] >= 0 && amounts[i] <= INT32_MAX)
      ippAddInteger(resp, IPP_TAG_JOB, IPP_TAG_INTEGER, names[1 + i], (int)amounts[i]);
  if (ipp_want(ra, "nimbus-job-charge-currency")) {
    /* a keyword: the ISO 4217 code in lower case, as keywords are */
    char code[NIMBUS_CURRENCY_MAX];
    for (size_t i = 0; i < sizeof code; i++) code[i] = (char)tolower((unsigned char)q.currency[i]);
    ippAddString(resp, IPP_TAG_JOB, IPP_TAG_KEYWORD, "nimbus-job-charge-currency", NULL, code);
  }
}

void ipp_job_attrs_add(ipp_ctx_t *ctx, const nimbus_job_t *job, cups_array_t *ra) {
  ipp_t *resp = ctx->response;
  char printer_uri[1024], job_uri[1100], uuid[64];
  ipp_printer_uri(ctx, printer_uri, sizeof printer_uri);
  snprintf(job_uri, sizeof job_uri, "%s/%lld", printer_uri, (long long)job->number);

  if (ipp_want(ra, "job-id"))
    ippAddInteger(resp, IPP_TAG_JOB, IPP_TAG_INTEGER, "job-id", (int)job->number);
  if (ipp_want(ra, "job-uri"))
    ippAddString(resp, IPP_TAG_JOB, IPP_TAG_URI, "job-uri", NULL, job_uri);
  if (ipp_want(ra, "job-uuid")) {
    char seed[64];
    snprintf(seed, sizeof seed, "nimbus-job:%lld:%lld", (long long)job->tenant_id,
             (long long)job->number);
    ipp_make_uuid(seed, uuid);
    ippAddString(resp, IPP_TAG_JOB, IPP_TAG_URI, "job-uuid", NULL, uuid);
  }
  if (ipp_want(ra, "job-printer-uri"))
    ippAddString(resp, IPP_TAG_JOB, IPP_TAG_URI, "job-printer-uri", NULL, printer_uri);
  if (ipp_want(ra, "job-name"))
    ippAddString(resp, IPP_TAG_JOB, IPP_TAG_NAME, "job-name", NULL, job->name);
  if (ipp_want(ra, "job-originating-user-name"))
    ippAddString(resp, IPP_TAG_JOB, IPP_TAG_NAME, "job-originating-user-name", NULL,
                 job->owner_name[0] ? job->owner_name : "anonymous");
  if (ipp_want(ra, "job-originating-host-name") && job->origin_host[0])
    ippAddString(resp, IPP_TAG_JOB, IPP_TAG_NAME, "job-originating-host-name", NULL,
                 job->origin_host);
  if (ipp_want(ra, "job-state"))
    ippAddInteger(resp, IPP_TAG_JOB, IPP_TAG_ENUM, "job-state", job_ipp_state(job->state));
  if (ipp_want(ra, "job-state-reasons")) {
    const char *reasons[4];
    int n = job_ipp_state_reasons(job, reasons, 4);
    ippAddStrings(resp, IPP_TAG_JOB, IPP_TAG_KEYWORD, "job-state-reasons", n, NULL, reasons);
  }
  if (ipp_want(ra, "job-state-message"))
    ippAddString(resp, IPP_TAG_JOB, IPP_TAG_TEXT, "job-state-message", NULL,
                 job->state == NIMBUS_JOB_HELD ? "Held until released at a printer."
                                               : job_state_name(job->state));
  if (ipp_want(ra, "job-printer-up-time"))
    ippAddInteger(resp, IPP_TAG_JOB, IPP_TAG_INTEGER, "job-printer-up-time", (int)time(NULL));
  ipp_add_time(resp, ra, "time-at-creation", "date-time-at-creation", job->created_at);
  int64_t processing = job->state >= NIMBUS_JOB_PROCESSING && job->state != NIMBUS_JOB_CANCELED &&
                               job->state != NIMBUS_JOB_EXPIRED
                           ? job->state_changed_at
                           : 0;
  ipp_add_time(resp, ra, "time-at-processing", "date-time-at-processing", processing);
  ipp_add_time(resp, ra, "time-at-completed", "date-time-at-completed", job->completed_at);
  if (ipp_want(ra, "job-impressions"))
    ippAddInteger(resp, IPP_TAG_JOB, IPP_TAG_INTEGER, "job-impressions", job->impressions);
  if (ipp_want(ra, "job-impressions-completed"))
    ippAddInteger(resp, IPP_TAG_JOB, IPP_TAG_INTEGER, "job-impressions-completed",
                  job->impressions_completed);
  if (ipp_want(ra, "job-pages"))
    ippAddInteger(resp, IPP_TAG_JOB, IPP_TAG_INTEGER, "job-pages", job->pages);
  if (ipp_want(ra, "number-of-documents"))
    ippAddInteger(resp, IPP_TAG_JOB, IPP_TAG_INTEGER, "number-of-documents", job->num_documents);
  if (ipp_want(ra, "job-k-octets")) {
    nimbus_document_t docs[16];
    int n = 0;
    int64_t bytes = 0;
    if (store_document_list(ctx->srv->store, job->tenant_id, job->id, docs, 16, &n) == STORE_OK)
      for (int i = 0; i < n; i++) bytes += docs[i].size;
    ippAddInteger(resp, IPP_TAG_JOB, IPP_TAG_INTEGER, "job-k-octets", (int)((bytes + 1023) / 1024));
  }
  if (ipp_want(ra, "copies"))
    ippAddInteger(resp, IPP_TAG_JOB, IPP_TAG_INTEGER, "copies", job->copies);
  if (ipp_want(ra, "job-hold-until"))
    ippAddString(resp, IPP_TAG_JOB, IPP_TAG_KEYWORD, "job-hold-until", NULL,
                 job->hold_until[0] ? job->hold_until : "indefinite");
  if (ipp_want(ra, "job-account-id") && job->account_id[0])
    ippAddString(resp, IPP_TAG_JOB, IPP_TAG_NAME, "job-account-id", NULL, job->account_id);
  if (ipp_want(ra, "job-accounting-user-id") && job->accounting_user_id[0])
    ippAddString(resp, IPP_TAG_JOB, IPP_TAG_NAME, "job-accounting-user-id", NULL,
                 job->accounting_user_id);
  ipp_job_attrs_add_charge(ctx, job, ra);

  /* The remaining template attributes, from the stored JSON. */
  json_t *attrs = json_loads(job->attrs_json[0] ? job->attrs_json : "{}", 0, NULL);
  for (size_t i = 0; i < ipp_template_attrs_count; i++) {
    const ipp_template_attr_t *t = &ipp_template_attrs[i];
    if (!ipp_want(ra, t->name)) continue;
    json_t *v = json_object_get(attrs, t->name);
    if (t->tag == IPP_TAG_KEYWORD || t->tag == IPP_TAG_NAME) {
      const char *s = json_is_string(v) ? json_string_value(v) : t->default_keyword;
      ippAddString(resp, IPP_TAG_JOB, t->tag, t->name, NULL, s);
    } else if (t->tag == IPP_TAG_ENUM) {
      if (json_is_array(v) && json_array_size(v) > 0) {
        size_t n = json_array_size(v);
        ipp_attribute_t *a = ippAddIntegers(resp, IPP_TAG_JOB, IPP_TAG_ENUM, t->name, (int)n, NULL);
        for (size_t k = 0; k < n; k++)
          ippSetInteger(resp, &a, (int)k, (int)json_integer_value(json_array_get(v, k)));
      } else {
        ippAddInteger(resp, IPP_TAG_JOB, IPP_TAG_ENUM, t->name, t->default_int);
      }
    } else {
      ippAddInteger(resp, IPP_TAG_JOB, IPP_TAG_INTEGER, t->name,
                    json_is_integer(v) ? (int)json_integer_value(v) : t->default_int);
    }
  }
  json_t *ranges = json_object_get(attrs, "page-ranges");
  if (ipp_want(ra, "page-ranges") && json_is_array(ranges) && json_array_size(ranges) > 0) {
    size_t n = json_array_size(ranges);
    int lower[IPP_MAX_RANGES], upper[IPP_MAX_RANGES];
    for (size_t k = 0; k < n && k < IPP_MAX_RANGES; k++) {
      lower[k] = (int)json_integer_value(json_array_get(json_array_get(ranges, k), 0));
      upper[k] = (int)json_integer_value(json_array_get(json_array_get(ranges, k), 1));
    }
    ippAddRanges(resp, IPP_TAG_JOB, "page-ranges", (int)(n < IPP_MAX_RANGES ? n : IPP_MAX_RANGES),
                 lower, upper);
  }
  json_t *res = json_object_get(attrs, "printer-resolution");
  if (ipp_want(ra, "printer-resolution") && json_is_integer(res))
    ippAddResolution(resp, IPP_TAG_JOB, "printer-resolution", IPP_RES_PER_INCH,
                     (int)json_integer_value(res), (int)json_integer_value(res));
  json_decref(attrs);
}
