#!/usr/bin/env bash
# The Debian package built from the tree (debian/): dpkg-buildpackage -b in a
# copy of the tree, then its contents (binaries, both systemd units with
# ExecStart paths that exist in the package, the conffiles, sysusers and
# tmpfiles entries and their maintainer-script hooks, man pages),
# systemd-analyze verify on the units, and the
# packaged nimbusd run from the extracted package with the packaged
# configuration file: it starts, answers /healthz and lets the operator in
# with the password it wrote.  Nothing is installed on this machine (dpkg -i
# would start services; systemd does not run in the CI container), so
# "systemctl start nimbusd" itself is not exercised here.
set -euo pipefail
source "$(dirname "$0")/lib-nimbusd.sh"
SRC=${NIMBUS_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
for tool in dpkg-buildpackage dh dpkg-deb systemd-analyze; do
  if ! command -v "$tool" >/dev/null; then
    echo "package: $tool missing (scripts/install-deps.sh installs it); skipped"
    exit 77
  fi
done
WORK=$(mktemp -d /tmp/nimbus-pkg.XXXXXX)
_lib_tmpdirs+=("$WORK")
PKG=$WORK/root

# A copy of the tree: the package build writes debian/ build files and puts
# the .deb next to the tree, so neither lands in the checkout.
copy_tree() {
  mkdir -p "$WORK/src"
  if git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1; then
    (cd "$SRC" && git ls-files -z -c -o --exclude-standard | xargs -0 cp --parents -t "$WORK/src")
  else
    tar -C "$SRC" --exclude='./build*' --exclude='./obj-*' -cf - . | tar -C "$WORK/src" -xf -
  fi
}
check "the tree is copied" copy_tree

build_deb() {
  (cd "$WORK/src" &&
    DEB_BUILD_OPTIONS="parallel=$(nproc) noautodbgsym" dpkg-buildpackage -us -uc -b \
      >"$WORK/build.log" 2>&1) || {
    tail -40 "$WORK/build.log" >&2
    return 1
  }
  DEB=$(ls "$WORK"/nimbus-print_*_*.deb)
  dpkg-deb -x "$DEB" "$PKG" && dpkg-deb -e "$DEB" "$WORK/control"
}
check "dpkg-buildpackage -us -uc -b builds nimbus-print" build_deb

contents() {
  local f
  for f in usr/bin/nimbusd usr/bin/nimbusctl usr/sbin/nimbus-connector \
    lib/systemd/system/nimbusd.service lib/systemd/system/nimbus-connector.service \
    etc/nimbus/nimbusd.conf etc/nimbus-connector/nimbus-connector.conf \
    usr/lib/sysusers.d/nimbus.conf usr/lib/tmpfiles.d/nimbus.conf \
    usr/share/man/man8/nimbusd.8.gz usr/share/man/man8/nimbus-connector.8.gz \
    usr/share/man/man1/nimbusctl.1.gz usr/share/doc/nimbus-print/copyright; do
    [ -e "$PKG/$f" ] || { echo "missing in the package: /$f" >&2; return 1; }
  done
  dpkg-deb -c "$DEB" >"$WORK/contents" && grep -q ' ./usr/bin/nimbusd$' "$WORK/contents"
}
check "the package holds the binaries, units, configuration, sysusers, tmpfiles, man pages" contents

# Every ExecStart= of a unit names a binary and a --config file the package has.
unit_paths() {
  local unit line bin conf
  for unit in nimbusd nimbus-connector; do
    line=$(grep '^ExecStart=' "$PKG/lib/systemd/system/$unit.service")
    bin=${line#ExecStart=}
    bin=${bin%% *}
    conf=$(sed -n 's/.*--config \([^ ]*\).*/\1/p' <<<"$line")
    [ -x "$PKG$bin" ] || { echo "$unit: ExecStart binary $bin not in the package" >&2; return 1; }
    [ -f "$PKG$conf" ] || { echo "$unit: --config $conf not in the package" >&2; return 1; }
  done
}
check "the units' ExecStart binaries and config files are where the package puts them" unit_paths

# systemd-analyze verify (no systemd needs to run): unknown keys, bad values,
# a non-executable ExecStart.  The binaries are not installed here, so the
# copies point ExecStart into the extracted package.
units_verify() {
  mkdir -p "$WORK/units"
  local unit out
  for unit in nimbusd nimbus-connector; do
    sed "s|^ExecStart=/|ExecStart=$PKG/|" "$PKG/lib/systemd/system/$unit.service" \
      >"$WORK/units/$unit.service"
  done
  out=$(systemd-analyze verify --man=no "$WORK/units/nimbusd.service" \
    "$WORK/units/nimbus-connector.service" 2>&1) || { echo "$out" >&2; return 1; }
  [ -z "$out" ] || { echo "$out" >&2; return 1; }
}
check "systemd-analyze verify accepts both units" units_verify

hooks() {
  grep -qx '/etc/nimbus/nimbusd.conf' "$WORK/control/conffiles" &&
    grep -qx '/etc/nimbus-connector/nimbus-connector.conf' "$WORK/control/conffiles" &&
    grep -Eq '^u nimbus +' "$PKG/usr/lib/sysusers.d/nimbus.conf" &&
    grep -Eq '^u nimbus-connector +' "$PKG/usr/lib/sysusers.d/nimbus.conf" &&
    grep -Eq '^d /var/lib/nimbus +0700 +nimbus +nimbus ' "$PKG/usr/lib/tmpfiles.d/nimbus.conf" &&
    grep -q 'systemd-sysusers.* nimbus.conf' "$WORK/control/postinst" &&
    grep -q 'systemd-tmpfiles.*--create nimbus.conf' "$WORK/control/postinst" &&
    grep -q "deb-systemd-helper enable 'nimbusd.service'" "$WORK/control/postinst" &&
    grep -q "deb-systemd-invoke \$_dh_action 'nimbusd.service'" "$WORK/control/postinst" &&
    grep -q "debian-installed 'nimbus-connector.service'" "$WORK/control/postinst" &&
    ! grep -q "deb-systemd-invoke.*nimbus-connector" "$WORK/control/postinst"
}
# postinst: nimbusd is enabled and started; the connector is enabled again
# only if it was before (an upgrade), and never started by the package.
check "conffiles, users, /var/lib/nimbus, postinst hooks (nimbusd started, connector not)" hooks

# The packaged configuration documents every option nimbusd --help lists
# (except the ones that make no sense in a file: --config, --help, --version,
# and the test and first-start ones).
conf_lists_options() {
  local opt missing=0
  for opt in $("$PKG/usr/bin/nimbusd" --help | sed -n 's/^  --\([a-z-]*\).*/\1/p'); do
    case $opt in config | help | version | demo | fast-hashing | admin-password) continue ;; esac
    grep -Eq "^#$opt = " "$PKG/etc/nimbus/nimbusd.conf" || {
      echo "etc/nimbus/nimbusd.conf lacks '#$opt = ...'" >&2
      missing=1
    }
  done
  [ "$missing" -eq 0 ] && ! grep -Eq '^[a-z]' "$PKG/etc/nimbus/nimbusd.conf"
}
check "the packaged nimbusd.conf lists every option, all commented out" conf_lists_options

version() { "$PKG/usr/bin/nimbusd" --version | grep -Eq '^nimbusd [0-9]+\.[0-9]+\.[0-9]+ '; }
check "the packaged nimbusd --version" version

# The packaged binary with the packaged config (as the unit runs it, with a
# scratch state directory and a free port instead of /var/lib/nimbus and 8631).
PKG_PID=
stop_packaged() { [ -z "$PKG_PID" ] || { kill -TERM "$PKG_PID" 2>/dev/null; wait "$PKG_PID" || true; }; }
trap 'stop_packaged; _lib_cleanup' EXIT
starts_with_default_config() {
  "$PKG/usr/bin/nimbusd" --config "$PKG/etc/nimbus/nimbusd.conf" --state-dir "$WORK/state" \
    --port 0 >"$WORK/out" 2>"$WORK/log" &
  PKG_PID=$!
  local i port=
  for i in $(seq 1 600); do
    port=$(sed -n 's/.* port \([0-9]*\), state.*/\1/p' "$WORK/out" | head -1)
    [ -n "$port" ] && break
    kill -0 "$PKG_PID" 2>/dev/null || { cat "$WORK/out" "$WORK/log" >&2; return 1; }
    sleep 0.05
  done
  [ -n "$port" ] || return 1
  PKG_URL="http://127.0.0.1:$port"
  curl -fsS "$PKG_URL/healthz" >/dev/null
}
check "the packaged nimbusd starts with the packaged config and answers /healthz" starts_with_default_config

operator_signs_in() {
  [ -s "$WORK/state/admin-password" ] &&
    [ "$(stat -c %a "$WORK/state/admin-password")" = 600 ] &&
    curl -fsS -o /dev/null -u "admin@system:$(cat "$WORK/state/admin-password")" "$PKG_URL/api/v1/tenants"
}
check "first start writes admin-password (0600) and the operator signs in with it" operator_signs_in

stop_cleanly() {
  kill -TERM "$PKG_PID"
  local rc=0
  wait "$PKG_PID" || rc=$?
  PKG_PID=
  [ "$rc" -eq 0 ]
}
check "the packaged nimbusd stops cleanly on SIGTERM" stop_cleanly

finish package
