// The bit-plane masks of bwma_bitplanes.c (internal to CCrossbar): planes[(j·words + w)·np + p], np = n rounded up to
// 16, bit b = bit j of the code of the group's row 32·w + b at position p (0 for rows past the group).
#ifndef BWMA_BITPLANES_H
#define BWMA_BITPLANES_H

#include <stdint.h>
#include "bwma_crossbar.h"

/// Positions from `from` (a multiple of 16) to n, row by row (every AVX-512 CPU with VPOPCNTDQ).
void bwma_masks(const uint8_t *codes, int rows, long ld, long from, long n, int bits, int words, uint32_t *planes);

/// Positions below `end` (a multiple of 8) read where they lie in images (`src`), by gathers and GFNI's transpose;
/// requires `transposes_bits()`.
void bwma_masks_gather(const bwma_image_rows *src, int rows, long end, long n, int bits, int words,
                       uint32_t *planes);

/// Unrolled rows (row r at codes + r·ld): the gathers below `end` (a multiple of 16), `bwma_masks` for the rest;
/// requires `transposes_bits()`.
void bwma_masks_gfni(const uint8_t *codes, int rows, long ld, long end, long n, int bits, int words,
                     uint32_t *planes);

#endif
