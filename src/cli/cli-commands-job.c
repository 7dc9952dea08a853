//
// "nimbusctl job" and "nimbusctl submit": list, show, cancel and release
// print jobs, pay for them before going to the printer, and submit
// documents (/api/v1/jobs).
//
// A job's charge and payment come as integers of minor units; the records
// print their text (cli_money_decorate_job()).  A release the server
// answers 202 has started a payment instead: the job prints once it is
// paid, so the payment URL is printed and the exit status is 0.
//
// submit streams the document from disk with curl's MIME API
// (curl_mime_filedata), so nimbusctl's memory does not grow with the
// document.  The form fields go before the document part so that the
// server knows queue and options before the data arrives.
//

#include "cli-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const cli_field_t document_fields[] = {
    {"number", "#", "Number", NULL},      {"format", "FORMAT", "Format", NULL},
    {"size", "BYTES", "Size", NULL},      {"pages", "PAGES", "Pages", NULL},
    {"purged", "PURGED", "Purged", NULL}, {NULL, NULL, NULL, NULL}};

static const cli_view_t document_view = {"documents", document_fields};

// One line of a charge's breakdown (cli_money_decorate_job()).
static const cli_field_t charge_line_fields[] = {{"tier", "TIER", "Tier", NULL},
                                                 {"from", "FROM", "From", NULL},
                                                 {"count", "IMPRESSIONS", "Impressions", NULL},
                                                 {"cli:unit", "UNIT", "Unit", NULL},
                                                 {"cli:subtotal", "SUBTOTAL", "Subtotal", NULL},
                                                 {NULL, NULL, NULL, NULL}};

static const cli_view_t charge_line_view = {NULL, charge_line_fields};

static const cli_field_t job_fields[] = {
    {"id", "ID", "Id", NULL},
    {"queue", "QUEUE", "Queue", NULL},
    {"owner", "OWNER", "Owner", NULL},
    {"state", "STATE", "State", NULL},
    {"pages", "PAGES", "Pages", NULL},
    {"copies", "COPIES", "Copies", NULL},
    {"has_pin", "PIN", "PIN protected", NULL},
    {"created_at", "CREATED", "Created", NULL},
    {"name", "NAME", "Name", NULL},
    {"tenant", NULL, "Tenant", NULL},
    {"reference", NULL, "Reference", NULL},
    {"origin_device", NULL, "Submitted through", NULL},
    {"ipp_state", NULL, "IPP state", NULL},
    {"state_reasons", NULL, "State reasons", NULL},
    {"account_id", NULL, "Account id", NULL},
    {"accounting_user_id", NULL, "Accounting user id", NULL},
    {"completed_at", NULL, "Completed", NULL},
    {"cli:charge", NULL, "Charge", NULL},
    {"cli:price_table", NULL, "Price table", NULL},
    {"cli:charge_lines", NULL, "Charge lines", &charge_line_view},
    {"cli:payment", NULL, "Payment", NULL},
    {"cli:payment_url", NULL, "Payment URL", NULL},
    {"cli:purpose", NULL, "Purpose", NULL},
    {"documents", NULL, "Documents", &document_view},
    {NULL, NULL, NULL, NULL}};

static const cli_view_t job_view = {"jobs", job_fields};

static const cli_field_t job_brief_fields[] = {{"id", NULL, "Id", NULL},
                                               {"state", NULL, "State", NULL},
                                               {"state_reasons", NULL, "State reasons", NULL},
                                               {NULL, NULL, NULL, NULL}};

static const cli_view_t job_brief_view = {NULL, job_brief_fields};

// A job with a payment under way (job release answered 202, job pay).
static const cli_field_t job_paying_fields[] = {{"id", NULL, "Id", NULL},
                                                {"state", NULL, "State", NULL},
                                                {"cli:charge", NULL, "Charge", NULL},
                                                {"cli:payment", NULL, "Payment", NULL},
                                                {"payment.order_id", NULL, "Order id", NULL},
                                                {"payment.cli:expires_at", NULL, "Expires", NULL},
                                                {"cli:payment_url", NULL, "Payment URL", NULL},
                                                {NULL, NULL, NULL, NULL}};

static const cli_view_t job_paying_view = {NULL, job_paying_fields};

static const char *const job_states[] = {"held", "not-completed", "completed", "all", NULL};

enum { LOPT_STATE, LOPT_QUEUE, LOPT_USER, LOPT_LIMIT, LOPT_OFFSET };

static const cli_option_t job_list_options[] = {
    [LOPT_STATE] = {"state", "STATE", "held, fetchable, not-completed (default), completed or all",
                    false},
    [LOPT_QUEUE] = {"queue", "QUEUE", "only jobs of this queue", false},
    [LOPT_USER] = {"user", "NAME", "only jobs of this user", false},
    [LOPT_LIMIT] = {"limit", "N", "at most N jobs (server default 50)", false},
    [LOPT_OFFSET] = {"offset", "N", "skip the first N jobs", false},
    {NULL, NULL, NULL, false}};

enum { ROPT_PIN, ROPT_PIN_FILE, ROPT_OVERRIDE };

static const cli_option_t job_release_options[] = {
    [ROPT_PIN] = {"pin", "PIN", "the job's PIN (prefer --pin-file)", false},
    [ROPT_PIN_FILE] = {"pin-file", "FILE", "read the PIN from FILE ('-': stdin)", false},
    [ROPT_OVERRIDE] = {"override", NULL, "tenant admins: release without the job's PIN (audited)",
                       false},
    {NULL, NULL, NULL, false}};

enum { POPT_PIN, POPT_PIN_FILE };  // job pay

static const cli_option_t job_pay_options[] = {
    [POPT_PIN] = {"pin", "PIN", "the job's PIN (prefer --pin-file)", false},
    [POPT_PIN_FILE] = {"pin-file", "FILE", "read the PIN from FILE ('-': stdin)", false},
    {NULL, NULL, NULL, false}};

enum {
  SOPT_QUEUE,
  SOPT_TITLE,
  SOPT_COPIES,
  SOPT_PIN,
  SOPT_PIN_FILE,
  SOPT_ACCOUNT,
  SOPT_ACCOUNTING_USER,
  SOPT_PURPOSE,
  SOPT_FORMAT,
  SOPT_QUIET
};

static const cli_option_t submit_options[] = {
    [SOPT_QUEUE] = {"queue", "QUEUE", "queue to print to", true},
    [SOPT_TITLE] = {"title", "TEXT", "job name (default: the file name)", false},
    [SOPT_COPIES] = {"copies", "N", "number of copies (1-999)", false},
    [SOPT_PIN] = {"pin", "PIN", "hold the job until released with this PIN", false},
    [SOPT_PIN_FILE] = {"pin-file", "FILE", "read the PIN from FILE ('-': stdin)", false},
    [SOPT_ACCOUNT] = {"account", "ID", "job-account-id (a purpose or an account code)", false},
    [SOPT_ACCOUNTING_USER] = {"accounting-user", "ID", "job-accounting-user-id", false},
    [SOPT_PURPOSE] = {"purpose", "NAME", "print for this purpose of yours (or an account code)",
                      false},
    [SOPT_FORMAT] = {"format", "MIME", "document format (default: from file name)", false},
    [SOPT_QUIET] = {"quiet", NULL, "print only the new job's id (for scripts)", false},
    {NULL, NULL, NULL, false}};

//
// 'job_pin_read()' - Get a PIN from a --pin / --pin-file pair, if any.
//
// Leaves pin empty when neither option is given.
//

static cli_status_t job_pin_read(cli_t *cli, char *arg, const char *file, char *pin, size_t size) {
  pin[0] = '\0';

  if (arg && file)
    return (cli_fail(cli, CLI_STATUS_USAGE, "--pin and --pin-file are mutually exclusive"));

  if (arg) return (cli_secret_from_arg(cli, arg, pin, size));

  if (file) return (cli_secret_from_file(cli, file, pin, size));

  return (CLI_STATUS_OK);
}

//
// 'job_send()' - Send a request answered with a job and print it.
//
// The job is printed with view, or with paying_view (if given) when the
// answer carries a payment: then a note on stderr says that the job
// prints once paid, at its payment URL.
//

static cli_status_t job_send(cli_t *cli, const cli_request_t *request, const cli_view_t *view,
                             const cli_view_t *paying_view) {
  json_t *response = NULL;
  cli_status_t status;
  const json_t *payment;

  if ((status = cli_http_send(cli, request, &response)) != CLI_STATUS_OK) goto done;

  if (cli->json) {
    cli_output_json(response);
    goto done;
  }

  if (!response || (status = cli_money_decorate_job(cli, response)) != CLI_STATUS_OK) goto done;

  payment = json_object_get(response, "payment");

  if (paying_view && json_is_object(payment)) view = paying_view;

  if ((status = cli_output_record(cli, response, view)) != CLI_STATUS_OK) goto done;

  if (paying_view && json_is_string(json_object_get(payment, "payment_url")))
    fputs(
        "nimbusctl: the job prints once it is paid: open the payment URL (the printer's\n"
        "panel shows it as a QR code too).\n",
        stderr);

done:
  json_decref(response);

  return (status);
}

//
// 'job_list()' - GET /api/v1/jobs, one page.
//
// Prints a note on stderr when the server has more jobs than it returned.
//

static cli_status_t job_list(cli_t *cli, cli_parsed_t *parsed) {
  cli_request_t request = {.method = "GET", .path = "/api/v1/jobs", .tenant_scoped = true};
  json_t *response = NULL;
  cli_status_t status;
  long long number;
  int nquery = 0;

  if (parsed->values[LOPT_STATE] && !cli_args_choice(cli, job_list_options[LOPT_STATE].name,
                                                     parsed->values[LOPT_STATE], job_states))
    return (CLI_STATUS_USAGE);

  if (parsed->values[LOPT_LIMIT] &&
      !cli_args_integer(cli, job_list_options[LOPT_LIMIT].name, parsed->values[LOPT_LIMIT], 1,
                        100000, &number))
    return (CLI_STATUS_USAGE);

  if (parsed->values[LOPT_OFFSET] &&
      !cli_args_integer(cli, job_list_options[LOPT_OFFSET].name, parsed->values[LOPT_OFFSET], 0,
                        CLI_INTEGER_MAX, &number))
    return (CLI_STATUS_USAGE);

  // The option names are the API's query parameter names.
  for (int i = LOPT_STATE; i <= LOPT_OFFSET; i++)
    request.query[nquery++] = (cli_param_t){job_list_options[i].name, parsed->values[i]};

  if ((status = cli_http_send(cli, &request, &response)) != CLI_STATUS_OK) goto done;

  if (cli->json) {
    cli_output_json(response);
    goto done;
  }

  const json_t *jobs = json_object_get(response, job_view.list_key);

  if ((status = cli_output_table(cli, jobs, &job_view, 0)) != CLI_STATUS_OK) goto done;

  const json_t *next = json_object_get(response, "next_offset");

  if (json_is_integer(next))
    fprintf(stderr,
            "nimbusctl: showing %zu of %" JSON_INTEGER_FORMAT
            " jobs; see more with --offset %" JSON_INTEGER_FORMAT "\n",
            json_array_size(jobs), json_integer_value(json_object_get(response, "total")),
            json_integer_value(next));

done:
  json_decref(response);

  return (status);
}

//
// 'job_show()' - GET /api/v1/jobs/ID
//

static cli_status_t job_show(cli_t *cli, cli_parsed_t *parsed) {
  cli_request_t request = {
      .method = "GET", .path = "/api/v1/jobs", .id = parsed->positional[0], .tenant_scoped = true};

  return (job_send(cli, &request, &job_view, NULL));
}

//
// 'job_cancel()' - POST /api/v1/jobs/ID/cancel
//

static cli_status_t job_cancel(cli_t *cli, cli_parsed_t *parsed) {
  cli_request_t request = {.method = "POST",
                           .path = "/api/v1/jobs",
                           .id = parsed->positional[0],
                           .action = "cancel",
                           .tenant_scoped = true};

  return (cli_command_show(cli, &request, &job_brief_view));
}

//
// 'job_release()' - POST /api/v1/jobs/ID/release with {"pin": ...}
//                    or {"override": true}
//
// 202 (the job must be paid first) is a success: the payment URL is shown.
//

static cli_status_t job_release(cli_t *cli, cli_parsed_t *parsed) {
  json_t *body = json_object();
  cli_request_t request = {.method = "POST",
                           .path = "/api/v1/jobs",
                           .id = parsed->positional[0],
                           .action = "release",
                           .tenant_scoped = true,
                           .body = body};
  char pin[CLI_SECRET_MAX];
  cli_status_t status;

  if (!body) {
    status = cli_fail(cli, CLI_STATUS_FAILED, "out of memory");
    goto done;
  }

  if ((status = job_pin_read(cli, parsed->values[ROPT_PIN], parsed->values[ROPT_PIN_FILE], pin,
                             sizeof(pin))) != CLI_STATUS_OK)
    goto done;

  if (pin[0] && parsed->values[ROPT_OVERRIDE]) {
    status = cli_fail(cli, CLI_STATUS_USAGE, "--override releases without a PIN: give no --pin");
    goto done;
  }

  if (pin[0] && (status = cli_json_set_string(cli, body, "pin", pin)) != CLI_STATUS_OK) goto done;

  if (parsed->values[ROPT_OVERRIDE] &&
      (status = cli_json_set_boolean(cli, body, "override", true)) != CLI_STATUS_OK)
    goto done;

  status = job_send(cli, &request, &job_brief_view, &job_paying_view);

done:
  cli_secret_wipe(pin, sizeof(pin));
  json_decref(body);

  return (status);
}

//
// 'job_pay()' - POST /api/v1/jobs/ID/payment {pin?}: start paying for a
//               held job away from the printer; prints the payment URL.
//
// Asked again while the payment is open, the server gives the same one.
// A job that turned out to cost nothing is released (200): said on stderr.
//

static cli_status_t job_pay(cli_t *cli, cli_parsed_t *parsed) {
  json_t *body = json_object();
  cli_request_t request = {.method = "POST",
                           .path = "/api/v1/jobs",
                           .id = parsed->positional[0],
                           .action = "payment",
                           .tenant_scoped = true,
                           .body = body};
  char pin[CLI_SECRET_MAX];
  cli_status_t status;

  pin[0] = '\0';

  if (!body) {
    status = cli_fail(cli, CLI_STATUS_FAILED, "out of memory");
    goto done;
  }

  if ((status = job_pin_read(cli, parsed->values[POPT_PIN], parsed->values[POPT_PIN_FILE], pin,
                             sizeof(pin))) != CLI_STATUS_OK)
    goto done;

  if (pin[0] && (status = cli_json_set_string(cli, body, "pin", pin)) != CLI_STATUS_OK) goto done;

  status = job_send(cli, &request, &job_paying_view, &job_paying_view);

done:
  cli_secret_wipe(pin, sizeof(pin));
  json_decref(body);

  return (status);
}

//
// 'job_payment_send()' - Send a request answered with a payment and print it.
//

static cli_status_t job_payment_send(cli_t *cli, const cli_request_t *request) {
  json_t *response = NULL;
  cli_status_t status;

  if ((status = cli_http_send(cli, request, &response)) != CLI_STATUS_OK) goto done;

  if (cli->json)
    cli_output_json(response);
  else if (response && (status = cli_money_decorate_payment(cli, response)) == CLI_STATUS_OK)
    status = cli_output_record(cli, response, &cli_payment_view);

done:
  json_decref(response);

  return (status);
}

//
// 'job_payment()' - GET /api/v1/jobs/ID/payment (the latest payment)
//

static cli_status_t job_payment(cli_t *cli, cli_parsed_t *parsed) {
  cli_request_t request = {.method = "GET",
                           .path = "/api/v1/jobs",
                           .id = parsed->positional[0],
                           .action = "payment",
                           .tenant_scoped = true};

  return (job_payment_send(cli, &request));
}

//
// 'job_cancel_payment()' - DELETE /api/v1/jobs/ID/payment
//
// The job is held again; a payment that was completed meanwhile stays
// paid (printed with its state).
//

static cli_status_t job_cancel_payment(cli_t *cli, cli_parsed_t *parsed) {
  cli_request_t request = {.method = "DELETE",
                           .path = "/api/v1/jobs",
                           .id = parsed->positional[0],
                           .action = "payment",
                           .tenant_scoped = true};

  return (job_payment_send(cli, &request));
}

//
// 'submit_guess_format()' - MIME type from a file name's extension.
//
// application/octet-stream asks the server to detect the format.
//

static const char *submit_guess_format(const char *path) {
  static const struct {
    const char *ext;
    const char *format;
  } formats[] = {{".pdf", "application/pdf"},  {".ps", "application/postscript"},
                 {".txt", "text/plain"},       {".jpg", "image/jpeg"},
                 {".jpeg", "image/jpeg"},      {".png", "image/png"},
                 {".pwg", "image/pwg-raster"}, {".urf", "image/urf"}};
  const char *dot = strrchr(path, '.');
  const char *slash = strrchr(path, '/');

  if (dot && (!slash || dot > slash)) {
    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
      if (!strcasecmp(dot, formats[i].ext)) return (formats[i].format);
    }
  }

  return ("application/octet-stream");
}

//
// 'submit_add_field()' - Add one text field to the multipart form.
//
// value NULL adds nothing.  Returns false when memory runs out.
//

static bool submit_add_field(curl_mime *mime, const char *name, const char *value) {
  curl_mimepart *part;

  if (!value) return (true);

  return ((part = curl_mime_addpart(mime)) && curl_mime_name(part, name) == CURLE_OK &&
          curl_mime_data(part, value, CURL_ZERO_TERMINATED) == CURLE_OK);
}

//
// 'submit_check_file()' - Make sure the document is a readable regular file.
//

static cli_status_t submit_check_file(cli_t *cli, const char *path) {
  struct stat info;
  int fd;

  if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
    return (cli_fail(cli, CLI_STATUS_FAILED, "%s: %s", path, strerror(errno)));

  int ok = fstat(fd, &info) == 0 && S_ISREG(info.st_mode);

  close(fd);

  if (!ok) return (cli_fail(cli, CLI_STATUS_FAILED, "%s: not a regular file", path));

  return (CLI_STATUS_OK);
}

//
// 'submit_print_id()' - Send the submission and print only the job's id.
//
// For scripts: "id=$(nimbusctl submit --quiet ...)".
//

static cli_status_t submit_print_id(cli_t *cli, const cli_request_t *request) {
  json_t *response = NULL;
  cli_status_t status;

  if ((status = cli_http_send(cli, request, &response)) != CLI_STATUS_OK) goto done;

  const json_t *id = json_object_get(response, "id");

  if (!json_is_integer(id)) {
    status = cli_fail(cli, CLI_STATUS_FAILED, "server response has no job id");
    goto done;
  }

  printf("%lld\n", (long long)json_integer_value(id));

done:
  json_decref(response);

  return (status);
}

//
// 'submit_run()' - POST /api/v1/jobs as multipart/form-data.
//

static cli_status_t submit_run(cli_t *cli, cli_parsed_t *parsed) {
  cli_request_t request = {.method = "POST", .path = "/api/v1/jobs", .tenant_scoped = true};
  const char *path = parsed->positional[0];
  const char *title = parsed->values[SOPT_TITLE];
  const char *format = parsed->values[SOPT_FORMAT];
  curl_mime *mime = NULL;
  curl_mimepart *part;
  char pin[CLI_SECRET_MAX];
  long long copies;
  cli_status_t status;
  CURL *curl;

  pin[0] = '\0';

  if (parsed->values[SOPT_COPIES] &&
      !cli_args_integer(cli, submit_options[SOPT_COPIES].name, parsed->values[SOPT_COPIES], 1, 999,
                        &copies)) {
    status = CLI_STATUS_USAGE;
    goto done;
  }

  if ((status = job_pin_read(cli, parsed->values[SOPT_PIN], parsed->values[SOPT_PIN_FILE], pin,
                             sizeof(pin))) != CLI_STATUS_OK ||
      (status = submit_check_file(cli, path)) != CLI_STATUS_OK)
    goto done;

  if (!title) title = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;

  if (!format) format = submit_guess_format(path);

  status = CLI_STATUS_FAILED;

  if (!(curl = cli_http_handle(cli)) || !(mime = curl_mime_init(curl))) {
    cli_fail(cli, CLI_STATUS_FAILED, "out of memory");
    goto done;
  }

  if (!submit_add_field(mime, "queue", parsed->values[SOPT_QUEUE]) ||
      !submit_add_field(mime, "job-name", title) ||
      !submit_add_field(mime, "copies", parsed->values[SOPT_COPIES]) ||
      !submit_add_field(mime, "job-password", pin[0] ? pin : NULL) ||
      !submit_add_field(mime, "job-account-id", parsed->values[SOPT_ACCOUNT]) ||
      !submit_add_field(mime, "job-accounting-user-id", parsed->values[SOPT_ACCOUNTING_USER]) ||
      !submit_add_field(mime, "purpose", parsed->values[SOPT_PURPOSE]) ||
      !submit_add_field(mime, "document-format", format)) {
    cli_fail(cli, CLI_STATUS_FAILED, "out of memory");
    goto done;
  }

  if (!(part = curl_mime_addpart(mime)) || curl_mime_name(part, "document") != CURLE_OK ||
      curl_mime_type(part, format) != CURLE_OK || curl_mime_filedata(part, path) != CURLE_OK) {
    cli_fail(cli, CLI_STATUS_FAILED, "%s: cannot attach the document", path);
    goto done;
  }

  request.mime = mime;

  if (parsed->values[SOPT_QUIET] && !cli->json)
    status = submit_print_id(cli, &request);
  else
    status = job_send(cli, &request, &job_view, NULL);

done:
  cli_secret_wipe(pin, sizeof(pin));
  curl_mime_free(mime);

  return (status);
}

static const cli_subcommand_t job_subcommands[] = {
    {"list", "", job_list_options, job_list},
    {"show", "ID", NULL, job_show},
    {"cancel", "ID", NULL, job_cancel},
    {"release", "ID", job_release_options, job_release},
    {"pay", "ID", job_pay_options, job_pay},
    {"payment", "ID", NULL, job_payment},
    {"cancel-payment", "ID", NULL, job_cancel_payment},
    {NULL, NULL, NULL, NULL}};

const cli_command_t cli_command_job = {
    "job", "list, show, cancel, release and pay for print jobs",
    "Released jobs become fetchable by the printers of the queue (a job sent through a\n"
    "printer, on a this-printer queue: by that printer only).  On a queue or printer\n"
    "with payment at-printer, 'release' and 'pay' start a payment instead and print\n"
    "its URL; the job prints once the payment provider has confirmed it.",
    job_subcommands};

static const cli_subcommand_t submit_subcommands[] = {{NULL, "FILE", submit_options, submit_run},
                                                      {NULL, NULL, NULL, NULL}};

const cli_command_t cli_command_submit = {
    "submit", "submit a document for printing",
    "The document is streamed from FILE, never read into memory as a whole.", submit_subcommands};
