"""The golden generators' shared helpers: rng(name), each case's own random
stream, and the writers of the fixture files in the text format tests/golden.h
reads.

    tensor <name> <float32|int64> <ndim> <dims...>
    <values>

Every fixture goes to FIXTURE_DIR (tests/fixtures by default);
tools/gen_golden.py points it elsewhere with set_fixture_dir() for --out and
--check (regenerate into a temporary folder and diff), so a generator must
build its paths with fixture_path(), never from its own copy of the folder.
"""
import os
import zlib

DEFAULT_FIXTURE_DIR = os.path.normpath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures"))
FIXTURE_DIR = DEFAULT_FIXTURE_DIR
WRITTEN = []  # every path fixture_path() gave out, for gen_golden.py --check


def rng(name):
    """The generator a case (or a group of cases sharing inputs) draws from,
    seeded by its name: adding, removing or reordering cases never changes what
    another case draws, so regenerating rewrites no other fixture. Every random
    value of a fixture comes from here, never from torch's global RNG or a
    generator shared by several cases (tools/gen_golden.py --check tests both).
    A name is unique across all areas (e.g. '<fixture>.<case>'); a case needing
    several independent streams takes '<name>.<what>'."""
    import torch
    return torch.Generator().manual_seed(zlib.crc32(name.encode()))


def set_fixture_dir(path):
    global FIXTURE_DIR
    FIXTURE_DIR = path


def fixture_path(name):
    """Where fixture `name` is written (its folder is created)."""
    path = os.path.join(FIXTURE_DIR, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    WRITTEN.append(path)
    return path


def write_fixture(name, tensors, comment=""):
    """tensors: dict name -> torch.Tensor or numpy array (float32 or int64)."""
    import numpy as np
    path = fixture_path(name)
    with open(path, "w") as f:
        if comment:
            for line in comment.splitlines():
                f.write(f"# {line}\n")
        for key, t in tensors.items():
            a = t.detach().cpu().numpy() if hasattr(t, "detach") else np.asarray(t)
            if a.dtype.kind in "iu":
                a = a.astype(np.int64)
                dtype = "int64"
                vals = " ".join(str(int(v)) for v in a.reshape(-1))
            else:
                a = a.astype(np.float32)
                dtype = "float32"
                vals = " ".join(f"{float(v):.9g}" for v in a.reshape(-1))
            f.write(f"tensor {key} {dtype} {a.ndim} {' '.join(str(d) for d in a.shape)}\n")
            f.write(vals + "\n")
    return path


def read_fixture(name):
    """The committed fixture `name` as a dict name -> torch.Tensor."""
    import torch
    out = {}
    with open(os.path.join(DEFAULT_FIXTURE_DIR, name)) as f:
        words = [w for line in f if not line.startswith("#") for w in line.split()]
    i = 0
    while i < len(words):
        assert words[i] == "tensor", f"{name}: expected 'tensor', got {words[i]!r}"
        key, dtype, ndim = words[i + 1], words[i + 2], int(words[i + 3])
        shape = [int(d) for d in words[i + 4:i + 4 + ndim]]
        i += 4 + ndim
        n = 1
        for d in shape:
            n *= d
        conv = int if dtype == "int64" else float
        vals = [conv(v) for v in words[i:i + n]]
        i += n
        out[key] = torch.tensor(vals, dtype=torch.int64 if dtype == "int64" else torch.float32
                                ).reshape(shape)
    return out


BINARY_MAGIC = "polygrad-golden-binary 1"


def write_binary_fixture(name, tensors, comment=""):
    """Like write_fixture, for fixtures too large for text (tests/golden.h load_binary):

        polygrad-golden-binary 1
        # comment lines
        tensor <name> <float32|int64> <ndim> <dims...>
        <numel raw little-endian float32 / int64 values, no separator>

    repeated. Raw float32 is exact and 4 bytes a value (the text form takes ~16).
    """
    import numpy as np
    path = fixture_path(name)
    with open(path, "wb") as f:
        f.write((BINARY_MAGIC + "\n").encode())
        for line in comment.splitlines():
            f.write(f"# {line}\n".encode())
        for key, t in tensors.items():
            a = t.detach().cpu().numpy() if hasattr(t, "detach") else np.asarray(t)
            if a.dtype.kind in "iu":
                a, dtype = a.astype("<i8"), "int64"
            else:
                a, dtype = a.astype("<f4"), "float32"
            f.write(f"tensor {key} {dtype} {a.ndim} {' '.join(str(d) for d in a.shape)}\n".encode())
            f.write(np.ascontiguousarray(a).tobytes())
    return path
