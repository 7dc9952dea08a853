/*
 * fuzz-api-json.c: libFuzzer target for the REST API's JSON requests:
 * routing and role policy (api.c), body collection and limits, JSON
 * parsing and field validation (api-json.c) and the endpoints that take a
 * body (api-tenants.c, api-users.c, api-queues.c, api-tokens.c,
 * api-jobs.c), run through http_request_run_detached() against the
 * in-process server of fuzz-server.h.
 *
 * Input layout:
 *   byte 0   bits 0-2: Authorization (fuzz_authorizations[0..7]);
 *            bits 3-7: body chunk size: 0 → the whole body at once,
 *            n → 1 << (n % 12) bytes
 *   byte 1   endpoint: fuzz_endpoints[byte % count]
 *   rest     the request body, sent as application/json
 * Endpoints that act on a job get a fresh held job of "u" (with PIN
 * "1234" for one of them), so a release can succeed on every input.
 *
 * Seeds are in tests/fuzz/corpus/api-json (the first two bytes of each
 * seed are the header above).  Give libFuzzer a scratch directory first so
 * new units stay out of the source tree:
 *   fuzz-api-json -max_total_time=60 /tmp/corpus-api tests/fuzz/corpus/api-json
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz-server.h"

typedef enum { FUZZ_JOB_NONE, FUZZ_JOB_HELD, FUZZ_JOB_HELD_PIN } fuzz_job_t;

static const struct {
  const char *method;
  const char *path; /* NULL: /api/v1/jobs/<a fresh job>/release */
  fuzz_job_t job;
} fuzz_endpoints[] = {
    {"POST", "/api/v1/tenants", FUZZ_JOB_NONE},
    {"PATCH", "/api/v1/tenants/t", FUZZ_JOB_NONE},
    {"POST", "/api/v1/users", FUZZ_JOB_NONE},
    {"PATCH", "/api/v1/users/v", FUZZ_JOB_NONE},
    {"POST", "/api/v1/queues", FUZZ_JOB_NONE},
    {"PATCH", "/api/v1/queues/q", FUZZ_JOB_NONE},
    {"POST", "/api/v1/tokens", FUZZ_JOB_NONE},
    {"POST", NULL, FUZZ_JOB_HELD},
    {"POST", NULL, FUZZ_JOB_HELD_PIN},
    {"POST", "/api/v1/jobs/1/release", FUZZ_JOB_NONE},
    {"POST", "/api/v1/users?tenant=t", FUZZ_JOB_NONE},
    {"POST", "/api/v1/jobs", FUZZ_JOB_NONE}, /* multipart only: 415 when detached */
};

#define FUZZ_NENDPOINTS (sizeof fuzz_endpoints / sizeof fuzz_endpoints[0])

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fuzz_server_init();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  unsigned c = data[0] >> 3;
  size_t chunk = c == 0 ? 0 : (size_t)1 << (c % 12);
  const char *path = fuzz_endpoints[data[1] % FUZZ_NENDPOINTS].path;
  const char *method = fuzz_endpoints[data[1] % FUZZ_NENDPOINTS].method;
  fuzz_job_t job = fuzz_endpoints[data[1] % FUZZ_NENDPOINTS].job;
  char job_path[64];

  /* Inputs may rename the queue; the next ones still find one named "q". */
  fuzz_ensure_queue("q", false, &fuzz_server.queue);
  if (job != FUZZ_JOB_NONE) {
    nimbus_id_t id = fuzz_add_held_job(job == FUZZ_JOB_HELD_PIN);
    if (id == 0) abort();
    snprintf(job_path, sizeof job_path, "/api/v1/jobs/%lld/release", (long long)id);
    path = job_path;
  }
  int status = fuzz_request(method, path, "application/json", fuzz_authorization(data[0] & 7),
                            data + 2, size - 2, chunk);
  /* Every request is answered with a 2xx or a deliberate 4xx problem;
   * a 500 (storage error, unencodable response) is a finding. */
  if (status < 200 || status >= 500) abort();
  return 0;
}
