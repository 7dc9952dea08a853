/*
 * webhook-out.h: outgoing webhooks of the smart services
 * (docs/PROVISIONING.md §11): supply orders and part alerts, signed with
 * the secret of --service-webhook-secret-file, sent from a housekeeping
 * thread with back-off.
 */
#ifndef NIMBUS_WEBHOOK_OUT_H
#define NIMBUS_WEBHOOK_OUT_H

#include <stddef.h>
#include <stdint.h>

#include "server.h"

#define WEBHOOK_OUT_BATCH 32        /* orders (and alerts) per sweep */
#define WEBHOOK_OUT_MAX_ATTEMPTS 10 /* then the delivery is failed */
#define WEBHOOK_OUT_TIMEOUT 10      /* seconds per request */
#define WEBHOOK_OUT_SECRET_MIN 32   /* bytes of the secret at least */

/* The signature header's value for body sent at ts with secret:
 * "sha256=<hex HMAC-SHA256(secret, "<ts>.<body>")>" into out (at least
 * 72 bytes).  False when out is too small. */
bool webhook_out_sign(const char *secret, int64_t ts, const char *body, size_t body_len, char *out,
                      size_t outlen);

/* Seconds before attempt number attempts + 1: min(2^attempts × 30, 3600). */
int64_t webhook_out_backoff(int attempts);

#define WEBHOOK_OUT_PERIOD 5 /* seconds between sweeps */

/* One round: every due pending order and alert is posted to its URL
 * (consumables.order_url, parts_life.alert_url of the printer's
 * configuration); 2xx marks it sent, anything else schedules a retry.
 * Without a readable secret file nothing is sent (logged once). */
void webhook_out_sweep(nimbus_server_t *srv);

/* The sending thread: a sweep every WEBHOOK_OUT_PERIOD seconds on the
 * node holding the store lease "service-webhooks" (its own thread, so a
 * slow receiver never delays housekeeping).  NULL when it cannot start;
 * stop joins it (NULL: nothing). */
typedef struct webhook_out webhook_out_t;
webhook_out_t *webhook_out_start(nimbus_server_t *srv);
void webhook_out_stop(webhook_out_t *w);

#endif
