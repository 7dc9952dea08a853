#!/usr/bin/env python3
"""ipp_strict.py: a strict reader of IPP responses for the tests that send
raw requests (ipptool reads its own answers with libcups).

A response must be an IPP message (RFC 8010 3.1) whose groups come in the
order RFC 8011 4.1.3 requires: one operation group first, led by
attributes-charset and attributes-natural-language; at most one
unsupported-attributes group, right after it; then the other groups
(printer, job, subscription, event notification, document, system); every
attribute inside the bytes; an end-of-attributes tag.  Anything else
raises IppStrictError.

usage: ipp_strict.py FILE...   prints the status code of each as 0xSSSS,
                               or the problem on stderr and exits 1
As a module: read_response(bytes) -> Response (status, request_id,
groups: [(group_tag, [(name, value_tag, value_bytes), ...])], end: the
offset just past the end-of-attributes tag, where document data starts)."""
import struct
import sys

TAG_OPERATION, TAG_JOB, TAG_END, TAG_PRINTER, TAG_UNSUPPORTED = 1, 2, 3, 4, 5
TAG_SYSTEM = 0x0A


class IppStrictError(ValueError):
    pass


class Response:
    def __init__(self, status, request_id, groups, end):
        self.status, self.request_id, self.groups, self.end = status, request_id, groups, end

    def first(self, name):
        """The first value (bytes) of the attribute `name`, or None."""
        for _, attrs in self.groups:
            for n, _, v in attrs:
                if n == name:
                    return v
        return None


def read_response(body):
    if len(body) < 9:
        raise IppStrictError("shorter than an IPP header (%d bytes)" % len(body))
    status, request_id = struct.unpack(">HI", body[2:8])
    if body[8] != TAG_OPERATION:
        raise IppStrictError("the first group is 0x%02x, not the operation group" % body[8])
    groups, i, seen = [], 8, set()
    name = None
    while i < len(body):
        tag = body[i]
        i += 1
        if tag == TAG_END:
            break
        if tag < 0x10:
            if tag == 0 or tag > TAG_SYSTEM:
                raise IppStrictError("reserved delimiter tag 0x%02x" % tag)
            if tag == TAG_OPERATION and groups:
                raise IppStrictError("a second operation group")
            if tag == TAG_UNSUPPORTED and (TAG_UNSUPPORTED in seen or seen - {TAG_OPERATION}):
                raise IppStrictError("unsupported attributes after a later group")
            seen.add(tag)
            groups.append((tag, []))
            continue
        if i + 2 > len(body):
            raise IppStrictError("an attribute runs past the end")
        (nlen,) = struct.unpack(">H", body[i:i + 2])
        if i + 2 + nlen + 2 > len(body):
            raise IppStrictError("an attribute name runs past the end")
        if nlen:
            name = body[i + 2:i + 2 + nlen].decode("utf-8", "replace")
        i += 2 + nlen
        (vlen,) = struct.unpack(">H", body[i:i + 2])
        if i + 2 + vlen > len(body):
            raise IppStrictError("the value of %s runs past the end" % name)
        groups[-1][1].append((name, tag, body[i + 2:i + 2 + vlen]))
        i += 2 + vlen
    else:
        raise IppStrictError("no end-of-attributes tag")
    op_names = [n for n, _, _ in groups[0][1]]
    if op_names[:2] != ["attributes-charset", "attributes-natural-language"]:
        raise IppStrictError("the operation group starts with %s" % op_names[:2])
    return Response(status, request_id, groups, i)


def main():
    for path in sys.argv[1:]:
        with open(path, "rb") as f:
            body = f.read()
        try:
            r = read_response(body)
        except IppStrictError as e:
            print("malformed IPP response: %s" % e, file=sys.stderr)
            sys.exit(1)
        print("0x%04x" % r.status)


if __name__ == "__main__":
    main()
