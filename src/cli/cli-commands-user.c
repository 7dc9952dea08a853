//
// "nimbusctl whoami" and "nimbusctl user": the caller's identity, and the
// users of a tenant (/api/v1/whoami, /api/v1/users).
//
// New passwords come from --password, --password-file or, on a terminal,
// a no-echo prompt asked twice; they are never printed.  Panel PINs
// (signing in at a printer) likewise: --panel-pin asks on the terminal,
// --panel-pin-file reads a file.
//
// "nimbusctl user alias add|remove|list USER [ALIAS]" manages the other
// names of a user (a PC's login name: /api/v1/users/NAME/aliases).
//

#include "cli-private.h"

#include <stdio.h>
#include <string.h>

static const cli_field_t whoami_fields[] = {{"user", NULL, "User", NULL},
                                            {"tenant", NULL, "Tenant", NULL},
                                            {"role", NULL, "Role", NULL},
                                            {NULL, NULL, NULL, NULL}};

static const cli_view_t whoami_view = {NULL, whoami_fields};

static const cli_field_t user_fields[] = {{"name", "NAME", "Name", NULL},
                                          {"role", "ROLE", "Role", NULL},
                                          {"has_panel_pin", "PANEL PIN", "Panel PIN set", NULL},
                                          {"created_at", "CREATED", "Created", NULL},
                                          {NULL, NULL, NULL, NULL}};

static const cli_view_t user_view = {"users", user_fields};

static const char *const user_roles[] = {"user", "tenant-admin", "operator", NULL};

enum { UOPT_PASSWORD, UOPT_PASSWORD_FILE, UOPT_ROLE, UOPT_PANEL_PIN, UOPT_PANEL_PIN_FILE };

static const cli_option_t user_options[] = {
    [UOPT_PASSWORD] = {"password", "PASSWORD", "the user's password (prefer --password-file)",
                       false},
    [UOPT_PASSWORD_FILE] = {"password-file", "FILE", "read the password from FILE ('-': stdin)",
                            false},
    [UOPT_ROLE] = {"role", "ROLE", "user (default), tenant-admin or operator", false},
    [UOPT_PANEL_PIN] = {"panel-pin", NULL,
                        "ask for a new panel PIN (4-12 digits, for signing in at a printer)",
                        false},
    [UOPT_PANEL_PIN_FILE] = {"panel-pin-file", "FILE", "read the panel PIN from FILE ('-': stdin)",
                             false},
    {NULL, NULL, NULL, false}};

//
// 'user_panel_pin_fill()' - Put a panel PIN from --panel-pin (prompt) or
//                           --panel-pin-file into a request body.
//

static cli_status_t user_panel_pin_fill(cli_t *cli, cli_parsed_t *parsed, json_t *body) {
  cli_status_t status = CLI_STATUS_OK;
  char secret[CLI_SECRET_MAX];

  secret[0] = '\0';

  if (parsed->values[UOPT_PANEL_PIN] && parsed->values[UOPT_PANEL_PIN_FILE])
    return (
        cli_fail(cli, CLI_STATUS_USAGE, "--panel-pin and --panel-pin-file are mutually exclusive"));

  if (parsed->values[UOPT_PANEL_PIN_FILE]) {
    status = cli_secret_from_file(cli, parsed->values[UOPT_PANEL_PIN_FILE], secret, sizeof(secret));
  } else if (parsed->values[UOPT_PANEL_PIN]) {
    char prompt[256];

    snprintf(prompt, sizeof(prompt), "New panel PIN for %s", parsed->positional[0]);
    cli_output_sanitize(prompt);
    status = cli_secret_prompt(cli, prompt, true, secret, sizeof(secret));
  } else {
    return (CLI_STATUS_OK);
  }

  if (status == CLI_STATUS_OK) status = cli_json_set_string(cli, body, "panel_pin", secret);

  cli_secret_wipe(secret, sizeof(secret));

  return (status);
}

//
// 'user_body_fill()' - Put password and role options into a request body.
//
// With ask_password, a missing password is asked for on the terminal.
// The password only lives in a local buffer (wiped) and in body.
//

static cli_status_t user_body_fill(cli_t *cli, cli_parsed_t *parsed, json_t *body,
                                   bool ask_password) {
  cli_status_t status = CLI_STATUS_OK;
  char secret[CLI_SECRET_MAX];
  bool have = true;

  secret[0] = '\0';

  if (parsed->values[UOPT_PASSWORD] && parsed->values[UOPT_PASSWORD_FILE]) {
    status =
        cli_fail(cli, CLI_STATUS_USAGE, "--password and --password-file are mutually exclusive");
    goto done;
  }

  if (parsed->values[UOPT_PASSWORD])
    status = cli_secret_from_arg(cli, parsed->values[UOPT_PASSWORD], secret, sizeof(secret));
  else if (parsed->values[UOPT_PASSWORD_FILE])
    status = cli_secret_from_file(cli, parsed->values[UOPT_PASSWORD_FILE], secret, sizeof(secret));
  else if (ask_password) {
    char prompt[256];

    snprintf(prompt, sizeof(prompt), "New password for %s", parsed->positional[0]);
    cli_output_sanitize(prompt);
    status = cli_secret_prompt(cli, prompt, true, secret, sizeof(secret));
  } else
    have = false;

  if (status == CLI_STATUS_OK && have) status = cli_json_set_string(cli, body, "password", secret);

  if (status == CLI_STATUS_OK && parsed->values[UOPT_ROLE]) {
    if (!cli_args_choice(cli, user_options[UOPT_ROLE].name, parsed->values[UOPT_ROLE], user_roles))
      status = CLI_STATUS_USAGE;
    else
      status = cli_json_set_string(cli, body, "role", parsed->values[UOPT_ROLE]);
  }

  if (status == CLI_STATUS_OK) status = user_panel_pin_fill(cli, parsed, body);

done:
  cli_secret_wipe(secret, sizeof(secret));

  return (status);
}

//
// 'whoami_show()' - GET /api/v1/whoami
//

static cli_status_t whoami_show(cli_t *cli, cli_parsed_t *parsed) {
  cli_request_t request = {.method = "GET", .path = "/api/v1/whoami"};

  (void)parsed;

  return (cli_command_show(cli, &request, &whoami_view));
}

//
// 'user_list()' - GET /api/v1/users
//

static cli_status_t user_list(cli_t *cli, cli_parsed_t *parsed) {
  cli_request_t request = {.method = "GET", .path = "/api/v1/users", .tenant_scoped = true};

  (void)parsed;

  return (cli_command_list(cli, &request, &user_view));
}

//
// 'user_create()' - POST /api/v1/users
//

static cli_status_t user_create(cli_t *cli, cli_parsed_t *parsed) {
  json_t *body = json_object();
  cli_request_t request = {
      .method = "POST", .path = "/api/v1/users", .tenant_scoped = true, .body = body};
  cli_status_t status;

  if ((status = cli_json_set_string(cli, body, "name", parsed->positional[0])) == CLI_STATUS_OK &&
      (status = cli_json_set_string(cli, body, "role", "user")) == CLI_STATUS_OK &&
      (status = user_body_fill(cli, parsed, body, true)) == CLI_STATUS_OK)
    status = cli_command_show(cli, &request, &user_view);

  json_decref(body);

  return (status);
}

//
// 'user_show()' - GET /api/v1/users/NAME
//

static cli_status_t user_show(cli_t *cli, cli_parsed_t *parsed) {
  cli_request_t request = {
      .method = "GET", .path = "/api/v1/users", .id = parsed->positional[0], .tenant_scoped = true};

  return (cli_command_show(cli, &request, &user_view));
}

//
// 'user_set()' - PATCH /api/v1/users/NAME
//

static cli_status_t user_set(cli_t *cli, cli_parsed_t *parsed) {
  json_t *body = json_object();
  cli_request_t request = {.method = "PATCH",
                           .path = "/api/v1/users",
                           .id = parsed->positional[0],
                           .tenant_scoped = true,
                           .body = body};
  cli_status_t status;

  if ((status = user_body_fill(cli, parsed, body, false)) != CLI_STATUS_OK) goto done;

  if (json_object_size(body) == 0) {
    status = cli_fail(cli, CLI_STATUS_USAGE,
                      "user set: nothing to change (give --password, --password-file, --role, "
                      "--panel-pin or --panel-pin-file)");
    goto done;
  }

  status = cli_command_show(cli, &request, &user_view);

done:
  json_decref(body);

  return (status);
}

//
// 'user_delete()' - DELETE /api/v1/users/NAME
//

static cli_status_t user_delete(cli_t *cli, cli_parsed_t *parsed) {
  cli_request_t request = {.method = "DELETE",
                           .path = "/api/v1/users",
                           .id = parsed->positional[0],
                           .tenant_scoped = true};
  char message[256];

  snprintf(message, sizeof(message), "User '%s' deleted.", parsed->positional[0]);

  return (cli_command_delete(cli, &request, message));
}

static const cli_field_t alias_fields[] = {{"alias", "ALIAS", "Alias", NULL},
                                           {"user", "USER", "User", NULL},
                                           {"created_at", "CREATED", "Created", NULL},
                                           {NULL, NULL, NULL, NULL}};

static const cli_view_t alias_view = {"aliases", alias_fields};

//
// 'user_alias()' - user alias add|remove|list USER [ALIAS]:
//                  POST, DELETE (?alias=) or GET /api/v1/users/USER/aliases
//

static cli_status_t user_alias(cli_t *cli, cli_parsed_t *parsed) {
  const char *action = parsed->positional[0];
  const char *alias = parsed->npositional > 2 ? parsed->positional[2] : NULL;
  cli_request_t request = {.path = "/api/v1/users",
                           .id = parsed->positional[1],
                           .action = "aliases",
                           .tenant_scoped = true};
  cli_status_t status;

  if (!strcmp(action, "list")) {
    if (alias)
      return (cli_fail(cli, CLI_STATUS_USAGE, "user alias list: unexpected argument '%s'", alias));
    request.method = "GET";
    return (cli_command_list(cli, &request, &alias_view));
  }
  if (strcmp(action, "add") && strcmp(action, "remove"))
    return (cli_fail(cli, CLI_STATUS_USAGE, "user alias: unknown action '%s' (add, remove or list)",
                     action));
  if (!alias) return (cli_fail(cli, CLI_STATUS_USAGE, "user alias %s: missing ALIAS", action));

  if (!strcmp(action, "remove")) {
    char message[256];

    request.method = "DELETE";
    request.query[0] = (cli_param_t){"alias", alias};
    snprintf(message, sizeof(message), "Alias '%s' of user '%s' removed.", alias,
             parsed->positional[1]);
    return (cli_command_delete(cli, &request, message));
  }

  json_t *body = json_object();

  request.method = "POST";
  request.body = body;
  if ((status = cli_json_set_string(cli, body, "alias", alias)) == CLI_STATUS_OK)
    status = cli_command_show(cli, &request, &alias_view);
  json_decref(body);

  return (status);
}

static const cli_subcommand_t whoami_subcommands[] = {{NULL, "", NULL, whoami_show},
                                                      {NULL, NULL, NULL, NULL}};

const cli_command_t cli_command_whoami = {"whoami", "show the authenticated user, tenant and role",
                                          NULL, whoami_subcommands};

static const cli_subcommand_t user_subcommands[] = {
    {"list", "", NULL, user_list},
    {"create", "NAME", user_options, user_create},
    {"show", "NAME", NULL, user_show},
    {"set", "NAME", user_options, user_set},
    {"delete", "NAME", NULL, user_delete},
    {"alias", "add|remove|list USER [ALIAS]", NULL, user_alias},
    {NULL, NULL, NULL, NULL}};

const cli_command_t cli_command_user = {
    "user", "list, create, change and delete the users of a tenant",
    "Without --password or --password-file, 'user create' asks for the new\n"
    "password on the terminal.  --panel-pin asks for the user's panel PIN\n"
    "(4 to 12 digits, for signing in at a printer when the tenant's panel\n"
    "login is 'pin').  Operators choose the tenant with the global option\n"
    "--tenant.  'user alias' gives a user other names (a PC's login name,\n"
    "e.g. 'CORP\\jdoe'), matched without regard to ASCII case, so that jobs\n"
    "sent under them belong to the user.",
    user_subcommands};
