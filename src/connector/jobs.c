/*
 * jobs.c: one job's trip from nimbusd to the output (PWG 5100.18):
 *
 *   Fetch-Job -> Acknowledge-Job -> Update-Job-Status(processing)
 *   -> per document: Fetch-Document (streamed into the output)
 *                    -> Acknowledge-Document -> Update-Document-Status
 *   -> Update-Job-Status(completed | aborted | canceled, impressions)
 *
 * with Update-Active-Jobs every update-interval while the printer works,
 * and the journal (journal.h) written before each step is relied on, so a
 * job is handed to the output at most once, even across restarts.
 *
 * A job canceled at nimbusd while it prints (by its owner) is noticed from
 * the Update-Active-Jobs answer (the job listed with another state), a
 * job-state-changed event (persistent mode, channel_check()), or
 * client-error-not-possible from Update-Job-Status, Fetch-Document,
 * Acknowledge-Document or Update-Document-Status.  It is then stopped:
 * a document still arriving is dropped (output_abort()), a job at the
 * printer is canceled there (output_end()'s tick returns false), further
 * documents are not fetched, and the journal records the output's outcome
 * as reported (nimbusd has ended the job: nothing is sent for it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "connector.h"
#include "log.h"

#define JOBS_CHUNK 65536
#define JOBS_LIST_MAX 100

/* Keep-alive state while the output works on a job. */
typedef struct {
  connector_t *c;
  const char *uri;
  int job_id;
  time_t last;            /* the last Update-Active-Jobs */
  bool journalled_remote; /* the printer's job id is in the journal */
  step_t step;            /* the worst answer seen by a keep-alive */
  bool streaming;         /* the main connection carries a document: use c->side */
  time_t last_tick;       /* while streaming: ticks once a second */
  int ended;              /* the job's state at nimbusd once it ended there (0: not) */
} jobs_tick_t;

static const char *jobs_state_name(int state) {
  return ippEnumString("job-state", state);
}

/*
 * IPP_JSTATE_CANCELED when an answer says the job was canceled at nimbusd
 * (client-error-not-possible with job-state canceled), else 0.  Other
 * refusals (a job re-offered after a lost lease, taken by another device)
 * do not stop a job the printer already has: the journal keeps it from
 * being printed twice here.
 */
static int jobs_canceled_state(const ippc_status_t *st, ipp_t *resp) {
  if (st->http_status != 200 || st->ipp_status != IPP_STATUS_ERROR_NOT_POSSIBLE) return 0;
  ipp_attribute_t *a = resp ? ippFindAttribute(resp, "job-state", IPP_TAG_ENUM) : NULL;
  return a && ippGetInteger(a, 0) == IPP_JSTATE_CANCELED ? IPP_JSTATE_CANCELED : 0;
}

/* Send a request that has no interesting answer; logs failures. */
static step_t jobs_simple_ended(connector_t *c, ipp_t *req, const char *uri, const char *what,
                                int job_id, ippc_status_t *st_out, int *ended) {
  ipp_t *resp;
  ippc_status_t st;
  ippc_result_t r = ippc_send(&c->ippc, req, uri, &resp, &st, false);
  if (ended) *ended = r == IPPC_IPP_ERROR ? jobs_canceled_state(&st, resp) : 0;
  ippDelete(resp);
  if (st_out) *st_out = st;
  if (r != IPPC_OK && r != IPPC_STOPPED)
    log_event(LOG_WARN, NULL, "request failed", "op", what, "job", LOG_INT(job_id), "result",
              ippc_result_name(r), "status", ippErrorString((ipp_status_t)st.ipp_status), "error",
              st.message, (char *)NULL);
  else if (r == IPPC_OK)
    connector_contact(c);
  return step_from_ippc(r);
}

static step_t jobs_simple(connector_t *c, ipp_t *req, const char *uri, const char *what, int job_id,
                          ippc_status_t *st_out) {
  return jobs_simple_ended(c, req, uri, what, job_id, st_out, NULL);
}

static ipp_t *jobs_request(connector_t *c, ipp_op_t op, const char *uri, int job_id) {
  ipp_t *req = ippc_request(&c->ippc, op, uri);
  ippAddInteger(req, IPP_TAG_OPERATION, IPP_TAG_INTEGER, "job-id", job_id);
  return req;
}

static step_t jobs_update_status(connector_t *c, const char *uri, int job_id, int state,
                                 int impressions, const char *reason, ippc_status_t *st,
                                 int *ended) {
  ipp_t *req = jobs_request(c, IPP_OP_UPDATE_JOB_STATUS, uri, job_id);
  ippAddSeparator(req);
  ippAddInteger(req, IPP_TAG_JOB, IPP_TAG_ENUM, "output-device-job-state", state);
  ippAddString(req, IPP_TAG_JOB, IPP_TAG_KEYWORD, "job-state-reasons", NULL,
               reason && *reason                ? reason
               : state == IPP_JSTATE_PROCESSING ? "job-printing"
               : state == IPP_JSTATE_COMPLETED  ? "job-completed-successfully"
               : state == IPP_JSTATE_CANCELED   ? "job-canceled-at-device"
                                                : "aborted-by-system");
  if (state != IPP_JSTATE_PROCESSING)
    ippAddInteger(req, IPP_TAG_JOB, IPP_TAG_INTEGER, "job-impressions-completed", impressions);
  return jobs_simple_ended(c, req, uri, "Update-Job-Status", job_id, st, ended);
}

/*
 * Update-Active-Jobs for job_id on connection via.  *listed receives the
 * job's state at nimbusd when the answer lists it with a state other than
 * the one sent (canceled: by its owner; aborted: not this device's or not
 * this queue's), else 0.
 */
static step_t jobs_active(connector_t *c, ippc_t *via, const char *uri, int job_id, int state,
                          int *listed) {
  ipp_t *req = ippc_request(via, IPP_OP_UPDATE_ACTIVE_JOBS, uri);
  ippAddInteger(req, IPP_TAG_OPERATION, IPP_TAG_INTEGER, "job-ids", job_id);
  ippAddInteger(req, IPP_TAG_OPERATION, IPP_TAG_ENUM, "output-device-job-states", state);
  ipp_t *resp;
  ippc_status_t st;
  ippc_result_t r = ippc_send(via, req, uri, &resp, &st, false);
  if (listed) *listed = 0;
  if (r == IPPC_OK) {
    connector_contact(c);
    ipp_attribute_t *ids = ippFindAttribute(resp, "job-ids", IPP_TAG_INTEGER);
    ipp_attribute_t *states = ippFindAttribute(resp, "output-device-job-states", IPP_TAG_ENUM);
    for (int i = 0; ids && states && i < ippGetCount(ids) && i < ippGetCount(states); i++)
      if (ippGetInteger(ids, i) == job_id && ippGetInteger(states, i) != state && listed)
        *listed = ippGetInteger(states, i);
  } else if (r != IPPC_STOPPED) {
    log_event(LOG_WARN, NULL, "request failed", "op", "Update-Active-Jobs", "job", LOG_INT(job_id),
              "result", ippc_result_name(r), "status", ippErrorString((ipp_status_t)st.ipp_status),
              "error", st.message, (char *)NULL);
  }
  ippDelete(resp);
  return step_from_ippc(r);
}

/* The job ended at nimbusd: say so once. */
static void jobs_note_ended(jobs_tick_t *t, int state, const char *how) {
  if (t->ended) return;
  t->ended = state;
  log_event(LOG_INFO, NULL, "job ended at nimbusd; stopping it at the output", "job",
            LOG_INT(t->job_id), "state", jobs_state_name(state), "how", how, (char *)NULL);
}

/*
 * output_tick_t: journal the printer's job id, keep nimbusd's lease fresh,
 * look for the job's cancellation at nimbusd (false: stop it).
 */
static bool jobs_tick(void *ctx) {
  jobs_tick_t *t = ctx;
  connector_t *c = t->c;
  int remote = output_remote_id(c->output);
  if (remote > 0 && !t->journalled_remote) {
    journal_entry_t e = {t->job_id, JOURNAL_HANDED, 0, 0, remote};
    t->journalled_remote = journal_record(&c->journal, &e);
  }
  if (t->step == STEP_OK) {
    step_t s = channel_check(c); /* persistent mode: events that arrived meanwhile */
    if (s == STEP_DELETED || s == STEP_STOPPED) t->step = s;
  }
  if (c->watch_job == t->job_id && c->watch_state) jobs_note_ended(t, c->watch_state, "event");
  if (t->ended) return false;
  if (t->step != STEP_OK || time(NULL) - t->last < c->opt.update_interval) return true;
  t->last = time(NULL);
  ippc_t *via = &c->ippc;
  if (t->streaming) { /* the main connection carries the document */
    if (!c->side.http) {
      c->side = c->ippc;
      c->side.http = NULL;
      c->side.pending = false;
    }
    via = &c->side;
  }
  int listed = 0;
  t->step = jobs_active(c, via, t->uri, t->job_id, IPP_JSTATE_PROCESSING, &listed);
  if (t->step == STEP_FAILED) t->step = STEP_OK; /* not worth stopping the job for */
  if (listed == IPP_JSTATE_CANCELED) jobs_note_ended(t, listed, "Update-Active-Jobs");
  return !t->ended;
}

/* The job ended at nimbusd before it was printed: record that, send nothing. */
static void jobs_record_ended(connector_t *c, int job_id, int state, int impressions, int remote) {
  journal_entry_t e = {job_id, JOURNAL_DONE, state, impressions, remote};
  journal_record(&c->journal, &e);
  e.phase = JOURNAL_REPORTED; /* nimbusd ended the job itself: nothing to report */
  if (!journal_record(&c->journal, &e))
    log_event(LOG_ERROR, NULL, "cannot write the journal", (char *)NULL);
  if (state == IPP_JSTATE_COMPLETED) connector_job_printed(c);
}

/*
 * Report a journalled outcome and mark it reported.  With elsewhere (more
 * queues to try), client-error-not-found sets it and returns STEP_FAILED:
 * the job belongs to another queue.
 */
static step_t jobs_report(connector_t *c, const char *uri, const journal_entry_t *e,
                          bool *elsewhere) {
  ippc_status_t st;
  int canceled = 0;
  journal_entry_t done = *e;
  if (elsewhere) *elsewhere = false;
  step_t s =
      jobs_update_status(c, uri, e->job_id, e->job_state, e->impressions, NULL, &st, &canceled);
  if (s == STEP_FAILED && elsewhere && st.http_status == 200 &&
      st.ipp_status == IPP_STATUS_ERROR_NOT_FOUND) {
    *elsewhere = true;
    return s;
  }
  if (s == STEP_FAILED && st.http_status == 200 &&
      (st.ipp_status == IPP_STATUS_ERROR_NOT_FOUND ||
       st.ipp_status == IPP_STATUS_ERROR_NOT_POSSIBLE ||
       st.ipp_status == IPP_STATUS_ERROR_NOT_FETCHABLE)) {
    /* the server no longer cares about this job: stop reporting it */
    if (canceled)
      log_event(LOG_INFO, NULL, "the job was canceled at nimbusd before its outcome was reported",
                "job", LOG_INT(e->job_id), "output_state", jobs_state_name(e->job_state),
                (char *)NULL);
    s = STEP_OK;
  }
  if (s == STEP_OK) {
    done.phase = JOURNAL_REPORTED;
    if (!journal_record(&c->journal, &done))
      log_event(LOG_ERROR, NULL, "cannot write the journal", (char *)NULL);
    log_event(LOG_INFO, NULL, "job reported", "job", LOG_INT(e->job_id), "state",
              jobs_state_name(e->job_state), "impressions", LOG_INT(e->impressions), (char *)NULL);
  }
  return s;
}

/*
 * Find out what became of a job handed over before a restart (canceled:
 * nimbusd says the job was canceled meanwhile, so it is canceled at the
 * printer too).  Returns true when the job ended at nimbusd: its outcome
 * is then journalled as reported, with nothing sent.
 */
static bool jobs_recover(connector_t *c, const char *uri, journal_entry_t *e, int canceled) {
  jobs_tick_t t = {c, uri, e->job_id, time(NULL), true, STEP_OK, false, 0, 0};
  if (canceled) jobs_note_ended(&t, canceled, "Update-Active-Jobs");
  c->watch_job = e->job_id;
  c->watch_state = 0;
  output_result_t res;
  if (!output_recover(c->output, e->job_id, e->remote_id, &res, jobs_tick, &t)) {
    res.job_state = t.ended ? IPP_JSTATE_CANCELED : IPP_JSTATE_ABORTED;
    res.impressions = 0;
    log_event(LOG_WARN, NULL,
              "the output cannot tell whether the job printed; not printing it "
              "again",
              "job", LOG_INT(e->job_id), (char *)NULL);
  }
  c->watch_job = 0;
  c->watch_state = 0;
  e->phase = JOURNAL_DONE;
  e->job_state = res.job_state;
  e->impressions = res.impressions;
  if (t.ended) {
    jobs_record_ended(c, e->job_id, res.job_state, res.impressions, e->remote_id);
    e->phase = JOURNAL_REPORTED;
    return true;
  }
  journal_record(&c->journal, e);
  if (res.job_state == IPP_JSTATE_COMPLETED) connector_job_printed(c);
  return false;
}

step_t jobs_reconcile(connector_t *c) {
  size_t n = c->journal.n;
  journal_entry_t *todo = n ? calloc(n, sizeof *todo) : NULL;
  size_t k = 0;
  step_t s = STEP_OK;
  for (size_t i = 0; i < n; i++)
    if (c->journal.entries[i].phase != JOURNAL_REPORTED) todo[k++] = c->journal.entries[i];
  for (size_t i = 0; i < k && s == STEP_OK; i++) {
    journal_entry_t *e = &todo[i];
    log_event(LOG_INFO, NULL, "reconciling a job from the journal", "job", LOG_INT(e->job_id),
              "phase", e->phase == JOURNAL_HANDED ? "handed" : "done", (char *)NULL);
    if (e->phase == JOURNAL_HANDED) {
      /* which queue?  the one where nimbusd has it processing (not listed)
       * or canceled; "aborted" is also what another queue says */
      int chosen = -1, fallback = -1, canceled = 0;
      for (size_t q = 0; q < c->state.nuris; q++) {
        int listed = 0;
        s = jobs_active(c, &c->ippc, c->state.uris[q], e->job_id, IPP_JSTATE_PROCESSING, &listed);
        if (s == STEP_FAILED) continue;
        if (s != STEP_OK) break;
        if (listed == 0 || listed == IPP_JSTATE_CANCELED) {
          chosen = (int)q;
          canceled = listed;
          break;
        }
        if (fallback < 0) fallback = (int)q;
      }
      if (s != STEP_OK && s != STEP_FAILED) break;
      s = STEP_OK;
      if (chosen < 0) chosen = fallback;
      if (chosen < 0) continue; /* try again at the next start */
      if (jobs_recover(c, c->state.uris[chosen], e, canceled)) continue;
      s = jobs_report(c, c->state.uris[chosen], e, NULL);
    } else {
      for (size_t q = 0; q < c->state.nuris; q++) {
        bool elsewhere = false;
        s = jobs_report(c, c->state.uris[q], e, q + 1 < c->state.nuris ? &elsewhere : NULL);
        if (!(s == STEP_FAILED && elsewhere)) break;
      }
    }
    if (s == STEP_FAILED) s = STEP_OK; /* try again at the next start */
  }
  free(todo);
  return s;
}

step_t jobs_send_caps(connector_t *c) {
  for (size_t i = 0; i < c->state.nuris; i++) {
    char err[512];
    ipp_t *req = ippc_request(&c->ippc, IPP_OP_UPDATE_OUTPUT_DEVICE_ATTRIBUTES, c->state.uris[i]);
    ippAddSeparator(req);
    if (!output_caps(c->output, req, err, sizeof err)) {
      ippDelete(req);
      log_event(LOG_WARN, NULL, "cannot read the printer's capabilities", "error", err,
                (char *)NULL);
      connector_note_error(c, "cannot read the printer's capabilities");
      return STEP_TRANSIENT;
    }
    step_t s = jobs_simple(c, req, c->state.uris[i], "Update-Output-Device-Attributes", 0, NULL);
    if (s != STEP_OK) return s;
  }
  log_event(LOG_INFO, NULL, "capabilities sent", "queues", LOG_INT(c->state.nuris), (char *)NULL);
  return STEP_OK;
}

#define JOBS_IDENTITY_REFRESH 300 /* seconds between reads of the registration's name */

step_t jobs_fetch_identity(connector_t *c) {
  c->identity_next = time(NULL) + JOBS_IDENTITY_REFRESH;
  if (c->state.nuris == 0) return STEP_OK;
  ipp_t *req = ippc_request(&c->ippc, IPP_OP_GET_OUTPUT_DEVICE_ATTRIBUTES, c->state.uris[0]);
  static const char *const want[] = {"printer-name", "printer-location"};
  ippAddStrings(req, IPP_TAG_OPERATION, IPP_TAG_KEYWORD, "requested-attributes", 2, NULL, want);
  ipp_t *resp = NULL;
  ippc_status_t st;
  ippc_result_t r = ippc_send(&c->ippc, req, c->state.uris[0], &resp, &st, false);
  if (r == IPPC_OK) {
    ipp_attribute_t *name = ippFindAttribute(resp, "printer-name", IPP_TAG_ZERO);
    ipp_attribute_t *location = ippFindAttribute(resp, "printer-location", IPP_TAG_ZERO);
    pthread_mutex_lock(&c->lock);
    if (name && ippGetString(name, 0, NULL))
      snprintf(c->reg_name, sizeof c->reg_name, "%s", ippGetString(name, 0, NULL));
    if (location && ippGetString(location, 0, NULL))
      snprintf(c->reg_location, sizeof c->reg_location, "%s", ippGetString(location, 0, NULL));
    pthread_mutex_unlock(&c->lock);
    connector_contact(c);
  }
  ippDelete(resp);
  return r == IPPC_IPP_ERROR ? STEP_OK : step_from_ippc(r);
}

/* Integer job attribute or 0. */
static int jobs_int(ipp_t *attrs, const char *name) {
  ipp_attribute_t *a = attrs ? ippFindAttribute(attrs, name, IPP_TAG_INTEGER) : NULL;
  return a ? ippGetInteger(a, 0) : 0;
}

/*
 * Fetch document doc_no into the output.  *more=false when there is none,
 * or when the job was canceled at nimbusd (tick->ended is set then).
 */
static step_t jobs_document(connector_t *c, const char *uri, int job_id, int doc_no,
                            ipp_t *job_attrs, bool *more, bool *handed, output_result_t *res,
                            jobs_tick_t *tick) {
  ipp_t *req = jobs_request(c, IPP_OP_FETCH_DOCUMENT, uri, job_id);
  ippAddInteger(req, IPP_TAG_OPERATION, IPP_TAG_INTEGER, "document-number", doc_no);
  ipp_t *resp;
  ippc_status_t st;
  char err[512];
  *more = true;
  memset(res, 0, sizeof *res);
  res->job_state = IPP_JSTATE_ABORTED;
  ippc_result_t r = ippc_send(&c->ippc, req, uri, &resp, &st, true);
  if (r != IPPC_OK) {
    int canceled = r == IPPC_IPP_ERROR ? jobs_canceled_state(&st, resp) : 0;
    ippDelete(resp);
    if (r == IPPC_IPP_ERROR && st.ipp_status == IPP_STATUS_ERROR_NOT_FOUND && doc_no > 1) {
      *more = false;
      res->job_state = IPP_JSTATE_COMPLETED;
      return STEP_OK;
    }
    if (canceled) {
      jobs_note_ended(tick, canceled, "Fetch-Document");
      *more = false;
      res->job_state = IPP_JSTATE_CANCELED;
      return STEP_OK;
    }
    log_event(LOG_WARN, NULL, "Fetch-Document failed", "job", LOG_INT(job_id), "result",
              ippc_result_name(r), "error", st.message, (char *)NULL);
    return step_from_ippc(r);
  }
  ipp_attribute_t *fa = ippFindAttribute(resp, "document-format", IPP_TAG_MIMETYPE);
  char format[128];
  snprintf(format, sizeof format, "%s",
           fa && ippGetString(fa, 0, NULL) ? ippGetString(fa, 0, NULL) : "application/pdf");
  ippDelete(resp);

  if (doc_no == 1) {
    journal_entry_t e = {job_id, JOURNAL_HANDED, 0, 0, 0};
    if (!journal_record(&c->journal, &e)) {
      ippc_close(&c->ippc);
      snprintf(res->reason, sizeof res->reason, "aborted-by-system");
      log_event(LOG_ERROR, NULL, "cannot write the journal; not printing", (char *)NULL);
      *more = false;
      return STEP_OK;
    }
  }
  *handed = true;
  if (!output_begin(c->output, job_id, doc_no, format, job_attrs, err, sizeof err)) {
    log_event(LOG_WARN, NULL, "the output refused the document", "job", LOG_INT(job_id), "error",
              err, (char *)NULL);
    ippc_close(&c->ippc); /* the document body is still on the wire */
    *more = false;
    return STEP_OK;
  }
  char *buf = malloc(JOBS_CHUNK);
  ssize_t n = 0;
  long long total = 0;
  bool out_ok = buf != NULL, canceled = false;
  /* while the document streams in: the keep-alives once a second, on the
   * side connection (a slow printer can take its time reading) */
  tick->streaming = true;
  tick->last_tick = time(NULL);
  while (out_ok && (n = ippc_read(&c->ippc, buf, JOBS_CHUNK)) > 0) {
    out_ok = output_write(c->output, buf, (size_t)n);
    total += n;
    if (time(NULL) != tick->last_tick) {
      tick->last_tick = time(NULL);
      if (!jobs_tick(tick)) {
        canceled = true;
        break;
      }
    }
  }
  tick->streaming = false;
  ippc_close(&c->side);
  free(buf);
  if (canceled) {
    output_abort(c->output);
    ippc_close(&c->ippc); /* the rest of the document is still on the wire */
    log_event(LOG_INFO, NULL, "document dropped: the job was canceled at nimbusd", "job",
              LOG_INT(job_id), "document", LOG_INT(doc_no), "bytes", LOG_INT(total), (char *)NULL);
    res->job_state = IPP_JSTATE_CANCELED;
    *more = false;
    return tick->step;
  }
  if (!out_ok || n < 0) {
    output_abort(c->output);
    ippc_close(&c->ippc);
    log_event(LOG_WARN, NULL,
              n < 0 ? "document transfer from the server broke off"
                    : "the output failed while receiving the document",
              "job", LOG_INT(job_id), "bytes", LOG_INT(total), (char *)NULL);
    *more = false;
    return n < 0 ? STEP_TRANSIENT : STEP_OK;
  }
  output_end(c->output, res, jobs_tick, tick);
  log_event(LOG_INFO, NULL, tick->ended ? "document ended at the output" : "document printed",
            "job", LOG_INT(job_id), "document", LOG_INT(doc_no), "bytes", LOG_INT(total), "state",
            jobs_state_name(res->job_state), "impressions", LOG_INT(res->impressions),
            (char *)NULL);
  if (tick->step != STEP_OK) return tick->step;
  if (tick->ended) {
    *more = false;
    return STEP_OK;
  }

  int ended = 0;
  req = jobs_request(c, IPP_OP_ACKNOWLEDGE_DOCUMENT, uri, job_id);
  ippAddInteger(req, IPP_TAG_OPERATION, IPP_TAG_INTEGER, "document-number", doc_no);
  step_t s = jobs_simple_ended(c, req, uri, "Acknowledge-Document", job_id, NULL, &ended);
  if (ended) {
    jobs_note_ended(tick, ended, "Acknowledge-Document");
    *more = false;
    return STEP_OK;
  }
  if (s != STEP_OK && s != STEP_FAILED) return s;
  req = jobs_request(c, IPP_OP_UPDATE_DOCUMENT_STATUS, uri, job_id);
  ippAddInteger(req, IPP_TAG_OPERATION, IPP_TAG_INTEGER, "document-number", doc_no);
  ippAddSeparator(req);
  ippAddInteger(req, IPP_TAG_DOCUMENT, IPP_TAG_INTEGER, "impressions-completed", res->impressions);
  s = jobs_simple_ended(c, req, uri, "Update-Document-Status", job_id, NULL, &ended);
  if (ended) {
    jobs_note_ended(tick, ended, "Update-Document-Status");
    *more = false;
    return STEP_OK;
  }
  return s == STEP_FAILED ? STEP_OK : s;
}

/* Print one fetchable job. */
static step_t jobs_process(connector_t *c, const char *uri, int job_id) {
  const journal_entry_t *je = journal_find(&c->journal, job_id);
  if (je) {
    /* handed to the output before: never again; report what we know */
    journal_entry_t e = *je;
    log_event(LOG_INFO, NULL, "job already in the journal; not printing it again", "job",
              LOG_INT(job_id), (char *)NULL);
    step_t s = jobs_simple(c, jobs_request(c, IPP_OP_ACKNOWLEDGE_JOB, uri, job_id), uri,
                           "Acknowledge-Job", job_id, NULL);
    if (s != STEP_OK) return s == STEP_FAILED ? STEP_OK : s;
    if (e.phase == JOURNAL_HANDED && jobs_recover(c, uri, &e, 0)) return STEP_OK;
    if (e.phase == JOURNAL_REPORTED) e.phase = JOURNAL_DONE;
    s = jobs_report(c, uri, &e, NULL);
    return s == STEP_FAILED ? STEP_OK : s;
  }

  ipp_t *resp = NULL;
  ippc_status_t st;
  ippc_result_t r =
      ippc_send(&c->ippc, jobs_request(c, IPP_OP_FETCH_JOB, uri, job_id), uri, &resp, &st, false);
  if (r != IPPC_OK) {
    ippDelete(resp);
    if (r == IPPC_IPP_ERROR) {
      log_event(LOG_INFO, NULL, "job not fetchable any more", "job", LOG_INT(job_id), "status",
                ippErrorString((ipp_status_t)st.ipp_status), (char *)NULL);
      return STEP_OK;
    }
    return step_from_ippc(r);
  }
  ipp_t *job_attrs = resp;
  step_t s = jobs_simple(c, jobs_request(c, IPP_OP_ACKNOWLEDGE_JOB, uri, job_id), uri,
                         "Acknowledge-Job", job_id, &st);
  if (s != STEP_OK) {
    ippDelete(job_attrs);
    return s == STEP_FAILED ? STEP_OK : s; /* e.g. another device took it */
  }
  log_event(LOG_INFO, NULL, "job accepted", "job", LOG_INT(job_id), "queue", uri, (char *)NULL);
  int canceled = 0;
  s = jobs_update_status(c, uri, job_id, IPP_JSTATE_PROCESSING, 0, NULL, NULL, &canceled);
  if (canceled) {
    log_event(LOG_INFO, NULL, "the job was canceled at nimbusd before it was printed", "job",
              LOG_INT(job_id), (char *)NULL);
    ippDelete(job_attrs);
    return STEP_OK;
  }
  if (s != STEP_OK && s != STEP_FAILED) {
    ippDelete(job_attrs);
    return s;
  }
  pthread_mutex_lock(&c->lock);
  c->jobs_active++;
  pthread_mutex_unlock(&c->lock);

  int ndocs = jobs_int(job_attrs, "number-of-documents");
  int impressions = 0, state = IPP_JSTATE_COMPLETED;
  jobs_tick_t tick = {c, uri, job_id, time(NULL), false, STEP_OK, false, 0, 0};
  bool handed = false;
  c->watch_job = job_id; /* channel_check() looks for its job-state-changed events */
  c->watch_state = 0;
  s = STEP_OK;
  for (int doc = 1; ndocs <= 0 || doc <= ndocs; doc++) {
    bool more;
    output_result_t res;
    s = jobs_document(c, uri, job_id, doc, job_attrs, &more, &handed, &res, &tick);
    if (!handed) break; /* nothing reached the output: the job may be fetched again */
    if (tick.ended) {   /* canceled at nimbusd: what the output made of it */
      impressions += res.impressions;
      state = res.job_state;
      break;
    }
    if (!more && res.job_state == IPP_JSTATE_COMPLETED) break; /* no such document */
    impressions += res.impressions;
    if (res.job_state != IPP_JSTATE_COMPLETED || s != STEP_OK || !more) {
      state = res.job_state;
      if (res.reason[0])
        log_event(LOG_WARN, NULL, "job not completed", "job", LOG_INT(job_id), "reason", res.reason,
                  (char *)NULL);
      break;
    }
  }
  c->watch_job = 0;
  c->watch_state = 0;
  if (state == IPP_JSTATE_COMPLETED && impressions == 0 && !tick.ended) {
    /* the printer did not count: the job's own count */
    impressions = jobs_int(job_attrs, "job-impressions");
    if (!impressions) impressions = jobs_int(job_attrs, "job-pages");
  }
  ippDelete(job_attrs);
  pthread_mutex_lock(&c->lock);
  c->jobs_active--;
  pthread_mutex_unlock(&c->lock);

  if (!handed) return s == STEP_FAILED ? STEP_OK : s;
  if (tick.ended) {
    /* nimbusd ended the job: journalled, not reported (it would refuse) */
    jobs_record_ended(c, job_id, state, impressions, output_remote_id(c->output));
    log_event(LOG_INFO, NULL, "job canceled at nimbusd; stopped at the output", "job",
              LOG_INT(job_id), "output_state", jobs_state_name(state), "impressions",
              LOG_INT(impressions), (char *)NULL);
    return s == STEP_FAILED ? STEP_OK : s;
  }
  journal_entry_t e = {job_id, JOURNAL_DONE, state, impressions, output_remote_id(c->output)};
  journal_record(&c->journal, &e);
  if (state == IPP_JSTATE_COMPLETED) connector_job_printed(c);
  if (s == STEP_DELETED || s == STEP_STOPPED || s == STEP_TRANSIENT) return s;
  s = jobs_report(c, uri, &e, NULL);
  return s == STEP_FAILED ? STEP_OK : s;
}

step_t jobs_poll_queue(connector_t *c, const char *queue_uri) {
  static const char *const want[] = {"job-id", "job-state"};
  ipp_t *req = ippc_request(&c->ippc, IPP_OP_GET_JOBS, queue_uri);
  ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_KEYWORD, "which-jobs", NULL, "fetchable");
  ippAddStrings(req, IPP_TAG_OPERATION, IPP_TAG_KEYWORD, "requested-attributes", 2, NULL, want);
  ipp_t *resp;
  ippc_status_t st;
  ippc_result_t r = ippc_send(&c->ippc, req, queue_uri, &resp, &st, false);
  if (r != IPPC_OK) {
    log_event(r == IPPC_DELETED ? LOG_INFO : LOG_WARN, NULL, "Get-Jobs failed", "result",
              ippc_result_name(r), "http", LOG_INT(st.http_status), "status",
              st.http_status == 200 ? ippErrorString((ipp_status_t)st.ipp_status) : NULL, "error",
              st.message, (char *)NULL);
    ippDelete(resp);
    return step_from_ippc(r);
  }
  connector_contact(c);
  int ids[JOBS_LIST_MAX];
  size_t n = 0;
  for (ipp_attribute_t *a = ippFindAttribute(resp, "job-id", IPP_TAG_INTEGER);
       a && n < JOBS_LIST_MAX; a = ippFindNextAttribute(resp, "job-id", IPP_TAG_INTEGER))
    ids[n++] = ippGetInteger(a, 0);
  ippDelete(resp);
  for (size_t i = 0; i < n; i++) {
    step_t s = jobs_process(c, queue_uri, ids[i]);
    if (s != STEP_OK) return s;
  }
  return STEP_OK;
}
