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

unsigned char *ippmem_encode(ipp_t *ipp, size_t *len) {
  /* ippLength() is exact, so one allocation of that size suffices. */
  ippmem_writer_t w = {NULL, 0, ippLength(ipp)};
  w.buf = malloc(w.cap ? w.cap : 1);
  if (!w.buf) return NULL;
  ippSetState(ipp, IPP_STATE_IDLE);
  if (ippWriteIO(&w, ippmem_write, 1, NULL, ipp) != IPP_STATE_DATA) {
    free(w.buf);
    return NULL;
  }
  *len = w.len;
  return w.buf;
}
