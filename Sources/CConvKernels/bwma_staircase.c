// The backward of BWMA's soft staircase on AVX-512: the operations of the Swift lanes
// (`QuantizationKernels.softStaircaseBackward`, 16 Floats at a time there too) in the same order, no contraction into
// FMA, so the same bits — twice the elements per instruction of the Swift code's AVX2.
#include "bwma_conv.h"
#include "cpu.h"

#include <immintrin.h>

#pragma clang fp contract(off)

#define KERNEL __attribute__((target("avx512f")))

int bwma_soft_staircase_available(void) { CPU_SUPPORTS_ONCE(__builtin_cpu_supports("avx512f")); }

KERNEL static inline __m512 gradient(__m512 x, __m512 dy, const bwma_staircase *s) {
    const __m512 magic = _mm512_set1_ps(12582912.0f);  // 1.5 · 2²³: round half to even by the FPU
    const __m512 u = _mm512_mul_ps(x, _mm512_set1_ps(s->inverse_step));
    const __m512 r = _mm512_sub_ps(_mm512_add_ps(u, magic), magic);
    const __m512 w = _mm512_mul_ps(_mm512_sub_ps(u, r), _mm512_set1_ps(s->two_pi));
    const __m512 w2 = _mm512_mul_ps(w, w);
    __m512 p = _mm512_set1_ps(s->cosine[0]);
    for (int k = 1; k < 7; k++) p = _mm512_add_ps(_mm512_mul_ps(p, w2), _mm512_set1_ps(s->cosine[k]));
    const __m512 g = _mm512_sub_ps(_mm512_set1_ps(1), _mm512_mul_ps(_mm512_set1_ps(s->amplitude), p));
    const __mmask16 outside = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ) |
                              _mm512_cmp_ps_mask(x, _mm512_set1_ps(s->clip), _CMP_GT_OQ);
    return _mm512_maskz_mul_ps((__mmask16)~outside, dy, g);
}

KERNEL void bwma_soft_staircase_backward(float *dx, const float *dy, const float *x, long count,
                                         const bwma_staircase *s) {
    long i = 0;
    for (; i + 16 <= count; i += 16) {
        _mm512_storeu_ps(dx + i, gradient(_mm512_loadu_ps(x + i), _mm512_loadu_ps(dy + i), s));
    }
    if (i < count) {
        const __mmask16 lanes = (__mmask16)((1u << (count - i)) - 1);
        _mm512_mask_storeu_ps(dx + i, lanes, gradient(_mm512_maskz_loadu_ps(lanes, x + i),
                                                      _mm512_maskz_loadu_ps(lanes, dy + i), s));
    }
}

KERNEL void bwma_soft_staircase_backward_add_masked(float *out, const float *dy, const float *x, const float *shortcut,
                                                    long count, const bwma_staircase *s) {
    for (long i = 0; i < count; i += 16) {
        const __mmask16 lanes = count - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (count - i)) - 1);
        const __m512 xv = _mm512_maskz_loadu_ps(lanes, x + i);
        const __m512 sum = _mm512_add_ps(gradient(xv, _mm512_maskz_loadu_ps(lanes, dy + i), s),
                                         _mm512_maskz_loadu_ps(lanes, shortcut + i));
        // Kept where not x ≤ 0 (a NaN keeps its sum, as the Swift lanes do).
        const __mmask16 keep = _mm512_cmp_ps_mask(xv, _mm512_setzero_ps(), _CMP_NLE_UQ);
        _mm512_mask_storeu_ps(out + i, lanes, _mm512_maskz_mov_ps(keep, sum));
    }
}
