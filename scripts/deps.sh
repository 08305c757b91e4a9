#!/usr/bin/env bash
# Installs the Debian packages polygrad needs, only those that are missing.
# Run by scripts/build.sh, test.sh and demo.sh; extra package names given as
# arguments are installed too (scripts/fuzz.sh: clang and its fuzzer runtime).
set -euo pipefail
# python3: tools/safetensors_check.py, run by ctest (pure Python: no numpy, no torch).
# nlohmann-json3-dev: io/'s JSON (safetensors headers); needed to build, not by consumers.
PG_PACKAGES=(g++ cmake ninja-build pkg-config libopenblas-dev libstb-dev catch2 zlib1g-dev python3
  nlohmann-json3-dev libopenmpi-dev openmpi-bin "$@")
missing=()
for p in "${PG_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "polygrad: installing missing packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
