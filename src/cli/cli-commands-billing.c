//
// "nimbusctl billing" and "nimbusctl payment-provider": a tenant's money
// settings (/api/v1/billing) and its payment provider account
// (/api/v1/billing/provider), administrators only.
//
// Amounts given on the command line are decimal text in the currency's
// major unit ("0.20" EUR), converted exactly to minor units with
// money_parse() (cli-money.c); the wire carries integers only.
//
// Provider secrets (LINE Pay channel secret, Stripe secret key and webhook
// signing secrets) are never taken as command-line values: each comes from
// a file ('-': standard input), else from an environment variable, else a
// no-echo prompt.  They are wiped from memory once sent, and the server
// never gives them back ("payment-provider show" prints its masked
// description).
//

#include "cli-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cli_field_t billing_fields[] = {
    {"currency", NULL, "Currency", NULL},
    {"cli:service_fee_fixed", NULL, "Service fee (fixed)", NULL},
    {"cli:service_fee_bps", NULL, "Service fee (percentage)", NULL},
    {"purpose_required", NULL, "Purpose required", NULL},
    {NULL, NULL, NULL, NULL}};

static const cli_view_t billing_view = {NULL, billing_fields};

enum { BOPT_CURRENCY, BOPT_FIXED, BOPT_BPS, BOPT_PURPOSE_REQUIRED };

static const cli_option_t billing_set_options[] = {
    [BOPT_CURRENCY] = {"currency", "CODE", "the tenant's ISO 4217 currency, e.g. EUR or JPY",
                       false},
    [BOPT_FIXED] = {"service-fee-fixed", "AMOUNT",
                    "operators: fixed service fee per job, in the currency (e.g. 0.20)", false},
    [BOPT_BPS] = {"service-fee-bps", "N",
                  "operators: service fee in basis points of the print fee (0-10000; 100 = 1 %)",
                  false},
    [BOPT_PURPOSE_REQUIRED] = {"purpose-required", "yes|no",
                               "whether every job must name a purpose (job-account-id)", false},
    {NULL, NULL, NULL, false}};

enum {
  VOPT_PROVIDER,
  VOPT_CHANNEL_ID,
  VOPT_CHANNEL_SECRET_FILE,
  VOPT_SECRET_KEY_FILE,
  VOPT_WEBHOOK_SECRET_FILE,
  VOPT_API_BASE
};

static const char *const provider_names[] = {"linepay", "stripe", NULL};

static const cli_option_t provider_set_options[] = {
    [VOPT_PROVIDER] = {"provider", "NAME", "linepay or stripe", true},
    [VOPT_CHANNEL_ID] = {"channel-id", "ID", "linepay: the channel id", false},
    [VOPT_CHANNEL_SECRET_FILE] = {"channel-secret-file", "FILE",
                                  "linepay: read the channel secret from FILE ('-': stdin)", false},
    [VOPT_SECRET_KEY_FILE] = {"secret-key-file", "FILE",
                              "stripe: read the secret API key from FILE ('-': stdin)", false},
    [VOPT_WEBHOOK_SECRET_FILE] = {"webhook-secret-file", "FILE",
                                  "stripe: read a webhook signing secret from FILE (repeat "
                                  "while one rolls)",
                                  false},
    [VOPT_API_BASE] = {"api-base", "URL", "the provider's API address (default: production)",
                       false},
    {NULL, NULL, NULL, false}};

//
// 'billing_decorate()' - Add the texts of the service fee to a billing
//                        document.
//

static cli_status_t billing_decorate(cli_t *cli, json_t *billing) {
  const char *currency = json_string_value(json_object_get(billing, "currency"));
  const json_t *bps = json_object_get(billing, "service_fee_bps");
  cli_status_t status;
  char text[96];

  if ((status = cli_money_set_text(cli, billing, "cli:service_fee_fixed",
                                   json_object_get(billing, "service_fee_fixed"),
                                   currency && *currency ? currency : NULL, true)) != CLI_STATUS_OK)
    return (status);

  if (json_is_integer(bps) && json_integer_value(bps) >= 0) {
    long long n = (long long)json_integer_value(bps);

    snprintf(text, sizeof(text), "%lld.%02lld %% of the print fee (%lld bps)", n / 100, n % 100, n);

    if (json_object_set_new(billing, "cli:service_fee_bps", json_string(text)))
      return (cli_fail(cli, CLI_STATUS_FAILED, "out of memory"));
  }

  return (CLI_STATUS_OK);
}

//
// 'billing_send()' - Send a billing request and print the settings.
//

static cli_status_t billing_send(cli_t *cli, const cli_request_t *request) {
  json_t *response = NULL;
  cli_status_t status;

  if ((status = cli_http_send(cli, request, &response)) != CLI_STATUS_OK) goto done;

  if (cli->json)
    cli_output_json(response);
  else if ((status = billing_decorate(cli, response)) == CLI_STATUS_OK)
    status = cli_output_record(cli, response, &billing_view);

done:
  json_decref(response);

  return (status);
}

//
// 'billing_show()' - GET /api/v1/billing
//

static cli_status_t billing_show(cli_t *cli, cli_parsed_t *parsed) {
  cli_request_t request = {.method = "GET", .path = "/api/v1/billing", .tenant_scoped = true};

  (void)parsed;

  return (billing_send(cli, &request));
}

//
// 'billing_currency()' - The currency an amount option is given in: the
//                        one being set, else the tenant's current one.
//

static cli_status_t billing_currency(cli_t *cli, const cli_parsed_t *parsed, char *currency,
                                     size_t size) {
  cli_request_t request = {.method = "GET", .path = "/api/v1/billing", .tenant_scoped = true};
  json_t *response = NULL;
  cli_status_t status;
  const char *code;

  if (parsed->values[BOPT_CURRENCY]) {
    snprintf(currency, size, "%s", parsed->values[BOPT_CURRENCY]);
    return (CLI_STATUS_OK);
  }

  if ((status = cli_http_send(cli, &request, &response)) != CLI_STATUS_OK) goto done;

  code = json_string_value(json_object_get(response, "currency"));

  if (!code || !*code || strlen(code) >= size)
    status =
        cli_fail(cli, CLI_STATUS_USAGE, "--%s: the tenant has no currency yet; give --currency too",
                 billing_set_options[BOPT_FIXED].name);
  else
    snprintf(currency, size, "%s", code);

done:
  json_decref(response);

  return (status);
}

//
// 'billing_set()' - PATCH /api/v1/billing
//

static cli_status_t billing_set(cli_t *cli, cli_parsed_t *parsed) {
  json_t *body = json_object();
  cli_request_t request = {
      .method = "PATCH", .path = "/api/v1/billing", .tenant_scoped = true, .body = body};
  cli_status_t status = body ? CLI_STATUS_OK : cli_fail(cli, CLI_STATUS_FAILED, "out of memory");
  char currency[16];
  long long minor;

  if (status == CLI_STATUS_OK && parsed->values[BOPT_CURRENCY])
    status = cli_json_set_string(cli, body, "currency", parsed->values[BOPT_CURRENCY]);

  if (status == CLI_STATUS_OK && parsed->values[BOPT_BPS])
    status = cli_json_set_integer(cli, body, "service_fee_bps", billing_set_options[BOPT_BPS].name,
                                  parsed->values[BOPT_BPS], 0, 10000);

  if (status == CLI_STATUS_OK && parsed->values[BOPT_PURPOSE_REQUIRED]) {
    static const char *const yes_no[] = {"yes", "no", NULL};

    if (!cli_args_choice(cli, billing_set_options[BOPT_PURPOSE_REQUIRED].name,
                         parsed->values[BOPT_PURPOSE_REQUIRED], yes_no))
      status = CLI_STATUS_USAGE;
    else
      status = cli_json_set_boolean(cli, body, "purpose_required",
                                    !strcmp(parsed->values[BOPT_PURPOSE_REQUIRED], "yes"));
  }

  if (status == CLI_STATUS_OK && parsed->values[BOPT_FIXED]) {
    if ((status = billing_currency(cli, parsed, currency, sizeof(currency))) == CLI_STATUS_OK &&
        (status = cli_money_parse(cli, billing_set_options[BOPT_FIXED].name,
                                  parsed->values[BOPT_FIXED], currency, &minor)) == CLI_STATUS_OK &&
        json_object_set_new(body, "service_fee_fixed", json_integer((json_int_t)minor)))
      status = cli_fail(cli, CLI_STATUS_FAILED, "out of memory");
  }

  if (status == CLI_STATUS_OK && json_object_size(body) == 0)
    status = cli_fail(cli, CLI_STATUS_USAGE, "billing set: nothing to change");

  if (status == CLI_STATUS_OK) status = billing_send(cli, &request);

  json_decref(body);

  return (status);
}

static const cli_subcommand_t billing_subcommands[] = {
    {"show", "", NULL, billing_show},
    {"set", "", billing_set_options, billing_set},
    {NULL, NULL, NULL, NULL}};

const cli_command_t cli_command_billing = {
    "billing", "show and set the tenant's currency, service fee and purpose policy",
    "Charge = print fee (the price table's) + service fee (fixed part + basis\n"
    "points of the print fee, rounded half away from zero).  Amounts are\n"
    "decimal text in the currency (0.20 EUR, 150 JPY), at most as many\n"
    "decimals as it has; --service-fee-fixed without --currency uses the\n"
    "tenant's current currency.  Only operators set the service fee.\n"
    "--purpose-required yes: every job must name a purpose (nimbusctl purpose).",
    billing_subcommands};

//
// 'provider_secret()' - Read one provider secret without a command-line
//                       value: from file, else the environment variable
//                       env, else a no-echo prompt.
//

static cli_status_t provider_secret(cli_t *cli, const char *file, const char *env,
                                    const char *prompt, char *secret, size_t size) {
  const char *value = getenv(env);

  if (file) return (cli_secret_from_file(cli, file, secret, size));

  if (value && *value) {
    if (strlen(value) >= size)
      return (cli_fail(cli, CLI_STATUS_USAGE, "%s: longer than %zu bytes", env, size - 1));

    memcpy(secret, value, strlen(value) + 1);
    return (CLI_STATUS_OK);
  }

  return (cli_secret_prompt(cli, prompt, false, secret, size));
}

//
// 'provider_add_secret()' - Add a secret to the credentials, as member key
//                           or, with array set, to the array in key.
//

static cli_status_t provider_add_secret(cli_t *cli, json_t *credentials, const char *key,
                                        bool array, const char *secret) {
  json_t *value = json_string(secret);
  json_t *list = json_object_get(credentials, key);

  if (!value) return (cli_fail(cli, CLI_STATUS_USAGE, "%s: the secret is not valid UTF-8", key));

  if (!array) {
    if (json_object_set_new(credentials, key, value))
      return (cli_fail(cli, CLI_STATUS_FAILED, "out of memory"));

    return (CLI_STATUS_OK);
  }

  if (!list && (!(list = json_array()) || json_object_set_new(credentials, key, list))) {
    json_decref(value);
    return (cli_fail(cli, CLI_STATUS_FAILED, "out of memory"));
  }

  if (json_array_append_new(list, value))
    return (cli_fail(cli, CLI_STATUS_FAILED, "out of memory"));

  return (CLI_STATUS_OK);
}

//
// 'provider_wipe()' - Erase every string in the credentials before they
//                     are freed.
//

static void provider_wipe(json_t *value) {
  const char *key;
  json_t *member;
  size_t i;

  if (json_is_string(value))
    cli_secret_wipe((char *)json_string_value(value), json_string_length(value));
  else if (json_is_object(value)) {
    json_object_foreach(value, key, member) provider_wipe(member);
  } else if (json_is_array(value)) {
    json_array_foreach(value, i, member) provider_wipe(member);
  }
}

//
// 'provider_check()' - Refuse options of the other provider and more than
//                      one secret from standard input.
//

static cli_status_t provider_check(cli_t *cli, const cli_parsed_t *parsed, bool linepay) {
  static const int linepay_only[] = {VOPT_CHANNEL_ID, VOPT_CHANNEL_SECRET_FILE};
  static const int stripe_only[] = {VOPT_SECRET_KEY_FILE, VOPT_WEBHOOK_SECRET_FILE};
  const int *other = linepay ? stripe_only : linepay_only;
  int stdin_files = 0;

  for (int i = 0; i < 2; i++) {
    if (parsed->values[other[i]])
      return (cli_fail(cli, CLI_STATUS_USAGE, "--%s is not an option of provider %s",
                       provider_set_options[other[i]].name, parsed->values[VOPT_PROVIDER]));
  }

  for (int opt = VOPT_CHANNEL_SECRET_FILE; opt <= VOPT_WEBHOOK_SECRET_FILE; opt++) {
    for (int i = 0; i < parsed->nrepeated[opt]; i++)
      stdin_files += !strcmp(parsed->repeated[opt][i], "-");
  }

  if (stdin_files > 1)
    return (cli_fail(cli, CLI_STATUS_USAGE, "only one secret can be read from standard input"));

  if (linepay && !parsed->values[VOPT_CHANNEL_ID])
    return (cli_fail(cli, CLI_STATUS_USAGE, "provider linepay needs --channel-id"));

  return (CLI_STATUS_OK);
}

//
// 'provider_credentials()' - Fill the credentials object of a provider.
//

static cli_status_t provider_credentials(cli_t *cli, const cli_parsed_t *parsed, bool linepay,
                                         json_t *credentials) {
  char secret[CLI_SECRET_MAX];
  cli_status_t status = CLI_STATUS_OK;

  if (parsed->values[VOPT_API_BASE])
    status = cli_json_set_string(cli, credentials, "api_base", parsed->values[VOPT_API_BASE]);

  if (linepay) {
    if (status == CLI_STATUS_OK)
      status = cli_json_set_string(cli, credentials, "channel_id", parsed->values[VOPT_CHANNEL_ID]);

    if (status == CLI_STATUS_OK &&
        (status = provider_secret(cli, parsed->values[VOPT_CHANNEL_SECRET_FILE],
                                  "NIMBUS_LINEPAY_CHANNEL_SECRET", "LINE Pay channel secret",
                                  secret, sizeof(secret))) == CLI_STATUS_OK)
      status = provider_add_secret(cli, credentials, "channel_secret", false, secret);

    goto done;
  }

  if (status == CLI_STATUS_OK &&
      (status =
           provider_secret(cli, parsed->values[VOPT_SECRET_KEY_FILE], "NIMBUS_STRIPE_SECRET_KEY",
                           "Stripe secret key", secret, sizeof(secret))) == CLI_STATUS_OK)
    status = provider_add_secret(cli, credentials, "secret_key", false, secret);

  if (status == CLI_STATUS_OK && parsed->nrepeated[VOPT_WEBHOOK_SECRET_FILE] == 0 &&
      (status = provider_secret(cli, NULL, "NIMBUS_STRIPE_WEBHOOK_SECRET",
                                "Stripe webhook signing secret", secret, sizeof(secret))) ==
          CLI_STATUS_OK)
    status = provider_add_secret(cli, credentials, "webhook_secrets", true, secret);

  for (int i = 0; status == CLI_STATUS_OK && i < parsed->nrepeated[VOPT_WEBHOOK_SECRET_FILE]; i++) {
    if ((status = cli_secret_from_file(cli, parsed->repeated[VOPT_WEBHOOK_SECRET_FILE][i], secret,
                                       sizeof(secret))) == CLI_STATUS_OK)
      status = provider_add_secret(cli, credentials, "webhook_secrets", true, secret);
  }

done:
  cli_secret_wipe(secret, sizeof(secret));

  return (status);
}

//
// 'provider_send()' - Send a provider request and print the answer: its
//                     masked description, provider first.
//

static cli_status_t provider_send(cli_t *cli, const cli_request_t *request) {
  json_t *response = NULL;
  cli_status_t status;

  if ((status = cli_http_send(cli, request, &response)) != CLI_STATUS_OK) goto done;

  if (cli->json)
    cli_output_json(response);
  else if (response)
    status = cli_output_members(cli, response, "provider");

done:
  json_decref(response);

  return (status);
}

//
// 'provider_show()' - GET /api/v1/billing/provider
//

static cli_status_t provider_show(cli_t *cli, cli_parsed_t *parsed) {
  cli_request_t request = {
      .method = "GET", .path = "/api/v1/billing/provider", .tenant_scoped = true};

  (void)parsed;

  return (provider_send(cli, &request));
}

//
// 'provider_set()' - PUT /api/v1/billing/provider {provider, credentials}
//

static cli_status_t provider_set(cli_t *cli, cli_parsed_t *parsed) {
  json_t *body = json_object();
  json_t *credentials = json_object();
  cli_request_t request = {
      .method = "PUT", .path = "/api/v1/billing/provider", .tenant_scoped = true, .body = body};
  const char *provider = parsed->values[VOPT_PROVIDER];
  cli_status_t status = CLI_STATUS_OK;
  bool linepay;

  if (!body || !credentials || json_object_set(body, "credentials", credentials)) {
    status = cli_fail(cli, CLI_STATUS_FAILED, "out of memory");
    goto done;
  }

  if (!cli_args_choice(cli, provider_set_options[VOPT_PROVIDER].name, provider, provider_names)) {
    status = CLI_STATUS_USAGE;
    goto done;
  }

  linepay = !strcmp(provider, "linepay");

  if ((status = provider_check(cli, parsed, linepay)) != CLI_STATUS_OK ||
      (status = cli_json_set_string(cli, body, "provider", provider)) != CLI_STATUS_OK ||
      (status = provider_credentials(cli, parsed, linepay, credentials)) != CLI_STATUS_OK)
    goto done;

  status = provider_send(cli, &request);

done:
  provider_wipe(credentials);
  json_decref(credentials);
  json_decref(body);

  return (status);
}

//
// 'provider_delete()' - DELETE /api/v1/billing/provider
//

static cli_status_t provider_delete(cli_t *cli, cli_parsed_t *parsed) {
  cli_request_t request = {
      .method = "DELETE", .path = "/api/v1/billing/provider", .tenant_scoped = true};
  char message[] = "Payment provider deleted.";

  (void)parsed;

  return (cli_command_delete(cli, &request, message));
}

static const cli_subcommand_t provider_subcommands[] = {
    {"show", "", NULL, provider_show},
    {"set", "", provider_set_options, provider_set},
    {"delete", "", NULL, provider_delete},
    {NULL, NULL, NULL, NULL}};

const cli_command_t cli_command_payment_provider = {
    "payment-provider", "show, set and delete the tenant's payment provider account",
    "Secrets are never command-line values: each is read from its file option\n"
    "('-': standard input, one secret at most), else from the environment\n"
    "(NIMBUS_LINEPAY_CHANNEL_SECRET, NIMBUS_STRIPE_SECRET_KEY,\n"
    "NIMBUS_STRIPE_WEBHOOK_SECRET), else asked for without echo.  The server\n"
    "stores them encrypted and never shows them again: 'show' prints which\n"
    "fields are set, masked.  linepay needs --channel-id and the channel secret;\n"
    "stripe needs the secret key and at least one webhook signing secret.\n"
    "--api-base points an account at a sandbox or at nimbus-paysim.",
    provider_subcommands};
