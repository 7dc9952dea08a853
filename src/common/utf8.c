/*
 * utf8.c: well-formed UTF-8 checks (see utf8.h).
 */
#include "utf8.h"

#include <string.h>

size_t utf8_seq_len(const unsigned char *p, size_t avail) {
  unsigned c = p[0], cp, min;
  size_t n;
  if (c < 0x80) return 1;
  if ((c & 0xe0) == 0xc0) {
    n = 2, cp = c & 0x1f, min = 0x80;
  } else if ((c & 0xf0) == 0xe0) {
    n = 3, cp = c & 0x0f, min = 0x800;
  } else if ((c & 0xf8) == 0xf0) {
    n = 4, cp = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (avail < n) return 0;
  for (size_t i = 1; i < n; i++) {
    if ((p[i] & 0xc0) != 0x80) return 0;
    cp = cp << 6 | (p[i] & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

bool utf8_valid(const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s;
  for (size_t i = 0; i < len;) {
    size_t n = utf8_seq_len(p + i, len - i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

bool utf8_ipp_string_tag(ipp_tag_t tag) {
  switch (tag) {
    case IPP_TAG_TEXT:
    case IPP_TAG_NAME:
    case IPP_TAG_TEXTLANG:
    case IPP_TAG_NAMELANG:
    case IPP_TAG_KEYWORD:
    case IPP_TAG_URI:
    case IPP_TAG_URISCHEME:
    case IPP_TAG_CHARSET:
    case IPP_TAG_LANGUAGE:
    case IPP_TAG_MIMETYPE:
      return true;
    default:
      return false;
  }
}

ipp_attribute_t *utf8_ipp_invalid(ipp_t *ipp) {
  for (ipp_attribute_t *a = ippFirstAttribute(ipp); a; a = ippNextAttribute(ipp)) {
    const char *name = ippGetName(a);
    if (name && !utf8_valid(name, strlen(name))) return a;
    ipp_tag_t tag = ippGetValueTag(a);
    int count = ippGetCount(a);
    for (int i = 0; i < count; i++) {
      if (tag == IPP_TAG_BEGIN_COLLECTION) {
        ipp_t *col = ippGetCollection(a, i);
        /* ippFirstAttribute keeps its cursor per message: the outer walk
         * goes on from `a` after the nested one. */
        if (col && utf8_ipp_invalid(col)) return a;
      } else if (utf8_ipp_string_tag(tag)) {
        const char *lang = NULL;
        const char *s = ippGetString(a, i, &lang);
        if (s && !utf8_valid(s, strlen(s))) return a;
      }
    }
  }
  return NULL;
}
