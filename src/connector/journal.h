/*
 * journal.h: the connector's job journal, so that a restart never prints
 * a job twice.  One line per step, appended and fsync'd before the step's
 * effect is relied on:
 *
 *   handed    the job's document bytes are about to go to the output
 *   done      the output finished it: final job state and impressions
 *   reported  nimbusd accepted the final Update-Job-Status
 *
 *   (none) --handed--> HANDED --done--> DONE --reported--> REPORTED
 *
 * Invariant: a job with any entry is never handed to the output again.
 * On start the connector reports DONE jobs (and HANDED ones, whose fate
 * the output may still know through remote_id) instead of re-printing.
 * The file is compacted on open (all unreported jobs, the last
 * JOURNAL_KEEP reported ones), written to a temporary file and renamed.
 */
#ifndef NIMBUS_CONNECTOR_JOURNAL_H
#define NIMBUS_CONNECTOR_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>

#define JOURNAL_KEEP 1000

typedef enum { JOURNAL_HANDED = 1, JOURNAL_DONE, JOURNAL_REPORTED } journal_phase_t;

typedef struct {
  int job_id;
  journal_phase_t phase;
  int job_state;   /* IPP job-state of the outcome (DONE, REPORTED) */
  int impressions; /* impressions completed (DONE, REPORTED) */
  int remote_id;   /* the output's own job id, 0 if none */
} journal_entry_t;

typedef struct {
  char path[4096];
  int fd;
  journal_entry_t *entries;
  size_t n, cap;
} journal_t;

/* Open (creating, mode 0600) and load path; compacts it. */
bool journal_open(journal_t *j, const char *path, char *err, size_t errlen);
/* Append an entry and fsync; the in-memory copy is updated too. */
bool journal_record(journal_t *j, const journal_entry_t *e);
/* The latest entry for job_id, or NULL.  Valid until the next record. */
const journal_entry_t *journal_find(const journal_t *j, int job_id);
void journal_close(journal_t *j);

#endif
