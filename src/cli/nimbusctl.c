//
// nimbusctl: command-line client of nimbusd's REST API.
//
//   nimbusctl [GLOBAL OPTIONS] COMMAND [SUBCOMMAND] [ARGS] [OPTIONS]
//
// This file holds main(): global options and environment, credential
// precedence, command dispatch, and the one place where a failure is
// printed.  The commands live in cli-commands-*.c, the transport in
// cli-http.c, the printing in cli-output.c.
//
// Credential precedence: options on the command line win over the
// environment.  --token cannot be combined with --user/--password/
// --password-file.  Without options, NIMBUS_TOKEN is preferred over
// NIMBUS_USER.  A Basic-auth password comes from --password,
// --password-file, NIMBUS_PASSWORD, or a no-echo prompt, in that order.
//

#include "cli-private.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

//
// Global options; the index is the option id.
//

enum {
  GOPT_URL,
  GOPT_TOKEN,
  GOPT_USER,
  GOPT_PASSWORD,
  GOPT_PASSWORD_FILE,
  GOPT_TENANT,
  GOPT_JSON,
  GOPT_CACERT,
  GOPT_INSECURE,
  GOPT_TIMEOUT,
  GOPT_VERSION
};

const cli_option_t cli_global_options[] = {
    [GOPT_URL] = {"url", "URL", "server URL (env NIMBUS_URL; " CLI_DEFAULT_URL ")", false},
    [GOPT_TOKEN] = {"token", "TOKEN", "bearer token (env NIMBUS_TOKEN)", false},
    [GOPT_USER] = {"user", "NAME@TENANT", "user for Basic auth (env NIMBUS_USER)", false},
    [GOPT_PASSWORD] = {"password", "PASSWORD", "password (env NIMBUS_PASSWORD; else asked for)",
                       false},
    [GOPT_PASSWORD_FILE] = {"password-file", "FILE", "read the password from FILE ('-': stdin)",
                            false},
    [GOPT_TENANT] = {"tenant", "NAME", "operators: act on tenant NAME", false},
    [GOPT_JSON] = {"json", NULL, "print the server's JSON, not tables", false},
    [GOPT_CACERT] = {"cacert", "FILE", "trust the CA certificates in FILE", false},
    [GOPT_INSECURE] = {"insecure", NULL, "do not verify the server's TLS certificate", false},
    [GOPT_TIMEOUT] = {"timeout", "SECONDS", "connect and stall timeout (default 30)", false},
    [GOPT_VERSION] = {"version", NULL, "print the version and exit", false},
    {NULL, NULL, NULL, false}};

static const cli_command_t *const commands[] = {&cli_command_whoami,
                                                &cli_command_tenant,
                                                &cli_command_user,
                                                &cli_command_queue,
                                                &cli_command_remote_link,
                                                &cli_command_token,
                                                &cli_command_job,
                                                &cli_command_submit,
                                                &cli_command_printer,
                                                &cli_command_billing,
                                                &cli_command_payment_provider,
                                                &cli_command_price_table,
                                                &cli_command_ledger,
                                                &cli_command_account,
                                                &cli_command_purpose,
                                                &cli_command_report,
                                                &cli_command_payment_method,
                                                &cli_command_contract,
                                                &cli_command_package,
                                                NULL};

//
// 'cli_fail()' - Record the message of a failure and return its status.
//
// The message is printed once by main(); it must never contain a secret.
//

cli_status_t cli_fail(cli_t *cli, cli_status_t status, const char *format, ...) {
  va_list ap;

  va_start(ap, format);
  vsnprintf(cli->error, sizeof(cli->error), format, ap);
  va_end(ap);

  return (status);
}

//
// 'main_usage()' - Print the global help.
//

static void main_usage(FILE *fp) {
  fputs(
      "Usage: nimbusctl [GLOBAL OPTIONS] COMMAND [ARGS] [OPTIONS]\n"
      "\n"
      "Administer and use a Nimbus Print server through its REST API.\n"
      "\n"
      "Commands:\n",
      fp);

  for (int i = 0; commands[i]; i++)
    fprintf(fp, "  %-18s%s\n", commands[i]->name, commands[i]->summary);

  fputs("\nGlobal options:\n", fp);
  cli_args_usage_options(cli_global_options, fp);
  fprintf(fp, "  -h, --help%*sshow this help\n", 30 - 12, "");
  fputs(
      "\n"
      "Run 'nimbusctl COMMAND --help' for the options of a command.\n"
      "Exit status: 0 success, 1 refused by the server or other error,\n"
      "2 usage error, 3 cannot connect to the server.\n",
      fp);
}

//
// 'main_find_command()' - Look a command up by name; NULL if unknown.
//

static const cli_command_t *main_find_command(const char *name) {
  for (int i = 0; commands[i]; i++) {
    if (!strcmp(commands[i]->name, name)) return (commands[i]);
  }

  return (NULL);
}

//
// 'main_configure()' - Apply global options and environment to cli.
//
// Secrets given as options are copied into cli's buffers and blanked in
// argv.  Returns CLI_STATUS_USAGE on conflicting or malformed options.
//

static cli_status_t main_configure(cli_t *cli, cli_parsed_t *parsed) {
  char **values = parsed->values;
  const char *url = values[GOPT_URL] ? values[GOPT_URL] : getenv("NIMBUS_URL");
  bool cmd_basic = values[GOPT_USER] || values[GOPT_PASSWORD] || values[GOPT_PASSWORD_FILE];
  size_t len;
  long long timeout;

  // Server URL: http(s) only, no credentials in it, no trailing slash.
  if (!url || !*url) url = CLI_DEFAULT_URL;

  if (strncasecmp(url, "http://", 7) && strncasecmp(url, "https://", 8))
    return (cli_fail(cli, CLI_STATUS_USAGE, "--url must start with http:// or https://"));

  const char *authority = strstr(url, "//") + 2;
  const char *at = strchr(authority, '@');

  if (at && at < authority + strcspn(authority, "/?#"))
    return (cli_fail(cli, CLI_STATUS_USAGE,
                     "--url must not contain credentials; use --user or --token"));

  if ((len = strlen(url)) >= sizeof(cli->url_buf))
    return (cli_fail(cli, CLI_STATUS_USAGE, "--url is too long"));

  memcpy(cli->url_buf, url, len + 1);

  while (len > 0 && cli->url_buf[len - 1] == '/') cli->url_buf[--len] = '\0';

  cli->url = cli->url_buf;

  // Credentials.
  if (values[GOPT_TOKEN] && cmd_basic)
    return (cli_fail(cli, CLI_STATUS_USAGE,
                     "--token cannot be combined with --user, --password or --password-file"));

  if (values[GOPT_PASSWORD] && values[GOPT_PASSWORD_FILE])
    return (
        cli_fail(cli, CLI_STATUS_USAGE, "--password and --password-file are mutually exclusive"));

  if (values[GOPT_TOKEN]) {
    if (cli_secret_from_arg(cli, values[GOPT_TOKEN], cli->token_buf, sizeof(cli->token_buf)) !=
        CLI_STATUS_OK)
      return (cli_fail(cli, CLI_STATUS_USAGE, "--token must be 1 to %zu bytes long",
                       sizeof(cli->token_buf) - 1));

    cli->token = cli->token_buf;
  } else if (cmd_basic) {
    if (!(cli->user = values[GOPT_USER] ? values[GOPT_USER] : getenv("NIMBUS_USER")) || !*cli->user)
      return (
          cli_fail(cli, CLI_STATUS_USAGE, "--password needs --user NAME@TENANT (or NIMBUS_USER)"));
  } else if (getenv("NIMBUS_TOKEN") && *getenv("NIMBUS_TOKEN")) {
    cli->token = getenv("NIMBUS_TOKEN");
  } else if (getenv("NIMBUS_USER") && *getenv("NIMBUS_USER")) {
    cli->user = getenv("NIMBUS_USER");
  }

  // A token goes into a header line: printable ASCII only, no spaces.
  for (const char *ch = cli->token; ch && *ch; ch++) {
    if (*ch <= ' ' || *ch > '~')
      return (cli_fail(cli, CLI_STATUS_USAGE, "the token contains characters a token cannot have"));
  }

  if (cli->user) {
    if (values[GOPT_PASSWORD]) {
      if (cli_secret_from_arg(cli, values[GOPT_PASSWORD], cli->password_buf,
                              sizeof(cli->password_buf)) != CLI_STATUS_OK)
        return (cli_fail(cli, CLI_STATUS_USAGE, "--password must be 1 to %zu bytes long",
                         sizeof(cli->password_buf) - 1));

      cli->password = cli->password_buf;
    } else if (values[GOPT_PASSWORD_FILE]) {
      cli->password_file = values[GOPT_PASSWORD_FILE];
    } else if (getenv("NIMBUS_PASSWORD") && *getenv("NIMBUS_PASSWORD")) {
      cli->password = getenv("NIMBUS_PASSWORD");
    }
  }

  // Everything else.
  cli->tenant = values[GOPT_TENANT];
  cli->cacert = values[GOPT_CACERT];
  cli->insecure = values[GOPT_INSECURE] != NULL;
  cli->json = values[GOPT_JSON] != NULL;
  cli->timeout = CLI_DEFAULT_TIMEOUT;

  if (cli->tenant && !*cli->tenant)
    return (cli_fail(cli, CLI_STATUS_USAGE, "--tenant needs a tenant name"));

  if (values[GOPT_TIMEOUT]) {
    if (!cli_args_integer(cli, "timeout", values[GOPT_TIMEOUT], 1, 86400, &timeout))
      return (CLI_STATUS_USAGE);

    cli->timeout = (long)timeout;
  }

  return (CLI_STATUS_OK);
}

//
// 'main()' - Parse global options, run one command, report its outcome.
//

int main(int argc, char *argv[]) {
  cli_t cli = {0};
  cli_parsed_t parsed;
  cli_status_t status;
  const cli_command_t *command = NULL;
  bool curl_up = false;

  if ((status = cli_args_parse(&cli, argc, argv, 1, cli_global_options, true, &parsed)) !=
      CLI_STATUS_OK)
    goto done;

  if (parsed.help) {
    main_usage(stdout);
    goto done;
  }

  if (parsed.values[GOPT_VERSION]) {
    printf("nimbusctl %s (libcurl %s, jansson %s)\n", NIMBUS_VERSION,
           curl_version_info(CURLVERSION_NOW)->version, jansson_version_str());
    goto done;
  }

  if (parsed.next >= argc) {
    main_usage(stderr);
    status = CLI_STATUS_USAGE;
    goto done;
  }

  const char *name = argv[parsed.next];

  if (!strcmp(name, "help")) {
    // "nimbusctl help [COMMAND]"
    if (parsed.next + 1 < argc && (command = main_find_command(argv[parsed.next + 1])))
      cli_args_usage_command(command, stdout);
    else if (parsed.next + 1 < argc)
      status = cli_fail(&cli, CLI_STATUS_USAGE, "unknown command '%s'", argv[parsed.next + 1]);
    else
      main_usage(stdout);

    command = NULL;
    goto done;
  }

  if (!(command = main_find_command(name))) {
    status = cli_fail(&cli, CLI_STATUS_USAGE, "unknown command '%s'", name);
    goto done;
  }

  if ((status = main_configure(&cli, &parsed)) != CLI_STATUS_OK) {
    command = NULL;  // the global options are at fault, not the command
    goto done;
  }

  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    status = cli_fail(&cli, CLI_STATUS_FAILED, "cannot initialize libcurl");
    goto done;
  }

  curl_up = true;
  status = cli_command_run(&cli, command, argc - parsed.next, argv + parsed.next);

done:
  if (fflush(stdout) != 0 || ferror(stdout)) {
    if (status == CLI_STATUS_OK)
      status = cli_fail(&cli, CLI_STATUS_FAILED, "cannot write to standard output");
  }

  if (status != CLI_STATUS_OK && cli.error[0]) {
    cli_output_sanitize(cli.error);
    fprintf(stderr, "%s: %s\n", CLI_PROGRAM, cli.error);

    if (status == CLI_STATUS_USAGE)
      fprintf(stderr, "Try '%s%s%s --help'.\n", CLI_PROGRAM, command ? " " : "",
              command ? command->name : "");
  }

  cli_http_close(&cli);

  if (curl_up) curl_global_cleanup();

  cli_secret_wipe(cli.password_buf, sizeof(cli.password_buf));
  cli_secret_wipe(cli.token_buf, sizeof(cli.token_buf));

  return ((int)status);
}
