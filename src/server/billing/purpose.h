/*
 * purpose.h: purposes and billing accounts as policy (issue 13,
 * docs/BILLING.md): what a valid account code, purpose name and set of
 * default settings are; which purpose a job names and whether its owner
 * may use it (at submission and again at release); filling a job's
 * unset settings from its purpose's defaults.
 *
 * purpose-defaults.c: names, codes and default settings (validation and
 * application).  purpose.c: resolution and the permission check.
 */
#ifndef NIMBUS_PURPOSE_H
#define NIMBUS_PURPOSE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "model.h"
#include "store.h"

/* 1..32 of [A-Za-z0-9._-]. */
bool account_code_valid(const char *code);
/* 1..63 bytes of printable UTF-8, no control characters, no leading or
 * trailing space. */
bool purpose_name_valid(const char *name);
/* "invoiced" / "prepaid" and back; false / NULL when unknown. */
bool account_mode_parse(const char *s, nimbus_account_mode_t *out);
const char *account_mode_name(nimbus_account_mode_t m);

/*
 * Check and normalise a purpose's default settings given as a JSON object
 * (docs/BILLING.md DEFAULTS: copies, sides, print-color-mode, media,
 * finishings): unknown members and bad values are refused with err naming
 * the member.  out receives the compact JSON the store keeps ("{}" for
 * none).
 */
bool purpose_defaults_normalize(const json_t *in, char *out, size_t outlen, char *err,
                                size_t errlen);
/* The stored defaults as JSON (new reference; {} when empty or unreadable). */
json_t *purpose_defaults_json(const char *stored);

/*
 * Fill what job did not set from the purpose's defaults: copies when the
 * job's is 1 and copies_given is false; sides, print-color-mode, media and
 * finishings when job->attrs_json lacks them.  Rewrites job->attrs_json
 * (and job->copies); false when the result would not fit (nothing changed).
 */
bool purpose_apply_defaults(const nimbus_purpose_t *p, bool copies_given, nimbus_job_t *job);

/* What a job's job-account-id resolves to. */
typedef struct {
  nimbus_purpose_t purpose;         /* purpose.id 0: an account code named directly */
  nimbus_billing_account_t account; /* account.id 0: private (the user's own money) */
} purpose_choice_t;

typedef enum {
  PURPOSE_OK = 0,
  PURPOSE_NONE,            /* no purpose named and none needed */
  PURPOSE_REQUIRED,        /* the tenant requires one and the job names none (no default) */
  PURPOSE_NOT_ALLOWED,     /* no such purpose of the user, nor an account they may charge */
  PURPOSE_ACCOUNT_CLOSED,  /* its account is closed */
  PURPOSE_LIMIT,           /* the account's balance or limit does not cover the estimate */
  PURPOSE_PRINTER_REFUSED, /* the account does not allow this printer */
  PURPOSE_NO_METHOD,       /* private, and the user has no active payment method */
  PURPOSE_ERROR
} purpose_result_t;

/*
 * Which purpose does value (a job-account-id; NULL or "": the user's
 * default, if any) name for user user_id of tenant_id, and may they use
 * it?  Checks: the purpose is the user's (or the account code one they may
 * charge), its account is open, and, when estimate > 0, that the account
 * has room for it now; when device_id is not 0, that the account allows
 * that printer; a private purpose needs an active payment method when
 * need_method.  msg (for people) says why on refusal.
 */
purpose_result_t purpose_resolve(store_t *st, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                 const char *value, int64_t estimate, nimbus_id_t device_id,
                                 bool need_method, purpose_choice_t *out, char *msg, size_t msglen);

/*
 * A new job's purpose, when it is submitted: resolve job->account_id (or
 * the owner's default) for user_id (0: nobody signed in), check it as
 * purpose_resolve() does (no estimate, no printer yet), and when one
 * applies, write its name into job->account_id and fill the job's unset
 * settings from its defaults.  PURPOSE_NONE: the job has no purpose.
 */
purpose_result_t purpose_admit(store_t *st, nimbus_id_t tenant_id, nimbus_id_t user_id,
                               bool copies_given, nimbus_job_t *job, char *msg, size_t msglen);

/* Is the tenant's policy "a purpose on every job"? */
bool purpose_required(store_t *st, nimbus_id_t tenant_id);

/* The purpose as JSON for REST (new reference). */
json_t *purpose_json(const nimbus_purpose_t *p);
/* A billing account as JSON for REST; with_figures false for users (new reference). */
json_t *account_json(const nimbus_billing_account_t *a, const char *currency, bool with_figures);

#endif
