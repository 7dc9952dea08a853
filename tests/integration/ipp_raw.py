#!/usr/bin/env python3
"""ipp_raw.py: build raw IPP requests for tests that need bytes ipptool
will not send (truncated, wrong version, over-long values).

usage: ipp_raw.py OPERATION PRINTER_URI [--version 1.1] [--request-id N]
                  [--job-name TEXT] [--job-name-hex HEX] [--truncate N] [--document FILE]
                  [--job-password-sha256 HEX] [--job-password PIN] [--job-id N]
                  [--which-jobs KEYWORD]
Writes the request to stdout."""
import argparse
import struct
import sys

OPS = {"print-job": 0x0002, "validate-job": 0x0004, "get-jobs": 0x000A,
       "get-printer-attributes": 0x000B, "release-job": 0x000D, "cancel-job": 0x0008}


def attr(tag, name, value):
    if isinstance(value, str):
        value = value.encode()
    return struct.pack(">BH", tag, len(name)) + name.encode() + struct.pack(">H", len(value)) + value


def main():
    p = argparse.ArgumentParser()
    p.add_argument("op")
    p.add_argument("uri")
    p.add_argument("--version", default="2.0")
    p.add_argument("--request-id", type=int, default=1)
    p.add_argument("--job-name")
    p.add_argument("--job-name-hex", help="job-name as raw bytes (hex), e.g. not UTF-8")
    p.add_argument("--user", default="tester")
    p.add_argument("--truncate", type=int)
    p.add_argument("--document")
    p.add_argument("--job-password-sha256", help="job-password as a SHA-256 digest (hex)")
    p.add_argument("--job-password", help="job-password in clear (encryption none)")
    p.add_argument("--job-id", type=int)
    p.add_argument("--which-jobs")
    a = p.parse_args()
    major, minor = (int(x) for x in a.version.split("."))
    body = struct.pack(">BBHI", major, minor, OPS[a.op], a.request_id)
    body += b"\x01"
    body += attr(0x47, "attributes-charset", "utf-8")
    body += attr(0x48, "attributes-natural-language", "en")
    body += attr(0x45, "printer-uri", a.uri)
    body += attr(0x42, "requesting-user-name", a.user)
    if a.job_id is not None:
        body += attr(0x21, "job-id", struct.pack(">i", a.job_id))
    if a.job_name is not None:
        body += attr(0x42, "job-name", a.job_name)
    if a.job_name_hex is not None:
        body += attr(0x42, "job-name", bytes.fromhex(a.job_name_hex))
    if a.which_jobs is not None:
        body += attr(0x44, "which-jobs", a.which_jobs)
    if a.job_password_sha256:
        body += attr(0x30, "job-password", bytes.fromhex(a.job_password_sha256))
        body += attr(0x44, "job-password-encryption", "sha2-256")
    if a.job_password is not None:
        body += attr(0x30, "job-password", a.job_password)
        body += attr(0x44, "job-password-encryption", "none")
    body += b"\x03"
    if a.document:
        with open(a.document, "rb") as f:
            body += f.read()
    if a.truncate is not None:
        body = body[:a.truncate]
    sys.stdout.buffer.write(body)


main()
