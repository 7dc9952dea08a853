/*
 * utf8.h: well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates,
 * nothing past U+10FFFF), shared by nimbusd and nimbus-connector.  IPP's
 * text and name values are UTF-8 (RFC 8011 §5.1.2), JSON strings too, and
 * a PostgreSQL store refuses anything else; every string from a client is
 * checked with these before it is stored.
 */
#ifndef NIMBUS_UTF8_H
#define NIMBUS_UTF8_H

#include <cups/ipp.h>
#include <stdbool.h>
#include <stddef.h>

/* Length of the well-formed UTF-8 sequence at p (avail bytes, avail > 0),
 * 0 if there is none. */
size_t utf8_seq_len(const unsigned char *p, size_t avail);

/* Whether s[0..len) is well-formed UTF-8. */
bool utf8_valid(const char *s, size_t len);

/* Whether libcups keeps the values of tag as C strings (text, name,
 * keyword, URI, URI scheme, charset, language, MIME type, and the
 * with-language forms): ippGetString reads them. */
bool utf8_ipp_string_tag(ipp_tag_t tag);

/* The first attribute of an IPP message with a string value (text, name,
 * keyword, URI, MIME type, language, charset, member names of
 * collections) that is not well-formed UTF-8; NULL when there is none. */
ipp_attribute_t *utf8_ipp_invalid(ipp_t *ipp);

#endif
