/*
 * intake.h: the connector's local IPP printer for PCs
 * (`--listen-ipp ADDR:PORT`, ipp://HOST:PORT/ipp/print; docs/PROTOCOL.md 7.1).
 *
 * Print-Job, Create-Job, Send-Document, Close-Job and Validate-Job are
 * forwarded to the first queue the printer serves, as the device on
 * behalf of requesting-user-name (upload.h streams the document through a
 * bounded buffer); Get-Printer-Attributes is answered here with the
 * marking engine's capabilities; Get-Job-Attributes and Get-Jobs know the
 * jobs this listener handed to nimbusd recently.
 */
#ifndef NIMBUS_CONNECTOR_INTAKE_H
#define NIMBUS_CONNECTOR_INTAKE_H

#include <stdbool.h>
#include <stddef.h>

struct connector_s;
typedef struct intake intake_t;

/* Listen on c->opt.listen_ipp; logs "ipp listening" with the bound port. */
intake_t *intake_start(struct connector_s *c, char *err, size_t errlen);
/* The bound port. */
int intake_port(const intake_t *in);
/* Stop listening, cut the uploads still running and wait for them. */
void intake_stop(intake_t *in);

#endif
