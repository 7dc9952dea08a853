/*
 * store-sqlite-links.c: account links (table account_links, migration 19;
 * docs/FEDERATION.md §2.2) in the SQLite backend (store.h "account
 * links"; the policy is in federation/account-link.c).  Sealed values
 * are stored as given; this file never sees a token in clear.
 */
#include "store-sqlite-private.h"

#include <sodium.h>
#include <time.h>

#define LINK_COLS                                                                           \
  "id, tenant_id, user_id, service_url, status, remote_user, token, device_code, "          \
  "user_code, verification_uri, verification_uri_complete, token_endpoint, poll_interval, " \
  "expires_at, next_poll_at, linked_at, last_checked_at, last_error, created_at, version"

static const char *const link_sql[S_CONTRACT_FIRST - S_LINK_FIRST] = {
#define L(id) [(id)-S_LINK_FIRST]
    L(S_LINK_INSERT) =
        "INSERT INTO account_links (tenant_id, user_id, service_url, status, remote_user, "
        "token, device_code, user_code, verification_uri, verification_uri_complete, "
        "token_endpoint, poll_interval, expires_at, next_poll_at, linked_at, last_checked_at, "
        "last_error, created_at, version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
        "?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, 1)",
    L(S_LINK_GET) = "SELECT " LINK_COLS " FROM account_links WHERE id = ?1 AND tenant_id = ?2",
    L(S_LINK_LIST) = "SELECT " LINK_COLS
                     " FROM account_links WHERE tenant_id = ?1 "
                     "AND user_id = ?2 ORDER BY service_url, id",
    L(S_LINK_DUE) = "SELECT " LINK_COLS
                    " FROM account_links WHERE status IN (1, 2, 3) "
                    "AND next_poll_at <= ?1 ORDER BY next_poll_at, id LIMIT ?2",
    L(S_LINK_UPDATE) =
        "UPDATE account_links SET status = ?4, remote_user = ?5, token = ?6, device_code = ?7, "
        "user_code = ?8, verification_uri = ?9, verification_uri_complete = ?10, "
        "token_endpoint = ?11, poll_interval = ?12, expires_at = ?13, next_poll_at = ?14, "
        "linked_at = ?15, last_checked_at = ?16, last_error = ?17, version = version + 1 "
        "WHERE id = ?1 AND tenant_id = ?2 AND version = ?3",
    L(S_LINK_EXISTS) = "SELECT 1 FROM account_links WHERE id = ?1 AND tenant_id = ?2",
    L(S_LINK_DELETE) = "DELETE FROM account_links WHERE id = ?1 AND tenant_id = ?2",
#undef L
};

const char *sqlite_link_sql(stmt_id_t id) {
  return id >= S_LINK_FIRST && id < S_CONTRACT_FIRST ? link_sql[id - S_LINK_FIRST] : NULL;
}

#define COPY(s, col, arr) sqlite_copy_column((s), (col), (arr), sizeof(arr))

/* A sealed blob column into dst (at most cap bytes; longer is never written). */
static int copy_blob(sqlite3_stmt *s, int col, unsigned char *dst, size_t cap) {
  const void *b = sqlite3_column_blob(s, col);
  int n = sqlite3_column_bytes(s, col);
  if (!b || n <= 0 || (size_t)n > cap) return 0;
  memcpy(dst, b, (size_t)n);
  return n;
}

static void link_from_row(sqlite3_stmt *s, nimbus_account_link_t *l) {
  memset(l, 0, sizeof *l);
  l->id = sqlite3_column_int64(s, 0);
  l->tenant_id = sqlite3_column_int64(s, 1);
  l->user_id = sqlite3_column_int64(s, 2);
  COPY(s, 3, l->service_url);
  l->status = (nimbus_link_status_t)sqlite3_column_int(s, 4);
  COPY(s, 5, l->remote_user);
  l->token_len = copy_blob(s, 6, l->token, sizeof l->token);
  l->device_code_len = copy_blob(s, 7, l->device_code, sizeof l->device_code);
  COPY(s, 8, l->user_code);
  COPY(s, 9, l->verification_uri);
  COPY(s, 10, l->verification_uri_complete);
  COPY(s, 11, l->token_endpoint);
  l->interval = sqlite3_column_int(s, 12);
  l->expires_at = sqlite3_column_int64(s, 13);
  l->next_poll_at = sqlite3_column_int64(s, 14);
  l->linked_at = sqlite3_column_int64(s, 15);
  l->last_checked_at = sqlite3_column_int64(s, 16);
  COPY(s, 17, l->last_error);
  l->created_at = sqlite3_column_int64(s, 18);
  l->version = sqlite3_column_int64(s, 19);
}

static void bind_blob(sqlite3_stmt *s, int idx, const unsigned char *b, int len, size_t cap) {
  if (len > 0 && (size_t)len <= cap)
    sqlite3_bind_blob(s, idx, b, len, SQLITE_STATIC);
  else
    sqlite3_bind_null(s, idx);
}

/* The mutable members from ?first on, in the order of S_LINK_UPDATE. */
static void bind_mutable(sqlite3_stmt *s, int first, const nimbus_account_link_t *l) {
  sqlite3_bind_int(s, first, (int)l->status);
  BIND_FIELD(s, first + 1, l->remote_user);
  bind_blob(s, first + 2, l->token, l->token_len, sizeof l->token);
  bind_blob(s, first + 3, l->device_code, l->device_code_len, sizeof l->device_code);
  BIND_FIELD(s, first + 4, l->user_code);
  BIND_FIELD(s, first + 5, l->verification_uri);
  BIND_FIELD(s, first + 6, l->verification_uri_complete);
  BIND_FIELD(s, first + 7, l->token_endpoint);
  sqlite3_bind_int(s, first + 8, l->interval);
  sqlite3_bind_int64(s, first + 9, l->expires_at);
  sqlite3_bind_int64(s, first + 10, l->next_poll_at);
  sqlite3_bind_int64(s, first + 11, l->linked_at);
  sqlite3_bind_int64(s, first + 12, l->last_checked_at);
  BIND_FIELD(s, first + 13, l->last_error);
}

store_status_t sqlite_account_link_insert(store_t *base_, nimbus_account_link_t *l,
                                          const store_audit_t *audit) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  int64_t now = (int64_t)time(NULL), id = 0;
  store_status_t status = sqlite_audit_begin_locked(st, audit);
  if (status == STORE_OK) {
    sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_LINK_INSERT);
    if (!s) {
      status = STORE_ERROR;
    } else {
      sqlite3_bind_int64(s, 1, l->tenant_id);
      sqlite3_bind_int64(s, 2, l->user_id);
      BIND_FIELD(s, 3, l->service_url);
      bind_mutable(s, 4, l);
      sqlite3_bind_int64(s, 18, now);
      status = sqlite_stmt_exec_locked(st, s, "account link insert");
      if (status == STORE_OK) id = sqlite3_last_insert_rowid(st->db);
    }
    status = sqlite_audit_end_locked(st, audit, status, id);
  }
  if (status == STORE_OK) {
    l->id = id;
    l->created_at = now;
    l->version = 1;
  }
  sqlite_unlock(st);
  return status;
}

static void read_link(sqlite3_stmt *s, void *out) {
  link_from_row(s, out);
}

store_status_t sqlite_account_link_get(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id,
                                       nimbus_account_link_t *out) {
  const int64_t ints[] = {id, tenant_id};
  return sqlite_read_one_row(sqlite_of(base_), S_LINK_GET, ints, 2, NULL, read_link, out,
                             "account link get");
}

static bool link_row(sqlite3_stmt *s, list_cb_t cb, void *ctx) {
  nimbus_account_link_t *l = malloc(sizeof *l);
  if (!l) return false;
  link_from_row(s, l);
  bool more = cb.account_link(l, ctx);
  sodium_memzero(l, sizeof *l);
  free(l);
  return more;
}

/* Rows of statement id bound with two integers. */
static store_status_t link_rows(sqlite_store_t *st, stmt_id_t id, int64_t a, int64_t b,
                                store_account_link_cb cb, void *ctx, const char *what) {
  if (!(st = sqlite_read_lock(st))) return STORE_ERROR;
  store_status_t status = STORE_ERROR;
  sqlite3_stmt *s = sqlite_stmt_get_locked(st, id);
  if (s) {
    sqlite3_bind_int64(s, 1, a);
    sqlite3_bind_int64(s, 2, b);
    status =
        sqlite_for_each_row_locked(st, s, what, link_row, (list_cb_t){.account_link = cb}, ctx);
  }
  sqlite_read_unlock(st);
  return status;
}

store_status_t sqlite_account_link_list(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                        store_account_link_cb cb, void *ctx) {
  return link_rows(sqlite_of(base_), S_LINK_LIST, tenant_id, user_id, cb, ctx, "account link list");
}

store_status_t sqlite_account_link_due(store_t *base_, int64_t now, int limit,
                                       store_account_link_cb cb, void *ctx) {
  return link_rows(sqlite_of(base_), S_LINK_DUE, now, limit, cb, ctx, "account link due");
}

store_status_t sqlite_account_link_update(store_t *base_, nimbus_account_link_t *l,
                                          const store_audit_t *audit) {
  static const char what[] = "account link update";
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  store_status_t status = sqlite_audit_begin_locked(st, audit);
  sqlite3_stmt *s = status == STORE_OK ? sqlite_stmt_get_locked(st, S_LINK_UPDATE) : NULL;
  if (s) {
    sqlite3_bind_int64(s, 1, l->id);
    sqlite3_bind_int64(s, 2, l->tenant_id);
    sqlite3_bind_int64(s, 3, l->version);
    bind_mutable(s, 4, l);
    status = sqlite_exec_changes_locked(st, s, what);
    if (status == STORE_NOT_FOUND) { /* there but changed since read: CONFLICT */
      sqlite3_stmt *e = sqlite_stmt_get_locked(st, S_LINK_EXISTS);
      if (e) {
        sqlite3_bind_int64(e, 1, l->id);
        sqlite3_bind_int64(e, 2, l->tenant_id);
        if (sqlite_step_row_locked(st, e, what) == STORE_OK) status = STORE_CONFLICT;
        sqlite_stmt_reset(e);
      }
    }
  } else if (status == STORE_OK) {
    status = STORE_ERROR;
  }
  status = sqlite_audit_end_locked(st, audit, status, 0);
  if (status == STORE_OK) l->version++;
  sqlite_unlock(st);
  return status;
}

store_status_t sqlite_account_link_delete(store_t *base_, nimbus_id_t tenant_id, nimbus_id_t id,
                                          const store_audit_t *audit) {
  sqlite_store_t *st = sqlite_of(base_);
  if (!sqlite_lock(st)) return STORE_ERROR;
  store_status_t status = sqlite_audit_begin_locked(st, audit);
  if (status == STORE_OK) {
    sqlite3_stmt *s = sqlite_stmt_get_locked(st, S_LINK_DELETE);
    if (!s) {
      status = STORE_ERROR;
    } else {
      sqlite3_bind_int64(s, 1, id);
      sqlite3_bind_int64(s, 2, tenant_id);
      status = sqlite_exec_changes_locked(st, s, "account link delete");
    }
    status = sqlite_audit_end_locked(st, audit, status, 0);
  }
  sqlite_unlock(st);
  return status;
}
