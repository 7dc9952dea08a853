/*
 * ipp-system.c: the System Service object at /ipp/system (PWG 5100.22).
 * Only Register-Output-Device: a printer claims the registration an admin
 * created, with its one-time claim code, and receives its
 * output-device-uuid and the queue URIs it serves (docs/PROTOCOL.md 6.1).
 * The claim code is the only authorisation.  It comes either as the
 * extension attribute nimbus-claim-code (answered with a new device
 * credential, nimbus-device-credential) or, for proxies that know only
 * standard IPP, as the HTTP password of the request: the claim code then
 * stays the device's credential, and a later Register-Output-Device with
 * it answers the same registration again (proxies register at each start).
 */
#include <string.h>

#include "ipp-private.h"
#include <sodium.h>

#include "log.h"

/* The claim code of the nimbus-claim-code attribute, or NULL. */
static const char *ipp_system_claim_attr(ipp_ctx_t *ctx) {
  ipp_attribute_t *code = ippFindAttribute(ctx->request, "nimbus-claim-code", IPP_TAG_ZERO);
  const char *claim =
      code && (ippGetValueTag(code) == IPP_TAG_TEXT || ippGetValueTag(code) == IPP_TAG_NAME ||
               ippGetValueTag(code) == IPP_TAG_KEYWORD)
          ? ippGetString(code, 0, NULL)
          : NULL;
  return claim && *claim ? claim : NULL;
}

bool ipp_system_has_claim(ipp_ctx_t *ctx) {
  return ipp_system_claim_attr(ctx) || ctx->r->authorization[0] != '\0';
}

/* The successful answer: operation attributes as before (output-device-uuid,
 * printer-uri-supported, the credential when one was issued), then the
 * printer group PWG 5100.22 specifies, whose printer-xri-supported names the
 * Infrastructure Printers the device serves. */
static void ipp_system_answer(ipp_ctx_t *ctx, const nimbus_device_t *d, const char *credential) {
  nimbus_tenant_t t;
  if (store_tenant_get(ctx->srv->store, d->tenant_id, &t) != STORE_OK) {
    ipp_respond(ctx, IPP_STATUS_ERROR_INTERNAL, "The device registry is not available.");
    return;
  }
  ipp_respond(ctx, IPP_STATUS_OK, NULL);
  ippAddString(ctx->response, IPP_TAG_OPERATION, IPP_TAG_URI, "output-device-uuid", NULL, d->uuid);
  char uris[NIMBUS_DEVICE_QUEUES_MAX][1024];
  const char *uriv[NIMBUS_DEVICE_QUEUES_MAX];
  for (int i = 0; i < d->nqueues; i++) {
    snprintf(uris[i], sizeof uris[i], "%s://%s/ipp/print/%s/%s", ctx->r->tls ? "ipps" : "ipp",
             ctx->r->host, t.name, d->queue_names[i]);
    uriv[i] = uris[i];
  }
  if (d->nqueues > 0)
    ippAddStrings(ctx->response, IPP_TAG_OPERATION, IPP_TAG_URI, "printer-uri-supported",
                  d->nqueues, NULL, uriv);
  if (credential && *credential)
    ippAddString(ctx->response, IPP_TAG_OPERATION, IPP_TAG_TEXT, "nimbus-device-credential", NULL,
                 credential);
  if (d->nqueues == 0) return;
  ipp_attribute_t *xri = NULL;
  for (int i = 0; i < d->nqueues; i++) {
    ipp_t *col = ippNew();
    ippAddString(col, IPP_TAG_ZERO, IPP_TAG_URI, "xri-uri", NULL, uriv[i]);
    ippAddString(col, IPP_TAG_ZERO, IPP_TAG_KEYWORD, "xri-authentication", NULL, "basic");
    ippAddString(col, IPP_TAG_ZERO, IPP_TAG_KEYWORD, "xri-security", NULL,
                 ctx->r->tls ? "tls" : "none");
    if (!xri)
      xri = ippAddCollection(ctx->response, IPP_TAG_PRINTER, "printer-xri-supported", col);
    else
      ippSetCollection(ctx->response, &xri, ippGetCount(xri), col);
    ippDelete(col);
  }
}

void ipp_op_register_output_device(ipp_ctx_t *ctx) {
  const char *claim = ipp_system_claim_attr(ctx);
  char secret[128] = "";
  bool keep_code = false;
  if (!claim) {
    /* The standard way: the claim code is the HTTP password (or bearer
     * secret).  A device that registered so before presents the same
     * credentials again: answer its registration. */
    nimbus_device_t known;
    switch (device_auth(ctx->srv, ctx->r->authorization, &known, NULL)) {
      case DEVICE_AUTH_OK:
        ipp_system_answer(ctx, &known, NULL);
        return;
      case DEVICE_AUTH_DELETED:
        ipp_respond(ctx, IPP_STATUS_ERROR_GONE, DEVICE_DELETED_MESSAGE);
        return;
      case DEVICE_AUTH_SUSPENDED: /* registered, and kept: nothing to do now */
        ipp_respond(ctx, IPP_STATUS_ERROR_FORBIDDEN, "The tenant is suspended.");
        return;
      case DEVICE_AUTH_ERROR:
        ipp_respond(ctx, IPP_STATUS_ERROR_INTERNAL, "The device registry is not available.");
        return;
      default:
        break;
    }
    if (!device_credential_of(ctx->r->authorization, secret, sizeof secret)) {
      ipp_respond(ctx, IPP_STATUS_ERROR_BAD_REQUEST,
                  "Missing claim code (nimbus-claim-code, or the HTTP password).");
      return;
    }
    claim = secret;
    keep_code = true;
  }
  ipp_attribute_t *ua = ippFindAttribute(ctx->request, "output-device-uuid", IPP_TAG_ZERO);
  const char *uuid = NULL;
  if (ua) {
    uuid = ippGetValueTag(ua) == IPP_TAG_URI ? ippGetString(ua, 0, NULL) : NULL;
    if (!uuid || !device_uuid_valid(uuid)) {
      ipp_respond(ctx, IPP_STATUS_ERROR_BAD_REQUEST,
                  "output-device-uuid must be urn:uuid: followed by 36 characters.");
      goto done;
    }
  }
  nimbus_device_t d;
  char credential[DEVICE_CREDENTIAL_MAX] = "";
  device_claim_result_t res =
      keep_code ? device_claim_keep_code(ctx->srv, claim, uuid, ctx->r->peer, &d)
                : device_claim(ctx->srv, claim, uuid, ctx->r->peer, &d, credential);
  switch (res) {
    case DEVICE_CLAIM_OK:
      ipp_system_answer(ctx, &d, credential);
      break;
    case DEVICE_CLAIM_THROTTLED:
      ipp_respond(ctx, IPP_STATUS_ERROR_BUSY,
                  "Too many failed claims from this address; try again later.");
      break;
    case DEVICE_CLAIM_BAD_CODE:
      log_event(LOG_WARN, ctx->r->id, "registration with a wrong or expired claim code", "peer",
                ctx->r->peer, (char *)NULL);
      ipp_respond(ctx, IPP_STATUS_ERROR_NOT_AUTHORIZED,
                  "The claim code is wrong, used or expired.");
      break;
    case DEVICE_CLAIM_BAD_UUID:
      ipp_respond(ctx, IPP_STATUS_ERROR_BAD_REQUEST, "output-device-uuid is malformed.");
      break;
    case DEVICE_CLAIM_UUID_TAKEN:
      ipp_respond(ctx, IPP_STATUS_ERROR_NOT_POSSIBLE,
                  "This output-device-uuid is registered to another device.");
      break;
    case DEVICE_CLAIM_ERROR:
      ipp_respond(ctx, IPP_STATUS_ERROR_INTERNAL, "The device registry is not available.");
      break;
  }
  sodium_memzero(credential, sizeof credential);
done:
  sodium_memzero(secret, sizeof secret);
}
