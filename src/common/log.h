/*
 * log.h: structured logging in logfmt (key=value), one line per event, to
 * stderr.  Values are quoted and escaped here, so callers never format
 * untrusted text into a line themselves.  Secrets must never be passed.
 *
 *   log_event(LOG_INFO, req_id, "job accepted",
 *             "tenant", tenant, "job", LOG_INT(id), (char *)NULL);
 */
#ifndef NIMBUS_LOG_H
#define NIMBUS_LOG_H

#include <stdbool.h>

typedef enum { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR } log_level_t;

/* Set the minimum level written (default LOG_INFO). Thread-safe. */
void log_set_level(log_level_t level);
/* Parse "debug", "info", "warn", "error"; false if unknown. */
bool log_level_parse(const char *s, log_level_t *out);
/* Write one line: ts, level, req (when not NULL), msg, then key/value
 * pairs ending with a NULL key.  A pair whose value is NULL is left out. */
void log_event(log_level_t level, const char *req_id, const char *msg, ...);

/* Format an integer into a temporary buffer that lives until the end of
 * the enclosing block (compound literal). */
const char *log_int_str(char *buf, long long v);
#define LOG_INT(v) log_int_str((char[24]){0}, (long long)(v))

#endif
