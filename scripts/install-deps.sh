#!/usr/bin/env bash
# Install every Debian package Nimbus Print needs to build, run and test.
# Usage: scripts/install-deps.sh [--runtime-only]
# Safe to run repeatedly; needs root (or sudo) and access to Debian's mirrors.
set -euo pipefail

build_pkgs=(
  build-essential pkg-config meson ninja-build clang libclang-rt-14-dev
  libcups2-dev libmicrohttpd-dev libsqlite3-dev libsodium-dev libjansson-dev
  libcurl4-openssl-dev libqpdf-dev libcmocka-dev zlib1g-dev libpq-dev libqrencode-dev
)
runtime_pkgs=(
  libcups2 libmicrohttpd12 libsqlite3-0 libsodium23 libjansson4 libcurl4 libqpdf29 zlib1g libpq5 libqrencode4
  cups cups-client cups-ipp-utils cups-daemon qpdf sqlite3 curl python3 procps openssl
  dbus avahi-daemon  # ippeveprinter (connector tests) needs both running
)
# the panel's browser test (tests/integration/test-panel-browser.sh): Debian's
# Chromium, driven by playwright-core from npm (tests/browser/package-lock.json)
test_pkgs=(chromium zbar-tools)
# the PostgreSQL store's contract suite (tests/pg/pg-cluster.sh): initdb and
# pg_ctl of Debian's server package run a private cluster per test run
test_pkgs+=(postgresql)
# several nodes behind a load balancer (tests/integration/test-two-nodes.sh):
# Debian's HAProxy in front of two nimbusd on one PostgreSQL database
test_pkgs+=(haproxy)
# the package test (tests/integration/test-package.sh): dpkg-buildpackage and
# dh; systemd-analyze (package systemd) verifies the units; mmdebstrap makes
# a clean Debian 12 root to install the package in, systemd-nspawn (package
# systemd-container) boots it
test_pkgs+=(dpkg-dev debhelper systemd mmdebstrap systemd-container)
# Node.js and npm: the web console's build (web/console, meson option
# `console`: npm ci and esbuild) and the browser tests.  From Debian unless
# a node and npm are already there (a Node.js from elsewhere bundles npm and
# conflicts with Debian's npm package).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  build_pkgs+=(nodejs npm)
fi

if [ "${1:-}" = "--runtime-only" ]; then build_pkgs=() test_pkgs=(); fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${build_pkgs[@]}" "${runtime_pkgs[@]}" "${test_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
