/*
 * test-connector-ippc.c: the connector's held request (ippc_start) against
 * a one-shot server on loopback that answers once with "Connection: close"
 * and then goes away, as nimbusd does when it stops gracefully.  The next
 * request cannot be sent: ippc_start() must say so at once (transient)
 * instead of leaving a request "pending" on a connection without a socket,
 * which nobody would ever answer (the connector waited for the request
 * timeout, two minutes, before it resubscribed).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "errpattern.h"
#include "ippc.h"

typedef struct {
  int listen_fd;
  int port;
} server_t;

/* Accept one connection, read one request, answer "successful-ok" with
 * Connection: close, then close the connection and the listening socket. */
static void *serve_once(void *arg) {
  server_t *s = arg;
  int fd = accept(s->listen_fd, NULL, NULL);
  if (fd >= 0) {
    char buf[8192];
    size_t got = 0;
    long length = -1;
    char *body = NULL;
    while (got < sizeof buf - 1) {
      ssize_t n = read(fd, buf + got, sizeof buf - 1 - got);
      if (n <= 0) break;
      got += (size_t)n;
      buf[got] = 0;
      if (!body && (body = strstr(buf, "\r\n\r\n"))) {
        body += 4;
        char *cl = strcasestr(buf, "Content-Length:");
        length = cl ? strtol(cl + 15, NULL, 10) : 0;
      }
      if (body && (long)(got - (size_t)(body - buf)) >= length) break;
    }
    /* version 2.0, successful-ok, request-id 1, end-of-attributes */
    static const unsigned char ipp[] = {2, 0, 0, 0, 0, 0, 0, 1, 3};
    char head[256];
    int hl = snprintf(head, sizeof head,
                      "HTTP/1.1 200 OK\r\nContent-Type: application/ipp\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                      sizeof ipp);
    if (write(fd, head, (size_t)hl) < 0 || write(fd, ipp, sizeof ipp) < 0) perror("write");
    close(fd);
  }
  close(s->listen_fd);
  return NULL;
}

static int start_server(server_t *s, pthread_t *t) {
  s->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof a;
  if (s->listen_fd < 0 || bind(s->listen_fd, (struct sockaddr *)&a, sizeof a) ||
      listen(s->listen_fd, 4) || getsockname(s->listen_fd, (struct sockaddr *)&a, &al))
    return -1;
  s->port = ntohs(a.sin_port);
  return pthread_create(t, NULL, serve_once, s);
}

static void test_server_gone_after_close(void **state) {
  (void)state;
  server_t srv;
  pthread_t t;
  assert_int_equal(start_server(&srv, &t), 0);
  char url[64], uri[96], err[256];
  snprintf(url, sizeof url, "ipp://127.0.0.1:%d/", srv.port);
  snprintf(uri, sizeof uri, "ipp://127.0.0.1:%d/ipp/print/acme/office", srv.port);
  errpattern_t pattern;
  assert_true(
      errpattern_parse(ERRPATTERN_DEFAULT, ERRPATTERN_DEFAULT_MESSAGE, &pattern, err, sizeof err));
  atomic_bool allowed = true, stopping = false;
  ippc_t c;
  assert_true(ippc_init(&c, url, "urn:uuid:00000000-0000-0000-0000-000000000001", "nmd_test",
                        &pattern, 30, &allowed, &stopping, err, sizeof err));

  /* the first held request is answered (no events), the server leaves */
  ippc_status_t st;
  assert_int_equal(ippc_start(&c, ippc_request(&c, IPP_OP_GET_NOTIFICATIONS, uri), uri, &st),
                   IPPC_OK);
  assert_true(c.pending);
  ipp_t *resp = NULL;
  assert_int_equal(ippc_finish(&c, &resp, &st, false), IPPC_OK);
  ippDelete(resp);
  pthread_join(t, NULL); /* the listening socket is closed now */

  /* the next one cannot be sent: transient, at once, nothing pending */
  assert_int_equal(ippc_start(&c, ippc_request(&c, IPP_OP_GET_NOTIFICATIONS, uri), uri, &st),
                   IPPC_TRANSIENT);
  assert_false(c.pending);
  assert_non_null(strstr(st.message, "cannot send"));
  /* a connection without a socket is "ready": its failure can be read */
  assert_true(ippc_ready(&c));
  ippc_close(&c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_server_gone_after_close),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
