/*
 * web-session.h: the web console's sessions (docs/CONSOLE.md §1.3).
 *
 * A session is a random secret ("nms_" + 32 bytes base64url) that only
 * the browser holds, in the HttpOnly cookie nimbus_session; the store
 * keeps its SHA-256 (store_web_session_*).  Its CSRF token is derived
 * from the secret (keyed BLAKE2b), so it needs no storage, changes with
 * every session, and every node sharing the database computes the same.
 * A session ends after `idle` seconds without use (last_seen_at, written
 * at most once per min(60, idle/4) seconds), `max` seconds after sign-in,
 * or when it is deleted (sign-out; the user's password or role changed;
 * the user deleted).  Runs on worker threads (it asks the store).
 */
#ifndef NIMBUS_WEB_SESSION_H
#define NIMBUS_WEB_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "model.h"
#include "store.h"

#define WEB_SESSION_COOKIE "nimbus_session"
#define WEB_SESSION_PREFIX "nms_"
#define WEB_SESSION_SECRET_MAX 64 /* "nms_" + 43 base64url characters + NUL fits */
#define WEB_SESSION_CSRF_MAX 48   /* 32 bytes base64url (43) + NUL */

/*
 * The nimbus_session value of a Cookie header (one header line, "a=b;
 * c=d" pairs) into out; false when there is none or it is not shaped like
 * a session secret (then out is "").  The first well-formed one counts.
 */
bool web_session_cookie_find(const char *cookie_header, char *out, size_t outlen);

/* Whether s is shaped like a session secret ("nms_" + 43 base64url). */
bool web_session_secret_valid(const char *s);

/*
 * Start a session for the signed-in user who->user of who->tenant: a new
 * secret into secret, the stored record into out (its expiry: now + max).
 * audit (may be NULL) is written in the same transaction.
 */
store_status_t web_session_create(store_t *st, const nimbus_auth_t *who, int64_t now, int max,
                                  const store_audit_t *audit, char secret[WEB_SESSION_SECRET_MAX],
                                  nimbus_web_session_t *out);

/*
 * Authenticate by session secret at `now`: on AUTH_OK, out holds the
 * tenant and user (password and PIN hashes cleared, via_session set) and
 * ws (may be NULL) the session; its use is recorded (last_seen_at) when
 * the last record is older than min(60, idle/4) seconds.  AUTH_BAD when
 * the secret names no live session, or its user or tenant is gone.
 */
auth_result_t web_session_check(store_t *st, const char *secret, int64_t now, int idle,
                                nimbus_auth_t *out, nimbus_web_session_t *ws);

/* The CSRF token of a session secret (base64url, no padding). */
bool web_session_csrf(const char *secret, char out[WEB_SESSION_CSRF_MAX]);
/* Whether token is the CSRF token of secret (constant time). */
bool web_session_csrf_ok(const char *secret, const char *token);

/* End the session of this secret (STORE_NOT_FOUND: none). */
store_status_t web_session_end(store_t *st, const char *secret, const store_audit_t *audit);

#endif
