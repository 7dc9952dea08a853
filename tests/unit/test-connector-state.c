/*
 * test-connector-state.c: unit tests of the connector's files and timing:
 * the state file (round trip, mode 0600 even under a lax umask, atomic
 * replacement with no temporary left behind, malformed files), the job
 * journal (phases, reload, torn last line, compaction) and the back-off
 * (bounds, growth, cap, jitter, reset).
 * Files live in a private mkdtemp directory removed by the teardown.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backoff.h"
#include "journal.h"
#include "state.h"

static char dir[64];
static char err[512];

static int setup(void **state) {
  (void)state;
  strcpy(dir, "/tmp/test-connector-state.XXXXXX");
  return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  DIR *d = opendir(dir);
  struct dirent *e;
  char path[512];
  while (d && (e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    unlink(path);
  }
  if (d) closedir(d);
  return rmdir(dir);
}

static int count_files(void) {
  DIR *d = opendir(dir);
  struct dirent *e;
  int n = 0;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

static void fill(state_t *s) {
  memset(s, 0, sizeof *s);
  strcpy(s->server, "http://127.0.0.1:8631");
  strcpy(s->uuid, "urn:uuid:12345678-1234-1234-1234-123456789abc");
  strcpy(s->credential, "nmd_secret");
  strcpy(s->uris[0], "ipp://localhost:8631/ipp/print/acme/lobby");
  strcpy(s->uris[1], "ipp://localhost:8631/ipp/print/acme/floor2");
  s->nuris = 2;
  strcpy(s->registered_at, "2026-01-01T00:00:00Z");
  s->status = STATE_REGISTERED;
  s->jobs_printed = 42;
}

static void test_state_round_trip(void **state) {
  (void)state;
  char path[128];
  snprintf(path, sizeof path, "%s/state.json", dir);
  state_t a, b;
  fill(&a);
  mode_t old = umask(0); /* a lax umask must not make the file readable */
  assert_true(state_save(path, &a, err, sizeof err));
  umask(old);
  struct stat sb;
  assert_int_equal(stat(path, &sb), 0);
  assert_int_equal(sb.st_mode & 0777, 0600);
  assert_true(state_load(path, &b, err, sizeof err));
  assert_string_equal(b.server, a.server);
  assert_string_equal(b.uuid, a.uuid);
  assert_string_equal(b.credential, a.credential);
  assert_int_equal(b.nuris, 2);
  assert_string_equal(b.uris[1], a.uris[1]);
  assert_string_equal(b.registered_at, a.registered_at);
  assert_int_equal(b.status, STATE_REGISTERED);
  assert_int_equal(b.jobs_printed, 42);
  assert_true(state_has_registration(&b));

  /* replace: same inode name, new content, no temporary left over */
  ino_t before = sb.st_ino;
  state_clear_registration(&b);
  b.status = STATE_UNREGISTERED;
  assert_false(state_has_registration(&b));
  assert_true(state_save(path, &b, err, sizeof err));
  assert_int_equal(stat(path, &sb), 0);
  assert_true(sb.st_ino != before); /* renamed into place, not rewritten */
  assert_int_equal(sb.st_mode & 0777, 0600);
  assert_int_equal(count_files(), 1);
  state_t c;
  assert_true(state_load(path, &c, err, sizeof err));
  assert_int_equal(c.status, STATE_UNREGISTERED);
  assert_string_equal(c.credential, "");
  assert_int_equal(c.nuris, 0);
  assert_int_equal(c.jobs_printed, 42);
  unlink(path);
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static void test_state_bad_files(void **state) {
  (void)state;
  char path[128];
  state_t s;
  snprintf(path, sizeof path, "%s/missing.json", dir);
  assert_false(state_load(path, &s, err, sizeof err));
  assert_non_null(strstr(err, "no such file"));
  snprintf(path, sizeof path, "%s/bad.json", dir);
  write_file(path, "{not json");
  assert_false(state_load(path, &s, err, sizeof err));
  write_file(path, "{\"status\":\"maybe\"}");
  assert_false(state_load(path, &s, err, sizeof err));
  write_file(path, "{\"server\":5}");
  assert_false(state_load(path, &s, err, sizeof err));
  write_file(path, "{\"printer_uris\":\"x\"}");
  assert_false(state_load(path, &s, err, sizeof err));
  unlink(path);
  /* an unwritable place fails cleanly */
  assert_false(state_save("/nonexistent-dir/state.json", &s, err, sizeof err));
}

static void test_state_names(void **state) {
  (void)state;
  state_status_t s;
  for (int i = 0; i < 4; i++) {
    assert_true(state_status_parse(state_status_name((state_status_t)i), &s));
    assert_int_equal(s, i);
  }
  assert_string_equal(state_status_name(STATE_DETECTED), "deregistration-detected");
  assert_false(state_status_parse("gone", &s));
}

static void test_journal(void **state) {
  (void)state;
  char path[128];
  snprintf(path, sizeof path, "%s/journal", dir);
  journal_t j;
  assert_true(journal_open(&j, path, err, sizeof err));
  assert_null(journal_find(&j, 7));
  journal_entry_t e = {7, JOURNAL_HANDED, 0, 0, 0};
  assert_true(journal_record(&j, &e));
  journal_entry_t r = {7, JOURNAL_HANDED, 0, 0, 31};
  assert_true(journal_record(&j, &r));
  journal_entry_t d = {7, JOURNAL_DONE, 9, 3, 0};
  assert_true(journal_record(&j, &d));
  journal_entry_t other = {8, JOURNAL_HANDED, 0, 0, 0};
  assert_true(journal_record(&j, &other));
  const journal_entry_t *f = journal_find(&j, 7);
  assert_non_null(f);
  assert_int_equal(f->phase, JOURNAL_DONE);
  assert_int_equal(f->impressions, 3);
  assert_int_equal(f->remote_id, 31); /* kept from the earlier entry */
  journal_close(&j);

  /* a crash mid-line leaves a torn line: ignored on reload */
  int fd = open(path, O_WRONLY | O_APPEND);
  assert_true(write(fd, "9 1 0", 5) == 5);
  close(fd);
  assert_true(journal_open(&j, path, err, sizeof err));
  assert_int_equal(j.n, 2);
  f = journal_find(&j, 7);
  assert_int_equal(f->phase, JOURNAL_DONE);
  assert_int_equal(f->job_state, 9);
  assert_int_equal(f->remote_id, 31);
  assert_int_equal(journal_find(&j, 8)->phase, JOURNAL_HANDED);
  assert_null(journal_find(&j, 9));
  struct stat sb;
  assert_int_equal(stat(path, &sb), 0);
  assert_int_equal(sb.st_mode & 0777, 0600);
  journal_close(&j);
  unlink(path);
}

static void test_journal_compaction(void **state) {
  (void)state;
  char path[128];
  snprintf(path, sizeof path, "%s/journal2", dir);
  journal_t j;
  assert_true(journal_open(&j, path, err, sizeof err));
  journal_entry_t pending = {1, JOURNAL_HANDED, 0, 0, 0};
  assert_true(journal_record(&j, &pending));
  for (int id = 2; id < JOURNAL_KEEP + 12; id++) {
    journal_entry_t e = {id, JOURNAL_REPORTED, 9, 1, 0};
    assert_true(journal_record(&j, &e));
  }
  journal_close(&j);
  assert_true(journal_open(&j, path, err, sizeof err));
  assert_int_equal(j.n, JOURNAL_KEEP + 1);
  assert_non_null(journal_find(&j, 1)); /* unreported jobs always stay */
  assert_null(journal_find(&j, 2));     /* the oldest reported ones go */
  assert_non_null(journal_find(&j, JOURNAL_KEEP + 11));
  journal_close(&j);
  unlink(path);
}

static void test_backoff(void **state) {
  (void)state;
  backoff_t b;
  backoff_init(&b, 100, 1000, 12345);
  int expect_cur = 100;
  for (int i = 0; i < 20; i++) {
    int d = backoff_next(&b);
    assert_true(d >= expect_cur / 2);
    assert_true(d <= expect_cur);
    expect_cur = expect_cur * 2 > 1000 ? 1000 : expect_cur * 2;
  }
  assert_int_equal(b.cur_ms, 1000);
  /* jitter: the capped delays are not all the same */
  int lo = 1 << 30, hi = 0;
  for (int i = 0; i < 50; i++) {
    int d = backoff_next(&b);
    assert_true(d >= 500 && d <= 1000);
    if (d < lo) lo = d;
    if (d > hi) hi = d;
  }
  assert_true(hi > lo);
  backoff_reset(&b);
  int d = backoff_next(&b);
  assert_true(d >= 50 && d <= 100);
  /* nonsense bounds are clamped */
  backoff_init(&b, 0, -5, 1);
  assert_true(backoff_next(&b) <= 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_state_round_trip),   cmocka_unit_test(test_state_bad_files),
      cmocka_unit_test(test_state_names),        cmocka_unit_test(test_journal),
      cmocka_unit_test(test_journal_compaction), cmocka_unit_test(test_backoff),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
