#!/usr/bin/env bash
# Trains every row of the quantization accuracy table (docs/results.md) on real Fashion-MNIST with ResNet-20 and one
# recipe (configs/fmnist-resnet20-fp32.yaml with 3 epochs: SGD 0.1, Nesterov 0.9, weight decay 5e-4, cosine, batch
# 128, no augmentation), two runs at a time (one thread each), and prints a markdown table.
#
#   bench/accuracy_table.sh [SEED] [ROWS...]       rows: fp32 w1a32-bwn w1a32-bwma w1a4-bwn w1a4-bwma w1a2-bwma w1a8-bwma
set -euo pipefail
cd "$(dirname "$0")/.."
SEED="${1:-0}"; shift || true
ROWS=("$@")
[ ${#ROWS[@]} -gt 0 ] || ROWS=(fp32 w1a32-bwn w1a32-bwma w1a4-bwn w1a4-bwma w1a2-bwma w1a8-bwma)
source launch/env.sh
swift build -c release --product bwma >/dev/null
OUT="runs/accuracy-table-s$SEED"; mkdir -p "$OUT"

args() {  # the --set overrides of one row
    case "$1" in
        fp32)       echo "" ;;
        w1a32-bwn)  echo "--set quant.weights=bwn" ;;
        w1a32-bwma) echo "--set quant.weights=bwma" ;;
        w1a4-bwn)   echo "--set quant.weights=bwn --set quant.activations=uniform-ste --set quant.abits=4" ;;
        w1a4-bwma)  echo "--set quant.weights=bwma --set quant.activations=bwma --set quant.abits=4" ;;
        w1a2-bwma)  echo "--set quant.weights=bwma --set quant.activations=bwma --set quant.abits=2" ;;
        w1a8-bwma)  echo "--set quant.weights=bwma --set quant.activations=bwma --set quant.abits=8" ;;
        *) echo "unknown row $1" >&2; exit 2 ;;
    esac
}

run() {
    # shellcheck disable=SC2046
    .build/release/bwma train --config configs/fmnist-resnet20-fp32.yaml --set schedule.epochs=3 --set seed="$SEED" \
        --set runtime.threads=1 --set runtime.runs_dir="$OUT" --set name="$1" $(args "$1") --json \
        > "$OUT/$1.json" 2> "$OUT/$1.log"
}

i=0
for row in "${ROWS[@]}"; do
    run "$row" &
    i=$((i + 1))
    if [ $((i % 2)) -eq 0 ]; then wait; fi
done
wait
echo "| row | overrides | test accuracy |"
echo "|---|---|---|"
for row in "${ROWS[@]}"; do
    acc=$(python3 -c "import json; print(f\"{100*json.load(open('$OUT/$row.json'))['test_accuracy']:.2f}\")")
    echo "| $row | \`$(args "$row")\` | $acc |"
done
