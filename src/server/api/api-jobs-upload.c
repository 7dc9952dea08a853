/*
 * api-jobs-upload.c: POST /api/v1/jobs, a job from a multipart/form-data
 * upload, streamed: the document never sits in memory.
 *
 * Form fields (all optional but queue and document):
 *   queue                   queue of the caller's tenant (404 if unknown)
 *   job-name                default: the uploaded file name, or "Untitled"
 *   copies                  1..999, default 1
 *   job-password            the job's PIN, 4..255 bytes: stored only as an
 *                           argon2id hash, never logged nor returned
 *   job-account-id, job-accounting-user-id
 *   document-format         declared MIME type; default: detected
 *   compression             none (default), gzip or deflate: the document
 *                           part is compressed; must come before it
 *   sides, print-color-mode, media
 *                           the job's settings, each one of the values the
 *                           queue supports (job_settings_supported, what
 *                           IPP job creation checks); stored in the job's
 *                           attributes exactly as IPP stores them, so they
 *                           reach the printer the same way
 *   document                the file (exactly one)
 * → 201 job (held, unless the queue releases immediately), Location set.
 * Errors: 400 missing/bad field or document, 401 before any byte is
 * spooled, 413 over the tenant's max-document-size (also decompressed),
 * 415 unsupported format or compression, or not a form, 422 corrupt document, 429 too many pending
 * jobs.
 *
 * Flow (threads in brackets):
 *   body() [event]: first chunk → keep a copy and defer upload_authenticate
 *   upload_authenticate [worker]: api_authenticate (the header, else the
 *     console's cookie, whose CSRF token it checks); refused → the rest of the
 *     body is discarded unread into any file; else feed the kept chunk
 *   body() [event]: http_form_feed → upload_form_cb: text fields into
 *     bounded buffers, the document part into intake_write (spool file)
 *   api_jobs_submit [worker]: check fields, intake_finish (format, pages,
 *     fsync, commit), job_submit (per-user limit, durable insert)
 * Any failure or disconnect ends in api_upload_free, which aborts an
 * unfinished intake, so no partial file stays behind.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api-private.h"
#include "purpose.h"
#include "auth.h"
#include "crypto.h"
#include "docformat.h"
#include "intake.h"
#include "job.h"
#include "log.h"

#define UPLOAD_PENDING_MAX ((size_t)256 * 1024) /* body held while authenticating */
#define UPLOAD_PIN_MIN 4
#define UPLOAD_PIN_MAX 255
#define UPLOAD_COPIES_MAX 999

enum {
  F_QUEUE,
  F_JOB_NAME,
  F_COPIES,
  F_PIN,
  F_ACCOUNT,
  F_ACCOUNTING_USER,
  F_PURPOSE,
  F_FORMAT,
  F_COMPRESSION,
  F_SIDES,
  F_COLOR_MODE,
  F_MEDIA,
  F_COUNT
};

static const struct {
  const char *name;
  size_t max; /* bytes, < NIMBUS_TEXT_MAX */
} upload_fields[F_COUNT] = {
    [F_QUEUE] = {"queue", NIMBUS_NAME_MAX - 1},
    [F_JOB_NAME] = {"job-name", NIMBUS_TEXT_MAX - 1},
    [F_COPIES] = {"copies", 16},
    [F_PIN] = {"job-password", UPLOAD_PIN_MAX},
    [F_ACCOUNT] = {"job-account-id", NIMBUS_TEXT_MAX - 1},
    [F_ACCOUNTING_USER] = {"job-accounting-user-id", NIMBUS_TEXT_MAX - 1},
    [F_PURPOSE] = {"purpose", NIMBUS_TEXT_MAX - 1}, /* = job-account-id (docs/BILLING.md) */
    [F_FORMAT] = {"document-format", NIMBUS_NAME_MAX - 1},
    [F_COMPRESSION] = {"compression", 15},
    [F_SIDES] = {"sides", NIMBUS_NAME_MAX - 1},
    [F_COLOR_MODE] = {"print-color-mode", NIMBUS_NAME_MAX - 1},
    [F_MEDIA] = {"media", NIMBUS_NAME_MAX - 1},
};

struct api_upload {
  http_request_t *r;
  http_form_t *form;  /* NULL: the body is not a form */
  bool auth_deferred; /* upload_authenticate was requested */
  bool authenticated; /* upload_authenticate ran: r->auth is set */
  bool refused;       /* unauthenticated or wrong ?tenant: discard */
  bool halted;        /* feeding stopped; finish() tells why */
  bool malformed;     /* the form parser failed */
  bool cb_stopped;    /* ...because upload_form_cb said stop */
  char *pending;      /* body received before authentication */
  size_t pending_len;
  int error_status; /* first field error, with error text */
  char error[256];
  intake_t *intake; /* document being spooled */
  bool doc_started;
  bool doc_stopped; /* intake_write refused: too large or I/O */
  int64_t doc_bytes;
  bool format_late; /* document-format came after the document */
  char filename[NIMBUS_TEXT_MAX];
  char value[F_COUNT][NIMBUS_TEXT_MAX];
  size_t len[F_COUNT];
};

/* Record the first error for finish() to answer; returns false (stop). */
__attribute__((format(printf, 3, 4))) static bool upload_fail(api_upload_t *u, int status,
                                                              const char *fmt, ...) {
  if (!u->error_status) {
    va_list ap;
    va_start(ap, fmt);
    u->error_status = status;
    vsnprintf(u->error, sizeof u->error, fmt, ap);
    va_end(ap);
  }
  return false;
}

/* Take the last path component of a client's file name, if it is sane. */
static void upload_set_filename(api_upload_t *u, const char *filename) {
  if (!filename) return;
  const char *base = filename;
  for (const char *p = filename; *p; p++)
    if (*p == '/' || *p == '\\') base = p + 1;
  if (*base && api_text_valid(base, sizeof u->filename - 1))
    snprintf(u->filename, sizeof u->filename, "%s", base);
}

static bool upload_document(api_upload_t *u, const char *filename, const char *data, size_t len,
                            uint64_t off) {
  http_request_t *r = u->r;
  if (off == 0 && u->doc_started && u->doc_bytes > 0)
    return upload_fail(u, 400, "only one document part is allowed per job");
  if (!u->doc_started) {
    u->doc_started = true;
    upload_set_filename(u, filename);
    const char *declared = u->len[F_FORMAT] ? u->value[F_FORMAT] : NULL;
    u->intake = intake_begin(r->srv, intake_max_document_size(r->srv, &r->auth.tenant), declared);
    if (!u->intake) return upload_fail(u, 500, "the document could not be spooled");
    if (u->len[F_COMPRESSION] && !intake_set_compression(u->intake, u->value[F_COMPRESSION]))
      return intake_compression_supported(u->value[F_COMPRESSION])
                 ? upload_fail(u, 500, "the document could not be spooled")
                 : upload_fail(u, 415, "unsupported compression '%s' (none, gzip or deflate)",
                               u->value[F_COMPRESSION]);
  }
  if (len == 0) return true;
  if (!intake_write(u->intake, data, len)) {
    u->doc_stopped = true; /* intake_finish says whether too large or I/O */
    return false;
  }
  u->doc_bytes += (int64_t)len;
  return true;
}

static bool upload_text_field(api_upload_t *u, int i, const char *data, size_t len, uint64_t off) {
  if (off == 0) u->len[i] = 0; /* a repeated field: the last one counts */
  if (off != u->len[i])
    return upload_fail(u, 400, "malformed form field '%s'", upload_fields[i].name);
  if (len > upload_fields[i].max - u->len[i])
    return upload_fail(u, 400, "'%s' is too long", upload_fields[i].name);
  memcpy(u->value[i] + u->len[i], data, len);
  u->len[i] += len;
  u->value[i][u->len[i]] = '\0';
  if (i == F_FORMAT && u->doc_started) u->format_late = true;
  if (i == F_COMPRESSION && u->doc_started)
    return upload_fail(u, 400, "the 'compression' field must come before the document");
  return true;
}

static bool upload_form_dispatch(api_upload_t *u, const char *field, const char *filename,
                                 const char *data, size_t len, uint64_t off) {
  if (strcmp(field, "document") == 0) return upload_document(u, filename, data, len, off);
  for (int i = 0; i < F_COUNT; i++)
    if (strcmp(field, upload_fields[i].name) == 0) return upload_text_field(u, i, data, len, off);
  if (api_name_valid(field)) return upload_fail(u, 400, "unknown form field '%s'", field);
  return upload_fail(u, 400, "unknown form field");
}

static bool upload_form_cb(void *ctx, const char *field, const char *filename,
                           const char *content_type, const char *data, size_t len, uint64_t off) {
  api_upload_t *u = ctx;
  (void)content_type; /* the document-format field declares the format */
  bool ok = upload_form_dispatch(u, field ? field : "", filename, data, len, off);
  if (!ok) u->cb_stopped = true;
  return ok;
}

/* Feed body bytes to the form parser; false stops reading the body. */
static bool upload_feed(api_upload_t *u, const char *data, size_t len) {
  if (u->halted) return false;
  if (!http_form_feed(u->form, data, len)) {
    if (!u->cb_stopped) u->malformed = true;
    u->halted = true;
    return false;
  }
  return true;
}

static void upload_drop_pending(api_upload_t *u) {
  if (!u->pending) return;
  explicit_bzero(u->pending, u->pending_len); /* may hold the PIN field */
  free(u->pending);
  u->pending = NULL;
  u->pending_len = 0;
}

/* Deferred from body() [worker]: authenticate before spooling a byte. */
static void upload_authenticate(http_request_t *r) {
  api_state_t *s = r->handler_state;
  api_upload_t *u = s->upload;
  api_authenticate(r); /* the header, else the console's cookie */
  u->authenticated = true;
  const char *tenant = http_query(r, "tenant");
  /* a scoped (federation) token spools nothing: dispatch answers 403 */
  if (r->auth.result != AUTH_OK || api_csrf_refused(r) || r->auth.scope[0] ||
      (tenant && *tenant && strcmp(tenant, r->auth.tenant.name) != 0))
    u->refused = true;
  else if (u->pending)
    upload_feed(u, u->pending, u->pending_len);
  upload_drop_pending(u);
}

api_upload_t *api_upload_new(http_request_t *r) {
  api_upload_t *u = calloc(1, sizeof *u);
  if (!u) return NULL;
  u->r = r;
  u->form = http_form_new(r, upload_form_cb, u);
  return u;
}

bool api_upload_body(http_request_t *r, api_upload_t *u, const char *data, size_t len) {
  if (!u->form || u->refused || u->halted) return false;
  if (u->authenticated) return upload_feed(u, data, len);
  /* Not yet authenticated: keep the bytes (bounded) until it is done. */
  if (len > UPLOAD_PENDING_MAX - u->pending_len) {
    u->halted = true;
    return upload_fail(u, 500, "the upload could not be buffered");
  }
  char *grown = realloc(u->pending, u->pending_len + len + 1);
  if (!grown) {
    u->halted = true;
    return upload_fail(u, 500, "out of memory");
  }
  memcpy(grown + u->pending_len, data, len);
  u->pending = grown;
  u->pending_len += len;
  if (!u->auth_deferred) {
    u->auth_deferred = true;
    http_request_defer(r, upload_authenticate);
  }
  return true;
}

bool api_upload_authenticated(const api_upload_t *u) {
  return u->authenticated;
}

void api_upload_free(api_upload_t *u) {
  if (!u) return;
  http_form_free(u->form);
  intake_abort(u->intake);
  upload_drop_pending(u);
  explicit_bzero(u->value[F_PIN], sizeof u->value[F_PIN]);
  free(u);
}

/* ---- finish [worker] ---- */

static bool upload_field_text(api_ctx_t *c, api_upload_t *u, int i) {
  if (strlen(u->value[i]) == u->len[i] && api_text_valid(u->value[i], upload_fields[i].max))
    return true;
  api_problem(c->r, 400, "'%s' must be text without control characters", upload_fields[i].name);
  return false;
}

/* The settings fields (sides, print-color-mode, media), each checked
 * against what the queue supports, into job->attrs_json as IPP job
 * creation stores its job-template attributes (ipp-job-attrs.c: a
 * compact JSON object, keys sorted).  False has responded. */
static bool upload_settings(api_ctx_t *c, api_upload_t *u, nimbus_job_t *job) {
  static const int settings[] = {F_SIDES, F_COLOR_MODE, F_MEDIA};
  json_t *attrs = json_object();
  if (!attrs) {
    api_problem(c->r, 500, "out of memory");
    return false;
  }
  for (size_t k = 0; k < sizeof settings / sizeof settings[0]; k++) {
    int i = settings[k];
    if (!u->len[i]) continue;
    const char *name = upload_fields[i].name;
    if (!api_keyword_supported(c, name, name, u->value[i])) {
      json_decref(attrs);
      return false;
    }
    json_object_set_new(attrs, name, json_string(u->value[i]));
  }
  char *text = json_dumps(attrs, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(attrs);
  if (!text || strlen(text) >= sizeof job->attrs_json) {
    free(text);
    api_problem(c->r, 500, "out of memory");
    return false;
  }
  snprintf(job->attrs_json, sizeof job->attrs_json, "%s", text);
  free(text);
  return true;
}

/* Check the text fields, fill the job from them; false has responded. */
static bool upload_check_fields(api_ctx_t *c, api_upload_t *u, nimbus_queue_t *q,
                                nimbus_job_t *job) {
  for (int i = 0; i < F_COUNT; i++)
    if (i != F_PIN && !upload_field_text(c, u, i)) return false;
  if (!u->len[F_QUEUE]) {
    api_problem(c->r, 400, "'queue' is required");
    return false;
  }
  store_status_t s =
      api_name_valid(u->value[F_QUEUE])
          ? store_queue_get_by_name(c->srv->store, c->tenant.id, u->value[F_QUEUE], q)
          : STORE_NOT_FOUND;
  if (s != STORE_OK) {
    api_respond_store(c, s, "queue", u->value[F_QUEUE]);
    return false;
  }
  job->copies = 1;
  if (u->len[F_COPIES]) {
    const char *v = u->value[F_COPIES];
    long n = strspn(v, "0123456789") == u->len[F_COPIES] && u->len[F_COPIES] <= 3 ? atol(v) : 0;
    if (n < 1 || n > UPLOAD_COPIES_MAX) {
      api_problem(c->r, 400, "'copies' must be an integer from 1 to %d", UPLOAD_COPIES_MAX);
      return false;
    }
    job->copies = (int)n;
  }
  if (u->len[F_PIN] &&
      (u->len[F_PIN] < UPLOAD_PIN_MIN || strlen(u->value[F_PIN]) != u->len[F_PIN])) {
    api_problem(c->r, 400, "'job-password' must be %d to %d characters", UPLOAD_PIN_MIN,
                UPLOAD_PIN_MAX);
    return false;
  }
  if (u->len[F_FORMAT]) {
    bool is_auto = false;
    if (docformat_from_mime(u->value[F_FORMAT], &is_auto) == DOCFORMAT_UNKNOWN && !is_auto) {
      api_problem(c->r, 415, "unsupported document-format '%s'", u->value[F_FORMAT]);
      return false;
    }
  }
  snprintf(job->name, sizeof job->name, "%s",
           u->len[F_JOB_NAME] ? u->value[F_JOB_NAME]
           : u->filename[0]   ? u->filename
                              : "Untitled");
  if (u->len[F_PURPOSE] && u->len[F_ACCOUNT] && strcmp(u->value[F_PURPOSE], u->value[F_ACCOUNT])) {
    api_problem(c->r, 400, "'purpose' and 'job-account-id' name the same thing: give one");
    return false;
  }
  snprintf(job->account_id, sizeof job->account_id, "%s",
           u->len[F_PURPOSE] ? u->value[F_PURPOSE] : u->value[F_ACCOUNT]);
  snprintf(job->accounting_user_id, sizeof job->accounting_user_id, "%s",
           u->value[F_ACCOUNTING_USER]);
  return upload_settings(c, u, job);
}

/* Answer a failed intake_finish. */
static void upload_respond_intake(api_ctx_t *c, intake_status_t st, const char *err) {
  static const int status[] = {
      [INTAKE_TOO_LARGE] = 413,        [INTAKE_IO_ERROR] = 500, [INTAKE_FORMAT_UNSUPPORTED] = 415,
      [INTAKE_DOCUMENT_INVALID] = 422, [INTAKE_EMPTY] = 400,    [INTAKE_NO_SPACE] = 507};
  int code = st > INTAKE_OK && st <= INTAKE_NO_SPACE ? status[st] : 500;
  if (code == 507) {
    api_respond_disk_full(c);
    return;
  }
  log_event(code >= 500 ? LOG_ERROR : LOG_INFO, c->r->id, "document refused", "tenant",
            c->tenant.name, "user", c->r->auth.user.name, "status", LOG_INT(code), "reason", err,
            (char *)NULL);
  api_problem(c->r, code, "%s", err[0] ? err : "the document was refused");
}

/* Why there is no usable upload state: answer it.  True when answered. */
static bool upload_respond_early(api_ctx_t *c, api_upload_t *u) {
  const char *tenant = http_query(c->r, "tenant");
  if (tenant && *tenant && strcmp(tenant, c->r->auth.tenant.name) != 0) {
    api_problem(c->r, 400, "jobs are submitted to your own tenant; drop ?tenant=");
    return true;
  }
  bool is_form = strncasecmp(c->r->content_type, "multipart/form-data", 19) == 0;
  if (!u || !u->form) {
    if (is_form && !u)
      api_problem(c->r, 400, "the 'document' part is missing");
    else
      api_problem(c->r, 415, "a job upload must be multipart/form-data");
    return true;
  }
  return false;
}

void api_jobs_submit(api_ctx_t *c) {
  api_upload_t *u = c->state ? c->state->upload : NULL;
  nimbus_queue_t q;
  nimbus_job_t job;
  nimbus_document_t doc;
  char err[256] = "";
  memset(&job, 0, sizeof job);
  memset(&doc, 0, sizeof doc);

  if (upload_respond_early(c, u)) goto done;
  if (u->doc_stopped) { /* over the size limit, or the spool failed */
    intake_status_t st = intake_finish(u->intake, &doc, err, sizeof err);
    u->intake = NULL;
    upload_respond_intake(c, st == INTAKE_OK ? INTAKE_IO_ERROR : st, err);
    if (st == INTAKE_OK) blob_delete(c->srv->blobs, doc.blob_key);
    goto done;
  }
  if (u->error_status) {
    api_problem(c->r, u->error_status, "%s", u->error);
    goto done;
  }
  if (u->malformed) {
    api_problem(c->r, 400, "malformed multipart/form-data body");
    goto done;
  }
  if (!upload_check_fields(c, u, &q, &job)) goto done;
  if (!u->doc_started) {
    api_problem(c->r, 400, "the 'document' part is missing");
    goto done;
  }

  /* Format detection and page counting: the slow part, on this worker. */
  intake_status_t st = intake_finish(u->intake, &doc, err, sizeof err);
  u->intake = NULL;
  if (st != INTAKE_OK) {
    upload_respond_intake(c, st, err);
    goto done;
  }
  if (u->format_late) { /* intake could not check what it did not know */
    bool is_auto = false;
    docformat_t declared = docformat_from_mime(u->value[F_FORMAT], &is_auto);
    if (!is_auto && declared != docformat_from_mime(doc.format, NULL)) {
      blob_delete(c->srv->blobs, doc.blob_key);
      upload_respond_intake(c, INTAKE_DOCUMENT_INVALID,
                            "the document is not of the declared format");
      goto done;
    }
  }
  if (u->len[F_PIN] && !crypto_pin_hash(u->value[F_PIN], job.pin_hash)) {
    blob_delete(c->srv->blobs, doc.blob_key);
    api_problem(c->r, 500, "could not protect the PIN");
    goto done;
  }

  snprintf(doc.name, sizeof doc.name, "%s", u->filename[0] ? u->filename : job.name);
  doc.number = 1;
  job.tenant_id = c->tenant.id;
  job.queue_id = q.id;
  job.owner_id = c->r->auth.user.id;
  snprintf(job.queue_name, sizeof job.queue_name, "%s", q.name);
  snprintf(job.owner_name, sizeof job.owner_name, "%s", c->r->auth.user.name);
  snprintf(job.origin_host, sizeof job.origin_host, "%s", c->r->peer);
  if (!job.attrs_json[0]) snprintf(job.attrs_json, sizeof job.attrs_json, "{}");
  /* its purpose (billing by purpose): checked, its defaults applied */
  char msg[200];
  purpose_result_t pr = purpose_admit(c->srv->store, c->tenant.id, job.owner_id,
                                      u->len[F_COPIES] > 0, &job, msg, sizeof msg);
  if (pr != PURPOSE_OK && pr != PURPOSE_NONE) {
    blob_delete(c->srv->blobs, doc.blob_key);
    api_problem_purpose(c, pr, msg);
    goto done;
  }
  job.state = job_state_when_closed(&q, NULL);
  job.pages = doc.pages;
  job.impressions = doc.pages * job.copies;
  job.num_documents = 1;

  switch (job_submit(c->srv, &c->tenant, &job, &doc, 1)) { /* deletes the blob on failure */
    case SUBMIT_OK:
      break;
    case SUBMIT_TOO_MANY_JOBS:
      api_problem(c->r, 429, "you have too many pending jobs (at most %d)",
                  intake_max_held_jobs(c->srv, &c->tenant));
      goto done;
    case SUBMIT_NO_SPACE:
      api_respond_disk_full(c);
      goto done;
    case SUBMIT_ERROR:
    default:
      api_problem(c->r, 500, "storage error");
      goto done;
  }

  log_event(LOG_INFO, c->r->id, "job submitted", "tenant", c->tenant.name, "job", LOG_INT(job.id),
            "job_number", LOG_INT(job.number), "queue", q.name, "user", c->r->auth.user.name,
            "state", job_state_name(job.state), "format", doc.format, "size", LOG_INT(doc.size),
            "pages", LOG_INT(doc.pages), "pin", job.pin_hash[0] ? "yes" : "no", (char *)NULL);
  char location[64];
  snprintf(location, sizeof location, "/api/v1/jobs/%lld", (long long)job.number);
  http_response_header(c->r, "Location", location);
  api_respond(c, 201, api_job_json(c, &job));
done:
  explicit_bzero(job.pin_hash, sizeof job.pin_hash);
}
