#!/usr/bin/env bash
# How close one training step's convolutions run to the core's peak: the measured peak of the instructions oneDNN's
# kernels use (bench/peak_dot.c: vdpbf16ps, vpdpbusd), then one `bwma bench step` under ONEDNN_VERBOSE and its
# convolutions' rates against threads × that peak (bench/conv_roofline.py). Needs AVX512-BF16 and VNNI (the machines
# of docs/benchmarks.md); prints markdown.
#
#   bench/roofline.sh THREADS [bwma bench step flags...]
#   bench/roofline.sh 1 --model resnet20 --batch 128 --precision bf16
#   bench/roofline.sh 2 --model resnet18 --input 3x224x224 --batch 32 --classes 1000 --precision bf16
#
# With PYTORCH set to a Python that has torch (docs/benchmarks.md), the same step of PyTorch (bench/pytorch_reference.py
# bench: the same model, input, batch, classes and precision — bf16 is autocast — on the FP32 network) is measured
# the same way after it: whose kernels, at what share of the peak. PYTORCH_MEMORY_FORMAT=channels_last runs PyTorch in
# torch.channels_last (default: contiguous, its NCHW).
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS="${1:?usage: bench/roofline.sh THREADS [bwma bench step flags...]}"; shift
source launch/env.sh
swift build -c release --product bwma >/dev/null
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
gcc -O2 -mavx512f -mavx512bf16 -mavx512vnni bench/peak_dot.c -o "$tmp/peak_dot"
peak=$("$tmp/peak_dot")
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
ONEDNN_VERBOSE=1 .build/release/bwma bench step --threads "$THREADS" --warmup 1 --steps 2 "$@" >"$tmp/log" 2>&1
grep -v '^onednn_verbose' "$tmp/log" | tail -1
python3 bench/conv_roofline.py "$tmp/log" --steps 3 --threads "$THREADS" --peak "$peak"
[ -n "${PYTORCH:-}" ] || exit 0
# PyTorch's flags: the step's own, less the quantization ones (it trains the FP32 network).
torch_flags=(); skip=0
for f in "$@"; do
    if [ $skip = 1 ]; then skip=0; continue; fi
    case "$f" in --quant|--abits|--backend|--cim-adc-bits) skip=1 ;; *) torch_flags+=("$f") ;; esac
done
echo
echo "PyTorch $("$PYTORCH" -c 'import torch; print(torch.__version__)') (${PYTORCH_MEMORY_FORMAT:-contiguous}), same step:"
ONEDNN_VERBOSE=1 OMP_NUM_THREADS="$THREADS" "$PYTORCH" bench/pytorch_reference.py bench --threads "$THREADS" \
    --warmup 1 --steps 2 --memory-format "${PYTORCH_MEMORY_FORMAT:-contiguous}" "${torch_flags[@]}" >"$tmp/torch" 2>&1
grep -m1 'oneDNN v' "$tmp/torch" | cut -d, -f4- || true
grep -v '^onednn_verbose' "$tmp/torch" | tail -1
python3 bench/conv_roofline.py "$tmp/torch" --steps 3 --threads "$THREADS" --peak "$peak"
