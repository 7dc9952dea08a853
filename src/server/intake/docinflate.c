/*
 * docinflate.c: streaming gzip/deflate decompression (see docinflate.h).
 *
 * gzip allows several members one after the other (RFC 1952 2.2): after
 * the end of one, further bytes start the next.  A raw deflate stream is
 * one stream: bytes after its end make it corrupt.
 */
#include "docinflate.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define DOCINFLATE_OUT 16384

struct docinflate {
  z_stream zs;
  docinflate_kind_t kind;
  bool ended; /* the current member/stream has ended */
  bool corrupt;
  unsigned char out[DOCINFLATE_OUT];
};

bool docinflate_kind_from_keyword(const char *keyword, docinflate_kind_t *kind) {
  static const struct {
    const char *keyword;
    docinflate_kind_t kind;
  } kinds[] = {
      {"none", DOCINFLATE_NONE}, {"gzip", DOCINFLATE_GZIP}, {"deflate", DOCINFLATE_DEFLATE}};
  for (size_t i = 0; keyword && i < sizeof kinds / sizeof kinds[0]; i++)
    if (strcmp(keyword, kinds[i].keyword) == 0) {
      *kind = kinds[i].kind;
      return true;
    }
  return false;
}

docinflate_t *docinflate_new(docinflate_kind_t kind) {
  if (kind == DOCINFLATE_NONE) return NULL;
  docinflate_t *z = calloc(1, sizeof *z);
  if (!z) return NULL;
  z->kind = kind;
  /* windowBits: 16 + 15 reads a gzip wrapper only, -15 raw deflate only */
  if (inflateInit2(&z->zs, kind == DOCINFLATE_GZIP ? 16 + MAX_WBITS : -MAX_WBITS) != Z_OK) {
    free(z);
    return NULL;
  }
  return z;
}

docinflate_status_t docinflate_feed(docinflate_t *z, const void *data, size_t len,
                                    docinflate_sink_fn sink, void *arg) {
  if (z->corrupt) return DOCINFLATE_CORRUPT;
  const unsigned char *in = data;
  while (len > 0) {
    if (z->ended) {
      /* bytes after the end: the next gzip member, or garbage */
      if (z->kind != DOCINFLATE_GZIP || inflateReset(&z->zs) != Z_OK) goto corrupt;
      z->ended = false;
    }
    /* avail_in is 32 bits: feed at most 1 GiB at a time */
    uInt take = len > (1u << 30) ? (1u << 30) : (uInt)len;
    z->zs.next_in = (Bytef *)in;
    z->zs.avail_in = take;
    int rc;
    do {
      z->zs.next_out = z->out;
      z->zs.avail_out = sizeof z->out;
      rc = inflate(&z->zs, Z_NO_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) goto corrupt;
      size_t produced = sizeof z->out - z->zs.avail_out;
      if (produced && !sink(arg, z->out, produced)) return DOCINFLATE_STOPPED;
      if (rc == Z_STREAM_END) {
        z->ended = true;
        break;
      }
      if (rc == Z_BUF_ERROR && produced == 0) break; /* needs more input */
    } while (z->zs.avail_in > 0 || z->zs.avail_out == 0);
    size_t used = take - z->zs.avail_in;
    in += used;
    len -= used;
    if (!z->ended && used == 0) break; /* cannot happen: zlib consumes or ends */
  }
  return DOCINFLATE_OK;
corrupt:
  z->corrupt = true;
  return DOCINFLATE_CORRUPT;
}

bool docinflate_complete(const docinflate_t *z) {
  return z && z->ended && !z->corrupt;
}

void docinflate_free(docinflate_t *z) {
  if (!z) return;
  inflateEnd(&z->zs);
  free(z);
}
