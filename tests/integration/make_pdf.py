#!/usr/bin/env python3
"""make_pdf.py: write test PDFs.

  make_pdf.py OUT PADDING_LINES   a valid one-page PDF whose content stream
                                  is padded with PADDING_LINES comment lines
                                  (10 bytes each), for tests that need a
                                  document of a given size (bench/gen-big-pdf
                                  streams very large ones)
  make_pdf.py --pages N OUT       a valid N-page PDF (page tree of width 10)
  make_pdf.py --bomb KIND OUT [N] a hostile PDF, small on disk:
      objstm   the catalog and page tree sit in an object stream that
               inflates to N MiB (default 1024) of blanks
      xrefstm  a cross-reference stream that inflates to N MiB (default 1024)
      repeat   one page listed N times (default 200000) in the page tree
      deep     a page tree N levels deep (default 20000)
      nested   an array nested N levels deep (default 100000) in the catalog
The bombs are generated, never committed (they are what issue 8 item 10
measured: a 1 MB object-stream bomb, a 1.2 MB repeated-page tree)."""
import struct
import sys
import zlib


def classic(objs, root=1):
    """A PDF 1.4 file with a classic xref table; objs[i] is object i+1."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for o in offsets:
        out += b"%010d 00000 n \n" % o
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objs) + 1, root, xref)
    return bytes(out)


def padded(lines):
    body = b"BT /F1 12 Tf 72 720 Td (big) Tj ET\n" + b"% padding\n" * lines
    return classic([b"<< /Type /Catalog /Pages 2 0 R >>",
                    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
                    b"<< /Length %d >>\nstream\n" % len(body) + body + b"\nendstream"])


def pages(n):
    """Catalog 1, pages root 2, intermediate nodes of 10 kids, then pages."""
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", None]
    leaves = []
    first_page = 3 + (n + 9) // 10
    for i in range(n):
        leaves.append(first_page + i)
    nodes = []
    for k in range(0, n, 10):
        num = 3 + len(nodes)
        kids = leaves[k:k + 10]
        nodes.append((num, kids))
        objs.append(b"<< /Type /Pages /Parent 2 0 R /Kids [%s] /Count %d >>" % (
            b" ".join(b"%d 0 R" % x for x in kids), len(kids)))
    objs[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % num for num, _ in nodes), n)
    for num, kids in nodes:
        for _ in kids:
            objs.append(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] >>" % num)
    return classic(objs)


def deflate_blanks(prefix, mib):
    """zlib data of prefix followed by mib MiB of blanks, made quickly: the
    blank blocks are compressed once and repeated after full flushes."""
    block = b" " * (1 << 20)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    out = bytearray(b"\x78\xda")
    out += c.compress(prefix) + c.flush(zlib.Z_FULL_FLUSH)
    out += c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    rep = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    out += rep * (mib - 2) if mib > 2 else b""
    if mib >= 2:
        out += c.compress(block)
    out += c.flush(zlib.Z_FINISH)
    adler = zlib.adler32(prefix)
    for _ in range(mib):
        adler = zlib.adler32(block, adler)
    out += struct.pack(">I", adler)
    return bytes(out)


def xref_stream_pdf(body_objs, entries, root, extra_dict=b"", xref_data=None, filt=b""):
    """PDF 1.5 with a cross-reference stream as the last object.
    body_objs: [(num, bytes)] written in order; entries: {num: (type, f2, f3)}
    for compressed objects (type 2); xref_data: replaces the stream data."""
    out = bytearray(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
    offs = {}
    for num, o in body_objs:
        offs[num] = len(out)
        out += b"%d 0 obj\n" % num + o + b"\nendobj\n"
    xnum = max(list(offs) + list(entries)) + 1
    offs[xnum] = len(out)
    rows = [struct.pack(">BIH", 0, 0, 65535)]
    for i in range(1, xnum + 1):
        if i in entries:
            t, f2, f3 = entries[i]
            rows.append(struct.pack(">BIH", t, f2, f3))
        else:
            rows.append(struct.pack(">BIH", 1, offs[i], 0))
    data = xref_data if xref_data is not None else b"".join(rows)
    out += b"%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Root %d 0 R %s%s/Length %d >>\nstream\n" % (
        xnum, xnum + 1, root, filt, extra_dict, len(data))
    out += data + b"\nendstream\nendobj\n"
    out += b"startxref\n%d\n%%%%EOF\n" % offs[xnum]
    return bytes(out)


def bomb_objstm(mib):
    """Objects 2 (catalog) and 3 (page tree) in object stream 1, whose data
    is followed by mib MiB of blanks; page 4 is a plain object."""
    o2 = b"<< /Type /Catalog /Pages 3 0 R >>\n"
    o3 = b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>\n"
    head = b"2 0 3 %d " % len(o2)
    head = head.ljust(32)
    prefix = head + o2 + o3
    data = deflate_blanks(prefix, mib)
    objstm = b"<< /Type /ObjStm /N 2 /First 32 /Filter /FlateDecode /Length %d >>\nstream\n" % len(
        data) + data + b"\nendstream"
    page = b"<< /Type /Page /Parent 3 0 R /MediaBox [0 0 612 792] >>"
    return xref_stream_pdf([(1, objstm), (4, page)], {2: (2, 1, 0), 3: (2, 1, 1)}, 2)


def bomb_xrefstm(mib):
    """A cross-reference stream whose data inflates to mib MiB."""
    return xref_stream_pdf([(1, b"<< /Type /Catalog /Pages 2 0 R >>"),
                            (2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
                            (3, b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>")],
                           {}, 1, xref_data=deflate_blanks(b"", mib), filt=b"/Filter /FlateDecode ")


def bomb_repeat(n):
    kids = b"3 0 R " * n
    return classic([b"<< /Type /Catalog /Pages 2 0 R >>",
                    b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % n,
                    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"])


def bomb_deep(n):
    """Catalog 1, then page tree nodes 2..n+1 each the only kid of the
    previous one, and one page at the bottom."""
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    for i in range(n):
        num = 2 + i
        objs.append(b"<< /Type /Pages /Kids [%d 0 R] /Count 1 >>" % (num + 1))
    objs.append(b"<< /Type /Page /MediaBox [0 0 612 792] >>")
    return classic(objs)


def bomb_nested(n):
    return classic([b"<< /Type /Catalog /Pages 2 0 R /X " + b"[" * n + b"]" * n + b" >>",
                    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"])


BOMBS = {"objstm": (bomb_objstm, 1024), "xrefstm": (bomb_xrefstm, 1024),
         "repeat": (bomb_repeat, 200000), "deep": (bomb_deep, 20000),
         "nested": (bomb_nested, 100000)}


def main(argv):
    if len(argv) >= 3 and argv[1] == "--pages":
        out, data = argv[3], pages(int(argv[2]))
    elif len(argv) >= 4 and argv[1] == "--bomb" and argv[2] in BOMBS:
        make, default = BOMBS[argv[2]]
        out, data = argv[3], make(int(argv[4]) if len(argv) > 4 else default)
    elif len(argv) == 3:
        out, data = argv[1], padded(int(argv[2]))
    else:
        sys.exit(__doc__)
    with open(out, "wb") as f:
        f.write(data)


if __name__ == "__main__":
    main(sys.argv)
