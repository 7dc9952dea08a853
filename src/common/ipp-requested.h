/*
 * ipp-requested.h: requested-attributes made safe for libcups, shared by
 * nimbusd and nimbus-connector.
 *
 * libcups' ippCreateRequestedArray() expands every group keyword ("all",
 * "job-template", ...) into a sorted array without skipping duplicates, so
 * a request repeating "all" a thousand times costs time quadratic in the
 * number of names (seconds to hours of one thread).  Every request is
 * passed through ipp_requested_normalize() before any operation reads it.
 */
#ifndef NIMBUS_IPP_REQUESTED_H
#define NIMBUS_IPP_REQUESTED_H

#include <cups/ipp.h>

/* Most distinct requested-attributes values a request may carry (real
 * clients ask for a few dozen). */
#define IPP_REQUESTED_MAX 1024

typedef enum {
  IPP_REQUESTED_OK = 0,   /* absent, or now without duplicates */
  IPP_REQUESTED_TOO_MANY, /* more than max distinct values: refuse the request */
  IPP_REQUESTED_ERROR     /* out of memory */
} ipp_requested_status_t;

/*
 * Remove duplicate values from the request's requested-attributes
 * (keyword) attribute in place, in O(n log n); values keep their first
 * spelling, the order becomes sorted (it is a set).  On TOO_MANY the
 * request is left as it was; on ERROR it may be half done and must be
 * refused.
 */
ipp_requested_status_t ipp_requested_normalize(ipp_t *request, int max);

#endif
