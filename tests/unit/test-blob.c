/*
 * test-blob.c: unit tests of the filesystem spool (blob.h): writing,
 * committing, paths and deletion; abort removes the partial file; the
 * start-up sweep (partial_too) removes every partial file and every blob
 * keep() rejects; the runtime sweep keeps partial files (uploads in
 * progress) and young blobs; concurrent commits share directory syncs.
 * Each test gets its own spool under a mkdtemp directory, removed after.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "blob.h"
#include "docformat.h"
#include "log.h"

typedef struct {
  char dir[64];   /* mkdtemp */
  char spool[96]; /* dir/spool */
  blob_store_t *bs;
} fixture_t;

/* ---- fixture ---- */

static int setup(void **state) {
  fixture_t *fx = calloc(1, sizeof *fx);
  if (!fx) return -1;
  *state = fx;
  snprintf(fx->dir, sizeof fx->dir, "/tmp/nimbus-test-blob-XXXXXX");
  if (!mkdtemp(fx->dir)) return -1;
  snprintf(fx->spool, sizeof fx->spool, "%s/spool", fx->dir);
  char err[256] = "";
  fx->bs = blob_store_open(fx->spool, err, sizeof err);
  if (!fx->bs) fprintf(stderr, "blob_store_open: %s\n", err);
  return fx->bs ? 0 : -1;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static int teardown(void **state) {
  fixture_t *fx = *state;
  if (!fx) return 0;
  blob_store_close(fx->bs);
  nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  free(fx);
  return 0;
}

/* ---- helpers ---- */

static bool exists(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0;
}

/* Number of regular files directly in dir. */
static int count_files(const char *dir) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    char p[512];
    struct stat sb;
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    if (stat(p, &sb) == 0 && S_ISREG(sb.st_mode)) n++;
  }
  closedir(d);
  return n;
}

/* Partial files in all sixteen tmp/<k> directories. */
static int count_partials(fixture_t *fx) {
  int n = 0;
  for (int k = 0; k < 16; k++) {
    char p[160];
    snprintf(p, sizeof p, "%s/tmp/%x", fx->spool, k);
    n += count_files(p);
  }
  return n;
}

static int count_data(fixture_t *fx) {
  char p[160];
  snprintf(p, sizeof p, "%s/data", fx->spool);
  return count_files(p);
}

static void read_file(const char *path, char *out, size_t cap) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  size_t n = fread(out, 1, cap - 1, f);
  out[n] = '\0';
  fclose(f);
}

/* Write text into a new blob and commit it; the key goes to key. */
static void commit_text(fixture_t *fx, const char *text, char key[NIMBUS_BLOB_KEY_MAX]) {
  blob_writer_t *w = blob_writer_new(fx->bs);
  assert_non_null(w);
  assert_true(blob_writer_write(w, text, strlen(text)));
  assert_true(blob_writer_commit(w, key));
}

/* Start a blob that stays partial; the writer is returned. */
static blob_writer_t *partial(fixture_t *fx, const char *text) {
  blob_writer_t *w = blob_writer_new(fx->bs);
  assert_non_null(w);
  assert_true(blob_writer_write(w, text, strlen(text)));
  return w;
}

/* Make the file at path look `age` seconds old. */
static void age_file(const char *path, int age) {
  struct timeval tv[2];
  gettimeofday(&tv[0], NULL);
  tv[0].tv_sec -= age;
  tv[1] = tv[0];
  assert_int_equal(utimes(path, tv), 0);
}

static void blob_file(fixture_t *fx, const char *key, char *out, size_t outlen) {
  assert_true(blob_path(fx->bs, key, out, outlen));
}

/* ---- open ---- */

static void test_open_creates_private_layout(void **state) {
  fixture_t *fx = *state;
  const char *subdirs[] = {"", "/tmp", "/data", "/tmp/0", "/tmp/9", "/tmp/a", "/tmp/f"};
  for (size_t i = 0; i < sizeof subdirs / sizeof subdirs[0]; i++) {
    char p[160];
    struct stat sb;
    snprintf(p, sizeof p, "%s%s", fx->spool, subdirs[i]);
    assert_int_equal(stat(p, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    assert_int_equal(sb.st_mode & 0077, 0); /* private */
  }
  /* Opening an existing spool again is fine. */
  char err[256] = "";
  blob_store_t *again = blob_store_open(fx->spool, err, sizeof err);
  assert_non_null(again);
  blob_store_close(again);
  /* A spool that cannot be made is an error with a message. */
  char bad[160];
  snprintf(bad, sizeof bad, "%s/no/such/parent", fx->dir);
  assert_null(blob_store_open(bad, err, sizeof err));
  assert_true(strlen(err) > 0);
}

/* ---- write, commit, path, delete ---- */

static void test_write_commit_path_delete(void **state) {
  fixture_t *fx = *state;
  blob_writer_t *w = blob_writer_new(fx->bs);
  assert_non_null(w);
  char part[4300];
  snprintf(part, sizeof part, "%s", blob_writer_path(w));
  assert_non_null(strstr(part, "/tmp/"));
  assert_int_equal(strcmp(part + strlen(part) - 5, ".part"), 0);
  assert_true(exists(part));
  assert_int_equal(blob_writer_size(w), 0);

  assert_true(blob_writer_write(w, "hello, ", 7));
  assert_true(blob_writer_write(w, "world", 5));
  assert_true(blob_writer_write(w, "", 0));
  assert_int_equal(blob_writer_size(w), 12);
  size_t hl = 0;
  const unsigned char *head = blob_writer_head(w, &hl);
  assert_int_equal(hl, 12);
  assert_memory_equal(head, "hello, world", 12);
  assert_int_equal(count_data(fx), 0); /* nothing committed yet */

  char key[NIMBUS_BLOB_KEY_MAX];
  memset(key, 0, sizeof key);
  assert_true(blob_writer_commit(w, key)); /* frees w */
  assert_int_equal(strlen(key), 32);
  assert_int_equal(strspn(key, "0123456789abcdef"), 32);
  /* The partial is in tmp/<first hex digit of the key>/<key>.part. */
  char want_part[200];
  snprintf(want_part, sizeof want_part, "%s/tmp/%c/%s.part", fx->spool, key[0], key);
  assert_string_equal(part, want_part);
  assert_false(exists(part));

  char path[4300], text[64];
  blob_file(fx, key, path, sizeof path);
  char want[200];
  snprintf(want, sizeof want, "%s/data/%s", fx->spool, key);
  assert_string_equal(path, want);
  read_file(path, text, sizeof text);
  assert_string_equal(text, "hello, world");
  assert_int_equal(count_data(fx), 1);
  assert_int_equal(count_partials(fx), 0);

  assert_true(blob_delete(fx->bs, key));
  assert_false(exists(path));
  assert_true(blob_delete(fx->bs, key)); /* missing is not an error */
}

/* blob.h: the head is the first bytes, up to 1024 (what format
 * detection looks at, DOCFORMAT_SNIFF_MAX), across writes. */
static void test_head_keeps_the_first_bytes(void **state) {
  fixture_t *fx = *state;
  enum { HEAD = DOCFORMAT_SNIFF_MAX, TOTAL = DOCFORMAT_SNIFF_MAX + 500 };
  blob_writer_t *w = blob_writer_new(fx->bs);
  assert_non_null(w);
  static unsigned char buf[TOTAL];
  for (int i = 0; i < TOTAL; i++) buf[i] = (unsigned char)(i * 13);
  size_t hl = 99;
  blob_writer_head(w, &hl);
  assert_int_equal(hl, 0);
  assert_true(blob_writer_write(w, buf, 40));
  blob_writer_head(w, &hl);
  assert_int_equal(hl, 40);
  assert_true(blob_writer_write(w, buf + 40, HEAD - 50));
  assert_true(blob_writer_write(w, buf + HEAD - 10, TOTAL - (HEAD - 10))); /* crosses the end */
  const unsigned char *head = blob_writer_head(w, &hl);
  assert_int_equal(hl, HEAD);
  assert_memory_equal(head, buf, HEAD);
  assert_int_equal(blob_writer_size(w), TOTAL);
  blob_writer_abort(w);
}

static void test_keys_are_unique(void **state) {
  fixture_t *fx = *state;
  char keys[50][NIMBUS_BLOB_KEY_MAX];
  for (int i = 0; i < 50; i++) {
    commit_text(fx, "x", keys[i]);
    for (int k = 0; k < i; k++) assert_string_not_equal(keys[i], keys[k]);
  }
  assert_int_equal(count_data(fx), 50);
}

static void test_path_rejects_malformed_keys(void **state) {
  fixture_t *fx = *state;
  char out[4300];
  const char *bad[] = {"",
                       "0123456789abcdef0123456789abcde",   /* 31 */
                       "0123456789abcdef0123456789abcdef0", /* 33 */
                       "0123456789ABCDEF0123456789abcdef",  /* upper case */
                       "../../../../../../../../etc/passwd",
                       "0123456789abcdef0123456789abcde/",
                       "0123456789abcdef0123456789abcdeg"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_false(blob_path(fx->bs, bad[i], out, sizeof out));
    assert_false(blob_delete(fx->bs, bad[i]));
  }
  assert_true(blob_path(fx->bs, "0123456789abcdef0123456789abcdef", out, sizeof out));
}

/* ---- abort ---- */

static void test_abort_removes_the_partial(void **state) {
  fixture_t *fx = *state;
  blob_writer_t *w = partial(fx, "half a document");
  char part[4300];
  snprintf(part, sizeof part, "%s", blob_writer_path(w));
  assert_true(exists(part));
  assert_int_equal(count_partials(fx), 1);
  blob_writer_abort(w);
  assert_false(exists(part));
  assert_int_equal(count_partials(fx), 0);
  assert_int_equal(count_data(fx), 0);
  blob_writer_abort(NULL); /* ignored */
}

/* ---- sweep ---- */

typedef struct {
  const char *keep[8]; /* keys that are referenced */
  int calls;
} refs_t;

static bool keep_cb(const char *key, void *ctx) {
  refs_t *r = ctx;
  r->calls++;
  for (int i = 0; i < 8 && r->keep[i]; i++)
    if (strcmp(r->keep[i], key) == 0) return true;
  return false;
}

/* Start-up: every partial file goes, and every blob nobody references,
 * however young. */
static void test_sweep_at_start_up(void **state) {
  fixture_t *fx = *state;
  char kept[NIMBUS_BLOB_KEY_MAX], orphan[NIMBUS_BLOB_KEY_MAX], orphan_old[NIMBUS_BLOB_KEY_MAX];
  commit_text(fx, "referenced", kept);
  commit_text(fx, "orphan", orphan);
  commit_text(fx, "old orphan", orphan_old);
  char p[4300];
  blob_file(fx, orphan_old, p, sizeof p);
  age_file(p, 3600);
  /* Two partial files: a writer still open, and a leftover from a crash. */
  blob_writer_t *w = partial(fx, "upload in progress");
  char leftover[200];
  snprintf(leftover, sizeof leftover, "%s/tmp/7/7777777777777777777777777777777a.part", fx->spool);
  FILE *f = fopen(leftover, "w");
  assert_non_null(f);
  fputs("crash leftover", f);
  fclose(f);
  assert_int_equal(count_partials(fx), 2);

  refs_t refs = {.keep = {kept}};
  assert_int_equal(blob_sweep(fx->bs, true, keep_cb, &refs), 4);
  assert_int_equal(refs.calls, 3);
  assert_int_equal(count_partials(fx), 0);
  assert_int_equal(count_data(fx), 1);
  blob_file(fx, kept, p, sizeof p);
  assert_true(exists(p));
  blob_file(fx, orphan, p, sizeof p);
  assert_false(exists(p));
  blob_writer_abort(w); /* its file is gone already: abort copes */

  /* Nothing left to do the second time. */
  assert_int_equal(blob_sweep(fx->bs, true, keep_cb, &refs), 0);
}

/* While serving: partial files are uploads in progress and blobs younger
 * than ten minutes may be about to get their row; only old orphans go. */
static void test_sweep_while_serving(void **state) {
  fixture_t *fx = *state;
  char young[NIMBUS_BLOB_KEY_MAX], old[NIMBUS_BLOB_KEY_MAX], old_kept[NIMBUS_BLOB_KEY_MAX];
  char almost[NIMBUS_BLOB_KEY_MAX];
  commit_text(fx, "young orphan", young);
  commit_text(fx, "old orphan", old);
  commit_text(fx, "old referenced", old_kept);
  commit_text(fx, "nine minutes", almost);
  char p[4300];
  blob_file(fx, old, p, sizeof p);
  age_file(p, 3600);
  blob_file(fx, old_kept, p, sizeof p);
  age_file(p, 3600);
  blob_file(fx, almost, p, sizeof p);
  age_file(p, 540);
  blob_writer_t *w = partial(fx, "upload in progress");
  char part[4300];
  snprintf(part, sizeof part, "%s", blob_writer_path(w));
  age_file(part, 3600); /* even an old partial is somebody's slow upload */

  refs_t refs = {.keep = {old_kept}};
  assert_int_equal(blob_sweep(fx->bs, false, keep_cb, &refs), 1);
  blob_file(fx, old, p, sizeof p);
  assert_false(exists(p));
  blob_file(fx, young, p, sizeof p);
  assert_true(exists(p));
  blob_file(fx, almost, p, sizeof p);
  assert_true(exists(p));
  blob_file(fx, old_kept, p, sizeof p);
  assert_true(exists(p));
  assert_true(exists(part));
  assert_int_equal(count_partials(fx), 1);

  /* The upload finishes normally after the sweep. */
  char key[NIMBUS_BLOB_KEY_MAX];
  assert_true(blob_writer_commit(w, key));
  blob_file(fx, key, p, sizeof p);
  assert_true(exists(p));
  assert_int_equal(count_data(fx), 4);
}

/* Files in data/ that are not blobs (no valid key) are not kept by a
 * start-up sweep; dot files are left alone. */
static void test_sweep_foreign_files(void **state) {
  fixture_t *fx = *state;
  char p[200];
  const char *names[] = {"README", ".keep"};
  for (int i = 0; i < 2; i++) {
    snprintf(p, sizeof p, "%s/data/%s", fx->spool, names[i]);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fclose(f);
  }
  refs_t refs = {.keep = {"README"}};
  assert_int_equal(blob_sweep(fx->bs, true, keep_cb, &refs), 1);
  assert_int_equal(refs.calls, 0); /* keep() only sees valid keys */
  snprintf(p, sizeof p, "%s/data/README", fx->spool);
  assert_false(exists(p));
  snprintf(p, sizeof p, "%s/data/.keep", fx->spool);
  assert_true(exists(p));
}

/* ---- concurrent commits (shared directory fsync) ---- */

#define COMMITTERS 8
#define COMMITS 25

typedef struct {
  fixture_t *fx;
  int id;
  char keys[COMMITS][NIMBUS_BLOB_KEY_MAX];
  bool ok[COMMITS];
} committer_t;

static void *committer(void *arg) {
  committer_t *c = arg;
  for (int i = 0; i < COMMITS; i++) {
    char text[64];
    snprintf(text, sizeof text, "committer %d blob %d", c->id, i);
    blob_writer_t *w = blob_writer_new(c->fx->bs);
    c->ok[i] = w && blob_writer_write(w, text, strlen(text)) && blob_writer_commit(w, c->keys[i]);
  }
  return NULL;
}

static void test_concurrent_commits(void **state) {
  fixture_t *fx = *state;
  static committer_t c[COMMITTERS];
  pthread_t th[COMMITTERS];
  for (int t = 0; t < COMMITTERS; t++) {
    memset(&c[t], 0, sizeof c[t]);
    c[t].fx = fx;
    c[t].id = t;
    assert_int_equal(pthread_create(&th[t], NULL, committer, &c[t]), 0);
  }
  for (int t = 0; t < COMMITTERS; t++) pthread_join(th[t], NULL);
  for (int t = 0; t < COMMITTERS; t++) {
    for (int i = 0; i < COMMITS; i++) {
      assert_true(c[t].ok[i]);
      char p[4300], text[64], want[64];
      blob_file(fx, c[t].keys[i], p, sizeof p);
      read_file(p, text, sizeof text);
      snprintf(want, sizeof want, "committer %d blob %d", t, i);
      assert_string_equal(text, want);
    }
  }
  assert_int_equal(count_data(fx), COMMITTERS * COMMITS);
  assert_int_equal(count_partials(fx), 0);
}

int main(void) {
  log_set_level(LOG_ERROR);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_open_creates_private_layout, setup, teardown),
      cmocka_unit_test_setup_teardown(test_write_commit_path_delete, setup, teardown),
      cmocka_unit_test_setup_teardown(test_head_keeps_the_first_bytes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_keys_are_unique, setup, teardown),
      cmocka_unit_test_setup_teardown(test_path_rejects_malformed_keys, setup, teardown),
      cmocka_unit_test_setup_teardown(test_abort_removes_the_partial, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sweep_at_start_up, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sweep_while_serving, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sweep_foreign_files, setup, teardown),
      cmocka_unit_test_setup_teardown(test_concurrent_commits, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
