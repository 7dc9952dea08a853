/*
 * backoff.c: see backoff.h.  The generator is a private xorshift so that
 * tests can seed it and no global rand() state is shared.
 */
#include "backoff.h"

static unsigned backoff_rand(backoff_t *b) {
  unsigned x = b->seed ? b->seed : 0x9e3779b9u;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  b->seed = x;
  return x;
}

void backoff_init(backoff_t *b, int min_ms, int max_ms, unsigned seed) {
  if (min_ms < 1) min_ms = 1;
  if (max_ms < min_ms) max_ms = min_ms;
  b->min_ms = min_ms;
  b->max_ms = max_ms;
  b->cur_ms = min_ms;
  b->seed = seed;
}

int backoff_next(backoff_t *b) {
  int cur = b->cur_ms;
  int half = cur / 2;
  int delay = half + (int)(backoff_rand(b) % (unsigned)(cur - half + 1));
  b->cur_ms = cur > b->max_ms / 2 ? b->max_ms : cur * 2;
  return delay;
}

void backoff_reset(backoff_t *b) {
  b->cur_ms = b->min_ms;
}
