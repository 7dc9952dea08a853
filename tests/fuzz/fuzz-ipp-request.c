/*
 * fuzz-ipp-request.c: libFuzzer target for IPP requests, from the first
 * body byte to the encoded response: buffering and decoding of the
 * attribute section (ipp-server.c), admission, the operations
 * (ipp-job*.c, ipp-printer.c), document intake (spool, format detection,
 * page counting), the IPP INFRA device channel (ipp-infra.c: device
 * authentication, subscriptions and notifications, fetching and
 * acknowledging jobs and documents, status updates, deregistration),
 * Register-Output-Device on /ipp/system (ipp-system.c) and the store,
 * run through http_request_run_detached() against the in-process server
 * of fuzz-server.h.  Before every input fuzz_reset_devices() restores the
 * output devices, the claim code, the fixture jobs 1-3 and the
 * subscriptions 1-2 (see fuzz-server.h), so an input that deregisters
 * "d" or finishes a job does not change what the next one sees.
 *
 * Input layout:
 *   byte 0   bits 0-2 and 7: Authorization: fuzz_authorizations[bits 0-2
 *            + 8 * bit 7]; bit 7 clear: users (none, u@t, admin@system,
 *            bogus ones), bit 7 set: the device channel (devices "d" and
 *            "e", the deleted "x", an unknown credential, none);
 *            bits 3-5: path: /ipp/print/t/q (0-1), /ipp/system (2),
 *            /ipp/print/t/anon (3-4, anonymous printing, no devices),
 *            /ipp/print/t/q/1 (5, job path), /ipp/print/t/nope (6, no
 *            such queue), /ipp/print/t (7, bad);
 *            bit 6: follow the body with 65 KiB of newlines, so a document
 *            outgrows the early-document buffer and is admitted in a
 *            deferred step before it is spooled
 *   byte 1   body chunk size: 0..127 → 1..128 bytes, 128..255 → 32..4096
 *   rest     the request body (IPP message, then document data)
 * The request is always a POST with Content-Type application/ipp.
 *
 * Seeds are in tests/fuzz/corpus/ipp-request (made by gen-seeds.py there).
 * Give libFuzzer a scratch directory first so new units stay out of the
 * source tree:
 *   fuzz-ipp-request -max_total_time=60 /tmp/corpus-ipp tests/fuzz/corpus/ipp-request
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-server.h"

#define FUZZ_PADDING (65 * 1024 + 1)

static const char *const fuzz_paths[8] = {
    "/ipp/print/t/q",    "/ipp/print/t/q",   "/ipp/system",       "/ipp/print/t/anon",
    "/ipp/print/t/anon", "/ipp/print/t/q/1", "/ipp/print/t/nope", "/ipp/print/t",
};

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fuzz_server_init();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  uint8_t flags = data[0];
  size_t chunk = data[1] < 128 ? (size_t)data[1] + 1 : (size_t)(data[1] - 127) * 32;
  const uint8_t *body = data + 2;
  size_t len = size - 2;
  uint8_t *padded = NULL;

  if (flags & 0x40) {
    padded = malloc(len + FUZZ_PADDING);
    if (!padded) return 0;
    memcpy(padded, body, len);
    memset(padded + len, '\n', FUZZ_PADDING);
    body = padded;
    len += FUZZ_PADDING;
  }
  fuzz_reset_devices();
  int status = fuzz_request("POST", fuzz_paths[(flags >> 3) & 7], "application/ipp",
                            fuzz_authorization((uint8_t)((flags & 7) | ((flags >> 4) & 8))), body,
                            len, chunk);
  /* Every request is answered with a status ipp-server.c means to send.
   * 500 is not among them: memory is plentiful here, so it would mean a
   * response libcups cannot encode. */
  if (status != 200 && status != 400 && status != 401 && status != 413) abort();
  /* The request is over: no byte of the in-memory document budget may
   * stay reserved (ipp-server.c returns it in cleanup). */
  if (atomic_load(&fuzz_server.srv.inline_bytes) != 0) abort();
  /* A detached request cannot park (http_request_can_park() is false):
   * a Get-Notifications with notify-wait answers at once, and nothing may
   * stay in the notifier's waiting list pointing at the freed request. */
  if (notify_parked_count(fuzz_server.srv.notify) != 0) abort();
  /* Deregistration re-offers the device's jobs in the same transaction:
   * no fixture job is left processing by a device that is gone, and no
   * fetchable one keeps a device. */
  if (!fuzz_device_jobs_consistent()) abort();
  free(padded);
  return 0;
}
