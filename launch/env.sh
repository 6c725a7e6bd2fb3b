# Sourced by every launch script: the environment the BWMA engine needs on Linux.
#
# - OpenBLAS: Debian's 0.3.21 does not recognise some recent CPUs and falls back to slow Prescott kernels; force the
#   AVX-512 SkylakeX kernels, but only where the CPU has AVX-512 (forcing them elsewhere crashes). A value the user
#   set is kept.
# - One OpenBLAS thread per process: the engine parallelises over the batch itself (runtime.threads), and under MPI
#   each rank owns one core.
if [ -z "${OPENBLAS_CORETYPE:-}" ] && grep -qw avx512f /proc/cpuinfo 2>/dev/null; then
    export OPENBLAS_CORETYPE=SkylakeX
fi
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
export PATH="/opt/swift/usr/bin:$PATH"
# - oneDNN and the engine's own loops run on OpenMP (libgomp), whose idle threads spin after each parallel region.
#   Spinning long held cores the engine's former GCD workers needed (ResNet-20 BWMA W1A4 bf16, two threads: 302-357
#   img/s with the default, 411-421 with 10000 spins); with one shared team, 1000, 10000 and 300000 spins measure
#   alike (benchmarks.md), and 10000 stays. A value the user set is kept.
export GOMP_SPINCOUNT="${GOMP_SPINCOUNT:-10000}"

