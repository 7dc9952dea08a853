#!/usr/bin/env bash
# One job list across print services at the printer (issue 15,
# docs/FEDERATION.md §4, docs/PANEL.md), as a person does it, against real
# processes on loopback: two nimbusd, the "remote" (tenant acme, alice,
# queue fed with release_immediately and a printer registration) and
# "home" (tenant acme, alice, queue office; a remote printer link "other"
# to the remote's queue fed; alice's account at the remote linked by the
# device grant, approved through the remote's REST), nimbus-connector on
# home printing to ippeveprinter (two-sided, -2).
#
#  - jobs: a local job, a second later alice's job at the remote, a
#    second later another local one;
#  - the panel in headless Chromium at 800x480 (tests/browser/panel.test.js,
#    part "federation", phase "take"): the merged list in the order of the
#    submission times (newest first), the remote row marked "at HOST";
#    the remote job's details, its settings screen (copies 2,
#    two-sided-long-edge), Print: the done screen; signed in again, the
#    remote job is gone from the list;
#  - the console's My jobs (when built: NIMBUS_CONSOLE_DIR) lists the
#    remote job between the local ones, "Where" At HOST, no actions;
#  - then: the job ippeveprinter printed carries copies=2 and
#    sides=two-sided-long-edge; home has a local job from the remote one;
#  - alice's token revoked at the remote: home's link is relink-needed;
#    phase "relink": the list says "Your account at HOST needs relinking",
#    Relink shows the user code, its QR code and the verification URL,
#    the code approved at the remote: the screen (meta refresh) says linked.
#
# Skipped (77) without chromium, node, npm.
# SCREENSHOTS_DIR=DIR: the screens as DIR/*.png (docs/panel/, PANEL.md).
set -euo pipefail
source "$(dirname "$0")/lib-browser.sh"
browser_need panel-federation-browser
source "$(dirname "$0")/test-connector-common.sh"

T=$(mktemp -d)
_lib_tmpdirs+=("$T")

# ---- two nimbusd: the remote first, then home ----------------------------

nimbusd_start_remote --remote-poll 1 --remote-resync 5
check "remote: tenant acme, alice, boss" conn_setup_tenant
rboss() { # METHOD PATH JSON: as the remote's tenant admin, the body on stdout
  curl -fsS -u boss@acme:boss-pw-1 -X "$1" -H 'Content-Type: application/json' \
    ${3:+-d "$3"} "$REMOTE_URL/api/v1$2"
}
remote_queue() {
  rboss POST /queues '{"name":"fed","release_immediately":true}' >/dev/null &&
    CLAIM=$(rboss POST /printers '{"name":"home-link","queues":["fed"]}' |
      json_get "d['claim_code']") && [ -n "$CLAIM" ]
}
check "remote: queue fed (release_immediately), a printer registration's claim code" remote_queue
check "npm ci: playwright-core into $DEPS" install_playwright

nimbusd_start --remote-poll 1 --remote-resync 5 --account-link-check 2
HOME_URL=$NIMBUS_URL
check "home: tenant acme, alice, boss, queue office" conn_setup_tenant
boss() { # METHOD PATH JSON: as home's tenant admin
  curl -fsS -u boss@acme:boss-pw-1 -X "$1" -H 'Content-Type: application/json' \
    ${3:+-d "$3"} "$HOME_URL/api/v1$2"
}
alice() { # METHOD PATH [JSON]: as alice at home
  curl -fsS -u alice@acme:alice-pw-1 -X "$1" -H 'Content-Type: application/json' \
    ${3:+-d "$3"} "$HOME_URL/api/v1$2"
}
ralice() { # METHOD PATH [JSON]: as alice at the remote
  curl -fsS -u alice@acme:alice-pw-1 -X "$1" -H 'Content-Type: application/json' \
    ${3:+-d "$3"} "$REMOTE_URL/api/v1$2"
}
link_create() { boss POST /remote-links "$1" >/dev/null; }
check "home: a remote printer link to the remote's queue fed" link_create \
  "{\"name\":\"other\",\"printer_uri\":\"ipp://127.0.0.1:$REMOTE_PORT/ipp/print/acme/fed\",\"queue\":\"office\",\"claim_code\":\"$CLAIM\"}"
link_ok() { [ "$(boss GET /remote-links/other | json_get "d['status']")" = ok ]; }
check "the link is ok" wait_until "remote link ok" link_ok

# alice's account at the remote: the device grant, approved at the remote
link_alice() {
  alice POST /me/account-links "{\"service_url\":\"$REMOTE_URL\"}" >"$T/link" &&
    LINK_ID=$(json_get "d['id']" <"$T/link") &&
    ralice POST /oauth/device/approve "{\"user_code\":\"$(json_get "d['user_code']" <"$T/link")\"}" \
      >/dev/null
}
check "alice links her account at the remote (approved at the remote)" link_alice
account_is() { [ "$(alice GET "/me/account-links/$LINK_ID" | json_get "d['status']")" = "$1" ]; }
check "  linked" wait_until "account linked" account_is linked

check "ippeveprinter (two-sided) is up" ippeve_start -2
check "register the printer" conn_register lobby "$(conn_claim lobby)"
check "connector starts" conn_start lobby --output "$IPPEVE_URI"
caps_sent() { grep -q 'msg="capabilities sent"' "$CONN_DIR/lobby.log"; }
check "the connector sent the printer's capabilities" wait_until "capabilities" caps_sent

# ---- the jobs: local, remote, local; a second apart ------------------------
submit_remote() { # alice prints onepage.pdf at the remote's queue fed as "Remote report"
  ipptool -t -T 20 -f "$NIMBUS_TEST_DATA/onepage.pdf" -d "name=Remote report" -d user=alice \
    "ipp://alice:alice-pw-1@127.0.0.1:$REMOTE_PORT/ipp/print/acme/fed" \
    "$(dirname "$0")/ipp/print-job-named.test" >/dev/null
}
JOB_OLD=$(submit_job onepage.pdf)
sleep 1.1
check "alice prints at the remote" submit_remote
sleep 1.1
JOB_NEW=$(submit_job onepage.pdf)
remote_listed() { [ "$(boss GET /remote-links/other/jobs | json_get "len(d['jobs'])")" = 1 ]; }
check "home lists the remote job" wait_until "remote job listed" remote_listed
REMOTE_JOB=$(boss GET /remote-links/other/jobs | json_get "d['jobs'][0]['remote_id']")

# ---- the panel in the browser ----
if [ -n "${SCREENSHOTS_DIR:-}" ]; then
  mkdir -p "$SCREENSHOTS_DIR"
  SCREENSHOTS_DIR=$(cd "$SCREENSHOTS_DIR" && pwd)
fi
run_browser() { # PHASE
  PANEL_PART=federation FED_PHASE=$1 NODE_PATH="$DEPS/node_modules" CHROMIUM="$CHROMIUM" \
    PANEL_URL="$(conn_panel lobby)" NIMBUS_URL="$HOME_URL" NIMBUS_AUTH=boss@acme:boss-pw-1 \
    REMOTE_URL="$REMOTE_URL" REMOTE_AUTH=alice@acme:alice-pw-1 \
    JOB_OLD="$JOB_OLD" JOB_NEW="$JOB_NEW" REMOTE_ID="other:$REMOTE_JOB" \
    REMOTE_HOST="127.0.0.1:$REMOTE_PORT" \
    IPPEVE_PRINTED="$IPPEVE_PRINTED" NIMBUS_TEST_DATA="$NIMBUS_TEST_DATA" \
    SCREENSHOTS_DIR="${SCREENSHOTS_DIR:-}" FAILURE_DIR="$BUILD_ROOT/meson-logs" \
    node "$BROWSER_SRC/panel.test.js" || {
    echo "--- the connector's log (last lines):" >&2
    grep -v 'msg=request' "$CONN_DIR/lobby.log" | tail -30 >&2
    echo "--- home nimbusd's log (last lines):" >&2
    grep -v 'msg=request' "$NIMBUS_STATE.log" | tail -30 >&2
    return 1
  }
}
# the console's My jobs as alice sees it there (tests/browser/console-remote.test.js)
run_console() {
  NODE_PATH="$DEPS/node_modules" CHROMIUM="$CHROMIUM" NIMBUS_URL="$HOME_URL" \
    ALICE=alice@acme:alice-pw-1 JOB_OLD="$JOB_OLD" JOB_NEW="$JOB_NEW" \
    REMOTE_ID="other:$REMOTE_JOB" REMOTE_HOST="127.0.0.1:$REMOTE_PORT" \
    FAILURE_DIR="$BUILD_ROOT/meson-logs" node "$BROWSER_SRC/console-remote.test.js"
}
if [ -n "${NIMBUS_CONSOLE_DIR:-}" ] && [ -f "$NIMBUS_CONSOLE_DIR/console.js" ]; then
  check "the console's My jobs: the remote job marked At HOST, no actions" run_console
else
  echo "skip - the console is not built (NIMBUS_CONSOLE_DIR): My jobs not checked"
fi
check "the merged list, a remote job's settings and Print in headless Chromium" run_browser take

# what ippeveprinter received: its job's copies and sides (Get-Jobs)
printer_got() { ippeve_printed_with 2 two-sided-long-edge all; }
check "ippeveprinter printed it with copies=2 and sides=two-sided-long-edge" \
  wait_until "the remote job printed" printer_got
local_copy() {
  alice GET '/jobs?state=all&limit=100' |
    json_get "[j['name'] for j in d['jobs'] if j['id'] not in ($JOB_OLD, $JOB_NEW)]" |
    grep -q 'Remote report'
}
check "home has a local job made from the remote one" local_copy

# ---- relink needed ----------------------------------------------------------
revoke() {
  local id
  id=$(ralice GET /tokens | json_get "[t['id'] for t in d['tokens'] if t['label'].startswith('linked: ')][0]")
  ralice DELETE "/tokens/$id" >/dev/null
}
check "alice revokes home's token at the remote" revoke
check "home: the account link is relink-needed" wait_until "relink-needed" account_is relink-needed
check "relink needed, the code and its QR code at the panel, linked again" run_browser relink
check "home: the account link is linked again" account_is linked

check "connector stops cleanly" conn_stop lobby
check "nimbusd stops cleanly" nimbusd_stop
finish test-panel-federation-browser
