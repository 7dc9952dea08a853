/*
 * diskspace.h: running out of disk space, reported as such (issue 8).
 *
 * A write that fails with ENOSPC or EDQUOT (spool) or SQLITE_FULL (store)
 * is noted here: the log gets where and the errno, and /healthz reports
 * the condition until a later write succeeds.  Callers answer such a
 * failure with a retryable status (HTTP 507 + Retry-After, IPP
 * server-error-busy), never with a generic error, and nothing that was
 * accepted before is touched.
 */
#ifndef NIMBUS_DISKSPACE_H
#define NIMBUS_DISKSPACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server.h"

/* Seconds a client is told to wait (Retry-After) after a disk-full answer. */
#define DISK_FULL_RETRY_AFTER 30
/* The status-message / problem detail of a disk-full answer. */
#define DISK_FULL_MESSAGE "the server is out of disk space; try again later"

/* Is err one of the "no space left" errnos (ENOSPC, EDQUOT)? */
bool disk_errno_is_full(int err);
/* A write failed for lack of space: log `where` and err, remember when. */
void disk_full_note(const char *where, int err);
/* A spool commit or a job insert succeeded: the disk takes writes again. */
void disk_write_ok_note(void);

/*
 * The disk check of /healthz, cheap enough for the event thread (two
 * statvfs calls, no lock).  False, with a reason for the operator in
 * reason, when the spool or the database directory has less than
 * --min-free-space bytes available, or a write failed for lack of space
 * in the last DISK_FULL_HEALTH_WINDOW seconds and none succeeded since.
 */
#define DISK_FULL_HEALTH_WINDOW 60
bool disk_space_check(const nimbus_server_t *srv, char *reason, size_t reasonlen);

#endif
