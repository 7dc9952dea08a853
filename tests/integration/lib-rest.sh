# lib-rest.sh: REST calls for integration tests that check status codes
# and bodies one call at a time.  Source after lib-nimbusd.sh, then:
#   call AUTH METHOD PATH [JSON]   AUTH "user@tenant:pw" or "" for none;
#                                  the body goes to $work/body, the HTTP
#                                  status to $status
#   body EXPR                      a Python expression on the body (as d)
#   is STATUS                      the last call answered STATUS
#   is_problem STATUS              ...with a problem document of that status

work=$(mktemp -d)
_lib_tmpdirs+=("$work")

call() {
  local auth=$1 method=$2 path=$3 data=${4-}
  local args=(-sS -o "$work/body" -w '%{http_code}' -X "$method" "$NIMBUS_URL/api/v1$path")
  [ -n "$auth" ] && args+=(-u "$auth")
  [ -n "$data" ] && args+=(-H 'Content-Type: application/json' --data-binary "$data")
  status=$(curl "${args[@]}")
}
body() { json_get "$1" <"$work/body"; }
is() { [ "$status" = "$1" ]; }
is_problem() { [ "$status" = "$1" ] && [ "$(body 'd["status"]')" = "$1" ]; }
