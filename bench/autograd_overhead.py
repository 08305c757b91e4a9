#!/usr/bin/python3
"""PyTorch side of bench/autograd_overhead.cpp: the same 64-wide 3-layer MLP,

    h = relu(h @ W + b)   (x3, W [64, 64] as (in, out), b [64]);  loss = h.sum() (or mean)

one iteration = grads set to None, forward, backward; microseconds per iteration.
Run with Debian's interpreter (the one with torch): /usr/bin/python3 bench/autograd_overhead.py

Fairness settings (see /work/shared/baseline/BASELINE.md):
  * torch.set_num_threads(n) explicitly (torch defaults to 1 thread on this VM);
  * OpenBLAS (the BLAS torch calls for mm) sized through ctypes: thread spec "n:b" = torch n threads,
    OpenBLAS b threads. "2:1" is polygrad's policy (one OpenMP pool, BLAS single-threaded);
    "2:2" is what torch.set_num_threads(2) gives with OpenBLAS's default of all cores;
  * glibc malloc tuned with mallopt (no mmap'ed chunks, no trimming), so freed tensors are reused
    rather than re-faulted; polygrad's caching allocator does the same.
Besides the raw-op model ("torch") it times the idiomatic F.linear version ("torch-addmm": one fused
addmm per layer, W as (out, in)) for reference.

Output: CSV lines impl,phase,batch,threads,median_us,min_us,max_us (comments start with '#').
"""
import argparse
import ctypes
import statistics
import sys
import time

import torch
import torch.nn.functional as F


def tune_malloc():
    libc = ctypes.CDLL("libc.so.6")
    M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4
    ok = libc.mallopt(M_MMAP_MAX, 0) and libc.mallopt(M_TRIM_THRESHOLD, 1 << 30)
    assert ok, "mallopt failed"


try:
    _openblas = ctypes.CDLL("libopenblas.so.0")  # the instance torch's libblas.so.3 forwards to (Debian)
except OSError:
    _openblas = None


def set_threads(spec):
    t, _, b = spec.partition(":")
    torch.set_num_threads(int(t))
    if _openblas is not None:
        _openblas.openblas_set_num_threads(int(b or t))


def time_per_call(fn, min_time):
    fn()
    iters, batch = 0, 1
    t0 = time.perf_counter()
    while True:
        for _ in range(batch):
            fn()
        iters += batch
        el = time.perf_counter() - t0
        if el >= min_time:
            return el / iters
        per = el / iters
        batch = max(1, min(iters, int((min_time - el) / per / 4)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", default="1,128")
    ap.add_argument("--threads", default="1,2:1,2:2", help="thread specs torch[:openblas]")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--min-time", type=float, default=0.2)
    ap.add_argument("--reduce", default="sum", choices=["sum", "mean"])
    ap.add_argument("--malloc", default="tuned", choices=["tuned", "default"])
    args = ap.parse_args()
    if args.malloc == "tuned":
        tune_malloc()
    print(f"# autograd_overhead.py: torch {torch.__version__}, OpenBLAS via ctypes: "
          f"{'yes' if _openblas is not None else 'NO'}, malloc={args.malloc}, loss={args.reduce}, "
          f"rounds={args.rounds}, min-time={args.min_time}s")
    print("impl,phase,batch,threads,median_us,min_us,max_us")
    sys.stdout.flush()

    torch.manual_seed(0)
    W = [((torch.rand(64, 64) * 2 - 1) * 0.125).requires_grad_() for _ in range(3)]  # (in, out)
    b = [((torch.rand(64) * 2 - 1) * 0.125).requires_grad_() for _ in range(3)]
    Wt = [w.detach().t().contiguous().requires_grad_() for w in W]  # (out, in) for F.linear
    bt = [v.detach().clone().requires_grad_() for v in b]
    red = (lambda h: h.mean()) if args.reduce == "mean" else (lambda h: h.sum())

    def forward(x):
        h = x
        for l in range(3):
            h = torch.relu(torch.matmul(h, W[l]) + b[l])
        return red(h)

    def forward_addmm(x):
        h = x
        for l in range(3):
            h = torch.relu(F.linear(h, Wt[l], bt[l]))
        return red(h)

    def zero(params):
        for p in params:
            p.grad = None

    for B in [int(v) for v in args.batches.split(",")]:
        torch.manual_seed(1)
        x = torch.randn(B, 64)

        def step():
            zero(W + b)
            forward(x).backward()

        def step_addmm():
            zero(Wt + bt)
            forward_addmm(x).backward()

        def fwd():
            forward(x)

        def fwd_nograd():
            with torch.no_grad():
                forward(x)

        variants = [("torch", "fwd_bwd", step), ("torch", "fwd", fwd),
                    ("torch", "fwd_nograd", fwd_nograd), ("torch-addmm", "fwd_bwd", step_addmm)]
        for spec in args.threads.split(","):
            set_threads(spec)
            for impl, phase, fn in variants:
                us = [1e6 * time_per_call(fn, args.min_time) for _ in range(args.rounds)]
                print(f"{impl},{phase},{B},{spec},{statistics.median(us):.2f},{min(us):.2f},{max(us):.2f}")
                sys.stdout.flush()


if __name__ == "__main__":
    main()
