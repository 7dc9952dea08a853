#!/usr/bin/env python3
"""check-layout.py: no #include crosses a folder's line (issue 10, item 1).

src/server/ is one folder per concern (docs/ARCHITECTURE.md §12).  The
table between LAYOUT-BEGIN and LAYOUT-END in src/server/meson.build says,
for each folder, the folders whose headers it may include.  Fails (exit 1,
one line per violation) when a file under src/server/:
  - is in a folder the table does not list (or the table lists a folder
    that does not exist), or is missing from its folder's list in
    server_sources (between SOURCES-BEGIN and SOURCES-END);
  - includes a backend's system header outside that backend's folder
    (sqlite3.h outside store/sqlite/, libpq-fe.h outside store/pg/,
    microhttpd.h outside http/); sqlite3.h and libpq-fe.h are also refused
    anywhere else in src/ (common, cli, connector);
  - includes a `*-private.h` of another folder;
  - includes a header of a folder it does not declare, or a header that is
    neither in src/server/ nor in src/common/ (bare names only: "x.h").
The table itself must be a DAG apart from ALLOWED_BACK_EDGES.
Header names must be unique across src/server/ (includes are bare names).

Usage: check-layout.py [--stamp FILE] [SOURCE_ROOT]
SOURCE_ROOT defaults to $NIMBUS_SOURCE_ROOT, else two levels above this
script.  --stamp writes FILE on success (the build's custom target).
"""
import ast
import os
import re
import sys

# System header -> the only src/server folder that may include it.
BACKEND_HEADERS = {
    "sqlite3.h": "store/sqlite",
    "libpq-fe.h": "store/pg",
    "microhttpd.h": "http",
}
# The one dependency cycle allowed (docs/ARCHITECTURE.md §12): http.c asks
# daemon/routes.c which handler serves a request.  Without these edges the
# folders must form a DAG.
ALLOWED_BACK_EDGES = {("http", "daemon")}
# Store backends' headers are refused in the rest of src/ as well.
STORE_HEADERS = ("sqlite3.h", "libpq-fe.h")
SOURCE_EXT = (".c", ".h", ".cc")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def read_table(server, marker):
    """The dict literal between MARKER-BEGIN and MARKER-END in src/server/meson.build."""
    with open(os.path.join(server, "meson.build"), encoding="utf-8") as f:
        text = f.read()
    m = re.search(marker + r"-BEGIN.*?\n(.*?)#\s*" + marker + "-END", text, re.S)
    if not m:
        raise SystemExit(f"check-layout: no {marker}-BEGIN/{marker}-END table in src/server/meson.build")
    body = "\n".join(line.split("#", 1)[0] for line in m.group(1).splitlines())
    body = body.split("=", 1)[1] if "=" in body else body
    try:
        table = ast.literal_eval(body.strip())
    except (ValueError, SyntaxError) as e:
        raise SystemExit(f"check-layout: the {marker} table is not a plain literal: {e}")
    return {k: set(v) for k, v in table.items()}


def find_cycle(layout):
    """A list of folders forming a cycle once ALLOWED_BACK_EDGES are removed, or None."""
    state = {}

    def visit(folder, path):
        state[folder] = "open"
        for used in sorted(layout.get(folder, ())):
            if (folder, used) in ALLOWED_BACK_EDGES or used not in layout:
                continue
            if state.get(used) == "open":
                return path[path.index(used):] + [used]
            if used not in state:
                found = visit(used, path + [used])
                if found:
                    return found
        state[folder] = "done"
        return None

    for folder in sorted(layout):
        if folder not in state:
            found = visit(folder, [folder])
            if found:
                return found
    return None


def sources(top):
    for dirpath, dirs, files in os.walk(top):
        dirs.sort()
        for fn in sorted(files):
            if fn.endswith(SOURCE_EXT):
                yield os.path.join(dirpath, fn)


def includes(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    for m in INCLUDE.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        yield line, m.group(1), m.group(2)


def check(root):
    src = os.path.join(root, "src")
    server = os.path.join(src, "server")
    problems = []
    layout = read_table(server, "LAYOUT")
    listed = read_table(server, "SOURCES")

    def folder_of(path):
        return os.path.relpath(os.path.dirname(path), server).replace(os.sep, "/")

    server_files = list(sources(server))
    headers = {}  # bare name -> folder
    for p in server_files:
        if p.endswith(".h"):
            name, folder = os.path.basename(p), folder_of(p)
            if name in headers and headers[name] != folder:
                problems.append(f"src/server: header name {name} is in both {headers[name]}/ "
                                f"and {folder}/ (bare includes must be unambiguous)")
            headers.setdefault(name, folder)
    common = {os.path.basename(p) for p in sources(os.path.join(src, "common"))}

    present = {folder_of(p) for p in server_files}
    for folder in sorted(present - set(layout)):
        if folder == ".":
            for p in server_files:
                if folder_of(p) == ".":
                    problems.append(f"{os.path.relpath(p, root)}: a file of src/server/ belongs in "
                                    "the folder of its concern (docs/ARCHITECTURE.md §12)")
            continue
        problems.append(f"src/server/{folder}/: folder missing from the layout table "
                        "(src/server/meson.build)")
    for folder, uses in sorted(layout.items()):
        if folder not in present:
            problems.append(f"src/server/meson.build: layout table names {folder}/, which has no sources")
        for u in sorted(uses - set(layout)):
            problems.append(f"src/server/meson.build: {folder} uses unknown folder {u}")

    cycle = find_cycle(layout)
    if cycle:
        problems.append("src/server/meson.build: the layout table has a cycle: " + " -> ".join(cycle))

    for p in server_files:
        rel = os.path.relpath(p, root)
        folder = folder_of(p)
        if folder in layout and os.path.basename(p) not in listed.get(folder, set()) \
                and rel != "src/server/daemon/nimbusd.c":
            problems.append(f"{rel}: not listed in server_sources['{folder}'] (src/server/meson.build)")
        allowed = layout.get(folder, set())
        for line, kind, name in includes(p):
            where = f"{rel}:{line}"
            base = os.path.basename(name)
            if kind == "<":
                owner = BACKEND_HEADERS.get(name)
                if owner is not None and folder != owner:
                    problems.append(f"{where}: <{name}> outside src/server/{owner}/")
                continue
            if name != base:
                problems.append(f'{where}: "{name}": include headers by bare name')
                continue
            if name in headers:
                owner = headers[name]
                if owner == folder:
                    continue
                if name.endswith("-private.h"):
                    problems.append(f'{where}: "{name}" is private to src/server/{owner}/')
                elif owner not in allowed:
                    problems.append(f'{where}: "{name}" is in {owner}/, which {folder}/ does not '
                                    "declare (src/server/meson.build)")
            elif name not in common:
                problems.append(f'{where}: "{name}" is neither in src/server/ nor in src/common/')

    for p in sources(src):
        if p.startswith(server + os.sep):
            continue
        for line, kind, name in includes(p):
            if kind == "<" and name in STORE_HEADERS:
                problems.append(f"{os.path.relpath(p, root)}:{line}: <{name}> outside the store backends")
    return problems, len(server_files), len(layout)


def main(argv):
    stamp = None
    args = list(argv[1:])
    if len(args) >= 2 and args[0] == "--stamp":
        stamp = args[1]
        args = args[2:]
    root = args[0] if args else os.environ.get(
        "NIMBUS_SOURCE_ROOT", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    problems, nfiles, nfolders = check(root)
    for pr in problems:
        print("LAYOUT:", pr)
    print(f"layout check: {nfiles} files in {nfolders} folders of src/server; "
          f"{len(problems)} violations")
    if problems:
        return 1
    if stamp:
        with open(stamp, "w", encoding="utf-8") as f:
            f.write("ok\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
