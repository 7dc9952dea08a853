/*
 * oauth.c: the device authorization grant's logic (oauth.h): making the
 * codes, the grant's life (pending → approved/denied → issued), polling
 * with slow_down, the one-time token issue and the wrong-code limit.
 */
#include "oauth.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "throttle.h"

bool oauth_client_id_valid(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > OAUTH_CLIENT_ID_MAX || s[0] == ' ' || s[n - 1] == ' ') return false;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e) return false;
  return true;
}

bool oauth_user_code_normalize(const char *in, char out[OAUTH_USER_CODE_LEN + 1]) {
  size_t n = 0;
  for (const char *p = in; *p; p++) {
    if (*p == '-' || *p == ' ') continue;
    char ch = (*p >= 'a' && *p <= 'z') ? (char)(*p - 'a' + 'A') : *p;
    if (!strchr(OAUTH_USER_CODE_ALPHABET, ch) || ch == '\0' || n == OAUTH_USER_CODE_LEN)
      return false;
    out[n++] = ch;
  }
  out[n] = '\0';
  return n == OAUTH_USER_CODE_LEN;
}

/* SHA-256 of a normalized user code (8 letters). */
static void oauth_user_code_hash(const char *code, unsigned char hash[32]) {
  crypto_hash_sha256(hash, (const unsigned char *)code, strlen(code));
}

oauth_start_result_t oauth_grant_start(nimbus_server_t *srv, const char *client_id,
                                       const char *scope, char user_code[OAUTH_USER_CODE_LEN + 2],
                                       char device_code[OAUTH_DEVICE_CODE_MAX],
                                       nimbus_device_grant_t *g) {
  static const char alphabet[] = OAUTH_USER_CODE_ALPHABET;
  char plain[OAUTH_USER_CODE_LEN + 1];
  store_status_t s = STORE_CONFLICT;
  /* A user code colliding with a stored one (20^8 codes) is drawn again. */
  for (int attempt = 0; attempt < 4 && s == STORE_CONFLICT; attempt++) {
    memset(g, 0, sizeof *g);
    for (int i = 0; i < OAUTH_USER_CODE_LEN; i++)
      plain[i] = alphabet[randombytes_uniform((uint32_t)(sizeof alphabet - 1))];
    plain[OAUTH_USER_CODE_LEN] = '\0';
    crypto_token_new_prefixed("", device_code);
    oauth_user_code_hash(plain, g->user_code_hash);
    crypto_token_hash(device_code, g->device_code_hash);
    snprintf(g->client_id, sizeof g->client_id, "%s", client_id);
    snprintf(g->scope, sizeof g->scope, "%s", scope);
    g->created_at = (int64_t)time(NULL);
    g->expires_at = g->created_at + srv->cfg.oauth_device_ttl;
    g->interval = OAUTH_INTERVAL;
    s = store_device_grant_insert(srv->store, g, OAUTH_MAX_PENDING);
    /* CONFLICT is the cap or a unique hash: tell them apart by the cap. */
    if (s == STORE_CONFLICT) {
      nimbus_device_grant_t other;
      if (store_device_grant_get(srv->store, false, g->user_code_hash, &other) != STORE_OK) {
        sodium_memzero(plain, sizeof plain);
        sodium_memzero(device_code, OAUTH_DEVICE_CODE_MAX);
        return OAUTH_START_FULL;
      }
    }
  }
  if (s != STORE_OK) {
    sodium_memzero(plain, sizeof plain);
    sodium_memzero(device_code, OAUTH_DEVICE_CODE_MAX);
    return OAUTH_START_ERROR;
  }
  snprintf(user_code, OAUTH_USER_CODE_LEN + 2, "%.4s-%.4s", plain, plain + 4);
  sodium_memzero(plain, sizeof plain);
  return OAUTH_START_OK;
}

/*
 * Issue the token of an approved grant, once: the grant moves approved →
 * issued first (compare and set, so two polls cannot both win), then the
 * token is made and its id written on the grant.
 */
static oauth_poll_result_t oauth_issue(nimbus_server_t *srv, nimbus_device_grant_t *g,
                                       const char *request_id, char token[CRYPTO_TOKEN_STR_MAX],
                                       int64_t *expires_in) {
  nimbus_device_grant_t claimed = *g;
  snprintf(claimed.status, sizeof claimed.status, "issued");
  store_status_t s = store_device_grant_update(srv->store, &claimed, "approved", NULL);
  if (s == STORE_NOT_FOUND) return OAUTH_POLL_INVALID; /* another poll took it */
  if (s != STORE_OK) return OAUTH_POLL_ERROR;

  nimbus_user_t u;
  s = store_user_get(srv->store, g->tenant_id, g->user_id, &u);
  sodium_memzero(u.password_hash, sizeof u.password_hash);
  sodium_memzero(u.panel_pin_hash, sizeof u.panel_pin_hash);
  if (s == STORE_NOT_FOUND) return OAUTH_POLL_INVALID; /* the user is gone */
  if (s != STORE_OK) return OAUTH_POLL_ERROR;

  nimbus_token_t tk;
  memset(&tk, 0, sizeof tk);
  tk.tenant_id = g->tenant_id;
  tk.user_id = g->user_id;
  tk.user_role = u.role;
  snprintf(tk.user_name, sizeof tk.user_name, "%s", u.name);
  snprintf(tk.label, sizeof tk.label, "linked: %.*s", (int)sizeof tk.label - 9, g->client_id);
  snprintf(tk.scope, sizeof tk.scope, "%s", OAUTH_SCOPE_FEDERATION);
  int64_t now = (int64_t)time(NULL);
  tk.expires_at = now + srv->cfg.oauth_token_lifetime;
  crypto_token_new(token);
  crypto_token_hash(token, tk.hash);

  char actor[2 * NIMBUS_NAME_MAX], detail[512];
  snprintf(actor, sizeof actor, "%s", u.name);
  snprintf(detail, sizeof detail, "user=%s client_id=%s scope=%s", u.name, g->client_id,
           OAUTH_SCOPE_FEDERATION);
  store_audit_t audit = {.tenant_id = g->tenant_id,
                         .actor = actor,
                         .action = "oauth.token.issue",
                         .detail = detail,
                         .id_key = "token"};
  s = store_token_insert_audited(srv->store, &tk, &audit);
  sodium_memzero(tk.hash, sizeof tk.hash);
  if (s != STORE_OK) {
    sodium_memzero(token, CRYPTO_TOKEN_STR_MAX);
    return OAUTH_POLL_ERROR;
  }
  claimed.token_id = tk.id;
  if (store_device_grant_update(srv->store, &claimed, "issued", NULL) != STORE_OK)
    log_event(LOG_WARN, request_id, "oauth grant: token id not recorded", "grant", LOG_INT(g->id),
              "token", LOG_INT(tk.id), (char *)NULL);
  log_event(LOG_INFO, request_id, "oauth token issued", "grant", LOG_INT(g->id), "token",
            LOG_INT(tk.id), "user", u.name, "client_id", g->client_id, (char *)NULL);
  *expires_in = srv->cfg.oauth_token_lifetime;
  return OAUTH_POLL_ISSUED;
}

oauth_poll_result_t oauth_token_poll(nimbus_server_t *srv, const char *device_code,
                                     const char *client_id, const char *request_id,
                                     char token[CRYPTO_TOKEN_STR_MAX], int64_t *expires_in) {
  unsigned char hash[32];
  nimbus_device_grant_t g;
  crypto_token_hash(device_code, hash);
  store_status_t s = store_device_grant_get(srv->store, true, hash, &g);
  if (s == STORE_NOT_FOUND) return OAUTH_POLL_INVALID;
  if (s != STORE_OK) return OAUTH_POLL_ERROR;
  if (strcmp(g.client_id, client_id) != 0) return OAUTH_POLL_CLIENT;
  if (strcmp(g.status, "issued") == 0) return OAUTH_POLL_INVALID;
  if (strcmp(g.status, "denied") == 0) return OAUTH_POLL_DENIED;
  int64_t now = (int64_t)time(NULL);
  if (now >= g.expires_at) return OAUTH_POLL_EXPIRED;
  if (strcmp(g.status, "approved") == 0) return oauth_issue(srv, &g, request_id, token, expires_in);

  /* pending: too soon after the last poll slows the client down */
  bool too_fast = g.last_poll_at > 0 && now - g.last_poll_at < g.interval;
  nimbus_device_grant_t next = g;
  next.last_poll_at = now;
  if (too_fast) next.interval = g.interval + OAUTH_SLOW_DOWN_STEP;
  s = store_device_grant_update(srv->store, &next, "pending", NULL);
  if (s == STORE_NOT_FOUND) /* decided meanwhile: the client asks again */
    return OAUTH_POLL_PENDING;
  if (s != STORE_OK) return OAUTH_POLL_ERROR;
  return too_fast ? OAUTH_POLL_SLOW_DOWN : OAUTH_POLL_PENDING;
}

/* The throttle key of user codes typed by one user: a digest, never the
 * codes. */
static void oauth_wrong_code_key(nimbus_id_t tenant_id, nimbus_id_t user_id, unsigned char k[32]) {
  char who[48];
  snprintf(who, sizeof who, "%lld:%lld", (long long)tenant_id, (long long)user_id);
  throttle_key(THROTTLE_CLAIM, "oauth-user-code", who, k);
}

oauth_lookup_result_t oauth_grant_lookup(nimbus_server_t *srv, nimbus_id_t tenant_id,
                                         nimbus_id_t user_id, const char *user_code,
                                         nimbus_device_grant_t *g, int *retry_after) {
  throttle_limits_t limits;
  memset(&limits, 0, sizeof limits);
  limits.rule[THROTTLE_CLAIM] = (throttle_rule_t){OAUTH_WRONG_CODES, OAUTH_WRONG_WINDOW};
  unsigned char key[32], hash[32];
  oauth_wrong_code_key(tenant_id, user_id, key);
  *retry_after = throttle_retry_after(srv->store, &limits, THROTTLE_CLAIM, key);
  if (*retry_after > 0) return OAUTH_LOOKUP_THROTTLED;

  char plain[OAUTH_USER_CODE_LEN + 1];
  store_status_t s = STORE_NOT_FOUND;
  if (oauth_user_code_normalize(user_code, plain)) {
    oauth_user_code_hash(plain, hash);
    s = store_device_grant_get(srv->store, false, hash, g);
  }
  sodium_memzero(plain, sizeof plain);
  if (s == STORE_NOT_FOUND) {
    throttle_failed(srv->store, &limits, THROTTLE_CLAIM, key);
    return OAUTH_LOOKUP_NOT_FOUND;
  }
  if (s != STORE_OK) return OAUTH_LOOKUP_ERROR;
  if (strcmp(g->status, "pending") != 0 || (int64_t)time(NULL) >= g->expires_at)
    return OAUTH_LOOKUP_NOT_FOUND; /* used or expired: a real code, no guess */
  return OAUTH_LOOKUP_OK;
}

store_status_t oauth_grant_decide(nimbus_server_t *srv, nimbus_device_grant_t *g, bool approve,
                                  nimbus_id_t tenant_id, nimbus_id_t user_id,
                                  const store_audit_t *audit) {
  if ((int64_t)time(NULL) >= g->expires_at) return STORE_NOT_FOUND;
  nimbus_device_grant_t next = *g;
  snprintf(next.status, sizeof next.status, "%s", approve ? "approved" : "denied");
  next.tenant_id = tenant_id;
  next.user_id = user_id;
  store_status_t s = store_device_grant_update(srv->store, &next, "pending", audit);
  if (s == STORE_OK) *g = next;
  return s;
}
