#!/usr/bin/env bash
# Step time of quantized training (BWMA W1A4, and BWN + uniform-STE W1A4) against FP32, side by side in one run,
# alternating the variants over several rounds. Prints a markdown table with the median ms/step and the ratio.
#
#   bench/compare_quant_step.sh [INPUT] [THREADS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
INPUT="${1:-3x32x32}"; THREADS="${2:-1}"; ROUNDS="${3:-3}"
source launch/env.sh
swift build -c release --product bwma >/dev/null
declare -A times
for r in $(seq "$ROUNDS"); do
    for q in fp32 bwma bwn; do
        ms=$(.build/release/bwma bench step --model resnet20 --batch 128 --quant "$q" --abits 4 --steps 15 \
             --input "$INPUT" --threads "$THREADS" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['ms_per_step'])")
        times[$q]="${times[$q]:-} $ms"
    done
done
median() { python3 -c "import statistics,sys; print(f'{statistics.median(map(float, sys.argv[1:])):.1f}')" $1; }
f=$(median "${times[fp32]}")
echo "| variant ($INPUT, $THREADS thread(s), batch 128) | median ms/step | ratio to FP32 |"
echo "|---|---|---|"
for q in fp32 bwma bwn; do
    m=$(median "${times[$q]}")
    echo "| $q | $m | $(python3 -c "print(f'{$m/$f:.3f}x')") |"
done
