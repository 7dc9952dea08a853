/*
 * web-session.c: the web console's sessions: the secret, its CSRF token,
 * and authentication by cookie (see web-session.h; the table is
 * web_sessions in both store backends).
 */
#include "web-session.h"

#include <sodium.h>
#include <string.h>

#include "crypto.h"
#include "log.h"

#define WEB_SESSION_SECRET_B64 43 /* 32 bytes, base64url without padding */
#define WEB_SESSION_CSRF_CONTEXT "nimbus console csrf v1"
#define WEB_SESSION_TOUCH_MAX 60 /* seconds between last_seen_at writes, at most */

bool web_session_secret_valid(const char *s) {
  size_t plen = strlen(WEB_SESSION_PREFIX);
  if (strncmp(s, WEB_SESSION_PREFIX, plen) != 0) return false;
  const char *b = s + plen;
  return strlen(b) == WEB_SESSION_SECRET_B64 &&
         strspn(b, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
             WEB_SESSION_SECRET_B64;
}

/*
 * Cookie: name=value pairs separated by ';' and optional spaces (RFC
 * 6265 §4.2.1).  Values may be quoted; a session secret never is, so a
 * quoted or malformed value simply does not match.
 */
bool web_session_cookie_find(const char *cookie_header, char *out, size_t outlen) {
  if (outlen) out[0] = '\0';
  if (!cookie_header || outlen < WEB_SESSION_SECRET_MAX) return false;
  const char *name = WEB_SESSION_COOKIE;
  size_t nlen = strlen(name);
  const char *p = cookie_header;
  while (*p) {
    while (*p == ' ' || *p == '\t' || *p == ';') p++;
    size_t len = strcspn(p, ";");
    if (len > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
      const char *v = p + nlen + 1;
      size_t vlen = len - nlen - 1;
      while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t')) vlen--;
      if (vlen < WEB_SESSION_SECRET_MAX) {
        char value[WEB_SESSION_SECRET_MAX];
        memcpy(value, v, vlen);
        value[vlen] = '\0';
        bool ok = web_session_secret_valid(value);
        if (ok) memcpy(out, value, vlen + 1);
        sodium_memzero(value, sizeof value);
        if (ok) return true;
      }
    }
    p += len;
  }
  return false;
}

store_status_t web_session_create(store_t *st, const nimbus_auth_t *who, int64_t now, int max,
                                  const store_audit_t *audit, char secret[WEB_SESSION_SECRET_MAX],
                                  nimbus_web_session_t *out) {
  char token[CRYPTO_TOKEN_STR_MAX];
  crypto_token_new_prefixed(WEB_SESSION_PREFIX, token);
  memset(out, 0, sizeof *out);
  out->tenant_id = who->tenant.id;
  out->user_id = who->user.id;
  crypto_token_hash(token, out->hash);
  out->created_at = now;
  out->last_seen_at = now;
  out->expires_at = now + max;
  store_status_t s = store_web_session_insert(st, out, audit);
  if (s == STORE_OK) memcpy(secret, token, strlen(token) + 1);
  sodium_memzero(token, sizeof token);
  return s;
}

auth_result_t web_session_check(store_t *st, const char *secret, int64_t now, int idle,
                                nimbus_auth_t *out, nimbus_web_session_t *ws) {
  memset(out, 0, sizeof *out);
  out->result = AUTH_BAD;
  if (!web_session_secret_valid(secret)) return AUTH_BAD;
  unsigned char hash[32];
  nimbus_web_session_t s;
  crypto_token_hash(secret, hash);
  store_status_t got = store_web_session_get(st, hash, now, idle, &s);
  sodium_memzero(hash, sizeof hash);
  if (got != STORE_OK) {
    if (got != STORE_NOT_FOUND)
      log_event(LOG_ERROR, NULL, "web session lookup failed", (char *)NULL);
    return AUTH_BAD;
  }
  if (store_tenant_get(st, s.tenant_id, &out->tenant) != STORE_OK ||
      store_user_get(st, s.tenant_id, s.user_id, &out->user) != STORE_OK) {
    memset(out, 0, sizeof *out);
    out->result = AUTH_BAD;
    return AUTH_BAD;
  }
  sodium_memzero(out->user.password_hash, sizeof out->user.password_hash);
  sodium_memzero(out->user.panel_pin_hash, sizeof out->user.panel_pin_hash);
  if (out->tenant.suspended) { /* as auth_check: the session's holder learns why */
    memset(out, 0, sizeof *out);
    out->result = AUTH_SUSPENDED;
    return AUTH_SUSPENDED;
  }
  int every = idle / 4 < WEB_SESSION_TOUCH_MAX ? idle / 4 : WEB_SESSION_TOUCH_MAX;
  if (now - s.last_seen_at >= every && now > s.last_seen_at) {
    if (store_web_session_touch(st, s.id, now) == STORE_OK) s.last_seen_at = now;
  }
  out->result = AUTH_OK;
  out->via_session = true;
  out->session_id = s.id;
  if (ws) *ws = s;
  return AUTH_OK;
}

bool web_session_csrf(const char *secret, char out[WEB_SESSION_CSRF_MAX]) {
  out[0] = '\0';
  if (!web_session_secret_valid(secret)) return false;
  unsigned char mac[32];
  const char *ctx = WEB_SESSION_CSRF_CONTEXT;
  if (crypto_generichash(mac, sizeof mac, (const unsigned char *)ctx, strlen(ctx),
                         (const unsigned char *)secret, strlen(secret)) != 0)
    return false;
  sodium_bin2base64(out, WEB_SESSION_CSRF_MAX, mac, sizeof mac,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(mac, sizeof mac);
  return true;
}

bool web_session_csrf_ok(const char *secret, const char *token) {
  char want[WEB_SESSION_CSRF_MAX];
  if (!token || !web_session_csrf(secret, want)) return false;
  size_t n = strlen(want);
  bool ok = strlen(token) == n && crypto_equal(want, token, n);
  sodium_memzero(want, sizeof want);
  return ok;
}

store_status_t web_session_end(store_t *st, const char *secret, const store_audit_t *audit) {
  if (!web_session_secret_valid(secret)) return STORE_NOT_FOUND;
  unsigned char hash[32];
  crypto_token_hash(secret, hash);
  store_status_t s = store_web_session_delete(st, hash, audit);
  sodium_memzero(hash, sizeof hash);
  return s;
}
