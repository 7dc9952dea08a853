/*
 * provision.h: the connector's side of contract-driven provisioning
 * (docs/PROVISIONING.md §8.2, §8.3, §9).  A thread of its own asks nimbusd
 * for the next step (GET /device/provisioning), journals it, applies it
 * (settings, or a package downloaded and handed to the installer command)
 * and reports the result; it also sends the printer's inventory.
 *
 *   provision.c           the thread: poll, drive a step, report, inventory
 *   provision-journal.c   DIR/step-<id>.json, durable per-step state
 *   provision-download.c  streamed, hashed, resumable package download
 *   provision-install.c   the installer command (§9): fork/exec, timeout
 *   provision-settings.c  connector.<option> into provisioned.conf; engine
 *                         defaults through Set-Printer-Attributes (ippc.c)
 */
#ifndef NIMBUS_CONNECTOR_PROVISION_H
#define NIMBUS_CONNECTOR_PROVISION_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "options.h"

struct connector_s;

/* ---- journal (provision-journal.c) ---- */

/*
 * A step's life on this printer.  `received` → `downloaded` →
 * `installing` → `applied` (outcome confirmed, to report) or `failed`
 * (outcome failed, to report); once nimbusd acknowledged the report the
 * file is removed (`reported`).  A settings step goes from `received`
 * straight to its outcome.
 */
typedef enum {
  PJ_RECEIVED = 0,
  PJ_DOWNLOADED,
  PJ_INSTALLING,
  PJ_APPLIED,
  PJ_FAILED,
  PJ_REPORTED
} pj_state_t;

#define PJ_NAME_MAX 65
#define PJ_REASON_MAX 256

typedef struct {
  int64_t id;
  pj_state_t state;
  char kind[16]; /* settings | firmware | application */
  char name[PJ_NAME_MAX];
  char version[PJ_NAME_MAX]; /* target version (packages) */
  int64_t package_id;        /* 0: none */
  int64_t package_size;
  char sha256[65];
  json_t *target; /* the step's target (owned) */
  /* the outcome, once known */
  char result_version[PJ_NAME_MAX];
  char reason[PJ_REASON_MAX];
  bool transient;
} pj_step_t;

const char *pj_state_name(pj_state_t s);
/* Fill *st from a served step (§8.1 `step`); false with a message. */
bool pj_from_wire(json_t *step, pj_step_t *st, char *err, size_t errlen);
/* Write DIR/step-<id>.json durably (temp file, fsync, rename, fsync dir). */
bool pj_save(const char *dir, const pj_step_t *st, char *err, size_t errlen);
/* Read DIR/step-<id>.json; false when absent or unreadable. */
bool pj_load(const char *dir, int64_t id, pj_step_t *st);
/* Remove DIR/step-<id>.json (the report was acknowledged). */
void pj_remove(const char *dir, int64_t id);
/* The step ids journaled in DIR, ascending, at most max; returns the count. */
size_t pj_list(const char *dir, int64_t *ids, size_t max);
void pj_free(pj_step_t *st);

/* ---- download (provision-download.c) ---- */

/*
 * Fetch url into DIR/pkg-<id>.part, hashing while writing, resuming a
 * partial file with a Range request; the SHA-256 is checked before the
 * rename to DIR/pkg-<id>.  A mismatch deletes the file (false, *mismatch
 * set).  auth: an "Authorization: ..." header or NULL; protocols: the
 * libcurl protocol list allowed ("http,https"); max_rate: bytes/s (0: no
 * limit).  A file already complete (DIR/pkg-<id> with the right hash) is
 * taken as is.
 */
bool pdl_fetch(const char *url, const char *auth, const char *protocols, const char *dir,
               int64_t id, int64_t size, const char *sha256_hex, int64_t max_rate,
               const atomic_bool *stop, bool *mismatch, char *err, size_t errlen);
/* The SHA-256 of a file as 64 hex digits; false when unreadable. */
bool pdl_hash_file(const char *path, char out[65]);
/* DIR/pkg-<id> (complete) into out. */
void pdl_path(const char *dir, int64_t id, bool part, char *out, size_t outlen);
/* Remove both the partial and the complete package file. */
void pdl_remove(const char *dir, int64_t id);

/* ---- installer (provision-install.c) ---- */

typedef enum {
  PI_OK = 0,        /* install: exit 0; query: installed */
  PI_NOT_INSTALLED, /* query: exit 1 */
  PI_TRANSIENT,     /* exit 75, timeout, could not start */
  PI_FAILED         /* any other exit */
} pi_result_t;

typedef struct {
  pi_result_t result;
  int exit_code;              /* -1: killed or not run */
  char version[PJ_NAME_MAX];  /* from "version=<v>" on stdout */
  char reason[PJ_REASON_MAX]; /* first line of stderr (at most 200 bytes), or ours */
} pi_outcome_t;

/*
 * Run the installer: argv = {installer, args...} (NULL-terminated args),
 * no shell, stdin /dev/null, NIMBUS_STEP_ID and NIMBUS_PRINTER_URI in the
 * environment, killed after timeout_s seconds.  install: exit 0 is PI_OK,
 * 75 PI_TRANSIENT, others PI_FAILED; query (is_query): 0 PI_OK, 1
 * PI_NOT_INSTALLED, others PI_FAILED.  lock_path (install; NULL: none):
 * a file the installer holds an flock on while it and its children run.
 */
void pi_run(const char *installer, const char *const *args, bool is_query, int64_t step_id,
            const char *printer_uri, int timeout_s, const char *lock_path, pi_outcome_t *out);
/* Wait (at most timeout_s) until no installer holds lock_path; false when one still does. */
bool pi_wait_previous(const char *lock_path, int timeout_s);

/* ---- settings (provision-settings.c) ---- */

/* <state dir>/provisioned.conf for the state file path into out. */
void ps_conf_path(const char *state_path, char *out, size_t outlen);
/*
 * Apply provisioned.conf over *o (after the main config and the flags);
 * a missing file is fine.  false with a message on a bad file.
 */
bool ps_load_conf(const char *state_path, connector_options_t *o, char *err, size_t errlen);
/* The provisioned.conf entries as a JSON object (name → value text). */
json_t *ps_read_conf(const char *state_path);
/*
 * Apply a settings step's values: connector.<option> values checked
 * against the option table and written to provisioned.conf; the others
 * sent to the engine (engine_uri an ipp:// or ipps:// URI, else they
 * fail).  Options that take effect at once are set on *live.  false with
 * the reason (the engine's status message on a refusal).
 */
bool ps_apply(const char *state_path, const char *engine_uri, json_t *values,
              connector_options_t *live, char *reason, size_t reasonlen);
/* The settings this printer controls, for the inventory: connector options
 * (provisionable ones, effective value) and the engine's *-default values. */
json_t *ps_inventory_settings(const char *state_path, const connector_options_t *o,
                              const char *engine_uri);
/* Is connector.<name> an option a contract may set? */
bool ps_option_allowed(const char *name);

/* ---- the thread (provision.c) ---- */

/* Start the provisioning thread (after the channel's set-up). */
bool provision_start(struct connector_s *c, char *err, size_t errlen);
/* Stop it (c->stopping is set) and wait for it. */
void provision_stop(struct connector_s *c);
/* The panel's view: current step and versions (caller frees), under no lock. */
json_t *provision_status_json(struct connector_s *c);

#endif
