/*
 * panel-settings.c: the release panel's settings screen (FEDERATION.md
 * §5, docs/PANEL.md): before printing, the signed-in user may change the
 * job's copies, sides, colour and paper size among what this printer
 * supports (the "choices" of GET /device/jobs/{id}).  The screen is a
 * form without script (the CSP allows none): the copies stepper's − and
 * + are submit buttons that post the whole form back, so the choices
 * made so far are kept in the form itself.  "Apply" asks nimbusd for the
 * fee with those settings (POST /device/jobs/{id}/quote), keeps them in
 * the panel session for the job on screen and goes back to its details,
 * which then show the changed settings and that fee; Print sends them
 * with the release.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device-api.h"
#include "log.h"
#include "panel-private.h"

const char panel_settings_css[] =
    /* the settings screen: one row per setting, all on one screen */
    "form#settings-form{margin:0}\n"
    ".set-row{display:flex;align-items:center;gap:12px;margin:0 0 10px;min-height:56px}\n"
    ".set-row .set-label{width:150px;flex:none;color:#555;margin:0}\n"
    "fieldset.set-row{display:block;border:0;padding:0;margin:0 0 10px;min-height:0}\n"
    "fieldset.set-row legend{float:left;width:150px;margin:0 12px 0 0;padding:0;color:#555;"
    "line-height:40px}\n"
    ".set-row .choices{display:flex;flex-wrap:wrap;gap:8px}\n"
    ".set-row .choices label{display:flex;align-items:center;gap:6px;margin:0;padding:6px 12px;"
    "background:#fff;border:1px solid #99a;border-radius:8px;min-height:40px;"
    "box-sizing:border-box}\n"
    ".set-row .choices input{width:24px;height:24px;margin:0}\n"
    ".set-row .choices input:focus{outline:3px solid #f5a623}\n"
    ".stepper{display:flex;align-items:center;gap:0}\n"
    ".stepper button{min-width:64px;margin:0;font-size:28px;padding:0}\n"
    "#copies-value{display:inline-block;min-width:72px;text-align:center;font-size:28px;"
    "font-weight:bold}\n"
    "#set-media{font-size:20px;min-height:48px;max-width:420px;padding:0 8px;border-radius:6px;"
    "border:1px solid #556;background:#fff}\n"
    "#set-media:focus{outline:3px solid #f5a623}\n"
    ".set-actions button,.set-actions a.button{margin-top:4px}\n"
    /* the details screen: a longer copies cell must not fold the labels */
    "body[data-screen=details] table.details th{white-space:nowrap}\n"
    "#settings-changed{color:#1b4f8a}\n";

/* Words for a keyword value the panel shows; the keyword itself when it
 * has none. */
static const char *set_words(const char *kw) {
  static const char *const words[][2] = {
      {"one-sided", "One-sided"},
      {"two-sided-long-edge", "Two-sided (long edge)"},
      {"two-sided-short-edge", "Two-sided (short edge)"},
      {"auto", "Automatic"},
      {"color", "Colour"},
      {"monochrome", "Black and white"},
      {"auto-monochrome", "Black and white (automatic)"},
      {"process-monochrome", "Black and white (process)"},
      {"bi-level", "Black and white (text)"},
      {"iso_a4_210x297mm", "A4"},
      {"iso_a3_297x420mm", "A3"},
      {"iso_a5_148x210mm", "A5"},
      {"na_letter_8.5x11in", "Letter"},
      {"na_legal_8.5x14in", "Legal"},
  };
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
    if (!strcmp(kw, words[i][0])) return words[i][1];
  return kw;
}

bool set_pending(const rel_session_t *s) {
  return s->cur < s->njobs && s->set_job && s->set_job == s->jobs[s->cur];
}

void set_clear(rel_session_t *s) {
  s->set_job = 0;
  s->set_copies = 0;
  s->set_sides[0] = s->set_color[0] = s->set_media[0] = '\0';
}

/* {"copies"?,"sides"?,"print-color-mode"?,"media"?} of the given values
 * (copies 0 and "" left out). */
static json_t *set_json(int copies, const char *sides, const char *color, const char *media) {
  json_t *o = json_object();
  if (!o) return NULL;
  if (copies > 0) json_object_set_new(o, "copies", json_integer(copies));
  if (sides[0]) json_object_set_new(o, "sides", json_string(sides));
  if (color[0]) json_object_set_new(o, "print-color-mode", json_string(color));
  if (media[0]) json_object_set_new(o, "media", json_string(media));
  return o;
}

bool set_release_body(json_t *req, const rel_session_t *s) {
  if (!set_pending(s)) return true;
  json_t *o = set_json(s->set_copies, s->set_sides, s->set_color, s->set_media);
  return o && json_object_set_new(req, "settings", o) == 0;
}

/* POST /device/jobs/{id}/quote {settings}: the answer (caller frees). */
static bool set_quote(panel_release_t *rel, const rel_session_t *s, int id, json_t *settings,
                      device_api_answer_t *ans) {
  char path[64];
  snprintf(path, sizeof path, "/device/jobs/%d/quote", id);
  json_t *body = json_pack("{s:O}", "settings", settings);
  bool ok = body && device_api_call(rel->c, "POST", path, s->token, body, ans);
  json_decref(body);
  return ok;
}

void set_view(panel_release_t *rel, const rel_session_t *s, json_t *job) {
  if (!set_pending(s)) return;
  json_t *want = set_json(s->set_copies, s->set_sides, s->set_color, s->set_media);
  device_api_answer_t ans;
  if (want && set_quote(rel, s, s->jobs[s->cur], want, &ans)) {
    if (ans.status == 200) {
      json_t *now = json_object_get(ans.body, "settings");
      json_object_set(job, "settings", now);
      json_object_set(job, "copies", json_object_get(now, "copies"));
      json_object_set(job, "fee", json_object_get(ans.body, "fee"));
      json_object_set(job, "impressions", json_object_get(ans.body, "impressions"));
    }
    device_api_answer_free(&ans);
  }
  json_decref(want);
}

void set_summary(panel_buf_t *b, json_t *job, bool changed) {
  json_t *st = json_object_get(job, "settings");
  if (!json_is_object(st)) return;
  static const char *const keys[] = {"sides", "print-color-mode", "media"};
  char text[256] = "";
  for (size_t i = 0; i < 3; i++) {
    const char *v = json_string_value(json_object_get(st, keys[i]));
    if (!v || !v[0]) continue;
    size_t used = strlen(text);
    snprintf(text + used, sizeof text - used, "%s%s", used ? ", " : "", set_words(v));
  }
  if (!text[0]) return;
  panel_raw(b, " &middot; <span id=\"job-settings\">");
  panel_html(b, text);
  panel_raw(b, "</span>");
  if (changed) panel_raw(b, " <em id=\"settings-changed\">(changed)</em>");
}

/* A draft of the settings screen: what the form holds. */
typedef struct {
  int copies;
  char sides[REL_SETTING_MAX];
  char color[REL_SETTING_MAX];
  char media[REL_SETTING_MAX];
} set_draft_t;

/* One labelled group of radio buttons (name, legend) of the values in
 * the array list, value `chosen` checked. */
static void set_radios(panel_buf_t *b, const char *name, const char *legend, json_t *list,
                       const char *chosen) {
  panel_raw(b, "<fieldset class=\"set-row\" id=\"set-");
  panel_html(b, name);
  panel_raw(b, "\"><legend>");
  panel_html(b, legend);
  panel_raw(b, "</legend><div class=\"choices\">");
  size_t i;
  json_t *v;
  json_array_foreach(list, i, v) {
    const char *kw = json_string_value(v);
    if (!kw) continue;
    panel_raw(b, "<label><input type=\"radio\" name=\"");
    panel_html(b, name);
    panel_raw(b, "\" value=\"");
    panel_html(b, kw);
    panel_raw(b, !strcmp(kw, chosen) ? "\" checked> " : "\"> ");
    panel_html(b, set_words(kw));
    panel_raw(b, "</label>");
  }
  panel_raw(b, "</div></fieldset>\n");
}

/* The settings screen for job (its "choices") with draft d. */
static enum MHD_Result set_screen(panel_release_t *rel, struct MHD_Connection *conn,
                                  const rel_session_t *s, json_t *job, const set_draft_t *d,
                                  unsigned status, const char *msg) {
  json_t *ch = json_object_get(job, "choices");
  long long max = rel_int(ch, "copies_max");
  if (max < 1) max = 1;
  panel_buf_t b = {0};
  rel_head(rel, &b, "settings", "Settings", true);
  rel_message(&b, msg ? msg : "", msg && *msg);
  rel_form_open(&b, s->csrf, "settings-form", "/release/settings");
  char n[16];
  snprintf(n, sizeof n, "%d", d->copies);
  panel_raw(&b,
            "<div class=\"set-row\" role=\"group\" aria-labelledby=\"copies-label\">"
            "<span class=\"set-label\" id=\"copies-label\">Copies</span>"
            "<span class=\"stepper\"><button type=\"submit\" id=\"copies-down\" name=\"step\" "
            "value=\"down\" aria-label=\"One copy fewer\"");
  panel_raw(&b, d->copies <= 1 ? " disabled" : "");
  panel_raw(&b, ">&minus;</button><output id=\"copies-value\" aria-live=\"polite\">");
  panel_html(&b, n);
  panel_raw(&b,
            "</output><button type=\"submit\" id=\"copies-up\" name=\"step\" value=\"up\" "
            "aria-label=\"One copy more\"");
  panel_raw(&b, d->copies >= max ? " disabled" : "");
  panel_raw(&b, ">+</button></span><input type=\"hidden\" name=\"copies\" value=\"");
  panel_html(&b, n);
  panel_raw(&b, "\"></div>\n");
  set_radios(&b, "sides", "Sides", json_object_get(ch, "sides"), d->sides);
  set_radios(&b, "print-color-mode", "Colour", json_object_get(ch, "print_color_mode"), d->color);
  panel_raw(&b,
            "<div class=\"set-row\"><label class=\"set-label\" for=\"set-media\">Paper size</label>"
            "<select id=\"set-media\" name=\"media\">\n");
  if (!d->media[0]) panel_raw(&b, "<option value=\"\" selected>Printer's default</option>\n");
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(ch, "media"), i, v) {
    const char *kw = json_string_value(v);
    if (!kw) continue;
    panel_raw(&b, "<option value=\"");
    panel_html(&b, kw);
    panel_raw(&b, !strcmp(kw, d->media) ? "\" selected>" : "\">");
    panel_html(&b, set_words(kw));
    panel_raw(&b, "</option>\n");
  }
  panel_raw(&b, "</select></div>\n<div class=\"set-actions\">");
  panel_raw(&b,
            "<button type=\"submit\" id=\"apply\" name=\"step\" value=\"apply\" "
            "class=\"primary\">Apply</button>"
            "<a class=\"button\" id=\"settings-back\" href=\"/release/job\">Back</a>"
            "</div>\n</form>\n");
  return rel_page(conn, status, &b);
}

/* The draft the screen starts from: the settings kept for the job, else
 * the job's own. */
static void set_draft_of(const rel_session_t *s, json_t *job, set_draft_t *d) {
  json_t *st = json_object_get(job, "settings");
  memset(d, 0, sizeof *d);
  d->copies = (int)(rel_int(st, "copies") > 0 ? rel_int(st, "copies") : 1);
  snprintf(d->sides, sizeof d->sides, "%s", rel_str(st, "sides"));
  snprintf(d->color, sizeof d->color, "%s", rel_str(st, "print-color-mode"));
  snprintf(d->media, sizeof d->media, "%s", rel_str(st, "media"));
  if (!set_pending(s)) return;
  if (s->set_copies) d->copies = s->set_copies;
  if (s->set_sides[0]) snprintf(d->sides, sizeof d->sides, "%s", s->set_sides);
  if (s->set_color[0]) snprintf(d->color, sizeof d->color, "%s", s->set_color);
  if (s->set_media[0]) snprintf(d->media, sizeof d->media, "%s", s->set_media);
}

/* The job on screen with its choices; false has answered (the details
 * or the list when it is gone, 503, the login page). */
static bool set_load_job(panel_release_t *rel, struct MHD_Connection *conn, int slot,
                         rel_session_t *s, json_t **job, enum MHD_Result *ret) {
  if (s->cur >= s->njobs) {
    *ret = rel_redirect(conn, "/release/jobs", NULL);
    return false;
  }
  /* a remote job (panel-remote.c): its entry of the list, this printer's choices */
  long st = s->remote[0] ? remote_fetch(rel, s, job) : rel_fetch_job(rel, s, s->jobs[s->cur], job);
  if (st == 0 || st >= 500) {
    *ret = rel_unavailable(rel, conn);
    return false;
  }
  if (st == 401) {
    *ret = rel_expired(rel, conn, slot, s);
    return false;
  }
  if (st != 200 || !json_is_object(json_object_get(*job, "choices")) ||
      strcmp(rel_str(*job, "state"), "held") != 0) {
    json_decref(*job);
    *job = NULL;
    *ret = rel_job_page(rel, conn, slot, s, st == 200 ? 409 : (unsigned)st,
                        "The settings of this job cannot be changed here.", true);
    return false;
  }
  return true;
}

enum MHD_Result set_page(panel_release_t *rel, struct MHD_Connection *conn, int slot,
                         rel_session_t *s) {
  json_t *job = NULL;
  enum MHD_Result ret;
  if (!set_load_job(rel, conn, slot, s, &job, &ret)) return ret;
  set_draft_t d;
  set_draft_of(s, job, &d);
  ret = set_screen(rel, conn, s, job, &d, 200, NULL);
  json_decref(job);
  return ret;
}

/* The form's field name into out ("" when absent or too long). */
static void set_field(const char *body, const char *name, char *out, size_t len) {
  if (!panel_form_field(body, name, out, len)) out[0] = '\0';
}

/* Keep draft d for the job on screen and go back to its details. */
static enum MHD_Result set_keep(panel_release_t *rel, int slot, rel_session_t *s,
                                const set_draft_t *d, struct MHD_Connection *conn) {
  s->set_job = s->jobs[s->cur];
  s->set_copies = d->copies;
  memcpy(s->set_sides, d->sides, sizeof d->sides);
  memcpy(s->set_color, d->color, sizeof d->color);
  memcpy(s->set_media, d->media, sizeof d->media);
  rel_store(rel, slot, s);
  log_event(LOG_INFO, NULL, "settings changed at the panel", "job", LOG_INT(s->set_job),
            "remote_job", s->remote[0] ? s->remote : NULL, "user", s->user, "copies",
            LOG_INT(d->copies), "sides", d->sides, "print_color_mode", d->color, "media", d->media,
            (char *)NULL);
  return rel_redirect(conn, "/release/job", NULL);
}

enum MHD_Result set_post(panel_release_t *rel, struct MHD_Connection *conn, int slot,
                         rel_session_t *s, const char *body) {
  json_t *job = NULL;
  enum MHD_Result ret;
  if (!set_load_job(rel, conn, slot, s, &job, &ret)) return ret;
  set_draft_t d;
  set_draft_of(s, job, &d);
  char step[16], copies[16];
  set_field(body, "step", step, sizeof step);
  set_field(body, "copies", copies, sizeof copies);
  char *end;
  long n = strtol(copies, &end, 10);
  long max = (long)rel_int(json_object_get(job, "choices"), "copies_max");
  if (copies[0] && !*end && n >= 1 && n <= 9999) d.copies = (int)n;
  set_field(body, "sides", d.sides, sizeof d.sides);
  set_field(body, "print-color-mode", d.color, sizeof d.color);
  set_field(body, "media", d.media, sizeof d.media);
  if (!strcmp(step, "down") && d.copies > 1) d.copies--;
  if (!strcmp(step, "up") && d.copies < max) d.copies++;
  if (strcmp(step, "apply") != 0) { /* the stepper: the screen again with the draft */
    ret = set_screen(rel, conn, s, job, &d, 200, NULL);
    json_decref(job);
    return ret;
  }
  if (s->remote[0]) { /* no quote for a remote job: the take checks and prices them */
    json_decref(job);
    return set_keep(rel, slot, s, &d, conn);
  }
  /* Apply: nimbusd checks them against this printer's choices (the quote) */
  json_t *want = set_json(d.copies, d.sides, d.color, d.media);
  device_api_answer_t ans;
  bool answered = want && set_quote(rel, s, s->jobs[s->cur], want, &ans);
  json_decref(want);
  if (!answered || ans.status >= 500) {
    if (answered) device_api_answer_free(&ans);
    json_decref(job);
    return rel_unavailable(rel, conn);
  }
  long st = ans.status;
  char msg[300];
  snprintf(msg, sizeof msg, "These settings cannot be used: %s", ans.error);
  device_api_answer_free(&ans);
  if (st == 401) {
    json_decref(job);
    return rel_expired(rel, conn, slot, s);
  }
  if (st != 200) {
    ret = set_screen(rel, conn, s, job, &d, (unsigned)st, msg);
    json_decref(job);
    return ret;
  }
  json_decref(job);
  return set_keep(rel, slot, s, &d, conn);
}
