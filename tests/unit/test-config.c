/*
 * test-config.c: unit tests of the declarative configuration (config.h):
 * defaults, config_set (types, bounds, size suffixes, booleans, strings
 * that do not fit), config files ("path:line: message" errors) and the
 * command line (--name=value, --name value, --flag/--no-flag, --config
 * applied where it appears, --help, positional arguments) and deprecated
 * aliases.
 * Config files are written to a private mkdtemp directory that the group
 * teardown removes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

/* ---- a table like nimbusd's ---- */

typedef struct {
  char name[8]; /* room for 7 characters */
  char path[64];
  int port;
  int level;  /* no bounds: any int */
  int offset; /* negative allowed */
  int64_t size;
  int64_t limit;
  bool verbose;
  bool enabled;
} test_cfg_t;

#define OPT(n, type, field, def, min, max)                                                         \
  {                                                                                                \
    n, type, offsetof(test_cfg_t, field), sizeof(((test_cfg_t *)0)->field), def, "help " n, false, \
        min, max                                                                                   \
  }

static const config_option_t table[] = {
    OPT("name", CONFIG_STRING, name, "nimbus", 0, 0),
    OPT("path", CONFIG_STRING, path, "", 0, 0),
    OPT("port", CONFIG_INT, port, "8631", 1, 65535),
    OPT("level", CONFIG_INT, level, "3", 0, 0),
    OPT("offset", CONFIG_INT, offset, "-5", -100, 100),
    OPT("size", CONFIG_SIZE, size, "1M", 0, 0),
    OPT("limit", CONFIG_SIZE, limit, "4k", 1024, 64 * 1024 * 1024),
    OPT("verbose", CONFIG_BOOL, verbose, "false", 0, 0),
    OPT("enabled", CONFIG_BOOL, enabled, "true", 0, 0),
    OPT("old-port", CONFIG_ALIAS, port, "port", 0, 0), /* a deprecated name of port */
    OPT("old-verbose", CONFIG_ALIAS, verbose, "verbose", 0, 0),
    CONFIG_END};

static char tmp_dir[64];
static char err[512];

/* ---- helpers ---- */

static test_cfg_t defaults(void) {
  test_cfg_t c;
  memset(&c, 0x5a, sizeof c); /* every field must be written */
  err[0] = '\0';
  assert_true(config_set_defaults(table, &c, err, sizeof err));
  return c;
}

static bool set(test_cfg_t *c, const char *name, const char *value) {
  err[0] = '\0';
  return config_set(table, c, name, value, err, sizeof err);
}

/* Write text to tmp_dir/name; the path goes to out. */
static void write_file(const char *name, const char *text, char *out, size_t outlen) {
  int n = snprintf(out, outlen, "%s/%s", tmp_dir, name);
  assert_true(n > 0 && (size_t)n < outlen);
  FILE *f = fopen(out, "w");
  assert_non_null(f);
  assert_int_equal(fputs(text, f) >= 0, 1);
  assert_int_equal(fclose(f), 0);
}

/* Parse a NULL-terminated argv (argv[0] is the program). */
static bool parse(test_cfg_t *c, bool *help, int *first, char **argv) {
  int argc = 0;
  while (argv[argc]) argc++;
  err[0] = '\0';
  *help = false;
  *first = -1;
  return config_parse_args(table, c, argc, argv, help, first, err, sizeof err);
}

#define ARGV(...) ((char *[]){"prog", __VA_ARGS__, NULL})

static int group_setup(void **state) {
  (void)state;
  snprintf(tmp_dir, sizeof tmp_dir, "/tmp/nimbus-test-config-XXXXXX");
  return mkdtemp(tmp_dir) ? 0 : -1;
}

static int group_teardown(void **state) {
  (void)state;
  DIR *d = opendir(tmp_dir);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      if (e->d_name[0] == '.') continue;
      char p[512];
      snprintf(p, sizeof p, "%s/%s", tmp_dir, e->d_name);
      unlink(p);
    }
    closedir(d);
  }
  rmdir(tmp_dir);
  return 0;
}

/* ---- defaults ---- */

static void test_defaults(void **state) {
  (void)state;
  test_cfg_t c = defaults();
  assert_string_equal(c.name, "nimbus");
  assert_string_equal(c.path, "");
  assert_int_equal(c.port, 8631);
  assert_int_equal(c.level, 3);
  assert_int_equal(c.offset, -5);
  assert_int_equal(c.size, 1024 * 1024);
  assert_int_equal(c.limit, 4096);
  assert_false(c.verbose);
  assert_true(c.enabled);
}

/* A default that breaks its own option's rules is reported, not stored. */
static void test_bad_default_is_an_error(void **state) {
  (void)state;
  static const config_option_t bad[] = {OPT("port", CONFIG_INT, port, "70000", 1, 65535),
                                        CONFIG_END};
  test_cfg_t c = {0};
  assert_false(config_set_defaults(bad, &c, err, sizeof err));
  assert_non_null(strstr(err, "port"));
  assert_int_equal(c.port, 0);
}

/* ---- config_set ---- */

static void test_set_int_and_bounds(void **state) {
  (void)state;
  test_cfg_t c = defaults();
  assert_true(set(&c, "port", "1"));
  assert_int_equal(c.port, 1);
  assert_true(set(&c, "port", "65535"));
  assert_int_equal(c.port, 65535);

  assert_false(set(&c, "port", "0"));
  assert_non_null(strstr(err, "'port' must be between 1 and 65535"));
  assert_false(set(&c, "port", "65536"));
  assert_non_null(strstr(err, "between 1 and 65535"));
  assert_int_equal(c.port, 65535); /* a refused value changes nothing */

  const char *not_numbers[] = {"", "12x", "x12", "1.5", "0x10", " ", "99999999999", "-"};
  for (size_t i = 0; i < sizeof not_numbers / sizeof not_numbers[0]; i++) {
    assert_false(set(&c, "port", not_numbers[i]));
    assert_non_null(strstr(err, "'port' needs a whole number"));
  }
  assert_int_equal(c.port, 65535);

  /* Negative bounds, and no bounds at all (0, 0). */
  assert_true(set(&c, "offset", "-100"));
  assert_int_equal(c.offset, -100);
  assert_false(set(&c, "offset", "-101"));
  assert_true(set(&c, "level", "-2147483648"));
  assert_int_equal(c.level, INT32_MIN);
  assert_true(set(&c, "level", "2147483647"));
  assert_int_equal(c.level, INT32_MAX);
  assert_false(set(&c, "level", "2147483648")); /* does not fit an int */
  assert_false(set(&c, "level", "-2147483649"));
  assert_int_equal(c.level, INT32_MAX);
}

static void test_set_size_suffixes(void **state) {
  (void)state;
  static const struct {
    const char *text;
    int64_t value;
  } ok[] = {{"0", 0},
            {"512", 512},
            {"64k", 64 * 1024},
            {"64K", 64 * 1024},
            {"10M", 10 * 1024 * 1024},
            {"10m", 10 * 1024 * 1024},
            {"2G", 2LL * 1024 * 1024 * 1024},
            {"2g", 2LL * 1024 * 1024 * 1024},
            {"8589934591G", 8589934591LL * 1024 * 1024 * 1024}, /* largest G that fits */
            {"9223372036854775807", INT64_MAX}};
  test_cfg_t c = defaults();
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    assert_true(set(&c, "size", ok[i].text));
    assert_int_equal(c.size, ok[i].value);
  }
  const char *bad[] = {"",
                       "k",
                       "-1",
                       "-1k",
                       "1.5M",
                       "10T",
                       "10kb",
                       "1 k",
                       "0x10",
                       "8589934592G",
                       "9223372036854775808"};
  c.size = 77;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_false(set(&c, "size", bad[i]));
    assert_non_null(strstr(err, "'size' needs a size such as"));
    assert_int_equal(c.size, 77);
  }

  /* Bounds apply to the value after the suffix. */
  assert_true(set(&c, "limit", "1k"));
  assert_int_equal(c.limit, 1024);
  assert_true(set(&c, "limit", "64M"));
  assert_int_equal(c.limit, 64 * 1024 * 1024);
  assert_false(set(&c, "limit", "1023"));
  assert_non_null(strstr(err, "'limit' must be between 1024 and 67108864"));
  assert_false(set(&c, "limit", "65537k"));
  assert_int_equal(c.limit, 64 * 1024 * 1024);
}

static void test_set_bool(void **state) {
  (void)state;
  test_cfg_t c = defaults();
  const char *yes[] = {"true", "yes", "on", "1"};
  const char *no[] = {"false", "no", "off", "0"};
  for (size_t i = 0; i < 4; i++) {
    assert_true(set(&c, "verbose", yes[i]));
    assert_true(c.verbose);
    assert_true(set(&c, "verbose", no[i]));
    assert_false(c.verbose);
  }
  c.verbose = true;
  const char *bad[] = {"", "2", "maybe", "y", "truth"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_false(set(&c, "verbose", bad[i]));
    assert_non_null(strstr(err, "'verbose' needs true or false"));
    assert_true(c.verbose);
  }
}

/* Strings longer than their field are refused, never truncated. */
static void test_set_string_fits_or_is_refused(void **state) {
  (void)state;
  test_cfg_t c = defaults();
  assert_true(set(&c, "name", "abcdefg")); /* 7 = sizeof - 1 */
  assert_string_equal(c.name, "abcdefg");
  assert_false(set(&c, "name", "abcdefgh"));
  assert_non_null(strstr(err, "'name' is longer than 7 characters"));
  assert_string_equal(c.name, "abcdefg");
  assert_true(set(&c, "name", ""));
  assert_string_equal(c.name, "");
}

static void test_set_unknown_option(void **state) {
  (void)state;
  test_cfg_t c = defaults();
  test_cfg_t before = c;
  assert_false(set(&c, "prot", "80"));
  assert_string_equal(err, "unknown option 'prot'");
  assert_false(set(&c, "", "1"));
  assert_memory_equal(&c, &before, sizeof c);
}

/* ---- config files ---- */

static void test_file_parsing(void **state) {
  (void)state;
  char path[256];
  write_file("good.conf",
             "# a comment line\n"
             "\n"
             "port = 631\n"
             "   name=\t box  \n" /* white space around name and value is trimmed */
             "size = 64k   # trailing comment\n"
             "verbose = yes\n"
             "\t\n"
             "enabled = off\n"
             "path = /var/lib/nimbus state\n" /* inner spaces stay */
             "level = 9",                     /* no final newline */
             path, sizeof path);
  test_cfg_t c = defaults();
  assert_true(config_load_file(table, &c, path, err, sizeof err));
  assert_int_equal(c.port, 631);
  assert_string_equal(c.name, "box");
  assert_int_equal(c.size, 64 * 1024);
  assert_true(c.verbose);
  assert_false(c.enabled);
  assert_string_equal(c.path, "/var/lib/nimbus state");
  assert_int_equal(c.level, 9);
  assert_int_equal(c.offset, -5); /* untouched */

  write_file("empty.conf", "", path, sizeof path);
  test_cfg_t d = defaults(), e = d;
  assert_true(config_load_file(table, &d, path, err, sizeof err));
  assert_memory_equal(&d, &e, sizeof d);
}

/* Each error names the file and the line: "path:line: message". */
static void test_file_errors(void **state) {
  (void)state;
  static const struct {
    const char *file, *text, *message;
    int line;
  } cases[] = {
      {"noeq.conf", "port = 1\n# fine\nport 2\n", "expected 'name = value'", 3},
      {"unknown.conf", "\n\nlevel = 1\nprot = 80\n", "unknown option 'prot'", 4},
      {"range.conf", "port = 0\n", "'port' must be between 1 and 65535", 1},
      {"size.conf", "# x\nsize = 12 parsecs\n", "'size' needs a size", 2},
      {"bool.conf", "verbose = sometimes\n", "'verbose' needs true or false", 1},
      {"string.conf", "name = far too long\n", "value of 'name' is longer than 7 characters", 1},
      {"noname.conf", "= 5\n", "unknown option ''", 1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char path[256], want[512];
    write_file(cases[i].file, cases[i].text, path, sizeof path);
    test_cfg_t c = defaults();
    err[0] = '\0';
    assert_false(config_load_file(table, &c, path, err, sizeof err));
    snprintf(want, sizeof want, "%s:%d: %s", path, cases[i].line, cases[i].message);
    if (strncmp(err, want, strlen(want)) != 0) fail_msg("got \"%s\", want \"%s...\"", err, want);
  }

  /* A line longer than the parser's buffer is an error, not two lines. */
  char *text = malloc(10000);
  assert_non_null(text);
  memset(text, ' ', 9000);
  memcpy(text + 8990, "port = 1\n", 10);
  char path[256];
  write_file("long.conf", text, path, sizeof path);
  free(text);
  test_cfg_t c = defaults();
  assert_false(config_load_file(table, &c, path, err, sizeof err));
  char want[300];
  snprintf(want, sizeof want, "%s:1: line too long", path);
  assert_string_equal(err, want);
  assert_int_equal(c.port, 8631);

  /* A missing file: its path and the system's reason. */
  snprintf(path, sizeof path, "%s/does-not-exist.conf", tmp_dir);
  assert_false(config_load_file(table, &c, path, err, sizeof err));
  assert_non_null(strstr(err, path));
  assert_non_null(strstr(err, "No such file"));
}

/* ---- command line ---- */

static void test_args_forms(void **state) {
  (void)state;
  test_cfg_t c = defaults();
  bool help;
  int first;
  assert_true(parse(&c, &help, &first,
                    ARGV("--port=80", "--name", "lab", "--size=2M", "--verbose", "--no-enabled",
                         "--offset", "-7")));
  assert_int_equal(c.port, 80);
  assert_string_equal(c.name, "lab");
  assert_int_equal(c.size, 2 * 1024 * 1024);
  assert_true(c.verbose);
  assert_false(c.enabled);
  assert_int_equal(c.offset, -7); /* a value that starts with '-' */
  assert_false(help);
  assert_int_equal(first, 9);

  /* Booleans with an explicit value; later flags override earlier ones. */
  assert_true(parse(&c, &help, &first,
                    ARGV("--verbose=false", "--enabled=yes", "--port", "81", "--port=82")));
  assert_false(c.verbose);
  assert_true(c.enabled);
  assert_int_equal(c.port, 82);

  /* An empty value after '=' is a value (and here not a number). */
  assert_false(parse(&c, &help, &first, ARGV("--port=")));
  assert_non_null(strstr(err, "'port' needs a whole number"));
}

static void test_args_positional_and_help(void **state) {
  (void)state;
  test_cfg_t c = defaults();
  bool help;
  int first;
  char **argv = ARGV("--port", "90", "input.pdf", "--verbose");
  assert_true(parse(&c, &help, &first, argv));
  assert_int_equal(first, 3);
  assert_string_equal(argv[first], "input.pdf");
  assert_false(c.verbose); /* options stop at the first positional argument */

  /* A bare boolean does not swallow the next argument. */
  argv = ARGV("--verbose", "file");
  assert_true(parse(&c, &help, &first, argv));
  assert_true(c.verbose);
  assert_int_equal(first, 2);

  /* "--" ends the options. */
  argv = ARGV("--level", "4", "--", "--port=1");
  assert_true(parse(&c, &help, &first, argv));
  assert_int_equal(c.level, 4);
  assert_int_equal(first, 4);
  assert_string_equal(argv[first], "--port=1");
  assert_int_equal(c.port, 90);

  assert_true(parse(&c, &help, &first, ARGV("--help")));
  assert_true(help);
  char *none[] = {"prog", NULL};
  assert_true(parse(&c, &help, &first, none));
  assert_false(help);
  assert_int_equal(first, 1);
}

/* "-h" is the short form of "--help" (config_parse_args checks for it). */
static void test_args_short_help(void **state) {
  (void)state;
  test_cfg_t c = defaults();
  bool help;
  int first;
  assert_true(parse(&c, &help, &first, ARGV("-h", "--level", "5")));
  assert_true(help);
  assert_int_equal(c.level, 5);
  assert_int_equal(first, 4);
}

static void test_args_errors(void **state) {
  (void)state;
  test_cfg_t c = defaults();
  bool help;
  int first;
  assert_false(parse(&c, &help, &first, ARGV("--bogus")));
  assert_string_equal(err, "unknown option '--bogus' (see --help)");
  assert_false(parse(&c, &help, &first, ARGV("--bogus=1")));
  assert_string_equal(err, "unknown option '--bogus' (see --help)");
  /* --no- only negates booleans, and takes no value. */
  assert_false(parse(&c, &help, &first, ARGV("--no-port")));
  assert_non_null(strstr(err, "unknown option '--no-port'"));
  assert_false(parse(&c, &help, &first, ARGV("--no-verbose=true")));
  assert_non_null(strstr(err, "unknown option"));
  /* A value is missing at the end. */
  assert_false(parse(&c, &help, &first, ARGV("--port")));
  assert_string_equal(err, "--port needs a value");
  assert_false(parse(&c, &help, &first, ARGV("--config")));
  assert_string_equal(err, "--config needs a file");
  /* Bad values carry the option's message. */
  assert_false(parse(&c, &help, &first, ARGV("--port", "99999")));
  assert_non_null(strstr(err, "'port' must be between 1 and 65535"));
  assert_false(parse(&c, &help, &first, ARGV("--verbose=perhaps")));
  assert_non_null(strstr(err, "'verbose' needs true or false"));
  /* An absurdly long option name is unknown, not a buffer overflow. */
  char longopt[400];
  memset(longopt, 'x', sizeof longopt - 1);
  longopt[0] = longopt[1] = '-';
  longopt[sizeof longopt - 1] = '\0';
  assert_false(parse(&c, &help, &first, ARGV(longopt)));
  assert_non_null(strstr(err, "unknown option"));
}

/* --config is applied where it appears: later flags override the file,
 * the file overrides earlier flags. */
static void test_args_config_order(void **state) {
  (void)state;
  char path[256], arg[300];
  write_file("order.conf", "port = 2000\nverbose = true\nname = file\n", path, sizeof path);
  bool help;
  int first;

  test_cfg_t c = defaults();
  assert_true(parse(&c, &help, &first, ARGV("--port", "1000", "--config", path)));
  assert_int_equal(c.port, 2000);
  assert_true(c.verbose);

  c = defaults();
  assert_true(parse(&c, &help, &first, ARGV("--config", path, "--port", "3000", "--no-verbose")));
  assert_int_equal(c.port, 3000);
  assert_false(c.verbose);
  assert_string_equal(c.name, "file");

  snprintf(arg, sizeof arg, "--config=%s", path);
  c = defaults();
  assert_true(parse(&c, &help, &first, ARGV("--name=flag", arg, "--level=8", "doc")));
  assert_string_equal(c.name, "file");
  assert_int_equal(c.level, 8);
  assert_int_equal(first, 4);

  /* A broken file stops the parse with its "path:line:" message. */
  write_file("broken.conf", "level = 1\nlevel = one\n", path, sizeof path);
  c = defaults();
  assert_false(parse(&c, &help, &first, ARGV("--config", path, "--port", "5")));
  char want[300];
  snprintf(want, sizeof want, "%s:2: 'level' needs a whole number", path);
  assert_string_equal(err, want);
}

static void test_print_help(void **state) {
  (void)state;
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  assert_non_null(f);
  config_print_help(table, f);
  assert_int_equal(fclose(f), 0);
  assert_non_null(strstr(buf, "--config FILE"));
  assert_non_null(strstr(buf, "--help"));
  assert_non_null(strstr(buf, "--port N"));
  assert_non_null(strstr(buf, "help port [default: 8631]"));
  assert_non_null(strstr(buf, "--name TEXT"));
  assert_non_null(strstr(buf, "--size SIZE"));
  assert_non_null(strstr(buf, "[default: 1M]"));
  assert_non_null(strstr(buf, "--verbose "));
  /* An empty default is not shown. */
  char *path_line = strstr(buf, "--path TEXT");
  assert_non_null(path_line);
  char *eol = strchr(path_line, '\n');
  assert_non_null(eol);
  *eol = '\0';
  assert_null(strstr(path_line, "default"));
  free(buf);
}

/* A deprecated alias sets the option it stands for, from the file and the
 * command line, with that option's type and bounds; --help leaves it out. */
static void test_alias(void **state) {
  (void)state;
  test_cfg_t c = defaults();
  assert_int_equal(c.port, 8631); /* the alias sets no default of its own */
  assert_true(config_set(table, &c, "old-port", "81", err, sizeof err));
  assert_int_equal(c.port, 81);
  assert_false(config_set(table, &c, "old-port", "70000", err, sizeof err));
  assert_non_null(strstr(err, "'port' must be between"));
  bool help;
  int first;
  assert_true(parse(&c, &help, &first, ARGV("--old-port", "82", "--old-verbose")));
  assert_int_equal(c.port, 82);
  assert_true(c.verbose);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  assert_non_null(f);
  config_print_help(table, f);
  assert_int_equal(fclose(f), 0);
  assert_null(strstr(buf, "old-port"));
  free(buf);
  static const config_option_t broken[] = {OPT("gone", CONFIG_ALIAS, port, "no-such-option", 0, 0),
                                           CONFIG_END};
  assert_false(config_set(broken, &c, "gone", "1", err, sizeof err));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_bad_default_is_an_error),
      cmocka_unit_test(test_set_int_and_bounds),
      cmocka_unit_test(test_set_size_suffixes),
      cmocka_unit_test(test_set_bool),
      cmocka_unit_test(test_set_string_fits_or_is_refused),
      cmocka_unit_test(test_set_unknown_option),
      cmocka_unit_test(test_file_parsing),
      cmocka_unit_test(test_file_errors),
      cmocka_unit_test(test_args_forms),
      cmocka_unit_test(test_args_positional_and_help),
      cmocka_unit_test(test_args_short_help),
      cmocka_unit_test(test_args_errors),
      cmocka_unit_test(test_args_config_order),
      cmocka_unit_test(test_print_help),
      cmocka_unit_test(test_alias),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
