/*
 * test-connector-errpattern.c: unit tests of the deregistration error
 * pattern (errpattern.h) and of how ippc_classify() sorts answers: only a
 * pattern match is a deletion; refused connections, 5xx and the
 * service-unavailable family are transient, never a deletion.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "errpattern.h"
#include "ippc.h"

static char err[256];

static void test_default_pattern(void **state) {
  (void)state;
  errpattern_t p;
  assert_true(
      errpattern_parse(ERRPATTERN_DEFAULT, ERRPATTERN_DEFAULT_MESSAGE, &p, err, sizeof err));
  assert_int_equal(p.nipp, 1);
  assert_int_equal(p.ipp[0], 0x0407);
  assert_int_equal(p.nhttp, 1);
  assert_int_equal(p.http[0], 410);
  /* nimbusd's documented answer */
  assert_true(errpattern_match(&p, 200, 0x0407, "output device registration deleted"));
  assert_true(errpattern_match(&p, 200, 0x0407, "Output Device Registration Deleted."));
  /* the same code with another message is not the deregistration answer */
  assert_false(errpattern_match(&p, 200, 0x0407, "job is gone"));
  assert_false(errpattern_match(&p, 200, 0x0407, NULL));
  assert_true(errpattern_match(&p, 410, 0, NULL));
  /* transient or unrelated answers never match */
  assert_false(errpattern_match(&p, 0, 0, NULL));
  assert_false(errpattern_match(&p, 503, 0, NULL));
  assert_false(errpattern_match(&p, 500, 0, NULL));
  assert_false(errpattern_match(&p, 401, 0, NULL));
  assert_false(errpattern_match(&p, 200, 0x0502, "output device registration deleted"));
  assert_false(errpattern_match(&p, 200, 0x0406, NULL));
  assert_false(errpattern_match(&p, 200, 0, NULL));
  /* the IPP code is only looked at in an HTTP 200 answer */
  assert_false(errpattern_match(&p, 400, 0x0407, "output device registration deleted"));
}

static void test_user_patterns(void **state) {
  (void)state;
  errpattern_t p;
  assert_true(
      errpattern_parse("ipp:client-error-gone, http:404 ,ipp:1031", "", &p, err, sizeof err));
  assert_int_equal(p.nipp, 2);
  assert_int_equal(p.ipp[0], 0x0407);
  assert_int_equal(p.ipp[1], 1031);
  assert_true(errpattern_match(&p, 200, 0x0407, NULL)); /* no message needed */
  assert_true(errpattern_match(&p, 404, 0, NULL));
  assert_true(errpattern_match(&p, 200, 1031, "whatever"));
  assert_true(errpattern_parse("ipp:0x0407", "registration deleted", &p, err, sizeof err));
  assert_true(errpattern_match(&p, 200, 0x0407, "output device registration deleted"));
  assert_false(errpattern_match(&p, 410, 0, NULL));
}

static void test_bad_patterns(void **state) {
  (void)state;
  errpattern_t p;
  assert_false(errpattern_parse("", "", &p, err, sizeof err));
  assert_false(errpattern_parse("gone", "", &p, err, sizeof err));
  assert_false(errpattern_parse("ipp:", "", &p, err, sizeof err));
  assert_false(errpattern_parse("ipp:no-such-status", "", &p, err, sizeof err));
  assert_false(errpattern_parse("http:99", "", &p, err, sizeof err));
  assert_false(errpattern_parse("http:600", "", &p, err, sizeof err));
  assert_false(errpattern_parse("http:4x0", "", &p, err, sizeof err));
  assert_false(errpattern_parse("ipp:0x10000", "", &p, err, sizeof err));
  char many[512] = "";
  for (int i = 0; i < ERRPATTERN_MAX + 1; i++) strcat(many, "http:410,");
  assert_false(errpattern_parse(many, "", &p, err, sizeof err));
  assert_non_null(strstr(err, "too many"));
}

static ippc_result_t classify(const errpattern_t *p, int http, int ipp, const char *msg) {
  ippc_status_t st = {http, ipp, ""};
  if (msg) strncpy(st.message, msg, sizeof st.message - 1);
  return ippc_classify(p, &st);
}

static void test_classify(void **state) {
  (void)state;
  errpattern_t p;
  assert_true(
      errpattern_parse(ERRPATTERN_DEFAULT, ERRPATTERN_DEFAULT_MESSAGE, &p, err, sizeof err));
  assert_int_equal(classify(&p, 200, 0, NULL), IPPC_OK);
  assert_int_equal(classify(&p, 200, 1, NULL), IPPC_OK);
  assert_int_equal(classify(&p, 200, 0x0407, "output device registration deleted"), IPPC_DELETED);
  assert_int_equal(classify(&p, 410, 0, NULL), IPPC_DELETED);
  assert_int_equal(classify(&p, 0, 0, "Connection refused"), IPPC_TRANSIENT);
  assert_int_equal(classify(&p, 500, 0, NULL), IPPC_TRANSIENT);
  assert_int_equal(classify(&p, 503, 0, NULL), IPPC_TRANSIENT);
  assert_int_equal(classify(&p, 200, 0x0502, NULL), IPPC_TRANSIENT);
  assert_int_equal(classify(&p, 200, 0x0507, NULL), IPPC_TRANSIENT);
  assert_int_equal(classify(&p, 200, 0x0505, NULL), IPPC_TRANSIENT);
  assert_int_equal(classify(&p, 200, 0x0406, NULL), IPPC_IPP_ERROR);
  assert_int_equal(classify(&p, 200, 0x0407, "gone"), IPPC_IPP_ERROR);
  assert_int_equal(classify(&p, 401, 0, NULL), IPPC_HTTP_ERROR);
  /* a user who insists that 503 means "deleted" gets what they asked for */
  assert_true(errpattern_parse("http:503", "", &p, err, sizeof err));
  assert_int_equal(classify(&p, 503, 0, NULL), IPPC_DELETED);
}

static void test_resource(void **state) {
  (void)state;
  char r[256];
  ippc_resource("ipp://localhost:8631/ipp/print/acme/lobby", r, sizeof r);
  assert_string_equal(r, "/ipp/print/acme/lobby");
  ippc_resource("not a uri", r, sizeof r);
  assert_string_equal(r, "/");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_default_pattern), cmocka_unit_test(test_user_patterns),
      cmocka_unit_test(test_bad_patterns),    cmocka_unit_test(test_classify),
      cmocka_unit_test(test_resource),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
