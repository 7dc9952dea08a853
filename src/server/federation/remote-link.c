/*
 * remote-link.c: remote printer links as policy (see remote-link.h).
 * Secrets: the claim code or device credential a tenant admin gives is
 * sealed at once with the server's secrets key (payments_seal, the key of
 * --secrets-key), the additional data naming the tenant and the link so
 * that a sealed value copied into another link's row does not open; it is
 * opened only for the moment a request to the remote needs it.
 */
#include "remote-link.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "log.h"
#include "payment-flow.h"
#include "remote-ipp.h"

/* The additional data binding a sealed secret to its link. */
static void remote_link_ad(const nimbus_remote_link_t *l, char *buf, size_t len) {
  snprintf(buf, len, "tenant:%lld:remote-link:%s", (long long)l->tenant_id, l->name);
}

/* Whether uri is an absolute URI of one of the given schemes that fits. */
static bool remote_uri_ok(const char *uri, size_t cap, bool ipp) {
  if (!uri || !*uri || strlen(uri) >= cap) return false;
  for (const char *p = uri; *p; p++)
    if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) return false;
  if (ipp)
    return !strncmp(uri, "ipp://", 6) || !strncmp(uri, "ipps://", 7) ||
           !strncmp(uri, "http://", 7) || !strncmp(uri, "https://", 8);
  return !strncmp(uri, "http://", 7) || !strncmp(uri, "https://", 8);
}

bool remote_link_set_uris(nimbus_remote_link_t *l, const char *printer_uri, const char *system_uri,
                          const char *service_url, char *err, size_t errlen) {
  if (!remote_uri_ok(printer_uri, sizeof l->printer_uri, true)) {
    snprintf(err, errlen, "printer_uri must be an ipp://, ipps://, http:// or https:// URI");
    return false;
  }
  snprintf(l->printer_uri, sizeof l->printer_uri, "%s", printer_uri);
  if (system_uri && *system_uri) {
    if (!remote_uri_ok(system_uri, sizeof l->system_uri, true)) {
      snprintf(err, errlen, "system_uri must be an ipp://, ipps://, http:// or https:// URI");
      return false;
    }
    snprintf(l->system_uri, sizeof l->system_uri, "%s", system_uri);
  } else if (!remote_default_system_uri(printer_uri, l->system_uri, sizeof l->system_uri)) {
    snprintf(err, errlen, "printer_uri has no host to take system_uri from");
    return false;
  }
  if (service_url && *service_url) {
    if (!remote_uri_ok(service_url, sizeof l->service_url, false)) {
      snprintf(err, errlen, "service_url must be an http:// or https:// URL");
      return false;
    }
    snprintf(l->service_url, sizeof l->service_url, "%s", service_url);
    size_t n = strlen(l->service_url);
    while (n > 0 && l->service_url[n - 1] == '/') l->service_url[--n] = '\0';
  } else if (!remote_default_service_url(printer_uri, l->service_url, sizeof l->service_url)) {
    snprintf(err, errlen, "printer_uri has no host to take service_url from");
    return false;
  }
  return true;
}

bool remote_link_seal(nimbus_server_t *srv, nimbus_remote_link_t *l, const char *secret, bool claim,
                      char *err, size_t errlen) {
  size_t n = secret ? strlen(secret) : 0;
  const char *field = claim ? "claim_code" : "credential";
  if (n == 0 || n + CRYPTO_SEAL_OVERHEAD > sizeof l->sealed) {
    snprintf(err, errlen, "%s must be 1 to %d characters", field,
             (int)(sizeof l->sealed - CRYPTO_SEAL_OVERHEAD));
    return false;
  }
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)secret[i] < 0x20 || (unsigned char)secret[i] == 0x7f) {
      snprintf(err, errlen, "%s must be printable text", field);
      return false;
    }
  char ad[160];
  remote_link_ad(l, ad, sizeof ad);
  size_t out = 0;
  if (!payments_seal(srv, ad, secret, n, l->sealed, sizeof l->sealed, &out)) {
    snprintf(err, errlen, "the secrets key is not available");
    return false;
  }
  l->sealed_len = (int)out;
  l->claim_pending = claim;
  snprintf(l->status, sizeof l->status, "%s", REMOTE_STATUS_CONNECTING);
  l->last_error[0] = '\0';
  l->failures = 0;
  l->next_try_at = (int64_t)time(NULL);
  l->subscription_id = 0;
  return true;
}

bool remote_link_unseal(nimbus_server_t *srv, const nimbus_remote_link_t *l, char *out,
                        size_t len) {
  if (l->sealed_len <= CRYPTO_SEAL_OVERHEAD || len == 0) return false;
  char ad[160];
  remote_link_ad(l, ad, sizeof ad);
  size_t n = 0;
  if (!payments_unseal(srv, ad, l->sealed, (size_t)l->sealed_len, out, len - 1, &n)) return false;
  out[n] = '\0';
  return true;
}

bool remote_link_deregister(nimbus_server_t *srv, const nimbus_remote_link_t *l, int timeout_s,
                            char *err, size_t errlen) {
  char cred[NIMBUS_REMOTE_SEALED_MAX];
  if (l->claim_pending || !remote_link_unseal(srv, l, cred, sizeof cred)) {
    snprintf(err, errlen, "never registered");
    return false;
  }
  remote_ipp_t c;
  bool ok = false;
  if (remote_ipp_open(&c, srv->metrics, (long long)l->tenant_id, l->name, l->printer_uri,
                      l->output_device_uuid, cred, timeout_s, err, errlen)) {
    remote_status_t st;
    remote_result_t r = remote_ipp_deregister(&c, &st);
    ok = r == REMOTE_OK;
    if (!ok) remote_status_words(r, &st, err, errlen);
    remote_ipp_close(&c);
  }
  memset(cred, 0, sizeof cred);
  log_event(ok ? LOG_INFO : LOG_WARN, NULL,
            ok ? "remote printer link deregistered" : "remote printer link not deregistered",
            "link", l->name, "tenant_id", LOG_INT((long long)l->tenant_id), "error", ok ? "" : err,
            (char *)NULL);
  return ok;
}
