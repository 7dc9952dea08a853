/*
 * bench-util.h: the small helpers both load generators share (intake-load.c,
 * infra-load.c): a monotonic clock in milliseconds, nearest-rank
 * percentiles, and JSON string escaping for their result lines.
 * Header-only (static inline): include it wherever a tool needs it.
 */
#ifndef NIMBUS_BENCH_UTIL_H
#define NIMBUS_BENCH_UTIL_H

#include <stddef.h>
#include <stdio.h>
#include <time.h>

/* Monotonic time in milliseconds. */
static inline double bench_now_ms(void) {
  struct timespec now;

  clock_gettime(CLOCK_MONOTONIC, &now);
  return ((double)now.tv_sec * 1e3 + (double)now.tv_nsec / 1e6);
}

/* qsort() comparison of doubles. */
static inline int bench_compare_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;

  return ((x > y) - (x < y));
}

/* Nearest-rank percentile of a sorted array; 0 when empty. */
static inline double bench_percentile(const double *sorted, size_t n, double p) {
  double exact;
  size_t rank;

  if (n == 0) return (0.0);
  exact = p / 100.0 * (double)n;
  rank = (size_t)exact;
  if ((double)rank < exact) rank++; /* ceil() without libm */
  if (rank < 1) rank = 1;
  if (rank > n) rank = n;
  return (sorted[rank - 1]);
}

/* Write s as the body of a JSON string (no quotes), escaping what JSON
 * requires. */
static inline void bench_json_escape(FILE *fp, const char *s) {
  for (; s && *s; s++) {
    unsigned char c = (unsigned char)*s;

    if (c == '"' || c == '\\')
      fprintf(fp, "\\%c", c);
    else if (c < 0x20)
      fprintf(fp, "\\u%04x", c);
    else
      fputc(c, fp);
  }
}

#endif
