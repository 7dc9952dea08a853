/*
 * register.c: `nimbus-connector register`: claim a registration with its
 * one-time code (Register-Output-Device, PWG 5100.22, on <server>/ipp/system)
 * and write the answer to the state file.  Neither the claim code nor the
 * credential is ever logged or printed.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "connector.h"
#include "log.h"

typedef struct {
  char server[1024];
  char claim[64];
  char uuid[64];
  char state[4096];
  char log_level[16];
  bool force;
} register_options_t;

#define ROPT(n, type, field, def, help)                                                          \
  {                                                                                              \
    n, type, offsetof(register_options_t, field), sizeof(((register_options_t *)0)->field), def, \
        help, false, 0, 0                                                                        \
  }

static const config_option_t register_table[] = {
    ROPT("server", CONFIG_STRING, server, "", "nimbusd base URL, e.g. https://print.example.com"),
    ROPT("claim", CONFIG_STRING, claim, "", "the one-time claim code (NMBC-...)"),
    ROPT("uuid", CONFIG_STRING, uuid, "",
         "output-device-uuid to claim (urn:uuid:...; default: "
         "the server assigns one)"),
    ROPT("state", CONFIG_STRING, state, CONNECTOR_DEFAULT_STATE, "registration state file"),
    ROPT("log-level", CONFIG_STRING, log_level, "info", "debug, info, warn or error"),
    ROPT("force", CONFIG_BOOL, force, "false",
         "replace an existing registration in the state file"),
    CONFIG_END};

static void register_usage(FILE *out) {
  fprintf(out,
          "Usage: nimbus-connector register --server URL --claim CODE [--uuid urn:uuid:...]"
          " [--state FILE]\n"
          "Claim a printer registration created by a tenant admin (nimbusctl printer create)\n"
          "and store it in the state file (mode 0600).\n\n");
  config_print_help(register_table, out);
}

int connector_register(int argc, char **argv) {
  register_options_t o;
  char err[1024];
  bool help;
  int first;
  memset(&o, 0, sizeof o);
  if (!config_set_defaults(register_table, &o, err, sizeof err) ||
      !config_parse_args(register_table, &o, argc, argv, &help, &first, err, sizeof err)) {
    fprintf(stderr, "nimbus-connector register: %s\n", err);
    return 2;
  }
  if (help) {
    register_usage(stdout);
    return 0;
  }
  if (first < argc || !o.server[0] || !o.claim[0]) {
    fprintf(stderr, "nimbus-connector register: --server and --claim are required (see --help)\n");
    return 2;
  }
  log_level_t level;
  if (log_level_parse(o.log_level, &level)) log_set_level(level);

  state_t old;
  if (state_load(o.state, &old, err, sizeof err) && state_has_registration(&old) && !o.force) {
    fprintf(stderr,
            "nimbus-connector register: %s already holds a registration (device %s); use --force "
            "to replace it\n",
            o.state, old.uuid);
    memset(&old, 0, sizeof old);
    return 1;
  }
  memset(&old, 0, sizeof old);

  errpattern_t pattern;
  errpattern_parse(ERRPATTERN_DEFAULT, ERRPATTERN_DEFAULT_MESSAGE, &pattern, err, sizeof err);
  atomic_bool allowed = true, stopping = false;
  ippc_t c;
  if (!ippc_init(&c, o.server, "", "", &pattern, 60, &allowed, &stopping, err, sizeof err)) {
    fprintf(stderr, "nimbus-connector register: %s\n", err);
    return 2;
  }
  char system_uri[1200];
  httpAssembleURI(HTTP_URI_CODING_ALL, system_uri, sizeof system_uri,
                  c.encryption == HTTP_ENCRYPTION_ALWAYS ? "ipps" : "ipp", NULL, c.host, c.port,
                  "/ipp/system");
  ipp_t *req = ippNewRequest(IPP_OP_REGISTER_OUTPUT_DEVICE);
  ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_URI, "system-uri", NULL, system_uri);
  if (o.uuid[0])
    ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_URI, "output-device-uuid", NULL, o.uuid);
  ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_TEXT, "nimbus-claim-code", NULL, o.claim);
  memset(o.claim, 0, sizeof o.claim);

  ipp_t *resp;
  ippc_status_t st;
  ippc_result_t r = ippc_send(&c, req, system_uri, &resp, &st, false);
  ippc_close(&c);
  int rc = 1;
  if (r != IPPC_OK) {
    fprintf(stderr, "nimbus-connector register: registration failed: %s%s%s\n",
            st.http_status == 200 ? ippErrorString((ipp_status_t)st.ipp_status) : "no answer",
            st.message[0] ? ": " : "", st.message);
    ippDelete(resp);
    return 1;
  }
  state_t s;
  memset(&s, 0, sizeof s);
  ipp_attribute_t *u = ippFindAttribute(resp, "output-device-uuid", IPP_TAG_URI);
  ipp_attribute_t *cred = ippFindAttribute(resp, "nimbus-device-credential", IPP_TAG_ZERO);
  ipp_attribute_t *uris = ippFindAttribute(resp, "printer-uri-supported", IPP_TAG_URI);
  if (!u || !cred || !uris || !ippGetString(u, 0, NULL) || !ippGetString(cred, 0, NULL) ||
      strlen(ippGetString(u, 0, NULL)) >= sizeof s.uuid ||
      strlen(ippGetString(cred, 0, NULL)) >= sizeof s.credential) {
    fprintf(stderr,
            "nimbus-connector register: the server's answer lacks output-device-uuid, "
            "printer-uri-supported or nimbus-device-credential\n");
    goto done;
  }
  snprintf(s.server, sizeof s.server, "%s", o.server);
  snprintf(s.uuid, sizeof s.uuid, "%s", ippGetString(u, 0, NULL));
  snprintf(s.credential, sizeof s.credential, "%s", ippGetString(cred, 0, NULL));
  for (int i = 0; i < ippGetCount(uris) && s.nuris < STATE_URIS_MAX; i++)
    snprintf(s.uris[s.nuris++], STATE_URI_MAX, "%s", ippGetString(uris, i, NULL));
  state_now(s.registered_at);
  memcpy(s.status_changed_at, s.registered_at, sizeof s.registered_at);
  s.status = STATE_REGISTERED;
  if (!state_save(o.state, &s, err, sizeof err)) {
    fprintf(stderr, "nimbus-connector register: %s\n", err);
    goto done;
  }
  log_event(LOG_INFO, NULL, "registered", "device", s.uuid, "queues", LOG_INT(s.nuris), "state",
            o.state, (char *)NULL);
  printf("registered as %s\n", s.uuid);
  for (size_t i = 0; i < s.nuris; i++) printf("queue %s\n", s.uris[i]);
  rc = 0;
done:
  memset(&s, 0, sizeof s);
  ippDelete(resp);
  return rc;
}
