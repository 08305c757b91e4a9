#!/usr/bin/env bash
# Runs the autograd-overhead benchmark of polygrad (bench/autograd_overhead.cpp)
# and of PyTorch (bench/autograd_overhead.py) and prints them side by side.
#
#   bench/run_autograd_overhead.sh [--build DIR] [--reps N] [--raw FILE] [-- extra args for both]
#
# DIR defaults to $POLYGRAD_BUILD_DIR, else build-bench/, else build/ (configured
# with -DPOLYGRAD_BUILD_BENCH=ON). The two programs are run alternately N times
# (default 3) so that a slow spell of the shared machine hits both; each figure
# is the median over the N runs of each run's median, with the range over the
# runs in brackets. --raw keeps every program's CSV output. Needs /usr/bin/python3
# with torch (Debian's python3-torch).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
build="${POLYGRAD_BUILD_DIR:-}"
reps=3
raw=""
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) build="$2"; shift 2 ;;
    --reps) reps="$2"; shift 2 ;;
    --raw) raw="$2"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "usage: $0 [--build DIR] [--reps N] [--raw FILE] [-- args for both programs]" >&2; exit 2 ;;
  esac
done
if [[ -z "$build" ]]; then
  for d in "$repo/build-bench" "$repo/build"; do
    [[ -x "$d/autograd_overhead" ]] && { build="$d"; break; }
  done
fi
bin="$build/autograd_overhead"
if [[ ! -x "$bin" ]]; then
  echo "error: $bin not found; build it with" >&2
  echo "  cmake -S $repo -B $repo/build-bench -G Ninja -DPOLYGRAD_BUILD_BENCH=ON && ninja -C $repo/build-bench autograd_overhead" >&2
  exit 1
fi
py=/usr/bin/python3
"$py" -c "import torch" 2>/dev/null || { echo "error: $py cannot import torch (apt-get install python3-torch)" >&2; exit 1; }

out="$(mktemp)"
trap 'rm -f "$out"' EXIT
echo "# machine: $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%Y-%m-%d %H:%M UTC')"
for ((r = 1; r <= reps; r++)); do
  echo "# run $r/$reps: polygrad" >&2
  "$bin" "${extra[@]}" | tee -a "$out" | grep '^#' || true
  echo "# run $r/$reps: torch" >&2
  "$py" "$here/autograd_overhead.py" "${extra[@]}" | tee -a "$out" | grep '^#' || true
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
[[ -n "$raw" ]] && cp "$out" "$raw"

"$py" - "$out" <<'EOF'
import collections, statistics, sys
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    f = line.strip().split(",")
    if len(f) != 7 or line.startswith("#") or f[0] == "impl":
        continue
    impl, phase, batch, threads = f[0], f[1], int(f[2]), f[3]
    rows[(impl, phase, batch, threads)].append(float(f[4]))
def get(impl, phase, batch, threads):
    v = rows.get((impl, phase, batch, threads))
    return statistics.median(v) if v else None
def us(v):
    return "-" if v is None else f"{v:.1f}"
def us_range(impl, phase, batch, threads):
    v = rows.get((impl, phase, batch, threads))
    if not v:
        return "-"
    return f"{statistics.median(v):.1f} ({min(v):.1f}..{max(v):.1f})" if len(v) > 1 else f"{v[0]:.1f}"
def ratio(a, b):
    return "-" if a is None or b is None else f"{a / b:.2f}"
batches = sorted({k[2] for k in rows})
threads = sorted({k[3] for k in rows if k[0] == "polygrad"})
print()
print("Forward + backward of the 64-wide 3-layer MLP, microseconds per iteration: median over runs of each")
print("run's median (min..max over runs).")
print("speed = torch time / polygrad time (> 1: polygrad faster). torch n:b = torch n threads, OpenBLAS b threads.")
print()
print("| batch | threads | polygrad us | torch n:1 us | speed vs torch n:1 | torch n:n us | speed vs torch n:n | torch F.linear (addmm) n:1 us |")
print("|---|---|---|---|---|---|---|---|")
for B in batches:
    for t in threads:
        p = get("polygrad", "fwd_bwd", B, t)
        t1 = get("torch", "fwd_bwd", B, f"{t}:1" if t != "1" else "1")
        tn = get("torch", "fwd_bwd", B, f"{t}:{t}") if t != "1" else t1
        ta = get("torch-addmm", "fwd_bwd", B, f"{t}:1" if t != "1" else "1")
        s1 = f"{t}:1" if t != "1" else "1"
        sn = f"{t}:{t}" if t != "1" else "1"
        print(f"| {B} | {t} | {us_range('polygrad', 'fwd_bwd', B, t)} | {us_range('torch', 'fwd_bwd', B, s1)} | "
              f"**{ratio(t1, p)}** | {us_range('torch', 'fwd_bwd', B, sn)} | {ratio(tn, p)} | "
              f"{us_range('torch-addmm', 'fwd_bwd', B, s1)} |")
print()
print("Where the time goes (us per iteration): forward with graph recording, forward under no-grad, and their difference.")
print()
print("| batch | threads | polygrad fwd | polygrad fwd no-grad | polygrad recording cost | polygrad bwd (fwd_bwd - fwd) | torch fwd | torch fwd no-grad | torch recording cost | torch bwd |")
print("|---|---|---|---|---|---|---|---|---|---|")
for B in batches:
    for t in threads:
        ts = f"{t}:1" if t != "1" else "1"
        pf, pn, pb = (get("polygrad", ph, B, t) for ph in ("fwd", "fwd_nograd", "fwd_bwd"))
        tf, tn, tb = (get("torch", ph, B, ts) for ph in ("fwd", "fwd_nograd", "fwd_bwd"))
        d = lambda a, b: None if a is None or b is None else a - b
        print(f"| {B} | {t} | {us(pf)} | {us(pn)} | {us(d(pf, pn))} | {us(d(pb, pf))} | {us(tf)} | {us(tn)} | {us(d(tf, tn))} | {us(d(tb, tf))} |")
EOF
