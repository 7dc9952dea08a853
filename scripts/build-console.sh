#!/usr/bin/env bash
# Build the web console (docs/CONSOLE.md §1.1): ninja runs this through the
# custom_target of web/console/meson.build.
# Usage: scripts/build-console.sh SRC_DIR OUT_DIR DEPS_DIR
#   SRC_DIR   web/console in the source tree
#   OUT_DIR   where index.html, console.js, console.js.map, console.css go
#   DEPS_DIR  the build directory's console-deps/: `npm ci` installs
#             chart.js and esbuild there from SRC_DIR/package-lock.json,
#             again only when the lock file changed
# Nothing is fetched at run time: Chart.js is bundled into console.js.
set -euo pipefail

SRC=$1
OUT=$2
DEPS=$3

# npm ci only when node_modules is missing or was made from another lock file
if ! [ -x "$DEPS/node_modules/.bin/esbuild" ] || ! [ -f "$DEPS/node_modules/chart.js/package.json" ] ||
  ! cmp -s "$SRC/package-lock.json" "$DEPS/package-lock.json"; then
  mkdir -p "$DEPS"
  rm -f "$DEPS/package-lock.json" # a failed npm ci is tried again next time
  cp "$SRC/package.json" "$DEPS/package.json"
  cp "$SRC/package-lock.json" "$DEPS/package-lock.json.new"
  mv "$DEPS/package-lock.json.new" "$DEPS/package-lock.json"
  if ! (cd "$DEPS" && npm ci --no-audit --no-fund --loglevel=error) >"$DEPS/npm-ci.log" 2>&1; then
    cat "$DEPS/npm-ci.log" >&2
    rm -f "$DEPS/package-lock.json"
    echo "build-console.sh: npm ci failed (is the npm registry reachable?)" >&2
    exit 1
  fi
fi

mkdir -p "$OUT"
# src/ imports "chart.js": resolved from DEPS through NODE_PATH
NODE_PATH="$DEPS/node_modules" "$DEPS/node_modules/.bin/esbuild" "$SRC/src/main.js" \
  --bundle --minify --format=iife --target=es2020 --sourcemap=linked \
  --log-level=warning --outfile="$OUT/console.js"
cp "$SRC/index.html" "$OUT/index.html"
cp "$SRC/style.css" "$OUT/console.css"
