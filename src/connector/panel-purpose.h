/*
 * panel-purpose.h: billing purposes on the release panel (issue 13,
 * docs/BILLING.md): the words that say what a job is printed for, the
 * choices offered before the release (the signed-in user's own purposes,
 * GET /device/purposes), the release's body with the chosen purpose, and
 * telling nimbusd's purpose refusals from its other answers.  Pure
 * functions on jansson values (no HTML, no I/O): panel-release.c writes
 * the screens with them, tests/unit/test-connector-purpose.c checks them.
 */
#ifndef NIMBUS_CONNECTOR_PANEL_PURPOSE_H
#define NIMBUS_CONNECTOR_PANEL_PURPOSE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define PURPOSE_NAME_MAX 63     /* bytes of a purpose's name (BILLING.md) */
#define PURPOSE_WORDS_MAX 200   /* "NAME (account CODE)" and the like */
#define PURPOSE_CHOICES_MAX 32  /* options of the purpose control */
#define PURPOSE_REFUSAL_MAX 300 /* a refusal in words */

/*
 * A purpose ({"name","account":CODE|null,"private":bool}, as in a
 * panel-job's "purpose" and in GET /device/purposes) in words:
 * "Client A (account CLIENT-A)", "Personal (private, paid by you)".
 * False, out "", when purpose is null, absent or has no usable name.
 */
bool purpose_words(json_t *purpose, char *out, size_t len);

/* One option of the purpose control: value is what the release sends
 * ("": keep the job's purpose, nothing sent). */
typedef struct {
  char value[PURPOSE_NAME_MAX + 1];
  char label[PURPOSE_WORDS_MAX];
  bool selected;
} purpose_choice_t;

/*
 * The options offered on the job's screen: the user's own purposes
 * (purposes: the "purposes" array), in nimbusd's order, skipping entries
 * without a usable name; when the job's purpose (job_purpose) is not one
 * of them (none, or submitted with an account code), a first option ""
 * that keeps it ("Keep: ..." or "No purpose").  Selected: chosen (the
 * user's last choice on this screen) when it is offered, else the job's
 * own purpose.  Returns the count, 0 when the user has no purposes (no
 * control is shown then).
 */
int purpose_choices(json_t *purposes, json_t *job_purpose, const char *chosen,
                    purpose_choice_t *out, int max);

/*
 * The body of POST /device/jobs/{id}/release: {"pin"?, "purpose"?}; pin
 * and purpose are left out when NULL or empty.  NULL when out of memory.
 * The caller frees it (json_decref; jansson keeps a copy of the PIN).
 */
json_t *purpose_release_body(const char *pin, const char *purpose);

/*
 * Is a refused release one of nimbusd's purpose refusals (problem type
 * ending in account-authorization-failed with 403, account-closed with
 * 409, account-limit-reached with 402, purpose-required with 422)?  When
 * it is, out gets the words for the person at the printer: the problem's
 * "detail", or a fixed sentence when it has none.  problem: the answer's
 * body (may be NULL).
 */
bool purpose_refusal(long status, json_t *problem, char *out, size_t len);

#endif
