#!/usr/bin/env python3
"""listener_probe.py: clients for test-connector-listener.sh that ipptool and
curl cannot be: raw IPP with the answer summarised, a slowly sent document,
and slow-loris connections from chosen loopback source addresses.

  ipp URL OP --user NAME [--document FILE] [--format MIME] [--pin DIGITS]
         [--slow SECONDS]
      OP: print-job, validate-job or create-job.  Prints one JSON line:
      status, status-message, job-state, job-state-reasons and whether a
      job-id came back.  --slow: the headers go at once, the body is
      trickled over SECONDS (an honest but slow PC).
  hold HOST PORT --sources A,B --per-source N --seconds S
      Keep N connections per source address sending request headers one
      byte at a time, opening a new one whenever the server closes one.
      Prints JSON counts: opened, closed_by_server.
  deadline HOST PORT --source A [--limit S]
      One connection trickling header bytes without end: exit 0 once the
      server closes it, 1 if it is still open after S seconds.
  per-address HOST PORT --source A --count N --path P --expect M [--limit S]
      Open N connections from A, each inside a POST to P (headers sent,
      body unfinished), and wait until the server has closed all but M of
      them (at most S seconds); prints how many are still open.
"""
import argparse
import json
import selectors
import socket
import struct
import sys
import time
import urllib.parse

OPS = {"print-job": 0x0002, "validate-job": 0x0004, "create-job": 0x0005}


def attr(tag, name, value):
    if isinstance(value, str):
        value = value.encode()
    return struct.pack(">BH", tag, len(name)) + name.encode() + struct.pack(">H", len(value)) + value


def parse_ipp(data):
    """status, and {name: [values]} of the operation and job groups."""
    status = struct.unpack(">H", data[2:4])[0]
    attrs, i, name = {}, 8, None
    while i < len(data):
        tag = data[i]
        i += 1
        if tag == 0x03:
            break
        if tag < 0x10:
            continue
        nlen = struct.unpack(">H", data[i:i + 2])[0]
        i += 2
        if nlen:
            name = data[i:i + nlen].decode()
        i += nlen
        vlen = struct.unpack(">H", data[i:i + 2])[0]
        i += 2
        raw = data[i:i + vlen]
        i += vlen
        if tag in (0x21, 0x23) and vlen == 4:
            value = struct.unpack(">i", raw)[0]
        else:
            value = raw.decode(errors="replace")
        attrs.setdefault(name, []).append(value)
    return status, attrs


def http_exchange(sock, head, body, slow):
    sock.sendall(head)
    if slow and body:
        step = max(1, len(body) // 20)
        for off in range(0, len(body), step):
            sock.sendall(body[off:off + step])
            time.sleep(slow / 20)
    else:
        sock.sendall(body)
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head_end = data.index(b"\r\n\r\n") + 4
    return data[:head_end], data[head_end:]


def cmd_ipp(a):
    u = urllib.parse.urlsplit(a.url)
    body = struct.pack(">BBHI", 2, 0, OPS[a.op], 1) + b"\x01"
    body += attr(0x47, "attributes-charset", "utf-8")
    body += attr(0x48, "attributes-natural-language", "en")
    body += attr(0x45, "printer-uri", a.url)
    body += attr(0x42, "requesting-user-name", a.user)
    body += attr(0x42, "job-name", "URGENT: call IT")
    if a.pin:
        body += attr(0x30, "job-password", a.pin) + attr(0x44, "job-password-encryption", "none")
    if a.format:
        body += attr(0x49, "document-format", a.format)
    body += b"\x03"
    if a.document:
        with open(a.document, "rb") as f:
            body += f.read()
    head = (f"POST {u.path} HTTP/1.1\r\nHost: {u.netloc}\r\nContent-Type: application/ipp\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection((u.hostname, u.port), timeout=60) as s:
        _, payload = http_exchange(s, head, body, a.slow)
    status, attrs = parse_ipp(payload)
    print(json.dumps({
        "status": f"0x{status:04x}",
        "message": (attrs.get("status-message") or [None])[0],
        "job-state": (attrs.get("job-state") or [None])[0],
        "job-state-reasons": attrs.get("job-state-reasons"),
        "job-id": bool(attrs.get("job-id")),
    }, sort_keys=True))


def trickle_connect(host, port, source):
    s = socket.create_connection((host, port), timeout=10, source_address=(source, 0))
    s.setblocking(False)
    return s


HEADER = b"POST /ipp/print HTTP/1.1\r\nHost: victim\r\nContent-Type: application/ipp\r\nX-Pad: "


def cmd_hold(a):
    sel = selectors.DefaultSelector()
    conns = {}  # socket -> bytes sent
    opened = closed = 0
    sources = a.sources.split(",")

    def top_up():
        nonlocal opened
        for src in sources:
            have = sum(1 for s in conns if s.getsockname()[0] == src)
            for _ in range(a.per_source - have):
                try:
                    s = trickle_connect(a.host, a.port, src)
                except OSError:
                    continue
                conns[s] = 0
                sel.register(s, selectors.EVENT_READ)
                opened += 1

    end = time.monotonic() + a.seconds
    while time.monotonic() < end:
        top_up()
        for key, _ in sel.select(timeout=0.2):
            s = key.fileobj
            try:
                gone = not s.recv(4096)
            except (BlockingIOError, InterruptedError):
                gone = False
            except OSError:
                gone = True
            if gone:
                sel.unregister(s)
                del conns[s]
                s.close()
                closed += 1
        for s in list(conns):
            n = conns[s]
            byte = HEADER[n:n + 1] or b"a"
            try:
                s.send(byte)
                conns[s] = n + 1
            except OSError:
                pass
    for s in conns:
        s.close()
    print(json.dumps({"opened": opened, "closed_by_server": closed}))


def cmd_deadline(a):
    s = socket.create_connection((a.host, a.port), timeout=1, source_address=(a.source, 0))
    end = time.monotonic() + a.limit
    n = 0
    while time.monotonic() < end:
        try:
            s.send(HEADER[n:n + 1] or b"a")
            n += 1
        except OSError:
            print("closed by the server")
            return 0
        try:
            if not s.recv(4096):
                print("closed by the server")
                return 0
        except socket.timeout:
            pass
        except OSError:
            print("closed by the server")
            return 0
    print("still open")
    return 1


def cmd_per_address(a):
    # Each connection sends complete headers and part of a body, so that
    # it is inside a request (no header deadline) and keeps its slot; the
    # server closes the ones over the per-address limit.
    req = (f"POST {a.path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
           f"Content-Length: 100000\r\n\r\n").encode() + b"\x02\x00"
    sel = selectors.DefaultSelector()
    for _ in range(a.count):
        s = socket.create_connection((a.host, a.port), timeout=10, source_address=(a.source, 0))
        try:
            s.sendall(req)
        except OSError:
            pass
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    open_ = a.count
    end = time.monotonic() + a.limit  # a bound for broken runs, not a timing assertion
    while open_ > a.expect and time.monotonic() < end:
        for key, _ in sel.select(timeout=0.5):
            try:
                gone = not key.fileobj.recv(4096)
            except BlockingIOError:
                gone = False
            except OSError:
                gone = True
            if gone:
                sel.unregister(key.fileobj)
                key.fileobj.close()
                open_ -= 1
    for key in list(sel.get_map().values()):
        key.fileobj.close()
    print(open_)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    q = sub.add_parser("ipp")
    q.add_argument("url")
    q.add_argument("op", choices=OPS)
    q.add_argument("--user", required=True)
    q.add_argument("--document")
    q.add_argument("--format")
    q.add_argument("--pin")
    q.add_argument("--slow", type=float, default=0)
    q = sub.add_parser("hold")
    q.add_argument("host")
    q.add_argument("port", type=int)
    q.add_argument("--sources", required=True)
    q.add_argument("--per-source", type=int, required=True)
    q.add_argument("--seconds", type=float, required=True)
    q = sub.add_parser("deadline")
    q.add_argument("host")
    q.add_argument("port", type=int)
    q.add_argument("--source", required=True)
    q.add_argument("--limit", type=float, default=30)
    q = sub.add_parser("per-address")
    q.add_argument("host")
    q.add_argument("port", type=int)
    q.add_argument("--source", required=True)
    q.add_argument("--count", type=int, required=True)
    q.add_argument("--path", default="/")
    q.add_argument("--expect", type=int, required=True, help="stop waiting at this many open")
    q.add_argument("--limit", type=float, default=30)
    a = p.parse_args()
    return {"ipp": cmd_ipp, "hold": cmd_hold, "deadline": cmd_deadline,
            "per-address": cmd_per_address}[a.cmd](a) or 0


sys.exit(main())
