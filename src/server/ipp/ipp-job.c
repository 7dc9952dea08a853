/*
 * ipp-job.c: IPP job operations on a tenant queue: Print-Job,
 * Validate-Job, Create-Job, Send-Document, Close-Job, Get-Jobs,
 * Get-Job-Attributes, Cancel-Job, Cancel-My-Jobs, Hold-Job, Release-Job.
 *
 * Visibility rule: a job is visible to its owner and to the tenant's
 * admins only.  Anything else, and every job of another tenant or queue,
 * answers client-error-not-found exactly as a missing job would.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "diskspace.h"
#include "ipp-private.h"
#include "job.h"
#include "log.h"
#include "purpose.h"
#include "release.h"

#define IPP_RELEASE_PIN_MAX 255 /* job-password-supported */

/* ---- shared steps ---- */

/* Fill the ownership fields of a new job from the caller. */
static void ipp_job_init(ipp_ctx_t *ctx, nimbus_job_t *job) {
  job->tenant_id = ctx->tenant.id;
  job->queue_id = ctx->queue.id;
  job->owner_id = ctx->user_id ? ctx->user_id : ctx->anon_owner_id;
  snprintf(job->owner_name, sizeof job->owner_name, "%s", ctx->user_name);
  snprintf(job->origin_host, sizeof job->origin_host, "%s", ctx->r->peer);
  snprintf(job->queue_name, sizeof job->queue_name, "%s", ctx->queue.name);
  /* Submitted through a printer on behalf of its user (PROTOCOL.md 7.1). */
  job->origin_device_id = ctx->on_behalf ? ctx->device.id : 0;
}

/* Out of disk space (spool or store): server-error-busy, which clients
 * retry, with the reason and an HTTP Retry-After for those that read it. */
static void ipp_respond_disk_full(ipp_ctx_t *ctx) {
  char after[16];
  snprintf(after, sizeof after, "%d", DISK_FULL_RETRY_AFTER);
  http_response_header(ctx->r, "Retry-After", after);
  ipp_respond(ctx, IPP_STATUS_ERROR_BUSY, "The server is out of disk space; try again later.");
}

/*
 * Answer a refusal by the pending-jobs limits.  Through a printer both
 * limits get one answer, naming neither the user nor a count: whoever is
 * on the printer's LAN may send any name, and only a real user can reach
 * the user's limit, so a different answer would tell that the name is a
 * user (PROTOCOL.md 7.1).
 */
static void ipp_respond_limit(ipp_ctx_t *ctx, submit_status_t s) {
  switch (s) {
    case SUBMIT_OK:
      return;
    case SUBMIT_PRINTER_BUSY:
    case SUBMIT_TOO_MANY_JOBS:
      if (ctx->on_behalf || s == SUBMIT_PRINTER_BUSY)
        ipp_respond(ctx, IPP_STATUS_ERROR_BUSY,
                    "This printer has too many jobs waiting to be released; release or cancel "
                    "some, or try again later.");
      else
        ipp_respond(ctx, IPP_STATUS_ERROR_TOO_MANY_JOBS,
                    "You already have %d jobs waiting; release or cancel some first.",
                    intake_max_held_jobs(ctx->srv, &ctx->tenant));
      return;
    case SUBMIT_NO_SPACE:
      ipp_respond_disk_full(ctx);
      return;
    case SUBMIT_ERROR:
      ipp_respond(ctx, IPP_STATUS_ERROR_INTERNAL, "The job store is not available.");
      return;
  }
}

/* Refuse a new job when its printer or its owner already has the most
 * pending jobs (intake_check_pending). */
static bool ipp_check_pending_limit(ipp_ctx_t *ctx) {
  nimbus_job_t probe = {.owner_id = ctx->user_id ? ctx->user_id : ctx->anon_owner_id,
                        .origin_device_id = ctx->on_behalf ? ctx->device.id : 0};
  submit_status_t s = intake_check_pending(ctx->srv, &ctx->tenant, &probe);
  ipp_respond_limit(ctx, s);
  return s == SUBMIT_OK;
}

/*
 * The brief attributes of a job just created or closed.  A job for a name
 * that is no user (ctx->behalf_unknown) stays held; it is shown in the
 * state a user's job would have taken, so that the answer is the same
 * whether or not the name is a user (PROTOCOL.md 7.1).
 */
static void ipp_job_add_brief_accepted(ipp_ctx_t *ctx, const nimbus_job_t *job) {
  nimbus_job_t *shown = malloc(sizeof *shown);
  if (!shown) {
    ipp_job_attrs_add_brief(ctx, job);
    return;
  }
  *shown = *job;
  if (ctx->behalf_unknown && shown->state == NIMBUS_JOB_HELD)
    shown->state = job_state_when_closed(&ctx->queue, shown->hold_until);
  ipp_job_attrs_add_brief(ctx, shown);
  free(shown);
}

/* Does the job concern device d: submitted through it, released to it,
 * fetched by it, or offered to it (fetchable by any device of its queue,
 * which Fetch-Job shows anyway)? */
static bool ipp_job_concerns_device(const nimbus_job_t *job, nimbus_id_t d) {
  return job->origin_device_id == d || job->target_device_id == d || job->device_id == d ||
         (job->state == NIMBUS_JOB_FETCHABLE && !job->target_device_id);
}

static bool ipp_may_see(const ipp_ctx_t *ctx, const nimbus_job_t *job) {
  if (job->queue_id != ctx->queue.id) return false;
  if (ctx->is_device) return true; /* INFRA operations: then ipp-infra.c's rules */
  if (ctx->on_behalf) {            /* a printer's credential: only jobs that concern it... */
    if (!ipp_job_concerns_device(job, ctx->device.id)) return false;
    if (ctx->user_id) return job->owner_id == ctx->user_id; /* ...of the user it acts for */
    if (ctx->behalf_unknown) /* a name that is no user: that name's jobs through this printer */
      return job->owner_id == 0 && strcmp(job->owner_name, ctx->user_name) == 0 &&
             job->origin_device_id == ctx->device.id;
    return true; /* the printer asking for itself (Get-Job-Attributes without a name) */
  }
  if (ctx->is_admin) return true;
  if (ctx->user_id) return job->owner_id == ctx->user_id;
  /* anonymous caller on an anonymous queue: anonymous jobs of that name
   * sent from the same address (a deleted user's jobs also have no owner
   * id; the name alone must not open them), or those it sent for the user
   * its name designates (anon_owner_id, ipp_anonymous_owner), never a job
   * that came through a printer (a name that is no user: held until it
   * expires) */
  return job->owner_id == ctx->anon_owner_id && job->origin_device_id == 0 &&
         strcmp(job->owner_name, ctx->user_name) == 0 &&
         strcmp(job->origin_host, ctx->r->peer) == 0;
}

/* Resolve the target job from job-id, job-uri or the request path: each
 * names the job's number in the queue's tenant, never a global id. */
bool ipp_target_job(ipp_ctx_t *ctx, nimbus_job_t *job) {
  long long id = ctx->path_job_id;
  ipp_attribute_t *a = ippFindAttribute(ctx->request, "job-id", IPP_TAG_ZERO);
  if (a) {
    if (ippGetValueTag(a) != IPP_TAG_INTEGER || ippGetGroupTag(a) != IPP_TAG_OPERATION) {
      ipp_respond(ctx, IPP_STATUS_ERROR_BAD_REQUEST, "job-id must be an integer.");
      return false;
    }
    id = ippGetInteger(a, 0);
  } else if ((a = ippFindAttribute(ctx->request, "job-uri", IPP_TAG_URI)) != NULL) {
    const char *uri = ippGetString(a, 0, NULL);
    const char *slash = uri ? strrchr(uri, '/') : NULL;
    char *end;
    id = slash ? strtoll(slash + 1, &end, 10) : 0;
    if (!slash || *end) id = 0;
  } else if (!id) {
    ipp_respond(ctx, IPP_STATUS_ERROR_BAD_REQUEST, "Missing job-id.");
    return false;
  }
  if (id <= 0 || id > 0x7fffffff ||
      store_job_get_by_number(ctx->srv->store, ctx->tenant.id, id, job) != STORE_OK ||
      !ipp_may_see(ctx, job)) {
    ipp_respond(ctx, IPP_STATUS_ERROR_NOT_FOUND, "Job #%lld does not exist.", id);
    return false;
  }
  return true;
}

/* Map an intake failure to its IPP status. */
static ipp_status_t ipp_intake_status(intake_status_t s) {
  switch (s) {
    case INTAKE_OK:
      return IPP_STATUS_OK;
    case INTAKE_TOO_LARGE:
      return IPP_STATUS_ERROR_REQUEST_ENTITY;
    case INTAKE_IO_ERROR:
      return IPP_STATUS_ERROR_INTERNAL;
    case INTAKE_FORMAT_UNSUPPORTED:
      return IPP_STATUS_ERROR_DOCUMENT_FORMAT_NOT_SUPPORTED;
    case INTAKE_DOCUMENT_INVALID:
      return IPP_STATUS_ERROR_DOCUMENT_FORMAT_ERROR;
    case INTAKE_EMPTY:
      return IPP_STATUS_ERROR_BAD_REQUEST;
    case INTAKE_NO_SPACE:
      return IPP_STATUS_ERROR_BUSY; /* retryable: ipp_respond_disk_full() */
  }
  return IPP_STATUS_ERROR_INTERNAL;
}

/* Finish the spooled document into doc; on failure the response is set
 * (keeping the unsupported-attributes group built at admission). */
static bool ipp_finish_document(ipp_ctx_t *ctx, nimbus_document_t *doc) {
  char err[512];
  intake_t *in = ctx->intake;
  ctx->intake = NULL;
  if (!in) {
    ipp_respond(ctx, IPP_STATUS_ERROR_INTERNAL, "No document was received.");
    return false;
  }
  intake_status_t s = intake_finish(in, doc, err, sizeof err);
  if (s == INTAKE_NO_SPACE) {
    ipp_respond_disk_full(ctx);
    return false;
  }
  if (s != INTAKE_OK) {
    ipp_respond(ctx, ipp_intake_status(s), "%s", err);
    if (s == INTAKE_TOO_LARGE) ctx->r->resp_close = true;
    return false;
  }
  snprintf(doc->name, sizeof doc->name, "%s", ctx->doc_name);
  return true;
}

/* Add status-message for a created job and log it. */
static void ipp_job_created(ipp_ctx_t *ctx, const nimbus_job_t *job) {
  ipp_job_add_brief_accepted(ctx, job);
  log_event(LOG_INFO, ctx->r->id, "job created", "tenant", ctx->tenant.name, "queue",
            ctx->queue.name, "job", LOG_INT(job->id), "job_number", LOG_INT(job->number), "user",
            job->owner_name, "pages", LOG_INT(job->pages), "state", job_state_name(job->state),
            (char *)NULL);
}

/* Insert a new job of the caller with its documents, closed (Print-Job)
 * or not (Create-Job), and answer with its brief attributes, or with the
 * failure's status.  The response built by the attribute parse (status,
 * unsupported group) is kept. */
static void ipp_submit_job(ipp_ctx_t *ctx, nimbus_job_t *job, bool closed, nimbus_document_t *docs,
                           const store_inline_t *data, int ndocs) {
  ipp_job_init(ctx, job);
  job->state = closed ? job_state_when_closed_for(&ctx->queue, job) : NIMBUS_JOB_RECEIVED;
  submit_status_t s = job_submit_data(ctx->srv, &ctx->tenant, job, docs, data, ndocs);
  if (s == SUBMIT_OK)
    ipp_job_created(ctx, job);
  else if (s == SUBMIT_ERROR)
    ipp_respond(ctx, IPP_STATUS_ERROR_INTERNAL, "The job could not be stored.");
  else
    ipp_respond_limit(ctx, s);
}

/* The IPP status for a purpose refusal (PWG 5100.7 / RFC 8011 account
 * status codes). */
static ipp_status_t ipp_purpose_status(purpose_result_t r) {
  switch (r) {
    case PURPOSE_REQUIRED:
      return IPP_STATUS_ERROR_ACCOUNT_INFO_NEEDED;
    case PURPOSE_ACCOUNT_CLOSED:
      return IPP_STATUS_ERROR_ACCOUNT_CLOSED;
    case PURPOSE_LIMIT:
      return IPP_STATUS_ERROR_ACCOUNT_LIMIT_REACHED;
    case PURPOSE_NOT_ALLOWED:
    case PURPOSE_PRINTER_REFUSED:
    case PURPOSE_NO_METHOD:
      return IPP_STATUS_ERROR_ACCOUNT_AUTHORIZATION_FAILED;
    default:
      return IPP_STATUS_ERROR_INTERNAL;
  }
}

/*
 * A new job's purpose (billing by purpose, purpose_admit): named by
 * job-account-id (or CUPS's job-billing), else the user's default; its
 * defaults fill the job's unset settings.  A job through a printer for a
 * name that is no user is not checked: it is held until it expires, and
 * a refusal would tell that the name is no user (PROTOCOL.md 7.1).
 */
static bool ipp_admit_purpose(ipp_ctx_t *ctx, nimbus_job_t *job) {
  if (ctx->behalf_unknown) return true;
  char msg[200];
  bool copies_given = ippFindAttribute(ctx->request, "copies", IPP_TAG_ZERO) != NULL;
  purpose_result_t r = purpose_admit(ctx->srv->store, ctx->tenant.id, ctx->user_id, copies_given,
                                     job, msg, sizeof msg);
  if (r == PURPOSE_OK || r == PURPOSE_NONE) return true;
  if (r == PURPOSE_ERROR && !msg[0]) snprintf(msg, sizeof msg, "the purpose cannot be checked now");
  ipp_respond(ctx, ipp_purpose_status(r), "%s", msg);
  return false;
}

/* ---- admission for operations that carry a document ---- */

static bool ipp_send_document_precheck(ipp_ctx_t *ctx) {
  if (!ipp_target_job(ctx, &ctx->job)) return false;
  ipp_attribute_t *last = ippFindAttribute(ctx->request, "last-document", IPP_TAG_ZERO);
  if (!last || ippGetValueTag(last) != IPP_TAG_BOOLEAN) {
    ipp_respond(ctx, IPP_STATUS_ERROR_BAD_REQUEST, "Missing or bad last-document.");
    return false;
  }
  ctx->last_document = ippGetBoolean(last, 0);
  if (ctx->job.state != NIMBUS_JOB_RECEIVED) {
    ipp_respond(ctx, IPP_STATUS_ERROR_NOT_POSSIBLE, "Job #%lld is closed to new documents.",
                (long long)ctx->job.number);
    return false;
  }
  /* Reuse the operation-attribute checks (document-format, compression,
   * document-name) on a scratch job: template attributes do not apply. */
  nimbus_job_t scratch = {0};
  if (!ipp_job_attrs_parse(ctx, &scratch, ctx->doc_format, sizeof ctx->doc_format, ctx->doc_name,
                           sizeof ctx->doc_name))
    return false;
  return true;
}

bool ipp_job_precheck_document(ipp_ctx_t *ctx) {
  if (ctx->op == IPP_OP_SEND_DOCUMENT) return ipp_send_document_precheck(ctx);
  memset(&ctx->job, 0, sizeof ctx->job);
  if (!ipp_job_attrs_parse(ctx, &ctx->job, ctx->doc_format, sizeof ctx->doc_format, ctx->doc_name,
                           sizeof ctx->doc_name))
    return false;
  if (!ipp_admit_purpose(ctx, &ctx->job)) return false;
  /* Refuse before a document is spooled; an inline one is submitted right
   * away and job_submit() checks the same limit. */
  if (!ctx->document_inline && !ipp_check_pending_limit(ctx)) return false;
  return true; /* the parse's response (status, unsupported group) is kept */
}

/* ---- operations ---- */

void ipp_op_print_job(ipp_ctx_t *ctx) {
  nimbus_document_t doc = {0};
  store_inline_t data = {NULL, 0};
  if (ctx->document_inline) {
    char err[512];
    data.data = ctx->hdr + ctx->hdr_used;
    data.len = ctx->hdr_len - ctx->hdr_used;
    intake_status_t s =
        intake_check_memory(ctx->srv, intake_max_document_size(ctx->srv, &ctx->tenant),
                            ctx->doc_format, data.data, data.len, &doc, err, sizeof err);
    if (s != INTAKE_OK) {
      ipp_respond(ctx, ipp_intake_status(s), "%s", err);
      return;
    }
    snprintf(doc.name, sizeof doc.name, "%s", ctx->doc_name);
  } else if (!ipp_finish_document(ctx, &doc)) {
    return;
  }
  ipp_submit_job(ctx, &ctx->job, true, &doc, &data, 1);
}

void ipp_op_validate_job(ipp_ctx_t *ctx) {
  nimbus_job_t job = {0};
  char fmt[NIMBUS_NAME_MAX], name[NIMBUS_TEXT_MAX];
  if (ipp_job_attrs_parse(ctx, &job, fmt, sizeof fmt, name, sizeof name))
    ipp_admit_purpose(ctx, &job);
}

void ipp_op_create_job(ipp_ctx_t *ctx) {
  nimbus_job_t job = {0};
  char fmt[NIMBUS_NAME_MAX], name[NIMBUS_TEXT_MAX];
  if (!ipp_job_attrs_parse(ctx, &job, fmt, sizeof fmt, name, sizeof name) ||
      !ipp_admit_purpose(ctx, &job))
    return;
  ipp_submit_job(ctx, &job, false, NULL, NULL, 0);
}

/* Close a job whose last document has arrived (Send-Document or
 * Close-Job); a queue that releases immediately releases it, unless the
 * job asked to be held (job-hold-until) or is a job for a name that is no
 * user (job_state_when_closed_for). */
static void ipp_close_job(ipp_ctx_t *ctx, nimbus_job_t *job) {
  store_t *st = ctx->srv->store;
  if (job->num_documents == 0) {
    job_apply(st, ctx->tenant.id, job->id, JOB_EVENT_CANCEL, "no documents", job);
    return;
  }
  if (job_apply(st, ctx->tenant.id, job->id, JOB_EVENT_CLOSE, ctx->user_name, job) == JOB_OK &&
      job_state_when_closed_for(&ctx->queue, job) == NIMBUS_JOB_FETCHABLE)
    job_apply(st, ctx->tenant.id, job->id, JOB_EVENT_RELEASE, "release-immediately", job);
}

void ipp_op_send_document(ipp_ctx_t *ctx) {
  nimbus_job_t *job = &ctx->job;
  if (ctx->intake && intake_size(ctx->intake) == 0 && ctx->last_document) {
    /* "last-document" with no data only closes the job */
    intake_abort(ctx->intake);
    ctx->intake = NULL;
  } else {
    nimbus_document_t doc = {0};
    if (!ipp_finish_document(ctx, &doc)) return;
    store_status_t s =
        store_document_add(ctx->srv->store, ctx->tenant.id, job->id, &doc, false, NIMBUS_JOB_HELD);
    if (s != STORE_OK) {
      blob_delete(ctx->srv->blobs, doc.blob_key);
      if (s == STORE_CONFLICT)
        ipp_respond(ctx, IPP_STATUS_ERROR_NOT_POSSIBLE, "Job #%lld is closed to new documents.",
                    (long long)job->number);
      else if (s == STORE_FULL)
        ipp_respond_disk_full(ctx);
      else
        ipp_respond(ctx, IPP_STATUS_ERROR_INTERNAL, "The document could not be stored.");
      return;
    }
    store_job_get(ctx->srv->store, ctx->tenant.id, job->id, job);
  }
  if (ctx->last_document) ipp_close_job(ctx, job);
  ipp_job_add_brief_accepted(ctx, job);
}

void ipp_op_close_job(ipp_ctx_t *ctx) {
  nimbus_job_t job;
  if (!ipp_target_job(ctx, &job)) return;
  if (job.state != NIMBUS_JOB_RECEIVED) {
    ipp_respond(ctx, IPP_STATUS_ERROR_NOT_POSSIBLE, "Job #%lld is already closed.",
                (long long)job.number);
    return;
  }
  ipp_respond(ctx, IPP_STATUS_OK, NULL);
  ipp_close_job(ctx, &job);
  ipp_job_add_brief_accepted(ctx, &job);
}

/* Jobs collected by a store walk (callbacks may not call the store, so
 * rendering happens after the walk). */
bool ipp_collect_job(const nimbus_job_t *job, void *arg) {
  ipp_job_vec_t *v = arg;
  if (v->n == v->cap) {
    int ncap = v->cap ? v->cap * 2 : 16;
    nimbus_job_t *nj = realloc(v->jobs, (size_t)ncap * sizeof *nj);
    if (!nj) return false;
    v->jobs = nj;
    v->cap = ncap;
  }
  v->jobs[v->n++] = *job;
  return true;
}

int ipp_strcmp(void *a, void *b, void *data) {
  (void)data;
  return strcmp(a, b);
}

void ipp_op_get_jobs(ipp_ctx_t *ctx) {
  ipp_t *req = ctx->request;
  store_job_filter_t f = {.tenant_id = ctx->tenant.id, .queue_id = ctx->queue.id};
  ipp_attribute_t *a;
  ipp_respond(ctx, IPP_STATUS_OK, NULL);

  f.which = STORE_WHICH_NOT_COMPLETED;
  if ((a = ippFindAttribute(req, "which-jobs", IPP_TAG_ZERO)) != NULL) {
    const char *v = ippGetString(a, 0, NULL);
    if (v && !strcmp(v, "completed")) {
      f.which = STORE_WHICH_COMPLETED;
      f.newest_first = true;
    } else if (v && !strcmp(v, "all")) {
      f.which = STORE_WHICH_ALL;
    } else if (v && !strcmp(v, "pending-held")) {
      f.which = STORE_WHICH_HELD;
    } else if (!v || strcmp(v, "not-completed") != 0) {
      ipp_respond(ctx, IPP_STATUS_ERROR_ATTRIBUTES_OR_VALUES, "Unsupported which-jobs value.");
      ipp_unsupported(ctx, a);
      return;
    }
  }
  bool my_jobs = (a = ippFindAttribute(req, "my-jobs", IPP_TAG_BOOLEAN)) && ippGetBoolean(a, 0);
  if (my_jobs || !ctx->is_admin) f.owner_id = ctx->user_id;
  int limit = 0;
  if ((a = ippFindAttribute(req, "limit", IPP_TAG_ZERO)) != NULL) {
    if (ippGetValueTag(a) != IPP_TAG_INTEGER || ippGetInteger(a, 0) < 1) {
      ipp_respond(ctx, IPP_STATUS_ERROR_BAD_REQUEST, "limit must be a positive integer.");
      return;
    }
    limit = ippGetInteger(a, 0);
  }
  if ((a = ippFindAttribute(req, "first-index", IPP_TAG_INTEGER)) != NULL &&
      ippGetInteger(a, 0) > 1)
    f.offset = ippGetInteger(a, 0) - 1;
  f.limit = limit;

  cups_array_t *ra;
  if (ippFindAttribute(req, "requested-attributes", IPP_TAG_ZERO)) {
    ra = ippCreateRequestedArray(req);
  } else {
    ra = cupsArrayNew(ipp_strcmp, NULL);
    cupsArrayAdd(ra, "job-id");
    cupsArrayAdd(ra, "job-uri");
  }
  if (!ctx->user_id && !ctx->is_admin) {
    /* anonymous: nothing is listed (owner 0 would match every anonymous job) */
    cupsArrayDelete(ra);
    return;
  }
  if (f.limit == 0 || f.limit > IPP_GET_JOBS_MAX) f.limit = IPP_GET_JOBS_MAX;
  ipp_job_vec_t v = {0};
  if (store_job_list(ctx->srv->store, &f, ipp_collect_job, &v, NULL) != STORE_OK) {
    ipp_respond(ctx, IPP_STATUS_ERROR_INTERNAL, "The job store is not available.");
  } else {
    for (int i = 0; i < v.n; i++) {
      if (i > 0) ippAddSeparator(ctx->response);
      ipp_job_attrs_add(ctx, &v.jobs[i], ra);
    }
  }
  free(v.jobs);
  cupsArrayDelete(ra);
}

void ipp_op_get_job_attributes(ipp_ctx_t *ctx) {
  nimbus_job_t job;
  if (!ipp_target_job(ctx, &job)) return;
  ipp_respond(ctx, IPP_STATUS_OK, NULL);
  cups_array_t *ra = ippCreateRequestedArray(ctx->request);
  ipp_job_attrs_add(ctx, &job, ra);
  cupsArrayDelete(ra);
}

/* Apply ev to the target job and answer. */
static void ipp_job_event(ipp_ctx_t *ctx, job_event_t ev, const char *verb) {
  nimbus_job_t job;
  if (!ipp_target_job(ctx, &job)) return;
  if (ev == JOB_EVENT_HOLD && job.state == NIMBUS_JOB_HELD) {
    ipp_respond(ctx, IPP_STATUS_OK, NULL); /* already held */
    return;
  }
  switch (job_apply(ctx->srv->store, ctx->tenant.id, job.id, ev, ctx->user_name, &job)) {
    case JOB_OK:
      ipp_respond(ctx, IPP_STATUS_OK, NULL);
      log_event(LOG_INFO, ctx->r->id, "job state changed", "tenant", ctx->tenant.name, "job",
                LOG_INT(job.id), "event", verb, "user", ctx->user_name, "state",
                job_state_name(job.state), (char *)NULL);
      return;
    case JOB_NOT_FOUND:
      ipp_respond(ctx, IPP_STATUS_ERROR_NOT_FOUND, "Job #%lld does not exist.",
                  (long long)job.number);
      return;
    case JOB_NOT_POSSIBLE:
      ipp_respond(ctx, IPP_STATUS_ERROR_NOT_POSSIBLE, "Job #%lld cannot be %s: it is %s.",
                  (long long)job.number, verb, job_state_name(job.state));
      return;
    case JOB_ERROR:
      ipp_respond(ctx, IPP_STATUS_ERROR_INTERNAL, "The job store is not available.");
      return;
  }
}

void ipp_op_cancel_job(ipp_ctx_t *ctx) {
  ipp_job_event(ctx, JOB_EVENT_CANCEL, "canceled");
}
void ipp_op_hold_job(ipp_ctx_t *ctx) {
  ipp_job_event(ctx, JOB_EVENT_HOLD, "held");
}
/*
 * The PIN a Release-Job carries: the `job-password` operation attribute,
 * encoded as on Print-Job (job-password-encryption `none`: the clear PIN;
 * `sha2-256`: its 32-octet SHA-256).  Copied into clear (NUL-terminated)
 * or digest, *have_digest telling which; absent leaves both empty.  A
 * malformed one answers as Print-Job does and returns false.
 */
static bool ipp_release_pin(ipp_ctx_t *ctx, char clear[IPP_RELEASE_PIN_MAX + 1],
                            unsigned char digest[32], bool *have_digest) {
  clear[0] = '\0';
  *have_digest = false;
  ipp_attribute_t *a = ippFindAttribute(ctx->request, "job-password", IPP_TAG_ZERO);
  if (!a) return true;
  ipp_attribute_t *enc = ippFindAttribute(ctx->request, "job-password-encryption", IPP_TAG_ZERO);
  const char *how = enc ? ippGetString(enc, 0, NULL) : "none";
  int len = 0;
  const void *pin = ippGetOctetString(a, 0, &len);
  if (!how || (strcmp(how, "none") != 0 && strcmp(how, "sha2-256") != 0)) {
    ipp_respond(ctx, IPP_STATUS_ERROR_ATTRIBUTES_OR_VALUES,
                "job-password-encryption must be none or sha2-256.");
    ipp_unsupported(ctx, enc);
    return false;
  }
  if (ippGetGroupTag(a) != IPP_TAG_OPERATION || ippGetValueTag(a) != IPP_TAG_STRING || !pin ||
      len < 1 || len > IPP_RELEASE_PIN_MAX) {
    ipp_respond(ctx, IPP_STATUS_ERROR_REQUEST_VALUE, "job-password must be 4 to 255 octets.");
    return false;
  }
  if (strcmp(how, "sha2-256") == 0) {
    if (len != 32) {
      ipp_respond(ctx, IPP_STATUS_ERROR_REQUEST_VALUE,
                  "A sha2-256 job-password is the 32-octet digest of the PIN.");
      return false;
    }
    memcpy(digest, pin, 32);
    *have_digest = true;
    return true;
  }
  if (memchr(pin, '\0', (size_t)len)) {
    ipp_respond(ctx, IPP_STATUS_ERROR_BAD_REQUEST, "job-password is not usable.");
    return false;
  }
  memcpy(clear, pin, (size_t)len);
  clear[len] = '\0';
  return true;
}

/*
 * Release-Job goes through the one release pipeline (release.h), as the
 * REST release and a printer's panel do: a job with a PIN needs it in
 * `job-password` (counted, locked, audited), and the job goes to the
 * printers its queue's release_scope names.  There is no PIN override
 * over IPP (REST and nimbusctl have the admin's explicit one).
 */
void ipp_op_release_job(ipp_ctx_t *ctx) {
  nimbus_job_t job = {0};
  release_outcome_t out = {0};
  char clear[IPP_RELEASE_PIN_MAX + 1], actor[2 * NIMBUS_NAME_MAX + 2], when[32];
  unsigned char digest[32];
  bool have_digest = false;
  if (!ipp_release_pin(ctx, clear, digest, &have_digest) || !ipp_target_job(ctx, &job)) goto done;
  if (job.state != NIMBUS_JOB_HELD) {
    ipp_respond(ctx, IPP_STATUS_ERROR_NOT_POSSIBLE, "Job #%lld cannot be released: it is %s.",
                (long long)job.number, job_state_name(job.state));
    goto done;
  }
  snprintf(actor, sizeof actor, "%s@%s", ctx->user_name, ctx->tenant.name);
  release_request_t req = {.pin = clear,
                           .pin_sha256 = have_digest ? digest : NULL,
                           .actor = actor,
                           .request_id = ctx->r->id};
  switch (release_job(ctx->srv, &job, &req, &out)) {
    case RELEASE_OK:
      ipp_respond(ctx, IPP_STATUS_OK, NULL);
      break;
    case RELEASE_PAYMENT_STARTED:
      /* released into awaiting-payment: it prints once paid (job-state
       * stays pending-held until then) */
      ipp_respond(ctx, IPP_STATUS_OK, "Job #%lld prints once paid: %s", (long long)job.number,
                  out.payment.payment_url[0] ? out.payment.payment_url : "see the printer's panel");
      break;
    case RELEASE_PAYMENT_REFUSED:
      ipp_respond(ctx, IPP_STATUS_ERROR_NOT_POSSIBLE, "Job #%lld must be paid first: %s",
                  (long long)job.number, out.message);
      break;
    case RELEASE_PURPOSE_REFUSED:
      ipp_respond(ctx, ipp_purpose_status(out.purpose_why), "Job #%lld cannot be released: %s",
                  (long long)job.number, out.message);
      break;
    case RELEASE_NOT_FOUND:
      ipp_respond(ctx, IPP_STATUS_ERROR_NOT_FOUND, "Job #%lld does not exist.",
                  (long long)job.number);
      break;
    case RELEASE_NOT_HELD:
      ipp_respond(ctx, IPP_STATUS_ERROR_NOT_POSSIBLE, "Job #%lld cannot be released: it is %s.",
                  (long long)job.number, "no longer held");
      break;
    case RELEASE_PIN_MISSING:
      ipp_respond(ctx, IPP_STATUS_ERROR_NOT_AUTHORIZED,
                  "Job #%lld needs its PIN: send it as job-password.", (long long)job.number);
      break;
    case RELEASE_PIN_WRONG:
      ipp_respond(ctx, IPP_STATUS_ERROR_NOT_AUTHORIZED,
                  "Wrong job-password for job #%lld; %d attempts left.", (long long)job.number,
                  out.attempts_left);
      break;
    case RELEASE_PIN_LOCKED: {
      struct tm tm;
      time_t t = (time_t)out.locked_until;
      if (!gmtime_r(&t, &tm) || !strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(when, sizeof when, "later");
      ipp_respond(ctx, IPP_STATUS_ERROR_FORBIDDEN,
                  "Too many wrong PINs: job #%lld is locked until %s.", (long long)job.number,
                  when);
      break;
    }
    case RELEASE_ERROR:
    default:
      ipp_respond(ctx, IPP_STATUS_ERROR_INTERNAL, "The job could not be released.");
      break;
  }
done:
  sodium_memzero(clear, sizeof clear);
  sodium_memzero(digest, sizeof digest);
  sodium_memzero(job.pin_hash, sizeof job.pin_hash);
  sodium_memzero(out.job.pin_hash, sizeof out.job.pin_hash);
}

void ipp_op_cancel_my_jobs(ipp_ctx_t *ctx) {
  store_job_filter_t f = {.tenant_id = ctx->tenant.id,
                          .queue_id = ctx->queue.id,
                          .owner_id = ctx->user_id,
                          .which = STORE_WHICH_NOT_COMPLETED,
                          .limit = IPP_GET_JOBS_MAX};
  ipp_job_vec_t v = {0};
  if (store_job_list(ctx->srv->store, &f, ipp_collect_job, &v, NULL) != STORE_OK) {
    ipp_respond(ctx, IPP_STATUS_ERROR_INTERNAL, "The job store is not available.");
    free(v.jobs);
    return;
  }
  for (int i = 0; i < v.n; i++)
    job_apply(ctx->srv->store, ctx->tenant.id, v.jobs[i].id, JOB_EVENT_CANCEL, ctx->user_name,
              NULL);
  ipp_respond(ctx, IPP_STATUS_OK, NULL);
  free(v.jobs);
}
