/*
 * ipp-infra.c: the Infrastructure Printer side of IPP INFRA (PWG 5100.18)
 * on the tenant queues: what registered output devices (printers, INFRA
 * proxies such as nimbus-connector) call.  ipp-server.c has already
 * authenticated the device (ipp_authorize_device) when these run.
 *
 * Rules every job operation here follows (docs/PROTOCOL.md 6.2/6.3):
 *  - a job of another tenant or queue is client-error-not-found;
 *  - Fetch-Job / Acknowledge-Job need a fetchable job this device may take
 *    (no target device, or this one);
 *  - everything after Acknowledge-Job needs the job assigned to this
 *    device, else client-error-not-fetchable.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ipp-private.h"
#include "ippmem.h"
#include "job.h"
#include "log.h"
#include "notify.h"

#define IPP_INFRA_EVENTS_MAX 64    /* events in one Get-Notifications answer */
#define IPP_INFRA_LEASE_MAX 3600   /* notify-lease-duration upper bound */
#define IPP_INFRA_POLL_INTERVAL 30 /* notify-get-interval without notify-wait */

/* ---- IPP attribute blobs (device capabilities) ---- */

/* Decode a stored attribute blob; NULL when absent or unreadable. */
static ipp_t *ipp_blob_decode(const void *blob, size_t len) {
  ipp_t *ipp = NULL;
  if (!blob || !len || ippmem_decode(blob, len, &ipp, NULL) != 1) return NULL;
  return ipp;
}

/* Printer attributes a device may report that become the queue's own:
 * its capabilities, not identity, URIs or counters. */
static bool ipp_infra_capability(const char *name) {
  static const char *const exact[] = {"color-supported",
                                      "document-format-default",
                                      "document-format-supported",
                                      "printer-make-and-model",
                                      "printer-resolution-default",
                                      "printer-resolution-supported",
                                      "pwg-raster-document-resolution-supported",
                                      "pwg-raster-document-sheet-back",
                                      "pwg-raster-document-type-supported",
                                      "urf-supported",
                                      "copies-supported",
                                      "pages-per-minute",
                                      "pages-per-minute-color",
                                      NULL};
  static const char *const prefixes[] = {
      "media-",      "sides-",      "print-color-mode-",      "print-quality-",
      "finishings-", "output-bin-", "orientation-requested-", NULL};
  for (int i = 0; exact[i]; i++)
    if (strcmp(name, exact[i]) == 0) return true;
  for (int i = 0; prefixes[i]; i++)
    if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0) return true;
  return strcmp(name, "media") == 0;
}

void ipp_infra_overlay_capabilities(ipp_ctx_t *ctx, ipp_t *p) {
  void *blob = NULL;
  size_t len = 0;
  if (store_queue_device_attrs(ctx->srv->store, ctx->tenant.id, ctx->queue.id, &blob, &len) !=
      STORE_OK)
    return;
  ipp_t *dev = ipp_blob_decode(blob, len);
  free(blob);
  if (!dev) return;
  for (ipp_attribute_t *a = ippFirstAttribute(dev); a; a = ippNextAttribute(dev)) {
    const char *name = ippGetName(a);
    if (!name || !ipp_infra_capability(name)) continue;
    ipp_attribute_t *old = ippFindAttribute(p, name, IPP_TAG_ZERO);
    if (old) ippDeleteAttribute(p, old);
    ippCopyAttribute(p, a, 0);
  }
  ippDelete(dev);
}

/* ---- Update-Output-Device-Attributes / Get-Output-Device-Attributes ---- */

/* The first value of a keyword/text attribute, or "". */
static const char *ipp_infra_string(ipp_t *ipp, const char *name) {
  ipp_attribute_t *a = ippFindAttribute(ipp, name, IPP_TAG_ZERO);
  const char *v = a ? ippGetString(a, 0, NULL) : NULL;
  return v ? v : "";
}

void ipp_op_update_output_device_attributes(ipp_ctx_t *ctx) {
  nimbus_server_t *srv = ctx->srv;
  void *blob = NULL;
  size_t len = 0;
  store_device_get_attrs(srv->store, ctx->tenant.id, ctx->device.id, &blob, &len);
  ipp_t *merged = ipp_blob_decode(blob, len);
  free(blob);
  if (!merged) merged = ippNew();
  /* Partial updates (5100.18): a reported attribute replaces the stored
   * one of the same name; the others stay. */
  int count = 0;
  for (ipp_attribute_t *a = ippFirstAttribute(ctx->request); a;
       a = ippNextAttribute(ctx->request)) {
    const char *name = ippGetName(a);
    if (!name || ippGetGroupTag(a) != IPP_TAG_PRINTER) continue;
    count++;
  }
  ipp_attribute_t **attrs = calloc((size_t)count + 1, sizeof *attrs);
  int n = 0;
  for (ipp_attribute_t *a = ippFirstAttribute(ctx->request); a && attrs && n < count;
       a = ippNextAttribute(ctx->request)) {
    if (ippGetName(a) && ippGetGroupTag(a) == IPP_TAG_PRINTER) attrs[n++] = a;
  }
  for (int i = 0; i < n; i++) {
    ipp_attribute_t *old = ippFindAttribute(merged, ippGetName(attrs[i]), IPP_TAG_ZERO);
    if (old) ippDeleteAttribute(merged, old);
    ippCopyAttribute(merged, attrs[i], 0);
  }
  free(attrs);
  if (count > 0 && !n) {
    ippDelete(merged);
    ipp_respond(ctx, IPP_STATUS_ERROR_INTERNAL, "Out of memory.");
    return;
  }
  ipp_attribute_t *st = ippFindAttribute(merged, "printer-state", IPP_TAG_ENUM);
  int pstate = st ? ippGetInteger(st, 0) : 0;
  char reasons[NIMBUS_TEXT_MAX] = "";
  ipp_attribute_t *ra = ippFindAttribute(merged, "printer-state-reasons", IPP_TAG_KEYWORD);
  for (int i = 0; ra && i < ippGetCount(ra); i++) {
    size_t used = strlen(reasons);
    snprintf(reasons + used, sizeof reasons - used, "%s%s", used ? "," : "",
             ippGetString(ra, i, NULL));
  }
  size_t blen = 0;
  unsigned char *out = ippmem_encode(merged, &blen);
  store_status_t s =
      out ? store_device_set_reported(srv->store, ctx->tenant.id, ctx->device.id, pstate, reasons,
                                      ipp_infra_string(merged, "printer-make-and-model"), out, blen)
          : STORE_ERROR;
  free(out);
  ippDelete(merged);
  if (s != STORE_OK) {
    ipp_respond(ctx, IPP_STATUS_ERROR_INTERNAL, "The device attributes could not be stored.");
    return;
  }
  ipp_respond(ctx, IPP_STATUS_OK, NULL);
}

static int ipp_infra_filter(void *context, ipp_t *dst, ipp_attribute_t *attr) {
  (void)dst;
  cups_array_t *ra = context;
  const char *name = ippGetName(attr);
  return name && (!ra || cupsArrayFind(ra, (void *)name) != NULL);
}

void ipp_op_get_output_device_attributes(ipp_ctx_t *ctx) {
  void *blob = NULL;
  size_t len = 0;
  if (store_device_get_attrs(ctx->srv->store, ctx->tenant.id, ctx->device.id, &blob, &len) !=
      STORE_OK) {
    ipp_respond(ctx, IPP_STATUS_ERROR_INTERNAL, "The device attributes are not available.");
    return;
  }
  ipp_t *dev = ipp_blob_decode(blob, len);
  free(blob);
  ipp_respond(ctx, IPP_STATUS_OK, NULL);
  if (!dev) dev = ippNew();
  /* The registration's name and location, not what the device reported:
   * nimbus-connector shows them on its printer for PCs. */
  static const char *const identity[] = {"printer-name", "printer-location"};
  for (int i = 0; i < 2; i++) {
    ipp_attribute_t *old;
    while ((old = ippFindAttribute(dev, identity[i], IPP_TAG_ZERO)) != NULL)
      ippDeleteAttribute(dev, old);
  }
  ippAddString(dev, IPP_TAG_PRINTER, IPP_TAG_NAME, "printer-name", NULL, ctx->device.name);
  ippAddString(dev, IPP_TAG_PRINTER, IPP_TAG_TEXT, "printer-location", NULL, ctx->device.location);
  cups_array_t *ra = ippCreateRequestedArray(ctx->request);
  ippCopyAttributes(ctx->response, dev, 0, ipp_infra_filter, ra);
  cupsArrayDelete(ra);
  ippDelete(dev);
}

/* ---- subscriptions and notifications ---- */

/* One subscription-attributes group of Create-Printer-Subscriptions:
 * returns the new subscription id, or sets *status on refusal. */
static int ipp_infra_subscribe_group(ipp_ctx_t *ctx, ipp_attribute_t *first, ipp_status_t *status) {
  unsigned events = 0;
  int lease = IPP_INFRA_LEASE_MAX;
  bool pull = false;
  for (ipp_attribute_t *a = first; a && ippGetGroupTag(a) == IPP_TAG_SUBSCRIPTION && ippGetName(a);
       a = ippNextAttribute(ctx->request)) {
    const char *name = ippGetName(a);
    if (!strcmp(name, "notify-pull-method")) {
      const char *v = ippGetString(a, 0, NULL);
      pull = v && !strcmp(v, "ippget");
    } else if (!strcmp(name, "notify-recipient-uri")) {
      pull = false; /* push delivery is not offered */
      break;
    } else if (!strcmp(name, "notify-events")) {
      for (int i = 0; i < ippGetCount(a); i++) {
        const char *v = ippGetString(a, i, NULL);
        events |= v ? (unsigned)notify_event_parse(v) : 0u;
      }
    } else if (!strcmp(name, "notify-lease-duration")) {
      int v = ippGetInteger(a, 0);
      lease = v <= 0 || v > IPP_INFRA_LEASE_MAX ? IPP_INFRA_LEASE_MAX : v;
    }
  }
  if (!pull) {
    *status = IPP_STATUS_ERROR_ATTRIBUTES_OR_VALUES;
    return -1;
  }
  if (!events) events = NOTIFY_JOB_FETCHABLE | NOTIFY_JOB_STATE_CHANGED;
  int id = notify_subscribe(ctx->srv->notify, ctx->tenant.id, ctx->queue.id, ctx->device.id, events,
                            lease);
  if (id < 0)
    *status = id == NOTIFY_TOO_MANY ? IPP_STATUS_ERROR_TOO_MANY_SUBSCRIPTIONS
                                    : IPP_STATUS_ERROR_INTERNAL;
  return id;
}

void ipp_op_create_printer_subscriptions(ipp_ctx_t *ctx) {
  /* Find the groups first: iterating moves libcups' cursor. */
  ipp_attribute_t *starts[8];
  int ngroups = 0;
  ipp_tag_t prev = IPP_TAG_ZERO;
  for (ipp_attribute_t *a = ippFirstAttribute(ctx->request); a;
       a = ippNextAttribute(ctx->request)) {
    ipp_tag_t g = ippGetGroupTag(a);
    if (g == IPP_TAG_SUBSCRIPTION && ippGetName(a) && (prev != IPP_TAG_SUBSCRIPTION) && ngroups < 8)
      starts[ngroups++] = a;
    prev = ippGetName(a) ? g : IPP_TAG_ZERO; /* a separator ends a group */
  }
  if (ngroups == 0) {
    ipp_respond(ctx, IPP_STATUS_ERROR_BAD_REQUEST, "No subscription attributes group.");
    return;
  }
  ipp_respond(ctx, IPP_STATUS_OK, NULL);
  int ok = 0;
  for (int g = 0; g < ngroups; g++) {
    /* position the cursor at the group's first attribute */
    ipp_attribute_t *a = ippFirstAttribute(ctx->request);
    while (a && a != starts[g]) a = ippNextAttribute(ctx->request);
    ipp_status_t st = IPP_STATUS_OK;
    int id = ipp_infra_subscribe_group(ctx, a, &st);
    if (g > 0) ippAddSeparator(ctx->response);
    if (id > 0) {
      ippAddInteger(ctx->response, IPP_TAG_SUBSCRIPTION, IPP_TAG_INTEGER, "notify-subscription-id",
                    id);
      ok++;
    } else {
      ippAddInteger(ctx->response, IPP_TAG_SUBSCRIPTION, IPP_TAG_ENUM, "notify-status-code", st);
    }
  }
  if (ok == 0)
    ippSetStatusCode(ctx->response, IPP_STATUS_ERROR_IGNORED_ALL_SUBSCRIPTIONS);
  else if (ok < ngroups)
    ippSetStatusCode(ctx->response, IPP_STATUS_OK_IGNORED_SUBSCRIPTIONS);
  ctx->status = (int)ippGetStatusCode(ctx->response);
}

void ipp_op_cancel_subscription(ipp_ctx_t *ctx) {
  ipp_attribute_t *a = ippFindAttribute(ctx->request, "notify-subscription-id", IPP_TAG_INTEGER);
  if (!a) {
    ipp_respond(ctx, IPP_STATUS_ERROR_BAD_REQUEST, "Missing notify-subscription-id.");
    return;
  }
  if (!notify_cancel(ctx->srv->notify, ctx->device.id, ippGetInteger(a, 0))) {
    ipp_respond(ctx, IPP_STATUS_ERROR_NOT_FOUND, "No such subscription.");
    return;
  }
  ipp_respond(ctx, IPP_STATUS_OK, NULL);
}

/* Add one event-notification group. */
static void ipp_infra_add_event(ipp_t *resp, const char *uri, const notify_event_t *e, bool first) {
  if (!first) ippAddSeparator(resp);
  ippAddString(resp, IPP_TAG_EVENT_NOTIFICATION, IPP_TAG_CHARSET, "notify-charset", NULL, "utf-8");
  ippAddString(resp, IPP_TAG_EVENT_NOTIFICATION, IPP_TAG_LANGUAGE, "notify-natural-language", NULL,
               "en");
  ippAddInteger(resp, IPP_TAG_EVENT_NOTIFICATION, IPP_TAG_INTEGER, "notify-subscription-id",
                e->subscription_id);
  ippAddInteger(resp, IPP_TAG_EVENT_NOTIFICATION, IPP_TAG_INTEGER, "notify-sequence-number",
                e->sequence);
  ippAddString(resp, IPP_TAG_EVENT_NOTIFICATION, IPP_TAG_KEYWORD, "notify-subscribed-event", NULL,
               notify_event_name(e->type));
  ippAddString(resp, IPP_TAG_EVENT_NOTIFICATION, IPP_TAG_URI, "notify-printer-uri", NULL, uri);
  ippAddInteger(resp, IPP_TAG_EVENT_NOTIFICATION, IPP_TAG_INTEGER, "printer-up-time", (int)e->at);
  if (e->type == NOTIFY_PRINTER_DELETED) {
    ippAddString(resp, IPP_TAG_EVENT_NOTIFICATION, IPP_TAG_TEXT, "notify-text", NULL,
                 DEVICE_DELETED_MESSAGE);
    ippAddInteger(resp, IPP_TAG_EVENT_NOTIFICATION, IPP_TAG_ENUM, "printer-state",
                  IPP_PSTATE_STOPPED);
    return;
  }
  ippAddInteger(resp, IPP_TAG_EVENT_NOTIFICATION, IPP_TAG_INTEGER, "notify-job-id", (int)e->job_id);
  ippAddInteger(resp, IPP_TAG_EVENT_NOTIFICATION, IPP_TAG_INTEGER, "job-id", (int)e->job_id);
  ippAddInteger(resp, IPP_TAG_EVENT_NOTIFICATION, IPP_TAG_ENUM, "job-state", e->job_state);
  /* The job's reasons at the event (an event posted without them, which
   * the job observer never does, says what its type implies). */
  const char *fallback = e->type == NOTIFY_JOB_FETCHABLE ? "job-fetchable" : "none";
  ippAddStrings(resp, IPP_TAG_EVENT_NOTIFICATION, IPP_TAG_KEYWORD, "job-state-reasons",
                e->nreasons > 0 ? e->nreasons : 1, NULL, e->nreasons > 0 ? e->reasons : &fallback);
  ippAddString(resp, IPP_TAG_EVENT_NOTIFICATION, IPP_TAG_TEXT, "notify-text", NULL,
               e->type == NOTIFY_JOB_FETCHABLE ? "Job is fetchable." : "Job state changed.");
}

/* The rest of a successful Get-Notifications answer: the operation
 * attributes after the status and one group per event. */
static void ipp_infra_add_notifications(ipp_t *resp, const char *uri, bool notify_wait,
                                        const notify_event_t *ev, int n) {
  /* With notify-wait the device asks again at once (the next request is
   * held); polling devices are told how long to wait. */
  ippAddInteger(resp, IPP_TAG_OPERATION, IPP_TAG_INTEGER, "notify-get-interval",
                notify_wait ? 0 : IPP_INFRA_POLL_INTERVAL);
  ippAddInteger(resp, IPP_TAG_OPERATION, IPP_TAG_INTEGER, "printer-up-time", (int)time(NULL));
  for (int i = 0; i < n; i++) ipp_infra_add_event(resp, uri, &ev[i], i == 0);
}

static void ipp_infra_log_notice(const char *request_id, const char *device) {
  log_event(LOG_INFO, request_id, "deregistration notice sent", "device", device, (char *)NULL);
}

/* Answer through ctx (the request is still libmicrohttpd's). */
static void ipp_infra_respond_notifications(ipp_ctx_t *ctx, const notify_event_t *ev, int n,
                                            bool deleted) {
  char uri[1024];
  ipp_printer_uri(ctx, uri, sizeof uri);
  ipp_respond(ctx, IPP_STATUS_OK, NULL);
  ipp_infra_add_notifications(ctx->response, uri, ctx->notify_wait, ev, n);
  if (deleted) {
    /* The deregistration notice: answered, then the connection closes. */
    ctx->r->resp_close = true;
    ipp_infra_log_notice(ctx->r->id, ctx->device.name);
  }
}

/* Collect (never waiting) into ev; returns how many. */
static int ipp_infra_collect(nimbus_server_t *srv, nimbus_id_t device_id, const int *ids,
                             const int *since, int nsubs, notify_event_t *ev,
                             const notify_wait_t *wait, bool *parked, bool *deleted) {
  *parked = *deleted = false;
  return notify_collect(srv->notify, device_id, ids, since, nsubs, ev, IPP_INFRA_EVENTS_MAX, wait,
                        parked, deleted);
}

/* ---- parked over TLS: the request stays suspended in libmicrohttpd ---- */

static void ipp_infra_parked_answer(http_request_t *r) {
  ipp_ctx_t *ctx = r->handler_state;
  notify_event_t ev[IPP_INFRA_EVENTS_MAX];
  bool parked, deleted;
  ctx->parked = false;
  int n = ipp_infra_collect(ctx->srv, ctx->device.id, ctx->sub_ids, ctx->sub_since, ctx->nsubs, ev,
                            NULL, &parked, &deleted);
  ipp_infra_respond_notifications(ctx, ev, n, deleted);
  ipp_send(ctx);
}

static void ipp_infra_parked_wake(void *arg) {
  http_request_wake(arg, ipp_infra_parked_answer);
}

static void ipp_infra_on_park(void *arg) {
  http_request_park(arg);
}

/* ---- held: the connection left libmicrohttpd (http_request_hold) ---- */

/* What answering a held Get-Notifications needs, and nothing more: the
 * request context (some 14 KiB) is freed while it waits. */
typedef struct {
  nimbus_server_t *srv;
  http_held_t *conn;
  nimbus_id_t device_id;
  int nsubs;
  int sub_ids[NOTIFY_MAX_SUBS_PER_REQUEST];
  int sub_since[NOTIFY_MAX_SUBS_PER_REQUEST];
  int request_id;
  int major, minor;
  char language[32]; /* attributes-natural-language of the request */
  char request[17];  /* request id, for the deregistration log line */
  char *uri;         /* notify-printer-uri */
} ipp_held_poll_t;

static void ipp_held_respond(ipp_held_poll_t *p, const notify_event_t *ev, int n, bool deleted) {
  ipp_t *resp = ippNew();
  ippSetVersion(resp, p->major, p->minor);
  ippSetRequestId(resp, p->request_id);
  ippSetStatusCode(resp, IPP_STATUS_OK);
  ippAddString(resp, IPP_TAG_OPERATION, IPP_TAG_CHARSET, "attributes-charset", NULL, "utf-8");
  ippAddString(resp, IPP_TAG_OPERATION, IPP_TAG_LANGUAGE, "attributes-natural-language", NULL,
               p->language);
  ipp_infra_add_notifications(resp, p->uri, true, ev, n);
  size_t len = 0;
  char *buf = (char *)ippmem_encode(resp, &len);
  ippDelete(resp);
  if (deleted) {
    char dev[32];
    snprintf(dev, sizeof dev, "%lld", (long long)p->device_id);
    ipp_infra_log_notice(p->request, dev);
  }
  if (buf)
    http_held_answer(p->conn, 200, "application/ipp", buf, len, deleted, IPP_STATUS_OK);
  else
    http_held_answer(p->conn, 500, "text/plain", NULL, 0, true, -1);
  free(p->uri);
  free(p);
}

static void ipp_held_wake(void *arg) {
  ipp_held_poll_t *p = arg;
  notify_event_t ev[IPP_INFRA_EVENTS_MAX];
  bool parked, deleted;
  int n = ipp_infra_collect(p->srv, p->device_id, p->sub_ids, p->sub_since, p->nsubs, ev, NULL,
                            &parked, &deleted);
  ipp_held_respond(p, ev, n, deleted);
}

/* Hold ctx's Get-Notifications outside libmicrohttpd until an event, the
 * deadline or shutdown; false when the connection cannot be held. */
static bool ipp_infra_hold(ipp_ctx_t *ctx) {
  http_held_t *conn = http_request_hold(ctx->r);
  if (!conn) return false;
  ctx->parked = true; /* finish() sends nothing: the held connection answers */
  ipp_held_poll_t *p = calloc(1, sizeof *p);
  char uri[1024];
  ipp_printer_uri(ctx, uri, sizeof uri);
  if (p) p->uri = strdup(uri);
  if (!p || !p->uri) {
    free(p);
    http_held_answer(conn, 500, "text/plain", NULL, 0, true, -1);
    return true;
  }
  p->srv = ctx->srv;
  p->conn = conn;
  p->device_id = ctx->device.id;
  p->nsubs = ctx->nsubs;
  memcpy(p->sub_ids, ctx->sub_ids, sizeof p->sub_ids);
  memcpy(p->sub_since, ctx->sub_since, sizeof p->sub_since);
  p->request_id = ippGetRequestId(ctx->request);
  p->major = ippGetVersion(ctx->request, &p->minor);
  ipp_attribute_t *lang =
      ippFindAttribute(ctx->request, "attributes-natural-language", IPP_TAG_LANGUAGE);
  const char *l = lang ? ippGetString(lang, 0, NULL) : NULL;
  snprintf(p->language, sizeof p->language, "%s", l && strlen(l) < sizeof p->language ? l : "en");
  memcpy(p->request, ctx->r->id, sizeof p->request);
  notify_event_t ev[IPP_INFRA_EVENTS_MAX];
  bool parked, deleted;
  notify_wait_t wait = {.wake = ipp_held_wake, .arg = p};
  int n = ipp_infra_collect(p->srv, p->device_id, p->sub_ids, p->sub_since, p->nsubs, ev, &wait,
                            &parked, &deleted);
  if (!parked) ipp_held_respond(p, ev, n, deleted); /* an event came meanwhile */
  return true;
}

void ipp_op_get_notifications(ipp_ctx_t *ctx) {
  ipp_attribute_t *ids = ippFindAttribute(ctx->request, "notify-subscription-ids", IPP_TAG_ZERO);
  if (!ids || ippGetValueTag(ids) != IPP_TAG_INTEGER) {
    ipp_respond(ctx, IPP_STATUS_ERROR_BAD_REQUEST, "Missing notify-subscription-ids.");
    return;
  }
  ipp_attribute_t *seqs = ippFindAttribute(ctx->request, "notify-sequence-numbers", IPP_TAG_ZERO);
  if (seqs && ippGetValueTag(seqs) != IPP_TAG_INTEGER) {
    ipp_respond(ctx, IPP_STATUS_ERROR_BAD_REQUEST, "notify-sequence-numbers must be integers.");
    return;
  }
  ipp_attribute_t *wait = ippFindAttribute(ctx->request, "notify-wait", IPP_TAG_BOOLEAN);
  ctx->notify_wait = wait && ippGetBoolean(wait, 0);
  ctx->nsubs = 0;
  for (int i = 0; i < ippGetCount(ids) && ctx->nsubs < NOTIFY_MAX_SUBS_PER_REQUEST; i++) {
    int id = ippGetInteger(ids, i);
    if (!notify_owns(ctx->srv->notify, ctx->device.id, id)) {
      /* Also what a device sees once its lease ran out: subscribe again. */
      ipp_respond(ctx, IPP_STATUS_ERROR_NOT_FOUND, "Subscription %d does not exist.", id);
      return;
    }
    ctx->sub_ids[ctx->nsubs] = id;
    ctx->sub_since[ctx->nsubs] = seqs && i < ippGetCount(seqs) ? ippGetInteger(seqs, i) : 1;
    ctx->nsubs++;
  }
  notify_event_t ev[IPP_INFRA_EVENTS_MAX];
  bool parked, deleted;
  int n = ipp_infra_collect(ctx->srv, ctx->device.id, ctx->sub_ids, ctx->sub_since, ctx->nsubs, ev,
                            NULL, &parked, &deleted);
  if (n == 0 && !deleted && ctx->notify_wait) {
    /* Nothing pending: wait, held outside libmicrohttpd where it can be
     * (plain HTTP), else parked with the request suspended (TLS). */
    if (ipp_infra_hold(ctx)) return;
    if (http_request_can_park(ctx->r)) {
      notify_wait_t wait = {
          .wake = ipp_infra_parked_wake, .on_park = ipp_infra_on_park, .arg = ctx->r};
      n = ipp_infra_collect(ctx->srv, ctx->device.id, ctx->sub_ids, ctx->sub_since, ctx->nsubs, ev,
                            &wait, &parked, &deleted);
      if (parked) {
        ctx->parked = true;
        return;
      }
    }
  }
  ipp_infra_respond_notifications(ctx, ev, n, deleted);
}

/* ---- jobs ---- */

/* The target job, which must be fetchable by this device. */
static bool ipp_infra_fetchable_job(ipp_ctx_t *ctx, nimbus_job_t *job) {
  if (!ipp_target_job(ctx, job)) return false;
  if (job->state == NIMBUS_JOB_PROCESSING && job->device_id == ctx->device.id) return true;
  if (job->state != NIMBUS_JOB_FETCHABLE ||
      (job->target_device_id && job->target_device_id != ctx->device.id)) {
    ipp_respond(ctx, IPP_STATUS_ERROR_NOT_FETCHABLE, "Job #%lld is not fetchable.",
                (long long)job->number);
    return false;
  }
  return true;
}

/* The target job, which must be assigned to this device. */
static bool ipp_infra_my_job(ipp_ctx_t *ctx, nimbus_job_t *job) {
  if (!ipp_target_job(ctx, job)) return false;
  if (job->device_id != ctx->device.id) {
    ipp_respond(ctx, IPP_STATUS_ERROR_NOT_FETCHABLE,
                "Job #%lld is not assigned to this output device.", (long long)job->number);
    return false;
  }
  if (job->state != NIMBUS_JOB_PROCESSING) {
    ipp_respond(ctx, IPP_STATUS_ERROR_NOT_POSSIBLE, "Job #%lld is %s.", (long long)job->number,
                job_state_name(job->state));
    ippAddInteger(ctx->response, IPP_TAG_JOB, IPP_TAG_ENUM, "job-state", job_ipp_state(job->state));
    return false;
  }
  return true;
}

void ipp_op_get_fetchable_jobs(ipp_ctx_t *ctx) {
  store_job_filter_t f = {.tenant_id = ctx->tenant.id,
                          .queue_id = ctx->queue.id,
                          .which = STORE_WHICH_FETCHABLE,
                          .fetchable_for = ctx->device.id,
                          .limit = IPP_GET_JOBS_MAX};
  ipp_attribute_t *a = ippFindAttribute(ctx->request, "limit", IPP_TAG_INTEGER);
  if (a && ippGetInteger(a, 0) > 0 && ippGetInteger(a, 0) < f.limit) f.limit = ippGetInteger(a, 0);
  /* first-index (PWG 5100.13): a proxy pages through more than one
   * answer holds */
  if ((a = ippFindAttribute(ctx->request, "first-index", IPP_TAG_INTEGER)) != NULL &&
      ippGetInteger(a, 0) > 1)
    f.offset = ippGetInteger(a, 0) - 1;
  cups_array_t *ra;
  if (ippFindAttribute(ctx->request, "requested-attributes", IPP_TAG_ZERO)) {
    ra = ippCreateRequestedArray(ctx->request);
  } else {
    ra = cupsArrayNew(ipp_strcmp, NULL);
    cupsArrayAdd(ra, "job-id");
    cupsArrayAdd(ra, "job-uri");
    cupsArrayAdd(ra, "job-state");
    cupsArrayAdd(ra, "job-state-reasons");
  }
  ipp_job_vec_t v = {0};
  if (store_job_list(ctx->srv->store, &f, ipp_collect_job, &v, NULL) != STORE_OK) {
    ipp_respond(ctx, IPP_STATUS_ERROR_INTERNAL, "The job store is not available.");
  } else {
    ipp_respond(ctx, IPP_STATUS_OK, NULL);
    for (int i = 0; i < v.n; i++) {
      if (i > 0) ippAddSeparator(ctx->response);
      ipp_job_attrs_add(ctx, &v.jobs[i], ra);
    }
  }
  free(v.jobs);
  cupsArrayDelete(ra);
}

void ipp_op_fetch_job(ipp_ctx_t *ctx) {
  nimbus_job_t job;
  if (!ipp_infra_fetchable_job(ctx, &job)) return;
  ipp_respond(ctx, IPP_STATUS_OK, NULL);
  cups_array_t *ra = ippFindAttribute(ctx->request, "requested-attributes", IPP_TAG_ZERO)
                         ? ippCreateRequestedArray(ctx->request)
                         : NULL; /* NULL: every job attribute */
  ipp_job_attrs_add(ctx, &job, ra);
  cupsArrayDelete(ra);
}

void ipp_op_acknowledge_job(ipp_ctx_t *ctx) {
  nimbus_job_t job;
  if (!ipp_infra_fetchable_job(ctx, &job)) return;
  ipp_attribute_t *fsc = ippFindAttribute(ctx->request, "fetch-status-code", IPP_TAG_ENUM);
  if (fsc && ippGetInteger(fsc, 0) != IPP_STATUS_OK) {
    /* The device cannot take it: it stays fetchable for the others. */
    log_event(LOG_INFO, ctx->r->id, "device declined a job", "job_id", LOG_INT(job.id), "device",
              ctx->device.name, "fetch_status_code", LOG_INT(ippGetInteger(fsc, 0)), (char *)NULL);
    ipp_respond(ctx, IPP_STATUS_OK, NULL);
    return;
  }
  if (job.state == NIMBUS_JOB_PROCESSING) { /* acknowledged before: idempotent */
    ipp_respond(ctx, IPP_STATUS_OK, NULL);
    return;
  }
  switch (job_apply_device(ctx->srv->store, ctx->tenant.id, job.id, JOB_EVENT_FETCH, ctx->device.id,
                           ctx->device.name, NULL)) {
    case JOB_OK:
      ipp_respond(ctx, IPP_STATUS_OK, NULL);
      break;
    case JOB_NOT_FOUND:
      ipp_respond(ctx, IPP_STATUS_ERROR_NOT_FOUND, "Job #%lld does not exist.",
                  (long long)job.number);
      break;
    case JOB_NOT_POSSIBLE:
      ipp_respond(ctx, IPP_STATUS_ERROR_NOT_FETCHABLE, "Job #%lld was taken by another device.",
                  (long long)job.number);
      break;
    case JOB_ERROR:
      ipp_respond(ctx, IPP_STATUS_ERROR_INTERNAL, "The job store is not available.");
      break;
  }
}

/* The requested document-number (default 1) of job, or answer. */
static bool ipp_infra_document(ipp_ctx_t *ctx, const nimbus_job_t *job, nimbus_document_t *doc) {
  ipp_attribute_t *a = ippFindAttribute(ctx->request, "document-number", IPP_TAG_ZERO);
  int number = 1;
  if (a) {
    if (ippGetValueTag(a) != IPP_TAG_INTEGER) {
      ipp_respond(ctx, IPP_STATUS_ERROR_BAD_REQUEST, "document-number must be an integer.");
      return false;
    }
    number = ippGetInteger(a, 0);
  }
  nimbus_document_t docs[16];
  int n = 0;
  if (store_document_list(ctx->srv->store, ctx->tenant.id, job->id, docs, 16, &n) != STORE_OK) {
    ipp_respond(ctx, IPP_STATUS_ERROR_INTERNAL, "The job store is not available.");
    return false;
  }
  for (int i = 0; i < n; i++) {
    if (docs[i].number == number) {
      *doc = docs[i];
      return true;
    }
  }
  ipp_respond(ctx, IPP_STATUS_ERROR_NOT_FOUND, "Document %d of job #%lld does not exist.", number,
              (long long)job->number);
  return false;
}

/* Read a whole inline document (at most NIMBUS_INLINE_DOCUMENT_MAX). */
static char *ipp_infra_read_inline(ipp_ctx_t *ctx, const nimbus_job_t *job,
                                   const nimbus_document_t *doc, size_t *len) {
  size_t cap = doc->size > 0 ? (size_t)doc->size : 1, got = 0, total = 0;
  char *buf = malloc(cap);
  while (buf && total < cap) {
    if (store_document_read_inline(ctx->srv->store, ctx->tenant.id, job->id, doc->number,
                                   (int64_t)total, buf + total, cap - total, &got) != STORE_OK) {
      free(buf);
      return NULL;
    }
    if (got == 0) break;
    total += got;
  }
  *len = total;
  return buf;
}

/* http_body_source_t over a blob reader (Fetch-Document's body). */
static ssize_t ipp_infra_blob_read(void *ctx, int64_t offset, void *buf, size_t len) {
  return blob_reader_read(ctx, offset, buf, len);
}

static void ipp_infra_blob_close(void *ctx) {
  blob_reader_close(ctx);
}

void ipp_op_fetch_document(ipp_ctx_t *ctx) {
  nimbus_job_t job;
  nimbus_document_t doc;
  if (!ipp_infra_my_job(ctx, &job) || !ipp_infra_document(ctx, &job, &doc)) return;
  ipp_attribute_t *acc = ippFindAttribute(ctx->request, "document-format-accepted", IPP_TAG_ZERO);
  if (acc) {
    bool ok = false;
    for (int i = 0; i < ippGetCount(acc) && !ok; i++) {
      const char *f = ippGetString(acc, i, NULL);
      ok = f && (!strcmp(f, doc.format) || !strcmp(f, "application/octet-stream"));
    }
    if (!ok) {
      ipp_respond(ctx, IPP_STATUS_ERROR_DOCUMENT_FORMAT_NOT_SUPPORTED,
                  "The document is %s, which the device does not accept.", doc.format);
      return;
    }
  }
  if (!doc.blob_key[0]) {
    ipp_respond(ctx, IPP_STATUS_ERROR_NOT_FOUND, "The document data is no longer kept.");
    return;
  }
  ipp_respond(ctx, IPP_STATUS_OK, NULL);
  ippAddString(ctx->response, IPP_TAG_OPERATION, IPP_TAG_KEYWORD, "compression", NULL, "none");
  ippAddString(ctx->response, IPP_TAG_OPERATION, IPP_TAG_MIMETYPE, "document-format", NULL,
               doc.format);
  ippAddInteger(ctx->response, IPP_TAG_OPERATION, IPP_TAG_INTEGER, "document-number", doc.number);
  if (doc.name[0])
    ippAddString(ctx->response, IPP_TAG_OPERATION, IPP_TAG_NAME, "document-name", NULL, doc.name);

  size_t hlen = 0;
  char *head = ipp_encode_response(ctx, &hlen);
  if (!head) {
    ipp_respond(ctx, IPP_STATUS_ERROR_INTERNAL, "Out of memory.");
    return;
  }
  if (strcmp(doc.blob_key, STORE_INLINE_BLOB_KEY) == 0) {
    size_t dlen = 0;
    char *data = ipp_infra_read_inline(ctx, &job, &doc, &dlen);
    char *all = data ? realloc(head, hlen + dlen + 1) : NULL;
    if (!all) {
      free(data);
      free(head);
      ipp_respond(ctx, IPP_STATUS_ERROR_INTERNAL, "The document could not be read.");
      return;
    }
    memcpy(all + hlen, data, dlen);
    free(data);
    http_respond_owned(ctx->r, 200, "application/ipp", all, hlen + dlen);
    return;
  }
  blob_reader_t *reader = blob_reader_open(ctx->srv->blobs, doc.blob_key);
  if (!reader) {
    free(head);
    log_event(LOG_ERROR, ctx->r->id, "document blob missing", "job_id", LOG_INT(job.id),
              "error", strerror(errno), (char *)NULL);
    ipp_respond(ctx, IPP_STATUS_ERROR_INTERNAL, "The document could not be read.");
    return;
  }
  /* The document follows the IPP response, streamed from the blob store. */
  http_body_source_t src = {ipp_infra_blob_read, ipp_infra_blob_close, reader};
  http_respond_stream(ctx->r, 200, "application/ipp", head, hlen, &src, blob_reader_size(reader));
}

void ipp_op_acknowledge_document(ipp_ctx_t *ctx) {
  nimbus_job_t job;
  nimbus_document_t doc;
  if (!ipp_infra_my_job(ctx, &job) || !ipp_infra_document(ctx, &job, &doc)) return;
  ipp_attribute_t *fsc = ippFindAttribute(ctx->request, "fetch-status-code", IPP_TAG_ENUM);
  if (fsc && ippGetInteger(fsc, 0) != IPP_STATUS_OK)
    log_event(LOG_WARN, ctx->r->id, "device could not fetch a document", "job_id", LOG_INT(job.id),
              "document", LOG_INT(doc.number), "fetch_status_code", LOG_INT(ippGetInteger(fsc, 0)),
              (char *)NULL);
  ipp_respond(ctx, IPP_STATUS_OK, NULL);
}

/* job-state-reasons of the request as one comma-separated string. */
static void ipp_infra_reasons(ipp_ctx_t *ctx, const char *name, char *out, size_t outlen) {
  out[0] = '\0';
  ipp_attribute_t *a = ippFindAttribute(ctx->request, name, IPP_TAG_KEYWORD);
  for (int i = 0; a && i < ippGetCount(a); i++) {
    size_t used = strlen(out);
    snprintf(out + used, outlen - used, "%s%s", used ? "," : "", ippGetString(a, i, NULL));
  }
}

void ipp_op_update_job_status(ipp_ctx_t *ctx) {
  nimbus_job_t job;
  if (!ipp_infra_my_job(ctx, &job)) return;
  ipp_attribute_t *st = ippFindAttribute(ctx->request, "output-device-job-state", IPP_TAG_ENUM);
  if (!st) st = ippFindAttribute(ctx->request, "job-state", IPP_TAG_ENUM);
  ipp_attribute_t *imp =
      ippFindAttribute(ctx->request, "job-impressions-completed", IPP_TAG_INTEGER);
  char reasons[NIMBUS_TEXT_MAX];
  ipp_infra_reasons(ctx, "output-device-job-state-reasons", reasons, sizeof reasons);
  if (!reasons[0]) ipp_infra_reasons(ctx, "job-state-reasons", reasons, sizeof reasons);
  int impressions = imp ? ippGetInteger(imp, 0) : -1;
  if (impressions < -1) impressions = -1;
  if (store_job_set_progress(ctx->srv->store, ctx->tenant.id, job.id, ctx->device.id, impressions,
                             reasons[0] ? reasons : NULL) != STORE_OK) {
    ipp_respond(ctx, IPP_STATUS_ERROR_NOT_FETCHABLE,
                "Job #%lld is not assigned to this output device.", (long long)job.number);
    return;
  }
  int state = st ? ippGetInteger(st, 0) : 0;
  job_event_t ev = state == IPP_JSTATE_COMPLETED  ? JOB_EVENT_DEVICE_COMPLETED
                   : state == IPP_JSTATE_ABORTED  ? JOB_EVENT_DEVICE_ABORTED
                   : state == IPP_JSTATE_CANCELED ? JOB_EVENT_DEVICE_CANCELED
                                                  : (job_event_t)-1;
  if ((int)ev >= 0 && job_apply_device(ctx->srv->store, ctx->tenant.id, job.id, ev, ctx->device.id,
                                       ctx->device.name, &job) != JOB_OK) {
    ipp_respond(ctx, IPP_STATUS_ERROR_NOT_POSSIBLE, "Job #%lld cannot change state now.",
                (long long)job.number);
    return;
  }
  ipp_respond(ctx, IPP_STATUS_OK, NULL);
}

void ipp_op_update_document_status(ipp_ctx_t *ctx) {
  nimbus_job_t job;
  nimbus_document_t doc;
  if (!ipp_infra_my_job(ctx, &job) || !ipp_infra_document(ctx, &job, &doc)) return;
  ipp_respond(ctx, IPP_STATUS_OK, NULL);
}

void ipp_op_update_active_jobs(ipp_ctx_t *ctx) {
  ipp_attribute_t *ids = ippFindAttribute(ctx->request, "job-ids", IPP_TAG_ZERO);
  ipp_attribute_t *states =
      ippFindAttribute(ctx->request, "output-device-job-states", IPP_TAG_ZERO);
  if ((ids && ippGetValueTag(ids) != IPP_TAG_INTEGER) ||
      (states && ippGetValueTag(states) != IPP_TAG_ENUM) ||
      (ids && (!states || ippGetCount(states) != ippGetCount(ids)))) {
    ipp_respond(ctx, IPP_STATUS_ERROR_BAD_REQUEST,
                "job-ids and output-device-job-states must be lists of the same length.");
    return;
  }
  ipp_respond(ctx, IPP_STATUS_OK, NULL);
  /* Answer the jobs whose state here differs from the device's (canceled
   * by their owner, or no longer the device's). */
  int diff_ids[64], diff_states[64], nd = 0;
  for (int i = 0; ids && i < ippGetCount(ids) && nd < 64; i++) {
    nimbus_job_t job;
    int id = ippGetInteger(ids, i);
    int here = IPP_JSTATE_ABORTED; /* unknown to us, or another device's */
    if (store_job_get_by_number(ctx->srv->store, ctx->tenant.id, id, &job) == STORE_OK &&
        job.queue_id == ctx->queue.id && job.device_id == ctx->device.id)
      here = job_ipp_state(job.state);
    if (here != ippGetInteger(states, i)) {
      diff_ids[nd] = id;
      diff_states[nd] = here;
      nd++;
    }
  }
  if (nd > 0) {
    ippAddIntegers(ctx->response, IPP_TAG_OPERATION, IPP_TAG_INTEGER, "job-ids", nd, diff_ids);
    ippAddIntegers(ctx->response, IPP_TAG_OPERATION, IPP_TAG_ENUM, "output-device-job-states", nd,
                   diff_states);
  }
}

void ipp_op_deregister_output_device(ipp_ctx_t *ctx) {
  if (device_delete(ctx->srv, ctx->tenant.id, ctx->device.id, ctx->device.uuid, NULL) != STORE_OK) {
    ipp_respond(ctx, IPP_STATUS_ERROR_INTERNAL, "The registration could not be deleted.");
    return;
  }
  ipp_respond(ctx, IPP_STATUS_OK, NULL);
}
