/*
 * config.h: configuration from one declarative table.  A program declares
 * its options once (name, type, default, help, reloadable?) and the same
 * table feeds the config-file parser, the command-line parser and --help.
 *
 * File syntax: one "name = value" per line, '#' starts a comment.
 * Flags: --name=value or --name value; booleans also as --name / --no-name.
 * Command-line values override the file.
 */
#ifndef NIMBUS_CONFIG_H
#define NIMBUS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
  CONFIG_STRING, /* char[size] field */
  CONFIG_INT,    /* int field */
  CONFIG_SIZE,   /* int64_t field; accepts suffixes k, M, G (binary) */
  CONFIG_BOOL,   /* bool field */
  CONFIG_ALIAS   /* a deprecated name: default_value is the option it stands
                  * for; using it logs a warning; not in --help */
} config_type_t;

typedef struct {
  const char *name;
  config_type_t type;
  size_t offset; /* offsetof(struct, field) */
  size_t size;   /* sizeof the field (strings) */
  const char *default_value;
  const char *help;
  bool reloadable;
  int64_t min, max; /* inclusive bounds for INT and SIZE (0,0 = none) */
} config_option_t;

#define CONFIG_END \
  { NULL, CONFIG_STRING, 0, 0, NULL, NULL, false, 0, 0 }

/* Store every option's default into cfg. */
bool config_set_defaults(const config_option_t *table, void *cfg, char *err, size_t errlen);
/* Set option `name` from text; false with a message for unknown names,
 * bad syntax or out-of-range values. */
bool config_set(const config_option_t *table, void *cfg, const char *name, const char *value,
                char *err, size_t errlen);
/* Read a config file; false with "path:line: message" on the first error. */
bool config_load_file(const config_option_t *table, void *cfg, const char *path, char *err,
                      size_t errlen);
/*
 * Parse argv.  Options are applied in order; "--config FILE" is loaded
 * where it appears (so later flags override it).  "--help" sets *help.
 * Positional arguments are left in argv[*first_arg..argc).
 */
bool config_parse_args(const config_option_t *table, void *cfg, int argc, char **argv, bool *help,
                       int *first_arg, char *err, size_t errlen);
/* Print the options, their defaults and help text. */
void config_print_help(const config_option_t *table, FILE *out);

#endif
