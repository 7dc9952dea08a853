/*
 * journal.c: see journal.h.  Lines are "<job-id> <phase> <state>
 * <impressions> <remote-id>"; a torn last line (crash mid-write) is
 * ignored.
 */
#include "fsutil.h"
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static journal_entry_t *journal_slot(journal_t *j, int job_id) {
  for (size_t i = 0; i < j->n; i++)
    if (j->entries[i].job_id == job_id) return &j->entries[i];
  if (j->n == j->cap) {
    size_t cap = j->cap ? j->cap * 2 : 64;
    journal_entry_t *e = realloc(j->entries, cap * sizeof *e);
    if (!e) return NULL;
    j->entries = e;
    j->cap = cap;
  }
  memset(&j->entries[j->n], 0, sizeof j->entries[0]);
  return &j->entries[j->n++];
}

/* Update the in-memory table; the slot moves to the end (most recent). */
static bool journal_apply(journal_t *j, const journal_entry_t *e) {
  journal_entry_t *slot = journal_slot(j, e->job_id);
  if (!slot) return false;
  journal_entry_t merged = *e;
  if (slot->job_id == e->job_id && !merged.remote_id) merged.remote_id = slot->remote_id;
  size_t idx = (size_t)(slot - j->entries);
  memmove(&j->entries[idx], &j->entries[idx + 1], (j->n - idx - 1) * sizeof *slot);
  j->entries[j->n - 1] = merged;
  return true;
}

static int journal_format(char *buf, size_t len, const journal_entry_t *e) {
  return snprintf(buf, len, "%d %d %d %d %d\n", e->job_id, (int)e->phase, e->job_state,
                  e->impressions, e->remote_id);
}

/* Rewrite the file with the entries worth keeping. */
static bool journal_compact(journal_t *j, char *err, size_t errlen) {
  size_t reported = 0;
  for (size_t i = 0; i < j->n; i++) reported += j->entries[i].phase == JOURNAL_REPORTED;
  size_t drop = reported > JOURNAL_KEEP ? reported - JOURNAL_KEEP : 0, w = 0;
  for (size_t i = 0; i < j->n; i++) {
    if (drop && j->entries[i].phase == JOURNAL_REPORTED) {
      drop--;
      continue;
    }
    j->entries[w++] = j->entries[i];
  }
  j->n = w;

  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp", j->path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
    return false;
  }
  bool ok = true;
  for (size_t i = 0; i < j->n && ok; i++) {
    char line[128];
    int n = journal_format(line, sizeof line, &j->entries[i]);
    ok = fs_write_all(fd, line, (size_t)n);
  }
  ok = ok && fsync(fd) == 0;
  close(fd);
  if (!ok || rename(tmp, j->path) != 0) {
    snprintf(err, errlen, "%s: %s", j->path, strerror(errno));
    unlink(tmp);
    return false;
  }
  return true;
}

bool journal_open(journal_t *j, const char *path, char *err, size_t errlen) {
  memset(j, 0, sizeof *j);
  j->fd = -1;
  if (strlen(path) >= sizeof j->path) {
    snprintf(err, errlen, "journal path too long");
    return false;
  }
  memcpy(j->path, path, strlen(path) + 1);
  FILE *f = fopen(path, "r");
  if (f) {
    char line[256];
    while (fgets(line, sizeof line, f)) {
      journal_entry_t e = {0};
      int phase;
      if (!strchr(line, '\n')) break; /* torn last line */
      if (sscanf(line, "%d %d %d %d %d", &e.job_id, &phase, &e.job_state, &e.impressions,
                 &e.remote_id) != 5 ||
          phase < JOURNAL_HANDED || phase > JOURNAL_REPORTED || e.job_id <= 0)
        continue;
      e.phase = (journal_phase_t)phase;
      if (!journal_apply(j, &e)) break;
    }
    fclose(f);
  } else if (errno != ENOENT) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return false;
  }
  if (!journal_compact(j, err, errlen)) goto fail;
  j->fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
  if (j->fd < 0) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    goto fail;
  }
  return true;
fail:
  journal_close(j);
  return false;
}

bool journal_record(journal_t *j, const journal_entry_t *e) {
  char line[128];
  int n = journal_format(line, sizeof line, e);
  if (j->fd < 0 || !fs_write_all(j->fd, line, (size_t)n) || fsync(j->fd) != 0) return false;
  return journal_apply(j, e);
}

const journal_entry_t *journal_find(const journal_t *j, int job_id) {
  for (size_t i = 0; i < j->n; i++)
    if (j->entries[i].job_id == job_id) return &j->entries[i];
  return NULL;
}

void journal_close(journal_t *j) {
  if (j->fd >= 0) close(j->fd);
  free(j->entries);
  j->entries = NULL;
  j->n = j->cap = 0;
  j->fd = -1;
}
