/*
 * api-device.c: the printer panel's calls, /api/v1/device/... with the
 * device credential (PROTOCOL.md §7.2).  A user signs in at the panel and
 * gets a short-lived session; with it the panel lists, shows, releases and
 * cancels that user's held jobs in the printer's scope.
 *
 *   POST   /device/sessions          {user, secret} → 201 {session, user,
 *                                    expires_at, login}; 401 wrong user or
 *                                    secret (one answer for both); 429 after
 *                                    too many failures for one user here
 *   DELETE /device/sessions/current  → 204 (sign out)
 *   GET    /device/jobs              → {jobs:[panel-job or remote job...], scope,
 *                                    links}: with the user's linked remote jobs
 *   GET    /device/jobs/{id}         → panel-job; 404 another user's, out of scope
 *   POST   /device/jobs/{id}/release {pin?} → panel-job (fetchable for this
 *                                    printer only); 403 {attempts_left};
 *                                    423 {locked_until}; 409 not held
 *   POST   /device/jobs/{id}/pin {pin} → panel-job when the PIN is right
 *                                    (nothing released); 403/423/404/409 and
 *                                    the counting as for release
 *   POST   /device/jobs/{id}/cancel  → panel-job (canceled)
 *   POST   /device/remote-jobs/{link}/{remote job id}/release {settings?,
 *                                    purpose?} → panel-job: a remote job taken
 *                                    and released here (docs/FEDERATION.md §4)
 *   GET    /device/purposes          → {purposes:[{name, account, private,
 *                                    default}]}: the user's own, to release
 *                                    a job under another ({pin?, purpose?})
 *
 * Authentication happens in api.c (route flag API_DEVICE): the device
 * credential (device_auth), so c->device is the printer and c->tenant its
 * tenant; a deleted registration answers 410 "output device registration
 * deleted".  Every route but POST /device/sessions also needs the session
 * token in X-Nimbus-Session: a session of this printer, unexpired; each
 * use moves its expiry to now + --panel-session-idle.
 *
 * Secrets: the user's password or panel PIN, the job PIN and the session
 * token are never logged or audited; the request body is wiped by api.c.
 * Sign-in checks cost the same whether or not the user exists (argon2id
 * against a dummy hash), and failures are counted per (printer, user
 * name) by the store-backed sign-in throttle (throttle.h): after
 * --panel-login-failures within --login-window seconds the answer is 429
 * with Retry-After until the window ends; one user's failures never touch
 * another's count.  A password sign-in also counts against the account
 * (auth_check), so the panel is no way around the account's throttle.
 */
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api-private.h"
#include "auth.h"
#include "charge.h"
#include "crypto.h"
#include "device-settings.h"
#include "device.h"
#include "job-fee.h"
#include "job.h"
#include "log.h"
#include "money.h"
#include "payment-flow.h"
#include "release.h"
#include "remote-take.h"
#include "throttle.h"
#include "user-names.h"

#define PANEL_SESSION_PREFIX "nms_"
#define PANEL_SESSION_DEFAULT 120 /* seconds, when --panel-session-idle is unset */
#define PANEL_PIN_MAX 255         /* job PIN, as on the REST release */
#define PANEL_JOBS_MAX 200        /* held jobs listed at most */

/* ---- sign-in failures per (printer, user name): the store's throttle ---- */

static void panel_login_key(nimbus_id_t device_id, const char *user, unsigned char key[32]) {
  char dev[24];
  snprintf(dev, sizeof dev, "%lld", (long long)device_id);
  throttle_key(THROTTLE_PANEL, dev, user, key);
}

/* ---- secrets ---- */

/* An argon2id PIN hash nobody's PIN is checked against, so that an
 * unknown user, or one without a panel PIN, costs a real check. */
static char panel_dummy_pin_hash[128];
static pthread_once_t panel_dummy_once = PTHREAD_ONCE_INIT;

static void panel_dummy_init(void) {
  if (!crypto_pin_hash("not a panel pin", panel_dummy_pin_hash)) panel_dummy_pin_hash[0] = '\0';
}

/*
 * Is secret the password of user `name` in tenant t?  Goes through
 * auth_check() as HTTP Basic, so it shares the bounded, cached argon2id
 * verification, its equal-work answer for unknown users and the
 * account's throttle.  *user receives the user on AUTH_OK; AUTH_THROTTLED
 * sets *retry_after.
 */
static auth_result_t panel_password_ok(api_ctx_t *c, const char *name, const char *secret,
                                       nimbus_user_t *user, int *retry_after) {
  /* a name auth.c would read differently (':' or '@') names nobody */
  const char *who = api_name_valid(name) ? name : "-";
  size_t rawlen = strlen(who) + 1 + strlen(secret);
  char raw[NIMBUS_NAME_MAX + 1 + API_PASSWORD_MAX + 1];
  char header[sizeof "Basic " +
              sodium_base64_ENCODED_LEN(sizeof raw, sodium_base64_VARIANT_ORIGINAL)];
  nimbus_auth_t auth;
  auth_result_t res = AUTH_BAD;
  if (rawlen >= sizeof raw) goto done;
  size_t wlen = strlen(who);
  memcpy(raw, who, wlen);
  raw[wlen] = ':';
  memcpy(raw + wlen + 1, secret, rawlen - wlen - 1);
  raw[rawlen] = '\0';
  memcpy(header, "Basic ", 6);
  sodium_bin2base64(header + 6, sizeof header - 6, (const unsigned char *)raw, rawlen,
                    sodium_base64_VARIANT_ORIGINAL);
  /* No client address: the printer asks for its users (panel key only). */
  auth_check(c->srv->store, c->srv->auth_cache, header, c->tenant.name, NULL, &auth);
  res = auth.result;
  if (res == AUTH_OK && auth.tenant.id != c->tenant.id) res = AUTH_BAD;
  if (res == AUTH_OK) *user = auth.user;
  *retry_after = auth.retry_after;
  sodium_memzero(&auth, sizeof auth);
done:
  sodium_memzero(raw, sizeof raw);
  sodium_memzero(header, sizeof header);
  return res;
}

/* Is secret the panel PIN of user `name` in c->tenant?  Same work when the
 * user does not exist or has no PIN. */
static bool panel_pin_ok(api_ctx_t *c, const char *name, const char *secret, nimbus_user_t *user) {
  nimbus_user_t u;
  pthread_once(&panel_dummy_once, panel_dummy_init);
  bool found = api_name_valid(name) &&
               store_user_get_by_name(c->srv->store, c->tenant.id, name, &u) == STORE_OK &&
               u.panel_pin_hash[0];
  bool ok = crypto_pin_verify(found ? u.panel_pin_hash : panel_dummy_pin_hash, secret) && found;
  if (ok) *user = u;
  sodium_memzero(&u, sizeof u);
  return ok;
}

/* ---- records ---- */

static bool panel_login_is_pin(const nimbus_tenant_t *t) {
  return strcmp(t->panel_login, "pin") == 0;
}

void api_problem_with(api_ctx_t *c, int status, const char *title, const char *detail,
                      const char *key, json_t *value) {
  json_t *doc = json_pack("{s:s, s:s, s:i, s:s, s:s, s:o}", "type", "about:blank", "title", title,
                          "status", status, "detail", detail, "request_id", c->r->id, key, value);
  if (!doc) {
    api_problem(c->r, status, "%s", detail);
    return;
  }
  http_respond_json(c->r, status, doc);
}

/*
 * The fee of job as the panel shows it: {amount, currency, print_fee,
 * service_fee, text (e.g. "EUR 1.20"), payment_required}, amounts in
 * minor units.  fresh: priced now for this printer (job-fee.h; the
 * details screen and the release), else the stored quote (the list).
 */
static json_t *panel_fee_json_of(const nimbus_job_quote_t *q, bool required);

static json_t *panel_fee_json(api_ctx_t *c, const nimbus_job_t *job, bool fresh) {
  nimbus_job_quote_t q;
  memset(&q, 0, sizeof q);
  bool required = false;
  if (fresh) {
    payflow_result_t why;
    char msg[160];
    required =
        payments_required(c->srv, job, &c->device, &q, &why, msg, sizeof msg) && why == PAYFLOW_OK;
  } else if (store_job_quote_get(c->srv->store, c->tenant.id, job->id, &q) != STORE_OK) {
    memset(&q, 0, sizeof q);
  }
  return panel_fee_json_of(&q, required);
}

/* The panel's fee object for quote q (see panel_fee_json). */
static json_t *panel_fee_json_of(const nimbus_job_quote_t *qp, bool required) {
  nimbus_job_quote_t q = *qp;
  json_t *fee = json_pack("{s:I, s:I, s:I, s:s, s:b}", "amount", (json_int_t)q.total, "print_fee",
                          (json_int_t)q.print_fee, "service_fee", (json_int_t)q.service_fee,
                          "currency", q.currency, "payment_required", required);
  char text[64];
  if (fee && q.currency[0] && money_format_with_code(q.total, q.currency, text, sizeof text))
    json_object_set_new(fee, "text", json_string(text));
  if (fee && q.currency[0] && money_format_with_code(q.print_fee, q.currency, text, sizeof text))
    json_object_set_new(fee, "print_fee_text", json_string(text));
  if (fee && q.currency[0] && money_format_with_code(q.service_fee, q.currency, text, sizeof text))
    json_object_set_new(fee, "service_fee_text", json_string(text));
  return fee;
}

static json_t *panel_job_json_fee(api_ctx_t *c, const nimbus_job_t *job, bool fresh) {
  int64_t now = (int64_t)time(NULL);
  /* origin: local or a taken remote job (docs/FEDERATION.md §4), and
   * whether it came through this printer */
  json_t *origin = api_job_origin_json(c, job);
  if (origin)
    json_object_set_new(
        origin, "printer",
        json_string(job->origin_device_id == c->device.id ? "this-printer" : "elsewhere"));
  json_t *o = json_pack(
      "{s:I, s:o, s:o, s:i, s:i, s:i, s:o, s:s, s:b, s:o, s:o, s:o}", "id", (json_int_t)job->number,
      "name", api_json_text(job->name), "queue", api_json_text(job->queue_name), "pages",
      job->pages, "copies", job->copies, "impressions", job->impressions, "created_at",
      api_json_time(job->created_at), "state", job_state_name(job->state), "has_pin",
      job->pin_hash[0] != '\0', "locked_until",
      api_json_time(job->pin_locked_until > now ? job->pin_locked_until : 0), "fee",
      panel_fee_json(c, job, fresh), "origin", origin ? origin : json_null());
  nimbus_payment_t p;
  if (o && payments_get_for_job(c->srv, c->tenant.id, job->id, &p) == PAYFLOW_OK)
    json_object_set_new(o, "payment", payments_json(&p));
  if (o) {
    /* billing by purpose: the job's purpose (the panel may change it) */
    json_t *purpose = charge_purpose_json(c->srv->store, job);
    json_object_set_new(o, "purpose", purpose ? purpose : json_null());
  }
  return o;
}

static json_t *panel_job_json(api_ctx_t *c, const nimbus_job_t *job) {
  return panel_job_json_fee(c, job, false);
}

/* ---- sessions ---- */

static int64_t panel_session_seconds(const api_ctx_t *c) {
  return c->srv->cfg.panel_session_idle > 0 ? c->srv->cfg.panel_session_idle
                                            : PANEL_SESSION_DEFAULT;
}

/*
 * The X-Nimbus-Session of this request: a session of this printer at now.
 * Moves its expiry.  False has responded (401, 500).
 */
static bool panel_session_load(api_ctx_t *c, nimbus_panel_session_t *ps) {
  unsigned char hash[32];
  int64_t now = (int64_t)time(NULL);
  if (!c->r->session[0]) {
    api_problem(c->r, 401, "a panel session is required (X-Nimbus-Session)");
    return false;
  }
  crypto_token_hash(c->r->session, hash);
  store_status_t s = store_panel_session_get(c->srv->store, hash, now, ps);
  if (s == STORE_OK && (ps->device_id != c->device.id || ps->tenant_id != c->tenant.id))
    s = STORE_NOT_FOUND; /* another printer's session is no key here */
  if (s == STORE_NOT_FOUND) {
    api_problem(c->r, 401, "the panel session is unknown or expired; sign in again");
    return false;
  }
  if (s != STORE_OK) {
    api_respond_store(c, s, "panel session", NULL);
    return false;
  }
  ps->expires_at = now + panel_session_seconds(c);
  if (store_panel_session_touch(c->srv->store, ps->id, ps->expires_at) != STORE_OK)
    log_event(LOG_WARN, c->r->id, "panel session touch failed", (char *)NULL);
  snprintf(c->actor, sizeof c->actor, "%s@%s", ps->user_name, c->tenant.name);
  return true;
}

void api_device_session_create(api_ctx_t *c) {
  static const char *const fields[] = {"user", "secret", NULL};
  const char *name = NULL, *secret = NULL;
  nimbus_user_t user;
  char token[CRYPTO_TOKEN_STR_MAX];
  memset(&user, 0, sizeof user);
  token[0] = '\0';

  if (!api_body_only(c, fields) || !api_body_string(c, "user", true, NIMBUS_NAME_MAX - 1, &name) ||
      !api_body_string(c, "secret", true, API_PASSWORD_MAX, &secret))
    goto done;
  /* An alias (or the name in another case) signs in as its user, and
   * counts against that user's panel throttle. */
  char canonical[NIMBUS_NAME_MAX];
  if (user_resolve_name(c->srv->store, c->tenant.id, name, &user) == STORE_OK) {
    snprintf(canonical, sizeof canonical, "%s", user.name);
    name = canonical;
  }
  sodium_memzero(&user, sizeof user);
  bool pin = panel_login_is_pin(&c->tenant);
  unsigned char key[32];
  panel_login_key(c->device.id, name, key);
  int wait = throttle_retry_after(c->srv->store, &c->srv->throttle, THROTTLE_PANEL, key);
  auth_result_t res = AUTH_BAD;
  if (wait == 0 && *secret)
    res = pin ? (panel_pin_ok(c, name, secret, &user) ? AUTH_OK : AUTH_BAD)
              : panel_password_ok(c, name, secret, &user, &wait);
  if (wait > 0) {
    char secs[16];
    snprintf(secs, sizeof secs, "%d", wait);
    http_response_header(c->r, "Retry-After", secs);
    api_problem(c->r, 429, "too many failed sign-ins for this user; try again in %d seconds", wait);
    goto done;
  }
  bool ok = res == AUTH_OK;
  if (ok)
    throttle_succeeded(c->srv->store, key);
  else
    throttle_failed(c->srv->store, &c->srv->throttle, THROTTLE_PANEL, key);
  if (!ok) {
    bool shown = api_name_valid(name);
    api_audit(c, 0, "panel.login-failed", "user=%s printer=%s", shown ? name : "(invalid)",
              c->device.name);
    log_event(LOG_WARN, c->r->id, "panel sign-in failed", "tenant", c->tenant.name, "user",
              shown ? name : "(invalid)", "printer", c->device.name, (char *)NULL);
    api_problem(c->r, 401, "wrong user or %s", pin ? "PIN" : "password");
    goto done;
  }

  nimbus_panel_session_t ps = {
      .tenant_id = c->tenant.id, .device_id = c->device.id, .user_id = user.id};
  crypto_token_new_prefixed(PANEL_SESSION_PREFIX, token);
  crypto_token_hash(token, ps.hash);
  ps.expires_at = (int64_t)time(NULL) + panel_session_seconds(c);
  /* the session's user is the actor of its sign-in */
  snprintf(c->actor, sizeof c->actor, "%s@%s", user.name, c->tenant.name);
  api_audit_t au;
  store_status_t s = store_panel_session_insert_audited(
      c->srv->store, &ps,
      api_audit_of(c, &au, "panel.login", "user=%s printer=%s login=%s", user.name,
                   c->device.name, pin ? "pin" : "password"));
  if (s != STORE_OK) {
    api_respond_store(c, s, "user", NULL);
    goto done;
  }
  log_event(LOG_INFO, c->r->id, "panel sign-in", "tenant", c->tenant.name, "user", user.name,
            "printer", c->device.name, (char *)NULL);
  api_respond(
      c, 201,
      json_pack("{s:s, s:o, s:o, s:s}", "session", token, "user", api_json_text(user.name),
                "expires_at", api_json_time(ps.expires_at), "login", pin ? "pin" : "password"));
done:
  api_body_wipe(c, "secret");
  sodium_memzero(token, sizeof token);
  sodium_memzero(&user, sizeof user);
}

void api_device_session_delete(api_ctx_t *c) {
  nimbus_panel_session_t ps;
  if (!panel_session_load(c, &ps)) return;
  store_status_t s = store_panel_session_delete(c->srv->store, ps.hash, (int64_t)time(NULL));
  if (s != STORE_OK && s != STORE_NOT_FOUND) {
    api_respond_store(c, s, "panel session", NULL);
    return;
  }
  log_event(LOG_INFO, c->r->id, "panel sign-out", "tenant", c->tenant.name, "user", ps.user_name,
            "printer", c->device.name, (char *)NULL);
  api_respond_no_content(c);
}

/* ---- jobs ---- */

typedef struct {
  nimbus_job_t *jobs;
  int n, max;
} panel_jobs_t;

static bool panel_jobs_cb(const nimbus_job_t *job, void *ctx) {
  panel_jobs_t *l = ctx;
  if (l->n >= l->max) return false;
  l->jobs[l->n++] = *job;
  return true;
}

/* "follow-me" when any queue this printer serves follows its users. */
static const char *panel_scope_name(api_ctx_t *c) {
  for (int i = 0; i < c->device.nqueues; i++) {
    nimbus_queue_t q;
    if (store_queue_get_by_name(c->srv->store, c->tenant.id, c->device.queue_names[i], &q) ==
            STORE_OK &&
        strcmp(q.release_scope, "follow-me") == 0)
      return "follow-me";
  }
  return "this-printer";
}

void api_device_jobs_list(api_ctx_t *c) {
  nimbus_panel_session_t ps;
  panel_jobs_t l = {NULL, 0, PANEL_JOBS_MAX};
  json_t *arr = NULL;
  if (!panel_session_load(c, &ps)) return;
  if (!(l.jobs = calloc((size_t)l.max, sizeof *l.jobs)) || !(arr = json_array())) {
    api_problem(c->r, 500, "out of memory");
    goto done;
  }
  /* Candidates: the user's held jobs in the tenant; release_in_scope()
   * keeps those the panel may show (this printer's, follow-me, direct). */
  store_job_filter_t f = {
      .tenant_id = c->tenant.id, .owner_id = ps.user_id, .which = STORE_WHICH_HELD, .limit = l.max};
  store_status_t s = store_job_list(c->srv->store, &f, panel_jobs_cb, &l, NULL);
  if (s != STORE_OK) {
    api_respond_store(c, s, "job", NULL);
    goto done;
  }
  for (int i = 0; i < l.n; i++) {
    if (!release_in_scope(c->srv, &c->device, ps.user_id, &l.jobs[i])) continue;
    if (json_array_append_new(arr, panel_job_json(c, &l.jobs[i])) != 0) {
      api_problem(c->r, 500, "out of memory");
      goto done;
    }
  }
  /* and the remote jobs of the user's linked accounts, from what the sync
   * thread stored (no remote is asked here: a remote that is down leaves
   * this list as it is), newest submission first (docs/FEDERATION.md §4) */
  int nremote = 0;
  json_t *links = api_account_links_status(c, ps.user_id);
  if (!links || !api_remote_jobs_add(c, ps.user_id, arr, &nremote) || !api_jobs_sort_newest(arr)) {
    json_decref(links);
    api_problem(c->r, 500, "the job list could not be made");
    goto done;
  }
  api_respond(
      c, 200,
      json_pack("{s:O, s:s, s:o}", "jobs", arr, "scope", panel_scope_name(c), "links", links));
done:
  json_decref(arr);
  if (l.jobs) {
    for (int i = 0; i < l.n; i++) sodium_memzero(l.jobs[i].pin_hash, sizeof l.jobs[i].pin_hash);
    free(l.jobs);
  }
}

/* Is job the user's and being paid for (or paid) at this printer? */
static bool panel_job_paying_here(api_ctx_t *c, nimbus_id_t user_id, const nimbus_job_t *job) {
  nimbus_payment_t p;
  return job->owner_id == user_id &&
         payments_get_for_job(c->srv, c->tenant.id, job->id, &p) == PAYFLOW_OK &&
         p.device_id == c->device.id;
}

/*
 * The job number {id} as the session user may see it here: in the printer's
 * release scope, already released to this printer, or being paid for here.
 * Anything else, another user's job included, is 404.  False has responded.
 */
static bool panel_job_load(api_ctx_t *c, const nimbus_panel_session_t *ps, nimbus_job_t *job) {
  store_status_t s = store_job_get_by_number(c->srv->store, c->tenant.id, c->id, job);
  if (s == STORE_OK && !release_in_scope(c->srv, &c->device, ps->user_id, job) &&
      !(job->owner_id == ps->user_id && job->target_device_id == c->device.id) &&
      !panel_job_paying_here(c, ps->user_id, job))
    s = STORE_NOT_FOUND;
  if (s != STORE_OK) {
    api_respond_store(c, s, "job", NULL);
    return false;
  }
  return true;
}

/* {"copies","sides","print-color-mode","media"} of s ("" members null). */
static json_t *panel_settings_json(const device_settings_t *s) {
  return json_pack("{s:i, s:s?, s:s?, s:s?}", "copies", s->copies, "sides",
                   s->sides[0] ? s->sides : NULL, "print-color-mode", s->color[0] ? s->color : NULL,
                   "media", s->media[0] ? s->media : NULL);
}

/* The values of list[0..n) as a JSON array. */
static json_t *panel_choice_list(char list[][NIMBUS_NAME_MAX], int n) {
  json_t *a = json_array();
  for (int i = 0; a && i < n; i++) json_array_append_new(a, json_string(list[i]));
  return a;
}

/* {"copies_max","sides","print_color_mode","media"}: this printer's choices. */
static json_t *panel_choices_json(const device_choices_t *ch) {
  device_choices_t *m = (device_choices_t *)ch; /* read only */
  return json_pack("{s:i, s:o, s:o, s:o}", "copies_max", ch->copies_max, "sides",
                   panel_choice_list(m->sides, m->nsides), "print_color_mode",
                   panel_choice_list(m->color, m->ncolor), "media",
                   panel_choice_list(m->media, m->nmedia));
}

void api_device_job_get(api_ctx_t *c) {
  nimbus_panel_session_t ps;
  nimbus_job_t job;
  if (!panel_session_load(c, &ps) || !panel_job_load(c, &ps, &job)) return;
  /* the details screen: the fee priced for this printer, the job's
   * settings and what this printer offers instead (FEDERATION.md §5) */
  json_t *doc = panel_job_json_fee(c, &job, job.state == NIMBUS_JOB_HELD);
  device_choices_t *ch = malloc(sizeof *ch);
  if (doc && ch && device_choices_get(c->srv->store, &c->device, ch) == STORE_OK) {
    device_settings_t now;
    device_settings_of(&job, &now);
    json_object_set_new(doc, "settings", panel_settings_json(&now));
    json_object_set_new(doc, "choices", panel_choices_json(ch));
  }
  free(ch);
  sodium_memzero(job.pin_hash, sizeof job.pin_hash);
  api_respond(c, 200, doc);
}

bool api_body_settings(api_ctx_t *c, device_settings_t *out) {
  memset(out, 0, sizeof *out);
  json_t *s = c->body ? json_object_get(c->body, "settings") : NULL;
  if (!s || json_is_null(s)) return true;
  if (!json_is_object(s)) {
    api_problem_with(c, 400, "Bad Request", "'settings' must be an object", "member",
                     json_string("settings"));
    return false;
  }
  const char *key;
  json_t *v;
  json_object_foreach(s, key, v) {
    char *dst = !strcmp(key, "sides")              ? out->sides
                : !strcmp(key, "print-color-mode") ? out->color
                : !strcmp(key, "media")            ? out->media
                                                   : NULL;
    bool ok;
    if (!strcmp(key, "copies")) {
      ok = json_is_integer(v) && json_integer_value(v) >= 1 &&
           json_integer_value(v) <= DEVICE_COPIES_MAX;
      if (ok) out->copies = (int)json_integer_value(v);
    } else if (dst) {
      const char *str = json_string_value(v);
      ok = str && str[0] && strlen(str) < NIMBUS_NAME_MAX;
      if (ok) snprintf(dst, NIMBUS_NAME_MAX, "%s", str);
    } else {
      ok = false;
    }
    if (!ok) {
      char detail[160];
      snprintf(detail, sizeof detail, "settings member '%.64s' is not valid", key);
      api_problem_with(c, 400, "Bad Request", detail, "member", json_string(key));
      return false;
    }
  }
  return true;
}

/* 400 naming the setting this printer does not offer. */
static void panel_settings_refused(api_ctx_t *c, const char *member) {
  char detail[160];
  snprintf(detail, sizeof detail, "this printer does not support that value of '%s'", member);
  api_problem_with(c, 400, "Bad Request", detail, "member", json_string(member));
}

void api_device_job_quote(api_ctx_t *c) {
  static const char *const fields[] = {"settings", NULL};
  nimbus_panel_session_t ps;
  device_settings_t want;
  if (!panel_session_load(c, &ps) || !api_body_only(c, fields) || !api_body_settings(c, &want))
    return;
  nimbus_job_t *job = malloc(sizeof *job);
  device_choices_t *ch = malloc(sizeof *ch);
  if (!job || !ch) {
    api_problem(c->r, 500, "out of memory");
    goto done;
  }
  if (!panel_job_load(c, &ps, job)) goto done;
  if (device_choices_get(c->srv->store, &c->device, ch) != STORE_OK) {
    api_problem(c->r, 500, "the printer's choices could not be read");
    goto done;
  }
  const char *bad = device_settings_check(ch, &want);
  if (bad) {
    panel_settings_refused(c, bad);
    goto done;
  }
  char detail[DEVICE_SETTINGS_DETAIL];
  job_settings_change_t change;
  bool too_long = false;
  device_settings_apply(job, &want, c->actor, detail, &change, &too_long);
  if (too_long) {
    api_problem(c->r, 400, "the job's settings do not fit");
    goto done;
  }
  nimbus_job_quote_t q;
  nimbus_pricing_t pricing;
  char err[160];
  job_fee_result_t fr =
      job_fee_quote(c->srv->store, job, &c->device, &q, &pricing, err, sizeof err);
  if (fr == JOB_FEE_ERROR) {
    api_problem(c->r, 500, "the fee could not be computed");
    goto done;
  }
  if (fr == JOB_FEE_UNPRICEABLE) {
    api_problem(c->r, 409, "the job cannot be priced so: %s", err);
    goto done;
  }
  if (fr == JOB_FEE_FREE) memset(&q, 0, sizeof q);
  device_settings_t now;
  device_settings_of(job, &now);
  json_t *doc = json_pack(
      "{s:o, s:o, s:i}", "settings", panel_settings_json(&now), "fee",
      panel_fee_json_of(&q, fr == JOB_FEE_PRICED && !strcmp(pricing.payment, "at-printer")),
      "impressions", job->impressions);
  api_respond(c, 200, doc);
done:
  if (job) sodium_memzero(job->pin_hash, sizeof job->pin_hash);
  free(job);
  free(ch);
}

/* GET /device/jobs/{id}/payment: the job's latest payment (the panel's
 * payment screen polls it; the store only, the provider is asked by the
 * callbacks and the reconciler). */
void api_device_job_payment_get(api_ctx_t *c) {
  nimbus_panel_session_t ps;
  nimbus_job_t job;
  if (!panel_session_load(c, &ps) || !panel_job_load(c, &ps, &job)) return;
  sodium_memzero(job.pin_hash, sizeof job.pin_hash);
  api_payment_respond_latest(c, job.id);
}

/* DELETE /device/jobs/{id}/payment: the panel's Cancel on the payment
 * screen.  200 with the payment: canceled (the job is held again), or
 * paid when the user paid meanwhile (it prints). */
void api_device_job_payment_cancel(api_ctx_t *c) {
  nimbus_panel_session_t ps;
  nimbus_job_t job;
  if (!panel_session_load(c, &ps) || !panel_job_load(c, &ps, &job)) return;
  sodium_memzero(job.pin_hash, sizeof job.pin_hash);
  api_payment_respond_cancel(c, job.id);
}

/* The answer to a release (or PIN check) at the panel: the local release's
 * and a remote job's release answer alike. */
static void panel_release_respond(api_ctx_t *c, release_result_t rs, release_outcome_t *out,
                                  bool check_only) {
  char when[32];
  switch (rs) {
    case RELEASE_OK:
      api_respond(c, 200, panel_job_json(c, &out->job));
      break;
    case RELEASE_PAYMENT_STARTED: {
      /* pay first: 202 with the job and the payment (its URL for the QR code) */
      json_t *doc = panel_job_json(c, &out->job);
      if (doc) json_object_set_new(doc, "payment", payments_json(&out->payment));
      api_respond(c, 202, doc);
      break;
    }
    case RELEASE_PAYMENT_REFUSED:
      api_problem(c->r, 409, "the job must be paid before it prints: %s", out->message);
      break;
    case RELEASE_PURPOSE_REFUSED:
      api_problem_purpose(c, out->purpose_why, out->message);
      break;
    case RELEASE_SETTINGS_REFUSED:
      if (out->bad_setting)
        panel_settings_refused(c, out->bad_setting);
      else
        api_problem(c->r, 409, "%s", out->message);
      break;
    case RELEASE_NOT_FOUND:
      api_problem(c->r, 404, "no such job");
      break;
    case RELEASE_NOT_HELD:
      api_problem(c->r, 409, "only held jobs can be released");
      break;
    case RELEASE_PIN_MISSING:
    case RELEASE_PIN_WRONG:
      api_problem_with(c, 403, "Forbidden",
                       rs == RELEASE_PIN_MISSING ? "this job needs its PIN" : "wrong PIN",
                       "attempts_left", json_integer(out->attempts_left));
      break;
    case RELEASE_PIN_LOCKED:
      api_time_format(out->locked_until, when);
      api_problem_with(c, 423, "Locked", "too many wrong PINs: the job is locked", "locked_until",
                       json_string(when));
      break;
    case RELEASE_ERROR:
    default:
      api_problem(c->r, 500,
                  check_only ? "the PIN could not be checked" : "the job could not be released");
      break;
  }
}

/*
 * The release and the PIN check of a job at the panel: one handler, the
 * same answers.  check_only (POST .../pin): the PIN is required and only
 * the release pipeline's scope and PIN steps run (the attempt counts
 * toward the lockout exactly as a release); else (POST .../release) the
 * PIN is optional and the job is released.  200 panel-job; 403
 * {attempts_left}; 423 {locked_until}; 404; 409 not held.
 */
static void device_job_release_or_check(api_ctx_t *c, bool check_only) {
  static const char *const fields[] = {"pin", NULL};
  static const char *const release_fields[] = {"pin", "purpose", "settings", NULL};
  nimbus_panel_session_t ps;
  release_outcome_t out = {0};
  nimbus_job_t job = {0};
  const char *pin = NULL, *purpose = NULL;

  if (!panel_session_load(c, &ps)) goto done;
  if ((check_only || c->body) && !api_body_only(c, check_only ? fields : release_fields)) goto done;
  if (!api_body_string(c, "pin", check_only, PANEL_PIN_MAX, &pin)) goto done;
  if (!check_only && !api_body_string(c, "purpose", false, NIMBUS_NAME_MAX - 1, &purpose))
    goto done;
  device_settings_t settings;
  if (!check_only && !api_body_settings(c, &settings)) goto done;
  /* {id} is the job's number in this tenant; the release works on its id */
  store_status_t found = store_job_get_by_number(c->srv->store, c->tenant.id, c->id, &job);
  if (found != STORE_OK) {
    api_respond_store(c, found, "job", NULL);
    goto done;
  }
  release_request_t req = {.pin = pin,
                           .actor = c->actor,
                           .request_id = c->r->id,
                           .purpose = purpose,
                           .settings = check_only ? NULL : &settings};
  release_result_t rs =
      check_only ? release_check_pin_at_device(c->srv, &c->device, ps.user_id, job.id, &req, &out)
                 : release_at_device(c->srv, &c->device, ps.user_id, job.id, &req, &out);
  panel_release_respond(c, rs, &out, check_only);
done:
  api_body_wipe(c, "pin");
  sodium_memzero(out.job.pin_hash, sizeof out.job.pin_hash);
  sodium_memzero(job.pin_hash, sizeof job.pin_hash);
}

void api_device_job_release(api_ctx_t *c) {
  device_job_release_or_check(c, false);
}

/* POST /device/jobs/{id}/pin {pin}: is this the job's PIN?  The panel asks
 * when the PIN is typed, so a wrong one is refused on the PIN screen;
 * release still needs the PIN. */
void api_device_job_pin(api_ctx_t *c) {
  device_job_release_or_check(c, true);
}

/* The answer to a take that did not succeed (docs/FEDERATION.md §4). */
static void panel_take_refused(api_ctx_t *c, remote_take_result_t rt, const char *msg) {
  switch (rt) {
    case RTAKE_NOT_FOUND:
      api_problem(c->r, 404, "no such remote job");
      break;
    case RTAKE_RELINK:
      http_respond_problem_typed(c->r, 409, "urn:nimbus:problem:relink-needed", "Conflict", msg);
      break;
    case RTAKE_TAKEN:
      http_respond_problem_typed(c->r, 409, "urn:nimbus:problem:remote-job-taken", "Conflict",
                                 "another printer took this job");
      break;
    case RTAKE_GONE:
      http_respond_problem_typed(c->r, 410, "urn:nimbus:problem:remote-job-gone", "Gone", msg);
      break;
    case RTAKE_UNREACHABLE:
      api_problem(c->r, 502, "%s", msg);
      break;
    case RTAKE_DOCUMENT:
      api_problem(c->r, 422, "%s", msg);
      break;
    case RTAKE_TOO_MANY:
      api_problem(c->r, 429, "%s", msg);
      break;
    case RTAKE_NO_SPACE:
      api_respond_disk_full(c);
      break;
    default:
      api_problem(c->r, 500, "the remote job could not be taken");
      break;
  }
}

/*
 * POST /device/remote-jobs/{link}/{remote job id}/release {settings?,
 * purpose?}: take the remote job (federation/remote-take.c) and release
 * the local job made of it to this printer exactly as a local release
 * (release_at_device: settings, purpose, fee, payment).  The settings are
 * checked against this printer's choices before the remote is asked.  A
 * release that fails after the take cancels the local job and tells the
 * remote it was aborted.
 */
void api_device_remote_job_release(api_ctx_t *c) {
  static const char *const fields[] = {"purpose", "settings", NULL};
  nimbus_panel_session_t ps;
  const char *purpose = NULL;
  device_settings_t settings;
  if (!panel_session_load(c, &ps)) return;
  if (c->body && !api_body_only(c, fields)) return;
  if (!api_body_string(c, "purpose", false, NIMBUS_NAME_MAX - 1, &purpose)) return;
  if (!api_body_settings(c, &settings)) return;
  char *end = NULL;
  long rid =
      c->param2 && c->param2[0] >= '1' && c->param2[0] <= '9' ? strtol(c->param2, &end, 10) : 0;
  if (rid <= 0 || rid > 0x7fffffff || !end || *end) {
    api_problem(c->r, 404, "no such remote job");
    return;
  }
  device_choices_t choices;
  if (device_choices_get(c->srv->store, &c->device, &choices) != STORE_OK) {
    api_problem(c->r, 500, "storage error");
    return;
  }
  const char *bad = device_settings_check(&choices, &settings);
  if (bad) {
    panel_settings_refused(c, bad);
    return;
  }
  remote_take_req_t req = {.tenant_id = c->tenant.id,
                           .user_id = ps.user_id,
                           .user_name = ps.user_name,
                           .device_id = c->device.id,
                           .link = c->param,
                           .remote_job_id = (int)rid,
                           .request_id = c->r->id};
  nimbus_job_t job;
  char msg[256];
  remote_take_result_t rt = remote_take(c->srv, &req, &job, msg, sizeof msg);
  if (rt != RTAKE_OK) {
    panel_take_refused(c, rt, msg);
    return;
  }
  release_outcome_t out = {0};
  release_request_t rreq = {
      .actor = c->actor, .request_id = c->r->id, .purpose = purpose, .settings = &settings};
  release_result_t rs = release_at_device(c->srv, &c->device, ps.user_id, job.id, &rreq, &out);
  if (rs != RELEASE_OK && rs != RELEASE_PAYMENT_STARTED)
    remote_take_undo(c->srv, c->tenant.id, job.id, c->actor); /* nothing half-made stays */
  panel_release_respond(c, rs, &out, false);
  sodium_memzero(out.job.pin_hash, sizeof out.job.pin_hash);
}

void api_device_job_cancel(api_ctx_t *c) {
  nimbus_panel_session_t ps;
  nimbus_job_t job, after;
  if (!panel_session_load(c, &ps) || !panel_job_load(c, &ps, &job)) return;
  if (!release_in_scope(c->srv, &c->device, ps.user_id, &job)) {
    api_problem(c->r, 409, "the job is %s", job_state_name(job.state));
    return;
  }
  switch (job_apply(c->srv->store, c->tenant.id, job.id, JOB_EVENT_CANCEL, c->actor, &after)) {
    case JOB_OK:
      log_event(LOG_INFO, c->r->id, "job canceled at a printer", "tenant", c->tenant.name, "job",
                LOG_INT(job.id), "printer", c->device.name, "by", c->actor, (char *)NULL);
      api_respond(c, 200, panel_job_json(c, &after));
      break;
    case JOB_NOT_FOUND:
      api_problem(c->r, 404, "no such job");
      break;
    case JOB_NOT_POSSIBLE:
      api_problem(c->r, 409, "the job can no longer be canceled");
      break;
    case JOB_ERROR:
    default:
      api_problem(c->r, 500, "storage error");
      break;
  }
}

/* ---- purposes (billing by purpose, docs/BILLING.md) ---- */

static bool panel_purpose_add(const nimbus_purpose_t *p, void *ctx) {
  json_t *arr = ctx;
  json_t *o = json_pack("{s:s, s:s*, s:b, s:b}", "name", p->name, "account",
                        p->account_id ? p->account_code : NULL, "private", p->account_id == 0,
                        "default", p->is_default);
  return o && json_array_append_new(arr, o) == 0;
}

/* GET /device/purposes: the signed-in user's own purposes, to choose
 * one at the panel before a release. */
void api_device_purposes(api_ctx_t *c) {
  nimbus_panel_session_t ps;
  if (!panel_session_load(c, &ps)) return;
  json_t *arr = json_array();
  if (!arr || store_purpose_list(c->srv->store, c->tenant.id, ps.user_id, panel_purpose_add, arr) !=
                  STORE_OK) {
    json_decref(arr);
    api_problem(c->r, 500, "storage error");
    return;
  }
  api_respond(c, 200, json_pack("{s:o}", "purposes", arr));
}

bool api_panel_session(api_ctx_t *c, nimbus_panel_session_t *ps) {
  return panel_session_load(c, ps);
}
