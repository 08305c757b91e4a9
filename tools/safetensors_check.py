#!/usr/bin/python3
"""Interop proof for polygrad checkpoints (nn/checkpoint.h) with PyTorch.

Debian has no python3-safetensors package, so the safetensors format is read
and written here with struct + json, exactly as its specification says:
  8 bytes   N, little-endian uint64
  N bytes   JSON header {"name": {"dtype", "shape", "data_offsets": [b, e]},
            "__metadata__": {str: str}}, space-padded
  rest      data; offsets are relative to the byte after the header
The reader is strict (it checks what the safetensors package checks: offsets
in range, sized to the shape, tiling the data section without overlap).

Usage (Debian's python3-torch: /usr/bin/python3):
  /usr/bin/python3 tools/safetensors_check.py write
      writes a small PyTorch model's state_dict to
      tests/fixtures/torch_model.safetensors, and its values plus an eval-mode
      input/output pair to tests/fixtures/optim_checkpoint_torch_model.txt
      (test_checkpoint_interop.cpp loads the file into the equivalent polygrad
      module and compares)
  /usr/bin/python3 tools/safetensors_check.py check [FILE]
      reads a polygrad-written file (default: the committed
      tests/fixtures/polygrad_model.safetensors, which the C++ test
      "checkpoint interop: polygrad's writer reproduces the committed fixture"
      proves is byte-identical to what polygrad writes), checks every value
      against the formula the C++ test used, and loads it into the equivalent
      torch model with load_state_dict(strict=True)
"""
import json
import os
import struct
import sys
from collections import OrderedDict

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "tests", "fixtures")
sys.path.insert(0, HERE)

DTYPES = {"F32": ("float32", 4), "I64": ("int64", 8)}


def write_safetensors(path, tensors, metadata=None):
    """tensors: OrderedDict name -> torch tensor (float32 or int64)."""
    import torch
    names = {torch.float32: "F32", torch.int64: "I64"}
    # Larger elements first (then by name), as the safetensors package does,
    # so that every tensor is aligned to its element size.
    items = sorted(tensors.items(), key=lambda kv: (-DTYPES[names[kv[1].dtype]][1], kv[0]))
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = dict(metadata)
    for name, t in items:
        raw = t.detach().contiguous().numpy().astype("<" + DTYPES[names[t.dtype]][0][0] +
                                                      str(DTYPES[names[t.dtype]][1])).tobytes()
        header[name] = {"dtype": names[t.dtype], "shape": list(t.shape),
                        "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def read_safetensors(path):
    """Returns (OrderedDict name -> torch tensor, metadata dict); strict."""
    import numpy as np
    import torch
    with open(path, "rb") as f:
        data = f.read()
    assert len(data) >= 8, f"{path}: too short"
    (n,) = struct.unpack("<Q", data[:8])
    assert n <= len(data) - 8, f"{path}: header length {n} exceeds the file"
    header = json.loads(data[8:8 + n].decode("utf-8"))
    assert isinstance(header, dict), f"{path}: header is not an object"
    body = data[8 + n:]
    meta = header.pop("__metadata__", {})
    assert all(isinstance(v, str) for v in meta.values()), "metadata values must be strings"
    entries = sorted(header.items(), key=lambda kv: tuple(kv[1]["data_offsets"]))
    pos, out = 0, OrderedDict()
    for name, e in entries:
        assert set(e) == {"dtype", "shape", "data_offsets"}, f"{name}: fields {set(e)}"
        np_dtype, size = DTYPES[e["dtype"]]
        b, end = e["data_offsets"]
        assert b == pos, f"{name}: offsets {b, end} do not continue at {pos}"
        numel = 1
        for d in e["shape"]:
            assert isinstance(d, int) and d >= 0
            numel *= d
        assert end - b == numel * size, f"{name}: {end - b} bytes for shape {e['shape']}"
        assert b % size == 0, f"{name}: misaligned"
        arr = np.frombuffer(body[b:end], dtype="<" + np_dtype[0] + str(size)).reshape(e["shape"])
        out[name] = torch.from_numpy(arr.copy())
        pos = end
    assert pos == len(body), f"{len(body) - pos} trailing bytes"
    return out, meta


def make_model():
    """The reference architecture (mirrored by test_checkpoint_interop.cpp)."""
    import torch.nn as nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.ReLU(),
                                          nn.Linear(3, 5))
            self.head = nn.Linear(5, 2)

        def forward(self, x):
            return self.head(self.features(x))

    return Net()


def cmd_write():
    import torch
    from golden_io import write_fixture
    torch.manual_seed(5)
    model = make_model()
    model.train()
    for _ in range(3):  # non-trivial running statistics, num_batches_tracked = 3
        model(torch.randn(16, 4) * 2 + 1)
    model.eval()
    x = torch.randn(6, 4)
    with torch.no_grad():
        y = model(x)
    sd = model.state_dict()
    path = os.path.join(FIXTURES, "torch_model.safetensors")
    write_safetensors(path, sd, {"format": "pt", "producer": "tools/safetensors_check.py"})
    # The reader must give back exactly what was written.
    back, meta = read_safetensors(path)
    assert list(sorted(back)) == list(sorted(sd)) and meta["format"] == "pt"
    for k in sd:
        assert torch.equal(back[k], sd[k]), k
    values = {"x": x, "y": y}
    values.update({"sd." + k: v for k, v in sd.items()})
    write_fixture("optim_checkpoint_torch_model.txt", values,
                  "The state_dict of tools/safetensors_check.py's model (sd.<name>), an input x\n"
                  "and its eval-mode output y; the same state is in torch_model.safetensors")
    print(f"wrote {path} ({os.path.getsize(path)} bytes) and optim_checkpoint_torch_model.txt")


def expected_polygrad_value(k, name, shape, dtype):
    """The C++ test's formula: tensor k of the state_dict, element i:
    (1000 k + i) / 1024 (exact in float32), or 42 for int64 buffers."""
    import torch
    if dtype == torch.int64:
        return torch.full(shape, 42, dtype=torch.int64)
    numel = 1
    for d in shape:
        numel *= d
    return ((1000 * k + torch.arange(numel, dtype=torch.float64)) / 1024).float().reshape(shape)


def cmd_check(path):
    import torch
    tensors, meta = read_safetensors(path)
    model = make_model()
    ref = model.state_dict()
    assert sorted(tensors) == sorted(ref), f"names {sorted(tensors)} != {sorted(ref)}"
    for k, name in enumerate(ref):  # state_dict order defines k
        t = tensors[name]
        assert t.dtype == ref[name].dtype and t.shape == ref[name].shape, name
        want = expected_polygrad_value(k, name, list(t.shape), t.dtype)
        assert torch.equal(t, want), f"{name}: values differ"
    model.load_state_dict(tensors, strict=True)
    model.eval()
    with torch.no_grad():
        out = model(torch.ones(2, 4))
    assert torch.isfinite(out).all()
    print(f"{path}: OK ({len(tensors)} tensors, metadata {meta}); torch loaded it (strict)")


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ("write", "check"):
        print(__doc__)
        sys.exit(2)
    if sys.argv[1] == "write":
        cmd_write()
    else:
        cmd_check(sys.argv[2] if len(sys.argv) > 2 else
                  os.path.join(FIXTURES, "polygrad_model.safetensors"))


if __name__ == "__main__":
    main()
