/*
 * auth.h: who is asking.  Turns an Authorization header (HTTP Basic or
 * Bearer) into an authenticated user of a tenant.  Password checks are
 * argon2id and slow by design, so a verified (user, password) pair is kept
 * in memory for auth-cache-seconds under a keyed BLAKE2b digest: the
 * password itself is never kept.  Runs on worker threads only.
 */
#ifndef NIMBUS_AUTH_H
#define NIMBUS_AUTH_H

#include <stdbool.h>

#include "model.h"

typedef enum {
  AUTH_NONE = 0, /* no Authorization header */
  AUTH_OK,       /* credentials verified */
  AUTH_BAD,      /* malformed header or wrong credentials */
} auth_result_t;

typedef struct {
  auth_result_t result;
  bool via_token;
  nimbus_tenant_t tenant; /* the user's tenant */
  nimbus_user_t user;     /* password_hash is cleared */
} nimbus_auth_t;

typedef struct auth_cache auth_cache_t;

auth_cache_t *auth_cache_new(int ttl_seconds);
void auth_cache_free(auth_cache_t *c);

/*
 * Authenticate `authorization` (the header value, may be "" or NULL).
 * Basic user names are "name@tenant"; a plain "name" is looked up in
 * default_tenant (the tenant of the URL for IPP queues; may be NULL).
 */
struct store;
void auth_check(struct store *st, auth_cache_t *cache, const char *authorization,
                const char *default_tenant, nimbus_auth_t *out);

/* Forget cached verifications of one user (password changed, deleted). */
void auth_cache_forget_user(auth_cache_t *c, nimbus_id_t user_id);

#endif
