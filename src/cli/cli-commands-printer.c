//
// "nimbusctl printer": list, create, show, set (the location and how jobs
// printed on it are charged) and delete the printer registrations (output
// devices) of a tenant, and issue new claim codes (/api/v1/printers,
// admins only).
//
// 'printer create' and 'printer claim-code' print a one-time claim code:
// the printer (or nimbus-connector) registers with it once, and the
// server does not show it again.
//

#include "cli-private.h"

#include <stdio.h>
#include <string.h>

static const cli_field_t printer_fields[] = {
    {"name", "NAME", "Name", NULL},
    {"status", "STATUS", "Status", NULL},
    {"online", "ONLINE", "Online", NULL},
    {"printer_state", "STATE", "Printer state", NULL},
    {"jobs_in_progress", "JOBS", "Jobs in progress", NULL},
    {"last_seen_at", "LAST SEEN", "Last seen", NULL},
    {"queues", "QUEUES", "Queues", NULL},
    {"location", NULL, "Location", NULL},
    {"pricing.price_table", NULL, "Price table", NULL},
    {"pricing.payment", NULL, "Payment", NULL},
    {"printer_state_reasons", NULL, "State reasons", NULL},
    {"make_and_model", NULL, "Make and model", NULL},
    {"output_device_uuid", NULL, "Output device UUID", NULL},
    {"transport", NULL, "Transport", NULL},
    {"registered_at", NULL, "Registered", NULL},
    {"claim_expires_at", NULL, "Claim expires", NULL},
    {"created_at", NULL, "Created", NULL},
    {NULL, NULL, NULL, NULL}};

static const cli_view_t printer_view = {"printers", printer_fields};

static const cli_field_t printer_claim_fields[] = {
    {"claim_code", NULL, "Claim code", NULL}, {"claim_expires_at", NULL, "Expires", NULL},
    {"name", NULL, "Printer", NULL},          {"status", NULL, "Status", NULL},
    {"queues", NULL, "Queues", NULL},         {NULL, NULL, NULL, NULL}};

static const cli_view_t printer_claim_view = {NULL, printer_claim_fields};

enum { POPT_QUEUE, POPT_LOCATION, POPT_CLAIM_TTL };  // printer create
enum { COPT_CLAIM_TTL };                             // printer claim-code
enum {  // printer set; the four pricing options stay in this order (cli_json_set_pricing)
  SOPT_LOCATION,
  SOPT_PRICE_TABLE,
  SOPT_NO_PRICE_TABLE,
  SOPT_PAYMENT,
  SOPT_NO_PAYMENT
};

static const cli_option_t printer_create_options[] = {
    [POPT_QUEUE] = {"queue", "QUEUE", "a queue the printer serves (repeat, or Q1,Q2; up to 8)",
                    true},
    [POPT_LOCATION] = {"location", "TEXT",
                       "where the printer stands (its IPP printer-location), e.g. \"2nd floor\"",
                       false},
    [POPT_CLAIM_TTL] = {"claim-ttl", "SECONDS",
                        "how long the claim code is valid (60 to 2592000, default 86400)", false},
    {NULL, NULL, NULL, false}};

static const cli_option_t printer_set_options[] = {
    [SOPT_LOCATION] = {"location", "TEXT", "where the printer stands (\"\" unsets it)", false},
    [SOPT_PRICE_TABLE] = {"price-table", "TABLE",
                          "price jobs printed here with price table TABLE (wins over the "
                          "queue's)",
                          false},
    [SOPT_NO_PRICE_TABLE] = {"no-price-table", NULL, "use the queue's price table", false},
    [SOPT_PAYMENT] = {"payment", "MODE", "none or at-printer: jobs are paid here before they print",
                      false},
    [SOPT_NO_PAYMENT] = {"no-payment", NULL, "use the queue's payment mode", false},
    {NULL, NULL, NULL, false}};

static const cli_option_t printer_claim_options[] = {
    [COPT_CLAIM_TTL] = {"claim-ttl", "SECONDS",
                        "how long the claim code is valid (60 to 2592000, default 86400)", false},
    {NULL, NULL, NULL, false}};

//
// 'printer_queues_fill()' - Put every --queue value (each may list several
//                           names separated by commas) into body "queues".
//

static cli_status_t printer_queues_fill(cli_t *cli, const cli_parsed_t *parsed, json_t *body) {
  json_t *queues = json_array();

  if (!queues || json_object_set_new(body, "queues", queues) != 0)
    return (cli_fail(cli, CLI_STATUS_FAILED, "out of memory"));

  for (int i = 0; i < parsed->nrepeated[POPT_QUEUE]; i++) {
    const char *p = parsed->repeated[POPT_QUEUE][i];

    for (;;) {
      size_t len = strcspn(p, ",");

      if (len == 0)
        return (cli_fail(cli, CLI_STATUS_USAGE, "--queue: empty queue name in '%s'",
                         parsed->repeated[POPT_QUEUE][i]));

      if (json_array_append_new(queues, json_stringn(p, len)) != 0)
        return (cli_fail(cli, CLI_STATUS_FAILED, "out of memory"));

      if (!p[len]) break;

      p += len + 1;
    }
  }

  return (CLI_STATUS_OK);
}

//
// 'printer_show_claim()' - Send a request answered with a new claim code and
//                          print it, with a reminder that it is shown once.
//

static cli_status_t printer_show_claim(cli_t *cli, const cli_request_t *request) {
  cli_status_t status = cli_command_show(cli, request, &printer_claim_view);

  if (status == CLI_STATUS_OK && !cli->json)
    fputs(
        "nimbusctl: give the claim code to the printer now; the server will not show it "
        "again.\n",
        stderr);

  return (status);
}

//
// 'printer_list()' - GET /api/v1/printers
//

static cli_status_t printer_list(cli_t *cli, cli_parsed_t *parsed) {
  cli_request_t request = {.method = "GET", .path = "/api/v1/printers", .tenant_scoped = true};

  (void)parsed;

  return (cli_command_list(cli, &request, &printer_view));
}

//
// 'printer_create()' - POST /api/v1/printers and print the claim code once.
//

static cli_status_t printer_create(cli_t *cli, cli_parsed_t *parsed) {
  json_t *body = json_object();
  cli_request_t request = {
      .method = "POST", .path = "/api/v1/printers", .tenant_scoped = true, .body = body};
  cli_status_t status = body ? CLI_STATUS_OK : cli_fail(cli, CLI_STATUS_FAILED, "out of memory");

  if (status == CLI_STATUS_OK)
    status = cli_json_set_string(cli, body, "name", parsed->positional[0]);

  if (status == CLI_STATUS_OK) status = printer_queues_fill(cli, parsed, body);

  if (status == CLI_STATUS_OK && parsed->values[POPT_LOCATION])
    status = cli_json_set_string(cli, body, "location", parsed->values[POPT_LOCATION]);

  if (status == CLI_STATUS_OK && parsed->values[POPT_CLAIM_TTL])
    status =
        cli_json_set_integer(cli, body, "claim_ttl", printer_create_options[POPT_CLAIM_TTL].name,
                             parsed->values[POPT_CLAIM_TTL], 60, 2592000);

  if (status == CLI_STATUS_OK) status = printer_show_claim(cli, &request);

  json_decref(body);

  return (status);
}

//
// 'printer_show()' - GET /api/v1/printers/NAME
//

static cli_status_t printer_show(cli_t *cli, cli_parsed_t *parsed) {
  cli_request_t request = {.method = "GET",
                           .path = "/api/v1/printers",
                           .id = parsed->positional[0],
                           .tenant_scoped = true};

  return (cli_command_show(cli, &request, &printer_view));
}

//
// 'printer_delete()' - DELETE /api/v1/printers/NAME
//

static cli_status_t printer_delete(cli_t *cli, cli_parsed_t *parsed) {
  cli_request_t request = {.method = "DELETE",
                           .path = "/api/v1/printers",
                           .id = parsed->positional[0],
                           .tenant_scoped = true};
  char message[256];

  snprintf(message, sizeof(message), "Printer '%s' deleted.", parsed->positional[0]);

  return (cli_command_delete(cli, &request, message));
}

//
// 'printer_claim_code()' - POST /api/v1/printers/NAME/claim-code
//

static cli_status_t printer_claim_code(cli_t *cli, cli_parsed_t *parsed) {
  json_t *body = json_object();
  cli_request_t request = {.method = "POST",
                           .path = "/api/v1/printers",
                           .id = parsed->positional[0],
                           .action = "claim-code",
                           .tenant_scoped = true,
                           .body = body};
  cli_status_t status = body ? CLI_STATUS_OK : cli_fail(cli, CLI_STATUS_FAILED, "out of memory");

  if (status == CLI_STATUS_OK && parsed->values[COPT_CLAIM_TTL])
    status =
        cli_json_set_integer(cli, body, "claim_ttl", printer_claim_options[COPT_CLAIM_TTL].name,
                             parsed->values[COPT_CLAIM_TTL], 60, 2592000);

  if (status == CLI_STATUS_OK) status = printer_show_claim(cli, &request);

  json_decref(body);

  return (status);
}

//
// 'printer_set()' - PATCH /api/v1/printers/NAME (location, pricing)
//

static cli_status_t printer_set(cli_t *cli, cli_parsed_t *parsed) {
  json_t *body = json_object();
  cli_request_t request = {.method = "PATCH",
                           .path = "/api/v1/printers",
                           .id = parsed->positional[0],
                           .tenant_scoped = true,
                           .body = body};
  cli_status_t status = body ? CLI_STATUS_OK : cli_fail(cli, CLI_STATUS_FAILED, "out of memory");

  if (status == CLI_STATUS_OK && parsed->values[SOPT_LOCATION])
    status = cli_json_set_string(cli, body, "location", parsed->values[SOPT_LOCATION]);

  if (status == CLI_STATUS_OK)
    status = cli_json_set_pricing(cli, parsed, printer_set_options, SOPT_PRICE_TABLE, body);

  if (status == CLI_STATUS_OK && json_object_size(body) == 0)
    status = cli_fail(cli, CLI_STATUS_USAGE, "printer set: nothing to change");

  if (status == CLI_STATUS_OK) status = cli_command_show(cli, &request, &printer_view);

  json_decref(body);

  return (status);
}

static const cli_subcommand_t printer_subcommands[] = {
    {"list", "", NULL, printer_list},
    {"create", "NAME", printer_create_options, printer_create},
    {"show", "NAME", NULL, printer_show},
    {"set", "NAME", printer_set_options, printer_set},
    {"delete", "NAME", NULL, printer_delete},
    {"claim-code", "NAME", printer_claim_options, printer_claim_code},
    {NULL, NULL, NULL, NULL}};

const cli_command_t cli_command_printer = {
    "printer", "list, create and delete printer registrations; issue claim codes",
    "'printer create' and 'printer claim-code' print a one-time claim code;\n"
    "the printer registers with it (Register-Output-Device or\n"
    "POST /api/v1/device/register) and gets its own credential.  A new claim\n"
    "code makes the previous one stop working.",
    printer_subcommands};
