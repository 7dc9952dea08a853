/*
 * options.c: the option table of `nimbus-connector run` and the checks
 * that turn its text values into enums and a compiled error pattern.
 */
#include "options.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "log.h"

#define OPT(n, type, field, def, help, min, max)                                                   \
  {                                                                                                \
    n, type, offsetof(connector_options_t, field), sizeof(((connector_options_t *)0)->field), def, \
        help, false, min, max                                                                      \
  }

const config_option_t connector_option_table[] = {
    OPT("transport", CONFIG_STRING, transport_name, "polling",
        "how to learn about jobs: polling or persistent", 0, 0),
    OPT("poll-interval", CONFIG_INT, poll_interval, "10", "seconds between polls (polling)", 1,
        86400),
    OPT("on-deregister", CONFIG_STRING, on_deregister, "delete",
        "when the server deleted the registration: delete, stop, continue or ask", 0, 0),
    OPT("error-pattern", CONFIG_STRING, error_pattern, ERRPATTERN_DEFAULT,
        "answers that mean 'registration deleted': ipp:CODE,http:STATUS,...", 0, 0),
    OPT("error-message", CONFIG_STRING, error_message, ERRPATTERN_DEFAULT_MESSAGE,
        "substring the status-message of an ipp: match must contain (empty: any)", 0, 0),
    OPT("grace-period", CONFIG_INT, grace_period, "5",
        "seconds to wait for the server to close after a deregistration", 0, 3600),
    OPT("backoff-min", CONFIG_INT, backoff_min, "500", "first retry delay in milliseconds", 1,
        3600000),
    OPT("backoff-max", CONFIG_INT, backoff_max, "60000", "longest retry delay in milliseconds", 1,
        3600000),
    OPT("request-timeout", CONFIG_INT, request_timeout, "120",
        "seconds to wait for an answer (longer than the server's notify-wait)", 1, 3600),
    OPT("update-interval", CONFIG_INT, update_interval, "30",
        "seconds between Update-Active-Jobs while printing", 1, 3600),
    OPT("output", CONFIG_STRING, output, "file:///var/spool/nimbus-connector",
        "the printer: ipp://host:port/path, ipps://..., file:///dir or cups:QUEUE", 0, 0),
    OPT("panel-listen", CONFIG_STRING, panel_listen, "127.0.0.1:8632",
        "panel address:port (port 0: any free port; empty: no panel)", 0, 0),
    OPT("listen-ipp", CONFIG_STRING, listen_ipp, "",
        "address:port of the local IPP printer for PCs, ipp://HOST:PORT/ipp/print "
        "(port 0: any free port; empty: none)",
        0, 0),
    OPT("upload-buffer", CONFIG_SIZE, upload_buffer, "1M",
        "bytes buffered per job streamed from a PC to nimbusd (64k..1G)", 65536, 1073741824),
    OPT("panel-session-idle", CONFIG_INT, panel_session_idle, "120",
        "seconds of inactivity before the panel logs a user out (as nimbusd's panel-session-idle)",
        10, 3600),
    OPT("http-max-connections", CONFIG_INT, http_max_connections, "256",
        "connections the IPP listener and the panel each serve at once", 4, 1000),
    OPT("http-max-per-address", CONFIG_INT, http_max_per_address, "16",
        "connections one client address may hold on each of them", 1, 1000),
    OPT("http-header-timeout", CONFIG_INT, http_header_timeout, "10",
        "seconds a client has to send a request's headers (slow ones are cut)", 1, 300),
    OPT("services-poll", CONFIG_INT, services_poll, "60",
        "seconds between asking nimbusd for this printer's smart services and reporting "
        "supplies and impressions",
        5, 86400),
    OPT("backup-period-override", CONFIG_INT, backup_period_override, "0",
        "testing: take a backup every N seconds instead of on the schedule nimbusd gives "
        "(0: the schedule)",
        0, 86400),
    OPT("supplies-source", CONFIG_STRING, supplies_source, "",
        "the supplies source: a JSON file {\"supplies\":[{\"name\",\"type\",\"level\"}],"
        "\"impressions\":N} read instead of the engine's marker-levels and "
        "printer-impressions-completed (engines that do not report them; tests)",
        0, 0),
    OPT("state", CONFIG_STRING, state, CONNECTOR_DEFAULT_STATE, "registration state file", 0, 0),
    OPT("journal", CONFIG_STRING, journal, "", "job journal file [default: <state>.journal]", 0, 0),
    OPT("log-level", CONFIG_STRING, log_level, "info", "debug, info, warn or error", 0, 0),
    OPT("provision-dir", CONFIG_STRING, provision_dir, "",
        "provisioning journal and packages [default: <state dir>/provisioning]", 0, 0),
    OPT("installer", CONFIG_STRING, installer, "",
        "installer command for firmware and application packages (empty: none)", 0, 0),
    OPT("installer-timeout", CONFIG_INT, installer_timeout, "900",
        "seconds an installer run may take before it is killed", 1, 86400),
    OPT("provision-poll", CONFIG_INT, provision_poll, "60",
        "seconds between asks for provisioning steps", 1, 86400),
    OPT("provision-max-rate", CONFIG_SIZE, provision_max_rate, "0",
        "bytes per second a package download may use (0: no limit)", 0, 1073741824),
    CONFIG_END};

static const char *const policy_names[] = {"delete", "stop", "continue", "ask"};

const char *policy_name(policy_t p) {
  return (unsigned)p < 4 ? policy_names[p] : "unknown";
}

bool policy_parse(const char *s, policy_t *out) {
  for (int i = 0; i < 4; i++)
    if (strcasecmp(s, policy_names[i]) == 0) {
      *out = (policy_t)i;
      return true;
    }
  return false;
}

bool options_defaults(connector_options_t *o, char *err, size_t errlen) {
  memset(o, 0, sizeof *o);
  return config_set_defaults(connector_option_table, o, err, errlen);
}

bool options_finish(connector_options_t *o, char *err, size_t errlen) {
  if (strcasecmp(o->transport_name, "polling") == 0)
    o->transport = TRANSPORT_POLLING;
  else if (strcasecmp(o->transport_name, "persistent") == 0)
    o->transport = TRANSPORT_PERSISTENT;
  else {
    snprintf(err, errlen, "transport must be polling or persistent");
    return false;
  }
  if (!policy_parse(o->on_deregister, &o->policy)) {
    snprintf(err, errlen, "on-deregister must be delete, stop, continue or ask");
    return false;
  }
  if (o->backoff_max < o->backoff_min) {
    snprintf(err, errlen, "backoff-max must not be smaller than backoff-min");
    return false;
  }
  log_level_t level;
  if (!log_level_parse(o->log_level, &level)) {
    snprintf(err, errlen, "log-level must be debug, info, warn or error");
    return false;
  }
  if (!o->state[0]) {
    snprintf(err, errlen, "state must name a file");
    return false;
  }
  if (!o->journal[0]) {
    if (strlen(o->state) + 9 > sizeof o->journal) {
      snprintf(err, errlen, "state path too long");
      return false;
    }
    snprintf(o->journal, sizeof o->journal, "%.4086s.journal", o->state);
  }
  if (!o->provision_dir[0]) {
    const char *slash = strrchr(o->state, '/');
    int dl = slash ? (int)(slash - o->state) : 1;
    const char *d = slash ? o->state : ".";
    if (slash == o->state) dl = 0; /* the root directory */
    if ((size_t)dl + 14 > sizeof o->provision_dir) {
      snprintf(err, errlen, "state path too long");
      return false;
    }
    snprintf(o->provision_dir, sizeof o->provision_dir, "%.*s/provisioning", dl, d);
  }
  if (!o->output[0]) {
    snprintf(err, errlen, "output must be set");
    return false;
  }
  return errpattern_parse(o->error_pattern, o->error_message, &o->pattern, err, errlen);
}
