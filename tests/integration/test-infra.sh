#!/usr/bin/env bash
# The device channel (IPP INFRA, PWG 5100.18/5100.22) of nimbusd, driven
# with ipptool as a conforming INFRA proxy would: registration with a claim
# code, capabilities, subscriptions and a held long-poll woken by a
# release, fetch/acknowledge/fetch-document/update-status to completion,
# bad input from devices (each answered with its status, nothing changed),
# the job lease, and deregistration: the notice on a held long-poll, the one
# documented answer afterwards, and the counter of wasted requests.
set -euo pipefail
source "$(dirname "$0")/lib-nimbusd.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
D=$NIMBUS_TEST_DATA
TMP=$(mktemp -d /tmp/nimbus-infra.XXXXXX)
_lib_tmpdirs+=("$TMP")

nimbusd_start --device-lease 5 --notify-wait 20
mk() { api POST "$1" -H 'Content-Type: application/json' -d "$2" -o /dev/null -w '%{http_code}' | grep -qx 201; }
check "set up tenants, users, queues" mk /api/v1/tenants '{"name":"acme"}'
mk /api/v1/tenants '{"name":"globex"}'
mk "/api/v1/users?tenant=acme" '{"name":"alice","password":"alice-pw-1","role":"user"}'
mk "/api/v1/queues?tenant=acme" '{"name":"floor"}'
mk "/api/v1/queues?tenant=acme" '{"name":"annex"}'
mk "/api/v1/queues?tenant=globex" '{"name":"lobby"}'

H="127.0.0.1:$NIMBUS_PORT"
SYSTEM="ipp://$H/ipp/system"
# run ARGS...: ipptool must run every test and pass them all (a file it
# cannot parse must not count as a pass).
run() {
  local out
  out=$(ipptool -t -T 30 "$@" 2>&1) || {
    echo "$out" >&2
    return 1
  }
  echo "$out"
  ! grep -q -e '^ipptool:' -e '\[FAIL\]' <<<"$out" && grep -q '\[PASS\]' <<<"$out"
}
metric() { curl -fsS "$NIMBUS_URL/metrics" | sed -n "s/^$1 //p"; }
job_field() { api GET "/api/v1/jobs/$1?tenant=acme" | json_get "d['$2']"; }

# new_printer TENANT NAME QUEUE: create a registration, print its claim code.
new_printer() {
  api POST "/api/v1/printers?tenant=$1" -H 'Content-Type: application/json' \
    -d "{\"name\":\"$2\",\"queues\":[\"$3\"]}" | json_get "d['claim_code']"
}
# register CLAIM OUT: claim with Register-Output-Device; OUT.uuid, OUT.cred.
register() {
  ipptool -tv -T 30 -d claim="$1" "$SYSTEM" "$HERE/ipp/infra-register.test" >"$2.out" || {
    cat "$2.out" >&2
    return 1
  }
  sed -n 's/.*output-device-uuid (uri) = //p' "$2.out" >"$2.uuid"
  sed -n 's/.*nimbus-device-credential (textWithoutLanguage) = //p' "$2.out" >"$2.cred"
  test -s "$2.uuid" && test -s "$2.cred"
}

# ---- registration ----
CLAIM1=$(new_printer acme p1 floor)
check "Register-Output-Device with the claim code" register "$CLAIM1" "$TMP/p1"
UUID1=$(cat "$TMP/p1.uuid")
CRED1=$(cat "$TMP/p1.cred")
# template FILE OP STATUS: a copy of an ipptool file with @OP@/@STATUS@ filled in.
template() {
  local out="$TMP/$(basename "$1" .test)-$2-$3.test"
  sed -e "s/@OP@/$2/g" -e "s/@STATUS@/$3/g" "$1" >"$out"
  echo "$out"
}
refused() {
  local uuid=()
  [ "$2" = none ] || uuid=(-d uuid="$2")
  run -d claim="$1" "${uuid[@]}" "$SYSTEM" "$(template "$HERE/ipp/infra-register-refused.test" - "$3")"
}
check "a used claim code is refused" refused "$CLAIM1" none client-error-not-authorized
check "a made-up claim code is refused" refused NMBC-AAAA-BBBB-CCCC-DDDD none client-error-not-authorized
CLAIM2=$(new_printer acme p2 floor)
check "a malformed output-device-uuid is refused" refused "$CLAIM2" urn:uuid:nope client-error-bad-request
check "another device's output-device-uuid is refused" refused "$CLAIM2" "$UUID1" client-error-not-possible
check "the refusals left the claim code usable" register "$CLAIM2" "$TMP/p2"
UUID2=$(cat "$TMP/p2.uuid")
CRED2=$(cat "$TMP/p2.cred")
check "the credential is never logged" bash -c "! grep -q -e '$CRED1' -e '$CLAIM2' '$NIMBUS_STATE.log'"
check "REST shows p1 registered" test "$(api GET '/api/v1/printers/p1?tenant=acme' | json_get "d['status']")" = registered

P1="ipp://p1:$CRED1@$H/ipp/print/acme/floor"
P2="ipp://p2:$CRED2@$H/ipp/print/acme/floor"

# ---- long-polls held outside libmicrohttpd, on raw sockets ----
python3 "$HERE/held_poll.py" "http://$H/ipp/print/acme/floor" "$UUID2" "$CRED2" "$NIMBUS_URL/metrics" \
  >"$TMP/held.out" 2>&1 || true
held_step() { grep -q "^ok $1 " "$TMP/held.out" || { cat "$TMP/held.out" >&2; false; }; }
check "a long-poll with nothing pending is held" held_step 1
check "a newer long-poll of the device answers the older at once; its connection serves the next request" held_step 2
check "a held connection whose client hung up is replaced" held_step 3
check "HTTP/1.0 and Connection: close long-polls wait (parked) and are answered, then closed" held_step 4
check "a long-poll naming its subscription twice waits once" held_step 5
check "canceling the subscription answers its held long-poll" held_step 6

# ---- a PC's job submitted through the printer, for its user (7.1) ----
behalf() { # behalf URI OWNER STATUS: prints ipptool's verbose output
  ipptool -tv -T 30 -f "$D/onepage.pdf" -d uuid="$UUID1" -d owner="$2" -d pin=1234 "$1" \
    "$(template "$HERE/ipp/infra-behalf.test" - "$3")"
}
behalf "$P1" alice successful-ok >"$TMP/behalf.out" || { cat "$TMP/behalf.out"; false; }
BJOB=$(sed -n 's/.*job-id (integer) = //p' "$TMP/behalf.out" | head -1)
check "a printer's Print-Job for alice is accepted" test -n "$BJOB"
check "...owned by alice, held, with its PIN and the printer as origin" \
  test "$(job_field "$BJOB" owner)/$(job_field "$BJOB" state)/$(job_field "$BJOB" has_pin)" = alice/held/True
check "the answer carries the job's reference" grep -Eq 'nimbus-job-reference \(textWithoutLanguage\) = [0-9A-Z]{16}' "$TMP/behalf.out"
check "a name that is no user is refused (7.1; hold: test-connector-listener.sh)" run -f "$D/onepage.pdf" -d uuid="$UUID1" -d owner=mallory -d pin=1234 \
  "$P1" "$(template "$HERE/ipp/infra-behalf.test" - client-error-not-authorized)"
check "a printer cannot submit to a queue it does not serve" \
  run -f "$D/onepage.pdf" -d uuid="$UUID1" -d owner=alice -d pin=1234 \
  "ipp://p1:$CRED1@$H/ipp/print/acme/annex" "$(template "$HERE/ipp/infra-behalf.test" - client-error-not-authorized)"
curl -fsS -u alice@acme:alice-pw-1 -X POST "$NIMBUS_URL/api/v1/jobs/$BJOB/cancel" -o /dev/null

# ---- a held long-poll woken by the owner's release ----
# alice prints (held), p1 waits with notify-wait, alice releases.
print_job() {
  python3 "$HERE/ipp_raw.py" print-job "ipp://$H/ipp/print/acme/floor" --user alice --document "$1" |
    curl -fsS -u alice:alice-pw-1 -H 'Content-Type: application/ipp' --data-binary @- \
      "http://$H/ipp/print/acme/floor" -o /dev/null
  curl -fsS -u alice@acme:alice-pw-1 "$NIMBUS_URL/api/v1/jobs?state=all" |
    json_get "max(j['id'] for j in d['jobs'])"
}
python3 "$HERE/make_pdf.py" "$TMP/big.pdf" 12000 # ~120 KB: a spooled, not inline, document
JOB=$(print_job "$TMP/big.pdf")
check "the job is held" test "$(job_field "$JOB" state)" = held
ipptool -tv -T 30 -d uuid="$UUID1" -d event=job-fetchable "$P1" "$HERE/ipp/infra-wait.test" \
  >"$TMP/wait.out" 2>&1 &
WAITER=$!
for _ in $(seq 1 100); do [ "$(metric nimbus_device_long_polls)" = 1 ] && break; sleep 0.1; done
check "the Get-Notifications is held" test "$(metric nimbus_device_long_polls)" = 1
curl -fsS -u alice@acme:alice-pw-1 -X POST "$NIMBUS_URL/api/v1/jobs/$JOB/release" -o /dev/null
check "the release wakes the held Get-Notifications with job-fetchable" wait "$WAITER"
check "the event names the job" grep -q "notify-job-id (integer) = $JOB" "$TMP/wait.out"

# ---- the device processes the job ----
check "capabilities, fetch, acknowledge, fetch-document, completion" \
  run -d uuid="$UUID1" -d jobid="$JOB" -d impressions=1 "$P1" "$HERE/ipp/infra-device.test"
check "the job is completed at nimbusd" test "$(job_field "$JOB" state)" = completed
check "with its impressions" test "$(job_field "$JOB" impressions_completed)" = 1
check "its document is deleted at once (REST: purged)" \
  test "$(api GET "/api/v1/jobs/$JOB?tenant=acme" | json_get "d['documents'][0]['purged']")" = True
check "...and its spool file is gone" \
  test "$(find "$NIMBUS_STATE/spool/data" -type f -size +100k | wc -l)" = 0
check "REST shows p1's capabilities and polling transport" \
  test "$(api GET '/api/v1/printers/p1?tenant=acme' | json_get "d['make_and_model'] + '/' + d['transport']")" = "Example LaserWriter 1200/polling"

# Fetch-Document data, spooled and inline, byte for byte.
JOB2=$(print_job "$TMP/big.pdf")
JOB3=$(print_job "$D/onepage.pdf")
for j in "$JOB2" "$JOB3"; do
  curl -fsS -u alice@acme:alice-pw-1 -X POST "$NIMBUS_URL/api/v1/jobs/$j/release" -o /dev/null
  run -d uuid="$UUID1" -d jobid="$j" "$P1" \
    "$(template "$HERE/ipp/infra-op.test" Acknowledge-Job successful-ok)" >/dev/null
done
fetched() { python3 "$HERE/ipp_device.py" fetch-document "http://$H/ipp/print/acme/floor" "$UUID1" "$CRED1" "$1"; }
check "Fetch-Document streams the spooled document intact" \
  test "$(fetched "$JOB2")" = "0x0000 $(sha256sum <"$TMP/big.pdf" | cut -d' ' -f1)"
check "Fetch-Document returns the inline document intact" \
  test "$(fetched "$JOB3")" = "0x0000 $(sha256sum <"$D/onepage.pdf" | cut -d' ' -f1)"

# ---- bad input from devices: the right status, nothing changed ----
op_refused() { run -d uuid="$2" -d jobid="$3" "$1" "$(template "$HERE/ipp/infra-op.test" "$4" "$5")"; }
check "Acknowledge-Job of a job assigned to another device" \
  op_refused "$P2" "$UUID2" "$JOB2" Acknowledge-Job client-error-not-fetchable
check "Fetch-Document of a job assigned to another device" \
  op_refused "$P2" "$UUID2" "$JOB2" Fetch-Document client-error-not-fetchable
check "Update-Job-Status of a job assigned to another device" \
  op_refused "$P2" "$UUID2" "$JOB2" Update-Job-Status client-error-not-fetchable
check "...and the job is still p1's, processing" test "$(job_field "$JOB2" state)" = processing
mk "/api/v1/users?tenant=globex" '{"name":"gus","password":"gus-pw-1","role":"user"}'
# Job numbers are per tenant: the globex job must have a number acme does
# not use, or the lookup would (rightly) find acme's own job of that number.
ACME_MAX=$(api GET "/api/v1/jobs?tenant=acme&state=all&limit=1000" | json_get "max(j['id'] for j in d['jobs'])")
GJOB=0
while [ "$GJOB" -le "$ACME_MAX" ]; do
  GJOB=$(python3 "$HERE/ipp_raw.py" print-job "ipp://$H/ipp/print/globex/lobby" --user gus --document "$D/onepage.pdf" |
    curl -fsS -u gus:gus-pw-1 -H 'Content-Type: application/ipp' --data-binary @- "http://$H/ipp/print/globex/lobby" -o /dev/null &&
    curl -fsS -u gus@globex:gus-pw-1 "$NIMBUS_URL/api/v1/jobs?state=all&limit=1000" | json_get "max(j['id'] for j in d['jobs'])")
done
curl -fsS -u gus@globex:gus-pw-1 -X POST "$NIMBUS_URL/api/v1/jobs/$GJOB/release" -o /dev/null
check "Fetch-Job of another tenant's job is not-found" \
  op_refused "$P1" "$UUID1" "$GJOB" Fetch-Job client-error-not-found
check "Acknowledge-Job of another tenant's job is not-found" \
  op_refused "$P1" "$UUID1" "$GJOB" Acknowledge-Job client-error-not-found
check "...and it is still fetchable in its own tenant" \
  test "$(curl -fsS -u gus@globex:gus-pw-1 "$NIMBUS_URL/api/v1/jobs/$GJOB" | json_get "d['state']")" = fetchable
check "a malformed output-device-uuid is a bad request" \
  op_refused "$P1" "urn:uuid:not-a-uuid" "$JOB2" Fetch-Job client-error-bad-request
check "another device's output-device-uuid is not authorized" \
  op_refused "$P1" "$UUID2" "$JOB2" Fetch-Job client-error-not-authorized
check "a device on a queue it does not serve is not authorized" \
  op_refused "ipp://p1:$CRED1@$H/ipp/print/acme/annex" "$UUID1" "$JOB2" Get-Jobs client-error-not-authorized
http_code() {
  python3 "$HERE/ipp_raw.py" get-jobs "ipp://$H/ipp/print/acme/floor" |
    curl -s -o /dev/null -w '%{http_code}' "$@" -H 'Content-Type: application/ipp' --data-binary @- \
      "http://$H/ipp/print/acme/floor"
}
devreq() { # a device request with the given Authorization header value; prints the HTTP status
  printf '\x02\x00\x00\x43\x00\x00\x00\x01\x01' >"$TMP/req"
  python3 - "$H" "$UUID1" >>"$TMP/req" <<'PY'
import struct, sys
def a(t, n, v): v = v.encode(); return struct.pack(">BH", t, len(n)) + n.encode() + struct.pack(">H", len(v)) + v
sys.stdout.buffer.write(a(0x47, "attributes-charset", "utf-8") + a(0x48, "attributes-natural-language", "en")
  + a(0x45, "printer-uri", f"ipp://{sys.argv[1]}/ipp/print/acme/floor") + a(0x45, "output-device-uuid", sys.argv[2])
  + struct.pack(">BH", 0x21, 6) + b"job-id" + struct.pack(">Hi", 4, 1) + b"\x03")
PY
  curl -s -o "$TMP/resp" -w '%{http_code}' ${1:+-H "Authorization: $1"} -H 'Content-Type: application/ipp' \
    --data-binary @"$TMP/req" "http://$H/ipp/print/acme/floor"
}
ipp_status_of_resp() { od -An -tx1 -j2 -N2 "$TMP/resp" | tr -d ' \n'; }
check "a device request without credentials: 401" test "$(devreq "")" = 401
check "a wrong device credential: 401" test "$(devreq "Bearer nmd_wrongwrongwrong")" = 401
check "a user's password is no device credential: IPP client-error-not-authorized, no 401" \
  test "$(devreq "Basic $(printf alice:alice-pw-1 | base64)")/$(ipp_status_of_resp)" = 200/0403
check "a user's wrong password on a device operation: 401" \
  test "$(devreq "Basic $(printf alice:wrong-pw | base64)")" = 401

# ---- lease: a device that goes silent loses its job ----
# p1 holds JOB2 (processing) and now stays silent: after --device-lease
# (5 s) plus a housekeeping period the job is fetchable again.
for _ in $(seq 1 150); do
  [ "$(job_field "$JOB2" state)" = fetchable ] && break
  sleep 0.2
done
check "a silent device's job is offered again after the lease" test "$(job_field "$JOB2" state)" = fetchable
check "p2 can now take it" op_refused "$P2" "$UUID2" "$JOB2" Acknowledge-Job successful-ok

# ---- a server restart: credentials survive, subscriptions do not ----
nimbusd_stop
nimbusd_restart
cat >"$TMP/old-sub.test" <<'EOF'
{
  NAME "Get-Notifications for a subscription from before the restart"
  OPERATION Get-Notifications
  GROUP operation-attributes-tag
  ATTR charset attributes-charset utf-8
  ATTR naturalLanguage attributes-natural-language en
  ATTR uri printer-uri $uri
  ATTR uri output-device-uuid $uuid
  ATTR integer notify-subscription-ids 1
  STATUS client-error-not-found
}
EOF
check "after a restart an old subscription is client-error-not-found" \
  run -d uuid="$UUID2" "$P2" "$TMP/old-sub.test"
check "...and the device credential still works" \
  op_refused "$P2" "$UUID2" "$JOB2" Update-Job-Status successful-ok

# ---- deregistration while a long-poll is held ----
before=$(metric nimbus_deleted_device_requests_total)
ipptool -tv -T 30 -d uuid="$UUID2" -d event=printer-deleted "$P2" "$HERE/ipp/infra-wait.test" \
  >"$TMP/notice.out" 2>&1 &
WAITER=$!
for _ in $(seq 1 100); do [ "$(metric nimbus_device_long_polls)" = 1 ] && break; sleep 0.1; done
check "p2's Get-Notifications is held" test "$(metric nimbus_device_long_polls)" = 1
check "an admin deletes p2 (REST 204)" \
  test "$(api DELETE '/api/v1/printers/p2?tenant=acme' -o /dev/null -w '%{http_code}')" = 204
check "the held long-poll receives the printer-deleted notice" wait "$WAITER"
check "...with the documented text" grep -q 'notify-text (textWithoutLanguage) = output device registration deleted' "$TMP/notice.out"
check "the notice itself is not counted as wasted" test "$(metric nimbus_deleted_device_requests_total)" = "$before"
check "afterwards every request gets client-error-gone" \
  op_refused "$P2" "$UUID2" "$JOB2" Get-Jobs client-error-gone
op_refused "$P2" "$UUID2" "$JOB2" Fetch-Job client-error-gone >/dev/null
check "...with the documented status-message" \
  bash -c "ipptool -tv -d uuid='$UUID2' -d jobid=1 '$P2' '$(template "$HERE/ipp/infra-op.test" Get-Jobs client-error-gone)' | grep -q 'status-message (textWithoutLanguage) = output device registration deleted'"
check "and each is counted in nimbus_deleted_device_requests_total" \
  test "$(metric nimbus_deleted_device_requests_total)" = $((before + 3))
check "p2's job went back to fetchable" test "$(job_field "$JOB2" state)" = fetchable

# ---- a replaced printer: a new claim code, claimed again ----
check "p3 registers" register "$(new_printer acme p3 floor)" "$TMP/p3"
P3OLD="ipp://p3:$(cat "$TMP/p3.cred")@$H/ipp/print/acme/floor"
NEWCLAIM=$(api POST '/api/v1/printers/p3/claim-code?tenant=acme' | json_get "d['claim_code']")
check "the replacement claims p3 with a fresh code" register "$NEWCLAIM" "$TMP/p3new"
check "the replaced printer's old credential gets the deregistration answer" \
  op_refused "$P3OLD" "$(cat "$TMP/p3.uuid")" 1 Get-Jobs client-error-gone
check "the replacement's credential works" \
  op_refused "ipp://p3:$(cat "$TMP/p3new.cred")@$H/ipp/print/acme/floor" "$(cat "$TMP/p3new.uuid")" 1 Get-Jobs successful-ok

# ---- a device deregisters itself ----
cat >"$TMP/dereg.test" <<'EOF'
{
  NAME "Deregister-Output-Device"
  OPERATION Deregister-Output-Device
  GROUP operation-attributes-tag
  ATTR charset attributes-charset utf-8
  ATTR naturalLanguage attributes-natural-language en
  ATTR uri printer-uri $uri
  ATTR uri output-device-uuid $uuid
  STATUS successful-ok
}
EOF
check "Deregister-Output-Device by the device itself" run -d uuid="$UUID1" "$P1" "$TMP/dereg.test"
check "p1 is gone from REST" test "$(api GET '/api/v1/printers/p1?tenant=acme' -o /dev/null -w '%{http_code}')" = 404
check "p1's credential now gets client-error-gone" \
  op_refused "$P1" "$UUID1" "$JOB2" Get-Jobs client-error-gone

nimbusd_stop
finish test-infra
