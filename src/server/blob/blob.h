/*
 * blob.h: the document blob store (a filesystem spool by default, shared
 * by every node of a scale-out; an object store later).
 *
 * Callers see opaque handles only: no path or file descriptor leaves
 * blob/, so another backend can replace the filesystem without touching
 * intake, IPP or REST.
 *
 * A document is written in bounded chunks through a blob_writer_t into
 * the node's own temporary area; blob_writer_commit() makes it durable
 * (fsync the data, move it into place atomically, fsync the directory).
 * Only then may a job row refer to the returned key, and only once that
 * row is durable may the job be acknowledged (intake.c).  A blob is read
 * back in chunks through a blob_reader_t (or, for the PDF page counter,
 * through a read-only mapped view).
 *
 * Several nodes share one spool: each writes its uploads in progress
 * below its own node id and holds a lock on that area while it runs, so
 * a second process with the same node id is refused and a node's
 * start-up sweep removes only its own unfinished uploads.
 *
 * Thread safety: the store is shared by all threads; a writer or reader
 * is used by one thread at a time (it may move between threads).
 */
#ifndef NIMBUS_BLOB_H
#define NIMBUS_BLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "model.h"

typedef struct blob_store blob_store_t;
typedef struct blob_writer blob_writer_t;
typedef struct blob_reader blob_reader_t;

/* Longest node id (--node-id), without the terminating NUL. */
#define BLOB_NODE_ID_MAX 64

/* Is id a valid node id: 1 to BLOB_NODE_ID_MAX characters of
 * [A-Za-z0-9._-], and neither "." nor ".."? */
bool blob_node_id_valid(const char *id);

/*
 * Open the spool below dir (created with mode 0700 as needed) as node
 * node_id, which must be valid (blob_node_id_valid).  Takes the node's
 * lock, held until blob_store_close(): when another process holds it
 * (the same node id is running on this spool) the open fails with a
 * message saying so.  NULL + a message in err on failure.
 */
blob_store_t *blob_store_open(const char *dir, const char *node_id, char *err, size_t errlen);
/* Release the node's lock and free bs.  NULL is ignored.  Every writer
 * and reader must be finished first. */
void blob_store_close(blob_store_t *bs);

/* Start a new blob; returns NULL (errno set) when it can't be made.
 * Every failure below leaves errno as the failing call set it (ENOSPC and
 * EDQUOT: out of space). */
blob_writer_t *blob_writer_new(blob_store_t *bs);
/* Append len bytes. false (errno set) on I/O error (disk full...). */
bool blob_writer_write(blob_writer_t *w, const void *data, size_t len);
int64_t blob_writer_size(const blob_writer_t *w);
/* First bytes written (up to 1024), for format detection.  Points into w. */
const unsigned char *blob_writer_head(const blob_writer_t *w, size_t *len);
/* A reader over the bytes written so far, to validate a document (page
 * count) before it is committed.  Close it before committing or
 * aborting w.  NULL (errno set) on failure. */
blob_reader_t *blob_writer_reader(blob_writer_t *w);
/* Make the blob durable: fsync, atomic move into place, directory fsync;
 * copies the key to key_out and frees w.  On failure (errno set) the
 * partial data is removed and w is freed as well. */
bool blob_writer_commit(blob_writer_t *w, char key_out[NIMBUS_BLOB_KEY_MAX]);
/* Remove the partial data and free w; nothing of it remains.  NULL is
 * ignored. */
void blob_writer_abort(blob_writer_t *w);

/* Open the committed blob key for reading.  NULL with errno ENOENT when
 * there is no such blob, EINVAL when key is malformed, or as the failing
 * call set it. */
blob_reader_t *blob_reader_open(blob_store_t *bs, const char *key);
/* Size in bytes of the blob (fixed while the reader is open). */
int64_t blob_reader_size(const blob_reader_t *r);
/* Copy up to len bytes from offset into buf.  Returns the number of
 * bytes copied (fewer only at the end), 0 at or past the end, -1 (errno
 * set) on an I/O error. */
ssize_t blob_reader_read(blob_reader_t *r, int64_t offset, void *buf, size_t len);
/* A read-only view of the whole blob in contiguous memory (for parsers
 * that need random access, e.g. qpdf), valid until blob_reader_close().
 * The pages are loaded on demand and released at close.  NULL (errno set)
 * when it can't be mapped or the blob is empty. */
const void *blob_reader_map(blob_reader_t *r);
/* Release r (and its view).  NULL is ignored. */
void blob_reader_close(blob_reader_t *r);

/* Delete a committed blob (missing is not an error); false for a
 * malformed key or an I/O error. */
bool blob_delete(blob_store_t *bs, const char *key);
/* Is there a committed blob key? */
bool blob_exists(blob_store_t *bs, const char *key);
/* Bytes available for new blobs, -1 when it can't be told. */
int64_t blob_free_space(blob_store_t *bs);

/* Called by blob_sweep for each committed blob; return true to keep it. */
typedef bool (*blob_keep_cb)(const char *key, void *ctx);
/*
 * Remove committed blobs keep() rejects and, when at_startup, every
 * unfinished upload of this node (never another node's).  A committed
 * blob younger than ten minutes may belong to a commit whose job row is a
 * moment away: it is spared while serving, and at start-up too unless no
 * other node is running on the spool (the owner of such a blob then
 * finished or died, so keep() is final).  Returns the number of blobs
 * removed, -1 on error.
 */
int blob_sweep(blob_store_t *bs, bool at_startup, blob_keep_cb keep, void *ctx);

#endif
