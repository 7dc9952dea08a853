/*
 * httpframing.c: RFC 9112 section 6 framing checks (httpframing.h).
 */
#include "httpframing.h"

#include <string.h>
#include <strings.h>

/* Add the elements of one comma-separated Content-Length (is_length) or
 * Transfer-Encoding value to f. */
static void http_framing_add(http_framing_t *f, bool is_length, const char *value) {
  const char *p = value;
  bool any = false;

  for (;;) {
    p += strspn(p, " \t,");
    if (!*p) break;
    size_t n = strcspn(p, ",");
    size_t len = n;
    while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t')) len--;
    any = true;
    if (is_length) {
      if (len >= sizeof f->content_length || strspn(p, "0123456789") < len) {
        f->lengths_differ = true;
      } else if (f->content_lengths++ == 0) {
        memcpy(f->content_length, p, len);
        f->content_length[len] = '\0';
      } else if (strlen(f->content_length) != len || memcmp(f->content_length, p, len) != 0) {
        f->lengths_differ = true;
      }
    } else if (len == 7 && strncasecmp(p, "chunked", 7) == 0) {
      f->chunked++;
    } else {
      if (f->chunked) f->chunked_not_last = true;
      f->other_coding = true;
    }
    p += n;
  }
  if (!any) {
    if (is_length)
      f->lengths_differ = true;
    else
      f->chunked_not_last = true;
  }
}

void http_framing_header(http_framing_t *f, const char *name, const char *value) {
  if (!name) return;
  if (strcasecmp(name, "Content-Length") == 0) {
    http_framing_add(f, true, value ? value : "");
  } else if (strcasecmp(name, "Transfer-Encoding") == 0) {
    f->te_headers++;
    http_framing_add(f, false, value ? value : "");
  }
}

int http_framing_verdict(const http_framing_t *f, bool http10, const char **detail) {
  if (f->lengths_differ) {
    *detail = "conflicting or invalid Content-Length headers";
    return 400;
  }
  if (f->te_headers == 0) return 0;
  if (f->content_lengths > 0) {
    *detail = "Content-Length and Transfer-Encoding in one request";
    return 400;
  }
  if (http10) {
    *detail = "Transfer-Encoding in an HTTP/1.0 request";
    return 400;
  }
  if (f->other_coding) {
    *detail = "only the chunked transfer coding is supported";
    return 501;
  }
  if (f->chunked != 1 || f->chunked_not_last) {
    *detail = "chunked must be the last transfer coding, applied once";
    return 400;
  }
  return 0;
}
