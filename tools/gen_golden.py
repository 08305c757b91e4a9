#!/usr/bin/python3
"""Regenerates the PyTorch golden fixtures in tests/fixtures/.

Run with Debian's python3-torch:

  /usr/bin/python3 tools/gen_golden.py [area ...]           rewrite tests/fixtures
  /usr/bin/python3 tools/gen_golden.py --out DIR [area ...] write into DIR instead
  /usr/bin/python3 tools/gen_golden.py --check [area ...]   drift check

Each area is a module tools/golden/<area>.py with a generate() function that
writes its fixtures through golden_io (write_fixture, or fixture_path for
other formats, e.g. checkpoint.py's safetensors file). With no area every one
runs. The fixtures are committed; the tests never need torch.

--check regenerates into a temporary folder and compares byte for byte with
tests/fixtures: it lists every file that differs, that the generator no
longer writes (with no area given: a stale fixture nobody can regenerate) or
that is not committed yet, and exits 1 if there is any. It proves the
committed fixtures are what the committed generator produces (nobody edited a
fixture by hand or changed a generator without rerunning it). It needs torch,
so it is not a ctest; run it after touching tools/golden/ or tests/fixtures/.

Reproducibility: every area starts from torch.manual_seed(0) (most also draw
from their own seeded torch.Generator), so an area run alone writes the same
bytes as in a full run, and torch runs single-threaded, so no reduction
depends on the machine's core count.
"""
import argparse
import filecmp
import importlib
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "golden"))

import golden_io  # noqa: E402


def all_areas():
    return sorted(f[:-3] for f in os.listdir(os.path.join(HERE, "golden"))
                  if f.endswith(".py") and not f.startswith("_"))


def generate(areas, out_dir):
    """Runs the areas' generators into out_dir; returns the written file names
    (relative to out_dir)."""
    import torch
    torch.set_num_threads(1)
    golden_io.set_fixture_dir(out_dir)
    golden_io.WRITTEN.clear()
    for area in areas:
        mod = importlib.import_module(area)
        print(f"gen_golden: {area}")
        torch.manual_seed(0)
        mod.generate()
    return sorted({os.path.relpath(p, out_dir) for p in golden_io.WRITTEN})


def check(areas, full):
    """Regenerates into a temporary folder and diffs with tests/fixtures.
    Returns the number of problems (0: no drift)."""
    committed = golden_io.DEFAULT_FIXTURE_DIR
    with tempfile.TemporaryDirectory(prefix="pg_golden_") as tmp:
        written = generate(areas, tmp)
        differ = [f for f in written if os.path.exists(os.path.join(committed, f))
                  and not filecmp.cmp(os.path.join(tmp, f), os.path.join(committed, f),
                                      shallow=False)]
        new = [f for f in written if not os.path.exists(os.path.join(committed, f))]
    stale = []
    if full:
        for root, _, files in os.walk(committed):
            for f in files:
                rel = os.path.relpath(os.path.join(root, f), committed)
                if rel not in written:
                    stale.append(rel)
    for title, files in (("differ from the generator's output", differ),
                         ("are written by the generator but not committed", new),
                         ("are committed but no generator writes them", sorted(stale))):
        if files:
            print(f"gen_golden --check: {len(files)} fixture(s) {title}:")
            for f in files:
                print(f"  tests/fixtures/{f}")
    problems = len(differ) + len(new) + len(stale)
    if not problems:
        print(f"gen_golden --check: no drift ({len(written)} fixtures identical)")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("areas", nargs="*", help="tools/golden/<area>.py (default: all)")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--check", action="store_true",
                   help="regenerate into a temporary folder and diff with tests/fixtures")
    g.add_argument("--out", metavar="DIR", help="write the fixtures into DIR")
    args = ap.parse_args()
    unknown = sorted(set(args.areas) - set(all_areas()))
    if unknown:
        ap.error(f"unknown area(s) {unknown}; valid: {all_areas()}")
    areas = args.areas or all_areas()
    if args.check:
        sys.exit(1 if check(areas, full=not args.areas) else 0)
    generate(areas, os.path.abspath(args.out) if args.out else golden_io.DEFAULT_FIXTURE_DIR)


if __name__ == "__main__":
    main()
