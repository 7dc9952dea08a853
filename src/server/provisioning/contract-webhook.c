/*
 * contract-webhook.c: the credentials of the incoming contract webhook
 * (docs/PROVISIONING.md §4).  The senders file is read on each event (an
 * operator's edit takes effect at once) and refused when others can read
 * it; a secret never leaves this file except into the HMAC, and is wiped
 * after use.  The signature is HMAC-SHA256 (libsodium) over
 * "<timestamp>.<raw body>", compared in constant time.
 */
#include "contract-webhook.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void contract_sender_wipe(contract_sender_t *s) {
  sodium_memzero(s, sizeof *s);
}

/* Split one line "<sender>:<owner>:<secret>" into *s; false when malformed. */
static bool parse_line(char *line, contract_sender_t *s) {
  char *a = strchr(line, ':');
  if (!a) return false;
  char *b = strchr(a + 1, ':');
  if (!b) return false;
  *a = *b = '\0';
  size_t ns = strlen(line), no = strlen(a + 1), nk = strlen(b + 1);
  if (ns < 1 || ns > CONTRACT_WEBHOOK_SENDER_MAX || no < 1 || no >= sizeof s->owner ||
      nk > CONTRACT_WEBHOOK_SECRET_MAX)
    return false;
  if (strspn(line, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") != ns)
    return false;
  memcpy(s->sender, line, ns + 1);
  memcpy(s->owner, a + 1, no + 1);
  memcpy(s->secret, b + 1, nk + 1);
  return true;
}

/* Walk the file: sender NULL checks every line; else stops at sender. */
static int walk(const char *path, const char *sender, contract_sender_t *out, char *err,
                size_t errlen) {
  FILE *f = fopen(path, "re");
  if (!f) {
    snprintf(err, errlen, "cannot open the contract webhook secret file %s: %s", path,
             strerror(errno));
    return -1;
  }
  struct stat sb;
  if (fstat(fileno(f), &sb) != 0 || (sb.st_mode & 077) != 0) {
    fclose(f);
    snprintf(err, errlen,
             "the contract webhook secret file %s must not be readable by group or others "
             "(chmod 600)",
             path);
    return -1;
  }
  char line[CONTRACT_WEBHOOK_SENDER_MAX + 64 + CONTRACT_WEBHOOK_SECRET_MAX + 8];
  int found = 0, n = 0;
  contract_sender_t s;
  while (fgets(line, sizeof line, f)) {
    n++;
    size_t len = strlen(line);
    bool whole = len > 0 && line[len - 1] == '\n';
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
    if (!whole && !feof(f)) {
      found = -1;
      snprintf(err, errlen, "%s line %d is too long", path, n);
      break;
    }
    if (len == 0 || line[0] == '#') continue;
    memset(&s, 0, sizeof s);
    if (!parse_line(line, &s)) {
      found = -1;
      snprintf(err, errlen, "%s line %d is not <sender>:<owner tenant>:<secret>", path, n);
      break;
    }
    if (strlen(s.secret) < CONTRACT_WEBHOOK_SECRET_MIN) {
      found = -1;
      snprintf(err, errlen, "%s line %d: the secret is shorter than %d characters", path, n,
               CONTRACT_WEBHOOK_SECRET_MIN);
      break;
    }
    if (sender && !strcmp(s.sender, sender)) {
      *out = s;
      found = 1;
      break;
    }
  }
  sodium_memzero(line, sizeof line);
  sodium_memzero(&s, sizeof s);
  fclose(f);
  return found;
}

int contract_webhook_sender_find(const char *path, const char *sender, contract_sender_t *out,
                                 char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  if (!path || !path[0]) return 0;
  return walk(path, sender ? sender : "", out, err, errlen);
}

bool contract_webhook_file_check(const char *path, char *err, size_t errlen) {
  if (!path || !path[0]) return true;
  return walk(path, NULL, NULL, err, errlen) == 0;
}

/* HMAC-SHA256(secret, "<timestamp>.<body>") into mac. */
static void mac_of(const char *secret, const char *timestamp, const char *body, size_t len,
                   unsigned char mac[crypto_auth_hmacsha256_BYTES]) {
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)timestamp, strlen(timestamp));
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
  crypto_auth_hmacsha256_final(&st, mac);
  sodium_memzero(&st, sizeof st);
}

bool contract_webhook_signature_ok(const char *secret, const char *timestamp, const char *body,
                                   size_t len, const char *signature) {
  if (strncmp(signature, "sha256=", 7) != 0 || strlen(signature + 7) != 64) return false;
  unsigned char given[crypto_auth_hmacsha256_BYTES], want[crypto_auth_hmacsha256_BYTES];
  size_t n = 0;
  if (sodium_hex2bin(given, sizeof given, signature + 7, 64, NULL, &n, NULL) != 0 ||
      n != sizeof given)
    return false;
  mac_of(secret, timestamp, body, len, want);
  bool ok = sodium_memcmp(given, want, sizeof want) == 0;
  sodium_memzero(want, sizeof want);
  return ok;
}

void contract_webhook_sign(const char *secret, const char *timestamp, const char *body, size_t len,
                           char *out, size_t outlen) {
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  char hex[2 * crypto_auth_hmacsha256_BYTES + 1];
  mac_of(secret, timestamp, body, len, mac);
  sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
  snprintf(out, outlen, "sha256=%s", hex);
}

bool contract_webhook_timestamp_ok(const char *timestamp, int64_t now, int window) {
  size_t n = strlen(timestamp);
  if (n < 1 || n > 12 || strspn(timestamp, "0123456789") != n) return false;
  int64_t t = strtoll(timestamp, NULL, 10);
  int64_t d = t > now ? t - now : now - t;
  return d <= window;
}
