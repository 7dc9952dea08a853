#!/usr/bin/env bash
# test-provisioning-e2e.sh: contract-driven provisioning end to end
# (docs/PROVISIONING.md §5-§9): nimbusd, two nimbus-connectors (p1, p2)
# printing to ippeveprinter, and a test installer command
# (provision-installer.sh) that records every install and query with the
# printer and version into one log.
#   1. the operator uploads a firmware (1 MiB) and an application package
#      and creates a contract covering both printers that starts now: on
#      each printer settings, then firmware, then the application, once
#      each; p1 is killed (-9) mid-download (its download rate limited)
#      and resumes the partial file; p2 is killed while its installer runs
#      and, after the restart, finds the version installed (query) and does
#      not install again;
#   2. a renewal with a new application version, p2 offline (stopped) and
#      nimbusd killed (-9) while p1 installs: exactly that item is
#      installed, once per printer, p2 once it comes back;
#   3. a renewal with nothing new: a run with nothing to do, no install;
#   4. a renewal adding two applications, the first failing on p1: p1's
#      second is never installed (blocked), p2 installs both;
#   5. a settings profile with sides-default: ippeveprinter does not
#      support Set-Printer-Attributes, so the step fails with the engine's
#      message and nothing after it runs (the refusal path, §8.3).
# Needs: ippeveprinter (lib-ippeve.sh), curl, python3.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/test-connector-common.sh"
INSTALLER="$HERE/provision-installer.sh"
export PROV_LOG="$CONN_DIR/installs.log"
: >"$PROV_LOG"

nimbusd_start --provision-interval 1 --provision-retries 3 || exit 1
check "tenant" conn_setup_tenant
ippeve_start || exit 1

OP=(-u "admin@system:$NIMBUS_ADMIN_PASSWORD")

# ---- printers: each connector has its own state directory ----
p_register() {
  local code
  mkdir -p "$CONN_DIR/$1/inst"
  code=$(conn_claim "$1")
  "$NIMBUS_CONNECTOR" register --server "$NIMBUS_URL" --claim "$code" \
    --state "$CONN_DIR/$1/state.json" >/dev/null 2>"$CONN_DIR/$1.register.log"
}
# p_start NAME [flags]: the connector with the test installer, polling for steps every second
p_start() {
  local name=$1
  shift
  PROV_PRINTER=$name PROV_STATE="$CONN_DIR/$name/inst" PROV_CONF="$CONN_DIR/$name/provisioned.conf" \
    _p_start "$name" "$@"
}
_p_start() {
  export PROV_PRINTER PROV_STATE PROV_CONF
  local name=$1 log="$CONN_DIR/$1.log" i port=
  shift
  "$NIMBUS_CONNECTOR" run --state "$CONN_DIR/$name/state.json" --panel-listen 127.0.0.1:0 \
    --log-level debug --poll-interval 1 --grace-period 1 --backoff-min 200 --backoff-max 1000 \
    --output "$IPPEVE_URI" --installer "$INSTALLER" --installer-timeout 60 \
    --provision-poll 1 "$@" 2>>"$log" &
  eval "CONN_PID_$name=$!"
  _conn_names+=("$name")
  for i in $(seq 1 300); do
    port=$(sed -n 's/.*msg="panel listening".* port=\([0-9]*\).*/\1/p' "$log" | tail -1)
    [ -n "$port" ] && break
    sleep 0.05
  done
  [ -n "$port" ] || { echo "connector $name did not start" >&2; return 1; }
  eval "CONN_PANEL_$name=http://127.0.0.1:$port"
}
check "register p1 and p2" eval 'p_register p1 && p_register p2'

# ---- packages (operator) ----
PKGS="$CONN_DIR/pkgs"
mkdir -p "$PKGS"
head -c 1048576 /dev/urandom >"$PKGS/fw.bin"
for v in 2.1.0 2.2.0; do echo "scan2cloud $v $RANDOM" >"$PKGS/app-$v.bin"; done
for a in alpha beta; do echo "$a 1.0 $RANDOM" >"$PKGS/$a.bin"; done
upload() { # KIND NAME VERSION FILE -> "id sha256"
  api POST "/api/v1/packages?kind=$1&name=$2&version=$3" -f \
    -H 'Content-Type: application/octet-stream' --data-binary "@$4" |
    json_get "'%s %s' % (d['id'], d['sha256'])"
}
check_upload() {
  read -r FW_ID FW_SHA < <(upload firmware engine 4.2.0 "$PKGS/fw.bin")
  read -r APP1_ID APP1_SHA < <(upload application scan2cloud 2.1.0 "$PKGS/app-2.1.0.bin")
  read -r APP2_ID APP2_SHA < <(upload application scan2cloud 2.2.0 "$PKGS/app-2.2.0.bin")
  read -r ALPHA_ID ALPHA_SHA < <(upload application alpha 1.0 "$PKGS/alpha.bin")
  read -r BETA_ID BETA_SHA < <(upload application beta 1.0 "$PKGS/beta.bin")
  [ "$FW_SHA" = "$(sha256sum "$PKGS/fw.bin" | cut -d' ' -f1)" ]
}
check "operator uploads firmware and application packages (sha256 computed by nimbusd)" check_upload

SETTINGS='{"kind":"settings","name":"office-defaults","values":{"connector.provision-poll":1,"connector.update-interval":20}}'
fw_item() { echo "{\"kind\":\"firmware\",\"name\":\"engine\",\"version\":\"4.2.0\",\"package\":$FW_ID,\"sha256\":\"$FW_SHA\"}"; }
app_item() { # NAME VERSION ID SHA
  echo "{\"kind\":\"application\",\"name\":\"$1\",\"version\":\"$2\",\"package\":$3,\"sha256\":\"$4\"}"
}
START=$(date -u -d '-1 minute' +%Y-%m-%dT%H:%M:%SZ)
END=$(date -u -d '+1 year' +%Y-%m-%dT%H:%M:%SZ)

# ---- helpers on runs and the install log ----
installs() { grep -c "^install $1 $2 $3 $4 " "$PROV_LOG" || true; } # printer kind name version
n_installs() { grep -c '^install ' "$PROV_LOG" || true; }
installed_is() { [ "$(cat "$CONN_DIR/$1/inst/$2-$3" 2>/dev/null)" = "$4" ]; }
# the newest run of the contract: "state revision id"
run_info() {
  api GET "/api/v1/contracts/$CONTRACT/runs" -f | json_get "
(lambda rs: '%s %s %s' % (rs[0]['state'], rs[0]['revision'], rs[0]['id']))(
  sorted(d['runs'] if isinstance(d, dict) else d, key=lambda r: -int(r['revision'])))"
}
run_state_is() { # REVISION STATE...
  local info rev
  info=$(run_info) || return 1
  rev=$(echo "$info" | cut -d' ' -f2)
  [ "$rev" = "$1" ] || return 1
  shift
  local s
  for s in "$@"; do [ "${info%% *}" = "$s" ] && return 0; done
  return 1
}
# every step of the newest run as "printer seq kind name state" lines (any nesting)
run_steps() {
  local id
  id=$(run_info | cut -d' ' -f3)
  api GET "/api/v1/runs/$id" -f | python3 -c '
import json, sys
d = json.load(sys.stdin)
out = []
def walk(x, printer=None):
    if isinstance(x, dict):
        p = x.get("printer") if isinstance(x.get("printer"), str) else printer
        if "seq" in x and "state" in x and "kind" in x:
            out.append("%s %s %s %s %s" % (p, x["seq"], x["kind"], x.get("name") or x.get("item_name") or "-", x["state"]))
        for v in x.values(): walk(v, p)
    elif isinstance(x, list):
        for v in x: walk(v, printer)
walk(d)
print("\n".join(sorted(out)))'
}
step_state() { run_steps | awk -v p="$1" -v k="$2" -v n="$3" '$1==p && $3==k && $4==n {print $5}'; }
part_size() { stat -c %s "$CONN_DIR/p1/provisioning/pkg-$FW_ID.part" 2>/dev/null || echo 0; }
part_growing() { local s; s=$(part_size); [ "$s" -gt 0 ] && [ "$s" -lt 1048576 ]; }

# ---- 1. the contract starts ----
echo 3 >"$CONN_DIR/p2/inst/slow-scan2cloud" # p2's app install takes 3 s: killed meanwhile
check "p1 (download limited to 256 KiB/s) and p2 start" eval \
  'p_start p1 --provision-max-rate 256k && p_start p2'
create_contract() {
  CONTRACT=$(api POST /api/v1/contracts -f -H 'Content-Type: application/json' -d "{
    \"name\":\"acme-2027\",\"tenant\":\"acme\",\"start_at\":\"$START\",\"end_at\":\"$END\",
    \"printers\":\"all\",\"items\":[$SETTINGS,$(fw_item),$(app_item scan2cloud 2.1.0 "$APP1_ID" "$APP1_SHA")]}" |
    json_get "d['id']")
  [ -n "$CONTRACT" ]
}
check "operator creates a contract covering both printers, starting now" create_contract
check "p1 downloads the firmware slowly (a partial file)" wait_until "partial download" part_growing
kill_p1_mid_download() {
  conn_kill9 p1
  BEFORE=$(part_size)
  [ "$BEFORE" -gt 0 ] && [ "$BEFORE" -lt 1048576 ]
  p_start p1 # no rate limit now
}
check "kill -9 of p1 mid-download, restart" kill_p1_mid_download
p2_installing() { grep -q '^install p2 application scan2cloud 2.1.0' "$PROV_LOG"; }
check "p2 reaches the application's installer" wait_until "p2 installs the app" p2_installing
kill_p2_mid_install() {
  conn_kill9 p2
  p_start p2 # the killed connector's installer goes on and finishes
}
check "kill -9 of p2 while its installer runs, restart" kill_p2_mid_install
both_done() { installed_is p1 application scan2cloud 2.1.0 && installed_is p2 application scan2cloud 2.1.0; }
check "both printers end with firmware and application" wait_until "installs" both_done
check "the start run is done" wait_until "run done" run_state_is 1 done
p1_resumed() {
  grep -q 'msg="resuming provisioning step"' "$CONN_DIR/p1.log"
  # the restarted p1 asked for the rest only (Range from the partial file's size)
  grep -q "msg=\"package download resumes\" step=[0-9]* package=$FW_ID offset=$BEFORE" "$CONN_DIR/p1.log"
  installed_is p1 firmware engine 4.2.0
}
check "p1 resumed the step and its partial download" p1_resumed
order_once() {
  local p
  for p in p1 p2; do
    [ "$(installs $p firmware engine 4.2.0)" = 1 ]
    [ "$(installs $p application scan2cloud 2.1.0)" = 1 ]
    # settings came first (provisioned.conf existed), firmware finished before the app began
    grep -q "^install $p firmware engine 4.2.0 settings=yes" "$PROV_LOG"
    awk -v p="$p" '$2==p && $1=="installed" && $3=="firmware" {f=NR}
                   $2==p && $1=="install" && $3=="application" {a=NR}
                   END {exit !(f && a && f < a)}' "$PROV_LOG"
  done
  grep -q '^query p2 application scan2cloud 2.1.0' "$PROV_LOG" # p2's restart asked first
  grep -q '^provision-poll = 1' "$CONN_DIR/p1/provisioned.conf"
  grep -q '^update-interval = 20' "$CONN_DIR/p2/provisioned.conf"
}
check "settings, then firmware, then application on both printers, once each" order_once
panel_versions() {
  curl -fsS "$(conn_panel p1)/status.json" | json_get "
d['provisioning']['versions']['firmware']['version'] == '4.2.0' and
d['provisioning']['versions']['applications']['scan2cloud'] == '2.1.0' or exit(1)"
  curl -fsS "$(conn_panel p1)/" | grep -q 'id="prov-step"'
  "$NIMBUS_CONNECTOR" status --state "$CONN_DIR/p1/state.json" | grep -q '^Firmware: *engine 4.2.0'
}
check "the panel status page shows the step and the versions" wait_until "panel" panel_versions

# ---- 2. renewal with a new application version; p2 offline; nimbusd killed ----
check "p2 goes offline" conn_stop p2
BASE=$(n_installs)
echo 3 >"$CONN_DIR/p1/inst/slow-scan2cloud"
renew() { # ITEMS-JSON
  api POST "/api/v1/contracts/$CONTRACT/renew" -f -H 'Content-Type: application/json' \
    -d "{\"end_at\":\"$(date -u -d '+2 years' +%Y-%m-%dT%H:%M:%SZ)\",\"items\":[$1]}" >/dev/null
}
check "renewal with a new application version" renew \
  "$SETTINGS,$(fw_item),$(app_item scan2cloud 2.2.0 "$APP2_ID" "$APP2_SHA")"
p1_installing_new() { grep -q '^install p1 application scan2cloud 2.2.0' "$PROV_LOG"; }
check "p1 installs the new version" wait_until "p1 installs 2.2.0" p1_installing_new
check "kill -9 of nimbusd mid-run, restart" eval 'nimbusd_kill9 && nimbusd_restart'
check "p1 completes after nimbusd came back" wait_until "p1 step confirmed" eval \
  '[ "$(step_state p1 application scan2cloud)" = confirmed ]'
check "p2's step waits while it is offline" eval \
  '[ "$(step_state p2 application scan2cloud)" != confirmed ] && ! installed_is p2 application scan2cloud 2.2.0'
check "p2 comes back" p_start p2
check "p2 is provisioned once back" wait_until "p2 has 2.2.0" installed_is p2 application scan2cloud 2.2.0
check "the renewal run is done" wait_until "run 2 done" run_state_is 2 done
exactly_that() {
  [ "$(installs p1 application scan2cloud 2.2.0)" = 1 ]
  [ "$(installs p2 application scan2cloud 2.2.0)" = 1 ]
  [ "$(($(n_installs) - BASE))" = 2 ] # nothing else: no firmware, no old app again
  [ "$(run_steps | grep -c ' application scan2cloud confirmed')" = 2 ]
  [ "$(run_steps | grep -vc ' application scan2cloud ' || true)" = 0 ] # only that item was planned
}
check "the renewal installed exactly the changed item, once per printer" exactly_that

# ---- 3. renewal with nothing new ----
BASE=$(n_installs)
check "renewal with nothing new" renew \
  "$SETTINGS,$(fw_item),$(app_item scan2cloud 2.2.0 "$APP2_ID" "$APP2_SHA")"
check "its run has nothing to do" wait_until "run 3" run_state_is 3 nothing-to-do
sleep 3 # both connectors polled a few times (a step would have been served)
check "nothing installed" eval '[ "$(n_installs)" = "$BASE" ]'

# ---- 4. a failing installer on p1 blocks only p1's later steps ----
touch "$CONN_DIR/p1/inst/fail-alpha"
check "renewal adding applications alpha and beta" renew \
  "$SETTINGS,$(fw_item),$(app_item scan2cloud 2.2.0 "$APP2_ID" "$APP2_SHA"),$(app_item alpha 1.0 "$ALPHA_ID" "$ALPHA_SHA"),$(app_item beta 1.0 "$BETA_ID" "$BETA_SHA")"
check "p2 installs both" wait_until "p2 alpha+beta" eval \
  'installed_is p2 application alpha 1.0 && installed_is p2 application beta 1.0'
check "p1's alpha fails with the installer's reason" wait_until "p1 alpha failed" eval \
  '[ "$(step_state p1 application alpha)" = failed ]'
p1_blocked() {
  sleep 2
  [ "$(installs p1 application beta 1.0)" = 0 ]
  [ "$(step_state p1 application beta)" != confirmed ]
  [ "$(installs p1 application alpha 1.0)" = 1 ] # a permanent failure is not retried
  grep -q 'reason="simulated failure: alpha does not fit this printer"' "$CONN_DIR/p1.log"
  run_state_is 4 partial
}
check "p1's beta stays blocked, the run ends partial" p1_blocked
rm -f "$CONN_DIR/p1/inst/fail-alpha"

# ---- 5. engine defaults: ippeveprinter refuses Set-Printer-Attributes ----
refused() {
  [ "$(step_state p2 settings office-defaults)" = failed ]
  grep -q 'reason="the printer refused the settings' "$CONN_DIR/p2.log"
}
BASE=$(n_installs)
check "a settings profile with sides-default" renew \
  "{\"kind\":\"settings\",\"name\":\"office-defaults\",\"values\":{\"connector.provision-poll\":1,\"sides-default\":\"two-sided-long-edge\"}},$(fw_item),$(app_item scan2cloud 2.1.0 "$APP1_ID" "$APP1_SHA")"
check "the printer refuses: the settings step fails with its message" wait_until "refused" refused
check "and blocks that printer's later steps" eval \
  'sleep 2; [ "$(n_installs)" = "$BASE" ]'

check "p1 and p2 stop cleanly" eval 'conn_stop p1 && conn_stop p2'
check "nimbusd stops cleanly" nimbusd_stop
finish test-provisioning-e2e
