#!/usr/bin/env python3
"""pay-phones.py: one round of the pay-at-the-printer benchmark (issue 12),
driven by bench/run-payments.sh.

  pay-phones.py --url NIMBUSD --user alice@acme:PASSWORD --queues q1,q2
                --outputs DIR1,DIR2 --jobs 50 [--nimbusd-log FILE] [--cpu NAME=PID]...

1. Writes JOBS distinct one-page PDFs (each carries its own tag in a
   comment, so a printed file names its job) and submits them with IPP
   Print-Job, round robin over the queues (held, the queue takes payment at
   the printer).
2. Starts every payment (POST /api/v1/jobs/{id}/payment) and, like a phone
   that scanned the QR code, opens each payment page (GET, its CSRF token).
   None of this is timed.
3. Watches the output directories with inotify (the connector's file://
   output renames a complete document into place).
4. Presses Pay on all pages at once: JOBS threads wait on a barrier, then
   each POSTs the page's form and follows the redirects as a browser does
   (LINE Pay: to nimbusd's confirm URL, then its return page; Stripe: to
   the return page while paysim sends the webhook).  The clock starts just
   before each POST.
5. Waits until every document is in an output directory, byte-identical
   to the one submitted, and every job is completed at nimbusd.

Prints one JSON line: per-job latencies (ms, Pay pressed -> the file
complete at the printer), their p50/p90/p99/max (nearest rank), the
throughput, each phone's page time, and the CPU seconds of each --cpu
process over the measured window.  Exit status 1 when a job did not print
(or printed wrong), 2 on a set-up error.
"""
import argparse
import base64
import calendar
import ctypes
import json
import math
import os
import re
import struct
import sys
import threading
import time
import urllib.parse
import urllib.request

IN_MOVED_TO = 0x00000080
IN_CLOSE_WRITE = 0x00000008
CLK_TCK = os.sysconf("SC_CLK_TCK")


def make_pdf(tag):
    """A valid one-page PDF whose content stream carries TAG."""
    content = b"%% nimbus-bench " + tag.encode() + b"\nBT /F1 12 Tf 72 720 Td (" + \
        tag.encode() + b") Tj ET\n"
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n" % len(content) + content + b"endstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for o in offsets:
        out += b"%010d 00000 n \n" % o
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objs) + 1, xref)
    return bytes(out)


def ipp_attr(tag, name, value):
    """One IPP attribute (RFC 8010 encoding), value as bytes or str."""
    if isinstance(value, str):
        value = value.encode()
    n = name.encode()
    return struct.pack(">BH", tag, len(n)) + n + struct.pack(">H", len(value)) + value


def print_job(base, queue_path, user, password, pdf):
    """IPP Print-Job of PDF as USER; the job-id nimbusd answers."""
    uri = "ipp://" + base.split("://", 1)[1] + queue_path
    body = struct.pack(">BBHI", 2, 0, 0x0002, 1) + b"\x01"
    body += ipp_attr(0x47, "attributes-charset", "utf-8")
    body += ipp_attr(0x48, "attributes-natural-language", "en")
    body += ipp_attr(0x45, "printer-uri", uri)
    body += ipp_attr(0x42, "requesting-user-name", user)
    body += ipp_attr(0x42, "job-name", "bench")
    body += ipp_attr(0x49, "document-format", "application/pdf")
    body += b"\x03" + pdf
    req = urllib.request.Request(base + queue_path, data=body, method="POST", headers={
        "Content-Type": "application/ipp",
        "Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()})
    with OPENER.open(req, timeout=30) as r:
        data = r.read()
    status = struct.unpack(">H", data[2:4])[0]
    if status >= 0x0100:
        raise RuntimeError(f"Print-Job to {queue_path}: IPP status 0x{status:04x}")
    i = data.find(b"\x00\x06job-id")  # integer tag 0x21, name length 6
    if i < 1 or data[i - 1] != 0x21:
        raise RuntimeError("Print-Job: no job-id in the answer")
    return struct.unpack(">i", data[i + 10:i + 14])[0]


OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def rest(base, auth, method, path):
    """A REST call as AUTH ("user:password"); the decoded JSON answer."""
    req = urllib.request.Request(base + path, method=method, data=b"" if method == "POST" else None,
                                 headers={"Authorization": "Basic " +
                                          base64.b64encode(auth.encode()).decode()})
    with OPENER.open(req, timeout=30) as r:
        return json.loads(r.read() or b"{}")


def cpu_ticks(pid):
    """utime + stime of PID (all its threads), in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def pct(sorted_vals, p):
    """Nearest-rank percentile of an ascending list."""
    return sorted_vals[max(0, math.ceil(p / 100 * len(sorted_vals)) - 1)]


class Watcher(threading.Thread):
    """inotify on the output directories: the time each tagged document
    is renamed into place (read back to find its tag)."""

    def __init__(self, dirs, tags):
        super().__init__(daemon=True)
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.inotify_init1(os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        self.dirs = {}
        for d in dirs:
            wd = libc.inotify_add_watch(self.fd, d.encode(), IN_MOVED_TO | IN_CLOSE_WRITE)
            if wd < 0:
                raise OSError(ctypes.get_errno(), f"inotify_add_watch {d}")
            self.dirs[wd] = d
        self.tags = tags            # tag -> the document's bytes
        self.seen = {}              # tag -> (monotonic time, path)
        self.wrong = []             # printed files that are not what was sent
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            buf = os.read(self.fd, 65536)
            now = time.monotonic()
            off = 0
            while off < len(buf):
                wd, mask, _cookie, ln = struct.unpack_from("iIII", buf, off)
                name = buf[off + 16:off + 16 + ln].rstrip(b"\0").decode()
                off += 16 + ln
                if name.startswith(".") or name.endswith(".json") or name.endswith(".part"):
                    continue
                if not mask & IN_MOVED_TO:
                    continue
                path = os.path.join(self.dirs[wd], name)
                with open(path, "rb") as f:
                    data = f.read()
                m = re.search(rb"%% nimbus-bench (\S+)", data)
                tag = m.group(1).decode() if m else None
                if tag not in self.tags or data != self.tags[tag] or tag in self.seen:
                    self.wrong.append(path)
                    continue
                self.seen[tag] = (now, path)
            if len(self.seen) == len(self.tags):
                self.done.set()


def phone(url, csrf, barrier, out, i):
    """Press Pay on the page at URL after BARRIER, following the redirects
    as a browser does; store (start, end, final URL, error) in OUT[i]."""
    body = urllib.parse.urlencode({"action": "pay", "csrf": csrf}).encode()
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    barrier.wait()
    t0 = time.monotonic()
    w0 = time.time()
    try:
        with OPENER.open(req, timeout=60) as r:
            r.read()
            final = r.geturl()
        out[i] = (t0, time.monotonic(), final, None, w0)
    except Exception as e:  # noqa: BLE001 - reported, fails the round
        out[i] = (t0, time.monotonic(), None, str(e), w0)


def paid_times(path):
    """job id -> when nimbusd logged the job's payment as paid (Unix
    seconds), from its info log ("ts=... msg=payment ... state=paid ...
    job_id=N")."""
    out = {}
    try:
        with open(path) as f:
            for line in f:
                if "msg=payment " not in line or " state=paid " not in line:
                    continue
                ts = re.match(r"ts=(\S+)Z ", line)
                jid = re.search(r" job_id=(\d+)", line)
                if ts and jid:
                    t = calendar.timegm(time.strptime(ts.group(1)[:19], "%Y-%m-%dT%H:%M:%S"))
                    t += float("0" + ts.group(1)[19:])
                    out[int(jid.group(1))] = t
    except OSError:
        pass
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--user", required=True, help="user@tenant:password")
    ap.add_argument("--tenant", default="acme")
    ap.add_argument("--queues", required=True)
    ap.add_argument("--outputs", required=True)
    ap.add_argument("--jobs", type=int, default=50)
    ap.add_argument("--tag", default="r")
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--nimbusd-log", help="nimbusd's log (info level): split the latency at "
                    "the moment nimbusd committed the payment as paid")
    ap.add_argument("--cpu", action="append", default=[], help="NAME=PID[,PID...]")
    a = ap.parse_args()
    base = a.url.rstrip("/")
    login, password = a.user.split(":", 1)
    ipp_user = login.split("@", 1)[0]
    queues = a.queues.split(",")

    # 1. distinct documents, submitted held
    tags, jobs = {}, []
    try:
        for i in range(a.jobs):
            tag = f"{a.tag}-{i:03d}-{os.getpid()}"
            pdf = make_pdf(tag)
            tags[tag] = pdf
            q = queues[i % len(queues)]
            jid = print_job(base, f"/ipp/print/{a.tenant}/{q}", ipp_user, password, pdf)
            jobs.append((tag, jid))
        # 2. payments started, pages opened (csrf)
        pages = []
        for tag, jid in jobs:
            d = rest(base, a.user, "POST", f"/api/v1/jobs/{jid}/payment")
            url = d["payment"]["payment_url"]
            with OPENER.open(url, timeout=30) as r:
                html = r.read().decode()
            m = re.search(r'name="csrf" value="([^"]*)"', html)
            if not m:
                raise RuntimeError(f"job {jid}: no CSRF token on {url}")
            pages.append((url, m.group(1)))
        for _tag, jid in jobs:
            st = rest(base, a.user, "GET", f"/api/v1/jobs/{jid}")["state"]
            if st != "awaiting-payment":
                raise RuntimeError(f"job {jid} is {st}, not awaiting-payment")
    except Exception as e:  # noqa: BLE001
        print(f"pay-phones: set-up failed: {e}", file=sys.stderr)
        return 2

    # 3.-4. watch, then press Pay everywhere at once
    w = Watcher(a.outputs.split(","), tags)
    w.start()
    cpu_pids = {}
    for spec in a.cpu:
        name, pids = spec.split("=", 1)
        cpu_pids[name] = [int(p) for p in pids.split(",") if p]
    cpu0 = {n: sum(cpu_ticks(p) for p in ps) for n, ps in cpu_pids.items()}
    my0 = os.times()
    barrier = threading.Barrier(len(pages))
    res = [None] * len(pages)
    threads = [threading.Thread(target=phone, args=(u, c, barrier, res, i))
               for i, (u, c) in enumerate(pages)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    w.done.wait(a.timeout)
    t_end = time.monotonic()
    cpu1 = {n: sum(cpu_ticks(p) for p in ps) for n, ps in cpu_pids.items()}
    my1 = os.times()

    # 5. every job printed, right, and completed at nimbusd
    errors = []
    lat, page = [], []
    first = min(r[0] for r in res)
    last = first
    for (tag, jid), r in zip(jobs, res):
        if r[3]:
            errors.append(f"job {jid}: Pay failed: {r[3]}")
        page.append((r[1] - r[0]) * 1000)
        if tag not in w.seen:
            errors.append(f"job {jid} ({tag}) did not print within {a.timeout:.0f} s")
            continue
        lat.append((w.seen[tag][0] - r[0]) * 1000)
        last = max(last, w.seen[tag][0])
    errors += [f"printed file not as sent (or twice): {p}" for p in w.wrong]
    deadline = time.monotonic() + 10  # the printer's report reaches nimbusd after the file
    for tag, jid in jobs:
        while True:
            st = rest(base, a.user, "GET", f"/api/v1/jobs/{jid}")["state"]
            if st == "completed" or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        if st != "completed":
            errors.append(f"job {jid} is {st} at nimbusd, not completed")
    paid = paid_times(a.nimbusd_log) if a.nimbusd_log else {}
    to_paid, paid_to_print = [], []
    for (tag, jid), r in zip(jobs, res):
        if jid in paid and tag in w.seen:
            to_paid.append((paid[jid] - r[4]) * 1000)
            paid_to_print.append((w.seen[tag][0] - r[0]) * 1000 - to_paid[-1])
    lat.sort()
    page.sort()
    out = {"jobs": a.jobs, "printed": len(lat), "errors": errors[:10]}
    if lat:
        out.update({
            "p50": round(pct(lat, 50), 1), "p90": round(pct(lat, 90), 1),
            "p99": round(pct(lat, 99), 1), "max": round(lat[-1], 1), "min": round(lat[0], 1),
            "throughput": round(len(lat) / (last - first), 1) if last > first else None,
            "span_ms": round((last - first) * 1000, 1),
            "latencies_ms": [round(v, 1) for v in lat]})
    if len(to_paid) == len(lat) and lat:
        to_paid.sort()
        paid_to_print.sort()
        out.update({"paid_p50": round(pct(to_paid, 50), 1), "paid_p99": round(pct(to_paid, 99), 1),
                    "print_p50": round(pct(paid_to_print, 50), 1),
                    "print_p99": round(pct(paid_to_print, 99), 1)})
    # where the phone's browser ended (path only): nimbusd's return page
    out["page_final"] = sorted({urllib.parse.urlsplit(r[2]).path for r in res if r[2]})
    out["page_p50"] = round(pct(page, 50), 1)
    out["page_p99"] = round(pct(page, 99), 1)
    out["window_s"] = round(t_end - first, 3)
    out["first_pay_unix"] = round(time.time() - (time.monotonic() - first), 3)
    out["cpu_s"] = {n: round((cpu1[n] - cpu0[n]) / CLK_TCK, 2) for n in cpu_pids}
    out["cpu_s"]["phones"] = round((my1.user + my1.system) - (my0.user + my0.system), 2)
    print(json.dumps(out))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
