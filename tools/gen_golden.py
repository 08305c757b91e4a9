#!/usr/bin/python3
"""Regenerates the PyTorch golden fixtures in tests/fixtures/.

Run with Debian's python3-torch:

  /usr/bin/python3 tools/gen_golden.py [area ...]           rewrite tests/fixtures
  /usr/bin/python3 tools/gen_golden.py --out DIR [area ...] write into DIR instead
  /usr/bin/python3 tools/gen_golden.py --check [area ...]   drift + independence check

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

Fixtures that do not churn: every random value comes from golden_io.rng(name),
a generator seeded by the name of the case that draws it, so adding a case
rewrites no other fixture. --check also tests that property: it regenerates
once more with a dummy case run in front of every case (before each rng() call
it draws from torch's global RNG, seeded differently, and from every generator
handed out before) and requires every fixture byte-identical to the plain run;
a case that depends on what ran before it (the global RNG, a stream shared
with an earlier case) changes. It also rejects a generator that seeds
anything itself (Generator(, seed( in tools/golden/*.py). What it cannot see is
one rng() stream drawn by several cases with no rng() call between them: give
every case its own rng("<fixture>.<case>").

Reproducibility: torch runs single-threaded, so no reduction depends on the
machine's core count, and an area run alone writes the same bytes as in a full
run.
"""
import argparse
import filecmp
import importlib
import os
import re
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "golden"))

import golden_io  # noqa: E402


def all_areas():
    return sorted(f[:-3] for f in os.listdir(os.path.join(HERE, "golden"))
                  if f.endswith(".py") and not f.startswith("_"))


def generate(areas, out_dir, dummy_cases=False):
    """Runs the areas' generators into out_dir; returns the written file names
    (relative to out_dir). dummy_cases: run a dummy case in front of every case
    (see the module's docstring)."""
    import torch
    torch.set_num_threads(1)
    golden_io.set_fixture_dir(out_dir)
    golden_io.WRITTEN.clear()
    patched_rng = _with_dummy_case(golden_io.rng) if dummy_cases else golden_io.rng
    for area in areas:
        mod = importlib.import_module(area)
        print(f"gen_golden: {area}" + (" (a dummy case in front of every case)" if dummy_cases else ""))
        torch.manual_seed(1 if dummy_cases else 0)  # no fixture may depend on it
        if hasattr(mod, "rng"):  # the areas import it by name: patch their copy
            mod.rng = patched_rng
        try:
            mod.generate()
        finally:
            if hasattr(mod, "rng"):
                mod.rng = golden_io.rng
    return sorted({os.path.relpath(p, out_dir) for p in golden_io.WRITTEN})


def _with_dummy_case(rng):
    """rng, with a dummy case drawing from everything a case must not share
    before each case's generator is made."""
    import torch
    handed_out, names = [], set()

    def rng_after_dummy(name):
        # Two cases under one name would draw the same values.
        assert name not in names, f"rng({name!r}) asked for twice: a case name must be unique"
        names.add(name)
        torch.rand(3)
        for g in handed_out:
            torch.rand(3, generator=g)
        handed_out.append(rng(name))
        return handed_out[-1]
    return rng_after_dummy


def _differ(files, dir_a, dir_b):
    return [f for f in files if os.path.exists(os.path.join(dir_b, f))
            and not filecmp.cmp(os.path.join(dir_a, f), os.path.join(dir_b, f), shallow=False)]


def check(areas, full):
    """Regenerates into a temporary folder and diffs with tests/fixtures, and
    once more with a dummy case in front of every case. Returns the number of
    problems (0: no drift, no case depending on another)."""
    committed = golden_io.DEFAULT_FIXTURE_DIR
    with tempfile.TemporaryDirectory(prefix="pg_golden_") as tmp, \
            tempfile.TemporaryDirectory(prefix="pg_golden_dummy_") as tmp_dummy:
        written = generate(areas, tmp)
        differ = _differ(written, tmp, committed)
        new = [f for f in written if not os.path.exists(os.path.join(committed, f))]
        with_dummy = generate(areas, tmp_dummy, dummy_cases=True)
        assert with_dummy == written, "a dummy case changed which fixtures are written"
        dependent = _differ(written, tmp_dummy, tmp)
    self_seeded = [f"tools/golden/{a}.py" for a in areas if re.search(
        r"Generator\(|seed\(", open(os.path.join(HERE, "golden", a + ".py")).read())]
    stale = []
    if full:
        for root, _, files in os.walk(committed):
            for f in files:
                rel = os.path.relpath(os.path.join(root, f), committed)
                if rel not in written:
                    stale.append(rel)
    for title, files in (("differ from the generator's output", differ),
                         ("are written by the generator but not committed", new),
                         ("are committed but no generator writes them", sorted(stale)),
                         ("change with a dummy case in front of every case (a case depends on "
                          "what ran before it: draw only from rng(<its name>))", dependent)):
        if files:
            print(f"gen_golden --check: {len(files)} fixture(s) {title}:")
            for f in files:
                print(f"  tests/fixtures/{f}")
    for f in self_seeded:
        print(f"gen_golden --check: {f} makes or seeds a generator itself: use golden_io.rng(name)")
    problems = len(differ) + len(new) + len(stale) + len(dependent) + len(self_seeded)
    if not problems:
        print(f"gen_golden --check: no drift ({len(written)} fixtures identical), and none "
              "changes with a dummy case in front of every case")
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
