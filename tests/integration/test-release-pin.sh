#!/usr/bin/env bash
#
# No release without the PIN (issue 8): every way of releasing a held job
# (IPP Release-Job, REST /jobs/{id}/release, nimbusctl, a printer's panel)
# goes through the one release pipeline (src/server/devices/release.c):
#  - over IPP the owner and a tenant admin need the PIN (job-password);
#    without it or with a wrong one: client-error-not-authorized;
#  - wrong PINs are counted per job whichever way they are tried: the lock
#    reached over IPP holds over REST and the reverse (IPP
#    client-error-forbidden, REST 429), even for the right PIN and for an
#    admin's override;
#  - the right PIN over IPP releases (clear or sha2-256);
#  - a tenant admin releases without the PIN only with an explicit
#    override (REST "override": true, nimbusctl --override; a plain user's
#    is 403), recorded in the job's event, the audit table and the log;
#  - the printers that may fetch a released job are the same over IPP as
#    over REST (this-printer queue: a job sent through a printer goes back
#    to it alone; a job sent straight to nimbusd goes to every printer of
#    the queue);
#  - no PIN in the log or the audit table.
#
set -euo pipefail
source "$(dirname "$0")/lib-nimbusd.sh"
source "$(dirname "$0")/lib-rest.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
pdf=$NIMBUS_TEST_DATA/onepage.pdf

nimbusd_start --pin-max-attempts 3 --pin-lockout 900

OP="admin@system:$NIMBUS_ADMIN_PASSWORD"
ADMIN="boss@acme:boss-pw-1"
ALICE="alice@acme:alice-pw-1"
H="127.0.0.1:$NIMBUS_PORT"
URI="ipp://$H/ipp/print/acme/office"
same() { [ "$1" = "$2" ] || { echo "  got:      $1" >&2; echo "  expected: $2" >&2; false; }; }
fails() { ! "$@"; }
has_word() { case " $1 " in *" $2 "*) return 0 ;; esac; return 1; }

# upload PIN: a job of alice's sent straight to nimbusd (REST); prints its id.
upload() {
  curl -fsS -u "$ALICE" -F queue=office ${1:+-F "job-password=$1"} \
    -F "document=@$pdf;type=application/pdf" "$NIMBUS_URL/api/v1/jobs" | json_get 'd["id"]'
}
# ipp_release USER:PW JOB [PIN|--job-password-sha256 HEX]: IPP status of a Release-Job.
ipp_release() {
  local creds=$1 job=$2 extra=()
  [ -n "${3-}" ] && extra=(--job-password "$3")
  [ -n "${4-}" ] && extra=(--job-password-sha256 "$4")
  python3 "$HERE/ipp_raw.py" release-job "$URI" --job-id "$job" "${extra[@]}" |
    curl -s -u "$creds" -H 'Content-Type: application/ipp' --data-binary @- \
      "http://$H/ipp/print/acme/office" |
    python3 -c "import sys; b=sys.stdin.buffer.read(); print('0x%04x' % int.from_bytes(b[2:4],'big'))"
}
# rest_release AUTH JOB JSON: HTTP status of the REST release.
rest_release() { call "$1" POST "/jobs/$2/release" "$3"; echo "$status"; }
state() { call "$ADMIN" GET "/jobs/$1"; body 'd["state"]'; }
ipptool_as() { # USER PW FILE VARS...: ipptool as that user on office
  local user=$1 pw=$2 file=$3
  shift 3
  ipptool -t -T 20 "$@" "ipp://$user:$pw@$H/ipp/print/acme/office" "$HERE/ipp/$file"
}

# ---- tenant, users, queue, two printers of the queue ------------------------------
call "$OP" POST /tenants '{"name":"acme"}'
check "tenant acme" is 201
call "$OP" POST '/users?tenant=acme' '{"name":"boss","password":"boss-pw-1","role":"tenant-admin"}'
check "tenant admin boss" is 201
call "$ADMIN" POST /users '{"name":"alice","password":"alice-pw-1"}'
check "user alice" is 201
call "$ADMIN" POST /queues '{"name":"office"}'
check "queue office (this-printer)" same "$status $(body 'd["release_scope"]')" "201 this-printer"
for p in front side; do
  call "$ADMIN" POST /printers "{\"name\":\"$p\",\"queues\":[\"office\"]}"
  code=$(body 'd["claim_code"]')
  call "" POST /device/register "{\"claim_code\":\"$code\"}"
  check "printer $p claimed" is 201
  declare "CRED_$p=$(body 'd["credential"]')" "UUID_$p=$(body 'd["output_device_uuid"]')"
done

# ---- the owner and a tenant admin need the PIN over IPP --------------------------------
J1=$(upload 1234)
check "the owner without job-password: not-authorized, still held" \
  ipptool_as alice alice-pw-1 release-refused.test -d job="$J1"
check "the tenant admin without job-password: not-authorized, still held" \
  ipptool_as boss boss-pw-1 release-refused.test -d job="$J1"
check "wrong PIN, then the right one over IPP (ipptool): released" \
  ipptool_as alice alice-pw-1 release-pin.test -d job="$J1" -d pin=1234 -d wrong=9999
J2=$(upload 2468)
DIGEST=$(printf '%s' 2468 | sha256sum | cut -d' ' -f1)
WRONG_DIGEST=$(printf '%s' 1111 | sha256sum | cut -d' ' -f1)
check "a wrong PIN as sha2-256: not-authorized" same "$(ipp_release "$ALICE" "$J2" "" "$WRONG_DIGEST")" 0x0403
check "the right PIN as sha2-256 releases" same "$(ipp_release "$ALICE" "$J2" "" "$DIGEST")" 0x0000
check "... fetchable" same "$(state "$J2")" fetchable
check "the owner's REST release without the PIN: 403" \
  same "$(rest_release "$ALICE" "$(upload 1357)" '{}')" 403

# ---- wrong PINs over IPP lock the REST release, and the reverse ------------------------
J3=$(upload 4321)
check "IPP wrong PIN 1 of 3: not-authorized" same "$(ipp_release "$ALICE" "$J3" 0000)" 0x0403
check "IPP wrong PIN 2 of 3: not-authorized" same "$(ipp_release "$ALICE" "$J3" 0001)" 0x0403
check "IPP wrong PIN 3 of 3: locked (client-error-forbidden)" \
  same "$(ipp_release "$ALICE" "$J3" 0002)" 0x0401
check "locked over IPP: the right PIN over IPP is refused, still held" \
  ipptool_as alice alice-pw-1 release-refused.test -d job="$J3" -d pin=4321
check "locked over IPP: the right PIN over REST is 429" \
  same "$(rest_release "$ALICE" "$J3" '{"pin":"4321"}')" 429
check "locked: the admin's override does not unlock it (429)" \
  same "$(rest_release "$ADMIN" "$J3" '{"override":true}')" 429
check "... still held" same "$(state "$J3")" held
J4=$(upload 8642)
check "REST wrong PIN 1: 403" same "$(rest_release "$ALICE" "$J4" '{"pin":"0000"}')" 403
check "IPP wrong PIN 2 counts with it" same "$(ipp_release "$ALICE" "$J4" 0001)" 0x0403
check "REST wrong PIN 3: locked (429)" same "$(rest_release "$ALICE" "$J4" '{"pin":"0002"}')" 429
check "locked over REST: the right PIN over IPP is client-error-forbidden" \
  same "$(ipp_release "$ALICE" "$J4" 8642)" 0x0401
check "... still held" same "$(state "$J4")" held
panel_status() { # the panel's release at front as alice, with PIN $2 of job $1
  curl -sS -o "$work/panel" -w '%{http_code}' -X POST -H "Authorization: Bearer $CRED_front" \
    -H "X-Nimbus-Session: $SESSION" -H 'Content-Type: application/json' \
    --data-binary "{\"pin\":\"$2\"}" "$NIMBUS_URL/api/v1/device/jobs/$1/release"
}
SESSION=$(curl -fsS -X POST -H "Authorization: Bearer $CRED_front" -H 'Content-Type: application/json' \
  --data-binary '{"user":"alice","secret":"alice-pw-1"}' "$NIMBUS_URL/api/v1/device/sessions" |
  json_get 'd["session"]')
check "locked over IPP: the panel's release with the right PIN is 423" \
  same "$(panel_status "$J3" 4321)" 423

# ---- an admin releases without the PIN only by explicit, audited override -------------
J5=$(upload 9753)
check "tenant admin, REST, no PIN: 403" same "$(rest_release "$ADMIN" "$J5" '{}')" 403
check "a plain user's override: 403" same "$(rest_release "$ALICE" "$J5" '{"override":true}')" 403
check "override with a PIN: 400" same "$(rest_release "$ADMIN" "$J5" '{"override":true,"pin":"1"}')" 400
check "override must be a boolean: 400" same "$(rest_release "$ADMIN" "$J5" '{"override":"yes"}')" 400
check "... still held" same "$(state "$J5")" held
check "the tenant admin's explicit override releases it" \
  same "$(rest_release "$ADMIN" "$J5" '{"override":true}')" 200
check "... fetchable" same "$(body 'd["state"]')" fetchable
J6=$(upload 7531)
ctl() { NIMBUS_URL=$NIMBUS_URL NIMBUS_USER=boss@acme NIMBUS_PASSWORD=boss-pw-1 "$NIMBUSCTL" "$@"; }
check "nimbusctl job release without the PIN fails" fails ctl job release "$J6" 2>/dev/null
check "nimbusctl job release --override --pin: usage error" \
  fails ctl job release "$J6" --override --pin 7531 2>/dev/null
check "nimbusctl job release --override (tenant admin) releases it" ctl job release "$J6" --override
check "... fetchable" same "$(state "$J6")" fetchable
db() { nimbus_sql "$1"; }
check "the release event names the admin and the override" \
  same "$(db "SELECT detail FROM job_events WHERE job_id = $J5 AND event = 'job-released'")" \
  "boss@acme (PIN override)"
check "... for nimbusctl's too" \
  same "$(db "SELECT detail FROM job_events WHERE job_id = $J6 AND event = 'job-released'")" \
  "boss@acme (PIN override)"
check "audit: job.pin-override by boss for both" \
  same "$(db "SELECT actor || ' ' || detail FROM audit WHERE action = 'job.pin-override' ORDER BY id")" \
  "boss@acme job $J5
boss@acme job $J6"
check "the log says who overrode the PIN of which job" \
  grep -q "job PIN overridden by an admin.*job=$J5.*by=boss@acme" "$NIMBUS_STATE.log"
check "an ordinary release records no override" \
  same "$(db "SELECT detail FROM job_events WHERE job_id = $J1 AND event = 'job-released'")" \
  "alice@acme"

# ---- the released job's printers: the same over IPP as over REST ----------------------
# ipp_print PRINTER PIN: Print-Job through that printer for alice (PROTOCOL §7.1).
ipp_print() {
  local cred uuid
  cred=$(eval echo "\$CRED_$1") uuid=$(eval echo "\$UUID_$1")
  python3 "$(dirname "$0")/ipp_device.py" print "http://$H/ipp/print/acme/office" "$uuid" "$cred" alice "$2" "$pdf"
}
# fetchable PRINTER: the job ids Get-Jobs which-jobs=fetchable lists to it.
fetchable() {
  local cred uuid
  cred=$(eval echo "\$CRED_$1") uuid=$(eval echo "\$UUID_$1")
  python3 "$(dirname "$0")/ipp_device.py" fetchable "http://$H/ipp/print/acme/office" "$uuid" "$cred"
}
T_IPP=$(ipp_print front 1122)
T_REST=$(ipp_print front 3344)
check "two jobs through front" test "$T_IPP" -gt 0 -a "$T_REST" -gt 0
check "through front, released over IPP" same "$(ipp_release "$ALICE" "$T_IPP" 1122)" 0x0000
check "through front, released over REST" same "$(rest_release "$ALICE" "$T_REST" '{"pin":"3344"}')" 200
D_IPP=$(upload 5566)
D_REST=$(upload 7788)
check "straight to nimbusd, released over IPP" same "$(ipp_release "$ALICE" "$D_IPP" 5566)" 0x0000
check "straight to nimbusd, released over REST" same "$(rest_release "$ALICE" "$D_REST" '{"pin":"7788"}')" 200
F=$(fetchable front)
S=$(fetchable side)
check "Get-Jobs fetchable answered for both printers" same "${F#0x}${S#0x}" "$F$S"
for j in "$T_IPP" "$T_REST" "$D_IPP" "$D_REST"; do
  check "front may fetch job $j" has_word "$F" "$j"
done
check "side may not fetch the job through front released over IPP" fails has_word "$S" "$T_IPP"
check "... nor the one released over REST" fails has_word "$S" "$T_REST"
check "side may fetch the direct job released over IPP" has_word "$S" "$D_IPP"
check "... and the one released over REST" has_word "$S" "$D_REST"
# follow-me: a job through front released away from a printer is for any printer of its queue
call "$ADMIN" PATCH /queues/office '{"release_scope":"follow-me"}'
check "office: follow-me" is 200
T_FM=$(ipp_print front 9900)
check "follow-me, through front, released over IPP" same "$(ipp_release "$ALICE" "$T_FM" 9900)" 0x0000
check "side may fetch it" has_word "$(fetchable side)" "$T_FM"

# ---- no PIN in the log or the audit table ------------------------------------------------
audit=$(db "SELECT actor || ' ' || action || ' ' || detail FROM audit")
leaks=0
for pin in 1234 2468 1357 4321 8642 9753 7531 1122 3344 5566 7788 9900 9999 0000 0001 0002 "$DIGEST"; do
  for text in "$(cat "$NIMBUS_STATE.log" "$NIMBUS_STATE.out")" "$audit"; do
    if grep -qE -- "(pin|password)[=:\" ]+\"?$pin\b|\"$pin\"" <<<"$text" ||
      { [ ${#pin} -gt 8 ] && grep -qF -- "$pin" <<<"$text"; }; then
      echo "PIN $pin found" >&2
      leaks=1
    fi
  done
done
check "no PIN in the log or the audit table" [ "$leaks" = 0 ]

check "nimbusd stops cleanly" nimbusd_stop
finish test-release-pin
