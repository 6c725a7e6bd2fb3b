// The digital output stage over a range of positions, for the shift-add that finishes a layer's last row group.
#ifndef BWMA_CROSSBAR_OUTPUT_H
#define BWMA_CROSSBAR_OUTPUT_H

#include "bwma_crossbar.h"

// `bwma_output_channels_last` for positions from … to − 1 (`from` a multiple of 16): y is the whole output, position
// p at y + p · channels.
void bwma_output_range(const bwma_output_stage *s, const float *acc, long lda, long from, long to, int channels,
                       void *y);

#endif
