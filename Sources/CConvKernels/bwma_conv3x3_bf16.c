// The forward of a bf16 3 × 3 convolution with stride 1 and padding 1 on few channels (16 or 32 in), on AVX512-BF16's
// VDPBF16PS: y[p, o] = Σ x[p + tap, c] · w[o, c, tap], bf16 operands (channels-last), exact products, fp32 sums.
//
// Lanes are 16 output channels. One instruction adds the products of one input-channel pair (c, c + 1) for one
// output position: the weights' pair for the 16 output channels (a vector loaded once per tap and pair) times x's
// pair at that position (an embedded 32-bit broadcast from channels-last x). Sixteen accumulators hold 16 positions
// of one output row, so every weight vector serves 16 instructions; the row's neighbours come from constant offsets
// off the same pointer, and the zero padding is the taps left out (rows above and below, the first and last column).
// oneDNN 2.6's `brgconv` reaches ~70–85 % of the bf16 peak on these shapes (ResNet-20's 16- and 32-channel stages);
// this kernel runs close to the peak. docs/benchmarks.md, stop 35.
#include "bwma_conv.h"
#include "bwma_conv3x3_rows.h"
#include "cpu.h"

#include <immintrin.h>
#include <string.h>

#define KERNEL __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#define INLINE static inline __attribute__((always_inline))

int bwma_bf16_conv3x3_supports(const bwma_conv_shape *s) {
    return bwma_bf16_weight_gradient_available() && s->batch > 0 && (s->channels == 16 || s->channels == 32) &&
           s->out_channels > 0 && s->out_channels % 16 == 0 && s->kernel_h == 3 && s->kernel_w == 3 &&
           s->stride_h == 1 && s->stride_w == 1 && s->pad_h == 1 && s->pad_w == 1 && s->height > 0 &&
           s->width > 0 && s->width % 16 == 0 && s->out_height == s->height && s->out_width == s->width;
}

size_t bwma_bf16_conv3x3_packed_words(const bwma_conv_shape *s) {
    return (size_t)s->out_channels * 9 * (s->channels / 2);
}

// fp32 → bf16, nearest, ties to even (oneDNN's conversion; finite values).
static uint16_t bf16(float v) {
    uint32_t b;
    memcpy(&b, &v, 4);
    return (uint16_t)((b + 0x7FFF + ((b >> 16) & 1)) >> 16);
}

void bwma_bf16_conv3x3_pack(const bwma_conv_shape *s, const float *w, int turned, uint32_t *packed) {
    const int pairs = s->channels / 2, o_count = s->out_channels, c_count = s->channels;
    for (int o = 0; o < o_count; o++)
        for (int t = 0; t < 9; t++)
            for (int q = 0; q < pairs; q++) {
                uint16_t lo, hi;
                if (turned) {  // w is [channels][out_channels][3][3]: W'[o, c, t] = W[c, o, 8 − t]
                    lo = bf16(w[((size_t)(2 * q) * o_count + o) * 9 + 8 - t]);
                    hi = bf16(w[((size_t)(2 * q + 1) * o_count + o) * 9 + 8 - t]);
                } else {
                    lo = bf16(w[((size_t)o * c_count + 2 * q) * 9 + t]);
                    hi = bf16(w[((size_t)o * c_count + 2 * q + 1) * 9 + t]);
                }
                packed[(((size_t)(o / 16) * 9 + t) * pairs + q) * 16 + o % 16] = (uint32_t)hi << 16 | lo;
            }
}

// acc[i] += the products of one kernel row's tap for positions i in [lo, hi) of a 16-position block: `row` points at
// x's pair 0 of the position the block's first output reads for this tap.
KERNEL INLINE void tap(__m512 *acc, const uint32_t *row, const uint32_t *weights, const int pairs, const int lo,
                       const int hi) {
    for (int q = 0; q < pairs; q++) {
        const __m512bh w = (__m512bh)_mm512_loadu_si512(weights + q * 16);
#pragma clang loop unroll(full)
        for (int i = 0; i < 16; i++)
            if (i >= lo && i < hi)
                acc[i] = _mm512_dpbf16_ps(acc[i], w, (__m512bh)_mm512_set1_epi32((int)row[i * pairs + q]));
    }
}

// 16 output positions of row y from column x0, output channels 16·ob …: `pairs` input-channel pairs a position
// (a constant in each caller, so every offset is one); the rows' walk is bwma_conv3x3_rows.h's.
KERNEL INLINE void block(const bwma_conv_shape *s, const uint32_t *image, const uint32_t *packed, int y, int x0,
                         int ob, const int pairs, __m512 *acc) {
    for (int i = 0; i < 16; i++) acc[i] = _mm512_setzero_ps();
    BWMA_CONV3X3_ROWS(tap, s, image, packed, y, x0, ob, pairs, acc);
}

KERNEL INLINE void store(const __m512 *acc, void *y, size_t at, int stride, int bf16_out) {
    if (bf16_out) {
        uint16_t *out = (uint16_t *)y + at;
        for (int i = 0; i < 16; i++)
            _mm256_storeu_si256((__m256i *)(out + (size_t)i * stride), (__m256i)_mm512_cvtneps_pbh(acc[i]));
    } else {
        float *out = (float *)y + at;
        for (int i = 0; i < 16; i++) _mm512_storeu_ps(out + (size_t)i * stride, acc[i]);
    }
}

KERNEL INLINE void forward(const bwma_conv_shape *s, const uint16_t *x, const uint32_t *packed, void *y, int bf16_out,
                           int first, int count, const int pairs) {
    const int o = s->out_channels;
    for (int n = first; n < first + count; n++) {
        const uint32_t *image = (const uint32_t *)(x + (size_t)n * s->height * s->width * s->channels);
        for (int r = 0; r < s->height; r++)
            for (int x0 = 0; x0 < s->width; x0 += 16)
                for (int ob = 0; ob < o / 16; ob++) {
                    __m512 acc[16];
                    block(s, image, packed, r, x0, ob, pairs, acc);
                    store(acc, y, (((size_t)n * s->height + r) * s->width + x0) * o + 16 * ob, o, bf16_out);
                }
    }
}

KERNEL void bwma_bf16_conv3x3_forward(const bwma_conv_shape *s, const uint16_t *x, const uint32_t *packed, void *y,
                                      int bf16_out, int first, int count) {
    if (s->channels == 16) forward(s, x, packed, y, bf16_out, first, count, 8);
    else forward(s, x, packed, y, bf16_out, first, count, 16);
}
