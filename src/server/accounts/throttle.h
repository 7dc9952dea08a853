/*
 * throttle.h: failed sign-ins counted in the store (table auth_throttle),
 * so that guessing passwords, tokens, panel secrets or claim codes is
 * refused before any password hash is computed, on every node sharing
 * the database, across restarts.
 *
 * What is counted (docs/OPERATIONS.md "Sign-in throttle"):
 *   account  tenant + user name (also names that do not exist, so the
 *            answer does not reveal which do): --login-failures
 *   address  the client address (X-Forwarded-For only with --trust-proxy):
 *            every failed password or token, --login-failures-per-address
 *   panel    printer + user name at a printer's panel: --panel-login-failures
 *   claim    wrong claim codes per client address: DEVICE_CLAIM_MAX_FAILURES
 * Each within its window from the first failure; once the count reaches
 * the limit, attempts are refused (HTTP 429 / IPP server-error-busy, with
 * Retry-After) until the window ends.  A success clears its account or
 * panel count, never an address count.
 *
 * A store error lets the attempt through (logged): the throttle slows
 * guessing, it is not what keeps accounts safe.
 */
#ifndef NIMBUS_THROTTLE_H
#define NIMBUS_THROTTLE_H

#include <stdbool.h>

#include "store.h"

typedef enum {
  THROTTLE_ACCOUNT = 0,
  THROTTLE_ADDRESS,
  THROTTLE_PANEL,
  THROTTLE_CLAIM,
} throttle_kind_t;

typedef struct {
  int max_failures; /* refused once this many failures are counted */
  int window;       /* seconds from the first failure */
} throttle_rule_t;

typedef struct {
  throttle_rule_t rule[THROTTLE_CLAIM + 1]; /* indexed by throttle_kind_t */
} throttle_limits_t;

/* Fill the limits (windows in seconds). */
void throttle_limits_init(throttle_limits_t *l, int account_max, int address_max, int panel_max,
                          int window, int claim_max, int claim_window);

/* The key of (kind, a, b): b may be NULL.  A digest, never the text. */
void throttle_key(throttle_kind_t kind, const char *a, const char *b, unsigned char key[32]);

/* 0 when an attempt may be made now; else the seconds until it may. */
int throttle_retry_after(store_t *st, const throttle_limits_t *l, throttle_kind_t kind,
                         const unsigned char key[32]);

/* Count a failure. */
void throttle_failed(store_t *st, const throttle_limits_t *l, throttle_kind_t kind,
                     const unsigned char key[32]);

/* A success: forget the key's failures. */
void throttle_succeeded(store_t *st, const unsigned char key[32]);

#endif
