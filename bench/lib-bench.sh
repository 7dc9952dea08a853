# lib-bench.sh: what the bench/run-*.sh scripts share.  Sourced, after the
# script set ROOT (the tree), BUILD (an absolute meson build dir) and WORK
# (its temporary directory).

# bench_build TARGET...: configure $BUILD as a release build if it is not
# one yet, then build TARGETs (logs in $WORK; their tail on failure).
bench_build() {
  if [ ! -f "$BUILD/build.ninja" ]; then
    meson setup "$BUILD" "$ROOT" --buildtype=release >"$WORK/meson-setup.log" 2>&1 || {
      tail -n 20 "$WORK/meson-setup.log" >&2
      return 1
    }
  fi
  ninja -C "$BUILD" "$@" >"$WORK/ninja.log" 2>&1 || {
    tail -n 30 "$WORK/ninja.log" >&2
    return 1
  }
}

# bench_banner_port FILE: the port named by the last start-up banner
# nimbusd wrote to FILE ("... listening on HOST port N, state in ..."),
# empty before it has written one.
bench_banner_port() {
  sed -n 's/.* port \([0-9]*\), state.*/\1/p' "$1" | tail -n 1
}

# bench_wait_healthz URL: wait up to 5 s until URL/healthz answers.
bench_wait_healthz() {
  local _
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "$1/healthz" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

# json_num JSON KEY: the number after "KEY": in a one-line JSON object.
json_num() {
  printf '%s\n' "$1" | grep -o "\"$2\":[-0-9.e+]*" | head -n 1 | cut -d: -f2
}

# fmt VALUE FORMAT: VALUE printf-formatted, or n/a when empty or negative.
fmt() { awk -v v="${1:-}" -v f="$2" 'BEGIN { if (v == "" || v < 0) print "n/a"; else printf f, v }'; }
