/*
 * store-pg-sessions.c: web console sessions (table web_sessions,
 * migration 6) in the PostgreSQL backend (store.h; the policy is in
 * accounts/web-session.c).
 */
#include <stdlib.h>
#include <string.h>

#include "store-pg-private.h"

store_status_t pg_web_session_insert(store_t *base, nimbus_web_session_t *ws,
                                     const store_audit_t *audit) {
  pg_store_t *st = pg_of(base);
  pg_conn_t *c = pg_acquire(st, "web session insert");
  if (!c) return STORE_ERROR;
  pg_params_t p = {0};
  pg_param_int(&p, ws->tenant_id);
  pg_param_int(&p, ws->user_id);
  pg_param_bytes(&p, ws->hash, sizeof ws->hash);
  pg_param_int(&p, ws->created_at);
  pg_param_int(&p, ws->last_seen_at);
  pg_param_int(&p, ws->expires_at);
  PGresult *r = NULL;
  nimbus_id_t id = 0;
  store_status_t status = pg_audit_begin(c, audit);
  if (status == STORE_OK) status = pg_exec(c, PS_WEB_SESSION_INSERT, &p, &r, "web session insert");
  if (status == STORE_OK) {
    if (PQntuples(r) == 1)
      id = pg_get_int64(r, 0, 0);
    else
      status = STORE_ERROR; /* RETURNING always yields the row */
    PQclear(r);
  }
  status = pg_audit_end(c, audit, status, id);
  if (status == STORE_OK) ws->id = id;
  pg_release(st, c);
  return status;
}

store_status_t pg_web_session_get(store_t *base, const unsigned char hash[32], int64_t now,
                                  int64_t idle, nimbus_web_session_t *out) {
  pg_store_t *st = pg_of(base);
  pg_conn_t *c = pg_acquire(st, "web session get");
  if (!c) return STORE_ERROR;
  pg_params_t p = {0};
  pg_param_bytes(&p, hash, 32);
  pg_param_int(&p, now);
  pg_param_int(&p, idle);
  PGresult *r;
  store_status_t status = pg_exec_row(c, PS_WEB_SESSION_GET, &p, &r, "web session get");
  if (status == STORE_OK) {
    memset(out, 0, sizeof *out);
    out->id = pg_get_int64(r, 0, 0);
    out->tenant_id = pg_get_int64(r, 0, 1);
    out->user_id = pg_get_int64(r, 0, 2);
    pg_get_bytes(r, 0, 3, out->hash, sizeof out->hash);
    out->created_at = pg_get_int64(r, 0, 4);
    out->last_seen_at = pg_get_int64(r, 0, 5);
    out->expires_at = pg_get_int64(r, 0, 6);
    PQclear(r);
  }
  pg_release(st, c);
  return status;
}

/* One UPDATE/DELETE of up to two integer parameters; *changes (may be
 * NULL) receives the rows it touched.  None touched is fine. */
static store_status_t web_session_exec(pg_store_t *st, pg_stmt_id_t id, int nargs, int64_t a,
                                       int64_t b, int *changes, const char *what) {
  pg_conn_t *c = pg_acquire(st, what);
  if (!c) return STORE_ERROR;
  pg_params_t p = {0};
  pg_param_int(&p, a);
  if (nargs > 1) pg_param_int(&p, b);
  PGresult *r = NULL;
  store_status_t status = pg_exec(c, id, &p, &r, what);
  if (status == STORE_OK) {
    if (changes) *changes = atoi(PQcmdTuples(r));
    PQclear(r);
  }
  pg_release(st, c);
  return status;
}

store_status_t pg_web_session_touch(store_t *base, nimbus_id_t id, int64_t now) {
  return web_session_exec(pg_of(base), PS_WEB_SESSION_TOUCH, 2, id, now, NULL, "web session touch");
}

store_status_t pg_web_session_delete(store_t *base, const unsigned char hash[32],
                                     const store_audit_t *audit) {
  pg_store_t *st = pg_of(base);
  pg_conn_t *c = pg_acquire(st, "web session delete");
  if (!c) return STORE_ERROR;
  pg_params_t p = {0};
  pg_param_bytes(&p, hash, 32);
  store_status_t status = pg_audit_begin(c, audit);
  if (status == STORE_OK)
    status = pg_exec_changes(c, PS_WEB_SESSION_DELETE, &p, "web session delete");
  status = pg_audit_end(c, audit, status, 0);
  pg_release(st, c);
  return status;
}

store_status_t pg_web_session_delete_user(store_t *base, nimbus_id_t tenant_id,
                                          nimbus_id_t user_id) {
  return web_session_exec(pg_of(base), PS_WEB_SESSION_DELETE_USER, 2, tenant_id, user_id, NULL,
                          "web session delete user");
}

store_status_t pg_web_session_delete_tenant(store_t *base, nimbus_id_t tenant_id) {
  return web_session_exec(pg_of(base), PS_WEB_SESSION_DELETE_TENANT, 1, tenant_id, 0, NULL,
                          "web session delete tenant");
}

store_status_t pg_web_session_sweep(store_t *base, int64_t now, int64_t idle, int *n) {
  return web_session_exec(pg_of(base), PS_WEB_SESSION_SWEEP, 2, now, idle, n, "web session sweep");
}
