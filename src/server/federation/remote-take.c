/*
 * remote-take.c: taking a remote job at a printer and reporting its local
 * copy back (see remote-take.h, docs/FEDERATION.md §3, §4).
 *
 * The take, in order: the stored metadata (the job must be listed and not
 * taken), the account link asked again (whoami: relink needed stops here),
 * Fetch-Job (still fetchable by this service?), Acknowledge-Job (now no
 * other device may take it), Fetch-Document piece by piece into intake
 * (the spool; never whole in memory), Acknowledge-Document, job_submit of
 * a held job in the link's queue.  Nothing is created locally until the
 * document is in; once acknowledged, any failure is reported to the remote
 * as aborted and the job leaves the stored list.
 */
#include "remote-take.h"

#include <cups/ipp.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "account-link.h"
#include "blob.h"
#include "intake.h"
#include "job.h"
#include "log.h"
#include "purpose.h"
#include "remote-ipp.h"
#include "remote-link.h"

#define RTAKE_TIMEOUT 30
#define RTAKE_REPORT_MAX 64

/* intake_write as a remote_sink_fn. */
static bool rtake_sink(void *ctx, const void *data, size_t len) {
  return intake_write(ctx, data, len);
}

/* Open the INFRA client of link l (its credential unsealed and wiped
 * again); false with msg set. */
static bool rtake_open(nimbus_server_t *srv, const nimbus_remote_link_t *l, remote_ipp_t *c,
                       char *msg, size_t msglen) {
  char secret[NIMBUS_REMOTE_SEALED_MAX];
  char err[256] = "";
  bool ok = false;
  if (l->claim_pending || !l->output_device_uuid[0]) {
    snprintf(msg, msglen, "the link to the other service is not registered yet");
  } else if (!remote_link_unseal(srv, l, secret, sizeof secret)) {
    snprintf(msg, msglen,
             "the link's credential does not open; an administrator must give it again");
  } else if (!remote_ipp_open(c, srv->metrics, (long long)l->tenant_id, l->name, l->printer_uri,
                              l->output_device_uuid, secret, RTAKE_TIMEOUT, err, sizeof err)) {
    snprintf(msg, msglen, "%s", err);
  } else {
    ok = true;
  }
  sodium_memzero(secret, sizeof secret);
  return ok;
}

/* The job's settings as job-template attributes (attrs_json, as IPP job
 * creation stores them: compact, keys sorted). */
static void rtake_attrs(const nimbus_remote_job_t *rj, nimbus_job_t *job) {
  json_t *o = json_object();
  if (o && rj->media[0]) json_object_set_new(o, "media", json_string(rj->media));
  if (o && rj->color_mode[0])
    json_object_set_new(o, "print-color-mode", json_string(rj->color_mode));
  if (o && rj->sides[0]) json_object_set_new(o, "sides", json_string(rj->sides));
  char *text = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  snprintf(job->attrs_json, sizeof job->attrs_json, "%s",
           text && strlen(text) < sizeof job->attrs_json ? text : "{}");
  free(text);
  json_decref(o);
}

/* Tell the remote the taken job was aborted here (best effort). */
static void rtake_abort_remote(remote_ipp_t *c, int remote_job_id, const char *why) {
  remote_status_t st;
  remote_result_t r = remote_ipp_update_job_status(c, remote_job_id, IPP_JSTATE_ABORTED, -1, &st);
  log_event(r == REMOTE_OK ? LOG_INFO : LOG_WARN, NULL, "remote job aborted here", "link", c->link,
            "remote_job", LOG_INT(remote_job_id), "why", why, "reported",
            r == REMOTE_OK ? "yes" : remote_result_name(r), (char *)NULL);
}

/* What Fetch-Job's or Acknowledge-Job's refusal means for the user. */
static remote_take_result_t rtake_refusal(remote_result_t r, const remote_status_t *st, char *msg,
                                          size_t msglen) {
  if (r == REMOTE_IPP_ERROR && st->ipp_status == IPP_STATUS_ERROR_NOT_FETCHABLE) {
    snprintf(msg, msglen, "another printer took this job");
    return RTAKE_TAKEN;
  }
  if (r == REMOTE_IPP_ERROR || r == REMOTE_GONE) {
    snprintf(msg, msglen, "the job is no longer on the other service");
    return RTAKE_GONE;
  }
  char words[256];
  remote_status_words(r, st, words, sizeof words);
  snprintf(msg, msglen, "the other service did not answer as it should: %s", words);
  return RTAKE_UNREACHABLE;
}

/* Drop a remote job from the stored list (it is not to be offered). */
static void rtake_drop(nimbus_server_t *srv, const nimbus_remote_job_t *rj, nimbus_id_t tenant_id) {
  if (store_remote_job_change(srv->store, tenant_id, STORE_REMOTE_DROP, rj) == STORE_ERROR)
    log_event(LOG_WARN, NULL, "remote job could not be dropped from the list", "remote_job",
              LOG_INT(rj->remote_job_id), (char *)NULL);
}

/* The document into the spool and a held local job of it; on failure
 * nothing stays locally.  c is open and the remote job acknowledged. */
static remote_take_result_t rtake_make_job(nimbus_server_t *srv, const remote_take_req_t *req,
                                           const nimbus_remote_link_t *l,
                                           const nimbus_remote_job_t *rj, remote_ipp_t *c,
                                           nimbus_job_t *job, char *msg, size_t msglen) {
  nimbus_tenant_t t;
  if (store_tenant_get(srv->store, req->tenant_id, &t) != STORE_OK) {
    snprintf(msg, msglen, "storage error");
    return RTAKE_ERROR;
  }
  intake_t *in = intake_begin(srv, intake_max_document_size(srv, &t), NULL);
  if (!in) {
    snprintf(msg, msglen, "the spool is not available");
    return RTAKE_ERROR;
  }
  remote_status_t st;
  int64_t bytes = 0;
  char format[NIMBUS_NAME_MAX] = "";
  remote_result_t r = remote_ipp_fetch_document_to(c, rj->remote_job_id, 1, rtake_sink, in, &bytes,
                                                   format, sizeof format, &st);
  if (r != REMOTE_OK) {
    intake_abort(in);
    char words[256];
    remote_status_words(r, &st, words, sizeof words);
    snprintf(msg, msglen, "the document could not be fetched: %s", words);
    return RTAKE_UNREACHABLE;
  }
  nimbus_document_t doc;
  memset(&doc, 0, sizeof doc);
  char err[200] = "";
  intake_status_t is = intake_finish(in, &doc, err, sizeof err);
  if (is != INTAKE_OK) {
    remote_ipp_acknowledge_document(c, rj->remote_job_id, 1, IPP_STATUS_ERROR_DOCUMENT_FORMAT_ERROR,
                                    &st);
    snprintf(msg, msglen, "the document cannot be printed here: %s", err);
    return is == INTAKE_NO_SPACE   ? RTAKE_NO_SPACE
           : is == INTAKE_IO_ERROR ? RTAKE_ERROR
                                   : RTAKE_DOCUMENT;
  }
  r = remote_ipp_acknowledge_document(c, rj->remote_job_id, 1, 0, &st);
  if (r != REMOTE_OK) {
    blob_delete(srv->blobs, doc.blob_key);
    char words[256];
    remote_status_words(r, &st, words, sizeof words);
    snprintf(msg, msglen, "the other service did not confirm the document: %s", words);
    return RTAKE_UNREACHABLE;
  }

  memset(job, 0, sizeof *job);
  job->tenant_id = req->tenant_id;
  job->queue_id = l->queue_id;
  job->owner_id = req->user_id;
  snprintf(job->queue_name, sizeof job->queue_name, "%s", l->queue_name);
  snprintf(job->owner_name, sizeof job->owner_name, "%s", req->user_name);
  snprintf(job->name, sizeof job->name, "%s", rj->name[0] ? rj->name : "Untitled");
  job->copies = rj->copies > 0 ? rj->copies : 1;
  rtake_attrs(rj, job);
  job->origin_device_id = req->device_id; /* in this printer's panel scope */
  char pmsg[200];
  purpose_admit(srv->store, t.id, req->user_id, true, job, pmsg, sizeof pmsg); /* its defaults */
  job->state = NIMBUS_JOB_HELD;
  job->pages = doc.pages;
  job->impressions = doc.pages * job->copies;
  job->num_documents = 1;
  doc.number = 1;
  snprintf(doc.name, sizeof doc.name, "%s", job->name);
  switch (job_submit(srv, &t, job, &doc, 1)) { /* deletes the blob on failure */
    case SUBMIT_OK:
      break;
    case SUBMIT_TOO_MANY_JOBS:
    case SUBMIT_PRINTER_BUSY:
      snprintf(msg, msglen, "you have too many pending jobs (at most %d)",
               intake_max_held_jobs(srv, &t));
      return RTAKE_TOO_MANY;
    case SUBMIT_NO_SPACE:
      snprintf(msg, msglen, "the spool is full; try again later");
      return RTAKE_NO_SPACE;
    default:
      snprintf(msg, msglen, "storage error");
      return RTAKE_ERROR;
  }
  log_event(LOG_INFO, req->request_id, "remote job taken", "tenant", t.name, "link", l->name,
            "remote_job", LOG_INT(rj->remote_job_id), "job", LOG_INT(job->id), "user",
            req->user_name, "format", doc.format, "size", LOG_INT(bytes), (char *)NULL);
  return RTAKE_OK;
}

remote_take_result_t remote_take(nimbus_server_t *srv, const remote_take_req_t *req,
                                 nimbus_job_t *job, char *msg, size_t msglen) {
  nimbus_remote_link_t l;
  nimbus_remote_job_t rj;
  int n = 0;
  msg[0] = '\0';
  store_status_t s = store_remote_link_get(srv->store, req->tenant_id, req->link, &l);
  store_remote_query_t q = {.which = STORE_REMOTE_Q_ONE,
                            .tenant_id = req->tenant_id,
                            .link_id = l.id,
                            .remote_job_id = req->remote_job_id};
  if (s == STORE_OK) s = store_remote_job_query(srv->store, &q, &rj, 1, &n);
  if (s == STORE_OK && n == 0) s = STORE_NOT_FOUND;
  if (s != STORE_OK) {
    sodium_memzero(&l, sizeof l);
    snprintf(msg, msglen, s == STORE_NOT_FOUND ? "no such remote job" : "storage error");
    return s == STORE_NOT_FOUND ? RTAKE_NOT_FOUND : RTAKE_ERROR;
  }
  if (rj.local_job_id) {
    sodium_memzero(&l, sizeof l);
    snprintf(msg, msglen, "another printer took this job");
    return RTAKE_TAKEN;
  }
  char remote_user[NIMBUS_TEXT_MAX];
  alink_result_t a = account_link_verify(srv, req->tenant_id, req->user_id, l.service_url,
                                         remote_user, sizeof remote_user);
  remote_take_result_t res = RTAKE_OK;
  if (a == ALINK_RELINK) {
    snprintf(msg, msglen, "your account on %s must be linked again", l.service_url);
    res = RTAKE_RELINK;
  } else if (a == ALINK_REMOTE) {
    snprintf(msg, msglen, "%s did not answer; try again later", l.service_url);
    res = RTAKE_UNREACHABLE;
  } else if (a != ALINK_OK || strcmp(remote_user, rj.owner) != 0) {
    snprintf(msg, msglen, a == ALINK_ERROR ? "storage error" : "no such remote job");
    res = a == ALINK_ERROR ? RTAKE_ERROR : RTAKE_NOT_FOUND;
  }
  remote_ipp_t c;
  if (res == RTAKE_OK && !rtake_open(srv, &l, &c, msg, msglen)) res = RTAKE_UNREACHABLE;
  sodium_memzero(&l.sealed, sizeof l.sealed);
  if (res != RTAKE_OK) return res;

  remote_status_t st;
  nimbus_remote_job_t fj;
  remote_result_t r = remote_ipp_fetch_job(&c, rj.remote_job_id, &fj, &st);
  if (r == REMOTE_OK &&
      (fj.remote_state == IPP_JSTATE_CANCELED || fj.remote_state == IPP_JSTATE_ABORTED ||
       fj.remote_state == IPP_JSTATE_COMPLETED)) {
    r = REMOTE_GONE;
    st.ipp_status = -1;
  }
  if (r == REMOTE_OK) r = remote_ipp_acknowledge_job(&c, rj.remote_job_id, &st);
  if (r != REMOTE_OK) {
    res = rtake_refusal(r, &st, msg, msglen);
    if (res == RTAKE_TAKEN || res == RTAKE_GONE) rtake_drop(srv, &rj, req->tenant_id);
    remote_ipp_close(&c);
    return res;
  }
  /* acknowledged: ours now; from here a failure is reported as aborted */
  if (fj.name[0]) { /* what the remote says now */
    snprintf(rj.name, sizeof rj.name, "%s", fj.name);
    snprintf(rj.sides, sizeof rj.sides, "%s", fj.sides);
    snprintf(rj.color_mode, sizeof rj.color_mode, "%s", fj.color_mode);
    snprintf(rj.media, sizeof rj.media, "%s", fj.media);
    if (fj.copies > 0) rj.copies = fj.copies;
  }
  res = rtake_make_job(srv, req, &l, &rj, &c, job, msg, msglen);
  if (res == RTAKE_OK) {
    rj.local_job_id = job->id;
    s = store_remote_job_change(srv->store, req->tenant_id, STORE_REMOTE_TAKE, &rj);
    if (s != STORE_OK) {
      job_apply(srv->store, req->tenant_id, job->id, JOB_EVENT_CANCEL, "federation", NULL);
      snprintf(msg, msglen,
               s == STORE_CONFLICT ? "another printer took this job" : "storage error");
      res = s == STORE_CONFLICT ? RTAKE_TAKEN : RTAKE_ERROR;
    }
  }
  if (res != RTAKE_OK) {
    rtake_abort_remote(&c, rj.remote_job_id, msg);
    if (s != STORE_CONFLICT) rtake_drop(srv, &rj, req->tenant_id);
  }
  remote_ipp_close(&c);
  return res;
}

int remote_take_ipp_state(nimbus_job_state_t s) {
  switch (s) {
    case NIMBUS_JOB_FETCHABLE:
    case NIMBUS_JOB_PROCESSING:
      return IPP_JSTATE_PROCESSING; /* released here: on its way */
    case NIMBUS_JOB_COMPLETED:
      return IPP_JSTATE_COMPLETED;
    case NIMBUS_JOB_CANCELED:
      return IPP_JSTATE_CANCELED;
    case NIMBUS_JOB_ABORTED:
    case NIMBUS_JOB_EXPIRED:
      return IPP_JSTATE_ABORTED;
    default:
      return 0; /* held, awaiting payment: nothing to say yet */
  }
}

/* Send one report of rj (state, impressions; the document's end too when
 * the state is final) and store it.  True when the remote heard it. */
static bool rtake_send(nimbus_server_t *srv, nimbus_remote_job_t *rj, int state, int impressions) {
  nimbus_remote_link_t l;
  remote_ipp_t c;
  char msg[256];
  if (store_remote_link_get(srv->store, rj->tenant_id, rj->link_name, &l) != STORE_OK) return false;
  bool opened = rtake_open(srv, &l, &c, msg, sizeof msg);
  sodium_memzero(&l.sealed, sizeof l.sealed);
  if (!opened) return false;
  bool final =
      state == IPP_JSTATE_COMPLETED || state == IPP_JSTATE_CANCELED || state == IPP_JSTATE_ABORTED;
  remote_status_t st;
  remote_result_t r = REMOTE_OK;
  if (state != rj->reported_state || impressions != rj->reported_impressions)
    r = remote_ipp_update_job_status(&c, rj->remote_job_id, state, impressions, &st);
  if (r == REMOTE_OK && final)
    r = remote_ipp_update_document_status(&c, rj->remote_job_id, 1, state, impressions, &st);
  remote_ipp_close(&c);
  /* the remote no longer knows the job (IPP client error): nothing more to say */
  bool stop = r == REMOTE_IPP_ERROR || r == REMOTE_GONE;
  if (r != REMOTE_OK && !stop) {
    remote_status_words(r, &st, msg, sizeof msg);
    log_event(LOG_WARN, NULL, "remote job status not reported; will retry", "link", rj->link_name,
              "remote_job", LOG_INT(rj->remote_job_id), "error", msg, (char *)NULL);
    return false;
  }
  rj->reported_state = state;
  rj->reported_impressions = impressions;
  rj->reported_done = final || stop;
  if (store_remote_job_change(srv->store, rj->tenant_id, STORE_REMOTE_REPORTED, rj) != STORE_OK)
    log_event(LOG_WARN, NULL, "remote job report not stored", "remote_job",
              LOG_INT(rj->remote_job_id), (char *)NULL);
  log_event(LOG_INFO, NULL, "remote job status reported", "link", rj->link_name, "remote_job",
            LOG_INT(rj->remote_job_id), "state", LOG_INT(state), "impressions",
            LOG_INT(impressions), (char *)NULL);
  return r == REMOTE_OK;
}

int remote_take_report(nimbus_server_t *srv) {
  nimbus_remote_job_t *rjs = calloc(RTAKE_REPORT_MAX, sizeof *rjs);
  if (!rjs) return 0;
  store_remote_query_t q = {.which = STORE_REMOTE_Q_REPORT};
  int n = 0, sent = 0;
  if (store_remote_job_query(srv->store, &q, rjs, RTAKE_REPORT_MAX, &n) != STORE_OK) n = 0;
  if (n > RTAKE_REPORT_MAX) n = RTAKE_REPORT_MAX;
  for (int i = 0; i < n; i++) {
    nimbus_remote_job_t *rj = &rjs[i];
    nimbus_job_t job;
    store_status_t s = store_job_get(srv->store, rj->tenant_id, rj->local_job_id, &job);
    int state, impressions;
    if (s == STORE_NOT_FOUND) { /* the local copy was deleted: it will not print */
      state = IPP_JSTATE_ABORTED;
      impressions = -1;
    } else if (s == STORE_OK) {
      state = remote_take_ipp_state(job.state);
      impressions = state ? job.impressions_completed : -1;
      sodium_memzero(job.pin_hash, sizeof job.pin_hash);
    } else {
      continue;
    }
    if (!state || (state == rj->reported_state && impressions == rj->reported_impressions &&
                   state == IPP_JSTATE_PROCESSING))
      continue; /* nothing new */
    if (rtake_send(srv, rj, state, impressions)) sent++;
  }
  free(rjs);
  return sent;
}

void remote_take_undo(nimbus_server_t *srv, nimbus_id_t tenant_id, nimbus_id_t job_id,
                      const char *actor) {
  /* canceled here; the report says aborted (it did not print) */
  job_apply(srv->store, tenant_id, job_id, JOB_EVENT_CANCEL, actor, NULL);
  store_remote_query_t q = {
      .which = STORE_REMOTE_Q_LOCAL, .tenant_id = tenant_id, .local_job_id = job_id};
  nimbus_remote_job_t rj;
  int n = 0;
  if (store_remote_job_query(srv->store, &q, &rj, 1, &n) == STORE_OK && n > 0 && !rj.reported_done)
    rtake_send(srv, &rj, IPP_JSTATE_ABORTED, -1);
}
