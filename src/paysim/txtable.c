/*
 * txtable.c: nimbus-paysim's in-memory state: the transactions, the
 * misbehaviour scopes and the Stripe idempotency records, all behind one
 * mutex (ps_table.mu), which also guards saved.c's records (saved
 * methods, customers, setup intents, charges) through ps_table_lock().  Nothing is persisted: a
 * restart forgets all. Callers get copies (ps_tx_t by value), never pointers into the table; state
 * changes go through ps_tx_update() so they are compare-and-set.
 */
#include "paysim.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PS_MAX_TX 100000   /* transactions kept; the oldest go first */
#define PS_MAX_SCOPES 1024 /* behaviour scopes */
#define PS_MAX_IDEM 100000 /* idempotency records kept */

enum {
  B_DECLINE = 1 << 0,
  B_NO_CALLBACK = 1 << 1,
  B_DOUBLE = 1 << 2,
  B_EARLY = 1 << 3,
  B_500 = 1 << 4,
  B_TIMEOUT = 1 << 5,
  B_AUTOPAY = 1 << 6,
  B_DELAY = 1 << 7
};

typedef struct {
  char scope[128];
  unsigned set; /* B_* fields this scope sets */
  ps_behaviour_t b;
} ps_scope_t;

typedef struct {
  int account;
  char key[256];
  unsigned char digest[32];
  bool done;
  int status;
  char *body;
} ps_idem_t;

struct ps_table_state {
  pthread_mutex_t mu;
  ps_tx_t *tx; /* array, insertion order */
  size_t ntx, captx;
  ps_scope_t scopes[PS_MAX_SCOPES];
  int nscopes;
  ps_idem_t *idem;
  size_t nidem, capidem;
};
static struct ps_table_state ps_table = {.mu = PTHREAD_MUTEX_INITIALIZER};

void ps_table_init(void) {
  ps_table_reset();
}

void ps_table_reset(void) {
  pthread_mutex_lock(&ps_table.mu);
  free(ps_table.tx);
  ps_table.tx = NULL;
  ps_table.ntx = ps_table.captx = 0;
  ps_table.nscopes = 0;
  for (size_t i = 0; i < ps_table.nidem; i++) free(ps_table.idem[i].body);
  free(ps_table.idem);
  ps_table.idem = NULL;
  ps_table.nidem = ps_table.capidem = 0;
  ps_saved_reset_locked();
  pthread_mutex_unlock(&ps_table.mu);
}

void ps_table_lock(void) {
  pthread_mutex_lock(&ps_table.mu);
}

void ps_table_unlock(void) {
  pthread_mutex_unlock(&ps_table.mu);
}

/* The index of id or -1; the caller holds the lock. */
static long ps_find_locked(const char *id) {
  for (size_t i = ps_table.ntx; i-- > 0;)
    if (!strcmp(ps_table.tx[i].id, id)) return (long)i;
  return -1;
}

/* Expire tx when it is open and past its time; the caller holds the lock.
 * true when it changed (Stripe: an expired event is due). */
static bool ps_expire_locked(ps_tx_t *tx, time_t now) {
  if (tx->state != PS_TX_OPEN || now < tx->expires_at) return false;
  tx->state = PS_TX_EXPIRED;
  return true;
}

long long ps_linepay_number(void) {
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  long long date = (long long)(tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
  long long r = (long long)randombytes_uniform(100000) * 1000000LL + randombytes_uniform(1000000);
  return date * 100000000000LL + r;
}

bool ps_tx_insert(ps_tx_t *tx, bool *dup) {
  bool ok = false;
  *dup = false;
  tx->created = time(NULL);
  unsigned char raw[16];
  randombytes_buf(raw, sizeof raw);
  sodium_bin2hex(tx->csrf, sizeof tx->csrf, raw, sizeof raw);
  pthread_mutex_lock(&ps_table.mu);
  for (size_t i = 0; i < ps_table.ntx; i++) {
    const ps_tx_t *o = &ps_table.tx[i];
    if (tx->provider == PS_LINEPAY && o->provider == PS_LINEPAY && o->account == tx->account &&
        !strcmp(o->order_id, tx->order_id)) {
      *dup = true;
      goto done;
    }
  }
  for (int tries = 0;; tries++) {
    if (tx->provider == PS_LINEPAY)
      snprintf(tx->id, sizeof tx->id, "%lld", ps_linepay_number());
    else
      ps_random_id(tx->id, sizeof tx->id, "cs_test_", 40);
    if (ps_find_locked(tx->id) < 0) break;
    if (tries > 100) goto done;
  }
  if (ps_table.ntx == PS_MAX_TX) { /* forget the oldest */
    memmove(ps_table.tx, ps_table.tx + 1, sizeof(ps_tx_t) * (ps_table.ntx - 1));
    ps_table.ntx--;
  }
  if (ps_table.ntx == ps_table.captx) {
    size_t cap = ps_table.captx ? ps_table.captx * 2 : 64;
    ps_tx_t *n = realloc(ps_table.tx, sizeof(ps_tx_t) * cap);
    if (!n) goto done;
    ps_table.tx = n;
    ps_table.captx = cap;
  }
  ps_table.tx[ps_table.ntx++] = *tx;
  ok = true;
done:
  pthread_mutex_unlock(&ps_table.mu);
  return ok;
}

/* Copy the transaction at index i after applying expiry; lock held. */
static void ps_copy_locked(size_t i, ps_tx_t *out) {
  ps_expire_locked(&ps_table.tx[i], time(NULL));
  *out = ps_table.tx[i];
}

bool ps_tx_get(const char *id, ps_tx_t *out) {
  pthread_mutex_lock(&ps_table.mu);
  long i = ps_find_locked(id);
  if (i >= 0) ps_copy_locked((size_t)i, out);
  pthread_mutex_unlock(&ps_table.mu);
  return i >= 0;
}

bool ps_tx_get_by_pi(const char *pi, ps_tx_t *out) {
  bool found = false;
  pthread_mutex_lock(&ps_table.mu);
  for (size_t i = 0; i < ps_table.ntx && pi[0]; i++) {
    if (!strcmp(ps_table.tx[i].payment_intent, pi)) {
      ps_copy_locked(i, out);
      found = true;
      break;
    }
  }
  pthread_mutex_unlock(&ps_table.mu);
  return found;
}

bool ps_tx_get_by_order(ps_provider_t provider, int account, const char *order, ps_tx_t *out) {
  bool found = false;
  pthread_mutex_lock(&ps_table.mu);
  for (size_t i = ps_table.ntx; order && order[0] && i-- > 0;) {
    const ps_tx_t *t = &ps_table.tx[i];
    if (t->provider == provider && t->account == account && !strcmp(t->order_id, order)) {
      ps_copy_locked(i, out);
      found = true;
      break;
    }
  }
  pthread_mutex_unlock(&ps_table.mu);
  return found;
}

int ps_tx_update(const char *id, ps_tx_update_fn fn, void *arg, bool *found, ps_tx_t *after) {
  int rc = 0;
  pthread_mutex_lock(&ps_table.mu);
  long i = ps_find_locked(id);
  *found = i >= 0;
  if (i >= 0) {
    ps_expire_locked(&ps_table.tx[i], time(NULL));
    rc = fn(&ps_table.tx[i], arg);
    if (after) *after = ps_table.tx[i];
  }
  pthread_mutex_unlock(&ps_table.mu);
  return rc;
}

void ps_tx_count_callback(const char *id) {
  pthread_mutex_lock(&ps_table.mu);
  long i = ps_find_locked(id);
  if (i >= 0) ps_table.tx[i].callbacks++;
  pthread_mutex_unlock(&ps_table.mu);
}

static const char *ps_state_name(const ps_tx_t *tx) {
  static const char *lp[] = {"open", "authorized", "paid", "canceled", "failed", "expired"};
  return lp[tx->state];
}

json_t *ps_table_list(void) {
  json_t *arr = json_array();
  pthread_mutex_lock(&ps_table.mu);
  time_t now = time(NULL);
  for (size_t i = 0; i < ps_table.ntx; i++) {
    ps_tx_t *tx = &ps_table.tx[i];
    ps_expire_locked(tx, now);
    json_array_append_new(
        arr, json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:b, s:I, s:i, s:s, s:I, s:I, s:i}",
                       "id", tx->id, "provider", tx->provider == PS_LINEPAY ? "linepay" : "stripe",
                       "order_id", tx->order_id, "item", tx->item, "amount", (json_int_t)tx->amount,
                       "currency", tx->currency, "state", ps_state_name(tx), "declined",
                       tx->declined, "refunded", (json_int_t)tx->refunded, "refunds", tx->nrefunds,
                       "payment_intent", tx->payment_intent, "created", (json_int_t)tx->created,
                       "expires_at", (json_int_t)tx->expires_at, "callbacks", tx->callbacks));
  }
  pthread_mutex_unlock(&ps_table.mu);
  return arr;
}

int ps_table_expire(ps_tx_t *out, int max) {
  int n = 0;
  pthread_mutex_lock(&ps_table.mu);
  time_t now = time(NULL);
  for (size_t i = 0; i < ps_table.ntx; i++) {
    if (ps_expire_locked(&ps_table.tx[i], now) && ps_table.tx[i].provider == PS_STRIPE && n < max)
      out[n++] = ps_table.tx[i];
  }
  pthread_mutex_unlock(&ps_table.mu);
  return n;
}

/* ---- behaviours ---- */

bool ps_behaviour_set(const char *scope, json_t *obj, char *msg, size_t len) {
  static const struct {
    const char *name;
    unsigned bit;
    size_t off;
  } flags[] = {
      {"decline", B_DECLINE, offsetof(ps_behaviour_t, decline)},
      {"no_callback", B_NO_CALLBACK, offsetof(ps_behaviour_t, no_callback)},
      {"double_callback", B_DOUBLE, offsetof(ps_behaviour_t, double_callback)},
      {"early_webhook", B_EARLY, offsetof(ps_behaviour_t, early_webhook)},
      {"http_500", B_500, offsetof(ps_behaviour_t, http_500)},
      {"timeout", B_TIMEOUT, offsetof(ps_behaviour_t, timeout)},
      {"auto_pay", B_AUTOPAY, offsetof(ps_behaviour_t, auto_pay)},
  };
  ps_scope_t s = {0};
  snprintf(s.scope, sizeof s.scope, "%s", scope);
  const char *key;
  json_t *v;
  json_object_foreach(obj, key, v) {
    if (!strcmp(key, "scope")) continue;
    if (!strcmp(key, "callback_delay_ms")) {
      if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 600000) {
        snprintf(msg, len, "callback_delay_ms: an integer 0..600000");
        return false;
      }
      s.b.callback_delay_ms = (int)json_integer_value(v);
      s.set |= B_DELAY;
      continue;
    }
    size_t i = 0;
    for (; i < sizeof flags / sizeof flags[0]; i++)
      if (!strcmp(key, flags[i].name)) break;
    if (i == sizeof flags / sizeof flags[0] || !json_is_boolean(v)) {
      snprintf(msg, len, "unknown member or not a boolean: %.64s", key);
      return false;
    }
    *(bool *)((char *)&s.b + flags[i].off) = json_is_true(v);
    s.set |= flags[i].bit;
  }
  bool ok = true;
  pthread_mutex_lock(&ps_table.mu);
  int i = 0;
  for (; i < ps_table.nscopes; i++)
    if (!strcmp(ps_table.scopes[i].scope, s.scope)) break;
  if (i == ps_table.nscopes) {
    if (ps_table.nscopes == PS_MAX_SCOPES) {
      snprintf(msg, len, "too many scopes (reset first)");
      ok = false;
      goto done;
    }
    ps_table.scopes[ps_table.nscopes++] = (ps_scope_t){0};
    snprintf(ps_table.scopes[i].scope, sizeof ps_table.scopes[i].scope, "%s", s.scope);
  }
  ps_scope_t *t = &ps_table.scopes[i];
  for (size_t f = 0; f < sizeof flags / sizeof flags[0]; f++)
    if (s.set & flags[f].bit)
      *(bool *)((char *)&t->b + flags[f].off) = *(bool *)((char *)&s.b + flags[f].off);
  if (s.set & B_DELAY) t->b.callback_delay_ms = s.b.callback_delay_ms;
  t->set |= s.set;
done:
  pthread_mutex_unlock(&ps_table.mu);
  return ok;
}

/* Apply the fields scope s sets onto out. */
static void ps_scope_apply(const ps_scope_t *s, ps_behaviour_t *out) {
  if (s->set & B_DECLINE) out->decline = s->b.decline;
  if (s->set & B_NO_CALLBACK) out->no_callback = s->b.no_callback;
  if (s->set & B_DOUBLE) out->double_callback = s->b.double_callback;
  if (s->set & B_EARLY) out->early_webhook = s->b.early_webhook;
  if (s->set & B_500) out->http_500 = s->b.http_500;
  if (s->set & B_TIMEOUT) out->timeout = s->b.timeout;
  if (s->set & B_AUTOPAY) out->auto_pay = s->b.auto_pay;
  if (s->set & B_DELAY) out->callback_delay_ms = s->b.callback_delay_ms;
}

void ps_behaviour_get(const char *id, const char *order, ps_behaviour_t *out) {
  memset(out, 0, sizeof *out);
  pthread_mutex_lock(&ps_table.mu);
  for (int pass = 0; pass < 3; pass++) { /* global, then order, then tx: later wins */
    const char *want = pass == 0 ? "global" : pass == 1 ? order : id;
    if (!want || !want[0]) continue;
    for (int i = 0; i < ps_table.nscopes; i++)
      if (!strcmp(ps_table.scopes[i].scope, want)) ps_scope_apply(&ps_table.scopes[i], out);
  }
  pthread_mutex_unlock(&ps_table.mu);
}

json_t *ps_behaviour_list(void) {
  json_t *arr = json_array();
  pthread_mutex_lock(&ps_table.mu);
  for (int i = 0; i < ps_table.nscopes; i++) {
    const ps_scope_t *s = &ps_table.scopes[i];
    json_t *o = json_pack("{s:s}", "scope", s->scope);
    if (s->set & B_DECLINE) json_object_set_new(o, "decline", json_boolean(s->b.decline));
    if (s->set & B_NO_CALLBACK)
      json_object_set_new(o, "no_callback", json_boolean(s->b.no_callback));
    if (s->set & B_DOUBLE)
      json_object_set_new(o, "double_callback", json_boolean(s->b.double_callback));
    if (s->set & B_EARLY) json_object_set_new(o, "early_webhook", json_boolean(s->b.early_webhook));
    if (s->set & B_500) json_object_set_new(o, "http_500", json_boolean(s->b.http_500));
    if (s->set & B_TIMEOUT) json_object_set_new(o, "timeout", json_boolean(s->b.timeout));
    if (s->set & B_AUTOPAY) json_object_set_new(o, "auto_pay", json_boolean(s->b.auto_pay));
    if (s->set & B_DELAY)
      json_object_set_new(o, "callback_delay_ms", json_integer(s->b.callback_delay_ms));
    json_array_append_new(arr, o);
  }
  pthread_mutex_unlock(&ps_table.mu);
  return arr;
}

/* ---- Stripe idempotency ---- */

static long ps_idem_find_locked(int account, const char *key) {
  for (size_t i = 0; i < ps_table.nidem; i++)
    if (ps_table.idem[i].account == account && !strcmp(ps_table.idem[i].key, key)) return (long)i;
  return -1;
}

int ps_idem_begin(int account, const char *key, const unsigned char digest[32], int *status,
                  char **body) {
  int rc = 0;
  pthread_mutex_lock(&ps_table.mu);
  long i = ps_idem_find_locked(account, key);
  if (i >= 0) {
    ps_idem_t *e = &ps_table.idem[i];
    if (sodium_memcmp(e->digest, digest, 32) != 0) {
      rc = 2;
    } else if (!e->done) {
      rc = 3;
    } else {
      *status = e->status;
      *body = strdup(e->body ? e->body : "");
      rc = *body ? 1 : 3;
    }
    goto done;
  }
  if (ps_table.nidem == PS_MAX_IDEM) {
    free(ps_table.idem[0].body);
    memmove(ps_table.idem, ps_table.idem + 1, sizeof(ps_idem_t) * (ps_table.nidem - 1));
    ps_table.nidem--;
  }
  if (ps_table.nidem == ps_table.capidem) {
    size_t cap = ps_table.capidem ? ps_table.capidem * 2 : 64;
    ps_idem_t *n = realloc(ps_table.idem, sizeof(ps_idem_t) * cap);
    if (!n) {
      rc = 3;
      goto done;
    }
    ps_table.idem = n;
    ps_table.capidem = cap;
  }
  ps_idem_t *e = &ps_table.idem[ps_table.nidem++];
  memset(e, 0, sizeof *e);
  e->account = account;
  snprintf(e->key, sizeof e->key, "%s", key);
  memcpy(e->digest, digest, 32);
done:
  pthread_mutex_unlock(&ps_table.mu);
  return rc;
}

void ps_idem_finish(int account, const char *key, int status, const char *body) {
  pthread_mutex_lock(&ps_table.mu);
  long i = ps_idem_find_locked(account, key);
  if (i >= 0) {
    ps_table.idem[i].done = true;
    ps_table.idem[i].status = status;
    ps_table.idem[i].body = strdup(body ? body : "");
  }
  pthread_mutex_unlock(&ps_table.mu);
}

void ps_idem_abort(int account, const char *key) {
  pthread_mutex_lock(&ps_table.mu);
  long i = ps_idem_find_locked(account, key);
  if (i >= 0) {
    free(ps_table.idem[i].body);
    memmove(ps_table.idem + i, ps_table.idem + i + 1,
            sizeof(ps_idem_t) * (ps_table.nidem - (size_t)i - 1));
    ps_table.nidem--;
  }
  pthread_mutex_unlock(&ps_table.mu);
}
