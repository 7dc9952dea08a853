/*
 * package.h: a firmware or application package upload
 * (docs/PROVISIONING.md §3): the bytes streamed to the blob store, their
 * SHA-256 computed on the way, at most a configured size.
 */
#ifndef NIMBUS_PACKAGE_H
#define NIMBUS_PACKAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blob.h"
#include "model.h"

typedef struct package_upload package_upload_t;

/* Start an upload of at most max bytes into bs; NULL (errno) on failure. */
package_upload_t *package_upload_begin(blob_store_t *bs, int64_t max);
/* Append len bytes: false when past max (package_upload_too_large) or on
 * an I/O error. */
bool package_upload_write(package_upload_t *u, const void *data, size_t len);
bool package_upload_too_large(const package_upload_t *u);
int64_t package_upload_size(const package_upload_t *u);
/* Make the blob durable: its key, size and lowercase hex SHA-256 into p;
 * frees u.  False (u freed, nothing left behind) on failure. */
bool package_upload_finish(package_upload_t *u, nimbus_package_t *p);
/* Drop the upload and its partial data; NULL is ignored. */
void package_upload_abort(package_upload_t *u);
/* Are kind ("firmware" | "application"), name (1..64 printable) and
 * version (1..64 printable) acceptable? */
bool package_kind_valid(const char *kind);
bool package_text_valid(const char *s);

#endif
