// The walk over one 16-position block of a 3 × 3, stride-1, padding-1 convolution, shared by the bf16 kernel
// (bwma_conv3x3_bf16.c) and the integer one (bwma_conv3x3_codes.c): for each kernel row inside the input, its
// three column taps through TAP(acc, row, weights, words, lo, hi) — which adds one tap's products for positions
// [lo, hi) — with the first column's left tap and the last column's right tap left out (the zero padding). `words`:
// 32-bit words of input per position (a constant in each caller, so every offset is one); the packed weights are
// [out_channels / 16][tap][words][16].
#ifndef BWMA_CONV3X3_ROWS_H
#define BWMA_CONV3X3_ROWS_H

#define BWMA_CONV3X3_ROWS(TAP, s, image, packed, y, x0, ob, words, acc)                                         \
    do {                                                                                                        \
        const int first_ = (x0) == 0, last_ = (x0) + 16 == (s)->width;                                          \
        for (int ky_ = 0; ky_ < 3; ky_++) {                                                                     \
            const int iy_ = (y) + ky_ - 1;                                                                      \
            if (iy_ < 0 || iy_ >= (s)->height) continue;                                                        \
            const uint32_t *row_ = (image) + ((size_t)iy_ * (s)->width + (x0)) * (words);                       \
            const uint32_t *w_ = (packed) + ((size_t)(ob) * 9 + ky_ * 3) * (words) * 16;                        \
            if (first_) TAP(acc, row_ - (words), w_, words, 1, 16);                                             \
            else TAP(acc, row_ - (words), w_, words, 0, 16);                                                    \
            TAP(acc, row_, w_ + (words) * 16, words, 0, 16);                                                    \
            if (last_) TAP(acc, row_ + (words), w_ + 2 * (words) * 16, words, 0, 15);                           \
            else TAP(acc, row_ + (words), w_ + 2 * (words) * 16, words, 0, 16);                                 \
        }                                                                                                       \
    } while (0)

#endif
