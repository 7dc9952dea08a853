#!/usr/bin/env bash
# run-infra.sh: the device channel benchmark (issue 3): N simulated printers
# connected to one nimbusd over IPP INFRA (docs/PROTOCOL.md §6).
#
#   1. provision (once; kept in STATE_DIR): a tenant, N queues, N printer
#      registrations (one queue each, so every printer is told apart) and
#      their claims; the device credentials go to STATE_DIR/creds.tsv.
#   2. for each mode in MODES, on a fresh nimbusd over the same state:
#      bench/infra-load run connects the N printers (each: its own
#      connection, Create-Printer-Subscriptions, then Get-Notifications),
#      and measures nimbusd's RSS before and with all N connected (memory
#      per idle printer), the requests per printer per hour over WINDOW
#      seconds (counted by the client and from /metrics), and, in
#      persistent mode, the notification latency of SAMPLES jobs released
#      on random printers' queues (p50/p99/max), checking that only the
#      right printer is woken.
#   3. prints a Markdown table and the machine.
#
# Usage: bench/run-infra.sh                 (N=10000: ~8 min, ~30 s more the
#        N=1000 bench/run-infra.sh           first time for provisioning)
#        nice -n 19 env N=100000 MODES=persistent bench/run-infra.sh
#                                            (as root: it raises the fd limit;
#                                            provisioning ~2.5 min once)
#
# Large N: each process needs a descriptor per printer (N + 256); the
# script raises the hard limit as far as /proc/sys/fs/nr_open allows when
# it is lower (root with CAP_SYS_RESOURCE only) and fails, saying why, if
# it cannot.  MODES=none only provisions (that needs no raised limit).  One client address can
# open only ~28,000 connections to one server port (ip_local_port_range),
# so infra-load spreads the printers over 127.0.0.1, 127.0.0.2, ... (one per
# 20,000; nimbusd listens on 127.0.0.1, which they all reach).
# Environment:
#   BUILD          meson build dir (default build-release, relative to the
#                  tree); configured with --buildtype=release if missing
#   N              simulated printers (10000)
#   MODES          "persistent polling" (either or both), or none: only
#                  provision STATE_DIR
#   POLL_INTERVAL  polling mode: seconds between Get-Notifications (30)
#   WINDOW         seconds of idle traffic counted per mode (120; a multiple
#                  of the server's notify-wait, 60 s, counts whole cycles)
#   SAMPLES        latency samples in persistent mode (500)
#   POLL_SAMPLES   latency samples in polling mode (0; each waits up to
#                  POLL_INTERVAL)
#   CONNECT_RATE   new printer connections per second (1000)
#   SOURCE_ADDRESSES  loopback source addresses infra-load connects from
#                  (default: one per 20,000 printers)
#   NOTIFY_WAIT    the server's notify-wait in seconds (60, its default):
#                  empty long-poll answers sooner than this minus 2 s count
#                  as wrong wake-ups
#   STATE_DIR      kept server state + creds.tsv (/tmp/nimbus-infra-$N);
#                  re-runs reuse it, FRESH=1 provisions again
#   NIMBUSD        the server binary ($BUILD/src/server/nimbusd)
#   NIMBUSD_EXTRA  extra nimbusd flags (e.g. "--threads 2")
#   RESULTS_OUT    also write the Markdown table to this file
#   KEEP_WORK=1    keep the temp dir (server logs, raw JSON)
#
# Exit status: 0 when every printer was held and every sample reached the
# right printer (and only it), 1 otherwise.

set -u -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-build-release}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
N=${N:-10000}
MODES=${MODES:-persistent polling}
POLL_INTERVAL=${POLL_INTERVAL:-30}
WINDOW=${WINDOW:-120}
SAMPLES=${SAMPLES:-500}
POLL_SAMPLES=${POLL_SAMPLES:-0}
CONNECT_RATE=${CONNECT_RATE:-1000}
NOTIFY_WAIT=${NOTIFY_WAIT:-60}
STATE_DIR=${STATE_DIR:-/tmp/nimbus-infra-$N}
FRESH=${FRESH:-0}
NIMBUSD=${NIMBUSD:-$BUILD/src/server/nimbusd}
NIMBUSD_EXTRA=${NIMBUSD_EXTRA:-}
RESULTS_OUT=${RESULTS_OUT:-}
KEEP_WORK=${KEEP_WORK:-0}
PDF=$ROOT/tests/data/onepage.pdf
INFRA_LOAD=$BUILD/bench/infra-load

WORK=$(mktemp -d "${TMPDIR:-/tmp}/nimbus-infra.XXXXXX") || exit 1
SRV_PID=
SRV_URL=
STATUS=0

log() { echo "run-infra: $*" >&2; }

stop_server() {
    if [ -n "$SRV_PID" ]; then
        kill -TERM "$SRV_PID" 2>/dev/null
        for _ in $(seq 1 100); do kill -0 "$SRV_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$SRV_PID" 2>/dev/null
        wait "$SRV_PID" 2>/dev/null
        SRV_PID=
    fi
}

# shellcheck disable=SC2317  # called by the trap
cleanup() {
    stop_server
    if [ "$KEEP_WORK" = 1 ]; then
        log "kept $WORK"
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


# ---------------------------------------------------------------- server

# nimbusd's limits for this run.  libmicrohttpd divides --max-connections
# among its event threads (each thread refuses past its share), and they
# do not accept evenly: 4 N + 1024 lets one thread take every printer
# (nimbusd's own cap is 1,000,000).  --max-held-jobs: the prober's jobs.
# No per-tenant cap on queues, printers or subscriptions exists
# (src/server/daemon/nimbusd-options.c; notify.c's 16 subscriptions are
# per device), so N = 100,000 needs no further flag.
max_connections() {
    local m=$(( 4 * N + 1024 ))
    [ "$m" -gt 1000000 ] && m=1000000
    echo "$m"
}

# start_server TAG: nimbusd on a free loopback port over $STATE_DIR/state;
# sets SRV_PID and SRV_URL.  It inherits this shell's descriptor limit
# (raise_fd_limit) and raises its soft limit to the hard one itself.
start_server() {
    local tag=$1 port fds
    mkdir -p "$STATE_DIR/state"
    # shellcheck disable=SC2086
    "$NIMBUSD" --listen 127.0.0.1 --port 0 --state-dir "$STATE_DIR/state" \
        --admin-password "$ADMIN_PASSWORD" --fast-hashing \
        --max-connections "$(max_connections)" --max-held-jobs 1000000 --log-level warn \
        $NIMBUSD_EXTRA </dev/null >"$WORK/nimbusd-$tag.out" 2>"$WORK/nimbusd-$tag.log" &
    SRV_PID=$!
    for _ in $(seq 1 600); do
        grep -q "listening on" "$WORK/nimbusd-$tag.out" 2>/dev/null && break
        if ! kill -0 "$SRV_PID" 2>/dev/null; then
            log "nimbusd exited during start-up:"
            cat "$WORK/nimbusd-$tag.out" "$WORK/nimbusd-$tag.log" >&2
            SRV_PID=
            return 1
        fi
        sleep 0.05
    done
    port=$(bench_banner_port "$WORK/nimbusd-$tag.out")
    [ -n "$port" ] || { log "nimbusd did not report its port"; return 1; }
    SRV_URL=http://127.0.0.1:$port
    fds=$(awk '/^Max open files/ {print $4}' "/proc/$SRV_PID/limits" 2>/dev/null)
    # (provisioning holds 16 connections at most)
    if [ "$tag" != provision ] && [ -n "$fds" ] && [ "$fds" != unlimited ] &&
       [ "$fds" -lt "$(fd_need)" ]; then
        log "nimbusd may open only $fds files: too few for $N printers"
        return 1
    fi
    bench_wait_healthz "$SRV_URL" && return 0
    log "nimbusd did not answer /healthz"
    return 1
}

# ---------------------------------------------------------------- provisioning

creds_ok() {
    local f=$STATE_DIR/creds.tsv
    [ -f "$f" ] && [ -f "$STATE_DIR/admin-password" ] &&
        [ "$(( $(wc -l <"$f") - 1 ))" -ge "$N" ]
}

provision() {
    if [ "$FRESH" != 1 ] && creds_ok; then
        log "reusing $STATE_DIR (FRESH=1 provisions again)"
        ADMIN_PASSWORD=$(cat "$STATE_DIR/admin-password")
        return 0
    fi
    log "provisioning $N printers into $STATE_DIR"
    rm -rf -- "$STATE_DIR"
    mkdir -p "$STATE_DIR" && chmod 0700 "$STATE_DIR"
    ADMIN_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
    printf '%s\n' "$ADMIN_PASSWORD" >"$STATE_DIR/admin-password"
    start_server provision || return 1
    INFRA_LOAD_ADMIN="admin@system:$ADMIN_PASSWORD" "$INFRA_LOAD" provision --url "$SRV_URL" \
        --count "$N" --creds "$STATE_DIR/creds.tsv" --parallel 16 || { stop_server; return 1; }
    stop_server
}

# ---------------------------------------------------------------- the runs

declare -A R=()

run_mode() {
    local mode=$1 json samples=$SAMPLES timeout=10 token code
    [ "$mode" = polling ] && { samples=$POLL_SAMPLES; timeout=$(( POLL_INTERVAL + 10 )); }
    start_server "$mode" || return 1
    token=$(sed -n '1s/.* token=//p' "$STATE_DIR/creds.tsv")
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$SRV_URL/api/v1/whoami")
    if [ "$code" != 200 ]; then
        log "the saved credentials do not work on this state (HTTP $code): run with FRESH=1"
        stop_server
        return 1
    fi
    sleep 1                      # let start-up work (sweeps, checkpoints) settle
    log "$mode: $N printers${samples:+, $samples latency samples}, window ${WINDOW}s"
    json=$("$INFRA_LOAD" run --url "$SRV_URL" --creds "$STATE_DIR/creds.tsv" --count "$N" \
           --pid "$SRV_PID" --mode "$mode" --interval "$POLL_INTERVAL" --notify-wait "$NOTIFY_WAIT" \
           --connect-rate "$CONNECT_RATE" --window "$WINDOW" --samples "$samples" \
           --probe-timeout "$timeout" --pdf "$PDF" \
           ${SOURCE_ADDRESSES:+--source-addresses "$SOURCE_ADDRESSES"})
    # shellcheck disable=SC2181  # the status of the command substitution
    [ $? = 0 ] || STATUS=1
    echo "$mode $json" >>"$WORK/raw.jsonl"
    R[$mode]=$json
    if ! kill -0 "$SRV_PID" 2>/dev/null; then
        log "nimbusd died during the $mode run; its log:"
        tail -n 20 "$WORK/nimbusd-$mode.log" >&2
        STATUS=1
    fi
    grep -Ei 'error|warn' "$WORK/nimbusd-$mode.log" | sort | uniq -c | sort -rn | head -n 5 >&2
    stop_server
}

# ---------------------------------------------------------------- report

machine_info() {
    echo "- CPU: $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), $(nproc) CPUs online"
    echo "- Memory: $(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
    echo "- Kernel: $(uname -sr)"
    echo "- libmicrohttpd $(pkg-config --modversion libmicrohttpd 2>/dev/null || echo '?'), libcups $(cups-config --version 2>/dev/null || echo '?')"
    echo "- ulimit -n: $(ulimit -n) (hard $(ulimit -Hn))"
    echo "- Load average at start: $LOADAVG_START"
    echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
}

# row LABEL KEY FORMAT [DIVISOR]: one table row, one column per mode
# (latency figures are n/a for a mode without samples).
row() {
    local key=$2 f=$3 div=${4:-1} m v line="| $1 |"
    for m in $MODES; do
        v=$(json_num "${R[$m]:-}" "$key")
        case "$key" in
            lat_[pm]*|release_*) [ "$(json_num "${R[$m]:-}" lat_n)" = 0 ] && v= ;;
        esac
        if [ -n "$v" ] && [ "$div" != 1 ]; then v=$(awk -v a="$v" -v d="$div" 'BEGIN { if (a < 0) print -1; else print a / d }'); fi
        line+=" $(fmt "$v" "$f") |"
    done
    echo "$line"
}

report() {
    local m head="| metric |" sep="|---|"
    for m in $MODES; do
        if [ "$m" = polling ]; then head+=" polling (every ${POLL_INTERVAL} s) |"; else head+=" persistent (notify-wait) |"; fi
        sep+="---:|"
    done
    cat <<EOF
### Device channel benchmark results

$N simulated printers, one connection each, one queue each; nimbusd with
default threads, --max-connections $(max_connections); window ${WINDOW} s;
connections opened at ${CONNECT_RATE}/s.

$head
$sep
EOF
    row "printers subscribed" subscribed "%d"
    row "printers with a request outstanding at the end of the ramp" held "%d"
    row "time to connect and subscribe all (s)" ramp_s "%.1f"
    row "client source addresses (127.0.0.1 onwards)" source_addresses "%d"
    row "nimbusd RSS before any printer (MiB)" rss0_kib "%.1f" 1024
    row "nimbusd RSS with all printers connected (MiB)" rss1_kib "%.1f" 1024
    row "memory per idle printer right after the ramp (KiB)" per_printer_kib "%.2f"
    row "nimbusd RSS at the end of the idle window (MiB)" rssw_kib "%.1f" 1024
    row "**memory per idle printer, steady (end of the idle window) (KiB)**" per_printer_steady_kib "%.2f"
    row "nimbusd threads with printers" threads1 "%d"
    row "nimbusd open fds with printers" fds1 "%d"
    row "**requests per printer per hour** (sent)" req_per_printer_hour_client "%.1f"
    row "requests per printer per hour (nimbusd /metrics)" req_per_printer_hour_server "%.1f"
    row "nimbusd CPU while idle (% of one CPU)" server_cpu_pct_window "%.2f"
    row "latency samples (arrived)" lat_n "%d"
    row "**notification latency p50 (ms)**" lat_p50 "%.2f"
    row "notification latency p90 (ms)" lat_p90 "%.2f"
    row "**notification latency p99 (ms)**" lat_p99 "%.2f"
    row "notification latency max (ms)" lat_max "%.2f"
    row "release call alone, p50 (ms)" release_p50 "%.2f"
    row "samples lost (timeouts + probe errors)" timeouts "%d"
    row "events at the wrong printer" misdelivered "%d"
    row "empty long-poll answers before notify-wait" empty_early "%d"
    row "transport errors" transport_errors "%d"
    row "HTTP errors (503: nimbusd's worker queue was full; retried)" http_errors "%d"
    row "IPP errors" ipp_errors "%d"
    row "load tool RSS with all printers connected (MiB)" client_rss1_kib "%.1f" 1024
    row "load tool peak RSS (MiB)" client_maxrss_kib "%.1f" 1024
    row "load tool CPU over the run (s)" client_cpu_s "%.1f"
    row "run length (s)" elapsed_s "%.0f"
    echo
    echo "Raw:"
    echo
    for m in $MODES; do echo "- $m: \`${R[$m]:-not run}\`"; done
    echo
    echo "Machine:"
    echo
    machine_info
}

# ------------------------------------------------------------------ main

# fd_need: descriptors nimbusd and infra-load each need: one per printer,
# plus their own (nimbusd ~40 idle: database, spool, event threads;
# infra-load: epoll, libcurl); infra-load asks for the same N + 256.
fd_need() { echo $(( N + 256 )); }

# raise_fd_limit: both processes inherit this shell's limits.  A hard
# limit below fd_need is raised (root with CAP_SYS_RESOURCE; up to 1048576
# or /proc/sys/fs/nr_open, whichever is lower), then the soft one to the
# hard one.  Exits, saying why, when it cannot.
raise_fd_limit() {
    local need hard nr_open want caps
    need=$(fd_need)
    hard=$(ulimit -Hn)
    if [ "$hard" != unlimited ] && [ "$hard" -lt "$need" ]; then
        nr_open=$(cat /proc/sys/fs/nr_open 2>/dev/null || echo 1048576)
        want=1048576
        [ "$nr_open" -lt "$want" ] && want=$nr_open
        if [ "$want" -lt "$need" ]; then
            log "$N printers need $need descriptors per process, but /proc/sys/fs/nr_open" \
                "caps a process at $nr_open (raise it: sysctl -w fs.nr_open=$need)"
            exit 1
        fi
        if ! ulimit -Hn "$want" 2>/dev/null; then
            log "$N printers need $need descriptors per process (nimbusd and infra-load" \
                "each), but ulimit -Hn is $hard and cannot be raised"
            caps=$(awk '/^CapEff:/ {print $2}' /proc/self/status 2>/dev/null)
            if [ "$(id -u)" != 0 ]; then
                log "only root can raise it (or raise it in limits.conf)"
            elif [ -n "$caps" ] && [ $(( 0x$caps >> 24 & 1 )) = 0 ]; then
                log "root here lacks CAP_SYS_RESOURCE (CapEff $caps: a container started" \
                    "without it), so no process on it can go above $hard: one nimbusd holds" \
                    "at most N=$(( hard - 256 )) printers here; start the container with a" \
                    "higher nofile ulimit (docker run --ulimit nofile=1048576:1048576) or" \
                    "with --cap-add SYS_RESOURCE"
            fi
            exit 1
        fi
        log "raised ulimit -Hn from $hard to $want"
    fi
    ulimit -n "$(ulimit -Hn)" || exit 1
}

# check_kernel_limits: system-wide limits a large N runs into (warnings:
# the run shows what they cost).  Each connection is two sockets (client
# and server) and, with connection tracking loaded, one conntrack entry.
check_kernel_limits() {
    local max cnt
    if [ -r /proc/sys/fs/file-max ] && [ -r /proc/sys/fs/file-nr ]; then
        max=$(cat /proc/sys/fs/file-max)
        cnt=$(cut -f1 /proc/sys/fs/file-nr)
        [ $(( max - cnt )) -lt $(( 2 * N + 2000 )) ] &&
            log "warning: fs.file-max $max leaves $(( max - cnt )) open files for 2 x $N sockets"
    fi
    if [ -r /proc/sys/net/netfilter/nf_conntrack_max ] &&
       [ -r /proc/sys/net/netfilter/nf_conntrack_count ]; then
        max=$(cat /proc/sys/net/netfilter/nf_conntrack_max)
        cnt=$(cat /proc/sys/net/netfilter/nf_conntrack_count)
        [ $(( max - cnt )) -lt $(( N + 2000 )) ] &&
            log "warning: nf_conntrack_max $max, $cnt in use: new connections beyond it are" \
                "dropped (sysctl -w net.netfilter.nf_conntrack_max=$(( cnt + 2 * N )))"
    fi
    return 0
}

main() {
    local m
    LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg)
    if [ "$MODES" = none ]; then
        bench_build bench/infra-load src/server/nimbusd || exit 1
        provision || exit 1
        log "provisioned $STATE_DIR (MODES=none: no run)"
        return 0
    fi
    raise_fd_limit
    check_kernel_limits
    bench_build bench/infra-load src/server/nimbusd || exit 1
    provision || exit 1
    for m in $MODES; do
        case "$m" in
            persistent|polling) run_mode "$m" || STATUS=1 ;;
            *) log "unknown mode $m"; STATUS=1 ;;
        esac
    done
    report | tee ${RESULTS_OUT:+"$RESULTS_OUT"}
    [ "$KEEP_WORK" = 1 ] && log "raw JSON: $WORK/raw.jsonl"
    return $STATUS
}

main "$@"
exit $?
