/*
 * backoff.h: exponential back-off with jitter for reconnects and retries.
 * Each delay is drawn uniformly from [cur/2, cur], then cur doubles up to
 * max; reset() returns to min after a success.
 */
#ifndef NIMBUS_CONNECTOR_BACKOFF_H
#define NIMBUS_CONNECTOR_BACKOFF_H

typedef struct {
  int min_ms;
  int max_ms;
  int cur_ms;
  unsigned seed;
} backoff_t;

/* min_ms >= 1, max_ms >= min_ms (clamped otherwise). */
void backoff_init(backoff_t *b, int min_ms, int max_ms, unsigned seed);
/* The next delay in milliseconds, in [min_ms/2, max_ms]. */
int backoff_next(backoff_t *b);
void backoff_reset(backoff_t *b);

#endif
