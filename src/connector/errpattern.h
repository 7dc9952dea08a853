/*
 * errpattern.h: the "deregistration" error pattern.  A response that
 * matches it means the server has deleted this device's registration.
 *
 * Spec: a comma-separated list of "ipp:CODE" (hex 0x0407, decimal, or an
 * IPP status keyword such as client-error-gone) and "http:STATUS" entries,
 * plus an optional message: when set, an IPP entry only matches if the
 * response's status-message contains it (case-insensitive).  HTTP entries
 * match on the status alone.  Transient answers are never a match unless
 * the user lists them explicitly.
 */
#ifndef NIMBUS_CONNECTOR_ERRPATTERN_H
#define NIMBUS_CONNECTOR_ERRPATTERN_H

#include <stdbool.h>
#include <stddef.h>

#define ERRPATTERN_MAX 16
#define ERRPATTERN_DEFAULT "ipp:0x0407,http:410"
#define ERRPATTERN_DEFAULT_MESSAGE "output device registration deleted"

typedef struct {
  int ipp[ERRPATTERN_MAX];
  size_t nipp;
  int http[ERRPATTERN_MAX];
  size_t nhttp;
  char message[256];
} errpattern_t;

/* Parse spec and message into *out; false with a message in err. */
bool errpattern_parse(const char *spec, const char *message, errpattern_t *out, char *err,
                      size_t errlen);

/*
 * Does a response match?  http_status is the HTTP status (0 when no HTTP
 * answer arrived: never a match), ipp_status the IPP status code (only
 * looked at when http_status is 200) and status_message may be NULL.
 */
bool errpattern_match(const errpattern_t *p, int http_status, int ipp_status,
                      const char *status_message);

#endif
