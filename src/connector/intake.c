/*
 * intake.c: the local IPP printer for PCs (see intake.h).
 *
 * libmicrohttpd, one internal polling thread that never blocks:
 *   - the attribute section is buffered (at most INTAKE_HEADER_MAX bytes)
 *     and decoded at geometrically spaced attempts, as nimbusd does;
 *   - a forwarded operation starts its upload (upload.h) as soon as the
 *     section is decoded; the document streams through the upload's
 *     bounded buffer, the PC's connection suspended while it is full;
 *   - the PC's answer is queued once nimbusd has answered: its job id, or
 *     its status and message; no answer at all (refused, dropped, timed
 *     out, HTTP errors, traffic stopped) is server-error-service-unavailable.
 * The marking engine's capabilities come from a second output object,
 * refreshed by a small thread (the channel thread owns the first one);
 * driverless_complete() fills in what driverless clients (lpadmin -m
 * everywhere, macOS, Windows) need and the engine did not say.  The
 * printer's name and location are those of its registration at nimbusd.
 * Cancel-Job is forwarded for a job this listener handed over, when the
 * requesting-user-name is the one that sent it and the request comes from
 * the same address; Get-Jobs and Get-Job-Attributes show a PC only the
 * jobs sent from its address.  A browser's GET gets a
 * small information page.
 */
#include "ipp-requested.h"
#include "ippmem.h"
#include "intake.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "connector.h"
#include "docformat.h"
#include "driverless.h"
#include "httpframing.h"
#include "httpguard.h"
#include "log.h"
#include "upload.h"

#define INTAKE_HEADER_MAX (256 * 1024) /* the attribute section of one request */
#define INTAKE_IDLE_TIMEOUT 300        /* seconds without a byte from a PC, headers in */
#define INTAKE_RECENT 64               /* jobs remembered for Get-Job-Attributes */
#define INTAKE_CAPS_REFRESH 300        /* seconds between capability refreshes */
#define INTAKE_CAPS_RETRY 10           /* seconds after a failed refresh */
#define INTAKE_MAKE_MODEL "Nimbus Print release printer"
#define INTAKE_NAME_DEFAULT "Nimbus printer" /* until the registration's name is known */

typedef struct {
  int id;
  char name[128];
  char user[128];
  char peer[64]; /* the PC's address: only it sees and cancels the job here */
  time_t at;
  bool canceled; /* by its owner, through this listener */
} intake_job_t;

struct intake {
  connector_t *c;
  httpguard_t *guard; /* the daemon, with the connection limits and header deadline */
  int port;
  size_t buffer_max;
  upload_group_t uploads;

  pthread_mutex_t lock; /* caps, recent, stopping */
  pthread_cond_t cond;
  ipp_t *caps; /* the engine's printer attributes (never NULL after start) */
  bool caps_live;
  time_t started;
  intake_job_t recent[INTAKE_RECENT];
  size_t nrecent, next_recent;
  bool stopping;
  pthread_t caps_tid;
  bool caps_thread;
  output_t *probe; /* the caps thread's own output object */
};

/* One request from a PC. */
typedef struct {
  intake_t *in;
  struct MHD_Connection *conn;
  char host[256]; /* Host header, for our URIs */
  char peer[64];  /* the PC's numeric address */
  bool bad_path;
  unsigned char *hdr;
  size_t hdr_len, hdr_cap, hdr_used, decode_at, fed; /* fed: leftover bytes forwarded */
  bool decoded, undecodable, too_large;
  ipp_t *request;
  upload_t *up;
  ipp_t *local; /* an answer made here (local operations, refusals) */
  time_t first_byte;
} intake_req_t;

/* ---- small helpers ---- */

static void intake_printer_uri(const intake_req_t *r, char *buf, size_t len) {
  snprintf(buf, len, "ipp://%s/ipp/print", r->host);
}

static ipp_t *intake_answer(intake_req_t *r, ipp_status_t status, const char *message) {
  ipp_t *resp = ippNewResponse(r->request);
  ippSetStatusCode(resp, status);
  if (message) ippAddString(resp, IPP_TAG_OPERATION, IPP_TAG_TEXT, "status-message", NULL, message);
  return resp;
}

static const char *intake_string(ipp_t *ipp, const char *name) {
  ipp_attribute_t *a = ippFindAttribute(ipp, name, IPP_TAG_ZERO);
  const char *s = a ? ippGetString(a, 0, NULL) : NULL;
  return s ? s : "";
}

/* The job id of a request: job-id, or the last path segment of job-uri (ours). */
static int intake_job_id(ipp_t *req) {
  ipp_attribute_t *a = ippFindAttribute(req, "job-id", IPP_TAG_INTEGER);
  if (a) return ippGetInteger(a, 0);
  a = ippFindAttribute(req, "job-uri", IPP_TAG_URI);
  const char *uri = a ? ippGetString(a, 0, NULL) : NULL;
  const char *slash = uri ? strrchr(uri, '/') : NULL;
  if (!slash) return 0;
  char *end;
  long id = strtol(slash + 1, &end, 10);
  return *end || id <= 0 || id > 0x7fffffff ? 0 : (int)id;
}

/* The PC's numeric address, "" when unknown. */
static void intake_peer(struct MHD_Connection *conn, char *buf, size_t len) {
  buf[0] = '\0';
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (!ci || !ci->client_addr) return;
  socklen_t sl = ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                        : sizeof(struct sockaddr_in);
  if (getnameinfo(ci->client_addr, sl, buf, (socklen_t)len, NULL, 0, NI_NUMERICHOST) != 0)
    buf[0] = '\0';
}

/* May the PC of this request see job j?  The listener has no sign-in: a
 * job is shown, and cancelled, only to the address that sent it (so one
 * PC on the LAN cannot list or cancel another's jobs by their numbers). */
static bool intake_job_visible(const intake_req_t *r, const intake_job_t *j) {
  return j->id > 0 && r->peer[0] && !strcmp(j->peer, r->peer);
}

/* Is job id one this listener handed over for requesting-user-name, from
 * the address of this request? */
static bool intake_sent_by(intake_req_t *r, int id, const char *user) {
  intake_t *in = r->in;
  bool found = false;
  pthread_mutex_lock(&in->lock);
  for (size_t i = 0; i < in->nrecent && id > 0 && *user; i++)
    if (in->recent[i].id == id && !strcmp(in->recent[i].user, user) &&
        intake_job_visible(r, &in->recent[i]))
      found = true;
  pthread_mutex_unlock(&in->lock);
  return found;
}

static void intake_mark_canceled(intake_t *in, int id) {
  pthread_mutex_lock(&in->lock);
  for (size_t i = 0; i < in->nrecent; i++)
    if (in->recent[i].id == id) in->recent[i].canceled = true;
  pthread_mutex_unlock(&in->lock);
}

static void intake_remember(intake_t *in, int id, const char *name, const char *user,
                            const char *peer) {
  pthread_mutex_lock(&in->lock);
  intake_job_t *j = &in->recent[in->next_recent];
  j->id = id;
  snprintf(j->peer, sizeof j->peer, "%s", peer);
  snprintf(j->name, sizeof j->name, "%s", name);
  snprintf(j->user, sizeof j->user, "%s", user);
  j->at = time(NULL);
  j->canceled = false;
  in->next_recent = (in->next_recent + 1) % INTAKE_RECENT;
  if (in->nrecent < INTAKE_RECENT) in->nrecent++;
  pthread_mutex_unlock(&in->lock);
}

/* ---- the engine's capabilities ---- */

static void *intake_caps_thread(void *arg) {
  intake_t *in = arg;
  pthread_mutex_lock(&in->lock);
  while (!in->stopping) {
    pthread_mutex_unlock(&in->lock);
    ipp_t *caps = ippNew();
    char err[256] = "";
    bool ok = output_caps(in->probe, caps, err, sizeof err);
    pthread_mutex_lock(&in->lock);
    if (ok) {
      ippDelete(in->caps);
      in->caps = caps;
      if (!in->caps_live)
        log_event(LOG_INFO, NULL, "ipp listener has the printer's capabilities", (char *)NULL);
      in->caps_live = true;
    } else {
      ippDelete(caps);
      if (in->caps_live || !in->caps_thread)
        log_event(LOG_WARN, NULL, "cannot read the printer's capabilities", "error", err,
                  (char *)NULL);
    }
    in->caps_thread = true;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ok ? INTAKE_CAPS_REFRESH : INTAKE_CAPS_RETRY;
    while (!in->stopping && pthread_cond_timedwait(&in->cond, &in->lock, &ts) == 0) {
    }
  }
  pthread_mutex_unlock(&in->lock);
  return NULL;
}

/* Defaults until the engine has answered (the file printer's set, roughly). */
static ipp_t *intake_default_caps(void) {
  ipp_t *p = ippNew();
  static const char *const formats[] = {"application/pdf", "image/jpeg", "image/pwg-raster",
                                        "image/urf"};
  ippAddStrings(p, IPP_TAG_PRINTER, IPP_TAG_MIMETYPE, "document-format-supported", 4, NULL,
                formats);
  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "media-supported", NULL, "iso_a4_210x297mm");
  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "media-default", NULL, "iso_a4_210x297mm");
  return p;
}

/* ---- Get-Printer-Attributes ---- */

static int intake_filter(void *context, ipp_t *dst, ipp_attribute_t *attr) {
  (void)dst;
  cups_array_t *ra = context;
  const char *name = ippGetName(attr);
  return name && (!ra || cupsArrayFind(ra, (void *)name) != NULL);
}

static bool intake_has(ipp_t *p, const char *name) {
  return ippFindAttribute(p, name, IPP_TAG_ZERO) != NULL;
}

/*
 * document-format-supported: the engine's formats that nimbusd takes
 * (docformat_supported), and application/octet-stream, since nimbusd
 * detects the format of what it is given.  A format nimbusd refuses would
 * make clients send documents that cannot be printed.
 */
static void intake_formats(ipp_t *p) {
  ipp_attribute_t *engine = ippFindAttribute(p, "document-format-supported", IPP_TAG_MIMETYPE);
  const char *keep[16];
  int n = 0;
  for (int i = 0; docformat_supported[i] && n < 16; i++)
    if (!engine || ippContainsString(engine, docformat_supported[i]) ||
        !strcmp(docformat_supported[i], "application/octet-stream"))
      keep[n++] = docformat_supported[i];
  if (engine) ippDeleteAttribute(p, engine);
  ippAddStrings(p, IPP_TAG_PRINTER, IPP_TAG_MIMETYPE, "document-format-supported", n, NULL, keep);
  ipp_attribute_t *kept = ippFindAttribute(p, "document-format-supported", IPP_TAG_MIMETYPE);
  ipp_attribute_t *def = ippFindAttribute(p, "document-format-default", IPP_TAG_ZERO);
  const char *v = def ? ippGetString(def, 0, NULL) : NULL;
  if (def && (!v || !ippContainsString(kept, v))) ippDeleteAttribute(p, def); /* re-added below */
}

static ipp_t *intake_printer_attributes(intake_req_t *r) {
  intake_t *in = r->in;
  connector_t *c = in->c;
  ipp_t *p = ippNew();
  char uri[512], uuid[64], name[64], location[256], more[600];
  intake_printer_uri(r, uri, sizeof uri);
  snprintf(more, sizeof more, "http://%s/ipp/print", r->host); /* the information page */
  time_t now = time(NULL);
  pthread_mutex_lock(&c->lock);
  snprintf(uuid, sizeof uuid, "%s", c->state.uuid);
  snprintf(name, sizeof name, "%s", c->reg_name[0] ? c->reg_name : INTAKE_NAME_DEFAULT);
  snprintf(location, sizeof location, "%s", c->reg_location);
  bool registered = state_has_registration(&c->state) && c->state.status == STATE_REGISTERED;
  pthread_mutex_unlock(&c->lock);

  static const char *const charsets[] = {"us-ascii", "utf-8"};
  static const char *const versions[] = {"1.1", "2.0"};
  static const char *const pw_enc[] = {"none", "sha2-256"};
  static const char *const which[] = {"completed", "not-completed", "all"};
  static const char *const creation[] = {"copies",
                                         "finishings",
                                         "job-account-id",
                                         "job-accounting-user-id",
                                         "job-hold-until",
                                         "job-name",
                                         "job-password",
                                         "job-password-encryption",
                                         "media",
                                         "media-col",
                                         "multiple-document-handling",
                                         "number-up",
                                         "orientation-requested",
                                         "output-bin",
                                         "page-ranges",
                                         "print-color-mode",
                                         "print-quality",
                                         "printer-resolution",
                                         "sides"};
  static const int ops[] = {
      IPP_OP_PRINT_JOB,          IPP_OP_VALIDATE_JOB, IPP_OP_CREATE_JOB,
      IPP_OP_SEND_DOCUMENT,      IPP_OP_CANCEL_JOB,   IPP_OP_CLOSE_JOB,
      IPP_OP_GET_JOB_ATTRIBUTES, IPP_OP_GET_JOBS,     IPP_OP_GET_PRINTER_ATTRIBUTES};

  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_URI, "printer-uri-supported", NULL, uri);
  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "uri-security-supported", NULL, "none");
  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "uri-authentication-supported", NULL,
               "requesting-user-name");
  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_NAME, "printer-name", NULL, name);
  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_TEXT, "printer-info", NULL,
               "Jobs wait in the cloud until released at this printer with your PIN");
  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_TEXT, "printer-location", NULL, location);
  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_URI, "printer-more-info", NULL, more);
  if (uuid[0]) ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_URI, "printer-uuid", NULL, uuid);
  ippAddInteger(p, IPP_TAG_PRINTER, IPP_TAG_INTEGER, "printer-up-time", (int)(now - in->started));
  ippAddDate(p, IPP_TAG_PRINTER, "printer-current-time", ippTimeToDate(now));
  ippAddBoolean(p, IPP_TAG_PRINTER, "printer-is-accepting-jobs", registered);
  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_CHARSET, "charset-configured", NULL, "utf-8");
  ippAddStrings(p, IPP_TAG_PRINTER, IPP_TAG_CHARSET, "charset-supported", 2, NULL, charsets);
  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_LANGUAGE, "natural-language-configured", NULL, "en");
  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_LANGUAGE, "generated-natural-language-supported", NULL,
               "en");
  ippAddStrings(p, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "ipp-versions-supported", 2, NULL, versions);
  ippAddIntegers(p, IPP_TAG_PRINTER, IPP_TAG_ENUM, "operations-supported",
                 (int)(sizeof ops / sizeof ops[0]), ops);
  static const char *const compression[] = {"none", "gzip", "deflate"}; /* nimbusd inflates */
  ippAddStrings(p, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "compression-supported", 3, NULL, compression);
  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "pdl-override-supported", NULL,
               "not-attempted");
  ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "printer-kind", NULL, "document");
  ippAddBoolean(p, IPP_TAG_PRINTER, "multiple-document-jobs-supported", 1);
  ippAddInteger(p, IPP_TAG_PRINTER, IPP_TAG_INTEGER, "copies-default", 1);
  ippAddRange(p, IPP_TAG_PRINTER, "copies-supported", 1, 999);
  ippAddBoolean(p, IPP_TAG_PRINTER, "page-ranges-supported", 1);
  ippAddInteger(p, IPP_TAG_PRINTER, IPP_TAG_INTEGER, "job-password-supported", 255);
  ippAddStrings(p, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "job-password-encryption-supported", 2, NULL,
                pw_enc);
  ippAddStrings(p, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "job-creation-attributes-supported",
                (int)(sizeof creation / sizeof creation[0]), NULL, creation);
  ippAddStrings(p, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "which-jobs-supported", 3, NULL, which);
  ippAddBoolean(p, IPP_TAG_PRINTER, "job-ids-supported", 0);
  /* billing by purpose (docs/BILLING.md): job-account-id names the
   * purpose and job-accounting-user-id is recorded; both go to nimbusd as
   * the PC sent them (upload_forward_request), which checks them.  With
   * these CUPS offers -o job-billing=... (cupsJobAccountId) and sends
   * job-accounting-user-id (cupsJobAccountingUserId). */
  ippAddBoolean(p, IPP_TAG_PRINTER, "job-account-id-supported", 1);
  ippAddBoolean(p, IPP_TAG_PRINTER, "job-accounting-user-id-supported", 1);
  ippAddInteger(p, IPP_TAG_PRINTER, IPP_TAG_INTEGER, "queued-job-count", 0);
  ippAddInteger(p, IPP_TAG_PRINTER, IPP_TAG_INTEGER, "pages-per-minute", 20);

  /* the marking engine's own: formats, media, sides, colour, resolution, model, state */
  pthread_mutex_lock(&in->lock);
  for (ipp_attribute_t *a = ippFirstAttribute(in->caps); a; a = ippNextAttribute(in->caps))
    if (ippGetName(a) && !intake_has(p, ippGetName(a))) ippCopyAttribute(p, a, 0);
  pthread_mutex_unlock(&in->lock);
  intake_formats(p);
  if (!intake_has(p, "document-format-default"))
    ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_MIMETYPE, "document-format-default", NULL,
                 "application/octet-stream");
  if (!intake_has(p, "printer-state"))
    ippAddInteger(p, IPP_TAG_PRINTER, IPP_TAG_ENUM, "printer-state", IPP_PSTATE_IDLE);
  if (!intake_has(p, "printer-state-reasons"))
    ippAddString(p, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "printer-state-reasons", NULL, "none");
  ipp_attribute_t *modes = ippFindAttribute(p, "print-color-mode-supported", IPP_TAG_KEYWORD);
  if (!intake_has(p, "color-supported"))
    ippAddBoolean(p, IPP_TAG_PRINTER, "color-supported",
                  modes && ippContainsString(modes, "color"));
  driverless_complete(p, INTAKE_MAKE_MODEL);
  return p;
}

static ipp_t *intake_get_printer_attributes(intake_req_t *r) {
  ipp_t *resp = intake_answer(r, IPP_STATUS_OK, NULL);
  cups_array_t *ra = ippCreateRequestedArray(r->request);
  ipp_t *all = intake_printer_attributes(r);
  ippCopyAttributes(resp, all, 0, intake_filter, ra);
  cupsArrayDelete(ra);
  ippDelete(all);
  return resp;
}

/* ---- Get-Job-Attributes, Get-Jobs: the jobs handed to nimbusd ---- */

static void intake_add_job(intake_req_t *r, ipp_t *resp, const intake_job_t *j) {
  char uri[600], printer[512];
  intake_printer_uri(r, printer, sizeof printer);
  snprintf(uri, sizeof uri, "%s/%d", printer, j->id);
  ippAddInteger(resp, IPP_TAG_JOB, IPP_TAG_INTEGER, "job-id", j->id);
  ippAddString(resp, IPP_TAG_JOB, IPP_TAG_URI, "job-uri", NULL, uri);
  ippAddString(resp, IPP_TAG_JOB, IPP_TAG_URI, "job-printer-uri", NULL, printer);
  ippAddString(resp, IPP_TAG_JOB, IPP_TAG_NAME, "job-name", NULL, j->name);
  ippAddString(resp, IPP_TAG_JOB, IPP_TAG_NAME, "job-originating-user-name", NULL, j->user);
  if (j->canceled) {
    ippAddInteger(resp, IPP_TAG_JOB, IPP_TAG_ENUM, "job-state", IPP_JSTATE_CANCELED);
    ippAddString(resp, IPP_TAG_JOB, IPP_TAG_KEYWORD, "job-state-reasons", NULL,
                 "job-canceled-by-user");
    ippAddString(resp, IPP_TAG_JOB, IPP_TAG_TEXT, "job-state-message", NULL,
                 "Canceled: it will not be printed.");
  } else {
    /* for the PC the job is done: it is stored in the cloud, released at the panel */
    ippAddInteger(resp, IPP_TAG_JOB, IPP_TAG_ENUM, "job-state", IPP_JSTATE_COMPLETED);
    ippAddString(resp, IPP_TAG_JOB, IPP_TAG_KEYWORD, "job-state-reasons", NULL,
                 "job-completed-successfully");
    ippAddString(resp, IPP_TAG_JOB, IPP_TAG_TEXT, "job-state-message", NULL,
                 "Stored in the cloud: release it at the printer with your PIN.");
  }
  ippAddInteger(resp, IPP_TAG_JOB, IPP_TAG_INTEGER, "time-at-creation",
                (int)(j->at - r->in->started));
}

static ipp_t *intake_get_job_attributes(intake_req_t *r) {
  int id = intake_job_id(r->request);
  intake_t *in = r->in;
  intake_job_t found = {0};
  pthread_mutex_lock(&in->lock);
  for (size_t i = 0; i < in->nrecent; i++)
    if (in->recent[i].id == id && intake_job_visible(r, &in->recent[i])) found = in->recent[i];
  pthread_mutex_unlock(&in->lock);
  if (!found.id) return intake_answer(r, IPP_STATUS_ERROR_NOT_FOUND, "No such job here.");
  ipp_t *resp = intake_answer(r, IPP_STATUS_OK, NULL);
  intake_add_job(r, resp, &found);
  return resp;
}

static ipp_t *intake_get_jobs(intake_req_t *r) {
  ipp_t *resp = intake_answer(r, IPP_STATUS_OK, NULL);
  const char *which = intake_string(r->request, "which-jobs");
  if (strcmp(which, "completed") && strcmp(which, "all")) return resp; /* none pending here */
  const char *user = intake_string(r->request, "requesting-user-name");
  ipp_attribute_t *mine = ippFindAttribute(r->request, "my-jobs", IPP_TAG_BOOLEAN);
  bool only_mine = mine && ippGetBoolean(mine, 0);
  intake_t *in = r->in;
  pthread_mutex_lock(&in->lock);
  intake_job_t jobs[INTAKE_RECENT];
  size_t n = in->nrecent;
  memcpy(jobs, in->recent, sizeof jobs);
  pthread_mutex_unlock(&in->lock);
  bool first = true;
  for (size_t i = 0; i < n; i++) {
    if (!intake_job_visible(r, &jobs[i])) continue; /* another PC's */
    if (only_mine && strcmp(jobs[i].user, user)) continue;
    if (!first) ippAddSeparator(resp);
    first = false;
    intake_add_job(r, resp, &jobs[i]);
  }
  return resp;
}

/* ---- forwarding ---- */

static void intake_park(void *ctx) {
  MHD_suspend_connection(ctx);
}

static void intake_wake(void *ctx) {
  MHD_resume_connection(ctx);
}

/*
 * Start forwarding the decoded request.  false with r->local set when it
 * is refused here (not registered, no thread).
 */
static bool intake_forward(intake_req_t *r, ipp_op_t op) {
  intake_t *in = r->in;
  connector_t *c = in->c;
  char server[STATE_URI_MAX], uuid[64], cred[96], queue[STATE_URI_MAX], err[256];
  pthread_mutex_lock(&c->lock);
  bool ok = state_has_registration(&c->state);
  snprintf(server, sizeof server, "%s", c->state.server);
  snprintf(uuid, sizeof uuid, "%s", c->state.uuid);
  snprintf(cred, sizeof cred, "%s", c->state.credential);
  snprintf(queue, sizeof queue, "%s", c->state.nuris ? c->state.uris[0] : "");
  pthread_mutex_unlock(&c->lock);
  pthread_mutex_lock(&in->lock);
  if (in->stopping) ok = false;
  pthread_mutex_unlock(&in->lock);
  ippc_t proto;
  if (!ok || !atomic_load(&c->allowed) ||
      !ippc_init(&proto, server, uuid, cred, &c->opt.pattern, c->opt.request_timeout, &c->allowed,
                 &c->stopping, err, sizeof err)) {
    memset(cred, 0, sizeof cred);
    r->local = intake_answer(r, IPP_STATUS_ERROR_SERVICE_UNAVAILABLE,
                             "This printer is not connected to the cloud service.");
    return false;
  }
  memset(cred, 0, sizeof cred);

  ipp_t *fw =
      upload_forward_request(r->request, op, queue, uuid, intake_job_id(r->request), r->peer);
  bool body = op == IPP_OP_PRINT_JOB || op == IPP_OP_SEND_DOCUMENT;
  r->up = upload_start(&in->uploads, &proto, fw, queue, in->buffer_max, body, intake_park,
                       intake_wake, r->conn);
  memset(&proto, 0, sizeof proto);
  if (!r->up) { /* out of memory or threads, or the listener is stopping */
    pthread_mutex_lock(&in->lock);
    bool stopping = in->stopping;
    pthread_mutex_unlock(&in->lock);
    r->local = stopping ? intake_answer(r, IPP_STATUS_ERROR_SERVICE_UNAVAILABLE,
                                        "This printer is shutting down; try again shortly.")
                        : intake_answer(r, IPP_STATUS_ERROR_INTERNAL, "Cannot start the upload.");
    return false;
  }
  log_event(LOG_INFO, NULL, "forwarding a job from a PC", "op", ippOpString(op), "user",
            intake_string(r->request, "requesting-user-name"), (char *)NULL);
  return true;
}

/* nimbusd's answer (or the failure) as the PC's answer. */
static ipp_t *intake_forwarded_answer(intake_req_t *r) {
  ipp_t *up = NULL;
  ippc_status_t st;
  int64_t sent = 0;
  ippc_result_t res = upload_result(r->up, &up, &st, &sent);
  ipp_op_t op = ippGetOperation(r->request);
  ipp_t *resp;
  if (!up) { /* no IPP answer from nimbusd */
    char msg[400];
    snprintf(msg, sizeof msg, "The cloud service did not take the job: %s",
             st.message[0]    ? st.message
             : st.http_status ? "HTTP error"
                              : "no answer");
    if (st.http_status > 0 && st.http_status != 200)
      snprintf(msg, sizeof msg, "The cloud service did not take the job (HTTP %d).",
               st.http_status);
    resp = intake_answer(r, IPP_STATUS_ERROR_SERVICE_UNAVAILABLE, msg);
    log_event(LOG_WARN, NULL, "a PC's job was not forwarded", "op", ippOpString(op), "result",
              ippc_result_name(res), "http", LOG_INT(st.http_status), "error", st.message,
              (char *)NULL);
    ippDelete(up);
    return resp;
  }
  resp = ippNewResponse(r->request);
  ippSetStatusCode(resp, ippGetStatusCode(up));
  char printer[512];
  intake_printer_uri(r, printer, sizeof printer);
  int job_id = 0;
  for (ipp_attribute_t *a = ippFirstAttribute(up); a; a = ippNextAttribute(up)) {
    const char *name = ippGetName(a);
    if (!name) continue;
    ipp_tag_t group = ippGetGroupTag(a);
    if (group == IPP_TAG_OPERATION &&
        (!strcmp(name, "attributes-charset") || !strcmp(name, "attributes-natural-language")))
      continue;
    if (!strcmp(name, "job-id") && ippGetValueTag(a) == IPP_TAG_INTEGER)
      job_id = ippGetInteger(a, 0);
    if (!strcmp(name, "job-printer-uri")) {
      ippAddString(resp, group, IPP_TAG_URI, name, NULL, printer);
      continue;
    }
    if (!strcmp(name, "job-uri")) continue; /* ours, below */
    ippCopyAttribute(resp, a, 0);
  }
  if (op == IPP_OP_CANCEL_JOB && ippGetStatusCode(up) < IPP_STATUS_ERROR_BAD_REQUEST)
    intake_mark_canceled(r->in, intake_job_id(r->request));
  if (job_id > 0 && ippGetStatusCode(up) < IPP_STATUS_ERROR_BAD_REQUEST) {
    char uri[600];
    snprintf(uri, sizeof uri, "%s/%d", printer, job_id);
    ippAddString(resp, IPP_TAG_JOB, IPP_TAG_URI, "job-uri", NULL, uri);
    if (op == IPP_OP_PRINT_JOB || op == IPP_OP_CREATE_JOB) {
      const char *name = intake_string(r->request, "job-name");
      intake_remember(r->in, job_id, name[0] ? name : intake_string(r->request, "document-name"),
                      intake_string(r->request, "requesting-user-name"), r->peer);
    }
  }
  log_event(LOG_INFO, NULL, "nimbusd answered a PC's job", "op", ippOpString(op), "status",
            ippErrorString(ippGetStatusCode(up)), "job", job_id > 0 ? LOG_INT(job_id) : NULL,
            "bytes", LOG_INT(sent), (char *)NULL);
  ippDelete(up);
  return resp;
}

/* ---- the request body ---- */

/* 1 decoded, 0 more bytes needed, -1 not IPP. */
static int intake_try_decode(intake_req_t *r, bool last) {
  if (!last && r->hdr_len < r->decode_at && r->hdr_len < INTAKE_HEADER_MAX) return 0;
  ipp_t *req = NULL;
  size_t used = 0;
  int d = ippmem_decode(r->hdr, r->hdr_len, &req, &used);
  if (d == 1) {
    r->request = req;
    r->hdr_used = used;
    r->fed = used;
    r->decoded = true;
    return 1;
  }
  if (d < 0) return -1;
  r->decode_at = r->hdr_len + (r->hdr_len > 4096 ? r->hdr_len : 4096);
  return 0;
}

/* Checks of RFC 8011 4.1.x; an answer when the request fails them. */
static ipp_t *intake_check(intake_req_t *r) {
  int major = ippGetVersion(r->request, NULL);
  if (major < 1 || major > 2)
    return intake_answer(r, IPP_STATUS_ERROR_VERSION_NOT_SUPPORTED, "Unsupported IPP version.");
  if (ippGetRequestId(r->request) <= 0)
    return intake_answer(r, IPP_STATUS_ERROR_BAD_REQUEST, "The request-id must be positive.");
  ipp_attribute_t *cs = ippFirstAttribute(r->request);
  ipp_attribute_t *lang = ippNextAttribute(r->request);
  if (!cs || !lang || strcmp(ippGetName(cs) ? ippGetName(cs) : "", "attributes-charset") ||
      strcmp(ippGetName(lang) ? ippGetName(lang) : "", "attributes-natural-language"))
    return intake_answer(r, IPP_STATUS_ERROR_BAD_REQUEST,
                         "attributes-charset and attributes-natural-language must come first.");
  const char *charset = ippGetString(cs, 0, NULL);
  if (!charset || (strcasecmp(charset, "utf-8") && strcasecmp(charset, "us-ascii")))
    return intake_answer(r, IPP_STATUS_ERROR_CHARSET, "Only utf-8 is supported.");
  if (!ippFindAttribute(r->request, "printer-uri", IPP_TAG_URI) &&
      !ippFindAttribute(r->request, "job-uri", IPP_TAG_URI))
    return intake_answer(r, IPP_STATUS_ERROR_BAD_REQUEST, "Missing printer-uri.");
  /* deduplicated before libcups expands it (ipp-requested.h) */
  if (ipp_requested_normalize(r->request, IPP_REQUESTED_MAX) != IPP_REQUESTED_OK)
    return intake_answer(r, IPP_STATUS_ERROR_REQUEST_VALUE, "Too many requested-attributes.");
  return NULL;
}

/* The section is decoded: answer locally or start forwarding. */
static void intake_dispatch(intake_req_t *r) {
  r->local = intake_check(r);
  if (r->local) return;
  ipp_op_t op = ippGetOperation(r->request);
  switch (op) {
    case IPP_OP_PRINT_JOB:
    case IPP_OP_SEND_DOCUMENT:
    case IPP_OP_VALIDATE_JOB:
    case IPP_OP_CREATE_JOB:
    case IPP_OP_CLOSE_JOB:
    case IPP_OP_CANCEL_JOB:
      if ((op == IPP_OP_SEND_DOCUMENT || op == IPP_OP_CLOSE_JOB || op == IPP_OP_CANCEL_JOB) &&
          intake_job_id(r->request) <= 0) {
        r->local = intake_answer(r, IPP_STATUS_ERROR_BAD_REQUEST, "Missing job-id.");
        return;
      }
      /* only the user who sent it here cancels it, and nimbusd checks again
       * that the job came through this printer and is that user's */
      if (op == IPP_OP_CANCEL_JOB &&
          !intake_sent_by(r, intake_job_id(r->request),
                          intake_string(r->request, "requesting-user-name"))) {
        r->local = intake_answer(r, IPP_STATUS_ERROR_NOT_FOUND, "No such job of yours here.");
        return;
      }
      intake_forward(r, op);
      return;
    case IPP_OP_GET_PRINTER_ATTRIBUTES:
      r->local = intake_get_printer_attributes(r);
      return;
    case IPP_OP_GET_JOB_ATTRIBUTES:
      r->local = intake_get_job_attributes(r);
      return;
    case IPP_OP_GET_JOBS:
      r->local = intake_get_jobs(r);
      return;
    default:
      r->local = intake_answer(r, IPP_STATUS_ERROR_OPERATION_NOT_SUPPORTED,
                               "Operation not supported by this printer.");
  }
}

static bool intake_buffer(intake_req_t *r, const char *data, size_t len) {
  if (r->hdr_len + len > r->hdr_cap) {
    size_t cap = r->hdr_cap ? r->hdr_cap : 4096;
    while (cap < r->hdr_len + len) cap *= 2;
    unsigned char *nb = realloc(r->hdr, cap);
    if (!nb) return false;
    r->hdr = nb;
    r->hdr_cap = cap;
  }
  memcpy(r->hdr + r->hdr_len, data, len);
  r->hdr_len += len;
  return true;
}

/*
 * Document bytes that arrived with the attribute section go first; true
 * when all of them are in the upload (else the connection is parked).
 */
static bool intake_feed_leftover(intake_req_t *r) {
  if (!r->up || r->fed >= r->hdr_len) return true;
  r->fed += upload_feed(r->up, (const char *)r->hdr + r->fed, r->hdr_len - r->fed);
  if (r->fed < r->hdr_len) return false;
  free(r->hdr); /* the section is decoded; its buffer is not needed any more */
  r->hdr = NULL;
  r->hdr_len = r->hdr_cap = r->fed = 0;
  return true;
}

/* Take a chunk of the body; returns how much was consumed. */
static size_t intake_body(intake_req_t *r, const char *data, size_t len) {
  if (!r->first_byte) r->first_byte = time(NULL);
  if (r->undecodable || r->too_large || r->bad_path) return len; /* dropped */
  if (!r->decoded) {
    size_t take = len;
    if (r->hdr_len + take > INTAKE_HEADER_MAX) take = INTAKE_HEADER_MAX - r->hdr_len;
    if (!intake_buffer(r, data, take)) {
      r->too_large = true;
      return len;
    }
    int d = intake_try_decode(r, false);
    if (d < 0) r->undecodable = true;
    if (d == 0 && r->hdr_len >= INTAKE_HEADER_MAX) r->too_large = true;
    if (d <= 0) return len; /* buffered (or dropped) */
    intake_dispatch(r);
    if (!r->up) return len; /* answered here: the rest is not needed */
    /* the rest of this chunk goes to the upload after the leftover */
    if (!intake_feed_leftover(r)) return take;
    return take + upload_feed(r->up, data + take, len - take);
  }
  if (!r->up) return len;
  if (!intake_feed_leftover(r)) return 0;
  return upload_feed(r->up, data, len);
}

/* ---- HTTP ---- */

static enum MHD_Result intake_send(struct MHD_Connection *conn, unsigned status, const char *type,
                                   void *body, size_t len) {
  struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
  if (!resp) {
    free(body);
    return MHD_NO;
  }
  MHD_add_response_header(resp, "Content-Type", type);
  enum MHD_Result ret = MHD_queue_response(conn, status, resp);
  MHD_destroy_response(resp);
  return ret;
}

static enum MHD_Result intake_text(struct MHD_Connection *conn, unsigned status, const char *text) {
  char *body = strdup(text);
  return body ? intake_send(conn, status, "text/plain", body, strlen(body)) : MHD_NO;
}

static enum MHD_Result intake_send_ipp(struct MHD_Connection *conn, ipp_t *resp /* freed */) {
  size_t len = 0;
  unsigned char *buf = ippmem_encode(resp, &len);
  ippDelete(resp);
  if (!buf) return intake_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot encode the answer\n");
  return intake_send(conn, MHD_HTTP_OK, "application/ipp", buf, len);
}

static bool intake_our_path(const char *url) {
  return !strcmp(url, "/ipp/print") || !strcmp(url, "/ipp/print/");
}

/* The Host header as given (host[:port] characters only), for our URIs. */
static void intake_host(intake_t *in, struct MHD_Connection *conn, char *out, size_t outlen) {
  const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host");
  if (host && *host && strlen(host) < outlen &&
      strspn(host,
             "abcdefghijklmnopqrstuvwxyz"
             "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
             "0123456789.-:[]") == strlen(host))
    snprintf(out, outlen, "%s", host);
  else
    snprintf(out, outlen, "localhost:%d", in->port);
}

/* A browser at ipp://HOST/ipp/print: the information page (driverless.h). */
static enum MHD_Result intake_page(intake_t *in, struct MHD_Connection *conn, const char *url) {
  if (!intake_our_path(url)) return intake_text(conn, MHD_HTTP_NOT_FOUND, "no such printer\n");
  connector_t *c = in->c;
  char host[256], name[64], location[256], make[256] = "", message[128];
  intake_host(in, conn, host, sizeof host);
  pthread_mutex_lock(&c->lock);
  snprintf(name, sizeof name, "%s", c->reg_name[0] ? c->reg_name : INTAKE_NAME_DEFAULT);
  snprintf(location, sizeof location, "%s", c->reg_location);
  bool registered = state_has_registration(&c->state) && c->state.status == STATE_REGISTERED;
  pthread_mutex_unlock(&c->lock);
  pthread_mutex_lock(&in->lock);
  ipp_attribute_t *a = ippFindAttribute(in->caps, "printer-make-and-model", IPP_TAG_ZERO);
  if (a && ippGetString(a, 0, NULL)) snprintf(make, sizeof make, "%s", ippGetString(a, 0, NULL));
  a = ippFindAttribute(in->caps, "printer-state", IPP_TAG_ENUM);
  int state = a ? ippGetInteger(a, 0) : IPP_PSTATE_IDLE;
  pthread_mutex_unlock(&in->lock);
  snprintf(message, sizeof message, "%s",
           registered ? "Registered with the cloud print service."
                      : "Not registered with the cloud print service: it takes no jobs.");
  driverless_page_t page = {
      .name = name,
      .info = "Jobs wait in the cloud until released at this printer with your PIN",
      .location = location,
      .make_model = make[0] ? make : INTAKE_MAKE_MODEL,
      .state = state == IPP_PSTATE_STOPPED      ? "stopped"
               : state == IPP_PSTATE_PROCESSING ? "processing"
                                                : "idle",
      .state_message = message,
      .host = host,
      .path = "/ipp/print",
      .note =
          "Your print jobs are not printed at once: they wait in the cloud until you release "
          "them at this printer's panel with your user ID and password (and the job's PIN, "
          "if you gave one). The user ID sent with a job is your login name on your "
          "computer; it must be your Nimbus Print user name.",
  };
  size_t len = 0;
  char *html = driverless_page_html(&page, &len);
  if (!html) return intake_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
  struct MHD_Response *resp = MHD_create_response_from_buffer(len, html, MHD_RESPMEM_MUST_FREE);
  if (!resp) {
    free(html);
    return MHD_NO;
  }
  MHD_add_response_header(resp, "Content-Type", "text/html; charset=utf-8");
  MHD_add_response_header(resp, "Content-Security-Policy", DRIVERLESS_PAGE_CSP);
  MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
  MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
  enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
  MHD_destroy_response(resp);
  return ret;
}

static enum MHD_Result intake_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_size,
                                      void **con_cls) {
  intake_t *in = cls;
  intake_req_t *r = *con_cls;
  if (!r) {
    enum MHD_Result refused;
    if (http_framing_refused_mhd(conn, version, &refused)) return refused; /* RFC 9112 6 */
    if (!strcmp(method, "GET") || !strcmp(method, "HEAD")) return intake_page(in, conn, url);
    if (strcmp(method, "POST"))
      return intake_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "IPP requests are POSTed\n");
    r = calloc(1, sizeof *r);
    if (!r) return MHD_NO;
    r->in = in;
    r->conn = conn;
    r->bad_path = !intake_our_path(url);
    intake_host(in, conn, r->host, sizeof r->host);
    intake_peer(conn, r->peer, sizeof r->peer);
    *con_cls = r;
    return MHD_YES;
  }
  if (*upload_size) {
    *upload_size -= intake_body(r, upload_data, *upload_size);
    return MHD_YES;
  }
  /* the whole body is in */
  if (r->bad_path) return intake_text(conn, MHD_HTTP_NOT_FOUND, "no such printer\n");
  if (!r->decoded && !r->undecodable && !r->too_large && r->hdr_len) {
    int d = intake_try_decode(r, true);
    if (d == 1)
      intake_dispatch(r);
    else
      r->undecodable = true;
  }
  if (r->too_large)
    return intake_text(conn, MHD_HTTP_CONTENT_TOO_LARGE, "attribute section too large\n");
  if (!r->decoded) return intake_text(conn, MHD_HTTP_BAD_REQUEST, "not an IPP request\n");
  if (r->up) {
    if (!intake_feed_leftover(r)) return MHD_YES; /* parked */
    if (!upload_close(r->up)) return MHD_YES;     /* parked until nimbusd answers */
    ipp_t *resp = intake_forwarded_answer(r);
    upload_abandon(r->up);
    r->up = NULL;
    return intake_send_ipp(conn, resp);
  }
  ipp_t *resp = r->local;
  r->local = NULL;
  if (!resp) resp = intake_answer(r, IPP_STATUS_ERROR_INTERNAL, NULL);
  return intake_send_ipp(conn, resp);
}

static void intake_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                             enum MHD_RequestTerminationCode toe) {
  (void)cls, (void)conn;
  intake_req_t *r = *con_cls;
  if (!r) return;
  if (r->up) {
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
      log_event(LOG_WARN, NULL, "a PC's connection ended before the answer; upload dropped",
                (char *)NULL);
    upload_abandon(r->up);
  }
  ippDelete(r->request);
  ippDelete(r->local);
  free(r->hdr);
  free(r);
  *con_cls = NULL;
}

intake_t *intake_start(connector_t *c, char *err, size_t errlen) {
  char host[64];
  const char *spec = c->opt.listen_ipp;
  const char *colon = strrchr(spec, ':');
  if (!colon || (size_t)(colon - spec) >= sizeof host) {
    snprintf(err, errlen, "listen-ipp must be ADDRESS:PORT");
    return NULL;
  }
  memcpy(host, spec, (size_t)(colon - spec));
  host[colon - spec] = '\0';
  char *end;
  long lp = strtol(colon + 1, &end, 10);
  if (*end || end == colon + 1 || lp < 0 || lp > 65535) {
    snprintf(err, errlen, "listen-ipp: bad port");
    return NULL;
  }
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)lp)};
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
    snprintf(err, errlen, "listen-ipp: '%s' is not an IPv4 address", host);
    return NULL;
  }
  intake_t *in = calloc(1, sizeof *in);
  if (!in) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  in->c = c;
  in->buffer_max = (size_t)c->opt.upload_buffer;
  in->started = time(NULL);
  in->caps = intake_default_caps();
  upload_group_init(&in->uploads);
  pthread_mutex_init(&in->lock, NULL);
  pthread_cond_init(&in->cond, NULL);
  in->probe = output_open(c->opt.output, err, errlen);
  if (!in->probe) goto fail;
  if (pthread_create(&in->caps_tid, NULL, intake_caps_thread, in) != 0) {
    snprintf(err, errlen, "cannot start a thread");
    goto fail;
  }
  httpguard_limits_t limits = {.max_connections = c->opt.http_max_connections,
                               .max_per_address = c->opt.http_max_per_address,
                               .header_timeout = c->opt.http_header_timeout,
                               .idle_timeout = INTAKE_IDLE_TIMEOUT};
  char gerr[128];
  in->guard = httpguard_start("ipp", MHD_ALLOW_SUSPEND_RESUME, &sa, &limits, intake_handler, in,
                              intake_completed, in, gerr, sizeof gerr);
  if (!in->guard) {
    snprintf(err, errlen, "cannot listen on %s: %s", spec, gerr);
    pthread_mutex_lock(&in->lock);
    in->stopping = true;
    pthread_cond_broadcast(&in->cond);
    pthread_mutex_unlock(&in->lock);
    pthread_join(in->caps_tid, NULL);
    goto fail;
  }
  in->port = httpguard_port(in->guard);
  log_event(LOG_INFO, NULL, "ipp listening", "address", host, "port", LOG_INT(in->port),
            "upload_buffer", LOG_INT(in->buffer_max), "max_connections",
            LOG_INT(limits.max_connections), "max_per_address", LOG_INT(limits.max_per_address),
            "header_timeout", LOG_INT(limits.header_timeout), (char *)NULL);
  return in;
fail:
  output_close(in->probe);
  ippDelete(in->caps);
  upload_group_destroy(&in->uploads);
  pthread_mutex_destroy(&in->lock);
  pthread_cond_destroy(&in->cond);
  free(in);
  return NULL;
}

int intake_port(const intake_t *in) {
  return in->port;
}

void intake_stop(intake_t *in) {
  if (!in) return;
  pthread_mutex_lock(&in->lock);
  in->stopping = true; /* no new uploads */
  pthread_mutex_unlock(&in->lock);
  MHD_quiesce_daemon(httpguard_daemon(in->guard));
  /* every worker answers and wakes its parked PC connection: MHD must not
   * be stopped with suspended connections */
  upload_group_abort(&in->uploads);
  httpguard_stop(in->guard);
  pthread_mutex_lock(&in->lock);
  pthread_cond_broadcast(&in->cond);
  pthread_mutex_unlock(&in->lock);
  pthread_join(in->caps_tid, NULL);
  output_close(in->probe);
  ippDelete(in->caps);
  upload_group_destroy(&in->uploads);
  pthread_mutex_destroy(&in->lock);
  pthread_cond_destroy(&in->cond);
  free(in);
}
