#!/usr/bin/env bash
# test-paysim.sh: nimbus-paysim as nimbusd's adapters see it.  A python3
# client signs LINE Pay requests (HMAC-SHA256, base64) and speaks Stripe's
# form-encoded API; a python3 receiver records the LINE Pay confirm/cancel
# GETs and the Stripe webhooks and verifies their Stripe-Signature.
# Covers: signatures (good, bad, wrong channel), duplicate orderId, the
# check codes through the life cycle (0000 -> 0110 -> 0123; 0122, 0121),
# exact 19-digit ids and decimal amounts, refunds and over-refunds, Stripe
# idempotency replay and conflicts, retrieve, expire, refunds, webhooks
# (two v1 signatures while a secret rolls), the payment page and its form
# token, and the misbehaviours (decline, no_callback, double_callback,
# early_webhook with auto_pay, http_500, timeout), expiry by time; saved
# methods: LINE Pay PREAPPROVED registration, regKey, preapproved payments,
# duplicate orderId and payment details, expire; Stripe customers, setup
# sessions, setup intents, payment methods, off-session payment intents,
# detach; /sim/decline-saved, /sim/charges, /sim/methods.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PAYSIM=${NIMBUS_PAYSIM:-$HERE/../../build/src/paysim/nimbus-paysim}
[ -x "$PAYSIM" ] || { echo "nimbus-paysim not found at $PAYSIM" >&2; exit 1; }
exec python3 - "$PAYSIM" <<'PY'
import base64, hashlib, hmac, http.server, json, re, signal, subprocess, sys, threading
import time, urllib.error, urllib.parse, urllib.request, uuid

PAYSIM = sys.argv[1]
passed = 0
procs = []

def ok(name):
    global passed
    passed += 1
    print("ok - " + name, flush=True)

def fail(msg):
    print("FAILED - " + msg, file=sys.stderr, flush=True)
    for p in procs:
        p.send_signal(signal.SIGTERM)
        try:
            out, err = p.communicate(timeout=10)
            sys.stderr.write(err[-3000:])
        except Exception:
            p.kill()
    sys.exit(1)

def expect(cond, msg):
    if not cond:
        fail(msg)

# ---- the merchant side: records GETs (LINE Pay returns) and POSTs (webhooks) ----
got = []
got_cv = threading.Condition()

class Receiver(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def _record(self, body):
        with got_cv:
            got.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                        "body": body, "at": time.monotonic()})
            got_cv.notify_all()
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def do_GET(self):
        self._record(b"")
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        self._record(self.rfile.read(n))

rx = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
threading.Thread(target=rx.serve_forever, daemon=True).start()
RX = "http://127.0.0.1:%d" % rx.server_address[1]
HOOK = RX + "/hook"

def wait_for(pred, timeout=5.0):
    """the records matching pred, waiting until there is one (or timeout)"""
    end = time.monotonic() + timeout
    with got_cv:
        while True:
            m = [g for g in got if pred(g)]
            if m or time.monotonic() >= end:
                return m
            got_cv.wait(max(0.01, end - time.monotonic()))

def start(*extra):
    p = subprocess.Popen([PAYSIM, "--port", "0", "--merchant", "Corner Copy Shop & Co",
                          "--linepay-channel", "1651234567:lp-secret-one",
                          "--linepay-channel", "1659999999:lp-secret-two",
                          "--stripe-key", "sk_test_alpha", "--stripe-key", "sk_test_beta",
                          "--stripe-webhook", HOOK + "=whsec_old",
                          "--stripe-webhook", HOOK + "=whsec_new", "--log-level", "warn"]
                         + list(extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    procs.append(p)
    line = p.stdout.readline()
    m = re.search(r"listening on \S+ port (\d+)", line)
    expect(m, "no banner with the port: %r" % line)
    return p, "http://127.0.0.1:" + m.group(1)

def stop(p):
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=20)
    procs.remove(p)
    expect(p.returncode == 0, "paysim exited with %d: %s" % (p.returncode, err[-3000:]))

class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None
opener = urllib.request.build_opener(NoRedirect)

def http(method, url, body=None, headers=None, timeout=10):
    """(status, headers, raw body bytes); never follows redirects"""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with opener.open(req, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()

# ---- LINE Pay client ----
CH1, SEC1 = "1651234567", "lp-secret-one"
CH2, SEC2 = "1659999999", "lp-secret-two"

def lp(method, path, body=None, ch=CH1, secret=SEC1, query="", sign_secret=None, want=200):
    nonce = str(uuid.uuid4())
    text = json.dumps(body) if isinstance(body, dict) else (body or "")
    msg = secret + path + (query if method == "GET" else text) + nonce
    sig = base64.b64encode(hmac.new((sign_secret or secret).encode(), msg.encode(),
                                    hashlib.sha256).digest()).decode()
    h = {"Content-Type": "application/json", "X-LINE-ChannelId": ch,
         "X-LINE-Authorization-Nonce": nonce, "X-LINE-Authorization": sig}
    url = BASE + path + ("?" + query if query else "")
    st, hd, raw = http(method, url, text.encode() if method == "POST" else None, h)
    expect(st == want, "LINE Pay %s answered HTTP %d: %r" % (path, st, raw))
    return json.loads(raw), raw.decode()

def lp_reserve(order, amount=1200, currency="JPY", ch=CH1, secret=SEC1, raw_amount=None):
    a = raw_amount if raw_amount is not None else str(amount)
    body = ('{"amount":%s,"currency":"%s","orderId":"%s","packages":[{"id":"%s","amount":%s,'
            '"name":"Print job","products":[{"name":"Print job 7 (3 pages)","quantity":1,'
            '"price":%s}]}],"redirectUrls":{"confirmUrl":"%s/lp/confirm","cancelUrl":'
            '"%s/lp/cancel"}}') % (a, currency, order, order, a, a, RX, RX)
    return lp("POST", "/v3/payments/request", body, ch=ch, secret=secret)

def lp_check(txid):
    return lp("GET", "/v3/payments/requests/%s/check" % txid)[0]["returnCode"]

def sim(method, path, body=None):
    st, _, raw = http(method, BASE + path, json.dumps(body).encode() if body is not None else None,
                      {"Content-Type": "application/json"})
    return st, json.loads(raw)

def sim_tx(txid):
    return [t for t in sim("GET", "/sim/transactions")[1]["transactions"] if t["id"] == txid][0]

# ---- Stripe client ----
def stripe(method, path, fields=None, key="sk_test_alpha", idem=None):
    h = {"Authorization": "Bearer " + key}
    if idem:
        h["Idempotency-Key"] = idem
    body = None
    if fields is not None:
        body = urllib.parse.urlencode(fields).encode()
        h["Content-Type"] = "application/x-www-form-urlencoded"
    st, hd, raw = http(method, BASE + path, body, h)
    return st, hd, raw

def session_fields(order, amount=120, cur="eur", expires=None):
    f = [("mode", "payment"), ("line_items[0][price_data][currency]", cur),
         ("line_items[0][price_data][unit_amount]", str(amount)),
         ("line_items[0][price_data][product_data][name]", "Print job " + order),
         ("line_items[0][quantity]", "1"),
         ("success_url", RX + "/st/ok?session={CHECKOUT_SESSION_ID}"),
         ("cancel_url", RX + "/st/cancel"), ("client_reference_id", order),
         ("metadata[order_id]", order)]
    if expires:
        f.append(("expires_at", str(expires)))
    return f

def verify_stripe_sig(header, body):
    """the v1 signatures that verify with a configured secret; timestamp checked"""
    parts = [p.split("=", 1) for p in header.split(",")]
    t = [v for k, v in parts if k == "t"][0]
    expect(abs(time.time() - int(t)) <= 300, "webhook timestamp too far off: " + t)
    good = set()
    for k, v in parts:
        if k != "v1":
            continue
        for sec in ("whsec_old", "whsec_new"):
            want = hmac.new(sec.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
            if hmac.compare_digest(want, v):
                good.add(sec)
    return good

def webhooks(session_id, typ="checkout.session.completed", timeout=5.0):
    def match(g):
        if g["method"] != "POST":
            return False
        d = json.loads(g["body"])
        return d["type"] == typ and d["data"]["object"]["id"] == session_id
    return wait_for(match, timeout)

P, BASE = start()

# ---- basics ----
st, _, raw = http("GET", BASE + "/healthz")
expect(st == 200 and raw == b"ok\n", "healthz: %d %r" % (st, raw))
v = subprocess.run([PAYSIM, "--version"], capture_output=True, text=True)
expect(v.returncode == 0 and v.stdout.startswith("nimbus-paysim "), "--version: %r" % v.stdout)
h = subprocess.run([PAYSIM, "--help"], capture_output=True, text=True)
expect(h.returncode == 0 and "--stripe-webhook" in h.stdout and "Usage" in h.stdout, "--help")
ok("healthz, --version, --help")

# ---- LINE Pay: signatures, ids, duplicate orders ----
d, raw = lp_reserve("order-lp-1")
expect(d["returnCode"] == "0000", "signed request refused: %s" % raw)
m = re.search(r'"transactionId":(\d+)[,}]', raw)
expect(m and len(m.group(1)) == 19, "transactionId is not a 19-digit JSON integer: " + raw)
LP1 = m.group(1)
expect(int(LP1) > 2**53 and d["info"]["transactionId"] == int(LP1), "id beyond 2^53 not exact")
expect(LP1.startswith(time.strftime("%Y%m%d", time.gmtime())), "id does not start with the date")
expect(d["info"]["paymentUrl"]["web"] == BASE + "/pay/" + LP1, "paymentUrl: %s" % raw)
ok("LINE Pay request signed correctly is accepted; 19-digit id exact in the JSON text")

body = ('{"amount":100,"currency":"JPY","orderId":"order-lp-bad","packages":[{"id":"p","amount":100,'
        '"products":[{"name":"x","quantity":1,"price":100}]}],"redirectUrls":{"confirmUrl":"%s/c",'
        '"cancelUrl":"%s/c"}}') % (RX, RX)
expect(lp("POST", "/v3/payments/request", body, sign_secret="wrong")[0]["returnCode"] == "1106",
       "bad signature accepted")
expect(lp("POST", "/v3/payments/request", body, ch=CH1, secret=SEC2)[0]["returnCode"] == "1106",
       "another channel's secret accepted")
expect(lp("POST", "/v3/payments/request", body, ch="1600000000")[0]["returnCode"] == "1106",
       "unknown channel accepted")
tampered = lp("GET", "/v3/payments/requests/%s/check" % LP1, query="x=1", sign_secret="nope")
expect(tampered[0]["returnCode"] == "1106", "bad GET signature accepted")
expect(lp("POST", "/v3/payments/request", body, ch=CH2, secret=SEC2)[0]["returnCode"] == "0000",
       "second channel refused")
expect(lp_check(LP1) == "0000", "check of a new reservation is not 0000")
# the second channel cannot see the first channel's transaction
other = lp("GET", "/v3/payments/requests/%s/check" % LP1, ch=CH2, secret=SEC2)[0]
expect(other["returnCode"] == "1150", "another channel sees the transaction: %s" % other)
ok("bad signature, wrong secret, unknown channel refused (1106); channels are separate")

expect(lp_reserve("order-lp-1")[0]["returnCode"] == "1172", "duplicate orderId accepted")
ok("duplicate orderId refused (1172)")

# ---- the payment page ----
st, hd, raw = http("GET", BASE + "/pay/" + LP1)
page = raw.decode()
csp = hd.get("Content-Security-Policy", "")
expect(st == 200 and 'name="viewport"' in page and "JPY 1200" in page, "page: %d %s" % (st, page))
expect("Corner Copy Shop &amp; Co" in page and "Print job 7 (3 pages)" in page, "page content")
expect("<script" not in page and "default-src 'none'" in csp and "style-src 'sha256-" in csp,
       "page CSP/script: %s" % csp)
expect(not re.search(r'(src|href)="http', page), "page loads an external asset")
token = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
expect(lp("POST", "/v3/payments/%s/confirm" % LP1, {"amount": 1200, "currency": "JPY"})[0]
       ["returnCode"] == "1169", "confirm before the user paid is not 1169")
st, _, _ = http("POST", BASE + "/pay/" + LP1, b"action=pay&csrf=" + b"0" * 32,
                {"Content-Type": "application/x-www-form-urlencoded"})
expect(st == 403 and lp_check(LP1) == "0000", "a form with a wrong token was accepted")
ok("payment page: phone viewport, merchant, item, amount, strict CSP, no script, form token")

st, hd, _ = http("POST", BASE + "/pay/" + LP1, ("action=pay&csrf=" + token).encode(),
                 {"Content-Type": "application/x-www-form-urlencoded"})
loc = hd.get("Location", "")
expect(st == 303 and loc == RX + "/lp/confirm?transactionId=%s&orderId=order-lp-1" % LP1,
       "Pay: %d %s" % (st, loc))
expect(lp_check(LP1) == "0110", "check after Pay is not 0110")
wrong = lp("POST", "/v3/payments/%s/confirm" % LP1, {"amount": 1100, "currency": "JPY"})[0]
expect(wrong["returnCode"] == "1153" and lp_check(LP1) == "0110", "wrong amount: %s" % wrong)
wrongc = lp("POST", "/v3/payments/%s/confirm" % LP1, {"amount": 1200, "currency": "USD"})[0]
expect(wrongc["returnCode"] == "1153", "wrong currency: %s" % wrongc)
c, craw = lp("POST", "/v3/payments/%s/confirm" % LP1, {"amount": 1200, "currency": "JPY"})
expect(c["returnCode"] == "0000" and c["info"]["orderId"] == "order-lp-1"
       and ('"transactionId":%s' % LP1) in craw and c["info"]["payInfo"][0]["amount"] == 1200,
       "confirm: %s" % craw)
expect(lp_check(LP1) == "0123", "check after confirm is not 0123")
again = lp("POST", "/v3/payments/%s/confirm" % LP1, {"amount": 1200, "currency": "JPY"})[0]
expect(again["returnCode"] == "0000", "a second confirm is not idempotent")
ok("life cycle 0000 -> Pay (303 to confirmUrl) -> 0110 -> confirm -> 0123; mismatches refused")

r1, rraw = lp("POST", "/v3/payments/%s/refund" % LP1, {"refundAmount": 500})
expect(r1["returnCode"] == "0000" and re.search(r'"refundTransactionId":\d{19}[,}]', rraw),
       "partial refund: %s" % rraw)
expect(lp("POST", "/v3/payments/%s/refund" % LP1, {"refundAmount": 800})[0]["returnCode"]
       == "1164", "over-refund accepted")
expect(lp("POST", "/v3/payments/%s/refund" % LP1, {})[0]["returnCode"] == "0000",
       "refund of the rest refused")
expect(lp("POST", "/v3/payments/%s/refund" % LP1, {"refundAmount": 1})[0]["returnCode"]
       == "1165", "refund past the total accepted")
t = sim_tx(LP1)
expect(t["refunded"] == 1200 and t["refunds"] == 2 and t["state"] == "paid", "refunds: %s" % t)
ok("LINE Pay refund (partial, rest); over-refund 1164, fully refunded 1165")

# decimal currency, exact number text both ways
d, raw = lp_reserve("order-usd", currency="USD", raw_amount="1.20")
expect(d["returnCode"] == "0000", "USD 1.20 refused: %s" % raw)
USD = re.search(r'"transactionId":(\d+)', raw).group(1)
expect(sim_tx(USD)["amount"] == 120, "1.20 USD is not 120 minor units")
expect("USD 1.20" in http("GET", BASE + "/pay/" + USD)[2].decode(), "page amount for USD")
expect(lp_reserve("order-usd-3", currency="USD", raw_amount="1.205")[0]["returnCode"] != "0000",
       "an amount finer than the currency's minor unit accepted")
st, j = sim("POST", "/sim/pay/" + USD)
expect(st == 200 and j["state"] == "authorized", "sim pay: %s" % j)
c, craw = lp("POST", "/v3/payments/%s/confirm" % USD, '{"amount":1.2,"currency":"USD"}')
expect(c["returnCode"] == "0000" and '"amount":1.20' in craw, "USD confirm: %s" % craw)
ok("decimal amounts parsed and written as exact number text (USD 1.20 = 120)")

# /sim/pay is the button without a browser: paysim GETs the confirmUrl itself
back = wait_for(lambda g: g["method"] == "GET" and ("transactionId=%s" % USD) in g["path"])
expect(len(back) == 1 and back[0]["path"].startswith("/lp/confirm?"), "confirmUrl GET: %s" % back)
d, raw = lp_reserve("order-decl")
DECL = re.search(r'"transactionId":(\d+)', raw).group(1)
st, j = sim("POST", "/sim/decline/" + DECL)
expect(st == 200 and lp_check(DECL) == "0122", "decline: %s" % j)
back = wait_for(lambda g: g["method"] == "GET" and ("transactionId=%s" % DECL) in g["path"])
expect(back and back[0]["path"].startswith("/lp/cancel?"), "cancelUrl GET: %s" % back)
expect(sim("POST", "/sim/pay/" + DECL)[0] == 409, "a declined payment could be paid")
d, raw = lp_reserve("order-void")
VOID = re.search(r'"transactionId":(\d+)', raw).group(1)
expect(lp("POST", "/v3/payments/authorizations/%s/void" % VOID, "")[0]["returnCode"] == "0000"
       and lp_check(VOID) == "0121", "void with an empty body")
expect(lp("POST", "/v3/payments/authorizations/%s/void" % LP1, {})[0]["returnCode"] != "0000"
       and lp_check(LP1) == "0123", "a confirmed payment was voided")
expect(lp("POST", "/v3/payments/authorizations/%s/void" % "2026010100000000001", "")[0]
       ["returnCode"] == "1150", "void of an unknown transaction")
# an api_base with a path prefix: the request goes to /linepay/v3/..., LINE Pay signs /v3/...
nonce = str(uuid.uuid4())
sig = base64.b64encode(hmac.new(SEC1.encode(), (SEC1 + "/v3/payments/requests/%s/check" % VOID
                       + nonce).encode(), hashlib.sha256).digest()).decode()
st, _, raw = http("GET", BASE + "/linepay/v3/payments/requests/%s/check" % VOID, None,
                  {"X-LINE-ChannelId": CH1, "X-LINE-Authorization-Nonce": nonce,
                   "X-LINE-Authorization": sig})
expect(st == 200 and json.loads(raw)["returnCode"] == "0121", "prefixed path: %r" % raw)
ok("LINE Pay /sim/pay and /sim/decline call confirmUrl / cancelUrl; decline 0122; void 0121; prefix")

# ---- Stripe ----
st, _, raw = stripe("POST", "/v1/checkout/sessions", session_fields("st-1"), key="sk_test_nope")
err = json.loads(raw)
expect(st == 401 and err["error"]["type"] == "invalid_request_error"
       and "sk_test_nope" not in raw.decode(), "bad key: %d %r" % (st, raw))
ok("Stripe unknown key refused (401, error JSON, key not echoed)")

st, _, raw1 = stripe("POST", "/v1/checkout/sessions", session_fields("st-1"), idem="idem-st-1")
s1 = json.loads(raw1)
expect(st == 200 and s1["id"].startswith("cs_test_") and s1["status"] == "open"
       and s1["payment_status"] == "unpaid" and s1["amount_total"] == 120
       and s1["currency"] == "eur" and s1["client_reference_id"] == "st-1"
       and s1["metadata"] == {"order_id": "st-1"} and s1["payment_intent"] is None
       and s1["url"] == BASE + "/pay/" + s1["id"], "create: %r" % raw1)
st, hd, raw2 = stripe("POST", "/v1/checkout/sessions", session_fields("st-1"), idem="idem-st-1")
expect(st == 200 and raw2 == raw1 and hd.get("Idempotent-Replayed") == "true", "replay differs")
st, _, raw3 = stripe("POST", "/v1/checkout/sessions", session_fields("st-1", amount=999),
                     idem="idem-st-1")
expect(st == 400 and json.loads(raw3)["error"]["type"] == "idempotency_error", "conflict: %r" % raw3)
n = len([t for t in sim("GET", "/sim/transactions")[1]["transactions"] if t["order_id"] == "st-1"])
expect(n == 1, "the replay created %d sessions" % n)
ok("Stripe Idempotency-Key: same params replay the same reply, other params 400")

S1 = s1["id"]
st, _, raw = stripe("GET", "/v1/checkout/sessions/" + S1)
expect(st == 200 and json.loads(raw)["id"] == S1, "retrieve")
st, _, raw = stripe("GET", "/stripe/v1/checkout/sessions/" + S1)
expect(st == 200 and json.loads(raw)["id"] == S1, "retrieve under a path prefix")
st, _, raw = stripe("GET", "/v1/checkout/sessions/cs_test_nosuchsession")
expect(st == 404 and json.loads(raw)["error"]["code"] == "resource_missing", "unknown session")
st, _, raw = stripe("GET", "/v1/checkout/sessions/" + S1, key="sk_test_beta")
expect(st == 404, "another key retrieves the session")
page = http("GET", BASE + "/pay/" + S1)[2].decode()
expect("EUR 1.20" in page, "Stripe page amount")
token = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
st, hd, _ = http("POST", BASE + "/pay/" + S1, ("action=pay&csrf=" + token).encode(),
                 {"Content-Type": "application/x-www-form-urlencoded"})
expect(st == 303 and hd["Location"] == RX + "/st/ok?session=" + S1, "Stripe pay redirect")
s = json.loads(stripe("GET", "/v1/checkout/sessions/" + S1)[2])
expect(s["status"] == "complete" and s["payment_status"] == "paid"
       and s["payment_intent"].startswith("pi_"), "after pay: %s" % s)
hooks = webhooks(S1)
expect(len(hooks) == 1, "webhooks for the payment: %d" % len(hooks))
sigs = verify_stripe_sig(hooks[0]["headers"]["Stripe-Signature"], hooks[0]["body"])
expect(sigs == {"whsec_old", "whsec_new"}, "webhook signatures verified: %s" % sigs)
ev = json.loads(hooks[0]["body"])
expect(ev["id"].startswith("evt_") and ev["data"]["object"]["payment_status"] == "paid", "event")
forged = hooks[0]["body"].replace(b'"paid"', b'"unpaid"')
expect(not verify_stripe_sig(hooks[0]["headers"]["Stripe-Signature"], forged), "forgery verifies")
ok("Stripe retrieve, Pay on the page -> complete/paid, 303 to success_url, signed webhook")

PI = s["payment_intent"]
st, _, raw = stripe("POST", "/v1/refunds", [("payment_intent", PI), ("amount", "50")], idem="rf-1")
rf = json.loads(raw)
expect(st == 200 and rf["id"].startswith("re_") and rf["amount"] == 50
       and rf["status"] == "succeeded", "refund: %r" % raw)
st, _, raw = stripe("POST", "/v1/refunds", [("payment_intent", PI), ("amount", "50")], idem="rf-1")
expect(st == 200 and json.loads(raw)["id"] == rf["id"], "refund replay made a new refund")
st, _, raw = stripe("POST", "/v1/refunds", [("payment_intent", PI), ("amount", "71")], idem="rf-2")
expect(st == 400, "Stripe over-refund accepted: %r" % raw)
st, _, raw = stripe("POST", "/v1/refunds", [("payment_intent", PI)], idem="rf-3")
expect(st == 200 and json.loads(raw)["amount"] == 70, "refund of the rest: %r" % raw)
st, _, raw = stripe("POST", "/v1/refunds", [("payment_intent", PI), ("amount", "1")], idem="rf-4")
expect(st == 400 and sim_tx(S1)["refunded"] == 120, "refund past the charge accepted")
ok("Stripe refunds: partial, replay, over-refund 400, rest, nothing left 400")

st, _, raw = stripe("POST", "/v1/checkout/sessions", session_fields("st-2"), idem="idem-st-2")
S2 = json.loads(raw)["id"]
st, _, raw = stripe("POST", "/v1/checkout/sessions/%s/expire" % S2, [], idem="exp-2")
expect(st == 200 and json.loads(raw)["status"] == "expired", "expire: %r" % raw)
st, _, raw = stripe("POST", "/v1/checkout/sessions/%s/expire" % S2, [], idem="exp-2b")
expect(st == 400, "expiring twice")
expect(len(webhooks(S2, "checkout.session.expired")) == 1, "no checkout.session.expired webhook")
expect("expired" in http("GET", BASE + "/pay/" + S2)[2].decode(), "expired page")
expect(sim("POST", "/sim/pay/" + S2)[0] == 409, "an expired session could be paid")
ok("Stripe expire (once), checkout.session.expired webhook, expired page, no pay after")

# ---- saved methods: LINE Pay preapproved payments (as linepay.c's method_* ops speak) ----
reg = ('{"amount":1,"currency":"JPY","orderId":"reg-lp-1","packages":[{"id":"reg-lp-1","amount":1,'
       '"name":"Payment method registration","products":[{"name":"Payment method registration",'
       '"quantity":1,"price":1}]}],"redirectUrls":{"confirmUrl":"%s/lp/reg-ok","cancelUrl":'
       '"%s/lp/reg-cancel"},"options":{"payment":{"payType":"PREAPPROVED","capture":false}}}'
       ) % (RX, RX)
d, raw = lp("POST", "/v3/payments/request", reg)
expect(d["returnCode"] == "0000", "PREAPPROVED request: %s" % raw)
REG = re.search(r'"transactionId":(\d+)', raw).group(1)
expect(lp("POST", "/v3/payments/%s/confirm" % REG, {"amount": 1, "currency": "JPY"})[0]
       ["returnCode"] == "1169", "registration confirmed before the user approved")
page = http("GET", BASE + "/pay/" + REG)[2].decode()
expect("Save for later payments" in page, "registration page: %s" % page)
token = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
st, hd, _ = http("POST", BASE + "/pay/" + REG, ("action=pay&csrf=" + token).encode(),
                 {"Content-Type": "application/x-www-form-urlencoded"})
expect(st == 303 and hd["Location"] == RX + "/lp/reg-ok?transactionId=%s&orderId=reg-lp-1" % REG,
       "registration Pay: %d %s" % (st, hd.get("Location")))
expect(lp_check(REG) == "0110", "registration not approved")
c, craw = lp("POST", "/v3/payments/%s/confirm" % REG, {"amount": 1, "currency": "JPY"})
KEY = c.get("info", {}).get("regKey", "")
expect(c["returnCode"] == "0000" and re.fullmatch(r"RK[0-9A-Za-z]{13}", KEY), "regKey: %s" % craw)
expect(lp("POST", "/v3/payments/authorizations/%s/void" % REG, "")[0]["returnCode"] == "0000"
       and lp_check(REG) == "0121", "the registration's authorization was not voided")
expect(lp("GET", "/v3/payments/preapprovedPay/%s/check" % KEY)[0]["returnCode"] == "0000",
       "the regKey died with the void")
ok("LINE Pay PREAPPROVED: page, approve, confirm answers a regKey, the authorization voided")

def lp_pay(order, amount=1500, ch=CH1, secret=SEC1, key=None):
    return lp("POST", "/v3/payments/preapprovedPay/%s/payment" % (key or KEY),
              {"productName": "Print job 9 (5 pages)", "amount": amount, "currency": "JPY",
               "orderId": order, "capture": True}, ch=ch, secret=secret)

d, raw = lp_pay("chg-lp-1")
m = re.search(r'"transactionId":(\d+)[,}]', raw)
expect(d["returnCode"] == "0000" and m and len(m.group(1)) == 19, "preapproved payment: %s" % raw)
CHG1 = m.group(1)
expect(lp_pay("chg-lp-1")[0]["returnCode"] == "1172", "the same orderId charged twice")
det, draw = lp("GET", "/v3/payments", query="orderId=chg-lp-1")
expect(det["returnCode"] == "0000" and len(det["info"]) == 1
       and ('"transactionId":%s' % CHG1) in draw and det["info"][0]["payInfo"][0]["amount"] == 1500,
       "payment details by orderId: %s" % draw)
expect(lp("GET", "/v3/payments", query="orderId=chg-lp-none")[0]["info"] == [], "details of none")
expect(lp_pay("chg-lp-x", ch=CH2, secret=SEC2)[0]["returnCode"] == "1190",
       "another channel charged the regKey")
st, j = sim("POST", "/sim/decline-saved", {"ref": KEY, "count": 2})
expect(st == 200, "decline-saved: %s" % j)
expect(lp_pay("chg-lp-2")[0]["returnCode"] == "1142", "first declined charge")
expect(lp_pay("chg-lp-3", amount=700)[0]["returnCode"] == "1142", "second declined charge")
expect(lp_pay("chg-lp-4", amount=800)[0]["returnCode"] == "0000", "a third charge declined")
expect(sim("POST", "/sim/decline-saved", {"ref": "RKnosuchkey0000", "count": 1})[0] == 404,
       "decline-saved of an unknown method")
charges = [(c["order_id"], c["amount"], c["currency"], c["status"])
           for c in sim("GET", "/sim/charges")[1]["charges"] if c["provider"] == "linepay"]
expect(charges == [("chg-lp-1", 1500, "JPY", "succeeded"), ("chg-lp-2", 1500, "JPY", "declined"),
                   ("chg-lp-3", 700, "JPY", "declined"), ("chg-lp-4", 800, "JPY", "succeeded")],
       "/sim/charges: %s" % charges)
expect(lp("POST", "/v3/payments/%s/refund" % CHG1, {"refundAmount": 500})[0]["returnCode"]
       == "0000", "refund of a preapproved payment")
expect(lp("POST", "/v3/payments/preapprovedPay/%s/expire" % KEY, "")[0]["returnCode"] == "0000",
       "expire")
expect(lp("GET", "/v3/payments/preapprovedPay/%s/check" % KEY)[0]["returnCode"] == "1193",
       "check after expire")
expect(lp_pay("chg-lp-5")[0]["returnCode"] == "1193", "an expired regKey charged")
expect(lp("POST", "/v3/payments/preapprovedPay/%s/expire" % KEY, "")[0]["returnCode"] == "1193",
       "expire twice")
ok("LINE Pay preapproved payments: charge, duplicate orderId 1172 + details, declines, expire")

# ---- saved methods: Stripe customer, setup session, off-session payment intents ----
st, _, raw = stripe("POST", "/v1/customers", [("metadata[user_label]", "t3/alice")],
                    idem="cus-reg-st-1")
cus = json.loads(raw)
expect(st == 200 and cus["id"].startswith("cus_") and cus["metadata"]["user_label"] == "t3/alice",
       "customer: %r" % raw)
CUS = cus["id"]
st, _, raw2 = stripe("POST", "/v1/customers", [("metadata[user_label]", "t3/alice")],
                     idem="cus-reg-st-1")
expect(raw2 == raw, "customer replay made another customer")
setup = [("mode", "setup"), ("customer", CUS), ("currency", "eur"),
         ("success_url", RX + "/st/reg-ok?session={CHECKOUT_SESSION_ID}"),
         ("cancel_url", RX + "/st/reg-cancel"), ("client_reference_id", "reg-st-1")]
st, _, raw = stripe("POST", "/v1/checkout/sessions", setup, idem="setup-reg-st-1")
ss = json.loads(raw)
expect(st == 200 and ss["mode"] == "setup" and ss["status"] == "open"
       and ss["amount_total"] is None and ss["payment_status"] == "no_payment_required"
       and ss["customer"] == CUS and ss["setup_intent"] is None, "setup session: %r" % raw)
SS = ss["id"]
st, _, raw = stripe("POST", "/v1/checkout/sessions",
                    [(k, "cus_nosuchcustomer" if k == "customer" else v) for k, v in setup])
expect(st == 400, "a setup session for an unknown customer: %d" % st)
page = http("GET", BASE + "/pay/" + SS)[2].decode()
expect("Save for later payments" in page, "setup page")
token = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
st, hd, _ = http("POST", BASE + "/pay/" + SS, ("action=pay&csrf=" + token).encode(),
                 {"Content-Type": "application/x-www-form-urlencoded"})
expect(st == 303 and hd["Location"] == RX + "/st/reg-ok?session=" + SS, "setup Pay redirect")
ss = json.loads(stripe("GET", "/v1/checkout/sessions/" + SS)[2])
expect(ss["status"] == "complete" and ss["setup_intent"].startswith("seti_"), "after setup: %s" % ss)
st, _, raw = stripe("GET", "/v1/setup_intents/" + ss["setup_intent"])
si = json.loads(raw)
expect(st == 200 and si["status"] == "succeeded" and si["customer"] == CUS
       and si["payment_method"].startswith("pm_"), "setup intent: %r" % raw)
PM = si["payment_method"]
st, _, raw = stripe("GET", "/v1/payment_methods/" + PM)
pmj = json.loads(raw)
expect(st == 200 and pmj["card"]["brand"] == "visa" and pmj["card"]["last4"] == "4242"
       and pmj["customer"] == CUS, "payment method: %r" % raw)
expect(stripe("GET", "/v1/payment_methods/" + PM, key="sk_test_beta")[0] == 404,
       "another key reads the payment method")
ok("Stripe setup: customer (idempotent), setup session, Pay saves visa 4242, setup intent")

def st_charge(order, amount=1250, idem=None):
    f = [("amount", str(amount)), ("currency", "eur"), ("customer", CUS), ("payment_method", PM),
         ("off_session", "true"), ("confirm", "true"), ("description", "Print job 9"),
         ("metadata[order_id]", order)]
    return stripe("POST", "/v1/payment_intents", f, idem=idem or order)

st, _, raw = st_charge("chg-st-1")
pi = json.loads(raw)
expect(st == 200 and pi["status"] == "succeeded" and pi["id"].startswith("pi_")
       and pi["amount"] == 1250 and pi["currency"] == "eur", "off-session charge: %r" % raw)
st, hd, raw2 = st_charge("chg-st-1")
expect(st == 200 and raw2 == raw and hd.get("Idempotent-Replayed") == "true", "charge replay")
sim("POST", "/sim/decline-saved", {"ref": PM, "count": -1, "code": "insufficient_funds"})
st, _, raw = st_charge("chg-st-2")
e = json.loads(raw)["error"]
expect(st == 402 and e["type"] == "card_error" and e["code"] == "card_declined"
       and e["decline_code"] == "insufficient_funds", "decline: %d %r" % (st, raw))
st, hd, raw2 = st_charge("chg-st-2")
expect(st == 402 and raw2 == raw and hd.get("Idempotent-Replayed") == "true", "decline replay")
expect(st_charge("chg-st-3")[0] == 402, "count -1 declines every charge")
sim("POST", "/sim/decline-saved", {"ref": PM, "count": 1, "code": "authentication_required"})
st, _, raw = st_charge("chg-st-4")
expect(st == 402 and json.loads(raw)["error"]["code"] == "authentication_required", "auth: %r" % raw)
st, _, raw = st_charge("chg-st-5", amount=990)
expect(st == 200, "charge after the declines: %d %r" % (st, raw))
charges = [(c["order_id"], c["amount"], c["status"], c["code"])
           for c in sim("GET", "/sim/charges")[1]["charges"] if c["provider"] == "stripe"]
expect(charges == [("chg-st-1", 1250, "succeeded", ""),
                   ("chg-st-2", 1250, "declined", "insufficient_funds"),
                   ("chg-st-3", 1250, "declined", "insufficient_funds"),
                   ("chg-st-4", 1250, "declined", "authentication_required"),
                   ("chg-st-5", 990, "succeeded", "")], "/sim/charges: %s" % charges)
st, _, raw = stripe("POST", "/v1/refunds", [("payment_intent", pi["id"]), ("amount", "250")],
                    idem="rf-saved-1")
expect(st == 200 and json.loads(raw)["amount"] == 250, "refund of an off-session charge: %r" % raw)
st, _, raw = stripe("POST", "/v1/payment_methods/%s/detach" % PM, [], idem="detach-" + PM)
expect(st == 200 and json.loads(raw)["customer"] is None, "detach: %r" % raw)
expect(stripe("POST", "/v1/payment_methods/%s/detach" % PM, [], idem="detach-2")[0] == 400,
       "detach twice")
expect(st_charge("chg-st-6")[0] == 400, "a detached method charged")
states = {m["ref"]: m["state"] for m in sim("GET", "/sim/methods")[1]["methods"]}
expect(states == {KEY: "expired", PM: "detached"}, "/sim/methods: %s" % states)
ok("Stripe off-session charges: succeeded, idempotent, declines (402) replayed, detach")

# ---- misbehaviours ----
stripe("POST", "/v1/checkout/sessions", session_fields("st-double"))
S3 = [t for t in sim("GET", "/sim/transactions")[1]["transactions"] if t["order_id"] == "st-double"][0]["id"]
expect(sim("POST", "/sim/behaviour", {"scope": "st-double", "double_callback": True})[0] == 200,
       "behaviour")
sim("POST", "/sim/pay/" + S3)
time.sleep(0.5)
hooks = webhooks(S3)
expect(len(hooks) == 2, "double_callback sent %d webhooks" % len(hooks))
ids = {json.loads(h["body"])["id"] for h in hooks}
expect(len(ids) == 1, "double_callback event ids differ: %s" % ids)
ok("double_callback: the same event (same id) delivered twice")

sim("POST", "/sim/behaviour", {"scope": "global", "decline": True})
stripe("POST", "/v1/checkout/sessions", session_fields("st-decl"))
S4 = [t for t in sim("GET", "/sim/transactions")[1]["transactions"] if t["order_id"] == "st-decl"][0]["id"]
st, j = sim("POST", "/sim/pay/" + S4)
s = json.loads(stripe("GET", "/v1/checkout/sessions/" + S4)[2])
expect(j["state"] == "declined" and s["status"] == "open" and s["payment_status"] == "unpaid",
       "decline behaviour: %s %s" % (j, s))
expect("declined" in http("GET", BASE + "/pay/" + S4)[2].decode(), "declined page")
expect(not webhooks(S4, timeout=0.5), "webhook after a decline")
d, raw = lp_reserve("order-lp-decl")
LPD = re.search(r'"transactionId":(\d+)', raw).group(1)
sim("POST", "/sim/pay/" + LPD)
expect(lp_check(LPD) == "0122", "LINE Pay decline behaviour")
sim("POST", "/sim/behaviour", {"scope": "global", "decline": False})
ok("decline behaviour: Stripe session stays open (declined), LINE Pay 0122")

d, raw = lp_reserve("order-nocb")
NCB = re.search(r'"transactionId":(\d+)', raw).group(1)
sim("POST", "/sim/behaviour", {"scope": NCB, "no_callback": True})
sim("POST", "/sim/pay/" + NCB)
expect(lp_check(NCB) == "0110", "no_callback pay")
expect(not wait_for(lambda g: ("transactionId=%s" % NCB) in g["path"], 0.7), "no_callback called")
ok("no_callback: paid, nobody told")

d, raw = lp_reserve("order-late")
LATE = re.search(r'"transactionId":(\d+)', raw).group(1)
sim("POST", "/sim/behaviour", {"scope": "order-late", "callback_delay_ms": 700})
t0 = time.monotonic()
sim("POST", "/sim/pay/" + LATE)
expect(time.monotonic() - t0 < 0.5, "a delayed callback held up /sim/pay")
back = wait_for(lambda g: ("transactionId=%s" % LATE) in g["path"])
expect(back and back[0]["at"] - t0 >= 0.65, "callback_delay_ms not applied")
ok("callback_delay_ms: the confirmUrl GET comes late, the API answers at once")

sim("POST", "/sim/behaviour", {"scope": "st-early", "auto_pay": True, "early_webhook": True})
st, _, raw = stripe("POST", "/v1/checkout/sessions", session_fields("st-early"))
t_reply = time.monotonic()
s = json.loads(raw)
with got_cv:
    early = [g for g in got if g["method"] == "POST" and json.loads(g["body"])["data"]["object"]["id"] == s["id"]]
expect(st == 200 and s["payment_status"] == "paid", "auto_pay: %r" % raw)
expect(len(early) == 1 and early[0]["at"] <= t_reply, "early webhook did not precede the reply")
ok("auto_pay + early_webhook: the webhook arrives before the create reply")

sim("POST", "/sim/behaviour", {"scope": "st-500", "http_500": True})
st, _, raw = stripe("POST", "/v1/checkout/sessions", session_fields("st-500"), idem="idem-500")
expect(st == 500, "http_500: %d" % st)
expect(lp_reserve("order-ok-500")[0]["returnCode"] == "0000", "http_500 leaked to another scope")
sim("POST", "/sim/behaviour", {"scope": "st-500", "http_500": False})
st, _, raw = stripe("POST", "/v1/checkout/sessions", session_fields("st-500"), idem="idem-500")
expect(st == 200, "after http_500 is lifted, the same key works: %d %r" % (st, raw))
sim("POST", "/sim/behaviour", {"scope": LP1, "http_500": True})
d = lp("GET", "/v3/payments/requests/%s/check" % LP1, want=500)[0]
expect(d["returnCode"] != "0000", "http_500 by transaction id")
expect(lp_check(USD) == "0123", "http_500 of one transaction leaked to another")
ok("http_500 per scope (order id, transaction id), not remembered by idempotency")

sim("POST", "/sim/behaviour", {"scope": "global", "timeout": True})
t0 = time.monotonic()
timed_out = False
try:
    urllib.request.urlopen(urllib.request.Request(
        BASE + "/v1/checkout/sessions/" + S1, headers={"Authorization": "Bearer sk_test_alpha"}),
        timeout=1.5)
except Exception:
    timed_out = True
expect(timed_out and time.monotonic() - t0 < 3, "timeout behaviour answered")
st, _, _ = http("GET", BASE + "/healthz", timeout=2)
expect(st == 200, "a hanging call blocks others")
sim("POST", "/sim/behaviour", {"scope": "global", "timeout": False})
ok("timeout: API calls hang past the client's timeout, others go on")

st, j = sim("POST", "/sim/reset")
expect(st == 200 and sim("GET", "/sim/transactions")[1]["transactions"] == []
       and sim("GET", "/sim/behaviour")[1]["behaviours"] == []
       and sim("GET", "/sim/charges")[1]["charges"] == []
       and sim("GET", "/sim/methods")[1]["methods"] == [], "reset")
ok("reset clears transactions, behaviours, saved methods and charges")
stop(P)
ok("SIGTERM with a call still hanging: clean exit")

# ---- expiry by time ----
P, BASE = start("--expiry", "1")
d, raw = lp_reserve("order-exp")
EXP = re.search(r'"transactionId":(\d+)', raw).group(1)
stripe("POST", "/v1/checkout/sessions", session_fields("st-exp"))
S5 = sim("GET", "/sim/transactions")[1]["transactions"][1]["id"]
time.sleep(2.2)
expect(lp_check(EXP) == "0121", "expired LINE Pay reservation is not 0121")
expect("expired" in http("GET", BASE + "/pay/" + EXP)[2].decode(), "expired LINE Pay page")
expect(json.loads(stripe("GET", "/v1/checkout/sessions/" + S5)[2])["status"] == "expired",
       "expired Stripe session")
expect(len(webhooks(S5, "checkout.session.expired", 3)) == 1, "no expired webhook by time")
ok("--expiry: reservations expire by time (0121, page, Stripe expired + webhook)")
stop(P)
rx.shutdown()
print("paysim: %d passed, 0 failed" % passed)
PY
