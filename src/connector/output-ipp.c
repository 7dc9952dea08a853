/*
 * output-ipp.c: a real printer through libcups.
 *
 *   ipp://, ipps://  Print-Job streamed with cupsSendRequest() and
 *                    cupsWriteRequestData() on our own connection
 *   cups:QUEUE       cupsCreateJob(), cupsStartDocument(),
 *                    cupsWriteRequestData(), cupsFinishDocument() on the
 *                    local scheduler (CUPS_SERVER decides which)
 *
 * Either way the job is then watched with Get-Job-Attributes once a second
 * until it is completed, aborted or canceled; its
 * job-impressions-completed is the result.  A CUPS job that disappears
 * (no job history kept) counts as completed; an IPP printer's job that
 * disappears is reported aborted (its fate is unknown).  When the caller's
 * tick says the job was canceled at nimbusd, the printer's job gets
 * Cancel-Job (cups: cupsCancelJob2) and is watched until it ends.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "output.h"

typedef struct {
  output_t base;
  bool cups;       /* a local CUPS queue */
  char queue[256]; /* cups: the queue name */
  char uri[1024];  /* the printer URI */
  char resource[1024];
  char host[256];
  int port;
  http_encryption_t encryption;
  http_t *http; /* ipp: our connection; cups: CUPS_HTTP_DEFAULT */
  bool sending; /* a request body is open */
  ipp_t *supported; /* sides-, print-color-mode-, media-supported as last read (ipp_caps) */
} output_ipp_t;

static http_t *ipp_http(output_ipp_t *p) {
  if (p->cups) return CUPS_HTTP_DEFAULT;
  if (!p->http)
    p->http = httpConnect2(p->host, p->port, NULL, AF_UNSPEC, p->encryption, 1, 10000, NULL);
  return p->http;
}

static void ipp_drop(output_ipp_t *p) {
  if (p->http) httpClose(p->http);
  p->http = NULL;
}

/* Send a request without document; NULL with the connection dropped on failure. */
static ipp_t *ipp_do(output_ipp_t *p, ipp_t *req) {
  http_t *http = ipp_http(p);
  if (!http && !p->cups) {
    ippDelete(req);
    return NULL;
  }
  ipp_t *resp = cupsDoRequest(http, req, p->resource);
  if (!resp && !p->cups) ipp_drop(p);
  return resp;
}

static bool ipp_caps(output_t *o, ipp_t *req, char *err, size_t errlen) {
  output_ipp_t *p = (output_ipp_t *)o;
  /* what the PCs' printer and the cloud queue show of the engine; the
   * driverless attributes (urf-supported, media-col-database...) are
   * taken as the engine says them when it does */
  static const char *const want[] = {"media-supported",
                                     "media-default",
                                     "media-ready",
                                     "media-col-database",
                                     "media-col-default",
                                     "media-col-ready",
                                     "media-source-supported",
                                     "media-source-default",
                                     "media-type-supported",
                                     "media-type-default",
                                     "media-bottom-margin-supported",
                                     "media-left-margin-supported",
                                     "media-right-margin-supported",
                                     "media-top-margin-supported",
                                     "color-supported",
                                     "print-quality-supported",
                                     "print-quality-default",
                                     "urf-supported",
                                     "pwg-raster-document-resolution-supported",
                                     "pwg-raster-document-type-supported",
                                     "pwg-raster-document-sheet-back",
                                     "sides-supported",
                                     "sides-default",
                                     "print-color-mode-supported",
                                     "print-color-mode-default",
                                     "document-format-supported",
                                     "document-format-default",
                                     "printer-resolution-supported",
                                     "printer-resolution-default",
                                     "printer-make-and-model",
                                     "printer-state",
                                     "printer-state-reasons"};
  size_t n = sizeof want / sizeof want[0];
  ipp_t *q = ippNewRequest(IPP_OP_GET_PRINTER_ATTRIBUTES);
  ippAddString(q, IPP_TAG_OPERATION, IPP_TAG_URI, "printer-uri", NULL, p->uri);
  ippAddString(q, IPP_TAG_OPERATION, IPP_TAG_NAME, "requesting-user-name", NULL,
               "nimbus-connector");
  ippAddStrings(q, IPP_TAG_OPERATION, IPP_TAG_KEYWORD, "requested-attributes", (int)n, NULL, want);
  ipp_t *resp = ipp_do(p, q);
  if (!resp || ippGetStatusCode(resp) >= IPP_STATUS_ERROR_BAD_REQUEST) {
    snprintf(err, errlen, "Get-Printer-Attributes: %s", cupsLastErrorString());
    ippDelete(resp);
    return false;
  }
  for (size_t i = 0; i < n; i++) {
    ipp_attribute_t *a = ippFindAttribute(resp, want[i], IPP_TAG_ZERO);
    if (a && ippGetGroupTag(a) == IPP_TAG_PRINTER) ippCopyAttribute(req, a, 0);
  }
  /* kept: a job's settings are passed on only where the printer takes them */
  static const char *const keep[] = {"sides-supported", "print-color-mode-supported",
                                     "media-supported"};
  ippDelete(p->supported);
  p->supported = ippNew();
  for (size_t i = 0; p->supported && i < sizeof keep / sizeof keep[0]; i++) {
    ipp_attribute_t *a = ippFindAttribute(resp, keep[i], IPP_TAG_ZERO);
    if (a) ippCopyAttribute(p->supported, a, 0);
  }
  ippDelete(resp);
  return true;
}

/* The job's sides, print-color-mode and media (as nimbusd gave them in
 * Fetch-Job, maybe changed at the panel, FEDERATION.md §5) on the
 * printer's Print-Job, each only when the printer listed the value as
 * supported when its capabilities were last read (a printer refuses a
 * job with a value it does not support). */
static void ipp_add_settings(const output_ipp_t *p, ipp_t *req, ipp_t *job_attrs) {
  static const char *const names[] = {"sides", "print-color-mode", "media"};
  static const char *const supported[] = {"sides-supported", "print-color-mode-supported",
                                          "media-supported"};
  for (size_t i = 0; p->supported && job_attrs && i < sizeof names / sizeof names[0]; i++) {
    ipp_attribute_t *a = ippFindAttribute(job_attrs, names[i], IPP_TAG_KEYWORD);
    const char *v = a ? ippGetString(a, 0, NULL) : NULL;
    ipp_attribute_t *sup = ippFindAttribute(p->supported, supported[i], IPP_TAG_ZERO);
    if (v && v[0] && sup && ippContainsString(sup, v))
      ippAddString(req, IPP_TAG_JOB, IPP_TAG_KEYWORD, names[i], NULL, v);
  }
}

/* The same settings as cups options (a local queue, cups:QUEUE). */
static int ipp_settings_options(const output_ipp_t *p, ipp_t *job_attrs, int nopts,
                                cups_option_t **opts) {
  ipp_t *req = ippNew();
  if (!req) return nopts;
  ipp_add_settings(p, req, job_attrs);
  for (ipp_attribute_t *a = ippFirstAttribute(req); a; a = ippNextAttribute(req))
    nopts = cupsAddOption(ippGetName(a), ippGetString(a, 0, NULL), nopts, opts);
  ippDelete(req);
  return nopts;
}

static bool ipp_begin(output_t *o, int job_id, int doc_no, const char *format, ipp_t *job_attrs,
                      char *err, size_t errlen) {
  output_ipp_t *p = (output_ipp_t *)o;
  char title[300];
  ipp_attribute_t *a = job_attrs ? ippFindAttribute(job_attrs, "job-name", IPP_TAG_ZERO) : NULL;
  snprintf(title, sizeof title, "%s",
           a && ippGetString(a, 0, NULL) ? ippGetString(a, 0, NULL) : "nimbus job");
  a = job_attrs ? ippFindAttribute(job_attrs, "copies", IPP_TAG_INTEGER) : NULL;
  int copies = a ? ippGetInteger(a, 0) : 1;
  char docname[64];
  snprintf(docname, sizeof docname, "nimbus-%d-%d", job_id, doc_no);
  http_status_t hs;
  if (p->cups) {
    cups_option_t *opts = NULL;
    int nopts = 0;
    if (copies > 1) {
      char c[16];
      snprintf(c, sizeof c, "%d", copies);
      nopts = cupsAddOption("copies", c, nopts, &opts);
    }
    nopts = ipp_settings_options(p, job_attrs, nopts, &opts);
    int id = cupsCreateJob(CUPS_HTTP_DEFAULT, p->queue, title, nopts, opts);
    cupsFreeOptions(nopts, opts);
    if (id <= 0) {
      snprintf(err, errlen, "cupsCreateJob: %s", cupsLastErrorString());
      return false;
    }
    o->remote_id = id;
    hs = cupsStartDocument(CUPS_HTTP_DEFAULT, p->queue, id, docname, format, 1);
  } else {
    /* a fresh connection per document: a streamed request cannot be sent
     * again, and the printer may have closed an idle kept-alive one (as
     * ippeveprinter does after about a minute) without our seeing it yet */
    ipp_drop(p);
    http_t *http = ipp_http(p);
    if (!http) {
      snprintf(err, errlen, "cannot connect to the printer: %s", cupsLastErrorString());
      return false;
    }
    ipp_t *req = ippNewRequest(IPP_OP_PRINT_JOB);
    ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_URI, "printer-uri", NULL, p->uri);
    ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_NAME, "requesting-user-name", NULL,
                 "nimbus-connector");
    ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_NAME, "job-name", NULL, title);
    ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_NAME, "document-name", NULL, docname);
    if (format)
      ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_MIMETYPE, "document-format", NULL, format);
    if (copies > 1) ippAddInteger(req, IPP_TAG_JOB, IPP_TAG_INTEGER, "copies", copies);
    ipp_add_settings(p, req, job_attrs);
    hs = cupsSendRequest(http, req, p->resource, CUPS_LENGTH_VARIABLE);
    ippDelete(req);
  }
  if (hs != HTTP_STATUS_CONTINUE) {
    snprintf(err, errlen, "the printer refused the document: %s", cupsLastErrorString());
    if (!p->cups) ipp_drop(p);
    return false;
  }
  p->sending = true;
  return true;
}

static bool ipp_write(output_t *o, const char *buf, size_t len) {
  output_ipp_t *p = (output_ipp_t *)o;
  return cupsWriteRequestData(p->cups ? CUPS_HTTP_DEFAULT : p->http, buf, len) ==
         HTTP_STATUS_CONTINUE;
}

static void ipp_abort(output_t *o) {
  output_ipp_t *p = (output_ipp_t *)o;
  if (!p->sending) return;
  p->sending = false;
  if (p->cups) {
    cupsFinishDocument(CUPS_HTTP_DEFAULT, p->queue);
    if (o->remote_id) cupsCancelJob2(CUPS_HTTP_DEFAULT, p->queue, o->remote_id, 0);
  } else {
    ipp_drop(p); /* the printer sees a truncated request and drops it */
  }
}

/* Ask the printer to cancel its job id (canceled at nimbusd). */
static void ipp_cancel(output_ipp_t *p, int id) {
  bool ok;
  if (p->cups) {
    ok = cupsCancelJob2(CUPS_HTTP_DEFAULT, p->queue, id, 0) < IPP_STATUS_ERROR_BAD_REQUEST;
  } else {
    ipp_t *q = ippNewRequest(IPP_OP_CANCEL_JOB);
    ippAddString(q, IPP_TAG_OPERATION, IPP_TAG_URI, "printer-uri", NULL, p->uri);
    ippAddInteger(q, IPP_TAG_OPERATION, IPP_TAG_INTEGER, "job-id", id);
    ippAddString(q, IPP_TAG_OPERATION, IPP_TAG_NAME, "requesting-user-name", NULL,
                 "nimbus-connector");
    ipp_t *resp = ipp_do(p, q);
    ok = resp && ippGetStatusCode(resp) < IPP_STATUS_ERROR_BAD_REQUEST;
    ippDelete(resp);
  }
  log_event(ok ? LOG_INFO : LOG_WARN, NULL,
            ok ? "Cancel-Job sent to the printer" : "the printer did not accept Cancel-Job",
            "printer_job", LOG_INT(id), "error", ok ? NULL : cupsLastErrorString(), (char *)NULL);
}

/*
 * Watch remote job id until it ends; false if the printer cannot say.
 * When tick() reports a cancellation at nimbusd, the job is canceled at
 * the printer and watched until it ends (at most OUTPUT_CANCEL_WAIT s).
 */
static bool ipp_wait(output_ipp_t *p, int id, output_result_t *res, output_tick_t tick, void *ctx) {
  static const char *const want[] = {"job-state", "job-impressions-completed", "job-state-reasons"};
  int failures = 0;
  bool canceled = false;
  time_t cancel_deadline = 0;
  for (;;) {
    ipp_t *q = ippNewRequest(IPP_OP_GET_JOB_ATTRIBUTES);
    ippAddString(q, IPP_TAG_OPERATION, IPP_TAG_URI, "printer-uri", NULL, p->uri);
    ippAddInteger(q, IPP_TAG_OPERATION, IPP_TAG_INTEGER, "job-id", id);
    ippAddString(q, IPP_TAG_OPERATION, IPP_TAG_NAME, "requesting-user-name", NULL,
                 "nimbus-connector");
    ippAddStrings(q, IPP_TAG_OPERATION, IPP_TAG_KEYWORD, "requested-attributes", 3, NULL, want);
    ipp_t *resp = ipp_do(p, q);
    ipp_status_t st = resp ? ippGetStatusCode(resp) : IPP_STATUS_ERROR_INTERNAL;
    if (st == IPP_STATUS_ERROR_NOT_FOUND) {
      ippDelete(resp);
      if (canceled) {
        res->job_state = IPP_JSTATE_CANCELED;
        snprintf(res->reason, sizeof res->reason, "job-canceled-at-device");
        return true;
      }
      if (!p->cups) return false;
      /* a CUPS without job history (PreserveJobHistory No) forgets a job as
       * soon as it is finished: a job it accepted and forgot is done */
      res->job_state = IPP_JSTATE_COMPLETED;
      snprintf(res->reason, sizeof res->reason, "job-completed-successfully");
      return true;
    }
    if (resp && st < IPP_STATUS_ERROR_BAD_REQUEST) {
      failures = 0;
      ipp_attribute_t *a = ippFindAttribute(resp, "job-state", IPP_TAG_ENUM);
      int state = a ? ippGetInteger(a, 0) : 0;
      a = ippFindAttribute(resp, "job-impressions-completed", IPP_TAG_INTEGER);
      res->impressions = a ? ippGetInteger(a, 0) : 0;
      if (state >= IPP_JSTATE_CANCELED) {
        res->job_state = state;
        a = ippFindAttribute(resp, "job-state-reasons", IPP_TAG_KEYWORD);
        snprintf(res->reason, sizeof res->reason, "%s",
                 a && ippGetString(a, 0, NULL) ? ippGetString(a, 0, NULL) : "");
        ippDelete(resp);
        return true;
      }
    } else if (++failures > 120) {
      ippDelete(resp);
      return false; /* two minutes without an answer from the printer */
    }
    ippDelete(resp);
    if (canceled && time(NULL) >= cancel_deadline) {
      res->job_state = IPP_JSTATE_CANCELED;
      snprintf(res->reason, sizeof res->reason, "the printer did not confirm the cancellation");
      return true;
    }
    bool go_on = tick ? tick(ctx) : true;
    if (!go_on && !canceled) {
      ipp_cancel(p, id);
      canceled = true;
      cancel_deadline = time(NULL) + OUTPUT_CANCEL_WAIT;
    }
    sleep(1);
  }
}

static bool ipp_end(output_t *o, output_result_t *res, output_tick_t tick, void *ctx) {
  output_ipp_t *p = (output_ipp_t *)o;
  p->sending = false;
  res->job_state = IPP_JSTATE_ABORTED;
  if (p->cups) {
    if (cupsFinishDocument(CUPS_HTTP_DEFAULT, p->queue) >= IPP_STATUS_ERROR_BAD_REQUEST) {
      snprintf(res->reason, sizeof res->reason, "CUPS refused the document");
      return false;
    }
  } else {
    ipp_t *resp = cupsGetResponse(p->http, p->resource);
    ipp_attribute_t *a = resp ? ippFindAttribute(resp, "job-id", IPP_TAG_INTEGER) : NULL;
    if (!resp || ippGetStatusCode(resp) >= IPP_STATUS_ERROR_BAD_REQUEST || !a) {
      snprintf(res->reason, sizeof res->reason, "the printer refused the job: %s",
               cupsLastErrorString());
      ippDelete(resp);
      ipp_drop(p);
      return false;
    }
    o->remote_id = ippGetInteger(a, 0);
    ippDelete(resp);
  }
  res->remote_id = o->remote_id;
  if (!ipp_wait(p, o->remote_id, res, tick, ctx)) {
    snprintf(res->reason, sizeof res->reason, "lost track of the job at the printer");
    res->job_state = IPP_JSTATE_ABORTED;
  }
  return true;
}

static bool ipp_recover(output_t *o, int job_id, int remote_id, output_result_t *res,
                        output_tick_t tick, void *ctx) {
  (void)job_id;
  if (remote_id <= 0) return false;
  res->remote_id = remote_id;
  return ipp_wait((output_ipp_t *)o, remote_id, res, tick, ctx);
}

static void ipp_close(output_t *o) {
  output_ipp_t *p = (output_ipp_t *)o;
  ipp_abort(o);
  ipp_drop(p);
  ippDelete(p->supported);
  free(p);
}

static const output_ops_t ipp_ops = {"ipp",   ipp_caps,  ipp_begin,   ipp_write,
                                     ipp_end, ipp_abort, ipp_recover, ipp_close};
static const output_ops_t cups_ops = {"cups",  ipp_caps,  ipp_begin,   ipp_write,
                                      ipp_end, ipp_abort, ipp_recover, ipp_close};

output_t *output_ipp_open(const char *spec, bool cups, char *err, size_t errlen) {
  output_ipp_t *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->cups = cups;
  p->base.ops = cups ? &cups_ops : &ipp_ops;
  if (cups) {
    if (!spec[0] || strlen(spec) >= sizeof p->queue || strchr(spec, '/')) {
      snprintf(err, errlen, "cups: needs a queue name");
      goto fail;
    }
    snprintf(p->queue, sizeof p->queue, "%s", spec);
    httpAssembleURIf(HTTP_URI_CODING_ALL, p->uri, sizeof p->uri, "ipp", NULL, "localhost", 631,
                     "/printers/%s", spec);
    snprintf(p->resource, sizeof p->resource, "/printers/%s", spec);
    return &p->base;
  }
  char scheme[16], user[256];
  if (strlen(spec) >= sizeof p->uri ||
      httpSeparateURI(HTTP_URI_CODING_ALL, spec, scheme, sizeof scheme, user, sizeof user, p->host,
                      sizeof p->host, &p->port, p->resource,
                      sizeof p->resource) < HTTP_URI_STATUS_OK) {
    snprintf(err, errlen, "bad printer URI");
    goto fail;
  }
  snprintf(p->uri, sizeof p->uri, "%s", spec);
  p->encryption = strcmp(scheme, "ipps") ? HTTP_ENCRYPTION_IF_REQUESTED : HTTP_ENCRYPTION_ALWAYS;
  return &p->base;
fail:
  free(p);
  return NULL;
}
