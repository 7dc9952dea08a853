/*
 * test-remote-ipp.c: the INFRA client of remote printer links
 * (src/server/federation/remote-ipp.c) against an in-test HTTP server on
 * loopback that answers one scripted reply per connection and keeps the
 * IPP request it got: Fetch-Document streams a 1 MiB document into a file
 * descriptor byte for byte (and reports a cut body), Get-Jobs asks only
 * the attributes of docs/FEDERATION.md §3 and reads the job groups, a 401
 * is "credential refused" and client-error-gone "deregistered".
 */
#include <arpa/inet.h>
#include <cups/cups.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "remote-ipp.h"

#define DOC_LEN (1024 * 1024 + 123)

typedef struct {
  int listen_fd;
  int port;
  pthread_t thread;
  /* the reply: an HTTP status line + headers are built from these */
  int http_status;
  ipp_t *answer;            /* IPP answer (NULL: no body) */
  const unsigned char *doc; /* bytes after the IPP answer */
  size_t doc_len;
  size_t cut; /* >0: announce doc_len but close after cut bytes */
  /* what came */
  ipp_t *request;
  char auth[256];
} fake_t;

typedef struct {
  unsigned char *p;
  size_t len, cap;
} membuf_t;

static ssize_t mem_write(void *ctx, ipp_uchar_t *buf, size_t len) {
  membuf_t *m = ctx;
  if (m->len + len > m->cap) {
    m->cap = (m->len + len) * 2;
    m->p = realloc(m->p, m->cap);
  }
  memcpy(m->p + m->len, buf, len);
  m->len += len;
  return (ssize_t)len;
}

typedef struct {
  const unsigned char *p;
  size_t len, off;
} memread_t;

static ssize_t mem_read(void *ctx, ipp_uchar_t *buf, size_t len) {
  memread_t *m = ctx;
  size_t n = m->len - m->off < len ? m->len - m->off : len;
  memcpy(buf, m->p + m->off, n);
  m->off += n;
  return (ssize_t)n;
}

static void send_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n > 0) {
    ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
    if (w <= 0) return;
    c += w;
    n -= (size_t)w;
  }
}

/* Read one request (headers, chunked or sized body), keep its IPP message. */
static void fake_read_request(fake_t *f, int fd) {
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  char *body = NULL;
  for (;;) {
    if (len + 1 >= cap) buf = realloc(buf, cap *= 2);
    ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
    if (n <= 0) break;
    len += (size_t)n;
    buf[len] = '\0';
    body = strstr(buf, "\r\n\r\n");
    if (!body) continue;
    body += 4;
    if (strcasestr(buf, "Transfer-Encoding: chunked")) {
      if (len >= 5 && !memcmp(buf + len - 5, "0\r\n\r\n", 5)) break;
    } else {
      const char *cl = strcasestr(buf, "Content-Length:");
      if (cl && (size_t)(buf + len - body) >= strtoul(cl + 15, NULL, 10)) break;
    }
  }
  const char *a = strcasestr(buf, "\r\nAuthorization: ");
  if (a) sscanf(a + 17, "%255[^\r]", f->auth);
  /* de-chunk */
  membuf_t msg = {0};
  if (body && strcasestr(buf, "Transfer-Encoding: chunked")) {
    const char *p = body;
    for (;;) {
      unsigned long n = strtoul(p, NULL, 16);
      p = strstr(p, "\r\n");
      if (!p || n == 0) break;
      p += 2;
      mem_write(&msg, (ipp_uchar_t *)p, n);
      p += n + 2;
    }
  } else if (body) {
    mem_write(&msg, (ipp_uchar_t *)body, (size_t)(buf + len - body));
  }
  memread_t r = {msg.p, msg.len, 0};
  f->request = ippNew();
  ippReadIO(&r, (ipp_iocb_t)mem_read, 1, NULL, f->request);
  free(msg.p);
  free(buf);
}

static void *fake_main(void *arg) {
  fake_t *f = arg;
  int fd = accept(f->listen_fd, NULL, NULL);
  if (fd < 0) return NULL;
  fake_read_request(f, fd);
  membuf_t ipp = {0};
  if (f->answer) {
    ippSetState(f->answer, IPP_STATE_IDLE);
    ippWriteIO(&ipp, (ipp_iocb_t)mem_write, 1, NULL, f->answer);
  }
  char head[256];
  int n = snprintf(head, sizeof head,
                   "HTTP/1.1 %d %s\r\nContent-Type: application/ipp\r\n%sContent-Length: %zu\r\n"
                   "Connection: close\r\n\r\n",
                   f->http_status, f->http_status == 200 ? "OK" : "Error",
                   f->http_status == 401 ? "WWW-Authenticate: Basic realm=\"t\"\r\n" : "",
                   ipp.len + f->doc_len);
  send_all(fd, head, (size_t)n);
  if (ipp.len) send_all(fd, ipp.p, ipp.len);
  size_t doc_send = f->cut ? f->cut : f->doc_len;
  for (size_t off = 0; off < doc_send; off += 50000)
    send_all(fd, f->doc + off, doc_send - off < 50000 ? doc_send - off : 50000);
  free(ipp.p);
  shutdown(fd, SHUT_RDWR);
  close(fd);
  return NULL;
}

static void fake_start(fake_t *f) {
  f->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(bind(f->listen_fd, (struct sockaddr *)&sa, sizeof sa), 0);
  assert_int_equal(listen(f->listen_fd, 4), 0);
  socklen_t sl = sizeof sa;
  getsockname(f->listen_fd, (struct sockaddr *)&sa, &sl);
  f->port = ntohs(sa.sin_port);
  assert_int_equal(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

static void fake_end(fake_t *f) {
  pthread_join(f->thread, NULL);
  close(f->listen_fd);
  ippDelete(f->request);
  ippDelete(f->answer);
}

static ipp_t *ok_answer(ipp_status_t status) {
  ipp_t *a = ippNew();
  ippSetVersion(a, 2, 0);
  ippSetStatusCode(a, status);
  ippSetRequestId(a, 1);
  ippAddString(a, IPP_TAG_OPERATION, IPP_TAG_CHARSET, "attributes-charset", NULL, "utf-8");
  ippAddString(a, IPP_TAG_OPERATION, IPP_TAG_LANGUAGE, "attributes-natural-language", NULL, "en");
  return a;
}

static void client_open(remote_ipp_t *c, const fake_t *f) {
  char uri[128], err[128];
  snprintf(uri, sizeof uri, "ipp://127.0.0.1:%d/ipp/print/acme/office", f->port);
  assert_true(remote_ipp_open(c, NULL, 1, "x", uri, "urn:uuid:11111111-2222-3333-4444-555555555555",
                              "sekrit-credential", 10, err, sizeof err));
}

static unsigned char *pattern(size_t n) {
  unsigned char *p = malloc(n);
  uint32_t x = 12345;
  for (size_t i = 0; i < n; i++) {
    x = x * 1103515245u + 12345u;
    p[i] = (unsigned char)(x >> 16);
  }
  return p;
}

/* The whole document arrives in the file, byte for byte. */
static void test_fetch_document_streams(void **state) {
  (void)state;
  fake_t f = {.http_status = 200};
  unsigned char *doc = pattern(DOC_LEN);
  f.answer = ok_answer(IPP_STATUS_OK);
  ippAddString(f.answer, IPP_TAG_OPERATION, IPP_TAG_MIMETYPE, "document-format", NULL,
               "application/pdf");
  f.doc = doc;
  f.doc_len = DOC_LEN;
  fake_start(&f);
  remote_ipp_t c;
  client_open(&c, &f);
  FILE *tmp = tmpfile();
  int64_t bytes = -1;
  char format[64];
  remote_status_t st;
  remote_result_t r =
      remote_ipp_fetch_document(&c, 7, 1, fileno(tmp), &bytes, format, sizeof format, &st);
  remote_ipp_close(&c);
  fake_end(&f);
  assert_int_equal(r, REMOTE_OK);
  assert_int_equal(bytes, DOC_LEN);
  assert_string_equal(format, "application/pdf");
  unsigned char *got = malloc(DOC_LEN + 1);
  rewind(tmp);
  assert_int_equal(fread(got, 1, DOC_LEN + 1, tmp), DOC_LEN);
  assert_memory_equal(got, doc, DOC_LEN);
  fclose(tmp);
  free(got);
  free(doc);
}

/* The request named the job and document, with the credential as Bearer. */
static void test_fetch_document_request(void **state) {
  (void)state;
  fake_t f = {.http_status = 200};
  unsigned char *doc = pattern(1000);
  f.answer = ok_answer(IPP_STATUS_OK);
  f.doc = doc;
  f.doc_len = 1000;
  fake_start(&f);
  remote_ipp_t c;
  client_open(&c, &f);
  FILE *tmp = tmpfile();
  int64_t bytes;
  remote_status_t st;
  assert_int_equal(remote_ipp_fetch_document(&c, 7, 1, fileno(tmp), &bytes, NULL, 0, &st),
                   REMOTE_OK);
  remote_ipp_close(&c);
  pthread_join(f.thread, NULL);
  assert_int_equal(ippGetOperation(f.request), IPP_OP_FETCH_DOCUMENT);
  assert_int_equal(ippGetInteger(ippFindAttribute(f.request, "job-id", IPP_TAG_INTEGER), 0), 7);
  assert_int_equal(
      ippGetInteger(ippFindAttribute(f.request, "document-number", IPP_TAG_INTEGER), 0), 1);
  assert_string_equal(f.auth, "Bearer sekrit-credential");
  f.thread = 0;
  close(f.listen_fd);
  ippDelete(f.request);
  ippDelete(f.answer);
  fclose(tmp);
  free(doc);
}

/* A body cut short is a failure, not a short document. */
static void test_fetch_document_cut(void **state) {
  (void)state;
  fake_t f = {.http_status = 200};
  unsigned char *doc = pattern(200000);
  f.answer = ok_answer(IPP_STATUS_OK);
  f.doc = doc;
  f.doc_len = 200000;
  f.cut = 70000;
  fake_start(&f);
  remote_ipp_t c;
  client_open(&c, &f);
  FILE *tmp = tmpfile();
  int64_t bytes;
  remote_status_t st;
  remote_result_t r = remote_ipp_fetch_document(&c, 7, 1, fileno(tmp), &bytes, NULL, 0, &st);
  remote_ipp_close(&c);
  fake_end(&f);
  assert_int_equal(r, REMOTE_UNREACHABLE);
  assert_true(bytes < 200000);
  assert_non_null(strstr(st.message, "cut short"));
  fclose(tmp);
  free(doc);
}

/* Get-Jobs asks which-jobs=fetchable and exactly the §3 attributes. */
static void test_get_jobs(void **state) {
  (void)state;
  fake_t f = {.http_status = 200};
  f.answer = ok_answer(IPP_STATUS_OK);
  for (int i = 0; i < 2; i++) {
    if (i) ippAddSeparator(f.answer);
    ippAddInteger(f.answer, IPP_TAG_JOB, IPP_TAG_INTEGER, "job-id", 41 + i);
    ippAddString(f.answer, IPP_TAG_JOB, IPP_TAG_NAME, "job-name", NULL, i ? "two" : "one");
    ippAddString(f.answer, IPP_TAG_JOB, IPP_TAG_NAME, "job-originating-user-name", NULL, "bob");
    ippAddInteger(f.answer, IPP_TAG_JOB, IPP_TAG_INTEGER, "job-impressions", 3 + i);
    ippAddInteger(f.answer, IPP_TAG_JOB, IPP_TAG_INTEGER, "time-at-creation", 1700000000 + i);
    ippAddInteger(f.answer, IPP_TAG_JOB, IPP_TAG_ENUM, "job-state", IPP_JSTATE_PENDING);
    ippAddString(f.answer, IPP_TAG_JOB, IPP_TAG_KEYWORD, "sides", NULL, "two-sided-long-edge");
  }
  fake_start(&f);
  remote_ipp_t c;
  client_open(&c, &f);
  nimbus_remote_job_t *jobs;
  int n;
  remote_status_t st;
  assert_int_equal(remote_ipp_get_jobs(&c, 100, &jobs, &n, &st), REMOTE_OK);
  remote_ipp_close(&c);
  pthread_join(f.thread, NULL);
  assert_int_equal(n, 2);
  assert_int_equal(jobs[1].remote_job_id, 42);
  assert_string_equal(jobs[1].name, "two");
  assert_string_equal(jobs[0].owner, "bob");
  assert_int_equal(jobs[1].pages, 4);
  assert_int_equal(jobs[0].submitted_at, 1700000000);
  assert_int_equal(jobs[0].copies, 1);
  assert_string_equal(jobs[0].sides, "two-sided-long-edge");
  free(jobs);
  assert_int_equal(ippGetOperation(f.request), IPP_OP_GET_JOBS);
  ipp_attribute_t *w = ippFindAttribute(f.request, "which-jobs", IPP_TAG_KEYWORD);
  assert_string_equal(ippGetString(w, 0, NULL), "fetchable");
  ipp_attribute_t *ra = ippFindAttribute(f.request, "requested-attributes", IPP_TAG_KEYWORD);
  static const char *const want[] = {"job-id",
                                     "job-name",
                                     "job-originating-user-name",
                                     "job-impressions",
                                     "job-media-sheets",
                                     "time-at-creation",
                                     "job-state",
                                     "copies",
                                     "sides",
                                     "print-color-mode",
                                     "media"};
  assert_int_equal(ippGetCount(ra), (int)(sizeof want / sizeof want[0]));
  for (int i = 0; i < ippGetCount(ra); i++) assert_string_equal(ippGetString(ra, i, NULL), want[i]);
  close(f.listen_fd);
  ippDelete(f.request);
  ippDelete(f.answer);
}

/* client-error-gone: the registration was deleted. */
static void test_gone(void **state) {
  (void)state;
  fake_t f = {.http_status = 200};
  f.answer = ok_answer(IPP_STATUS_ERROR_GONE);
  fake_start(&f);
  remote_ipp_t c;
  client_open(&c, &f);
  remote_status_t st;
  assert_int_equal(remote_ipp_acknowledge_job(&c, 5, &st), REMOTE_GONE);
  remote_ipp_close(&c);
  fake_end(&f);
}

/* 401: the credential is refused. */
static void test_refused(void **state) {
  (void)state;
  fake_t f = {.http_status = 401};
  fake_start(&f);
  remote_ipp_t c;
  client_open(&c, &f);
  remote_status_t st;
  assert_int_equal(remote_ipp_update_job_status(&c, 5, IPP_JSTATE_COMPLETED, 2, &st),
                   REMOTE_REFUSED);
  remote_ipp_close(&c);
  fake_end(&f);
}

/* Nobody listening: unreachable, in words. */
static void test_unreachable(void **state) {
  (void)state;
  fake_t f = {0};
  f.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  bind(f.listen_fd, (struct sockaddr *)&sa, sizeof sa);
  socklen_t sl = sizeof sa;
  getsockname(f.listen_fd, (struct sockaddr *)&sa, &sl);
  f.port = ntohs(sa.sin_port);
  close(f.listen_fd); /* the port is free: connections are refused */
  remote_ipp_t c;
  client_open(&c, &f);
  remote_status_t st;
  char words[400];
  remote_result_t r = remote_ipp_deregister(&c, &st);
  remote_ipp_close(&c);
  assert_int_equal(r, REMOTE_UNREACHABLE);
  remote_status_words(r, &st, words, sizeof words);
  assert_non_null(strstr(words, "did not answer"));
  assert_null(strstr(words, "sekrit"));
}

/* The defaults of FEDERATION.md §1. */
static void test_defaults(void **state) {
  (void)state;
  char out[256];
  assert_true(
      remote_default_system_uri("ipps://print.example:8443/ipp/print/t/q", out, sizeof out));
  assert_string_equal(out, "ipps://print.example:8443/ipp/system");
  assert_true(
      remote_default_service_url("ipps://print.example:8443/ipp/print/t/q", out, sizeof out));
  assert_string_equal(out, "https://print.example:8443");
  assert_true(remote_default_service_url("ipp://h:631/ipp/print/t/q", out, sizeof out));
  assert_string_equal(out, "http://h:631");
  assert_false(remote_default_system_uri("ftp://h/x", out, sizeof out));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fetch_document_streams),
      cmocka_unit_test(test_fetch_document_request),
      cmocka_unit_test(test_fetch_document_cut),
      cmocka_unit_test(test_get_jobs),
      cmocka_unit_test(test_gone),
      cmocka_unit_test(test_refused),
      cmocka_unit_test(test_unreachable),
      cmocka_unit_test(test_defaults),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
