//
// "nimbusctl ledger": the tenant's books (/api/v1/ledger, administrators;
// operators see every tenant's with --all): the immutable double-entry
// records of every money movement, and the balance of each account.
//
// "ledger list --csv" writes the server's CSV export to standard output
// byte for byte, as it arrives (cli_request_t.raw), for spreadsheets and
// accounting tools.
//

#include "cli-private.h"

#include <stdio.h>
#include <string.h>

static const cli_field_t ledger_entry_fields[] = {{"id", "ID", "Id", NULL},
                                                  {"posting_id", "POSTING", "Posting", NULL},
                                                  {"created_at", "CREATED", "Created", NULL},
                                                  {"kind", "KIND", "Kind", NULL},
                                                  {"account", "ACCOUNT", "Account", NULL},
                                                  {"currency", "CURRENCY", "Currency", NULL},
                                                  {"amount_text", "AMOUNT", "Amount", NULL},
                                                  {"job_id", "JOB", "Job", NULL},
                                                  {"memo", "MEMO", "Memo", NULL},
                                                  {NULL, NULL, NULL, NULL}};

static const cli_view_t ledger_entry_view = {"entries", ledger_entry_fields};

static const cli_field_t ledger_balance_fields[] = {{"account", "ACCOUNT", "Account", NULL},
                                                    {"currency", "CURRENCY", "Currency", NULL},
                                                    {"balance_text", "BALANCE", "Balance", NULL},
                                                    {NULL, NULL, NULL, NULL}};

static const cli_view_t ledger_balance_view = {"balances", ledger_balance_fields};

enum { LOPT_JOB, LOPT_ALL, LOPT_CSV, LOPT_AFTER, LOPT_LIMIT };

static const cli_option_t ledger_list_options[] = {
    [LOPT_JOB] = {"job", "ID", "only the entries of this job", false},
    [LOPT_ALL] = {"all", NULL, "operators: every tenant's entries", false},
    [LOPT_CSV] = {"csv", NULL, "write the server's CSV export to standard output", false},
    [LOPT_AFTER] = {"after", "ID", "only entries after entry ID (the next page)", false},
    [LOPT_LIMIT] = {"limit", "N", "at most N entries (1-100000, server default 1000)", false},
    {NULL, NULL, NULL, false}};

enum { BOPT_ALL };

static const cli_option_t ledger_balances_options[] = {
    [BOPT_ALL] = {"all", NULL, "operators: every tenant's accounts", false},
    {NULL, NULL, NULL, false}};

//
// 'ledger_list()' - GET /api/v1/ledger (?format=csv with --csv)
//
// Without --csv, prints a note on stderr when the page is full: there may
// be more entries, after the last one shown.
//

static cli_status_t ledger_list(cli_t *cli, cli_parsed_t *parsed) {
  cli_request_t request = {.method = "GET", .path = "/api/v1/ledger", .tenant_scoped = true};
  json_t *response = NULL;
  cli_status_t status;
  long long number, limit = 1000;

  if (parsed->values[LOPT_JOB] &&
      !cli_args_integer(cli, ledger_list_options[LOPT_JOB].name, parsed->values[LOPT_JOB], 1,
                        2147483647LL, &number))
    return (CLI_STATUS_USAGE);

  if (parsed->values[LOPT_AFTER] &&
      !cli_args_integer(cli, ledger_list_options[LOPT_AFTER].name, parsed->values[LOPT_AFTER], 0,
                        CLI_INTEGER_MAX, &number))
    return (CLI_STATUS_USAGE);

  if (parsed->values[LOPT_LIMIT] &&
      !cli_args_integer(cli, ledger_list_options[LOPT_LIMIT].name, parsed->values[LOPT_LIMIT], 1,
                        100000, &limit))
    return (CLI_STATUS_USAGE);

  request.query[0] = (cli_param_t){"job", parsed->values[LOPT_JOB]};
  request.query[1] = (cli_param_t){"all", parsed->values[LOPT_ALL] ? "1" : NULL};
  request.query[2] = (cli_param_t){"after", parsed->values[LOPT_AFTER]};
  request.query[3] = (cli_param_t){"limit", parsed->values[LOPT_LIMIT]};

  if (parsed->values[LOPT_CSV]) {
    // The CSV goes out untouched, --json or not.
    request.query[4] = (cli_param_t){"format", "csv"};
    request.accept = "text/csv, application/problem+json";
    request.raw = stdout;

    return (cli_http_send(cli, &request, &response));
  }

  if ((status = cli_http_send(cli, &request, &response)) != CLI_STATUS_OK) goto done;

  if (cli->json) {
    cli_output_json(response);
    goto done;
  }

  const json_t *entries = json_object_get(response, ledger_entry_view.list_key);

  if ((status = cli_output_table(cli, entries, &ledger_entry_view, 0)) != CLI_STATUS_OK) goto done;

  if ((long long)json_array_size(entries) == limit) {
    const json_t *last = json_object_get(json_array_get(entries, limit - 1), "id");

    fprintf(stderr,
            "nimbusctl: showing %lld entries; there may be more: see them with --after "
            "%" JSON_INTEGER_FORMAT "\n",
            limit, json_integer_value(last));
  }

done:
  json_decref(response);

  return (status);
}

//
// 'ledger_balances()' - GET /api/v1/ledger/balances
//
// After the table, one line per currency with the sum of the balances:
// zero when the books balance.
//

static cli_status_t ledger_balances(cli_t *cli, cli_parsed_t *parsed) {
  cli_request_t request = {
      .method = "GET", .path = "/api/v1/ledger/balances", .tenant_scoped = true};
  json_t *response = NULL;
  cli_status_t status;
  const char *currency;
  json_t *sum;

  request.query[0] = (cli_param_t){"all", parsed->values[BOPT_ALL] ? "1" : NULL};

  if ((status = cli_http_send(cli, &request, &response)) != CLI_STATUS_OK) goto done;

  if (cli->json) {
    cli_output_json(response);
    goto done;
  }

  if ((status = cli_output_table(cli, json_object_get(response, ledger_balance_view.list_key),
                                 &ledger_balance_view, 0)) != CLI_STATUS_OK)
    goto done;

  json_object_foreach(json_object_get(response, "totals"), currency, sum) {
    char text[96], name[16];

    snprintf(name, sizeof(name), "%s", currency);
    cli_output_sanitize(name);

    if (cli_money_text(sum, name, true, text, sizeof(text)))
      printf("Sum of the %s balances: %s%s\n", name, text,
             json_integer_value(sum) == 0 ? " (balanced)" : "");
  }

done:
  json_decref(response);

  return (status);
}

static const cli_subcommand_t ledger_subcommands[] = {
    {"list", "", ledger_list_options, ledger_list},
    {"balances", "", ledger_balances_options, ledger_balances},
    {NULL, NULL, NULL, NULL}};

const cli_command_t cli_command_ledger = {
    "ledger", "list the ledger's entries and the accounts' balances",
    "Every money movement is a posting of entries that sum to zero; entries are\n"
    "never changed (corrections are new entries).  Amounts are shown in the\n"
    "currency; --json and --csv also carry them as whole minor units.",
    ledger_subcommands};
