#!/usr/bin/python3
"""PyTorch side of the loss benchmark (bench/run_loss_bench.sh runs it next to
bench/loss_bench.cpp and prints the side-by-side table).

    /usr/bin/python3 bench/loss_bench.py [--sizes 65536x10,4096x1000] [--threads 1,2]
                                         [--reps 7] [--min-time 0.2] [--losses ce,poly1,...]

Variants (eps = 1, gamma = 2, alpha = 0.25, as /work/shared/baseline/torch_losses.py):
  ce                   F.cross_entropy(x, y)
  poly1                the composed Poly-1 CE of the PolyLoss references:
                       F.cross_entropy(x, y, reduction='none') + eps * (1 - softmax(x, 1).gather(1, y)), mean
  focal                logpt = log_softmax(x, 1).gather(1, y); -(1 - exp(logpt))**gamma * logpt, mean
  poly1_focal          focal + eps * (1 - pt)**(gamma + 1), mean
  sigmoid_focal        torchvision.ops.sigmoid_focal_loss written out on one_hot(y) targets
  poly1_sigmoid_focal  the same + eps * (1 - p_t)**(gamma + 1)
(the sigmoid variants take the one-hot float targets prepared outside the timed
call, as the polygrad side does). A size NxC is an (N, C) input, NxCxd1x...xdk a
K-dimensional one (N, C, d1, ..., dk) with labels (N, d1, ..., dk): F.cross_entropy
takes it as it is, the composed losses gather along the class dimension 1.

Timed call: loss = fn(x, y); torch.autograd.grad(loss, x). Method as BASELINE.md
section 4: per size, --reps rounds; in each round every thread count
(torch.set_num_threads) and then every variant in turn; a measurement is 3
warm-up calls, then calls until >= --min-time seconds. malloc tuned with
mallopt(M_MMAP_MAX=0, M_TRIM_THRESHOLD=1 GiB): with glibc's defaults every
tensor above 128 KiB is a fresh mmap whose page faults cost more than the loss.

Output: "RESULT torch <N>x<C> <threads> <loss> <us>" per measurement.
"""
import argparse
import ctypes
import statistics
import time

import torch
import torch.nn.functional as F

EPS, GAMMA, ALPHA = 1.0, 2.0, 0.25


def ce(x, y, t):
    return F.cross_entropy(x, y)


def _at_label(v, y):  # v[n, y[n, ...], ...]: the class dimension is 1
    return v.gather(1, y.unsqueeze(1)).squeeze(1)


def poly1(x, y, t):
    pt = _at_label(F.softmax(x, dim=1), y)
    return (F.cross_entropy(x, y, reduction="none") + EPS * (1 - pt)).mean()


def focal(x, y, t):
    logpt = _at_label(F.log_softmax(x, dim=1), y)
    pt = logpt.exp()
    return (-((1 - pt) ** GAMMA) * logpt).mean()


def poly1_focal(x, y, t):
    logpt = _at_label(F.log_softmax(x, dim=1), y)
    pt = logpt.exp()
    return (-((1 - pt) ** GAMMA) * logpt + EPS * (1 - pt) ** (GAMMA + 1)).mean()


def _sigmoid_focal_terms(x, t):
    p = torch.sigmoid(x)
    ce_loss = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    p_t = p * t + (1 - p) * (1 - t)
    loss = ce_loss * ((1 - p_t) ** GAMMA)
    alpha_t = ALPHA * t + (1 - ALPHA) * (1 - t)
    return alpha_t * loss, p_t


def sigmoid_focal(x, y, t):
    return _sigmoid_focal_terms(x, t)[0].mean()


def poly1_sigmoid_focal(x, y, t):
    loss, p_t = _sigmoid_focal_terms(x, t)
    return (loss + EPS * (1 - p_t) ** (GAMMA + 1)).mean()


VARIANTS = {"ce": ce, "poly1": poly1, "focal": focal, "poly1_focal": poly1_focal,
            "sigmoid_focal": sigmoid_focal, "poly1_sigmoid_focal": poly1_sigmoid_focal}


def measure(fn, x, y, t, min_time):
    for _ in range(3):
        torch.autograd.grad(fn(x, y, t), x)
    n = 0
    t0 = time.perf_counter()
    while True:
        torch.autograd.grad(fn(x, y, t), x)
        n += 1
        el = time.perf_counter() - t0
        if el >= min_time:
            return el / n * 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="65536x10,4096x1000")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--min-time", type=float, default=0.2)
    ap.add_argument("--losses", default="ce,poly1,focal,poly1_focal")
    args = ap.parse_args()
    libc = ctypes.CDLL("libc.so.6")
    assert libc.mallopt(-4, 0) and libc.mallopt(-1, 1 << 30)  # M_MMAP_MAX=0, M_TRIM_THRESHOLD=1 GiB
    threads = [int(v) for v in args.threads.split(",")]
    keys = args.losses.split(",")
    for k in keys:
        if k not in VARIANTS:
            ap.error(f"unknown loss {k}; valid: {', '.join(VARIANTS)}")
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    assert all(len(s) >= 2 for s in sizes), "a size is NxC or NxCxd1x...xdk"
    print(f"# torch {torch.__version__} loss_bench.py: reps={args.reps}, min-time={args.min_time}s",
          flush=True)
    for shape in sizes:
        C, name = shape[1], "x".join(str(d) for d in shape)
        torch.manual_seed(0)
        x = torch.randn(*shape, requires_grad=True)
        y = torch.randint(0, C, shape[:1] + shape[2:])
        t = F.one_hot(y, C).movedim(-1, 1).float().contiguous()
        us = {}
        for _ in range(args.reps):
            for th in threads:
                torch.set_num_threads(th)
                for k in keys:
                    u = measure(VARIANTS[k], x, y, t, args.min_time)
                    us.setdefault((th, k), []).append(u)
                    print(f"RESULT torch {name} {th} {k} {u:.2f}", flush=True)
        for k in keys:
            cols = " | ".join(f"{th}t {statistics.median(us[(th, k)]):9.1f} us" for th in threads)
            print(f"# {name} {k:22s} | {cols}")


if __name__ == "__main__":
    main()
