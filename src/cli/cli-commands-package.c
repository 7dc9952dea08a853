//
// "nimbusctl package": upload, list, show and delete the firmware and
// application packages contracts name (/api/v1/packages,
// docs/PROVISIONING.md §3; operators and dealer admins).  An upload is
// streamed from the file, never read whole into memory; nimbusd answers
// with the SHA-256 it computed, which a contract's item must repeat.
//

#include "cli-private.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const cli_field_t package_fields[] = {{"id", "ID", "Id", NULL},
                                             {"kind", "KIND", "Kind", NULL},
                                             {"name", "NAME", "Name", NULL},
                                             {"version", "VERSION", "Version", NULL},
                                             {"size", "BYTES", "Size (bytes)", NULL},
                                             {"sha256", "SHA-256", "SHA-256", NULL},
                                             {"created_at", "CREATED", "Created", NULL},
                                             {NULL, NULL, NULL, NULL}};

static const cli_view_t package_view = {"packages", package_fields};

enum { POPT_KIND, POPT_NAME, POPT_VERSION };

static const cli_option_t package_upload_options[] = {
    [POPT_KIND] = {"kind", "KIND", "firmware or application", true},
    [POPT_NAME] = {"name", "NAME", "the package's name (the item's name in a contract)", true},
    [POPT_VERSION] = {"version", "VERSION", "the version the package installs", true},
    {NULL, NULL, NULL, false}};

static const char *const package_kinds[] = {"firmware", "application", NULL};

//
// 'package_upload()' - POST /api/v1/packages?kind=&name=&version= with FILE
//                      as the raw body.
//

static cli_status_t package_upload(cli_t *cli, cli_parsed_t *parsed) {
  const char *path = parsed->positional[0];
  cli_request_t request = {.method = "POST",
                           .path = "/api/v1/packages",
                           .query = {{"kind", parsed->values[POPT_KIND]},
                                     {"name", parsed->values[POPT_NAME]},
                                     {"version", parsed->values[POPT_VERSION]}}};
  struct stat info;
  cli_status_t status;
  FILE *fp;

  if (!cli_args_choice(cli, package_upload_options[POPT_KIND].name, parsed->values[POPT_KIND],
                       package_kinds))
    return (CLI_STATUS_USAGE);

  if (!(fp = fopen(path, "rb")))
    return (cli_fail(cli, CLI_STATUS_FAILED, "cannot open %s: %s", path, strerror(errno)));

  if (fstat(fileno(fp), &info) || !S_ISREG(info.st_mode)) {
    fclose(fp);
    return (cli_fail(cli, CLI_STATUS_FAILED, "%s is not a regular file", path));
  }

  request.upload = fp;
  request.upload_size = (curl_off_t)info.st_size;
  status = cli_command_show(cli, &request, &package_view);
  fclose(fp);

  return (status);
}

//
// 'package_list()' - GET /api/v1/packages
//

static cli_status_t package_list(cli_t *cli, cli_parsed_t *parsed) {
  cli_request_t request = {.method = "GET", .path = "/api/v1/packages", .tenant_scoped = true};

  (void)parsed;

  return (cli_command_list(cli, &request, &package_view));
}

//
// 'package_show()' - GET /api/v1/packages/ID
//

static cli_status_t package_show(cli_t *cli, cli_parsed_t *parsed) {
  cli_request_t request = {.method = "GET",
                           .path = "/api/v1/packages",
                           .id = parsed->positional[0],
                           .tenant_scoped = true};

  return (cli_command_show(cli, &request, &package_view));
}

//
// 'package_delete()' - DELETE /api/v1/packages/ID
//

static cli_status_t package_delete(cli_t *cli, cli_parsed_t *parsed) {
  cli_request_t request = {.method = "DELETE",
                           .path = "/api/v1/packages",
                           .id = parsed->positional[0],
                           .tenant_scoped = true};
  char message[256];

  snprintf(message, sizeof(message), "Package %s deleted.", parsed->positional[0]);

  return (cli_command_delete(cli, &request, message));
}

static const cli_subcommand_t package_subcommands[] = {
    {"upload", "FILE", package_upload_options, package_upload},
    {"list", "", NULL, package_list},
    {"show", "ID", NULL, package_show},
    {"delete", "ID", NULL, package_delete},
    {NULL, NULL, NULL, NULL}};

const cli_command_t cli_command_package = {
    "package", "upload, list and delete firmware and application packages",
    "An upload is streamed; nimbusd answers with the package's id and SHA-256, which a\n"
    "contract's firmware or application item names (docs/PROVISIONING.md §3).\n"
    "A package an active contract names cannot be deleted.",
    package_subcommands};
