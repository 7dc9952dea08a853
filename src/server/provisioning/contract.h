/*
 * contract.h: the contract model of docs/PROVISIONING.md §1 — parse and
 * validate its JSON form, its canonical JSON, the revision rule, the
 * derived status, and its JSON answer.  Used by the REST handlers
 * (api-contracts.c) and the incoming webhook (contract-webhook.c).
 */
#ifndef NIMBUS_CONTRACT_H
#define NIMBUS_CONTRACT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "store.h"

#define CONTRACT_APPLICATIONS_MAX 16
#define CONTRACT_SETTINGS_VALUES_MAX 64
#define CONTRACT_PRINTERS_LIST_MAX 256

/* Why a contract was refused: 400 with "member" naming the JSON member
 * (e.g. "items[2].sha256") and a detail for people (never a secret). */
typedef struct {
  int status; /* 400, or 500 (storage) */
  char member[96];
  char detail[256];
} contract_error_t;

/* A package an item names, to check against the store. */
typedef struct {
  int item; /* index in items */
  nimbus_id_t package;
  char kind[16];
  char sha256[NIMBUS_SHA256_HEX_MAX];
} contract_package_ref_t;

/* A parsed, validated contract: rec has name, external_id, start/end and
 * the canonical JSON members (tenant, owner, revision left to the
 * caller); tenant the customer's name as given. */
typedef struct {
  nimbus_contract_t rec;
  char tenant[NIMBUS_NAME_MAX];
  bool has_start, has_end; /* renew: only end_at required */
  int nrefs;
  contract_package_ref_t refs[NIMBUS_CONTRACT_PACKAGES_MAX];
  int nprinters; /* a list: how many names (0 with "all") */
} contract_input_t;

/* Parse and validate the §1 JSON form (obj: a JSON object; prefix: the
 * member path prefix for errors, "" or "contract.").  require_tenant:
 * "tenant" must be present.  False with *err set.  Checks nothing in the
 * store: see contract_check_refs. */
bool contract_parse(const json_t *obj, const char *prefix, bool require_tenant,
                    contract_input_t *in, contract_error_t *err);
/* Only the "items" member of obj (renew), into in->rec.items_json and
 * in->refs.  False with *err set. */
bool contract_parse_items(const json_t *items, const char *prefix, contract_input_t *in,
                          contract_error_t *err);
/* The store checks of a parsed contract for the customer tenant_id and
 * owner owner_id: each listed printer is a registration of the tenant;
 * each package is the owner's, of the item's kind, with the item's
 * sha256 (in->rec.packages filled).  False with *err set. */
bool contract_check_refs(store_t *st, nimbus_id_t tenant_id, nimbus_id_t owner_id,
                         contract_input_t *in, contract_error_t *err);
/* The revision after changing old into new: old's when term, printers,
 * service settings and items are equal (canonical JSON), else old's + 1. */
int64_t contract_revision_next(const nimbus_contract_t *old, const nimbus_contract_t *next);
/* "scheduled", "active", "ended" or "canceled" at now. */
const char *contract_status(const nimbus_contract_t *c, int64_t now);
/* The JSON answer of c at now (new reference; NULL when out of memory). */
json_t *contract_json(const nimbus_contract_t *c, int64_t now);
/* Who may do what with the contracts of the customer tenant_id (§2). */
typedef enum {
  CONTRACT_ACCESS_NONE = 0, /* answered 404, as if the contract did not exist */
  CONTRACT_ACCESS_READ,     /* the customer's own admins */
  CONTRACT_ACCESS_WRITE     /* an operator, or an admin of the customer's dealer */
} contract_access_t;
/* The access of a caller (operator, or role in caller_tenant) to the
 * contracts of tenant_id; reads the dealer grant from st. */
contract_access_t contract_access(store_t *st, nimbus_id_t tenant_id, bool is_operator,
                                  nimbus_role_t role, nimbus_id_t caller_tenant);
/* "YYYY-MM-DDTHH:MM:SSZ" into *out; false when s is not that. */
bool contract_time_parse(const char *s, int64_t *out);
void contract_time_format(int64_t t, char out[32]);

#endif
