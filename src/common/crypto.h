/*
 * crypto.h: the few secret-handling primitives nimbusd uses, all on
 * libsodium: argon2id password/PIN hashing, random tokens stored as
 * SHA-256 hashes, random identifiers, constant-time comparison.
 */
#ifndef NIMBUS_CRYPTO_H
#define NIMBUS_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>

#define CRYPTO_TOKEN_PREFIX "nmb_"
/* "nmb_" + 43 base64url chars of 32 random bytes + NUL */
#define CRYPTO_TOKEN_STR_MAX 64

/* Initialise libsodium; false if it cannot be used. Call once at start. */
bool crypto_init(void);

/* Hash a password or PIN with argon2id into out (128 bytes incl. NUL). */
bool crypto_password_hash(const char *password, char out[128]);
/* Verify password against an argon2id string; constant time in the hash. */
bool crypto_password_verify(const char *hash, const char *password);
/* Use minimum argon2id cost for every later hash (tests; never production). */
void crypto_set_fast_hashing(bool fast);

/*
 * Job PINs (PWG 5100.11 job-password).  Clients send the PIN in clear
 * (job-password-encryption "none") or as its SHA-256 ("sha2-256"); both
 * are reduced to the lowercase hex SHA-256 of the PIN, and that is hashed
 * with argon2id.  A PIN typed later (panel, REST) is verified the same way.
 */
bool crypto_pin_hash(const char *pin, char out[128]);
bool crypto_pin_hash_sha256(const unsigned char digest[32], char out[128]);
bool crypto_pin_verify(const char *hash, const char *pin);
/* The same for a PIN given as its SHA-256 (IPP Release-Job, sha2-256). */
bool crypto_pin_verify_sha256(const char *hash, const unsigned char digest[32]);

/* Make a new random API token string (shown once to its owner). */
void crypto_token_new(char out[CRYPTO_TOKEN_STR_MAX]);
/* The same with another prefix of at most 8 chars (device credentials). */
void crypto_token_new_prefixed(const char *prefix, char out[CRYPTO_TOKEN_STR_MAX]);
/* SHA-256 of a token string: what the store keeps. */
void crypto_token_hash(const char *token, unsigned char out[32]);

/* 16 random bytes as 32 lowercase hex chars + NUL. */
void crypto_random_hex(char out[33]);

/* Constant-time equality of two byte strings of length n. */
bool crypto_equal(const void *a, const void *b, size_t n);

/*
 * Secrets at rest (payment provider credentials): authenticated encryption
 * (XChaCha20-Poly1305 IETF, libsodium) with the server's 32-byte key, bound
 * to a context string `ad` (e.g. "tenant:3:payment-provider") so a sealed
 * value copied to another tenant's row does not open.  out = 24-byte nonce
 * || ciphertext || 16-byte tag: CRYPTO_SEAL_OVERHEAD more than the input.
 */
#define CRYPTO_SEAL_KEY_BYTES 32
#define CRYPTO_SEAL_OVERHEAD 40
bool crypto_seal(const unsigned char key[CRYPTO_SEAL_KEY_BYTES], const char *ad, const void *in,
                 size_t len, unsigned char *out, size_t outmax, size_t *outlen);
/* Open what crypto_seal made; false when it was not sealed with this key
 * and ad, or was altered.  out needs len - CRYPTO_SEAL_OVERHEAD bytes. */
bool crypto_unseal(const unsigned char key[CRYPTO_SEAL_KEY_BYTES], const char *ad,
                   const unsigned char *in, size_t len, void *out, size_t outmax, size_t *outlen);
/* Read the key file at path (exactly 32 bytes, mode 0600 or stricter);
 * create it with a random key (0600, fsync'd) when it does not exist.
 * false with a message in err (a group- or world-readable file is refused). */
bool crypto_key_file_load(const char *path, unsigned char key[CRYPTO_SEAL_KEY_BYTES], char *err,
                          size_t errlen);

#endif
