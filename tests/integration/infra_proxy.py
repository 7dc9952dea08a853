#!/usr/bin/env python3
"""infra_proxy.py: an independent, standard-only INFRA proxy (PWG 5100.18 /
5100.22) in raw IPP, written the way a third-party proxy would talk: it
never sends a nimbus-* attribute, picks its own output-device-uuid, presents
the claim code as the HTTP password (HTTP Basic, sent only after the 401
challenge, as libcups does), keeps those same credentials afterwards, and
does not repeat output-device-uuid on Create-Printer-Subscriptions,
Get-Notifications, Cancel-Subscription or Get-Jobs.  Every response is
decoded by a strict parser (groups in RFC 8011 order, every value
well-formed); a violation is an error.

usage:
  infra_proxy.py register SYSTEM_URL UUID CLAIM STATE [QUEUE]
      Register-Output-Device; STATE (JSON) receives the printer URI taken
      from printer-xri-supported (the one of QUEUE when given).
  infra_proxy.py subscribe STATE
      Update-Output-Device-Attributes, Create-Printer-Subscriptions.
  infra_proxy.py serve STATE OUT_FILE
      Wait (Get-Notifications, notify-wait) for a job-fetchable event, then
      Get-Jobs which-jobs=fetchable, Fetch-Job, Acknowledge-Job,
      Update-Job-Status processing, Fetch-Document (to OUT_FILE),
      Acknowledge-Document, Update-Document-Status, Update-Job-Status
      completed; then wait for the job-state-changed event of the
      completion.  Prints "job JOB_ID" and, per event seen,
      "event NAME JOB_ID STATE REASONS".
  infra_proxy.py unsubscribe STATE
      Cancel-Subscription.
  infra_proxy.py call STATE OPERATION [name=tag:value[,value...]...]
      One request (for the conformance checks); prints "status 0xNNNN"
      and "GROUP NAME = VALUES" lines.  sub.NAME goes to a subscription
      group; AUTH=user:password and URI=printer-uri replace the proxy's.
"""
import base64
import json
import struct
import sys
import urllib.error
import urllib.request

OPS = {
    "Print-Job": 0x0002, "Validate-Job": 0x0004, "Create-Job": 0x0005, "Send-Document": 0x0006,
    "Cancel-Job": 0x0008, "Get-Job-Attributes": 0x0009, "Get-Jobs": 0x000A, "Hold-Job": 0x000C,
    "Release-Job": 0x000D,
    "Get-Printer-Attributes": 0x000B, "Get-Printer-Supported-Values": 0x0015,
    "Create-Printer-Subscriptions": 0x0016, "Create-Job-Subscriptions": 0x0017,
    "Get-Subscription-Attributes": 0x0018, "Get-Subscriptions": 0x0019,
    "Renew-Subscription": 0x001A, "Cancel-Subscription": 0x001B, "Get-Notifications": 0x001C,
    "Get-Document-Attributes": 0x0034, "Get-Documents": 0x0035, "Cancel-My-Jobs": 0x0039,
    "Close-Job": 0x003B, "Validate-Document": 0x003D, "Acknowledge-Document": 0x003F,
    "Acknowledge-Job": 0x0041, "Fetch-Document": 0x0042, "Fetch-Job": 0x0043,
    "Get-Output-Device-Attributes": 0x0044, "Update-Active-Jobs": 0x0045,
    "Deregister-Output-Device": 0x0046, "Update-Document-Status": 0x0047,
    "Update-Job-Status": 0x0048, "Update-Output-Device-Attributes": 0x0049,
    "Register-Output-Device": 0x005F,
}
TAGS = {"integer": 0x21, "boolean": 0x22, "enum": 0x23, "text": 0x41, "name": 0x42,
        "keyword": 0x44, "uri": 0x45, "charset": 0x47, "language": 0x48, "mime": 0x49}
GROUPS = {0x01: "operation", 0x02: "job", 0x04: "printer", 0x05: "unsupported",
          0x06: "subscription", 0x07: "event-notification", 0x09: "document", 0x0A: "system"}


class IppError(Exception):
    pass


def value_bytes(tag, value):
    if tag in (0x21, 0x23):
        return struct.pack(">i", int(value))
    if tag == 0x22:
        return b"\x01" if value in (True, "true", 1) else b"\x00"
    return value.encode() if isinstance(value, str) else value


def attr(tag, name, *values):
    out = b""
    for i, v in enumerate(values):
        vb = value_bytes(tag, v)
        n = name if i == 0 else ""
        out += struct.pack(">BH", tag, len(n)) + n.encode() + struct.pack(">H", len(vb)) + vb
    return out


def decode_value(tag, raw):
    if tag in (0x21, 0x23):
        if len(raw) != 4:
            raise IppError(f"integer of {len(raw)} octets")
        return struct.unpack(">i", raw)[0]
    if tag == 0x22:
        if len(raw) != 1:
            raise IppError("boolean not one octet")
        return raw[0] != 0
    if tag in (0x10, 0x12, 0x13):  # unsupported, unknown, no-value
        return None
    if tag in (0x30, 0x31, 0x32, 0x33):  # octetString, dateTime, resolution, rangeOfInteger
        return raw
    return raw.decode("utf-8")


def parse(body):
    """Strict decoder: returns (status, [(group, {name: [values]})], rest).
    Operation group first and once; groups of RFC 8011 only; collections
    balanced; the message ends with end-of-attributes."""
    if len(body) < 9:
        raise IppError("short message")
    status = struct.unpack(">H", body[2:4])[0]
    groups, i, seen_operation = [], 8, False
    current = None
    stack = []  # open collections: (dict, member name list)
    last_name = None
    while i < len(body):
        tag = body[i]
        i += 1
        if tag < 0x10:
            if stack:
                raise IppError("group tag inside a collection")
            if tag == 0x03:
                return status, groups, body[i:]
            if tag not in GROUPS:
                raise IppError(f"unknown group tag 0x{tag:02x}")
            if tag == 0x01:
                if seen_operation or groups:
                    raise IppError("operation group not first, or twice")
                seen_operation = True
            elif not seen_operation:
                raise IppError("first group is not the operation group")
            current = {}
            groups.append((GROUPS[tag], current))
            last_name = None
            continue
        if current is None:
            raise IppError("attribute before any group")
        (nlen,) = struct.unpack(">H", body[i:i + 2])
        name = body[i + 2:i + 2 + nlen].decode()
        i += 2 + nlen
        (vlen,) = struct.unpack(">H", body[i:i + 2])
        raw = body[i + 2:i + 2 + vlen]
        if len(raw) != vlen:
            raise IppError("truncated value")
        i += 2 + vlen
        target = stack[-1][0] if stack else current
        if tag == 0x4A:  # memberAttrName
            stack[-1][1].append(raw.decode())
            continue
        if stack and name:
            raise IppError("named attribute inside a collection")
        if stack and not name:
            name = stack[-1][1][-1] if stack[-1][1] else None
            if name is None:
                raise IppError("collection value without a member name")
        if tag == 0x34:  # begCollection
            col = {}
            if name:
                target.setdefault(name, []).append(col)
                last_name = name if not stack else last_name
            else:
                if last_name is None:
                    raise IppError("additional value without an attribute")
                current[last_name].append(col)
            stack.append((col, []))
            continue
        if tag == 0x37:  # endCollection
            if not stack:
                raise IppError("endCollection without begCollection")
            stack.pop()
            continue
        v = decode_value(tag, raw)
        if stack:
            stack[-1][0].setdefault(name, []).append(v)
        elif name:
            current.setdefault(name, []).append(v)
            last_name = name
        else:
            if last_name is None:
                raise IppError("additional value without an attribute")
            current[last_name].append(v)
    raise IppError("no end-of-attributes tag")


def find(groups, name, group=None):
    for g, attrs in groups:
        if (group is None or g == group) and name in attrs:
            return attrs[name]
    return None


def post(url, body, user=None, password=None, challenge_first=True):
    """POST like libcups: without credentials first; on a 401 challenge,
    again with HTTP Basic.  Returns the raw body."""
    http_url = url.replace("ipp://", "http://", 1)
    tries = [None, (user, password)] if challenge_first else [(user, password)]
    for cred in tries:
        headers = {"Content-Type": "application/ipp"}
        if cred and cred[1] is not None:
            token = base64.b64encode(f"{cred[0]}:{cred[1]}".encode()).decode()
            headers["Authorization"] = "Basic " + token
        req = urllib.request.Request(http_url, data=body, headers=headers)
        try:
            return urllib.request.urlopen(req, timeout=90).read()
        except urllib.error.HTTPError as e:
            if e.code == 401 and cred is None and password is not None:
                if "Basic" not in (e.headers.get("WWW-Authenticate") or ""):
                    raise IppError("401 without a Basic challenge")
                continue
            raise IppError(f"HTTP {e.code}")
    raise IppError("no answer")


class Proxy:
    def __init__(self, state):
        self.s = state
        self.rid = 1

    def request(self, op, attrs=b"", groups=b"", with_uuid=False, document=False):
        self.rid += 1
        body = struct.pack(">BBHI", 2, 0, OPS[op], self.rid) + b"\x01"
        body += attr(0x47, "attributes-charset", "utf-8")
        body += attr(0x48, "attributes-natural-language", "en")
        body += attr(0x45, "printer-uri", self.s["printer_uri"])
        if with_uuid:
            body += attr(0x45, "output-device-uuid", self.s["uuid"])
        body += attrs + groups + b"\x03"
        raw = post(self.s["printer_uri"], body, self.s.get("login", "proxy"), self.s["claim"],
                   challenge_first=False)
        status, groups_out, rest = parse(raw)
        if not document and rest:
            raise IppError(f"{op}: data after the attributes")
        return status, groups_out, rest

    def ok(self, op, *args, **kw):
        status, groups, rest = self.request(op, *args, **kw)
        if status >= 0x0400:
            msg = find(groups, "status-message")
            raise IppError(f"{op}: status 0x{status:04x} {msg}")
        return groups, rest


def load(path):
    with open(path) as f:
        return json.load(f)


def save(path, state):
    with open(path, "w") as f:
        json.dump(state, f)


def cmd_register(system_url, uuid, claim, state_path, queue=None):
    body = struct.pack(">BBHI", 2, 0, OPS["Register-Output-Device"], 1) + b"\x01"
    body += attr(0x47, "attributes-charset", "utf-8")
    body += attr(0x48, "attributes-natural-language", "en")
    body += attr(0x45, "system-uri", system_url)
    body += attr(0x45, "output-device-uuid", uuid)
    body += b"\x03"
    status, groups, _ = parse(post(system_url, body, "proxy", claim))
    if status != 0:
        raise IppError(f"Register-Output-Device: status 0x{status:04x} {find(groups, 'status-message')}")
    xri = find(groups, "printer-xri-supported", "printer")
    if not xri or not all(isinstance(x, dict) and "xri-uri" in x for x in xri):
        raise IppError("no printer-xri-supported collection in the printer group")
    if queue:  # the Infrastructure Printer of that queue
        xri = [x for x in xri if x["xri-uri"][0].endswith("/" + queue)] or xri[:0]
        if not xri:
            raise IppError(f"printer-xri-supported does not name queue {queue}")
    got_uuid = find(groups, "output-device-uuid")
    if got_uuid and got_uuid[0] != uuid:
        raise IppError(f"uuid {got_uuid[0]} is not ours")
    state = {"uuid": uuid, "claim": claim, "printer_uri": xri[0]["xri-uri"][0],
             "xri_authentication": xri[0].get("xri-authentication", [None])[0]}
    save(state_path, state)
    print(f"printer {state['printer_uri']} authentication {state['xri_authentication']}")


def cmd_subscribe(state_path):
    s = load(state_path)
    p = Proxy(s)
    printer = (b"\x04" + attr(0x41, "printer-make-and-model", "Third Party Proxy 1.0")
               + attr(0x49, "document-format-supported", "application/pdf", "image/pwg-raster")
               + attr(0x23, "printer-state", 3) + attr(0x44, "printer-state-reasons", "none"))
    p.ok("Update-Output-Device-Attributes", b"", printer, with_uuid=True)
    sub = (b"\x06" + attr(0x44, "notify-pull-method", "ippget")
           + attr(0x44, "notify-events", "job-fetchable", "job-state-changed")
           + attr(0x21, "notify-lease-duration", 600))
    groups, _ = p.ok("Create-Printer-Subscriptions", b"", sub)
    ids = find(groups, "notify-subscription-id", "subscription")
    if not ids:
        raise IppError("no notify-subscription-id")
    s["sub"] = ids[0]
    s["seq"] = 1
    save(state_path, s)
    print(f"subscription {ids[0]}")


def notifications(p, wait):
    """One Get-Notifications (no output-device-uuid); returns the events."""
    attrs = (attr(0x21, "notify-subscription-ids", p.s["sub"])
             + attr(0x21, "notify-sequence-numbers", p.s["seq"])
             + attr(0x22, "notify-wait", wait))
    groups, _ = p.ok("Get-Notifications", attrs)
    events = [a for g, a in groups if g == "event-notification"]
    for e in events:
        p.s["seq"] = max(p.s["seq"], e["notify-sequence-number"][0] + 1)
    return events


def wait_for(p, pred, rounds=10):
    """Held Get-Notifications until an event satisfies pred; every event
    received is printed."""
    for _ in range(rounds):
        found = None
        for e in notifications(p, True):
            name = e["notify-subscribed-event"][0]
            jid = e.get("notify-job-id", [0])[0]
            print(f"event {name} {jid} {e.get('job-state', [0])[0]} "
                  f"{','.join(e.get('job-state-reasons', []))}")
            if found is None and pred(e):
                found = e
        if found is not None:
            return found
    raise IppError("the awaited event did not come")


def cmd_serve(state_path, out_path):
    s = load(state_path)
    p = Proxy(s)
    wait_for(p, lambda e: e["notify-subscribed-event"][0] == "job-fetchable")
    groups, _ = p.ok("Get-Jobs", attr(0x44, "which-jobs", "fetchable"))
    jobs = [a["job-id"][0] for g, a in groups if g == "job"]
    if not jobs:
        raise IppError("Get-Jobs which-jobs=fetchable listed nothing")
    job = jobs[0]
    print(f"job {job}")
    jid = attr(0x21, "job-id", job)
    groups, _ = p.ok("Fetch-Job", jid, with_uuid=True)
    if not find(groups, "job-name", "job"):
        raise IppError("Fetch-Job without job attributes")
    p.ok("Acknowledge-Job", jid, with_uuid=True)
    p.ok("Update-Job-Status", jid + attr(0x23, "output-device-job-state", 5), with_uuid=True)
    doc = attr(0x21, "document-number", 1)
    groups, data = p.ok("Fetch-Document", jid + doc, with_uuid=True, document=True)
    with open(out_path, "wb") as f:
        f.write(data)
    p.ok("Acknowledge-Document", jid + doc, with_uuid=True)
    p.ok("Update-Document-Status", jid + doc + attr(0x21, "impressions-completed", 1),
         with_uuid=True)
    p.ok("Update-Job-Status", jid + attr(0x23, "output-device-job-state", 9)
         + attr(0x21, "job-impressions-completed", 1), with_uuid=True)
    wait_for(p, lambda e: e["notify-subscribed-event"][0] == "job-state-changed"
             and e.get("job-state", [0])[0] == 9)
    save(state_path, s)


def cmd_unsubscribe(state_path):
    s = load(state_path)
    Proxy(s).ok("Cancel-Subscription", attr(0x21, "notify-subscription-id", s["sub"]))
    print("unsubscribed")


def cmd_call(state_path, op, specs):
    s = load(state_path)
    attrs, groups = b"", b""
    for spec in specs:
        name, rest = spec.split("=", 1)
        if name == "AUTH":  # another caller: user:password (a user, or the claim again)
            s["login"], s["claim"] = rest.split(":", 1)
            continue
        if name == "URI":  # another queue of the same server
            s["printer_uri"] = rest
            continue
        tag, value = rest.split(":", 1)
        target_sub = name.startswith("sub.")
        name = name[4:] if target_sub else name
        a = attr(TAGS[tag], name, *value.split(","))
        if target_sub:
            groups += (b"" if groups else b"\x06") + a
        else:
            attrs += a
    status, out, _ = Proxy(s).request(op, attrs, groups)
    print(f"status 0x{status:04x}")
    for g, a in out:
        for name, values in a.items():
            print(f"{g} {name} = {','.join(str(v) for v in values)}")


def main():
    cmd = sys.argv[1]
    try:
        if cmd == "register":
            cmd_register(*sys.argv[2:7])
        elif cmd == "subscribe":
            cmd_subscribe(sys.argv[2])
        elif cmd == "serve":
            cmd_serve(sys.argv[2], sys.argv[3])
        elif cmd == "unsubscribe":
            cmd_unsubscribe(sys.argv[2])
        elif cmd == "call":
            cmd_call(sys.argv[2], sys.argv[3], sys.argv[4:])
        else:
            raise SystemExit(__doc__)
    except IppError as e:
        print(f"infra_proxy: {e}", file=sys.stderr)
        sys.exit(1)


main()
