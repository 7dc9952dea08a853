#!/usr/bin/env bash
# Release at the printer (issue 4, PROTOCOL.md 7), the connector's half:
# a PC (ipptool) prints to the connector's local IPP printer as alice with
# PIN 1234; the connector streams the job to nimbusd as the device on her
# behalf; the job is held there (owner alice, origin_device lobby, pages);
# the panel flow driven with curl (login, list, PIN, details, Print)
# releases it to this printer, ippeveprinter prints it, nimbusd shows it
# completed and its document purged.  Also: a wrong PIN is refused (403)
# and nothing prints; bob's login does not list alice's job and cannot
# release it by id; Create-Job + Send-Document; cancel at the panel; a
# 1 GB job arrives intact (sha256 of nimbusd's spool file) with the
# connector's peak RSS printed (not asserted).
# Set NIMBUS_SKIP_BIG=1 to leave out the 1 GB job.
set -euo pipefail
source "$(dirname "$0")/test-connector-common.sh"

nimbusd_start --max-document-size 2G
check "tenant, users and queue" conn_setup_tenant
add_bob() {
  api POST '/api/v1/users?tenant=acme' -H 'Content-Type: application/json' \
    -d '{"name":"bob","password":"bob-pw-1","role":"user"}' -o /dev/null -w '%{http_code}' | grep -qx 201
}
check "second user bob" add_bob
check "ippeveprinter is up" ippeve_start
check "register the printer" conn_register lobby "$(conn_claim lobby)"
check "connector starts with --listen-ipp" conn_start lobby --output "$IPPEVE_URI" \
  --listen-ipp 127.0.0.1:0 --upload-buffer 256k
ipp_port() { sed -n 's/.*msg="ipp listening".* port=\([0-9]*\).*/\1/p' "$CONN_DIR/lobby.log" | tail -1; }
has_ipp_port() { [ -n "$(ipp_port)" ]; }
# (the panel may log its port before the IPP listener does)
check "the ipp listener logged its port" wait_until 'msg="ipp listening"' has_ipp_port
IPP_PORT=$(ipp_port)
PRINTER="ipp://127.0.0.1:$IPP_PORT/ipp/print"
PANEL=$(conn_panel lobby)
TESTS="$HERE/ipp"

admin_job() { curl -fsS -u boss@acme:boss-pw-1 "$NIMBUS_URL/api/v1/jobs/$1"; }
admin_field() { admin_job "$1" | json_get "d.get('$2')"; }
admin_is() { [ "$(admin_field "$1" state)" = "$2" ]; }
newest_job() {
  curl -fsS -u boss@acme:boss-pw-1 "$NIMBUS_URL/api/v1/jobs?state=all&user=$1&limit=1000" |
    json_get "d['jobs'][-1]['id'] if d['jobs'] else 0"
}
printed_is() { [ "$(ippeve_printed_count)" = "$1" ]; }

# ---- a PC prints ----
check "ipptool as a PC: Get-Printer-Attributes and Print-Job" \
  ipptool -t -T 30 -d owner=alice -d pin=1234 -d name=release-test \
  -f "$NIMBUS_TEST_DATA/threepage.pdf" "$PRINTER" "$TESTS/connector-pc-print.test"
JOB=$(newest_job alice)
check "the job is in nimbusd" test "$JOB" -gt 0
check "owner alice" test "$(admin_field "$JOB" owner)" = alice
check "origin_device is the printer" test "$(admin_field "$JOB" origin_device)" = lobby
check "pages counted (3)" test "$(admin_field "$JOB" pages)" = 3
check "held until released" admin_is "$JOB" held
check "it has a PIN" test "$(admin_field "$JOB" has_pin)" = True
check "the document arrived intact" bash -c "admin_job() { curl -fsS -u boss@acme:boss-pw-1 '$NIMBUS_URL/api/v1/jobs/$JOB'; }; \
  test \"\$(admin_job | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"documents\"][0][\"size\"])')\" = $(stat -c %s "$NIMBUS_TEST_DATA/threepage.pdf")"
check "Get-Jobs from the PC answers" ipptool -t -T 10 "$PRINTER" get-jobs.test
check "a name that is no user is refused, the PC told why (test-user-aliases.sh)" \
  ipptool -t -T 20 -d owner=nobody -f "$NIMBUS_TEST_DATA/onepage.pdf" "$PRINTER" "$TESTS/print-as-refused.test"

# ---- the panel, driven with curl ----
JAR="$CONN_DIR/cookies"
# the CSRF token of the screen last shown (per session, like a browser's form)
page_csrf() { sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$CONN_DIR/page.html" 2>/dev/null | head -1; }
# panel_post PATH [curl -d args...]: prints the HTTP status; page in $CONN_DIR/page.html
panel_post() {
  local path=$1 csrf
  shift
  csrf=$(page_csrf)
  curl -sS -b "$JAR" -c "$JAR" -L -D "$CONN_DIR/headers" -o "$CONN_DIR/page.html" \
    -w '%{http_code}' -d "csrf=$csrf" "$@" "$PANEL$path"
}
panel_get() { curl -sS -b "$JAR" -c "$JAR" -L -o "$CONN_DIR/page.html" -w '%{http_code}' "$PANEL$1"; }
page_has() { grep -q -- "$1" "$CONN_DIR/page.html"; }
login() {
  rm -f "$JAR" "$CONN_DIR/page.html"
  panel_post /release/login --data-urlencode "user=$1" --data-urlencode "secret=$2"
}

check "the login screen has #user, #secret, #login" bash -c \
  "curl -fsS '$PANEL/release' | grep -q 'id=\"user\"' && curl -fsS '$PANEL/release' | grep -q 'id=\"secret\"' && curl -fsS '$PANEL/release' | grep -q 'id=\"login\"'"
check "an anonymous visitor gets no CSRF token" bash -c "! curl -fsS '$PANEL/release' | grep -q 'name=\"csrf\"'"
check "a wrong secret is refused (401)" test "$(login alice wrong-secret)" = 401
check "... with a message" page_has 'id="message"'

# ---- panel web security (issue 8, item 13) ----
hdrs() { curl -sS -D - -o /dev/null "$@"; }
has_security_headers() {
  local h
  h=$(hdrs "$1")
  grep -qi "^Content-Security-Policy: default-src 'none'; style-src 'self'" <<<"$h" &&
    grep -qi '^X-Content-Type-Options: nosniff' <<<"$h" &&
    grep -qi '^Referrer-Policy: same-origin' <<<"$h"
}
check "the login screen has CSP, nosniff and Referrer-Policy" has_security_headers "$PANEL/release"
check "the status page too" has_security_headers "$PANEL/"
check "no inline style or script in the screens (CSP)" bash -c \
  "! curl -fsS '$PANEL/release' | grep -qiE '<style|<script|style=\"'"
check "the stylesheet is served as text/css" bash -c \
  "curl -fsS -D - -o /dev/null '$PANEL/release/panel.css' | grep -qi '^Content-Type: text/css'"
check "nimbusd's answers carry nosniff, Referrer-Policy and a CSP" bash -c \
  "h=\$(curl -sS -D - -o /dev/null '$NIMBUS_URL/healthz'); grep -qi '^X-Content-Type-Options: nosniff' <<<\"\$h\" && grep -qi '^Referrer-Policy: no-referrer' <<<\"\$h\" && grep -qi \"^Content-Security-Policy: default-src 'none'\" <<<\"\$h\""
cross_origin_login() {
  curl -sS -o /dev/null -w '%{http_code}' -H 'Origin: http://evil.example' \
    --data-urlencode user=alice --data-urlencode secret=alice-pw-1 "$PANEL/release/login"
}
check "a cross-origin POST is refused (403)" test "$(cross_origin_login)" = 403
cross_referer_login() {
  curl -sS -o /dev/null -w '%{http_code}' -H 'Referer: http://evil.example/x' \
    --data-urlencode user=alice --data-urlencode secret=alice-pw-1 "$PANEL/release/login"
}
check "... also when only its Referer says so" test "$(cross_referer_login)" = 403
same_origin_login() {
  curl -sS -o /dev/null -w '%{http_code}' -H "Origin: $PANEL" \
    --data-urlencode user=alice --data-urlencode secret=wrong "$PANEL/release/login"
}
check "a same-origin POST is served (401 for a wrong secret)" test "$(same_origin_login)" = 401
check "alice logs in (session A)" test "$(login alice alice-pw-1)" = 200
TOKEN_A=$(page_csrf)
cp "$JAR" "$CONN_DIR/jar-a"
check "bob logs in in another browser (session B)" test "$(login bob bob-pw-1)" = 200
TOKEN_B=$(page_csrf)
check "each session has its own CSRF token" bash -c "[ -n '$TOKEN_A' ] && [ -n '$TOKEN_B' ] && [ '$TOKEN_A' != '$TOKEN_B' ]"
foreign_token() {
  curl -sS -b "$JAR" -o /dev/null -w '%{http_code}' -d "csrf=$TOKEN_A" "$PANEL/release/back"
}
check "session A's token is refused in session B (403)" test "$(foreign_token)" = 403
no_token() { curl -sS -b "$JAR" -o /dev/null -w '%{http_code}' -d "x=1" "$PANEL/release/back"; }
check "a POST of a session without its token is refused (403)" test "$(no_token)" = 403
session_a_alive() {
  test "$(curl -sS -b "$CONN_DIR/jar-a" -o /dev/null -w '%{http_code}' "$PANEL/release/jobs")" = 200
}
check "session A is alive" session_a_alive
relogin_in_a() {
  curl -sS -b "$CONN_DIR/jar-a" -c "$CONN_DIR/jar-a2" -o /dev/null -w '%{http_code}' \
    --data-urlencode user=bob --data-urlencode secret=bob-pw-1 "$PANEL/release/login"
}
check "bob signs in in browser A" test "$(relogin_in_a)" = 303
check "... which ended alice's session there" bash -c \
  "test \"\$(curl -sS -b '$CONN_DIR/jar-a' -o /dev/null -w '%{http_code}' '$PANEL/release/jobs')\" = 303"
check "... and bob's new session in A works" bash -c \
  "test \"\$(curl -sS -b '$CONN_DIR/jar-a2' -o /dev/null -w '%{http_code}' '$PANEL/release/jobs')\" = 200"
check "logout of session B" test "$(panel_post /release/logout)" = 200

# bob cannot see or release alice's job
check "bob logs in" test "$(login bob bob-pw-1)" = 200
check "bob's list is shown" page_has 'data-screen="jobs"'
check "bob's list does not show alice's job" bash -c "! grep -q 'data-id=\"$JOB\"' '$CONN_DIR/page.html'"
check "bob selects alice's job id anyway" test "$(panel_post /release/select -d "job=$JOB")" = 404
check "bob's release by id does not print it" admin_is "$JOB" held
check "bob logs out" test "$(panel_post /release/logout)" = 200

# alice: wrong PIN first
check "alice logs in" test "$(login alice alice-pw-1)" = 200
check "her job is listed (.job)" page_has "class=\"job\" data-id=\"$JOB\""
check "with its name" page_has 'release-test'
check "she selects it: the PIN screen" test "$(panel_post /release/select -d "job=$JOB")" = 200
check "... has #pin" page_has 'id="pin"'
check "a wrong PIN is refused on the PIN screen: 403" test "$(panel_post /release/pin -d pin=9999)" = 403
check "... says how many attempts are left" page_has 'attempts\? left'
check "... and shows the PIN screen again" page_has 'data-screen="pin"'
# press_keys K...: the on-screen keypad (each key a submit button of #pin-form)
press_keys() {
  local k
  for k in "$@"; do
    [ "$(panel_post /release/pin -d pin= -d "key=$k")" = 200 ] || return 1
  done
}
check "keypad keys 1, 2, 3 and 4, Del: kept as three dots" press_keys 1 2 3 4 del
check "... shown as three dots" page_has 'data-count="3"'
check "the keyed 123 + typed 9 is a wrong PIN: 403" test "$(panel_post /release/pin -d pin=9)" = 403
check "... two attempts counted" page_has '3 attempts left'
sleep 2
check "the job was not printed" printed_is 0
check "it is still held" admin_is "$JOB" held
check "Back returns to the list" test "$(panel_post /release/back)" = 200
check "... the job list" page_has 'data-screen="jobs"'

# alice: the right PIN
check "select again" test "$(panel_post /release/select -d "job=$JOB")" = 200
check "the right PIN" test "$(panel_post /release/pin -d pin=1234)" = 200
# a free job (no price table): "Free", no breakdown, Print (not Pay and print)
check "the details say the fee is Free" page_has 'id="job-fee">Free<'
check "... with Print and no Pay and print" bash -c \
  "grep -q 'id=\"print\"' '$CONN_DIR/page.html' && ! grep -q -e 'id=\"pay\"' -e 'id=\"fee-print\"' '$CONN_DIR/page.html'"
# no payment in this session: no QR code, and the payment screen sends to the job
panel_status() { curl -sS -b "$JAR" -o /dev/null -w '%{http_code} %{redirect_url}' "$PANEL$1"; }
check "no payment: /release/qr.svg is 404" test "$(panel_status /release/qr.svg)" = "404 "
check "no payment: /release/pay goes to the job" \
  test "$(panel_status /release/pay)" = "303 $PANEL/release/job"
check "Print" test "$(panel_post /release/print)" = 200
check "the done screen" page_has 'data-screen="done"'
check "logged out after printing" bash -c "test \"\$(curl -sS -b '$JAR' -o /dev/null -w '%{http_code}' '$PANEL/release/jobs')\" = 303"
check "the job completes in nimbusd" wait_until "job $JOB completed" admin_is "$JOB" completed
check "ippeveprinter printed it once" printed_is 1
check "the printed document is the PC's" cmp "$NIMBUS_TEST_DATA/threepage.pdf" "$(find "$IPPEVE_PRINTED" -type f | head -1)"
purged() { [ "$(admin_job "$JOB" | json_get "d['documents'][0]['purged']")" = True ]; }
check "its document is purged" wait_until "job $JOB purged" purged
check "the PIN never appears in the connector's log" bash -c "! grep -q '1234' '$CONN_DIR/lobby.log'"

# ---- Create-Job + Send-Document, cancelled at the panel ----
check "Create-Job + Send-Document through the listener" \
  ipptool -t -T 30 -d owner=alice -d pin=4321 -f "$NIMBUS_TEST_DATA/onepage.pdf" "$PRINTER" \
  "$TESTS/connector-pc-create-send.test"
JOB2=$(newest_job alice)
check "the second job is held in nimbusd" wait_until "job $JOB2 held" admin_is "$JOB2" held
check "alice logs in again" test "$(login alice alice-pw-1)" = 200
check "select the second job" test "$(panel_post /release/select -d "job=$JOB2")" = 200
check "its PIN" test "$(panel_post /release/pin -d pin=4321)" = 200
check "... the details" page_has 'data-screen="details"'
check "Cancel job asks first" test "$(panel_post /release/cancel)" = 200
check "... the confirmation screen" page_has 'data-screen="confirm-cancel"'
check "... not canceled yet" admin_is "$JOB2" held
check "Yes, cancel the job" test "$(panel_post /release/cancel -d confirm=yes)" = 200
check "... canceled in nimbusd" admin_is "$JOB2" canceled
check "... and not printed" printed_is 1
check "alice logs out" test "$(panel_post /release/logout)" = 200

# ---- a 1 GB job through the listener ----
NIMBUS_GEN_BIG_PDF=${NIMBUS_GEN_BIG_PDF:-$(dirname "$NIMBUS_CONNECTOR")/../../bench/gen-big-pdf}
if [ "${NIMBUS_SKIP_BIG:-0}" != 1 ]; then
  check "the 1 GB generator is built" test -x "$NIMBUS_GEN_BIG_PDF"
  BIG="$CONN_DIR/big.pdf"
  check "generate a 1 GB PDF" "$NIMBUS_GEN_BIG_PDF" --size 1000M --out "$BIG"
  SUM=$(sha256sum "$BIG" | cut -d' ' -f1)
  check "ipptool sends it through the listener" \
    ipptool -t -T 600 -d owner=alice -d pin=5555 -d name=big -f "$BIG" "$PRINTER" \
    "$TESTS/connector-pc-print.test"
  JOB3=$(newest_job alice)
  check "the big job is held in nimbusd" admin_is "$JOB3" held
  SPOOLED=$(find "$NIMBUS_STATE" -type f -size +900M | head -1)
  check "nimbusd spooled it" test -n "$SPOOLED"
  check "it arrived intact (sha256)" test "$(sha256sum "$SPOOLED" | cut -d' ' -f1)" = "$SUM"
  echo "# connector peak RSS (VmHWM) after the 1 GB job: $(grep VmHWM "/proc/$(conn_pid lobby)/status" | tr -s ' \t' ' ')"
  rm -f "$BIG"
else
  echo "skip - the 1 GB job (NIMBUS_SKIP_BIG=1 asked for it)"
fi

check "connector stops cleanly" conn_stop lobby
check "nimbusd stops cleanly" nimbusd_stop
finish test-connector-release
