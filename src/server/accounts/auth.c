/*
 * auth.c: Authorization header → authenticated user.
 *
 * Cache design: a fixed table of AUTH_CACHE_SLOTS entries keyed by
 * BLAKE2b(process-secret, tenant|user|password).  An entry also keeps a
 * digest of the user's stored password hash, so a changed password makes
 * old entries miss even without auth_cache_forget_user().  Nothing in the
 * cache can be turned back into a password.  One mutex (auth_cache.mu)
 * guards the table, the count of running password checks and the table of
 * checks in flight; it is never held while calling the store or hashing.
 *
 * A Basic sign-in, in order: tenant and user lookup; the cache (a hit is
 * accepted at once); the store-backed throttle for the account and the
 * client address (refused: AUTH_THROTTLED, no hash); admission to the
 * checks in flight (same credentials already being checked: wait for that
 * check; the account or address already at its bound: AUTH_THROTTLED,
 * retry after 1 s); the argon2id check (a dummy hash for unknown users, so
 * timing and throttling do not tell them apart); the failure counted, or
 * the account's count cleared.
 */
#include "auth.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "crypto.h"
#include "store.h"
#include "user-names.h"

#define AUTH_CACHE_SLOTS 4096
#define AUTH_HEADER_MAX 2048

typedef struct {
  unsigned char key[32];       /* digest of tenant|user|password */
  unsigned char pw_digest[32]; /* digest of the stored argon2 string */
  nimbus_id_t user_id;
  nimbus_id_t tenant_id;
  time_t expires;
} auth_cache_entry_t;

#define AUTH_MAX_CONCURRENT_VERIFY 2
#define AUTH_INFLIGHT_MAX 64 /* credentials being checked or waiting, at most */

/* A credential being checked (or waiting for a hashing slot). */
typedef struct {
  bool used;
  unsigned char key[32];     /* digest of tenant|user|password */
  unsigned char account[32]; /* the account's throttle key */
  char peer[64];             /* "" when not counted per address */
} auth_inflight_t;

struct auth_cache {
  pthread_mutex_t mu;
  pthread_cond_t slot_free;
  pthread_cond_t check_done; /* an inflight entry was released */
  int verifying;             /* password checks running now (bounded: memory) */
  int ttl;
  const throttle_limits_t *limits;
  unsigned char secret[crypto_generichash_KEYBYTES];
  auth_inflight_t inflight[AUTH_INFLIGHT_MAX];
  auth_cache_entry_t slots[AUTH_CACHE_SLOTS];
};

auth_cache_t *auth_cache_new(int ttl_seconds, const throttle_limits_t *limits) {
  auth_cache_t *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  pthread_mutex_init(&c->mu, NULL);
  pthread_cond_init(&c->slot_free, NULL);
  pthread_cond_init(&c->check_done, NULL);
  c->limits = limits;
  c->ttl = ttl_seconds;
  randombytes_buf(c->secret, sizeof c->secret);
  return c;
}

void auth_cache_free(auth_cache_t *c) {
  if (!c) return;
  pthread_mutex_destroy(&c->mu);
  pthread_cond_destroy(&c->slot_free);
  pthread_cond_destroy(&c->check_done);
  sodium_memzero(c, sizeof *c);
  free(c);
}

void auth_cache_forget_user(auth_cache_t *c, nimbus_id_t user_id) {
  if (!c) return;
  pthread_mutex_lock(&c->mu);
  for (int i = 0; i < AUTH_CACHE_SLOTS; i++)
    if (c->slots[i].user_id == user_id) memset(&c->slots[i], 0, sizeof c->slots[i]);
  pthread_mutex_unlock(&c->mu);
}

static void auth_digest(const auth_cache_t *c, const char *a, const char *b, const char *d,
                        unsigned char out[32]) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, c->secret, sizeof c->secret, 32);
  crypto_generichash_update(&st, (const unsigned char *)a, strlen(a) + 1);
  crypto_generichash_update(&st, (const unsigned char *)b, strlen(b) + 1);
  crypto_generichash_update(&st, (const unsigned char *)d, strlen(d) + 1);
  crypto_generichash_final(&st, out, 32);
}

/* Is (key, pw_digest) a live entry for user_id?  Constant time compare. */
static bool auth_cache_hit(auth_cache_t *c, const unsigned char key[32],
                           const unsigned char pw_digest[32], nimbus_id_t user_id) {
  if (c->ttl <= 0) return false;
  bool hit = false;
  unsigned idx = ((unsigned)key[0] | (unsigned)key[1] << 8) % AUTH_CACHE_SLOTS;
  pthread_mutex_lock(&c->mu);
  auth_cache_entry_t *e = &c->slots[idx];
  if (e->user_id == user_id && e->expires > time(NULL) && sodium_memcmp(e->key, key, 32) == 0 &&
      sodium_memcmp(e->pw_digest, pw_digest, 32) == 0)
    hit = true;
  pthread_mutex_unlock(&c->mu);
  return hit;
}

static void auth_cache_put(auth_cache_t *c, const unsigned char key[32],
                           const unsigned char pw_digest[32], const nimbus_user_t *u) {
  if (c->ttl <= 0) return;
  unsigned idx = ((unsigned)key[0] | (unsigned)key[1] << 8) % AUTH_CACHE_SLOTS;
  pthread_mutex_lock(&c->mu);
  auth_cache_entry_t *e = &c->slots[idx];
  memcpy(e->key, key, 32);
  memcpy(e->pw_digest, pw_digest, 32);
  e->user_id = u->id;
  e->tenant_id = u->tenant_id;
  e->expires = time(NULL) + c->ttl;
  pthread_mutex_unlock(&c->mu);
}

/* Spend the time of a real password check, so that unknown tenants and
 * users cannot be told apart from wrong passwords by timing. */
static char auth_dummy_hash[crypto_pwhash_STRBYTES];
static pthread_once_t auth_dummy_once = PTHREAD_ONCE_INIT;

static void auth_dummy_init(void) {
  crypto_password_hash("not a password", auth_dummy_hash);
}

static bool auth_verify_bounded(auth_cache_t *c, const unsigned char key[32],
                                const unsigned char pw_digest[32], nimbus_id_t user_id,
                                const char *hash, const char *password);

static void auth_burn_time(auth_cache_t *c, const char *password) {
  static const unsigned char none[32];
  pthread_once(&auth_dummy_once, auth_dummy_init);
  (void)auth_verify_bounded(c, none, none, -1, auth_dummy_hash, password);
}

/*
 * Verify a password with at most AUTH_MAX_CONCURRENT_VERIFY argon2id runs
 * at a time (each takes ~19 MiB).  After waiting for a slot the cache is
 * checked again: when many connections log in with the same credentials
 * at once, one verification serves them all.
 */
static bool auth_verify_bounded(auth_cache_t *c, const unsigned char key[32],
                                const unsigned char pw_digest[32], nimbus_id_t user_id,
                                const char *hash, const char *password) {
  pthread_mutex_lock(&c->mu);
  while (c->verifying >= AUTH_MAX_CONCURRENT_VERIFY) pthread_cond_wait(&c->slot_free, &c->mu);
  c->verifying++;
  pthread_mutex_unlock(&c->mu);
  bool ok = auth_cache_hit(c, key, pw_digest, user_id) || crypto_password_verify(hash, password);
  pthread_mutex_lock(&c->mu);
  c->verifying--;
  pthread_cond_signal(&c->slot_free);
  pthread_mutex_unlock(&c->mu);
  return ok;
}

typedef enum {
  AUTH_ADMIT_RUN,    /* check it; release the entry afterwards */
  AUTH_ADMIT_JOINED, /* the same credentials were just checked: see the cache */
  AUTH_ADMIT_BUSY    /* the account or address is at its bound */
} auth_admit_t;

/*
 * Admission to the checks in flight (see auth.h).  RUN sets *slot, to be
 * given to auth_inflight_release().
 */
static auth_admit_t auth_inflight_admit(auth_cache_t *c, const unsigned char key[32],
                                        const unsigned char account[32], const char *peer,
                                        int *slot) {
  auth_admit_t res = AUTH_ADMIT_BUSY;
  pthread_mutex_lock(&c->mu);
  for (;;) {
    bool same = false;
    for (int i = 0; i < AUTH_INFLIGHT_MAX && !same; i++)
      same = c->inflight[i].used && sodium_memcmp(c->inflight[i].key, key, 32) == 0;
    if (!same) break;
    pthread_cond_wait(&c->check_done, &c->mu);
    res = AUTH_ADMIT_JOINED;
  }
  if (res == AUTH_ADMIT_JOINED) goto done;
  int free_slot = -1, by_account = 0, by_peer = 0;
  for (int i = 0; i < AUTH_INFLIGHT_MAX; i++) {
    const auth_inflight_t *e = &c->inflight[i];
    if (!e->used) {
      if (free_slot < 0) free_slot = i;
      continue;
    }
    if (memcmp(e->account, account, 32) == 0) by_account++;
    if (peer[0] && strcmp(e->peer, peer) == 0) by_peer++;
  }
  if (free_slot < 0 || by_account >= AUTH_INFLIGHT_PER_ACCOUNT ||
      by_peer >= AUTH_INFLIGHT_PER_ADDRESS)
    goto done;
  auth_inflight_t *e = &c->inflight[free_slot];
  e->used = true;
  memcpy(e->key, key, 32);
  memcpy(e->account, account, 32);
  snprintf(e->peer, sizeof e->peer, "%s", peer);
  *slot = free_slot;
  res = AUTH_ADMIT_RUN;
done:
  pthread_mutex_unlock(&c->mu);
  return res;
}

static void auth_inflight_release(auth_cache_t *c, int slot) {
  pthread_mutex_lock(&c->mu);
  sodium_memzero(&c->inflight[slot], sizeof c->inflight[slot]);
  pthread_cond_broadcast(&c->check_done);
  pthread_mutex_unlock(&c->mu);
}

/* The longer of the account's and the address's throttle waits (0: go). */
static int auth_throttle_wait(store_t *st, const auth_cache_t *c, const unsigned char account[32],
                              const unsigned char address[32]) {
  int wait = address ? throttle_retry_after(st, c->limits, THROTTLE_ADDRESS, address) : 0;
  int acct = account ? throttle_retry_after(st, c->limits, THROTTLE_ACCOUNT, account) : 0;
  return acct > wait ? acct : wait;
}

/* Basic: "name@tenant:password" or "name:password" (tenant from the URL). */
static void auth_basic(store_t *st, auth_cache_t *cache, const char *b64,
                       const char *default_tenant, const char *peer, nimbus_auth_t *out) {
  unsigned char raw[AUTH_HEADER_MAX];
  unsigned char key[32], pw_digest[32], account[32], address[32];
  size_t rawlen = 0;
  int slot = -1;
  if (sodium_base642bin(raw, sizeof raw - 1, b64, strlen(b64), " ", &rawlen, NULL,
                        sodium_base64_VARIANT_ORIGINAL) != 0)
    goto done;
  raw[rawlen] = '\0';
  if (strlen((char *)raw) != rawlen) goto done; /* embedded NUL */
  char *colon = strchr((char *)raw, ':');
  if (!colon) goto done;
  *colon = '\0';
  const char *password = colon + 1;
  char *name = (char *)raw;
  const char *tenant_name = default_tenant;
  char *at = strrchr(name, '@');
  if (at) {
    *at = '\0';
    tenant_name = at + 1;
    /* On a tenant's IPP queue, name@other-tenant is not allowed. */
    if (default_tenant && strcmp(tenant_name, default_tenant) != 0) goto done;
  }
  if (!tenant_name || !*name) goto done;

  bool known = store_tenant_get_by_name(st, tenant_name, &out->tenant) == STORE_OK &&
               user_resolve_name(st, out->tenant.id, name, &out->user) == STORE_OK;
  if (!known) memset(&out->user, 0, sizeof out->user);
  auth_digest(cache, tenant_name, name, password, key);
  auth_digest(cache, known ? out->user.password_hash : "", "", "", pw_digest);
  if (known && auth_cache_hit(cache, key, pw_digest, out->user.id)) {
    out->result = AUTH_OK; /* verified lately: no guess, no throttle */
    goto done;
  }

  /* the user's own name when the name is one of its aliases: one count
   * per account, however the name is spelt */
  throttle_key(THROTTLE_ACCOUNT, tenant_name, known ? out->user.name : name, account);
  if (peer) throttle_key(THROTTLE_ADDRESS, peer, NULL, address);
  int wait = auth_throttle_wait(st, cache, account, peer ? address : NULL);
  if (wait > 0) {
    out->result = AUTH_THROTTLED;
    out->retry_after = wait;
    goto done;
  }
  bool ok = false;
  switch (auth_inflight_admit(cache, key, account, peer ? peer : "", &slot)) {
    case AUTH_ADMIT_BUSY:
      out->result = AUTH_THROTTLED;
      out->retry_after = 1;
      goto done;
    case AUTH_ADMIT_JOINED:
      /* that check's result is in the cache; without a cache (ttl 0),
       * every request pays its own check, as documented */
      ok = known && (auth_cache_hit(cache, key, pw_digest, out->user.id) ||
                     (cache->ttl <= 0 && auth_verify_bounded(cache, key, pw_digest, out->user.id,
                                                             out->user.password_hash, password)));
      break;
    case AUTH_ADMIT_RUN:
      if (known)
        ok = auth_verify_bounded(cache, key, pw_digest, out->user.id, out->user.password_hash,
                                 password);
      else
        auth_burn_time(cache, password);
      break;
  }
  if (ok) {
    auth_cache_put(cache, key, pw_digest, &out->user);
    throttle_succeeded(st, account);
    out->result = AUTH_OK;
  } else {
    throttle_failed(st, cache->limits, THROTTLE_ACCOUNT, account);
    if (peer) throttle_failed(st, cache->limits, THROTTLE_ADDRESS, address);
  }
done:
  if (slot >= 0) auth_inflight_release(cache, slot);
  sodium_memzero(key, sizeof key);
  sodium_memzero(raw, sizeof raw);
}

/*
 * Bearer: an API token.  A token has 256 random bits, so a valid one is no
 * guess and is accepted without a throttle read (none on the hot path); an
 * unknown one counts against the client address, and once the address is
 * over its limit the answer is AUTH_THROTTLED instead of AUTH_BAD.
 */
static void auth_bearer(store_t *st, auth_cache_t *cache, const char *token, const char *peer,
                        nimbus_auth_t *out) {
  unsigned char hash[32], address[32];
  nimbus_token_t tk;
  crypto_token_hash(token, hash);
  if (store_token_lookup(st, hash, (int64_t)time(NULL), &tk) == STORE_OK &&
      store_tenant_get(st, tk.tenant_id, &out->tenant) == STORE_OK &&
      store_user_get(st, tk.tenant_id, tk.user_id, &out->user) == STORE_OK) {
    out->via_token = true;
    snprintf(out->scope, sizeof out->scope, "%s", tk.scope);
    out->result = AUTH_OK;
    return;
  }
  if (!peer) return;
  throttle_key(THROTTLE_ADDRESS, peer, NULL, address);
  int wait = throttle_retry_after(st, cache->limits, THROTTLE_ADDRESS, address);
  if (wait > 0) {
    out->result = AUTH_THROTTLED;
    out->retry_after = wait;
    return;
  }
  throttle_failed(st, cache->limits, THROTTLE_ADDRESS, address);
}

void auth_check(store_t *st, auth_cache_t *cache, const char *authorization,
                const char *default_tenant, const char *peer, nimbus_auth_t *out) {
  memset(out, 0, sizeof *out);
  if (!authorization || !*authorization) {
    out->result = AUTH_NONE;
    return;
  }
  out->result = AUTH_BAD;
  if (peer && !*peer) peer = NULL;
  if (strlen(authorization) >= AUTH_HEADER_MAX) return;
  if (strncasecmp(authorization, "Basic ", 6) == 0)
    auth_basic(st, cache, authorization + 6, default_tenant, peer, out);
  else if (strncasecmp(authorization, "Bearer ", 7) == 0)
    auth_bearer(st, cache, authorization + 7, peer, out);
  if (out->result == AUTH_OK) {
    /* A bearer token for tenant A is no key to tenant B's queues. */
    if (default_tenant && strcmp(out->tenant.name, default_tenant) != 0) out->result = AUTH_BAD;
    /* after the credentials: only their holder learns of the suspension */
    else if (out->tenant.suspended)
      out->result = AUTH_SUSPENDED;
    sodium_memzero(out->user.password_hash, sizeof out->user.password_hash);
    sodium_memzero(out->user.panel_pin_hash, sizeof out->user.panel_pin_hash);
  }
  if (out->result != AUTH_OK) {
    auth_result_t r = out->result;
    int retry_after = out->retry_after;
    memset(out, 0, sizeof *out);
    out->result = r;
    out->retry_after = retry_after;
  }
}
