/*
 * remote-ipp.h: the INFRA client of a remote printer link
 * (docs/FEDERATION.md §3): this nimbusd as an output device (a PWG 5100.18
 * proxy) of one remote Infrastructure Printer.  One remote_ipp_t is one
 * HTTP connection to the remote, used by one thread at a time; every call
 * blocks for at most the timeout given to remote_ipp_open().
 *
 * Every call answers a remote_result_t and fills *st (HTTP status, IPP
 * status, the remote's status-message or why there was no answer: safe to
 * show, never holding the credential).  Bytes received are counted in
 * /metrics per link (nimbus_remote_bytes_received_total) and each
 * operation sent by name (nimbus_remote_requests_total).
 *
 * The credential is sent as "Authorization: Bearer <credential>" (what
 * nimbusd and nimbus-connector use); it is wiped by remote_ipp_close().
 */
#ifndef NIMBUS_REMOTE_IPP_H
#define NIMBUS_REMOTE_IPP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "metrics.h"
#include "model.h"

typedef enum {
  REMOTE_OK = 0,      /* successful-ok (or -ignored-…) */
  REMOTE_UNREACHABLE, /* no answer, HTTP 5xx, IPP server error or busy: retry later */
  REMOTE_REFUSED,     /* HTTP 401, or IPP not-authenticated / not-authorized: credential */
  REMOTE_GONE,        /* client-error-gone or HTTP 410: the registration was deleted */
  REMOTE_HTTP_ERROR,  /* another HTTP status (404: wrong URI, …) */
  REMOTE_IPP_ERROR    /* another IPP client error (not-fetchable, not-found, …) */
} remote_result_t;

typedef struct {
  int http_status; /* 0: no answer */
  int ipp_status;  /* -1: no IPP answer */
  char message[256];
} remote_status_t;

typedef struct remote_ipp {
  metrics_t *metrics;
  long long tenant_id;
  char link[NIMBUS_NAME_MAX]; /* metrics label */
  char printer_uri[NIMBUS_URI_MAX];
  char uuid[64];
  char credential[NIMBUS_REMOTE_SEALED_MAX];
  char host[256];
  int port;
  bool tls;
  int timeout_s;
  const atomic_bool *stopping; /* optional: aborts waits when true */
  void *http;                  /* http_t * (libcups), opened on first use */
  time_t request_start;
} remote_ipp_t;

/* Prepare a client of printer_uri (ipp, ipps, http or https) for link
 * (name, of tenant_id).  uuid and credential may be empty (before
 * Register-Output-Device).  false with err set when the URI is unusable. */
bool remote_ipp_open(remote_ipp_t *c, metrics_t *m, long long tenant_id, const char *link,
                     const char *printer_uri, const char *uuid, const char *credential,
                     int timeout_s, char *err, size_t errlen);
/* Close the connection and wipe the credential. */
void remote_ipp_close(remote_ipp_t *c);
/* A short phrase for r ("no answer", "credential refused", …). */
const char *remote_result_name(remote_result_t r);
/* "<phrase>: <remote's message>" in words, for last_error. */
void remote_status_words(remote_result_t r, const remote_status_t *st, char *buf, size_t len);
/* The default system URI of printer_uri: its scheme, host and port with
 * the path /ipp/system. */
bool remote_default_system_uri(const char *printer_uri, char *out, size_t len);
/* The default service URL of printer_uri: ipp -> http, ipps -> https, its
 * host and port, no path. */
bool remote_default_service_url(const char *printer_uri, char *out, size_t len);

/* Register-Output-Device on system_uri with claim (nimbus-claim-code);
 * on REMOTE_OK the answer's output-device-uuid and
 * nimbus-device-credential are in uuid_out / cred_out (and in c). */
remote_result_t remote_ipp_register(remote_ipp_t *c, const char *system_uri, const char *claim,
                                    char *uuid_out, size_t uuid_len, char *cred_out,
                                    size_t cred_len, remote_status_t *st);
/* Update-Output-Device-Attributes: make and model "Nimbus Print
 * federation link", printer-state idle, the document formats given. */
remote_result_t remote_ipp_update_attributes(remote_ipp_t *c, const char *const *formats,
                                             int nformats, remote_status_t *st);
/* Create-Printer-Subscriptions (ippget, job-fetchable + job-state-changed,
 * lease seconds): *sub_id on REMOTE_OK. */
remote_result_t remote_ipp_subscribe(remote_ipp_t *c, int lease, int *sub_id, remote_status_t *st);
/* Renew-Subscription of sub_id for lease seconds. */
remote_result_t remote_ipp_renew(remote_ipp_t *c, int sub_id, int lease, remote_status_t *st);
/* Get-Notifications of sub_id without waiting, from sequence number
 * *last_seq + 1: *events is how many events came, *last_seq the highest
 * sequence number seen.  REMOTE_IPP_ERROR with ipp_status
 * client-error-not-found when the subscription is gone. */
remote_result_t remote_ipp_get_notifications(remote_ipp_t *c, int sub_id, int *last_seq,
                                             int *events, remote_status_t *st);
/* Get-Jobs which-jobs=fetchable with only the attributes of
 * docs/FEDERATION.md §3: *jobs (malloc'd, caller frees) and *n, at most
 * max of them, read in pages of 500 with first-index. */
remote_result_t remote_ipp_get_jobs(remote_ipp_t *c, int max, nimbus_remote_job_t **jobs, int *n,
                                    remote_status_t *st);
/* Deregister-Output-Device (best effort at link deletion). */
remote_result_t remote_ipp_deregister(remote_ipp_t *c, remote_status_t *st);

/* ---- when a user chooses a remote job (docs/FEDERATION.md §4) ---- */

/* Fetch-Job: whether job_id is still fetchable by this device; on
 * REMOTE_OK its metadata (as remote_ipp_get_jobs) in *out.
 * REMOTE_IPP_ERROR with client-error-not-fetchable: another device took it
 * (or it is no longer fetchable); client-error-not-found: it is gone. */
remote_result_t remote_ipp_fetch_job(remote_ipp_t *c, int job_id, nimbus_remote_job_t *out,
                                     remote_status_t *st);
/* Acknowledge-Job: take job_id (after this no other device may). */
remote_result_t remote_ipp_acknowledge_job(remote_ipp_t *c, int job_id, remote_status_t *st);
/* Fetch-Document document_number of job_id, streamed into fd (a spool
 * file opened for writing) in 64 KiB pieces: never whole in memory.
 * *bytes: the document bytes written; format (may be NULL): its
 * document-format.  A short write or a cut body is REMOTE_UNREACHABLE. */
remote_result_t remote_ipp_fetch_document(remote_ipp_t *c, int job_id, int document_number, int fd,
                                          int64_t *bytes, char *format, size_t format_len,
                                          remote_status_t *st);
/* Fetch-Document as above, each piece handed to sink (false from it: stop,
 * REMOTE_UNREACHABLE with "cannot keep the document"). */
typedef bool (*remote_sink_fn)(void *ctx, const void *data, size_t len);
remote_result_t remote_ipp_fetch_document_to(remote_ipp_t *c, int job_id, int document_number,
                                             remote_sink_fn sink, void *ctx, int64_t *bytes,
                                             char *format, size_t format_len, remote_status_t *st);
/* Acknowledge-Document with fetch-status-code (IPP status; 0: fetched). */
remote_result_t remote_ipp_acknowledge_document(remote_ipp_t *c, int job_id, int document_number,
                                                int fetch_status, remote_status_t *st);
/* Update-Job-Status: output-device-job-state (IPP job state: 5
 * processing, 9 completed, 8 aborted, 7 canceled) and
 * job-impressions-completed (-1: not sent). */
remote_result_t remote_ipp_update_job_status(remote_ipp_t *c, int job_id, int job_state,
                                             int impressions_completed, remote_status_t *st);
/* Update-Document-Status at the end (output-device-document-state as
 * job_state, impressions completed or -1). */
remote_result_t remote_ipp_update_document_status(remote_ipp_t *c, int job_id, int document_number,
                                                  int job_state, int impressions_completed,
                                                  remote_status_t *st);

#endif
