/*
 * payment-method.c: a user's saved payment method with the tenant's
 * provider (issue 13, docs/BILLING.md "Private purposes"): registration
 * (pending until the provider says it is done, asked server to server:
 * the user's return proves nothing), charging it off-session, removal.
 * The method reference (LINE Pay regKey, Stripe customer|payment method)
 * is sealed with the server key, bound to the tenant and the user; it is
 * never logged nor shown.
 */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "payment-flow.h"

static const char *const method_state_names[] = {[NIMBUS_METHOD_PENDING] = "pending",
                                                 [NIMBUS_METHOD_ACTIVE] = "active",
                                                 [NIMBUS_METHOD_FAILED] = "failed"};

static void method_ad(const nimbus_payment_method_t *m, char *buf, size_t len) {
  snprintf(buf, len, "tenant:%" PRId64 ":user:%" PRId64 ":payment-method", m->tenant_id,
           m->user_id);
}

json_t *payments_method_json(const nimbus_payment_method_t *m) {
  json_t *j = json_pack("{s:s, s:s, s:s}", "provider", m->provider, "state",
                        method_state_names[m->state >= 1 && m->state <= 3 ? m->state : 3],
                        "display", m->display);
  if (j && m->state == NIMBUS_METHOD_PENDING && m->setup_url[0])
    json_object_set_new(j, "setup_url", json_string(m->setup_url));
  return j;
}

payflow_result_t payments_method_begin(nimbus_server_t *srv, nimbus_id_t tenant_id,
                                       nimbus_id_t user_id, const char *user_name,
                                       nimbus_payment_method_t *out, char *msg, size_t msglen) {
  msg[0] = '\0';
  nimbus_tenant_billing_t tb;
  if (store_tenant_billing_get(srv->store, tenant_id, &tb) != STORE_OK || !tb.currency[0]) {
    snprintf(msg, msglen, "this service has no currency set: nothing can be charged");
    return PAYFLOW_NO_PROVIDER;
  }
  const pay_provider_t *prov = NULL;
  pay_credentials_t *cred = calloc(1, sizeof *cred);
  if (!cred) return PAYFLOW_ERROR;
  payflow_result_t r = payments_provider_open(srv, tenant_id, &prov, cred);
  if (r != PAYFLOW_OK) {
    snprintf(msg, msglen, "this service has no payment provider set up");
    free(cred);
    return r;
  }
  memset(out, 0, sizeof *out);
  out->tenant_id = tenant_id;
  out->user_id = user_id;
  snprintf(out->provider, sizeof out->provider, "%s", prov->name);
  out->state = NIMBUS_METHOD_PENDING;
  unsigned char rnd[12];
  randombytes_buf(rnd, sizeof rnd);
  char hex[sizeof rnd * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, rnd, sizeof rnd);
  snprintf(out->setup_id, sizeof out->setup_id, "pm-%s", hex);
  char base[NIMBUS_URL_MAX], confirm[NIMBUS_URL_MAX + 128], label[96];
  payments_base_url(srv, base, sizeof base);
  snprintf(confirm, sizeof confirm, "%s/api/v1/payments/method-return?setup=%s", base,
           out->setup_id);
  snprintf(label, sizeof label, "t%" PRId64 "/%s", tenant_id, user_name);
  pay_method_setup_req_t req = {.setup_id = out->setup_id,
                                .user_label = label,
                                .currency = tb.currency,
                                .confirm_url = confirm,
                                .cancel_url = confirm};
  pay_method_setup_res_t res = {0};
  pay_result_t pr = prov->method_setup(cred, &req, &res, msg, msglen);
  sodium_memzero(cred, sizeof *cred);
  free(cred);
  if (pr != PAY_OK) {
    if (!msg[0]) snprintf(msg, msglen, "the payment provider did not answer");
    return PAYFLOW_PROVIDER;
  }
  snprintf(out->setup_tx, sizeof out->setup_tx, "%s", res.tx);
  snprintf(out->setup_url, sizeof out->setup_url, "%s", res.setup_url);
  snprintf(out->display, sizeof out->display, "%s", prov->name);
  char detail[96];
  snprintf(detail, sizeof detail, "provider=%s setup=%s", prov->name, out->setup_id);
  store_audit_t audit = {.tenant_id = tenant_id,
                         .actor = user_name,
                         .action = "payment-method-registering",
                         .detail = detail};
  return store_payment_method_put(srv->store, out, &audit) == STORE_OK ? PAYFLOW_OK : PAYFLOW_ERROR;
}

/* Ask the provider whether pending registration m is done, and record
 * what it says (active with the sealed reference, or failed). */
static payflow_result_t method_converge(nimbus_server_t *srv, nimbus_payment_method_t *m) {
  if (m->state != NIMBUS_METHOD_PENDING) return PAYFLOW_OK;
  const pay_provider_t *prov = NULL;
  pay_credentials_t *cred = calloc(1, sizeof *cred);
  pay_method_t *pm = calloc(1, sizeof *pm);
  payflow_result_t r = PAYFLOW_ERROR;
  if (!cred || !pm) goto out;
  r = payments_provider_open(srv, m->tenant_id, &prov, cred);
  if (r != PAYFLOW_OK) goto out;
  char msg[PAY_MSG_MAX];
  /* setup_tx exactly as the adapter returned it (provider.h) */
  pay_result_t pr = prov->method_finish(cred, m->setup_tx, m->setup_id, pm, msg, sizeof msg);
  if (pr == PAY_NOT_FOUND || pr == PAY_UNAVAILABLE) {
    r = PAYFLOW_OK; /* not finished yet: still pending */
    goto out;
  }
  nimbus_method_state_t expected = m->state;
  if (pr == PAY_OK) {
    char ad[96];
    method_ad(m, ad, sizeof ad);
    size_t n = 0;
    if (!payments_seal(srv, ad, pm->ref, strlen(pm->ref), m->sealed, sizeof m->sealed, &n)) {
      r = PAYFLOW_ERROR;
      goto out;
    }
    m->sealed_len = (int)n;
    m->state = NIMBUS_METHOD_ACTIVE;
    snprintf(m->display, sizeof m->display, "%s", pm->display[0] ? pm->display : prov->name);
  } else {
    m->state = NIMBUS_METHOD_FAILED;
  }
  m->setup_url[0] = '\0';
  char detail[96];
  snprintf(detail, sizeof detail, "provider=%s setup=%s user_id=%" PRId64, prov->name, m->setup_id,
           m->user_id);
  store_audit_t audit = {.tenant_id = m->tenant_id,
                         .actor = "nimbusd",
                         .action = m->state == NIMBUS_METHOD_ACTIVE ? "payment-method-registered"
                                                                    : "payment-method-failed",
                         .detail = detail};
  store_status_t s = store_payment_method_update(srv->store, m, expected, &audit);
  if (s == STORE_CONFLICT) s = store_payment_method_get(srv->store, m->tenant_id, m->user_id, m);
  r = s == STORE_OK ? PAYFLOW_OK : PAYFLOW_ERROR;
  if (r == PAYFLOW_OK)
    log_event(LOG_INFO, NULL, "payment method registration", "tenant_id", LOG_INT(m->tenant_id),
              "user_id", LOG_INT(m->user_id), "state", method_state_names[m->state], (char *)NULL);
out:
  if (cred) sodium_memzero(cred, sizeof *cred);
  if (pm) sodium_memzero(pm, sizeof *pm);
  free(cred);
  free(pm);
  return r;
}

payflow_result_t payments_method_return(nimbus_server_t *srv, const char *setup_id, const char *tx,
                                        nimbus_payment_method_t *out) {
  store_status_t s = store_payment_method_get_by_setup(srv->store, setup_id, out);
  if (s == STORE_NOT_FOUND) return PAYFLOW_NOT_FOUND;
  if (s != STORE_OK) return PAYFLOW_ERROR;
  /* LINE Pay names its transaction on the redirect: only ours counts (the
   * adapter's setup_tx may carry more after a ':', e.g. the currency) */
  size_t n = strcspn(out->setup_tx, ":");
  if (tx && tx[0] && out->setup_tx[0] && (strlen(tx) != n || strncmp(tx, out->setup_tx, n) != 0))
    return PAYFLOW_FORGED;
  return method_converge(srv, out);
}

payflow_result_t payments_method_get(nimbus_server_t *srv, nimbus_id_t tenant_id,
                                     nimbus_id_t user_id, nimbus_payment_method_t *out) {
  store_status_t s = store_payment_method_get(srv->store, tenant_id, user_id, out);
  if (s == STORE_NOT_FOUND) return PAYFLOW_NOT_FOUND;
  if (s != STORE_OK) return PAYFLOW_ERROR;
  return method_converge(srv, out);
}

/* The clear reference of m (active) into ref; false when it does not open. */
static bool method_ref(nimbus_server_t *srv, const nimbus_payment_method_t *m, char *ref,
                       size_t len) {
  char ad[96];
  method_ad(m, ad, sizeof ad);
  size_t n = 0;
  if (m->sealed_len <= 0 ||
      !payments_unseal(srv, ad, m->sealed, (size_t)m->sealed_len, ref, len - 1, &n))
    return false;
  ref[n] = '\0';
  return true;
}

payflow_result_t payments_method_delete(nimbus_server_t *srv, nimbus_id_t tenant_id,
                                        nimbus_id_t user_id, const char *actor) {
  nimbus_payment_method_t *m = calloc(1, sizeof *m);
  if (!m) return PAYFLOW_ERROR;
  store_status_t s = store_payment_method_get(srv->store, tenant_id, user_id, m);
  payflow_result_t r = s == STORE_NOT_FOUND ? PAYFLOW_NOT_FOUND : PAYFLOW_ERROR;
  if (s != STORE_OK) goto out;
  char ref[PAY_METHOD_REF_MAX];
  const pay_provider_t *prov = NULL;
  pay_credentials_t *cred = calloc(1, sizeof *cred);
  if (cred && m->state == NIMBUS_METHOD_ACTIVE && method_ref(srv, m, ref, sizeof ref) &&
      payments_provider_open(srv, tenant_id, &prov, cred) == PAYFLOW_OK) {
    char msg[PAY_MSG_MAX];
    if (prov->method_remove(cred, ref, msg, sizeof msg) != PAY_OK)
      log_event(LOG_WARN, NULL, "payment method not removed at the provider (forgotten here)",
                "tenant_id", LOG_INT(tenant_id), "user_id", LOG_INT(user_id), (char *)NULL);
  }
  sodium_memzero(ref, sizeof ref);
  if (cred) sodium_memzero(cred, sizeof *cred);
  free(cred);
  char detail[96];
  snprintf(detail, sizeof detail, "provider=%s user_id=%" PRId64, m->provider, user_id);
  store_audit_t audit = {
      .tenant_id = tenant_id, .actor = actor, .action = "payment-method-removed", .detail = detail};
  s = store_payment_method_delete(srv->store, tenant_id, user_id, &audit);
  r = s == STORE_OK ? PAYFLOW_OK : s == STORE_NOT_FOUND ? PAYFLOW_NOT_FOUND : PAYFLOW_ERROR;
out:
  sodium_memzero(m, sizeof *m);
  free(m);
  return r;
}

pay_result_t payments_charge_saved(nimbus_server_t *srv, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                   const char *order_id, int64_t amount, const char *currency,
                                   const char *item, char *provider, pay_charge_res_t *out,
                                   char *msg, size_t msglen) {
  msg[0] = '\0';
  provider[0] = '\0';
  nimbus_payment_method_t *m = calloc(1, sizeof *m);
  pay_credentials_t *cred = calloc(1, sizeof *cred);
  char ref[PAY_METHOD_REF_MAX] = "";
  pay_result_t pr = PAY_UNAVAILABLE;
  if (!m || !cred) goto out;
  store_status_t s = store_payment_method_get(srv->store, tenant_id, user_id, m);
  if (s != STORE_OK && s != STORE_NOT_FOUND) goto out;
  if (s == STORE_NOT_FOUND || m->state != NIMBUS_METHOD_ACTIVE) {
    snprintf(msg, msglen, "no saved payment method");
    pr = PAY_DECLINED;
    goto out;
  }
  const pay_provider_t *prov = NULL;
  if (payments_provider_open(srv, tenant_id, &prov, cred) != PAYFLOW_OK) {
    snprintf(msg, msglen, "no payment provider");
    goto out;
  }
  if (strcmp(prov->name, m->provider) != 0) {
    snprintf(msg, msglen, "the saved method is with another provider: register again");
    pr = PAY_DECLINED;
    goto out;
  }
  if (!method_ref(srv, m, ref, sizeof ref)) {
    snprintf(msg, msglen, "the saved method does not open with this secrets key");
    pr = PAY_DECLINED;
    goto out;
  }
  snprintf(provider, 16, "%s", prov->name);
  char what[NIMBUS_TEXT_MAX + 16];
  snprintf(what, sizeof what, "Print: %.200s", item && item[0] ? item : "job");
  pay_charge_req_t req = {
      .ref = ref, .order_id = order_id, .amount = amount, .currency = currency, .item = what};
  pr = prov->charge_saved(cred, &req, out, msg, msglen);
out:
  sodium_memzero(ref, sizeof ref);
  if (cred) sodium_memzero(cred, sizeof *cred);
  if (m) sodium_memzero(m, sizeof *m);
  free(cred);
  free(m);
  return pr;
}
