/*
 * status.c: `nimbus-connector status`: ask the running daemon's panel
 * (/status.json, address from the state file) and fall back to the state
 * file when the daemon does not answer.  Never prints the credential.
 * With the daemon running it also shows the provisioning step and the
 * firmware and application versions.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connector.h"

typedef struct {
  char state[4096];
  char panel[256];
  bool json;
} status_options_t;

#define SOPT(n, type, field, def, help)                                                            \
  {                                                                                                \
    n, type, offsetof(status_options_t, field), sizeof(((status_options_t *)0)->field), def, help, \
        false, 0, 0                                                                                \
  }

static const config_option_t status_table[] = {
    SOPT("state", CONFIG_STRING, state, CONNECTOR_DEFAULT_STATE, "registration state file"),
    SOPT("panel", CONFIG_STRING, panel, "", "panel URL [default: from the state file]"),
    SOPT("json", CONFIG_BOOL, json, "false", "print JSON"), CONFIG_END};

#define STATUS_BODY_MAX 65536

/* GET <panel>status.json; NULL if the daemon does not answer. */
static json_t *status_fetch(const char *panel) {
  char scheme[16], user[64], host[256], resource[256];
  int port;
  if (httpSeparateURI(HTTP_URI_CODING_ALL, panel, scheme, sizeof scheme, user, sizeof user, host,
                      sizeof host, &port, resource, sizeof resource) < HTTP_URI_STATUS_OK)
    return NULL;
  http_t *http = httpConnect2(host, port, NULL, AF_UNSPEC, HTTP_ENCRYPTION_NEVER, 1, 2000, NULL);
  if (!http) return NULL;
  json_t *j = NULL;
  char *body = malloc(STATUS_BODY_MAX + 1);
  size_t len = 0;
  httpClearFields(http);
  if (body && httpGet(http, "/status.json") == 0) {
    http_status_t hs;
    while ((hs = httpUpdate(http)) == HTTP_STATUS_CONTINUE) {
    }
    ssize_t n;
    while (hs == HTTP_STATUS_OK && len < STATUS_BODY_MAX &&
           (n = httpRead2(http, body + len, STATUS_BODY_MAX - len)) > 0)
      len += (size_t)n;
    body[len] = '\0';
    if (hs == HTTP_STATUS_OK) j = json_loads(body, 0, NULL);
  }
  free(body);
  httpClose(http);
  return j;
}

static json_t *status_from_state(const state_t *s) {
  json_t *o = json_object();
  json_t *uris = json_array();
  for (size_t i = 0; i < s->nuris; i++) json_array_append_new(uris, json_string(s->uris[i]));
  json_object_set_new(o, "status", json_string(state_status_name(s->status)));
  json_object_set_new(o, "server", json_string(s->server));
  json_object_set_new(o, "output_device_uuid", json_string(s->uuid));
  json_object_set_new(o, "printer_uris", uris);
  json_object_set_new(o, "registered_at", json_string(s->registered_at));
  json_object_set_new(o, "status_changed_at", json_string(s->status_changed_at));
  json_object_set_new(o, "jobs_printed", json_integer(s->jobs_printed));
  return o;
}

static void status_line(const char *label, json_t *o, const char *key) {
  json_t *v = json_object_get(o, key);
  if (json_is_string(v))
    printf("%-16s %s\n", label, json_string_length(v) ? json_string_value(v) : "-");
  else if (json_is_integer(v))
    printf("%-16s %lld\n", label, (long long)json_integer_value(v));
}

/* The provisioning part of the running daemon's status: the current or
 * last step and the versions the printer runs (PROVISIONING.md §13). */
static void status_provisioning(json_t *p) {
  json_t *step = json_object_get(p, "step");
  if (step)
    printf("%-16s %s %s: %s\n", "Provisioning:", json_string_value(json_object_get(step, "kind")),
           json_string_value(json_object_get(step, "name")),
           json_string_value(json_object_get(step, "state")));
  json_t *v = json_object_get(p, "versions");
  json_t *fw = json_object_get(v, "firmware");
  if (fw)
    printf("%-16s %s %s\n", "Firmware:", json_string_value(json_object_get(fw, "name")),
           json_string_value(json_object_get(fw, "version")));
  const char *name;
  json_t *ver;
  json_object_foreach(json_object_get(v, "applications"), name, ver)
      printf("%-16s %s %s\n", "Application:", name, json_string_value(ver));
}

int connector_status(int argc, char **argv) {
  status_options_t o;
  char err[1024];
  bool help;
  int first;
  memset(&o, 0, sizeof o);
  if (!config_set_defaults(status_table, &o, err, sizeof err) ||
      !config_parse_args(status_table, &o, argc, argv, &help, &first, err, sizeof err)) {
    fprintf(stderr, "nimbus-connector status: %s\n", err);
    return 2;
  }
  if (help) {
    printf(
        "Usage: nimbus-connector status [--state FILE] [--panel URL] [--json]\n"
        "Show the connector's registration status, from the running daemon when it\n"
        "answers, else from the state file.\n\n");
    config_print_help(status_table, stdout);
    return 0;
  }
  state_t s;
  bool have_state = state_load(o.state, &s, err, sizeof err);
  if (!have_state) memset(&s, 0, sizeof s);
  const char *panel = o.panel[0] ? o.panel : s.panel_url;
  json_t *j = panel[0] ? status_fetch(panel) : NULL;
  bool running = j != NULL;
  if (!j) j = status_from_state(&s);
  json_object_set_new(j, "daemon", json_string(running ? "running" : "not running"));
  if (!have_state) json_object_set_new(j, "state_file", json_string("missing"));
  memset(&s, 0, sizeof s);
  if (o.json) {
    char *text = json_dumps(j, JSON_SORT_KEYS | JSON_INDENT(2));
    if (text) puts(text);
    free(text);
  } else {
    status_line("Registration:", j, "status");
    status_line("Daemon:", j, "daemon");
    status_line("Transport:", j, "transport");
    status_line("Server:", j, "server");
    status_line("Device:", j, "output_device_uuid");
    json_t *uris = json_object_get(j, "printer_uris");
    size_t i;
    json_t *u;
    json_array_foreach(uris, i, u) printf("%-16s %s\n", "Queue:", json_string_value(u));
    status_line("Registered at:", j, "registered_at");
    status_line("Last contact:", j, "last_contact");
    status_line("Jobs printed:", j, "jobs_printed");
    status_line("Detected at:", j, "detected_at");
    if (json_is_true(json_object_get(j, "ask_pending")))
      printf("%-16s %s\n", "Decision:", "waiting on the panel (delete, stop or continue)");
    if (!have_state) printf("%-16s %s\n", "State file:", "missing");
    status_provisioning(json_object_get(j, "provisioning"));
  }
  json_decref(j);
  return 0;
}
