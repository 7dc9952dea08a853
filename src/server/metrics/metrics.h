/*
 * metrics.h: counters exported at /metrics in the Prometheus text format:
 * requests by operation and status, a request latency histogram, bytes
 * spooled, payments by the state they moved into, refused payment
 * callbacks, and jobs by state (read from the store at scrape time).
 */
#ifndef NIMBUS_METRICS_H
#define NIMBUS_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "server.h"

metrics_t *metrics_new(void);
void metrics_free(metrics_t *m);
/* Count one finished request: op label (static string), status (HTTP
 * status, or IPP status code when ipp_status >= 0), seconds taken. */
void metrics_request(metrics_t *m, const char *op, int http_status, int ipp_status, double seconds);
void metrics_bytes_spooled(metrics_t *m, int64_t n);
/* A device-channel request carried the credential of a deleted registration. */
void metrics_deleted_device_request(metrics_t *m);
/* A payment moved into state s (1..8, model.h nimbus_payment_state_t). */
void metrics_payment(metrics_t *m, int s);
/* A payment callback that proved nothing was refused (audited). */
void metrics_payment_callback_refused(metrics_t *m);
/* Remote printer links (federation/): n bytes received from link (its
 * name, of tenant_id); one INFRA operation sent (op: a static string). */
void metrics_remote_bytes(metrics_t *m, long long tenant_id, const char *link, int64_t n);
void metrics_remote_request(metrics_t *m, const char *op);
/* Render the exposition text; returns a malloc'd string (caller frees). */
/* long_polls: parked Get-Notifications requests (gauge). */
char *metrics_render(metrics_t *m, store_t *st, int long_polls, size_t *len);

#endif
