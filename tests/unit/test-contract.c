/*
 * test-contract.c: the provisioning domain without a server
 * (docs/PROVISIONING.md §1, §3, §4): the contract model's validation and
 * canonical JSON (key order and hex case do not change it), the revision
 * rule, the derived status, RFC 3339 times; the webhook's signature
 * (a changed byte, timestamp or secret fails), window and senders file
 * (mode, short secrets, comments); a package upload's SHA-256 and size
 * limit through a real blob store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "contract-webhook.h"
#include "contract.h"
#include "log.h"
#include "package.h"

static json_t *load(const char *text) {
  json_error_t e;
  json_t *j = json_loads(text, 0, &e);
  assert_non_null(j);
  return j;
}

static bool parse(const char *text, contract_input_t *in, contract_error_t *err) {
  json_t *j = load(text);
  bool ok = contract_parse(j, "", true, in, err);
  json_decref(j);
  return ok;
}

#define BASE "\"name\":\"acme-2027\",\"tenant\":\"acme\",\"start_at\":\"2027-01-01T00:00:00Z\","
#define FW "{\"kind\":\"firmware\",\"name\":\"engine\",\"version\":\"4.2.0\",\"package\":12,"

static void test_parse_and_canonical(void **state) {
  (void)state;
  contract_input_t *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
  contract_error_t err;
  char sha[65];
  memset(sha, 'A', 64);
  sha[64] = 0;
  char text[2048];
  snprintf(text, sizeof text,
           "{" BASE
           "\"end_at\":\"2027-12-31T23:59:59Z\",\"printers\":[\"lobby\"],"
           "\"service_settings\":{\"backup\":{\"time\":\"02:30\",\"period\":\"daily\"}},"
           "\"items\":[" FW "\"sha256\":\"%s\"},{\"kind\":\"backup\"}]}",
           sha);
  assert_true(parse(text, a, &err));
  assert_string_equal(a->rec.name, "acme-2027");
  assert_string_equal(a->tenant, "acme");
  assert_int_equal(a->rec.start_at, 1798761600);
  assert_int_equal(a->nrefs, 1);
  assert_int_equal(a->refs[0].package, 12);
  assert_int_equal(a->nprinters, 1);
  assert_non_null(strstr(a->rec.items_json, "aaaaaaaa")); /* lowercased */
  assert_string_equal(a->rec.settings_json,
                      "{\"backup\":{\"period\":\"daily\",\"time\":\"02:30\"}}");
  /* the same contract with members in another order and lowercase hex */
  for (int i = 0; i < 64; i++) sha[i] = 'a';
  snprintf(text, sizeof text,
           "{\"items\":[{\"sha256\":\"%s\",\"package\":12,\"version\":\"4.2.0\",\"name\":"
           "\"engine\",\"kind\":\"firmware\"},{\"kind\":\"backup\"}],"
           "\"service_settings\":{\"backup\":{\"period\":\"daily\",\"time\":\"02:30\"}},"
           "\"printers\":[\"lobby\"]," BASE "\"end_at\":\"2027-12-31T23:59:59Z\"}",
           sha);
  assert_true(parse(text, b, &err));
  a->rec.revision = 3;
  assert_int_equal(contract_revision_next(&a->rec, &b->rec), 3); /* equal: kept */
  b->rec.end_at++;
  assert_int_equal(contract_revision_next(&a->rec, &b->rec), 4); /* the term changed */
  b->rec.end_at--;
  snprintf(b->rec.items_json, sizeof b->rec.items_json, "[]");
  assert_int_equal(contract_revision_next(&a->rec, &b->rec), 4); /* the items changed */
  free(a);
  free(b);
}

static void expect_member(const char *text, const char *member) {
  contract_input_t *in = calloc(1, sizeof *in);
  contract_error_t err;
  assert_false(parse(text, in, &err));
  assert_int_equal(err.status, 400);
  assert_string_equal(err.member, member);
  free(in);
}

static void test_parse_refusals(void **state) {
  (void)state;
  expect_member("{\"name\":\"Acme\",\"tenant\":\"acme\"}", "name");
  expect_member("{" BASE "\"end_at\":\"2026-01-01T00:00:00Z\"}", "end_at");
  expect_member("{" BASE "\"end_at\":\"2027-02-30T00:00:00Z\"}", "end_at");
  expect_member("{" BASE "\"end_at\":\"2027-12-31T23:59:59+01:00\"}", "end_at");
  expect_member("{" BASE "\"end_at\":\"2028-01-01T00:00:00Z\",\"colour\":1}", "colour");
  expect_member("{" BASE "\"end_at\":\"2028-01-01T00:00:00Z\",\"printers\":\"some\"}", "printers");
  expect_member("{" BASE "\"end_at\":\"2028-01-01T00:00:00Z\",\"printers\":[\"a\",\"a\"]}",
                "printers[1]");
  expect_member("{" BASE
                "\"end_at\":\"2028-01-01T00:00:00Z\",\"items\":[{\"kind\":\"backup\"},"
                "{\"kind\":\"backup\"}]}",
                "items[1]");
  expect_member("{" BASE "\"end_at\":\"2028-01-01T00:00:00Z\",\"items\":[" FW
                "\"sha256\":\"xy\"}]}",
                "items[0].sha256");
  expect_member("{" BASE
                "\"end_at\":\"2028-01-01T00:00:00Z\",\"items\":[{\"kind\":\"settings\",\"name\":"
                "\"s\",\"values\":{\"printer-sleep-timer\":\"15\"}}]}",
                "items[0].values.printer-sleep-timer");
  expect_member("{" BASE
                "\"end_at\":\"2028-01-01T00:00:00Z\",\"service_settings\":{\"backups\":{}}}",
                "service_settings.backups");
  /* 17 applications */
  char text[8192];
  size_t n = (size_t)snprintf(text, sizeof text,
                              "{" BASE "\"end_at\":\"2028-01-01T00:00:00Z\",\"items\":[");
  for (int i = 0; i < 17; i++)
    n += (size_t)snprintf(text + n, sizeof text - n,
                          "%s{\"kind\":\"application\",\"name\":\"app%d\",\"version\":\"1\","
                          "\"package\":%d,\"sha256\":\"%064d\"}",
                          i ? "," : "", i, i + 1, 0);
  snprintf(text + n, sizeof text - n, "]}");
  expect_member(text, "items[16]");
}

static void test_status_and_times(void **state) {
  (void)state;
  nimbus_contract_t c = {.start_at = 100, .end_at = 200};
  assert_string_equal(contract_status(&c, 99), "scheduled");
  assert_string_equal(contract_status(&c, 100), "active");
  assert_string_equal(contract_status(&c, 200), "ended");
  c.canceled = true;
  assert_string_equal(contract_status(&c, 150), "canceled");
  char out[32];
  contract_time_format(1798761600, out);
  assert_string_equal(out, "2027-01-01T00:00:00Z");
  int64_t t = 0;
  assert_true(contract_time_parse("2024-02-29T12:00:00Z", &t));
  assert_false(contract_time_parse("2023-02-29T12:00:00Z", &t));
  assert_false(contract_time_parse("2024-02-29 12:00:00Z", &t));
}

static void test_signature(void **state) {
  (void)state;
  const char *secret = "0123456789abcdefghijklmnopqrstuvwxyz";
  const char *body = "{\"event_id\":\"evt-1\"}";
  char sig[80];
  contract_webhook_sign(secret, "1798761600", body, strlen(body), sig, sizeof sig);
  assert_int_equal(strlen(sig), 71);
  assert_true(contract_webhook_signature_ok(secret, "1798761600", body, strlen(body), sig));
  assert_false(contract_webhook_signature_ok(secret, "1798761601", body, strlen(body), sig));
  assert_false(contract_webhook_signature_ok(secret, "1798761600", body, strlen(body) - 1, sig));
  assert_false(contract_webhook_signature_ok("another-secret-0123456789abcdefghij", "1798761600",
                                             body, strlen(body), sig));
  sig[20] = sig[20] == 'a' ? 'b' : 'a';
  assert_false(contract_webhook_signature_ok(secret, "1798761600", body, strlen(body), sig));
  assert_false(contract_webhook_signature_ok(secret, "1798761600", body, strlen(body), "sha1=ab"));
  assert_true(contract_webhook_timestamp_ok("1000", 1300, 300));
  assert_true(contract_webhook_timestamp_ok("1600", 1300, 300));
  assert_false(contract_webhook_timestamp_ok("999", 1300, 300));
  assert_false(contract_webhook_timestamp_ok("-5", 1300, 300));
  assert_false(contract_webhook_timestamp_ok("", 1300, 300));
}

static void test_senders_file(void **state) {
  (void)state;
  char dir[] = "/tmp/test-contract-XXXXXX", path[128], err[512];
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/senders", dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fprintf(f,
          "# senders\ncrm:system:0123456789abcdefghijklmnopqrstuv\n\n"
          "erp:dealerco:zyxwvutsrqponmlkjihgfedcba9876543210\n");
  fclose(f);
  chmod(path, 0644);
  contract_sender_t s;
  assert_int_equal(contract_webhook_sender_find(path, "crm", &s, err, sizeof err), -1);
  assert_non_null(strstr(err, "group or others"));
  chmod(path, 0600);
  assert_true(contract_webhook_file_check(path, err, sizeof err));
  assert_int_equal(contract_webhook_sender_find(path, "erp", &s, err, sizeof err), 1);
  assert_string_equal(s.owner, "dealerco");
  assert_string_equal(s.secret, "zyxwvutsrqponmlkjihgfedcba9876543210");
  contract_sender_wipe(&s);
  assert_int_equal(contract_webhook_sender_find(path, "nobody", &s, err, sizeof err), 0);
  f = fopen(path, "a");
  fprintf(f, "short:system:tooshort\n");
  fclose(f);
  assert_false(contract_webhook_file_check(path, err, sizeof err));
  assert_non_null(strstr(err, "line 5"));
  assert_null(strstr(err, "tooshort")); /* never the secret */
  assert_int_equal(contract_webhook_file_check("", err, sizeof err), true);
  unlink(path);
  rmdir(dir);
}

static void test_package_upload(void **state) {
  (void)state;
  char dir[] = "/tmp/test-package-XXXXXX", err[256];
  assert_non_null(mkdtemp(dir));
  blob_store_t *bs = blob_store_open(dir, "n1", err, sizeof err);
  assert_non_null(bs);
  unsigned char data[10000];
  for (size_t i = 0; i < sizeof data; i++) data[i] = (unsigned char)(i * 31);
  package_upload_t *u = package_upload_begin(bs, 10000);
  assert_non_null(u);
  assert_true(package_upload_write(u, data, 4000));
  assert_true(package_upload_write(u, data + 4000, 6000));
  nimbus_package_t p = {0};
  assert_true(package_upload_finish(u, &p));
  unsigned char digest[32];
  char hex[65];
  crypto_hash_sha256(digest, data, sizeof data);
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  assert_string_equal(p.sha256, hex);
  assert_int_equal(p.size, 10000);
  assert_true(p.blob_key[0] != 0);
  u = package_upload_begin(bs, 10000);
  assert_true(package_upload_write(u, data, 9000));
  assert_false(package_upload_write(u, data, 1001)); /* past the limit */
  assert_true(package_upload_too_large(u));
  assert_false(package_upload_write(u, data, 1));
  package_upload_abort(u);
  assert_true(package_kind_valid("firmware"));
  assert_false(package_kind_valid("driver"));
  assert_false(package_text_valid(""));
  assert_false(package_text_valid("a\tb"));
  blob_delete(bs, p.blob_key);
  blob_store_close(bs);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
}

int main(void) {
  log_set_level(LOG_ERROR);
  assert_true(sodium_init() >= 0);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_and_canonical), cmocka_unit_test(test_parse_refusals),
      cmocka_unit_test(test_status_and_times),    cmocka_unit_test(test_signature),
      cmocka_unit_test(test_senders_file),        cmocka_unit_test(test_package_upload),
  };
  return cmocka_run_group_tests_name("provisioning: contract, webhook, package", tests, NULL, NULL);
}
