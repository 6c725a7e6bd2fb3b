// The exact integer forward of a binarized 3 × 3 convolution (stride 1, padding 1) on 16 or 32 input channels, with
// the layer's per-channel terms applied in registers: y[p, o] = scale_o·S[p, o] + (offset_o·S₁[p] + shift_o), where
// S = B ⊛ j (B ∈ {−1, +1}, the input codes j) and S₁ = 1 ⊛ j the window sums — `IntegerConvKernels.combine` of the
// sums oneDNN's u8 × s8 convolution writes, without the 4-byte sums going to memory and back.
//
// AVX512-VNNI's VPDPBUSD multiplies unsigned by signed bytes and has its broadcast operand signed: here the 0/1
// weights B' = (B + 1)/2 are the unsigned vector (16 output channels × 4 input channels) and a position's four codes
// (< 128) the signed broadcast, so S' = B' ⊛ j and S = 2·S' − S₁ (integers: exact). Otherwise the structure of
// bwma_conv3x3_bf16.c: 16 output channels on the lanes, 16 positions of an output row in 16 accumulators, the
// padding as taps left out. The Float operations are `combine`'s, in its order and without contraction into FMA,
// and the bf16 rounding is `BFloat16.init`'s: the same bits.
#include "bwma_conv.h"
#include "bwma_conv3x3_rows.h"
#include "cpu.h"

#include <immintrin.h>

#pragma clang fp contract(off)

#define KERNEL __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
#define INLINE static inline __attribute__((always_inline))

static int vnni(void) {
    CPU_SUPPORTS_ONCE(__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni"));
}

int bwma_codes_conv3x3_supports(const bwma_conv_shape *s, int levels) {
    return vnni() && levels > 0 && levels < 128 && s->batch > 0 && (s->channels == 16 || s->channels == 32) &&
           s->out_channels > 0 && s->out_channels % 16 == 0 && s->kernel_h == 3 && s->kernel_w == 3 &&
           s->stride_h == 1 && s->stride_w == 1 && s->pad_h == 1 && s->pad_w == 1 && s->height > 0 &&
           s->width > 0 && s->width % 16 == 0 && s->out_height == s->height && s->out_width == s->width;
}

size_t bwma_codes_conv3x3_packed_words(const bwma_conv_shape *s) {
    return (size_t)s->out_channels * 9 * (s->channels / 4);
}

void bwma_codes_conv3x3_pack(const bwma_conv_shape *s, const int8_t *signs, uint32_t *packed) {
    const int quads = s->channels / 4, c_count = s->channels;
    for (int o = 0; o < s->out_channels; o++)
        for (int t = 0; t < 9; t++)
            for (int q = 0; q < quads; q++) {
                uint32_t word = 0;
                for (int b = 0; b < 4; b++)
                    word |= (uint32_t)(signs[((size_t)o * c_count + 4 * q + b) * 9 + t] > 0) << (8 * b);
                packed[(((size_t)(o / 16) * 9 + t) * quads + q) * 16 + o % 16] = word;
            }
}

// acc[i] += B'·j of one tap for positions i in [lo, hi) of a block (see bwma_conv3x3_bf16.c's `tap`).
KERNEL INLINE void tap(__m512i *acc, const uint32_t *row, const uint32_t *weights, const int quads, const int lo,
                       const int hi) {
    for (int q = 0; q < quads; q++) {
        const __m512i w = _mm512_loadu_si512(weights + q * 16);
#pragma clang loop unroll(full)
        for (int i = 0; i < 16; i++)
            if (i >= lo && i < hi)
                acc[i] = _mm512_dpbusd_epi32(acc[i], w, _mm512_set1_epi32((int)row[i * quads + q]));
    }
}

KERNEL INLINE void block(const bwma_conv_shape *s, const uint32_t *image, const uint32_t *packed, int y, int x0,
                         int ob, const int quads, __m512i *acc) {
    for (int i = 0; i < 16; i++) acc[i] = _mm512_setzero_si512();
    BWMA_CONV3X3_ROWS(tap, s, image, packed, y, x0, ob, quads, acc);
}

// y at `at` (+ i·stride for position i) from the block's S' and the positions' window sums.
KERNEL INLINE void finish(const __m512i *acc, const int32_t *window, const bwma_codes_terms *terms, int ob,
                          void *y, size_t at, int stride, int bf16_out) {
    const __m512 scale = _mm512_loadu_ps(terms->scale + 16 * ob), offset = _mm512_loadu_ps(terms->offset + 16 * ob);
    const __m512 shift = _mm512_loadu_ps(terms->shift + 16 * ob);
    for (int i = 0; i < 16; i++) {
        const __m512i w = _mm512_set1_epi32(window[i]);
        const __m512i sums = _mm512_sub_epi32(_mm512_add_epi32(acc[i], acc[i]), w);
        const __m512 v = _mm512_add_ps(_mm512_mul_ps(scale, _mm512_cvtepi32_ps(sums)),
                                       _mm512_add_ps(_mm512_mul_ps(offset, _mm512_cvtepi32_ps(w)), shift));
        if (bf16_out) {
            const __m512i b = _mm512_castps_si512(v);
            const __m512i odd = _mm512_and_si512(_mm512_srli_epi32(b, 16), _mm512_set1_epi32(1));
            const __m512i r =
                _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(b, _mm512_set1_epi32(0x7FFF)), odd), 16);
            _mm256_storeu_si256((__m256i *)((uint16_t *)y + at + (size_t)i * stride), _mm512_cvtepi32_epi16(r));
        } else {
            _mm512_storeu_ps((float *)y + at + (size_t)i * stride, v);
        }
    }
}

KERNEL INLINE void forward(const bwma_conv_shape *s, const uint8_t *codes, const uint32_t *packed,
                           const int32_t *window, const bwma_codes_terms *terms, void *y, int bf16_out, int first,
                           int count, const int quads) {
    const int o = s->out_channels;
    for (int n = first; n < first + count; n++) {
        const uint32_t *image = (const uint32_t *)(codes + (size_t)n * s->height * s->width * s->channels);
        for (int r = 0; r < s->height; r++)
            for (int x0 = 0; x0 < s->width; x0 += 16) {
                const size_t p = ((size_t)n * s->height + r) * s->width + x0;
                for (int ob = 0; ob < o / 16; ob++) {
                    __m512i acc[16];
                    block(s, image, packed, r, x0, ob, quads, acc);
                    finish(acc, window + p, terms, ob, y, p * o + 16 * ob, o, bf16_out);
                }
            }
    }
}

KERNEL void bwma_codes_conv3x3_forward(const bwma_conv_shape *s, const uint8_t *codes, const uint32_t *packed,
                                       const int32_t *window_sums, const bwma_codes_terms *terms, void *y,
                                       int bf16_out, int first, int count) {
    if (s->channels == 16) forward(s, codes, packed, window_sums, terms, y, bf16_out, first, count, 4);
    else forward(s, codes, packed, window_sums, terms, y, bf16_out, first, count, 8);
}
