#!/usr/bin/python3
"""PyTorch side of bench/run_models_bench.sh: the reference models M1-M3 with the
same synthetic data and steps as bench/models_bench.cpp, at PyTorch's fastest
setting on this machine (BASELINE.md): torch.set_num_threads(n) set explicitly,
glibc malloc told not to trim or unmap (mallopt via ctypes), OpenBLAS at 1 thread
for the conv models and n threads for M1.

Output lines: RESULT pytorch <model> <train|infer> <threads> <img/s median> <min> <max>
"""
import argparse
import ctypes
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

B = 128


def tune_malloc():
    libc = ctypes.CDLL("libc.so.6")
    M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4
    libc.mallopt(M_MMAP_MAX, 0)
    libc.mallopt(M_TRIM_THRESHOLD, 1 << 30)


try:
    _openblas = ctypes.CDLL("libopenblas.so.0")
except OSError:
    _openblas = None


def model_for(name):
    if name == "m1":
        m = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                          nn.Linear(512, 10))
        return m, torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9), (1, 28, 28)
    if name == "m2":
        m = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))
        return m, torch.optim.Adam(m.parameters(), lr=1e-3), (1, 28, 28)

    def cbr(i, o):
        return [nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU()]
    m = nn.Sequential(*cbr(3, 64), *cbr(64, 64), nn.MaxPool2d(2), *cbr(64, 128), *cbr(128, 128), nn.MaxPool2d(2),
                      *cbr(128, 256), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4096, 10))
    return m, torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4), (3, 32, 32)


def time_per_call(fn, min_time):
    fn()
    n, t0 = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        el = time.perf_counter() - t0
        if el >= min_time:
            return el / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="m1,m2,m3")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--modes", default="train,infer")
    ap.add_argument("--min-time", type=float, default=2.0)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    tune_malloc()
    for name in a.models.split(","):
        torch.manual_seed(0)
        model, opt, shape = model_for(name)
        x = torch.randn(B, *shape)
        y = torch.arange(B) % 10

        def train():
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), y).backward()
            opt.step()

        def infer():
            with torch.no_grad():
                model(x)
        for t in [int(s) for s in a.threads.split(",")]:
            torch.set_num_threads(t)
            if _openblas is not None:
                _openblas.openblas_set_num_threads(t if name == "m1" else 1)
            for mode, fn in (("train", train), ("infer", infer)):
                if mode not in a.modes.split(","):
                    continue
                model.train(mode == "train")
                ips = [B / time_per_call(fn, a.min_time) for _ in range(a.rounds)]
                print(f"RESULT pytorch {name} {mode} {t} {statistics.median(ips):.1f} {min(ips):.1f} {max(ips):.1f}",
                      flush=True)


if __name__ == "__main__":
    main()
