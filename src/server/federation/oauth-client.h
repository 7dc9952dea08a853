/*
 * oauth-client.h: nimbusd as an OAuth 2.0 device-grant client (RFC 8628)
 * of another print service (docs/FEDERATION.md §2.2): the authorization
 * server's metadata (RFC 8414), the device authorization request, the
 * token poll, and GET /api/v1/whoami with the token.  Synchronous HTTP
 * (libcurl, 10 s timeout), for worker threads only.  No token, device
 * code or Authorization header is ever logged or put in a message.
 */
#ifndef NIMBUS_OAUTH_CLIENT_H
#define NIMBUS_OAUTH_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#define OAC_URL_MAX 512
#define OAC_SECRET_MAX 256 /* device codes and access tokens */
#define OAC_MSG_MAX 256

typedef enum {
  OAC_OK = 0,
  OAC_PENDING,     /* authorization_pending */
  OAC_SLOW_DOWN,   /* slow_down: the interval grows by 5 s */
  OAC_DENIED,      /* access_denied */
  OAC_EXPIRED,     /* expired_token */
  OAC_REFUSED,     /* 401/403 (whoami), or another OAuth error (invalid_grant, ...) */
  OAC_UNAVAILABLE, /* no answer, timeout, 5xx: try again later */
  OAC_INVALID      /* an answer we cannot read */
} oac_result_t;

typedef struct {
  char device_authorization_endpoint[OAC_URL_MAX];
  char token_endpoint[OAC_URL_MAX];
} oac_metadata_t;

typedef struct {
  char device_code[OAC_SECRET_MAX];
  char user_code[32];
  char verification_uri[OAC_URL_MAX];
  char verification_uri_complete[OAC_URL_MAX]; /* "" when the server gave none */
  int expires_in;
  int interval;
} oac_grant_t;

/* Is s a service URL we accept: http(s)://host[:port][/path], no user
 * info, query or fragment, at most OAC_URL_MAX - 64 bytes?  The
 * canonical form (no trailing '/') into out. */
bool oac_service_url_valid(const char *s, char *out, size_t outlen);
/* The host of url (without port or brackets) into out; false if none. */
bool oac_url_host(const char *url, char *out, size_t outlen);

/* The remote's metadata: <service_url>/.well-known/oauth-authorization-server,
 * then .../openid-configuration; neither: <service_url>/oauth/device_authorization
 * and <service_url>/oauth/token (OAC_OK in every case but a network failure). */
oac_result_t oac_discover(const char *service_url, oac_metadata_t *out, char *msg, size_t msglen);
/* POST the device authorization request (client_id, scope federation). */
oac_result_t oac_device_authorize(const char *endpoint, const char *client_id, oac_grant_t *out,
                                  char *msg, size_t msglen);
/* One token poll: OAC_OK with the access token in token. */
oac_result_t oac_token_poll(const char *endpoint, const char *device_code, const char *client_id,
                            char *token, size_t tokenlen, char *msg, size_t msglen);
/* GET <service_url>/api/v1/whoami with the token: OAC_OK with its
 * `user`; OAC_REFUSED on 401/403. */
oac_result_t oac_whoami(const char *service_url, const char *token, char *user, size_t userlen,
                        char *msg, size_t msglen);
/* The per-call timeout in seconds (tests: smaller). */
void oac_set_timeout(int seconds);

#endif
