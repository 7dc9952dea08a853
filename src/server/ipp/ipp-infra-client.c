/*
 * ipp-infra-client.c: the operations PWG 5100.18 section 4.6 requires of an
 * Infrastructure Printer beyond the job operations (ipp-job.c) and the
 * output-device operations (ipp-infra.c):
 *
 *   Get-Printer-Supported-Values   the printer's xxx-supported attributes
 *   Validate-Document              Send-Document's checks, nothing stored
 *   Get-Documents                  the documents of a visible job
 *   Get-Document-Attributes        one of them
 *   Create-Job-Subscriptions       output devices: the events of one job
 *   Get-Subscription-Attributes    output devices: their subscriptions
 *   Get-Subscriptions
 *   Renew-Subscription
 *
 * Jobs are resolved with ipp_target_job(), so the visibility rules of
 * ipp-job.c hold here too.  Subscriptions are those of notify.c (in the store,
 * ippget pull delivery, owned by one device).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ipp-private.h"
#include "job.h"

#define IPP_SUBS_LEASE_MAX 3600 /* notify-lease-duration upper bound (ipp-infra.c) */
#define IPP_DOCS_MAX 256        /* documents one Get-Documents lists */

/* ---- Get-Printer-Supported-Values ---- */

void ipp_op_get_printer_supported_values(ipp_ctx_t *ctx) {
  /* Every attribute Get-Printer-Attributes reports, keeping the values
   * that say what is supported: xxx-supported. */
  ipp_op_get_printer_attributes(ctx);
  if (!ctx->response || ippGetStatusCode(ctx->response) >= IPP_STATUS_ERROR_BAD_REQUEST) return;
  int n = 0, cap = 0;
  for (ipp_attribute_t *a = ippFirstAttribute(ctx->response); a;
       a = ippNextAttribute(ctx->response))
    cap++;
  ipp_attribute_t **drop = calloc((size_t)cap + 1, sizeof *drop);
  if (!drop) {
    ipp_respond(ctx, IPP_STATUS_ERROR_INTERNAL, "Out of memory.");
    return;
  }
  for (ipp_attribute_t *a = ippFirstAttribute(ctx->response); a && n < cap;
       a = ippNextAttribute(ctx->response)) {
    const char *name = ippGetName(a);
    size_t len = name ? strlen(name) : 0;
    if (ippGetGroupTag(a) == IPP_TAG_PRINTER &&
        !(len > 10 && strcmp(name + len - 10, "-supported") == 0))
      drop[n++] = a;
  }
  for (int i = 0; i < n; i++) ippDeleteAttribute(ctx->response, drop[i]);
  free(drop);
}

/* ---- documents ---- */

void ipp_op_validate_document(ipp_ctx_t *ctx) {
  nimbus_job_t job;
  if (!ipp_target_job(ctx, &job)) return;
  if (job.state != NIMBUS_JOB_RECEIVED) {
    ipp_respond(ctx, IPP_STATUS_ERROR_NOT_POSSIBLE, "Job #%lld is closed to new documents.",
                (long long)job.number);
    return;
  }
  /* The operation-attribute checks of Send-Document (document-format,
   * compression, document-name) on a scratch job. */
  nimbus_job_t scratch = {0};
  char fmt[NIMBUS_NAME_MAX], name[NIMBUS_TEXT_MAX];
  ipp_respond(ctx, IPP_STATUS_OK, NULL);
  ipp_job_attrs_parse(ctx, &scratch, fmt, sizeof fmt, name, sizeof name);
}

/* IPP document-state of a document of job (it follows its job). */
static int ipp_document_state(const nimbus_job_t *job) {
  int js = job_ipp_state(job->state);
  return js == IPP_JSTATE_HELD ? IPP_DSTATE_PENDING : js; /* same numbers otherwise */
}

static bool ipp_doc_want(cups_array_t *ra, const char *name) {
  return !ra || cupsArrayFind(ra, (void *)name) != NULL;
}

/* One document-attributes group, filtered by ra (NULL: all). */
static void ipp_document_add(ipp_ctx_t *ctx, const nimbus_job_t *job, const nimbus_document_t *d,
                             cups_array_t *ra) {
  ipp_t *resp = ctx->response;
  char uri[1024];
  ipp_printer_uri(ctx, uri, sizeof uri);
  if (ipp_doc_want(ra, "document-number"))
    ippAddInteger(resp, IPP_TAG_DOCUMENT, IPP_TAG_INTEGER, "document-number", d->number);
  if (ipp_doc_want(ra, "document-job-id"))
    ippAddInteger(resp, IPP_TAG_DOCUMENT, IPP_TAG_INTEGER, "document-job-id", (int)job->number);
  if (ipp_doc_want(ra, "document-printer-uri"))
    ippAddString(resp, IPP_TAG_DOCUMENT, IPP_TAG_URI, "document-printer-uri", NULL, uri);
  if (ipp_doc_want(ra, "document-name") && d->name[0])
    ippAddString(resp, IPP_TAG_DOCUMENT, IPP_TAG_NAME, "document-name", NULL, d->name);
  if (ipp_doc_want(ra, "document-format"))
    ippAddString(resp, IPP_TAG_DOCUMENT, IPP_TAG_MIMETYPE, "document-format", NULL, d->format);
  if (ipp_doc_want(ra, "document-state"))
    ippAddInteger(resp, IPP_TAG_DOCUMENT, IPP_TAG_ENUM, "document-state", ipp_document_state(job));
  if (ipp_doc_want(ra, "document-state-reasons"))
    ippAddString(resp, IPP_TAG_DOCUMENT, IPP_TAG_KEYWORD, "document-state-reasons", NULL,
                 d->blob_key[0] ? "none" : "document-data-deleted");
  if (ipp_doc_want(ra, "k-octets"))
    ippAddInteger(
        resp, IPP_TAG_DOCUMENT, IPP_TAG_INTEGER, "k-octets",
        (int)((d->size + 1023) / 1024 > 0x7fffffff ? 0x7fffffff : (d->size + 1023) / 1024));
  if (ipp_doc_want(ra, "pages"))
    ippAddInteger(resp, IPP_TAG_DOCUMENT, IPP_TAG_INTEGER, "pages", d->pages);
  if (ipp_doc_want(ra, "time-at-creation"))
    ippAddInteger(resp, IPP_TAG_DOCUMENT, IPP_TAG_INTEGER, "time-at-creation", (int)d->created_at);
  if (ipp_doc_want(ra, "date-time-at-creation"))
    ippAddDate(resp, IPP_TAG_DOCUMENT, "date-time-at-creation",
               ippTimeToDate((time_t)d->created_at));
  if (ipp_doc_want(ra, "compression"))
    ippAddString(resp, IPP_TAG_DOCUMENT, IPP_TAG_KEYWORD, "compression", NULL, "none");
}

/* The documents of the target job into a malloc'd array; NULL (answered)
 * on failure. */
static nimbus_document_t *ipp_job_documents(ipp_ctx_t *ctx, nimbus_job_t *job, int *n) {
  if (!ipp_target_job(ctx, job)) return NULL;
  nimbus_document_t *docs = calloc(IPP_DOCS_MAX, sizeof *docs);
  if (!docs || store_document_list(ctx->srv->store, ctx->tenant.id, job->id, docs, IPP_DOCS_MAX,
                                   n) != STORE_OK) {
    free(docs);
    ipp_respond(ctx, IPP_STATUS_ERROR_INTERNAL, "The job store is not available.");
    return NULL;
  }
  return docs;
}

void ipp_op_get_documents(ipp_ctx_t *ctx) {
  nimbus_job_t job;
  int n = 0;
  nimbus_document_t *docs = ipp_job_documents(ctx, &job, &n);
  if (!docs) return;
  int limit = n, first = 1;
  ipp_attribute_t *a = ippFindAttribute(ctx->request, "limit", IPP_TAG_INTEGER);
  if (a && ippGetInteger(a, 0) > 0 && ippGetInteger(a, 0) < limit) limit = ippGetInteger(a, 0);
  a = ippFindAttribute(ctx->request, "first-index", IPP_TAG_INTEGER);
  if (a && ippGetInteger(a, 0) > 1) first = ippGetInteger(a, 0);
  cups_array_t *ra;
  if (ippFindAttribute(ctx->request, "requested-attributes", IPP_TAG_ZERO)) {
    ra = ippCreateRequestedArray(ctx->request);
  } else {
    ra = cupsArrayNew(ipp_strcmp, NULL);
    cupsArrayAdd(ra, "document-number");
  }
  ipp_respond(ctx, IPP_STATUS_OK, NULL);
  int shown = 0;
  for (int i = first - 1; i < n && shown < limit; i++, shown++) {
    if (shown > 0) ippAddSeparator(ctx->response);
    ipp_document_add(ctx, &job, &docs[i], ra);
  }
  cupsArrayDelete(ra);
  free(docs);
}

void ipp_op_get_document_attributes(ipp_ctx_t *ctx) {
  ipp_attribute_t *num = ippFindAttribute(ctx->request, "document-number", IPP_TAG_ZERO);
  if (!num || ippGetValueTag(num) != IPP_TAG_INTEGER) {
    ipp_respond(ctx, IPP_STATUS_ERROR_BAD_REQUEST, "Missing or bad document-number.");
    return;
  }
  nimbus_job_t job;
  int n = 0;
  nimbus_document_t *docs = ipp_job_documents(ctx, &job, &n);
  if (!docs) return;
  int number = ippGetInteger(num, 0);
  const nimbus_document_t *d = NULL;
  for (int i = 0; i < n && !d; i++)
    if (docs[i].number == number) d = &docs[i];
  if (!d) {
    ipp_respond(ctx, IPP_STATUS_ERROR_NOT_FOUND, "Document %d of job #%lld does not exist.", number,
                (long long)job.number);
  } else {
    ipp_respond(ctx, IPP_STATUS_OK, NULL);
    cups_array_t *ra = ippCreateRequestedArray(ctx->request);
    ipp_document_add(ctx, &job, d, ra);
    cupsArrayDelete(ra);
  }
  free(docs);
}

/* ---- subscriptions of output devices ---- */

/* The notify-lease-duration of the request's group starting at a (0: the
 * default, capped at IPP_SUBS_LEASE_MAX). */
static int ipp_subs_lease(ipp_attribute_t *a) {
  int v = a ? ippGetInteger(a, 0) : 0;
  return v <= 0 || v > IPP_SUBS_LEASE_MAX ? IPP_SUBS_LEASE_MAX : v;
}

/* One subscription-attributes group. */
static void ipp_subs_add(ipp_ctx_t *ctx, const notify_sub_info_t *s) {
  ipp_t *resp = ctx->response;
  char uri[1024];
  ipp_printer_uri(ctx, uri, sizeof uri);
  ippAddInteger(resp, IPP_TAG_SUBSCRIPTION, IPP_TAG_INTEGER, "notify-subscription-id", s->id);
  ippAddString(resp, IPP_TAG_SUBSCRIPTION, IPP_TAG_URI, "notify-printer-uri", NULL, uri);
  if (s->job_id)
    ippAddInteger(resp, IPP_TAG_SUBSCRIPTION, IPP_TAG_INTEGER, "notify-job-id", (int)s->job_id);
  const char *events[3];
  int ne = 0;
  static const notify_event_type_t types[] = {NOTIFY_JOB_FETCHABLE, NOTIFY_JOB_STATE_CHANGED,
                                              NOTIFY_PRINTER_DELETED};
  for (int i = 0; i < 3; i++)
    if (s->events & types[i]) events[ne++] = notify_event_name(types[i]);
  ippAddStrings(resp, IPP_TAG_SUBSCRIPTION, IPP_TAG_KEYWORD, "notify-events", ne, NULL, events);
  ippAddString(resp, IPP_TAG_SUBSCRIPTION, IPP_TAG_KEYWORD, "notify-pull-method", NULL, "ippget");
  ippAddInteger(resp, IPP_TAG_SUBSCRIPTION, IPP_TAG_INTEGER, "notify-lease-duration",
                s->lease_seconds);
  ippAddInteger(resp, IPP_TAG_SUBSCRIPTION, IPP_TAG_INTEGER, "notify-lease-expiration-time",
                (int)s->expires_at);
  ippAddInteger(resp, IPP_TAG_SUBSCRIPTION, IPP_TAG_INTEGER, "notify-sequence-number",
                s->last_sequence);
  ippAddString(resp, IPP_TAG_SUBSCRIPTION, IPP_TAG_NAME, "notify-subscriber-user-name", NULL,
               ctx->device.name);
  ippAddString(resp, IPP_TAG_SUBSCRIPTION, IPP_TAG_CHARSET, "notify-charset", NULL, "utf-8");
  ippAddString(resp, IPP_TAG_SUBSCRIPTION, IPP_TAG_LANGUAGE, "notify-natural-language", NULL, "en");
}

/* May this device follow job: one that concerns it or is offered to it. */
static bool ipp_subs_job_ok(const ipp_ctx_t *ctx, const nimbus_job_t *job) {
  nimbus_id_t d = ctx->device.id;
  return job->device_id == d || job->target_device_id == d || job->origin_device_id == d ||
         (job->state == NIMBUS_JOB_FETCHABLE && !job->target_device_id);
}

void ipp_op_create_job_subscriptions(ipp_ctx_t *ctx) {
  ipp_attribute_t *jid = ippFindAttribute(ctx->request, "notify-job-id", IPP_TAG_ZERO);
  if (!jid || ippGetValueTag(jid) != IPP_TAG_INTEGER) {
    ipp_respond(ctx, IPP_STATUS_ERROR_BAD_REQUEST, "Missing or bad notify-job-id.");
    return;
  }
  nimbus_job_t job;
  if (store_job_get_by_number(ctx->srv->store, ctx->tenant.id, ippGetInteger(jid, 0), &job) !=
          STORE_OK ||
      job.queue_id != ctx->queue.id || !ipp_subs_job_ok(ctx, &job)) {
    ipp_respond(ctx, IPP_STATUS_ERROR_NOT_FOUND, "Job #%d does not exist.", ippGetInteger(jid, 0));
    return;
  }
  /* One subscription group: its attributes follow the first one named. */
  unsigned events = 0;
  int lease = IPP_SUBS_LEASE_MAX;
  bool pull = false, any = false;
  for (ipp_attribute_t *a = ippFirstAttribute(ctx->request); a;
       a = ippNextAttribute(ctx->request)) {
    const char *name = ippGetName(a);
    if (ippGetGroupTag(a) != IPP_TAG_SUBSCRIPTION || !name) {
      if (any) break; /* only the first group */
      continue;
    }
    any = true;
    if (!strcmp(name, "notify-pull-method")) {
      const char *v = ippGetString(a, 0, NULL);
      pull = v && !strcmp(v, "ippget");
    } else if (!strcmp(name, "notify-events")) {
      for (int i = 0; i < ippGetCount(a); i++) {
        const char *v = ippGetString(a, i, NULL);
        events |= v ? (unsigned)notify_event_parse(v) : 0u;
      }
    } else if (!strcmp(name, "notify-lease-duration")) {
      lease = ipp_subs_lease(a);
    }
  }
  if (!any) {
    ipp_respond(ctx, IPP_STATUS_ERROR_BAD_REQUEST, "No subscription attributes group.");
    return;
  }
  ipp_respond(ctx, IPP_STATUS_OK, NULL);
  int id = -1;
  ipp_status_t st = IPP_STATUS_ERROR_ATTRIBUTES_OR_VALUES; /* push delivery is not offered */
  if (pull) {
    id = notify_subscribe_job(ctx->srv->notify, ctx->tenant.id, ctx->queue.id, ctx->device.id,
                              job.number, events ? events : NOTIFY_JOB_STATE_CHANGED, lease);
    st = id == NOTIFY_TOO_MANY ? IPP_STATUS_ERROR_TOO_MANY_SUBSCRIPTIONS
                               : IPP_STATUS_ERROR_INTERNAL;
  }
  if (id > 0) {
    ippAddInteger(ctx->response, IPP_TAG_SUBSCRIPTION, IPP_TAG_INTEGER, "notify-subscription-id",
                  id);
    return;
  }
  ippAddInteger(ctx->response, IPP_TAG_SUBSCRIPTION, IPP_TAG_ENUM, "notify-status-code", st);
  ippSetStatusCode(ctx->response, IPP_STATUS_ERROR_IGNORED_ALL_SUBSCRIPTIONS);
  ctx->status = IPP_STATUS_ERROR_IGNORED_ALL_SUBSCRIPTIONS;
}

/* notify-subscription-id of the request, or 0 (answered). */
static int ipp_subs_id(ipp_ctx_t *ctx) {
  ipp_attribute_t *a = ippFindAttribute(ctx->request, "notify-subscription-id", IPP_TAG_ZERO);
  if (!a || ippGetValueTag(a) != IPP_TAG_INTEGER || ippGetInteger(a, 0) <= 0) {
    ipp_respond(ctx, IPP_STATUS_ERROR_BAD_REQUEST, "Missing or bad notify-subscription-id.");
    return 0;
  }
  return ippGetInteger(a, 0);
}

void ipp_op_get_subscription_attributes(ipp_ctx_t *ctx) {
  int id = ipp_subs_id(ctx);
  if (!id) return;
  notify_sub_info_t s;
  if (!notify_sub_get(ctx->srv->notify, ctx->device.id, id, &s) || s.queue_id != ctx->queue.id) {
    ipp_respond(ctx, IPP_STATUS_ERROR_NOT_FOUND, "Subscription %d does not exist.", id);
    return;
  }
  ipp_respond(ctx, IPP_STATUS_OK, NULL);
  ipp_subs_add(ctx, &s);
}

void ipp_op_get_subscriptions(ipp_ctx_t *ctx) {
  ipp_attribute_t *jid = ippFindAttribute(ctx->request, "notify-job-id", IPP_TAG_INTEGER);
  ipp_attribute_t *lim = ippFindAttribute(ctx->request, "limit", IPP_TAG_INTEGER);
  notify_sub_info_t subs[16];
  int n = notify_sub_list(ctx->srv->notify, ctx->device.id, ctx->queue.id,
                          jid ? ippGetInteger(jid, 0) : 0, subs, 16);
  if (lim && ippGetInteger(lim, 0) > 0 && ippGetInteger(lim, 0) < n) n = ippGetInteger(lim, 0);
  ipp_respond(ctx, IPP_STATUS_OK, NULL);
  for (int i = 0; i < n; i++) {
    if (i > 0) ippAddSeparator(ctx->response);
    ipp_subs_add(ctx, &subs[i]);
  }
}

void ipp_op_renew_subscription(ipp_ctx_t *ctx) {
  int id = ipp_subs_id(ctx);
  if (!id) return;
  notify_sub_info_t s;
  int lease =
      ipp_subs_lease(ippFindAttribute(ctx->request, "notify-lease-duration", IPP_TAG_INTEGER));
  if (!notify_sub_get(ctx->srv->notify, ctx->device.id, id, &s) || s.queue_id != ctx->queue.id ||
      !notify_renew(ctx->srv->notify, ctx->device.id, id, lease)) {
    ipp_respond(ctx, IPP_STATUS_ERROR_NOT_FOUND, "Subscription %d does not exist.", id);
    return;
  }
  ipp_respond(ctx, IPP_STATUS_OK, NULL);
  ippAddInteger(ctx->response, IPP_TAG_OPERATION, IPP_TAG_INTEGER, "notify-lease-duration", lease);
}
