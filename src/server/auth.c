/*
 * auth.c: Authorization header → authenticated user.
 *
 * Cache design: a fixed table of AUTH_CACHE_SLOTS entries keyed by
 * BLAKE2b(process-secret, tenant|user|password).  An entry also keeps a
 * digest of the user's stored password hash, so a changed password makes
 * old entries miss even without auth_cache_forget_user().  Nothing in the
 * cache can be turned back into a password.  One mutex (auth_cache.mu)
 * guards the table and the count of running password checks; it is never
 * held while calling the store or hashing.
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

struct auth_cache {
  pthread_mutex_t mu;
  pthread_cond_t slot_free;
  int verifying; /* password checks running now (bounded: memory) */
  int ttl;
  unsigned char secret[crypto_generichash_KEYBYTES];
  auth_cache_entry_t slots[AUTH_CACHE_SLOTS];
};

auth_cache_t *auth_cache_new(int ttl_seconds) {
  auth_cache_t *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  pthread_mutex_init(&c->mu, NULL);
  pthread_cond_init(&c->slot_free, NULL);
  c->ttl = ttl_seconds;
  randombytes_buf(c->secret, sizeof c->secret);
  return c;
}

void auth_cache_free(auth_cache_t *c) {
  if (!c) return;
  pthread_mutex_destroy(&c->mu);
  pthread_cond_destroy(&c->slot_free);
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

/* Basic: "name@tenant:password" or "name:password" (tenant from the URL). */
static void auth_basic(store_t *st, auth_cache_t *cache, const char *b64,
                       const char *default_tenant, nimbus_auth_t *out) {
  unsigned char raw[AUTH_HEADER_MAX];
  size_t rawlen = 0;
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

  if (store_tenant_get_by_name(st, tenant_name, &out->tenant) != STORE_OK ||
      store_user_get_by_name(st, out->tenant.id, name, &out->user) != STORE_OK) {
    auth_burn_time(cache, password);
    goto done;
  }

  unsigned char key[32], pw_digest[32];
  auth_digest(cache, tenant_name, name, password, key);
  auth_digest(cache, out->user.password_hash, "", "", pw_digest);
  if (auth_cache_hit(cache, key, pw_digest, out->user.id) ||
      auth_verify_bounded(cache, key, pw_digest, out->user.id, out->user.password_hash, password)) {
    auth_cache_put(cache, key, pw_digest, &out->user);
    out->result = AUTH_OK;
  }
  sodium_memzero(key, sizeof key);
done:
  sodium_memzero(raw, sizeof raw);
}

static void auth_bearer(store_t *st, const char *token, nimbus_auth_t *out) {
  unsigned char hash[32];
  nimbus_token_t tk;
  crypto_token_hash(token, hash);
  if (store_token_lookup(st, hash, (int64_t)time(NULL), &tk) != STORE_OK) return;
  if (store_tenant_get(st, tk.tenant_id, &out->tenant) != STORE_OK) return;
  if (store_user_get(st, tk.tenant_id, tk.user_id, &out->user) != STORE_OK) return;
  out->via_token = true;
  out->result = AUTH_OK;
}

void auth_check(store_t *st, auth_cache_t *cache, const char *authorization,
                const char *default_tenant, nimbus_auth_t *out) {
  memset(out, 0, sizeof *out);
  if (!authorization || !*authorization) {
    out->result = AUTH_NONE;
    return;
  }
  out->result = AUTH_BAD;
  if (strlen(authorization) >= AUTH_HEADER_MAX) return;
  if (strncasecmp(authorization, "Basic ", 6) == 0)
    auth_basic(st, cache, authorization + 6, default_tenant, out);
  else if (strncasecmp(authorization, "Bearer ", 7) == 0)
    auth_bearer(st, authorization + 7, out);
  if (out->result == AUTH_OK) {
    /* A bearer token for tenant A is no key to tenant B's queues. */
    if (default_tenant && strcmp(out->tenant.name, default_tenant) != 0) out->result = AUTH_BAD;
    sodium_memzero(out->user.password_hash, sizeof out->user.password_hash);
  }
  if (out->result != AUTH_OK) {
    auth_result_t r = out->result;
    memset(out, 0, sizeof *out);
    out->result = r;
  }
}
