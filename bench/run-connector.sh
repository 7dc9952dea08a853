#!/usr/bin/env bash
# run-connector.sh: the release-at-the-printer benchmark (issue 4), the
# connector's streaming intake.
#
# On loopback: one nimbusd, one nimbus-connector registered to it (file://
# output, --listen-ipp), a PC (bench/pc-print.py) printing one PDF of each
# SIZES through the connector's local IPP printer.  Per size, on a fresh
# connector process:
#   - the connector's peak RSS (VmHWM from /proc, read after nimbusd has
#     answered) and its RSS at start;
#   - the time from the PC's first byte to the first byte in nimbusd's spool
#     file (spool/tmp/<node-id>/*/*.part, polled every 0.5 ms);
#   - the whole upload (first byte to nimbusd's answer at the PC).
# Prints a Markdown table with the machine.  Temp dir and processes are
# removed on exit.
#
# Usage: bench/run-connector.sh
# Environment:
#   BUILD          meson build dir (default build-release; configured with
#                  --buildtype=release if missing)
#   SIZES          document sizes, k/M/G suffixes ("10M 100M 1G")
#   UPLOAD_BUFFER  --upload-buffer of the connector (1M)
#   RESULTS_OUT    also write the table to this file
#   KEEP_WORK=1    keep the temp dir
set -u -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-build-release}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
SIZES=${SIZES:-10M 100M 1G}
UPLOAD_BUFFER=${UPLOAD_BUFFER:-1M}
RESULTS_OUT=${RESULTS_OUT:-}
KEEP_WORK=${KEEP_WORK:-0}
NIMBUSD=$BUILD/src/server/nimbusd
CONNECTOR=$BUILD/src/connector/nimbus-connector
GEN=$BUILD/bench/gen-big-pdf
ADMIN_PASSWORD=bench-admin-pw

WORK=$(mktemp -d "${TMPDIR:-/tmp}/nimbus-connector-bench.XXXXXX") || exit 1
SRV_PID=
CONN_PID=
STATUS=0

log() { echo "run-connector: $*" >&2; }

stop_pid() {
    local pid=$1
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
}

# shellcheck disable=SC2317  # called by the trap
cleanup() {
    stop_pid "$CONN_PID"
    stop_pid "$SRV_PID"
    if [ "$KEEP_WORK" = 1 ]; then log "kept $WORK"; else rm -rf -- "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ ! -f "$BUILD/build.ninja" ]; then
    meson setup "$BUILD" "$ROOT" --buildtype=release >"$WORK/meson.log" 2>&1 || {
        tail -20 "$WORK/meson.log" >&2
        exit 1
    }
fi
ninja -C "$BUILD" src/server/nimbusd src/connector/nimbus-connector bench/gen-big-pdf \
    >"$WORK/ninja.log" 2>&1 || { tail -30 "$WORK/ninja.log" >&2; exit 1; }

# ---- nimbusd, tenant, user, queue, printer ----
STATE=$WORK/state
mkdir -p "$STATE"
"$NIMBUSD" --listen 127.0.0.1 --port 0 --state-dir "$STATE" --admin-password "$ADMIN_PASSWORD" \
    --fast-hashing --max-document-size 4G --log-level warn \
    </dev/null >"$WORK/nimbusd.out" 2>"$WORK/nimbusd.log" &
SRV_PID=$!
for _ in $(seq 1 600); do
    grep -q "listening on" "$WORK/nimbusd.out" 2>/dev/null && break
    sleep 0.05
done
PORT=$(sed -n 's/.* port \([0-9]*\), state.*/\1/p' "$WORK/nimbusd.out" | head -1)
[ -n "$PORT" ] || { log "nimbusd did not start"; cat "$WORK/nimbusd.log" >&2; exit 1; }
URL=http://127.0.0.1:$PORT
api() {
    curl -fsS -u "admin@system:$ADMIN_PASSWORD" -H 'Content-Type: application/json' \
        -X POST "$URL$1" -d "$2"
}
api /api/v1/tenants '{"name":"acme"}' >/dev/null &&
    api '/api/v1/users?tenant=acme' '{"name":"alice","password":"alice-pw-1","role":"user"}' >/dev/null &&
    api '/api/v1/queues?tenant=acme' '{"name":"office"}' >/dev/null || { log "set-up failed"; exit 1; }
CODE=$(api '/api/v1/printers?tenant=acme' '{"name":"lobby","queues":["office"]}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["claim_code"])') || exit 1
"$CONNECTOR" register --server "$URL" --claim "$CODE" --state "$WORK/lobby.json" \
    >/dev/null 2>"$WORK/register.log" || { cat "$WORK/register.log" >&2; exit 1; }

bytes_of() {
    local s=$1 n=${1%[kKmMgG]}
    case "$s" in
    *k | *K) echo $((n * 1024)) ;; *m | *M) echo $((n * 1024 * 1024)) ;;
    *g | *G) echo $((n * 1024 * 1024 * 1024)) ;; *) echo "$s" ;;
    esac
}
kb_of() { sed -n "s/^$2:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$1/status"; }

ROWS=()
for size in $SIZES; do
    pdf=$WORK/doc-$size.pdf
    "$GEN" --size "$size" --out "$pdf" || { STATUS=1; continue; }
    : >"$WORK/conn-$size.log"
    "$CONNECTOR" run --state "$WORK/lobby.json" --output "file://$WORK/out" --panel-listen '' \
        --listen-ipp 127.0.0.1:0 --upload-buffer "$UPLOAD_BUFFER" --log-level info \
        2>"$WORK/conn-$size.log" &
    CONN_PID=$!
    ipp_port=
    for _ in $(seq 1 200); do
        ipp_port=$(sed -n 's/.*msg="ipp listening".* port=\([0-9]*\).*/\1/p' "$WORK/conn-$size.log")
        [ -n "$ipp_port" ] && break
        sleep 0.05
    done
    [ -n "$ipp_port" ] || { log "connector did not start"; cat "$WORK/conn-$size.log" >&2; exit 1; }
    sleep 0.5 # its capability probe and first poll are done
    rss_start=$(kb_of "$CONN_PID" VmRSS)
    out=$(python3 "$ROOT/bench/pc-print.py" "ipp://127.0.0.1:$ipp_port/ipp/print" "$pdf" \
        "$STATE/spool") || STATUS=1
    hwm=$(kb_of "$CONN_PID" VmHWM)
    stop_pid "$CONN_PID"
    CONN_PID=
    log "$size: $out; connector VmHWM ${hwm} kB"
    status=$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
    [ "$status" = 0 ] || STATUS=1
    read -r first total <<<"$(printf '%s' "$out" |
        python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["first_byte_ms"], d["total_s"])')"
    mib=$(awk -v b="$(bytes_of "$size")" -v t="$total" 'BEGIN { printf "%.0f", b / 1048576 / t }')
    ROWS+=("| $size | $(awk -v k="$rss_start" 'BEGIN{printf "%.1f", k/1024}') | $(awk -v k="$hwm" 'BEGIN{printf "%.1f", k/1024}') | $first | $total | $mib |")
    rm -f "$pdf"
    find "$STATE/spool/data" -type f -size +1M -delete 2>/dev/null # room for the next size
done

{
    echo "Connector streaming intake (--upload-buffer $UPLOAD_BUFFER), one job per size on a fresh connector:"
    echo
    echo "| job size | connector RSS at start (MiB) | connector peak RSS (MiB) | PC first byte -> first byte in nimbusd's spool (ms) | upload until nimbusd's answer (s) | MiB/s |"
    echo "|---|---|---|---|---|---|"
    printf '%s\n' "${ROWS[@]}"
    echo
    echo "Machine: $(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/ {print $2}') GiB RAM, $(uname -sr); loopback; build: $(basename "$BUILD")."
} | tee "${RESULTS_OUT:-/dev/null}"
exit $STATUS
