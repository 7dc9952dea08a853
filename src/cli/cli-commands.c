//
// Command plumbing shared by the cli-commands-*.c files: subcommand
// dispatch with argument checks, the fetch-and-print patterns every
// resource uses (show, list, delete), and JSON body helpers that turn bad
// option values into usage errors (pricing: the options queues and
// printers share).
//

#include "cli-private.h"

#include <string.h>

//
// 'cli_command_run()' - Dispatch a command to its subcommand and run it.
//
// argv[0] is the command name.  Handles --help, unknown subcommands,
// wrong argument counts, empty arguments and missing required options,
// resolves the caller's credentials, then calls the subcommand's run
// function.
//

cli_status_t cli_command_run(cli_t *cli, const cli_command_t *command, int argc, char **argv) {
  const cli_subcommand_t *sub = command->subcommands;
  int first = 1;
  cli_parsed_t parsed;
  cli_status_t status;
  int nargs;
  const char *word = "";

  if (sub->name) {
    if (argc < 2) return (cli_fail(cli, CLI_STATUS_USAGE, "%s: missing subcommand", command->name));

    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
      cli_args_usage_command(command, stdout);
      return (CLI_STATUS_OK);
    }

    for (; sub->run && strcmp(sub->name, argv[1]); sub++)
      ;

    if (!sub->run)
      return (
          cli_fail(cli, CLI_STATUS_USAGE, "%s: unknown subcommand '%s'", command->name, argv[1]));

    first = 2;
    word = sub->name;
  }

  if ((status = cli_args_parse(cli, argc, argv, first, sub->options, false, &parsed)) !=
      CLI_STATUS_OK)
    return (status);

  if (parsed.help) {
    cli_args_usage_command(command, stdout);
    return (CLI_STATUS_OK);
  }

  nargs = cli_args_count(sub->args);

  if (parsed.npositional < cli_args_required(sub->args))
    return (cli_fail(cli, CLI_STATUS_USAGE, "%s%s%s: missing %s", command->name, *word ? " " : "",
                     word, sub->args));

  if (parsed.npositional > nargs)
    return (cli_fail(cli, CLI_STATUS_USAGE, "%s%s%s: unexpected argument '%s'", command->name,
                     *word ? " " : "", word, parsed.positional[nargs]));

  for (int i = 0; i < parsed.npositional; i++) {
    if (!*parsed.positional[i])
      return (cli_fail(cli, CLI_STATUS_USAGE, "%s%s%s: arguments must not be empty", command->name,
                       *word ? " " : "", word));
  }

  for (int i = 0; sub->options && sub->options[i].name; i++) {
    if (sub->options[i].required && !parsed.values[i])
      return (cli_fail(cli, CLI_STATUS_USAGE, "%s%s%s: --%s is required", command->name,
                       *word ? " " : "", word, sub->options[i].name));
  }

  if ((status = cli_http_auth_resolve(cli)) != CLI_STATUS_OK) return (status);

  return ((sub->run)(cli, &parsed));
}

//
// 'cli_command_show()' - Send a request and print the returned object.
//
// An empty 2xx answer (e.g. 204 to a PATCH) prints nothing.
//

cli_status_t cli_command_show(cli_t *cli, const cli_request_t *request, const cli_view_t *view) {
  json_t *response = NULL;
  cli_status_t status;

  if ((status = cli_http_send(cli, request, &response)) != CLI_STATUS_OK) goto done;

  if (cli->json)
    cli_output_json(response);
  else if (response)
    status = cli_output_record(cli, response, view);

done:
  json_decref(response);

  return (status);
}

//
// 'cli_command_list()' - Send a request and print the returned list.
//
// The response is an object whose member view->list_key is the array.
//

cli_status_t cli_command_list(cli_t *cli, const cli_request_t *request, const cli_view_t *view) {
  json_t *response = NULL;
  cli_status_t status;

  if ((status = cli_http_send(cli, request, &response)) != CLI_STATUS_OK) goto done;

  if (cli->json)
    cli_output_json(response);
  else
    status = cli_output_table(cli, json_object_get(response, view->list_key), view, 0);

done:
  json_decref(response);

  return (status);
}

//
// 'cli_command_delete()' - Send a request and confirm it in one line.
//
// done_message is sanitized in place (it may quote an argument).  With
// --json the server's document (if any) is printed instead.
//

cli_status_t cli_command_delete(cli_t *cli, const cli_request_t *request, char *done_message) {
  json_t *response = NULL;
  cli_status_t status;

  if ((status = cli_http_send(cli, request, &response)) != CLI_STATUS_OK) goto done;

  if (cli->json)
    cli_output_json(response);
  else {
    cli_output_sanitize(done_message);
    puts(done_message);
  }

done:
  json_decref(response);

  return (status);
}

//
// 'cli_json_set_string()' - Set a string member of a request body.
//
// Fails with CLI_STATUS_USAGE when value is not UTF-8 (the message names
// the member, never the value, which may be a secret), CLI_STATUS_FAILED
// when memory runs out (object NULL included).
//

cli_status_t cli_json_set_string(cli_t *cli, json_t *object, const char *key, const char *value) {
  json_t *string;

  if (!object) return (cli_fail(cli, CLI_STATUS_FAILED, "out of memory"));

  if (!(string = json_string(value)))
    return (cli_fail(cli, CLI_STATUS_USAGE, "%s: value is not valid UTF-8", key));

  if (json_object_set_new(object, key, string))
    return (cli_fail(cli, CLI_STATUS_FAILED, "out of memory"));

  return (CLI_STATUS_OK);
}

//
// 'cli_json_set_integer()' - Check an option's number and set it in a body.
//
// Fails with CLI_STATUS_USAGE (naming --option) when text is not a whole
// number in [min, max], CLI_STATUS_FAILED when memory runs out.
//

cli_status_t cli_json_set_integer(cli_t *cli, json_t *object, const char *key, const char *option,
                                  const char *text, long long min, long long max) {
  long long value;

  if (!cli_args_integer(cli, option, text, min, max, &value)) return (CLI_STATUS_USAGE);

  if (!object || json_object_set_new(object, key, json_integer((json_int_t)value)))
    return (cli_fail(cli, CLI_STATUS_FAILED, "out of memory"));

  return (CLI_STATUS_OK);
}

//
// 'cli_json_set_boolean()' - Set a boolean member of a request body.
//

cli_status_t cli_json_set_boolean(cli_t *cli, json_t *object, const char *key, bool value) {
  if (!object || json_object_set_new(object, key, json_boolean(value)))
    return (cli_fail(cli, CLI_STATUS_FAILED, "out of memory"));

  return (CLI_STATUS_OK);
}

//
// 'cli_json_set_pricing()' - Put the pricing options of a queue or printer
//                            into a request body.
//
// options[opt] are --price-table NAME, --no-price-table, --payment MODE and
// --no-payment, in that order from index opt: "price_table" becomes the
// name or null, "payment" "none", "at-printer" or null (unset: a queue's
// default "none", a printer's the queue's).
//

cli_status_t cli_json_set_pricing(cli_t *cli, const cli_parsed_t *parsed,
                                  const cli_option_t *options, int opt, json_t *body) {
  static const char *const modes[] = {"none", "at-printer", NULL};
  char *const *values = parsed->values;

  for (int i = opt; i < opt + 4; i += 2) {
    if (values[i] && values[i + 1])
      return (cli_fail(cli, CLI_STATUS_USAGE, "--%s and --%s are mutually exclusive",
                       options[i].name, options[i + 1].name));
  }

  if (values[opt + 2] && !cli_args_choice(cli, options[opt + 2].name, values[opt + 2], modes))
    return (CLI_STATUS_USAGE);

  for (int i = opt; i < opt + 4; i += 2) {
    const char *key = i == opt ? "price_table" : "payment";
    cli_status_t status;

    if (values[i] && (status = cli_json_set_string(cli, body, key, values[i])) != CLI_STATUS_OK)
      return (status);

    if (values[i + 1] && (!body || json_object_set_new(body, key, json_null())))
      return (cli_fail(cli, CLI_STATUS_FAILED, "out of memory"));
  }

  return (CLI_STATUS_OK);
}
