#!/usr/bin/env bash
# The tenant admin console of the web console (docs/CONSOLE.md §2: users,
# queues, printers, price tables, billing accounts) in headless Chromium,
# driven by playwright-core (tests/browser/console-admin.test.js with
# tests/browser/console-lib.js), against a real nimbusd serving the built
# console, nimbus-connector and ippeveprinter.
#
# Here: tenant acme (conn_setup_tenant: alice, boss, queue office) with a
# EUR currency, a service fee and price table office-eur on office; alice's
# job with PIN 1234 locked by five wrong PINs over REST; a second tenant
# globex (admin gboss, user gina, queue gq, printer globex-lobby);
# ippeveprinter.  In the browser, part "printer": boss adds printer lobby
# on the Printers page and the claim code is read from the page's text
# (and its QR image checked), into $CODE_FILE.  Here a connector claims
# lobby with that code and prints to ippeveprinter.  Part "main": lobby
# shows online; a price table edit changes the preview and the fee of a
# job submitted afterwards over REST equals it (and the job prints);
# invite a user who signs in with the shown password; set and remove a
# panel PIN; unlock the locked job, release it for alice (audited, GET
# /audit); queues and billing accounts; alice at #/admin/users is "not
# permitted" and sees no data; globex's admin never sees acme's users or
# printers and acme's never globex's; the operator's tenant picker; a
# phone-sized viewport.
#
# Needs: Debian's chromium, node + npm, the built console
# (NIMBUS_CONSOLE_DIR), ippeveprinter; skipped (exit 77) without them.
# SCREENSHOTS_DIR=DIR: the pages as DIR/3N-admin-*.png and 4N-admin-*.png.
set -euo pipefail

source "$(dirname "$0")/lib-browser.sh"
browser_need console-admin curl ippeveprinter ipptool
if [ -z "${NIMBUS_CONSOLE_DIR:-}" ] || ! [ -f "$NIMBUS_CONSOLE_DIR/console.js" ]; then
  echo "skip - console-admin: the console is not built (NIMBUS_CONSOLE_DIR; meson -Dconsole)"
  exit 77
fi
source "$(dirname "$0")/test-connector-common.sh"
if ! "$NIMBUSD" --help | grep -q -- '--console-dir'; then
  echo "skip - console-admin: this nimbusd has no --console-dir (docs/CONSOLE.md §1.2)"
  exit 77
fi

check "npm ci: playwright-core into $DEPS" install_playwright
check "ippeveprinter is up" ippeve_start
nimbusd_start
check "tenant acme: alice, boss, queue office" conn_setup_tenant

# post PATH JSON [USER:PASSWORD]: a POST answered 201 (the operator by default)
post201() {
  local path=$1 body=$2 who=${3:-admin@system:$NIMBUS_ADMIN_PASSWORD}
  curl -sS -u "$who" -X POST -H 'Content-Type: application/json' -d "$body" -o /dev/null \
    -w '%{http_code}' "$NIMBUS_URL/api/v1$path" | grep -qx 201
}
boss() { curl -fsS -u boss@acme:boss-pw-1 "$@"; }

# money: EUR, a service fee of 0.05 + 10 %, office priced by office-eur
TABLE='{"currency":"EUR","mode":"graduated","tiers":[{"from":1,"prices":{"a4":{"mono":{"one-sided":10,"two-sided":8},"color":{"one-sided":30}},"other":{"mono":{"one-sided":12}}}},{"from":3,"prices":{"a4":{"mono":{"one-sided":5}},"other":{"mono":{"one-sided":6}}}}]}'
pricing() {
  api PATCH '/api/v1/billing?tenant=acme' -H 'Content-Type: application/json' \
    -d '{"currency":"EUR","service_fee_fixed":5,"service_fee_bps":1000}' |
    json_get "d['currency']" | grep -qx EUR
  post201 /price-tables "{\"name\":\"office-eur\",\"table\":$TABLE}" boss@acme:boss-pw-1
  boss -X PATCH -H 'Content-Type: application/json' -d '{"price_table":"office-eur","payment":"none"}' \
    "$NIMBUS_URL/api/v1/queues/office" | json_get "d['pricing']['price_table']" | grep -qx office-eur
}
check "EUR, a service fee and price table office-eur on office" pricing

# the second tenant: its admin must never see acme's users or printers
globex() {
  post201 /tenants '{"name":"globex"}' &&
    post201 '/users?tenant=globex' '{"name":"gboss","password":"gboss-pw-1","role":"tenant-admin"}' &&
    post201 '/users?tenant=globex' '{"name":"gina","password":"gina-pw-1","role":"user"}' &&
    post201 '/queues?tenant=globex' '{"name":"gq"}' &&
    post201 /printers '{"name":"globex-lobby","queues":["gq"]}' gboss@globex:gboss-pw-1
}
check "tenant globex: gboss, gina, queue gq, printer globex-lobby" globex

# alice's job with PIN 1234, locked by five wrong PINs over REST
JOB_LOCKED=$(curl -fsS -u alice@acme:alice-pw-1 -F queue=office -F job-name=Locked-job.pdf \
  -F job-password=1234 -F "document=@$NIMBUS_TEST_DATA/onepage.pdf;type=application/pdf" \
  "$NIMBUS_URL/api/v1/jobs" | json_get "d['id']")
wrong_pins() {
  local i code
  for i in 1 2 3 4 5; do
    code=$(curl -sS -o /dev/null -w '%{http_code}' -u alice@acme:alice-pw-1 -X POST \
      -H 'Content-Type: application/json' -d '{"pin":"0000"}' \
      "$NIMBUS_URL/api/v1/jobs/$JOB_LOCKED/release")
    [ "$code" = 403 ] || [ "$code" = 429 ] || return 1
  done
  # now locked: even the right PIN is 429
  [ "$(curl -sS -o /dev/null -w '%{http_code}' -u alice@acme:alice-pw-1 -X POST \
    -H 'Content-Type: application/json' -d '{"pin":"1234"}' \
    "$NIMBUS_URL/api/v1/jobs/$JOB_LOCKED/release")" = 429 ]
}
check "alice's job $JOB_LOCKED is locked by five wrong PINs (the right one: 429)" wrong_pins
check "its record shows locked_until" test "$(boss "$NIMBUS_URL/api/v1/jobs/$JOB_LOCKED" |
  json_get "d['locked_until'] is not None and d['state']")" = held

if [ -n "${SCREENSHOTS_DIR:-}" ]; then
  mkdir -p "$SCREENSHOTS_DIR"
  SCREENSHOTS_DIR=$(cd "$SCREENSHOTS_DIR" && pwd)
fi
CODE_FILE="$CONN_DIR/claim-code"
# run_browser PART: console-admin.test.js
run_browser() {
  CONSOLE_PART="$1" NODE_PATH="$DEPS/node_modules" CHROMIUM="$CHROMIUM" NIMBUS_URL="$NIMBUS_URL" \
    ADMIN_AUTH=boss@acme:boss-pw-1 ALICE=alice@acme:alice-pw-1 GLOBEX_ADMIN=gboss@globex:gboss-pw-1 \
    OPERATOR_AUTH="admin@system:$NIMBUS_ADMIN_PASSWORD" JOB_LOCKED="$JOB_LOCKED" CODE_FILE="$CODE_FILE" \
    NIMBUS_TEST_DATA="$NIMBUS_TEST_DATA" SCREENSHOTS_DIR="${SCREENSHOTS_DIR:-}" \
    FAILURE_DIR="$BUILD_ROOT/meson-logs" node "$BROWSER_SRC/console-admin.test.js" || {
    echo "--- nimbusd's log (last lines):" >&2
    grep -v 'msg=request' "$NIMBUS_STATE.log" | tail -30 >&2
    return 1
  }
}
START=$(date +%s)
check "the admin adds printer lobby on the page; its claim code is read from the page" \
  run_browser printer
CODE=$(cat "$CODE_FILE")
check "the code read from the page is a claim code" grep -Eq '^NMBC-' "$CODE_FILE"
check "a connector claims lobby with the code read from the page" conn_register lobby "$CODE"
check "the connector runs (polling, printing to ippeveprinter)" \
  conn_start lobby --output "$IPPEVE_URI"
check "users, queues, printers, price tables, accounts in headless Chromium (part main)" \
  run_browser main
echo "# browser parts took $(($(date +%s) - START)) s"

check "the jobs released on the pages printed on ippeveprinter" \
  wait_until "two documents printed" test "$(ippeve_printed_count)" -ge 2
check "the connector stops cleanly" conn_stop lobby
check "nimbusd stops cleanly" nimbusd_stop
finish test-console-admin
