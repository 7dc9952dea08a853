#!/usr/bin/env bash
#
# Integration test of nimbusctl's money commands (issue 12) against a real
# nimbusd: a running one, or one it starts itself.
#
# Environment: as tests/integration/test-nimbusctl.sh (NIMBUS_URL,
# NIMBUS_USER, NIMBUS_PASSWORD of an operator, or NIMBUSD to start one;
# NIMBUS_TEST_DATA with onepage-30k.pdf; NIMBUSCTL).
#
# In a new tenant: a tenant admin sets the currency (EUR) and the operator
# the service fee (0.20 + 10 %); the admin creates a price table from a
# file (0.10 per A4 impression) and gives it to a queue with payment
# at-printer; a user submits a 1-page job in 2 copies, and "job show"
# must print "EUR 0.42 (print 0.20 + service 0.22)".  The ledger lists as
# CSV with its header line.  Secrets given to "payment-provider set" (both
# providers, from files, standard input and the environment) must never
# appear in "payment-provider show" (table or --json), nor in nimbusd's
# log, nor (SQLite) in clear in its database.  Money mistakes on the
# command line are refused before anything is sent: an amount with more
# decimals than the currency has, a price table with a fractional price.
# Stops at the first failed check with a message naming it.
#

set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
self_started=
if [ -z "${NIMBUS_URL:-}" ]; then
  if [ -z "${NIMBUSD:-}" ] && [ -x "$top/build/src/server/nimbusd" ]; then
    NIMBUSD=$top/build/src/server/nimbusd
  fi
  : "${NIMBUSD:?set NIMBUS_URL to a running nimbusd, or NIMBUSD to a nimbusd binary to start}"
  # Defines check/finish too: this script's own check (below) replaces it.
  source "$(dirname "$0")/lib-nimbusd.sh"
  nimbusd_start || { echo "test-nimbusctl-money: could not start nimbusd" >&2; exit 1; }
  self_started=1
  NIMBUS_USER=admin@system
  NIMBUS_PASSWORD=$NIMBUS_ADMIN_PASSWORD
fi

: "${NIMBUS_URL:?set NIMBUS_URL to the running nimbusd}"
: "${NIMBUS_USER:?set NIMBUS_USER to an operator NAME@TENANT}"
: "${NIMBUS_PASSWORD:?set NIMBUS_PASSWORD to the operator password}"
: "${NIMBUS_TEST_DATA:?set NIMBUS_TEST_DATA to the test data directory}"
export NIMBUS_URL NIMBUS_USER NIMBUS_PASSWORD
unset NIMBUS_TOKEN NIMBUS_LINEPAY_CHANNEL_SECRET NIMBUS_STRIPE_SECRET_KEY NIMBUS_STRIPE_WEBHOOK_SECRET

if [ -z "${NIMBUSCTL:-}" ]; then
  if [ -x "$top/build/src/cli/nimbusctl" ]; then
    NIMBUSCTL=$top/build/src/cli/nimbusctl
  else
    NIMBUSCTL=nimbusctl
  fi
fi

document=$NIMBUS_TEST_DATA/onepage-30k.pdf
[ -r "$document" ] || { echo "test-nimbusctl-money: cannot read $document" >&2; exit 1; }

passed=0
work=$(mktemp -d)
tenant="money-$$-$RANDOM"
queue=paid
pin=4711
csv_header="id,posting_id,created_at,kind,account,currency,amount_minor,amount,job_id,memo"

cleanup() {
  if [ -n "$tenant" ]; then
    "$NIMBUSCTL" tenant delete "$tenant" >/dev/null 2>&1
  fi
  rm -rf "$work"
  if [ -n "$self_started" ]; then _lib_cleanup; fi
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  if [ -s "$work/err" ]; then
    echo "  stderr: $(cat "$work/err")" >&2
  fi
  echo "nimbusctl-money: $passed passed, 1 failed" >&2
  exit 1
}

pass() {
  passed=$((passed + 1))
  echo "ok $passed - $*"
}

# run ARGS...: run nimbusctl, stdout to $work/out, stderr to $work/err, status in $rc.
run() {
  "$NIMBUSCTL" "$@" >"$work/out" 2>"$work/err"
  rc=$?
}

# expect_ok DESCRIPTION ARGS...: nimbusctl must succeed.
expect_ok() {
  local what=$1
  shift
  run "$@"
  [ "$rc" -eq 0 ] || fail "$what: 'nimbusctl $*' exited $rc, expected 0"
}

# expect_status DESCRIPTION STATUS ARGS...: nimbusctl must exit with STATUS.
expect_status() {
  local what=$1 want=$2
  shift 2
  run "$@"
  [ "$rc" -eq "$want" ] || fail "$what: 'nimbusctl $*' exited $rc, expected $want"
}

# json EXPR: evaluate a Python expression over the JSON document in $work/out
# (bound to d) and print the result.
json() {
  python3 -c '
import json, sys
try:
    d = json.load(open(sys.argv[1]))
    print(eval(sys.argv[2], {"d": d}))
except Exception as e:
    print("<%s: %s>" % (type(e).__name__, e))
    sys.exit(1)
' "$work/out" "$1"
}

# check DESCRIPTION EXPR WANT: the JSON expression must print WANT.
check() {
  local got
  got=$(json "$2")
  [ "$got" = "$3" ] || fail "$1: $2 is '$got', expected '$3'"
}

# line DESCRIPTION LABEL VALUE: $work/out has the record line "LABEL: VALUE"
# (any alignment).
line() {
  grep -Eq "^$2: +$(printf '%s' "$3" | sed 's/[][().*+?^$|\\]/\\&/g')\$" "$work/out" ||
    fail "$1: no line '$2: $3' in: $(cat "$work/out")"
}

# no_secret DESCRIPTION FILE...: none of the secrets appears in the files.
no_secret() {
  local what=$1 s f
  shift
  for s in "${secrets[@]}"; do
    for f in "$@"; do
      [ -e "$f" ] || continue
      if grep -aqF -- "$s" "$f"; then
        fail "$what: a payment provider secret appears in $f"
      fi
    done
  done
}

admin_pw=$work/admin.pw
user_pw=$work/user.pw
printf '%s\n' "pw-$RANDOM-$RANDOM-admin" >"$admin_pw"
printf '%s\n' "pw-$RANDOM-$RANDOM-user" >"$user_pw"
printf '%s\n' "$pin" >"$work/pin"
chmod 600 "$admin_pw" "$user_pw" "$work/pin"

# --- tenant, its admin and user ---------------------------------------------
expect_ok "create tenant" tenant create "$tenant"
expect_ok "create admin" --tenant "$tenant" user create boss --password-file "$admin_pw" --role tenant-admin
expect_ok "create user" --tenant "$tenant" user create carol --password-file "$user_pw" --role user
admin=(--user "boss@$tenant" --password-file "$admin_pw")
user=(--user "carol@$tenant" --password-file "$user_pw")
pass "tenant $tenant with an admin and a user"

# --- currency and service fee -------------------------------------------------
expect_ok "admin sets the currency" "${admin[@]}" billing set --currency EUR
line "billing set output" Currency EUR
pass "billing set --currency EUR"

expect_status "admin may not set the service fee" 1 "${admin[@]}" billing set --service-fee-bps 1000
grep -q "(HTTP 403)" "$work/err" || fail "service fee by an admin: expected HTTP 403"
pass "only the operator sets the service fee (403 for the admin)"

expect_status "three decimals of EUR" 2 --tenant "$tenant" billing set --service-fee-fixed 0.205
grep -q "service-fee-fixed" "$work/err" || fail "0.205 EUR: the message does not name the option"
expect_status "a negative fee" 2 --tenant "$tenant" billing set --service-fee-fixed -1
pass "amounts the currency cannot hold are usage errors"

expect_ok "operator sets the service fee" --tenant "$tenant" billing set --service-fee-fixed 0.20 --service-fee-bps 1000
line "billing set output" "Service fee \\(fixed\\)" "EUR 0.20"
expect_ok "billing show" --tenant "$tenant" --json billing show
check "billing show" '(d["currency"], d["service_fee_fixed"], d["service_fee_bps"])' "('EUR', 20, 1000)"
pass "service fee 0.20 EUR is 20 minor units on the wire, plus 1000 bps"

# --- price table and queue -------------------------------------------------------
# 0.10 per impression whatever the colour and sides, on A4 and any other size.
cat >"$work/table.json" <<'EOF'
{"currency": "EUR", "mode": "graduated",
 "tiers": [{"from": 1, "prices": {
   "a4": {"mono": {"one-sided": 10, "two-sided": 10}, "color": {"one-sided": 10, "two-sided": 10}},
   "other": {"mono": {"one-sided": 10, "two-sided": 10}, "color": {"one-sided": 10, "two-sided": 10}}}}]}
EOF
expect_ok "create price table" "${admin[@]}" price-table create standard --file "$work/table.json"
line "price-table create output" Currency EUR
grep -Eq "^ +1 +a4 +mono +0\.10 +0\.10$" "$work/out" || fail "price table: no a4 mono row at 0.10: $(cat "$work/out")"
pass "price-table create from a file shows its prices"

printf '%s\n' '{"currency": "EUR", "tiers": [{"from": 1, "prices": {"a4": {"mono": {"one-sided": 0.1}}}}]}' >"$work/bad.json"
expect_status "fractional price" 1 "${admin[@]}" price-table update standard --file - <"$work/bad.json"
grep -q "whole numbers" "$work/err" || fail "fractional price: unexpected message"
expect_ok "price table unchanged" "${admin[@]}" --json price-table show standard
check "price table unchanged" 'd["table"]["tiers"][0]["prices"]["a4"]["mono"]["one-sided"]' 10
pass "a fractional price is refused before it is sent"

expect_ok "update from stdin" "${admin[@]}" price-table update standard --file - <"$work/table.json"
expect_ok "list price tables" "${admin[@]}" --json price-table list
check "list price tables" '[t["name"] for t in d["price_tables"]]' "['standard']"
pass "price-table update (stdin) and list"

expect_ok "queue with payment" "${admin[@]}" queue create "$queue" --price-table standard --payment at-printer
line "queue create output" "Price table" standard
line "queue create output" Payment at-printer
expect_ok "show queue" "${admin[@]}" --json queue show "$queue"
check "show queue" '(d["pricing"]["price_table"], d["pricing"]["payment"])' "('standard', 'at-printer')"
pass "queue priced with 'standard', payment at-printer"

# --- a job and its charge ------------------------------------------------------------
expect_ok "submit" "${user[@]}" submit --quiet --queue "$queue" --pin-file "$work/pin" --copies 2 "$document"
job_id=$(cat "$work/out")
[ -n "$job_id" ] || fail "submit: no job id"

# Page counting may finish just after the upload; give it a few seconds.
for _ in $(seq 1 20); do
  expect_ok "job show --json" "${user[@]}" --json job show "$job_id"
  [ "$(json 'd["pages"], (d.get("charge") or {}).get("total")')" = "(1, 42)" ] && break
  sleep 0.5
done
check "charge" '(d["state"], d["pages"], d["copies"])' "('held', 1, 2)"
check "charge" '(d["charge"]["currency"], d["charge"]["print_fee"], d["charge"]["service_fee"], d["charge"]["total"])' "('EUR', 20, 22, 42)"
pass "job $job_id: 2 impressions at 0.10 + 0.20 + 10 % = 42 cents"

expect_ok "job show" "${user[@]}" job show "$job_id"
line "job show" Charge "EUR 0.42 (print 0.20 + service 0.22)"
line "job show" "Price table" standard
grep -Eq "^ +1 +1 +2 +0\.10 +0\.20$" "$work/out" || fail "job show: no charge line '1 1 2 0.10 0.20': $(cat "$work/out")"
pass "job show prints the charge, its table and its breakdown"

expect_status "no payment yet" 1 "${user[@]}" job payment "$job_id"
grep -q "(HTTP 404)" "$work/err" || fail "job payment: expected HTTP 404 before any payment"
pass "job payment: none yet"

# --- ledger -----------------------------------------------------------------------------
expect_ok "ledger csv" "${admin[@]}" ledger list --csv
[ "$(head -1 "$work/out" | tr -d '\r')" = "$csv_header" ] ||
  fail "ledger csv: first line is '$(head -1 "$work/out")', expected the header"
pass "ledger list --csv starts with its header line"

expect_ok "ledger table" "${admin[@]}" ledger list
grep -Eq "^ID +POSTING +CREATED +KIND +ACCOUNT +CURRENCY +AMOUNT +JOB +MEMO$" "$work/out" ||
  fail "ledger table: no header: $(cat "$work/out")"
expect_ok "ledger balances" "${admin[@]}" --json ledger balances
check "ledger balances" 'all(v == 0 for v in d["totals"].values())' True
expect_status "ledger --all is for operators" 1 "${admin[@]}" ledger list --all
grep -q "(HTTP 403)" "$work/err" || fail "ledger --all by an admin: expected HTTP 403"
pass "ledger list, balances (sums zero), --all refused to an admin"

# --- payment provider secrets --------------------------------------------------------------
channel_secret="cs$RANDOM$RANDOM${RANDOM}f00d"
stripe_key="sk_test_$RANDOM$RANDOM${RANDOM}beef"
webhook1="whsec_$RANDOM$RANDOM${RANDOM}one"
webhook2="whsec_$RANDOM$RANDOM${RANDOM}two"
webhook_env="whsec_$RANDOM$RANDOM${RANDOM}env"
secrets=("$channel_secret" "$stripe_key" "$webhook1" "$webhook2" "$webhook_env")
printf '%s\n' "$stripe_key" >"$work/sk"
printf '%s\n' "$webhook1" >"$work/wh1"
printf '%s\n' "$webhook2" >"$work/wh2"
printf '%s\n' "$channel_secret" >"$work/cs"

expect_status "linepay without channel id" 2 "${admin[@]}" payment-provider set --provider linepay --channel-secret-file "$work/cs"
expect_status "two secrets from stdin" 2 "${admin[@]}" payment-provider set --provider stripe --secret-key-file - --webhook-secret-file - </dev/null
no_secret "usage errors" "$work/out" "$work/err"
pass "payment-provider set usage errors"

expect_ok "stripe" "${admin[@]}" payment-provider set --provider stripe --secret-key-file - \
  --webhook-secret-file "$work/wh1" --webhook-secret-file "$work/wh2" <"$work/sk"
no_secret "payment-provider set (stripe)" "$work/out" "$work/err"
expect_ok "show stripe" "${admin[@]}" --json payment-provider show
check "show stripe" 'd["provider"]' stripe
no_secret "payment-provider show --json (stripe)" "$work/out"
pass "stripe account set; its secrets are not shown back"

NIMBUS_STRIPE_SECRET_KEY=$stripe_key NIMBUS_STRIPE_WEBHOOK_SECRET=$webhook_env \
  expect_ok "stripe from the environment" "${admin[@]}" payment-provider set --provider stripe
no_secret "payment-provider set (environment)" "$work/out" "$work/err"
pass "stripe secrets from the environment"

expect_ok "linepay" "${admin[@]}" payment-provider set --provider linepay --channel-id 1656000000 \
  --channel-secret-file "$work/cs"
expect_ok "show linepay" "${admin[@]}" payment-provider show
grep -Eq "^provider: +linepay$" "$work/out" || fail "show linepay: no provider line: $(cat "$work/out")"
no_secret "payment-provider show (linepay)" "$work/out" "$work/err"
expect_ok "show linepay --json" "${admin[@]}" --json payment-provider show
check "show linepay --json" 'd["provider"]' linepay
no_secret "payment-provider show --json (linepay)" "$work/out"
pass "linepay account set; its secret is not shown back"

expect_status "user may not see the provider" 1 "${user[@]}" payment-provider show
no_secret "payment-provider show (user)" "$work/out" "$work/err"
expect_ok "delete provider" "${admin[@]}" payment-provider delete
expect_status "deleted provider" 1 "${admin[@]}" payment-provider show
grep -q "(HTTP 404)" "$work/err" || fail "deleted provider: expected HTTP 404"
pass "payment-provider delete"

# --- cleanup ------------------------------------------------------------------------------
expect_ok "cancel job" "${user[@]}" job cancel "$job_id"
expect_ok "unprice queue" "${admin[@]}" queue set "$queue" --no-price-table --payment none
line "queue set output" "Price table" -
line "queue set output" Payment none
expect_ok "delete price table" "${admin[@]}" price-table delete standard
expect_status "deleted price table" 1 "${admin[@]}" price-table show standard
pass "queue unpriced, price table deleted"

expect_ok "delete tenant" tenant delete "$tenant"
tenant=
pass "tenant deleted"

if [ -n "$self_started" ]; then
  # Non-zero on a crash or a sanitizer report at exit (log tail above).
  nimbusd_stop || fail "nimbusd did not stop cleanly"
  pass "nimbusd stops cleanly"
  no_secret "nimbusd's log" "$NIMBUS_STATE.log" "$NIMBUS_STATE.out"
  pass "no payment provider secret in nimbusd's log"
  if [ -z "${NIMBUS_TEST_STORE_URL:-}" ]; then
    no_secret "the SQLite store" "$NIMBUS_STATE"/nimbus.db*
    pass "no payment provider secret in clear in the store"
  fi
fi

echo "nimbusctl-money: $passed passed, 0 failed"
