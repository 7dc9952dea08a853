/*
 * notify.c: subscriptions, event rings and parked long-polls (see
 * notify.h).
 *
 * The store holds every subscription (store_subscription_*), so that each
 * node knows each one; this file holds the ones this node has seen, with
 * their event rings and parked requests.  A subscription this node does
 * not hold yet (made on another node, or before a restart) is taken from
 * the store when its device names it (notify_adopt), with an empty ring:
 * its next events are numbered on from the notify-sequence-numbers the
 * device asks for, so a device that moves between nodes sees one
 * increasing sequence.  Store calls are made with the lock released.
 *
 * One mutex guards everything; work under it is O(subscriptions in one
 * hash bucket).  Subscriptions are chained in three fixed hash tables (by
 * id, by queue, by device).  Parked requests sit in one FIFO list: every
 * Get-Notifications is held for the same wait_seconds, so arrival order is
 * deadline order and the timer thread only looks at the head.  Wakes are
 * collected under the lock and delivered (the waiter's wake) after it is
 * released, so no caller's code ever runs with the lock held (on_park
 * aside: it only marks).  A subscription's event ring is allocated with
 * its first event: an idle printer's subscription is about 150 bytes.
 */
#include "notify.h"

#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "store.h"

#define NOTIFY_BUCKETS 4096 /* per hash table; chains stay short at 10^4 devices */
#define NOTIFY_MAX_SUBS_PER_DEVICE 16
#define NOTIFY_DELETED_LINGER 60 /* seconds a deleted device's notice is kept */
/* The highest notify-sequence-numbers value taken from a device: far
 * enough below INT_MAX that numbering on from it cannot overflow. */
#define NOTIFY_SINCE_MAX (INT32_MAX / 2)

typedef struct notify_waiter notify_waiter_t;

typedef struct notify_sub {
  int id;
  nimbus_id_t tenant_id, queue_id, device_id;
  nimbus_id_t job_id; /* a job subscription: only this job's events (0: printer) */
  unsigned events;
  int lease_seconds;
  int64_t expires_at;
  int64_t stored_expires_at; /* the lease the store has (renewed before it runs out) */
  int last_seq;
  int ring_start, ring_count;
  notify_event_t *ring; /* NOTIFY_RING events, allocated with the first one (idle: none) */
  bool deleted; /* the device's registration was deleted */
  bool adopted; /* taken from the store, not collected from yet (notify_collect) */
  notify_waiter_t *waiter;
  struct notify_sub *by_id, *by_queue, *by_device; /* hash chains */
} notify_sub_t;

struct notify_waiter {
  void (*wake)(void *arg);
  void *arg;
  int64_t deadline; /* monotonic ms */
  int nsubs;
  notify_sub_t *subs[NOTIFY_MAX_SUBS_PER_REQUEST];
  notify_waiter_t *prev, *next; /* FIFO = deadline order */
};

struct notify {
  pthread_mutex_t mu;
  pthread_cond_t cond;
  pthread_t timer;
  bool stopping;
  int wait_seconds;
  store_t *store; /* NULL: subscriptions of this process only (unit tests) */
  int next_id;    /* without a store: the last id given */
  int parked;
  notify_sub_t *by_id[NOTIFY_BUCKETS];
  notify_sub_t *by_queue[NOTIFY_BUCKETS];
  notify_sub_t *by_device[NOTIFY_BUCKETS];
  notify_waiter_t *head, *tail;
};

/* A wake to deliver once the lock is released: the detached waiter itself,
 * chained through its `next` link, so collecting a wake never allocates
 * and no wake ever runs under notify.mu. */
typedef notify_waiter_t notify_wake_t;

static const struct {
  notify_event_type_t type;
  const char *name;
} notify_names[] = {{NOTIFY_JOB_FETCHABLE, "job-fetchable"},
                    {NOTIFY_JOB_STATE_CHANGED, "job-state-changed"},
                    {NOTIFY_PRINTER_DELETED, "printer-deleted"}};

notify_event_type_t notify_event_parse(const char *name) {
  for (size_t i = 0; i < sizeof notify_names / sizeof notify_names[0]; i++)
    if (strcmp(name, notify_names[i].name) == 0) return notify_names[i].type;
  return 0;
}

const char *notify_event_name(notify_event_type_t t) {
  for (size_t i = 0; i < sizeof notify_names / sizeof notify_names[0]; i++)
    if (notify_names[i].type == t) return notify_names[i].name;
  return NULL;
}

static int64_t notify_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static unsigned notify_hash(int64_t v) {
  uint64_t x = (uint64_t)v * 0x9E3779B97F4A7C15ull;
  return (unsigned)(x >> 52) % NOTIFY_BUCKETS;
}

/* ---- waiters (lock held) ---- */

static void notify_waiter_unlink_locked(notify_t *n, notify_waiter_t *w) {
  if (w->prev)
    w->prev->next = w->next;
  else
    n->head = w->next;
  if (w->next)
    w->next->prev = w->prev;
  else
    n->tail = w->prev;
  for (int i = 0; i < w->nsubs; i++)
    if (w->subs[i]->waiter == w) w->subs[i]->waiter = NULL;
  n->parked--;
}

/* Detach waiter w and add it to *list, to be woken (and freed) by
 * notify_deliver() once notify.mu is released. */
static void notify_wake_locked(notify_t *n, notify_waiter_t *w, notify_wake_t **list) {
  notify_waiter_unlink_locked(n, w);
  w->prev = NULL;
  w->next = *list;
  *list = w;
}

/* Wake and free the waiters collected by notify_wake_locked(); called with
 * notify.mu released (a wake may run inline and re-enter notify). */
static void notify_deliver(notify_wake_t *list) {
  while (list) {
    notify_wake_t *next = list->next;
    list->wake(list->arg);
    free(list);
    list = next;
  }
}

/* ---- subscriptions (lock held) ---- */

static notify_sub_t *notify_find_locked(notify_t *n, int id) {
  for (notify_sub_t *s = n->by_id[notify_hash(id)]; s; s = s->by_id)
    if (s->id == id) return s;
  return NULL;
}

static void notify_chain_remove(notify_sub_t **head, notify_sub_t *s, size_t link_off) {
  for (notify_sub_t **pp = head; *pp; pp = (notify_sub_t **)((char *)*pp + link_off)) {
    if (*pp == s) {
      *pp = *(notify_sub_t **)((char *)s + link_off);
      return;
    }
  }
}

static void notify_sub_free_locked(notify_t *n, notify_sub_t *s, notify_wake_t **wakes) {
  if (s->waiter) notify_wake_locked(n, s->waiter, wakes);
  notify_chain_remove(&n->by_id[notify_hash(s->id)], s, offsetof(notify_sub_t, by_id));
  notify_chain_remove(&n->by_queue[notify_hash(s->queue_id)], s, offsetof(notify_sub_t, by_queue));
  notify_chain_remove(&n->by_device[notify_hash(s->device_id)], s,
                      offsetof(notify_sub_t, by_device));
  free(s->ring);
  free(s);
}

static void notify_append_locked(notify_sub_t *s, notify_event_type_t type, nimbus_id_t job_id,
                                 int job_state, const char *const *reasons, int nreasons) {
  if (!s->ring) {
    s->ring = calloc(NOTIFY_RING, sizeof *s->ring);
    if (!s->ring) {
      log_event(LOG_ERROR, NULL, "out of memory: event dropped", "subscription", LOG_INT(s->id),
                (char *)NULL);
      return;
    }
  }
  if (s->ring_count == NOTIFY_RING) { /* drop the oldest */
    s->ring_start = (s->ring_start + 1) % NOTIFY_RING;
    s->ring_count--;
  }
  notify_event_t *e = &s->ring[(s->ring_start + s->ring_count) % NOTIFY_RING];
  s->ring_count++;
  e->subscription_id = s->id;
  e->sequence = ++s->last_seq;
  e->type = type;
  e->job_id = job_id;
  e->job_state = job_state;
  e->nreasons = 0;
  for (int i = 0; i < nreasons && i < NOTIFY_REASONS_MAX; i++)
    if (reasons[i]) e->reasons[e->nreasons++] = reasons[i];
  e->at = (int64_t)time(NULL);
}

/* ---- timer thread: deadlines and lease expiry ---- */

static void *notify_timer_main(void *arg) {
  notify_t *n = arg;
  int64_t next_sweep = notify_now_ms() + 10000;
  pthread_mutex_lock(&n->mu);
  while (!n->stopping) {
    int64_t now = notify_now_ms();
    notify_wake_t *wakes = NULL;
    while (n->head && n->head->deadline <= now) notify_wake_locked(n, n->head, &wakes);
    if (now >= next_sweep) {
      next_sweep = now + 10000;
      int64_t wall = (int64_t)time(NULL);
      for (int b = 0; b < NOTIFY_BUCKETS; b++) {
        notify_sub_t *s = n->by_id[b];
        while (s) {
          notify_sub_t *next = s->by_id;
          if (s->expires_at < wall) notify_sub_free_locked(n, s, &wakes);
          s = next;
        }
      }
    }
    if (wakes) {
      pthread_mutex_unlock(&n->mu);
      notify_deliver(wakes);
      pthread_mutex_lock(&n->mu);
      continue;
    }
    int64_t until = n->head ? n->head->deadline : now + 1000;
    if (until > next_sweep) until = next_sweep;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t wait_ms = until - now;
    if (wait_ms < 1) wait_ms = 1;
    ts.tv_sec += wait_ms / 1000;
    ts.tv_nsec += (wait_ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(&n->cond, &n->mu, &ts);
  }
  pthread_mutex_unlock(&n->mu);
  return NULL;
}

notify_t *notify_new(int wait_seconds, store_t *store) {
  notify_t *n = calloc(1, sizeof *n);
  if (!n) return NULL;
  n->wait_seconds = wait_seconds > 0 ? wait_seconds : 60;
  n->store = store;
  pthread_mutex_init(&n->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&n->cond, &ca);
  pthread_condattr_destroy(&ca);
  if (pthread_create(&n->timer, NULL, notify_timer_main, n) != 0) {
    pthread_cond_destroy(&n->cond);
    pthread_mutex_destroy(&n->mu);
    free(n);
    return NULL;
  }
  return n;
}

void notify_shutdown(notify_t *n) {
  if (!n) return;
  notify_wake_t *wakes = NULL;
  pthread_mutex_lock(&n->mu);
  if (n->stopping) {
    pthread_mutex_unlock(&n->mu);
    return;
  }
  n->stopping = true;
  while (n->head) notify_wake_locked(n, n->head, &wakes);
  pthread_cond_signal(&n->cond);
  pthread_mutex_unlock(&n->mu);
  notify_deliver(wakes);
  pthread_join(n->timer, NULL);
}

void notify_free(notify_t *n) {
  if (!n) return;
  notify_shutdown(n);
  notify_wake_t *wakes = NULL;
  for (int b = 0; b < NOTIFY_BUCKETS; b++)
    while (n->by_id[b]) notify_sub_free_locked(n, n->by_id[b], &wakes);
  notify_deliver(wakes);
  pthread_cond_destroy(&n->cond);
  pthread_mutex_destroy(&n->mu);
  free(n);
}

int notify_subscribe(notify_t *n, nimbus_id_t tenant_id, nimbus_id_t queue_id,
                     nimbus_id_t device_id, unsigned events, int lease_seconds) {
  return notify_subscribe_job(n, tenant_id, queue_id, device_id, 0, events, lease_seconds);
}

/* Chain s into the three tables. */
static void notify_link_locked(notify_t *n, notify_sub_t *s) {
  unsigned h = notify_hash(s->id);
  s->by_id = n->by_id[h];
  n->by_id[h] = s;
  h = notify_hash(s->queue_id);
  s->by_queue = n->by_queue[h];
  n->by_queue[h] = s;
  h = notify_hash(s->device_id);
  s->by_device = n->by_device[h];
  n->by_device[h] = s;
}

static notify_sub_t *notify_sub_from_row(const nimbus_subscription_t *row) {
  notify_sub_t *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->id = row->id;
  s->tenant_id = row->tenant_id;
  s->queue_id = row->queue_id;
  s->device_id = row->device_id;
  s->job_id = row->job_id;
  s->events = row->events | NOTIFY_PRINTER_DELETED;
  s->lease_seconds = row->lease_seconds;
  s->expires_at = s->stored_expires_at = row->expires_at;
  return s;
}

/* Hold subscription id of device_id when this node does not yet and the
 * store has it live (see the file comment).  Lock not held. */
static void notify_adopt(notify_t *n, nimbus_id_t device_id, int id) {
  if (!n->store || id <= 0) return;
  pthread_mutex_lock(&n->mu);
  bool held = notify_find_locked(n, id) != NULL;
  pthread_mutex_unlock(&n->mu);
  nimbus_subscription_t row;
  if (held || store_subscription_get(n->store, id, (int64_t)time(NULL), &row) != STORE_OK ||
      row.device_id != device_id)
    return;
  notify_sub_t *s = notify_sub_from_row(&row);
  if (!s) return;
  pthread_mutex_lock(&n->mu);
  if (notify_find_locked(n, id) || n->stopping) {
    free(s);
  } else {
    s->adopted = true;
    notify_link_locked(n, s);
  }
  pthread_mutex_unlock(&n->mu);
}

int notify_subscribe_job(notify_t *n, nimbus_id_t tenant_id, nimbus_id_t queue_id,
                         nimbus_id_t device_id, nimbus_id_t job_id, unsigned events,
                         int lease_seconds) {
  int64_t now = (int64_t)time(NULL);
  nimbus_subscription_t row = {.tenant_id = tenant_id,
                               .queue_id = queue_id,
                               .device_id = device_id,
                               .job_id = job_id,
                               .events = events | NOTIFY_PRINTER_DELETED,
                               .lease_seconds = lease_seconds,
                               .expires_at = now + lease_seconds};
  if (n->store) {
    /* The limit counts the device's subscriptions on every node. */
    nimbus_subscription_t live[NOTIFY_MAX_SUBS_PER_DEVICE];
    int count = 0;
    if (store_subscription_list(n->store, device_id, now, live, NOTIFY_MAX_SUBS_PER_DEVICE,
                                &count) != STORE_OK)
      return NOTIFY_FAILED;
    if (count >= NOTIFY_MAX_SUBS_PER_DEVICE) return NOTIFY_TOO_MANY;
    if (store_subscription_insert(n->store, &row) != STORE_OK) return NOTIFY_FAILED;
  }
  notify_sub_t *s = notify_sub_from_row(&row);
  if (!s) {
    if (n->store) store_subscription_delete(n->store, row.id, device_id);
    return NOTIFY_FAILED;
  }
  pthread_mutex_lock(&n->mu);
  if (!n->store) {
    int count = 0;
    for (notify_sub_t *o = n->by_device[notify_hash(device_id)]; o; o = o->by_device)
      if (o->device_id == device_id && !o->deleted) count++;
    if (count >= NOTIFY_MAX_SUBS_PER_DEVICE) {
      pthread_mutex_unlock(&n->mu);
      free(s);
      return NOTIFY_TOO_MANY;
    }
    do {
      n->next_id = n->next_id >= 0x7ffffff0 ? 1 : n->next_id + 1;
    } while (notify_find_locked(n, n->next_id));
    s->id = n->next_id;
  }
  notify_link_locked(n, s);
  int id = s->id;
  pthread_mutex_unlock(&n->mu);
  return id;
}

/* Forget subscription id of device_id here (the store no longer has it:
 * canceled through another node, or its lease ended there); false when
 * this node did not hold it.  Lock not held. */
static bool notify_forget(notify_t *n, nimbus_id_t device_id, int id) {
  notify_wake_t *wakes = NULL;
  pthread_mutex_lock(&n->mu);
  notify_sub_t *s = notify_find_locked(n, id);
  bool held = s && s->device_id == device_id;
  if (held) notify_sub_free_locked(n, s, &wakes);
  pthread_mutex_unlock(&n->mu);
  notify_deliver(wakes);
  return held;
}

bool notify_cancel(notify_t *n, nimbus_id_t device_id, int subscription_id) {
  store_status_t s =
      n->store ? store_subscription_delete(n->store, subscription_id, device_id) : STORE_NOT_FOUND;
  /* the store failed: keep it (it would come back from the store anyway) */
  if (s != STORE_OK && s != STORE_NOT_FOUND) return false;
  bool held = notify_forget(n, device_id, subscription_id);
  return held || s == STORE_OK;
}

static void notify_info_locked(const notify_sub_t *s, notify_sub_info_t *out) {
  out->id = s->id;
  out->queue_id = s->queue_id;
  out->job_id = s->job_id;
  out->events = s->events;
  out->lease_seconds = s->lease_seconds;
  out->expires_at = s->expires_at;
  out->last_sequence = s->last_seq;
}

bool notify_sub_get(notify_t *n, nimbus_id_t device_id, int subscription_id,
                    notify_sub_info_t *out) {
  notify_adopt(n, device_id, subscription_id);
  pthread_mutex_lock(&n->mu);
  notify_sub_t *s = notify_find_locked(n, subscription_id);
  bool ok = s && s->device_id == device_id && !s->deleted;
  if (ok) notify_info_locked(s, out);
  pthread_mutex_unlock(&n->mu);
  return ok;
}

/* Make this node's view of device_id's subscriptions the store's: adopt
 * those it lacks, drop those the store no longer has (canceled through
 * another node).  Lock not held. */
static void notify_sync_device(notify_t *n, nimbus_id_t device_id) {
  if (!n->store) return;
  int64_t now = (int64_t)time(NULL);
  nimbus_subscription_t live[NOTIFY_MAX_SUBS_PER_DEVICE];
  int count = 0;
  if (store_subscription_list(n->store, device_id, now, live, NOTIFY_MAX_SUBS_PER_DEVICE,
                              &count) != STORE_OK)
    return;
  for (int i = 0; i < count; i++) notify_adopt(n, device_id, live[i].id);
  /* held here but not listed: gone from the store only when a lookup of
   * its own says so (the listing stops at the limit, and a subscription
   * made meanwhile is not in it) */
  int unlisted[NOTIFY_MAX_SUBS_PER_DEVICE * 2], nunlisted = 0;
  pthread_mutex_lock(&n->mu);
  for (notify_sub_t *s = n->by_device[notify_hash(device_id)]; s; s = s->by_device) {
    if (s->device_id != device_id || s->deleted) continue;
    bool listed = false;
    for (int i = 0; i < count && !listed; i++) listed = live[i].id == s->id;
    if (!listed && nunlisted < (int)(sizeof unlisted / sizeof unlisted[0]))
      unlisted[nunlisted++] = s->id;
  }
  pthread_mutex_unlock(&n->mu);
  for (int i = 0; i < nunlisted; i++) {
    nimbus_subscription_t row;
    if (store_subscription_get(n->store, unlisted[i], now, &row) == STORE_NOT_FOUND)
      notify_forget(n, device_id, unlisted[i]);
  }
}

int notify_sub_list(notify_t *n, nimbus_id_t device_id, nimbus_id_t queue_id, nimbus_id_t job_id,
                    notify_sub_info_t *out, int max) {
  int count = 0;
  int64_t seq[NOTIFY_MAX_SUBS_PER_DEVICE];
  notify_sync_device(n, device_id);
  pthread_mutex_lock(&n->mu);
  for (notify_sub_t *s = n->by_device[notify_hash(device_id)]; s && count < max; s = s->by_device) {
    if (s->device_id != device_id || s->deleted || s->queue_id != queue_id) continue;
    if (job_id && s->job_id != job_id) continue;
    /* insertion sort by id, which is creation order: at most
     * NOTIFY_MAX_SUBS_PER_DEVICE */
    int i = count < NOTIFY_MAX_SUBS_PER_DEVICE ? count : NOTIFY_MAX_SUBS_PER_DEVICE - 1;
    while (i > 0 && seq[i - 1] > s->id) {
      seq[i] = seq[i - 1];
      out[i] = out[i - 1];
      i--;
    }
    seq[i] = s->id;
    notify_info_locked(s, &out[i]);
    if (count < NOTIFY_MAX_SUBS_PER_DEVICE) count++;
  }
  pthread_mutex_unlock(&n->mu);
  return count;
}

bool notify_renew(notify_t *n, nimbus_id_t device_id, int subscription_id, int lease_seconds) {
  int64_t expires_at = (int64_t)time(NULL) + lease_seconds;
  notify_adopt(n, device_id, subscription_id);
  pthread_mutex_lock(&n->mu);
  notify_sub_t *s = notify_find_locked(n, subscription_id);
  bool ok = s && s->device_id == device_id && !s->deleted;
  if (ok) {
    s->lease_seconds = lease_seconds;
    s->expires_at = s->stored_expires_at = expires_at;
  }
  pthread_mutex_unlock(&n->mu);
  if (ok && n->store &&
      store_subscription_renew(n->store, subscription_id, device_id, lease_seconds, expires_at) ==
          STORE_NOT_FOUND) {
    notify_forget(n, device_id, subscription_id); /* canceled through another node meanwhile */
    ok = false;
  }
  return ok;
}

bool notify_owns(notify_t *n, nimbus_id_t device_id, int subscription_id) {
  notify_adopt(n, device_id, subscription_id);
  pthread_mutex_lock(&n->mu);
  notify_sub_t *s = notify_find_locked(n, subscription_id);
  bool ok = s && s->device_id == device_id;
  pthread_mutex_unlock(&n->mu);
  return ok;
}

void notify_job_event(notify_t *n, nimbus_id_t tenant_id, nimbus_id_t queue_id,
                      nimbus_id_t target_device, notify_event_type_t type, nimbus_id_t job_id,
                      int job_state) {
  notify_job_event_reasons(n, tenant_id, queue_id, target_device, type, job_id, job_state, NULL, 0);
}

void notify_job_event_reasons(notify_t *n, nimbus_id_t tenant_id, nimbus_id_t queue_id,
                              nimbus_id_t target_device, notify_event_type_t type,
                              nimbus_id_t job_id, int job_state, const char *const *reasons,
                              int nreasons) {
  notify_wake_t *wakes = NULL;
  pthread_mutex_lock(&n->mu);
  for (notify_sub_t *s = n->by_queue[notify_hash(queue_id)]; s; s = s->by_queue) {
    if (s->queue_id != queue_id || s->tenant_id != tenant_id || s->deleted) continue;
    if (!(s->events & type)) continue;
    if (s->job_id && s->job_id != job_id) continue;
    if (target_device && s->device_id != target_device) continue;
    notify_append_locked(s, type, job_id, job_state, reasons, nreasons);
    if (s->waiter) notify_wake_locked(n, s->waiter, &wakes);
  }
  pthread_mutex_unlock(&n->mu);
  notify_deliver(wakes);
}

void notify_device_deleted(notify_t *n, nimbus_id_t device_id) {
  notify_wake_t *wakes = NULL;
  int64_t linger = (int64_t)time(NULL) + NOTIFY_DELETED_LINGER;
  pthread_mutex_lock(&n->mu);
  for (notify_sub_t *s = n->by_device[notify_hash(device_id)]; s; s = s->by_device) {
    if (s->device_id != device_id || s->deleted) continue;
    s->deleted = true;
    s->expires_at = linger;
    notify_append_locked(s, NOTIFY_PRINTER_DELETED, 0, 0, NULL, 0);
    if (s->waiter) notify_wake_locked(n, s->waiter, &wakes);
  }
  pthread_mutex_unlock(&n->mu);
  notify_deliver(wakes);
}

int notify_collect(notify_t *n, nimbus_id_t device_id, const int *ids, const int *since, int nids,
                   notify_event_t *out, int max, const notify_wait_t *wait, bool *parked,
                   bool *deleted) {
  int count = 0;
  *parked = false;
  *deleted = false;
  notify_sub_t *subs[NOTIFY_MAX_SUBS_PER_REQUEST];
  int nsubs = 0;
  notify_wake_t *wakes = NULL;
  int64_t now = (int64_t)time(NULL), lease_floor = now + n->wait_seconds * 2;
  /* leases to write to the store once the lock is released */
  struct {
    int id, lease;
    int64_t until;
  } renew[NOTIFY_MAX_SUBS_PER_REQUEST];
  int nrenew = 0;
  for (int i = 0; i < nids && i < NOTIFY_MAX_SUBS_PER_REQUEST; i++) notify_adopt(n, device_id, ids[i]);
  pthread_mutex_lock(&n->mu);
  for (int i = 0; i < nids && i < NOTIFY_MAX_SUBS_PER_REQUEST; i++) {
    notify_sub_t *s = notify_find_locked(n, ids[i]);
    if (!s || s->device_id != device_id) continue;
    /* An id named twice counts once: a waiter linked twice to one
     * subscription would unlink itself while being linked. */
    bool again = false;
    for (int k = 0; k < nsubs; k++) again = again || subs[k] == s;
    if (again) continue;
    subs[nsubs++] = s;
    if (s->deleted) *deleted = true;
    if (!s->deleted && s->expires_at < lease_floor) s->expires_at = lease_floor;
    /* A device that polls keeps its subscription: the store's lease is
     * moved on before it would end (about once per lease). */
    if (n->store && !s->deleted && s->stored_expires_at < lease_floor) {
      int64_t until = now + (s->lease_seconds > 2 * n->wait_seconds ? s->lease_seconds
                                                                     : 4 * n->wait_seconds);
      s->stored_expires_at = until;
      if (s->expires_at < until) s->expires_at = until;
      renew[nrenew].id = s->id;
      renew[nrenew].lease = s->lease_seconds;
      renew[nrenew++].until = until;
    }
    /* The device has seen sequence numbers up to since - 1 on another node
     * (or before a restart): number on from there. */
    int64_t want = since[i] > NOTIFY_SINCE_MAX ? NOTIFY_SINCE_MAX : since[i];
    if (n->store && want > (int64_t)s->last_seq + 1) {
      if (s->adopted) {
        /* taken from the store since this device's last request: what
         * came meanwhile is new to it, numbered on from what it asks */
        for (int k = 0; k < s->ring_count; k++)
          s->ring[(s->ring_start + k) % NOTIFY_RING].sequence = (int)want + k;
        s->last_seq = (int)want + s->ring_count - 1;
      } else {
        s->last_seq = (int)want - 1;
        s->ring_count = 0;
      }
    }
    s->adopted = false;
    for (int k = 0; k < s->ring_count && count < max; k++) {
      const notify_event_t *e = &s->ring[(s->ring_start + k) % NOTIFY_RING];
      if (e->sequence >= since[i]) out[count++] = *e;
    }
  }
  if (count == 0 && nsubs > 0 && wait && !n->stopping) {
    notify_waiter_t *w = calloc(1, sizeof *w);
    if (w) {
      w->wake = wait->wake;
      w->arg = wait->arg;
      w->deadline = notify_now_ms() + (int64_t)n->wait_seconds * 1000;
      for (int i = 0; i < nsubs; i++) {
        /* A device that re-polls (say after a cut connection) replaces
         * its older parked request, which is answered empty. */
        if (subs[i]->waiter) notify_wake_locked(n, subs[i]->waiter, &wakes);
        subs[i]->waiter = w;
        w->subs[w->nsubs++] = subs[i];
      }
      w->prev = n->tail;
      if (n->tail)
        n->tail->next = w;
      else
        n->head = w;
      n->tail = w;
      n->parked++;
      if (wait->on_park) wait->on_park(wait->arg);
      *parked = true;
    }
  }
  pthread_mutex_unlock(&n->mu);
  notify_deliver(wakes);
  for (int i = 0; i < nrenew; i++) {
    store_status_t st =
        store_subscription_renew(n->store, renew[i].id, device_id, renew[i].lease, renew[i].until);
    if (st == STORE_NOT_FOUND) {
      notify_forget(n, device_id, renew[i].id); /* canceled through another node */
    } else if (st != STORE_OK) {
      pthread_mutex_lock(&n->mu); /* not written: the next request tries again */
      notify_sub_t *s = notify_find_locked(n, renew[i].id);
      if (s) s->stored_expires_at = 0;
      pthread_mutex_unlock(&n->mu);
    }
  }
  return count;
}

int notify_parked_count(notify_t *n) {
  pthread_mutex_lock(&n->mu);
  int c = n->parked;
  pthread_mutex_unlock(&n->mu);
  return c;
}
