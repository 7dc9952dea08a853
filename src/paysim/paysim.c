/*
 * paysim.c: nimbus-paysim's main: command-line options, the HTTP server
 * (libmicrohttpd, a thread per connection so a "timeout" misbehaviour or a
 * delayed redirect never holds up other requests), routing and the /sim
 * control API.  See man/nimbus-paysim.1.
 */
#include "paysim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <microhttpd.h>
#include <netdb.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

ps_config_t ps_cfg;
volatile int ps_stopping;

/* ---- options ---- */

static void ps_usage(FILE *out) {
  fprintf(out,
          "Usage: nimbus-paysim [OPTIONS]\n"
          "A payment provider simulator speaking the LINE Pay v3 and Stripe subset that\n"
          "nimbusd uses, with a payment page and misbehaviour controls (/sim/...).\n\n"
          "Options:\n"
          "  --listen ADDR              address to listen on (default 127.0.0.1)\n"
          "  --port N                   port (default 8090; 0 = any, printed at start)\n"
          "  --public-url URL           base of payment page links (default http://ADDR:PORT)\n"
          "  --linepay-channel ID:SECRET  a LINE Pay channel (repeatable)\n"
          "  --stripe-key KEY           a Stripe secret key, e.g. sk_test_... (repeatable)\n"
          "  --stripe-webhook URL=WHSEC  a webhook endpoint and a signing secret\n"
          "                             (repeatable; several secrets for one URL: one v1\n"
          "                             signature each)\n"
          "  --merchant NAME            merchant name on the payment page (default Nimbus Print)\n"
          "  --expiry SECONDS           how long a reservation stays payable (default 1200)\n"
          "  --log-level LEVEL          debug, info, warn or error (default info)\n"
          "  --help                     this text\n"
          "  --version                  print the version\n");
}

/* Parse argv into ps_cfg; returns -1 to go on, else an exit status. */
static int ps_parse_args(int argc, char **argv) {
  enum { O_LISTEN = 1, O_PORT, O_PUBLIC, O_CHANNEL, O_KEY, O_HOOK, O_MERCHANT, O_EXPIRY, O_LOG };
  static const struct option opts[] = {
      {"listen", required_argument, NULL, O_LISTEN},
      {"port", required_argument, NULL, O_PORT},
      {"public-url", required_argument, NULL, O_PUBLIC},
      {"linepay-channel", required_argument, NULL, O_CHANNEL},
      {"stripe-key", required_argument, NULL, O_KEY},
      {"stripe-webhook", required_argument, NULL, O_HOOK},
      {"merchant", required_argument, NULL, O_MERCHANT},
      {"expiry", required_argument, NULL, O_EXPIRY},
      {"log-level", required_argument, NULL, O_LOG},
      {"help", no_argument, NULL, 'h'},
      {"version", no_argument, NULL, 'V'},
      {NULL, 0, NULL, 0},
  };
  snprintf(ps_cfg.listen, sizeof ps_cfg.listen, "127.0.0.1");
  ps_cfg.port = 8090;
  snprintf(ps_cfg.merchant, sizeof ps_cfg.merchant, "Nimbus Print");
  ps_cfg.expiry = 1200;
  int c;
  char *end;
  while ((c = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
    switch (c) {
      case O_LISTEN:
        snprintf(ps_cfg.listen, sizeof ps_cfg.listen, "%s", optarg);
        break;
      case O_PORT:
        errno = 0;
        ps_cfg.port = (int)strtol(optarg, &end, 10);
        if (errno || *end || ps_cfg.port < 0 || ps_cfg.port > 65535) {
          fprintf(stderr, "nimbus-paysim: --port: a number 0..65535\n");
          return 2;
        }
        break;
      case O_PUBLIC: {
        int n = snprintf(ps_cfg.public_url, sizeof ps_cfg.public_url, "%s", optarg);
        while (n > 0 && ps_cfg.public_url[n - 1] == '/') ps_cfg.public_url[--n] = '\0';
        break;
      }
      case O_CHANNEL: {
        const char *colon = strchr(optarg, ':');
        if (!colon || colon == optarg || !colon[1] || ps_cfg.nchannels == PS_MAX_CREDS ||
            (size_t)(colon - optarg) >= sizeof ps_cfg.channels[0].id ||
            strlen(colon + 1) >= sizeof ps_cfg.channels[0].secret) {
          fprintf(stderr, "nimbus-paysim: --linepay-channel: ID:SECRET (at most %d)\n",
                  PS_MAX_CREDS);
          return 2;
        }
        ps_channel_t *ch = &ps_cfg.channels[ps_cfg.nchannels++];
        snprintf(ch->id, sizeof ch->id, "%.*s", (int)(colon - optarg), optarg);
        snprintf(ch->secret, sizeof ch->secret, "%s", colon + 1);
        break;
      }
      case O_KEY:
        if (!optarg[0] || ps_cfg.nkeys == PS_MAX_CREDS ||
            strlen(optarg) >= sizeof ps_cfg.stripe_keys[0]) {
          fprintf(stderr, "nimbus-paysim: --stripe-key: a key (at most %d)\n", PS_MAX_CREDS);
          return 2;
        }
        snprintf(ps_cfg.stripe_keys[ps_cfg.nkeys++], sizeof ps_cfg.stripe_keys[0], "%s", optarg);
        break;
      case O_HOOK: {
        const char *eq = strrchr(optarg, '=');
        if (!eq || eq == optarg || !eq[1] || strlen(eq + 1) >= 128 ||
            (size_t)(eq - optarg) >= sizeof ps_cfg.webhooks[0].url) {
          fprintf(stderr, "nimbus-paysim: --stripe-webhook: URL=WHSEC\n");
          return 2;
        }
        int i = 0;
        for (; i < ps_cfg.nwebhooks; i++)
          if (!strncmp(ps_cfg.webhooks[i].url, optarg, (size_t)(eq - optarg)) &&
              ps_cfg.webhooks[i].url[eq - optarg] == '\0')
            break;
        if (i == ps_cfg.nwebhooks) {
          if (i == PS_MAX_CREDS) {
            fprintf(stderr, "nimbus-paysim: --stripe-webhook: at most %d\n", PS_MAX_CREDS);
            return 2;
          }
          snprintf(ps_cfg.webhooks[i].url, sizeof ps_cfg.webhooks[i].url, "%.*s",
                   (int)(eq - optarg), optarg);
          ps_cfg.nwebhooks++;
        }
        ps_webhook_t *w = &ps_cfg.webhooks[i];
        if (w->nsecrets == PS_MAX_CREDS) {
          fprintf(stderr, "nimbus-paysim: --stripe-webhook: too many secrets\n");
          return 2;
        }
        snprintf(w->secrets[w->nsecrets++], sizeof w->secrets[0], "%s", eq + 1);
        break;
      }
      case O_MERCHANT:
        snprintf(ps_cfg.merchant, sizeof ps_cfg.merchant, "%s", optarg);
        break;
      case O_EXPIRY:
        errno = 0;
        ps_cfg.expiry = (int)strtol(optarg, &end, 10);
        if (errno || *end || ps_cfg.expiry < 1 || ps_cfg.expiry > 7 * 86400) {
          fprintf(stderr, "nimbus-paysim: --expiry: seconds, 1..604800\n");
          return 2;
        }
        break;
      case O_LOG: {
        log_level_t lv;
        if (!log_level_parse(optarg, &lv)) {
          fprintf(stderr, "nimbus-paysim: --log-level: debug, info, warn or error\n");
          return 2;
        }
        log_set_level(lv);
        break;
      }
      case 'h':
        ps_usage(stdout);
        return 0;
      case 'V':
        printf("nimbus-paysim %s\n", NIMBUS_VERSION);
        return 0;
      default:
        ps_usage(stderr);
        return 2;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "nimbus-paysim: unexpected argument '%s'\n", argv[optind]);
    return 2;
  }
  return -1;
}

/* ---- replies ---- */

void ps_reply_json(ps_reply_t *r, int status, json_t *doc) {
  r->status = status;
  r->content_type = "application/json";
  free(r->body);
  r->body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
  if (r->body) ps_json_unquote_amounts(r->body);
  json_decref(doc);
  if (!r->body) {
    r->status = 500;
    r->body = strdup("{}");
  }
}

void ps_reply_text(ps_reply_t *r, int status, const char *content_type, const char *text) {
  r->status = status;
  r->content_type = content_type;
  free(r->body);
  r->body = strdup(text);
}

const char *ps_header(const ps_request_t *rq, const char *name) {
  return MHD_lookup_connection_value((struct MHD_Connection *)rq->conn, MHD_HEADER_KIND, name);
}

bool ps_api_misbehaves(const char *id, const char *order, ps_reply_t *r, bool linepay) {
  ps_behaviour_t b;
  ps_behaviour_get(id, order, &b);
  if (b.timeout) {
    log_event(LOG_INFO, NULL, "timeout misbehaviour: hanging", "tx", id, "order", order,
              (char *)NULL);
    ps_sleep_ms(PS_TIMEOUT_MS);
  }
  if (b.http_500 || b.timeout) {
    if (linepay)
      ps_reply_text(r, 500, "application/json",
                    "{\"returnCode\":\"9000\",\"returnMessage\":\"Internal error.\"}");
    else
      ps_reply_text(r, 500, "application/json",
                    "{\"error\":{\"type\":\"api_error\",\"message\":\"Internal error.\"}}");
    return true;
  }
  return false;
}

/* ---- /sim control API ---- */

static void ps_sim_handle(const ps_request_t *rq, ps_reply_t *r) {
  const char *p = rq->path + 4; /* after "/sim" */
  bool post = !strcmp(rq->method, "POST");
  if (!strcmp(p, "/transactions") && !strcmp(rq->method, "GET")) {
    ps_reply_json(r, 200, json_pack("{s:o}", "transactions", ps_table_list()));
  } else if (!strcmp(p, "/reset") && post) {
    ps_table_reset();
    log_event(LOG_INFO, NULL, "state reset", (char *)NULL);
    ps_reply_json(r, 200, json_pack("{s:b}", "reset", 1));
  } else if (!strcmp(p, "/behaviour") && !strcmp(rq->method, "GET")) {
    ps_reply_json(r, 200, json_pack("{s:o}", "behaviours", ps_behaviour_list()));
  } else if (!strcmp(p, "/behaviour") && post) {
    json_t *doc = json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, NULL);
    const char *scope = json_string_value(json_object_get(doc, "scope"));
    char msg[160] = "a JSON object with \"scope\" is needed";
    if (json_is_object(doc) && scope && scope[0] && strlen(scope) < 128 &&
        ps_behaviour_set(scope, doc, msg, sizeof msg)) {
      log_event(LOG_INFO, NULL, "behaviour set", "scope", scope, (char *)NULL);
      ps_reply_json(r, 200, json_pack("{s:o}", "behaviours", ps_behaviour_list()));
    } else {
      ps_reply_json(r, 400, json_pack("{s:s}", "error", msg));
    }
    json_decref(doc);
  } else if (post && !strncmp(p, "/pay/", 5)) {
    ps_page_act(p + 5, true, false, r);
  } else if (post && !strncmp(p, "/decline/", 9)) {
    ps_page_act(p + 9, false, false, r);
  } else if (ps_saved_sim(rq, r)) {
    /* /sim/decline-saved, /sim/charges, /sim/methods */
  } else {
    ps_reply_json(r, 404, json_pack("{s:s}", "error", "no such /sim resource"));
  }
}

/* ---- the HTTP server ---- */

typedef struct {
  char *uri; /* raw request URI, query included */
  ps_buf_t body;
  bool too_large;
  bool started; /* the first call (headers only) has been seen */
} ps_conn_t;

static void *ps_uri_log(void *cls, const char *uri, struct MHD_Connection *c) {
  (void)cls;
  (void)c;
  ps_conn_t *pc = calloc(1, sizeof *pc);
  if (pc) pc->uri = strdup(uri ? uri : "/");
  return pc;
}

static void ps_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  (void)cls;
  (void)c;
  (void)toe;
  ps_conn_t *pc = *con_cls;
  if (!pc) return;
  free(pc->uri);
  free(pc->body.data);
  free(pc);
  *con_cls = NULL;
}

/* Route one complete request.  An API path under one prefix segment
 * ("/linepay/v3/...", "/stripe/v1/...": an api_base with a path) is served
 * as the path without it, which is also what LINE Pay signs. */
static void ps_route(ps_request_t *rq, ps_reply_t *r) {
  const char *p = rq->path;
  if (p[0] == '/' && strncmp(p, "/v1/", 4) && strncmp(p, "/v3/", 4)) {
    const char *next = strchr(p + 1, '/');
    if (next && next > p + 1 && (!strncmp(next, "/v1/", 4) || !strncmp(next, "/v3/", 4)))
      rq->path = p = next;
  }
  if (!strcmp(p, "/healthz"))
    ps_reply_text(r, 200, "text/plain", "ok\n");
  else if (!strncmp(p, "/v3/", 4))
    ps_linepay_handle(rq, r);
  else if (!strncmp(p, "/v1/", 4))
    ps_stripe_handle(rq, r);
  else if (!strncmp(p, "/pay/", 5))
    ps_page_handle(rq, r, p + 5);
  else if (!strncmp(p, "/sim/", 5))
    ps_sim_handle(rq, r);
  else
    ps_reply_text(r, 404, "text/plain", "not found\n");
}

static enum MHD_Result ps_access(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *upload,
                                 size_t *upload_size, void **con_cls) {
  (void)cls;
  (void)url;
  (void)version;
  ps_conn_t *pc = *con_cls;
  if (!pc) return MHD_NO;
  if (!pc->started) { /* headers only: the body (if any) comes next */
    pc->started = true;
    return MHD_YES;
  }
  if (*upload_size) {
    if (pc->body.len + *upload_size > PS_MAX_BODY)
      pc->too_large = true;
    else
      ps_buf_add(&pc->body, upload, *upload_size);
    *upload_size = 0;
    return MHD_YES;
  }
  ps_reply_t r = {.status = 500};
  char *path = strdup(pc->uri);
  if (!path) return MHD_NO;
  char *q = strchr(path, '?');
  if (q) *q++ = '\0';
  ps_request_t rq = {.method = method,
                     .path = path,
                     .query = q ? q : "",
                     .body = pc->body.data ? pc->body.data : "",
                     .body_len = pc->body.len,
                     .conn = c};
  if (pc->too_large || pc->body.failed)
    ps_reply_text(&r, 413, "text/plain", "too large\n");
  else
    ps_route(&rq, &r);
  log_event(LOG_DEBUG, NULL, "request", "method", method, "path", path, "status", LOG_INT(r.status),
            (char *)NULL);
  free(path);
  const char *body = r.body ? r.body : "";
  struct MHD_Response *resp =
      MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
  free(r.body);
  if (!resp) return MHD_NO;
  MHD_add_response_header(resp, "Content-Type", r.content_type ? r.content_type : "text/plain");
  MHD_add_response_header(resp, "Cache-Control", "no-store");
  MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
  if (r.location[0]) MHD_add_response_header(resp, "Location", r.location);
  if (r.csp[0]) {
    MHD_add_response_header(resp, "Content-Security-Policy", r.csp);
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
  }
  if (r.replayed) MHD_add_response_header(resp, "Idempotent-Replayed", "true");
  enum MHD_Result ret = MHD_queue_response(c, (unsigned)r.status, resp);
  MHD_destroy_response(resp);
  return ret;
}

/* Resolve ps_cfg.listen and start the daemon; NULL with a message. */
static struct MHD_Daemon *ps_start_http(int *port_out) {
  struct addrinfo hints = {.ai_family = AF_UNSPEC,
                           .ai_socktype = SOCK_STREAM,
                           .ai_flags = AI_PASSIVE},
                  *ai = NULL;
  if (getaddrinfo(ps_cfg.listen, NULL, &hints, &ai) != 0 || !ai) {
    fprintf(stderr, "nimbus-paysim: cannot resolve --listen %s\n", ps_cfg.listen);
    return NULL;
  }
  struct sockaddr_storage ss;
  memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
  freeaddrinfo(ai);
  unsigned flags =
      MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
  if (ss.ss_family == AF_INET6) {
    ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)ps_cfg.port);
    flags |= MHD_USE_IPv6;
  } else {
    ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)ps_cfg.port);
  }
  struct MHD_Daemon *d = MHD_start_daemon(
      flags, (uint16_t)ps_cfg.port, NULL, NULL, ps_access, NULL, MHD_OPTION_SOCK_ADDR, &ss,
      MHD_OPTION_URI_LOG_CALLBACK, ps_uri_log, NULL, MHD_OPTION_NOTIFY_COMPLETED, ps_completed,
      NULL, MHD_OPTION_CONNECTION_LIMIT, 512u, MHD_OPTION_CONNECTION_TIMEOUT, 120u, MHD_OPTION_END);
  if (!d) {
    fprintf(stderr, "nimbus-paysim: cannot listen on %s port %d\n", ps_cfg.listen, ps_cfg.port);
    return NULL;
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
  *port_out = info ? info->port : ps_cfg.port;
  return d;
}

int main(int argc, char **argv) {
  int rc = ps_parse_args(argc, argv);
  if (rc >= 0) return rc;
  if (sodium_init() < 0) {
    fprintf(stderr, "nimbus-paysim: libsodium failed to start\n");
    return 1;
  }
  if (ps_cfg.nchannels == 0 && ps_cfg.nkeys == 0)
    log_event(LOG_WARN, NULL, "no --linepay-channel and no --stripe-key: every API call is refused",
              (char *)NULL);
  /* signals are taken by sigwait below; threads started from here inherit the mask */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);
  ps_table_init();
  if (!ps_callback_start()) {
    fprintf(stderr, "nimbus-paysim: cannot start the delivery threads\n");
    return 1;
  }
  int port = 0;
  struct MHD_Daemon *d = ps_start_http(&port);
  if (!d) {
    ps_callback_stop();
    return 1;
  }
  if (!ps_cfg.public_url[0]) {
    bool v6 = strchr(ps_cfg.listen, ':') != NULL;
    snprintf(ps_cfg.public_url, sizeof ps_cfg.public_url, "http://%s%s%s:%d", v6 ? "[" : "",
             ps_cfg.listen, v6 ? "]" : "", port);
  }
  printf("nimbus-paysim %s listening on %s port %d\n", NIMBUS_VERSION, ps_cfg.listen, port);
  printf("  payment pages: %s/pay/<tx>   control: /sim/...   health: /healthz\n",
         ps_cfg.public_url);
  printf("  LINE Pay channels: %d   Stripe keys: %d   webhook endpoints: %d\n", ps_cfg.nchannels,
         ps_cfg.nkeys, ps_cfg.nwebhooks);
  fflush(stdout);
  log_event(LOG_INFO, NULL, "started", "port", LOG_INT(port), (char *)NULL);
  int sig = 0;
  sigwait(&set, &sig);
  log_event(LOG_INFO, NULL, "stopping", "signal", LOG_INT(sig), (char *)NULL);
  ps_stopping = 1;
  MHD_stop_daemon(d);
  ps_callback_stop();
  ps_table_reset();
  return 0;
}
