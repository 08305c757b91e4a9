#!/usr/bin/python3
"""Reads, validates and writes safetensors files in pure Python (struct + json).

Debian has no python3-safetensors package, so the format is implemented here
from its specification (huggingface/safetensors, safetensors/src/tensor.rs):
  8 bytes   N, little-endian uint64, N <= 100,000,000
  N bytes   UTF-8 JSON object starting with '{', space-padded:
              {"__metadata__": {str: str, ...},                  (optional)
               "<name>": {"dtype": "F32", "shape": [d0, ...],
                          "data_offsets": [begin, end]}, ...}
  rest      the data section; offsets are relative to its first byte
The reader is strict: everything the safetensors package refuses is an error
(header length, UTF-8, not starting with '{', JSON, field types, unknown
dtype, offsets that do not tile the data section exactly: overlap, hole,
trailing bytes, size not numel * element size), plus what the package lets
through but no writer produces: duplicate JSON keys, NaN/Infinity in the
JSON, padding other than spaces, unknown fields, booleans or floats as
integers, an empty name. A tensor not aligned to its element size is valid
safetensors but polygrad's loader refuses it: it is reported as a warning.
Validation needs no third-party module, so ctest runs it on every machine.

Usage:
  /usr/bin/python3 tools/safetensors_check.py check FILE [--reference REF] [--torch]
      validates FILE (any safetensors file, any dtypes) and lists its
      metadata and tensors (name, dtype, shape, offsets). Exit status 1 if
      FILE is invalid or differs from REF.
      --reference REF  also require the same tensor names, dtypes, shapes and
                       bit-identical data as the safetensors file REF (the
                       metadata may differ); the first differing elements of
                       each tensor are printed
      --torch          also build every tensor in torch (needs python3-torch)
                       and, if the names are those of tools/golden/checkpoint.py's
                       model, load them into it with load_state_dict(strict=True)
                       and compare its eval output on that fixture's input
  /usr/bin/python3 tools/safetensors_check.py selftest
      proves the validator refuses malformed files (one mutation per rule)
      and accepts valid edge cases (ctest: safetensors_check_selftest)

In ctest, `safetensors_python_reader` (tests/check_safetensors_python.cmake)
has polygrad save real nn::Linear / nn::BatchNorm1d modules loaded from
tests/fixtures/checkpoint_torch_model.safetensors (written by PyTorch's side,
tools/golden/checkpoint.py) and runs `check` on polygrad's file with
--reference the torch-written one.
"""
import json
import math
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

MAX_HEADER = 100_000_000
# dtype -> (element size, struct format or None when struct cannot decode it).
# In the safetensors package's order (its writer sorts by it, descending).
DTYPES = {
    "BOOL": (1, "?"), "U8": (1, "B"), "I8": (1, "b"), "F8_E5M2": (1, None),
    "F8_E4M3": (1, None), "I16": (2, "h"), "U16": (2, "H"), "F16": (2, "e"),
    "BF16": (2, None), "I32": (4, "i"), "U32": (4, "I"), "F32": (4, "f"), "F64": (8, "d"),
    "I64": (8, "q"), "U64": (8, "Q"),
}
DTYPE_RANK = {d: i for i, d in enumerate(DTYPES)}


class FormatError(Exception):
    pass


class Entry:
    def __init__(self, name, dtype, shape, begin, end):
        self.name, self.dtype, self.shape, self.begin, self.end = name, dtype, shape, begin, end

    @property
    def numel(self):
        n = 1
        for d in self.shape:
            n *= d
        return n


class SafeTensorsFile:
    """A validated file: header_len, metadata (dict), entries (list of Entry
    in data-offset order), data (bytes of the data section), warnings."""

    def __init__(self, header_len, metadata, entries, data, warnings):
        self.header_len, self.metadata, self.entries = header_len, metadata, entries
        self.data, self.warnings = data, warnings

    def raw(self, e):
        return self.data[e.begin:e.end]

    def values(self, e, limit=None):
        """The first `limit` elements of e as Python numbers (all if None)."""
        n = e.numel if limit is None else min(limit, e.numel)
        return decode(e.dtype, self.raw(e), n)


def decode(dtype, raw, n):
    size, fmt = DTYPES[dtype]
    if fmt is not None:
        return list(struct.unpack_from(f"<{n}{fmt}", raw))
    if dtype == "BF16":  # the top half of a float32
        return [struct.unpack("<f", b"\0\0" + raw[2 * i:2 * i + 2])[0] for i in range(n)]
    return list(raw[:n])  # FP8: raw bytes


def _is_uint(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _no_duplicates(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise FormatError(f"duplicate key '{k}' in the header")
        d[k] = v
    return d


def _no_constant(c):
    raise FormatError(f"non-JSON constant {c} in the header")


def parse_bytes(buf, where="<bytes>"):
    """Validates a whole file held in memory; raises FormatError."""
    def fail(msg):
        raise FormatError(f"{where}: {msg}")

    if len(buf) < 8:
        fail(f"{len(buf)} bytes, too short for the 8-byte header length")
    (n,) = struct.unpack("<Q", buf[:8])
    if n > MAX_HEADER:
        fail(f"header length {n} exceeds the {MAX_HEADER}-byte limit")
    if 8 + n > len(buf):
        fail(f"header length {n} exceeds the {len(buf) - 8} bytes after the length field")
    try:
        text = buf[8:8 + n].decode("utf-8")
    except UnicodeDecodeError as e:
        fail(f"header is not UTF-8: {e}")
    if not text.startswith("{"):
        fail("header does not start with '{'")
    if text.rstrip(" ") != text.rstrip():
        fail("header padding must be spaces (0x20)")
    try:
        head = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except FormatError as e:
        fail(str(e))
    except ValueError as e:
        fail(f"header is not valid JSON: {e}")
    if not isinstance(head, dict):
        fail("header is not a JSON object")
    data = buf[8 + n:]
    meta = head.pop("__metadata__", {})
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        fail("__metadata__ must be an object of strings")
    entries, warnings = [], []
    for name, e in head.items():
        at = f"tensor '{name}'"
        if not name:
            fail("empty tensor name")
        if not isinstance(e, dict):
            fail(f"{at}: entry is not an object")
        if set(e) != {"dtype", "shape", "data_offsets"}:
            fail(f"{at}: fields {sorted(e)}, expected dtype, shape, data_offsets")
        if e["dtype"] not in DTYPES:
            fail(f"{at}: unknown dtype {e['dtype']!r} (valid: {', '.join(DTYPES)})")
        shape, off = e["shape"], e["data_offsets"]
        if not isinstance(shape, list) or not all(_is_uint(d) for d in shape):
            fail(f"{at}: shape {shape!r} is not a list of non-negative integers")
        if not isinstance(off, list) or len(off) != 2 or not all(_is_uint(o) for o in off):
            fail(f"{at}: data_offsets {off!r} is not [begin, end] of non-negative integers")
        entries.append(Entry(name, e["dtype"], shape, off[0], off[1]))
    # As the package: sorted by offsets, each tensor starts where the previous
    # one ended, is sized by its shape, and the last one ends the file.
    entries.sort(key=lambda x: (x.begin, x.end))
    pos = 0
    for x in entries:
        at = f"tensor '{x.name}': data_offsets [{x.begin}, {x.end}]"
        if x.end < x.begin:
            fail(f"{at}: end before begin")
        if x.begin < pos:
            fail(f"{at} overlap the previous tensor (which ends at {pos})")
        if x.begin > pos:
            fail(f"{at} leave a hole: bytes [{pos}, {x.begin}) belong to no tensor")
        size = DTYPES[x.dtype][0]
        if x.end - x.begin != x.numel * size:
            fail(f"{at}: {x.end - x.begin} bytes, but shape {x.shape} of {x.dtype} "
                 f"needs {x.numel * size}")
        if x.begin % size:
            warnings.append(f"tensor '{x.name}' is not aligned to its {size}-byte elements "
                            "(valid safetensors, but polygrad's loader refuses it)")
        pos = x.end
    if pos != len(data):
        fail(f"the data section has {len(data)} bytes but the tensors cover {pos} "
             f"({'trailing bytes' if pos < len(data) else 'truncated'})")
    return SafeTensorsFile(n, meta, entries, data, warnings)


def read(path):
    with open(path, "rb") as f:
        return parse_bytes(f.read(), path)


def serialize(tensors, metadata=None):
    """tensors: list of (name, dtype, shape, raw little-endian bytes). Returns
    the file's bytes, laid out as the safetensors package's writer does: by
    dtype rank descending (so every tensor is aligned), then by name; header
    padded with spaces to a multiple of 8."""
    items = sorted(tensors, key=lambda t: (-DTYPE_RANK[t[1]], t[0]))
    header, off = {}, 0
    if metadata:
        header["__metadata__"] = dict(metadata)
    for name, dtype, shape, raw in items:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [off, off + len(raw)]}
        off += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(t[3] for t in items)


def write(path, tensors, metadata=None):
    buf = serialize(tensors, metadata)
    parse_bytes(buf, path)  # never write what the reader would refuse
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(buf)
    os.replace(tmp, path)


# ------------------------------------------------------------------ check --

def _fmt_shape(shape):
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def compare(f, ref):
    """Differences between two validated files' tensors (metadata ignored)."""
    problems = []
    a = {e.name: e for e in f.entries}
    b = {e.name: e for e in ref.entries}
    for name in sorted(set(b) - set(a)):
        problems.append(f"missing tensor '{name}' (in the reference)")
    for name in sorted(set(a) - set(b)):
        problems.append(f"unexpected tensor '{name}' (not in the reference)")
    for name in sorted(set(a) & set(b)):
        x, y = a[name], b[name]
        if (x.dtype, x.shape) != (y.dtype, y.shape):
            problems.append(f"'{name}': {x.dtype} {_fmt_shape(x.shape)}, reference "
                            f"{y.dtype} {_fmt_shape(y.shape)}")
            continue
        if f.raw(x) == ref.raw(y):
            continue
        size = DTYPES[x.dtype][0]
        rx, ry = f.raw(x), ref.raw(y)
        bad = [i for i in range(x.numel) if rx[i * size:(i + 1) * size] != ry[i * size:(i + 1) * size]]
        vx, vy = f.values(x), ref.values(y)
        shown = ", ".join(f"[{i}] {vx[i]!r} vs {vy[i]!r}" for i in bad[:4])
        problems.append(f"'{name}': {len(bad)} of {x.numel} elements differ: {shown}")
    return problems


def torch_check(f):
    """Builds every tensor in torch; if the names are checkpoint.py's model's,
    loads them strictly and compares the eval output with the fixture's."""
    try:
        import torch
    except ImportError:
        raise SystemExit("--torch needs python3-torch (Debian) for /usr/bin/python3")
    dt = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16,
          "BF16": torch.bfloat16, "I64": torch.int64, "I32": torch.int32, "I16": torch.int16,
          "I8": torch.int8, "U8": torch.uint8, "BOOL": torch.bool}
    sd = {}
    for e in f.entries:
        if e.dtype not in dt:
            print(f"  torch: skipping '{e.name}' ({e.dtype} has no torch 1.13 dtype)")
            continue
        raw = bytearray(f.raw(e))  # writable: frombuffer warns on read-only memory
        t = torch.frombuffer(raw, dtype=dt[e.dtype]) if raw else torch.empty(0, dtype=dt[e.dtype])
        sd[e.name] = t.reshape(e.shape).clone()
    print(f"  torch: built {len(sd)} tensors")
    sys.path.insert(0, os.path.join(HERE, "golden"))
    import checkpoint
    model = checkpoint.make_model()
    if sorted(sd) != sorted(model.state_dict()):
        print("  torch: names differ from tools/golden/checkpoint.py's model; not loaded")
        return []
    model.load_state_dict(sd, strict=True)
    model.eval()
    x, y = checkpoint.reference_io()
    with torch.no_grad():
        out = model(x)
    err = (out.double() - y.double()).abs().max().item()
    print(f"  torch: loaded into checkpoint.py's model (strict); eval output vs the fixture's: "
          f"max |diff| {err:.3g}")
    return [] if err <= 1e-5 else [f"torch eval output differs from the fixture's by {err:.3g}"]


def cmd_check(path, ref_path, use_torch):
    try:
        f = read(path)
        ref = read(ref_path) if ref_path else None
    except (FormatError, OSError) as e:
        print(f"INVALID: {e}")
        return 1
    print(f"{path}: valid safetensors: header {f.header_len} bytes, data {len(f.data)} bytes, "
          f"{len(f.entries)} tensors")
    print(f"  metadata: {json.dumps(f.metadata, sort_keys=True)}")
    for e in f.entries:
        print(f"  {e.name:<40} {e.dtype:<7} {_fmt_shape(e.shape):<14} [{e.begin}, {e.end})")
    for w in f.warnings:
        print(f"  warning: {w}")
    problems = []
    if ref is not None:
        problems = compare(f, ref)
        if not problems:
            print(f"  matches {ref_path}: same names, dtypes, shapes and bit-identical data")
    if use_torch:
        problems += torch_check(f)
    for p in problems:
        print(f"MISMATCH: {p}")
    return 1 if problems else 0


# --------------------------------------------------------------- selftest --

def cmd_selftest():
    """Each malformed variant of a valid file must be refused with its own
    message, and each valid edge case accepted."""
    f32 = struct.pack("<3f", 1.0, -2.5, math.inf)
    i64 = struct.pack("<q", -7)
    good = [("w", "F32", [3], f32), ("n", "I64", [], i64)]

    def with_header(header, data, pad=b""):
        text = json.dumps(header, separators=(",", ":")).encode() + pad
        return struct.pack("<Q", len(text)) + text + data

    base = {"n": {"dtype": "I64", "shape": [], "data_offsets": [0, 8]},
            "w": {"dtype": "F32", "shape": [3], "data_offsets": [8, 20]}}

    def variant(**changes):
        h = json.loads(json.dumps(base))
        for k, v in changes.items():
            name, field = k.split("__")
            h[name][field] = v
        return with_header(h, i64 + f32)

    bad = {
        "too short": (b"\x08\0\0", "too short"),
        "header too long": (struct.pack("<Q", 1 << 40) + b"{}", "limit"),
        "header past the end": (struct.pack("<Q", 64) + b"{}      ", "exceeds"),
        "not UTF-8": (struct.pack("<Q", 2) + b"{\xff", "UTF-8"),
        "not starting with {": (struct.pack("<Q", 8) + b" {}     ", "start"),
        "not JSON": (struct.pack("<Q", 8) + b"{'a':1} ", "JSON"),
        "not an object": (struct.pack("<Q", 8) + b"[1,2]   ", "start"),
        "duplicate key": (struct.pack("<Q", 16) + b'{"a":1,"a":2}   ', "duplicate"),
        "NaN constant": (struct.pack("<Q", 16) + b'{"a":NaN}       ', "constant"),
        "padding not spaces": (with_header(base, i64 + f32, b"\n\t"), "padding"),
        "metadata not strings": (with_header(dict(base, __metadata__={"k": 1}), i64 + f32),
                                 "__metadata__"),
        "unknown dtype": (variant(n__dtype="I128"), "unknown dtype"),
        "unknown field": (variant(n__offsets=[0, 8]), "fields"),
        "bool in shape": (variant(w__shape=[True, 3]), "shape"),
        "float in shape": (variant(w__shape=[3.0]), "shape"),
        "negative dim": (variant(w__shape=[-3]), "shape"),
        "three offsets": (variant(w__data_offsets=[8, 20, 20]), "data_offsets"),
        "end before begin": (variant(w__data_offsets=[20, 8]), "end before begin"),
        "size vs shape": (variant(w__shape=[2]), "needs"),
        "overlap": (variant(w__data_offsets=[4, 16]), "overlap"),
        "hole": (variant(w__data_offsets=[12, 24]), "hole"),
        "trailing bytes": (with_header(base, i64 + f32 + b"\0\0\0\0"), "trailing"),
        "truncated data": (with_header(base, i64 + f32[:-4]), "truncated"),
        "empty name": (with_header(dict(base, **{"": base["n"]}), i64 + f32), "empty"),
    }
    failures = 0
    for what, (buf, needle) in bad.items():
        try:
            parse_bytes(buf, "f")  # not `what`: the message must name the rule itself
            print(f"selftest: NOT REFUSED: {what}")
            failures += 1
        except FormatError as e:
            if needle.lower() not in str(e).lower():
                print(f"selftest: {what}: refused for the wrong reason: {e}")
                failures += 1
    valid = {
        "empty": serialize([]),
        "metadata only": serialize([], {"format": "pt"}),
        "the writer's layout": serialize(good, {"format": "pt"}),
        "every dtype": serialize([(f"t_{d}", d, [2], bytes(2 * DTYPES[d][0])) for d in DTYPES]),
        "zero-size tensors": serialize([("z", "F32", [0, 4], b""), ("e", "I64", [3, 0], b"")]),
        "any order in the header": with_header(dict(reversed(list(base.items()))), i64 + f32),
    }
    for what, buf in valid.items():
        try:
            f = parse_bytes(buf, what)
        except FormatError as e:
            print(f"selftest: valid file refused: {e}")
            failures += 1
            continue
        if f.warnings:
            print(f"selftest: {what}: unexpected warnings {f.warnings}")
            failures += 1
    f = parse_bytes(valid["the writer's layout"])
    got = {e.name: f.values(e) for e in f.entries}
    if got != {"w": [1.0, -2.5, math.inf], "n": [-7]} or [e.name for e in f.entries] != ["n", "w"]:
        print(f"selftest: decoded {got}")
        failures += 1
    # A misaligned (but valid) file: warned about, not refused.
    f = parse_bytes(with_header({"b": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]},
                                 "w": {"dtype": "F32", "shape": [1], "data_offsets": [1, 5]}},
                                b"\1" + f32[:4]))
    if len(f.warnings) != 1:
        print(f"selftest: misaligned file: warnings {f.warnings}")
        failures += 1
    # compare() sees a swap of two same-shaped tensors' data.
    a = parse_bytes(serialize([("p", "F32", [1], f32[:4]), ("q", "F32", [1], f32[4:8])]))
    b = parse_bytes(serialize([("p", "F32", [1], f32[4:8]), ("q", "F32", [1], f32[:4])]))
    if len(compare(a, b)) != 2 or compare(a, a):
        print("selftest: compare() missed a swap")
        failures += 1
    total = len(bad) + len(valid) + 3
    print(f"selftest: {total - failures} of {total} checks passed")
    return 1 if failures else 0


def main():
    args = sys.argv[1:]
    if args[:1] == ["selftest"] and len(args) == 1:
        sys.exit(cmd_selftest())
    if args[:1] == ["check"] and len(args) >= 2:
        path, ref, use_torch, rest = None, None, False, args[1:]
        while rest:
            a = rest.pop(0)
            if a == "--reference" and rest:
                ref = rest.pop(0)
            elif a == "--torch":
                use_torch = True
            elif not a.startswith("--") and path is None:
                path = a
            else:
                path = None
                break
        if path:
            sys.exit(cmd_check(path, ref, use_torch))
    print(__doc__)
    sys.exit(2)


if __name__ == "__main__":
    main()
