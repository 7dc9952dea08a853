#!/usr/bin/env bash
# run-federation-list.sh: the federation benchmark (issue 15,
# docs/FEDERATION.md): how long N jobs of one remote user take to reach the
# home service's list, what answering that list costs, and how many bytes
# the remote sends before anyone chooses a job.
#
# Two release-build nimbusd on loopback, fresh state dirs, SQLite:
#   remote: tenant far, user alice, queue inbox (release_immediately: every
#           job fetchable at once) and a printer registration "home";
#   home:   tenant near, users alice and carol (tenant admin), queue main,
#           the remote printer link "fed" (carol, the registration's claim
#           code; --remote-poll REMOTE_POLL) and alice's account link to the
#           remote (approved at the remote as its alice, as she would at
#           its #/device page), waited for until ok / linked.
# Then (bench/federation-list.py):
#   a. sync: N REST uploads of a one-page PDF by the remote alice to inbox,
#      one after the other on one kept-alive connection; then home's link
#      record is polled every 20 ms until it stores all N: the time from
#      the last upload's answer (and from the first) to all N stored;
#   b. the list: REQUESTS GETs of the list on one kept-alive connection,
#      p50 / p95 / max.  The merged list (GET /api/v1/jobs?include=remote
#      as alice, docs/FEDERATION.md §4) when home answers it with remote
#      jobs; otherwise the link's stored list (GET
#      /api/v1/remote-links/fed/jobs as carol), and the table says which;
#   c. bytes: home's nimbus_remote_bytes_received_total for the link and
#      nimbus_remote_requests_total by operation, the remote's count of
#      Fetch-Document requests (nimbus_requests_total, must be 0), bytes
#      per job; then one more job at the remote and the bytes home
#      received for the refresh it causes (a Get-Notifications and the
#      next Get-Jobs), per listed job, and how many jobs are listed then
#      (a nimbusd remote answers at most 1000 per Get-Jobs).
# Prints a Markdown table and the machine.  Exit status non-zero when a
# check fails (not all N listed, a Fetch-Document at the remote).
#
# Usage: bench/run-federation-list.sh     (about 1-2 minutes with the defaults)
# Environment:
#   BUILD        meson build dir (default build-release; configured with
#                --buildtype=release if missing)
#   N            jobs submitted at the remote (1000)
#   REQUESTS     list requests timed (200)
#   REMOTE_POLL  home's --remote-poll in seconds (1; the default is 10)
#   SYNC_TIMEOUT seconds to wait for all N at home (300)
#   LIST_PATH    the list to time instead of the automatic choice (as alice
#                when it starts /api/v1/jobs or /api/v1/device, else carol)
#   RESULTS_OUT  also write the table to this file
#   KEEP_WORK=1  keep the temp dir (the logs)
set -u -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-build-release}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
N=${N:-1000}
REQUESTS=${REQUESTS:-200}
REMOTE_POLL=${REMOTE_POLL:-1}
SYNC_TIMEOUT=${SYNC_TIMEOUT:-300}
LIST_PATH=${LIST_PATH:-}
RESULTS_OUT=${RESULTS_OUT:-}
KEEP_WORK=${KEEP_WORK:-0}
NIMBUSD=$BUILD/src/server/nimbusd
CLIENT=$ROOT/bench/federation-list.py
DOC=$ROOT/tests/data/onepage.pdf
ADMIN_PASSWORD=bench-admin-pw

WORK=$(mktemp -d "${TMPDIR:-/tmp}/nimbus-federation-bench.XXXXXX") || exit 1
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  [ "$KEEP_WORK" = 1 ] && echo "work dir kept: $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT
log() { echo "federation-bench: $*" >&2; }

# shellcheck source=lib-bench.sh
. "$ROOT/bench/lib-bench.sh"
bench_build src/server/nimbusd || exit 1

# start NAME [nimbusd options]: a fresh nimbusd in $WORK/NAME; sets URL
start() {
  local name=$1 dir=$WORK/$1 port
  shift
  mkdir -p "$dir/state"
  "$NIMBUSD" --listen 127.0.0.1 --port 0 --state-dir "$dir/state" \
    --admin-password "$ADMIN_PASSWORD" --fast-hashing --max-held-jobs 100000 \
    --log-level info "$@" </dev/null >"$dir/nimbusd.out" 2>"$dir/nimbusd.log" &
  PIDS+=($!)
  port=
  for _ in $(seq 1 600); do
    port=$(bench_banner_port "$dir/nimbusd.out")
    [ -n "$port" ] && break
    sleep 0.05
  done
  [ -n "$port" ] || { log "$name: nimbusd did not start"; tail "$dir/nimbusd.log" >&2; return 1; }
  URL=http://127.0.0.1:$port
  bench_wait_healthz "$URL" || { log "$name: nimbusd not healthy"; return 1; }
}
# call URL AUTH METHOD PATH [JSON]: REST, the answer on stdout
call() {
  curl -fsS -u "$2" -H 'Content-Type: application/json' -X "$3" "$1$4" ${5:+-d "$5"}
}
jget() { python3 -c 'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
OP="admin@system:$ADMIN_PASSWORD"

start remote || exit 1
R_URL=$URL
R_PORT=${R_URL##*:}
{
  call "$R_URL" "$OP" POST /api/v1/tenants '{"name":"far"}' &&
    call "$R_URL" "$OP" POST '/api/v1/users?tenant=far' '{"name":"alice","password":"alice-pw-1","role":"user"}' &&
    call "$R_URL" "$OP" POST '/api/v1/users?tenant=far' '{"name":"rob","password":"rob-pw-1","role":"tenant-admin"}' &&
    call "$R_URL" "$OP" POST '/api/v1/queues?tenant=far' '{"name":"inbox","release_immediately":true}'
} >/dev/null || { log "remote: setup failed"; exit 1; }
CLAIM=$(call "$R_URL" rob@far:rob-pw-1 POST /api/v1/printers '{"name":"home","queues":["inbox"]}' |
  jget "d['claim_code']") || { log "remote: no claim code"; exit 1; }

start home --remote-poll "$REMOTE_POLL" || exit 1
H_URL=$URL
{
  call "$H_URL" "$OP" POST /api/v1/tenants '{"name":"near"}' &&
    call "$H_URL" "$OP" POST '/api/v1/users?tenant=near' '{"name":"alice","password":"alice-pw-2","role":"user"}' &&
    call "$H_URL" "$OP" POST '/api/v1/users?tenant=near' '{"name":"carol","password":"carol-pw-1","role":"tenant-admin"}' &&
    call "$H_URL" "$OP" POST '/api/v1/queues?tenant=near' '{"name":"main"}' &&
    call "$H_URL" carol@near:carol-pw-1 POST /api/v1/remote-links "{\"name\":\"fed\",
      \"printer_uri\":\"ipp://127.0.0.1:$R_PORT/ipp/print/far/inbox\",\"queue\":\"main\",\"claim_code\":\"$CLAIM\"}"
} >/dev/null || { log "home: setup failed"; exit 1; }
CODE=$(call "$H_URL" alice@near:alice-pw-2 POST /api/v1/me/account-links "{\"service_url\":\"$R_URL\"}" |
  jget "d['user_code']") || { log "home: no account link"; exit 1; }
call "$R_URL" alice@far:alice-pw-1 POST /api/v1/oauth/device/approve "{\"user_code\":\"$CODE\"}" >/dev/null ||
  { log "remote: approval refused"; exit 1; }
ready=
for _ in $(seq 1 300); do # the account link turns linked at the grant's next poll (5 s)
  link=$(call "$H_URL" carol@near:carol-pw-1 GET /api/v1/remote-links/fed | jget "d['status']")
  acct=$(call "$H_URL" alice@near:alice-pw-2 GET /api/v1/me/account-links |
    jget "d['account_links'][0]['status']")
  [ "$link" = ok ] && [ "$acct" = linked ] && { ready=1; break; }
  sleep 0.1
done
[ -n "$ready" ] || { log "links not ready: remote link $link, account link $acct"; exit 1; }

# metric URL REGEX: the sum of the /metrics samples matching REGEX
metric() {
  curl -fsS "$1/metrics" | python3 -c '
import re, sys
print(sum(int(float(l.rsplit(" ", 1)[1])) for l in sys.stdin if re.match(sys.argv[1], l)))' "$2"
}
BYTES0=$(metric "$H_URL" '^nimbus_remote_bytes_received_total\{tenant="[0-9]+",link="fed"\}')

# a. sync
log "submitting $N jobs at the remote"
SYNC=$(python3 "$CLIENT" submit-sync "$R_URL" alice@far alice-pw-1 inbox "$N" "$DOC" \
  "$H_URL" carol@near carol-pw-1 fed "$SYNC_TIMEOUT")
STATUS=$?
log "sync: $SYNC"

# b. the list
if [ -z "$LIST_PATH" ]; then
  merged=$(curl -fsS -u alice@near:alice-pw-2 "$H_URL/api/v1/jobs?include=remote" 2>/dev/null |
    python3 -c 'import json, sys; print(sum(1 for j in json.load(sys.stdin)["jobs"] if "remote_id" in j))' 2>/dev/null)
  if [ "${merged:-0}" -gt 0 ]; then
    LIST_PATH=/api/v1/jobs?include=remote
  else
    LIST_PATH=/api/v1/remote-links/fed/jobs
  fi
fi
case "$LIST_PATH" in
  /api/v1/jobs* | /api/v1/device*) LUSER=alice@near LPASS=alice-pw-2 ;;
  *) LUSER=carol@near LPASS=carol-pw-1 ;;
esac
LIST=$(python3 "$CLIENT" latency "$H_URL" "$LUSER" "$LPASS" "$LIST_PATH" "$REQUESTS") || STATUS=1
log "list $LIST_PATH: $LIST"

# c. bytes
BYTES=$(($(metric "$H_URL" '^nimbus_remote_bytes_received_total\{tenant="[0-9]+",link="fed"\}') - BYTES0))
# one more job at the remote: the bytes of the refresh it causes (home's
# next Get-Jobs after it), and whether it is listed then
GETJOBS='^nimbus_remote_requests_total\{op="get-jobs"\}'
G0=$(metric "$H_URL" "$GETJOBS")
B0=$(metric "$H_URL" '^nimbus_remote_bytes_received_total\{tenant="[0-9]+",link="fed"\}')
curl -fsS -o /dev/null -u alice@far:alice-pw-1 -F queue=inbox -F job-name=one-more -F document=@"$DOC" \
  "$R_URL/api/v1/jobs" || { log "remote: the extra upload failed"; STATUS=1; }
for _ in $(seq 1 600); do
  [ "$(metric "$H_URL" "$GETJOBS")" -gt "$G0" ] && break
  sleep 0.1
done
sleep 0.5 # the answer is counted as it is read, and stored after
REFRESH=$(($(metric "$H_URL" '^nimbus_remote_bytes_received_total\{tenant="[0-9]+",link="fed"\}') - B0))
AFTER=$(call "$H_URL" carol@near:carol-pw-1 GET /api/v1/remote-links/fed | jget "d['jobs']")
log "one more job: $REFRESH bytes received for the refresh; $AFTER of $((N + 1)) listed after it"
FETCHES=$(metric "$R_URL" '^nimbus_requests_total\{op="ipp\.fetch-document"')
HOME_OPS=$(curl -fsS "$H_URL/metrics" | sed -n 's/^nimbus_remote_requests_total{op="\([a-z-]*\)"} \([0-9]*\)$/\1 \2/p' |
  tr '\n' ',' | sed 's/,$//; s/,/, /g')
[ "$FETCHES" = 0 ] || { log "the remote answered $FETCHES Fetch-Document requests"; STATUS=1; }

f() { python3 -c 'import json, sys; v = json.loads(sys.argv[1]).get(sys.argv[2]); print("n/a" if v is None else v)' "$1" "$2"; }
TABLE=$(
  echo "| N | submit (s) | sync after last upload (s) | sync from first (s) | list | list p50 (ms) | p95 (ms) | max (ms) | answer (bytes) | listed | bytes from the remote | bytes/job | one refresh (bytes) | per listed job | listed after one more | Fetch-Document at the remote |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  echo "| $N | $(f "$SYNC" submit_s) | $(f "$SYNC" sync_s) | $(f "$SYNC" sync_from_first_s) | \`GET ${LIST_PATH#/api/v1}\` | $(fmt "$(f "$LIST" p50_ms)" %.2f) | $(fmt "$(f "$LIST" p95_ms)" %.2f) | $(fmt "$(f "$LIST" max_ms)" %.2f) | $(f "$LIST" bytes) | $(f "$LIST" listed) | $BYTES | $((BYTES / N)) | $REFRESH | $((REFRESH / AFTER)) | $AFTER of $((N + 1)) | $FETCHES |"
  echo
  echo "INFRA operations home sent: $HOME_OPS; --remote-poll $REMOTE_POLL."
  [ "$AFTER" = $((N + 1)) ] ||
    echo "NOTE: after one more job home lists $AFTER of the remote's $((N + 1)) fetchable jobs: the remote's Get-Jobs answer was cut short."
  echo "Machine: $(nproc) CPUs ($(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)), $(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo) RAM, $(uname -sr); load average at the end $(cut -d' ' -f1-3 /proc/loadavg); build $(basename "$BUILD"); $(date -u '+%Y-%m-%d %H:%M UTC')."
)
echo "$TABLE"
[ -z "$RESULTS_OUT" ] || echo "$TABLE" >"$RESULTS_OUT"
exit "$STATUS"
