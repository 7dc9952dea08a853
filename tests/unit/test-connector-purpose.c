/*
 * test-connector-purpose.c: the release panel's billing purposes
 * (src/connector/panel-purpose.c, issue 13) on nimbusd's JSON as
 * docs/BILLING.md and the device API write it: the words of a job's
 * purpose, the options of the purpose control and which one is selected,
 * the release's body, and telling a purpose refusal (402/403/409/422
 * with its problem type) from a wrong PIN (403) or a job that cannot be
 * paid now (409).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "panel-purpose.h"

static json_t *js(const char *text) {
  json_error_t e;
  json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
  assert_non_null(v);
  return v;
}

static void test_words(void **state) {
  (void)state;
  char out[PURPOSE_WORDS_MAX];
  json_t *p = js("{\"name\":\"Client A\",\"account\":\"CLIENT-A\",\"private\":false}");
  assert_true(purpose_words(p, out, sizeof out));
  assert_string_equal(out, "Client A (account CLIENT-A)");
  json_decref(p);
  p = js("{\"name\":\"Personal\",\"account\":null,\"private\":true}");
  assert_true(purpose_words(p, out, sizeof out));
  assert_string_equal(out, "Personal (private, paid by you)");
  json_decref(p);
  /* no purpose, or nothing usable: nothing said */
  p = js("null");
  assert_false(purpose_words(p, out, sizeof out));
  assert_string_equal(out, "");
  json_decref(p);
  assert_false(purpose_words(NULL, out, sizeof out));
  p = js("{\"name\":\"\",\"account\":\"X\"}");
  assert_false(purpose_words(p, out, sizeof out));
  json_decref(p);
  p = js("{\"name\":\"0123456789012345678901234567890123456789012345678901234567890123\"}");
  assert_false(purpose_words(p, out, sizeof out)); /* 64 bytes: longer than any name */
  json_decref(p);
  /* a small buffer is cut, still terminated */
  p = js("{\"name\":\"Client A\",\"account\":\"CLIENT-A\",\"private\":false}");
  char tiny[9];
  assert_true(purpose_words(p, tiny, sizeof tiny));
  assert_string_equal(tiny, "Client A");
  json_decref(p);
}

static const char *const mine =
    "[{\"name\":\"Client A\",\"account\":\"CLIENT-A\",\"private\":false,\"default\":true},"
    " {\"name\":\"Personal\",\"account\":null,\"private\":true,\"default\":false},"
    " {\"name\":42},"
    " {\"name\":\"Volunteers\",\"account\":\"VOL\",\"private\":false,\"default\":false}]";

static int selected(const purpose_choice_t *c, int n) {
  int at = -1;
  for (int i = 0; i < n; i++)
    if (c[i].selected) {
      assert_int_equal(at, -1); /* one only */
      at = i;
    }
  return at;
}

static void test_choices_job_purpose_is_mine(void **state) {
  (void)state;
  json_t *purposes = js(mine);
  json_t *job = js("{\"name\":\"Personal\",\"account\":null,\"private\":true}");
  purpose_choice_t c[PURPOSE_CHOICES_MAX];
  int n = purpose_choices(purposes, job, "", c, PURPOSE_CHOICES_MAX);
  assert_int_equal(n, 3); /* the entry without a name is skipped; no "keep" option */
  assert_string_equal(c[0].value, "Client A");
  assert_string_equal(c[0].label, "Client A (account CLIENT-A)");
  assert_string_equal(c[1].value, "Personal");
  assert_string_equal(c[1].label, "Personal (private, paid by you)");
  assert_string_equal(c[2].value, "Volunteers");
  assert_int_equal(selected(c, n), 1); /* the job's own */
  /* after a refused release the user's choice stays selected */
  n = purpose_choices(purposes, job, "Volunteers", c, PURPOSE_CHOICES_MAX);
  assert_int_equal(selected(c, n), 2);
  /* a choice that is not offered (gone meanwhile): the job's own */
  n = purpose_choices(purposes, job, "Old", c, PURPOSE_CHOICES_MAX);
  assert_int_equal(selected(c, n), 1);
  json_decref(job);
  json_decref(purposes);
}

static void test_choices_keep_option(void **state) {
  (void)state;
  json_t *purposes = js(mine);
  purpose_choice_t c[PURPOSE_CHOICES_MAX];
  /* a job without a purpose: "No purpose" first, selected, sends nothing */
  json_t *none = js("null");
  int n = purpose_choices(purposes, none, NULL, c, PURPOSE_CHOICES_MAX);
  assert_int_equal(n, 4);
  assert_string_equal(c[0].value, "");
  assert_string_equal(c[0].label, "No purpose");
  assert_int_equal(selected(c, n), 0);
  n = purpose_choices(purposes, none, "Client A", c, PURPOSE_CHOICES_MAX);
  assert_int_equal(selected(c, n), 1);
  json_decref(none);
  /* submitted with an account code, not one of the user's purposes */
  json_t *code = js("{\"name\":\"PROJ-9\",\"account\":\"PROJ-9\",\"private\":false}");
  n = purpose_choices(purposes, code, "", c, PURPOSE_CHOICES_MAX);
  assert_int_equal(n, 4);
  assert_string_equal(c[0].value, "");
  assert_string_equal(c[0].label, "Keep: PROJ-9 (account PROJ-9)");
  assert_int_equal(selected(c, n), 0);
  json_decref(code);
  json_decref(purposes);
}

static void test_choices_none_offered(void **state) {
  (void)state;
  purpose_choice_t c[PURPOSE_CHOICES_MAX];
  json_t *job = js("{\"name\":\"Personal\",\"account\":null,\"private\":true}");
  json_t *empty = js("[]");
  assert_int_equal(purpose_choices(empty, job, "", c, PURPOSE_CHOICES_MAX), 0);
  json_t *junk = js("[{\"name\":null},7]");
  assert_int_equal(purpose_choices(junk, job, "", c, PURPOSE_CHOICES_MAX), 0);
  assert_int_equal(purpose_choices(NULL, job, "", c, PURPOSE_CHOICES_MAX), 0);
  /* more purposes than options: bounded */
  json_t *many = json_array();
  for (int i = 0; i < PURPOSE_CHOICES_MAX + 5; i++) {
    char name[16];
    snprintf(name, sizeof name, "P%d", i);
    json_array_append_new(many,
                          json_pack("{s:s, s:n, s:b}", "name", name, "account", "private", 1));
  }
  int n = purpose_choices(many, NULL, "", c, PURPOSE_CHOICES_MAX);
  assert_int_equal(n, PURPOSE_CHOICES_MAX);
  assert_string_equal(c[0].label, "No purpose");
  assert_string_equal(c[PURPOSE_CHOICES_MAX - 1].value, "P30");
  json_decref(many);
  json_decref(junk);
  json_decref(empty);
  json_decref(job);
}

static void test_release_body(void **state) {
  (void)state;
  json_t *b = purpose_release_body("1234", "Client A");
  assert_string_equal(json_string_value(json_object_get(b, "pin")), "1234");
  assert_string_equal(json_string_value(json_object_get(b, "purpose")), "Client A");
  assert_int_equal(json_object_size(b), 2);
  json_decref(b);
  b = purpose_release_body(NULL, "");
  assert_int_equal(json_object_size(b), 0); /* the job's own purpose: nothing sent */
  json_decref(b);
  b = purpose_release_body("", "Personal");
  assert_null(json_object_get(b, "pin"));
  assert_string_equal(json_string_value(json_object_get(b, "purpose")), "Personal");
  json_decref(b);
}

static void test_refusals(void **state) {
  (void)state;
  char out[PURPOSE_REFUSAL_MAX];
  struct {
    long status;
    const char *doc;
    bool refusal;
    const char *words;
  } cases[] = {
      {402,
       "{\"type\":\"https://nimbus.example/problems/account-limit-reached\",\"title\":\"Payment "
       "Required\",\"status\":402,\"detail\":\"Account CLIENT-A has EUR 0.40 left; this job "
       "needs EUR 1.20.\"}",
       true, "Account CLIENT-A has EUR 0.40 left; this job needs EUR 1.20."},
      {403,
       "{\"type\":\"urn:nimbus:problem:account-authorization-failed\",\"detail\":\"You may "
       "not charge account PROJ-9.\"}",
       true, "You may not charge account PROJ-9."},
      {409, "{\"type\":\"account-closed\",\"detail\":\"Account OLD is closed.\"}", true,
       "Account OLD is closed."},
      /* no detail: a sentence of the panel's own */
      {422, "{\"type\":\"/problems/purpose-required\"}", true, "Choose a purpose for this job."},
      {402, "{\"type\":\"/problems/account-limit-reached\",\"detail\":\"\"}", true,
       "There is not enough left on the account for this job."},
      /* not purpose refusals: a wrong PIN, a payment impossible now, a
       * type at the wrong status, a type that only ends the same way */
      {403, "{\"type\":\"about:blank\",\"detail\":\"wrong PIN\",\"attempts_left\":3}", false, ""},
      {409, "{\"type\":\"about:blank\",\"detail\":\"the job must be paid ...\"}", false, ""},
      {403, "{\"type\":\"/problems/account-closed\",\"detail\":\"x\"}", false, ""},
      {422, "{\"type\":\"/problems/not-purpose-required\",\"detail\":\"x\"}", false, ""},
      {200, "{\"type\":\"/problems/purpose-required\"}", false, ""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    json_t *doc = js(cases[i].doc);
    assert_int_equal(purpose_refusal(cases[i].status, doc, out, sizeof out), cases[i].refusal);
    assert_string_equal(out, cases[i].words);
    json_decref(doc);
  }
  assert_false(purpose_refusal(403, NULL, out, sizeof out));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_words),
      cmocka_unit_test(test_choices_job_purpose_is_mine),
      cmocka_unit_test(test_choices_keep_option),
      cmocka_unit_test(test_choices_none_offered),
      cmocka_unit_test(test_release_body),
      cmocka_unit_test(test_refusals),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
