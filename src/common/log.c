/*
 * log.c: logfmt writer.  Each line is assembled in a bounded stack buffer
 * and written with one write(2) so lines from several threads never
 * interleave.  Over-long values are truncated with "..." rather than split.
 */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 4096

static atomic_int log_min_level = LOG_INFO;

static const char *const log_level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(log_level_t level) {
  atomic_store(&log_min_level, (int)level);
}

bool log_level_parse(const char *s, log_level_t *out) {
  for (int i = 0; i < 4; i++) {
    if (strcmp(s, log_level_names[i]) == 0) {
      *out = (log_level_t)i;
      return true;
    }
  }
  return false;
}

const char *log_int_str(char *buf, long long v) {
  snprintf(buf, 24, "%lld", v);
  return buf;
}

/* Append text to line at *len, never past LOG_LINE_MAX - 2 (room for "\n"). */
static void log_append(char *line, size_t *len, const char *s, size_t n) {
  size_t room = LOG_LINE_MAX - 2 - *len;
  if (n > room) n = room;
  memcpy(line + *len, s, n);
  *len += n;
}

/* Append a value, quoted when it has spaces, quotes, '=' or controls. */
static void log_append_value(char *line, size_t *len, const char *v) {
  if (!v) v = "";
  bool quote = (*v == '\0');
  for (const char *p = v; *p && !quote; p++)
    if (*p == ' ' || *p == '"' || *p == '=' || *p == '\\' || (unsigned char)*p < 0x20) quote = true;
  if (!quote) {
    log_append(line, len, v, strlen(v));
    return;
  }
  log_append(line, len, "\"", 1);
  size_t budget = 512; /* a single value never takes the whole line */
  for (const char *p = v; *p; p++) {
    if (budget-- == 0) {
      log_append(line, len, "...", 3);
      break;
    }
    char esc[8];
    unsigned char c = (unsigned char)*p;
    if (c == '"' || c == '\\') {
      esc[0] = '\\';
      esc[1] = (char)c;
      log_append(line, len, esc, 2);
    } else if (c == '\n') {
      log_append(line, len, "\\n", 2);
    } else if (c < 0x20 || c == 0x7f) {
      snprintf(esc, sizeof esc, "\\x%02x", c);
      log_append(line, len, esc, 4);
    } else {
      log_append(line, len, (const char *)p, 1);
    }
  }
  log_append(line, len, "\"", 1);
}

void log_event(log_level_t level, const char *req_id, const char *msg, ...) {
  if ((int)level < atomic_load(&log_min_level)) return;

  char line[LOG_LINE_MAX];
  size_t len = 0;
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  char stamp[64];
  size_t n = strftime(stamp, sizeof stamp, "ts=%Y-%m-%dT%H:%M:%S", &tm);
  n += (size_t)snprintf(stamp + n, sizeof stamp - n, ".%03ldZ level=", ts.tv_nsec / 1000000);
  log_append(line, &len, stamp, n);
  log_append(line, &len, log_level_names[level], strlen(log_level_names[level]));
  if (req_id) {
    log_append(line, &len, " req=", 5);
    log_append_value(line, &len, req_id);
  }
  log_append(line, &len, " msg=", 5);
  log_append_value(line, &len, msg);

  va_list ap;
  va_start(ap, msg);
  const char *key;
  while ((key = va_arg(ap, const char *)) != NULL) {
    const char *value = va_arg(ap, const char *);
    if (!value) continue; /* absent: no key at all */
    log_append(line, &len, " ", 1);
    log_append(line, &len, key, strlen(key));
    log_append(line, &len, "=", 1);
    log_append_value(line, &len, value);
  }
  va_end(ap);
  line[len++] = '\n';
  ssize_t w = write(STDERR_FILENO, line, len);
  (void)w;
}
