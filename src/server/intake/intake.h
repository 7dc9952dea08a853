/*
 * intake.h: taking in one document, the same way for IPP and REST.
 *
 *   intake_begin()   on the event thread when the document part starts
 *   intake_write()   per chunk, on the event thread: appends to a spool
 *                    file; never buffers the document in memory
 *   intake_finish()  on a worker: detects the format, counts pages,
 *                    fsyncs and commits the blob
 *   intake_abort()   on any failure or disconnect: removes the partial file
 */
#ifndef NIMBUS_INTAKE_H
#define NIMBUS_INTAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "server.h"

typedef enum {
  INTAKE_OK = 0,
  INTAKE_TOO_LARGE,          /* over the tenant's max-document-size */
  INTAKE_IO_ERROR,           /* spool write/fsync failed */
  INTAKE_FORMAT_UNSUPPORTED, /* declared or detected format not accepted */
  INTAKE_DOCUMENT_INVALID,   /* corrupt/truncated document */
  INTAKE_EMPTY,              /* no bytes */
  INTAKE_NO_SPACE            /* the spool's disk is full (ENOSPC, EDQUOT): retryable */
} intake_status_t;

typedef struct intake intake_t;

/* Is a declared document-format acceptable (supported or auto)? */
bool intake_format_supported(const char *mime);

/* Is an IPP compression keyword one intake decompresses ("none", "gzip",
 * "deflate")? */
bool intake_compression_supported(const char *keyword);

/* declared_format: the client's document-format, or NULL /
 * "application/octet-stream" for auto-detection.  NULL on spool failure;
 * when the spool file cannot be made for lack of space the intake is
 * returned all the same, refuses every write, and intake_finish() says
 * INTAKE_NO_SPACE. */
intake_t *intake_begin(nimbus_server_t *srv, int64_t max_size, const char *declared_format);
/* The document arrives compressed (keyword as above; "none" changes
 * nothing).  Call before the first intake_write.  Every byte written is
 * then decompressed, and the size limit applies to the received and to
 * the decompressed bytes alike; a corrupt or truncated stream makes
 * intake_finish answer INTAKE_DOCUMENT_INVALID.  False for an unknown
 * keyword or when out of memory. */
bool intake_set_compression(intake_t *in, const char *keyword);
/* Append a chunk; false once the size limit is passed or on I/O error
 * (later writes are ignored; intake_finish reports the status). */
bool intake_write(intake_t *in, const void *data, size_t len);
int64_t intake_size(const intake_t *in);
/* Validate and commit; on INTAKE_OK fills doc->format, size, pages,
 * blob_key (name and number are the caller's) and frees `in`.  On failure
 * writes a reason into err (for the client) and frees `in` as well. */
intake_status_t intake_finish(intake_t *in, nimbus_document_t *doc, char *err, size_t errlen);
/* Drop the document; NULL is ignored. */
void intake_abort(intake_t *in);

/*
 * A small document that arrived whole in memory (at most
 * NIMBUS_INLINE_DOCUMENT_MAX bytes): validate it the same way (format,
 * pages) without any spool file; on INTAKE_OK fills doc->format, size,
 * pages and sets blob_key to STORE_INLINE_BLOB_KEY.  The caller keeps data
 * alive until the job is inserted with it (job_submit_data).
 */
#define NIMBUS_INLINE_DOCUMENT_MAX (64 * 1024)
intake_status_t intake_check_memory(nimbus_server_t *srv, int64_t max_size,
                                    const char *declared_format, const void *data, size_t len,
                                    nimbus_document_t *doc, char *err, size_t errlen);

typedef enum {
  SUBMIT_OK = 0,
  SUBMIT_TOO_MANY_JOBS, /* the owner has max-held-jobs pending jobs */
  SUBMIT_PRINTER_BUSY,  /* the printer it came through has max-held-jobs-per-printer */
  SUBMIT_ERROR,         /* storage failure */
  SUBMIT_NO_SPACE       /* the store's disk is full: retryable, nothing kept */
} submit_status_t;

/* Remove spool files no document row refers to any more (after a tenant
 * or queue deletion; at_startup: also this node's unfinished uploads,
 * blob_sweep).  Returns the number removed, -1 on error. */
int intake_sweep_orphans(nimbus_server_t *srv, bool at_startup);

/* Most pending jobs a user of tenant t may have (tenant limit or default). */
int intake_max_held_jobs(const nimbus_server_t *srv, const nimbus_tenant_t *t);
/*
 * The pending-jobs limits of a new job, checked before its document is
 * spooled and again by job_submit(): the printer's (job->origin_device_id,
 * --max-held-jobs-per-printer) first, then the owner's.  Jobs that arrive
 * through a printer's listener come from anyone on that LAN: the printer's
 * limit bounds what one listener can queue, for all its users together.
 */
submit_status_t intake_check_pending(nimbus_server_t *srv, const nimbus_tenant_t *t,
                                     const nimbus_job_t *job);
/* Largest document of tenant t (tenant limit or server default). */
int64_t intake_max_document_size(const nimbus_server_t *srv, const nimbus_tenant_t *t);

/*
 * Insert a new job (job->tenant_id, queue_id, owner..., state set by the
 * caller: NIMBUS_JOB_RECEIVED for Create-Job, job_state_when_closed() when
 * complete) with its committed documents, after checking the pending-jobs
 * limits (intake_check_pending).  Durable when SUBMIT_OK.  On failure the documents'
 * blobs are deleted.
 */
submit_status_t job_submit(nimbus_server_t *srv, const nimbus_tenant_t *t, nimbus_job_t *job,
                           nimbus_document_t *docs, int ndocs);
/* job_submit() where data (NULL or ndocs entries) holds inline documents. */
submit_status_t job_submit_data(nimbus_server_t *srv, const nimbus_tenant_t *t, nimbus_job_t *job,
                                nimbus_document_t *docs, const store_inline_t *data, int ndocs);

#endif
