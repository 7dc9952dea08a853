//
// "nimbusctl queue": list, create, show, change and delete the print
// queues of a tenant (/api/v1/queues), including how their jobs are
// charged: a price table and the payment mode (issue 12).
//

#include "cli-private.h"

#include <stdio.h>

static const cli_field_t queue_fields[] = {
    {"name", "NAME", "Name", NULL},
    {"release_immediately", "RELEASE NOW", "Release immediately", NULL},
    {"allow_anonymous", "ANONYMOUS", "Allow anonymous", NULL},
    {"release_scope", "RELEASE SCOPE", "Release scope", NULL},
    {"pricing.price_table", "PRICE TABLE", "Price table", NULL},
    {"pricing.payment", "PAYMENT", "Payment", NULL},
    {"printer_uri", "PRINTER URI", "Printer URI", NULL},
    {"created_at", NULL, "Created", NULL},
    {"description", "DESCRIPTION", "Description", NULL},
    {NULL, NULL, NULL, NULL}};

static const cli_view_t queue_view = {"queues", queue_fields};

enum {
  QOPT_DESCRIPTION,
  QOPT_RELEASE,
  QOPT_NO_RELEASE,
  QOPT_ANONYMOUS,
  QOPT_NO_ANONYMOUS,
  QOPT_RELEASE_SCOPE,
  QOPT_PRICE_TABLE,  // the four pricing options stay in this order (cli_json_set_pricing)
  QOPT_NO_PRICE_TABLE,
  QOPT_PAYMENT,
  QOPT_NO_PAYMENT
};

static const char *const queue_release_scopes[] = {"this-printer", "follow-me", NULL};

static const cli_option_t queue_options[] = {
    [QOPT_DESCRIPTION] = {"description", "TEXT", "what the queue is for", false},
    [QOPT_RELEASE] = {"release-immediately", NULL,
                      "make jobs fetchable on arrival (no pull printing)", false},
    [QOPT_NO_RELEASE] = {"no-release-immediately", NULL, "hold jobs until they are released",
                         false},
    [QOPT_ANONYMOUS] = {"allow-anonymous", NULL, "accept jobs without authentication", false},
    [QOPT_NO_ANONYMOUS] = {"no-allow-anonymous", NULL, "accept only authenticated jobs", false},
    [QOPT_RELEASE_SCOPE] = {"release-scope", "SCOPE",
                            "which held jobs a printer's panel lists: this-printer (those sent "
                            "through it) or follow-me (all of the user's)",
                            false},
    [QOPT_PRICE_TABLE] = {"price-table", "TABLE", "price the queue's jobs with price table TABLE",
                          false},
    [QOPT_NO_PRICE_TABLE] = {"no-price-table", NULL,
                             "unset the price table (jobs are free unless their printer has one)",
                             false},
    [QOPT_PAYMENT] = {"payment", "MODE",
                      "none (default) or at-printer (paid at the printer before printing)", false},
    [QOPT_NO_PAYMENT] = {"no-payment", NULL, "unset the payment mode (none)", false},
    {NULL, NULL, NULL, false}};

//
// 'queue_flag_fill()' - Set a boolean member from a --X / --no-X pair.
//

static cli_status_t queue_flag_fill(cli_t *cli, const cli_parsed_t *parsed, json_t *body,
                                    const char *key, int yes, int no) {
  if (parsed->values[yes] && parsed->values[no])
    return (cli_fail(cli, CLI_STATUS_USAGE, "--%s and --%s are mutually exclusive",
                     queue_options[yes].name, queue_options[no].name));

  if (parsed->values[yes] || parsed->values[no])
    return (cli_json_set_boolean(cli, body, key, parsed->values[yes] != NULL));

  return (CLI_STATUS_OK);
}

//
// 'queue_body_fill()' - Put the queue options given into a request body.
//

static cli_status_t queue_body_fill(cli_t *cli, const cli_parsed_t *parsed, json_t *body) {
  cli_status_t status = CLI_STATUS_OK;

  if (parsed->values[QOPT_DESCRIPTION])
    status = cli_json_set_string(cli, body, "description", parsed->values[QOPT_DESCRIPTION]);

  if (status == CLI_STATUS_OK)
    status =
        queue_flag_fill(cli, parsed, body, "release_immediately", QOPT_RELEASE, QOPT_NO_RELEASE);

  if (status == CLI_STATUS_OK)
    status =
        queue_flag_fill(cli, parsed, body, "allow_anonymous", QOPT_ANONYMOUS, QOPT_NO_ANONYMOUS);

  if (status == CLI_STATUS_OK && parsed->values[QOPT_RELEASE_SCOPE]) {
    if (!cli_args_choice(cli, queue_options[QOPT_RELEASE_SCOPE].name,
                         parsed->values[QOPT_RELEASE_SCOPE], queue_release_scopes))
      status = CLI_STATUS_USAGE;
    else
      status = cli_json_set_string(cli, body, "release_scope", parsed->values[QOPT_RELEASE_SCOPE]);
  }

  if (status == CLI_STATUS_OK)
    status = cli_json_set_pricing(cli, parsed, queue_options, QOPT_PRICE_TABLE, body);

  return (status);
}

//
// 'queue_list()' - GET /api/v1/queues
//

static cli_status_t queue_list(cli_t *cli, cli_parsed_t *parsed) {
  cli_request_t request = {.method = "GET", .path = "/api/v1/queues", .tenant_scoped = true};

  (void)parsed;

  return (cli_command_list(cli, &request, &queue_view));
}

//
// 'queue_create()' - POST /api/v1/queues
//

static cli_status_t queue_create(cli_t *cli, cli_parsed_t *parsed) {
  json_t *body = json_object();
  cli_request_t request = {
      .method = "POST", .path = "/api/v1/queues", .tenant_scoped = true, .body = body};
  cli_status_t status;

  if ((status = cli_json_set_string(cli, body, "name", parsed->positional[0])) == CLI_STATUS_OK &&
      (status = queue_body_fill(cli, parsed, body)) == CLI_STATUS_OK)
    status = cli_command_show(cli, &request, &queue_view);

  json_decref(body);

  return (status);
}

//
// 'queue_show()' - GET /api/v1/queues/NAME
//

static cli_status_t queue_show(cli_t *cli, cli_parsed_t *parsed) {
  cli_request_t request = {.method = "GET",
                           .path = "/api/v1/queues",
                           .id = parsed->positional[0],
                           .tenant_scoped = true};

  return (cli_command_show(cli, &request, &queue_view));
}

//
// 'queue_set()' - PATCH /api/v1/queues/NAME
//

static cli_status_t queue_set(cli_t *cli, cli_parsed_t *parsed) {
  json_t *body = json_object();
  cli_request_t request = {.method = "PATCH",
                           .path = "/api/v1/queues",
                           .id = parsed->positional[0],
                           .tenant_scoped = true,
                           .body = body};
  cli_status_t status;

  if ((status = queue_body_fill(cli, parsed, body)) != CLI_STATUS_OK) goto done;

  if (json_object_size(body) == 0) {
    status = cli_fail(cli, CLI_STATUS_USAGE, "queue set: nothing to change");
    goto done;
  }

  status = cli_command_show(cli, &request, &queue_view);

done:
  json_decref(body);

  return (status);
}

//
// 'queue_delete()' - DELETE /api/v1/queues/NAME
//

static cli_status_t queue_delete(cli_t *cli, cli_parsed_t *parsed) {
  cli_request_t request = {.method = "DELETE",
                           .path = "/api/v1/queues",
                           .id = parsed->positional[0],
                           .tenant_scoped = true};
  char message[256];

  snprintf(message, sizeof(message), "Queue '%s' deleted.", parsed->positional[0]);

  return (cli_command_delete(cli, &request, message));
}

static const cli_subcommand_t queue_subcommands[] = {
    {"list", "", NULL, queue_list},         {"create", "NAME", queue_options, queue_create},
    {"show", "NAME", NULL, queue_show},     {"set", "NAME", queue_options, queue_set},
    {"delete", "NAME", NULL, queue_delete}, {NULL, NULL, NULL, NULL}};

const cli_command_t cli_command_queue = {"queue", "list, create, change and delete print queues",
                                         NULL, queue_subcommands};
