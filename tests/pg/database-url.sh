#!/usr/bin/env bash
# database-url.sh URL DB: print the libpq URL URL with its database (the
# path) replaced by DB, query string kept.  For tests/pg/with-database.sh
# and tests/integration/lib-nimbusd.sh, which make fresh databases next
# to the one NIMBUS_TEST_PG_URL names.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 URL DB" >&2; exit 2; }
python3 - "$1" "$2" <<'PY'
import re, sys
m = re.match(r"^(postgres(?:ql)?://[^/?]*)(?:/[^?]*)?(.*)$", sys.argv[1])
if not m:
    sys.exit("database-url.sh: not a postgresql:// URL")
print(m.group(1) + "/" + sys.argv[2] + m.group(2))
PY
