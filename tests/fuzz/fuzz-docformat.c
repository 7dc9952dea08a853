/*
 * fuzz-docformat.c: libFuzzer target for docformat.  Each input is used
 * three ways: as a MIME type string (docformat_from_mime), as the first
 * bytes of a document (docformat_sniff), and as a whole document written to
 * a private temporary file and page-counted in the sniffed format (raster
 * and JPEG walkers, or qpdf for PDF).  The API's promises are checked too:
 * a count is -1 with a reason or >= 1 with none, and a JPEG is one page.
 *
 * A count may also stop at a limit (DOCFORMAT_LIMIT, with a reason).
 *
 * Seed it with tests/data and tests/fuzz/corpus/docformat (small hostile
 * PDFs from tests/integration/make_pdf.py --bomb: object and cross-reference
 * streams that inflate past the limits, a repeated page, a deep page tree,
 * deeply nested arrays), but give libFuzzer a scratch directory first so
 * new units are not written into the source tree:
 *   fuzz-docformat -max_total_time=60 /tmp/docformat-corpus tests/data \
 *     tests/fuzz/corpus/docformat
 */
#include "docformat.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Largest prefix of an input tried as a MIME type. */
#define FUZZ_MIME_MAX 256

static char fuzz_path[4096];
static int fuzz_fd = -1;

static void fuzz_cleanup(void) {
  if (fuzz_fd >= 0) close(fuzz_fd);
  if (fuzz_path[0]) unlink(fuzz_path);
}

/* Create the one scratch file every input is written to. */
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  const char *tmp = getenv("TMPDIR");
  (void)argc;
  (void)argv;

  snprintf(fuzz_path, sizeof(fuzz_path), "%s/fuzz-docformat-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  fuzz_fd = mkstemp(fuzz_path);
  if (fuzz_fd < 0) {
    perror("fuzz-docformat: mkstemp");
    abort();
  }
  atexit(fuzz_cleanup);
  return 0;
}

/* Replace the scratch file's contents with data. */
static void fuzz_store(const uint8_t *data, size_t size) {
  size_t done = 0;

  if (ftruncate(fuzz_fd, 0) != 0) abort();
  while (done < size) {
    ssize_t n = pwrite(fuzz_fd, data + done, size - done, (off_t)done);
    if (n <= 0) abort();
    done += (size_t)n;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char mime[FUZZ_MIME_MAX + 1];
  char err[128];
  size_t mlen = size < FUZZ_MIME_MAX ? size : FUZZ_MIME_MAX;
  bool is_auto = true;
  docformat_t fmt;
  int pages;

  memcpy(mime, data, mlen);
  mime[mlen] = '\0';
  fmt = docformat_from_mime(mime, &is_auto);
  if (is_auto && fmt != DOCFORMAT_UNKNOWN) abort();
  if (fmt != DOCFORMAT_UNKNOWN && docformat_from_mime(docformat_mime(fmt), NULL) != fmt) abort();

  fmt = docformat_sniff(data, size);
  if ((fmt == DOCFORMAT_UNKNOWN) != (docformat_mime(fmt) == NULL)) abort();

  fuzz_store(data, size);
  memset(err, 'X', sizeof(err));
  pages = docformat_count_pages(fmt, fuzz_path, NULL, err, sizeof(err));
  if (memchr(err, '\0', sizeof(err)) == NULL) abort(); /* reason always terminated */
  if (pages < 1 ? (pages != DOCFORMAT_ERROR && pages != DOCFORMAT_LIMIT) || err[0] == '\0'
                : err[0] != '\0')
    abort();
  if (fmt == DOCFORMAT_UNKNOWN && pages != DOCFORMAT_ERROR) abort();
  if (fmt == DOCFORMAT_JPEG && pages >= 1 && pages != 1) abort();
  return 0;
}
