#!/usr/bin/env bash
# Cross-host tests on a cluster of network namespaces (launch/netns-cluster; root, Linux). Each test prints one
# result line (PASS/FAIL); the script exits non-zero when any fails, and 0 with a SKIP line when namespaces cannot
# be made here (netns-cluster exits 77: not root / no CAP_NET_ADMIN).
#
#   Tests/multinode/run.sh            all tests (about 40 s on 2 cores)
#   Tests/multinode/run.sh a c        some of them
#
#   a  parity: 2 hosts x 1 rank train to the same parameters as 1 host x 2 ranks (launch/mpirun 2)
#   b  allreduce: `bwma bench allreduce` across 2 hosts vs the plain C MPI_Allreduce loop on the same link, run back
#      to back in rounds; the median paired bandwidth ratio of GradientSync (or Communicator) vs C at 1M and 4M is a
#      benchmark (target >= 0.95): reported, and asserted only with MULTINODE_STRICT=1 (timing on a shared 2-core
#      machine swings by +-10 %; the test fails in any case when the benchmark does not run or prints no result)
#   c  sweep: 2 hosts x 1 rank, 2 grid points (one per host), one gathered sweep.csv with a row per point
#   d  sweep: 2 hosts x 2 ranks mapped by node, 2 grid points: each group's gradient sync crosses the hosts
#
# Environment: BWMA_BIN (default .build/release/bwma), MULTINODE_ROUNDS (b: interleaved C/bwma rounds, default 9),
# MULTINODE_MIN_RATIO (b: default 0.95), MULTINODE_STRICT=1 (b: fail below it), MULTINODE_KEEP=1 keeps the work
# folder.
set -uo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
export BWMA_BIN="${BWMA_BIN:-$repo/.build/release/bwma}"
cluster="$repo/launch/netns-cluster"
here="$repo/Tests/multinode"
rounds="${MULTINODE_ROUNDS:-9}"
min_ratio="${MULTINODE_MIN_RATIO:-0.95}"
export MULTINODE_STRICT="${MULTINODE_STRICT:-0}"
tests=("$@"); [ ${#tests[@]} -gt 0 ] || tests=(a b c d)

[ -x "$BWMA_BIN" ] || { echo "FAIL multinode: no bwma binary at $BWMA_BIN (swift build -c release --product bwma, or set BWMA_BIN)"; exit 2; }
work="$(mktemp -d "${TMPDIR:-/tmp}/bwma-multinode.XXXXXX")"
[ "${MULTINODE_KEEP:-0}" = 1 ] && echo "work folder: $work" || trap 'rm -rf "$work"' EXIT
cd "$work"

# Can we make a cluster at all?
"$cluster" 2 --timeout 60 --exec true > probe.log 2>&1
rc=$?
if [ "$rc" -eq 77 ]; then
    echo "SKIP multinode: $(grep -m1 'skipped' probe.log || tail -1 probe.log)"
    exit 0
elif [ "$rc" -ne 0 ]; then
    echo "FAIL multinode: launch/netns-cluster 2 --exec true exited $rc"; tail -20 probe.log | sed 's/^/    /'
    exit 1
fi

failed=0
fail() { echo "FAIL $1: $2"; [ -z "${3:-}" ] || tail -25 "$3" | sed 's/^/    /'; failed=$((failed + 1)); }
secs() { echo $(( $(date +%s) - $1 )); }

# Small run shared by a: ResNet-20 W1A4, 1024 training images, one epoch, 1 thread per rank.
train_args() {
    args=(train --config "$repo/configs/fmnist-resnet20-w1a4-bwma.yaml" --set name=parity
        --set "runtime.runs_dir=$work/$1" --set data.limit_train=1024 --set data.limit_test=256
        --set schedule.epochs=1 --set runtime.threads=1 --set cim.report=none)
}

test_a() {
    local t0; t0=$(date +%s)
    # launch/mpirun changes to the repository, so the run folder is given absolutely (runtime.runs_dir).
    local args; train_args local
    if ! "$repo/launch/mpirun" 2 "${args[@]}" > a-local.log 2>&1; then
        fail a "1 host x 2 ranks training failed" a-local.log; return; fi
    train_args cluster
    if ! "$cluster" 2 --timeout 300 "${args[@]}" > a-cluster.log 2>&1; then
        fail a "2 hosts x 1 rank training failed" a-cluster.log; return; fi
    local out
    if out=$(python3 "$here/compare_checkpoints.py" local/parity/checkpoints/last.safetensors \
            cluster/parity/checkpoints/last.safetensors 2>&1); then
        echo "PASS a: 2 hosts x 1 rank = 1 host x 2 ranks: ${out#MATCH: } ($(secs "$t0") s)"
    else
        echo "$out" > a-compare.log; fail a "parameters differ between 2 hosts x 1 rank and 1 host x 2 ranks" a-compare.log
    fi
}

test_b() {
    local t0; t0=$(date +%s)
    if ! mpicc -O2 "$repo/bench/allreduce_c.c" -o "$work/allreduce_c" > b-build.log 2>&1; then
        fail b "mpicc bench/allreduce_c.c failed" b-build.log; return; fi
    # One cluster session; C and bwma interleaved so that load from elsewhere hits both alike.
    local sizes=1K,64K,1M,4M iters=30
    if ! "$cluster" 2 --timeout 180 --run sh -c '
            for r in $(seq 1 '"$rounds"'); do
                echo "# c $r"; $BWMA_MPIRUN '"$work"'/allreduce_c '"$sizes $iters"' || exit 1
                echo "# bwma $r"; $BWMA_MPIRUN "$BWMA_BIN" bench allreduce --sizes '"$sizes"' --iterations '"$iters"' --json || exit 1
            done' > b-bench.log 2> b-bench.err; then
        cat b-bench.err >> b-bench.log; fail b "allreduce benchmark failed" b-bench.log; return; fi
    python3 - b-bench.log "$min_ratio" "$rounds" "$(secs "$t0")" > b-result.txt <<'PY'
import json, os, statistics, sys
path, need, rounds, secs = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
c, comm, sync, mode = {}, {}, {}, None
for line in open(path):
    line = line.strip()
    if line.startswith("# "):
        mode = line.split()[1]
    elif mode == "c" and line:
        b, ms = line.split()
        c.setdefault(int(b), []).append(float(ms))
    elif mode == "bwma" and line.startswith("{"):
        for r in json.loads(line)["rows"]:
            comm.setdefault(r["bytes"], []).append(r["communicator_ms"])
            sync.setdefault(r["bytes"], []).append(r["gradient_sync_ms"])
if not c or any(len(v) != rounds for d in (c, comm, sync) for v in d.values()) or set(c) != set(sync):
    sys.exit(2)
# Each round runs the C loop and then bwma back to back, so the two share whatever else the machine is doing;
# the statistic is the median over rounds of the paired bandwidth ratio C ms / bwma ms (>= 1: bwma as fast or
# faster). Medians of ms and the best (least disturbed) round are shown for information.
ratio = lambda a, b: statistics.median(x / y for x, y in zip(a, b))
print(f"    {rounds} rounds (C loop, then bwma bench allreduce, 30 iterations each); ratio = median over rounds of C ms / bwma ms")
print("    | bytes | C ms (median) | Communicator ms | GradientSync ms | Communicator / C | GradientSync / C | GradientSync / C, best rounds |")
print("    |---|---|---|---|---|---|---|")
ok, parts = True, []
for b in sorted(c):
    rk, rs = ratio(c[b], comm[b]), ratio(c[b], sync[b])
    med = statistics.median
    print(f"    | {b} | {med(c[b]):.4f} | {med(comm[b]):.4f} | {med(sync[b]):.4f} | {rk:.2f} | {rs:.2f} | {min(c[b]) / min(sync[b]):.2f} |")
    if b >= 1 << 20:
        parts.append(f"{b >> 20}M {rs:.2f} (Communicator {rk:.2f})")
        ok &= max(rk, rs) >= need
strict = os.environ.get("MULTINODE_STRICT") == "1"
verdict = "PASS" if ok else ("FAIL" if strict else "BELOW")
note = "" if ok or strict else "; a benchmark, not asserted (MULTINODE_STRICT=1 asserts it)"
print(f"{verdict} b: 2-host allreduce bandwidth vs C loop, GradientSync / C: {', '.join(parts)}; target >= {need} (GradientSync or Communicator) at 1M and 4M ({secs} s){note}")
sys.exit(0 if ok or not strict else 1)
PY
    local rc=$?
    grep -v '^    ' b-result.txt | grep -q . || { fail b "could not read the benchmark output" b-bench.log; return; }
    grep '^    ' b-result.txt; grep -v '^    ' b-result.txt
    [ "$rc" -eq 0 ] || failed=$((failed + 1))
}

# sweep_test LETTER RANKS-PER-HOST [MPIRUN-ARGS...]: a 2-point sweep over 2 hosts, one gathered CSV.
sweep_test() {
    local letter="$1" k="$2"; shift 2
    local t0; t0=$(date +%s)
    local name="sweep-$letter" log="$letter-sweep.log"
    local extra=(); for a in "$@"; do extra+=(--mpirun-arg "$a"); done
    if ! "$cluster" 2 --ranks-per-host "$k" ${extra[@]+"${extra[@]}"} --timeout 300 sweep \
            --config "$repo/configs/fmnist-cim-sweep.yaml" --grid quant.abits=2,4 --set "name=$name" \
            --set "runtime.runs_dir=$work/runs" --set data.limit_train=512 --set data.limit_test=256 \
            --set schedule.epochs=1 --set runtime.threads=1 > "$log" 2>&1; then
        fail "$letter" "2-host sweep failed" "$log"; return; fi
    local msg
    if msg=$(python3 - "$work/runs/$name/sweep.csv" "$k" <<'PY'
import csv, sys
path, k = sys.argv[1], int(sys.argv[2])
try:
    rows = list(csv.DictReader(open(path)))
except OSError as e:
    print(f"no sweep CSV: {e}"); sys.exit(1)
labels = [r["label"] for r in rows]
problems = []
if labels != ["abits-2", "abits-4"]:
    problems.append(f"rows {labels}, expected abits-2, abits-4")
if any(r["ranks"] != str(k) for r in rows):
    problems.append(f"ranks per point {[r['ranks'] for r in rows]}, expected {k}")
for r in rows:
    for col in ("software_accuracy", "hardware_accuracy", "energy_pj_per_image"):
        try:
            v = float(r[col]); assert v == v and v >= 0
        except (ValueError, AssertionError, KeyError):
            problems.append(f"{r.get('label')}: {col} = {r.get(col)!r}")
if problems:
    print("; ".join(problems)); sys.exit(1)
points = ", ".join(f"{r['label']}: {r['ranks']} rank(s), test acc {float(r['software_accuracy']):.3f}" for r in rows)
print(f"{path.rsplit('/', 3)[-2]}/sweep.csv has {len(rows)} rows ({points})")
PY
    ); then
        echo "PASS $letter: 2 hosts x $k rank(s)${1:+ ($*)}, 2-point sweep: $msg ($(secs "$t0") s)"
    else
        echo "$msg" >> "$log"; fail "$letter" "$msg" "$log"
    fi
}

test_c() { sweep_test c 1; }
test_d() { sweep_test d 2 --map-by node; }

for t in "${tests[@]}"; do
    case "$t" in
        a|b|c|d) "test_$t" ;;
        *) echo "FAIL $t: no such test (a, b, c, d)"; failed=$((failed + 1)) ;;
    esac
done
leftover=$(ip netns list 2>/dev/null | grep -c '^bwma[0-9]*-' || true)
[ "$leftover" -eq 0 ] || echo "note: $leftover bwma*-namespace(s) exist (another cluster running, or a leak): ip netns list"
[ "$failed" -eq 0 ] && echo "multinode: all ${#tests[@]} test(s) passed" || echo "multinode: $failed of ${#tests[@]} test(s) failed"
[ "$failed" -eq 0 ]
