#!/usr/bin/env bash
# run-store-intake.sh: intake on each store backend, one node and two
# (issue 10).
#
# For each configuration in BACKENDS:
#   sqlite             one nimbusd on SQLite (the database inside nimbusd)
#   postgresql         one nimbusd on PostgreSQL
#   postgresql-2nodes  two nimbusd on one PostgreSQL database (--node-id
#                      node-1 and node-2, one shared state dir and spool),
#                      the load's connections dealt out over both
# fresh servers (release build, --demo, loopback; PostgreSQL: a private
# cluster made by tests/pg/pg-cluster.sh in the temp dir, unix socket only,
# fsync and synchronous_commit on, a fresh database per run) take Print-Job
# with a 30 KB one-page PDF on CONNECTIONS connections in total for DURATION
# seconds (bench/intake-load, one process with one --uri per node, so one
# clock and one set of percentiles; every job acknowledged durably).
# Prints a Markdown table: jobs/s in total and per node, latency p50/p99,
# CPU per job of nimbusd (all nodes) and of the database server (the
# PostgreSQL processes of the cluster; SQLite runs inside nimbusd), and on
# PostgreSQL the transactions committed per job (xact_commit of the run's
# database in pg_stat_database, read before the load and again once the
# nodes have stopped and their sessions have ended, i.e. flushed their
# statistics; the first reading may miss a few start-up transactions not
# yet flushed, which then count in the run).  With
# REPEAT=n every configuration runs n times, in rounds (each round runs
# them all in the order given, so slow drift of the machine hits each
# alike), and a second table gives medians and the spread of jobs/s.
# Everything runs under one temp dir, removed on exit with every process
# the script started.
#
# Usage: bench/run-store-intake.sh        (~1.5 minutes with the defaults)
#        REPEAT=3 DURATION=15 bench/run-store-intake.sh
# Environment: BUILD (meson build dir, default build-release; configured
#   with --buildtype=release if missing), DURATION (20), CONNECTIONS (16,
#   in total over the nodes), BACKENDS ("sqlite postgresql
#   postgresql-2nodes"), REPEAT (1), SMALL_PDF
#   (tests/data/onepage-30k.pdf), RESULTS_OUT (also write the tables there).
set -u -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-build-release}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
DURATION=${DURATION:-20}
CONNECTIONS=${CONNECTIONS:-16}
BACKENDS=${BACKENDS:-sqlite postgresql postgresql-2nodes}
REPEAT=${REPEAT:-1}
SMALL_PDF=${SMALL_PDF:-$ROOT/tests/data/onepage-30k.pdf}
RESULTS_OUT=${RESULTS_OUT:-}
CLK_TCK=$(getconf CLK_TCK)

for b in $BACKENDS; do
  case "$b" in sqlite | postgresql | postgresql-2nodes) ;; *)
    echo "unknown backend $b (sqlite, postgresql, postgresql-2nodes)" >&2
    exit 2
    ;;
  esac
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/nimbus-storeintake.XXXXXX") || exit 1
chmod 0755 "$WORK" # the cluster's owner (postgres, under root) must reach it
PIDS=()
PG_DIR=
# shellcheck disable=SC2317  # called by the trap
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  [ -z "$PG_DIR" ] || "$ROOT/tests/pg/pg-cluster.sh" stop "$PG_DIR" >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[ -f "$SMALL_PDF" ] || { echo "no $SMALL_PDF" >&2; exit 1; }
# shellcheck source=lib-bench.sh
. "$ROOT/bench/lib-bench.sh"
bench_build src/server/nimbusd bench/intake-load || exit 1

LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg)

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
  # shellcheck disable=SC2046  # one pid per word
  echo "$master" $(pgrep -P "$master")
}
field() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); v=d.get(sys.argv[2], d.get("latency_ms", {}).get(sys.argv[2])); print("-" if v is None else "/".join(map(str, v)) if isinstance(v, list) else v)' "$1" "$2"; }
per_job() { awk -v d="$1" -v t="$CLK_TCK" -v n="$2" 'BEGIN { if (n > 0) printf "%.3f", d * 1000 / t / n; else print "-" }'; }
# median V...: the median of numbers ("-" when none)
median() {
  [ $# -gt 0 ] || { echo -; return; }
  printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# pg_store: a fresh database in the private cluster (started on first use);
# sets STORE to its URL and DB to its name.
pg_store() {
  local url
  if [ -z "$PG_DIR" ]; then
    PG_DIR=$WORK/pg
    mkdir -p "$PG_DIR"
    "$ROOT/tests/pg/pg-cluster.sh" start "$PG_DIR" >"$WORK/pg-start.log" 2>&1 ||
      { cat "$WORK/pg-start.log" >&2; return 1; }
  fi
  url=$("$ROOT/tests/pg/pg-cluster.sh" url "$PG_DIR")
  DB=bench_$$_$RANDOM$RANDOM
  psql -q "$url" -c "CREATE DATABASE $DB" >/dev/null || return 1
  STORE=${url/\/nimbus_test\?/\/$DB?}
}
# pg_commits: transactions committed in $DB so far (as the statistics know)
pg_commits() {
  psql -tAq "$("$ROOT/tests/pg/pg-cluster.sh" url "$PG_DIR")" \
    -c "SELECT xact_commit FROM pg_stat_database WHERE datname = '$DB'"
}
# pg_wait_idle: until no session is connected to $DB (5 s at most)
pg_wait_idle() {
  local url
  url=$("$ROOT/tests/pg/pg-cluster.sh" url "$PG_DIR")
  for _ in $(seq 1 50); do
    [ "$(psql -tAq "$url" -c "SELECT count(*) FROM pg_stat_activity WHERE datname = '$DB'")" = 0 ] && return 0
    sleep 0.1
  done
}

# start_node TAG STATE NODE_ID [nimbusd options...]: a nimbusd on a
# loopback port of its choosing (--port 0: no race for a free one); appends
# its pid to PIDS and sets NODE_PID and NODE_URI (the demo queue, with the
# port it got).
start_node() {
  local tag=$1 state=$2 node=$3
  shift 3
  mkdir -p "$state"
  "$BUILD/src/server/nimbusd" --listen 127.0.0.1 --port 0 --state-dir "$state" \
    --node-id "$node" --demo --max-held-jobs 1000000 --log-level warn "$@" \
    >"$WORK/out-$tag" 2>"$WORK/log-$tag" &
  NODE_PID=$!
  PIDS+=("$NODE_PID")
  for _ in $(seq 1 300); do
    grep -q "demo queue:" "$WORK/out-$tag" && break
    kill -0 "$NODE_PID" 2>/dev/null || break
    sleep 0.1
  done
  NODE_URI=$(sed -nE 's/^[[:space:]]*demo queue:[[:space:]]*([^[:space:]]+).*/\1/p' "$WORK/out-$tag")
  [ -n "$NODE_URI" ] || { echo "nimbusd ($tag) did not start:" >&2; cat "$WORK/log-$tag" >&2; return 1; }
}

rows=()
declare -A JPS=() CPU=() LABEL=()
status=0
for round in $(seq 1 "$REPEAT"); do
  for backend in $BACKENDS; do
    store=()
    nodes=1
    label=$backend
    case "$backend" in
      postgresql) pg_store || exit 1; store=(--store "$STORE") ;;
      postgresql-2nodes) pg_store || exit 1; store=(--store "$STORE"); nodes=2; label=postgresql ;;
    esac
    LABEL[$backend]="$label | $nodes"
    state=$WORK/state-$backend-$round
    pids=()
    uris=()
    # One after the other: the first node creates the schema and the demo
    # data, the second finds them.
    for k in $(seq 1 "$nodes"); do
      start_node "$backend-$round-$k" "$state" "node-$k" "${store[@]}" || exit 1
      pids+=("$NODE_PID")
      uris+=(--uri "$NODE_URI")
    done
    n0=$(cpu_ticks "${pids[@]}")
    d0=0
    [ -n "${store[*]}" ] && x0=$(pg_commits)
    # shellcheck disable=SC2046  # one pid per word
    [ -n "${store[*]}" ] && d0=$(cpu_ticks $(pg_pids))
    json=$("$BUILD/bench/intake-load" "${uris[@]}" --file "$SMALL_PDF" --user alice --password \
      alice-demo-pass --connections "$CONNECTIONS" --duration "$DURATION" --json) || status=1
    n1=$(cpu_ticks "${pids[@]}")
    d1=0
    # shellcheck disable=SC2046  # one pid per word
    [ -n "${store[*]}" ] && d1=$(cpu_ticks $(pg_pids))
    ok=$(field "$json" ok)
    db_cpu="(in nimbusd)"
    [ -n "${store[*]}" ] && db_cpu=$(per_job $((d1 - d0)) "$ok")
    jps=$(field "$json" jobs_per_s)
    total=$(per_job $((n1 - n0 + d1 - d0)) "$ok")
    JPS[$backend]="${JPS[$backend]:-} $jps"
    CPU[$backend]="${CPU[$backend]:-} $total"
    rows+=("| $label | $nodes | $round | $jps | $(field "$json" ok_per_uri) | $(field "$json" p50) | $(field "$json" p99) | $(per_job $((n1 - n0)) "$ok") | $db_cpu | $total | $(field "$json" failures) |")
    echo "$backend round $round: $json" >>"$WORK/raw.jsonl"
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    xacts="-"
    if [ -n "${store[*]}" ]; then
      pg_wait_idle
      xacts=$(awk -v a="$x0" -v b="$(pg_commits)" -v n="$ok" 'BEGIN { if (n > 0) printf "%.3f", (b - a) / n; else print "-" }')
    fi
    rows[${#rows[@]} - 1]="${rows[${#rows[@]} - 1]} $xacts |"
  done
done

{
  echo "| store | nodes | run | jobs/s | jobs per node | p50 (ms) | p99 (ms) | nimbusd CPU/job (ms) | database server CPU/job (ms) | total CPU/job (ms) | failed | PostgreSQL transactions/job |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  if [ "$REPEAT" -gt 1 ]; then
    echo
    echo "| store | nodes | jobs/s, median of $REPEAT (min-max) | total CPU/job, median (ms) |"
    echo "|---|---|---|---|"
    for backend in $BACKENDS; do
      # shellcheck disable=SC2086  # word splitting of the value lists
      echo "| ${LABEL[$backend]} | $(median ${JPS[$backend]}) ($(printf '%s\n' ${JPS[$backend]} | sort -g | head -1)-$(printf '%s\n' ${JPS[$backend]} | sort -g | tail -1)) | $(median ${CPU[$backend]}) |"
    done
  fi
  echo
  echo "$CONNECTIONS connections in total, ${DURATION} s per run; $(nproc) CPUs ($(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)), $(uname -sr); load average at the start: $LOADAVG_START, at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee ${RESULTS_OUT:+"$RESULTS_OUT"}
exit $status
