#!/usr/bin/env python3
"""held_poll.py: a held Get-Notifications (notify-wait) on raw sockets, to
check what the HTTP engine does with a long-poll it takes out of
libmicrohttpd (docs/ARCHITECTURE.md, "Parked printers"):

  1. a held request gets no answer while nothing happens;
  2. the device's next long-poll (another connection) replaces it: the
     older one is answered at once, empty, and its connection stays open
     and serves the next request (the connection went back to the engine);
  3. a held connection whose client hangs up is replaced and freed;
  4. HTTP/1.0 and "Connection: close" long-polls wait too (parked inside
     libmicrohttpd) and are answered the same way, then closed;
  5. a long-poll naming its subscription twice waits once (counted once);
  6. canceling the subscription answers the held long-poll.

usage: held_poll.py PRINTER_URL UUID CREDENTIAL METRICS_URL
Prints one "ok ..." line per step; exits 1 at the first failure."""
import select
import socket
import struct
import sys
import time
import urllib.parse
import urllib.request

from ipp_device import attr, header, post
from ipp_strict import read_response

URL, UUID, CRED, METRICS = sys.argv[1:5]
U = urllib.parse.urlsplit(URL)


def fail(msg):
    print("FAIL " + msg)
    sys.exit(1)


def long_polls():
    text = urllib.request.urlopen(METRICS, timeout=10).read().decode()
    for line in text.splitlines():
        if line.startswith("nimbus_device_long_polls "):
            return int(float(line.split()[1]))
    fail("no nimbus_device_long_polls in /metrics")


def wait_long_polls(n):
    for _ in range(100):
        if long_polls() == n:
            return
        time.sleep(0.05)
    fail(f"nimbus_device_long_polls stayed {long_polls()}, not {n}")


def subscribe():
    body = header(0x0016, URL, UUID) + b"\x06"
    body += attr(0x44, "notify-pull-method", "ippget") + attr(0x44, "notify-events", "job-fetchable")
    _, answer = post(URL, CRED, body + b"\x03")
    sid = answer.first("notify-subscription-id")
    if answer.status != 0 or not sid:
        fail(f"Create-Printer-Subscriptions: 0x{answer.status:04x}")
    return struct.unpack(">i", sid)[0]


def get_notifications(sid, wait, twice=False):
    body = header(0x001C, URL, UUID) + attr(0x21, "notify-subscription-ids", struct.pack(">i", sid))
    if twice:  # an additional value of the same attribute: the same id again
        body += attr(0x21, "", struct.pack(">i", sid))
    if wait:
        body += attr(0x22, "notify-wait", b"\x01")
    return body + b"\x03"


def send(sock, body, version="1.1", extra=""):
    head = (f"POST {U.path} HTTP/{version}\r\nHost: {U.netloc}\r\n"
            f"Content-Type: application/ipp\r\nAuthorization: Bearer {CRED}\r\n"
            f"Content-Length: {len(body)}\r\n{extra}\r\n")
    sock.sendall(head.encode() + body)


def connect():
    return socket.create_connection((U.hostname, U.port), timeout=10)


def silent(sock, seconds):
    """True when nothing arrives on sock for `seconds`."""
    r, _, _ = select.select([sock], [], [], seconds)
    return not r


def answer(sock):
    """Read one HTTP response: (status line, headers dict, IPP answer)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            fail("connection closed before an answer")
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (x.split(":", 1) for x in lines[1:])}
    length = int(headers.get("content-length", "-1"))
    if length < 0:
        fail("answer without Content-Length: " + lines[0])
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            fail("connection closed inside the body")
        body += chunk
    return lines[0], headers, read_response(body[:length])


def expect_empty_ok(sock, what):
    status, headers, ipp = answer(sock)
    if status.split(" ", 1)[1] != "200 OK" or headers.get("content-type") != "application/ipp":
        fail(f"{what}: {status} {headers}")
    if ipp.status != 0 or ipp.first("notify-subscription-id"):
        fail(f"{what}: IPP 0x{ipp.status:04x} or events in an empty answer")
    return headers


def closed(sock):
    sock.settimeout(5)
    try:
        return sock.recv(1) == b""
    except OSError:
        return True


sid = subscribe()
base = long_polls()

s1 = connect()
send(s1, get_notifications(sid, True))
if not silent(s1, 1.0):
    fail("a long-poll with nothing pending was answered")
wait_long_polls(base + 1)
print("ok 1 the long-poll is held")

s2 = connect()
send(s2, get_notifications(sid, True))
h = expect_empty_ok(s1, "the replaced long-poll")
if "close" in h.get("connection", "").lower():
    fail("the replaced long-poll closed its connection")
if not silent(s2, 0.5):
    fail("the newer long-poll was answered")
send(s1, get_notifications(sid, False))
expect_empty_ok(s1, "the next request on the connection of the replaced one")
print("ok 2 replaced: answered empty at once, and its connection serves the next request")

s2.close()
time.sleep(0.3)
s3 = connect()
send(s3, get_notifications(sid, True))
if not silent(s3, 1.0):
    fail("a long-poll after a client hung up was answered")
wait_long_polls(base + 1)
print("ok 3 a held connection whose client hung up is replaced")

s4 = connect()
send(s4, get_notifications(sid, True), version="1.0")
expect_empty_ok(s3, "the long-poll replaced by an HTTP/1.0 one")
if not silent(s4, 1.0):
    fail("the HTTP/1.0 long-poll was answered")
s5 = connect()
send(s5, get_notifications(sid, True), extra="Connection: close\r\n")
expect_empty_ok(s4, "the HTTP/1.0 long-poll")
if not closed(s4):
    fail("the HTTP/1.0 connection stayed open")
if not silent(s5, 1.0):
    fail("the Connection: close long-poll was answered")
s6 = connect()
send(s6, get_notifications(sid, True))
h = expect_empty_ok(s5, "the Connection: close long-poll")
if not closed(s5):
    fail("the Connection: close connection stayed open")
print("ok 4 HTTP/1.0 and Connection: close long-polls wait and are answered, then closed")

s7 = connect()
send(s7, get_notifications(sid, True, twice=True))
expect_empty_ok(s6, "the long-poll replaced by one naming its subscription twice")
if not silent(s7, 1.0):
    fail("the long-poll naming its subscription twice was answered")
wait_long_polls(base + 1)
print("ok 5 a long-poll naming its subscription twice waits once")

body = header(0x001B, URL, UUID) + attr(0x21, "notify-subscription-id", struct.pack(">i", sid))
_, canceled = post(URL, CRED, body + b"\x03")
if canceled.status != 0:
    fail(f"Cancel-Subscription: 0x{canceled.status:04x}")
expect_empty_ok(s7, "the long-poll of a canceled subscription")
wait_long_polls(base)
print("ok 6 canceling the subscription answers the held long-poll")
for s in (s1, s3, s6, s7):
    s.close()
