/*
 * remote-ipp.c: the INFRA client of a remote printer link (see
 * remote-ipp.h).  Follows nimbus-connector's client (src/connector/ippc.c,
 * register.c) without sharing its code: one libcups connection, requests
 * sent with cupsSendRequest() and answers read with cupsGetResponse(); a
 * Fetch-Document answer's document, which follows the IPP message in the
 * HTTP body, is then read with httpRead2() straight into a file
 * descriptor.  Waits are cut into one-second slices by libcups' timeout
 * callback, so the request timeout and a stopping daemon are noticed.
 */
#include "remote-ipp.h"

#include <cups/cups.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define REMOTE_READ_CHUNK 65536

/* libcups never prompts: the credential is the only secret. */
static const char *remote_no_password(const char *prompt, http_t *http, const char *method,
                                      const char *resource, void *data) {
  (void)prompt, (void)http, (void)method, (void)resource, (void)data;
  return NULL;
}

/* libcups calls this every second of waiting; 0 aborts the wait. */
static int remote_timeout_cb(http_t *http, void *data) {
  (void)http;
  remote_ipp_t *c = data;
  if (c->stopping && atomic_load(c->stopping)) return 0;
  return time(NULL) - c->request_start < c->timeout_s;
}

const char *remote_result_name(remote_result_t r) {
  switch (r) {
    case REMOTE_OK:
      return "ok";
    case REMOTE_UNREACHABLE:
      return "the remote service did not answer";
    case REMOTE_REFUSED:
      return "the remote service refused the credential";
    case REMOTE_GONE:
      return "the remote service deleted this output device's registration";
    case REMOTE_HTTP_ERROR:
      return "the remote service answered with an HTTP error";
    case REMOTE_IPP_ERROR:
      return "the remote service refused the request";
  }
  return "unknown";
}

void remote_status_words(remote_result_t r, const remote_status_t *st, char *buf, size_t len) {
  char code[48] = "";
  if (st->http_status > 0 && st->http_status != 200)
    snprintf(code, sizeof code, " (HTTP %d)", st->http_status);
  else if (st->ipp_status >= 0x0400)
    snprintf(code, sizeof code, " (%s)", ippErrorString((ipp_status_t)st->ipp_status));
  snprintf(buf, len, "%s%s%s%s", remote_result_name(r), code, st->message[0] ? ": " : "",
           st->message);
}

/* scheme, host, port of uri; false when it is not ipp/ipps/http/https. */
static bool remote_split(const char *uri, char *scheme, size_t slen, char *host, size_t hlen,
                         int *port, char *resource, size_t rlen) {
  char user[256];
  if (httpSeparateURI(HTTP_URI_CODING_ALL, uri, scheme, (int)slen, user, sizeof user, host,
                      (int)hlen, port, resource, (int)rlen) < HTTP_URI_STATUS_OK)
    return false;
  return !strcmp(scheme, "ipp") || !strcmp(scheme, "ipps") || !strcmp(scheme, "http") ||
         !strcmp(scheme, "https");
}

bool remote_default_system_uri(const char *printer_uri, char *out, size_t len) {
  char scheme[32], host[256], resource[1024];
  int port;
  if (!remote_split(printer_uri, scheme, sizeof scheme, host, sizeof host, &port, resource,
                    sizeof resource))
    return false;
  return httpAssembleURI(HTTP_URI_CODING_ALL, out, (int)len, scheme, NULL, host, port,
                         "/ipp/system") >= HTTP_URI_STATUS_OK;
}

bool remote_default_service_url(const char *printer_uri, char *out, size_t len) {
  char scheme[32], host[256], resource[1024];
  int port;
  if (!remote_split(printer_uri, scheme, sizeof scheme, host, sizeof host, &port, resource,
                    sizeof resource))
    return false;
  const char *s = !strcmp(scheme, "ipps") || !strcmp(scheme, "https") ? "https" : "http";
  return httpAssembleURI(HTTP_URI_CODING_ALL, out, (int)len, s, NULL, host, port, "") >=
         HTTP_URI_STATUS_OK;
}

bool remote_ipp_open(remote_ipp_t *c, metrics_t *m, long long tenant_id, const char *link,
                     const char *printer_uri, const char *uuid, const char *credential,
                     int timeout_s, char *err, size_t errlen) {
  memset(c, 0, sizeof *c);
  char scheme[32], resource[1024];
  if (!remote_split(printer_uri, scheme, sizeof scheme, c->host, sizeof c->host, &c->port, resource,
                    sizeof resource) ||
      strlen(printer_uri) >= sizeof c->printer_uri) {
    snprintf(err, errlen, "the printer URI must be an ipp, ipps, http or https URI");
    return false;
  }
  c->metrics = m;
  c->tenant_id = tenant_id;
  snprintf(c->link, sizeof c->link, "%s", link);
  snprintf(c->printer_uri, sizeof c->printer_uri, "%s", printer_uri);
  snprintf(c->uuid, sizeof c->uuid, "%s", uuid ? uuid : "");
  snprintf(c->credential, sizeof c->credential, "%s", credential ? credential : "");
  c->tls = !strcmp(scheme, "ipps") || !strcmp(scheme, "https");
  c->timeout_s = timeout_s > 0 ? timeout_s : 30;
  cupsSetPasswordCB2(remote_no_password, NULL);
  return true;
}

/* Drop the connection (never reuse one that failed). */
static void remote_disconnect(remote_ipp_t *c) {
  if (c->http) httpClose(c->http);
  c->http = NULL;
}

void remote_ipp_close(remote_ipp_t *c) {
  remote_disconnect(c);
  memset(c->credential, 0, sizeof c->credential);
}

/* A request of op on the link's printer URI (with output-device-uuid). */
static ipp_t *remote_request(const remote_ipp_t *c, ipp_op_t op) {
  ipp_t *req = ippNewRequest(op);
  ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_URI, "printer-uri", NULL, c->printer_uri);
  if (c->uuid[0])
    ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_URI, "output-device-uuid", NULL, c->uuid);
  return req;
}

/* The result of an answer (or its absence). */
static remote_result_t remote_classify(const remote_status_t *st) {
  if (st->http_status == 401 || st->http_status == HTTP_STATUS_CUPS_AUTHORIZATION_CANCELED)
    return REMOTE_REFUSED;
  if (st->http_status == 410 || st->ipp_status == IPP_STATUS_ERROR_GONE) return REMOTE_GONE;
  if (st->http_status <= 0 || st->http_status >= 500) return REMOTE_UNREACHABLE;
  if (st->http_status != 200) return REMOTE_HTTP_ERROR;
  if (st->ipp_status == IPP_STATUS_ERROR_NOT_AUTHENTICATED ||
      st->ipp_status == IPP_STATUS_ERROR_NOT_AUTHORIZED)
    return REMOTE_REFUSED;
  if (st->ipp_status >= 0x0500 || st->ipp_status == IPP_STATUS_ERROR_BUSY ||
      st->ipp_status == IPP_STATUS_ERROR_TEMPORARY)
    return REMOTE_UNREACHABLE;
  return st->ipp_status < 0x0400 ? REMOTE_OK : REMOTE_IPP_ERROR;
}

/*
 * Send req (consumed) to uri and read the IPP answer into *resp (NULL
 * unless there was one).  keep_body: on REMOTE_OK leave what follows the
 * IPP message (a document) unread for the caller.  op_label names the
 * operation in /metrics.
 */
static remote_result_t remote_call(remote_ipp_t *c, ipp_t *req, const char *uri,
                                   const char *op_label, ipp_t **resp, remote_status_t *st,
                                   bool keep_body) {
  memset(st, 0, sizeof *st);
  st->ipp_status = -1;
  *resp = NULL;
  char resource[1024], scheme[32], host[256];
  int port;
  if (!remote_split(uri, scheme, sizeof scheme, host, sizeof host, &port, resource,
                    sizeof resource) ||
      !resource[0])
    snprintf(resource, sizeof resource, "/");
  metrics_remote_request(c->metrics, op_label);
  c->request_start = time(NULL);
  if (!c->http) {
    c->http = httpConnect2(c->host, c->port, NULL, AF_UNSPEC,
                           c->tls ? HTTP_ENCRYPTION_ALWAYS : HTTP_ENCRYPTION_IF_REQUESTED, 1, 10000,
                           NULL);
    if (!c->http) {
      snprintf(st->message, sizeof st->message, "cannot connect to %.64s:%d: %.128s", c->host,
               c->port, cupsLastErrorString());
      ippDelete(req);
      return REMOTE_UNREACHABLE;
    }
    httpSetTimeout(c->http, 1.0, remote_timeout_cb, c);
  }
  /* libcups resets the Authorization field from the auth string per request */
  httpSetAuthString(c->http, c->credential[0] ? "Bearer" : NULL,
                    c->credential[0] ? c->credential : NULL);
  http_status_t hs = cupsSendRequest(c->http, req, resource, 0);
  ippDelete(req);
  ipp_t *answer = NULL;
  if (hs == HTTP_STATUS_CONTINUE || hs == HTTP_STATUS_OK)
    answer = cupsGetResponse(c->http, resource);
  hs = httpGetStatus(c->http);
  st->http_status = hs == HTTP_STATUS_ERROR ? 0 : (int)hs;
  if (answer) {
    st->http_status = 200;
    st->ipp_status = (int)ippGetStatusCode(answer);
    ipp_attribute_t *m = ippFindAttribute(answer, "status-message", IPP_TAG_ZERO);
    if (m && ippGetString(m, 0, NULL))
      snprintf(st->message, sizeof st->message, "%s", ippGetString(m, 0, NULL));
    metrics_remote_bytes(c->metrics, c->tenant_id, c->link, (int64_t)ippLength(answer));
  } else {
    if (st->http_status == 200) st->http_status = 0; /* the body was cut */
    snprintf(st->message, sizeof st->message, "%s", cupsLastErrorString());
  }
  remote_result_t r = remote_classify(st);
  if (r == REMOTE_OK) {
    *resp = answer;
    if (!keep_body) httpFlush(c->http);
  } else {
    *resp = answer;
    remote_disconnect(c);
  }
  return r;
}

remote_result_t remote_ipp_register(remote_ipp_t *c, const char *system_uri, const char *claim,
                                    char *uuid_out, size_t uuid_len, char *cred_out,
                                    size_t cred_len, remote_status_t *st) {
  ipp_t *req = ippNewRequest(IPP_OP_REGISTER_OUTPUT_DEVICE);
  ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_URI, "system-uri", NULL, system_uri);
  if (c->uuid[0])
    ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_URI, "output-device-uuid", NULL, c->uuid);
  ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_TEXT, "nimbus-claim-code", NULL, claim);
  char saved[sizeof c->credential];
  memcpy(saved, c->credential, sizeof saved);
  c->credential[0] = '\0'; /* the claim code is the proof here */
  ipp_t *resp;
  remote_result_t r = remote_call(c, req, system_uri, "register-output-device", &resp, st, false);
  memcpy(c->credential, saved, sizeof saved);
  memset(saved, 0, sizeof saved);
  if (r == REMOTE_OK) {
    ipp_attribute_t *u = ippFindAttribute(resp, "output-device-uuid", IPP_TAG_URI);
    ipp_attribute_t *cred = ippFindAttribute(resp, "nimbus-device-credential", IPP_TAG_ZERO);
    const char *us = u ? ippGetString(u, 0, NULL) : NULL;
    const char *cs = cred ? ippGetString(cred, 0, NULL) : NULL;
    if (!us || !cs || strlen(us) >= uuid_len || strlen(cs) >= cred_len ||
        strlen(us) >= sizeof c->uuid || strlen(cs) >= sizeof c->credential) {
      snprintf(st->message, sizeof st->message,
               "the answer lacks output-device-uuid or nimbus-device-credential");
      r = REMOTE_IPP_ERROR;
    } else {
      snprintf(uuid_out, uuid_len, "%s", us);
      snprintf(cred_out, cred_len, "%s", cs);
      snprintf(c->uuid, sizeof c->uuid, "%s", us);
      snprintf(c->credential, sizeof c->credential, "%s", cs);
    }
  }
  ippDelete(resp);
  return r;
}

/* Send req and discard the answer but for its status. */
static remote_result_t remote_simple(remote_ipp_t *c, ipp_t *req, const char *label,
                                     remote_status_t *st) {
  ipp_t *resp;
  remote_result_t r = remote_call(c, req, c->printer_uri, label, &resp, st, false);
  ippDelete(resp);
  return r;
}

remote_result_t remote_ipp_update_attributes(remote_ipp_t *c, const char *const *formats,
                                             int nformats, remote_status_t *st) {
  ipp_t *req = remote_request(c, IPP_OP_UPDATE_OUTPUT_DEVICE_ATTRIBUTES);
  ippAddString(req, IPP_TAG_PRINTER, IPP_TAG_TEXT, "printer-make-and-model", NULL,
               "Nimbus Print federation link");
  ippAddInteger(req, IPP_TAG_PRINTER, IPP_TAG_ENUM, "printer-state", IPP_PSTATE_IDLE);
  ippAddString(req, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "printer-state-reasons", NULL, "none");
  if (nformats > 0)
    ippAddStrings(req, IPP_TAG_PRINTER, IPP_TAG_MIMETYPE, "document-format-supported", nformats,
                  NULL, formats);
  return remote_simple(c, req, "update-output-device-attributes", st);
}

remote_result_t remote_ipp_subscribe(remote_ipp_t *c, int lease, int *sub_id, remote_status_t *st) {
  *sub_id = 0;
  ipp_t *req = remote_request(c, IPP_OP_CREATE_PRINTER_SUBSCRIPTIONS);
  static const char *const events[] = {"job-fetchable", "job-state-changed"};
  ippAddString(req, IPP_TAG_SUBSCRIPTION, IPP_TAG_KEYWORD, "notify-pull-method", NULL, "ippget");
  ippAddStrings(req, IPP_TAG_SUBSCRIPTION, IPP_TAG_KEYWORD, "notify-events", 2, NULL, events);
  ippAddInteger(req, IPP_TAG_SUBSCRIPTION, IPP_TAG_INTEGER, "notify-lease-duration", lease);
  ipp_t *resp;
  remote_result_t r =
      remote_call(c, req, c->printer_uri, "create-printer-subscriptions", &resp, st, false);
  if (r == REMOTE_OK) {
    ipp_attribute_t *a = ippFindAttribute(resp, "notify-subscription-id", IPP_TAG_INTEGER);
    if (a && ippGetInteger(a, 0) > 0) {
      *sub_id = ippGetInteger(a, 0);
    } else {
      snprintf(st->message, sizeof st->message, "no notify-subscription-id in the answer");
      r = REMOTE_IPP_ERROR;
    }
  }
  ippDelete(resp);
  return r;
}

remote_result_t remote_ipp_renew(remote_ipp_t *c, int sub_id, int lease, remote_status_t *st) {
  ipp_t *req = remote_request(c, IPP_OP_RENEW_SUBSCRIPTION);
  ippAddInteger(req, IPP_TAG_OPERATION, IPP_TAG_INTEGER, "notify-subscription-id", sub_id);
  ippAddInteger(req, IPP_TAG_OPERATION, IPP_TAG_INTEGER, "notify-lease-duration", lease);
  return remote_simple(c, req, "renew-subscription", st);
}

remote_result_t remote_ipp_get_notifications(remote_ipp_t *c, int sub_id, int *last_seq,
                                             int *events, remote_status_t *st) {
  *events = 0;
  ipp_t *req = remote_request(c, IPP_OP_GET_NOTIFICATIONS);
  ippAddInteger(req, IPP_TAG_OPERATION, IPP_TAG_INTEGER, "notify-subscription-ids", sub_id);
  ippAddInteger(req, IPP_TAG_OPERATION, IPP_TAG_INTEGER, "notify-sequence-numbers", *last_seq + 1);
  ippAddBoolean(req, IPP_TAG_OPERATION, "notify-wait", 0);
  ipp_t *resp;
  remote_result_t r = remote_call(c, req, c->printer_uri, "get-notifications", &resp, st, false);
  if (r == REMOTE_OK) {
    for (ipp_attribute_t *a = ippFirstAttribute(resp); a; a = ippNextAttribute(resp)) {
      const char *name = ippGetName(a);
      if (ippGetGroupTag(a) != IPP_TAG_EVENT_NOTIFICATION || !name) continue;
      if (!strcmp(name, "notify-sequence-number")) {
        int seq = ippGetInteger(a, 0);
        if (seq > *last_seq) *last_seq = seq;
        (*events)++;
      }
    }
  }
  ippDelete(resp);
  return r;
}

/* A string attribute's first value into out (empty when absent). */
static void remote_copy(ipp_attribute_t *a, char *out, size_t len) {
  const char *v = ippGetString(a, 0, NULL);
  snprintf(out, len, "%s", v ? v : "");
}

/* One job attribute into j (the attributes of FEDERATION.md §3). */
static void remote_job_attr(ipp_attribute_t *a, nimbus_remote_job_t *j) {
  const char *name = ippGetName(a);
  ipp_tag_t tag = ippGetValueTag(a);
  bool integer = tag == IPP_TAG_INTEGER || tag == IPP_TAG_ENUM;
  if (!strcmp(name, "job-id") && integer)
    j->remote_job_id = ippGetInteger(a, 0);
  else if (!strcmp(name, "job-name"))
    remote_copy(a, j->name, sizeof j->name);
  else if (!strcmp(name, "job-originating-user-name"))
    remote_copy(a, j->owner, sizeof j->owner);
  else if (!strcmp(name, "job-impressions") && integer)
    j->pages = ippGetInteger(a, 0);
  else if (!strcmp(name, "job-media-sheets") && integer && j->pages <= 0)
    j->pages = ippGetInteger(a, 0);
  else if (!strcmp(name, "time-at-creation") && integer)
    j->submitted_at = ippGetInteger(a, 0);
  else if (!strcmp(name, "job-state") && integer)
    j->remote_state = ippGetInteger(a, 0);
  else if (!strcmp(name, "copies") && integer)
    j->copies = ippGetInteger(a, 0);
  else if (!strcmp(name, "sides"))
    remote_copy(a, j->sides, sizeof j->sides);
  else if (!strcmp(name, "print-color-mode"))
    remote_copy(a, j->color_mode, sizeof j->color_mode);
  else if (!strcmp(name, "media") && tag != IPP_TAG_BEGIN_COLLECTION)
    remote_copy(a, j->media, sizeof j->media);
}

static const char *const remote_job_attrs[] = {"job-id",
                                               "job-name",
                                               "job-originating-user-name",
                                               "job-impressions",
                                               "job-media-sheets",
                                               "time-at-creation",
                                               "job-state",
                                               "copies",
                                               "sides",
                                               "print-color-mode",
                                               "media"};

#define REMOTE_GET_JOBS_PAGE 500 /* jobs asked per Get-Jobs request */

/* One page of Get-Jobs which-jobs=fetchable: at most limit jobs from
 * first_index on (1-based), appended to *v (count/cap grow as needed).
 * *got: how many job groups the page held. */
static remote_result_t remote_get_jobs_page(remote_ipp_t *c, int first_index, int limit,
                                            nimbus_remote_job_t **v, int *count, int *cap, int *got,
                                            remote_status_t *st) {
  *got = 0;
  ipp_t *req = remote_request(c, IPP_OP_GET_JOBS);
  ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_KEYWORD, "which-jobs", NULL, "fetchable");
  ippAddStrings(req, IPP_TAG_OPERATION, IPP_TAG_KEYWORD, "requested-attributes",
                (int)(sizeof remote_job_attrs / sizeof remote_job_attrs[0]), NULL,
                remote_job_attrs);
  ippAddInteger(req, IPP_TAG_OPERATION, IPP_TAG_INTEGER, "limit", limit);
  if (first_index > 1)
    ippAddInteger(req, IPP_TAG_OPERATION, IPP_TAG_INTEGER, "first-index", first_index);
  ipp_t *resp;
  remote_result_t r = remote_call(c, req, c->printer_uri, "get-jobs", &resp, st, false);
  if (r != REMOTE_OK) {
    ippDelete(resp);
    return r;
  }
  bool open = false;
  for (ipp_attribute_t *a = ippFirstAttribute(resp); a; a = ippNextAttribute(resp)) {
    if (ippGetGroupTag(a) != IPP_TAG_JOB || !ippGetName(a)) {
      open = false;
      continue;
    }
    if (!open) {
      if (*got == limit) break;
      if (*count == *cap) {
        int ncap = *cap ? *cap * 2 : 16;
        nimbus_remote_job_t *nv = realloc(*v, (size_t)ncap * sizeof *nv);
        if (!nv) break;
        *v = nv;
        *cap = ncap;
      }
      memset(&(*v)[*count], 0, sizeof(*v)[*count]);
      (*v)[*count].copies = 1;
      (*count)++;
      (*got)++;
      open = true;
    }
    remote_job_attr(a, &(*v)[*count - 1]);
  }
  ippDelete(resp);
  return REMOTE_OK;
}

/* Was job id seen among the first n of v? */
static bool remote_job_seen(const nimbus_remote_job_t *v, int n, int id) {
  for (int i = 0; i < n; i++)
    if (v[i].remote_job_id == id) return true;
  return false;
}

remote_result_t remote_ipp_get_jobs(remote_ipp_t *c, int max, nimbus_remote_job_t **jobs, int *n,
                                    remote_status_t *st) {
  *jobs = NULL;
  *n = 0;
  int cap = 0, count = 0;
  nimbus_remote_job_t *v = NULL;
  /* Pages of REMOTE_GET_JOBS_PAGE with first-index (PWG 5100.13): a
   * remote that answers fewer jobs per request than there are (a nimbusd
   * answers at most 1,000) still gives all of them.  A page that repeats
   * an earlier job means the remote ignores first-index: stop there. */
  while (count < max) {
    int before = count, got = 0;
    int want = max - count < REMOTE_GET_JOBS_PAGE ? max - count : REMOTE_GET_JOBS_PAGE;
    remote_result_t r = remote_get_jobs_page(c, count + 1, want, &v, &count, &cap, &got, st);
    if (r != REMOTE_OK) { /* no partial list: it would drop the jobs not yet read */
      free(v);
      return r;
    }
    if (got > 0 && before > 0 && remote_job_seen(v, before, v[before].remote_job_id)) {
      count = before;
      break;
    }
    if (got < want) break;
  }
  /* a group without a job id is no job */
  int kept = 0;
  for (int i = 0; i < count; i++)
    if (v[i].remote_job_id > 0) v[kept++] = v[i];
  *jobs = v;
  *n = kept;
  return REMOTE_OK;
}

remote_result_t remote_ipp_deregister(remote_ipp_t *c, remote_status_t *st) {
  return remote_simple(c, remote_request(c, IPP_OP_DEREGISTER_OUTPUT_DEVICE),
                       "deregister-output-device", st);
}

/* A request of op naming job_id (and document_number when > 0). */
static ipp_t *remote_job_request(const remote_ipp_t *c, ipp_op_t op, int job_id,
                                 int document_number) {
  ipp_t *req = remote_request(c, op);
  ippAddInteger(req, IPP_TAG_OPERATION, IPP_TAG_INTEGER, "job-id", job_id);
  if (document_number > 0)
    ippAddInteger(req, IPP_TAG_OPERATION, IPP_TAG_INTEGER, "document-number", document_number);
  return req;
}

remote_result_t remote_ipp_fetch_job(remote_ipp_t *c, int job_id, nimbus_remote_job_t *out,
                                     remote_status_t *st) {
  memset(out, 0, sizeof *out);
  out->copies = 1;
  ipp_t *resp;
  remote_result_t r = remote_call(c, remote_job_request(c, IPP_OP_FETCH_JOB, job_id, 0),
                                  c->printer_uri, "fetch-job", &resp, st, false);
  if (r == REMOTE_OK)
    for (ipp_attribute_t *a = ippFirstAttribute(resp); a; a = ippNextAttribute(resp))
      if (ippGetGroupTag(a) == IPP_TAG_JOB && ippGetName(a)) remote_job_attr(a, out);
  if (r == REMOTE_OK && out->remote_job_id <= 0) out->remote_job_id = job_id;
  ippDelete(resp);
  return r;
}

remote_result_t remote_ipp_acknowledge_job(remote_ipp_t *c, int job_id, remote_status_t *st) {
  return remote_simple(c, remote_job_request(c, IPP_OP_ACKNOWLEDGE_JOB, job_id, 0),
                       "acknowledge-job", st);
}

remote_result_t remote_ipp_fetch_document_to(remote_ipp_t *c, int job_id, int document_number,
                                             remote_sink_fn sink, void *ctx, int64_t *bytes,
                                             char *format, size_t format_len, remote_status_t *st) {
  *bytes = 0;
  if (format && format_len) format[0] = '\0';
  ipp_t *req = remote_job_request(c, IPP_OP_FETCH_DOCUMENT, job_id, document_number);
  ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_MIMETYPE, "document-format-accepted", NULL,
               "application/octet-stream");
  ipp_t *resp;
  remote_result_t r = remote_call(c, req, c->printer_uri, "fetch-document", &resp, st, true);
  if (r != REMOTE_OK) {
    ippDelete(resp);
    return r;
  }
  ipp_attribute_t *f = ippFindAttribute(resp, "document-format", IPP_TAG_MIMETYPE);
  if (format && format_len && f) remote_copy(f, format, format_len);
  ippDelete(resp);
  char *buf = malloc(REMOTE_READ_CHUNK);
  if (!buf) {
    snprintf(st->message, sizeof st->message, "out of memory");
    remote_disconnect(c);
    return REMOTE_UNREACHABLE;
  }
  ssize_t got;
  while ((got = httpRead2(c->http, buf, REMOTE_READ_CHUNK)) > 0) {
    c->request_start = time(NULL); /* the timeout is per silence, not per document */
    metrics_remote_bytes(c->metrics, c->tenant_id, c->link, got);
    if (!sink(ctx, buf, (size_t)got)) {
      snprintf(st->message, sizeof st->message, "cannot keep the document");
      free(buf);
      remote_disconnect(c);
      return REMOTE_UNREACHABLE;
    }
    *bytes += got;
  }
  free(buf);
  /* libcups reports a connection closed before the announced length (or
   * the last chunk) as the end: what is left unread, or a state short of
   * waiting for the next request, tells it from a whole document */
  if (got < 0 || httpGetState(c->http) != HTTP_STATE_WAITING || httpGetRemaining(c->http) > 0) {
    snprintf(st->message, sizeof st->message, "the document was cut short after %lld bytes",
             (long long)*bytes);
    remote_disconnect(c);
    return REMOTE_UNREACHABLE;
  }
  return REMOTE_OK;
}

/* The sink of remote_ipp_fetch_document: write all of it to the fd. */
static bool remote_fd_sink(void *ctx, const void *data, size_t len) {
  int fd = *(const int *)ctx;
  const char *p = data;
  for (size_t off = 0; off < len;) {
    ssize_t w = write(fd, p + off, len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    off += (size_t)w;
  }
  return true;
}

remote_result_t remote_ipp_fetch_document(remote_ipp_t *c, int job_id, int document_number, int fd,
                                          int64_t *bytes, char *format, size_t format_len,
                                          remote_status_t *st) {
  return remote_ipp_fetch_document_to(c, job_id, document_number, remote_fd_sink, &fd, bytes,
                                      format, format_len, st);
}

remote_result_t remote_ipp_acknowledge_document(remote_ipp_t *c, int job_id, int document_number,
                                                int fetch_status, remote_status_t *st) {
  ipp_t *req = remote_job_request(c, IPP_OP_ACKNOWLEDGE_DOCUMENT, job_id, document_number);
  if (fetch_status > 0)
    ippAddInteger(req, IPP_TAG_OPERATION, IPP_TAG_ENUM, "fetch-status-code", fetch_status);
  return remote_simple(c, req, "acknowledge-document", st);
}

remote_result_t remote_ipp_update_job_status(remote_ipp_t *c, int job_id, int job_state,
                                             int impressions_completed, remote_status_t *st) {
  ipp_t *req = remote_job_request(c, IPP_OP_UPDATE_JOB_STATUS, job_id, 0);
  ippAddInteger(req, IPP_TAG_JOB, IPP_TAG_ENUM, "output-device-job-state", job_state);
  if (impressions_completed >= 0)
    ippAddInteger(req, IPP_TAG_JOB, IPP_TAG_INTEGER, "job-impressions-completed",
                  impressions_completed);
  return remote_simple(c, req, "update-job-status", st);
}

remote_result_t remote_ipp_update_document_status(remote_ipp_t *c, int job_id, int document_number,
                                                  int job_state, int impressions_completed,
                                                  remote_status_t *st) {
  ipp_t *req = remote_job_request(c, IPP_OP_UPDATE_DOCUMENT_STATUS, job_id, document_number);
  ippAddInteger(req, IPP_TAG_DOCUMENT, IPP_TAG_ENUM, "output-device-document-state", job_state);
  if (impressions_completed >= 0)
    ippAddInteger(req, IPP_TAG_DOCUMENT, IPP_TAG_INTEGER, "impressions-completed",
                  impressions_completed);
  return remote_simple(c, req, "update-document-status", st);
}
