/*
 * store-sqlite-remote.c: remote printer links and the metadata of their
 * remote jobs (tables remote_links, remote_jobs, migration 18) in the
 * SQLite backend (store.h; the policy is in federation/).
 */
#include <string.h>

#include "store-sqlite-private.h"

#define LINK_COLS                                                                               \
  "l.id, l.tenant_id, l.name, l.printer_uri, l.system_uri, l.service_url, l.queue_id, q.name, " \
  "l.claim_pending, l.sealed, l.output_device_uuid, l.subscription_id, l.last_sequence, "       \
  "l.status, l.last_error, l.last_ok_at, l.next_try_at, l.failures, l.created_at, l.revision, " \
  "(SELECT count(*) FROM remote_jobs j WHERE j.link_id = l.id)"
#define LINK_FROM " FROM remote_links l JOIN queues q ON q.id = l.queue_id "
#define RJOB_COLS                                                                                \
  "link_id, remote_job_id, name, owner, pages, copies, sides, color_mode, media, submitted_at, " \
  "remote_state, seen_at, coalesce(local_job_id, 0)"

#define RQ_COLS                                                                             \
  "j.link_id, j.remote_job_id, j.name, j.owner, j.pages, j.copies, j.sides, j.color_mode, " \
  "j.media, j.submitted_at, j.remote_state, j.seen_at, coalesce(j.local_job_id, 0), "       \
  "l.name, l.service_url, j.reported_state, j.reported_impressions, j.reported_done, "      \
  "count(*) OVER (), j.tenant_id "
#define RQ_FROM " FROM remote_jobs j JOIN remote_links l ON l.id = j.link_id "

static const char *const remote_sql[S_LINK_FIRST - S_REMOTE_FIRST] = {
#define R(id) [(id)-S_REMOTE_FIRST]
    R(S_REMOTE_LINK_INSERT) =
        "INSERT INTO remote_links (tenant_id, name, printer_uri, system_uri, service_url, "
        "queue_id, claim_pending, sealed, status, next_try_at, created_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    R(S_REMOTE_LINK_GET) = "SELECT " LINK_COLS LINK_FROM "WHERE l.tenant_id = ?1 AND l.name = ?2",
    R(S_REMOTE_LINK_LIST) = "SELECT " LINK_COLS LINK_FROM
                            "WHERE ?1 = 0 OR l.tenant_id = ?1 ORDER BY l.tenant_id, l.name "
                            "LIMIT ?2",
    R(S_REMOTE_LINK_UPDATE) =
        "UPDATE remote_links SET queue_id = ?3, claim_pending = ?4, sealed = ?5, status = ?6, "
        "last_error = ?7, next_try_at = ?8, failures = ?9, subscription_id = ?10, "
        "revision = revision + 1 WHERE tenant_id = ?1 AND id = ?2",
    R(S_REMOTE_LINK_SET_STATE) =
        "UPDATE remote_links SET claim_pending = ?4, sealed = ?5, output_device_uuid = ?6, "
        "subscription_id = ?7, last_sequence = ?8, status = ?9, last_error = ?10, "
        "last_ok_at = ?11, next_try_at = ?12, failures = ?13 "
        "WHERE tenant_id = ?1 AND id = ?2 AND revision = ?3",
    R(S_REMOTE_LINK_DELETE) = "DELETE FROM remote_links WHERE tenant_id = ?1 AND id = ?2",
    R(S_REMOTE_JOB_UPSERT) =
        "INSERT INTO remote_jobs (link_id, tenant_id, remote_job_id, name, owner, pages, copies, "
        "sides, color_mode, media, submitted_at, remote_state, seen_at, sync_mark) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) "
        "ON CONFLICT (link_id, remote_job_id) DO UPDATE SET name = excluded.name, "
        "owner = excluded.owner, pages = excluded.pages, copies = excluded.copies, "
        "sides = excluded.sides, color_mode = excluded.color_mode, media = excluded.media, "
        "submitted_at = excluded.submitted_at, remote_state = excluded.remote_state, "
        "seen_at = excluded.seen_at, sync_mark = excluded.sync_mark",
    R(S_REMOTE_JOB_PRUNE) =
        "DELETE FROM remote_jobs WHERE link_id = ?1 AND tenant_id = ?2 AND sync_mark <> ?3 "
        "AND local_job_id IS NULL",
    R(S_REMOTE_JOB_LIST) = "SELECT " RJOB_COLS
                           " FROM remote_jobs WHERE tenant_id = ?1 AND link_id = ?2 "
                           "ORDER BY submitted_at DESC, remote_job_id DESC LIMIT ?3",
    R(S_REMOTE_JOB_COUNT) =
        "SELECT count(*) FROM remote_jobs WHERE tenant_id = ?1 AND link_id = ?2",
    /* the federation reads (store_remote_job_query): RQ_COLS, then the count */
    R(S_REMOTE_JOB_Q_USER) = "SELECT " RQ_COLS RQ_FROM
                             "JOIN account_links a ON a.tenant_id = j.tenant_id "
                             "AND a.user_id = ?2 AND a.status = ?3 "
                             "AND a.service_url = l.service_url AND a.remote_user = j.owner "
                             "WHERE j.tenant_id = ?1 AND j.local_job_id IS NULL "
                             "AND j.remote_state NOT IN (7, 8, 9) "
                             "ORDER BY j.submitted_at DESC, j.remote_job_id DESC LIMIT ?4",
    R(S_REMOTE_JOB_Q_ONE) = "SELECT " RQ_COLS RQ_FROM
                            "WHERE j.tenant_id = ?1 AND j.link_id = ?2 AND j.remote_job_id = ?3",
    R(S_REMOTE_JOB_Q_LOCAL) =
        "SELECT " RQ_COLS RQ_FROM "WHERE j.tenant_id = ?1 AND j.local_job_id = ?2",
    R(S_REMOTE_JOB_Q_REPORT) = "SELECT " RQ_COLS RQ_FROM
                               "WHERE j.local_job_id IS NOT NULL AND j.reported_done = 0 "
                               "ORDER BY j.tenant_id, j.local_job_id LIMIT ?1",
    R(S_REMOTE_JOB_TAKE) =
        "UPDATE remote_jobs SET local_job_id = ?4 WHERE tenant_id = ?1 "
        "AND link_id = ?2 AND remote_job_id = ?3 AND local_job_id IS NULL",
    R(S_REMOTE_JOB_DROP) =
        "DELETE FROM remote_jobs WHERE tenant_id = ?1 AND link_id = ?2 AND remote_job_id = ?3",
    R(S_REMOTE_JOB_REPORTED) =
        "UPDATE remote_jobs SET reported_state = ?4, reported_impressions = ?5, "
        "reported_done = ?6 WHERE tenant_id = ?1 AND link_id = ?2 AND remote_job_id = ?3",
#undef R
};

const char *sqlite_remote_sql(stmt_id_t id) {
  return id >= S_REMOTE_FIRST && id < S_LINK_FIRST ? remote_sql[id - S_REMOTE_FIRST] : NULL;
}

/* One remote_links row (LINK_COLS) into l. */
static void link_from_row(sqlite3_stmt *s, nimbus_remote_link_t *l) {
  memset(l, 0, sizeof *l);
  l->id = sqlite3_column_int64(s, 0);
  l->tenant_id = sqlite3_column_int64(s, 1);
  sqlite_copy_column(s, 2, l->name, sizeof l->name);
  sqlite_copy_column(s, 3, l->printer_uri, sizeof l->printer_uri);
  sqlite_copy_column(s, 4, l->system_uri, sizeof l->system_uri);
  sqlite_copy_column(s, 5, l->service_url, sizeof l->service_url);
  l->queue_id = sqlite3_column_int64(s, 6);
  sqlite_copy_column(s, 7, l->queue_name, sizeof l->queue_name);
  l->claim_pending = sqlite3_column_int(s, 8) != 0;
  int n = sqlite3_column_bytes(s, 9);
  const void *b = sqlite3_column_blob(s, 9);
  if (b && n > 0 && n <= (int)sizeof l->sealed) {
    memcpy(l->sealed, b, (size_t)n);
    l->sealed_len = n;
  }
  sqlite_copy_column(s, 10, l->output_device_uuid, sizeof l->output_device_uuid);
  l->subscription_id = sqlite_column_int(s, 11);
  l->last_sequence = sqlite_column_int(s, 12);
  sqlite_copy_column(s, 13, l->status, sizeof l->status);
  sqlite_copy_column(s, 14, l->last_error, sizeof l->last_error);
  l->last_ok_at = sqlite3_column_int64(s, 15);
  l->next_try_at = sqlite3_column_int64(s, 16);
  l->failures = sqlite_column_int(s, 17);
  l->created_at = sqlite3_column_int64(s, 18);
  l->revision = sqlite3_column_int64(s, 19);
  l->jobs = sqlite_column_int(s, 20);
}

static void bind_sealed(sqlite3_stmt *s, int idx, const nimbus_remote_link_t *l) {
  if (l->sealed_len > 0)
    sqlite3_bind_blob(s, idx, l->sealed, l->sealed_len, SQLITE_STATIC);
  else
    sqlite3_bind_null(s, idx);
}

store_status_t sqlite_remote_link_insert(store_t *base_, nimbus_remote_link_t *l,
                                         const store_audit_t *audit) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  store_status_t status = sqlite_audit_begin_locked(st, audit);
  nimbus_id_t id = 0;
  if (status == STORE_OK) {
    sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_REMOTE_LINK_INSERT);
    if (!s) {
      status = STORE_ERROR;
    } else {
      sqlite3_bind_int64(s, 1, l->tenant_id);
      BIND_FIELD(s, 2, l->name);
      BIND_FIELD(s, 3, l->printer_uri);
      BIND_FIELD(s, 4, l->system_uri);
      BIND_FIELD(s, 5, l->service_url);
      sqlite3_bind_int64(s, 6, l->queue_id);
      sqlite3_bind_int(s, 7, l->claim_pending ? 1 : 0);
      bind_sealed(s, 8, l);
      BIND_FIELD(s, 9, l->status);
      sqlite3_bind_int64(s, 10, l->next_try_at);
      sqlite3_bind_int64(s, 11, l->created_at);
      status = sqlite_stmt_exec_locked(st, s, "remote link insert");
      if (status == STORE_OK) id = sqlite3_last_insert_rowid(st->db);
    }
    status = sqlite_audit_end_locked(st, audit, status, id);
  }
  if (status == STORE_OK) {
    l->id = id;
    l->revision = 1;
  }
  sqlite_unlock(st);
  return status;
}

store_status_t sqlite_remote_link_get(store_t *base_, nimbus_id_t tenant_id, const char *name,
                                      nimbus_remote_link_t *out) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!(st = sqlite_read_lock(st))) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_REMOTE_LINK_GET);
  if (s) {
    sqlite3_bind_int64(s, 1, tenant_id);
    sqlite_bind_str(s, 2, name);
    status = sqlite_step_row_locked(st, s, "remote link get");
    if (status == STORE_OK) link_from_row(s, out);
    sqlite_stmt_reset(s);
  }
  sqlite_read_unlock(st);
  return status;
}

store_status_t sqlite_remote_link_list(store_t *base_, nimbus_id_t tenant_id,
                                       nimbus_remote_link_t *out, int max, int *count) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!(st = sqlite_read_lock(st))) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_REMOTE_LINK_LIST);
  if (s) {
    sqlite3_bind_int64(s, 1, tenant_id);
    sqlite3_bind_int(s, 2, max);
    int rc, n = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && n < max) link_from_row(s, &out[n++]);
    status = rc == SQLITE_ROW || rc == SQLITE_DONE ? STORE_OK
                                                   : sqlite_fail_locked(st, rc, "remote link list");
    *count = n;
    sqlite_stmt_reset(s);
  }
  sqlite_read_unlock(st);
  return status;
}

store_status_t sqlite_remote_link_update(store_t *base_, nimbus_remote_link_t *l,
                                         const store_audit_t *audit) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  store_status_t status = sqlite_audit_begin_locked(st, audit);
  if (status == STORE_OK) {
    sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_REMOTE_LINK_UPDATE);
    if (!s) {
      status = STORE_ERROR;
    } else {
      sqlite3_bind_int64(s, 1, l->tenant_id);
      sqlite3_bind_int64(s, 2, l->id);
      sqlite3_bind_int64(s, 3, l->queue_id);
      sqlite3_bind_int(s, 4, l->claim_pending ? 1 : 0);
      bind_sealed(s, 5, l);
      BIND_FIELD(s, 6, l->status);
      BIND_FIELD(s, 7, l->last_error);
      sqlite3_bind_int64(s, 8, l->next_try_at);
      sqlite3_bind_int(s, 9, l->failures);
      sqlite3_bind_int(s, 10, l->subscription_id);
      status = sqlite_exec_changes_locked(st, s, "remote link update");
    }
    status = sqlite_audit_end_locked(st, audit, status, l->id);
  }
  if (status == STORE_OK) l->revision++;
  sqlite_unlock(st);
  return status;
}

store_status_t sqlite_remote_link_set_state(store_t *base_, const nimbus_remote_link_t *l) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_REMOTE_LINK_SET_STATE);
  if (s) {
    sqlite3_bind_int64(s, 1, l->tenant_id);
    sqlite3_bind_int64(s, 2, l->id);
    sqlite3_bind_int64(s, 3, l->revision);
    sqlite3_bind_int(s, 4, l->claim_pending ? 1 : 0);
    bind_sealed(s, 5, l);
    BIND_FIELD(s, 6, l->output_device_uuid);
    sqlite3_bind_int(s, 7, l->subscription_id);
    sqlite3_bind_int(s, 8, l->last_sequence);
    BIND_FIELD(s, 9, l->status);
    BIND_FIELD(s, 10, l->last_error);
    sqlite3_bind_int64(s, 11, l->last_ok_at);
    sqlite3_bind_int64(s, 12, l->next_try_at);
    sqlite3_bind_int(s, 13, l->failures);
    status = sqlite_exec_changes_locked(st, s, "remote link set state");
  }
  sqlite_unlock(st);
  return status;
}

store_status_t sqlite_remote_link_delete(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id,
                                         const store_audit_t *audit) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  store_status_t status = sqlite_audit_begin_locked(st, audit);
  if (status == STORE_OK) {
    sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_REMOTE_LINK_DELETE);
    if (!s) {
      status = STORE_ERROR;
    } else {
      sqlite3_bind_int64(s, 1, tenant_id);
      sqlite3_bind_int64(s, 2, id);
      status = sqlite_exec_changes_locked(st, s, "remote link delete");
    }
    status = sqlite_audit_end_locked(st, audit, status, id);
  }
  sqlite_unlock(st);
  return status;
}

store_status_t sqlite_remote_jobs_replace(store_t *base_, nimbus_id_t tenant_id,
                                          nimbus_id_t link_id, const nimbus_remote_job_t *jobs,
                                          int n, int64_t now, int64_t mark) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  store_status_t status = sqlite_tx_begin_locked(st);
  for (int i = 0; status == STORE_OK && i < n; i++) {
    const nimbus_remote_job_t *j = &jobs[i];
    sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_REMOTE_JOB_UPSERT);
    if (!s) {
      status = STORE_ERROR;
      break;
    }
    sqlite3_bind_int64(s, 1, link_id);
    sqlite3_bind_int64(s, 2, tenant_id);
    sqlite3_bind_int(s, 3, j->remote_job_id);
    BIND_FIELD(s, 4, j->name);
    BIND_FIELD(s, 5, j->owner);
    sqlite3_bind_int(s, 6, j->pages);
    sqlite3_bind_int(s, 7, j->copies);
    BIND_FIELD(s, 8, j->sides);
    BIND_FIELD(s, 9, j->color_mode);
    BIND_FIELD(s, 10, j->media);
    sqlite3_bind_int64(s, 11, j->submitted_at);
    sqlite3_bind_int(s, 12, j->remote_state);
    sqlite3_bind_int64(s, 13, now);
    sqlite3_bind_int64(s, 14, mark);
    status = sqlite_stmt_exec_locked(st, s, "remote job upsert");
  }
  if (status == STORE_OK) {
    sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_REMOTE_JOB_PRUNE);
    if (!s) {
      status = STORE_ERROR;
    } else {
      sqlite3_bind_int64(s, 1, link_id);
      sqlite3_bind_int64(s, 2, tenant_id);
      sqlite3_bind_int64(s, 3, mark);
      status = sqlite_stmt_exec_locked(st, s, "remote job prune");
    }
  }
  if (status == STORE_OK)
    status = sqlite_tx_commit_locked(st);
  else
    sqlite_tx_rollback_locked(st);
  sqlite_unlock(st);
  return status;
}

store_status_t sqlite_remote_job_list(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t link_id,
                                      nimbus_remote_job_t *out, int max, int *count) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!(st = sqlite_read_lock(st))) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  int64_t total = 0;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_REMOTE_JOB_COUNT);
  if (s) {
    sqlite3_bind_int64(s, 1, tenant_id);
    sqlite3_bind_int64(s, 2, link_id);
    status = sqlite_query_int64_locked(st, s, "remote job count", &total);
  }
  s = status == STORE_OK ? sqlite_stmt_get_locked(st, S_REMOTE_JOB_LIST) : NULL;
  if (s) {
    sqlite3_bind_int64(s, 1, tenant_id);
    sqlite3_bind_int64(s, 2, link_id);
    sqlite3_bind_int(s, 3, max);
    int rc, n = 0;
    while (n < max && (rc = sqlite3_step(s)) == SQLITE_ROW) {
      nimbus_remote_job_t *j = &out[n++];
      memset(j, 0, sizeof *j);
      j->link_id = sqlite3_column_int64(s, 0);
      j->remote_job_id = sqlite_column_int(s, 1);
      sqlite_copy_column(s, 2, j->name, sizeof j->name);
      sqlite_copy_column(s, 3, j->owner, sizeof j->owner);
      j->pages = sqlite_column_int(s, 4);
      j->copies = sqlite_column_int(s, 5);
      sqlite_copy_column(s, 6, j->sides, sizeof j->sides);
      sqlite_copy_column(s, 7, j->color_mode, sizeof j->color_mode);
      sqlite_copy_column(s, 8, j->media, sizeof j->media);
      j->submitted_at = sqlite3_column_int64(s, 9);
      j->remote_state = sqlite_column_int(s, 10);
      j->seen_at = sqlite3_column_int64(s, 11);
      j->local_job_id = sqlite3_column_int64(s, 12);
    }
    *count = (int)total;
    sqlite_stmt_reset(s);
  } else {
    status = STORE_ERROR;
  }
  sqlite_read_unlock(st);
  return status;
}

/* One RQ_COLS row into j. */
static void rjob_from_row(sqlite3_stmt *s, nimbus_remote_job_t *j) {
  memset(j, 0, sizeof *j);
  j->link_id = sqlite3_column_int64(s, 0);
  j->remote_job_id = sqlite_column_int(s, 1);
  sqlite_copy_column(s, 2, j->name, sizeof j->name);
  sqlite_copy_column(s, 3, j->owner, sizeof j->owner);
  j->pages = sqlite_column_int(s, 4);
  j->copies = sqlite_column_int(s, 5);
  sqlite_copy_column(s, 6, j->sides, sizeof j->sides);
  sqlite_copy_column(s, 7, j->color_mode, sizeof j->color_mode);
  sqlite_copy_column(s, 8, j->media, sizeof j->media);
  j->submitted_at = sqlite3_column_int64(s, 9);
  j->remote_state = sqlite_column_int(s, 10);
  j->seen_at = sqlite3_column_int64(s, 11);
  j->local_job_id = sqlite3_column_int64(s, 12);
  sqlite_copy_column(s, 13, j->link_name, sizeof j->link_name);
  sqlite_copy_column(s, 14, j->service_url, sizeof j->service_url);
  j->reported_state = sqlite_column_int(s, 15);
  j->reported_impressions = sqlite_column_int(s, 16);
  j->reported_done = sqlite_column_int(s, 17) != 0;
  j->tenant_id = sqlite3_column_int64(s, 19);
}

store_status_t sqlite_remote_job_query(store_t *base_, const store_remote_query_t *q,
                                       nimbus_remote_job_t *out, int max, int *count) {
  static const stmt_id_t ids[] = {[STORE_REMOTE_Q_USER] = S_REMOTE_JOB_Q_USER,
                                  [STORE_REMOTE_Q_ONE] = S_REMOTE_JOB_Q_ONE,
                                  [STORE_REMOTE_Q_LOCAL] = S_REMOTE_JOB_Q_LOCAL,
                                  [STORE_REMOTE_Q_REPORT] = S_REMOTE_JOB_Q_REPORT};
  if ((int)q->which < 0 || (size_t)q->which >= sizeof ids / sizeof ids[0]) return STORE_ERROR;
  sqlite_store_t *st = sqlite_of(base_);
  if (!(st = sqlite_read_lock(st))) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, ids[q->which]);
  if (s) {
    switch (q->which) {
      case STORE_REMOTE_Q_USER:
        sqlite3_bind_int64(s, 1, q->tenant_id);
        sqlite3_bind_int64(s, 2, q->user_id);
        sqlite3_bind_int(s, 3, NIMBUS_LINK_LINKED);
        sqlite3_bind_int(s, 4, max > 0 ? max : 1);
        break;
      case STORE_REMOTE_Q_ONE:
        sqlite3_bind_int64(s, 1, q->tenant_id);
        sqlite3_bind_int64(s, 2, q->link_id);
        sqlite3_bind_int(s, 3, q->remote_job_id);
        break;
      case STORE_REMOTE_Q_LOCAL:
        sqlite3_bind_int64(s, 1, q->tenant_id);
        sqlite3_bind_int64(s, 2, q->local_job_id);
        break;
      case STORE_REMOTE_Q_REPORT:
        sqlite3_bind_int(s, 1, max > 0 ? max : 1);
        break;
    }
    int rc, n = 0, total = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      total = sqlite_column_int(s, 18);
      if (n < max)
        rjob_from_row(s, &out[n++]);
      else
        break;
    }
    status = rc == SQLITE_ROW || rc == SQLITE_DONE ? STORE_OK
                                                   : sqlite_fail_locked(st, rc, "remote job query");
    *count = total > n ? total : n;
    sqlite_stmt_reset(s);
  }
  sqlite_read_unlock(st);
  return status;
}

store_status_t sqlite_remote_job_change(store_t *base_, nimbus_id_t tenant_id,
                                        store_remote_change_t what, const nimbus_remote_job_t *j) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  stmt_id_t id = what == STORE_REMOTE_TAKE   ? S_REMOTE_JOB_TAKE
                 : what == STORE_REMOTE_DROP ? S_REMOTE_JOB_DROP
                                             : S_REMOTE_JOB_REPORTED;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, id);
  if (s) {
    sqlite3_bind_int64(s, 1, tenant_id);
    sqlite3_bind_int64(s, 2, j->link_id);
    sqlite3_bind_int(s, 3, j->remote_job_id);
    if (what == STORE_REMOTE_TAKE) sqlite3_bind_int64(s, 4, j->local_job_id);
    if (what == STORE_REMOTE_REPORTED) {
      sqlite3_bind_int(s, 4, j->reported_state);
      sqlite3_bind_int(s, 5, j->reported_impressions);
      sqlite3_bind_int(s, 6, j->reported_done ? 1 : 0);
    }
    status = sqlite_exec_changes_locked(st, s, "remote job change");
  }
  sqlite_unlock(st);
  if (status == STORE_NOT_FOUND && what == STORE_REMOTE_TAKE) {
    /* taken already, or gone? */
    store_remote_query_t q = {.which = STORE_REMOTE_Q_ONE,
                              .tenant_id = tenant_id,
                              .link_id = j->link_id,
                              .remote_job_id = j->remote_job_id};
    nimbus_remote_job_t cur;
    int n = 0;
    if (sqlite_remote_job_query(base_, &q, &cur, 1, &n) == STORE_OK && n > 0)
      status = STORE_CONFLICT;
  }
  return status;
}
