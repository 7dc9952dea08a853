/*
 * oauth-http.h: the OAuth endpoints of nimbusd as a device authorization
 * server (docs/FEDERATION.md §2.1, docs/PROTOCOL.md §4.12), outside
 * /api/v1 because RFC 8414 and RFC 8628 name them:
 *   GET  /.well-known/oauth-authorization-server  RFC 8414 metadata
 *   POST /oauth/device_authorization              RFC 8628 §3.1-3.2
 *   POST /oauth/token                             RFC 8628 §3.4-3.5
 *   GET  /device[?user_code=X]                    303 to the console's #/device page
 * Requests are application/x-www-form-urlencoded (at most
 * OAUTH_FORM_MAX bytes); answers are JSON with Cache-Control: no-store,
 * errors {"error","error_description"} (RFC 6749 §5.2).
 */
#ifndef NIMBUS_OAUTH_HTTP_H
#define NIMBUS_OAUTH_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "http.h"

#define OAUTH_FORM_MAX 4096 /* bytes of a form body */
#define OAUTH_FORM_FIELDS 8 /* parameters of a form body */

/* The handler routes.c gives the paths above to. */
extern const http_handler_t oauth_http_handler;

/* Whether path is one of the paths above. */
bool oauth_http_path(const char *path);

/* An application/x-www-form-urlencoded body, decoded (RFC 6749 Appendix
 * B): '+' is a space, %XX a byte; names and values must be valid, without
 * control characters, each name at most once.  Owned copies. */
typedef struct {
  int n;
  char *name[OAUTH_FORM_FIELDS];
  char *value[OAUTH_FORM_FIELDS];
} oauth_form_t;

/* Parse body (len bytes); false on malformed encoding, a control
 * character, a repeated name or more than OAUTH_FORM_FIELDS fields (the
 * form is freed then).  Free with oauth_form_free. */
bool oauth_form_parse(const char *body, size_t len, oauth_form_t *f);
/* The value of name, or NULL. */
const char *oauth_form_get(const oauth_form_t *f, const char *name);
/* Wipe and free the form's strings. */
void oauth_form_free(oauth_form_t *f);

#endif
