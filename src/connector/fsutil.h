/*
 * fsutil.h: the few durable-file steps the connector repeats (state file,
 * journal, file:// output): write everything, and fsync a directory so a
 * rename in it survives a crash.
 */
#ifndef NIMBUS_CONNECTOR_FSUTIL_H
#define NIMBUS_CONNECTOR_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>

/* write() all of buf, retrying short writes and EINTR. */
bool fs_write_all(int fd, const void *buf, size_t len);
/* fsync the directory dir. */
bool fs_sync_dir(const char *dir);
/* fsync the directory that holds path. */
bool fs_sync_parent(const char *path);

#endif
