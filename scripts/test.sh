#!/usr/bin/env bash
# Install dependencies, build with AddressSanitizer + UndefinedBehaviorSanitizer,
# and run every test (unit + integration, the store's contract suite on SQLite
# and on a private PostgreSQL cluster) and a short fuzzing pass.
# Usage: scripts/test.sh            (this is the command CI runs)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

BUILD=${BUILD:-build-test}
if [ ! -d "$BUILD" ]; then
  meson setup "$BUILD" -Db_sanitize=address,undefined -Db_lundef=false --buildtype=debug
fi
ninja -C "$BUILD"

# A private PostgreSQL cluster for the store's contract suite on PostgreSQL
# (tests named *-pg): started once, stopped on exit.  Without it those
# tests would skip, so a cluster that does not start fails the run here.
PG_DIR=$(mktemp -d /tmp/nimbus-test-pg.XXXXXX)
stop_pg() {
  tests/pg/pg-cluster.sh stop "$PG_DIR" || true
  rm -rf "$PG_DIR"
}
trap stop_pg EXIT
if ! tests/pg/pg-cluster.sh start "$PG_DIR"; then
  echo "test.sh: FAILED: the PostgreSQL test cluster did not start (see above)" >&2
  exit 1
fi
NIMBUS_TEST_PG_URL=$(tests/pg/pg-cluster.sh url "$PG_DIR")
export NIMBUS_TEST_PG_URL

status=0
meson test -C "$BUILD" --print-errorlogs --num-processes 2 || status=$?

# Fuzzers (libFuzzer needs clang): a bounded run of each target.
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
if [ "$FUZZ_SECONDS" -gt 0 ]; then
  if [ ! -d "$FUZZ_BUILD" ]; then
    CC=clang CXX=clang++ meson setup "$FUZZ_BUILD" -Dfuzzing=true -Db_sanitize=address,undefined \
      -Db_lundef=false -Dconsole=disabled --buildtype=debug >/dev/null
  fi
  ninja -C "$FUZZ_BUILD" >/dev/null
  fuzz_pass=0
  fuzz_fail=0
  for fz in "$FUZZ_BUILD"/tests/fuzz-*; do
    [ -f "$fz" ] && [ -x "$fz" ] || continue
    name=$(basename "$fz")
    corpus=$(mktemp -d)
    seeds="tests/fuzz/corpus/${name#fuzz-}"
    [ -d "$seeds" ] && cp -r "$seeds"/. "$corpus"/ 2>/dev/null || true
    if UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=quarantine_size_mb=32 \
      "$fz" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 "$corpus" >"/tmp/$name.log" 2>&1; then
      echo "fuzz $name: ok (${FUZZ_SECONDS}s)"
      fuzz_pass=$((fuzz_pass + 1))
    else
      echo "fuzz $name: FAILED, see /tmp/$name.log"
      tail -30 "/tmp/$name.log"
      fuzz_fail=$((fuzz_fail + 1))
      status=1
    fi
    rm -rf "$corpus"
  done
fi

# One summary line: unit + integration results from meson's log, plus fuzzers.
python3 - "$BUILD/meson-logs/testlog.json" "${fuzz_pass:-0}" "${fuzz_fail:-0}" <<'PY'
import json, sys
passed = failed = skipped = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["result"] in ("OK", "EXPECTEDFAIL"): passed += 1
    elif r["result"] == "SKIP": skipped += 1
    else: failed += 1
passed += int(sys.argv[2]); failed += int(sys.argv[3])
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
PY
exit $status
