/*
 * remote-sync.c: the sync thread of remote printer links (see
 * remote-sync.h, docs/FEDERATION.md §3).  Once a second it reads the links
 * from the store and serves each that is due, one after the other:
 *
 *  - a link holding a claim code registers (Register-Output-Device on its
 *    system URI) and keeps the answer's credential, sealed;
 *  - after registering, or at this thread's start, it reports its
 *    attributes (Update-Output-Device-Attributes);
 *  - it subscribes (Create-Printer-Subscriptions, ippget, renewed every
 *    half lease) and polls Get-Notifications without waiting every
 *    --remote-poll seconds; an event, a lost subscription, every
 *    --remote-resync seconds, or a remote without notifications (then on
 *    every poll) refreshes the list with Get-Jobs which-jobs=fetchable,
 *    which replaces the stored one;
 *  - the taken jobs' local copies are reported back (remote-take.c) when
 *    a local job changed (remote_sync_job_changed, chained into the job
 *    observer) and every REMOTE_REPORT_EVERY seconds.
 *
 * Failures set the link's status and last_error in words: no answer or a
 * server error is `unreachable`, retried after 5 s doubling to 300 s;
 * 401 is `credential-refused` and client-error-gone `deregistered`, both
 * left alone until an admin changes the link (its revision moves).  The
 * thread never touches local jobs: panels read what is stored.
 *
 * Several nodes on one database: only the holder of the store's
 * "remote-sync" lease (store_lease_take, like the housekeeping sweeps,
 * renewed every REMOTE_SYNC_LEASE_EVERY seconds and lasting six times
 * that) talks to remotes, so each remote sees one output device polling.
 * A node that dies hands it on within the lease.  Should two nodes ever
 * sync at once, each write is a compare-and-set on the link's revision
 * and the list replacement is idempotent.
 *
 * Locking: rs->mu guards stopping and woken only (docs/LOCKING.md); it is
 * never held across I/O or a store call.
 */
#include "remote-sync.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "remote-ipp.h"
#include "remote-link.h"
#include "remote-take.h"

#define REMOTE_SYNC_LEASE "remote-sync"
#define REMOTE_SYNC_LEASE_EVERY 5
#define REMOTE_BACKOFF_MIN 5
#define REMOTE_BACKOFF_MAX 300
#define REMOTE_SUB_LEASE 3600
#define REMOTE_TIMEOUT 20
#define REMOTE_REPORT_EVERY 10 /* taken jobs' states are looked at least this often */

/* What this thread remembers of a link between rounds. */
typedef struct {
  nimbus_id_t id;
  int64_t revision;      /* the link's revision this was built for */
  time_t next_poll;      /* when to poll next (0: at once) */
  time_t next_resync;    /* when a Get-Jobs is due regardless of events */
  time_t renew_at;       /* when to renew the subscription */
  bool attrs_sent;       /* Update-Output-Device-Attributes done */
  bool no_notifications; /* the remote refused subscriptions: poll Get-Jobs */
  bool listed;           /* seen in this round's list */
} link_state_t;

struct remote_sync {
  nimbus_server_t *srv;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cond;
  bool stopping, woken; /* guarded by mu */
  atomic_bool report_due; /* a local job changed: report taken jobs now */
  time_t reported_at;     /* the last pass over the taken jobs */
  atomic_bool abort;    /* makes a request in flight give up (stop) */
  bool leader;          /* held the lease at the last check */
  time_t lease_at;      /* when the lease was last taken */
  int64_t mark;         /* the last sync mark given to the store */
  link_state_t states[REMOTE_LINKS_MAX];
  int nstates;
  nimbus_remote_link_t links[REMOTE_LINKS_MAX];
};

/* The document formats home printers take (Update-Output-Device-Attributes). */
static const char *const remote_formats[] = {"application/pdf", "image/pwg-raster", "image/urf",
                                             "image/jpeg"};

/* This link's remembered state, created (at once due) when new or when an
 * admin changed the link since. */
static link_state_t *remote_state_for(remote_sync_t *rs, const nimbus_remote_link_t *l) {
  link_state_t *s = NULL;
  for (int i = 0; i < rs->nstates && !s; i++)
    if (rs->states[i].id == l->id) s = &rs->states[i];
  if (!s) {
    if (rs->nstates == REMOTE_LINKS_MAX) return NULL;
    s = &rs->states[rs->nstates++];
    s->id = 0;
  }
  if (s->id != l->id || s->revision != l->revision) {
    memset(s, 0, sizeof *s);
    s->id = l->id;
    s->revision = l->revision;
  }
  s->listed = true;
  return s;
}

/* A sync mark greater than every one before, across restarts too. */
static int64_t remote_next_mark(remote_sync_t *rs) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  int64_t m = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
  rs->mark = m > rs->mark ? m : rs->mark + 1;
  return rs->mark;
}

/* Subscribe, renew and poll: *need_jobs when the list must be refreshed. */
static remote_result_t remote_sync_notifications(remote_sync_t *rs, remote_ipp_t *c,
                                                 nimbus_remote_link_t *l, link_state_t *s,
                                                 time_t now, bool *need_jobs, remote_status_t *st) {
  remote_result_t r = REMOTE_OK;
  if (l->subscription_id > 0 && now >= s->renew_at) {
    r = remote_ipp_renew(c, l->subscription_id, REMOTE_SUB_LEASE, st);
    if (r == REMOTE_IPP_ERROR) {
      l->subscription_id = 0; /* lost (lease ended, remote restarted): subscribe again */
      r = REMOTE_OK;
    } else if (r == REMOTE_OK) {
      s->renew_at = now + REMOTE_SUB_LEASE / 2;
    }
  }
  if (r == REMOTE_OK && l->subscription_id <= 0) {
    int id = 0;
    r = remote_ipp_subscribe(c, REMOTE_SUB_LEASE, &id, st);
    if (r == REMOTE_IPP_ERROR) {
      s->no_notifications = true; /* polling only */
      log_event(LOG_INFO, NULL, "remote printer link: no notifications, polling Get-Jobs", "link",
                l->name, (char *)NULL);
      *need_jobs = true;
      return REMOTE_OK;
    }
    if (r != REMOTE_OK) return r;
    l->subscription_id = id;
    l->last_sequence = 0;
    s->renew_at = now + REMOTE_SUB_LEASE / 2;
    *need_jobs = true; /* what happened before the subscription */
  }
  if (r != REMOTE_OK) return r;
  int events = 0;
  r = remote_ipp_get_notifications(c, l->subscription_id, &l->last_sequence, &events, st);
  if (r == REMOTE_IPP_ERROR) {
    l->subscription_id = 0; /* lost: subscribe on the next poll, refresh now */
    s->next_poll = 0;
    *need_jobs = true;
    return REMOTE_OK;
  }
  if (r == REMOTE_OK && events > 0) *need_jobs = true;
  (void)rs;
  return r;
}

/* The INFRA exchange of one due link; the outcome goes into l. */
static remote_result_t remote_sync_exchange(remote_sync_t *rs, nimbus_remote_link_t *l,
                                            link_state_t *s, const char *secret, time_t now,
                                            remote_status_t *st) {
  nimbus_server_t *srv = rs->srv;
  char err[256];
  remote_ipp_t c;
  if (!remote_ipp_open(&c, srv->metrics, (long long)l->tenant_id, l->name, l->printer_uri,
                       l->output_device_uuid, l->claim_pending ? "" : secret, REMOTE_TIMEOUT, err,
                       sizeof err)) {
    memset(st, 0, sizeof *st);
    snprintf(st->message, sizeof st->message, "%s", err);
    return REMOTE_HTTP_ERROR;
  }
  c.stopping = &rs->abort;
  remote_result_t r = REMOTE_OK;
  if (l->claim_pending) {
    char uuid[64], cred[NIMBUS_REMOTE_SEALED_MAX - 64];
    r = remote_ipp_register(&c, l->system_uri, secret, uuid, sizeof uuid, cred, sizeof cred, st);
    if (r == REMOTE_IPP_ERROR || r == REMOTE_HTTP_ERROR) r = REMOTE_REFUSED; /* the claim code */
    if (r == REMOTE_OK) {
      int64_t revision = l->revision;
      if (!remote_link_seal(srv, l, cred, false, err, sizeof err)) {
        snprintf(st->message, sizeof st->message, "%s", err);
        r = REMOTE_HTTP_ERROR;
      } else {
        snprintf(l->output_device_uuid, sizeof l->output_device_uuid, "%s", uuid);
        l->revision = revision;
        l->subscription_id = 0;
        log_event(LOG_INFO, NULL, "remote printer link registered", "link", l->name, "uuid", uuid,
                  (char *)NULL);
      }
    }
    memset(cred, 0, sizeof cred);
  }
  if (r == REMOTE_OK && !s->attrs_sent) {
    r = remote_ipp_update_attributes(&c, remote_formats,
                                     (int)(sizeof remote_formats / sizeof remote_formats[0]), st);
    if (r == REMOTE_IPP_ERROR) r = REMOTE_OK; /* optional for the remote */
    if (r == REMOTE_OK) s->attrs_sent = true;
  }
  bool need_jobs = s->no_notifications || now >= s->next_resync;
  if (r == REMOTE_OK && !s->no_notifications)
    r = remote_sync_notifications(rs, &c, l, s, now, &need_jobs, st);
  if (r == REMOTE_OK && need_jobs) {
    nimbus_remote_job_t *jobs = NULL;
    int n = 0;
    r = remote_ipp_get_jobs(&c, REMOTE_JOBS_MAX, &jobs, &n, st);
    if (r == REMOTE_OK) {
      if (store_remote_jobs_replace(srv->store, l->tenant_id, l->id, jobs, n, (int64_t)now,
                                    remote_next_mark(rs)) == STORE_OK) {
        s->next_resync = now + srv->cfg.remote_resync;
      } else {
        s->next_resync = 0; /* try again on the next poll */
      }
    }
    free(jobs);
  }
  remote_ipp_close(&c);
  return r;
}

/* Serve one due link and store its outcome. */
static void remote_sync_link(remote_sync_t *rs, nimbus_remote_link_t *l, link_state_t *s,
                             time_t now) {
  nimbus_server_t *srv = rs->srv;
  char secret[NIMBUS_REMOTE_SEALED_MAX];
  char old_status[sizeof l->status];
  memcpy(old_status, l->status, sizeof old_status);
  remote_status_t st = {0};
  remote_result_t r;
  if (!remote_link_unseal(srv, l, secret, sizeof secret)) {
    r = REMOTE_REFUSED;
    snprintf(st.message, sizeof st.message,
             "the stored credential does not open with this secrets key; give it again");
  } else {
    r = remote_sync_exchange(rs, l, s, secret, now, &st);
  }
  memset(secret, 0, sizeof secret);
  switch (r) {
    case REMOTE_OK:
      snprintf(l->status, sizeof l->status, "%s", REMOTE_STATUS_OK);
      l->last_error[0] = '\0';
      l->failures = 0;
      l->last_ok_at = (int64_t)now;
      l->next_try_at = (int64_t)now + srv->cfg.remote_poll;
      break;
    case REMOTE_REFUSED:
    case REMOTE_GONE:
      snprintf(l->status, sizeof l->status, "%s",
               r == REMOTE_GONE ? REMOTE_STATUS_DEREGISTERED : REMOTE_STATUS_REFUSED);
      remote_status_words(r, &st, l->last_error, sizeof l->last_error);
      l->next_try_at = 0;
      break;
    default: {
      snprintf(l->status, sizeof l->status, "%s", REMOTE_STATUS_UNREACHABLE);
      remote_status_words(r, &st, l->last_error, sizeof l->last_error);
      int backoff = REMOTE_BACKOFF_MIN;
      for (int i = 0; i < l->failures && backoff < REMOTE_BACKOFF_MAX; i++) backoff *= 2;
      if (backoff > REMOTE_BACKOFF_MAX) backoff = REMOTE_BACKOFF_MAX;
      l->failures++;
      l->next_try_at = (int64_t)now + backoff;
      s->attrs_sent = false; /* report again once it answers */
      break;
    }
  }
  if (r == REMOTE_OK)
    s->next_poll = now + srv->cfg.remote_poll;
  else
    s->next_poll = (time_t)l->next_try_at;
  if (strcmp(old_status, l->status) != 0)
    log_event(r == REMOTE_OK ? LOG_INFO : LOG_WARN, NULL, "remote printer link status", "link",
              l->name, "tenant_id", LOG_INT((long long)l->tenant_id), "status", l->status, "error",
              l->last_error, (char *)NULL);
  store_status_t ss = store_remote_link_set_state(srv->store, l);
  if (ss == STORE_NOT_FOUND) s->revision = -1; /* changed or deleted meanwhile: read it again */
}

static bool remote_sync_lease(remote_sync_t *rs, time_t now);

/* One round over every link of every tenant (none: no lease is taken, so a
 * deployment without links writes nothing). */
static void remote_sync_round(remote_sync_t *rs) {
  int n = 0;
  if (store_remote_link_list(rs->srv->store, 0, rs->links, REMOTE_LINKS_MAX, &n) != STORE_OK ||
      n == 0 || !remote_sync_lease(rs, time(NULL))) {
    memset(rs->links, 0, (size_t)n * sizeof rs->links[0]);
    return;
  }
  for (int i = 0; i < rs->nstates; i++) rs->states[i].listed = false;
  for (int i = 0; i < n && !atomic_load(&rs->abort); i++) {
    nimbus_remote_link_t *l = &rs->links[i];
    link_state_t *s = remote_state_for(rs, l);
    if (!s) continue;
    if (!strcmp(l->status, REMOTE_STATUS_REFUSED) || !strcmp(l->status, REMOTE_STATUS_DEREGISTERED))
      continue; /* until an admin changes it */
    time_t now = time(NULL);
    if (s->next_poll > now) continue;
    if (l->failures > 0 && l->next_try_at > (int64_t)now) {
      s->next_poll = (time_t)l->next_try_at;
      continue;
    }
    remote_sync_link(rs, l, s, now);
  }
  /* the local copies of taken jobs: their states back to the remotes */
  time_t now = time(NULL);
  if (atomic_exchange(&rs->report_due, false) || now - rs->reported_at >= REMOTE_REPORT_EVERY) {
    rs->reported_at = now;
    remote_take_report(rs->srv);
  }
  /* forget links that are gone */
  int kept = 0;
  for (int i = 0; i < rs->nstates; i++)
    if (rs->states[i].listed) rs->states[kept++] = rs->states[i];
  rs->nstates = kept;
  memset(rs->links, 0, (size_t)n * sizeof rs->links[0]); /* sealed secrets do not linger */
}

/* Whether this node syncs: it holds the lease, or the store cannot say. */
static bool remote_sync_lease(remote_sync_t *rs, time_t now) {
  if (rs->lease_at && now - rs->lease_at < REMOTE_SYNC_LEASE_EVERY) return rs->leader;
  rs->lease_at = now;
  bool held = false;
  if (store_lease_take(rs->srv->store, REMOTE_SYNC_LEASE, rs->srv->cfg.node_id, (int64_t)now,
                       6 * REMOTE_SYNC_LEASE_EVERY, &held) != STORE_OK)
    held = true;
  if (held != rs->leader)
    log_event(LOG_INFO, NULL,
              held ? "this node syncs the remote printer links"
                   : "another node syncs the remote printer links",
              "node_id", rs->srv->cfg.node_id, (char *)NULL);
  rs->leader = held;
  return held;
}

static void *remote_sync_main(void *arg) {
  remote_sync_t *rs = arg;
  pthread_mutex_lock(&rs->mu);
  while (!rs->stopping) {
    if (!rs->woken) {
      struct timespec ts;
      clock_gettime(CLOCK_MONOTONIC, &ts);
      ts.tv_sec += 1;
      pthread_cond_timedwait(&rs->cond, &rs->mu, &ts);
    }
    if (rs->stopping) break;
    rs->woken = false;
    pthread_mutex_unlock(&rs->mu);
    remote_sync_round(rs);
    pthread_mutex_lock(&rs->mu);
  }
  pthread_mutex_unlock(&rs->mu);
  return NULL;
}

remote_sync_t *remote_sync_start(nimbus_server_t *srv) {
  remote_sync_t *rs = calloc(1, sizeof *rs);
  if (!rs) return NULL;
  rs->srv = srv;
  atomic_init(&rs->abort, false);
  atomic_init(&rs->report_due, false);
  pthread_mutex_init(&rs->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&rs->cond, &ca);
  pthread_condattr_destroy(&ca);
  if (pthread_create(&rs->thread, NULL, remote_sync_main, rs) != 0) {
    pthread_cond_destroy(&rs->cond);
    pthread_mutex_destroy(&rs->mu);
    free(rs);
    return NULL;
  }
  return rs;
}

void remote_sync_wake(remote_sync_t *rs) {
  if (!rs) return;
  pthread_mutex_lock(&rs->mu);
  rs->woken = true;
  pthread_cond_signal(&rs->cond);
  pthread_mutex_unlock(&rs->mu);
}

void remote_sync_job_changed(void *ctx, const nimbus_job_t *job, nimbus_job_state_t from) {
  nimbus_server_t *srv = ctx;
  (void)from;
  /* a taken remote job's local copy came through a printer (its origin) */
  if (!srv || !srv->remote_sync || !job->origin_device_id || !remote_take_ipp_state(job->state))
    return;
  atomic_store(&srv->remote_sync->report_due, true);
  remote_sync_wake(srv->remote_sync);
}

void remote_sync_stop(remote_sync_t *rs) {
  if (!rs) return;
  atomic_store(&rs->abort, true);
  pthread_mutex_lock(&rs->mu);
  rs->stopping = true;
  pthread_cond_signal(&rs->cond);
  pthread_mutex_unlock(&rs->mu);
  pthread_join(rs->thread, NULL);
  pthread_cond_destroy(&rs->cond);
  pthread_mutex_destroy(&rs->mu);
  free(rs);
}
