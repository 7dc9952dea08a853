/*
 * config.c: the parser behind config.h.  Values are validated against the
 * option's type and bounds; strings longer than their field are rejected,
 * never truncated silently.
 */
#include "config.h"

#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_LINE_MAX 4096

static const config_option_t *config_find(const config_option_t *table, const char *name) {
  for (const config_option_t *o = table; o->name; o++)
    if (strcmp(o->name, name) == 0) return o;
  return NULL;
}

/* Parse a size such as "512", "64k", "10M", "2G" (binary multiples). */
static bool config_parse_size(const char *s, int64_t *out) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || end == s || v < 0) return false;
  int64_t mult = 1;
  if (*end == 'k' || *end == 'K')
    mult = 1024, end++;
  else if (*end == 'M' || *end == 'm')
    mult = 1024 * 1024, end++;
  else if (*end == 'G' || *end == 'g')
    mult = 1024LL * 1024 * 1024, end++;
  if (*end) return false;
  if (v > INT64_MAX / mult) return false;
  *out = (int64_t)v * mult;
  return true;
}

static bool config_parse_bool(const char *s, bool *out) {
  if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on") || !strcmp(s, "1")) {
    *out = true;
    return true;
  }
  if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off") || !strcmp(s, "0")) {
    *out = false;
    return true;
  }
  return false;
}

bool config_set(const config_option_t *table, void *cfg, const char *name, const char *value,
                char *err, size_t errlen) {
  const config_option_t *o = config_find(table, name);
  if (!o) {
    snprintf(err, errlen, "unknown option '%s'", name);
    return false;
  }
  if (o->type == CONFIG_ALIAS) { /* warn, then set the option it stands for */
    if (!config_find(table, o->default_value)) {
      snprintf(err, errlen, "option '%s' is an alias of an unknown option", name);
      return false;
    }
    log_event(LOG_WARN, NULL, "deprecated option", "option", name, "use", o->default_value,
              (char *)NULL);
    return config_set(table, cfg, o->default_value, value, err, errlen);
  }
  char *field = (char *)cfg + o->offset;
  switch (o->type) {
    case CONFIG_STRING:
      if (strlen(value) >= o->size) {
        snprintf(err, errlen, "value of '%s' is longer than %zu characters", name, o->size - 1);
        return false;
      }
      memcpy(field, value, strlen(value) + 1);
      return true;
    case CONFIG_INT:
    case CONFIG_SIZE: {
      int64_t v;
      if (o->type == CONFIG_SIZE) {
        if (!config_parse_size(value, &v)) {
          snprintf(err, errlen, "'%s' needs a size such as 1048576, 64k, 10M or 2G", name);
          return false;
        }
      } else {
        char *end;
        errno = 0;
        long long l = strtoll(value, &end, 10);
        if (errno || end == value || *end || l < INT32_MIN || l > INT32_MAX) {
          snprintf(err, errlen, "'%s' needs a whole number", name);
          return false;
        }
        v = l;
      }
      if ((o->min || o->max) && (v < o->min || v > o->max)) {
        snprintf(err, errlen, "'%s' must be between %" PRId64 " and %" PRId64, name, o->min,
                 o->max);
        return false;
      }
      if (o->type == CONFIG_SIZE)
        *(int64_t *)field = v;
      else
        *(int *)field = (int)v;
      return true;
    }
    case CONFIG_BOOL:
      if (!config_parse_bool(value, (bool *)field)) {
        snprintf(err, errlen, "'%s' needs true or false", name);
        return false;
      }
      return true;
    case CONFIG_ALIAS:
      break;
  }
  return false;
}

bool config_set_defaults(const config_option_t *table, void *cfg, char *err, size_t errlen) {
  for (const config_option_t *o = table; o->name; o++)
    if (o->type != CONFIG_ALIAS &&
        !config_set(table, cfg, o->name, o->default_value ? o->default_value : "", err, errlen))
      return false;
  return true;
}

/* Trim leading and trailing white space in place; returns the start. */
static char *config_trim(char *s) {
  while (isspace((unsigned char)*s)) s++;
  char *e = s + strlen(s);
  while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
  return s;
}

bool config_load_file(const config_option_t *table, void *cfg, const char *path, char *err,
                      size_t errlen) {
  FILE *f = fopen(path, "r");
  if (!f) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return false;
  }
  char line[CONFIG_LINE_MAX];
  int lineno = 0;
  bool ok = true;
  while (fgets(line, sizeof line, f)) {
    lineno++;
    if (!strchr(line, '\n') && !feof(f)) {
      snprintf(err, errlen, "%s:%d: line too long", path, lineno);
      ok = false;
      break;
    }
    char *hash = strchr(line, '#');
    if (hash) *hash = '\0';
    char *s = config_trim(line);
    if (!*s) continue;
    char *eq = strchr(s, '=');
    if (!eq) {
      snprintf(err, errlen, "%s:%d: expected 'name = value'", path, lineno);
      ok = false;
      break;
    }
    *eq = '\0';
    char msg[256];
    if (!config_set(table, cfg, config_trim(s), config_trim(eq + 1), msg, sizeof msg)) {
      snprintf(err, errlen, "%s:%d: %s", path, lineno, msg);
      ok = false;
      break;
    }
  }
  fclose(f);
  return ok;
}

bool config_parse_args(const config_option_t *table, void *cfg, int argc, char **argv, bool *help,
                       int *first_arg, char *err, size_t errlen) {
  *help = false;
  int i = 1;
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) {
      i++;
      break;
    }
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      *help = true;
      continue;
    }
    if (strncmp(a, "--", 2) != 0) break;
    char name[128];
    const char *value = NULL;
    const char *eq = strchr(a + 2, '=');
    size_t nlen = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
    if (nlen >= sizeof name) {
      snprintf(err, errlen, "unknown option '%s'", a);
      return false;
    }
    memcpy(name, a + 2, nlen);
    name[nlen] = '\0';
    if (eq) value = eq + 1;

    if (strcmp(name, "config") == 0) {
      if (!value) {
        if (i + 1 >= argc) {
          snprintf(err, errlen, "--config needs a file");
          return false;
        }
        value = argv[++i];
      }
      if (!config_load_file(table, cfg, value, err, errlen)) return false;
      continue;
    }
    const config_option_t *o = config_find(table, name);
    if (!o && strncmp(name, "no-", 3) == 0 && !value) {
      const config_option_t *b = config_find(table, name + 3);
      if (b && b->type == CONFIG_BOOL) {
        *(bool *)((char *)cfg + b->offset) = false;
        continue;
      }
    }
    if (!o) {
      snprintf(err, errlen, "unknown option '--%s' (see --help)", name);
      return false;
    }
    const config_option_t *t = o->type == CONFIG_ALIAS ? config_find(table, o->default_value) : o;
    if (!value) {
      if (t && t->type == CONFIG_BOOL) {
        value = "true";
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        snprintf(err, errlen, "--%s needs a value", name);
        return false;
      }
    }
    if (!config_set(table, cfg, name, value, err, errlen)) return false;
  }
  *first_arg = i;
  return true;
}

void config_print_help(const config_option_t *table, FILE *out) {
  fprintf(out, "Options (also accepted as 'name = value' lines in the --config file):\n");
  fprintf(out, "  --config FILE                 read options from FILE\n");
  fprintf(out, "  --help                        show this help\n");
  for (const config_option_t *o = table; o->name; o++) {
    if (o->type == CONFIG_ALIAS) continue; /* deprecated names: in the man pages only */
    char left[64];
    const char *arg = o->type == CONFIG_BOOL     ? ""
                      : o->type == CONFIG_STRING ? " TEXT"
                      : o->type == CONFIG_SIZE   ? " SIZE"
                                                 : " N";
    snprintf(left, sizeof left, "--%s%s", o->name, arg);
    fprintf(out, "  %-29s %s", left, o->help);
    if (o->default_value && *o->default_value) fprintf(out, " [default: %s]", o->default_value);
    fputc('\n', out);
  }
}
