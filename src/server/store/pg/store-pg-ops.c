/*
 * store-pg-ops.c: the PostgreSQL backend's operations table (store-ops.h):
 * "postgresql://" and "postgres://" URLs, handed whole to libpq.
 *
 * The backend is being written concern by concern (docs/ARCHITECTURE.md
 * §5): an operation not listed here is NULL, which store.c answers with
 * STORE_ERROR ("not implemented on PostgreSQL", logged) and which makes
 * nimbusd refuse to start on this backend (store_unimplemented_op()).
 */
#include "store-pg-private.h"

const store_ops_t pg_store_ops = {
    .scheme = "postgresql",
    .name = "PostgreSQL",
    .open = pg_open,
    .version = pg_version,
    .close = pg_close,
    .schema_version = pg_schema_version,
    .schema_version_nowait = pg_schema_version_nowait,
    .tenant_insert = pg_tenant_insert,
    .tenant_get = pg_tenant_get,
    .tenant_get_by_name = pg_tenant_get_by_name,
    .tenant_update = pg_tenant_update,
    .tenant_delete = pg_tenant_delete,
    .tenant_list = pg_tenant_list,
    .user_insert = pg_user_insert,
    .user_get = pg_user_get,
    .user_get_by_name = pg_user_get_by_name,
    .user_update = pg_user_update,
    .user_delete = pg_user_delete,
    .user_list = pg_user_list,
    .user_get_by_alias = pg_user_get_by_alias,
    .user_name_folds_to = pg_user_name_folds_to,
    .alias_insert = pg_alias_insert,
    .alias_delete = pg_alias_delete,
    .alias_list = pg_alias_list,
    .token_insert = pg_token_insert,
    .token_lookup = pg_token_lookup,
    .token_list = pg_token_list,
    .token_revoke = pg_token_revoke,
    .queue_insert = pg_queue_insert,
    .queue_get_by_name = pg_queue_get_by_name,
    .queue_update = pg_queue_update,
    .queue_delete = pg_queue_delete,
    .queue_list = pg_queue_list,
    .panel_session_insert = pg_panel_session_insert,
    .panel_session_get = pg_panel_session_get,
    .panel_session_touch = pg_panel_session_touch,
    .panel_session_delete = pg_panel_session_delete,
    .throttle_get = pg_throttle_get,
    .throttle_fail = pg_throttle_fail,
    .throttle_clear = pg_throttle_clear,
    .audit_append = pg_audit_append,
    .job_count_by_state = pg_job_count_by_state,
};
