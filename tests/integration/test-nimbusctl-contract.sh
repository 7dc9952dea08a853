#!/usr/bin/env bash
#
# test-nimbusctl-contract.sh: nimbusctl's contract, package and dealer
# commands (docs/PROVISIONING.md §13) against a real nimbusd:
#  - package upload streams a 3 MiB file; the SHA-256 it prints equals
#    sha256sum's, list shows it, a bad --kind is a usage error (exit 2);
#  - contract create --file (a settings item, the firmware package, the
#    backup service), list, show with its run and the printer's steps
#    (state, attempts) in a table and in --json, renew (revision 2),
#    delete (canceled, still listed);
#  - tenant set --dealer: the dealer's admin lists and creates the
#    customer's contracts; --no-dealer takes it back (refused again);
#  - the customer's admin reads but cannot create; errors come in words
#    (bad JSON with its line, an item's checksum, an unknown contract).
# Skips (77) while nimbusd has no /api/v1/contracts (the routes of issue
# 16 not merged yet).
#

set -u
source "$(dirname "$0")/test-connector-common.sh"

work=$(mktemp -d)
_lib_tmpdirs+=("$work")

nimbusd_start ||
  { echo "test-nimbusctl-contract: could not start nimbusd" >&2; exit 1; }

code=$(api GET /api/v1/contracts -o /dev/null -w '%{http_code}')
if [ "$code" = 404 ]; then
  echo "test-nimbusctl-contract: nimbusd has no /api/v1/contracts yet: skipped"
  exit 77
fi

export NIMBUS_URL
unset NIMBUS_TOKEN NIMBUS_USER NIMBUS_PASSWORD
op() { "$NIMBUSCTL" --user admin@system --password "$NIMBUS_ADMIN_PASSWORD" "$@"; }
as() { local who=$1 pw=$2; shift 2; "$NIMBUSCTL" --user "$who" --password "$pw" "$@"; }
field() { sed -n "s/^$1: *//p" | head -1; }

# a tenant acme with its admin boss and a printer lobby registered by a
# connector (which is not started: its steps stay waiting)
setup() {
  conn_setup_tenant
  local claim
  claim=$(conn_claim lobby)
  conn_register lobby "$claim"
  op tenant create dealerco >/dev/null
  op --tenant dealerco user create dana --password dana-pw-1 --role tenant-admin >/dev/null
}
check "tenants acme and dealerco, printer lobby registered" setup

# ---- packages ----

head -c 3145728 /dev/urandom >"$work/engine.bin"
upload() {
  op package upload --kind firmware --name engine --version 4.2.0 "$work/engine.bin" >"$work/pkg.out"
  pkg_id=$(field Id <"$work/pkg.out")
  pkg_sha=$(field SHA-256 <"$work/pkg.out")
  [ -n "$pkg_id" ] && [ "$pkg_sha" = "$(sha256sum "$work/engine.bin" | cut -d' ' -f1)" ] &&
    [ "$(field 'Size (bytes)' <"$work/pkg.out")" = 3145728 ]
}
check "package upload prints the id and the SHA-256 sha256sum computes" upload
listed() { op package list | grep -E "^$pkg_id +firmware +engine +4\.2\.0 " | grep -q "$pkg_sha"; }
check "package list shows it" listed
bad_kind() {
  local rc=0
  op package upload --kind driver --name x --version 1 "$work/engine.bin" 2>"$work/err" || rc=$?
  [ "$rc" = 2 ] && grep -q "firmware" "$work/err"
}
check "package upload --kind driver is a usage error naming the choices" bad_kind

# ---- contracts ----

start=$(date -u -d '-1 minute' +%Y-%m-%dT%H:%M:%SZ)
end=$(date -u -d '+1 year' +%Y-%m-%dT%H:%M:%SZ)
contract_file() { # $1 name, $2 sha256 of the firmware item
  cat <<EOF
{"name":"$1","tenant":"acme","start_at":"$start","end_at":"$end","printers":"all",
 "service_settings":{"backup":{"period":"daily","time":"02:30","mode":"full","retention":3}},
 "items":[{"kind":"settings","name":"office","values":{"sides-default":"two-sided-long-edge"}},
          {"kind":"firmware","name":"engine","version":"4.2.0","package":$pkg_id,"sha256":"$2"},
          {"kind":"backup"}]}
EOF
}

create() {
  contract_file acme-2027 "$pkg_sha" >"$work/c.json"
  op contract create --file "$work/c.json" >"$work/create.out"
  [ "$(field Name <"$work/create.out")" = acme-2027 ] &&
    [ "$(field Revision <"$work/create.out")" = 1 ] &&
    grep -q "^Items:" "$work/create.out" && grep -Eq "firmware +engine +4\.2\.0" "$work/create.out"
}
check "contract create --file prints the contract with its items" create
listc() { op contract list --tenant acme | grep -Eq "acme-2027 +acme +(active|scheduled) +1 "; }
check "contract list --tenant acme shows it, revision 1" listc

has_run() { op contract show acme-2027 --tenant acme >"$work/show.out" && grep -q "^Run " "$work/show.out"; }
check "the sweep starts a run, which contract show lists" wait_until "a run" has_run
steps() {
  grep -q "^Customer tenant: *acme" "$work/show.out" &&
    grep -Eq "^ +PRINTER +SEQ +STEP +ITEM +STATE +ATTEMPTS" "$work/show.out" &&
    grep -Eq "^ +lobby +1 +settings +office +(planned|sent) +[0-9]+" "$work/show.out" &&
    grep -Eq "^ +lobby +2 +firmware +engine +(planned|blocked) " "$work/show.out"
}
check "contract show: lobby's steps in order with state and attempts" steps
show_json() {
  op --json contract show acme-2027 --tenant acme >"$work/show.json"
  python3 - "$work/show.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["contract"]["name"] == "acme-2027", d
runs = d["runs"]
assert len(runs) == 1 and runs[0]["kind"] == "start", runs
text = json.dumps(runs[0])
assert '"attempts"' in text and "lobby" in text, text
EOF
}
check "contract show --json: the contract and its run document" show_json
by_id() {
  local id
  id=$(field Id <"$work/create.out")
  op contract show "$id" | grep -q "^Name: *acme-2027"
}
check "contract show takes the number too" by_id

renew() {
  op contract renew acme-2027 --tenant acme --end "$(date -u -d '+2 years' +%Y-%m-%dT%H:%M:%SZ)" \
    >"$work/renew.out"
  [ "$(field Revision <"$work/renew.out")" = 2 ]
}
check "contract renew --end makes revision 2" renew

# ---- errors in words ----
bad_json() {
  printf '{"name": "x",\n "items": [}\n' >"$work/bad.json"
  local rc=0
  op contract create --file "$work/bad.json" 2>"$work/err" || rc=$?
  [ "$rc" = 1 ] && grep -q "bad.json: line 2" "$work/err"
}
check "a contract file that is no JSON: the file and line" bad_json
bad_sha() {
  contract_file acme-bad "$(printf '0%.0s' $(seq 64))" >"$work/bad-sha.json"
  local rc=0
  op contract create --file "$work/bad-sha.json" 2>"$work/err" || rc=$?
  [ "$rc" = 1 ] && grep -q "items\[1\].sha256: does not match package $pkg_id's SHA-256 (HTTP 400)" "$work/err"
}
check "a firmware item with another checksum is refused, saying so" bad_sha
unknown() {
  local rc=0
  op contract show nosuch --tenant acme 2>"$work/err" || rc=$?
  [ "$rc" = 1 ] && grep -q "no contract named 'nosuch' of tenant acme" "$work/err"
}
check "an unknown contract name is said in words" unknown
in_use() {
  local rc=0
  op package delete "$pkg_id" 2>"$work/err" || rc=$?
  [ "$rc" = 1 ] && grep -q "HTTP 409" "$work/err"
}
check "a package an active contract names cannot be deleted (409)" in_use

# ---- who may ----
customer_reads() {
  as boss@acme boss-pw-1 contract list | grep -q acme-2027
  contract_file acme-own "$pkg_sha" >"$work/own.json"
  local rc=0
  as boss@acme boss-pw-1 contract create --file "$work/own.json" 2>"$work/err" || rc=$?
  [ "$rc" = 1 ]
}
check "the customer's admin reads the contract but cannot create one" customer_reads
# an admin's list holds its own tenant's contracts and its customers'
dealer_refused() {
  as dana@dealerco dana-pw-1 contract list --tenant acme >"$work/dl.out"
  grep -q acme-2027 "$work/dl.out" && return 1
  local rc=0
  as dana@dealerco dana-pw-1 contract show acme-2027 --tenant acme 2>"$work/err" || rc=$?
  [ "$rc" = 1 ] && grep -q "no contract named 'acme-2027' of tenant acme" "$work/err"
}
check "a dealer not granted sees nothing of acme" dealer_refused
grant() {
  op tenant set acme --dealer dealerco >"$work/tenant.out"
  grep -q "^Dealer: *dealerco" "$work/tenant.out"
  as dana@dealerco dana-pw-1 contract list --tenant acme | grep -q acme-2027
}
check "tenant set --dealer: the dealer's admin lists acme's contracts" grant
dealer_creates() {
  as dana@dealerco dana-pw-1 package upload --kind application --name scan --version 1.0 \
    "$work/engine.bin" >"$work/dpkg.out"
  cat >"$work/dealer.json" <<EOF
{"name":"acme-dealer","start_at":"$start","end_at":"$end","printers":["lobby"],"items":[{"kind":"backup"}]}
EOF
  as dana@dealerco dana-pw-1 contract create --tenant acme --file "$work/dealer.json" >"$work/dc.out"
  [ "$(field Name <"$work/dc.out")" = acme-dealer ]
}
check "the dealer's admin uploads a package and creates a contract for acme" dealer_creates
revoke() {
  op tenant set acme --no-dealer >"$work/tenant.out"
  grep -q "^Dealer: *-" "$work/tenant.out"
  as dana@dealerco dana-pw-1 contract list >"$work/dl.out"
  grep -q "acme-" "$work/dl.out" && return 1
  local rc=0
  as dana@dealerco dana-pw-1 contract create --tenant acme --file "$work/dealer.json" 2>"$work/err" ||
    rc=$?
  [ "$rc" = 1 ] && grep -q "HTTP 400" "$work/err"
}
check "tenant set --no-dealer takes it back: nothing listed, create refused" revoke

cancel() {
  op contract delete acme-2027 --tenant acme | grep -q "Contract 'acme-2027' canceled."
  op contract list --tenant acme | grep -q acme-2027 && return 1
  op contract list --tenant acme --canceled | grep -Eq "acme-2027 +acme +canceled "
}
check "contract delete cancels it; contract list --canceled still shows it" cancel

finish test-nimbusctl-contract
