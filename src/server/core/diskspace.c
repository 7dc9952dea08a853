/*
 * diskspace.c: the disk-full state behind diskspace.h.  One process-wide
 * record (when the last write failed for lack of space, and whether one
 * succeeded since), kept in atomics because the spool, the store's
 * group-commit thread and /healthz touch it from any thread.
 */
#include "diskspace.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include "log.h"

static atomic_llong disk_full_at;  /* unix seconds of the last failure; 0: never */
static atomic_bool disk_full_open; /* no write succeeded since that failure */

bool disk_errno_is_full(int err) {
  return err == ENOSPC || err == EDQUOT;
}

void disk_full_note(const char *where, int err) {
  atomic_store(&disk_full_at, (long long)time(NULL));
  atomic_store(&disk_full_open, true);
  char msg[128];
  snprintf(msg, sizeof msg, "%s", strerror(err ? err : ENOSPC));
  log_event(LOG_ERROR, NULL, "disk full", "where", where, "errno", LOG_INT(err), "error", msg,
            (char *)NULL);
}

void disk_write_ok_note(void) {
  if (atomic_load(&disk_full_open)) atomic_store(&disk_full_open, false);
}

/* Bytes available to nimbusd below path; -1 when statvfs fails. */
static long long disk_available(const char *path) {
  struct statvfs v;
  if (statvfs(path, &v) != 0) return -1;
  return (long long)v.f_bavail * (long long)v.f_frsize;
}

bool disk_space_check(const nimbus_server_t *srv, char *reason, size_t reasonlen) {
  long long avails[] = {srv->blobs ? (long long)blob_free_space(srv->blobs) : -1,
                        disk_available(srv->cfg.state_dir)};
  const char *names[] = {"spool", "database directory"};
  for (int i = 0; i < 2; i++) {
    long long avail = avails[i];
    if (avail >= 0 && avail < (long long)srv->cfg.min_free_space) {
      snprintf(reason, reasonlen,
               "the %s has %lld bytes free, less than --min-free-space (%lld): uploads may fail",
               names[i], avail, (long long)srv->cfg.min_free_space);
      return false;
    }
  }
  long long at = atomic_load(&disk_full_at);
  long long ago = (long long)time(NULL) - at;
  if (atomic_load(&disk_full_open) && at && ago < DISK_FULL_HEALTH_WINDOW) {
    snprintf(reason, reasonlen,
             "a write failed for lack of disk space %lld s ago and none succeeded since", ago);
    return false;
  }
  return true;
}
