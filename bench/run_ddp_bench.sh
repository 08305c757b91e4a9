#!/usr/bin/env bash
# Data-parallel training on this machine (docs/distributed.md): M2 and M3
# steps as 1 process x 2 threads, 1 process x 1 thread (the compute time per
# image of the scaling model) and 2 processes x 1 thread under mpirun, the
# three alternating, PG_BENCH_ROUNDS rounds (default 3); medians per row.
#   bench/run_ddp_bench.sh [build-dir] [extra ddp_bench args, e.g. --bucket-mb 1]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${1:-$here/../build}"
shift || true
rounds="${PG_BENCH_ROUNDS:-3}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 # mpirun as root (CI, VMs)
out=$(mktemp)
for r in $(seq 1 "$rounds"); do
  echo "# round $r of $rounds"
  "$build/ddp_bench" --threads 2 "$@" | tee -a "$out"
  "$build/ddp_bench" --threads 1 "$@" | tee -a "$out"
  mpirun -np 2 --bind-to core -x OMP_NUM_THREADS=1 "$build/ddp_bench" --distributed --threads 1 "$@" |
    tee -a "$out"
done
echo
echo "model  procs x threads  img/s (min..max)  step ms  allreduce alone ms  exposed ms  hidden  buckets"
awk '$1 == "RESULT" { k = $3" "$4; keys[k] = 1; n[k]++; img[k] = img[k]" "$5; step[k] = step[k]" "$6
                      ar[k] = ar[k]" "$7; ex[k] = ex[k]" "$8; bk[k] = $9 }
     function med(s,   a, m, i, j, t) {
       m = split(s, a, " ")
       for (i = 2; i <= m; ++i) for (j = i; j > 1 && a[j-1] + 0 > a[j] + 0; --j) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
       return a[int((m + 1) / 2)]
     }
     function lo(s,   a, m, i, r) { m = split(s, a, " "); r = a[1]; for (i = 2; i <= m; ++i) if (a[i] + 0 < r + 0) r = a[i]; return r }
     function hi(s,   a, m, i, r) { m = split(s, a, " "); r = a[1]; for (i = 2; i <= m; ++i) if (a[i] + 0 > r + 0) r = a[i]; return r }
     END {
       for (k in keys) {
         split(k, p, " "); a = med(ar[k]); e = med(ex[k])
         hid = a > 0 ? sprintf("%.0f%%", 100 * (1 - e / a)) : "-"
         printf "%-5s  %-15s  %6s (%s..%s)  %7s  %18s  %10s  %6s  %7s\n", p[1], p[2], med(img[k]), lo(img[k]), hi(img[k]), med(step[k]), a, e, hid, bk[k]
       }
     }' "$out" | sort
rm -f "$out"
