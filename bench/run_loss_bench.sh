#!/bin/sh
# Fused polygrad losses vs PyTorch, forward + backward, side by side.
#
#   bench/run_loss_bench.sh [BUILD_DIR] [ROUNDS]
#
# BUILD_DIR holds the loss_bench binary (configure with -DPOLYGRAD_BUILD_BENCH=ON;
# default: build). The two programs run alternately, ROUNDS times (default 3),
# one measurement round each, so both see the same machine state; the table
# gives medians over all rounds and the speed-ups
#   vs composed Poly-1 = torch's composed Poly-1 CE / polygrad's loss   (target >= 5)
#   vs F.cross_entropy = torch's F.cross_entropy / polygrad's loss      (target > 1)
#   vs same torch loss = torch's composed form of the same loss / polygrad's
# at (65536, 10) and (4096, 1000), 1 and 2 threads, and polygrad's time per
# input element (ns/elem; compare a K-dimensional size such as 32x21x64x64,
# SIZES=131072x21,32x21x64x64, with the (N, C) size of the same total).
# Medians over a shared, noisy VM: differences under ~15 % are noise (see
# BASELINE.md section 7).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
rounds=${2:-3}
sizes=${SIZES:-65536x10,4096x1000}
threads=${THREADS:-1,2}
losses=${LOSSES:-ce,poly1,focal,poly1_focal}
min_time=${MIN_TIME:-0.2}
bin=$build/loss_bench
if [ ! -x "$bin" ]; then
  echo "run_loss_bench.sh: $bin not found; build with -DPOLYGRAD_BUILD_BENCH=ON" >&2
  exit 2
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
i=1
while [ "$i" -le "$rounds" ]; do
  echo "round $i/$rounds: polygrad" >&2
  "$bin" --sizes "$sizes" --threads "$threads" --losses "$losses" --reps 1 --min-time "$min_time" \
    | grep '^RESULT' >>"$out"
  echo "round $i/$rounds: torch" >&2
  /usr/bin/python3 "$here/loss_bench.py" --sizes "$sizes" --threads "$threads" --losses "$losses" \
    --reps 1 --min-time "$min_time" | grep '^RESULT' >>"$out"
  i=$((i + 1))
done

python3 - "$out" <<'EOF'
import statistics, sys
r = {}
for line in open(sys.argv[1]):
    _, impl, size, th, loss, us = line.split()
    r.setdefault((impl, size, int(th), loss), []).append(float(us))
med = {k: statistics.median(v) for k, v in r.items()}
n = {k: len(v) for k, v in r.items()}
sizes = sorted({k[1] for k in r}, key=lambda s: [int(v) for v in s.split("x")])
ths = sorted({k[2] for k in r})
losses = [l for l in ["ce", "poly1", "focal", "poly1_focal", "sigmoid_focal", "poly1_sigmoid_focal"]
          if any(k[3] == l for k in r)]
print("| shape | threads | loss | polygrad us | ns/elem | torch same loss us | vs same torch loss | "
      "vs composed Poly-1 (>= 5) | vs F.cross_entropy (> 1) |")
print("|---|---|---|---|---|---|---|---|---|")
for s in sizes:
    for t in ths:
        ce = med.get(("torch", s, t, "ce"))
        p1 = med.get(("torch", s, t, "poly1"))
        for l in losses:
            pg = med.get(("polygrad", s, t, l))
            tl = med.get(("torch", s, t, l))
            if pg is None:
                continue
            f = lambda a: f"{a / pg:.2f}x" if a else "-"
            numel = 1
            for d in s.split("x"):
                numel *= int(d)
            print(f"| {s} | {t} | {l} | {pg:.1f} | {pg * 1e3 / numel:.2f} | {tl:.1f} | {f(tl)} | "
                  f"{f(p1)} | {f(ce)} |")
print(f"\n(medians of {min(n.values())}..{max(n.values())} measurements per cell)")
EOF
