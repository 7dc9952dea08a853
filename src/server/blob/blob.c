/*
 * blob.c: the filesystem spool behind blob.h.
 *
 * Layout under the spool directory (shared by the nodes of a scale-out):
 *   tmp/<node-id>/.lock          flock'd (exclusive) by the running node
 *   tmp/<node-id>/<k>/<key>.part documents being received by that node
 *                                (never referenced by rows); k = first hex
 *                                digit of key.  Sixteen directories spread
 *                                new inodes over several ext4 block
 *                                groups: one directory made every upload
 *                                contend on one inode bitmap (measured,
 *                                docs/BENCHMARKS.md).
 *   data/<key>                   committed documents, of every node
 * Keys are 32 random hex chars, so paths never come from client input.
 *
 * Durability order of a commit: fsync the .part file, rename it to
 * data/<key> (atomic: a reader sees all of it or nothing), fsync data/.
 * A rename is durable once data/ is fsync'd after it.  Concurrent commits
 * share one directory fsync: a caller waits for a sync that *started*
 * after its rename (generation counters under blob_store.mu, which is
 * held only to read and bump them, never across the fsync itself).
 *
 * Liveness of other nodes: a node holds LOCK_EX on its .lock for as long
 * as it runs; the start-up sweep probes the others with a short LOCK_SH
 * (refused while the owner holds its lock).  A node taking its own lock
 * retries briefly, so such a probe never makes it refuse to start.
 */
#include "blob.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "log.h"

struct blob_store {
  char dir[4096];
  char node_dir[4200]; /* dir/tmp/<node-id> */
  char node_id[BLOB_NODE_ID_MAX + 1];
  int lock_fd; /* flock(LOCK_EX) held on node_dir/.lock */
  pthread_mutex_t mu;
  pthread_cond_t synced;
  uint64_t requested; /* renames that need a directory fsync */
  uint64_t done;      /* renames covered by a completed fsync */
  bool syncing;
};

struct blob_writer {
  blob_store_t *bs;
  int fd;
  int64_t size;
  char key[33];
  char path[4300];
  unsigned char head[1024]; /* first bytes, for format detection (DOCFORMAT_SNIFF_MAX) */
  size_t head_len;
};

struct blob_reader {
  int fd;
  int64_t size;
  void *map; /* blob_reader_map(), or NULL */
};

/* How long blob_store_open() retries a lock held by another process: a
 * probing node holds it for microseconds, a running node for ever. */
#define BLOB_LOCK_RETRY_MS 1000

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

bool blob_node_id_valid(const char *id) {
  size_t n = strlen(id);
  if (n < 1 || n > BLOB_NODE_ID_MAX) return false;
  if (strcmp(id, ".") == 0 || strcmp(id, "..") == 0) return false;
  for (size_t i = 0; i < n; i++) {
    char c = id[i];
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

/* Take the node's lock on node_dir/.lock into bs->lock_fd and write our
 * pid into it (for the operator).  False with a message in err. */
static bool blob_lock_node(blob_store_t *bs, char *err, size_t errlen) {
  char path[4300];
  snprintf(path, sizeof path, "%s/.lock", bs->node_dir);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
    return false;
  }
  int rc;
  for (int waited = 0;; waited += 50) {
    rc = flock(fd, LOCK_EX | LOCK_NB);
    if (rc == 0 || (errno != EWOULDBLOCK && errno != EINTR) || waited >= BLOB_LOCK_RETRY_MS) break;
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  if (rc != 0) {
    int e = errno;
    char pid[32] = "";
    ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
    pid[n > 0 ? n : 0] = '\0';
    pid[strcspn(pid, "\n")] = '\0';
    if (e == EWOULDBLOCK)
      snprintf(err, errlen,
               "node id '%s' is already in use on spool %s (another nimbusd%s%s holds %s); "
               "give each node its own --node-id",
               bs->node_id, bs->dir, pid[0] ? ", pid " : "", pid, path);
    else
      snprintf(err, errlen, "cannot lock %s: %s", path, strerror(e));
    close(fd);
    return false;
  }
  char pid[32];
  int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
  if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len)
    log_event(LOG_WARN, NULL, "cannot write the spool lock file", "path", path, "error",
              strerror(errno), (char *)NULL);
  bs->lock_fd = fd;
  return true;
}

blob_store_t *blob_store_open(const char *dir, const char *node_id, char *err, size_t errlen) {
  if (!blob_node_id_valid(node_id)) {
    snprintf(err, errlen, "invalid node id '%s' (1-%d characters of A-Z a-z 0-9 . _ -)", node_id,
             BLOB_NODE_ID_MAX);
    return NULL;
  }
  if (strlen(dir) >= 4096 - 64) {
    snprintf(err, errlen, "spool path too long");
    return NULL;
  }
  blob_store_t *bs = calloc(1, sizeof *bs);
  if (!bs) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  bs->lock_fd = -1;
  snprintf(bs->dir, sizeof bs->dir, "%s", dir);
  snprintf(bs->node_id, sizeof bs->node_id, "%s", node_id);
  snprintf(bs->node_dir, sizeof bs->node_dir, "%s/tmp/%s", dir, node_id);
  pthread_mutex_init(&bs->mu, NULL);
  pthread_cond_init(&bs->synced, NULL);
  char tmp[4200], data[4200];
  snprintf(tmp, sizeof tmp, "%s/tmp", dir);
  snprintf(data, sizeof data, "%s/data", dir);
  bool ok = blob_mkdir(dir) && blob_mkdir(tmp) && blob_mkdir(data) && blob_mkdir(bs->node_dir);
  for (int k = 0; ok && k < 16; k++) {
    char shard[4300];
    snprintf(shard, sizeof shard, "%s/%x", bs->node_dir, k);
    ok = blob_mkdir(shard);
  }
  if (!ok) {
    snprintf(err, errlen, "cannot create spool %s: %s", dir, strerror(errno));
    blob_store_close(bs);
    return NULL;
  }
  if (!blob_lock_node(bs, err, errlen)) {
    blob_store_close(bs);
    return NULL;
  }
  return bs;
}

void blob_store_close(blob_store_t *bs) {
  if (!bs) return;
  if (bs->lock_fd >= 0) close(bs->lock_fd); /* releases the flock */
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
  snprintf(w->path, sizeof w->path, "%s/%c/%s.part", bs->node_dir, w->key[0], w->key);
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

const unsigned char *blob_writer_head(const blob_writer_t *w, size_t *len) {
  *len = w->head_len;
  return w->head;
}

/* A reader over the open file at path; NULL (errno set) on failure. */
static blob_reader_t *blob_reader_open_path(const char *path) {
  blob_reader_t *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  struct stat st;
  if (r->fd < 0 || fstat(r->fd, &st) != 0) goto fail;
  if (!S_ISREG(st.st_mode)) {
    errno = EINVAL;
    goto fail;
  }
  r->size = (int64_t)st.st_size;
  return r;
fail:;
  int e = errno;
  if (r->fd >= 0) close(r->fd);
  free(r);
  errno = e;
  return NULL;
}

blob_reader_t *blob_writer_reader(blob_writer_t *w) {
  return blob_reader_open_path(w->path);
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

/* Path of committed blob key into out; false (errno EINVAL) if key is
 * malformed. */
static bool blob_data_path(const blob_store_t *bs, const char *key, char *out, size_t outlen) {
  if (!blob_key_valid(key)) {
    errno = EINVAL;
    return false;
  }
  snprintf(out, outlen, "%s/data/%s", bs->dir, key);
  return true;
}

blob_reader_t *blob_reader_open(blob_store_t *bs, const char *key) {
  char path[4300];
  if (!blob_data_path(bs, key, path, sizeof path)) return NULL;
  return blob_reader_open_path(path);
}

int64_t blob_reader_size(const blob_reader_t *r) {
  return r->size;
}

ssize_t blob_reader_read(blob_reader_t *r, int64_t offset, void *buf, size_t len) {
  if (offset < 0) {
    errno = EINVAL;
    return -1;
  }
  if (offset >= r->size) return 0;
  if ((int64_t)len > r->size - offset) len = (size_t)(r->size - offset);
  size_t done = 0;
  while (done < len) {
    ssize_t n = pread(r->fd, (char *)buf + done, len - done, (off_t)(offset + (int64_t)done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) break; /* cannot happen to a committed blob; a .part is not truncated */
    done += (size_t)n;
  }
  return (ssize_t)done;
}

const void *blob_reader_map(blob_reader_t *r) {
  if (r->map) return r->map;
  if (r->size <= 0 || (uint64_t)r->size > SIZE_MAX) {
    errno = r->size <= 0 ? EINVAL : EFBIG;
    return NULL;
  }
  void *m = mmap(NULL, (size_t)r->size, PROT_READ, MAP_PRIVATE, r->fd, 0);
  if (m == MAP_FAILED) return NULL;
  r->map = m;
  return m;
}

void blob_reader_close(blob_reader_t *r) {
  if (!r) return;
  if (r->map) munmap(r->map, (size_t)r->size);
  close(r->fd);
  free(r);
}

bool blob_delete(blob_store_t *bs, const char *key) {
  char path[4300];
  if (!blob_data_path(bs, key, path, sizeof path)) return false;
  return unlink(path) == 0 || errno == ENOENT;
}

bool blob_exists(blob_store_t *bs, const char *key) {
  char path[4300];
  struct stat st;
  return blob_data_path(bs, key, path, sizeof path) && stat(path, &st) == 0 &&
         S_ISREG(st.st_mode);
}

int64_t blob_free_space(blob_store_t *bs) {
  struct statvfs v;
  if (statvfs(bs->dir, &v) != 0) return -1;
  return (int64_t)v.f_bavail * (int64_t)v.f_frsize;
}

/* Is another node running on this spool (holding its .lock)?  A probe
 * takes a shared lock for an instant (see the file header). */
static bool blob_other_node_running(const blob_store_t *bs) {
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s/tmp", bs->dir);
  DIR *d = opendir(tmp);
  if (!d) return true; /* can't tell: assume so (spares blobs) */
  bool running = false;
  struct dirent *e;
  while (!running && (e = readdir(d)) != NULL) {
    if (!blob_node_id_valid(e->d_name) || strcmp(e->d_name, bs->node_id) == 0) continue;
    char path[4400];
    snprintf(path, sizeof path, "%s/%.64s/.lock", tmp, e->d_name);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) continue; /* not a node directory, or never ran */
    if (flock(fd, LOCK_SH | LOCK_NB) != 0) running = true; /* held (or can't tell) */
    close(fd); /* releases the probe's lock */
  }
  closedir(d);
  return running;
}

/* Remove every file in dir (this node's unfinished uploads of a shard). */
static int blob_sweep_partial(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return errno == ENOENT ? 0 : -1;
  int removed = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.' || strlen(e->d_name) > 64) continue; /* not ours */
    char path[4400];
    snprintf(path, sizeof path, "%s/%.64s", dir, e->d_name);
    if (unlink(path) == 0) removed++;
  }
  closedir(d);
  return removed;
}

/* A committed blob younger than this may be waiting for its job row. */
#define BLOB_SWEEP_GRACE_SECONDS 600

/*
 * Remove the committed blobs keep() rejects.  A young one is spared while
 * serving; at start-up it is spared only while another node runs.  The
 * order per blob matters: it was seen first, then no other node is found
 * running (so its writer has inserted its row or never will), and only
 * then keep() is asked.  "Running" once seen is remembered (sparing is
 * always safe).
 */
static int blob_sweep_data(const blob_store_t *bs, bool at_startup, blob_keep_cb keep, void *ctx) {
  char dir[4200];
  snprintf(dir, sizeof dir, "%s/data", bs->dir);
  time_t now = time(NULL);
  DIR *d = opendir(dir);
  if (!d) return errno == ENOENT ? 0 : -1;
  int removed = 0;
  bool others = false;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.' || strlen(e->d_name) > 64) continue; /* not ours */
    char path[4400];
    snprintf(path, sizeof path, "%s/%.64s", dir, e->d_name);
    struct stat sb;
    bool young = stat(path, &sb) == 0 && now - sb.st_mtime < BLOB_SWEEP_GRACE_SECONDS;
    if (young && (!at_startup || others || (others = blob_other_node_running(bs)))) continue;
    if (blob_key_valid(e->d_name) && keep(e->d_name, ctx)) continue;
    if (unlink(path) == 0) removed++;
  }
  closedir(d);
  return removed;
}

int blob_sweep(blob_store_t *bs, bool at_startup, blob_keep_cb keep, void *ctx) {
  int removed = 0;
  for (int k = 0; at_startup && k < 16; k++) {
    char path[4300];
    snprintf(path, sizeof path, "%s/%x", bs->node_dir, k);
    int n = blob_sweep_partial(path);
    if (n < 0) return -1;
    removed += n;
  }
  int n = blob_sweep_data(bs, at_startup, keep, ctx);
  if (n < 0) return -1;
  return removed + n;
}
