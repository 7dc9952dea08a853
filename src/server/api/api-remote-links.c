/*
 * api-remote-links.c: /api/v1/remote-links of the tenant acted on (tenant
 * admins; docs/FEDERATION.md §1, §3; docs/PROTOCOL.md §4).
 *
 *   GET    /remote-links              → {remote_links:[link...]}
 *   POST   /remote-links              {name, printer_uri, queue,
 *                                      claim_code? | credential?,
 *                                      system_uri?, service_url?} → 201
 *   GET    /remote-links/{name}       → link
 *   PATCH  /remote-links/{name}       {queue?, claim_code? | credential?} → link
 *   DELETE /remote-links/{name}       → 204 (Deregister-Output-Device, best effort)
 *   GET    /remote-links/{name}/jobs  → {jobs:[remote job...]}
 *
 * The claim code and the credential are sealed at once and never shown
 * or logged; the record says only whether the link is registered
 * (output_device_uuid).  A change of credential or claim code sends the
 * link back to "connecting" and wakes the sync thread.
 */
#include <stdlib.h>
#include <string.h>

#include "api-private.h"
#include "log.h"
#include "remote-link.h"
#include "remote-sync.h"

/* The deregistration at DELETE waits at most this long for the remote. */
#define API_REMOTE_DEREGISTER_TIMEOUT 10

/* A link's record (FEDERATION.md §3). */
static json_t *remote_link_json(const nimbus_remote_link_t *l) {
  return json_pack(
      "{s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:o, s:o, s:o, s:i, s:o}", "name",
      api_json_text(l->name), "printer_uri", api_json_text(l->printer_uri), "system_uri",
      api_json_text(l->system_uri), "service_url", api_json_text(l->service_url), "queue",
      api_json_text(l->queue_name), "output_device_uuid",
      l->output_device_uuid[0] ? api_json_text(l->output_device_uuid) : json_null(), "status",
      l->status, "last_error", l->last_error[0] ? api_json_text(l->last_error) : json_null(),
      "last_ok_at", api_json_time(l->last_ok_at), "next_try_at",
      api_json_time(l->next_try_at > 0 && strcmp(l->status, REMOTE_STATUS_OK) != 0 ? l->next_try_at
                                                                                   : 0),
      "jobs", l->jobs, "created_at", api_json_time(l->created_at));
}

/* A remote job's stored metadata. */
static json_t *remote_job_json(const nimbus_remote_job_t *j) {
  return json_pack("{s:i, s:o, s:o, s:i, s:i, s:o, s:o, s:o, s:o, s:i, s:o, s:o}", "remote_id",
                   j->remote_job_id, "name", api_json_text(j->name), "owner",
                   api_json_text(j->owner), "pages", j->pages, "copies", j->copies, "sides",
                   j->sides[0] ? api_json_text(j->sides) : json_null(), "print-color-mode",
                   j->color_mode[0] ? api_json_text(j->color_mode) : json_null(), "media",
                   j->media[0] ? api_json_text(j->media) : json_null(), "submitted_at",
                   api_json_time(j->submitted_at), "remote_state", j->remote_state, "seen_at",
                   api_json_time(j->seen_at), "local_job_id",
                   j->local_job_id ? json_integer(j->local_job_id) : json_null());
}

void api_remote_links_list(api_ctx_t *c) {
  nimbus_remote_link_t *v = calloc(REMOTE_LINKS_MAX, sizeof *v);
  int n = 0;
  store_status_t s =
      v ? store_remote_link_list(c->srv->store, c->tenant.id, v, REMOTE_LINKS_MAX, &n)
        : STORE_ERROR;
  api_list_t l = {c, json_array(), false};
  for (int i = 0; s == STORE_OK && i < n; i++) api_list_append(&l, remote_link_json(&v[i]));
  if (v) memset(v, 0, REMOTE_LINKS_MAX * sizeof *v); /* sealed secrets do not linger */
  free(v);
  api_list_respond(&l, s, "remote_links", "remote link");
}

/* The queue named by member "queue" into l; false has responded. */
static bool remote_link_queue(api_ctx_t *c, nimbus_remote_link_t *l, bool required) {
  const char *queue;
  if (!api_body_string(c, "queue", required, 255, &queue)) return false;
  if (!queue) return true;
  nimbus_queue_t q;
  store_status_t s = store_queue_get_by_name(c->srv->store, c->tenant.id, queue, &q);
  if (s == STORE_NOT_FOUND) {
    api_problem(c->r, 400, "'queue': no queue named '%s'", queue);
    return false;
  }
  if (s != STORE_OK) {
    api_respond_store(c, s, "queue", queue);
    return false;
  }
  l->queue_id = q.id;
  snprintf(l->queue_name, sizeof l->queue_name, "%s", q.name);
  return true;
}

/* The claim_code or credential of the body, sealed into l; *given when one
 * was; false has responded. */
static bool remote_link_secret(api_ctx_t *c, nimbus_remote_link_t *l, bool *given) {
  const char *claim, *cred;
  *given = false;
  if (!api_body_string(c, "claim_code", false, 1024, &claim) ||
      !api_body_string(c, "credential", false, 1024, &cred))
    return false;
  if (claim && cred) {
    api_problem(c->r, 400, "give 'claim_code' or 'credential', not both");
    return false;
  }
  if (!claim && !cred) return true;
  char err[160];
  if (!remote_link_seal(c->srv, l, claim ? claim : cred, claim != NULL, err, sizeof err)) {
    if (strstr(err, "secrets key"))
      api_problem(c->r, 503, "%s", err);
    else
      api_problem(c->r, 400, "%s", err);
    return false;
  }
  if (cred) l->output_device_uuid[0] = '\0'; /* the credential names the device */
  *given = true;
  return true;
}

void api_remote_links_create(api_ctx_t *c) {
  static const char *const fields[] = {"name",       "printer_uri", "queue",       "claim_code",
                                       "credential", "system_uri",  "service_url", NULL};
  nimbus_remote_link_t *l = calloc(1, sizeof *l);
  const char *name, *printer_uri, *system_uri, *service_url;
  bool given;
  char err[160];
  if (!l) {
    api_problem(c->r, 500, "out of memory");
    goto done;
  }
  if (!api_body_only(c, fields) || !api_body_string(c, "name", true, 255, &name) ||
      !api_body_string(c, "printer_uri", true, NIMBUS_URI_MAX, &printer_uri) ||
      !api_body_string(c, "system_uri", false, NIMBUS_URI_MAX, &system_uri) ||
      !api_body_string(c, "service_url", false, NIMBUS_URI_MAX, &service_url))
    goto done;
  if (!api_name_valid(name)) {
    api_problem(c->r, 400, "'name' must be 1 to 63 of A-Z a-z 0-9 . _ -, not starting with . or -");
    goto done;
  }
  l->tenant_id = c->tenant.id;
  snprintf(l->name, sizeof l->name, "%s", name);
  if (!remote_link_set_uris(l, printer_uri, system_uri, service_url, err, sizeof err)) {
    api_problem(c->r, 400, "%s", err);
    goto done;
  }
  if (!remote_link_queue(c, l, true) || !remote_link_secret(c, l, &given)) goto done;
  if (!given) {
    api_problem(c->r, 400, "'claim_code' or 'credential' is required");
    goto done;
  }
  l->created_at = (int64_t)time(NULL);
  api_audit_t a;
  store_status_t s = store_remote_link_insert(
      c->srv->store, l,
      api_audit_of(c, &a, "remote-link.create", "%s printer_uri=%s queue=%s", l->name,
                   l->printer_uri, l->queue_name));
  if (s == STORE_CONFLICT) {
    api_problem(c->r, 409, "a remote link named '%s' already exists", l->name);
    goto done;
  }
  if (s != STORE_OK) {
    api_respond_store(c, s, "remote link", l->name);
    goto done;
  }
  log_event(LOG_INFO, c->r->id, "remote printer link created", "tenant", c->tenant.name, "link",
            l->name, "printer_uri", l->printer_uri, "by", c->actor, (char *)NULL);
  remote_sync_wake(c->srv->remote_sync);
  api_respond(c, 201, remote_link_json(l));
done:
  api_body_wipe(c, "claim_code");
  api_body_wipe(c, "credential");
  if (l) memset(l, 0, sizeof *l);
  free(l);
}

/* The link named by the path into *l; false has responded. */
static bool remote_link_load(api_ctx_t *c, nimbus_remote_link_t *l) {
  store_status_t s = store_remote_link_get(c->srv->store, c->tenant.id, c->param, l);
  if (s != STORE_OK) {
    api_respond_store(c, s, "remote link", c->param);
    return false;
  }
  return true;
}

void api_remote_link_get(api_ctx_t *c) {
  nimbus_remote_link_t *l = calloc(1, sizeof *l);
  if (!l) {
    api_problem(c->r, 500, "out of memory");
    return;
  }
  if (remote_link_load(c, l)) api_respond(c, 200, remote_link_json(l));
  memset(l, 0, sizeof *l);
  free(l);
}

void api_remote_link_update(api_ctx_t *c) {
  static const char *const fields[] = {"queue", "claim_code", "credential", NULL};
  nimbus_remote_link_t *l = calloc(1, sizeof *l);
  bool given = false;
  if (!l) {
    api_problem(c->r, 500, "out of memory");
    goto done;
  }
  if (!api_body_only(c, fields) || !remote_link_load(c, l) || !remote_link_queue(c, l, false) ||
      !remote_link_secret(c, l, &given))
    goto done;
  if (!given) { /* any change retries a stopped link at once */
    snprintf(l->status, sizeof l->status, "%s", REMOTE_STATUS_CONNECTING);
    l->last_error[0] = '\0';
    l->failures = 0;
    l->next_try_at = (int64_t)time(NULL);
  }
  api_audit_t a;
  store_status_t s =
      store_remote_link_update(c->srv->store, l,
                               api_audit_of(c, &a, "remote-link.update", "%s queue=%s%s", l->name,
                                            l->queue_name, given ? " credential=changed" : ""));
  if (s != STORE_OK) {
    api_respond_store(c, s, "remote link", c->param);
    goto done;
  }
  log_event(LOG_INFO, c->r->id, "remote printer link updated", "tenant", c->tenant.name, "link",
            l->name, "by", c->actor, (char *)NULL);
  remote_sync_wake(c->srv->remote_sync);
  /* read back: the count of jobs and what the sync thread wrote meanwhile */
  if (store_remote_link_get(c->srv->store, c->tenant.id, c->param, l) != STORE_OK) {
    api_respond_store(c, STORE_NOT_FOUND, "remote link", c->param);
    goto done;
  }
  api_respond(c, 200, remote_link_json(l));
done:
  api_body_wipe(c, "claim_code");
  api_body_wipe(c, "credential");
  if (l) memset(l, 0, sizeof *l);
  free(l);
}

void api_remote_link_delete(api_ctx_t *c) {
  nimbus_remote_link_t *l = calloc(1, sizeof *l);
  if (!l) {
    api_problem(c->r, 500, "out of memory");
    return;
  }
  if (!remote_link_load(c, l)) goto done;
  char err[300] = "";
  bool deregistered =
      remote_link_deregister(c->srv, l, API_REMOTE_DEREGISTER_TIMEOUT, err, sizeof err);
  api_audit_t a;
  store_status_t s =
      store_remote_link_delete(c->srv->store, c->tenant.id, l->id,
                               api_audit_of(c, &a, "remote-link.delete", "%s deregistered=%s",
                                            l->name, deregistered ? "yes" : "no"));
  if (s != STORE_OK) {
    api_respond_store(c, s, "remote link", c->param);
    goto done;
  }
  log_event(LOG_INFO, c->r->id, "remote printer link deleted", "tenant", c->tenant.name, "link",
            l->name, "deregistered", deregistered ? "yes" : "no", "by", c->actor, (char *)NULL);
  api_respond_no_content(c);
done:
  memset(l, 0, sizeof *l);
  free(l);
}

void api_remote_link_jobs(api_ctx_t *c) {
  nimbus_remote_link_t *l = calloc(1, sizeof *l);
  nimbus_remote_job_t *jobs = calloc(REMOTE_JOBS_MAX, sizeof *jobs);
  if (!l || !jobs) {
    api_problem(c->r, 500, "out of memory");
    goto done;
  }
  if (!remote_link_load(c, l)) goto done;
  int total = 0;
  store_status_t s =
      store_remote_job_list(c->srv->store, c->tenant.id, l->id, jobs, REMOTE_JOBS_MAX, &total);
  api_list_t out = {c, json_array(), false};
  for (int i = 0; s == STORE_OK && i < total && i < REMOTE_JOBS_MAX; i++)
    api_list_append(&out, remote_job_json(&jobs[i]));
  api_list_respond(&out, s, "jobs", "remote job");
done:
  if (l) memset(l, 0, sizeof *l);
  free(l);
  free(jobs);
}
