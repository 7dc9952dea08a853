/*
 * state.c: JSON encoding (jansson) and the atomic 0600 write of state.h.
 */
#include "fsutil.h"
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *const state_names[] = {"unregistered", "registered", "deregistration-detected",
                                          "stopped"};

const char *state_status_name(state_status_t s) {
  return (unsigned)s < 4 ? state_names[s] : "unknown";
}

bool state_status_parse(const char *s, state_status_t *out) {
  for (int i = 0; i < 4; i++)
    if (s && strcmp(s, state_names[i]) == 0) {
      *out = (state_status_t)i;
      return true;
    }
  return false;
}

bool state_has_registration(const state_t *st) {
  return st->server[0] && st->uuid[0] && st->credential[0] && st->nuris > 0;
}

void state_clear_registration(state_t *st) {
  st->server[0] = st->uuid[0] = st->registered_at[0] = '\0';
  memset(st->credential, 0, sizeof st->credential);
  memset(st->uris, 0, sizeof st->uris);
  st->nuris = 0;
}

void state_now(char out[32]) {
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Copy a string member into dst; absent is "", too long is an error. */
static bool state_get_str(json_t *obj, const char *key, char *dst, size_t size) {
  json_t *v = json_object_get(obj, key);
  dst[0] = '\0';
  if (!v || json_is_null(v)) return true;
  if (!json_is_string(v) || json_string_length(v) >= size) return false;
  memcpy(dst, json_string_value(v), json_string_length(v) + 1);
  return true;
}

bool state_load(const char *path, state_t *st, char *err, size_t errlen) {
  memset(st, 0, sizeof *st);
  json_error_t jerr;
  json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
  bool ok = false;
  if (!root) {
    int e = access(path, F_OK) == 0 ? EINVAL : ENOENT;
    snprintf(err, errlen, "%s: %s", path, e == ENOENT ? "no such file" : jerr.text);
    errno = e;
    return false;
  }
  char status[32];
  json_t *uris = json_object_get(root, "printer_uris");
  if (!json_is_object(root) || !state_get_str(root, "server", st->server, sizeof st->server) ||
      !state_get_str(root, "output_device_uuid", st->uuid, sizeof st->uuid) ||
      !state_get_str(root, "credential", st->credential, sizeof st->credential) ||
      !state_get_str(root, "registered_at", st->registered_at, sizeof st->registered_at) ||
      !state_get_str(root, "status_changed_at", st->status_changed_at,
                     sizeof st->status_changed_at) ||
      !state_get_str(root, "panel_url", st->panel_url, sizeof st->panel_url) ||
      !state_get_str(root, "status", status, sizeof status) || (uris && !json_is_array(uris))) {
    snprintf(err, errlen, "%s: malformed state file", path);
    goto done;
  }
  if (!status[0])
    st->status = STATE_UNREGISTERED;
  else if (!state_status_parse(status, &st->status)) {
    snprintf(err, errlen, "%s: unknown status '%s'", path, status);
    goto done;
  }
  size_t i;
  json_t *u;
  json_array_foreach(uris, i, u) {
    if (!json_is_string(u) || json_string_length(u) >= STATE_URI_MAX || i >= STATE_URIS_MAX) {
      snprintf(err, errlen, "%s: bad printer_uris", path);
      goto done;
    }
    memcpy(st->uris[i], json_string_value(u), json_string_length(u) + 1);
    st->nuris = i + 1;
  }
  json_t *jp = json_object_get(root, "jobs_printed");
  st->jobs_printed = json_is_integer(jp) ? json_integer_value(jp) : 0;
  ok = true;
done:
  json_decref(root);
  return ok;
}

bool state_save(const char *path, const state_t *st, char *err, size_t errlen) {
  json_t *root = json_object();
  json_t *uris = json_array();
  for (size_t i = 0; i < st->nuris; i++) json_array_append_new(uris, json_string(st->uris[i]));
  json_object_set_new(root, "version", json_integer(1));
  json_object_set_new(root, "status", json_string(state_status_name(st->status)));
  if (st->status_changed_at[0])
    json_object_set_new(root, "status_changed_at", json_string(st->status_changed_at));
  if (st->server[0]) json_object_set_new(root, "server", json_string(st->server));
  if (st->uuid[0]) json_object_set_new(root, "output_device_uuid", json_string(st->uuid));
  if (st->credential[0]) json_object_set_new(root, "credential", json_string(st->credential));
  json_object_set_new(root, "printer_uris", uris);
  if (st->registered_at[0])
    json_object_set_new(root, "registered_at", json_string(st->registered_at));
  if (st->panel_url[0]) json_object_set_new(root, "panel_url", json_string(st->panel_url));
  json_object_set_new(root, "jobs_printed", json_integer(st->jobs_printed));

  char *text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
  json_decref(root);
  char tmp[4200];
  int fd = -1;
  bool ok = false;
  if (!text) {
    snprintf(err, errlen, "out of memory");
    return false;
  }
  if (strlen(path) > 4096) {
    snprintf(err, errlen, "state path too long");
    goto done;
  }
  snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path);
  mode_t old = umask(077);
  fd = mkstemp(tmp);
  umask(old);
  if (fd < 0) {
    snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
    goto done;
  }
  size_t len = strlen(text), off = 0;
  while (off < len) {
    ssize_t w = write(fd, text + off, len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
      goto fail;
    }
    off += (size_t)w;
  }
  if (write(fd, "\n", 1) != 1 || fchmod(fd, 0600) != 0 || fsync(fd) != 0) {
    snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
    goto fail;
  }
  close(fd);
  fd = -1;
  if (rename(tmp, path) != 0) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    goto fail;
  }
  if (!fs_sync_parent(path)) {
    snprintf(err, errlen, "%s: directory fsync failed: %s", path, strerror(errno));
    goto done;
  }
  ok = true;
  goto done;
fail:
  if (fd >= 0) close(fd);
  unlink(tmp);
done:
  free(text);
  return ok;
}
