#!/usr/bin/env bash
# Contracts, dealer grants and packages over REST (docs/PROVISIONING.md
# §1–§3, PROTOCOL.md §4.15) on a real nimbusd:
#  - the operator creates a contract for acme (revision 1, status from the
#    term); the same name again is 409; validation errors name the member
#    (name, start/end, items, unknown printer, unknown package);
#  - the operator grants dealerco as acme's dealer; dealerco's admin
#    uploads packages (the SHA-256 answered is sha256sum's; over
#    --max-package-size 413), creates a contract naming one (a wrong
#    checksum is 400 items[i].sha256), updates it: an equal body keeps the
#    revision, a changed item bumps it, renew always bumps it;
#  - acme's admin reads acme's contracts and may not write them (403),
#    a plain user and another tenant's admin get 404;
#  - a package named by a live contract cannot be deleted (409); after
#    the contract is canceled it can (204);
#  - every write is in the audit log (contract.create/update/renew/
#    cancel, package.upload, dealer.grant).
set -euo pipefail
source "$(dirname "$0")/test-connector-common.sh"

T=$(mktemp -d)
_lib_tmpdirs+=("$T")

nimbusd_start --max-package-size 65536
JSON=(-H 'Content-Type: application/json')
# as USER:PASS METHOD PATH [curl args]: status in $status, body in $T/b
as() {
  local who=$1 method=$2 path=$3
  shift 3
  rm -f "$T/b"
  status=$(curl -sS -u "$who" -X "$method" -o "$T/b" -w '%{http_code}' "$NIMBUS_URL$path" "$@")
}
OP="admin@system:$NIMBUS_ADMIN_PASSWORD"
DEALER=dana@dealerco:dana-pw-1
BOSS=boss@acme:boss-pw-1
body() { json_get "$1" <"$T/b"; }
expect() { # expect STATUS: the last call answered STATUS
  [ "$status" = "$1" ] || {
    echo "expected $1, got $status: $(cat "$T/b")" >&2
    return 1
  }
}

setup() {
  conn_setup_tenant
  local b
  for b in '/api/v1/tenants {"name":"dealerco"}' '/api/v1/tenants {"name":"beta"}' \
    '/api/v1/users?tenant=dealerco {"name":"dana","password":"dana-pw-1","role":"tenant-admin"}' \
    '/api/v1/users?tenant=beta {"name":"bert","password":"bert-pw-1","role":"tenant-admin"}' \
    '/api/v1/printers?tenant=acme {"name":"lobby","queues":["office"]}' \
    '/api/v1/printers?tenant=acme {"name":"floor2","queues":["office"]}'; do
    as "$OP" POST "${b%% *}" "${JSON[@]}" -d "${b#* }"
    expect 201
  done
}
check "tenants acme (boss, alice, printers lobby and floor2), dealerco (dana), beta (bert)" setup

contract() { # contract NAME START END ITEMS [PRINTERS]
  printf '{"name":"%s","tenant":"acme","start_at":"%s","end_at":"%s","printers":%s,"service_settings":{"backup":{"period":"daily","time":"02:30","mode":"full","retention":7}},"items":%s}' \
    "$1" "$2" "$3" "${5:-\"all\"}" "$4"
}
SETTINGS='{"kind":"settings","name":"office","values":{"sides-default":"two-sided-long-edge","printer-sleep-timer":15,"connector.poll-interval":30}}'

op_create() {
  as "$OP" POST /api/v1/contracts "${JSON[@]}" \
    -d "$(contract acme-2027 2020-01-01T00:00:00Z 2099-12-31T23:59:59Z "[$SETTINGS,{\"kind\":\"backup\"}]" '["lobby","floor2"]')"
  expect 201
  [ "$(body "d['revision'], d['status'], d['owner'], d['tenant'], d['printers']")" = \
    "1 active system acme ['lobby', 'floor2']" ]
  OPID=$(body "d['id']")
  as "$OP" POST /api/v1/contracts "${JSON[@]}" -d "$(contract acme-2027 2020-01-01T00:00:00Z 2099-01-01T00:00:00Z '[]')"
  expect 409
  as "$OP" POST /api/v1/contracts "${JSON[@]}" -d "$(contract later 2098-01-01T00:00:00Z 2099-01-01T00:00:00Z '[]')"
  expect 201
  [ "$(body "d['status']")" = scheduled ]
}
check "the operator creates a contract: revision 1, active; a scheduled one; the same name 409" op_create

bad() { # bad MEMBER BODY: 400 naming MEMBER
  as "$OP" POST /api/v1/contracts "${JSON[@]}" -d "$2"
  expect 400
  [ "$(body "d['member']")" = "$1" ] || {
    echo "member $(body "d.get('member')") for $2" >&2
    return 1
  }
}
validation() {
  bad name "$(contract 'Bad Name' 2020-01-01T00:00:00Z 2099-01-01T00:00:00Z '[]')"
  bad end_at "$(contract x1 2099-01-01T00:00:00Z 2020-01-01T00:00:00Z '[]')"
  bad start_at "$(contract x1 2020-13-01T00:00:00Z 2099-01-01T00:00:00Z '[]')"
  bad 'items[1]' "$(contract x1 2020-01-01T00:00:00Z 2099-01-01T00:00:00Z "[$SETTINGS,$SETTINGS]")"
  bad 'items[0].kind' "$(contract x1 2020-01-01T00:00:00Z 2099-01-01T00:00:00Z '[{"kind":"driver"}]')"
  bad 'items[0].values.colour' "$(contract x1 2020-01-01T00:00:00Z 2099-01-01T00:00:00Z '[{"kind":"settings","name":"s","values":{"colour":1}}]')"
  bad 'printers[0]' "$(contract x1 2020-01-01T00:00:00Z 2099-01-01T00:00:00Z '[]' '["nowhere"]')"
  bad 'items[0].package' "$(contract x1 2020-01-01T00:00:00Z 2099-01-01T00:00:00Z "[{\"kind\":\"firmware\",\"name\":\"engine\",\"version\":\"1\",\"package\":999,\"sha256\":\"$(printf 'a%.0s' {1..64})\"}]")"
  bad tenant '{"name":"x1","tenant":"nosuch","start_at":"2020-01-01T00:00:00Z","end_at":"2099-01-01T00:00:00Z"}'
}
check "validation errors are 400 with the member named" validation

grant() {
  as "$DEALER" POST /api/v1/contracts "${JSON[@]}" -d "$(contract d1 2020-01-01T00:00:00Z 2099-01-01T00:00:00Z '[]')"
  expect 400 # not acme's dealer yet: no tenant it may write for
  as "$DEALER" GET /api/v1/packages
  expect 404 # a dealer of nobody
  as "$OP" PUT /api/v1/tenants/acme/dealer "${JSON[@]}" -d '{"dealer":"dealerco"}'
  expect 200
  [ "$(body "d['dealer']")" = dealerco ]
  as "$BOSS" PUT /api/v1/tenants/acme/dealer "${JSON[@]}" -d '{"dealer":"beta"}'
  expect 403
  as "$OP" GET /api/v1/tenants/acme/dealer
  expect 200
  [ "$(body "d['dealer']")" = dealerco ]
}
check "the operator grants dealerco as acme's dealer (only operators may)" grant

head -c 20000 /dev/urandom >"$T/fw.bin"
head -c 70000 /dev/urandom >"$T/big.bin"
packages() {
  as "$DEALER" POST '/api/v1/packages?kind=firmware&name=engine&version=4.2.0' \
    -H 'Content-Type: application/octet-stream' --data-binary @"$T/fw.bin"
  expect 201
  FW=$(body "d['id']")
  FWSHA=$(sha256sum "$T/fw.bin" | cut -d' ' -f1)
  [ "$(body "d['sha256'], d['size'], d['kind']")" = "$FWSHA 20000 firmware" ]
  as "$DEALER" POST '/api/v1/packages?kind=application&name=big&version=1' \
    -H 'Content-Type: application/octet-stream' --data-binary @"$T/big.bin"
  expect 413
  as "$DEALER" POST '/api/v1/packages?kind=driver&name=x&version=1' \
    -H 'Content-Type: application/octet-stream' --data-binary @"$T/fw.bin"
  expect 400
  as "$BOSS" POST '/api/v1/packages?kind=firmware&name=x&version=1' \
    -H 'Content-Type: application/octet-stream' --data-binary @"$T/fw.bin"
  expect 404
  as "$DEALER" GET /api/v1/packages
  expect 200
  [ "$(body "[p['id'] for p in d['packages']]")" = "[$FW]" ]
  as "$OP" GET "/api/v1/packages/$FW"
  expect 404 # the operator's own packages are system's
}
check "dealer uploads a package: sha256 as sha256sum, over the limit 413, customers 404" packages

fwitem() { printf '{"kind":"firmware","name":"engine","version":"%s","package":%s,"sha256":"%s"}' "$1" "$FW" "$2"; }
dealer_writes() {
  local wrong
  wrong=$(printf '0%.0s' {1..64})
  as "$DEALER" POST /api/v1/contracts "${JSON[@]}" -d "$(contract d1 2020-01-01T00:00:00Z 2099-01-01T00:00:00Z "[$(fwitem 4.2.0 "$wrong")]")"
  expect 400
  [ "$(body "d['member']")" = 'items[0].sha256' ]
  as "$DEALER" POST /api/v1/contracts "${JSON[@]}" -d "$(contract d1 2020-01-01T00:00:00Z 2099-01-01T00:00:00Z "[$SETTINGS,$(fwitem 4.2.0 "$FWSHA")]")"
  expect 201
  DID=$(body "d['id']")
  [ "$(body "d['owner'], d['revision']")" = "dealerco 1" ]
  # the same body again: nothing changed, the revision stays
  as "$DEALER" PUT "/api/v1/contracts/$DID" "${JSON[@]}" -d "$(contract d1 2020-01-01T00:00:00Z 2099-01-01T00:00:00Z "[$SETTINGS,$(fwitem 4.2.0 "$FWSHA")]")"
  expect 200
  [ "$(body "d['revision']")" = 1 ]
  # a changed item: revision 2
  as "$DEALER" PUT "/api/v1/contracts/$DID" "${JSON[@]}" -d "$(contract d1 2020-01-01T00:00:00Z 2099-01-01T00:00:00Z "[$SETTINGS,$(fwitem 4.3.0 "$FWSHA")]")"
  expect 200
  [ "$(body "d['revision'], d['items'][1]['version']")" = "2 4.3.0" ]
  # renew: always a new revision, the items kept
  as "$DEALER" POST "/api/v1/contracts/$DID/renew" "${JSON[@]}" -d '{"end_at":"2100-12-31T00:00:00Z"}'
  expect 200
  [ "$(body "d['revision'], d['end_at'], len(d['items'])")" = "3 2100-12-31T00:00:00Z 2" ]
  # the dealer also writes the operator's contract of acme
  as "$DEALER" GET "/api/v1/contracts/$OPID"
  expect 200
}
check "dealer: contract naming its package (wrong checksum 400), equal update keeps the revision, changed item and renew bump it" dealer_writes

readers() {
  as "$BOSS" GET /api/v1/contracts
  expect 200
  [ "$(body "sorted(c['name'] for c in d['contracts'])")" = "['acme-2027', 'd1', 'later']" ]
  as "$BOSS" GET "/api/v1/contracts/$DID"
  expect 200
  as "$BOSS" PUT "/api/v1/contracts/$DID" "${JSON[@]}" -d "$(contract d1 2020-01-01T00:00:00Z 2099-01-01T00:00:00Z '[]')"
  expect 403
  as "$BOSS" DELETE "/api/v1/contracts/$DID"
  expect 403
  as alice@acme:alice-pw-1 GET "/api/v1/contracts/$DID"
  expect 404
  as bert@beta:bert-pw-1 GET "/api/v1/contracts/$DID"
  expect 404
  as bert@beta:bert-pw-1 GET /api/v1/contracts
  expect 200
  [ "$(body "d['contracts']")" = "[]" ]
  as "$DEALER" GET /api/v1/contracts
  expect 200
  [ "$(body "len(d['contracts'])")" = 3 ]
}
check "the customer's admin reads (403 on writes); a plain user and another tenant 404" readers

package_delete() {
  as "$DEALER" DELETE "/api/v1/packages/$FW"
  expect 409
  as "$DEALER" DELETE "/api/v1/contracts/$DID"
  expect 200
  [ "$(body "d['status']")" = canceled ]
  as "$DEALER" DELETE "/api/v1/contracts/$DID"
  expect 409
  as "$DEALER" PUT "/api/v1/contracts/$DID" "${JSON[@]}" -d "$(contract d1 2020-01-01T00:00:00Z 2099-01-01T00:00:00Z '[]')"
  expect 409
  as "$DEALER" DELETE "/api/v1/packages/$FW"
  expect 204
  as "$DEALER" GET "/api/v1/packages/$FW"
  expect 404
  as "$BOSS" GET /api/v1/contracts
  [ "$(body "sorted(c['name'] for c in d['contracts'])")" = "['acme-2027', 'later']" ]
  as "$BOSS" GET '/api/v1/contracts?canceled=true'
  [ "$(body "len(d['contracts'])")" = 3 ]
}
check "a named package is 409; canceled, the contract frees it (204)" package_delete

audited() {
  local a
  for a in contract.create contract.update contract.renew contract.cancel package.upload \
    dealer.grant; do
    [ "$(nimbus_sql "SELECT count(*) FROM audit WHERE action = '$a'")" -ge 1 ] || {
      echo "no $a in the audit log" >&2
      return 1
    }
  done
}
check "contract.create/update/renew/cancel, package.upload, dealer.grant audited" audited

revoke() {
  as "$OP" DELETE /api/v1/tenants/acme/dealer
  expect 204
  as "$DEALER" GET "/api/v1/contracts/$OPID"
  expect 404
}
check "revoked, the dealer sees acme's contracts no more" revoke

check "nimbusd stops cleanly" nimbusd_stop
finish contracts
