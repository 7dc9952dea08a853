/*
 * throttle.c: the sign-in throttle's policy over the store's
 * auth_throttle table (see throttle.h).
 */
#include "throttle.h"

#include <sodium.h>
#include <string.h>
#include <time.h>

#include "log.h"

static const char *const throttle_kind_names[] = {"account", "address", "panel", "claim"};

void throttle_limits_init(throttle_limits_t *l, int account_max, int address_max, int panel_max,
                          int window, int claim_max, int claim_window) {
  l->rule[THROTTLE_ACCOUNT] = (throttle_rule_t){account_max, window};
  l->rule[THROTTLE_ADDRESS] = (throttle_rule_t){address_max, window};
  l->rule[THROTTLE_PANEL] = (throttle_rule_t){panel_max, window};
  l->rule[THROTTLE_CLAIM] = (throttle_rule_t){claim_max, claim_window};
}

void throttle_key(throttle_kind_t kind, const char *a, const char *b, unsigned char key[32]) {
  crypto_hash_sha256_state st;
  const char *name = throttle_kind_names[kind];
  crypto_hash_sha256_init(&st);
  crypto_hash_sha256_update(&st, (const unsigned char *)name, strlen(name) + 1);
  crypto_hash_sha256_update(&st, (const unsigned char *)(a ? a : ""), strlen(a ? a : "") + 1);
  crypto_hash_sha256_update(&st, (const unsigned char *)(b ? b : ""), strlen(b ? b : "") + 1);
  crypto_hash_sha256_final(&st, key);
}

int throttle_retry_after(store_t *st, const throttle_limits_t *l, throttle_kind_t kind,
                         const unsigned char key[32]) {
  const throttle_rule_t *rule = &l->rule[kind];
  int failures = 0;
  int64_t start = 0, now = (int64_t)time(NULL);
  store_status_t s = store_throttle_get(st, key, now, &failures, &start);
  if (s == STORE_ERROR)
    log_event(LOG_WARN, NULL, "sign-in throttle unavailable", "kind", throttle_kind_names[kind],
              (char *)NULL);
  if (s != STORE_OK || failures < rule->max_failures) return 0;
  int64_t wait = start + rule->window - now;
  return wait < 1 ? 1 : (int)wait;
}

void throttle_failed(store_t *st, const throttle_limits_t *l, throttle_kind_t kind,
                     const unsigned char key[32]) {
  int failures = 0;
  int64_t start = 0;
  if (store_throttle_fail(st, key, throttle_kind_names[kind], (int64_t)time(NULL),
                          l->rule[kind].window, &failures, &start) != STORE_OK)
    log_event(LOG_WARN, NULL, "sign-in throttle: failure not counted", "kind",
              throttle_kind_names[kind], (char *)NULL);
  else if (failures == l->rule[kind].max_failures)
    log_event(LOG_WARN, NULL, "sign-in throttle engaged", "kind", throttle_kind_names[kind],
              (char *)NULL);
}

void throttle_succeeded(store_t *st, const unsigned char key[32]) {
  if (store_throttle_clear(st, key) == STORE_ERROR)
    log_event(LOG_WARN, NULL, "sign-in throttle: clear failed", (char *)NULL);
}
