#ifndef BWMA_CDNNL_SHIM_H
#define BWMA_CDNNL_SHIM_H
// oneDNN's C API (Debian's libdnnl-dev 2.6: no pkg-config file, the header is in the default include path).
#include <oneapi/dnnl/dnnl.h>
// Debian builds oneDNN with OpenMP (libgomp): its thread count is OpenMP's. gcc's omp.h is not on clang's include
// path, so the two functions used are declared here.
void omp_set_num_threads(int num_threads);
int omp_get_max_threads(void);
#endif
