#!/usr/bin/env python3
"""Exact resume (issue 15): a training run killed with SIGKILL after its
epoch-2 training state was saved, then resumed with --resume, ends with
bitwise the same weights and the same metrics.csv as the uninterrupted run,
with Dropout and augmentation on (so the global RNG, the optimizer, the
schedule and the data order must all be restored). Also: resuming with other
flags, or from a file that is not a training state, is a clear error.

  check_resume.py --bin BUILD_DIR

metrics.csv is compared without its timing columns (seconds,
images_per_sec), which differ between any two runs. A few seconds: the mlp
on 512 of the embedded digits, 5 epochs of batch 64, one thread.
"""
import argparse
import csv
import os
import shutil
import signal
import subprocess
import sys
import tempfile

TIMING = {"seconds", "images_per_sec"}


def metrics(path):
    with open(path) as f:
        return [{k: v for k, v in row.items() if k not in TIMING} for row in csv.DictReader(f)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True, help="folder of the built programs")
    args = ap.parse_args()
    prog = os.path.join(os.path.abspath(args.bin), "mnist_train")
    tmp = tempfile.mkdtemp(prefix="pg_resume_")
    failures = []
    common = [prog, "--model", "mlp", "--dropout", "0.3", "--augment", "on", "--limit-train", "512",
              "--epochs", "5", "--batch-size", "64", "--threads", "1", "--seed", "3",
              "--optimizer", "adam", "--schedule", "cosine", "--warmup-epochs", "1"]

    def run(name, argv, status, *needles):
        p = subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=tmp)
        ok = p.returncode == status and all(n in p.stdout + p.stderr for n in needles)
        last = p.stderr.strip().splitlines()[-1] if p.stderr.strip() else ""
        print(f"{'ok  ' if ok else 'FAIL'} {name}: exit {p.returncode} (want {status}) {last[:200]}")
        if not ok:
            failures.append(f"{name}: {' '.join(argv)}\n  exit {p.returncode}, want {status}, "
                            f"must contain {needles!r}\n  stdout: {p.stdout[-1500:]}\n"
                            f"  stderr: {p.stderr[-1500:]}")
        return p

    # 1. the uninterrupted run
    ref = f"{tmp}/ref"
    run("uninterrupted run", common + ["--out", ref, "--save", f"{ref}/w.safetensors"], 0)

    # 2. the same run, killed (SIGKILL) once its epoch-2 state is on disk
    cut = f"{tmp}/cut"
    ckpt = f"{cut}/checkpoint.safetensors"
    argv = common + ["--out", cut, "--save", f"{cut}/w.safetensors", "--checkpoint-every", "2"]
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                             cwd=tmp)
    killed_after = None
    for line in child.stdout:
        if line.startswith("saved the training state after epoch 2 "):
            child.send_signal(signal.SIGKILL)
            killed_after = line.strip()
            break
    child.stdout.close()
    rc = child.wait(timeout=300)
    print(f"{'ok  ' if rc == -signal.SIGKILL else 'FAIL'} killed run: exit {rc} after '{killed_after}'")
    if rc != -signal.SIGKILL or killed_after is None:
        failures.append(f"the run was not killed after epoch 2 (exit {rc}, line {killed_after!r})")
    if os.path.exists(f"{cut}/w.safetensors"):
        failures.append("the killed run got to the end (it wrote --save)")

    # 3. resumed: same flags, ends as the uninterrupted run
    run("resumed run", argv + ["--resume", ckpt], 0, "resumed from", "after epoch 2 (step 16)")
    for name in ("w.safetensors",):
        a, b = f"{ref}/{name}", f"{cut}/{name}"
        if not (os.path.exists(a) and os.path.exists(b)) or open(a, "rb").read() != open(b, "rb").read():
            failures.append(f"{name}: the resumed run's final weights differ from the uninterrupted run's")
        else:
            print(f"ok   final weights bitwise equal ({os.path.getsize(a)} bytes)")
    if os.path.exists(f"{ref}/metrics.csv") and os.path.exists(f"{cut}/metrics.csv"):
        m_ref, m_cut = metrics(f"{ref}/metrics.csv"), metrics(f"{cut}/metrics.csv")
        if m_ref != m_cut or len(m_ref) != 5:
            failures.append(f"metrics.csv differs:\n  uninterrupted {m_ref}\n  resumed       {m_cut}")
        else:
            print(f"ok   metrics.csv equal ({len(m_ref)} epochs, without the timing columns)")
    else:
        failures.append("metrics.csv missing")

    run("evaluate the resumed weights", [os.path.join(os.path.dirname(prog), "evaluate"), "--model", "mlp",
                                         "--dropout", "0.3", "--checkpoint", f"{cut}/w.safetensors"], 0,
        "checkpoint dropout: 0.3")

    # 4. wrong resumes are clear errors (status 1, naming the file and the flag)
    run("resume with another --lr", argv + ["--resume", ckpt, "--lr", "0.01"], 1,
        "mnist_train: error: --resume", "--lr 0.002", "(this run: 0.01)",
        "resume with the flags of the run that wrote it")
    run("resume with another --model", argv + ["--resume", ckpt, "--model", "cnn"], 1,
        "--model mlp (this run: cnn)")
    run("resume from a weights file", argv + ["--resume", f"{ref}/w.safetensors"], 1,
        "w.safetensors: not a training state")
    run("resume from a missing file", argv + ["--resume", f"{tmp}/none.safetensors"], 1,
        "none.safetensors")
    run("--checkpoint-every without a place", [prog, "--out", "", "--checkpoint-every", "1"], 2,
        "--checkpoint-every needs --checkpoint PATH or --out DIR")

    shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print("\n" + "\n\n".join(failures), file=sys.stderr)
        return 1
    print("a killed and resumed run ends bitwise as the uninterrupted one")
    return 0


if __name__ == "__main__":
    sys.exit(main())
