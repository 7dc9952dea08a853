/*
 * store-pg-subscriptions.c: the subscriptions table (PostgreSQL migration
 * 3) in the PostgreSQL backend, as store-sqlite-subscriptions.c: the
 * devices' IPP event subscriptions that every node knows.  The policy
 * lives in notify/notify.c.
 */
#include <stdlib.h>

#include "store-pg-private.h"

static void subscription_from_row(const PGresult *r, int i, nimbus_subscription_t *out) {
  memset(out, 0, sizeof *out);
  out->id = pg_get_int(r, i, 0);
  out->tenant_id = pg_get_int64(r, i, 1);
  out->queue_id = pg_get_int64(r, i, 2);
  out->device_id = pg_get_int64(r, i, 3);
  out->job_id = pg_get_int64(r, i, 4);
  out->events = (unsigned)pg_get_int64(r, i, 5);
  out->lease_seconds = pg_get_int(r, i, 6);
  out->created_at = pg_get_int64(r, i, 7);
  out->expires_at = pg_get_int64(r, i, 8);
}

store_status_t pg_subscription_insert(store_t *base, nimbus_subscription_t *sub) {
  pg_store_t *st = pg_of(base);
  int64_t now = (int64_t)time(NULL);
  pg_params_t p = {0};
  pg_param_int(&p, sub->tenant_id);
  pg_param_int(&p, sub->queue_id);
  pg_param_int(&p, sub->device_id);
  pg_param_int(&p, sub->job_id);
  pg_param_int(&p, sub->events);
  pg_param_int(&p, sub->lease_seconds);
  pg_param_int(&p, now);
  pg_param_int(&p, sub->expires_at);
  pg_conn_t *c = pg_acquire(st, "subscription insert");
  if (!c) return STORE_ERROR;
  PGresult *r;
  store_status_t status = pg_exec(c, PS_SUB_INSERT, &p, &r, "subscription insert");
  if (status == STORE_OK) {
    sub->id = pg_get_int(r, 0, 0);
    sub->created_at = now;
    PQclear(r);
  }
  pg_release(st, c);
  return status;
}

store_status_t pg_subscription_get(store_t *base, int id, int64_t now, nimbus_subscription_t *out) {
  pg_store_t *st = pg_of(base);
  pg_params_t p = {0};
  pg_param_int(&p, id);
  pg_param_int(&p, now);
  pg_conn_t *c = pg_acquire(st, "subscription get");
  if (!c) return STORE_ERROR;
  PGresult *r;
  store_status_t status = pg_exec_row(c, PS_SUB_GET, &p, &r, "subscription get");
  if (status == STORE_OK) {
    subscription_from_row(r, 0, out);
    PQclear(r);
  }
  pg_release(st, c);
  return status;
}

store_status_t pg_subscription_list(store_t *base, nimbus_id_t device_id, int64_t now,
                                    nimbus_subscription_t *out, int max, int *count) {
  pg_store_t *st = pg_of(base);
  pg_params_t p = {0};
  pg_param_int(&p, device_id);
  pg_param_int(&p, now);
  pg_param_int(&p, max);
  pg_conn_t *c = pg_acquire(st, "subscription list");
  if (!c) return STORE_ERROR;
  PGresult *r;
  store_status_t status = pg_exec(c, PS_SUB_LIST, &p, &r, "subscription list");
  if (status == STORE_OK) {
    for (int i = 0; i < PQntuples(r) && *count < max; i++)
      subscription_from_row(r, i, &out[(*count)++]);
    PQclear(r);
  }
  pg_release(st, c);
  return status;
}

/* One write statement with the integers v[0..n); NOT_FOUND when it
 * changed no row, else the number changed in *changes (may be NULL). */
static store_status_t subscription_write(pg_store_t *st, pg_stmt_id_t id, const int64_t *v, int n,
                                         const char *what, int *changes) {
  pg_params_t p = {0};
  for (int i = 0; i < n; i++) pg_param_int(&p, v[i]);
  pg_conn_t *c = pg_acquire(st, what);
  if (!c) return STORE_ERROR;
  PGresult *r;
  store_status_t status = pg_exec(c, id, &p, &r, what);
  if (status == STORE_OK) {
    int k = atoi(PQcmdTuples(r));
    if (changes) *changes = k;
    if (k == 0) status = STORE_NOT_FOUND;
    PQclear(r);
  }
  pg_release(st, c);
  return status;
}

store_status_t pg_subscription_renew(store_t *base, int id, nimbus_id_t device_id,
                                     int lease_seconds, int64_t expires_at) {
  const int64_t v[] = {id, device_id, lease_seconds, expires_at};
  return subscription_write(pg_of(base), PS_SUB_RENEW, v, 4, "subscription renew", NULL);
}

store_status_t pg_subscription_delete(store_t *base, int id, nimbus_id_t device_id) {
  const int64_t v[] = {id, device_id};
  return subscription_write(pg_of(base), PS_SUB_DELETE, v, 2, "subscription delete", NULL);
}

store_status_t pg_subscription_sweep(store_t *base, int64_t now, int *removed) {
  const int64_t v[] = {now};
  store_status_t status =
      subscription_write(pg_of(base), PS_SUB_SWEEP, v, 1, "subscription sweep", removed);
  return status == STORE_NOT_FOUND ? STORE_OK : status; /* NOT_FOUND: nothing expired */
}
