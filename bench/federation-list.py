#!/usr/bin/env python3
"""federation-list.py: the client of bench/run-federation-list.sh (issue 15).

  federation-list.py submit-sync REMOTE_URL R_USER R_PASS QUEUE N PDF
                                 HOME_URL H_USER H_PASS LINK TIMEOUT
      N REST uploads of PDF to QUEUE on the remote, one after the other on
      one kept-alive connection, as R_USER; then GET HOME_URL's
      /api/v1/remote-links/LINK every 20 ms until its "jobs" count reaches
      N (or TIMEOUT seconds).  One line of JSON: submit_s (all uploads),
      sync_s (from the last upload's answer until home has all N stored),
      sync_from_first_s (from the first upload), failures.
  federation-list.py latency BASE USER PASS PATH REQUESTS
      GET PATH REQUESTS times back to back on one kept-alive connection
      (HTTP Basic: nimbusd's sign-in cache makes every request after the
      first cost no hashing).  One line of JSON: requests, failures,
      p50/p95/max in milliseconds (wall time from sending the request to
      reading the whole answer), the answer's size in bytes, how many jobs
      it lists and how many of them are remote (origin kind "remote", or
      all of them for a remote link's own list).
"""
import base64
import http.client
import json
import sys
import time
import urllib.parse


def connect(base):
    url = urllib.parse.urlsplit(base)
    return http.client.HTTPConnection(url.hostname, url.port, timeout=60)


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    k = min(len(sorted_values) - 1, int(round(p / 100.0 * (len(sorted_values) - 1))))
    return sorted_values[k]


def multipart(fields, filename, data):
    """A multipart/form-data body: the text fields, then the document."""
    boundary = "nimbus-bench-boundary-7d41"
    parts = []
    for name, value in fields:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                     f"{value}\r\n".encode())
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="document"; '
                 f'filename="{filename}"\r\nContent-Type: application/pdf\r\n\r\n'.encode())
    parts.append(data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def submit_sync(argv):
    r_url, r_user, r_pass, queue, n, pdf, h_url, h_user, h_pass, link, timeout = argv
    n, timeout = int(n), float(timeout)
    data = open(pdf, "rb").read()
    conn = connect(r_url)
    failures = 0
    t0 = time.monotonic()
    for i in range(n):
        body, ctype = multipart([("queue", queue), ("job-name", f"bench-{i}")], "doc.pdf", data)
        conn.request("POST", "/api/v1/jobs", body=body,
                     headers={"Authorization": basic(r_user, r_pass), "Content-Type": ctype})
        resp = conn.getresponse()
        resp.read()
        if resp.status != 201:
            failures += 1
    t_last = time.monotonic()
    home = connect(h_url)
    jobs = -1
    while time.monotonic() - t_last < timeout:
        home.request("GET", f"/api/v1/remote-links/{link}",
                     headers={"Authorization": basic(h_user, h_pass)})
        resp = home.getresponse()
        answer = resp.read()
        if resp.status == 200:
            jobs = json.loads(answer)["jobs"]
            if jobs >= n:
                break
        time.sleep(0.02)
    t_sync = time.monotonic()
    print(json.dumps({"submit_s": round(t_last - t0, 3),
                      "sync_s": round(t_sync - t_last, 3) if jobs >= n else None,
                      "sync_from_first_s": round(t_sync - t0, 3) if jobs >= n else None,
                      "listed": jobs, "failures": failures}))
    return 0 if jobs >= n and failures == 0 else 1


def latency(argv):
    base, user, password, path, requests = argv
    conn = connect(base)
    headers = {"Authorization": basic(user, password), "Accept": "application/json"}
    samples, failures, size, listed, remote = [], 0, 0, 0, 0
    for _ in range(int(requests)):
        t = time.perf_counter()
        try:
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            answer = resp.read()
        except (OSError, http.client.HTTPException):
            failures += 1
            conn = connect(base)
            continue
        dt = (time.perf_counter() - t) * 1000.0
        if resp.status != 200:
            failures += 1
            continue
        samples.append(dt)
        size = len(answer)
    if samples:
        jobs = json.loads(answer)["jobs"]
        listed = len(jobs)
        remote = sum(1 for j in jobs
                     if "remote_id" in j and (j.get("origin") or {"kind": "remote"})["kind"] == "remote")
    samples.sort()
    print(json.dumps({"requests": len(samples), "failures": failures,
                      "p50_ms": percentile(samples, 50), "p95_ms": percentile(samples, 95),
                      "max_ms": samples[-1] if samples else None, "bytes": size,
                      "listed": listed, "remote": remote}))
    return 0 if samples and not failures else 1


def main():
    if len(sys.argv) == 13 and sys.argv[1] == "submit-sync":
        return submit_sync(sys.argv[2:])
    if len(sys.argv) == 7 and sys.argv[1] == "latency":
        return latency(sys.argv[2:])
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main())
