#!/usr/bin/env bash
# Draws docs/img/report_run.png and docs/img/report_sweep.png: a small run (SmallCNN W1A4, 3 epochs on 6000
# Fashion-MNIST images) and a sweep (activation bits 1, 2, 4 trained, each evaluated on SRAM and RRAM), their
# report.html opened in headless Chromium, the screenshots quantised with pngquant. About 2 minutes on 2 cores.
# Run from the repository root after `swift build -c release` (needs chromium, pngquant, dataset-fashion-mnist).
set -euo pipefail
cd "$(dirname "$0")/../.."
source launch/env.sh
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cat > "$out/run.yaml" <<YAML
name: fmnist-smallcnn-w1a4
model: {arch: smallcnn}
data: {dataset: fashion-mnist, limit_train: 6000, limit_test: 1000, batch_size: 64}
quant: {weights: bwma, activations: bwma, abits: 4}
optim: {lr: 0.05}
schedule: {epochs: 3}
cim: {every_epochs: 1}
runtime: {threads: 2, runs_dir: $out, log_every_steps: 10}
YAML
sed -e 's/^name: .*/name: fmnist-smallcnn-sweep/' -e 's/epochs: 3/epochs: 2/' -e '/every_epochs/d' "$out/run.yaml" > "$out/sweep.yaml"
.build/release/bwma train --config "$out/run.yaml"
.build/release/bwma sweep --config "$out/sweep.yaml" --grid quant.abits=1,2,4 --eval-grid cim.device=sram,rram
shot() {  # page, png, height
    chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$out/profile" \
        --force-device-scale-factor=1 --window-size=1400,"$3" --screenshot="$2" "file://$1" 2>/dev/null
    pngquant --force --quality 60-85 --output "$2" "$2"
}
shot "$out/fmnist-smallcnn-w1a4/report.html" docs/img/report_run.png 2300
shot "$out/fmnist-smallcnn-sweep/report.html" docs/img/report_sweep.png 1900
ls -l docs/img/report_*.png
