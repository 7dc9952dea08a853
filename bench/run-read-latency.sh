#!/usr/bin/env bash
# run-read-latency.sh: how long a job list waits while intake runs, with
# and without the SQLite read connections (issue 10 item 3).
#
# For each configuration in CONFIGS, READERS:GROUP_COMMIT (nimbusd
# --store-readers, 0 = every read shares the write connection as before the
# readers; --group-commit, 1 = each job insert commits, with its fsync, on
# the write connection), on a fresh nimbusd (release build, --demo,
# loopback):
#   1. idle: one client lists jobs (GET /api/v1/jobs?limit=50, kept-alive,
#      bench/read-latency.py) for DURATION seconds;
#   2. under intake: the same client while bench/intake-load sends Print-Job
#      with a 30 KB one-page PDF on CONNECTIONS connections for DURATION
#      seconds (every job acknowledged durably: WAL fsync per group commit).
# Prints a Markdown table: list latency p50/p99/max in each phase, lists
# done, and intake jobs/s.  Everything runs under one temp dir, removed on
# exit with every process the script started.
#
# Usage: bench/run-read-latency.sh        (~1 minute with the defaults)
# Environment: BUILD (meson build dir, default build-release; configured
#   with --buildtype=release if missing), DURATION (15), CONNECTIONS (16),
#   CONFIGS ("0:64 8:64 0:1 8:1"), SMALL_PDF (tests/data/onepage-30k.pdf), RESULTS_OUT
#   (also write the table there).
set -u -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-build-release}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
DURATION=${DURATION:-15}
CONNECTIONS=${CONNECTIONS:-16}
CONFIGS=${CONFIGS:-0:64 8:64 0:1 8:1}
SMALL_PDF=${SMALL_PDF:-$ROOT/tests/data/onepage-30k.pdf}
RESULTS_OUT=${RESULTS_OUT:-}

# shellcheck source=../tests/integration/lib-cupsd.sh
. "$ROOT/tests/integration/lib-cupsd.sh" # cupsd_free_port

WORK=$(mktemp -d "${TMPDIR:-/tmp}/nimbus-readlat.XXXXXX") || exit 1
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

# shellcheck source=lib-bench.sh
. "$ROOT/bench/lib-bench.sh"
bench_build src/server/nimbusd bench/intake-load || exit 1
[ -f "$SMALL_PDF" ] || { echo "no $SMALL_PDF" >&2; exit 1; }

# field JSON KEY: a number from read-latency.py's or intake-load's JSON line
field() { python3 -c 'import json,sys; v=json.loads(sys.argv[1]).get(sys.argv[2]); print("-" if v is None else (f"{v:.1f}" if isinstance(v,float) else v))' "$1" "$2"; }

rows=()
status=0
for config in $CONFIGS; do
  readers=${config%%:*} group_commit=${config#*:}
  port=$(cupsd_free_port) || exit 1
  state=$WORK/state-$readers-$group_commit
  mkdir -p "$state"
  "$BUILD/src/server/nimbusd" --listen 127.0.0.1 --port "$port" --state-dir "$state" --demo \
    --max-held-jobs 1000000 --log-level warn --store-readers "$readers" --group-commit "$group_commit" >"$WORK/out-$config" \
    2>"$WORK/log-$config" &
  pid=$!
  PIDS+=("$pid")
  for _ in $(seq 1 300); do
    grep -q "demo queue:" "$WORK/out-$config" && break
    sleep 0.1
  done
  uri=$(sed -nE 's/^[[:space:]]*demo queue:[[:space:]]*([^[:space:]]+).*/\1/p' "$WORK/out-$config")
  [ -n "$uri" ] || { echo "nimbusd did not start:" >&2; cat "$WORK/log-$config" >&2; exit 1; }
  base=http://127.0.0.1:$port
  idle=$(python3 "$ROOT/bench/read-latency.py" "$base" alice@demo alice-demo-pass "$DURATION")
  "$BUILD/bench/intake-load" --uri "$uri" --file "$SMALL_PDF" --user alice --password \
    alice-demo-pass --connections "$CONNECTIONS" --duration "$DURATION" --json \
    >"$WORK/load-$config" 2>"$WORK/load-$config.err" &
  load_pid=$!
  sleep 1 # the load's connections are open and sending
  busy=$(python3 "$ROOT/bench/read-latency.py" "$base" alice@demo alice-demo-pass \
    "$((DURATION - 2))")
  wait "$load_pid" || status=1
  load=$(tail -1 "$WORK/load-$config")
  rows+=("| $readers | $group_commit | $(field "$idle" p50_ms) / $(field "$idle" p99_ms) | $(field "$busy" p50_ms) / $(field "$busy" p99_ms) / $(field "$busy" max_ms) | $(field "$busy" requests) | $(field "$load" jobs_per_s) |")
  [ "$(field "$busy" failures)" = 0 ] || status=1
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
done

{
  echo "| --store-readers | --group-commit | list p50 / p99 idle (ms) | list p50 / p99 / max under intake (ms) | lists under intake | intake jobs/s |"
  echo "|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "$CONNECTIONS intake connections, ${DURATION} s per phase; $(nproc) CPUs, $(uname -sr)"
} | tee ${RESULTS_OUT:+"$RESULTS_OUT"}
exit $status
