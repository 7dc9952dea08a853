#!/usr/bin/env bash
# run-cross-node.sh: notification latency across nodes (issue 10): N
# simulated printers parked over IPP INFRA (docs/PROTOCOL.md §6) on two
# nimbusd sharing one PostgreSQL database, half on each, and jobs released
# through the other node than the one the printer is parked on.
#
#   1. a private PostgreSQL cluster (tests/pg/pg-cluster.sh, in the temp
#      dir: unix socket only, fsync and synchronous_commit on) and a fresh
#      database.
#   2. provision: one nimbusd on that database; bench/infra-load provision
#      makes a tenant, N queues, N printer registrations (one queue each)
#      and their claims over REST; that nimbusd stops.
#   3. two fresh nimbusd on the database (--node-id node-1 and node-2, one
#      shared state dir and spool, each on its own loopback port).
#   4. bench/infra-load run parks the printers (even-numbered on node-1,
#      odd ones on node-2: Create-Printer-Subscriptions, then
#      Get-Notifications with notify-wait), measures both nodes' memory and
#      the idle request rate and CPU of both nodes and of PostgreSQL over
#      WINDOW seconds, then SAMPLES latency samples: a job submitted to a
#      random printer's queue and released through REST on the node
#      RELEASE_VIA says (both: every other sample through the other node,
#      the rest through the printer's own, so the two are compared in one
#      run), timed from the release call to the decoded job-fetchable event
#      at that printer.  A job-fetchable at any other printer, a lost
#      sample or an early empty long-poll answer fails the run.
#   5. prints Markdown tables and the machine.
# Everything (cluster, servers, load tool) is stopped on exit and the temp
# dir removed (KEEP_WORK=1 keeps the logs and the raw JSON).
#
# Usage: bench/run-cross-node.sh             (N=10000: ~5 min)
#        N=1000 SAMPLES=200 WINDOW=0 bench/run-cross-node.sh    (~1 min)
# Environment:
#   BUILD          meson build dir (default build-release, relative to the
#                  tree); configured with --buildtype=release if missing
#   N              simulated printers in total, N/2 per node (10000)
#   SAMPLES        latency samples (1000)
#   RELEASE_VIA    both (default), other or same: through which node each
#                  probe job is released
#   WINDOW         seconds of idle traffic counted (60; 0 skips)
#   CONNECT_RATE   new printer connections per second (1000)
#   NOTIFY_WAIT    the servers' --notify-wait (60): empty long-poll answers
#                  sooner than this minus 2 s count as wrong wake-ups
#   NIMBUSD        the server binary ($BUILD/src/server/nimbusd)
#   NIMBUSD_EXTRA  extra nimbusd flags for both nodes
#   RESULTS_OUT    also write the Markdown tables to this file
#   KEEP_WORK=1    keep the temp dir (server and cluster logs, raw JSON)
#
# Exit status: 0 when every printer was held and every sample reached the
# right printer (and only it), 1 otherwise.

set -u -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-build-release}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
N=${N:-10000}
SAMPLES=${SAMPLES:-1000}
RELEASE_VIA=${RELEASE_VIA:-both}
WINDOW=${WINDOW:-60}
CONNECT_RATE=${CONNECT_RATE:-1000}
NOTIFY_WAIT=${NOTIFY_WAIT:-60}
NIMBUSD=${NIMBUSD:-$BUILD/src/server/nimbusd}
NIMBUSD_EXTRA=${NIMBUSD_EXTRA:-}
RESULTS_OUT=${RESULTS_OUT:-}
KEEP_WORK=${KEEP_WORK:-0}
PDF=$ROOT/tests/data/onepage.pdf
INFRA_LOAD=$BUILD/bench/infra-load
PG_CLUSTER=$ROOT/tests/pg/pg-cluster.sh

case "$RELEASE_VIA" in both | other | same) ;; *)
  echo "run-cross-node: RELEASE_VIA is both, other or same" >&2
  exit 2
  ;;
esac

WORK=$(mktemp -d "${TMPDIR:-/tmp}/nimbus-crossnode.XXXXXX") || exit 1
chmod 0755 "$WORK" # the cluster's owner (postgres, under root) must reach it
PG_DIR=
STORE=
ADMIN_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
declare -A SRV_PID=() SRV_URL=()
LOAD_PID=
JSON=
STATUS=0

log() { echo "run-cross-node: $*" >&2; }

# stop_server NODE: SIGTERM, then SIGKILL after 10 s.
stop_server() {
  local pid=${SRV_PID[$1]:-}
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  SRV_PID[$1]=
}

# shellcheck disable=SC2317  # called by the trap
cleanup() {
  local node
  [ -z "$LOAD_PID" ] || { kill "$LOAD_PID" 2>/dev/null; wait "$LOAD_PID" 2>/dev/null; }
  for node in "${!SRV_PID[@]}"; do stop_server "$node"; done
  [ -z "$PG_DIR" ] || "$PG_CLUSTER" stop "$PG_DIR" >/dev/null 2>&1
  if [ "$KEEP_WORK" = 1 ]; then
    log "kept $WORK (the cluster is stopped)"
  else
    rm -rf -- "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# shellcheck source=lib-bench.sh
. "$ROOT/bench/lib-bench.sh" # bench_build, bench_banner_port, bench_wait_healthz, json_num, fmt


# ---------------------------------------------------------------- build


# ---------------------------------------------------------------- database

start_database() {
  local url db
  PG_DIR=$WORK/pg
  mkdir -p "$PG_DIR"
  "$PG_CLUSTER" start "$PG_DIR" >"$WORK/pg-start.log" 2>&1 || {
    cat "$WORK/pg-start.log" >&2
    return 1
  }
  url=$("$PG_CLUSTER" url "$PG_DIR")
  db=crossnode_$$
  psql -q "$url" -c "CREATE DATABASE $db" >/dev/null || return 1
  STORE=${url/\/nimbus_test\?/\/$db?}
}

# The postmaster's pid (its children are the backends).
postmaster_pid() { head -n 1 "$PG_DIR/data/postmaster.pid" 2>/dev/null; }

# ---------------------------------------------------------------- servers

# start_server NODE [BANNERS]: nimbusd --node-id NODE on the database, a free
# loopback port and the shared state dir; waits for its BANNERS-th "listening
# on" line in the node's (appended) output (default 1: its first start);
# sets SRV_PID[NODE] and SRV_URL[NODE].
start_server() {
  local node=$1 port pid
  mkdir -p "$WORK/state"
  # shellcheck disable=SC2086  # NIMBUSD_EXTRA is a list of flags
  "$NIMBUSD" --listen 127.0.0.1 --port 0 --state-dir "$WORK/state" --node-id "$node" \
    --store "$STORE" --admin-password "$ADMIN_PASSWORD" --fast-hashing \
    --max-connections $((N + 1024)) --max-held-jobs 1000000 --notify-wait "$NOTIFY_WAIT" \
    --log-level warn $NIMBUSD_EXTRA </dev/null >>"$WORK/nimbusd-$node.out" \
    2>>"$WORK/nimbusd-$node.log" &
  pid=$!
  SRV_PID[$node]=$pid
  for _ in $(seq 1 600); do
    [ "$(grep -c "listening on" "$WORK/nimbusd-$node.out" 2>/dev/null)" -ge "${2:-1}" ] && break
    if ! kill -0 "$pid" 2>/dev/null; then
      log "nimbusd $node exited during start-up:"
      cat "$WORK/nimbusd-$node.out" "$WORK/nimbusd-$node.log" >&2
      SRV_PID[$node]=
      return 1
    fi
    sleep 0.05
  done
  port=$(bench_banner_port "$WORK/nimbusd-$node.out")
  [ -n "$port" ] || { log "nimbusd $node did not report its port"; return 1; }
  SRV_URL[$node]=http://127.0.0.1:$port
  bench_wait_healthz "${SRV_URL[$node]}" && return 0
  log "nimbusd $node did not answer /healthz"
  return 1
}

# ---------------------------------------------------------------- the run

provision() {
  local t0=$SECONDS
  log "provisioning $N printers through node-1 (PostgreSQL)"
  start_server node-1 1 || return 1
  INFRA_LOAD_ADMIN="admin@system:$ADMIN_PASSWORD" "$INFRA_LOAD" provision \
    --url "${SRV_URL[node-1]}" --count "$N" --creds "$WORK/creds.tsv" --parallel 16 ||
    { stop_server node-1; return 1; }
  stop_server node-1
  PROVISION_S=$((SECONDS - t0))
}

run_load() {
  local node
  # Fresh processes for the measurement: node-1 starts again (its second
  # banner), node-2 for the first time, after node-1 is up.
  start_server node-1 2 || return 1
  start_server node-2 1 || return 1
  sleep 1 # let start-up work (sweeps) settle
  log "$N printers over node-1 and node-2, $SAMPLES samples released via $RELEASE_VIA, window ${WINDOW}s"
  "$INFRA_LOAD" run --url "${SRV_URL[node-1]}" --url2 "${SRV_URL[node-2]}" \
    --pid "${SRV_PID[node-1]}" --pid2 "${SRV_PID[node-2]}" --db-pid "$(postmaster_pid)" \
    --release-via "$RELEASE_VIA" --creds "$WORK/creds.tsv" --count "$N" --mode persistent \
    --notify-wait "$NOTIFY_WAIT" --connect-rate "$CONNECT_RATE" --window "$WINDOW" \
    --samples "$SAMPLES" --pdf "$PDF" >"$WORK/raw.json" &
  LOAD_PID=$!
  wait "$LOAD_PID" || STATUS=1
  LOAD_PID=
  JSON=$(cat "$WORK/raw.json")
  for node in node-1 node-2; do
    if ! kill -0 "${SRV_PID[$node]}" 2>/dev/null; then
      log "nimbusd $node died during the run; its log:"
      tail -n 20 "$WORK/nimbusd-$node.log" >&2
      STATUS=1
    fi
    # The servers' warnings and errors, counted (without timestamps).
    grep -Ei 'error|warn' "$WORK/nimbusd-$node.log" | grep -v 'fast-hashing is on' |
      sed 's/^ts=[^ ]* //' | sort | uniq -c | sort -rn | head -n 5 >&2
  done
  stop_server node-1
  stop_server node-2
}

# ---------------------------------------------------------------- report

machine_info() {
  echo "- CPU: $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), $(nproc) CPUs online"
  echo "- Memory: $(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
  echo "- Kernel: $(uname -sr)"
  local bindir
  bindir=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin 2>/dev/null | sort -V | tail -n 1)
  echo "- PostgreSQL: $("$bindir/postgres" --version 2>/dev/null || echo '?') (cluster made by tests/pg/pg-cluster.sh: fsync and synchronous_commit on, otherwise initdb's defaults)"
  echo "- ulimit -n: $(ulimit -n)"
  echo "- Load average at start: $LOADAVG_START, at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
}

# lrow LABEL SUFFIX FORMAT: one latency row, the other node's samples
# (x...) and the printer's own node's (s...).
lrow() {
  local line="| $1 |" k v
  for k in "x$2" "s$2"; do
    v=$(json_num "$JSON" "$k")
    [ "$(json_num "$JSON" "${k:0:1}lat_n")" = 0 ] && v=
    line+=" $(fmt "$v" "$3") |"
  done
  echo "$line"
}
# vrow LABEL KEY FORMAT [DIVISOR]: one value row.
vrow() {
  local v
  v=$(json_num "$JSON" "$2")
  if [ -n "$v" ] && [ "${4:-1}" != 1 ]; then v=$(awk -v a="$v" -v d="$4" 'BEGIN { if (a < 0) print -1; else print a / d }'); fi
  echo "| $1 | $(fmt "$v" "$3") |"
}

report() {
  cat <<EOF
### Cross-node notification results

$N simulated printers: $((N - N / 2)) parked on node-1, $((N / 2)) on node-2.
Two nimbusd on one PostgreSQL database. One connection and one queue per
printer, persistent long-polls. Probe jobs released via: $RELEASE_VIA.
Idle window ${WINDOW} s; connections opened at ${CONNECT_RATE}/s;
provisioning took ${PROVISION_S:-?} s.

| release-to-notification | through the other node | through the printer's own node |
|---|---:|---:|
EOF
  lrow "latency samples (arrived)" lat_n "%d"
  lrow "**p50 (ms)**" lat_p50 "%.2f"
  lrow "p90 (ms)" lat_p90 "%.2f"
  lrow "**p99 (ms)**" lat_p99 "%.2f"
  lrow "max (ms)" lat_max "%.2f"
  lrow "release call alone, p50 (ms)" release_p50 "%.2f"
  lrow "release call alone, p99 (ms)" release_p99 "%.2f"
  echo
  echo "| both nodes together | value |"
  echo "|---|---:|"
  vrow "printers subscribed" subscribed "%d"
  vrow "printers with a Get-Notifications outstanding after the ramp" held "%d"
  vrow "time to connect and subscribe all (s)" ramp_s "%.1f"
  vrow "nimbusd RSS before any printer, both nodes (MiB)" rss0_kib "%.1f" 1024
  vrow "nimbusd RSS with all printers, both nodes (MiB)" rss1_kib "%.1f" 1024
  vrow "memory per idle printer (KiB)" per_printer_kib "%.2f"
  vrow "nimbusd threads, both nodes" threads1 "%d"
  vrow "nimbusd open fds, both nodes" fds1 "%d"
  vrow "requests per printer per hour (sent)" req_per_printer_hour_client "%.1f"
  vrow "requests per printer per hour (nimbusd /metrics)" req_per_printer_hour_server "%.1f"
  vrow "nimbusd CPU while idle, both nodes (% of one CPU)" server_cpu_pct_window "%.2f"
  vrow "PostgreSQL CPU while idle (% of one CPU)" db_cpu_pct_window "%.2f"
  vrow "samples lost (timeouts)" timeouts "%d"
  vrow "probe errors (submit or release failed)" probe_errors "%d"
  vrow "events at the wrong printer" misdelivered "%d"
  vrow "empty long-poll answers before notify-wait" empty_early "%d"
  vrow "transport errors" transport_errors "%d"
  vrow "HTTP errors" http_errors "%d"
  vrow "IPP errors" ipp_errors "%d"
  vrow "load tool peak RSS (MiB)" client_maxrss_kib "%.1f" 1024
  vrow "load tool CPU over the run (s)" client_cpu_s "%.1f"
  vrow "run length (s)" elapsed_s "%.0f"
  echo
  echo "Raw: \`$JSON\`"
  echo
  echo "Machine:"
  echo
  machine_info
}

# ------------------------------------------------------------------ main

main() {
  local hard
  LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg)
  hard=$(ulimit -Hn)
  if [ "$hard" != unlimited ] && [ "$hard" -lt $((N + 1100)) ]; then
    log "ulimit -Hn is $hard: $N printers need at least $((N + 1100)) descriptors in the load tool"
    exit 1
  fi
  ulimit -n "$hard" || exit 1
  bench_build bench/infra-load src/server/nimbusd || exit 1
  start_database || exit 1
  provision || exit 1
  run_load || STATUS=1
  [ -n "$JSON" ] || exit 1
  report | tee ${RESULTS_OUT:+"$RESULTS_OUT"}
  [ "$KEEP_WORK" = 1 ] && log "raw JSON: $WORK/raw.json"
  return $STATUS
}

main "$@"
exit $?
