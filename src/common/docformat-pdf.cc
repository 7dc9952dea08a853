/*
 * docformat-pdf.cc: counting the pages of a PDF with qpdf, within limits
 * (docformat.h, docformat_limits_t).
 *
 * A PDF of one megabyte can make a reader allocate gigabytes: an object or
 * cross-reference stream that inflates to 1 GiB, a page tree that lists one
 * page 200,000 times (qpdf's page list copies every repeat), a tree nested
 * thousands of levels deep.  So the count:
 *   1. opens the file under a memory budget: every allocation qpdf makes on
 *      this thread is charged to it (operator new below), and one over the
 *      budget fails with std::bad_alloc, which qpdf reports as an error;
 *   2. refuses more objects than the limit (trailer /Size, xref entries);
 *   3. measures the decoded size of every object stream before any object
 *      is read from one, streaming through a counter, and refuses more
 *      decoded bytes than the limit;
 *   4. walks the page tree itself, without copying anything, refusing more
 *      pages than the limit, a tree deeper than DOCFORMAT_PDF_MAX_DEPTH and
 *      a node reached twice (a loop).
 * A count that held more than DOCFORMAT_PDF_TRIM_AFTER bytes gives the freed
 * memory back to the system (malloc_trim), so the process returns to its
 * baseline after a large document.  Counts run concurrently within a small
 * budget; one that needs more runs again alone (docformat_pdf_count).
 *
 * C++ because only qpdf's C++ API can stream a stream's data and replace
 * the allocator; qpdf is the only C++ code in the programs, so the budget
 * sees exactly qpdf's allocations.
 */
#define POINTERHOLDER_TRANSITION 4 /* qpdf 11: no PointerHolder in our code */
#include <qpdf/Pipeline.hh>
#include <qpdf/QPDF.hh>
#include <qpdf/QPDFExc.hh>
#include <qpdf/QPDFObjectHandle.hh>

#include <malloc.h>
#include <pthread.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <new>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

extern "C" {
#include "docformat.h"
}

namespace {

/* Memory a count may hold, charged by operator new on its thread. */
struct alloc_budget {
  size_t limit;  /* bytes; over it an allocation fails */
  size_t used;   /* bytes held now (malloc_usable_size) */
  size_t peak;   /* most held at once */
  bool enforce;  /* false while cleaning up */
  bool exceeded; /* an allocation was refused */
};

/* Room after the first refusal, so that qpdf can unwind and report. */
constexpr size_t BUDGET_GRACE = 1u << 20;

thread_local alloc_budget *tl_budget = nullptr;

/* Charge n bytes to the thread's budget; false when they do not fit. */
bool budget_take(size_t n) {
  alloc_budget *b = tl_budget;
  if (!b || !b->enforce) return true;
  size_t cap = b->exceeded ? b->limit + BUDGET_GRACE : b->limit;
  if (n > cap || b->used > cap - n) {
    b->exceeded = true;
    return false;
  }
  return true;
}

void budget_charge(void *p) {
  alloc_budget *b = tl_budget;
  if (!b || !p) return;
  b->used += malloc_usable_size(p);
  if (b->used > b->peak) b->peak = b->used;
}

void budget_release(void *p) {
  alloc_budget *b = tl_budget;
  if (!b || !p) return;
  size_t n = malloc_usable_size(p);
  b->used = n > b->used ? 0 : b->used - n; /* allocated before the count */
}

void *budget_alloc(size_t n) {
  if (!budget_take(n)) throw std::bad_alloc();
  void *p = std::malloc(n ? n : 1);
  if (!p) throw std::bad_alloc();
  budget_charge(p);
  return p;
}

void budget_free(void *p) noexcept {
  budget_release(p);
  std::free(p);
}

}  // namespace

/* The replaceable global allocation functions, every unaligned variant
 * (a sanitizer runtime defines them all: one left to it would pair its
 * allocation with our free).  qpdf allocates nothing over-aligned. */
void *operator new(size_t n) {
  return budget_alloc(n);
}
void *operator new[](size_t n) {
  return budget_alloc(n);
}
void *operator new(size_t n, const std::nothrow_t &) noexcept {
  try {
    return budget_alloc(n);
  } catch (...) {
    return nullptr;
  }
}
void *operator new[](size_t n, const std::nothrow_t &) noexcept {
  try {
    return budget_alloc(n);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void *p) noexcept {
  budget_free(p);
}
void operator delete[](void *p) noexcept {
  budget_free(p);
}
void operator delete(void *p, size_t) noexcept {
  budget_free(p);
}
void operator delete[](void *p, size_t) noexcept {
  budget_free(p);
}
void operator delete(void *p, const std::nothrow_t &) noexcept {
  budget_free(p);
}
void operator delete[](void *p, const std::nothrow_t &) noexcept {
  budget_free(p);
}

namespace {

/* A limit was reached: the message says which. */
struct limit_exceeded {
  std::string why;
};

/* The document is damaged in a way qpdf does not report itself. */
struct invalid_pdf {
  std::string why;
};

/* Counts the bytes piped through it and stops the pipe past `room`. */
class counting_pipeline : public Pipeline {
 public:
  explicit counting_pipeline(long long room)
      : Pipeline("nimbus-inflate-count", nullptr), room_(room) {}
  void write(unsigned char const *, size_t len) override {
    bytes_ += (long long)len;
    if (bytes_ > room_) {
      over_ = true;
      throw std::length_error("decoded size over the limit");
    }
  }
  void finish() override {}
  long long bytes() const { return bytes_; }
  bool over() const { return over_; }

 private:
  long long room_;
  long long bytes_ = 0;
  bool over_ = false;
};

std::string format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char *fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return buf;
}

/* A limit in bytes for messages: "16 MiB", "64 KiB" or "1000 bytes". */
std::string size_text(long long bytes) {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) == 0)
    return format("%lld MiB", bytes / (1024 * 1024));
  if (bytes >= 1024 && bytes % 1024 == 0) return format("%lld KiB", bytes / 1024);
  return format("%lld bytes", bytes);
}

/* Objects: the trailer's declared size and the xref entries qpdf read. */
void check_objects(QPDF &pdf, const std::map<QPDFObjGen, QPDFXRefEntry> &xref,
                   const docformat_limits_t &lim) {
  QPDFObjectHandle size = pdf.getTrailer().getKey("/Size");
  long long declared = size.isInteger() ? size.getIntValue() : 0;
  if (declared > lim.max_objects || (long long)xref.size() > lim.max_objects)
    throw limit_exceeded{
        format("PDF has more than %lld objects (the limit)", (long long)lim.max_objects)};
}

/* Decoded bytes of all object streams, streamed through a counter. */
void check_object_streams(QPDF &pdf, const std::map<QPDFObjGen, QPDFXRefEntry> &xref,
                          const docformat_limits_t &lim) {
  std::set<int> streams;
  long long total = 0;

  for (auto const &entry : xref)
    if (entry.second.getType() == 2) streams.insert(entry.second.getObjStreamNumber());
  for (int num : streams) {
    QPDFObjectHandle s = pdf.getObjectByID(num, 0);
    if (!s.isStream()) continue; /* qpdf reports the dangling reference */
    counting_pipeline counter(lim.max_inflate - total);
    s.pipeStreamData(&counter, nullptr, 0, qpdf_dl_specialized, true, false);
    if (counter.over())
      throw limit_exceeded{"PDF object streams decompress to more than " +
                           size_text((long long)lim.max_inflate) + " (the limit)"};
    total += counter.bytes();
  }
}

/* Walk the page tree depth first without recursion; returns the pages. */
int walk_pages(QPDF &pdf, const docformat_limits_t &lim) {
  struct level {
    QPDFObjectHandle kids;
    int next, count;
  };
  QPDFObjectHandle root = pdf.getRoot();
  QPDFObjectHandle top = root.isDictionary() ? root.getKey("/Pages") : QPDFObjectHandle::newNull();
  std::set<QPDFObjGen> seen;
  std::vector<level> path;
  int pages = 0;

  if (!top.isDictionary() || !top.getKey("/Kids").isArray()) return 0;
  seen.insert(top.getObjGen());
  QPDFObjectHandle kids = top.getKey("/Kids");
  path.push_back({kids, 0, kids.getArrayNItems()});
  while (!path.empty()) {
    level &cur = path.back();
    if (cur.next >= cur.count) {
      path.pop_back();
      continue;
    }
    QPDFObjectHandle kid = cur.kids.getArrayItem(cur.next++);
    if (!kid.isDictionary()) continue; /* as qpdf: not a page */
    QPDFObjectHandle sub = kid.getKey("/Kids");
    if (!sub.isArray()) {
      if (pages >= lim.max_pages)
        throw limit_exceeded{format("document has more than %d pages (the limit)", lim.max_pages)};
      pages++;
      continue;
    }
    if (kid.isIndirect() && !seen.insert(kid.getObjGen()).second)
      throw invalid_pdf{"invalid PDF: the page tree has a loop"};
    if (path.size() >= DOCFORMAT_PDF_MAX_DEPTH)
      throw limit_exceeded{format("PDF page tree is nested more than %d levels deep (the limit)",
                                  DOCFORMAT_PDF_MAX_DEPTH)};
    path.push_back({sub, 0, sub.getArrayNItems()});
  }
  return pages;
}

/* The count itself, under the budget; throws on every failure. */
int count_pages(QPDF &pdf, const char *path, const void *data, size_t len, bool recover,
                const docformat_limits_t &lim) {
  pdf.setSuppressWarnings(true);
  pdf.setAttemptRecovery(recover);
  if (path)
    pdf.processFile(path);
  else
    pdf.processMemoryFile("document", static_cast<const char *>(data), len);
  std::map<QPDFObjGen, QPDFXRefEntry> xref = pdf.getXRefTable();
  check_objects(pdf, xref, lim);
  check_object_streams(pdf, xref, lim);
  xref.clear();
  return walk_pages(pdf, lim);
}

/* Write msg into err without control characters. */
void set_error(char *err, size_t errlen, const std::string &msg) {
  if (!err || errlen == 0) return;
  snprintf(err, errlen, "%s", msg.c_str());
  for (size_t i = 0; i < errlen && err[i]; i++)
    if ((unsigned char)err[i] < 0x20 || err[i] == 0x7f) err[i] = ' ';
}

/* One count under a budget of `memory` bytes; *over_budget tells whether
 * it stopped there (then the result is DOCFORMAT_LIMIT). */
int count_budgeted(const char *path, const void *data, size_t len, bool recover,
                   const docformat_limits_t &lim, size_t memory, bool *over_budget,
                   std::string &why) {
  alloc_budget budget{memory, 0, 0, true, false};
  alloc_budget *outer = tl_budget;
  int result = DOCFORMAT_ERROR;

  tl_budget = &budget;
  try {
    std::unique_ptr<QPDF> pdf(new QPDF());
    try {
      int pages = count_pages(*pdf, path, data, len, recover, lim);
      budget.enforce = false;
      if (pages > 0)
        result = pages;
      else
        why = "PDF has no pages";
    } catch (limit_exceeded &e) {
      budget.enforce = false;
      why.swap(e.why);
      result = DOCFORMAT_LIMIT;
    } catch (invalid_pdf &e) {
      budget.enforce = false;
      why.swap(e.why);
    } catch (QPDFExc &e) {
      budget.enforce = false;
      if (e.getErrorCode() == qpdf_e_password)
        why = "PDF is encrypted and needs a password";
      else
        why = "invalid PDF: " +
              (e.getMessageDetail().empty() ? std::string("unreadable") : e.getMessageDetail());
    } catch (std::exception &e) {
      budget.enforce = false;
      why = std::string("invalid PDF: ") + e.what();
    }
    budget.enforce = false; /* qpdf's clean-up may allocate */
  } catch (std::exception &) {
    budget.enforce = false;
    why = "out of memory";
  }
  tl_budget = outer;
  *over_budget = budget.exceeded;
  if (budget.exceeded) {
    why = "PDF needs more than " + size_text((long long)lim.max_memory) +
          " of memory to read (the limit)";
    result = DOCFORMAT_LIMIT;
  }
  if (budget.peak > DOCFORMAT_PDF_TRIM_AFTER) malloc_trim(0);
  return result;
}

/* The one count at a time that may use the whole max_memory. */
pthread_mutex_t large_count_gate = PTHREAD_MUTEX_INITIALIZER;

}  // namespace

/*
 * Most PDFs are counted within DOCFORMAT_PDF_SMALL_BUDGET, concurrently.
 * One that needs more is counted again with the whole max_memory, one such
 * count at a time in the process: so N hostile documents at once cost
 * N small budgets plus one large one, not N large ones.
 */
extern "C" int docformat_pdf_count(const char *path, const void *data, size_t len, bool recover,
                                   const docformat_limits_t *limits, char *err, size_t errlen) {
  const docformat_limits_t &lim = limits ? *limits : docformat_default_limits;
  size_t full = (size_t)lim.max_memory, small = DOCFORMAT_PDF_SMALL_BUDGET;
  bool over = false;
  std::string why;
  int result;

  if (full <= small) {
    result = count_budgeted(path, data, len, recover, lim, full, &over, why);
  } else {
    result = count_budgeted(path, data, len, recover, lim, small, &over, why);
    if (over) {
      pthread_mutex_lock(&large_count_gate);
      result = count_budgeted(path, data, len, recover, lim, full, &over, why);
      pthread_mutex_unlock(&large_count_gate);
    }
  }
  if (result < 0) set_error(err, errlen, why);
  return result;
}
