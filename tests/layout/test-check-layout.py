#!/usr/bin/env python3
"""test-check-layout.py: the layout check can fail (issue 10, item 1).

Runs tests/layout/check-layout.py on a temporary copy of src/: the copy as
it is must pass; each edit below, made alone on a fresh copy, must make the
check exit non-zero and name the offending file.  Environment:
NIMBUS_SOURCE_ROOT (set by tests/meson.build).
"""
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.environ.get("NIMBUS_SOURCE_ROOT",
                      os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
CHECK = os.path.join(ROOT, "tests", "layout", "check-layout.py")


def prepend(rel, text):
    def edit(top):
        p = os.path.join(top, rel)
        with open(p, encoding="utf-8") as f:
            body = f.read()
        with open(p, "w", encoding="utf-8") as f:
            f.write(text + body)
    return edit


def new_file(rel, text):
    def edit(top):
        os.makedirs(os.path.dirname(os.path.join(top, rel)), exist_ok=True)
        with open(os.path.join(top, rel), "w", encoding="utf-8") as f:
            f.write(text)
    return edit


def declare(folder, used):
    """Add `used` to folder's line of the layout table."""
    def edit(top):
        p = os.path.join(top, "src", "server", "meson.build")
        with open(p, encoding="utf-8") as f:
            text = f.read()
        text = text.replace(f"  '{folder}' : [", f"  '{folder}' : ['{used}', ", 1)
        with open(p, "w", encoding="utf-8") as f:
            f.write(text)
    return edit


def undeclare(folder, used):
    """Drop `used` from folder's line of the layout table."""
    def edit(top):
        p = os.path.join(top, "src", "server", "meson.build")
        with open(p, encoding="utf-8") as f:
            lines = f.read().split("\n")
        for i, line in enumerate(lines):
            if line.strip().startswith(f"'{folder}' :"):
                lines[i] = line.replace(f"'{used}', ", "").replace(f", '{used}'", "")
                break
        with open(p, "w", encoding="utf-8") as f:
            f.write("\n".join(lines))
    return edit


# (name, edit, a file or text the failure message must name)
CASES = [
    ("sqlite3.h outside store/sqlite", prepend("src/server/jobs/job.c", "#include <sqlite3.h>\n"),
     "src/server/jobs/job.c:1: <sqlite3.h>"),
    ("sqlite3.h in the connector", prepend("src/connector/state.c", "#include <sqlite3.h>\n"),
     "src/connector/state.c:1: <sqlite3.h>"),
    ("libpq-fe.h outside store/pg", prepend("src/server/store/sqlite/store-sqlite.c",
                                            "#include <libpq-fe.h>\n"),
     "<libpq-fe.h> outside src/server/store/pg/"),
    ("microhttpd.h outside http", prepend("src/server/api/api.c", "#include <microhttpd.h>\n"),
     "src/server/api/api.c:1: <microhttpd.h>"),
    ("another folder's private header",
     prepend("src/server/api/api-users.c", '#include "store-sqlite-private.h"\n'),
     '"store-sqlite-private.h" is private to src/server/store/sqlite/'),
    ("undeclared folder", prepend("src/server/jobs/job.c", '#include "api.h"\n'),
     "src/server/jobs/job.c:1: \"api.h\" is in api/, which jobs/ does not declare"),
    ("dependency removed from the table", undeclare("jobs", "blob"), "src/server/jobs/retention.c"),
    ("a new cycle in the table", declare("jobs", "ipp"),
     "the layout table has a cycle: devices -> jobs -> ipp -> devices"),
    ("header of nowhere", prepend("src/server/blob/blob.c", '#include "nosuch.h"\n'),
     '"nosuch.h" is neither in src/server/ nor in src/common/'),
    ("include by path", prepend("src/server/blob/blob.c", '#include "../store/store.h"\n'),
     "include headers by bare name"),
    ("folder missing from the table", new_file("src/server/reports/reports.c", "int b;\n"),
     "src/server/reports/: folder missing from the layout table"),
    ("file missing from the sources", new_file("src/server/jobs/quota.c", "int q;\n"),
     "src/server/jobs/quota.c: not listed in server_sources['jobs']"),
    ("file left in the old flat folder", new_file("src/server/alias.c", "int a;\n"),
     "src/server/alias.c: a file of src/server/ belongs in"),
    ("duplicate header name", new_file("src/server/blob/store.h", "\n"),
     "header name store.h"),
]


def run(top):
    p = subprocess.run([sys.executable, CHECK, top], capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout + p.stderr


def fresh_copy(tmp, n):
    top = os.path.join(tmp, f"t{n}")
    shutil.copytree(os.path.join(ROOT, "src"), os.path.join(top, "src"),
                    ignore=shutil.ignore_patterns("*.o", "*.a"))
    return top


def main():
    failures = 0
    with tempfile.TemporaryDirectory(prefix="nimbus-layout-") as tmp:
        rc, out = run(fresh_copy(tmp, "clean"))
        if rc != 0:
            print(f"FAIL clean copy: check exited {rc}:\n{out}")
            failures += 1
        else:
            print("ok   clean copy passes")
        for i, (name, edit, expect) in enumerate(CASES):
            top = fresh_copy(tmp, i)
            edit(top)
            rc, out = run(top)
            if rc == 0:
                print(f"FAIL {name}: the check passed:\n{out}")
                failures += 1
            elif expect not in out:
                print(f"FAIL {name}: exit {rc} but no line with {expect!r}:\n{out}")
                failures += 1
            else:
                print(f"ok   {name}: exit {rc}")
            shutil.rmtree(top)
    print(f"layout check self-test: {len(CASES) + 1 - failures}/{len(CASES) + 1} passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
