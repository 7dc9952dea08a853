/*
 * services.h: the connector's side of the smart services
 * (docs/PROVISIONING.md §10): a thread that asks nimbusd which services
 * this printer has (GET /device/services, every --services-poll
 * seconds), reports supply levels and impressions, and uploads backups
 * on the schedule (full, or differential against the last full snapshot
 * kept in <state>.services.json).
 */
#ifndef NIMBUS_CONNECTOR_SERVICES_H
#define NIMBUS_CONNECTOR_SERVICES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct connector_s;
typedef struct services services_t;

/* Start the thread (NULL with err when it cannot); stop joins it (NULL:
 * nothing). */
services_t *services_start(struct connector_s *c, char *err, size_t errlen);
void services_stop(services_t *s);

/* The most recent scheduled backup time at or before now for a backup
 * configuration ({"period":"daily"|"weekly","weekdays":[…],"time":"HH:MM"},
 * UTC); 0 when the configuration names none. */
time_t services_backup_slot(const json_t *cfg, time_t now);

/* The differential of snapshot against base: per section ("connector",
 * "engine") the members that differ or are new, a removed one as null. */
json_t *services_backup_diff(const json_t *base, const json_t *snapshot);

#endif
