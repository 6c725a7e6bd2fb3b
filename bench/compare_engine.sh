#!/usr/bin/env bash
# The engine against PyTorch 2.13 CPU, side by side in one run: every row runs bwma, PyTorch in its default NCHW
# layout and PyTorch in torch.channels_last (NHWC, its recommended CPU layout: model and batch converted) alternately
# for ROUNDS rounds and reports median images/s, the ratio to each PyTorch and the peak RSS. Rows (as issue 12 asks):
#   ResNet-20 3x32x32 batch 128, FP32, 1 and 2 threads     bwma fp32 (oneDNN)          vs PyTorch FP32
#   ResNet-20 3x32x32 batch 128, bf16, 1 and 2 threads     bwma bf16                   vs PyTorch bf16 autocast
#   ResNet-18 3x224x224 batch 32, bf16, 2 threads          bwma bf16                   vs PyTorch bf16 autocast
#   ResNet-20 / ResNet-18, W1A4 BWMA, bf16                 bwma bwma W1A4 bf16         vs PyTorch bf16 autocast FP32 net
# plus the reference backend (OpenBLAS kernels) for context. "vs best" is the ratio to the faster of the two PyTorch
# layouts: what a performance-minded PyTorch user gets. Prints a markdown table and the CPU/ISA line.
#
#   bench/compare_engine.sh [PYTHON] [ROUNDS] [STEPS] [ROWS]
#
# PYTHON has torch==2.13.0+cpu (default /opt/torchvenv/bin/python; docs/benchmarks.md). ROWS: `all` (default),
# `r20` (ResNet-20 rows only, ~8 minutes), `r18` (ResNet-18 rows only) or `fp32` (the FP32 rows: ResNet-20 on one and
# two threads, ResNet-18 on two). Run on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${1:-/opt/torchvenv/bin/python}"; ROUNDS="${2:-3}"; STEPS="${3:-10}"; ROWS="${4:-all}"
source launch/env.sh
swift build -c release --product bwma >/dev/null
BWMA=.build/release/bwma
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
median() { python3 -c "import statistics,sys; print(statistics.median(map(float, sys.argv[1:])))" "$@"; }

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); oneDNN ISA: $($BWMA bench step --model resnet20 \
    --batch 2 --steps 1 --warmup 0 --json 2>/dev/null | field isa); rounds $ROUNDS, $STEPS steps each"
echo
echo "| model | input | batch | threads | bwma | PyTorch | bwma img/s | PyTorch NCHW img/s | PyTorch NHWC img/s |\
 vs NCHW | vs best | bwma RSS MB | PyTorch RSS MB (NCHW / NHWC) |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"

# row MODEL INPUT BATCH THREADS BWMA_QUANT BWMA_PRECISION BWMA_BACKEND TORCH_PRECISION
row() {
    local model=$1 input=$2 batch=$3 threads=$4 quant=$5 precision=$6 backend=$7 tprec=$8
    local classes=10; [ "$model" = resnet18 ] && classes=1000
    local b=() p=() c=() brss=() prss=() crss=()
    for _ in $(seq "$ROUNDS"); do
        j=$($BWMA bench step --model "$model" --input "$input" --batch "$batch" --threads "$threads" --quant "$quant" \
            --precision "$precision" --backend "$backend" --classes "$classes" --steps "$STEPS" --json 2>/dev/null)
        b+=("$(echo "$j" | field images_per_s)"); brss+=("$(echo "$j" | field peak_rss_mb)")
        for format in contiguous channels_last; do
            j=$(OMP_NUM_THREADS="$threads" "$PY" bench/pytorch_reference.py bench --model "$model" --input "$input" \
                --batch "$batch" --threads "$threads" --precision "$tprec" --classes "$classes" --steps "$STEPS" \
                --memory-format "$format" 2>/dev/null)
            if [ "$format" = contiguous ]; then
                p+=("$(echo "$j" | field images_per_s)"); prss+=("$(echo "$j" | field peak_rss_mb)")
            else
                c+=("$(echo "$j" | field images_per_s)"); crss+=("$(echo "$j" | field peak_rss_mb)")
            fi
        done
    done
    local bm pm cm; bm=$(median "${b[@]}"); pm=$(median "${p[@]}"); cm=$(median "${c[@]}")
    local q="$quant"; [ "$quant" != fp32 ] && q="$quant W1A4"
    python3 -c "print(f'| $model | $input | $batch | $threads | $backend $q $precision | $tprec | {$bm:.1f} \
| {$pm:.1f} | {$cm:.1f} | {$bm/$pm:.2f}x | {$bm/max($pm, $cm):.2f}x | {$(median "${brss[@]}"):.0f} \
| {$(median "${prss[@]}"):.0f} / {$(median "${crss[@]}"):.0f} |')"
}

if [ "$ROWS" = fp32 ]; then
    for t in 1 2; do row resnet20 3x32x32 128 "$t" fp32 fp32 auto fp32; done
    row resnet18 3x224x224 32 2 fp32 fp32 auto fp32
    exit 0
fi
[ "$ROWS" = r18 ] || for t in 1 2; do
    row resnet20 3x32x32 128 "$t" fp32 fp32 auto fp32
    row resnet20 3x32x32 128 "$t" fp32 fp32 reference fp32
    row resnet20 3x32x32 128 "$t" fp32 bf16 auto bf16
    row resnet20 3x32x32 128 "$t" bwma bf16 auto bf16
done
if [ "$ROWS" != r20 ]; then
    row resnet18 3x224x224 32 2 fp32 fp32 auto fp32
    row resnet18 3x224x224 32 2 fp32 bf16 auto bf16
    row resnet18 3x224x224 32 2 bwma bf16 auto bf16
fi
