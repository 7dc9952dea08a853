/*
 * test-crypto.c: unit tests of crypto.h: argon2id password hashes (the
 * production cost and --fast-hashing), API tokens and their stored hash,
 * random identifiers, constant-time comparison, and job PINs: a PIN sent
 * in clear and one sent as its SHA-256 (job-password-encryption
 * "sha2-256") hash to the same kind of record, and both verify with the
 * clear PIN typed later.  Secrets at rest: crypto_seal/unseal round trip,
 * refused with another key, another context or one altered byte; the key
 * file is created 0600 once and refused when others may read it.
 * Expected digests are the FIPS 180-2 SHA-256 test vectors, so nothing
 * here depends on libsodium agreeing with itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"

/* SHA-256("abc") and SHA-256("") (FIPS 180-2). */
static const char sha256_abc_hex[] =
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
static const char sha256_empty_hex[] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

static void hex_to_bin(const char *hex, unsigned char *out, size_t n) {
  assert_int_equal(strlen(hex), 2 * n);
  for (size_t i = 0; i < n; i++) {
    unsigned v;
    assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
    out[i] = (unsigned char)v;
  }
}

static void bin_to_hex(const unsigned char *bin, size_t n, char *out) {
  for (size_t i = 0; i < n; i++) snprintf(out + 2 * i, 3, "%02x", bin[i]);
}

static int group_setup(void **state) {
  (void)state;
  if (!crypto_init()) return -1;
  crypto_set_fast_hashing(true);
  return 0;
}

/* ---- passwords ---- */

static void test_password_hash_and_verify(void **state) {
  (void)state;
  char h1[128], h2[128];
  assert_true(crypto_password_hash("correct horse", h1));
  assert_true(strlen(h1) < 128);
  assert_memory_equal(h1, "$argon2id$", 10);
  assert_true(crypto_password_verify(h1, "correct horse"));
  assert_false(crypto_password_verify(h1, "correct horse "));
  assert_false(crypto_password_verify(h1, "Correct horse"));
  assert_false(crypto_password_verify(h1, ""));

  /* A fresh salt every time: same password, different strings. */
  assert_true(crypto_password_hash("correct horse", h2));
  assert_string_not_equal(h1, h2);
  assert_true(crypto_password_verify(h2, "correct horse"));

  /* The empty password is a password like any other. */
  assert_true(crypto_password_hash("", h2));
  assert_true(crypto_password_verify(h2, ""));
  assert_false(crypto_password_verify(h2, "x"));
}

static void test_password_verify_rejects_bad_input(void **state) {
  (void)state;
  char h[128];
  assert_true(crypto_password_hash("pw", h));
  assert_false(crypto_password_verify(NULL, "pw"));
  assert_false(crypto_password_verify("", "pw"));
  assert_false(crypto_password_verify(h, NULL));
  assert_false(crypto_password_verify("$argon2id$v=19$garbage", "pw"));
  assert_false(crypto_password_verify("plain-text-password", "plain-text-password"));
  /* A damaged hash does not verify. */
  char broken[128];
  memcpy(broken, h, sizeof broken);
  size_t n = strlen(broken);
  broken[n - 10] = broken[n - 10] == 'A' ? 'B' : 'A';
  assert_false(crypto_password_verify(broken, "pw"));
}

/* Production cost (OWASP: m = 19 MiB, t = 2, p = 1), and verification
 * reads the cost from the stored string whatever the current mode. */
static void test_password_cost_follows_mode(void **state) {
  (void)state;
  char slow[128], fast[128];
  crypto_set_fast_hashing(false);
  bool ok = crypto_password_hash("pw", slow);
  crypto_set_fast_hashing(true);
  assert_true(ok);
  assert_non_null(strstr(slow, "$m=19456,t=2,p=1$"));
  assert_true(crypto_password_hash("pw", fast));
  assert_null(strstr(fast, "$m=19456,t=2,p=1$"));

  assert_true(crypto_password_verify(slow, "pw")); /* fast mode verifies a slow hash */
  crypto_set_fast_hashing(false);
  ok = crypto_password_verify(fast, "pw"); /* and the other way round */
  crypto_set_fast_hashing(true);
  assert_true(ok);
}

/* ---- tokens ---- */

static bool base64url_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

static int cmp_str(const void *a, const void *b) {
  return strcmp((const char *)a, (const char *)b);
}

#define TOKENS 2000

static void test_token_format_and_uniqueness(void **state) {
  (void)state;
  static char tokens[TOKENS][CRYPTO_TOKEN_STR_MAX];
  for (int i = 0; i < TOKENS; i++) {
    memset(tokens[i], 0x7f, sizeof tokens[i]);
    crypto_token_new(tokens[i]);
    const char *t = tokens[i];
    /* "nmb_" + 43 base64url characters (32 bytes, no padding) */
    assert_int_equal(strlen(t), 4 + 43);
    assert_memory_equal(t, CRYPTO_TOKEN_PREFIX, 4);
    for (size_t k = 4; k < strlen(t); k++)
      if (!base64url_char(t[k])) fail_msg("token %s has '%c'", t, t[k]);
  }
  qsort(tokens, TOKENS, sizeof tokens[0], cmp_str);
  for (int i = 1; i < TOKENS; i++) assert_string_not_equal(tokens[i - 1], tokens[i]);
}

static void test_token_hash_is_sha256(void **state) {
  (void)state;
  unsigned char got[32], want[32];
  crypto_token_hash("abc", got);
  hex_to_bin(sha256_abc_hex, want, 32);
  assert_memory_equal(got, want, 32);
  crypto_token_hash("", got);
  hex_to_bin(sha256_empty_hex, want, 32);
  assert_memory_equal(got, want, 32);

  /* What the store keeps: the hash of the whole string, prefix included. */
  char t[CRYPTO_TOKEN_STR_MAX];
  unsigned char a[32], b[32];
  crypto_token_new(t);
  crypto_token_hash(t, a);
  crypto_token_hash(t + 4, b);
  assert_memory_not_equal(a, b, 32);
  crypto_token_hash(t, b);
  assert_memory_equal(a, b, 32);
}

static void test_random_hex(void **state) {
  (void)state;
  static char ids[TOKENS][33];
  for (int i = 0; i < TOKENS; i++) {
    crypto_random_hex(ids[i]);
    assert_int_equal(strlen(ids[i]), 32);
    assert_int_equal(strspn(ids[i], "0123456789abcdef"), 32);
  }
  qsort(ids, TOKENS, sizeof ids[0], cmp_str);
  for (int i = 1; i < TOKENS; i++) assert_string_not_equal(ids[i - 1], ids[i]);
}

/* ---- constant-time equality ---- */

static void test_equal(void **state) {
  (void)state;
  unsigned char a[64], b[64];
  for (int i = 0; i < 64; i++) a[i] = b[i] = (unsigned char)(i * 7);
  assert_true(crypto_equal(a, b, sizeof a));
  assert_true(crypto_equal(a, b, 0));
  for (size_t i = 0; i < sizeof a; i += 21) {
    b[i] ^= 0x01;
    assert_false(crypto_equal(a, b, sizeof a));
    assert_true(crypto_equal(a, b, i)); /* the bytes before i still agree */
    b[i] ^= 0x01;
  }
  b[63] ^= 0x80;
  assert_false(crypto_equal(a, b, 64));
  assert_true(crypto_equal(a, b, 63));
}

/* ---- PINs ---- */

static void sha256_of(const char *hex, unsigned char digest[32]) {
  hex_to_bin(hex, digest, 32);
}

static void test_pin_clear(void **state) {
  (void)state;
  char h[128];
  assert_true(crypto_pin_hash("4711", h));
  assert_memory_equal(h, "$argon2id$", 10);
  assert_true(crypto_pin_verify(h, "4711"));
  assert_false(crypto_pin_verify(h, "4712"));
  assert_false(crypto_pin_verify(h, "47110"));
  assert_false(crypto_pin_verify(h, ""));
  assert_false(crypto_pin_verify("", "4711"));
}

/* A PIN that arrives as its SHA-256 verifies with the clear PIN. */
static void test_pin_sha256_verifies_with_clear_pin(void **state) {
  (void)state;
  unsigned char digest[32];
  char h[128];
  sha256_of(sha256_abc_hex, digest);
  assert_true(crypto_pin_hash_sha256(digest, h));
  assert_true(crypto_pin_verify(h, "abc"));
  assert_false(crypto_pin_verify(h, "abd"));
  assert_false(crypto_pin_verify(h, sha256_abc_hex)); /* the digest is not the PIN */
  /* ... and with its digest (IPP Release-Job, sha2-256), not another's */
  assert_true(crypto_pin_verify_sha256(h, digest));
  unsigned char other[32];
  sha256_of(sha256_empty_hex, other);
  assert_false(crypto_pin_verify_sha256(h, other));

  sha256_of(sha256_empty_hex, digest);
  assert_true(crypto_pin_hash_sha256(digest, h));
  assert_true(crypto_pin_verify(h, ""));
  assert_false(crypto_pin_verify(h, "abc"));
}

/* Both ways hash the same thing: the lowercase hex SHA-256 of the PIN. */
static void test_pin_forms_are_equivalent(void **state) {
  (void)state;
  char clear[128], digested[128];
  unsigned char digest[32];
  char hex[65];
  assert_true(crypto_pin_hash("abc", clear));
  sha256_of(sha256_abc_hex, digest);
  assert_true(crypto_pin_hash_sha256(digest, digested));
  assert_string_not_equal(clear, digested); /* salted */
  bin_to_hex(digest, 32, hex);
  assert_string_equal(hex, sha256_abc_hex);
  assert_true(crypto_password_verify(clear, hex));
  assert_true(crypto_password_verify(digested, hex));
  assert_true(crypto_pin_verify(clear, "abc"));
  assert_true(crypto_pin_verify(digested, "abc"));
  /* A PIN hash is not a password hash of the PIN itself... */
  assert_false(crypto_password_verify(clear, "abc"));
  /* ...and a password hash does not verify as a PIN. */
  char pw[128];
  assert_true(crypto_password_hash("abc", pw));
  assert_false(crypto_pin_verify(pw, "abc"));
}

/* Long and non-ASCII PINs (job-password allows up to 255 octets). */
static void test_pin_long_and_utf8(void **state) {
  (void)state;
  char pin[256], h[128];
  memset(pin, '9', 255);
  pin[255] = '\0';
  assert_true(crypto_pin_hash(pin, h));
  assert_true(crypto_pin_verify(h, pin));
  pin[254] = '8';
  assert_false(crypto_pin_verify(h, pin));
  assert_true(crypto_pin_hash("p\xc3\xa4ss", h)); /* "päss" */
  assert_true(crypto_pin_verify(h, "p\xc3\xa4ss"));
  assert_false(crypto_pin_verify(h, "pass"));
}

static void test_seal_round_trip_and_binding(void **state) {
  (void)state;
  unsigned char key[CRYPTO_SEAL_KEY_BYTES], other[CRYPTO_SEAL_KEY_BYTES];
  memset(key, 7, sizeof key);
  memset(other, 8, sizeof other);
  const char msg[] = "{\"secret_key\":\"sk_test_123\"}";
  unsigned char box[256];
  size_t boxlen = 0;
  assert_true(
      crypto_seal(key, "tenant:1:payment-provider", msg, sizeof msg, box, sizeof box, &boxlen));
  assert_int_equal(boxlen, sizeof msg + CRYPTO_SEAL_OVERHEAD);
  assert_null(memmem(box, boxlen, "sk_test", 7)); /* not in clear */
  char out[256];
  size_t outlen = 0;
  assert_true(
      crypto_unseal(key, "tenant:1:payment-provider", box, boxlen, out, sizeof out, &outlen));
  assert_int_equal(outlen, sizeof msg);
  assert_memory_equal(out, msg, sizeof msg);
  /* another key, another tenant's context, one flipped bit: refused */
  assert_false(
      crypto_unseal(other, "tenant:1:payment-provider", box, boxlen, out, sizeof out, &outlen));
  assert_false(
      crypto_unseal(key, "tenant:2:payment-provider", box, boxlen, out, sizeof out, &outlen));
  box[boxlen - 1] ^= 1;
  assert_false(
      crypto_unseal(key, "tenant:1:payment-provider", box, boxlen, out, sizeof out, &outlen));
  /* too small an output buffer */
  assert_false(crypto_seal(key, "x", msg, sizeof msg, box, sizeof msg, &boxlen));
}

static void test_key_file(void **state) {
  (void)state;
  char dir[] = "/tmp/nimbus-key-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[64];
  snprintf(path, sizeof path, "%s/secrets.key", dir);
  unsigned char k1[CRYPTO_SEAL_KEY_BYTES], k2[CRYPTO_SEAL_KEY_BYTES];
  char err[256];
  assert_true(crypto_key_file_load(path, k1, err, sizeof err)); /* created */
  struct stat sb;
  assert_int_equal(stat(path, &sb), 0);
  assert_int_equal(sb.st_mode & 0777, 0600);
  assert_int_equal(sb.st_size, CRYPTO_SEAL_KEY_BYTES);
  assert_true(crypto_key_file_load(path, k2, err, sizeof err)); /* read back */
  assert_memory_equal(k1, k2, sizeof k1);
  assert_int_equal(chmod(path, 0644), 0);
  assert_false(crypto_key_file_load(path, k2, err, sizeof err));
  assert_non_null(strstr(err, "readable by others"));
  assert_int_equal(unlink(path), 0);
  assert_int_equal(rmdir(dir), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_password_hash_and_verify),
      cmocka_unit_test(test_password_verify_rejects_bad_input),
      cmocka_unit_test(test_password_cost_follows_mode),
      cmocka_unit_test(test_token_format_and_uniqueness),
      cmocka_unit_test(test_token_hash_is_sha256),
      cmocka_unit_test(test_random_hex),
      cmocka_unit_test(test_equal),
      cmocka_unit_test(test_pin_clear),
      cmocka_unit_test(test_pin_sha256_verifies_with_clear_pin),
      cmocka_unit_test(test_pin_forms_are_equivalent),
      cmocka_unit_test(test_pin_long_and_utf8),
      cmocka_unit_test(test_seal_round_trip_and_binding),
      cmocka_unit_test(test_key_file),
  };
  return cmocka_run_group_tests(tests, group_setup, NULL);
}
