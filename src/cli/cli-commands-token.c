//
// "nimbusctl token": list, create and revoke API tokens (/api/v1/tokens).
//
// 'token create' is the only command that prints a secret: the new token,
// which the server shows this one time only.
//

#include "cli-private.h"

#include <stdio.h>

static const cli_field_t token_fields[] = {{"id", "ID", "Id", NULL},
                                           {"user", "USER", "User", NULL},
                                           {"created_at", "CREATED", "Created", NULL},
                                           {"expires_at", "EXPIRES", "Expires", NULL},
                                           {"revoked", "REVOKED", "Revoked", NULL},
                                           {"label", "LABEL", "Label", NULL},
                                           {NULL, NULL, NULL, NULL}};

static const cli_view_t token_view = {"tokens", token_fields};

static const cli_field_t token_created_fields[] = {{"id", NULL, "Id", NULL},
                                                   {"token", NULL, "Token", NULL},
                                                   {"label", NULL, "Label", NULL},
                                                   {"expires_at", NULL, "Expires", NULL},
                                                   {NULL, NULL, NULL, NULL}};

static const cli_view_t token_created_view = {NULL, token_created_fields};

enum { KOPT_LABEL, KOPT_EXPIRES, KOPT_FOR_USER };

static const cli_option_t token_create_options[] = {
    [KOPT_LABEL] = {"label", "TEXT", "note what the token is for", false},
    [KOPT_EXPIRES] = {"expires", "SECONDS", "lifetime in seconds (default: no expiry)", false},
    [KOPT_FOR_USER] = {"for-user", "NAME", "admins: create the token for another user", false},
    {NULL, NULL, NULL, false}};

//
// 'token_list()' - GET /api/v1/tokens
//

static cli_status_t token_list(cli_t *cli, cli_parsed_t *parsed) {
  cli_request_t request = {.method = "GET", .path = "/api/v1/tokens", .tenant_scoped = true};

  (void)parsed;

  return (cli_command_list(cli, &request, &token_view));
}

//
// 'token_create()' - POST /api/v1/tokens and print the new secret once.
//

static cli_status_t token_create(cli_t *cli, cli_parsed_t *parsed) {
  json_t *body = json_object();
  cli_request_t request = {
      .method = "POST", .path = "/api/v1/tokens", .tenant_scoped = true, .body = body};
  cli_status_t status = body ? CLI_STATUS_OK : cli_fail(cli, CLI_STATUS_FAILED, "out of memory");

  if (status == CLI_STATUS_OK && parsed->values[KOPT_LABEL])
    status = cli_json_set_string(cli, body, "label", parsed->values[KOPT_LABEL]);

  if (status == CLI_STATUS_OK && parsed->values[KOPT_EXPIRES])
    status = cli_json_set_integer(cli, body, "expires_in", token_create_options[KOPT_EXPIRES].name,
                                  parsed->values[KOPT_EXPIRES], 1, CLI_INTEGER_MAX);

  if (status == CLI_STATUS_OK && parsed->values[KOPT_FOR_USER])
    status = cli_json_set_string(cli, body, "user", parsed->values[KOPT_FOR_USER]);

  if (status == CLI_STATUS_OK) status = cli_command_show(cli, &request, &token_created_view);

  if (status == CLI_STATUS_OK && !cli->json)
    fputs("nimbusctl: store the token now; the server will not show it again.\n", stderr);

  json_decref(body);

  return (status);
}

//
// 'token_revoke()' - DELETE /api/v1/tokens/ID
//

static cli_status_t token_revoke(cli_t *cli, cli_parsed_t *parsed) {
  cli_request_t request = {.method = "DELETE",
                           .path = "/api/v1/tokens",
                           .id = parsed->positional[0],
                           .tenant_scoped = true};
  char message[256];

  snprintf(message, sizeof(message), "Token '%s' revoked.", parsed->positional[0]);

  return (cli_command_delete(cli, &request, message));
}

static const cli_subcommand_t token_subcommands[] = {
    {"list", "", NULL, token_list},
    {"create", "", token_create_options, token_create},
    {"revoke", "ID", NULL, token_revoke},
    {NULL, NULL, NULL, NULL}};

const cli_command_t cli_command_token = {
    "token", "list, create and revoke API tokens",
    "'token create' prints the secret token once; use it with --token or\n"
    "NIMBUS_TOKEN.",
    token_subcommands};
