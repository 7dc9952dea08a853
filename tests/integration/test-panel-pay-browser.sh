#!/usr/bin/env bash
# Pay at the printer (issue 12) as a person does it: the connector's panel
# at 800x480 in headless Chromium (tests/browser/panel.test.js, part
# "payments"), the payment page on a phone-sized second browser context,
# against real processes on loopback: nimbusd, nimbus-paysim (LINE Pay v3
# in JPY), nimbus-connector, ippeveprinter.
#
# In the browser: the details screen's fee breakdown and "Pay and print";
# the payment screen (amount, QR code, URL, countdown; a reload comes back
# to it); the QR code read from the page (the SVG drawn in Chromium, the
# PNG decoded with zbarimg) equals the URL shown, and opening it on the
# phone and pressing Pay prints the job; Cancel (the job is held again);
# Decline on the phone; a payment not made in time (the unpaid screen).
# SCREENSHOTS_DIR=DIR: the screens as DIR/*.png (docs/panel/, PANEL.md).
# Needs chromium, node + npm (playwright-core from tests/browser's lock
# file, as test-panel-browser.sh) and zbarimg (zbar-tools); skipped (77)
# when one of them is missing.
set -euo pipefail
source "$(dirname "$0")/lib-browser.sh"
browser_need panel-pay-browser zbarimg
source "$(dirname "$0")/test-connector-common.sh"
source "$HERE/lib-paysim.sh"
check "npm ci: playwright-core into $DEPS" install_playwright

PAY_TIMEOUT=30 # nimbusd's --payment-timeout: the unpaid screen is waited for once (each
# payment paid before it runs out: 30 s leaves a slow machine room)
LP_CHANNEL=1234567890
LP_SECRET=lp-secret-$$
nimbusd_start --payment-timeout "$PAY_TIMEOUT"
check "nimbus-paysim starts" paysim_start --linepay-channel "$LP_CHANNEL:$LP_SECRET"
boss() { curl -fsS -u boss@acme:boss-pw-1 "$@"; }
check "tenant, users and queue" conn_setup_tenant
money() {
  api PATCH '/api/v1/billing?tenant=acme' -H 'Content-Type: application/json' \
    -d '{"currency":"JPY","service_fee_fixed":10,"service_fee_bps":500}' >/dev/null
  local table='{"currency":"JPY","mode":"graduated","tiers":[{"from":1,"prices":{"a4":{"mono":{"one-sided":10,"two-sided":8},"color":{"one-sided":50,"two-sided":40}},"other":{"mono":{"one-sided":10},"color":{"one-sided":50}}}},{"from":3,"prices":{"a4":{"mono":{"one-sided":5,"two-sided":4},"color":{"one-sided":30,"two-sided":25}},"other":{"mono":{"one-sided":5},"color":{"one-sided":30}}}}]}'
  boss -X POST -H 'Content-Type: application/json' -d "{\"name\":\"shop\",\"table\":$table}" \
    "$NIMBUS_URL/api/v1/price-tables" >/dev/null
  boss -X PATCH -H 'Content-Type: application/json' \
    -d '{"price_table":"shop","payment":"at-printer"}' "$NIMBUS_URL/api/v1/queues/office" >/dev/null
  # (api_base is the operator's to set: the operator points acme at paysim)
  api PUT '/api/v1/billing/provider?tenant=acme' -f -H 'Content-Type: application/json' \
    -d "{\"provider\":\"linepay\",\"credentials\":{\"channel_id\":\"$LP_CHANNEL\",\"channel_secret\":\"$LP_SECRET\",\"api_base\":\"$PAYSIM_URL\"}}" >/dev/null
}
check "JPY, a price table, queue office pays at the printer, LINE Pay via paysim" money
check "ippeveprinter is up" ippeve_start
check "register the printer" conn_register lobby "$(conn_claim lobby)"
check "connector runs" conn_start lobby --output "$IPPEVE_URI"
has_contact() { curl -fsS "$(conn_panel lobby)/status.json" | json_get "d['last_contact']" | grep -q T; }
check "the connector has been in contact with nimbusd" wait_until "first contact" has_contact
# four held jobs of alice: 3 pages colour = 2 x 50 + 1 x 30 = 130, service 10 + 7
J1=$(submit_job threepage.pdf)
J2=$(submit_job threepage.pdf)
J3=$(submit_job threepage.pdf)
J4=$(submit_job threepage.pdf)
check "four held jobs" job_is "$J4" held
if [ -n "${SCREENSHOTS_DIR:-}" ]; then
  mkdir -p "$SCREENSHOTS_DIR"
  SCREENSHOTS_DIR=$(cd "$SCREENSHOTS_DIR" && pwd)
fi
run_browser() {
  NIMBUS_TEST_PAYMENTS=1 PANEL_PART=payments NODE_PATH="$DEPS/node_modules" CHROMIUM="$CHROMIUM" \
    PANEL_URL="$(conn_panel lobby)" NIMBUS_URL="$NIMBUS_URL" NIMBUS_AUTH=boss@acme:boss-pw-1 \
    JOB_PAY="$J1" JOB_PAY_CANCEL="$J2" JOB_PAY_DECLINE="$J3" JOB_PAY_TIMEOUT="$J4" \
    PAY_TIMEOUT_S="$PAY_TIMEOUT" PAY_TOTAL_TEXT="JPY 147" PAY_PRINT_TEXT="JPY 130" \
    PAY_SERVICE_TEXT="JPY 17" PAYSIM_URL="$PAYSIM_URL" IPPEVE_PRINTED="$IPPEVE_PRINTED" \
    NIMBUS_TEST_DATA="$NIMBUS_TEST_DATA" SCREENSHOTS_DIR="${SCREENSHOTS_DIR:-}" \
    FAILURE_DIR="$BUILD_ROOT/meson-logs" node "$BROWSER_SRC/panel.test.js" || {
    echo "--- the connector's log (last lines):" >&2
    grep -v 'msg=request' "$CONN_DIR/lobby.log" | tail -30 >&2
    echo "--- nimbusd's log (last lines):" >&2
    grep -v 'msg=request' "$NIMBUS_STATE.log" | tail -30 >&2
    return 1
  }
}
check "pay at the panel in headless Chromium (panel.test.js payments)" run_browser
check "the paid job completed" job_is "$J1" completed
check "the canceled one is held" job_is "$J2" held
ledger_balanced() {
  api GET '/api/v1/ledger/balances?all=1' |
    json_get "all(v == 0 for v in d['totals'].values())" | grep -qx True
}
check "the ledger sums to zero" ledger_balanced
check "connector stops cleanly" conn_stop lobby
check "paysim stops cleanly" paysim_stop
check "nimbusd stops cleanly" nimbusd_stop
finish test-panel-pay-browser
