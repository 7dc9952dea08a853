/*
 * panel-release.c: release at the printer on the panel (docs/PROTOCOL.md
 * 7.2), plain HTML forms laid out for an 800x480 touch screen, usable by
 * mouse and keyboard (every control is a real form control; Enter submits).
 *
 *   GET  /release          login: user ID + secret (password or panel PIN,
 *                          per tenant policy); with a session: the job list
 *   GET  /release/panel.css  the screens' stylesheet
 *   POST /release/login    user, secret -> 303 /release/jobs
 *   GET  /release/jobs     the user's held jobs (name, number, pages,
 *                          copies, time with its zone, PIN marker)
 *   POST /release/select   csrf, job=ID (one or several) -> 303 /release/job
 *   GET  /release/job      the selected job on screen: its PIN screen, or
 *                          once nimbusd has accepted the PIN, its details
 *   POST /release/pin      csrf, pin (typed), key (an on-screen keypad
 *                          key: 0-9, del, clear): a key is added to the
 *                          digits keyed so far -> 303 /release/job; without
 *                          a key the PIN (keyed + typed) is checked with
 *                          nimbusd (POST /device/jobs/{id}/pin, counted
 *                          toward the lockout): right -> 303 details,
 *                          wrong -> the PIN screen again (403/423)
 *   POST /release/print    csrf, purpose (optional: one of the user's
 *                          purposes, else the job's own is kept): release
 *                          the job to this printer; a refusal for its
 *                          purpose (402/403/409/422 problem types of
 *                          docs/BILLING.md) keeps the details on screen
 *                          with nimbusd's words by Print; next
 *                          selected job, or log out and show "printing";
 *                          a job to be paid first (nimbusd's 202): 303
 *                          /release/pay; paying impossible now (409): the
 *                          details again with #message
 *   GET  /release/pay      the payment screen and its outcomes
 *   GET  /release/qr.svg   the QR code of the payment URL
 *   GET  /release/job-qr.svg  the QR code of the job on screen's page in
 *                          the web console, <cloud URL>/#/job?id=N (the
 *                          nimbusd base URL the device API uses): "Release
 *                          from your phone"; 404 without a job on screen
 *   POST /release/pay-cancel  csrf: cancel the payment (panel-pay.c)
 *   POST /release/back     csrf: forget the PIN and the selection -> jobs
 *   POST /release/cancel   csrf: without confirm=yes the confirmation
 *                          screen; with it, cancel the job on screen ->
 *                          next / jobs
 *   POST /release/keep     csrf: "No, keep it" -> 303 /release/job
 *   GET  /release/idle     the idle warning (does not count as activity)
 *   POST /release/relink, GET /release/link, GET /release/link-qr.svg:
 *                          relinking an account at another print service
 *                          (panel-remote.c, which also draws the list's
 *                          remote jobs and their details and takes them
 *                          on Print: POST /release/select with remote=ID)
 *   POST /release/logout   csrf -> 303 /release
 *
 * Element ids, stable for automation (Playwright):
 *   #message       the message of the screen (errors, "Job canceled." ...);
 *                  its data-kind is "error" or "info"
 *   login:         form #login-form, #user, #secret, button #login
 *   job list:      #jobs (ul, data-count), one li.job per job with data-id,
 *                  containing checkbox input.job-select (name "job", value
 *                  the id) and .job-name, .job-number, .job-pages,
 *                  .job-copies, .job-time, .job-pin (jobs with a PIN),
 *                  .job-purpose ("Purpose: ...", jobs with a purpose);
 *                  #no-jobs when empty; #scroll-hint when the list is
 *                  longer than the screen; buttons #next (continue with
 *                  the selected jobs), #logout
 *   PIN screen:    #job-name, #job-summary, #pin, #pin-keyed (data-count:
 *                  digits keyed), #keypad with buttons #key-0..#key-9,
 *                  #key-del, #key-clear; buttons #next (OK), #back
 *   details:       #job-name, #job-number, #job-pages, #job-copies
 *                  (then #job-settings: sides, colour, paper in words,
 *                  and #settings-changed when changed on the settings
 *                  screen), #job-time, #job-purpose (only for a job with a
 *                  purpose), #job-fee ("Free", or the total with
 *                  #fee-print and #fee-service above it); select
 *                  #purpose (label "Print for": the user's own purposes,
 *                  only when nimbusd lists some), #release-refusal
 *                  (nimbusd's words when it refused the release for its
 *                  purpose), buttons #print (or #pay "Pay and print"
 *                  when it must be paid first), link #settings (the
 *                  settings screen, when nimbusd gives the job's
 *                  settings), #back, #cancel;
 *                  figure #job-qr-box: img #job-qr (/release/job-qr.svg,
 *                  data-url: the URL it encodes) and its caption
 *                  "Release from your phone"
 *   settings:      panel-settings.c (#copies-down, #copies-value,
 *                  #copies-up, fieldsets #set-sides and
 *                  #set-print-color-mode of radio buttons, select
 *                  #set-media, button #apply, link #settings-back)
 *   payment screens: panel-pay.c
 *   confirm-cancel: #job-name, buttons #confirm-cancel, #keep
 *   idle:          #message, link #stay, button #logout
 *   done:          #message, link #done (back to the start)
 *   error:         #message, links #start, #status-link (panel.c)
 *   every screen:  body[data-screen] = login|jobs|pin|details|
 *                  confirm-cancel|idle|done|error, and panel-pay.c's
 *                  payment|paid|unpaid|payment-failed
 *
 * HTTP status of a screen: 200, or the failure nimbusd reported: 401 bad
 * login, 429 too many logins, 403 wrong PIN (#message says the attempts
 * left), 423 job locked, 404 job gone, 503 nimbusd unreachable.
 *
 * Times are this printer's local time with its zone ("2026-05-01 12:20
 * CEST"; TZ of the connector's process).  No script runs (the CSP allows
 * none): the keypad is form buttons, the idle warning a meta refresh.
 *
 * Sessions: the user's nimbusd session (nms_...) stays here, keyed by an
 * opaque random panel cookie (HttpOnly, SameSite=Strict, Path=/release);
 * a PIN is kept only between the PIN screen and Print/Back/Cancel, never
 * logged, never sent to the browser (the keypad's digits are shown as
 * dots).  A session ends on logout, after the last Print, after
 * panel-session-idle seconds without a request, or when nimbusd no longer
 * knows it (401).  Every screen of a session moves by itself (meta
 * refresh) to the idle warning REL_WARN seconds before the end, and from
 * there to the start, which then says "you were signed out" (the cookies
 * of sessions ended for idleness are kept until that is shown).  Signing in again from a browser
 * that has a session ends that session first (here and at nimbusd), whoever signs in.
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

#define REL_COOKIE "nimbus_panel"
#define REL_KEYED_MAX 32 /* digits keyed on the on-screen keypad */
#define REL_LIST_SHOWN 4 /* job rows that fit on the screen at once */
#define REL_LIST_SHOWN_PURPOSE 3 /* ... when rows have a purpose line */

/* Seconds before the idle sign-out that the warning shows. */
static int rel_warn_seconds(const panel_release_t *rel) {
  int idle = rel->c->opt.panel_session_idle;
  return idle >= 60 ? 30 : idle / 2;
}

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
    snprintf(rel->idle_ended[rel->idle_next], sizeof rel->idle_ended[0], "%s", s->cookie);
    rel->idle_next = (rel->idle_next + 1) % REL_SESSIONS;
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

/* The session of this browser: a copy into *out and its slot, or -1.
 * touch: the request counts as activity (all but the idle warning). */
static int rel_session(panel_release_t *rel, struct MHD_Connection *conn, rel_session_t *out,
                       bool touch) {
  rel_expire(rel);
  const char *cookie = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, REL_COOKIE);
  if (!cookie || strlen(cookie) != 32) return -1;
  int found = -1;
  pthread_mutex_lock(&rel->lock);
  for (int i = 0; i < REL_SESSIONS; i++)
    if (rel->s[i].used && crypto_equal(rel->s[i].cookie, cookie, 32)) {
      found = i;
      if (touch) rel->s[i].last = time(NULL);
      *out = rel->s[i];
      if (touch) rel->s[i].flash[0] = '\0'; /* shown once */
    }
  pthread_mutex_unlock(&rel->lock);
  return found;
}

/* Did this browser's session end for idleness (not yet said)?  Forgets it. */
static bool rel_idle_ended(panel_release_t *rel, struct MHD_Connection *conn) {
  const char *cookie = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, REL_COOKIE);
  if (!cookie || strlen(cookie) != 32) return false;
  bool found = false;
  pthread_mutex_lock(&rel->lock);
  for (int i = 0; i < REL_SESSIONS; i++)
    if (rel->idle_ended[i][0] && crypto_equal(rel->idle_ended[i], cookie, 32)) {
      found = true;
      rel->idle_ended[i][0] = '\0';
    }
  pthread_mutex_unlock(&rel->lock);
  return found;
}

/* Write s back into its slot (unless that session ended meanwhile). */
void rel_store(panel_release_t *rel, int slot, const rel_session_t *s) {
  pthread_mutex_lock(&rel->lock);
  if (rel->s[slot].used && !strcmp(rel->s[slot].cookie, s->cookie)) rel->s[slot] = *s;
  pthread_mutex_unlock(&rel->lock);
}

/* End the session in slot (here and at nimbusd). */
void rel_end(panel_release_t *rel, int slot, const char *cookie) {
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
    "body[data-screen=status],body[data-screen=error]{height:auto;min-height:480px;"
    "overflow:auto}\n"
    "h1{font-size:26px;margin:0 0 12px}\n"
    "h2{font-size:22px;margin:16px 0 4px}\n"
    "#message{padding:8px 12px;margin:0 0 12px;border-radius:6px;background:#e3f0ff}\n"
    "#message[data-kind=error]{background:#ffe3e3}\n"
    "label{display:block;margin:6px 0}\n"
    "input[type=text],input[type=password]{font-size:24px;width:420px;padding:8px;"
    "box-sizing:border-box}\n"
    "button,a.button{font-size:22px;min-width:150px;min-height:56px;margin:12px 12px 0 0;"
    "padding:0 14px;border-radius:8px;border:1px solid #556;background:#fff;cursor:pointer;"
    "display:inline-block;text-align:center;line-height:56px;text-decoration:none;color:#111;"
    "box-sizing:border-box}\n"
    "button.primary,a.button.primary{background:#1f6feb;color:#fff;border-color:#1f6feb}\n"
    "button.danger{background:#c62828;color:#fff;border-color:#c62828}\n"
    "button:focus,a.button:focus,input:focus{outline:3px solid #f5a623}\n"
    /* the list scrolls inside the screen: a wide, always visible scroll
     * bar, a cut-off last row and #scroll-hint say so */
    "#jobs{list-style:none;margin:0;padding:0 8px 0 0;max-height:280px;overflow-y:auto}\n"
    "#jobs::-webkit-scrollbar{width:18px}\n"
    "#jobs::-webkit-scrollbar-track{background:#dde3ea;border-radius:9px}\n"
    "#jobs::-webkit-scrollbar-thumb{background:#667;border-radius:9px;min-height:40px}\n"
    "li.job label{display:flex;gap:16px;align-items:center;padding:6px 10px;background:#fff;"
    "border-radius:6px;margin:0 0 6px}\n"
    "li.job input{width:28px;height:28px;flex:none}\n"
    ".job-main{flex:1;min-width:0;display:flex;flex-direction:column}\n"
    ".job-name{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}\n"
    ".job-meta{font-size:16px;color:#444;display:flex;gap:16px;white-space:nowrap}\n"
    ".job-pin{background:#333;color:#fff;border-radius:4px;padding:0 6px}\n"
    ".actions{display:flex;align-items:center}\n"
    "#scroll-hint{margin:12px 0 0 auto;font-size:17px;padding:6px 10px;border-radius:6px;"
    "background:#fff3cd}\n"
    "table.details th{text-align:left;padding-right:24px;font-weight:normal;color:#555}\n"
    ".pin-screen{display:flex;gap:32px}\n"
    ".pin-left{flex:1;min-width:0}\n"
    ".pin-left input[type=password]{width:300px}\n"
    "#job-name{margin:0 0 2px;font-weight:bold;overflow:hidden;text-overflow:ellipsis;"
    "white-space:nowrap}\n"
    "#job-summary{margin:0 0 6px}\n"
    "#pin-keyed{margin:6px 0 0;font-size:18px;min-height:24px}\n"
    ".dots{letter-spacing:4px;font-size:22px}\n"
    ".keypad{display:grid;grid-template-columns:repeat(3,84px);gap:8px;align-content:start}\n"
    ".keypad button{min-width:84px;min-height:60px;line-height:58px;margin:0;font-size:26px;"
    "padding:0}\n"
    ".keypad button.small{font-size:18px}\n"
    "#status-summary{font-size:22px;padding:10px 14px;border-radius:8px;margin:0 0 8px;"
    "border-left:10px solid #2e7d32;background:#e8f5e9}\n"
    "#status-summary[data-kind=warn]{border-color:#ef8f00;background:#fff3cd}\n"
    "#status-summary[data-kind=bad]{border-color:#c62828;background:#ffe3e3}\n"
    "ul.facts{margin:8px 0;padding-left:24px}\n"
    "details{margin-top:16px;font-size:15px;color:#333}\n"
    "details summary{cursor:pointer;padding:6px 0}\n"
    "details table.details{font-size:15px;word-break:break-all}\n"
    ".hint{color:#333}\n"
    /* the payment screen (panel-pay.c): the QR code left, the rest right */
    ".pay-screen{display:flex;gap:28px;align-items:flex-start}\n"
    "#qr{width:300px;height:300px;flex:none;image-rendering:pixelated;background:#fff}\n"
    ".pay-right{flex:1;min-width:0}\n"
    "#pay-amount{font-size:34px;font-weight:bold;margin:0 0 6px}\n"
    "#countdown{font-size:24px;margin:0 0 8px}\n"
    "#payment-url{font:14px/1.3 monospace;word-break:break-all;user-select:all;"
    "background:#fff;padding:6px 8px;border-radius:6px;margin:4px 0 0;max-height:76px;"
    "overflow:hidden}\n"
    "tr.total th,tr.total td{font-weight:bold;color:#111}\n"
    /* billing purposes (panel-purpose.h): the list's purpose line, the
     * details screen's control and the refusal next to Print */
    ".job-purpose{font-size:16px;color:#1b4f8a;overflow:hidden;text-overflow:ellipsis;"
    "white-space:nowrap}\n"
    ".purpose-choice{display:flex;align-items:center;gap:12px;margin:10px 0 0}\n"
    ".purpose-choice label{margin:0;white-space:nowrap}\n"
    /* the purpose row and control take room: the details' rows close up,
     * and what still does not fit scrolls rather than hiding the buttons */
    "table.details.compact{border-spacing:0;line-height:1.2}\n"
    "body[data-screen=details]{overflow-y:auto}\n"
    "#purpose{font-size:20px;min-height:48px;max-width:480px;padding:0 8px;border-radius:6px;"
    "border:1px solid #556;background:#fff}\n"
    "#purpose:focus{outline:3px solid #f5a623}\n"
    ".purpose-choice .hint{font-size:15px;line-height:1.2}\n"
    "#release-refusal{margin:10px 0 0;padding:8px 12px;border-radius:6px;background:#ffe3e3;"
    "border-left:8px solid #c62828}\n"
    /* the details screen's "Release from your phone" QR code, top right */
    "#job-qr-box{float:right;margin:0 0 8px 16px;text-align:center;font-size:15px;"
    "line-height:1.2;width:150px}\n"
    "#job-qr{display:block;width:132px;height:132px;margin:0 auto 4px;"
    "image-rendering:pixelated;background:#fff}\n";

/* The head of a screen; with a session (idle_s > 0) the screen moves to
 * the idle warning by itself shortly before the idle sign-out. */
void rel_head(panel_release_t *rel, panel_buf_t *b, const char *screen, const char *title,
              bool session) {
  int idle = rel->c->opt.panel_session_idle;
  if (session)
    panel_head(b, screen, title, idle - rel_warn_seconds(rel), "/release/idle");
  else
    panel_head(b, screen, title, 0, NULL);
}

void rel_message(panel_buf_t *b, const char *msg, bool error) {
  if (!msg || !*msg) return;
  panel_raw(b, error ? "<p id=\"message\" data-kind=\"error\" role=\"alert\">"
                     : "<p id=\"message\" data-kind=\"info\" role=\"status\">");
  panel_html(b, msg);
  panel_raw(b, "</p>\n");
}

/* A form; csrf: the session's token, NULL for the login form (no session). */
void rel_form_open(panel_buf_t *b, const char *csrf, const char *id, const char *action) {
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

/* cls: "primary", "danger" or NULL */
void rel_button(panel_buf_t *b, const char *id, const char *action, const char *label,
                const char *cls) {
  panel_raw(b, "<button type=\"submit\" id=\"");
  panel_html(b, id);
  panel_raw(b, "\" formaction=\"");
  panel_html(b, action);
  panel_raw(b, "\"");
  if (cls) {
    panel_raw(b, " class=\"");
    panel_html(b, cls);
    panel_raw(b, "\"");
  }
  panel_raw(b, ">");
  panel_html(b, label);
  panel_raw(b, "</button>\n");
}

enum MHD_Result rel_page(struct MHD_Connection *conn, unsigned status, panel_buf_t *b) {
  panel_raw(b, "</body></html>\n");
  return panel_send(conn, status, "text/html; charset=utf-8", b->buf);
}

enum MHD_Result rel_redirect(struct MHD_Connection *conn, const char *to,
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
  panel_buf_t b = {0};
  rel_head(rel, &b, "login", "Print your jobs", false);
  rel_message(&b, msg, error);
  rel_form_open(&b, NULL, "login-form", "/release/login");
  panel_raw(&b,
            "<label for=\"user\">User ID</label>\n"
            "<input type=\"text\" id=\"user\" name=\"user\" autocomplete=\"off\" "
            "autocapitalize=\"none\" maxlength=\"127\" required autofocus>\n"
            "<label for=\"secret\">Password or panel PIN</label>\n"
            "<input type=\"password\" id=\"secret\" name=\"secret\" maxlength=\"255\" required>\n"
            "<div>");
  rel_button(&b, "login", "/release/login", "Log in", "primary");
  panel_raw(&b, "</div>\n</form>\n");
  return rel_page(conn, status, &b);
}

const char *rel_str(json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : "";
}

long long rel_int(json_t *o, const char *k) {
  return (long long)json_integer_value(json_object_get(o, k));
}

/* A failure that is not the user's: nimbusd unreachable or erring. */
enum MHD_Result rel_unavailable(panel_release_t *rel, struct MHD_Connection *conn) {
  (void)rel;
  return panel_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                     "The print service cannot be reached. Your jobs are kept there; please "
                     "try again later.");
}

/* nimbusd no longer knows the session: start again. */
enum MHD_Result rel_expired(panel_release_t *rel, struct MHD_Connection *conn, int slot,
                            const rel_session_t *s) {
  rel_end(rel, slot, s->cookie);
  return rel_login_page(rel, conn, MHD_HTTP_UNAUTHORIZED,
                        "Your session has ended. Please log in again.", true);
}

/* The words that tell a job from another of the same name: its number,
 * pages, copies and time (with its zone). */
typedef struct {
  char number[32], pages[48], copies[48], when[64];
} rel_job_words_t;

static void rel_job_words(json_t *j, rel_job_words_t *w) {
  long long p = rel_int(j, "pages"), n = rel_int(j, "copies");
  if (n < 1) n = 1;
  snprintf(w->number, sizeof w->number, "No. %lld", rel_int(j, "id"));
  snprintf(w->pages, sizeof w->pages, p == 1 ? "%lld page" : "%lld pages", p);
  snprintf(w->copies, sizeof w->copies, n == 1 ? "%lld copy" : "%lld copies", n);
  panel_time_local(rel_str(j, "created_at"), w->when, sizeof w->when);
}

static void rel_span(panel_buf_t *b, const char *cls, const char *text) {
  panel_raw(b, "<span class=\"");
  panel_raw(b, cls);
  panel_raw(b, "\">");
  panel_html(b, text);
  panel_raw(b, "</span>");
}

enum MHD_Result rel_jobs_page(panel_release_t *rel, struct MHD_Connection *conn, int slot,
                              rel_session_t *s, unsigned status, const char *msg, bool error) {
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
  rel_head(rel, &b, "jobs", title, true);
  if (ans.status != 200) {
    msg = "The job list cannot be shown.";
    error = true;
  }
  rel_message(&b, msg && *msg ? msg : s->flash, error);
  remote_relink_banner(rel, &b, s, ans.body); /* panel-remote.c */
  rel_form_open(&b, s->csrf, "jobs-form", "/release/select");
  size_t n = json_is_array(jobs) ? json_array_size(jobs) : 0;
  char count[24];
  snprintf(count, sizeof count, "%zu", n);
  if (n == 0) panel_raw(&b, "<p id=\"no-jobs\">No jobs are waiting for you.</p>\n");
  panel_raw(&b, "<ul id=\"jobs\" data-count=\"");
  panel_raw(&b, count);
  panel_raw(&b, "\">\n");
  size_t with_purpose = 0; /* rows with a purpose line are taller */
  for (size_t i = 0; i < n; i++) {
    json_t *j = json_array_get(jobs, i);
    if (remote_is(j)) { /* a job at another service (panel-remote.c) */
      remote_list_row(&b, j);
      continue;
    }
    char id[24];
    rel_job_words_t w;
    snprintf(id, sizeof id, "%lld", rel_int(j, "id"));
    rel_job_words(j, &w);
    panel_raw(&b, "<li class=\"job\" data-id=\"");
    panel_html(&b, id);
    panel_raw(&b, "\"><label><input type=\"checkbox\" class=\"job-select\" name=\"job\" value=\"");
    panel_html(&b, id);
    panel_raw(&b, "\" id=\"job-");
    panel_html(&b, id);
    panel_raw(&b, n == 1 ? "\" checked>" : "\">");
    panel_raw(&b, "<span class=\"job-main\">");
    rel_span(&b, "job-name", rel_str(j, "name")[0] ? rel_str(j, "name") : "(untitled)");
    panel_raw(&b, "<span class=\"job-meta\">");
    rel_span(&b, "job-number", w.number);
    rel_span(&b, "job-pages", w.pages);
    rel_span(&b, "job-copies", w.copies);
    rel_span(&b, "job-time", w.when);
    if (json_is_true(json_object_get(j, "has_pin"))) rel_span(&b, "job-pin", "PIN");
    panel_raw(&b, "</span>");
    char words[PURPOSE_WORDS_MAX], line[PURPOSE_WORDS_MAX + 16];
    if (purpose_words(json_object_get(j, "purpose"), words, sizeof words)) {
      snprintf(line, sizeof line, "Purpose: %s", words);
      rel_span(&b, "job-purpose", line);
      with_purpose++;
    }
    panel_raw(&b, "</span></label></li>\n");
  }
  panel_raw(&b, "</ul>\n<div class=\"actions\">");
  if (n > 0) rel_button(&b, "next", "/release/select", "Continue", "primary");
  rel_button(&b, "logout", "/release/logout", "Log out", NULL);
  if (n > (with_purpose ? REL_LIST_SHOWN_PURPOSE : REL_LIST_SHOWN)) {
    char hint[96];
    snprintf(hint, sizeof hint, "%zu jobs: scroll the list to see all \xe2\x86\x95", n);
    panel_raw(&b, "<span id=\"scroll-hint\">");
    panel_html(&b, hint);
    panel_raw(&b, "</span>");
  }
  panel_raw(&b, "</div>\n</form>\n");
  device_api_answer_free(&ans);
  return rel_page(conn, status, &b);
}

long rel_fetch_job(panel_release_t *rel, const rel_session_t *s, int id, json_t **job) {
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

/* The on-screen keypad of the PIN form (no script: each key is a submit
 * button of #pin-form, posting key=K with what was typed so far). */
static void rel_keypad(panel_buf_t *b) {
  static const char *const keys[][3] = {{"1", "1", NULL}, {"2", "2", NULL},
                                        {"3", "3", NULL}, {"4", "4", NULL},
                                        {"5", "5", NULL}, {"6", "6", NULL},
                                        {"7", "7", NULL}, {"8", "8", NULL},
                                        {"9", "9", NULL}, {"clear", "Clear", "small"},
                                        {"0", "0", NULL}, {"del", "\xe2\x8c\xab Del", "small"}};
  panel_raw(b, "<div id=\"keypad\" class=\"keypad\" role=\"group\" aria-label=\"Keypad\">\n");
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    panel_raw(b,
              "<button type=\"submit\" form=\"pin-form\" formaction=\"/release/pin\" "
              "formnovalidate name=\"key\" value=\"");
    panel_raw(b, keys[i][0]);
    panel_raw(b, "\" id=\"key-");
    panel_raw(b, keys[i][0]);
    panel_raw(b, keys[i][2] ? "\" class=\"small\">" : "\">");
    panel_html(b, keys[i][1]);
    panel_raw(b, "</button>\n");
  }
  panel_raw(b, "</div>\n");
}

static void rel_pin_screen(panel_release_t *rel, panel_buf_t *b, rel_session_t *s, json_t *job,
                           const char *name, const char *msg, bool error) {
  rel_job_words_t w;
  rel_job_words(job, &w);
  rel_head(rel, b, "pin", "Enter the job's PIN", true);
  rel_message(b, msg && *msg ? msg : s->flash, error || (msg && *msg));
  panel_raw(b, "<div class=\"pin-screen\"><div class=\"pin-left\">\n<p id=\"job-name\">");
  panel_html(b, name);
  panel_raw(b, "</p>\n<p id=\"job-summary\" class=\"job-meta\">");
  rel_span(b, "job-number", w.number);
  rel_span(b, "job-pages", w.pages);
  rel_span(b, "job-copies", w.copies);
  rel_span(b, "job-time", w.when);
  panel_raw(b, "</p>\n");
  rel_form_open(b, s->csrf, "pin-form", "/release/pin");
  size_t keyed = s->pin_entered ? 0 : strlen(s->pin);
  char count[24];
  snprintf(count, sizeof count, "%zu", keyed);
  panel_raw(b,
            "<label for=\"pin\">PIN (type it, or use the keypad)</label>\n"
            "<input type=\"password\" id=\"pin\" name=\"pin\" inputmode=\"numeric\" "
            "autocomplete=\"off\" maxlength=\"255\" autofocus>\n<p id=\"pin-keyed\" data-count=\"");
  panel_raw(b, count);
  panel_raw(b, "\">");
  if (keyed) {
    panel_raw(b, "Keyed: <span class=\"dots\">");
    for (size_t i = 0; i < keyed; i++) panel_raw(b, "\xe2\x97\x8f"); /* a dot per digit */
    panel_raw(b, "</span>");
  }
  panel_raw(b, "</p>\n<div>");
  rel_button(b, "next", "/release/pin", "OK", "primary");
  rel_button(b, "back", "/release/back", "Back", NULL);
  panel_raw(b, "</div>\n</form>\n</div>\n");
  rel_keypad(b);
  panel_raw(b, "</div>\n");
}

/*
 * The purpose control of the details screen (inside #details-form): a
 * labelled <select id="purpose" name="purpose"> of the user's own
 * purposes (GET /device/purposes), sent with the release.  Nothing when
 * nimbusd lists none or cannot list them (an older nimbusd answers 404):
 * the job is then released under its own purpose.
 */
static void rel_purpose_control(panel_release_t *rel, panel_buf_t *b, const rel_session_t *s,
                                json_t *job) { /* b: a buffer of its own (see rel_job_screen) */
  device_api_answer_t ans;
  if (!device_api_call(rel->c, "GET", "/device/purposes", s->token, NULL, &ans) ||
      ans.status != 200) {
    device_api_answer_free(&ans);
    return;
  }
  purpose_choice_t *c = calloc(PURPOSE_CHOICES_MAX, sizeof *c); /* ~9 kB: not on the stack */
  int n = c ? purpose_choices(json_object_get(ans.body, "purposes"),
                              json_object_get(job, "purpose"), s->purpose, c, PURPOSE_CHOICES_MAX)
            : 0;
  device_api_answer_free(&ans);
  if (n > 0) {
    panel_raw(b,
              "<div class=\"purpose-choice\"><label for=\"purpose\">Print for</label>"
              "<select id=\"purpose\" name=\"purpose\" aria-describedby=\"purpose-hint\">\n");
    for (int i = 0; i < n; i++) {
      panel_raw(b, "<option value=\"");
      panel_html(b, c[i].value);
      panel_raw(b, c[i].selected ? "\" selected>" : "\">");
      panel_html(b, c[i].label);
      panel_raw(b, "</option>\n");
    }
    panel_raw(b,
              "</select><span id=\"purpose-hint\" class=\"hint\">Who pays for this job "
              "(used when you press Print)</span></div>\n");
  }
  free(c);
}

/* The URL of job id's page in the web console, "<cloud URL>/#/job?id=N"
 * (docs/CONSOLE.md §2), into out; false when the printer has no
 * registration (no cloud URL). */
static bool rel_job_url(panel_release_t *rel, int id, char *out, size_t outlen) {
  char base[STATE_URI_MAX + 8];
  if (!device_api_base_url(rel->c, base, sizeof base)) return false;
  int n = snprintf(out, outlen, "%s/#/job?id=%d", base, id);
  return n > 0 && (size_t)n < outlen;
}

/* The details screen's "Release from your phone": the QR code of the
 * job's page in the web console (GET /release/job-qr.svg), top right. */
static void rel_job_qr(panel_release_t *rel, panel_buf_t *b, int id) {
  char url[QR_SVG_TEXT_MAX + 1];
  if (!rel_job_url(rel, id, url, sizeof url)) return;
  panel_raw(b,
            "<figure id=\"job-qr-box\"><img id=\"job-qr\" src=\"/release/job-qr.svg\" "
            "width=\"132\" height=\"132\" alt=\"QR code of this job's page for your phone\" "
            "data-url=\"");
  panel_html(b, url);
  panel_raw(b, "\"><figcaption>Release from your phone</figcaption></figure>\n");
}

/* GET /release/job-qr.svg: the QR code of the job on screen's page in the
 * web console; 404 when no job is on screen. */
static enum MHD_Result rel_job_qr_svg(panel_release_t *rel, struct MHD_Connection *conn,
                                      const rel_session_t *s) {
  char url[QR_SVG_TEXT_MAX + 1];
  if (s->cur >= s->njobs || s->remote[0])
    return panel_error(conn, 404, "There is no job on this screen.");
  if (!rel_job_url(rel, s->jobs[s->cur], url, sizeof url))
    return panel_error(conn, 404, "This printer is not connected to the print service.");
  char *svg = qr_svg(url, NULL);
  if (!svg) return panel_error(conn, 500, "The QR code could not be made.");
  return panel_send(conn, 200, "image/svg+xml", svg);
}

/*
 * The selected job on screen: its PIN screen or its details.  refusal:
 * why nimbusd refused the release under the purpose chosen (shown next
 * to the Print button), or NULL.
 */
static enum MHD_Result rel_job_screen(panel_release_t *rel, struct MHD_Connection *conn, int slot,
                                      rel_session_t *s, unsigned status, const char *msg,
                                      bool error, const char *refusal) {
  if (s->cur >= s->njobs) return rel_jobs_page(rel, conn, slot, s, 200, NULL, false);
  if (s->remote[0]) return remote_job_screen(rel, conn, slot, s, status, msg, error, refusal);
  json_t *job = NULL;
  long st = rel_fetch_job(rel, s, s->jobs[s->cur], &job);
  if (st == 0 || st >= 500) return rel_unavailable(rel, conn);
  if (st == 401) return rel_expired(rel, conn, slot, s);
  if (st != 200) { /* gone, or not this user's: the next one */
    rel_advance(s);
    rel_store(rel, slot, s);
    if (s->cur < s->njobs)
      return rel_job_page(rel, conn, slot, s, MHD_HTTP_NOT_FOUND, "That job is no longer here.",
                          true);
    return rel_jobs_page(rel, conn, slot, s, MHD_HTTP_NOT_FOUND, "That job is no longer here.",
                         true);
  }
  bool has_pin = json_is_true(json_object_get(job, "has_pin"));
  json_t *pay = json_object_get(job, "payment");
  const char *pay_state = rel_str(pay, "state");
  if ((!has_pin || s->pin_entered) && !strcmp(rel_str(job, "state"), "awaiting-payment") &&
      (!strcmp(pay_state, "pending") || !strcmp(pay_state, "reserving"))) {
    /* being paid for (a reload, a new sign-in): its payment screen, after
     * the PIN like everything else about the job */
    enum MHD_Result r = pay_started(rel, conn, slot, s, s->jobs[s->cur], pay);
    json_decref(job);
    return r;
  }
  panel_buf_t b = {0};
  const char *name = rel_str(job, "name")[0] ? rel_str(job, "name") : "(untitled)";
  if (has_pin && !s->pin_entered) {
    rel_pin_screen(rel, &b, s, job, name, msg, error);
  } else {
    set_view(rel, s, job); /* settings kept for it: as they will print, their fee */
    char pages[32], copies[32];
    rel_job_words_t w;
    rel_job_words(job, &w);
    snprintf(pages, sizeof pages, "%lld", rel_int(job, "pages"));
    snprintf(copies, sizeof copies, "%lld", rel_int(job, "copies") ? rel_int(job, "copies") : 1);
    json_t *fee = json_object_get(job, "fee");
    bool pay_first = json_is_true(json_object_get(fee, "payment_required"));
    rel_head(rel, &b, "details", "Print this job?", true);
    rel_message(&b, msg && *msg ? msg : s->flash, error);
    rel_job_qr(rel, &b, s->jobs[s->cur]);
    panel_buf_t control = {0}; /* asked for first: the table closes up when it is there */
    rel_purpose_control(rel, &control, s, job);
    char purpose[PURPOSE_WORDS_MAX];
    bool has_purpose = purpose_words(json_object_get(job, "purpose"), purpose, sizeof purpose);
    bool has_settings = json_is_object(json_object_get(job, "settings"));
    panel_raw(&b, control.len || has_purpose || has_settings ? "<table class=\"details compact\">\n"
                                                             : "<table class=\"details\">\n");
    panel_raw(&b, "<tr><th>Name</th><td id=\"job-name\">");
    panel_html(&b, name);
    panel_raw(&b, "</td></tr>\n<tr><th>Job</th><td id=\"job-number\">");
    panel_html(&b, w.number);
    panel_raw(&b, "</td></tr>\n<tr><th>Pages</th><td id=\"job-pages\">");
    panel_html(&b, pages);
    panel_raw(&b, "</td></tr>\n<tr><th>Copies</th><td><span id=\"job-copies\">");
    panel_html(&b, copies);
    panel_raw(&b, "</span>");
    set_summary(&b, job, set_pending(s));
    panel_raw(&b, "</td></tr>\n<tr><th>Received</th><td id=\"job-time\">");
    panel_html(&b, w.when);
    panel_raw(&b, "</td></tr>\n");
    if (has_purpose) {
      panel_raw(&b, "<tr><th>Purpose</th><td id=\"job-purpose\">");
      panel_html(&b, purpose);
      panel_raw(&b, "</td></tr>\n");
    }
    pay_fee_rows(&b, fee);
    panel_raw(&b, "</table>\n");
    rel_form_open(&b, s->csrf, "details-form", "/release/print");
    if (control.len) panel_raw(&b, control.buf);
    free(control.buf);
    if (refusal && *refusal) { /* next to the button it refused, read out at once */
      panel_raw(&b, "<p id=\"release-refusal\" role=\"alert\">");
      panel_html(&b, refusal);
      panel_raw(&b, "</p>\n");
    }
    if (pay_first) /* the release starts the payment (202): the payment screen */
      rel_button(&b, "pay", "/release/print", "Pay and print", "primary");
    else
      rel_button(&b, "print", "/release/print", "Print", "primary");
    if (has_settings)
      panel_raw(&b, "<a class=\"button\" id=\"settings\" href=\"/release/settings\">Settings</a>");
    rel_button(&b, "back", "/release/back", "Back", NULL);
    rel_button(&b, "cancel", "/release/cancel", "Cancel job", NULL);
    panel_raw(&b, "</form>\n");
  }
  json_decref(job);
  return rel_page(conn, status, &b);
}

enum MHD_Result rel_job_page(panel_release_t *rel, struct MHD_Connection *conn, int slot,
                             rel_session_t *s, unsigned status, const char *msg, bool error) {
  return rel_job_screen(rel, conn, slot, s, status, msg, error, NULL);
}

/* "Cancel job" asks first: the job, "Yes, cancel the job", "No, keep it". */
static enum MHD_Result rel_confirm_cancel_page(panel_release_t *rel, struct MHD_Connection *conn,
                                               rel_session_t *s) {
  json_t *job = NULL;
  long st = rel_fetch_job(rel, s, s->jobs[s->cur], &job);
  if (st != 200) return rel_redirect(conn, "/release/job", NULL); /* it says what happened */
  rel_job_words_t w;
  rel_job_words(job, &w);
  panel_buf_t b = {0};
  rel_head(rel, &b, "confirm-cancel", "Cancel this job?", true);
  rel_message(&b, "The job will be deleted and not printed. This cannot be undone.", false);
  panel_raw(&b, "<table class=\"details\">\n<tr><th>Name</th><td id=\"job-name\">");
  panel_html(&b, rel_str(job, "name")[0] ? rel_str(job, "name") : "(untitled)");
  panel_raw(&b, "</td></tr>\n<tr><th>Job</th><td>");
  panel_html(&b, w.number);
  panel_raw(&b, ", ");
  panel_html(&b, w.pages);
  panel_raw(&b, ", ");
  panel_html(&b, w.copies);
  panel_raw(&b, "</td></tr>\n<tr><th>Received</th><td>");
  panel_html(&b, w.when);
  panel_raw(&b, "</td></tr>\n</table>\n");
  rel_form_open(&b, s->csrf, "confirm-form", "/release/keep");
  panel_raw(&b, "<input type=\"hidden\" name=\"confirm\" value=\"yes\">\n");
  rel_button(&b, "keep", "/release/keep", "No, keep it", "primary");
  rel_button(&b, "confirm-cancel", "/release/cancel", "Yes, cancel the job", "danger");
  panel_raw(&b, "</form>\n");
  json_decref(job);
  return rel_page(conn, 200, &b);
}

/* "2 minutes", "45 seconds" */
static void rel_duration(int seconds, char *out, size_t len) {
  if (seconds >= 60 && seconds % 60 == 0)
    snprintf(out, len, seconds == 60 ? "%d minute" : "%d minutes", seconds / 60);
  else
    snprintf(out, len, seconds == 1 ? "%d second" : "%d seconds", seconds);
}

/* The idle warning: shown without counting as activity; goes to the start
 * (which says "you were signed out") when the time is up. */
static enum MHD_Result rel_idle_page(panel_release_t *rel, struct MHD_Connection *conn,
                                     const rel_session_t *s) {
  int left = rel->c->opt.panel_session_idle - (int)(time(NULL) - s->last);
  if (left < 1) left = 1;
  char msg[160], in[32];
  rel_duration(left, in, sizeof in);
  snprintf(msg, sizeof msg, "For your privacy you will be signed out in about %s.", in);
  panel_buf_t b = {0};
  panel_head(&b, "idle", "Are you still there?", left + 1, "/release");
  rel_message(&b, msg, false);
  panel_raw(&b, "<p>Touch <b>I am still here</b> to go on.</p>\n");
  rel_form_open(&b, s->csrf, "idle-form", "/release/logout");
  panel_raw(&b, "<a class=\"button primary\" id=\"stay\" href=\"");
  panel_raw(&b, s->pay_job ? "/release/pay" : s->cur < s->njobs ? "/release/job" : "/release/jobs");
  panel_raw(&b, "\" autofocus>I am still here</a>\n");
  rel_button(&b, "logout", "/release/logout", "Log out", NULL);
  panel_raw(&b, "</form>\n");
  return rel_page(conn, 200, &b);
}

enum MHD_Result rel_done_page(panel_release_t *rel, struct MHD_Connection *conn, const char *msg) {
  panel_buf_t b = {0};
  rel_head(rel, &b, "done", "Thank you", false);
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
    size_t a = strlen(panel_release_css), n = strlen(panel_settings_css),
           r = strlen(panel_remote_css);
    char *css = malloc(a + n + r + 1);
    if (css) {
      memcpy(css, panel_release_css, a);
      memcpy(css + a, panel_settings_css, n);
      memcpy(css + a + n, panel_remote_css, r + 1);
    }
    return panel_send(conn, 200, "text/css; charset=utf-8", css);
  }
  bool idle_warning = !strcmp(url, "/release/idle");
  rel_session_t s;
  int slot = rel_session(rel, conn, &s, !idle_warning);
  enum MHD_Result ret;
  if (slot < 0) {
    char msg[160] = "", in[32];
    if (rel_idle_ended(rel, conn)) {
      rel_duration(rel->c->opt.panel_session_idle, in, sizeof in);
      snprintf(msg, sizeof msg, "You were signed out after %s without activity.", in);
    }
    ret = strcmp(url, "/release") && !msg[0] ? rel_redirect(conn, "/release", NULL)
                                             : rel_login_page(rel, conn, 200, msg, false);
  } else if (!strcmp(url, "/release") || !strcmp(url, "/release/")) {
    ret = rel_redirect(conn, "/release/jobs", NULL);
  } else if (!strcmp(url, "/release/jobs")) {
    ret = rel_jobs_page(rel, conn, slot, &s, 200, NULL, false);
  } else if (!strcmp(url, "/release/job")) {
    ret = rel_job_page(rel, conn, slot, &s, 200, NULL, false);
  } else if (!strcmp(url, "/release/settings")) {
    ret = set_page(rel, conn, slot, &s);
  } else if (!strcmp(url, "/release/pay")) {
    ret = pay_page(rel, conn, slot, &s);
  } else if (!strcmp(url, "/release/link")) {
    ret = remote_link_page(rel, conn, slot, &s);
  } else if (!strcmp(url, "/release/link-qr.svg")) {
    ret = remote_link_qr(conn, &s);
  } else if (!strcmp(url, "/release/qr.svg")) {
    ret = pay_qr(conn, &s);
  } else if (!strcmp(url, "/release/job-qr.svg")) {
    ret = rel_job_qr_svg(rel, conn, &s);
  } else if (idle_warning) {
    ret = rel_idle_page(rel, conn, &s);
  } else {
    ret = panel_error(conn, 404, "There is no such page on this printer.");
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
  int old_slot = rel_session(rel, conn, &old, true);
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
void rel_advance(rel_session_t *s) {
  s->cur++;
  sodium_memzero(s->pin, sizeof s->pin);
  s->pin_entered = false;
  s->pay_job = 0;
  s->pay_url[0] = '\0';
  s->purpose[0] = '\0';
  s->remote[0] = '\0';
  set_clear(s);
}

/* The message of a refused PIN: nimbusd's 403 (attempts left) or 423. */
static void rel_pin_refusal(long st, json_t *body, char *msg, size_t len) {
  if (st == 423) {
    char until[64];
    panel_time_local(rel_str(body, "locked_until"), until, sizeof until);
    snprintf(msg, len, "Too many wrong PINs: this job is locked until %s.", until);
    return;
  }
  json_t *left = json_object_get(body, "attempts_left");
  if (json_is_integer(left))
    snprintf(msg, len, "Wrong PIN. %lld attempt%s left.", (long long)json_integer_value(left),
             json_integer_value(left) == 1 ? "" : "s");
  else
    snprintf(msg, len, "Wrong PIN.");
}

/*
 * POST /release/pin: a keypad key joins the digits keyed so far (what was
 * typed in #pin comes first); OK (no key) checks keyed + typed with
 * nimbusd, so that a wrong PIN is refused here and counts toward the
 * lockout as on Print.  The PIN is never logged; a refused one is wiped.
 */
static enum MHD_Result rel_pin(panel_release_t *rel, struct MHD_Connection *conn, int slot,
                               rel_session_t *s, const char *body) {
  char typed[256] = "", key[16] = "", msg[200] = "";
  enum MHD_Result ret;
  if (s->cur >= s->njobs) {
    ret = rel_redirect(conn, "/release/jobs", NULL);
    goto done;
  }
  if (s->pin_entered) { /* already accepted: the details */
    ret = rel_redirect(conn, "/release/job", NULL);
    goto done;
  }
  if (!panel_form_field(body, "pin", typed, sizeof typed)) typed[0] = '\0';
  bool has_key = panel_form_field(body, "key", key, sizeof key);
  size_t have = strlen(s->pin), add = strlen(typed);
  if (have + add >= sizeof s->pin) {
    sodium_memzero(s->pin, sizeof s->pin);
    rel_store(rel, slot, s);
    ret = rel_job_page(rel, conn, slot, s, MHD_HTTP_BAD_REQUEST, "That PIN is too long.", true);
    goto done;
  }
  memcpy(s->pin + have, typed, add + 1);
  if (has_key) {
    size_t len = strlen(s->pin);
    if (strlen(key) == 1 && key[0] >= '0' && key[0] <= '9') {
      if (len < REL_KEYED_MAX) s->pin[len] = key[0], s->pin[len + 1] = '\0';
    } else if (!strcmp(key, "del")) {
      if (len) s->pin[len - 1] = '\0';
    } else if (!strcmp(key, "clear")) {
      sodium_memzero(s->pin, sizeof s->pin);
    }
    rel_store(rel, slot, s);
    ret = rel_redirect(conn, "/release/job", NULL);
    goto done;
  }
  if (!s->pin[0]) {
    ret = rel_job_page(rel, conn, slot, s, MHD_HTTP_BAD_REQUEST, "Enter the PIN.", true);
    goto done;
  }
  int id = s->jobs[s->cur];
  char path[64];
  snprintf(path, sizeof path, "/device/jobs/%d/pin", id);
  json_t *req = json_pack("{s:s}", "pin", s->pin);
  device_api_answer_t ans;
  bool answered = req && device_api_call(rel->c, "POST", path, s->token, req, &ans);
  json_decref(req); /* jansson's copy of the PIN freed here */
  long st = answered ? ans.status : 0;
  if (answered && (st == 403 || st == 423)) rel_pin_refusal(st, ans.body, msg, sizeof msg);
  if (answered) device_api_answer_free(&ans);
  if (st == 200) {
    s->pin_entered = true;
    rel_store(rel, slot, s);
    ret = rel_redirect(conn, "/release/job", NULL);
    goto done;
  }
  sodium_memzero(s->pin, sizeof s->pin); /* whatever happened, type it again */
  if (!answered || st >= 500) {
    rel_store(rel, slot, s);
    ret = rel_unavailable(rel, conn);
    goto done;
  }
  if (st == 401) {
    ret = rel_expired(rel, conn, slot, s);
    goto done;
  }
  log_event(LOG_INFO, NULL, "panel PIN refused", "job", LOG_INT(id), "user", s->user, "status",
            LOG_INT(st), (char *)NULL);
  if (st == 403 || st == 423) { /* the PIN screen again */
    rel_store(rel, slot, s);
    ret = rel_job_page(rel, conn, slot, s, (unsigned)st, msg, true);
    goto done;
  }
  rel_advance(s); /* gone, or no longer held */
  rel_store(rel, slot, s);
  ret = s->cur < s->njobs ? rel_job_page(rel, conn, slot, s, (unsigned)st,
                                         "That job can no longer be printed.", true)
                          : rel_jobs_page(rel, conn, slot, s, (unsigned)st,
                                          "That job can no longer be printed.", true);
done:
  sodium_memzero(typed, sizeof typed);
  return ret;
}

/*
 * POST /release/print: release the job on screen, under the purpose
 * chosen in the form's #purpose (body's "purpose"; empty or absent: the
 * job's own).  A purpose refusal (panel-purpose.h) keeps the job and its
 * accepted PIN on screen, the chosen purpose still selected, nimbusd's
 * words next to the Print button.
 */
static enum MHD_Result rel_print(panel_release_t *rel, struct MHD_Connection *conn, int slot,
                                 rel_session_t *s, const char *body) {
  if (s->cur >= s->njobs) return rel_redirect(conn, "/release/jobs", NULL);
  if (s->remote[0]) return remote_print(rel, conn, slot, s); /* panel-remote.c */
  int id = s->jobs[s->cur];
  char path[64];
  snprintf(path, sizeof path, "/device/jobs/%d/release", id);
  char chosen[PURPOSE_NAME_MAX + 2] = "";
  if (!panel_form_field(body, "purpose", chosen, sizeof chosen) ||
      strlen(chosen) > PURPOSE_NAME_MAX)
    chosen[0] = '\0'; /* none, or longer than any purpose's name: the job's own */
  memcpy(s->purpose, chosen, strlen(chosen) + 1); /* fits: at most PURPOSE_NAME_MAX */
  json_t *req = purpose_release_body(s->pin_entered ? s->pin : NULL, chosen);
  if (req && !set_release_body(req, s)) { /* the settings shown go with it, or nothing does */
    json_decref(req);
    req = NULL;
  }
  device_api_answer_t ans;
  bool answered = req && device_api_call(rel->c, "POST", path, s->token, req, &ans);
  json_decref(req); /* jansson's copy of the PIN freed here */
  if (!answered || ans.status >= 500) {
    if (answered) device_api_answer_free(&ans);
    return rel_unavailable(rel, conn);
  }
  long st = ans.status;
  char msg[200] = "";
  if (st == 401) {
    device_api_answer_free(&ans);
    return rel_expired(rel, conn, slot, s);
  }
  char refusal[PURPOSE_REFUSAL_MAX];
  if (purpose_refusal(st, ans.body, refusal, sizeof refusal)) {
    device_api_answer_free(&ans);
    log_event(LOG_INFO, NULL, "panel release refused for its purpose", "job", LOG_INT(id), "user",
              s->user, "status", LOG_INT(st), "purpose", chosen[0] ? chosen : NULL, (char *)NULL);
    rel_store(rel, slot, s);
    return rel_job_screen(rel, conn, slot, s, (unsigned)st, NULL, false, refusal);
  }
  if (st == 202) { /* to be paid first: the payment screen */
    enum MHD_Result r = pay_started(rel, conn, slot, s, id, json_object_get(ans.body, "payment"));
    device_api_answer_free(&ans);
    return r;
  }
  /* 409 "must be paid ... : why": paying is not possible now (no
   * provider, provider down); the job stays, on screen */
  bool pay_refused = st == 409 && !strncmp(ans.error, "the job must be paid", 20);
  if (st == 403 || st == 423) rel_pin_refusal(st, ans.body, msg, sizeof msg);
  device_api_answer_free(&ans);
  log_event(LOG_INFO, NULL, st == 200 ? "job released at the panel" : "panel release refused",
            "job", LOG_INT(id), "user", s->user, "status", LOG_INT(st), (char *)NULL);
  if (st == 403 || st == 423) { /* the PIN screen again */
    sodium_memzero(s->pin, sizeof s->pin);
    s->pin_entered = false;
    rel_store(rel, slot, s);
    return rel_job_page(rel, conn, slot, s, (unsigned)st, msg, true);
  }
  if (st == 400 && set_pending(s)) { /* the printer no longer offers them: the job's own */
    set_clear(s);
    rel_store(rel, slot, s);
    return rel_job_page(rel, conn, slot, s, (unsigned)st,
                        "This printer does not take the settings chosen any more; they were "
                        "reset. Check them and press Print again.",
                        true);
  }
  if (pay_refused)
    return rel_job_page(rel, conn, slot, s, (unsigned)st,
                        "Paying is not possible at the moment, so this job cannot be printed "
                        "now. It is kept; please try again later.",
                        true);
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
      rel, conn, printed == 1 ? "Your job is being printed." : "Your jobs are being printed.");
}

/* Cancel job: the confirmation screen first; with confirm=yes, cancel. */
static enum MHD_Result rel_cancel(panel_release_t *rel, struct MHD_Connection *conn, int slot,
                                  rel_session_t *s, const char *body) {
  if (s->cur >= s->njobs || s->remote[0]) return rel_redirect(conn, "/release/jobs", NULL);
  char confirm[8] = "";
  if (!panel_form_field(body, "confirm", confirm, sizeof confirm) || strcmp(confirm, "yes"))
    return rel_confirm_cancel_page(rel, conn, s);
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
  if (pr->too_big) return panel_error(conn, 413, "The request was too large.");
  pr->body[pr->len] = '\0';
  if (!strcmp(url, "/release/login")) return rel_login(rel, conn, pr->body);

  rel_session_t s;
  int slot = rel_session(rel, conn, &s, true);
  if (slot < 0)
    return rel_login_page(rel, conn, MHD_HTTP_UNAUTHORIZED,
                          rel_idle_ended(rel, conn)
                              ? "You were signed out because the screen was not used. Please "
                                "log in again."
                              : "Your session has ended. Please log in again.",
                          true);
  bool token_ok = panel_form_field(pr->body, "csrf", token, sizeof token) && strlen(token) == 32 &&
                  crypto_equal(token, s.csrf, 32);
  if (!token_ok) {
    sodium_memzero(&s, sizeof s);
    return panel_error(conn, 403, "Bad or missing CSRF token: this form has expired.");
  }
  enum MHD_Result ret;
  if (!strcmp(url, "/release/select")) {
    int ids[REL_SELECT_MAX];
    int n = rel_form_ints(pr->body, "job", ids, REL_SELECT_MAX);
    char remote[REL_REMOTE_ID_MAX] = "";
    if (!panel_form_field(pr->body, "remote", remote, sizeof remote)) remote[0] = '\0';
    if (remote[0] && n > 0) {
      ret = rel_jobs_page(rel, conn, slot, &s, MHD_HTTP_BAD_REQUEST,
                          "A job from another print service is printed on its own: select "
                          "just that one.",
                          true);
    } else if (remote[0]) { /* panel-remote.c */
      rel_advance(&s);
      memcpy(s.remote, remote, sizeof remote);
      s.jobs[0] = REL_REMOTE_JOB;
      s.njobs = 1;
      s.cur = 0;
      rel_store(rel, slot, &s);
      ret = rel_redirect(conn, "/release/job", NULL);
    } else if (n == 0) {
      ret = rel_jobs_page(rel, conn, slot, &s, MHD_HTTP_BAD_REQUEST, "Select a job first.", true);
    } else {
      memcpy(s.jobs, ids, sizeof ids);
      s.njobs = n;
      s.cur = 0;
      sodium_memzero(s.pin, sizeof s.pin);
      s.pin_entered = false;
      s.pay_job = 0;
      s.pay_url[0] = '\0';
      s.purpose[0] = '\0';
      s.remote[0] = '\0';
      set_clear(&s);
      rel_store(rel, slot, &s);
      ret = rel_redirect(conn, "/release/job", NULL);
    }
  } else if (!strcmp(url, "/release/pin")) {
    ret = rel_pin(rel, conn, slot, &s, pr->body);
  } else if (!strcmp(url, "/release/print")) {
    ret = rel_print(rel, conn, slot, &s, pr->body);
  } else if (!strcmp(url, "/release/settings")) {
    ret = set_post(rel, conn, slot, &s, pr->body);
  } else if (!strcmp(url, "/release/relink")) {
    ret = remote_relink(rel, conn, slot, &s, pr->body);
  } else if (!strcmp(url, "/release/cancel")) {
    ret = rel_cancel(rel, conn, slot, &s, pr->body);
  } else if (!strcmp(url, "/release/pay-cancel")) {
    ret = pay_cancel(rel, conn, slot, &s);
  } else if (!strcmp(url, "/release/keep")) {
    ret = rel_redirect(conn, "/release/job", NULL);
  } else if (!strcmp(url, "/release/back")) {
    s.njobs = s.cur = 0;
    sodium_memzero(s.pin, sizeof s.pin);
    s.pin_entered = false;
    s.pay_job = 0;
    s.pay_url[0] = '\0';
    s.purpose[0] = '\0';
    s.remote[0] = '\0';
    set_clear(&s);
    rel_store(rel, slot, &s);
    ret = rel_redirect(conn, "/release/jobs", NULL);
  } else if (!strcmp(url, "/release/logout")) {
    rel_end(rel, slot, s.cookie);
    log_event(LOG_INFO, NULL, "panel logout", "user", s.user, (char *)NULL);
    ret = rel_redirect(conn, "/release",
                       REL_COOKIE "=; Path=/release; HttpOnly; SameSite=Strict; Max-Age=0");
  } else {
    ret = panel_error(conn, 404, "There is no such page on this printer.");
  }
  sodium_memzero(&s, sizeof s);
  return ret;
}
