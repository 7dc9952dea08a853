/*
 * package.c: a package upload (docs/PROVISIONING.md §3).  The bytes go
 * to a blob writer as they come (never whole in memory) and through a
 * running SHA-256 (libsodium), so the checksum is known the moment the
 * last byte is written; past the size limit the upload stops and its
 * partial blob is removed.
 */
#include "package.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

struct package_upload {
  blob_writer_t *w;
  crypto_hash_sha256_state sha;
  int64_t size, max;
  bool too_large;
};

package_upload_t *package_upload_begin(blob_store_t *bs, int64_t max) {
  package_upload_t *u = calloc(1, sizeof *u);
  if (!u) return NULL;
  if (!(u->w = blob_writer_new(bs))) {
    free(u);
    return NULL;
  }
  crypto_hash_sha256_init(&u->sha);
  u->max = max;
  return u;
}

bool package_upload_write(package_upload_t *u, const void *data, size_t len) {
  if (u->too_large) return false;
  if ((int64_t)len > u->max - u->size) {
    u->too_large = true;
    return false;
  }
  if (!blob_writer_write(u->w, data, len)) return false;
  crypto_hash_sha256_update(&u->sha, data, len);
  u->size += (int64_t)len;
  return true;
}

bool package_upload_too_large(const package_upload_t *u) {
  return u->too_large;
}

int64_t package_upload_size(const package_upload_t *u) {
  return u->size;
}

bool package_upload_finish(package_upload_t *u, nimbus_package_t *p) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&u->sha, digest);
  sodium_bin2hex(p->sha256, sizeof p->sha256, digest, sizeof digest);
  p->size = u->size;
  bool ok = blob_writer_commit(u->w, p->blob_key); /* frees the writer either way */
  free(u);
  return ok;
}

void package_upload_abort(package_upload_t *u) {
  if (!u) return;
  blob_writer_abort(u->w);
  free(u);
}

bool package_kind_valid(const char *kind) {
  return kind && (!strcmp(kind, "firmware") || !strcmp(kind, "application"));
}

bool package_text_valid(const char *s) {
  if (!s) return false;
  size_t n = strlen(s);
  if (n < 1 || n > 64) return false;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f) return false;
  return true;
}
