/*
 * held.c: connections held outside libmicrohttpd while a long-poll waits
 * (see held.h; ARCHITECTURE.md §6 "Parked printers").
 *
 * Why: a Get-Notifications with notify-wait may wait a minute.  Kept inside
 * libmicrohttpd, its connection stays suspended with its memory pool and
 * our request context (about 50 KiB), and libmicrohttpd 0.9.75 walks the
 * whole suspended list on every resume, so idle CPU grows with the square
 * of the printers.  Instead, http.c duplicates the socket and lets
 * libmicrohttpd drop its connection: with MHD_USE_TURBO it closes only its
 * own descriptor, never shutdown(2)s the socket, and it removes the socket
 * from its epoll set before closing (libmicrohttpd 0.9.75 daemon.c,
 * MHD_cleanup_connections and connection.c, MHD_connection_mark_closed_).
 *
 * The life of a held connection:
 *   held_new()      a worker, in the handler's finish(): counted, listed;
 *   held_release()  the event thread, once libmicrohttpd completed the
 *                   request on its side: from here on the held thread owns
 *                   the socket (before that nothing may be written: the
 *                   client could send its next request while
 *                   libmicrohttpd still reads the connection);
 *   held_answer()   any thread, exactly once, with the whole response;
 *   the held thread writes it (EPOLLOUT if the socket is full, 30 s at
 *   most) and then gives a keep-alive connection back to libmicrohttpd
 *   (MHD_add_connection) for its next request, or closes it.
 * While waiting, the held thread watches only for the peer hanging up
 * (EPOLLRDHUP, no reads): a dead connection keeps its descriptor, so its
 * number cannot be reused under the waiter, until it is answered (at the
 * latest at the deadline, or when the printer's next request replaces it).
 * A request a client pipelines behind its long-poll would stay in
 * libmicrohttpd's read buffer and be lost; IPP clients send the next
 * request only after the answer (and a pipelined one would wait a minute
 * behind the long-poll anyway).
 *
 * Locking: held_loop.mu guards the queue of connections that need the held
 * thread, the list of all connections and each connection's released /
 * answered / queued flags.  Everything else of a connection (epoll state,
 * the write) belongs to the held thread alone.
 */
#include "held.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

#define HELD_WRITE_TIMEOUT_MS 30000 /* an answer not all read 30 s after the first stall: close */
#define HELD_EVENTS 256             /* epoll events per wait */

struct http_held {
  held_loop_t *hl;
  int fd;
  held_info_t info;
  /* under hl->mu */
  bool released, answered, queued, close_after;
  char *out;
  size_t out_len;
  held_conn_t *next_queued;
  held_conn_t *prev_all, *next_all;
  /* held thread only */
  bool watching; /* in the epoll set */
  bool dead;     /* the peer hung up */
  bool writing;  /* answer partly written, waiting for EPOLLOUT */
  size_t out_off;
  int64_t write_deadline;
  held_conn_t *prev_w, *next_w; /* connections being written */
};

struct held_loop {
  pthread_mutex_t mu;
  pthread_mutex_t add_mu; /* `draining` and every MHD_add_connection() */
  pthread_t thread;
  bool thread_started;
  int epfd, evfd;
  int limit;
  atomic_int count;
  atomic_bool draining, stopping;
  struct MHD_Daemon *daemon;
  held_conn_t *queue_head, *queue_tail; /* under mu */
  held_conn_t *all;                     /* under mu */
  held_conn_t *writing;                 /* held thread only */
};

static int64_t held_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void held_kick(held_loop_t *hl) {
  uint64_t one = 1;
  ssize_t n = write(hl->evfd, &one, sizeof one);
  (void)n; /* the counter only overflows after 2^64 kicks; EAGAIN means already kicked */
}

/* Queue c for the held thread (mu held). */
static void held_queue_locked(held_loop_t *hl, held_conn_t *c) {
  if (c->queued) return;
  c->queued = true;
  c->next_queued = NULL;
  if (hl->queue_tail)
    hl->queue_tail->next_queued = c;
  else
    hl->queue_head = c;
  hl->queue_tail = c;
}

/* ---- the held thread ---- */

static void held_unwrite(held_loop_t *hl, held_conn_t *c) {
  if (!c->writing) return;
  if (c->prev_w)
    c->prev_w->next_w = c->next_w;
  else
    hl->writing = c->next_w;
  if (c->next_w) c->next_w->prev_w = c->prev_w;
  c->writing = false;
}

/* Done with c: close the socket or give it back to libmicrohttpd, and free. */
static void held_finish(held_loop_t *hl, held_conn_t *c, bool close_it) {
  held_unwrite(hl, c);
  if (c->watching) epoll_ctl(hl->epfd, EPOLL_CTL_DEL, c->fd, NULL);
  pthread_mutex_lock(&hl->mu);
  if (c->prev_all)
    c->prev_all->next_all = c->next_all;
  else
    hl->all = c->next_all;
  if (c->next_all) c->next_all->prev_all = c->prev_all;
  pthread_mutex_unlock(&hl->mu);
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  if (close_it || !hl->daemon || getpeername(c->fd, (struct sockaddr *)&ss, &sl) != 0) {
    close(c->fd);
  } else {
    /* Under add_mu, so that once held_loop_drain() has returned no
     * connection is being given to a daemon that is about to stop. */
    pthread_mutex_lock(&hl->add_mu);
    if (atomic_load(&hl->draining))
      close(c->fd);
    else if (MHD_add_connection(hl->daemon, c->fd, (struct sockaddr *)&ss, sl) != MHD_YES)
      /* libmicrohttpd closed it (at its connection limit, say) */
      log_event(LOG_WARN, c->info.id, "held connection not taken back; closed", "peer",
                c->info.peer, (char *)NULL);
    pthread_mutex_unlock(&hl->add_mu);
  }
  free(c->out);
  free(c);
  atomic_fetch_sub(&hl->count, 1);
}

/* Write what is left of c's answer; on EAGAIN wait for EPOLLOUT. */
static void held_write(held_loop_t *hl, held_conn_t *c) {
  while (c->out_off < c->out_len) {
    ssize_t k =
        send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (k > 0) {
      c->out_off += (size_t)k;
      continue;
    }
    if (k < 0 && errno == EINTR) continue;
    if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!c->writing) {
        struct epoll_event ev = {.events = EPOLLOUT | EPOLLRDHUP, .data.ptr = c};
        if (epoll_ctl(hl->epfd, c->watching ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &ev) != 0) {
          held_finish(hl, c, true);
          return;
        }
        c->watching = true;
        c->writing = true;
        if (!c->write_deadline) c->write_deadline = held_now_ms() + HELD_WRITE_TIMEOUT_MS;
        c->prev_w = NULL;
        c->next_w = hl->writing;
        if (hl->writing) hl->writing->prev_w = c;
        hl->writing = c;
      }
      return;
    }
    held_finish(hl, c, true); /* the peer is gone */
    return;
  }
  held_finish(hl, c, c->close_after);
}

/* c was queued: released (watch it) and/or answered (write it). */
static void held_step(held_loop_t *hl, held_conn_t *c) {
  pthread_mutex_lock(&hl->mu);
  c->queued = false;
  bool answered = c->answered && c->released;
  pthread_mutex_unlock(&hl->mu);
  if (!answered) {
    if (!c->watching && !c->dead) {
      struct epoll_event ev = {.events = EPOLLRDHUP, .data.ptr = c};
      if (epoll_ctl(hl->epfd, EPOLL_CTL_ADD, c->fd, &ev) == 0)
        c->watching = true;
      else
        c->dead = true;
    }
    return;
  }
  if (c->dead) {
    held_finish(hl, c, true);
    return;
  }
  if (!c->writing) held_write(hl, c);
}

static void held_event(held_loop_t *hl, held_conn_t *c, uint32_t events) {
  if (events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP)) {
    if (c->writing) {
      held_finish(hl, c, true);
      return;
    }
    c->dead = true; /* keep the descriptor until the answer comes */
    epoll_ctl(hl->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    c->watching = false;
    return;
  }
  if ((events & EPOLLOUT) && c->writing) {
    held_unwrite(hl, c);
    held_write(hl, c);
  }
}

static void *held_main(void *arg) {
  held_loop_t *hl = arg;
  struct epoll_event evs[HELD_EVENTS];
  for (;;) {
    int n = epoll_wait(hl->epfd, evs, HELD_EVENTS, hl->writing ? 1000 : -1);
    for (int i = 0; i < n; i++) {
      if (evs[i].data.ptr == NULL) {
        uint64_t v;
        ssize_t r = read(hl->evfd, &v, sizeof v);
        (void)r;
        continue;
      }
      held_event(hl, evs[i].data.ptr, evs[i].events);
    }
    pthread_mutex_lock(&hl->mu);
    held_conn_t *q = hl->queue_head;
    hl->queue_head = hl->queue_tail = NULL;
    pthread_mutex_unlock(&hl->mu);
    while (q) {
      held_conn_t *next = q->next_queued;
      held_step(hl, q);
      q = next;
    }
    if (hl->writing) {
      int64_t now = held_now_ms();
      for (held_conn_t *c = hl->writing, *next; c; c = next) {
        next = c->next_w;
        if (c->write_deadline <= now) {
          log_event(LOG_WARN, c->info.id, "held answer not read in time; connection closed", "peer",
                    c->info.peer, (char *)NULL);
          held_finish(hl, c, true);
        }
      }
    }
    if (atomic_load(&hl->stopping)) break;
  }
  return NULL;
}

/* ---- the loop ---- */

held_loop_t *held_loop_start(int limit, char *err, size_t errlen) {
  held_loop_t *hl = calloc(1, sizeof *hl);
  if (!hl) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  hl->limit = limit;
  hl->epfd = epoll_create1(EPOLL_CLOEXEC);
  hl->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  pthread_mutex_init(&hl->mu, NULL);
  pthread_mutex_init(&hl->add_mu, NULL);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  if (hl->epfd < 0 || hl->evfd < 0 || epoll_ctl(hl->epfd, EPOLL_CTL_ADD, hl->evfd, &ev) != 0) {
    snprintf(err, errlen, "cannot set up the held-connection loop: %s", strerror(errno));
    held_loop_stop(hl);
    return NULL;
  }
  if (pthread_create(&hl->thread, NULL, held_main, hl) != 0) {
    snprintf(err, errlen, "cannot start the held-connection thread");
    held_loop_stop(hl);
    return NULL;
  }
  hl->thread_started = true;
  return hl;
}

void held_loop_set_daemon(held_loop_t *hl, struct MHD_Daemon *daemon) {
  hl->daemon = daemon;
}

void held_loop_drain(held_loop_t *hl) {
  if (!hl) return;
  pthread_mutex_lock(&hl->add_mu);
  atomic_store(&hl->draining, true);
  pthread_mutex_unlock(&hl->add_mu);
}

void held_loop_stop(held_loop_t *hl) {
  if (!hl) return;
  held_loop_drain(hl);
  if (hl->thread_started) {
    /* Every waiter was answered before this (notify_shutdown): let the
     * held thread write those answers. */
    for (int i = 0; i < 500 && atomic_load(&hl->count) > 0; i++) usleep(10000);
    atomic_store(&hl->stopping, true);
    held_kick(hl);
    pthread_join(hl->thread, NULL);
  }
  if (atomic_load(&hl->count) > 0)
    log_event(LOG_WARN, NULL, "held connections closed at exit", "count",
              LOG_INT(atomic_load(&hl->count)), (char *)NULL);
  while (hl->all) {
    held_conn_t *c = hl->all;
    hl->all = c->next_all;
    close(c->fd);
    free(c->out);
    free(c);
  }
  if (hl->epfd >= 0) close(hl->epfd);
  if (hl->evfd >= 0) close(hl->evfd);
  pthread_mutex_destroy(&hl->mu);
  pthread_mutex_destroy(&hl->add_mu);
  free(hl);
}

/* ---- connections ---- */

held_conn_t *held_new(held_loop_t *hl, int fd, const held_info_t *info) {
  if (atomic_fetch_add(&hl->count, 1) >= hl->limit) {
    atomic_fetch_sub(&hl->count, 1);
    return NULL;
  }
  held_conn_t *c = calloc(1, sizeof *c);
  int dup_fd = c ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
  if (!c || dup_fd < 0) {
    free(c);
    atomic_fetch_sub(&hl->count, 1);
    return NULL;
  }
  c->hl = hl;
  c->fd = dup_fd;
  c->info = *info;
  pthread_mutex_lock(&hl->mu);
  c->next_all = hl->all;
  if (hl->all) hl->all->prev_all = c;
  hl->all = c;
  pthread_mutex_unlock(&hl->mu);
  return c;
}

void held_release(held_conn_t *c) {
  held_loop_t *hl = c->hl;
  pthread_mutex_lock(&hl->mu);
  c->released = true;
  held_queue_locked(hl, c);
  pthread_mutex_unlock(&hl->mu);
  held_kick(hl);
}

void held_answer(held_conn_t *c, char *data, size_t len, bool close) {
  held_loop_t *hl = c->hl;
  pthread_mutex_lock(&hl->mu);
  c->out = data;
  c->out_len = data ? len : 0;
  c->close_after = close || !data;
  c->answered = true;
  bool ready = c->released;
  if (ready) held_queue_locked(hl, c);
  pthread_mutex_unlock(&hl->mu);
  if (ready) held_kick(hl);
}

const held_info_t *held_info(const held_conn_t *c) {
  return &c->info;
}
