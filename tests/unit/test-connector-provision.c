/*
 * test-connector-provision.c: unit tests of the connector's provisioning
 * parts (PROVISIONING.md §8.3, §9) without nimbusd: the per-step journal
 * (round trip, listing, removal, no temporary left), the package download
 * over file:// (whole, resumed from a partial file, a checksum mismatch
 * deletes the file and keeps nothing), the installer runner against
 * scripts written here (version=, exit 75, a permanent failure's stderr
 * reason, the timeout kill, query exit 1, argv without a shell, stdin
 * /dev/null, the environment) and the settings step (connector options
 * into provisioned.conf and read back, forbidden options, engine values
 * with a non-IPP output).
 * Files live in a private mkdtemp directory removed by the teardown.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "provision.h"

static char dir[64];
static char err[512];

static int setup(void **state) {
  (void)state;
  strcpy(dir, "/tmp/test-connector-provision.XXXXXX");
  return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *text, mode_t mode) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  chmod(path, mode);
}

static bool exists(const char *name) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return access(path, F_OK) == 0;
}

/* ---- journal ---- */

static void test_journal_round_trip(void **state) {
  (void)state;
  json_t *wire = json_loads(
      "{\"id\":42,\"run\":1,\"contract\":2,\"seq\":2,\"kind\":\"firmware\",\"name\":\"engine\","
      "\"target\":{\"version\":\"4.2.0\"},\"package\":{\"id\":12,\"size\":5,"
      "\"sha256\":\"2CF24DBA5FB0A30E26E83B2AC5B9E29E1B161E5C1FA7425E73043362938B9824\"}}",
      0, NULL);
  pj_step_t st, back;
  assert_true(pj_from_wire(wire, &st, err, sizeof err));
  assert_int_equal(st.id, 42);
  assert_string_equal(st.version, "4.2.0");
  assert_int_equal(st.package_id, 12);
  assert_string_equal(st.sha256,
                      "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
  st.state = PJ_INSTALLING;
  assert_true(pj_save(dir, &st, err, sizeof err));
  assert_true(exists("step-42.json"));
  assert_false(exists("step-42.json.tmp"));
  assert_true(pj_load(dir, 42, &back));
  assert_int_equal(back.state, PJ_INSTALLING);
  assert_string_equal(back.kind, "firmware");
  assert_string_equal(back.name, "engine");
  assert_int_equal(back.package_size, 5);
  assert_string_equal(json_string_value(json_object_get(back.target, "version")), "4.2.0");
  /* a later state replaces it */
  back.state = PJ_FAILED;
  snprintf(back.reason, sizeof back.reason, "checksum mismatch");
  back.transient = true;
  assert_true(pj_save(dir, &back, err, sizeof err));
  pj_step_t again;
  assert_true(pj_load(dir, 42, &again));
  assert_int_equal(again.state, PJ_FAILED);
  assert_true(again.transient);
  assert_string_equal(again.reason, "checksum mismatch");

  st.id = 7;
  assert_true(pj_save(dir, &st, err, sizeof err));
  int64_t ids[8];
  assert_int_equal(pj_list(dir, ids, 8), 2);
  assert_int_equal(ids[0], 7);
  assert_int_equal(ids[1], 42);
  pj_free(&again);
  pj_remove(dir, 42);
  assert_false(exists("step-42.json"));
  assert_false(pj_load(dir, 42, &again));
  assert_int_equal(pj_list(dir, ids, 8), 1);
  pj_free(&st);
  pj_free(&back);
  json_decref(wire);
}

static void test_journal_rejects_bad_steps(void **state) {
  (void)state;
  const char *bad[] = {
      "{\"kind\":\"settings\"}",                                       /* no id */
      "{\"id\":1,\"kind\":\"shell\"}",                                 /* unknown kind */
      "{\"id\":1,\"kind\":\"firmware\",\"name\":\"x\",\"target\":{}}", /* no version, package */
      ("{\"id\":1,\"kind\":\"application\",\"name\":\"x\",\"target\":{\"version\":\"1\"},"
       "\"package\":{\"id\":3,\"sha256\":\"abc\"}}"), /* short digest */
      "{\"id\":1,\"kind\":\"application\",\"name\":\"a\\nb\",\"target\":{\"version\":\"1\"}}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    json_t *j = json_loads(bad[i], 0, NULL);
    assert_non_null(j);
    pj_step_t st;
    assert_false(pj_from_wire(j, &st, err, sizeof err));
    json_decref(j);
  }
}

/* ---- download ---- */

/* A file of n pseudo-random bytes; its SHA-256 into hex. */
static void make_package(const char *path, size_t n, char hex[65]) {
  unsigned char *buf = malloc(n);
  for (size_t i = 0; i < n; i++) buf[i] = (unsigned char)((i * 2654435761u) >> 13);
  FILE *f = fopen(path, "wb");
  fwrite(buf, 1, n, f);
  fclose(f);
  unsigned char d[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(d, buf, n);
  sodium_bin2hex(hex, 65, d, sizeof d);
  free(buf);
}

static void test_download_whole_and_resumed(void **state) {
  (void)state;
  char src[256], url[300], hex[65], got[65], part[300];
  snprintf(src, sizeof src, "%s/source.bin", dir);
  make_package(src, 300000, hex);
  snprintf(url, sizeof url, "file://%s", src);
  bool mismatch = true;
  assert_true(
      pdl_fetch(url, NULL, "file", dir, 5, 300000, hex, 0, NULL, &mismatch, err, sizeof err));
  assert_false(mismatch);
  assert_true(exists("pkg-5"));
  assert_false(exists("pkg-5.part"));
  char done[300];
  pdl_path(dir, 5, false, done, sizeof done);
  assert_true(pdl_hash_file(done, got));
  assert_string_equal(got, hex);

  /* a partial file (the first 100000 bytes) is completed with a Range request */
  pdl_path(dir, 6, true, part, sizeof part);
  FILE *in = fopen(src, "rb"), *out = fopen(part, "wb");
  char buf[100000];
  assert_int_equal(fread(buf, 1, sizeof buf, in), sizeof buf);
  fwrite(buf, 1, sizeof buf, out);
  fclose(in);
  fclose(out);
  /* the resumed transfer must not fetch the first part again: make those
   * bytes differ in the source; a whole re-download would then hash right */
  FILE *f = fopen(src, "r+b");
  fputc(0x55 ^ buf[0], f);
  fclose(f);
  assert_true(
      pdl_fetch(url, NULL, "file", dir, 6, 300000, hex, 0, NULL, &mismatch, err, sizeof err));
  pdl_path(dir, 6, false, done, sizeof done);
  assert_true(pdl_hash_file(done, got));
  assert_string_equal(got, hex);
  pdl_remove(dir, 6);
  assert_false(exists("pkg-6"));

  /* provision-max-rate: 300000 bytes at 600000 bytes/s take at least half a second */
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  f = fopen(src, "r+b");
  fputc(buf[0], f); /* the source as it was */
  fclose(f);
  assert_true(
      pdl_fetch(url, NULL, "file", dir, 8, 300000, hex, 600000, NULL, &mismatch, err, sizeof err));
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  assert_true(took >= 0.45);
}

static void test_download_checksum_mismatch(void **state) {
  (void)state;
  char src[256], url[300], hex[65];
  snprintf(src, sizeof src, "%s/source.bin", dir);
  make_package(src, 50000, hex);
  snprintf(url, sizeof url, "file://%s", src);
  hex[0] = hex[0] == '0' ? '1' : '0'; /* the step announces another digest */
  bool mismatch = false;
  assert_false(
      pdl_fetch(url, NULL, "file", dir, 9, 50000, hex, 0, NULL, &mismatch, err, sizeof err));
  assert_true(mismatch);
  assert_string_equal(err, "checksum mismatch");
  assert_false(exists("pkg-9"));
  assert_false(exists("pkg-9.part"));
  /* a protocol not allowed is refused (a server cannot make us read local files) */
  hex[0] = hex[0] == '0' ? '1' : '0';
  assert_false(
      pdl_fetch(url, NULL, "http,https", dir, 10, 50000, hex, 0, NULL, &mismatch, err, sizeof err));
  assert_false(mismatch);
  assert_false(exists("pkg-10"));
}

/* ---- installer ---- */

static void installer_path(char *out, size_t len) {
  snprintf(out, len, "%s/installer.sh", dir);
}

/* A test installer: its behaviour is chosen by the package file's name. */
static void write_installer(void) {
  char path[256];
  installer_path(path, sizeof path);
  char text[2048];
  snprintf(text, sizeof text,
           "#!/bin/sh\n"
           "echo \"$# [$1] [$2] [$3] [$4] [$5] step=$NIMBUS_STEP_ID uri=$NIMBUS_PRINTER_URI\" "
           ">> '%s/calls'\n"
           "if [ \"$1\" = query ]; then\n"
           "  [ \"$3\" = present ] && { echo version=9.9; exit 0; }\n"
           "  exit 1\n"
           "fi\n"
           "read line && echo 'stdin was not empty' >> '%s/calls'\n"
           "case \"$5\" in\n"
           "  *ok) echo hello; echo 'version=4.2.0-b'; exit 0;;\n"
           "  *plain) exit 0;;\n"
           "  *busy) echo 'device busy' >&2; exit 75;;\n"
           "  *bad) printf 'bad image: header\\nsecond line\\n' >&2; exit 3;;\n"
           "  *slow) sleep 30; exit 0;;\n"
           "esac\n"
           "exit 9\n",
           dir, dir);
  write_file(path, text, 0755);
}

static void run_install(const char *file, pi_outcome_t *out, int timeout) {
  char inst[256];
  installer_path(inst, sizeof inst);
  const char *args[] = {"install", "application", "scan 2 cloud", "2.1.0", file, NULL};
  pi_run(inst, args, false, 77, "ipp://engine:631/ipp/print", timeout, NULL, out);
}

static void test_installer_contract(void **state) {
  (void)state;
  write_installer();
  pi_outcome_t r;
  run_install("/x/pkg-ok", &r, 10);
  assert_int_equal(r.result, PI_OK);
  assert_string_equal(r.version, "4.2.0-b");
  run_install("/x/pkg-plain", &r, 10);
  assert_int_equal(r.result, PI_OK);
  assert_string_equal(r.version, ""); /* the caller takes the target */
  run_install("/x/pkg-busy", &r, 10);
  assert_int_equal(r.result, PI_TRANSIENT);
  assert_int_equal(r.exit_code, 75);
  assert_string_equal(r.reason, "device busy");
  run_install("/x/pkg-bad", &r, 10);
  assert_int_equal(r.result, PI_FAILED);
  assert_int_equal(r.exit_code, 3);
  assert_string_equal(r.reason, "bad image: header");

  time_t t0 = time(NULL);
  run_install("/x/pkg-slow", &r, 1);
  assert_true(time(NULL) - t0 < 10);
  assert_int_equal(r.result, PI_TRANSIENT);
  assert_non_null(strstr(r.reason, "timed out"));

  char inst[256];
  installer_path(inst, sizeof inst);
  const char *q1[] = {"query", "firmware", "present", NULL};
  pi_run(inst, q1, true, 0, "", 10, NULL, &r);
  assert_int_equal(r.result, PI_OK);
  assert_string_equal(r.version, "9.9");
  const char *q2[] = {"query", "firmware", "absent", NULL};
  pi_run(inst, q2, true, 0, "", 10, NULL, &r);
  assert_int_equal(r.result, PI_NOT_INSTALLED);

  /* no shell: the name with spaces arrives as one argument; the environment is set */
  char calls[256], line[512];
  snprintf(calls, sizeof calls, "%s/calls", dir);
  FILE *f = fopen(calls, "r");
  assert_non_null(f);
  assert_non_null(fgets(line, sizeof line, f));
  assert_string_equal(line,
                      "5 [install] [application] [scan 2 cloud] [2.1.0] [/x/pkg-ok] step=77 "
                      "uri=ipp://engine:631/ipp/print\n");
  int n = 1;
  while (fgets(line, sizeof line, f)) {
    assert_null(strstr(line, "stdin was not empty"));
    n++;
  }
  fclose(f);
  assert_int_equal(n, 7);

  /* no installer configured; an installer that cannot run */
  pi_run("", q1, true, 0, "", 10, NULL, &r);
  assert_int_equal(r.result, PI_FAILED);
  assert_string_equal(r.reason, "no installer configured");
  const char *args[] = {"install", "firmware", "engine", "1", "/x/pkg-ok", NULL};
  pi_run("/nonexistent/installer", args, false, 1, "", 10, NULL, &r);
  assert_int_equal(r.result, PI_FAILED);
  assert_int_equal(r.exit_code, 127);
}

/* A restarted connector waits for an installer run still holding the step's lock. */
static void test_installer_lock(void **state) {
  (void)state;
  write_installer();
  char lock[256], slow[256], inst[256];
  snprintf(lock, sizeof lock, "%s/install-5.lock", dir);
  snprintf(slow, sizeof slow, "%s/pkg-slow", dir);
  installer_path(inst, sizeof inst);
  assert_true(pi_wait_previous(lock, 0)); /* no file: nothing ran */
  pid_t pid = fork();
  if (pid == 0) { /* an installer run of the connector that is then "killed" */
    const char *args[] = {"install", "firmware", "engine", "1", "/x/pkg-slow", NULL};
    pi_outcome_t r;
    pi_run(inst, args, false, 5, "", 1, lock, &r);
    _exit(r.result == PI_TRANSIENT ? 0 : 1);
  }
  usleep(300000);
  assert_false(pi_wait_previous(lock, 0)); /* held by the running installer */
  time_t t0 = time(NULL);
  assert_true(pi_wait_previous(lock, 10)); /* free once it ended (killed at its 1 s timeout) */
  assert_true(time(NULL) - t0 <= 5);
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  (void)slow;
}

/* ---- settings ---- */

static void test_settings_connector_options(void **state) {
  (void)state;
  char statefile[256], conf[256];
  snprintf(statefile, sizeof statefile, "%s/state.json", dir);
  ps_conf_path(statefile, conf, sizeof conf);
  connector_options_t o;
  assert_true(options_defaults(&o, err, sizeof err));
  snprintf(o.state, sizeof o.state, "%s", statefile);
  assert_true(options_finish(&o, err, sizeof err));
  json_t *v = json_pack("{si si ss}", "connector.poll-interval", 30, "connector.provision-poll", 7,
                        "connector.log-level", "debug");
  char reason[256] = "";
  assert_true(ps_apply(statefile, "file:///tmp", v, &o, reason, sizeof reason));
  json_decref(v);
  assert_int_equal(o.provision_poll, 7); /* at once */
  assert_int_equal(o.poll_interval, 10); /* at the next start */
  json_t *c = ps_read_conf(statefile);
  assert_string_equal(json_string_value(json_object_get(c, "poll-interval")), "30");
  assert_string_equal(json_string_value(json_object_get(c, "log-level")), "debug");
  json_decref(c);
  connector_options_t next;
  assert_true(options_defaults(&next, err, sizeof err));
  assert_true(ps_load_conf(statefile, &next, err, sizeof err));
  assert_int_equal(next.poll_interval, 30);
  assert_string_equal(next.log_level, "debug");
  json_t *inv = ps_inventory_settings(statefile, &o, "file:///tmp");
  assert_int_equal(json_integer_value(json_object_get(inv, "connector.poll-interval")), 30);
  assert_null(json_object_get(inv, "connector.installer"));
  json_decref(inv);

  /* refused: a forbidden option, a bad value, an engine value without IPP */
  const char *bad[] = {"{\"connector.installer\":\"/bin/sh\"}", "{\"connector.poll-interval\":0}",
                       "{\"connector.transport\":\"carrier-pigeon\"}",
                       "{\"sides-default\":\"two-sided-long-edge\"}"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    json_t *b = json_loads(bad[i], 0, NULL);
    reason[0] = '\0';
    assert_false(ps_apply(statefile, "file:///tmp", b, &o, reason, sizeof reason));
    assert_true(reason[0] != '\0');
    json_decref(b);
  }
  /* nothing of the refused steps reached the file */
  c = ps_read_conf(statefile);
  assert_null(json_object_get(c, "installer"));
  assert_string_equal(json_string_value(json_object_get(c, "poll-interval")), "30");
  json_decref(c);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_journal_round_trip, setup, teardown),
      cmocka_unit_test_setup_teardown(test_journal_rejects_bad_steps, setup, teardown),
      cmocka_unit_test_setup_teardown(test_download_whole_and_resumed, setup, teardown),
      cmocka_unit_test_setup_teardown(test_download_checksum_mismatch, setup, teardown),
      cmocka_unit_test_setup_teardown(test_installer_contract, setup, teardown),
      cmocka_unit_test_setup_teardown(test_installer_lock, setup, teardown),
      cmocka_unit_test_setup_teardown(test_settings_connector_options, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
