//
// Command-line parsing for nimbusctl: long options from declarative tables,
// positional arguments, strict number and keyword checks, and the --help
// text generated from the same tables.
//
// Options may appear anywhere among the positional arguments of a
// subcommand ("user create bob --role operator"); for the global options
// parsing stops at the first positional word, the command name.  "--" ends
// the options.  Parsed values point into argv so that secrets can be wiped
// in place (see cli_secret_from_arg()).
//

#include "cli-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//
// 'args_find_option()' - Find a long option by name.
//
// name may carry "=value"; only the part before '=' is compared.  Returns
// the option's index or -1.
//

static int args_find_option(const cli_option_t *options, const char *name, size_t namelen) {
  if (!options) return (-1);

  for (int i = 0; options[i].name; i++) {
    if (strlen(options[i].name) == namelen && !strncmp(options[i].name, name, namelen)) return (i);
  }

  return (-1);
}

//
// 'cli_args_parse()' - Parse options and positional arguments.
//
// Parses argv[first..argc-1] against options (NULL-terminated, may be NULL).
// With stop_at_positional, stops at the first positional word and leaves its
// index in parsed->next.  Stops early when --help/-h is seen (parsed->help).
// Returns CLI_STATUS_OK or CLI_STATUS_USAGE with a message in cli->error.
//

cli_status_t cli_args_parse(cli_t *cli, int argc, char **argv, int first,
                            const cli_option_t *options, bool stop_at_positional,
                            cli_parsed_t *parsed) {
  bool options_done = false;
  int i;

  memset(parsed, 0, sizeof(*parsed));

  for (i = first; i < argc; i++) {
    char *arg = argv[i];

    if (options_done || arg[0] != '-' || !arg[1]) {
      if (stop_at_positional) break;

      if (parsed->npositional >= CLI_POSITIONAL_MAX)
        return (cli_fail(cli, CLI_STATUS_USAGE, "unexpected argument '%s'", arg));

      parsed->positional[parsed->npositional++] = arg;
      continue;
    }

    if (!strcmp(arg, "--")) {
      options_done = true;
      continue;
    }

    if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
      parsed->help = true;
      i = argc;
      break;
    }

    if (arg[1] != '-') return (cli_fail(cli, CLI_STATUS_USAGE, "unknown option '%s'", arg));

    const char *name = arg + 2;
    char *equals = strchr(name, '=');
    size_t namelen = equals ? (size_t)(equals - name) : strlen(name);
    int index = args_find_option(options, name, namelen);

    if (index < 0) {
      if (!stop_at_positional && args_find_option(cli_global_options, name, namelen) >= 0)
        return (cli_fail(cli, CLI_STATUS_USAGE,
                         "unknown option '--%.*s' (global options go before the command)",
                         (int)namelen, name));

      return (cli_fail(cli, CLI_STATUS_USAGE, "unknown option '--%.*s'", (int)namelen, name));
    }

    if (!options[index].metavar) {
      if (equals)
        return (
            cli_fail(cli, CLI_STATUS_USAGE, "option '--%s' takes no value", options[index].name));

      parsed->values[index] = (char *)"";
    } else if (equals) {
      parsed->values[index] = equals + 1;
    } else if (i + 1 < argc) {
      parsed->values[index] = argv[++i];
    } else {
      return (cli_fail(cli, CLI_STATUS_USAGE, "option '--%s' needs a value", options[index].name));
    }

    if (options[index].metavar) {
      if (parsed->nrepeated[index] >= CLI_REPEAT_MAX)
        return (cli_fail(cli, CLI_STATUS_USAGE, "option '--%s' given more than %d times",
                         options[index].name, CLI_REPEAT_MAX));

      parsed->repeated[index][parsed->nrepeated[index]++] = parsed->values[index];
    }
  }

  parsed->next = i;

  return (CLI_STATUS_OK);
}

//
// 'cli_args_integer()' - Convert an option value to a bounded integer.
//
// Accepts plain decimal digits (a leading '-' only when min < 0).  On error
// stores a usage message naming the option and returns false.
//

bool cli_args_integer(cli_t *cli, const char *option, const char *text, long long min,
                      long long max, long long *value) {
  char *end = NULL;
  long long number;

  if (!text || !*text || (text[0] != '-' && (text[0] < '0' || text[0] > '9'))) goto invalid;

  errno = 0;
  number = strtoll(text, &end, 10);

  if (errno || *end || number < min || number > max) goto invalid;

  *value = number;
  return (true);

invalid:
  cli_fail(cli, CLI_STATUS_USAGE, "--%s: '%s' is not a whole number from %lld to %lld", option,
           text ? text : "", min, max);
  return (false);
}

//
// 'cli_args_choice()' - Check that an option value is one of a fixed set.
//
// choices ends with NULL.  On error stores a usage message listing the
// allowed words and returns false.
//

bool cli_args_choice(cli_t *cli, const char *option, const char *text, const char *const *choices) {
  char list[256] = "";
  size_t used = 0;

  for (int i = 0; choices[i]; i++) {
    if (!strcmp(text, choices[i])) return (true);

    int n = snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", choices[i]);

    if (n < 0 || (size_t)n >= sizeof(list) - used) break;

    used += (size_t)n;
  }

  cli_fail(cli, CLI_STATUS_USAGE, "--%s: '%s' is not one of %s", option, text, list);
  return (false);
}

//
// 'cli_args_words()' - Words of a synopsis like "NAME ID [ALIAS]"; with
//                      required_only, the ones not in brackets.
//

static int cli_args_words(const char *args, bool required_only) {
  int count = 0;
  bool in_word = false;

  for (; args && *args; args++) {
    if (*args == ' ')
      in_word = false;
    else if (!in_word) {
      in_word = true;
      if (!required_only || *args != '[') count++;
    }
  }

  return (count);
}

//
// 'cli_args_required()' - Number of words of a synopsis that are not
//                         optional ("[ALIAS]").
//

int cli_args_required(const char *args) {
  return (cli_args_words(args, true));
}

//
// 'cli_args_count()' - Number of positional words in a synopsis like "NAME ID".
//

int cli_args_count(const char *args) {
  return (cli_args_words(args, false));
}

//
// 'usage_word()' - Print one synopsis word, wrapping at USAGE_WIDTH.
//

#define USAGE_WIDTH 79
#define USAGE_INDENT 6
#define USAGE_HELPCOL 30

static void usage_word(FILE *fp, size_t *column, const char *word) {
  size_t len = strlen(word);

  if (*column + 1 + len > USAGE_WIDTH) {
    fprintf(fp, "\n%*s", USAGE_INDENT, "");
    *column = USAGE_INDENT;
  } else {
    fputc(' ', fp);
    (*column)++;
  }

  fputs(word, fp);
  *column += len;
}

//
// 'cli_args_usage_options()' - Print an option table as help lines.
//

void cli_args_usage_options(const cli_option_t *options, FILE *fp) {
  for (int i = 0; options && options[i].name; i++) {
    int len = fprintf(fp, "  --%s%s%s", options[i].name, options[i].metavar ? " " : "",
                      options[i].metavar ? options[i].metavar : "");

    if (len < 0) return;

    if (len >= USAGE_HELPCOL - 1)
      fprintf(fp, "\n%*s%s\n", USAGE_HELPCOL, "", options[i].help);
    else
      fprintf(fp, "%*s%s\n", USAGE_HELPCOL - len, "", options[i].help);
  }
}

//
// 'cli_args_usage_command()' - Print the help of one command.
//
// The synopsis lines and the option list are generated from the command's
// subcommand and option tables; an option shared by several subcommands
// is listed once.
//

void cli_args_usage_command(const cli_command_t *command, FILE *fp) {
  const char *seen[CLI_OPTION_MAX * 8];
  size_t nseen = 0;
  const cli_subcommand_t *sub;

  fprintf(fp, "nimbusctl %s: %s\n\nUsage:\n", command->name, command->summary);

  for (sub = command->subcommands; sub->run; sub++) {
    size_t column = (size_t)fprintf(fp, "  nimbusctl %s", command->name);

    if (sub->name) usage_word(fp, &column, sub->name);

    if (sub->args && *sub->args) usage_word(fp, &column, sub->args);

    for (int i = 0; sub->options && sub->options[i].name; i++) {
      const cli_option_t *option = sub->options + i;
      char word[256];

      if (!option->metavar)
        snprintf(word, sizeof(word), "[--%s]", option->name);
      else if (option->required)
        snprintf(word, sizeof(word), "--%s %s", option->name, option->metavar);
      else
        snprintf(word, sizeof(word), "[--%s %s]", option->name, option->metavar);

      usage_word(fp, &column, word);
    }

    fputc('\n', fp);
  }

  fputs("\nOptions:\n", fp);

  for (sub = command->subcommands; sub->run; sub++) {
    for (int i = 0; sub->options && sub->options[i].name; i++) {
      size_t j;

      for (j = 0; j < nseen && strcmp(seen[j], sub->options[i].name); j++)
        ;

      if (j < nseen || nseen >= sizeof(seen) / sizeof(seen[0])) continue;

      seen[nseen++] = sub->options[i].name;

      cli_option_t one[2] = {sub->options[i], {NULL, NULL, NULL, false}};

      cli_args_usage_options(one, fp);
    }
  }

  fprintf(fp, "  -h, --help%*sshow this help\n", USAGE_HELPCOL - 12, "");

  if (command->notes) fprintf(fp, "\n%s\n", command->notes);

  fputs(
      "\nGlobal options (--url, --user, --token, --tenant, --json, ...) go before\n"
      "the command; see 'nimbusctl --help'.\n",
      fp);
}
