#!/usr/bin/env bash
# Provisioning runs (docs/PROVISIONING.md §5–§8) against a real nimbusd,
# the printers' side driven with curl as a connector would drive it
# (the real connector is test-provisioning-e2e's): a contract that starts
# gets one run with each covered printer's steps in the order settings,
# firmware, applications, cloud; a printer is served one step at a time;
# packages download with their checksum and resume with Range; a failed
# report is retried with back-off and, after --provision-retries, fails
# and blocks only that printer; kill -9 of nimbusd mid-run resumes with
# no second run and the steps as they were; two nimbusd on one store make
# exactly one run; a renewal with one changed item plans exactly it, a
# renewal with none is "nothing-to-do"; an inventory already at target
# plans nothing; a cloud item without its service settings is skipped
# with the reason; a canceled contract's planned steps are skipped.  With NIMBUS_TEST_STORE_URL it runs on PostgreSQL.
set -euo pipefail
source "$(dirname "$0")/lib-nimbusd.sh"

T=$(mktemp -d /tmp/nimbus-prov.XXXXXX)
B_PID=
trap '[ -z "$B_PID" ] || kill -KILL "$B_PID" 2>/dev/null; rm -rf "$T"; _lib_cleanup' EXIT
FLAGS=(--provision-interval 1 --provision-retries 2 --node-id node-a)
nimbusd_start "${FLAGS[@]}"
JSON=(-H 'Content-Type: application/json')

# call METHOD PATH [curl args]: as the operator; status in $status, body in $T/b
call() {
  local method=$1 path=$2
  shift 2
  rm -f "$T/b"
  status=$(curl -sS -o "$T/b" -w '%{http_code}' -X "$method" \
    -u "admin@system:$NIMBUS_ADMIN_PASSWORD" "$NIMBUS_URL/api/v1$path" "$@")
}
# dev CREDENTIAL METHOD PATH [JSON]: as a printer
dev() {
  local cred=$1 method=$2 path=$3 data=${4-}
  local args=(-sS -o "$T/b" -w '%{http_code}' -X "$method" "$NIMBUS_URL/api/v1$path"
    -H "Authorization: Bearer $cred")
  [ -z "$data" ] || args+=("${JSON[@]}" --data-binary "$data")
  rm -f "$T/b"
  status=$(curl "${args[@]}")
}
body() { json_get "$1" <"$T/b"; }
wait_until() {
  local desc=$1 i
  shift
  for i in $(seq 1 300); do # 30 s: a limit for broken runs, not a timing assertion
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "gave up waiting for: $desc" >&2
  return 1
}
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
NOW=$(date +%s)
PAST=$(iso $((NOW - 60)))
END=$(iso $((NOW + 86400 * 365)))

# ---- set-up: a tenant, four printers, three packages --------------------------
register() { # NAME: the printer's credential in CRED_<NAME>
  call POST "/printers?tenant=acme" "${JSON[@]}" -d "{\"name\":\"$1\",\"queues\":[\"office\"]}"
  [ "$status" = 201 ]
  local code
  code=$(body "d['claim_code']")
  rm -f "$T/b"
  status=$(curl -sS -o "$T/b" -w '%{http_code}' -X POST "${JSON[@]}" \
    -d "{\"claim_code\":\"$code\"}" "$NIMBUS_URL/api/v1/device/register")
  [ "$status" = 201 ]
  printf -v "CRED_$1" '%s' "$(body "d['credential']")"
}
upload() { # KIND NAME VERSION FILE: id in PKG, checksum in SUM
  call POST "/packages?kind=$1&name=$2&version=$3" -H 'Content-Type: application/octet-stream' \
    --data-binary "@$4"
  [ "$status" = 201 ]
  PKG=$(body "d['id']")
  SUM=$(body "d['sha256']")
  [ "$SUM" = "$(sha256sum "$4" | cut -d' ' -f1)" ]
}
setup() {
  call POST /tenants "${JSON[@]}" -d '{"name":"acme"}'
  [ "$status" = 201 ]
  call POST "/queues?tenant=acme" "${JSON[@]}" -d '{"name":"office"}'
  [ "$status" = 201 ]
  register lobby
  register floor2
  register annex
  register side
  head -c 300000 /dev/urandom >"$T/fw.bin"
  head -c 5000 /dev/urandom >"$T/app.bin"
  head -c 6000 /dev/urandom >"$T/app2.bin"
  upload firmware engine 4.2.0 "$T/fw.bin"
  FW=$PKG FW_SUM=$SUM
  upload application scan2cloud 2.1.0 "$T/app.bin"
  APP=$PKG APP_SUM=$SUM
  upload application scan2cloud 2.2.0 "$T/app2.bin"
  APP2=$PKG APP2_SUM=$SUM
}
check "a tenant with four registered printers, a firmware and two application packages" setup

SETTINGS='{"kind":"settings","name":"office-defaults","values":{"sides-default":"two-sided-long-edge","printer-sleep-timer":15}}'
firmware() { echo "{\"kind\":\"firmware\",\"name\":\"engine\",\"version\":\"4.2.0\",\"package\":$FW,\"sha256\":\"$FW_SUM\"}"; }
app() { echo "{\"kind\":\"application\",\"name\":\"scan2cloud\",\"version\":\"$1\",\"package\":$2,\"sha256\":\"$3\"}"; }
BACKUP='"backup":{"period":"daily","time":"02:30","mode":"full","retention":7}'

# contract NAME START PRINTERS SERVICE_SETTINGS ITEMS: its id in CID
contract() {
  call POST /contracts "${JSON[@]}" -d "{\"name\":\"$1\",\"tenant\":\"acme\",\"start_at\":\"$2\",
    \"end_at\":\"$END\",\"printers\":$3,\"service_settings\":{$4},\"items\":[$5]}"
  [ "$status" = 201 ] || { cat "$T/b" >&2; return 1; }
  CID=$(body "d['id']")
}
runs_of() { call GET "/contracts/$1/runs"; [ "$status" = 200 ]; body "len(d['runs'])"; }
has_runs() { [ "$(runs_of "$1")" = "$2" ]; }
run_field() { # CONTRACT EXPR on its newest run (GET /runs/{id})
  call GET "/contracts/$1/runs"
  local rid
  rid=$(body "d['runs'][0]['id']")
  call GET "/runs/$rid"
  [ "$status" = 200 ]
  body "$2"
}
steps_of() { # CONTRACT PRINTER: "kind:state ..." of that printer's steps in the newest run
  run_field "$1" "' '.join(s['kind']+':'+s['state'] for p in d['printers'] if p['printer']=='$2' for s in p['steps'])"
}
run_state() { run_field "$1" "d['state']"; }
steps_are() { [ "$(steps_of "$1" "$2")" = "$3" ]; }
state_is() { [ "$(run_state "$1")" = "$2" ]; }

# ---- a contract starts: one run, steps per printer in order -----------------------
start_contract() {
  contract main "$PAST" '["lobby","floor2"]' "$BACKUP" \
    "$SETTINGS,$(firmware),$(app 2.1.0 "$APP" "$APP_SUM"),{\"kind\":\"backup\"},{\"kind\":\"consumables\"}"
  MAIN=$CID
  wait_until "the run of the started contract" has_runs "$MAIN" 1
  [ "$(run_field "$MAIN" "d['kind']+' '+d['state']")" = "start running" ]
  local want="settings:planned firmware:planned application:planned backup:planned consumables:planned"
  [ "$(steps_of "$MAIN" lobby)" = "$want" ]
  [ "$(steps_of "$MAIN" floor2)" = "$want" ]
  [ "$(nimbus_sql "SELECT count(*) FROM provisioning_runs")" = 1 ]
}
check "a started contract gets one run: settings, firmware, application, backup, consumables per printer" start_contract

# ---- one step at a time ---------------------------------------------------------------
served() { # CRED: the id and kind of the served step ("" when none)
  dev "$1" GET /device/provisioning
  [ "$status" = 200 ]
  body "' '.join(str(s['id'])+' '+s['kind'] for s in d['steps'])"
}
one_at_a_time() {
  local a b
  a=$(served "$CRED_lobby")
  [ "${a#* }" = settings ]
  LOBBY_SETTINGS=${a%% *}
  [ "$(body "d['steps'][0]['target']['sides-default']")" = two-sided-long-edge ]
  b=$(served "$CRED_lobby") # asked again while sent: the same step, nothing new
  [ "$a" = "$b" ]
  [ "$(steps_of "$MAIN" lobby)" = "settings:sent firmware:planned application:planned backup:planned consumables:planned" ]
}
check "a printer is served its first step, and the same one while it is sent" one_at_a_time

# ---- kill -9 mid-run ------------------------------------------------------------------
resumes() {
  nimbusd_kill9
  nimbusd_restart
  local a
  a=$(served "$CRED_lobby")
  [ "$a" = "$LOBBY_SETTINGS settings" ]
  sleep 2 # two sweeps after the restart
  [ "$(nimbus_sql "SELECT count(*) FROM provisioning_runs")" = 1 ]
  [ "$(nimbus_sql "SELECT count(*) FROM provisioning_steps")" = 10 ]
  [ "$(run_field "$MAIN" "[s['attempts'] for p in d['printers'] if p['printer']=='lobby' for s in p['steps']][0]")" = 1 ]
}
check "kill -9 of nimbusd mid-run: no second run, the sent step is served again as it was" resumes

# ---- reports: confirmed, idempotent, checks -------------------------------------------
reports() {
  dev "$CRED_lobby" POST "/device/provisioning/steps/$LOBBY_SETTINGS" '{"result":"confirmed"}'
  [ "$status" = 200 ]
  [ "$(body "d['state']")" = confirmed ]
  dev "$CRED_lobby" POST "/device/provisioning/steps/$LOBBY_SETTINGS" '{"result":"confirmed"}'
  [ "$status" = 200 ] # the same report again: unchanged
  [ "$(nimbus_sql "SELECT count(*) FROM provisioning_events WHERE step_id = $LOBBY_SETTINGS AND to_state = 3")" = 1 ]
  dev "$CRED_floor2" POST "/device/provisioning/steps/$LOBBY_SETTINGS" '{"result":"confirmed"}'
  [ "$status" = 404 ] # another printer's step
  local fw_id
  fw_id=$(run_field "$MAIN" "[s['id'] for p in d['printers'] if p['printer']=='lobby' for s in p['steps']][1]")
  dev "$CRED_lobby" POST "/device/provisioning/steps/$fw_id" '{"result":"confirmed"}'
  [ "$status" = 409 ] # planned, not sent
  dev "$CRED_lobby" POST "/device/provisioning/steps/$fw_id" '{"result":"maybe"}'
  [ "$status" = 400 ]
}
check "reports: confirmed; the same again changes nothing; another printer's 404; not sent 409" reports

# ---- packages --------------------------------------------------------------------------
packages() {
  local a
  a=$(served "$CRED_lobby")
  [ "${a#* }" = firmware ]
  LOBBY_FW=${a%% *}
  [ "$(body "d['steps'][0]['package']['sha256']")" = "$FW_SUM" ]
  [ "$(body "d['steps'][0]['package']['size']")" = 300000 ]
  [ "$(body "d['steps'][0]['target']['version']")" = 4.2.0 ]
  local url hdr
  url=$(body "d['steps'][0]['package']['url']")
  hdr=$(curl -sS -D - -o "$T/got.bin" -H "Authorization: Bearer $CRED_lobby" "$NIMBUS_URL$url")
  cmp "$T/got.bin" "$T/fw.bin"
  echo "$hdr" | grep -qi "^X-Checksum-SHA256: $FW_SUM"
  # an interrupted download resumes: bytes 100000- only
  status=$(curl -sS -o "$T/tail.bin" -w '%{http_code}' -H 'Range: bytes=100000-' \
    -H "Authorization: Bearer $CRED_lobby" "$NIMBUS_URL$url")
  [ "$status" = 206 ]
  tail -c +100001 "$T/fw.bin" | cmp - "$T/tail.bin"
  # a package no step of this printer names: 404
  dev "$CRED_side" GET "/device/packages/$FW"
  [ "$status" = 404 ]
  dev "$CRED_lobby" GET "/device/packages/$APP2"
  [ "$status" = 404 ]
}
check "the firmware step names its package; it downloads whole with its checksum, resumes with Range; others 404" packages

# ---- lobby to the end: cloud steps applied or skipped with the reason ---------------
confirm_next() { # CRED KIND
  local a
  a=$(served "$1")
  [ "${a#* }" = "$2" ]
  dev "$1" POST "/device/provisioning/steps/${a%% *}" '{"result":"confirmed"}'
  [ "$status" = 200 ]
}
lobby_done() {
  dev "$CRED_lobby" POST "/device/provisioning/steps/$LOBBY_FW" '{"result":"confirmed","version":"4.2.0"}'
  [ "$status" = 200 ]
  confirm_next "$CRED_lobby" application
  wait_until "lobby's cloud steps" steps_are "$MAIN" lobby \
    "settings:confirmed firmware:confirmed application:confirmed backup:confirmed consumables:skipped"
  [ "$(run_field "$MAIN" "[s['reason'] for p in d['printers'] if p['printer']=='lobby' for s in p['steps'] if s['kind']=='consumables'][0]")" = "service settings lack order_url" ]
  [ "$(nimbus_sql "SELECT count(*) FROM printer_services WHERE service = 'backup' AND enabled")" -ge 1 ]
  [ "$(served "$CRED_lobby")" = "" ]
  [ "$(run_state "$MAIN")" = running ] # floor2 has not started
}
check "lobby: application, then backup configured and consumables skipped: 'service settings lack order_url'" lobby_done

# ---- floor2: a failing firmware retries with back-off, then fails and blocks --------
floor2_fails() {
  confirm_next "$CRED_floor2" settings
  local a t0
  a=$(served "$CRED_floor2")
  [ "${a#* }" = firmware ]
  F2_FW=${a%% *}
  t0=$(date +%s)
  dev "$CRED_floor2" POST "/device/provisioning/steps/$F2_FW" '{"result":"failed","reason":"installer exit 75","transient":true}'
  [ "$status" = 200 ]
  [ "$(body "d['state']+' '+str(d['attempts'])")" = "planned 1" ]
  local next
  next=$(nimbus_sql "SELECT next_at FROM provisioning_steps WHERE id = $F2_FW")
  [ $((next - t0)) -ge 29 ] && [ $((next - t0)) -le 32 ] # 2^0 x 30 s
  [ "$(served "$CRED_floor2")" = "" ] # waiting out the back-off
  nimbus_sql "UPDATE provisioning_steps SET next_at = 0 WHERE id = $F2_FW" # the wait, skipped
  a=$(served "$CRED_floor2")
  [ "$a" = "$F2_FW firmware" ]
  dev "$CRED_floor2" POST "/device/provisioning/steps/$F2_FW" '{"result":"failed","reason":"installer exit 75","transient":true}'
  [ "$status" = 200 ]
  [ "$(body "d['state']+' '+str(d['attempts'])")" = "failed 2" ] # --provision-retries 2
  [ "$(served "$CRED_floor2")" = "" ]
  [ "$(steps_of "$MAIN" floor2)" = "settings:confirmed firmware:failed application:blocked backup:blocked consumables:blocked" ]
  [ "$(steps_of "$MAIN" lobby)" = "settings:confirmed firmware:confirmed application:confirmed backup:confirmed consumables:skipped" ]
  wait_until "the run ends partial" state_is "$MAIN" partial
}
check "floor2: a failed report retries after 30 s, then fails for good and blocks floor2 only; the run is partial" floor2_fails

# ---- renewal: one changed item plans exactly it; none plans nothing ------------------
inventory() { # CRED APP_VERSION
  dev "$1" POST /device/inventory "{\"firmware\":{\"name\":\"engine\",\"version\":\"4.2.0\"},\"applications\":{\"scan2cloud\":\"$2\"},\"settings\":{\"sides-default\":\"two-sided-long-edge\",\"printer-sleep-timer\":15,\"copies-default\":1}}"
  [ "$status" = 204 ]
}
renewal() {
  inventory "$CRED_annex" 2.1.0
  contract second "$PAST" '["annex"]' "$BACKUP" "$SETTINGS,$(firmware),$(app 2.1.0 "$APP" "$APP_SUM"),{\"kind\":\"backup\"}"
  SECOND=$CID
  wait_until "the second contract's run" has_runs "$SECOND" 1
  [ "$(run_field "$SECOND" "' '.join(s['kind'] for p in d['printers'] for s in p['steps'])")" = backup ] # the rest is in place
  wait_until "its backup applied" state_is "$SECOND" done
  # the application changes: exactly that item
  call PUT "/contracts/$SECOND" "${JSON[@]}" -d "{\"name\":\"second\",\"tenant\":\"acme\",\"start_at\":\"$PAST\",
    \"end_at\":\"$END\",\"printers\":[\"annex\"],\"service_settings\":{$BACKUP},
    \"items\":[$SETTINGS,$(firmware),$(app 2.2.0 "$APP2" "$APP2_SUM"),{\"kind\":\"backup\"}]}"
  [ "$status" = 200 ]
  wait_until "the renewal's run" has_runs "$SECOND" 2
  [ "$(run_field "$SECOND" "d['kind']")" = renewal ]
  [ "$(steps_of "$SECOND" annex)" = "application:planned" ]
  local a
  a=$(served "$CRED_annex")
  [ "${a#* }" = application ]
  [ "$(body "d['steps'][0]['target']['version']")" = 2.2.0 ]
  dev "$CRED_annex" POST "/device/provisioning/steps/${a%% *}" '{"result":"confirmed","version":"2.2.0"}'
  inventory "$CRED_annex" 2.2.0
  wait_until "the renewal's run done" state_is "$SECOND" done
  # renewed with nothing new: a run that says so, no steps
  call POST "/contracts/$SECOND/renew" "${JSON[@]}" -d "{\"end_at\":\"$(iso $((NOW + 86400 * 730)))\"}"
  [ "$status" = 200 ]
  wait_until "the empty renewal's run" has_runs "$SECOND" 3
  [ "$(run_field "$SECOND" "d['state']+'|'+d['note']+'|'+str(len(d['printers']))")" = "nothing-to-do|nothing to apply: every item is in place|0" ]
}
check "renewal: one changed item plans exactly it; a renewal with none is nothing-to-do" renewal

at_target() {
  inventory "$CRED_side" 2.1.0
  contract third "$PAST" '["side"]' "" "$SETTINGS,$(firmware),$(app 2.1.0 "$APP" "$APP_SUM")"
  wait_until "the third contract's run" has_runs "$CID" 1
  [ "$(run_field "$CID" "d['kind']+' '+d['state']+' '+str(len(d['printers']))")" = "start nothing-to-do 0" ]
  [ "$(served "$CRED_side")" = "" ]
}
check "a printer whose inventory is already at target: the run plans nothing" at_target

canceled() {
  contract fifth "$PAST" '["side"]' "" "$(app 2.2.0 "$APP2" "$APP2_SUM")"
  local fifth=$CID
  wait_until "the fifth contract's run" has_runs "$fifth" 1
  [ "$(steps_of "$fifth" side)" = "application:planned" ]
  call DELETE "/contracts/$fifth"
  [ "$status" = 200 ] || [ "$status" = 204 ]
  wait_until "its steps skipped" steps_are "$fifth" side "application:skipped"
  [ "$(run_field "$fifth" "d['printers'][0]['steps'][0]['reason']")" = "contract canceled" ]
  wait_until "its run done" state_is "$fifth" done
  [ "$(served "$CRED_side")" = "" ]
}
check "a canceled contract: its run's planned steps are skipped, 'contract canceled'" canceled

# ---- two nodes on one store: exactly one run ------------------------------------------
two_nodes() {
  local store=()
  [ -z "${NIMBUS_TEST_STORE_URL:-}" ] || store=(--store "$NIMBUS_TEST_STORE_URL")
  "$NIMBUSD" --listen 127.0.0.1 --port 0 --state-dir "$NIMBUS_STATE" \
    --admin-password "$NIMBUS_ADMIN_PASSWORD" --fast-hashing --threads 2 --workers 4 \
    --node-id node-b --provision-interval 1 --log-level info "${store[@]}" \
    >"$NIMBUS_STATE.b.out" 2>"$NIMBUS_STATE.b.log" &
  B_PID=$!
  wait_until "node-b listens" grep -q "listening on" "$NIMBUS_STATE.b.out"
  contract fourth "$(iso $(($(date +%s) + 3)))" '"all"' "$BACKUP" "{\"kind\":\"backup\"}"
  wait_until "the fourth contract's run" has_runs "$CID" 1
  sleep 3 # several sweeps of both nodes
  [ "$(runs_of "$CID")" = 1 ]
  [ "$(nimbus_sql "SELECT count(*) FROM provisioning_runs WHERE contract_id = $CID")" = 1 ]
  # every printer of the tenant is covered once ("all")
  [ "$(nimbus_sql "SELECT count(*) FROM provisioning_coverage c JOIN provisioning_runs r ON r.id = c.run_id WHERE r.contract_id = $CID")" = 4 ]
  kill -TERM "$B_PID"
  wait "$B_PID"
  B_PID=
}
check "two nimbusd on one store: a contract that starts gets exactly one run" two_nodes

nimbusd_stop
finish provisioning-runs
