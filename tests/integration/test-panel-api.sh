#!/usr/bin/env bash
#
# Integration test of release at the printer (PROTOCOL.md §7), against a
# nimbusd this script starts (lib-nimbusd.sh, $NIMBUSD; nimbusctl from
# $NIMBUSCTL):
#  - the settings: tenant retention_hours/panel_login, queue release_scope,
#    user panel_pin (REST and nimbusctl), job reference/origin_device;
#  - jobs submitted through a printer on behalf of a user (IPP Print-Job
#    with the device credential, §7.1) and straight over REST;
#  - the panel's calls (§7.2) as that printer: sign-in (401 for a wrong
#    or unknown user alike, 429 after repeated failures, password or PIN
#    per tenant), the list in this-printer and follow-me scope, another
#    user's job 404, wrong PINs 403 with attempts_left counting down, the
#    lock (423, shared with the REST release and the PIN check), release to this printer
#    only (another printer of the queue does not see it as fetchable),
#    cancel, sign-out, a deleted registration 410;
#  - no password, PIN, session token or credential in the log, the output
#    or the audit table.  Stops at the first failure.
#

set -u

source "$(dirname "$0")/lib-nimbusd.sh"
source "$(dirname "$0")/lib-rest.sh"

nimbusd_start --pin-max-attempts 5 --pin-lockout 900 ||
  { echo "test-panel-api: could not start nimbusd" >&2; exit 1; }

pdf=$NIMBUS_TEST_DATA/onepage.pdf
secrets=() # every secret used, to grep the logs for

# panel CREDENTIAL SESSION METHOD PATH [JSON]: a panel call as a printer.
panel() {
  local cred=$1 session=$2 method=$3 path=$4 data=${5-}
  local args=(-sS -o "$work/body" -w '%{http_code}' -X "$method" "$NIMBUS_URL/api/v1$path")
  [ -n "$cred" ] && args+=(-H "Authorization: Bearer $cred")
  [ -n "$session" ] && args+=(-H "X-Nimbus-Session: $session")
  [ -n "$data" ] && args+=(-H 'Content-Type: application/json' --data-binary "$data")
  status=$(curl "${args[@]}")
}
same() { [ "$1" = "$2" ] || { echo "  got:      $1" >&2; echo "  expected: $2" >&2; false; }; }
fails() { ! "$@"; }
has_word() { case " $1 " in *" $2 "*) return 0 ;; esac; return 1; }

# ipp_print CREDENTIAL UUID QUEUE USER [PIN]: Print-Job through a printer
# on behalf of USER (§7.1); prints the job id, or the IPP status on failure.
ipp_print() {
  python3 "$(dirname "$0")/ipp_device.py" print "$NIMBUS_URL/ipp/print/acme/$3" "$2" "$1" "$4" "${5-}" "$pdf"
}

# ipp_fetchable CREDENTIAL UUID QUEUE: job ids Get-Jobs which-jobs=fetchable
# lists to that printer, space-separated.
ipp_fetchable() {
  python3 "$(dirname "$0")/ipp_device.py" fetchable "$NIMBUS_URL/ipp/print/acme/$3" "$2" "$1"
}

OP="admin@system:$NIMBUS_ADMIN_PASSWORD"
ADMIN="boss@acme:boss-pw-1"
ALICE="alice@acme:alice-pw-1"
secrets+=(boss-pw-1 alice-pw-1 bob-pw-1 2468 1357 97531)

# ---- settings over REST -------------------------------------------------------
call "$OP" POST /tenants '{"name":"acme"}'
check "tenant: 201" is 201
check "tenant: defaults" same "$(body 'd["retention_hours"], d["panel_login"]')" "0 password"
call "$OP" POST /tenants '{"name":"other","retention_hours":48,"panel_login":"pin"}'
check "tenant with retention and PIN login: 201" is 201
check "tenant: record" same "$(body 'd["retention_hours"], d["panel_login"]')" "48 pin"
call "$OP" PATCH /tenants/other '{"retention_hours":8761}'
check "tenant: retention_hours 8761 400" is_problem 400
call "$OP" PATCH /tenants/other '{"retention_hours":-1}'
check "tenant: retention_hours -1 400" is_problem 400
call "$OP" PATCH /tenants/other '{"panel_login":"card"}'
check "tenant: panel_login card 400" is_problem 400
call "$OP" PATCH /tenants/other '{"retention_hours":0,"panel_login":"password"}'
check "tenant: PATCH 200" same "$status $(body 'd["retention_hours"], d["panel_login"]')" \
  "200 0 password"

call "$OP" POST '/users?tenant=acme' '{"name":"boss","password":"boss-pw-1","role":"tenant-admin"}'
check "admin: 201" is 201
call "$ADMIN" POST /users '{"name":"alice","password":"alice-pw-1","panel_pin":"2468"}'
check "user with a panel PIN: 201" same "$status $(body 'd["has_panel_pin"]')" "201 True"
check "user: no hash in the record" same "$(body 'sorted(d.keys())')" \
  "['created_at', 'has_panel_pin', 'name', 'role']"
call "$ADMIN" POST /users '{"name":"bob","password":"bob-pw-1"}'
check "user without a panel PIN" same "$status $(body 'd["has_panel_pin"]')" "201 False"
for bad in '"123"' '"12345678901234"' '"12a4"' '1234'; do
  call "$ADMIN" PATCH /users/bob "{\"panel_pin\":$bad}"
  check "user: panel_pin $bad 400" is_problem 400
done
call "bob@acme:bob-pw-1" PATCH /users/bob '{"panel_pin":"1357"}'
check "a user sets its own panel PIN" same "$status $(body 'd["has_panel_pin"]')" "200 True"
call "bob@acme:bob-pw-1" PATCH /users/alice '{"panel_pin":"1111"}'
check "a user cannot set another's panel PIN" is_problem 403

call "$ADMIN" POST /queues '{"name":"office"}'
check "queue: default scope" same "$status $(body 'd["release_scope"]')" "201 this-printer"
call "$ADMIN" POST /queues '{"name":"x","release_scope":"everywhere"}'
check "queue: bad release_scope 400" is_problem 400
call "$ADMIN" POST /queues '{"name":"roam","release_scope":"follow-me"}'
check "queue: follow-me" same "$status $(body 'd["release_scope"]')" "201 follow-me"

# ---- settings through nimbusctl ------------------------------------------------
export NIMBUS_URL
ctl() { NIMBUS_USER=admin@system NIMBUS_PASSWORD=$NIMBUS_ADMIN_PASSWORD "$NIMBUSCTL" "$@"; }
check "nimbusctl tenant create --retention-hours --panel-login" \
  ctl --json tenant create ctl-t --retention-hours 12 --panel-login pin
check "nimbusctl: tenant fields" same "$(ctl --json tenant show ctl-t | json_get 'd["retention_hours"], d["panel_login"]')" "12 pin"
check "nimbusctl tenant set" ctl tenant set ctl-t --retention-hours 0 --panel-login password
ctl_grep() { ctl "${@:2}" | grep -q -- "$1"; }
check "nimbusctl: tenant table shows the columns" ctl_grep 'RETENTION H.*PANEL LOGIN' tenant list
ctl --tenant acme queue create ctl-q --release-scope follow-me >/dev/null
check "nimbusctl queue create --release-scope" \
  same "$(ctl --json --tenant acme queue show ctl-q | json_get 'd["release_scope"]')" follow-me
check "nimbusctl queue set --release-scope" ctl --tenant acme queue set ctl-q --release-scope this-printer
check "nimbusctl: bad --release-scope refused" \
  fails ctl --tenant acme queue set ctl-q --release-scope nowhere 2>/dev/null
printf '97531\n' >"$work/pin"
ctl --tenant acme user create carol --password-file "$work/pin" >/dev/null
check "nimbusctl user set --panel-pin-file" ctl --tenant acme user set carol --panel-pin-file "$work/pin"
check "nimbusctl: has_panel_pin" \
  same "$(ctl --json --tenant acme user show carol | json_get 'd["has_panel_pin"]')" True
check "nimbusctl: the user table shows PANEL PIN" ctl_grep 'PANEL PIN' --tenant acme user list

# ---- two printers of the queue, claimed ---------------------------------------
call "$ADMIN" POST /printers '{"name":"front","queues":["office","roam"]}'
code=$(body 'd["claim_code"]')
secrets+=("$code")
call "" POST /device/register "{\"claim_code\":\"$code\"}"
check "front: claimed" is 201
CRED1=$(body 'd["credential"]')
UUID1=$(body 'd["output_device_uuid"]')
secrets+=("$CRED1")
call "$ADMIN" POST /printers '{"name":"side","queues":["office","roam"]}'
code=$(body 'd["claim_code"]')
secrets+=("$code")
call "" POST /device/register "{\"claim_code\":\"$code\"}"
check "side: claimed" is 201
CRED2=$(body 'd["credential"]')
UUID2=$(body 'd["output_device_uuid"]')
secrets+=("$CRED2")

# ---- jobs: through the printer (IPP, on behalf) and straight over REST ---------
JA=$(ipp_print "$CRED1" "$UUID1" office alice 1234)
check "Print-Job through front for alice" [ "$JA" -gt 0 ] 2>/dev/null
JN=$(ipp_print "$CRED1" "$UUID1" office alice)
check "Print-Job through front for alice, no PIN" [ "$JN" -gt 0 ] 2>/dev/null
JB=$(ipp_print "$CRED1" "$UUID1" office bob 5555)
check "Print-Job through front for bob" [ "$JB" -gt 0 ] 2>/dev/null
JS=$(ipp_print "$CRED2" "$UUID2" office alice 1234)
check "Print-Job through side for alice" [ "$JS" -gt 0 ] 2>/dev/null
JU=$(ipp_print "$CRED1" "$UUID1" office nobody 1234)
check "Print-Job for a name that is no user: refused by default (7.1)" \
  test "$JU" = 0x0403
call "$OP" PATCH /tenants/acme '{"unknown_user_names":"hold"}'
check "tenant acme set to hold jobs for unknown names" is 200
JU=$(ipp_print "$CRED1" "$UUID1" office nobody 1234)
check "Print-Job for a name that is no user (hold): accepted like a user's (7.1)" [ "$JU" -gt 0 ] 2>/dev/null
curl -sS -o "$work/body" -u "$ALICE" -F queue=office -F job-password=1234 \
  -F "document=@$pdf;type=application/pdf" "$NIMBUS_URL/api/v1/jobs" >/dev/null
JR=$(body 'd["id"]')
check "REST job: no origin device, a reference" \
  same "$(body 'd["origin_device"], len(d["reference"]), d["state"]')" "None 16 held"
curl -sS -o "$work/body" -u "$ALICE" -F queue=roam -F "document=@$pdf;type=application/pdf" \
  "$NIMBUS_URL/api/v1/jobs" >/dev/null
JF=$(body 'd["id"]')
call "$ALICE" GET "/jobs/$JA"
check "job through front: origin_device, reference" \
  python3 -c "import json,re,sys; d=json.load(open('$work/body')); sys.exit(not (d['origin_device']=='front' and re.fullmatch(r'[0-9A-HJKMNP-TV-Z]{16}', d['reference']) and d['documents'][0]['purged'] is False))"

# ---- device authentication -----------------------------------------------------
panel "" "" GET /device/jobs
check "panel: no credential 401" is_problem 401
panel "nmd_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "" GET /device/jobs
check "panel: unknown credential 401" is_problem 401
call "$ALICE" GET /device/jobs
check "panel: a user's password is no device credential" is_problem 401

# ---- sign-in ---------------------------------------------------------------------
panel "$CRED1" "" POST /device/sessions '{"user":"alice","secret":"wrong-pw"}'
check "sign-in: wrong password 401" is_problem 401
wrong=$(body 'd["title"], d["detail"]')
panel "$CRED1" "" POST /device/sessions '{"user":"nobody","secret":"wrong-pw"}'
check "sign-in: unknown user 401, the same answer" same "$status $(body 'd["title"], d["detail"]')" "401 $wrong"
panel "$CRED1" "" POST /device/sessions '{"user":"alice"}'
check "sign-in: no secret 400" is_problem 400
panel "$CRED1" "" POST /device/sessions '{"user":"alice","secret":"alice-pw-1"}'
check "sign-in: 201" is 201
SA=$(body 'd["session"]')
secrets+=("$SA")
check "sign-in: answer" \
  python3 -c "import json,re,sys; d=json.load(open('$work/body')); sys.exit(not (re.fullmatch(r'nms_[A-Za-z0-9_-]{43}', d['session']) and d['user']=='alice' and d['login']=='password' and d['expires_at']))"
panel "$CRED1" "" POST /device/sessions '{"user":"bob","secret":"bob-pw-1"}'
SB=$(body 'd["session"]')
secrets+=("$SB")
check "sign-in: bob" is 201

# ---- the list: this-printer, then follow-me ---------------------------------------
panel "$CRED1" "" GET /device/jobs
check "list without a session 401" is_problem 401
panel "$CRED1" "nms_bogus" GET /device/jobs
check "list with an unknown session 401" is_problem 401
panel "$CRED2" "$SA" GET /device/jobs
check "another printer's session 401" is_problem 401
panel "$CRED1" "$SA" GET /device/jobs
check "list: alice's jobs through front and sent straight to office, and roam's (follow-me)" \
  same "$status $(body 'sorted(j["id"] for j in d["jobs"]), d["scope"]')" \
  "200 $(python3 -c "print(sorted([$JA, $JN, $JR, $JF]))") follow-me"
check "list: panel-job fields" \
  python3 -c "import json,sys; d=json.load(open('$work/body')); j=[x for x in d['jobs'] if x['id']==$JA][0]; sys.exit(not (sorted(j)==sorted(['id','name','queue','pages','copies','impressions','created_at','state','has_pin','locked_until','fee','origin','purpose']) and j['fee']=={'amount':0,'print_fee':0,'service_fee':0,'currency':'','payment_required':False} and j['purpose'] is None and j['origin']=={'kind':'local','printer':'this-printer'} and j['has_pin'] and j['state']=='held' and j['locked_until'] is None and j['pages']==1))"
check "list: roam's REST job is from elsewhere" \
  same "$(body '[j["origin"]["printer"] for j in d["jobs"] if j["id"] == '"$JF"']')" "['elsewhere']"
call "$ADMIN" PATCH /queues/office '{"release_scope":"follow-me"}'
check "office: follow-me" is 200
panel "$CRED1" "$SA" GET /device/jobs
check "list in follow-me: also the one through side" \
  same "$(body 'sorted(j["id"] for j in d["jobs"])')" \
  "$(python3 -c "print(sorted([$JA, $JN, $JF, $JR, $JS]))")"
call "$ADMIN" PATCH /queues/office '{"release_scope":"this-printer"}'
panel "$CRED1" "$SB" GET /device/jobs
check "bob's list: only his job" same "$(body '[j["id"] for j in d["jobs"]]')" "[$JB]"

# ---- another user's job, out of scope -----------------------------------------------
panel "$CRED1" "$SB" GET "/device/jobs/$JA"
check "bob: alice's job 404" is_problem 404
panel "$CRED1" "$SB" POST "/device/jobs/$JA/release" '{"pin":"1234"}'
check "bob: release alice's job 404" is_problem 404
panel "$CRED1" "$SB" POST "/device/jobs/$JA/cancel"
check "bob: cancel alice's job 404" is_problem 404
panel "$CRED1" "$SB" POST "/device/jobs/$JA/pin" '{"pin":"1234"}'
check "bob: check alice's job's PIN 404" is_problem 404
panel "$CRED1" "$SA" GET "/device/jobs/$JR"
check "alice: her job sent straight to office is in scope here (one list whatever the way in)" \
  same "$status $(body 'd["id"], d["origin"]["printer"]')" "200 $JR elsewhere"
panel "$CRED1" "$SA" POST "/device/jobs/$JS/release" '{"pin":"1234"}'
check "alice: a job through side, released at front 404" is_problem 404
panel "$CRED1" "$SA" GET "/device/jobs/999999"
check "alice: no such job 404" is_problem 404
panel "$CRED1" "$SA" GET "/device/jobs/$JA"
check "alice: her job 200" same "$status $(body 'd["id"], d["state"]')" "200 $JA held"

# ---- wrong PINs, the lock --------------------------------------------------------------
panel "$CRED1" "$SA" POST "/device/jobs/$JA/release"
check "release without the PIN 403" is_problem 403
panel "$CRED1" "$SA" POST "/device/jobs/$JA/pin"
check "PIN check without a PIN 400" is_problem 400
panel "$CRED1" "$SA" POST "/device/jobs/$JA/pin" '{"pin":"1234"}'
check "PIN check, the right PIN: 200, nothing released" \
  same "$status $(body 'd["id"], d["state"]')" "200 $JA held"
# wrong PINs by release and by the PIN check (the panel's PIN screen)
# count toward the same lock
for left in 4 3 2 1; do
  route=release
  [ $((left % 2)) = 1 ] && route=pin
  panel "$CRED1" "$SA" POST "/device/jobs/$JA/$route" '{"pin":"0000"}'
  check "wrong PIN ($route): 403, $left attempts left" \
    same "$status $(body 'd["attempts_left"]')" "403 $left"
done
panel "$CRED1" "$SA" POST "/device/jobs/$JA/pin" '{"pin":"0000"}'
check "5th wrong PIN (PIN check): 423 locked" \
  same "$status $(body 'd["title"], d["locked_until"] is not None')" "423 Locked True"
panel "$CRED1" "$SA" POST "/device/jobs/$JA/release" '{"pin":"1234"}'
check "locked: even the right PIN 423" is_problem 423
panel "$CRED1" "$SA" POST "/device/jobs/$JA/pin" '{"pin":"1234"}'
check "locked: the PIN check with the right PIN 423" is_problem 423
call "$ALICE" POST "/jobs/$JA/release" '{"pin":"1234"}'
check "locked: the REST release too (429)" is_problem 429
panel "$CRED1" "$SA" GET "/device/jobs/$JA"
check "locked: locked_until shown, still held" \
  same "$(body 'd["locked_until"] is not None, d["state"]')" "True held"

# ---- release to this printer only ------------------------------------------------------
panel "$CRED1" "$SA" POST "/device/jobs/$JN/release"
check "release (no PIN): 200 fetchable" same "$status $(body 'd["state"]')" "200 fetchable"
panel "$CRED1" "$SA" POST "/device/jobs/$JN/release"
check "release twice: 409" is_problem 409
check "front sees it fetchable" has_word "$(ipp_fetchable "$CRED1" "$UUID1" office)" "$JN"
side_fetchable=$(ipp_fetchable "$CRED2" "$UUID2" office)
check "side's Get-Jobs answered" same "${side_fetchable#0x}" "$side_fetchable"
check "side does not see it" fails has_word "$side_fetchable" "$JN"
panel "$CRED1" "$SA" POST "/device/jobs/$JF/release"
check "release a follow-me job submitted elsewhere" same "$status $(body 'd["state"]')" "200 fetchable"
call "$ALICE" GET "/jobs/$JF"
check "... now for front only (REST record)" same "$(body 'd["state"]')" fetchable

# follow-me across the tenant: a job in a follow-me queue front does not
# serve is listed at front, and releasing it there moves it to front's queue.
call "$ADMIN" POST /queues '{"name":"far","release_scope":"follow-me"}'
curl -sS -o "$work/body" -u "$ALICE" -F queue=far -F "document=@$pdf;type=application/pdf" \
  "$NIMBUS_URL/api/v1/jobs" >/dev/null
JFAR=$(body 'd["id"]')
panel "$CRED1" "$SA" GET /device/jobs
check "a follow-me job from a queue front does not serve is listed" \
  same "$(body '[j["id"] for j in d["jobs"] if j["id"] == '"$JFAR"']')" "[$JFAR]"
panel "$CRED1" "$SA" POST "/device/jobs/$JFAR/release"
check "released at front" same "$status $(body 'd["state"]')" "200 fetchable"
call "$ALICE" GET "/jobs/$JFAR"
check "...it moved to front's queue" same "$(body 'd["queue"]')" office
check "...and front can fetch it" has_word "$(ipp_fetchable "$CRED1" "$UUID1" office)" "$JFAR"

# ---- cancel ---------------------------------------------------------------------------
panel "$CRED1" "$SB" POST "/device/jobs/$JB/cancel"
check "bob cancels his job at the panel" same "$status $(body 'd["state"]')" "200 canceled"
panel "$CRED1" "$SB" POST "/device/jobs/$JB/cancel"
check "cancel twice: 404 (no longer in scope)" is_problem 404
call "$ADMIN" GET "/jobs/$JB"
check "canceled job: its documents are purged" same "$(body 'd["documents"][0]["purged"]')" True

# ---- sign-in throttle, PIN login ---------------------------------------------------------
for i in 1 2 3 4 5; do
  panel "$CRED2" "" POST /device/sessions '{"user":"bob","secret":"nope"}'
done
panel "$CRED2" "" POST /device/sessions '{"user":"bob","secret":"bob-pw-1"}'
check "5 failures for bob at side: 429 even with the right password" is_problem 429
panel "$CRED1" "" POST /device/sessions '{"user":"bob","secret":"bob-pw-1"}'
check "... per printer: front still signs bob in" is 201
secrets+=("$(body 'd["session"]')")
call "$OP" PATCH /tenants/acme '{"panel_login":"pin"}'
check "acme: PIN login" is 200
panel "$CRED1" "" POST /device/sessions '{"user":"alice","secret":"alice-pw-1"}'
check "PIN login: the password no longer works" is_problem 401
panel "$CRED1" "" POST /device/sessions '{"user":"alice","secret":"2468"}'
check "PIN login: the panel PIN works" same "$status $(body 'd["login"]')" "201 pin"
secrets+=("$(body 'd["session"]')")
panel "$CRED1" "" POST /device/sessions '{"user":"boss","secret":"2468"}'
check "PIN login: a user without a PIN 401" is_problem 401

# ---- sign-out, deregistration ----------------------------------------------------------
panel "$CRED1" "$SA" DELETE /device/sessions/current
check "sign-out 204" is 204
panel "$CRED1" "$SA" GET /device/jobs
check "after sign-out the session is gone (401)" is_problem 401
call "$ADMIN" DELETE /printers/front
check "delete front" is 204
panel "$CRED1" "$SB" GET /device/jobs
check "deleted registration: 410 output device registration deleted" \
  same "$status $(body 'd["title"]')" "410 output device registration deleted"
panel "$CRED1" "" POST /device/sessions '{"user":"bob","secret":"bob-pw-1"}'
check "deleted registration: sign-in 410" is_problem 410

# ---- audit, no secret anywhere -------------------------------------------------------------
audit=$(nimbus_sql "SELECT action || ' ' || actor || ' ' || detail FROM audit")
check "audit: panel.login" grep -q '^panel.login alice@acme' <<<"$audit"
check "audit: panel.login-failed" grep -q '^panel.login-failed ' <<<"$audit"
check "audit: job.pin-wrong and job.pin-locked" \
  sh -c "printf '%s\n' \"\$1\" | grep -q '^job.pin-wrong' && printf '%s\n' \"\$1\" | grep -q '^job.pin-locked'" _ "$audit"
printf '%s\n' "$audit" >"$work/audit"
leaks=0
for s in "${secrets[@]}" 0000 1234 wrong-pw; do
  [ -n "$s" ] || continue
  for f in "$NIMBUS_STATE.log" "$NIMBUS_STATE.out" "$work/audit"; do
    # long secrets anywhere; short PINs as a quoted or assigned value
    if { [ ${#s} -ge 8 ] && grep -qF -- "$s" "$f"; } || grep -qF -- "\"$s\"" "$f" ||
      grep -qiE -- "(pin|secret|password)[=:] ?$s\b" "$f"; then
      echo "secret ${s:0:6}... found in $f" >&2
      leaks=1
    fi
  done
done
check "no password, PIN, token or credential in the log or audit" [ "$leaks" = 0 ]

check "nimbusd stops cleanly" nimbusd_stop
finish test-panel-api
