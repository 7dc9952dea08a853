/*
 * options.h: the connector's configuration, declared once in a table
 * (src/common/config.h) that drives the config file, flags and --help.
 */
#ifndef NIMBUS_CONNECTOR_OPTIONS_H
#define NIMBUS_CONNECTOR_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "errpattern.h"

#define CONNECTOR_DEFAULT_STATE "/var/lib/nimbus-connector/state.json"

typedef enum { TRANSPORT_POLLING = 0, TRANSPORT_PERSISTENT } transport_t;
typedef enum { POLICY_DELETE = 0, POLICY_STOP, POLICY_CONTINUE, POLICY_ASK } policy_t;

typedef struct {
  /* as written by the user */
  char transport_name[16];
  int poll_interval;      /* seconds */
  char on_deregister[16]; /* delete|stop|continue|ask */
  char error_pattern[512];
  char error_message[256];
  int grace_period;    /* seconds */
  int backoff_min;     /* milliseconds */
  int backoff_max;     /* milliseconds */
  int request_timeout; /* seconds; must exceed the server's notify-wait */
  int update_interval; /* seconds between Update-Active-Jobs while printing */
  char output[1024];
  char panel_listen[128];
  char listen_ipp[128];   /* the local IPP printer for PCs (empty: none) */
  int64_t upload_buffer;  /* bytes buffered per job forwarded to nimbusd */
  int panel_session_idle; /* seconds before a panel user is logged out */
  /* both HTTP listeners (IPP printer, panel): httpguard.h */
  int http_max_connections;
  int http_max_per_address;
  int http_header_timeout; /* seconds to complete a request's headers */
  /* the smart services (services.c, docs/PROVISIONING.md §10) */
  int services_poll;          /* seconds between GET /device/services and the reports */
  int backup_period_override; /* test knob: a backup every N seconds (0: nimbusd's schedule) */
  char supplies_source[4096]; /* a JSON file read instead of the engine's supplies ("": none) */
  char state[4096];
  char journal[4096]; /* default: <state>.journal */
  char log_level[16];
  /* provisioning (docs/PROVISIONING.md §8.3, §9) */
  char provision_dir[4096];   /* default: <state dir>/provisioning */
  char installer[4096];       /* the installer command (empty: none) */
  int installer_timeout;      /* seconds */
  int provision_poll;         /* seconds */
  int64_t provision_max_rate; /* bytes/s per package download (0: no limit) */

  /* derived by options_finish() */
  transport_t transport;
  policy_t policy;
  errpattern_t pattern;
} connector_options_t;

extern const config_option_t connector_option_table[];

/* Defaults into *o. */
bool options_defaults(connector_options_t *o, char *err, size_t errlen);
/* Check and derive the enum fields, the pattern and the journal path. */
bool options_finish(connector_options_t *o, char *err, size_t errlen);
const char *policy_name(policy_t p);
bool policy_parse(const char *s, policy_t *out);

#endif
