/*
 * ippmem.h: IPP messages to and from memory with libcups (ippReadIO /
 * ippWriteIO over a buffer), shared by nimbusd and nimbus-connector.
 */
#ifndef NIMBUS_IPPMEM_H
#define NIMBUS_IPPMEM_H

#include <cups/ipp.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * Decode an IPP message (or a bare attribute set) from buf/len.  Returns 1
 * with *out set and *used the bytes its attribute section took (what
 * follows is document data); 0 when the bytes end before the attribute
 * section does (send more); -1 when they are not IPP.
 */
int ippmem_decode(const void *buf, size_t len, ipp_t **out, size_t *used);

/*
 * Encode ipp into a malloc'd buffer (caller frees); NULL on failure.  The
 * groups go out in RFC 8011 order (operation, unsupported, then the others
 * as built) whatever order the attributes were added in.
 */
unsigned char *ippmem_encode(ipp_t *ipp, size_t *len);

/* Are ipp's attributes in RFC 8011 group order (no operation attribute
 * after another group, no unsupported attribute after a later group)? */
bool ippmem_groups_ordered(ipp_t *ipp);

#endif
