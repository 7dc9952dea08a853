#!/usr/bin/env python3
"""ipp_device.py: a device-channel request ipptool cannot check: the
document bytes that follow a Fetch-Document response.

usage: ipp_device.py fetch-document PRINTER_URL UUID CREDENTIAL JOB_ID
Prints "<ipp-status-hex> <sha256 of the data after the attributes>"."""
import hashlib
import struct
import sys
import urllib.request

from ipp_strict import read_response


def attr(tag, name, value):
    if isinstance(value, str):
        value = value.encode()
    return struct.pack(">BH", tag, len(name)) + name.encode() + struct.pack(">H", len(value)) + value


def main():
    op, url, uuid, cred, job = sys.argv[1:6]
    assert op == "fetch-document"
    body = struct.pack(">BBHI", 2, 0, 0x0042, 1) + b"\x01"
    body += attr(0x47, "attributes-charset", "utf-8")
    body += attr(0x48, "attributes-natural-language", "en")
    body += attr(0x45, "printer-uri", url.replace("http://", "ipp://"))
    body += attr(0x45, "output-device-uuid", uuid)
    body += attr(0x21, "job-id", struct.pack(">i", int(job)))
    body += attr(0x21, "document-number", struct.pack(">i", 1))
    body += b"\x03"
    req = urllib.request.Request(url, data=body, headers={
        "Content-Type": "application/ipp", "Authorization": "Bearer " + cred})
    resp = urllib.request.urlopen(req, timeout=30).read()
    answer = read_response(resp)  # strict: raises on a malformed response
    print(f"0x{answer.status:04x} {hashlib.sha256(resp[answer.end:]).hexdigest()}")


main()
