/*
 * panel-private.h: what panel.c shares with the release screens
 * (panel-release.c): the bounded page builder with its escaping printer,
 * the form parser and the response helper.
 */
#ifndef NIMBUS_CONNECTOR_PANEL_PRIVATE_H
#define NIMBUS_CONNECTOR_PANEL_PRIVATE_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

#include "connector.h"

#define PANEL_BODY_MAX 2048  /* a form body */
#define PANEL_PAGE_MAX 65536 /* a page */

/* A bounded string builder for a page. */
typedef struct {
  char *buf;
  size_t len, cap;
} panel_buf_t;

/* Per-request state: the bounded form body. */
typedef struct {
  char body[PANEL_BODY_MAX + 1];
  size_t len;
  bool too_big;
} panel_req_t;

/* Append trusted markup. */
void panel_raw(panel_buf_t *b, const char *s);
/* Append text with &, <, >, " and ' escaped. */
void panel_html(panel_buf_t *b, const char *s);
/* The security headers of every panel answer: Content-Security-Policy
 * (PANEL_CSP), nosniff, Referrer-Policy, no framing, no caching. */
#define PANEL_CSP                                                              \
  "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; " \
  "frame-ancestors 'none'; base-uri 'none'"
void panel_security_headers(struct MHD_Response *r);
/* Queue text (freed; NULL: 500) with the security headers. */
enum MHD_Result panel_send(struct MHD_Connection *conn, unsigned status, const char *type,
                           char *text);
/* The first value of field name in an urlencoded body, decoded into out. */
bool panel_form_field(const char *body, const char *name, char *out, size_t outlen);

/* An error page in the panel's style (data-screen="error", #message,
 * links back to the start and to the status page): 4xx, 5xx. */
enum MHD_Result panel_error(struct MHD_Connection *conn, unsigned status, const char *msg);
/* "2026-05-01T10:20:30Z" (UTC) as this printer's local time with its zone,
 * "2026-05-01 12:20 CEST"; "" stays "". */
void panel_time_local(const char *iso, char *out, size_t len);
/* The head of a page in the panel's style up to <body data-screen=screen>
 * and its <h1>; refresh_s > 0: go to refresh_url after that many seconds. */
void panel_head(panel_buf_t *b, const char *screen, const char *title, int refresh_s,
                const char *refresh_url);

/* panel-release.c: the release screens and the users' sessions */
typedef struct panel_release panel_release_t;
panel_release_t *panel_release_open(connector_t *c);
/* Log out every session (at nimbusd too) and free. */
void panel_release_close(panel_release_t *rel);
/* The release screens' stylesheet (served as /release/panel.css: the
 * CSP allows no inline style). */
extern const char panel_release_css[];
enum MHD_Result panel_release_get(panel_release_t *rel, struct MHD_Connection *conn,
                                  const char *url);
enum MHD_Result panel_release_post(panel_release_t *rel, struct MHD_Connection *conn,
                                   const char *url, panel_req_t *pr);

#endif
