/*
 * output.h: where printed documents go.  One interface, three backends:
 *
 *   ipp://host:port/path, ipps://...  a real IPP printer (output-ipp.c)
 *   cups:QUEUE                        a local CUPS queue (output-ipp.c)
 *   file:///dir                       a virtual printer that writes each
 *                                     document and its attributes to dir
 *                                     (output-file.c)
 *
 * A document is streamed: begin(), write() any number of times, end().
 * Nothing holds a whole document in memory.  end() waits until the
 * printer has finished the job, calling tick() about once a second (the
 * caller's keep-alive towards nimbusd).  When tick() returns false the job
 * was canceled at nimbusd: end() cancels it at the printer (ipp:
 * Cancel-Job, cups: cupsCancelJob2) and waits, at most
 * OUTPUT_CANCEL_WAIT seconds, for the printer to confirm.  A document
 * still being sent is dropped with abort() instead (ipp: the request is
 * cut, so the printer never gets a whole job; cups: the job is canceled;
 * file: the partial file is removed).
 */
#ifndef NIMBUS_CONNECTOR_OUTPUT_H
#define NIMBUS_CONNECTOR_OUTPUT_H

#include <cups/cups.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct {
  int job_state;   /* IPP_JSTATE_COMPLETED, _ABORTED or _CANCELED */
  int impressions; /* impressions completed (0 if the printer cannot tell) */
  int remote_id;   /* the printer's own job id (0: none) */
  char reason[128];
} output_result_t;

/* false: the job was canceled at nimbusd, cancel it at the printer */
typedef bool (*output_tick_t)(void *ctx);

#define OUTPUT_CANCEL_WAIT 60 /* seconds for the printer to confirm a cancellation */

typedef struct output_s output_t;

/* Open the backend named by spec; false with a message. */
output_t *output_open(const char *spec, char *err, size_t errlen);
void output_close(output_t *o);
/* "ipp", "cups" or "file". */
const char *output_kind(const output_t *o);
/* Add the printer's capabilities to the printer group of req. */
bool output_caps(output_t *o, ipp_t *req, char *err, size_t errlen);
/*
 * Start document doc_no of job_id.  job_attrs are nimbusd's job
 * attributes (Fetch-Job answer; may be NULL), format the MIME type.
 * *remote_id receives the printer's job id when known at once.
 */
bool output_begin(output_t *o, int job_id, int doc_no, const char *format, ipp_t *job_attrs,
                  char *err, size_t errlen);
bool output_write(output_t *o, const char *buf, size_t len);
/* The printer's job id of the document being sent, once known (0: none). */
int output_remote_id(const output_t *o);
/* Finish the document and wait for the printer; *res is filled. */
bool output_end(output_t *o, output_result_t *res, output_tick_t tick, void *ctx);
/* Drop the current document (error while receiving it). */
void output_abort(output_t *o);
/*
 * After a restart: what became of a job handed over before (remote_id from
 * the journal, 0 if unknown)?  Waits while the printer still works on it.
 * False when the output cannot tell.
 */
bool output_recover(output_t *o, int job_id, int remote_id, output_result_t *res,
                    output_tick_t tick, void *ctx);

/* Backend operations; each backend defines one of these. */
typedef struct {
  const char *kind;
  bool (*caps)(output_t *o, ipp_t *req, char *err, size_t errlen);
  bool (*begin)(output_t *o, int job_id, int doc_no, const char *format, ipp_t *job_attrs,
                char *err, size_t errlen);
  bool (*write)(output_t *o, const char *buf, size_t len);
  bool (*end)(output_t *o, output_result_t *res, output_tick_t tick, void *ctx);
  void (*abort)(output_t *o);
  bool (*recover)(output_t *o, int job_id, int remote_id, output_result_t *res, output_tick_t tick,
                  void *ctx);
  void (*close)(output_t *o);
} output_ops_t;

struct output_s {
  const output_ops_t *ops;
  int remote_id;
};

output_t *output_ipp_open(const char *spec, bool cups, char *err, size_t errlen);
output_t *output_file_open(const char *dir, char *err, size_t errlen);

/* The file extension for a MIME type ("pdf", "pwg", ..., "bin"). */
const char *output_extension(const char *format);

#endif
