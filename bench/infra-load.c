/*
 * infra-load: load tool for the device channel (IPP INFRA, PROTOCOL.md §6).
 *
 * Two sub-commands:
 *
 *   infra-load provision --url URL --count N --creds FILE [...]
 *     Creates a tenant, a tenant-admin user with an API token, and for each
 *     simulated printer i one queue "qNNNNN", one printer registration
 *     "pNNNNN" serving only that queue, and claims it with
 *     POST /api/v1/device/register.  The credentials go to FILE (one line
 *     per printer), so later runs skip this step.  libcurl multi, --parallel
 *     printers in flight.
 *
 *   infra-load run --url URL --creds FILE --count N --pid PID [...]
 *     One process, one thread for the printers: an epoll loop over
 *     non-blocking sockets, hand-written HTTP/1.1 framing, IPP bodies encoded
 *     and decoded by libcups in memory.  Every simulated printer opens its
 *     own connection (at --connect-rate per second), sends
 *     Create-Printer-Subscriptions (ippget, job-fetchable) and then loops
 *     Get-Notifications: with notify-wait=true at once after each answer
 *     (--mode persistent), or without notify-wait every --interval seconds
 *     (--mode polling, first polls spread over the interval).  Above
 *     20,000 printers per node the connections come from several loopback
 *     addresses, 127.0.0.1, 127.0.0.2, ... (--source-addresses): one
 *     client address has only ~28,000 ephemeral ports towards one server
 *     port.  The server URL may be IPv6 (http://[::1]:PORT) with one.
 *
 *     Phases, each reported:
 *       1. memory: nimbusd's VmRSS (/proc/PID/status) before the first
 *          printer connects and once every printer has its Get-Notifications
 *          outstanding (persistent) or has polled once (polling) and the
 *          server's CPU has gone quiet; the difference divided by N is the
 *          memory per idle printer, measured again at the end of the idle
 *          window (phase 2: steady state, after every printer polled again
 *          and the server trimmed what the ramp's burst left free).
 *          Threads and open fds of the server too.
 *       2. rate: for --window seconds nothing but the printers' own traffic;
 *          requests sent per printer per hour, counted here and from the
 *          deltas of nimbus_requests_total in the server's /metrics.
 *       3. latency (--samples): a second thread picks a random printer,
 *          submits a small PDF to its (pull-printing) queue over REST, then
 *          times from just before POST /api/v1/jobs/{id}/release (the call
 *          that makes the job fetchable) to the moment the event loop has
 *          read and decoded that printer's Get-Notifications answer carrying
 *          job-fetchable for that job id.  Any job-fetchable event that
 *          reaches another printer, and any empty notify-wait answer that
 *          comes back early (before --notify-wait - 2 s), is counted: a
 *          notification must wake the right printer and only that one.
 *          The job is cancelled afterwards so that queues stay empty.
 *
 *     Two nodes (--url2, --pid2): nimbusd processes sharing one database.
 *     Even-numbered printers park on --url, odd ones on --url2; each probe
 *     job is submitted, released and cancelled through the node
 *     --release-via names (the printer's own, the other one, or the two in
 *     turn), and the latency is reported for all samples and apart for
 *     those released through the other node (xlat_*) and through the
 *     printer's own (slat_*).  Memory, threads, fds and CPU are sums over
 *     the nodes; /metrics counts are summed too.  --db-pid adds the
 *     database server's CPU (the process and its children) over the window.
 *
 * Output: a human summary on stderr, one line of flat JSON on stdout.
 * Exit status: 0 when every printer was held and every sample arrived at
 * the right printer, 1 otherwise, 2 on usage or setup errors.
 */

#include "infra-load.h"

/* ------------------------------------------------------------------ utilities */

void il_sleep_ms(double ms) {
  struct timespec ts;

  if (ms <= 0.0) return;
  ts.tv_sec = (time_t)(ms / 1000.0);
  ts.tv_nsec = (long)((ms - (double)ts.tv_sec * 1000.0) * 1e6);
  while (nanosleep(&ts, &ts) && errno == EINTR) {
  }
}

bool il_buf_append(il_buf_t *b, const void *data, size_t n) {
  if (n > (SIZE_MAX >> 2) - b->len) return (false);
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    char *p;

    while (cap < b->len + n + 1) cap *= 2;
    if ((p = realloc(b->data, cap)) == NULL) return (false);
    b->data = p;
    b->cap = cap;
  }
  memcpy(b->data + b->len, data, n);
  b->len += n;
  b->data[b->len] = '\0';
  return (true);
}

void il_buf_free(il_buf_t *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

/* --------------------------------------------------------------- REST (libcurl) */

size_t il_curl_write(char *ptr, size_t size, size_t nmemb, void *userdata) {
  il_buf_t *b = userdata;

  if (!il_buf_append(b, ptr, size * nmemb)) return (0);
  return (size * nmemb);
}

/*
 * 'il_rest()' - one blocking REST call.  auth is "Basic" user:pass (userpwd)
 * or a bearer token; body is JSON or NULL (POST with no body when method is
 * POST).  Returns the HTTP status (0 on transport failure); the response
 * body goes to out (cleared first).
 */
long il_rest(CURL *c, const char *method, const char *url, const char *userpwd, const char *bearer,
             const char *json, il_buf_t *out) {
  struct curl_slist *hdrs = NULL;
  char auth[256];
  long code = 0;

  out->len = 0;
  if (out->data) out->data[0] = '\0';
  curl_easy_reset(c);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, il_curl_write);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
  curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
  if (userpwd) {
    curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    curl_easy_setopt(c, CURLOPT_USERPWD, userpwd);
  }
  if (bearer) {
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", bearer);
    hdrs = curl_slist_append(hdrs, auth);
  }
  if (json) {
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
  } else if (!strcmp(method, "POST")) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
  }
  hdrs = curl_slist_append(hdrs, "Expect:");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
  if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  curl_slist_free_all(hdrs);
  return (code);
}

/* ------------------------------------------------------------------ credentials */

/* File format: "# infra-load v1 tenant=T token=TOK" then one line per
 * printer: queue TAB printer-uri TAB uuid TAB credential. */
bool il_creds_load(const char *path, il_creds_t *cr, int want) {
  FILE *fp = fopen(path, "r");
  char line[2048];
  int cap = 0;

  memset(cr, 0, sizeof(*cr));
  if (!fp) {
    fprintf(stderr, "infra-load: %s: %s\n", path, strerror(errno));
    return (false);
  }
  if (!fgets(line, sizeof(line), fp) ||
      sscanf(line, "# infra-load v1 tenant=%63s token=%127s", cr->tenant, cr->token) != 2) {
    fprintf(stderr, "infra-load: %s: not an infra-load credentials file\n", path);
    fclose(fp);
    return (false);
  }
  while (cr->n < want && fgets(line, sizeof(line), fp)) {
    char *f[4], *save = NULL, *s = line;
    int k;

    line[strcspn(line, "\r\n")] = '\0';
    for (k = 0; k < 4; k++, s = NULL)
      if ((f[k] = strtok_r(s, "\t", &save)) == NULL) break;
    if (k < 4) continue;
    if (cr->n == cap) {
      il_cred_t *p;

      cap = cap ? cap * 2 : 1024;
      if ((p = realloc(cr->c, (size_t)cap * sizeof(*p))) == NULL) break;
      cr->c = p;
    }
    {
      il_cred_t *c = cr->c + cr->n;
      char res[512];
      const char *path_start = strstr(f[1], "/ipp/");

      snprintf(res, sizeof(res), "%s", path_start ? path_start : "/");
      c->queue = strdup(f[0]);
      c->printer_uri = strdup(f[1]);
      c->resource = strdup(res);
      c->uuid = strdup(f[2]);
      c->credential = strdup(f[3]);
      if (!c->queue || !c->printer_uri || !c->resource || !c->uuid || !c->credential) break;
      cr->n++;
    }
  }
  fclose(fp);
  if (cr->n < want) {
    fprintf(stderr, "infra-load: %s holds %d printers, %d wanted\n", path, cr->n, want);
    return (false);
  }
  return (true);
}

/* ------------------------------------------------------------------------ main */

int main(int argc, char *argv[]) {
  int ret;

  if (argc < 2 || (strcmp(argv[1], "provision") && strcmp(argv[1], "run"))) {
    fputs(
        "Usage: infra-load provision --url URL --count N --creds FILE [--admin U:P] ...\n"
        "       infra-load run --url URL [--url2 URL] --creds FILE --count N --pid PID [...]\n"
        "Each sub-command takes --help.\n",
        argc >= 2 && !strcmp(argv[1], "--help") ? stdout : stderr);
    return (argc >= 2 && !strcmp(argv[1], "--help") ? 0 : 2);
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  if (!strcmp(argv[1], "provision"))
    ret = il_provision(argc - 1, argv + 1);
  else
    ret = il_run(argc - 1, argv + 1);
  curl_global_cleanup();
  return (ret);
}
