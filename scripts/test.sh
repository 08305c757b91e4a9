#!/usr/bin/env bash
# README command 2: install what is missing, build, run the whole test suite.
#
#   scripts/test.sh              Release build in build/, ctest
#   scripts/test.sh --sanitize   AddressSanitizer + UndefinedBehaviorSanitizer
#                                build in build-asan/ (RelWithDebInfo), the
#                                same suite; any sanitizer report fails the
#                                test that triggered it (-fno-sanitize-recover)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
case "${1:-}" in
"")
  "$root/scripts/build.sh"
  cd "$root/build"
  ;;
--sanitize)
  "$root/scripts/deps.sh"
  # Examples and benchmarks are not run by the suite; leaving them out halves
  # the sanitized build.
  cmake -S "$root" -B "$root/build-asan" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DPOLYGRAD_SANITIZE=ON -DPOLYGRAD_BUILD_BENCH=OFF >/dev/null
  cmake --build "$root/build-asan" -j "$(nproc)"
  cd "$root/build-asan"
  export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
  export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
  ;;
*)
  echo "usage: scripts/test.sh [--sanitize]" >&2
  exit 2
  ;;
esac
ctest --output-on-failure -j "$(nproc)"
