// The bit-planes of a row group's input codes as masks over its rows, the operand of the AND + popcount datapath
// (bwma_crossbar.c): bit b of word w of plane j at position p is bit j of row 32·w + b's code there. Row by row with
// byte tests (every AVX-512 CPU), or 8 rows × 8 positions at a time by a gather and GFNI's bit-matrix transpose.
#include "bwma_bitplanes.h"
#include "cpu.h"

static inline long padded(long n) { return (n + 15) / 16 * 16; }

// planes[(j·words + w)·np + p] = Σ_b bitⱼ(codes[(32w + b)·ld + p]) << b: the bit-planes as masks over the rows,
// positions from `from` (a multiple of 16) on: a byte test per plane and row sets one bit of 16 positions' words.
KERNEL void bwma_masks(const uint8_t *codes, int rows, long ld, long from, long n, int bits, int words,
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

// The byte permutes of `bwma_masks_gather`: rev puts 8 rows × 8 positions (row-major) in position-major order, rows
// reversed; pair[h] interleaves two such blocks' plane bytes 4h … 4h + 3 into 16-bit halves; quad[q] the 16-bit
// halves of rows 0–15 and 16–31 into 32-bit words.
typedef struct {
    uint8_t rev[64], pair[2][64];
    uint16_t quad[2][32];
} gfni_tables;

static void gfni_tables_init(gfni_tables *t) {
    for (int p = 0; p < 8; p++) {
        for (int r = 0; r < 8; r++) t->rev[8 * p + r] = (uint8_t)(8 * (7 - r) + p);
    }
    for (int h = 0; h < 2; h++) {  // planes 4h … 4h + 3
        for (int e = 0; e < 32; e++) {  // element e = 8·(j − 4h) + p
            const int j = 4 * h + e / 8, p = e % 8;
            t->pair[h][2 * e] = (uint8_t)(8 * p + j);        // rows 0–7 (first source)
            t->pair[h][2 * e + 1] = (uint8_t)(64 + 8 * p + j);  // rows 8–15 (second source)
        }
    }
    for (int d = 0; d < 16; d++) {
        for (int h = 0; h < 2; h++) {
            t->quad[h][2 * d] = (uint16_t)(16 * h + d);           // rows 0–15 of element 16h + d
            t->quad[h][2 * d + 1] = (uint16_t)(32 + 16 * h + d);  // rows 16–31
        }
    }
}

// One 32-row word of positions p0 … p0 + 7: g[k] holds rows 8k … 8k + 7 of it (8 bytes each, row-major, zero for rows
// past the group). A byte permute to position-major order (rows reversed), and GFNI's affine transform with the
// matrix operand transposes each position's 8×8 bit matrix — byte j of position p is then plane j's mask over the 8
// rows; four such blocks make the words (two byte and two word permutes).
TRANSPOSE_KERNEL static inline void store_word(__m512i g[4], const gfni_tables *t, int bits, int words, int w,
                                               long np, long p0, uint32_t *planes) {
    const __m512i reverse = _mm512_loadu_si512(t->rev), identity = _mm512_set1_epi64(0x8040201008040201LL);
    for (int k = 0; k < 4; k++) {
        g[k] = _mm512_gf2p8affine_epi64_epi8(identity, _mm512_permutexvar_epi8(reverse, g[k]), 0);
    }
    for (int h = 0; h < 2 && 4 * h < bits; h++) {
        const __m512i pi = _mm512_loadu_si512(t->pair[h]);
        const __m512i lo = _mm512_permutex2var_epi8(g[0], pi, g[1]);  // 16-bit: rows 0–15
        const __m512i hi = _mm512_permutex2var_epi8(g[2], pi, g[3]);  // rows 16–31
        for (int q = 0; q < 2; q++) {
            const __m512i d = _mm512_permutex2var_epi16(lo, _mm512_loadu_si512(t->quad[q]), hi);
            const int j = 4 * h + 2 * q;
            if (j < bits) {
                _mm256_storeu_si256((__m256i *)(planes + (j * words + w) * np + p0), _mm512_castsi512_si256(d));
            }
            if (j + 1 < bits) {
                _mm256_storeu_si256((__m256i *)(planes + ((j + 1) * words + w) * np + p0),
                                    _mm512_extracti64x4_epi64(d, 1));
            }
        }
    }
}

// The lanes of the group's rows 8k … 8k + 7 of word w that exist.
static inline __mmask8 row_lanes(int rows, int w, int k) {
    const int valid = rows - (32 * w + 8 * k);
    return valid <= 0 ? (__mmask8)0 : valid >= 8 ? (__mmask8)0xFF : (__mmask8)((1u << valid) - 1);
}

// The 8 bytes of the rows of lanes m at 8 adjacent output pixels of one image row from `base` (qword lane r: row r's
// bytes, the first pixel lowest): one gather; with stride 2 the even bytes of 16 (two gathers, their even bytes
// joined by one two-source byte permute).
TRANSPOSE_KERNEL static inline __m512i row_bytes(const uint8_t *base, __m512i vindex, __mmask8 m, long stride,
                                                 __m512i evens) {
    const __m512i g = _mm512_mask_i64gather_epi64(_mm512_setzero_si512(), m, vindex, (const void *)base, 1);
    if (stride != 2) return g;
    const __m512i hi = _mm512_mask_i64gather_epi64(_mm512_setzero_si512(), m, vindex, (const void *)(base + 8), 1);
    return _mm512_permutex2var_epi8(g, evens, hi);
}

// Where output position p's pixel of row offset 0 lies in `src`'s images.
static inline const uint8_t *pixel(const bwma_image_rows *src, long p) {
    const long i = p / src->positions, q = p % src->positions, y = q / src->width, x = q % src->width;
    return src->images + i * src->image_stride + src->stride * (y * src->padded_width + x);
}

// As `bwma_masks` for the positions below `end`, 8 rows × 8 positions at a time: per 8 rows, the bytes of 8 adjacent
// positions (`row_bytes`; row r of position p at `bwma_image_rows`'s address of p plus row_offset[r]), transposed by
// `store_word`. A block of 8 that runs past its image row (width ≥ 7: at most one row end in it) takes its first a
// positions from this row and the rest from the start of the next (of the same image or the next one), joined by a
// shift; positions from n on read as 0.
TRANSPOSE_KERNEL void bwma_masks_gather(const bwma_image_rows *src, int rows, long end, long n, int bits,
                                        int words, uint32_t *planes) {
    const long np = padded(n), width = src->width, stride = src->stride;
    gfni_tables t;
    gfni_tables_init(&t);
    uint8_t even[64];  // lane e: bytes 0, 2, 4, 6 of the first gather's lane e, then of the second's
    for (int e = 0; e < 8; e++) {
        for (int j = 0; j < 8; j++) even[8 * e + j] = (uint8_t)((j < 4 ? 0 : 64) + 8 * e + 2 * (j % 4));
    }
    const __m512i evens = _mm512_loadu_si512(even);
    for (long p0 = 0; p0 < end; p0 += 8) {
        const uint8_t *base = pixel(src, p0);
        const long a = width - p0 % src->positions % width;  // the block's positions left in this image row
        const uint8_t *next = a < 8 && p0 + a < n ? pixel(src, p0 + a) : NULL;
        const __m512i keep = _mm512_set1_epi64(a < 8 ? (long long)((1ULL << (8 * a)) - 1) : -1LL);
        const __m128i shift = _mm_cvtsi64_si128(8 * a);
        for (int w = 0; w < words; w++) {
            __m512i g[4];
            for (int k = 0; k < 4; k++) {
                const __mmask8 m = row_lanes(rows, w, k);
                const __m512i vindex = _mm512_maskz_loadu_epi64(m, src->row_offset + 32 * w + 8 * k);
                g[k] = row_bytes(base, vindex, m, stride, evens);
                if (a < 8) {
                    g[k] = _mm512_and_si512(g[k], keep);
                    if (next) {
                        const __m512i rest = row_bytes(next, vindex, m, stride, evens);
                        g[k] = _mm512_or_si512(g[k], _mm512_sll_epi64(rest, shift));
                    }
                }
            }
            store_word(g, &t, bits, words, w, np, p0, planes);
        }
    }
}

// `bwma_masks_gather` on unrolled rows (row r at codes + r·ld, one "image" of n positions in one row of pixels) below
// `end` (a multiple of 16, every 8-byte read inside the rows), then `bwma_masks` for the rest.
TRANSPOSE_KERNEL void bwma_masks_gfni(const uint8_t *codes, int rows, long ld, long end, long n, int bits,
                                      int words, uint32_t *planes) {
    int64_t offsets[rows];
    for (int r = 0; r < rows; r++) offsets[r] = (int64_t)r * ld;
    const bwma_image_rows src = {codes, 0, n, n, 0, offsets, 1};
    bwma_masks_gather(&src, rows, end, n, bits, words, planes);
    bwma_masks(codes, rows, ld, end, n, bits, words, planes);
}
