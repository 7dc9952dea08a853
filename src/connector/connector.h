/*
 * connector.h: the running connector (`nimbus-connector run`): one
 * process, a channel thread (the main thread) that talks to nimbusd and
 * drives the output, the panel's libmicrohttpd thread, and a signal
 * thread.  Everything the panel reads is under `lock`.
 *
 * Registration status (drawn; persisted in the state file):
 *
 *   unregistered --register--> registered --deleted answer--+
 *        ^                          ^                        |
 *        |                          | ask: continue          v
 *        +---- policy delete ---- (detected) <-- policy continue / ask
 *                                   |
 *                                   +---- policy stop ----> stopped
 *
 * Invariant: in `unregistered` and `stopped` the traffic gate is closed,
 * so the channel sends nothing to nimbusd (see ippc.h); while an `ask`
 * waits for its answer the gate is closed too.
 */
#ifndef NIMBUS_CONNECTOR_CONNECTOR_H
#define NIMBUS_CONNECTOR_CONNECTOR_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "ippc.h"
#include "journal.h"
#include "options.h"
#include "output.h"
#include "state.h"

/*
 * Persistent mode: one subscription per queue served, and one connection
 * per queue holding that subscription's Get-Notifications (notify-wait),
 * so every queue is long-polled at once.  The channel thread waits on all
 * of them with poll(); while a job prints, jobs.c looks at them once a
 * second (channel_check()) so that events still arrive.
 */
typedef struct {
  ippc_t ippc;      /* its own connection (a copy of the main one's settings) */
  int sub_id;       /* 0: not subscribed (again) yet */
  int next_seq;     /* notify-sequence-numbers of the next Get-Notifications */
  bool need_jobs;   /* a job-* event (or a (re)start): Get-Jobs on this queue */
  time_t resend_at; /* a server that does not hold: not before this */
} listener_t;

typedef struct connector_s {
  connector_options_t opt;
  state_t state; /* under lock; the credential never leaves this struct */
  pthread_mutex_t lock;
  pthread_cond_t cond;
  /* The state file is written from a copy of `state`, outside `lock`:
   * `state_gen` (under lock) counts changes to persist, `save_lock`
   * serialises the writes and guards `saved_gen` (order: save_lock, then
   * lock). */
  pthread_mutex_t save_lock;
  uint64_t state_gen;
  uint64_t saved_gen;
  atomic_bool allowed;  /* the traffic gate towards nimbusd */
  atomic_bool stopping; /* SIGTERM/SIGINT */

  /* panel-visible, under lock */
  char last_contact[32];
  char last_error[256];
  char detected_at[32];
  bool ask_pending;
  int ask_choice; /* -1: none yet, else a policy_t */
  int decided;    /* the panel's answer, kept for later detections (-1: none) */
  char csrf[33];  /* key of the /decision form's per-browser CSRF tokens (panel.c), never shown */
  int64_t jobs_active;
  /* the registration's printer-name and printer-location at nimbusd ("" until
   * known), for the printer for PCs; jobs_fetch_identity() refreshes them */
  char reg_name[64];
  char reg_location[256];
  time_t identity_next; /* channel thread only: when to refresh them */

  journal_t journal;
  output_t *output;
  ippc_t ippc;                       /* the main connection to nimbusd */
  ippc_t side;                       /* keep-alives while ippc streams a document */
  listener_t listen[STATE_URIS_MAX]; /* persistent mode, per queue */
  const char *deleted_how;           /* what told us about a deregistration */
  int watch_job;                     /* the job being printed (0: none) */
  int watch_state;                   /* its state at nimbusd once it ended there (0: not) */
  int panel_port;
  void *panel; /* struct MHD_Daemon * */

  /* provisioning (provision.c): the thread, and what the panel shows of
   * it (under lock): the current or last step and the versions running */
  pthread_t prov_tid;
  bool prov_started;
  int64_t prov_step_id; /* 0: none yet */
  char prov_kind[16];
  char prov_name[65];
  char prov_state[16];
  char prov_reason[256];
  void *prov_versions; /* json_t *: {"firmware":{name,version}?,"applications":{...}} */
} connector_t;

/* run.c */
int connector_run(int argc, char **argv);
/* Sleep up to ms, waking early on SIGTERM or a panel decision; false when stopping. */
bool connector_sleep(connector_t *c, int ms);
/* Set the status, persist the state file; logs a state change. */
void connector_set_status(connector_t *c, state_status_t s);
/* Note a successful exchange with nimbusd. */
void connector_contact(connector_t *c);
/* Note a failure to show on the panel (never a secret). */
void connector_note_error(connector_t *c, const char *what);
/*
 * The server deleted the registration: apply the on-deregister policy.
 * Returns true when the channel may go on (continue, or ask answered
 * continue), false when traffic has stopped for good.
 */
bool connector_deregistered(connector_t *c, const char *how);
/* Count a printed job into the state file. */
void connector_job_printed(connector_t *c);

/* channel.c: the polling and persistent loops; returns when stopping. */
void channel_run(connector_t *c);

/* What a channel step came to. */
typedef enum { STEP_OK = 0, STEP_TRANSIENT, STEP_DELETED, STEP_STOPPED, STEP_FAILED } step_t;
step_t step_from_ippc(ippc_result_t r);
/*
 * Persistent mode, while a job prints: read the Get-Notifications answers
 * that have arrived and hold the next ones (never waits).  Sets
 * watch_state when an event says the watched job ended at nimbusd.
 * STEP_DELETED on a printer-deleted notice, else STEP_OK (other failures
 * are left to the channel loop).
 */
step_t channel_check(connector_t *c);
/*
 * Close every connection to nimbusd: the ones nimbusd closes itself (a
 * deregistration notice) are given up to grace_s seconds (0: close at once).
 */
void channel_close_all(connector_t *c, int grace_s);
/* Wipe the credential from every connection's settings (policy delete). */
void channel_forget_credential(connector_t *c);

/* jobs.c */
/* Send the output's capabilities to every queue. */
step_t jobs_send_caps(connector_t *c);
/* Read the registration's name and location (Get-Output-Device-Attributes)
 * into reg_name/reg_location; an IPP error (an older server) is STEP_OK. */
step_t jobs_fetch_identity(connector_t *c);
/* Report outcomes of journalled jobs that nimbusd has not heard of yet. */
step_t jobs_reconcile(connector_t *c);
/* Get-Jobs which-jobs=fetchable on queue_uri and print each job. */
step_t jobs_poll_queue(connector_t *c, const char *queue_uri);

/* panel.c */
bool panel_start(connector_t *c, char *err, size_t errlen);
void panel_stop(connector_t *c);
/* The status document the panel serves at /status.json (caller frees). */
char *panel_status_json(connector_t *c);

/* register.c, status.c */
int connector_register(int argc, char **argv);
int connector_status(int argc, char **argv);

#endif
