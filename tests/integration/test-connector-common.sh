# test-connector-common.sh: shared set-up for the test-connector-*.sh
# integration tests (sourced, not a test by itself).  Brings lib-nimbusd.sh
# and lib-ippeve.sh, and:
#   conn_setup_tenant             tenant acme, user alice, admin boss, queue office
#   conn_claim NAME [QUEUES]      a printer registration on office (or the JSON list
#                                 QUEUES, e.g. '["office","annex"]'); prints the claim code
#   conn_register NAME CODE       nimbus-connector register into $CONN_DIR/NAME.json
#   conn_start NAME [flags...]    nimbus-connector run (panel on port 0, debug log);
#                                 sets CONN_PID_<NAME>, CONN_PANEL_<NAME>
#   conn_stop NAME                SIGTERM; fails on a non-zero exit (sanitizers)
#   conn_kill9 NAME
#   conn_status NAME              "status" from the panel's /status.json
#   conn_state_field NAME KEY     a member of the state file
#   wait_until DESC CMD...        poll CMD until it succeeds (generous limit: the
#                                 condition must eventually hold; not a timing test)
#   submit_job [FILE] [QUEUE]     ipptool Print-Job as alice (to office unless QUEUE);
#                                 prints the job id
#   release_job ID, job_field ID KEY
#   device_requests               INFRA requests nimbusd counted (all devices),
#                                 including answers to deleted registrations
# Needs: NIMBUS_CONNECTOR (set by meson), ipptool, curl, python3.

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/lib-nimbusd.sh"
source "$HERE/lib-ippeve.sh"
: "${NIMBUS_CONNECTOR:?NIMBUS_CONNECTOR must point to the nimbus-connector binary}"

CONN_DIR=$(mktemp -d /tmp/nimbus-conn-test.XXXXXX)
_conn_names=()

_conn_cleanup() {
  local n pid
  rm -f "${IPPEVE_HOLD:-}" # a connector waits for a held printer job before it exits
  for n in "${_conn_names[@]}"; do
    pid=$(eval echo "\${CONN_PID_$n:-}")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null
      wait "$pid" 2>/dev/null || true
    fi
  done
  _ippeve_cleanup
  rm -rf "$CONN_DIR"
  _lib_cleanup
}
trap _conn_cleanup EXIT

# On a failed check: the end of every connector's log.
_lib_on_failure() {
  local n
  for n in "${_conn_names[@]}"; do
    [ -f "$CONN_DIR/$n.log" ] || continue
    echo "---- last lines of connector $n's log"
    tail -25 "$CONN_DIR/$n.log"
  done
}

conn_setup_tenant() {
  local body
  for body in '/api/v1/tenants {"name":"acme"}' \
    '/api/v1/users?tenant=acme {"name":"alice","password":"alice-pw-1","role":"user"}' \
    '/api/v1/users?tenant=acme {"name":"boss","password":"boss-pw-1","role":"tenant-admin"}' \
    '/api/v1/queues?tenant=acme {"name":"office"}'; do
    api POST "${body%% *}" -H 'Content-Type: application/json' -d "${body#* }" -o /dev/null \
      -w '%{http_code}' | grep -qx 201 || return 1
  done
}

conn_claim() {
  curl -fsS -u boss@acme:boss-pw-1 -X POST -H 'Content-Type: application/json' \
    -d "{\"name\":\"$1\",\"queues\":${2:-[\"office\"]}}" "$NIMBUS_URL/api/v1/printers" |
    json_get "d['claim_code']"
}

conn_register() {
  "$NIMBUS_CONNECTOR" register --server "$NIMBUS_URL" --claim "$2" --state "$CONN_DIR/$1.json" \
    >"$CONN_DIR/$1.register.out" 2>"$CONN_DIR/$1.register.log"
}

conn_start() {
  local name=$1
  shift
  local log="$CONN_DIR/$name.log"
  : >"$log"
  "$NIMBUS_CONNECTOR" run --state "$CONN_DIR/$name.json" --panel-listen 127.0.0.1:0 \
    --log-level debug --poll-interval 1 --grace-period 1 --backoff-min 200 --backoff-max 1000 \
    "$@" 2>>"$log" &
  local pid=$!
  eval "CONN_PID_$name=$pid"
  _conn_names+=("$name")
  local i port=
  for i in $(seq 1 300); do
    port=$(sed -n 's/.*msg="panel listening".* port=\([0-9]*\).*/\1/p' "$log" | tail -1)
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  if [ -z "$port" ]; then
    echo "connector $name did not start:" >&2
    cat "$log" >&2
    return 1
  fi
  eval "CONN_PANEL_$name=http://127.0.0.1:$port"
}

conn_pid() { eval echo "\${CONN_PID_$1:-}"; }
conn_panel() { eval echo "\${CONN_PANEL_$1:-}"; }

conn_stop() {
  local pid rc=0
  pid=$(conn_pid "$1")
  kill -TERM "$pid" || true # exited already: wait reports its status
  wait "$pid" || rc=$?
  eval "CONN_PID_$1="
  if [ "$rc" -ne 0 ]; then
    echo "connector $1 exited with status $rc; log:" >&2
    tail -40 "$CONN_DIR/$1.log" >&2
    return 1
  fi
}

conn_kill9() {
  local pid
  pid=$(conn_pid "$1")
  kill -KILL "$pid"
  wait "$pid" 2>/dev/null || true
  eval "CONN_PID_$1="
}

conn_status() { curl -fsS "$(conn_panel "$1")/status.json" | json_get "d['status']"; }
conn_state_field() { json_get "d.get('$2', '')" <"$CONN_DIR/$1.json"; }
conn_log_count() { grep -c "$2" "$CONN_DIR/$1.log" || true; }

wait_until() {
  local desc=$1 i
  shift
  for i in $(seq 1 600); do # 60 s: a limit for broken runs, not a timing assertion
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "gave up waiting for: $desc" >&2
  return 1
}

is_status() { [ "$(conn_status "$1")" = "$2" ]; }

submit_job() {
  local before after
  before=$(curl -fsS -u alice@acme:alice-pw-1 "$NIMBUS_URL/api/v1/jobs?state=all&limit=1000" |
    json_get "len(d['jobs'])")
  ipptool -t -T 20 -f "$NIMBUS_TEST_DATA/${1:-onepage.pdf}" \
    "ipp://alice:alice-pw-1@127.0.0.1:$NIMBUS_PORT/ipp/print/acme/${2:-office}" \
    /usr/share/cups/ipptool/print-job.test >/dev/null || return 1
  curl -fsS -u alice@acme:alice-pw-1 "$NIMBUS_URL/api/v1/jobs?state=all&limit=1000" |
    json_get "d['jobs'][-1]['id']"
}

release_job() {
  curl -fsS -o /dev/null -X POST -u alice@acme:alice-pw-1 "$NIMBUS_URL/api/v1/jobs/$1/release"
}

job_field() {
  curl -fsS -u alice@acme:alice-pw-1 "$NIMBUS_URL/api/v1/jobs/$1" | json_get "d['$2']"
}
job_is() { [ "$(job_field "$1" state)" = "$2" ]; }

_INFRA_OPS='update-output-device-attributes|get-output-device-attributes|get-jobs-fetchable|fetch-job|fetch-document|acknowledge-job|acknowledge-document|update-job-status|update-document-status|update-active-jobs|create-printer-subscriptions|get-notifications|cancel-subscription|deregister-output-device'

device_requests() {
  curl -fsS "$NIMBUS_URL/metrics" | python3 -c '
import re, sys
ops = re.compile(r"^nimbus_requests_total\{op=\"ipp\.('"$_INFRA_OPS"')\"")
total = 0
for line in sys.stdin:
    if ops.match(line) or line.startswith("nimbus_deleted_device_requests_total "):
        total += int(float(line.rsplit(" ", 1)[1]))
print(total)'
}

deleted_device_requests() {
  curl -fsS "$NIMBUS_URL/metrics" |
    sed -n 's/^nimbus_deleted_device_requests_total \([0-9]*\).*/\1/p'
}

delete_printer() {
  curl -fsS -o /dev/null -w '%{http_code}' -u boss@acme:boss-pw-1 -X DELETE \
    "$NIMBUS_URL/api/v1/printers/$1" | grep -Eqx '200|204'
}
