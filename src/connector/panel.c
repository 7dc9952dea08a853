/*
 * panel.c: the connector's local web panel (libmicrohttpd, a thread per
 * connection: the release screens wait for nimbusd).
 *
 *   GET  /             status page, in words for whoever stands at the
 *                      printer (is it ready, jobs printed, last contact),
 *                      a link to the release screens, the technical
 *                      details folded away; with on-deregister=ask and a
 *                      deregistration detected, the three-choice form
 *   GET  /status.json  the same status as JSON (`nimbus-connector status`)
 *   POST /decision     form fields csrf, choice=delete|stop|continue
 *   /release...        release at the printer (panel-release.c)
 *
 * HTML is written only through panel_html() (escaping) and request bodies
 * are bounded.  The credential is never shown.  Errors (404, 403, 405,
 * 413, 5xx) are pages in the panel's style (panel_error()).
 *
 * Web security (docs/PANEL.md "Panel security"): every answer carries a
 * Content-Security-Policy without scripts or inline styles (PANEL_CSP),
 * X-Content-Type-Options: nosniff, Referrer-Policy: same-origin and
 * X-Frame-Options: DENY.  A POST whose Origin (or, without one, Referer)
 * is not this panel's own origin is refused with 403.  CSRF tokens are
 * per session: the release screens keep one per signed-in user
 * (panel-release.c); the /decision form's token is bound to a random
 * per-browser cookie (BLAKE2b keyed with the process's secret c->csrf),
 * so no token is worth anything in another browser.
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <sodium.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "connector.h"
#include "provision.h"
#include "httpframing.h"
#include "crypto.h"
#include "httpguard.h"
#include "log.h"
#include "panel-private.h"

void panel_raw(panel_buf_t *b, const char *s) {
  size_t n = strlen(s);
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n + 1) cap *= 2;
    if (cap > PANEL_PAGE_MAX) return; /* drop what does not fit */
    char *nb = realloc(b->buf, cap);
    if (!nb) return;
    b->buf = nb;
    b->cap = cap;
  }
  memcpy(b->buf + b->len, s, n + 1);
  b->len += n;
}

/* Append text with &, <, >, " and ' escaped. */
void panel_html(panel_buf_t *b, const char *s) {
  char one[2] = {0, 0};
  for (; s && *s; s++) {
    switch (*s) {
      case '&':
        panel_raw(b, "&amp;");
        break;
      case '<':
        panel_raw(b, "&lt;");
        break;
      case '>':
        panel_raw(b, "&gt;");
        break;
      case '"':
        panel_raw(b, "&quot;");
        break;
      case '\'':
        panel_raw(b, "&#39;");
        break;
      default:
        one[0] = *s;
        panel_raw(b, one);
    }
  }
}

void panel_time_local(const char *iso, char *out, size_t len) {
  struct tm tm = {0};
  if (len) out[0] = '\0';
  if (!iso || !*iso) return;
  const char *rest = strptime(iso, "%Y-%m-%dT%H:%M:%S", &tm);
  if (!rest) { /* not ours: shown as it came */
    snprintf(out, len, "%s", iso);
    return;
  }
  time_t t = timegm(&tm);
  struct tm local;
  if (!localtime_r(&t, &local) || !strftime(out, len, "%Y-%m-%d %H:%M %Z", &local))
    snprintf(out, len, "%s", iso);
}

void panel_head(panel_buf_t *b, const char *screen, const char *title, int refresh_s,
                const char *refresh_url) {
  panel_raw(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
  panel_raw(b, "<meta name=\"viewport\" content=\"width=800,height=480\">\n");
  if (refresh_s > 0) { /* no script (CSP): the browser moves on by itself */
    char meta[48];
    snprintf(meta, sizeof meta, "%d", refresh_s);
    panel_raw(b, "<meta http-equiv=\"refresh\" content=\"");
    panel_raw(b, meta);
    panel_raw(b, ";url=");
    panel_html(b, refresh_url);
    panel_raw(b, "\">\n");
  }
  panel_raw(b, "<title>");
  panel_html(b, title);
  panel_raw(b, "</title>\n");
  panel_raw(b, "<link rel=\"stylesheet\" href=\"/release/panel.css\">\n");
  panel_raw(b, "</head><body data-screen=\"");
  panel_html(b, screen);
  panel_raw(b, "\">\n<h1>");
  panel_html(b, title);
  panel_raw(b, "</h1>\n");
}

enum MHD_Result panel_error(struct MHD_Connection *conn, unsigned status, const char *msg) {
  panel_buf_t b = {0};
  const char *title = status == 404   ? "Page not found"
                      : status == 403 ? "Not allowed"
                      : status == 413 ? "Too much data"
                      : status >= 500 ? "Something went wrong"
                                      : "This did not work";
  panel_head(&b, "error", title, 0, NULL);
  panel_raw(&b, "<p id=\"message\" data-kind=\"error\" role=\"alert\">");
  panel_html(&b, msg);
  panel_raw(&b, "</p>\n<p class=\"hint\">");
  panel_html(&b, status == 403   ? "The page you came from is out of date. Start again."
                 : status >= 500 ? "Please try again in a moment. If it keeps happening, tell "
                                   "your administrator."
                                 : "Start again from the first screen.");
  panel_raw(&b,
            "</p>\n<div><a class=\"button primary\" id=\"start\" href=\"/release\">Back to the "
            "start</a><a class=\"button\" id=\"status-link\" href=\"/\">Printer status</a>"
            "</div>\n</body></html>\n");
  return panel_send(conn, status, "text/html; charset=utf-8", b.buf);
}

static void panel_row(panel_buf_t *b, const char *name, const char *value) {
  panel_raw(b, "<tr><th>");
  panel_html(b, name);
  panel_raw(b, "</th><td>");
  panel_html(b, value && *value ? value : "-");
  panel_raw(b, "</td></tr>\n");
}

char *panel_status_json(connector_t *c) {
  json_t *o = json_object();
  json_t *uris = json_array();
  pthread_mutex_lock(&c->lock);
  json_object_set_new(o, "status", json_string(state_status_name(c->state.status)));
  json_object_set_new(o, "transport", json_string(c->opt.transport_name));
  json_object_set_new(o, "on_deregister", json_string(policy_name(c->opt.policy)));
  json_object_set_new(o, "server", json_string(c->state.server));
  json_object_set_new(o, "output_device_uuid", json_string(c->state.uuid));
  for (size_t i = 0; i < c->state.nuris; i++)
    json_array_append_new(uris, json_string(c->state.uris[i]));
  json_object_set_new(o, "printer_uris", uris);
  json_object_set_new(o, "registered_at", json_string(c->state.registered_at));
  json_object_set_new(o, "status_changed_at", json_string(c->state.status_changed_at));
  json_object_set_new(o, "last_contact", json_string(c->last_contact));
  json_object_set_new(o, "detected_at", json_string(c->detected_at));
  json_object_set_new(o, "last_error", json_string(c->last_error));
  json_object_set_new(o, "jobs_printed", json_integer(c->state.jobs_printed));
  json_object_set_new(o, "jobs_active", json_integer(c->jobs_active));
  json_object_set_new(o, "ask_pending", json_boolean(c->ask_pending));
  json_object_set_new(o, "output", json_string(output_kind(c->output)));
  json_object_set_new(o, "traffic", json_boolean(atomic_load(&c->allowed)));
  pthread_mutex_unlock(&c->lock);
  json_object_set_new(o, "provisioning", provision_status_json(c));
  char *text = json_dumps(o, JSON_SORT_KEYS);
  json_decref(o);
  return text;
}

#define PANEL_ASK_COOKIE "nimbus_panel_ask"

/* The /decision token of the browser holding cookie (32 hex chars). */
static void panel_ask_token(connector_t *c, const char *cookie, char out[33]) {
  unsigned char mac[16];
  crypto_generichash(mac, sizeof mac, (const unsigned char *)cookie, strlen(cookie),
                     (const unsigned char *)c->csrf, strlen(c->csrf));
  sodium_bin2hex(out, 33, mac, sizeof mac);
}

/* This browser's ask cookie when it is well-formed (32 hex chars). */
static const char *panel_ask_cookie(struct MHD_Connection *conn) {
  const char *v = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, PANEL_ASK_COOKIE);
  return v && strlen(v) == 32 && strspn(v, "0123456789abcdef") == 32 ? v : NULL;
}

/* The status in words for whoever stands at the printer; kind is "ok",
 * "warn" or "bad" (the colour).  Caller holds c->lock. */
static const char *panel_summary_locked(connector_t *c, const char **kind) {
  switch (c->state.status) {
    case STATE_REGISTERED:
      if (!c->last_contact[0]) {
        *kind = "warn";
        return "Connecting to the print service...";
      }
      if (!atomic_load(&c->allowed)) {
        *kind = "warn";
        return "Waiting for the print service: jobs will print once it answers again.";
      }
      *kind = "ok";
      return "Ready. This printer is connected to the print service: jobs you release here "
             "print on it.";
    case STATE_DETECTED:
      *kind = "bad";
      return c->ask_pending ? "Needs a decision: the print service removed this printer. "
                              "Choose below what to do."
                            : "Needs attention: the print service removed this printer. "
                              "Tell your administrator.";
    case STATE_STOPPED:
      *kind = "bad";
      return "Stopped: this printer no longer takes jobs from the print service. Tell your "
             "administrator.";
    case STATE_UNREGISTERED:
    default:
      *kind = "bad";
      return "Not set up: this printer is not registered with the print service yet. Tell "
             "your administrator.";
  }
}

/* The provisioning part of the status page (PROVISIONING.md §13): the
 * current or last step (kind, name, state, reason) and the versions this
 * printer runs.  Takes c->lock itself. */
static void panel_provisioning(connector_t *c, panel_buf_t *b) {
  json_t *p = provision_status_json(c);
  json_t *step = json_object_get(p, "step");
  json_t *v = json_object_get(p, "versions");
  json_t *fw = json_object_get(v, "firmware");
  json_t *apps = json_object_get(v, "applications");
  if (!step && !fw && !json_object_size(apps)) {
    json_decref(p);
    return;
  }
  panel_raw(b,
            "<h2>Setup by the service contract</h2>\n<ul class=\"facts\" id=\"provisioning\">\n");
  if (step) {
    const char *state = json_string_value(json_object_get(step, "state"));
    panel_raw(b, "<li id=\"prov-step\" data-kind=\"");
    panel_html(b, json_string_value(json_object_get(step, "kind")));
    panel_raw(b, "\" data-state=\"");
    panel_html(b, state);
    panel_raw(b, "\">");
    panel_html(b, !strcmp(state, "confirmed") || !strcmp(state, "failed") ? "Last step: "
                                                                          : "Current step: ");
    panel_html(b, json_string_value(json_object_get(step, "kind")));
    panel_raw(b, " <b>");
    panel_html(b, json_string_value(json_object_get(step, "name")));
    panel_raw(b, "</b>, ");
    panel_html(b, state);
    const char *reason = json_string_value(json_object_get(step, "reason"));
    if (reason && *reason && !strcmp(state, "failed")) {
      panel_raw(b, " (");
      panel_html(b, reason);
      panel_raw(b, ")");
    }
    panel_raw(b, "</li>\n");
  }
  if (fw) {
    panel_raw(b, "<li class=\"prov-version\" data-kind=\"firmware\">Firmware ");
    panel_html(b, json_string_value(json_object_get(fw, "name")));
    panel_raw(b, ": <b>");
    panel_html(b, json_string_value(json_object_get(fw, "version")));
    panel_raw(b, "</b></li>\n");
  }
  const char *name;
  json_t *ver;
  json_object_foreach(apps, name, ver) {
    panel_raw(b, "<li class=\"prov-version\" data-kind=\"application\">Application ");
    panel_html(b, name);
    panel_raw(b, ": <b>");
    panel_html(b, json_string_value(ver));
    panel_raw(b, "</b></li>\n");
  }
  panel_raw(b, "</ul>\n");
  json_decref(p);
}

/* cookie: the browser's ask cookie (the form's token is bound to it). */
static char *panel_page(connector_t *c, const char *cookie) {
  panel_buf_t b = {0};
  char token[33];
  panel_ask_token(c, cookie, token);
  char num[32], when[64];
  panel_head(&b, "status", "Printer status", 0, NULL);
  pthread_mutex_lock(&c->lock);
  const char *kind = "ok";
  const char *summary = panel_summary_locked(c, &kind);
  panel_raw(&b, "<p id=\"status-summary\" data-kind=\"");
  panel_raw(&b, kind);
  panel_raw(&b, "\" data-status=\"");
  panel_html(&b, state_status_name(c->state.status));
  panel_raw(&b, "\">");
  panel_html(&b, summary);
  panel_raw(&b, "</p>\n<ul class=\"facts\">\n<li>Jobs printed here: <b id=\"jobs-printed\">");
  snprintf(num, sizeof num, "%lld", (long long)c->state.jobs_printed);
  panel_html(&b, num);
  panel_raw(&b, "</b></li>\n<li>Printing now: <b id=\"jobs-active\">");
  snprintf(num, sizeof num, "%d", (int)c->jobs_active);
  panel_html(&b, num);
  panel_raw(&b, "</b></li>\n<li>Last contact with the print service: <b id=\"last-contact\">");
  panel_time_local(c->last_contact, when, sizeof when);
  panel_html(&b, when[0] ? when : "not yet");
  panel_raw(&b, "</b></li>\n");
  if (c->last_error[0]) {
    panel_raw(&b, "<li id=\"last-problem\">Last problem: ");
    panel_html(&b, c->last_error);
    panel_raw(&b, "</li>\n");
  }
  panel_raw(&b, "</ul>\n");
  pthread_mutex_unlock(&c->lock);
  panel_provisioning(c, &b);
  pthread_mutex_lock(&c->lock);
  if (c->ask_pending) {
    panel_raw(&b,
              "<h2>The server deleted this printer's registration</h2>\n"
              "<form method=\"post\" action=\"/decision\">\n"
              "<input type=\"hidden\" name=\"csrf\" value=\"");
    panel_html(&b, token);
    panel_raw(&b,
              "\">\n"
              "<button name=\"choice\" value=\"delete\">Delete the registration here too"
              "</button>\n"
              "<button name=\"choice\" value=\"stop\">Stop, keep the registration</button>\n"
              "<button name=\"choice\" value=\"continue\">Keep trying</button>\n"
              "</form>\n");
  }
  panel_raw(&b,
            "<div><a class=\"button primary\" id=\"release-link\" href=\"/release\">Print my "
            "jobs</a></div>\n"
            "<details id=\"technical\"><summary>Technical details (for the administrator)"
            "</summary>\n<table class=\"details\">\n");
  panel_row(&b, "Registration", state_status_name(c->state.status));
  panel_row(&b, "Transport", c->opt.transport_name);
  panel_row(&b, "Server", c->state.server);
  panel_row(&b, "Device", c->state.uuid);
  for (size_t i = 0; i < c->state.nuris; i++) panel_row(&b, "Queue", c->state.uris[i]);
  panel_row(&b, "Registered at", c->state.registered_at);
  panel_row(&b, "Last contact", c->last_contact);
  snprintf(num, sizeof num, "%lld", (long long)c->state.jobs_printed);
  panel_row(&b, "Jobs printed", num);
  panel_row(&b, "Output", output_kind(c->output));
  panel_row(&b, "On deregistration", policy_name(c->opt.policy));
  panel_row(&b, "Deregistration detected at", c->detected_at);
  panel_row(&b, "Last error", c->last_error);
  pthread_mutex_unlock(&c->lock);
  panel_raw(&b, "</table>\n</details>\n</body></html>\n");
  return b.buf;
}

void panel_security_headers(struct MHD_Response *r) {
  MHD_add_response_header(r, "Cache-Control", "no-store");
  MHD_add_response_header(r, "X-Frame-Options", "DENY");
  MHD_add_response_header(r, "Content-Security-Policy", PANEL_CSP);
  MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
  /* not no-referrer: with it browsers send "Origin: null" on the panel's
   * own form posts, and panel_same_origin() could not tell them apart */
  MHD_add_response_header(r, "Referrer-Policy", "same-origin");
}

enum MHD_Result panel_send(struct MHD_Connection *conn, unsigned status, const char *type,
                           char *text /* freed */) {
  if (!text) {
    text = strdup("out of memory\n");
    status = MHD_HTTP_INTERNAL_SERVER_ERROR;
    type = "text/plain";
  }
  struct MHD_Response *r =
      MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
  MHD_add_response_header(r, "Content-Type", type);
  panel_security_headers(r);
  enum MHD_Result ret = MHD_queue_response(conn, status, r);
  MHD_destroy_response(r);
  return ret;
}

/* Value of field `name` in an urlencoded body, decoded into out. */
bool panel_form_field(const char *body, const char *name, char *out, size_t outlen) {
  size_t n = strlen(name);
  for (const char *p = body; p && *p;) {
    const char *amp = strchr(p, '&');
    size_t len = amp ? (size_t)(amp - p) : strlen(p);
    if (len > n && !strncmp(p, name, n) && p[n] == '=') {
      size_t vlen = len - n - 1;
      if (vlen >= outlen) return false;
      memcpy(out, p + n + 1, vlen);
      out[vlen] = '\0';
      for (char *q = out; *q; q++)
        if (*q == '+') *q = ' ';
      MHD_http_unescape(out);
      return true;
    }
    p = amp ? amp + 1 : NULL;
  }
  return false;
}

static enum MHD_Result panel_decision(connector_t *c, struct MHD_Connection *conn,
                                      panel_req_t *pr) {
  char token[64] = "", choice[32] = "";
  policy_t p;
  if (pr->too_big) return panel_error(conn, 413, "The request was too large.");
  pr->body[pr->len] = '\0';
  const char *cookie = panel_ask_cookie(conn);
  char expect[33];
  if (cookie) panel_ask_token(c, cookie, expect);
  bool token_ok = cookie && panel_form_field(pr->body, "csrf", token, sizeof token) &&
                  strlen(token) == 32 && crypto_equal(token, expect, 32);
  if (!token_ok) return panel_error(conn, 403, "Bad or missing CSRF token: the form has expired.");
  if (!panel_form_field(pr->body, "choice", choice, sizeof choice) || !policy_parse(choice, &p) ||
      p == POLICY_ASK)
    return panel_error(conn, 400, "The choice must be delete, stop or continue.");
  pthread_mutex_lock(&c->lock);
  bool pending = c->ask_pending && c->ask_choice < 0;
  if (pending) {
    c->ask_choice = (int)p;
    pthread_cond_broadcast(&c->cond);
  }
  pthread_mutex_unlock(&c->lock);
  if (!pending) return panel_error(conn, 409, "No decision is pending.");
  log_event(LOG_INFO, NULL, "panel decision received", "choice", policy_name(p), (char *)NULL);
  return panel_send(conn, 200, "text/plain", strdup("decision recorded\n"));
}

/* GET /: the status page; a browser without an ask cookie gets one, to
 * which the /decision form's token is bound. */
static enum MHD_Result panel_status_page(connector_t *c, struct MHD_Connection *conn) {
  const char *cookie = panel_ask_cookie(conn);
  char fresh[33];
  if (!cookie) {
    crypto_random_hex(fresh);
    cookie = fresh;
  }
  char *page = panel_page(c, cookie);
  if (!page) return panel_error(conn, 500, "The page could not be made (out of memory).");
  struct MHD_Response *r =
      MHD_create_response_from_buffer(strlen(page), page, MHD_RESPMEM_MUST_FREE);
  MHD_add_response_header(r, "Content-Type", "text/html; charset=utf-8");
  panel_security_headers(r);
  if (cookie == fresh) {
    char set[128];
    snprintf(set, sizeof set, PANEL_ASK_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict", fresh);
    MHD_add_response_header(r, "Set-Cookie", set);
  }
  enum MHD_Result ret = MHD_queue_response(conn, 200, r);
  MHD_destroy_response(r);
  return ret;
}

/*
 * A POST from a page of this panel?  A browser sends Origin (or at least
 * Referer) with a form post; either must name the Host the request was
 * sent to.  A client that sends neither (curl, the CLI) is not a browser
 * that a foreign page could drive.
 */
static bool panel_same_origin(struct MHD_Connection *conn) {
  const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host");
  const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
  const char *referer = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Referer");
  if (!origin && !referer) return true;
  if (!host || !*host) return false;
  char own[300];
  int n = snprintf(own, sizeof own, "http://%s", host);
  if (n < 0 || (size_t)n >= sizeof own) return false;
  if (origin) return strcmp(origin, own) == 0;
  size_t len = (size_t)n;
  return strncmp(referer, own, len) == 0 && (referer[len] == '/' || referer[len] == '\0');
}

/* What c->panel points to. */
typedef struct {
  httpguard_t *d;
  panel_release_t *rel;
} panel_t;

static enum MHD_Result panel_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                     const char *method, const char *version,
                                     const char *upload_data, size_t *upload_size, void **con_cls) {
  connector_t *c = cls;
  panel_t *panel = c->panel;
  bool post = !strcmp(method, "POST");
  enum MHD_Result refused;
  if (!*con_cls && http_framing_refused_mhd(conn, version, &refused)) return refused; /* RFC 9112 */
  if (post && !*con_cls) {
    panel_req_t *pr = calloc(1, sizeof *pr);
    if (!pr) return MHD_NO;
    *con_cls = pr;
    return MHD_YES;
  }
  if (post) {
    panel_req_t *pr = *con_cls;
    if (*upload_size) {
      if (pr->len + *upload_size > PANEL_BODY_MAX)
        pr->too_big = true;
      else {
        memcpy(pr->body + pr->len, upload_data, *upload_size);
        pr->len += *upload_size;
      }
      *upload_size = 0;
      return MHD_YES;
    }
    if (!panel_same_origin(conn)) {
      log_event(LOG_WARN, NULL, "panel: cross-origin POST refused", "path", url, (char *)NULL);
      return panel_error(conn, 403, "Cross-origin request refused.");
    }
    if (!strcmp(url, "/decision")) return panel_decision(c, conn, pr);
    if (!strncmp(url, "/release", 8)) return panel_release_post(panel->rel, conn, url, pr);
    return panel_error(conn, 404, "There is no such page on this printer.");
  }
  if (strcmp(method, "GET") && strcmp(method, "HEAD"))
    return panel_error(conn, 405, "Method not allowed.");
  if (!strcmp(url, "/")) return panel_status_page(c, conn);
  if (!strcmp(url, "/release") || !strncmp(url, "/release/", 9))
    return panel_release_get(panel->rel, conn, url);
  if (!strcmp(url, "/status.json"))
    return panel_send(conn, 200, "application/json", panel_status_json(c));
  return panel_error(conn, 404, "There is no such page on this printer.");
}

static void panel_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                            enum MHD_RequestTerminationCode toe) {
  (void)cls, (void)conn, (void)toe;
  free(*con_cls);
  *con_cls = NULL;
}

bool panel_start(connector_t *c, char *err, size_t errlen) {
  char host[64];
  int port;
  const char *colon = strrchr(c->opt.panel_listen, ':');
  if (!colon || (size_t)(colon - c->opt.panel_listen) >= sizeof host) {
    snprintf(err, errlen, "panel-listen must be ADDRESS:PORT");
    return false;
  }
  memcpy(host, c->opt.panel_listen, (size_t)(colon - c->opt.panel_listen));
  host[colon - c->opt.panel_listen] = '\0';
  char *end;
  long lp = strtol(colon + 1, &end, 10);
  if (*end || end == colon + 1 || lp < 0 || lp > 65535) {
    snprintf(err, errlen, "panel-listen: bad port");
    return false;
  }
  port = (int)lp;
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
    snprintf(err, errlen, "panel-listen: '%s' is not an IPv4 address", host);
    return false;
  }
  panel_t *panel = calloc(1, sizeof *panel);
  if (!panel || !(panel->rel = panel_release_open(c))) {
    free(panel);
    snprintf(err, errlen, "out of memory");
    return false;
  }
  c->panel = panel; /* before the first request */
  /* a thread per connection: the release screens wait for nimbusd's REST answers;
   * connection limits and the header deadline as for the IPP listener */
  httpguard_limits_t limits = {.max_connections = c->opt.http_max_connections,
                               .max_per_address = c->opt.http_max_per_address,
                               .header_timeout = c->opt.http_header_timeout,
                               .idle_timeout = 30};
  char gerr[128];
  httpguard_t *d = httpguard_start("panel", MHD_USE_THREAD_PER_CONNECTION, &sa, &limits,
                                   panel_handler, c, panel_completed, c, gerr, sizeof gerr);
  if (!d) {
    snprintf(err, errlen, "cannot listen on %s: %s", c->opt.panel_listen, gerr);
    panel_release_close(panel->rel);
    free(panel);
    c->panel = NULL;
    return false;
  }
  c->panel_port = httpguard_port(d);
  panel->d = d;
  char portstr[16];
  snprintf(portstr, sizeof portstr, "%d", c->panel_port);
  log_event(LOG_INFO, NULL, "panel listening", "address", host, "port", portstr, (char *)NULL);
  return true;
}

void panel_stop(connector_t *c) {
  panel_t *panel = c->panel;
  if (!panel) return;
  httpguard_stop(panel->d);
  panel_release_close(panel->rel); /* logs out whoever is still logged in */
  free(panel);
  c->panel = NULL;
}
