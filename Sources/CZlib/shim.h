#ifndef BWMA_CZLIB_SHIM_H
#define BWMA_CZLIB_SHIM_H
#include <zlib.h>
#endif
