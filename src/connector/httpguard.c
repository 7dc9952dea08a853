/*
 * httpguard.c: see httpguard.h.
 *
 * Every connection is tracked from libmicrohttpd's "started" notice to its
 * "closed" notice (MHD_OPTION_NOTIFY_CONNECTION); libmicrohttpd closes the
 * socket only after the "closed" notice, so while an entry is in the list
 * under g->lock its descriptor is still the connection's.  The watchdog
 * cuts a late connection with shutdown(2) (never close(2)): the daemon
 * then reads end-of-file and closes it the ordinary way, with its usual
 * callbacks.
 *
 * A connection is "in a request" from the first call of the access
 * handler (all headers received) to the request's completion; outside a
 * request its deadline runs from `since` (connect, or the previous
 * completion).
 */
#include "httpguard.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "log.h"

#define HTTPGUARD_TICK_MS 500 /* how often the watchdog looks */

typedef struct guard_conn {
  struct guard_conn *prev, *next;
  int fd;
  char peer[INET6_ADDRSTRLEN];
  _Atomic int64_t since_ms; /* when the current wait for headers began */
  atomic_bool in_request;
  bool cut;
} guard_conn_t;

struct httpguard {
  char name[32];
  httpguard_limits_t limits;
  MHD_AccessHandlerCallback handler;
  void *handler_cls;
  MHD_RequestCompletedCallback completed;
  void *completed_cls;
  struct MHD_Daemon *d;
  int port;

  pthread_mutex_t lock; /* conns, stopping */
  pthread_cond_t cond;
  guard_conn_t *conns;
  bool stopping;
  pthread_t watchdog;
  _Atomic int64_t last_mhd_log_ms; /* libmicrohttpd's messages, at most one a second */
};

static int64_t guard_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static guard_conn_t *guard_conn_of(struct MHD_Connection *conn) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  return ci ? ci->socket_context : NULL;
}

static void guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                         enum MHD_ConnectionNotificationCode code) {
  httpguard_t *g = cls;
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    guard_conn_t *e = calloc(1, sizeof *e);
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!e || !ci) { /* untracked: only the idle timeout applies */
      free(e);
      *socket_context = NULL;
      return;
    }
    e->fd = ci->connect_fd;
    ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET)
      inet_ntop(AF_INET, &((const struct sockaddr_in *)ci->client_addr)->sin_addr, e->peer,
                sizeof e->peer);
    atomic_init(&e->since_ms, guard_now_ms());
    atomic_init(&e->in_request, false);
    pthread_mutex_lock(&g->lock);
    e->next = g->conns;
    if (g->conns) g->conns->prev = e;
    g->conns = e;
    pthread_mutex_unlock(&g->lock);
    *socket_context = e;
    return;
  }
  guard_conn_t *e = *socket_context; /* MHD_CONNECTION_NOTIFY_CLOSED */
  if (!e) return;
  pthread_mutex_lock(&g->lock);
  if (e->prev)
    e->prev->next = e->next;
  else
    g->conns = e->next;
  if (e->next) e->next->prev = e->prev;
  pthread_mutex_unlock(&g->lock);
  free(e);
  *socket_context = NULL;
}

static enum MHD_Result guard_access(void *cls, struct MHD_Connection *conn, const char *url,
                                    const char *method, const char *version,
                                    const char *upload_data, size_t *upload_size, void **con_cls) {
  httpguard_t *g = cls;
  if (!*con_cls) { /* the first call of a request: its headers are complete */
    guard_conn_t *e = guard_conn_of(conn);
    if (e) atomic_store(&e->in_request, true);
  }
  return g->handler(g->handler_cls, conn, url, method, version, upload_data, upload_size, con_cls);
}

static void guard_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                            enum MHD_RequestTerminationCode toe) {
  httpguard_t *g = cls;
  guard_conn_t *e = guard_conn_of(conn);
  if (e) { /* a kept-alive connection gets a new deadline for its next headers */
    atomic_store(&e->since_ms, guard_now_ms());
    atomic_store(&e->in_request, false);
  }
  if (g->completed) g->completed(g->completed_cls, conn, con_cls, toe);
}

/* libmicrohttpd's own messages (refused connections among them): logged,
 * at most one a second, so that a flood of connections cannot flood the log. */
static void guard_mhd_log(void *cls, const char *fmt, va_list ap) {
  httpguard_t *g = cls;
  int64_t now = guard_now_ms(), last = atomic_load(&g->last_mhd_log_ms);
  if (now - last < 1000 || !atomic_compare_exchange_strong(&g->last_mhd_log_ms, &last, now)) return;
  char text[256];
  vsnprintf(text, sizeof text, fmt, ap);
  text[strcspn(text, "\r\n")] = '\0';
  log_event(LOG_WARN, NULL, "http listener", "listener", g->name, "detail", text, (char *)NULL);
}

static void *guard_watchdog(void *arg) {
  httpguard_t *g = arg;
  int64_t deadline_ms = (int64_t)g->limits.header_timeout * 1000;
  pthread_mutex_lock(&g->lock);
  while (!g->stopping) {
    int64_t now = guard_now_ms();
    int cut = 0;
    char peer[INET6_ADDRSTRLEN] = "";
    for (guard_conn_t *e = g->conns; e; e = e->next) {
      if (e->cut || atomic_load(&e->in_request) || now - atomic_load(&e->since_ms) < deadline_ms)
        continue;
      if (shutdown(e->fd, SHUT_RDWR) == 0 || errno == ENOTCONN) {
        e->cut = true;
        cut++;
        snprintf(peer, sizeof peer, "%s", e->peer);
      }
    }
    if (cut)
      log_event(LOG_INFO, NULL, "connections cut: request headers not complete in time", "listener",
                g->name, "count", LOG_INT(cut), "peer", peer[0] ? peer : NULL, "header_timeout",
                LOG_INT(g->limits.header_timeout), (char *)NULL);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += HTTPGUARD_TICK_MS * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&g->cond, &g->lock, &ts);
  }
  pthread_mutex_unlock(&g->lock);
  return NULL;
}

httpguard_t *httpguard_start(const char *name, unsigned flags, const struct sockaddr_in *sa,
                             const httpguard_limits_t *limits, MHD_AccessHandlerCallback handler,
                             void *handler_cls, MHD_RequestCompletedCallback completed,
                             void *completed_cls, char *err, size_t errlen) {
  httpguard_t *g = calloc(1, sizeof *g);
  if (!g) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  snprintf(g->name, sizeof g->name, "%s", name);
  g->limits = *limits;
  g->handler = handler;
  g->handler_cls = handler_cls;
  g->completed = completed;
  g->completed_cls = completed_cls;
  atomic_init(&g->last_mhd_log_ms, 0);
  pthread_mutex_init(&g->lock, NULL);
  pthread_cond_init(&g->cond, NULL);
  if (pthread_create(&g->watchdog, NULL, guard_watchdog, g) != 0) {
    snprintf(err, errlen, "cannot start a thread");
    goto fail;
  }
  g->d = MHD_start_daemon(
      flags | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG,
      ntohs(sa->sin_port), NULL, NULL, guard_access, g, MHD_OPTION_EXTERNAL_LOGGER, guard_mhd_log,
      g, MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)sa, MHD_OPTION_NOTIFY_COMPLETED,
      guard_completed, g, MHD_OPTION_NOTIFY_CONNECTION, guard_notify, g,
      MHD_OPTION_CONNECTION_LIMIT, (unsigned)limits->max_connections,
      MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)limits->max_per_address,
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)limits->idle_timeout, MHD_OPTION_END);
  if (!g->d) {
    snprintf(err, errlen, "cannot listen");
    pthread_mutex_lock(&g->lock);
    g->stopping = true;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
    pthread_join(g->watchdog, NULL);
    goto fail;
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(g->d, MHD_DAEMON_INFO_BIND_PORT);
  g->port = info ? info->port : ntohs(sa->sin_port);
  return g;
fail:
  pthread_mutex_destroy(&g->lock);
  pthread_cond_destroy(&g->cond);
  free(g);
  return NULL;
}

struct MHD_Daemon *httpguard_daemon(httpguard_t *g) {
  return g->d;
}

int httpguard_port(const httpguard_t *g) {
  return g->port;
}

void httpguard_stop(httpguard_t *g) {
  if (!g) return;
  MHD_stop_daemon(g->d); /* closes every connection: each leaves the list */
  pthread_mutex_lock(&g->lock);
  g->stopping = true;
  pthread_cond_broadcast(&g->cond);
  pthread_mutex_unlock(&g->lock);
  pthread_join(g->watchdog, NULL);
  pthread_mutex_destroy(&g->lock);
  pthread_cond_destroy(&g->cond);
  free(g);
}
