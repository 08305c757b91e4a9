#!/usr/bin/python3
"""Fills the code blocks of a docs page from the sources they show.

A block whose first line is `// path` (or `# path`) is the whole file at that
path; `// path [doc:name]` is the region between the lines `// [doc:name]` and
`// [/doc:name]` (`#` for Python) in that file. tests/test_losses_registry.cpp
fails when a block differs from its source; this rewrites the blocks so they
match:  /usr/bin/python3 tools/sync_doc_blocks.py docs/adding-a-loss.md
"""
import os
import re
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
HEAD = re.compile(r"^(//|#) ([\w./-]+)(?: \[doc:([\w-]+)\])?$")


def source_text(path, region, marker):
    with open(os.path.join(ROOT, path)) as f:
        text = f.read()
    if region is None:
        return text.rstrip("\n")
    open_, close = f"{marker} [doc:{region}]\n", f"{marker} [/doc:{region}]"
    a, b = text.index(open_), text.index(close)
    return text[a + len(open_):b].rstrip(" \n")


def sync(md_path):
    with open(md_path) as f:
        lines = f.read().split("\n")
    out, i = [], 0
    while i < len(lines):
        out.append(lines[i])
        m = HEAD.match(lines[i + 1]) if lines[i].startswith("```") and i + 1 < len(lines) else None
        if m and len(lines[i]) > 3:
            out.append(lines[i + 1])
            j = i + 2
            while not lines[j].startswith("```"):
                j += 1
            out.extend(source_text(m.group(2), m.group(3), m.group(1)).split("\n"))
            i = j
            continue
        i += 1
    with open(md_path, "w") as f:
        f.write("\n".join(out))


if __name__ == "__main__":
    for p in sys.argv[1:] or [os.path.join(ROOT, "docs", "adding-a-loss.md")]:
        sync(p)
