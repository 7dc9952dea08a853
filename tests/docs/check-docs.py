#!/usr/bin/env python3
"""check-docs.py: the docs list what the code has (issue 9, item 4).

Fails (exit 1, one line per gap) when:
  - an option that `nimbusd --help`, `nimbus-connector [COMMAND] --help`,
    `nimbusctl [COMMAND] --help` or `nimbus-paysim --help` lists is missing
    from its man page (man/nimbusd.8, man/nimbus-connector.8,
    man/nimbusctl.1, man/nimbus-paysim.1);
  - a nimbusd option is missing from the configuration table of
    docs/OPERATIONS.md ("| `name` | default | ... |");
  - a `nimbus-connector run` option is missing from the sample
    configuration packaging/nimbus-connector.conf ("name = ..." or
    "# name = ...");
  - a pthread_mutex_t (struct field or variable) in src/ is missing from the
    lock tables of docs/LOCKING.md: a field `f` of `struct S` must appear as
    `S.f` in a row's lock cell, or as `...->f`/`....f` in a row whose file
    cell names the file that declares it; a variable by its own name.

Environment (set by tests/meson.build): NIMBUSD, NIMBUSCTL, NIMBUS_CONNECTOR,
NIMBUS_SOURCE_ROOT.  A first argument overrides the source root (to try the
check against an edited copy of the tree).
"""
import os
import re
import subprocess
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.environ["NIMBUS_SOURCE_ROOT"]
gaps = []


def read(rel):
    with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
        return f.read()


def help_text(*argv):
    """The --help output of a program (stdout and stderr; any exit status)."""
    p = subprocess.run(list(argv) + ["--help"], capture_output=True, text=True, timeout=60)
    text = p.stdout + p.stderr
    if "Usage" not in text and "usage" not in text:
        gaps.append(f"{' '.join(argv)} --help printed no usage: {text[:200]!r}")
    return text


def help_options(text):
    """Long options listed at the start of a help line ('  --name ...')."""
    opts = []
    for line in text.splitlines():
        m = re.match(r"\s+(?:-\w,\s+)?--([a-z0-9][a-z0-9-]*)", line)
        if m:
            opts.append(m.group(1))
    return opts


def help_commands(text):
    """Command names listed under 'Commands:' in a help text."""
    cmds, inside = [], False
    for line in text.splitlines():
        if line.strip() == "Commands:":
            inside = True
            continue
        if inside:
            m = re.match(r"\s+([a-z][a-z-]*)\s{2,}", line)
            if not m:
                break
            cmds.append(m.group(1))
    return cmds


def man_plain(rel):
    """A man page's text with roff escapes for dashes and fonts removed."""
    t = read(rel)
    t = re.sub(r"\\f[BIRP]|\\f\(..|\\&", "", t)
    t = t.replace("\\-", "-").replace("\\(hy", "-").replace("\\(em", "-")
    return t


def man_config_items(text):
    """Names a man page documents in configuration form: the tag line after
    .TP reads 'name " = " value' (or 'a ", " b " = " value')."""
    names, lines = set(), text.splitlines()
    for prev, line in zip(lines, lines[1:]):
        if prev.strip() == ".TP" and '" = "' in line:
            head = line.split('" = "')[0]
            names.update(re.findall(r"[a-z][a-z0-9-]+", re.sub(r"^\.\w+", "", head)))
    return names


def has_option(text, opt):
    """--opt in the text, or opt as a configuration item (name = value)."""
    if re.search(r"(?<![A-Za-z0-9-])--" + re.escape(opt) + r"(?![A-Za-z0-9-])", text):
        return True
    return opt in man_config_items(text)


def check_man(program_words, opts, man_rel, man_text):
    for o in opts:
        if not has_option(man_text, o):
            gaps.append(f"{man_rel}: '--{o}' ({' '.join(program_words)} --help) is missing")


# ---- man pages and configuration tables ----

nimbusd = os.environ["NIMBUSD"]
nimbusctl = os.environ["NIMBUSCTL"]
connector = os.environ["NIMBUS_CONNECTOR"]

d_opts = help_options(help_text(nimbusd))
if len(d_opts) < 10:
    gaps.append(f"nimbusd --help: only {len(d_opts)} options found (parser broken?)")
check_man(["nimbusd"], d_opts, "man/nimbusd.8", man_plain("man/nimbusd.8"))

table = set(re.findall(r"^\|\s*`([a-z0-9-]+)`\s*\|", read("docs/OPERATIONS.md"), re.M))
for o in d_opts:
    if o in ("config", "help", "version"):  # command line only: not configuration
        continue
    if o not in table:
        gaps.append(f"docs/OPERATIONS.md: nimbusd option '{o}' is missing from the configuration table")

c_help = help_text(connector)
c_cmds = help_commands(c_help)
if not c_cmds:
    gaps.append("nimbus-connector --help: no commands found (parser broken?)")
c_man = man_plain("man/nimbus-connector.8")
check_man(["nimbus-connector"], help_options(c_help), "man/nimbus-connector.8", c_man)
sample = read("packaging/nimbus-connector.conf")
for cmd in c_cmds:
    opts = help_options(help_text(connector, cmd))
    check_man(["nimbus-connector", cmd], opts, "man/nimbus-connector.8", c_man)
    if cmd != "run":
        continue
    for o in opts:
        if o in ("config", "help"):
            continue
        if not re.search(r"^#?\s*" + re.escape(o) + r"\s*=", sample, re.M):
            gaps.append(f"packaging/nimbus-connector.conf: run option '{o}' is missing")

ctl_help = help_text(nimbusctl)
ctl_cmds = help_commands(ctl_help)
if not ctl_cmds:
    gaps.append("nimbusctl --help: no commands found (parser broken?)")
ctl_man = man_plain("man/nimbusctl.1")
check_man(["nimbusctl"], help_options(ctl_help), "man/nimbusctl.1", ctl_man)
for cmd in ctl_cmds:
    check_man(["nimbusctl", cmd], help_options(help_text(nimbusctl, cmd)), "man/nimbusctl.1", ctl_man)

# nimbus-paysim (issue 12): its options in its man page
paysim = os.environ.get("NIMBUS_PAYSIM")
if paysim:
    ps_opts = help_options(help_text(paysim))
    if len(ps_opts) < 5:
        gaps.append(f"nimbus-paysim --help: only {len(ps_opts)} options found (parser broken?)")
    check_man(["nimbus-paysim"], ps_opts, "man/nimbus-paysim.1", man_plain("man/nimbus-paysim.1"))
elif os.environ.get("CI") == "true":
    gaps.append("NIMBUS_PAYSIM is not set: nimbus-paysim's man page is not checked")

# ---- mutexes in LOCKING.md ----


def mutexes():
    """(file, struct or None, name) of every pthread_mutex_t declared in src/."""
    found = []
    for dirpath, _, files in os.walk(os.path.join(ROOT, "src")):
        for fn in sorted(files):
            if not fn.endswith((".c", ".h", ".cc")):
                continue
            path = os.path.join(dirpath, fn)
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines()
            struct, depth = None, 0
            for i, line in enumerate(lines):
                code = re.sub(r"//.*|/\*.*?\*/", "", line)
                m = re.match(r"\s*(?:typedef\s+)?struct\s*(\w*)\s*\{", code)
                if m and depth == 0:
                    struct = m.group(1) or None
                    if struct is None:  # typedef struct { ... } name_t;
                        for end in lines[i + 1:]:
                            e = re.match(r"\}\s*(\w+)\s*;", end)
                            if e:
                                struct = e.group(1)
                                break
                d = re.search(r"\bpthread_mutex_t\s+(\w+)\s*[;=\[]", code)
                if d:
                    found.append((os.path.relpath(path, ROOT), struct if depth > 0 else None, d.group(1)))
                depth += code.count("{") - code.count("}")
                if depth == 0:
                    struct = None
    return found


def lock_rows():
    """(lock cell, file cell) of every table row of LOCKING.md."""
    rows = []
    for line in read("docs/LOCKING.md").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) >= 2 and not cells[0].startswith("---"):
            rows.append((cells[0], cells[1]))
    return rows


rows = lock_rows()
decls = mutexes()
if len(decls) < 5:
    gaps.append(f"src/: only {len(decls)} pthread_mutex_t found (parser broken?)")
for path, struct, name in decls:
    base = os.path.basename(path)
    if struct is None:
        ok = any(f"`{name}`" in lock for lock, _ in rows)
        what = f"mutex '{name}'"
    else:
        short = re.sub(r"_(t|s)$", "", struct)
        ok = any(f"`{short}.{name}`" in lock for lock, _ in rows) or any(
            re.search(r"(->|\.)" + re.escape(name) + r"\b", lock) and base in fcell
            for lock, fcell in rows)
        what = f"mutex '{short}.{name}'"
    if not ok:
        gaps.append(f"docs/LOCKING.md: {what} ({path}) is missing from the lock tables")

for g in gaps:
    print("MISSING:", g)
print(f"docs check: {len(d_opts)} nimbusd options, {len(c_cmds)} connector and "
      f"{len(ctl_cmds)} nimbusctl commands, {len(decls)} mutexes; {len(gaps)} gaps")
sys.exit(1 if gaps else 0)
