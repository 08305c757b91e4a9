"""Writes fixture files in the text format tests/golden.h reads.

    tensor <name> <float32|int64> <ndim> <dims...>
    <values>
"""
import os

FIXTURE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures")


def write_fixture(name, tensors, comment=""):
    """tensors: dict name -> torch.Tensor or numpy array (float32 or int64)."""
    import numpy as np
    path = os.path.join(FIXTURE_DIR, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
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
    path = os.path.join(FIXTURE_DIR, name)
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
