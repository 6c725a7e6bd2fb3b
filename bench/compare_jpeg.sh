#!/usr/bin/env bash
# JPEG pipeline throughput on one core, side by side in one run: libjpeg-turbo's TurboJPEG full decode
# (bench/jpeg_decode.c) against `bwma bench data` (its own full decode, decode + RandomResizedCrop(224) + flip,
# decode + resize + center crop). Alternates the contenders ROUNDS times; prints the medians.
# Usage: bench/compare_jpeg.sh [FOLDER] [PASSES] [ROUNDS]     (default: the 20 real ImageNet test fixtures)
set -euo pipefail
cd "$(dirname "$0")/.."
source launch/env.sh
folder=${1:-Tests/DataTests/Fixtures/imagenet20}
passes=${2:-20}
rounds=${3:-3}
cc -O2 bench/jpeg_decode.c -lturbojpeg -o /tmp/bwma_jpeg_decode
files=$(find "$folder" -iname '*.jp*g' | sort)
for r in $(seq "$rounds"); do
    tj=$(/tmp/bwma_jpeg_decode "$passes" $files)
    ours=$(.build/release/bwma bench data --folder "$folder" --rounds "$passes" --json)
    python3 - "$tj" "$ours" <<'PY'
import json, sys
tj = float(sys.argv[1]); o = json.loads(sys.argv[2])
rows = {r["variant"]: r["images_per_s"] for r in o["rows"]}
print(json.dumps({"turbojpeg_full_decode": tj, **rows}))
PY
done | python3 -c '
import json, sys, statistics
runs = [json.loads(l) for l in sys.stdin]
tj = statistics.median(r["turbojpeg_full_decode"] for r in runs)
print(f"{len(runs)} rounds, medians (images/s, one thread):")
for k in runs[0]:
    v = statistics.median(r[k] for r in runs)
    print(f"  {k:<40} {v:8.1f}   {v / tj:5.2f}x TurboJPEG full decode")
'
