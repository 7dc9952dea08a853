/*
 * blob.h: the document blob store (a filesystem spool by default).
 *
 * A document is written to <spool>/tmp/<key>.part in bounded chunks, then
 * blob_writer_commit() fsyncs it, renames it to <spool>/data/<key> and
 * fsyncs the directory (shared with concurrent commits).  Only then may a job row refer to the key.
 * After a crash, blob_sweep() removes every .part file and every committed blob that no document
 * row references, so an unacknowledged job leaves no trace.
 */
#ifndef NIMBUS_BLOB_H
#define NIMBUS_BLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

typedef struct blob_store blob_store_t;
typedef struct blob_writer blob_writer_t;

/* Open the spool below dir (created with mode 0700). NULL + err on failure. */
blob_store_t *blob_store_open(const char *dir, char *err, size_t errlen);
void blob_store_close(blob_store_t *bs);

/* Start a new blob; returns NULL (errno set) when the file can't be made.
 * Every failure below leaves errno as the failing call set it (ENOSPC and
 * EDQUOT: out of space). */
blob_writer_t *blob_writer_new(blob_store_t *bs);
/* Append len bytes. false (errno set) on I/O error (disk full...). */
bool blob_writer_write(blob_writer_t *w, const void *data, size_t len);
int64_t blob_writer_size(const blob_writer_t *w);
/* Path of the (uncommitted) file, for validation such as page counting. */
const char *blob_writer_path(const blob_writer_t *w);
/* First bytes written (up to 1024), for format detection. */
const unsigned char *blob_writer_head(const blob_writer_t *w, size_t *len);
/* fsync + rename + directory fsync; copies the key to key_out and frees w.
 * On failure (errno set) the partial file is removed and w is freed as well. */
bool blob_writer_commit(blob_writer_t *w, char key_out[NIMBUS_BLOB_KEY_MAX]);
/* Remove the partial file and free w.  NULL is ignored. */
void blob_writer_abort(blob_writer_t *w);

/* Full path of a committed blob into out; false if key is malformed. */
bool blob_path(blob_store_t *bs, const char *key, char *out, size_t outlen);
/* Delete a committed blob (missing is not an error). */
bool blob_delete(blob_store_t *bs, const char *key);

/* Called by blob_sweep for each committed blob; return true to keep it. */
typedef bool (*blob_keep_cb)(const char *key, void *ctx);
/* Remove committed blobs keep() rejects and, when partial_too, every
 * partial file.  partial_too is for start-up only: while serving, partial
 * files belong to uploads in progress, and blobs younger than ten minutes
 * are spared (their job row may be a moment away).  Returns the number of files
 * removed, -1 on error. */
int blob_sweep(blob_store_t *bs, bool partial_too, blob_keep_cb keep, void *ctx);

#endif
