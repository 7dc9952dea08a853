#!/usr/bin/env python3
"""Generate the seed corpora of fuzz-ipp-request and fuzz-api-json.
usage: gen-seeds.py SOURCE_ROOT   (writes tests/fuzz/corpus/{ipp-request,api-json})
Each seed starts with the two header bytes the fuzzer reads (see the
comment at the top of tests/fuzz/fuzz-<name>.c)."""
import gzip
import json
import os
import struct
import sys
import zlib

root = sys.argv[1]
data = os.path.join(root, "tests", "data")
ipp_dir = os.path.join(root, "tests", "fuzz", "corpus", "ipp-request")
api_dir = os.path.join(root, "tests", "fuzz", "corpus", "api-json")
os.makedirs(ipp_dir, exist_ok=True)
os.makedirs(api_dir, exist_ok=True)

# value tags
INT, BOOL, ENUM = 0x21, 0x22, 0x23
OCTETS, RES, RANGE = 0x30, 0x32, 0x33
BEGCOL, ENDCOL, MEMBER = 0x34, 0x37, 0x4A
TEXT, NAME, KEYWORD, URI = 0x41, 0x42, 0x44, 0x45
CHARSET, LANG, MIME = 0x47, 0x48, 0x49
OPG, JOBG, ENDG, PRTG, SUBG = 0x01, 0x02, 0x03, 0x04, 0x06

OPS = {"print-job": 0x02, "validate-job": 0x04, "create-job": 0x05, "send-document": 0x06,
       "cancel-job": 0x08, "get-job-attributes": 0x09, "get-jobs": 0x0A,
       "get-printer-attributes": 0x0B, "hold-job": 0x0C, "release-job": 0x0D,
       "close-job": 0x3B, "cancel-my-jobs": 0x39, "pause-printer": 0x10,
       # IPP INFRA (PWG 5100.18) and the System Service (PWG 5100.22), as libcups numbers them
       "create-printer-subscriptions": 0x16, "cancel-subscription": 0x1B,
       "get-notifications": 0x1C, "acknowledge-document": 0x3F, "acknowledge-job": 0x41,
       "fetch-document": 0x42, "fetch-job": 0x43, "get-output-device-attributes": 0x44,
       "update-active-jobs": 0x45, "deregister-output-device": 0x46,
       "update-document-status": 0x47, "update-job-status": 0x48,
       "update-output-device-attributes": 0x49, "register-output-device": 0x5F}
URI_Q = "ipp://localhost/ipp/print/t/q"
URI_SYS = "ipp://localhost/ipp/system"
# the fixtures of tests/fuzz/fuzz-server.h
UUID_D = "urn:uuid:00000000-0000-4000-8000-000000000001"
UUID_E = "urn:uuid:00000000-0000-4000-8000-000000000002"
UUID_X = "urn:uuid:00000000-0000-4000-8000-000000000003"
CLAIM = "NMBC-2222-3333-4444-5555"
JOB_FETCHABLE, JOB_PROCESSING, JOB_TARGETED = 1, 2, 3


def enc(v):
    return v.encode() if isinstance(v, str) else v


def a(tag, name, *values):
    """One attribute (additional values get an empty name)."""
    out = b""
    for i, v in enumerate(values):
        n = name if i == 0 else ""
        if tag in (INT, ENUM):
            v = struct.pack(">i", v)
        elif tag == BOOL:
            v = bytes([1 if v else 0])
        out += struct.pack(">BH", tag, len(n)) + n.encode() + struct.pack(">H", len(enc(v))) + enc(v)
    return out


def col(name, members):
    """A collection attribute from [(tag, member-name, value)]."""
    out = struct.pack(">BH", BEGCOL, len(name)) + name.encode() + struct.pack(">H", 0)
    for tag, mname, value in members:
        out += a(MEMBER, "", mname)
        if tag == "col":
            out += struct.pack(">BH", BEGCOL, 0) + struct.pack(">H", 0)
            for t2, m2, v2 in value:
                out += a(MEMBER, "", m2) + a(t2, "", v2)
            out += struct.pack(">BHH", ENDCOL, 0, 0)
        else:
            out += a(tag, "", value)
    return out + struct.pack(">BHH", ENDCOL, 0, 0)


def req(op, attrs=b"", job=b"", uri=URI_Q, version=(2, 0), request_id=1, charset="utf-8",
        doc=b"", user="u", uri_name="printer-uri", groups=()):
    """A request: operation group, then the job group (job) and any
    further (group tag, attributes) in groups."""
    body = struct.pack(">BBHI", version[0], version[1], OPS.get(op, op) if isinstance(op, str) else op,
                       request_id)
    body += bytes([OPG]) + a(CHARSET, "attributes-charset", charset)
    body += a(LANG, "attributes-natural-language", "en")
    if uri:
        body += a(URI, uri_name, uri)
    if user:
        body += a(NAME, "requesting-user-name", user)
    body += attrs
    if job:
        body += bytes([JOBG]) + job
    for tag, group in groups:
        body += bytes([tag]) + group
    return body + bytes([ENDG]) + doc


def dev(op, attrs=b"", uuid=UUID_D, **kw):
    """A device-channel request: output-device-uuid, no user name."""
    return req(op, (a(URI, "output-device-uuid", uuid) if uuid else b"") + attrs, user=None, **kw)


def sysreq(op, attrs=b"", **kw):
    """A request to the System Service (/ipp/system)."""
    return req(op, attrs, uri=URI_SYS, uri_name="system-uri", user=None, **kw)


def read(name):
    with open(os.path.join(data, name), "rb") as f:
        return f.read()


def raw_deflate(data):
    """RFC 1951 deflate without a zlib wrapper (IPP compression "deflate")."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


pdf = read("onepage.pdf")
pdf3 = read("threepage.pdf")
urf = read("twopage.urf")
corrupt = read("corrupt.pdf")

# flags byte: auth (bits 0-2: 0 none, 1 u, 3 operator, 4 wrong password;
# with bit 7 the device channel: 0 "d", 2 "d" by Basic, 3 "d" by Basic with
# the uuid as user, 4 "e", 5 the deleted "x", 6 unknown, 7 none),
# path (bits 3-5: 0 t/q, 2 /ipp/system, 3 t/anon, 5 t/q/1, 6 t/nope),
# bit 6 padding; chunk byte.
U, NONE, OPER, BAD = 1, 0, 3, 4
D, D_BASIC, D_BASIC_UUID, E, X, D_UNKNOWN, D_NONE = 0x80, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87
ANON, SYSTEM, JOBPATH, PAD, NOPE = 3 << 3, 2 << 3, 5 << 3, 0x40, 6 << 3
WHOLE, ONE, SMALL = 255, 0, 15

ipp = {
    "print-job-pdf": (U, WHOLE, req("print-job", a(NAME, "job-name", "report") +
                                     a(MIME, "document-format", "application/pdf"), doc=pdf)),
    "print-job-pdf-chunk1": (U, ONE, req("print-job", doc=pdf)),
    "print-job-pdf-padded": (U | PAD, 200, req("print-job", doc=pdf)),
    "print-job-auto-format": (U, SMALL, req("print-job", a(MIME, "document-format",
                                                            "application/octet-stream"), doc=pdf3)),
    "print-job-urf": (U, WHOLE, req("print-job", a(MIME, "document-format", "image/urf"), doc=urf)),
    "print-job-corrupt": (U, WHOLE, req("print-job", doc=corrupt)),
    "print-job-empty-doc": (U, WHOLE, req("print-job")),
    "print-job-wrong-format": (U, WHOLE, req("print-job", a(MIME, "document-format", "image/jpeg"),
                                             doc=pdf)),
    "print-job-template": (U, 140, req("print-job",
                                       a(NAME, "job-name", "with template") +
                                       a(BOOL, "ipp-attribute-fidelity", False),
                                       job=a(INT, "copies", 2) + a(KEYWORD, "sides", "two-sided-long-edge") +
                                       a(KEYWORD, "media", "iso_a4_210x297mm") +
                                       a(KEYWORD, "print-color-mode", "monochrome") +
                                       a(ENUM, "print-quality", 5) + a(ENUM, "orientation-requested", 4) +
                                       a(INT, "number-up", 2) + a(INT, "job-priority", 80) +
                                       a(ENUM, "finishings", 3) + a(NAME, "job-sheets", "none") +
                                       a(KEYWORD, "output-bin", "face-down") +
                                       a(KEYWORD, "print-scaling", "fit") +
                                       a(KEYWORD, "multiple-document-handling",
                                         "separate-documents-collated-copies") +
                                       a(RANGE, "page-ranges", struct.pack(">ii", 1, 1)) +
                                       a(RES, "printer-resolution", struct.pack(">iib", 300, 300, 3)) +
                                       a(NAME, "job-account-id", "acct-1") +
                                       a(NAME, "job-accounting-user-id", "u") +
                                       a(KEYWORD, "job-hold-until", "no-hold"),
                                       doc=pdf)),
    "print-job-unsupported": (U, WHOLE, req("print-job", a(BOOL, "ipp-attribute-fidelity", True),
                                            job=a(INT, "copies", 5000) + a(KEYWORD, "sides", "bogus") +
                                            a(KEYWORD, "media", "na_foolscap") +
                                            a(ENUM, "print-quality", 9) + a(INT, "number-up", 0) +
                                            a(KEYWORD, "x-vendor-thing", "1"), doc=pdf)),
    "print-job-media-col": (U, WHOLE, req("print-job", job=col("media-col", [
        ("col", "media-size", [(INT, "x-dimension", 21000), (INT, "y-dimension", 29700)]),
        (INT, "media-top-margin", 0), (INT, "media-bottom-margin", 0),
        (INT, "media-left-margin", 0), (INT, "media-right-margin", 0),
        (KEYWORD, "media-size-name", "iso_a4_210x297mm")]), doc=pdf)),
    "print-job-pin": (U, WHOLE, req("print-job", job=a(OCTETS, "job-password", "1234") +
                                    a(KEYWORD, "job-password-encryption", "none"), doc=pdf)),
    "print-job-pin-sha256": (U, WHOLE, req("print-job", job=a(OCTETS, "job-password",
                                                             "03ac674216f3e15c761ee1a5e255f067953623c8b388b4459e13f978d7c846f4") +
                                           a(KEYWORD, "job-password-encryption", "sha2-256"), doc=pdf)),
    "print-job-hold-until": (U, WHOLE, req("print-job", job=a(KEYWORD, "job-hold-until", "indefinite"),
                                           doc=pdf)),
    "print-job-anonymous": (NONE | ANON, WHOLE, req("print-job", uri="ipp://localhost/ipp/print/t/anon",
                                                    user="guest", doc=pdf)),
    "print-job-no-auth": (NONE, WHOLE, req("print-job", doc=pdf)),
    "print-job-bad-password": (BAD, WHOLE, req("print-job", doc=pdf)),
    "print-job-operator": (OPER, WHOLE, req("print-job", doc=pdf)),
    "validate-job": (U, WHOLE, req("validate-job", a(NAME, "job-name", "v") +
                                   a(MIME, "document-format", "application/pdf"),
                                   job=a(INT, "copies", 1))),
    "create-job": (U, WHOLE, req("create-job", a(NAME, "job-name", "multi"), job=a(INT, "copies", 1))),
    "send-document-last": (U, WHOLE, req("send-document", a(INT, "job-id", 1) +
                                         a(BOOL, "last-document", True) +
                                         a(MIME, "document-format", "application/pdf") +
                                         a(NAME, "document-name", "doc1"), doc=pdf)),
    "send-document-more": (U, 64, req("send-document", a(INT, "job-id", 1) +
                                      a(BOOL, "last-document", False), doc=pdf3)),
    "send-document-job-uri": (U | JOBPATH, WHOLE, req("send-document", uri=None,
                                                      attrs=a(URI, "job-uri", "ipp://localhost/ipp/print/t/q/1") +
                                                      a(BOOL, "last-document", True), doc=pdf)),
    "close-job": (U, WHOLE, req("close-job", a(INT, "job-id", 1))),
    "get-jobs": (U, WHOLE, req("get-jobs", a(KEYWORD, "which-jobs", "all") + a(INT, "limit", 5) +
                               a(BOOL, "my-jobs", True) +
                               a(KEYWORD, "requested-attributes", "job-id", "job-state",
                                 "job-state-reasons", "job-name", "job-originating-user-name",
                                 "job-impressions", "job-k-octets", "time-at-creation"))),
    "get-jobs-completed": (U, WHOLE, req("get-jobs", a(KEYWORD, "which-jobs", "completed") +
                                         a(KEYWORD, "requested-attributes", "all"))),
    "get-jobs-fetchable": (NONE, WHOLE, req("get-jobs", a(KEYWORD, "which-jobs", "fetchable"))),
    "get-job-attributes": (U, WHOLE, req("get-job-attributes", a(INT, "job-id", 1) +
                                         a(KEYWORD, "requested-attributes", "all"))),
    "get-job-attributes-uri": (U | JOBPATH, WHOLE, req("get-job-attributes", uri=None,
                                                       attrs=a(URI, "job-uri", "ipp://localhost/ipp/print/t/q/1"))),
    "cancel-job": (U, WHOLE, req("cancel-job", a(INT, "job-id", 2))),
    "cancel-my-jobs": (U, WHOLE, req("cancel-my-jobs", a(INT, "job-ids", 3, 4))),
    "hold-job": (U, WHOLE, req("hold-job", a(INT, "job-id", 1) +
                               a(KEYWORD, "job-hold-until", "indefinite"))),
    "release-job": (U, WHOLE, req("release-job", a(INT, "job-id", 1) +
                                  a(OCTETS, "job-password", "1234"))),
    "get-printer-attributes": (NONE, WHOLE, req("get-printer-attributes", user=None)),
    "get-printer-attributes-all": (U, 7, req("get-printer-attributes",
                                             a(KEYWORD, "requested-attributes", "all",
                                               "media-col-database", "printer-description",
                                               "job-template") +
                                             a(MIME, "document-format", "application/pdf"))),
    "get-printer-attributes-anon": (NONE | ANON, WHOLE, req("get-printer-attributes",
                                                            uri="ipp://localhost/ipp/print/t/anon")),
    "unsupported-op": (U, WHOLE, req("pause-printer")),
    "ipp-1.1": (U, WHOLE, req("get-jobs", version=(1, 1))),
    "bad-version": (U, WHOLE, req("get-jobs", version=(3, 0))),
    "request-id-zero": (U, WHOLE, req("get-jobs", request_id=0)),
    "charset-latin1": (U, WHOLE, req("get-jobs", charset="iso-8859-1")),
    "no-printer-uri": (U, WHOLE, req("get-jobs", uri=None)),
    "charset-not-first": (U, WHOLE, struct.pack(">BBHI", 2, 0, 0x0A, 1) + bytes([OPG]) +
                          a(LANG, "attributes-natural-language", "en") +
                          a(CHARSET, "attributes-charset", "utf-8") + bytes([ENDG])),
    "truncated": (U, ONE, req("print-job", a(NAME, "job-name", "cut"))[:40]),
    "not-ipp": (U, WHOLE, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
    "long-name": (U, WHOLE, req("print-job", a(NAME, "job-name", "N" * 1500), doc=pdf)),
    "header-too-large": (U, 255, req("get-jobs", a(TEXT, "x-filler", "F" * 3200))),
    "job-path-print": (U | JOBPATH, WHOLE, req("print-job", doc=pdf)),
    # requested-attributes repeating group keywords (ipp-requested.c)
    "get-printer-attributes-all-repeated": (NONE, WHOLE, req("get-printer-attributes",
                                                             a(KEYWORD, "requested-attributes",
                                                               *(["all"] * 300)))),
    "get-jobs-groups-repeated": (U, 200, req("get-jobs", a(KEYWORD, "requested-attributes",
                                                           *(["all", "job-template"] * 100)))),
    # compression (docinflate.c): gzip, raw deflate, a small bomb, a bad stream
    "print-job-gzip": (U, SMALL, req("print-job", a(KEYWORD, "compression", "gzip"),
                                     doc=gzip.compress(pdf, mtime=0))),
    "print-job-deflate": (U, WHOLE, req("print-job", a(KEYWORD, "compression", "deflate"),
                                        doc=raw_deflate(pdf))),
    "print-job-gzip-bomb": (U, WHOLE, req("print-job", a(KEYWORD, "compression", "gzip"),
                                          doc=gzip.compress(b"%PDF-1.4\n" + b"%" * 2_000_000,
                                                            mtime=0))),
    "print-job-gzip-not-gzip": (U, WHOLE, req("print-job", a(KEYWORD, "compression", "gzip"),
                                              doc=pdf)),
    "print-job-compression-unsupported": (U, WHOLE, req("print-job",
                                                        a(KEYWORD, "compression", "compress"),
                                                        doc=pdf)),
}


def job_id(n):
    return a(INT, "job-id", n)


printer_group = (a(ENUM, "printer-state", 3) + a(KEYWORD, "printer-state-reasons", "none", "media-low") +
                 a(TEXT, "printer-make-and-model", "Fuzz LaserJet 9") +
                 a(NAME, "printer-name", "not a capability") +
                 a(BOOL, "color-supported", True) +
                 a(MIME, "document-format-supported", "application/pdf", "image/pwg-raster", "image/urf") +
                 a(MIME, "document-format-default", "application/pdf") +
                 a(KEYWORD, "media-supported", "iso_a4_210x297mm", "na_letter_8.5x11in") +
                 a(KEYWORD, "media-default", "iso_a4_210x297mm") +
                 a(KEYWORD, "sides-supported", "one-sided", "two-sided-long-edge") +
                 a(KEYWORD, "print-color-mode-supported", "monochrome", "color") +
                 a(RES, "printer-resolution-supported", struct.pack(">iib", 600, 600, 3)) +
                 a(INT, "pages-per-minute", 30) + a(KEYWORD, "urf-supported", "V1.4", "W8", "SRGB24") +
                 col("media-col-default", [
                     ("col", "media-size", [(INT, "x-dimension", 21000), (INT, "y-dimension", 29700)]),
                     (KEYWORD, "media-type", "stationery")]))


def sub_group(*events, method="ippget", lease=600):
    g = a(KEYWORD, "notify-pull-method", method) if method else b""
    if events:
        g += a(KEYWORD, "notify-events", *events)
    if lease is not None:
        g += a(INT, "notify-lease-duration", lease)
    return g


ipp.update({
    "infra-update-output-device-attributes": (D, WHOLE, dev("update-output-device-attributes",
                                                             groups=[(PRTG, printer_group)])),
    "infra-update-output-device-attributes-chunked": (D, 20, dev("update-output-device-attributes",
                                                                 groups=[(PRTG, a(ENUM, "printer-state", 5) +
                                                                          a(KEYWORD, "printer-state-reasons",
                                                                            "media-empty-error"))])),
    "infra-update-output-device-attributes-empty": (D, WHOLE, dev("update-output-device-attributes")),
    "infra-get-output-device-attributes": (D, WHOLE, dev("get-output-device-attributes",
                                                         a(KEYWORD, "requested-attributes", "printer-state",
                                                           "media-supported", "printer-make-and-model"))),
    "infra-get-output-device-attributes-all": (D_BASIC, WHOLE, dev("get-output-device-attributes")),
    "infra-get-output-device-attributes-e": (E, WHOLE, dev("get-output-device-attributes", uuid=UUID_E)),
    "infra-update-output-device-attributes-e": (E, WHOLE, dev("update-output-device-attributes", uuid=UUID_E,
                                                               groups=[(PRTG, a(KEYWORD, "media-supported",
                                                                                "iso_a5_148x210mm") +
                                                                        a(KEYWORD, "printer-state-reasons",
                                                                          "toner-low"))])),
    "infra-create-printer-subscriptions": (D, WHOLE, dev("create-printer-subscriptions",
                                                         groups=[(SUBG, sub_group("job-fetchable",
                                                                                  "job-state-changed",
                                                                                  "printer-deleted"))])),
    "infra-create-printer-subscriptions-two": (E, WHOLE, dev("create-printer-subscriptions", uuid=UUID_E,
                                                             groups=[(SUBG, sub_group("job-fetchable")),
                                                                     (SUBG, sub_group(method=None, lease=0) +
                                                                      a(URI, "notify-recipient-uri",
                                                                        "ippget://x"))])),
    "infra-create-printer-subscriptions-none": (D, WHOLE, dev("create-printer-subscriptions")),
    "infra-get-notifications": (D, WHOLE, dev("get-notifications", a(INT, "notify-subscription-ids", 1) +
                                              a(INT, "notify-sequence-numbers", 1) +
                                              a(BOOL, "notify-wait", True))),
    "infra-get-notifications-poll": (D_BASIC_UUID, WHOLE, dev("get-notifications",
                                                              a(INT, "notify-subscription-ids", 1))),
    "infra-get-notifications-other": (D, WHOLE, dev("get-notifications",
                                                    a(INT, "notify-subscription-ids", 1, 2) +
                                                    a(INT, "notify-sequence-numbers", 2, 1))),
    "infra-get-notifications-e": (E, WHOLE, dev("get-notifications", uuid=UUID_E,
                                                attrs=a(INT, "notify-subscription-ids", 2) +
                                                a(BOOL, "notify-wait", True))),
    "infra-cancel-subscription": (D, WHOLE, dev("cancel-subscription", a(INT, "notify-subscription-id", 1))),
    "infra-get-jobs-fetchable": (D, WHOLE, dev("get-jobs", a(KEYWORD, "which-jobs", "fetchable") +
                                               a(INT, "limit", 10) +
                                               a(KEYWORD, "requested-attributes", "job-id", "job-name",
                                                 "job-state", "job-originating-user-name"))),
    "infra-get-jobs-fetchable-e": (E, WHOLE, dev("get-jobs", a(KEYWORD, "which-jobs", "fetchable"),
                                                 uuid=UUID_E)),
    "infra-fetch-job": (D, WHOLE, dev("fetch-job", job_id(JOB_FETCHABLE))),
    "infra-fetch-job-attrs": (D, WHOLE, dev("fetch-job", job_id(JOB_PROCESSING) +
                                            a(KEYWORD, "requested-attributes", "job-id", "copies", "media"))),
    "infra-fetch-job-targeted": (D, WHOLE, dev("fetch-job", job_id(JOB_TARGETED))),
    "infra-fetch-job-uri": (D | JOBPATH, WHOLE, dev("fetch-job", uri=None,
                                                    attrs=a(URI, "job-uri",
                                                            "ipp://localhost/ipp/print/t/q/1"))),
    "infra-acknowledge-job": (D, WHOLE, dev("acknowledge-job", job_id(JOB_FETCHABLE))),
    "infra-acknowledge-job-e-targeted": (E, WHOLE, dev("acknowledge-job", job_id(JOB_TARGETED), uuid=UUID_E)),
    "infra-acknowledge-job-taken": (E, WHOLE, dev("acknowledge-job", job_id(JOB_PROCESSING), uuid=UUID_E)),
    "infra-acknowledge-job-declined": (D, WHOLE, dev("acknowledge-job", job_id(JOB_FETCHABLE) +
                                                     a(ENUM, "fetch-status-code", 0x040A))),
    "infra-fetch-document": (D, WHOLE, dev("fetch-document", job_id(JOB_PROCESSING) +
                                           a(INT, "document-number", 1))),
    "infra-fetch-document-spool": (D, WHOLE, dev("fetch-document", job_id(JOB_PROCESSING) +
                                                 a(INT, "document-number", 2) +
                                                 a(MIME, "document-format-accepted", "image/urf",
                                                   "application/pdf"))),
    "infra-fetch-document-purged": (D, WHOLE, dev("fetch-document", job_id(JOB_PROCESSING) +
                                                  a(INT, "document-number", 3))),
    "infra-fetch-document-format": (D, WHOLE, dev("fetch-document", job_id(JOB_PROCESSING) +
                                                  a(MIME, "document-format-accepted", "image/pwg-raster"))),
    "infra-fetch-document-not-mine": (E, WHOLE, dev("fetch-document", job_id(JOB_PROCESSING),
                                                    uuid=UUID_E)),
    "infra-acknowledge-document": (D, WHOLE, dev("acknowledge-document", job_id(JOB_PROCESSING) +
                                                 a(INT, "document-number", 1))),
    "infra-acknowledge-document-failed": (D, WHOLE, dev("acknowledge-document", job_id(JOB_PROCESSING) +
                                                        a(INT, "document-number", 2) +
                                                        a(ENUM, "fetch-status-code", 0x0500))),
    "infra-update-job-status": (D, WHOLE, dev("update-job-status", job_id(JOB_PROCESSING) +
                                              a(ENUM, "output-device-job-state", 5) +
                                              a(KEYWORD, "output-device-job-state-reasons",
                                                "job-printing", "media-low") +
                                              a(INT, "job-impressions-completed", 1))),
    "infra-update-job-status-completed": (D, WHOLE, dev("update-job-status", job_id(JOB_PROCESSING) +
                                                        a(ENUM, "job-state", 9) +
                                                        a(KEYWORD, "job-state-reasons",
                                                          "job-completed-successfully"))),
    "infra-update-job-status-not-mine": (D, WHOLE, dev("update-job-status", job_id(JOB_FETCHABLE) +
                                                       a(ENUM, "output-device-job-state", 8))),
    "infra-update-document-status": (D, WHOLE, dev("update-document-status", job_id(JOB_PROCESSING) +
                                                   a(INT, "document-number", 1) +
                                                   a(INT, "impressions-completed", 1))),
    "infra-update-active-jobs": (D, WHOLE, dev("update-active-jobs", a(INT, "job-ids", 2, 1, 99) +
                                               a(ENUM, "output-device-job-states", 5, 5, 5))),
    "infra-update-active-jobs-mismatch": (D, WHOLE, dev("update-active-jobs", a(INT, "job-ids", 2, 1) +
                                                        a(ENUM, "output-device-job-states", 5))),
    "infra-deregister-output-device": (D, WHOLE, dev("deregister-output-device")),
    "infra-deregister-output-device-e": (E, WHOLE, dev("deregister-output-device", uuid=UUID_E)),
    # authentication of the device channel (docs/PROTOCOL.md 6.2)
    "infra-deleted-device": (X, WHOLE, dev("get-jobs", a(KEYWORD, "which-jobs", "fetchable"), uuid=UUID_X)),
    "infra-unknown-credential": (D_UNKNOWN, WHOLE, dev("fetch-job", job_id(JOB_FETCHABLE))),
    "infra-no-credential": (D_NONE, WHOLE, dev("get-output-device-attributes")),
    "infra-user-credential": (U, WHOLE, dev("acknowledge-job", job_id(JOB_FETCHABLE))),
    "infra-no-uuid": (D, WHOLE, dev("fetch-job", job_id(JOB_FETCHABLE), uuid=None)),
    "infra-bad-uuid": (D, WHOLE, dev("fetch-job", job_id(JOB_FETCHABLE), uuid="urn:uuid:nope")),
    "infra-other-uuid": (D, WHOLE, dev("fetch-job", job_id(JOB_FETCHABLE), uuid=UUID_E)),
    "infra-not-this-queue": (D | ANON, WHOLE, dev("get-jobs", a(KEYWORD, "which-jobs", "fetchable"),
                                                  uri="ipp://localhost/ipp/print/t/anon")),
    "infra-no-such-queue": (D | NOPE, WHOLE, dev("get-output-device-attributes",
                                                 uri="ipp://localhost/ipp/print/t/nope")),
    # the System Service: Register-Output-Device with the claim code
    "system-register-output-device": (D_NONE | SYSTEM, WHOLE, sysreq("register-output-device",
                                                                     a(URI, "output-device-uuid",
                                                                       "urn:uuid:4a3b2c1d-0000-4000-8000-00000000abcd") +
                                                                     a(TEXT, "nimbus-claim-code", CLAIM))),
    "system-register-output-device-no-uuid": (D_NONE | SYSTEM, 9, sysreq("register-output-device",
                                                                         a(TEXT, "nimbus-claim-code",
                                                                           "nmbc 2222 3333 4444 5555"))),
    "system-register-output-device-uuid-taken": (D_NONE | SYSTEM, WHOLE,
                                                 sysreq("register-output-device",
                                                        a(URI, "output-device-uuid", UUID_D) +
                                                        a(KEYWORD, "nimbus-claim-code", CLAIM))),
    "system-register-output-device-bad-uuid": (D_NONE | SYSTEM, WHOLE,
                                               sysreq("register-output-device",
                                                      a(URI, "output-device-uuid", "urn:uuid:1234") +
                                                      a(TEXT, "nimbus-claim-code", CLAIM))),
    "system-register-output-device-wrong-code": (D | SYSTEM, WHOLE,
                                                 sysreq("register-output-device",
                                                        a(TEXT, "nimbus-claim-code", "NMBC-0000-0000-0000-0000"))),
    "system-register-output-device-no-code": (D_NONE | SYSTEM, WHOLE, sysreq("register-output-device")),
    "system-no-system-uri": (D_NONE | SYSTEM, WHOLE, req("register-output-device",
                                                         a(TEXT, "nimbus-claim-code", CLAIM), user=None)),
    "system-other-op": (D_NONE | SYSTEM, WHOLE, sysreq("get-printer-attributes")),
})

for name, (flags, chunk, body) in ipp.items():
    blob = bytes([flags, chunk]) + body
    assert len(blob) < 4096, (name, len(blob))
    with open(os.path.join(ipp_dir, name), "wb") as f:
        f.write(blob)

# api-json: byte 0 = auth | chunk << 3, byte 1 = endpoint index (fuzz-api-json.c)
E = {"tenants": 0, "tenant-t": 1, "users": 2, "user-v": 3, "queues": 4, "queue-q": 5,
     "tokens": 6, "release": 7, "release-pin": 8, "release-1": 9, "users-tenant": 10, "jobs": 11}


def j(v):
    return json.dumps(v).encode()


api = {
    "tenant-create": (OPER, "tenants", j({"name": "acme", "display_name": "Acme Corp",
                                           "max_document_size": 1048576, "max_held_jobs_per_user": 10})),
    "tenant-create-reserved": (OPER, "tenants", j({"name": "System"})),
    "tenant-create-not-operator": (U, "tenants", j({"name": "nope"})),
    "tenant-update": (OPER, "tenant-t", j({"display_name": "Tee", "max_held_jobs_per_user": 0})),
    "tenant-rename": (OPER, "tenant-t", j({"name": "other"})),
    "tenant-update-bad-size": (OPER, "tenant-t", j({"max_document_size": -1})),
    "user-create": (U, "users", j({"name": "w", "password": "secret-pass", "role": "user"})),
    "user-create-admin": (U, "users", j({"name": "w2", "password": "pw", "role": "tenant-admin"})),
    "user-create-operator": (U, "users", j({"name": "w3", "password": "pw", "role": "operator"})),
    "user-create-bad-name": (U, "users", j({"name": ".hidden", "password": "pw"})),
    "user-create-other-tenant": (OPER, "users-tenant", j({"name": "x1", "password": "pw"})),
    "user-update": (U, "user-v", j({"role": "tenant-admin"})),
    "user-update-password": (U, "user-v", j({"password": "new-password"})),
    "queue-create": (U, "queues", j({"name": "q2", "description": "second", "release_immediately": True,
                                     "allow_anonymous": False})),
    "queue-create-dup": (U, "queues", j({"name": "q"})),
    "queue-update": (U, "queue-q", j({"description": "front desk", "allow_anonymous": True})),
    "queue-rename": (U, "queue-q", j({"name": "q3"})),
    "queue-update-unknown-field": (U, "queue-q", j({"colour": "red"})),
    "token-create": (U, "tokens", j({"label": "ci", "expires_in": 3600})),
    "token-create-for-user": (U, "tokens", j({"label": "for-v", "user": "v"})),
    "token-create-empty": (U, "tokens", b""),
    "release": (U, "release", b""),
    "release-pin": (U, "release-pin", j({"pin": "1234"})),
    "release-wrong-pin": (U, "release-pin", j({"pin": "0000"})),
    "release-null-pin": (U, "release-pin", j({"pin": None})),
    "release-job-1": (U, "release-1", j({})),
    "upload-not-form": (U, "jobs", j({"queue": "q"})),
    "no-auth": (NONE, "users", j({"name": "z", "password": "pw"})),
    "bad-password": (BAD, "queues", j({"name": "z"})),
    "bogus-token": (6, "tokens", j({})),
    "duplicate-keys": (U, "queues", b'{"name":"a","name":"b"}'),
    "not-object": (U, "queues", b'["name","q4"]'),
    "malformed": (U, "queues", b'{"name": "q5",'),
    "nul-escape": (U, "queues", b'{"name":"q\\u0000x","description":"a\\u0000b"}'),
    "control-chars": (U, "queue-q", b'{"description":"line\\nbreak\\u001b[31m"}'),
    "bad-utf8": (U, "queue-q", b'{"description":"\xff\xfe"}'),
    "big-numbers": (OPER, "tenant-t", b'{"max_document_size":1e999,"max_held_jobs_per_user":9223372036854775808}'),
    "deep-nesting": (U, "queues", b'{"name":' + b"[" * 200 + b"]" * 200 + b"}"),
    "wrong-types": (U, "queues", b'{"name":5,"release_immediately":"yes","allow_anonymous":1}'),
    "chunked": (U | (1 << 3), "users", j({"name": "chunky", "password": "pw-chunk"})),
    "chunked-1": (U | (12 << 3), "queue-q", j({"description": "byte by byte"})),
    "too-large": (U, "queue-q", b'{"description":"' + b"x" * 3100 + b'"}'),
}

for name, (flags, ep, body) in api.items():
    blob = bytes([flags, E[ep]]) + body
    assert len(blob) < 4096, (name, len(blob))
    with open(os.path.join(api_dir, name), "wb") as f:
        f.write(blob)
print(len(ipp), "ipp seeds,", len(api), "api seeds")
