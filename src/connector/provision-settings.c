/*
 * provision-settings.c: a settings step (PROVISIONING.md §8.3).
 *
 *   connector.<option>   checked against the option table and written to
 *                        <state dir>/provisioned.conf, which run.c reads
 *                        after the main config and the flags (so a
 *                        contract's value wins).  provision-poll,
 *                        installer-timeout and provision-max-rate apply at
 *                        once; every other option at the next start.
 *   *-default, printer-sleep-timer
 *                        sent to the marking engine with
 *                        Set-Printer-Attributes (ippc_engine_do) when the
 *                        output is ipp:// or ipps://; each value takes the
 *                        type the engine reports for that attribute.
 *
 * Options a contract may not set (state, journal, output, provision-dir,
 * installer, panel-listen, listen-ipp, error-*): the cloud must not
 * choose which program runs or where files go.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "ippc.h"
#include "provision.h"

#define PS_ENGINE_TIMEOUT 30

static const char *const ps_allowed[] = {"poll-interval",
                                         "transport",
                                         "on-deregister",
                                         "grace-period",
                                         "backoff-min",
                                         "backoff-max",
                                         "request-timeout",
                                         "update-interval",
                                         "panel-session-idle",
                                         "upload-buffer",
                                         "http-max-connections",
                                         "http-max-per-address",
                                         "http-header-timeout",
                                         "log-level",
                                         "installer-timeout",
                                         "provision-poll",
                                         "provision-max-rate",
                                         "services-poll",
                                         NULL};

/* Options the provisioning thread reads itself: they take effect at once. */
static const char *const ps_at_once[] = {"installer-timeout", "provision-poll",
                                         "provision-max-rate", NULL};

static bool ps_in(const char *const *list, const char *name) {
  for (size_t i = 0; list[i]; i++)
    if (!strcmp(list[i], name)) return true;
  return false;
}

bool ps_option_allowed(const char *name) {
  return ps_in(ps_allowed, name);
}

void ps_conf_path(const char *state_path, char *out, size_t outlen) {
  const char *slash = strrchr(state_path, '/');
  if (!slash)
    snprintf(out, outlen, "provisioned.conf");
  else
    snprintf(out, outlen, "%.*s/provisioned.conf", (int)(slash - state_path), state_path);
}

bool ps_load_conf(const char *state_path, connector_options_t *o, char *err, size_t errlen) {
  char path[4200];
  ps_conf_path(state_path, path, sizeof path);
  if (access(path, F_OK) != 0) return true;
  return config_load_file(connector_option_table, o, path, err, errlen);
}

json_t *ps_read_conf(const char *state_path) {
  char path[4200], line[2048];
  ps_conf_path(state_path, path, sizeof path);
  json_t *o = json_object();
  FILE *f = fopen(path, "re");
  if (!f) return o;
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\r\n")] = '\0';
    char *eq = strchr(line, '=');
    if (line[0] == '#' || !eq) continue;
    char *name = line, *value = eq + 1, *end = eq;
    while (end > name && end[-1] == ' ') end--;
    *end = '\0';
    while (*value == ' ') value++;
    json_object_set_new(o, name, json_string(value));
  }
  fclose(f);
  return o;
}

/* Write the entries (name → text) as provisioned.conf, durably. */
static bool ps_write_conf(const char *state_path, json_t *entries, char *err, size_t errlen) {
  char path[4200], tmp[4300];
  ps_conf_path(state_path, path, sizeof path);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
    return false;
  }
  static const char head[] =
      "# provisioned.conf: connector options set by a contract's settings profile\n"
      "# (written by nimbus-connector; read after the main config and the flags)\n";
  bool ok = fs_write_all(fd, head, sizeof head - 1);
  const char *name;
  json_t *v;
  json_object_foreach(entries, name, v) {
    char line[2048];
    int n = snprintf(line, sizeof line, "%s = %s\n", name, json_string_value(v));
    if (n < 0 || (size_t)n >= sizeof line) continue;
    ok = ok && fs_write_all(fd, line, (size_t)n);
  }
  ok = ok && fsync(fd) == 0;
  if (close(fd) != 0) ok = false;
  ok = ok && rename(tmp, path) == 0 && fs_sync_parent(path);
  if (!ok) {
    snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
    unlink(tmp);
  }
  return ok;
}

/* A JSON value (string, integer, boolean) as the config file's text. */
static bool ps_text(json_t *v, char *out, size_t len) {
  if (json_is_string(v)) {
    const char *s = json_string_value(v);
    if (strlen(s) >= len || strpbrk(s, "\r\n")) return false;
    snprintf(out, len, "%s", s);
  } else if (json_is_integer(v)) {
    snprintf(out, len, "%lld", (long long)json_integer_value(v));
  } else if (json_is_boolean(v)) {
    snprintf(out, len, "%s", json_is_true(v) ? "true" : "false");
  } else {
    return false;
  }
  return true;
}

/* The tags the engine reports for the attributes named in values. */
static ipp_t *ps_engine_get(const char *engine_uri, json_t *names_obj, ippc_status_t *st) {
  size_t n = json_object_size(names_obj), i = 0;
  const char **names = calloc(n ? n : 1, sizeof *names);
  const char *name;
  json_t *v;
  json_object_foreach(names_obj, name, v) names[i++] = name;
  ipp_t *req = ippNewRequest(IPP_OP_GET_PRINTER_ATTRIBUTES);
  ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_URI, "printer-uri", NULL, engine_uri);
  ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_NAME, "requesting-user-name", NULL,
               "nimbus-connector");
  if (n)
    ippAddStrings(req, IPP_TAG_OPERATION, IPP_TAG_KEYWORD, "requested-attributes", (int)n, NULL,
                  names);
  free(names);
  return ippc_engine_do(engine_uri, req, PS_ENGINE_TIMEOUT, st);
}

/* Set-Printer-Attributes with values on the engine; false with its message. */
static bool ps_engine_set(const char *engine_uri, json_t *values, char *reason, size_t len) {
  ippc_status_t st;
  ipp_t *cur = ps_engine_get(engine_uri, values, &st);
  ipp_t *req = ippNewRequest(IPP_OP_SET_PRINTER_ATTRIBUTES);
  ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_URI, "printer-uri", NULL, engine_uri);
  ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_NAME, "requesting-user-name", NULL,
               "nimbus-connector");
  const char *name;
  json_t *v;
  json_object_foreach(values, name, v) {
    ipp_attribute_t *a = cur ? ippFindAttribute(cur, name, IPP_TAG_ZERO) : NULL;
    ipp_tag_t tag = a ? ippGetValueTag(a) : IPP_TAG_ZERO;
    if (json_is_boolean(v)) {
      ippAddBoolean(req, IPP_TAG_PRINTER, name, json_is_true(v));
    } else if (json_is_integer(v)) {
      ippAddInteger(req, IPP_TAG_PRINTER, tag == IPP_TAG_ENUM ? IPP_TAG_ENUM : IPP_TAG_INTEGER,
                    name, (int)json_integer_value(v));
    } else if (json_is_string(v) && tag == IPP_TAG_ENUM) {
      ippAddInteger(req, IPP_TAG_PRINTER, IPP_TAG_ENUM, name,
                    ippEnumValue(name, json_string_value(v)));
    } else if (json_is_string(v)) {
      ipp_tag_t t = tag == IPP_TAG_NAME || tag == IPP_TAG_TEXT || tag == IPP_TAG_URI ||
                            tag == IPP_TAG_MIMETYPE
                        ? tag
                        : IPP_TAG_KEYWORD;
      ippAddString(req, IPP_TAG_PRINTER, t, name, NULL, json_string_value(v));
    } else {
      ippDelete(req);
      ippDelete(cur);
      snprintf(reason, len, "%s: value must be a string, an integer or a boolean", name);
      return false;
    }
  }
  ippDelete(cur);
  ipp_t *resp = ippc_engine_do(engine_uri, req, PS_ENGINE_TIMEOUT, &st);
  ippDelete(resp);
  if (resp && st.ipp_status < 0x100) return true;
  snprintf(reason, len, "the printer refused the settings: %s (%s)",
           st.message[0] ? st.message : "no answer", ippErrorString((ipp_status_t)st.ipp_status));
  return false;
}

static bool ps_is_ipp(const char *uri) {
  return uri && (!strncmp(uri, "ipp://", 6) || !strncmp(uri, "ipps://", 7));
}

bool ps_apply(const char *state_path, const char *engine_uri, json_t *values,
              connector_options_t *live, char *reason, size_t reasonlen) {
  json_t *mine = json_object(), *engine = json_object();
  const char *name;
  json_t *v;
  bool ok = true;
  connector_options_t check = *live;
  json_object_foreach(values, name, v) {
    if (!strncmp(name, "connector.", 10)) {
      char text[1024], err[256];
      const char *opt = name + 10;
      if (!ps_option_allowed(opt)) {
        snprintf(reason, reasonlen, "%s: a contract may not set this option", name);
        ok = false;
        break;
      }
      if (!ps_text(v, text, sizeof text) ||
          !config_set(connector_option_table, &check, opt, text, err, sizeof err)) {
        snprintf(reason, reasonlen, "%s: bad value", name);
        ok = false;
        break;
      }
      json_object_set_new(mine, opt, json_string(text));
    } else {
      json_object_set(engine, name, v);
    }
  }
  char err[512];
  if (ok && !options_finish(&check, err, sizeof err)) {
    snprintf(reason, reasonlen, "connector settings: %s", err);
    ok = false;
  }
  if (ok && json_object_size(engine)) {
    if (!ps_is_ipp(engine_uri)) {
      snprintf(reason, reasonlen, "the printer's output is not IPP: cannot set %s",
               json_object_iter_key(json_object_iter(engine)));
      ok = false;
    } else {
      ok = ps_engine_set(engine_uri, engine, reason, reasonlen);
    }
  }
  if (ok && json_object_size(mine)) {
    json_t *all = ps_read_conf(state_path);
    json_object_update(all, mine);
    ok = ps_write_conf(state_path, all, reason, reasonlen);
    json_decref(all);
    if (ok) {
      json_object_foreach(mine, name, v) if (ps_in(ps_at_once, name))
          config_set(connector_option_table, live, name, json_string_value(v), err, sizeof err);
    }
  }
  json_decref(mine);
  json_decref(engine);
  return ok;
}

/* One option's value as JSON (by its type in the table). */
static json_t *ps_option_json(const config_option_t *t, const connector_options_t *o) {
  const char *base = (const char *)o + t->offset;
  switch (t->type) {
    case CONFIG_INT:
      return json_integer(*(const int *)base);
    case CONFIG_SIZE:
      return json_integer(*(const int64_t *)base);
    case CONFIG_BOOL:
      return json_boolean(*(const bool *)base);
    default:
      return json_string(base);
  }
}

json_t *ps_inventory_settings(const char *state_path, const connector_options_t *o,
                              const char *engine_uri) {
  json_t *out = json_object();
  /* the options as they will be after the next start: the file's values over the running ones */
  connector_options_t eff = *o;
  char err[256];
  json_t *conf = ps_read_conf(state_path);
  const char *name;
  json_t *v;
  json_object_foreach(conf, name, v)
      config_set(connector_option_table, &eff, name, json_string_value(v), err, sizeof err);
  json_decref(conf);
  for (const config_option_t *t = connector_option_table; t->name; t++) {
    if (!ps_option_allowed(t->name)) continue;
    char key[128];
    snprintf(key, sizeof key, "connector.%s", t->name);
    json_object_set_new(out, key, ps_option_json(t, &eff));
  }
  if (!ps_is_ipp(engine_uri)) return out;
  ipp_t *req = ippNewRequest(IPP_OP_GET_PRINTER_ATTRIBUTES);
  ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_URI, "printer-uri", NULL, engine_uri);
  ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_NAME, "requesting-user-name", NULL,
               "nimbus-connector");
  ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_KEYWORD, "requested-attributes", NULL, "all");
  ippc_status_t st;
  ipp_t *resp = ippc_engine_do(engine_uri, req, PS_ENGINE_TIMEOUT, &st);
  for (ipp_attribute_t *a = resp ? ippFirstAttribute(resp) : NULL; a; a = ippNextAttribute(resp)) {
    const char *an = ippGetName(a);
    size_t l = an ? strlen(an) : 0;
    if (!an || ippGetCount(a) != 1 || ippGetGroupTag(a) != IPP_TAG_PRINTER) continue;
    if (!(l > 8 && !strcmp(an + l - 8, "-default")) && strcmp(an, "printer-sleep-timer")) continue;
    switch (ippGetValueTag(a)) {
      case IPP_TAG_KEYWORD:
      case IPP_TAG_NAME:
      case IPP_TAG_TEXT:
      case IPP_TAG_MIMETYPE:
      case IPP_TAG_URI:
        json_object_set_new(out, an, json_string(ippGetString(a, 0, NULL)));
        break;
      case IPP_TAG_INTEGER:
      case IPP_TAG_ENUM:
        json_object_set_new(out, an, json_integer(ippGetInteger(a, 0)));
        break;
      case IPP_TAG_BOOLEAN:
        json_object_set_new(out, an, json_boolean(ippGetBoolean(a, 0)));
        break;
      default:
        break;
    }
  }
  ippDelete(resp);
  return out;
}
