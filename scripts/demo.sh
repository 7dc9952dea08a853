#!/usr/bin/env bash
# Install dependencies, build, and start a local Nimbus Print deployment on
# the embedded defaults: SQLite + local spool in ./nimbus-state, with a demo
# tenant, user and queue created on first start.  Runs in the foreground;
# Ctrl-C stops it gracefully.
# Usage: scripts/demo.sh [extra nimbusd flags, e.g. --port 9631]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
BUILD=${BUILD:-build}
[ -d "$BUILD" ] || meson setup "$BUILD" --buildtype=release
ninja -C "$BUILD"
exec "$BUILD/src/server/nimbusd" --demo --state-dir "${NIMBUS_STATE_DIR:-./nimbus-state}" "$@"
