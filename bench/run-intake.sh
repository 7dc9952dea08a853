#!/usr/bin/env bash
# shellcheck disable=SC2317  # drivers are called indirectly (${s}_drv_start)
# run-intake.sh: the intake benchmark, cupsd 2.4 against nimbusd.
#
# For each server, on a fresh instance per phase and on loopback only:
#   1. intake, once per queue depth D in DEPTHS: the fresh server is first
#      filled with D held jobs (the same Print-Job with the same document,
#      sent by intake-load --jobs D on CONNECTIONS connections; not
#      measured), then CONNECTIONS parallel connections send Print-Job with
#      a ~30 KB one-page PDF for DURATION seconds (jobs are held, never
#      printed); jobs/s, latency p50/p99, server peak RSS and server CPU per
#      job, counted from the end of the fill.  The run itself adds its own
#      jobs on top of D (about jobs/s x DURATION).
#   2. big: one BIG_SIZE (500 MiB) PDF in one Print-Job; upload time and the
#      server's peak RSS during the upload.
# Then prints a Markdown table per depth with both servers, the
# nimbusd/cupsd ratio and the machine.  Everything runs under one temp dir,
# removed on exit, together with every process the script started.
#
# Usage: bench/run-intake.sh            (from anywhere; with the default
#        depths ~8 minutes, most of it filling 100,000 jobs into each
#        server; DEPTHS=0 takes ~1-2 minutes as before)
# Environment:
#   BUILD         meson build dir (default build-release, relative to the
#                 tree); configured with --buildtype=release if missing
#   DURATION      seconds per intake run (20)      CONNECTIONS  (16)
#   DEPTHS        held jobs in the server before each intake run
#                 ("0 10000 100000"); one table per depth
#   FILL_SETTLE   seconds to wait between the fill (flushed to disk with
#                 sync -f) and the measured run (2)
#   REPEAT        intake runs per server and depth, each on a fresh server
#                 (filled again); the tables show medians (1)
#   BIG_SIZE      size of the big document, k/M/G suffixes (500M); 0 skips
#   SMALL_PDF     intake document (tests/data/onepage-30k.pdf, generated
#                 under the temp dir if absent); the fill sends it too
#   SERVERS       which servers to run ("cupsd nimbusd")
#   RESULTS_OUT   also write the Markdown tables to this file
#   KEEP_WORK=1   keep the temp dir (logs, raw JSON) for inspection
# nimbusd (see bench_nimbusd below): NIMBUSD, NIMBUSD_ARGS, NIMBUS_BENCH_URI,
#   NIMBUS_BENCH_USER, NIMBUS_BENCH_PASSWORD, NIMBUS_BENCH_EXTERNAL,
#   NIMBUS_BENCH_PID, NIMBUS_BENCH_LOAD_ARGS.  With NIMBUS_BENCH_EXTERNAL=1
#   the fill adds D jobs to whatever the server already holds.
#
# Exit status: 0 when every phase ran without failed jobs, 1 otherwise.

set -u -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-build-release}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
DURATION=${DURATION:-20}
CONNECTIONS=${CONNECTIONS:-16}
REPEAT=${REPEAT:-1}
DEPTHS=${DEPTHS:-0 10000 100000}
FILL_SETTLE=${FILL_SETTLE:-2}
BIG_SIZE=${BIG_SIZE:-500M}
SMALL_PDF=${SMALL_PDF:-$ROOT/tests/data/onepage-30k.pdf}
SERVERS=${SERVERS:-cupsd nimbusd}
RESULTS_OUT=${RESULTS_OUT:-}
KEEP_WORK=${KEEP_WORK:-0}

NIMBUSD=${NIMBUSD:-$BUILD/src/server/nimbusd}
# @DIR@ is replaced per instance, and @PORT@ (if present) by a free port
# picked beforehand.  The default lets nimbusd pick its port (--port 0, read
# from its banner): a port picked beforehand can be taken by another
# program in between.
# --max-held-jobs: nimbusd holds at most 100 jobs per user by default and
# the benchmark stores tens of thousands for one user (cupsd: MaxJobs 0).
NIMBUSD_ARGS=${NIMBUSD_ARGS:---listen 127.0.0.1 --port 0 --state-dir @DIR@ --demo --max-held-jobs 1000000 --log-level warn}

# shellcheck source=../tests/integration/lib-cupsd.sh
. "$ROOT/tests/integration/lib-cupsd.sh"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/nimbus-intake.XXXXXX") || exit 1
chmod 0755 "$WORK"              # cupsd's lp user must reach its spool
SRV_PID=                        # server under test (nimbusd) when we started it
STATUS=0

cleanup() {
    if [ -n "$SRV_PID" ]; then
        kill -TERM "$SRV_PID" 2>/dev/null
        for _ in $(seq 1 50); do kill -0 "$SRV_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$SRV_PID" 2>/dev/null
        wait "$SRV_PID" 2>/dev/null
        SRV_PID=
    fi
    cupsd_stop_all
    if [ "$KEEP_WORK" = 1 ]; then
        echo "run-intake: kept $WORK" >&2
    else
        rm -rf -- "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log() { echo "run-intake: $*" >&2; }

# ---------------------------------------------------------------- helpers

# json_num JSON KEY: the number after "KEY": in a one-line JSON object.
json_num() {
    printf '%s\n' "$1" | grep -o "\"$2\":[-0-9.e+]*" | head -n 1 | cut -d: -f2
}

# ratio A B: A/B with two decimals, n/a if either is missing or B is 0.
ratio() {
    case "$1$2" in *n/a*|*-*) echo n/a; return ;; esac
    if [ -z "$1" ] || [ -z "$2" ]; then echo n/a; return; fi
    awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'
}

# median V...: median of the numeric arguments (empty if none).
median() {
    [ $# -gt 0 ] || return 0
    printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {
        if (NR % 2) printf "%s", v[(NR + 1) / 2];
        else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# proc_kib PID FIELD: VmHWM/VmRSS of PID in KiB.
proc_kib() {
    awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status" 2>/dev/null
}

# proc_cpu_ticks PID: utime+stime of PID (all threads) in clock ticks.
proc_cpu_ticks() {
    sed -e 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $12 + $13}'
}
CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)
NL=$'\n'

# wait_http PORT PID TIMEOUT: until anything answers HTTP on PORT.
wait_http() {
    local code
    for _ in $(seq 1 $(( $3 * 10 ))); do
        kill -0 "$2" 2>/dev/null || return 1
        code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$1/" 2>/dev/null)
        if [ -n "$code" ] && [ "$code" != 000 ]; then return 0; fi
        sleep 0.1
    done
    return 1
}

# --------------------------------------------------------------- building

INTAKE_LOAD=${INTAKE_LOAD:-}
GEN_BIG_PDF=${GEN_BIG_PDF:-}

# build_tools: intake-load and gen-big-pdf from $BUILD (configuring and
# building the tree as needed); when the tree does not build yet, compile
# the two tools alone into the temp dir.
build_tools() {
    if [ -n "$INTAKE_LOAD" ] && [ -n "$GEN_BIG_PDF" ]; then return 0; fi
    if [ ! -f "$BUILD/build.ninja" ]; then
        local fresh=0
        [ -e "$BUILD" ] || fresh=1
        log "configuring $BUILD (release)"
        if ! meson setup "$BUILD" "$ROOT" --buildtype=release >"$WORK/meson-setup.log" 2>&1; then
            log "meson setup failed ($(grep -m 1 -i error "$WORK/meson-setup.log")); building the bench tools alone"
            [ "$fresh" = 1 ] && rm -rf -- "$BUILD"   # leave no half-configured dir
        fi
    fi
    if [ -f "$BUILD/build.ninja" ]; then
        # The whole tree, so that nimbusd is fresh too; then just ours.
        ninja -C "$BUILD" >"$WORK/ninja.log" 2>&1 ||
            ninja -C "$BUILD" bench/intake-load bench/gen-big-pdf >>"$WORK/ninja.log" 2>&1 ||
            log "ninja failed; building the bench tools alone"
        if [ -x "$BUILD/bench/intake-load" ] && [ -x "$BUILD/bench/gen-big-pdf" ]; then
            INTAKE_LOAD=$BUILD/bench/intake-load
            GEN_BIG_PDF=$BUILD/bench/gen-big-pdf
            return 0
        fi
    fi
    mkdir -p "$WORK/bin"
    # shellcheck disable=SC2046
    if ! cc -std=c11 -O2 -Wall -Wextra -o "$WORK/bin/intake-load" "$ROOT/bench/intake-load.c" \
            $(cups-config --cflags) $(cups-config --libs) -pthread ||
       ! cc -std=c11 -O2 -Wall -Wextra -o "$WORK/bin/gen-big-pdf" "$ROOT/bench/gen-big-pdf.c"; then
        log "cannot build the bench tools"
        return 1
    fi
    INTAKE_LOAD=$WORK/bin/intake-load
    GEN_BIG_PDF=$WORK/bin/gen-big-pdf
}

# ---------------------------------------------------- server drivers
#
# A driver is three functions, NAME_start / NAME_stop / NAME_check.
# NAME_start PHASE must set SRV_URI (printer URI for Print-Job), SRV_USER,
# SRV_PASSWORD (may be empty) and SRV_RSS_PID (process whose RSS and CPU
# are measured; empty = not measured).  NAME_check N verifies after an
# intake run that N accepted jobs are stored and not printed, and prints a
# one-line note.

cupsd_drv_start() {
    cupsd_start "$WORK/cupsd-$1" auto || return 1
    cupsd_add_held_queue bench || return 1
    SRV_URI=$CUPSD_URI/printers/bench
    SRV_USER=bench
    SRV_PASSWORD=
    SRV_RSS_PID=$CUPSD_PID
}

cupsd_drv_check() {
    local want=$1 states held other children
    states=$(cupsd_job_states not-completed)
    held=$(printf '%s\n' "$states" | awk '$2 == "pending-held" {print $1}')
    other=$(printf '%s\n' "$states" | awk '$2 != "pending-held" {n += $1} END {print n + 0}')
    children=$(pgrep -c -P "$CUPSD_PID" 2>/dev/null || true)
    echo "cupsd: ${held:-0} jobs pending-held, $other in other states, ${children:-0} filter/backend processes (expected $want held)"
    [ "${held:-0}" = "$want" ] && [ "$other" = 0 ] && [ "${children:-0}" = 0 ]
}

cupsd_drv_stop() {
    # Purge first so the spool is emptied by cupsd itself, then remove it.
    cupsd_purge_jobs "" >/dev/null 2>&1
    cupsd_stop
}

# bench_nimbusd: the nimbusd driver.  THE LEAD PLUGS NIMBUSD IN HERE.
#
# Default: start $NIMBUSD $NIMBUSD_ARGS (with @PORT@/@DIR@ replaced) on a
# free loopback port with a fresh state dir, wait until it answers HTTP,
# then take the printer URI, user and password from
#   NIMBUS_BENCH_URI       (may contain @PORT@), else the "demo queue:" line
#                           of nimbusd's banner
#   NIMBUS_BENCH_USER / NIMBUS_BENCH_PASSWORD, else the "demo user: NAME /
#                           PASSWORD" banner line (nimbusd_parse_credentials)
# NIMBUS_BENCH_EXTERNAL=1: do not start anything; benchmark the server at
#   NIMBUS_BENCH_URI as is, measuring RSS/CPU of NIMBUS_BENCH_PID if given
#   (its VmHWM then covers the server's whole life, not just this run).
# NIMBUS_BENCH_LOAD_ARGS: extra intake-load flags (e.g. --preemptive-auth).
nimbusd_parse_credentials() {
    local out=$1 line
    NB_URI='' NB_USER='' NB_PASSWORD=''
    # Current banner: "  demo queue: ipp://127.0.0.1:PORT/ipp/print/demo/office"
    #                 "  demo user:  alice / alice-demo-pass   demo admin: ..."
    NB_URI=$(sed -nE 's/^[[:space:]]*demo queue:[[:space:]]*([^[:space:]]+).*/\1/p' "$out" | head -n 1)
    line=$(sed -nE 's/^[[:space:]]*demo user:[[:space:]]*([^[:space:]]+)[[:space:]]*\/[[:space:]]*([^[:space:]]+).*/\1 \2/p' "$out" | head -n 1)
    if [ -n "$line" ]; then
        NB_USER=${line%% *}
        NB_PASSWORD=${line#* }
        return 0
    fi
    # Fallback: "user: NAME" / "password: SECRET" lines.
    NB_USER=$(grep -ioE '(user(name)?|login)[[:space:]]*[:=][[:space:]]*[^[:space:],;]+' "$out" |
              head -n 1 | sed -E 's/^[^:=]*[:=][[:space:]]*//')
    NB_PASSWORD=$(grep -ioE 'pass(word)?[[:space:]]*[:=][[:space:]]*[^[:space:],;]+' "$out" |
                  head -n 1 | sed -E 's/^[^:=]*[:=][[:space:]]*//')
}

nimbusd_drv_start() {
    local phase=$1 port dir args
    if [ "${NIMBUS_BENCH_EXTERNAL:-0}" = 1 ]; then
        SRV_URI=${NIMBUS_BENCH_URI:?NIMBUS_BENCH_EXTERNAL=1 needs NIMBUS_BENCH_URI}
        SRV_USER=${NIMBUS_BENCH_USER:-}
        SRV_PASSWORD=${NIMBUS_BENCH_PASSWORD:-}
        SRV_RSS_PID=${NIMBUS_BENCH_PID:-}
        # Jobs from earlier runs stay: the check counts from here.
        NB_HELD_BEFORE=$(nimbusd_metrics "$SRV_URI" | sed -n 's/^nimbus_jobs{state="held"} //p')
        return 0
    fi
    NB_HELD_BEFORE=0
    port=
    if [[ "$NIMBUSD_ARGS" == *@PORT@* ]]; then
        port=$(cupsd_free_port) || return 1
    fi
    dir=$WORK/nimbusd-$phase
    mkdir -p "$dir/state"
    args=${NIMBUSD_ARGS//@PORT@/$port}
    args=${args//@DIR@/$dir/state}
    # shellcheck disable=SC2086
    "$NIMBUSD" $args </dev/null >"$dir/out.log" 2>&1 &
    SRV_PID=$!
    for _ in $(seq 1 200); do          # "nimbusd 0.1.0 listening on HOST port N, ..."
        [ -n "$port" ] && break
        port=$(sed -nE 's/.* listening on [^ ]+ port ([0-9]+).*/\1/p' "$dir/out.log" | head -n 1)
        kill -0 "$SRV_PID" 2>/dev/null || break
        [ -n "$port" ] || sleep 0.1
    done
    if [ -z "$port" ] || ! wait_http "$port" "$SRV_PID" 20; then
        log "nimbusd did not come up on port $port; its output:"
        tail -n 20 "$dir/out.log" >&2
        return 1
    fi
    for _ in $(seq 1 20); do           # the banner may trail the listener
        nimbusd_parse_credentials "$dir/out.log"
        [ -n "$NB_USER" ] && [ -n "$NB_URI" ] && break
        sleep 0.1
    done
    SRV_URI=${NIMBUS_BENCH_URI:-${NB_URI:-ipp://127.0.0.1:@PORT@/ipp/print/demo/office}}
    SRV_URI=${SRV_URI//@PORT@/$port}
    SRV_USER=${NIMBUS_BENCH_USER:-$NB_USER}
    SRV_PASSWORD=${NIMBUS_BENCH_PASSWORD:-$NB_PASSWORD}
    [ -n "$SRV_USER" ] || log "warning: no nimbusd user (set NIMBUS_BENCH_USER)"
    SRV_RSS_PID=$SRV_PID
}

# uri_encode STRING: percent-encode for the user info part of a URI.
uri_encode() {
    local s=$1 out='' c i
    for (( i = 0; i < ${#s}; i++ )); do
        c=${s:i:1}
        case "$c" in
            [A-Za-z0-9._~-]) out+=$c ;;
            *) out+=$(printf '%%%02X' "'$c") ;;
        esac
    done
    printf '%s' "$out"
}

# nimbusd_drv_check N: the server must hold N jobs, all "held" and none
# further along.  Counts come from nimbusd's /metrics (nimbus_jobs{state=})
# because Get-Jobs lists at most 1000 jobs; if /metrics has no such lines,
# Get-Jobs as the benchmark user is the (capped) fallback.
nimbusd_metrics() {
    local hostport=${1#*://}
    hostport=${hostport#*@}
    hostport=${hostport%%/*}
    curl -s -m 5 "http://$hostport/metrics" | grep '^nimbus_jobs{state='
}

nimbusd_drv_check() {
    local want=$(( $1 + ${NB_HELD_BEFORE:-0} )) metrics held other uri states
    for _ in $(seq 1 20); do          # inserts may be committed in groups
        metrics=$(nimbusd_metrics "$SRV_URI")
        held=$(printf '%s\n' "$metrics" | sed -n 's/^nimbus_jobs{state="held"} //p')
        [ "${held:-}" = "$want" ] && break
        sleep 0.1
    done
    if [ -n "$metrics" ]; then
        other=$(printf '%s\n' "$metrics" | awk '!/state="held"/ {n += $NF} END {print n + 0}')
        echo "nimbusd: ${held:-0} jobs held, $other in other states (/metrics; expected $want held)"
        [ "${held:-0}" = "$want" ] && [ "$other" = 0 ]
        return
    fi
    uri=$SRV_URI
    if [ -n "$SRV_USER" ] && [ -n "$SRV_PASSWORD" ] && [[ "$uri" != *@* ]]; then
        uri="${uri%%://*}://$(uri_encode "$SRV_USER"):$(uri_encode "$SRV_PASSWORD")@${uri#*://}"
    fi
    states=$(ipptool -c -d user="${SRV_USER:-bench}" "$uri" /dev/stdin 2>/dev/null <<'EOF' |
{
    OPERATION Get-Jobs
    GROUP operation-attributes-tag
    ATTR charset attributes-charset utf-8
    ATTR naturalLanguage attributes-natural-language en
    ATTR uri printer-uri $uri
    ATTR name requesting-user-name $user
    ATTR keyword which-jobs not-completed
    ATTR keyword requested-attributes job-id,job-state
    DISPLAY job-state
}
EOF
             grep -v '^job-state$' | sort | uniq -c | awk '{print $1, $2}')
    held=$(printf '%s\n' "$states" | awk '$2 == "pending-held" {print $1}')
    other=$(printf '%s\n' "$states" | awk 'NF == 2 && $2 != "pending-held" {n += $1} END {print n + 0}')
    echo "nimbusd: Get-Jobs lists ${held:-0} pending-held, $other other (capped by the server; expected $want held)"
    [ "$other" = 0 ] && [ "${held:-0}" -gt 0 ]
}

nimbusd_drv_stop() {
    if [ -n "$SRV_PID" ]; then
        kill -TERM "$SRV_PID" 2>/dev/null
        for _ in $(seq 1 100); do kill -0 "$SRV_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$SRV_PID" 2>/dev/null
        wait "$SRV_PID" 2>/dev/null
        SRV_PID=
    fi
    rm -rf -- "$WORK"/nimbusd-*/state
}

bench_nimbusd() {
    if [ "${NIMBUS_BENCH_EXTERNAL:-0}" != 1 ] && [ ! -x "$NIMBUSD" ]; then
        log "no nimbusd at $NIMBUSD: skipping it"
        return 0
    fi
    bench_server nimbusd
}

bench_cupsd() {
    bench_server cupsd
}

# ------------------------------------------------------------ the phases

# Results, per server: R_<server>_<metric>.
declare -A R=()

# load_run SERVER ARGS...: run intake-load with the driver's credentials,
# print its JSON line.
load_run() {
    local server=$1
    shift
    local auth=() extra=()
    [ -n "$SRV_USER" ] && auth+=(--user "$SRV_USER")
    if [ "$server" = nimbusd ] && [ -n "${NIMBUS_BENCH_LOAD_ARGS:-}" ]; then
        read -r -a extra <<<"$NIMBUS_BENCH_LOAD_ARGS"
    fi
    # The password travels in the environment, not on the command line.
    INTAKE_LOAD_PASSWORD=$SRV_PASSWORD "$INTAKE_LOAD" --uri "$SRV_URI" "${auth[@]}" \
        "${extra[@]}" --json "$@"
}

# phase_fill SERVER DEPTH: DEPTH held jobs into the running server, on
# CONNECTIONS connections with the intake document; not measured.  Sets
# FILLED to the number of jobs accepted.
phase_fill() {
    local s=$1 depth=$2 json t0 t1
    FILLED=0
    [ "$depth" -gt 0 ] || return 0
    log "$s: filling $depth held jobs"
    t0=$(date +%s.%N)
    json=$(load_run "$s" --file "$SMALL_PDF" --format application/pdf \
           --connections "$CONNECTIONS" --jobs "$depth")
    t1=$(date +%s.%N)
    echo "$s fill $depth $json" >>"$WORK/raw.jsonl"
    FILLED=$(json_num "$json" ok)
    FILLED=${FILLED:-0}
    log "$s: $FILLED of $depth filled in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s ($(json_num "$json" jobs_per_s) jobs/s)"
    [ "$FILLED" = "$depth" ] || { log "$s: the fill lost $(( depth - FILLED )) jobs"; return 1; }
    # The fill leaves gigabytes of dirty page cache (100,000 x 30 KB) that
    # the kernel would write back during the measured run; that belongs to
    # the fill.  Flush it first, then let the server settle.
    sync -f "$WORK" 2>/dev/null || sync
    sleep "$FILL_SETTLE"
}

# phase_intake SERVER DEPTH RUN: one intake run on a fresh server that
# holds DEPTH jobs first.
phase_intake() {
    local s=$1 d=$2 run=$3 json cpu0 cpu1 ok note rc=0
    "${s}_drv_start" "intake-$d-$run" || { log "$s did not start"; "${s}_drv_stop"; return 1; }
    phase_fill "$s" "$d" || rc=1
    log "$s intake depth $d run $run: $CONNECTIONS connections, ${DURATION}s, $SRV_URI"
    R[$s,idle_kib,$d]=${SRV_RSS_PID:+$(proc_kib "$SRV_RSS_PID" VmRSS)}
    cpu0=${SRV_RSS_PID:+$(proc_cpu_ticks "$SRV_RSS_PID")}
    json=$(load_run "$s" --file "$SMALL_PDF" --format application/pdf \
           --connections "$CONNECTIONS" --duration "$DURATION")
    [ $? -le 1 ] || rc=1
    cpu1=${SRV_RSS_PID:+$(proc_cpu_ticks "$SRV_RSS_PID")}
    echo "$s intake $d $run $json" >>"$WORK/raw.jsonl"
    log "$s: $json"
    ok=$(json_num "$json" ok)
    if [ "${ok:-0}" -gt 0 ]; then      # rates of nothing would read as 0.00
        R[$s,jps,$d,$run]=$(json_num "$json" jobs_per_s)
        R[$s,p50,$d,$run]=$(json_num "$json" p50)
        R[$s,p99,$d,$run]=$(json_num "$json" p99)
    fi
    R[$s,fail,$d,$run]=$(json_num "$json" failures)
    R[$s,ok,$d,$run]=$ok
    R[$s,client_cpu,$d,$run]=$(json_num "$json" client_cpu_s)
    if [ -n "$SRV_RSS_PID" ]; then
        R[$s,hwm,$d,$run]=$(proc_kib "$SRV_RSS_PID" VmHWM)
        if [ -n "$cpu0" ] && [ -n "$cpu1" ] && [ "${ok:-0}" -gt 0 ]; then
            R[$s,cpu_ms_job,$d,$run]=$(awk -v d=$(( cpu1 - cpu0 )) -v t="$CLK_TCK" -v n="$ok" \
                                   'BEGIN { printf "%.3f", d * 1000 / t / n }')
            R[$s,srv_cpu_s,$d,$run]=$(awk -v d=$(( cpu1 - cpu0 )) -v t="$CLK_TCK" 'BEGIN { printf "%.1f", d / t }')
        fi
    fi
    note=$("${s}_drv_check" "$(( ${ok:-0} + FILLED ))") || { note="FAILED: $note"; rc=1; }
    R[$s,check,$d]="${R[$s,check,$d]:+${R[$s,check,$d]}${NL}- }run $run: $note"
    log "$note"
    [ "${R[$s,fail,$d,$run]:-1}" = 0 ] || rc=1
    "${s}_drv_stop"
    return $rc
}

# phase_big SERVER: one BIG_SIZE Print-Job on a fresh server, sampling the
# server's RSS while it uploads (VmHWM covers the whole life of the fresh
# process, so it is the peak during the upload).
phase_big() {
    local s=$1 json rc=0
    "${s}_drv_start" big || { log "$s did not start"; "${s}_drv_stop"; return 1; }
    log "$s big upload: $BIG_SIZE"
    R[$s,big_idle_kib]=${SRV_RSS_PID:+$(proc_kib "$SRV_RSS_PID" VmRSS)}
    json=$(load_run "$s" --file "$WORK/big.pdf" --format application/pdf --connections 1 --jobs 1)
    [ $? -le 1 ] || rc=1
    echo "$s big 1 $json" >>"$WORK/raw.jsonl"
    log "$s: $json"
    if [ "$(json_num "$json" ok)" = 1 ]; then
        R[$s,big_s]=$(awk -v ms="$(json_num "$json" max)" 'BEGIN { printf "%.2f", ms / 1000 }')
        R[$s,big_mibps]=$(json_num "$json" mib_per_s)
    fi
    R[$s,big_fail]=$(json_num "$json" failures)
    [ -n "$SRV_RSS_PID" ] && R[$s,big_hwm]=$(proc_kib "$SRV_RSS_PID" VmHWM)
    [ "${R[$s,big_fail]:-1}" = 0 ] || rc=1
    "${s}_drv_stop"
    return $rc
}

bench_server() {
    local s=$1 d run
    R[$s,ran]=1
    for d in $DEPTHS; do
        for run in $(seq 1 "$REPEAT"); do
            phase_intake "$s" "$d" "$run" || STATUS=1
        done
    done
    if [ "$BIG_SIZE" != 0 ]; then
        phase_big "$s" || STATUS=1
    fi
}

# ---------------------------------------------------------------- report

mib() { [ -n "${1:-}" ] && awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# metric SERVER KEY DEPTH: median over the runs at DEPTH.
metric() {
    local s=$1 k=$2 d=$3 run vals=()
    for run in $(seq 1 "$REPEAT"); do
        [ -n "${R[$s,$k,$d,$run]:-}" ] && vals+=("${R[$s,$k,$d,$run]}")
    done
    median "${vals[@]}"
}

# total SERVER KEY DEPTH: sum over the runs at DEPTH (empty if the server
# did not run).
total() {
    local s=$1 k=$2 d=$3 run sum=''
    for run in $(seq 1 "$REPEAT"); do
        [ -n "${R[$s,$k,$d,$run]:-}" ] && sum=$(( ${sum:-0} + R[$s,$k,$d,$run] ))
    done
    printf '%s' "$sum"
}

machine_info() {
    local cpu mem disk dev fstype rota
    cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
    mem=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
    dev=$(findmnt -no SOURCE -T "$WORK" 2>/dev/null)
    fstype=$(findmnt -no FSTYPE -T "$WORK" 2>/dev/null)
    rota=$(lsblk -dno ROTA "$dev" 2>/dev/null | tr -d ' ')
    disk="$dev ($fstype, $(df -h --output=size "$WORK" | tail -n 1 | tr -d ' '), rotational=${rota:-?})"
    echo "- CPU: ${cpu:-unknown}, $(nproc) CPUs online"
    echo "- Memory: $mem"
    echo "- Kernel: $(uname -sr)"
    echo "- Disk (spool): $disk"
    echo "- cupsd: $(dpkg-query -W -f '${Version}' cups-daemon 2>/dev/null || echo unknown); libcups $(cups-config --version 2>/dev/null)"
    echo "- Load average at start: $LOADAVG_START"
    echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
}

# report_depth D: the table of the intake runs at queue depth D.
report_depth() {
    local d=$1 c=cupsd n=nimbusd
    local cj cp50 cp99 chwm ccpu nj np50 np99 nhwm ncpu cidle nidle
    cj=$(metric $c jps "$d"); cp50=$(metric $c p50 "$d"); cp99=$(metric $c p99 "$d")
    chwm=$(mib "$(metric $c hwm "$d")"); ccpu=$(metric $c cpu_ms_job "$d")
    nj=$(metric $n jps "$d"); np50=$(metric $n p50 "$d"); np99=$(metric $n p99 "$d")
    nhwm=$(mib "$(metric $n hwm "$d")"); ncpu=$(metric $n cpu_ms_job "$d")
    cidle=$(mib "${R[$c,idle_kib,$d]:-}"); nidle=$(mib "${R[$n,idle_kib,$d]:-}")
    cat <<EOF
#### Queue depth $d (held jobs before the run)

| metric | cupsd | nimbusd | nimbusd/cupsd |
|---|---:|---:|---:|
| intake throughput (jobs/s) | ${cj:-n/a} | ${nj:-n/a} | $(ratio "$nj" "$cj") |
| latency p50 (ms) | ${cp50:-n/a} | ${np50:-n/a} | $(ratio "$np50" "$cp50") |
| latency p99 (ms) | ${cp99:-n/a} | ${np99:-n/a} | $(ratio "$np99" "$cp99") |
| failed jobs (all runs) | $(total $c fail "$d") | $(total $n fail "$d") | |
| server CPU per job (ms) | ${ccpu:-n/a} | ${ncpu:-n/a} | $(ratio "$ncpu" "$ccpu") |
| server RSS after the fill, before intake (MiB) | ${cidle:-n/a} | ${nidle:-n/a} | $(ratio "$nidle" "$cidle") |
| server peak RSS after intake (MiB) | ${chwm:-n/a} | ${nhwm:-n/a} | $(ratio "$nhwm" "$chwm") |

EOF
    if [ "$REPEAT" -gt 1 ]; then
        echo "Per run (jobs/s, p50 ms, p99 ms, peak RSS MiB, server CPU s, client CPU s):"
        echo
        local s run
        for s in $c $n; do
            [ -n "${R[$s,ran]:-}" ] || continue
            for run in $(seq 1 "$REPEAT"); do
                echo "- $s run $run: ${R[$s,jps,$d,$run]:-n/a}, ${R[$s,p50,$d,$run]:-n/a}, ${R[$s,p99,$d,$run]:-n/a}, $(mib "${R[$s,hwm,$d,$run]:-}"), ${R[$s,srv_cpu_s,$d,$run]:-n/a}, ${R[$s,client_cpu,$d,$run]:-n/a}"
            done
        done
        echo
    fi
    echo "Checks after each intake run:"
    echo
    echo "- ${R[$c,check,$d]:-cupsd not run}"
    echo "- ${R[$n,check,$d]:-nimbusd not run}"
    echo
}

report() {
    local c=cupsd n=nimbusd d cj nj
    cat <<EOF
### Intake benchmark results

$CONNECTIONS connections, ${DURATION} s per run, $(basename "$SMALL_PDF") ($(stat -c %s "$SMALL_PDF") bytes, 1 page), jobs held on arrival; queue depths $DEPTHS (held jobs filled in before the measured run, not measured); median of $REPEAT run(s) per depth, each on a fresh server. Big document: $( [ "$BIG_SIZE" = 0 ] && echo "skipped" || echo "$BIG_SIZE PDF in one Print-Job, on a fresh server").

| queue depth | cupsd jobs/s | nimbusd jobs/s | nimbusd/cupsd | cupsd p99 (ms) | nimbusd p99 (ms) | cupsd CPU/job (ms) | nimbusd CPU/job (ms) |
|---:|---:|---:|---:|---:|---:|---:|---:|
EOF
    for d in $DEPTHS; do
        cj=$(metric $c jps "$d"); nj=$(metric $n jps "$d")
        echo "| $d | ${cj:-n/a} | ${nj:-n/a} | $(ratio "$nj" "$cj") | $(metric $c p99 "$d") | $(metric $n p99 "$d") | $(metric $c cpu_ms_job "$d") | $(metric $n cpu_ms_job "$d") |"
    done
    echo
    for d in $DEPTHS; do report_depth "$d"; done
    if [ "$BIG_SIZE" != 0 ]; then
        local cbh nbh
        cbh=$(mib "${R[$c,big_hwm]:-}"); nbh=$(mib "${R[$n,big_hwm]:-}")
        cat <<EOF
#### Big document (fresh server, empty queue)

| metric | cupsd | nimbusd | nimbusd/cupsd |
|---|---:|---:|---:|
| $BIG_SIZE upload time (s) | ${R[$c,big_s]:-n/a} | ${R[$n,big_s]:-n/a} | $(ratio "${R[$n,big_s]:-}" "${R[$c,big_s]:-}") |
| $BIG_SIZE upload rate (MiB/s) | ${R[$c,big_mibps]:-n/a} | ${R[$n,big_mibps]:-n/a} | $(ratio "${R[$n,big_mibps]:-}" "${R[$c,big_mibps]:-}") |
| server peak RSS during $BIG_SIZE upload (MiB) | ${cbh:-n/a} | ${nbh:-n/a} | $(ratio "$nbh" "$cbh") |

EOF
    fi
    echo "Machine:"
    echo
    machine_info
}

# ------------------------------------------------------------------ main

main() {
    local need_kib avail_kib
    LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg)
    build_tools || exit 1

    if [ ! -f "$SMALL_PDF" ]; then
        log "$SMALL_PDF missing: generating a 30 KiB one-page PDF"
        SMALL_PDF=$WORK/onepage-30k.pdf
        "$GEN_BIG_PDF" --size 30k --out "$SMALL_PDF" || exit 1
    fi

    # Spool estimate: the deepest fill plus 3000 jobs/s of the small file
    # for DURATION, plus the big file twice (ours and the server's copy),
    # plus 1 GiB slack.
    local d max_depth=0
    for d in $DEPTHS; do
        case "$d" in ''|*[!0-9]*) log "DEPTHS: $d is not a number of jobs"; exit 1 ;; esac
        [ "$d" -gt "$max_depth" ] && max_depth=$d
    done
    need_kib=$(( (max_depth + DURATION * 3000) * ($(stat -c %s "$SMALL_PDF") / 1024 + 4) + 1048576 ))
    if [ "$BIG_SIZE" != 0 ]; then
        "$GEN_BIG_PDF" --size "$BIG_SIZE" --out "$WORK/big.pdf" || exit 1
        need_kib=$(( need_kib + 2 * $(stat -c %s "$WORK/big.pdf") / 1024 ))
    fi
    avail_kib=$(df -Pk "$WORK" | awk 'NR == 2 {print $4}')
    if [ "$avail_kib" -lt "$need_kib" ]; then
        log "only $(( avail_kib / 1024 )) MiB free under $WORK, need ~$(( need_kib / 1024 )) MiB"
        exit 1
    fi

    local s
    for s in $SERVERS; do
        case "$s" in
            cupsd)   bench_cupsd ;;
            nimbusd) bench_nimbusd ;;
            *)       log "unknown server $s"; STATUS=1 ;;
        esac
    done

    report | tee ${RESULTS_OUT:+"$RESULTS_OUT"}
    if [ "$KEEP_WORK" = 1 ]; then log "raw JSON: $WORK/raw.jsonl"; fi
    return $STATUS
}

main "$@"
exit $?
