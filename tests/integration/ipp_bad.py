#!/usr/bin/env python3
"""ipp_bad.py: raw IPP requests in shapes ipp_raw.py does not build, for
test-bad-input.sh: a declared document-format, and an attribute section
padded past the server's --max-ipp-header.

usage: ipp_bad.py OPERATION PRINTER_URI [--user NAME] [--job-name TEXT]
                  [--document-format MIME] [--compression KEYWORD]
                  [--requested-attributes KW,KW,...] [--pad BYTES] [--document FILE]
Writes the request (version 2.0, request-id 1) to stdout.  As a module:
request(argv) returns it (several requests from one python process).

--pad BYTES adds operation attributes named "x-nimbus-filler" (octetString,
at most 32000 octets each, the encoding allows 32767) until the attribute
section has grown by at least BYTES octets."""
import argparse
import struct
import sys

OPS = {"print-job": 0x0002, "validate-job": 0x0004, "get-jobs": 0x000A,
       "get-printer-attributes": 0x000B}
TAG_OPERATION, TAG_END = 0x01, 0x03
TAG_OCTETSTRING, TAG_KEYWORD, TAG_URI, TAG_CHARSET, TAG_LANGUAGE, TAG_NAME, TAG_MIME = \
    0x30, 0x44, 0x45, 0x47, 0x48, 0x42, 0x49
FILLER_CHUNK = 32000


def attr(tag, name, value):
    if isinstance(value, str):
        value = value.encode()
    return (struct.pack(">BH", tag, len(name)) + name.encode() +
            struct.pack(">H", len(value)) + value)


def request(argv):
    """The request the command line argv (without the program name) describes."""
    p = argparse.ArgumentParser()
    p.add_argument("op", choices=sorted(OPS))
    p.add_argument("uri")
    p.add_argument("--user", default="tester")
    p.add_argument("--job-name")
    p.add_argument("--document-format")
    p.add_argument("--compression")
    p.add_argument("--requested-attributes",
                   help="comma-separated keywords, sent as one 1setOf attribute")
    p.add_argument("--pad", type=int, default=0)
    p.add_argument("--document")
    a = p.parse_args(argv)
    body = struct.pack(">BBHI", 2, 0, OPS[a.op], 1)
    body += bytes([TAG_OPERATION])
    body += attr(TAG_CHARSET, "attributes-charset", "utf-8")
    body += attr(TAG_LANGUAGE, "attributes-natural-language", "en")
    body += attr(TAG_URI, "printer-uri", a.uri)
    body += attr(TAG_NAME, "requesting-user-name", a.user)
    if a.job_name is not None:
        body += attr(TAG_NAME, "job-name", a.job_name)
    if a.document_format is not None:
        body += attr(TAG_MIME, "document-format", a.document_format)
    if a.compression is not None:
        body += attr(TAG_KEYWORD, "compression", a.compression)
    if a.requested_attributes is not None:
        for i, kw in enumerate(a.requested_attributes.split(",")):
            # additional values of a 1setOf have an empty name (RFC 8010 3.1.5)
            body += attr(TAG_KEYWORD, "requested-attributes" if i == 0 else "", kw)
    left = a.pad
    while left > 0:
        n = min(left, FILLER_CHUNK)
        body += attr(TAG_OCTETSTRING, "x-nimbus-filler", b"x" * n)
        left -= n
    body += bytes([TAG_END])
    if a.document:
        with open(a.document, "rb") as f:
            body += f.read()
    return body


if __name__ == "__main__":
    sys.stdout.buffer.write(request(sys.argv[1:]))
