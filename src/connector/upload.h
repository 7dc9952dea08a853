/*
 * upload.h: one job forwarded to nimbusd while the PC is still sending it
 * (docs/PROTOCOL.md 7.1).
 *
 * A worker thread per upload sends the IPP request on its own connection
 * (the device credential, Transfer-Encoding: chunked) and then feeds the
 * document from a bounded ring buffer that the PC's connection fills:
 *
 *   producer (the intake's event thread)      worker (one thread per job)
 *   upload_feed() copies into free space  --> cupsWriteRequestData()
 *     buffer full: park() (suspend the PC)     space >= half: wake()
 *   upload_close(): the PC is done        --> last chunk, cupsGetResponse()
 *     answer not there yet: park()             answer in: wake()
 *
 * park() and wake() are called with the upload's lock held, so a wake
 * never overtakes the park it answers (MHD_suspend_connection before
 * MHD_resume_connection).  The memory of an upload is its buffer
 * (buffer_max bytes) whatever the job's size.
 *
 * States (drawn):
 *
 *   sending --PC done, buffer drained--> answered --upload_result()--> (caller frees)
 *      |  nimbusd answered early (an error) /      ^
 *      |  transport failure                        |
 *      +-------------------------------------------+   (the PC's further bytes are dropped)
 *      |
 *      +--upload_abandon() (PC gone, shutdown)--> worker cuts the connection, frees
 *
 * Invariant: once answered, upload_feed() takes (and drops) everything and
 * wake() has been called for any park().
 */
#ifndef NIMBUS_CONNECTOR_UPLOAD_H
#define NIMBUS_CONNECTOR_UPLOAD_H

#include <cups/cups.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ippc.h"

typedef void (*upload_signal_t)(void *ctx);

/* Uploads in flight, so that a shutdown can wait for every worker. */
typedef struct upload upload_t;

typedef struct {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int active;
  int64_t started;
  bool closed;    /* upload_group_abort() ran: upload_start() refuses */
  upload_t *head; /* the running uploads */
} upload_group_t;

void upload_group_init(upload_group_t *g);
/*
 * Shutdown: cut every running upload (each answers IPPC_TRANSIENT and
 * wakes its producer), refuse new ones (upload_start() returns NULL) and
 * wait until every worker has ended.
 */
void upload_group_abort(upload_group_t *g);
void upload_group_destroy(upload_group_t *g);

/*
 * The request forwarded to nimbusd for a PC's request pc (not freed):
 * operation op to queue (printer-uri) with this printer's
 * output-device-uuid, job_id (> 0) for the operations on a job, and the
 * PC's address (peer, may be "") as job-originating-host-name; then every
 * attribute of pc as the PC sent it (group, tag, values) except the
 * operation attributes of the hop (charset and language, printer-uri,
 * job-uri, job-id, output-device-uuid, job-originating-host-name):
 * job-account-id, job-accounting-user-id, requesting-user-name and the
 * job template attributes reach nimbusd unchanged.  Caller frees.
 */
ipp_t *upload_forward_request(ipp_t *pc, ipp_op_t op, const char *queue, const char *uuid,
                              int job_id, const char *peer);

/*
 * Start forwarding req (always freed) to printer_uri with a private copy
 * of proto's settings (server, credential, pattern, timeout, traffic gate
 * and stop flag; the worker opens its own connection, proto->http is not
 * used).
 * has_body: the operation carries a document (Print-Job, Send-Document).
 * park/wake(ctx) suspend and resume the producer (see above).  NULL when
 * no thread could be started (req freed).
 */
upload_t *upload_start(upload_group_t *g, const ippc_t *proto, ipp_t *req, const char *printer_uri,
                       size_t buffer_max, bool has_body, upload_signal_t park, upload_signal_t wake,
                       void *ctx);
/*
 * Take document bytes: returns how many were taken.  Fewer than len: the
 * buffer is full and park(ctx) has been called; wake(ctx) follows once
 * half of it is free again.  After an answer all bytes are taken (and
 * dropped).
 */
size_t upload_feed(upload_t *u, const char *data, size_t len);
/*
 * The PC has sent everything.  True when nimbusd's answer (or the failure)
 * is there; else park(ctx) has been called and wake(ctx) follows.
 */
bool upload_close(upload_t *u);
/*
 * The outcome once upload_close() returned true (or its wake came):
 * *resp is nimbusd's answer (caller frees; NULL unless IPPC_OK,
 * IPPC_IPP_ERROR, or IPPC_TRANSIENT with an IPP answer such as
 * server-error-busy), *st the statuses.  Bytes forwarded into *sent.
 */
ippc_result_t upload_result(upload_t *u, ipp_t **resp, ippc_status_t *st, int64_t *sent);
/*
 * The producer lets go (the PC's connection ended, or the answer was
 * read): no park/wake any more; a worker still sending cuts its
 * connection (nimbusd sees a truncated body and keeps nothing).  The
 * worker frees the upload; u must not be used afterwards.
 */
void upload_abandon(upload_t *u);

#endif
