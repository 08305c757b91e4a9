#!/usr/bin/env python3
"""Step time of data-parallel training on P machines from an alpha-beta
model of ring allreduce (docs/distributed.md), from the compute time per
image measured here (bench/run_ddp_bench.sh, 1 process x 1 thread) and the
gradient size.

Ring allreduce of n bytes over P machines, in k buckets:
    T_comm = k * 2 (P - 1) alpha + 2 (P - 1) / P * n * beta
Step time, no overlap:      T = T_fwd + T_bwd + T_comm
Perfect overlap with the backward (what bucketing aims at):
    T = T_fwd + max(T_bwd, T_comm)        (backward ~ 2/3 of the compute)

  tools/ddp_scaling.py --model m2:0.147:1.69 --model m3:6.46:2.39
  (name : compute ms per image : gradient MB)
"""
import argparse

NETWORKS = [  # name, alpha (s per message), beta (s per byte)
    ("10 Gb/s Ethernet (TCP, alpha 30 us)", 30e-6, 8 / 10e9),
    ("100 Gb/s (RDMA, alpha 5 us)", 5e-6, 8 / 100e9),
]


def comm(p, n_bytes, buckets, alpha, beta):
    if p == 1:
        return 0.0
    return buckets * 2 * (p - 1) * alpha + 2 * (p - 1) / p * n_bytes * beta


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", required=True,
                    help="name:ms_per_image:gradient_MB (compute of one machine per image)")
    ap.add_argument("--per-machine-batch", type=int, default=128)
    ap.add_argument("--global-batch", type=int, default=128)
    ap.add_argument("--machines", default="1,2,8,64")
    args = ap.parse_args()
    machines = [int(x) for x in args.machines.split(",")]
    for spec in args.model:
        name, ms, mb = spec.split(":")
        t_img, n = float(ms) / 1e3, float(mb) * 1e6
        for net, alpha, beta in NETWORKS:
            print(f"\n{name}, {net}: gradient {mb} MB, compute {ms} ms/image")
            print("| machines | regime | images/machine | compute ms | allreduce ms (1 bucket) "
                  "| step ms: no overlap / overlapped | img/s: no overlap / overlapped "
                  "| efficiency: no overlap / overlapped |")
            print("|---|---|---|---|---|---|---|---|")
            for regime in ("weak", "strong"):
                for p in machines:
                    b = args.per_machine_batch if regime == "weak" else args.global_batch / p
                    compute = b * t_img
                    c = comm(p, n, 1, alpha, beta)
                    fwd, bwd = compute / 3, 2 * compute / 3
                    t_no, t_ov = compute + c, fwd + max(bwd, c)
                    # efficiency: against P machines that never communicate
                    print(f"| {p} | {regime} | {b:g} | {1e3 * compute:.2f} | {1e3 * c:.2f} "
                          f"| {1e3 * t_no:.2f} / {1e3 * t_ov:.2f} "
                          f"| {b * p / t_no:.0f} / {b * p / t_ov:.0f} "
                          f"| {100 * compute / t_no:.0f}% / {100 * compute / t_ov:.0f}% |")
            # The bucket size at which a bucket's latency term equals its
            # bandwidth term: below it, more buckets cost more than they hide.
            for p in machines[1:]:
                n_min = p * alpha / beta
                print(f"P={p}: a bucket should hold >= {n_min / 1e6:.2f} MB "
                      f"(latency 2(P-1)alpha = {1e3 * 2 * (p - 1) * alpha:.2f} ms per bucket)")


if __name__ == "__main__":
    main()
