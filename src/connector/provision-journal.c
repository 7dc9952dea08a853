/*
 * provision-journal.c: the per-step provisioning journal (PROVISIONING.md
 * §8.3).  Each step the connector works on has one file DIR/step-<id>.json,
 * written before anything is done and again at every state change: to a
 * temporary file, fsync'd, renamed over the old one, the directory
 * fsync'd, so after a crash (kill -9, power loss) the file holds the old
 * or the new state, never a torn one.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "provision.h"

static const char *const pj_names[] = {"received", "downloaded", "installing",
                                       "applied",  "failed",     "reported"};

const char *pj_state_name(pj_state_t s) {
  return (unsigned)s <= PJ_REPORTED ? pj_names[s] : "unknown";
}

static bool pj_state_parse(const char *s, pj_state_t *out) {
  for (int i = 0; i <= PJ_REPORTED; i++)
    if (s && !strcmp(s, pj_names[i])) {
      *out = (pj_state_t)i;
      return true;
    }
  return false;
}

void pj_free(pj_step_t *st) {
  json_decref(st->target);
  st->target = NULL;
}

/* Copy a JSON string member into buf; false when missing or too long. */
static bool pj_str(json_t *o, const char *key, char *buf, size_t len, bool required) {
  json_t *v = json_object_get(o, key);
  if (!v || json_is_null(v)) {
    buf[0] = '\0';
    return !required;
  }
  const char *s = json_string_value(v);
  if (!s || strlen(s) >= len) return false;
  memcpy(buf, s, strlen(s) + 1);
  return true;
}

/* A printable name: no control characters (it lands in argv and logs). */
static bool pj_clean(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f) return false;
  return true;
}

bool pj_from_wire(json_t *step, pj_step_t *st, char *err, size_t errlen) {
  memset(st, 0, sizeof *st);
  json_t *id = json_object_get(step, "id");
  if (!json_is_integer(id) || json_integer_value(id) <= 0) {
    snprintf(err, errlen, "step without a valid id");
    return false;
  }
  st->id = json_integer_value(id);
  st->state = PJ_RECEIVED;
  if (!pj_str(step, "kind", st->kind, sizeof st->kind, true) ||
      !pj_str(step, "name", st->name, sizeof st->name, false) || !pj_clean(st->name)) {
    snprintf(err, errlen, "step %lld: bad kind or name", (long long)st->id);
    return false;
  }
  if (strcmp(st->kind, "settings") && strcmp(st->kind, "firmware") &&
      strcmp(st->kind, "application")) {
    snprintf(err, errlen, "step %lld: unknown kind", (long long)st->id);
    return false;
  }
  json_t *target = json_object_get(step, "target");
  st->target = json_is_object(target) ? json_deep_copy(target) : json_object();
  if (strcmp(st->kind, "settings") != 0) {
    json_t *pkg = json_object_get(step, "package");
    if (!pj_str(st->target, "version", st->version, sizeof st->version, true) || !st->version[0] ||
        !pj_clean(st->version) || !json_is_object(pkg) ||
        !json_is_integer(json_object_get(pkg, "id")) ||
        !pj_str(pkg, "sha256", st->sha256, sizeof st->sha256, true) || strlen(st->sha256) != 64 ||
        strspn(st->sha256, "0123456789abcdefABCDEF") != 64) {
      snprintf(err, errlen, "step %lld: package step without version, package or sha256",
               (long long)st->id);
      pj_free(st);
      return false;
    }
    for (char *p = st->sha256; *p; p++)
      if (*p >= 'A' && *p <= 'F') *p = (char)(*p - 'A' + 'a');
    st->package_id = json_integer_value(json_object_get(pkg, "id"));
    json_t *size = json_object_get(pkg, "size");
    st->package_size = json_is_integer(size) ? json_integer_value(size) : -1;
  }
  return true;
}

static void pj_path(const char *dir, int64_t id, bool tmp, char *out, size_t len) {
  snprintf(out, len, "%s/step-%lld.json%s", dir, (long long)id, tmp ? ".tmp" : "");
}

bool pj_save(const char *dir, const pj_step_t *st, char *err, size_t errlen) {
  char path[4200], tmp[4200];
  pj_path(dir, st->id, false, path, sizeof path);
  pj_path(dir, st->id, true, tmp, sizeof tmp);
  json_t *o = json_pack("{sI ss ss ss ss sI sI ss sO ss ss sb}", "id", (json_int_t)st->id, "state",
                        pj_state_name(st->state), "kind", st->kind, "name", st->name, "version",
                        st->version, "package_id", (json_int_t)st->package_id, "package_size",
                        (json_int_t)st->package_size, "sha256", st->sha256, "target",
                        st->target ? st->target : json_null(), "result_version", st->result_version,
                        "reason", st->reason, "transient", st->transient);
  char *text = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  json_decref(o);
  if (!text) {
    snprintf(err, errlen, "out of memory");
    return false;
  }
  bool ok = false;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
  } else {
    ok = fs_write_all(fd, text, strlen(text)) && fsync(fd) == 0;
    if (close(fd) != 0) ok = false;
    if (ok) ok = rename(tmp, path) == 0 && fs_sync_dir(dir);
    if (!ok) {
      snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
      unlink(tmp);
    }
  }
  free(text);
  return ok;
}

bool pj_load(const char *dir, int64_t id, pj_step_t *st) {
  char path[4200];
  pj_path(dir, id, false, path, sizeof path);
  memset(st, 0, sizeof *st);
  json_t *o = json_load_file(path, 0, NULL);
  if (!json_is_object(o)) {
    json_decref(o);
    return false;
  }
  bool ok = json_integer_value(json_object_get(o, "id")) == id &&
            pj_state_parse(json_string_value(json_object_get(o, "state")), &st->state) &&
            pj_str(o, "kind", st->kind, sizeof st->kind, true) &&
            pj_str(o, "name", st->name, sizeof st->name, false) &&
            pj_str(o, "version", st->version, sizeof st->version, false) &&
            pj_str(o, "sha256", st->sha256, sizeof st->sha256, false) &&
            pj_str(o, "result_version", st->result_version, sizeof st->result_version, false) &&
            pj_str(o, "reason", st->reason, sizeof st->reason, false);
  if (ok) {
    st->id = id;
    st->package_id = json_integer_value(json_object_get(o, "package_id"));
    st->package_size = json_integer_value(json_object_get(o, "package_size"));
    st->transient = json_is_true(json_object_get(o, "transient"));
    json_t *t = json_object_get(o, "target");
    st->target = json_is_object(t) ? json_incref(t) : json_object();
  }
  json_decref(o);
  return ok;
}

void pj_remove(const char *dir, int64_t id) {
  char path[4200];
  pj_path(dir, id, false, path, sizeof path);
  if (unlink(path) == 0) fs_sync_dir(dir);
}

static int pj_cmp(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

size_t pj_list(const char *dir, int64_t *ids, size_t max) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL && n < max) {
    long long id;
    char tail[8];
    if (sscanf(e->d_name, "step-%lld.%7s", &id, tail) == 2 && !strcmp(tail, "json") && id > 0)
      ids[n++] = id;
  }
  closedir(d);
  qsort(ids, n, sizeof *ids, pj_cmp);
  return n;
}
