#!/usr/bin/env python3
"""webhook_receiver.py: a receiver of nimbusd's outgoing service webhooks
(docs/PROVISIONING.md §11) for the integration tests.

Usage: webhook_receiver.py SECRET_FILE PORT_FILE EVENTS_FILE

Listens on 127.0.0.1 (a free port, written to PORT_FILE once ready).
Every POST is checked as a receiver must: X-Nimbus-Sender "nimbus",
X-Nimbus-Timestamp within 300 s of now, X-Nimbus-Signature equal (in
constant time) to sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>
with the secret from SECRET_FILE's first line.  An accepted event is
answered 200 and appended to EVENTS_FILE as one JSON line
{"verified": true, "path": ..., "body": {...}}; a refused one 401 and
{"verified": false, "reason": ...}.  While the file EVENTS_FILE.unavailable
exists every POST is answered 503 (recorded as {"unavailable": true}), so
the sender's retry can be seen.  A repeated event_id is answered 200
and recorded with "duplicate": true (receivers deduplicate by it).
"""
import hashlib
import hmac
import http.server
import json
import os
import sys
import time

SECRET = open(sys.argv[1], "rb").readline().rstrip(b"\r\n")
PORT_FILE, EVENTS_FILE = sys.argv[2], sys.argv[3]
SEEN = set()


def record(entry):
    with open(EVENTS_FILE, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):  # quiet
        pass

    def refuse(self, reason):
        record({"verified": False, "path": self.path, "reason": reason})
        self.send_response(401)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if os.path.exists(EVENTS_FILE + ".unavailable"):
            record({"unavailable": True, "path": self.path})
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.headers.get("X-Nimbus-Sender") != "nimbus":
            return self.refuse("sender")
        ts = self.headers.get("X-Nimbus-Timestamp", "")
        if not ts.isdigit() or abs(time.time() - int(ts)) > 300:
            return self.refuse("timestamp")
        want = "sha256=" + hmac.new(SECRET, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, self.headers.get("X-Nimbus-Signature", "")):
            return self.refuse("signature")
        doc = json.loads(body)
        duplicate = doc.get("event_id") in SEEN
        SEEN.add(doc.get("event_id"))
        record({"verified": True, "path": self.path, "duplicate": duplicate, "body": doc})
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
with open(PORT_FILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(PORT_FILE + ".tmp", PORT_FILE)
server.serve_forever()
