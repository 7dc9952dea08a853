/*
 * ipp-private.h: state shared by the IPP files (ipp-server.c: intake and
 * dispatch; ipp-printer.c: printer attributes; ipp-job.c: job operations;
 * ipp-job-attrs.c: job attribute validation and rendering).
 */
#ifndef NIMBUS_IPP_PRIVATE_H
#define NIMBUS_IPP_PRIVATE_H

#include <cups/cups.h>
#include <cups/ipp.h>

#include "device.h"
#include "intake.h"
#include "notify.h"
#include "ipp-server.h"

typedef struct {
  http_request_t *r;
  nimbus_server_t *srv;

  /* the attribute section, buffered until libcups can decode it */
  unsigned char *hdr;
  size_t hdr_len;
  size_t hdr_used;  /* bytes of hdr the decoder consumed */
  size_t hdr_cap;   /* allocated size of hdr */
  size_t decode_at; /* next hdr_len at which a decode is attempted */
  bool header_done;
  bool header_too_large;

  ipp_t *request;
  ipp_t *response;
  ipp_op_t op;
  int status; /* final IPP status, -1 until answered */

  /* from the URL path */
  char tenant_name[NIMBUS_NAME_MAX];
  char queue_name[NIMBUS_NAME_MAX];
  nimbus_id_t path_job_id;
  bool path_ok;

  /* resolved during admission */
  bool admitted; /* tenant, queue and caller checked */
  bool found;    /* tenant and queue exist */
  nimbus_tenant_t tenant;
  nimbus_queue_t queue;
  bool is_admin;                   /* tenant-admin or operator of this tenant */
  char user_name[NIMBUS_NAME_MAX]; /* authenticated (or anonymous) name */
  nimbus_id_t user_id;             /* 0 when anonymous */
  /* an anonymous caller whose requesting-user-name names a user (or its
   * alias) on a queue that holds jobs: that user owns its new jobs (to
   * release them), without any of the user's rights (user_id stays 0) */
  nimbus_id_t anon_owner_id;

  /* document intake (Print-Job, Send-Document) */
  bool wants_document;
  intake_t *intake;
  bool intake_refused; /* admission refused the document: status is set */
  nimbus_job_t job;    /* the job being created, or the target job */
  char doc_format[NIMBUS_NAME_MAX];
  char doc_name[NIMBUS_TEXT_MAX];
  bool last_document;        /* Send-Document */
  long long inline_reserved; /* share of srv->inline_bytes held */
  bool document_inline;      /* Print-Job: the whole document is in hdr */
  char compression[16];      /* the document's compression keyword ("" = none) */

  /* the device channel (ipp-infra.c, ipp-system.c) */
  bool system;       /* the request went to /ipp/system */
  bool is_device;    /* authenticated as an output device */
  bool on_behalf;    /* a device submitting for requesting-user-name (7.1) */
  int behalf_status; /* when not 0: the IPP status that refuses it */
  char behalf_message[256];
  bool behalf_unknown;    /* on_behalf for a name that is no user: never released */
  nimbus_device_t device; /* that device */
  int nsubs;              /* Get-Notifications: its subscriptions... */
  int sub_ids[NOTIFY_MAX_SUBS_PER_REQUEST];
  int sub_since[NOTIFY_MAX_SUBS_PER_REQUEST]; /* ...and the first sequence number wanted */
  bool notify_wait;                           /* notify-wait=true: park while nothing is pending */
  bool parked; /* parked by notify_collect(); finish() must not answer */
} ipp_ctx_t;

/* Operation table entry (ipp-server.c). */
typedef struct {
  ipp_op_t op;
  const char *label; /* metrics label, e.g. "ipp.print-job" */
  void (*fn)(ipp_ctx_t *ctx);
  bool anonymous; /* allowed without credentials */
  bool document;  /* the request carries a document */
  bool device;    /* output devices only (device credential, output-device-uuid) */
} ipp_op_entry_t;

#define IPP_GET_JOBS_MAX 1000 /* most jobs one Get-Jobs response lists */

/* A growing array of jobs filled by a store list callback. */
typedef struct {
  nimbus_job_t *jobs;
  int n, cap;
} ipp_job_vec_t;
bool ipp_collect_job(const nimbus_job_t *job, void *arg); /* store_job_cb */
/* strcmp for cups arrays of attribute names. */
int ipp_strcmp(void *a, void *b, void *data);
/* Resolve the target job from job-id, job-uri or the request path; answers
 * client-error-not-found (another tenant's or queue's job) itself. */
bool ipp_target_job(ipp_ctx_t *ctx, nimbus_job_t *job);
/* Encode the response into a malloc'd buffer; NULL on failure. */
char *ipp_encode_response(ipp_ctx_t *ctx, size_t *len);
/* Encode and set the response as the HTTP answer. */
void ipp_send(ipp_ctx_t *ctx);

/* ipp-infra.c: the INFRA operations (PWG 5100.18) for output devices. */
void ipp_op_update_output_device_attributes(ipp_ctx_t *ctx);
void ipp_op_get_output_device_attributes(ipp_ctx_t *ctx);
void ipp_op_create_printer_subscriptions(ipp_ctx_t *ctx);
void ipp_op_get_notifications(ipp_ctx_t *ctx);
void ipp_op_cancel_subscription(ipp_ctx_t *ctx);
void ipp_op_get_fetchable_jobs(ipp_ctx_t *ctx);
void ipp_op_fetch_job(ipp_ctx_t *ctx);
void ipp_op_acknowledge_job(ipp_ctx_t *ctx);
void ipp_op_fetch_document(ipp_ctx_t *ctx);
void ipp_op_acknowledge_document(ipp_ctx_t *ctx);
void ipp_op_update_job_status(ipp_ctx_t *ctx);
void ipp_op_update_document_status(ipp_ctx_t *ctx);
void ipp_op_update_active_jobs(ipp_ctx_t *ctx);
void ipp_op_deregister_output_device(ipp_ctx_t *ctx);
/* ipp-infra-client.c: the rest of what PWG 5100.18 4.6 requires. */
void ipp_op_get_printer_supported_values(ipp_ctx_t *ctx);
void ipp_op_validate_document(ipp_ctx_t *ctx);
void ipp_op_get_documents(ipp_ctx_t *ctx);
void ipp_op_get_document_attributes(ipp_ctx_t *ctx);
void ipp_op_create_job_subscriptions(ipp_ctx_t *ctx);
void ipp_op_get_subscription_attributes(ipp_ctx_t *ctx);
void ipp_op_get_subscriptions(ipp_ctx_t *ctx);
void ipp_op_renew_subscription(ipp_ctx_t *ctx);
/* Overlay the capabilities reported by the queue's devices on the
 * printer attributes p (Get-Printer-Attributes). */
void ipp_infra_overlay_capabilities(ipp_ctx_t *ctx, ipp_t *p);
/* ipp-printer.c: the HTML information page of a browser's GET. */
void ipp_printer_page(ipp_ctx_t *ctx);

/* ipp-system.c: /ipp/system (PWG 5100.22). */
void ipp_op_register_output_device(ipp_ctx_t *ctx);
/* Does the registration request carry a claim code (nimbus-claim-code or
 * HTTP credentials)?  Without one it is answered with the 401 challenge. */
bool ipp_system_has_claim(ipp_ctx_t *ctx);

/* Start the response with the request's id and version; sets ctx->status. */
void ipp_respond(ipp_ctx_t *ctx, ipp_status_t status, const char *message, ...)
    __attribute__((format(printf, 3, 4)));
/* The queue's printer-uri as clients reach it (scheme://host/ipp/print/t/q). */
void ipp_printer_uri(const ipp_ctx_t *ctx, char *out, size_t outlen);

/* ipp-server.c: the operations this server implements (for
 * operations-supported); returns how many were written. */
int ipp_operations_supported(int *out, int max);

/* ipp-printer.c */
void ipp_op_get_printer_attributes(ipp_ctx_t *ctx);
/* Is name a printer attribute this server reports (for requested-attributes)? */
bool ipp_printer_attr_known(const char *name);

/* ipp-job.c: each operation fills ctx->response. */
/* Admission for Print-Job / Send-Document, before the document is spooled:
 * false when ctx->response already carries the refusal. */
bool ipp_job_precheck_document(ipp_ctx_t *ctx);
void ipp_op_print_job(ipp_ctx_t *ctx);
void ipp_op_validate_job(ipp_ctx_t *ctx);
void ipp_op_create_job(ipp_ctx_t *ctx);
void ipp_op_send_document(ipp_ctx_t *ctx);
void ipp_op_close_job(ipp_ctx_t *ctx);
void ipp_op_get_jobs(ipp_ctx_t *ctx);
void ipp_op_get_job_attributes(ipp_ctx_t *ctx);
void ipp_op_cancel_job(ipp_ctx_t *ctx);
void ipp_op_cancel_my_jobs(ipp_ctx_t *ctx);
void ipp_op_hold_job(ipp_ctx_t *ctx);
void ipp_op_release_job(ipp_ctx_t *ctx);

/* ipp-caps.c: the job-template attributes a queue supports.  Until a
 * printer reports its own capabilities these defaults apply.  The same
 * table drives validation (ipp-job-attrs.c) and the printer's
 * xxx-supported / xxx-default attributes (ipp-printer.c). */
typedef struct {
  const char *name;
  ipp_tag_t tag;               /* KEYWORD, ENUM or INTEGER */
  const char *const *keywords; /* KEYWORD: supported values, NULL-ended */
  const int *enums;            /* ENUM: supported values */
  int nenums;
  int min, max; /* INTEGER: supported range */
  const char *default_keyword;
  int default_int;
} ipp_template_attr_t;

extern const ipp_template_attr_t ipp_template_attrs[];
extern const size_t ipp_template_attrs_count;
const ipp_template_attr_t *ipp_template_attr_find(const char *name);

/* ipp-job-attrs.c */
/* Copy attr into the response's unsupported-attributes group. */
void ipp_unsupported(ipp_ctx_t *ctx, ipp_attribute_t *attr);
/* A stable name-based UUID URN ("urn:uuid:...") derived from seed. */
void ipp_make_uuid(const char *seed, char out[64]);
/* Validate operation and job-template attributes of a job creation
 * request into job; copies unsupported ones to the response.  Returns
 * false when ctx->response already carries an error status. */
bool ipp_job_attrs_parse(ipp_ctx_t *ctx, nimbus_job_t *job, char *doc_format, size_t fmtlen,
                         char *doc_name, size_t namelen);
/* Add the job's attributes to the response's job group, filtered by
 * requested-attributes (ra may be NULL for the defaults). */
void ipp_job_attrs_add(ipp_ctx_t *ctx, const nimbus_job_t *job, cups_array_t *ra);
/* Add job-id, job-uri, job-state, job-state-reasons (create responses). */
void ipp_job_attrs_add_brief(ipp_ctx_t *ctx, const nimbus_job_t *job);

#endif
