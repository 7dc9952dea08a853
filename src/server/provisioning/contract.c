/*
 * contract.c: the contract model (docs/PROVISIONING.md §1).  A contract
 * arrives as JSON (REST, the webhook); it is validated member by member
 * (a break names the member), stored as canonical JSON (compact, keys
 * sorted, items in their order) so that two equal contracts compare
 * equal byte for byte, which is the revision rule: a change of term,
 * printers, service settings or items makes revision + 1, anything else
 * keeps it.  The status is derived from the term and the cancel flag.
 * Who may read or write a contract (§2) is decided here too, for every
 * handler that shows one (contract_access).
 */
#include "contract.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define EXTERNAL_ID_MAX (NIMBUS_CONTRACT_EXTERNAL_ID_MAX - 1)
#define VERSION_MAX 64
#define ITEM_NAME_MAX 64
#define SETTING_STRING_MAX 256

__attribute__((format(printf, 3, 4))) static bool fail(contract_error_t *err, const char *member,
                                                       const char *fmt, ...) {
  err->status = 400;
  snprintf(err->member, sizeof err->member, "%s", member);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->detail, sizeof err->detail, fmt, ap);
  va_end(ap);
  return false;
}

/* [a-z0-9._-]{1,64} */
static bool contract_name_valid(const char *s) {
  size_t n = strlen(s);
  if (n < 1 || n > 64) return false;
  return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

/* 1..max printable ASCII characters (no control characters, no DEL). */
static bool printable(const char *s, size_t max) {
  size_t n = strlen(s);
  if (n < 1 || n > max) return false;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f) return false;
  return true;
}

/* A registration name as PROTOCOL.md §4.8 names printers. */
static bool printer_name_valid(const char *s) {
  size_t n = strlen(s);
  if (n < 1 || n > 63 || s[0] == '.' || s[0] == '-') return false;
  return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

bool contract_time_parse(const char *s, int64_t *out) {
  int y, mo, d, h, mi, se;
  char z = 0, extra = 0;
  if (strlen(s) != 20 ||
      sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c%c", &y, &mo, &d, &h, &mi, &se, &z, &extra) != 7 ||
      z != 'Z')
    return false;
  if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
      se > 60 || h < 0 || mi < 0 || se < 0)
    return false;
  struct tm tm = {.tm_year = y - 1900,
                  .tm_mon = mo - 1,
                  .tm_mday = d,
                  .tm_hour = h,
                  .tm_min = mi,
                  .tm_sec = se};
  time_t t = timegm(&tm);
  if (t == (time_t)-1) return false;
  struct tm back;
  if (!gmtime_r(&t, &back) || back.tm_mday != d) return false; /* 2027-02-30 */
  *out = (int64_t)t;
  return true;
}

void contract_time_format(int64_t t, char out[32]) {
  time_t tt = (time_t)t;
  struct tm tm;
  if (!gmtime_r(&tt, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm)) out[0] = '\0';
}

/* Canonical JSON of v into dst (cap bytes); false when it does not fit. */
static bool canonical(const json_t *v, char *dst, size_t cap) {
  char *text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
  bool ok = text && strlen(text) < cap;
  if (ok) memcpy(dst, text, strlen(text) + 1);
  free(text);
  return ok;
}

/* Every member of obj is one of names (NULL-terminated); else the error
 * names the first stranger. */
static bool only(const json_t *obj, const char *path, const char *const *names,
                 contract_error_t *err) {
  const char *key;
  const json_t *v;
  json_object_foreach((json_t *)obj, key, v) {
    bool known = false;
    for (const char *const *n = names; *n && !known; n++) known = !strcmp(*n, key);
    if (!known) {
      char m[96];
      snprintf(m, sizeof m, "%s.%.40s", path, key);
      return fail(err, m, "unknown member");
    }
  }
  return true;
}

/* A settings item's "values" (§1): *-default, printer-sleep-timer or
 * connector.<option>, each a string, integer or boolean. */
static bool parse_values(const json_t *values, const char *path, contract_error_t *err) {
  char m[128];
  snprintf(m, sizeof m, "%.64s.values", path);
  if (!json_is_object(values)) return fail(err, m, "must be an object of setting values");
  if (json_object_size(values) > CONTRACT_SETTINGS_VALUES_MAX)
    return fail(err, m, "at most %d values", CONTRACT_SETTINGS_VALUES_MAX);
  const char *key;
  const json_t *v;
  json_object_foreach((json_t *)values, key, v) {
    snprintf(m, sizeof m, "%.64s.values.%.40s", path, key);
    size_t n = strlen(key);
    bool engine = n > 8 && n <= 64 && !strcmp(key + n - 8, "-default") &&
                  strspn(key, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
    bool sleep = !strcmp(key, "printer-sleep-timer");
    bool conn = n > 10 && n <= 64 && !strncmp(key, "connector.", 10) &&
                strspn(key + 10, "abcdefghijklmnopqrstuvwxyz0123456789-") == n - 10;
    if (!engine && !sleep && !conn)
      return fail(err, m,
                  "a setting is an IPP '*-default' attribute, 'printer-sleep-timer' or "
                  "'connector.<option>'");
    if (sleep && !json_is_integer(v))
      return fail(err, m, "printer-sleep-timer is an integer (minutes)");
    if (json_is_string(v)) {
      if (!printable(json_string_value(v), SETTING_STRING_MAX) && json_string_length(v) != 0)
        return fail(err, m, "a string of at most %d printable characters", SETTING_STRING_MAX);
    } else if (!json_is_integer(v) && !json_is_boolean(v)) {
      return fail(err, m, "a value is a string, an integer or a boolean");
    }
  }
  return true;
}

/* One item (§1) at index i; counts kinds in *seen. */
static bool parse_item(const json_t *item, int i, const char *prefix, contract_input_t *in,
                       int seen[8], char apps[CONTRACT_APPLICATIONS_MAX][ITEM_NAME_MAX + 1],
                       contract_error_t *err) {
  static const char *const kinds[] = {"settings", "firmware",    "application",
                                      "backup",   "consumables", "parts_life"};
  char path[64], m[96];
  snprintf(path, sizeof path, "%sitems[%d]", prefix, i);
  if (!json_is_object(item)) return fail(err, path, "an item is an object");
  const char *kind = json_string_value(json_object_get(item, "kind"));
  int k = -1;
  for (int j = 0; kind && j < 6; j++)
    if (!strcmp(kind, kinds[j])) k = j;
  snprintf(m, sizeof m, "%s.kind", path);
  if (k < 0)
    return fail(err, m,
                "kind is one of settings, firmware, application, backup, consumables, "
                "parts_life");
  seen[k]++;
  if (k != 2 && seen[k] > 1) return fail(err, path, "at most one %s item", kind);
  if (k >= 3) {
    static const char *const names[] = {"kind", NULL};
    return only(item, path, names, err);
  }
  const char *name = json_string_value(json_object_get(item, "name"));
  snprintf(m, sizeof m, "%s.name", path);
  if (!name || !printable(name, ITEM_NAME_MAX))
    return fail(err, m, "a name of 1 to %d printable characters is required", ITEM_NAME_MAX);
  if (k == 0) {
    static const char *const names[] = {"kind", "name", "values", NULL};
    return only(item, path, names, err) && parse_values(json_object_get(item, "values"), path, err);
  }
  static const char *const names[] = {"kind", "name", "version", "package", "sha256", NULL};
  if (!only(item, path, names, err)) return false;
  if (k == 2) {
    if (seen[2] > CONTRACT_APPLICATIONS_MAX)
      return fail(err, path, "at most %d application items", CONTRACT_APPLICATIONS_MAX);
    for (int j = 0; j < seen[2] - 1; j++)
      if (!strcmp(apps[j], name)) return fail(err, m, "two applications named '%s'", name);
    snprintf(apps[seen[2] - 1], ITEM_NAME_MAX + 1, "%s", name);
  }
  const char *version = json_string_value(json_object_get(item, "version"));
  snprintf(m, sizeof m, "%s.version", path);
  if (!version || !printable(version, VERSION_MAX))
    return fail(err, m, "a version of 1 to %d printable characters is required", VERSION_MAX);
  const json_t *pkg = json_object_get(item, "package");
  snprintf(m, sizeof m, "%s.package", path);
  if (!json_is_integer(pkg) || json_integer_value(pkg) < 1)
    return fail(err, m, "the id of an uploaded package is required");
  const char *sha = json_string_value(json_object_get(item, "sha256"));
  snprintf(m, sizeof m, "%s.sha256", path);
  if (!sha || strlen(sha) != 64 || strspn(sha, "0123456789abcdefABCDEF") != 64)
    return fail(err, m, "64 hexadecimal digits (the package's SHA-256) are required");
  if (in->nrefs >= NIMBUS_CONTRACT_PACKAGES_MAX) return fail(err, path, "too many packages");
  contract_package_ref_t *ref = &in->refs[in->nrefs++];
  ref->item = i;
  ref->package = (nimbus_id_t)json_integer_value(pkg);
  snprintf(ref->kind, sizeof ref->kind, "%s", kind);
  for (int j = 0; j < 64; j++) ref->sha256[j] = (char)tolower((unsigned char)sha[j]);
  ref->sha256[64] = '\0';
  return true;
}

bool contract_parse_items(const json_t *items, const char *prefix, contract_input_t *in,
                          contract_error_t *err) {
  char m[64];
  snprintf(m, sizeof m, "%sitems", prefix);
  in->nrefs = 0;
  if (!items)
    items = json_array();
  else
    json_incref((json_t *)items);
  bool ok = false;
  json_t *canon = NULL;
  if (!json_is_array(items)) {
    fail(err, m, "items is an array");
    goto done;
  }
  int seen[8] = {0};
  char apps[CONTRACT_APPLICATIONS_MAX][ITEM_NAME_MAX + 1];
  if (!(canon = json_array())) goto oom;
  for (size_t i = 0; i < json_array_size(items); i++) {
    json_t *item = json_array_get(items, i);
    if (!parse_item(item, (int)i, prefix, in, seen, apps, err)) goto done;
    json_t *copy = json_deep_copy(item);
    if (!copy) goto oom;
    json_t *sha = json_object_get(copy, "sha256");
    if (sha) { /* lowercase: equal packages compare equal */
      for (int r = 0; r < in->nrefs; r++)
        if (in->refs[r].item == (int)i) json_string_set(sha, in->refs[r].sha256);
    }
    json_array_append_new(canon, copy);
  }
  if (!canonical(canon, in->rec.items_json, sizeof in->rec.items_json)) {
    fail(err, m, "the items are too large");
    goto done;
  }
  ok = true;
  goto done;
oom:
  err->status = 500;
  snprintf(err->detail, sizeof err->detail, "out of memory");
done:
  json_decref(canon);
  json_decref((json_t *)items);
  return ok;
}

/* "printers": "all" or a list of distinct registration names. */
static bool parse_printers(const json_t *v, const char *prefix, contract_input_t *in,
                           contract_error_t *err) {
  char m[64];
  snprintf(m, sizeof m, "%sprinters", prefix);
  in->nprinters = 0;
  if (!v || (json_is_string(v) && !strcmp(json_string_value(v), "all"))) {
    snprintf(in->rec.printers_json, sizeof in->rec.printers_json, "\"all\"");
    return true;
  }
  if (!json_is_array(v) || json_array_size(v) == 0 ||
      json_array_size(v) > CONTRACT_PRINTERS_LIST_MAX)
    return fail(err, m, "\"all\" or a list of 1 to %d printer names", CONTRACT_PRINTERS_LIST_MAX);
  for (size_t i = 0; i < json_array_size(v); i++) {
    const char *name = json_string_value(json_array_get(v, i));
    snprintf(m, sizeof m, "%sprinters[%zu]", prefix, i);
    if (!name || !printer_name_valid(name)) return fail(err, m, "not a printer name");
    for (size_t j = 0; j < i; j++)
      if (!strcmp(name, json_string_value(json_array_get(v, j))))
        return fail(err, m, "'%s' is listed twice", name);
  }
  in->nprinters = (int)json_array_size(v);
  snprintf(m, sizeof m, "%sprinters", prefix);
  if (!canonical(v, in->rec.printers_json, sizeof in->rec.printers_json))
    return fail(err, m, "the printer list is too large");
  return true;
}

/* "service_settings": an object of backup, consumables, parts_life objects
 * (their members are free-form, §10 says which are required). */
static bool parse_settings(const json_t *v, const char *prefix, contract_input_t *in,
                           contract_error_t *err) {
  static const char *const names[] = {"backup", "consumables", "parts_life", NULL};
  char m[64];
  snprintf(m, sizeof m, "%sservice_settings", prefix);
  if (!v) {
    snprintf(in->rec.settings_json, sizeof in->rec.settings_json, "{}");
    return true;
  }
  if (!json_is_object(v)) return fail(err, m, "an object");
  if (!only(v, m, names, err)) return false;
  const char *key;
  const json_t *s;
  json_object_foreach((json_t *)v, key, s) {
    if (!json_is_object(s)) {
      char mm[96];
      snprintf(mm, sizeof mm, "%s.%s", m, key);
      return fail(err, mm, "an object");
    }
  }
  if (!canonical(v, in->rec.settings_json, sizeof in->rec.settings_json))
    return fail(err, m, "the service settings are too large");
  return true;
}

bool contract_parse(const json_t *obj, const char *prefix, bool require_tenant,
                    contract_input_t *in, contract_error_t *err) {
  static const char *const names[] = {"name",       "tenant",     "external_id", "start_at",
                                      "end_at",     "printers",   "items",       "service_settings",
                                      "revision",   "status",     "id",          "owner",
                                      "created_at", "updated_at", NULL};
  memset(in, 0, sizeof *in);
  memset(err, 0, sizeof *err);
  char m[64];
  snprintf(m, sizeof m, "%.40s", prefix[0] ? prefix : "contract");
  if (prefix[0] && m[strlen(m) - 1] == '.') m[strlen(m) - 1] = '\0';
  if (!json_is_object(obj)) return fail(err, m, "a contract is a JSON object");
  if (!only(obj, m, names, err)) {
    if (!prefix[0]) memmove(err->member, err->member + 9, strlen(err->member + 9) + 1);
    return false;
  }
  /* read-only members of an answer sent back are ignored */
  const char *name = json_string_value(json_object_get(obj, "name"));
  snprintf(m, sizeof m, "%sname", prefix);
  if (!name || !contract_name_valid(name))
    return fail(err, m, "a name of 1 to 64 characters [a-z0-9._-] is required");
  snprintf(in->rec.name, sizeof in->rec.name, "%s", name);
  const json_t *t = json_object_get(obj, "tenant");
  snprintf(m, sizeof m, "%stenant", prefix);
  if (t || require_tenant) {
    const char *tn = json_string_value(t);
    if (!tn || !printer_name_valid(tn)) return fail(err, m, "the customer tenant's name");
    snprintf(in->tenant, sizeof in->tenant, "%s", tn);
  }
  const json_t *x = json_object_get(obj, "external_id");
  snprintf(m, sizeof m, "%sexternal_id", prefix);
  if (x && !json_is_null(x)) {
    const char *xs = json_string_value(x);
    if (!xs || !printable(xs, EXTERNAL_ID_MAX))
      return fail(err, m, "1 to %d printable characters", EXTERNAL_ID_MAX);
    snprintf(in->rec.external_id, sizeof in->rec.external_id, "%s", xs);
  }
  const char *start = json_string_value(json_object_get(obj, "start_at"));
  snprintf(m, sizeof m, "%sstart_at", prefix);
  if (!start || !contract_time_parse(start, &in->rec.start_at))
    return fail(err, m, "an RFC 3339 UTC time (YYYY-MM-DDTHH:MM:SSZ) is required");
  const char *end = json_string_value(json_object_get(obj, "end_at"));
  snprintf(m, sizeof m, "%send_at", prefix);
  if (!end || !contract_time_parse(end, &in->rec.end_at))
    return fail(err, m, "an RFC 3339 UTC time (YYYY-MM-DDTHH:MM:SSZ) is required");
  if (in->rec.end_at <= in->rec.start_at) return fail(err, m, "the end comes after the start");
  in->has_start = in->has_end = true;
  return parse_printers(json_object_get(obj, "printers"), prefix, in, err) &&
         parse_settings(json_object_get(obj, "service_settings"), prefix, in, err) &&
         contract_parse_items(json_object_get(obj, "items"), prefix, in, err);
}

bool contract_check_refs(store_t *st, nimbus_id_t tenant_id, nimbus_id_t owner_id,
                         contract_input_t *in, contract_error_t *err) {
  char m[96];
  if (in->nprinters > 0) {
    json_t *list = json_loads(in->rec.printers_json, 0, NULL);
    for (size_t i = 0; list && i < json_array_size(list); i++) {
      nimbus_device_t d;
      const char *name = json_string_value(json_array_get(list, i));
      store_status_t s = store_device_get_by_name(st, tenant_id, name, &d);
      if (s != STORE_OK) {
        snprintf(m, sizeof m, "printers[%zu]", i);
        if (s == STORE_NOT_FOUND) {
          fail(err, m, "no printer named '%s'", name);
        } else {
          err->status = 500;
          snprintf(err->detail, sizeof err->detail, "storage error");
        }
        json_decref(list);
        return false;
      }
    }
    json_decref(list);
  }
  in->rec.npackages = 0;
  for (int r = 0; r < in->nrefs; r++) {
    const contract_package_ref_t *ref = &in->refs[r];
    nimbus_package_t p;
    store_status_t s = store_package_get(st, ref->package, &p);
    if (s == STORE_ERROR) {
      err->status = 500;
      snprintf(err->detail, sizeof err->detail, "storage error");
      return false;
    }
    snprintf(m, sizeof m, "items[%d].package", ref->item);
    if (s != STORE_OK || p.owner_tenant_id != owner_id)
      return fail(err, m, "no package %lld of the contract's owner", (long long)ref->package);
    if (strcmp(p.kind, ref->kind))
      return fail(err, m, "package %lld is a %s package", (long long)ref->package, p.kind);
    snprintf(m, sizeof m, "items[%d].sha256", ref->item);
    if (strcmp(p.sha256, ref->sha256))
      return fail(err, m, "does not match package %lld's SHA-256", (long long)ref->package);
    bool dup = false;
    for (int j = 0; j < in->rec.npackages; j++) dup |= in->rec.packages[j] == p.id;
    if (!dup) in->rec.packages[in->rec.npackages++] = p.id;
  }
  return true;
}

int64_t contract_revision_next(const nimbus_contract_t *old, const nimbus_contract_t *next) {
  bool same = old->start_at == next->start_at && old->end_at == next->end_at &&
              !strcmp(old->printers_json, next->printers_json) &&
              !strcmp(old->settings_json, next->settings_json) &&
              !strcmp(old->items_json, next->items_json);
  return same ? old->revision : old->revision + 1;
}

const char *contract_status(const nimbus_contract_t *c, int64_t now) {
  if (c->canceled) return "canceled";
  if (now < c->start_at) return "scheduled";
  if (now >= c->end_at) return "ended";
  return "active";
}

json_t *contract_json(const nimbus_contract_t *c, int64_t now) {
  char start[32], end[32], created[32], updated[32], canceled[32];
  contract_time_format(c->start_at, start);
  contract_time_format(c->end_at, end);
  contract_time_format(c->created_at, created);
  contract_time_format(c->updated_at, updated);
  contract_time_format(c->canceled_at, canceled);
  json_t *printers = json_loads(c->printers_json, JSON_DECODE_ANY, NULL);
  json_t *settings = json_loads(c->settings_json, 0, NULL);
  json_t *items = json_loads(c->items_json, 0, NULL);
  json_t *doc = json_pack(
      "{s:I, s:s, s:s, s:s, s:o, s:s, s:s, s:o, s:o, s:o, s:I, s:s, s:s, s:s, s:o}", "id",
      (json_int_t)c->id, "name", c->name, "tenant", c->tenant_name, "owner", c->owner_name,
      "external_id", c->external_id[0] ? json_string(c->external_id) : json_null(), "start_at",
      start, "end_at", end, "printers", printers ? printers : json_null(), "service_settings",
      settings ? settings : json_object(), "items", items ? items : json_array(), "revision",
      (json_int_t)c->revision, "status", contract_status(c, now), "created_at", created,
      "updated_at", updated, "canceled_at", c->canceled ? json_string(canceled) : json_null());
  return doc;
}

contract_access_t contract_access(store_t *st, nimbus_id_t tenant_id, bool is_operator,
                                  nimbus_role_t role, nimbus_id_t caller_tenant) {
  if (is_operator) return CONTRACT_ACCESS_WRITE;
  if (role != NIMBUS_ROLE_TENANT_ADMIN) return CONTRACT_ACCESS_NONE;
  nimbus_id_t dealer = 0;
  if (store_dealer_get(st, tenant_id, &dealer) == STORE_OK && dealer == caller_tenant)
    return CONTRACT_ACCESS_WRITE;
  return caller_tenant == tenant_id ? CONTRACT_ACCESS_READ : CONTRACT_ACCESS_NONE;
}
