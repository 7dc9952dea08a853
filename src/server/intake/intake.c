/*
 * intake.c: one document in, for IPP and REST alike (intake.h), and job
 * submission with the per-user limit.
 *
 * Durability order (why a kill -9 never leaves half a job):
 *   1. bytes go to a blob writer (this node's spool/tmp/<node-id>/) as
 *      they arrive
 *   2. finish: format check + page count, read back from the writer
 *   3. fsync file, rename into the spool, fsync directory (blob commit)
 *   4. job row + document rows in one durable transaction (job_submit)
 *   5. only then the client gets its answer
 * A crash before 4 leaves a .part or an unreferenced blob, which the
 * start-up sweep removes; after 4 the job is complete.
 */
#include "intake.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "diskspace.h"
#include "docformat.h"
#include "docinflate.h"
#include "job.h"
#include "log.h"
#include "metrics.h"

struct intake {
  nimbus_server_t *srv;
  blob_writer_t *writer;
  int64_t max_size;
  bool too_large;
  bool io_error;
  bool no_space; /* io_error for lack of disk space */
  bool auto_format;
  docformat_t declared;
  /* a compressed document (IPP compression gzip/deflate): bytes received
   * go through the decompressor; max_size bounds both what was received
   * and what it decompresses to */
  docinflate_t *inflate;
  int64_t received;
  bool corrupt; /* the compressed stream is not valid */
};

bool intake_compression_supported(const char *keyword) {
  docinflate_kind_t kind;
  return docinflate_kind_from_keyword(keyword, &kind);
}

bool intake_set_compression(intake_t *in, const char *keyword) {
  docinflate_kind_t kind;
  if (!docinflate_kind_from_keyword(keyword, &kind)) return false;
  if (kind == DOCINFLATE_NONE || in->inflate) return true;
  in->inflate = docinflate_new(kind);
  return in->inflate != NULL;
}

bool intake_format_supported(const char *mime) {
  if (!mime || !*mime) return true;
  bool is_auto = false;
  return docformat_from_mime(mime, &is_auto) != DOCFORMAT_UNKNOWN || is_auto;
}

intake_t *intake_begin(nimbus_server_t *srv, int64_t max_size, const char *declared_format) {
  intake_t *in = calloc(1, sizeof *in);
  if (!in) return NULL;
  in->srv = srv;
  in->max_size = max_size;
  in->auto_format = true;
  if (declared_format && *declared_format) {
    bool is_auto = false;
    in->declared = docformat_from_mime(declared_format, &is_auto);
    in->auto_format = is_auto;
  }
  in->writer = blob_writer_new(srv->blobs);
  if (!in->writer) {
    int e = errno;
    if (disk_errno_is_full(e)) {
      disk_full_note("spool create", e);
      in->io_error = in->no_space = true; /* intake_finish() answers it */
      return in;
    }
    log_event(LOG_ERROR, NULL, "cannot create spool file", "errno", LOG_INT(e), "error",
              strerror(e), (char *)NULL);
    free(in);
    return NULL;
  }
  return in;
}

/* Append document bytes (decompressed already) to the spool file. */
static bool intake_write_plain(void *arg, const void *data, size_t len) {
  intake_t *in = arg;
  if (blob_writer_size(in->writer) + (int64_t)len > in->max_size) {
    in->too_large = true;
    return false;
  }
  if (!blob_writer_write(in->writer, data, len)) {
    int e = errno;
    in->io_error = true;
    if ((in->no_space = disk_errno_is_full(e)))
      disk_full_note("spool write", e);
    else
      log_event(LOG_ERROR, NULL, "spool write failed", "errno", LOG_INT(e), "error", strerror(e),
                (char *)NULL);
    return false;
  }
  return true;
}

bool intake_write(intake_t *in, const void *data, size_t len) {
  if (in->too_large || in->io_error || in->corrupt) return false;
  if (!in->inflate) return intake_write_plain(in, data, len);
  in->received += (int64_t)len;
  if (in->received > in->max_size) {
    in->too_large = true;
    return false;
  }
  /* A decompression bomb stops at max_size decompressed bytes: the sink
   * refuses more and nothing past the limit reaches the disk. */
  docinflate_status_t s = docinflate_feed(in->inflate, data, len, intake_write_plain, in);
  if (s == DOCINFLATE_CORRUPT) in->corrupt = true;
  return s == DOCINFLATE_OK;
}

int64_t intake_size(const intake_t *in) {
  return in->writer ? blob_writer_size(in->writer) : 0;
}

/* The document's format: the declared one (NULL: detect it) when its
 * first bytes agree. */
static intake_status_t intake_format(const docformat_t *declared, const unsigned char *head,
                                     size_t headlen, docformat_t *fmt_out, char *err,
                                     size_t errlen) {
  docformat_t detected = docformat_sniff(head, headlen);
  docformat_t fmt = declared ? *declared : detected;
  if (fmt == DOCFORMAT_UNKNOWN) {
    snprintf(err, errlen, "the document format could not be detected");
    return INTAKE_FORMAT_UNSUPPORTED;
  }
  if (detected != fmt) {
    snprintf(err, errlen, "the document is not %s", docformat_mime(fmt));
    return INTAKE_DOCUMENT_INVALID;
  }
  *fmt_out = fmt;
  return INTAKE_OK;
}

/* What a page count may cost, from the configuration. */
static docformat_limits_t intake_limits(const nimbus_server_t *srv) {
  docformat_limits_t lim = {
      .max_pages = srv->cfg.max_document_pages,
      .max_inflate = srv->cfg.max_pdf_inflate,
      .max_objects = srv->cfg.max_pdf_objects,
      .max_memory = srv->cfg.max_pdf_memory,
  };
  return lim;
}

/* Where a document being validated is read from: a spool blob not yet
 * committed, or bytes in memory (inline documents). */
typedef struct {
  blob_reader_t *blob; /* NULL: data */
  const unsigned char *data;
  int64_t size, pos;
} intake_source_t;

/* docformat_read_fn over an intake_source_t. */
static ssize_t intake_source_read(void *ctx, void *buf, size_t len) {
  intake_source_t *src = ctx;
  if ((int64_t)len > src->size - src->pos) len = (size_t)(src->size - src->pos);
  ssize_t n = (ssize_t)len;
  if (src->blob)
    n = blob_reader_read(src->blob, src->pos, buf, len);
  else if (len > 0)
    memcpy(buf, src->data + src->pos, len);
  if (n > 0) src->pos += n;
  return n;
}

/* Pages of a document of format fmt: a PDF is read in place by qpdf (a
 * mapped view of a blob), the raster and JPEG counters read it from start
 * to end.  Below 1 (DOCFORMAT_ERROR, DOCFORMAT_LIMIT) with a reason in why. */
static int intake_count_pages(docformat_t fmt, intake_source_t *src, const docformat_limits_t *lim,
                              char *why, size_t whylen) {
  if (fmt != DOCFORMAT_PDF)
    return docformat_count_pages_stream(fmt, intake_source_read, src, lim, why, whylen);
  const void *data = src->blob ? blob_reader_map(src->blob) : src->data;
  if (!data) {
    snprintf(why, whylen, "the document could not be read");
    return DOCFORMAT_ERROR;
  }
  return docformat_count_pdf_pages_memory(data, (size_t)src->size, lim, why, whylen);
}

/*
 * Decide the format and count the pages of a document read from src,
 * within the configured limits (a document over one is refused like an
 * invalid one: 422 / document-format-error).
 */
static intake_status_t intake_validate(const nimbus_server_t *srv, const docformat_t *declared,
                                       const unsigned char *head, size_t headlen,
                                       intake_source_t *src, docformat_t *fmt_out, int *pages_out,
                                       char *err, size_t errlen) {
  docformat_t fmt;
  intake_status_t status = intake_format(declared, head, headlen, &fmt, err, errlen);
  if (status != INTAKE_OK) return status;
  char why[256];
  docformat_limits_t lim = intake_limits(srv);
  int pages = intake_count_pages(fmt, src, &lim, why, sizeof why);
  if (pages == DOCFORMAT_LIMIT) {
    snprintf(err, errlen, "%s document refused: %s", docformat_mime(fmt), why);
    return INTAKE_DOCUMENT_INVALID;
  }
  if (pages < 1) {
    snprintf(err, errlen, "invalid %s document: %s", docformat_mime(fmt), why);
    return INTAKE_DOCUMENT_INVALID;
  }
  *fmt_out = fmt;
  *pages_out = pages;
  return INTAKE_OK;
}

intake_status_t intake_check_memory(nimbus_server_t *srv, int64_t max_size,
                                    const char *declared_format, const void *data, size_t len,
                                    nimbus_document_t *doc, char *err, size_t errlen) {
  err[0] = '\0';
  if (len == 0) {
    snprintf(err, errlen, "the document is empty");
    return INTAKE_EMPTY;
  }
  if ((int64_t)len > max_size) {
    snprintf(err, errlen, "document is larger than %lld bytes", (long long)max_size);
    return INTAKE_TOO_LARGE;
  }
  docformat_t declared = DOCFORMAT_UNKNOWN;
  bool is_auto = true;
  if (declared_format && *declared_format)
    declared = docformat_from_mime(declared_format, &is_auto);
  docformat_t fmt;
  int pages;
  intake_source_t src = {.data = data, .size = (int64_t)len};
  intake_status_t status = intake_validate(srv, is_auto ? NULL : &declared, data,
                                           len < DOCFORMAT_SNIFF_MAX ? len : DOCFORMAT_SNIFF_MAX,
                                           &src, &fmt, &pages, err, errlen);
  if (status != INTAKE_OK) return status;
  snprintf(doc->format, sizeof doc->format, "%s", docformat_mime(fmt));
  snprintf(doc->blob_key, sizeof doc->blob_key, "%s", STORE_INLINE_BLOB_KEY);
  doc->size = (int64_t)len;
  doc->pages = pages;
  metrics_bytes_spooled(srv->metrics, (int64_t)len);
  return INTAKE_OK;
}

intake_status_t intake_finish(intake_t *in, nimbus_document_t *doc, char *err, size_t errlen) {
  intake_status_t status = INTAKE_OK;
  err[0] = '\0';
  if (in->too_large) {
    snprintf(err, errlen, "%s is larger than %lld bytes",
             in->inflate ? "the decompressed document" : "document", (long long)in->max_size);
    status = INTAKE_TOO_LARGE;
    goto fail;
  }
  if (in->io_error) {
    snprintf(err, errlen, "%s",
             in->no_space ? DISK_FULL_MESSAGE : "the spool could not store the document");
    status = in->no_space ? INTAKE_NO_SPACE : INTAKE_IO_ERROR;
    goto fail;
  }
  if (in->inflate && (in->corrupt || !docinflate_complete(in->inflate))) {
    snprintf(err, errlen, "the compressed document is corrupt or truncated");
    status = INTAKE_DOCUMENT_INVALID;
    goto fail;
  }
  int64_t size = blob_writer_size(in->writer);
  if (size == 0) {
    snprintf(err, errlen, "the document is empty");
    status = INTAKE_EMPTY;
    goto fail;
  }
  size_t headlen;
  const unsigned char *head = blob_writer_head(in->writer, &headlen);
  docformat_t fmt;
  int pages;
  intake_source_t src = {.blob = blob_writer_reader(in->writer), .size = size};
  if (!src.blob) {
    int e = errno;
    log_event(LOG_ERROR, NULL, "cannot read back the spooled document", "errno", LOG_INT(e),
              "error", strerror(e), (char *)NULL);
    snprintf(err, errlen, "the spool could not store the document");
    status = INTAKE_IO_ERROR;
    goto fail;
  }
  status = intake_validate(in->srv, in->auto_format ? NULL : &in->declared, head, headlen, &src,
                           &fmt, &pages, err, errlen);
  blob_reader_close(src.blob);
  if (status != INTAKE_OK) goto fail;
  if (!blob_writer_commit(in->writer, doc->blob_key)) {
    int e = errno;
    in->writer = NULL;
    bool full = disk_errno_is_full(e);
    if (full) disk_full_note("spool commit", e);
    snprintf(err, errlen, "%s",
             full ? DISK_FULL_MESSAGE : "the spool could not store the document");
    status = full ? INTAKE_NO_SPACE : INTAKE_IO_ERROR;
    goto fail;
  }
  in->writer = NULL;
  disk_write_ok_note();
  snprintf(doc->format, sizeof doc->format, "%s", docformat_mime(fmt));
  doc->size = size;
  doc->pages = pages;
  metrics_bytes_spooled(in->srv->metrics, size);
  docinflate_free(in->inflate);
  free(in);
  return INTAKE_OK;
fail:
  intake_abort(in);
  return status;
}

void intake_abort(intake_t *in) {
  if (!in) return;
  blob_writer_abort(in->writer);
  docinflate_free(in->inflate);
  free(in);
}

/* blob_sweep keeper: keep what a document row refers to (and, when the
 * store cannot say, keep it). */
static bool intake_blob_keep(const char *key, void *ctx) {
  bool referenced = true;
  if (store_blob_is_referenced(ctx, key, &referenced) != STORE_OK) return true;
  return referenced;
}

int intake_sweep_orphans(nimbus_server_t *srv, bool at_startup) {
  return blob_sweep(srv->blobs, at_startup, intake_blob_keep, srv->store);
}

int intake_max_held_jobs(const nimbus_server_t *srv, const nimbus_tenant_t *t) {
  return t->max_held_jobs_per_user > 0 ? t->max_held_jobs_per_user : srv->cfg.max_held_jobs;
}

int64_t intake_max_document_size(const nimbus_server_t *srv, const nimbus_tenant_t *t) {
  return t->max_document_size > 0 ? t->max_document_size : srv->cfg.max_document_size;
}

submit_status_t intake_check_pending(nimbus_server_t *srv, const nimbus_tenant_t *t,
                                     const nimbus_job_t *job) {
  int pending = 0;
  if (job->origin_device_id) {
    if (store_job_count_pending_for_origin(srv->store, t->id, job->origin_device_id, &pending) !=
        STORE_OK)
      return SUBMIT_ERROR;
    if (pending >= srv->cfg.max_printer_jobs) return SUBMIT_PRINTER_BUSY;
  }
  if (job->owner_id) {
    if (store_job_count_pending_for_owner(srv->store, t->id, job->owner_id, &pending) != STORE_OK)
      return SUBMIT_ERROR;
    if (pending >= intake_max_held_jobs(srv, t)) return SUBMIT_TOO_MANY_JOBS;
  }
  return SUBMIT_OK;
}

submit_status_t job_submit(nimbus_server_t *srv, const nimbus_tenant_t *t, nimbus_job_t *job,
                           nimbus_document_t *docs, int ndocs) {
  return job_submit_data(srv, t, job, docs, NULL, ndocs);
}

submit_status_t job_submit_data(nimbus_server_t *srv, const nimbus_tenant_t *t, nimbus_job_t *job,
                                nimbus_document_t *docs, const store_inline_t *data, int ndocs) {
  submit_status_t result = intake_check_pending(srv, t, job);
  if (result != SUBMIT_OK) goto fail;
  result = SUBMIT_ERROR;
  if (job->copies < 1) job->copies = 1;
  job->pages = 0;
  for (int i = 0; i < ndocs; i++) {
    docs[i].number = i + 1;
    job->pages += docs[i].pages;
  }
  job->num_documents = ndocs;
  job->impressions = job->pages * job->copies;
  store_status_t s = store_job_insert_data(srv->store, job, docs, data, ndocs);
  if (s != STORE_OK) {
    if (s == STORE_FULL) result = SUBMIT_NO_SPACE;
    goto fail;
  }
  disk_write_ok_note();
  if (job->state != NIMBUS_JOB_RECEIVED) job_observe(job, NIMBUS_JOB_RECEIVED);
  return SUBMIT_OK;
fail:
  for (int i = 0; i < ndocs; i++)
    if (strcmp(docs[i].blob_key, STORE_INLINE_BLOB_KEY) != 0)
      blob_delete(srv->blobs, docs[i].blob_key);
  return result;
}
