/*
 * panel-purpose.c: billing purposes on the release panel (see
 * panel-purpose.h).  Everything here works on nimbusd's JSON and writes
 * plain text; the HTML is panel-release.c's (escaped there).
 */
#include "panel-purpose.h"

#include <stdio.h>
#include <string.h>

/* A purpose's name when it is one nimbusd could have written (1..63
 * bytes, a string), else NULL. */
static const char *purpose_name(json_t *purpose) {
  const char *name = json_string_value(json_object_get(purpose, "name"));
  size_t n = name ? strlen(name) : 0;
  return n > 0 && n <= PURPOSE_NAME_MAX ? name : NULL;
}

bool purpose_words(json_t *purpose, char *out, size_t len) {
  if (len) out[0] = '\0';
  const char *name = json_is_object(purpose) ? purpose_name(purpose) : NULL;
  if (!name || !len) return false;
  const char *account = json_string_value(json_object_get(purpose, "account"));
  /* no account is a private purpose, whatever "private" says */
  if (account && *account && !json_is_true(json_object_get(purpose, "private")))
    snprintf(out, len, "%s (account %s)", name, account);
  else
    snprintf(out, len, "%s (private, paid by you)", name);
  return true;
}

int purpose_choices(json_t *purposes, json_t *job_purpose, const char *chosen,
                    purpose_choice_t *out, int max) {
  if (!json_is_array(purposes) || max < 2) return 0;
  const char *current = json_is_object(job_purpose) ? purpose_name(job_purpose) : NULL;
  if (!chosen) chosen = "";
  int n = 0;
  bool current_offered = false, chosen_offered = false;
  int usable = 0;
  size_t i;
  json_t *p;
  json_array_foreach(purposes, i, p) {
    const char *name = json_is_object(p) ? purpose_name(p) : NULL;
    if (!name) continue;
    usable++;
    if (current && !strcmp(name, current)) current_offered = true;
    if (*chosen && !strcmp(name, chosen)) chosen_offered = true;
  }
  if (!usable) return 0; /* nothing to choose from */
  if (!current_offered) {
    /* the job's own purpose is not one of the user's: keep it, as sent */
    purpose_choice_t *keep = &out[n++];
    memset(keep, 0, sizeof *keep);
    char words[PURPOSE_WORDS_MAX - 8]; /* room for "Keep: " */
    if (purpose_words(job_purpose, words, sizeof words))
      snprintf(keep->label, sizeof keep->label, "Keep: %s", words);
    else
      snprintf(keep->label, sizeof keep->label, "No purpose");
    keep->selected = !chosen_offered;
  }
  json_array_foreach(purposes, i, p) {
    const char *name = json_is_object(p) ? purpose_name(p) : NULL;
    if (!name) continue;
    if (n >= max) break;
    purpose_choice_t *c = &out[n++];
    memset(c, 0, sizeof *c);
    snprintf(c->value, sizeof c->value, "%s", name);
    purpose_words(p, c->label, sizeof c->label);
    c->selected = chosen_offered ? !strcmp(name, chosen) : (current && !strcmp(name, current));
  }
  return n;
}

json_t *purpose_release_body(const char *pin, const char *purpose) {
  json_t *body = json_object();
  if (!body) return NULL;
  if (pin && *pin && json_object_set_new(body, "pin", json_string(pin))) goto fail;
  if (purpose && *purpose && json_object_set_new(body, "purpose", json_string(purpose))) goto fail;
  return body;
fail:
  json_decref(body);
  return NULL;
}

/* Does the problem's type end with kind (after a '/', ':' or '#', or be it)? */
static bool purpose_type_is(json_t *problem, const char *kind) {
  const char *type = json_string_value(json_object_get(problem, "type"));
  if (!type) return false;
  size_t t = strlen(type), k = strlen(kind);
  if (t < k || strcmp(type + t - k, kind)) return false;
  return t == k || type[t - k - 1] == '/' || type[t - k - 1] == ':' || type[t - k - 1] == '#';
}

bool purpose_refusal(long status, json_t *problem, char *out, size_t len) {
  static const struct {
    long status;
    const char *kind, *words;
  } refusals[] = {
      {403, "account-authorization-failed", "You may not print for this purpose or account."},
      {409, "account-closed", "The account of this purpose is closed."},
      {402, "account-limit-reached", "There is not enough left on the account for this job."},
      {422, "purpose-required", "Choose a purpose for this job."},
  };
  if (len) out[0] = '\0';
  for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
    if (status != refusals[i].status || !purpose_type_is(problem, refusals[i].kind)) continue;
    const char *detail = json_string_value(json_object_get(problem, "detail"));
    if (len) snprintf(out, len, "%s", detail && *detail ? detail : refusals[i].words);
    return true;
  }
  return false;
}
