/*
 * contract-webhook.h: the incoming contract webhook's credentials
 * (docs/PROVISIONING.md §4): the senders file, the HMAC-SHA256 signature
 * over "<timestamp>.<raw body>", the replay window.  The REST handler is
 * api-contract-webhook.c; the event id's idempotence is the store's
 * (store_contract_event_apply).
 */
#ifndef NIMBUS_CONTRACT_WEBHOOK_H
#define NIMBUS_CONTRACT_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONTRACT_WEBHOOK_SECRET_MIN 32
#define CONTRACT_WEBHOOK_SECRET_MAX 256
#define CONTRACT_WEBHOOK_SENDER_MAX 64
#define CONTRACT_WEBHOOK_BODY_MAX (1024 * 1024)
#define CONTRACT_WEBHOOK_EVENT_DAYS 30 /* event ids are remembered this long */

/* One line of the senders file: <sender>:<owner tenant>:<secret>. */
typedef struct {
  char sender[CONTRACT_WEBHOOK_SENDER_MAX + 1];
  char owner[64];
  char secret[CONTRACT_WEBHOOK_SECRET_MAX + 1];
} contract_sender_t;

/* Find sender in the senders file path into *out (its secret wiped by
 * contract_sender_wipe).  Returns 1 found, 0 not there, -1 the file is
 * unusable (unreadable, group/world readable, a malformed line, a secret
 * shorter than 32 characters): err says why, without any secret. */
int contract_webhook_sender_find(const char *path, const char *sender, contract_sender_t *out,
                                 char *err, size_t errlen);
/* Check the whole file (at start-up): true, or false with err set. */
bool contract_webhook_file_check(const char *path, char *err, size_t errlen);
void contract_sender_wipe(contract_sender_t *s);

/* Is signature ("sha256=<64 hex>") the HMAC-SHA256 under secret of
 * "<timestamp>.<body>"?  Compared in constant time. */
bool contract_webhook_signature_ok(const char *secret, const char *timestamp, const char *body,
                                   size_t len, const char *signature);
/* The header value for body signed at timestamp (tests, senders):
 * "sha256=<64 hex>" into out (72 bytes at least). */
void contract_webhook_sign(const char *secret, const char *timestamp, const char *body, size_t len,
                           char *out, size_t outlen);
/* Is timestamp (decimal unix seconds) within window seconds of now? */
bool contract_webhook_timestamp_ok(const char *timestamp, int64_t now, int window);

#endif
