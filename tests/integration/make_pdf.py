#!/usr/bin/env python3
"""make_pdf.py OUT PADDING_LINES: write a valid one-page PDF whose content
stream is padded with PADDING_LINES comment lines (10 bytes each), for
tests that need a document of a given size (bench/gen-big-pdf streams
very large ones)."""
import sys

out_path, lines = sys.argv[1], int(sys.argv[2])
body = b"BT /F1 12 Tf 72 720 Td (big) Tj ET\n" + b"% padding\n" * lines
objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(body) + body + b"\nendstream"]
out = bytearray(b"%PDF-1.4\n")
offsets = []
for i, o in enumerate(objs, 1):
    offsets.append(len(out))
    out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
xref = len(out)
out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
for o in offsets:
    out += b"%010d 00000 n \n" % o
out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
with open(out_path, "wb") as f:
    f.write(out)
