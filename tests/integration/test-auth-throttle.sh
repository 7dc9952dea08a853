#!/usr/bin/env bash
#
# Integration test of the sign-in throttle (issue 8, item 11) against real
# nimbusd processes on loopback (lib-nimbusd.sh).  Clients speak from
# several loopback addresses (curl --interface 127.0.0.N) to be distinct
# client addresses:
#  - wrong passwords for one account: 401 up to --login-failures, then 429
#    with Retry-After even for the right password (REST), IPP
#    server-error-busy with Retry-After; another account's right password
#    still works at once;
#  - the counts are in the store: still 429 after a nimbusd restart;
#  - failures per client address (passwords of unknown users, bad bearer
#    tokens): 429 for a fresh account from that address, not from another;
#  - claim codes per address: 429 after DEVICE_CLAIM_MAX_FAILURES, and
#    X-Forwarded-For is ignored without --trust-proxy, honoured (its last
#    entry) with it;
#  - the panel's sign-in throttle (per printer and user) is not reset by
#    failures of another user name (one that shared the old in-memory
#    table's slot);
#  - /healthz answers while the workers are busy hashing the passwords of
#    many concurrent bad sign-ins (real argon2id cost, --workers 1), and
#    concurrent bad sign-ins from one address beyond its bound get 429
#    at once instead of waiting for a worker.
# The account limit (4) is above the panel's (2), so the panel check
# fails if only the account's count refused.
# Stops at the first failure.
set -u

source "$(dirname "$0")/lib-nimbusd.sh"
source "$(dirname "$0")/lib-rest.sh"

nimbusd_start --login-failures 4 --login-failures-per-address 8 --panel-login-failures 2 \
  --login-window 600 || { echo "test-auth-throttle: could not start nimbusd" >&2; exit 1; }

OP="admin@system:$NIMBUS_ADMIN_PASSWORD"
same() { [ "$1" = "$2" ] || { echo "  got:      $1" >&2; echo "  expected: $2" >&2; false; }; }

# from ADDR AUTH METHOD PATH [curl args...]: a REST call from 127.0.0.ADDR;
# status in $status, headers in $work/headers, body in $work/body.
from() {
  local addr=$1 auth=$2 method=$3 path=$4
  shift 4
  local args=(-sS --interface "127.0.0.$addr" -D "$work/headers" -o "$work/body" -w '%{http_code}'
    -X "$method" "$NIMBUS_URL/api/v1$path")
  [ -n "$auth" ] && args+=(-u "$auth")
  status=$(curl "${args[@]}" "$@")
}
retry_after() { sed -n 's/^Retry-After: *\([0-9]*\).*/\1/Ip' "$work/headers" | tr -d '\r'; }
retry_after_in() { local r; r=$(retry_after); [ -n "$r" ] && [ "$r" -ge "$1" ] && [ "$r" -le "$2" ]; }

call "$OP" POST /tenants '{"name":"acme"}'
check "tenant acme" is 201
for u in alice bob carol dave erin; do
  call "$OP" POST '/users?tenant=acme' "{\"name\":\"$u\",\"password\":\"$u-pw-1\"}"
  check "user $u" is 201
done
call "$OP" POST '/users?tenant=acme' '{"name":"boss","password":"boss-pw-1","role":"tenant-admin"}'
check "tenant admin" is 201
call "boss@acme:boss-pw-1" POST /queues '{"name":"office"}'
check "queue" is 201

# ---- per account ----
for i in 1 2 3 4; do
  from 2 "alice@acme:wrong-$i" GET /whoami
  check "alice wrong password $i: 401" is 401
done
from 2 "alice@acme:alice-pw-1" GET /whoami
check "after 4 failures even the right password: 429" is_problem 429
check "... with Retry-After within the window" retry_after_in 1 600
check "... and no challenge that would make a client prompt again" \
  bash -c "! grep -qi '^WWW-Authenticate' '$work/headers'"
from 2 "bob@acme:bob-pw-1" GET /whoami
check "bob's right password from the same address works at once" is 200
from 3 "alice@acme:wrong-5" GET /whoami
check "alice from another address: 429 too (per account)" is_problem 429

# IPP: Get-Jobs as alice answers server-error-busy (0x0507) with Retry-After
ipp_get_jobs() { # AUTH ADDR: prints "HTTP-status IPP-status Retry-After"
  python3 - "$NIMBUS_URL/ipp/print/acme/office" "$1" "127.0.0.$2" <<'PY'
import base64, http.client, struct, sys, urllib.parse
url, auth, src = sys.argv[1:4]
u = urllib.parse.urlparse(url)
def attr(tag, name, value):
    value = value.encode()
    return struct.pack(">BH", tag, len(name)) + name.encode() + struct.pack(">H", len(value)) + value
body = struct.pack(">BBHI", 2, 0, 0x000A, 1) + b"\x01"
body += attr(0x47, "attributes-charset", "utf-8") + attr(0x48, "attributes-natural-language", "en")
body += attr(0x45, "printer-uri", url.replace("http://", "ipp://")) + b"\x03"
c = http.client.HTTPConnection(u.hostname, u.port, timeout=30, source_address=(src, 0))
c.request("POST", u.path, body, {"Content-Type": "application/ipp",
          "Authorization": "Basic " + base64.b64encode(auth.encode()).decode()})
r = c.getresponse()
data = r.read()
ipp = "0x%04x" % struct.unpack(">H", data[2:4])[0] if r.status == 200 and len(data) >= 8 else "-"
print(r.status, ipp, r.getheader("Retry-After") or "-")
PY
}
ipp_busy() {
  local out
  out=$(ipp_get_jobs "alice@acme:alice-pw-1" 2)
  set -- $out
  [ "$1" = 200 ] && [ "$2" = 0x0507 ] && [ "$3" != - ] && [ "$3" -ge 1 ]
}
check "IPP as alice: server-error-busy with Retry-After (not 401)" ipp_busy
check "IPP as bob: successful-ok" same "$(ipp_get_jobs bob:bob-pw-1 2)" "200 0x0000 -"

# ---- shared through the store: a restart forgets nothing ----
check "nimbusd stops" nimbusd_stop
check "nimbusd starts again on the same state" nimbusd_restart
from 4 "alice@acme:alice-pw-1" GET /whoami
check "after the restart alice is still throttled (429)" is_problem 429
from 4 "carol@acme:carol-pw-1" GET /whoami
check "after the restart carol signs in" is 200

# ---- per address: unknown users' passwords and bad tokens ----
for i in 1 2 3 4 5 6 7 8; do
  from 5 "ghost$i@acme:guess" GET /whoami
  check "unknown user ghost$i from 127.0.0.5: 401" is 401
done
from 5 "dave@acme:dave-pw-1" GET /whoami
check "then dave's right password from 127.0.0.5: 429 (address)" is_problem 429
from 6 "dave@acme:dave-pw-1" GET /whoami
check "dave from 127.0.0.6: 200" is 200
for i in 1 2 3 4 5 6 7 8; do
  from 7 "" GET /whoami -H "Authorization: Bearer nmt_bogus$i"
  check "bad token $i from 127.0.0.7: 401" is 401
done
from 7 "" GET /whoami -H "Authorization: Bearer nmt_bogus9"
check "the next token from 127.0.0.7: 429" is_problem 429
check "... with Retry-After" retry_after_in 1 600

# ---- claim codes per address; X-Forwarded-For without --trust-proxy ----
claim() { from "$1" "" POST /device/register -H 'Content-Type: application/json' \
  --data-binary '{"claim_code":"NMBC-AAAA-BBBB-CCCC-DDDD"}' "${@:2}"; }
claims_until_429() { # ADDR [curl args]: 20 wrong codes refused 403, then 429
  local i
  for i in $(seq 1 20); do
    claim "$@"
    [ "$status" = 403 ] || { echo "  claim $i: $status" >&2; return 1; }
  done
  claim "$@"
  [ "$status" = 429 ] && retry_after_in 1 600
}
check "20 wrong claim codes from 127.0.0.8, then 429 with Retry-After" claims_until_429 8
claim 8 -H 'X-Forwarded-For: 198.51.100.7'
check "X-Forwarded-For is ignored without --trust-proxy (still 429)" is_problem 429
claim 9
check "another address may still try (403)" is_problem 403

# ---- the panel: per (printer, user), not reset by another user's failure ----
call "boss@acme:boss-pw-1" POST /printers '{"name":"front","queues":["office"]}'
code=$(body 'd["claim_code"]')
from 10 "" POST /device/register -H 'Content-Type: application/json' \
  --data-binary "{\"claim_code\":\"$code\"}"
check "a printer claimed" is 201
CRED=$(body 'd["credential"]')
panel_signin() { # USER SECRET
  status=$(curl -sS -D "$work/headers" -o "$work/body" -w '%{http_code}' -X POST \
    -H "Authorization: Bearer $CRED" -H 'Content-Type: application/json' \
    --data-binary "{\"user\":\"$1\",\"secret\":\"$2\"}" "$NIMBUS_URL/api/v1/device/sessions")
}
for i in 1 2; do
  panel_signin erin "wrong-$i"
  check "panel: erin wrong password $i: 401" is 401
done
panel_signin erin erin-pw-1
check "panel: erin throttled (429) with Retry-After" bash -c "[ $status = 429 ] && grep -qi '^Retry-After: [1-9]' '$work/headers'"
# A name that landed in erin's slot of the old 256-slot table (FNV-1a of the
# printer's id and the name; the first printer has id 1): its failure reset
# erin's count there.
collider=$(python3 - <<'PY'
def slot(dev, name):
    h = 1469598103934665603 ^ dev
    for b in name.encode():
        h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h % 256
n = 0
while slot(1, "u%d" % n) != slot(1, "erin"):
    n += 1
print("u%d" % n)
PY
)
panel_signin "$collider" nope
check "panel: a failure for $collider (erin's old slot): 401" is 401
panel_signin erin erin-pw-1
check "panel: erin is still throttled after another user's failure" is_problem 429
panel_signin carol carol-pw-1
check "panel: carol signs in at the same printer" is 201

# ---- --trust-proxy: the last X-Forwarded-For entry is the client ----
check "nimbusd stops" nimbusd_stop
check "nimbusd starts again with --trust-proxy" nimbusd_restart --trust-proxy
check "20 wrong claim codes for X-Forwarded-For 203.0.113.1, then 429" \
  claims_until_429 11 -H 'X-Forwarded-For: 203.0.113.1'
claim 11 -H 'X-Forwarded-For: 203.0.113.2'
check "another forwarded client through the same proxy may try (403)" is_problem 403
claim 11 -H 'X-Forwarded-For: 203.0.113.2, 203.0.113.1'
check "the proxy's (last) entry counts, not the client's claim (429)" is_problem 429
# HAProxy's `option forwardfor` appends a header line of its own after the
# client's: the last line's entry is the client.
claim 11 -H 'X-Forwarded-For: 203.0.113.2' -H 'X-Forwarded-For: 203.0.113.1'
check "a second X-Forwarded-For line (the proxy's) counts, not the first (429)" is_problem 429
claim 8 -H 'X-Forwarded-For: 203.0.113.3'
check "the proxy's own address is not the client's (403)" is_problem 403

check "no password in the log" bash -c "! grep -qE 'pw-1|wrong-[0-9]|guess' '$NIMBUS_STATE.log'"
nimbusd_stop

# ---- /healthz while every worker hashes; one address's bound ----
# Real argon2id cost (--no-fast-hashing), 4 workers and 2 hashes at a time:
# many concurrent sign-ins of unknown users from distinct addresses keep
# every worker busy (hashing or waiting to hash).  A fresh state dir and
# store (on PostgreSQL a database of its own: lib-nimbusd.sh), where the
# tenant acme is made anew.
nimbusd_start --no-fast-hashing --workers 4 --threads 2 ||
  { echo "test-auth-throttle: could not start nimbusd" >&2; exit 1; }
call "$OP" POST /tenants '{"name":"acme"}'
check "second run: tenant" is 201
N=24
pids=() # not a bare `wait`: nimbusd is a child of this shell too
for i in $(seq 1 $N); do
  (curl -sS --interface "127.0.1.$i" -o /dev/null -w '%{http_code}\n' -u "nobody$i@acme:x" \
    "$NIMBUS_URL/api/v1/whoami" >"$work/bad.$i") &
  pids+=($!)
done
# Ask /healthz once the first of them is answered (they have reached the
# workers) rather than after a fixed delay, which a fast machine outran:
# all 24 hashed before it was up.
answered() { cat "$work"/bad.* 2>/dev/null | grep -c . || true; }
for _ in $(seq 1 3000); do [ "$(answered)" -ge 1 ] && break; sleep 0.01; done
first_logins=$(answered)
health=$(curl -sS -o "$work/health" -w '%{http_code}' "$NIMBUS_URL/healthz")
done_logins=$(answered)
wait "${pids[@]}"
check "sign-ins were being answered when /healthz was asked ($first_logins of $N)" \
  test "$first_logins" -ge 1
check "/healthz answered 200 while sign-ins were being hashed" same "$health" 200
check "... before they were all answered ($done_logins of $N done)" test "$done_logins" -lt "$N"
check "all $N bad sign-ins got 401" same "$(cat "$work"/bad.* | sort | uniq -c | awk '{print $1, $2}')" "$N 401"
rm -f "$work"/bad.*
pids=()
for i in $(seq 1 8); do
  (curl -sS --interface 127.0.2.1 -o /dev/null -w '%{http_code}\n' -u "nobody$i@acme:x" \
    "$NIMBUS_URL/api/v1/whoami" >"$work/bad.$i") &
  pids+=($!)
done
wait "${pids[@]}"
check "8 concurrent bad sign-ins from one address: some 429 at once (bound per address)" \
  grep -qx 429 "$work"/bad.*
check "... the others 401" grep -qx 401 "$work"/bad.*
check "nimbusd stops cleanly" nimbusd_stop
finish test-auth-throttle
