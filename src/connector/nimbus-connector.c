/*
 * nimbus-connector.c: entry point; dispatches the subcommands.
 */
#include <stdio.h>
#include <string.h>

#include "connector.h"

static void usage(FILE *out) {
  fprintf(out,
          "Usage: nimbus-connector COMMAND [options]\n"
          "The printer side of Nimbus Print: registers a printer with nimbusd and prints\n"
          "its jobs (IPP INFRA, PWG 5100.18).\n\n"
          "Commands:\n"
          "  register   claim a registration with its one-time code\n"
          "  run        serve the printer (config file, flags; see run --help)\n"
          "  status     show the registration status\n\n"
          "'nimbus-connector COMMAND --help' describes each command.\n");
}

int main(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
      !strcmp(argv[1], "help")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (!strcmp(argv[1], "--version")) {
    printf("nimbus-connector %s\n", NIMBUS_VERSION);
    return 0;
  }
  if (!strcmp(argv[1], "register")) return connector_register(argc - 1, argv + 1);
  if (!strcmp(argv[1], "run")) return connector_run(argc - 1, argv + 1);
  if (!strcmp(argv[1], "status")) return connector_status(argc - 1, argv + 1);
  fprintf(stderr, "nimbus-connector: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return 2;
}
