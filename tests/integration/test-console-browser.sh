#!/usr/bin/env bash
# The web console (docs/CONSOLE.md, issue 14) in headless Chromium, driven
# by playwright-core (tests/browser/console.test.js with the shared
# tests/browser/console-lib.js), against a real nimbusd serving the built
# console (--console-dir $NIMBUS_CONSOLE_DIR, given by lib-nimbusd.sh).
#
# Here: the tenant (conn_setup_tenant: acme, alice, boss, queue office)
# and bob, a EUR price table on office (so jobs have a fee), alice's jobs
# over REST (one with PIN 1234, two to cancel and delete, a 3-page one,
# and enough more that her list has two pages) and bob's.  In the browser
# (part session-jobs): the sign-in page and its errors next to the field
# (wrong password; the throttle's 429 with its wait, for carol),
# the HttpOnly SameSite=Strict cookie, CSRF refused without the token, the
# CSP blocking an injected script, My jobs (alice's jobs page by page and
# never bob's, state, queue, pages, fee, time in the viewer's zone),
# release with a wrong and the right PIN, cancel, delete, a 360x740 phone
# without horizontal scroll, "Your session ended" after a 401, sign-out and
# the old cookie refused.  nimbusd's REST API is asked from node.  Then
# (tests/browser/console-a11y.test.js) every page each role sees (user,
# tenant admin, operator; desktop and phone) through axe-core's WCAG 2.1
# A/AA rules, and the keyboard alone from the skip link to a page.
#
# Needs: Debian's chromium (/usr/bin/chromium, or $CHROMIUM), node + npm
# (scripts/install-deps.sh installs them) and the built console
# (NIMBUS_CONSOLE_DIR, set by meson when -Dconsole is not disabled);
# skipped (exit 77) when one of those is missing.  playwright-core comes
# from tests/browser/package-lock.json (lib-browser.sh install_playwright).
# Then (tests/browser/console-device.test.js): the OAuth device grant's
# page #/device, approving and denying another service's linking request.
# Last (tests/browser/console-links.test.js): the Linked accounts page,
# alice linking her account on this same nimbusd.
# SCREENSHOTS_DIR=DIR: the pages as DIR/*.png (docs/console/ is made so).
set -euo pipefail

source "$(dirname "$0")/lib-browser.sh"
browser_need console-browser curl
if [ -z "${NIMBUS_CONSOLE_DIR:-}" ] || ! [ -f "$NIMBUS_CONSOLE_DIR/console.js" ]; then
  echo "skip - console-browser: the console is not built (NIMBUS_CONSOLE_DIR; meson -Dconsole)"
  exit 77
fi
source "$(dirname "$0")/test-connector-common.sh"
if ! "$NIMBUSD" --help | grep -q -- '--console-dir'; then
  echo "skip - console-browser: this nimbusd has no --console-dir (docs/CONSOLE.md §1.2)"
  exit 77
fi

check "npm ci: playwright-core into $DEPS" install_playwright

# the sign-in throttle after 3 failures of one account (carol's, in the browser)
nimbusd_start --login-failures 3
check "tenant, users and queue" conn_setup_tenant
add_user() {
  api POST '/api/v1/users?tenant=acme' -H 'Content-Type: application/json' \
    -d "{\"name\":\"$1\",\"password\":\"$1-pw-1\",\"role\":\"user\"}" -o /dev/null -w '%{http_code}' |
    grep -qx 201
}
check "second user bob" add_user bob
check "third user carol (the throttle)" add_user carol

# a fee on every job of office: EUR, 10 cents a page (5 from the third;
# colour 30 and 20: the uploads print in colour unless told otherwise)
boss() { curl -fsS -u boss@acme:boss-pw-1 "$@"; }
P1='{"mono":{"one-sided":10},"color":{"one-sided":30}}'
P3='{"mono":{"one-sided":5},"color":{"one-sided":20}}'
TABLE="{\"currency\":\"EUR\",\"mode\":\"graduated\",\"tiers\":[{\"from\":1,\"prices\":{\"a4\":$P1,\"other\":$P1}},{\"from\":3,\"prices\":{\"a4\":$P3,\"other\":$P3}}]}"
pricing() {
  api PATCH '/api/v1/billing?tenant=acme' -H 'Content-Type: application/json' \
    -d '{"currency":"EUR","service_fee_fixed":0,"service_fee_bps":0}' | json_get "d['currency']" |
    grep -qx EUR
  boss -X POST -H 'Content-Type: application/json' -d "{\"name\":\"office-eur\",\"table\":$TABLE}" \
    "$NIMBUS_URL/api/v1/price-tables" | json_get "d['name']" | grep -qx office-eur
  boss -X PATCH -H 'Content-Type: application/json' -d '{"price_table":"office-eur","payment":"none"}' \
    "$NIMBUS_URL/api/v1/queues/office" | json_get "d['pricing']['price_table']" | grep -qx office-eur
}
check "a EUR price table on office" pricing

# upload USER:PASSWORD NAME FILE [curl -F args...]: a job over REST; prints its number
upload() {
  local who=$1 name=$2 file=$3
  shift 3
  curl -fsS -u "$who" -F queue=office -F "job-name=$name" "$@" \
    -F "document=@$NIMBUS_TEST_DATA/$file;type=application/pdf" "$NIMBUS_URL/api/v1/jobs" |
    json_get "d['id']"
}
held() {
  [ "$(boss "$NIMBUS_URL/api/v1/jobs/$1" | json_get "d['state']")" = held ]
}
ALICE=alice@acme:alice-pw-1
# enough jobs for a second page of alice's list (20 a page), sent first:
# the list is newest first, so the jobs the checks act on are on page 1
more_jobs() {
  local i
  for i in $(seq 1 18); do upload "$ALICE" "Notes-$i.pdf" onepage.pdf >/dev/null; done
}
check "18 of alice's jobs to fill a second page" more_jobs
JOB_PIN=$(upload "$ALICE" Boarding-pass.pdf onepage.pdf -F job-password=1234)
check "alice's job with a PIN is held" held "$JOB_PIN"
JOB_CANCEL=$(upload "$ALICE" To-cancel.pdf onepage.pdf)
check "alice's job to cancel is held" held "$JOB_CANCEL"
JOB_DELETE=$(upload "$ALICE" To-delete.pdf onepage.pdf)
check "alice's job to delete is held" held "$JOB_DELETE"
JOB_FEE=$(upload "$ALICE" Quarterly-report.pdf threepage.pdf)
check "alice's 3-page job is held" held "$JOB_FEE"
JOB_BOB=$(upload bob@acme:bob-pw-1 Bobs-secret.pdf onepage.pdf)
check "bob's job is held" held "$JOB_BOB"

if [ -n "${SCREENSHOTS_DIR:-}" ]; then
  mkdir -p "$SCREENSHOTS_DIR"
  SCREENSHOTS_DIR=$(cd "$SCREENSHOTS_DIR" && pwd)
fi
# run_browser PART: console.test.js
run_browser() {
  CONSOLE_PART="$1" NODE_PATH="$DEPS/node_modules" CHROMIUM="$CHROMIUM" NIMBUS_URL="$NIMBUS_URL" \
    ADMIN_AUTH=boss@acme:boss-pw-1 ALICE="$ALICE" BOB=bob@acme:bob-pw-1 CAROL=carol@acme \
    LOGIN_FAILURES=3 \
    JOB_PIN="$JOB_PIN" JOB_CANCEL="$JOB_CANCEL" JOB_DELETE="$JOB_DELETE" JOB_FEE="$JOB_FEE" \
    JOB_BOB="$JOB_BOB" SCREENSHOTS_DIR="${SCREENSHOTS_DIR:-}" FAILURE_DIR="$BUILD_ROOT/meson-logs" \
    node "$BROWSER_SRC/console.test.js" || {
    echo "--- nimbusd's log (last lines):" >&2
    grep -v 'msg=request' "$NIMBUS_STATE.log" | tail -30 >&2
    return 1
  }
}
START=$(date +%s)
check "sign-in, session, CSRF, CSP and My jobs in headless Chromium (console.test.js session-jobs)" \
  run_browser session-jobs
echo "# browser part took $(($(date +%s) - START)) s"

# every page of every role through axe-core, and the keyboard alone
# (tests/browser/console-a11y.test.js), on the data above
run_a11y() {
  NODE_PATH="$DEPS/node_modules" CHROMIUM="$CHROMIUM" NIMBUS_URL="$NIMBUS_URL" \
    ADMIN_AUTH=boss@acme:boss-pw-1 ALICE="$ALICE" OPERATOR="admin@system:$NIMBUS_ADMIN_PASSWORD" \
    FAILURE_DIR="$BUILD_ROOT/meson-logs" node "$BROWSER_SRC/console-a11y.test.js"
}
check "accessibility: axe-core on every page of each role, desktop and phone; the keyboard alone" \
  run_a11y

# the OAuth device grant's page #/device (tests/browser/console-device.test.js)
run_device() {
  NODE_PATH="$DEPS/node_modules" CHROMIUM="$CHROMIUM" NIMBUS_URL="$NIMBUS_URL" ALICE="$ALICE" \
    FAILURE_DIR="$BUILD_ROOT/meson-logs" node "$BROWSER_SRC/console-device.test.js"
}
check "#/device: sign-in back to the code, approve and deny a linking request" run_device

# the Linked accounts page #/linked-accounts (tests/browser/console-links.test.js):
# alice links her account on this same nimbusd, which a remote printer link
# of acme reaches (account links exist only for such services)
check "a remote printer link of acme to this nimbusd" \
  api POST '/api/v1/remote-links?tenant=acme' -f -H 'Content-Type: application/json' -o /dev/null \
  -d "{\"name\":\"self\",\"printer_uri\":\"ipp://127.0.0.1:$NIMBUS_PORT/ipp/print/acme/office\",\"queue\":\"office\",\"credential\":\"not-issued\"}"
run_links() {
  NODE_PATH="$DEPS/node_modules" CHROMIUM="$CHROMIUM" NIMBUS_URL="$NIMBUS_URL" ALICE="$ALICE" \
    BOB=bob@acme:bob-pw-1 FAILURE_DIR="$BUILD_ROOT/meson-logs" \
    node "$BROWSER_SRC/console-links.test.js"
}
check "#/linked-accounts: link with the code and QR shown, approved, removed" run_links

check "bob's job was never touched" held "$JOB_BOB"
check "nimbusd stops cleanly" nimbusd_stop
finish test-console-browser
