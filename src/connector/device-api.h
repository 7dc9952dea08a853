/*
 * device-api.h: the connector's calls to nimbusd's device-authenticated
 * REST API (/api/v1/device/..., docs/PROTOCOL.md 7.2) with libcurl and
 * jansson: the device credential as "Authorization: Bearer", a user's
 * panel session as "X-Nimbus-Session".  Blocking; called from the panel's
 * per-connection threads only.
 */
#ifndef NIMBUS_CONNECTOR_DEVICE_API_H
#define NIMBUS_CONNECTOR_DEVICE_API_H

#include <jansson.h>
#include <stdbool.h>

struct connector_s;

#define DEVICE_API_BODY_MAX (1024 * 1024) /* largest answer read */
#define DEVICE_API_TIMEOUT 20             /* seconds per call */

typedef struct {
  long status;     /* HTTP status; 0: no answer (see error) */
  json_t *body;    /* the JSON answer, or NULL */
  char error[256]; /* transport failure, or the problem document's detail/title */
} device_api_answer_t;

/* Once, before any thread calls device_api_call(). */
bool device_api_init(void);
void device_api_cleanup(void);
/*
 * METHOD path (below /api/v1) with an optional JSON body (not stolen) and
 * the user's session token (NULL: none).  False when nothing was sent or
 * no answer came (traffic stopped, not registered, transport failure):
 * ans->status is then 0.  Free ans with device_api_answer_free().
 */
bool device_api_call(struct connector_s *c, const char *method, const char *path,
                     const char *session, json_t *body, device_api_answer_t *ans);
void device_api_answer_free(device_api_answer_t *ans);
/* The cloud service's base URL as the device API calls reach it
 * ("http://host:port", without /api/v1 and without a trailing slash:
 * ipp:// becomes http://, ipps:// https://) into out; false when the
 * printer is not registered or it does not fit. */
bool device_api_base_url(struct connector_s *c, char *out, size_t outlen);

#endif
