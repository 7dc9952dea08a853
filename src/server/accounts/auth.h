/*
 * auth.h: who is asking.  Turns an Authorization header (HTTP Basic or
 * Bearer) into an authenticated user of a tenant.  Password checks are
 * argon2id and slow by design, so a verified (user, password) pair is kept
 * in memory for auth-cache-seconds under a keyed BLAKE2b digest: the
 * password itself is never kept.  Runs on worker threads only.
 *
 * Guessing is throttled before any hash is computed (throttle.h): failed
 * passwords count per account and per client address, failed bearer
 * tokens per address, in the store (a valid token, 256 random bits, is
 * accepted without a throttle read).  A credential verified within
 * auth-cache-seconds is accepted without consulting the throttle (it is
 * no guess).  Hashing is bounded: AUTH_MAX_CONCURRENT_VERIFY at a time in
 * the process, and at most AUTH_INFLIGHT_PER_ACCOUNT distinct credentials
 * of one account and AUTH_INFLIGHT_PER_ADDRESS of one client address
 * checked (or waiting) at once; more get AUTH_THROTTLED (retry after 1 s)
 * instead of holding a worker, so accounts not under attack keep their
 * share.  Concurrent requests with the same credentials wait for the one
 * check.
 *
 * A suspended tenant (nimbus_tenant_t.suspended) is checked here, after
 * the credentials, so that every caller (REST, uploads, IPP, the panel)
 * refuses it: valid credentials of one of its users give AUTH_SUSPENDED,
 * never AUTH_OK.  The tenant row is read on every request, cache hits
 * included, so a suspension takes effect at the next request.  Wrong
 * credentials stay AUTH_BAD: only a holder of valid ones learns that the
 * tenant is suspended.
 */
#ifndef NIMBUS_AUTH_H
#define NIMBUS_AUTH_H

#include <stdbool.h>

#include "model.h"
#include "store.h"
#include "throttle.h"

typedef enum {
  AUTH_NONE = 0,  /* no Authorization header */
  AUTH_OK,        /* credentials verified */
  AUTH_BAD,       /* malformed header or wrong credentials */
  AUTH_THROTTLED, /* not checked: too many failures lately, or too many checks in
                     flight for this account or address; retry_after seconds */
  AUTH_SUSPENDED  /* valid credentials of a suspended tenant's user: refuse (403) */
} auth_result_t;

/* The one wording of the refusal (REST problem detail, IPP status-message). */
#define AUTH_SUSPENDED_MESSAGE "the tenant is suspended"

typedef struct {
  auth_result_t result;
  bool via_token;
  bool via_session;       /* the web console's cookie (web-session.h), not a header */
  nimbus_id_t session_id; /* via_session: the session's id */
  /* via_token: the token's scope, "" for full access.  A "federation"
   * token (docs/FEDERATION.md §2.1) may only ask GET /api/v1/whoami: the
   * REST API answers anything else 403 token-scope, IPP refuses it. */
  char scope[16];
  int retry_after;        /* AUTH_THROTTLED: seconds (Retry-After) */
  nimbus_tenant_t tenant; /* the user's tenant */
  nimbus_user_t user;     /* password_hash is cleared */
} nimbus_auth_t;

typedef struct auth_cache auth_cache_t;

#define AUTH_INFLIGHT_PER_ACCOUNT 1
#define AUTH_INFLIGHT_PER_ADDRESS 2

/* limits must outlive the cache (nimbus_server_t.throttle). */
auth_cache_t *auth_cache_new(int ttl_seconds, const throttle_limits_t *limits);
void auth_cache_free(auth_cache_t *c);

/*
 * Authenticate `authorization` (the header value, may be "" or NULL).
 * Basic user names are "name@tenant"; a plain "name" is looked up in
 * default_tenant (the tenant of the URL for IPP queues; may be NULL).
 * peer is the client address for the per-address throttle; NULL counts
 * nothing per address (the panel's sign-ins, which come from the printer).
 */
void auth_check(store_t *st, auth_cache_t *cache, const char *authorization,
                const char *default_tenant, const char *peer, nimbus_auth_t *out);

/* Forget cached verifications of one user (password changed, deleted). */
void auth_cache_forget_user(auth_cache_t *c, nimbus_id_t user_id);

#endif
