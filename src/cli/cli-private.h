//
// Private definitions shared by the nimbusctl modules.
//
// nimbusctl is the command-line client of nimbusd's REST API (/api/v1).
// Nothing outside src/cli includes this header.
//
// Error convention: functions return a cli_status_t; on failure they store
// one human-readable message in cli_t.error (via cli_fail()) and main()
// prints it once as "nimbusctl: <message>".  The status doubles as the
// process exit code.
//

#ifndef NIMBUS_CLI_PRIVATE_H
#define NIMBUS_CLI_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <curl/curl.h>
#include <jansson.h>

#ifndef NIMBUS_VERSION
#define NIMBUS_VERSION "0.0.0-dev"
#endif

#define CLI_PROGRAM "nimbusctl"
#define CLI_DEFAULT_URL "http://127.0.0.1:8631"
#define CLI_DEFAULT_TIMEOUT 30L                 // seconds
#define CLI_RESPONSE_MAX (16u * 1024u * 1024u)  // largest accepted response body
#define CLI_URL_MAX 8192u                       // longest request URL
#define CLI_SECRET_MAX 1024u                    // password, PIN or token, incl. NUL
#define CLI_ERROR_MAX 1024u                     // one diagnostic message
#define CLI_OPTION_MAX 16                       // options per (sub)command
#define CLI_POSITIONAL_MAX 4                    // positional arguments per subcommand
#define CLI_QUERY_MAX 12                        // query parameters per request
#define CLI_REPEAT_MAX 8                        // values kept of one repeated option
#define CLI_INTEGER_MAX 9007199254740991LL      // 2^53 - 1: exact in every JSON peer

//
// Exit codes; also the status every fallible function returns.
//

typedef enum cli_status_e {
  CLI_STATUS_OK = 0,      // success
  CLI_STATUS_FAILED = 1,  // server refused, bad response, local file error
  CLI_STATUS_USAGE = 2,   // bad command line
  CLI_STATUS_CONNECT = 3  // could not talk to the server at all
} cli_status_t;

//
// Option tables are declarative: one table per (sub)command feeds both the
// parser and the generated --help text.  An option's index in its table is
// its id, and the parsed value lands at the same index of
// cli_parsed_t.values.  Tables end with an entry whose name is NULL.
//

typedef struct cli_option_s {
  const char *name;     // long name without "--"
  const char *metavar;  // value placeholder ("NAME"); NULL for a flag
  const char *help;     // one line for --help
  bool required;        // must be given (checked by cli_command_run())
} cli_option_t;

typedef struct cli_parsed_s {
  char *values[CLI_OPTION_MAX];                    // value, "" for a given flag, NULL if absent
                                                   // (the last one when given more than once)
  char *repeated[CLI_OPTION_MAX][CLI_REPEAT_MAX];  // every value of an option, in order
  int nrepeated[CLI_OPTION_MAX];
  char *positional[CLI_POSITIONAL_MAX];  // positional arguments in order
  int npositional;
  bool help;  // --help or -h was given
  int next;   // argv index where parsing stopped
} cli_parsed_t;

typedef struct cli_s cli_t;

typedef struct cli_subcommand_s {
  const char *name;             // NULL: the command takes no subcommand word
  const char *args;             // positional arguments, e.g. "NAME" or ""; each word required
  const cli_option_t *options;  // may be NULL
  cli_status_t (*run)(cli_t *cli, cli_parsed_t *parsed);
} cli_subcommand_t;

typedef struct cli_command_s {
  const char *name;
  const char *summary;                  // one line for "nimbusctl --help"
  const char *notes;                    // extra paragraph for "nimbusctl NAME --help" or NULL
  const cli_subcommand_t *subcommands;  // ends with run == NULL
} cli_command_t;

//
// Program state: global options plus the diagnostic of the last failure.
//

struct cli_s {
  const char *url;            // base URL, no trailing slash
  const char *token;          // bearer token or NULL
  const char *user;           // NAME@TENANT for Basic auth or NULL
  const char *password;       // points into password_buf or NULL
  const char *password_file;  // --password-file, read lazily
  const char *tenant;         // operator's ?tenant= or NULL
  const char *cacert;         // CA bundle or NULL
  bool insecure;              // skip TLS verification
  bool json;                  // print server JSON instead of tables
  long timeout;               // seconds
  bool auth_ready;            // password resolved (see cli-http.c)
  CURL *curl;                 // lazily created, reused per request
  char password_buf[CLI_SECRET_MAX];
  char token_buf[CLI_SECRET_MAX];
  char url_buf[CLI_URL_MAX / 2];
  char error[CLI_ERROR_MAX];
};

//
// One REST request.  path is a fixed prefix such as "/api/v1/users"; id, if
// set, is URL-encoded and appended as one path segment, then action (a fixed
// word such as "cancel"), then id2 (URL-encoded, e.g. the user of
// billing-accounts/CODE/users/USER).  Query parameters with a NULL value are skipped;
// the list ends at the first NULL name.
//

typedef struct cli_param_s {
  const char *name;
  const char *value;
} cli_param_t;

typedef struct cli_request_s {
  const char *method;  // "GET", "POST", "PATCH", "DELETE"
  const char *path;
  const char *id;
  const char *action;
  const char *id2;     // a segment after action, or NULL
  bool tenant_scoped;  // add ?tenant= when --tenant given
  cli_param_t query[CLI_QUERY_MAX];
  const json_t *body;  // JSON body (borrowed) or NULL
  curl_mime *mime;     // multipart body (borrowed) or NULL
  FILE *upload;        // raw application/octet-stream body streamed from here, or NULL
  curl_off_t upload_size;  // its length in bytes (sent as Content-Length)
  const char *accept;  // Accept header value; NULL: JSON or a problem document
  FILE *raw;           // non-NULL: a 2xx body is written here untouched, not parsed
} cli_request_t;

//
// Output views: which members of a resource to show and how to label them.
// Fields end with key == NULL.  A key "a.b" names member b of the object
// in member a.  Keys starting with "cli:" are not the server's: the
// commands add them (formatted amounts, times) before printing a table
// or record, never to the --json output.
//

typedef struct cli_view_s cli_view_t;

typedef struct cli_field_s {
  const char *key;           // JSON member name
  const char *header;        // table column header, NULL: not in tables
  const char *label;         // label in single-record output
  const cli_view_t *nested;  // array of objects shown as an indented table
} cli_field_t;

struct cli_view_s {
  const char *list_key;  // member holding the array in list responses
  const cli_field_t *fields;
};

// cli-args.c
cli_status_t cli_args_parse(cli_t *cli, int argc, char **argv, int first,
                            const cli_option_t *options, bool stop_at_positional,
                            cli_parsed_t *parsed);
bool cli_args_integer(cli_t *cli, const char *option, const char *text, long long min,
                      long long max, long long *value);
bool cli_args_choice(cli_t *cli, const char *option, const char *text, const char *const *choices);
int cli_args_count(const char *args);
int cli_args_required(const char *args);
void cli_args_usage_options(const cli_option_t *options, FILE *fp);
void cli_args_usage_command(const cli_command_t *command, FILE *fp);

// cli-commands.c
extern const cli_command_t cli_command_whoami;
extern const cli_command_t cli_command_tenant;
extern const cli_command_t cli_command_user;
extern const cli_command_t cli_command_queue;
extern const cli_command_t cli_command_remote_link;
extern const cli_command_t cli_command_token;
extern const cli_command_t cli_command_job;
extern const cli_command_t cli_command_submit;
extern const cli_command_t cli_command_printer;
extern const cli_command_t cli_command_billing;
extern const cli_command_t cli_command_payment_provider;
extern const cli_command_t cli_command_price_table;
extern const cli_command_t cli_command_ledger;
extern const cli_command_t cli_command_account;  // cli-commands-account.c
extern const cli_command_t cli_command_purpose;
extern const cli_command_t cli_command_report;          // cli-commands-report.c
extern const cli_command_t cli_command_payment_method;  // cli-commands-method.c
extern const cli_command_t cli_command_contract;        // cli-commands-contract.c
extern const cli_command_t cli_command_package;         // cli-commands-package.c

cli_status_t cli_command_run(cli_t *cli, const cli_command_t *command, int argc, char **argv);
cli_status_t cli_command_show(cli_t *cli, const cli_request_t *request, const cli_view_t *view);
cli_status_t cli_command_list(cli_t *cli, const cli_request_t *request, const cli_view_t *view);
cli_status_t cli_command_delete(cli_t *cli, const cli_request_t *request, char *done_message);
cli_status_t cli_json_set_string(cli_t *cli, json_t *object, const char *key, const char *value);
cli_status_t cli_json_set_integer(cli_t *cli, json_t *object, const char *key, const char *option,
                                  const char *text, long long min, long long max);
cli_status_t cli_json_set_boolean(cli_t *cli, json_t *object, const char *key, bool value);
cli_status_t cli_json_set_pricing(cli_t *cli, const cli_parsed_t *parsed,
                                  const cli_option_t *options, int opt, json_t *body);

// cli-http.c
cli_status_t cli_http_auth_resolve(cli_t *cli);
cli_status_t cli_http_send(cli_t *cli, const cli_request_t *request, json_t **response);
CURL *cli_http_handle(cli_t *cli);
void cli_http_close(cli_t *cli);

// cli-money.c
extern const cli_view_t cli_payment_view;

bool cli_money_text(const json_t *amount, const char *currency, bool with_code, char *buf,
                    size_t size);
cli_status_t cli_money_set_text(cli_t *cli, json_t *object, const char *key, const json_t *amount,
                                const char *currency, bool with_code);
cli_status_t cli_money_set_time(cli_t *cli, json_t *object, const char *key, const json_t *epoch);
cli_status_t cli_money_decorate_job(cli_t *cli, json_t *job);
cli_status_t cli_money_decorate_payment(cli_t *cli, json_t *payment);
cli_status_t cli_money_parse(cli_t *cli, const char *option, const char *text, const char *currency,
                             long long *minor);

// cli-output.c
const json_t *cli_output_member(const json_t *record, const char *key);
cli_status_t cli_output_members(cli_t *cli, const json_t *record, const char *first);
void cli_output_json(const json_t *document);
void cli_output_sanitize(char *text);
cli_status_t cli_output_record(cli_t *cli, const json_t *record, const cli_view_t *view);
cli_status_t cli_output_table(cli_t *cli, const json_t *rows, const cli_view_t *view, int indent);

// cli-secret.c
cli_status_t cli_secret_from_arg(cli_t *cli, char *arg, char *secret, size_t size);
cli_status_t cli_secret_from_file(cli_t *cli, const char *path, char *secret, size_t size);
cli_status_t cli_secret_prompt(cli_t *cli, const char *prompt, bool confirm, char *secret,
                               size_t size);
void cli_secret_wipe(void *secret, size_t size);

// nimbusctl.c
extern const cli_option_t cli_global_options[];

cli_status_t cli_fail(cli_t *cli, cli_status_t status, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

#endif  // NIMBUS_CLI_PRIVATE_H
