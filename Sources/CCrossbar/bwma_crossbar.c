// The bit-serial crossbar datapath of ideal cells on AVX-512 VPOPCNTDQ: 0/1 cells times the 0/1 bit-planes of the
// input codes (masks over the rows, bwma_bitplanes.c) are AND + popcount over 32-row words, 16 output positions per
// vector; the ADC and the shift-add run in registers on integers — no s32 sum matrix, no operand packing. While the
// row groups add up, the accumulators hold int32 Σ_groups Σⱼ 2ʲ·code (codes, not code·step: the shift-add of a
// digital periphery), and `bwma_popcount_finish` multiplies once by the ADC's step. Every step before that multiply is
// exact, so the result is the int8 GEMM route's and the fp32 path's (CIMSimulator `CrossbarArray`) bit for bit.
#include "bwma_bitplanes.h"
#include "bwma_crossbar.h"
#include "cpu.h"

#pragma clang fp contract(off)

#define INLINE static inline __attribute__((always_inline))

int bwma_popcount_available(void) {
    static int known = -1;
    if (known < 0) known = avx512() && __builtin_cpu_supports("avx512vpopcntdq");
    return known;
}

static int packing_allowed = 1;

void bwma_popcount_allow_packed(int allowed) { packing_allowed = allowed != 0; }

// Whether the packed shift-add runs here (VBMI's two-table byte permute, VNNI's byte dot product) and is allowed.
int bwma_popcount_packs(void) {
    static int known = -1;
    if (known < 0) {
        known = bwma_popcount_available() && __builtin_cpu_supports("avx512vbmi") &&
                __builtin_cpu_supports("avx512vnni");
    }
    return known && packing_allowed;
}

static inline long padded(long n) { return (n + 15) / 16 * 16; }

static inline __mmask16 tail(long n, long p0) {
    return n - p0 >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - p0)) - 1);
}

// The ADC code of `ADCLanes` for a sum s ≥ 0: round half to even by the constant 1.5·2²³, at most top (a sum is
// never negative, so the clamp at 0 of `ADCLanes` never acts).
KERNEL INLINE __m512 code(__m512 s, __m512 inverse, __m512 top) {
    const __m512 magic = _mm512_set1_ps(12582912.0f);
    return _mm512_min_ps(_mm512_sub_ps(_mm512_add_ps(_mm512_mul_ps(s, inverse), magic), magic), top);
}

// The first four cell words of columns c … c + CB − 1, broadcast (the rest are read where they are needed).
KERNEL INLINE void load_cells(const uint32_t *cells, int c, const int CB, const int words, __m512i cell[2][4]) {
    for (int k = 0; k < CB; k++) {
        for (int w = 0; w < words && w < 4; w++) cell[k][w] = _mm512_set1_epi32((int)cells[(c + k) * words + w]);
    }
}

// One plane's sums for columns c … c + CB − 1 (CB = 1 or 2: two columns share every load of the plane's masks) at 16
// positions: Σ_w popcount(plane word ∧ cell word).
KERNEL INLINE void plane_sums(const uint32_t *plane, long np, const int words, const __m512i cell[2][4],
                              const uint32_t *cells, int c, const int CB, __m512i s[2]) {
    s[0] = s[1] = _mm512_setzero_si512();
    for (int w = 0; w < words; w++) {
        const __m512i m = _mm512_loadu_si512(plane + w * np);
        for (int k = 0; k < CB; k++) {
            const __m512i cw = w < 4 ? cell[k][w] : _mm512_set1_epi32((int)cells[(c + k) * words + w]);
            s[k] = _mm512_add_epi32(s[k], _mm512_popcnt_epi32(_mm512_and_si512(m, cw)));
        }
    }
}

// Any plane count and group size: plane by plane, t += 2ʲ·code(sⱼ) (2ʲ·sⱼ in an exact column) in int32 lanes, then
// the accumulators += t.
KERNEL INLINE void shift_add_columns(const uint32_t *planes, long n, const int bits, const int words,
                                     const uint32_t *cells, int c, const int CB, const int exact[2], int32_t *acc,
                                     long lda, __m512 inverse, __m512 top) {
    const long np = padded(n);
    __m512i cell[2][4];
    load_cells(cells, c, CB, words, cell);
    for (long p0 = 0; p0 < n; p0 += 16) {
        __m512i t[2] = {_mm512_setzero_si512(), _mm512_setzero_si512()};
        for (int j = 0; j < bits; j++) {
            __m512i s[2];
            plane_sums(planes + j * words * np + p0, np, words, cell, cells, c, CB, s);
            for (int k = 0; k < CB; k++) {
                const __m512i q =
                    exact[k] ? s[k] : _mm512_cvttps_epi32(code(_mm512_cvtepi32_ps(s[k]), inverse, top));
                t[k] = _mm512_add_epi32(t[k], _mm512_slli_epi32(q, (unsigned)j));
            }
        }
        for (int k = 0; k < CB; k++) {
            int32_t *a = acc + (c + k) * lda + p0;
            _mm512_mask_storeu_epi32(a, tail(n, p0), _mm512_add_epi32(_mm512_maskz_loadu_epi32(tail(n, p0), a), t[k]));
        }
    }
}

// The ADC's codes of the sums 0 … 255 as bytes, for VPERMI2B lookups (sums ≤ 255: groups of at most 255 rows; codes
// ≤ 255: ADCs of at most 8 bits). `clamp`: the codes from 127 to the group's rows are all one, so an index clamped at
// 127 finds them in the low half; `halves`: sums of 128 and more look up the high half.
typedef struct {
    __m512i t[4];
    int clamp, halves;
} code_table;

CODES_KERNEL static void code_table_init(code_table *table, bwma_adc adc, int rows) {
    uint8_t codes[256];
    const __m512 inverse = _mm512_set1_ps(adc.inverse_step), top = _mm512_set1_ps(adc.top);
    const __m512 iota = _mm512_cvtepi32_ps(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0));
    for (int s0 = 0; s0 < 256; s0 += 16) {
        const __m512 s = _mm512_add_ps(_mm512_set1_ps((float)s0), iota);
        _mm_storeu_si128((__m128i *)(codes + s0), _mm512_cvtepi32_epi8(_mm512_cvttps_epi32(code(s, inverse, top))));
    }
    for (int h = 0; h < 4; h++) table->t[h] = _mm512_loadu_si512(codes + 64 * h);
    int constant = 1;
    for (int s = 128; s <= rows && s < 256; s++) constant &= codes[s] == codes[127];
    table->clamp = rows >= 128 && constant;
    table->halves = rows >= 128 && !constant;
}

// Up to four planes' sums (each ≤ 255) as the bytes of one dword, plane j in byte j.
CODES_KERNEL INLINE __m512i pack_sums(const __m512i s[4], const int bits) {
    __m512i v = s[0];
    if (bits == 2) v = _mm512_or_si512(v, _mm512_slli_epi32(s[1], 8));
    if (bits >= 3) v = _mm512_ternarylogic_epi32(v, _mm512_slli_epi32(s[1], 8), _mm512_slli_epi32(s[2], 16), 0xFE);
    if (bits == 4) v = _mm512_or_si512(v, _mm512_slli_epi32(s[3], 24));
    return v;
}

CODES_KERNEL INLINE __m512i look_up(const code_table *table, __m512i sums) {
    if (table->clamp) sums = _mm512_min_epu8(sums, _mm512_set1_epi8(127));
    const __m512i low = _mm512_permutex2var_epi8(table->t[0], sums, table->t[1]);
    if (!table->halves) return low;
    const __m512i high = _mm512_permutex2var_epi8(table->t[2], sums, table->t[3]);
    return _mm512_mask_blend_epi8(_mm512_movepi8_mask(sums), low, high);
}

// At most four planes and 255 rows: the planes' sums packed in bytes, one lookup for their codes (none in an exact
// column), and one VPDPBUSD adds Σⱼ 2ʲ·codeⱼ to the accumulators — the same integers as `shift_add_columns`.
CODES_KERNEL INLINE void shift_add_columns_packed(const uint32_t *planes, long n, const int bits, const int words,
                                                  const uint32_t *cells, int c, const int CB, const int exact[2],
                                                  int32_t *acc, long lda, const code_table *table) {
    const long np = padded(n);
    const __m512i weights = _mm512_set1_epi32((int)(0x08040201u & (bits >= 4 ? ~0u : (1u << (8 * bits)) - 1)));
    __m512i cell[2][4];
    load_cells(cells, c, CB, words, cell);
    for (long p0 = 0; p0 < n; p0 += 16) {
        __m512i s[2][4];
        for (int j = 0; j < bits; j++) {
            __m512i sj[2];
            plane_sums(planes + j * words * np + p0, np, words, cell, cells, c, CB, sj);
            for (int k = 0; k < CB; k++) s[k][j] = sj[k];
        }
        for (int k = 0; k < CB; k++) {
            const __m512i sums = pack_sums(s[k], bits), q = exact[k] ? sums : look_up(table, sums);
            int32_t *a = acc + (c + k) * lda + p0;
            const __mmask16 lanes = tail(n, p0);
            _mm512_mask_storeu_epi32(a, lanes, _mm512_dpbusd_epi32(_mm512_maskz_loadu_epi32(lanes, a), q, weights));
        }
    }
}

// Columns in pairs; `exact`: the ADC passes through, or the last column is a digital reference popcount.
#define COLUMN_PAIRS(CALL)                                                                                     \
    for (int c = 0; c < columns; c += 2) {                                                                     \
        int exact[2];                                                                                          \
        for (int k = 0; k < 2; k++) exact[k] = adc.passes_through || (exact_last_column && c + k == columns - 1); \
        if (c + 2 <= columns) {                                                                                \
            CALL(2);                                                                                           \
        } else {                                                                                               \
            CALL(1);                                                                                           \
        }                                                                                                      \
    }

KERNEL INLINE void shift_add_body(const uint32_t *planes, long n, const int bits, const int words,
                                  const uint32_t *cells, int columns, bwma_adc adc, int exact_last_column,
                                  int32_t *acc, long lda, __m512 inverse, __m512 top) {
#define COLUMNS(CB) shift_add_columns(planes, n, bits, words, cells, c, CB, exact, acc, lda, inverse, top)
    COLUMN_PAIRS(COLUMNS)
#undef COLUMNS
}

CODES_KERNEL INLINE void shift_add_packed_body(const uint32_t *planes, long n, const int bits, const int words,
                                               const uint32_t *cells, int columns, bwma_adc adc,
                                               int exact_last_column, int32_t *acc, long lda,
                                               const code_table *table) {
#define COLUMNS(CB) shift_add_columns_packed(planes, n, bits, words, cells, c, CB, exact, acc, lda, table)
    COLUMN_PAIRS(COLUMNS)
#undef COLUMNS
}

// The bodies with the plane and word counts of the usual layers as constants, so their loops unroll and the
// columns' cell words stay in registers.
#define CASE(BODY, B, W, ...)                                                                                  \
    if (bits == B && words == W) {                                                                             \
        BODY(planes, n, B, W, cells, columns, adc, exact_last_column, acc, lda, __VA_ARGS__);                 \
        return;                                                                                                \
    }
#define GENERIC(B, W) CASE(shift_add_body, B, W, inverse, top)
#define PACKED(B, W) CASE(shift_add_packed_body, B, W, &table)

KERNEL static void shift_add_generic(const uint32_t *planes, long n, int bits, int words, const uint32_t *cells,
                                     int columns, bwma_adc adc, int exact_last_column, int32_t *acc, long lda) {
    const __m512 inverse = _mm512_set1_ps(adc.inverse_step), top = _mm512_set1_ps(adc.top);
    GENERIC(8, 1) GENERIC(8, 2) GENERIC(8, 4) GENERIC(4, 1) GENERIC(4, 2) GENERIC(4, 4)
    shift_add_body(planes, n, bits, words, cells, columns, adc, exact_last_column, acc, lda, inverse, top);
}

CODES_KERNEL static void shift_add_packed(const uint32_t *planes, long n, int rows, int bits, const uint32_t *cells,
                                          int columns, bwma_adc adc, int exact_last_column, int32_t *acc,
                                          long lda) {
    const int words = (rows + 31) / 32;
    code_table table;
    code_table_init(&table, adc, rows);
    PACKED(4, 1) PACKED(4, 2) PACKED(4, 3) PACKED(4, 4) PACKED(2, 1) PACKED(2, 2) PACKED(2, 4)
    shift_add_packed_body(planes, n, bits, words, cells, columns, adc, exact_last_column, acc, lda, &table);
}
#undef PACKED
#undef GENERIC
#undef CASE

static void shift_add(const uint32_t *planes, long n, int rows, int bits, const uint32_t *cells, int columns,
                      bwma_adc adc, int exact_last_column, float *acc, long lda) {
    int32_t *sums = (int32_t *)acc;  // integers until `bwma_popcount_finish`
    if (bits <= 4 && rows <= 255 && (adc.passes_through || adc.top <= 255.0f) && bwma_popcount_packs()) {
        shift_add_packed(planes, n, rows, bits, cells, columns, adc, exact_last_column, sums, lda);
    } else {
        shift_add_generic(planes, n, bits, (rows + 31) / 32, cells, columns, adc, exact_last_column, sums, lda);
    }
}

int bwma_image_rows_available(void) { return bwma_popcount_available() && transposes_bits(); }

void bwma_popcount_group_image(const bwma_image_rows *src, int rows, long n, int bits, const uint32_t *cells,
                               int columns, bwma_adc adc, int exact_last_column, float *acc, long lda,
                               uint32_t *scratch) {
    bwma_masks_gather(src, rows, n, n, bits, (rows + 31) / 32, scratch);
    shift_add(scratch, n, rows, bits, cells, columns, adc, exact_last_column, acc, lda);
}

void bwma_popcount_group(const uint8_t *codes, int rows, long ld, long n, int bits, const uint32_t *cells,
                         int columns, bwma_adc adc, int exact_last_column, float *acc, long lda, uint32_t *scratch) {
    const int words = (rows + 31) / 32;
    // Whole blocks of 16 positions by the bit transpose (every read inside the rows), the rest row by row.
    const long end = n / 16 * 16;
    if (transposes_bits() && end > 0) {
        bwma_masks_gfni(codes, rows, ld, end, n, bits, words, scratch);
    } else {
        bwma_masks(codes, rows, ld, 0, n, bits, words, scratch);
    }
    shift_add(scratch, n, rows, bits, cells, columns, adc, exact_last_column, acc, lda);
}

KERNEL void bwma_popcount_finish(float *acc, long lda, long n, int columns, bwma_adc adc, int exact_last_column) {
    for (int c = 0; c < columns; c++) {
        const int exact = adc.passes_through || (exact_last_column && c == columns - 1);
        const __m512 step = _mm512_set1_ps(exact ? 1.0f : adc.step);
        float *a = acc + c * lda;
        for (long p0 = 0; p0 < n; p0 += 16) {
            const __m512 v = _mm512_cvtepi32_ps(_mm512_maskz_loadu_epi32(tail(n, p0), a + p0));
            _mm512_mask_storeu_ps(a + p0, tail(n, p0), _mm512_mul_ps(v, step));
        }
    }
}
