#ifndef BWMA_COPENBLAS_SHIM_H
#define BWMA_COPENBLAS_SHIM_H
// OpenBLAS's cblas.h also declares openblas_get_corename / openblas_set_num_threads / openblas_get_num_threads.
#include <cblas.h>
#endif
