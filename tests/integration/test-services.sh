#!/usr/bin/env bash
# test-services.sh: the smart services end to end (docs/PROVISIONING.md
# §10, §11) with a real nimbusd, nimbus-connector and ippeveprinter:
# backups on a compressed schedule (--backup-period-override) with
# retention, a differential resolving to full, download and restore;
# a supply crossing its threshold yields exactly one order per episode
# (a rise and a second fall: a second one), sent as a signed webhook to a
# receiver that verifies the HMAC (webhook_receiver.py); a part crossing
# its threshold yields one alert only, retried with back-off while the
# receiver answers 503.  At the end: orders and alerts name their
# printer; a backup restore is a provisioning run of kind restore whose
# settings step the connector applies (provisioned.conf, its inventory);
# a part's replacement (REST) starts its next cycle, which alerts again.
#
# The printer's service configurations come the real way: the operator
# creates a contract over REST with the cloud items and their
# service_settings, and its run's cloud steps are confirmed (PUT of the
# contract changes the backup mode); a consumables item lacking order_url
# is skipped with the reason and orders nothing.  Supplies and impressions
# come from the connector's supplies source file (--supplies-source):
# ippeveprinter reports fixed levels and no impressions counter.
set -u
source "$(dirname "$0")/test-connector-common.sh"

T=$CONN_DIR
SECRET_FILE=$T/webhook.secret
echo "0123456789abcdef0123456789abcdef-services-test" >"$SECRET_FILE"
chmod 600 "$SECRET_FILE"

python3 "$(dirname "$0")/webhook_receiver.py" "$SECRET_FILE" "$T/receiver.port" "$T/events" &
RECEIVER_PID=$!
trap 'kill $RECEIVER_PID 2>/dev/null; _conn_cleanup' EXIT
for i in $(seq 1 100); do [ -s "$T/receiver.port" ] && break; sleep 0.05; done
RP=$(cat "$T/receiver.port")
: >"$T/events"

nimbusd_start --service-webhook-secret-file "$SECRET_FILE" --provision-interval 1
check "tenant acme" conn_setup_tenant
ippeve_start >/dev/null

supplies() { # TONER_LEVEL IMPRESSIONS
  printf '{"supplies":[{"name":"Black Toner","type":"toner","level":%s},{"name":"Waste Tank","type":"wasteToner","level":80}],"impressions":%s}\n' "$1" "$2" >"$T/supplies.json.tmp"
  mv "$T/supplies.json.tmp" "$T/supplies.json"
}
supplies 50 500

CODE=$(conn_claim lobby)
check "register the connector" conn_register lobby "$CODE"
DEV=$(nimbus_sql "SELECT id FROM devices WHERE name = 'lobby'")
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
BACKUP='{"period":"daily","time":"02:30","mode":"full","retention":2}'
CONSUMABLES="{\"order_url\":\"http://127.0.0.1:$RP/orders\",\"delivery_address\":\"Acme, 1 Main St\",\"thresholds\":{\"toner\":15,\"*\":10}}"
PARTS="{\"parts\":{\"fuser\":1000,\"drum\":5000},\"threshold\":90,\"alert_url\":\"http://127.0.0.1:$RP/alerts\",\"recipients\":[\"service@dealer.example\"]}"
# contract_doc NAME PRINTERS SERVICE_SETTINGS ITEMS: a contract's JSON form (§1)
contract_doc() {
  echo "{\"name\":\"$1\",\"tenant\":\"acme\",\"start_at\":\"$(iso $(($(date +%s) - 60)))\",
    \"end_at\":\"$(iso $(($(date +%s) + 86400)))\",\"printers\":$2,\"service_settings\":{$3},
    \"items\":[$4]}"
}
CLOUD='{"kind":"backup"},{"kind":"consumables"},{"kind":"parts_life"}'
# run_of CONTRACT EXPR: EXPR on its newest run (GET /runs/{id}, as the operator)
run_of() {
  local rid
  rid=$(api GET "/api/v1/contracts/$1/runs" -f | json_get "d['runs'][0]['id']")
  api GET "/api/v1/runs/$rid" -f | json_get "$2"
}
# steps_are CONTRACT PRINTER "kind:state ...": the printer's steps in the newest run
steps_are() {
  [ "$(run_of "$1" "' '.join(s['kind'] + ':' + s['state'] for p in d['printers'] if p['printer'] == '$2' for s in p['steps'])")" = "$3" ]
}
runs_are() { [ "$(api GET "/api/v1/contracts/$1/runs" -f | json_get "len(d['runs'])")" = "$2" ]; }
contract_applied() {
  CID=$(api POST /api/v1/contracts -f -H 'Content-Type: application/json' -d "$(contract_doc services \
    '["lobby"]' "\"backup\":$BACKUP,\"consumables\":$CONSUMABLES,\"parts_life\":$PARTS" "$CLOUD")" |
    json_get "d['id']")
  wait_until "the run's cloud steps confirmed" steps_are "$CID" lobby \
    "backup:confirmed consumables:confirmed parts_life:confirmed"
  [ "$(run_of "$CID" "d['state']")" = done ]
}
check "the operator's contract (POST /contracts) configures lobby's services by its run" contract_applied
# backup_mode MODE: the contract's backup mode changed over REST (PUT): a new
# run applies exactly the backup step
backup_mode() {
  BACKUP="{\"period\":\"daily\",\"time\":\"02:30\",\"mode\":\"$1\",\"retention\":2}"
  api PUT "/api/v1/contracts/$CID" -f -H 'Content-Type: application/json' -d "$(contract_doc \
    services '["lobby"]' "\"backup\":$BACKUP,\"consumables\":$CONSUMABLES,\"parts_life\":$PARTS" \
    "$CLOUD")" >/dev/null
  wait_until "a second run" runs_are "$CID" 2
  wait_until "its backup step confirmed" steps_are "$CID" lobby "backup:confirmed"
}

check "connector starts" conn_start lobby --output "$IPPEVE_URI" --services-poll 5 \
  --backup-period-override 2 --supplies-source "$T/supplies.json"

boss() { curl -sS -u boss@acme:boss-pw-1 "$@"; }
backups() { boss "$NIMBUS_URL/api/v1/printers/lobby/backups"; }
uploaded() { grep -c 'msg="backup uploaded"' "$CONN_DIR/lobby.log" || true; }
at_least_uploaded() { [ "$(uploaded)" -ge "$1" ]; }

# ---- services the printer sees ----
services_seen() {
  local doc
  doc=$(curl -fsS -H "Authorization: Bearer $(conn_state_field lobby credential)" \
    "$NIMBUS_URL/api/v1/device/services")
  [ "$(echo "$doc" | json_get "sorted(d.keys())")" = "['backup', 'consumables', 'parts_life']" ]
  [ "$(echo "$doc" | json_get "d['backup']['retention']")" = 2 ]
}
check "GET /device/services gives the printer's enabled services" services_seen

# ---- backups: compressed schedule, retention ----
retention_kept() {
  wait_until "five backups uploaded" at_least_uploaded 5
  local doc
  doc=$(backups)
  [ "$(echo "$doc" | json_get "len([b for b in d['backups'] if b['mode'] == 'full'])")" = 2 ]
  [ "$(echo "$doc" | json_get "len(d['backups'])")" = 2 ]
  [ "$(nimbus_sql "SELECT count(*) FROM backups")" = 2 ]
}
check "backups run on the compressed schedule; retention keeps the newest 2" retention_kept

full_download() {
  local id doc
  id=$(backups | json_get "d['backups'][0]['id']")
  doc=$(boss -f "$NIMBUS_URL/api/v1/printers/lobby/backups/$id")
  [ "$(echo "$doc" | json_get "d['mode']")" = full ]
  echo "$doc" | json_get "d['snapshot']['engine']['printer-make-and-model']" | grep -q .
  [ "$(echo "$doc" | json_get "d['snapshot']['engine']['sides-default']")" = one-sided ]
  [ "$(echo "$doc" | json_get "d['snapshot']['connector']['poll-interval']")" = 1 ]
  [ "$(echo "$doc" | json_get "'credential' in json.dumps(d)")" = False ]
}
check "a full snapshot downloads with the engine's and the connector's settings" full_download

# ---- differential ----
check "the contract's backup mode changes to differential (PUT /contracts/{id})" backup_mode differential
has_differential() {
  [ "$(backups | json_get "len([b for b in d['backups'] if b['mode'] == 'differential'])")" -ge 1 ]
}
differential_resolves() {
  wait_until "a differential backup" has_differential
  local doc diff base full_size diff_size
  doc=$(backups)
  diff=$(echo "$doc" | json_get "[b for b in d['backups'] if b['mode'] == 'differential'][0]['id']")
  base=$(echo "$doc" | json_get "[b for b in d['backups'] if b['mode'] == 'differential'][0]['base']")
  diff_size=$(echo "$doc" | json_get "[b for b in d['backups'] if b['id'] == $diff][0]['size']")
  full_size=$(echo "$doc" | json_get "[b for b in d['backups'] if b['id'] == $base][0]['size']")
  [ "$diff_size" -lt "$((full_size / 4))" ] # only what changed
  boss -f "$NIMBUS_URL/api/v1/printers/lobby/backups/$diff" >"$T/diff.json"
  boss -f "$NIMBUS_URL/api/v1/printers/lobby/backups/$base" >"$T/base.json"
  [ "$(json_get "d['mode']" <"$T/diff.json")" = differential ]
  python3 - "$T/diff.json" "$T/base.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
assert d["snapshot"]["engine"]["printer-make-and-model"], d
assert d["snapshot"]["connector"] == b["snapshot"]["connector"]
assert set(d["snapshot"]["engine"]) == set(b["snapshot"]["engine"])
PY
}
check "a differential resolves to full against its base" differential_resolves

crafted_differential() {
  local base cred id doc
  cred=$(conn_state_field lobby credential)
  base=$(backups | json_get "[b for b in d['backups'] if b['mode'] == 'full'][0]['id']")
  doc=$(curl -fsS -X POST -H "Authorization: Bearer $cred" -H 'Content-Type: application/json' \
    -d "{\"engine\":{\"copies-default\":7,\"sides-default\":null},\"base\":$base}" \
    "$NIMBUS_URL/api/v1/device/backups?mode=differential")
  id=$(echo "$doc" | json_get "d['id']")
  doc=$(boss -f "$NIMBUS_URL/api/v1/printers/lobby/backups/$id")
  [ "$(echo "$doc" | json_get "d['snapshot']['engine']['copies-default']")" = 7 ]
  [ "$(echo "$doc" | json_get "'sides-default' in d['snapshot']['engine']")" = False ]
  [ "$(echo "$doc" | json_get "d['snapshot']['engine']['media-default']")" != "" ]
  # a base that is no full snapshot of this printer: 409; no base: 400
  [ "$(curl -sS -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $cred" \
    -H 'Content-Type: application/json' -d '{"engine":{},"base":999999}' \
    "$NIMBUS_URL/api/v1/device/backups?mode=differential")" = 409 ]
  [ "$(curl -sS -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $cred" \
    -H 'Content-Type: application/json' -d '{"engine":{}}' \
    "$NIMBUS_URL/api/v1/device/backups?mode=differential")" = 400 ]
}
check "a differential's changes and removals apply to its base" crafted_differential

retention_with_differentials() {
  local base_count
  wait_until "twelve more backups" at_least_uploaded 17
  python3 -c '
import json, sys
d = json.load(sys.stdin)["backups"]
fulls = {b["id"] for b in d if b["mode"] == "full"}
assert len(fulls) == 2, d
assert all(b["base"] in fulls for b in d if b["mode"] == "differential"), d
' <<<"$(backups)"
}
check "retention keeps 2 full snapshots and only their differentials" retention_with_differentials

restore_answers() { # a real restore: restore_run below
  [ "$(boss -o /dev/null -w '%{http_code}' -X POST \
    "$NIMBUS_URL/api/v1/printers/lobby/backups/999999/restore")" = 404 ]
  [ "$(boss -o /dev/null -w '%{http_code}' "$NIMBUS_URL/api/v1/printers/lobby/backups/999999")" = 404 ]
  [ "$(curl -sS -o /dev/null -w '%{http_code}' -u alice@acme:alice-pw-1 \
    "$NIMBUS_URL/api/v1/printers/lobby/backups")" = 403 ]
}
check "restore of an unknown backup 404; users 403" restore_answers

# ---- consumables ----
events() { python3 -c '
import json, sys
n = 0
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("verified") and not e.get("duplicate") and e["body"]["type"] == sys.argv[2]:
        n += 1
print(n)' "$T/events" "$1"; }
events_are() { [ "$(events "$1")" = "$2" ]; }
orders() { boss -f "$NIMBUS_URL/api/v1/supply-orders" | json_get "len(d['orders'])"; }
level_is() { [ "$(nimbus_sql "SELECT level FROM supply_levels WHERE supply = 'Black Toner'")" = "$1" ]; }

no_order_above() {
  wait_until "level 50 reported" level_is 50
  [ "$(orders)" = 0 ]
}
check "levels above their thresholds order nothing" no_order_above

one_order() {
  supplies 10 500
  wait_until "the order reaches the receiver, signed" events_are supply.order 1
  supplies 8 500
  wait_until "level 8 reported" level_is 8
  sleep 6 # more rounds in the same episode
  [ "$(orders)" = 1 ]
  events_are supply.order 1
  local o
  o=$(boss -f "$NIMBUS_URL/api/v1/supply-orders" | json_get "d['orders'][0]")
  python3 -c '
import json, sys, ast
o = ast.literal_eval(sys.argv[1])
assert o["supply"] == "Black Toner" and o["episode"] == 1 and o["level"] == 10, o
assert o["state"] == "sent", o' "$o"
  python3 -c '
import json, sys
e = [json.loads(l) for l in open(sys.argv[1])]
e = [x["body"] for x in e if x.get("verified") and x["body"]["type"] == "supply.order"][0]
assert e["printer"] == "lobby" and e["tenant"] == "acme", e
assert e["delivery_address"] == "Acme, 1 Main St" and e["supply"] == "Black Toner", e
assert e["event_id"].startswith("order-"), e' "$T/events"
}
check "a supply crossing its threshold yields exactly one order, signed" one_order

second_episode() {
  supplies 95 500
  wait_until "a new cartridge reported" level_is 95
  supplies 5 500
  wait_until "the second order reaches the receiver" events_are supply.order 2
  [ "$(orders)" = 2 ]
  [ "$(boss -f "$NIMBUS_URL/api/v1/supply-orders" | json_get "sorted(o['episode'] for o in d['orders'])")" = "[1, 2]" ]
}
check "rising and falling again opens a second episode with its own order" second_episode

# ---- parts life ----
alerts() { boss -f "$NIMBUS_URL/api/v1/part-alerts" | json_get "len(d['alerts'])"; }
unavailable_seen() { grep -q '"unavailable": true' "$T/events"; }
alert_retry_pending() {
  [ "$(nimbus_sql "SELECT state || ':' || attempts FROM part_alerts WHERE part = 'fuser'")" = 1:1 ]
}
one_alert() {
  [ "$(alerts)" = 0 ] # 500 of 1000 impressions: below 90 %
  touch "$T/events.unavailable" # the receiver answers 503 for now
  supplies 5 950
  wait_until "the first delivery refused" unavailable_seen
  wait_until "the alert pending for a retry" alert_retry_pending
  [ "$(boss -f "$NIMBUS_URL/api/v1/part-alerts" | json_get "d['alerts'][0]['state']")" = pending ]
  rm -f "$T/events.unavailable"
  wait_until "the alert reaches the receiver after its back-off" events_are part.alert 1
  supplies 5 990
  sleep 6
  [ "$(alerts)" = 1 ]
  events_are part.alert 1
  [ "$(boss -f "$NIMBUS_URL/api/v1/part-alerts" | json_get "d['alerts'][0]['part']")" = fuser ]
}
check "a part crossing its threshold yields one alert only (retried after a 503)" one_alert

receiver_checks() { # the receiver really verifies: a forged event is refused
  [ "$(curl -sS -o /dev/null -w '%{http_code}' -X POST -H 'X-Nimbus-Sender: nimbus' \
    -H "X-Nimbus-Timestamp: $(date +%s)" -H 'X-Nimbus-Signature: sha256=00' \
    -d '{"event_id":"forged","type":"supply.order"}' "http://127.0.0.1:$RP/orders")" = 401 ]
  [ "$(grep -c '"verified": false' "$T/events")" = 1 ]
}
check "the receiver refuses a forged signature (and accepted every real one)" receiver_checks

# ---- a consumables item lacking order_url: skipped, no order ----
no_order_url() {
  local code cred doc cid
  code=$(conn_claim annex)
  cred=$(curl -fsS -X POST -H 'Content-Type: application/json' -d "{\"claim_code\":\"$code\"}" \
    "$NIMBUS_URL/api/v1/device/register" | json_get "d['credential']")
  cid=$(api POST /api/v1/contracts -f -H 'Content-Type: application/json' -d "$(contract_doc \
    no-order-url '["annex"]' '"consumables":{"thresholds":{"*":10}}' '{"kind":"consumables"}')" |
    json_get "d['id']")
  wait_until "its consumables step skipped" steps_are "$cid" annex "consumables:skipped"
  [ "$(run_of "$cid" "[s['reason'] for p in d['printers'] for s in p['steps']][0]")" = \
    "service settings lack order_url" ]
  [ "$(run_of "$cid" "d['state']")" = done ]
  doc=$(curl -fsS -H "Authorization: Bearer $cred" "$NIMBUS_URL/api/v1/device/services")
  [ "$(echo "$doc" | json_get "len(d)")" = 0 ]
  # annex reports a level under every threshold: nothing is ordered for it
  [ "$(curl -sS -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $cred" \
    -H 'Content-Type: application/json' \
    -d '{"supplies":[{"name":"Black Toner","type":"toner","level":2}]}' \
    "$NIMBUS_URL/api/v1/device/supplies")" = 204 ]
  sleep 2
  [ "$(orders)" = 2 ]
  [ "$(boss -f "$NIMBUS_URL/api/v1/supply-orders" | json_get "[o for o in d['orders'] if o['contract'] == $cid]")" = "[]" ]
  [ "$(grep -c '"printer": "annex"' "$T/events" || true)" = 0 ]
}
check "a consumables item lacking order_url is skipped with the reason; annex orders nothing" no_order_url
# ---- orders and alerts name their printer ----
rows_named() {
  [ "$(boss -f "$NIMBUS_URL/api/v1/supply-orders" | json_get "sorted({o['printer'] for o in d['orders']})")" = "['lobby']" ]
  [ "$(boss -f "$NIMBUS_URL/api/v1/part-alerts" | json_get "sorted({a['printer'] for a in d['alerts']})")" = "['lobby']" ]
  [ "$(boss -f "$NIMBUS_URL/api/v1/part-alerts" | json_get "d['alerts'][0]['printer_id']")" = "$DEV" ]
}
check "supply orders and part alerts carry the printer's name" rows_named

# ---- backup restore: a provisioning run of kind restore ----
code_of() { boss -o /dev/null -w '%{http_code}' "$@"; }
full_backup() { # JSON: upload a full snapshot as the printer, print its id
  curl -fsS -X POST -H "Authorization: Bearer $(conn_state_field lobby credential)" \
    -H 'Content-Type: application/json' -d "$1" "$NIMBUS_URL/api/v1/device/backups?mode=full" |
    json_get "d['id']"
}
run_state() { boss -f "$NIMBUS_URL/api/v1/runs/$1" | json_get "d['state']"; }
run_is() { [ "$(run_state "$1")" = "$2" ]; }
inventory_has() { # KEY VALUE: the connector's last reported settings
  [ "$(nimbus_sql "SELECT settings_json FROM device_inventory WHERE device_id = $DEV" |
    json_get "d.get('$1')")" = "$2" ]
}
restore_run() {
  local id doc run
  conn_stop lobby # no step is served while the run is checked
  id=$(full_backup '{"connector":{"poll-interval":2,"backoff-max":1500,"services-poll":7},"engine":{}}')
  doc=$(boss -f -D "$T/restore.headers" -X POST "$NIMBUS_URL/api/v1/printers/lobby/backups/$id/restore")
  run=$(echo "$doc" | json_get "d['run']['id']")
  [ "$(echo "$doc" | json_get "(d['run']['kind'], d['run']['contract'], d['run']['backup'], d['run']['state'])")" = "('restore', None, $id, 'running')" ]
  grep -qi "^location: /api/v1/runs/$run" "$T/restore.headers"
  # a second restore while this one runs: 409
  [ "$(code_of -X POST "$NIMBUS_URL/api/v1/printers/lobby/backups/$id/restore")" = 409 ]
  [ "$(nimbus_sql "SELECT count(*) FROM audit WHERE action = 'backup.restore'")" = 1 ]
  # the run and its one settings step, with the backup's values
  doc=$(boss -f "$NIMBUS_URL/api/v1/runs/$run")
  [ "$(echo "$doc" | json_get "d['printers'][0]['printer']")" = lobby ]
  [ "$(echo "$doc" | json_get "[(s['kind'], s['state']) for s in d['printers'][0]['steps']]")" = "[('settings', 'planned')]" ]
  [ "$(echo "$doc" | json_get "d['printers'][0]['steps'][0]['target']['connector.poll-interval']")" = 2 ]
  [ "$(boss -f "$NIMBUS_URL/api/v1/printers/lobby/runs" | json_get "[r['id'] for r in d['runs']]")" = "[$run]" ]
  [ "$(curl -sS -o /dev/null -w '%{http_code}' -u alice@acme:alice-pw-1 \
    "$NIMBUS_URL/api/v1/runs/$run")" = 404 ]
  # the connector takes the step, writes provisioned.conf and confirms
  conn_start lobby --output "$IPPEVE_URI" --services-poll 5 --provision-poll 1 \
    --supplies-source "$T/supplies.json"
  wait_until "the restore run done" run_is "$run" done
  [ "$(boss -f "$NIMBUS_URL/api/v1/runs/$run" | json_get "d['printers'][0]['steps'][0]['state']")" = confirmed ]
  grep -q '^poll-interval = 2' "$CONN_DIR/provisioned.conf"
  grep -q '^backoff-max = 1500' "$CONN_DIR/provisioned.conf"
  grep -q '^services-poll = 7' "$CONN_DIR/provisioned.conf"
  wait_until "the restored values in the inventory" inventory_has connector.backoff-max 1500
  inventory_has connector.poll-interval 2
  # that run ended: another restore may start (its run: the next check's)
  boss -f -X POST "$NIMBUS_URL/api/v1/printers/lobby/backups/$id/restore" |
    json_get "d['run']['id']" >"$T/restore2.run"
}
check "a restore is a run of kind restore; the connector applies its settings step" restore_run

restore_engine_refused() { # ippeveprinter refuses Set-Printer-Attributes
  local id run
  wait_until "the second restore run done" run_is "$(cat "$T/restore2.run")" done
  id=$(full_backup '{"connector":{},"engine":{"sides-default":"two-sided-long-edge"}}')
  run=$(boss -f -X POST "$NIMBUS_URL/api/v1/printers/lobby/backups/$id/restore" | json_get "d['run']['id']")
  wait_until "the engine restore run ended" run_is "$run" partial
  boss -f "$NIMBUS_URL/api/v1/runs/$run" |
    json_get "d['printers'][0]['steps'][0]['reason']" | grep -q 'refused'
}
check "a restore the engine refuses ends partial with the printer's reason" restore_engine_refused

# ---- a part's replacement starts its next cycle ----
fuser_alerts_are() { # CYCLE COUNT
  [ "$(nimbus_sql "SELECT count(*) FROM part_alerts WHERE part = 'fuser' AND cycle = $1")" = "$2" ]
}
part_replaced() {
  local doc
  doc=$(boss -f -X POST -H 'Content-Type: application/json' -d '{"impressions":1000}' \
    "$NIMBUS_URL/api/v1/printers/lobby/parts/fuser/replaced")
  [ "$(echo "$doc" | json_get "(d['part'], d['cycle'], d['replaced_at'])")" = "('fuser', 2, 1000)" ]
  [ "$(nimbus_sql "SELECT count(*) FROM audit WHERE action = 'part.replaced'")" = 1 ]
  [ "$(code_of -X POST -H 'Content-Type: application/json' -d '{}' \
    "$NIMBUS_URL/api/v1/printers/lobby/parts/fuser/replaced")" = 400 ]
  [ "$(code_of -X POST -H 'Content-Type: application/json' -d '{"impressions":1}' \
    "$NIMBUS_URL/api/v1/printers/nowhere/parts/fuser/replaced")" = 404 ]
  [ "$(curl -sS -o /dev/null -w '%{http_code}' -u alice@acme:alice-pw-1 -X POST \
    -H 'Content-Type: application/json' -d '{"impressions":1}' \
    "$NIMBUS_URL/api/v1/printers/lobby/parts/fuser/replaced")" = 403 ]
  supplies 5 1500 # 500 into the new fuser's 1000: below 90 %
  sleep 6
  fuser_alerts_are 2 0
  supplies 5 1950 # 950: crossed again
  wait_until "the second cycle's alert reaches the receiver" events_are part.alert 2
  supplies 5 1990
  sleep 6
  fuser_alerts_are 1 1
  fuser_alerts_are 2 1
  events_are part.alert 2
  [ "$(alerts)" = 2 ]
}
check "a part's replacement starts its next cycle: crossing again alerts once more" part_replaced

check "connector stops cleanly" conn_stop lobby
check "nimbusd stops cleanly" nimbusd_stop
finish test-services
