/*
 * services.c: the connector's side of the smart services
 * (docs/PROVISIONING.md §10; services.h).  One thread, apart from the
 * channel (it uses its own connection to the engine and the device REST
 * API, device-api.c), every --services-poll seconds:
 *   - GET /device/services: which services are on, with their settings;
 *   - consumables: the supplies (the engine's marker-names/-types/-levels,
 *     else printer-supply with printer-supply-description; or the
 *     --supplies-source file) as POST /device/supplies;
 *   - parts life: printer-impressions-completed (or the source file's
 *     "impressions", else the jobs this connector printed) as POST
 *     /device/counters;
 *   - backup: when a scheduled time (or --backup-period-override
 *     seconds) has passed since the last backup, a snapshot of the
 *     connector's options (no secrets: a fixed list) and the engine's
 *     Get-Printer-Attributes (volatile state left out), POST
 *     /device/backups: full, or in differential mode the members that
 *     differ from the last full snapshot, which is kept with its id in
 *     <state>.services.json (write-then-rename); a full one first and
 *     after every BACKUP_DIFFS_PER_FULL differentials.
 */
#include "services.h"

#include <cups/cups.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "connector.h"
#include "device-api.h"
#include "fsutil.h"
#include "log.h"
#include "utf8.h"

#define BACKUP_DIFFS_PER_FULL 6
#define SUPPLIES_MAX 64

struct services {
  connector_t *c;
  pthread_t thread;
  char path[4200]; /* <state>.services.json */
  /* the thread's own, loaded from path */
  time_t last_backup_at;
  long long base_id;
  json_t *base; /* the last full snapshot (NULL: none) */
  int diffs;    /* differentials since it */
};

/* ---- the engine ---- */

/* Attributes whose values change by themselves: no backup of them. */
static bool volatile_attr(const char *name) {
  static const char *const names[] = {"printer-up-time",
                                      "printer-current-time",
                                      "printer-state",
                                      "printer-state-reasons",
                                      "printer-state-message",
                                      "printer-state-change-time",
                                      "printer-state-change-date-time",
                                      "printer-config-change-time",
                                      "printer-config-change-date-time",
                                      "queued-job-count",
                                      "printer-supply",
                                      "printer-supply-description",
                                      "marker-levels",
                                      "marker-high-levels",
                                      "marker-low-levels",
                                      "printer-impressions-completed",
                                      "printer-alert",
                                      "printer-alert-description",
                                      "printer-is-accepting-jobs",
                                      NULL};
  for (int i = 0; names[i]; i++)
    if (!strcmp(name, names[i])) return true;
  return false;
}

/* Value i of a as JSON: integers and booleans as such, the rest as text. */
static json_t *value_json(ipp_attribute_t *a, int i) {
  ipp_tag_t tag = ippGetValueTag(a);
  switch (tag) {
    case IPP_TAG_INTEGER:
    case IPP_TAG_ENUM:
      return json_integer(ippGetInteger(a, i));
    case IPP_TAG_BOOLEAN:
      return json_boolean(ippGetBoolean(a, i));
    default:
      break;
  }
  if (!utf8_ipp_string_tag(tag)) return NULL;
  const char *s = ippGetString(a, i, NULL);
  return s ? json_string(s) : NULL;
}

/* An attribute as JSON: one value a scalar, several an array; other
 * types (resolution, range, collection, …) as ippAttributeString's text. */
static json_t *attr_json(ipp_attribute_t *a) {
  int n = ippGetCount(a);
  json_t *v = value_json(a, 0);
  if (v && n > 1) { /* every value, when the type has a JSON form */
    json_t *arr = json_array();
    for (int i = 0; arr && i < n; i++) json_array_append_new(arr, i ? value_json(a, i) : v);
    if (!arr) json_decref(v);
    v = arr;
  }
  if (!v) {
    char buf[2048];
    ippAttributeString(a, buf, sizeof buf);
    v = json_string(buf); /* NULL when not UTF-8: left out */
  }
  return v;
}

/* Get-Printer-Attributes of the engine (an ipp:// or ipps:// output);
 * NULL when the output is no IPP printer or it does not answer. */
static ipp_t *engine_attributes(const char *output) {
  char scheme[32], user[256], host[256], resource[1024];
  int port;
  if (strncmp(output, "ipp://", 6) && strncmp(output, "ipps://", 7)) return NULL;
  if (httpSeparateURI(HTTP_URI_CODING_ALL, output, scheme, sizeof scheme, user, sizeof user, host,
                      sizeof host, &port, resource, sizeof resource) < HTTP_URI_STATUS_OK)
    return NULL;
  http_t *http =
      httpConnect2(host, port, NULL, AF_UNSPEC,
                   strcmp(scheme, "ipps") ? HTTP_ENCRYPTION_IF_REQUESTED : HTTP_ENCRYPTION_ALWAYS,
                   1, 10000, NULL);
  if (!http) return NULL;
  ipp_t *req = ippNewRequest(IPP_OP_GET_PRINTER_ATTRIBUTES);
  ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_URI, "printer-uri", NULL, output);
  ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_KEYWORD, "requested-attributes", NULL, "all");
  ipp_t *resp = cupsDoRequest(http, req, resource);
  httpClose(http);
  if (resp && ippGetStatusCode(resp) > IPP_STATUS_OK_CONFLICTING) {
    ippDelete(resp);
    resp = NULL;
  }
  return resp;
}

/* The printer group of attrs as {"name": value}, volatile ones left out. */
static json_t *engine_json(ipp_t *attrs) {
  json_t *o = json_object();
  for (ipp_attribute_t *a = ippFirstAttribute(attrs); o && a; a = ippNextAttribute(attrs)) {
    const char *name = ippGetName(a);
    if (!name || ippGetGroupTag(a) != IPP_TAG_PRINTER || volatile_attr(name)) continue;
    json_t *v = attr_json(a);
    if (v) json_object_set_new(o, name, v);
  }
  return o;
}

/* One "key=value;" member of a printer-supply value into out. */
static bool supply_member(const char *v, const char *key, char *out, size_t cap) {
  size_t kl = strlen(key);
  for (const char *p = v; p && *p; p = strchr(p, ';'), p = p ? p + 1 : NULL) {
    if (!strncmp(p, key, kl) && p[kl] == '=') {
      size_t n = strcspn(p + kl + 1, ";");
      if (n >= cap) n = cap - 1;
      memcpy(out, p + kl + 1, n);
      out[n] = '\0';
      return true;
    }
  }
  return false;
}

/* The engine's supplies: marker-names/-types/-levels, else printer-supply
 * (with printer-supply-description as names). */
static json_t *engine_supplies(ipp_t *attrs) {
  json_t *arr = json_array();
  ipp_attribute_t *names = ippFindAttribute(attrs, "marker-names", IPP_TAG_ZERO),
                  *types = ippFindAttribute(attrs, "marker-types", IPP_TAG_ZERO),
                  *levels = ippFindAttribute(attrs, "marker-levels", IPP_TAG_INTEGER);
  if (arr && names && levels) {
    int n = ippGetCount(levels);
    for (int i = 0; i < n && i < ippGetCount(names) && i < SUPPLIES_MAX; i++) {
      const char *type = types && i < ippGetCount(types) ? ippGetString(types, i, NULL) : "";
      json_array_append_new(
          arr, json_pack("{s:s, s:s, s:i}", "name", ippGetString(names, i, NULL), "type",
                         type ? type : "", "level", ippGetInteger(levels, i)));
    }
    return arr;
  }
  ipp_attribute_t *sup = ippFindAttribute(attrs, "printer-supply", IPP_TAG_ZERO),
                  *desc = ippFindAttribute(attrs, "printer-supply-description", IPP_TAG_ZERO);
  for (int i = 0; arr && sup && i < ippGetCount(sup) && i < SUPPLIES_MAX; i++) {
    char v[1024] = "", type[64] = "", level[16] = "", max[16] = "100", name[128];
    int len = 0;
    const void *data = ippGetOctetString(sup, i, &len);
    if (!data || len <= 0) continue;
    snprintf(v, sizeof v, "%.*s", len, (const char *)data);
    if (!supply_member(v, "level", level, sizeof level)) continue;
    supply_member(v, "type", type, sizeof type);
    supply_member(v, "maxcapacity", max, sizeof max);
    const char *d = desc && i < ippGetCount(desc) ? ippGetString(desc, i, NULL) : NULL;
    if (d)
      snprintf(name, sizeof name, "%s", d);
    else
      snprintf(name, sizeof name, "supply-%d", i + 1);
    long lv = strtol(level, NULL, 10), mx = strtol(max, NULL, 10);
    if (lv >= 0 && mx > 0 && mx != 100) lv = lv * 100 / mx;
    if (lv > 100) lv = 100;
    json_array_append_new(
        arr, json_pack("{s:s, s:s, s:i}", "name", name, "type", type, "level", (int)lv));
  }
  return arr;
}

/* ---- the services state file ---- */

static void svc_state_load(services_t *s) {
  json_t *doc = json_load_file(s->path, 0, NULL);
  if (!doc) return;
  s->last_backup_at = (time_t)json_integer_value(json_object_get(doc, "last_backup_at"));
  s->base_id = json_integer_value(json_object_get(doc, "base_id"));
  s->diffs = (int)json_integer_value(json_object_get(doc, "diffs"));
  json_t *base = json_object_get(doc, "base");
  s->base = json_is_object(base) && s->base_id > 0 ? json_incref(base) : NULL;
  json_decref(doc);
}

static void svc_state_save(services_t *s) {
  json_t *doc = json_pack("{s:I, s:I, s:i, s:O?}", "last_backup_at", (json_int_t)s->last_backup_at,
                          "base_id", (json_int_t)s->base_id, "diffs", s->diffs, "base", s->base);
  char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
  json_decref(doc);
  if (!text) return;
  char tmp[4300];
  snprintf(tmp, sizeof tmp, "%s.tmp", s->path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  bool ok = fd >= 0 && fs_write_all(fd, text, strlen(text)) && fsync(fd) == 0;
  if (fd >= 0) close(fd);
  ok = ok && rename(tmp, s->path) == 0;
  if (ok)
    fs_sync_parent(s->path);
  else {
    unlink(tmp);
    log_event(LOG_WARN, NULL, "cannot write the services state file", "file", s->path, "error",
              strerror(errno), (char *)NULL);
  }
  free(text);
}

/* ---- backups ---- */

time_t services_backup_slot(const json_t *cfg, time_t now) {
  static const char *const days[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
  const char *period = json_string_value(json_object_get(cfg, "period"));
  const char *at = json_string_value(json_object_get(cfg, "time"));
  unsigned hh, mm;
  if (!period || !at || sscanf(at, "%2u:%2u", &hh, &mm) != 2 || hh > 23 || mm > 59) return 0;
  bool weekly = !strcmp(period, "weekly");
  if (!weekly && strcmp(period, "daily")) return 0;
  const json_t *wd = json_object_get(cfg, "weekdays");
  for (int back = 0; back <= 7; back++) {
    time_t day = now - (time_t)back * 86400;
    struct tm tm;
    gmtime_r(&day, &tm);
    time_t slot = day - (tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec) + hh * 3600 + mm * 60;
    if (slot > now) continue;
    bool allowed = json_array_size(wd) == 0 ? (!weekly || tm.tm_wday == 1) : false;
    size_t i;
    const json_t *d;
    json_array_foreach(wd, i, d) {
      if (json_is_string(d) && !strcmp(json_string_value(d), days[tm.tm_wday])) allowed = true;
    }
    if (allowed) return slot;
  }
  return 0;
}

json_t *services_backup_diff(const json_t *base, const json_t *snapshot) {
  static const char *const sections[] = {"connector", "engine", NULL};
  json_t *diff = json_object();
  for (int i = 0; diff && sections[i]; i++) {
    json_t *b = json_object_get(base, sections[i]), *n = json_object_get(snapshot, sections[i]);
    json_t *d = json_object();
    const char *key;
    json_t *v;
    json_object_foreach(n, key, v) {
      json_t *old = json_object_get(b, key);
      if (!old || !json_equal(old, v)) json_object_set(d, key, v);
    }
    json_object_foreach(b, key, v) {
      if (!json_object_get(n, key)) json_object_set_new(d, key, json_null());
    }
    json_object_set_new(diff, sections[i], d);
  }
  return diff;
}

/* The connector's options worth restoring (no paths, no secrets). */
static json_t *connector_json(const connector_t *c) {
  static const char *const keep[] = {"transport",       "poll-interval",   "on-deregister",
                                     "grace-period",    "backoff-min",     "backoff-max",
                                     "request-timeout", "update-interval", "panel-session-idle",
                                     "log-level",       "services-poll",   NULL};
  json_t *o = json_object();
  for (const config_option_t *t = connector_option_table; o && t->name; t++) {
    bool wanted = false;
    for (int i = 0; keep[i]; i++) wanted |= !strcmp(t->name, keep[i]);
    if (!wanted) continue;
    const char *field = (const char *)&c->opt + t->offset;
    if (t->type == CONFIG_INT)
      json_object_set_new(o, t->name, json_integer(*(const int *)field));
    else if (t->type == CONFIG_STRING)
      json_object_set_new(o, t->name, json_string(field));
  }
  return o;
}

/* Take and upload one backup in cfg's mode; true when nimbusd kept it. */
static bool backup_take(services_t *s, const json_t *cfg, ipp_t *attrs) {
  json_t *snap = json_pack("{s:o, s:o}", "connector", connector_json(s->c), "engine",
                           attrs ? engine_json(attrs) : json_object());
  if (!snap) return false;
  const char *mode = json_string_value(json_object_get(cfg, "mode"));
  bool differential = mode && !strcmp(mode, "differential") && s->base && s->base_id > 0 &&
                      s->diffs < BACKUP_DIFFS_PER_FULL;
  bool kept = false;
  for (int attempt = 0; attempt < 2 && !kept; attempt++) {
    json_t *body = differential ? services_backup_diff(s->base, snap) : json_incref(snap);
    if (differential) json_object_set_new(body, "base", json_integer(s->base_id));
    device_api_answer_t ans;
    bool sent = device_api_call(
        s->c, "POST",
        differential ? "/device/backups?mode=differential" : "/device/backups?mode=full", NULL,
        body, &ans);
    json_decref(body);
    if (sent && ans.status == 201) {
      long long id = json_integer_value(json_object_get(ans.body, "id"));
      kept = true;
      if (!differential) {
        json_decref(s->base);
        s->base = json_incref(snap);
        s->base_id = id;
        s->diffs = 0;
      } else {
        s->diffs++;
      }
      log_event(LOG_INFO, NULL, "backup uploaded", "mode", differential ? "differential" : "full",
                "id", LOG_INT(id), (char *)NULL);
    } else if (sent && ans.status == 409 && differential) {
      differential = false; /* the base is gone at nimbusd: a full one now */
    } else {
      log_event(LOG_WARN, NULL, "backup upload failed", "status", LOG_INT(ans.status), "error",
                ans.error, (char *)NULL);
      device_api_answer_free(&ans);
      break;
    }
    device_api_answer_free(&ans);
  }
  json_decref(snap);
  return kept;
}

/* ---- supplies and counters ---- */

static void report(services_t *s, const char *path, json_t *body) {
  device_api_answer_t ans;
  if (device_api_call(s->c, "POST", path, NULL, body, &ans) && ans.status >= 300)
    log_event(LOG_WARN, NULL, "service report refused", "path", path, "status", LOG_INT(ans.status),
              "error", ans.error, (char *)NULL);
  device_api_answer_free(&ans);
  json_decref(body);
}

/* One round: services, supplies, impressions, a backup when due. */
static void services_round(services_t *s) {
  device_api_answer_t ans;
  if (!device_api_call(s->c, "GET", "/device/services", NULL, NULL, &ans) || ans.status != 200 ||
      !json_is_object(ans.body)) {
    device_api_answer_free(&ans);
    return;
  }
  json_t *backup = json_object_get(ans.body, "backup");
  json_t *consumables = json_object_get(ans.body, "consumables");
  json_t *parts = json_object_get(ans.body, "parts_life");
  time_t now = time(NULL);
  int override = s->c->opt.backup_period_override;
  bool backup_due = false;
  if (json_is_object(backup)) {
    if (override > 0)
      backup_due = now - s->last_backup_at >= override;
    else {
      time_t slot = services_backup_slot(backup, now);
      backup_due = slot > 0 && slot > s->last_backup_at;
    }
  }
  json_t *source = NULL;
  if (s->c->opt.supplies_source[0]) {
    source = json_load_file(s->c->opt.supplies_source, 0, NULL);
    if (!source)
      log_event(LOG_WARN, NULL, "cannot read the supplies source", "file",
                s->c->opt.supplies_source, (char *)NULL);
  }
  ipp_t *attrs = NULL;
  if (backup_due || json_is_object(consumables) || json_is_object(parts))
    attrs = engine_attributes(s->c->opt.output);
  if (json_is_object(consumables)) {
    json_t *list = json_is_array(json_object_get(source, "supplies"))
                       ? json_incref(json_object_get(source, "supplies"))
                   : attrs ? engine_supplies(attrs)
                           : NULL;
    if (json_array_size(list) > 0)
      report(s, "/device/supplies", json_pack("{s:O}", "supplies", list));
    json_decref(list);
  }
  if (json_is_object(parts)) {
    ipp_attribute_t *a =
        attrs ? ippFindAttribute(attrs, "printer-impressions-completed", IPP_TAG_INTEGER) : NULL;
    json_int_t n = -1;
    if (json_is_integer(json_object_get(source, "impressions")))
      n = json_integer_value(json_object_get(source, "impressions"));
    else if (a)
      n = ippGetInteger(a, 0);
    else {
      pthread_mutex_lock(&s->c->lock);
      n = s->c->state.jobs_printed; /* the connector's own count */
      pthread_mutex_unlock(&s->c->lock);
    }
    if (n >= 0) report(s, "/device/counters", json_pack("{s:I}", "impressions", n));
  }
  if (backup_due && backup_take(s, backup, attrs)) {
    s->last_backup_at = now;
    svc_state_save(s);
  }
  ippDelete(attrs);
  json_decref(source);
  device_api_answer_free(&ans);
}

static void *services_main(void *arg) {
  services_t *s = arg;
  connector_t *c = s->c;
  int period = c->opt.services_poll;
  if (c->opt.backup_period_override > 0 && c->opt.backup_period_override < period)
    period = c->opt.backup_period_override;
  int wait = 2; /* the first round soon after start */
  while (!atomic_load(&c->stopping)) {
    if (wait-- > 0) {
      sleep(1);
      continue;
    }
    services_round(s);
    wait = period;
  }
  return NULL;
}

services_t *services_start(connector_t *c, char *err, size_t errlen) {
  services_t *s = calloc(1, sizeof *s);
  if (!s || !device_api_init()) {
    free(s);
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  s->c = c;
  snprintf(s->path, sizeof s->path, "%s.services.json", c->opt.state);
  svc_state_load(s);
  if (pthread_create(&s->thread, NULL, services_main, s) != 0) {
    device_api_cleanup();
    free(s);
    snprintf(err, errlen, "cannot start the services thread");
    return NULL;
  }
  return s;
}

void services_stop(services_t *s) {
  if (!s) return;
  pthread_join(s->thread, NULL); /* it ends once c->stopping is set */
  json_decref(s->base);
  device_api_cleanup();
  free(s);
}
