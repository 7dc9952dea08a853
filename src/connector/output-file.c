/*
 * output-file.c: the virtual printer.  Each document becomes
 * DIR/<job-id>-<doc>.<ext> with its attributes in DIR/<job-id>-<doc>.json;
 * both are written to a hidden ".part" file, fsync'd and renamed, so a
 * reader never sees half a document.  Impressions are the page count of
 * the document (docformat.c), times copies.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "docformat.h"
#include "output.h"
#include "state.h"

typedef struct {
  output_t base;
  char dir[2048];
  int fd;
  char part[2300];
  char final[2300];
  char format[128];
  int job_id, doc_no, copies;
  json_t *attrs; /* the .json file being prepared */
} output_file_t;

static bool file_caps(output_t *o, ipp_t *req, char *err, size_t errlen) {
  (void)o, (void)err, (void)errlen;
  static const char *const media[] = {"iso_a4_210x297mm", "na_letter_8.5x11in"};
  static const char *const sides[] = {"one-sided", "two-sided-long-edge", "two-sided-short-edge"};
  static const char *const modes[] = {"monochrome", "color"};
  static const char *const formats[] = {"application/pdf", "image/jpeg", "image/pwg-raster",
                                        "image/urf"};
  ippAddStrings(req, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "media-supported", 2, NULL, media);
  ippAddString(req, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "media-default", NULL, media[0]);
  ippAddStrings(req, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "sides-supported", 3, NULL, sides);
  ippAddString(req, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "sides-default", NULL, sides[0]);
  ippAddStrings(req, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "print-color-mode-supported", 2, NULL,
                modes);
  ippAddString(req, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "print-color-mode-default", NULL, modes[0]);
  ippAddStrings(req, IPP_TAG_PRINTER, IPP_TAG_MIMETYPE, "document-format-supported", 4, NULL,
                formats);
  ippAddString(req, IPP_TAG_PRINTER, IPP_TAG_MIMETYPE, "document-format-default", NULL, formats[0]);
  ippAddResolution(req, IPP_TAG_PRINTER, "printer-resolution-supported", IPP_RES_PER_INCH, 300,
                   300);
  ippAddResolution(req, IPP_TAG_PRINTER, "printer-resolution-default", IPP_RES_PER_INCH, 300, 300);
  ippAddString(req, IPP_TAG_PRINTER, IPP_TAG_TEXT, "printer-make-and-model", NULL,
               "Nimbus virtual file printer");
  ippAddInteger(req, IPP_TAG_PRINTER, IPP_TAG_ENUM, "printer-state", IPP_PSTATE_IDLE);
  ippAddString(req, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "printer-state-reasons", NULL, "none");
  return true;
}

static bool file_begin(output_t *o, int job_id, int doc_no, const char *format, ipp_t *job_attrs,
                       char *err, size_t errlen) {
  output_file_t *f = (output_file_t *)o;
  const char *ext = output_extension(format);
  snprintf(f->part, sizeof f->part, "%s/.%d-%d.%s.part", f->dir, job_id, doc_no, ext);
  snprintf(f->final, sizeof f->final, "%s/%d-%d.%s", f->dir, job_id, doc_no, ext);
  snprintf(f->format, sizeof f->format, "%s", format ? format : "application/octet-stream");
  f->job_id = job_id;
  f->doc_no = doc_no;
  f->copies = 1;
  f->fd = open(f->part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (f->fd < 0) {
    snprintf(err, errlen, "%s: %s", f->part, strerror(errno));
    return false;
  }
  json_decref(f->attrs);
  f->attrs = json_object();
  json_t *ja = json_object();
  for (ipp_attribute_t *a = job_attrs ? ippFirstAttribute(job_attrs) : NULL; a;
       a = ippNextAttribute(job_attrs)) {
    const char *name = ippGetName(a);
    if (!name || ippGetGroupTag(a) != IPP_TAG_JOB) continue;
    char value[1024];
    ippAttributeString(a, value, sizeof value);
    json_object_set_new(ja, name, json_string(value));
    if (!strcmp(name, "copies") && ippGetInteger(a, 0) > 0) f->copies = ippGetInteger(a, 0);
  }
  json_object_set_new(f->attrs, "job-id", json_integer(job_id));
  json_object_set_new(f->attrs, "document-number", json_integer(doc_no));
  json_object_set_new(f->attrs, "document-format", json_string(f->format));
  json_object_set_new(f->attrs, "job-attributes", ja);
  return true;
}

static bool file_write(output_t *o, const char *buf, size_t len) {
  output_file_t *f = (output_file_t *)o;
  return f->fd >= 0 && fs_write_all(f->fd, buf, len);
}

static void file_abort(output_t *o) {
  output_file_t *f = (output_file_t *)o;
  if (f->fd >= 0) {
    close(f->fd);
    unlink(f->part);
  }
  f->fd = -1;
  json_decref(f->attrs);
  f->attrs = NULL;
}

/* Write text to path atomically (part file, fsync, rename). */
static bool file_write_atomic(const char *path, const char *text) {
  char part[2500];
  snprintf(part, sizeof part, "%s.part", path);
  int fd = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  bool ok = fs_write_all(fd, text, strlen(text)) && fsync(fd) == 0;
  close(fd);
  if (!ok || rename(part, path) != 0) {
    unlink(part);
    return false;
  }
  return true;
}

static bool file_end(output_t *o, output_result_t *res, output_tick_t tick, void *ctx) {
  (void)tick, (void)ctx;
  output_file_t *f = (output_file_t *)o;
  bool ok = false;
  char *text = NULL;
  if (f->fd < 0) return false;
  if (fsync(f->fd) != 0) goto done;
  char why[128] = "";
  int pages =
      docformat_count_pages(docformat_from_mime(f->format, NULL), f->part, NULL, why, sizeof why);
  res->impressions = (pages > 0 ? pages : 1) * f->copies;
  char now[32];
  state_now(now);
  json_object_set_new(f->attrs, "impressions", json_integer(res->impressions));
  json_object_set_new(f->attrs, "printed_at", json_string(now));
  json_object_set_new(f->attrs, "file", json_string(strrchr(f->final, '/') + 1));
  text = json_dumps(f->attrs, JSON_INDENT(2) | JSON_SORT_KEYS);
  char jpath[2400];
  snprintf(jpath, sizeof jpath, "%s/%d-%d.json", f->dir, f->job_id, f->doc_no);
  /* the document first: a .json file always names a complete document */
  if (!text || rename(f->part, f->final) != 0 || !file_write_atomic(jpath, text) ||
      !fs_sync_dir(f->dir))
    goto done;
  res->job_state = IPP_JSTATE_COMPLETED;
  ok = true;
done:
  if (!ok) {
    res->job_state = IPP_JSTATE_ABORTED;
    snprintf(res->reason, sizeof res->reason, "cannot write to the output directory");
    unlink(f->part);
  }
  close(f->fd);
  f->fd = -1;
  free(text);
  json_decref(f->attrs);
  f->attrs = NULL;
  return ok;
}

/* A job handed over before a crash: printed if its first document is there. */
static bool file_recover(output_t *o, int job_id, int remote_id, output_result_t *res,
                         output_tick_t tick, void *ctx) {
  (void)remote_id, (void)tick, (void)ctx;
  output_file_t *f = (output_file_t *)o;
  char jpath[2400];
  snprintf(jpath, sizeof jpath, "%s/%d-1.json", f->dir, job_id);
  json_t *j = json_load_file(jpath, 0, NULL);
  if (!j) {
    res->job_state = IPP_JSTATE_ABORTED;
    snprintf(res->reason, sizeof res->reason, "interrupted before the document was complete");
    return true;
  }
  res->job_state = IPP_JSTATE_COMPLETED;
  res->impressions = (int)json_integer_value(json_object_get(j, "impressions"));
  json_decref(j);
  return true;
}

static void file_close(output_t *o) {
  file_abort(o);
  free(o);
}

static const output_ops_t file_ops = {"file",   file_caps,  file_begin,   file_write,
                                      file_end, file_abort, file_recover, file_close};

/* mkdir -p: create dir and its missing parents (mode 0755). */
static bool file_mkdirs(const char *dir) {
  char path[2048];
  snprintf(path, sizeof path, "%s", dir);
  for (char *p = path + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(path, 0755) != 0 && errno != EEXIST) return false;
    *p = '/';
  }
  return mkdir(path, 0755) == 0 || errno == EEXIST;
}

output_t *output_file_open(const char *dir, char *err, size_t errlen) {
  struct stat sb;
  if (!dir[0] || strlen(dir) >= 2048) {
    snprintf(err, errlen, "file:// output needs a directory");
    return NULL;
  }
  if (stat(dir, &sb) != 0 && !file_mkdirs(dir)) {
    snprintf(err, errlen, "%s: %s", dir, strerror(errno));
    return NULL;
  }
  if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode) || access(dir, W_OK) != 0) {
    snprintf(err, errlen, "%s: not a writable directory", dir);
    return NULL;
  }
  output_file_t *f = calloc(1, sizeof *f);
  if (!f) return NULL;
  f->base.ops = &file_ops;
  f->fd = -1;
  memcpy(f->dir, dir, strlen(dir) + 1);
  return &f->base;
}
