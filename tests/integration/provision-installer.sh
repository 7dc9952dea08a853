#!/bin/sh
# provision-installer.sh: the installer command (docs/PROVISIONING.md §9)
# of test-provisioning-e2e.sh.  It "installs" by writing the version to
# $PROV_STATE/<kind>-<name> and appends one line per call to the shared
# $PROV_LOG:
#   install <printer> <kind> <name> <version> settings=<yes|no> step=<id>  (at the start)
#   installed <printer> <kind> <name> <version>                           (once done)
#   query <printer> <kind> <name> <installed version or ->
# settings=yes when the connector's provisioned.conf ($PROV_CONF) exists, so
# the test sees that the settings step came first.  Behaviour switches, files
# in $PROV_STATE: slow-<name> (sleep that many seconds before installing),
# fail-<name> (exit 3, a permanent failure with a reason on stderr).
# Environment: PROV_LOG, PROV_STATE, PROV_PRINTER, PROV_CONF (set by the
# test), NIMBUS_STEP_ID and NIMBUS_PRINTER_URI (set by the connector).
set -u
op=$1 kind=$2 name=$3
case "$op" in
query)
  if [ -f "$PROV_STATE/$kind-$name" ]; then
    v=$(cat "$PROV_STATE/$kind-$name")
    echo "query $PROV_PRINTER $kind $name $v" >>"$PROV_LOG"
    echo "version=$v"
    exit 0
  fi
  echo "query $PROV_PRINTER $kind $name -" >>"$PROV_LOG"
  exit 1
  ;;
install)
  version=$4 file=$5
  [ -n "${NIMBUS_PRINTER_URI:-}" ] || { echo "no NIMBUS_PRINTER_URI" >&2; exit 2; }
  [ -s "$file" ] || { echo "package file missing: $file" >&2; exit 2; }
  s=no
  [ -f "$PROV_CONF" ] && s=yes
  echo "install $PROV_PRINTER $kind $name $version settings=$s step=${NIMBUS_STEP_ID:-}" >>"$PROV_LOG"
  if [ -f "$PROV_STATE/fail-$name" ]; then
    echo "simulated failure: $name does not fit this printer" >&2
    echo "second line, not the reason" >&2
    exit 3
  fi
  if [ -f "$PROV_STATE/slow-$name" ]; then
    sleep "$(cat "$PROV_STATE/slow-$name")"
  fi
  printf '%s' "$version" >"$PROV_STATE/$kind-$name.tmp"
  mv "$PROV_STATE/$kind-$name.tmp" "$PROV_STATE/$kind-$name"
  echo "installed $PROV_PRINTER $kind $name $version" >>"$PROV_LOG"
  echo "version=$version"
  exit 0
  ;;
esac
echo "unknown operation $op" >&2
exit 2
