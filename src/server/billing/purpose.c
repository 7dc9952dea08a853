/*
 * purpose.c: which purpose a job names and whether its owner may use it
 * (purpose.h), checked when a job is submitted and again when it is
 * released.  A job-account-id names one of the owner's purposes, or else
 * the code of a shared account the owner may charge; nothing names a
 * purpose of another user.  Only reads: holds are placed by charge.c.
 */
#include "purpose.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "money.h"

bool purpose_required(store_t *st, nimbus_id_t tenant_id) {
  nimbus_tenant_billing_t b;
  return store_tenant_billing_get(st, tenant_id, &b) == STORE_OK && b.purpose_required;
}

/* Does the tenant bill by purpose at all: a currency, or purposes
 * required?  Where it does not, job-account-id is only recorded. */
static bool purpose_billing_in_use(store_t *st, nimbus_id_t tenant_id) {
  nimbus_tenant_billing_t b;
  return store_tenant_billing_get(st, tenant_id, &b) == STORE_OK &&
         (b.currency[0] || b.purpose_required);
}

/* What is left on account a before a new hold, or -1 when there is no
 * bound (invoiced without a limit). */
static int64_t purpose_account_room(const nimbus_billing_account_t *a) {
  if (a->mode == NIMBUS_ACCOUNT_PREPAID) return a->balance - a->held;
  if (a->credit_limit > 0) return a->credit_limit - a->charged - a->held;
  return -1;
}

/* May user_id charge account a (everyone, or a grant)? */
static purpose_result_t purpose_may_charge(store_t *st, const nimbus_billing_account_t *a,
                                           nimbus_id_t user_id) {
  if (a->everyone) return PURPOSE_OK;
  bool granted = false;
  if (store_account_granted(st, a->tenant_id, a->id, NIMBUS_GRANT_USER, user_id, &granted) !=
      STORE_OK)
    return PURPOSE_ERROR;
  return granted ? PURPOSE_OK : PURPOSE_NOT_ALLOWED;
}

/* The checks on a shared account: open, the user's to charge, this
 * printer allowed, room for estimate.  *out->account is filled. */
static purpose_result_t purpose_check_account(store_t *st, nimbus_id_t user_id, int64_t estimate,
                                              nimbus_id_t device_id, purpose_choice_t *out,
                                              char *msg, size_t msglen) {
  const nimbus_billing_account_t *a = &out->account;
  if (a->closed_at) {
    snprintf(msg, msglen, "account %s is closed", a->code);
    return PURPOSE_ACCOUNT_CLOSED;
  }
  purpose_result_t r = purpose_may_charge(st, a, user_id);
  if (r == PURPOSE_NOT_ALLOWED) snprintf(msg, msglen, "you may not charge account %s", a->code);
  if (r != PURPOSE_OK) return r;
  if (device_id && a->restrict_printers) {
    bool granted = false;
    if (store_account_granted(st, a->tenant_id, a->id, NIMBUS_GRANT_PRINTER, device_id, &granted) !=
        STORE_OK)
      return PURPOSE_ERROR;
    if (!granted) {
      snprintf(msg, msglen, "account %s may not be charged for this printer", a->code);
      return PURPOSE_PRINTER_REFUSED;
    }
  }
  int64_t room = purpose_account_room(a);
  /* at submission (estimate 0) there must be something left at all; the
   * exact estimate is held, atomically, at release (charge.c) */
  if (room >= 0 && (estimate > 0 ? room < estimate : room <= 0)) {
    snprintf(msg, msglen, "account %s has not enough left for this job", a->code);
    return PURPOSE_LIMIT;
  }
  return PURPOSE_OK;
}

/* A private purpose is charged to the user's saved payment method. */
static purpose_result_t purpose_check_method(store_t *st, nimbus_id_t tenant_id,
                                             nimbus_id_t user_id, char *msg, size_t msglen) {
  nimbus_payment_method_t m;
  store_status_t s = store_payment_method_get(st, tenant_id, user_id, &m);
  if (s != STORE_OK && s != STORE_NOT_FOUND) return PURPOSE_ERROR;
  if (s == STORE_OK && m.state == NIMBUS_METHOD_ACTIVE) return PURPOSE_OK;
  snprintf(msg, msglen,
           "a private purpose needs a saved payment method: register one first "
           "(POST /api/v1/me/payment-method)");
  return PURPOSE_NO_METHOD;
}

purpose_result_t purpose_admit(store_t *st, nimbus_id_t tenant_id, nimbus_id_t user_id,
                               bool copies_given, nimbus_job_t *job, char *msg, size_t msglen) {
  purpose_choice_t *ch = calloc(1, sizeof *ch);
  if (!ch) return PURPOSE_ERROR;
  purpose_result_t r =
      purpose_resolve(st, tenant_id, user_id, job->account_id, 0, 0, true, ch, msg, msglen);
  if (r == PURPOSE_OK) {
    /* the name the job keeps is the purpose's own (the default's, when
     * none was given) */
    snprintf(job->account_id, sizeof job->account_id, "%s", ch->purpose.name);
    if (!purpose_apply_defaults(&ch->purpose, copies_given, job)) {
      snprintf(msg, msglen, "the purpose's default settings do not fit this job");
      r = PURPOSE_ERROR;
    }
  }
  free(ch);
  return r;
}

purpose_result_t purpose_resolve(store_t *st, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                 const char *value, int64_t estimate, nimbus_id_t device_id,
                                 bool need_method, purpose_choice_t *out, char *msg,
                                 size_t msglen) {
  memset(out, 0, sizeof *out);
  msg[0] = '\0';
  store_status_t s;
  if (!value || !value[0]) {
    s = user_id ? store_purpose_get_default(st, tenant_id, user_id, &out->purpose)
                : STORE_NOT_FOUND;
    if (s == STORE_NOT_FOUND) {
      if (!purpose_required(st, tenant_id)) return PURPOSE_NONE;
      snprintf(msg, msglen, "this service requires a purpose (job-account-id) on every job");
      return PURPOSE_REQUIRED;
    }
    if (s != STORE_OK) return PURPOSE_ERROR;
  } else {
    if (!user_id) {
      /* nobody signed in: a label where nothing is billed */
      if (!purpose_billing_in_use(st, tenant_id)) return PURPOSE_NONE;
      snprintf(msg, msglen, "a purpose needs a signed-in user");
      return PURPOSE_NOT_ALLOWED;
    }
    s = store_purpose_get_by_name(st, tenant_id, user_id, value, &out->purpose);
    if (s == STORE_NOT_FOUND) {
      /* not a purpose of theirs: an account code they may charge? */
      s = store_account_get_by_code(st, tenant_id, value, &out->account);
      if (s == STORE_NOT_FOUND) {
        /* a tenant that bills nothing keeps job-account-id as a label */
        if (!purpose_billing_in_use(st, tenant_id)) return PURPOSE_NONE;
        snprintf(msg, msglen, "%.64s is neither one of your purposes nor an account you may charge",
                 value);
        return PURPOSE_NOT_ALLOWED;
      }
      if (s != STORE_OK) return PURPOSE_ERROR;
      snprintf(out->purpose.name, sizeof out->purpose.name, "%s", out->account.code);
      out->purpose.tenant_id = tenant_id;
      out->purpose.user_id = user_id;
      out->purpose.account_id = out->account.id;
      snprintf(out->purpose.account_code, sizeof out->purpose.account_code, "%s",
               out->account.code);
      snprintf(out->purpose.defaults, sizeof out->purpose.defaults, "{}");
      return purpose_check_account(st, user_id, estimate, device_id, out, msg, msglen);
    }
    if (s != STORE_OK) return PURPOSE_ERROR;
  }
  if (!out->purpose.account_id)
    return need_method ? purpose_check_method(st, tenant_id, user_id, msg, msglen) : PURPOSE_OK;
  s = store_account_get(st, tenant_id, out->purpose.account_id, &out->account);
  if (s == STORE_NOT_FOUND) {
    snprintf(msg, msglen, "the account of purpose %s no longer exists", out->purpose.name);
    return PURPOSE_NOT_ALLOWED;
  }
  if (s != STORE_OK) return PURPOSE_ERROR;
  return purpose_check_account(st, user_id, estimate, device_id, out, msg, msglen);
}
