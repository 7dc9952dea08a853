/*
 * panel-remote.c: jobs waiting at another print service on the release
 * panel (docs/FEDERATION.md §4, docs/PANEL.md).  nimbusd's job list
 * (GET /device/jobs) merges the user's held jobs with the remote jobs of
 * their linked accounts; this file draws a remote job's row ("at
 * print.other.example"), its details screen and its Print (the take
 * route POST /device/remote-jobs/{link}/{id}/release), the relink notice
 * above the list and the account link screen (user code, QR code and
 * verification URL, refreshing itself until linked).  Only the device
 * API is used: the connector never contacts a remote service.
 *
 * Element ids (Playwright):
 *   job list:  li.job.remote (data-remote-id) with checkbox
 *              input.job-select name "remote" and .job-where ("at HOST");
 *              #relink-notice (one p.relink per link needing it, with a
 *              button .relink-button, data-service the service URL)
 *   details:   body[data-screen=remote-details]: #job-name, #job-pages,
 *              #job-copies (#job-settings, #settings-changed),
 *              #job-time, #job-where; #release-refusal (data-problem:
 *              relink-needed, remote-job-taken, remote-job-gone,
 *              unreachable) with #relink when relinking helps; buttons
 *              #print, link #settings, #back
 *   link:      body[data-screen=link]: #link-service, #user-code,
 *              img #link-qr (/release/link-qr.svg, data-url),
 *              #verification-uri, #link-status (data-status); link
 *              #link-done back to the jobs
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device-api.h"
#include "log.h"
#include "panel-private.h"

#define REMOTE_LINK_REFRESH 5 /* seconds between looks at a pending link */

const char panel_remote_css[] =
    ".job-where{background:#e8eefc;color:#1b3f8a;border-radius:4px;padding:0 6px;"
    "overflow:hidden;text-overflow:ellipsis;max-width:260px}\n"
    "#relink-notice{margin:0 0 8px}\n"
    "p.relink{display:flex;align-items:center;gap:12px;margin:0 0 6px;padding:4px 12px;"
    "border-radius:6px;background:#fff3cd;border-left:8px solid #ef8f00;font-size:18px}\n"
    "p.relink button{margin:0;min-height:44px;line-height:44px}\n"
    ".link-screen{display:flex;gap:28px;align-items:flex-start}\n"
    "#link-qr{width:240px;height:240px;flex:none;image-rendering:pixelated;background:#fff}\n"
    "#user-code{font:bold 36px/1.2 monospace;letter-spacing:4px;margin:2px 0 6px}\n"
    ".link-screen p{margin:0 0 6px}\n"
    "#verification-uri{font:16px/1.3 monospace;word-break:break-all;background:#fff;"
    "padding:6px 8px;border-radius:6px;margin:4px 0 8px}\n";

bool remote_is(json_t *j) {
  /* a remote job still at its service: no local id (a taken one's local
   * copy has an id and origin kind "remote" too: it is a local job) */
  return !strcmp(rel_str(json_object_get(j, "origin"), "kind"), "remote") &&
         rel_str(j, "remote_id")[0] && !json_object_get(j, "id");
}

/* The host of a service URL ("https://print.other.example:8443/x" ->
 * "print.other.example:8443"), or the URL itself. */
static void remote_host(const char *url, char *out, size_t len) {
  const char *p = strstr(url, "://");
  p = p ? p + 3 : url;
  size_t n = strcspn(p, "/?#");
  if (n >= len) n = len - 1;
  memcpy(out, p, n);
  out[n] = '\0';
}

/* "at HOST" of remote job j (its origin's service, else its link). */
static void remote_where(json_t *j, char *out, size_t len) {
  json_t *o = json_object_get(j, "origin");
  char host[128];
  const char *svc = rel_str(o, "service");
  remote_host(svc[0] ? svc : rel_str(o, "link"), host, sizeof host);
  snprintf(out, len, "at %s", host);
}

/* When remote job j was submitted (its created_at, else submitted_at),
 * as this printer's local time. */
static void remote_when(json_t *j, char *out, size_t len) {
  const char *t = rel_str(j, "created_at");
  panel_time_local(t[0] ? t : rel_str(j, "submitted_at"), out, len);
}

/* The remote job's own number (after the last ':' of its remote_id). */
static const char *remote_number(const char *remote_id) {
  const char *c = strrchr(remote_id, ':');
  return c ? c + 1 : remote_id;
}

static void remote_span(panel_buf_t *b, const char *cls, const char *text) {
  panel_raw(b, "<span class=\"");
  panel_raw(b, cls);
  panel_raw(b, "\">");
  panel_html(b, text);
  panel_raw(b, "</span>");
}

void remote_list_row(panel_buf_t *b, json_t *j) {
  const char *rid = rel_str(j, "remote_id");
  long long p = rel_int(j, "pages"), n = rel_int(j, "copies");
  char number[64], pages[48], copies[48], when[64], where[160];
  snprintf(number, sizeof number, "No. %s", remote_number(rid));
  snprintf(pages, sizeof pages, p == 1 ? "%lld page" : "%lld pages", p);
  if (n < 1) n = 1;
  snprintf(copies, sizeof copies, n == 1 ? "%lld copy" : "%lld copies", n);
  remote_when(j, when, sizeof when);
  remote_where(j, where, sizeof where);
  panel_raw(b, "<li class=\"job remote\" data-remote-id=\"");
  panel_html(b, rid);
  panel_raw(b, "\"><label><input type=\"checkbox\" class=\"job-select\" name=\"remote\" value=\"");
  panel_html(b, rid);
  panel_raw(b, "\"><span class=\"job-main\">");
  remote_span(b, "job-name", rel_str(j, "name")[0] ? rel_str(j, "name") : "(untitled)");
  panel_raw(b, "<span class=\"job-meta\">");
  remote_span(b, "job-where", where);
  remote_span(b, "job-number", number);
  remote_span(b, "job-pages", pages);
  remote_span(b, "job-copies", copies);
  remote_span(b, "job-time", when);
  panel_raw(b, "</span></span></label></li>\n");
}

void remote_relink_banner(panel_release_t *rel, panel_buf_t *b, const rel_session_t *s,
                          json_t *list) {
  /* the list's "links" ({"service","status"}), else the user's account
   * links asked for (an older nimbusd) */
  json_t *links = json_object_get(list, "links");
  device_api_answer_t ans = {0};
  bool asked = false;
  if (!json_is_array(links)) {
    asked = device_api_call(rel->c, "GET", "/device/account-links", s->token, NULL, &ans);
    links = asked && ans.status == 200 ? json_object_get(ans.body, "account_links") : NULL;
  }
  size_t i, shown = 0;
  json_t *l;
  json_array_foreach(links, i, l) {
    if (strcmp(rel_str(l, "status"), "relink-needed") != 0) continue;
    const char *service =
        rel_str(l, "service")[0] ? rel_str(l, "service") : rel_str(l, "service_url");
    char host[128], words[256];
    remote_host(service, host, sizeof host);
    snprintf(words, sizeof words, "Your account at %s needs relinking.", host);
    if (!shown++) panel_raw(b, "<div id=\"relink-notice\" role=\"status\">\n");
    panel_raw(b, "<p class=\"relink\"><span>");
    panel_html(b, words);
    panel_raw(b,
              "</span><button type=\"submit\" form=\"relink-form\" class=\"relink-button\" "
              "name=\"service\" value=\"");
    panel_html(b, service);
    panel_raw(b, "\">Relink</button></p>\n");
  }
  if (asked) device_api_answer_free(&ans);
  if (!shown) return;
  panel_raw(b, "</div>\n");
  rel_form_open(b, s->csrf, "relink-form", "/release/relink");
  panel_raw(b, "</form>\n");
}

/* A remote list entry's "settings" (its copies, sides, print-color-mode
 * and media, with the defaults of FEDERATION.md §5), unless it has them. */
static void remote_settings_of(json_t *job) {
  if (json_is_object(json_object_get(job, "settings"))) return;
  const char *sides = rel_str(job, "sides"), *color = rel_str(job, "print-color-mode");
  json_t *st = json_pack(
      "{s:I, s:s, s:s, s:O}", "copies",
      (json_int_t)(rel_int(job, "copies") > 0 ? rel_int(job, "copies") : 1), "sides",
      sides[0] ? sides : "one-sided", "print-color-mode", color[0] ? color : "auto", "media",
      json_is_string(json_object_get(job, "media")) ? json_object_get(job, "media") : json_null());
  if (st) json_object_set_new(job, "settings", st);
}

long remote_fetch(panel_release_t *rel, const rel_session_t *s, json_t **job) {
  *job = NULL;
  device_api_answer_t ans;
  if (!device_api_call(rel->c, "GET", "/device/jobs", s->token, NULL, &ans)) return 0;
  long st = ans.status;
  if (st == 200) {
    st = 404;
    size_t i;
    json_t *j;
    json_array_foreach(json_object_get(ans.body, "jobs"), i, j) {
      if (!remote_is(j) || strcmp(rel_str(j, "remote_id"), s->remote) != 0) continue;
      *job = json_deep_copy(j);
      /* this printer's choices: the job's own, else the list's */
      if (*job && !json_object_get(*job, "choices") && json_object_get(ans.body, "choices"))
        json_object_set(*job, "choices", json_object_get(ans.body, "choices"));
      if (*job) json_object_set_new(*job, "state", json_string("held"));
      if (*job) remote_settings_of(*job);
      st = *job ? 200 : 0;
      break;
    }
  }
  device_api_answer_free(&ans);
  return st;
}

/* The settings kept on the settings screen over the job's own (the take
 * checks and prices them; there is no quote for a remote job). */
static void remote_kept_settings(const rel_session_t *s, json_t *job) {
  if (!set_pending(s)) return;
  json_t *st = json_object_get(job, "settings");
  if (!json_is_object(st)) {
    st = json_object();
    json_object_set_new(job, "settings", st);
  }
  if (s->set_copies) {
    json_object_set_new(st, "copies", json_integer(s->set_copies));
    json_object_set_new(job, "copies", json_integer(s->set_copies));
  }
  if (s->set_sides[0]) json_object_set_new(st, "sides", json_string(s->set_sides));
  if (s->set_color[0]) json_object_set_new(st, "print-color-mode", json_string(s->set_color));
  if (s->set_media[0]) json_object_set_new(st, "media", json_string(s->set_media));
}

/* Problem kinds of a refused take and their words. */
typedef enum { RP_NONE, RP_RELINK, RP_TAKEN, RP_GONE, RP_UNREACHABLE } remote_problem_t;
static const char *const remote_problem_names[] = {"", "relink-needed", "remote-job-taken",
                                                   "remote-job-gone", "unreachable"};

/* The refusal shown next to Print: its kind is in the words' first byte
 * (a digit) so that one string carries both through the session. */
static remote_problem_t remote_refusal_kind(const char *refusal) {
  if (!refusal || refusal[0] < '1' || refusal[0] > '4') return RP_NONE;
  return (remote_problem_t)(refusal[0] - '0');
}

enum MHD_Result remote_job_screen(panel_release_t *rel, struct MHD_Connection *conn, int slot,
                                  rel_session_t *s, unsigned status, const char *msg, bool error,
                                  const char *refusal) {
  json_t *job = NULL;
  long st = remote_fetch(rel, s, &job);
  if (st == 0 || st >= 500) return rel_unavailable(rel, conn);
  if (st == 401) return rel_expired(rel, conn, slot, s);
  if (st != 200) { /* taken elsewhere, canceled there, or not this user's any more */
    const char *why = refusal && *refusal ? refusal + (remote_refusal_kind(refusal) ? 1 : 0)
                                          : "That job is no longer waiting for you.";
    rel_advance(s);
    s->remote[0] = '\0';
    s->njobs = s->cur = 0;
    rel_store(rel, slot, s);
    return rel_jobs_page(rel, conn, slot, s, status != 200 ? status : MHD_HTTP_NOT_FOUND, why,
                         true);
  }
  remote_kept_settings(s, job);
  const char *name = rel_str(job, "name")[0] ? rel_str(job, "name") : "(untitled)";
  char pages[32], copies[32], when[64], where[160];
  snprintf(pages, sizeof pages, "%lld", rel_int(job, "pages"));
  snprintf(copies, sizeof copies, "%lld", rel_int(job, "copies") ? rel_int(job, "copies") : 1);
  remote_when(job, when, sizeof when);
  remote_where(job, where, sizeof where);
  panel_buf_t b = {0};
  rel_head(rel, &b, "remote-details", "Print this job?", true);
  rel_message(&b, msg && *msg ? msg : s->flash, error);
  panel_raw(&b, "<table class=\"details compact\">\n<tr><th>Name</th><td id=\"job-name\">");
  panel_html(&b, name);
  panel_raw(&b, "</td></tr>\n<tr><th>From</th><td id=\"job-where\">");
  panel_html(&b, where);
  panel_raw(&b, " (job ");
  panel_html(&b, remote_number(s->remote));
  panel_raw(&b, ")</td></tr>\n<tr><th>Pages</th><td id=\"job-pages\">");
  panel_html(&b, pages);
  panel_raw(&b, "</td></tr>\n<tr><th>Copies</th><td><span id=\"job-copies\">");
  panel_html(&b, copies);
  panel_raw(&b, "</span>");
  set_summary(&b, job, set_pending(s));
  panel_raw(&b, "</td></tr>\n<tr><th>Received</th><td id=\"job-time\">");
  panel_html(&b, when);
  panel_raw(&b, "</td></tr>\n</table>\n");
  rel_form_open(&b, s->csrf, "details-form", "/release/print");
  remote_problem_t kind = remote_refusal_kind(refusal);
  if (refusal && *refusal) {
    panel_raw(&b, "<p id=\"release-refusal\" role=\"alert\" data-problem=\"");
    panel_raw(&b, remote_problem_names[kind]);
    panel_raw(&b, "\">");
    panel_html(&b, refusal + (kind ? 1 : 0));
    panel_raw(&b, "</p>\n");
  }
  rel_button(&b, "print", "/release/print", "Print", "primary");
  if (json_is_object(json_object_get(job, "choices")))
    panel_raw(&b, "<a class=\"button\" id=\"settings\" href=\"/release/settings\">Settings</a>");
  if (kind == RP_RELINK) {
    panel_raw(&b, "<input type=\"hidden\" name=\"service\" value=\"");
    panel_html(&b, rel_str(json_object_get(job, "origin"), "service"));
    panel_raw(&b, "\">");
    rel_button(&b, "relink", "/release/relink", "Relink", NULL);
  }
  rel_button(&b, "back", "/release/back", "Back", NULL);
  panel_raw(&b, "</form>\n");
  json_decref(job);
  return rel_page(conn, status, &b);
}

/* Is problem's type urn:nimbus:problem:kind? */
static bool remote_type_is(json_t *problem, const char *kind) {
  const char *t = rel_str(problem, "type");
  const char *c = strrchr(t, ':');
  return c && !strcmp(c + 1, kind);
}

/* Append s percent-encoded (all but unreserved characters). */
static void remote_path_part(char *out, size_t len, const char *s) {
  size_t n = strlen(out);
  for (; *s && n + 4 < len; s++) {
    unsigned char ch = (unsigned char)*s;
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
        ch == '-' || ch == '_' || ch == '.' || ch == '~')
      out[n++] = (char)ch;
    else
      n += (size_t)snprintf(out + n, len - n, "%%%02X", ch);
  }
  out[n] = '\0';
}

enum MHD_Result remote_print(panel_release_t *rel, struct MHD_Connection *conn, int slot,
                             rel_session_t *s) {
  char link[REL_REMOTE_ID_MAX];
  snprintf(link, sizeof link, "%s", s->remote);
  char *colon = strrchr(link, ':');
  if (!colon) return rel_redirect(conn, "/release/jobs", NULL);
  *colon = '\0';
  char path[3 * REL_REMOTE_ID_MAX + 64] = "/device/remote-jobs/";
  remote_path_part(path, sizeof path, link);
  snprintf(path + strlen(path), sizeof path - strlen(path), "/");
  remote_path_part(path, sizeof path, colon + 1);
  snprintf(path + strlen(path), sizeof path - strlen(path), "/release");
  json_t *req = json_object();
  if (req && !set_release_body(req, s)) {
    json_decref(req);
    req = NULL;
  }
  device_api_answer_t ans;
  bool answered = req && device_api_call(rel->c, "POST", path, s->token, req, &ans);
  json_decref(req);
  if (!answered || (ans.status >= 500 && ans.status != 502)) {
    if (answered) device_api_answer_free(&ans);
    return rel_unavailable(rel, conn);
  }
  long st = ans.status;
  if (st == 202) { /* taken; to be paid first: the payment screen of the local job */
    int id = (int)rel_int(ans.body, "id");
    s->remote[0] = '\0';
    s->jobs[s->cur] = id;
    enum MHD_Result r = pay_started(rel, conn, slot, s, id, json_object_get(ans.body, "payment"));
    device_api_answer_free(&ans);
    return r;
  }
  char refusal[300] = "";
  if (st == 409 && remote_type_is(ans.body, "relink-needed"))
    snprintf(refusal, sizeof refusal,
             "%dYour account at that service needs relinking before its jobs can be printed "
             "here. Press Relink.",
             RP_RELINK);
  else if (st == 409 && remote_type_is(ans.body, "remote-job-taken"))
    snprintf(refusal, sizeof refusal, "%dAnother printer took this job.", RP_TAKEN);
  else if (st == 410)
    snprintf(refusal, sizeof refusal, "%dThis job was canceled at the other service.", RP_GONE);
  else if (st == 502)
    snprintf(refusal, sizeof refusal,
             "%dThe other print service cannot be reached now. The job stays there; please "
             "try again later.",
             RP_UNREACHABLE);
  device_api_answer_free(&ans);
  log_event(LOG_INFO, NULL, st == 200 ? "remote job taken at the panel" : "remote take refused",
            "remote_job", s->remote, "user", s->user, "status", LOG_INT(st), (char *)NULL);
  if (st == 401) return rel_expired(rel, conn, slot, s);
  if (refusal[0]) {
    rel_store(rel, slot, s);
    return remote_job_screen(rel, conn, slot, s, (unsigned)st, NULL, false, refusal);
  }
  if (st == 400 && set_pending(s)) { /* this printer does not take them: the job's own */
    set_clear(s);
    rel_store(rel, slot, s);
    return remote_job_screen(rel, conn, slot, s, (unsigned)st,
                             "This printer does not take the settings chosen; they were reset. "
                             "Check them and press Print again.",
                             true, NULL);
  }
  if (st != 200) {
    rel_store(rel, slot, s);
    return remote_job_screen(rel, conn, slot, s, (unsigned)st, "That job cannot be printed.", true,
                             NULL);
  }
  rel_end(rel, slot, s->cookie); /* printed: log out, as for a local job */
  log_event(LOG_INFO, NULL, "panel session ended (printed)", "user", s->user, (char *)NULL);
  return rel_done_page(rel, conn, "Your job is being printed.");
}

/* Find account link id (or, id 0, the one of service) of the user's
 * links: a copy into *out (caller frees); the status of the list. */
static long remote_link_find(panel_release_t *rel, const rel_session_t *s, long long id,
                             const char *service, json_t **out) {
  *out = NULL;
  device_api_answer_t ans;
  if (!device_api_call(rel->c, "GET", "/device/account-links", s->token, NULL, &ans)) return 0;
  long st = ans.status;
  if (st == 200) {
    st = 404;
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(ans.body, "account_links"), i, l) {
      if (id ? rel_int(l, "id") != id : strcmp(rel_str(l, "service_url"), service) != 0) continue;
      *out = json_deep_copy(l);
      st = *out ? 200 : 0;
      break;
    }
  }
  device_api_answer_free(&ans);
  return st;
}

enum MHD_Result remote_relink(panel_release_t *rel, struct MHD_Connection *conn, int slot,
                              rel_session_t *s, const char *body) {
  char idtext[32] = "", service[512] = "";
  if (!panel_form_field(body, "link", idtext, sizeof idtext)) idtext[0] = '\0';
  if (!panel_form_field(body, "service", service, sizeof service)) service[0] = '\0';
  long long id = strtoll(idtext, NULL, 10);
  json_t *link = NULL;
  long st = 200;
  if (id <= 0 && service[0]) { /* from a remote job: its service's link, if any */
    st = remote_link_find(rel, s, 0, service, &link);
    if (link) id = rel_int(link, "id");
    json_decref(link);
    link = NULL;
  }
  if (st == 0 || st >= 500) return rel_unavailable(rel, conn);
  if (st == 401) return rel_expired(rel, conn, slot, s);
  device_api_answer_t ans;
  bool answered;
  if (id > 0) {
    char path[96];
    snprintf(path, sizeof path, "/device/account-links/%lld/relink", id);
    answered = device_api_call(rel->c, "POST", path, s->token, NULL, &ans);
  } else {
    json_t *req = service[0] ? json_pack("{s:s}", "service_url", service) : json_object();
    answered = req && device_api_call(rel->c, "POST", "/device/account-links", s->token, req, &ans);
    json_decref(req);
  }
  if (!answered || (ans.status >= 500 && ans.status != 502)) {
    if (answered) device_api_answer_free(&ans);
    return rel_unavailable(rel, conn);
  }
  st = ans.status;
  if (st == 401) {
    device_api_answer_free(&ans);
    return rel_expired(rel, conn, slot, s);
  }
  if (st != 200 && st != 201) {
    char msg[400];
    snprintf(msg, sizeof msg, "The account could not be linked now: %s", ans.error);
    device_api_answer_free(&ans);
    return rel_jobs_page(rel, conn, slot, s, (unsigned)st, msg, true);
  }
  s->link_id = rel_int(ans.body, "id");
  snprintf(s->link_uri, sizeof s->link_uri, "%s",
           rel_str(ans.body, "verification_uri_complete")[0]
               ? rel_str(ans.body, "verification_uri_complete")
               : rel_str(ans.body, "verification_uri"));
  device_api_answer_free(&ans);
  rel_store(rel, slot, s);
  log_event(LOG_INFO, NULL, "account link started at the panel", "user", s->user, (char *)NULL);
  return rel_redirect(conn, "/release/link", NULL);
}

enum MHD_Result remote_link_page(panel_release_t *rel, struct MHD_Connection *conn, int slot,
                                 rel_session_t *s) {
  if (!s->link_id) return rel_redirect(conn, "/release/jobs", NULL);
  json_t *l = NULL;
  long st = remote_link_find(rel, s, s->link_id, NULL, &l);
  if (st == 0 || st >= 500) return rel_unavailable(rel, conn);
  if (st == 401) return rel_expired(rel, conn, slot, s);
  if (st != 200) {
    s->link_id = 0;
    rel_store(rel, slot, s);
    return rel_jobs_page(rel, conn, slot, s, 404, "That account link is gone.", true);
  }
  const char *status = rel_str(l, "status");
  bool pending = !strcmp(status, "pending");
  char host[128], words[256];
  remote_host(rel_str(l, "service_url"), host, sizeof host);
  panel_buf_t b = {0};
  if (pending) /* look again by itself: no script */
    panel_head(&b, "link", "Link your account", REMOTE_LINK_REFRESH, "/release/link");
  else
    rel_head(rel, &b, "link", "Link your account", true);
  if (!strcmp(status, "linked"))
    snprintf(words, sizeof words, "Your account at %s is linked. Its jobs are in your list.", host);
  else if (pending)
    snprintf(words, sizeof words, "Waiting for you to approve at %s ...", host);
  else
    snprintf(words, sizeof words, "The link was not made (%s). You can try again.", status);
  rel_message(&b, words, !pending && strcmp(status, "linked") != 0);
  if (pending) {
    panel_raw(&b,
              "<div class=\"link-screen\"><img id=\"link-qr\" src=\"/release/link-qr.svg\" "
              "width=\"240\" height=\"240\" alt=\"QR code of the page where you approve\" "
              "data-url=\"");
    panel_html(&b, s->link_uri);
    panel_raw(&b,
              "\"><div>\n<p>On your phone, scan the code, or open this page:</p>\n"
              "<p id=\"verification-uri\">");
    panel_html(&b, rel_str(l, "verification_uri"));
    panel_raw(&b, "</p>\n<p>and enter the code:</p>\n<p id=\"user-code\">");
    panel_html(&b, rel_str(l, "user_code"));
    panel_raw(&b, "</p>\n<p>Account at <span id=\"link-service\">");
    panel_html(&b, host);
    panel_raw(&b, "</span></p>\n");
  }
  panel_raw(&b, "<p id=\"link-status\" data-status=\"");
  panel_html(&b, status);
  panel_raw(&b,
            "\" hidden></p>\n<a class=\"button primary\" id=\"link-done\" "
            "href=\"/release/jobs\">Back to my jobs</a>\n");
  if (pending) panel_raw(&b, "</div></div>\n");
  json_decref(l);
  return rel_page(conn, 200, &b);
}

enum MHD_Result remote_link_qr(struct MHD_Connection *conn, const rel_session_t *s) {
  if (!s->link_id || !s->link_uri[0]) return panel_error(conn, 404, "No account is being linked.");
  char *svg = qr_svg(s->link_uri, NULL);
  if (!svg) return panel_error(conn, 500, "The QR code could not be made.");
  return panel_send(conn, 200, "image/svg+xml", svg);
}
