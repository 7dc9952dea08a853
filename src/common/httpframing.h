/*
 * httpframing.h: is a request's body length knowable?  RFC 9112 section 6
 * checks shared by every libmicrohttpd front (nimbusd, the connector's IPP
 * listener and panel), made on the first call of the access handler,
 * before any body byte is read.  libmicrohttpd 0.9.75 looks at the first
 * Content-Length and Transfer-Encoding line only: it serves a request with
 * both, takes the first of two different lengths, and waits for the end of
 * a body in a coding it cannot decode (gzip) without ever answering.
 *
 * Verdicts (the answer must close the connection, since where the next
 * request starts is unknown):
 *   400  Content-Length together with Transfer-Encoding; Content-Length
 *        values that differ or are not digits; chunked applied twice, or
 *        not the last coding; Transfer-Encoding in an HTTP/1.0 request
 *   501  any transfer coding other than chunked (gzip, deflate, identity)
 */
#ifndef NIMBUS_HTTPFRAMING_H
#define NIMBUS_HTTPFRAMING_H

#include <stdbool.h>

/* What the framing headers say, gathered over every header line. */
typedef struct {
  int content_lengths;     /* Content-Length values seen */
  char content_length[24]; /* the first one */
  bool lengths_differ;     /* a later value differs, or one is not digits */
  int te_headers;          /* Transfer-Encoding lines */
  int chunked;             /* "chunked" codings seen */
  bool other_coding;       /* a coding other than chunked */
  bool chunked_not_last;   /* a coding follows chunked, or an empty list */
} http_framing_t;

/* Feed one request header line (any header; others are ignored). */
void http_framing_header(http_framing_t *f, const char *name, const char *value);

/* 0 when the framing is sound, else 400 or 501 with a short reason (static
 * text) in *detail.  http10: the request line says HTTP/1.0. */
int http_framing_verdict(const http_framing_t *f, bool http10, const char **detail);

#ifdef MHD_VERSION
#include <string.h>

static inline enum MHD_Result http_framing_mhd_iter(void *cls, enum MHD_ValueKind kind,
                                                    const char *key, const char *value) {
  (void)kind;
  http_framing_header(cls, key, value);
  return MHD_YES;
}

/* The verdict for a libmicrohttpd connection whose headers are in. */
static inline int http_framing_check_mhd(struct MHD_Connection *c, const char *version,
                                         const char **detail) {
  http_framing_t f = {0};
  MHD_get_connection_values(c, MHD_HEADER_KIND, http_framing_mhd_iter, &f);
  return http_framing_verdict(&f, version && strcmp(version, MHD_HTTP_VERSION_1_0) == 0, detail);
}

/* For fronts answering in plain text: when the framing is unsound, queue
 * "status reason" with Connection: close, set *ret and return true. */
static inline bool http_framing_refused_mhd(struct MHD_Connection *c, const char *version,
                                            enum MHD_Result *ret) {
  const char *detail = NULL;
  int status = http_framing_check_mhd(c, version, &detail);
  if (!status) return false;
  struct MHD_Response *resp =
      MHD_create_response_from_buffer(strlen(detail), (void *)detail, MHD_RESPMEM_PERSISTENT);
  *ret = MHD_NO;
  if (resp) {
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    *ret = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
  }
  return true;
}
#endif

#endif
