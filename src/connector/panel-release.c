/*
 * panel-release.c: release at the printer on the panel (docs/PROTOCOL.md
 * 7.2), plain HTML forms laid out for an 800x480 touch screen, usable by
 * mouse and keyboard (every control is a real form control; Enter submits).
 *
 *   GET  /release          login: user ID + secret (password or panel PIN,
 *                          per tenant policy); with a session: the job list
 *   GET  /release/panel.css  the screens' stylesheet
 *   POST /release/login    user, secret -> 303 /release/jobs
 *   GET  /release/jobs     the user's held jobs (name, pages, time)
 *   POST /release/select   csrf, job=ID (one or several) -> 303 /release/job
 *   GET  /release/job      the selected job on screen: its PIN screen, or
 *                          once the PIN is typed, its details
 *   POST /release/pin      csrf, pin -> 303 /release/job (details)
 *   POST /release/print    csrf: release the job to this printer; next
 *                          selected job, or log out and show "printing"
 *   POST /release/back     csrf: forget the PIN and the selection -> jobs
 *   POST /release/cancel   csrf: cancel the job on screen -> next / jobs
 *   POST /release/logout   csrf -> 303 /release
 *
 * Element ids, stable for automation (Playwright):
 *   #message       the message of the screen (errors, "Job canceled." ...);
 *                  its data-kind is "error" or "info"
 *   login:         form #login-form, #user, #secret, button #login
 *   job list:      #jobs (ul), one li.job per job with data-id, containing
 *                  checkbox input.job-select (name "job", value the id) and
 *                  .job-name, .job-pages, .job-time; #no-jobs when empty;
 *                  buttons #next (continue with the selected jobs), #logout
 *   PIN screen:    #job-name, #pin, buttons #next (OK), #back
 *   details:       #job-name, #job-pages, #job-time, #job-fee,
 *                  buttons #print, #back, #cancel
 *   done:          #message, link #done (back to the start)
 *   every screen:  body[data-screen] = login|jobs|pin|details|done
 *
 * HTTP status of a screen: 200, or the failure nimbusd reported: 401 bad
 * login, 429 too many logins, 403 wrong PIN (#message says the attempts
 * left), 423 job locked, 404 job gone, 503 nimbusd unreachable.
 *
 * Sessions: the user's nimbusd session (nms_...) stays here, keyed by an
 * opaque random panel cookie (HttpOnly, SameSite=Strict, Path=/release);
 * a PIN is kept only between the PIN screen and Print/Back/Cancel, never
 * logged, never sent to the browser.  A session ends on logout, after the
 * last Print, after panel-session-idle seconds without a request, or when
 * nimbusd no longer knows it (401).  Signing in again from a browser that
 * has a session ends that session first (here and at nimbusd), whoever
 * signs in.
 *
 * CSRF: each session has its own random token, carried by every form of
 * its screens and checked on every POST but the login; the login screen
 * shows none (an anonymous visitor gets no token), and is protected, like
 * every POST, by panel.c's Origin check.  Styles come from
 * /release/panel.css (the CSP allows no inline style).
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "device-api.h"
#include "log.h"
#include "panel-private.h"

#define REL_SESSIONS 8    /* users logged in at once (one screen: few) */
#define REL_SELECT_MAX 16 /* jobs selected at once */
#define REL_COOKIE "nimbus_panel"

typedef struct {
  bool used;
  char cookie[33];
  char csrf[33];   /* this session's CSRF token */
  char token[160]; /* the nms_ session at nimbusd */
  char user[128];
  time_t last;
  int jobs[REL_SELECT_MAX];
  int njobs, cur;
  char pin[256];
  bool pin_entered;
  char flash[256];
} rel_session_t;

struct panel_release {
  connector_t *c;
  pthread_mutex_t lock;
  rel_session_t s[REL_SESSIONS];
};

/* ---- sessions ---- */

static void rel_wipe(rel_session_t *s) {
  sodium_memzero(s, sizeof *s);
}

/* Tell nimbusd the session is over (best effort). */
static void rel_logout_remote(connector_t *c, const char *token) {
  if (!token[0]) return;
  device_api_answer_t ans;
  device_api_call(c, "DELETE", "/device/sessions/current", token, NULL, &ans);
  device_api_answer_free(&ans);
}

/*
 * Drop idle sessions; their tokens go to out (caller logs them out at
 * nimbusd and wipes them).  Caller holds rel->lock.
 */
static int rel_expire_locked(panel_release_t *rel, char out[][160], int max) {
  time_t now = time(NULL);
  int n = 0;
  for (int i = 0; i < REL_SESSIONS; i++) {
    rel_session_t *s = &rel->s[i];
    if (!s->used || now - s->last < rel->c->opt.panel_session_idle) continue;
    if (n < max) snprintf(out[n++], 160, "%s", s->token);
    log_event(LOG_INFO, NULL, "panel session ended (idle)", "user", s->user, (char *)NULL);
    rel_wipe(s);
  }
  return n;
}

static void rel_expire(panel_release_t *rel) {
  char tokens[REL_SESSIONS][160];
  pthread_mutex_lock(&rel->lock);
  int n = rel_expire_locked(rel, tokens, REL_SESSIONS);
  pthread_mutex_unlock(&rel->lock);
  for (int i = 0; i < n; i++) rel_logout_remote(rel->c, tokens[i]);
  sodium_memzero(tokens, sizeof tokens);
}

/* The session of this browser: a copy into *out and its slot, or -1. */
static int rel_session(panel_release_t *rel, struct MHD_Connection *conn, rel_session_t *out) {
  rel_expire(rel);
  const char *cookie = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, REL_COOKIE);
  if (!cookie || strlen(cookie) != 32) return -1;
  int found = -1;
  pthread_mutex_lock(&rel->lock);
  for (int i = 0; i < REL_SESSIONS; i++)
    if (rel->s[i].used && crypto_equal(rel->s[i].cookie, cookie, 32)) {
      found = i;
      rel->s[i].last = time(NULL);
      *out = rel->s[i];
      rel->s[i].flash[0] = '\0'; /* shown once */
    }
  pthread_mutex_unlock(&rel->lock);
  return found;
}

/* Write s back into its slot (unless that session ended meanwhile). */
static void rel_store(panel_release_t *rel, int slot, const rel_session_t *s) {
  pthread_mutex_lock(&rel->lock);
  if (rel->s[slot].used && !strcmp(rel->s[slot].cookie, s->cookie)) rel->s[slot] = *s;
  pthread_mutex_unlock(&rel->lock);
}

/* End the session in slot (here and at nimbusd). */
static void rel_end(panel_release_t *rel, int slot, const char *cookie) {
  char token[160] = "";
  pthread_mutex_lock(&rel->lock);
  if (rel->s[slot].used && !strcmp(rel->s[slot].cookie, cookie)) {
    snprintf(token, sizeof token, "%s", rel->s[slot].token);
    rel_wipe(&rel->s[slot]);
  }
  pthread_mutex_unlock(&rel->lock);
  rel_logout_remote(rel->c, token);
  sodium_memzero(token, sizeof token);
}

panel_release_t *panel_release_open(connector_t *c) {
  panel_release_t *rel = calloc(1, sizeof *rel);
  if (!rel) return NULL;
  if (!device_api_init()) {
    free(rel);
    return NULL;
  }
  rel->c = c;
  pthread_mutex_init(&rel->lock, NULL);
  return rel;
}

void panel_release_close(panel_release_t *rel) {
  if (!rel) return;
  for (int i = 0; i < REL_SESSIONS; i++)
    if (rel->s[i].used) {
      rel_logout_remote(rel->c, rel->s[i].token);
      rel_wipe(&rel->s[i]);
    }
  pthread_mutex_destroy(&rel->lock);
  device_api_cleanup();
  free(rel);
}

/* ---- pages ---- */

const char panel_release_css[] =
    "html,body{margin:0;padding:0}\n"
    "body{width:800px;height:480px;overflow:hidden;box-sizing:border-box;padding:16px 24px;"
    "font:20px/1.3 sans-serif;background:#f4f6f8;color:#111}\n"
    "h1{font-size:26px;margin:0 0 12px}\n"
    "#message{padding:8px 12px;margin:0 0 12px;border-radius:6px;background:#e3f0ff}\n"
    "#message[data-kind=error]{background:#ffe3e3}\n"
    "label{display:block;margin:6px 0}\n"
    "input[type=text],input[type=password]{font-size:24px;width:420px;padding:8px;"
    "box-sizing:border-box}\n"
    "button,a.button{font-size:22px;min-width:150px;min-height:56px;margin:12px 12px 0 0;"
    "border-radius:8px;border:1px solid #556;background:#fff;cursor:pointer;"
    "display:inline-block;text-align:center;line-height:56px;text-decoration:none;color:#111}\n"
    "button.primary{background:#1f6feb;color:#fff;border-color:#1f6feb}\n"
    "button:focus,a.button:focus,input:focus{outline:3px solid #f5a623}\n"
    "#jobs{list-style:none;margin:0;padding:0;max-height:270px;overflow-y:auto}\n"
    "li.job label{display:flex;gap:16px;align-items:center;padding:8px;background:#fff;"
    "border-radius:6px;margin:0 0 6px}\n"
    "li.job input{width:28px;height:28px}\n"
    ".job-name{flex:1;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}\n"
    "table.details th{text-align:left;padding-right:24px;font-weight:normal;color:#555}\n";

static void rel_head(panel_buf_t *b, const char *screen, const char *title, int refresh_s) {
  panel_raw(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
  panel_raw(b, "<meta name=\"viewport\" content=\"width=800,height=480\">\n");
  if (refresh_s > 0) { /* back to the start when the session has gone idle */
    char meta[96];
    snprintf(meta, sizeof meta, "<meta http-equiv=\"refresh\" content=\"%d;url=/release\">\n",
             refresh_s + 1);
    panel_raw(b, meta);
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

static void rel_message(panel_buf_t *b, const char *msg, bool error) {
  if (!msg || !*msg) return;
  panel_raw(b, error ? "<p id=\"message\" data-kind=\"error\" role=\"alert\">"
                     : "<p id=\"message\" data-kind=\"info\" role=\"status\">");
  panel_html(b, msg);
  panel_raw(b, "</p>\n");
}

/* A form; csrf: the session's token, NULL for the login form (no session). */
static void rel_form_open(panel_buf_t *b, const char *csrf, const char *id, const char *action) {
  panel_raw(b, "<form method=\"post\" id=\"");
  panel_html(b, id);
  panel_raw(b, "\" action=\"");
  panel_html(b, action);
  panel_raw(b, "\">\n");
  if (!csrf) return;
  panel_raw(b, "<input type=\"hidden\" name=\"csrf\" value=\"");
  panel_html(b, csrf);
  panel_raw(b, "\">\n");
}

static void rel_button(panel_buf_t *b, const char *id, const char *action, const char *label,
                       bool primary) {
  panel_raw(b, "<button type=\"submit\" id=\"");
  panel_html(b, id);
  panel_raw(b, "\" formaction=\"");
  panel_html(b, action);
  panel_raw(b, primary ? "\" class=\"primary\">" : "\">");
  panel_html(b, label);
  panel_raw(b, "</button>\n");
}

static enum MHD_Result rel_page(struct MHD_Connection *conn, unsigned status, panel_buf_t *b) {
  panel_raw(b, "</body></html>\n");
  return panel_send(conn, status, "text/html; charset=utf-8", b->buf);
}

static enum MHD_Result rel_redirect(struct MHD_Connection *conn, const char *to,
                                    const char *cookie_header) {
  struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
  MHD_add_response_header(r, "Location", to);
  panel_security_headers(r);
  if (cookie_header) MHD_add_response_header(r, "Set-Cookie", cookie_header);
  enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_SEE_OTHER, r);
  MHD_destroy_response(r);
  return ret;
}

static enum MHD_Result rel_login_page(panel_release_t *rel, struct MHD_Connection *conn,
                                      unsigned status, const char *msg, bool error) {
  (void)rel; /* the login screen shows nothing of a session */
  panel_buf_t b = {0};
  rel_head(&b, "login", "Print your jobs", 0);
  rel_message(&b, msg, error);
  rel_form_open(&b, NULL, "login-form", "/release/login");
  panel_raw(&b,
            "<label for=\"user\">User ID</label>\n"
            "<input type=\"text\" id=\"user\" name=\"user\" autocomplete=\"off\" "
            "autocapitalize=\"none\" maxlength=\"127\" required autofocus>\n"
            "<label for=\"secret\">Password or panel PIN</label>\n"
            "<input type=\"password\" id=\"secret\" name=\"secret\" maxlength=\"255\" required>\n"
            "<div>");
  rel_button(&b, "login", "/release/login", "Log in", true);
  panel_raw(&b, "</div>\n</form>\n");
  return rel_page(conn, status, &b);
}

/* "2024-05-01T10:20:30Z" -> "2024-05-01 10:20" */
static void rel_time(const char *iso, char *out, size_t len) {
  snprintf(out, len, "%.16s", iso ? iso : "");
  char *t = strchr(out, 'T');
  if (t) *t = ' ';
}

static const char *rel_str(json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : "";
}

static long long rel_int(json_t *o, const char *k) {
  return (long long)json_integer_value(json_object_get(o, k));
}

/* A failure that is not the user's: nimbusd unreachable or erring. */
static enum MHD_Result rel_unavailable(panel_release_t *rel, struct MHD_Connection *conn) {
  return rel_login_page(rel, conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                        "The cloud service cannot be reached. Please try again later.", true);
}

/* nimbusd no longer knows the session: start again. */
static enum MHD_Result rel_expired(panel_release_t *rel, struct MHD_Connection *conn, int slot,
                                   const rel_session_t *s) {
  rel_end(rel, slot, s->cookie);
  return rel_login_page(rel, conn, MHD_HTTP_UNAUTHORIZED,
                        "Your session has ended. Please log in again.", true);
}

static enum MHD_Result rel_jobs_page(panel_release_t *rel, struct MHD_Connection *conn, int slot,
                                     rel_session_t *s, unsigned status, const char *msg,
                                     bool error) {
  device_api_answer_t ans;
  if (!device_api_call(rel->c, "GET", "/device/jobs", s->token, NULL, &ans) || ans.status >= 500) {
    device_api_answer_free(&ans);
    return rel_unavailable(rel, conn);
  }
  if (ans.status == 401) {
    device_api_answer_free(&ans);
    return rel_expired(rel, conn, slot, s);
  }
  json_t *jobs = json_object_get(ans.body, "jobs");
  panel_buf_t b = {0};
  char title[200];
  snprintf(title, sizeof title, "Jobs of %s", s->user);
  rel_head(&b, "jobs", title, rel->c->opt.panel_session_idle);
  if (ans.status != 200) {
    msg = "The job list cannot be shown.";
    error = true;
  }
  rel_message(&b, msg && *msg ? msg : s->flash, error);
  rel_form_open(&b, s->csrf, "jobs-form", "/release/select");
  size_t n = json_is_array(jobs) ? json_array_size(jobs) : 0;
  if (n == 0) panel_raw(&b, "<p id=\"no-jobs\">No jobs are waiting for you.</p>\n");
  panel_raw(&b, "<ul id=\"jobs\">\n");
  for (size_t i = 0; i < n; i++) {
    json_t *j = json_array_get(jobs, i);
    char id[24], pages[48], when[32];
    snprintf(id, sizeof id, "%lld", rel_int(j, "id"));
    long long p = rel_int(j, "pages");
    snprintf(pages, sizeof pages, p == 1 ? "%lld page" : "%lld pages", p);
    rel_time(rel_str(j, "created_at"), when, sizeof when);
    panel_raw(&b, "<li class=\"job\" data-id=\"");
    panel_html(&b, id);
    panel_raw(&b, "\"><label><input type=\"checkbox\" class=\"job-select\" name=\"job\" value=\"");
    panel_html(&b, id);
    panel_raw(&b, "\" id=\"job-");
    panel_html(&b, id);
    panel_raw(&b, n == 1 ? "\" checked>" : "\">");
    panel_raw(&b, "<span class=\"job-name\">");
    panel_html(&b, rel_str(j, "name")[0] ? rel_str(j, "name") : "(untitled)");
    panel_raw(&b, "</span><span class=\"job-pages\">");
    panel_html(&b, pages);
    panel_raw(&b, "</span><span class=\"job-time\">");
    panel_html(&b, when);
    panel_raw(&b, "</span></label></li>\n");
  }
  panel_raw(&b, "</ul>\n<div>");
  if (n > 0) rel_button(&b, "next", "/release/select", "Continue", true);
  rel_button(&b, "logout", "/release/logout", "Log out", false);
  panel_raw(&b, "</div>\n</form>\n");
  device_api_answer_free(&ans);
  return rel_page(conn, status, &b);
}

/* GET /device/jobs/{id}: 200 with *job set, else the status (0: no answer). */
static long rel_fetch_job(panel_release_t *rel, const rel_session_t *s, int id, json_t **job) {
  char path[64];
  snprintf(path, sizeof path, "/device/jobs/%d", id);
  device_api_answer_t ans;
  *job = NULL;
  if (!device_api_call(rel->c, "GET", path, s->token, NULL, &ans)) return 0;
  long st = ans.status;
  if (st == 200) {
    *job = ans.body;
    ans.body = NULL;
  }
  device_api_answer_free(&ans);
  return st;
}

/* The selected job on screen: its PIN screen or its details. */
static enum MHD_Result rel_job_page(panel_release_t *rel, struct MHD_Connection *conn, int slot,
                                    rel_session_t *s, unsigned status, const char *msg,
                                    bool error) {
  if (s->cur >= s->njobs) return rel_jobs_page(rel, conn, slot, s, 200, NULL, false);
  json_t *job = NULL;
  long st = rel_fetch_job(rel, s, s->jobs[s->cur], &job);
  if (st == 0 || st >= 500) return rel_unavailable(rel, conn);
  if (st == 401) return rel_expired(rel, conn, slot, s);
  if (st != 200) { /* gone, or not this user's: the next one */
    s->cur++;
    sodium_memzero(s->pin, sizeof s->pin);
    s->pin_entered = false;
    rel_store(rel, slot, s);
    if (s->cur < s->njobs)
      return rel_job_page(rel, conn, slot, s, MHD_HTTP_NOT_FOUND, "That job is no longer here.",
                          true);
    return rel_jobs_page(rel, conn, slot, s, MHD_HTTP_NOT_FOUND, "That job is no longer here.",
                         true);
  }
  bool has_pin = json_is_true(json_object_get(job, "has_pin"));
  panel_buf_t b = {0};
  const char *name = rel_str(job, "name")[0] ? rel_str(job, "name") : "(untitled)";
  if (has_pin && !s->pin_entered) {
    rel_head(&b, "pin", "Enter the job's PIN", rel->c->opt.panel_session_idle);
    rel_message(&b, msg && *msg ? msg : s->flash, error || (msg && *msg));
    panel_raw(&b, "<p id=\"job-name\">");
    panel_html(&b, name);
    panel_raw(&b, "</p>\n");
    rel_form_open(&b, s->csrf, "pin-form", "/release/pin");
    panel_raw(&b,
              "<label for=\"pin\">PIN</label>\n"
              "<input type=\"password\" id=\"pin\" name=\"pin\" inputmode=\"numeric\" "
              "autocomplete=\"off\" maxlength=\"255\" required autofocus>\n<div>");
    rel_button(&b, "next", "/release/pin", "OK", true);
    panel_raw(&b, "</div>\n</form>\n");
    rel_form_open(&b, s->csrf, "back-form", "/release/back");
    rel_button(&b, "back", "/release/back", "Back", false);
    panel_raw(&b, "</form>\n");
  } else {
    char pages[32], when[32], fee[64], copies[32];
    snprintf(pages, sizeof pages, "%lld", rel_int(job, "pages"));
    snprintf(copies, sizeof copies, "%lld", rel_int(job, "copies") ? rel_int(job, "copies") : 1);
    rel_time(rel_str(job, "created_at"), when, sizeof when);
    json_t *f = json_object_get(job, "fee");
    const char *cur = rel_str(f, "currency");
    snprintf(fee, sizeof fee, "%.2f %s",
             json_is_number(f ? json_object_get(f, "amount") : NULL)
                 ? json_number_value(json_object_get(f, "amount"))
                 : 0.0,
             cur[0] ? cur : "EUR");
    rel_head(&b, "details", "Print this job?", rel->c->opt.panel_session_idle);
    rel_message(&b, msg && *msg ? msg : s->flash, error);
    panel_raw(&b, "<table class=\"details\">\n<tr><th>Name</th><td id=\"job-name\">");
    panel_html(&b, name);
    panel_raw(&b, "</td></tr>\n<tr><th>Pages</th><td id=\"job-pages\">");
    panel_html(&b, pages);
    panel_raw(&b, "</td></tr>\n<tr><th>Copies</th><td id=\"job-copies\">");
    panel_html(&b, copies);
    panel_raw(&b, "</td></tr>\n<tr><th>Received</th><td id=\"job-time\">");
    panel_html(&b, when);
    panel_raw(&b, "</td></tr>\n<tr><th>Fee</th><td id=\"job-fee\">");
    panel_html(&b, fee);
    panel_raw(&b, "</td></tr>\n</table>\n");
    rel_form_open(&b, s->csrf, "details-form", "/release/print");
    rel_button(&b, "print", "/release/print", "Print", true);
    rel_button(&b, "back", "/release/back", "Back", false);
    rel_button(&b, "cancel", "/release/cancel", "Cancel job", false);
    panel_raw(&b, "</form>\n");
  }
  json_decref(job);
  return rel_page(conn, status, &b);
}

static enum MHD_Result rel_done_page(struct MHD_Connection *conn, const char *msg) {
  panel_buf_t b = {0};
  rel_head(&b, "done", "Thank you", 0);
  rel_message(&b, msg, false);
  panel_raw(&b,
            "<p>You have been logged out.</p>\n"
            "<a class=\"button\" id=\"done\" href=\"/release\" autofocus>Done</a>\n");
  return rel_page(conn, 200, &b);
}

/* ---- handlers ---- */

enum MHD_Result panel_release_get(panel_release_t *rel, struct MHD_Connection *conn,
                                  const char *url) {
  if (!strcmp(url, "/release/panel.css")) {
    char *css = strdup(panel_release_css);
    return panel_send(conn, 200, "text/css; charset=utf-8", css);
  }
  rel_session_t s;
  int slot = rel_session(rel, conn, &s);
  enum MHD_Result ret;
  if (slot < 0) {
    ret = strcmp(url, "/release") ? rel_redirect(conn, "/release", NULL)
                                  : rel_login_page(rel, conn, 200, NULL, false);
  } else if (!strcmp(url, "/release") || !strcmp(url, "/release/")) {
    ret = rel_redirect(conn, "/release/jobs", NULL);
  } else if (!strcmp(url, "/release/jobs")) {
    ret = rel_jobs_page(rel, conn, slot, &s, 200, NULL, false);
  } else if (!strcmp(url, "/release/job")) {
    ret = rel_job_page(rel, conn, slot, &s, 200, NULL, false);
  } else {
    ret = panel_send(conn, 404, "text/plain", strdup("not found\n"));
  }
  sodium_memzero(&s, sizeof s);
  return ret;
}

/* All values of an integer field (job=1&job=2). */
static int rel_form_ints(const char *body, const char *name, int *out, int max) {
  size_t n = strlen(name);
  int count = 0;
  for (const char *p = body; p && *p && count < max;) {
    const char *amp = strchr(p, '&');
    size_t len = amp ? (size_t)(amp - p) : strlen(p);
    if (len > n + 1 && !strncmp(p, name, n) && p[n] == '=') {
      char v[16];
      size_t vlen = len - n - 1;
      if (vlen < sizeof v) {
        memcpy(v, p + n + 1, vlen);
        v[vlen] = '\0';
        char *end;
        long id = strtol(v, &end, 10);
        if (!*end && id > 0 && id <= 0x7fffffff) out[count++] = (int)id;
      }
    }
    p = amp ? amp + 1 : NULL;
  }
  return count;
}

static enum MHD_Result rel_login(panel_release_t *rel, struct MHD_Connection *conn,
                                 const char *body) {
  char user[128] = "", secret[256] = "";
  enum MHD_Result ret;
  rel_session_t old;
  int old_slot = rel_session(rel, conn, &old);
  if (old_slot >= 0) { /* a new sign-in ends this browser's session, whoever signs in */
    rel_end(rel, old_slot, old.cookie);
    log_event(LOG_INFO, NULL, "panel session ended (new sign-in)", "user", old.user, (char *)NULL);
    sodium_memzero(&old, sizeof old);
  }
  if (!panel_form_field(body, "user", user, sizeof user) ||
      !panel_form_field(body, "secret", secret, sizeof secret) || !user[0] || !secret[0]) {
    ret = rel_login_page(rel, conn, MHD_HTTP_BAD_REQUEST, "Enter your user ID and secret.", true);
    goto done;
  }
  json_t *req = json_pack("{s:s, s:s}", "user", user, "secret", secret);
  device_api_answer_t ans;
  bool answered = device_api_call(rel->c, "POST", "/device/sessions", NULL, req, &ans);
  json_decref(req); /* jansson keeps its own copy of the secret: freed here */
  if (!answered || ans.status >= 500) {
    device_api_answer_free(&ans);
    ret = rel_unavailable(rel, conn);
    goto done;
  }
  if (ans.status != 201 && ans.status != 200) {
    long st = ans.status;
    device_api_answer_free(&ans);
    log_event(LOG_INFO, NULL, "panel login refused", "user", user, "status", LOG_INT(st),
              (char *)NULL);
    ret = rel_login_page(
        rel, conn,
        st == 429   ? 429
        : st == 401 ? 401
                    : (unsigned)st,
        st == 429 ? "Too many attempts. Please try again later." : "Wrong user ID or secret.",
        true);
    goto done;
  }
  const char *token = rel_str(ans.body, "session");
  rel_session_t s = {0};
  s.used = true;
  crypto_random_hex(s.cookie);
  crypto_random_hex(s.csrf);
  snprintf(s.token, sizeof s.token, "%s", token);
  snprintf(s.user, sizeof s.user, "%s",
           rel_str(ans.body, "user")[0] ? rel_str(ans.body, "user") : user);
  s.last = time(NULL);
  device_api_answer_free(&ans);
  /* a free slot, or the least recently used one (logged out) */
  char evicted[160] = "";
  pthread_mutex_lock(&rel->lock);
  int slot = 0;
  for (int i = 0; i < REL_SESSIONS; i++) {
    if (!rel->s[i].used) {
      slot = i;
      break;
    }
    if (rel->s[i].last < rel->s[slot].last) slot = i;
  }
  if (rel->s[slot].used) snprintf(evicted, sizeof evicted, "%s", rel->s[slot].token);
  rel->s[slot] = s;
  pthread_mutex_unlock(&rel->lock);
  rel_logout_remote(rel->c, evicted);
  sodium_memzero(evicted, sizeof evicted);
  log_event(LOG_INFO, NULL, "panel login", "user", s.user, (char *)NULL);
  char cookie[128];
  snprintf(cookie, sizeof cookie, REL_COOKIE "=%s; Path=/release; HttpOnly; SameSite=Strict",
           s.cookie);
  sodium_memzero(&s, sizeof s);
  ret = rel_redirect(conn, "/release/jobs", cookie);
done:
  sodium_memzero(secret, sizeof secret);
  return ret;
}

/* Forget the job on screen (and its PIN) and move to the next selected one. */
static void rel_advance(rel_session_t *s) {
  s->cur++;
  sodium_memzero(s->pin, sizeof s->pin);
  s->pin_entered = false;
}

static enum MHD_Result rel_print(panel_release_t *rel, struct MHD_Connection *conn, int slot,
                                 rel_session_t *s) {
  if (s->cur >= s->njobs) return rel_redirect(conn, "/release/jobs", NULL);
  int id = s->jobs[s->cur];
  char path[64];
  snprintf(path, sizeof path, "/device/jobs/%d/release", id);
  json_t *req = s->pin_entered ? json_pack("{s:s}", "pin", s->pin) : json_object();
  device_api_answer_t ans;
  bool answered = device_api_call(rel->c, "POST", path, s->token, req, &ans);
  json_decref(req);
  if (!answered || ans.status >= 500) {
    device_api_answer_free(&ans);
    return rel_unavailable(rel, conn);
  }
  long st = ans.status;
  char msg[200] = "";
  if (st == 401) {
    device_api_answer_free(&ans);
    return rel_expired(rel, conn, slot, s);
  }
  if (st == 403) {
    json_t *left = json_object_get(ans.body, "attempts_left");
    if (json_is_integer(left))
      snprintf(msg, sizeof msg, "Wrong PIN. %lld attempt%s left.",
               (long long)json_integer_value(left), json_integer_value(left) == 1 ? "" : "s");
    else
      snprintf(msg, sizeof msg, "Wrong PIN.");
  } else if (st == 423) {
    char until[32];
    rel_time(rel_str(ans.body, "locked_until"), until, sizeof until);
    snprintf(msg, sizeof msg, "Too many wrong PINs: this job is locked until %s.", until);
  }
  device_api_answer_free(&ans);
  log_event(LOG_INFO, NULL, st == 200 ? "job released at the panel" : "panel release refused",
            "job", LOG_INT(id), "user", s->user, "status", LOG_INT(st), (char *)NULL);
  if (st == 403 || st == 423) { /* the PIN screen again */
    sodium_memzero(s->pin, sizeof s->pin);
    s->pin_entered = false;
    rel_store(rel, slot, s);
    return rel_job_page(rel, conn, slot, s, (unsigned)st, msg, true);
  }
  if (st != 200) {
    rel_advance(s);
    rel_store(rel, slot, s);
    if (s->cur < s->njobs)
      return rel_job_page(rel, conn, slot, s, (unsigned)st, "That job cannot be printed.", true);
    return rel_jobs_page(rel, conn, slot, s, (unsigned)st, "That job cannot be printed.", true);
  }
  rel_advance(s);
  if (s->cur < s->njobs) {
    snprintf(s->flash, sizeof s->flash, "Sent to the printer. Next job:");
    rel_store(rel, slot, s);
    return rel_redirect(conn, "/release/job", NULL);
  }
  int printed = s->njobs;
  rel_end(rel, slot, s->cookie); /* log out after printing */
  log_event(LOG_INFO, NULL, "panel session ended (printed)", "user", s->user, (char *)NULL);
  return rel_done_page(
      conn, printed == 1 ? "Your job is being printed." : "Your jobs are being printed.");
}

static enum MHD_Result rel_cancel(panel_release_t *rel, struct MHD_Connection *conn, int slot,
                                  rel_session_t *s) {
  if (s->cur >= s->njobs) return rel_redirect(conn, "/release/jobs", NULL);
  int id = s->jobs[s->cur];
  char path[64];
  snprintf(path, sizeof path, "/device/jobs/%d/cancel", id);
  device_api_answer_t ans;
  bool answered = device_api_call(rel->c, "POST", path, s->token, NULL, &ans);
  long st = ans.status;
  device_api_answer_free(&ans);
  if (!answered || st >= 500) return rel_unavailable(rel, conn);
  if (st == 401) return rel_expired(rel, conn, slot, s);
  log_event(LOG_INFO, NULL, st == 200 ? "job canceled at the panel" : "panel cancel refused", "job",
            LOG_INT(id), "user", s->user, "status", LOG_INT(st), (char *)NULL);
  rel_advance(s);
  snprintf(s->flash, sizeof s->flash, "%s",
           st == 200 ? "Job canceled." : "That job could not be canceled.");
  rel_store(rel, slot, s);
  return rel_redirect(conn, s->cur < s->njobs ? "/release/job" : "/release/jobs", NULL);
}

enum MHD_Result panel_release_post(panel_release_t *rel, struct MHD_Connection *conn,
                                   const char *url, panel_req_t *pr) {
  char token[64] = "";
  if (pr->too_big) return panel_send(conn, 413, "text/plain", strdup("request too large\n"));
  pr->body[pr->len] = '\0';
  if (!strcmp(url, "/release/login")) return rel_login(rel, conn, pr->body);

  rel_session_t s;
  int slot = rel_session(rel, conn, &s);
  if (slot < 0)
    return rel_login_page(rel, conn, MHD_HTTP_UNAUTHORIZED,
                          "Your session has ended. Please log in again.", true);
  bool token_ok = panel_form_field(pr->body, "csrf", token, sizeof token) && strlen(token) == 32 &&
                  crypto_equal(token, s.csrf, 32);
  if (!token_ok) {
    sodium_memzero(&s, sizeof s);
    return panel_send(conn, 403, "text/plain", strdup("bad or missing CSRF token\n"));
  }
  enum MHD_Result ret;
  if (!strcmp(url, "/release/select")) {
    int ids[REL_SELECT_MAX];
    int n = rel_form_ints(pr->body, "job", ids, REL_SELECT_MAX);
    if (n == 0) {
      ret = rel_jobs_page(rel, conn, slot, &s, MHD_HTTP_BAD_REQUEST, "Select a job first.", true);
    } else {
      memcpy(s.jobs, ids, sizeof ids);
      s.njobs = n;
      s.cur = 0;
      sodium_memzero(s.pin, sizeof s.pin);
      s.pin_entered = false;
      rel_store(rel, slot, &s);
      ret = rel_redirect(conn, "/release/job", NULL);
    }
  } else if (!strcmp(url, "/release/pin")) {
    if (!panel_form_field(pr->body, "pin", s.pin, sizeof s.pin) || !s.pin[0]) {
      ret = rel_job_page(rel, conn, slot, &s, MHD_HTTP_BAD_REQUEST, "Enter the PIN.", true);
    } else {
      s.pin_entered = true;
      rel_store(rel, slot, &s);
      ret = rel_redirect(conn, "/release/job", NULL);
    }
  } else if (!strcmp(url, "/release/print")) {
    ret = rel_print(rel, conn, slot, &s);
  } else if (!strcmp(url, "/release/cancel")) {
    ret = rel_cancel(rel, conn, slot, &s);
  } else if (!strcmp(url, "/release/back")) {
    s.njobs = s.cur = 0;
    sodium_memzero(s.pin, sizeof s.pin);
    s.pin_entered = false;
    rel_store(rel, slot, &s);
    ret = rel_redirect(conn, "/release/jobs", NULL);
  } else if (!strcmp(url, "/release/logout")) {
    rel_end(rel, slot, s.cookie);
    log_event(LOG_INFO, NULL, "panel logout", "user", s.user, (char *)NULL);
    ret = rel_redirect(conn, "/release",
                       REL_COOKIE "=; Path=/release; HttpOnly; SameSite=Strict; Max-Age=0");
  } else {
    ret = panel_send(conn, 404, "text/plain", strdup("not found\n"));
  }
  sodium_memzero(&s, sizeof s);
  return ret;
}
