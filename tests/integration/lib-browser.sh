# lib-browser.sh: what the headless-browser tests share (sourced after
# test-connector-common.sh): Debian's chromium driven by playwright-core
# from tests/browser/package-lock.json, installed with `npm ci` into the
# build directory (browser-deps/) when absent or out of date; it downloads
# no browser.
#   browser_need NAME [COMMAND...]   exit 77 (skip) when chromium, node, npm
#                                    or one of COMMAND is missing; call it
#                                    before sourcing anything else
#   install_playwright               npm ci into $DEPS (a check step)
# Sets CHROMIUM, BROWSER_SRC, BUILD_ROOT, DEPS.

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

browser_need() {
  local name=$1 missing=() c
  shift
  [ -x "$CHROMIUM" ] || missing+=("chromium ($CHROMIUM)")
  for c in node npm "$@"; do
    command -v "$c" >/dev/null 2>&1 || missing+=("$c")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "skip - $name: ${missing[*]} not installed (scripts/install-deps.sh installs them)"
    exit 77
  fi
}

BROWSER_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../browser" && pwd)
BUILD_ROOT=${NIMBUS_BUILD_ROOT:-$(cd "$(dirname "${NIMBUS_CONNECTOR:-.}")/../.." && pwd)}
DEPS=${NIMBUS_BROWSER_DEPS:-$BUILD_ROOT/browser-deps}

install_playwright() {
  if [ -f "$DEPS/node_modules/playwright-core/package.json" ] &&
    cmp -s "$BROWSER_SRC/package-lock.json" "$DEPS/package-lock.json"; then
    return 0
  fi
  mkdir -p "$DEPS"
  cp "$BROWSER_SRC/package.json" "$BROWSER_SRC/package-lock.json" "$DEPS/"
  (cd "$DEPS" && npm ci --no-audit --no-fund --loglevel=error) >"$CONN_DIR/npm-ci.log" 2>&1 || {
    cat "$CONN_DIR/npm-ci.log" >&2
    return 1
  }
}
