#!/usr/bin/env bash
# Pay at the printer (issue 12, docs/PAYMENTS.md), end to end against real
# processes: nimbusd, nimbus-paysim (speaking LINE Pay v3 and Stripe),
# nimbus-connector and ippeveprinter.  For each provider (PROVIDERS,
# default "linepay stripe"), on a tenant whose queue takes payment at the
# printer:
#   - a submitted job shows its fee (REST charge, IPP job-charge-info);
#   - pay and print: the payment is reserved (job awaiting-payment), paid
#     on the simulator's page, verified by nimbusd with the provider, the
#     job prints byte-identical on ippeveprinter, the charge is posted;
#   - decline, cancel (the job is held again), a callback sent twice (one
#     release, one posting), a webhook before the reservation's reply, a
#     forged or mismatched confirm (nothing prints, audited), timeout then
#     paid (no callback: the reconciler asks the provider), timeout unpaid,
#     a print that fails (refunded once), kill -9 of nimbusd while a
#     payment waits (it converges after the restart);
#   - after every step the ledger sums to zero per currency.
set -euo pipefail
source "$(dirname "$0")/test-connector-common.sh"
source "$HERE/lib-paysim.sh"

PROVIDERS=${PROVIDERS:-linepay stripe}
LP_CHANNEL=1234567890
LP_SECRET=lp-channel-secret-$$-do-not-log
SK=sk_test_nimbus_$$_do_not_log
WHSEC=whsec_nimbus_$$_do_not_log

# A minute to pay (no step of the test comes near it); the timeout checks
# restart nimbusd with SHORT_TIMEOUT instead (restart_short, restart_long).
nimbusd_start --payment-timeout 60
SHORT_TIMEOUT=6
restart_short() { nimbusd_stop && nimbusd_restart --payment-timeout "$SHORT_TIMEOUT"; }
restart_long() { nimbusd_stop && nimbusd_restart; }
paysim_start --linepay-channel "$LP_CHANNEL:$LP_SECRET" --stripe-key "$SK" \
  --stripe-webhook "$NIMBUS_URL/api/v1/payments/stripe-webhook/acme=$WHSEC"

boss() { curl -fsS -u boss@acme:boss-pw-1 "$@"; }
alice() { curl -fsS -u alice@acme:alice-pw-1 "$@"; }
admin_job() { boss "$NIMBUS_URL/api/v1/jobs/$1"; }
jfield() { admin_job "$1" | json_get "$2"; }
job_state_is() { [ "$(jfield "$1" "d['state']")" = "$2" ]; }
pay_state_is() { [ "$(jfield "$1" "d.get('payment',{}).get('state')")" = "$2" ]; }

# ---- set-up: tenant, price table, queue taking payment, printer ----
check "tenant, users and queue" conn_setup_tenant
set_billing() {
  api PATCH '/api/v1/billing?tenant=acme' -H 'Content-Type: application/json' \
    -d "{\"currency\":\"$1\",\"service_fee_fixed\":$2,\"service_fee_bps\":$3}" |
    json_get "d['currency']" | grep -qx "$1"
}
# (JPY with LINE Pay: no minor unit; EUR with Stripe: two decimals)
TABLE_JPY='{"currency":"JPY","mode":"graduated","tiers":[{"from":1,"prices":{"a4":{"mono":{"one-sided":10,"two-sided":8},"color":{"one-sided":50,"two-sided":40}},"other":{"mono":{"one-sided":10},"color":{"one-sided":50}}}},{"from":3,"prices":{"a4":{"mono":{"one-sided":5,"two-sided":4},"color":{"one-sided":30,"two-sided":25}},"other":{"mono":{"one-sided":5},"color":{"one-sided":30}}}}]}'
TABLE_EUR=${TABLE_JPY//JPY/EUR}
make_table() {
  boss -X POST -H 'Content-Type: application/json' -d "{\"name\":\"$1\",\"table\":$2}" \
    "$NIMBUS_URL/api/v1/price-tables" | json_get "d['name']" | grep -qx "$1"
}
check "JPY price table" make_table shop-jpy "$TABLE_JPY"
check "EUR price table" make_table shop-eur "$TABLE_EUR"
queue_pricing() {
  boss -X PATCH -H 'Content-Type: application/json' \
    -d "{\"price_table\":\"$1\",\"payment\":\"at-printer\"}" "$NIMBUS_URL/api/v1/queues/office" |
    json_get "d['pricing']['price_table']" | grep -qx "$1"
}
set_provider() {
  local body
  if [ "$1" = linepay ]; then
    body="{\"provider\":\"linepay\",\"credentials\":{\"channel_id\":\"$LP_CHANNEL\",\"channel_secret\":\"$LP_SECRET\",\"api_base\":\"$PAYSIM_URL\"}}"
  else
    body="{\"provider\":\"stripe\",\"credentials\":{\"secret_key\":\"$SK\",\"webhook_secrets\":[\"$WHSEC\"],\"api_base\":\"$PAYSIM_URL\"}}"
  fi
  # api_base is the operator's: a tenant admin may not point nimbusd elsewhere
  curl -sS -o /dev/null -w '%{http_code}' -u boss@acme:boss-pw-1 -X PUT \
    -H 'Content-Type: application/json' -d "$body" "$NIMBUS_URL/api/v1/billing/provider" |
    grep -qx 403
  api PUT '/api/v1/billing/provider?tenant=acme' -f -H 'Content-Type: application/json' \
    -d "$body" >"$CONN_DIR/provider.json"
  json_get "d['provider']" <"$CONN_DIR/provider.json" | grep -qx "$1"
  # the secrets never come back
  ! grep -q -e "$LP_SECRET" -e "$SK" -e "$WHSEC" "$CONN_DIR/provider.json"
}
check "ippeveprinter is up" ippeve_start
check "register the printer" conn_register lobby "$(conn_claim lobby)"
check "connector runs" conn_start lobby --output "$IPPEVE_URI"

# ---- helpers for one payment ----
# the ledger sums to zero per currency (the operator's view of every book)
ledger_balanced() {
  api GET '/api/v1/ledger/balances?all=1' |
    json_get "all(v == 0 for v in d['totals'].values())" | grep -qx True
}
postings_of() { # JOB KIND: how many entries of that kind the job has
  boss "$NIMBUS_URL/api/v1/ledger?job=$1" |
    json_get "len([e for e in d['entries'] if e['kind'] == '$2'])"
}
start_payment() { # JOB: POST /jobs/{id}/payment -> prints the payment URL
  local code
  code=$(curl -sS -u alice@acme:alice-pw-1 -o "$CONN_DIR/pay.json" -w '%{http_code}' \
    -X POST "$NIMBUS_URL/api/v1/jobs/$1/payment")
  case $code in
    2??) ;;
    *) echo "POST /jobs/$1/payment: $code $(cat "$CONN_DIR/pay.json")" >&2 && return 1 ;;
  esac
  json_get "d['payment']['payment_url']" <"$CONN_DIR/pay.json"
}
tx_of_url() { echo "${1##*/}"; }
pay_quietly() { # URL: paid on the simulator, as its API (no page, no redirect)
  curl -fsS -o /dev/null -X POST "$PAYSIM_URL/sim/pay/$(tx_of_url "$1")"
}
page_csrf() { # URL: the simulator's page, its form's CSRF token
  curl -fsS "$1" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -1
}
pay_on_page() { # URL: open the simulator's page and press Pay, as a phone would
  local csrf
  csrf=$(page_csrf "$1")
  curl -fsS -L -o "$CONN_DIR/after-pay.html" -d action=pay -d "csrf=$csrf" "$1"
}
decline_on_page() {
  local csrf
  csrf=$(page_csrf "$1")
  curl -fsS -L -o /dev/null -d action=decline -d "csrf=$csrf" "$1"
}
printed_same() { # the newest printed file is the document, byte for byte
  local f
  f=$(ls -t "$IPPEVE_PRINTED"/* | head -1)
  cmp -s "$f" "$NIMBUS_TEST_DATA/$1"
}

for P in $PROVIDERS; do
  if [ "$P" = linepay ]; then CUR=JPY; TABLE=shop-jpy; else CUR=EUR; TABLE=shop-eur; fi
  check "[$P] tenant currency $CUR, service fee 10 + 5%" set_billing "$CUR" 10 500
  check "[$P] queue office takes payment at the printer with $TABLE" queue_pricing "$TABLE"
  check "[$P] payment provider set by the operator (api_base), secrets not shown" set_provider "$P"

  # -- the fee of a submitted job: 3 pages, colour, one-sided, graduated:
  #    2 x 50 + 1 x 30 = 130; service 10 + round(130 x 5%) = 10 + 7 = 17
  JOB=$(submit_job threepage.pdf)
  check "[$P] job $JOB is held" job_state_is "$JOB" held
  check "[$P] REST charge: print 130 + service 17 = 147 $CUR" \
    test "$(jfield "$JOB" "(d['charge']['print_fee'], d['charge']['service_fee'], d['charge']['total'], d['charge']['currency'])")" = "(130, 17, 147, '$CUR')"
  if [ "$CUR" = JPY ]; then CTEXT="JPY 147 (print 130 + service 17)"; else CTEXT="EUR 1.47 (print 1.30 + service 0.17)"; fi
  ipp_charge() {
    ipptool -tv -T 10 -d job-id="$JOB" -d charge-text="$CTEXT" -d charge-total=147 \
      -d charge-currency="$(echo "$CUR" | tr A-Z a-z)" \
      "ipp://boss:boss-pw-1@127.0.0.1:$NIMBUS_PORT/ipp/print/acme/office" \
      "$HERE/ipp/get-job-charge.test" >"$CONN_DIR/ipp-charge.out"
  }
  check "[$P] IPP Get-Job-Attributes: job-charge-info and nimbus-job-charge-total" ipp_charge

  # -- pay and print
  URL=$(start_payment "$JOB")
  check "[$P] payment reserved: a payment URL on the simulator" test "${URL#"$PAYSIM_URL"}" != "$URL"
  check "[$P] job awaiting payment" job_state_is "$JOB" awaiting-payment
  check "[$P] payment pending" pay_state_is "$JOB" pending
  BEFORE=$(ippeve_printed_count)
  check "[$P] the user pays on the simulator's page" pay_on_page "$URL"
  check "[$P] verified: the job prints" wait_until "job $JOB completed" job_state_is "$JOB" completed
  check "[$P] printed byte-identical" printed_same threepage.pdf
  check "[$P] one more document printed" test "$(ippeve_printed_count)" = $((BEFORE + 1))
  check "[$P] payment settled" wait_until "settled" pay_state_is "$JOB" settled
  check "[$P] one payment posting, one charge posting" \
    test "$(postings_of "$JOB" payment) $(postings_of "$JOB" charge)" = "2 3"
  check "[$P] ledger balanced" ledger_balanced

  # -- decline: the job is held again, nothing posted
  JOB=$(submit_job onepage.pdf)
  URL=$(start_payment "$JOB")
  check "[$P] decline on the page" decline_on_page "$URL"
  if [ "$P" = linepay ]; then
    # LINE Pay sends the browser to our cancel URL; nimbusd asks the
    # provider, which says failed: the payment ends, the job is held
    check "[$P] declined: payment failed" wait_until "failed" pay_state_is "$JOB" failed
  else
    # Stripe keeps the session open after a declined card: the user cancels
    cancel_declined() { alice -X DELETE "$NIMBUS_URL/api/v1/jobs/$JOB/payment" >/dev/null; }
    check "[$P] declined: the user cancels" cancel_declined
  fi
  check "[$P] declined job held again" job_state_is "$JOB" held
  check "[$P] nothing posted for it" test "$(postings_of "$JOB" payment)" = 0
  check "[$P] ledger balanced" ledger_balanced

  # -- a forged confirm / webhook never prints
  forged() {
    if [ "$P" = linepay ]; then
      curl -sS -o /dev/null -w '%{http_code}' \
        "$NIMBUS_URL/api/v1/payments/linepay-confirm?transactionId=2026120400000000001&orderId=NOPE-1" |
        grep -qx 404
    else
      curl -sS -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        -H 'Stripe-Signature: t=1,v1=00' -d '{"id":"evt_x","type":"checkout.session.completed"}' \
        "$NIMBUS_URL/api/v1/payments/stripe-webhook/acme" | grep -qx 400
    fi
  }
  check "[$P] a forged callback is refused" forged
  refused_audited() {
    [ "$(nimbus_sql "SELECT count(*) FROM audit WHERE action = 'payment-callback-refused'")" -ge 1 ]
  }
  check "[$P] and audited" refused_audited
  refused_counted() {
    curl -fsS "$NIMBUS_URL/metrics" |
      awk '$1 == "nimbus_payment_callbacks_refused_total" { ok = $2 >= 1 } END { exit !ok }'
  }
  check "[$P] and counted in /metrics" refused_counted
  # the job reused: pay it now (the second attempt of its payment)
  URL=$(start_payment "$JOB")
  check "[$P] the job's second attempt pays and prints" pay_on_page "$URL"
  check "[$P] second attempt printed" wait_until "job $JOB completed" job_state_is "$JOB" completed
  check "[$P] ledger balanced" ledger_balanced

  # -- a callback sent twice: one release, one posting
  JOB=$(submit_job onepage.pdf)
  URL=$(start_payment "$JOB")
  TX=$(tx_of_url "$URL")
  check "[$P] the simulator will call back twice" paysim_behaviour "{\"scope\":\"$TX\",\"double_callback\":true}"
  check "[$P] pay" pay_on_page "$URL"
  if [ "$P" = linepay ]; then
    # LINE Pay's confirm URL is the browser's redirect: the same again
    ORDER=$(jfield "$JOB" "d['payment']['order_id']")
    check "[$P] the confirm URL again" curl -fsS -o /dev/null \
      "$NIMBUS_URL/api/v1/payments/linepay-confirm?transactionId=$TX&orderId=$ORDER"
  fi
  check "[$P] printed once" wait_until "job $JOB completed" job_state_is "$JOB" completed
  check "[$P] one payment posting for the job" test "$(postings_of "$JOB" payment)" = 2
  check "[$P] ledger balanced" ledger_balanced

  # -- cancel at the panel / by the owner: held again, the provider told
  JOB=$(submit_job onepage.pdf)
  URL=$(start_payment "$JOB")
  cancel_payment() {
    alice -X DELETE "$NIMBUS_URL/api/v1/jobs/$JOB/payment" | json_get "d['state']" | grep -qx canceled
  }
  check "[$P] cancel the payment" cancel_payment
  check "[$P] canceled job held again" job_state_is "$JOB" held
  # canceled at the provider too: the simulator refuses to take it (409)
  pay_refused() {
    [ "$(curl -sS -o /dev/null -w '%{http_code}' -X POST "$PAYSIM_URL/sim/pay/$(tx_of_url "$URL")")" = 409 ]
  }
  check "[$P] the provider no longer takes a payment for it" pay_refused
  check "[$P] and the job is still held" job_state_is "$JOB" held

  # -- the print fails: refunded once
  JOB=$(submit_job onepage.pdf)
  touch "$IPPEVE_FAIL"
  URL=$(start_payment "$JOB")
  check "[$P] pay for a job the printer will fail" pay_on_page "$URL"
  check "[$P] the job is aborted" wait_until "job $JOB aborted" job_state_is "$JOB" aborted
  rm -f "$IPPEVE_FAIL"
  check "[$P] refunded" wait_until "refunded" pay_state_is "$JOB" refunded
  check "[$P] one refund posting" test "$(postings_of "$JOB" refund)" = 2
  check "[$P] ledger balanced" ledger_balanced

  # ---- timeouts: nimbusd again with a short --payment-timeout ----
  # Until now the test had a minute to pay: a slow machine must not make a
  # payment time out while the test is still checking its state.  Below,
  # the simulator never calls back, and each payment is paid the moment it
  # is created (one request after the reservation, or while nimbusd is
  # down), so nimbusd learns of it only when the timeout makes it ask.
  check "[$P] nimbusd restarts with --payment-timeout $SHORT_TIMEOUT" restart_short
  check "[$P] the simulator stops calling back" \
    paysim_behaviour '{"scope":"global","no_callback":true}'

  # -- timeout then paid: no callback, the reconciler asks the provider
  JOB=$(submit_job onepage.pdf)
  URL=$(start_payment "$JOB")
  check "[$P] paid without a callback" pay_quietly "$URL"
  check "[$P] after the timeout nimbusd finds it paid: it prints" \
    wait_until "job $JOB completed" job_state_is "$JOB" completed
  check "[$P] one payment posting" test "$(postings_of "$JOB" payment)" = 2
  check "[$P] ledger balanced" ledger_balanced

  # -- kill -9 while a payment waits: paid meanwhile, it converges after
  JOB=$(submit_job onepage.pdf)
  URL=$(start_payment "$JOB")
  nimbusd_kill9
  check "[$P] paid while nimbusd is down" pay_quietly "$URL"
  check "[$P] nimbusd restarts" nimbusd_restart --payment-timeout "$SHORT_TIMEOUT"
  check "[$P] the paid job prints after the restart" \
    wait_until "job $JOB completed" job_state_is "$JOB" completed
  check "[$P] one payment posting after the crash" test "$(postings_of "$JOB" payment)" = 2
  settled_counted() {
    curl -fsS "$NIMBUS_URL/metrics" |
      awk '$1 == "nimbus_payments_total{state=\"settled\"}" { ok = $2 >= 1 } END { exit !ok }'
  }
  check "[$P] /metrics counts the settled payment" wait_until "settled counted" settled_counted
  check "[$P] ledger balanced" ledger_balanced

  # -- timeout unpaid: canceled, held again, reason timeout
  JOB=$(submit_job onepage.pdf)
  start_payment "$JOB" >/dev/null
  check "[$P] unpaid after the timeout: held again" wait_until "held" job_state_is "$JOB" held
  check "[$P] reason timeout" test "$(jfield "$JOB" "d['payment']['reason']")" = timeout
  check "[$P] the simulator calls back again" \
    paysim_behaviour '{"scope":"global","no_callback":false}'
  check "[$P] nimbusd restarts with its first flags" restart_long
  check "[$P] ledger balanced" ledger_balanced
done

check "no secret in nimbusd's log" bash -c "! grep -q -e '$LP_SECRET' -e '$SK' -e '$WHSEC' '$NIMBUS_STATE.log'"
check "connector stops cleanly" conn_stop lobby
check "paysim stops cleanly" paysim_stop
check "nimbusd stops cleanly" nimbusd_stop
finish payments
