// The bit-serial crossbar datapath of ideal cells on AVX-512 VPOPCNTDQ: 0/1 cells times the 0/1 bit-planes of the
// input codes are AND + popcount over 32-row words, 16 output positions per vector, with the ADC and the shift-add
// applied in registers — no s32 sum matrix, no operand packing. Bit for bit the int8 GEMM route's result (CIMSimulator
// `CrossbarArray.accumulateIntegers`): the sums are the same integers and the ADC and shift-add the same Float
// operations in the same order (no contraction into FMA).
#include "bwma_crossbar.h"

#include <immintrin.h>

#pragma clang fp contract(off)

#define KERNEL __attribute__((target("avx512f,avx512bw,avx512vl,avx512vpopcntdq")))

int bwma_popcount_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vpopcntdq");
}

static inline long padded(long n) { return (n + 15) / 16 * 16; }

// planes[(j·words + w)·np + p] = Σ_b bitⱼ(codes[(32w + b)·ld + p]) << b: the bit-planes as masks over the rows.
KERNEL static void masks(const uint8_t *codes, int rows, long ld, long n, int bits, int words, uint32_t *planes) {
    const long np = padded(n);
    for (long p0 = 0; p0 < n; p0 += 16) {
        const __mmask16 lanes = n - p0 >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - p0)) - 1);
        for (int w = 0; w < words; w++) {
            __m512i m[8];
            for (int j = 0; j < bits; j++) m[j] = _mm512_setzero_si512();
            const int end = rows < 32 * (w + 1) ? rows : 32 * (w + 1);
            for (int r = 32 * w; r < end; r++) {
                const __m128i v = _mm_maskz_loadu_epi8(lanes, codes + r * ld + p0);
                const __m512i bit = _mm512_set1_epi32((int)(1u << (r - 32 * w)));
                for (int j = 0; j < bits; j++) {
                    const __mmask16 k = _mm_test_epi8_mask(v, _mm_set1_epi8((char)(1u << j)));
                    m[j] = _mm512_mask_or_epi32(m[j], k, m[j], bit);
                }
            }
            for (int j = 0; j < bits; j++) _mm512_storeu_si512(planes + (j * words + w) * np + p0, m[j]);
        }
    }
}

// The ADC of `ADCLanes`: round half to even by the constant 1.5·2²³, clamped to 0…top, times the step.
KERNEL static inline __m512 convert(__m512 s, __m512 inverse, __m512 step, __m512 top) {
    const __m512 magic = _mm512_set1_ps(12582912.0f);
    __m512 v = _mm512_sub_ps(_mm512_add_ps(_mm512_mul_ps(s, inverse), magic), magic);
    v = _mm512_max_ps(v, _mm512_setzero_ps());  // v ≥ 0 or −0/+0: the same as replacing v < 0 by 0
    v = _mm512_min_ps(v, top);
    return _mm512_mul_ps(v, step);
}

KERNEL static void shift_add(const uint32_t *planes, long n, int bits, int words, const uint32_t *cells,
                             int columns, bwma_adc adc, int exact_last_column, float *acc, long lda) {
    const long np = padded(n);
    const __m512 inverse = _mm512_set1_ps(adc.inverse_step), step = _mm512_set1_ps(adc.step);
    const __m512 top = _mm512_set1_ps(adc.top);
    for (int c = 0; c < columns; c++) {
        const int exact = adc.passes_through || (exact_last_column && c == columns - 1);
        __m512i cell[4];
        for (int w = 0; w < words && w < 4; w++) cell[w] = _mm512_set1_epi32((int)cells[c * words + w]);
        float *row = acc + c * lda;
        for (long p0 = 0; p0 < n; p0 += 16) {
            const __mmask16 lanes = n - p0 >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - p0)) - 1);
            __m512 a = _mm512_maskz_loadu_ps(lanes, row + p0);
            for (int j = 0; j < bits; j++) {
                __m512i s = _mm512_setzero_si512();
                for (int w = 0; w < words; w++) {
                    const __m512i cw = w < 4 ? cell[w] : _mm512_set1_epi32((int)cells[c * words + w]);
                    const __m512i m = _mm512_loadu_si512(planes + (j * words + w) * np + p0);
                    s = _mm512_add_epi32(s, _mm512_popcnt_epi32(_mm512_and_si512(m, cw)));
                }
                __m512 v = _mm512_cvtepi32_ps(s);
                if (!exact) v = convert(v, inverse, step, top);
                a = _mm512_add_ps(a, _mm512_mul_ps(_mm512_set1_ps((float)(1u << j)), v));
            }
            _mm512_mask_storeu_ps(row + p0, lanes, a);
        }
    }
}

void bwma_popcount_group(const uint8_t *codes, int rows, long ld, long n, int bits, const uint32_t *cells,
                         int columns, bwma_adc adc, int exact_last_column, float *acc, long lda, uint32_t *scratch) {
    const int words = (rows + 31) / 32;
    masks(codes, rows, ld, n, bits, words, scratch);
    shift_add(scratch, n, bits, words, cells, columns, adc, exact_last_column, acc, lda);
}
