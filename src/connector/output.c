/*
 * output.c: dispatch from output.h to the backend chosen by the spec.
 */
#include "output.h"

#include <stdio.h>
#include <string.h>

output_t *output_open(const char *spec, char *err, size_t errlen) {
  if (!strncmp(spec, "ipp://", 6) || !strncmp(spec, "ipps://", 7))
    return output_ipp_open(spec, false, err, errlen);
  if (!strncmp(spec, "cups:", 5)) return output_ipp_open(spec + 5, true, err, errlen);
  if (!strncmp(spec, "file://", 7)) return output_file_open(spec + 7, err, errlen);
  snprintf(err, errlen, "output must be ipp://, ipps://, file:// or cups:QUEUE");
  return NULL;
}

void output_close(output_t *o) {
  if (o) o->ops->close(o);
}

const char *output_kind(const output_t *o) {
  return o->ops->kind;
}

bool output_caps(output_t *o, ipp_t *req, char *err, size_t errlen) {
  return o->ops->caps(o, req, err, errlen);
}

bool output_begin(output_t *o, int job_id, int doc_no, const char *format, ipp_t *job_attrs,
                  char *err, size_t errlen) {
  o->remote_id = 0;
  return o->ops->begin(o, job_id, doc_no, format, job_attrs, err, errlen);
}

bool output_write(output_t *o, const char *buf, size_t len) {
  return o->ops->write(o, buf, len);
}

int output_remote_id(const output_t *o) {
  return o->remote_id;
}

bool output_end(output_t *o, output_result_t *res, output_tick_t tick, void *ctx) {
  memset(res, 0, sizeof *res);
  return o->ops->end(o, res, tick, ctx);
}

void output_abort(output_t *o) {
  o->ops->abort(o);
}

bool output_recover(output_t *o, int job_id, int remote_id, output_result_t *res,
                    output_tick_t tick, void *ctx) {
  memset(res, 0, sizeof *res);
  return o->ops->recover(o, job_id, remote_id, res, tick, ctx);
}

const char *output_extension(const char *format) {
  static const struct {
    const char *mime, *ext;
  } map[] = {{"application/pdf", "pdf"}, {"image/pwg-raster", "pwg"},      {"image/urf", "urf"},
             {"image/jpeg", "jpg"},      {"application/postscript", "ps"}, {"text/plain", "txt"}};
  for (size_t i = 0; format && i < sizeof map / sizeof map[0]; i++)
    if (!strcmp(map[i].mime, format)) return map[i].ext;
  return "bin";
}
