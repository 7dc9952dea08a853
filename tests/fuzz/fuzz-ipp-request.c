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
 * Every IPP answer is read strictly (fuzz_ipp_response_problem: group
 * order of RFC 8011 4.1.3, bounds); a malformed one aborts.
 *
 * Seeds are in tests/fuzz/corpus/ipp-request (made by gen-seeds.py there).
 * Give libFuzzer a scratch directory first so new units stay out of the
 * source tree:
 *   fuzz-ipp-request -max_total_time=60 /tmp/corpus-ipp tests/fuzz/corpus/ipp-request
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cups/ipp.h>

#include "fuzz-server.h"

#define FUZZ_PADDING (65 * 1024 + 1)

static const char *const fuzz_paths[8] = {
    "/ipp/print/t/q",    "/ipp/print/t/q",   "/ipp/system",       "/ipp/print/t/anon",
    "/ipp/print/t/anon", "/ipp/print/t/q/1", "/ipp/print/t/nope", "/ipp/print/t",
};

/*
 * A strict reading of an IPP response's bytes (RFC 8010 3.1, RFC 8011
 * 4.1.3), independent of libcups: one operation group first, led by
 * attributes-charset and attributes-natural-language; at most one
 * unsupported-attributes group, right after it; then any other groups;
 * every attribute within the bytes; an end-of-attributes tag.  Returns
 * NULL when the response is well formed, else what is wrong.
 */
static const char *fuzz_ipp_response_problem(const unsigned char *b, size_t len) {
  if (len < 9) return "shorter than an IPP header";
  if (b[8] != IPP_TAG_OPERATION) return "does not start with the operation group";
  size_t i = 9;
  int group = IPP_TAG_OPERATION, nattrs = 0;
  bool seen_unsupported = false, seen_later = false;
  while (i < len) {
    unsigned char tag = b[i++];
    if (tag == IPP_TAG_END) return NULL;
    if (tag < 0x10) { /* a delimiter: the next group */
      if (tag == IPP_TAG_OPERATION) return "a second operation group";
      if (tag == IPP_TAG_UNSUPPORTED_GROUP) {
        if (seen_unsupported || seen_later) return "unsupported attributes after a later group";
        seen_unsupported = true;
      } else if (tag == IPP_TAG_ZERO || tag > IPP_TAG_SYSTEM) {
        return "a reserved delimiter tag";
      } else {
        seen_later = true;
      }
      group = tag;
      continue;
    }
    if (len - i < 2) return "an attribute runs past the end";
    size_t nlen = (size_t)b[i] << 8 | b[i + 1];
    const unsigned char *name = b + i + 2;
    i += 2;
    if (len - i < nlen + 2) return "an attribute name runs past the end";
    i += nlen;
    size_t vlen = (size_t)b[i] << 8 | b[i + 1];
    i += 2;
    if (len - i < vlen) return "an attribute value runs past the end";
    i += vlen;
    if (group == IPP_TAG_OPERATION && nlen > 0 && nattrs < 2) {
      static const char *const first[2] = {"attributes-charset", "attributes-natural-language"};
      if (nlen != strlen(first[nattrs]) || memcmp(name, first[nattrs], nlen))
        return "attributes-charset and attributes-natural-language do not come first";
    }
    if (group == IPP_TAG_OPERATION && nlen > 0) nattrs++;
  }
  return "no end-of-attributes tag";
}

/* inspect callback: abort on an IPP answer that is not well formed. */
static void fuzz_check_response(const http_request_t *r, void *arg) {
  (void)arg;
  if (r->status != 200 || strcmp(r->resp_type, "application/ipp") != 0) return;
  const char *problem = fuzz_ipp_response_problem((const unsigned char *)r->resp_body, r->resp_len);
  if (problem) {
    fprintf(stderr, "fuzz-ipp-request: malformed IPP response: %s\n", problem);
    abort();
  }
}

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
  int status = fuzz_request_inspect("POST", fuzz_paths[(flags >> 3) & 7], "application/ipp",
                                    fuzz_authorization((uint8_t)((flags & 7) | ((flags >> 4) & 8))),
                                    body, len, chunk, fuzz_check_response, NULL);
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
