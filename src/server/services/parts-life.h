/*
 * parts-life.h: parts-life alerts (docs/PROVISIONING.md §10 "Parts
 * life"): from the impressions a printer reports, one alert per part and
 * life cycle when the part reaches its threshold.
 */
#ifndef NIMBUS_PARTS_LIFE_H
#define NIMBUS_PARTS_LIFE_H

#include <stddef.h>
#include <stdint.h>

#include "server.h"

/*
 * Printer d reports impressions (its lifetime count).  With its
 * parts_life service enabled, each part of "parts" ({"<part>": life in
 * impressions}) whose used = impressions - impressions at its last
 * replacement reaches life × threshold / 100 gets its one alert of the
 * cycle; *alerts (may be NULL) counts the new ones.  Returns 204, 400 or
 * 500.
 */
int parts_report(nimbus_server_t *srv, const nimbus_device_t *d, int64_t impressions, int *alerts,
                 char *err, size_t errlen);

#endif
