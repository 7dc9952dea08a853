/*
 * crypto.c: libsodium-backed secrets.  Argon2id cost follows OWASP's
 * password storage recommendation (m = 19 MiB, t = 2, p = 1): strong, and
 * small enough that a few concurrent logins do not dominate the server's
 * memory.  Verification reads the cost from the stored hash, so raising it
 * later only affects new hashes.  The HTTP front caches successful checks
 * (auth.c) so the cost is paid once per credential per few minutes.
 */
#include "crypto.h"

#include <sodium.h>
#include <stdatomic.h>
#include <string.h>

#define CRYPTO_ARGON2_OPS 2ULL
#define CRYPTO_ARGON2_MEM (19U * 1024U * 1024U)

static atomic_bool crypto_fast;

bool crypto_init(void) {
  return sodium_init() >= 0;
}

void crypto_set_fast_hashing(bool fast) {
  atomic_store(&crypto_fast, fast);
}

bool crypto_password_hash(const char *password, char out[128]) {
  bool fast = atomic_load(&crypto_fast);
  unsigned long long ops = fast ? crypto_pwhash_OPSLIMIT_MIN : CRYPTO_ARGON2_OPS;
  size_t mem = fast ? crypto_pwhash_MEMLIMIT_MIN : CRYPTO_ARGON2_MEM;
  return crypto_pwhash_str_alg(out, password, strlen(password), ops, mem,
                               crypto_pwhash_ALG_ARGON2ID13) == 0;
}

bool crypto_password_verify(const char *hash, const char *password) {
  if (!hash || !*hash || !password) return false;
  return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

void crypto_token_new(char out[CRYPTO_TOKEN_STR_MAX]) {
  crypto_token_new_prefixed(CRYPTO_TOKEN_PREFIX, out);
}

void crypto_token_new_prefixed(const char *prefix, char out[CRYPTO_TOKEN_STR_MAX]) {
  unsigned char raw[32];
  randombytes_buf(raw, sizeof raw);
  size_t plen = strlen(prefix);
  memcpy(out, prefix, plen);
  sodium_bin2base64(out + plen, CRYPTO_TOKEN_STR_MAX - plen, raw, sizeof raw,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(raw, sizeof raw);
}

void crypto_token_hash(const char *token, unsigned char out[32]) {
  crypto_hash_sha256(out, (const unsigned char *)token, strlen(token));
}

void crypto_random_hex(char out[33]) {
  unsigned char raw[16];
  randombytes_buf(raw, sizeof raw);
  sodium_bin2hex(out, 33, raw, sizeof raw);
}

bool crypto_equal(const void *a, const void *b, size_t n) {
  return sodium_memcmp(a, b, n) == 0;
}

/* Lowercase hex SHA-256 of a PIN: the form every PIN is hashed in. */
static void crypto_pin_digest_hex(const unsigned char digest[32], char hex[65]) {
  sodium_bin2hex(hex, 65, digest, 32);
}

bool crypto_pin_hash_sha256(const unsigned char digest[32], char out[128]) {
  char hex[65];
  crypto_pin_digest_hex(digest, hex);
  bool ok = crypto_password_hash(hex, out);
  sodium_memzero(hex, sizeof hex);
  return ok;
}

bool crypto_pin_hash(const char *pin, char out[128]) {
  unsigned char digest[32];
  crypto_hash_sha256(digest, (const unsigned char *)pin, strlen(pin));
  bool ok = crypto_pin_hash_sha256(digest, out);
  sodium_memzero(digest, sizeof digest);
  return ok;
}

bool crypto_pin_verify_sha256(const char *hash, const unsigned char digest[32]) {
  char hex[65];
  crypto_pin_digest_hex(digest, hex);
  bool ok = crypto_password_verify(hash, hex);
  sodium_memzero(hex, sizeof hex);
  return ok;
}

bool crypto_pin_verify(const char *hash, const char *pin) {
  unsigned char digest[32];
  crypto_hash_sha256(digest, (const unsigned char *)pin, strlen(pin));
  bool ok = crypto_pin_verify_sha256(hash, digest);
  sodium_memzero(digest, sizeof digest);
  return ok;
}
