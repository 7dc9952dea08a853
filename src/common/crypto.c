/*
 * crypto.c: libsodium-backed secrets.  Argon2id cost follows OWASP's
 * password storage recommendation (m = 19 MiB, t = 2, p = 1): strong, and
 * small enough that a few concurrent logins do not dominate the server's
 * memory.  Verification reads the cost from the stored hash, so raising it
 * later only affects new hashes.  The HTTP front caches successful checks
 * (auth.c) so the cost is paid once per credential per few minutes.
 */
#include "crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

bool crypto_seal(const unsigned char key[CRYPTO_SEAL_KEY_BYTES], const char *ad, const void *in,
                 size_t len, unsigned char *out, size_t outmax, size_t *outlen) {
  const size_t nb = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  if (outmax < len || outmax - len < CRYPTO_SEAL_OVERHEAD) return false;
  randombytes_buf(out, nb);
  unsigned long long clen = 0;
  if (crypto_aead_xchacha20poly1305_ietf_encrypt(out + nb, &clen, in, len,
                                                 (const unsigned char *)ad, ad ? strlen(ad) : 0,
                                                 NULL, out, key) != 0)
    return false;
  *outlen = nb + (size_t)clen;
  return true;
}

bool crypto_unseal(const unsigned char key[CRYPTO_SEAL_KEY_BYTES], const char *ad,
                   const unsigned char *in, size_t len, void *out, size_t outmax, size_t *outlen) {
  const size_t nb = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  if (len < CRYPTO_SEAL_OVERHEAD || outmax < len - CRYPTO_SEAL_OVERHEAD) return false;
  unsigned long long mlen = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, &mlen, NULL, in + nb, len - nb,
                                                 (const unsigned char *)ad, ad ? strlen(ad) : 0, in,
                                                 key) != 0)
    return false;
  *outlen = (size_t)mlen;
  return true;
}

/* Write a new random key to path (O_EXCL: never over an existing file). */
static bool crypto_key_file_create(const char *path, unsigned char key[CRYPTO_SEAL_KEY_BYTES],
                                   char *err, size_t errlen) {
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    snprintf(err, errlen, "cannot create the key file %s: %s", path, strerror(errno));
    return false;
  }
  randombytes_buf(key, CRYPTO_SEAL_KEY_BYTES);
  bool ok = write(fd, key, CRYPTO_SEAL_KEY_BYTES) == CRYPTO_SEAL_KEY_BYTES && fsync(fd) == 0;
  if (close(fd) != 0) ok = false;
  if (!ok) {
    snprintf(err, errlen, "cannot write the key file %s: %s", path, strerror(errno));
    unlink(path);
    sodium_memzero(key, CRYPTO_SEAL_KEY_BYTES);
  }
  return ok;
}

bool crypto_key_file_load(const char *path, unsigned char key[CRYPTO_SEAL_KEY_BYTES], char *err,
                          size_t errlen) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 && errno == ENOENT) return crypto_key_file_create(path, key, err, errlen);
  if (fd < 0) {
    snprintf(err, errlen, "cannot open the key file %s: %s", path, strerror(errno));
    return false;
  }
  struct stat sb;
  bool ok = false;
  if (fstat(fd, &sb) != 0)
    snprintf(err, errlen, "cannot read the key file %s: %s", path, strerror(errno));
  else if (!S_ISREG(sb.st_mode) || sb.st_size != CRYPTO_SEAL_KEY_BYTES)
    snprintf(err, errlen, "the key file %s must be a file of exactly %d bytes", path,
             CRYPTO_SEAL_KEY_BYTES);
  else if (sb.st_mode & 077)
    snprintf(err, errlen, "the key file %s is readable by others: chmod 600 it", path);
  else if (read(fd, key, CRYPTO_SEAL_KEY_BYTES) != CRYPTO_SEAL_KEY_BYTES)
    snprintf(err, errlen, "cannot read the key file %s", path);
  else
    ok = true;
  close(fd);
  if (!ok) sodium_memzero(key, CRYPTO_SEAL_KEY_BYTES);
  return ok;
}
