//
// "nimbusctl remote-link": list, create, show, change and delete the
// remote printer links of a tenant (/api/v1/remote-links,
// docs/FEDERATION.md): this deployment as an output device of a queue of
// another print service.  The claim code or credential is read from a file
// (or standard input) so that it never appears in the process list.
//

#include "cli-private.h"

#include <stdio.h>

static const cli_field_t remote_link_fields[] = {
    {"name", "NAME", "Name", NULL},
    {"status", "STATUS", "Status", NULL},
    {"queue", "QUEUE", "Queue", NULL},
    {"jobs", "JOBS", "Remote jobs", NULL},
    {"printer_uri", "PRINTER URI", "Printer URI", NULL},
    {"system_uri", NULL, "System URI", NULL},
    {"service_url", NULL, "Service URL", NULL},
    {"output_device_uuid", NULL, "Output device", NULL},
    {"last_ok_at", NULL, "Last answer", NULL},
    {"next_try_at", NULL, "Next try", NULL},
    {"last_error", "LAST ERROR", "Last error", NULL},
    {"created_at", NULL, "Created", NULL},
    {NULL, NULL, NULL, NULL}};

static const cli_view_t remote_link_view = {"remote_links", remote_link_fields};

enum {
  ROPT_PRINTER_URI,
  ROPT_QUEUE,
  ROPT_CLAIM_FILE,
  ROPT_CREDENTIAL_FILE,
  ROPT_SYSTEM_URI,
  ROPT_SERVICE_URL
};

static const cli_option_t remote_link_options[] = {
    [ROPT_PRINTER_URI] = {"printer-uri", "URI", "the remote queue's printer URI (ipp/ipps)", false},
    [ROPT_QUEUE] = {"queue", "QUEUE", "the home queue its jobs become jobs of", false},
    [ROPT_CLAIM_FILE] = {"claim-file", "FILE",
                         "read the claim code the remote issued from FILE (- = standard input)",
                         false},
    [ROPT_CREDENTIAL_FILE] = {"credential-file", "FILE",
                              "read a device credential the remote issued from FILE (- = "
                              "standard input)",
                              false},
    [ROPT_SYSTEM_URI] = {"system-uri", "URI", "the remote's system URI (default: its /ipp/system)",
                         false},
    [ROPT_SERVICE_URL] = {"service-url", "URL",
                          "the remote's web address (default: from the printer URI)", false},
    {NULL, NULL, NULL, false}};

//
// 'remote_link_body_fill()' - Put the options given into a request body.
//

static cli_status_t remote_link_body_fill(cli_t *cli, const cli_parsed_t *parsed, json_t *body,
                                          bool create) {
  static const struct {
    int opt;
    const char *key;
  } plain[] = {{ROPT_PRINTER_URI, "printer_uri"},
               {ROPT_QUEUE, "queue"},
               {ROPT_SYSTEM_URI, "system_uri"},
               {ROPT_SERVICE_URL, "service_url"}};
  cli_status_t status = CLI_STATUS_OK;

  for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]) && status == CLI_STATUS_OK; i++) {
    if (!parsed->values[plain[i].opt]) continue;
    if (!create && plain[i].opt != ROPT_QUEUE)
      return (cli_fail(cli, CLI_STATUS_USAGE, "remote-link set: --%s cannot be changed",
                       remote_link_options[plain[i].opt].name));
    status = cli_json_set_string(cli, body, plain[i].key, parsed->values[plain[i].opt]);
  }

  const char *claim = parsed->values[ROPT_CLAIM_FILE];
  const char *cred = parsed->values[ROPT_CREDENTIAL_FILE];

  if (status == CLI_STATUS_OK && claim && cred)
    return (cli_fail(cli, CLI_STATUS_USAGE,
                     "--claim-file and --credential-file are mutually "
                     "exclusive"));

  if (status == CLI_STATUS_OK && (claim || cred)) {
    char secret[1024];

    status = cli_secret_from_file(cli, claim ? claim : cred, secret, sizeof(secret));
    if (status == CLI_STATUS_OK)
      status = cli_json_set_string(cli, body, claim ? "claim_code" : "credential", secret);
    cli_secret_wipe(secret, sizeof(secret));
  }

  return (status);
}

//
// 'remote_link_list()' - GET /api/v1/remote-links
//

static cli_status_t remote_link_list(cli_t *cli, cli_parsed_t *parsed) {
  cli_request_t request = {.method = "GET", .path = "/api/v1/remote-links", .tenant_scoped = true};

  (void)parsed;

  return (cli_command_list(cli, &request, &remote_link_view));
}

//
// 'remote_link_create()' - POST /api/v1/remote-links
//

static cli_status_t remote_link_create(cli_t *cli, cli_parsed_t *parsed) {
  json_t *body = json_object();
  cli_request_t request = {
      .method = "POST", .path = "/api/v1/remote-links", .tenant_scoped = true, .body = body};
  cli_status_t status;

  if (!parsed->values[ROPT_PRINTER_URI] || !parsed->values[ROPT_QUEUE] ||
      (!parsed->values[ROPT_CLAIM_FILE] && !parsed->values[ROPT_CREDENTIAL_FILE]))
    status = cli_fail(cli, CLI_STATUS_USAGE,
                      "remote-link create: --printer-uri, --queue and --claim-file (or "
                      "--credential-file) are required");
  else if ((status = cli_json_set_string(cli, body, "name", parsed->positional[0])) ==
               CLI_STATUS_OK &&
           (status = remote_link_body_fill(cli, parsed, body, true)) == CLI_STATUS_OK)
    status = cli_command_show(cli, &request, &remote_link_view);

  json_decref(body);

  return (status);
}

//
// 'remote_link_show()' - GET /api/v1/remote-links/NAME
//

static cli_status_t remote_link_show(cli_t *cli, cli_parsed_t *parsed) {
  cli_request_t request = {.method = "GET",
                           .path = "/api/v1/remote-links",
                           .id = parsed->positional[0],
                           .tenant_scoped = true};

  return (cli_command_show(cli, &request, &remote_link_view));
}

//
// 'remote_link_set()' - PATCH /api/v1/remote-links/NAME (also retries a
// stopped link)
//

static cli_status_t remote_link_set(cli_t *cli, cli_parsed_t *parsed) {
  json_t *body = json_object();
  cli_request_t request = {.method = "PATCH",
                           .path = "/api/v1/remote-links",
                           .id = parsed->positional[0],
                           .tenant_scoped = true,
                           .body = body};
  cli_status_t status;

  if ((status = remote_link_body_fill(cli, parsed, body, false)) == CLI_STATUS_OK)
    status = cli_command_show(cli, &request, &remote_link_view);

  json_decref(body);

  return (status);
}

//
// 'remote_link_delete()' - DELETE /api/v1/remote-links/NAME
//

static cli_status_t remote_link_delete(cli_t *cli, cli_parsed_t *parsed) {
  cli_request_t request = {.method = "DELETE",
                           .path = "/api/v1/remote-links",
                           .id = parsed->positional[0],
                           .tenant_scoped = true};
  char message[256];

  snprintf(message, sizeof(message), "Remote link '%s' deleted.", parsed->positional[0]);

  return (cli_command_delete(cli, &request, message));
}

static const cli_subcommand_t remote_link_subcommands[] = {
    {"list", "", NULL, remote_link_list},
    {"create", "NAME", remote_link_options, remote_link_create},
    {"show", "NAME", NULL, remote_link_show},
    {"set", "NAME", remote_link_options, remote_link_set},
    {"delete", "NAME", NULL, remote_link_delete},
    {NULL, NULL, NULL, NULL}};

const cli_command_t cli_command_remote_link = {
    "remote-link", "list, create, change and delete remote printer links (federation)", NULL,
    remote_link_subcommands};
