#!/usr/bin/env bash
# The web console's user portal (docs/CONSOLE.md §2, issue 14 Deliver 2)
# in headless Chromium, driven by playwright-core
# (tests/browser/console-portal.test.js with tests/browser/console-lib.js),
# against real processes on loopback: nimbusd serving the built console,
# nimbus-connector (its panel, registered as printer lobby on queue
# office) printing to ippeveprinter, and nimbus-paysim as the tenant's
# Stripe.
#
# Here: tenant acme (alice, bob, boss, queue office with a EUR price
# table), the invoiced account CORP everyone may charge, bob's job,
# purpose and token, and tenant globex with carol's jobs (numbered past
# acme's, so that alice's #/job?id= of carol's job names no job of acme).
# In the browser: purposes created, edited, made default and deleted (and
# each seen over REST); a PDF uploaded from Print with copies 2,
# two-sided and a purpose (the progress bar at its end), a non-PDF refused
# next to the file; on the panel the job's "Release from your phone" QR
# code, decoded (zbarimg) to <nimbusd>/#/job?id=N; that URL opened in a
# 390x844 phone, signed in there, the job released; here: it prints on
# ippeveprinter with 2 copies (Get-Jobs on the printer), two-sided in its
# settings; then in the browser the usage tables equal GET /reports/totals,
# the payment method registered on nimbus-paysim's page and shown saved,
# tokens created and revoked, the panel PIN set and removed, the password
# changed; each portal page on the phone without horizontal scroll; bob's
# and globex's jobs "not found" with nothing of them in the DOM.
#
# Needs: Debian's chromium, node + npm, ipptool, ippeveprinter and the
# built console (NIMBUS_CONSOLE_DIR); skipped (exit 77) without them.
# zbarimg (zbar-tools) decodes the QR code when installed; without it the
# test reads the URL the panel gives as the image's data-url.
# SCREENSHOTS_DIR=DIR: the portal's pages as DIR/NN-name.png (10-29).
set -euo pipefail

source "$(dirname "$0")/lib-browser.sh"
browser_need console-portal curl ipptool ippeveprinter
if [ -z "${NIMBUS_CONSOLE_DIR:-}" ] || ! [ -f "$NIMBUS_CONSOLE_DIR/console.js" ]; then
  echo "skip - console-portal: the console is not built (NIMBUS_CONSOLE_DIR; meson -Dconsole)"
  exit 77
fi
source "$(dirname "$0")/test-connector-common.sh"
source "$HERE/lib-paysim.sh"

check "npm ci: playwright-core into $DEPS" install_playwright

SK=sk_test_portal_$$_do_not_log
WHSEC=whsec_portal_$$_do_not_log
nimbusd_start
check "nimbus-paysim (Stripe) is up" paysim_start --stripe-key "$SK" \
  --stripe-webhook "$NIMBUS_URL/api/v1/payments/stripe-webhook/acme=$WHSEC"
check "tenant, users and queue" conn_setup_tenant
add_user() { # TENANT NAME
  api POST "/api/v1/users?tenant=$1" -H 'Content-Type: application/json' \
    -d "{\"name\":\"$2\",\"password\":\"$2-pw-1\",\"role\":\"user\"}" -o /dev/null -w '%{http_code}' |
    grep -qx 201
}
check "second user bob" add_user acme bob
boss() { curl -fsS -u boss@acme:boss-pw-1 "$@"; }
TABLE='{"currency":"EUR","mode":"graduated","tiers":[{"from":1,"prices":{"a4":{"mono":{"one-sided":10,"two-sided":8},"color":{"one-sided":50,"two-sided":40}},"other":{"mono":{"one-sided":10},"color":{"one-sided":50}}}}]}'
pricing() {
  api PATCH '/api/v1/billing?tenant=acme' -H 'Content-Type: application/json' \
    -d '{"currency":"EUR","service_fee_fixed":0,"service_fee_bps":0}' -o /dev/null &&
    boss -X POST -H 'Content-Type: application/json' -d "{\"name\":\"office-eur\",\"table\":$TABLE}" \
      "$NIMBUS_URL/api/v1/price-tables" -o /dev/null &&
    boss -X PATCH -H 'Content-Type: application/json' -d '{"price_table":"office-eur","payment":"none"}' \
      "$NIMBUS_URL/api/v1/queues/office" -o /dev/null
}
check "EUR and a price table on office" pricing
# the listing reads each queue's price table (not from inside the store's
# list callback, which the store refuses)
listed_pricing() {
  curl -fsS -u alice@acme:alice-pw-1 "$NIMBUS_URL/api/v1/queues" |
    json_get "[q['pricing']['price_table'] for q in d['queues']]"
}
check "GET /queues lists office with its price table" test "$(listed_pricing)" = "['office-eur']"
check "account CORP: invoiced, everyone may charge it" boss -X POST -H 'Content-Type: application/json' \
  -d '{"code":"CORP","name":"Corporate","mode":"invoiced","everyone":true}' \
  "$NIMBUS_URL/api/v1/billing-accounts" -o /dev/null
check "payment provider: Stripe on nimbus-paysim (operator)" api PUT \
  '/api/v1/billing/provider?tenant=acme' -H 'Content-Type: application/json' \
  -d "{\"provider\":\"stripe\",\"credentials\":{\"secret_key\":\"$SK\",\"webhook_secrets\":[\"$WHSEC\"],\"api_base\":\"$PAYSIM_URL\"}}" -o /dev/null

# upload USER:PASSWORD NAME FILE [curl -F args...]: a job over REST; prints its number
upload() {
  local who=$1 name=$2 file=$3
  shift 3
  curl -fsS -u "$who" -F queue=office -F "job-name=$name" "$@" \
    -F "document=@$NIMBUS_TEST_DATA/$file;type=application/pdf" "$NIMBUS_URL/api/v1/jobs" |
    json_get "d['id']"
}
JOB_BOB=$(upload bob@acme:bob-pw-1 Bobs-secret.pdf onepage.pdf)
check "bob's job is there" test -n "$JOB_BOB"
check "bob's purpose" curl -fsS -u bob@acme:bob-pw-1 -H 'Content-Type: application/json' \
  -d '{"name":"Bobs-purpose","account":"CORP"}' "$NIMBUS_URL/api/v1/purposes" -o /dev/null
check "bob's token" curl -fsS -u bob@acme:bob-pw-1 -H 'Content-Type: application/json' \
  -d '{"label":"Bobs-token"}' "$NIMBUS_URL/api/v1/tokens" -o /dev/null

# another tenant: carol's jobs, the last one numbered past every job acme will have
globex() {
  api POST '/api/v1/tenants' -H 'Content-Type: application/json' -d '{"name":"globex"}' -o /dev/null &&
    add_user globex carol &&
    api POST '/api/v1/queues?tenant=globex' -H 'Content-Type: application/json' \
      -d '{"name":"office"}' -o /dev/null
}
check "tenant globex, user carol" globex
carol_jobs() {
  local i
  for i in $(seq 1 11); do upload carol@globex:carol-pw-1 "Filler-$i.pdf" onepage.pdf >/dev/null; done
}
check "carol's 11 first jobs" carol_jobs
JOB_GLOBEX=$(upload carol@globex:carol-pw-1 Globex-secret.pdf onepage.pdf)
check "carol's job 12" test "$JOB_GLOBEX" = 12

check "ippeveprinter is up" ippeve_start
check "register the printer lobby" conn_register lobby "$(conn_claim lobby)"
check "connector lobby runs, printing to ippeveprinter" conn_start lobby --output "$IPPEVE_URI"

if [ -n "${SCREENSHOTS_DIR:-}" ]; then
  mkdir -p "$SCREENSHOTS_DIR"
  SCREENSHOTS_DIR=$(cd "$SCREENSHOTS_DIR" && pwd)
fi
ZBARIMG=$(command -v zbarimg || true)
# run_browser PART: console-portal.test.js
run_browser() {
  PORTAL_PART="$1" NODE_PATH="$DEPS/node_modules" CHROMIUM="$CHROMIUM" NIMBUS_URL="$NIMBUS_URL" \
    PANEL_URL="$(conn_panel lobby)" ADMIN_AUTH=boss@acme:boss-pw-1 ALICE=alice@acme:alice-pw-1 \
    BOB=bob@acme:bob-pw-1 JOB_BOB="$JOB_BOB" JOB_GLOBEX="$JOB_GLOBEX" ZBARIMG="$ZBARIMG" \
    WORK_DIR="$CONN_DIR" NIMBUS_TEST_DATA="$NIMBUS_TEST_DATA" \
    SCREENSHOTS_DIR="${SCREENSHOTS_DIR:-}" FAILURE_DIR="$BUILD_ROOT/meson-logs" \
    node "$BROWSER_SRC/console-portal.test.js" || {
    echo "--- nimbusd's log (last lines):" >&2
    grep -v 'msg=request' "$NIMBUS_STATE.log" | tail -30 >&2
    return 1
  }
}

check "job 12 of acme does not exist (the globex check means something)" \
  test "$(curl -sS -o /dev/null -w '%{http_code}' -u boss@acme:boss-pw-1 \
    "$NIMBUS_URL/api/v1/jobs/$JOB_GLOBEX")" = 404

START=$(date +%s)
check "print, purposes, the panel's QR code and release on a phone (console-portal.test.js print)" \
  run_browser print
JOB=$(cat "$CONN_DIR/portal-job")

# ---- what reached the printer ----
printed() { [ "$(ippeve_printed_count)" -ge 1 ]; }
check "ippeveprinter printed the released job" wait_until "a printed file" printed
completed() { [ "$(boss "$NIMBUS_URL/api/v1/jobs/$JOB" | json_get "d['state']")" = completed ]; }
check "nimbusd has job $JOB completed" wait_until "job $JOB completed" completed
cat >"$CONN_DIR/get-jobs.test" <<'EOF'
{
  NAME "Get-Jobs (completed) with copies"
  OPERATION Get-Jobs
  GROUP operation-attributes-tag
  ATTR charset attributes-charset utf-8
  ATTR naturalLanguage attributes-natural-language en
  ATTR uri printer-uri $uri
  ATTR keyword which-jobs completed
  ATTR keyword requested-attributes job-id,copies
  STATUS successful-ok
  DISPLAY copies
}
EOF
printer_copies() {
  ipptool -t "$IPPEVE_URI" "$CONN_DIR/get-jobs.test" >"$CONN_DIR/get-jobs.out" 2>&1 || {
    cat "$CONN_DIR/get-jobs.out" >&2
    return 1
  }
  grep -Eq 'copies \(integer\) = 2$' "$CONN_DIR/get-jobs.out" || {
    cat "$CONN_DIR/get-jobs.out" >&2
    return 1
  }
}
check "the printer's job has copies = 2" printer_copies
settings_of() { boss "$NIMBUS_URL/api/v1/jobs/$JOB" | json_get "(d['copies'], d['settings'].get('sides'))"; }
check "the job's attributes: copies 2, two-sided-long-edge" \
  test "$(settings_of)" = "(2, 'two-sided-long-edge')"
charged() {
  [ "$(curl -fsS -u alice@acme:alice-pw-1 "$NIMBUS_URL/api/v1/reports/totals?by=purpose" |
    json_get "d['totals']['total'] > 0")" = True ]
}
check "the job's charge is posted (CORP, invoiced)" wait_until "a charged job" charged

check "usage, payment method, security and every page on a phone (console-portal.test.js account)" \
  run_browser account
echo "# browser parts took $(($(date +%s) - START)) s"

method_active() {
  test "$(curl -fsS -u alice@acme:alice-pw-2 "$NIMBUS_URL/api/v1/me/payment-method" | json_get "d['state']")" = active
}
check "alice's payment method is active (REST, her new password)" method_active
bob_untouched() { [ "$(boss "$NIMBUS_URL/api/v1/jobs/$JOB_BOB" | json_get "d['state']")" = held ]; }
check "bob's job was never touched" bob_untouched
check "connector stops cleanly" conn_stop lobby
check "nimbus-paysim stops cleanly" paysim_stop
check "nimbusd stops cleanly" nimbusd_stop
finish test-console-portal
