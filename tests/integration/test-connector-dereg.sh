#!/usr/bin/env bash
# nimbus-connector deregistration: a tenant admin deletes the printer
# registration in nimbusd (DELETE /api/v1/printers/NAME) while a connector
# runs, in polling mode (detected by the error pattern: client-error-gone
# "output device registration deleted") and in persistent mode (detected by
# the printer-deleted event on the held Get-Notifications), for each
# on-deregister policy:
#   delete    state file loses the registration, zero further requests
#   stop      registration kept, status stopped, zero further requests
#   continue  registration kept, the connector keeps trying (with back-off)
#   ask       the panel offers delete/stop/continue (CSRF-protected form);
#             no requests while it waits; the choice is applied
# "Zero further requests" is checked on both sides: nimbusd's /metrics
# (nimbus_deleted_device_requests_total and the INFRA operations in
# nimbus_requests_total) and the connector's own request log.
set -euo pipefail
source "$(dirname "$0")/test-connector-common.sh"

# long polls are held far longer than a scenario lasts, so the deletion
# always finds the persistent connector parked in Get-Notifications
nimbusd_start --notify-wait 600
check "tenant, users and queue" conn_setup_tenant
OUT="$CONN_DIR/out"
mkdir -p "$OUT"

long_polls() { curl -fsS "$NIMBUS_URL/metrics" | sed -n 's/^nimbus_device_long_polls \([0-9]*\)/\1/p'; }
# the state file still holds the registration, with this status
kept() { [ "$(conn_state_field "$1" status)" = "$2" ] && [ "$(conn_state_field "$1" credential | cut -c1-4)" = nmd_ ]; }
has_contact() { curl -fsS "$(conn_panel "$1")/status.json" | json_get "d['last_contact']" | grep -q T; }
ask_pending() { curl -fsS "$(conn_panel "$1")/status.json" | json_get "d['ask_pending']" | grep -qx True; }
# requests the connector sent after it logged the detection
requests_after_detection() {
  awk '/msg="deregistration detected"/ {f = 1; next} f && /msg=request / {n++} END {print n + 0}' \
    "$CONN_DIR/$1.log"
}

# The connector lives on, and neither nimbusd nor the connector's log sees
# a single device request over several poll intervals, grace periods and
# back-off maxima.
quiet() {
  local name=$1 before sent
  before=$(device_requests)
  sent=$(conn_log_count "$name" 'msg=request ')
  sleep 4
  kill -0 "$(conn_pid "$name")" &&
    [ "$(device_requests)" = "$before" ] &&
    [ "$(conn_log_count "$name" 'msg=request ')" = "$sent" ] &&
    [ "$(requests_after_detection "$name")" = 0 ]
}

# Start a registered connector and wait until it is talking to nimbusd
# (persistent: until its Get-Notifications is held).
start_registered() {
  local name=$1 transport=$2 policy=$3
  check "$name: register" conn_register "$name" "$(conn_claim "$name")"
  check "$name: start" conn_start "$name" --transport "$transport" --on-deregister "$policy" \
    --output "file://$OUT/$name" --request-timeout 900
  check "$name: talking to nimbusd" wait_until "first contact" has_contact "$name"
  if [ "$transport" = persistent ]; then
    check "$name: long poll held" wait_until "long poll" bash -c "[ \"\$(curl -fsS '$NIMBUS_URL/metrics' | sed -n 's/^nimbus_device_long_polls //p')\" = 1 ]"
  fi
}

# Requests carrying the deleted credential that detection may take:
# polling learns it from one answer, persistent from the event (none).
expected_deleted() { if [ "$1" = polling ]; then echo 1; else echo 0; fi; }

for transport in polling persistent; do
  t=${transport:0:4}

  # ---- delete ----
  n=${t}_delete
  start_registered "$n" "$transport" delete
  d0=$(deleted_device_requests)
  check "$n: admin deletes the registration" delete_printer "$n"
  check "$n: status unregistered" wait_until "unregistered" is_status "$n" unregistered
  check "$n: state file lost the registration" \
    python3 -c "import json,sys; d=json.load(open('$CONN_DIR/$n.json')); \
sys.exit(bool(d['status']!='unregistered' or 'credential' in d or 'output_device_uuid' in d or d['printer_uris']))"
  check "$n: state file still 0600" test "$(stat -c %a "$CONN_DIR/$n.json")" = 600
  check "$n: zero further requests" quiet "$n"
  check "$n: detection cost $(expected_deleted $transport) deleted-credential request(s)" \
    test $(($(deleted_device_requests) - d0)) = "$(expected_deleted $transport)"
  if [ "$transport" = persistent ]; then
    check "$n: detected by the printer-deleted notice" grep -q 'how="printer-deleted notice"' "$CONN_DIR/$n.log"
    check "$n: nimbusd closed the connection (within the grace period)" \
      grep -q 'msg="connection to the server closed" by=server' "$CONN_DIR/$n.log"
  fi
  check "$n: stops cleanly" conn_stop "$n"
  check "$n: status from the state file" \
    bash -c "'$NIMBUS_CONNECTOR' status --state '$CONN_DIR/$n.json' | grep -q 'Registration: *unregistered'"
  check "$n: a restart stays silent" conn_start "$n" --transport "$transport" --output "file://$OUT/$n"
  check "$n: still unregistered after restart" is_status "$n" unregistered
  check "$n: zero requests after restart" quiet "$n"
  check "$n: stops again" conn_stop "$n"

  # ---- stop ----
  n=${t}_stop
  start_registered "$n" "$transport" stop
  d0=$(deleted_device_requests)
  check "$n: admin deletes the registration" delete_printer "$n"
  check "$n: status stopped" wait_until "stopped" is_status "$n" stopped
  check "$n: registration kept in the state file" kept "$n" stopped
  check "$n: zero further requests" quiet "$n"
  check "$n: detection cost $(expected_deleted $transport) deleted-credential request(s)" \
    test $(($(deleted_device_requests) - d0)) = "$(expected_deleted $transport)"
  check "$n: stops cleanly" conn_stop "$n"

  # ---- continue ----
  n=${t}_continue
  start_registered "$n" "$transport" continue
  d0=$(deleted_device_requests)
  check "$n: admin deletes the registration" delete_printer "$n"
  check "$n: status deregistration-detected" wait_until "detected" is_status "$n" deregistration-detected
  check "$n: keeps trying" wait_until "more requests" \
    bash -c "[ \$((\$(curl -fsS '$NIMBUS_URL/metrics' | sed -n 's/^nimbus_deleted_device_requests_total //p') - $d0)) -ge 3 ]"
  check "$n: registration kept" kept "$n" deregistration-detected
  check "$n: backs off (retry log lines)" grep -q 'msg="retrying later"\|msg="deregistration detected"' "$CONN_DIR/$n.log"
  check "$n: stops cleanly" conn_stop "$n"

  # ---- ask ----
  n=${t}_ask
  start_registered "$n" "$transport" ask
  d0=$(deleted_device_requests)
  check "$n: admin deletes the registration" delete_printer "$n"
  check "$n: the panel asks" wait_until "ask pending" ask_pending "$n"
  check "$n: status deregistration-detected" is_status "$n" deregistration-detected
  check "$n: the page shows the three choices" \
    bash -c "curl -fsS '$(conn_panel "$n")/' | grep -c 'name=\"choice\"' | grep -qx 3"
  check "$n: zero requests while waiting" quiet "$n"
  # the form's token is bound to this browser's cookie (jar)
  JAR="$CONN_DIR/$n.jar"
  TOKEN=$(curl -fsS -c "$JAR" "$(conn_panel "$n")/" | sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p')
  OTHER=$(curl -fsS "$(conn_panel "$n")/" | sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p')
  check "$n: another browser gets another token" bash -c "[ -n '$TOKEN' ] && [ '$TOKEN' != '$OTHER' ]"
  check "$n: a form without the CSRF token is refused" \
    test "$(curl -s -b "$JAR" -o /dev/null -w '%{http_code}' -d 'choice=delete' "$(conn_panel "$n")/decision")" = 403
  check "$n: a wrong CSRF token is refused" \
    test "$(curl -s -b "$JAR" -o /dev/null -w '%{http_code}' -d "csrf=00${TOKEN:2}&choice=delete" "$(conn_panel "$n")/decision")" = 403
  check "$n: the token without its browser's cookie is refused" \
    test "$(curl -s -o /dev/null -w '%{http_code}' -d "csrf=$TOKEN&choice=delete" "$(conn_panel "$n")/decision")" = 403
  check "$n: a cross-origin form is refused" \
    test "$(curl -s -b "$JAR" -H 'Origin: http://evil.example' -o /dev/null -w '%{http_code}' -d "csrf=$TOKEN&choice=delete" "$(conn_panel "$n")/decision")" = 403
  check "$n: still waiting after refused forms" ask_pending "$n"
  if [ "$transport" = polling ]; then choice=delete final=unregistered; else choice=stop final=stopped; fi
  check "$n: choose $choice" \
    test "$(curl -s -b "$JAR" -o /dev/null -w '%{http_code}' -d "csrf=$TOKEN&choice=$choice" "$(conn_panel "$n")/decision")" = 200
  check "$n: status $final" wait_until "$final" is_status "$n" "$final"
  check "$n: a second decision is refused" \
    test "$(curl -s -b "$JAR" -o /dev/null -w '%{http_code}' -d "csrf=$TOKEN&choice=continue" "$(conn_panel "$n")/decision")" = 409
  check "$n: zero further requests" quiet "$n"
  check "$n: detection cost $(expected_deleted $transport) deleted-credential request(s)" \
    test $(($(deleted_device_requests) - d0)) = "$(expected_deleted $transport)"
  check "$n: stops cleanly" conn_stop "$n"
done

# ask answered "continue": the connector goes back to trying
n=ask_continue
start_registered "$n" polling ask
d0=$(deleted_device_requests)
check "$n: admin deletes the registration" delete_printer "$n"
check "$n: the panel asks" wait_until "ask pending" ask_pending "$n"
JAR="$CONN_DIR/$n.jar"
TOKEN=$(curl -fsS -c "$JAR" "$(conn_panel "$n")/" | sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p')
check "$n: choose continue" \
  test "$(curl -s -b "$JAR" -o /dev/null -w '%{http_code}' -d "csrf=$TOKEN&choice=continue" "$(conn_panel "$n")/decision")" = 200
check "$n: keeps trying" wait_until "more requests" \
  bash -c "[ \$((\$(curl -fsS '$NIMBUS_URL/metrics' | sed -n 's/^nimbus_deleted_device_requests_total //p') - $d0)) -ge 3 ]"
check "$n: stops cleanly" conn_stop "$n"

check "nimbusd stops cleanly" nimbusd_stop
finish test-connector-dereg
