/*
 * blob.c: the filesystem spool behind blob.h.
 *
 * Layout under the spool directory:
 *   tmp/<k>/<key>.part  documents being received (never referenced by
 *                    rows); k = first hex digit of key.  Sixteen
 *                    directories spread new inodes over several ext4
 *                    block groups: one directory made every upload contend
 *                    on one inode bitmap (measured, docs/BENCHMARKS.md).
 *   data/<key>       committed documents
 * Keys are 32 random hex chars, so paths never come from client input.
 *
 * Group fsync of data/: a rename is durable once data/ is fsync'd after
 * it.  Concurrent commits share one directory fsync: a caller waits for a
 * sync that *started* after its rename (generation counters under
 * blob_store.mu, which is held only to read and bump them, never across
 * the fsync itself).
 */
#include "blob.h"

#include <dirent.h>
#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "log.h"

struct blob_store {
  char dir[4096];
  pthread_mutex_t mu;
  pthread_cond_t synced;
  uint64_t requested; /* renames that need a directory fsync */
  uint64_t done;      /* renames covered by a completed fsync */
  bool syncing;
  int sync_errors;
};

struct blob_writer {
  blob_store_t *bs;
  int fd;
  int64_t size;
  char key[33];
  char path[4200];
  unsigned char head[1024]; /* first bytes, for format detection (DOCFORMAT_SNIFF_MAX) */
  size_t head_len;
};

static bool blob_mkdir(const char *path) {
  return mkdir(path, 0700) == 0 || errno == EEXIST;
}

static bool blob_key_valid(const char *key) {
  size_t n = strlen(key);
  if (n != 32) return false;
  for (size_t i = 0; i < n; i++)
    if (!((key[i] >= '0' && key[i] <= '9') || (key[i] >= 'a' && key[i] <= 'f'))) return false;
  return true;
}

blob_store_t *blob_store_open(const char *dir, char *err, size_t errlen) {
  blob_store_t *bs = calloc(1, sizeof *bs);
  if (!bs) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  if (strlen(dir) >= sizeof bs->dir - 64) {
    snprintf(err, errlen, "spool path too long");
    free(bs);
    return NULL;
  }
  snprintf(bs->dir, sizeof bs->dir, "%s", dir);
  pthread_mutex_init(&bs->mu, NULL);
  pthread_cond_init(&bs->synced, NULL);
  char tmp[4200], data[4200];
  snprintf(tmp, sizeof tmp, "%s/tmp", dir);
  snprintf(data, sizeof data, "%s/data", dir);
  bool ok = blob_mkdir(dir) && blob_mkdir(tmp) && blob_mkdir(data);
  for (int k = 0; ok && k < 16; k++) {
    char shard[4300];
    snprintf(shard, sizeof shard, "%s/%x", tmp, k);
    ok = blob_mkdir(shard);
  }
  if (!ok) {
    snprintf(err, errlen, "cannot create spool %s: %s", dir, strerror(errno));
    free(bs);
    return NULL;
  }
  return bs;
}

void blob_store_close(blob_store_t *bs) {
  if (!bs) return;
  pthread_mutex_destroy(&bs->mu);
  pthread_cond_destroy(&bs->synced);
  free(bs);
}

/* Make every rename done before this call durable (see the file header). */
static bool blob_sync_data_dir(blob_store_t *bs) {
  pthread_mutex_lock(&bs->mu);
  uint64_t mine = ++bs->requested;
  for (;;) {
    if (bs->done >= mine) {
      pthread_mutex_unlock(&bs->mu);
      return true;
    }
    if (!bs->syncing) break;
    pthread_cond_wait(&bs->synced, &bs->mu);
  }
  bs->syncing = true;
  uint64_t covered = bs->requested; /* all renames so far */
  pthread_mutex_unlock(&bs->mu);
  char data[4200];
  snprintf(data, sizeof data, "%s/data", bs->dir);
  int fd = open(data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  bool ok = fd >= 0 && fsync(fd) == 0;
  if (fd >= 0) close(fd);
  pthread_mutex_lock(&bs->mu);
  bs->syncing = false;
  if (ok) bs->done = covered;
  pthread_cond_broadcast(&bs->synced);
  pthread_mutex_unlock(&bs->mu);
  return ok;
}

blob_writer_t *blob_writer_new(blob_store_t *bs) {
  blob_writer_t *w = calloc(1, sizeof *w);
  if (!w) return NULL;
  w->bs = bs;
  crypto_random_hex(w->key);
  snprintf(w->path, sizeof w->path, "%s/tmp/%c/%s.part", bs->dir, w->key[0], w->key);
  w->fd = open(w->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (w->fd < 0) {
    int e = errno;
    free(w);
    errno = e;
    return NULL;
  }
  return w;
}

bool blob_writer_write(blob_writer_t *w, const void *data, size_t len) {
  const unsigned char *p = data;
  if (w->head_len < sizeof w->head) {
    size_t n = sizeof w->head - w->head_len;
    if (n > len) n = len;
    memcpy(w->head + w->head_len, p, n);
    w->head_len += n;
  }
  while (len > 0) {
    ssize_t n = write(w->fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += n;
    len -= (size_t)n;
    w->size += n;
  }
  return true;
}

int64_t blob_writer_size(const blob_writer_t *w) {
  return w->size;
}
const char *blob_writer_path(const blob_writer_t *w) {
  return w->path;
}

const unsigned char *blob_writer_head(const blob_writer_t *w, size_t *len) {
  *len = w->head_len;
  return w->head;
}

bool blob_writer_commit(blob_writer_t *w, char key_out[NIMBUS_BLOB_KEY_MAX]) {
  char final[4300];
  bool ok = false;
  snprintf(final, sizeof final, "%s/data/%s", w->bs->dir, w->key);
  if (fsync(w->fd) != 0) goto done;
  if (close(w->fd) != 0) {
    w->fd = -1;
    goto done;
  }
  w->fd = -1;
  if (rename(w->path, final) != 0) goto done;
  if (!blob_sync_data_dir(w->bs)) {
    unlink(final);
    goto done;
  }
  snprintf(key_out, NIMBUS_BLOB_KEY_MAX, "%s", w->key);
  ok = true;
done:
  if (!ok) {
    int e = errno; /* the caller tells ENOSPC from other failures */
    log_event(LOG_ERROR, NULL, "spool commit failed", "errno", LOG_INT(e), "error", strerror(e),
              (char *)NULL);
    if (w->fd >= 0) close(w->fd);
    unlink(w->path);
    free(w);
    errno = e;
    return false;
  }
  free(w);
  return ok;
}

void blob_writer_abort(blob_writer_t *w) {
  if (!w) return;
  if (w->fd >= 0) close(w->fd);
  unlink(w->path);
  free(w);
}

bool blob_path(blob_store_t *bs, const char *key, char *out, size_t outlen) {
  if (!blob_key_valid(key)) return false;
  snprintf(out, outlen, "%s/data/%s", bs->dir, key);
  return true;
}

bool blob_delete(blob_store_t *bs, const char *key) {
  char path[4300];
  if (!blob_path(bs, key, path, sizeof path)) return false;
  return unlink(path) == 0 || errno == ENOENT;
}

/* A runtime sweep leaves blobs younger than this alone: one may have been
 * committed a moment ago by a request that has not inserted its row yet. */
#define BLOB_SWEEP_GRACE_SECONDS 600

/* Remove every file in dir when partial, else those keep() rejects
 * (sparing young ones unless everything may go, i.e. at start-up). */
static int blob_sweep_dir(const char *dir, bool partial, bool spare_young, blob_keep_cb keep,
                          void *ctx) {
  time_t now = time(NULL);
  DIR *d = opendir(dir);
  if (!d) return errno == ENOENT ? 0 : -1;
  int removed = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.' || strlen(e->d_name) > 64) continue; /* not ours */
    char path[4400];
    snprintf(path, sizeof path, "%s/%.64s", dir, e->d_name);
    struct stat sb;
    if (!partial && spare_young && stat(path, &sb) == 0 &&
        now - sb.st_mtime < BLOB_SWEEP_GRACE_SECONDS)
      continue;
    bool drop = partial || !blob_key_valid(e->d_name) || !keep(e->d_name, ctx);
    if (!drop) continue;
    if (unlink(path) == 0) removed++;
  }
  closedir(d);
  return removed;
}

int blob_sweep(blob_store_t *bs, bool partial_too, blob_keep_cb keep, void *ctx) {
  char path[4200];
  int removed = 0;
  for (int k = 0; partial_too && k < 16; k++) {
    snprintf(path, sizeof path, "%s/tmp/%x", bs->dir, k);
    int n = blob_sweep_dir(path, true, false, keep, ctx);
    if (n < 0) return -1;
    removed += n;
  }
  snprintf(path, sizeof path, "%s/data", bs->dir);
  int n = blob_sweep_dir(path, false, !partial_too, keep, ctx);
  if (n < 0) return -1;
  return removed + n;
}
