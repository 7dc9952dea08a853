//
// "nimbusctl contract": create, list, show, renew and delete the service
// contracts that drive provisioning (/api/v1/contracts, docs/PROVISIONING.md
// §1, §2, §13; operators and dealer admins write, a customer's admins
// read).  "show" prints the contract, its items and every run with each
// printer's steps (state, attempts, reason, times); with --json it prints
// {"contract": …, "runs": [the run documents]}.
//
// A contract is named by its number or by its name; a name is looked up
// in the list of the customer tenant (--tenant, else the global --tenant,
// else the caller's own view).
//

#include "cli-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONTRACT_FILE_MAX (1024u * 1024u)  // largest contract document (the webhook's limit)

static const cli_field_t contract_item_fields[] = {{"kind", "KIND", "Kind", NULL},
                                                   {"name", "NAME", "Name", NULL},
                                                   {"version", "VERSION", "Version", NULL},
                                                   {"package", "PACKAGE", "Package", NULL},
                                                   {NULL, NULL, NULL, NULL}};

static const cli_view_t contract_item_view = {"items", contract_item_fields};

static const cli_field_t contract_fields[] = {{"id", "ID", "Id", NULL},
                                              {"name", "NAME", "Name", NULL},
                                              {"tenant", "TENANT", "Customer tenant", NULL},
                                              {"status", "STATUS", "Status", NULL},
                                              {"revision", "REV", "Revision", NULL},
                                              {"cli:start_at", "START", "Start", NULL},
                                              {"cli:end_at", "END", "End", NULL},
                                              {"cli:printers", "PRINTERS", "Printers", NULL},
                                              {"external_id", NULL, "External id", NULL},
                                              {"cli:services", NULL, "Service settings", NULL},
                                              {"cli:updated_at", NULL, "Updated", NULL},
                                              {"items", NULL, "Items", &contract_item_view},
                                              {NULL, NULL, NULL, NULL}};

static const cli_view_t contract_view = {"contracts", contract_fields};

static const cli_field_t contract_step_fields[] = {
    {"cli:printer", "PRINTER", "Printer", NULL},
    {"seq", "SEQ", "Seq", NULL},
    {"kind", "STEP", "Step", NULL},
    {"cli:item", "ITEM", "Item", NULL},
    {"cli:state", "STATE", "State", NULL},
    {"attempts", "ATTEMPTS", "Attempts", NULL},
    {"cli:sent_at", "SENT", "Sent", NULL},
    {"cli:finished_at", "FINISHED", "Finished", NULL},
    {"reason", "REASON", "Reason", NULL},
    {NULL, NULL, NULL, NULL}};

static const cli_view_t contract_step_view = {"steps", contract_step_fields};

enum { COPT_FILE, COPT_TENANT };

static const cli_option_t contract_create_options[] = {
    [COPT_FILE] = {"file", "FILE", "the contract as JSON (docs/PROVISIONING.md §1; '-': stdin)",
                   true},
    [COPT_TENANT] = {"tenant", "TENANT", "the customer tenant (overrides the file's \"tenant\")",
                     false},
    {NULL, NULL, NULL, false}};

enum { LOPT_TENANT, LOPT_CANCELED };

static const cli_option_t contract_list_options[] = {
    [LOPT_TENANT] = {"tenant", "TENANT", "only the contracts of this customer tenant", false},
    [LOPT_CANCELED] = {"canceled", NULL, "list canceled contracts too", false},
    {NULL, NULL, NULL, false}};

static const cli_option_t contract_scope_options[] = {
    {"tenant", "TENANT", "the customer tenant whose contract NAME is", false},
    {NULL, NULL, NULL, false}};

enum { ROPT_END, ROPT_FILE, ROPT_TENANT };

static const cli_option_t contract_renew_options[] = {
    [ROPT_END] = {"end", "RFC3339", "the new end of the term, e.g. 2028-12-31T23:59:59Z", true},
    [ROPT_FILE] = {"file", "FILE",
                   "new items: a JSON array, or an object with \"items\" ('-': stdin)", false},
    [ROPT_TENANT] = {"tenant", "TENANT", "the customer tenant whose contract NAME is", false},
    {NULL, NULL, NULL, false}};

//
// 'contract_load_file()' - Read a JSON document from path ("-": stdin).
//

static json_t *contract_load_file(cli_t *cli, const char *path) {
  json_error_t error;
  json_t *doc;
  FILE *fp = strcmp(path, "-") ? fopen(path, "rb") : stdin;
  char *data;
  size_t len;

  if (!fp) {
    cli_fail(cli, CLI_STATUS_FAILED, "cannot open %s: %s", path, strerror(errno));
    return (NULL);
  }

  if (!(data = malloc(CONTRACT_FILE_MAX + 1))) {
    if (fp != stdin) fclose(fp);
    cli_fail(cli, CLI_STATUS_FAILED, "out of memory");
    return (NULL);
  }

  len = fread(data, 1, CONTRACT_FILE_MAX + 1, fp);
  bool failed = ferror(fp) != 0;

  if (fp != stdin) fclose(fp);

  if (failed || len > CONTRACT_FILE_MAX) {
    free(data);
    if (failed)
      cli_fail(cli, CLI_STATUS_FAILED, "cannot read %s", path);
    else
      cli_fail(cli, CLI_STATUS_FAILED, "%s is larger than %u KiB", path, CONTRACT_FILE_MAX / 1024u);
    return (NULL);
  }

  if (!(doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &error)))
    cli_fail(cli, CLI_STATUS_FAILED, "%s: line %d: %s", path, error.line, error.text);

  free(data);

  return (doc);
}

//
// 'contract_scope()' - The customer tenant a command names: its --tenant,
//                      else the global --tenant, else NULL.
//

static const char *contract_scope(const cli_t *cli, const char *option) {
  return (option ? option : cli->tenant);
}

//
// 'contract_set_time()' - Set "cli:KEY" of object to KEY's time as text.
//
// The server's times are RFC 3339 strings or seconds since the epoch.
//

static cli_status_t contract_set_time(cli_t *cli, json_t *object, const char *key) {
  const json_t *value = json_object_get(object, key);
  char name[64];

  snprintf(name, sizeof(name), "cli:%s", key);

  if (json_is_string(value))
    return (json_object_set(object, name, (json_t *)value)
                ? cli_fail(cli, CLI_STATUS_FAILED, "out of memory")
                : CLI_STATUS_OK);

  return (cli_money_set_time(cli, object, name, value));
}

//
// 'contract_decorate()' - Add the "cli:" texts of a contract.
//

static cli_status_t contract_decorate(cli_t *cli, json_t *contract) {
  const json_t *printers = json_object_get(contract, "printers");
  const json_t *services = json_object_get(contract, "service_settings");
  cli_status_t status;
  const char *key;
  json_t *value, *names;

  if (!json_is_object(contract)) return (CLI_STATUS_OK);

  if ((status = contract_set_time(cli, contract, "start_at")) != CLI_STATUS_OK ||
      (status = contract_set_time(cli, contract, "end_at")) != CLI_STATUS_OK ||
      (status = contract_set_time(cli, contract, "updated_at")) != CLI_STATUS_OK)
    return (status);

  if (json_is_string(printers) || json_is_array(printers))
    json_object_set(contract, "cli:printers", (json_t *)printers);

  // The services named in the settings, e.g. "backup, consumables".
  if (json_is_object(services) && (names = json_array())) {
    json_object_foreach((json_t *)services, key, value) {
      json_array_append_new(names, json_string(key));
    }

    json_object_set_new(contract, "cli:services", names);
  }

  return (CLI_STATUS_OK);
}

//
// 'contract_of_tenant()' - Whether a listed contract is of tenant (NULL:
//                          any).
//
// An operator's list is of the ?tenant= asked for; an admin's holds the
// own tenant's contracts and those of the customers it is the dealer of,
// so the tenant is picked here.
//

static bool contract_of_tenant(const json_t *contract, const char *tenant) {
  const char *of = json_string_value(json_object_get(contract, "tenant"));

  return (!tenant || (of && !strcmp(of, tenant)));
}

//
// 'contract_find()' - The contract named by word (a number, or a name
//                     looked up in the tenant's list): a new reference.
//

static json_t *contract_find(cli_t *cli, const char *word, const char *tenant) {
  cli_request_t request = {.method = "GET", .path = "/api/v1/contracts"};
  json_t *response = NULL, *found = NULL, *item;
  size_t i, matches = 0;

  if (word[strspn(word, "0123456789")] == '\0') {
    request.id = word;
    request.query[0] = (cli_param_t){"tenant", tenant};

    if (cli_http_send(cli, &request, &response) != CLI_STATUS_OK) return (NULL);

    return (response);
  }

  request.query[0] = (cli_param_t){"tenant", tenant};
  request.query[1] = (cli_param_t){"canceled", "true"};

  if (cli_http_send(cli, &request, &response) != CLI_STATUS_OK) return (NULL);

  json_array_foreach(json_object_get(response, "contracts"), i, item) {
    if (json_is_string(json_object_get(item, "name")) &&
        !strcmp(json_string_value(json_object_get(item, "name")), word) &&
        contract_of_tenant(item, tenant)) {
      if (!found) found = json_incref(item);
      matches++;
    }
  }

  json_decref(response);

  if (matches > 1) {
    json_decref(found);
    cli_fail(cli, CLI_STATUS_FAILED,
             "%zu contracts are named '%s' (of different customers): add --tenant TENANT", matches,
             word);
    return (NULL);
  }

  if (!found)
    cli_fail(cli, CLI_STATUS_FAILED, "no contract named '%s'%s%s", word,
             tenant ? " of tenant " : "", tenant ? tenant : "");

  return (found);
}

//
// 'contract_id_text()' - The contract's id as text for a request path.
//

static bool contract_id_text(cli_t *cli, const json_t *contract, char *buf, size_t size) {
  const json_t *id = json_object_get(contract, "id");

  if (json_is_integer(id))
    snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(id));
  else if (json_is_string(id))
    snprintf(buf, size, "%s", json_string_value(id));
  else {
    cli_fail(cli, CLI_STATUS_FAILED, "server sent a contract without an id");
    return (false);
  }

  return (true);
}

//
// 'contract_steps_flat()' - One array of a run's steps, each with
//                           "cli:printer" and its texts.
//
// A run lists its steps grouped per printer ("printers": [{"printer",
// "steps"}]) or flat ("steps", each naming its printer).
//

static json_t *contract_steps_flat(cli_t *cli, const json_t *run) {
  json_t *flat = json_array(), *group, *step;
  const json_t *groups = json_object_get(run, "printers");
  size_t i, j;

  if (!flat) return (NULL);

  json_array_foreach(groups, i, group) {
    const json_t *printer = json_object_get(group, "printer");

    if (!printer) printer = json_object_get(group, "name");

    json_array_foreach(json_object_get(group, "steps"), j, step) {
      if (!json_object_get(step, "printer") && printer)
        json_object_set(step, "printer", (json_t *)printer);

      json_array_append(flat, step);
    }
  }

  json_array_foreach(json_object_get(run, "steps"), i, step) {
    json_array_append(flat, step);
  }

  json_array_foreach(flat, i, step) {
    const json_t *printer = json_object_get(step, "printer");
    const json_t *state = json_object_get(step, "state");

    if (json_is_object(printer)) printer = json_object_get(printer, "name");

    json_object_set(step, "cli:printer", printer ? (json_t *)printer : json_null());

    const json_t *item = json_object_get(step, "item_name");

    if (!item) item = json_object_get(step, "name");

    json_object_set(step, "cli:item", item ? (json_t *)item : json_null());

    // A planned step behind a failed one waits for good: "blocked" (§6).
    if (json_is_true(json_object_get(step, "blocked")))
      json_object_set_new(step, "cli:state", json_string("blocked"));
    else
      json_object_set(step, "cli:state", state ? (json_t *)state : json_null());

    if (contract_set_time(cli, step, "sent_at") != CLI_STATUS_OK ||
        contract_set_time(cli, step, "finished_at") != CLI_STATUS_OK) {
      json_decref(flat);
      return (NULL);
    }
  }

  return (flat);
}

//
// 'contract_print_run()' - Print one run: a heading line and its steps.
//

static cli_status_t contract_print_run(cli_t *cli, json_t *run) {
  const json_t *note = json_object_get(run, "note");
  json_t *steps;
  char *heading;
  cli_status_t status = CLI_STATUS_OK;

  contract_set_time(cli, run, "created_at");
  contract_set_time(cli, run, "finished_at");

  if (asprintf(&heading,
               "Run %" JSON_INTEGER_FORMAT " (%s, revision %" JSON_INTEGER_FORMAT
               "): %s, created %s%s%s",
               json_integer_value(json_object_get(run, "id")),
               json_string_value(json_object_get(run, "kind")) ?: "?",
               json_integer_value(json_object_get(run, "revision")),
               json_string_value(json_object_get(run, "state")) ?: "?",
               json_string_value(json_object_get(run, "cli:created_at")) ?: "-",
               json_is_string(json_object_get(run, "cli:finished_at")) ? ", finished " : "",
               json_string_value(json_object_get(run, "cli:finished_at")) ?: "") < 0)
    return (cli_fail(cli, CLI_STATUS_FAILED, "out of memory"));

  cli_output_sanitize(heading);
  printf("\n%s\n", heading);
  free(heading);

  if (json_is_string(note) && *json_string_value(note)) {
    char *text = strdup(json_string_value(note));

    if (!text) return (cli_fail(cli, CLI_STATUS_FAILED, "out of memory"));

    cli_output_sanitize(text);
    printf("  %s\n", text);
    free(text);
  }

  if (!(steps = contract_steps_flat(cli, run)))
    return (cli->error[0] ? CLI_STATUS_FAILED : cli_fail(cli, CLI_STATUS_FAILED, "out of memory"));

  if (json_array_size(steps) > 0) status = cli_output_table(cli, steps, &contract_step_view, 2);

  json_decref(steps);

  return (status);
}

//
// 'contract_create()' - POST /api/v1/contracts with the file's contract.
//

static cli_status_t contract_create(cli_t *cli, cli_parsed_t *parsed) {
  json_t *body, *response = NULL;
  cli_request_t request = {.method = "POST", .path = "/api/v1/contracts"};
  cli_status_t status;

  if (!(body = contract_load_file(cli, parsed->values[COPT_FILE]))) return (CLI_STATUS_FAILED);

  if (!json_is_object(body)) {
    json_decref(body);
    return (cli_fail(cli, CLI_STATUS_FAILED, "%s: a contract is a JSON object",
                     parsed->values[COPT_FILE]));
  }

  if (parsed->values[COPT_TENANT] &&
      (status = cli_json_set_string(cli, body, "tenant", parsed->values[COPT_TENANT])) !=
          CLI_STATUS_OK)
    goto done;

  request.body = body;

  if ((status = cli_http_send(cli, &request, &response)) != CLI_STATUS_OK) goto done;

  if (cli->json)
    cli_output_json(response);
  else if ((status = contract_decorate(cli, response)) == CLI_STATUS_OK)
    status = cli_output_record(cli, response, &contract_view);

done:
  json_decref(response);
  json_decref(body);

  return (status);
}

//
// 'contract_list()' - GET /api/v1/contracts[?tenant=]
//

static cli_status_t contract_list(cli_t *cli, cli_parsed_t *parsed) {
  const char *tenant = contract_scope(cli, parsed->values[LOPT_TENANT]);
  cli_request_t request = {
      .method = "GET",
      .path = "/api/v1/contracts",
      .query = {{"tenant", tenant}, {"canceled", parsed->values[LOPT_CANCELED] ? "true" : NULL}}};
  json_t *response = NULL, *rows = json_array(), *item;
  cli_status_t status;
  size_t i;

  if (!rows) return (cli_fail(cli, CLI_STATUS_FAILED, "out of memory"));

  if ((status = cli_http_send(cli, &request, &response)) != CLI_STATUS_OK) goto done;

  json_array_foreach(json_object_get(response, "contracts"), i, item) {
    if (contract_of_tenant(item, tenant)) json_array_append(rows, item);
  }

  if (cli->json) {
    json_t *out = json_pack("{sO}", "contracts", rows);

    cli_output_json(out);
    json_decref(out);
    goto done;
  }

  json_array_foreach(rows, i, item) {
    if ((status = contract_decorate(cli, item)) != CLI_STATUS_OK) goto done;
  }

  status = cli_output_table(cli, rows, &contract_view, 0);

done:
  json_decref(response);
  json_decref(rows);

  return (status);
}

//
// 'contract_show()' - The contract, then GET /contracts/ID/runs and each
//                     GET /runs/ID with its steps.
//

static cli_status_t contract_show(cli_t *cli, cli_parsed_t *parsed) {
  const char *tenant = contract_scope(cli, parsed->values[0]);
  json_t *contract, *runs = NULL, *full = json_array(), *run;
  cli_request_t request = {.method = "GET", .path = "/api/v1/contracts", .action = "runs"};
  cli_status_t status = CLI_STATUS_FAILED;
  char id[32];
  size_t i;

  if (!full) return (cli_fail(cli, CLI_STATUS_FAILED, "out of memory"));

  if (!(contract = contract_find(cli, parsed->positional[0], tenant))) goto done;

  if (!contract_id_text(cli, contract, id, sizeof(id))) goto done;

  request.id = id;
  request.query[0] = (cli_param_t){"tenant", tenant};

  if ((status = cli_http_send(cli, &request, &runs)) != CLI_STATUS_OK) goto done;

  // The run documents carry the steps; the list may carry only summaries.
  json_array_foreach(json_object_get(runs, "runs"), i, run) {
    cli_request_t one = {.method = "GET", .path = "/api/v1/runs", .query = {{"tenant", tenant}}};
    json_t *doc = NULL;
    char run_id[32];

    if (!contract_id_text(cli, run, run_id, sizeof(run_id))) {
      status = CLI_STATUS_FAILED;
      goto done;
    }

    one.id = run_id;

    if ((status = cli_http_send(cli, &one, &doc)) != CLI_STATUS_OK) goto done;

    json_array_append_new(full, doc ? doc : json_incref(run));
  }

  if (cli->json) {
    json_t *out = json_pack("{sOsO}", "contract", contract, "runs", full);

    cli_output_json(out);
    json_decref(out);
    goto done;
  }

  if ((status = contract_decorate(cli, contract)) != CLI_STATUS_OK ||
      (status = cli_output_record(cli, contract, &contract_view)) != CLI_STATUS_OK)
    goto done;

  if (json_array_size(full) == 0) printf("\nNo runs yet.\n");

  json_array_foreach(full, i, run) {
    if ((status = contract_print_run(cli, run)) != CLI_STATUS_OK) goto done;
  }

done:
  json_decref(contract);
  json_decref(runs);
  json_decref(full);

  return (status);
}

//
// 'contract_renew()' - POST /api/v1/contracts/ID/renew {"end_at","items"?}
//

static cli_status_t contract_renew(cli_t *cli, cli_parsed_t *parsed) {
  const char *tenant = contract_scope(cli, parsed->values[ROPT_TENANT]);
  json_t *contract = NULL, *body = json_object(), *items = NULL, *response = NULL;
  cli_request_t request = {.method = "POST", .path = "/api/v1/contracts", .action = "renew"};
  cli_status_t status = CLI_STATUS_FAILED;
  char id[32];

  if ((status = cli_json_set_string(cli, body, "end_at", parsed->values[ROPT_END])) !=
      CLI_STATUS_OK)
    goto done;

  status = CLI_STATUS_FAILED;

  if (parsed->values[ROPT_FILE]) {
    json_t *doc = contract_load_file(cli, parsed->values[ROPT_FILE]);

    if (!doc) goto done;

    items = json_is_object(doc) ? json_incref(json_object_get(doc, "items")) : json_incref(doc);
    json_decref(doc);

    if (!json_is_array(items)) {
      cli_fail(cli, CLI_STATUS_FAILED,
               "%s: items are a JSON array, or an object whose \"items\" is one",
               parsed->values[ROPT_FILE]);
      goto done;
    }

    json_object_set(body, "items", items);
  }

  if (!(contract = contract_find(cli, parsed->positional[0], tenant)) ||
      !contract_id_text(cli, contract, id, sizeof(id)))
    goto done;

  request.id = id;
  request.body = body;
  request.query[0] = (cli_param_t){"tenant", tenant};

  if ((status = cli_http_send(cli, &request, &response)) != CLI_STATUS_OK) goto done;

  if (cli->json)
    cli_output_json(response);
  else if (json_is_object(response) && (status = contract_decorate(cli, response)) == CLI_STATUS_OK)
    status = cli_output_record(cli, response, &contract_view);

done:
  json_decref(contract);
  json_decref(body);
  json_decref(items);
  json_decref(response);

  return (status);
}

//
// 'contract_delete()' - DELETE /api/v1/contracts/ID: the contract is
//                       canceled (its record stays).
//

static cli_status_t contract_delete(cli_t *cli, cli_parsed_t *parsed) {
  const char *tenant = contract_scope(cli, parsed->values[0]);
  cli_request_t request = {.method = "DELETE", .path = "/api/v1/contracts"};
  json_t *contract;
  char id[32], message[256];
  cli_status_t status = CLI_STATUS_FAILED;

  if (!(contract = contract_find(cli, parsed->positional[0], tenant))) return (CLI_STATUS_FAILED);

  if (contract_id_text(cli, contract, id, sizeof(id))) {
    request.id = id;
    request.query[0] = (cli_param_t){"tenant", tenant};
    snprintf(message, sizeof(message), "Contract '%s' canceled.", parsed->positional[0]);
    status = cli_command_delete(cli, &request, message);
  }

  json_decref(contract);

  return (status);
}

static const cli_subcommand_t contract_subcommands[] = {
    {"create", "", contract_create_options, contract_create},
    {"list", "", contract_list_options, contract_list},
    {"show", "NAME", contract_scope_options, contract_show},
    {"renew", "NAME", contract_renew_options, contract_renew},
    {"delete", "NAME", contract_scope_options, contract_delete},
    {NULL, NULL, NULL, NULL}};

const cli_command_t cli_command_contract = {
    "contract", "create, list, show, renew and cancel service contracts",
    "NAME is the contract's name or number (a NAME of digits only is taken as the\n"
    "number).  \"show\" lists every run of the contract with each printer's steps:\n"
    "state, attempts, times and the reason of a failure or skip.\n"
    "\"delete\" cancels the contract: it stays listed, starts no new runs, and what it\n"
    "applied stays on the printers (docs/PROVISIONING.md).",
    contract_subcommands};
