#!/usr/bin/env bash
# run-store-intake.sh: intake on each store backend, one node (issue 10).
#
# For each backend in BACKENDS (sqlite, postgresql), a fresh nimbusd
# (release build, --demo, loopback; PostgreSQL: a private cluster made by
# tests/pg/pg-cluster.sh in the temp dir, unix socket only, fsync and
# synchronous_commit on, a fresh database per run) takes Print-Job with a
# 30 KB one-page PDF on CONNECTIONS connections for DURATION seconds
# (bench/intake-load; every job acknowledged durably).  Prints a Markdown
# table: jobs/s, latency p50/p99, and CPU per job of nimbusd and of the
# database server (the PostgreSQL processes of the cluster; SQLite runs
# inside nimbusd).  Everything runs under one temp dir, removed on exit
# with every process the script started.
#
# Usage: bench/run-store-intake.sh        (~1 minute with the defaults)
# Environment: BUILD (meson build dir, default build-release; configured
#   with --buildtype=release if missing), DURATION (20), CONNECTIONS (16),
#   BACKENDS ("sqlite postgresql"), SMALL_PDF (tests/data/onepage-30k.pdf),
#   RESULTS_OUT (also write the table there).
set -u -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-build-release}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
DURATION=${DURATION:-20}
CONNECTIONS=${CONNECTIONS:-16}
BACKENDS=${BACKENDS:-sqlite postgresql}
SMALL_PDF=${SMALL_PDF:-$ROOT/tests/data/onepage-30k.pdf}
RESULTS_OUT=${RESULTS_OUT:-}
CLK_TCK=$(getconf CLK_TCK)

# shellcheck source=../tests/integration/lib-cupsd.sh
. "$ROOT/tests/integration/lib-cupsd.sh" # cupsd_free_port

WORK=$(mktemp -d "${TMPDIR:-/tmp}/nimbus-storeintake.XXXXXX") || exit 1
chmod 0755 "$WORK" # the cluster's owner (postgres, under root) must reach it
PIDS=()
PG_DIR=
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  [ -z "$PG_DIR" ] || "$ROOT/tests/pg/pg-cluster.sh" stop "$PG_DIR" >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT

[ -f "$SMALL_PDF" ] || { echo "no $SMALL_PDF" >&2; exit 1; }
if [ ! -x "$BUILD/src/server/nimbusd" ] || [ ! -x "$BUILD/bench/intake-load" ]; then
  [ -d "$BUILD" ] || meson setup "$BUILD" "$ROOT" --buildtype=release >"$WORK/setup.log" 2>&1 ||
    { cat "$WORK/setup.log" >&2; exit 1; }
fi
ninja -C "$BUILD" src/server/nimbusd bench/intake-load >"$WORK/ninja.log" 2>&1 ||
  { tail -20 "$WORK/ninja.log" >&2; exit 1; }

# cpu_ticks PID...: utime + stime of the processes, in clock ticks
cpu_ticks() {
  local p sum=0 f
  for p in "$@"; do
    f=$(cut -d' ' -f14,15 "/proc/$p/stat" 2>/dev/null) || continue
    sum=$((sum + ${f% *} + ${f#* }))
  done
  echo "$sum"
}
# pg_pids: the cluster's server processes (the postmaster and its children)
pg_pids() {
  local master
  master=$(head -1 "$PG_DIR/data/postmaster.pid" 2>/dev/null) || return 0
  echo "$master" $(pgrep -P "$master")
}
field() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); v=d.get(sys.argv[2], d.get("latency_ms", {}).get(sys.argv[2])); print("-" if v is None else v)' "$1" "$2"; }
per_job() { awk -v d="$1" -v t="$CLK_TCK" -v n="$2" 'BEGIN { if (n > 0) printf "%.3f", d * 1000 / t / n; else print "-" }'; }

rows=()
status=0
for backend in $BACKENDS; do
  store=()
  if [ "$backend" = postgresql ]; then
    if [ -z "$PG_DIR" ]; then
      PG_DIR=$WORK/pg
      mkdir -p "$PG_DIR"
      "$ROOT/tests/pg/pg-cluster.sh" start "$PG_DIR" >"$WORK/pg-start.log" 2>&1 ||
        { cat "$WORK/pg-start.log" >&2; exit 1; }
    fi
    url=$("$ROOT/tests/pg/pg-cluster.sh" url "$PG_DIR")
    db=bench_$$_$RANDOM
    psql -q "$url" -c "CREATE DATABASE $db" >/dev/null || exit 1
    store=(--store "$(echo "$url" | sed "s|/nimbus_test?|/$db?|")")
  fi
  port=$(cupsd_free_port) || exit 1
  state=$WORK/state-$backend
  mkdir -p "$state"
  "$BUILD/src/server/nimbusd" --listen 127.0.0.1 --port "$port" --state-dir "$state" --demo \
    --max-held-jobs 1000000 --log-level warn "${store[@]}" >"$WORK/out-$backend" \
    2>"$WORK/log-$backend" &
  pid=$!
  PIDS+=("$pid")
  for _ in $(seq 1 300); do
    grep -q "demo queue:" "$WORK/out-$backend" && break
    sleep 0.1
  done
  uri=$(sed -nE 's/^[[:space:]]*demo queue:[[:space:]]*([^[:space:]]+).*/\1/p' "$WORK/out-$backend")
  [ -n "$uri" ] || { echo "nimbusd ($backend) did not start:" >&2; cat "$WORK/log-$backend" >&2; exit 1; }
  n0=$(cpu_ticks "$pid")
  d0=0
  [ "$backend" = postgresql ] && d0=$(cpu_ticks $(pg_pids))
  json=$("$BUILD/bench/intake-load" --uri "$uri" --file "$SMALL_PDF" --user alice --password \
    alice-demo-pass --connections "$CONNECTIONS" --duration "$DURATION" --json) || status=1
  n1=$(cpu_ticks "$pid")
  d1=0
  [ "$backend" = postgresql ] && d1=$(cpu_ticks $(pg_pids))
  ok=$(field "$json" ok)
  db_cpu="(in nimbusd)"
  [ "$backend" = postgresql ] && db_cpu=$(per_job $((d1 - d0)) "$ok")
  rows+=("| $backend | $(field "$json" jobs_per_s) | $(field "$json" p50) | $(field "$json" p99) | $(per_job $((n1 - n0)) "$ok") | $db_cpu | $(per_job $((n1 - n0 + d1 - d0)) "$ok") | $(field "$json" failures) |")
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
done

{
  echo "| store | jobs/s | p50 (ms) | p99 (ms) | nimbusd CPU/job (ms) | database server CPU/job (ms) | total CPU/job (ms) | failed |"
  echo "|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "$CONNECTIONS connections, ${DURATION} s, one node; $(nproc) CPUs, $(uname -sr), load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee ${RESULTS_OUT:+"$RESULTS_OUT"}
exit $status
