/*
 * store-sqlite-provisioning.c: provisioning runs, steps, coverage, the
 * step history and device inventory (migration 23; docs/PROVISIONING.md
 * §5–§8) in the SQLite backend (store.h "provisioning").  Exactly once is
 * the database's: a run is inserted with ON CONFLICT (contract_id,
 * revision) DO NOTHING together with its steps, and a step moves only
 * from the state (and attempt count) its caller read.  What to plan and
 * when to retry is provisioning/run-*.c's.
 */
#include "store-sqlite-private.h"

#include <stdlib.h>
#include <time.h>

#define RUN_COLS                                                                       \
  "id, tenant_id, contract_id, revision, kind, state, created_at, finished_at, note, " \
  "device_id, backup_id"
#define STEP_COLS                                                                           \
  "s.id, s.run_id, s.tenant_id, s.device_id, r.contract_id, s.seq, s.kind, s.item_name, "   \
  "s.target_json, s.package_id, s.state, s.attempts, s.next_at, s.sent_at, s.finished_at, " \
  "s.reason"
#define STEP_FROM " FROM provisioning_steps s JOIN provisioning_runs r ON r.id = s.run_id "

static const char *const prov_sql[S_COUNT - S_PROV_FIRST] = {
#define P(id) [(id)-S_PROV_FIRST]
    P(S_PROV_RUN_INSERT) =
        "INSERT INTO provisioning_runs (tenant_id, contract_id, revision, kind, state, "
        "created_at, finished_at, note, device_id, backup_id) VALUES (?1, NULLIF(?2, 0), ?3, ?4, "
        "?5, ?6, ?7, ?8, NULLIF(?9, 0), NULLIF(?10, 0)) "
        "ON CONFLICT (contract_id, revision) DO NOTHING",
    P(S_PROV_RUN_GET_BY_EVENT) =
        "SELECT " RUN_COLS " FROM provisioning_runs WHERE contract_id = ?1 AND revision = ?2",
    P(S_PROV_RUN_GET) =
        "SELECT " RUN_COLS " FROM provisioning_runs WHERE id = ?1 AND (?2 = 0 OR tenant_id = ?2)",
    P(S_PROV_RUN_LIST) = "SELECT " RUN_COLS
                         " FROM provisioning_runs WHERE (?1 = 0 OR contract_id = ?1) "
                         "AND (?3 = 0 OR device_id = ?3) "
                         "AND (?2 = 0 OR tenant_id = ?2) ORDER BY id DESC",
    P(S_PROV_RUN_FINISH) =
        "UPDATE provisioning_runs SET state = ?2, note = ?3, finished_at = ?4 "
        "WHERE id = ?1 AND state = 1",
    P(S_PROV_RUN_REOPEN) =
        "UPDATE provisioning_runs SET state = 1, finished_at = 0, note = '' "
        "WHERE id = ?1 AND state <> 1",
    P(S_PROV_COVER_INSERT) =
        "INSERT INTO provisioning_coverage (run_id, device_id, planned_at) "
        "VALUES (?1, ?2, ?3) ON CONFLICT (run_id, device_id) DO NOTHING",
    P(S_PROV_UNCOVERED) =
        "SELECT d.id FROM devices d WHERE d.tenant_id = ?2 AND NOT EXISTS "
        "(SELECT 1 FROM provisioning_coverage c WHERE c.run_id = ?1 "
        "AND c.device_id = d.id) ORDER BY d.id",
    P(S_PROV_STEP_INSERT) =
        "INSERT INTO provisioning_steps (run_id, tenant_id, device_id, seq, kind, item_name, "
        "target_json, package_id, state, attempts, next_at, sent_at, finished_at, reason) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    P(S_PROV_STEP_LIST) = "SELECT " STEP_COLS STEP_FROM
                          "WHERE s.run_id = ?1 AND (?2 = 0 OR s.tenant_id = ?2) "
                          "ORDER BY s.device_id, s.seq",
    P(S_PROV_STEP_GET) =
        "SELECT " STEP_COLS STEP_FROM "WHERE s.id = ?1 AND (?2 = 0 OR s.tenant_id = ?2)",
    P(S_PROV_STEP_UPDATE) =
        "UPDATE provisioning_steps SET state = ?4, attempts = ?5, next_at = ?6, sent_at = ?7, "
        "finished_at = ?8, reason = ?9 WHERE id = ?1 AND state = ?2 AND attempts = ?3",
    P(S_PROV_STEP_EXISTS) = "SELECT run_id FROM provisioning_steps WHERE id = ?1",
    P(S_PROV_EVENT_INSERT) =
        "INSERT INTO provisioning_events (run_id, step_id, at, from_state, "
        "to_state, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    P(S_PROV_STEP_HEADS) =
        "SELECT " STEP_COLS STEP_FROM
        "WHERE s.state IN (1, 2) AND (?1 = 0 OR s.device_id = ?1) "
        "AND (s.state = 2 OR s.next_at <= ?2) AND NOT EXISTS (SELECT 1 FROM "
        "provisioning_steps p WHERE p.run_id = s.run_id AND p.device_id = s.device_id "
        "AND p.seq < s.seq AND p.state NOT IN (3, 5)) ORDER BY s.run_id, s.device_id LIMIT ?3",
    P(S_PROV_STEP_TIMED_OUT) = "SELECT " STEP_COLS STEP_FROM
                               "WHERE s.state = 2 AND s.sent_at <= ?1 ORDER BY s.id LIMIT ?2",
    P(S_PROV_HAS_PACKAGE) =
        "SELECT 1 FROM provisioning_steps WHERE device_id = ?1 AND package_id = ?2 LIMIT 1",
    P(S_PROV_INV_PUT) =
        "INSERT INTO device_inventory (device_id, tenant_id, firmware_name, firmware_version, "
        "applications_json, settings_json, reported_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
        "ON CONFLICT (device_id) DO UPDATE SET firmware_name = excluded.firmware_name, "
        "firmware_version = excluded.firmware_version, "
        "applications_json = excluded.applications_json, "
        "settings_json = excluded.settings_json, reported_at = excluded.reported_at",
    P(S_PROV_INV_GET) =
        "SELECT device_id, tenant_id, firmware_name, firmware_version, "
        "applications_json, settings_json, reported_at FROM device_inventory "
        "WHERE device_id = ?1",
#undef P
};

const char *sqlite_prov_sql(stmt_id_t id) {
  return id >= S_PROV_FIRST && id < S_COUNT ? prov_sql[id - S_PROV_FIRST] : NULL;
}

#define COPY(s, col, arr) sqlite_copy_column((s), (col), (arr), sizeof(arr))

static void run_from_row(sqlite3_stmt *s, nimbus_prov_run_t *r) {
  memset(r, 0, sizeof *r);
  r->id = sqlite3_column_int64(s, 0);
  r->tenant_id = sqlite3_column_int64(s, 1);
  r->contract_id = sqlite3_column_int64(s, 2);
  r->revision = sqlite3_column_int64(s, 3);
  COPY(s, 4, r->kind);
  r->state = (nimbus_run_state_t)sqlite3_column_int(s, 5);
  r->created_at = sqlite3_column_int64(s, 6);
  r->finished_at = sqlite3_column_int64(s, 7);
  COPY(s, 8, r->note);
  r->device_id = sqlite3_column_int64(s, 9);
  r->backup_id = sqlite3_column_int64(s, 10);
}

static void step_from_row(sqlite3_stmt *s, nimbus_prov_step_t *p) {
  memset(p, 0, sizeof *p);
  p->id = sqlite3_column_int64(s, 0);
  p->run_id = sqlite3_column_int64(s, 1);
  p->tenant_id = sqlite3_column_int64(s, 2);
  p->device_id = sqlite3_column_int64(s, 3);
  p->contract_id = sqlite3_column_int64(s, 4);
  p->seq = sqlite3_column_int(s, 5);
  COPY(s, 6, p->kind);
  COPY(s, 7, p->item_name);
  COPY(s, 8, p->target_json);
  p->package_id = sqlite3_column_int64(s, 9);
  p->state = (nimbus_step_state_t)sqlite3_column_int(s, 10);
  p->attempts = sqlite3_column_int(s, 11);
  p->next_at = sqlite3_column_int64(s, 12);
  p->sent_at = sqlite3_column_int64(s, 13);
  p->finished_at = sqlite3_column_int64(s, 14);
  COPY(s, 15, p->reason);
}

/* A step's history row; on the write connection inside its transaction. */
static store_status_t event_insert_locked(sqlite_store_t *st, nimbus_id_t run_id,
                                          nimbus_id_t step_id, int64_t now, int from, int to,
                                          const char *detail) {
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_PROV_EVENT_INSERT);
  if (!s) return STORE_ERROR;
  sqlite3_bind_int64(s, 1, run_id);
  sqlite3_bind_int64(s, 2, step_id);
  sqlite3_bind_int64(s, 3, now);
  sqlite3_bind_int(s, 4, from);
  sqlite3_bind_int(s, 5, to);
  sqlite_bind_str(s, 6, detail ? detail : "");
  return sqlite_stmt_exec_locked(st, s, "provisioning event insert");
}

/* Coverage row of device for run: *inserted false when it was there. */
static store_status_t cover_locked(sqlite_store_t *st, nimbus_id_t run_id, nimbus_id_t device_id,
                                   int64_t now, bool *inserted) {
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_PROV_COVER_INSERT);
  if (!s) return STORE_ERROR;
  sqlite3_bind_int64(s, 1, run_id);
  sqlite3_bind_int64(s, 2, device_id);
  sqlite3_bind_int64(s, 3, now);
  store_status_t status = sqlite_stmt_exec_locked(st, s, "provisioning coverage");
  if (inserted) *inserted = status == STORE_OK && sqlite3_changes(st->db) > 0;
  return status;
}

/* Insert steps[0..n) of run_id (ids filled) with their creation events. */
static store_status_t steps_insert_locked(sqlite_store_t *st, nimbus_id_t run_id,
                                          nimbus_prov_step_t *steps, int n, int64_t now) {
  store_status_t status = STORE_OK;
  for (int i = 0; status == STORE_OK && i < n; i++) {
    nimbus_prov_step_t *p = &steps[i];
    sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_PROV_STEP_INSERT);
    if (!s) return STORE_ERROR;
    p->run_id = run_id;
    if (p->state == 0) p->state = NIMBUS_STEP_PLANNED;
    sqlite3_bind_int64(s, 1, run_id);
    sqlite3_bind_int64(s, 2, p->tenant_id);
    sqlite3_bind_int64(s, 3, p->device_id);
    sqlite3_bind_int(s, 4, p->seq);
    BIND_FIELD(s, 5, p->kind);
    BIND_FIELD(s, 6, p->item_name);
    BIND_FIELD(s, 7, p->target_json);
    sqlite3_bind_int64(s, 8, p->package_id);
    sqlite3_bind_int(s, 9, (int)p->state);
    sqlite3_bind_int(s, 10, p->attempts);
    sqlite3_bind_int64(s, 11, p->next_at);
    sqlite3_bind_int64(s, 12, p->sent_at);
    sqlite3_bind_int64(s, 13, p->finished_at);
    BIND_FIELD(s, 14, p->reason);
    status = sqlite_stmt_exec_locked(st, s, "provisioning step insert");
    if (status != STORE_OK) break;
    p->id = sqlite3_last_insert_rowid(st->db);
    status = event_insert_locked(st, run_id, p->id, now, 0, (int)p->state, p->reason);
  }
  return status;
}

static void read_run(sqlite3_stmt *s, void *out) {
  run_from_row(s, out);
}

store_status_t sqlite_prov_run_create(store_t *base_, nimbus_prov_run_t *run,
                                      const nimbus_id_t *devices, int ndevices,
                                      nimbus_prov_step_t *steps, int nsteps, bool *created) {
  static const char what[] = "provisioning run create";
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  *created = false;
  int64_t now = run->created_at ? run->created_at : (int64_t)time(NULL);
  store_status_t status = sqlite_tx_begin_locked(st);
  sqlite3_stmt *s = status == STORE_OK ? sqlite_stmt_get_locked(st, S_PROV_RUN_INSERT) : NULL;
  if (!s) {
    if (status == STORE_OK) status = STORE_ERROR;
    goto done;
  }
  sqlite3_bind_int64(s, 1, run->tenant_id);
  sqlite3_bind_int64(s, 2, run->contract_id);
  sqlite3_bind_int64(s, 3, run->revision);
  BIND_FIELD(s, 4, run->kind);
  sqlite3_bind_int(s, 5, (int)(run->state ? run->state : NIMBUS_RUN_RUNNING));
  sqlite3_bind_int64(s, 6, now);
  sqlite3_bind_int64(s, 7, run->finished_at);
  BIND_FIELD(s, 8, run->note);
  sqlite3_bind_int64(s, 9, run->device_id);
  sqlite3_bind_int64(s, 10, run->backup_id);
  status = sqlite_stmt_exec_locked(st, s, what);
  if (status != STORE_OK) goto done;
  if (sqlite3_changes(st->db) == 0) { /* the event has its run: read it */
    sqlite3_stmt *g = sqlite_stmt_get_locked(st, S_PROV_RUN_GET_BY_EVENT);
    if (!g) {
      status = STORE_ERROR;
      goto done;
    }
    sqlite3_bind_int64(g, 1, run->contract_id);
    sqlite3_bind_int64(g, 2, run->revision);
    status = sqlite_step_row_locked(st, g, what);
    if (status == STORE_OK) run_from_row(g, run);
    sqlite_stmt_reset(g);
    goto done;
  }
  run->id = sqlite3_last_insert_rowid(st->db);
  run->created_at = now;
  if (!run->state) run->state = NIMBUS_RUN_RUNNING;
  for (int i = 0; status == STORE_OK && i < ndevices; i++)
    status = cover_locked(st, run->id, devices[i], now, NULL);
  if (status == STORE_OK) status = steps_insert_locked(st, run->id, steps, nsteps, now);
  if (status == STORE_OK) *created = true;
done:
  if (status == STORE_OK)
    status = sqlite_tx_commit_locked(st);
  else
    sqlite_tx_rollback_locked(st);
  if (status != STORE_OK) *created = false;
  sqlite_unlock(st);
  return status;
}

store_status_t sqlite_prov_run_get(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id,
                                   nimbus_prov_run_t *out) {
  const int64_t ints[] = {id, tenant_id};
  return sqlite_read_one_row(sqlite_of(base_), S_PROV_RUN_GET, ints, 2, NULL, read_run, out,
                             "provisioning run get");
}

/* Rows of a read statement bound with ints, each read by `each` into a
 * heap record passed to the caller's callback (until it returns false). */
typedef bool (*prov_each_fn)(sqlite3_stmt *s, void *cb, void *ctx);
static store_status_t prov_rows(sqlite_store_t *st, stmt_id_t id, const int64_t *ints, int n,
                                prov_each_fn each, void *cb, void *ctx, const char *what) {
  if (!(st = sqlite_read_lock(st))) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, id);
  if (s) {
    for (int i = 0; i < n; i++) sqlite3_bind_int64(s, i + 1, ints[i]);
    int rc;
    status = STORE_OK;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
      if (!each(s, cb, ctx)) break;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) status = sqlite_fail_locked(st, rc, what);
    sqlite_stmt_reset(s);
  }
  sqlite_read_unlock(st);
  return status;
}

static bool each_run(sqlite3_stmt *s, void *cb, void *ctx) {
  nimbus_prov_run_t r;
  run_from_row(s, &r);
  return ((store_prov_run_cb)cb)(&r, ctx);
}

static bool each_step(sqlite3_stmt *s, void *cb, void *ctx) {
  nimbus_prov_step_t *p = malloc(sizeof *p);
  if (!p) return false;
  step_from_row(s, p);
  bool more = ((store_prov_step_cb)cb)(p, ctx);
  free(p);
  return more;
}

static bool each_id(sqlite3_stmt *s, void *cb, void *ctx) {
  return ((store_id_each_cb)cb)(sqlite3_column_int64(s, 0), ctx);
}

store_status_t sqlite_prov_run_list(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t contract_id,
                                    nimbus_id_t device_id, store_prov_run_cb cb, void *ctx) {
  const int64_t ints[] = {contract_id, tenant_id, device_id};
  return prov_rows(sqlite_of(base_), S_PROV_RUN_LIST, ints, 3, each_run, (void *)cb, ctx,
                   "provisioning run list");
}

store_status_t sqlite_prov_run_finish(store_t *base_, nimbus_id_t run_id, nimbus_run_state_t state,
                                      const char *note, int64_t now) {
  static const char what[] = "provisioning run finish";
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_PROV_RUN_FINISH);
  if (s) {
    sqlite3_bind_int64(s, 1, run_id);
    sqlite3_bind_int(s, 2, (int)state);
    sqlite_bind_str(s, 3, note ? note : "");
    sqlite3_bind_int64(s, 4, now);
    status = sqlite_exec_changes_locked(st, s, what);
    if (status == STORE_NOT_FOUND) {
      sqlite3_stmt *g = sqlite_stmt_get_locked(st, S_PROV_RUN_GET);
      if (g) {
        sqlite3_bind_int64(g, 1, run_id);
        sqlite3_bind_int64(g, 2, 0);
        if (sqlite_step_row_locked(st, g, what) == STORE_OK) status = STORE_CONFLICT;
        sqlite_stmt_reset(g);
      }
    }
  }
  sqlite_unlock(st);
  return status;
}

store_status_t sqlite_prov_run_widen(store_t *base_, nimbus_id_t run_id, nimbus_id_t tenant_id,
                                     nimbus_id_t device_id, nimbus_prov_step_t *steps, int nsteps,
                                     int64_t now, bool *added) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  *added = false;
  bool inserted = false;
  store_status_t status = sqlite_tx_begin_locked(st);
  if (status == STORE_OK) status = cover_locked(st, run_id, device_id, now, &inserted);
  if (status == STORE_OK && inserted) {
    for (int i = 0; i < nsteps; i++) {
      steps[i].tenant_id = tenant_id;
      steps[i].device_id = device_id;
    }
    status = steps_insert_locked(st, run_id, steps, nsteps, now);
    if (status == STORE_OK && nsteps > 0) {
      sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_PROV_RUN_REOPEN);
      if (!s) {
        status = STORE_ERROR;
      } else {
        sqlite3_bind_int64(s, 1, run_id);
        status = sqlite_stmt_exec_locked(st, s, "provisioning run reopen");
      }
    }
  }
  if (status == STORE_OK) {
    status = sqlite_tx_commit_locked(st);
    if (status == STORE_OK) *added = inserted;
  } else {
    sqlite_tx_rollback_locked(st);
  }
  sqlite_unlock(st);
  return status;
}

store_status_t sqlite_prov_run_uncovered(store_t *base_, nimbus_id_t run_id, nimbus_id_t tenant_id,
                                         store_id_each_cb cb, void *ctx) {
  const int64_t ints[] = {run_id, tenant_id};
  return prov_rows(sqlite_of(base_), S_PROV_UNCOVERED, ints, 2, each_id, (void *)cb, ctx,
                   "provisioning uncovered");
}

store_status_t sqlite_prov_step_list(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t run_id,
                                     store_prov_step_cb cb, void *ctx) {
  const int64_t ints[] = {run_id, tenant_id};
  return prov_rows(sqlite_of(base_), S_PROV_STEP_LIST, ints, 2, each_step, (void *)cb, ctx,
                   "provisioning step list");
}

static void read_step(sqlite3_stmt *s, void *out) {
  step_from_row(s, out);
}

store_status_t sqlite_prov_step_get(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id,
                                    nimbus_prov_step_t *out) {
  const int64_t ints[] = {id, tenant_id};
  return sqlite_read_one_row(sqlite_of(base_), S_PROV_STEP_GET, ints, 2, NULL, read_step, out,
                             "provisioning step get");
}

store_status_t sqlite_prov_step_transition(store_t *base_, const nimbus_prov_step_t *p,
                                           nimbus_step_state_t from_state, int from_attempts,
                                           const char *detail, int64_t now) {
  static const char what[] = "provisioning step transition";
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  nimbus_id_t run_id = 0;
  store_status_t status = sqlite_tx_begin_locked(st);
  sqlite3_stmt *s = status == STORE_OK ? sqlite_stmt_get_locked(st, S_PROV_STEP_UPDATE) : NULL;
  if (!s) {
    if (status == STORE_OK) status = STORE_ERROR;
    goto done;
  }
  sqlite3_bind_int64(s, 1, p->id);
  sqlite3_bind_int(s, 2, (int)from_state);
  sqlite3_bind_int(s, 3, from_attempts);
  sqlite3_bind_int(s, 4, (int)p->state);
  sqlite3_bind_int(s, 5, p->attempts);
  sqlite3_bind_int64(s, 6, p->next_at);
  sqlite3_bind_int64(s, 7, p->sent_at);
  sqlite3_bind_int64(s, 8, p->finished_at);
  BIND_FIELD(s, 9, p->reason);
  status = sqlite_exec_changes_locked(st, s, what);
  sqlite3_stmt *e = sqlite_stmt_get_locked(st, S_PROV_STEP_EXISTS);
  if (!e) {
    status = STORE_ERROR;
    goto done;
  }
  sqlite3_bind_int64(e, 1, p->id);
  store_status_t found = sqlite_step_row_locked(st, e, what);
  if (found == STORE_OK) run_id = sqlite3_column_int64(e, 0);
  sqlite_stmt_reset(e);
  if (status == STORE_NOT_FOUND && found == STORE_OK) status = STORE_CONFLICT;
  if (status == STORE_OK)
    status = event_insert_locked(st, run_id, p->id, now, (int)from_state, (int)p->state, detail);
done:
  if (status == STORE_OK)
    status = sqlite_tx_commit_locked(st);
  else
    sqlite_tx_rollback_locked(st);
  sqlite_unlock(st);
  return status;
}

store_status_t sqlite_prov_step_heads(store_t *base_, nimbus_id_t device_id, int64_t now, int limit,
                                      store_prov_step_cb cb, void *ctx) {
  const int64_t ints[] = {device_id, now, limit};
  return prov_rows(sqlite_of(base_), S_PROV_STEP_HEADS, ints, 3, each_step, (void *)cb, ctx,
                   "provisioning step heads");
}

store_status_t sqlite_prov_step_timed_out(store_t *base_, int64_t sent_before, int limit,
                                          store_prov_step_cb cb, void *ctx) {
  const int64_t ints[] = {sent_before, limit};
  return prov_rows(sqlite_of(base_), S_PROV_STEP_TIMED_OUT, ints, 2, each_step, (void *)cb, ctx,
                   "provisioning step timed out");
}

static void read_flag(sqlite3_stmt *s, void *out) {
  (void)s;
  *(bool *)out = true;
}

store_status_t sqlite_prov_device_has_package(store_t *base_, nimbus_id_t device_id,
                                              nimbus_id_t package_id, bool *out) {
  const int64_t ints[] = {device_id, package_id};
  *out = false;
  store_status_t status = sqlite_read_one_row(sqlite_of(base_), S_PROV_HAS_PACKAGE, ints, 2, NULL,
                                              read_flag, out, "provisioning package check");
  return status == STORE_NOT_FOUND ? STORE_OK : status;
}

store_status_t sqlite_inventory_put(store_t *base_, const nimbus_device_inventory_t *inv) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_PROV_INV_PUT);
  if (s) {
    sqlite3_bind_int64(s, 1, inv->device_id);
    sqlite3_bind_int64(s, 2, inv->tenant_id);
    BIND_FIELD(s, 3, inv->firmware_name);
    BIND_FIELD(s, 4, inv->firmware_version);
    BIND_FIELD(s, 5, inv->applications_json);
    BIND_FIELD(s, 6, inv->settings_json);
    sqlite3_bind_int64(s, 7, inv->reported_at ? inv->reported_at : (int64_t)time(NULL));
    status = sqlite_stmt_exec_locked(st, s, "inventory put");
  }
  sqlite_unlock(st);
  return status;
}

static void read_inventory(sqlite3_stmt *s, void *out) {
  nimbus_device_inventory_t *inv = out;
  memset(inv, 0, sizeof *inv);
  inv->device_id = sqlite3_column_int64(s, 0);
  inv->tenant_id = sqlite3_column_int64(s, 1);
  COPY(s, 2, inv->firmware_name);
  COPY(s, 3, inv->firmware_version);
  COPY(s, 4, inv->applications_json);
  COPY(s, 5, inv->settings_json);
  inv->reported_at = sqlite3_column_int64(s, 6);
}

store_status_t sqlite_inventory_get(store_t *base_, nimbus_id_t device_id,
                                    nimbus_device_inventory_t *out) {
  const int64_t ints[] = {device_id};
  return sqlite_read_one_row(sqlite_of(base_), S_PROV_INV_GET, ints, 1, NULL, read_inventory, out,
                             "inventory get");
}
