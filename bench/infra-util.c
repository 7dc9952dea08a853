/*
 * infra-util.c: what infra-load's run needs that knows nothing of
 * printers: reading a process (and its children, or every node) from
 * /proc, JSON string output, framing an HTTP/1.1 response (Content-Length
 * or chunked) out of a byte buffer, and a node's URL.
 */
#include "infra-load.h"

/* ----------------------------------------------------------------------- /proc */

long long il_nodes_sum(const il_node_t *node, int nnodes, il_figure_t what, const char *field) {
  long long sum = 0, v;
  for (int k = 0; k < nnodes; k++) {
    long pid = node[k].pid;
    v = what == IL_FIG_STATUS ? il_proc_status(pid, field)
        : what == IL_FIG_FDS  ? il_proc_fds(pid)
                              : il_proc_cpu_ticks(pid);
    if (v < 0) {
      if (k == 0) return (-1);
      continue;
    }
    sum += v;
  }
  return (sum);
}

/* VmRSS (field "VmRSS") or another "Name:" line of /proc/PID/status, in
 * KiB (or as a plain number, e.g. Threads); -1 when unreadable. */
long il_proc_status(long pid, const char *field) {
  char path[64], line[256];
  size_t flen = strlen(field);
  FILE *fp;
  long value = -1;

  if (pid <= 0) return (-1);
  snprintf(path, sizeof(path), "/proc/%ld/status", pid);
  if ((fp = fopen(path, "r")) == NULL) return (-1);
  while (fgets(line, sizeof(line), fp)) {
    if (!strncmp(line, field, flen) && line[flen] == ':') {
      value = strtol(line + flen + 1, NULL, 10);
      break;
    }
  }
  fclose(fp);
  return (value);
}

/* utime+stime of PID (all threads) in clock ticks; -1 when unreadable. */
long long il_proc_cpu_ticks(long pid) {
  char path[64], buf[2048], *p;
  FILE *fp;
  size_t n;
  unsigned long long ut, st;

  if (pid <= 0) return (-1);
  snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
  if ((fp = fopen(path, "r")) == NULL) return (-1);
  n = fread(buf, 1, sizeof(buf) - 1, fp);
  fclose(fp);
  buf[n] = '\0';
  if ((p = strrchr(buf, ')')) == NULL) return (-1);
  /* after ") ": state ppid pgrp session tty_nr tpgid flags minflt cminflt
   * majflt cmajflt utime stime */
  if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
    return (-1);
  return ((long long)(ut + st));
}

/*
 * 'il_proc_tree_ticks()' - utime+stime of PID and of its children (e.g. a
 * PostgreSQL postmaster and its backends), in clock ticks; -1 when PID is
 * unreadable.  Children are found by scanning /proc for their parent pid;
 * a child that exits between two readings takes its ticks with it.
 */
long long il_proc_tree_ticks(long pid) {
  long long sum = il_proc_cpu_ticks(pid);
  DIR *d;
  struct dirent *e;

  if (sum < 0 || (d = opendir("/proc")) == NULL) return (sum);
  while ((e = readdir(d)) != NULL) {
    char path[300], buf[1024], *p;
    FILE *fp;
    size_t n;
    long ppid;
    unsigned long long ut, st;

    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
    if ((fp = fopen(path, "r")) == NULL) continue;
    n = fread(buf, 1, sizeof(buf) - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    if ((p = strrchr(buf, ')')) == NULL) continue;
    if (sscanf(p + 2, "%*c %ld %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ppid, &ut, &st) ==
            3 &&
        ppid == pid)
      sum += (long long)(ut + st);
  }
  closedir(d);
  return (sum);
}

/* Number of open file descriptors of PID; -1 when unreadable. */
long il_proc_fds(long pid) {
  char path[64];
  DIR *d;
  struct dirent *e;
  long n = 0;

  if (pid <= 0) return (-1);
  snprintf(path, sizeof(path), "/proc/%ld/fd", pid);
  if ((d = opendir(path)) == NULL) return (-1);
  while ((e = readdir(d)) != NULL)
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return (n);
}

void il_json_string(FILE *fp, const char *s) {
  fputc('"', fp);
  bench_json_escape(fp, s);
  fputc('"', fp);
}

/* ----------------------------------------------------------------------- HTTP */

/* Has p->in a complete HTTP response?  1 yes (status, body, body_len, close
 * filled; body may point into a decoded copy in *chunked), 0 not yet,
 * -1 malformed. */
int il_http_parse(il_buf_t *in, bool eof, int *status, const char **body, size_t *body_len,
                  bool *conn_close, il_buf_t *chunked) {
  char *end, *line, *hdr_end;
  long clen = -1;
  bool is_chunked = false;
  size_t hlen;

  for (;;) {
    if (!in->data || (end = memmem(in->data, in->len, "\r\n\r\n", 4)) == NULL)
      return (eof && in->len ? -1 : 0);
    hlen = (size_t)(end - in->data) + 4;
    if (in->len < 12 || strncmp(in->data, "HTTP/1.", 7)) return (-1);
    *status = atoi(in->data + 9);
    if (*status >= 100 && *status < 200) { /* interim: drop it */
      memmove(in->data, in->data + hlen, in->len - hlen);
      in->len -= hlen;
      continue;
    }
    break;
  }
  *conn_close = !strncmp(in->data, "HTTP/1.0", 8);
  hdr_end = end;
  for (line = strstr(in->data, "\r\n") + 2; line < hdr_end;) {
    char *eol = strstr(line, "\r\n");

    if (!strncasecmp(line, "Content-Length:", 15))
      clen = strtol(line + 15, NULL, 10);
    else if (!strncasecmp(line, "Transfer-Encoding:", 18) && strcasestr(line + 18, "chunked") &&
             strcasestr(line + 18, "chunked") < eol)
      is_chunked = true;
    else if (!strncasecmp(line, "Connection:", 11)) {
      char *v = strcasestr(line + 11, "close");

      if (v && v < eol) *conn_close = true;
    }
    line = eol + 2;
  }
  if (is_chunked) {
    size_t pos = hlen;

    chunked->len = 0;
    for (;;) {
      char *crlf, *ep;
      unsigned long sz;

      if (pos >= in->len) return (eof ? -1 : 0);
      crlf = memmem(in->data + pos, in->len - pos, "\r\n", 2);
      if (!crlf) return (eof ? -1 : 0);
      sz = strtoul(in->data + pos, &ep, 16);
      if (ep == in->data + pos) return (-1);
      pos = (size_t)(crlf - in->data) + 2;
      if (sz == 0) {
        /* trailers until an empty line */
        for (;;) {
          char *t = memmem(in->data + pos, in->len - pos, "\r\n", 2);

          if (!t) return (eof ? -1 : 0);
          if (t == in->data + pos) {
            pos += 2;
            break;
          }
          pos = (size_t)(t - in->data) + 2;
        }
        break;
      }
      if (in->len - pos < sz + 2) return (eof ? -1 : 0);
      if (!il_buf_append(chunked, in->data + pos, sz)) return (-1);
      pos += sz + 2;
    }
    *body = chunked->data ? chunked->data : "";
    *body_len = chunked->len;
    return (1);
  }
  if (clen >= 0) {
    if (in->len - hlen < (size_t)clen) return (eof ? -1 : 0);
    *body = in->data + hlen;
    *body_len = (size_t)clen;
    return (1);
  }
  /* No length: the body ends with the connection. */
  if (!eof) return (0);
  *body = in->data + hlen;
  *body_len = in->len - hlen;
  *conn_close = true;
  return (1);
}

/* ----------------------------------------------------------------------- URLs */

/* Split node->url (http://HOST:PORT, an IPv6 HOST in brackets) and
 * resolve it. */
bool il_parse_url(il_node_t *r) {
  const char *h = r->url;
  const char *colon, *slash;
  char port[16];
  struct addrinfo hints, *ai = NULL;
  bool v6 = false;

  if (!strncmp(h, "http://", 7))
    h += 7;
  else {
    fprintf(stderr, "infra-load: --url must be http://HOST:PORT\n");
    return (false);
  }
  slash = strchr(h, '/');
  if (!slash) slash = h + strlen(h);
  if (*h == '[') { /* http://[::1]:8631 */
    const char *close = memchr(h, ']', (size_t)(slash - h));

    if (!close || (close + 1 < slash && close[1] != ':')) {
      fprintf(stderr, "infra-load: %s: an IPv6 address goes in brackets: http://[::1]:PORT\n",
              r->url);
      return (false);
    }
    v6 = true;
    colon = close + 1 < slash ? close + 1 : slash;
    h++;
    snprintf(r->host, sizeof(r->host), "%.*s", (int)(close - h), h);
  } else {
    colon = memchr(h, ':', (size_t)(slash - h));
    if (!colon) colon = slash;
    snprintf(r->host, sizeof(r->host), "%.*s", (int)(colon - h), h);
  }
  if (colon < slash)
    snprintf(port, sizeof(port), "%.*s", (int)(slash - colon - 1), colon + 1);
  else
    snprintf(port, sizeof(port), "80");
  r->port = atoi(port);
  snprintf(r->host_header, sizeof(r->host_header), v6 ? "[%s]:%d" : "%s:%d", r->host, r->port);
  memset(&hints, 0, sizeof(hints));
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(r->host, port, &hints, &ai) || !ai) {
    fprintf(stderr, "infra-load: cannot resolve %s\n", r->host);
    return (false);
  }
  memcpy(&r->addr, ai->ai_addr, ai->ai_addrlen);
  r->addrlen = ai->ai_addrlen;
  freeaddrinfo(ai);
  return (true);
}
