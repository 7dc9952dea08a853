#!/usr/bin/env python3
"""The commands of README.md, read from it (never copied into a test).

  readme_commands.py README.md deploy
      the deployment command: the first indented command block of the
      section "## The two commands" (scripts/demo.sh), one line
  readme_commands.py README.md examples SERVER_PORT PANEL_PORT PRINTER_PORT
      a bash script running, in order, every ```sh block marked
      <!-- readme-example -->, with the demo's default ports (8631, 8632,
      8633) in 127.0.0.1 addresses replaced; each block announces itself and
      a failing command names the block

Used by tests/integration/test-readme.sh.
"""
import re
import sys

DEFAULT_PORTS = ("8631", "8632", "8633")
MIN_EXAMPLES = 6


def deploy_command(text):
    section = re.search(r"^## The two commands\n(.*?)(?=^## )", text, re.S | re.M)
    if not section:
        sys.exit("README.md: no section '## The two commands'")
    block = re.search(r"(?:^    \S.*\n)+", section.group(1), re.M)
    if not block:
        sys.exit("README.md: no indented command in '## The two commands'")
    lines = [line[4:] for line in block.group(0).splitlines()]
    if len(lines) != 1 or not lines[0].startswith("scripts/demo.sh"):
        sys.exit("README.md: the first command of '## The two commands' is not scripts/demo.sh: %r"
                 % lines)
    return lines[0]


def examples_script(text, ports):
    blocks = re.findall(r"<!-- readme-example -->\n```sh\n(.*?)```", text, re.S)
    if len(blocks) < MIN_EXAMPLES:
        sys.exit("README.md: expected at least %d readme-example blocks, found %d"
                 % (MIN_EXAMPLES, len(blocks)))
    mapping = dict(zip(DEFAULT_PORTS, ports))
    out = ["set -euo pipefail"]
    for n, block in enumerate(blocks, 1):
        block = re.sub(r"127\.0\.0\.1:(8631|8632|8633)\b",
                       lambda m: "127.0.0.1:" + mapping[m.group(1)], block)
        out.append("echo '== README example %d'" % n)
        out.append("trap 'echo \"README example %d failed\" >&2' ERR" % n)
        out.append(block.rstrip("\n"))
    return "\n".join(out) + "\n"


def main(argv):
    if len(argv) >= 3 and argv[2] == "deploy" and len(argv) == 3:
        print(deploy_command(open(argv[1]).read()))
    elif len(argv) == 6 and argv[2] == "examples":
        sys.stdout.write(examples_script(open(argv[1]).read(), argv[3:6]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
