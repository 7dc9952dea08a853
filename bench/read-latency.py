#!/usr/bin/env python3
"""read-latency.py: latency of one reader's job lists against nimbusd.

Sends GET /api/v1/jobs?limit=LIMIT back to back on one kept-alive HTTP
connection (HTTP Basic; nimbusd's sign-in cache makes every request after
the first cost no hashing) for DURATION seconds and prints one line of
JSON: requests, failures, p50/p99/max latency in milliseconds.  Latency is
wall time from sending the request to reading the whole answer
(time.perf_counter).  Failures (a status other than 200, a dropped
connection) are counted apart and excluded from the percentiles.

Usage: read-latency.py BASE_URL USER PASSWORD DURATION [LIMIT]
"""
import base64
import http.client
import json
import sys
import time
import urllib.parse


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    k = min(len(sorted_values) - 1, int(round(p / 100.0 * (len(sorted_values) - 1))))
    return sorted_values[k]


def main():
    if len(sys.argv) not in (5, 6):
        sys.exit(__doc__)
    url = urllib.parse.urlsplit(sys.argv[1])
    auth = base64.b64encode(f"{sys.argv[2]}:{sys.argv[3]}".encode()).decode()
    duration = float(sys.argv[4])
    limit = int(sys.argv[5]) if len(sys.argv) == 6 else 50
    headers = {"Authorization": "Basic " + auth, "Accept": "application/json"}
    path = f"/api/v1/jobs?limit={limit}"
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    samples, failures = [], 0
    end = time.monotonic() + duration
    while time.monotonic() < end:
        t0 = time.perf_counter()
        try:
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            resp.read()
            ok = resp.status == 200
        except (OSError, http.client.HTTPException):
            ok = False
            conn.close()
            conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        if ok:
            samples.append((time.perf_counter() - t0) * 1000.0)
        else:
            failures += 1
    samples.sort()
    print(json.dumps({
        "requests": len(samples) + failures,
        "failures": failures,
        "p50_ms": percentile(samples, 50),
        "p99_ms": percentile(samples, 99),
        "max_ms": samples[-1] if samples else None,
    }))


if __name__ == "__main__":
    main()
