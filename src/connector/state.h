/*
 * state.h: the connector's client-side registration, kept in one JSON
 * file (mode 0600; written to a temporary file, fsync'd, renamed over the
 * old one and the directory fsync'd, so a crash leaves the old or the new
 * file, never a torn one).  The file holds the device credential: it is
 * never logged and never shown on the panel.
 */
#ifndef NIMBUS_CONNECTOR_STATE_H
#define NIMBUS_CONNECTOR_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STATE_URIS_MAX 16
#define STATE_URI_MAX 1024

/* The registration status the panel and `status` show. */
typedef enum {
  STATE_UNREGISTERED = 0, /* no registration (never, or deleted by policy) */
  STATE_REGISTERED,       /* registered, talking to the server */
  STATE_DETECTED,         /* deregistration detected (continue / ask) */
  STATE_STOPPED           /* stopped by policy; registration kept */
} state_status_t;

typedef struct {
  char server[STATE_URI_MAX];
  char uuid[64];
  char credential[96];
  char uris[STATE_URIS_MAX][STATE_URI_MAX];
  size_t nuris;
  char registered_at[32];
  state_status_t status;
  char status_changed_at[32];
  char panel_url[128]; /* where the running daemon's panel listens */
  int64_t jobs_printed;
} state_t;

const char *state_status_name(state_status_t s);
bool state_status_parse(const char *s, state_status_t *out);
/* Is a registration present (server, uuid, credential, at least one URI)? */
bool state_has_registration(const state_t *st);
/* Forget the registration (server, uuid, credential, URIs, registered_at). */
void state_clear_registration(state_t *st);
/* Current UTC time as "YYYY-MM-DDTHH:MM:SSZ". */
void state_now(char out[32]);

/* Load path into *st.  A missing file is an error (errno ENOENT kept). */
bool state_load(const char *path, state_t *st, char *err, size_t errlen);
/* Write *st to path atomically with mode 0600. */
bool state_save(const char *path, const state_t *st, char *err, size_t errlen);

#endif
