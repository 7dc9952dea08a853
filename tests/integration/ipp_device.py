#!/usr/bin/env python3
"""ipp_device.py: device-channel requests whose answers ipptool cannot
check, every answer read with the strict decoder (ipp_strict.py).

usage: ipp_device.py fetch-document PRINTER_URL UUID CREDENTIAL JOB_ID
         prints "<ipp-status-hex> <sha256 of the data after the attributes>"
       ipp_device.py fetchable PRINTER_URL UUID CREDENTIAL
         Get-Jobs which-jobs=fetchable: prints the job ids, sorted and
         space-separated, or the status ("0x0403") when it is not ok
       ipp_device.py print PRINTER_URL UUID CREDENTIAL USER PIN PDF
         Print-Job through the printer for USER (PIN "" for none):
         prints the job id, or the status when it is not ok"""
import hashlib
import struct
import sys
import urllib.request

from ipp_strict import read_response


def attr(tag, name, value):
    if isinstance(value, str):
        value = value.encode()
    return struct.pack(">BH", tag, len(name)) + name.encode() + struct.pack(">H", len(value)) + value


def post(url, cred, body):
    req = urllib.request.Request(url, data=body, headers={
        "Content-Type": "application/ipp", "Authorization": "Bearer " + cred})
    resp = urllib.request.urlopen(req, timeout=30).read()
    return resp, read_response(resp)  # strict: raises on a malformed response


def header(op, url, uuid):
    body = struct.pack(">BBHI", 2, 0, op, 1) + b"\x01"
    body += attr(0x47, "attributes-charset", "utf-8")
    body += attr(0x48, "attributes-natural-language", "en")
    body += attr(0x45, "printer-uri", url.replace("http://", "ipp://"))
    body += attr(0x45, "output-device-uuid", uuid)
    return body


def fetch_document(url, uuid, cred, job):
    body = header(0x0042, url, uuid)
    body += attr(0x21, "job-id", struct.pack(">i", int(job)))
    body += attr(0x21, "document-number", struct.pack(">i", 1))
    body += b"\x03"
    resp, answer = post(url, cred, body)
    print(f"0x{answer.status:04x} {hashlib.sha256(resp[answer.end:]).hexdigest()}")


def fetchable(url, uuid, cred):
    body = header(0x000A, url, uuid) + attr(0x44, "which-jobs", "fetchable") + b"\x03"
    _, answer = post(url, cred, body)
    if answer.status:
        print(f"0x{answer.status:04x}")
        return
    ids = sorted(struct.unpack(">i", v)[0] for _, attrs in answer.groups[1:]
                 for n, _, v in attrs if n == "job-id")
    print(" ".join(map(str, ids)))


def print_for(url, uuid, cred, user, pin, path):
    body = header(0x0002, url, uuid) + attr(0x42, "requesting-user-name", user)
    body += attr(0x42, "job-name", "from the PC")
    if pin:
        body += attr(0x30, "job-password", pin) + attr(0x44, "job-password-encryption", "none")
    body += attr(0x49, "document-format", "application/pdf") + b"\x03"
    with open(path, "rb") as f:
        body += f.read()
    _, answer = post(url, cred, body)
    job = answer.first("job-id")
    print(struct.unpack(">i", job)[0] if answer.status == 0 and job else f"0x{answer.status:04x}")


def main():
    op = sys.argv[1]
    if op == "fetch-document":
        fetch_document(*sys.argv[2:6])
    elif op == "fetchable":
        fetchable(*sys.argv[2:5])
    elif op == "print":
        print_for(*sys.argv[2:8])
    else:
        sys.exit("usage: see the docstring of " + sys.argv[0])


if __name__ == "__main__":
    main()
