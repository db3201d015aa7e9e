#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Checks that includes point only downward.

The layers are the table in core/README.md: each row's second column names
one or more paths (a folder ending in '/', or a file glob), and a file may
include only files of its own row or of a lower-numbered layer. Rows that
share a number are siblings: neither may include the other. A file that
no row names is an error too, so a new folder has to be placed in the map.
Prints the suite summary line tests/run-all.sh adds up.
"""
import fnmatch
import pathlib
import re
import sys

top = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
table = (top / "core" / "README.md").read_text()

patterns = []  # (pattern, (layer, row))
for row_number, line in enumerate(table.splitlines()):
    row = re.match(r"^\|\s*(\d+)\s*\|([^|]*)\|", line)
    if row:
        for path in re.findall(r"`([^`]+)`", row.group(2)):
            patterns.append((path, (int(row.group(1)), row_number)))
if not patterns:
    sys.exit("check-layering: no layer table found in core/README.md")


def layer_of(relative):
    best = None  # the most specific pattern wins
    for pattern, layer in patterns:
        if pattern.endswith("/"):
            matched = relative.startswith(pattern)
        else:
            matched = fnmatch.fnmatchcase(relative, pattern)
        if matched and (best is None or len(pattern) > len(best[0])):
            best = (pattern, layer)
    return best[1] if best else None


sources = [p for folder in ("core", "arch", "initramfs", "applets")
           for p in sorted((top / folder).rglob("*")) if p.suffix in (".h", ".cpp")]
problems = []
checked = 0
for source in sources:
    relative = str(source.relative_to(top))
    own = layer_of(relative)
    if own is None:
        problems.append(f"{relative}: no layer in core/README.md names it; add it to the table")
        continue
    for number, line in enumerate(source.read_text().splitlines(), 1):
        include = re.match(r'^\s*#\s*include\s+"([^"]+)"', line)
        if not include:
            continue
        target = include.group(1)
        if not (top / target).exists():
            continue  # generated (applets.def) or not ours
        checked += 1
        theirs = layer_of(target)
        if theirs is None:
            problems.append(f"{relative}:{number}: includes {target}, which no layer names")
        elif theirs[1] != own[1] and theirs[0] >= own[0]:
            problems.append(f"{relative}:{number}: includes {target} (layer {theirs[0]}) from layer {own[0]}: includes must point downward")

for problem in problems:
    print(problem)
print(f"check-layering: {len(sources)} files, {checked} includes, {len(problems)} problems")
print(f"kdumpbox-test-summary: layering {0 if problems else 1} {1 if problems else 0} 0")
sys.exit(1 if problems else 0)
