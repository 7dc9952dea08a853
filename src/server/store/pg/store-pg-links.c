/*
 * store-pg-links.c: account links (table account_links, migration 10;
 * docs/FEDERATION.md §2.2) in the PostgreSQL backend (store.h "account
 * links"; the policy is in federation/account-link.c).  Sealed values
 * are stored as given; this file never sees a token in clear.
 */
#include "store-pg-private.h"

#include <sodium.h>
#include <stdlib.h>
#include <time.h>

#define LINK_COLS                                                                           \
  "id, tenant_id, user_id, service_url, status, remote_user, token, device_code, "          \
  "user_code, verification_uri, verification_uri_complete, token_endpoint, poll_interval, " \
  "expires_at, next_poll_at, linked_at, last_checked_at, last_error, created_at, version"

static const char *const link_sql[PS_CONTRACT_FIRST - PS_LINK_FIRST] = {
#define L(id) [(id)-PS_LINK_FIRST]
    L(PS_LINK_INSERT) =
        "INSERT INTO account_links (tenant_id, user_id, service_url, status, remote_user, "
        "token, device_code, user_code, verification_uri, verification_uri_complete, "
        "token_endpoint, poll_interval, expires_at, next_poll_at, linked_at, last_checked_at, "
        "last_error, created_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
        "$11, $12, $13, $14, $15, $16, $17, $18, 1) RETURNING id",
    L(PS_LINK_GET) = "SELECT " LINK_COLS " FROM account_links WHERE id = $1 AND tenant_id = $2",
    L(PS_LINK_LIST) = "SELECT " LINK_COLS
                      " FROM account_links WHERE tenant_id = $1 "
                      "AND user_id = $2 ORDER BY service_url COLLATE \"C\", id",
    L(PS_LINK_DUE) = "SELECT " LINK_COLS
                     " FROM account_links WHERE status IN (1, 2, 3) "
                     "AND next_poll_at <= $1 ORDER BY next_poll_at, id LIMIT $2",
    L(PS_LINK_UPDATE) =
        "UPDATE account_links SET status = $4, remote_user = $5, token = $6, device_code = $7, "
        "user_code = $8, verification_uri = $9, verification_uri_complete = $10, "
        "token_endpoint = $11, poll_interval = $12, expires_at = $13, next_poll_at = $14, "
        "linked_at = $15, last_checked_at = $16, last_error = $17, version = version + 1 "
        "WHERE id = $1 AND tenant_id = $2 AND version = $3",
    L(PS_LINK_EXISTS) = "SELECT 1 FROM account_links WHERE id = $1 AND tenant_id = $2",
    L(PS_LINK_DELETE) = "DELETE FROM account_links WHERE id = $1 AND tenant_id = $2",
#undef L
};

const char *pg_link_sql(pg_stmt_id_t id) {
  return id >= PS_LINK_FIRST && id < PS_CONTRACT_FIRST ? link_sql[id - PS_LINK_FIRST] : NULL;
}

/* A bytea column into dst (at most cap bytes; longer is never written). */
static int copy_bytes(const PGresult *r, int i, int col, unsigned char *dst, size_t cap) {
  void *b = NULL;
  size_t n = 0;
  int out = 0;
  if (pg_get_bytes_copy(r, i, col, &b, &n) && b && n > 0 && n <= cap) {
    memcpy(dst, b, n);
    out = (int)n;
  }
  if (b) sodium_memzero(b, n);
  free(b);
  return out;
}

static void link_from_row(const PGresult *r, int i, nimbus_account_link_t *l) {
  memset(l, 0, sizeof *l);
  l->id = pg_get_int64(r, i, 0);
  l->tenant_id = pg_get_int64(r, i, 1);
  l->user_id = pg_get_int64(r, i, 2);
  PG_GET_FIELD(r, i, 3, l->service_url);
  l->status = (nimbus_link_status_t)pg_get_int(r, i, 4);
  PG_GET_FIELD(r, i, 5, l->remote_user);
  l->token_len = copy_bytes(r, i, 6, l->token, sizeof l->token);
  l->device_code_len = copy_bytes(r, i, 7, l->device_code, sizeof l->device_code);
  PG_GET_FIELD(r, i, 8, l->user_code);
  PG_GET_FIELD(r, i, 9, l->verification_uri);
  PG_GET_FIELD(r, i, 10, l->verification_uri_complete);
  PG_GET_FIELD(r, i, 11, l->token_endpoint);
  l->interval = pg_get_int(r, i, 12);
  l->expires_at = pg_get_int64(r, i, 13);
  l->next_poll_at = pg_get_int64(r, i, 14);
  l->linked_at = pg_get_int64(r, i, 15);
  l->last_checked_at = pg_get_int64(r, i, 16);
  PG_GET_FIELD(r, i, 17, l->last_error);
  l->created_at = pg_get_int64(r, i, 18);
  l->version = pg_get_int64(r, i, 19);
}

static size_t blob_len(int len, size_t cap) {
  return len <= 0 || (size_t)len > cap ? 0 : (size_t)len;
}

/* The mutable members, in the order of PS_LINK_UPDATE ($4..$17). */
static void param_mutable(pg_params_t *p, const nimbus_account_link_t *l) {
  pg_param_int(p, (int)l->status);
  PG_PARAM_FIELD(p, l->remote_user);
  pg_param_bytes(p, l->token, blob_len(l->token_len, sizeof l->token));
  pg_param_bytes(p, l->device_code, blob_len(l->device_code_len, sizeof l->device_code));
  PG_PARAM_FIELD(p, l->user_code);
  PG_PARAM_FIELD(p, l->verification_uri);
  PG_PARAM_FIELD(p, l->verification_uri_complete);
  PG_PARAM_FIELD(p, l->token_endpoint);
  pg_param_int(p, l->interval);
  pg_param_int(p, l->expires_at);
  pg_param_int(p, l->next_poll_at);
  pg_param_int(p, l->linked_at);
  pg_param_int(p, l->last_checked_at);
  PG_PARAM_FIELD(p, l->last_error);
}

store_status_t pg_account_link_insert(store_t *base, nimbus_account_link_t *l,
                                      const store_audit_t *audit) {
  int64_t now = (int64_t)time(NULL), id = 0;
  pg_params_t p = {0};
  pg_param_int(&p, l->tenant_id);
  pg_param_int(&p, l->user_id);
  PG_PARAM_FIELD(&p, l->service_url);
  param_mutable(&p, l);
  pg_param_int(&p, now);
  store_status_t status =
      pg_write_one(pg_of(base), PS_LINK_INSERT, &p, false, &id, audit, 0, "account link insert");
  if (status == STORE_OK) {
    l->id = id;
    l->created_at = now;
    l->version = 1;
  }
  return status;
}

static void read_link(const PGresult *r, void *out) {
  link_from_row(r, 0, out);
}

store_status_t pg_account_link_get(store_t *base, nimbus_id_t tenant_id, nimbus_id_t id,
                                   nimbus_account_link_t *out) {
  pg_params_t p = {0};
  pg_param_int(&p, id);
  pg_param_int(&p, tenant_id);
  return pg_read_one_row(pg_of(base), PS_LINK_GET, &p, read_link, out, "account link get");
}

static bool link_row(const PGresult *r, int i, pg_list_cb_t cb, void *ctx) {
  nimbus_account_link_t *l = malloc(sizeof *l);
  if (!l) return false;
  link_from_row(r, i, l);
  bool more = cb.account_link(l, ctx);
  sodium_memzero(l, sizeof *l);
  free(l);
  return more;
}

store_status_t pg_account_link_list(store_t *base, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                    store_account_link_cb cb, void *ctx) {
  pg_params_t p = {0};
  pg_param_int(&p, tenant_id);
  pg_param_int(&p, user_id);
  return pg_read_rows(pg_of(base), PS_LINK_LIST, &p, link_row, (pg_list_cb_t){.account_link = cb},
                      ctx, "account link list");
}

store_status_t pg_account_link_due(store_t *base, int64_t now, int limit, store_account_link_cb cb,
                                   void *ctx) {
  pg_params_t p = {0};
  pg_param_int(&p, now);
  pg_param_int(&p, limit);
  return pg_read_rows(pg_of(base), PS_LINK_DUE, &p, link_row, (pg_list_cb_t){.account_link = cb},
                      ctx, "account link due");
}

store_status_t pg_account_link_update(store_t *base, nimbus_account_link_t *l,
                                      const store_audit_t *audit) {
  static const char what[] = "account link update";
  pg_store_t *st = pg_of(base);
  pg_params_t p = {0};
  pg_param_int(&p, l->id);
  pg_param_int(&p, l->tenant_id);
  pg_param_int(&p, l->version);
  param_mutable(&p, l);
  pg_conn_t *c = pg_acquire(st, what);
  if (!c) return STORE_ERROR;
  store_status_t status = pg_audit_begin(c, audit);
  if (status == STORE_OK) status = pg_exec_changes(c, PS_LINK_UPDATE, &p, what);
  if (status == STORE_NOT_FOUND) { /* there but changed since read: CONFLICT */
    pg_params_t k = {0};
    pg_param_int(&k, l->id);
    pg_param_int(&k, l->tenant_id);
    PGresult *r;
    if (pg_exec_row(c, PS_LINK_EXISTS, &k, &r, what) == STORE_OK) {
      PQclear(r);
      status = STORE_CONFLICT;
    }
  }
  status = pg_audit_end(c, audit, status, 0);
  pg_release(st, c);
  if (status == STORE_OK) l->version++;
  return status;
}

store_status_t pg_account_link_delete(store_t *base, nimbus_id_t tenant_id, nimbus_id_t id,
                                      const store_audit_t *audit) {
  pg_params_t p = {0};
  pg_param_int(&p, id);
  pg_param_int(&p, tenant_id);
  return pg_write_one(pg_of(base), PS_LINK_DELETE, &p, true, NULL, audit, id,
                      "account link delete");
}
