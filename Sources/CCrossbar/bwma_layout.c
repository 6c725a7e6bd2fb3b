// Layout transposes of the datapath's images: channels-last bytes to channel planes, Float channel planes to
// channels-last (AVX512-VBMI / AVX-512 where the CPU has them, element by element elsewhere).
#include "bwma_crossbar.h"
#include "cpu.h"

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
