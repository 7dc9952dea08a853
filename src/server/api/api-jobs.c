/*
 * api-jobs.c: reading and acting on jobs through /api/v1/jobs (the upload,
 * POST /jobs, is in api-jobs-upload.c).
 *
 *   GET  /jobs?state=held|not-completed|completed|all|fetchable
 *              &queue=NAME &user=NAME &limit=N &offset=N
 *        → {jobs:[job...], total, next_offset (null at the end)}
 *        state defaults to not-completed, limit to 50 (at most 1000),
 *        oldest first; plain users see only their own jobs (user= ignored)
 *   GET  /jobs/{id}           → job
 *   POST /jobs/{id}/cancel    → job; 409 once it is terminal
 *   DELETE /jobs/{id}         → 204: cancels the job if it is not finished
 *                             (job_apply, as cancel) and deletes its documents
 *                             now (retention_purge); the record stays;
 *                             audited (job.deleted); again: 204
 *   POST /jobs/{id}/unlock    admins → job: ends a wrong-PIN lock and resets
 *                             the count (audited job.pin-unlock); 409 when
 *                             the job is not locked
 *   POST /jobs/{id}/release   {pin?, override?} → job; 409 when not held; a
 *                             job with a PIN needs it: 403 "wrong PIN"
 *                             otherwise; override:true (tenant admins
 *                             only, else 403) releases without the PIN,
 *                             audited (job.pin-override) and in the event
 *
 * A plain user's view is its own jobs: another user's job is 404, as is
 * another tenant's.  State changes go through job_apply() only.
 *
 * Releasing goes through the release pipeline (release.h), as at a
 * printer's panel and over IPP: wrong PINs are counted in the store per
 * job whichever way the PIN is tried; --pin-max-attempts within
 * --pin-lockout seconds lock the job, answered 429 here until the lock
 * ends (override or not).  Every attempt is audited.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api-private.h"
#include "device-settings.h"
#include "charge.h"
#include "job.h"
#include "log.h"
#include "payment-flow.h"
#include "release.h"
#include "retention.h"

#define API_JOBS_LIMIT_DEFAULT 50
#define API_JOBS_LIMIT_MAX 1000
#define API_PIN_MAX 255

/* ---- listing ---- */

typedef struct {
  const char *tenant_name;
  json_t *arr;
  nimbus_id_t ids[API_JOBS_LIMIT_MAX];    /* internal id of arr[i], for its documents */
  nimbus_id_t owners[API_JOBS_LIMIT_MAX]; /* its owner, for its purpose */
  nimbus_id_t origins[API_JOBS_LIMIT_MAX]; /* its origin printer, for its origin */
  bool failed;                         /* out of memory */
} job_list_t;

/* Each listed job keeps its document count in "documents" until the
 * documents themselves replace it. */
static bool job_list_cb(const nimbus_job_t *job, void *ctx) {
  job_list_t *l = ctx;
  json_t *obj = api_job_json_base(l->tenant_name, job);
  if (!obj || json_object_set_new(obj, "documents", json_integer(job->num_documents)) != 0) {
    json_decref(obj);
    l->failed = true;
    return false;
  }
  size_t i = json_array_size(l->arr);
  if (i >= API_JOBS_LIMIT_MAX || json_array_append_new(l->arr, obj) != 0) {
    if (i >= API_JOBS_LIMIT_MAX) json_decref(obj); /* else released on failure */
    l->failed = true;
    return false;
  }
  l->ids[i] = job->id;
  l->owners[i] = job->owner_id;
  l->origins[i] = job->origin_device_id;
  return true;
}

static bool job_parse_which(api_ctx_t *c, store_which_t *which) {
  static const struct {
    const char *name;
    store_which_t which;
  } states[] = {{"not-completed", STORE_WHICH_NOT_COMPLETED},
                {"completed", STORE_WHICH_COMPLETED},
                {"held", STORE_WHICH_HELD},
                {"fetchable", STORE_WHICH_FETCHABLE},
                {"all", STORE_WHICH_ALL}};
  const char *s = http_query(c->r, "state");
  *which = STORE_WHICH_NOT_COMPLETED;
  if (!s || !*s) return true;
  for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
    if (strcmp(s, states[i].name) == 0) {
      *which = states[i].which;
      return true;
    }
  }
  api_problem(c->r, 400, "?state must be held, not-completed, completed, fetchable or all");
  return false;
}

void api_jobs_list(api_ctx_t *c) {
  store_job_filter_t f = {.tenant_id = c->tenant.id};
  job_list_t l = {.tenant_name = c->tenant.name};
  long limit, offset;
  int total = 0;
  store_status_t s;

  if (!job_parse_which(c, &f.which)) goto done;
  const char *queue = http_query(c->r, "queue");
  if (queue && *queue) {
    nimbus_queue_t q;
    s = api_name_valid(queue) ? store_queue_get_by_name(c->srv->store, c->tenant.id, queue, &q)
                              : STORE_NOT_FOUND;
    if (s != STORE_OK) {
      api_respond_store(c, s, "queue", queue);
      goto done;
    }
    f.queue_id = q.id;
  }
  const char *user = http_query(c->r, "user");
  if (!c->is_admin) {
    f.owner_id = c->r->auth.user.id;
  } else if (user && *user) {
    nimbus_user_t u;
    s = api_name_valid(user) ? store_user_get_by_name(c->srv->store, c->tenant.id, user, &u)
                             : STORE_NOT_FOUND;
    explicit_bzero(u.password_hash, sizeof u.password_hash);
    if (s != STORE_OK) {
      api_respond_store(c, s, "user", user);
      goto done;
    }
    f.owner_id = u.id;
  }
  /* A limit above the maximum is served as the maximum: next_offset
   * tells the client there is more. */
  if (!api_query_int(c, "limit", API_JOBS_LIMIT_DEFAULT, 1, 1L << 30, &limit) ||
      !api_query_int(c, "offset", 0, 0, 1L << 30, &offset))
    goto done;
  f.limit = limit > API_JOBS_LIMIT_MAX ? API_JOBS_LIMIT_MAX : (int)limit;
  f.offset = (int)offset;
  const char *include = http_query(c->r, "include");
  if (include && *include && strcmp(include, "remote") != 0) {
    api_problem(c->r, 400, "?include must be remote");
    goto done;
  }
  bool with_remote = include && *include;
  f.newest_first = with_remote; /* the merged list is newest first */

  if (!(l.arr = json_array())) {
    api_respond(c, 200, NULL);
    goto done;
  }
  if ((s = store_job_list(c->srv->store, &f, job_list_cb, &l, &total)) != STORE_OK) {
    api_respond_store(c, s, "job", NULL);
    goto done;
  }
  if (l.failed) {
    api_respond(c, 200, NULL);
    goto done;
  }
  /* Documents are read after the listing: no store call from inside a
   * store callback. */
  size_t i;
  json_t *obj;
  json_array_foreach(l.arr, i, obj) {
    int ndocs = (int)json_integer_value(json_object_get(obj, "documents"));
    if (!api_job_add_documents(c, obj, l.ids[i], ndocs)) {
      api_respond(c, 200, NULL);
      goto done;
    }
    /* its purpose and charge (billing by purpose: a charge-failed job
     * shows in the list) */
    nimbus_job_t key = {.id = l.ids[i], .tenant_id = c->tenant.id, .owner_id = l.owners[i]};
    const char *acc = json_string_value(json_object_get(obj, "account_id"));
    snprintf(key.account_id, sizeof key.account_id, "%s", acc ? acc : "");
    json_t *purpose = charge_purpose_json(c->srv->store, &key);
    json_object_set_new(obj, "purpose", purpose ? purpose : json_null());
    key.origin_device_id = l.origins[i];
    json_t *origin = api_job_origin_json(c, &key);
    json_object_set_new(obj, "origin", origin ? origin : json_null());
  }
  long next = offset + (long)json_array_size(l.arr);
  json_t *doc = json_pack("{s:O, s:i, s:o}", "jobs", l.arr, "total", total, "next_offset",
                          next < total ? json_integer(next) : json_null());
  /* ?include=remote: the caller's own remote jobs (docs/FEDERATION.md §4)
   * on the first page, merged newest first, and their account links */
  if (doc && with_remote) {
    int nremote = 0;
    json_t *links = api_account_links_status(c, c->r->auth.user.id);
    if (!links || (offset == 0 && !api_remote_jobs_add(c, c->r->auth.user.id, l.arr, &nremote)) ||
        !api_jobs_sort_newest(l.arr)) {
      json_decref(links);
      json_decref(doc);
      api_problem(c->r, 500, "the job list could not be made");
      goto done;
    }
    json_object_set_new(doc, "remote_total", json_integer(nremote));
    json_object_set_new(doc, "links", links);
  }
  api_respond(c, 200, doc);
done:
  json_decref(l.arr);
}

/* ---- one job ---- */

/* Load job number c->id (the per-tenant number, never the internal id) as
 * the caller may see it; false has responded (404). */
static bool job_load(api_ctx_t *c, nimbus_job_t *job) {
  store_status_t s = store_job_get_by_number(c->srv->store, c->tenant.id, c->id, job);
  if (s == STORE_OK && !c->is_admin && job->owner_id != c->r->auth.user.id) s = STORE_NOT_FOUND;
  if (s != STORE_OK) {
    api_respond_store(c, s, "job", NULL);
    return false;
  }
  return true;
}

void api_job_get(api_ctx_t *c) {
  nimbus_job_t job;
  if (!job_load(c, &job)) return;
  api_respond(c, 200, api_job_json(c, &job));
}

/* Answer the result of job_apply. */
static void job_respond_apply(api_ctx_t *c, job_result_t res, const nimbus_job_t *before,
                              const nimbus_job_t *after, const char *verb) {
  switch (res) {
    case JOB_OK:
      log_event(LOG_INFO, c->r->id, verb, "tenant", c->tenant.name, "job", LOG_INT(after->id),
                "state", job_state_name(after->state), "by", c->actor, (char *)NULL);
      api_respond(c, 200, api_job_json(c, after));
      break;
    case JOB_NOT_FOUND:
      api_problem(c->r, 404, "no such job");
      break;
    case JOB_NOT_POSSIBLE:
      api_problem(c->r, 409, "the job is %s", job_state_name(before->state));
      break;
    case JOB_ERROR:
    default:
      api_problem(c->r, 500, "storage error");
      break;
  }
}

void api_job_cancel(api_ctx_t *c) {
  nimbus_job_t job, after;
  if (!job_load(c, &job)) return;
  if (job_state_is_terminal(job.state)) {
    api_problem(c->r, 409, "the job is already %s", job_state_name(job.state));
    return;
  }
  job_result_t res =
      job_apply(c->srv->store, c->tenant.id, job.id, JOB_EVENT_CANCEL, c->actor, &after);
  if (res == JOB_NOT_POSSIBLE) store_job_get(c->srv->store, c->tenant.id, job.id, &job);
  job_respond_apply(c, res, &job, &after, "job canceled");
}

/*
 * DELETE /jobs/{id}: the owner's (or an admin's) "get rid of it".  A job
 * that is not finished is canceled through the state machine (one
 * transaction with its event, as POST /cancel); then its documents are
 * purged the way retention purges them (store first, then the spool
 * files), at once.  The job row, its events, quote, charge and ledger
 * postings stay for history and reports.
 */
void api_job_delete(api_ctx_t *c) {
  nimbus_job_t job, after;
  if (!job_load(c, &job)) return;
  explicit_bzero(job.pin_hash, sizeof job.pin_hash);
  bool canceled = false;
  if (!job_state_is_terminal(job.state)) {
    job_result_t res =
        job_apply(c->srv->store, c->tenant.id, job.id, JOB_EVENT_CANCEL, c->actor, &after);
    explicit_bzero(after.pin_hash, sizeof after.pin_hash);
    if (res == JOB_NOT_POSSIBLE) { /* it moved meanwhile: finished is fine */
      if (store_job_get(c->srv->store, c->tenant.id, job.id, &job) != STORE_OK) {
        api_problem(c->r, 500, "storage error");
        return;
      }
      explicit_bzero(job.pin_hash, sizeof job.pin_hash);
      if (!job_state_is_terminal(job.state)) {
        api_problem(c->r, 409, "the job is %s and cannot be canceled now",
                    job_state_name(job.state));
        return;
      }
    } else if (res != JOB_OK) {
      api_problem(c->r, res == JOB_NOT_FOUND ? 404 : 500,
                  res == JOB_NOT_FOUND ? "no such job" : "storage error");
      return;
    } else {
      canceled = true;
    }
  }
  int removed = retention_purge(c->srv, c->tenant.id, job.id);
  if (removed < 0) {
    api_problem(c->r, 500, "storage error");
    return;
  }
  api_audit(c, 0, "job.deleted", "job %lld%s", (long long)job.number,
            canceled ? " (canceled)" : "");
  log_event(LOG_INFO, c->r->id, "job deleted", "tenant", c->tenant.name, "job", LOG_INT(job.id),
            "canceled", canceled ? "yes" : "no", "files", LOG_INT(removed), "by", c->actor,
            (char *)NULL);
  api_respond_no_content(c);
}

/* Compare-and-set rounds before unlock gives up (another PIN attempt
 * changed the counter each time). */
#define API_UNLOCK_ROUNDS 4

/*
 * POST /jobs/{id}/unlock (admins): end a wrong-PIN lock (PROTOCOL.md
 * §7.3) and reset its count, through the same compare-and-set as the
 * attempts themselves, with the audit row (job.pin-unlock) in its
 * transaction.  409 when the job is not locked now.
 */
void api_job_unlock(api_ctx_t *c) {
  nimbus_job_t job;
  if (!job_load(c, &job)) return;
  explicit_bzero(job.pin_hash, sizeof job.pin_hash);
  store_status_t s = STORE_CONFLICT;
  for (int round = 0; round < API_UNLOCK_ROUNDS && s == STORE_CONFLICT; round++) {
    store_pin_counter_t cur, next = {0, 0, 0};
    s = store_job_pin_get(c->srv->store, c->tenant.id, job.id, &cur);
    if (s != STORE_OK) break;
    if (cur.locked_until <= (int64_t)time(NULL)) {
      api_problem(c->r, 409, "the job is not locked");
      return;
    }
    api_audit_t a;
    s = store_job_pin_cas_audited(
        c->srv->store, c->tenant.id, job.id, &cur, &next,
        api_audit_of(c, &a, "job.pin-unlock", "job %lld", (long long)job.number));
  }
  if (s != STORE_OK) {
    api_respond_store(c, s, "job", NULL);
    return;
  }
  log_event(LOG_WARN, c->r->id, "job PIN lock ended by an admin", "tenant", c->tenant.name, "job",
            LOG_INT(job.id), "by", c->actor, (char *)NULL);
  if (store_job_get(c->srv->store, c->tenant.id, job.id, &job) != STORE_OK) {
    api_problem(c->r, 500, "storage error");
    return;
  }
  api_respond(c, 200, api_job_json(c, &job));
  explicit_bzero(job.pin_hash, sizeof job.pin_hash);
}

/* Answer what the release pipeline did (REST release and payment
 * start); paying: the caller asked to pay (wording of a refusal). */
static void api_respond_release(api_ctx_t *c, release_result_t res, nimbus_job_t *job,
                                release_outcome_t *out, bool paying) {
  switch (res) {
    case RELEASE_OK: /* for a payment: priced at zero meanwhile, released */
      api_respond(c, 200, api_job_json(c, &out->job));
      break;
    case RELEASE_PAYMENT_STARTED: {
      /* it must be paid first: 202 with the job and where to pay */
      json_t *doc = api_job_json(c, &out->job);
      if (doc) json_object_set_new(doc, "payment", payments_json(&out->payment));
      api_respond(c, 202, doc);
      break;
    }
    case RELEASE_PAYMENT_REFUSED:
      api_problem(
          c->r, 409, "%s: %s",
          paying ? "the job cannot be paid for now" : "the job must be paid before it prints",
          out->message);
      break;
    case RELEASE_PURPOSE_REFUSED:
      api_problem_purpose(c, out->purpose_why, out->message);
      break;
    case RELEASE_SETTINGS_REFUSED:
      if (out->bad_setting)
        api_problem_with(c, 400, "Bad Request", out->message, "member",
                         json_string(out->bad_setting));
      else
        api_problem(c->r, 409, "%s", out->message);
      break;
    case RELEASE_NOT_FOUND:
      api_problem(c->r, 404, "no such job");
      break;
    case RELEASE_NOT_HELD:
      if (store_job_get(c->srv->store, c->tenant.id, job->id, job) == STORE_OK)
        api_problem(c->r, 409, "only held jobs can be released; the job is %s",
                    job_state_name(job->state));
      else
        api_problem(c->r, 409, "the job is no longer held");
      break;
    case RELEASE_PIN_MISSING:
      api_problem(c->r, 403, "wrong PIN: this job needs its PIN");
      break;
    case RELEASE_PIN_WRONG:
      api_problem(c->r, 403, "wrong PIN");
      break;
    case RELEASE_PIN_LOCKED:
      api_problem(c->r, 429, "too many wrong PINs for this job; try again later");
      break;
    case RELEASE_ERROR:
    default:
      api_problem(c->r, 500, "storage error");
      break;
  }
}

void api_job_release(api_ctx_t *c) {
  static const char *const fields[] = {"pin", "override", "purpose", "settings", NULL};
  nimbus_job_t job = {0};
  release_outcome_t out = {0};
  const char *pin = NULL, *purpose = NULL;
  bool override = false, present = false;

  if (c->body && !api_body_only(c, fields)) goto done;
  if (!api_body_string(c, "pin", false, API_PIN_MAX, &pin) ||
      !api_body_string(c, "purpose", false, NIMBUS_NAME_MAX - 1, &purpose))
    goto done;
  if (!api_body_bool(c, "override", &override, &present)) goto done;
  device_settings_t settings; /* checked against the queue's values (release.h) */
  if (!api_body_settings(c, &settings)) goto done;
  if (override && !c->is_admin) {
    api_problem(c->r, 403, "only a tenant admin may release a job without its PIN");
    goto done;
  }
  if (override && pin) {
    api_problem(c->r, 400, "send either 'pin' or 'override', not both");
    goto done;
  }
  if (!job_load(c, &job)) goto done;
  if (job.state != NIMBUS_JOB_HELD) {
    api_problem(c->r, 409, "only held jobs can be released; the job is %s",
                job_state_name(job.state));
    goto done;
  }
  /* The one release pipeline (release.h): PIN counted and locked in the
   * store whichever way it is tried, target per the queue's release_scope. */
  release_request_t req = {.pin = pin,
                           .override = override,
                           .actor = c->actor,
                           .request_id = c->r->id,
                           .purpose = purpose,
                           .settings = &settings};
  api_respond_release(c, release_job(c->srv, &job, &req, &out), &job, &out, false);
done:
  api_body_wipe(c, "pin");
  explicit_bzero(job.pin_hash, sizeof job.pin_hash);
  explicit_bzero(out.job.pin_hash, sizeof out.job.pin_hash);
}

/*
 * POST /jobs/{id}/payment {pin?}: pay for a held job before going to the
 * printer: the release pipeline with its payment step (the PIN is needed
 * as for a release).  202 {job, payment: {payment_url, ...}}; 409 when
 * the job needs no payment (it is released: 200 like a release would be
 * is not what was asked, so nothing happens) or cannot be paid now.
 */
void api_job_payment_start(api_ctx_t *c) {
  static const char *const fields[] = {"pin", NULL};
  nimbus_job_t job = {0};
  release_outcome_t out = {0};
  const char *pin = NULL;
  if (c->body && !api_body_only(c, fields)) goto done;
  if (!api_body_string(c, "pin", false, API_PIN_MAX, &pin) || !job_load(c, &job)) goto done;
  if (job.state == NIMBUS_JOB_AWAITING_PAYMENT) {
    /* asked again: the open payment */
    nimbus_payment_t p;
    json_t *doc = api_job_json(c, &job);
    if (doc && payments_get_for_job(c->srv, c->tenant.id, job.id, &p) == PAYFLOW_OK)
      json_object_set_new(doc, "payment", payments_json(&p));
    api_respond(c, 202, doc);
    goto done;
  }
  if (job.state != NIMBUS_JOB_HELD) {
    api_problem(c->r, 409, "only held jobs can be paid for; the job is %s",
                job_state_name(job.state));
    goto done;
  }
  nimbus_job_quote_t quote;
  payflow_result_t why;
  char msg[200];
  if (!payments_required(c->srv, &job, NULL, &quote, &why, msg, sizeof msg)) {
    api_problem(c->r, 409, "this job needs no payment; release it instead");
    goto done;
  }
  release_request_t req = {.pin = pin, .actor = c->actor, .request_id = c->r->id};
  api_respond_release(c, release_job(c->srv, &job, &req, &out), &job, &out, true);
done:
  api_body_wipe(c, "pin");
  explicit_bzero(job.pin_hash, sizeof job.pin_hash);
  explicit_bzero(out.job.pin_hash, sizeof out.job.pin_hash);
}

/* GET /jobs/{id}/payment: the job's latest payment. */
void api_job_payment_get(api_ctx_t *c) {
  nimbus_job_t job;
  if (!job_load(c, &job)) return;
  explicit_bzero(job.pin_hash, sizeof job.pin_hash);
  api_payment_respond_latest(c, job.id);
}

/* DELETE /jobs/{id}/payment: cancel the open payment (the job is held
 * again), unless it was paid meanwhile (200 with state "paid"). */
void api_job_payment_cancel(api_ctx_t *c) {
  nimbus_job_t job;
  if (!job_load(c, &job)) return;
  explicit_bzero(job.pin_hash, sizeof job.pin_hash);
  api_payment_respond_cancel(c, job.id);
}
