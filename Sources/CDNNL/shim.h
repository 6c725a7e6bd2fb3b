#ifndef BWMA_CDNNL_SHIM_H
#define BWMA_CDNNL_SHIM_H
// oneDNN's C API (Debian's libdnnl-dev 2.6: no pkg-config file, the header is in the default include path).
#include <oneapi/dnnl/dnnl.h>
// Debian builds oneDNN with OpenMP (libgomp): its thread count is OpenMP's. gcc's omp.h is not on clang's include
// path, so the two functions used are declared here.
void omp_set_num_threads(int num_threads);
int omp_get_max_threads(void);
int omp_get_thread_num(void);
int omp_get_num_threads(void);
// libgomp's entry point for `#pragma omp parallel` (GCC's ABI, stable since GCC 4.9): runs fn(data) on a team of
// num_threads threads, the caller being thread 0. The engine's own loops run on the same team as oneDNN's.
void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags);
// The next piece of a worker's share in `Parallel.pieces`: an atomic add (relaxed: the pieces' data is published by
// the team's closing barrier).
static inline long bwma_take(long *next, long piece) { return __atomic_fetch_add(next, piece, __ATOMIC_RELAXED); }
#endif
