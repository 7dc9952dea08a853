/*
 * ipp-requested.c: deduplicate and bound requested-attributes (see
 * ipp-requested.h).
 */
#include "ipp-requested.h"

#include <stdlib.h>
#include <string.h>

static int ipp_requested_cmp(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

ipp_requested_status_t ipp_requested_normalize(ipp_t *request, int max) {
  ipp_attribute_t *attr = ippFindAttribute(request, "requested-attributes", IPP_TAG_ZERO);
  /* libcups reads only a keyword attribute; anything else it ignores */
  if (!attr || ippGetValueTag(attr) != IPP_TAG_KEYWORD) return IPP_REQUESTED_OK;
  int n = ippGetCount(attr);
  if (n <= 1) return IPP_REQUESTED_OK;

  ipp_requested_status_t status = IPP_REQUESTED_ERROR;
  const char **sorted = malloc((size_t)n * sizeof *sorted);
  char **unique = NULL;
  int nunique = 0;
  if (!sorted) goto done;
  for (int i = 0; i < n; i++) {
    const char *v = ippGetString(attr, i, NULL);
    sorted[i] = v ? v : "";
  }
  qsort(sorted, (size_t)n, sizeof *sorted, ipp_requested_cmp);
  for (int i = 0; i < n; i++)
    if (i == 0 || strcmp(sorted[i], sorted[i - 1]) != 0) nunique++;
  if (nunique > max) {
    status = IPP_REQUESTED_TOO_MANY;
    goto done;
  }
  if (nunique == n) {
    status = IPP_REQUESTED_OK;
    goto done;
  }
  /* Copies first: setting a value frees the string it replaces, which
   * may be one still to be copied.  The unique values go to the end and
   * the head is deleted: libcups 2.4's ippDeleteValues() refuses a range
   * that ends at the last value. */
  unique = calloc((size_t)nunique, sizeof *unique);
  if (!unique) goto done;
  for (int i = 0, k = 0; i < n; i++) {
    if (i > 0 && strcmp(sorted[i], sorted[i - 1]) == 0) continue;
    if (!(unique[k++] = strdup(sorted[i]))) goto done;
  }
  for (int k = 0; k < nunique; k++)
    if (!ippSetString(request, &attr, n - nunique + k, unique[k])) goto done;
  if (!ippDeleteValues(request, &attr, 0, n - nunique)) goto done;
  status = IPP_REQUESTED_OK;
done:
  for (int k = 0; unique && k < nunique; k++) free(unique[k]);
  free(unique);
  free(sorted);
  return status;
}
