#!/usr/bin/env bash
#
# Integration test of billing by purpose over REST and nimbusctl (issue 13,
# docs/BILLING.md "Billing accounts", "Tenant policy", "Purposes",
# "Reports") against a nimbusd this script starts (lib-nimbusd.sh,
# $NIMBUSD; nimbusctl from $NIMBUSCTL).
#
# Checks:
#  - accounts: create (prepaid, invoiced with a limit), list, show with
#    grants, patch, close (final), and the errors: 400 bad code / mode /
#    credit limit on a prepaid account / unknown member, 409 code taken,
#    409 no currency yet, 403 a user creating, 404 unknown account;
#  - grants of users and printers (PUT twice is fine, DELETE of a missing
#    one 404); a user lists only the accounts they may charge, without
#    figures;
#  - top-up: prepaid only (409 invoiced), amount 0 refused, taking back
#    more than the balance 409; each top-up is one balanced ledger posting
#    "topup" (tenant:<id>:topups / tenant:<id>:prepaid:<code>), the
#    ledger sums to zero, and every admin change is audited;
#  - tenant policy purpose_required in GET/PATCH /billing;
#  - purposes: create (private, on an account, default, defaults), list,
#    get, patch (rename, one default), delete; 400 bad name / defaults,
#    403 an account the user may not charge or a closed one, 409 name
#    taken; a user cannot see or change another user's purposes (403)
#    while an admin can with ?user=; names with spaces and UTF-8 in paths;
#  - tenant isolation: another tenant's admin gets 404 for an account;
#  - reports: print log (a user sees only their own jobs, paging with
#    before=, filters, CSV), totals by each key (money of charged jobs,
#    pages of completed ones; bad ?by 400, CSV), on two jobs given a
#    charge behind nimbusd's back (billing/charge.c is not under test);
#  - nimbusctl account/purpose/report/billing for each of the above.
# Stops at the first failure.
#

set -u

source "$(dirname "$0")/lib-nimbusd.sh"
source "$(dirname "$0")/lib-rest.sh"

nimbusd_start || { echo "test-billing-rest: could not start nimbusd" >&2; exit 1; }
: "${NIMBUSCTL:?set NIMBUSCTL to the nimbusctl binary}"
: "${NIMBUS_TEST_DATA:?set NIMBUS_TEST_DATA to the test data directory}"

OP="admin@system:$NIMBUS_ADMIN_PASSWORD"
ADMIN="boss@acme:boss-pw-1"
ALICE="alice@acme:alice-pw-1"
BOB="bob@acme:bob-pw-1"
OTHER="boss@other:other-pw-1"

# ---- set-up: two tenants, admins, two users, a queue, a printer -------------
setup() {
  call "$OP" POST /tenants '{"name":"acme"}' && is 201
  call "$OP" POST /tenants '{"name":"other"}' && is 201
  call "$OP" POST '/users?tenant=acme' '{"name":"boss","password":"boss-pw-1","role":"tenant-admin"}'
  is 201
  call "$OP" POST '/users?tenant=acme' '{"name":"alice","password":"alice-pw-1"}' && is 201
  call "$OP" POST '/users?tenant=acme' '{"name":"bob","password":"bob-pw-1"}' && is 201
  call "$OP" POST '/users?tenant=other' '{"name":"boss","password":"other-pw-1","role":"tenant-admin"}'
  is 201
  call "$ADMIN" POST /queues '{"name":"office"}' && is 201
  call "$ADMIN" POST /printers '{"name":"front","queues":["office"]}' && is 201
}
check "set-up: tenants acme and other, users, queue, printer" setup
tenant_id=$(nimbus_sql "SELECT id FROM tenants WHERE name = 'acme'")

# ---- accounts: currency first ----------------------------------------------
call "$ADMIN" POST /billing-accounts '{"code":"CC-1","name":"Marketing","mode":"prepaid"}'
check "account before the tenant has a currency: 409" is_problem 409
body_has() { grep -q -- "$1" "$work/body"; }
check "...the message says to set the currency" body_has currency
call "$ADMIN" PATCH /billing '{"currency":"EUR"}'
check "tenant currency EUR" [ "$status" = 200 ]

# ---- accounts: create and validation ---------------------------------------
call "$ADMIN" POST /billing-accounts '{"code":"CC-1","name":"Marketing","mode":"prepaid"}'
check "create prepaid account: 201" is 201
check "create: the record" [ "$(body 'd["code"], d["mode"], d["currency"], d["balance"], d["available"], d["closed"], d["everyone"]')" \
  = "CC-1 prepaid EUR 0 0 False False" ]
call "$ADMIN" POST /billing-accounts \
  '{"code":"proj.x","name":"Project X","mode":"invoiced","credit_limit":5000,"everyone":true,"restrict_printers":true}'
check "create invoiced account with a limit: 201" is 201
check "invoiced: available = limit" [ "$(body 'd["credit_limit"], d["available"], d["available_text"], d["restrict_printers"]')" \
  = "5000 5000 50.00 True" ]
call "$ADMIN" POST /billing-accounts '{"code":"CC-1","name":"Again","mode":"prepaid"}'
check "code taken: 409" is_problem 409
call "$ADMIN" POST /billing-accounts '{"code":"bad code","name":"x","mode":"prepaid"}'
check "bad code: 400" is_problem 400
call "$ADMIN" POST /billing-accounts '{"code":"123456789012345678901234567890123","name":"x","mode":"prepaid"}'
check "code of 33 characters: 400" is_problem 400
call "$ADMIN" POST /billing-accounts '{"code":"CC-2","name":"x","mode":"postpaid"}'
check "bad mode: 400" is_problem 400
call "$ADMIN" POST /billing-accounts '{"code":"CC-2","name":"x","mode":"prepaid","credit_limit":100}'
check "credit limit on a prepaid account: 400" is_problem 400
call "$ADMIN" POST /billing-accounts '{"code":"CC-2","name":"x","mode":"invoiced","credit_limit":-1}'
check "negative credit limit: 400" is_problem 400
call "$ADMIN" POST /billing-accounts '{"code":"CC-2","name":"x","mode":"invoiced","colour":1}'
check "unknown member: 400" is_problem 400
call "$ADMIN" POST /billing-accounts '{"code":"CC-2","mode":"invoiced"}'
check "missing name: 400" is_problem 400
call "$ALICE" POST /billing-accounts '{"code":"CC-9","name":"mine","mode":"prepaid"}'
check "a user creating an account: 403" is_problem 403
call "$ADMIN" GET /billing-accounts/NOPE
check "unknown account: 404" is_problem 404
call "$OTHER" GET /billing-accounts/CC-1
check "another tenant's admin: 404" is_problem 404
call "$OTHER" GET /billing-accounts
check "another tenant's list is empty" [ "$(body 'len(d["accounts"])')" = 0 ]

# ---- grants ----------------------------------------------------------------
call "$ADMIN" PUT /billing-accounts/CC-1/users/alice && check "grant alice: 204" is 204
call "$ADMIN" PUT /billing-accounts/CC-1/users/alice && check "grant again: 204" is 204
call "$ADMIN" PUT /billing-accounts/CC-1/printers/front && check "grant printer: 204" is 204
call "$ADMIN" PUT /billing-accounts/CC-1/users/nobody
check "grant to an unknown user: 404" is_problem 404
call "$ADMIN" PUT /billing-accounts/CC-1/printers/nowhere
check "grant of an unknown printer: 404" is_problem 404
call "$OTHER" PUT /billing-accounts/CC-1/users/boss
check "another tenant's admin granting: 404" is_problem 404
call "$ADMIN" DELETE /billing-accounts/CC-1/users/bob
check "revoke a grant that does not exist: 404" is_problem 404
call "$ADMIN" GET /billing-accounts/CC-1
check "show: users and printers" [ "$(body 'd["users"], d["printers"]')" = "['alice'] ['front']" ]
call "$ALICE" GET /billing-accounts
check "alice lists the granted and the everyone account" \
  [ "$(body 'sorted(a["code"] for a in d["accounts"])')" = "['CC-1', 'proj.x']" ]
check "...without figures" [ "$(body 'any(k in a for a in d["accounts"] for k in ("balance","held","charged","available","credit_limit"))')" = False ]
call "$BOB" GET /billing-accounts
check "bob lists only the everyone account" [ "$(body '[a["code"] for a in d["accounts"]]')" = "['proj.x']" ]
call "$BOB" GET /billing-accounts/CC-1
check "a user showing an account: 403" is_problem 403

# ---- patch -----------------------------------------------------------------
call "$ADMIN" PATCH /billing-accounts/proj.x '{"credit_limit":8000,"name":"Project X2"}'
check "patch: 200" is 200
check "patch: written" [ "$(body 'd["credit_limit"], d["name"]')" = "8000 Project X2" ]
call "$ADMIN" PATCH /billing-accounts/CC-1 '{"credit_limit":10}'
check "credit limit on prepaid (patch): 400" is_problem 400
call "$ADMIN" PATCH /billing-accounts/CC-1 '{"name":""}'
check "empty name: 400" is_problem 400

# ---- top-up and the ledger -------------------------------------------------
call "$ADMIN" POST /billing-accounts/CC-1/topup '{"amount":2500,"memo":"Q3 budget"}'
check "top-up: 200" is 200
check "top-up: balance" [ "$(body 'd["balance"], d["available"], d["available_text"]')" = "2500 2500 25.00" ]
call "$ADMIN" POST /billing-accounts/CC-1/topup '{"amount":-500}'
check "take back: 200" is 200
check "take back: balance" [ "$(body 'd["balance"]')" = 2000 ]
call "$ADMIN" POST /billing-accounts/CC-1/topup '{"amount":-2001}'
check "take back more than the balance: 409" is_problem 409
call "$ADMIN" POST /billing-accounts/CC-1/topup '{"amount":0}'
check "amount 0: 400" is_problem 400
call "$ADMIN" POST /billing-accounts/CC-1/topup '{"amount":1.5}'
check "fractional amount: 400" is_problem 400
call "$ADMIN" POST /billing-accounts/proj.x/topup '{"amount":100}'
check "top-up of an invoiced account: 409" is_problem 409
call "$ALICE" POST /billing-accounts/CC-1/topup '{"amount":100}'
check "a user topping up: 403" is_problem 403
call "$ADMIN" GET /ledger
ledger_ok() {
  [ "$(body '[(e["kind"], e["account"], e["amount"]) for e in d["entries"]]')" = \
    "[('topup', 'tenant:$tenant_id:topups', 2500), ('topup', 'tenant:$tenant_id:prepaid:CC-1', -2500), ('topup', 'tenant:$tenant_id:topups', -500), ('topup', 'tenant:$tenant_id:prepaid:CC-1', 500)]" ]
  [ "$(body 'len(set(e["posting_id"] for e in d["entries"]))')" = 2 ]
  [ "$(body 'd["entries"][0]["memo"], d["entries"][0]["currency"]')" = "Q3 budget EUR" ]
}
check "ledger: two balanced topup postings" ledger_ok
call "$ADMIN" GET /ledger/balances
check "ledger sums to zero" [ "$(body 'd["totals"]')" = "{'EUR': 0}" ]

# ---- purposes --------------------------------------------------------------
call "$ALICE" POST /purposes '{"name":"Client work","account":"CC-1","default":true,"defaults":{"copies":2,"sides":"two-sided-long-edge"}}'
check "create a purpose on an account: 201" is 201
check "purpose record" [ "$(body 'd["name"], d["account"], d["private"], d["default"], d["defaults"]')" \
  = "Client work CC-1 False True {'copies': 2, 'sides': 'two-sided-long-edge'}" ]
call "$ALICE" POST /purposes '{"name":"Privé","account":null}'
check "create a private purpose (UTF-8 name): 201" is 201
check "private purpose record" [ "$(body 'd["account"], d["private"], d["default"]')" = "None True False" ]
call "$ALICE" POST /purposes '{"name":"Client work","account":null}'
check "name taken: 409" is_problem 409
call "$ALICE" POST /purposes '{"name":" lead","account":null}'
check "leading space: 400" is_problem 400
call "$ALICE" POST /purposes '{"name":"ctl\u0007","account":null}'
check "control character: 400" is_problem 400
call "$ALICE" POST /purposes '{"name":"x","account":null,"defaults":{"copies":0}}'
check "copies 0: 400" is_problem 400
check "...names the member" body_has copies
call "$ALICE" POST /purposes '{"name":"x","account":null,"defaults":{"staple":true}}'
check "unknown default: 400" is_problem 400
call "$BOB" POST /purposes '{"name":"x","account":"CC-1"}'
check "an account bob may not charge: 403" is_problem 403
call "$BOB" POST /purposes '{"name":"x","account":"NOPE"}'
check "an unknown account: 403" is_problem 403
call "$BOB" POST /purposes '{"name":"Project","account":"proj.x"}'
check "bob on the everyone account: 201" is 201
call "$ALICE" GET /purposes
check "alice lists her two purposes" [ "$(body 'sorted(p["name"] for p in d["purposes"])')" = "['Client work', 'Privé']" ]
call "$ALICE" GET "/purposes/Client%20work"
check "get by a name with a space" [ "$(body 'd["name"]')" = "Client work" ]
call "$ALICE" GET "/purposes/Priv%C3%A9"
check "get by a UTF-8 name" [ "$(body 'd["private"]')" = True ]
call "$ALICE" GET "/purposes/Project"
check "bob's purpose is not alice's: 404" is_problem 404
call "$ALICE" GET "/purposes?user=bob"
check "alice asking for bob's purposes: 403" is_problem 403
call "$ALICE" DELETE "/purposes/Project?user=bob"
check "alice deleting bob's purpose: 403" is_problem 403
call "$ADMIN" GET "/purposes?user=bob"
check "the admin lists bob's purposes" [ "$(body '[p["name"] for p in d["purposes"]]')" = "['Project']" ]
call "$ADMIN" POST "/purposes?user=bob" '{"name":"Admin made","account":null,"default":true}'
check "the admin creates one for bob: 201" is 201
call "$ADMIN" GET "/purposes?user=nobody"
check "unknown user: 404" is_problem 404
call "$OTHER" GET "/purposes?user=alice"
check "another tenant's admin: 404 for alice" is_problem 404
call "$ALICE" PATCH "/purposes/Priv%C3%A9" '{"default":true,"defaults":{"print-color-mode":"monochrome","finishings":[4]}}'
check "patch: make the private one the default" is 200
call "$ALICE" GET /purposes
check "one default only" [ "$(body '[p["name"] for p in d["purposes"] if p["default"]]')" = "['Privé']" ]
call "$ALICE" PATCH "/purposes/Client%20work" '{"name":"Clients"}'
check "rename: 200" [ "$(body 'd["name"], d["account"]')" = "Clients CC-1" ]
call "$ALICE" PATCH "/purposes/Clients" '{"name":"Privé"}'
check "rename onto another: 409" is_problem 409
call "$ALICE" PATCH "/purposes/Clients" '{"account":"proj.x"}'
check "move to the everyone account" [ "$(body 'd["account"]')" = proj.x ]
call "$ALICE" PATCH "/purposes/Clients" '{"account":"CC-1"}' && check "...and back" is 200

# ---- closing ---------------------------------------------------------------
call "$ADMIN" POST /billing-accounts '{"code":"OLD","name":"Old","mode":"invoiced","everyone":true}'
check "account OLD" is 201
call "$ADMIN" PATCH /billing-accounts/OLD '{"closed":true}'
check "close: 200" [ "$status $(body 'd["closed"], d["closed_at"] is not None')" = "200 True True" ]
call "$ADMIN" PATCH /billing-accounts/OLD '{"closed":false}'
check "re-open: 409 (final)" is_problem 409
call "$ADMIN" PATCH /billing-accounts/OLD '{"name":"x"}'
check "change a closed account: 409" is_problem 409
call "$ALICE" POST /purposes '{"name":"Old","account":"OLD"}'
check "purpose on a closed account: 403" is_problem 403
call "$ALICE" GET /billing-accounts
check "users do not list closed accounts" [ "$(body '"OLD" in [a["code"] for a in d["accounts"]]')" = False ]
call "$ADMIN" GET /billing-accounts
check "admins: closed hidden by default" [ "$(body '"OLD" in [a["code"] for a in d["accounts"]]')" = False ]
call "$ADMIN" GET '/billing-accounts?closed=1'
check "admins: ?closed=1 lists it" [ "$(body '"OLD" in [a["code"] for a in d["accounts"]]')" = True ]

# ---- tenant policy ---------------------------------------------------------
call "$ADMIN" GET /billing && check "purpose_required false by default" [ "$(body 'd["purpose_required"]')" = False ]
call "$ADMIN" PATCH /billing '{"purpose_required":true}'
check "purpose_required set" [ "$(body 'd["purpose_required"]')" = True ]
call "$ALICE" GET /billing && check "users read it" [ "$(body 'd["purpose_required"]')" = True ]
call "$ALICE" PATCH /billing '{"purpose_required":false}'
check "a user setting it: 403" is_problem 403
call "$ADMIN" PATCH /billing '{"purpose_required":"yes"}'
check "not a boolean: 400" is_problem 400
call "$ADMIN" PATCH /billing '{"purpose_required":false}' && check "unset again" is 200

# ---- audit -----------------------------------------------------------------
audited() {
  local actions
  actions=$(nimbus_sql "SELECT action FROM audit WHERE tenant_id = $tenant_id" | sort -u | tr '\n' ' ')
  for a in billing-account-created billing-account-updated billing-account-closed \
    billing-account-topup billing-account-granted purpose-created purpose-updated billing-updated; do
    case " $actions " in *" $a "*) ;; *) echo "  no audit record $a in: $actions" >&2; return 1 ;; esac
  done
}
check "every change is audited" audited

# ---- reports ---------------------------------------------------------------
pdf=$NIMBUS_TEST_DATA/onepage.pdf
# (billed to account proj.x: alice's and bob's default purposes are
# private, and neither has a saved payment method)
submit_as() {
  "$NIMBUSCTL" --url "$NIMBUS_URL" --user "$1" --password-file <(echo "$2") submit --quiet \
    --queue office --purpose proj.x "$pdf"
}
check "alice submits two jobs" bash -c "$(declare -f submit_as); NIMBUSCTL='$NIMBUSCTL' NIMBUS_URL='$NIMBUS_URL' pdf='$pdf'; submit_as alice@acme alice-pw-1 >/dev/null && submit_as alice@acme alice-pw-1 >/dev/null"
check "bob submits one" bash -c "$(declare -f submit_as); NIMBUSCTL='$NIMBUSCTL' NIMBUS_URL='$NIMBUS_URL' pdf='$pdf'; submit_as bob@acme bob-pw-1 >/dev/null"
call "$ADMIN" GET /reports/print-log
check "admin: the log has the three jobs, newest first" [ "$(body '[j["user"] for j in d["jobs"]], d["next_before"]')" = "['bob', 'alice', 'alice'] None" ]
check "a log row" [ "$(body 'sorted(d["jobs"][0].keys())')" = \
  "['account', 'charge_state', 'color', 'created_at', 'currency', 'id', 'impressions', 'name', 'pages', 'print_fee', 'printer', 'private', 'purpose', 'service_fee', 'sides', 'state', 'total', 'user']" ]
call "$ALICE" GET /reports/print-log
check "alice sees only her own jobs" [ "$(body 'sorted(set(j["user"] for j in d["jobs"])), len(d["jobs"])')" = "['alice'] 2" ]
call "$ALICE" GET '/reports/print-log?user=bob'
check "alice asking for bob's jobs: 403" is_problem 403
call "$ADMIN" GET '/reports/print-log?user=alice&limit=1'
check "paging: one job and a next_before" [ "$(body 'len(d["jobs"]), d["next_before"] == d["jobs"][0]["id"]')" = "1 True" ]
first=$(body 'd["jobs"][0]["id"]')
call "$ADMIN" GET "/reports/print-log?user=alice&limit=1&before=$first"
check "paging: the next page is the older job" [ "$(body 'len(d["jobs"]), d["jobs"][0]["id"] < '"$first"', d["next_before"]')" = "1 True None" ]
call "$ADMIN" GET '/reports/print-log?from=2026-13-01'
check "bad date: 400" is_problem 400
call "$ADMIN" GET '/reports/print-log?from=2026-02-10&to=2026-02-01'
check "to before from: 400" is_problem 400
call "$ADMIN" GET '/reports/print-log?from=2000-01-01&to=2000-12-31'
check "a period without jobs" [ "$(body 'len(d["jobs"])')" = 0 ]
call "$ADMIN" GET '/reports/print-log?format=csv'
check "CSV: 200 with the header and three rows" [ "$status $(head -1 "$work/body") $(wc -l <"$work/body")" = \
  "200 id,created_at,name,user,purpose,account,private,printer,pages,impressions,color,sides,state,currency,print_fee,service_fee,total,charge_state 4" ]
call "$ADMIN" GET '/reports/print-log?format=xml'
check "bad format: 400" is_problem 400
call "$ADMIN" GET '/reports/totals?by=colour'
check "totals: bad by 400" is_problem 400
call "$ADMIN" GET '/reports/totals?by=month'
check "totals: held jobs count nowhere yet" [ "$(body 'd["by"], d["currency"], d["rows"], d["totals"]["jobs"], d["totals"]["total"]')" = "month EUR [] 0 0" ]
call "$ADMIN" GET '/reports/totals?by=user&format=csv'
check "totals CSV header" [ "$(head -1 "$work/body")" = "key,jobs,pages,impressions,currency,print_fee,service_fee,total" ]
call "$OTHER" GET /reports/print-log
check "another tenant's admin sees none of acme's jobs" [ "$(body 'len(d["jobs"])')" = 0 ]

# ---- reports with charges ----------------------------------------------------
# billing/charge.c (not part of this test) writes charges when jobs print;
# here two of alice's jobs are made completed with a charge behind nimbusd's
# back (nimbus_sql), so that the log and the totals show real figures: the
# older one charged to CC-1 on printer front (0.20 + 0.22), the newer one
# private and charge-failed (its money counts nowhere).
charge_jobs() {
  local older newer cc1 front clients prive
  older=$(nimbus_sql "SELECT id FROM jobs WHERE tenant_id = $tenant_id AND owner_name = 'alice' ORDER BY id LIMIT 1")
  newer=$(nimbus_sql "SELECT id FROM jobs WHERE tenant_id = $tenant_id AND owner_name = 'alice' ORDER BY id DESC LIMIT 1")
  cc1=$(nimbus_sql "SELECT id FROM billing_accounts WHERE tenant_id = $tenant_id AND code = 'CC-1'")
  front=$(nimbus_sql "SELECT id FROM devices WHERE tenant_id = $tenant_id AND name = 'front'")
  clients=$(nimbus_sql "SELECT id FROM purposes WHERE tenant_id = $tenant_id AND name = 'Clients'")
  prive=$(nimbus_sql "SELECT id FROM purposes WHERE tenant_id = $tenant_id AND name = 'Privé'")
  [ -n "$older" ] && [ -n "$newer" ] && [ "$older" != "$newer" ] && [ -n "$cc1" ] && [ -n "$front" ]
  nimbus_sql "UPDATE jobs SET state = 6, completed_at = created_at, impressions_completed = 1, device_id = $front WHERE id = $older;
    UPDATE jobs SET state = 6, completed_at = created_at, impressions_completed = 1 WHERE id = $newer;
    INSERT INTO job_charges (job_id, tenant_id, user_id, purpose_id, purpose_name, account_id, device_id, state, currency, hold, print_fee, service_fee, total, impressions, created_at, updated_at, charged_at)
      SELECT $older, $tenant_id, owner_id, $clients, 'Clients', $cc1, $front, 2, 'EUR', 50, 20, 22, 42, 1, created_at, created_at, created_at FROM jobs WHERE id = $older;
    INSERT INTO job_charges (job_id, tenant_id, user_id, purpose_id, purpose_name, account_id, device_id, state, currency, print_fee, service_fee, total, impressions, created_at, updated_at)
      SELECT $newer, $tenant_id, owner_id, $prive, 'Privé', NULL, 0, 4, 'EUR', 30, 3, 33, 1, created_at, created_at FROM jobs WHERE id = $newer;" >/dev/null
}
check "two of alice's jobs completed with a charge" charge_jobs
month=$(date -u +%Y-%m)
call "$ADMIN" GET '/reports/print-log?user=alice'
check "log: the charged job" [ "$(body '[(j["purpose"], j["account"], j["private"], j["printer"], j["state"], j["charge_state"], j["print_fee"], j["service_fee"], j["total"], j["currency"]) for j in d["jobs"]]')" = \
  "[('Privé', None, True, None, 'completed', 'charge-failed', 30, 3, 33, 'EUR'), ('Clients', 'CC-1', False, 'front', 'completed', 'charged', 20, 22, 42, 'EUR')]" ]
call "$ADMIN" GET '/reports/print-log?account=CC-1'
check "log: ?account=CC-1 is the charged job only" [ "$(body '[j["purpose"] for j in d["jobs"]]')" = "['Clients']" ]
call "$ADMIN" GET '/reports/print-log?purpose=Priv%C3%A9'
check "log: ?purpose (every user's of that name)" [ "$(body '[j["charge_state"] for j in d["jobs"]]')" = "['charge-failed']" ]
call "$ALICE" GET '/reports/print-log?purpose=Clients'
check "log: a user's ?purpose is one of theirs" [ "$(body '[j["account"] for j in d["jobs"]]')" = "['CC-1']" ]
call "$ADMIN" GET '/reports/print-log?printer=front'
check "log: ?printer=front" [ "$(body '[j["printer"] for j in d["jobs"]]')" = "['front']" ]
call "$ADMIN" GET '/reports/print-log?account=NOPE'
check "log: unknown account 404" is_problem 404
call "$ADMIN" GET '/reports/totals?by=account'
check "totals by account: money of charged jobs, pages of completed ones" \
  [ "$(body '[(r["key"], r["jobs"], r["pages"], r["impressions"], r["print_fee"], r["service_fee"], r["total"]) for r in d["rows"]], sorted(d["totals"].items())')" = \
  "[('CC-1', 1, 1, 1, 20, 22, 42), (None, 1, 1, 1, 0, 0, 0)] [('impressions', 2), ('jobs', 2), ('pages', 2), ('print_fee', 20), ('service_fee', 22), ('total', 42)]" ]
call "$ADMIN" GET '/reports/totals?by=purpose'
check "totals by purpose" [ "$(body '[(r["key"], r["total"]) for r in d["rows"]]')" = "[('Clients', 42), ('Privé', 0)]" ]
call "$ADMIN" GET '/reports/totals?by=printer'
check "totals by printer" [ "$(body '[(r["key"], r["jobs"]) for r in d["rows"]]')" = "[('front', 1), (None, 1)]" ]
call "$ADMIN" GET '/reports/totals?by=user'
check "totals by user: bob's held job counts nowhere" [ "$(body '[(r["key"], r["jobs"], r["total"]) for r in d["rows"]]')" = "[('alice', 2, 42)]" ]
call "$ADMIN" GET '/reports/totals?by=month'
check "totals by month (UTC YYYY-MM)" [ "$(body '[(r["key"], r["jobs"], r["total"]) for r in d["rows"]]')" = "[('$month', 2, 42)]" ]
call "$ADMIN" GET '/reports/totals?by=month&from=2000-01-01&to=2000-01-31'
check "totals of an empty period" [ "$(body 'd["rows"], d["totals"]["jobs"]')" = "[] 0" ]
call "$BOB" GET '/reports/totals?by=user'
check "bob's totals are his own: none" [ "$(body 'd["rows"]')" = "[]" ]
call "$ADMIN" GET '/reports/totals?by=account&format=csv'
check "totals CSV rows" [ "$(sed -n '2,3p' "$work/body" | tr '\n' ' ')" = "CC-1,1,1,1,EUR,20,22,42 ,1,1,1,EUR,0,0,0 " ]
call "$ADMIN" GET '/reports/print-log?account=CC-1&format=csv'
check "log CSV row" [ "$(sed -n '2p' "$work/body" | cut -d, -f4-)" = "alice,Clients,CC-1,false,front,1,1,true,one-sided,completed,EUR,20,22,42,charged" ]

# ---- nimbusctl -------------------------------------------------------------
echo boss-pw-1 >"$work/pw"
echo alice-pw-1 >"$work/alice-pw"
ctl() { "$NIMBUSCTL" --url "$NIMBUS_URL" --user boss@acme --password-file "$work/pw" "$@"; }
actl() { "$NIMBUSCTL" --url "$NIMBUS_URL" --user alice@acme --password-file "$work/alice-pw" "$@"; }
out() { # out CMD...: CMD must succeed; its output in $work/out, $work/err
  "$@" >"$work/out" 2>"$work/err" || { echo "  '$*' failed: $(cat "$work/err")" >&2; return 1; }
}
has() { grep -Eq -- "$1" "$work/out" || { echo "  no '$1' in: $(cat "$work/out" "$work/err")" >&2; return 1; }; }
status_is() { # status_is N CMD...: CMD exits N
  local want=$1 rc=0
  shift
  "$@" >"$work/out" 2>"$work/err" || rc=$?
  [ "$rc" = "$want" ] || { echo "  exit $rc, not $want: $(cat "$work/err")" >&2; return 1; }
}

ctl_accounts() {
  out ctl account create CTL-1 --name "From the CLI" --mode prepaid
  has '^Code: +CTL-1$'
  has '^Balance: +EUR 0.00$'
  out ctl account topup CTL-1 12.34 --memo "cli top-up"
  has '^Balance: +EUR 12.34$'
  out ctl account topup CTL-1 0.34 --take-back
  has '^Available: +EUR 12.00$'
  out ctl account create CTL-2 --name "Invoiced" --mode invoiced --credit-limit 100 --everyone
  has '^Credit limit: +EUR 100.00$'
  out ctl account set CTL-2 --credit-limit 150.50 --everyone no
  has '^Credit limit: +EUR 150.50$'
  has '^Everyone may charge: +no$'
  out ctl account grant CTL-2 --user alice
  has "Granted user 'alice'"
  out ctl account grant CTL-2 --printer front
  out ctl account show CTL-2
  has '^Users: +alice$'
  has '^Printers: +front$'
  out ctl account revoke CTL-2 --printer front
  out ctl account list
  has '^CTL-1 +From the CLI +prepaid +no +EUR 12.00 +no$'
  out actl account list
  has '^CTL-2 '
  ! grep -q 'EUR' "$work/out"
  out ctl account close CTL-2
  has '^Closed: +yes$'
  out ctl --json account list --closed
  grep -q '"CTL-2"' "$work/out"
  # mistakes refused before anything is sent, or by the server
  status_is 2 ctl account topup CTL-1 1.234
  status_is 2 ctl account create X --name x --mode monthly
  status_is 2 ctl account grant CTL-1
  status_is 1 ctl account topup CTL-2 5
  grep -q '409' "$work/err"
  status_is 1 actl account create CTL-3 --name x --mode prepaid
  grep -q '403' "$work/err"
}
check "nimbusctl account" ctl_accounts

ctl_purposes() {
  # CTL-1 is not alice's to charge until granted
  status_is 1 actl purpose create "CLI work" --account CTL-1
  grep -q '403' "$work/err"
  ctl account grant CTL-1 --user alice >/dev/null
  out actl purpose create "CLI work" --account CTL-1 --copies 3 --sides two-sided-short-edge \
    --color-mode monochrome --media iso_a4_210x297mm --finishings 4,5 --default
  has '^Name: +CLI work$'
  has '^Account: +CTL-1$'
  has '^Default: +yes$'
  out actl --json purpose show "CLI work"
  [ "$(json_get 'd["defaults"]' <"$work/out")" = \
    "{'copies': 3, 'finishings': [4, 5], 'media': 'iso_a4_210x297mm', 'print-color-mode': 'monochrome', 'sides': 'two-sided-short-edge'}" ]
  out actl purpose set "CLI work" --copies 1 --name "CLI job"
  out actl --json purpose show "CLI job"
  [ "$(json_get 'd["defaults"]["copies"], d["defaults"]["sides"]' <"$work/out")" = "1 two-sided-short-edge" ]
  out actl purpose set "CLI job" --clear-defaults --media na_letter_8.5x11in --private
  out actl --json purpose show "CLI job"
  [ "$(json_get 'd["defaults"], d["private"]' <"$work/out")" = "{'media': 'na_letter_8.5x11in'} True" ]
  out actl purpose list
  has '^CLI job +- +yes +yes'
  status_is 1 actl purpose list --user bob
  grep -q '403' "$work/err"
  out ctl purpose list --user bob
  has '^Project '
  out ctl purpose create "For bob" --user bob --private
  out ctl purpose delete "For bob" --user bob
  has "Purpose 'For bob' deleted."
  status_is 2 actl purpose create "No dest"
  status_is 2 actl purpose create x --private --sides both
  status_is 2 actl purpose create x --private --finishings 4,x
  status_is 1 actl purpose create x --private --media 'a b'
  grep -q '400' "$work/err"
  out actl purpose delete "CLI job"
}
check "nimbusctl purpose" ctl_purposes

ctl_reports_billing() {
  out ctl report log
  has '^ID +CREATED +USER +PURPOSE'
  [ "$(grep -c ' alice ' "$work/out")" = 2 ]
  out actl report log
  ! grep -q ' bob ' "$work/out"
  out ctl report log --user alice --limit 1
  grep -q 'see them with --before' "$work/err"
  out ctl report log --csv
  has '^id,created_at,name,user,'
  out ctl report totals --by account
  has '^KEY +JOBS +PAGES'
  has '^CC-1 +1 +1 +1 +EUR 0.20 +EUR 0.22 +EUR 0.42$'
  has '^- +1 +1 +1 +EUR 0.00 +EUR 0.00 +EUR 0.00$'
  has '^Total: 2 jobs, 2 pages, EUR 0.42 charged$'
  out ctl report log --account CC-1
  has ' alice +Clients +CC-1 +front +1 +1 +completed +EUR 0.42 +charged$'
  out ctl report totals --by month --csv
  has '^key,jobs,pages,impressions,currency,print_fee,service_fee,total$'
  status_is 2 ctl report totals --by colour
  status_is 1 actl report log --user bob
  out ctl billing set --purpose-required yes
  has '^Purpose required: +yes$'
  out ctl billing set --purpose-required no
  has '^Purpose required: +no$'
  status_is 2 ctl billing set --purpose-required maybe
}
check "nimbusctl report and billing" ctl_reports_billing

# ---- the books --------------------------------------------------------------
check "ledger still sums to zero" bash -c "curl -fsS -u '$ADMIN' '$NIMBUS_URL/api/v1/ledger/balances' | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(any(v != 0 for v in d[\"totals\"].values()))'"

check "nimbusd stops cleanly" nimbusd_stop
finish test-billing-rest
