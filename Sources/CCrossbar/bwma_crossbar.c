// The bit-serial crossbar datapath of ideal cells on AVX-512 VPOPCNTDQ: 0/1 cells times the 0/1 bit-planes of the
// input codes are AND + popcount over 32-row words, 16 output positions per vector, with the ADC and the shift-add
// applied in registers — no s32 sum matrix, no operand packing. Bit for bit the int8 GEMM route's result (CIMSimulator
// `CrossbarArray.accumulateIntegers`): the sums are the same integers and the ADC and shift-add the same Float
// operations in the same order (no contraction into FMA).
#include "bwma_crossbar.h"

#include <immintrin.h>

#pragma clang fp contract(off)

#define KERNEL __attribute__((target("avx512f,avx512bw,avx512vl,avx512vpopcntdq")))

#define TRANSPOSE_KERNEL __attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi,gfni")))

// Whether the CPU has AVX-512 F, BW and VL (every kernel here needs them).
static int avx512(void) {
    static int known = -1;
    if (known < 0) {
        __builtin_cpu_init();
        known = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                __builtin_cpu_supports("avx512vl");
    }
    return known;
}

int bwma_popcount_available(void) {
    static int known = -1;
    if (known < 0) known = avx512() && __builtin_cpu_supports("avx512vpopcntdq");
    return known;
}

// Whether `masks_gfni` and `bytes_to_planes_vbmi` run here (GFNI's bit-matrix transform, AVX512-VBMI's byte
// permutes).
static int transposes_bits(void) {
    static int known = -1;
    if (known < 0) known = avx512() && __builtin_cpu_supports("gfni") && __builtin_cpu_supports("avx512vbmi");
    return known;
}

static inline long padded(long n) { return (n + 15) / 16 * 16; }

// planes[(j·words + w)·np + p] = Σ_b bitⱼ(codes[(32w + b)·ld + p]) << b: the bit-planes as masks over the rows,
// positions from `from` (a multiple of 16) on: a byte test per plane and row sets one bit of 16 positions' words.
KERNEL static void masks(const uint8_t *codes, int rows, long ld, long from, long n, int bits, int words,
                         uint32_t *planes) {
    const long np = padded(n);
    for (long p0 = from; p0 < n; p0 += 16) {
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

// The ADC code of `ADCLanes` for a sum s ≥ 0: round half to even by the constant 1.5·2²³, at most top (a sum is
// never negative, so the clamp at 0 of `ADCLanes` never acts).
KERNEL static inline __m512 code(__m512 s, __m512 inverse, __m512 top) {
    const __m512 magic = _mm512_set1_ps(12582912.0f);
    return _mm512_min_ps(_mm512_sub_ps(_mm512_add_ps(_mm512_mul_ps(s, inverse), magic), magic), top);
}

// Columns c … c + CB − 1 (CB = 1 or 2: two columns share every load of the planes' masks).
KERNEL static inline __attribute__((always_inline)) void shift_add_columns(
    const uint32_t *planes, long n, const int bits, const int words, const uint32_t *cells, int c, const int CB,
    const int exact[2], float *acc, long lda, __m512 inverse, __m512 top, const __m512 *weight,
    const __m512 *scaled) {
    const long np = padded(n);
    __m512i cell[2][4];
    for (int k = 0; k < CB; k++) {
        for (int w = 0; w < words && w < 4; w++) cell[k][w] = _mm512_set1_epi32((int)cells[(c + k) * words + w]);
    }
    for (long p0 = 0; p0 < n; p0 += 16) {
        const __mmask16 lanes = n - p0 >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - p0)) - 1);
        __m512 a[2];
        for (int k = 0; k < CB; k++) a[k] = _mm512_maskz_loadu_ps(lanes, acc + (c + k) * lda + p0);
        for (int j = 0; j < bits; j++) {
            __m512i s[2] = {_mm512_setzero_si512(), _mm512_setzero_si512()};
            for (int w = 0; w < words; w++) {
                const __m512i m = _mm512_loadu_si512(planes + (j * words + w) * np + p0);
                for (int k = 0; k < CB; k++) {
                    const __m512i cw = w < 4 ? cell[k][w] : _mm512_set1_epi32((int)cells[(c + k) * words + w]);
                    s[k] = _mm512_add_epi32(s[k], _mm512_popcnt_epi32(_mm512_and_si512(m, cw)));
                }
            }
            for (int k = 0; k < CB; k++) {
                const __m512 v = _mm512_cvtepi32_ps(s[k]);
                a[k] = _mm512_add_ps(a[k], exact[k] ? _mm512_mul_ps(weight[j], v)
                                                    : _mm512_mul_ps(code(v, inverse, top), scaled[j]));
            }
        }
        for (int k = 0; k < CB; k++) _mm512_mask_storeu_ps(acc + (c + k) * lda + p0, lanes, a[k]);
    }
}

KERNEL static inline __attribute__((always_inline)) void shift_add_body(
    const uint32_t *planes, long n, const int bits, const int words, const uint32_t *cells, int columns, bwma_adc adc,
    int exact_last_column, float *acc, long lda) {
    const __m512 inverse = _mm512_set1_ps(adc.inverse_step), top = _mm512_set1_ps(adc.top);
    // 2ʲ·(code·step) as code·(2ʲ·step): a power of two scales a product exactly, so the same bits in one multiply.
    __m512 weight[8], scaled[8];
    for (int j = 0; j < bits; j++) {
        weight[j] = _mm512_set1_ps((float)(1u << j));
        scaled[j] = _mm512_set1_ps((float)(1u << j) * adc.step);
    }
    for (int c = 0; c < columns; c += 2) {
        int exact[2];
        for (int k = 0; k < 2; k++) exact[k] = adc.passes_through || (exact_last_column && c + k == columns - 1);
        if (c + 2 <= columns) {
            shift_add_columns(planes, n, bits, words, cells, c, 2, exact, acc, lda, inverse, top, weight, scaled);
        } else {
            shift_add_columns(planes, n, bits, words, cells, c, 1, exact, acc, lda, inverse, top, weight, scaled);
        }
    }
}

// `shift_add_body` with the plane and word counts of the usual layers as constants, so their loops unroll and the
// column's cell words stay in registers.
KERNEL static void shift_add(const uint32_t *planes, long n, int bits, int words, const uint32_t *cells,
                             int columns, bwma_adc adc, int exact_last_column, float *acc, long lda) {
#define SHIFT_ADD(B, W)                                                                                          \
    if (bits == B && words == W) {                                                                             \
        shift_add_body(planes, n, B, W, cells, columns, adc, exact_last_column, acc, lda);                      \
        return;                                                                                                \
    }
    SHIFT_ADD(4, 1) SHIFT_ADD(4, 2) SHIFT_ADD(4, 3) SHIFT_ADD(4, 4)
    SHIFT_ADD(2, 1) SHIFT_ADD(2, 2) SHIFT_ADD(2, 4) SHIFT_ADD(8, 1) SHIFT_ADD(8, 2) SHIFT_ADD(8, 4)
#undef SHIFT_ADD
    shift_add_body(planes, n, bits, words, cells, columns, adc, exact_last_column, acc, lda);
}

// As `masks` for the positions below `end` (a multiple of 8, every 8-byte read inside the rows), 8 rows × 8 positions
// at a time: one gather of the 8 rows' 8 bytes, a byte permute to position-major order (rows reversed), and GFNI's
// affine transform with the matrix operand transposes each position's 8×8 bit matrix — byte j of position p is then
// plane j's mask over the 8 rows. Four such blocks make the 32-row words (two byte and two word permutes).
TRANSPOSE_KERNEL static void masks_gfni(const uint8_t *codes, int rows, long ld, long end, long n, int bits,
                                        int words, uint32_t *planes) {
    const long np = padded(n);
    uint8_t rev[64], pair[2][64];
    uint16_t quad[2][32];
    for (int p = 0; p < 8; p++) {
        for (int r = 0; r < 8; r++) rev[8 * p + r] = (uint8_t)(8 * (7 - r) + p);
    }
    for (int h = 0; h < 2; h++) {  // planes 4h … 4h + 3
        for (int e = 0; e < 32; e++) {  // element e = 8·(j − 4h) + p
            const int j = 4 * h + e / 8, p = e % 8;
            pair[h][2 * e] = (uint8_t)(8 * p + j);        // rows 0–7 (first source)
            pair[h][2 * e + 1] = (uint8_t)(64 + 8 * p + j);  // rows 8–15 (second source)
        }
    }
    for (int d = 0; d < 16; d++) {
        for (int h = 0; h < 2; h++) {
            quad[h][2 * d] = (uint16_t)(16 * h + d);           // rows 0–15 of element 16h + d
            quad[h][2 * d + 1] = (uint16_t)(32 + 16 * h + d);  // rows 16–31
        }
    }
    const __m512i reverse = _mm512_loadu_si512(rev), identity = _mm512_set1_epi64(0x8040201008040201LL);
    const __m512i vindex = _mm512_set_epi64(7 * ld, 6 * ld, 5 * ld, 4 * ld, 3 * ld, 2 * ld, ld, 0);
    for (long p0 = 0; p0 < end; p0 += 8) {
        for (int w = 0; w < words; w++) {
            __m512i g[4];
            for (int k = 0; k < 4; k++) {
                const int r0 = 32 * w + 8 * k, valid = rows - r0;
                if (valid <= 0) {
                    g[k] = _mm512_setzero_si512();
                    continue;
                }
                const __mmask8 m = valid >= 8 ? (__mmask8)0xFF : (__mmask8)((1u << valid) - 1);
                const __m512i z = _mm512_mask_i64gather_epi64(_mm512_setzero_si512(), m, vindex,
                                                              (const void *)(codes + r0 * ld + p0), 1);
                g[k] = _mm512_gf2p8affine_epi64_epi8(identity, _mm512_permutexvar_epi8(reverse, z), 0);
            }
            for (int h = 0; h < 2 && 4 * h < bits; h++) {
                const __m512i pi = _mm512_loadu_si512(pair[h]);
                const __m512i lo = _mm512_permutex2var_epi8(g[0], pi, g[1]);  // 16-bit: rows 0–15
                const __m512i hi = _mm512_permutex2var_epi8(g[2], pi, g[3]);  // rows 16–31
                for (int q = 0; q < 2; q++) {
                    const __m512i d = _mm512_permutex2var_epi16(lo, _mm512_loadu_si512(quad[q]), hi);
                    const int j = 4 * h + 2 * q;
                    if (j < bits) {
                        _mm256_storeu_si256((__m256i *)(planes + (j * words + w) * np + p0),
                                            _mm512_castsi512_si256(d));
                    }
                    if (j + 1 < bits) {
                        _mm256_storeu_si256((__m256i *)(planes + ((j + 1) * words + w) * np + p0),
                                            _mm512_extracti64x4_epi64(d, 1));
                    }
                }
            }
        }
    }
    masks(codes, rows, ld, end, n, bits, words, planes);
}

void bwma_popcount_group(const uint8_t *codes, int rows, long ld, long n, int bits, const uint32_t *cells,
                         int columns, bwma_adc adc, int exact_last_column, float *acc, long lda, uint32_t *scratch) {
    const int words = (rows + 31) / 32;
    // Whole blocks of 16 positions by the bit transpose (every read inside the rows), the rest row by row.
    const long end = n / 16 * 16;
    if (transposes_bits() && end > 0) {
        masks_gfni(codes, rows, ld, end, n, bits, words, scratch);
    } else {
        masks(codes, rows, ld, 0, n, bits, words, scratch);
    }
    shift_add(scratch, n, bits, words, cells, columns, adc, exact_last_column, acc, lda);
}

// 4 positions × 16 channels per step: the four 16-byte pixels in one vector, one byte permute makes each channel's
// 4 bytes adjacent, and they go to the 16 channel planes as 4-byte stores.
TRANSPOSE_KERNEL static long bytes_to_planes_vbmi(const uint8_t *src, long positions, int channels, uint8_t *dst) {
    uint8_t order[64];
    for (int c = 0; c < 16; c++) {
        for (int q = 0; q < 4; q++) order[4 * c + q] = (uint8_t)(16 * q + c);
    }
    const __m512i permute = _mm512_loadu_si512(order);
    const long end = positions / 4 * 4;
    uint32_t lanes[16];
    for (long p = 0; p < end; p += 4) {
        for (int c0 = 0; c0 + 16 <= channels; c0 += 16) {
            __m512i z = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)(src + p * channels + c0)));
            z = _mm512_inserti32x4(z, _mm_loadu_si128((const __m128i *)(src + (p + 1) * channels + c0)), 1);
            z = _mm512_inserti32x4(z, _mm_loadu_si128((const __m128i *)(src + (p + 2) * channels + c0)), 2);
            z = _mm512_inserti32x4(z, _mm_loadu_si128((const __m128i *)(src + (p + 3) * channels + c0)), 3);
            _mm512_storeu_si512(lanes, _mm512_permutexvar_epi8(permute, z));
            for (int c = 0; c < 16; c++) __builtin_memcpy(dst + (long)(c0 + c) * positions + p, &lanes[c], 4);
        }
    }
    return end;
}

void bwma_bytes_to_planes(const uint8_t *src, long positions, int channels, uint8_t *dst) {
    long from = 0;
    if (channels % 16 == 0 && transposes_bits()) from = bytes_to_planes_vbmi(src, positions, channels, dst);
    for (long p = from; p < positions; p++) {
        for (int c = 0; c < channels; c++) dst[(long)c * positions + p] = src[p * channels + c];
    }
}

// One 16 × 16 tile: rows r of src (stride ss) become columns of dst (stride ds). Unpacks of 32- and 64-bit elements,
// then two rounds of 128-bit lane shuffles.
KERNEL static void transpose_tile(const float *src, long ss, float *dst, long ds) {
    __m512 r[16], t[16];
    for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(src + i * ss);
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        for (int k = 0; k < 2; k++) {
            const __m512d a = _mm512_castps_pd(t[i + k]), b = _mm512_castps_pd(t[i + 2 + k]);
            r[i + 2 * k] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));
            r[i + 2 * k + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
        }
    }
    for (int h = 0; h < 2; h++) {
        for (int i = 0; i < 4; i++) {
            const int a = 8 * h + i, b = a + 4;
            t[a] = _mm512_shuffle_f32x4(r[a], r[b], 0x88);
            t[b] = _mm512_shuffle_f32x4(r[a], r[b], 0xDD);
        }
    }
    for (int i = 0; i < 8; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xDD);
    }
    for (int i = 0; i < 16; i++) _mm512_storeu_ps(dst + i * ds, r[i]);
}

void bwma_planes_to_channels_last(const float *src, long positions, int channels, float *dst) {
    long p0 = 0;
    int c0 = 0;
    if (avx512()) {
        for (c0 = 0; c0 + 16 <= channels; c0 += 16) {
            for (p0 = 0; p0 + 16 <= positions; p0 += 16) {
                transpose_tile(src + c0 * positions + p0, positions, dst + p0 * channels + c0, channels);
            }
            for (long p = p0; p < positions; p++) {
                for (int c = c0; c < c0 + 16; c++) dst[p * channels + c] = src[c * positions + p];
            }
        }
    }
    for (long p = 0; p < positions; p++) {
        for (int c = c0; c < channels; c++) dst[p * channels + c] = src[c * positions + p];
    }
}
