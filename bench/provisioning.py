#!/usr/bin/env python3
"""provisioning.py: the client side of bench/run-provisioning.sh (issue 16,
docs/PROVISIONING.md).

  register URL OPERATOR PASSWORD TENANT N CREDS_FILE
      N printers of TENANT (queue "office"), each made with POST
      /api/v1/printers and claimed with POST /api/v1/device/register (its
      claim code), 8 at a time, one kept-alive connection per worker; the
      credentials, one "name credential" a line, to CREDS_FILE.
  detect URL OPERATOR PASSWORD CONTRACT_ID START_EPOCH STEPS TIMEOUT
      polls GET /contracts/{id}/runs every 10 ms until the contract has a
      run, then GET /runs/{id} every 50 ms until it holds STEPS steps; JSON
      with the seconds from START_EPOCH (the contract's start_at) to each.
  serve URL CREDS_FILE M CONCURRENCY PACKAGE_SHA256 TIMEOUT
      the first M printers of CREDS_FILE, CONCURRENCY at a time, each
      doing what a connector does (GET /device/provisioning, GET
      /device/packages/{id} for a package step, POST
      /device/provisioning/steps/{id} confirmed) until it is served no
      step; JSON: steps/s and p50/p99 per route.
Answers and the exit status say what failed; no timing is asserted."""
import base64
import hashlib
import http.client
import json
import sys
import threading
import time
import urllib.parse


class Conn:
    """One kept-alive HTTP connection; reconnects once on a dropped one."""

    def __init__(self, url, auth):
        self.host = urllib.parse.urlsplit(url)
        self.auth = auth
        self.c = None

    def req(self, method, path, body=None, ctype="application/json"):
        for attempt in (0, 1):
            if self.c is None:
                self.c = http.client.HTTPConnection(self.host.hostname, self.host.port, timeout=60)
            headers = {"Authorization": self.auth}
            if body is not None:
                headers["Content-Type"] = ctype
            try:
                self.c.request(method, path, body=body, headers=headers)
                r = self.c.getresponse()
                data = r.read()
                return r.status, data, r
            except (http.client.HTTPException, ConnectionError):
                self.c.close()
                self.c = None
                if attempt:
                    raise
        raise RuntimeError("unreachable")


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def pct(v, p):
    if not v:
        return None
    s = sorted(v)
    return round(s[min(len(s) - 1, int(len(s) * p / 100))] * 1000, 3)


def register(url, user, password, tenant, n, out):
    names = [f"p{i:05d}" for i in range(n)]
    creds = {}
    errors = []
    lock = threading.Lock()

    def worker(k):
        op = Conn(url, basic(user, password))
        anon = Conn(url, "")
        for name in names[k::8]:
            st, b, _ = op.req("POST", f"/api/v1/printers?tenant={tenant}",
                              json.dumps({"name": name, "queues": ["office"]}))
            if st != 201:
                errors.append(f"{name}: create {st} {b[:200]!r}")
                return
            code = json.loads(b)["claim_code"]
            st, b, _ = anon.req("POST", "/api/v1/device/register", json.dumps({"claim_code": code}))
            if st != 201:
                errors.append(f"{name}: register {st} {b[:200]!r}")
                return
            with lock:
                creds[name] = json.loads(b)["credential"]

    t0 = time.monotonic()
    ts = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    with open(out, "w") as f:
        for name in names:
            if name in creds:
                f.write(f"{name} {creds[name]}\n")
    print(json.dumps({"registered": len(creds), "seconds": round(time.monotonic() - t0, 2),
                      "errors": errors[:3]}))
    return 0 if len(creds) == n else 1


def detect(url, user, password, cid, start, steps, timeout):
    op = Conn(url, basic(user, password))
    deadline = time.time() + timeout
    res = {"run_s": None, "all_steps_s": None, "steps": 0, "polls": 0}
    rid = None
    while time.time() < deadline:
        st, b, _ = op.req("GET", f"/api/v1/contracts/{cid}/runs")
        res["polls"] += 1
        if st == 200 and json.loads(b)["runs"]:
            res["run_s"] = round(time.time() - start, 3)
            rid = json.loads(b)["runs"][0]["id"]
            break
        time.sleep(0.01)
    while rid and time.time() < deadline:
        st, b, _ = op.req("GET", f"/api/v1/runs/{rid}")
        if st == 200:
            d = json.loads(b)
            res["steps"] = sum(len(p["steps"]) for p in d["printers"])
            res["printers"] = len(d["printers"])
            if res["steps"] >= steps:
                res["all_steps_s"] = round(time.time() - start, 3)
                break
        time.sleep(0.05)
    res["run_id"] = rid
    print(json.dumps(res))
    return 0 if res["all_steps_s"] is not None else 1


def serve(url, creds_file, m, conc, sha, timeout):
    with open(creds_file) as f:
        creds = [line.split() for line in f if line.strip()][:m]
    lat = {"provisioning": [], "package": [], "report": []}
    errors = []
    counts = {"steps": 0, "bytes": 0}
    lock = threading.Lock()
    todo = list(range(len(creds)))
    deadline = time.time() + timeout

    def timed(conn, route, *a):
        t = time.monotonic()
        st, b, r = conn.req(*a)
        with lock:
            lat[route].append(time.monotonic() - t)
        return st, b, r

    def printer(name, cred):
        c = Conn(url, "Bearer " + cred)
        while time.time() < deadline:
            st, b, _ = timed(c, "provisioning", "GET", "/api/v1/device/provisioning")
            if st != 200:
                errors.append(f"{name}: provisioning {st}")
                return
            steps = json.loads(b)["steps"]
            if not steps:
                return
            s = steps[0]
            pkg = s.get("package")
            if pkg:
                st, b, r = timed(c, "package", "GET", f"/api/v1/device/packages/{pkg['id']}")
                if st != 200 or hashlib.sha256(b).hexdigest() != sha:
                    errors.append(f"{name}: package {st} ({len(b)} bytes)")
                    return
                with lock:
                    counts["bytes"] += len(b)
            st, b, _ = timed(c, "report", "POST", f"/api/v1/device/provisioning/steps/{s['id']}",
                             json.dumps({"result": "confirmed"}))
            if st != 200:
                errors.append(f"{name}: report {st} {b[:200]!r}")
                return
            with lock:
                counts["steps"] += 1
        errors.append(f"{name}: timed out")

    def worker():
        while True:
            with lock:
                if not todo:
                    return
                i = todo.pop(0)
            printer(*creds[i])

    t0 = time.monotonic()
    ts = [threading.Thread(target=worker) for _ in range(conc)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    secs = time.monotonic() - t0
    res = {"printers": len(creds), "steps": counts["steps"], "seconds": round(secs, 3),
           "steps_per_s": round(counts["steps"] / secs, 1) if secs else None,
           "package_mib": round(counts["bytes"] / 1048576, 1), "errors": errors[:3]}
    for route, v in lat.items():
        res[route + "_n"] = len(v)
        res[route + "_p50_ms"] = pct(v, 50)
        res[route + "_p99_ms"] = pct(v, 99)
    print(json.dumps(res))
    return 0 if not errors else 1


def main(a):
    if a[0] == "register":
        return register(a[1], a[2], a[3], a[4], int(a[5]), a[6])
    if a[0] == "detect":
        return detect(a[1], a[2], a[3], a[4], float(a[5]), int(a[6]), float(a[7]))
    if a[0] == "serve":
        return serve(a[1], a[2], int(a[3]), int(a[4]), a[5], float(a[6]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
