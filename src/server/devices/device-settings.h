/*
 * device-settings.h: settings changed at the printer before a release
 * (FEDERATION.md §5): copies, sides, print-color-mode and media, checked
 * against what the printer reported it supports (its
 * Update-Output-Device-Attributes: copies-supported, sides-supported,
 * print-color-mode-supported, media-supported) or, away from a printer
 * (REST release), against the queue's supported values (job-settings.h);
 * and applied to a job's record (copies, impressions, attrs_json).
 */
#ifndef NIMBUS_DEVICE_SETTINGS_H
#define NIMBUS_DEVICE_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "job.h"
#include "model.h"
#include "store.h"

#define DEVICE_COPIES_MAX 999 /* copies-supported upper bound when none is reported */
#define DEVICE_CHOICES_MAX 24 /* values kept per keyword attribute */
#define DEVICE_SETTINGS_DETAIL 200

/* The values a user may pick, per attribute. */
typedef struct {
  int copies_max;
  int nsides, ncolor, nmedia;
  char sides[DEVICE_CHOICES_MAX][NIMBUS_NAME_MAX];
  char color[DEVICE_CHOICES_MAX][NIMBUS_NAME_MAX];
  char media[DEVICE_CHOICES_MAX][NIMBUS_NAME_MAX];
} device_choices_t;

/* Settings asked for: copies 0 and "" are "unchanged". */
typedef struct device_settings_s {
  int copies;
  char sides[NIMBUS_NAME_MAX];
  char color[NIMBUS_NAME_MAX]; /* print-color-mode */
  char media[NIMBUS_NAME_MAX];
} device_settings_t;

/* The queue's supported values (job-settings.h), copies 1..999: what a
 * REST release is checked against, and what a printer offers for each
 * attribute it did not report. */
void device_choices_default(device_choices_t *out);

/* The choices of printer d: each attribute it reported replaces the
 * default (device_choices_default); STORE_OK also when it reported
 * nothing. */
store_status_t device_choices_get(store_t *st, const nimbus_device_t *d, device_choices_t *out);

/* Is any setting asked for? */
bool device_settings_any(const device_settings_t *s);

/* NULL when every setting asked for is among choices; else the member
 * name of the first that is not ("copies", "sides", "print-color-mode",
 * "media"). */
const char *device_settings_check(const device_choices_t *choices, const device_settings_t *s);

/* The job's settings now: copies, and sides, print-color-mode, media from
 * its attrs_json; without sides or print-color-mode the defaults it
 * prints with (one-sided, auto: job-settings.h), without media "" (the
 * printer's default). */
void device_settings_of(const nimbus_job_t *job, device_settings_t *out);

/*
 * Apply s to *job in memory (copies, impressions = pages x copies,
 * attrs_json) and fill *change (its strings point into *job and detail)
 * for job_release_set() and friends; detail receives what changed
 * ("copies 1->2 sides one-sided->two-sided-long-edge", then " by actor").
 * false when nothing changes (then *change is unset) or the attributes
 * would no longer fit (*too_long set).
 */
bool device_settings_apply(nimbus_job_t *job, const device_settings_t *s, const char *actor,
                           char detail[DEVICE_SETTINGS_DETAIL], job_settings_change_t *change,
                           bool *too_long);

#endif
