#!/usr/bin/env bash
# Driverless set-up (issue 8 item 6, PROTOCOL.md 5.4): a private cupsd
# (lib-cupsd.sh) adds both IPP printers with `lpadmin -m everywhere` and
# prints through them with `lp`:
#   - the cloud queue ipp://HOST:PORT/ipp/print/acme/office (nimbusd);
#   - the connector's printer for PCs ipp://HOST:PORT/ipp/print
#     (nimbus-connector --listen-ipp, virtual file:// engine).
# For each: the PPD is generated (not a raw queue), the job arrives in
# nimbusd held with its pages; Get-Printer-Attributes carries what
# driverless clients need (ipp/driverless-attrs.test), with the name and
# location of the registration and printer-uri-supported built from the
# Host the client used; a browser's GET shows the information page
# (escaped).  Cancel-Job on the connector's printer (ipptool) cancels the
# job at nimbusd, and only for the user who sent it from the same address
# (another address neither lists nor cancels it).
# cupsd, lpadmin, lp, lpoptions and ipptool are required.
set -euo pipefail
source "$(dirname "$0")/test-connector-common.sh"
source "$(dirname "$0")/lib-cupsd.sh"
trap 'cupsd_stop_all; _conn_cleanup' EXIT

TESTS="$HERE/ipp"
LOCATION='2nd floor <b>"east" & more</b>'
LOCATION_HTML='2nd floor &lt;b&gt;&quot;east&quot; &amp; more&lt;/b&gt;'

nimbusd_start
check "tenant, users and queue" conn_setup_tenant
claim() {
  curl -fsS -u boss@acme:boss-pw-1 -X POST -H 'Content-Type: application/json' \
    -d "$(python3 -c 'import json,sys; print(json.dumps({"name":"lobby","queues":["office"],"location":sys.argv[1]}))' "$LOCATION")" \
    "$NIMBUS_URL/api/v1/printers" | json_get "d['claim_code']"
}
CODE=$(claim)
rest_location() {
  local got
  got=$(curl -fsS -u boss@acme:boss-pw-1 "$NIMBUS_URL/api/v1/printers/lobby" |
    json_get "d['location']")
  [ "$got" = "$LOCATION" ] || { echo "location '$got'" >&2; return 1; }
}
check "the registration keeps its location (REST)" rest_location
bad_location() {
  local code
  code=$(curl -sS -o /dev/null -w '%{http_code}' -u boss@acme:boss-pw-1 -X POST \
    -H 'Content-Type: application/json' \
    -d '{"name":"bad","queues":["office"],"location":"a\u0001b"}' "$NIMBUS_URL/api/v1/printers")
  [ "$code" = 400 ]
}
check "a location with control characters is refused (400)" bad_location
check "register the printer" conn_register lobby "$CODE"
OUT="$CONN_DIR/out"
mkdir -p "$OUT"
check "connector starts with --listen-ipp and a file printer" conn_start lobby \
  --output "file://$OUT" --listen-ipp 127.0.0.1:0
ipp_port() { sed -n 's/.*msg="ipp listening".* port=\([0-9]*\).*/\1/p' "$CONN_DIR/lobby.log" | tail -1; }
has_ipp_port() { [ -n "$(ipp_port)" ]; }
check "the ipp listener logged its port" wait_until 'msg="ipp listening"' has_ipp_port
IPP_PORT=$(ipp_port)

CLOUD_PATH=/ipp/print/acme/office
attrs() { # URI NAME LOCATION MORE
  ipptool -t -T 20 -d name="$2" -d location="$3" -d more="$4" "$1" "$TESTS/driverless-attrs.test"
}
# (libcups sends "Host: localhost:PORT" for 127.0.0.1, so the URIs say localhost)
check "cloud queue: driverless attributes" \
  attrs "ipp://localhost:$NIMBUS_PORT$CLOUD_PATH" office "$LOCATION" \
  "http://localhost:$NIMBUS_PORT$CLOUD_PATH"
# the connector learns its registration's name once connected
named_lobby() { attrs "ipp://localhost:$IPP_PORT/ipp/print" lobby "$LOCATION" \
  "http://localhost:$IPP_PORT/ipp/print" >/dev/null; }
check "connector's printer: name and location of its registration" \
  wait_until "printer-name lobby" named_lobby
check "connector's printer: driverless attributes, Cancel-Job" \
  attrs "ipp://localhost:$IPP_PORT/ipp/print" lobby "$LOCATION" \
  "http://localhost:$IPP_PORT/ipp/print"
check "connector's printer: job-account-id and job-accounting-user-id supported" \
  ipptool -t -T 20 "ipp://localhost:$IPP_PORT/ipp/print" "$TESTS/connector-account-attrs.test"
uri_from_host() { # PORT PATH: printer-uri-supported follows the Host header
  local resp="$CONN_DIR/gpa-host.bin"
  python3 "$HERE/ipp_raw.py" get-printer-attributes "ipp://127.0.0.1:$1$2" |
    curl -fsS --data-binary @- -H 'Content-Type: application/ipp' \
      -H 'Host: print.example.com:8631' -o "$resp" "http://127.0.0.1:$1$2"
  grep -aqF "ipp://print.example.com:8631$2" "$resp"
}
check "cloud queue: printer-uri-supported uses the Host header" \
  uri_from_host "$NIMBUS_PORT" "$CLOUD_PATH"
check "connector's printer: printer-uri-supported uses the Host header" \
  uri_from_host "$IPP_PORT" /ipp/print

# ---- the information pages ----
page_ok() { # URL WANT...
  local url=$1 body headers
  shift
  headers=$(mktemp)
  body=$(curl -fsS -D "$headers" "$url") || { rm -f "$headers"; return 1; }
  grep -qi '^content-type: text/html' "$headers" &&
    grep -qi "^content-security-policy: default-src 'none'" "$headers" || {
    echo "headers: $(cat "$headers")" >&2
    rm -f "$headers"
    return 1
  }
  rm -f "$headers"
  local want
  for want in "$@"; do
    grep -qF -- "$want" <<<"$body" || { echo "page lacks: $want" >&2; return 1; }
  done
  if grep -qF -- "$LOCATION" <<<"$body"; then
    echo "the location is not escaped" >&2
    return 1
  fi
}
check "GET of the cloud queue's address: its information page" page_ok \
  "http://127.0.0.1:$NIMBUS_PORT$CLOUD_PATH" "<h1>office</h1>" "$LOCATION_HTML" \
  "ipp://127.0.0.1:$NIMBUS_PORT$CLOUD_PATH" "-m everywhere"
check "GET of the connector's printer: its information page" page_ok \
  "http://127.0.0.1:$IPP_PORT/ipp/print" "<h1>lobby</h1>" "$LOCATION_HTML" \
  "ipp://127.0.0.1:$IPP_PORT/ipp/print" "Registered with the cloud print service"
status_is() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" = "$2" ]; }
check "GET of an unknown queue: 404" status_is "http://127.0.0.1:$NIMBUS_PORT/ipp/print/acme/nope" 404
check "GET of another path at the connector: 404" status_is "http://127.0.0.1:$IPP_PORT/other" 404

# ---- Cancel-Job on the connector's printer ----
job_state() { # the state at nimbusd of alice's newest job named NAME
  curl -fsS -u alice@acme:alice-pw-1 "$NIMBUS_URL/api/v1/jobs?state=all&limit=1000" |
    json_get "next((j['state'] for j in reversed(d['jobs']) if j['name'] == '$1'), 'none')"
}
# The listener has no sign-in: another PC (another address) neither sees
# nor cancels a job by its number, even under the owner's name.
ipp_from() { # SOURCE-ADDRESS ipp_raw.py-ARGS...: the answer's status code, hex
  local src=$1
  shift
  python3 "$HERE/ipp_raw.py" "$@" |
    curl -sS --interface "$src" -H 'Content-Type: application/ipp' --data-binary @- \
      "http://127.0.0.1:$IPP_PORT/ipp/print" -o - | od -An -tx1 -N4 | awk '{print $3 $4}'
}
XJOB=$(python3 "$HERE/ipp_raw.py" print-job "ipp://127.0.0.1:$IPP_PORT/ipp/print" \
  --user alice --job-name cross-address --document "$NIMBUS_TEST_DATA/onepage.pdf" |
  curl -sS -H 'Content-Type: application/ipp' --data-binary @- \
    "http://127.0.0.1:$IPP_PORT/ipp/print" -o - | python3 -c '
import sys, struct
b = sys.stdin.buffer.read()
i = b.find(b"\x21\x00\x06job-id")
print(struct.unpack(">i", b[i + 11:i + 15])[0] if i >= 0 and b[2:4] == b"\x00\x00" else 0)')
check "a job from 127.0.0.1 through the connector" test "$XJOB" -gt 0
lists_job() { # SOURCE: Get-Jobs from there lists the job named cross-address
  python3 "$HERE/ipp_raw.py" get-jobs "ipp://127.0.0.1:$IPP_PORT/ipp/print" \
    --user alice --which-jobs all |
    curl -sS --interface "$1" -H 'Content-Type: application/ipp' --data-binary @- \
      "http://127.0.0.1:$IPP_PORT/ipp/print" -o - | grep -q cross-address
}
check "Get-Jobs from the same address lists it" lists_job 127.0.0.1
lists_elsewhere() { ! lists_job 127.0.0.2; }
check "Get-Jobs from another address does not" lists_elsewhere
check "Cancel-Job from another address, as the owner: not found" test \
  "$(ipp_from 127.0.0.2 cancel-job "ipp://127.0.0.1:$IPP_PORT/ipp/print" --user alice --job-id "$XJOB")" = 0406
check "the job is still held at nimbusd" test "$(job_state cross-address)" = held
check "Cancel-Job from the sending address, as the owner: done" test \
  "$(ipp_from 127.0.0.1 cancel-job "ipp://127.0.0.1:$IPP_PORT/ipp/print" --user alice --job-id "$XJOB")" = 0000
check "Cancel-Job through the connector: others cannot, the owner can" \
  ipptool -t -T 30 -d owner=alice -d other=boss -f "$NIMBUS_TEST_DATA/onepage.pdf" \
  "ipp://127.0.0.1:$IPP_PORT/ipp/print" "$TESTS/connector-cancel-job.test"
is_canceled() { [ "$(job_state cancel-me)" = canceled ]; }
check "the job is canceled at nimbusd" is_canceled

# ---- lpadmin -m everywhere and lp, through a private cupsd ----
CUPS_DIR=$(mktemp -d /tmp/nimbus-driverless-cupsd.XXXXXX)
check "private cupsd starts" cupsd_start "$CUPS_DIR" auto
everywhere() { # QUEUE DEVICE-URI
  "$LPADMIN_BIN" -h "$CUPSD_SERVER" -p "$1" -E -v "$2" -m everywhere
}
has_ppd() { # QUEUE: the generated PPD is in place (not a raw queue)
  lpoptions -h "$CUPSD_SERVER" -p "$1" -l 2>/dev/null | grep -q '^PageSize'
}
no_ppd_failure() {
  if grep -q "PPD creation failed" "$CUPSD_DIR/log/error_log" 2>/dev/null; then
    grep "PPD creation failed" "$CUPSD_DIR/log/error_log" >&2
    return 1
  fi
}
arrived() { # TITLE OWNER PAGES [ORIGIN]: alice's job, held
  local i verdict=""
  for i in $(seq 1 120); do
    verdict=$(curl -fsS -u boss@acme:boss-pw-1 "$NIMBUS_URL/api/v1/jobs?state=all&limit=1000" |
      json_get "'; '.join('%s %s %s %s %s' % (j['name'], j['state'], j['owner'], j['pages'],
                 j['origin_device'] or '-') for j in d['jobs'] if j['name'] == '$1')")
    [ "$verdict" = "$1 held $2 $3 ${4:--}" ] && return 0
    sleep 0.5
  done
  echo "nimbusd has '${verdict:-nothing}', want '$1 held $2 $3 ${4:--}'" >&2
  echo "cupsd jobs: $(lpstat -h "$CUPSD_SERVER" -W all -o 2>&1)" >&2
  tail -n 30 "$CUPSD_DIR/log/error_log" >&2 2>/dev/null || true
  return 1
}

check "lpadmin -m everywhere: the cloud queue" everywhere cloud \
  "ipp://alice:alice-pw-1@127.0.0.1:$NIMBUS_PORT$CLOUD_PATH"
check "  its PPD is generated (PageSize options)" wait_until "PPD of cloud" has_ppd cloud
check "lp -d cloud" lp -h "$CUPSD_SERVER" -d cloud -t "Driverless cloud" \
  "$NIMBUS_TEST_DATA/threepage.pdf"
check "  the job arrives in nimbusd: held, alice's, 3 pages" arrived "Driverless cloud" alice 3

check "lpadmin -m everywhere: the connector's printer" everywhere pc \
  "ipp://127.0.0.1:$IPP_PORT/ipp/print"
check "  its PPD is generated (PageSize options)" wait_until "PPD of pc" has_ppd pc
# what makes CUPS send -o job-billing=... as job-account-id, and the user
# as job-accounting-user-id (billing by purpose, issue 13)
ppd_accounting() {
  grep -q '^\*cupsJobAccountId: True' "$CUPSD_DIR/ppd/pc.ppd" &&
    grep -q '^\*cupsJobAccountingUserId: True' "$CUPSD_DIR/ppd/pc.ppd" || {
    grep -i account "$CUPSD_DIR/ppd/pc.ppd" >&2
    return 1
  }
}
check "  its PPD has cupsJobAccountId and cupsJobAccountingUserId" ppd_accounting
check "lp -U alice -d pc" lp -h "$CUPSD_SERVER" -U alice -d pc -t "Driverless PC" \
  "$NIMBUS_TEST_DATA/threepage.pdf"
check "  the job arrives in nimbusd: held, alice's, 3 pages, through lobby" \
  arrived "Driverless PC" alice 3 lobby
check "no PPD creation failed in cupsd's log" no_ppd_failure

# ---- the location changes (nimbusctl printer set, PATCH /printers/{name}) ----
set_location() {
  NIMBUS_URL=$NIMBUS_URL NIMBUS_USER=boss@acme NIMBUS_PASSWORD=boss-pw-1 \
    "$NIMBUSCTL" printer set lobby --location "$1" >/dev/null
}
check "nimbusctl printer set lobby --location" set_location "Annex, room 4"
check "the cloud queue shows the new location at once" \
  attrs "ipp://localhost:$NIMBUS_PORT$CLOUD_PATH" office "Annex, room 4" \
  "http://localhost:$NIMBUS_PORT$CLOUD_PATH"
patch_bad() {
  local code
  code=$(curl -sS -o /dev/null -w '%{http_code}' -u boss@acme:boss-pw-1 -X PATCH \
    -H 'Content-Type: application/json' -d "$1" "$NIMBUS_URL/api/v1/printers/$2")
  [ "$code" = "$3" ] || { echo "PATCH $1: $code, want $3" >&2; return 1; }
}
check "PATCH: control characters 400" patch_bad '{"location":"a\u0007"}' lobby 400
check "PATCH: no location 400" patch_bad '{}' lobby 400
check "PATCH: unknown member 400" patch_bad '{"name":"x"}' lobby 400
check "PATCH: unknown printer 404" patch_bad '{"location":"x"}' nope 404
user_patch() {
  local code
  code=$(curl -sS -o /dev/null -w '%{http_code}' -u alice@acme:alice-pw-1 -X PATCH \
    -H 'Content-Type: application/json' -d '{"location":"x"}' "$NIMBUS_URL/api/v1/printers/lobby")
  [ "$code" = 403 ]
}
check "PATCH: a plain user gets 403" user_patch

cupsd_stop
check "connector stops cleanly" conn_stop lobby
check "nimbusd stops cleanly" nimbusd_stop
finish driverless
