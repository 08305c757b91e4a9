#!/usr/bin/env bash
# README command 1: install what is missing, build, run the main job.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/build.sh"
if [ -x "$root/build/mnist_train" ]; then
  exec "$root/build/mnist_train" --model cnn --loss poly1:epsilon=1 --optimizer adam \
    --epochs 10 --out "$root/build/demo" "$@"
else
  exec "$root/build/tensor_demo" "$@"
fi
