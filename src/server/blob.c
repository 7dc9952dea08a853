/*
 * blob.c: the filesystem spool behind blob.h.
 *
 * Layout under the spool directory:
 *   tmp/<key>.part   documents being received (never referenced by rows)
 *   <kk>/<key>       committed documents; kk = first two hex chars of key
 * Keys are 32 random hex chars, so paths never come from client input.
 */
#include "blob.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "log.h"

struct blob_store {
  char dir[4096];
};

struct blob_writer {
  blob_store_t *bs;
  int fd;
  int64_t size;
  char key[33];
  char path[4200];
  unsigned char head[64];
  size_t head_len;
};

static bool blob_mkdir(const char *path) {
  return mkdir(path, 0700) == 0 || errno == EEXIST;
}

/* fsync a directory so a rename or unlink in it is durable. */
static bool blob_fsync_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = fsync(fd) == 0;
  close(fd);
  return ok;
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
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s/tmp", dir);
  if (!blob_mkdir(dir) || !blob_mkdir(tmp)) {
    snprintf(err, errlen, "cannot create spool %s: %s", dir, strerror(errno));
    free(bs);
    return NULL;
  }
  return bs;
}

void blob_store_close(blob_store_t *bs) { free(bs); }

blob_writer_t *blob_writer_new(blob_store_t *bs) {
  blob_writer_t *w = calloc(1, sizeof *w);
  if (!w) return NULL;
  w->bs = bs;
  crypto_random_hex(w->key);
  snprintf(w->path, sizeof w->path, "%s/tmp/%s.part", bs->dir, w->key);
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

int64_t blob_writer_size(const blob_writer_t *w) { return w->size; }
const char *blob_writer_path(const blob_writer_t *w) { return w->path; }

const unsigned char *blob_writer_head(const blob_writer_t *w, size_t *len) {
  *len = w->head_len;
  return w->head;
}

bool blob_writer_commit(blob_writer_t *w, char key_out[NIMBUS_BLOB_KEY_MAX]) {
  char subdir[4200], final[4300];
  bool ok = false;
  snprintf(subdir, sizeof subdir, "%s/%.2s", w->bs->dir, w->key);
  snprintf(final, sizeof final, "%s/%s", subdir, w->key);
  if (fsync(w->fd) != 0) goto done;
  if (close(w->fd) != 0) {
    w->fd = -1;
    goto done;
  }
  w->fd = -1;
  if (!blob_mkdir(subdir)) goto done;
  if (rename(w->path, final) != 0) goto done;
  if (!blob_fsync_dir(subdir)) {
    unlink(final);
    goto done;
  }
  snprintf(key_out, NIMBUS_BLOB_KEY_MAX, "%s", w->key);
  ok = true;
done:
  if (!ok) {
    log_event(LOG_ERROR, NULL, "spool commit failed", "error", strerror(errno), (char *)NULL);
    if (w->fd >= 0) close(w->fd);
    unlink(w->path);
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
  snprintf(out, outlen, "%s/%.2s/%s", bs->dir, key, key);
  return true;
}

bool blob_delete(blob_store_t *bs, const char *key) {
  char path[4300];
  if (!blob_path(bs, key, path, sizeof path)) return false;
  return unlink(path) == 0 || errno == ENOENT;
}

/* Remove every file in dir when partial, else those keep() rejects. */
static int blob_sweep_dir(const char *dir, bool partial, blob_keep_cb keep, void *ctx) {
  DIR *d = opendir(dir);
  if (!d) return errno == ENOENT ? 0 : -1;
  int removed = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    bool drop = partial || !blob_key_valid(e->d_name) || !keep(e->d_name, ctx);
    if (!drop) continue;
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    if (unlink(path) == 0) removed++;
  }
  closedir(d);
  return removed;
}

int blob_sweep(blob_store_t *bs, blob_keep_cb keep, void *ctx) {
  char path[4200];
  snprintf(path, sizeof path, "%s/tmp", bs->dir);
  int removed = blob_sweep_dir(path, true, keep, ctx);
  if (removed < 0) return -1;
  DIR *d = opendir(bs->dir);
  if (!d) return -1;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strlen(e->d_name) != 2 || strspn(e->d_name, "0123456789abcdef") != 2) continue;
    snprintf(path, sizeof path, "%s/%.2s", bs->dir, e->d_name);
    int n = blob_sweep_dir(path, false, keep, ctx);
    if (n > 0) removed += n;
  }
  closedir(d);
  return removed;
}
