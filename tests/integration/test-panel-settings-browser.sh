#!/usr/bin/env bash
# Settings at the printer (issue 15, docs/FEDERATION.md §5) as a person
# does it and at the device API, against real processes on loopback:
# nimbusd, nimbus-connector printing to ippeveprinter with two-sided
# printing (-2), a price table on the queue, alice's purpose "Work"
# (invoiced account CORP) her default so that the job is charged.
#
#  - the device API (curl, as the connector's printer with alice's panel
#    session): GET /device/jobs/{id} has the job's "settings" and the
#    printer's "choices" (what ippeveprinter reported); an unsupported
#    value or an unknown member on the quote and on the release is 400
#    with "member" naming it, and changes nothing (the job stays held,
#    copies 1, no job-settings-changed event); the quote prices settings
#    without storing them; the REST release checks settings against the
#    queue's values (400 naming the member);
#  - the panel in headless Chromium at 800x480 (tests/browser/panel.test.js,
#    part "settings"): copies 2 and two-sided-long-edge on the settings
#    screen, the fee shown changes, Print;
#  - then: the job at nimbusd has copies 2 and sides two-sided-long-edge
#    with a job-settings-changed event; the job ippeveprinter printed
#    carries copies=2 and sides=two-sided-long-edge (Get-Jobs at the
#    printer); the charge in the ledger is the fee the panel showed.
#
# Skipped (77) without chromium, node, npm.
# SCREENSHOTS_DIR=DIR: the screens as DIR/*.png (docs/panel/, PANEL.md).
set -euo pipefail
source "$(dirname "$0")/lib-browser.sh"
browser_need panel-settings-browser
source "$(dirname "$0")/test-connector-common.sh"

nimbusd_start
check "npm ci: playwright-core into $DEPS" install_playwright
check "tenant, users and queue" conn_setup_tenant

boss() { curl -fsS -u boss@acme:boss-pw-1 "$@"; }
boss_json() { # METHOD PATH BODY WANT-STATUS
  local got
  got=$(curl -sS -o "$CONN_DIR/boss.out" -w '%{http_code}' -u boss@acme:boss-pw-1 -X "$1" \
    -H 'Content-Type: application/json' ${3:+-d "$3"} "$NIMBUS_URL/api/v1$2")
  [ "$got" = "$4" ] || { echo "$1 $2: $got, want $4: $(cat "$CONN_DIR/boss.out")" >&2; return 1; }
}
money() {
  api PATCH '/api/v1/billing?tenant=acme' -f -H 'Content-Type: application/json' \
    -d '{"currency":"EUR","service_fee_fixed":10,"service_fee_bps":0}' >/dev/null || return 1
  local table='{"currency":"EUR","mode":"graduated","tiers":[{"from":1,"prices":{"a4":{"mono":{"one-sided":10,"two-sided":8},"color":{"one-sided":50,"two-sided":40}},"other":{"mono":{"one-sided":10},"color":{"one-sided":50}}}}]}'
  boss_json POST /price-tables "{\"name\":\"shop\",\"table\":$table}" 201 &&
    boss_json PATCH /queues/office '{"price_table":"shop","payment":"none"}' 200
}
check "EUR, a price table on queue office" money
purpose() {
  boss_json POST /billing-accounts '{"code":"CORP","name":"Corp","mode":"invoiced","everyone":true}' 201 &&
    curl -fsS -o /dev/null -u alice@acme:alice-pw-1 -X POST -H 'Content-Type: application/json' \
      -d '{"name":"Work","account":"CORP","default":true}' "$NIMBUS_URL/api/v1/purposes"
}
check "account CORP, alice's default purpose Work" purpose
check "ippeveprinter (two-sided) is up" ippeve_start -2
check "register the printer" conn_register lobby "$(conn_claim lobby)"
check "connector starts" conn_start lobby --output "$IPPEVE_URI"
has_contact() { curl -fsS "$(conn_panel lobby)/status.json" | json_get "d['last_contact']" | grep -q T; }
check "the connector has been in contact with nimbusd" wait_until "first contact" has_contact
# the printer's capabilities reached nimbusd (Update-Output-Device-Attributes)
caps_sent() { grep -q 'msg="capabilities sent"' "$CONN_DIR/lobby.log"; }
check "the connector sent the printer's capabilities" wait_until "capabilities" caps_sent

held() { [ "$(job_field "$1" state)" = held ]; }
JOB=$(submit_job onepage.pdf)
check "alice's job is held" held "$JOB"
JOB2=$(submit_job onepage.pdf)
check "a second job is held" held "$JOB2"

# ---- the device API, as the printer with alice's panel session ----
CRED=$(conn_state_field lobby credential)
status=
# panel SESSION METHOD PATH [JSON]: a device API call; $status, $CONN_DIR/body
panel() {
  local args=(-sS -o "$CONN_DIR/body" -w '%{http_code}' -X "$2" "$NIMBUS_URL/api/v1$3"
    -H "Authorization: Bearer $CRED")
  [ -n "$1" ] && args+=(-H "X-Nimbus-Session: $1")
  [ -n "${4-}" ] && args+=(-H 'Content-Type: application/json' --data-binary "$4")
  status=$(curl "${args[@]}")
}
body() { json_get "$1" <"$CONN_DIR/body"; }
panel "" POST /device/sessions '{"user":"alice","secret":"alice-pw-1"}'
check "panel session for alice: 201" test "$status" = 201
SESSION=$(body "d['session']")

panel "$SESSION" GET "/device/jobs/$JOB"
check "GET /device/jobs/{id}: 200" test "$status" = 200
check "  settings: copies 1, one-sided (the job's own)" \
  test "$(body "(d['settings']['copies'], d['settings']['sides'])")" = "(1, 'one-sided')"
check "  choices from the printer: two-sided-long-edge offered" \
  body "'two-sided-long-edge' in d['choices']['sides'] or exit(1)"
check "  choices: copies_max from copies-supported, colour modes and media listed" \
  body "d['choices']['copies_max'] >= 2 and len(d['choices']['print_color_mode']) > 0 and 'iso_a4_210x297mm' in d['choices']['media'] or exit(1)"
FEE_BEFORE=$(body "d['fee']['amount']")

events_of() { # JOB: its settings and release events, in order, on one line
  nimbus_sql "SELECT e.event FROM job_events e JOIN jobs j ON j.id = e.job_id WHERE j.number = $1 AND e.event IN ('job-settings-changed', 'job-released') ORDER BY e.id" |
    tr '\n' ' '
}
unchanged() { # JOB: still held, 1 copy, no settings event
  held "$1" && [ "$(job_field "$1" copies)" = 1 ] &&
    [ -z "$(events_of "$1")" ]
}
problem_member() { [ "$status" = 400 ] && [ "$(body "d.get('member')")" = "$1" ]; }
panel "$SESSION" POST "/device/jobs/$JOB/quote" '{"settings":{"sides":"two-sided-sideways"}}'
check "quote with an unsupported sides: 400 naming sides" problem_member sides
panel "$SESSION" POST "/device/jobs/$JOB/release" \
  '{"settings":{"copies":2,"media":"iso_a0_841x1189mm"}}'
check "release with an unsupported media: 400 naming media" problem_member media
check "  nothing changed" unchanged "$JOB"
panel "$SESSION" POST "/device/jobs/$JOB/release" '{"settings":{"copies":0}}'
check "release with copies 0: 400 naming copies" problem_member copies
panel "$SESSION" POST "/device/jobs/$JOB/release" '{"settings":{"staple":"yes"}}'
check "release with an unknown setting: 400 naming it" problem_member staple
check "  nothing changed" unchanged "$JOB"
panel "$SESSION" POST "/device/jobs/$JOB/quote" '{"settings":{"copies":2,"sides":"two-sided-long-edge"}}'
check "quote for 2 copies two-sided: 200" test "$status" = 200
QUOTE=$(body "d['fee']['amount']")
check "  the fee changes with the settings ($FEE_BEFORE -> $QUOTE)" test "$QUOTE" != "$FEE_BEFORE"
check "  the quote's settings" \
  test "$(body "(d['settings']['copies'], d['settings']['sides'])")" = "(2, 'two-sided-long-edge')"
check "  the quote stores nothing" unchanged "$JOB"
# the REST release checks against the queue's values
rest_release() { # JOB JSON: status
  curl -sS -o "$CONN_DIR/body" -w '%{http_code}' -u alice@acme:alice-pw-1 -X POST \
    -H 'Content-Type: application/json' -d "$2" "$NIMBUS_URL/api/v1/jobs/$1/release"
}
status=$(rest_release "$JOB2" '{"settings":{"sides":"two-sided-sideways"}}')
check "REST release with an unsupported sides: 400 naming sides" problem_member sides
check "  nothing changed" unchanged "$JOB2"
status=$(rest_release "$JOB2" '{"settings":{"copies":3,"print-color-mode":"monochrome"}}')
check "REST release with 3 copies, monochrome: 200" test "$status" = 200
check "  stored: copies 3, monochrome" test \
  "$(nimbus_sql "SELECT copies FROM jobs WHERE number = $JOB2") $(nimbus_sql "SELECT attrs_json FROM jobs WHERE number = $JOB2" | python3 -c 'import json,sys; print(json.load(sys.stdin)["print-color-mode"])')" \
  = "3 monochrome"
check "  with a job-settings-changed event" test "$(events_of "$JOB2")" = "job-settings-changed job-released "
panel "$SESSION" DELETE /device/sessions/current
check "panel session ended" test "$status" = 204

# ---- the panel in the browser ----
if [ -n "${SCREENSHOTS_DIR:-}" ]; then
  mkdir -p "$SCREENSHOTS_DIR"
  SCREENSHOTS_DIR=$(cd "$SCREENSHOTS_DIR" && pwd)
fi
run_browser() {
  PANEL_PART=settings NODE_PATH="$DEPS/node_modules" CHROMIUM="$CHROMIUM" \
    PANEL_URL="$(conn_panel lobby)" NIMBUS_URL="$NIMBUS_URL" NIMBUS_AUTH=boss@acme:boss-pw-1 \
    JOB_SETTINGS="$JOB" SETTINGS_FEE_FILE="$CONN_DIR/fee-shown" \
    IPPEVE_PRINTED="$IPPEVE_PRINTED" NIMBUS_TEST_DATA="$NIMBUS_TEST_DATA" \
    SCREENSHOTS_DIR="${SCREENSHOTS_DIR:-}" FAILURE_DIR="$BUILD_ROOT/meson-logs" \
    node "$BROWSER_SRC/panel.test.js" || {
    echo "--- the connector's log (last lines):" >&2
    grep -v 'msg=request' "$CONN_DIR/lobby.log" | tail -30 >&2
    echo "--- nimbusd's log (last lines):" >&2
    grep -v 'msg=request' "$NIMBUS_STATE.log" | tail -30 >&2
    return 1
  }
}
check "settings at the panel in headless Chromium (panel.test.js settings)" run_browser
check "the job is printed" wait_until "job $JOB completed" job_is "$JOB" completed
check "  at nimbusd: copies 2" test "$(job_field "$JOB" copies)" = 2
check "  at nimbusd: one job-settings-changed event, then job-released" \
  test "$(events_of "$JOB")" = "job-settings-changed job-released "
check "  at nimbusd: sides two-sided-long-edge stored with the job" test \
  "$(nimbus_sql "SELECT attrs_json FROM jobs WHERE number = $JOB" | python3 -c 'import json,sys; print(json.load(sys.stdin)["sides"])')" \
  = two-sided-long-edge

# what ippeveprinter received: its job's copies and sides (Get-Jobs)
check "ippeveprinter's job carries copies=2 and sides=two-sided-long-edge" \
  ippeve_printed_with 2 two-sided-long-edge

# the charge follows the settings: the fee the panel showed after the change
charged() {
  [ "$(boss "$NIMBUS_URL/api/v1/jobs/$JOB" | json_get "d['purpose']['charge']['state']")" = charged ]
}
check "the job is charged" wait_until "charged" charged
CHARGE=$(boss "$NIMBUS_URL/api/v1/jobs/$JOB" | json_get "d['purpose']['charge']['total']")
check "  the charge is the quote for 2 copies two-sided ($CHARGE = $QUOTE)" test "$CHARGE" = "$QUOTE"
check "  and not the fee before the change" test "$CHARGE" != "$FEE_BEFORE"
ledger_of() {
  boss "$NIMBUS_URL/api/v1/ledger?job=$JOB" |
    json_get "sum(e['amount'] for e in d['entries'] if e['account'].endswith(':CORP'))"
}
check "ledger: CORP debited the new fee" test "$(ledger_of)" = "$QUOTE"
shown_cents() { python3 -c "import re,sys; print(int(round(float(re.sub('[^0-9.]','',open(sys.argv[1]).read()))*100)))" "$1"; }
check "  which is the total the panel showed" test "$(shown_cents "$CONN_DIR/fee-shown")" = "$QUOTE"
check "connector stops cleanly" conn_stop lobby
check "nimbusd stops cleanly" nimbusd_stop
finish test-panel-settings-browser
