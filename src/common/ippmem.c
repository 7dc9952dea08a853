/*
 * ippmem.c: libcups' IPP codec over memory buffers (see ippmem.h).
 */
#include "ippmem.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
  const unsigned char *buf;
  size_t len, pos;
  bool hit_end; /* the decoder wanted more than there is */
} ippmem_reader_t;

static ssize_t ippmem_read(void *src, ipp_uchar_t *buf, size_t n) {
  ippmem_reader_t *rd = src;
  size_t avail = rd->len - rd->pos;
  if (n > avail) {
    rd->hit_end = true;
    n = avail;
  }
  memcpy(buf, rd->buf + rd->pos, n);
  rd->pos += n;
  return (ssize_t)n;
}

int ippmem_decode(const void *buf, size_t len, ipp_t **out, size_t *used) {
  ippmem_reader_t rd = {buf, len, 0, false};
  ipp_t *ipp = ippNew();
  *out = NULL;
  if (!ipp) return -1;
  if (ippReadIO(&rd, ippmem_read, 1, NULL, ipp) == IPP_STATE_DATA) {
    *out = ipp;
    if (used) *used = rd.pos;
    return 1;
  }
  ippDelete(ipp);
  return rd.hit_end ? 0 : -1;
}

typedef struct {
  unsigned char *buf;
  size_t len, cap;
} ippmem_writer_t;

static ssize_t ippmem_write(void *dst, ipp_uchar_t *data, size_t n) {
  ippmem_writer_t *w = dst;
  if (w->len + n > w->cap) return -1;
  memcpy(w->buf + w->len, data, n);
  w->len += n;
  return (ssize_t)n;
}

/* Where a group goes in a message (RFC 8011 4.1.3): operation attributes
 * first, then unsupported attributes, then the rest (printer, job,
 * subscription, event notification, document groups) in their order. */
static int ippmem_group_rank(ipp_tag_t group) {
  if (group == IPP_TAG_OPERATION) return 0;
  if (group == IPP_TAG_UNSUPPORTED_GROUP) return 1;
  return 2;
}

bool ippmem_groups_ordered(ipp_t *ipp) {
  int highest = 0;
  for (ipp_attribute_t *a = ippFirstAttribute(ipp); a; a = ippNextAttribute(ipp)) {
    ipp_tag_t group = ippGetGroupTag(a);
    if (group == IPP_TAG_ZERO) continue; /* a separator between two groups */
    int rank = ippmem_group_rank(group);
    if (rank < highest) return false;
    highest = rank;
  }
  return true;
}

/* A copy of ipp with its attributes in group order (stable within each
 * rank; separators kept among the later groups); NULL on failure. */
static ipp_t *ippmem_reordered(ipp_t *ipp) {
  ipp_t *out = ippNew();
  if (!out) return NULL;
  int minor, major = ippGetVersion(ipp, &minor);
  ippSetVersion(out, major, minor);
  ippSetRequestId(out, ippGetRequestId(ipp));
  ippSetStatusCode(out, ippGetStatusCode(ipp)); /* the same field as the operation */
  for (int rank = 0; rank <= 2; rank++) {
    for (ipp_attribute_t *a = ippFirstAttribute(ipp); a; a = ippNextAttribute(ipp)) {
      ipp_tag_t group = ippGetGroupTag(a);
      bool separator = group == IPP_TAG_ZERO;
      if (separator ? rank != 2 : ippmem_group_rank(group) != rank) continue;
      if (!ippCopyAttribute(out, a, 0)) {
        ippDelete(out);
        return NULL;
      }
    }
  }
  return out;
}

unsigned char *ippmem_encode(ipp_t *ipp, size_t *len) {
  /* The one place every IPP message of nimbusd and the connector is
   * encoded: a response built with an attribute added to an earlier group
   * after a later one (status-message after the unsupported attributes)
   * would otherwise go out as a second operation group, which clients
   * refuse ("Unable to read response"). */
  ipp_t *ordered = NULL;
  if (!ippmem_groups_ordered(ipp)) {
    ordered = ippmem_reordered(ipp);
    if (!ordered) return NULL;
    ipp = ordered;
  }
  /* ippLength() is exact, so one allocation of that size suffices. */
  ippmem_writer_t w = {NULL, 0, ippLength(ipp)};
  w.buf = malloc(w.cap ? w.cap : 1);
  if (!w.buf) goto fail;
  ippSetState(ipp, IPP_STATE_IDLE);
  if (ippWriteIO(&w, ippmem_write, 1, NULL, ipp) != IPP_STATE_DATA) goto fail;
  ippDelete(ordered);
  *len = w.len;
  return w.buf;
fail:
  free(w.buf);
  ippDelete(ordered);
  return NULL;
}
