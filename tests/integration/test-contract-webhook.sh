#!/usr/bin/env bash
# The incoming contract webhook (docs/PROVISIONING.md §4, PROTOCOL.md
# §4.15) on a real nimbusd with --contract-webhook-secret-file:
#  - a senders file readable by others stops nimbusd at start;
#  - a good signature creates the contract (duplicate:false, revision 1,
#    owner the sender's tenant); a bad signature, an unknown sender and a
#    timestamp outside --contract-webhook-window are 401 with their problem
#    types and change nothing; a body over 1 MiB is 413;
#  - the same event id again answers duplicate:true and changes nothing,
#    even with another body;
#  - an upsert by the same external id updates it: an equal contract keeps
#    the revision, a changed item bumps it; bad JSON or model is 400 with
#    the member;
#  - contract.cancel cancels it; a dealer sender may write only for the
#    tenants it deals for;
#  - the secret is nowhere in the log.
# Signatures are made here with python3's hmac (the sender's side).
set -euo pipefail
source "$(dirname "$0")/test-connector-common.sh"

T=$(mktemp -d)
_lib_tmpdirs+=("$T")
SECRET=crm-secret-0123456789abcdefghijklmnopq
DSECRET=dealer-secret-0123456789abcdefghijklmno
printf 'crm:system:%s\n# a dealer'"'"'s system\ndcrm:dealerco:%s\n' "$SECRET" "$DSECRET" >"$T/senders"

refused_start() {
  chmod 644 "$T/senders"
  local rc=0
  "$NIMBUSD" --listen 127.0.0.1 --port 0 --state-dir "$T/s0" --fast-hashing \
    --contract-webhook-secret-file "$T/senders" >"$T/s0.out" 2>"$T/s0.err" || rc=$?
  [ "$rc" != 0 ]
  grep -q 'must not be readable by group or others' "$T/s0.err"
  ! grep -q "$SECRET" "$T/s0.err"
  chmod 600 "$T/senders"
}
check "a senders file others can read stops nimbusd at start" refused_start

nimbusd_start --contract-webhook-secret-file "$T/senders" --contract-webhook-window 60
JSON=(-H 'Content-Type: application/json')
setup() {
  conn_setup_tenant
  local b
  for b in '/api/v1/tenants {"name":"dealerco"}' '/api/v1/tenants {"name":"beta"}'; do
    [ "$(api POST "${b%% *}" "${JSON[@]}" -d "${b#* }" -o /dev/null -w '%{http_code}')" = 201 ]
  done
  [ "$(api PUT /api/v1/tenants/beta/dealer "${JSON[@]}" -d '{"dealer":"dealerco"}' \
    -o /dev/null -w '%{http_code}')" = 200 ]
}
check "tenants acme, dealerco (dealer of beta), beta" setup

sign() { # sign SECRET TIMESTAMP FILE: the X-Nimbus-Signature value
  python3 -c 'import hmac,hashlib,sys
body=open(sys.argv[3],"rb").read()
print("sha256="+hmac.new(sys.argv[1].encode(),sys.argv[2].encode()+b"."+body,hashlib.sha256).hexdigest())' "$@"
}
# send SENDER SECRET BODY [TIMESTAMP]: POST the event; status in $status, answer in $T/b
send() {
  local sender=$1 secret=$2 ts=${4:-$(date +%s)}
  printf '%s' "$3" >"$T/event"
  rm -f "$T/b"
  status=$(curl -sS -X POST -o "$T/b" -w '%{http_code}' "${JSON[@]}" \
    -H "X-Nimbus-Sender: $sender" -H "X-Nimbus-Timestamp: $ts" \
    -H "X-Nimbus-Signature: $(sign "$secret" "$ts" "$T/event")" \
    --data-binary @"$T/event" "$NIMBUS_URL/api/v1/contract-events")
}
body() { json_get "$1" <"$T/b"; }
expect() {
  [ "$status" = "$1" ] || {
    echo "expected $1, got $status: $(cat "$T/b")" >&2
    return 1
  }
}
event() { # event ID TYPE EXTERNAL_ID NAME ITEMS [TENANT]
  printf '{"event_id":"%s","type":"%s","contract":{"name":"%s","tenant":"%s","external_id":"%s","start_at":"2020-01-01T00:00:00Z","end_at":"2099-01-01T00:00:00Z","items":%s}}' \
    "$1" "$2" "$4" "${6:-acme}" "$3" "$5"
}
count() { nimbus_sql "SELECT count(*) FROM contracts"; }

accepted() {
  send crm "$SECRET" "$(event evt-1 contract.upsert CRM-1 crm-one '[{"kind":"backup"}]')"
  expect 200
  [ "$(body "d['duplicate'], d['contract']['revision'], d['contract']['owner'], d['contract']['external_id'], d['contract']['status']")" = \
    "False 1 system CRM-1 active" ]
  CID=$(body "d['contract']['id']")
  [ "$(count)" = 1 ]
}
check "a good signature: the contract is created (duplicate false, revision 1)" accepted

refused() {
  local ev
  ev=$(event evt-2 contract.upsert CRM-2 crm-two '[]')
  send crm wrong-secret-0123456789abcdefghijklmn "$ev"
  expect 401
  [ "$(body "d['type']")" = urn:nimbus:problem:bad-signature ]
  send nobody "$SECRET" "$ev"
  expect 401
  [ "$(body "d['type']")" = urn:nimbus:problem:bad-signature ]
  send crm "$SECRET" "$ev" $(($(date +%s) - 600))
  expect 401
  [ "$(body "d['type']")" = urn:nimbus:problem:stale-timestamp ]
  send crm "$SECRET" "$ev" $(($(date +%s) + 600))
  expect 401
  [ "$(body "d['type']")" = urn:nimbus:problem:stale-timestamp ]
  # the signature made for another timestamp than the one sent
  printf '%s' "$ev" >"$T/event"
  status=$(curl -sS -X POST -o "$T/b" -w '%{http_code}' "${JSON[@]}" -H 'X-Nimbus-Sender: crm' \
    -H "X-Nimbus-Timestamp: $(date +%s)" \
    -H "X-Nimbus-Signature: $(sign "$SECRET" 1000 "$T/event")" \
    --data-binary @"$T/event" "$NIMBUS_URL/api/v1/contract-events")
  expect 401
  python3 -c 'print("{\"event_id\":\"big\",\"pad\":\"" + "x" * (1024 * 1024) + "\"}")' >"$T/big"
  send crm "$SECRET" "$(cat "$T/big")"
  expect 413
  [ "$(count)" = 1 ]
  [ "$(nimbus_sql "SELECT count(*) FROM contract_webhook_events")" = 1 ]
}
check "bad signature, unknown sender, stale or future timestamp 401; over 1 MiB 413; nothing changed" refused

replayed() {
  send crm "$SECRET" "$(event evt-1 contract.upsert CRM-1 crm-one '[{"kind":"backup"}]')"
  expect 200
  [ "$(body "d['duplicate'], d['contract']['id'], d['contract']['revision']")" = "True $CID 1" ]
  # the same id with another body: still the first event, nothing changes
  send crm "$SECRET" "$(event evt-1 contract.upsert CRM-1 crm-one '[{"kind":"backup"},{"kind":"consumables"}]')"
  expect 200
  [ "$(body "d['duplicate'], d['contract']['revision'], len(d['contract']['items'])")" = "True 1 1" ]
  [ "$(count)" = 1 ]
  [ "$(nimbus_sql "SELECT revision FROM contracts WHERE id = $CID")" = 1 ]
}
check "the same event id again: duplicate true, nothing changed" replayed

upserts() {
  send crm "$SECRET" "$(event evt-3 contract.upsert CRM-1 crm-one '[{"kind":"backup"}]')"
  expect 200
  [ "$(body "d['duplicate'], d['contract']['id'], d['contract']['revision']")" = "False $CID 1" ]
  send crm "$SECRET" "$(event evt-4 contract.upsert CRM-1 crm-one '[{"kind":"backup"},{"kind":"parts_life"}]')"
  expect 200
  [ "$(body "d['contract']['id'], d['contract']['revision'], len(d['contract']['items'])")" = "$CID 2 2" ]
  [ "$(count)" = 1 ]
  send crm "$SECRET" '{"event_id":"evt-5","type":"contract.upsert","contract":{"name":"BAD"}}'
  expect 400
  [ "$(body "d['member']")" = contract.name ]
  send crm "$SECRET" 'not json'
  expect 400
  send crm "$SECRET" "$(event evt-6 contract.upsert '' crm-six '[]')"
  expect 400
  [ "$(body "d['member']")" = contract.external_id ]
}
check "upsert by external id: equal keeps the revision, a changed item bumps it; bad model 400" upserts

dealer_sender() {
  send dcrm "$DSECRET" "$(event evt-1 contract.upsert D-1 dealt '[]' acme)"
  expect 400 # dealerco does not deal for acme
  [ "$(body "d['member']")" = contract.tenant ]
  send dcrm "$DSECRET" "$(event evt-1 contract.upsert D-1 dealt '[]' beta)"
  expect 200 # the same event id as crm's evt-1: another sender, another event
  [ "$(body "d['duplicate'], d['contract']['owner'], d['contract']['tenant']")" = "False dealerco beta" ]
}
check "a dealer's sender writes only for its customers; event ids are per sender" dealer_sender

cancel() {
  send crm "$SECRET" '{"event_id":"evt-7","type":"contract.cancel","contract":{"external_id":"CRM-1"}}'
  expect 200
  [ "$(body "d['duplicate'], d['contract']['status']")" = "False canceled" ]
  send crm "$SECRET" '{"event_id":"evt-7","type":"contract.cancel","contract":{"external_id":"CRM-1"}}'
  expect 200
  [ "$(body "d['duplicate']")" = True ]
  send crm "$SECRET" '{"event_id":"evt-8","type":"contract.cancel","contract":{"external_id":"CRM-404"}}'
  expect 404
  [ "$(nimbus_sql "SELECT count(*) FROM audit WHERE action = 'contract.cancel'")" = 1 ]
}
check "contract.cancel cancels it once; a repeat is a duplicate; unknown external id 404" cancel

no_secret() {
  ! grep -q "$SECRET" "$NIMBUS_STATE.log"
  ! grep -q "$DSECRET" "$NIMBUS_STATE.log"
  grep -q 'contract event refused' "$NIMBUS_STATE.log"
}
check "the secrets are nowhere in the log (the refusals are)" no_secret

check "nimbusd stops cleanly" nimbusd_stop
finish contract-webhook
