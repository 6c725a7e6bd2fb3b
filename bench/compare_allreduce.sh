#!/usr/bin/env bash
# GradientSync and Communicator allreduce vs a plain C MPI_Allreduce loop, same sizes, same ranks, one run.
#   bench/compare_allreduce.sh [RANKS] [SIZES] [ITERATIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
NP="${1:-2}"; SIZES="${2:-1K,64K,1M,4M,16M}"; ITERS="${3:-50}"
source launch/env.sh
swift build -c release --product bwma >/dev/null
mpicc -O2 bench/allreduce_c.c -o /tmp/bwma_allreduce_c
flags=(-np "$NP" --bind-to none --mca pml ob1)
[ "$(id -u)" -eq 0 ] && flags+=(--allow-run-as-root)
[ "$NP" -gt "$(nproc)" ] && flags+=(--oversubscribe)
c=$(mpirun "${flags[@]}" /tmp/bwma_allreduce_c "$SIZES" "$ITERS")
s=$(launch/mpirun "$NP" bench allreduce --sizes "$SIZES" --iterations "$ITERS" --json)
python3 - "$c" "$s" <<'PY'
import json, sys
c = {int(l.split()[0]): float(l.split()[1]) for l in sys.argv[1].strip().splitlines()}
rows = json.loads(sys.argv[2])["rows"]
print("| bytes | C MPI_Allreduce ms | Communicator ms | GradientSync ms | GradientSync / C bandwidth |")
print("|---|---|---|---|---|")
for r in rows:
    cm = c[r["bytes"]]
    print(f"| {r['bytes']} | {cm:.3f} | {r['communicator_ms']:.3f} | {r['gradient_sync_ms']:.3f} | {cm / r['gradient_sync_ms']:.2f} |")
PY
