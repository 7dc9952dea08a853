/*
 * user-names.c: a client's name to a tenant user, by user name then by
 * alias (user-names.h).  One function, so that every path that maps a
 * name to a user (nimbusd's IPP queues, printers submitting for a PC's
 * user, panel and Basic sign-in) agrees on what a name means.
 */
#include "user-names.h"

#include <string.h>

bool user_alias_normalise(const char *name, char out[NIMBUS_NAME_MAX]) {
  out[0] = '\0';
  size_t len = name ? strlen(name) : 0;
  if (len == 0 || len > USER_ALIAS_MAX || name[0] == ' ' || name[len - 1] == ' ') return false;
  for (size_t i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)name[i];
    if (ch < 0x20 || ch == 0x7f) {
      out[0] = '\0';
      return false;
    }
    out[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
  }
  out[len] = '\0';
  return true;
}

store_status_t user_resolve_name(store_t *st, nimbus_id_t tenant_id, const char *name,
                                 nimbus_user_t *out) {
  char key[NIMBUS_NAME_MAX];
  if (!name || !*name) return STORE_NOT_FOUND;
  store_status_t s = store_user_get_by_name(st, tenant_id, name, out);
  if (s != STORE_NOT_FOUND) return s;
  if (!user_alias_normalise(name, key)) return STORE_NOT_FOUND;
  return store_user_get_by_alias(st, tenant_id, key, out);
}

bool user_names_refuse_unknown(const nimbus_tenant_t *t) {
  return strcmp(t->unknown_user_names, "hold") != 0;
}
