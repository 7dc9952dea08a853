#!/usr/bin/env bash
# run-hostile-docs.sh: nimbusd's memory while it judges hostile documents
# (issue 8 item 10) and a large legitimate one.
#
# One nimbusd (release build, --demo) on loopback.  For each document, sent
# as a REST upload by alice: the peak RSS is reset (clear_refs 5), the
# document is uploaded and answered, and the script prints the HTTP status,
# VmRSS before, VmHWM during (peak) and VmRSS after the answer (read once
# the request has completed; no settling time).  Then CONCURRENT uploads of
# each bomb at once, with the same three figures.
# Documents (tests/integration/make_pdf.py, generated under a temp dir):
#   objstm-1g    1 MB, an object stream that inflates to 1 GiB
#   xrefstm-1g   1 MB, a cross-reference stream that inflates to 1 GiB
#   repeat-200k  1.2 MB, one page listed 200,000 times
#   deep-20k     1.7 MB, a page tree 20,000 levels deep
#   pages-10000  1.1 MB, a valid PDF of 10,000 pages (the default page limit)
#
# Usage: bench/run-hostile-docs.sh            (about 30 s)
# Environment: BUILD (meson build dir, default build-release, configured
#   --buildtype=release if missing), CONCURRENT (3), NIMBUSD_ARGS (extra
#   flags), KEEP_WORK=1 (keep the temp dir).
set -u -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-build-release}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
CONCURRENT=${CONCURRENT:-3}
NIMBUSD_ARGS=${NIMBUSD_ARGS:-}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/nimbus-hostile.XXXXXX") || exit 1
PID=

cleanup() {
  if [ -n "$PID" ]; then
    kill -TERM "$PID" 2>/dev/null
    wait "$PID" 2>/dev/null
  fi
  if [ "${KEEP_WORK:-0}" = 1 ]; then echo "kept $WORK" >&2; else rm -rf -- "$WORK"; fi
}
trap cleanup EXIT

if [ ! -x "$BUILD/src/server/nimbusd" ]; then
  [ -d "$BUILD" ] || meson setup "$BUILD" "$ROOT" --buildtype=release >/dev/null || exit 1
  ninja -C "$BUILD" src/server/nimbusd >/dev/null || exit 1
fi

MK=$ROOT/tests/integration/make_pdf.py
python3 "$MK" --bomb objstm "$WORK/objstm-1g.pdf"
python3 "$MK" --bomb xrefstm "$WORK/xrefstm-1g.pdf"
python3 "$MK" --bomb repeat "$WORK/repeat-200k.pdf"
python3 "$MK" --bomb deep "$WORK/deep-20k.pdf"
python3 "$MK" --pages 10000 "$WORK/pages-10000.pdf"

# shellcheck disable=SC2086  # NIMBUSD_ARGS is a list of flags
"$BUILD/src/server/nimbusd" --listen 127.0.0.1 --port 0 --state-dir "$WORK/state" --demo \
  --admin-password bench-admin-pw --max-held-jobs 100000 --log-level warn $NIMBUSD_ARGS \
  >"$WORK/out" 2>"$WORK/log" &
PID=$!
for _ in $(seq 1 200); do
  grep -q "listening on" "$WORK/out" 2>/dev/null && break
  sleep 0.05
done
PORT=$(sed -n 's/.* port \([0-9]*\), state.*/\1/p' "$WORK/out" | head -1)
[ -n "$PORT" ] || { echo "nimbusd did not start" >&2; cat "$WORK/out" "$WORK/log" >&2; exit 1; }
URL=http://127.0.0.1:$PORT/api/v1/jobs

kib() { sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$PID/status"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
upload() {
  curl -s -o /dev/null -w '%{http_code}' -u alice@demo:alice-demo-pass -F queue=office \
    -F "document=@$WORK/$1.pdf" "$URL"
}

# A first small upload so that the baseline includes a warmed-up server.
upload pages-10000 >/dev/null
echo "| document | uploads at once | HTTP | RSS before (MiB) | peak RSS (MiB) | RSS after (MiB) |"
echo "|---|---:|---|---:|---:|---:|"
for doc in objstm-1g xrefstm-1g repeat-200k deep-20k pages-10000; do
  for n in 1 "$CONCURRENT"; do
    before=$(kib VmRSS)
    echo 5 >"/proc/$PID/clear_refs"
    codes=()
    for i in $(seq 1 "$n"); do upload "$doc" >"$WORK/code.$i" & done
    wait $(jobs -p | grep -vx "$PID")
    for i in $(seq 1 "$n"); do codes+=("$(cat "$WORK/code.$i")"); done
    echo "| $doc | $n | $(printf '%s\n' "${codes[@]}" | sort -u | tr '\n' ' ')| $(mib "$before") |" \
      "$(mib "$(kib VmHWM)") | $(mib "$(kib VmRSS)") |"
  done
done
