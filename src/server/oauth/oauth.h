/*
 * oauth.h: nimbusd as an OAuth 2.0 Device Authorization Grant (RFC 8628)
 * authorization server (docs/FEDERATION.md §2.1): another print service
 * (the client) asks for a grant, the user approves it in the console, and
 * the client's poll of the token endpoint receives, once, an API token of
 * scope "federation" (it may only ask GET /api/v1/whoami).
 *
 * The grant logic, without HTTP: codes, hashing, expiry, polling
 * interval and slow_down, the one-time issue, the wrong-code limit per
 * user and the cap on pending grants.  oauth-http.h serves the OAuth
 * endpoints; api/api-oauth.c the user's REST routes.
 *
 * Codes: user_code 8 letters of OAUTH_USER_CODE_ALPHABET (shown
 * XXXX-XXXX; case, spaces and dashes ignored on input), device_code 32
 * random bytes base64url.  Both are kept as SHA-256 only and never logged.
 */
#ifndef NIMBUS_OAUTH_H
#define NIMBUS_OAUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "crypto.h"
#include "model.h"
#include "server.h"
#include "store.h"

#define OAUTH_GRANT_TYPE_DEVICE "urn:ietf:params:oauth:grant-type:device_code"
#define OAUTH_SCOPE_FEDERATION NIMBUS_TOKEN_SCOPE_FEDERATION
#define OAUTH_USER_CODE_ALPHABET "BCDFGHJKLMNPQRSTVWXZ"
#define OAUTH_USER_CODE_LEN 8
#define OAUTH_INTERVAL 5         /* seconds between polls, at first */
#define OAUTH_SLOW_DOWN_STEP 5   /* seconds added by each slow_down */
#define OAUTH_MAX_PENDING 1000   /* pending grants in the whole service */
#define OAUTH_WRONG_CODES 10     /* wrong user codes per user ... */
#define OAUTH_WRONG_WINDOW 600   /* ... in this many seconds: 429 */
#define OAUTH_CLIENT_ID_MAX 64   /* bytes of printable ASCII */
#define OAUTH_DEVICE_CODE_MAX 64 /* 43 base64url characters + NUL, with room */
/* The problem type of a refused federation token (REST 403). */
#define OAUTH_PROBLEM_TOKEN_SCOPE "urn:nimbus:problem:token-scope"

/* Is s a valid client_id: 1..64 printable ASCII characters (no spaces at
 * either end)? */
bool oauth_client_id_valid(const char *s);

/* The 8 letters of a user code as typed (case, spaces and dashes
 * ignored) into out; false when it cannot be one. */
bool oauth_user_code_normalize(const char *in, char out[OAUTH_USER_CODE_LEN + 1]);

typedef enum {
  OAUTH_START_OK,
  OAUTH_START_FULL, /* OAUTH_MAX_PENDING grants pending: 503 slow_down */
  OAUTH_START_ERROR
} oauth_start_result_t;

/* A new pending grant for client_id and scope (validated by the caller):
 * user_code "XXXX-XXXX" and device_code for the client, *g the record. */
oauth_start_result_t oauth_grant_start(nimbus_server_t *srv, const char *client_id,
                                       const char *scope, char user_code[OAUTH_USER_CODE_LEN + 2],
                                       char device_code[OAUTH_DEVICE_CODE_MAX],
                                       nimbus_device_grant_t *g);

typedef enum {
  OAUTH_POLL_ISSUED,  /* token and expires_in filled: the only time */
  OAUTH_POLL_PENDING, /* authorization_pending */
  OAUTH_POLL_SLOW_DOWN,
  OAUTH_POLL_DENIED,  /* access_denied */
  OAUTH_POLL_EXPIRED, /* expired_token */
  OAUTH_POLL_INVALID, /* invalid_grant: unknown or already used device code */
  OAUTH_POLL_CLIENT,  /* invalid_client: client_id is not the grant's */
  OAUTH_POLL_ERROR    /* the store failed: 500 */
} oauth_poll_result_t;

/* The token endpoint's poll with device_code and client_id.  On
 * OAUTH_POLL_ISSUED token holds the new secret (wipe it after use). */
oauth_poll_result_t oauth_token_poll(nimbus_server_t *srv, const char *device_code,
                                     const char *client_id, const char *request_id,
                                     char token[CRYPTO_TOKEN_STR_MAX], int64_t *expires_in);

typedef enum {
  OAUTH_LOOKUP_OK,
  OAUTH_LOOKUP_NOT_FOUND, /* unknown, used or expired: 404 */
  OAUTH_LOOKUP_THROTTLED, /* too many wrong codes from this user: 429 */
  OAUTH_LOOKUP_ERROR
} oauth_lookup_result_t;

/* The pending, unexpired grant of a user code typed by user_id of
 * tenant_id.  Unknown codes count against the user (OAUTH_WRONG_CODES in
 * OAUTH_WRONG_WINDOW); over the limit every lookup is refused until the
 * window ends (*retry_after seconds). */
oauth_lookup_result_t oauth_grant_lookup(nimbus_server_t *srv, nimbus_id_t tenant_id,
                                         nimbus_id_t user_id, const char *user_code,
                                         nimbus_device_grant_t *g, int *retry_after);

/* Approve (the token goes to user_id of tenant_id at the client's next
 * poll) or deny g, found by oauth_grant_lookup, writing audit with it.
 * STORE_NOT_FOUND when it was decided or expired meanwhile. */
store_status_t oauth_grant_decide(nimbus_server_t *srv, nimbus_device_grant_t *g, bool approve,
                                  nimbus_id_t tenant_id, nimbus_id_t user_id,
                                  const store_audit_t *audit);

#endif
