/*
 * ipp-caps.c: default capabilities of a cloud queue (job-template
 * attributes and their supported values; the keyword settings' lists are
 * jobs/job-settings.c's, which the REST upload checks too).  A printer that registers later
 * replaces these with its own (Update-Output-Device-Attributes).
 */
#include <string.h>

#include "ipp-private.h"
#include "job-settings.h"

static const char *const ipp_output_bins[] = {"face-down", NULL};
static const char *const ipp_mdh[] = {"separate-documents-uncollated-copies",
                                      "separate-documents-collated-copies", NULL};
static const char *const ipp_job_sheets[] = {"none", NULL};
static const char *const ipp_print_scaling[] = {"auto", "fill", "fit", "none", NULL};
static const int ipp_qualities[] = {3, 4, 5};
static const int ipp_orientations[] = {3, 4, 5, 6};
static const int ipp_finishings[] = {3};

const ipp_template_attr_t ipp_template_attrs[] = {
    {"sides", IPP_TAG_KEYWORD, job_sides_supported, NULL, 0, 0, 0, "one-sided", 0},
    {"media", IPP_TAG_KEYWORD, job_media_supported, NULL, 0, 0, 0, "iso_a4_210x297mm", 0},
    {"print-color-mode", IPP_TAG_KEYWORD, job_color_modes_supported, NULL, 0, 0, 0, "auto", 0},
    {"output-bin", IPP_TAG_KEYWORD, ipp_output_bins, NULL, 0, 0, 0, "face-down", 0},
    {"multiple-document-handling", IPP_TAG_KEYWORD, ipp_mdh, NULL, 0, 0, 0,
     "separate-documents-collated-copies", 0},
    {"job-sheets", IPP_TAG_NAME, ipp_job_sheets, NULL, 0, 0, 0, "none", 0},
    {"print-scaling", IPP_TAG_KEYWORD, ipp_print_scaling, NULL, 0, 0, 0, "auto", 0},
    {"print-quality", IPP_TAG_ENUM, NULL, ipp_qualities, 3, 0, 0, NULL, 4},
    {"orientation-requested", IPP_TAG_ENUM, NULL, ipp_orientations, 4, 0, 0, NULL, 3},
    {"finishings", IPP_TAG_ENUM, NULL, ipp_finishings, 1, 0, 0, NULL, 3},
    {"number-up", IPP_TAG_INTEGER, NULL, NULL, 0, 1, 16, NULL, 1},
    {"job-priority", IPP_TAG_INTEGER, NULL, NULL, 0, 1, 100, NULL, 50},
};
const size_t ipp_template_attrs_count = sizeof ipp_template_attrs / sizeof ipp_template_attrs[0];

const ipp_template_attr_t *ipp_template_attr_find(const char *name) {
  for (size_t i = 0; i < ipp_template_attrs_count; i++)
    if (strcmp(ipp_template_attrs[i].name, name) == 0) return &ipp_template_attrs[i];
  return NULL;
}
