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
# - oneDNN runs on OpenMP (libgomp), whose idle threads spin for a long time after each parallel region and then
#   steal the core from the engine's own worker threads (GCD) between oneDNN calls: ResNet-20 BWMA W1A4 bf16 on two
#   threads ran at 302-357 img/s with the default and 411-421 with 10000 spins (benchmarks.md). A value the user set
#   is kept.
export GOMP_SPINCOUNT="${GOMP_SPINCOUNT:-10000}"

