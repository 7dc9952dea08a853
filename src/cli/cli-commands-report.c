//
// "nimbusctl report": the print log and its totals (/api/v1/reports;
// administrators see the tenant's jobs, a user their own), docs/BILLING.md
// "Reports".
//
// "--csv" writes the server's CSV export to standard output byte for byte,
// as it arrives (cli_request_t.raw).  Otherwise amounts (integers of the
// currency's minor unit on the wire) are shown as text with money_format()
// (cli-money.c).
//

#include "cli-private.h"

#include <stdio.h>
#include <string.h>

static const cli_field_t log_fields[] = {{"id", "ID", "Id", NULL},
                                         {"created_at", "CREATED", "Created", NULL},
                                         {"user", "USER", "User", NULL},
                                         {"purpose", "PURPOSE", "Purpose", NULL},
                                         {"account", "ACCOUNT", "Account", NULL},
                                         {"printer", "PRINTER", "Printer", NULL},
                                         {"pages", "PAGES", "Pages", NULL},
                                         {"impressions", "IMPR", "Impressions", NULL},
                                         {"state", "STATE", "State", NULL},
                                         {"cli:total", "TOTAL", "Total", NULL},
                                         {"charge_state", "CHARGE", "Charge", NULL},
                                         {NULL, NULL, NULL, NULL}};

static const cli_view_t log_view = {"jobs", log_fields};

static const cli_field_t totals_fields[] = {{"key", "KEY", "Key", NULL},
                                            {"jobs", "JOBS", "Jobs", NULL},
                                            {"pages", "PAGES", "Pages", NULL},
                                            {"impressions", "IMPR", "Impressions", NULL},
                                            {"cli:print_fee", "PRINT FEE", "Print fee", NULL},
                                            {"cli:service_fee", "SERVICE FEE", "Service fee", NULL},
                                            {"cli:total", "TOTAL", "Total", NULL},
                                            {NULL, NULL, NULL, NULL}};

static const cli_view_t totals_view = {"rows", totals_fields};

// The filters both reports take come first, at the same indexes.
enum {
  ROPT_FROM,
  ROPT_TO,
  ROPT_USER,
  ROPT_ACCOUNT,
  ROPT_PURPOSE,
  ROPT_PRINTER,
  ROPT_CSV,
  ROPT_BY,                // totals
  ROPT_BEFORE = ROPT_BY,  // log
  ROPT_LIMIT
};

#define REPORT_FILTERS                                                                  \
  [ROPT_FROM] = {"from", "YYYY-MM-DD", "jobs created on that UTC day or later", false}, \
  [ROPT_TO] = {"to", "YYYY-MM-DD", "jobs created on that UTC day or earlier", false},   \
  [ROPT_USER] = {"user", "NAME", "administrators: one user's jobs", false},             \
  [ROPT_ACCOUNT] = {"account", "CODE", "jobs charged to that billing account", false},  \
  [ROPT_PURPOSE] = {"purpose", "NAME", "jobs under purposes of that name", false},      \
  [ROPT_PRINTER] = {"printer", "NAME", "jobs printed on that printer", false},          \
  [ROPT_CSV] = {"csv", NULL, "write the server's CSV export to standard output", false}

static const cli_option_t log_options[] = {
    REPORT_FILTERS,
    [ROPT_BEFORE] = {"before", "ID", "only jobs older than job ID (the next page)", false},
    [ROPT_LIMIT] = {"limit", "N", "at most N jobs (1-1000, default 100; --csv 100000)", false},
    {NULL, NULL, NULL, false}};

static const cli_option_t totals_options[] = {
    REPORT_FILTERS,
    [ROPT_BY] = {"by", "WHAT", "account (default), purpose, user, printer or month", false},
    {NULL, NULL, NULL, false}};

//
// 'report_filters()' - The filter options as query parameters from index 0.
//
// Returns the next free index.
//

static int report_filters(const cli_parsed_t *parsed, const cli_option_t *options,
                          cli_request_t *request) {
  int n = 0;

  for (int opt = ROPT_FROM; opt <= ROPT_PRINTER; opt++)
    request->query[n++] = (cli_param_t){options[opt].name, parsed->values[opt]};

  return (n);
}

//
// 'report_send()' - Send a report request; with --csv stream the export.
//
// *response is the parsed answer otherwise.
//

static cli_status_t report_send(cli_t *cli, const cli_parsed_t *parsed, cli_request_t *request,
                                int n, json_t **response) {
  *response = NULL;

  if (parsed->values[ROPT_CSV]) {
    // The CSV goes out untouched, --json or not.
    request->query[n] = (cli_param_t){"format", "csv"};
    request->accept = "text/csv, application/problem+json";
    request->raw = stdout;
  }

  return (cli_http_send(cli, request, response));
}

//
// 'report_money()' - Add "cli:" texts of the amounts of one row.
//

static cli_status_t report_money(cli_t *cli, json_t *row, const char *currency) {
  static const char *const keys[] = {"print_fee", "service_fee", "total", NULL};
  const char *own = json_string_value(json_object_get(row, "currency"));
  cli_status_t status;
  char key[32];

  for (int i = 0; keys[i]; i++) {
    snprintf(key, sizeof(key), "cli:%s", keys[i]);

    if ((status = cli_money_set_text(cli, row, key, json_object_get(row, keys[i]),
                                     own ? own : currency, true)) != CLI_STATUS_OK)
      return (status);
  }

  return (CLI_STATUS_OK);
}

//
// 'report_log()' - GET /api/v1/reports/print-log
//
// A full page prints a note on stderr with the --before of the next one.
//

static cli_status_t report_log(cli_t *cli, cli_parsed_t *parsed) {
  cli_request_t request = {
      .method = "GET", .path = "/api/v1/reports/print-log", .tenant_scoped = true};
  json_t *response = NULL;
  json_t *row;
  cli_status_t status;
  long long number;
  size_t i;
  int n = report_filters(parsed, log_options, &request);

  if (parsed->values[ROPT_BEFORE] &&
      !cli_args_integer(cli, "before", parsed->values[ROPT_BEFORE], 1, 2147483647LL, &number))
    return (CLI_STATUS_USAGE);

  if (parsed->values[ROPT_LIMIT] &&
      !cli_args_integer(cli, "limit", parsed->values[ROPT_LIMIT], 1, 100000, &number))
    return (CLI_STATUS_USAGE);

  request.query[n++] = (cli_param_t){"before", parsed->values[ROPT_BEFORE]};
  request.query[n++] = (cli_param_t){"limit", parsed->values[ROPT_LIMIT]};

  if ((status = report_send(cli, parsed, &request, n, &response)) != CLI_STATUS_OK ||
      parsed->values[ROPT_CSV])
    goto done;

  if (cli->json) {
    cli_output_json(response);
    goto done;
  }

  json_array_foreach(json_object_get(response, "jobs"), i, row) {
    if ((status = report_money(cli, row, NULL)) != CLI_STATUS_OK) goto done;
  }

  if ((status = cli_output_table(cli, json_object_get(response, "jobs"), &log_view, 0)) !=
      CLI_STATUS_OK)
    goto done;

  if (json_is_integer(json_object_get(response, "next_before")))
    fprintf(stderr,
            "nimbusctl: there are older jobs: see them with --before %" JSON_INTEGER_FORMAT "\n",
            json_integer_value(json_object_get(response, "next_before")));

done:
  json_decref(response);

  return (status);
}

//
// 'report_totals()' - GET /api/v1/reports/totals
//
// After the table, one line with the totals of every row.
//

static cli_status_t report_totals(cli_t *cli, cli_parsed_t *parsed) {
  static const char *const bys[] = {"account", "purpose", "user", "printer", "month", NULL};
  cli_request_t request = {
      .method = "GET", .path = "/api/v1/reports/totals", .tenant_scoped = true};
  json_t *response = NULL;
  json_t *row, *totals;
  cli_status_t status;
  const char *currency;
  size_t i;
  int n = report_filters(parsed, totals_options, &request);

  if (parsed->values[ROPT_BY] && !cli_args_choice(cli, "by", parsed->values[ROPT_BY], bys))
    return (CLI_STATUS_USAGE);

  request.query[n++] = (cli_param_t){"by", parsed->values[ROPT_BY]};

  if ((status = report_send(cli, parsed, &request, n, &response)) != CLI_STATUS_OK ||
      parsed->values[ROPT_CSV])
    goto done;

  if (cli->json) {
    cli_output_json(response);
    goto done;
  }

  currency = json_string_value(json_object_get(response, "currency"));

  json_array_foreach(json_object_get(response, "rows"), i, row) {
    if ((status = report_money(cli, row, currency)) != CLI_STATUS_OK) goto done;
  }

  if ((status = cli_output_table(cli, json_object_get(response, "rows"), &totals_view, 0)) !=
      CLI_STATUS_OK)
    goto done;

  totals = json_object_get(response, "totals");

  if (json_is_object(totals)) {
    char money[96];

    cli_money_text(json_object_get(totals, "total"), currency, true, money, sizeof(money));
    printf("Total: %" JSON_INTEGER_FORMAT " jobs, %" JSON_INTEGER_FORMAT " pages, %s charged\n",
           json_integer_value(json_object_get(totals, "jobs")),
           json_integer_value(json_object_get(totals, "pages")), money[0] ? money : "nothing");
  }

done:
  json_decref(response);

  return (status);
}

static const cli_subcommand_t report_subcommands[] = {{"log", "", log_options, report_log},
                                                      {"totals", "", totals_options, report_totals},
                                                      {NULL, NULL, NULL, NULL}};

const cli_command_t cli_command_report = {
    "report", "the print log and its totals per account, purpose, user, printer or month",
    "Administrators see every job of the tenant, a user their own.  Days are UTC\n"
    "and both --from and --to are included.  Totals count every completed job's\n"
    "pages and the money of charged jobs only.  --csv writes the server's CSV\n"
    "export (amounts as whole minor units) for spreadsheets.",
    report_subcommands};
