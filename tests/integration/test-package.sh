#!/usr/bin/env bash
# The Debian package built from the tree (debian/): dpkg-buildpackage -b in a
# copy of the tree, then its contents (binaries, both systemd units with
# ExecStart paths that exist in the package, the conffiles, sysusers and
# tmpfiles entries and their maintainer-script hooks, man pages),
# systemd-analyze verify on the units, and the packaged nimbusd run from the
# extracted package with the packaged configuration file, and the web
# console's files (docs/CONSOLE.md) in /usr/share/nimbus/console.
#
# Then the package is installed on a clean Debian 12: a minimal bookworm root
# made with mmdebstrap (debootstrap if mmdebstrap is missing) from the
# mirrors this machine's apt uses, `dpkg -i` in a chroot and `apt-get -f
# install` for its dependencies (the maintainer scripts create the users and
# /var/lib/nimbus and enable nimbusd.service); the root is booted with
# systemd-nspawn --boot (own network namespace), where systemd starts
# nimbusd.service as enabled, `systemctl stop` / `systemctl start nimbusd`
# work, /healthz answers and the operator signs in with the password the
# first start wrote; `dpkg --purge` stops the unit and leaves no file behind.
# Nothing is installed on this machine.  The root is made anew every run
# (nothing cached); the phases' durations are printed.  Without root,
# without a way to make the root (no mmdebstrap/debootstrap, mirror not
# reachable) or without systemd-nspawn the install part says why and is
# skipped (exit 77), unless NIMBUS_TEST_INSTALL=1 or CI=true: then the
# package is installed on this machine (dpkg -i), nimbusd started as the
# unit would start it (systemd is not PID 1 in CI's container), checked and
# the package purged (NIMBUS_TEST_INSTALL=host forces this mode).
set -euo pipefail
# a private mount namespace: what the install part mounts in its root goes
# away with the test, whatever happens
if [ "$(id -u)" = 0 ] && [ -z "${NIMBUS_PKG_MOUNT_NS:-}" ] &&
  unshare -m --propagation private true 2>/dev/null; then
  NIMBUS_PKG_MOUNT_NS=1 exec unshare -m --propagation private "$0" "$@"
fi
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
    usr/share/man/man1/nimbusctl.1.gz usr/share/doc/nimbus-print/copyright \
    usr/share/nimbus/console/index.html usr/share/nimbus/console/console.js \
    usr/share/nimbus/console/console.css; do
    [ -e "$PKG/$f" ] || { echo "missing in the package: /$f" >&2; return 1; }
  done
  dpkg-deb -c "$DEB" >"$WORK/contents" && grep -q ' ./usr/bin/nimbusd$' "$WORK/contents"
}
check "the package holds the binaries, units, configuration, sysusers, tmpfiles, man pages, web console" contents

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
# the install part's container and chroot mounts (defined below)
stop_installed() { :; }
stop_packaged() { [ -z "$PKG_PID" ] || { kill -TERM "$PKG_PID" 2>/dev/null; wait "$PKG_PID" || true; }; }
trap 'stop_packaged; stop_installed; _lib_cleanup' EXIT
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


# ---- Installed on a clean Debian 12 -------------------------------------
# In a root made for the test, booted with systemd-nspawn (MODE=container);
# where that is not possible and CI=true or NIMBUS_TEST_INSTALL=1, on this
# machine itself (MODE=host: dpkg -i, nimbusd started as the unit would
# start it, since systemd is not PID 1 here; purged at the end);
# NIMBUS_TEST_INSTALL=host forces the latter.  Otherwise skipped (77).
ROOT=$WORK/debian12
MODE=container
NSPAWN_PID=
LEADER=
PROC_MOUNTED=
HOST_PID=
HOST_INSTALLED=
stop_installed() {
  if [ -n "$NSPAWN_PID" ] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
    kill -TERM "$NSPAWN_PID" 2>/dev/null # nspawn shuts the container down
    for _ in $(seq 1 300); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$NSPAWN_PID" 2>/dev/null || true
    wait "$NSPAWN_PID" 2>/dev/null || true
  fi
  NSPAWN_PID=
  [ -z "$PROC_MOUNTED" ] || umount -l "$ROOT/proc" 2>/dev/null || true
  PROC_MOUNTED=
  if [ -n "$HOST_PID" ]; then
    kill -TERM "$HOST_PID" 2>/dev/null || true
    wait "$HOST_PID" 2>/dev/null || true
    HOST_PID=
  fi
  # never leave the package installed on this machine
  [ -z "$HOST_INSTALLED" ] || dpkg --purge nimbus-print >/dev/null 2>&1 || true
  HOST_INSTALLED=
}
install_must_run() {
  case ${NIMBUS_TEST_INSTALL:-} in 1 | host) return 0 ;; esac
  [ "${CI:-}" = true ]
}
SECONDS=0
phase() { echo "package: $1 took ${SECONDS}s"; SECONDS=0; }

# apt's Debian 12 sources on this machine, as one-line entries
debian_sources() {
  apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' 'Identifier: Packages' \
    2>/dev/null | awk '$2 ~ /^bookworm(-updates|-security)?$/ { print "deb " $1 " " $2 " " $3 }' |
    sort -u
}
make_root() {
  local -a sources
  mapfile -t sources < <(debian_sources)
  [ "${#sources[@]}" -gt 0 ] || sources=("deb http://deb.debian.org/debian bookworm main")
  if command -v mmdebstrap >/dev/null; then
    mmdebstrap --variant=minbase --dpkgopt=force-unsafe-io --aptopt='Acquire::Languages "none"' \
      bookworm "$ROOT" "${sources[@]}" >"$WORK/root.log" 2>&1
  else
    local main
    main=$(printf '%s\n' "${sources[@]}" | awk '$3 == "bookworm" { print $2; exit }')
    debootstrap --variant=minbase bookworm "$ROOT" "$main" >"$WORK/root.log" 2>&1 &&
      printf '%s\n' "${sources[@]}" >"$ROOT/etc/apt/sources.list"
  fi
}

why_not=
if [ "$(id -u)" != 0 ]; then
  why_not="needs root (chroot, systemd-nspawn, dpkg -i)"
elif [ "${NIMBUS_TEST_INSTALL:-}" = host ]; then
  why_not="NIMBUS_TEST_INSTALL=host"
elif ! command -v systemd-nspawn >/dev/null; then
  why_not="no systemd-nspawn (package systemd-container, scripts/install-deps.sh)"
elif ! command -v mmdebstrap >/dev/null && ! command -v debootstrap >/dev/null; then
  why_not="neither mmdebstrap nor debootstrap (scripts/install-deps.sh installs them)"
elif ! make_root; then
  tail -5 "$WORK/root.log"
  why_not="no Debian 12 root could be made (mirror not reachable?)"
fi
if [ -n "$why_not" ]; then
  echo "package: no clean Debian 12 root to install in: $why_not"
  if ! install_must_run || [ "$(id -u)" != 0 ]; then
    echo "package: install part skipped (CI=true or NIMBUS_TEST_INSTALL=1 installs on this" \
      "machine instead)"
    exit 77
  fi
  grep -q '^VERSION_ID="12"' /etc/os-release || { echo "FAILED - this machine is not Debian 12" >&2; exit 1; }
  if dpkg-query -W -f '${Status}' nimbus-print 2>/dev/null | grep -q installed; then
    echo "FAILED - nimbus-print is installed on this machine already; not touching it" >&2
    exit 1
  fi
  MODE=host
  ROOT=
  echo "package: installing on this machine instead (purged at the end)"
else
  phase "making the minimal Debian 12 root"
  clean_root() {
    grep -q '^VERSION_ID="12"' "$ROOT/etc/os-release" &&
      ! chroot "$ROOT" dpkg-query -W systemd >/dev/null 2>&1 &&
      ! chroot "$ROOT" getent passwd nimbus >/dev/null
  }
  check "a minimal Debian 12 root (no systemd, no user nimbus)" clean_root
fi

# a command in the root (container mode), or here (host mode)
in_root() {
  if [ "$MODE" = container ]; then
    chroot "$ROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"
  else
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"
  fi
}
install_package() {
  if [ "$MODE" = container ]; then
    mount -t proc proc "$ROOT/proc" && PROC_MOUNTED=1
    cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
  fi
  cp "$DEB" "$ROOT/tmp/"
  [ "$MODE" = container ] || HOST_INSTALLED=1
  # dpkg -i stops at the missing libraries; apt-get -f install fetches them
  # and configures the package
  in_root dpkg -i "/tmp/${DEB##*/}" >"$WORK/install.log" 2>&1 || {
    { in_root apt-get update -qq && in_root apt-get -f install -y -qq --no-install-recommends; } \
      >>"$WORK/install.log" 2>&1 || { tail -30 "$WORK/install.log" >&2; return 1; }
  }
  rm -f "$ROOT/tmp/${DEB##*/}"
  [ "$(in_root dpkg-query -W -f '${Status}' nimbus-print)" = "install ok installed" ] || {
    tail -30 "$WORK/install.log" >&2
    return 1
  }
  in_root dpkg -L nimbus-print >"$WORK/installed-files"
  [ -z "$PROC_MOUNTED" ] || { umount "$ROOT/proc" && PROC_MOUNTED=; }
}
check "dpkg -i (then apt-get -f install): nimbus-print and its dependencies install" install_package
phase "installing the package and its dependencies"

maintainer_scripts() {
  local wants=$ROOT/etc/systemd/system/multi-user.target.wants
  in_root getent passwd nimbus >/dev/null && in_root getent passwd nimbus-connector >/dev/null &&
    [ "$(in_root stat -c '%a %U %G' /var/lib/nimbus)" = "700 nimbus nimbus" ] &&
    [ "$(in_root stat -c '%a %U' /var/lib/nimbus-connector)" = "700 nimbus-connector" ] &&
    [ "$(readlink "$wants/nimbusd.service")" = /lib/systemd/system/nimbusd.service ] &&
    [ ! -e "$wants/nimbus-connector.service" ]
}
check "postinst: users nimbus and nimbus-connector, /var/lib/nimbus* 0700, nimbusd.service enabled, the connector not" \
  maintainer_scripts


# ---- host mode: systemd is not PID 1 here, so nimbusd is started as the
# unit would start it: its ExecStart, as its User=, with its UMask=
unit_value() { sed -n "s/^$1=//p" /lib/systemd/system/nimbusd.service | head -1; }
host_healthz() {
  for _ in $(seq 1 200); do
    curl -fsS -o /dev/null --max-time 5 http://127.0.0.1:8631/healthz 2>/dev/null && return 0
    kill -0 "$HOST_PID" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
host_start() {
  local exec user umask_
  exec=$(unit_value ExecStart) user=$(unit_value User) umask_=$(unit_value UMask)
  [ -n "$exec" ] && [ "$user" = nimbus ] || return 1
  ! curl -s -o /dev/null --max-time 2 http://127.0.0.1:8631/ || {
    echo "port 8631 is in use on this machine" >&2
    return 1
  }
  # shellcheck disable=SC2086 # ExecStart's words
  (umask "$umask_" && cd / && exec setpriv --reuid="$user" --regid="$user" --init-groups -- $exec) \
    >"$WORK/host.log" 2>&1 &
  HOST_PID=$!
  host_healthz || { cat "$WORK/host.log" >&2; return 1; }
}
host_signs_in() {
  [ "$(stat -c '%a %U' /var/lib/nimbus/admin-password)" = "600 nimbus" ] &&
    curl -fsS -o /dev/null -u "admin@system:$(cat /var/lib/nimbus/admin-password)" \
      http://127.0.0.1:8631/api/v1/tenants &&
    [ "$(stat -c %U "/proc/$HOST_PID")" = nimbus ] &&
    [ "$(tr '\0' ' ' <"/proc/$HOST_PID/cmdline")" = "$(unit_value ExecStart) " ]
}
host_stop() {
  kill -TERM "$HOST_PID"
  local rc=0
  wait "$HOST_PID" || rc=$?
  HOST_PID=
  [ "$rc" -eq 0 ]
}
host_purge() {
  dpkg --purge nimbus-print >"$WORK/purge.log" 2>&1 || { cat "$WORK/purge.log" >&2; return 1; }
  HOST_INSTALLED=
  local f left=0
  while read -r f; do
    [ -d "$f" ] && continue
    [ ! -e "$f" ] && [ ! -L "$f" ] || { echo "left after purge: $f" >&2; left=1; }
  done <"$WORK/installed-files"
  while read -r f; do
    echo "left after purge: $f" >&2
    left=1
  # (names of this package's files: fonts called "URW Nimbus" are not)
  done < <(find /etc /var/lib /lib/systemd /usr/lib/systemd /usr/lib/sysusers.d /usr/lib/tmpfiles.d \
    /usr/share/doc /usr/share/man -xdev -regextype posix-extended \
    -regex '.*/nimbus(d|ctl|-print|-connector)?([.-][^/]*)?' 2>/dev/null)
  [ "$left" -eq 0 ]
}
if [ "$MODE" = host ]; then
  check "nimbusd started as nimbusd.service would (ExecStart, User=nimbus, UMask) answers /healthz" host_start
  check "the operator signs in with /var/lib/nimbus/admin-password (0600, nimbus); nimbusd runs as nimbus" \
    host_signs_in
  check "nimbusd stops cleanly on SIGTERM" host_stop
  check "dpkg --purge leaves no file behind" host_purge
  phase "the installed service checks and the purge"
  finish package
  exit 0
fi

# Boot the root with systemd as PID 1, in its own network namespace (only
# loopback: port 8631 there is the container's).
in_container() { nsenter -t "$LEADER" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
container_curl() { nsenter -t "$LEADER" -n curl -sS --max-time 10 "$@"; }
boot() {
  echo nimbus-test >"$ROOT/etc/hostname"
  systemd-nspawn -D "$ROOT" --machine "nimbus-pkg-$$" --boot --private-network --register=no --keep-unit \
    --console=pipe -q </dev/null >"$WORK/boot.log" 2>&1 &
  NSPAWN_PID=$!
  local state=
  for _ in $(seq 1 600); do
    LEADER=$(pgrep -P "$NSPAWN_PID" -x systemd || true)
    [ -n "$LEADER" ] && break
    kill -0 "$NSPAWN_PID" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$LEADER" ] || { cat "$WORK/boot.log" >&2; return 1; }
  # until systemd's bus is up, then until start-up is over
  for _ in $(seq 1 600); do
    state=$(timeout 120 nsenter -t "$LEADER" -a systemctl is-system-running --wait 2>&1) || true
    case $state in *"Failed to connect to bus"*) sleep 0.1 ;; *) break ;; esac
    kill -0 "$NSPAWN_PID" 2>/dev/null || break
  done
  [ "$state" = running ] || {
    echo "systemd in the container: $state" >&2
    in_container systemctl --failed --no-pager >&2 || true
    cat "$WORK/boot.log" >&2
    return 1
  }
}
check "systemd-nspawn --boot: systemd runs the Debian 12 root" boot
phase "booting the root"

healthz() {
  for _ in $(seq 1 100); do
    container_curl -f -o /dev/null http://127.0.0.1:8631/healthz 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
started_at_boot() {
  [ "$(in_container systemctl is-enabled nimbusd)" = enabled ] &&
    [ "$(in_container systemctl is-active nimbusd)" = active ] && healthz || {
    in_container journalctl -u nimbusd --no-pager >&2 || true
    return 1
  }
}
check "systemd starts the enabled nimbusd.service at boot; /healthz answers on 127.0.0.1:8631" started_at_boot

runs_as_nimbus() {
  local pid
  pid=$(in_container systemctl show -p MainPID --value nimbusd)
  [ "$pid" -gt 0 ] && [ "$(in_container stat -c %U "/proc/$pid")" = nimbus ] &&
    in_container cat "/proc/$pid/cmdline" | tr '\0' ' ' |
    grep -qx '/usr/bin/nimbusd --config /etc/nimbus/nimbusd.conf --state-dir /var/lib/nimbus '
}
check "nimbusd runs as user nimbus with the unit's ExecStart" runs_as_nimbus

operator_signs_in_installed() {
  local pw=$ROOT/var/lib/nimbus/admin-password
  [ "$(in_root stat -c '%a %U' /var/lib/nimbus/admin-password)" = "600 nimbus" ] &&
    container_curl -f -o /dev/null -u "admin@system:$(cat "$pw")" http://127.0.0.1:8631/api/v1/tenants &&
    [ "$(container_curl -o /dev/null -w '%{http_code}' -u 'admin@system:wrong' \
      http://127.0.0.1:8631/api/v1/tenants)" = 401 ]
}
check "the operator signs in with /var/lib/nimbus/admin-password (0600, nimbus); a wrong one is refused" \
  operator_signs_in_installed

stop_start() {
  in_container systemctl stop nimbusd &&
    [ "$(in_container systemctl is-active nimbusd)" = inactive ] &&
    ! container_curl -f -o /dev/null http://127.0.0.1:8631/healthz 2>/dev/null &&
    in_container systemctl start nimbusd &&
    [ "$(in_container systemctl is-active nimbusd)" = active ] && healthz &&
    container_curl -f -o /dev/null -u "admin@system:$(cat "$ROOT/var/lib/nimbus/admin-password")" \
      http://127.0.0.1:8631/api/v1/tenants
}
check "systemctl stop nimbusd stops it; systemctl start nimbusd starts it again, same operator password" stop_start

# Does nimbusd's journal hold a line matching PATTERN?  grep reads it all
# (not grep -q): an early exit would kill journalctl with SIGPIPE, and
# pipefail would count that as a failure.
journal_has() {
  in_container journalctl -u nimbusd --no-pager -o cat | grep -- "$1" >/dev/null
}

reload() {
  local pid
  pid=$(in_container systemctl show -p MainPID --value nimbusd)
  in_container systemctl reload nimbusd && healthz &&
    [ "$(in_container systemctl show -p MainPID --value nimbusd)" = "$pid" ] &&
    journal_has 'msg="configuration reloaded"'
}
check "systemctl reload nimbusd: SIGHUP re-reads the configuration, same process" reload

# dpkg --purge with systemd running: prerm stops the unit, postrm removes
# the enable links, the conffiles and the state directories.
purge_leaves_nothing() {
  in_container dpkg --purge nimbus-print >"$WORK/purge.log" 2>&1 || {
    cat "$WORK/purge.log" >&2
    return 1
  }
  local f left=0
  [ "$(in_container systemctl is-active nimbusd)" != active ] || {
    echo "nimbusd still runs after the purge" >&2
    left=1
  }
  while read -r f; do
    # shared directories (/usr/bin, /lib -> usr/lib, ...); the package's
    # own (/etc/nimbus, ...) have "nimbus" in their name: the find below
    [ -d "$ROOT$f" ] && continue
    [ ! -e "$ROOT$f" ] && [ ! -L "$ROOT$f" ] || { echo "left after purge: $f" >&2; left=1; }
  done <"$WORK/installed-files"
  # anything else named after the package (enable links, state, config dirs)
  while read -r f; do
    echo "left after purge: ${f#"$ROOT"}" >&2
    left=1
  done < <(find "$ROOT" -xdev \( -path "$ROOT/proc" -o -path "$ROOT/var/log" \) -prune -o \
    -name '*nimbus*' -print)
  [ "$left" -eq 0 ]
}
check "dpkg --purge stops nimbusd and leaves no file behind" purge_leaves_nothing

power_off() {
  in_container systemctl poweroff 2>/dev/null || true
  local rc=0
  wait "$NSPAWN_PID" || rc=$?
  NSPAWN_PID=
  [ "$rc" -eq 0 ]
}
check "the container powers off cleanly" power_off
phase "the installed service checks and the purge"

finish package
