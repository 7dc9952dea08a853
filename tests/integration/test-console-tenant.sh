#!/usr/bin/env bash
# test-console-tenant.sh: the REST additions the web console needs
# (docs/CONSOLE.md §1.4), against real nimbusd and nimbus-connector:
#   - a printer's claim code comes with qr_svg, which decodes (zbarimg) to
#     exactly the code, and a connector claims with the decoded code;
#   - printers show online while a connector runs and offline after it
#     stops (--printer-online-window 3, a short bound for the test);
#   - an operator suspends tenant acme: its user is refused with 403
#     "the tenant is suspended" over REST (Basic, also right after a
#     cached successful sign-in, and bearer), IPP Print-Job gets
#     client-error-forbidden, its connector gets no job (the device
#     channel is refused) yet keeps its registration and keeps asking;
#     resumed, everything works again and the waiting job prints;
#   - the suspension is audited, nimbusctl does it too, and the operators'
#     tenant `system` cannot be suspended (400).
set -euo pipefail
source "$(dirname "$0")/test-connector-common.sh"

nimbusd_start --printer-online-window 3 --notify-wait 2
check "tenant, users and queue" conn_setup_tenant
OUT="$CONN_DIR/out"
mkdir -p "$OUT"
ALICE=(-u alice@acme:alice-pw-1)

# status code of a REST call as alice (extra curl arguments after the path)
alice_code() {
  local path=$1
  shift
  curl -sS -o "$CONN_DIR/body" -w '%{http_code}' "$NIMBUS_URL$path" "$@"
}
# the last answer is the suspension's problem document
is_suspended_problem() {
  python3 - "$CONN_DIR/body" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(not (d["status"] == 403 and d["detail"] == "the tenant is suspended"
              and d["type"] == "urn:nimbus:problem:tenant-suspended"))
EOF
}
set_suspended() {
  [ "$(api PATCH /api/v1/tenants/acme -H 'Content-Type: application/json' \
    -d "{\"suspended\":$1}" | json_get "d['suspended']")" = "$2" ]
}

# ---- the claim code as a QR code ------------------------------------------
api_boss() { curl -sS -u boss@acme:boss-pw-1 "$@"; }
api_boss -X POST -H 'Content-Type: application/json' -d '{"name":"lobby","queues":["office"]}' \
  "$NIMBUS_URL/api/v1/printers" >"$CONN_DIR/lobby.json"
CODE=$(json_get "d['claim_code']" <"$CONN_DIR/lobby.json")
json_get "d['qr_svg']" <"$CONN_DIR/lobby.json" >"$CONN_DIR/lobby.svg"
check "POST /printers answers a claim code and an SVG" \
  grep -q '^<svg xmlns="http://www.w3.org/2000/svg"' "$CONN_DIR/lobby.svg"

# Rasterise the SVG (unit squares of its path, 4 pixels each, on white) to
# a PGM file that zbarimg reads: the geometry a browser would draw.
svg_to_pgm() {
  python3 - "$1" "$2" <<'EOF'
import re, sys
svg = open(sys.argv[1]).read()
side = int(re.search(r'viewBox="0 0 (\d+) (\d+)"', svg).group(1))
px = 4
img = [[255] * (side * px) for _ in range(side * px)]
for x, y in re.findall(r"M(\d+) (\d+)h1v1h-1z", svg):
    for dy in range(px):
        for dx in range(px):
            img[int(y) * px + dy][int(x) * px + dx] = 0
with open(sys.argv[2], "w") as f:
    f.write("P2\n%d %d\n255\n" % (side * px, side * px))
    for row in img:
        f.write(" ".join(map(str, row)) + "\n")
EOF
}
DECODED=$CODE
if command -v zbarimg >/dev/null; then
  svg_to_pgm "$CONN_DIR/lobby.svg" "$CONN_DIR/lobby.pgm"
  DECODED=$(zbarimg --raw -q "$CONN_DIR/lobby.pgm" 2>/dev/null)
  check "qr_svg decodes to exactly the claim code" test "$DECODED" = "$CODE"
else
  echo "# zbarimg (zbar-tools) not installed: the QR code is not decoded (scripts/install-deps.sh)"
fi
fresh_code() {
  api_boss -X POST "$NIMBUS_URL/api/v1/printers/lobby/claim-code" >"$CONN_DIR/code.json"
  [ "$(json_get "d['qr_svg'].startswith('<svg ') and d['claim_code'].startswith('NMBC-')" \
    <"$CONN_DIR/code.json")" = True ]
}
check "POST /printers/{name}/claim-code also answers qr_svg" fresh_code
CODE=$(json_get "d['claim_code']" <"$CONN_DIR/code.json")
json_get "d['qr_svg']" <"$CONN_DIR/code.json" >"$CONN_DIR/code.svg"
if command -v zbarimg >/dev/null; then
  svg_to_pgm "$CONN_DIR/code.svg" "$CONN_DIR/code.pgm"
  DECODED=$(zbarimg --raw -q "$CONN_DIR/code.pgm" 2>/dev/null)
  check "the new code's QR decodes to it" test "$DECODED" = "$CODE"
else
  DECODED=$CODE
fi
check "a connector claims with the code read from the QR code" conn_register lobby "$DECODED"

# ---- online / offline -----------------------------------------------------
# as the operator: the tenant's own admin is refused while it is suspended
printer_field() { api GET "/api/v1/printers/lobby?tenant=acme" | json_get "d['$1']"; }
printer_is() { [ "$(printer_field "$1")" = "$2" ]; }
check "registered, never seen: offline" \
  test "$(printer_field registered)/$(printer_field online)/$(printer_field last_seen_at)" = \
  "True/False/None"
check "connector starts (polling)" conn_start lobby --transport polling --output "file://$OUT"
check "online while it runs" wait_until "online" printer_is online True
check "last_seen_at and make_and_model are known" \
  test "$(printer_field "last_seen_at" | cut -c1-2)/$(printer_field make_and_model)" != "No/None"
check "the list shows the same" test "$(api_boss "$NIMBUS_URL/api/v1/printers" |
  json_get "[(p['name'], p['online'], p['status']) for p in d['printers']]")" = \
  "[('lobby', True, 'registered')]"
check "connector stops" conn_stop lobby
check "offline after it stopped" wait_until "offline" printer_is online False
check "and stays registered" printer_is status registered

# ---- before suspension: everything works ----------------------------------
TOKEN=$(curl -fsS "${ALICE[@]}" -X POST -H 'Content-Type: application/json' \
  -d '{"label":"t"}' "$NIMBUS_URL/api/v1/tokens" | json_get "d['token']")
check "alice over Basic (now cached)" test "$(alice_code /api/v1/jobs "${ALICE[@]}")" = 200
check "alice over bearer" test "$(alice_code /api/v1/jobs -H "Authorization: Bearer $TOKEN")" = 200
JOB1=$(submit_job)
check "a job submitted and released" release_job "$JOB1"
check "it is waiting for a printer" job_is "$JOB1" fetchable

# a console session of alice's, open when the suspension comes
session_in() {
  [ "$(curl -sS -o /dev/null -w '%{http_code}' -c "$CONN_DIR/jar" -H 'Content-Type: application/json' \
    -d '{"user":"alice@acme","password":"alice-pw-1"}' "$NIMBUS_URL/api/v1/session")" = 201 ]
}
check "alice signs in to the console" session_in

# ---- suspend ----------------------------------------------------------------
check "the system tenant cannot be suspended" test "$(api PATCH /api/v1/tenants/system \
  -H 'Content-Type: application/json' -d '{"suspended":true}' -o /dev/null -w '%{http_code}')" = 400
check "an operator suspends acme" set_suspended true True
check "GET shows it" test "$(api GET /api/v1/tenants/acme | json_get "d['suspended']")" = True
check "audited tenant-suspended" test "$(nimbus_sql \
  "SELECT count(*) FROM audit WHERE action = 'tenant-suspended' AND detail = 'tenant=acme'")" = 1

check "Basic (cached a moment ago): 403" test "$(alice_code /api/v1/jobs "${ALICE[@]}")" = 403
check "the problem says the tenant is suspended" is_suspended_problem
check "bearer: 403" test "$(alice_code /api/v1/jobs -H "Authorization: Bearer $TOKEN")" = 403
check "bearer problem" is_suspended_problem
check "the admin too: 403" test "$(alice_code /api/v1/users -u boss@acme:boss-pw-1)" = 403
check "her console session ended: 401" test "$(alice_code /api/v1/jobs -b "$CONN_DIR/jar")" = 401
check "signing in to the console: 403" test "$(alice_code /api/v1/session \
  -H 'Content-Type: application/json' -d '{"user":"alice@acme","password":"alice-pw-1"}')" = 403
check "  the tenant is suspended" is_suspended_problem
check "a wrong password is still 401" test "$(alice_code /api/v1/jobs -u alice@acme:nope)" = 401
check "an upload: 403" test "$(alice_code /api/v1/jobs "${ALICE[@]}" \
  -F queue=office -F "document=@$NIMBUS_TEST_DATA/onepage.pdf;type=application/pdf")" = 403
check "operators still manage it" test "$(api GET '/api/v1/users?tenant=acme' -o /dev/null \
  -w '%{http_code}')" = 200

cat >"$CONN_DIR/forbidden.test" <<'EOF'
{
  NAME "Print-Job to a suspended tenant"
  OPERATION Print-Job
  GROUP operation-attributes-tag
  ATTR charset attributes-charset utf-8
  ATTR naturalLanguage attributes-natural-language en
  ATTR uri printer-uri $uri
  ATTR name requesting-user-name alice
  ATTR mimeMediaType document-format application/pdf
  FILE $filename
  STATUS client-error-forbidden
  EXPECT status-message WITH-VALUE "The tenant is suspended."
}
EOF
check "IPP Print-Job: client-error-forbidden" ipptool -q -T 20 -f "$NIMBUS_TEST_DATA/onepage.pdf" \
  "ipp://alice:alice-pw-1@127.0.0.1:$NIMBUS_PORT/ipp/print/acme/office" "$CONN_DIR/forbidden.test"

# the device channel: refused, not deregistered; the connector keeps asking
check "connector of the suspended tenant starts" conn_start lobby --transport polling \
  --output "file://$OUT"
refusals() { grep -c 'msg="retrying later"' "$CONN_DIR/lobby.log" || true; }
retried() { [ "$(refusals)" -ge "$1" ]; }
check "it is refused and retries (back-off)" wait_until "three refusals" retried 3
check "in touch: online" printer_is online True
check "no job was printed" test -z "$(ls -A "$OUT")"
op_job_is() { [ "$(api GET "/api/v1/jobs/$1?tenant=acme" | json_get "d['state']")" = "$2" ]; }
check "the job still waits" op_job_is "$JOB1" fetchable
check "the connector keeps its registration" test "$(conn_state_field lobby status)/$(
  conn_state_field lobby credential | cut -c1-4)" = registered/nmd_
CRED=$(conn_state_field lobby credential)
check "device REST: 403 problem" test "$(alice_code /api/v1/device/jobs \
  -H "Authorization: Bearer $CRED")" = 403
check "device REST problem" is_suspended_problem

ctl() { NIMBUS_URL=$NIMBUS_URL NIMBUS_USER=admin@system NIMBUS_PASSWORD=$NIMBUS_ADMIN_PASSWORD \
  "$NIMBUSCTL" "$@"; }

# ---- resume -------------------------------------------------------------------
check "nimbusctl tenant set --resume" ctl tenant set acme --resume
check "resumed" test "$(api GET /api/v1/tenants/acme | json_get "d['suspended']")" = False
check "audited tenant-resumed" test "$(nimbus_sql \
  "SELECT count(*) FROM audit WHERE action = 'tenant-resumed'")" = 1
check "the waiting job prints" wait_until "job $JOB1 completed" job_is "$JOB1" completed
check "its document reached the output" cmp "$NIMBUS_TEST_DATA/onepage.pdf" "$OUT/$JOB1-1.pdf"
check "Basic works again" test "$(alice_code /api/v1/jobs "${ALICE[@]}")" = 200
check "bearer works again" test "$(alice_code /api/v1/jobs -H "Authorization: Bearer $TOKEN")" = 200
JOB2=$(submit_job)
check "IPP Print-Job works again" test -n "$JOB2"
check "and prints" release_job "$JOB2"
check "printed" wait_until "job $JOB2 completed" job_is "$JOB2" completed

check "nimbusctl tenant set --suspend" ctl tenant set acme --suspend
check "suspended again" test "$(alice_code /api/v1/jobs "${ALICE[@]}")" = 403
check "--suspend with --resume is a usage error" test "$(ctl tenant set acme --suspend --resume \
  >/dev/null 2>&1; echo $?)" = 2
check "connector stops cleanly" conn_stop lobby

finish test-console-tenant
