/*
 * store-pg-remote.c: remote printer links and the metadata of their remote
 * jobs (tables remote_links, remote_jobs, migration 9) in the PostgreSQL
 * backend (store.h; the policy is in federation/).
 */
#include <stdlib.h>
#include <string.h>

#include "store-pg-private.h"

#define LINK_COLS                                                                               \
  "l.id, l.tenant_id, l.name, l.printer_uri, l.system_uri, l.service_url, l.queue_id, q.name, " \
  "l.claim_pending, l.sealed, l.output_device_uuid, l.subscription_id, l.last_sequence, "       \
  "l.status, l.last_error, l.last_ok_at, l.next_try_at, l.failures, l.created_at, l.revision, " \
  "(SELECT count(*) FROM remote_jobs j WHERE j.link_id = l.id)"
#define LINK_FROM " FROM remote_links l JOIN queues q ON q.id = l.queue_id "

#define RQ_COLS                                                                             \
  "j.link_id, j.remote_job_id, j.name, j.owner, j.pages, j.copies, j.sides, j.color_mode, " \
  "j.media, j.submitted_at, j.remote_state, j.seen_at, coalesce(j.local_job_id, 0), "       \
  "l.name, l.service_url, j.reported_state, j.reported_impressions, j.reported_done, "      \
  "count(*) OVER (), j.tenant_id "
#define RQ_FROM " FROM remote_jobs j JOIN remote_links l ON l.id = j.link_id "

static const char *const remote_sql[PS_LINK_FIRST - PS_REMOTE_FIRST] = {
#define R(id) [(id)-PS_REMOTE_FIRST]
    R(PS_REMOTE_LINK_INSERT) =
        "INSERT INTO remote_links (tenant_id, name, printer_uri, system_uri, service_url, "
        "queue_id, claim_pending, sealed, status, next_try_at, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7::bigint <> 0, $8, $9, $10, $11) RETURNING id",
    R(PS_REMOTE_LINK_GET) = "SELECT " LINK_COLS LINK_FROM "WHERE l.tenant_id = $1 AND l.name = $2",
    R(PS_REMOTE_LINK_LIST) = "SELECT " LINK_COLS LINK_FROM
                             "WHERE $1::bigint = 0 OR l.tenant_id = $1::bigint "
                             "ORDER BY l.tenant_id, l.name LIMIT $2",
    R(PS_REMOTE_LINK_UPDATE) =
        "UPDATE remote_links SET queue_id = $3, claim_pending = $4::bigint <> 0, sealed = $5, "
        "status = $6, last_error = $7, next_try_at = $8, failures = $9, subscription_id = $10, "
        "revision = revision + 1 WHERE tenant_id = $1 AND id = $2",
    R(PS_REMOTE_LINK_SET_STATE) =
        "UPDATE remote_links SET claim_pending = $4::bigint <> 0, sealed = $5, "
        "output_device_uuid = $6, subscription_id = $7, last_sequence = $8, status = $9, "
        "last_error = $10, last_ok_at = $11, next_try_at = $12, failures = $13 "
        "WHERE tenant_id = $1 AND id = $2 AND revision = $3",
    R(PS_REMOTE_LINK_DELETE) = "DELETE FROM remote_links WHERE tenant_id = $1 AND id = $2",
    R(PS_REMOTE_JOB_UPSERT) =
        "INSERT INTO remote_jobs (link_id, tenant_id, remote_job_id, name, owner, pages, copies, "
        "sides, color_mode, media, submitted_at, remote_state, seen_at, sync_mark) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) "
        "ON CONFLICT (link_id, remote_job_id) DO UPDATE SET name = excluded.name, "
        "owner = excluded.owner, pages = excluded.pages, copies = excluded.copies, "
        "sides = excluded.sides, color_mode = excluded.color_mode, media = excluded.media, "
        "submitted_at = excluded.submitted_at, remote_state = excluded.remote_state, "
        "seen_at = excluded.seen_at, sync_mark = excluded.sync_mark",
    R(PS_REMOTE_JOB_PRUNE) =
        "DELETE FROM remote_jobs WHERE link_id = $1 AND tenant_id = $2 AND sync_mark <> $3 "
        "AND local_job_id IS NULL",
    R(PS_REMOTE_JOB_LIST) =
        "SELECT link_id, remote_job_id, name, owner, pages, copies, sides, color_mode, media, "
        "submitted_at, remote_state, seen_at, coalesce(local_job_id, 0), count(*) OVER () "
        "FROM remote_jobs WHERE tenant_id = $1 AND link_id = $2 "
        "ORDER BY submitted_at DESC, remote_job_id DESC LIMIT $3",
    /* the federation reads (store_remote_job_query): RQ_COLS, then the count */
    R(PS_REMOTE_JOB_Q_USER) = "SELECT " RQ_COLS RQ_FROM
                              "JOIN account_links a ON a.tenant_id = j.tenant_id "
                              "AND a.user_id = $2 AND a.status = $3 "
                              "AND a.service_url = l.service_url AND a.remote_user = j.owner "
                              "WHERE j.tenant_id = $1 AND j.local_job_id IS NULL "
                              "AND j.remote_state NOT IN (7, 8, 9) "
                              "ORDER BY j.submitted_at DESC, j.remote_job_id DESC LIMIT $4",
    R(PS_REMOTE_JOB_Q_ONE) = "SELECT " RQ_COLS RQ_FROM
                             "WHERE j.tenant_id = $1 AND j.link_id = $2 AND j.remote_job_id = $3",
    R(PS_REMOTE_JOB_Q_LOCAL) =
        "SELECT " RQ_COLS RQ_FROM "WHERE j.tenant_id = $1 AND j.local_job_id = $2",
    R(PS_REMOTE_JOB_Q_REPORT) = "SELECT " RQ_COLS RQ_FROM
                                "WHERE j.local_job_id IS NOT NULL AND NOT j.reported_done "
                                "ORDER BY j.tenant_id, j.local_job_id LIMIT $1",
    R(PS_REMOTE_JOB_TAKE) =
        "UPDATE remote_jobs SET local_job_id = $4 WHERE tenant_id = $1 "
        "AND link_id = $2 AND remote_job_id = $3 AND local_job_id IS NULL",
    R(PS_REMOTE_JOB_DROP) =
        "DELETE FROM remote_jobs WHERE tenant_id = $1 AND link_id = $2 AND remote_job_id = $3",
    R(PS_REMOTE_JOB_REPORTED) =
        "UPDATE remote_jobs SET reported_state = $4, reported_impressions = $5, "
        "reported_done = $6::bigint <> 0 WHERE tenant_id = $1 AND link_id = $2 "
        "AND remote_job_id = $3",
#undef R
};

const char *pg_remote_sql(pg_stmt_id_t id) {
  return id >= PS_REMOTE_FIRST && id < PS_LINK_FIRST ? remote_sql[id - PS_REMOTE_FIRST] : NULL;
}

/* Row i of a LINK_COLS result into l. */
static void link_from_row(const PGresult *r, int i, nimbus_remote_link_t *l) {
  memset(l, 0, sizeof *l);
  l->id = pg_get_int64(r, i, 0);
  l->tenant_id = pg_get_int64(r, i, 1);
  PG_GET_FIELD(r, i, 2, l->name);
  PG_GET_FIELD(r, i, 3, l->printer_uri);
  PG_GET_FIELD(r, i, 4, l->system_uri);
  PG_GET_FIELD(r, i, 5, l->service_url);
  l->queue_id = pg_get_int64(r, i, 6);
  PG_GET_FIELD(r, i, 7, l->queue_name);
  l->claim_pending = pg_get_bool(r, i, 8);
  void *b = NULL;
  size_t n = 0;
  if (pg_get_bytes_copy(r, i, 9, &b, &n) && b && n <= sizeof l->sealed) {
    memcpy(l->sealed, b, n);
    l->sealed_len = (int)n;
  }
  free(b);
  PG_GET_FIELD(r, i, 10, l->output_device_uuid);
  l->subscription_id = pg_get_int(r, i, 11);
  l->last_sequence = pg_get_int(r, i, 12);
  PG_GET_FIELD(r, i, 13, l->status);
  PG_GET_FIELD(r, i, 14, l->last_error);
  l->last_ok_at = pg_get_int64(r, i, 15);
  l->next_try_at = pg_get_int64(r, i, 16);
  l->failures = pg_get_int(r, i, 17);
  l->created_at = pg_get_int64(r, i, 18);
  l->revision = pg_get_int64(r, i, 19);
  l->jobs = pg_get_int(r, i, 20);
}

store_status_t pg_remote_link_insert(store_t *base, nimbus_remote_link_t *l,
                                     const store_audit_t *audit) {
  pg_store_t *st = pg_of(base);
  pg_conn_t *c = pg_acquire(st, "remote link insert");
  if (!c) return STORE_ERROR;
  pg_params_t p = {0};
  pg_param_int(&p, l->tenant_id);
  PG_PARAM_FIELD(&p, l->name);
  PG_PARAM_FIELD(&p, l->printer_uri);
  PG_PARAM_FIELD(&p, l->system_uri);
  PG_PARAM_FIELD(&p, l->service_url);
  pg_param_int(&p, l->queue_id);
  pg_param_int(&p, l->claim_pending ? 1 : 0);
  pg_param_bytes(&p, l->sealed, (size_t)(l->sealed_len > 0 ? l->sealed_len : 0));
  PG_PARAM_FIELD(&p, l->status);
  pg_param_int(&p, l->next_try_at);
  pg_param_int(&p, l->created_at);
  PGresult *r = NULL;
  nimbus_id_t id = 0;
  store_status_t status = pg_audit_begin(c, audit);
  if (status == STORE_OK) status = pg_exec(c, PS_REMOTE_LINK_INSERT, &p, &r, "remote link insert");
  if (status == STORE_OK) {
    if (PQntuples(r) == 1)
      id = pg_get_int64(r, 0, 0);
    else
      status = STORE_ERROR;
    PQclear(r);
  }
  status = pg_audit_end(c, audit, status, id);
  if (status == STORE_OK) {
    l->id = id;
    l->revision = 1;
  }
  pg_release(st, c);
  return status;
}

store_status_t pg_remote_link_get(store_t *base, nimbus_id_t tenant_id, const char *name,
                                  nimbus_remote_link_t *out) {
  pg_store_t *st = pg_of(base);
  pg_conn_t *c = pg_acquire(st, "remote link get");
  if (!c) return STORE_ERROR;
  pg_params_t p = {0};
  pg_param_int(&p, tenant_id);
  pg_param_text(&p, name, strlen(name));
  PGresult *r;
  store_status_t status = pg_exec_row(c, PS_REMOTE_LINK_GET, &p, &r, "remote link get");
  if (status == STORE_OK) {
    link_from_row(r, 0, out);
    PQclear(r);
  }
  pg_release(st, c);
  return status;
}

store_status_t pg_remote_link_list(store_t *base, nimbus_id_t tenant_id, nimbus_remote_link_t *out,
                                   int max, int *count) {
  pg_store_t *st = pg_of(base);
  pg_conn_t *c = pg_acquire(st, "remote link list");
  if (!c) return STORE_ERROR;
  pg_params_t p = {0};
  pg_param_int(&p, tenant_id);
  pg_param_int(&p, max);
  PGresult *r = NULL;
  store_status_t status = pg_exec(c, PS_REMOTE_LINK_LIST, &p, &r, "remote link list");
  if (status == STORE_OK) {
    int n = PQntuples(r);
    for (int i = 0; i < n && i < max; i++) link_from_row(r, i, &out[i]);
    *count = n < max ? n : max;
    PQclear(r);
  }
  pg_release(st, c);
  return status;
}

store_status_t pg_remote_link_update(store_t *base, nimbus_remote_link_t *l,
                                     const store_audit_t *audit) {
  pg_store_t *st = pg_of(base);
  pg_conn_t *c = pg_acquire(st, "remote link update");
  if (!c) return STORE_ERROR;
  pg_params_t p = {0};
  pg_param_int(&p, l->tenant_id);
  pg_param_int(&p, l->id);
  pg_param_int(&p, l->queue_id);
  pg_param_int(&p, l->claim_pending ? 1 : 0);
  pg_param_bytes(&p, l->sealed, (size_t)(l->sealed_len > 0 ? l->sealed_len : 0));
  PG_PARAM_FIELD(&p, l->status);
  PG_PARAM_FIELD(&p, l->last_error);
  pg_param_int(&p, l->next_try_at);
  pg_param_int(&p, l->failures);
  pg_param_int(&p, l->subscription_id);
  store_status_t status = pg_audit_begin(c, audit);
  if (status == STORE_OK)
    status = pg_exec_changes(c, PS_REMOTE_LINK_UPDATE, &p, "remote link update");
  status = pg_audit_end(c, audit, status, l->id);
  if (status == STORE_OK) l->revision++;
  pg_release(st, c);
  return status;
}

store_status_t pg_remote_link_set_state(store_t *base, const nimbus_remote_link_t *l) {
  pg_store_t *st = pg_of(base);
  pg_conn_t *c = pg_acquire(st, "remote link set state");
  if (!c) return STORE_ERROR;
  pg_params_t p = {0};
  pg_param_int(&p, l->tenant_id);
  pg_param_int(&p, l->id);
  pg_param_int(&p, l->revision);
  pg_param_int(&p, l->claim_pending ? 1 : 0);
  pg_param_bytes(&p, l->sealed, (size_t)(l->sealed_len > 0 ? l->sealed_len : 0));
  PG_PARAM_FIELD(&p, l->output_device_uuid);
  pg_param_int(&p, l->subscription_id);
  pg_param_int(&p, l->last_sequence);
  PG_PARAM_FIELD(&p, l->status);
  PG_PARAM_FIELD(&p, l->last_error);
  pg_param_int(&p, l->last_ok_at);
  pg_param_int(&p, l->next_try_at);
  pg_param_int(&p, l->failures);
  store_status_t status = pg_exec_changes(c, PS_REMOTE_LINK_SET_STATE, &p, "remote link set state");
  pg_release(st, c);
  return status;
}

store_status_t pg_remote_link_delete(store_t *base, nimbus_id_t tenant_id, nimbus_id_t id,
                                     const store_audit_t *audit) {
  pg_store_t *st = pg_of(base);
  pg_conn_t *c = pg_acquire(st, "remote link delete");
  if (!c) return STORE_ERROR;
  pg_params_t p = {0};
  pg_param_int(&p, tenant_id);
  pg_param_int(&p, id);
  store_status_t status = pg_audit_begin(c, audit);
  if (status == STORE_OK)
    status = pg_exec_changes(c, PS_REMOTE_LINK_DELETE, &p, "remote link delete");
  status = pg_audit_end(c, audit, status, id);
  pg_release(st, c);
  return status;
}

typedef struct {
  nimbus_id_t tenant_id, link_id;
  const nimbus_remote_job_t *jobs;
  int n;
  int64_t now, mark;
} replace_t;

/* The upserts and the prune of pg_remote_jobs_replace, in its transaction. */
static store_status_t replace_tx(pg_conn_t *c, void *arg) {
  const replace_t *a = arg;
  store_status_t status = STORE_OK;
  for (int i = 0; status == STORE_OK && i < a->n; i++) {
    const nimbus_remote_job_t *j = &a->jobs[i];
    pg_params_t p = {0};
    pg_param_int(&p, a->link_id);
    pg_param_int(&p, a->tenant_id);
    pg_param_int(&p, j->remote_job_id);
    PG_PARAM_FIELD(&p, j->name);
    PG_PARAM_FIELD(&p, j->owner);
    pg_param_int(&p, j->pages);
    pg_param_int(&p, j->copies);
    PG_PARAM_FIELD(&p, j->sides);
    PG_PARAM_FIELD(&p, j->color_mode);
    PG_PARAM_FIELD(&p, j->media);
    pg_param_int(&p, j->submitted_at);
    pg_param_int(&p, j->remote_state);
    pg_param_int(&p, a->now);
    pg_param_int(&p, a->mark);
    PGresult *r = NULL;
    status = pg_exec(c, PS_REMOTE_JOB_UPSERT, &p, &r, "remote job upsert");
    if (r) PQclear(r);
  }
  if (status != STORE_OK) return status;
  pg_params_t p = {0};
  pg_param_int(&p, a->link_id);
  pg_param_int(&p, a->tenant_id);
  pg_param_int(&p, a->mark);
  PGresult *r = NULL;
  status = pg_exec(c, PS_REMOTE_JOB_PRUNE, &p, &r, "remote job prune");
  if (r) PQclear(r);
  return status;
}

store_status_t pg_remote_jobs_replace(store_t *base, nimbus_id_t tenant_id, nimbus_id_t link_id,
                                      const nimbus_remote_job_t *jobs, int n, int64_t now,
                                      int64_t mark) {
  replace_t a = {tenant_id, link_id, jobs, n, now, mark};
  return pg_transaction(pg_of(base), replace_tx, &a, "remote jobs replace");
}

store_status_t pg_remote_job_list(store_t *base, nimbus_id_t tenant_id, nimbus_id_t link_id,
                                  nimbus_remote_job_t *out, int max, int *count) {
  pg_store_t *st = pg_of(base);
  pg_conn_t *c = pg_acquire(st, "remote job list");
  if (!c) return STORE_ERROR;
  pg_params_t p = {0};
  pg_param_int(&p, tenant_id);
  pg_param_int(&p, link_id);
  pg_param_int(&p, max > 0 ? max : 1);
  PGresult *r = NULL;
  store_status_t status = pg_exec(c, PS_REMOTE_JOB_LIST, &p, &r, "remote job list");
  if (status == STORE_OK) {
    int n = PQntuples(r);
    for (int i = 0; i < n && i < max; i++) {
      nimbus_remote_job_t *j = &out[i];
      memset(j, 0, sizeof *j);
      j->link_id = pg_get_int64(r, i, 0);
      j->remote_job_id = pg_get_int(r, i, 1);
      PG_GET_FIELD(r, i, 2, j->name);
      PG_GET_FIELD(r, i, 3, j->owner);
      j->pages = pg_get_int(r, i, 4);
      j->copies = pg_get_int(r, i, 5);
      PG_GET_FIELD(r, i, 6, j->sides);
      PG_GET_FIELD(r, i, 7, j->color_mode);
      PG_GET_FIELD(r, i, 8, j->media);
      j->submitted_at = pg_get_int64(r, i, 9);
      j->remote_state = pg_get_int(r, i, 10);
      j->seen_at = pg_get_int64(r, i, 11);
      j->local_job_id = pg_get_int64(r, i, 12);
    }
    *count = n > 0 ? pg_get_int(r, 0, 13) : 0;
    PQclear(r);
  }
  pg_release(st, c);
  return status;
}

/* Row i of an RQ_COLS result into j. */
static void rjob_from_row(const PGresult *r, int i, nimbus_remote_job_t *j) {
  memset(j, 0, sizeof *j);
  j->link_id = pg_get_int64(r, i, 0);
  j->remote_job_id = pg_get_int(r, i, 1);
  PG_GET_FIELD(r, i, 2, j->name);
  PG_GET_FIELD(r, i, 3, j->owner);
  j->pages = pg_get_int(r, i, 4);
  j->copies = pg_get_int(r, i, 5);
  PG_GET_FIELD(r, i, 6, j->sides);
  PG_GET_FIELD(r, i, 7, j->color_mode);
  PG_GET_FIELD(r, i, 8, j->media);
  j->submitted_at = pg_get_int64(r, i, 9);
  j->remote_state = pg_get_int(r, i, 10);
  j->seen_at = pg_get_int64(r, i, 11);
  j->local_job_id = pg_get_int64(r, i, 12);
  PG_GET_FIELD(r, i, 13, j->link_name);
  PG_GET_FIELD(r, i, 14, j->service_url);
  j->reported_state = pg_get_int(r, i, 15);
  j->reported_impressions = pg_get_int(r, i, 16);
  j->reported_done = pg_get_bool(r, i, 17);
  j->tenant_id = pg_get_int64(r, i, 19);
}

store_status_t pg_remote_job_query(store_t *base, const store_remote_query_t *q,
                                   nimbus_remote_job_t *out, int max, int *count) {
  static const pg_stmt_id_t ids[] = {[STORE_REMOTE_Q_USER] = PS_REMOTE_JOB_Q_USER,
                                     [STORE_REMOTE_Q_ONE] = PS_REMOTE_JOB_Q_ONE,
                                     [STORE_REMOTE_Q_LOCAL] = PS_REMOTE_JOB_Q_LOCAL,
                                     [STORE_REMOTE_Q_REPORT] = PS_REMOTE_JOB_Q_REPORT};
  if ((int)q->which < 0 || (size_t)q->which >= sizeof ids / sizeof ids[0]) return STORE_ERROR;
  pg_store_t *st = pg_of(base);
  pg_conn_t *c = pg_acquire(st, "remote job query");
  if (!c) return STORE_ERROR;
  pg_params_t p = {0};
  switch (q->which) {
    case STORE_REMOTE_Q_USER:
      pg_param_int(&p, q->tenant_id);
      pg_param_int(&p, q->user_id);
      pg_param_int(&p, NIMBUS_LINK_LINKED);
      pg_param_int(&p, max > 0 ? max : 1);
      break;
    case STORE_REMOTE_Q_ONE:
      pg_param_int(&p, q->tenant_id);
      pg_param_int(&p, q->link_id);
      pg_param_int(&p, q->remote_job_id);
      break;
    case STORE_REMOTE_Q_LOCAL:
      pg_param_int(&p, q->tenant_id);
      pg_param_int(&p, q->local_job_id);
      break;
    case STORE_REMOTE_Q_REPORT:
      pg_param_int(&p, max > 0 ? max : 1);
      break;
  }
  PGresult *r = NULL;
  store_status_t status = pg_exec(c, ids[q->which], &p, &r, "remote job query");
  if (status == STORE_OK) {
    int n = PQntuples(r);
    for (int i = 0; i < n && i < max; i++) rjob_from_row(r, i, &out[i]);
    *count = n > 0 ? pg_get_int(r, 0, 18) : 0;
    PQclear(r);
  }
  pg_release(st, c);
  return status;
}

store_status_t pg_remote_job_change(store_t *base, nimbus_id_t tenant_id,
                                    store_remote_change_t what, const nimbus_remote_job_t *j) {
  pg_store_t *st = pg_of(base);
  pg_conn_t *c = pg_acquire(st, "remote job change");
  if (!c) return STORE_ERROR;
  pg_stmt_id_t id = what == STORE_REMOTE_TAKE   ? PS_REMOTE_JOB_TAKE
                    : what == STORE_REMOTE_DROP ? PS_REMOTE_JOB_DROP
                                                : PS_REMOTE_JOB_REPORTED;
  pg_params_t p = {0};
  pg_param_int(&p, tenant_id);
  pg_param_int(&p, j->link_id);
  pg_param_int(&p, j->remote_job_id);
  if (what == STORE_REMOTE_TAKE) pg_param_int(&p, j->local_job_id);
  if (what == STORE_REMOTE_REPORTED) {
    pg_param_int(&p, j->reported_state);
    pg_param_int(&p, j->reported_impressions);
    pg_param_int(&p, j->reported_done ? 1 : 0);
  }
  store_status_t status = pg_exec_changes(c, id, &p, "remote job change");
  pg_release(st, c);
  if (status == STORE_NOT_FOUND && what == STORE_REMOTE_TAKE) {
    /* taken already, or gone? */
    store_remote_query_t q = {.which = STORE_REMOTE_Q_ONE,
                              .tenant_id = tenant_id,
                              .link_id = j->link_id,
                              .remote_job_id = j->remote_job_id};
    nimbus_remote_job_t cur;
    int n = 0;
    if (pg_remote_job_query(base, &q, &cur, 1, &n) == STORE_OK && n > 0) status = STORE_CONFLICT;
  }
  return status;
}
