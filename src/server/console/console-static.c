/*
 * console-static.c: serves the web console's files (console-static.h,
 * docs/CONSOLE.md §1.2).  Each request opens the file afresh (openat
 * under the console directory with O_NOFOLLOW), so an upgrade in place
 * is served at once; the files are small and the page is loaded once per
 * visit, so there is no cache beyond the browser's (ETag, 304).
 */
#include "console-static.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define CONSOLE_ASSETS "/assets/"
#define CONSOLE_NAME_MAX 128

#define CONSOLE_CSP                                                                       \
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " \
  "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "           \
  "form-action 'self'; frame-ancestors 'none'"

bool console_static_path(const char *path) {
  return strcmp(path, "/") == 0 || strncmp(path, CONSOLE_ASSETS, strlen(CONSOLE_ASSETS)) == 0;
}

bool console_static_name_valid(const char *name) {
  size_t n = strlen(name);
  return n > 0 && n <= CONSOLE_NAME_MAX && name[0] != '.' &&
         strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

const char *console_static_content_type(const char *name) {
  static const struct {
    const char *ext, *type;
  } types[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".webmanifest", "application/manifest+json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
  };
  const char *dot = strrchr(name, '.');
  if (dot)
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
      if (strcmp(dot, types[i].ext) == 0) return types[i].type;
  return "application/octet-stream";
}

/* The headers every console answer carries (docs/CONSOLE.md §1.2). */
static void console_headers(http_request_t *r) {
  http_response_header(r, "Content-Security-Policy", CONSOLE_CSP);
  http_response_header(r, "X-Content-Type-Options", "nosniff");
  http_response_header(r, "Referrer-Policy", "no-referrer");
  http_response_header(r, "X-Frame-Options", "DENY");
  http_response_header(r, "Cache-Control", "no-cache");
}

/* Whether the If-None-Match list holds etag (or is "*"). */
static bool console_etag_matches(const char *inm, const char *etag) {
  if (!inm[0]) return false;
  if (strcmp(inm, "*") == 0) return true;
  size_t elen = strlen(etag);
  const char *p = inm;
  while (*p) {
    while (*p == ' ' || *p == '\t' || *p == ',') p++;
    if (strncmp(p, "W/", 2) == 0) p += 2; /* weak comparison (RFC 9110 §13.1.2) */
    size_t len = strcspn(p, ",");
    size_t t = len;
    while (t > 0 && (p[t - 1] == ' ' || p[t - 1] == '\t')) t--;
    if (t == elen && strncmp(p, etag, elen) == 0) return true;
    p += len;
  }
  return false;
}

/*
 * Read `name` under dir into a malloc'd buffer: no symbolic link (the
 * last component; the name has no '/'), a regular file, at most
 * CONSOLE_FILE_MAX bytes.  Returns 0, or the HTTP status to answer (404,
 * 500); *etag receives a validator from inode, size and mtime.
 */
static int console_read(const char *dir, const char *name, char **data, size_t *len, char *etag,
                        size_t etaglen) {
  char path[PATH_MAX];
  if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) return 404;
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return errno == ENOENT || errno == ELOOP || errno == ENOTDIR ? 404 : 500;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > CONSOLE_FILE_MAX) {
    close(fd);
    return 404;
  }
  size_t size = (size_t)st.st_size;
  char *buf = malloc(size ? size : 1);
  size_t got = 0;
  while (buf && got < size) {
    ssize_t n = read(fd, buf + got, size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break; /* shrank while read: answer what is there */
    got += (size_t)n;
  }
  close(fd);
  if (!buf) return 500;
  snprintf(etag, etaglen, "\"%llx-%llx-%llx%09ld\"", (unsigned long long)st.st_ino,
           (unsigned long long)got, (unsigned long long)st.st_mtim.tv_sec,
           (long)st.st_mtim.tv_nsec);
  *data = buf;
  *len = got;
  return 0;
}

static void console_finish(http_request_t *r) {
  if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
    http_response_header(r, "Allow", "GET, HEAD");
    http_respond_problem(r, 405, "Method Not Allowed", "the web console's files are read-only");
    return;
  }
  const char *dir = r->srv->cfg.console_dir;
  struct stat st;
  if (!dir[0] || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    http_respond_problem(r, 404, "Not Found", "the web console is not installed");
    return;
  }
  const char *name = "index.html";
  if (strcmp(r->path, "/") != 0) {
    name = r->path + strlen(CONSOLE_ASSETS);
    if (!console_static_name_valid(name)) {
      http_respond_problem(r, 404, "Not Found", "no such resource");
      return;
    }
  }
  char *data = NULL;
  size_t len = 0;
  char etag[96];
  int status = console_read(dir, name, &data, &len, etag, sizeof etag);
  if (status == 404 && strcmp(name, "index.html") == 0) {
    http_respond_problem(r, 404, "Not Found", "the web console is not installed");
    return;
  }
  if (status != 0) {
    if (status == 500)
      log_event(LOG_WARN, r->id, "console file unreadable", "file", name, (char *)NULL);
    http_respond_problem(r, status, status == 404 ? "Not Found" : "Internal Server Error",
                         status == 404 ? "no such resource" : "the file cannot be read");
    return;
  }
  console_headers(r);
  http_response_header(r, "ETag", etag);
  if (console_etag_matches(r->if_none_match, etag)) {
    free(data);
    http_respond(r, 304, NULL, NULL, 0);
    return;
  }
  http_respond_owned(r, 200, console_static_content_type(name), data, len);
}

const http_handler_t console_static_handler = {"console", NULL, console_finish, NULL};
