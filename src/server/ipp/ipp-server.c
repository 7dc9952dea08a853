/*
 * ipp-server.c: IPP over HTTP on /ipp/print/<tenant>/<queue>.
 *
 * Body handling (event thread, never blocking):
 *   - bytes are buffered (at most max-ipp-header) until libcups' ippReadIO
 *     decodes a complete attribute section; garbage is recognised as soon
 *     as the decoder fails before the end of what has arrived;
 *   - for operations that carry a document, admission (tenant, queue,
 *     credentials, attribute checks, limits) runs on a worker before any
 *     document byte is spooled; a refused request's document is discarded.
 *     Up to NIMBUS_INLINE_DOCUMENT_MAX bytes wait in memory meanwhile; a
 *     Print-Job whose whole document fits is admitted, checked and stored
 *     inline in the job's own transaction in one worker step (no file);
 *   - document bytes then stream into intake_write() (spool file).
 * finish() (worker) dispatches the operation and encodes the response.
 * The mapping from failures to IPP status codes lives in the operations;
 * HTTP-level failures (undecodable body, 401) are answered here only.
 */
#include "ipp-private.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "ipp-requested.h"
#include "ippmem.h"
#include "log.h"
#include "user-names.h"
#include "utf8.h"

static const ipp_op_entry_t ipp_ops[] = {
    {IPP_OP_PRINT_JOB, "ipp.print-job", ipp_op_print_job, false, true, false},
    {IPP_OP_VALIDATE_JOB, "ipp.validate-job", ipp_op_validate_job, false, false, false},
    {IPP_OP_CREATE_JOB, "ipp.create-job", ipp_op_create_job, false, false, false},
    {IPP_OP_SEND_DOCUMENT, "ipp.send-document", ipp_op_send_document, false, true, false},
    {IPP_OP_CLOSE_JOB, "ipp.close-job", ipp_op_close_job, false, false, false},
    {IPP_OP_GET_JOBS, "ipp.get-jobs", ipp_op_get_jobs, false, false, false},
    {IPP_OP_GET_JOB_ATTRIBUTES, "ipp.get-job-attributes", ipp_op_get_job_attributes, false, false,
     false},
    {IPP_OP_CANCEL_JOB, "ipp.cancel-job", ipp_op_cancel_job, false, false, false},
    {IPP_OP_CANCEL_MY_JOBS, "ipp.cancel-my-jobs", ipp_op_cancel_my_jobs, false, false, false},
    {IPP_OP_HOLD_JOB, "ipp.hold-job", ipp_op_hold_job, false, false, false},
    {IPP_OP_RELEASE_JOB, "ipp.release-job", ipp_op_release_job, false, false, false},
    {IPP_OP_GET_PRINTER_ATTRIBUTES, "ipp.get-printer-attributes", ipp_op_get_printer_attributes,
     true, false, false},
    /* the rest of PWG 5100.18 4.6 (ipp-infra-client.c) */
    {IPP_OP_GET_PRINTER_SUPPORTED_VALUES, "ipp.get-printer-supported-values",
     ipp_op_get_printer_supported_values, true, false, false},
    {IPP_OP_VALIDATE_DOCUMENT, "ipp.validate-document", ipp_op_validate_document, false, false,
     false},
    {IPP_OP_GET_DOCUMENTS, "ipp.get-documents", ipp_op_get_documents, false, false, false},
    {IPP_OP_GET_DOCUMENT_ATTRIBUTES, "ipp.get-document-attributes", ipp_op_get_document_attributes,
     false, false, false},
    {IPP_OP_CREATE_JOB_SUBSCRIPTIONS, "ipp.create-job-subscriptions",
     ipp_op_create_job_subscriptions, false, false, true},
    {IPP_OP_GET_SUBSCRIPTION_ATTRIBUTES, "ipp.get-subscription-attributes",
     ipp_op_get_subscription_attributes, false, false, true},
    {IPP_OP_GET_SUBSCRIPTIONS, "ipp.get-subscriptions", ipp_op_get_subscriptions, false, false,
     true},
    {IPP_OP_RENEW_SUBSCRIPTION, "ipp.renew-subscription", ipp_op_renew_subscription, false, false,
     true},
    /* PWG 5100.18 INFRA: the output devices' side of the queue */
    {IPP_OP_UPDATE_OUTPUT_DEVICE_ATTRIBUTES, "ipp.update-output-device-attributes",
     ipp_op_update_output_device_attributes, false, false, true},
    {IPP_OP_GET_OUTPUT_DEVICE_ATTRIBUTES, "ipp.get-output-device-attributes",
     ipp_op_get_output_device_attributes, false, false, true},
    {IPP_OP_CREATE_PRINTER_SUBSCRIPTIONS, "ipp.create-printer-subscriptions",
     ipp_op_create_printer_subscriptions, false, false, true},
    {IPP_OP_GET_NOTIFICATIONS, "ipp.get-notifications", ipp_op_get_notifications, false, false,
     true},
    {IPP_OP_CANCEL_SUBSCRIPTION, "ipp.cancel-subscription", ipp_op_cancel_subscription, false,
     false, true},
    {IPP_OP_FETCH_JOB, "ipp.fetch-job", ipp_op_fetch_job, false, false, true},
    {IPP_OP_ACKNOWLEDGE_JOB, "ipp.acknowledge-job", ipp_op_acknowledge_job, false, false, true},
    {IPP_OP_FETCH_DOCUMENT, "ipp.fetch-document", ipp_op_fetch_document, false, false, true},
    {IPP_OP_ACKNOWLEDGE_DOCUMENT, "ipp.acknowledge-document", ipp_op_acknowledge_document, false,
     false, true},
    {IPP_OP_UPDATE_JOB_STATUS, "ipp.update-job-status", ipp_op_update_job_status, false, false,
     true},
    {IPP_OP_UPDATE_DOCUMENT_STATUS, "ipp.update-document-status", ipp_op_update_document_status,
     false, false, true},
    {IPP_OP_UPDATE_ACTIVE_JOBS, "ipp.update-active-jobs", ipp_op_update_active_jobs, false, false,
     true},
    {IPP_OP_DEREGISTER_OUTPUT_DEVICE, "ipp.deregister-output-device",
     ipp_op_deregister_output_device, false, false, true},
};

/* Get-Jobs with which-jobs=fetchable is the devices' Get-Jobs. */
static const ipp_op_entry_t ipp_op_get_fetchable = {
    IPP_OP_GET_JOBS, "ipp.get-jobs-fetchable", ipp_op_get_fetchable_jobs, false, false, true};

/* /ipp/system (PWG 5100.22): only registration, which the claim code
 * authorises. */
static const ipp_op_entry_t ipp_system_ops[] = {
    {IPP_OP_REGISTER_OUTPUT_DEVICE, "ipp.register-output-device", ipp_op_register_output_device,
     true, false, false},
};

static const ipp_op_entry_t *ipp_op_find(const ipp_ctx_t *ctx) {
  if (ctx->system) {
    for (size_t i = 0; i < sizeof ipp_system_ops / sizeof ipp_system_ops[0]; i++)
      if (ipp_system_ops[i].op == ctx->op) return &ipp_system_ops[i];
    return NULL;
  }
  if (ctx->op == IPP_OP_GET_JOBS && ctx->request) {
    ipp_attribute_t *a = ippFindAttribute(ctx->request, "which-jobs", IPP_TAG_KEYWORD);
    const char *v = a ? ippGetString(a, 0, NULL) : NULL;
    if (v && strcmp(v, "fetchable") == 0) return &ipp_op_get_fetchable;
  }
  for (size_t i = 0; i < sizeof ipp_ops / sizeof ipp_ops[0]; i++)
    if (ipp_ops[i].op == ctx->op) return &ipp_ops[i];
  return NULL;
}

int ipp_operations_supported(int *out, int max) {
  int n = 0;
  for (size_t i = 0; i < sizeof ipp_ops / sizeof ipp_ops[0] && n < max; i++)
    out[n++] = (int)ipp_ops[i].op;
  return n;
}

/* ---- helpers shared by the operation files ---- */

void ipp_respond(ipp_ctx_t *ctx, ipp_status_t status, const char *message, ...) {
  if (ctx->response) ippDelete(ctx->response);
  ctx->response = ippNewResponse(ctx->request);
  ippSetStatusCode(ctx->response, status);
  ctx->status = (int)status;
  if (message) {
    char text[512];
    va_list ap;
    va_start(ap, message);
    vsnprintf(text, sizeof text, message, ap);
    va_end(ap);
    ippAddString(ctx->response, IPP_TAG_OPERATION, IPP_TAG_TEXT, "status-message", NULL, text);
  }
}

void ipp_printer_uri(const ipp_ctx_t *ctx, char *out, size_t outlen) {
  /* The Host header as given (host[:port]), so the URI matches what the
   * client used, also behind a reverse proxy. */
  snprintf(out, outlen, "%s://%s/ipp/print/%s/%s", ctx->r->tls ? "ipps" : "ipp", ctx->r->host,
           ctx->tenant_name, ctx->queue_name);
}

/* ---- path and header parsing ---- */

/* Split /ipp/print/<tenant>/<queue>[/<job-id>] into ctx. */
static void ipp_parse_path(ipp_ctx_t *ctx, const char *path) {
  if (strcmp(path, "/ipp/system") == 0) {
    ctx->system = ctx->path_ok = true;
    return;
  }
  const char *p = path + strlen("/ipp/print/");
  const char *slash = strchr(p, '/');
  if (!slash || slash == p || (size_t)(slash - p) >= sizeof ctx->tenant_name) return;
  memcpy(ctx->tenant_name, p, (size_t)(slash - p));
  ctx->tenant_name[slash - p] = '\0';
  p = slash + 1;
  slash = strchr(p, '/');
  size_t qlen = slash ? (size_t)(slash - p) : strlen(p);
  if (qlen == 0 || qlen >= sizeof ctx->queue_name) return;
  memcpy(ctx->queue_name, p, qlen);
  ctx->queue_name[qlen] = '\0';
  if (slash) {
    char *end;
    long long id = strtoll(slash + 1, &end, 10);
    if (*end || id <= 0 || id > 0x7fffffff) return;
    ctx->path_job_id = id;
  }
  ctx->path_ok = true;
}

/* Try to decode the buffered attribute section.  Returns 1 when decoded,
 * 0 when more bytes are needed, -1 when the bytes are not IPP. */
static int ipp_try_decode(ipp_ctx_t *ctx) {
  ipp_t *req = NULL;
  int d = ippmem_decode(ctx->hdr, ctx->hdr_len, &req, &ctx->hdr_used);
  if (d == 1) {
    ctx->request = req;
    ctx->header_done = true;
    ctx->op = ippGetOperation(req);
  }
  return d;
}

/* ---- admission (worker) ---- */

/* Operations a printer may send on behalf of the user at a PC (7.1);
 * on an existing job only for jobs submitted through that printer
 * (ipp-job.c, ipp_may_see). */
static bool ipp_on_behalf_op(ipp_op_t op) {
  return op == IPP_OP_PRINT_JOB || op == IPP_OP_CREATE_JOB || op == IPP_OP_SEND_DOCUMENT ||
         op == IPP_OP_CLOSE_JOB || op == IPP_OP_VALIDATE_JOB || op == IPP_OP_GET_JOB_ATTRIBUTES ||
         op == IPP_OP_CANCEL_JOB;
}

/* ---- names that are no user (PROTOCOL.md 7.1, OPERATIONS.md "Unknown user names") ---- */

/*
 * The throttle key that counts one caller's refused names: the client
 * address; through a printer, that printer and the address of the PC it
 * forwarded (job-originating-host-name, set by the connector, trusted only
 * from an authenticated printer), so that a PC probing names slows itself,
 * not the printer's other users.  Counted under the per-address rule of
 * the sign-in throttle (--login-failures-per-address, --login-window).
 */
static void ipp_unknown_name_key(const ipp_ctx_t *ctx, bool through_printer,
                                 unsigned char key[32]) {
  char subject[300];
  if (through_printer) {
    ipp_attribute_t *a = ippFindAttribute(ctx->request, "job-originating-host-name", IPP_TAG_NAME);
    const char *pc = a && ippGetCount(a) == 1 ? ippGetString(a, 0, NULL) : NULL;
    snprintf(subject, sizeof subject, "unknown-name printer=%lld pc=%.200s",
             (long long)ctx->device.id, pc && *pc ? pc : "-");
  } else {
    snprintf(subject, sizeof subject, "unknown-name %s", ctx->r->peer);
  }
  throttle_key(THROTTLE_ADDRESS, subject, NULL, key);
}

/*
 * Before a name is looked up in a tenant that refuses unknown names: the
 * seconds the caller must wait, 0 when it may ask now.  Checked before the
 * lookup so that a throttled caller learns nothing of any name; the
 * caller then answers server-error-busy with Retry-After.
 */
static int ipp_unknown_name_wait(ipp_ctx_t *ctx, const unsigned char key[32]) {
  int wait = throttle_retry_after(ctx->srv->store, &ctx->srv->throttle, THROTTLE_ADDRESS, key);
  if (wait > 0) {
    char secs[16];
    snprintf(secs, sizeof secs, "%d", wait);
    http_response_header(ctx->r, "Retry-After", secs);
  }
  return wait;
}

/* A suspended tenant's queue refuses everyone but its printers (which get
 * the same status on the device channel): client-error-forbidden, the IPP
 * form of HTTP 403 ("authentication will not help"), so clients neither
 * prompt for a password again nor take it as a deregistration. */
#define IPP_SUSPENDED_MESSAGE "The tenant is suspended."
#define IPP_UNKNOWN_NAME_BUSY "Too many unknown user names from this computer; retry in %d seconds."
#define IPP_UNKNOWN_NAME_REFUSED                                                    \
  "User '%s' is not known to this print service; ask your administrator to add it " \
  "as an alias of your user."

/* Count a refused name against the caller and log it (the name is the
 * client's own text, not a secret). */
static void ipp_unknown_name_refused(ipp_ctx_t *ctx, const char *name,
                                     const unsigned char key[32]) {
  throttle_failed(ctx->srv->store, &ctx->srv->throttle, THROTTLE_ADDRESS, key);
  log_event(LOG_INFO, ctx->r->id, "refused a job for a name that is no user", "tenant",
            ctx->tenant.name, "queue", ctx->queue.name, "device",
            ctx->device.id ? ctx->device.name : NULL, "name", name, "op", ippOpString(ctx->op),
            (char *)NULL);
}

/*
 * A device credential on a client operation.  A printer submits for a
 * user (PROTOCOL.md 7.1): the device credential (and output-device-uuid,
 * when sent) authenticate the printer, which must serve this queue;
 * requesting-user-name names the job's owner.  The outcome is left in ctx for ipp_authorize(): on
 * success the request proceeds as if that user had sent it, plus the printer recorded as the job's
 * origin, and only jobs that concern the printer are visible (ipp_may_see).  Operations other than
 * ipp_on_behalf_op() are refused: a printer's credential is not a user's.  Returns false when the
 * credential is no printer's at all: the caller then tries it as a user's
 * (a password may look like a credential).
 *
 * Anyone on the printer's LAN can send any name, so the answer must not
 * tell whether the name is a user of the tenant: a name that is no user
 * is admitted the same way, as an owner-less job of that name
 * (ctx->behalf_unknown), which the operations store and answer like any
 * other but never release (ipp-job.c): it waits, listed on no panel,
 * until it expires.
 */
static bool ipp_admit_on_behalf(ipp_ctx_t *ctx) {
  http_request_t *r = ctx->r;
  nimbus_server_t *srv = ctx->srv;
  switch (device_auth(srv, r->authorization, &ctx->device, NULL)) {
    case DEVICE_AUTH_OK:
      break;
    case DEVICE_AUTH_DELETED:
      ctx->behalf_status = IPP_STATUS_ERROR_GONE;
      snprintf(ctx->behalf_message, sizeof ctx->behalf_message, "%s", DEVICE_DELETED_MESSAGE);
      return true;
    case DEVICE_AUTH_ERROR:
      ctx->behalf_status = IPP_STATUS_ERROR_INTERNAL;
      snprintf(ctx->behalf_message, sizeof ctx->behalf_message,
               "The device registry is not available.");
      return true;
    case DEVICE_AUTH_SUSPENDED:
      ctx->behalf_status = IPP_STATUS_ERROR_FORBIDDEN;
      snprintf(ctx->behalf_message, sizeof ctx->behalf_message, "%s", IPP_SUSPENDED_MESSAGE);
      return true;
    default:
      return false;
  }
  /* output-device-uuid may be left out: the credential names the device. */
  ipp_attribute_t *a = ippFindAttribute(ctx->request, "output-device-uuid", IPP_TAG_URI);
  const char *uuid = a ? ippGetString(a, 0, NULL) : NULL;
  if ((a && (!device_uuid_valid(uuid) || strcasecmp(uuid, ctx->device.uuid) != 0)) ||
      ctx->device.tenant_id != ctx->tenant.id ||
      !device_serves_queue(&ctx->device, ctx->queue.id)) {
    ctx->behalf_status = IPP_STATUS_ERROR_NOT_AUTHORIZED;
    snprintf(ctx->behalf_message, sizeof ctx->behalf_message,
             "This output device is not registered to this printer.");
    return true;
  }
  if (!ipp_on_behalf_op(ctx->op)) {
    /* A printer's credential is not a user's: user operations are refused. */
    ctx->behalf_status = IPP_STATUS_ERROR_NOT_AUTHORIZED;
    snprintf(ctx->behalf_message, sizeof ctx->behalf_message,
             "A printer's credential cannot be used for this operation.");
    return true;
  }
  a = ippFindAttribute(ctx->request, "requesting-user-name", IPP_TAG_NAME);
  const char *name = a ? ippGetString(a, 0, NULL) : NULL;
  if (ctx->op == IPP_OP_GET_JOB_ATTRIBUTES && (!name || !*name)) {
    /* The printer asks for itself: jobs that concern it (ipp_may_see). */
    r->auth.result = AUTH_OK;
    r->auth.tenant = ctx->tenant;
    ctx->on_behalf = true;
    snprintf(ctx->user_name, sizeof ctx->user_name, "%s", ctx->device.name);
    ctx->user_id = 0;
    ctx->is_admin = false;
    device_seen(srv, &ctx->device, "polling");
    return true;
  }
  if (!name || !*name || strlen(name) >= sizeof ctx->user_name) {
    /* refused for its form alone, whoever the users are */
    ctx->behalf_status = IPP_STATUS_ERROR_NOT_AUTHORIZED;
    snprintf(ctx->behalf_message, sizeof ctx->behalf_message,
             "requesting-user-name must give the user's name (at most %zu bytes).",
             sizeof ctx->user_name - 1);
    return true;
  }
  unsigned char key[32];
  bool refuse_unknown = user_names_refuse_unknown(&ctx->tenant);
  if (refuse_unknown) {
    ipp_unknown_name_key(ctx, true, key);
    int wait = ipp_unknown_name_wait(ctx, key);
    if (wait > 0) {
      ctx->behalf_status = IPP_STATUS_ERROR_BUSY;
      snprintf(ctx->behalf_message, sizeof ctx->behalf_message, IPP_UNKNOWN_NAME_BUSY, wait);
      return true;
    }
  }
  switch (user_resolve_name(srv->store, ctx->tenant.id, name, &r->auth.user)) {
    case STORE_OK:
      sodium_memzero(r->auth.user.password_hash, sizeof r->auth.user.password_hash);
      sodium_memzero(r->auth.user.panel_pin_hash, sizeof r->auth.user.panel_pin_hash);
      snprintf(ctx->user_name, sizeof ctx->user_name, "%s", r->auth.user.name);
      ctx->user_id = r->auth.user.id;
      break;
    case STORE_NOT_FOUND:
      memset(&r->auth.user, 0, sizeof r->auth.user);
      if (refuse_unknown) {
        ipp_unknown_name_refused(ctx, name, key);
        ctx->behalf_status = IPP_STATUS_ERROR_NOT_AUTHORIZED;
        snprintf(ctx->behalf_message, sizeof ctx->behalf_message, IPP_UNKNOWN_NAME_REFUSED, name);
        return true;
      }
      snprintf(ctx->user_name, sizeof ctx->user_name, "%s", name);
      ctx->user_id = 0;
      ctx->behalf_unknown = true;
      log_event(LOG_INFO, r->id, "a printer submits for a name that is no user", "tenant",
                ctx->tenant.name, "device", ctx->device.name, "name", name, "op",
                ippOpString(ctx->op), (char *)NULL);
      break;
    default:
      memset(&r->auth.user, 0, sizeof r->auth.user);
      ctx->behalf_status = IPP_STATUS_ERROR_INTERNAL;
      snprintf(ctx->behalf_message, sizeof ctx->behalf_message,
               "The user directory is not available.");
      return true;
  }
  r->auth.result = AUTH_OK;
  r->auth.tenant = ctx->tenant;
  ctx->on_behalf = true;
  ctx->is_admin = false; /* the printer acts for one user, with that user's rights */
  device_seen(srv, &ctx->device, "polling");
  return true;
}

static void ipp_admit(ipp_ctx_t *ctx) {
  if (ctx->admitted) return;
  ctx->admitted = true;
  nimbus_server_t *srv = ctx->srv;
  if (!ctx->path_ok) return;
  if (ctx->system) {
    ctx->found = true; /* no tenant: registration finds it by the claim */
    return;
  }
  if (store_tenant_get_by_name(srv->store, ctx->tenant_name, &ctx->tenant) != STORE_OK ||
      store_queue_get_by_name(srv->store, ctx->tenant.id, ctx->queue_name, &ctx->queue) != STORE_OK)
    return;
  ctx->found = true;
  http_request_t *r = ctx->r;
  const ipp_op_entry_t *e = ipp_op_find(ctx);
  if (e && e->device) return; /* devices authenticate in ipp_authorize_device */
  /* A printer: on behalf of a user (7.1), or refused (not a user). */
  if (!(e && e->anonymous) && device_credential_present(r->authorization) &&
      ipp_admit_on_behalf(ctx))
    return;
  auth_check(srv->store, srv->auth_cache, r->authorization, ctx->tenant_name, r->peer, &r->auth);
  if (r->auth.result == AUTH_OK) {
    snprintf(ctx->user_name, sizeof ctx->user_name, "%s", r->auth.user.name);
    ctx->user_id = r->auth.user.id;
    ctx->is_admin = r->auth.user.role >= NIMBUS_ROLE_TENANT_ADMIN;
  }
}

/* Credentials not checked under the sign-in throttle: not 401 (clients
 * would prompt again and count it as a failure) but a retryable busy with
 * the wait (docs/PROTOCOL.md, sign-in throttle). */
static void ipp_respond_throttled(ipp_ctx_t *ctx) {
  char secs[16];
  snprintf(secs, sizeof secs, "%d", ctx->r->auth.retry_after);
  http_response_header(ctx->r, "Retry-After", secs);
  ipp_respond(ctx, IPP_STATUS_ERROR_BUSY,
              "Too many failed sign-ins for this account or address; retry in %d seconds.",
              ctx->r->auth.retry_after);
}

/*
 * A device operation whose credentials are not a device's.  A user's valid
 * login gets an IPP status (these operations are for printers), not the
 * 401 that would make the client ask again and log a good password as a
 * failed login; anything else is a failed authentication (401).
 */
static bool ipp_refuse_user_on_device_op(ipp_ctx_t *ctx) {
  http_request_t *r = ctx->r;
  if (device_credential_present(r->authorization)) return false; /* unknown credential: 401 */
  auth_check(ctx->srv->store, ctx->srv->auth_cache, r->authorization, ctx->tenant_name, r->peer,
             &r->auth);
  if (r->auth.result == AUTH_THROTTLED) {
    ipp_respond_throttled(ctx);
    return false;
  }
  if (r->auth.result != AUTH_OK) return false; /* 401 */
  ipp_respond(ctx, IPP_STATUS_ERROR_NOT_AUTHORIZED,
              "This operation is for output devices; user credentials cannot be used.");
  return false;
}

/*
 * The device channel: a device credential (not a user's), the device must
 * serve this queue, and output-device-uuid must name it.  A deleted
 * registration gets the one documented answer (docs/PROTOCOL.md 6.2).
 */
static bool ipp_authorize_device(ipp_ctx_t *ctx) {
  nimbus_server_t *srv = ctx->srv;
  switch (device_auth(srv, ctx->r->authorization, &ctx->device, NULL)) {
    case DEVICE_AUTH_NONE:
      return false; /* 401 */
    case DEVICE_AUTH_BAD:
      return ipp_refuse_user_on_device_op(ctx);
    case DEVICE_AUTH_ERROR:
      ipp_respond(ctx, IPP_STATUS_ERROR_INTERNAL, "The device registry is not available.");
      return false;
    case DEVICE_AUTH_DELETED:
      log_event(LOG_INFO, ctx->r->id, "request from a deleted device registration", "device",
                ctx->device.name, "uuid", ctx->device.uuid, (char *)NULL);
      ipp_respond(ctx, IPP_STATUS_ERROR_GONE, DEVICE_DELETED_MESSAGE);
      return false;
    case DEVICE_AUTH_SUSPENDED:
      /* in touch (online), registered, and given nothing to do: not
       * client-error-gone (that deregisters), not 401 (a failed login) */
      device_seen(srv, &ctx->device, ctx->device.transport[0] ? ctx->device.transport : "polling");
      ipp_respond(ctx, IPP_STATUS_ERROR_FORBIDDEN, IPP_SUSPENDED_MESSAGE);
      return false;
    case DEVICE_AUTH_OK:
      break;
  }
  /* output-device-uuid is optional (the credential names the device, as
   * third-party proxies expect); when sent it must name this device. */
  ipp_attribute_t *a = ippFindAttribute(ctx->request, "output-device-uuid", IPP_TAG_ZERO);
  const char *uuid = a && ippGetValueTag(a) == IPP_TAG_URI && ippGetCount(a) == 1
                         ? ippGetString(a, 0, NULL)
                         : NULL;
  if (!a)
    uuid = ctx->device.uuid;
  else if (!device_uuid_valid(uuid)) {
    ipp_respond(ctx, IPP_STATUS_ERROR_BAD_REQUEST,
                "output-device-uuid (urn:uuid:...) is missing or malformed.");
    return false;
  }
  if (strcasecmp(uuid, ctx->device.uuid) != 0 || ctx->device.tenant_id != ctx->tenant.id ||
      !device_serves_queue(&ctx->device, ctx->queue.id)) {
    ipp_respond(ctx, IPP_STATUS_ERROR_NOT_AUTHORIZED,
                "This output device is not registered to this printer.");
    return false;
  }
  ctx->is_device = true;
  a = ippFindAttribute(ctx->request, "notify-wait", IPP_TAG_BOOLEAN);
  bool persistent = ctx->op == IPP_OP_GET_NOTIFICATIONS && a && ippGetBoolean(a, 0);
  device_seen(srv, &ctx->device, persistent ? "persistent" : "polling");
  snprintf(ctx->user_name, sizeof ctx->user_name, "%s", ctx->device.name);
  return true;
}

/*
 * An anonymous caller on a queue that holds jobs: its requesting-user-name
 * designates the jobs' owner, who releases them (user_resolve_name: the
 * user of that name, or of that alias).  The caller gets none of the
 * user's rights: it sees only the jobs of that name it sent from its own
 * address (ipp_may_see).  A name that is no user is refused when the
 * tenant says so (Print-Job, Create-Job, Validate-Job; the other
 * operations reach only jobs the name already has), else kept held
 * without an owner (issue 8's behaviour).  On a release-immediately queue
 * the name is only a label, as before.  Release-Job is left out: only
 * the user releases a job of theirs.  False has answered.
 */
static bool ipp_anonymous_owner(ipp_ctx_t *ctx, const ipp_op_entry_t *e) {
  /* Release-Job is the user's own (signed in, or at the printer): a job
   * this caller sent for a user is not found by it, as another's. */
  if (ctx->queue.release_immediately || e->op == IPP_OP_RELEASE_JOB) return true;
  bool creates =
      e->op == IPP_OP_PRINT_JOB || e->op == IPP_OP_CREATE_JOB || e->op == IPP_OP_VALIDATE_JOB;
  bool refuse = creates && user_names_refuse_unknown(&ctx->tenant);
  unsigned char key[32];
  if (refuse) {
    ipp_unknown_name_key(ctx, false, key);
    int wait = ipp_unknown_name_wait(ctx, key);
    if (wait > 0) {
      ipp_respond(ctx, IPP_STATUS_ERROR_BUSY, IPP_UNKNOWN_NAME_BUSY, wait);
      return false;
    }
  }
  nimbus_user_t u;
  store_status_t s = user_resolve_name(ctx->srv->store, ctx->tenant.id, ctx->user_name, &u);
  sodium_memzero(u.password_hash, sizeof u.password_hash);
  sodium_memzero(u.panel_pin_hash, sizeof u.panel_pin_hash);
  if (s == STORE_OK) {
    ctx->anon_owner_id = u.id;
    snprintf(ctx->user_name, sizeof ctx->user_name, "%s", u.name);
    return true;
  }
  if (s != STORE_NOT_FOUND) {
    ipp_respond(ctx, IPP_STATUS_ERROR_INTERNAL, "The user directory is not available.");
    return false;
  }
  if (!refuse) return true;
  ipp_unknown_name_refused(ctx, ctx->user_name, key);
  ipp_respond(ctx, IPP_STATUS_ERROR_NOT_AUTHORIZED, IPP_UNKNOWN_NAME_REFUSED, ctx->user_name);
  return false;
}

/* Decide whether the caller may run op; sets the response when not.
 * Returns false when the request must not proceed. */
static bool ipp_authorize(ipp_ctx_t *ctx, const ipp_op_entry_t *e) {
  http_request_t *r = ctx->r;
  if (!ctx->path_ok || !ctx->found) {
    ipp_respond(ctx, IPP_STATUS_ERROR_NOT_FOUND, "The printer does not exist.");
    return false;
  }
  if (ctx->system && !ipp_system_has_claim(ctx)) return false; /* 401: the password is the claim */
  if (e->device) return ipp_authorize_device(ctx);
  if (!ctx->system && ctx->tenant.suspended) {
    ipp_respond(ctx, IPP_STATUS_ERROR_FORBIDDEN, IPP_SUSPENDED_MESSAGE);
    return false;
  }
  if (ctx->behalf_status) {
    ipp_respond(ctx, (ipp_status_t)ctx->behalf_status, "%s", ctx->behalf_message);
    return false;
  }
  if (r->auth.result == AUTH_OK && r->auth.scope[0]) {
    /* an OAuth-issued "federation" token only says who it is (REST
     * GET /whoami); it prints nothing (docs/PROTOCOL.md §4.12) */
    ipp_respond(ctx, IPP_STATUS_ERROR_FORBIDDEN,
                "This token may only be used to ask who it belongs to, not for printing.");
    return false;
  }
  if (r->auth.result == AUTH_OK) return true;
  bool anonymous_print =
      ctx->queue.allow_anonymous && r->auth.result == AUTH_NONE && e->op != IPP_OP_CANCEL_MY_JOBS;
  if (e->anonymous || anonymous_print) {
    ipp_attribute_t *a = ippFindAttribute(ctx->request, "requesting-user-name", IPP_TAG_NAME);
    snprintf(ctx->user_name, sizeof ctx->user_name, "%s",
             a && ippGetString(a, 0, NULL) ? ippGetString(a, 0, NULL) : "anonymous");
    return e->anonymous || ipp_anonymous_owner(ctx, e);
  }
  if (r->auth.result == AUTH_THROTTLED) {
    ipp_respond_throttled(ctx);
    return false;
  }
  if (r->auth.result == AUTH_SUSPENDED) {
    ipp_respond(ctx, IPP_STATUS_ERROR_FORBIDDEN, IPP_SUSPENDED_MESSAGE);
    return false;
  }
  return false; /* answered with HTTP 401 in finish */
}

/* ---- the handler ---- */

static bool ipp_body(http_request_t *r, const char *data, size_t len);
static void ipp_finish(http_request_t *r);
static void ipp_cleanup(http_request_t *r);

const http_handler_t ipp_handler = {"ipp", ipp_body, ipp_finish, ipp_cleanup};

static ipp_ctx_t *ipp_ctx_get(http_request_t *r) {
  if (!r->handler_state) {
    ipp_ctx_t *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return NULL;
    ctx->r = r;
    ctx->srv = r->srv;
    ctx->status = -1;
    ipp_parse_path(ctx, r->path);
    r->handler_state = ctx;
  }
  return r->handler_state;
}

static bool ipp_check_request(ipp_ctx_t *ctx);

/* Admission of a request that carries a document: request checks, tenant,
 * queue, caller and the operation's own checks.  false (with the answer
 * prepared, or a 401 to come) when the document must be refused. */
static bool ipp_admit_checks(ipp_ctx_t *ctx) {
  if (!ipp_check_request(ctx)) return !(ctx->intake_refused = true);
  ipp_admit(ctx);
  const ipp_op_entry_t *e = ipp_op_find(ctx);
  if (!ipp_authorize(ctx, e) || !ipp_job_precheck_document(ctx))
    return !(ctx->intake_refused = true);
  return true;
}

/* Worker step between the attribute section and a document that goes to
 * the spool: admission, then the bytes held so far go to the spool file. */
static void ipp_admit_document(http_request_t *r) {
  ipp_ctx_t *ctx = r->handler_state;
  if (!ipp_admit_checks(ctx)) return;
  ctx->intake =
      intake_begin(ctx->srv, intake_max_document_size(ctx->srv, &ctx->tenant), ctx->doc_format);
  if (ctx->intake && ctx->compression[0] &&
      !intake_set_compression(ctx->intake, ctx->compression)) {
    intake_abort(ctx->intake);
    ctx->intake = NULL;
  }
  if (!ctx->intake) {
    ipp_respond(ctx, IPP_STATUS_ERROR_INTERNAL, "The spool is not available.");
    ctx->intake_refused = true;
    return;
  }
  if (ctx->hdr_len > ctx->hdr_used)
    intake_write(ctx->intake, ctx->hdr + ctx->hdr_used, ctx->hdr_len - ctx->hdr_used);
  free(ctx->hdr);
  ctx->hdr = NULL;
  ctx->hdr_len = ctx->hdr_used = 0;
}

/* Reserve room to hold a small document in memory; false when the
 * server-wide budget is spent (the document then goes to the spool). */
static bool ipp_inline_reserve(ipp_ctx_t *ctx) {
  long long want = NIMBUS_INLINE_DOCUMENT_MAX;
  if (atomic_fetch_add(&ctx->srv->inline_bytes, want) + want > NIMBUS_INLINE_BUDGET) {
    atomic_fetch_sub(&ctx->srv->inline_bytes, want);
    return false;
  }
  ctx->inline_reserved = want;
  return true;
}

/* Does the request say its document is compressed?  Such a document
 * always goes through the spool, where it is decompressed as it arrives
 * (intake_set_compression), never inline. */
static bool ipp_request_compressed(const ipp_ctx_t *ctx) {
  ipp_attribute_t *a = ippFindAttribute(ctx->request, "compression", IPP_TAG_ZERO);
  const char *v = a ? ippGetString(a, 0, NULL) : NULL;
  return a && (!v || strcmp(v, "none") != 0);
}

/* Append bytes to the request buffer (attribute section, then document
 * bytes that wait for admission). */
static bool ipp_buffer(ipp_ctx_t *ctx, const char *data, size_t len) {
  if (ctx->hdr_len + len + 1 > ctx->hdr_cap) {
    /* Geometric growth: a client dribbling bytes costs amortised O(1)
     * copies per byte, not a full copy per chunk. */
    size_t cap = ctx->hdr_cap ? ctx->hdr_cap : 4096;
    while (cap < ctx->hdr_len + len + 1) cap *= 2;
    unsigned char *nb = realloc(ctx->hdr, cap);
    if (!nb) return false;
    ctx->hdr = nb;
    ctx->hdr_cap = cap;
  }
  memcpy(ctx->hdr + ctx->hdr_len, data, len);
  ctx->hdr_len += len;
  return true;
}

/*
 * Decode attempts are spaced geometrically (again once the buffer has
 * doubled, or grown by 4 KiB), so an attribute section dribbled in tiny
 * chunks costs O(n) parsing, not a full parse per chunk.  A request
 * arriving whole is decoded at the first chunk; finish() makes a last
 * attempt for one that ended between two attempts.
 */
static int ipp_try_decode_spaced(ipp_ctx_t *ctx, size_t max) {
  if (ctx->hdr_len < ctx->decode_at && ctx->hdr_len < max) return 0;
  int d = ipp_try_decode(ctx);
  if (d == 0) ctx->decode_at = ctx->hdr_len + (ctx->hdr_len > 4096 ? ctx->hdr_len : 4096);
  return d;
}

/* After the attribute section is decoded: name the operation, and for a
 * document-carrying one decide whether the document waits in memory
 * (inline) or is admitted first and then spooled.  Returns false when
 * nothing more is to be read.  `deferred` runs the admission through
 * http_request_defer (event thread) rather than inline (worker). */
static bool ipp_decoded(ipp_ctx_t *ctx, bool deferred) {
  http_request_t *r = ctx->r;
  const ipp_op_entry_t *e = ipp_op_find(ctx);
  r->op_name = e ? e->label : "ipp.unsupported";
  if (!e || !e->document) return false; /* nothing more to read */
  ctx->wants_document = true;
  /* Up to NIMBUS_INLINE_DOCUMENT_MAX bytes wait in memory (within the
   * server-wide budget): a small document is admitted and stored in one
   * worker step, inline in the store; a larger one is admitted first and
   * then streamed to the spool. */
  if (ctx->hdr_len - ctx->hdr_used > NIMBUS_INLINE_DOCUMENT_MAX || ipp_request_compressed(ctx) ||
      !ipp_inline_reserve(ctx)) {
    if (deferred)
      http_request_defer(r, ipp_admit_document);
    else
      ipp_admit_document(r);
  }
  return true;
}

static bool ipp_body(http_request_t *r, const char *data, size_t len) {
  ipp_ctx_t *ctx = ipp_ctx_get(r);
  if (!ctx) return false;
  if (ctx->header_done) {
    if (ctx->intake_refused || !ctx->wants_document) return false;
    if (ctx->intake) return intake_write(ctx->intake, data, len);
    if (!ipp_buffer(ctx, data, len)) return false;
    if (ctx->hdr_len - ctx->hdr_used > NIMBUS_INLINE_DOCUMENT_MAX)
      http_request_defer(r, ipp_admit_document);
    return true;
  }
  size_t max = (size_t)r->srv->cfg.max_ipp_header;
  size_t take = len;
  if (ctx->hdr_len + take > max) take = max - ctx->hdr_len;
  if (!ipp_buffer(ctx, data, take)) return false;
  int d = ipp_try_decode_spaced(ctx, max);
  if (d < 0) return false;
  if (d == 0) {
    if (ctx->hdr_len >= max) {
      ctx->header_too_large = true;
      return false;
    }
    return true;
  }
  /* Decoded: the rest of the buffer, and of this chunk, is document data. */
  if (take < len && !ipp_buffer(ctx, data + take, len - take)) return false;
  return ipp_decoded(ctx, true);
}

/* Checks every request must pass (RFC 8011 section 4.1.x). */
static bool ipp_check_request(ipp_ctx_t *ctx) {
  int major = ippGetVersion(ctx->request, NULL);
  if (major < 1 || major > 2) {
    ipp_respond(ctx, IPP_STATUS_ERROR_VERSION_NOT_SUPPORTED, "IPP version %d is not supported.",
                major);
    return false;
  }
  if (ippGetRequestId(ctx->request) <= 0) {
    ipp_respond(ctx, IPP_STATUS_ERROR_BAD_REQUEST, "The request-id must be positive.");
    return false;
  }
  ipp_attribute_t *charset = ippFirstAttribute(ctx->request);
  ipp_attribute_t *language = ippNextAttribute(ctx->request);
  if (!charset || strcmp(ippGetName(charset) ? ippGetName(charset) : "", "attributes-charset") ||
      ippGetValueTag(charset) != IPP_TAG_CHARSET || ippGetGroupTag(charset) != IPP_TAG_OPERATION ||
      !language ||
      strcmp(ippGetName(language) ? ippGetName(language) : "", "attributes-natural-language") ||
      ippGetValueTag(language) != IPP_TAG_LANGUAGE ||
      ippGetGroupTag(language) != IPP_TAG_OPERATION) {
    ipp_respond(ctx, IPP_STATUS_ERROR_BAD_REQUEST,
                "attributes-charset and attributes-natural-language must come first.");
    return false;
  }
  const char *cs = ippGetString(charset, 0, NULL);
  if (!cs || (strcasecmp(cs, "utf-8") && strcasecmp(cs, "us-ascii"))) {
    ipp_respond(ctx, IPP_STATUS_ERROR_CHARSET, "Only utf-8 is supported.");
    ippAddString(ctx->response, IPP_TAG_UNSUPPORTED_GROUP, IPP_TAG_CHARSET, "attributes-charset",
                 NULL, cs ? cs : "");
    return false;
  }
  /* Text, names and keywords are UTF-8 (RFC 8011 §5.1.2); anything else
   * would be stored as it came (SQLite) or refused by the database
   * (PostgreSQL) as an internal error. */
  ipp_attribute_t *bad = utf8_ipp_invalid(ctx->request);
  if (bad) {
    const char *name = ippGetName(bad);
    ipp_respond(ctx, IPP_STATUS_ERROR_BAD_REQUEST, "'%s' is not valid UTF-8.",
                name && utf8_valid(name, strlen(name)) ? name : "an attribute name");
    return false;
  }
  /* Before any operation hands requested-attributes to libcups: repeated
   * group keywords would cost quadratic time there (ipp-requested.h). */
  switch (ipp_requested_normalize(ctx->request, IPP_REQUESTED_MAX)) {
    case IPP_REQUESTED_OK:
      break;
    case IPP_REQUESTED_TOO_MANY:
      ipp_respond(ctx, IPP_STATUS_ERROR_REQUEST_VALUE,
                  "requested-attributes names more than %d attributes.", IPP_REQUESTED_MAX);
      return false;
    case IPP_REQUESTED_ERROR:
      ipp_respond(ctx, IPP_STATUS_ERROR_INTERNAL, "Out of memory.");
      return false;
  }
  /* Operations addressed to the printer need printer-uri (job ops may use
   * job-uri instead); those addressed to the system need system-uri. */
  if (ctx->system) {
    if (!ippFindAttribute(ctx->request, "system-uri", IPP_TAG_URI)) {
      ipp_respond(ctx, IPP_STATUS_ERROR_BAD_REQUEST, "Missing system-uri.");
      return false;
    }
    return true;
  }
  if (!ippFindAttribute(ctx->request, "printer-uri", IPP_TAG_URI) &&
      !ippFindAttribute(ctx->request, "job-uri", IPP_TAG_URI)) {
    ipp_respond(ctx, IPP_STATUS_ERROR_BAD_REQUEST, "Missing printer-uri.");
    return false;
  }
  return true;
}

char *ipp_encode_response(ipp_ctx_t *ctx, size_t *len) {
  return (char *)ippmem_encode(ctx->response, len);
}

void ipp_send(ipp_ctx_t *ctx) {
  size_t len = 0;
  char *buf = ipp_encode_response(ctx, &len);
  if (!buf) {
    http_respond_problem(ctx->r, 500, "Internal Server Error", "could not encode the IPP response");
    return;
  }
  http_respond_owned(ctx->r, 200, "application/ipp", buf, len);
}

static void ipp_finish(http_request_t *r) {
  ipp_ctx_t *ctx = ipp_ctx_get(r);
  if (!ctx) {
    http_respond_problem(r, 500, "Internal Server Error", NULL);
    return;
  }
  if (!ctx->system && (strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0)) {
    ipp_printer_page(ctx); /* a browser at the printer's address */
    return;
  }
  if (strcmp(r->method, "POST") != 0) {
    http_response_header(r, "Allow", ctx->system ? "POST" : "GET, HEAD, POST");
    http_respond_problem(r, 405, "Method Not Allowed", "IPP requests are sent with POST");
    return;
  }
  if (strncasecmp(r->content_type, "application/ipp", 15) != 0) {
    http_respond_problem(r, 415, "Unsupported Media Type",
                         "IPP requests need Content-Type: application/ipp");
    return;
  }
  if (!ctx->header_done && !ctx->header_too_large && ctx->hdr_len > 0 && ipp_try_decode(ctx) == 1)
    ipp_decoded(ctx, false); /* the body ended between two decode attempts */
  if (!ctx->header_done) {
    if (ctx->header_too_large) {
      r->resp_close = true;
      http_respond_problem(r, 413, "Content Too Large", "the IPP attribute section is too large");
    } else {
      http_respond_problem(r, 400, "Bad Request", "the body is not a complete IPP request");
    }
    return;
  }
  if (ctx->wants_document && !ctx->intake && !ctx->intake_refused) {
    /* The whole (small) document is in memory (see ipp_body). */
    if (ctx->op == IPP_OP_PRINT_JOB) {
      ctx->document_inline = true; /* read by the admission checks */
      if (!ipp_admit_checks(ctx)) ctx->document_inline = false;
    } else {
      ipp_admit_document(r);
    }
  }
  if (ctx->intake_refused) {
    if (ctx->status < 0) goto unauthorized;
    ipp_send(ctx);
    return;
  }
  if (!ipp_check_request(ctx)) {
    ipp_send(ctx);
    return;
  }
  const ipp_op_entry_t *e = ipp_op_find(ctx);
  if (!e) {
    ipp_respond(ctx, IPP_STATUS_ERROR_OPERATION_NOT_SUPPORTED, "Operation 0x%04x is not supported.",
                (unsigned)ctx->op);
    ipp_send(ctx);
    return;
  }
  ipp_admit(ctx);
  if (!ipp_authorize(ctx, e)) {
    if (ctx->status >= 0) {
      ipp_send(ctx);
      return;
    }
    goto unauthorized;
  }
  e->fn(ctx);
  if (r->status) return;   /* the operation answered itself (Fetch-Document) */
  if (ctx->parked) return; /* a held Get-Notifications: woken later (ipp-infra.c) */
  if (!ctx->response) ipp_respond(ctx, IPP_STATUS_ERROR_INTERNAL, "No response.");
  ipp_send(ctx);
  return;
unauthorized:
  /* RFC 8010: authentication is HTTP's job; libcups clients retry with
   * credentials after this challenge. */
  if (r->auth.result == AUTH_BAD)
    log_event(LOG_WARN, r->id, "authentication failed", "tenant", ctx->tenant_name, "peer", r->peer,
              (char *)NULL);
  http_response_header(r, "WWW-Authenticate", "Basic realm=\"Nimbus Print\"");
  http_respond(r, 401, "text/plain", "Unauthorized\n", 13);
}

static void ipp_cleanup(http_request_t *r) {
  ipp_ctx_t *ctx = r->handler_state;
  if (!ctx) return;
  intake_abort(ctx->intake);
  if (ctx->inline_reserved) atomic_fetch_sub(&ctx->srv->inline_bytes, ctx->inline_reserved);
  if (ctx->request) ippDelete(ctx->request);
  if (ctx->response) ippDelete(ctx->response);
  free(ctx->hdr);
  free(ctx);
  r->handler_state = NULL;
}

int ipp_server_status(const http_request_t *r) {
  const ipp_ctx_t *ctx = r->handler_state;
  return ctx ? ctx->status : -1;
}
