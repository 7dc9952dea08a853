//
// "nimbusctl account" and "nimbusctl purpose": billing accounts
// (/api/v1/billing-accounts; changes: administrators) and each user's
// purposes (/api/v1/purposes; administrators name another user with
// --user), docs/BILLING.md.
//
// Amounts (credit limit, top-up) are decimal text in the tenant's
// currency ("25.00" EUR, "3000" JPY), converted exactly to minor units
// with money_parse() (cli-money.c); the wire carries integers only.  The
// currency is the tenant's, read from /api/v1/billing first.
//

#include "cli-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cli_field_t account_fields[] = {
    {"code", "CODE", "Code", NULL},
    {"name", "NAME", "Name", NULL},
    {"mode", "MODE", "Mode", NULL},
    {"everyone", "EVERYONE", "Everyone may charge", NULL},
    {"restrict_printers", NULL, "Only granted printers", NULL},
    {"currency", NULL, "Currency", NULL},
    {"cli:credit_limit", NULL, "Credit limit", NULL},
    {"cli:balance", NULL, "Balance", NULL},
    {"cli:charged", NULL, "Charged", NULL},
    {"cli:held", NULL, "Held", NULL},
    {"cli:available", "AVAILABLE", "Available", NULL},
    {"closed", "CLOSED", "Closed", NULL},
    {"users", NULL, "Users", NULL},
    {"printers", NULL, "Printers", NULL},
    {"created_at", NULL, "Created", NULL},
    {"closed_at", NULL, "Closed at", NULL},
    {NULL, NULL, NULL, NULL}};

static const cli_view_t account_view = {"accounts", account_fields};

static const cli_field_t purpose_fields[] = {{"name", "NAME", "Name", NULL},
                                             {"account", "ACCOUNT", "Account", NULL},
                                             {"private", "PRIVATE", "Private", NULL},
                                             {"default", "DEFAULT", "Default", NULL},
                                             {"defaults", "DEFAULTS", "Default settings", NULL},
                                             {"created_at", NULL, "Created", NULL},
                                             {"updated_at", NULL, "Updated", NULL},
                                             {NULL, NULL, NULL, NULL}};

static const cli_view_t purpose_view = {"purposes", purpose_fields};

static const char *const yes_no[] = {"yes", "no", NULL};

//
// 'account_currency()' - The tenant's currency (GET /api/v1/billing).
//

static cli_status_t account_currency(cli_t *cli, const char *option, char *currency, size_t size) {
  cli_request_t request = {.method = "GET", .path = "/api/v1/billing", .tenant_scoped = true};
  json_t *response = NULL;
  cli_status_t status;
  const char *code;

  if ((status = cli_http_send(cli, &request, &response)) != CLI_STATUS_OK) goto done;

  code = json_string_value(json_object_get(response, "currency"));

  if (!code || !*code || strlen(code) >= size)
    status =
        cli_fail(cli, CLI_STATUS_USAGE,
                 "--%s: the tenant has no currency yet (nimbusctl billing set --currency)", option);
  else
    snprintf(currency, size, "%s", code);

done:
  json_decref(response);

  return (status);
}

//
// 'account_set_amount()' - Parse an amount option in the tenant's currency
//                          into member key of body.
//

static cli_status_t account_set_amount(cli_t *cli, json_t *body, const char *key,
                                       const char *option, const char *text, bool negate) {
  char currency[16];
  long long minor;
  cli_status_t status;

  if ((status = account_currency(cli, option, currency, sizeof(currency))) != CLI_STATUS_OK ||
      (status = cli_money_parse(cli, option, text, currency, &minor)) != CLI_STATUS_OK)
    return (status);

  if (json_object_set_new(body, key, json_integer((json_int_t)(negate ? -minor : minor))))
    return (cli_fail(cli, CLI_STATUS_FAILED, "out of memory"));

  return (CLI_STATUS_OK);
}

//
// 'account_decorate()' - Add the texts of an account's amounts.
//

static cli_status_t account_decorate(cli_t *cli, json_t *account) {
  static const char *const keys[] = {"credit_limit", "balance",   "charged",
                                     "held",         "available", NULL};
  const char *currency = json_string_value(json_object_get(account, "currency"));
  char key[32];
  cli_status_t status;

  for (int i = 0; keys[i]; i++) {
    const json_t *amount = json_object_get(account, keys[i]);

    // an invoiced account without a limit: none, and nothing to show as available
    if (!strcmp(keys[i], "credit_limit") && json_integer_value(amount) == 0) continue;

    snprintf(key, sizeof(key), "cli:%s", keys[i]);

    if ((status = cli_money_set_text(cli, account, key, amount, currency, true)) != CLI_STATUS_OK)
      return (status);
  }

  return (CLI_STATUS_OK);
}

//
// 'account_send()' - Send a request and print the account it answers.
//

static cli_status_t account_send(cli_t *cli, const cli_request_t *request) {
  json_t *response = NULL;
  cli_status_t status;

  if ((status = cli_http_send(cli, request, &response)) != CLI_STATUS_OK) goto done;

  if (cli->json)
    cli_output_json(response);
  else if ((status = account_decorate(cli, response)) == CLI_STATUS_OK)
    status = cli_output_record(cli, response, &account_view);

done:
  json_decref(response);

  return (status);
}

enum { LOPT_CLOSED };

static const cli_option_t account_list_options[] = {
    [LOPT_CLOSED] = {"closed", NULL, "administrators: closed accounts too", false},
    {NULL, NULL, NULL, false}};

//
// 'account_list()' - GET /api/v1/billing-accounts
//

static cli_status_t account_list(cli_t *cli, cli_parsed_t *parsed) {
  cli_request_t request = {
      .method = "GET", .path = "/api/v1/billing-accounts", .tenant_scoped = true};
  json_t *response = NULL;
  json_t *account;
  cli_status_t status;
  size_t i;

  request.query[0] = (cli_param_t){"closed", parsed->values[LOPT_CLOSED] ? "1" : NULL};

  if ((status = cli_http_send(cli, &request, &response)) != CLI_STATUS_OK) goto done;

  if (cli->json) {
    cli_output_json(response);
    goto done;
  }

  json_array_foreach(json_object_get(response, "accounts"), i, account) {
    if ((status = account_decorate(cli, account)) != CLI_STATUS_OK) goto done;
  }

  status = cli_output_table(cli, json_object_get(response, "accounts"), &account_view, 0);

done:
  json_decref(response);

  return (status);
}

//
// 'account_show()' - GET /api/v1/billing-accounts/CODE
//

static cli_status_t account_show(cli_t *cli, cli_parsed_t *parsed) {
  cli_request_t request = {.method = "GET",
                           .path = "/api/v1/billing-accounts",
                           .id = parsed->positional[0],
                           .tenant_scoped = true};

  return (account_send(cli, &request));
}

enum { AOPT_NAME, AOPT_EVERYONE, AOPT_RESTRICT, AOPT_LIMIT, AOPT_MODE };

static const cli_option_t account_create_options[] = {
    [AOPT_NAME] = {"name", "TEXT", "what the account is (a cost centre, client, project)", true},
    [AOPT_EVERYONE] = {"everyone", NULL, "every user of the tenant may charge it", false},
    [AOPT_RESTRICT] = {"restrict-printers", NULL, "only printers granted to it print its jobs",
                       false},
    [AOPT_LIMIT] = {"credit-limit", "AMOUNT", "invoiced: the most it may owe (default: no limit)",
                    false},
    [AOPT_MODE] = {"mode", "MODE", "invoiced (post-paid) or prepaid (a balance)", true},
    {NULL, NULL, NULL, false}};

static const cli_option_t account_set_options[] = {
    [AOPT_NAME] = {"name", "TEXT", "a new name", false},
    [AOPT_EVERYONE] = {"everyone", "yes|no", "every user of the tenant may charge it", false},
    [AOPT_RESTRICT] = {"restrict-printers", "yes|no", "only printers granted to it print its jobs",
                       false},
    [AOPT_LIMIT] = {"credit-limit", "AMOUNT", "invoiced: the most it may owe (0: no limit)", false},
    {NULL, NULL, NULL, false}};  // the mode of an account never changes

//
// 'account_create()' - POST /api/v1/billing-accounts
//

static cli_status_t account_create(cli_t *cli, cli_parsed_t *parsed) {
  static const char *const modes[] = {"invoiced", "prepaid", NULL};
  json_t *body = json_object();
  cli_request_t request = {
      .method = "POST", .path = "/api/v1/billing-accounts", .tenant_scoped = true, .body = body};
  cli_status_t status = body ? CLI_STATUS_OK : cli_fail(cli, CLI_STATUS_FAILED, "out of memory");

  if (status == CLI_STATUS_OK && !cli_args_choice(cli, "mode", parsed->values[AOPT_MODE], modes))
    status = CLI_STATUS_USAGE;

  if (status == CLI_STATUS_OK)
    status = cli_json_set_string(cli, body, "code", parsed->positional[0]);
  if (status == CLI_STATUS_OK)
    status = cli_json_set_string(cli, body, "name", parsed->values[AOPT_NAME]);
  if (status == CLI_STATUS_OK)
    status = cli_json_set_string(cli, body, "mode", parsed->values[AOPT_MODE]);
  if (status == CLI_STATUS_OK && parsed->values[AOPT_EVERYONE])
    status = cli_json_set_boolean(cli, body, "everyone", true);
  if (status == CLI_STATUS_OK && parsed->values[AOPT_RESTRICT])
    status = cli_json_set_boolean(cli, body, "restrict_printers", true);
  if (status == CLI_STATUS_OK && parsed->values[AOPT_LIMIT])
    status = account_set_amount(cli, body, "credit_limit", "credit-limit",
                                parsed->values[AOPT_LIMIT], false);

  if (status == CLI_STATUS_OK) status = account_send(cli, &request);

  json_decref(body);

  return (status);
}

//
// 'account_patch()' - PATCH /api/v1/billing-accounts/CODE with body.
//

static cli_status_t account_patch(cli_t *cli, const char *code, json_t *body) {
  cli_request_t request = {.method = "PATCH",
                           .path = "/api/v1/billing-accounts",
                           .id = code,
                           .tenant_scoped = true,
                           .body = body};

  return (account_send(cli, &request));
}

//
// 'account_set()' - Change an account's name, who may charge it, its
//                   printers and its credit limit.
//

static cli_status_t account_set(cli_t *cli, cli_parsed_t *parsed) {
  json_t *body = json_object();
  cli_status_t status = body ? CLI_STATUS_OK : cli_fail(cli, CLI_STATUS_FAILED, "out of memory");

  if (status == CLI_STATUS_OK && parsed->values[AOPT_NAME])
    status = cli_json_set_string(cli, body, "name", parsed->values[AOPT_NAME]);

  for (int opt = AOPT_EVERYONE; status == CLI_STATUS_OK && opt <= AOPT_RESTRICT; opt++) {
    if (!parsed->values[opt]) continue;

    if (!cli_args_choice(cli, account_set_options[opt].name, parsed->values[opt], yes_no))
      status = CLI_STATUS_USAGE;
    else
      status =
          cli_json_set_boolean(cli, body, opt == AOPT_EVERYONE ? "everyone" : "restrict_printers",
                               !strcmp(parsed->values[opt], "yes"));
  }

  if (status == CLI_STATUS_OK && parsed->values[AOPT_LIMIT])
    status = account_set_amount(cli, body, "credit_limit", "credit-limit",
                                parsed->values[AOPT_LIMIT], false);

  if (status == CLI_STATUS_OK && json_object_size(body) == 0)
    status = cli_fail(cli, CLI_STATUS_USAGE, "account set: nothing to change");

  if (status == CLI_STATUS_OK) status = account_patch(cli, parsed->positional[0], body);

  json_decref(body);

  return (status);
}

//
// 'account_close()' - PATCH {closed: true}: final; history is kept.
//

static cli_status_t account_close(cli_t *cli, cli_parsed_t *parsed) {
  json_t *body = json_pack("{s:b}", "closed", true);
  cli_status_t status = body ? account_patch(cli, parsed->positional[0], body)
                             : cli_fail(cli, CLI_STATUS_FAILED, "out of memory");

  json_decref(body);

  return (status);
}

enum { TOPT_MEMO, TOPT_TAKE_BACK };

static const cli_option_t account_topup_options[] = {
    [TOPT_MEMO] = {"memo", "TEXT", "a note kept in the ledger", false},
    [TOPT_TAKE_BACK] = {"take-back", NULL, "take AMOUNT back from the balance instead", false},
    {NULL, NULL, NULL, false}};

//
// 'account_topup()' - POST /api/v1/billing-accounts/CODE/topup
//

static cli_status_t account_topup(cli_t *cli, cli_parsed_t *parsed) {
  json_t *body = json_object();
  cli_request_t request = {.method = "POST",
                           .path = "/api/v1/billing-accounts",
                           .id = parsed->positional[0],
                           .action = "topup",
                           .tenant_scoped = true,
                           .body = body};
  cli_status_t status = body ? CLI_STATUS_OK : cli_fail(cli, CLI_STATUS_FAILED, "out of memory");

  if (status == CLI_STATUS_OK)
    status = account_set_amount(cli, body, "amount", "amount", parsed->positional[1],
                                parsed->values[TOPT_TAKE_BACK] != NULL);

  if (status == CLI_STATUS_OK && parsed->values[TOPT_MEMO])
    status = cli_json_set_string(cli, body, "memo", parsed->values[TOPT_MEMO]);

  if (status == CLI_STATUS_OK) status = account_send(cli, &request);

  json_decref(body);

  return (status);
}

enum { GOPT_USER, GOPT_PRINTER };

static const cli_option_t account_grant_options[] = {
    [GOPT_USER] = {"user", "NAME", "the user who may charge it", false},
    [GOPT_PRINTER] = {"printer", "NAME", "a printer its jobs may print on", false},
    {NULL, NULL, NULL, false}};

//
// 'account_grant_change()' - PUT (grant) or DELETE (revoke)
//                            /api/v1/billing-accounts/CODE/users|printers/NAME
//

static cli_status_t account_grant_change(cli_t *cli, cli_parsed_t *parsed, bool grant) {
  bool user = parsed->values[GOPT_USER] != NULL;
  cli_request_t request = {.method = grant ? "PUT" : "DELETE",
                           .path = "/api/v1/billing-accounts",
                           .id = parsed->positional[0],
                           .action = user ? "users" : "printers",
                           .id2 = user ? parsed->values[GOPT_USER] : parsed->values[GOPT_PRINTER],
                           .tenant_scoped = true};
  char message[256];

  if (user == (parsed->values[GOPT_PRINTER] != NULL))
    return (cli_fail(cli, CLI_STATUS_USAGE, "give one of --user or --printer"));

  snprintf(message, sizeof(message), "%s %s '%s' %s account '%s'.", grant ? "Granted" : "Revoked",
           user ? "user" : "printer", request.id2, grant ? "on" : "from", parsed->positional[0]);

  return (cli_command_delete(cli, &request, message));
}

static cli_status_t account_grant(cli_t *cli, cli_parsed_t *parsed) {
  return (account_grant_change(cli, parsed, true));
}

static cli_status_t account_revoke(cli_t *cli, cli_parsed_t *parsed) {
  return (account_grant_change(cli, parsed, false));
}

static const cli_subcommand_t account_subcommands[] = {
    {"list", "", account_list_options, account_list},
    {"show", "CODE", NULL, account_show},
    {"create", "CODE", account_create_options, account_create},
    {"set", "CODE", account_set_options, account_set},
    {"close", "CODE", NULL, account_close},
    {"topup", "CODE AMOUNT", account_topup_options, account_topup},
    {"grant", "CODE", account_grant_options, account_grant},
    {"revoke", "CODE", account_grant_options, account_revoke},
    {NULL, NULL, NULL, NULL}};

const cli_command_t cli_command_account = {
    "account", "billing accounts: list, show, create, set, close, top up, grant, revoke",
    "A billing account is charged for jobs printed under purposes that name it.\n"
    "invoiced: post-paid, optional --credit-limit; prepaid: a balance topped up\n"
    "here that never goes below zero.  Amounts are decimal text in the tenant's\n"
    "currency (25.00 EUR, 3000 JPY); 'topup --take-back' takes money back.\n"
    "grant/revoke --user NAME: who may charge it (unless --everyone);\n"
    "--printer NAME: where its jobs print (with --restrict-printers).  Closing\n"
    "is final: the account refuses new charges and keeps its history.\n"
    "Users see only the accounts they may charge, without figures.",
    account_subcommands};

// ---- purposes ----

enum {
  POPT_USER,
  POPT_ACCOUNT,
  POPT_PRIVATE,
  POPT_DEFAULT,
  POPT_NO_DEFAULT,
  POPT_COPIES,
  POPT_SIDES,
  POPT_COLOR,
  POPT_MEDIA,
  POPT_FINISHINGS,
  POPT_CLEAR,
  POPT_NAME
};

static const cli_option_t purpose_options[] = {
    [POPT_USER] = {"user", "NAME", "administrators: another user's purpose", false},
    [POPT_ACCOUNT] = {"account", "CODE", "bill the shared account CODE", false},
    [POPT_PRIVATE] = {"private", NULL, "bill the user's own saved payment method", false},
    [POPT_DEFAULT] = {"default", NULL, "make it the user's default purpose", false},
    [POPT_NO_DEFAULT] = {"no-default", NULL, "set: no longer the default", false},
    [POPT_COPIES] = {"copies", "N", "default copies (1-999)", false},
    [POPT_SIDES] = {"sides", "SIDES",
                    "default sides: one-sided, two-sided-long-edge, two-sided-short-edge", false},
    [POPT_COLOR] = {"color-mode", "MODE", "default print-color-mode: color, monochrome, auto",
                    false},
    [POPT_MEDIA] = {"media", "KEYWORD", "default media, e.g. iso_a4_210x297mm", false},
    [POPT_FINISHINGS] = {"finishings", "LIST",
                         "default finishings, IPP enum values separated by commas (e.g. 4)", false},
    [POPT_CLEAR] = {"clear-defaults", NULL, "set: start from no default settings", false},
    [POPT_NAME] = {"name", "NEW", "set: rename it", false},
    {NULL, NULL, NULL, false}};

static const cli_option_t purpose_user_options[] = {
    [POPT_USER] = {"user", "NAME", "administrators: another user's purposes", false},
    {NULL, NULL, NULL, false}};

//
// 'purpose_finishings()' - "4,5" as a JSON array of integers.
//

static cli_status_t purpose_finishings(cli_t *cli, const char *text, json_t *defaults) {
  json_t *list = json_array();
  char buf[256], *save = NULL;

  if (!list || json_object_set_new(defaults, "finishings", list))
    return (cli_fail(cli, CLI_STATUS_FAILED, "out of memory"));

  if (strlen(text) >= sizeof(buf))
    return (cli_fail(cli, CLI_STATUS_USAGE, "--finishings: too long"));

  snprintf(buf, sizeof(buf), "%s", text);

  for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
    long long value;

    if (!cli_args_integer(cli, "finishings", item, 3, 999, &value)) return (CLI_STATUS_USAGE);

    if (json_array_append_new(list, json_integer((json_int_t)value)))
      return (cli_fail(cli, CLI_STATUS_FAILED, "out of memory"));
  }

  if (json_array_size(list) == 0)
    return (cli_fail(cli, CLI_STATUS_USAGE, "--finishings: give at least one value"));

  return (CLI_STATUS_OK);
}

//
// 'purpose_defaults()' - Apply the default-setting options to defaults.
//
// *changed says whether any was given.
//

static cli_status_t purpose_defaults(cli_t *cli, const cli_parsed_t *parsed, json_t *defaults,
                                     bool *changed) {
  static const char *const sides[] = {"one-sided", "two-sided-long-edge", "two-sided-short-edge",
                                      NULL};
  static const char *const colors[] = {"color", "monochrome", "auto", NULL};
  char *const *v = parsed->values;
  cli_status_t status = CLI_STATUS_OK;

  *changed = v[POPT_COPIES] || v[POPT_SIDES] || v[POPT_COLOR] || v[POPT_MEDIA] ||
             v[POPT_FINISHINGS] || v[POPT_CLEAR];

  if (v[POPT_CLEAR]) json_object_clear(defaults);

  if (v[POPT_COPIES])
    status = cli_json_set_integer(cli, defaults, "copies", "copies", v[POPT_COPIES], 1, 999);

  if (status == CLI_STATUS_OK && v[POPT_SIDES]) {
    if (!cli_args_choice(cli, "sides", v[POPT_SIDES], sides)) return (CLI_STATUS_USAGE);

    status = cli_json_set_string(cli, defaults, "sides", v[POPT_SIDES]);
  }

  if (status == CLI_STATUS_OK && v[POPT_COLOR]) {
    if (!cli_args_choice(cli, "color-mode", v[POPT_COLOR], colors)) return (CLI_STATUS_USAGE);

    status = cli_json_set_string(cli, defaults, "print-color-mode", v[POPT_COLOR]);
  }

  if (status == CLI_STATUS_OK && v[POPT_MEDIA])
    status = cli_json_set_string(cli, defaults, "media", v[POPT_MEDIA]);

  if (status == CLI_STATUS_OK && v[POPT_FINISHINGS])
    status = purpose_finishings(cli, v[POPT_FINISHINGS], defaults);

  return (status);
}

//
// 'purpose_body()' - The members of a create or set request.
//
// defaults is the purpose's current default settings (set) or an empty
// object (create); it is sent only when an option changed it.
//

static cli_status_t purpose_body(cli_t *cli, const cli_parsed_t *parsed, json_t *defaults,
                                 json_t *body) {
  char *const *v = parsed->values;
  cli_status_t status = CLI_STATUS_OK;
  bool changed;

  if (v[POPT_ACCOUNT] && v[POPT_PRIVATE])
    return (cli_fail(cli, CLI_STATUS_USAGE, "--account and --private are mutually exclusive"));

  if (v[POPT_DEFAULT] && v[POPT_NO_DEFAULT])
    return (cli_fail(cli, CLI_STATUS_USAGE, "--default and --no-default are mutually exclusive"));

  if (v[POPT_ACCOUNT])
    status = cli_json_set_string(cli, body, "account", v[POPT_ACCOUNT]);
  else if (v[POPT_PRIVATE] && json_object_set_new(body, "account", json_null()))
    status = cli_fail(cli, CLI_STATUS_FAILED, "out of memory");

  if (status == CLI_STATUS_OK && (v[POPT_DEFAULT] || v[POPT_NO_DEFAULT]))
    status = cli_json_set_boolean(cli, body, "default", v[POPT_DEFAULT] != NULL);

  if (status == CLI_STATUS_OK && v[POPT_NAME])
    status = cli_json_set_string(cli, body, "name", v[POPT_NAME]);

  if (status == CLI_STATUS_OK &&
      (status = purpose_defaults(cli, parsed, defaults, &changed)) == CLI_STATUS_OK && changed &&
      json_object_set(body, "defaults", defaults))
    status = cli_fail(cli, CLI_STATUS_FAILED, "out of memory");

  return (status);
}

//
// 'purpose_list()' - GET /api/v1/purposes[?user=]
//

static cli_status_t purpose_list(cli_t *cli, cli_parsed_t *parsed) {
  cli_request_t request = {.method = "GET", .path = "/api/v1/purposes", .tenant_scoped = true};

  request.query[0] = (cli_param_t){"user", parsed->values[POPT_USER]};

  return (cli_command_list(cli, &request, &purpose_view));
}

//
// 'purpose_show()' - GET /api/v1/purposes/NAME[?user=]
//

static cli_status_t purpose_show(cli_t *cli, cli_parsed_t *parsed) {
  cli_request_t request = {.method = "GET",
                           .path = "/api/v1/purposes",
                           .id = parsed->positional[0],
                           .tenant_scoped = true};

  request.query[0] = (cli_param_t){"user", parsed->values[POPT_USER]};

  return (cli_command_show(cli, &request, &purpose_view));
}

//
// 'purpose_create()' - POST /api/v1/purposes: --account CODE or --private
//                      is required (where it is billed is never guessed).
//

static cli_status_t purpose_create(cli_t *cli, cli_parsed_t *parsed) {
  json_t *body = json_object();
  json_t *defaults = json_object();
  cli_request_t request = {
      .method = "POST", .path = "/api/v1/purposes", .tenant_scoped = true, .body = body};
  cli_status_t status =
      body && defaults ? CLI_STATUS_OK : cli_fail(cli, CLI_STATUS_FAILED, "out of memory");

  request.query[0] = (cli_param_t){"user", parsed->values[POPT_USER]};

  if (status == CLI_STATUS_OK && !parsed->values[POPT_ACCOUNT] && !parsed->values[POPT_PRIVATE])
    status = cli_fail(cli, CLI_STATUS_USAGE,
                      "purpose create: give --account CODE or --private (the user's own money)");

  if (status == CLI_STATUS_OK &&
      (parsed->values[POPT_NO_DEFAULT] || parsed->values[POPT_NAME] || parsed->values[POPT_CLEAR]))
    status = cli_fail(cli, CLI_STATUS_USAGE,
                      "purpose create: --no-default, --name and --clear-defaults are for 'set'");

  if (status == CLI_STATUS_OK)
    status = cli_json_set_string(cli, body, "name", parsed->positional[0]);

  if (status == CLI_STATUS_OK) status = purpose_body(cli, parsed, defaults, body);

  if (status == CLI_STATUS_OK) status = cli_command_show(cli, &request, &purpose_view);

  json_decref(defaults);
  json_decref(body);

  return (status);
}

//
// 'purpose_set()' - PATCH /api/v1/purposes/NAME; default-setting options
//                   change the current defaults (read first) one by one.
//

static cli_status_t purpose_set(cli_t *cli, cli_parsed_t *parsed) {
  cli_request_t get = {.method = "GET",
                       .path = "/api/v1/purposes",
                       .id = parsed->positional[0],
                       .tenant_scoped = true};
  json_t *body = json_object();
  json_t *current = NULL;
  json_t *defaults = NULL;
  cli_status_t status = body ? CLI_STATUS_OK : cli_fail(cli, CLI_STATUS_FAILED, "out of memory");

  get.query[0] = (cli_param_t){"user", parsed->values[POPT_USER]};

  if (status == CLI_STATUS_OK && (status = cli_http_send(cli, &get, &current)) == CLI_STATUS_OK) {
    defaults = json_deep_copy(json_object_get(current, "defaults"));

    if (!json_is_object(defaults)) {
      json_decref(defaults);
      defaults = json_object();
    }

    status = defaults ? purpose_body(cli, parsed, defaults, body)
                      : cli_fail(cli, CLI_STATUS_FAILED, "out of memory");
  }

  if (status == CLI_STATUS_OK && json_object_size(body) == 0)
    status = cli_fail(cli, CLI_STATUS_USAGE, "purpose set: nothing to change");

  if (status == CLI_STATUS_OK) {
    cli_request_t patch = get;

    patch.method = "PATCH";
    patch.body = body;
    status = cli_command_show(cli, &patch, &purpose_view);
  }

  json_decref(current);
  json_decref(defaults);
  json_decref(body);

  return (status);
}

//
// 'purpose_delete()' - DELETE /api/v1/purposes/NAME[?user=]
//

static cli_status_t purpose_delete(cli_t *cli, cli_parsed_t *parsed) {
  cli_request_t request = {.method = "DELETE",
                           .path = "/api/v1/purposes",
                           .id = parsed->positional[0],
                           .tenant_scoped = true};
  char message[160];

  request.query[0] = (cli_param_t){"user", parsed->values[POPT_USER]};
  snprintf(message, sizeof(message), "Purpose '%s' deleted.", parsed->positional[0]);

  return (cli_command_delete(cli, &request, message));
}

static const cli_subcommand_t purpose_subcommands[] = {
    {"list", "", purpose_user_options, purpose_list},
    {"show", "NAME", purpose_user_options, purpose_show},
    {"create", "NAME", purpose_options, purpose_create},
    {"set", "NAME", purpose_options, purpose_set},
    {"delete", "NAME", purpose_user_options, purpose_delete},
    {NULL, NULL, NULL, NULL}};

const cli_command_t cli_command_purpose = {
    "purpose", "your purposes: where a job is billed and its default settings",
    "A purpose names where its jobs are billed (--account CODE, a shared account\n"
    "you may charge, or --private, your own saved payment method) and default\n"
    "settings that fill what a job does not set.  A job names it as its\n"
    "job-account-id (lp -o job-account-id=NAME).  The --default purpose is\n"
    "used when a job names none.  Administrators manage another user's\n"
    "purposes with --user NAME.",
    purpose_subcommands};
