/*
 * intake-load: IPP Print-Job load generator for the intake benchmark.
 *
 * Opens one HTTP connection per thread to the printer URI and has every
 * thread send Print-Job requests back to back, streaming the same document
 * in 64 KiB chunks, until --duration seconds have passed or --jobs requests
 * have been sent.  Prints a summary (jobs, failures, jobs/s, MiB/s, latency
 * percentiles) as text, or with --json as one line of JSON for scripts.
 *
 * Several nodes: --uri may be given more than once (up to LOAD_MAX_TARGETS,
 * e.g. the same queue on two nimbusd sharing one database); connection i
 * goes to URI i modulo their number, so the connections split evenly and
 * one clock and one set of percentiles cover them all.  Jobs per URI are
 * reported too.
 *
 * What is measured: latency is wall time from cupsSendRequest() to the end
 * of cupsGetResponse() for one job (including a 401 round trip when the
 * server asks for authentication), on CLOCK_MONOTONIC.  Percentiles are
 * over successful jobs only (IPP status < 0x0400); failures are counted
 * apart, so fast rejections cannot make a server look quick.  Connections
 * are opened before the clock starts.
 *
 * Authentication: HTTP Basic through libcups (cupsSetUser and
 * cupsSetPasswordCB2, both per thread because libcups keeps them in
 * thread-local globals), or pre-emptively with --preemptive-auth.  The user
 * and password may also come from the URI (ipp://user:pass@host/...).
 *
 * Note for servers under test: libcups sends "Expect: 100-continue" and
 * waits up to one second for "100 Continue" before sending the document.
 * A server that never sends it adds ~1 s to every job.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <cups/cups.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench-util.h"

#define LOAD_CHUNK (64 * 1024)              /* bytes per cupsWriteRequestData */
#define LOAD_MAX_INMEMORY (8 * 1024 * 1024) /* cache documents up to this size */
#define LOAD_MAX_CONNECTIONS 1024
#define LOAD_MAX_SAMPLES (50 * 1000 * 1000) /* per thread, bounds memory */
#define LOAD_MAX_CONSEC_FAIL 200            /* transport failures before a thread gives up */
#define LOAD_CONNECT_MSEC 30000
#define LOAD_MAX_TARGETS 8 /* --uri given this many times at most */

/* One --uri: where a connection goes. */
typedef struct load_target_s {
  char printer_uri[1024]; /* URI without user info, sent as printer-uri */
  char host[256];
  char resource[1024];
  int port;
  http_encryption_t encryption;
} load_target_t;

typedef struct load_config_s {
  load_target_t targets[LOAD_MAX_TARGETS];
  int ntargets;
  const char *user; /* points into argv, env or uri_user */
  const char *password;
  char uri_user[256]; /* user info taken from --uri */
  char uri_password[256];
  bool preemptive_auth;
  int connections;
  double duration; /* seconds, 0 = use max_jobs */
  long max_jobs;   /* 0 = use duration */
  const char *file;
  const char *format;
  const char *job_name;
  bool json;
  bool verbose;
  const char *doc_data; /* whole document if small, else NULL */
  off_t doc_size;
} load_config_t;

typedef struct load_thread_s {
  pthread_t tid;
  int index;
  const load_config_t *config;
  const load_target_t *target; /* targets[index % ntargets] */
  double *samples;             /* latency of successful jobs, ms */
  size_t num_samples, alloc_samples;
  long ok, failed;
  uint64_t bytes; /* document bytes sent by successful jobs */
  char first_error[256];
  bool connected;
} load_thread_t;

/* Shared run state; written before threads start or through atomics. */
static atomic_long load_next_job;  /* --jobs: next job number to claim */
static atomic_int load_ready;      /* threads connected (or failed to) */
static atomic_bool load_go;        /* start barrier released */
static struct timespec load_start; /* set by main before load_go */
static double load_deadline;       /* seconds since load_start */

/* Password prompts answered for the current job of this thread: a wrong
 * password must fail the job, not make libcups ask forever. */
static _Thread_local int load_password_calls;

static double load_elapsed(void) {
  struct timespec now;

  clock_gettime(CLOCK_MONOTONIC, &now);
  return ((double)(now.tv_sec - load_start.tv_sec) +
          (double)(now.tv_nsec - load_start.tv_nsec) / 1e9);
}

/*
 * 'load_password_cb()' - libcups password callback: the configured password
 * for the first prompt of a job, NULL (cancel) after that or when no
 * password is configured.
 */
static const char *load_password_cb(const char *prompt, http_t *http, const char *method,
                                    const char *resource, void *user_data) {
  const load_config_t *config = user_data;

  (void)prompt;
  (void)http;
  (void)method;
  (void)resource;
  if (load_password_calls++ > 0) return (NULL);
  return (config->password);
}

static void load_note_error(load_thread_t *t, const char *what) {
  if (!t->first_error[0]) {
    size_t n = strlen(what); /* truncate quietly */

    if (n >= sizeof(t->first_error)) n = sizeof(t->first_error) - 1;
    memcpy(t->first_error, what, n);
    t->first_error[n] = '\0';
  }
}

/*
 * 'load_sample_add()' - record one latency; false when the per-thread bound
 * is reached or memory runs out (the thread then stops).
 */
static bool load_sample_add(load_thread_t *t, double ms) {
  if (t->num_samples == t->alloc_samples) {
    size_t n = t->alloc_samples ? t->alloc_samples * 2 : 4096;
    double *p;

    if (n > LOAD_MAX_SAMPLES) n = LOAD_MAX_SAMPLES;
    if (n <= t->num_samples || (p = realloc(t->samples, n * sizeof(double))) == NULL) {
      load_note_error(t, "latency sample buffer full");
      return (false);
    }
    t->samples = p;
    t->alloc_samples = n;
  }
  t->samples[t->num_samples++] = ms;
  return (true);
}

/*
 * 'load_send_document()' - stream the document after cupsSendRequest().
 * Returns HTTP_STATUS_CONTINUE when everything was written.
 */
static http_status_t load_send_document(http_t *http, const load_config_t *config) {
  http_status_t status = HTTP_STATUS_CONTINUE;

  if (config->doc_data) {
    off_t pos;

    for (pos = 0; pos < config->doc_size && status == HTTP_STATUS_CONTINUE; pos += LOAD_CHUNK) {
      size_t n = (size_t)(config->doc_size - pos) < LOAD_CHUNK ? (size_t)(config->doc_size - pos)
                                                               : LOAD_CHUNK;

      status = cupsWriteRequestData(http, config->doc_data + pos, n);
    }
  } else {
    char *buf = malloc(LOAD_CHUNK);
    int fd = open(config->file, O_RDONLY);
    ssize_t n;

    if (!buf || fd < 0)
      status = HTTP_STATUS_ERROR;
    else {
      while (status == HTTP_STATUS_CONTINUE && (n = read(fd, buf, LOAD_CHUNK)) != 0) {
        if (n < 0) {
          if (errno == EINTR) continue;
          status = HTTP_STATUS_ERROR;
          break;
        }
        status = cupsWriteRequestData(http, buf, (size_t)n);
      }
    }
    if (fd >= 0) close(fd);
    free(buf);
  }
  return (status);
}

/*
 * 'load_print_job()' - send one Print-Job with the document and read the
 * response.  Returns the IPP status (IPP_STATUS_ERROR_INTERNAL and the like
 * for transport failures) and sets *transport when the connection failed.
 */
static ipp_status_t load_print_job(load_thread_t *t, http_t *http, long jobno, bool *transport) {
  const load_config_t *config = t->config;
  const load_target_t *target = t->target;
  int attempt;
  ipp_status_t result = IPP_STATUS_ERROR_INTERNAL;
  char name[256];

  *transport = false;
  load_password_calls = 0;
  snprintf(name, sizeof(name), "%s-%d-%ld", config->job_name, t->index, jobno);

  /* Two attempts: a server that ignores Expect: 100-continue answers 401
   * only after the body, and libcups then wants the request sent again. */
  for (attempt = 0; attempt < 2; attempt++) {
    ipp_t *request = ippNewRequest(IPP_OP_PRINT_JOB), *response;
    http_status_t status;
    size_t length = (size_t)config->doc_size;

    ippAddString(request, IPP_TAG_OPERATION, IPP_TAG_URI, "printer-uri", NULL, target->printer_uri);
    ippAddString(request, IPP_TAG_OPERATION, IPP_TAG_NAME, "requesting-user-name", NULL,
                 cupsUser());
    ippAddString(request, IPP_TAG_OPERATION, IPP_TAG_NAME, "job-name", NULL, name);
    ippAddString(request, IPP_TAG_OPERATION, IPP_TAG_MIMETYPE, "document-format", NULL,
                 config->format);

    status = cupsSendRequest(http, request, target->resource, ippLength(request) + length);
    if (status == HTTP_STATUS_CONTINUE) status = load_send_document(http, config);
    ippDelete(request);

    if (status != HTTP_STATUS_CONTINUE && status != HTTP_STATUS_OK) {
      /* cupsSendRequest/cupsWriteRequestData already read an HTTP error. */
      char msg[256];

      snprintf(msg, sizeof(msg), "HTTP %d (%s): %s", (int)status, httpStatus(status),
               cupsLastErrorString());
      load_note_error(t, msg);
      if (status == HTTP_STATUS_ERROR || status == HTTP_STATUS_SERVICE_UNAVAILABLE)
        *transport = true;
      result = cupsLastError() >= IPP_STATUS_ERROR_BAD_REQUEST ? cupsLastError()
                                                               : IPP_STATUS_ERROR_INTERNAL;
      httpFlush(http);
      return (result);
    }

    response = cupsGetResponse(http, target->resource);
    if (response) {
      result = ippGetStatusCode(response);
      if (result >= IPP_STATUS_ERROR_BAD_REQUEST) {
        char msg[256];

        snprintf(msg, sizeof(msg), "IPP %s: %s", ippErrorString(result), cupsLastErrorString());
        load_note_error(t, msg);
      }
      ippDelete(response);
      return (result);
    }

    result = cupsLastError();
    if (httpGetStatus(http) == HTTP_STATUS_UNAUTHORIZED && attempt == 0)
      continue; /* cupsGetResponse() set the auth string */

    {
      char msg[256];

      snprintf(msg, sizeof(msg), "no response (HTTP %d): %s", (int)httpGetStatus(http),
               cupsLastErrorString());
      load_note_error(t, msg);
    }
    if (httpGetStatus(http) == HTTP_STATUS_ERROR || result == IPP_STATUS_ERROR_INTERNAL ||
        result == IPP_STATUS_ERROR_SERVICE_UNAVAILABLE)
      *transport = true;
    if (result < IPP_STATUS_ERROR_BAD_REQUEST) result = IPP_STATUS_ERROR_INTERNAL;
    return (result);
  }
  return (result);
}

static void *load_thread(void *arg) {
  load_thread_t *t = arg;
  const load_config_t *config = t->config;
  const load_target_t *target = t->target;
  http_t *http;
  int consec_fail = 0;

  /* libcups keeps the user and the password callback per thread. */
  if (config->user) cupsSetUser(config->user);
  cupsSetPasswordCB2(load_password_cb, (void *)config);

  http = httpConnect2(target->host, target->port, NULL, AF_UNSPEC, target->encryption, 1,
                      LOAD_CONNECT_MSEC, NULL);
  if (!http) {
    char msg[sizeof(target->host) + 256];

    /* libcups reports any failed connect as EHOSTDOWN ("Host is down"). */
    snprintf(msg, sizeof(msg), "cannot connect to %s:%d (%s)", target->host, target->port,
             cupsLastErrorString());
    load_note_error(t, msg);
  }
  if (http && config->preemptive_auth && config->user && config->password) {
    char userpass[512], encoded[1024];

    snprintf(userpass, sizeof(userpass), "%s:%s", config->user, config->password);
    httpEncode64_2(encoded, (int)sizeof(encoded), userpass, (int)strlen(userpass));
    httpSetAuthString(http, "Basic", encoded);
  }
  t->connected = http != NULL;
  atomic_fetch_add(&load_ready, 1);

  while (!atomic_load(&load_go)) {
    struct timespec ts = {0, 1000000};

    nanosleep(&ts, NULL);
  }
  if (!http) return (NULL);

  for (;;) {
    long jobno;
    double t0, t1;
    bool transport;
    ipp_status_t status;

    if (config->max_jobs > 0) {
      jobno = atomic_fetch_add(&load_next_job, 1);
      if (jobno >= config->max_jobs) break;
    } else {
      if (load_elapsed() >= load_deadline) break;
      jobno = t->ok + t->failed;
    }

    t0 = bench_now_ms();
    status = load_print_job(t, http, jobno, &transport);
    t1 = bench_now_ms();

    if (status < IPP_STATUS_ERROR_BAD_REQUEST) {
      t->ok++;
      t->bytes += (uint64_t)config->doc_size;
      consec_fail = 0;
      if (!load_sample_add(t, t1 - t0)) break;
    } else {
      t->failed++;
      if (config->verbose)
        fprintf(stderr, "intake-load: thread %d job %ld: %s\n", t->index, jobno,
                cupsLastErrorString());
      if (transport) {
        struct timespec ts = {0, 10000000};

        if (++consec_fail >= LOAD_MAX_CONSEC_FAIL) {
          load_note_error(t, "too many consecutive transport failures");
          break;
        }
        nanosleep(&ts, NULL);
        httpReconnect2(http, LOAD_CONNECT_MSEC, NULL);
      }
    }
  }

  httpClose(http);
  return (NULL);
}

static void load_usage(FILE *fp) {
  fputs(
      "Usage: intake-load --uri URI --file PATH [options]\n"
      "Send IPP Print-Job requests over N parallel connections.\n"
      "\n"
      "  --uri URI            printer URI (ipp:// or ipps://, may hold user:pass@); given\n"
      "                       more than once, connections are dealt out over the URIs\n"
      "  --file PATH          document to send with every job\n"
      "  --format MIME        document-format (default application/pdf)\n"
      "  --connections N      parallel connections/threads (default 16)\n"
      "  --duration SECONDS   stop starting jobs after this long (default 10)\n"
      "  --jobs N             send exactly N jobs instead of a timed run\n"
      "  --user U             requesting-user-name and HTTP Basic user\n"
      "  --password P         HTTP Basic password (or env INTAKE_LOAD_PASSWORD)\n"
      "  --preemptive-auth    send Basic credentials without waiting for a 401\n"
      "  --job-name NAME      job-name prefix (default intake-load)\n"
      "  --json               print the summary as one line of JSON\n"
      "  --verbose            report every failure on stderr\n"
      "  --help               this text\n"
      "\n"
      "Exit status: 0 when every job succeeded, 1 when some failed, 2 on usage\n"
      "or setup errors.\n",
      fp);
}

/*
 * 'load_parse_uri()' - split one --uri into TARGET's host/port/resource and
 * printer-uri without credentials, and user/password from the user info
 * (copied into CONFIG, unless --user/--password or an earlier URI gave
 * them).
 */
static bool load_parse_uri(load_config_t *config, load_target_t *target, const char *uri) {
  char scheme[32], userpass[256], host[256], resource[1024];
  int port;

  if (httpSeparateURI(HTTP_URI_CODING_ALL, uri, scheme, sizeof(scheme), userpass, sizeof(userpass),
                      host, sizeof(host), &port, resource, sizeof(resource)) < HTTP_URI_STATUS_OK) {
    fprintf(stderr, "intake-load: bad URI \"%s\"\n", uri);
    return (false);
  }
  if (strcmp(scheme, "ipp") && strcmp(scheme, "ipps") && strcmp(scheme, "http") &&
      strcmp(scheme, "https")) {
    fprintf(stderr, "intake-load: unsupported scheme \"%s\"\n", scheme);
    return (false);
  }
  target->encryption = (!strcmp(scheme, "ipps") || !strcmp(scheme, "https"))
                           ? HTTP_ENCRYPTION_ALWAYS
                           : HTTP_ENCRYPTION_IF_REQUESTED;
  snprintf(target->host, sizeof(target->host), "%s", host);
  snprintf(target->resource, sizeof(target->resource), "%s", resource);
  target->port = port;
  httpAssembleURI(HTTP_URI_CODING_ALL, target->printer_uri, sizeof(target->printer_uri),
                  !strcmp(scheme, "https")  ? "ipps"
                  : !strcmp(scheme, "http") ? "ipp"
                                            : scheme,
                  NULL, host, port, resource);

  if (userpass[0]) {
    char *colon = strchr(userpass, ':');

    if (colon) {
      *colon = '\0';
      if (!config->password) {
        snprintf(config->uri_password, sizeof(config->uri_password), "%s", colon + 1);
        config->password = config->uri_password;
      }
    }
    if (!config->user) {
      snprintf(config->uri_user, sizeof(config->uri_user), "%s", userpass);
      config->user = config->uri_user;
    }
  }
  return (true);
}

/*
 * 'load_open_document()' - stat the document and, when small, read it into
 * memory once so that the run measures the server, not the client's disk.
 */
static bool load_open_document(load_config_t *config) {
  struct stat st;

  if (stat(config->file, &st) || !S_ISREG(st.st_mode)) {
    fprintf(stderr, "intake-load: %s: %s\n", config->file,
            errno ? strerror(errno) : "not a regular file");
    return (false);
  }
  config->doc_size = st.st_size;
  if (st.st_size <= LOAD_MAX_INMEMORY) {
    char *data = malloc((size_t)st.st_size + 1);
    FILE *fp = fopen(config->file, "rb");
    bool ok = data && fp && fread(data, 1, (size_t)st.st_size, fp) == (size_t)st.st_size;

    if (fp) fclose(fp);
    if (!ok) {
      fprintf(stderr, "intake-load: unable to read %s\n", config->file);
      free(data);
      return (false);
    }
    config->doc_data = data;
  }
  return (true);
}

int main(int argc, char *argv[]) {
  static const struct option options[] = {{"uri", required_argument, NULL, 'u'},
                                          {"file", required_argument, NULL, 'f'},
                                          {"format", required_argument, NULL, 'F'},
                                          {"connections", required_argument, NULL, 'c'},
                                          {"duration", required_argument, NULL, 'd'},
                                          {"jobs", required_argument, NULL, 'n'},
                                          {"user", required_argument, NULL, 'U'},
                                          {"password", required_argument, NULL, 'P'},
                                          {"preemptive-auth", no_argument, NULL, 'a'},
                                          {"job-name", required_argument, NULL, 'N'},
                                          {"json", no_argument, NULL, 'j'},
                                          {"verbose", no_argument, NULL, 'v'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
  load_config_t config;
  load_thread_t *threads = NULL;
  const char *uris[LOAD_MAX_TARGETS];
  long ok_per_target[LOAD_MAX_TARGETS] = {0};
  int nuris = 0;
  double *all = NULL, elapsed, sum = 0.0;
  size_t nall = 0, k;
  long ok = 0, failed = 0;
  uint64_t bytes = 0;
  int opt, i, connected = 0, ret = 2;
  const char *first_error = "";
  char *end;

  memset(&config, 0, sizeof(config));
  config.connections = 16;
  config.format = "application/pdf";
  config.job_name = "intake-load";

  while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
    switch (opt) {
      case 'u':
        if (nuris == LOAD_MAX_TARGETS) {
          fprintf(stderr, "intake-load: --uri at most %d times\n", LOAD_MAX_TARGETS);
          return (2);
        }
        uris[nuris++] = optarg;
        break;
      case 'f':
        config.file = optarg;
        break;
      case 'F':
        config.format = optarg;
        break;
      case 'c':
        config.connections = (int)strtol(optarg, &end, 10);
        if (*end || config.connections < 1 || config.connections > LOAD_MAX_CONNECTIONS) {
          fprintf(stderr, "intake-load: --connections must be 1..%d\n", LOAD_MAX_CONNECTIONS);
          return (2);
        }
        break;
      case 'd':
        config.duration = strtod(optarg, &end);
        if (*end || !(config.duration > 0.0) || config.duration > 86400.0) {
          fputs("intake-load: --duration must be a positive number of seconds\n", stderr);
          return (2);
        }
        break;
      case 'n':
        config.max_jobs = strtol(optarg, &end, 10);
        if (*end || config.max_jobs < 1) {
          fputs("intake-load: --jobs must be a positive integer\n", stderr);
          return (2);
        }
        break;
      case 'U':
        config.user = optarg;
        break;
      case 'P':
        config.password = optarg;
        break;
      case 'a':
        config.preemptive_auth = true;
        break;
      case 'N':
        config.job_name = optarg;
        break;
      case 'j':
        config.json = true;
        break;
      case 'v':
        config.verbose = true;
        break;
      case 'h':
        load_usage(stdout);
        return (0);
      default:
        load_usage(stderr);
        return (2);
    }
  }
  if (optind < argc || !nuris || !config.file) {
    load_usage(stderr);
    return (2);
  }
  if (config.duration > 0.0 && config.max_jobs > 0) {
    fputs("intake-load: give --duration or --jobs, not both\n", stderr);
    return (2);
  }
  if (config.duration <= 0.0 && config.max_jobs <= 0) config.duration = 10.0;
  if (!config.password && getenv("INTAKE_LOAD_PASSWORD"))
    config.password = getenv("INTAKE_LOAD_PASSWORD");
  for (i = 0; i < nuris; i++)
    if (!load_parse_uri(&config, &config.targets[config.ntargets++], uris[i])) return (2);
  if (!load_open_document(&config)) return (2);

  signal(SIGPIPE, SIG_IGN);

  if ((threads = calloc((size_t)config.connections, sizeof(load_thread_t))) == NULL) {
    perror("intake-load");
    return (2);
  }

  atomic_init(&load_next_job, 0);
  atomic_init(&load_ready, 0);
  atomic_init(&load_go, false);
  load_deadline = config.duration;

  for (i = 0; i < config.connections; i++) {
    threads[i].index = i;
    threads[i].config = &config;
    threads[i].target = &config.targets[i % config.ntargets];
    if (pthread_create(&threads[i].tid, NULL, load_thread, threads + i)) {
      fputs("intake-load: unable to create thread\n", stderr);
      /* Release the ones already waiting; they stop at once. */
      load_deadline = 0.0;
      atomic_store(&load_next_job, config.max_jobs > 0 ? config.max_jobs : 0);
      clock_gettime(CLOCK_MONOTONIC, &load_start);
      atomic_store(&load_go, true);
      for (i--; i >= 0; i--) pthread_join(threads[i].tid, NULL);
      goto done;
    }
  }

  /* All connections open (or failed) before the clock starts. */
  while (atomic_load(&load_ready) < config.connections) {
    struct timespec ts = {0, 1000000};

    nanosleep(&ts, NULL);
  }
  clock_gettime(CLOCK_MONOTONIC, &load_start);
  atomic_store(&load_go, true);

  for (i = 0; i < config.connections; i++) pthread_join(threads[i].tid, NULL);
  elapsed = load_elapsed();

  for (i = 0; i < config.connections; i++) {
    ok += threads[i].ok;
    ok_per_target[i % config.ntargets] += threads[i].ok;
    failed += threads[i].failed;
    bytes += threads[i].bytes;
    nall += threads[i].num_samples;
    connected += threads[i].connected;
    if (!first_error[0] && threads[i].first_error[0]) first_error = threads[i].first_error;
  }
  if (nall && (all = malloc(nall * sizeof(double))) == NULL) {
    perror("intake-load");
    goto done;
  }
  for (i = 0, k = 0; i < config.connections; i++) {
    if (threads[i].num_samples)
      memcpy(all + k, threads[i].samples, threads[i].num_samples * sizeof(double));
    k += threads[i].num_samples;
  }
  for (k = 0; k < nall; k++) sum += all[k];
  if (nall) qsort(all, nall, sizeof(double), bench_compare_double);

  {
    struct rusage ru;
    double cpu = 0.0;
    double jps = elapsed > 0.0 ? (double)ok / elapsed : 0.0;
    double mibps = elapsed > 0.0 ? (double)bytes / 1048576.0 / elapsed : 0.0;
    double p50 = bench_percentile(all, nall, 50.0), p90 = bench_percentile(all, nall, 90.0),
           p99 = bench_percentile(all, nall, 99.0), max = nall ? all[nall - 1] : 0.0,
           mean = nall ? sum / (double)nall : 0.0;

    /* Client CPU, so that runs where the load generator starves the server
     * of CPU (client and server share the machine) can be spotted. */
    if (!getrusage(RUSAGE_SELF, &ru))
      cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
            (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;

    if (config.json) {
      printf("{\"uri\":\"");
      bench_json_escape(stdout, config.targets[0].printer_uri);
      printf("\",\"uris\":%d,\"ok_per_uri\":[", config.ntargets);
      for (i = 0; i < config.ntargets; i++) printf("%s%ld", i ? "," : "", ok_per_target[i]);
      printf("],\"file_bytes\":%jd,\"format\":\"", (intmax_t)config.doc_size);
      bench_json_escape(stdout, config.format);
      printf(
          "\",\"connections\":%d,\"connected\":%d,\"elapsed_s\":%.3f,\"jobs\":%ld,\"ok\":%ld,"
          "\"failures\":%ld,\"jobs_per_s\":%.2f,\"mib_per_s\":%.2f,"
          "\"latency_ms\":{\"mean\":%.3f,\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"max\":%.3f},"
          "\"client_cpu_s\":%.3f,\"first_error\":\"",
          config.connections, connected, elapsed, ok + failed, ok, failed, jps, mibps, mean, p50,
          p90, p99, max, cpu);
      bench_json_escape(stdout, first_error);
      printf("\"}\n");
    } else {
      for (i = 0; i < config.ntargets; i++)
        printf("URI:          %s (%ld jobs ok)\n", config.targets[i].printer_uri, ok_per_target[i]);
      printf("Document:     %s (%jd bytes, %s)\n", config.file, (intmax_t)config.doc_size,
             config.format);
      printf("Connections:  %d (%d connected)\n", config.connections, connected);
      printf("Elapsed:      %.3f s\n", elapsed);
      printf("Jobs:         %ld sent, %ld ok, %ld failed\n", ok + failed, ok, failed);
      printf("Throughput:   %.2f jobs/s, %.2f MiB/s\n", jps, mibps);
      printf("Latency (ms): mean %.2f  p50 %.2f  p90 %.2f  p99 %.2f  max %.2f\n", mean, p50, p90,
             p99, max);
      printf("Client CPU:   %.2f s\n", cpu);
      if (first_error[0]) printf("First error:  %s\n", first_error);
    }
  }
  ret = (failed || connected < config.connections || ok == 0) ? 1 : 0;

done:
  for (i = 0; threads && i < config.connections; i++) free(threads[i].samples);
  free(threads);
  free(all);
  free((void *)config.doc_data);
  return (ret);
}
