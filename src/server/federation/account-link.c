/*
 * account-link.c: account links (account-link.h, docs/FEDERATION.md
 * §2.2): creating and relinking with the device grant, the worker's
 * pass over due links, verification before a remote job is taken.
 *
 * Secrets: the device code and the access token are sealed with the
 * server's secrets key (payments_seal, the key that seals payment
 * methods) bound to "account-link:<tenant>:<user>:<service_url>:<what>",
 * so a sealed value copied to another row does not open.  They are in
 * clear only on the stack while a call needs them, wiped after.
 *
 * Concurrency: every write is a compare-and-set on the row's version;
 * the worker first moves next_poll_at forward (its claim), so two nodes
 * on one database never poll one grant at once.
 */
#include "account-link.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "oauth-client.h"
#include "payment-flow.h"

#define ALINK_DUE_BATCH 32

const char *account_link_status_name(nimbus_link_status_t s) {
  switch (s) {
    case NIMBUS_LINK_PENDING:
      return "pending";
    case NIMBUS_LINK_LINKED:
      return "linked";
    case NIMBUS_LINK_RELINK_NEEDED:
      return "relink-needed";
    case NIMBUS_LINK_DENIED:
      return "denied";
    case NIMBUS_LINK_EXPIRED:
      return "expired";
  }
  return "unknown";
}

static int64_t alink_check_seconds(const nimbus_server_t *srv) {
  return srv->cfg.account_link_check > 0 ? srv->cfg.account_link_check : 600;
}

/* The additional data binding a sealed value of l. */
static void alink_ad(const nimbus_account_link_t *l, const char *what, char *ad, size_t len) {
  snprintf(ad, len, "account-link:%lld:%lld:%s:%s", (long long)l->tenant_id, (long long)l->user_id,
           l->service_url, what);
}

static bool alink_seal(nimbus_server_t *srv, const nimbus_account_link_t *l, const char *what,
                       const char *clear, unsigned char *out, int *outlen) {
  char ad[NIMBUS_URL_MAX + 96];
  alink_ad(l, what, ad, sizeof ad);
  size_t n = 0;
  if (!payments_seal(srv, ad, clear, strlen(clear), out, NIMBUS_LINK_SEALED_MAX, &n)) return false;
  *outlen = (int)n;
  return true;
}

static bool alink_unseal(nimbus_server_t *srv, const nimbus_account_link_t *l, const char *what,
                         const unsigned char *in, int inlen, char *clear, size_t cap) {
  char ad[NIMBUS_URL_MAX + 96];
  alink_ad(l, what, ad, sizeof ad);
  size_t n = 0;
  if (inlen <= 0 || !payments_unseal(srv, ad, in, (size_t)inlen, clear, cap - 1, &n)) return false;
  clear[n] = '\0';
  return true;
}

/* This service's name as an OAuth client: the host of --public-url, or
 * of the listen address. */
static void alink_client_id(const nimbus_server_t *srv, char *out, size_t len) {
  if (!srv->cfg.public_url[0] || !oac_url_host(srv->cfg.public_url, out, len))
    snprintf(out, len, "%s", srv->cfg.listen[0] ? srv->cfg.listen : "localhost");
}

/* Sealed members cleared: what leaves this file. */
static void alink_scrub(nimbus_account_link_t *l) {
  sodium_memzero(l->token, sizeof l->token);
  sodium_memzero(l->device_code, sizeof l->device_code);
  l->token_len = l->device_code_len = 0;
}

/* A new grant at l->service_url into l (pending). */
static alink_result_t alink_begin_grant(nimbus_server_t *srv, nimbus_account_link_t *l, char *msg,
                                        size_t msglen) {
  oac_metadata_t md;
  if (oac_discover(l->service_url, &md, msg, msglen) != OAC_OK) return ALINK_REMOTE;
  char client_id[256];
  alink_client_id(srv, client_id, sizeof client_id);
  oac_grant_t *g = calloc(1, sizeof *g);
  if (!g) return ALINK_ERROR;
  alink_result_t res = ALINK_OK;
  if (oac_device_authorize(md.device_authorization_endpoint, client_id, g, msg, msglen) != OAC_OK) {
    res = ALINK_REMOTE;
  } else if (!alink_seal(srv, l, "device", g->device_code, l->device_code, &l->device_code_len)) {
    snprintf(msg, msglen, "cannot seal the device code");
    res = ALINK_ERROR;
  } else {
    int64_t now = (int64_t)time(NULL);
    l->status = NIMBUS_LINK_PENDING;
    sodium_memzero(l->token, sizeof l->token);
    l->token_len = 0;
    snprintf(l->user_code, sizeof l->user_code, "%s", g->user_code);
    snprintf(l->verification_uri, sizeof l->verification_uri, "%s", g->verification_uri);
    snprintf(l->verification_uri_complete, sizeof l->verification_uri_complete, "%s",
             g->verification_uri_complete);
    snprintf(l->token_endpoint, sizeof l->token_endpoint, "%s", md.token_endpoint);
    l->interval = g->interval;
    l->expires_at = now + g->expires_in;
    l->next_poll_at = now + g->interval + 1; /* whole seconds: never early */
    l->last_error[0] = '\0';
  }
  sodium_memzero(g, sizeof *g);
  free(g);
  return res;
}

/* The user's link to service_url (list callback). */
typedef struct {
  const char *service_url;
  nimbus_account_link_t *found;
  bool have;
} alink_find_t;

static bool alink_find(const nimbus_account_link_t *l, void *ctx) {
  alink_find_t *f = ctx;
  if (strcmp(l->service_url, f->service_url) != 0) return true;
  *f->found = *l;
  f->have = true;
  return false;
}

#define ALINK_REMOTE_LINKS_MAX 256 /* remote printer links read to match a service */

/* Call fn with the normalised service URL of each of the tenant's remote
 * printer links, until it returns false.  False on a store error.
 * Account links exist for these services only: a user can never make
 * nimbusd call an address no tenant admin chose (no server-side request
 * forgery through the link's URL). */
static bool alink_each_service(nimbus_server_t *srv, nimbus_id_t tenant_id,
                               bool (*fn)(const char *service, void *ctx), void *ctx) {
  nimbus_remote_link_t *links = calloc(ALINK_REMOTE_LINKS_MAX, sizeof *links);
  if (!links) return false;
  int n = 0;
  bool ok =
      store_remote_link_list(srv->store, tenant_id, links, ALINK_REMOTE_LINKS_MAX, &n) == STORE_OK;
  for (int i = 0; ok && i < n; i++) {
    char norm[NIMBUS_URL_MAX];
    if (oac_service_url_valid(links[i].service_url, norm, sizeof norm) && !fn(norm, ctx)) break;
  }
  sodium_memzero(links, ALINK_REMOTE_LINKS_MAX * sizeof *links);
  free(links);
  return ok;
}

typedef struct {
  const char *want; /* membership: the service looked for */
  bool found;
  char first[NIMBUS_URL_MAX]; /* the default: the one service, when only one */
  bool several;
} alink_services_t;

static bool alink_is_wanted(const char *service, void *ctx) {
  alink_services_t *m = ctx;
  m->found = strcmp(service, m->want) == 0;
  return !m->found;
}

static bool alink_one_service(const char *service, void *ctx) {
  alink_services_t *m = ctx;
  if (!m->first[0]) snprintf(m->first, sizeof m->first, "%s", service);
  m->several = strcmp(m->first, service) != 0;
  return !m->several;
}

/* Does a remote printer link of the tenant reach service_url (normalised)?
 * 1 yes, 0 no, -1 store error. */
static int alink_service_of_tenant(nimbus_server_t *srv, nimbus_id_t tenant_id,
                                   const char *service_url) {
  alink_services_t m = {.want = service_url};
  if (!alink_each_service(srv, tenant_id, alink_is_wanted, &m)) return -1;
  return m.found ? 1 : 0;
}

bool account_link_default_service(nimbus_server_t *srv, nimbus_id_t tenant_id, char *out,
                                  size_t outlen) {
  alink_services_t m = {0};
  /* one service, however many links reach it */
  return alink_each_service(srv, tenant_id, alink_one_service, &m) && m.first[0] && !m.several &&
         snprintf(out, outlen, "%s", m.first) < (int)outlen;
}

alink_result_t account_link_create(nimbus_server_t *srv, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                   const char *service_url, const char *actor,
                                   nimbus_account_link_t *out, char *msg, size_t msglen) {
  memset(out, 0, sizeof *out);
  out->tenant_id = tenant_id;
  out->user_id = user_id;
  if (!oac_service_url_valid(service_url, out->service_url, sizeof out->service_url)) {
    snprintf(msg, msglen, "'service_url' must be an http or https URL without query");
    return ALINK_INVALID;
  }
  int known = alink_service_of_tenant(srv, tenant_id, out->service_url);
  if (known < 0) return ALINK_ERROR;
  if (!known) {
    snprintf(msg, msglen,
             "no remote printer link of this tenant reaches that service: a tenant admin "
             "links the other service's printer first");
    return ALINK_INVALID;
  }
  /* a second link is refused before the remote is asked for a grant */
  nimbus_account_link_t *seen = calloc(1, sizeof *seen);
  if (!seen) return ALINK_ERROR;
  alink_find_t f = {out->service_url, seen, false};
  store_status_t ls = store_account_link_list(srv->store, tenant_id, user_id, alink_find, &f);
  sodium_memzero(seen, sizeof *seen);
  free(seen);
  if (ls != STORE_OK) return ALINK_ERROR;
  if (f.have) {
    snprintf(msg, msglen, "already linked to that service: relink it or remove it first");
    return ALINK_EXISTS;
  }
  alink_result_t res = alink_begin_grant(srv, out, msg, msglen);
  if (res != ALINK_OK) return res;
  char detail[NIMBUS_URL_MAX + 64];
  snprintf(detail, sizeof detail, "service_url=%s user_id=%lld", out->service_url,
           (long long)user_id);
  store_audit_t audit = {.tenant_id = tenant_id,
                         .actor = actor,
                         .action = "account-link.create",
                         .detail = detail,
                         .id_key = "id"};
  store_status_t s = store_account_link_insert(srv->store, out, &audit);
  alink_scrub(out);
  if (s == STORE_CONFLICT) {
    snprintf(msg, msglen, "already linked to that service: relink it or remove it first");
    return ALINK_EXISTS;
  }
  if (s == STORE_NOT_FOUND) return ALINK_NOT_FOUND;
  return s == STORE_OK ? ALINK_OK : ALINK_ERROR;
}

alink_result_t account_link_get(nimbus_server_t *srv, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                nimbus_id_t id, nimbus_account_link_t *out) {
  store_status_t s = store_account_link_get(srv->store, tenant_id, id, out);
  if (s == STORE_OK && out->user_id != user_id) s = STORE_NOT_FOUND;
  if (s != STORE_OK) {
    memset(out, 0, sizeof *out);
    return s == STORE_NOT_FOUND ? ALINK_NOT_FOUND : ALINK_ERROR;
  }
  alink_scrub(out);
  return ALINK_OK;
}

alink_result_t account_link_relink(nimbus_server_t *srv, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                   nimbus_id_t id, const char *actor, nimbus_account_link_t *out,
                                   char *msg, size_t msglen) {
  for (int attempt = 0; attempt < 3; attempt++) {
    alink_result_t res = account_link_get(srv, tenant_id, user_id, id, out);
    if (res != ALINK_OK) return res;
    res = alink_begin_grant(srv, out, msg, msglen);
    if (res != ALINK_OK) return res;
    char detail[NIMBUS_URL_MAX + 64];
    snprintf(detail, sizeof detail, "id=%lld service_url=%s", (long long)id, out->service_url);
    store_audit_t audit = {
        .tenant_id = tenant_id, .actor = actor, .action = "account-link.relink", .detail = detail};
    store_status_t s = store_account_link_update(srv->store, out, &audit);
    alink_scrub(out);
    if (s == STORE_OK) return ALINK_OK;
    if (s != STORE_CONFLICT) return s == STORE_NOT_FOUND ? ALINK_NOT_FOUND : ALINK_ERROR;
  }
  snprintf(msg, msglen, "the link is changing: try again");
  return ALINK_ERROR;
}

alink_result_t account_link_delete(nimbus_server_t *srv, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                   nimbus_id_t id, const char *actor) {
  nimbus_account_link_t *l = malloc(sizeof *l);
  if (!l) return ALINK_ERROR;
  alink_result_t res = account_link_get(srv, tenant_id, user_id, id, l);
  if (res == ALINK_OK) {
    char detail[NIMBUS_URL_MAX + 64];
    snprintf(detail, sizeof detail, "id=%lld service_url=%s", (long long)id, l->service_url);
    store_audit_t audit = {
        .tenant_id = tenant_id, .actor = actor, .action = "account-link.delete", .detail = detail};
    store_status_t s = store_account_link_delete(srv->store, tenant_id, id, &audit);
    res = s == STORE_OK ? ALINK_OK : s == STORE_NOT_FOUND ? ALINK_NOT_FOUND : ALINK_ERROR;
  }
  free(l);
  return res;
}

/* ---- the worker's steps ---- */

/* Ask whoami with l's token and write what it says into l (not stored). */
static oac_result_t alink_check(nimbus_server_t *srv, nimbus_account_link_t *l, int64_t now) {
  char token[OAC_SECRET_MAX], user[NIMBUS_TEXT_MAX], msg[OAC_MSG_MAX] = "";
  if (!alink_unseal(srv, l, "token", l->token, l->token_len, token, sizeof token)) {
    l->status = NIMBUS_LINK_RELINK_NEEDED;
    snprintf(l->last_error, sizeof l->last_error,
             "the stored token does not open with this secrets key: link again");
    return OAC_REFUSED;
  }
  oac_result_t r = oac_whoami(l->service_url, token, user, sizeof user, msg, sizeof msg);
  sodium_memzero(token, sizeof token);
  l->last_checked_at = now;
  if (r == OAC_OK) {
    if (l->status != NIMBUS_LINK_LINKED) l->linked_at = now;
    l->status = NIMBUS_LINK_LINKED;
    snprintf(l->remote_user, sizeof l->remote_user, "%s", user);
    l->last_error[0] = '\0';
    l->device_code_len = 0;
    l->user_code[0] = l->verification_uri[0] = l->verification_uri_complete[0] = '\0';
    l->token_endpoint[0] = '\0';
    l->expires_at = 0;
  } else if (r == OAC_REFUSED) {
    l->status = NIMBUS_LINK_RELINK_NEEDED;
    snprintf(l->last_error, sizeof l->last_error, "%s", msg);
  } else {
    snprintf(l->last_error, sizeof l->last_error, "%s", msg);
  }
  return r;
}

/* One token poll of pending l (already claimed). */
static void alink_poll(nimbus_server_t *srv, nimbus_account_link_t *l, int64_t now) {
  if (l->token_len > 0) { /* the token came; whoami did not answer yet */
    alink_check(srv, l, now);
    if (l->status == NIMBUS_LINK_PENDING) l->next_poll_at = now + l->interval + 1;
    return;
  }
  if (now >= l->expires_at) {
    l->status = NIMBUS_LINK_EXPIRED;
    snprintf(l->last_error, sizeof l->last_error, "the code expired before it was approved");
    l->device_code_len = 0;
    return;
  }
  char code[OAC_SECRET_MAX], token[OAC_SECRET_MAX], msg[OAC_MSG_MAX] = "", client_id[256];
  if (!alink_unseal(srv, l, "device", l->device_code, l->device_code_len, code, sizeof code)) {
    l->status = NIMBUS_LINK_EXPIRED;
    snprintf(l->last_error, sizeof l->last_error,
             "the stored device code does not open with this secrets key: link again");
    l->device_code_len = 0;
    return;
  }
  alink_client_id(srv, client_id, sizeof client_id);
  oac_result_t r =
      oac_token_poll(l->token_endpoint, code, client_id, token, sizeof token, msg, sizeof msg);
  sodium_memzero(code, sizeof code);
  switch (r) {
    case OAC_OK:
      l->device_code_len = 0;
      if (!alink_seal(srv, l, "token", token, l->token, &l->token_len)) {
        l->status = NIMBUS_LINK_EXPIRED;
        snprintf(l->last_error, sizeof l->last_error, "cannot seal the token");
        l->token_len = 0;
        break;
      }
      alink_check(srv, l, now);
      break;
    case OAC_PENDING:
      break;
    case OAC_SLOW_DOWN:
      l->interval += 5;
      l->next_poll_at = now + l->interval + 1;
      break;
    case OAC_DENIED:
      l->status = NIMBUS_LINK_DENIED;
      l->device_code_len = 0;
      snprintf(l->last_error, sizeof l->last_error, "%s", msg);
      break;
    case OAC_EXPIRED:
    case OAC_REFUSED:
      l->status = NIMBUS_LINK_EXPIRED;
      l->device_code_len = 0;
      snprintf(l->last_error, sizeof l->last_error, "%s", msg);
      break;
    default:
      snprintf(l->last_error, sizeof l->last_error, "%s", msg);
      break;
  }
  sodium_memzero(token, sizeof token);
  if (l->status != NIMBUS_LINK_PENDING) {
    l->user_code[0] = l->verification_uri[0] = l->verification_uri_complete[0] = '\0';
    l->token_endpoint[0] = '\0';
  }
}

/* Claim l (move next_poll_at on), then poll or check it and store the
 * outcome.  A lost compare-and-set means another writer has it. */
static void alink_handle(nimbus_server_t *srv, nimbus_account_link_t *l, int64_t now) {
  int64_t check = alink_check_seconds(srv);
  /* +1: our clock is in whole seconds, and a poll before the interval is slow_down */
  l->next_poll_at = now + (l->status == NIMBUS_LINK_PENDING ? l->interval + 1 : check);
  if (store_account_link_update(srv->store, l, NULL) != STORE_OK) return;
  nimbus_link_status_t before = l->status;
  if (l->status == NIMBUS_LINK_PENDING)
    alink_poll(srv, l, now);
  else
    alink_check(srv, l, now);
  if (l->status == NIMBUS_LINK_LINKED || l->status == NIMBUS_LINK_RELINK_NEEDED)
    if (before == NIMBUS_LINK_PENDING) l->next_poll_at = now + check;
  store_status_t s = store_account_link_update(srv->store, l, NULL);
  if (s == STORE_OK && before != l->status) {
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)l->id);
    log_event(LOG_INFO, NULL, "account link status changed", "link", id, "status",
              account_link_status_name(l->status), (char *)NULL);
  }
}

typedef struct {
  nimbus_account_link_t *v;
  int n;
} alink_batch_t;

static bool alink_collect(const nimbus_account_link_t *l, void *ctx) {
  alink_batch_t *b = ctx;
  if (b->n >= ALINK_DUE_BATCH) return false;
  b->v[b->n++] = *l;
  return true;
}

int account_link_run_due(nimbus_server_t *srv, int64_t now) {
  alink_batch_t b = {calloc(ALINK_DUE_BATCH, sizeof(nimbus_account_link_t)), 0};
  if (!b.v) return 0;
  if (store_account_link_due(srv->store, now, ALINK_DUE_BATCH, alink_collect, &b) != STORE_OK)
    b.n = 0;
  for (int i = 0; i < b.n; i++) alink_handle(srv, &b.v[i], now);
  sodium_memzero(b.v, ALINK_DUE_BATCH * sizeof(nimbus_account_link_t));
  free(b.v);
  return b.n;
}

/* ---- for the merged list and the release of a remote job ---- */

alink_result_t account_link_verify(nimbus_server_t *srv, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                   const char *service_url, char *remote_user,
                                   size_t remote_user_len) {
  if (remote_user && remote_user_len) remote_user[0] = '\0';
  nimbus_account_link_t *l = calloc(1, sizeof *l);
  if (!l) return ALINK_ERROR;
  alink_find_t f = {service_url, l, false};
  alink_result_t res = ALINK_NOT_FOUND;
  if (store_account_link_list(srv->store, tenant_id, user_id, alink_find, &f) != STORE_OK) {
    res = ALINK_ERROR;
  } else if (f.have &&
             (l->status == NIMBUS_LINK_LINKED || l->status == NIMBUS_LINK_RELINK_NEEDED)) {
    int64_t now = (int64_t)time(NULL);
    oac_result_t r = alink_check(srv, l, now);
    store_account_link_update(srv->store, l, NULL); /* lost to the worker: it wrote the same */
    if (r == OAC_OK) {
      res = ALINK_OK;
      if (remote_user && remote_user_len)
        snprintf(remote_user, remote_user_len, "%s", l->remote_user);
    } else {
      res = r == OAC_REFUSED ? ALINK_RELINK : ALINK_REMOTE;
    }
  }
  sodium_memzero(l, sizeof *l);
  free(l);
  return res;
}

typedef struct {
  account_link_pair_cb cb;
  void *ctx;
  char (*pairs)[2][NIMBUS_URL_MAX];
  int n, cap;
  bool failed;
} alink_pairs_t;

static bool alink_pair(const nimbus_account_link_t *l, void *ctx) {
  alink_pairs_t *p = ctx;
  if (l->status != NIMBUS_LINK_LINKED || !l->remote_user[0]) return true;
  if (p->n == p->cap) {
    int cap = p->cap ? p->cap * 2 : 8;
    void *v = realloc(p->pairs, (size_t)cap * sizeof *p->pairs);
    if (!v) {
      p->failed = true;
      return false;
    }
    p->pairs = v;
    p->cap = cap;
  }
  snprintf(p->pairs[p->n][0], NIMBUS_URL_MAX, "%s", l->service_url);
  snprintf(p->pairs[p->n][1], NIMBUS_URL_MAX, "%s", l->remote_user);
  p->n++;
  return true;
}

alink_result_t account_link_remote_users(nimbus_server_t *srv, nimbus_id_t tenant_id,
                                         nimbus_id_t user_id, account_link_pair_cb cb, void *ctx) {
  alink_pairs_t p = {.cb = cb, .ctx = ctx};
  /* collected first: the callback may call the store (store.h) */
  store_status_t s = store_account_link_list(srv->store, tenant_id, user_id, alink_pair, &p);
  alink_result_t res = s != STORE_OK || p.failed ? ALINK_ERROR : ALINK_OK;
  for (int i = 0; res == ALINK_OK && i < p.n; i++)
    if (!cb(p.pairs[i][0], p.pairs[i][1], ctx)) break;
  free(p.pairs);
  return res;
}
