#!/usr/bin/env bash
# Builds the libFuzzer harness (fuzz/Harness.swift) against coverage- and address-sanitizer-instrumented builds of
# the package's modules and runs each target for SECONDS (default 30) from its seed corpus (fuzz/corpus/<target>,
# copied to .build/fuzz/corpus/<target> where new inputs accumulate). Any crash, sanitizer report, timeout or
# out-of-memory stops with a non-zero exit and leaves the input in .build/fuzz/artifacts/.
#   fuzz/run.sh            # 30 s per target: the CI regression run
#   fuzz/run.sh 600        # the local campaign of docs/reliability.md
#   TARGETS="idx jpeg" fuzz/run.sh 60
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
targets="${TARGETS:-idx cifar packed safetensors jpeg config network}"
source launch/env.sh
scratch=.build/fuzz
mkdir -p "$scratch/artifacts"

# 1. The library modules with coverage instrumentation and ASan (a scratch build of its own; no executable links).
swift build -c release --scratch-path "$scratch/spm" --target Training -j "${FUZZ_JOBS:-1}" \
    -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address >&2
rel="$scratch/spm/release"

# 2. The harness, linked with every module object Training needs.
objs=()
for m in TensorEngine Quantization Data Models Distributed Plots Reports CIMSimulator Optim RunConfiguration Training \
         Yams CYaml CJPEG CCrossbar CConvKernels; do
    while IFS= read -r o; do objs+=("$o"); done < <(find "$rel/$m.build" -name '*.o' | sort)
done
maps=()
for mm in Sources/COpenBLAS/module.modulemap Sources/CDNNL/module.modulemap Sources/CZlib/module.modulemap \
          Sources/CMPI/module.modulemap \
          "$rel/CJPEG.build/module.modulemap" "$rel/CCrossbar.build/module.modulemap" \
          "$rel/CConvKernels.build/module.modulemap" \
          "$scratch/spm/checkouts/Yams/Sources/CYaml/include/module.modulemap"; do
    [ -f "$mm" ] && maps+=(-Xcc "-fmodule-map-file=$mm")
done
swiftc -O -parse-as-library -sanitize=fuzzer,address -module-name BWMAFuzz fuzz/Harness.swift \
    -I "$rel/Modules" "${maps[@]}" -Xcc -ISources/CJPEG/include -Xcc -ISources/CCrossbar/include \
    -Xcc -ISources/CConvKernels/include \
    -I/usr/include/x86_64-linux-gnu/openblas-pthread -I/usr/lib/x86_64-linux-gnu/openmpi/include \
    -I/usr/lib/x86_64-linux-gnu/openmpi/include/openmpi \
    "${objs[@]}" -L/usr/lib/x86_64-linux-gnu/openmpi/lib -lmpi -lopenblas -ldnnl -lgomp -lz -ljpeg \
    -o "$scratch/bwma-fuzz"

# 3. Each target: seeds from fuzz/corpus, a time limit, a per-input time and memory limit.
status=0
for t in $targets; do
    corpus="$scratch/corpus/$t"
    mkdir -p "$corpus"
    cp -n fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null || true
    echo "== $t: $seconds s" >&2
    if ! BWMA_FUZZ_TARGET="$t" ASAN_OPTIONS=detect_leaks=0 "$scratch/bwma-fuzz" "$corpus" \
            -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -max_len=1048576 \
            -artifact_prefix="$scratch/artifacts/$t-" -print_final_stats=1 2> "$scratch/$t.log"; then
        echo "!! $t: failure, see $scratch/$t.log and $scratch/artifacts/" >&2
        status=1
    fi
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb|cov:" "$scratch/$t.log" | tail -3 >&2 || true
done
exit $status
