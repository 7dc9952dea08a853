/*
 * run.c: `nimbus-connector run`: options, start-up (state file, journal,
 * output, panel, signal thread), the shared status of connector.h and the
 * deregistration policy.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>
#include <unistd.h>

#include "connector.h"
#include "crypto.h"
#include "intake.h"
#include "services.h"
#include "log.h"
#include "provision.h"

/* Mark c->state as changed; the caller holds c->lock and calls
 * connector_save() after releasing it. */
static void connector_changed_locked(connector_t *c) {
  c->state_gen++;
}

/* Write the state file if it is behind c->state; called without c->lock.
 * The write (and its fsyncs) happens on a copy under save_lock only, so
 * the panel and the IPP listener never wait for the disk; a copy older
 * than the last one written is never written over it. */
static void connector_save(connector_t *c) {
  state_t copy;
  pthread_mutex_lock(&c->save_lock);
  pthread_mutex_lock(&c->lock);
  uint64_t gen = c->state_gen;
  bool behind = gen != c->saved_gen;
  if (behind) copy = c->state;
  pthread_mutex_unlock(&c->lock);
  if (behind) {
    char err[512];
    if (state_save(c->opt.state, &copy, err, sizeof err))
      c->saved_gen = gen;
    else
      log_event(LOG_ERROR, NULL, "cannot write the state file", "error", err, (char *)NULL);
    sodium_memzero(&copy, sizeof copy); /* it holds the credential */
  }
  pthread_mutex_unlock(&c->save_lock);
}

static void connector_set_status_locked(connector_t *c, state_status_t s) {
  if (c->state.status != s)
    log_event(LOG_INFO, NULL, "status changed", "from", state_status_name(c->state.status), "to",
              state_status_name(s), (char *)NULL);
  c->state.status = s;
  state_now(c->state.status_changed_at);
  connector_changed_locked(c);
}

void connector_set_status(connector_t *c, state_status_t s) {
  pthread_mutex_lock(&c->lock);
  if (c->state.status != s) connector_set_status_locked(c, s);
  pthread_mutex_unlock(&c->lock);
  connector_save(c);
}

void connector_contact(connector_t *c) {
  pthread_mutex_lock(&c->lock);
  state_now(c->last_contact);
  c->last_error[0] = '\0';
  pthread_mutex_unlock(&c->lock);
}

void connector_note_error(connector_t *c, const char *what) {
  pthread_mutex_lock(&c->lock);
  snprintf(c->last_error, sizeof c->last_error, "%s", what);
  pthread_mutex_unlock(&c->lock);
}

void connector_job_printed(connector_t *c) {
  pthread_mutex_lock(&c->lock);
  c->state.jobs_printed++;
  connector_changed_locked(c);
  pthread_mutex_unlock(&c->lock);
  connector_save(c);
}

bool connector_sleep(connector_t *c, int ms) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  ts.tv_sec += ms / 1000;
  ts.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
  pthread_mutex_lock(&c->lock);
  int rc = 0;
  while (!atomic_load(&c->stopping) && rc != ETIMEDOUT) {
    rc = pthread_cond_timedwait(&c->cond, &c->lock, &ts);
    if (rc == 0) break; /* woken: a decision or a stop */
  }
  pthread_mutex_unlock(&c->lock);
  return !atomic_load(&c->stopping);
}

bool connector_deregistered(connector_t *c, const char *how) {
  policy_t p = c->opt.policy;
  pthread_mutex_lock(&c->lock);
  state_now(c->detected_at);
  if (p == POLICY_ASK && c->decided >= 0) p = (policy_t)c->decided; /* asked once already */
  pthread_mutex_unlock(&c->lock);
  log_event(LOG_WARN, NULL, "deregistration detected", "how", how, "policy", policy_name(p),
            (char *)NULL);

  if (p == POLICY_ASK) {
    atomic_store(&c->allowed, false);
    channel_close_all(c, c->opt.grace_period);
    pthread_mutex_lock(&c->lock);
    c->ask_pending = true;
    c->ask_choice = -1;
    connector_set_status_locked(c, STATE_DETECTED);
    pthread_mutex_unlock(&c->lock);
    connector_save(c);
    log_event(LOG_INFO, NULL, "waiting for a decision on the panel", (char *)NULL);
    pthread_mutex_lock(&c->lock); /* the panel's answer is kept in ask_choice */
    while (c->ask_choice < 0 && !atomic_load(&c->stopping)) pthread_cond_wait(&c->cond, &c->lock);
    c->ask_pending = false;
    int choice = c->ask_choice;
    c->decided = choice;
    pthread_mutex_unlock(&c->lock);
    if (choice < 0) return false; /* stopping; the state stays "detected" */
    p = (policy_t)choice;
    log_event(LOG_INFO, NULL, "decision taken on the panel", "policy", policy_name(p),
              (char *)NULL);
  }

  if (p == POLICY_CONTINUE) {
    channel_close_all(c, 0);
    connector_set_status(c, STATE_DETECTED);
    atomic_store(&c->allowed, true);
    return true;
  }
  /* delete or stop: not one more request to the server */
  atomic_store(&c->allowed, false);
  channel_close_all(c, c->opt.grace_period);
  pthread_mutex_lock(&c->lock);
  if (p == POLICY_DELETE) {
    state_clear_registration(&c->state);
    channel_forget_credential(c);
    connector_set_status_locked(c, STATE_UNREGISTERED);
    log_event(LOG_INFO, NULL, "client-side registration deleted", (char *)NULL);
  } else {
    connector_set_status_locked(c, STATE_STOPPED);
    log_event(LOG_INFO, NULL, "stopped talking to the server; registration kept", (char *)NULL);
  }
  pthread_mutex_unlock(&c->lock);
  connector_save(c);
  return false;
}

/* Waits for SIGTERM/SIGINT (blocked in every thread) and wakes the channel. */
static void *connector_signal_thread(void *arg) {
  connector_t *c = arg;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int sig = 0;
  sigwait(&set, &sig);
  log_event(LOG_INFO, NULL, "shutting down", "signal", sig == SIGINT ? "INT" : "TERM",
            (char *)NULL);
  pthread_mutex_lock(&c->lock);
  atomic_store(&c->stopping, true);
  pthread_cond_broadcast(&c->cond);
  pthread_mutex_unlock(&c->lock);
  return NULL;
}

static void connector_run_usage(FILE *out) {
  fprintf(out,
          "Usage: nimbus-connector run [--config FILE] [options]\n"
          "Serve the printer: fetch jobs from nimbusd over the IPP INFRA device channel and\n"
          "print them on the output; show the local panel.  Register first with\n"
          "'nimbus-connector register'.\n\n");
  config_print_help(connector_option_table, out);
}

int connector_run(int argc, char **argv) {
  connector_t *c = calloc(1, sizeof *c);
  char err[1024];
  int rc = 1, first = 0;
  bool help = false, locks = false, journal = false, panel = false, sigthread = false;
  intake_t *intake = NULL; /* the local IPP printer for PCs (--listen-ipp) */
  services_t *services = NULL; /* the smart services (services.c) */
  pthread_t sig_tid;
  if (!c) return 1;
  if (!options_defaults(&c->opt, err, sizeof err) ||
      !config_parse_args(connector_option_table, &c->opt, argc, argv, &help, &first, err,
                         sizeof err)) {
    fprintf(stderr, "nimbus-connector run: %s\n", err);
    rc = 2;
    goto done;
  }
  if (help) {
    connector_run_usage(stdout);
    rc = 0;
    goto done;
  }
  if (first < argc) {
    fprintf(stderr, "nimbus-connector run: unexpected argument '%s'\n", argv[first]);
    rc = 2;
    goto done;
  }
  /* a contract's connector.<option> values (provision-settings.c) win over the config and flags */
  if (!ps_load_conf(c->opt.state, &c->opt, err, sizeof err))
    fprintf(stderr, "nimbus-connector run: provisioned.conf: %s (ignored from there on)\n", err);
  if (!options_finish(&c->opt, err, sizeof err)) {
    fprintf(stderr, "nimbus-connector run: %s\n", err);
    rc = 2;
    goto done;
  }
  log_level_t level;
  log_level_parse(c->opt.log_level, &level);
  log_set_level(level);
  crypto_init();

  if (!state_load(c->opt.state, &c->state, err, sizeof err)) {
    log_event(LOG_ERROR, NULL, "cannot read the state file (register first)", "error", err,
              (char *)NULL);
    goto done;
  }
  pthread_mutex_init(&c->lock, NULL);
  pthread_mutex_init(&c->save_lock, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&c->cond, &ca);
  pthread_condattr_destroy(&ca);
  locks = true;
  c->ask_choice = -1;
  c->decided = -1;
  crypto_random_hex(c->csrf);

  if (!journal_open(&c->journal, c->opt.journal, err, sizeof err)) {
    log_event(LOG_ERROR, NULL, "cannot open the journal", "error", err, (char *)NULL);
    goto done;
  }
  journal = true;
  c->output = output_open(c->opt.output, err, sizeof err);
  if (!c->output) {
    log_event(LOG_ERROR, NULL, "cannot open the output", "error", err, (char *)NULL);
    goto done;
  }

  /* signals are taken by one thread; the panel thread inherits the mask */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);
  if (pthread_create(&sig_tid, NULL, connector_signal_thread, c) != 0) goto done;
  sigthread = true;

  bool registered = state_has_registration(&c->state);
  bool talk =
      registered && (c->state.status == STATE_REGISTERED || c->state.status == STATE_DETECTED);
  if (registered &&
      !ippc_init(&c->ippc, c->state.server, c->state.uuid, c->state.credential, &c->opt.pattern,
                 c->opt.request_timeout, &c->allowed, &c->stopping, err, sizeof err)) {
    log_event(LOG_ERROR, NULL, "bad registration in the state file", "error", err, (char *)NULL);
    goto done;
  }
  atomic_store(&c->allowed, talk);

  if (c->opt.panel_listen[0]) {
    if (!panel_start(c, err, sizeof err)) {
      log_event(LOG_ERROR, NULL, "cannot start the panel", "error", err, (char *)NULL);
      goto done;
    }
    panel = true;
  }
  pthread_mutex_lock(&c->lock);
  if (panel)
    snprintf(c->state.panel_url, sizeof c->state.panel_url, "http://127.0.0.1:%d/", c->panel_port);
  else
    c->state.panel_url[0] = '\0';
  connector_changed_locked(c);
  pthread_mutex_unlock(&c->lock);
  connector_save(c);

  if (c->opt.listen_ipp[0]) {
    intake = intake_start(c, err, sizeof err);
    if (!intake) {
      log_event(LOG_ERROR, NULL, "cannot start the ipp listener", "error", err, (char *)NULL);
      goto done;
    }
  }

  if (!(services = services_start(c, err, sizeof err))) {
    log_event(LOG_ERROR, NULL, "cannot start the smart services", "error", err, (char *)NULL);
    goto done;
  }

  log_event(LOG_INFO, NULL, "connector started", "status", state_status_name(c->state.status),
            "transport", c->opt.transport_name, "output", output_kind(c->output), "on-deregister",
            policy_name(c->opt.policy), "device", registered ? c->state.uuid : NULL, (char *)NULL);
  if (!talk)
    log_event(LOG_INFO, NULL, "not talking to the server", "reason",
              registered ? "stopped" : "not registered", (char *)NULL);

  if (!provision_start(c, err, sizeof err)) {
    log_event(LOG_ERROR, NULL, "cannot start provisioning", "error", err, (char *)NULL);
    goto done;
  }
  channel_run(c);
  rc = 0;

done:
  if (sigthread) {
    if (!atomic_load(&c->stopping)) pthread_kill(sig_tid, SIGTERM);
    pthread_join(sig_tid, NULL);
  }
  provision_stop(c);   /* the signal thread has set stopping */
  intake_stop(intake); /* before the panel and the channel: uploads use the state */
  services_stop(services); /* ends with c->stopping, set by the signal thread */
  if (panel) panel_stop(c);
  if (locks) {
    pthread_mutex_lock(&c->lock);
    if (c->state.panel_url[0]) {
      c->state.panel_url[0] = '\0';
      connector_changed_locked(c);
    }
    pthread_mutex_unlock(&c->lock);
    connector_save(c);
  }
  channel_close_all(c, 0);
  output_close(c->output);
  if (journal) journal_close(&c->journal);
  if (locks) {
    pthread_mutex_destroy(&c->lock);
    pthread_mutex_destroy(&c->save_lock);
    pthread_cond_destroy(&c->cond);
  }
  memset(&c->state, 0, sizeof c->state);
  memset(&c->ippc, 0, sizeof c->ippc);
  memset(&c->side, 0, sizeof c->side);
  memset(c->listen, 0, sizeof c->listen);
  free(c);
  return rc;
}
