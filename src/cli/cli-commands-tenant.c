//
// "nimbusctl tenant": list, create, show, change and delete tenants
// (/api/v1/tenants, operators only), and grant or revoke a tenant's
// dealer (/api/v1/tenants/NAME/dealer, docs/PROVISIONING.md §2).
//

#include "cli-private.h"

#include <stdio.h>

static const cli_field_t tenant_fields[] = {
    {"name", "NAME", "Name", NULL},
    {"display_name", "DISPLAY NAME", "Display name", NULL},
    {"max_document_size", "MAX DOC BYTES", "Max document size", NULL},
    {"max_held_jobs_per_user", "MAX HELD JOBS", "Max held jobs per user", NULL},
    {"retention_hours", "RETENTION H", "Retention (hours, 0: default)", NULL},
    {"panel_login", "PANEL LOGIN", "Panel login", NULL},
    {"unknown_user_names", "UNKNOWN NAMES", "Unknown user names", NULL},
    {"suspended", "SUSPENDED", "Suspended", NULL},
    {"dealer", "DEALER", "Dealer", NULL},
    {"created_at", "CREATED", "Created", NULL},
    {NULL, NULL, NULL, NULL}};

static const cli_view_t tenant_view = {"tenants", tenant_fields};

enum {
  TOPT_DISPLAY_NAME,
  TOPT_MAX_DOCUMENT_SIZE,
  TOPT_MAX_HELD_JOBS,
  TOPT_RETENTION_HOURS,
  TOPT_PANEL_LOGIN,
  TOPT_UNKNOWN_USER_NAMES,
  TOPT_SUSPEND,
  TOPT_RESUME,
  TOPT_DEALER,
  TOPT_NO_DEALER
};

static const char *const tenant_panel_logins[] = {"password", "pin", NULL};
static const char *const tenant_unknown_user_names[] = {"refuse", "hold", NULL};

static const cli_option_t tenant_options[] = {
    [TOPT_DISPLAY_NAME] = {"display-name", "TEXT", "human-readable tenant name", false},
    [TOPT_MAX_DOCUMENT_SIZE] = {"max-document-size", "BYTES", "largest document a job may carry",
                                false},
    [TOPT_MAX_HELD_JOBS] =
        {"max-held-jobs", "N",
         "most jobs per user waiting for release (received, held, awaiting payment)", false},
    [TOPT_RETENTION_HOURS] = {"retention-hours", "N",
                              "unreleased jobs expire after N hours (1-8760; 0: server default)",
                              false},
    [TOPT_PANEL_LOGIN] = {"panel-login", "HOW",
                          "how users sign in at a printer's panel: password or pin", false},
    [TOPT_UNKNOWN_USER_NAMES] = {"unknown-user-names", "WHAT",
                                 "a job for a name that is no user or alias: refuse (default) "
                                 "or hold",
                                 false},
    [TOPT_SUSPEND] = {"suspend", NULL,
                      "refuse the tenant's users and printers (not the tenant 'system')", false},
    [TOPT_RESUME] = {"resume", NULL, "end a suspension", false},
    [TOPT_DEALER] = {"dealer", "TENANT",
                     "let TENANT's admins manage this tenant's contracts (a dealer)", false},
    [TOPT_NO_DEALER] = {"no-dealer", NULL, "revoke the tenant's dealer", false},
    {NULL, NULL, NULL, false}};

//
// 'tenant_body_fill()' - Put the tenant options given into a request body.
//

static cli_status_t tenant_body_fill(cli_t *cli, const cli_parsed_t *parsed, json_t *body) {
  cli_status_t status = CLI_STATUS_OK;

  if (parsed->values[TOPT_DISPLAY_NAME])
    status = cli_json_set_string(cli, body, "display_name", parsed->values[TOPT_DISPLAY_NAME]);

  if (status == CLI_STATUS_OK && parsed->values[TOPT_MAX_DOCUMENT_SIZE])
    status = cli_json_set_integer(cli, body, "max_document_size",
                                  tenant_options[TOPT_MAX_DOCUMENT_SIZE].name,
                                  parsed->values[TOPT_MAX_DOCUMENT_SIZE], 1, CLI_INTEGER_MAX);

  if (status == CLI_STATUS_OK && parsed->values[TOPT_MAX_HELD_JOBS])
    status = cli_json_set_integer(cli, body, "max_held_jobs_per_user",
                                  tenant_options[TOPT_MAX_HELD_JOBS].name,
                                  parsed->values[TOPT_MAX_HELD_JOBS], 0, CLI_INTEGER_MAX);

  if (status == CLI_STATUS_OK && parsed->values[TOPT_RETENTION_HOURS])
    status = cli_json_set_integer(cli, body, "retention_hours",
                                  tenant_options[TOPT_RETENTION_HOURS].name,
                                  parsed->values[TOPT_RETENTION_HOURS], 0, 8760);

  if (status == CLI_STATUS_OK && parsed->values[TOPT_PANEL_LOGIN]) {
    if (!cli_args_choice(cli, tenant_options[TOPT_PANEL_LOGIN].name,
                         parsed->values[TOPT_PANEL_LOGIN], tenant_panel_logins))
      status = CLI_STATUS_USAGE;
    else
      status = cli_json_set_string(cli, body, "panel_login", parsed->values[TOPT_PANEL_LOGIN]);
  }

  if (status == CLI_STATUS_OK && parsed->values[TOPT_UNKNOWN_USER_NAMES]) {
    if (!cli_args_choice(cli, tenant_options[TOPT_UNKNOWN_USER_NAMES].name,
                         parsed->values[TOPT_UNKNOWN_USER_NAMES], tenant_unknown_user_names))
      status = CLI_STATUS_USAGE;
    else
      status = cli_json_set_string(cli, body, "unknown_user_names",
                                   parsed->values[TOPT_UNKNOWN_USER_NAMES]);
  }

  if (status == CLI_STATUS_OK && parsed->values[TOPT_SUSPEND] && parsed->values[TOPT_RESUME])
    status = cli_fail(cli, CLI_STATUS_USAGE, "--suspend and --resume exclude each other");
  else if (status == CLI_STATUS_OK && (parsed->values[TOPT_SUSPEND] || parsed->values[TOPT_RESUME]))
    status = cli_json_set_boolean(cli, body, "suspended", parsed->values[TOPT_SUSPEND] != NULL);

  return (status);
}

//
// 'tenant_dealer_apply()' - PUT or DELETE /api/v1/tenants/NAME/dealer for
//                           --dealer or --no-dealer (nothing when neither).
//
// *applied is set when a request was made.
//

static cli_status_t tenant_dealer_apply(cli_t *cli, const cli_parsed_t *parsed, const char *name,
                                        bool *applied) {
  const char *dealer = parsed->values[TOPT_DEALER];
  cli_request_t request = {.path = "/api/v1/tenants", .id = name, .action = "dealer"};
  json_t *body = NULL, *response = NULL;
  cli_status_t status;

  *applied = false;

  if (dealer && parsed->values[TOPT_NO_DEALER])
    return (cli_fail(cli, CLI_STATUS_USAGE, "--dealer and --no-dealer exclude each other"));

  if (!dealer && !parsed->values[TOPT_NO_DEALER]) return (CLI_STATUS_OK);

  if (dealer) {
    body = json_object();
    request.method = "PUT";
    request.body = body;

    if ((status = cli_json_set_string(cli, body, "dealer", dealer)) != CLI_STATUS_OK) goto done;
  } else {
    request.method = "DELETE";
  }

  if ((status = cli_http_send(cli, &request, &response)) == CLI_STATUS_OK) *applied = true;

done:
  json_decref(body);
  json_decref(response);

  return (status);
}

//
// 'tenant_print()' - Send request (a tenant's GET, PATCH or POST) and print
//                    the tenant with its dealer.
//
// The dealer is not a member of the tenant document: it is asked for at
// GET /api/v1/tenants/NAME/dealer (404: none) and added as "dealer".
//

static cli_status_t tenant_print(cli_t *cli, const cli_request_t *request, const char *name) {
  cli_request_t ask = {.method = "GET", .path = "/api/v1/tenants", .id = name, .action = "dealer"};
  json_t *tenant = NULL, *dealer = NULL;
  cli_status_t status;

  if ((status = cli_http_send(cli, request, &tenant)) != CLI_STATUS_OK) goto done;

  if (json_is_object(tenant) && !json_object_get(tenant, "dealer")) {
    if (cli_http_send(cli, &ask, &dealer) == CLI_STATUS_OK &&
        json_is_string(json_object_get(dealer, "dealer")))
      json_object_set(tenant, "dealer", json_object_get(dealer, "dealer"));
    else
      json_object_set_new(tenant, "dealer", json_null());

    cli->error[0] = '\0';  // no dealer (404) is an answer, not a failure
  }

  if (cli->json)
    cli_output_json(tenant);
  else if (tenant)
    status = cli_output_record(cli, tenant, &tenant_view);

done:
  json_decref(tenant);
  json_decref(dealer);

  return (status);
}

//
// 'tenant_list()' - GET /api/v1/tenants
//

static cli_status_t tenant_list(cli_t *cli, cli_parsed_t *parsed) {
  cli_request_t request = {.method = "GET", .path = "/api/v1/tenants"};

  (void)parsed;

  return (cli_command_list(cli, &request, &tenant_view));
}

//
// 'tenant_create()' - POST /api/v1/tenants
//

static cli_status_t tenant_create(cli_t *cli, cli_parsed_t *parsed) {
  json_t *body = json_object();
  cli_request_t request = {.method = "POST", .path = "/api/v1/tenants", .body = body};
  cli_status_t status;
  bool applied;

  // The dealer is granted after the tenant exists, then the tenant shown.
  if (parsed->values[TOPT_DEALER] && parsed->values[TOPT_NO_DEALER])
    status = cli_fail(cli, CLI_STATUS_USAGE, "--dealer and --no-dealer exclude each other");
  else if ((status = cli_json_set_string(cli, body, "name", parsed->positional[0])) ==
               CLI_STATUS_OK &&
           (status = tenant_body_fill(cli, parsed, body)) == CLI_STATUS_OK) {
    json_t *created = NULL;

    if ((status = cli_http_send(cli, &request, &created)) == CLI_STATUS_OK &&
        (status = tenant_dealer_apply(cli, parsed, parsed->positional[0], &applied)) ==
            CLI_STATUS_OK) {
      cli_request_t show = {
          .method = "GET", .path = "/api/v1/tenants", .id = parsed->positional[0]};

      status = tenant_print(cli, &show, parsed->positional[0]);
    }

    json_decref(created);
  }

  json_decref(body);

  return (status);
}

//
// 'tenant_show()' - GET /api/v1/tenants/NAME
//

static cli_status_t tenant_show(cli_t *cli, cli_parsed_t *parsed) {
  cli_request_t request = {.method = "GET", .path = "/api/v1/tenants", .id = parsed->positional[0]};

  return (tenant_print(cli, &request, parsed->positional[0]));
}

//
// 'tenant_set()' - PATCH /api/v1/tenants/NAME
//

static cli_status_t tenant_set(cli_t *cli, cli_parsed_t *parsed) {
  json_t *body = json_object();
  cli_request_t request = {
      .method = "PATCH", .path = "/api/v1/tenants", .id = parsed->positional[0], .body = body};
  cli_status_t status;
  bool dealer = parsed->values[TOPT_DEALER] || parsed->values[TOPT_NO_DEALER];
  bool applied = false;

  if ((status = tenant_body_fill(cli, parsed, body)) != CLI_STATUS_OK) goto done;

  if (json_object_size(body) == 0 && !dealer) {
    status = cli_fail(cli, CLI_STATUS_USAGE, "tenant set: nothing to change");
    goto done;
  }

  // --dealer / --no-dealer first (their own route), then the other
  // options, then the tenant as it now is.
  if ((status = tenant_dealer_apply(cli, parsed, parsed->positional[0], &applied)) != CLI_STATUS_OK)
    goto done;

  if (json_object_size(body) == 0) {
    request.method = "GET";
    request.body = NULL;
  }

  status = tenant_print(cli, &request, parsed->positional[0]);

done:
  json_decref(body);

  return (status);
}

//
// 'tenant_delete()' - DELETE /api/v1/tenants/NAME
//

static cli_status_t tenant_delete(cli_t *cli, cli_parsed_t *parsed) {
  cli_request_t request = {
      .method = "DELETE", .path = "/api/v1/tenants", .id = parsed->positional[0]};
  char message[256];

  snprintf(message, sizeof(message), "Tenant '%s' deleted.", parsed->positional[0]);

  return (cli_command_delete(cli, &request, message));
}

static const cli_subcommand_t tenant_subcommands[] = {
    {"list", "", NULL, tenant_list},         {"create", "NAME", tenant_options, tenant_create},
    {"show", "NAME", NULL, tenant_show},     {"set", "NAME", tenant_options, tenant_set},
    {"delete", "NAME", NULL, tenant_delete}, {NULL, NULL, NULL, NULL}};

const cli_command_t cli_command_tenant = {
    "tenant", "list, create, change and delete tenants (operators only)", NULL, tenant_subcommands};
