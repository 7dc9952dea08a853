/*
 * pay-test-server.h: what the payment adapter unit tests share
 * (test-payments-providers.c, test-payments-saved-methods.c): a tiny HTTP
 * server in a thread on 127.0.0.1 that records each request and answers
 * scripted replies, readers of what it recorded, and the credentials and
 * request checks of both providers.  Included once per test program.
 */
#ifndef NIMBUS_PAY_TEST_SERVER_H
#define NIMBUS_PAY_TEST_SERVER_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "provider-private.h"
#include "provider.h"

/* ---- the in-test HTTP server ---- */

#define SRV_MAX 4

typedef struct {
  int status; /* 0: never answer (hold the connection until stopped) */
  const char *body;
} canned_t;

typedef struct {
  char method[16];
  char path[512];
  char headers[8192];
  char body[16384];
  size_t body_len;
} recorded_t;

typedef struct {
  int fd;
  int port;
  pthread_t thread;
  pthread_mutex_t mu;
  bool stop;
  canned_t replies[SRV_MAX];
  int nreplies;
  recorded_t reqs[SRV_MAX];
  int nreqs;
} srv_t;

static srv_t srv;

static bool srv_stopping(void) {
  pthread_mutex_lock(&srv.mu);
  bool s = srv.stop;
  pthread_mutex_unlock(&srv.mu);
  return s;
}

/* Read one request (headers, then Content-Length bytes) into rec. */
static bool srv_read_request(int c, recorded_t *rec) {
  char buf[32768];
  size_t len = 0;
  char *end = NULL;
  while (!end) {
    struct pollfd p = {c, POLLIN, 0};
    if (poll(&p, 1, 3000) <= 0) return false;
    ssize_t n = read(c, buf + len, sizeof(buf) - 1 - len);
    if (n <= 0) return false;
    len += (size_t)n;
    buf[len] = '\0';
    end = strstr(buf, "\r\n\r\n");
    if (!end && len == sizeof(buf) - 1) return false;
  }
  size_t head = (size_t)(end - buf) + 4;
  size_t clen = 0;
  const char *cl = strcasestr(buf, "\r\nContent-Length:");
  if (cl && cl < end) clen = strtoul(cl + 17, NULL, 10);
  while (len < head + clen && len < sizeof(buf) - 1) {
    ssize_t n = read(c, buf + len, sizeof(buf) - 1 - len);
    if (n <= 0) return false;
    len += (size_t)n;
  }
  buf[len] = '\0';
  sscanf(buf, "%15s %511s", rec->method, rec->path);
  const char *h = strstr(buf, "\r\n");
  snprintf(rec->headers, sizeof(rec->headers), "%.*s", (int)(end - h + 2), h);
  rec->body_len = clen < sizeof(rec->body) - 1 ? clen : sizeof(rec->body) - 1;
  memcpy(rec->body, buf + head, rec->body_len);
  rec->body[rec->body_len] = '\0';
  return true;
}

static void *srv_main(void *arg) {
  (void)arg;
  while (!srv_stopping()) {
    struct pollfd p = {srv.fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    int c = accept(srv.fd, NULL, NULL);
    if (c < 0) continue;
    recorded_t rec = {0};
    bool got = srv_read_request(c, &rec);
    pthread_mutex_lock(&srv.mu);
    int i = srv.nreqs;
    canned_t reply = {500, "{}"};
    if (got && i < SRV_MAX) {
      srv.reqs[i] = rec;
      srv.nreqs++;
      if (i < srv.nreplies) reply = srv.replies[i];
    }
    pthread_mutex_unlock(&srv.mu);
    if (reply.status == 0) {
      /* hold until the client gives up (closes: read() == 0) */
      char junk[256];
      while (!srv_stopping()) {
        struct pollfd q = {c, POLLIN, 0};
        if (poll(&q, 1, 20) > 0 && read(c, junk, sizeof(junk)) <= 0) break;
      }
    } else if (got) {
      char out[40000];
      int n = snprintf(out, sizeof(out),
                       "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                       "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                       reply.status, strlen(reply.body), reply.body);
      ssize_t w = write(c, out, (size_t)n);
      (void)w;
    }
    close(c);
  }
  return NULL;
}

static int srv_setup(void **state) {
  (void)state;
  memset(&srv, 0, sizeof(srv));
  pthread_mutex_init(&srv.mu, NULL);
  srv.fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(srv.fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(srv.fd, 8) != 0) return -1;
  socklen_t alen = sizeof(a);
  getsockname(srv.fd, (struct sockaddr *)&a, &alen);
  srv.port = ntohs(a.sin_port);
  pay_set_http_timeout(5);
  return pthread_create(&srv.thread, NULL, srv_main, NULL) == 0 ? 0 : -1;
}

static int srv_teardown(void **state) {
  (void)state;
  pthread_mutex_lock(&srv.mu);
  srv.stop = true;
  pthread_mutex_unlock(&srv.mu);
  pthread_join(srv.thread, NULL);
  close(srv.fd);
  pthread_mutex_destroy(&srv.mu);
  pay_set_http_timeout(10);
  return 0;
}

/* Script the next replies (and forget earlier requests). */
static void srv_script(int n, const canned_t *replies) {
  pthread_mutex_lock(&srv.mu);
  srv.nreplies = n;
  for (int i = 0; i < n; i++) srv.replies[i] = replies[i];
  srv.nreqs = 0;
  memset(srv.reqs, 0, sizeof(srv.reqs));
  pthread_mutex_unlock(&srv.mu);
}

static int srv_count(void) {
  pthread_mutex_lock(&srv.mu);
  int n = srv.nreqs;
  pthread_mutex_unlock(&srv.mu);
  return n;
}

/* The value of header name in rec (copied), NULL when absent. */
static const char *req_header(const recorded_t *rec, const char *name, char *out, size_t size) {
  char pat[128];
  snprintf(pat, sizeof(pat), "\r\n%s:", name);
  const char *h = strcasestr(rec->headers, pat);
  if (!h) return NULL;
  h += strlen(pat);
  while (*h == ' ') h++;
  const char *e = strstr(h, "\r\n");
  snprintf(out, size, "%.*s", (int)(e - h), h);
  return out;
}

/* The percent-decoded value of name in an x-www-form-urlencoded body. */
static const char *form_get(const char *body, const char *name, char *out, size_t size) {
  const char *p = body;
  size_t nl = strlen(name);
  while (p && *p) {
    const char *amp = strchr(p, '&');
    size_t n = amp ? (size_t)(amp - p) : strlen(p);
    if (n > nl && p[nl] == '=' && strncmp(p, name, nl) == 0) {
      size_t k = 0;
      for (size_t i = nl + 1; i < n && k + 1 < size; i++) {
        if (p[i] == '%' && i + 2 < n) {
          unsigned v;
          sscanf(p + i + 1, "%2x", &v);
          out[k++] = (char)v;
          i += 2;
        } else {
          out[k++] = p[i] == '+' ? ' ' : p[i];
        }
      }
      out[k] = '\0';
      return out;
    }
    p = amp ? amp + 1 : NULL;
  }
  return NULL;
}

static const char lp_secret[] = "5c2a0e6f1b9d4e8a7f3c6b1d2e9a4f70";

/* ---- credentials and request checks of both providers ---- */

static pay_credentials_t lp_creds(void) {
  pay_credentials_t c = {0};
  snprintf(c.provider, sizeof(c.provider), "linepay");
  snprintf(c.api_base, sizeof(c.api_base), "http://127.0.0.1:%d", srv.port);
  snprintf(c.channel_id, sizeof(c.channel_id), "1234567890");
  snprintf(c.channel_secret, sizeof(c.channel_secret), "%s", lp_secret);
  return c;
}

/* The request carries LINE Pay's headers and a signature that checks
 * (recomputed here with libsodium directly) over its path and body. */
static void check_linepay_signed(const recorded_t *rec, const char *method, const char *path) {
  char chan[64], nonce[64], auth[128], ctype[64];
  assert_string_equal(rec->method, method);
  assert_string_equal(rec->path, path);
  assert_non_null(req_header(rec, "Content-Type", ctype, sizeof(ctype)));
  assert_string_equal(ctype, "application/json");
  assert_non_null(req_header(rec, "X-LINE-ChannelId", chan, sizeof(chan)));
  assert_string_equal(chan, "1234567890");
  assert_non_null(req_header(rec, "X-LINE-Authorization-Nonce", nonce, sizeof(nonce)));
  assert_int_equal(strlen(nonce), 36);
  assert_non_null(req_header(rec, "X-LINE-Authorization", auth, sizeof(auth)));

  crypto_auth_hmacsha256_state st;
  unsigned char mac[32];
  char b64[64];
  crypto_auth_hmacsha256_init(&st, (const unsigned char *)lp_secret, strlen(lp_secret));
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)lp_secret, strlen(lp_secret));
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)path, strlen(path));
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)rec->body, rec->body_len);
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)nonce, strlen(nonce));
  crypto_auth_hmacsha256_final(&st, mac);
  sodium_bin2base64(b64, sizeof(b64), mac, sizeof(mac), sodium_base64_VARIANT_ORIGINAL);
  assert_string_equal(auth, b64);
}

static pay_credentials_t st_creds(void) {
  pay_credentials_t c = {0};
  snprintf(c.provider, sizeof(c.provider), "stripe");
  snprintf(c.api_base, sizeof(c.api_base), "http://127.0.0.1:%d", srv.port);
  snprintf(c.secret_key, sizeof(c.secret_key), "sk_test_nimbus123456789");
  c.nwebhook_secrets = 2;
  snprintf(c.webhook_secrets[0], sizeof(c.webhook_secrets[0]), "whsec_test_secret_for_nimbus");
  snprintf(c.webhook_secrets[1], sizeof(c.webhook_secrets[1]), "whsec_rolled_new_secret");
  return c;
}

static void check_stripe_request(const recorded_t *rec, const char *method, const char *path,
                                 const char *idem) {
  char v[256];
  assert_string_equal(rec->method, method);
  assert_string_equal(rec->path, path);
  assert_non_null(req_header(rec, "Authorization", v, sizeof(v)));
  assert_string_equal(v, "Bearer sk_test_nimbus123456789");
  if (idem) {
    assert_non_null(req_header(rec, "Idempotency-Key", v, sizeof(v)));
    assert_string_equal(v, idem);
    assert_non_null(req_header(rec, "Content-Type", v, sizeof(v)));
    assert_string_equal(v, "application/x-www-form-urlencoded");
  } else {
    assert_null(req_header(rec, "Idempotency-Key", v, sizeof(v)));
  }
}

#endif
