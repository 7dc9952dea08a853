/*
 * user-names.h: from a name a client sent (IPP requesting-user-name, the
 * user ID typed at a printer's panel, a Basic sign-in name) to a user of
 * the tenant: the user of that name, else the user that has it as an alias.
 *
 * Aliases are a tenant's other names for its users (a PC's local or
 * Windows login: "DOMAIN\jdoe", "jdoe@corp.example", "JDOE").  They are
 * compared in their normal form (user_alias_normalise): ASCII letters
 * folded to lower case, every other byte as sent, so "CORP\JDoe" matches
 * the alias "corp\jdoe"; non-ASCII letters are compared byte for byte.
 */
#ifndef NIMBUS_USER_NAMES_H
#define NIMBUS_USER_NAMES_H

#include <stdbool.h>

#include "model.h"
#include "store.h"

/* The longest alias, in bytes (a requesting-user-name nimbusd takes). */
#define USER_ALIAS_MAX (NIMBUS_NAME_MAX - 1)

/*
 * The normal form of name into out: ASCII A-Z folded to a-z, the rest
 * unchanged.  False (out empty) when name is not a possible alias: empty,
 * longer than USER_ALIAS_MAX bytes, with a control character (below 0x20
 * or 0x7f), or with a space at either end.
 */
bool user_alias_normalise(const char *name, char out[NIMBUS_NAME_MAX]);

/*
 * The user that name designates in tenant_id: the user of exactly that
 * name, else the user with an alias of the same normal form.  STORE_OK
 * fills *out (password and PIN hashes included: the caller wipes them);
 * STORE_NOT_FOUND when the name is neither; STORE_ERROR on a store error.
 */
store_status_t user_resolve_name(store_t *st, nimbus_id_t tenant_id, const char *name,
                                 nimbus_user_t *out);

/* Does tenant t refuse jobs for names that are no user (else it holds
 * them, owner-less, as for issue 8)?  "refuse" is the default. */
bool user_names_refuse_unknown(const nimbus_tenant_t *t);

#endif
