/*
 * errpattern.c: parser and matcher behind errpattern.h.
 */
#include "errpattern.h"

#include <cups/ipp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Case-insensitive substring search (strcasestr is not C11). */
static bool errpattern_contains(const char *hay, const char *needle) {
  size_t n = strlen(needle);
  for (const char *p = hay; *p; p++)
    if (strncasecmp(p, needle, n) == 0) return true;
  return n == 0;
}

/* Parse one IPP status: hex, decimal or keyword; -1 if invalid. */
static int errpattern_ipp_code(const char *s) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 0);
  if (end != s && *end == '\0' && !errno) return (v >= 0 && v <= 0xffff) ? (int)v : -1;
  ipp_status_t st = ippErrorValue(s);
  /* ippErrorValue() answers successful-ok (0) for unknown words too */
  if (st == IPP_STATUS_OK && strcasecmp(s, "successful-ok") != 0) return -1;
  return (int)st;
}

bool errpattern_parse(const char *spec, const char *message, errpattern_t *out, char *err,
                      size_t errlen) {
  memset(out, 0, sizeof *out);
  if (message && strlen(message) >= sizeof out->message) {
    snprintf(err, errlen, "error-message is too long");
    return false;
  }
  snprintf(out->message, sizeof out->message, "%s", message ? message : "");

  char buf[512];
  if (!spec || strlen(spec) >= sizeof buf) {
    snprintf(err, errlen, "error-pattern is missing or too long");
    return false;
  }
  memcpy(buf, spec, strlen(spec) + 1);
  char *save = NULL;
  for (char *tok = strtok_r(buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
    if (strncasecmp(tok, "ipp:", 4) == 0) {
      int code = errpattern_ipp_code(tok + 4);
      if (code < 0 || out->nipp == ERRPATTERN_MAX) {
        snprintf(err, errlen, "error-pattern: bad or too many IPP entries at '%s'", tok);
        return false;
      }
      out->ipp[out->nipp++] = code;
    } else if (strncasecmp(tok, "http:", 5) == 0) {
      char *end;
      errno = 0;
      long v = strtol(tok + 5, &end, 10);
      if (end == tok + 5 || *end || errno || v < 100 || v > 599 || out->nhttp == ERRPATTERN_MAX) {
        snprintf(err, errlen, "error-pattern: bad or too many HTTP entries at '%s'", tok);
        return false;
      }
      out->http[out->nhttp++] = (int)v;
    } else {
      snprintf(err, errlen, "error-pattern: '%s' is neither ipp:CODE nor http:STATUS", tok);
      return false;
    }
  }
  if (out->nipp + out->nhttp == 0) {
    snprintf(err, errlen, "error-pattern is empty");
    return false;
  }
  return true;
}

bool errpattern_match(const errpattern_t *p, int http_status, int ipp_status,
                      const char *status_message) {
  if (http_status <= 0) return false;
  for (size_t i = 0; i < p->nhttp; i++)
    if (p->http[i] == http_status) return true;
  if (http_status != 200) return false;
  for (size_t i = 0; i < p->nipp; i++) {
    if (p->ipp[i] != ipp_status) continue;
    if (!p->message[0]) return true;
    return status_message && errpattern_contains(status_message, p->message);
  }
  return false;
}
