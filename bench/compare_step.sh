#!/usr/bin/env bash
# Side-by-side training-step benchmark: bwma vs PyTorch (CPU) on the same machine, in one run, alternating the two
# so both see the same conditions. Prints a markdown table of images/s, the ratio, and peak RSS.
#
#   bench/compare_step.sh [PYTHON] [STEPS]
#
# PYTHON is an interpreter with torch installed (default /opt/torchvenv/bin/python; see docs/benchmarks.md for the
# venv). Run on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${1:-/opt/torchvenv/bin/python}"
STEPS="${2:-20}"
source launch/env.sh
swift build -c release --product bwma >/dev/null
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
echo "| input | threads | bwma img/s | PyTorch img/s | ratio | bwma peak RSS MB | PyTorch peak RSS MB |"
echo "|---|---|---|---|---|---|---|"
for input in 3x32x32 1x28x28; do
    for threads in 1 2; do
        b=$(.build/release/bwma bench step --model resnet20 --batch 128 --quant fp32 --steps "$STEPS" --input "$input" \
            --threads "$threads" --json)
        p=$(OMP_NUM_THREADS="$threads" "$PY" bench/pytorch_reference.py bench --batch 128 --steps "$STEPS" \
            --input "$input" --threads "$threads")
        bi=$(echo "$b" | field images_per_s); pi=$(echo "$p" | field images_per_s)
        br=$(echo "$b" | field peak_rss_mb); pr=$(echo "$p" | field peak_rss_mb)
        python3 -c "print(f'| $input | $threads | {float($bi):.1f} | {float($pi):.1f} | {float($bi)/float($pi):.2f}x | {float($br):.0f} | {float($pr):.0f} |')"
    done
done
