/*
 * device-settings.c: the settings a user may change at the printer and
 * their application to a job's record (device-settings.h).
 */
#include "device-settings.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ippmem.h"
#include "job-settings.h"

/* Copy the NULL-terminated list into out[], *n values. */
static void choices_from_list(const char *const *list, char out[][NIMBUS_NAME_MAX], int *n) {
  *n = 0;
  for (int i = 0; list[i] && *n < DEVICE_CHOICES_MAX; i++)
    snprintf(out[(*n)++], NIMBUS_NAME_MAX, "%s", list[i]);
}

void device_choices_default(device_choices_t *out) {
  memset(out, 0, sizeof *out);
  out->copies_max = DEVICE_COPIES_MAX;
  choices_from_list(job_sides_supported, out->sides, &out->nsides);
  choices_from_list(job_color_modes_supported, out->color, &out->ncolor);
  choices_from_list(job_media_supported, out->media, &out->nmedia);
}

/* The keyword values of attribute name in ipp into out[] (*n), when the
 * device reported at least one; otherwise *n is left as it is. */
static void choices_from_ipp(ipp_t *ipp, const char *name, char out[][NIMBUS_NAME_MAX], int *n) {
  ipp_attribute_t *a = ippFindAttribute(ipp, name, IPP_TAG_ZERO);
  if (!a || ippGetCount(a) <= 0) return;
  int k = 0;
  for (int i = 0; i < ippGetCount(a) && k < DEVICE_CHOICES_MAX; i++) {
    const char *v = ippGetString(a, i, NULL);
    if (v && v[0] && strlen(v) < NIMBUS_NAME_MAX) snprintf(out[k++], NIMBUS_NAME_MAX, "%s", v);
  }
  if (k > 0) *n = k;
}

store_status_t device_choices_get(store_t *st, const nimbus_device_t *d, device_choices_t *out) {
  device_choices_default(out);
  void *blob = NULL;
  size_t len = 0;
  store_status_t s = store_device_get_attrs(st, d->tenant_id, d->id, &blob, &len);
  if (s != STORE_OK) return s;
  ipp_t *ipp = NULL;
  if (blob && len && ippmem_decode(blob, len, &ipp, NULL) == 1 && ipp) {
    ipp_attribute_t *c = ippFindAttribute(ipp, "copies-supported", IPP_TAG_ZERO);
    int lower = 0, upper = 0;
    if (c && ippGetValueTag(c) == IPP_TAG_RANGE) {
      lower = ippGetRange(c, 0, &upper);
      (void)lower;
      if (upper >= 1) out->copies_max = upper > DEVICE_COPIES_MAX ? DEVICE_COPIES_MAX : upper;
    } else if (c && ippGetValueTag(c) == IPP_TAG_INTEGER && ippGetInteger(c, 0) >= 1) {
      out->copies_max = ippGetInteger(c, 0);
    }
    choices_from_ipp(ipp, "sides-supported", out->sides, &out->nsides);
    choices_from_ipp(ipp, "print-color-mode-supported", out->color, &out->ncolor);
    choices_from_ipp(ipp, "media-supported", out->media, &out->nmedia);
  }
  ippDelete(ipp);
  free(blob);
  return STORE_OK;
}

bool device_settings_any(const device_settings_t *s) {
  return s && (s->copies || s->sides[0] || s->color[0] || s->media[0]);
}

/* Is v one of list[0..n)? */
static bool choices_have(char list[][NIMBUS_NAME_MAX], int n, const char *v) {
  for (int i = 0; i < n; i++)
    if (strcmp(list[i], v) == 0) return true;
  return false;
}

const char *device_settings_check(const device_choices_t *choices, const device_settings_t *s) {
  device_choices_t *ch = (device_choices_t *)choices; /* read only */
  if (s->copies && (s->copies < 1 || s->copies > ch->copies_max)) return "copies";
  if (s->sides[0] && !choices_have(ch->sides, ch->nsides, s->sides)) return "sides";
  if (s->color[0] && !choices_have(ch->color, ch->ncolor, s->color)) return "print-color-mode";
  if (s->media[0] && !choices_have(ch->media, ch->nmedia, s->media)) return "media";
  return NULL;
}

void device_settings_of(const nimbus_job_t *job, device_settings_t *out) {
  memset(out, 0, sizeof *out);
  out->copies = job->copies > 0 ? job->copies : 1;
  json_t *a = json_loads(job->attrs_json[0] ? job->attrs_json : "{}", 0, NULL);
  const char *v;
  /* none given: the job prints with the default (job-settings.h) */
  v = json_string_value(json_object_get(a, "sides"));
  snprintf(out->sides, sizeof out->sides, "%s", v ? v : job_sides_supported[0]);
  v = json_string_value(json_object_get(a, "print-color-mode"));
  snprintf(out->color, sizeof out->color, "%s", v ? v : job_color_modes_supported[0]);
  if ((v = json_string_value(json_object_get(a, "media"))))
    snprintf(out->media, sizeof out->media, "%s", v);
  json_decref(a);
}

/* Set attrs[name] to v when v is asked for and differs from the job's
 * value was; note it in detail.  true when it changed. */
static bool settings_set(json_t *attrs, const char *name, const char *was, const char *v,
                         char *detail, size_t len) {
  if (!v[0] || strcmp(v, was) == 0) return false;
  json_object_set_new(attrs, name, json_string(v));
  size_t used = strlen(detail);
  snprintf(detail + used, len - used, "%s%s %s->%s", used ? " " : "", name, was[0] ? was : "-", v);
  return true;
}

bool device_settings_apply(nimbus_job_t *job, const device_settings_t *s, const char *actor,
                           char detail[DEVICE_SETTINGS_DETAIL], job_settings_change_t *change,
                           bool *too_long) {
  *too_long = false;
  detail[0] = '\0';
  device_settings_t was;
  device_settings_of(job, &was);
  json_t *attrs = json_loads(job->attrs_json[0] ? job->attrs_json : "{}", 0, NULL);
  if (!json_is_object(attrs)) {
    json_decref(attrs);
    attrs = json_object();
  }
  bool changed = false;
  if (s->copies && s->copies != was.copies) {
    snprintf(detail, DEVICE_SETTINGS_DETAIL, "copies %d->%d", was.copies, s->copies);
    changed = true;
  }
  changed |= settings_set(attrs, "sides", was.sides, s->sides, detail, DEVICE_SETTINGS_DETAIL);
  changed |=
      settings_set(attrs, "print-color-mode", was.color, s->color, detail, DEVICE_SETTINGS_DETAIL);
  changed |= settings_set(attrs, "media", was.media, s->media, detail, DEVICE_SETTINGS_DETAIL);
  char *text = changed ? json_dumps(attrs, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  json_decref(attrs);
  if (!changed) return false;
  if (!text || strlen(text) >= sizeof job->attrs_json) {
    free(text);
    *too_long = true;
    return false;
  }
  snprintf(job->attrs_json, sizeof job->attrs_json, "%s", text);
  free(text);
  if (s->copies) job->copies = s->copies;
  int64_t imp = (int64_t)job->pages * job->copies;
  job->impressions = imp > 2147483647 ? 2147483647 : (int)imp;
  size_t used = strlen(detail);
  snprintf(detail + used, DEVICE_SETTINGS_DETAIL - used, " by %s", actor ? actor : "-");
  *change = (job_settings_change_t){.copies = job->copies,
                                    .impressions = job->impressions,
                                    .attrs_json = job->attrs_json,
                                    .detail = detail};
  return true;
}
