/*
 * store-pg-provisioning.c: provisioning runs, steps, coverage, the step
 * history and device inventory (migration 14; docs/PROVISIONING.md §5–§8)
 * in the PostgreSQL backend (store.h "provisioning").  Exactly once is the
 * database's: two nodes inserting the run of one (contract_id, revision)
 * meet on its unique index, the second waits for the first's COMMIT and
 * then does nothing (ON CONFLICT DO NOTHING), so its steps are never
 * inserted twice; a step moves only from the state and attempt count its
 * caller read.  What to plan and when to retry is provisioning/run-*.c's.
 */
#include "store-pg-private.h"

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

static const char *const prov_sql[PS_COUNT - PS_PROV_FIRST] = {
#define P(id) [(id)-PS_PROV_FIRST]
    P(PS_PROV_RUN_INSERT) =
        "INSERT INTO provisioning_runs (tenant_id, contract_id, revision, kind, state, "
        "created_at, finished_at, note, device_id, backup_id) VALUES ($1, NULLIF($2::bigint, 0), "
        "$3, $4, $5, $6, $7, $8, NULLIF($9::bigint, 0), NULLIF($10::bigint, 0)) "
        "ON CONFLICT (contract_id, revision) DO NOTHING RETURNING id",
    P(PS_PROV_RUN_GET_BY_EVENT) =
        "SELECT " RUN_COLS " FROM provisioning_runs WHERE contract_id = $1 AND revision = $2",
    P(PS_PROV_RUN_GET) = "SELECT " RUN_COLS
                         " FROM provisioning_runs WHERE id = $1 "
                         "AND ($2::bigint = 0 OR tenant_id = $2::bigint)",
    P(PS_PROV_RUN_LIST) =
        "SELECT " RUN_COLS
        " FROM provisioning_runs WHERE ($1::bigint = 0 OR contract_id = $1::bigint) "
        "AND ($3::bigint = 0 OR device_id = $3::bigint) "
        "AND ($2::bigint = 0 OR tenant_id = $2::bigint) ORDER BY id DESC",
    P(PS_PROV_RUN_FINISH) =
        "UPDATE provisioning_runs SET state = $2, note = $3, finished_at = $4 "
        "WHERE id = $1 AND state = 1",
    P(PS_PROV_RUN_REOPEN) =
        "UPDATE provisioning_runs SET state = 1, finished_at = 0, note = '' "
        "WHERE id = $1 AND state <> 1",
    P(PS_PROV_COVER_INSERT) =
        "INSERT INTO provisioning_coverage (run_id, device_id, planned_at) "
        "VALUES ($1, $2, $3) ON CONFLICT (run_id, device_id) DO NOTHING "
        "RETURNING run_id",
    P(PS_PROV_UNCOVERED) =
        "SELECT d.id FROM devices d WHERE d.tenant_id = $2 AND NOT EXISTS "
        "(SELECT 1 FROM provisioning_coverage c WHERE c.run_id = $1 "
        "AND c.device_id = d.id) ORDER BY d.id",
    P(PS_PROV_STEP_INSERT) =
        "INSERT INTO provisioning_steps (run_id, tenant_id, device_id, seq, kind, item_name, "
        "target_json, package_id, state, attempts, next_at, sent_at, finished_at, reason) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
    P(PS_PROV_STEP_LIST) = "SELECT " STEP_COLS STEP_FROM
                           "WHERE s.run_id = $1 AND ($2::bigint = 0 OR s.tenant_id = $2::bigint) "
                           "ORDER BY s.device_id, s.seq",
    P(PS_PROV_STEP_GET) = "SELECT " STEP_COLS STEP_FROM
                          "WHERE s.id = $1 AND ($2::bigint = 0 OR s.tenant_id = $2::bigint)",
    P(PS_PROV_STEP_UPDATE) =
        "UPDATE provisioning_steps SET state = $4, attempts = $5, next_at = $6, sent_at = $7, "
        "finished_at = $8, reason = $9 WHERE id = $1 AND state = $2 AND attempts = $3 "
        "RETURNING run_id",
    P(PS_PROV_STEP_EXISTS) = "SELECT run_id FROM provisioning_steps WHERE id = $1",
    P(PS_PROV_EVENT_INSERT) =
        "INSERT INTO provisioning_events (run_id, step_id, at, from_state, "
        "to_state, detail) VALUES ($1, $2, $3, $4, $5, $6)",
    P(PS_PROV_STEP_HEADS) =
        "SELECT " STEP_COLS STEP_FROM
        "WHERE s.state IN (1, 2) AND ($1::bigint = 0 OR s.device_id = $1::bigint) "
        "AND (s.state = 2 OR s.next_at <= $2::bigint) AND NOT EXISTS (SELECT 1 FROM "
        "provisioning_steps p WHERE p.run_id = s.run_id AND p.device_id = s.device_id "
        "AND p.seq < s.seq AND p.state NOT IN (3, 5)) ORDER BY s.run_id, s.device_id LIMIT $3",
    P(PS_PROV_STEP_TIMED_OUT) = "SELECT " STEP_COLS STEP_FROM
                                "WHERE s.state = 2 AND s.sent_at <= $1 ORDER BY s.id LIMIT $2",
    P(PS_PROV_HAS_PACKAGE) =
        "SELECT 1 FROM provisioning_steps WHERE device_id = $1 AND package_id = $2 LIMIT 1",
    P(PS_PROV_INV_PUT) =
        "INSERT INTO device_inventory (device_id, tenant_id, firmware_name, firmware_version, "
        "applications_json, settings_json, reported_at) VALUES ($1, $2, $3, $4, $5, $6, $7) "
        "ON CONFLICT (device_id) DO UPDATE SET firmware_name = excluded.firmware_name, "
        "firmware_version = excluded.firmware_version, "
        "applications_json = excluded.applications_json, "
        "settings_json = excluded.settings_json, reported_at = excluded.reported_at",
    P(PS_PROV_INV_GET) =
        "SELECT device_id, tenant_id, firmware_name, firmware_version, "
        "applications_json, settings_json, reported_at FROM device_inventory "
        "WHERE device_id = $1",
#undef P
};

const char *pg_prov_sql(pg_stmt_id_t id) {
  return id >= PS_PROV_FIRST && id < PS_COUNT ? prov_sql[id - PS_PROV_FIRST] : NULL;
}

static void run_from_row(const PGresult *r, int i, nimbus_prov_run_t *o) {
  memset(o, 0, sizeof *o);
  o->id = pg_get_int64(r, i, 0);
  o->tenant_id = pg_get_int64(r, i, 1);
  o->contract_id = pg_get_int64(r, i, 2);
  o->revision = pg_get_int64(r, i, 3);
  PG_GET_FIELD(r, i, 4, o->kind);
  o->state = (nimbus_run_state_t)pg_get_int(r, i, 5);
  o->created_at = pg_get_int64(r, i, 6);
  o->finished_at = pg_get_int64(r, i, 7);
  PG_GET_FIELD(r, i, 8, o->note);
  o->device_id = pg_get_int64(r, i, 9);
  o->backup_id = pg_get_int64(r, i, 10);
}

static void step_from_row(const PGresult *r, int i, nimbus_prov_step_t *p) {
  memset(p, 0, sizeof *p);
  p->id = pg_get_int64(r, i, 0);
  p->run_id = pg_get_int64(r, i, 1);
  p->tenant_id = pg_get_int64(r, i, 2);
  p->device_id = pg_get_int64(r, i, 3);
  p->contract_id = pg_get_int64(r, i, 4);
  p->seq = pg_get_int(r, i, 5);
  PG_GET_FIELD(r, i, 6, p->kind);
  PG_GET_FIELD(r, i, 7, p->item_name);
  PG_GET_FIELD(r, i, 8, p->target_json);
  p->package_id = pg_get_int64(r, i, 9);
  p->state = (nimbus_step_state_t)pg_get_int(r, i, 10);
  p->attempts = pg_get_int(r, i, 11);
  p->next_at = pg_get_int64(r, i, 12);
  p->sent_at = pg_get_int64(r, i, 13);
  p->finished_at = pg_get_int64(r, i, 14);
  PG_GET_FIELD(r, i, 15, p->reason);
}

/* A step's history row, inside the caller's transaction on c. */
static store_status_t event_insert(pg_conn_t *c, nimbus_id_t run_id, nimbus_id_t step_id,
                                   int64_t now, int from, int to, const char *detail) {
  pg_params_t p = {0};
  pg_param_int(&p, run_id);
  pg_param_int(&p, step_id);
  pg_param_int(&p, now);
  pg_param_int(&p, from);
  pg_param_int(&p, to);
  pg_param_text(&p, detail ? detail : "", NIMBUS_TEXT_MAX);
  return pg_exec(c, PS_PROV_EVENT_INSERT, &p, NULL, "provisioning event insert");
}

/* Coverage row of device for run: *inserted false when it was there. */
static store_status_t cover(pg_conn_t *c, nimbus_id_t run_id, nimbus_id_t device_id, int64_t now,
                            bool *inserted) {
  pg_params_t p = {0};
  pg_param_int(&p, run_id);
  pg_param_int(&p, device_id);
  pg_param_int(&p, now);
  PGresult *r = NULL;
  store_status_t status = pg_exec(c, PS_PROV_COVER_INSERT, &p, &r, "provisioning coverage");
  if (status == STORE_OK) {
    if (inserted) *inserted = PQntuples(r) > 0;
    PQclear(r);
  }
  return status;
}

/* Insert steps[0..n) of run_id (ids filled) with their creation events. */
static store_status_t steps_insert(pg_conn_t *c, nimbus_id_t run_id, nimbus_prov_step_t *steps,
                                   int n, int64_t now) {
  store_status_t status = STORE_OK;
  for (int i = 0; status == STORE_OK && i < n; i++) {
    nimbus_prov_step_t *s = &steps[i];
    s->run_id = run_id;
    if (s->state == 0) s->state = NIMBUS_STEP_PLANNED;
    pg_params_t p = {0};
    pg_param_int(&p, run_id);
    pg_param_int(&p, s->tenant_id);
    pg_param_int(&p, s->device_id);
    pg_param_int(&p, s->seq);
    PG_PARAM_FIELD(&p, s->kind);
    PG_PARAM_FIELD(&p, s->item_name);
    PG_PARAM_FIELD(&p, s->target_json);
    pg_param_int(&p, s->package_id);
    pg_param_int(&p, (int)s->state);
    pg_param_int(&p, s->attempts);
    pg_param_int(&p, s->next_at);
    pg_param_int(&p, s->sent_at);
    pg_param_int(&p, s->finished_at);
    PG_PARAM_FIELD(&p, s->reason);
    PGresult *r = NULL;
    status = pg_exec(c, PS_PROV_STEP_INSERT, &p, &r, "provisioning step insert");
    if (status != STORE_OK) break;
    s->id = PQntuples(r) > 0 ? pg_get_int64(r, 0, 0) : 0;
    PQclear(r);
    status = event_insert(c, run_id, s->id, now, 0, (int)s->state, s->reason);
  }
  return status;
}

typedef struct {
  nimbus_prov_run_t *run;
  const nimbus_id_t *devices;
  int ndevices;
  nimbus_prov_step_t *steps;
  int nsteps;
  int64_t now;
  bool created;
} run_create_t;

static store_status_t run_create_tx(pg_conn_t *c, void *arg) {
  static const char what[] = "provisioning run create";
  run_create_t *a = arg;
  nimbus_prov_run_t *run = a->run;
  a->created = false;
  pg_params_t p = {0};
  pg_param_int(&p, run->tenant_id);
  pg_param_int(&p, run->contract_id);
  pg_param_int(&p, run->revision);
  PG_PARAM_FIELD(&p, run->kind);
  pg_param_int(&p, (int)(run->state ? run->state : NIMBUS_RUN_RUNNING));
  pg_param_int(&p, a->now);
  pg_param_int(&p, run->finished_at);
  PG_PARAM_FIELD(&p, run->note);
  pg_param_int(&p, run->device_id);
  pg_param_int(&p, run->backup_id);
  PGresult *r = NULL;
  store_status_t status = pg_exec(c, PS_PROV_RUN_INSERT, &p, &r, what);
  if (status != STORE_OK) return status;
  if (PQntuples(r) == 0) { /* the event has its run: read it */
    PQclear(r);
    pg_params_t k = {0};
    pg_param_int(&k, run->contract_id);
    pg_param_int(&k, run->revision);
    status = pg_exec_row(c, PS_PROV_RUN_GET_BY_EVENT, &k, &r, what);
    if (status == STORE_OK) {
      run_from_row(r, 0, run);
      PQclear(r);
    }
    return status;
  }
  nimbus_id_t id = pg_get_int64(r, 0, 0);
  PQclear(r);
  for (int i = 0; status == STORE_OK && i < a->ndevices; i++)
    status = cover(c, id, a->devices[i], a->now, NULL);
  if (status == STORE_OK) status = steps_insert(c, id, a->steps, a->nsteps, a->now);
  if (status == STORE_OK) {
    run->id = id;
    a->created = true;
  }
  return status;
}

store_status_t pg_prov_run_create(store_t *base, nimbus_prov_run_t *run, const nimbus_id_t *devices,
                                  int ndevices, nimbus_prov_step_t *steps, int nsteps,
                                  bool *created) {
  run_create_t a = {.run = run,
                    .devices = devices,
                    .ndevices = ndevices,
                    .steps = steps,
                    .nsteps = nsteps,
                    .now = run->created_at ? run->created_at : (int64_t)time(NULL)};
  store_status_t status = pg_transaction(pg_of(base), run_create_tx, &a, "provisioning run create");
  *created = status == STORE_OK && a.created;
  if (*created) {
    run->created_at = a.now;
    if (!run->state) run->state = NIMBUS_RUN_RUNNING;
  }
  return status;
}

static void read_run(const PGresult *r, void *out) {
  run_from_row(r, 0, out);
}

store_status_t pg_prov_run_get(store_t *base, nimbus_id_t tenant_id, nimbus_id_t id,
                               nimbus_prov_run_t *out) {
  pg_params_t p = {0};
  pg_param_int(&p, id);
  pg_param_int(&p, tenant_id);
  return pg_read_one_row(pg_of(base), PS_PROV_RUN_GET, &p, read_run, out, "provisioning run get");
}

/* The rows of statement id, each read by `each` and handed to the
 * caller's callback cb (until it returns false), with store calls from
 * the callback refused as for every list. */
typedef bool (*prov_each_fn)(const PGresult *r, int i, void *cb, void *ctx);
static store_status_t prov_rows(pg_store_t *st, pg_stmt_id_t id, const pg_params_t *p,
                                prov_each_fn each, void *cb, void *ctx, const char *what) {
  pg_conn_t *c = pg_acquire(st, what);
  if (!c) return STORE_ERROR;
  PGresult *r = NULL;
  store_status_t status = pg_exec(c, id, p, &r, what);
  pg_release(st, c);
  if (status != STORE_OK) return status;
  const pg_store_t *outer = pg_callback_enter(st);
  int n = PQntuples(r);
  for (int i = 0; i < n; i++)
    if (!each(r, i, cb, ctx)) break;
  pg_callback_leave(outer);
  PQclear(r);
  return STORE_OK;
}

static bool each_run(const PGresult *r, int i, void *cb, void *ctx) {
  nimbus_prov_run_t o;
  run_from_row(r, i, &o);
  return ((store_prov_run_cb)cb)(&o, ctx);
}

static bool each_step(const PGresult *r, int i, void *cb, void *ctx) {
  nimbus_prov_step_t *s = malloc(sizeof *s);
  if (!s) return false;
  step_from_row(r, i, s);
  bool more = ((store_prov_step_cb)cb)(s, ctx);
  free(s);
  return more;
}

static bool each_id(const PGresult *r, int i, void *cb, void *ctx) {
  return ((store_id_each_cb)cb)(pg_get_int64(r, i, 0), ctx);
}

store_status_t pg_prov_run_list(store_t *base, nimbus_id_t tenant_id, nimbus_id_t contract_id,
                                nimbus_id_t device_id, store_prov_run_cb cb, void *ctx) {
  pg_params_t p = {0};
  pg_param_int(&p, contract_id);
  pg_param_int(&p, tenant_id);
  pg_param_int(&p, device_id);
  return prov_rows(pg_of(base), PS_PROV_RUN_LIST, &p, each_run, (void *)cb, ctx,
                   "provisioning run list");
}

store_status_t pg_prov_run_finish(store_t *base, nimbus_id_t run_id, nimbus_run_state_t state,
                                  const char *note, int64_t now) {
  static const char what[] = "provisioning run finish";
  pg_store_t *st = pg_of(base);
  pg_params_t p = {0};
  pg_param_int(&p, run_id);
  pg_param_int(&p, (int)state);
  pg_param_text(&p, note ? note : "", NIMBUS_TEXT_MAX);
  pg_param_int(&p, now);
  pg_conn_t *c = pg_acquire(st, what);
  if (!c) return STORE_ERROR;
  store_status_t status = pg_exec_changes(c, PS_PROV_RUN_FINISH, &p, what);
  if (status == STORE_NOT_FOUND) {
    pg_params_t k = {0};
    pg_param_int(&k, run_id);
    pg_param_int(&k, 0);
    PGresult *r;
    if (pg_exec_row(c, PS_PROV_RUN_GET, &k, &r, what) == STORE_OK) {
      PQclear(r);
      status = STORE_CONFLICT;
    }
  }
  pg_release(st, c);
  return status;
}

typedef struct {
  nimbus_id_t run_id, tenant_id, device_id;
  nimbus_prov_step_t *steps;
  int nsteps;
  int64_t now;
  bool added;
} widen_t;

static store_status_t widen_tx(pg_conn_t *c, void *arg) {
  widen_t *w = arg;
  w->added = false;
  bool inserted = false;
  store_status_t status = cover(c, w->run_id, w->device_id, w->now, &inserted);
  if (status != STORE_OK || !inserted) return status;
  for (int i = 0; i < w->nsteps; i++) {
    w->steps[i].tenant_id = w->tenant_id;
    w->steps[i].device_id = w->device_id;
  }
  status = steps_insert(c, w->run_id, w->steps, w->nsteps, w->now);
  if (status == STORE_OK && w->nsteps > 0) {
    pg_params_t p = {0};
    pg_param_int(&p, w->run_id);
    status = pg_exec(c, PS_PROV_RUN_REOPEN, &p, NULL, "provisioning run reopen");
  }
  if (status == STORE_OK) w->added = true;
  return status;
}

store_status_t pg_prov_run_widen(store_t *base, nimbus_id_t run_id, nimbus_id_t tenant_id,
                                 nimbus_id_t device_id, nimbus_prov_step_t *steps, int nsteps,
                                 int64_t now, bool *added) {
  widen_t w = {.run_id = run_id,
               .tenant_id = tenant_id,
               .device_id = device_id,
               .steps = steps,
               .nsteps = nsteps,
               .now = now};
  store_status_t status = pg_transaction(pg_of(base), widen_tx, &w, "provisioning run widen");
  *added = status == STORE_OK && w.added;
  return status;
}

store_status_t pg_prov_run_uncovered(store_t *base, nimbus_id_t run_id, nimbus_id_t tenant_id,
                                     store_id_each_cb cb, void *ctx) {
  pg_params_t p = {0};
  pg_param_int(&p, run_id);
  pg_param_int(&p, tenant_id);
  return prov_rows(pg_of(base), PS_PROV_UNCOVERED, &p, each_id, (void *)cb, ctx,
                   "provisioning uncovered");
}

store_status_t pg_prov_step_list(store_t *base, nimbus_id_t tenant_id, nimbus_id_t run_id,
                                 store_prov_step_cb cb, void *ctx) {
  pg_params_t p = {0};
  pg_param_int(&p, run_id);
  pg_param_int(&p, tenant_id);
  return prov_rows(pg_of(base), PS_PROV_STEP_LIST, &p, each_step, (void *)cb, ctx,
                   "provisioning step list");
}

static void read_step(const PGresult *r, void *out) {
  step_from_row(r, 0, out);
}

store_status_t pg_prov_step_get(store_t *base, nimbus_id_t tenant_id, nimbus_id_t id,
                                nimbus_prov_step_t *out) {
  pg_params_t p = {0};
  pg_param_int(&p, id);
  pg_param_int(&p, tenant_id);
  return pg_read_one_row(pg_of(base), PS_PROV_STEP_GET, &p, read_step, out,
                         "provisioning step get");
}

typedef struct {
  const nimbus_prov_step_t *s;
  nimbus_step_state_t from_state;
  int from_attempts;
  const char *detail;
  int64_t now;
} transition_t;

static store_status_t transition_tx(pg_conn_t *c, void *arg) {
  static const char what[] = "provisioning step transition";
  transition_t *t = arg;
  const nimbus_prov_step_t *s = t->s;
  pg_params_t p = {0};
  pg_param_int(&p, s->id);
  pg_param_int(&p, (int)t->from_state);
  pg_param_int(&p, t->from_attempts);
  pg_param_int(&p, (int)s->state);
  pg_param_int(&p, s->attempts);
  pg_param_int(&p, s->next_at);
  pg_param_int(&p, s->sent_at);
  pg_param_int(&p, s->finished_at);
  PG_PARAM_FIELD(&p, s->reason);
  PGresult *r = NULL;
  store_status_t status = pg_exec(c, PS_PROV_STEP_UPDATE, &p, &r, what);
  if (status != STORE_OK) return status;
  if (PQntuples(r) == 0) { /* not moved: there but changed (CONFLICT), or absent */
    PQclear(r);
    pg_params_t k = {0};
    pg_param_int(&k, s->id);
    status = pg_exec_row(c, PS_PROV_STEP_EXISTS, &k, &r, what);
    if (status == STORE_OK) {
      PQclear(r);
      status = STORE_CONFLICT;
    }
    return status;
  }
  nimbus_id_t run_id = pg_get_int64(r, 0, 0);
  PQclear(r);
  return event_insert(c, run_id, s->id, t->now, (int)t->from_state, (int)s->state, t->detail);
}

store_status_t pg_prov_step_transition(store_t *base, const nimbus_prov_step_t *s,
                                       nimbus_step_state_t from_state, int from_attempts,
                                       const char *detail, int64_t now) {
  transition_t t = {s, from_state, from_attempts, detail, now};
  return pg_transaction(pg_of(base), transition_tx, &t, "provisioning step transition");
}

store_status_t pg_prov_step_heads(store_t *base, nimbus_id_t device_id, int64_t now, int limit,
                                  store_prov_step_cb cb, void *ctx) {
  pg_params_t p = {0};
  pg_param_int(&p, device_id);
  pg_param_int(&p, now);
  pg_param_int(&p, limit);
  return prov_rows(pg_of(base), PS_PROV_STEP_HEADS, &p, each_step, (void *)cb, ctx,
                   "provisioning step heads");
}

store_status_t pg_prov_step_timed_out(store_t *base, int64_t sent_before, int limit,
                                      store_prov_step_cb cb, void *ctx) {
  pg_params_t p = {0};
  pg_param_int(&p, sent_before);
  pg_param_int(&p, limit);
  return prov_rows(pg_of(base), PS_PROV_STEP_TIMED_OUT, &p, each_step, (void *)cb, ctx,
                   "provisioning step timed out");
}

static void read_flag(const PGresult *r, void *out) {
  (void)r;
  *(bool *)out = true;
}

store_status_t pg_prov_device_has_package(store_t *base, nimbus_id_t device_id,
                                          nimbus_id_t package_id, bool *out) {
  pg_params_t p = {0};
  pg_param_int(&p, device_id);
  pg_param_int(&p, package_id);
  *out = false;
  store_status_t status = pg_read_one_row(pg_of(base), PS_PROV_HAS_PACKAGE, &p, read_flag, out,
                                          "provisioning package check");
  return status == STORE_NOT_FOUND ? STORE_OK : status;
}

store_status_t pg_inventory_put(store_t *base, const nimbus_device_inventory_t *inv) {
  static const char what[] = "inventory put";
  pg_store_t *st = pg_of(base);
  pg_params_t p = {0};
  pg_param_int(&p, inv->device_id);
  pg_param_int(&p, inv->tenant_id);
  PG_PARAM_FIELD(&p, inv->firmware_name);
  PG_PARAM_FIELD(&p, inv->firmware_version);
  PG_PARAM_FIELD(&p, inv->applications_json);
  PG_PARAM_FIELD(&p, inv->settings_json);
  pg_param_int(&p, inv->reported_at ? inv->reported_at : (int64_t)time(NULL));
  pg_conn_t *c = pg_acquire(st, what);
  if (!c) return STORE_ERROR;
  store_status_t status = pg_exec(c, PS_PROV_INV_PUT, &p, NULL, what);
  pg_release(st, c);
  return status;
}

static void read_inventory(const PGresult *r, void *out) {
  nimbus_device_inventory_t *inv = out;
  memset(inv, 0, sizeof *inv);
  inv->device_id = pg_get_int64(r, 0, 0);
  inv->tenant_id = pg_get_int64(r, 0, 1);
  PG_GET_FIELD(r, 0, 2, inv->firmware_name);
  PG_GET_FIELD(r, 0, 3, inv->firmware_version);
  PG_GET_FIELD(r, 0, 4, inv->applications_json);
  PG_GET_FIELD(r, 0, 5, inv->settings_json);
  inv->reported_at = pg_get_int64(r, 0, 6);
}

store_status_t pg_inventory_get(store_t *base, nimbus_id_t device_id,
                                nimbus_device_inventory_t *out) {
  pg_params_t p = {0};
  pg_param_int(&p, device_id);
  return pg_read_one_row(pg_of(base), PS_PROV_INV_GET, &p, read_inventory, out, "inventory get");
}
