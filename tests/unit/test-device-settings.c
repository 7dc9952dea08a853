/*
 * test-device-settings.c: unit tests of devices/device-settings.c, the
 * settings changed at the printer (FEDERATION.md §5): the default
 * choices (the queue's), checking asked-for settings against choices
 * (the member named), a job's settings now (defaults for sides and
 * colour), and applying settings to a job record (copies, impressions,
 * attrs_json, the change and its detail; nothing when nothing changes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "device-settings.h"
#include "log.h"

static void test_defaults_and_check(void **state) {
  (void)state;
  device_choices_t ch;
  device_choices_default(&ch);
  assert_int_equal(ch.copies_max, 999);
  assert_true(ch.nsides >= 3);
  assert_string_equal(ch.sides[0], "one-sided");
  device_settings_t s;
  memset(&s, 0, sizeof s);
  assert_false(device_settings_any(&s));
  assert_null(device_settings_check(&ch, &s));
  s.copies = 2;
  snprintf(s.sides, sizeof s.sides, "two-sided-long-edge");
  assert_true(device_settings_any(&s));
  assert_null(device_settings_check(&ch, &s));
  /* each member refused by name */
  snprintf(s.media, sizeof s.media, "iso_a0_841x1189mm");
  assert_string_equal(device_settings_check(&ch, &s), "media");
  s.media[0] = '\0';
  snprintf(s.color, sizeof s.color, "sepia");
  assert_string_equal(device_settings_check(&ch, &s), "print-color-mode");
  s.color[0] = '\0';
  s.copies = 1000;
  assert_string_equal(device_settings_check(&ch, &s), "copies");
  /* a printer that is one-sided only */
  s.copies = 1;
  ch.nsides = 1;
  assert_string_equal(device_settings_check(&ch, &s), "sides");
  ch.copies_max = 1;
  s.copies = 2;
  assert_string_equal(device_settings_check(&ch, &s), "copies");
}

static void test_apply(void **state) {
  (void)state;
  static nimbus_job_t job;
  memset(&job, 0, sizeof job);
  job.pages = 3;
  job.copies = 1;
  job.impressions = 3;
  snprintf(job.attrs_json, sizeof job.attrs_json, "{\"media\":\"iso_a4_210x297mm\"}");
  device_settings_t now;
  device_settings_of(&job, &now);
  assert_int_equal(now.copies, 1);
  assert_string_equal(now.sides, "one-sided"); /* none given: the default */
  assert_string_equal(now.color, "auto");
  assert_string_equal(now.media, "iso_a4_210x297mm");

  char detail[DEVICE_SETTINGS_DETAIL];
  job_settings_change_t ch;
  bool too_long = true;
  /* the same values: no change */
  device_settings_t s;
  memset(&s, 0, sizeof s);
  s.copies = 1;
  snprintf(s.sides, sizeof s.sides, "one-sided");
  assert_false(device_settings_apply(&job, &s, "alice@acme", detail, &ch, &too_long));
  assert_false(too_long);
  assert_int_equal(job.copies, 1);

  s.copies = 2;
  snprintf(s.sides, sizeof s.sides, "two-sided-long-edge");
  assert_true(device_settings_apply(&job, &s, "alice@acme", detail, &ch, &too_long));
  assert_int_equal(job.copies, 2);
  assert_int_equal(job.impressions, 6);
  assert_int_equal(ch.copies, 2);
  assert_int_equal(ch.impressions, 6);
  assert_ptr_equal(ch.attrs_json, job.attrs_json);
  assert_non_null(strstr(job.attrs_json, "\"sides\":\"two-sided-long-edge\""));
  assert_non_null(strstr(job.attrs_json, "\"media\":\"iso_a4_210x297mm\"")); /* kept */
  assert_string_equal(detail, "copies 1->2 sides one-sided->two-sided-long-edge by alice@acme");
  device_settings_of(&job, &now);
  assert_int_equal(now.copies, 2);
  assert_string_equal(now.sides, "two-sided-long-edge");

  /* attributes that would no longer fit: refused, the job as it was */
  memset(job.attrs_json, 0, sizeof job.attrs_json);
  job.attrs_json[0] = '{';
  strcat(job.attrs_json, "\"x\":\"");
  memset(job.attrs_json + 6, 'a', sizeof job.attrs_json - 20);
  strcat(job.attrs_json, "\"}");
  char before[sizeof job.attrs_json];
  memcpy(before, job.attrs_json, sizeof before);
  memset(&s, 0, sizeof s);
  snprintf(s.media, sizeof s.media, "na_legal_8.5x14in");
  assert_false(device_settings_apply(&job, &s, "alice@acme", detail, &ch, &too_long));
  assert_true(too_long);
  assert_memory_equal(job.attrs_json, before, sizeof before);
}

int main(void) {
  log_set_level(LOG_ERROR);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults_and_check),
      cmocka_unit_test(test_apply),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
