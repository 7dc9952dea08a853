/*
 * backup.c: printer data backups (docs/PROVISIONING.md §10): a snapshot is
 * {"connector":{options},"engine":{IPP attributes}}; a differential
 * holds the members that differ from its base full snapshot (a removed
 * member as null) and resolves to full by applying them to the base.
 * Retention keeps the newest N full snapshots of a printer and the
 * differentials against them (N: the printer's backup configuration's
 * "retention").
 */
#include "backup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "service-config.h"

static const char *const sections[] = {"connector", "engine", NULL};

/* The body's shape: only known sections, each an object; a differential
 * also "base", a positive integer.  NULL when good, else why. */
static const char *snapshot_invalid(const json_t *body, bool differential, nimbus_id_t *base) {
  const char *key;
  const json_t *v;
  *base = 0;
  if (!json_is_object(body)) return "the snapshot must be a JSON object";
  json_object_foreach((json_t *)body, key, v) {
    if (!strcmp(key, "base")) {
      if (!differential) return "'base' belongs to a differential snapshot";
      if (!json_is_integer(v) || json_integer_value(v) <= 0)
        return "'base' must be the id of a full snapshot";
      *base = (nimbus_id_t)json_integer_value(v);
      continue;
    }
    bool known = false;
    for (int i = 0; sections[i]; i++) known |= !strcmp(key, sections[i]);
    if (!known) return "a snapshot has only 'connector' and 'engine' (and a differential 'base')";
    if (!json_is_object(v)) return "'connector' and 'engine' must be objects";
  }
  if (differential && !*base) return "a differential snapshot needs 'base'";
  return NULL;
}

/* The printer's retention: its backup configuration's "retention". */
static int retention_of(nimbus_server_t *srv, nimbus_id_t device_id) {
  json_t *cfg = service_settings_load(srv, device_id, SERVICE_BACKUP, NULL);
  json_int_t n = json_integer_value(json_object_get(cfg, "retention"));
  json_decref(cfg);
  return n >= 1 && n <= 1000 ? (int)n : BACKUP_RETENTION_DEFAULT;
}

int backup_accept(nimbus_server_t *srv, const nimbus_device_t *d, const char *mode,
                  const json_t *body, nimbus_backup_t *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  bool differential;
  if (!mode || !strcmp(mode, "full")) {
    differential = false;
  } else if (!strcmp(mode, "differential")) {
    differential = true;
  } else {
    snprintf(err, errlen, "'mode' must be full or differential");
    return 400;
  }
  nimbus_id_t base = 0;
  const char *why = snapshot_invalid(body, differential, &base);
  if (why) {
    snprintf(err, errlen, "%s", why);
    return 400;
  }
  if (differential) {
    nimbus_backup_t b;
    store_status_t s = store_backup_get(srv->store, d->tenant_id, base, &b);
    if (s == STORE_OK) {
      free(b.json);
      if (b.device_id != d->id || b.mode != NIMBUS_BACKUP_FULL) s = STORE_NOT_FOUND;
    }
    if (s == STORE_NOT_FOUND) {
      snprintf(err, errlen, "'base' is no full snapshot of this printer (send a full one)");
      return 409;
    }
    if (s != STORE_OK) return 500;
  }
  char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
  if (!text) return 500;
  nimbus_backup_t b = {.tenant_id = d->tenant_id,
                       .device_id = d->id,
                       .mode = differential ? NIMBUS_BACKUP_DIFFERENTIAL : NIMBUS_BACKUP_FULL,
                       .base_id = base,
                       .json = text};
  store_status_t s = store_backup_insert(srv->store, &b);
  free(text);
  if (s == STORE_NOT_FOUND || s == STORE_CONFLICT) { /* the base went meanwhile */
    snprintf(err, errlen, "'base' is no full snapshot of this printer (send a full one)");
    return 409;
  }
  if (s != STORE_OK) return 500;
  b.json = NULL;
  *out = b;
  int deleted = 0;
  if (!differential &&
      store_backup_prune(srv->store, d->id, retention_of(srv, d->id), &deleted) == STORE_OK &&
      deleted > 0)
    log_event(LOG_INFO, NULL, "backups beyond retention removed", "device", d->name, "removed",
              LOG_INT(deleted), (char *)NULL);
  return 201;
}

/* Apply differential diff's sections to full (in place). */
static void apply_diff(json_t *full, const json_t *diff) {
  for (int i = 0; sections[i]; i++) {
    json_t *changes = json_object_get(diff, sections[i]);
    if (!json_is_object(changes)) continue;
    json_t *into = json_object_get(full, sections[i]);
    if (!json_is_object(into)) {
      into = json_object();
      if (!into || json_object_set_new(full, sections[i], into) != 0) continue;
    }
    const char *key;
    json_t *v;
    json_object_foreach(changes, key, v) {
      if (json_is_null(v))
        json_object_del(into, key);
      else
        json_object_set(into, key, v);
    }
  }
}

/* Snapshot id's stored JSON, parsed, with its record. */
static store_status_t load(nimbus_server_t *srv, nimbus_id_t tenant_id, nimbus_id_t id,
                           json_t **doc, nimbus_backup_t *rec) {
  store_status_t s = store_backup_get(srv->store, tenant_id, id, rec);
  if (s != STORE_OK) return s;
  *doc = json_loads(rec->json, 0, NULL);
  free(rec->json);
  rec->json = NULL;
  return *doc ? STORE_OK : STORE_ERROR;
}

store_status_t backup_resolve(nimbus_server_t *srv, nimbus_id_t tenant_id, nimbus_id_t device_id,
                              nimbus_id_t id, json_t **doc, nimbus_backup_t *rec) {
  nimbus_backup_t b, base;
  json_t *snap = NULL, *full = NULL;
  *doc = NULL;
  store_status_t s = load(srv, tenant_id, id, &snap, &b);
  if (s != STORE_OK) return s;
  if (device_id && b.device_id != device_id) {
    json_decref(snap);
    return STORE_NOT_FOUND;
  }
  if (b.mode == NIMBUS_BACKUP_DIFFERENTIAL) {
    s = load(srv, tenant_id, b.base_id, &full, &base);
    if (s != STORE_OK) { /* a differential never outlives its base (cascade) */
      json_decref(snap);
      return s == STORE_NOT_FOUND ? STORE_ERROR : s;
    }
    apply_diff(full, snap);
    json_decref(snap);
  } else {
    full = snap;
  }
  json_object_del(full, "base");
  for (int i = 0; sections[i]; i++)
    if (!json_is_object(json_object_get(full, sections[i])))
      json_object_set_new(full, sections[i], json_object());
  *doc = full;
  if (rec) *rec = b;
  return STORE_OK;
}

/* Whether an engine attribute is one a settings step may set. */
static bool restorable_attr(const char *name, const json_t *v) {
  if (!json_is_string(v) && !json_is_integer(v) && !json_is_boolean(v)) return false;
  size_t n = strlen(name);
  return !strcmp(name, "printer-sleep-timer") || (n > 8 && !strcmp(name + n - 8, "-default"));
}

char *backup_restore_values(nimbus_server_t *srv, nimbus_id_t tenant_id, nimbus_id_t device_id,
                            nimbus_id_t backup_id, int *status) {
  json_t *full = NULL;
  store_status_t s = backup_resolve(srv, tenant_id, device_id, backup_id, &full, NULL);
  if (s != STORE_OK) {
    *status = s == STORE_NOT_FOUND ? 404 : 500;
    return NULL;
  }
  json_t *values = json_object();
  const char *key;
  json_t *v;
  if (values) {
    json_object_foreach(json_object_get(full, "engine"), key, v) {
      if (restorable_attr(key, v)) json_object_set(values, key, v);
    }
    json_object_foreach(json_object_get(full, "connector"), key, v) {
      char name[160];
      if (!json_is_string(v) && !json_is_integer(v) && !json_is_boolean(v)) continue;
      if (snprintf(name, sizeof name, "connector.%s", key) >= (int)sizeof name) continue;
      json_object_set(values, name, v);
    }
  }
  json_decref(full);
  char *text = values ? json_dumps(values, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  json_decref(values);
  *status = text ? 200 : 500;
  return text;
}
