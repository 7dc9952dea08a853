/*
 * remote-link.h: remote printer links as policy (docs/FEDERATION.md §1,
 * §3): what a link's fields must be, their defaults, the sealing of its
 * claim code or device credential, and the best-effort deregistration
 * when one is deleted.  The REST adapter is api/api-remote-links.c; the
 * thread that keeps each link's list is remote-sync.c.
 */
#ifndef NIMBUS_REMOTE_LINK_H
#define NIMBUS_REMOTE_LINK_H

#include <stdbool.h>
#include <stddef.h>

#include "server.h"
#include "store.h"

/* The status names of docs/FEDERATION.md §3. */
#define REMOTE_STATUS_CONNECTING "connecting"
#define REMOTE_STATUS_OK "ok"
#define REMOTE_STATUS_UNREACHABLE "unreachable"
#define REMOTE_STATUS_REFUSED "credential-refused"
#define REMOTE_STATUS_DEREGISTERED "deregistered"

/* Most links in the whole service the sync thread keeps (and that a list
 * answers at once). */
#define REMOTE_LINKS_MAX 256
/* Most remote jobs kept per link (Get-Jobs limit). */
#define REMOTE_JOBS_MAX 2000

/* Fill l's printer_uri, system_uri and service_url from the given values
 * (system_uri / service_url NULL or "": the defaults of FEDERATION.md §1).
 * false with a message naming the field in err. */
bool remote_link_set_uris(nimbus_remote_link_t *l, const char *printer_uri, const char *system_uri,
                          const char *service_url, char *err, size_t errlen);
/* Seal secret (a claim code when claim, else a device credential) into
 * l->sealed, bound to l's tenant and name; the link goes back to
 * connecting, to be tried at once.  false (err set) when the secrets key
 * is not available or secret is empty or too long. */
bool remote_link_seal(nimbus_server_t *srv, nimbus_remote_link_t *l, const char *secret, bool claim,
                      char *err, size_t errlen);
/* Open l->sealed into out (len bytes with the NUL); false when it does not
 * open (another secrets key) or there is none. */
bool remote_link_unseal(nimbus_server_t *srv, const nimbus_remote_link_t *l, char *out, size_t len);
/* Deregister-Output-Device for l, best effort (at most timeout_s
 * seconds): false with the reason in err when the remote did not
 * confirm. */
bool remote_link_deregister(nimbus_server_t *srv, const nimbus_remote_link_t *l, int timeout_s,
                            char *err, size_t errlen);

#endif
