/*
 * test-blob.c: unit tests of the blob store (blob.h) on its filesystem
 * backend: node ids and the node lock (a second store with the same node
 * id on one spool is refused, another id is not); writing in chunks,
 * committing, reading back in chunks and through a mapped view, exists,
 * delete; a reader over an uncommitted writer; abort leaves nothing; a
 * reader of a missing or malformed key fails cleanly; the start-up sweep
 * removes this node's unfinished uploads but never another node's, and
 * spares young blobs only while another node runs; the runtime sweep keeps
 * uploads in progress and young blobs; concurrent commits share directory
 * syncs.  Each test gets its own spool under a mkdtemp directory, removed
 * after.  Paths below spool/ are checked directly: the layout is part of
 * what the filesystem backend promises (blob.c).
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
  blob_store_t *bs; /* node NODE */
} fixture_t;

#define NODE "node-a"

/* ---- fixture ---- */

static int setup(void **state) {
  fixture_t *fx = calloc(1, sizeof *fx);
  if (!fx) return -1;
  *state = fx;
  snprintf(fx->dir, sizeof fx->dir, "/tmp/nimbus-test-blob-XXXXXX");
  if (!mkdtemp(fx->dir)) return -1;
  snprintf(fx->spool, sizeof fx->spool, "%s/spool", fx->dir);
  char err[256] = "";
  fx->bs = blob_store_open(fx->spool, NODE, err, sizeof err);
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

/* Number of regular files directly in dir (0 if missing), not counting
 * dot files. */
static int count_files(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    char p[512];
    struct stat sb;
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    if (e->d_name[0] != '.' && stat(p, &sb) == 0 && S_ISREG(sb.st_mode)) n++;
  }
  closedir(d);
  return n;
}

/* Partial files of node in all sixteen tmp/<node>/<k> directories. */
static int count_partials_of(fixture_t *fx, const char *node) {
  int n = 0;
  for (int k = 0; k < 16; k++) {
    char p[200];
    snprintf(p, sizeof p, "%s/tmp/%s/%x", fx->spool, node, k);
    n += count_files(p);
  }
  return n;
}

static int count_partials(fixture_t *fx) {
  return count_partials_of(fx, NODE);
}

static int count_data(fixture_t *fx) {
  char p[160];
  snprintf(p, sizeof p, "%s/data", fx->spool);
  return count_files(p);
}

/* Where the filesystem backend keeps committed blob key. */
static void data_path(fixture_t *fx, const char *key, char *out, size_t outlen) {
  snprintf(out, outlen, "%s/data/%s", fx->spool, key);
}

/* Read the whole blob key (in chunks of 5 bytes) into out, NUL-terminated. */
static void read_blob(fixture_t *fx, const char *key, char *out, size_t cap) {
  blob_reader_t *r = blob_reader_open(fx->bs, key);
  assert_non_null(r);
  int64_t off = 0;
  ssize_t n;
  while ((n = blob_reader_read(r, off, out + off, 5 < cap - 1 - (size_t)off ? 5 : cap - 1 - (size_t)off)) > 0)
    off += n;
  assert_int_equal(n, 0);
  assert_int_equal(off, blob_reader_size(r));
  out[off] = '\0';
  blob_reader_close(r);
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

/* The one partial file of this node (there must be exactly one). */
static void only_partial(fixture_t *fx, char *out, size_t outlen) {
  int found = 0;
  for (int k = 0; k < 16; k++) {
    char dir[200];
    snprintf(dir, sizeof dir, "%s/tmp/%s/%x", fx->spool, NODE, k);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
      if (e->d_name[0] != '.') {
        snprintf(out, outlen, "%s/%.64s", dir, e->d_name);
        found++;
      }
    closedir(d);
  }
  assert_int_equal(found, 1);
}

/* Make the file at path look `age` seconds old. */
static void age_file(const char *path, int age) {
  struct timeval tv[2];
  gettimeofday(&tv[0], NULL);
  tv[0].tv_sec -= age;
  tv[1] = tv[0];
  assert_int_equal(utimes(path, tv), 0);
}

/* Create a file with text at spool-relative path rel. */
static void put_file(fixture_t *fx, const char *rel, const char *text) {
  char p[300];
  snprintf(p, sizeof p, "%s/%s", fx->spool, rel);
  FILE *f = fopen(p, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

/* ---- open, node ids, the node lock ---- */

static void test_open_creates_private_layout(void **state) {
  fixture_t *fx = *state;
  const char *subdirs[] = {"", "/tmp", "/data", "/tmp/" NODE, "/tmp/" NODE "/0",
                           "/tmp/" NODE "/9", "/tmp/" NODE "/a", "/tmp/" NODE "/f"};
  for (size_t i = 0; i < sizeof subdirs / sizeof subdirs[0]; i++) {
    char p[160];
    struct stat sb;
    snprintf(p, sizeof p, "%s%s", fx->spool, subdirs[i]);
    assert_int_equal(stat(p, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    assert_int_equal(sb.st_mode & 0077, 0); /* private */
  }
  char p[160];
  snprintf(p, sizeof p, "%s/tmp/" NODE "/.lock", fx->spool);
  assert_true(exists(p));
  /* A spool that cannot be made is an error with a message. */
  char err[256] = "";
  char bad[160];
  snprintf(bad, sizeof bad, "%s/no/such/parent", fx->dir);
  assert_null(blob_store_open(bad, NODE, err, sizeof err));
  assert_true(strlen(err) > 0);
  assert_true(blob_free_space(fx->bs) > 0);
}

static void test_node_ids(void **state) {
  fixture_t *fx = *state;
  const char *good[] = {"a", "node-1", "host.example.org", "A_b-C.9",
                        "0123456789012345678901234567890123456789012345678901234567890123"};
  const char *bad[] = {"", ".", "..", "a/b", "a b", "nodé", "a\nb", "../x",
                       "01234567890123456789012345678901234567890123456789012345678901234"};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
    assert_true(blob_node_id_valid(good[i]));
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_false(blob_node_id_valid(bad[i]));
    char err[256] = "";
    assert_null(blob_store_open(fx->spool, bad[i], err, sizeof err));
    assert_non_null(strstr(err, "invalid node id"));
  }
}

/* One process per node id on a spool: the same id is refused with a
 * message naming it, another id shares the spool, and the id is free again
 * once its store is closed. */
static void test_node_lock(void **state) {
  fixture_t *fx = *state;
  char err[512] = "";
  assert_null(blob_store_open(fx->spool, NODE, err, sizeof err));
  assert_non_null(strstr(err, "node id '" NODE "' is already in use"));
  blob_store_t *b = blob_store_open(fx->spool, "node-b", err, sizeof err);
  assert_non_null(b);
  blob_store_close(fx->bs);
  fx->bs = blob_store_open(fx->spool, NODE, err, sizeof err);
  assert_non_null(fx->bs);
  blob_store_close(b);
}

/* ---- write, commit, read, exists, delete ---- */

static void test_write_commit_read_delete(void **state) {
  fixture_t *fx = *state;
  blob_writer_t *w = blob_writer_new(fx->bs);
  assert_non_null(w);
  assert_int_equal(count_partials(fx), 1);
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
  char part[300];
  only_partial(fx, part, sizeof part);

  char key[NIMBUS_BLOB_KEY_MAX];
  memset(key, 0, sizeof key);
  assert_true(blob_writer_commit(w, key)); /* frees w */
  assert_int_equal(strlen(key), 32);
  assert_int_equal(strspn(key, "0123456789abcdef"), 32);
  /* The partial was tmp/<node>/<first hex digit of the key>/<key>.part. */
  char want_part[300];
  snprintf(want_part, sizeof want_part, "%s/tmp/" NODE "/%c/%s.part", fx->spool, key[0], key);
  assert_string_equal(part, want_part);
  assert_false(exists(part));
  assert_int_equal(count_data(fx), 1);
  assert_int_equal(count_partials(fx), 0);
  assert_true(blob_exists(fx->bs, key));

  char text[64];
  read_blob(fx, key, text, sizeof text);
  assert_string_equal(text, "hello, world");
  blob_reader_t *r = blob_reader_open(fx->bs, key);
  assert_non_null(r);
  assert_int_equal(blob_reader_size(r), 12);
  char buf[32];
  assert_int_equal(blob_reader_read(r, 7, buf, sizeof buf), 5); /* short only at the end */
  assert_memory_equal(buf, "world", 5);
  assert_int_equal(blob_reader_read(r, 12, buf, sizeof buf), 0);
  assert_int_equal(blob_reader_read(r, 1000, buf, sizeof buf), 0);
  assert_int_equal(blob_reader_read(r, -1, buf, sizeof buf), -1);
  const char *view = blob_reader_map(r);
  assert_non_null(view);
  assert_memory_equal(view, "hello, world", 12);
  assert_ptr_equal(blob_reader_map(r), view); /* one view per reader */
  /* Deleting an open blob: the reader keeps what it had. */
  assert_true(blob_delete(fx->bs, key));
  assert_false(blob_exists(fx->bs, key));
  assert_int_equal(blob_reader_read(r, 0, buf, 5), 5);
  assert_memory_equal(buf, "hello", 5);
  blob_reader_close(r);
  blob_reader_close(NULL); /* ignored */
  assert_true(blob_delete(fx->bs, key)); /* missing is not an error */
  assert_int_equal(count_data(fx), 0);
}

/* A reader over an uncommitted writer sees the bytes written so far (the
 * page counter validates a document before it is committed). */
static void test_writer_reader(void **state) {
  fixture_t *fx = *state;
  blob_writer_t *w = partial(fx, "%PDF-1.7 first part");
  blob_reader_t *r = blob_writer_reader(w);
  assert_non_null(r);
  assert_int_equal(blob_reader_size(r), 19);
  const char *view = blob_reader_map(r);
  assert_non_null(view);
  assert_memory_equal(view, "%PDF-1.7 first part", 19);
  blob_reader_close(r);
  char key[NIMBUS_BLOB_KEY_MAX], text[64];
  assert_true(blob_writer_commit(w, key));
  read_blob(fx, key, text, sizeof text);
  assert_string_equal(text, "%PDF-1.7 first part");
  /* An empty blob has no view (nothing to map). */
  commit_text(fx, "", key);
  r = blob_reader_open(fx->bs, key);
  assert_non_null(r);
  assert_int_equal(blob_reader_size(r), 0);
  assert_null(blob_reader_map(r));
  blob_reader_close(r);
}

/* A large blob written and read back in chunks (bytes cross chunk edges). */
static void test_large_blob_in_chunks(void **state) {
  fixture_t *fx = *state;
  enum { TOTAL = 1000003, CHUNK = 4093 };
  static unsigned char in[TOTAL], out[TOTAL];
  for (int i = 0; i < TOTAL; i++) in[i] = (unsigned char)(i * 7 + i / 251);
  blob_writer_t *w = blob_writer_new(fx->bs);
  assert_non_null(w);
  for (int off = 0; off < TOTAL; off += CHUNK)
    assert_true(blob_writer_write(w, in + off, TOTAL - off < CHUNK ? (size_t)(TOTAL - off) : CHUNK));
  char key[NIMBUS_BLOB_KEY_MAX];
  assert_true(blob_writer_commit(w, key));
  blob_reader_t *r = blob_reader_open(fx->bs, key);
  assert_non_null(r);
  assert_int_equal(blob_reader_size(r), TOTAL);
  int64_t off = 0;
  ssize_t n;
  while ((n = blob_reader_read(r, off, out + off, TOTAL - off < 65536 ? (size_t)(TOTAL - off) : 65536)) > 0)
    off += n;
  assert_int_equal(off, TOTAL);
  assert_memory_equal(in, out, TOTAL);
  blob_reader_close(r);
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

/* Malformed keys never reach the filesystem; a missing blob is ENOENT. */
static void test_malformed_and_missing_keys(void **state) {
  fixture_t *fx = *state;
  const char *bad[] = {"",
                       "0123456789abcdef0123456789abcde",   /* 31 */
                       "0123456789abcdef0123456789abcdef0", /* 33 */
                       "0123456789ABCDEF0123456789abcdef",  /* upper case */
                       "../../../../../../../../etc/passwd",
                       "0123456789abcdef0123456789abcde/",
                       "0123456789abcdef0123456789abcdeg"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    errno = 0;
    assert_null(blob_reader_open(fx->bs, bad[i]));
    assert_int_equal(errno, EINVAL);
    assert_false(blob_delete(fx->bs, bad[i]));
    assert_false(blob_exists(fx->bs, bad[i]));
  }
  errno = 0;
  assert_null(blob_reader_open(fx->bs, "0123456789abcdef0123456789abcdef"));
  assert_int_equal(errno, ENOENT);
  assert_false(blob_exists(fx->bs, "0123456789abcdef0123456789abcdef"));
}

/* ---- abort ---- */

static void test_abort_leaves_nothing(void **state) {
  fixture_t *fx = *state;
  blob_writer_t *w = partial(fx, "half a document");
  assert_int_equal(count_partials(fx), 1);
  blob_writer_abort(w);
  assert_int_equal(count_partials(fx), 0);
  assert_int_equal(count_data(fx), 0);
  blob_writer_abort(NULL); /* ignored */
  /* A writer that was read back and then aborted leaves nothing either. */
  w = partial(fx, "checked, then refused");
  blob_reader_close(blob_writer_reader(w));
  blob_writer_abort(w);
  assert_int_equal(count_partials(fx), 0);
  assert_int_equal(count_data(fx), 0);
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

/* Start-up, no other node running: this node's partial files go (never
 * another node's), and every blob nobody references, however young. */
static void test_sweep_at_start_up(void **state) {
  fixture_t *fx = *state;
  char kept[NIMBUS_BLOB_KEY_MAX], orphan[NIMBUS_BLOB_KEY_MAX], orphan_old[NIMBUS_BLOB_KEY_MAX];
  commit_text(fx, "referenced", kept);
  commit_text(fx, "orphan", orphan);
  commit_text(fx, "old orphan", orphan_old);
  char p[300];
  data_path(fx, orphan_old, p, sizeof p);
  age_file(p, 3600);
  /* Two partial files: a writer still open, and a leftover from a crash. */
  blob_writer_t *w = partial(fx, "upload in progress");
  put_file(fx, "tmp/" NODE "/7/7777777777777777777777777777777a.part", "crash leftover");
  assert_int_equal(count_partials(fx), 2);
  /* Another node's upload in progress (that node is not running now). */
  char other[200];
  snprintf(other, sizeof other, "%s/tmp/node-b", fx->spool);
  assert_int_equal(mkdir(other, 0700), 0);
  snprintf(other, sizeof other, "%s/tmp/node-b/3", fx->spool);
  assert_int_equal(mkdir(other, 0700), 0);
  put_file(fx, "tmp/node-b/3/3333333333333333333333333333333b.part", "node b's upload");

  refs_t refs = {.keep = {kept}};
  assert_int_equal(blob_sweep(fx->bs, true, keep_cb, &refs), 4);
  assert_int_equal(refs.calls, 3);
  assert_int_equal(count_partials(fx), 0);
  assert_int_equal(count_partials_of(fx, "node-b"), 1);
  assert_int_equal(count_data(fx), 1);
  assert_true(blob_exists(fx->bs, kept));
  assert_false(blob_exists(fx->bs, orphan));
  blob_writer_abort(w); /* its file is gone already: abort copes */

  /* Nothing left to do the second time. */
  assert_int_equal(blob_sweep(fx->bs, true, keep_cb, &refs), 0);
}

/* Start-up while another node runs: a young unreferenced blob may be that
 * node's commit whose row is a moment away, so it stays; old orphans go.
 * Once the other node has stopped, the young orphan goes too. */
static void test_sweep_at_start_up_with_another_node(void **state) {
  fixture_t *fx = *state;
  char err[256];
  blob_store_t *b = blob_store_open(fx->spool, "node-b", err, sizeof err);
  assert_non_null(b);
  blob_writer_t *wb = blob_writer_new(b);
  assert_non_null(wb);
  assert_true(blob_writer_write(wb, "b's upload", 10));
  char young[NIMBUS_BLOB_KEY_MAX], old[NIMBUS_BLOB_KEY_MAX], p[300];
  commit_text(fx, "young orphan", young);
  commit_text(fx, "old orphan", old);
  data_path(fx, old, p, sizeof p);
  age_file(p, 3600);

  refs_t refs = {.keep = {NULL}};
  assert_int_equal(blob_sweep(fx->bs, true, keep_cb, &refs), 1);
  assert_true(blob_exists(fx->bs, young));
  assert_false(blob_exists(fx->bs, old));
  assert_int_equal(count_partials_of(fx, "node-b"), 1); /* b's upload is untouched */

  char key[NIMBUS_BLOB_KEY_MAX];
  assert_true(blob_writer_commit(wb, key)); /* and finishes normally */
  blob_store_close(b);
  refs.keep[0] = key;
  assert_int_equal(blob_sweep(fx->bs, true, keep_cb, &refs), 1);
  assert_false(blob_exists(fx->bs, young));
  assert_true(blob_exists(fx->bs, key));
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
  char p[300];
  data_path(fx, old, p, sizeof p);
  age_file(p, 3600);
  data_path(fx, old_kept, p, sizeof p);
  age_file(p, 3600);
  data_path(fx, almost, p, sizeof p);
  age_file(p, 540);
  blob_writer_t *w = partial(fx, "upload in progress");
  char part[300];
  only_partial(fx, part, sizeof part);
  age_file(part, 3600); /* even an old partial is somebody's slow upload */

  refs_t refs = {.keep = {old_kept}};
  assert_int_equal(blob_sweep(fx->bs, false, keep_cb, &refs), 1);
  assert_false(blob_exists(fx->bs, old));
  assert_true(blob_exists(fx->bs, young));
  assert_true(blob_exists(fx->bs, almost));
  assert_true(blob_exists(fx->bs, old_kept));
  assert_true(exists(part));
  assert_int_equal(count_partials(fx), 1);

  /* The upload finishes normally after the sweep. */
  char key[NIMBUS_BLOB_KEY_MAX];
  assert_true(blob_writer_commit(w, key));
  assert_true(blob_exists(fx->bs, key));
  assert_int_equal(count_data(fx), 4);
}

/* Files in data/ that are not blobs (no valid key) are not kept by a
 * start-up sweep; dot files are left alone. */
static void test_sweep_foreign_files(void **state) {
  fixture_t *fx = *state;
  put_file(fx, "data/README", "");
  put_file(fx, "data/.keep", "");
  char p[200];
  snprintf(p, sizeof p, "%s/data/README", fx->spool);
  age_file(p, 3600);
  refs_t refs = {.keep = {"README"}};
  assert_int_equal(blob_sweep(fx->bs, true, keep_cb, &refs), 1);
  assert_int_equal(refs.calls, 0); /* keep() only sees valid keys */
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
      char text[64], want[64];
      read_blob(fx, c[t].keys[i], text, sizeof text);
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
      cmocka_unit_test_setup_teardown(test_node_ids, setup, teardown),
      cmocka_unit_test_setup_teardown(test_node_lock, setup, teardown),
      cmocka_unit_test_setup_teardown(test_write_commit_read_delete, setup, teardown),
      cmocka_unit_test_setup_teardown(test_writer_reader, setup, teardown),
      cmocka_unit_test_setup_teardown(test_large_blob_in_chunks, setup, teardown),
      cmocka_unit_test_setup_teardown(test_head_keeps_the_first_bytes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_keys_are_unique, setup, teardown),
      cmocka_unit_test_setup_teardown(test_malformed_and_missing_keys, setup, teardown),
      cmocka_unit_test_setup_teardown(test_abort_leaves_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sweep_at_start_up, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sweep_at_start_up_with_another_node, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sweep_while_serving, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sweep_foreign_files, setup, teardown),
      cmocka_unit_test_setup_teardown(test_concurrent_commits, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
