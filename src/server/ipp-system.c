/*
 * ipp-system.c: the System Service object at /ipp/system (PWG 5100.22).
 * Only Register-Output-Device: a printer claims the registration an admin
 * created, with its one-time claim code, and receives its
 * output-device-uuid, the queue URIs it serves and its device credential
 * (docs/PROTOCOL.md 6.1).  The claim code is the only authorisation.
 */
#include <string.h>

#include "ipp-private.h"
#include <sodium.h>

#include "log.h"

void ipp_op_register_output_device(ipp_ctx_t *ctx) {
  ipp_attribute_t *code = ippFindAttribute(ctx->request, "nimbus-claim-code", IPP_TAG_ZERO);
  const char *claim =
      code && (ippGetValueTag(code) == IPP_TAG_TEXT || ippGetValueTag(code) == IPP_TAG_NAME ||
               ippGetValueTag(code) == IPP_TAG_KEYWORD)
          ? ippGetString(code, 0, NULL)
          : NULL;
  if (!claim || !*claim) {
    ipp_respond(ctx, IPP_STATUS_ERROR_BAD_REQUEST, "Missing nimbus-claim-code.");
    return;
  }
  ipp_attribute_t *ua = ippFindAttribute(ctx->request, "output-device-uuid", IPP_TAG_ZERO);
  const char *uuid = NULL;
  if (ua) {
    uuid = ippGetValueTag(ua) == IPP_TAG_URI ? ippGetString(ua, 0, NULL) : NULL;
    if (!uuid || !device_uuid_valid(uuid)) {
      ipp_respond(ctx, IPP_STATUS_ERROR_BAD_REQUEST,
                  "output-device-uuid must be urn:uuid: followed by 36 characters.");
      return;
    }
  }
  nimbus_device_t d;
  char credential[DEVICE_CREDENTIAL_MAX];
  switch (device_claim(ctx->srv, claim, uuid, ctx->r->peer, &d, credential)) {
    case DEVICE_CLAIM_OK:
      break;
    case DEVICE_CLAIM_THROTTLED:
      ipp_respond(ctx, IPP_STATUS_ERROR_BUSY,
                  "Too many failed claims from this address; try again later.");
      return;
    case DEVICE_CLAIM_BAD_CODE:
      log_event(LOG_WARN, ctx->r->id, "registration with a wrong or expired claim code", "peer",
                ctx->r->peer, (char *)NULL);
      ipp_respond(ctx, IPP_STATUS_ERROR_NOT_AUTHORIZED,
                  "The claim code is wrong, used or expired.");
      return;
    case DEVICE_CLAIM_BAD_UUID:
      ipp_respond(ctx, IPP_STATUS_ERROR_BAD_REQUEST, "output-device-uuid is malformed.");
      return;
    case DEVICE_CLAIM_UUID_TAKEN:
      ipp_respond(ctx, IPP_STATUS_ERROR_NOT_POSSIBLE,
                  "This output-device-uuid is registered to another device.");
      return;
    case DEVICE_CLAIM_ERROR:
      ipp_respond(ctx, IPP_STATUS_ERROR_INTERNAL, "The device registry is not available.");
      return;
  }
  nimbus_tenant_t t;
  if (store_tenant_get(ctx->srv->store, d.tenant_id, &t) != STORE_OK) {
    ipp_respond(ctx, IPP_STATUS_ERROR_INTERNAL, "The device registry is not available.");
    return;
  }
  ipp_respond(ctx, IPP_STATUS_OK, NULL);
  ippAddString(ctx->response, IPP_TAG_OPERATION, IPP_TAG_URI, "output-device-uuid", NULL, d.uuid);
  char uris[NIMBUS_DEVICE_QUEUES_MAX][1024];
  const char *uriv[NIMBUS_DEVICE_QUEUES_MAX];
  for (int i = 0; i < d.nqueues; i++) {
    snprintf(uris[i], sizeof uris[i], "%s://%s/ipp/print/%s/%s", ctx->r->tls ? "ipps" : "ipp",
             ctx->r->host, t.name, d.queue_names[i]);
    uriv[i] = uris[i];
  }
  if (d.nqueues > 0)
    ippAddStrings(ctx->response, IPP_TAG_OPERATION, IPP_TAG_URI, "printer-uri-supported", d.nqueues,
                  NULL, uriv);
  ippAddString(ctx->response, IPP_TAG_OPERATION, IPP_TAG_TEXT, "nimbus-device-credential", NULL,
               credential);
  sodium_memzero(credential, sizeof credential);
}
