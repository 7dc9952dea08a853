/*
 * docinflate.h: streaming decompression of documents sent with IPP
 * `compression` gzip (RFC 1952) or deflate (RFC 1951, raw), with zlib.
 * Memory is fixed per stream (zlib's state and a 16 KiB output buffer);
 * the decompressed bytes go to a sink chunk by chunk, so the caller's size
 * limit applies to what the document really is, not to what was sent.
 */
#ifndef NIMBUS_DOCINFLATE_H
#define NIMBUS_DOCINFLATE_H

#include <stdbool.h>
#include <stddef.h>

typedef enum { DOCINFLATE_NONE = 0, DOCINFLATE_GZIP, DOCINFLATE_DEFLATE } docinflate_kind_t;

/* The kind for an IPP compression keyword ("none", "gzip", "deflate");
 * false for any other. */
bool docinflate_kind_from_keyword(const char *keyword, docinflate_kind_t *kind);

typedef struct docinflate docinflate_t;

/* A new stream of kind (not NONE); NULL when out of memory. */
docinflate_t *docinflate_new(docinflate_kind_t kind);

/* Receives decompressed bytes; returns false to stop (limit, I/O). */
typedef bool (*docinflate_sink_fn)(void *arg, const void *data, size_t len);

typedef enum {
  DOCINFLATE_OK = 0,  /* consumed; more may follow */
  DOCINFLATE_STOPPED, /* the sink said stop */
  DOCINFLATE_CORRUPT  /* not a valid stream of its kind */
} docinflate_status_t;

/* Decompress len bytes of the stream into sink. */
docinflate_status_t docinflate_feed(docinflate_t *z, const void *data, size_t len,
                                    docinflate_sink_fn sink, void *arg);
/* Did the stream end properly (a complete gzip member or deflate stream,
 * nothing but whole gzip members after it)? */
bool docinflate_complete(const docinflate_t *z);
/* NULL is ignored. */
void docinflate_free(docinflate_t *z);

#endif
