#!/usr/bin/env bash
# with-database.sh: run an integration test (a script whose nimbusd take
# $NIMBUS_TEST_STORE_URL as --store, as those started through
# tests/integration/lib-nimbusd.sh do) on a fresh PostgreSQL database.
#
# Usage: with-database.sh SCRIPT [ARGS...]
#
# Creates the database nimbus_it_<pid> next to the one $NIMBUS_TEST_PG_URL
# names (tests/pg/pg-cluster.sh url), runs SCRIPT with
# NIMBUS_TEST_STORE_URL pointing at it (every nimbusd of the test then uses
# it as --store), and drops it afterwards.  A test that passes without a
# nimbusd having made its schema in that database fails.  Without
# NIMBUS_TEST_PG_URL it skips (exit 77), or fails when CI=true, like the
# store's -pg unit tests.
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: $0 SCRIPT [ARGS...]" >&2; exit 2; }
if [ -z "${NIMBUS_TEST_PG_URL:-}" ]; then
  if [ "${CI:-}" = "true" ]; then
    echo "FAIL: NIMBUS_TEST_PG_URL is not set, and CI=true needs the PostgreSQL tests" >&2
    exit 1
  fi
  echo "SKIP: NIMBUS_TEST_PG_URL is not set (tests/pg/pg-cluster.sh start DIR)" >&2
  exit 77
fi

db="nimbus_it_$$"
# The same URL with another database (the path of a libpq URL).
store_url=$("$(dirname "$0")/database-url.sh" "$NIMBUS_TEST_PG_URL" "$db")
psql -X -q -v ON_ERROR_STOP=1 "$NIMBUS_TEST_PG_URL" -c "CREATE DATABASE $db" >/dev/null
drop() {
  psql -X -q "$NIMBUS_TEST_PG_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null || true
}
trap drop EXIT
rc=0
NIMBUS_TEST_STORE_URL="$store_url" "$@" || rc=$?
# A test that passed without ever using the database (a nimbusd started
# without --store NIMBUS_TEST_STORE_URL) ran on SQLite: not a pass here.
if [ "$rc" -eq 0 ] && [ "$(psql -X -q -At "$store_url" -c \
  "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'")" != 1 ]; then
  echo "FAIL: $1 passed, but no nimbusd made its schema in the database $db" >&2
  rc=1
fi
exit "$rc"
