#!/usr/bin/env python3
"""Runs every example program against each class of bad input (issue 15) and
checks its exit status and a piece of its message: no program may end in
std::terminate (134) or a crash, and every error names the file or value.
Also: a diverging run stops at its first non-finite loss, naming the epoch and
step (and, under --detect-anomaly, the op that made the first NaN/Inf).

  check_programs.py --bin BUILD_DIR --fixtures tests/fixtures/reliability

Exit statuses (examples/common/program.h): 0 success, 1 runtime error
("PROGRAM: error: ..."), 2 bad usage (the message, then the usage).
The inputs are tiny files written to a temporary folder; the runs that train
use 8 digits and one epoch, so the whole check takes seconds.
"""
import argparse
import gzip
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib


def idx_images(count, rows, cols, pixels, magic=0x803):
    return struct.pack(">IIII", magic, count, rows, cols) + bytes(pixels)


def idx_labels(count, labels, magic=0x801):
    return struct.pack(">II", magic, count) + bytes(labels)


def png(w, h, grey):
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\0" + bytes([grey]) * (3 * w) for _ in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def mnist_dir(root, n=8, images=None, labels=None, gz=False):
    """A tiny MNIST folder: n digits of 28x28 for train and test."""
    images = images if images is not None else idx_images(n, 28, 28, [(i * 7) % 256 for i in range(n * 784)])
    labels = labels if labels is not None else idx_labels(n, [i % 10 for i in range(n)])
    suffix = ".gz" if gz else ""
    pack = gzip.compress if gz else (lambda b: b)
    for split in ("train", "t10k"):
        write(f"{root}/{split}-images-idx3-ubyte{suffix}", pack(images))
        write(f"{root}/{split}-labels-idx1-ubyte{suffix}", pack(labels))
    return root


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True, help="folder of the built programs")
    ap.add_argument("--fixtures", required=True, help="tests/fixtures/reliability")
    args = ap.parse_args()
    args.bin = os.path.abspath(args.bin)
    tmp = tempfile.mkdtemp(prefix="pg_programs_")
    failures = []

    def run(name, argv, status, *needles):
        cmd = [os.path.join(args.bin, argv[0])] + argv[1:]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp)
        except subprocess.TimeoutExpired:
            failures.append(f"{name}: timed out: {' '.join(cmd)}")
            return
        err = p.stderr
        if status == 1:  # run_program's form
            needles = (f"{argv[0]}: error: ",) + needles
        ok = p.returncode == status and all(n in err for n in needles)
        last = err.strip().splitlines()[-1] if err.strip() else ""
        print(f"{'ok  ' if ok else 'FAIL'} {name}: exit {p.returncode} (want {status}): {last[:160]}")
        if not ok:
            failures.append(f"{name}: {' '.join(cmd)}\n  exit {p.returncode}, want {status}, "
                            f"stderr must contain {needles!r}\n  stderr: {err[-1500:]}")

    good = mnist_dir(f"{tmp}/good")
    huge_gif = open(os.path.join(args.fixtures, "huge_header.gif"), "rb").read()
    fast = ["--epochs", "1", "--batch-size", "4", "--threads", "1"]

    # --- the good path works end to end (8 digits, one epoch); its checkpoint
    # lets evaluate reach the data ---
    ck = f"{tmp}/out/m.safetensors"
    os.makedirs(f"{tmp}/out")
    run("mnist_train / good run", ["mnist_train", "--data", good, "--model", "mlp", "--out",
                                   f"{tmp}/out/run", "--save", ck] + fast, 0)
    if not os.path.exists(ck) or not os.path.exists(f"{tmp}/out/run/metrics.csv"):
        failures.append("mnist_train / good run: no checkpoint or metrics.csv written")
    leftovers = [f for f in os.listdir(f"{tmp}/out") + os.listdir(f"{tmp}/out/run") if ".probe." in f]
    if leftovers:
        failures.append(f"probe files left behind: {leftovers}")
    run("evaluate / good run", ["evaluate", "--model", "mlp", "--checkpoint", ck, "--data", good], 0)
    run("evaluate / checkpoint of another model", ["evaluate", "--model", "cnn", "--checkpoint", ck,
                                                   "--data", good], 1, "m.safetensors")

    # --- bad data, one folder per class (train split files: read first) ---
    bad = {}
    bad["truncated IDX"] = mnist_dir(f"{tmp}/trunc", images=idx_images(8, 28, 28, [0] * 1000))
    bad["empty IDX"] = mnist_dir(f"{tmp}/empty", images=b"")
    bad["swapped IDX"] = mnist_dir(f"{tmp}/swapped", images=idx_labels(8, [0] * 8),
                                   labels=idx_images(8, 28, 28, [0] * 8 * 784))
    bad["label out of range"] = mnist_dir(f"{tmp}/label", labels=idx_labels(8, [0, 1, 2, 3, 4, 5, 6, 10]))
    gz = bytearray(gzip.compress(idx_images(8, 28, 28, [(i * 13) % 256 for i in range(8 * 784)])))
    gz[len(gz) // 2] ^= 0xFF
    bad["corrupt IDX gzip"] = mnist_dir(f"{tmp}/gz", gz=True)
    write(f"{tmp}/gz/train-images-idx3-ubyte.gz", bytes(gz))
    write(f"{tmp}/gz/t10k-images-idx3-ubyte.gz", bytes(gz))
    write(f"{tmp}/cifar/data_batch_1.bin", bytes([1]) + bytes(3072) + bytes([2]) + bytes(100))
    write(f"{tmp}/cifar/test_batch.bin", bytes([1]) + bytes(3000))
    bad["truncated CIFAR"] = f"{tmp}/cifar"
    write(f"{tmp}/img_oom/train/a/x.gif", huge_gif)
    write(f"{tmp}/img_oom/test/a/x.gif", huge_gif)
    bad["huge image header"] = f"{tmp}/img_oom"
    messages = {
        "truncated IDX": ("train-images-idx3-ubyte", "truncated"),
        "empty IDX": ("train-images-idx3-ubyte", "truncated"),
        "swapped IDX": ("train-images-idx3-ubyte", "bad magic"),
        "label out of range": ("train-labels-idx1-ubyte", "label 10 at index 7 is out of range, valid labels are 0..9"),
        "corrupt IDX gzip": ("train-images-idx3-ubyte.gz",),
        "truncated CIFAR": ("data_batch_1.bin", "not a whole number of 3073-byte records"),
        "huge image header": ("x.gif", "image too large"),
    }
    for prog in ("mnist_train", "cifar10_train"):
        for cls, d in bad.items():
            run(f"{prog} / {cls}", [prog, "--data", d] + fast, 1, *messages[cls])
    test_file = {"truncated CIFAR": ("test_batch.bin",), "huge image header": ("test/a/x.gif",)}
    for cls, d in bad.items():
        run(f"evaluate / {cls}", ["evaluate", "--model", "mlp", "--checkpoint", ck, "--data", d], 1,
            *test_file.get(cls, (messages[cls][0].replace("train", "t10k"),) + messages[cls][1:]))

    # --- data that does not fit the model ---
    run("cifar10_train / MNIST data", ["cifar10_train", "--data", good] + fast, 1,
        "does not fit --model cifar-cnn", "1x28x28")
    for k in range(11):
        write(f"{tmp}/many/train/c{k:02d}/0.png", png(32, 32, 10 * k))
        write(f"{tmp}/many/test/c{k:02d}/0.png", png(32, 32, 10 * k))
    run("cifar10_train / 11 classes", ["cifar10_train", "--data", f"{tmp}/many"] + fast, 1,
        "in 11 classes", "at most 10 classes")

    # --- flags: loss kinds, unwritable outputs ---
    for prog in ("mnist_train", "cifar10_train"):
        run(f"{prog} / --loss mse", [prog, "--data", good, "--loss", "mse"] + fast, 2,
            "'mse' is a regression loss", "valid: cross_entropy")
        run(f"{prog} / --loss bce", [prog, "--data", good, "--loss", "bce_with_logits"] + fast, 2,
            "sigmoid loss")
        run(f"{prog} / --out /dev/null/x", [prog, "--data", good, "--out", "/dev/null/x"] + fast, 1,
            "--out /dev/null/x: cannot create the folder")
        run(f"{prog} / --save in a missing folder",
            [prog, "--data", good, "--save", f"{tmp}/no/such/m.safetensors"] + fast, 1,
            f"--save {tmp}/no/such/m.safetensors: the folder", "does not exist")
        run(f"{prog} / --save in /proc", [prog, "--data", good, "--save", "/proc/m.safetensors"] + fast,
            1, "--save /proc/m.safetensors: cannot write there")
        run(f"{prog} / --save a folder", [prog, "--data", good, "--save", tmp] + fast, 1,
            "is a folder")
        run(f"{prog} / unknown flag", [prog, "--bogus", "1"], 2, "unknown flag --bogus")
        run(f"{prog} / missing data folder", [prog, "--data", f"{tmp}/nope"], 2, f"{tmp}/nope")
    run("loss_explorer / --loss mse", ["loss_explorer", "--loss", "mse"], 2,
        "not a classification loss")
    run("loss_explorer / --out /dev/null/x/p", ["loss_explorer", "--out", "/dev/null/x/p",
                                                "--points", "10"], 1,
        "loss_explorer: error: --out /dev/null/x/p.csv")
    run("evaluate / missing checkpoint", ["evaluate", "--checkpoint", f"{tmp}/none.safetensors",
                                          "--data", good], 1, "none.safetensors")
    write(f"{tmp}/junk.safetensors", b"not a checkpoint at all")
    run("evaluate / corrupt checkpoint", ["evaluate", "--checkpoint", f"{tmp}/junk.safetensors",
                                          "--data", good], 1, "junk.safetensors")
    run("evaluate / no --checkpoint", ["evaluate"], 2, "--checkpoint is required")

    # --- a diverging run stops at its first non-finite loss (epoch and step,
    # and the hint); with --detect-anomaly at the first op that made one ---
    diverge = ["mnist_train", "--data", good, "--model", "mlp", "--optimizer", "sgd", "--lr", "1000",
               "--epochs", "5", "--batch-size", "2", "--threads", "1", "--out", ""]
    run("mnist_train / non-finite loss", diverge, 1, "the training loss is", "at epoch ", ", step ",
        " of 4 (optimizer step ", "rerun with --detect-anomaly")
    run("mnist_train / non-finite loss, --detect-anomaly", diverge + ["--detect-anomaly"], 1,
        "anomaly: the forward of ", "produced a non-finite output of shape", "forward op #")

    run("tensor_demo", ["tensor_demo"], 0)

    shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print("\n" + "\n\n".join(failures), file=sys.stderr)
        return 1
    print("all programs failed cleanly on every bad input")
    return 0


if __name__ == "__main__":
    sys.exit(main())
