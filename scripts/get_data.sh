#!/usr/bin/env bash
# Downloads a data set from its official location into DIR and checks its MD5:
#   scripts/get_data.sh mnist DIR    -> DIR/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz
#   scripts/get_data.sh cifar10 DIR  -> DIR/cifar-10-batches-bin/{data_batch_1..5,test_batch}.bin
# Then point a program at it: --data DIR (see docs/data.md).
set -euo pipefail

usage() { echo "usage: $0 mnist|cifar10 DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
what=$1
dir=$2

# fetch URL FILE: downloads to FILE.part, renames on success; returns non-zero on failure.
fetch() {
  if command -v curl >/dev/null 2>&1; then
    curl -fL --retry 3 --connect-timeout 20 -o "$2.part" "$1" || return 1
  elif command -v wget >/dev/null 2>&1; then
    wget -q --tries=3 -O "$2.part" "$1" || return 1
  else
    echo "get_data.sh: needs curl or wget" >&2
    exit 1
  fi
  mv "$2.part" "$2"
}

# md5_ok FILE MD5
md5_ok() { [ -f "$1" ] && [ "$(md5sum "$1" | cut -d' ' -f1)" = "$2" ]; }

# get FILE MD5 URL...: keeps a FILE that already checks out, else tries each URL in turn.
get() {
  local file=$1 md5=$2
  shift 2
  md5_ok "$file" "$md5" && { echo "$file: already there"; return 0; }
  for url in "$@"; do
    echo "get_data.sh: $url"
    if fetch "$url" "$file" && md5_ok "$file" "$md5"; then return 0; fi
    echo "get_data.sh: $url failed (download error or MD5 mismatch)" >&2
    rm -f "$file" "$file.part"
  done
  echo "get_data.sh: could not download $(basename "$file")" >&2
  exit 1
}

mkdir -p "$dir"
case "$what" in
mnist)
  # Yann LeCun's page is the official home; PyTorch's mirror serves the same bytes.
  mirrors=(http://yann.lecun.com/exdb/mnist https://ossci-datasets.s3.amazonaws.com/mnist)
  while read -r name md5; do
    get "$dir/$name" "$md5" "${mirrors[@]/%//$name}"
  done <<'LIST'
train-images-idx3-ubyte.gz f68b3c2dcbeaaa9fbdd348bbdeb94873
train-labels-idx1-ubyte.gz d53e105ee54ea40749a09fcbcd1e9432
t10k-images-idx3-ubyte.gz 9fb629c4189551a2d022fa330f9573f3
t10k-labels-idx1-ubyte.gz ec29112dd5afa0611ce80d1b7f02629c
LIST
  ;;
cifar10)
  tarball="$dir/cifar-10-binary.tar.gz"
  get "$tarball" c32a1d4ab5d03f1284b67883e8d87530 https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz
  tar -xzf "$tarball" -C "$dir" || { echo "get_data.sh: cannot unpack $tarball" >&2; exit 1; }
  for f in data_batch_1 data_batch_2 data_batch_3 data_batch_4 data_batch_5 test_batch; do
    [ -f "$dir/cifar-10-batches-bin/$f.bin" ] || { echo "get_data.sh: $f.bin missing after unpacking" >&2; exit 1; }
  done
  rm -f "$tarball"
  ;;
*) usage ;;
esac
echo "get_data.sh: $what ready in $dir (use --data $dir)"
