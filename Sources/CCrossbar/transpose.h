// A 16 × 16 Float tile transposed in registers, shared by the kernels that write channels-last images.
#ifndef BWMA_CROSSBAR_TRANSPOSE_H
#define BWMA_CROSSBAR_TRANSPOSE_H

#include <immintrin.h>

// r[i] lane j becomes r[j] lane i: unpacks of 32- and 64-bit elements, then two rounds of 128-bit lane shuffles.
__attribute__((target("avx512f"), always_inline)) static inline void transpose16(__m512 r[16]) {
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

#endif
