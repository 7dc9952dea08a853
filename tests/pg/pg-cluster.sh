#!/usr/bin/env bash
# pg-cluster.sh: a private PostgreSQL cluster for the store's contract suite
# (tests/unit/test-store-*.c with NIMBUS_TEST_PG_URL), made from Debian's
# postgresql package without touching the system's clusters.
#
# Usage: pg-cluster.sh start DIR   initdb in DIR/data (if new) and start it
#        pg-cluster.sh url DIR     print the URL of its database nimbus_test
#        pg-cluster.sh stop DIR    stop it (fast shutdown); DIR stays
#
# DIR should be new and empty (mktemp -d).  The server listens on a unix
# socket in DIR/sock only (listen_addresses is empty: no TCP), with
# fsync and synchronous_commit on, so tests see the durability production
# has.  PostgreSQL refuses to run as root: under root (CI) DIR is given to
# the `postgres` user and the server runs as it (runuser); clients connect
# as the database superuser `postgres` over the socket (trust auth, which
# only DIR's owner and root can reach: DIR is 0700).
# Any failure exits non-zero with the server log's tail on stderr.
set -euo pipefail

die() {
  echo "pg-cluster: $*" >&2
  exit 1
}

[ $# -eq 2 ] || die "usage: $0 start|url|stop DIR"
cmd=$1
dir=$2
[ -d "$dir" ] || die "$dir is not a directory"
dir=$(cd "$dir" && pwd)

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
[ -n "$bindir" ] && [ -x "$bindir/initdb" ] ||
  die "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin (scripts/install-deps.sh installs postgresql)"

# as_owner CMD...: run CMD as the cluster's owner
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

url() {
  echo "postgresql:///nimbus_test?host=$dir/sock&user=postgres"
}

case "$cmd" in
  start)
    if [ ! -d "$dir/data" ]; then
      mkdir -p "$dir/data" "$dir/sock"
      chmod 0700 "$dir"
      if [ "$(id -u)" -eq 0 ]; then
        getent passwd postgres >/dev/null || die "no 'postgres' user to run the server as"
        chown -R postgres: "$dir"
      fi
      as_owner "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 \
        --locale=C >"$dir/initdb.log" 2>&1 || {
        tail -20 "$dir/initdb.log" >&2
        die "initdb failed"
      }
    fi
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses='' -k $dir/sock -c fsync=on -c synchronous_commit=on" start \
      >/dev/null || {
      tail -20 "$dir/server.log" >&2 || true
      die "the server did not start"
    }
    if ! as_owner "$bindir/psql" -X -q -h "$dir/sock" -U postgres -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = 'nimbus_test'" | grep -q 1; then
      as_owner "$bindir/createdb" -h "$dir/sock" -U postgres nimbus_test ||
        die "cannot create the database nimbus_test"
    fi
    ;;
  url)
    url
    ;;
  stop)
    [ -f "$dir/data/postmaster.pid" ] || exit 0
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null ||
      die "the server did not stop"
    ;;
  *)
    die "usage: $0 start|url|stop DIR"
    ;;
esac
