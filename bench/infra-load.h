/*
 * infra-load.h: what the parts of infra-load share (bench/infra-load.c:
 * main and the utilities; bench/infra-provision.c: the provision
 * sub-command; bench/infra-run.c: the run sub-command).  See infra-load.c
 * for what the tool does.
 */
#ifndef NIMBUS_BENCH_INFRA_LOAD_H
#define NIMBUS_BENCH_INFRA_LOAD_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <arpa/inet.h>
#include <cups/cups.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench-util.h"

#define IL_MAX_PRINTERS 200000
#define IL_READ_CHUNK (64 * 1024)
#define IL_MAX_RESPONSE                                                    \
  (1024 * 1024) /* a Get-Notifications answer larger than this is an error \
                 */
#define IL_EPOLL_BATCH 512
#define IL_RECONNECT_MS 1000.0
/* Printers per node one loopback source address takes by default (of the
 * ~28,000 ephemeral ports of ip_local_port_range), and the most source
 * addresses --source-addresses spreads them over (127.0.0.1 onwards). */
#define IL_PRINTERS_PER_SOURCE 20000
#define IL_MAX_SOURCES 250

/* ------------------------------------------------------------------ utilities */

/* Growable byte buffer. */
typedef struct il_buf_s {
  char *data;
  size_t len, cap;
} il_buf_t;

/* Sleeps ms milliseconds (restarted on EINTR). */
void il_sleep_ms(double ms);
bool il_buf_append(il_buf_t *b, const void *data, size_t n);
void il_buf_free(il_buf_t *b);

/* --------------------------------------------------------------- REST (libcurl) */

/* libcurl write callback appending to an il_buf_t. */
size_t il_curl_write(char *ptr, size_t size, size_t nmemb, void *userdata);
long il_rest(CURL *c, const char *method, const char *url, const char *userpwd, const char *bearer,
             const char *json, il_buf_t *out);

/* ------------------------------------------------------------------ credentials */

typedef struct il_cred_s {
  char *queue;       /* queue name */
  char *resource;    /* /ipp/print/<tenant>/<queue> */
  char *printer_uri; /* as the server reported it */
  char *uuid;        /* output-device-uuid */
  char *credential;  /* nmd_... */
} il_cred_t;

typedef struct il_creds_s {
  char tenant[64];
  char token[128]; /* tenant-admin API token (job submission, release) */
  il_cred_t *c;
  int n;
} il_creds_t;

bool il_creds_load(const char *path, il_creds_t *cr, int want);

/* ---------------------------------------------------------------- infra-util.c */

#define IL_MAX_NODES 2

/* One nimbusd the printers park on (--url/--pid, --url2/--pid2). */
typedef struct il_node_s {
  const char *url;
  char host[256];
  int port;
  struct sockaddr_storage addr;
  socklen_t addrlen;
  char host_header[300];
  long pid; /* 0: not given (no /proc figures for this node) */
} il_node_t;

/* Split node->url (http://HOST:PORT, IPv6 in brackets) and resolve it. */
bool il_parse_url(il_node_t *node);

/* A figure of a process read from /proc: a status field, open fds, CPU ticks. */
typedef enum { IL_FIG_STATUS, IL_FIG_FDS, IL_FIG_CPU } il_figure_t;
/* That figure summed over the nodes whose pid is known (field: the
 * /proc/PID/status line for IL_FIG_STATUS); -1 when the first node's is
 * unreadable. */
long long il_nodes_sum(const il_node_t *node, int nnodes, il_figure_t what, const char *field);

/* A process read from /proc (-1 when unreadable): a "Name:" field of
 * /proc/PID/status ("VmRSS" in KiB, "Threads"), its CPU ticks, those of
 * it and every descendant, its open fds. */
long il_proc_status(long pid, const char *field);
long long il_proc_cpu_ticks(long pid);
long long il_proc_tree_ticks(long pid);
long il_proc_fds(long pid);
/* s as a JSON string (quoted, escaped) on fp. */
void il_json_string(FILE *fp, const char *s);
/* Has in a complete HTTP response?  1 yes (status, body, body_len,
 * conn_close filled; body may point into a decoded copy in *chunked), 0 not
 * yet, -1 malformed. */
int il_http_parse(il_buf_t *in, bool eof, int *status, const char **body, size_t *body_len,
                  bool *conn_close, il_buf_t *chunked);

/* ---------------------------------------------------------------- sub-commands */

/* infra-load provision (infra-provision.c); argv[0] is "provision". */
int il_provision(int argc, char *argv[]);
/* infra-load run (infra-run.c); argv[0] is "run". */
int il_run(int argc, char *argv[]);

#endif
