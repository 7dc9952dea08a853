#!/usr/bin/env python3
# purpose-race.py: the client side of bench/run-purpose.sh (billing by
# purpose, issue 13).  Three subcommands, each printing one JSON object on
# stdout (progress and errors on stderr):
#
#   race     submit M held jobs under one purpose (REST upload of a small
#            PDF), then release them all at once from P threads
#            (POST /api/v1/jobs/{id}/release, a keep-alive connection per
#            thread, all starting on a barrier) while a poller reads the
#            prepaid account over and over; checks exactly K accepted
#            (200), the rest refused with 402, balance - held never below
#            zero, and the ledger summing to zero per currency.
#   charges  after the printer was started: polls the count of completed
#            jobs and the account until all K accepted jobs are charged;
#            the time of each completion and each charge (at the poll
#            interval's resolution), the lag between the i-th completion
#            and the i-th charge, and the ledger check again.
#   submit   REST uploads alternately with and without a purpose: the
#            latency of each, to show what the purpose check costs.
#
# Exit status: 1 when a check fails (the JSON's "errors" say which).
# Only the Python standard library; the server is nimbusd on loopback.
import argparse
import base64
import datetime
import http.client
import json
import re
import sys
import threading
import time
import urllib.parse
import uuid


def pct(values, p):
    """Nearest-rank percentile of values (None when empty)."""
    if not values:
        return None
    s = sorted(values)
    k = max(1, -(-len(s) * p // 100))
    return s[int(k) - 1]


class Client:
    """One keep-alive HTTP/1.1 connection to nimbusd, one credential."""

    def __init__(self, url, auth):
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port
        self.auth = auth
        self.conn = None

    def request(self, method, path, body=None, ctype=None):
        """(status, parsed JSON or None); reconnects once on a dropped link."""
        headers = {"Authorization": self.auth}
        if ctype:
            headers["Content-Type"] = ctype
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                resp = self.conn.getresponse()
                data = resp.read()
                if resp.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                try:
                    doc = json.loads(data) if data else None
                except ValueError:
                    doc = None
                return resp.status, doc
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")


def basic(userpass):
    return "Basic " + base64.b64encode(userpass.encode()).decode()


def bearer_for(url, userpass):
    """A bearer token for userpass (POST /api/v1/tokens), as its header."""
    st, doc = Client(url, basic(userpass)).request(
        "POST", "/api/v1/tokens", json.dumps({"label": "bench"}), "application/json")
    if st != 201:
        sys.exit(f"purpose-race: token for {userpass.split(':')[0]}: HTTP {st} {doc}")
    return "Bearer " + doc["token"]


def upload(client, queue, purpose, document):
    """POST /api/v1/jobs (multipart); (status, job id or None, seconds)."""
    boundary = uuid.uuid4().hex
    parts = [("queue", None, queue.encode())]
    if purpose is not None:
        parts.append(("purpose", None, purpose.encode()))
    parts.append(("document", "doc.pdf", document))
    body = b""
    for name, fname, value in parts:
        body += f"--{boundary}\r\n".encode()
        if fname:
            body += (f'Content-Disposition: form-data; name="{name}"; filename="{fname}"\r\n'
                     "Content-Type: application/pdf\r\n\r\n").encode()
        else:
            body += f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        body += value + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    t0 = time.monotonic()
    st, doc = client.request("POST", "/api/v1/jobs", body, f"multipart/form-data; boundary={boundary}")
    dt = time.monotonic() - t0
    return st, (doc or {}).get("id") if st == 201 else None, dt


def ledger_sums(url, admin):
    st, doc = Client(url, basic(admin)).request("GET", "/api/v1/ledger/balances?all=1")
    if st != 200:
        return None
    return doc.get("totals", {})


def account(client, code):
    st, doc = client.request("GET", f"/api/v1/billing-accounts/{urllib.parse.quote(code)}")
    return doc if st == 200 else None


# ---------------------------------------------------------------- race

def cmd_race(a):
    errors = []
    alice = bearer_for(a.url, a.user)
    boss = bearer_for(a.url, a.boss)
    doc = open(a.document, "rb").read()
    sub = Client(a.url, alice)
    ids, t0 = [], time.monotonic()
    for i in range(a.jobs):
        st, jid, _ = upload(sub, a.queue, a.purpose, doc)
        if st != 201:
            sys.exit(f"purpose-race: submission {i + 1} answered HTTP {st}")
        ids.append(jid)
    submit_s = time.monotonic() - t0
    print(f"purpose-race: {a.jobs} jobs submitted in {submit_s:.1f} s", file=sys.stderr)

    before = account(Client(a.url, boss), a.account)
    if before is None:
        sys.exit(f"purpose-race: account {a.account} unreadable")

    # the poller: balance - held on the account, as often as it can
    stop = threading.Event()
    samples = {"n": 0, "min_available": None, "max_held": 0, "bad": []}

    def poll():
        c = Client(a.url, boss)
        while not stop.is_set():
            acc = account(c, a.account)
            if acc is None:
                continue
            avail = acc["balance"] - acc["held"]
            samples["n"] += 1
            if samples["min_available"] is None or avail < samples["min_available"]:
                samples["min_available"] = avail
            samples["max_held"] = max(samples["max_held"], acc["held"])
            if avail < 0 or acc["balance"] < 0:
                samples["bad"].append((acc["balance"], acc["held"]))
            stop.wait(a.poll_interval)

    lock = threading.Lock()
    todo = list(ids)
    results = []  # (job id, status, seconds)
    barrier = threading.Barrier(a.clients + 1)

    def worker():
        c = Client(a.url, alice)
        c.request("GET", "/api/v1/purposes")  # connect (and warm) before the start
        barrier.wait()
        while True:
            with lock:
                if not todo:
                    return
                jid = todo.pop(0)
            t = time.monotonic()
            try:
                st, _ = c.request("POST", f"/api/v1/jobs/{jid}/release", b"{}", "application/json")
            except (http.client.HTTPException, OSError) as e:
                st = f"error: {e}"
            dt = time.monotonic() - t
            with lock:
                results.append((jid, st, dt))

    threads = [threading.Thread(target=worker) for _ in range(a.clients)]
    for t in threads:
        t.start()
    poller = threading.Thread(target=poll)
    poller.start()
    barrier.wait()
    t0 = time.monotonic()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    time.sleep(0.05)
    stop.set()
    poller.join()

    after = account(Client(a.url, boss), a.account)
    codes = {}
    for _, st, _ in results:
        codes[str(st)] = codes.get(str(st), 0) + 1
    accepted = [jid for jid, st, _ in results if st == 200]
    lat = [dt * 1000 for _, _, dt in results]
    lat_ok = [dt * 1000 for _, st, dt in results if st == 200]
    lat_no = [dt * 1000 for _, st, dt in results if st == 402]
    if len(accepted) != a.expect:
        errors.append(f"{len(accepted)} releases accepted, expected exactly {a.expect}")
    if codes.get("402", 0) != a.jobs - a.expect:
        errors.append(f"{codes.get('402', 0)} refused with 402, expected {a.jobs - a.expect} ({codes})")
    if samples["bad"]:
        errors.append(f"balance - held below zero in {len(samples['bad'])} polls: {samples['bad'][:3]}")
    if after is None or after["balance"] - after["held"] < 0:
        errors.append(f"account after the race: {after}")
    elif (after["held"], after["balance"] - after["held"]) != (before["balance"], 0):
        errors.append(f"the account is not exactly used up by the accepted holds: {after}")
    sums = ledger_sums(a.url, a.admin)
    if sums is None or any(v != 0 for v in sums.values()):
        errors.append(f"ledger does not sum to zero per currency: {sums}")
    with open(a.accepted_out, "w") as f:
        json.dump(accepted, f)
    out = {
        "jobs": a.jobs, "clients": a.clients, "expect": a.expect, "submit_s": round(submit_s, 2),
        "accepted": len(accepted), "codes": codes, "elapsed_s": round(elapsed, 3),
        "rps": round(len(results) / elapsed, 1) if elapsed > 0 else None,
        "p50": round(pct(lat, 50), 1), "p99": round(pct(lat, 99), 1), "max": round(max(lat), 1),
        "p50_ok": round(pct(lat_ok, 50), 1) if lat_ok else None,
        "p50_402": round(pct(lat_no, 50), 1) if lat_no else None,
        "polls": samples["n"], "min_available": samples["min_available"],
        "max_held": samples["max_held"],
        "balance_after": after and after["balance"], "held_after": after and after["held"],
        "ledger_totals": sums, "errors": errors,
    }
    print(json.dumps(out))
    return 1 if errors else 0


# ---------------------------------------------------------------- charges

def log_charge_lags(path, ids):
    """From nimbusd's log: per job of ids, ms from its completion (the
    "job documents deleted" line its Update-Job-Status completed writes)
    to its "job charged" line; and from the last completion to the last
    charge."""
    want = {str(i) for i in ids}
    done, charged = {}, {}
    pat = re.compile(r'^ts=(\S+)Z .*msg="(job documents deleted|job charged)" job_id=(\d+)')
    with open(path, errors="replace") as f:
        for line in f:
            m = pat.match(line)
            if not m or m.group(3) not in want:
                continue
            t = datetime.datetime.fromisoformat(m.group(1)).timestamp()
            (done if m.group(2) == "job documents deleted" else charged)[m.group(3)] = t
    lags = [(charged[j] - done[j]) * 1000 for j in charged if j in done]
    last = (round((max(charged.values()) - max(done.values())) * 1000, 1)
            if done and charged else None)
    return lags, last


def cmd_charges(a):
    errors = []
    alice = bearer_for(a.url, a.user)
    boss = bearer_for(a.url, a.boss)
    accepted = json.load(open(a.accepted))
    k = len(accepted)
    ca, cb = Client(a.url, alice), Client(a.url, boss)
    start = account(cb, a.account)
    hold = start["held"] // k if k else 0
    base_done = None
    done_t, charged_t = [], []  # monotonic time the i-th completion / charge was seen
    t0 = time.monotonic()
    deadline = t0 + a.timeout
    last = None
    while time.monotonic() < deadline:
        st, doc = ca.request("GET", "/api/v1/jobs?state=completed&limit=1")
        acc = account(cb, a.account)
        now = time.monotonic()
        if st != 200 or acc is None:
            errors.append(f"poll failed: HTTP {st}")
            break
        if base_done is None:
            base_done = doc["total"]
        ndone = doc["total"] - base_done
        ncharged = (start["held"] - acc["held"]) // hold if hold else 0
        if acc["balance"] - acc["held"] < 0:
            errors.append(f"balance - held below zero: {acc}")
        while len(done_t) < min(ndone, k):
            done_t.append(now)
        while len(charged_t) < min(ncharged, k):
            charged_t.append(now)
        last = acc
        if len(charged_t) >= k and acc["held"] == 0:
            break
        time.sleep(a.poll_interval)
    if len(charged_t) < k:
        errors.append(f"only {len(charged_t)} of {k} charged, {len(done_t)} completed after {a.timeout} s")
    states = {}
    for jid in accepted:
        st, doc = ca.request("GET", f"/api/v1/jobs/{jid}")
        ch = ((doc or {}).get("purpose") or {}).get("charge") or {}
        states[ch.get("state", "none")] = states.get(ch.get("state", "none"), 0) + 1
    if states.get("charged", 0) != k:
        errors.append(f"charge states of the released jobs: {states}")
    if last and (last["balance"] != start["balance"] - start["held"] or last["held"] != 0):
        errors.append(f"account at the end: balance {last['balance']} held {last['held']} "
                      f"(expected {start['balance'] - start['held']}, 0)")
    sums = ledger_sums(a.url, a.admin)
    if sums is None or any(v != 0 for v in sums.values()):
        errors.append(f"ledger does not sum to zero per currency: {sums}")
    lags = [(c - d) * 1000 for d, c in zip(done_t, charged_t)]
    log_lags, log_last = log_charge_lags(a.nimbusd_log, accepted) if a.nimbusd_log else ([], None)
    total_s = charged_t[-1] - t0 if charged_t else None
    out = {
        "charged": len(charged_t), "completed": len(done_t), "states": states,
        "total_s": round(total_s, 2) if total_s else None,
        "charges_per_s": round(len(charged_t) / total_s, 1) if total_s else None,
        "first_done_s": round(done_t[0] - t0, 2) if done_t else None,
        "print_rate": (round((len(done_t) - 1) / (done_t[-1] - done_t[0]), 1)
                       if len(done_t) > 1 and done_t[-1] > done_t[0] else None),
        "last_done_to_last_charge_ms": (round((charged_t[-1] - done_t[-1]) * 1000)
                                        if charged_t and done_t else None),
        "log_jobs": len(log_lags),
        "log_lag_p50": round(pct(log_lags, 50), 1) if log_lags else None,
        "log_lag_p99": round(pct(log_lags, 99), 1) if log_lags else None,
        "log_lag_max": round(max(log_lags), 1) if log_lags else None,
        "log_last_done_to_last_charge_ms": log_last,
        "lag_p50": round(pct(lags, 50)) if lags else None,
        "lag_p99": round(pct(lags, 99)) if lags else None,
        "lag_max": round(max(lags)) if lags else None,
        "balance_after": last and last["balance"], "ledger_totals": sums, "errors": errors,
    }
    print(json.dumps(out))
    return 1 if errors else 0


# ---------------------------------------------------------------- submit

def cmd_submit(a):
    alice = bearer_for(a.url, a.user)
    doc = open(a.document, "rb").read()
    c = Client(a.url, alice)
    lat = {"with": [], "without": []}
    ids = []
    for i in range(2 * a.count + 4):
        kind = "with" if i % 2 == 0 else "without"
        st, jid, dt = upload(c, a.queue, a.purpose if kind == "with" else None, doc)
        if st != 201:
            sys.exit(f"purpose-race: upload {kind} a purpose answered HTTP {st}")
        ids.append(jid)
        if i >= 4:  # the first two of each: warm-up
            lat[kind].append(dt * 1000)
    for jid in ids:  # leave nothing held behind
        c.request("POST", f"/api/v1/jobs/{jid}/cancel", b"{}", "application/json")
    out = {k: {"n": len(v), "p50": round(pct(v, 50), 1), "p90": round(pct(v, 90), 1),
               "p99": round(pct(v, 99), 1)} for k, v in lat.items()}
    out["errors"] = []
    print(json.dumps(out))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--url", required=True)
    p.add_argument("--user", required=True, help="the jobs' owner, name@tenant:password")
    p.add_argument("--boss", required=True, help="a tenant admin, name@tenant:password")
    p.add_argument("--admin", required=True, help="the operator, admin@system:password")
    p.add_argument("--poll-interval", type=float, default=0.005)
    sp = p.add_subparsers(dest="cmd", required=True)
    r = sp.add_parser("race")
    r.add_argument("--queue", required=True)
    r.add_argument("--purpose", required=True)
    r.add_argument("--account", required=True)
    r.add_argument("--document", required=True)
    r.add_argument("--jobs", type=int, default=300)
    r.add_argument("--expect", type=int, default=100)
    r.add_argument("--clients", type=int, default=16)
    r.add_argument("--accepted-out", required=True)
    c = sp.add_parser("charges")
    c.add_argument("--account", required=True)
    c.add_argument("--accepted", required=True)
    c.add_argument("--timeout", type=float, default=180)
    c.add_argument("--nimbusd-log", help="nimbusd's log (info level): exact completion -> charge times")
    s = sp.add_parser("submit")
    s.add_argument("--queue", required=True)
    s.add_argument("--purpose", required=True)
    s.add_argument("--document", required=True)
    s.add_argument("--count", type=int, default=100)
    a = p.parse_args()
    return {"race": cmd_race, "charges": cmd_charges, "submit": cmd_submit}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
