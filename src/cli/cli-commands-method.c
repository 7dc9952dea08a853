//
// 'nimbusctl payment-method' - the signed-in user's saved payment method
// (billing by purpose, docs/BILLING.md "Saved payment methods"): the
// method jobs under a private purpose are charged to.  Registering opens
// the tenant's payment provider: nimbusctl prints the page to open, and
// 'show' tells when the provider has confirmed it.  The method's
// reference at the provider is never shown.
//

#include "cli-private.h"

static const cli_field_t method_fields[] = {{"provider", NULL, "Provider", NULL},
                                            {"state", NULL, "State", NULL},
                                            {"display", NULL, "Method", NULL},
                                            {"setup_url", NULL, "Register at", NULL},
                                            {NULL, NULL, NULL, NULL}};

static const cli_view_t method_view = {NULL, method_fields};

static cli_status_t method_show(cli_t *cli, cli_parsed_t *parsed) {
  (void)parsed;
  cli_request_t request = {.method = "GET", .path = "/api/v1/me/payment-method"};
  return (cli_command_show(cli, &request, &method_view));
}

static cli_status_t method_register(cli_t *cli, cli_parsed_t *parsed) {
  (void)parsed;
  cli_request_t request = {.method = "POST", .path = "/api/v1/me/payment-method"};
  return (cli_command_show(cli, &request, &method_view));
}

static cli_status_t method_remove(cli_t *cli, cli_parsed_t *parsed) {
  (void)parsed;
  cli_request_t request = {.method = "DELETE", .path = "/api/v1/me/payment-method"};
  char done[] = "payment method removed";
  return (cli_command_delete(cli, &request, done));
}

static const cli_subcommand_t method_subcommands[] = {{"show", "", NULL, method_show},
                                                      {"register", "", NULL, method_register},
                                                      {"remove", "", NULL, method_remove},
                                                      {NULL, NULL, NULL, NULL}};

const cli_command_t cli_command_payment_method = {
    "payment-method", "show, register and remove your saved payment method",
    "Jobs you print under a private purpose are charged to it when they have printed.\n"
    "'register' prints the payment provider's page: open it to save a card (or LINE\n"
    "Pay); 'show' says 'active' once the provider has confirmed it.",
    method_subcommands};
