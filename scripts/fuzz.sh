#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang, AddressSanitizer and
# UBSan (in build-fuzz/) and fuzzes each for SECONDS (default 60), starting
# from its committed corpus. New corpus entries go to build-fuzz/corpus/
# (merge the interesting ones into fuzz/corpus/ by hand); a finding is saved
# as build-fuzz/findings/<target>-crash-* (or leak-, timeout-, oom-) and
# fails the script. Prints each target's executions and rate.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     e.g. scripts/fuzz.sh 600 json idx
#   scripts/fuzz.sh --runs N [TARGET...]      N executions per target, no time cap
#
# This is the long fuzz; ctest only replays the corpora (fuzz/CMakeLists.txt).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
usage() {
  echo "usage: scripts/fuzz.sh [SECONDS | --runs N] [TARGET...] (whole numbers)" >&2
  exit 2
}
limit=(-max_total_time=60)
if [ "${1:-}" = --runs ]; then
  [[ "${2:-}" =~ ^[0-9]+$ ]] || usage
  limit=(-runs="$2")
  shift 2
elif [[ "${1:-}" =~ ^[0-9]+$ ]]; then
  limit=(-max_total_time="$1")
  shift
elif [ -n "${1:-}" ] && [ "${1:0:1}" = - ]; then
  usage
fi
# libomp-dev: clang's OpenMP runtime (polygrad's loops are OpenMP).
"$root/scripts/deps.sh" clang libclang-rt-14-dev libomp-dev
build="$root/build-fuzz"
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DPOLYGRAD_FUZZ=ON -DPOLYGRAD_SANITIZE=ON -DPOLYGRAD_BUILD_TESTS=OFF \
  -DPOLYGRAD_BUILD_EXAMPLES=OFF -DPOLYGRAD_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j "$(nproc)"

all=()
for f in "$root"/fuzz/*.cpp; do
  t="$(basename "$f" .cpp)"
  [ "$t" = fuzz ] || [ "$t" = replay ] || all+=("$t")
done
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")
for t in "${targets[@]}"; do
  if [ ! -x "$build/fuzz/fuzz_$t" ]; then
    echo "error: unknown fuzz target '$t' (valid: ${all[*]})" >&2
    exit 2
  fi
done

# allocator_may_return_null: polygrad turns a failed huge allocation into an
# Error (as in the sanitizer test build); libFuzzer's -malloc_limit_mb still
# reports any single allocation beyond -rss_limit_mb as a finding.
export ASAN_OPTIONS="${ASAN_OPTIONS:-allocator_may_return_null=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
mkdir -p "$build/findings" "$build/logs"
status=0
printf '%-22s %12s %10s %8s  %s\n' target executions exec/s corpus result
for t in "${targets[@]}"; do
  mkdir -p "$build/corpus/$t"
  log="$build/logs/$t.log"
  set +e
  # OpenMP inside a fuzz target: one thread, so an execution is one
  # deterministic path and libFuzzer's coverage is not racing threads.
  OMP_NUM_THREADS=1 "$build/fuzz/fuzz_$t" "${limit[@]}" -timeout=20 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$build/findings/$t-" \
    "$build/corpus/$t" "$root/fuzz/corpus/$t" >"$log" 2>&1
  rc=$?
  set -e
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
  corpus=$(find "$build/corpus/$t" -type f | wc -l)
  if [ $rc -eq 0 ]; then
    result="no finding"
  else
    result="FINDING (exit $rc): see $log and $build/findings/"
    status=1
  fi
  printf '%-22s %12s %10s %8s  %s\n' "$t" "$execs" "$rate" "$corpus" "$result"
done
# A crashed target leaves its scratch folder (fuzz/fuzz.cpp) behind.
rm -rf /dev/shm/polygrad_fuzz_* 2>/dev/null || true
exit $status
