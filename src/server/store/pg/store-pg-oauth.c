/*
 * store-pg-oauth.c: OAuth 2.0 device authorization grants (table
 * device_grants, migration 8) in the PostgreSQL backend, with the meanings
 * store.h gives them and store/sqlite/store-sqlite-oauth.c implements (the
 * policy is in oauth/oauth.c).
 */
#include <string.h>

#include "store-pg-private.h"

/* Columns of GRANT_COLS (store-pg.c) of row i into *g. */
static void grant_from_row(const PGresult *r, int i, nimbus_device_grant_t *g) {
  memset(g, 0, sizeof *g);
  g->id = pg_get_int64(r, i, 0);
  pg_get_bytes(r, i, 1, g->user_code_hash, sizeof g->user_code_hash);
  pg_get_bytes(r, i, 2, g->device_code_hash, sizeof g->device_code_hash);
  PG_GET_FIELD(r, i, 3, g->client_id);
  PG_GET_FIELD(r, i, 4, g->scope);
  PG_GET_FIELD(r, i, 5, g->status);
  g->tenant_id = pg_get_int64(r, i, 6);
  g->user_id = pg_get_int64(r, i, 7);
  g->created_at = pg_get_int64(r, i, 8);
  g->expires_at = pg_get_int64(r, i, 9);
  g->interval = pg_get_int(r, i, 10);
  g->last_poll_at = pg_get_int64(r, i, 11);
  g->token_id = pg_get_int64(r, i, 12);
}

/* Prune grants expired a day ago, then insert unless max_pending are
 * pending: the INSERT … SELECT … WHERE count returns no row then.  (Two
 * concurrent inserts may both pass the count: the cap is a bound on
 * abuse, not an exact number.) */
store_status_t pg_device_grant_insert(store_t *base, nimbus_device_grant_t *g, int max_pending) {
  pg_store_t *st = pg_of(base);
  pg_conn_t *c = pg_acquire(st, "device grant insert");
  if (!c) return STORE_ERROR;
  pg_params_t prune = {0};
  pg_param_int(&prune, g->created_at);
  store_status_t status = pg_exec(c, PS_DGRANT_PRUNE, &prune, NULL, "device grant prune");
  pg_params_t p = {0};
  pg_param_bytes(&p, g->user_code_hash, 32);
  pg_param_bytes(&p, g->device_code_hash, 32);
  PG_PARAM_FIELD(&p, g->client_id);
  PG_PARAM_FIELD(&p, g->scope);
  pg_param_int(&p, g->created_at);
  pg_param_int(&p, g->expires_at);
  pg_param_int(&p, g->interval);
  pg_param_int(&p, max_pending);
  PGresult *r = NULL;
  if (status == STORE_OK) status = pg_exec(c, PS_DGRANT_INSERT, &p, &r, "device grant insert");
  if (status == STORE_OK) {
    if (PQntuples(r) == 1) {
      g->id = pg_get_int64(r, 0, 0);
      strcpy(g->status, "pending");
    } else {
      status = STORE_CONFLICT; /* max_pending are pending */
    }
    PQclear(r);
  }
  pg_release(st, c);
  return status;
}

store_status_t pg_device_grant_get(store_t *base, bool by_device, const unsigned char hash[32],
                                   nimbus_device_grant_t *out) {
  pg_store_t *st = pg_of(base);
  pg_conn_t *c = pg_acquire(st, "device grant get");
  if (!c) return STORE_ERROR;
  pg_params_t p = {0};
  pg_param_bytes(&p, hash, 32);
  PGresult *r;
  store_status_t status = pg_exec_row(
      c, by_device ? PS_DGRANT_GET_BY_DEVICE : PS_DGRANT_GET_BY_USER, &p, &r, "device grant get");
  if (status == STORE_OK) {
    grant_from_row(r, 0, out);
    PQclear(r);
  }
  pg_release(st, c);
  return status;
}

store_status_t pg_device_grant_update(store_t *base, const nimbus_device_grant_t *g,
                                      const char *expect_status, const store_audit_t *audit) {
  pg_store_t *st = pg_of(base);
  pg_conn_t *c = pg_acquire(st, "device grant update");
  if (!c) return STORE_ERROR;
  pg_params_t p = {0};
  pg_param_int(&p, g->id);
  PG_PARAM_FIELD(&p, g->status);
  pg_param_int(&p, g->tenant_id);
  pg_param_int(&p, g->user_id);
  pg_param_int(&p, g->interval);
  pg_param_int(&p, g->last_poll_at);
  pg_param_int(&p, g->token_id);
  pg_param_text(&p, expect_status, strlen(expect_status));
  store_status_t status = pg_audit_begin(c, audit);
  if (status == STORE_OK) status = pg_exec_changes(c, PS_DGRANT_UPDATE, &p, "device grant update");
  status = pg_audit_end(c, audit, status, g->id);
  pg_release(st, c);
  return status;
}
