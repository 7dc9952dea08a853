/*
 * account-link.h: account links, a user's accounts on other print
 * services (docs/FEDERATION.md §2.2): created with the OAuth 2.0 device
 * grant (oauth-client.h), the token sealed at rest, checked again every
 * --account-link-check seconds and before a remote job is taken.  A
 * background thread (account-link-worker.c) polls pending grants and
 * re-checks linked accounts.
 */
#ifndef NIMBUS_ACCOUNT_LINK_H
#define NIMBUS_ACCOUNT_LINK_H

#include <stdbool.h>
#include <stddef.h>

#include "model.h"
#include "server.h"
#include "store.h"

#define ACCOUNT_LINK_MSG_MAX 256

typedef enum {
  ALINK_OK = 0,
  ALINK_INVALID,   /* the service URL is not one we accept (400) */
  ALINK_EXISTS,    /* the user already has a link to that service (409) */
  ALINK_NOT_FOUND, /* no such link or user (404) */
  ALINK_REMOTE,    /* the remote refused or did not answer (502), msg says why */
  ALINK_RELINK,    /* the remote refuses the link's token: relink needed */
  ALINK_ERROR      /* storage or sealing failed (500) */
} alink_result_t;

/* The status word of a link ("pending", "linked", "relink-needed", ...). */
const char *account_link_status_name(nimbus_link_status_t s);

/* The service URL of the tenant's remote printer links when they all
 * reach one service (the panel's default); false when none or several. */
bool account_link_default_service(nimbus_server_t *srv, nimbus_id_t tenant_id, char *out,
                                  size_t outlen);
/* Start a grant at service_url for the user: the remote's metadata, the
 * device authorization request, a pending link stored (audited
 * account-link.create by actor).  *out filled (sealed members cleared).
 * ALINK_INVALID when no remote printer link of the tenant reaches that
 * service. */
alink_result_t account_link_create(nimbus_server_t *srv, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                   const char *service_url, const char *actor,
                                   nimbus_account_link_t *out, char *msg, size_t msglen);
/* A new grant on an existing link (the old token is forgotten once the
 * grant starts); the link is pending again. */
alink_result_t account_link_relink(nimbus_server_t *srv, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                   nimbus_id_t id, const char *actor, nimbus_account_link_t *out,
                                   char *msg, size_t msglen);
/* Forget a link and its token (audited account-link.delete). */
alink_result_t account_link_delete(nimbus_server_t *srv, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                   nimbus_id_t id, const char *actor);
/* One of the user's links (NOT_FOUND for another user's). */
alink_result_t account_link_get(nimbus_server_t *srv, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                nimbus_id_t id, nimbus_account_link_t *out);

/* Before a remote job of the link to service_url is taken: ask whoami
 * now.  ALINK_OK: linked (remote_user, may be NULL, filled);
 * ALINK_RELINK: relink needed (the status is stored); ALINK_NOT_FOUND:
 * no linked account there; ALINK_REMOTE: no answer (status unchanged,
 * last_error set). */
alink_result_t account_link_verify(nimbus_server_t *srv, nimbus_id_t tenant_id, nimbus_id_t user_id,
                                   const char *service_url, char *remote_user,
                                   size_t remote_user_len);

/* The (service_url, remote_user) pairs of the user's linked accounts,
 * for the merged job list; cb returns false to stop. */
typedef bool (*account_link_pair_cb)(const char *service_url, const char *remote_user, void *ctx);
alink_result_t account_link_remote_users(nimbus_server_t *srv, nimbus_id_t tenant_id,
                                         nimbus_id_t user_id, account_link_pair_cb cb, void *ctx);

/* One pass of the worker over the links due at now (account-link.c):
 * pending ones are polled, linked ones checked.  Returns how many it
 * handled. */
int account_link_run_due(nimbus_server_t *srv, int64_t now);

/* The worker thread (account-link-worker.c): started and stopped with
 * nimbusd.  NULL on failure. */
typedef struct account_links account_links_t;
account_links_t *account_links_start(nimbus_server_t *srv, char *err, size_t errlen);
void account_links_stop(account_links_t *w);

#endif
