/*
 * backup.h: printer data backups (docs/PROVISIONING.md §10 "Backup"):
 * snapshots uploaded by the connector, differentials resolved against
 * their full snapshot, retention, and the values a restore applies.
 */
#ifndef NIMBUS_BACKUP_H
#define NIMBUS_BACKUP_H

#include <jansson.h>
#include <stddef.h>

#include "server.h"

/* Retention when the printer's backup configuration names none. */
#define BACKUP_RETENTION_DEFAULT 7

/*
 * Accept a snapshot of printer d: mode "full" or "differential", body
 * {"connector":{…},"engine":{…}} (differential: the members that differ
 * from the full snapshot "base", a removed one as null).  Stores it, then
 * applies the retention of the printer's backup configuration.  Returns
 * an HTTP status: 201 (*out filled, out->json NULL), 400 (err says why),
 * 409 (the base is no full snapshot of this printer), 500.
 */
int backup_accept(nimbus_server_t *srv, const nimbus_device_t *d, const char *mode,
                  const json_t *body, nimbus_backup_t *out, char *err, size_t errlen);

/* Snapshot id of the tenant's printer device_id resolved to full
 * ({"connector","engine"}) into *doc (a new reference), its record into
 * *rec (may be NULL; json NULL).  STORE_NOT_FOUND: no such snapshot of
 * that printer. */
store_status_t backup_resolve(nimbus_server_t *srv, nimbus_id_t tenant_id, nimbus_id_t device_id,
                              nimbus_id_t id, json_t **doc, nimbus_backup_t *rec);

/*
 * The settings a restore of snapshot backup_id applies, as the JSON text
 * of a settings item's "values" (docs/PROVISIONING.md §1): the engine's
 * scalar "*-default" attributes and printer-sleep-timer, and the
 * connector's options as "connector.<option>".  malloc'd (the caller
 * frees); NULL with *status 404 (no such snapshot of that printer) or
 * 500.  The provisioning run of kind "restore" hands them to a settings
 * step.
 */
char *backup_restore_values(nimbus_server_t *srv, nimbus_id_t tenant_id, nimbus_id_t device_id,
                            nimbus_id_t backup_id, int *status);

#endif
