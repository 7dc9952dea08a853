/*
 * api-remote-jobs.c: the remote jobs of a user's linked accounts in the
 * job lists (docs/FEDERATION.md §4): the panel's GET /device/jobs and
 * REST GET /jobs?include=remote merge them with the local jobs, newest
 * submission first, each marked by its origin.  The release of a remote
 * job at the panel is in api-device.c (it shares the local release's
 * answers); the take itself is federation/remote-take.c.
 */
#include <stdlib.h>
#include <string.h>

#include "account-link.h"
#include "api-private.h"

/* Most remote jobs one list shows. */
#define API_REMOTE_JOBS_MAX 2000

json_t *api_job_origin_json(api_ctx_t *c, const nimbus_job_t *job) {
  /* a taken remote job's local copy came through a printer: only those
   * are looked up */
  if (job->origin_device_id) {
    store_remote_query_t q = {
        .which = STORE_REMOTE_Q_LOCAL, .tenant_id = c->tenant.id, .local_job_id = job->id};
    nimbus_remote_job_t rj;
    int n = 0;
    if (store_remote_job_query(c->srv->store, &q, &rj, 1, &n) == STORE_OK && n > 0)
      return json_pack("{s:s, s:s, s:s, s:i}", "kind", "remote", "link", rj.link_name, "service",
                       rj.service_url, "remote_job_id", rj.remote_job_id);
  }
  return json_pack("{s:s}", "kind", "local");
}

/* One remote job as a list item: no local id, its remote_id instead. */
static json_t *api_remote_job_json(const nimbus_remote_job_t *rj) {
  char rid[NIMBUS_NAME_MAX + 16];
  snprintf(rid, sizeof rid, "%s:%d", rj->link_name, rj->remote_job_id);
  return json_pack("{s:s, s:o, s:i, s:i, s:s?, s:s?, s:s?, s:o, s:s, s:{s:s, s:s, s:s}}",
                   "remote_id", rid, "name", api_json_text(rj->name), "pages", rj->pages, "copies",
                   rj->copies > 0 ? rj->copies : 1, "sides", rj->sides[0] ? rj->sides : NULL,
                   "print-color-mode", rj->color_mode[0] ? rj->color_mode : NULL, "media",
                   rj->media[0] ? rj->media : NULL, "created_at", api_json_time(rj->submitted_at),
                   "state", "remote", "origin", "kind", "remote", "link", rj->link_name, "service",
                   rj->service_url);
}

bool api_remote_jobs_add(api_ctx_t *c, nimbus_id_t user_id, json_t *arr, int *total) {
  *total = 0;
  nimbus_remote_job_t *rjs = calloc(API_REMOTE_JOBS_MAX, sizeof *rjs);
  if (!rjs) return false;
  store_remote_query_t q = {
      .which = STORE_REMOTE_Q_USER, .tenant_id = c->tenant.id, .user_id = user_id};
  int n = 0;
  bool ok = store_remote_job_query(c->srv->store, &q, rjs, API_REMOTE_JOBS_MAX, &n) == STORE_OK;
  *total = n;
  if (n > API_REMOTE_JOBS_MAX) n = API_REMOTE_JOBS_MAX;
  for (int i = 0; ok && i < n; i++)
    ok = json_array_append_new(arr, api_remote_job_json(&rjs[i])) == 0;
  free(rjs);
  return ok;
}

/* Newer created_at first (the same ISO 8601 UTC form sorts as text);
 * null last. */
static int api_created_desc(const void *a, const void *b) {
  const char *x = json_string_value(json_object_get(*(json_t *const *)a, "created_at"));
  const char *y = json_string_value(json_object_get(*(json_t *const *)b, "created_at"));
  if (!x || !y) return !x - !y;
  return strcmp(y, x);
}

bool api_jobs_sort_newest(json_t *arr) {
  size_t n = json_array_size(arr);
  if (n < 2) return true;
  json_t **items = calloc(n, sizeof *items);
  if (!items) return false;
  for (size_t i = 0; i < n; i++) items[i] = json_incref(json_array_get(arr, i));
  qsort(items, n, sizeof *items, api_created_desc);
  json_array_clear(arr);
  bool ok = true;
  for (size_t i = 0; i < n; i++)
    if (ok)
      ok = json_array_append_new(arr, items[i]) == 0;
    else
      json_decref(items[i]);
  free(items);
  return ok;
}

/* store_account_link_list callback: one {"service","status"} each. */
static bool api_link_status_add(const nimbus_account_link_t *l, void *ctx) {
  json_t *o = json_pack("{s:s, s:s}", "service", l->service_url, "status",
                        account_link_status_name(l->status));
  return o && json_array_append_new(ctx, o) == 0;
}

json_t *api_account_links_status(api_ctx_t *c, nimbus_id_t user_id) {
  json_t *arr = json_array();
  if (arr && store_account_link_list(c->srv->store, c->tenant.id, user_id, api_link_status_add,
                                     arr) != STORE_OK) {
    json_decref(arr);
    arr = NULL;
  }
  return arr;
}
