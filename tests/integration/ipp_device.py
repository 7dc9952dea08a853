#!/usr/bin/env python3
"""ipp_device.py: a device-channel request ipptool cannot check: the
document bytes that follow a Fetch-Document response.

usage: ipp_device.py fetch-document PRINTER_URL UUID CREDENTIAL JOB_ID
Prints "<ipp-status-hex> <sha256 of the data after the attributes>"."""
import hashlib
import struct
import sys
import urllib.request


def attr(tag, name, value):
    if isinstance(value, str):
        value = value.encode()
    return struct.pack(">BH", tag, len(name)) + name.encode() + struct.pack(">H", len(value)) + value


def attributes_end(body):
    """Offset just past the end-of-attributes tag of an IPP message."""
    i = 8
    while i < len(body):
        tag = body[i]
        i += 1
        if tag == 0x03:
            return i
        if tag < 0x10:
            continue
        (nlen,) = struct.unpack(">H", body[i:i + 2])
        i += 2 + nlen
        (vlen,) = struct.unpack(">H", body[i:i + 2])
        i += 2 + vlen
    raise ValueError("no end-of-attributes tag")


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
    status = struct.unpack(">H", resp[2:4])[0]
    print(f"0x{status:04x} {hashlib.sha256(resp[attributes_end(resp):]).hexdigest()}")


main()
