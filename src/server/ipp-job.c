/*
 * ipp-job.c: IPP job operations on a tenant queue: Print-Job,
 * Validate-Job, Create-Job, Send-Document, Close-Job, Get-Jobs,
 * Get-Job-Attributes, Cancel-Job, Cancel-My-Jobs, Hold-Job, Release-Job.
 *
 * Visibility rule: a job is visible to its owner and to the tenant's
 * admins only.  Anything else, and every job of another tenant or queue,
 * answers client-error-not-found exactly as a missing job would.
 */
#include <stdlib.h>
#include <string.h>

#include "ipp-private.h"
#include "job.h"
#include "log.h"

/* ---- shared steps ---- */

/* Fill the ownership fields of a new job from the caller. */
static void ipp_job_init(ipp_ctx_t *ctx, nimbus_job_t *job) {
  job->tenant_id = ctx->tenant.id;
  job->queue_id = ctx->queue.id;
  job->owner_id = ctx->user_id;
  snprintf(job->owner_name, sizeof job->owner_name, "%s", ctx->user_name);
  snprintf(job->origin_host, sizeof job->origin_host, "%s", ctx->r->peer);
  snprintf(job->queue_name, sizeof job->queue_name, "%s", ctx->queue.name);
  /* Submitted through a printer on behalf of its user (PROTOCOL.md 7.1). */
  job->origin_device_id = ctx->on_behalf ? ctx->device.id : 0;
}

/* Refuse a new job when the owner already has the most pending jobs. */
static bool ipp_check_pending_limit(ipp_ctx_t *ctx) {
  if (!ctx->user_id) return true;
  int pending = 0;
  if (store_job_count_pending_for_owner(ctx->srv->store, ctx->tenant.id, ctx->user_id, &pending) !=
      STORE_OK) {
    ipp_respond(ctx, IPP_STATUS_ERROR_INTERNAL, "The job store is not available.");
    return false;
  }
  int max = intake_max_held_jobs(ctx->srv, &ctx->tenant);
  if (pending >= max) {
    ipp_respond(ctx, IPP_STATUS_ERROR_TOO_MANY_JOBS,
                "You already have %d jobs waiting; release or cancel some first.", pending);
    return false;
  }
  return true;
}

static bool ipp_may_see(const ipp_ctx_t *ctx, const nimbus_job_t *job) {
  if (job->queue_id != ctx->queue.id) return false;
  if (ctx->is_admin || ctx->is_device) return true; /* devices: then ipp-infra.c's rules */
  if (ctx->user_id) return job->owner_id == ctx->user_id;
  /* anonymous caller on an anonymous queue: anonymous jobs of that name
   * sent from the same address (a deleted user's jobs also have no owner
   * id; the name alone must not open them) */
  return job->owner_id == 0 && strcmp(job->owner_name, ctx->user_name) == 0 &&
         strcmp(job->origin_host, ctx->r->peer) == 0;
}

/* Resolve the target job from job-id, job-uri or the request path. */
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
      store_job_get(ctx->srv->store, ctx->tenant.id, id, job) != STORE_OK ||
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
  ipp_job_attrs_add_brief(ctx, job);
  log_event(LOG_INFO, ctx->r->id, "job created", "tenant", ctx->tenant.name, "queue",
            ctx->queue.name, "job", LOG_INT(job->id), "user", job->owner_name, "pages",
            LOG_INT(job->pages), "state", job_state_name(job->state), (char *)NULL);
}

/* Insert a new job of the caller in `state` with its documents and answer
 * with its brief attributes, or with the failure's status.  The response
 * built by the attribute parse (status, unsupported group) is kept. */
static void ipp_submit_job(ipp_ctx_t *ctx, nimbus_job_t *job, nimbus_job_state_t state,
                           nimbus_document_t *docs, const store_inline_t *data, int ndocs) {
  ipp_job_init(ctx, job);
  job->state = state;
  switch (job_submit_data(ctx->srv, &ctx->tenant, job, docs, data, ndocs)) {
    case SUBMIT_OK:
      ipp_job_created(ctx, job);
      return;
    case SUBMIT_TOO_MANY_JOBS:
      ipp_respond(ctx, IPP_STATUS_ERROR_TOO_MANY_JOBS, "Too many jobs are waiting for you.");
      return;
    case SUBMIT_ERROR:
      ipp_respond(ctx, IPP_STATUS_ERROR_INTERNAL, "The job could not be stored.");
      return;
  }
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
                (long long)ctx->job.id);
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
  ipp_submit_job(ctx, &ctx->job, job_state_when_closed(&ctx->queue, ctx->job.hold_until), &doc,
                 &data, 1);
}

void ipp_op_validate_job(ipp_ctx_t *ctx) {
  nimbus_job_t job = {0};
  char fmt[NIMBUS_NAME_MAX], name[NIMBUS_TEXT_MAX];
  ipp_job_attrs_parse(ctx, &job, fmt, sizeof fmt, name, sizeof name);
}

void ipp_op_create_job(ipp_ctx_t *ctx) {
  nimbus_job_t job = {0};
  char fmt[NIMBUS_NAME_MAX], name[NIMBUS_TEXT_MAX];
  if (!ipp_job_attrs_parse(ctx, &job, fmt, sizeof fmt, name, sizeof name)) return;
  ipp_submit_job(ctx, &job, NIMBUS_JOB_RECEIVED, NULL, NULL, 0);
}

/* Close a job whose last document has arrived (Send-Document or
 * Close-Job); a queue that releases immediately releases it, unless the
 * job asked to be held (job-hold-until). */
static void ipp_close_job(ipp_ctx_t *ctx, nimbus_job_t *job) {
  store_t *st = ctx->srv->store;
  if (job->num_documents == 0) {
    job_apply(st, ctx->tenant.id, job->id, JOB_EVENT_CANCEL, "no documents", job);
    return;
  }
  if (job_apply(st, ctx->tenant.id, job->id, JOB_EVENT_CLOSE, ctx->user_name, job) == JOB_OK &&
      job_state_when_closed(&ctx->queue, job->hold_until) == NIMBUS_JOB_FETCHABLE)
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
                    (long long)job->id);
      else
        ipp_respond(ctx, IPP_STATUS_ERROR_INTERNAL, "The document could not be stored.");
      return;
    }
    store_job_get(ctx->srv->store, ctx->tenant.id, job->id, job);
  }
  if (ctx->last_document) ipp_close_job(ctx, job);
  ipp_job_attrs_add_brief(ctx, job);
}

void ipp_op_close_job(ipp_ctx_t *ctx) {
  nimbus_job_t job;
  if (!ipp_target_job(ctx, &job)) return;
  if (job.state != NIMBUS_JOB_RECEIVED) {
    ipp_respond(ctx, IPP_STATUS_ERROR_NOT_POSSIBLE, "Job #%lld is already closed.",
                (long long)job.id);
    return;
  }
  ipp_respond(ctx, IPP_STATUS_OK, NULL);
  ipp_close_job(ctx, &job);
  ipp_job_attrs_add_brief(ctx, &job);
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
      ipp_respond(ctx, IPP_STATUS_ERROR_NOT_FOUND, "Job #%lld does not exist.", (long long)job.id);
      return;
    case JOB_NOT_POSSIBLE:
      ipp_respond(ctx, IPP_STATUS_ERROR_NOT_POSSIBLE, "Job #%lld cannot be %s: it is %s.",
                  (long long)job.id, verb, job_state_name(job.state));
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
void ipp_op_release_job(ipp_ctx_t *ctx) {
  ipp_job_event(ctx, JOB_EVENT_RELEASE, "released");
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
