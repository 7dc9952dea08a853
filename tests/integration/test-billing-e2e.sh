#!/usr/bin/env bash
# Billing by purpose (issue 13, docs/BILLING.md), end to end against real
# processes: nimbusd, nimbus-paysim (Stripe), nimbus-connector and
# ippeveprinter.  On tenant acme (EUR, service fee 10 + 5%):
#   - IPP: job-account-id names a purpose or an account code; the
#     defaults of the user's default purpose fill an unnamed job; each
#     refusal answers its status code (account-authorization-failed,
#     -closed, -limit-reached, -info-needed once the tenant requires one);
#     the queue advertises job-account-id-default and the mandatory
#     attribute; REST `purpose` the same with its problem documents;
#   - a company job (invoiced account) and a client job (prepaid account)
#     print on ippeveprinter through the connector: each is charged on
#     completion, print fee to the tenant, service fee to the operator,
#     the account's figures follow, the panel shows the purpose;
#   - a private job is charged to the user's saved Stripe payment method
#     (registered through nimbus-paysim); a declined charge shows as
#     charge-failed and is charged on a later try (--charge-retry 2) once
#     the card is accepted again;
#   - a canceled released job gives its hold back;
#   - concurrency: a prepaid account with a balance for exactly N jobs and
#     3N releases at once: exactly N released, the rest refused (402),
#     the balance never below zero, N charged once printed;
#   - after every step the ledger sums to zero per currency.
set -euo pipefail
source "$(dirname "$0")/test-connector-common.sh"
source "$HERE/lib-paysim.sh"

SK=sk_test_nimbus_$$_do_not_log
WHSEC=whsec_nimbus_$$_do_not_log
nimbusd_start --charge-retry 2
paysim_start --stripe-key "$SK" \
  --stripe-webhook "$NIMBUS_URL/api/v1/payments/stripe-webhook/acme=$WHSEC"

boss() { curl -fsS -u boss@acme:boss-pw-1 "$@"; }
alice() { curl -fsS -u alice@acme:alice-pw-1 "$@"; }
jget() { boss "$NIMBUS_URL/api/v1/jobs/$1" | json_get "$2"; }
code_of() { curl -sS -o "$CONN_DIR/last.json" -w '%{http_code}' "$@"; }
ledger_balanced() {
  api GET '/api/v1/ledger/balances?all=1' |
    json_get "all(v == 0 for v in d['totals'].values())" | grep -qx True
}
fails() { ! "$@"; }
account() { boss "$NIMBUS_URL/api/v1/billing-accounts/$1" | json_get "$2"; }

# ---- set-up ----
check "tenant, users and queue" conn_setup_tenant
add_user() {
  api POST '/api/v1/users?tenant=acme' -H 'Content-Type: application/json' \
    -d "{\"name\":\"$1\",\"password\":\"$1-pw-1\",\"role\":\"user\"}" -o /dev/null
}
check "user bob" add_user bob
check "tenant currency EUR, service fee 10 + 5%" api PATCH '/api/v1/billing?tenant=acme' \
  -H 'Content-Type: application/json' \
  -d '{"currency":"EUR","service_fee_fixed":10,"service_fee_bps":500}' -o /dev/null
TABLE='{"currency":"EUR","mode":"graduated","tiers":[{"from":1,"prices":{"a4":{"mono":{"one-sided":10,"two-sided":8},"color":{"one-sided":50,"two-sided":40}},"other":{"mono":{"one-sided":10},"color":{"one-sided":50}}}}]}'
check "price table" boss -X POST -H 'Content-Type: application/json' \
  -d "{\"name\":\"office\",\"table\":$TABLE}" "$NIMBUS_URL/api/v1/price-tables" -o /dev/null
check "queue office priced (no payment at the printer)" boss -X PATCH \
  -H 'Content-Type: application/json' -d '{"price_table":"office","payment":"none"}' \
  "$NIMBUS_URL/api/v1/queues/office" -o /dev/null
new_account() { # CODE MODE [EXTRA-JSON]
  boss -X POST -H 'Content-Type: application/json' \
    -d "{\"code\":\"$1\",\"name\":\"$1 account\",\"mode\":\"$2\"${3:+,$3}}" \
    "$NIMBUS_URL/api/v1/billing-accounts" -o /dev/null
}
check "account CORP: invoiced, everyone" new_account CORP invoiced '"everyone":true'
check "account CLIENT-A: prepaid, alice only" new_account CLIENT-A prepaid
check "alice may charge CLIENT-A" boss -X PUT "$NIMBUS_URL/api/v1/billing-accounts/CLIENT-A/users/alice"
check "CLIENT-A topped up with EUR 3.00" boss -X POST -H 'Content-Type: application/json' \
  -d '{"amount":300,"memo":"PO 77"}' "$NIMBUS_URL/api/v1/billing-accounts/CLIENT-A/topup" -o /dev/null
check "account EMPTY: prepaid, everyone, nothing on it" new_account EMPTY prepaid '"everyone":true'
check "account OLD: invoiced, everyone, then closed" new_account OLD invoiced '"everyone":true'
check "OLD closed" boss -X PATCH -H 'Content-Type: application/json' -d '{"closed":true}' \
  "$NIMBUS_URL/api/v1/billing-accounts/OLD" -o /dev/null
check "top-up is a balanced ledger posting" ledger_balanced
purpose() { # NAME ACCOUNT|null [EXTRA-JSON]
  local acc=null
  [ "$2" != null ] && acc="\"$2\""
  alice -X POST -H 'Content-Type: application/json' \
    -d "{\"name\":\"$1\",\"account\":$acc${3:+,$3}}" "$NIMBUS_URL/api/v1/purposes" -o /dev/null
}
check "alice's purpose 'work' (CORP), default, two-sided monochrome" purpose work CORP \
  '"default":true,"defaults":{"sides":"two-sided-long-edge","print-color-mode":"monochrome"}'
check "alice's purpose 'client a' (CLIENT-A)" purpose "client a" CLIENT-A
check "alice's purpose 'own' (private)" purpose own null
check "alice's purpose 'old' (OLD, closed) refused" fails purpose old OLD
check "bob may not use CLIENT-A in a purpose" test "$(code_of -u bob@acme:bob-pw-1 -X POST \
  -H 'Content-Type: application/json' -d '{"name":"x","account":"CLIENT-A"}' \
  "$NIMBUS_URL/api/v1/purposes")" = 403

# ---- IPP ----
URI="ipp://alice:alice-pw-1@127.0.0.1:$NIMBUS_PORT/ipp/print/acme/office"
ipp_print() { # ACCOUNT STATUS [USER]
  local u=${3:-alice}
  sed "s/EXPECTED-STATUS/$2/" "$HERE/ipp/print-job-account.test" >"$CONN_DIR/account.test"
  ipptool -t -T 20 -d account="$1" -f "$NIMBUS_TEST_DATA/threepage.pdf" \
    "ipp://$u:$u-pw-1@127.0.0.1:$NIMBUS_PORT/ipp/print/acme/office" \
    "$CONN_DIR/account.test" >"$CONN_DIR/ipp-account.out" 2>&1 || return 1
  ! grep -q 'Bad STATUS' "$CONN_DIR/ipp-account.out"
}
check "IPP job-account-id 'client a' (a purpose): accepted" ipp_print "client a" successful-ok
check "IPP job-account-id CORP (an account code): accepted" ipp_print CORP successful-ok
check "IPP unknown purpose: client-error-account-authorization-failed" \
  ipp_print nope client-error-account-authorization-failed
check "IPP bob naming CLIENT-A: client-error-account-authorization-failed" \
  ipp_print CLIENT-A client-error-account-authorization-failed bob
check "IPP closed account: client-error-account-closed" ipp_print OLD client-error-account-closed
check "IPP empty prepaid account: client-error-account-limit-reached" \
  ipp_print EMPTY client-error-account-limit-reached
check "IPP private purpose without a saved method: account-authorization-failed" \
  ipp_print own client-error-account-authorization-failed
check "tenant requires a purpose on every job" boss -X PATCH -H 'Content-Type: application/json' \
  -d '{"purpose_required":true}' "$NIMBUS_URL/api/v1/billing" -o /dev/null
check "IPP bob (no default purpose) without one: client-error-account-info-needed" \
  ipp_print "" client-error-account-info-needed bob
purpose_attrs() { # ($job-id: the job the Print-Job of the file created)
  ipptool -t -T 20 -d purpose=work -d sides=two-sided-long-edge \
    -d color-mode=monochrome -f "$NIMBUS_TEST_DATA/threepage.pdf" "$URI" \
    "$HERE/ipp/purpose-attrs.test" >"$CONN_DIR/ipp-purpose.out"
}
check "IPP: job-account-id mandatory, the default purpose's settings applied to an unnamed job" purpose_attrs
account_default() { # USER: job-account-id-default in an authenticated Get-Printer-Attributes
  python3 "$HERE/ipp_raw.py" get-printer-attributes "ipp://127.0.0.1:$NIMBUS_PORT/ipp/print/acme/office" |
    curl -fsS -u "$1:$1-pw-1" -H 'Content-Type: application/ipp' --data-binary @- \
      "$NIMBUS_URL/ipp/print/acme/office" -o "$CONN_DIR/gpa.bin"
  python3 - "$CONN_DIR/gpa.bin" <<'PY'
import struct, sys
b = open(sys.argv[1], 'rb').read()
name = b'job-account-id-default'
i = b.find(struct.pack('>H', len(name)) + name)
tag = b[i - 1]
vlen = struct.unpack('>H', b[i + 2 + len(name):i + 4 + len(name)])[0]
print('%02x %s' % (tag, b[i + 4 + len(name):i + 4 + len(name) + vlen].decode()))
PY
}
check "IPP: alice's job-account-id-default is her default purpose (name 'work')" \
  test "$(account_default alice)" = "42 work"
check "IPP: bob (no default purpose) gets no-value" test "$(account_default bob)" = "13 "

# ---- REST ----
rest_submit() { # USER PURPOSE -> HTTP status
  curl -sS -o "$CONN_DIR/last.json" -w '%{http_code}' -u "$1@acme:$1-pw-1" \
    -F queue=office -F "purpose=$2" -F "document=@$NIMBUS_TEST_DATA/onepage.pdf" \
    "$NIMBUS_URL/api/v1/jobs"
}
problem_is() { # STATUS TYPE-SUFFIX
  json_get "d['type']" <"$CONN_DIR/last.json" | grep -q -- "$2\$"
}
check "REST purpose 'client a': 201" test "$(rest_submit alice "client a")" = 201
check "REST unknown purpose: 403 account-authorization-failed" \
  test "$(rest_submit alice nope)" = 403
check "...its problem type" problem_is 403 account-authorization-failed
check "REST closed account: 409 account-closed" test "$(rest_submit alice OLD)" = 409
check "REST empty account: 402 account-limit-reached" test "$(rest_submit alice EMPTY)" = 402
check "REST bob without a purpose: 422 purpose-required" \
  test "$(curl -sS -o "$CONN_DIR/last.json" -w '%{http_code}' -u bob@acme:bob-pw-1 -F queue=office \
    -F "document=@$NIMBUS_TEST_DATA/onepage.pdf" "$NIMBUS_URL/api/v1/jobs")" = 422
check "...its problem type" problem_is 422 purpose-required

# ---- printing: invoiced, prepaid ----
check "ippeveprinter is up" ippeve_start
check "register the printer" conn_register lobby "$(conn_claim lobby)"
check "connector runs" conn_start lobby --output "$IPPEVE_URI"
submit_for() { # PURPOSE [DOCUMENT] -> job id (colour one-sided unless the purpose says)
  curl -fsS -u alice@acme:alice-pw-1 -F queue=office -F "purpose=$1" \
    -F "document=@$NIMBUS_TEST_DATA/${2:-threepage.pdf}" "$NIMBUS_URL/api/v1/jobs" |
    json_get "d['id']"
}
JOB_WORK=$(submit_for work)
JOB_CLIENT=$(submit_for "client a")
check "job $JOB_WORK has purpose work (CORP)" \
  test "$(jget "$JOB_WORK" "(d['purpose']['name'], d['purpose']['account'])")" = "('work', 'CORP')"
check "release work job" release_job "$JOB_WORK"
check "work job: charge held at release" \
  test "$(jget "$JOB_WORK" "d['purpose']['charge']['state']")" = held
check "work job completes" wait_until 30 job_is "$JOB_WORK" completed
charged() { [ "$(jget "$1" "d['purpose']['charge']['state']")" = charged ]; }
check "work job charged" wait_until 15 charged "$JOB_WORK"
# 3 pages two-sided monochrome (the purpose's defaults): 3 x 8 = 24; service 10 + 1 = 35
check "work job: print 24 + service 11 = 35" \
  test "$(jget "$JOB_WORK" "(d['purpose']['charge']['print_fee'], d['purpose']['charge']['service_fee'], d['purpose']['charge']['total'])")" = "(24, 11, 35)"
check "CORP: 35 charged, nothing held" test "$(account CORP "(d['charged'], d['held'])")" = "(35, 0)"
check "release client job" release_job "$JOB_CLIENT"
check "CLIENT-A: the hold (150 + 18 = 168) is placed" \
  test "$(account CLIENT-A "(d['balance'], d['held'])")" = "(300, 168)"
check "client job completes" wait_until 30 job_is "$JOB_CLIENT" completed
check "client job charged" wait_until 15 charged "$JOB_CLIENT"
check "CLIENT-A: balance 300 - 168 = 132, nothing held" \
  test "$(account CLIENT-A "(d['balance'], d['held'])")" = "(132, 0)"
entries_of() { # JOB ACCOUNT-SUFFIX -> amount
  boss "$NIMBUS_URL/api/v1/ledger?job=$1" |
    json_get "sum(e['amount'] for e in d['entries'] if e['account'].endswith('$2'))"
}
check "ledger: CLIENT-A's prepaid account debited 168" test "$(entries_of "$JOB_CLIENT" ':prepaid:CLIENT-A')" = 168
check "ledger: the operator's revenue credited the service fee (18)" \
  test "$(entries_of "$JOB_CLIENT" 'operator:revenue')" = -18
check "ledger: the printer owner's revenue credited the print fee (150)" \
  test "$(entries_of "$JOB_CLIENT" ':revenue')" = -168
check "ledger balanced" ledger_balanced

# ---- a released job canceled: the hold comes back ----
check "printer stopped (jobs wait)" conn_stop lobby
# one page, colour: 50 + service 10 + 3 = 63 (132 left on CLIENT-A: a
# three-page job, 168, no longer fits)
JOB_BIG=$(submit_for "client a")
check "a job of 168 no longer fits CLIENT-A (132 left): 402" \
  test "$(code_of -X POST -u alice@acme:alice-pw-1 "$NIMBUS_URL/api/v1/jobs/$JOB_BIG/release")" = 402
check "...the reason in words" json_get "d['detail']" <"$CONN_DIR/last.json"
check "...the job stays held, nothing held on the account" \
  test "$(jget "$JOB_BIG" "d['state']") $(account CLIENT-A "d['held']")" = "held 0"
JOB_CANCEL=$(submit_for "client a" onepage.pdf)
check "release job $JOB_CANCEL" release_job "$JOB_CANCEL"
check "CLIENT-A holds 63" test "$(account CLIENT-A "d['held']")" = 63
check "cancel it" alice -X POST "$NIMBUS_URL/api/v1/jobs/$JOB_CANCEL/cancel" -o /dev/null
released() { [ "$(jget "$1" "d['purpose']['charge']['state']")" = released ]; }
check "its charge is released" wait_until 15 released "$JOB_CANCEL"
check "CLIENT-A holds nothing, balance unchanged" \
  test "$(account CLIENT-A "(d['balance'], d['held'])")" = "(132, 0)"

# ---- an account restricted to some printers ----
check "account LOBBY-ONLY: invoiced, everyone, only printers granted" \
  new_account LOBBY-ONLY invoiced '"everyone":true,"restrict_printers":true'
check "printer lobby granted to it" boss -X PUT "$NIMBUS_URL/api/v1/billing-accounts/LOBBY-ONLY/printers/lobby"
JOB_RESTR=$(submit_for LOBBY-ONLY onepage.pdf)
check "released away from a printer (any of the queue): 403, in words" \
  test "$(code_of -X POST -u alice@acme:alice-pw-1 "$NIMBUS_URL/api/v1/jobs/$JOB_RESTR/release")" = 403
check "...the reason names the printers" grep -q 'only for some printers' "$CONN_DIR/last.json"

# ---- concurrency: exactly N of 3N ----
N=3
check "account RACE: prepaid, everyone" new_account RACE prepaid '"everyone":true'
# each job: 1 page colour one-sided 50 + service 10 + 3 = 63
check "RACE topped up with exactly $N jobs' worth" boss -X POST -H 'Content-Type: application/json' \
  -d "{\"amount\":$((63 * N))}" "$NIMBUS_URL/api/v1/billing-accounts/RACE/topup" -o /dev/null
RACE_JOBS=()
for _ in $(seq $((3 * N))); do
  RACE_JOBS+=("$(curl -fsS -u alice@acme:alice-pw-1 -F queue=office -F purpose=RACE \
    -F "document=@$NIMBUS_TEST_DATA/onepage.pdf" "$NIMBUS_URL/api/v1/jobs" | json_get "d['id']")")
done
RACE_PIDS=()
for j in "${RACE_JOBS[@]}"; do
  curl -sS -o /dev/null -w '%{http_code}\n' -X POST -u alice@acme:alice-pw-1 \
    "$NIMBUS_URL/api/v1/jobs/$j/release" >"$CONN_DIR/race-$j.code" &
  RACE_PIDS+=($!)
done
wait "${RACE_PIDS[@]}" # (not the servers this shell started)
race_count() { cat "$CONN_DIR"/race-*.code | grep -cx "$1" || true; }
check "exactly $N releases accepted" test "$(race_count 200)" = "$N"
check "the other $((2 * N)) refused with 402" test "$(race_count 402)" = "$((2 * N))"
check "RACE: all of its balance held, none beyond" \
  test "$(account RACE "(d['balance'], d['held'], d['available'])")" = "($((63 * N)), $((63 * N)), 0)"
check "printer back" conn_start lobby --output "$IPPEVE_URI"
race_done() { [ "$(account RACE "d['held']")" = 0 ]; }
check "the $N released jobs print and are charged" wait_until 60 race_done
check "RACE: balance exactly 0, never below" \
  test "$(account RACE "(d['balance'], d['held'])")" = "(0, 0)"
check "ledger balanced" ledger_balanced

# ---- private purpose: a saved Stripe payment method ----
check "payment provider: Stripe on nimbus-paysim (operator)" api PUT \
  '/api/v1/billing/provider?tenant=acme' -H 'Content-Type: application/json' \
  -d "{\"provider\":\"stripe\",\"credentials\":{\"secret_key\":\"$SK\",\"webhook_secrets\":[\"$WHSEC\"],\"api_base\":\"$PAYSIM_URL\"}}" -o /dev/null
register_method() {
  alice -X POST "$NIMBUS_URL/api/v1/me/payment-method" >"$CONN_DIR/method.json"
  local url csrf
  url=$(json_get "d['setup_url']" <"$CONN_DIR/method.json")
  csrf=$(curl -fsS "$url" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -1)
  curl -fsS -L -o "$CONN_DIR/after-setup.html" -d action=pay -d "csrf=$csrf" "$url"
  grep -q 'Payment method saved' "$CONN_DIR/after-setup.html"
}
check "alice registers a card on the provider's page" register_method
echo alice-pw-1 >"$CONN_DIR/alice-pw"
actl() { "$NIMBUSCTL" --url "$NIMBUS_URL" --user alice@acme --password-file "$CONN_DIR/alice-pw" "$@"; }
ctl_method_active() { actl payment-method show >"$CONN_DIR/ctl.out" && grep -q active "$CONN_DIR/ctl.out" && grep -q 4242 "$CONN_DIR/ctl.out"; }
check "nimbusctl payment-method show: active, visa ****4242" ctl_method_active
check "her method is active, shown as a card, no reference" \
  test "$(alice "$NIMBUS_URL/api/v1/me/payment-method" | json_get "(d['state'], 'pm_' in json.dumps(d))")" = "('active', False)"
JOB_OWN=$(submit_for own)
check "release the private job" release_job "$JOB_OWN"
check "private job completes" wait_until 30 job_is "$JOB_OWN" completed
check "private job charged to her card" wait_until 15 charged "$JOB_OWN"
check "ledger: the provider's clearing account debited" \
  test "$(entries_of "$JOB_OWN" ':clearing')" = 168
check "the simulator lists its saved-method charges" \
  curl -fsS "$PAYSIM_URL/sim/charges" -o "$CONN_DIR/charges.json"
check "...it took EUR 1.68 for the job exactly once" test "$(json_get "len([c for c in d['charges'] if c['amount'] == 168 and c.get('status', 'succeeded') == 'succeeded'])" <"$CONN_DIR/charges.json")" = 1
declined() { # JOB: charge-failed, with the provider's decline as the reason
  [ "$(jget "$1" "(d['purpose']['charge']['state'], 'declin' in d['purpose']['charge'].get('reason', ''))")" = "('charge-failed', True)" ]
}
decline_next() {
  local ref
  ref=$(json_get "d['charges'][-1]['ref']" <"$CONN_DIR/charges.json")
  curl -fsS -X POST -H 'Content-Type: application/json' -d "{\"ref\":\"$ref\",\"count\":-1}" \
    "$PAYSIM_URL/sim/decline-saved" -o /dev/null
}
check "the provider now declines her card" decline_next
JOB_DECL=$(submit_for own)
check "release another private job" release_job "$JOB_DECL"
check "it prints" wait_until 30 job_is "$JOB_DECL" completed
check "its charge failed: charge-failed, the reason names the decline" wait_until 15 declined "$JOB_DECL"
accept_again() {
  local ref
  ref=$(json_get "d['charges'][-1]['ref']" <"$CONN_DIR/charges.json")
  curl -fsS -X POST -H 'Content-Type: application/json' -d "{\"ref\":\"$ref\",\"count\":0}" \
    "$PAYSIM_URL/sim/decline-saved" -o /dev/null
}
log_state_of() { # JOB: its charge state in the print log (alice's own)
  alice "$NIMBUS_URL/api/v1/reports/print-log" |
    json_get "[r['charge_state'] for r in d['jobs'] if r['id'] == $1][0]"
}
# (retried every few seconds meanwhile: each check waits for the failed state)
log_failed() { [ "$(log_state_of "$JOB_DECL")" = charge-failed ]; }
check "the print log shows it charge-failed" wait_until 15 log_failed
ctl_job_has() { actl job show "$1" >"$CONN_DIR/ctl.out" && grep -Eq -- "$2" "$CONN_DIR/ctl.out"; }
check "nimbusctl job show: its purpose and charge-failed" \
  wait_until 15 ctl_job_has "$JOB_DECL" 'Purpose.*own \(private\): charge-failed'
check "the card is accepted again" accept_again
check "the retry charges it" wait_until 30 charged "$JOB_DECL"
check "ledger balanced" ledger_balanced
# reports match the ledger: per account, the charged totals
totals_of() { # BY KEY -> total
  boss "$NIMBUS_URL/api/v1/reports/totals?by=$1" |
    json_get "[r['total'] for r in d['rows'] if r['key'] == '$2'][0]"
}
check "report totals by account: CLIENT-A 168, CORP 35, RACE 189" \
  test "$(totals_of account CLIENT-A) $(totals_of account CORP) $(totals_of account RACE)" = "168 35 189"
check "report totals by purpose: own (private) 336" test "$(totals_of purpose own)" = 336
ledger_of() { # ACCOUNT-SUFFIX -> its ledger balance
  api GET '/api/v1/ledger/balances?all=1' |
    json_get "sum(b['balance'] for b in d['balances'] if b['account'].endswith('$1'))"
}
check "...and the ledger says the same (receivable:CORP 35, prepaid:RACE 0 after 189 topped up)" \
  test "$(ledger_of ':receivable:CORP') $(ledger_of ':prepaid:RACE')" = "35 0"
ctl_submit_purpose() {
  local id
  id=$(actl submit "$NIMBUS_TEST_DATA/onepage.pdf" --queue office --purpose "client a" --quiet) &&
    ctl_job_has "$id" 'client a \(account CLIENT-A\)'
}
check "nimbusctl submit --purpose: the job has it" ctl_submit_purpose
ctl_submit_refused() {
  if actl submit "$NIMBUS_TEST_DATA/onepage.pdf" --queue office --purpose nope \
    >"$CONN_DIR/ctl.out" 2>&1; then return 1; fi
  grep -q 'neither one of your purposes' "$CONN_DIR/ctl.out"
}
check "nimbusctl submit --purpose nope: refused with the reason" ctl_submit_refused
check "no secret in nimbusd's log" fails grep -q -e "$SK" -e "$WHSEC" "$NIMBUS_STATE.log"
finish test-billing-e2e
