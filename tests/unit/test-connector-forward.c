/*
 * test-connector-forward.c: what the connector's local IPP printer sends
 * nimbusd for a PC's job (upload_forward_request + upload_start, the path
 * of intake.c), against a fake nimbusd on loopback that decodes the
 * request off the wire.  Billing by purpose (issue 13): job-account-id
 * and job-accounting-user-id given by the PC reach nimbusd unchanged
 * (group, value tag, bytes, UTF-8 included), next to the document; the
 * hop's own attributes are the connector's (a PC cannot pass its own
 * printer-uri or job-originating-host-name through); and nimbusd's
 * account refusal (client-error-account-limit-reached) comes back as it
 * was sent, for the listener to hand to the PC.
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
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "errpattern.h"
#include "ippc.h"
#include "ippmem.h"
#include "upload.h"

#define QUEUE_PATH "/ipp/print/acme/office"
#define UUID "urn:uuid:00000000-0000-0000-0000-000000000013"
#define ACCOUNT "Client \xc3\x84 / CLIENT-A" /* "Client Ä / CLIENT-A" */
#define ACCOUNTING_USER "alice@billing"
#define DOC "%PDF-1.4 a document that is not looked at\n"

/* The fake nimbusd: one connection, one request, one answer. */
typedef struct {
  int listen_fd, port;
  ipp_status_t answer; /* the status it answers with */
  ipp_t *got;          /* the decoded request */
  char doc[256];       /* the document bytes after the attribute section */
  size_t doc_len;
  bool chunked;
} fake_t;

/* Read into buf until the headers' end; returns the header length (-1 on EOF). */
static long read_headers(int fd, char *buf, size_t cap, size_t *got) {
  while (*got < cap - 1) {
    ssize_t n = read(fd, buf + *got, cap - 1 - *got);
    if (n <= 0) return -1;
    *got += (size_t)n;
    buf[*got] = 0;
    char *end = strstr(buf, "\r\n\r\n");
    if (end) return end + 4 - buf;
  }
  return -1;
}

/* Dechunk the body (raw holds what was read so far; reads more from fd). */
static unsigned char *read_chunked(int fd, char *raw, size_t have, size_t cap, size_t *len) {
  unsigned char *out = malloc(cap);
  size_t olen = 0, pos = 0;
  for (;;) {
    char *eol;
    while (!(eol = memmem(raw + pos, have - pos, "\r\n", 2))) {
      ssize_t n = read(fd, raw + have, cap - have);
      if (n <= 0) goto fail;
      have += (size_t)n;
    }
    size_t size = strtoul(raw + pos, NULL, 16);
    pos = (size_t)(eol - raw) + 2;
    while (have - pos < size + 2) {
      ssize_t n = read(fd, raw + have, cap - have);
      if (n <= 0) goto fail;
      have += (size_t)n;
    }
    if (size == 0) break;
    memcpy(out + olen, raw + pos, size);
    olen += size;
    pos += size + 2;
  }
  *len = olen;
  return out;
fail:
  free(out);
  return NULL;
}

static void *fake_serve(void *arg) {
  fake_t *f = arg;
  int fd = accept(f->listen_fd, NULL, NULL);
  close(f->listen_fd);
  if (fd < 0) return NULL;
  size_t cap = 1 << 20, got = 0;
  char *raw = malloc(cap);
  long hl = read_headers(fd, raw, cap, &got);
  if (hl < 0) goto done;
  f->chunked = strcasestr(raw, "Transfer-Encoding: chunked") != NULL;
  size_t blen = 0;
  unsigned char *body = NULL;
  if (f->chunked) {
    memmove(raw, raw + hl, got - (size_t)hl);
    body = read_chunked(fd, raw, got - (size_t)hl, cap, &blen);
  } else {
    char *cl = strcasestr(raw, "Content-Length:");
    size_t want = cl ? strtoul(cl + 15, NULL, 10) : 0;
    while (got - (size_t)hl < want) {
      ssize_t n = read(fd, raw + got, cap - got);
      if (n <= 0) break;
      got += (size_t)n;
    }
    blen = got - (size_t)hl;
    body = malloc(blen + 1);
    memcpy(body, raw + hl, blen);
  }
  size_t used = 0;
  if (body && ippmem_decode(body, blen, &f->got, &used) == 1) {
    f->doc_len = blen - used < sizeof f->doc ? blen - used : sizeof f->doc;
    memcpy(f->doc, body + used, f->doc_len);
  }
  free(body);
  ipp_t *ans = ippNew();
  ippSetVersion(ans, 2, 0);
  ippSetStatusCode(ans, f->answer);
  ippSetRequestId(ans, f->got ? ippGetRequestId(f->got) : 1);
  ippAddString(ans, IPP_TAG_OPERATION, IPP_TAG_CHARSET, "attributes-charset", NULL, "utf-8");
  ippAddString(ans, IPP_TAG_OPERATION, IPP_TAG_LANGUAGE, "attributes-natural-language", NULL, "en");
  if (f->answer == IPP_STATUS_OK)
    ippAddInteger(ans, IPP_TAG_JOB, IPP_TAG_INTEGER, "job-id", 42);
  else
    ippAddString(ans, IPP_TAG_OPERATION, IPP_TAG_TEXT, "status-message", NULL,
                 "not enough left on account CLIENT-A");
  size_t alen = 0;
  unsigned char *enc = ippmem_encode(ans, &alen);
  ippDelete(ans);
  char head[256];
  int n = snprintf(head, sizeof head,
                   "HTTP/1.1 200 OK\r\nContent-Type: application/ipp\r\nContent-Length: %zu\r\n"
                   "Connection: close\r\n\r\n",
                   alen);
  if (write(fd, head, (size_t)n) < 0 || write(fd, enc, alen) < 0) perror("write");
  free(enc);
done:
  free(raw);
  close(fd);
  return NULL;
}

static void fake_start(fake_t *f, pthread_t *t, ipp_status_t answer) {
  memset(f, 0, sizeof *f);
  f->answer = answer;
  f->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof a;
  assert_true(f->listen_fd >= 0);
  assert_int_equal(bind(f->listen_fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(f->listen_fd, 4), 0);
  assert_int_equal(getsockname(f->listen_fd, (struct sockaddr *)&a, &al), 0);
  f->port = ntohs(a.sin_port);
  assert_int_equal(pthread_create(t, NULL, fake_serve, f), 0);
}

/* The PC's Print-Job as CUPS sends it with -o job-billing=... (job group). */
static ipp_t *pc_print_job(void) {
  ipp_t *pc = ippNewRequest(IPP_OP_PRINT_JOB);
  ippAddString(pc, IPP_TAG_OPERATION, IPP_TAG_URI, "printer-uri", NULL,
               "ipp://printer.local:8631/ipp/print");
  ippAddString(pc, IPP_TAG_OPERATION, IPP_TAG_NAME, "requesting-user-name", NULL, "alice");
  ippAddString(pc, IPP_TAG_OPERATION, IPP_TAG_NAME, "job-name", NULL, "Report.pdf");
  /* a PC claiming another origin: the connector's own value replaces it */
  ippAddString(pc, IPP_TAG_OPERATION, IPP_TAG_NAME, "job-originating-host-name", NULL, "spoofed");
  ippAddString(pc, IPP_TAG_JOB, IPP_TAG_NAME, "job-account-id", NULL, ACCOUNT);
  ippAddString(pc, IPP_TAG_JOB, IPP_TAG_NAME, "job-accounting-user-id", NULL, ACCOUNTING_USER);
  ippAddInteger(pc, IPP_TAG_JOB, IPP_TAG_INTEGER, "copies", 2);
  return pc;
}

static int count_named(ipp_t *ipp, const char *name) {
  int n = 0;
  for (ipp_attribute_t *a = ippFirstAttribute(ipp); a; a = ippNextAttribute(ipp))
    if (ippGetName(a) && !strcmp(ippGetName(a), name)) n++;
  return n;
}

/* The attribute is there once, as the PC sent it: group, tag, one value. */
static void assert_passed(ipp_t *ipp, const char *name, ipp_tag_t group, const char *value) {
  assert_int_equal(count_named(ipp, name), 1);
  ipp_attribute_t *a = ippFindAttribute(ipp, name, IPP_TAG_ZERO);
  assert_non_null(a);
  assert_int_equal(ippGetGroupTag(a), group);
  assert_int_equal(ippGetValueTag(a), IPP_TAG_NAME);
  assert_int_equal(ippGetCount(a), 1);
  assert_string_equal(ippGetString(a, 0, NULL), value);
}

static void test_forward_request_keeps_accounting(void **state) {
  (void)state;
  ipp_t *pc = pc_print_job();
  ipp_t *fw = upload_forward_request(pc, IPP_OP_PRINT_JOB, "ipp://cloud:631" QUEUE_PATH, UUID, 0,
                                     "192.0.2.7");
  assert_int_equal(ippGetOperation(fw), IPP_OP_PRINT_JOB);
  assert_passed(fw, "job-account-id", IPP_TAG_JOB, ACCOUNT);
  assert_passed(fw, "job-accounting-user-id", IPP_TAG_JOB, ACCOUNTING_USER);
  assert_passed(fw, "requesting-user-name", IPP_TAG_OPERATION, "alice");
  assert_passed(fw, "job-originating-host-name", IPP_TAG_OPERATION, "192.0.2.7");
  assert_int_equal(count_named(fw, "printer-uri"), 1);
  assert_string_equal(ippGetString(ippFindAttribute(fw, "printer-uri", IPP_TAG_URI), 0, NULL),
                      "ipp://cloud:631" QUEUE_PATH);
  assert_int_equal(count_named(fw, "job-id"), 0);
  assert_int_equal(ippGetInteger(ippFindAttribute(fw, "copies", IPP_TAG_INTEGER), 0), 2);
  /* the PC may put them in the operation group (ipptool does what it is
   * told): they go through from there as well */
  ippDelete(pc);
  ippDelete(fw);
  pc = ippNewRequest(IPP_OP_CREATE_JOB);
  ippAddString(pc, IPP_TAG_OPERATION, IPP_TAG_NAME, "job-account-id", NULL, "Personal");
  fw = upload_forward_request(pc, IPP_OP_CREATE_JOB, "ipp://cloud:631" QUEUE_PATH, UUID, 0, "");
  assert_passed(fw, "job-account-id", IPP_TAG_OPERATION, "Personal");
  assert_int_equal(count_named(fw, "job-originating-host-name"), 0);
  ippDelete(pc);
  ippDelete(fw);
}

typedef struct {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  bool woken;
} waiter_t;

static void on_park(void *ctx) {
  (void)ctx;
}
static void on_wake(void *ctx) {
  waiter_t *w = ctx;
  pthread_mutex_lock(&w->lock);
  w->woken = true;
  pthread_cond_signal(&w->cond);
  pthread_mutex_unlock(&w->lock);
}

/* A PC's Print-Job through upload_start to the fake nimbusd; its answer. */
static ipp_t *send_through(fake_t *f, ipp_status_t answer, ippc_result_t *result) {
  pthread_t t;
  fake_start(f, &t, answer);
  char server[64], queue[128], err[256];
  snprintf(server, sizeof server, "ipp://127.0.0.1:%d/", f->port);
  snprintf(queue, sizeof queue, "ipp://127.0.0.1:%d" QUEUE_PATH, f->port);
  errpattern_t pattern;
  assert_true(
      errpattern_parse(ERRPATTERN_DEFAULT, ERRPATTERN_DEFAULT_MESSAGE, &pattern, err, sizeof err));
  atomic_bool allowed = true, stopping = false;
  ippc_t proto;
  assert_true(ippc_init(&proto, server, UUID, "nmd_test", &pattern, 30, &allowed, &stopping, err,
                        sizeof err));
  upload_group_t g;
  upload_group_init(&g);
  waiter_t w = {.woken = false};
  pthread_mutex_init(&w.lock, NULL);
  pthread_cond_init(&w.cond, NULL);
  ipp_t *pc = pc_print_job();
  ipp_t *fw = upload_forward_request(pc, IPP_OP_PRINT_JOB, queue, UUID, 0, "192.0.2.7");
  ippDelete(pc);
  upload_t *u = upload_start(&g, &proto, fw, queue, 4096, true, on_park, on_wake, &w);
  assert_non_null(u);
  assert_int_equal(upload_feed(u, DOC, strlen(DOC)), strlen(DOC));
  /* as intake.c: close, and on each wake ask again until it is answered
   * (a wake may also say the buffer has room again) */
  for (;;) {
    pthread_mutex_lock(&w.lock);
    w.woken = false;
    pthread_mutex_unlock(&w.lock);
    if (upload_close(u)) break;
    pthread_mutex_lock(&w.lock);
    while (!w.woken) pthread_cond_wait(&w.cond, &w.lock);
    pthread_mutex_unlock(&w.lock);
  }
  ipp_t *resp = NULL;
  ippc_status_t st;
  int64_t sent = 0;
  *result = upload_result(u, &resp, &st, &sent);
  if (!resp)
    fprintf(stderr, "no answer: http %d ipp %d: %s\n", st.http_status, st.ipp_status, st.message);
  assert_int_equal(sent, (int64_t)strlen(DOC));
  upload_abandon(u);
  upload_group_abort(&g);
  upload_group_destroy(&g);
  pthread_join(t, NULL);
  ippc_close(&proto);
  pthread_mutex_destroy(&w.lock);
  pthread_cond_destroy(&w.cond);
  return resp;
}

static void test_upload_carries_accounting(void **state) {
  (void)state;
  fake_t f;
  ippc_result_t r;
  ipp_t *resp = send_through(&f, IPP_STATUS_OK, &r);
  assert_int_equal(r, IPPC_OK);
  assert_non_null(resp);
  assert_int_equal(ippGetInteger(ippFindAttribute(resp, "job-id", IPP_TAG_INTEGER), 0), 42);
  ippDelete(resp);
  /* what nimbusd read off the wire */
  assert_true(f.chunked);
  assert_non_null(f.got);
  assert_int_equal(ippGetOperation(f.got), IPP_OP_PRINT_JOB);
  assert_passed(f.got, "job-account-id", IPP_TAG_JOB, ACCOUNT);
  assert_passed(f.got, "job-accounting-user-id", IPP_TAG_JOB, ACCOUNTING_USER);
  assert_passed(f.got, "requesting-user-name", IPP_TAG_OPERATION, "alice");
  assert_passed(f.got, "job-originating-host-name", IPP_TAG_OPERATION, "192.0.2.7");
  char queue[128];
  snprintf(queue, sizeof queue, "ipp://127.0.0.1:%d" QUEUE_PATH, f.port);
  assert_string_equal(ippGetString(ippFindAttribute(f.got, "printer-uri", IPP_TAG_URI), 0, NULL),
                      queue);
  assert_string_equal(
      ippGetString(ippFindAttribute(f.got, "output-device-uuid", IPP_TAG_URI), 0, NULL), UUID);
  assert_true(ippmem_groups_ordered(f.got));
  assert_int_equal(f.doc_len, strlen(DOC));
  assert_memory_equal(f.doc, DOC, f.doc_len);
  ippDelete(f.got);
}

/* nimbusd refuses the account: the refusal is the PC's answer, unchanged. */
static void test_account_refusal_comes_back(void **state) {
  (void)state;
  fake_t f;
  ippc_result_t r;
  ipp_t *resp = send_through(&f, IPP_STATUS_ERROR_ACCOUNT_LIMIT_REACHED, &r);
  assert_int_equal(r, IPPC_IPP_ERROR);
  assert_non_null(resp);
  assert_int_equal(ippGetStatusCode(resp), IPP_STATUS_ERROR_ACCOUNT_LIMIT_REACHED);
  assert_string_equal(ippGetString(ippFindAttribute(resp, "status-message", IPP_TAG_TEXT), 0, NULL),
                      "not enough left on account CLIENT-A");
  ippDelete(resp);
  assert_non_null(f.got);
  assert_passed(f.got, "job-account-id", IPP_TAG_JOB, ACCOUNT);
  ippDelete(f.got);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_forward_request_keeps_accounting),
      cmocka_unit_test(test_upload_carries_accounting),
      cmocka_unit_test(test_account_refusal_comes_back),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
