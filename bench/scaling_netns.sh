#!/usr/bin/env bash
# Data-parallel scaling across hosts (docs/distributed.md, "Scaling"): 2 hosts x 1 rank over a shaped link
# (launch/netns-cluster, TCP only), with the bucketed overlap on and off, against the same work without
# communication, alternating ROUNDS times; prints the medians and the scaling efficiency = (2-host images/s) /
# (HOSTS x one host's images/s). The test "hosts" share this machine's cores and memory, so one host's images/s is
# measured as HOSTS single processes running at the same time (each has a core, as each rank does, while there
# are enough cores); a single process alone on an idle machine is shown too.
#   [HOSTS=2 BUCKET_MB=4 FIRST_BUCKET_MB=1] bench/scaling_netns.sh [MODEL] [INPUT] [BATCH] [RATE] [ROUNDS] [STEPS] [QUANT]
#   bench/scaling_netns.sh resnet18 3x224x224 32 1gbit 2 3 bwma
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-resnet18}; input=${2:-3x224x224}; batch=${3:-32}; rate=${4:-1gbit}; rounds=${5:-2}; steps=${6:-3}
quant=${7:-bwma}
source launch/env.sh
bin=${BWMA_BIN:-.build/release/bwma}
args=(bench step --model "$model" --input "$input" --batch "$batch" --quant "$quant" --steps "$steps" --warmup 1
      --threads 1 --bucket-mb "${BUCKET_MB:-4}" --first-bucket-mb "${FIRST_BUCKET_MB:-1}" --json)
out=$(mktemp)
hosts=${HOSTS:-2}
trap 'rm -f "$out" "$out".*' EXIT
grep -m1 -o 'avx512_bf16\|amx_tile' /proc/cpuinfo | head -1 | sed 's/^/ISA: /' || true
for r in $(seq "$rounds"); do
    echo "{\"variant\": \"one process alone\", \"r\": $("$bin" "${args[@]}")}" >> "$out"
    for h in $(seq "$hosts"); do "$bin" "${args[@]}" > "$out.$h" & done
    wait
    for h in $(seq "$hosts"); do echo "{\"variant\": \"processes at once\", \"r\": $(cat "$out.$h")}" >> "$out"; done
    for v in overlap no-overlap; do
        extra=(); [ "$v" = no-overlap ] && extra=(--no-overlap)
        line=$(launch/netns-cluster "$hosts" --rate "$rate" "${args[@]}" "${extra[@]}" | grep '^{')
        echo "{\"variant\": \"$hosts hosts, $v\", \"r\": $line}" >> "$out"
    done
done
python3 - "$out" "$rate" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
by = {}
for x in rows:
    by.setdefault(x["variant"], []).append(x["r"])
one = statistics.median(r["images_per_s"] for r in by["processes at once"])
alone = statistics.median(r["images_per_s"] for r in by["one process alone"])
r0 = by["one process alone"][0]
print(f"{r0['model']} {r0['input']} batch {r0['batch']} per rank, {r0['quant']}, {r0['engine']}; link {sys.argv[2]} (tbf), medians of {len(by['one process alone'])} rounds")
print("| variant | images/s | ms/step | comm wait | scaling efficiency | vs one process alone | buckets (MiB) |")
print("|---|---|---|---|---|---|---|")
for v, rs in by.items():
    ips = statistics.median(r["images_per_s"] for r in rs)
    ms = statistics.median(r["ms_per_step"] for r in rs)
    wait = statistics.median(r["comm_wait_share"] for r in rs)
    hosts = rs[0]["ranks"] if "hosts" in v else 1
    eff, eff_alone = ips / (hosts * one), ips / (hosts * alone)
    b = ", ".join(f"{x / 1048576:.1f}" for x in rs[0].get("bucket_bytes", []))
    cells = (f"{100 * eff:.1f} % | {100 * eff_alone:.1f} %") if "hosts" in v else "- | -"
    print(f"| {v} | {ips:.2f} | {ms:.0f} | {100 * wait:.1f} % | {cells} | {b or '-'} |")
PY
