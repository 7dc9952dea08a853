/*
 * provision-download.c: a package download (PROVISIONING.md §8.3).  The
 * bytes stream to DIR/pkg-<id>.part, each write fed to a libsodium
 * SHA-256 state, so a package is never whole in memory.  After a restart
 * the part already on disk is hashed again and the rest asked for with
 * "Range: bytes=N-" (a server that answers 200 instead starts it over).
 * The digest is compared before the rename to DIR/pkg-<id>; a mismatch
 * deletes the file.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "provision.h"

void pdl_path(const char *dir, int64_t id, bool part, char *out, size_t outlen) {
  snprintf(out, outlen, "%s/pkg-%lld%s", dir, (long long)id, part ? ".part" : "");
}

void pdl_remove(const char *dir, int64_t id) {
  char path[4200];
  pdl_path(dir, id, true, path, sizeof path);
  unlink(path);
  pdl_path(dir, id, false, path, sizeof path);
  unlink(path);
}

static void pdl_hex(const unsigned char *d, char out[65]) {
  sodium_bin2hex(out, 65, d, crypto_hash_sha256_BYTES);
}

/* Feed the first `len` bytes of fd (from its start) to h; false on a read error. */
static bool pdl_hash_fd(int fd, off_t len, crypto_hash_sha256_state *h) {
  unsigned char buf[65536];
  off_t done = 0;
  if (lseek(fd, 0, SEEK_SET) < 0) return false;
  while (done < len) {
    size_t want = (size_t)(len - done < (off_t)sizeof buf ? len - done : (off_t)sizeof buf);
    ssize_t n = read(fd, buf, want);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    crypto_hash_sha256_update(h, buf, (unsigned long long)n);
    done += n;
  }
  return true;
}

bool pdl_hash_file(const char *path, char out[65]) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat sb;
  crypto_hash_sha256_state h;
  crypto_hash_sha256_init(&h);
  bool ok = fstat(fd, &sb) == 0 && pdl_hash_fd(fd, sb.st_size, &h);
  close(fd);
  if (!ok) return false;
  unsigned char d[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&h, d);
  pdl_hex(d, out);
  return true;
}

typedef struct {
  int fd;
  crypto_hash_sha256_state *h;
  int64_t written, limit; /* limit: the expected size (-1: unknown) */
  bool write_error, too_big;
  const atomic_bool *stop;
  int64_t max_rate, start_at; /* bytes/s (0: none); where this transfer began */
  struct timespec t0;
} pdl_sink_t;

/* Hold the write callback back until this transfer's average rate is at
 * most max_rate (libcurl's own limit lets a small file through in one burst). */
static void pdl_throttle(pdl_sink_t *s) {
  if (s->max_rate <= 0) return;
  for (;;) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double elapsed =
        (double)(now.tv_sec - s->t0.tv_sec) + (double)(now.tv_nsec - s->t0.tv_nsec) / 1e9;
    double due = (double)(s->written - s->start_at) / (double)s->max_rate;
    if (due <= elapsed || (s->stop && atomic_load(s->stop))) return;
    double wait = due - elapsed > 0.2 ? 0.2 : due - elapsed;
    struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
    nanosleep(&ts, NULL);
  }
}

static size_t pdl_write(char *data, size_t size, size_t n, void *ctx) {
  pdl_sink_t *s = ctx;
  size_t len = size * n;
  if (s->limit >= 0 && s->written + (int64_t)len > s->limit) {
    s->too_big = true;
    return 0;
  }
  if (!fs_write_all(s->fd, data, len)) {
    s->write_error = true;
    return 0;
  }
  crypto_hash_sha256_update(s->h, (const unsigned char *)data, len);
  s->written += (int64_t)len;
  pdl_throttle(s);
  return len;
}

/* libcurl's progress callback: a non-zero answer aborts (we are stopping). */
static int pdl_progress(void *ctx, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d) {
  (void)a, (void)b, (void)c, (void)d;
  const atomic_bool *stop = ctx;
  return stop && atomic_load(stop);
}

/* One transfer from offset `from` (0: the whole file) appended to fd. */
static CURLcode pdl_transfer(const char *url, const char *auth, const char *protocols, int fd,
                             int64_t from, int64_t limit, int64_t max_rate,
                             crypto_hash_sha256_state *h, const atomic_bool *stop, long *status,
                             pdl_sink_t *sink) {
  CURL *curl = curl_easy_init();
  if (!curl) return CURLE_OUT_OF_MEMORY;
  struct curl_slist *hdrs = NULL;
  if (auth) hdrs = curl_slist_append(hdrs, auth);
  memset(sink, 0, sizeof *sink);
  sink->fd = fd;
  sink->h = h;
  sink->written = from;
  sink->limit = limit;
  sink->stop = stop;
  sink->max_rate = max_rate;
  sink->start_at = from;
  clock_gettime(CLOCK_MONOTONIC, &sink->t0);
  curl_easy_setopt(curl, CURLOPT_URL, url);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, pdl_write);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, sink);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
  /* no total limit (a large package on a slow line), but a stalled one ends */
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, protocols);
  curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, pdl_progress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, (void *)stop);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  if (max_rate > 0) curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, 16384L);
  if (from > 0) curl_easy_setopt(curl, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)from);
  CURLcode rc = curl_easy_perform(curl);
  *status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
  curl_slist_free_all(hdrs);
  curl_easy_cleanup(curl);
  return rc;
}

bool pdl_fetch(const char *url, const char *auth, const char *protocols, const char *dir,
               int64_t id, int64_t size, const char *sha256_hex, int64_t max_rate,
               const atomic_bool *stop, bool *mismatch, char *err, size_t errlen) {
  char part[4200], done[4200], have[65];
  *mismatch = false;
  pdl_path(dir, id, true, part, sizeof part);
  pdl_path(dir, id, false, done, sizeof done);
  if (pdl_hash_file(done, have) && !strcmp(have, sha256_hex)) return true; /* already here */
  unlink(done);

  int fd = open(part, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    snprintf(err, errlen, "cannot write the package: %s", strerror(errno));
    return false;
  }
  crypto_hash_sha256_state h;
  crypto_hash_sha256_init(&h);
  struct stat sb;
  off_t from = fstat(fd, &sb) == 0 ? sb.st_size : 0;
  if (size >= 0 && from > size) from = 0; /* longer than the package: start over */
  if (from > 0 && !pdl_hash_fd(fd, from, &h)) from = 0;
  if (from == 0) crypto_hash_sha256_init(&h);
  bool ok = false;
  for (int round = 0; round < 2; round++) {
    if (ftruncate(fd, from) != 0 || lseek(fd, from, SEEK_SET) < 0) {
      snprintf(err, errlen, "cannot write the package: %s", strerror(errno));
      break;
    }
    long status = 0;
    pdl_sink_t sink;
    CURLcode rc = (from == size && size > 0)
                      ? CURLE_OK /* every byte already here: nothing to ask for */
                      : pdl_transfer(url, auth, protocols, fd, from, size, max_rate, &h, stop,
                                     &status, &sink);
    if (rc == CURLE_RANGE_ERROR && from > 0) { /* the server cannot resume: from the start */
      from = 0;
      crypto_hash_sha256_init(&h);
      continue;
    }
    if (rc != CURLE_OK) {
      snprintf(err, errlen, "download failed: %s%s",
               rc == CURLE_WRITE_ERROR && sink.too_big       ? "larger than announced"
               : rc == CURLE_WRITE_ERROR && sink.write_error ? "cannot write to disk"
                                                             : curl_easy_strerror(rc),
               rc == CURLE_HTTP_RETURNED_ERROR ? " (HTTP error)" : "");
      break;
    }
    ok = true;
    break;
  }
  if (ok && fsync(fd) != 0) {
    snprintf(err, errlen, "cannot write the package: %s", strerror(errno));
    ok = false;
  }
  close(fd);
  if (!ok) return false; /* the part stays: the next try resumes */

  unsigned char d[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&h, d);
  pdl_hex(d, have);
  if (strcmp(have, sha256_hex) != 0) {
    unlink(part);
    fs_sync_dir(dir);
    *mismatch = true;
    snprintf(err, errlen, "checksum mismatch");
    return false;
  }
  if (rename(part, done) != 0 || !fs_sync_dir(dir)) {
    snprintf(err, errlen, "cannot keep the package: %s", strerror(errno));
    return false;
  }
  return true;
}
