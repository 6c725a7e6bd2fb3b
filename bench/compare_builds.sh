#!/usr/bin/env bash
# Step time of two bwma binaries (e.g. a -Ounchecked and a checked -O build of Data/Training/bwma), alternating
# them ROUNDS times per quantization so both see the same machine; prints the median ms/step of each and the ratio.
#   bench/compare_builds.sh OLD_BWMA NEW_BWMA [ROUNDS] [STEPS] [EXTRA_FLAGS]
# EXTRA_FLAGS go to every `bwma bench step`, e.g. "--threads 2 --precision bf16".
set -euo pipefail
cd "$(dirname "$0")/.."
old="$1"; new="$2"; rounds="${3:-5}"; steps="${4:-20}"; read -r -a extra <<< "${5:-}"
source launch/env.sh
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
echo "| quant | old ms/step (median of $rounds) | new ms/step | new/old |"
echo "|---|---|---|---|"
for q in fp32 bwma; do
    a=(); b=()
    for _ in $(seq "$rounds"); do
        a+=("$("$old" bench step --model resnet20 --batch 128 --quant "$q" --steps "$steps" "${extra[@]}" --json | field ms_per_step)")
        b+=("$("$new" bench step --model resnet20 --batch 128 --quant "$q" --steps "$steps" "${extra[@]}" --json | field ms_per_step)")
    done
    python3 -c "
import statistics as s
a=[float(x) for x in '${a[*]}'.split()]; b=[float(x) for x in '${b[*]}'.split()]
print(f'| $q | {s.median(a):.1f} ({min(a):.1f}–{max(a):.1f}) | {s.median(b):.1f} ({min(b):.1f}–{max(b):.1f}) | {s.median(b)/s.median(a):.3f} |')"
done
