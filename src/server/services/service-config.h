/*
 * service-config.h: the cloud services a contract can switch on for a
 * printer (docs/PROVISIONING.md §10) and their "service conditions": the
 * settings each needs before it can be applied.
 */
#ifndef NIMBUS_SERVICE_CONFIG_H
#define NIMBUS_SERVICE_CONFIG_H

#include <jansson.h>
#include <stdbool.h>

#include "server.h"

/* The service names, as stored and as contract items' kinds. */
#define SERVICE_BACKUP "backup"
#define SERVICE_CONSUMABLES "consumables"
#define SERVICE_PARTS_LIFE "parts_life"

/* Whether name is one of the three services. */
bool service_known(const char *name);

/* The service conditions: NULL when settings (the contract's
 * service_settings.<service> object, may be NULL) hold every required
 * member of service, else the first missing member's name (static
 * text), for the reason "service settings lack <member>".  An unknown
 * service answers "service". */
const char *service_conditions_missing(const char *service, const json_t *settings);

/* The printer's enabled configuration of service as a new JSON object
 * (NULL: none, disabled, or unreadable); *contract_id (may be NULL) the
 * contract that wrote it. */
json_t *service_settings_load(nimbus_server_t *srv, nimbus_id_t device_id, const char *service,
                              nimbus_id_t *contract_id);

#endif
