/*
 * api-billing-accounts.c: billing accounts and purposes over REST
 * (issue 13, docs/BILLING.md "Billing accounts", "Purposes").
 *
 *   GET    /billing-accounts[?closed=1]   admins: every account with its
 *                                        figures; users: the open ones they
 *                                        may charge, without figures
 *   POST   /billing-accounts              admins {code, name, mode, ...} → 201
 *   GET|PATCH /billing-accounts/{code}    admins (GET adds users, printers)
 *   POST   /billing-accounts/{code}/topup admins {amount, memo?}: prepaid only
 *   PUT|DELETE /billing-accounts/{code}/users/{user}         admins → 204
 *   PUT|DELETE /billing-accounts/{code}/printers/{printer}   admins → 204
 *   GET|POST /purposes, GET|PATCH|DELETE /purposes/{name}    the caller's own;
 *                                        admins name another user with ?user=
 *
 * Accounts keep money in the tenant's currency: one cannot be created
 * before the tenant has a currency (409).  A top-up is one ledger posting
 * of kind "topup" (debit tenant:<id>:topups, credit
 * tenant:<id>:prepaid:<code>) written with the balance change and the
 * audit record in one store transaction.  Every change is audited.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api-private.h"
#include "money.h"
#include "purpose.h"

#define MEMO_MAX 127 /* a top-up's memo, bytes */

/* ---- shared ---- */

/* The tenant's currency into cur ("" when it has none); false has responded. */
static bool tenant_currency(api_ctx_t *c, char cur[NIMBUS_CURRENCY_MAX]) {
  nimbus_tenant_billing_t b;
  cur[0] = '\0';
  store_status_t s = store_tenant_billing_get(c->srv->store, c->tenant.id, &b);
  if (s == STORE_NOT_FOUND) return true;
  if (s != STORE_OK) {
    api_respond_store(c, s, "billing settings", NULL);
    return false;
  }
  snprintf(cur, NIMBUS_CURRENCY_MAX, "%s", b.currency);
  return true;
}

/* The account named by code (a path segment); false has responded 404. */
static bool account_load(api_ctx_t *c, const char *code, nimbus_billing_account_t *a) {
  store_status_t s = account_code_valid(code)
                         ? store_account_get_by_code(c->srv->store, c->tenant.id, code, a)
                         : STORE_NOT_FOUND;
  if (s == STORE_NOT_FOUND) {
    if (account_code_valid(code))
      api_problem(c->r, 404, "no billing account with code '%s'", code);
    else
      api_problem(c->r, 404, "no such billing account");
    return false;
  }
  if (s != STORE_OK) {
    api_respond_store(c, s, "billing account", NULL);
    return false;
  }
  return true;
}

/* Respond with account a (admins' view: with figures). */
static void account_respond(api_ctx_t *c, int status, const nimbus_billing_account_t *a) {
  char cur[NIMBUS_CURRENCY_MAX];
  if (tenant_currency(c, cur)) api_respond(c, status, account_json(a, cur, true));
}

/* May user user_id charge account a (everyone, or a grant)? */
static store_status_t account_may_charge(api_ctx_t *c, const nimbus_billing_account_t *a,
                                         nimbus_id_t user_id, bool *out) {
  *out = a->everyone;
  if (*out) return STORE_OK;
  return store_account_granted(c->srv->store, c->tenant.id, a->id, NIMBUS_GRANT_USER, user_id, out);
}

/* ---- accounts ---- */

/* The accounts of a listing, collected first: the store may not be called
 * from inside a listing's callback, and a user's listing asks it about
 * each account's grants. */
typedef struct {
  nimbus_billing_account_t *v;
  size_t n, cap;
  bool failed;
} account_vec_t;

static bool account_collect_cb(const nimbus_billing_account_t *a, void *ctx) {
  account_vec_t *l = ctx;
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 16;
    nimbus_billing_account_t *v = realloc(l->v, cap * sizeof *v);
    if (!v) {
      l->failed = true;
      return false;
    }
    l->v = v;
    l->cap = cap;
  }
  l->v[l->n++] = *a;
  return true;
}

void api_accounts_list(api_ctx_t *c) {
  long closed;
  char cur[NIMBUS_CURRENCY_MAX];
  if (!api_query_int(c, "closed", 0, 0, 1, &closed) || !tenant_currency(c, cur)) return;
  account_vec_t l = {0};
  json_t *arr = json_array();
  /* users: the open accounts they may charge, without figures */
  store_status_t s = arr ? store_account_list(c->srv->store, c->tenant.id, c->is_admin && closed,
                                              account_collect_cb, &l)
                         : STORE_ERROR;
  bool failed = l.failed;
  for (size_t i = 0; s == STORE_OK && !failed && i < l.n; i++) {
    bool may = true;
    if (!c->is_admin) s = account_may_charge(c, &l.v[i], c->r->auth.user.id, &may);
    if (s != STORE_OK || !may) continue;
    json_t *j = account_json(&l.v[i], cur, c->is_admin);
    failed = !j || json_array_append_new(arr, j) != 0;
  }
  free(l.v);
  if (s != STORE_OK || failed) {
    json_decref(arr);
    api_respond_store(c, s == STORE_OK ? STORE_ERROR : s, "billing account", NULL);
    return;
  }
  api_respond(c, 200, json_pack("{s:o}", "accounts", arr));
}

/* The optional booleans and credit limit of c->body into a; false has
 * responded 400. */
static bool account_fields(api_ctx_t *c, nimbus_billing_account_t *a) {
  bool v, present;
  json_int_t limit;
  if (!api_body_bool(c, "everyone", &v, &present)) return false;
  if (present) a->everyone = v;
  if (!api_body_bool(c, "restrict_printers", &v, &present)) return false;
  if (present) a->restrict_printers = v;
  if (!api_body_integer(c, "credit_limit", 0, MONEY_MAX, &limit, &present)) return false;
  if (present) {
    if (a->mode != NIMBUS_ACCOUNT_INVOICED && limit != 0) {
      api_problem(c->r, 400, "'credit_limit' is only for invoiced accounts");
      return false;
    }
    a->credit_limit = limit;
  }
  const char *name;
  if (!api_body_string(c, "name", false, NIMBUS_TEXT_MAX - 1, &name)) return false;
  if (name) {
    if (!name[0] || !api_text_valid(name, NIMBUS_TEXT_MAX - 1)) {
      api_problem(c->r, 400, "'name' must be 1 to %d bytes without control characters",
                  NIMBUS_TEXT_MAX - 1);
      return false;
    }
    snprintf(a->name, sizeof a->name, "%s", name);
  }
  return true;
}

void api_accounts_create(api_ctx_t *c) {
  static const char *const fields[] = {
      "code", "name", "mode", "everyone", "restrict_printers", "credit_limit", NULL};
  nimbus_billing_account_t a;
  const char *code, *name, *mode;
  char cur[NIMBUS_CURRENCY_MAX];
  memset(&a, 0, sizeof a);
  if (!api_body_only(c, fields) || !api_body_string(c, "code", true, 255, &code) ||
      !api_body_string(c, "name", true, NIMBUS_TEXT_MAX - 1, &name) ||
      !api_body_string(c, "mode", true, 16, &mode))
    return;
  if (!account_code_valid(code)) {
    api_problem(c->r, 400, "'code' must be 1 to 32 of A-Z a-z 0-9 . _ -");
    return;
  }
  if (!account_mode_parse(mode, &a.mode)) {
    api_problem(c->r, 400, "'mode' must be \"invoiced\" or \"prepaid\"");
    return;
  }
  snprintf(a.code, sizeof a.code, "%s", code);
  a.tenant_id = c->tenant.id;
  if (!account_fields(c, &a) || !tenant_currency(c, cur)) return;
  if (!cur[0]) {
    api_problem(c->r, 409,
                "the tenant has no currency yet: set one first (PATCH /billing {\"currency\"}, "
                "nimbusctl billing set --currency)");
    return;
  }
  api_audit_t au;
  store_status_t s = store_account_insert(
      c->srv->store, &a,
      api_audit_of(c, &au, "billing-account-created",
                   "code=%s mode=%s everyone=%d restrict_printers=%d credit_limit=%" PRId64, a.code,
                   account_mode_name(a.mode), a.everyone, a.restrict_printers, a.credit_limit));
  if (s == STORE_CONFLICT) {
    api_problem(c->r, 409, "a billing account with code '%s' already exists", a.code);
    return;
  }
  if (s != STORE_OK) {
    api_respond_store(c, s, "billing account", NULL);
    return;
  }
  api_respond(c, 201, account_json(&a, cur, true));
}

typedef struct {
  json_t *users, *printers;
  bool failed;
} grants_out_t;

static bool grant_cb(const nimbus_account_grant_t *g, void *ctx) {
  grants_out_t *o = ctx;
  json_t *arr = g->kind == NIMBUS_GRANT_USER ? o->users : o->printers;
  if (json_array_append_new(arr, api_json_text(g->ref_name)) != 0) o->failed = true;
  return !o->failed;
}

void api_account_get(api_ctx_t *c) {
  nimbus_billing_account_t a;
  char cur[NIMBUS_CURRENCY_MAX];
  if (!account_load(c, c->param, &a) || !tenant_currency(c, cur)) return;
  grants_out_t o = {json_array(), json_array(), false};
  store_status_t s = o.users && o.printers
                         ? store_account_grant_list(c->srv->store, c->tenant.id, a.id,
                                                    (nimbus_grant_kind_t)0, grant_cb, &o)
                         : STORE_ERROR;
  json_t *j = s == STORE_OK && !o.failed ? account_json(&a, cur, true) : NULL;
  /* json_object_set takes its own references: users and printers are
   * released below on every path */
  bool ok = j && json_object_set(j, "users", o.users) == 0 &&
            json_object_set(j, "printers", o.printers) == 0;
  json_decref(o.users);
  json_decref(o.printers);
  if (!ok) {
    json_decref(j);
    api_respond_store(c, s == STORE_OK ? STORE_ERROR : s, "billing account", NULL);
    return;
  }
  api_respond(c, 200, j);
}

void api_account_update(api_ctx_t *c) {
  static const char *const fields[] = {"name",         "everyone", "restrict_printers",
                                       "credit_limit", "closed",   NULL};
  nimbus_billing_account_t a;
  bool closed, has_closed;
  if (!api_body_only(c, fields) || !api_body_bool(c, "closed", &closed, &has_closed) ||
      !account_load(c, c->param, &a))
    return;
  if (has_closed && !closed && a.closed_at) {
    api_problem(c->r, 409, "billing account '%s' is closed; closing is final", a.code);
    return;
  }
  if (a.closed_at && json_object_size(c->body) > (size_t)(has_closed ? 1 : 0)) {
    api_problem(c->r, 409, "billing account '%s' is closed and can no longer be changed", a.code);
    return;
  }
  if (!account_fields(c, &a)) return;
  bool closing = has_closed && closed && !a.closed_at;
  if (closing) a.closed_at = (int64_t)time(NULL);
  api_audit_t au;
  store_status_t s = store_account_update(
      c->srv->store, &a,
      api_audit_of(c, &au, closing ? "billing-account-closed" : "billing-account-updated",
                   "code=%s everyone=%d restrict_printers=%d credit_limit=%" PRId64 " closed=%d",
                   a.code, a.everyone, a.restrict_printers, a.credit_limit, a.closed_at != 0));
  if (s == STORE_CONFLICT) {
    api_problem(c->r, 409, "the credit limit of '%s' would be below what it has charged and held",
                a.code);
    return;
  }
  if (s != STORE_OK) {
    api_respond_store(c, s, "billing account", NULL);
    return;
  }
  account_respond(c, 200, &a);
}

void api_account_topup(api_ctx_t *c) {
  static const char *const fields[] = {"amount", "memo", NULL};
  nimbus_billing_account_t a, after;
  json_int_t amount;
  bool present;
  const char *memo;
  char cur[NIMBUS_CURRENCY_MAX], memo_buf[MEMO_MAX + 1], text[48];
  if (!api_body_only(c, fields) ||
      !api_body_integer(c, "amount", -MONEY_MAX, MONEY_MAX, &amount, &present) ||
      !api_body_string(c, "memo", false, MEMO_MAX, &memo))
    return;
  if (!present || amount == 0) {
    api_problem(c->r, 400,
                "'amount' must be a non-zero whole number of minor units (< 0 takes money back)");
    return;
  }
  if (memo && !api_text_valid(memo, MEMO_MAX)) {
    api_problem(c->r, 400, "'memo' must be at most %d bytes without control characters", MEMO_MAX);
    return;
  }
  if (!account_load(c, c->param, &a) || !tenant_currency(c, cur)) return;
  if (a.mode != NIMBUS_ACCOUNT_PREPAID) {
    api_problem(c->r, 409, "billing account '%s' is invoiced: only prepaid accounts are topped up",
                a.code);
    return;
  }
  if (a.closed_at && amount > 0) {
    api_problem(c->r, 409, "billing account '%s' is closed", a.code);
    return;
  }
  if (!cur[0] || !money_format(amount, cur, text, sizeof text)) {
    api_problem(c->r, 409, "the tenant has no currency");
    return;
  }
  snprintf(memo_buf, sizeof memo_buf, "%s", memo ? memo : "topup");
  store_ledger_line_t lines[2];
  int n1 = snprintf(lines[0].account, sizeof lines[0].account, "tenant:%" PRId64 ":topups",
                    c->tenant.id);
  int n2 = snprintf(lines[1].account, sizeof lines[1].account, "tenant:%" PRId64 ":prepaid:%s",
                    c->tenant.id, a.code);
  if (n1 < 0 || n2 < 0 || (size_t)n2 >= sizeof lines[1].account) {
    api_problem(c->r, 500, "ledger account name too long");
    return;
  }
  lines[0].amount = amount;
  lines[1].amount = -amount;
  store_ledger_posting_t posting = {.tenant_id = c->tenant.id,
                                    .kind = "topup",
                                    .currency = cur,
                                    .memo = memo_buf,
                                    .lines = lines,
                                    .nlines = 2};
  api_audit_t au;
  store_status_t s = store_account_topup(
      c->srv->store, c->tenant.id, a.id, amount, &posting,
      api_audit_of(c, &au, "billing-account-topup", "code=%s amount=%" PRId64 " (%s %s)", a.code,
                   (int64_t)amount, cur, text),
      &after);
  if (s == STORE_CONFLICT) {
    api_problem(c->r, 409,
                "taking back %s %s would leave billing account '%s' below what it holds for jobs",
                cur, text + (text[0] == '-'), a.code);
    return;
  }
  if (s != STORE_OK) {
    api_respond_store(c, s, "billing account", NULL);
    return;
  }
  api_respond(c, 200, account_json(&after, cur, true));
}

/* PUT (add) or DELETE (remove) the grant of kind to c->param2 on account
 * c->param. */
static void account_grant(api_ctx_t *c, nimbus_grant_kind_t kind, bool add) {
  nimbus_billing_account_t a;
  nimbus_account_grant_t g = {.kind = kind};
  const char *what = kind == NIMBUS_GRANT_USER ? "user" : "printer";
  if (!account_load(c, c->param, &a)) return;
  g.account_id = a.id;
  store_status_t s = STORE_NOT_FOUND;
  if (api_name_valid(c->param2)) {
    if (kind == NIMBUS_GRANT_USER) {
      nimbus_user_t u;
      s = store_user_get_by_name(c->srv->store, c->tenant.id, c->param2, &u);
      g.ref_id = u.id;
    } else {
      nimbus_device_t d;
      s = store_device_get_by_name(c->srv->store, c->tenant.id, c->param2, &d);
      g.ref_id = d.id;
    }
  }
  if (s != STORE_OK) {
    api_respond_store(c, s, what, c->param2);
    return;
  }
  api_audit_t au;
  const store_audit_t *audit =
      api_audit_of(c, &au, add ? "billing-account-granted" : "billing-account-revoked",
                   "code=%s %s=%s", a.code, what, c->param2);
  s = add ? store_account_grant_add(c->srv->store, c->tenant.id, &g, audit)
          : store_account_grant_delete(c->srv->store, c->tenant.id, &g, audit);
  if (add && s == STORE_CONFLICT) s = STORE_OK; /* PUT: already granted */
  if (!add && s == STORE_NOT_FOUND) {
    api_problem(c->r, 404, "%s '%s' has no grant on billing account '%s'", what, c->param2, a.code);
    return;
  }
  if (s != STORE_OK) {
    api_respond_store(c, s, "billing account", NULL);
    return;
  }
  api_respond_no_content(c);
}

void api_account_grant_user(api_ctx_t *c) {
  account_grant(c, NIMBUS_GRANT_USER, true);
}
void api_account_revoke_user(api_ctx_t *c) {
  account_grant(c, NIMBUS_GRANT_USER, false);
}
void api_account_grant_printer(api_ctx_t *c) {
  account_grant(c, NIMBUS_GRANT_PRINTER, true);
}
void api_account_revoke_printer(api_ctx_t *c) {
  account_grant(c, NIMBUS_GRANT_PRINTER, false);
}

/* ---- purposes ---- */

/*
 * Whose purposes: ?user=NAME (another user's: admins only, 403) or the
 * caller.  An operator acting on another tenant must name the user (400).
 * False has responded.
 */
static bool purpose_owner(api_ctx_t *c, nimbus_user_t *u) {
  const char *name = http_query(c->r, "user");
  const nimbus_user_t *me = &c->r->auth.user;
  bool mine = c->r->auth.tenant.id == c->tenant.id;
  if (!name || !*name || (mine && strcmp(name, me->name) == 0)) {
    if (!mine) {
      api_problem(c->r, 400, "name the user whose purposes these are: ?user=NAME");
      return false;
    }
    *u = *me;
    return true;
  }
  if (!c->is_admin) {
    api_problem(c->r, 403, "only tenant admins manage another user's purposes");
    return false;
  }
  store_status_t s = api_name_valid(name)
                         ? store_user_get_by_name(c->srv->store, c->tenant.id, name, u)
                         : STORE_NOT_FOUND;
  if (s != STORE_OK) {
    api_respond_store(c, s, "user", name);
    return false;
  }
  return true;
}

/* The purpose c->param of user u; false has responded 404. */
static bool purpose_load(api_ctx_t *c, const nimbus_user_t *u, nimbus_purpose_t *p) {
  store_status_t s =
      purpose_name_valid(c->param)
          ? store_purpose_get_by_name(c->srv->store, c->tenant.id, u->id, c->param, p)
          : STORE_NOT_FOUND;
  if (s == STORE_NOT_FOUND) {
    api_problem(c->r, 404, "%s has no purpose by that name", u->name);
    return false;
  }
  if (s != STORE_OK) {
    api_respond_store(c, s, "purpose", NULL);
    return false;
  }
  return true;
}

/*
 * The members of c->body into p (name, account, default, defaults; those
 * absent are left as they are): the account must exist, be open and be
 * one u may charge (403).  False has responded.
 */
static bool purpose_fields(api_ctx_t *c, const nimbus_user_t *u, nimbus_purpose_t *p) {
  const char *name;
  bool def, present;
  if (!api_body_string(c, "name", false, 255, &name) ||
      !api_body_bool(c, "default", &def, &present))
    return false;
  if (name) {
    if (!purpose_name_valid(name)) {
      api_problem(c->r, 400,
                  "'name' must be 1 to 63 bytes of printable UTF-8 without leading or trailing "
                  "spaces");
      return false;
    }
    snprintf(p->name, sizeof p->name, "%s", name);
  }
  if (present) p->is_default = def;
  json_t *acc = json_object_get(c->body, "account");
  if (acc && json_is_null(acc)) {
    p->account_id = 0;
    p->account_code[0] = '\0';
  } else if (acc) {
    const char *code = json_string_value(acc);
    if (!code || !account_code_valid(code)) {
      api_problem(c->r, 400, "'account' must be a billing account's code or null (private)");
      return false;
    }
    nimbus_billing_account_t a;
    bool may = false;
    store_status_t s = store_account_get_by_code(c->srv->store, c->tenant.id, code, &a);
    if (s == STORE_OK && !a.closed_at) s = account_may_charge(c, &a, u->id, &may);
    if (s != STORE_OK && s != STORE_NOT_FOUND) {
      api_respond_store(c, s, "billing account", NULL);
      return false;
    }
    if (s == STORE_NOT_FOUND || a.closed_at || !may) {
      api_problem(c->r, 403,
                  "%s may not charge billing account '%s' (unknown, closed or not granted)",
                  u->name, code);
      return false;
    }
    p->account_id = a.id;
    snprintf(p->account_code, sizeof p->account_code, "%s", a.code);
  }
  json_t *defs = json_object_get(c->body, "defaults");
  if (defs) {
    char err[256];
    if (!purpose_defaults_normalize(defs, p->defaults, sizeof p->defaults, err, sizeof err)) {
      api_problem(c->r, 400, "'defaults': %s", err);
      return false;
    }
  }
  return true;
}

static bool purpose_list_cb(const nimbus_purpose_t *p, void *ctx) {
  return api_list_append(ctx, purpose_json(p));
}

/* Insert (create) or update purpose p of user u, audited, and answer
 * with it (201 / 200); 409 when u has another by its name. */
static void purpose_write(api_ctx_t *c, const nimbus_user_t *u, nimbus_purpose_t *p, bool create) {
  api_audit_t au;
  const store_audit_t *audit =
      api_audit_of(c, &au, create ? "purpose-created" : "purpose-updated",
                   "user=%s name=%s account=%s default=%d", u->name, p->name,
                   p->account_id ? p->account_code : "(private)", p->is_default);
  store_status_t s = create ? store_purpose_insert(c->srv->store, p, audit)
                            : store_purpose_update(c->srv->store, p, audit);
  if (s == STORE_CONFLICT)
    api_problem(c->r, 409, "%s already has a purpose by that name", u->name);
  else if (s != STORE_OK)
    api_respond_store(c, s, "purpose", NULL);
  else
    api_respond(c, create ? 201 : 200, purpose_json(p));
}

void api_purposes_list(api_ctx_t *c) {
  nimbus_user_t u;
  if (!purpose_owner(c, &u)) return;
  api_list_t l = {c, json_array(), false};
  store_status_t s =
      l.arr ? store_purpose_list(c->srv->store, c->tenant.id, u.id, purpose_list_cb, &l) : STORE_OK;
  api_list_respond(&l, s, "purposes", "purpose");
}

void api_purposes_create(api_ctx_t *c) {
  static const char *const fields[] = {"name", "account", "default", "defaults", NULL};
  nimbus_user_t u;
  nimbus_purpose_t p;
  const char *name;
  memset(&p, 0, sizeof p);
  snprintf(p.defaults, sizeof p.defaults, "{}");
  if (!api_body_only(c, fields) || !api_body_string(c, "name", true, 255, &name) ||
      !purpose_owner(c, &u) || !purpose_fields(c, &u, &p))
    return;
  p.tenant_id = c->tenant.id;
  p.user_id = u.id;
  purpose_write(c, &u, &p, true);
}

void api_purpose_get(api_ctx_t *c) {
  nimbus_user_t u;
  nimbus_purpose_t p;
  if (purpose_owner(c, &u) && purpose_load(c, &u, &p)) api_respond(c, 200, purpose_json(&p));
}

void api_purpose_update(api_ctx_t *c) {
  static const char *const fields[] = {"name", "account", "default", "defaults", NULL};
  nimbus_user_t u;
  nimbus_purpose_t p;
  if (!api_body_only(c, fields) || !purpose_owner(c, &u) || !purpose_load(c, &u, &p) ||
      !purpose_fields(c, &u, &p))
    return;
  purpose_write(c, &u, &p, false);
}

void api_purpose_delete(api_ctx_t *c) {
  nimbus_user_t u;
  nimbus_purpose_t p;
  if (!purpose_owner(c, &u) || !purpose_load(c, &u, &p)) return;
  api_audit_t au;
  store_status_t s = store_purpose_delete(
      c->srv->store, c->tenant.id, p.id,
      api_audit_of(c, &au, "purpose-deleted", "user=%s name=%s account=%s", u.name, p.name,
                   p.account_id ? p.account_code : "(private)"));
  if (s != STORE_OK) {
    api_respond_store(c, s, "purpose", NULL);
    return;
  }
  api_respond_no_content(c);
}
