/*
 * supplies.h: consumables auto-delivery (docs/PROVISIONING.md §10
 * "Consumables"): supply levels from the connector, thresholds, episodes
 * and exactly one order per supply and episode.
 */
#ifndef NIMBUS_SUPPLIES_H
#define NIMBUS_SUPPLIES_H

#include <jansson.h>
#include <stddef.h>

#include "server.h"

#define SUPPLIES_MAX 64 /* supplies in one report */

/*
 * Printer d reports supplies ([{"name","type","level"}], levels as IPP
 * marker-levels: 0..100, negative unknown).  With the printer's
 * consumables service enabled each level is compared with its threshold
 * (thresholds[type], else thresholds["*"]) and stored with its episode;
 * *orders (may be NULL) counts the orders made.  Without the service
 * nothing is stored.  Returns 204, 400 (err says why) or 500.
 */
int supplies_report(nimbus_server_t *srv, const nimbus_device_t *d, const json_t *supplies,
                    int *orders, char *err, size_t errlen);

#endif
