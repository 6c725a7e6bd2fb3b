#!/usr/bin/env bash
# Data-parallel scaling of a ResNet-20 training step: 1 rank x 1 thread vs 2 ranks x 1 thread with the same per-rank
# batch, overlap on and off, alternated over ROUNDS. Efficiency = (2-rank global img/s) / (2 x 1-rank img/s).
#   bench/scaling.sh [INPUT] [BATCH] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
INPUT="${1:-3x32x32}"; BATCH="${2:-128}"; ROUNDS="${3:-3}"
source launch/env.sh
swift build -c release --product bwma >/dev/null
args=(bench step --model resnet20 --batch "$BATCH" --steps 15 --input "$INPUT" --threads 1 --json)
one=(); on=(); off=(); won=(); woff=()
get() { python3 -c "import json,sys; d=json.load(sys.stdin); print(d['$1'])"; }
for r in $(seq "$ROUNDS"); do
    one+=("$(.build/release/bwma "${args[@]}" | get images_per_s)")
    j=$(launch/mpirun 2 "${args[@]}"); on+=("$(echo "$j" | get images_per_s)"); won+=("$(echo "$j" | get comm_wait_share)")
    j=$(launch/mpirun 2 "${args[@]}" --no-overlap); off+=("$(echo "$j" | get images_per_s)"); woff+=("$(echo "$j" | get comm_wait_share)")
done
python3 - "${one[*]}" "${on[*]}" "${off[*]}" "${won[*]}" "${woff[*]}" <<'PY'
import statistics, sys
one, on, off, won, woff = ([float(v) for v in a.split()] for a in sys.argv[1:6])
m1, mon, moff = statistics.median(one), statistics.median(on), statistics.median(off)
print("| run | images/s (median) | scaling efficiency | comm wait share |")
print("|---|---|---|---|")
print(f"| 1 rank x 1 thread | {m1:.1f} | — | — |")
print(f"| 2 ranks, overlap on | {mon:.1f} | {mon / (2 * m1):.1%} | {statistics.median(won):.1%} |")
print(f"| 2 ranks, overlap off | {moff:.1f} | {moff / (2 * m1):.1%} | {statistics.median(woff):.1%} |")
PY
