# demo-remote.sh: the part of scripts/demo.sh --with-remote that sets up
# "the remote" (a second nimbusd, already listening at $REMOTE_URL) and links
# the demo to it (docs/FEDERATION.md).  Sourced by demo.sh once the demo
# tenant's queues exist; uses its die, rest, exists, $URL, $ADMIN, $STATE,
# $REMOTE_URL and $REMOTE_PORT.  Each step is done only when missing, so a
# second start on the same state dir keeps the links.
#   remote: tenant "other", its admin other-admin, user alice, queue "inbox"
#           (release_immediately: its jobs are fetchable at once) and the
#           printer registration "demo-link" serving it;
#   demo:   the remote printer link "other" (queue office) with a claim
#           code of that registration; alice's account link to the remote,
#           approved at the remote as its alice (what she does at the
#           remote console's #/device page).

R_OPERATOR="admin@system:$(cat "$STATE/remote/admin-password")"
R_ADMIN="other-admin@other:other-admin-pass"
R_ALICE="alice@other:alice-other-pass"
# rrest METHOD PATH JSON AUTH: REST on the remote, the answer on stdout
rrest() {
  curl -fsS -u "$4" -X "$1" -H 'Content-Type: application/json' -d "$3" "$REMOTE_URL/api/v1$2"
}
# jfield EXPR: EXPR on the JSON document d read from standard input
jfield() { python3 -c 'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

if ! curl -fsS -o /dev/null -u "$R_ADMIN" "$REMOTE_URL/api/v1/queues/inbox" 2>/dev/null; then
  rrest POST /tenants '{"name":"other"}' "$R_OPERATOR" >/dev/null &&
    rrest POST '/users?tenant=other' '{"name":"other-admin","password":"other-admin-pass","role":"tenant-admin"}' \
      "$R_OPERATOR" >/dev/null &&
    rrest POST '/users?tenant=other' '{"name":"alice","password":"alice-other-pass","role":"user"}' \
      "$R_OPERATOR" >/dev/null &&
    rrest POST /queues '{"name":"inbox","description":"fetched by the demo service","release_immediately":true}' \
      "$R_ADMIN" >/dev/null || die "could not set up the remote's tenant 'other'"
fi

# The remote printer link "other": a claim code of the remote's printer
# registration "demo-link" (a new one when the link is made again).
if ! exists /remote-links/other; then
  if curl -fsS -o /dev/null -u "$R_ADMIN" "$REMOTE_URL/api/v1/printers/demo-link" 2>/dev/null; then
    R_CLAIM=$(rrest POST /printers/demo-link/claim-code '{}' "$R_ADMIN" | jfield "d['claim_code']")
  else
    R_CLAIM=$(rrest POST /printers '{"name":"demo-link","queues":["inbox"]}' "$R_ADMIN" |
      jfield "d['claim_code']")
  fi || die "could not get a claim code from the remote"
  rest POST /remote-links "{\"name\":\"other\",\"printer_uri\":\"ipp://127.0.0.1:$REMOTE_PORT/ipp/print/other/inbox\",
    \"queue\":\"office\",\"claim_code\":\"$R_CLAIM\"}" "$ADMIN" || die "could not create the remote printer link"
  unset R_CLAIM
fi

# alice's account link: created (or relinked) at home, approved at the remote.
A_LINK=$(curl -fsS -u alice@demo:alice-demo-pass "$URL/api/v1/me/account-links" |
  jfield "' '.join('%s %s' % (l['id'], l['status']) for l in d['account_links']
                   if l['service_url'] == '$REMOTE_URL')") || die "cannot list alice's account links"
if [ "${A_LINK#* }" != linked ]; then
  if [ -n "$A_LINK" ]; then
    CODE=$(curl -fsS -u alice@demo:alice-demo-pass -X POST \
      "$URL/api/v1/me/account-links/${A_LINK%% *}/relink" | jfield "d['user_code']") ||
      die "could not relink alice's account link"
  else
    CODE=$(curl -fsS -u alice@demo:alice-demo-pass -X POST -H 'Content-Type: application/json' \
      -d "{\"service_url\":\"$REMOTE_URL\"}" "$URL/api/v1/me/account-links" | jfield "d['user_code']") ||
      die "could not create alice's account link"
  fi
  echo "demo: approving alice's account link at the remote as alice@other (user code $CODE):"
  echo "demo: this is what alice does at $REMOTE_URL/#/device"
  rrest POST /oauth/device/approve "{\"user_code\":\"$CODE\"}" "$R_ALICE" >/dev/null ||
    die "the remote refused to approve user code $CODE"
fi

# the statuses for the banner: the account link turns linked once home has
# polled the token (the grant's interval, 5 s), the printer link ok once
# registered
link_status() { curl -fsS -u "$ADMIN" "$URL/api/v1/remote-links/other" | jfield "d['status']"; }
account_status() {
  curl -fsS -u alice@demo:alice-demo-pass "$URL/api/v1/me/account-links" |
    jfield "[l['status'] for l in d['account_links'] if l['service_url'] == '$REMOTE_URL'][0]"
}
for _ in $(seq 1 150); do
  REMOTE_LINK_STATUS=$(link_status 2>/dev/null) || REMOTE_LINK_STATUS=
  ACCOUNT_LINK_STATUS=$(account_status 2>/dev/null) || ACCOUNT_LINK_STATUS=
  [ "$REMOTE_LINK_STATUS" = ok ] && [ "$ACCOUNT_LINK_STATUS" = linked ] && break
  sleep 0.1
done

# remote_banner: the remote's part of the banner, printed after the demo's
remote_banner() {
  cat <<EOF
  The remote: another print service, linked (docs/FEDERATION.md)
    its console     $REMOTE_URL/   (alice@other / alice-other-pass)
    its queue       ipp://127.0.0.1:$REMOTE_PORT/ipp/print/other/inbox
    remote link     "other" on the demo tenant (queue office): ${REMOTE_LINK_STATUS:-?}
    account link    alice@demo is alice@other there: ${ACCOUNT_LINK_STATUS:-?}
    print there     curl -s -u alice@other:alice-other-pass -F queue=inbox \\
                      -F document=@tests/data/onepage.pdf $REMOTE_URL/api/v1/jobs
    see it here     curl -s -u alice@demo:alice-demo-pass '$URL/api/v1/jobs?include=remote'
                    curl -s -u demo-admin@demo:demo-admin-pass $URL/api/v1/remote-links/other/jobs
                    and in alice's list at the printer panel, newest first
+----------------------------------------------------------------------+
EOF
}
