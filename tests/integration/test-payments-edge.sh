#!/usr/bin/env bash
# Pay at the printer, the edge cases (issue 12, docs/PAYMENTS.md), end to
# end against nimbusd, nimbus-paysim (Stripe wire format), nimbus-connector
# and ippeveprinter; test-payments.sh has the ordinary flows.  Tenant acme
# (and for the tenant case beta) pays with Stripe through the simulator:
#   1. the webhook arrives before the reservation's reply: printed once,
#      one payment posting;
#   2. a session of the same order at another amount, paid, and a correctly
#      signed webhook naming it: not released, audited, nothing posted;
#   3. another tenant's secret on acme's endpoint: 400; beta's correctly
#      signed event naming acme's order on beta's endpoint: not applied;
#   4. kill -9 of nimbusd right after the callback was accepted (the
#      connector paused so the job waits): printed once, one posting;
#   5. kill -9 during printing (the printer holds the job): completed, the
#      charge posted once;
#   6. the provider answers 500 on reserve: the payment start answers an
#      error, the job stays held and REST says why; then it works;
#   7. the provider hangs: the reserve gives up after the HTTP timeout (10 s)
#      and the job is held again.
# After every case the ledger sums to zero per currency.
set -euo pipefail
source "$(dirname "$0")/test-connector-common.sh"
source "$HERE/lib-paysim.sh"

SK=sk_test_edge_$$_do_not_log
SK_B=sk_test_edge_beta_$$_do_not_log
WHSEC=whsec_edge_acme_$$_do_not_log
WHSEC_B=whsec_edge_beta_$$_do_not_log

nimbusd_start --payment-timeout 120
paysim_start --stripe-key "$SK" --stripe-key "$SK_B" \
  --stripe-webhook "$NIMBUS_URL/api/v1/payments/stripe-webhook/acme=$WHSEC"

boss() { curl -fsS -u boss@acme:boss-pw-1 "$@"; }
alice() { curl -fsS -u alice@acme:alice-pw-1 "$@"; }
jfield() { boss "$NIMBUS_URL/api/v1/jobs/$1" | json_get "$2"; }
job_state_is() { [ "$(jfield "$1" "d['state']")" = "$2" ]; }
pay_state_is() { [ "$(jfield "$1" "d.get('payment',{}).get('state')")" = "$2" ]; }

# ---- set-up: tenant acme, EUR prices, a queue taking payment, a printer ----
check "tenant, users and queue" conn_setup_tenant
check "EUR, service fee 10 + 5%" bash -c "curl -fsS -X PATCH -u 'admin@system:$NIMBUS_ADMIN_PASSWORD' \
  -H 'Content-Type: application/json' -d '{\"currency\":\"EUR\",\"service_fee_fixed\":10,\"service_fee_bps\":500}' \
  '$NIMBUS_URL/api/v1/billing?tenant=acme' >/dev/null"
TABLE='{"currency":"EUR","mode":"graduated","tiers":[{"from":1,"prices":{"a4":{"mono":{"one-sided":10},"color":{"one-sided":50}},"other":{"mono":{"one-sided":10},"color":{"one-sided":50}}}}]}'
check "price table" boss -o /dev/null -X POST -H 'Content-Type: application/json' \
  -d "{\"name\":\"shop\",\"table\":$TABLE}" "$NIMBUS_URL/api/v1/price-tables"
check "queue office takes payment at the printer" boss -o /dev/null -X PATCH \
  -H 'Content-Type: application/json' -d '{"price_table":"shop","payment":"at-printer"}' \
  "$NIMBUS_URL/api/v1/queues/office"
# (api_base is the operator's to set: the operator points acme at paysim)
check "acme pays with Stripe (the simulator)" api PUT '/api/v1/billing/provider?tenant=acme' \
  -f -o /dev/null -H 'Content-Type: application/json' \
  -d "{\"provider\":\"stripe\",\"credentials\":{\"secret_key\":\"$SK\",\"webhook_secrets\":[\"$WHSEC\"],\"api_base\":\"$PAYSIM_URL\"}}"
check "ippeveprinter is up" ippeve_start
check "register the printer" conn_register lobby "$(conn_claim lobby)"
check "connector runs" conn_start lobby --output "$IPPEVE_URI"

# ---- helpers ----
# (each case says on stderr when it starts: the script's wall time is a budget)
case_start() { echo "== case $1 at ${SECONDS}s" >&2; }
ledger_balanced() {
  api GET '/api/v1/ledger/balances?all=1' |
    json_get "all(v == 0 for v in d['totals'].values())" | grep -qx True
}
postings_of() { # JOB KIND: how many entries of that kind the job has
  boss "$NIMBUS_URL/api/v1/ledger?job=$1" |
    json_get "len([e for e in d['entries'] if e['kind'] == '$2'])"
}
entries_total() { api GET '/api/v1/ledger?all=1' | json_get "len(d['entries'])"; }
start_payment() { # JOB: POST /jobs/{id}/payment -> prints the payment URL
  alice -X POST "$NIMBUS_URL/api/v1/jobs/$1/payment" >"$CONN_DIR/pay.json"
  json_get "d['payment'].get('payment_url', '')" <"$CONN_DIR/pay.json"
}
tx_of_url() { echo "${1##*/}"; }
pay_quietly() { curl -fsS -o /dev/null -X POST "$PAYSIM_URL/sim/pay/$1"; }
audits() { nimbus_sql "SELECT count(*) FROM audit WHERE action = '$1'"; }
# sign BODY_FILE SECRET: a Stripe-Signature header value for the raw body
sign() {
  python3 - "$1" "$2" <<'PY'
import hashlib, hmac, sys, time
body = open(sys.argv[1], 'rb').read()
t = str(int(time.time()))
mac = hmac.new(sys.argv[2].encode(), t.encode() + b'.' + body, hashlib.sha256).hexdigest()
print(f't={t},v1={mac}')
PY
}
# post_webhook TENANT BODY_FILE SECRET: the HTTP status of the delivery
post_webhook() {
  curl -sS -o "$CONN_DIR/webhook.out" -w '%{http_code}' -X POST \
    -H 'Content-Type: application/json' -H "Stripe-Signature: $(sign "$2" "$3")" \
    --data-binary "@$2" "$NIMBUS_URL/api/v1/payments/stripe-webhook/$1"
}
# event_file SESSION ORDER: a checkout.session.completed event naming them
event_file() {
  local f="$CONN_DIR/event-$1.json"
  printf '{"id":"evt_edge_%s","object":"event","type":"checkout.session.completed","created":%s,"data":{"object":{"id":"%s","object":"checkout.session","client_reference_id":"%s","metadata":{"order_id":"%s"},"payment_status":"paid","status":"complete"}}}' \
    "$1" "$(date +%s)" "$1" "$2" "$2" >"$f"
  echo "$f"
}

# ---- 7. the provider hangs: the reserve gives up after the HTTP timeout
# (first, so that the simulator's hung request is over long before it stops)
case_start 7
JOB=$(submit_job onepage.pdf)
check "[7] the simulator hangs on every call" paysim_behaviour '{"scope":"global","timeout":true}'
hang_start() {
  local t0 t1 code
  t0=$(date +%s)
  code=$(curl -sS -o "$CONN_DIR/hang.json" -w '%{http_code}' -u alice@acme:alice-pw-1 -X POST \
    "$NIMBUS_URL/api/v1/jobs/$JOB/payment")
  t1=$(date +%s)
  echo "payment start answered $code after $((t1 - t0)) s" >&2
  [ "$code" = 409 ] && [ $((t1 - t0)) -ge 9 ] && [ $((t1 - t0)) -le 25 ]
}
check "[7] the payment start gives up after about 10 s with an error" hang_start
check "[7] it says the payment service did not answer" grep -q "did not answer" "$CONN_DIR/hang.json"
check "[7] the job is held again" job_state_is "$JOB" held
check "[7] REST says why: provider-unavailable" \
  test "$(jfield "$JOB" "(d['payment']['state'], d['payment']['reason'])")" = "('canceled', 'provider-unavailable')"
check "[7] the simulator answers again" paysim_behaviour '{"scope":"global","timeout":false}'
nothing_posted() { [ "$(entries_total)" = 0 ] && ledger_balanced; }
check "[7] nothing posted, ledger balanced" nothing_posted

# ---- 6. the provider answers 500 on reserve
case_start 6
check "[6] the simulator answers 500" paysim_behaviour '{"scope":"global","http_500":true}'
fail_start() {
  local code
  code=$(curl -sS -o "$CONN_DIR/500.json" -w '%{http_code}' -u alice@acme:alice-pw-1 -X POST \
    "$NIMBUS_URL/api/v1/jobs/$JOB/payment")
  [ "$code" = 409 ] && grep -q "did not answer" "$CONN_DIR/500.json"
}
check "[6] the payment start answers an error" fail_start
check "[6] the job stays held" job_state_is "$JOB" held
check "[6] REST says why: provider-unavailable (attempt 2)" \
  test "$(jfield "$JOB" "(d['payment']['state'], d['payment']['reason'], d['payment']['attempt'])")" = "('canceled', 'provider-unavailable', 2)"
check "[6] no 500 any more" paysim_behaviour '{"scope":"global","http_500":false}'
URL=$(start_payment "$JOB")
check "[6] now the payment starts" test -n "$URL"
BEFORE=$(ippeve_printed_count)
check "[6] pay" pay_quietly "$(tx_of_url "$URL")"
check "[6] it prints" wait_until "job $JOB completed" job_state_is "$JOB" completed
check "[6] settled" wait_until "settled" pay_state_is "$JOB" settled
check "[6] one payment and one charge posting" \
  test "$(postings_of "$JOB" payment) $(postings_of "$JOB" charge)" = "2 3"
check "[6] printed once" test "$(ippeve_printed_count)" = $((BEFORE + 1))
check "[6] ledger balanced" ledger_balanced

# ---- 1. the webhook before the reservation's reply
case_start 1
check "[1] the simulator pays at once and calls back before it answers" \
  paysim_behaviour '{"scope":"global","auto_pay":true,"early_webhook":true}'
JOB=$(submit_job onepage.pdf)
BEFORE=$(ippeve_printed_count)
check "[1] start the payment" alice -o "$CONN_DIR/pay.json" -X POST "$NIMBUS_URL/api/v1/jobs/$JOB/payment"
check "[1] back to normal" paysim_behaviour '{"scope":"global","auto_pay":false,"early_webhook":false}'
# the reservation's reply came after the webhook: the start already
# answers the payment paid
check "[1] the payment start answers it paid already" \
  test "$(json_get "d['payment']['state']" <"$CONN_DIR/pay.json")" = paid
check "[1] it prints" wait_until "job $JOB completed" job_state_is "$JOB" completed
check "[1] settled" wait_until "settled" pay_state_is "$JOB" settled
check "[1] printed exactly once" test "$(ippeve_printed_count)" = $((BEFORE + 1))
check "[1] one payment posting" test "$(postings_of "$JOB" payment)" = 2
check "[1] one charge posting" test "$(postings_of "$JOB" charge)" = 3
check "[1] ledger balanced" ledger_balanced

# ---- 2. the same order at another amount: a session made at the simulator
# directly (as if someone replayed our order id), paid, and a correctly
# signed webhook naming that session and our order
case_start 2
JOB=$(submit_job onepage.pdf)
URL=$(start_payment "$JOB")
ORDER=$(jfield "$JOB" "d['payment']['order_id']")
AMOUNT=$(jfield "$JOB" "d['payment']['amount']")
other_session() {
  curl -fsS -H "Authorization: Bearer $SK" -X POST "$PAYSIM_URL/v1/checkout/sessions" \
    -d mode=payment -d 'line_items[0][price_data][currency]=eur' \
    -d 'line_items[0][price_data][unit_amount]=1' \
    -d 'line_items[0][price_data][product_data][name]=cheap' -d 'line_items[0][quantity]=1' \
    -d success_url=http://127.0.0.1:9/ok -d cancel_url=http://127.0.0.1:9/no \
    -d "client_reference_id=$ORDER" -d "metadata[order_id]=$ORDER" >"$CONN_DIR/other.json"
  OTHER=$(json_get "d['id']" <"$CONN_DIR/other.json")
  [ -n "$OTHER" ] && [ "$OTHER" != "$(tx_of_url "$URL")" ]
}
check "[2] a session of order $ORDER at 1 cent (ours is $AMOUNT)" other_session
check "[2] the simulator sends nothing for it" paysim_behaviour "{\"scope\":\"$OTHER\",\"no_callback\":true}"
check "[2] it is paid at the simulator" pay_quietly "$OTHER"
REFUSED=$(audits payment-callback-refused)
MISMATCH=$(audits payment-amount-mismatch)
EV=$(event_file "$OTHER" "$ORDER")
check "[2] the signed webhook naming it is refused" test "$(post_webhook acme "$EV" "$WHSEC")" = 400
check "[2] and audited" \
  test $(($(audits payment-callback-refused) + $(audits payment-amount-mismatch))) -gt $((REFUSED + MISMATCH))
check "[2] the job is not released" job_state_is "$JOB" awaiting-payment
check "[2] the payment still pending" pay_state_is "$JOB" pending
check "[2] nothing posted" test "$(postings_of "$JOB" payment)" = 0
check "[2] ledger balanced" ledger_balanced
# ours, paid for real afterwards, still works
check "[2] the real session paid" pay_quietly "$(tx_of_url "$URL")"
check "[2] then it prints" wait_until "job $JOB completed" job_state_is "$JOB" completed
check "[2] with one payment posting of the right amount" \
  test "$(boss "$NIMBUS_URL/api/v1/ledger?job=$JOB" | json_get "[e['amount'] for e in d['entries'] if e['kind'] == 'payment' and e['amount'] > 0]")" = "[$AMOUNT]"
check "[2] ledger balanced" ledger_balanced

# ---- 3. two tenants on Stripe, another tenant's secret and order
case_start 3
beta_setup() {
  local body
  for body in '/api/v1/tenants {"name":"beta"}' \
    '/api/v1/users?tenant=beta {"name":"bob","password":"bob-pw-1","role":"tenant-admin"}'; do
    api POST "${body%% *}" -H 'Content-Type: application/json' -d "${body#* }" -o /dev/null \
      -w '%{http_code}' | grep -qx 201 || return 1
  done
  api PUT '/api/v1/billing/provider?tenant=beta' -f -o /dev/null \
    -H 'Content-Type: application/json' \
    -d "{\"provider\":\"stripe\",\"credentials\":{\"secret_key\":\"$SK_B\",\"webhook_secrets\":[\"$WHSEC_B\"],\"api_base\":\"$PAYSIM_URL\"}}"
}
check "[3] tenant beta pays with Stripe too, its own webhook secret" beta_setup
JOB=$(submit_job onepage.pdf)
URL=$(start_payment "$JOB")
TX=$(tx_of_url "$URL")
ORDER=$(jfield "$JOB" "d['payment']['order_id']")
check "[3] the simulator sends nothing for acme's session" paysim_behaviour "{\"scope\":\"$TX\",\"no_callback\":true}"
check "[3] acme's session is paid" pay_quietly "$TX"
EV=$(event_file "$TX" "$ORDER")
REFUSED=$(audits payment-callback-refused)
check "[3] beta's secret on acme's endpoint: 400" test "$(post_webhook acme "$EV" "$WHSEC_B")" = 400
check "[3] audited" test "$(audits payment-callback-refused)" -gt "$REFUSED"
check "[3] beta's signed event naming acme's order on beta's endpoint: accepted" \
  test "$(post_webhook beta "$EV" "$WHSEC_B")" = 200
check "[3] but not applied: acme's job still awaits payment" job_state_is "$JOB" awaiting-payment
check "[3] and its payment is pending" pay_state_is "$JOB" pending
check "[3] nothing posted" test "$(postings_of "$JOB" payment)" = 0
check "[3] ledger balanced" ledger_balanced
check "[3] acme's own signed webhook releases it" test "$(post_webhook acme "$EV" "$WHSEC")" = 200
check "[3] it prints" wait_until "job $JOB completed" job_state_is "$JOB" completed
check "[3] one payment posting" test "$(postings_of "$JOB" payment)" = 2
check "[3] ledger balanced" ledger_balanced

# ---- 4. kill -9 right after the callback was accepted
case_start 4
JOB=$(submit_job onepage.pdf)
URL=$(start_payment "$JOB")
TX=$(tx_of_url "$URL")
BEFORE=$(ippeve_printed_count)
check "[4] the connector paused (the job waits to be fetched)" kill -STOP "$(conn_pid lobby)"
check "[4] pay (the simulator sends the webhook)" pay_quietly "$TX"
paid_waiting() { job_state_is "$JOB" fetchable && pay_state_is "$JOB" paid; }
check "[4] the callback accepted: paid, fetchable" wait_until "paid" paid_waiting
nimbusd_kill9
check "[4] nimbusd restarts" nimbusd_restart
check "[4] the connector goes on" kill -CONT "$(conn_pid lobby)"
check "[4] the job prints" wait_until "job $JOB completed" job_state_is "$JOB" completed
check "[4] settled" wait_until "settled" pay_state_is "$JOB" settled
check "[4] printed exactly once" test "$(ippeve_printed_count)" = $((BEFORE + 1))
check "[4] one payment posting, one charge posting" \
  test "$(postings_of "$JOB" payment) $(postings_of "$JOB" charge)" = "2 3"
check "[4] ledger balanced" ledger_balanced

# ---- 5. kill -9 during printing
case_start 5
JOB=$(submit_job onepage.pdf)
URL=$(start_payment "$JOB")
BEFORE=$(ippeve_printed_count)
touch "$IPPEVE_HOLD"
check "[5] pay" pay_quietly "$(tx_of_url "$URL")"
check "[5] the printer is printing it" wait_until "job $JOB processing" job_state_is "$JOB" processing
check "[5] paid, nothing charged yet" \
  test "$(jfield "$JOB" "d['payment']['state']") $(postings_of "$JOB" charge)" = "paid 0"
nimbusd_kill9
check "[5] nimbusd restarts" nimbusd_restart
rm -f "$IPPEVE_HOLD"
check "[5] the job completes" wait_until "job $JOB completed" job_state_is "$JOB" completed
check "[5] settled" wait_until "settled" pay_state_is "$JOB" settled
check "[5] printed exactly once" test "$(ippeve_printed_count)" = $((BEFORE + 1))
check "[5] the charge posted once, the payment once" \
  test "$(postings_of "$JOB" payment) $(postings_of "$JOB" charge)" = "2 3"
check "[5] no refund" test "$(postings_of "$JOB" refund)" = 0
check "[5] ledger balanced" ledger_balanced

check "no secret in nimbusd's log" \
  bash -c "! grep -q -e '$SK' -e '$SK_B' -e '$WHSEC' -e '$WHSEC_B' '$NIMBUS_STATE.log'"
check "connector stops cleanly" conn_stop lobby
check "paysim stops cleanly" paysim_stop
check "nimbusd stops cleanly" nimbusd_stop
echo "== done at ${SECONDS}s" >&2
finish payments-edge
