#!/usr/bin/python3
"""Regenerates the PyTorch golden fixtures in tests/fixtures/.

Run with Debian's python3-torch:   /usr/bin/python3 tools/gen_golden.py [area ...]

Each area is a module tools/golden/<area>.py with a generate() function that
writes its fixtures through golden_io.write_fixture. With no arguments every
area runs. The fixtures are committed; the tests never need torch.
"""
import importlib
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "golden"))


def main():
    import torch
    torch.manual_seed(0)
    areas = sys.argv[1:] or sorted(
        f[:-3] for f in os.listdir(os.path.join(HERE, "golden")) if f.endswith(".py") and not f.startswith("_"))
    for area in areas:
        mod = importlib.import_module(area)
        print(f"gen_golden: {area}")
        mod.generate()


if __name__ == "__main__":
    main()
