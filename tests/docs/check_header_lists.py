#!/usr/bin/env python3
"""Checks that the docs name the public headers that exist, and only those.

A doc marks a list of headers with an HTML comment naming the directory and suffix it lists:

    <!-- header-list: capi/include/twinlink *.h -->
    | header | what is in it |
    |---|---|
    | `client.h` | ... |

The list is the text from the marker to the next blank line. Every header in the directory must be
named there (in backticks), and every header named there must exist. Besides, every header a doc
names anywhere in backticks (`client.hpp`, `twinlink/client.h`, `core/src/mqtt/outbox.hpp`) must
exist in the repository. Usage: check_header_lists.py REPOSITORY_ROOT
"""

import fnmatch
import re
import sys
from pathlib import Path

DOCS = ["README.md", "docs/*.md"]
MARKER = re.compile(r"<!--\s*header-list:\s*(\S+)\s+(\S+)\s*-->")
HEADER = re.compile(r"`([A-Za-z0-9_./-]+\.(?:h|hpp))`")


def doc_files(root):
    files = []
    for pattern in DOCS:
        files.extend(sorted(root.glob(pattern)))
    return files


def marked_lists(text):
    """(directory, suffix pattern, names) for every marked list in `text`."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = MARKER.search(line)
        if not m:
            continue
        block = []
        for follow in lines[i + 1:]:
            if not follow.strip():
                break
            block.append(follow)
        yield m.group(1), m.group(2), set(HEADER.findall("\n".join(block)))


def header_exists(root, name, all_headers):
    if (root / name).is_file():
        return True
    # A bare or partial name (`client.hpp`, `twinlink/client.h`): some header path ends with it.
    return any(path == name or path.endswith("/" + name) for path in all_headers)


def main():
    root = Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    all_headers = [
        str(p.relative_to(root))
        for pattern in ("core/**/*.h", "core/**/*.hpp", "capi/**/*.h", "capi/**/*.hpp")
        for p in root.glob(pattern)
    ]
    problems = []
    lists_seen = 0
    for doc in doc_files(root):
        text = doc.read_text(encoding="utf-8")
        rel = doc.relative_to(root)
        for directory, pattern, named in marked_lists(text):
            lists_seen += 1
            present = {p.name for p in (root / directory).iterdir() if fnmatch.fnmatch(p.name, pattern)}
            listed = {Path(n).name for n in named}
            for missing in sorted(present - listed):
                problems.append(f"{rel}: the list of {directory}/{pattern} does not name {missing}")
            for extra in sorted(listed - present):
                problems.append(f"{rel}: the list of {directory}/{pattern} names {extra}, which does not exist")
        for name in sorted(set(HEADER.findall(text))):
            if not header_exists(root, name, all_headers):
                problems.append(f"{rel}: names the header {name}, which does not exist")
    if lists_seen == 0:
        problems.append("no marked header list found (<!-- header-list: DIR PATTERN -->)")
    for p in problems:
        print(p)
    if problems:
        return 1
    print(f"{lists_seen} header lists match the headers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
