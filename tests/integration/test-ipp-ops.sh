#!/usr/bin/env bash
# IPP job operations beyond the stock files: multi-document jobs,
# hold/release/cancel, PIN and account attributes, no impersonation,
# authentication, and tenant isolation over IPP.
set -euo pipefail
source "$(dirname "$0")/lib-nimbusd.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
D=$NIMBUS_TEST_DATA

nimbusd_start
mk() { api POST "$1" -H 'Content-Type: application/json' -d "$2" -o /dev/null -w '%{http_code}' | grep -qx 201; }
check "create tenants acme and globex" mk /api/v1/tenants '{"name":"acme"}'
mk /api/v1/tenants '{"name":"globex"}'
check "create users" mk "/api/v1/users?tenant=acme" '{"name":"alice","password":"alice-pw-1","role":"user"}'
mk "/api/v1/users?tenant=acme" '{"name":"bob","password":"bob-pw-1","role":"user"}'
mk "/api/v1/users?tenant=acme" '{"name":"boss","password":"boss-pw-1","role":"tenant-admin"}'
mk "/api/v1/users?tenant=globex" '{"name":"gina","password":"gina-pw-1","role":"tenant-admin"}'
check "create queues" mk "/api/v1/queues?tenant=acme" '{"name":"floor1"}'
mk "/api/v1/queues?tenant=globex" '{"name":"lobby"}'

H="127.0.0.1:$NIMBUS_PORT"
ACME="ipp://alice:alice-pw-1@$H/ipp/print/acme/floor1"
run() { ipptool -t -T 20 "$@"; }

check "Create-Job + 2x Send-Document + closed by last-document" \
  run -d first="$D/threepage.pdf" -d second="$D/onepage.pdf" -d expect_owner=alice \
  "$ACME" "$HERE/ipp/create-send-close.test"
check "Print-Job with PIN/account, no impersonation, Release/Hold/Cancel" \
  run -d first="$D/onepage.pdf" -d impersonate=bob -d expect_owner=alice \
  "$ACME" "$HERE/ipp/hold-release-cancel.test"

ALICE_JOB=$(curl -fsS -u alice@acme:alice-pw-1 "$NIMBUS_URL/api/v1/jobs?state=all" |
  json_get "d['jobs'][0]['id']")
check "another user of the tenant cannot see alice's job" \
  run -d foreign="$ALICE_JOB" "ipp://bob:bob-pw-1@$H/ipp/print/acme/floor1" "$HERE/ipp/job-not-found.test"
check "another tenant's admin cannot see it through its own queue" \
  run -d foreign="$ALICE_JOB" "ipp://gina:gina-pw-1@$H/ipp/print/globex/lobby" "$HERE/ipp/job-not-found.test"

# Raw HTTP: status code of an IPP request with the given credentials.
http_code() {
  local creds=$1 path=$2
  shift 2
  python3 "$HERE/ipp_raw.py" get-jobs "ipp://$H$path" "$@" |
    curl -s -o /dev/null -w '%{http_code}' ${creds:+-u "$creds"} -H 'Content-Type: application/ipp' \
      --data-binary @- "http://$H$path"
}
check "no credentials: 401" test "$(http_code "" /ipp/print/acme/floor1)" = 401
check "wrong password: 401" test "$(http_code alice:wrong /ipp/print/acme/floor1)" = 401
check "acme credentials on globex's queue: 401" \
  test "$(http_code alice:alice-pw-1 /ipp/print/globex/lobby)" = 401
check "name@other-tenant on acme's queue: 401" \
  test "$(http_code gina@globex:gina-pw-1 /ipp/print/acme/floor1)" = 401

# ipp_status HEX-JOB-NAME: the IPP status of alice's Print-Job with that
# job-name (raw bytes), as 4 hex digits
ipp_status() {
  python3 "$HERE/ipp_raw.py" print-job "ipp://$H/ipp/print/acme/floor1" --user alice \
    --job-name-hex "$1" --document "$D/onepage.pdf" |
    curl -fsS -u alice:alice-pw-1 -H 'Content-Type: application/ipp' --data-binary @- \
      "http://$H/ipp/print/acme/floor1" | python3 -c 'import sys; print(sys.stdin.buffer.read()[2:4].hex())'
}
# Not UTF-8 (0xff 0xfe): refused as malformed on either store, never stored
# as it came (SQLite) nor a database error (PostgreSQL); UTF-8 is taken.
check "job-name that is not UTF-8: client-error-bad-request" test "$(ipp_status 626164fffe)" = 0400
check "job-name in UTF-8 (caf\u00e9): accepted" test "$(ipp_status 636166c3a9)" = 0000
check "no store error in the log" bash -c "! grep -q 'store operation failed' '$NIMBUS_STATE.log'"
check "unknown queue: IPP not-found (HTTP 200)" \
  test "$(http_code alice:alice-pw-1 /ipp/print/acme/nope)" = 200

anon_print() {
  python3 "$HERE/ipp_raw.py" print-job "ipp://$H/ipp/print/acme/floor1" --document "$D/onepage.pdf" |
    curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/ipp' --data-binary @- \
      "http://$H/ipp/print/acme/floor1"
}
check "anonymous Print-Job is refused by default" test "$(anon_print)" = 401

# Bearer token from the REST API works for IPP too.
TOKEN=$(curl -fsS -u alice@acme:alice-pw-1 -X POST -H 'Content-Type: application/json' \
  -d '{"label":"ipp"}' "$NIMBUS_URL/api/v1/tokens" | json_get "d['token']")
bearer() {
  python3 "$HERE/ipp_raw.py" get-jobs "ipp://$H/ipp/print/acme/floor1" |
    curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
      -H 'Content-Type: application/ipp' --data-binary @- "http://$H/ipp/print/acme/floor1"
}
check "bearer token authenticates IPP" test "$(bearer)" = 200

# Per-user pending-job limit: server-error-too-many-jobs (0x050b).
api PATCH /api/v1/tenants/globex -H 'Content-Type: application/json' \
  -d '{"max_held_jobs_per_user":2}' >/dev/null
limit_status() {
  python3 "$HERE/ipp_raw.py" print-job "ipp://$H/ipp/print/globex/lobby" --document "$D/onepage.pdf" |
    curl -s -u gina:gina-pw-1 -H 'Content-Type: application/ipp' --data-binary @- \
      "http://$H/ipp/print/globex/lobby" | python3 "$HERE/ipp_strict.py" /dev/stdin | sed 's/^0x//'
}
check "job 1 of 2 accepted" test "$(limit_status)" = 0000
check "job 2 of 2 accepted" test "$(limit_status)" = 0000
check "job 3 refused: server-error-too-many-jobs" test "$(limit_status)" = 050b

# Formats: each detected from its bytes (octet-stream) with its page count.
format_pages() { # FILE -> "format pages" of the job it creates
  local id
  id=$(python3 "$HERE/ipp_raw.py" print-job "ipp://$H/ipp/print/acme/floor1" --document "$1" |
    curl -s -u bob:bob-pw-1 -H 'Content-Type: application/ipp' --data-binary @- \
      "http://$H/ipp/print/acme/floor1" >/dev/null &&
    curl -fsS -u bob@acme:bob-pw-1 "$NIMBUS_URL/api/v1/jobs?state=all&limit=1000" |
    json_get "max(j['id'] for j in d['jobs'])")
  curl -fsS -u bob@acme:bob-pw-1 "$NIMBUS_URL/api/v1/jobs/$id" |
    json_get "d['documents'][0]['format'] + ' ' + str(d['pages'])"
}
check "PWG raster detected, 2 pages" test "$(format_pages "$D/twopage.pwg")" = "image/pwg-raster 2"
check "URF detected, 2 pages" test "$(format_pages "$D/twopage.urf")" = "image/urf 2"
check "JPEG detected, 1 page" test "$(format_pages "$D/small.jpg")" = "image/jpeg 1"
check "PDF detected, 3 pages" test "$(format_pages "$D/threepage.pdf")" = "application/pdf 3"

# job-password sent as its SHA-256 (job-password-encryption sha2-256):
# released over REST with the clear PIN, not with a wrong one.
DIGEST=$(printf '%s' 2468 | sha256sum | cut -d' ' -f1)
python3 "$HERE/ipp_raw.py" print-job "ipp://$H/ipp/print/acme/floor1" --document "$D/onepage.pdf" \
  --job-password-sha256 "$DIGEST" |
  curl -s -o /dev/null -u alice:alice-pw-1 -H 'Content-Type: application/ipp' --data-binary @- \
    "http://$H/ipp/print/acme/floor1"
SHA_JOB=$(curl -fsS -u alice@acme:alice-pw-1 "$NIMBUS_URL/api/v1/jobs?state=held&limit=1000" |
  json_get "max(j['id'] for j in d['jobs'] if j['has_pin'])")
release() { # PIN -> HTTP status of the REST release
  curl -s -o /dev/null -w '%{http_code}' -u alice@acme:alice-pw-1 -H 'Content-Type: application/json' \
    -d "{\"pin\":\"$1\"}" "$NIMBUS_URL/api/v1/jobs/$SHA_JOB/release"
}
check "sha2-256 job-password: a wrong PIN is refused" test "$(release 1357)" = 403
check "sha2-256 job-password: the clear PIN releases the job" test "$(release 2468)" = 200

# A queue that releases immediately: jobs are fetchable (IPP pending) on arrival.
mk "/api/v1/queues?tenant=acme" '{"name":"direct","release_immediately":true}'
direct_state() {
  python3 "$HERE/ipp_raw.py" print-job "ipp://$H/ipp/print/acme/direct" --document "$D/onepage.pdf" |
    curl -s -u alice:alice-pw-1 -H 'Content-Type: application/ipp' --data-binary @- \
      "http://$H/ipp/print/acme/direct" >/dev/null
  curl -fsS -u alice@acme:alice-pw-1 "$NIMBUS_URL/api/v1/jobs?queue=direct&state=all" |
    json_get "d['jobs'][0]['state'] + ' ' + d['jobs'][0]['ipp_state']"
}
check "release-immediately queue: job fetchable (pending) on arrival" \
  test "$(direct_state)" = "fetchable pending"

check "nimbusd stops cleanly" nimbusd_stop
finish ipp-ops
