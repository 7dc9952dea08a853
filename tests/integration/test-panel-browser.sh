#!/usr/bin/env bash
# Release at the printer (issue 4) as a person does it: the connector's
# panel driven in headless Chromium by Playwright (tests/browser/panel.test.js),
# against real processes on loopback: nimbusd, nimbus-connector with its
# local IPP listener, ippeveprinter as the marking engine.
#
# Here: the set-up and the PCs' jobs (ipptool to the connector as alice,
# PIN 1234, two of them with the same name, and as bob).  In the browser
# (issue 4 and issue 9 item 6): the status page, the flow up to printing
# with the on-screen keypad, wrong PINs refused on the PIN screen up to the
# lockout, bob's attempts on alice's job, Back, cancel with its
# confirmation, jobs told apart, the long list's scroll hint, error pages;
# then, the connector restarted with a short --panel-session-idle, the idle
# warning and the "signed out" message; then, nimbusd stopped, the 5xx
# page.  nimbusd's REST API is polled from node.
#
# Needs: Debian's chromium (/usr/bin/chromium, or $CHROMIUM) and node + npm
# (scripts/install-deps.sh installs them); skipped (exit 77) only when one
# of those is missing.  playwright-core comes from tests/browser/package-lock.json,
# installed with `npm ci` into the build directory (browser-deps/) when absent;
# it downloads no browser.
# SCREENSHOTS_DIR=DIR: the panel's screens at 800x480 as DIR/*.png
# (docs/panel/ is made that way, see docs/PANEL.md "Regenerating the
# screenshots").
# PANEL_PIN_LOCKOUT: nimbusd's --pin-lockout for the run (seconds, default 20;
# the test waits it out once to show the job can be released afterwards).
set -euo pipefail

source "$(dirname "$0")/lib-browser.sh"
browser_need panel-browser
source "$(dirname "$0")/test-connector-common.sh"

# ---- playwright-core, pinned by the lock file, kept in the build directory ----
check "npm ci: playwright-core into $DEPS" install_playwright

PIN_LOCKOUT=${PANEL_PIN_LOCKOUT:-20}
PANEL_IDLE=120 # the connector's default until the idle part
nimbusd_start --pin-lockout "$PIN_LOCKOUT"
check "tenant, users and queue" conn_setup_tenant
add_bob() {
  api POST '/api/v1/users?tenant=acme' -H 'Content-Type: application/json' \
    -d '{"name":"bob","password":"bob-pw-1","role":"user"}' -o /dev/null -w '%{http_code}' | grep -qx 201
}
check "second user bob" add_bob
check "ippeveprinter is up" ippeve_start
check "register the printer" conn_register lobby "$(conn_claim lobby)"
check "connector starts with --listen-ipp" conn_start lobby --output "$IPPEVE_URI" \
  --listen-ipp 127.0.0.1:0
ipp_port() { sed -n 's/.*msg="ipp listening".* port=\([0-9]*\).*/\1/p' "$CONN_DIR/lobby.log" | tail -1; }
has_ipp_port() { [ -n "$(ipp_port)" ]; }
check "the ipp listener logged its port" wait_until 'msg="ipp listening"' has_ipp_port
IPP_PORT=$(ipp_port)
PRINTER="ipp://127.0.0.1:$IPP_PORT/ipp/print"

newest_job() {
  curl -fsS -u boss@acme:boss-pw-1 "$NIMBUS_URL/api/v1/jobs?state=all&user=$1&limit=1000" |
    json_get "d['jobs'][-1]['id'] if d['jobs'] else 0"
}
# pc_print OWNER PIN NAME FILE: a PC prints to the connector; prints nimbusd's job id
pc_print() {
  ipptool -t -T 30 -d owner="$1" -d pin="$2" -d name="$3" -f "$NIMBUS_TEST_DATA/$4" "$PRINTER" \
    "$HERE/ipp/connector-pc-print.test" >"$CONN_DIR/ipptool.out" 2>&1 || {
    cat "$CONN_DIR/ipptool.out" >&2
    return 1
  }
  newest_job "$1"
}
held() {
  [ "$(curl -fsS -u boss@acme:boss-pw-1 "$NIMBUS_URL/api/v1/jobs/$1" | json_get "d['state']")" = held ]
}

# ---- the PCs print (the jobs wait in nimbusd) ----
REPORT=$(pc_print alice 1234 Quarterly-report.pdf threepage.pdf)
check "alice's report is held in nimbusd" held "$REPORT"
LOCKOUT=$(pc_print alice 1234 Boarding-pass.pdf onepage.pdf)
check "alice's boarding pass is held" held "$LOCKOUT"
DRAFT=$(pc_print alice 1234 Draft-letter.pdf onepage.pdf)
check "alice's draft is held" held "$DRAFT"
BOB=$(pc_print bob 4321 Bobs-notes.pdf onepage.pdf)
check "bob's notes are held" held "$BOB"
# two jobs with the same name: one with a PIN, one without and 2 copies
MINUTES_PIN=$(pc_print alice 1234 Minutes.pdf onepage.pdf)
check "alice's minutes (PIN) are held" held "$MINUTES_PIN"
pc_print_copies() {
  ipptool -t -T 30 -d owner="$1" -d name="$2" -d copies="$3" -f "$NIMBUS_TEST_DATA/$4" "$PRINTER" \
    "$HERE/ipp/connector-pc-print-copies.test" >"$CONN_DIR/ipptool.out" 2>&1 || {
    cat "$CONN_DIR/ipptool.out" >&2
    return 1
  }
  newest_job "$1"
}
MINUTES_COPIES=$(pc_print_copies alice Minutes.pdf 2 threepage.pdf)
check "alice's minutes (2 copies, no PIN) are held" held "$MINUTES_COPIES"

# ---- the browser ----
if [ -n "${SCREENSHOTS_DIR:-}" ]; then
  mkdir -p "$SCREENSHOTS_DIR"
  SCREENSHOTS_DIR=$(cd "$SCREENSHOTS_DIR" && pwd)
fi
# run_browser [PART]: panel.test.js, PART main (default), idle or down
run_browser() {
  PANEL_PART="${1:-main}" PANEL_IDLE="$PANEL_IDLE" \
    NODE_PATH="$DEPS/node_modules" CHROMIUM="$CHROMIUM" PANEL_URL="$(conn_panel lobby)" \
    NIMBUS_URL="$NIMBUS_URL" NIMBUS_AUTH=boss@acme:boss-pw-1 PIN_LOCKOUT="$PIN_LOCKOUT" \
    JOB_REPORT="$REPORT" JOB_LOCKOUT="$LOCKOUT" JOB_DRAFT="$DRAFT" JOB_BOB="$BOB" \
    JOB_MINUTES_PIN="$MINUTES_PIN" JOB_MINUTES_COPIES="$MINUTES_COPIES" \
    IPPEVE_PRINTED="$IPPEVE_PRINTED" NIMBUS_TEST_DATA="$NIMBUS_TEST_DATA" \
    SCREENSHOTS_DIR="${SCREENSHOTS_DIR:-}" FAILURE_DIR="$BUILD_ROOT/meson-logs" \
    node "$BROWSER_SRC/panel.test.js" || {
    echo "--- the connector's log (last lines):" >&2
    grep -v 'msg=request' "$CONN_DIR/lobby.log" | tail -40 >&2
    echo "--- nimbusd's log (last lines):" >&2
    grep -v 'msg=request' "$NIMBUS_STATE.log" | tail -30 >&2
    return 1
  }
}
# The status page says "Ready" once the connector has been in contact with
# nimbusd (its first poll, after reporting its capabilities): wait for that
# instead of racing it.
has_contact() { curl -fsS "$(conn_panel lobby)/status.json" | json_get "d['last_contact']" | grep -q T; }
check "the connector has been in contact with nimbusd" wait_until "first contact" has_contact
START=$(date +%s)
check "the panel in headless Chromium (tests/browser/panel.test.js)" run_browser
echo "# browser part took $(($(date +%s) - START)) s (of which the lockout wait ~${PIN_LOCKOUT} s)"

check "bob's job was never touched" held "$BOB"

# ---- idle sign-out: the connector again, with a short panel-session-idle ----
PANEL_IDLE=10
check "connector stops cleanly" conn_stop lobby
check "connector starts with --panel-session-idle $PANEL_IDLE" conn_start lobby \
  --output "$IPPEVE_URI" --listen-ipp 127.0.0.1:0 --panel-session-idle "$PANEL_IDLE"
check "the idle warning and the signed-out message (panel.test.js idle)" run_browser idle

# ---- nimbusd unreachable: the panel's 5xx page ----
check "nimbusd stops cleanly" nimbusd_stop
check "the 5xx page (panel.test.js down)" run_browser down
check "connector stops cleanly" conn_stop lobby
finish test-panel-browser
