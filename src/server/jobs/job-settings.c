/*
 * job-settings.c: the supported values of a job's keyword settings
 * (job-settings.h).
 */
#include "job-settings.h"

#include <stddef.h>
#include <string.h>

const char *const job_sides_supported[] = {"one-sided", "two-sided-long-edge",
                                           "two-sided-short-edge", NULL};
const char *const job_media_supported[] = {"iso_a4_210x297mm",  "na_letter_8.5x11in",
                                           "iso_a3_297x420mm",  "iso_a5_148x210mm",
                                           "na_legal_8.5x14in", NULL};
const char *const job_color_modes_supported[] = {"auto", "color", "monochrome", NULL};

const char *const *job_settings_supported(const char *name) {
  if (!name) return NULL;
  if (strcmp(name, "sides") == 0) return job_sides_supported;
  if (strcmp(name, "media") == 0) return job_media_supported;
  if (strcmp(name, "print-color-mode") == 0) return job_color_modes_supported;
  return NULL;
}
