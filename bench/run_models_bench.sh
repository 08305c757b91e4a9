#!/usr/bin/env bash
# polygrad vs PyTorch on the reference models, in one invocation:
#   bench/run_models_bench.sh [build-dir] [extra args for both, e.g. --models m2 --threads 2]
# The two sides alternate, one timing round each, PG_BENCH_ROUNDS times
# (default 3): a slow spell of the shared VM then hits both sides instead of
# one. Each row reports the median img/s of each side and the median and range
# of the per-round ratios.
# Run it twice: as the environment is, and with OpenBLAS free to pick its
# AVX-512 kernel:  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE bench/run_models_bench.sh
# A/B against another polygrad build (e.g. an older commit) in the same run:
#   PG_BENCH_BASELINE=/path/to/old/build bench/run_models_bench.sh
# adds its models_bench to every round and a column new/baseline;
# PG_BENCH_BASELINE_ENV sets environment variables for that side alone, so
# one build A/Bs against itself, e.g. the GEMM kernels (core/sgemm.h):
#   PG_BENCH_BASELINE=build PG_BENCH_BASELINE_ENV="POLYGRAD_GEMM=openblas" bench/run_models_bench.sh
# For M1, PyTorch is fastest with OMP_WAIT_POLICY=PASSIVE (BASELINE.md); set it for
# the PyTorch side with PG_TORCH_ENV="OMP_WAIT_POLICY=PASSIVE".
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${1:-$here/../build}"
shift || true
rounds="${PG_BENCH_ROUNDS:-3}"
out=$(mktemp)
for r in $(seq 1 "$rounds"); do
  echo "# round $r of $rounds"
  "$build/models_bench" "$@" --rounds 1 | tee -a "$out"
  if [ -n "${PG_BENCH_BASELINE:-}" ]; then
    env ${PG_BENCH_BASELINE_ENV:-} "$PG_BENCH_BASELINE/models_bench" "$@" --rounds 1 | sed 's/^RESULT polygrad/RESULT baseline/' | tee -a "$out"
  fi
  env ${PG_TORCH_ENV:-} /usr/bin/python3 "$here/models_bench.py" "$@" --rounds 1 | tee -a "$out"
done
echo
echo "model mode  threads  polygrad img/s  pytorch img/s  ratio  (per-round ratios: min..max)${PG_BENCH_BASELINE:+  baseline img/s  polygrad/baseline (min..max)}"
awk 'function median(s,   a, n, i, j, t) {
       n = split(s, a, " ")
       for (i = 2; i <= n; ++i) for (j = i; j > 1 && a[j-1] + 0 > a[j] + 0; --j) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
       return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
     }
     $1 == "RESULT" {
       k = $3" "$4" "$5; keys[k] = 1; c = ++cnt[$2" "k]
       v[$2" "k] = v[$2" "k] " " $6; r[$2" "k" "c] = $6
     }
     END {
       for (k in keys) {
         if (!(("polygrad " k) in v) || !(("pytorch " k) in v)) continue
         lo = 1e30; hi = 0; n = cnt["polygrad " k] < cnt["pytorch " k] ? cnt["polygrad " k] : cnt["pytorch " k]
         for (i = 1; i <= n; ++i) { q = r["polygrad " k" "i] / r["pytorch " k" "i]; if (q < lo) lo = q; if (q > hi) hi = q }
         p = median(v["polygrad " k]); t = median(v["pytorch " k])
         printf "%-16s %14.0f %14.0f %6.2f  (%.2f..%.2f)", k, p, t, p / t, lo, hi
         if (("baseline " k) in v) {
           b = median(v["baseline " k]); blo = 1e30; bhi = 0
           for (i = 1; i <= cnt["baseline " k] && i <= cnt["polygrad " k]; ++i) {
             q = r["polygrad " k" "i] / r["baseline " k" "i]; if (q < blo) blo = q; if (q > bhi) bhi = q
           }
           printf "  %14.0f  %6.3f (%.3f..%.3f)", b, p / b, blo, bhi
         }
         printf "\n"
       }
     }' "$out" | sort
rm -f "$out"
