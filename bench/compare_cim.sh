#!/usr/bin/env bash
# The CIM simulator's cost against the software it simulates, side by side in one run (issue 12's CIM targets):
#   1. CIM-aware training: `bwma bench step --quant bwma --abits 4` plain, and with every forward through the SRAM
#      chip (`--cim-adc-bits B`) for each ADC in ADCS — alternating for ROUNDS rounds, medians, ratio to plain.
#   2. Hardware-aware inference (with CHECKPOINT, a trained W1A4 run folder, e.g. a `launch/quickstart` run): `bwma cim report --checkpoint ...
#      --adc-bits B`, which times the software pass and the hardware-aware pass of the whole test set in one process.
# An 8-bit ADC is lossless for 128-row subarrays (the ideal chip: binarized convolutions run as the integer kernel);
# 5 bits is NeuroSim's default (every bit-plane partial sum quantized: the bit-serial datapath).
#
#   bench/compare_cim.sh [ROUNDS] [STEPS] [THREADS] [ADCS] [CHECKPOINT]
#
# Defaults: 3 rounds of 8 steps, 1 thread, ADCs "8 5", no checkpoint. PRECISION=bf16 in the environment times the
# training steps in bf16 mixed precision (default fp32); INPUT=1x28x28 the Fashion-MNIST shape (default 3x32x32).
# Run on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${1:-3}"; STEPS="${2:-8}"; THREADS="${3:-1}"; ADCS="${4:-8 5}"; CHECKPOINT="${5:-}"
PRECISION="${PRECISION:-fp32}"; INPUT="${INPUT:-3x32x32}"
source launch/env.sh
swift build -c release --product bwma >/dev/null
BWMA=.build/release/bwma
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
median() { python3 -c "import statistics,sys; print(round(statistics.median(map(float, sys.argv[1:])), 1))" "$@"; }
step() { $BWMA bench step --model resnet20 --input "$INPUT" --quant bwma --abits 4 --threads "$THREADS" \
    --steps "$STEPS" --precision "$PRECISION" --json "$@" \
    2>/dev/null | python3 -c "import json,sys; print(round(json.load(sys.stdin)['images_per_s'], 1))"; }

probe=$($BWMA bench step --batch 2 --steps 1 --warmup 0 --quant bwma --abits 4 --cim-adc-bits 5 --json 2>/dev/null)
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); oneDNN ISA: $(echo "$probe" | field "['isa']"); \
CIM datapath: $(echo "$probe" | field "['cim_kernel']"); ResNet-20 W1A4 BWMA, input $INPUT, batch 128, $PRECISION, \
$THREADS thread(s), $ROUNDS rounds of $STEPS steps"
echo
# Two ratios: of the medians, and the median of each round's own ratio — a round runs plain and CIM-aware steps
# back to back, so its ratio cancels the machine's slower drifts (both are printed; neither is picked).
echo "| training step | img/s (median) | per round | step time vs plain | median of the rounds' ratios |"
echo "|---|---|---|---|---|"
declare -A runs
for _ in $(seq "$ROUNDS"); do
    runs[plain]+="$(step) "
    for b in $ADCS; do runs[$b]+="$(step --cim-adc-bits "$b") "; done
done
plain=$(median ${runs[plain]})
echo "| plain W1A4 | $plain | ${runs[plain]}| 1.00x | 1.00x |"
for b in $ADCS; do
    m=$(median ${runs[$b]})
    python3 -c "
import statistics
plain, cim = [float(v) for v in '${runs[plain]}'.split()], [float(v) for v in '${runs[$b]}'.split()]
paired = statistics.median(p / c for p, c in zip(plain, cim))
print(f'| CIM-aware, SRAM, $b-bit ADC | $m | ${runs[$b]}| {$plain/$m:.2f}x | {paired:.2f}x |')"
done

if [ -n "$CHECKPOINT" ]; then
    echo
    echo "| hardware-aware inference ($CHECKPOINT, all test images) | software s | hardware-aware s | ratio | accuracy sw / hw |"
    echo "|---|---|---|---|---|"
    for b in $ADCS; do
        j=$($BWMA cim report --checkpoint "$CHECKPOINT" --abits 4 --device sram --adc-bits "$b" --threads "$THREADS" --json \
            2>/dev/null)
        echo "$j" | python3 -c "
import json, sys
d = json.load(sys.stdin)
s, h = d['software_inference_s'], d['hardware_inference_s']
print(f'| SRAM, $b-bit ADC | {s:.2f} | {h:.2f} | {h / s:.2f}x | '
      f'{100 * d[\"software_accuracy\"]:.2f} % / {100 * d[\"hardware_accuracy\"]:.2f} % |')"
    done
fi
