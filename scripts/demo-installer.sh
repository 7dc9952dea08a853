#!/bin/sh
# demo-installer.sh: the demo printer's installer command
# (docs/PROVISIONING.md §9).  The demo's "printer" is a directory, so
# installing a package means keeping a copy of it and its version:
#   demo-installer.sh install <kind> <name> <version> <file>
#       copies FILE to $NIMBUS_DEMO_INSTALLED/<kind>-<name>.bin, records the
#       version, prints version=<version>; exit 0
#   demo-installer.sh query <kind> <name>
#       version=<v> and exit 0 when installed, exit 1 when not
# NIMBUS_DEMO_INSTALLED: the directory (scripts/demo.sh sets it through
# the small wrapper it writes into the state dir).  Any other use: exit 64
# with the reason on stderr (a permanent failure for the connector).
set -eu
dir=${NIMBUS_DEMO_INSTALLED:?NIMBUS_DEMO_INSTALLED is not set}
case "${1:-}" in
  install)
    [ $# -eq 5 ] || { echo "usage: $0 install KIND NAME VERSION FILE" >&2; exit 64; }
    case "$2" in firmware | application) ;; *) echo "unknown kind '$2'" >&2; exit 64 ;; esac
    mkdir -p "$dir"
    cp "$5" "$dir/$2-$3.bin.tmp" && mv "$dir/$2-$3.bin.tmp" "$dir/$2-$3.bin"
    printf '%s\n' "$4" >"$dir/$2-$3.version.tmp" && mv "$dir/$2-$3.version.tmp" "$dir/$2-$3.version"
    echo "version=$4"
    ;;
  query)
    [ $# -eq 3 ] || { echo "usage: $0 query KIND NAME" >&2; exit 64; }
    [ -s "$dir/$2-$3.version" ] || exit 1
    echo "version=$(cat "$dir/$2-$3.version")"
    ;;
  *)
    echo "usage: $0 install|query ..." >&2
    exit 64
    ;;
esac
