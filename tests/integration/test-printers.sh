#!/usr/bin/env bash
#
# Integration test of printer registrations: /api/v1/printers, the claim
# through POST /api/v1/device/register, and "nimbusctl printer", against a
# nimbusd this script starts (lib-nimbusd.sh, $NIMBUSD; nimbusctl from
# $NIMBUSCTL).
#
# Checks: create/list/show/claim-code/delete over REST and nimbusctl, the
# validation answers, roles (a plain user 403, another tenant 404, an
# operator with ?tenant=), the one-time claim (201, then 403 for the same
# code, 403 for an expired or wrong code, 400 for a bad uuid, 409 for a
# taken uuid, 429 after repeated wrong codes), and that no claim code or credential reaches the server's
# log, output or audit table.  Stops at the first failure.
#

set -u

source "$(dirname "$0")/lib-nimbusd.sh"
source "$(dirname "$0")/lib-rest.sh"

nimbusd_start || { echo "test-printers: could not start nimbusd" >&2; exit 1; }

secrets=() # every claim code and credential seen, to grep the logs for

differs() { [ -n "$1" ] && [ "$1" != "$2" ]; }

OP="admin@system:$NIMBUS_ADMIN_PASSWORD"
ADMIN="boss@acme:boss-pw-1"
USER="alice@acme:alice-pw-1"
OTHER="boss@other:other-pw-1"

# ---- set-up: two tenants, their admins, a user, queues ----------------------
call "$OP" POST /tenants '{"name":"acme"}' && is 201 || { echo "tenant" >&2; exit 1; }
call "$OP" POST /tenants '{"name":"other"}' && is 201 || exit 1
call "$OP" POST '/users?tenant=acme' '{"name":"boss","password":"boss-pw-1","role":"tenant-admin"}'
is 201 || exit 1
call "$OP" POST '/users?tenant=acme' '{"name":"alice","password":"alice-pw-1"}'
is 201 || exit 1
call "$OP" POST '/users?tenant=other' '{"name":"boss","password":"other-pw-1","role":"tenant-admin"}'
is 201 || exit 1
for q in office lobby; do
  call "$ADMIN" POST /queues "{\"name\":\"$q\"}"
  is 201 || exit 1
done
call "$OTHER" POST /queues '{"name":"office"}'
is 201 || exit 1

# ---- create, validation -----------------------------------------------------
call "$ADMIN" POST /printers '{"name":"front","queues":["office","lobby"],"claim_ttl":3600}'
check "create: 201" is 201
code1=$(body 'd["claim_code"]')
secrets+=("$code1")
check "create: claim code format" \
  python3 -c "import re,sys; sys.exit(not re.fullmatch(r'NMBC(-[0-9A-Z]{4}){4}', '$code1'))"
check "create: record" [ "$(body 'd["status"], d["queues"], d["output_device_uuid"], d["online"]')" \
  = "unclaimed ['lobby', 'office'] None False" ]
check "create: claim expiry set" [ "$(body 'd["claim_expires_at"] is not None')" = True ]

call "$ADMIN" POST /printers '{"name":"front","queues":["office"]}'
check "create: name taken 409" is_problem 409
call "$ADMIN" POST /printers '{"name":"x1","queues":["nope"]}'
check "create: unknown queue 404" is_problem 404
call "$ADMIN" POST /printers '{"name":"x1","queues":[]}'
check "create: no queues 400" is_problem 400
call "$ADMIN" POST /printers '{"name":"x1","queues":"office"}'
check "create: queues not an array 400" is_problem 400
call "$ADMIN" POST /printers '{"name":"x1","queues":["office","office"]}'
check "create: a queue twice 400" is_problem 400
call "$ADMIN" POST /printers '{"name":"x1","queues":["a","b","c","d","e","f","g","h","i"]}'
check "create: nine queues 400" is_problem 400
call "$ADMIN" POST /printers '{"name":".x","queues":["office"]}'
check "create: bad name 400" is_problem 400
call "$ADMIN" POST /printers '{"name":"x1","queues":["office"],"claim_ttl":59}'
check "create: claim_ttl too short 400" is_problem 400
call "$ADMIN" POST /printers '{"name":"x1","queues":["office"],"claim_ttl":2592001}'
check "create: claim_ttl too long 400" is_problem 400
call "$ADMIN" POST /printers '{"name":"x1","queues":["office"],"colour":true}'
check "create: unknown member 400" is_problem 400
call "$OTHER" POST /printers '{"name":"x1","queues":["lobby"]}'
check "create: another tenant's queue 404" is_problem 404

# ---- read, roles --------------------------------------------------------------
call "$ADMIN" GET /printers
check "list: 200 with the printer" [ "$status:$(body '[p["name"] for p in d["printers"]]')" = "200:['front']" ]
call "$ADMIN" GET /printers/front
check "show: 200" is 200
check "show: fields" [ "$(body 'sorted(d.keys())')" = "$(python3 -c 'print(sorted(["name","location","status","registered","output_device_uuid","queues","registered_at","last_seen_at","transport","online","printer_state","printer_state_reasons","make_and_model","jobs_in_progress","claim_expires_at","created_at","pricing"]))')" ]
check "show: no secret in the record" [ "$(body '"claim_code" in d or "credential" in d')" = False ]
call "$ADMIN" GET /printers/nope
check "show: unknown 404" is_problem 404
call "$USER" GET /printers
check "user: list 403" is_problem 403
call "$USER" GET /printers/front
check "user: show 403" is_problem 403
call "$USER" POST /printers '{"name":"mine","queues":["office"]}'
check "user: create 403" is_problem 403
call "$USER" DELETE /printers/front
check "user: delete 403" is_problem 403
call "$OTHER" GET /printers/front
check "other tenant: show 404" is_problem 404
call "$OTHER" DELETE /printers/front
check "other tenant: delete 404" is_problem 404
call "$OTHER" POST /printers/front/claim-code
check "other tenant: claim-code 404" is_problem 404
call "$OTHER" GET /printers
check "other tenant: empty list" [ "$status:$(body 'd["printers"]')" = "200:[]" ]
call "$ADMIN" GET '/printers?tenant=other'
check "admin: ?tenant= of another tenant 403" is_problem 403
call "$OP" GET '/printers/front?tenant=acme'
check "operator: ?tenant=acme 200" is 200
call "" GET /printers
check "no credentials 401" is_problem 401

# ---- claim (device/register) ------------------------------------------------
UUID=urn:uuid:6f1c3a52-9b7e-4d1a-8c3e-2a5b7d9e0f11
call "" POST /device/register "{\"claim_code\":\"$code1\",\"output_device_uuid\":\"urn:uuid:nope\"}"
check "register: bad uuid 400" is_problem 400
call "" POST /device/register '{"claim_code":"NMBC-0000-0000-0000-0000"}'
check "register: wrong code 403" is_problem 403
call "" POST /device/register "{\"claim_code\":\"$code1\",\"colour\":1}"
check "register: unknown member 400" is_problem 400
call "" POST /device/register '{}'
check "register: no claim_code 400" is_problem 400
call "$USER" POST /device/register "{\"claim_code\":\"$code1\",\"output_device_uuid\":\"$UUID\"}"
check "register: 201 (user credentials ignored)" is 201
cred1=$(body 'd["credential"]')
secrets+=("$cred1")
check "register: credential format" \
  python3 -c "import re,sys; sys.exit(not re.fullmatch(r'nmd_[A-Za-z0-9_-]{43}', '$cred1'))"
check "register: answer" [ "$(body 'd["output_device_uuid"], d["tenant"], d["name"], sorted(d["printer_uris"])')" \
  = "$UUID acme front ['ipp://127.0.0.1:$NIMBUS_PORT/ipp/print/acme/lobby', 'ipp://127.0.0.1:$NIMBUS_PORT/ipp/print/acme/office']" ]
call "" POST /device/register "{\"claim_code\":\"$code1\"}"
check "register: same code again 403" is_problem 403

call "$ADMIN" GET /printers/front
check "show: registered" [ "$(body 'd["status"], d["output_device_uuid"], d["registered_at"] is not None, d["claim_expires_at"]')" \
  = "registered $UUID True None" ]

call "$ADMIN" POST /printers '{"name":"side","queues":["office"]}'
code2=$(body 'd["claim_code"]')
secrets+=("$code2")
call "" POST /device/register "{\"claim_code\":\"$code2\",\"output_device_uuid\":\"$UUID\"}"
check "register: uuid taken 409" is_problem 409
call "" POST /device/register "{\"claim_code\":\"$code2\"}"
check "register: after a 409 the code still works, uuid assigned" is 201
secrets+=("$(body 'd["credential"]')")
check "register: assigned uuid" \
  python3 -c "import re,sys; sys.exit(not re.fullmatch(r'urn:uuid:[0-9a-f-]{36}', '$(body 'd["output_device_uuid"]')'))"

call "$ADMIN" POST /printers '{"name":"late","queues":["office"],"claim_ttl":60}'
code3=$(body 'd["claim_code"]')
secrets+=("$code3")
check "late's claim code made expired (behind nimbusd's back)" test "$(nimbus_sql \
  "UPDATE devices SET claim_expires_at = 1 WHERE name = 'late';
   SELECT count(*) FROM devices WHERE name = 'late' AND claim_expires_at = 1")" = 1
call "" POST /device/register "{\"claim_code\":\"$code3\"}"
check "register: expired code 403" is_problem 403

# A new claim code replaces the old one.
call "$ADMIN" POST /printers/late/claim-code '{"claim_ttl":600}'
check "claim-code: 200" is 200
code4=$(body 'd["claim_code"]')
secrets+=("$code4")
check "claim-code: a new code" differs "$code4" "$code3"
call "$ADMIN" POST /printers/late/claim-code
code5=$(body 'd["claim_code"]')
secrets+=("$code5")
call "" POST /device/register "{\"claim_code\":\"$code4\"}"
check "claim-code: the previous code stops working" is_problem 403
call "" POST /device/register "{\"claim_code\":\"$code5\"}"
check "claim-code: the newest code works" is 201
secrets+=("$(body 'd["credential"]')")
call "$ADMIN" POST /printers/nope/claim-code
check "claim-code: unknown printer 404" is_problem 404

# ---- nimbusctl ---------------------------------------------------------------
ctl() { "$NIMBUSCTL" --url "$NIMBUS_URL" --user boss@acme --password-file "$work/pw" "$@"; }
printf 'boss-pw-1' >"$work/pw"
check "nimbusctl: create" ctl printer create desk --queue office --queue lobby --claim-ttl 600 \
  >"$work/out" 2>"$work/err"
code6=$(sed -n 's/^ *Claim code: *//p' "$work/out" | tr -d ' ')
secrets+=("$code6")
check "nimbusctl: create prints the claim code" grep -Eq '^NMBC(-[0-9A-Z]{4}){4}$' <<<"$code6"
check "nimbusctl: create warns it is shown once" grep -q "will not show it again" "$work/err"
check "nimbusctl: list" bash -c "'$NIMBUSCTL' --url '$NIMBUS_URL' --user boss@acme --password-file '$work/pw' printer list | grep -Eq '^desk +unclaimed'"
check "nimbusctl: show --json" [ "$(ctl --json printer show desk | json_get 'd["status"], d["queues"]')" \
  = "unclaimed ['lobby', 'office']" ]
check "nimbusctl: show table" bash -c "'$NIMBUSCTL' --url '$NIMBUS_URL' --user boss@acme --password-file '$work/pw' printer show desk | grep -q 'Jobs in progress'"
check "nimbusctl: claim-code" ctl printer claim-code desk >"$work/out" 2>"$work/err"
code7=$(sed -n 's/^ *Claim code: *//p' "$work/out" | tr -d ' ')
secrets+=("$code7")
check "nimbusctl: claim-code prints a new code" differs "$code7" "$code6"
check "nimbusctl: comma-separated queues" ctl printer create desk2 --queue office,lobby >/dev/null 2>&1
secrets+=("$(ctl --json printer claim-code desk2 2>/dev/null | json_get 'd["claim_code"]')")
check "nimbusctl: create without --queue is a usage error" bash -c \
  "'$NIMBUSCTL' --url '$NIMBUS_URL' --user boss@acme --password-file '$work/pw' printer create nq >/dev/null 2>&1; [ \$? -eq 2 ]"
check "nimbusctl: delete" bash -c "'$NIMBUSCTL' --url '$NIMBUS_URL' --user boss@acme --password-file '$work/pw' printer delete desk | grep -q \"Printer 'desk' deleted.\""
check "nimbusctl: show after delete fails" bash -c \
  "'$NIMBUSCTL' --url '$NIMBUS_URL' --user boss@acme --password-file '$work/pw' printer show desk >/dev/null 2>&1; [ \$? -eq 1 ]"
check "nimbusctl: a user is refused" bash -c \
  "printf alice-pw-1 >'$work/pw-alice'; '$NIMBUSCTL' --url '$NIMBUS_URL' --user alice@acme --password-file '$work/pw-alice' printer list >/dev/null 2>&1; [ \$? -eq 1 ]"

# ---- delete ------------------------------------------------------------------
call "$ADMIN" DELETE /printers/front
check "delete: 204" is 204
call "$ADMIN" GET /printers/front
check "delete: then 404" is_problem 404
call "$ADMIN" DELETE /printers/front
check "delete: twice 404" is_problem 404
call "$ADMIN" GET /printers
check "delete: gone from the list" [ "$(body '[p["name"] for p in d["printers"]]')" = "['desk2', 'late', 'side']" ]

# ---- guessing claim codes is slowed down --------------------------------------
call "$ADMIN" POST /printers '{"name":"guess","queues":["office"]}'
code8=$(body 'd["claim_code"]')
secrets+=("$code8")
for i in $(seq 1 25); do
  call "" POST /device/register '{"claim_code":"NMBC-0000-0000-0000-0000"}'
  [ "$status" = 429 ] && break
done
check "register: 429 after repeated wrong codes" is_problem 429
call "" POST /device/register "{\"claim_code\":\"$code8\"}"
check "register: 429 even for a good code from that address" is_problem 429
call "$ADMIN" GET /printers/guess
check "register: the refused good code was not used" [ "$(body 'd["status"]')" = unclaimed ]

# ---- no secret in the log, output or audit ------------------------------------
check "secrets collected" [ "${#secrets[@]}" -ge 10 ]
for s in "${secrets[@]}"; do
  [ -n "$s" ] || continue
  check "no secret in the server log (${s:0:6}…)" bash -c \
    "! grep -qF -- '$s' '$NIMBUS_STATE.log' '$NIMBUS_STATE.out'"
done
audit_has_no_secret() {
  nimbus_sql "SELECT actor, action, detail FROM audit" >"$work/audit"
  grep -q '|printer.create|' "$work/audit" # the table read is the one written to
  local s
  for s in "${secrets[@]}"; do
    if [ -n "$s" ] && grep -qF -- "$s" "$work/audit"; then
      echo "  secret ${s:0:6}... in the audit table" >&2
      return 1
    fi
  done
}
check "no secret in the audit table" audit_has_no_secret

check "nimbusd stops cleanly" nimbusd_stop
finish printers
