/*
 * test-connector-config.c: unit tests of the connector's option table
 * (options.h on src/common/config.c): defaults, config file plus flags,
 * derived enums, the journal path, bad values, and --help output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "options.h"

static char dir[64];
static char err[512];

static int setup(void **state) {
  (void)state;
  strcpy(dir, "/tmp/test-connector-config.XXXXXX");
  return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  char path[128];
  snprintf(path, sizeof path, "%s/connector.conf", dir);
  unlink(path);
  return rmdir(dir);
}

static void test_defaults(void **state) {
  (void)state;
  connector_options_t o;
  assert_true(options_defaults(&o, err, sizeof err));
  assert_true(options_finish(&o, err, sizeof err));
  assert_int_equal(o.transport, TRANSPORT_POLLING);
  assert_int_equal(o.policy, POLICY_DELETE);
  assert_string_equal(o.state, CONNECTOR_DEFAULT_STATE);
  assert_string_equal(o.journal, CONNECTOR_DEFAULT_STATE ".journal");
  assert_string_equal(o.error_pattern, "ipp:0x0407,http:410");
  assert_string_equal(o.error_message, "output device registration deleted");
  assert_true(errpattern_match(&o.pattern, 200, 0x0407, "output device registration deleted"));
  assert_true(o.backoff_min <= o.backoff_max);
}

static void test_file_and_flags(void **state) {
  (void)state;
  char path[128];
  snprintf(path, sizeof path, "%s/connector.conf", dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(
      "# sample\ntransport = persistent\non-deregister = ask\npoll-interval = 3\n"
      "error-pattern = ipp:0x0407\nerror-message = registration deleted\n"
      "output = file:///tmp/x\npanel-listen = 127.0.0.1:0\nstate = /tmp/s.json\n",
      f);
  fclose(f);
  connector_options_t o;
  assert_true(options_defaults(&o, err, sizeof err));
  char *argv[] = {"run", "--config", path, "--poll-interval=7", "--on-deregister", "stop", NULL};
  bool help;
  int first;
  assert_true(
      config_parse_args(connector_option_table, &o, 6, argv, &help, &first, err, sizeof err));
  assert_false(help);
  assert_int_equal(first, 6);
  assert_true(options_finish(&o, err, sizeof err));
  assert_int_equal(o.transport, TRANSPORT_PERSISTENT);
  assert_int_equal(o.policy, POLICY_STOP); /* the flag after --config wins */
  assert_int_equal(o.poll_interval, 7);
  assert_string_equal(o.journal, "/tmp/s.json.journal");
  assert_false(errpattern_match(&o.pattern, 410, 0, NULL));
  assert_true(errpattern_match(&o.pattern, 200, 0x0407, "output device registration deleted"));
}

static void expect_finish_error(const char *name, const char *value, const char *needle) {
  connector_options_t o;
  assert_true(options_defaults(&o, err, sizeof err));
  assert_true(config_set(connector_option_table, &o, name, value, err, sizeof err));
  assert_false(options_finish(&o, err, sizeof err));
  assert_non_null(strstr(err, needle));
}

static void test_bad_values(void **state) {
  (void)state;
  expect_finish_error("transport", "carrier-pigeon", "transport");
  expect_finish_error("on-deregister", "panic", "on-deregister");
  expect_finish_error("error-pattern", "gone", "neither");
  expect_finish_error("log-level", "loud", "log-level");
  connector_options_t o;
  assert_true(options_defaults(&o, err, sizeof err));
  assert_false(config_set(connector_option_table, &o, "poll-interval", "0", err, sizeof err));
  assert_false(config_set(connector_option_table, &o, "grace-period", "-1", err, sizeof err));
  assert_false(config_set(connector_option_table, &o, "no-such-option", "1", err, sizeof err));
  assert_true(config_set(connector_option_table, &o, "backoff-min", "5000", err, sizeof err));
  assert_true(config_set(connector_option_table, &o, "backoff-max", "1000", err, sizeof err));
  assert_false(options_finish(&o, err, sizeof err));
  assert_non_null(strstr(err, "backoff"));
}

static void test_policy_names(void **state) {
  (void)state;
  policy_t p;
  for (int i = 0; i < 4; i++) {
    assert_true(policy_parse(policy_name((policy_t)i), &p));
    assert_int_equal(p, i);
  }
  assert_true(policy_parse("ASK", &p));
  assert_int_equal(p, POLICY_ASK);
  assert_false(policy_parse("maybe", &p));
}

static void test_help(void **state) {
  (void)state;
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  config_print_help(connector_option_table, f);
  fclose(f);
  assert_non_null(strstr(text, "--transport"));
  assert_non_null(strstr(text, "--on-deregister"));
  assert_non_null(strstr(text, "--error-pattern"));
  assert_non_null(strstr(text, "--grace-period"));
  assert_non_null(strstr(text, "--panel-listen"));
  free(text);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults),   cmocka_unit_test(test_file_and_flags),
      cmocka_unit_test(test_bad_values), cmocka_unit_test(test_policy_names),
      cmocka_unit_test(test_help),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
