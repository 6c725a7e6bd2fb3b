#!/usr/bin/env bash
# The PyTorch loader test (docs/export.md): trains every zoo architecture briefly on real data, exports it with and
# without --fold-bn, and evaluates each export both with `bwma eval --logits` and with python/bwma_torch.py; the
# numbers of correct predictions must be equal and every image's logits agree to 1e-4 of its largest logit.
#   ResNet-20 W1A4 (BWMA) and FP32 on all 10,000 Fashion-MNIST test images; SmallCNN, LeNet-5 (W1A4), VGG-small
#   (W1A4, first 2,000 test images); ResNet-20 on the real CIFAR-10 records; ResNet-18 W1A4 on the 20 real ImageNet
#   JPEGs as an image folder (224 px, and 64 px where the DCT-scaled decode applies).
# The venv (torch==2.13.0+cpu, numpy, safetensors, Pillow) is created under .build/torchvenv and kept between runs;
# where it cannot be installed the test is skipped with the reason. Needs .build/release/bwma (launch/test builds it).
# Usage: Tests/torch/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
venv=$root/.build/torchvenv
bwma=$root/.build/release/bwma
[ -x "$bwma" ] || { echo "Tests/torch: $bwma missing (swift build -c release)" >&2; exit 1; }
fmnist=/usr/share/datasets/fashion-mnist
[ -e "$fmnist/t10k-images-idx3-ubyte.gz" ] || { echo "Tests/torch: $fmnist missing (launch/install-deps)" >&2; exit 1; }

if ! "$venv/bin/python" -c 'import torch, numpy, safetensors, PIL' 2>/dev/null; then
    echo "== Tests/torch: creating $venv (torch==2.13.0+cpu, numpy, safetensors, pillow)"
    rm -rf "$venv"
    if ! python3 -m venv "$venv" || ! "$venv/bin/pip" install -q 'torch==2.13.0+cpu' numpy safetensors pillow; then
        rm -rf "$venv"
        echo "SKIPPED Tests/torch: could not install torch==2.13.0+cpu, numpy, safetensors and pillow into a venv" \
             "(python3 -m venv and pip must reach PyPI and a torch CPU wheel); the PyTorch loader was not tested"
        exit 0
    fi
fi
py=$venv/bin/python
source launch/env.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

echo "== Tests/torch: loader unit checks"
"$py" "$root/Tests/torch/test_units.py" "$root"

# compare NAME ARGS…: bwma eval --logits vs the loader on the export NAME.safetensors (loader args after the name).
compare() {
    local name=$1 run=$2; shift 2
    local evalset=()
    while [ "$1" != "--" ]; do evalset+=(--set "$1"); shift; done
    shift
    "$bwma" eval --checkpoint "runs/$run" "${evalset[@]}" --logits "ours-$name.safetensors" --json > "ours-$name.json"
    "$py" "$root/python/bwma_torch.py" eval "$name.safetensors" "$@" --logits "torch-$name.safetensors" > "torch-$name.json"
    "$py" "$root/Tests/torch/compare.py" "$name" "ours-$name.safetensors" "torch-$name.safetensors"
}

# train RUN CONFIG SETTINGS…: a short training run, exported plain (RUN) and folded (RUN-fold).
train() {
    local run=$1 config=$2; shift 2
    local sets=()
    for s in "$@"; do sets+=(--set "$s"); done
    "$bwma" train --config "$root/configs/$config" --set name="$run" --set cim.report=none --set runtime.threads=2 \
        "${sets[@]}" > "train-$run.log" 2>&1 || { cat "train-$run.log"; exit 1; }
    "$bwma" export --checkpoint "runs/$run" --out "$run.safetensors" 2>/dev/null
    "$bwma" export --checkpoint "runs/$run" --out "$run-fold.safetensors" --fold-bn 2>/dev/null
}

fm=(--dataset fashion-mnist --data "$fmnist")
echo "== Tests/torch: ResNet-20 on Fashion-MNIST (all 10,000 test images)"
train r20-w1a4 fmnist-resnet20-w1a4-bwma.yaml data.limit_train=4096 schedule.epochs=1 data.limit_test=100
train r20-fp32 fmnist-resnet20-fp32.yaml data.limit_train=4096 schedule.epochs=1 data.limit_test=100
for run in r20-w1a4 r20-fp32; do
    compare "$run" "$run" data.limit_test=0 -- "${fm[@]}"
    compare "$run-fold" "$run" data.limit_test=0 -- "${fm[@]}"
done

echo "== Tests/torch: SmallCNN, LeNet-5, VGG-small (W1A4) on Fashion-MNIST"
train smallcnn fmnist-resnet20-w1a4-bwma.yaml model.arch=smallcnn data.limit_train=2048 schedule.epochs=1 data.limit_test=100
train lenet5 fmnist-resnet20-w1a4-bwma.yaml model.arch=lenet5 data.limit_train=2048 schedule.epochs=1 data.limit_test=100
train vgg fmnist-resnet20-w1a4-bwma.yaml model.arch=vgg-small data.limit_train=256 schedule.epochs=1 data.limit_test=100
compare smallcnn smallcnn data.limit_test=0 -- "${fm[@]}"
compare lenet5 lenet5 data.limit_test=0 -- "${fm[@]}"
compare vgg-fold vgg data.limit_test=2000 -- "${fm[@]}" --limit 2000

echo "== Tests/torch: ResNet-20 W1A4 on the real CIFAR-10 records"
mkdir cifar
for f in data_batch_1 data_batch_2 data_batch_3 data_batch_4 data_batch_5 test_batch; do
    ln -s "$root/Tests/DataTests/Fixtures/test_batch_first20.bin" "cifar/$f.bin"
done
train c10 fmnist-resnet20-w1a4-bwma.yaml data.dataset=cifar10 data.path="$work/cifar" schedule.epochs=3 \
    data.batch_size=20
compare c10 c10 -- --dataset cifar10 --data cifar

echo "== Tests/torch: ResNet-18 W1A4 on the 20 real ImageNet JPEGs (image folder)"
mkdir in20
ln -s "$root/Tests/DataTests/Fixtures/imagenet20" in20/train
ln -s "$root/Tests/DataTests/Fixtures/imagenet20" in20/val
r18=(data.path="$work/in20" data.workers=1 data.eval_batch_size=10 data.batch_size=5 optim.lr=0.02 schedule.epochs=3)
train r18 imagenet-resnet18.yaml "${r18[@]}"
train r18-64 imagenet-resnet18.yaml "${r18[@]}" data.image_size=64
compare r18 r18 -- --dataset imagefolder --data in20
compare r18-64-fold r18-64 -- --dataset imagefolder --data in20
echo "Tests/torch: passed"
