/*
 * job-settings.h: the values a queue supports for a job's keyword
 * settings (sides, print-color-mode, media): the one list IPP job
 * creation checks them against (ipp/ipp-caps.c, reported as
 * <name>-supported) and the REST upload and price preview check them
 * against (api/).  A job stores the value it was given in its attrs_json
 * under the IPP attribute's name.
 */
#ifndef NIMBUS_JOB_SETTINGS_H
#define NIMBUS_JOB_SETTINGS_H

/* NULL-terminated; the first value is the default. */
extern const char *const job_sides_supported[];
extern const char *const job_media_supported[];
extern const char *const job_color_modes_supported[];

/* The list for the IPP attribute name ("sides", "print-color-mode",
 * "media"); NULL for any other name. */
const char *const *job_settings_supported(const char *name);

#endif
