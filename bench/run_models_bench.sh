#!/usr/bin/env bash
# polygrad vs PyTorch on the reference models, in one invocation:
#   bench/run_models_bench.sh [build-dir] [extra args for both, e.g. --models m2 --threads 2]
# Run it twice: as the environment is, and with OpenBLAS free to pick its
# AVX-512 kernel:  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE bench/run_models_bench.sh
# For M1, PyTorch is fastest with OMP_WAIT_POLICY=PASSIVE (BASELINE.md); set it for
# the PyTorch side with PG_TORCH_ENV="OMP_WAIT_POLICY=PASSIVE".
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${1:-$here/../build}"
shift || true
out=$(mktemp)
"$build/models_bench" "$@" | tee -a "$out"
env ${PG_TORCH_ENV:-} /usr/bin/python3 "$here/models_bench.py" "$@" | tee -a "$out"
echo
echo "model mode  threads  polygrad img/s  pytorch img/s  ratio"
awk '$1=="RESULT" { k=$3" "$4" "$5; v[$2" "k]=$6; keys[k]=1 }
     END { for (k in keys) if (("polygrad " k) in v && ("pytorch " k) in v)
             printf "%-16s %14.0f %14.0f %6.2f\n", k, v["polygrad " k], v["pytorch " k], v["polygrad " k]/v["pytorch " k] }' "$out" | sort
rm -f "$out"
