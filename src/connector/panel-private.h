/*
 * panel-private.h: what panel.c shares with the release screens
 * (panel-release.c): the bounded page builder with its escaping printer,
 * the form parser and the response helper; and what panel-release.c
 * shares with the payment screens (panel-pay.c): the users' sessions and
 * the screens' building blocks.
 */
#ifndef NIMBUS_CONNECTOR_PANEL_PRIVATE_H
#define NIMBUS_CONNECTOR_PANEL_PRIVATE_H

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "connector.h"
#include "panel-purpose.h"
#include "qr-svg.h"

#define PANEL_BODY_MAX 2048  /* a form body */
#define PANEL_PAGE_MAX 65536 /* a page */

/* A bounded string builder for a page. */
typedef struct {
  char *buf;
  size_t len, cap;
} panel_buf_t;

/* Per-request state: the bounded form body. */
typedef struct {
  char body[PANEL_BODY_MAX + 1];
  size_t len;
  bool too_big;
} panel_req_t;

/* Append trusted markup. */
void panel_raw(panel_buf_t *b, const char *s);
/* Append text with &, <, >, " and ' escaped. */
void panel_html(panel_buf_t *b, const char *s);
/* The security headers of every panel answer: Content-Security-Policy
 * (PANEL_CSP), nosniff, Referrer-Policy, no framing, no caching. */
#define PANEL_CSP                                                              \
  "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; " \
  "frame-ancestors 'none'; base-uri 'none'"
void panel_security_headers(struct MHD_Response *r);
/* Queue text (freed; NULL: 500) with the security headers. */
enum MHD_Result panel_send(struct MHD_Connection *conn, unsigned status, const char *type,
                           char *text);
/* The first value of field name in an urlencoded body, decoded into out. */
bool panel_form_field(const char *body, const char *name, char *out, size_t outlen);

/* An error page in the panel's style (data-screen="error", #message,
 * links back to the start and to the status page): 4xx, 5xx. */
enum MHD_Result panel_error(struct MHD_Connection *conn, unsigned status, const char *msg);
/* "2026-05-01T10:20:30Z" (UTC) as this printer's local time with its zone,
 * "2026-05-01 12:20 CEST"; "" stays "". */
void panel_time_local(const char *iso, char *out, size_t len);
/* The head of a page in the panel's style up to <body data-screen=screen>
 * and its <h1>; refresh_s > 0: go to refresh_url after that many seconds. */
void panel_head(panel_buf_t *b, const char *screen, const char *title, int refresh_s,
                const char *refresh_url);

/* panel-release.c: the release screens and the users' sessions */
typedef struct panel_release panel_release_t;
panel_release_t *panel_release_open(connector_t *c);
/* Log out every session (at nimbusd too) and free. */
void panel_release_close(panel_release_t *rel);
/* The release screens' stylesheet (served as /release/panel.css: the
 * CSP allows no inline style). */
extern const char panel_release_css[];
enum MHD_Result panel_release_get(panel_release_t *rel, struct MHD_Connection *conn,
                                  const char *url);
enum MHD_Result panel_release_post(panel_release_t *rel, struct MHD_Connection *conn,
                                   const char *url, panel_req_t *pr);

/* ---- panel-release.c's sessions and building blocks (panel-pay.c) ---- */

#define REL_SESSIONS 8    /* users logged in at once (one screen: few) */
#define REL_SELECT_MAX 16 /* jobs selected at once */
#define REL_SETTING_MAX 64 /* a setting's keyword (sides, media, ...) */
#define REL_REMOTE_ID_MAX 160 /* "<link>:<remote job id>" */
#define REL_REMOTE_JOB (-1)   /* jobs[0] while a remote job is on screen */

/* A signed-in user's state at the panel (copied out under rel->lock,
 * worked on, written back with rel_store()). */
typedef struct {
  bool used;
  char cookie[33];
  char csrf[33];   /* this session's CSRF token */
  char token[160]; /* the nms_ session at nimbusd */
  char user[128];
  time_t last;
  int jobs[REL_SELECT_MAX];
  int njobs, cur;
  char pin[256];    /* the digits keyed so far; once pin_entered, the PIN */
  bool pin_entered; /* nimbusd accepted pin for jobs[cur] */
  char flash[256];
  /* the payment on screen (panel-pay.c): the job being paid for (its
   * number; 0: none) and, while it is pending, its payment URL (the QR
   * code's text; never logged) */
  int pay_job;
  char pay_url[QR_SVG_TEXT_MAX + 1];
  /* the purpose chosen on the job's screen (panel-purpose.h; "": keep
   * the job's own), kept for that job across a refused release */
  char purpose[PURPOSE_NAME_MAX + 1];
  /* the settings applied on the settings screen (panel-settings.c) for
   * job number set_job (0: none; they apply while it is on screen):
   * copies 0 and "" are the job's own */
  int set_job;
  int set_copies;
  char set_sides[REL_SETTING_MAX];
  char set_color[REL_SETTING_MAX]; /* print-color-mode */
  char set_media[REL_SETTING_MAX];
  /* the remote job on screen (panel-remote.c): its remote_id
   * "<link>:<remote job id>" ("": a local job); it is then the only
   * selected job, jobs[0] == REL_REMOTE_JOB */
  char remote[REL_REMOTE_ID_MAX];
  /* the account link being linked on the link screen (0: none), and its
   * verification URL (the QR code's text) */
  long long link_id;
  char link_uri[QR_SVG_TEXT_MAX + 1];
} rel_session_t;

struct panel_release {
  connector_t *c;
  pthread_mutex_t lock;
  rel_session_t s[REL_SESSIONS];
  char idle_ended[REL_SESSIONS][33]; /* cookies of sessions ended for idleness */
  int idle_next;
};

/* The head of a session's screen (moves to the idle warning by itself
 * shortly before the idle sign-out) or, session false, of a screen
 * without one. */
void rel_head(panel_release_t *rel, panel_buf_t *b, const char *screen, const char *title,
              bool session);
/* #message (data-kind error or info); nothing when msg is empty. */
void rel_message(panel_buf_t *b, const char *msg, bool error);
/* A form; csrf: the session's token, NULL for the login form. */
void rel_form_open(panel_buf_t *b, const char *csrf, const char *id, const char *action);
/* A submit button; cls: "primary", "danger" or NULL. */
void rel_button(panel_buf_t *b, const char *id, const char *action, const char *label,
                const char *cls);
/* Close the page and send it (b's buffer is handed over). */
enum MHD_Result rel_page(struct MHD_Connection *conn, unsigned status, panel_buf_t *b);
/* 303 to `to`, with an optional Set-Cookie. */
enum MHD_Result rel_redirect(struct MHD_Connection *conn, const char *to,
                             const char *cookie_header);
/* o's member k as a string ("" when absent) or integer (0). */
const char *rel_str(json_t *o, const char *k);
long long rel_int(json_t *o, const char *k);
/* nimbusd unreachable or erring: the 503 page. */
enum MHD_Result rel_unavailable(panel_release_t *rel, struct MHD_Connection *conn);
/* nimbusd no longer knows the session: end it, the login page (401). */
enum MHD_Result rel_expired(panel_release_t *rel, struct MHD_Connection *conn, int slot,
                            const rel_session_t *s);
/* Write s back into its slot (unless that session ended meanwhile). */
void rel_store(panel_release_t *rel, int slot, const rel_session_t *s);
/* End the session in slot (here and at nimbusd). */
void rel_end(panel_release_t *rel, int slot, const char *cookie);
/* Forget the job on screen (its PIN, its payment) and move to the next. */
void rel_advance(rel_session_t *s);
/* The selected job on screen (PIN screen or details), the job list. */
enum MHD_Result rel_job_page(panel_release_t *rel, struct MHD_Connection *conn, int slot,
                             rel_session_t *s, unsigned status, const char *msg, bool error);
enum MHD_Result rel_jobs_page(panel_release_t *rel, struct MHD_Connection *conn, int slot,
                              rel_session_t *s, unsigned status, const char *msg, bool error);

/* GET /device/jobs/{id}: 200 with *job set, else the status (0: no answer). */
long rel_fetch_job(panel_release_t *rel, const rel_session_t *s, int id, json_t **job);

/* ---- panel-settings.c: the settings screen (FEDERATION.md §5) ---- */

/* Its stylesheet (served after panel_release_css in /release/panel.css). */
extern const char panel_settings_css[];
/* Are settings kept for the job on screen? */
bool set_pending(const rel_session_t *s);
/* Forget the settings kept (another job, back to the list). */
void set_clear(rel_session_t *s);
/* Add the kept settings to a release body as "settings"; false when out
 * of memory. */
bool set_release_body(json_t *req, const rel_session_t *s);
/* The details screen with kept settings: job's "settings", "copies",
 * "impressions" and "fee" replaced by nimbusd's quote for them. */
void set_view(panel_release_t *rel, const rel_session_t *s, json_t *job);
/* After the details' copies: " · " and the job's sides, colour and paper
 * size in words (#job-settings; nothing when the job has no "settings"),
 * "(changed)" (#settings-changed) when changed here. */
void set_summary(panel_buf_t *b, json_t *job, bool changed);
/* GET /release/settings: the settings screen of the job on screen. */
enum MHD_Result set_page(panel_release_t *rel, struct MHD_Connection *conn, int slot,
                         rel_session_t *s);
/* POST /release/settings: the stepper (step=down|up) or Apply. */
enum MHD_Result set_post(panel_release_t *rel, struct MHD_Connection *conn, int slot,
                         rel_session_t *s, const char *body);

/* The done screen ("Thank you", logged out) with msg. */
enum MHD_Result rel_done_page(panel_release_t *rel, struct MHD_Connection *conn, const char *msg);

/* ---- panel-remote.c: jobs of other print services (FEDERATION.md §4) ---- */

/* Its stylesheet (served after panel_settings_css). */
extern const char panel_remote_css[];
/* Is list entry j a remote job (origin kind "remote")? */
bool remote_is(json_t *j);
/* The job list's row of remote job j (a checkbox named "remote"). */
void remote_list_row(panel_buf_t *b, json_t *j);
/* Above the job list: "Your account at X needs relinking" with its
 * Relink button, per account link that needs it (the list's answer's
 * "account_links", else GET /device/account-links). */
void remote_relink_banner(panel_release_t *rel, panel_buf_t *b, const rel_session_t *s,
                          json_t *list);
/* The remote job on screen with its choices (from GET /device/jobs):
 * 200 with *job set, else the status (404: no longer listed). */
long remote_fetch(panel_release_t *rel, const rel_session_t *s, json_t **job);
/* The remote job on screen: its details (refusal: words next to Print). */
enum MHD_Result remote_job_screen(panel_release_t *rel, struct MHD_Connection *conn, int slot,
                                  rel_session_t *s, unsigned status, const char *msg, bool error,
                                  const char *refusal);
/* POST /release/print for the remote job on screen: the take route. */
enum MHD_Result remote_print(panel_release_t *rel, struct MHD_Connection *conn, int slot,
                             rel_session_t *s);
/* POST /release/relink (link=ID or service=URL): a new grant, then the
 * link screen. */
enum MHD_Result remote_relink(panel_release_t *rel, struct MHD_Connection *conn, int slot,
                              rel_session_t *s, const char *body);
/* GET /release/link: the account link screen (code, QR code, URL),
 * refreshing itself until linked. */
enum MHD_Result remote_link_page(panel_release_t *rel, struct MHD_Connection *conn, int slot,
                                 rel_session_t *s);
/* GET /release/link-qr.svg: the QR code of the link's verification URL. */
enum MHD_Result remote_link_qr(struct MHD_Connection *conn, const rel_session_t *s);

/* ---- panel-pay.c: paying at the printer ---- */

/* The fee rows of the details screen's table from the job's "fee":
 * "Free", or Print / Service fee / Total as nimbusd wrote them (exact
 * text from integer minor units: no arithmetic here). */
void pay_fee_rows(panel_buf_t *b, json_t *fee);
/* The release answered 202: job number id awaits payment (the answer's
 * "payment"); remember it in the session and go to the payment screen. */
enum MHD_Result pay_started(panel_release_t *rel, struct MHD_Connection *conn, int slot,
                            rel_session_t *s, int id, json_t *payment);
/* GET /release/pay: the session's payment as it stands now. */
enum MHD_Result pay_page(panel_release_t *rel, struct MHD_Connection *conn, int slot,
                         rel_session_t *s);
/* GET /release/qr.svg: the QR code of the session's pending payment. */
enum MHD_Result pay_qr(struct MHD_Connection *conn, const rel_session_t *s);
/* POST /release/pay-cancel: cancel the session's payment at nimbusd. */
enum MHD_Result pay_cancel(panel_release_t *rel, struct MHD_Connection *conn, int slot,
                           rel_session_t *s);

#endif
