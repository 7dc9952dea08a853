#!/usr/bin/env python3
"""pc-print.py: a PC printing to nimbus-connector's local IPP printer, for
bench/run-connector.sh.  Sends one Print-Job (HTTP chunked, 256 KiB
chunks) as USER with PIN, while a thread polls nimbusd's spool for the
first partial upload (tmp/<node-id>/*/*.part) holding at least one byte.

usage: pc-print.py PRINTER_URI FILE SPOOL_DIR [--user alice] [--pin 1234]
Prints one JSON line: status (IPP status code), job_id, bytes, total_s
(first byte sent to answer read), first_byte_ms (first byte sent by the
PC to the first byte in nimbusd's spool file; null if never seen)."""
import argparse
import glob
import http.client
import json
import os
import struct
import threading
import time
import urllib.parse


def attr(tag, name, value):
    if isinstance(value, str):
        value = value.encode()
    return struct.pack(">BH", tag, len(name)) + name.encode() + struct.pack(">H", len(value)) + value


def header(uri, user, pin, name):
    body = struct.pack(">BBHI", 2, 0, 0x0002, 1) + b"\x01"
    body += attr(0x47, "attributes-charset", "utf-8")
    body += attr(0x48, "attributes-natural-language", "en")
    body += attr(0x45, "printer-uri", uri)
    body += attr(0x42, "requesting-user-name", user)
    body += attr(0x42, "job-name", name)
    body += attr(0x30, "job-password", pin)
    body += attr(0x44, "job-password-encryption", "none")
    body += attr(0x49, "document-format", "application/pdf")
    return body + b"\x03"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("uri")
    p.add_argument("file")
    p.add_argument("spool")
    p.add_argument("--user", default="alice")
    p.add_argument("--pin", default="1234")
    a = p.parse_args()
    u = urllib.parse.urlsplit(a.uri)
    before = set(glob.glob(os.path.join(a.spool, "tmp", "*", "*", "*.part")))
    seen = {}
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            for f in glob.glob(os.path.join(a.spool, "tmp", "*", "*", "*.part")):
                if f in before:
                    continue
                try:
                    if os.path.getsize(f) > 0:
                        seen["t"] = time.monotonic()
                        return
                except OSError:
                    pass
            time.sleep(0.0005)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=900)
    conn.putrequest("POST", u.path)
    conn.putheader("Content-Type", "application/ipp")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    size = 0

    def chunk(data):
        conn.send(b"%x\r\n" % len(data) + data + b"\r\n")

    t0 = time.monotonic()
    chunk(header(a.uri, a.user, a.pin, os.path.basename(a.file)))
    with open(a.file, "rb") as f:
        while True:
            data = f.read(256 * 1024)
            if not data:
                break
            chunk(data)
            size += len(data)
    conn.send(b"0\r\n\r\n")
    resp = conn.getresponse()
    answer = resp.read()
    t1 = time.monotonic()
    stop.set()
    status = struct.unpack(">H", answer[2:4])[0] if len(answer) >= 8 else -1
    job_id = None
    i = answer.find(b"\x21\x00\x06job-id\x00\x04")
    if i >= 0:
        job_id = struct.unpack(">i", answer[i + 11:i + 15])[0]
    print(json.dumps({"status": status, "job_id": job_id, "bytes": size,
                      "total_s": round(t1 - t0, 3),
                      "first_byte_ms": round((seen["t"] - t0) * 1000, 1) if "t" in seen else None}))


main()
