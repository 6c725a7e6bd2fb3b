// The crossbar's digital output stage, written channels-last: per output the off-cell calibration and the
// channel's affine step of CIMSimulator's `OutputStage.write` — the same Float operations in the same order, no FMA
// — for 16 channels × 16 positions at a time, transposed in registers on the way out (AVX-512), where the Swift
// route wrote channel planes and transposed them in a second pass. In bf16 mixed precision the values go out rounded
// to bf16 as the engine rounds (`BFloat16.init`: nearest, ties to even, by the same integer operations).
#include "bwma_crossbar.h"
#include "cpu.h"

#pragma clang fp contract(off)

// A 16 × 16 Float tile transposed in registers, r[i] lane j becoming r[j] lane i: unpacks of 32- and 64-bit
// elements, then two rounds of 128-bit lane shuffles.
TILE_KERNEL static inline __attribute__((always_inline)) void transpose16(__m512 r[16]) {
    __m512 t[16];
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
}

static inline float output_value(const bwma_output_stage *s, float bias, int c, float acc, float ref) {
    const float on = (acc - s->leak * ref) * s->gain;
    return s->alpha_step[c] * (2 * on - ref) + (s->beta_step[c] * ref + bias);
}

// bits(v) + 0x7FFF + bit 16 of bits(v), the top half: round to nearest, ties to even (wrapping, as the Swift).
static inline uint16_t bf16_bits(float v) {
    uint32_t b;
    __builtin_memcpy(&b, &v, 4);
    return (uint16_t)((b + 0x7FFFu + ((b >> 16) & 1u)) >> 16);
}

// The same for 16 lanes: the rounded words' top halves gathered into the low 256 bits by one word permute (a
// narrowing VPMOVDW straight to memory is slow on Zen 4).
TILE_KERNEL static inline __m256i bf16_lanes(__m512 v, __m512i top_halves) {
    const __m512i b = _mm512_castps_si512(v);
    const __m512i odd = _mm512_and_si512(_mm512_srli_epi32(b, 16), _mm512_set1_epi32(1));
    const __m512i r = _mm512_add_epi32(_mm512_add_epi32(b, _mm512_set1_epi32(0x7FFF)), odd);
    return _mm512_castsi512_si256(_mm512_permutexvar_epi16(top_halves, r));
}

// Whole tiles: positions below n / 16 · 16, channels below channels / 16 · 16 — 16 channels' rows at a time,
// streamed along the positions (16 + 1 sequential streams the prefetchers follow).
TILE_KERNEL static void output_tiles(const bwma_output_stage *s, const float *acc, long lda, long n, int channels,
                                void *y) {
    const __m512 leak = _mm512_set1_ps(s->leak), gain = _mm512_set1_ps(s->gain), two = _mm512_set1_ps(2);
    uint16_t odd_words[32];
    for (int i = 0; i < 32; i++) odd_words[i] = (uint16_t)(2 * (i % 16) + 1);
    const __m512i top_halves = _mm512_loadu_si512(odd_words);
    for (int c0 = 0; c0 + 16 <= channels; c0 += 16) {
        __m512 alpha[16], beta[16], bias[16];
        for (int i = 0; i < 16; i++) {
            alpha[i] = _mm512_set1_ps(s->alpha_step[c0 + i]);
            beta[i] = _mm512_set1_ps(s->beta_step[c0 + i]);
            bias[i] = _mm512_set1_ps(s->bias ? s->bias[c0 + i] : 0);
        }
        for (long p0 = 0; p0 + 16 <= n; p0 += 16) {
            const __m512 ref = _mm512_loadu_ps(acc + channels * lda + p0), leaked = _mm512_mul_ps(leak, ref);
            __m512 r[16];
            for (int i = 0; i < 16; i++) {
                const __m512 on =
                    _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(acc + (c0 + i) * lda + p0), leaked), gain);
                r[i] = _mm512_add_ps(_mm512_mul_ps(alpha[i], _mm512_sub_ps(_mm512_mul_ps(two, on), ref)),
                                     _mm512_add_ps(_mm512_mul_ps(beta[i], ref), bias[i]));
            }
            transpose16(r);
            for (int i = 0; i < 16; i++) {
                const long at = (p0 + i) * channels + c0;
                if (s->bf16_output) {
                    _mm256_storeu_si256((__m256i *)((uint16_t *)y + at), bf16_lanes(r[i], top_halves));
                } else {
                    _mm512_storeu_ps((float *)y + at, r[i]);
                }
            }
        }
    }
}

void bwma_output_channels_last(const bwma_output_stage *s, const float *acc, long lda, long n, int channels,
                               void *y) {
    long p_tiles = 0;
    int c_tiles = 0;
    if (avx512()) {
        output_tiles(s, acc, lda, n, channels, y);
        p_tiles = n / 16 * 16;
        c_tiles = channels / 16 * 16;
    }
    // The rest one by one: the channels past the tiles at the tiles' positions, every channel at the positions
    // past them.
    const float *ref = acc + channels * lda;
    for (long p = c_tiles == channels ? p_tiles : 0; p < n; p++) {
        for (int c = p < p_tiles ? c_tiles : 0; c < channels; c++) {
            const float v = output_value(s, s->bias ? s->bias[c] : 0, c, acc[c * lda + p], ref[p]);
            if (s->bf16_output) {
                ((uint16_t *)y)[p * channels + c] = bf16_bits(v);
            } else {
                ((float *)y)[p * channels + c] = v;
            }
        }
    }
}
