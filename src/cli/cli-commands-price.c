//
// "nimbusctl price-table": list, show, create, update and delete the price
// tables of a tenant (/api/v1/price-tables; changes: administrators).
//
// A table is a JSON document (docs/PAYMENTS.md "Price tables") read from a
// file: prices are whole numbers of the currency's minor unit, so a file
// with a fraction or exponent anywhere is refused here, before jansson
// would carry it as a double.  The file may also be what
// "nimbusctl --json price-table show NAME" printed ({name, table, ...}):
// its "table" is used.
//

#include "cli-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PRICE_FILE_MAX (1024u * 1024u)  // largest table file read

static const cli_field_t price_row_fields[] = {
    {"from", "FROM", "From", NULL},          {"size", "SIZE", "Size", NULL},
    {"colour", "COLOUR", "Colour", NULL},    {"one", "ONE-SIDED", "One-sided", NULL},
    {"two", "TWO-SIDED", "Two-sided", NULL}, {NULL, NULL, NULL, NULL}};

static const cli_view_t price_row_view = {NULL, price_row_fields};

static const cli_field_t price_table_fields[] = {
    {"name", "NAME", "Name", NULL},
    {"table.currency", "CURRENCY", "Currency", NULL},
    {"table.mode", "MODE", "Mode", NULL},
    {"created_at", NULL, "Created", NULL},
    {"updated_at", "UPDATED", "Updated", NULL},
    {"cli:prices", NULL, "Prices per impression", &price_row_view},
    {NULL, NULL, NULL, NULL}};

static const cli_view_t price_table_view = {"price_tables", price_table_fields};

enum { FOPT_FILE };

static const cli_option_t price_file_options[] = {
    [FOPT_FILE] = {"file", "FILE", "the table as JSON ('-': stdin)", true},
    {NULL, NULL, NULL, false}};

//
// 'price_find_real()' - Does a JSON value hold a number that is not an
//                       integer anywhere inside?
//

static bool price_find_real(const json_t *value) {
  const char *key;
  json_t *member;
  size_t i;

  if (json_is_real(value)) return (true);

  if (json_is_object(value)) {
    json_object_foreach((json_t *)value, key, member) {
      if (price_find_real(member)) return (true);
    }
  } else if (json_is_array(value)) {
    json_array_foreach(value, i, member) {
      if (price_find_real(member)) return (true);
    }
  }

  return (false);
}

//
// 'price_read_file()' - Read a table file into *table (new reference).
//
// path "-" is standard input.  Fails (CLI_STATUS_FAILED) when the file
// cannot be read, is larger than PRICE_FILE_MAX, is not a JSON object or
// holds a non-integer number.
//

static cli_status_t price_read_file(cli_t *cli, const char *path, json_t **table) {
  FILE *fp = strcmp(path, "-") ? fopen(path, "r") : stdin;
  cli_status_t status = CLI_STATUS_FAILED;
  char *data = NULL;
  size_t len = 0;
  json_t *document = NULL, *inner;
  json_error_t error;

  *table = NULL;

  if (!fp) return (cli_fail(cli, CLI_STATUS_FAILED, "%s: %s", path, strerror(errno)));

  if (!(data = malloc(PRICE_FILE_MAX + 1))) {
    cli_fail(cli, CLI_STATUS_FAILED, "out of memory");
    goto done;
  }

  len = fread(data, 1, PRICE_FILE_MAX + 1, fp);

  if (ferror(fp)) {
    cli_fail(cli, CLI_STATUS_FAILED, "%s: cannot read it", path);
    goto done;
  }

  if (len > PRICE_FILE_MAX) {
    cli_fail(cli, CLI_STATUS_FAILED, "%s: larger than %u KiB", path, PRICE_FILE_MAX / 1024u);
    goto done;
  }

  if (!(document = json_loadb(data, len, JSON_REJECT_DUPLICATES, &error))) {
    cli_fail(cli, CLI_STATUS_FAILED, "%s: line %d: %s", path, error.line, error.text);
    goto done;
  }

  // The output of "price-table show --json": take its table.
  inner = json_object_get(document, "table");

  if (json_is_object(inner) && !json_object_get(document, "tiers")) {
    json_incref(inner);
    json_decref(document);
    document = inner;
  }

  if (!json_is_object(document)) {
    cli_fail(cli, CLI_STATUS_FAILED, "%s: a price table is a JSON object", path);
    goto done;
  }

  if (price_find_real(document)) {
    cli_fail(cli, CLI_STATUS_FAILED,
             "%s: prices are whole numbers of the currency's minor unit (10 for 0.10 EUR); "
             "the file has a number with a fraction or exponent",
             path);
    goto done;
  }

  *table = document;
  document = NULL;
  status = CLI_STATUS_OK;

done:
  json_decref(document);
  free(data);

  if (fp != stdin) fclose(fp);

  return (status);
}

//
// 'price_add_rows()' - Add the rows of one tier's prices for one size.
//

static cli_status_t price_add_rows(cli_t *cli, json_t *rows, const json_t *from, const char *size,
                                   const json_t *colours, const char *currency) {
  static const char *const names[] = {"mono", "color"};
  cli_status_t status = CLI_STATUS_OK;

  for (int i = 0; i < 2 && status == CLI_STATUS_OK; i++) {
    const json_t *sides = json_object_get(colours, names[i]);
    json_t *row;

    if (!json_is_object(sides)) continue;

    if (!(row = json_pack("{s:O, s:s, s:s}", "from", (json_t *)from, "size", size, "colour",
                          names[i])) ||
        json_array_append_new(rows, row))
      return (cli_fail(cli, CLI_STATUS_FAILED, "out of memory"));

    if ((status = cli_money_set_text(cli, row, "one", json_object_get(sides, "one-sided"), currency,
                                     false)) == CLI_STATUS_OK)
      status =
          cli_money_set_text(cli, row, "two", json_object_get(sides, "two-sided"), currency, false);
  }

  return (status);
}

//
// 'price_decorate()' - Add "cli:prices", the table's prices as rows
//                      (tier start, size, colour, one- and two-sided).
//

static cli_status_t price_decorate(cli_t *cli, json_t *record) {
  const json_t *table = json_object_get(record, "table");
  const char *currency = json_string_value(json_object_get(table, "currency"));
  json_t *rows = json_array();
  cli_status_t status = CLI_STATUS_OK;
  const json_t *tier;
  size_t i;

  if (!rows || json_object_set_new(record, "cli:prices", rows))
    return (cli_fail(cli, CLI_STATUS_FAILED, "out of memory"));

  json_array_foreach(json_object_get(table, "tiers"), i, tier) {
    const char *size;
    json_t *colours;

    json_object_foreach(json_object_get(tier, "prices"), size, colours) {
      if ((status = price_add_rows(cli, rows, json_object_get(tier, "from"), size, colours,
                                   currency)) != CLI_STATUS_OK)
        return (status);
    }
  }

  return (status);
}

//
// 'price_send()' - Send a request answered with one table and print it.
//

static cli_status_t price_send(cli_t *cli, const cli_request_t *request) {
  json_t *response = NULL;
  cli_status_t status;

  if ((status = cli_http_send(cli, request, &response)) != CLI_STATUS_OK) goto done;

  if (cli->json)
    cli_output_json(response);
  else if ((status = price_decorate(cli, response)) == CLI_STATUS_OK)
    status = cli_output_record(cli, response, &price_table_view);

done:
  json_decref(response);

  return (status);
}

//
// 'price_list()' - GET /api/v1/price-tables
//

static cli_status_t price_list(cli_t *cli, cli_parsed_t *parsed) {
  cli_request_t request = {.method = "GET", .path = "/api/v1/price-tables", .tenant_scoped = true};

  (void)parsed;

  return (cli_command_list(cli, &request, &price_table_view));
}

//
// 'price_show()' - GET /api/v1/price-tables/NAME
//

static cli_status_t price_show(cli_t *cli, cli_parsed_t *parsed) {
  cli_request_t request = {.method = "GET",
                           .path = "/api/v1/price-tables",
                           .id = parsed->positional[0],
                           .tenant_scoped = true};

  return (price_send(cli, &request));
}

//
// 'price_write()' - POST /api/v1/price-tables {name, table} (create) or
//                   PATCH /api/v1/price-tables/NAME {table} (update).
//

static cli_status_t price_write(cli_t *cli, cli_parsed_t *parsed, bool create) {
  json_t *body = json_object();
  json_t *table = NULL;
  cli_request_t request = {.method = create ? "POST" : "PATCH",
                           .path = "/api/v1/price-tables",
                           .id = create ? NULL : parsed->positional[0],
                           .tenant_scoped = true,
                           .body = body};
  cli_status_t status = body ? CLI_STATUS_OK : cli_fail(cli, CLI_STATUS_FAILED, "out of memory");

  if (status == CLI_STATUS_OK && create)
    status = cli_json_set_string(cli, body, "name", parsed->positional[0]);

  if (status == CLI_STATUS_OK &&
      (status = price_read_file(cli, parsed->values[FOPT_FILE], &table)) == CLI_STATUS_OK &&
      json_object_set_new(body, "table", table))
    status = cli_fail(cli, CLI_STATUS_FAILED, "out of memory");

  if (status == CLI_STATUS_OK) status = price_send(cli, &request);

  json_decref(body);

  return (status);
}

//
// 'price_create()' - POST /api/v1/price-tables
//

static cli_status_t price_create(cli_t *cli, cli_parsed_t *parsed) {
  return (price_write(cli, parsed, true));
}

//
// 'price_update()' - PATCH /api/v1/price-tables/NAME
//

static cli_status_t price_update(cli_t *cli, cli_parsed_t *parsed) {
  return (price_write(cli, parsed, false));
}

//
// 'price_delete()' - DELETE /api/v1/price-tables/NAME
//

static cli_status_t price_delete(cli_t *cli, cli_parsed_t *parsed) {
  cli_request_t request = {.method = "DELETE",
                           .path = "/api/v1/price-tables",
                           .id = parsed->positional[0],
                           .tenant_scoped = true};
  char message[256];

  snprintf(message, sizeof(message), "Price table '%s' deleted.", parsed->positional[0]);

  return (cli_command_delete(cli, &request, message));
}

static const cli_subcommand_t price_subcommands[] = {
    {"list", "", NULL, price_list},
    {"show", "NAME", NULL, price_show},
    {"create", "NAME", price_file_options, price_create},
    {"update", "NAME", price_file_options, price_update},
    {"delete", "NAME", NULL, price_delete},
    {NULL, NULL, NULL, NULL}};

const cli_command_t cli_command_price_table = {
    "price-table", "list, show, create, update and delete price tables",
    "A table prices one impression by size (a4, a3, letter, legal, other),\n"
    "colour (mono, color) and sides (one-sided, two-sided), in tiers by the\n"
    "job's impression count; prices are whole numbers of the currency's minor\n"
    "unit, e.g.\n"
    "  {\"currency\": \"EUR\", \"mode\": \"graduated\", \"tiers\": [{\"from\": 1, \"prices\":\n"
    "    {\"a4\": {\"mono\": {\"one-sided\": 10, \"two-sided\": 8}}}}]}\n"
    "Assign a table with 'queue set --price-table' or 'printer set --price-table'.",
    price_subcommands};
