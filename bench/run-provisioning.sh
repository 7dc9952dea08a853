#!/usr/bin/env bash
# run-provisioning.sh: the provisioning benchmark (issue 16,
# docs/PROVISIONING.md): how long a contract over many printers takes to
# be detected and planned, and how fast nimbusd serves the steps.
#
# For each store backend (SQLite; PostgreSQL in a private cluster made by
# tests/pg/pg-cluster.sh in the temp dir), a fresh release-build nimbusd on
# loopback with --provision-interval INTERVAL:
#   1. detection and planning, for N in SIZES: a tenant with N printers,
#      each made with POST /api/v1/printers and claimed with POST
#      /device/register (its claim code; no connector runs); a 1 MiB
#      application package; a contract with "printers":"all" and the items
#      settings + that application + backup (backup settings given), whose
#      start_at is the next whole second + 2 s.  bench/provisioning.py
#      detect polls GET /contracts/{id}/runs every 10 ms until the run
#      exists, then GET /runs/{id} every 50 ms until it holds all 3N
#      steps; both times are from start_at.  nimbusd logs no duration of
#      its own for planning: from its log, the time from start_at to
#      "provisioning run created" (and to the last "run widened to a new
#      printer": a sweep plans at most 256 printers into the new run, the
#      rest join it in later sweeps, one transaction each: the mean gap
#      between their log lines within a sweep is the cost per printer).
#   2. serving, on the first size's run: M printers (their credentials),
#      CONCURRENCY at a time, each doing GET /device/provisioning, for the
#      application step GET /device/packages/{id} (1 MiB, SHA-256
#      checked), POST /device/provisioning/steps/{id} confirmed, until it
#      is served no step; steps/s and p50/p99 per route; nimbusd's VmRSS
#      (/proc) before and after, and VmHWM; then the time until the run is
#      done (the backup steps are applied by nimbusd's own sweep).
# Prints a Markdown table and the machine.  Exit status non-zero when a
# step fails (a printer not registered, a run incomplete, a step refused).
#
# Usage: bench/run-provisioning.sh      (about 2-3 minutes with the defaults)
# Environment:
#   BUILD        meson build dir (default build-rel; configured with
#                --buildtype=release if missing)
#   BACKENDS     "sqlite postgresql" (default)
#   SIZES        printer counts for detection ("100 1000")
#   M            printers served (100; at most the first size)
#   CONCURRENCY  printers served at once (8)
#   INTERVAL     --provision-interval in seconds (1; nimbusd's default is 5)
#   RESULTS_OUT  also write the table to this file
#   KEEP_WORK=1  keep the temp dir (the logs)
set -u -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-build-rel}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
BACKENDS=${BACKENDS:-sqlite postgresql}
SIZES=${SIZES:-100 1000}
M=${M:-100}
CONCURRENCY=${CONCURRENCY:-8}
INTERVAL=${INTERVAL:-1}
RESULTS_OUT=${RESULTS_OUT:-}
KEEP_WORK=${KEEP_WORK:-0}
NIMBUSD=$BUILD/src/server/nimbusd
CLIENT=$ROOT/bench/provisioning.py
ADMIN_PASSWORD=bench-admin-pw
OP=admin@system:$ADMIN_PASSWORD

WORK=$(mktemp -d "${TMPDIR:-/tmp}/nimbus-provbench.XXXXXX") || exit 1
chmod 0755 "$WORK" # the cluster's owner (postgres, under root) must reach it
PID=
PG_DIR=
cleanup() {
  [ -z "$PID" ] || { kill -TERM "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; }
  [ -z "$PG_DIR" ] || "$ROOT/tests/pg/pg-cluster.sh" stop "$PG_DIR" >/dev/null 2>&1
  [ "$KEEP_WORK" = 1 ] && echo "work dir kept: $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT
log() { echo "provisioning-bench: $*" >&2; }

# shellcheck source=lib-bench.sh
. "$ROOT/bench/lib-bench.sh"
bench_build src/server/nimbusd || exit 1

# start DIR [nimbusd options]: a fresh nimbusd in DIR; sets PID and URL
start() {
  local dir=$1 port
  shift
  mkdir -p "$dir/state"
  "$NIMBUSD" --listen 127.0.0.1 --port 0 --state-dir "$dir/state" \
    --admin-password "$ADMIN_PASSWORD" --fast-hashing --provision-interval "$INTERVAL" \
    --log-level info "$@" </dev/null >"$dir/nimbusd.out" 2>"$dir/nimbusd.log" &
  PID=$!
  port=
  for _ in $(seq 1 600); do
    port=$(bench_banner_port "$dir/nimbusd.out")
    [ -n "$port" ] && break
    sleep 0.05
  done
  [ -n "$port" ] || { log "nimbusd did not start"; tail "$dir/nimbusd.log" >&2; return 1; }
  URL=http://127.0.0.1:$port
  bench_wait_healthz "$URL" || { log "nimbusd not healthy"; return 1; }
}
stop() { kill -TERM "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; PID=; }
# call METHOD PATH [JSON]: REST as the operator, the answer on stdout
call() { curl -fsS -u "$OP" -H 'Content-Type: application/json' -X "$1" "$URL/api/v1$2" ${3:+-d "$3"}; }
jget() { python3 -c 'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
rss() { awk -v k="$2:" '$1 == k { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
# log_after LOG START MESSAGE KEY VALUE: seconds from START (epoch) to the
# last log line MESSAGE whose KEY is VALUE ("n/a" when none)
log_after() {
  python3 - "$@" <<'PY'
import re, sys, datetime
log, start, msg, key, val = sys.argv[1:]
last = None
for line in open(log, errors="replace"):
    if f'msg="{msg}"' in line and re.search(rf"\b{key}={val}\b", line):
        m = re.search(r"ts=(\S+)Z", line)
        if m:
            last = datetime.datetime.fromisoformat(m.group(1)).replace(tzinfo=datetime.timezone.utc).timestamp()
print("n/a" if last is None else f"{last - float(start):.3f}")
PY
}

# join_ms LOG RUN: ms per printer joining run RUN in a later sweep: the
# mean gap between consecutive "run widened" lines of one sweep (gaps over
# 0.5 s are the waits between sweeps); "n/a" when none joined
join_ms() {
  python3 - "$@" <<'PY'
import re, sys, datetime
log, run = sys.argv[1:]
ts = []
for line in open(log, errors="replace"):
    if 'msg="provisioning run widened to a new printer"' in line and re.search(rf"\brun={run}\b", line):
        m = re.search(r"ts=(\S+)Z", line)
        ts.append(datetime.datetime.fromisoformat(m.group(1)).timestamp())
gaps = [b - a for a, b in zip(ts, ts[1:]) if b - a < 0.5]
print(f"{1000 * sum(gaps) / len(gaps):.2f}" if gaps else "n/a")
PY
}

STATUS=0
ROWS=()
SERVE_ROWS=()
head -c 1048576 /dev/urandom >"$WORK/app.bin"
for backend in $BACKENDS; do
  store=()
  if [ "$backend" = postgresql ]; then
    PG_DIR=$WORK/pg
    mkdir -p "$PG_DIR"
    "$ROOT/tests/pg/pg-cluster.sh" start "$PG_DIR" >"$WORK/pg-start.log" 2>&1 ||
      { cat "$WORK/pg-start.log" >&2; exit 1; }
    store=(--store "$("$ROOT/tests/pg/pg-cluster.sh" url "$PG_DIR")")
  fi
  dir=$WORK/$backend
  start "$dir" "${store[@]}" || exit 1
  PKG=$(curl -fsS -u "$OP" -H 'Content-Type: application/octet-stream' --data-binary "@$WORK/app.bin" \
    -X POST "$URL/api/v1/packages?kind=application&name=scan2cloud&version=2.1.0") || { log "upload failed"; exit 1; }
  PKG_ID=$(echo "$PKG" | jget "d['id']")
  PKG_SUM=$(echo "$PKG" | jget "d['sha256']")
  first=
  for n in $SIZES; do
    tenant=t$n
    { call POST /tenants "{\"name\":\"$tenant\"}" && call POST "/queues?tenant=$tenant" '{"name":"office"}'; } >/dev/null ||
      { log "$backend: tenant set-up failed"; exit 1; }
    log "$backend: registering $n printers"
    REG=$(python3 "$CLIENT" register "$URL" admin@system "$ADMIN_PASSWORD" "$tenant" "$n" "$dir/creds-$n") ||
      { log "$backend: registration: $REG"; STATUS=1; continue; }
    log "$backend: $REG"
    start_at=$(($(date +%s) + 3))
    END=$(date -u -d "@$((start_at + 86400 * 365))" +%Y-%m-%dT%H:%M:%SZ)
    CID=$(call POST /contracts "{\"name\":\"bench-$n\",\"tenant\":\"$tenant\",
      \"start_at\":\"$(date -u -d "@$start_at" +%Y-%m-%dT%H:%M:%SZ)\",\"end_at\":\"$END\",\"printers\":\"all\",
      \"service_settings\":{\"backup\":{\"period\":\"daily\",\"time\":\"02:30\",\"mode\":\"full\",\"retention\":7}},
      \"items\":[{\"kind\":\"settings\",\"name\":\"office-defaults\",\"values\":{\"sides-default\":\"two-sided-long-edge\",\"printer-sleep-timer\":15}},
        {\"kind\":\"application\",\"name\":\"scan2cloud\",\"version\":\"2.1.0\",\"package\":$PKG_ID,\"sha256\":\"$PKG_SUM\"},
        {\"kind\":\"backup\"}]}" | jget "d['id']") || { log "$backend: contract refused"; exit 1; }
    DET=$(python3 "$CLIENT" detect "$URL" admin@system "$ADMIN_PASSWORD" "$CID" "$start_at" $((3 * n)) 120) || STATUS=1
    log "$backend N=$n: $DET"
    RID=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["run_id"])' "$DET")
    created=$(log_after "$dir/nimbusd.log" "$start_at" "provisioning run created" contract "$CID")
    widened=$(log_after "$dir/nimbusd.log" "$start_at" "provisioning run widened to a new printer" run "$RID")
    f() { python3 -c 'import json, sys; v = json.loads(sys.argv[1]).get(sys.argv[2]); print("n/a" if v is None else v)' "$1" "$2"; }
    joined=$(join_ms "$dir/nimbusd.log" "$RID")
    ROWS+=("| $backend | $n | $(f "$REG" seconds) | $(f "$DET" run_s) | $(f "$DET" all_steps_s) | $(f "$DET" steps) | $created | $widened | $joined |")
    [ -n "$first" ] && continue
    first=$n
    # 2. serving, on this run
    before=$(rss "$PID" VmRSS)
    log "$backend: serving $M printers, $CONCURRENCY at a time"
    SRV=$(python3 "$CLIENT" serve "$URL" "$dir/creds-$n" "$M" "$CONCURRENCY" "$PKG_SUM" 240) || STATUS=1
    after=$(rss "$PID" VmRSS)
    hwm=$(rss "$PID" VmHWM)
    log "$backend: $SRV"
    t0=$(date +%s.%N)
    state=
    for _ in $(seq 1 600); do
      state=$(call GET "/runs/$RID" | jget "d['state']")
      [ "$state" = running ] || break
      sleep 0.1
    done
    done_s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    [ "$state" = "done" ] || { log "$backend: run $RID is $state"; STATUS=1; }
    SERVE_ROWS+=("| $backend | $(f "$SRV" printers) | $(f "$SRV" steps) | $(f "$SRV" seconds) | $(f "$SRV" steps_per_s) | $(f "$SRV" provisioning_p50_ms) / $(f "$SRV" provisioning_p99_ms) | $(f "$SRV" package_p50_ms) / $(f "$SRV" package_p99_ms) | $(f "$SRV" report_p50_ms) / $(f "$SRV" report_p99_ms) | $before | $after | $hwm | $state after $done_s |")
  done
  stop
done

TABLE=$(
  echo "Detection and planning (\"printers\":\"all\", items settings + application + backup; seconds from start_at; --provision-interval $INTERVAL):"
  echo
  echo "| store | printers | registration (s) | run exists (s) | all steps exist (s) | steps | log: run created (s) | log: last printer joined (s) | log: ms per printer joined |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${ROWS[@]}"
  echo
  echo "Serving (concurrency $CONCURRENCY; a 1 MiB package; latencies p50 / p99 in ms):"
  echo
  echo "| store | printers | steps confirmed | seconds | steps/s | GET /device/provisioning | GET /device/packages/{id} | POST /device/provisioning/steps/{id} | RSS before (MiB) | RSS after (MiB) | VmHWM (MiB) | run, seconds after the last report |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
  printf '%s\n' "${SERVE_ROWS[@]}"
  echo
  echo "Machine: $(nproc) CPUs ($(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)), $(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo) RAM, $(uname -sr); load average at the end $(cut -d' ' -f1-3 /proc/loadavg); build $(basename "$BUILD"); $(date -u '+%Y-%m-%d %H:%M UTC')."
)
echo "$TABLE"
[ -z "$RESULTS_OUT" ] || echo "$TABLE" >"$RESULTS_OUT"
exit "$STATUS"
